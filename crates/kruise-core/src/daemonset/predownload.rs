//! IPJ-40..IPJ-42 for the Advanced DaemonSet: with gate `PreDownloadImageForDaemonSetUpdate`
//! on, a DaemonSet whose rollout is not finished (`updatedNumberScheduled !=
//! desiredNumberScheduled`, or the template's hash is not `status.updateRevision`) plans an
//! ImagePullJob per container whose image differs from any old revision (once per revision;
//! skipped when every pod may be updated at once), and deletes the jobs it controls when the
//! rollout is finished. The decision is the shared [`crate::imagepulljob::predownload::plan`];
//! this module resolves the DaemonSet's numbers from its stored status (the min-updated-ready
//! annotation is read but ignored, as upstream). The reconciler appends these actions after the
//! plan's own, so a plan with the gate off is unchanged.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::ImagePullJob;
use kruise_api::intstr;

use super::Input;
use super::history::{self, new_revision};
use crate::imagepulljob::predownload::{self, Facts, WorkloadKind, annotation_settings, container_images};
use crate::plan::Action;
use crate::revision::revision_template;

/// The pre-download actions of a DaemonSet reconcile (empty with the gate off). `jobs` are the
/// ImagePullJobs the DaemonSet controls.
pub fn actions(input: &Input<'_>, jobs: &[ImagePullJob]) -> Vec<Action> {
    let ds = input.daemonset;
    if !input.features.pre_download_image_for_daemon_set_update
        || !input.expectations.is_satisfied()
        || ds.metadata.deletion_timestamp.is_some()
    {
        return Vec::new();
    }
    let name = ds.metadata.name.as_deref().unwrap_or_default();
    let h = history::construct(ds, name, input.revisions, &[]);
    let update = input
        .revisions
        .iter()
        .find(|r| r.metadata.name.as_deref() == Some(h.current_name.as_str()))
        .cloned()
        .unwrap_or_else(|| {
            let number = h.old.iter().map(|r| r.number).max().map_or(1, |m| m.saturating_add(1));
            new_revision(ds, h.data.clone(), &h.hash, h.current_name.clone(), number)
        });
    let old_images: Vec<_> = h
        .old
        .iter()
        .filter_map(|o| input.revisions.iter().find(|r| r.metadata.name.as_deref() == Some(o.name)))
        .map(|r| container_images(revision_template(r).as_ref()))
        .collect();
    let status = ds.status.clone().unwrap_or_default();
    let desired = status.desired_number_scheduled;
    let rolling = status.updated_number_scheduled != desired || status.update_revision != h.hash;
    let ru = ds.spec.update_strategy.rolling_update.as_ref();
    let facts = Facts {
        in_place_strategy: true,
        replicas: desired,
        partition: intstr::scaled_legacy_or_zero(ru.and_then(|r| r.partition.as_ref()), desired, false),
        max_unavailable: intstr::scaled_legacy_or_zero(
            Some(ru.and_then(|r| r.max_unavailable.as_ref()).unwrap_or(&IntOrString::Int(1))),
            desired,
            true,
        ),
        in_place_possible: true,
    };
    let settings = annotation_settings(ds.metadata.annotations.as_ref(), desired);
    let template = revision_template(&update).unwrap_or_else(|| ds.spec.template.clone());
    let owner = history::owner_ref(ds);
    let selector = ds.spec.selector.clone().unwrap_or_default();
    predownload::plan(&predownload::Input {
        kind: WorkloadKind::DaemonSet,
        owner: &owner,
        namespace: ds.metadata.namespace.as_deref().unwrap_or_default(),
        selector: &selector,
        template: &template,
        update_revision: &update,
        old_images: &old_images,
        rolling,
        min_ready_reached: true,
        facts,
        parallelism: settings.parallelism.as_ref(),
        timeout_seconds: settings.timeout_seconds,
        existing_jobs: jobs,
    })
}
