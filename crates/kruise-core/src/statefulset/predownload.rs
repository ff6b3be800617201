//! IPJ-40..IPJ-42 for the Advanced StatefulSet: with gate `PreDownloadImageForInPlaceUpdate`
//! on, a set whose update revision differs from its current one plans an ImagePullJob per
//! changed container (once per revision, IPJ-41's skip conditions), and deletes the jobs it
//! controls once the revisions agree. The decision is the shared
//! [`crate::imagepulljob::predownload::plan`]; this module resolves the set's numbers. The
//! reconciler appends these actions after the plan's own, so a plan with the gate off is
//! unchanged.
//!
//! Readings: the settings are annotations ([`annotation_settings`]); the partition is the
//! int field; `maxUnavailable` is read with Kubernetes' legacy reader rounded down, and an
//! unset one counts as 0 (upstream falls back to the string `"1"`, which that reader refuses:
//! spec IPJ-41's quirk). Nothing is planned while the adapter still waits for its own writes.

use k8s_openapi::api::apps::v1::ControllerRevision;
use kruise_api::apps::v1beta1::{ImagePullJob, statefulset_update_strategy_type};

use super::{Input, revision};
use crate::imagepulljob::predownload::{self, Facts, WorkloadKind, annotation_settings, container_images};
use crate::inplace::{SpecOptions, in_place_spec};
use crate::plan::Action;

/// The pre-download actions of a StatefulSet reconcile (empty with the gate off). `jobs` are
/// the ImagePullJobs the set controls.
pub fn actions(input: &Input<'_>, jobs: &[ImagePullJob]) -> Vec<Action> {
    let set = input.statefulset;
    if !input.features.pre_download_image_for_in_place_update
        || !input.expectations.is_satisfied()
        || set.metadata.deletion_timestamp.is_some()
    {
        return Vec::new();
    }
    let revs = revision::resolve(set, input.revisions);
    let (Some(update), Some(current)) = (revs.sorted.get(revs.update), revs.sorted.get(revs.current)) else {
        return Vec::new();
    };
    actions_for(input, update, current, revs.update != revs.current, jobs)
}

fn actions_for(
    input: &Input<'_>,
    update: &ControllerRevision,
    current: &ControllerRevision,
    rolling: bool,
    jobs: &[ImagePullJob],
) -> Vec<Action> {
    let set = input.statefulset;
    let update_name = update.metadata.name.as_deref().unwrap_or_default();
    let replicas = set.spec.replicas.unwrap_or(1);
    let settings = annotation_settings(set.metadata.annotations.as_ref(), replicas);
    let ru = set.spec.update_strategy.rolling_update.as_ref();
    let on_delete =
        set.spec.update_strategy.type_.as_deref() == Some(statefulset_update_strategy_type::ON_DELETE);
    let recreate = ru.and_then(|r| r.pod_update_policy.as_deref()).is_none_or(|p| p == "ReCreate");
    let updated_ready = set
        .status
        .as_ref()
        .filter(|s| s.update_revision == update_name)
        .map_or(0, |s| s.updated_ready_replicas);
    let in_place_possible = match (current.data.as_ref(), update.data.as_ref()) {
        (Some(from), Some(to)) => {
            in_place_spec(&from.0, &to.0, update_name, SpecOptions::from_features(&input.features)).is_some()
        }
        _ => false,
    };
    let facts = Facts {
        in_place_strategy: !on_delete && ru.is_some() && !recreate,
        replicas,
        partition: ru.and_then(|r| r.partition).unwrap_or(0),
        max_unavailable: ru
            .and_then(|r| r.max_unavailable.as_ref())
            .map_or(0, |v| kruise_api::intstr::scaled_legacy_or_zero(Some(v), replicas, false)),
        in_place_possible,
    };
    let old_images = vec![container_images(revision::template(current).as_ref())];
    let template = revision::template(update).unwrap_or_else(|| set.spec.template.clone());
    let owner = super::set_owner_ref(set);
    let selector = set.spec.selector.clone().unwrap_or_default();
    predownload::plan(&predownload::Input {
        kind: WorkloadKind::StatefulSet,
        owner: &owner,
        namespace: set.metadata.namespace.as_deref().unwrap_or_default(),
        selector: &selector,
        template: &template,
        update_revision: update,
        old_images: &old_images,
        rolling,
        min_ready_reached: settings.min_updated_ready_pods <= updated_ready,
        facts,
        parallelism: settings.parallelism.as_ref(),
        timeout_seconds: settings.timeout_seconds,
        existing_jobs: jobs,
    })
}
