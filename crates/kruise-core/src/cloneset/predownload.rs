//! IPJ-40..IPJ-42 for the CloneSet: with gate `PreDownloadImageForInPlaceUpdate` on, a
//! CloneSet whose update revision differs from its current one plans an ImagePullJob per
//! changed container (once per revision, with IPJ-41's skip conditions), and deletes the jobs
//! it controls once the revisions agree. The decision itself is the shared
//! [`crate::imagepulljob::predownload::plan`]; this module only resolves the CloneSet's
//! numbers. Its actions come after the plan's own (the reconciler appends them), so a plan
//! with the gate off is unchanged.
//!
//! Readings: `minUpdatedReadyPods` is
//! `inPlaceUpdateStrategy.imagePreDownloadMinUpdatedReadyPods` (default 0) against
//! `status.updatedReadyReplicas` (0 when `status.updateRevision` is not the new revision);
//! the partition is read like the update's (percent rounded up), `maxUnavailable` with
//! Kubernetes' legacy reader (default `20%`, rounded down), as upstream's pre-download code
//! does. Nothing is planned while the adapter still waits for its own writes.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::{ImagePullJob, PodUpdatePolicy};
use kruise_api::intstr;

use super::inplace::{SpecOptions, in_place_spec};
use super::{Action, Input, revision};
use crate::imagepulljob::predownload::{self, Facts, WorkloadKind};

/// The pre-download actions of a CloneSet reconcile (empty with the gate off). `jobs` are the
/// ImagePullJobs the CloneSet controls
/// ([`controlled_jobs`](crate::imagepulljob::predownload::controlled_jobs)).
pub fn actions(input: &Input<'_>, jobs: &[ImagePullJob]) -> Vec<Action> {
    let cs = input.cloneset;
    if !input.features.pre_download_image_for_in_place_update
        || !input.expectations.is_satisfied()
        || cs.metadata.deletion_timestamp.is_some()
    {
        return Vec::new();
    }
    let revs = revision::resolve(cs, input.revisions);
    let (Some(update), Some(current)) = (revs.sorted.get(revs.update), revs.sorted.get(revs.current)) else {
        return Vec::new();
    };
    let update_name = revs.update_name();
    let replicas = cs.spec.replicas.unwrap_or(1);
    let ru = cs.spec.update_strategy.rolling_update.as_ref();
    let ipu = ru.and_then(|r| r.in_place_update_strategy.as_ref());
    let status = cs.status.as_ref();
    let updated_ready = status
        .filter(|s| s.update_revision == update_name)
        .map_or(0, |s| s.updated_ready_replicas);
    let min_ready = ipu.and_then(|i| i.image_pre_download_min_updated_ready_pods).unwrap_or(0);
    let in_place_possible = match (current.data.as_ref(), update.data.as_ref()) {
        (Some(from), Some(to)) => {
            in_place_spec(&from.0, &to.0, update_name, SpecOptions::from_features(&input.features)).is_some()
        }
        _ => false,
    };
    let default_unavailable = IntOrString::String("20%".into());
    let facts = Facts {
        in_place_strategy: ru.is_some() && cs.pod_update_policy() != PodUpdatePolicy::ReCreate,
        replicas,
        partition: intstr::scaled_kruise(ru.and_then(|r| r.partition.as_ref()), replicas, true).unwrap_or(0),
        max_unavailable: intstr::scaled_legacy_or_zero(
            Some(ru.and_then(|r| r.max_unavailable.as_ref()).unwrap_or(&default_unavailable)),
            replicas,
            false,
        ),
        in_place_possible,
    };
    let old_images: Vec<BTreeMap<String, String>> = revision::revision_template(current)
        .and_then(|t| t.spec)
        .map(|s| s.containers.into_iter().map(|c| (c.name, c.image.unwrap_or_default())).collect())
        .into_iter()
        .collect();
    let template = revision::revision_template(update).unwrap_or_else(|| cs.spec.template.clone());
    let owner = super::owner_ref(cs);
    let selector = cs.spec.selector.clone().unwrap_or_default();
    let input = predownload::Input {
        kind: WorkloadKind::CloneSet,
        owner: &owner,
        namespace: cs.metadata.namespace.as_deref().unwrap_or_default(),
        selector: &selector,
        template: &template,
        update_revision: update,
        old_images: &old_images,
        rolling: revs.update != revs.current,
        min_ready_reached: min_ready <= updated_ready,
        facts,
        parallelism: ipu.and_then(|i| i.image_pre_download_parallelism.as_ref()),
        timeout_seconds: ipu.and_then(|i| i.image_pre_download_timeout_seconds),
        existing_jobs: jobs,
    };
    predownload::plan(&input)
}
