//! The batch release machine (RO-37..RO-43, RO-49): one pass of the BatchRelease controller
//! over the observed BatchRelease, workload and pods. It writes the workload (claim, batch
//! partition / replicas, release), labels pods and computes the BatchRelease status.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::keys;
use kruise_api::rollouts::v1beta1::{
    BatchRelease, BatchReleaseStatus, ReleasePlan, RollingStyle, batch_state, br_phase, finalizing_policy,
};
use serde::{Deserialize, Serialize};

use super::Config;
use super::batch::{self, Applier, BatchCounts, BatchTargets, WorkloadTarget};
use super::types::{Obj, Plan, PlanExt, RolloutAction as ActionKind, RolloutReason as Reason, WorkloadPatch};
use crate::plan::Reason as Shared;

use super::workload::{AdvancedDeploymentStrategy, AdvancedRollingUpdate, Workload, WorkloadKind};

/// Requeue after a BatchRelease state change (RO-54).
pub const BR_REQUEUE: Duration = Duration::from_secs(2);

/// Partition written by a StatefulSet-like / DaemonSet claim: "keep every pod" (RO-42).
pub const MAX_PARTITION: i32 = 32767;

/// `minReadySeconds` blue-green writes so new pods never count as available and the
/// workload controller never scales old pods down (RO-42): one less than
/// [`MAX_PROGRESS_SECONDS`].
pub const MAX_READY_SECONDS: i32 = i32::MAX - 1;

/// `progressDeadlineSeconds` blue-green writes on a Deployment (RO-42).
pub const MAX_PROGRESS_SECONDS: i32 = i32::MAX;

/// The strategy fields blue-green saves on claim and restores on release (RO-42, RO-43), as
/// stored in the workload's `rollouts.kruise.io/original-deployment-strategy` annotation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OriginalStrategy {
    /// `maxUnavailable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// `maxSurge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrString>,
    /// `minReadySeconds` (0 is not written, as upstream's `omitempty`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub min_ready_seconds: i32,
    /// `progressDeadlineSeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_deadline_seconds: Option<i32>,
}

fn is_zero(v: &i32) -> bool {
    *v == 0
}

impl OriginalStrategy {
    /// RO-43: the strategy as the annotation stores it (what a release restores; fields not
    /// stored are not restored), default when there is none; an annotation that does not
    /// parse is an error naming it.
    pub fn stored(w: &Workload) -> Result<Self, String> {
        match w.annotations.get(keys::ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY) {
            Some(text) if !text.is_empty() => serde_json::from_str::<Self>(text).map_err(|e| {
                format!("metadata.annotations[{}]: {e}", keys::ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY)
            }),
            _ => Ok(Self::default()),
        }
    }

    /// RO-42: the saved strategy of `w`: the annotation's value if one is stored (a claim
    /// interrupted half-way must not save its own blue-green values), its unset fields filled
    /// from the workload, with the defaults of the kind when the workload has none
    /// (Deployment: maxSurge/maxUnavailable 25%, progressDeadlineSeconds 600; CloneSet:
    /// maxSurge 0%, maxUnavailable 20%). An annotation that does not parse is an error naming
    /// it.
    pub fn of(w: &Workload) -> Result<Self, String> {
        let mut s = Self::stored(w)?;
        let deployment = w.kind == Some(WorkloadKind::Deployment);
        let (surge, unavailable) = if deployment { ("25%", "25%") } else { ("0%", "20%") };
        if s.max_surge.is_none() {
            s.max_surge = Some(w.max_surge.clone().unwrap_or_else(|| IntOrString::String(surge.into())));
        }
        if s.max_unavailable.is_none() {
            s.max_unavailable =
                Some(w.max_unavailable.clone().unwrap_or_else(|| IntOrString::String(unavailable.into())));
        }
        if s.progress_deadline_seconds.is_none() {
            s.progress_deadline_seconds = if deployment {
                Some(w.progress_deadline_seconds.unwrap_or(600))
            } else {
                w.progress_deadline_seconds
            };
        }
        if s.min_ready_seconds == 0 {
            s.min_ready_seconds = w.min_ready_seconds;
        }
        Ok(s)
    }
}

/// RO-12/RO-42: the canary Deployment's name: the stable Deployment's name and our hash of
/// its template (upstream uses a random suffix; a planner without randomness names it by the
/// release, so a retried create is idempotent). The stable name is cut so the whole stays
/// within 253 bytes.
pub fn canary_deployment_name(w: &Workload) -> String {
    let budget = 253usize.saturating_sub(w.canary_revision.len() + 1);
    let mut end = w.name.len().min(budget);
    while !w.name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}-{}", &w.name[..end], w.canary_revision)
}

/// RO-42 (canary style): the canary Deployment for `br` over the stable Deployment `w`: a copy
/// of the stable spec with `patchPodTemplateMetadata` merged into the pod template (RO-65),
/// `pod-template-hash` dropped from the template and selector (each ReplicaSet adds its
/// own), 0 replicas and not paused; labelled `rollouts.kruise.io/canary-deployment=<stable>`,
/// with the `control-info` annotation, the BatchRelease finalizer and the BatchRelease as
/// controller. `None` without the stable Deployment's spec.
pub fn canary_deployment(br: &BatchRelease, w: &Workload) -> Option<Deployment> {
    let mut spec: DeploymentSpec = (**w.deployment_spec.as_ref()?).clone();
    let tm = spec.template.metadata.get_or_insert_default();
    let labels = tm.labels.get_or_insert_default();
    labels.remove(keys::POD_TEMPLATE_HASH);
    if let Some(p) = &br.spec.release_plan.patch_pod_template_metadata {
        labels.extend(p.labels.clone());
        if !p.annotations.is_empty() {
            tm.annotations.get_or_insert_default().extend(p.annotations.clone());
        }
    }
    if let Some(m) = spec.selector.match_labels.as_mut() {
        m.remove(keys::POD_TEMPLATE_HASH);
    }
    spec.replicas = Some(0);
    spec.paused = None;
    let owner = OwnerReference {
        api_version: kruise_api::rollouts::v1beta1::API_VERSION.into(),
        kind: "BatchRelease".into(),
        name: br.metadata.name.clone().unwrap_or_default(),
        uid: br.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    Some(Deployment {
        metadata: ObjectMeta {
            name: Some(canary_deployment_name(w)),
            labels: Some(BTreeMap::from([(keys::ROLLOUT_CANARY_DEPLOYMENT.to_owned(), w.name.clone())])),
            annotations: Some(BTreeMap::from([(
                keys::BATCHRELEASE_CONTROL_INFO.to_owned(),
                control_info(br),
            )])),
            finalizers: Some(vec![keys::BATCHRELEASE_FINALIZER.to_owned()]),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    })
}

/// The rolling update a partition-style claim moves into the strategy annotation: the
/// native one if set, else the one an earlier claim stored (RO-42).
fn advanced_rolling_update(w: &Workload) -> AdvancedRollingUpdate {
    if w.max_surge.is_some() || w.max_unavailable.is_some() {
        return AdvancedRollingUpdate {
            max_surge: w.max_surge.clone(),
            max_unavailable: w.max_unavailable.clone(),
        };
    }
    w.advanced_strategy.as_ref().and_then(|s| s.rolling_update.clone()).unwrap_or_default()
}

/// RO-42 defaults of the advanced strategy's rolling update: maxUnavailable and maxSurge 25%
/// when unset; both resolving to 0 (no pod could move) becomes maxSurge 0, maxUnavailable 1.
/// (Upstream's defaulting writes the maxSurge default into maxUnavailable, leaving maxSurge
/// unset; we set the field the comment names: docs/deviations.md, Rollout.)
pub fn default_rolling_update(mut ru: AdvancedRollingUpdate) -> AdvancedRollingUpdate {
    let quarter = || IntOrString::String("25%".into());
    ru.max_unavailable.get_or_insert_with(quarter);
    ru.max_surge.get_or_insert_with(quarter);
    let of100 = |v: &Option<IntOrString>| v.as_ref().map_or(0, |v| batch::scale_or_zero(v, 100));
    if of100(&ru.max_surge) == 0 && of100(&ru.max_unavailable) == 0 {
        ru = AdvancedRollingUpdate {
            max_surge: Some(IntOrString::Int(0)),
            max_unavailable: Some(IntOrString::Int(1)),
        };
    }
    ru
}

/// The revision the current batch's pods carry: the canary Deployment's pod-template-hash in
/// canary style (only its pods are the batch's), else the workload's update revision.
fn batch_revision(w: &Workload, applier: Applier) -> &str {
    match (applier, &w.canary) {
        (Applier::DeploymentCanary, Some(c)) => &c.pod_template_hash,
        _ => &w.update_revision,
    }
}

/// RO-43: the stable Deployment is back under its own controller: not paused, every pod
/// updated, and at most `maxUnavailable` (default 25%, rounded down) of them unavailable.
fn deployment_resumed(w: &Workload) -> bool {
    let max_unavailable = kruise_api::intstr::scaled_strict(
        Some(&w.max_unavailable.clone().unwrap_or_else(|| IntOrString::String("25%".into()))),
        w.replicas.max(0),
        false,
    )
    .unwrap_or(0);
    !w.paused
        && w.status_replicas == w.updated_replicas
        && w.available_replicas.saturating_add(max_unavailable) >= w.status_replicas
}

/// Fingerprint of a release plan (RO-38.3; only equality is observed, Q6).
pub fn release_plan_hash(p: &ReleasePlan) -> String {
    let json = serde_json::to_vec(p).unwrap_or_default();
    format!("{:08x}", super::hash32(&json))
}

/// The rolling style the BatchRelease runs (RO-12: `rollingStyle`, or `Canary` when empty and
/// `enableExtraWorkloadForCanary`).
pub fn br_style(p: &ReleasePlan) -> RollingStyle {
    match p.rolling_style.as_str() {
        "BlueGreen" => RollingStyle::BlueGreen,
        "Canary" => RollingStyle::Canary,
        "" if p.enable_extra_workload_for_canary => RollingStyle::Canary,
        _ => RollingStyle::Partition,
    }
}

/// The applier for a BatchRelease over `w`.
pub fn applier_for(p: &ReleasePlan, w: &Workload) -> Applier {
    let kind = w.kind.unwrap_or(WorkloadKind::StatefulSet);
    Applier::choose(kind, br_style(p), w.unordered_update)
}

fn reset(st: &mut BatchReleaseStatus) {
    *st = BatchReleaseStatus {
        phase: br_phase::PREPARING.into(),
        observed_workload_replicas: -1,
        ..BatchReleaseStatus::default()
    };
}

/// The `control-info` annotation value naming the BatchRelease (RO-42).
pub fn control_info(br: &BatchRelease) -> String {
    serde_json::json!({
        "apiVersion": kruise_api::rollouts::v1beta1::API_VERSION,
        "kind": "BatchRelease",
        "name": br.metadata.name.clone().unwrap_or_default(),
        "uid": br.metadata.uid.clone().unwrap_or_default(),
        "controller": true,
        "blockOwnerDeletion": true,
    })
    .to_string()
}

fn claimed_by(w: &Workload, br: &BatchRelease) -> bool {
    w.annotations.get(keys::BATCHRELEASE_CONTROL_INFO).is_some_and(|v| {
        serde_json::from_str::<serde_json::Value>(v)
            .ok()
            .and_then(|j| j.get("name").and_then(|n| n.as_str()).map(str::to_owned))
            == br.metadata.name
    })
}

fn label<'p>(p: &'p Pod, key: &str) -> Option<&'p str> {
    p.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

/// RO-40 `U` / `UR` for the workload: from its status, or counted from pods for kinds whose
/// status lacks them (native StatefulSet, DaemonSets) and for the canary Deployment.
pub fn batch_counts(w: &Workload, applier: Applier, pods: &[Pod]) -> BatchCounts {
    if applier == Applier::DeploymentCanary {
        let c = w.canary.clone().unwrap_or_default();
        return BatchCounts { updated: c.status_replicas, updated_ready: c.available_replicas };
    }
    match w.kind {
        Some(WorkloadKind::StatefulSet | WorkloadKind::AdvancedDaemonSet | WorkloadKind::DaemonSet) => {
            let on: Vec<&Pod> = pods
                .iter()
                .filter(|p| {
                    p.metadata.deletion_timestamp.is_none() && batch::pod_on_revision(p, &w.update_revision)
                })
                .collect();
            let updated = if w.kind == Some(WorkloadKind::StatefulSet) {
                w.updated_replicas
            } else {
                i32::try_from(on.len()).unwrap_or(i32::MAX).max(w.updated_replicas)
            };
            let ready = i32::try_from(on.iter().filter(|p| crate::availability::pod_ready(p)).count())
                .unwrap_or(i32::MAX);
            BatchCounts { updated, updated_ready: ready }
        }
        _ => BatchCounts { updated: w.updated_replicas, updated_ready: w.updated_ready_replicas },
    }
}

/// The targets of the BatchRelease's current batch (RO-15).
pub fn current_targets(br: &BatchRelease, st: &BatchReleaseStatus, w: &Workload) -> Option<BatchTargets> {
    let p = &br.spec.release_plan;
    let i = usize::try_from(st.canary_status.current_batch).ok()?;
    let b = p.batches.get(i)?;
    Some(batch::batch_targets(
        applier_for(p, w),
        &b.canary_replicas,
        w.replicas,
        st.canary_status.no_need_update_replicas,
    ))
}

enum Event {
    Gone,
    Unstable,
    Normal,
    Scaling,
    Rollback,
    RevisionChanged,
}

fn workload_event(w: Option<&Workload>, st: &BatchReleaseStatus) -> Event {
    let Some(w) = w else { return Event::Gone };
    if w.inconsistent() {
        return Event::Unstable;
    }
    if w.status_replicas == w.updated_replicas && w.kind != Some(WorkloadKind::Deployment) {
        return Event::Normal;
    }
    if st.observed_workload_replicas != -1 && st.observed_workload_replicas != w.replicas {
        return Event::Scaling;
    }
    // RO-38.10 rollback event (guarded: something recorded).
    if !st.update_revision.is_empty()
        && w.update_revision == w.current_revision
        && st.stable_revision == w.update_revision
        && st.stable_revision != st.update_revision
    {
        return Event::Rollback;
    }
    if !st.update_revision.is_empty() && st.update_revision != w.update_revision {
        return Event::RevisionChanged;
    }
    Event::Normal
}

/// One pass of the BatchRelease controller (RO-37..RO-43). Pushes its writes onto `plan` and
/// writes the BatchRelease status (`UpdateBatchReleaseStatus`) when it changes.
pub fn reconcile(
    br: &BatchRelease,
    w: Option<&Workload>,
    pods: &[Pod],
    now: Timestamp,
    cfg: &Config,
    plan: &mut Plan,
) {
    let name = br.metadata.name.clone().unwrap_or_default();
    let subject = format!("BatchRelease/{name}");
    let rp = &br.spec.release_plan;
    let old = br.status.clone().unwrap_or_default();
    let mut st = old.clone();
    if st.phase.is_empty() {
        reset(&mut st);
    }
    let hash = release_plan_hash(rp);
    let progressing = old.phase == br_phase::PROGRESSING;
    let mut stop = false;
    // RO-38, first match wins.
    if old.phase == br_phase::COMPLETED {
        return;
    } else if br.metadata.deletion_timestamp.is_some()
        || old.phase == br_phase::FINALIZING
        || rp.batch_partition.is_none()
    {
        st.phase = br_phase::FINALIZING.into();
    } else if progressing && old.observed_release_plan_hash != hash {
        let len = i32::try_from(rp.batches.len()).unwrap_or(i32::MAX);
        st.canary_status.current_batch = if old.observed_rollout_id == rp.rollout_id {
            rp.batch_partition.unwrap_or(0).min(len - 1).max(0)
        } else {
            0
        };
        st.canary_status.batch_ready_time = None;
        st.canary_status.batch_state = batch_state::UPGRADING.into();
        st.observed_release_plan_hash = hash.clone();
        st.observed_rollout_id = rp.rollout_id.clone();
    } else if progressing
        && usize::try_from(old.canary_status.current_batch).map_or(true, |c| c >= rp.batches.len())
    {
        reset(&mut st);
    } else {
        match workload_event(w, &old) {
            Event::Gone if !old.phase.is_empty() => st.phase = br_phase::FINALIZING.into(),
            Event::Gone => stop = true,
            Event::Scaling if progressing => {
                st.canary_status.batch_state = batch_state::UPGRADING.into();
                st.canary_status.batch_ready_time = None;
                st.observed_workload_replicas = w.map_or(-1, |w| w.replicas);
            }
            Event::RevisionChanged if progressing => {
                st.update_revision = w.map(|w| w.update_revision.clone()).unwrap_or_default();
                stop = true;
            }
            Event::Unstable => {
                plan.hold(&subject, Reason::WorkloadInconsistent);
                stop = true;
            }
            _ => {
                let rollback_annot = br
                    .metadata
                    .annotations
                    .as_ref()
                    .is_some_and(|a| a.contains_key(keys::ROLLOUT_ROLLBACK_IN_BATCH));
                let is_rb = matches!(workload_event(w, &old), Event::Rollback) || rollback_annot;
                if is_rb && progressing && old.canary_status.no_need_update_replicas.is_none() {
                    match w {
                        Some(w) if w.update_revision == w.current_revision && rollback_annot => {
                            st.phase = br_phase::PREPARING.into();
                            st.canary_status.batch_state = batch_state::UPGRADING.into();
                            st.update_revision = w.update_revision.clone();
                        }
                        _ => stop = true,
                    }
                }
            }
        }
    }
    // refreshStatus
    if let Some(w) = w {
        // Canary style counts the canary Deployment (upstream's SyncWorkloadInformation).
        let counts = if applier_for(rp, w) == Applier::DeploymentCanary {
            batch_counts(w, Applier::DeploymentCanary, pods)
        } else {
            BatchCounts { updated: w.updated_replicas, updated_ready: w.updated_ready_replicas }
        };
        st.canary_status.updated_replicas = counts.updated;
        st.canary_status.updated_ready_replicas = counts.updated_ready;
    }
    if st.observed_release_plan_hash.is_empty() {
        st.observed_release_plan_hash = hash.clone();
    }
    st.observed_rollout_id = rp.rollout_id.clone();
    st.observed_generation = br.metadata.generation.unwrap_or(0);
    if st != old || stop {
        if st != old {
            plan.push(
                ActionKind::UpdateBatchReleaseStatus { status: Obj::new(st) },
                &subject,
                Reason::BatchReleaseStatus,
            );
            plan.requeue_after(BR_REQUEUE, Reason::BatchReleaseStatus);
        }
        return;
    }
    let Some(w) = w else { return };
    execute(br, &subject, st, w, pods, now, cfg, plan);
}

fn patch_workload(plan: &mut Plan, w: &Workload, patch: WorkloadPatch, reason: impl Into<Shared>) {
    if !patch.is_empty() {
        plan.push(ActionKind::PatchWorkload { patch: Obj::new(patch) }, w.subject(), reason);
    }
}

#[allow(clippy::too_many_arguments)]
fn execute(
    br: &BatchRelease,
    subject: &str,
    mut st: BatchReleaseStatus,
    w: &Workload,
    pods: &[Pod],
    now: Timestamp,
    cfg: &Config,
    plan: &mut Plan,
) {
    let old = st.clone();
    let rp = &br.spec.release_plan;
    let applier = applier_for(rp, w);
    match st.phase.as_str() {
        br_phase::PROGRESSING => progress_batches(br, subject, &mut st, w, applier, pods, now, plan),
        br_phase::FINALIZING => {
            if finalize(br, w, applier, cfg, plan) {
                st.phase = br_phase::COMPLETED.into();
            } else {
                plan.hold(subject, Reason::Release);
                plan.requeue_after(BR_REQUEUE, Reason::Release);
            }
        }
        br_phase::COMPLETED => {}
        _ => {
            st.phase = br_phase::PREPARING.into();
            if initialize(br, &mut st, w, applier, pods, plan) {
                st.phase = br_phase::PROGRESSING.into();
                st.stable_revision = w.current_revision.clone();
                st.update_revision = w.update_revision.clone();
                st.observed_workload_replicas = w.replicas;
                plan.requeue_after(BR_REQUEUE, Shared::Claim);
            }
        }
    }
    if st != old {
        plan.push(
            ActionKind::UpdateBatchReleaseStatus { status: Obj::new(st) },
            subject,
            Reason::BatchReleaseStatus,
        );
    }
}

/// RO-42 claim (+ RO-49 no-need-update labelling). True when done.
fn initialize(
    br: &BatchRelease,
    st: &mut BatchReleaseStatus,
    w: &Workload,
    applier: Applier,
    pods: &[Pod],
    plan: &mut Plan,
) -> bool {
    let rp = &br.spec.release_plan;
    let rollback =
        br.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(keys::ROLLOUT_ROLLBACK_IN_BATCH));
    if rollback && st.canary_status.no_need_update_replicas.is_none() && applier != Applier::BlueGreen {
        // RO-49: mark the pods already on the (rolled-back) update revision.
        let id = &rp.rollout_id;
        let mut labelled = 0;
        let mut wrote = false;
        let mut names: Vec<&Pod> = pods
            .iter()
            .filter(|p| {
                p.metadata.deletion_timestamp.is_none() && batch::pod_on_revision(p, &w.update_revision)
            })
            .collect();
        names.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        for p in names {
            if !id.is_empty() && label(p, keys::ROLLOUT_NO_NEED_UPDATE) != Some(id.as_str()) {
                plan.label_pod(
                    p.metadata.name.as_deref().unwrap_or_default(),
                    BTreeMap::from([(keys::ROLLOUT_NO_NEED_UPDATE.to_owned(), id.clone())]),
                    Reason::NoNeedUpdate,
                );
                wrote = true;
            }
            labelled += 1;
        }
        if wrote {
            plan.requeue_after(BR_REQUEUE, Reason::NoNeedUpdate);
            return false;
        }
        st.canary_status.no_need_update_replicas =
            Some(if id.is_empty() { w.updated_replicas } else { labelled });
    }
    let claimed = claimed_by(w, br);
    if applier == Applier::DeploymentCanary && w.canary.is_none() {
        // RO-42 canary style: the stable Deployment is marked, then the canary Deployment
        // created; the claim is done once the canary Deployment is observed.
        if !claimed {
            let mut patch = WorkloadPatch::default();
            patch.annotations.insert(keys::BATCHRELEASE_CONTROL_INFO.into(), Some(control_info(br)));
            patch_workload(plan, w, patch, Shared::Claim);
        }
        match canary_deployment(br, w) {
            Some(d) => {
                let subject = format!("Deployment/{}", d.metadata.name.clone().unwrap_or_default());
                plan.push(
                    ActionKind::CreateDeployment { deployment: Obj::new(d) },
                    subject,
                    Reason::CanaryDeployment,
                );
            }
            None => plan.hold(
                w.subject(),
                Reason::Missing { what: "the stable Deployment's spec (to copy into the canary)".into() },
            ),
        }
        plan.requeue_after(BR_REQUEUE, Reason::CanaryDeployment);
        return false;
    }
    if claimed {
        return true;
    }
    let mut patch = WorkloadPatch::default();
    patch.annotations.insert(keys::BATCHRELEASE_CONTROL_INFO.into(), Some(control_info(br)));
    match applier {
        Applier::CloneSet => {
            patch.paused = Some(false);
            patch.partition = Some(Some(IntOrString::String("100%".into())));
        }
        Applier::StatefulSetLike { .. } => {
            patch.paused = Some(false);
            patch.partition = Some(Some(IntOrString::Int(MAX_PARTITION)));
        }
        Applier::AdvancedDaemonSet => {
            patch.paused = Some(false);
            patch.partition = Some(Some(IntOrString::Int(w.replicas)));
        }
        Applier::DeploymentPartition => {
            // RO-42: hand the Deployment to the advanced Deployment controller: the native
            // controller is held (paused, Recreate without rollingUpdate) and the rolling
            // update moves into the strategy annotation with partition 0.
            let strategy = AdvancedDeploymentStrategy {
                rolling_style: "Partition".into(),
                rolling_update: Some(default_rolling_update(advanced_rolling_update(w))),
                partition: IntOrString::Int(0),
                paused: false,
            };
            patch.labels.insert(keys::ROLLOUT_ADVANCED_DEPLOYMENT_CONTROL.into(), Some("true".into()));
            patch.annotations.insert(
                keys::ROLLOUT_DEPLOYMENT_STRATEGY.into(),
                Some(serde_json::to_string(&strategy).unwrap_or_default()),
            );
            patch.paused = Some(true);
            patch.strategy_type = Some("Recreate".into());
            patch.rolling_update = Some(None);
            patch.partition = Some(Some(IntOrString::Int(0)));
        }
        Applier::DeploymentCanary => {}
        Applier::BlueGreen => {
            // RO-42: disable the HPA (it must not scale the workload while old and new pods
            // run side by side), save the original strategy, then surge one pod beside the
            // old ones that never becomes available (so no old pod is scaled down).
            if let Some(h) = w.hpa.as_ref().filter(|h| !h.disabled()) {
                set_scale_target(
                    plan,
                    h,
                    format!("{}{}", h.target_name, super::workload::HPA_DISABLE_SUFFIX),
                );
            }
            let saved = match OriginalStrategy::of(w) {
                Ok(s) => s,
                Err(e) => {
                    plan.hold(w.subject(), Reason::Missing { what: e });
                    return false;
                }
            };
            patch.annotations.insert(
                keys::ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY.into(),
                Some(serde_json::to_string(&saved).unwrap_or_default()),
            );
            patch.paused = Some(false);
            patch.max_surge = Some(IntOrString::Int(1));
            patch.max_unavailable = Some(IntOrString::Int(0));
            patch.min_ready_seconds = Some(MAX_READY_SECONDS);
            if w.kind == Some(WorkloadKind::Deployment) {
                patch.progress_deadline_seconds = Some(Some(MAX_PROGRESS_SECONDS));
                // The stable ReplicaSet's pods must not count as available either: in a
                // rollback they become the new ones, and the new-version pods must stay until
                // the traffic is back on them (upstream `patchStableRSMinReadySeconds`).
                if let Some(rs) = &w.stable_replica_set {
                    let rs_patch = WorkloadPatch {
                        min_ready_seconds: Some(MAX_READY_SECONDS),
                        ..WorkloadPatch::default()
                    };
                    plan.push(
                        ActionKind::PatchWorkload { patch: Obj::new(rs_patch) },
                        format!("ReplicaSet/{rs}"),
                        Shared::Claim,
                    );
                }
            }
            patch_workload(plan, w, patch, Shared::Claim);
            return true;
        }
    }
    patch_workload(plan, w, patch, Shared::Claim);
    true
}

/// RO-39 batch states.
#[allow(clippy::too_many_arguments)]
fn progress_batches(
    br: &BatchRelease,
    subject: &str,
    st: &mut BatchReleaseStatus,
    w: &Workload,
    applier: Applier,
    pods: &[Pod],
    now: Timestamp,
    plan: &mut Plan,
) {
    let rp = &br.spec.release_plan;
    let Some(targets) = current_targets(br, st, w) else { return };
    let batch = st.canary_status.current_batch;
    let ready = || {
        if w.replicas == 0 {
            return None;
        }
        batch::batch_ready(
            batch_counts(w, applier, pods),
            &targets,
            rp.failure_threshold.as_ref(),
            &rp.rollout_id,
            pods,
        )
    };
    match st.canary_status.batch_state.as_str() {
        batch_state::VERIFYING => match ready() {
            Some(why) => {
                // RO-39 (deviation, issue 17): upstream goes back to Upgrading on every pass
                // that finds the batch not ready, and the status write wakes the Rollout
                // again, so a slow batch flips Upgrading<->Verifying in a tight loop. Back to
                // Upgrading only when the batch still has writes to make (the workload left
                // its target, pods to label); otherwise the state stays, nothing is written
                // and the pass requeues to look at the batch again.
                let mut redo = Plan::default();
                upgrade_batch(br, st, w, applier, &targets, pods, &mut redo);
                if redo.actions.is_empty() && redo.held.is_empty() {
                    plan.requeue_after(BR_REQUEUE, Reason::BatchNotReady { batch, why: why.to_string() });
                } else {
                    st.canary_status.batch_state = batch_state::UPGRADING.into();
                }
                plan.hold(w.subject(), Reason::BatchNotReady { batch, why: why.to_string() });
            }
            None => {
                st.canary_status.batch_ready_time = Some(Time(now));
                st.canary_status.batch_state = batch_state::READY.into();
                plan.requeue_after(BR_REQUEUE, Reason::BatchReleaseStatus);
            }
        },
        batch_state::READY => match ready() {
            Some(why) => {
                st.canary_status.batch_ready_time = None;
                st.canary_status.batch_state = batch_state::UPGRADING.into();
                plan.hold(w.subject(), Reason::BatchNotReady { batch, why: why.to_string() });
            }
            None => {
                let partitioned = rp.batch_partition.is_some_and(|p| p <= batch);
                if !partitioned {
                    if rp.batch_partition.is_none_or(|p| p > batch) {
                        st.canary_status.current_batch += 1;
                    }
                    st.canary_status.batch_state = batch_state::UPGRADING.into();
                    plan.requeue_after(BR_REQUEUE, Reason::BatchReleaseStatus);
                }
            }
        },
        _ => {
            // Upgrading (and unknown states, which restart it).
            upgrade_batch(br, st, w, applier, &targets, pods, plan);
            st.canary_status.batch_state = batch_state::VERIFYING.into();
            plan.requeue_after(BR_REQUEUE, Reason::BatchReleaseStatus);
        }
    }
    let _ = subject;
}

fn current_value(w: &Workload, applier: Applier) -> Option<IntOrString> {
    match applier {
        Applier::DeploymentCanary => w.canary.as_ref().map(|c| IntOrString::Int(c.replicas)),
        Applier::BlueGreen => w.max_surge.clone(),
        _ => w.partition.clone(),
    }
}

/// RO-15/RO-18/RO-41: move the workload to the batch's target and label the batch's pods.
fn upgrade_batch(
    br: &BatchRelease,
    st: &BatchReleaseStatus,
    w: &Workload,
    applier: Applier,
    targets: &BatchTargets,
    pods: &[Pod],
    plan: &mut Plan,
) {
    let rp = &br.spec.release_plan;
    let reason = Reason::Batch {
        batch: st.canary_status.current_batch,
        planned: targets.planned,
        stable: targets.desired_stable,
    };
    if batch::needs_patch(current_value(w, applier).as_ref(), &targets.target, w.replicas) {
        let mut patch = WorkloadPatch::default();
        let mut subject = w.subject();
        match &targets.target {
            WorkloadTarget::CloneSetPartition(p) => patch.partition = Some(Some(p.clone())),
            WorkloadTarget::DeploymentPartition(p) => {
                // The partition travels in the strategy annotation (RO-15 partition style).
                let mut strategy = w.advanced_strategy.clone().unwrap_or_default();
                strategy.partition = p.clone();
                patch.annotations.insert(
                    keys::ROLLOUT_DEPLOYMENT_STRATEGY.into(),
                    Some(serde_json::to_string(&strategy).unwrap_or_default()),
                );
                patch.partition = Some(Some(p.clone()));
            }
            WorkloadTarget::IntPartition(n) => patch.partition = Some(Some(IntOrString::Int(*n))),
            WorkloadTarget::CanaryReplicas(n) => {
                // Never scale the stable Deployment: without a canary Deployment (the adapter
                // creates it at the claim, RO-42) the batch waits.
                let Some(c) = &w.canary else {
                    plan.hold(w.subject(), Reason::Missing { what: "canary Deployment".into() });
                    return;
                };
                patch.replicas = Some(*n);
                subject = format!("Deployment/{}", c.name);
            }
            WorkloadTarget::MaxSurge(s) => {
                patch.max_surge = Some(s.clone());
                if w.kind == Some(WorkloadKind::CloneSet) && w.partition.is_some() {
                    // The admission's "100%" partition would hold the surge pods back.
                    patch.partition = Some(None);
                }
                if w.kind == Some(WorkloadKind::Deployment) {
                    // Upstream rewrites the whole rolling update of a Deployment.
                    patch.paused = Some(false);
                    patch.max_unavailable = Some(IntOrString::Int(0));
                }
            }
        }
        plan.push(ActionKind::PatchWorkload { patch: Obj::new(patch) }, subject, reason);
    }
    // RO-41 labels.
    let batches: Vec<IntOrString> = rp.batches.iter().map(|b| b.canary_replicas.clone()).collect();
    let no_need = st.canary_status.no_need_update_replicas.is_some();
    let revision = batch_revision(w, applier);
    let mut candidates: Vec<&Pod> = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none() && batch::pod_on_revision(p, revision))
        .collect();
    candidates.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    if no_need {
        // RO-49: pods really rolled back first, then the no-need-update ones.
        candidates.sort_by_key(|p| label(p, keys::ROLLOUT_NO_NEED_UPDATE).is_none());
    }
    let current = usize::try_from(st.canary_status.current_batch).unwrap_or(0);
    for l in batch::batch_labels(&batches, current, w.replicas, &rp.rollout_id, &candidates) {
        plan.label_pod(
            &l.pod,
            BTreeMap::from([
                (keys::ROLLOUT_ID.to_owned(), rp.rollout_id.clone()),
                (keys::ROLLOUT_BATCH_ID.to_owned(), l.batch_id.to_string()),
            ]),
            Reason::BatchLabel { batch: l.batch_id },
        );
    }
}

/// RO-43 on deletion of the BatchRelease by the Rollout (continuous release reset, RO-50;
/// ReleaseWorkloadControl): partition-style workloads keep their partition and lose
/// `control-info` unless the plan had already been released.
pub fn finalize_on_delete(br: &BatchRelease, w: &Workload, cfg: &Config, plan: &mut Plan) {
    let applier = applier_for(&br.spec.release_plan, w);
    finalize(br, w, applier, cfg, plan);
}

/// RO-43: hand the workload back. True when done.
fn finalize(br: &BatchRelease, w: &Workload, applier: Applier, cfg: &Config, plan: &mut Plan) -> bool {
    let rp = &br.spec.release_plan;
    let mut patch = WorkloadPatch::default();
    if w.annotations.contains_key(keys::BATCHRELEASE_CONTROL_INFO) {
        patch.annotations.insert(keys::BATCHRELEASE_CONTROL_INFO.into(), None);
    }
    let release_all = rp.batch_partition.is_none();
    let keep = cfg.keep_workload_paused_on_rollout_deletion
        && rp.finalizing_policy != finalizing_policy::WAIT_RESUME;
    match applier {
        Applier::DeploymentCanary => return finalize_canary(br, w, patch, plan),
        Applier::BlueGreen if release_all => return finalize_blue_green(w, patch, plan),
        _ => {}
    }
    if release_all {
        match applier {
            Applier::CloneSet | Applier::StatefulSetLike { .. } => {
                if !keep && w.partition.is_some() {
                    patch.partition = Some(None);
                }
                if applier == Applier::CloneSet && w.paused {
                    patch.paused = Some(false);
                }
            }
            Applier::AdvancedDaemonSet => {
                if !cfg.keep_workload_paused_on_rollout_deletion && w.partition.is_some() {
                    patch.partition = Some(None);
                }
                if w.paused {
                    patch.paused = Some(false);
                }
            }
            Applier::DeploymentPartition => {
                // RO-43: only a Deployment still held for the advanced controller (control-info
                // and paused) is handed back: native controller resumed (the gate keeps it
                // paused unless WaitResume), RollingUpdate with the saved rolling update, the
                // strategy / extra-status annotations and the control labels removed.
                if w.paused && w.annotations.contains_key(keys::BATCHRELEASE_CONTROL_INFO) {
                    patch.paused = Some(keep);
                    if w.strategy_type.as_deref() == Some("Recreate") {
                        patch.strategy_type = Some("RollingUpdate".into());
                        patch.rolling_update = Some(Some(
                            w.advanced_strategy
                                .as_ref()
                                .and_then(|s| s.rolling_update.clone())
                                .unwrap_or_default(),
                        ));
                    }
                    for k in [keys::ROLLOUT_DEPLOYMENT_STRATEGY, keys::ROLLOUT_DEPLOYMENT_EXTRA_STATUS] {
                        if w.annotations.contains_key(k) {
                            patch.annotations.insert(k.into(), None);
                        }
                    }
                    for k in [keys::ROLLOUT_STABLE_REVISION, keys::ROLLOUT_ADVANCED_DEPLOYMENT_CONTROL] {
                        if w.labels.contains_key(k) {
                            patch.labels.insert(k.into(), None);
                        }
                    }
                    if w.partition.is_some() {
                        patch.partition = Some(None);
                    }
                }
            }
            // Handled above.
            Applier::DeploymentCanary | Applier::BlueGreen => {}
        }
    }
    patch_workload(plan, w, patch, Reason::Release);
    true
}

/// RO-43 canary style: the stable Deployment is paused while a batch partition remains and
/// resumed otherwise; with `WaitResume` the release waits until it has rolled every pod
/// (RO-43's resume check); then every canary Deployment of the release loses the
/// BatchRelease finalizer and is deleted (upstream leaves the deletion to the garbage
/// collector once the BatchRelease is gone; deleting it here removes the canary pods at the
/// point the spec's order names, and a continuous-release reset (RO-50) still loses them).
fn finalize_canary(br: &BatchRelease, w: &Workload, mut patch: WorkloadPatch, plan: &mut Plan) -> bool {
    let rp = &br.spec.release_plan;
    let release_all = rp.batch_partition.is_none();
    let pause = !release_all;
    if w.paused != pause {
        patch.paused = Some(pause);
    }
    patch_workload(plan, w, patch, Reason::Release);
    if release_all && rp.finalizing_policy == finalizing_policy::WAIT_RESUME && !deployment_resumed(w) {
        plan.hold(w.subject(), Reason::Release);
        return false;
    }
    let mut names = w.canary_deployments.clone();
    if let Some(c) = &w.canary
        && !names.contains(&c.name)
    {
        names.push(c.name.clone());
    }
    for n in names {
        let subject = format!("Deployment/{n}");
        plan.push(
            ActionKind::RemoveFinalizer { finalizer: keys::BATCHRELEASE_FINALIZER.into() },
            &subject,
            Reason::Release,
        );
        plan.push(ActionKind::DeleteDeployment, &subject, Reason::Release);
    }
    true
}

/// RO-43 blue-green (`batchPartition` null): restore the saved strategy (and drop the
/// annotation, and a Deployment's stable-revision label), then wait until every ready pod is
/// an updated one (Deployment: also resumed within maxUnavailable). Not done on the pass that
/// restores: the wait reads the workload as its controller reports it afterwards.
fn finalize_blue_green(w: &Workload, mut patch: WorkloadPatch, plan: &mut Plan) -> bool {
    let deployment = w.kind == Some(WorkloadKind::Deployment);
    if w.annotations.get(keys::ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY).is_some_and(|v| !v.is_empty()) {
        let saved = match OriginalStrategy::stored(w) {
            Ok(s) => s,
            Err(e) => {
                patch_workload(plan, w, patch, Reason::Release);
                plan.hold(w.subject(), Reason::Missing { what: e });
                return false;
            }
        };
        patch.max_surge = saved.max_surge;
        patch.max_unavailable = saved.max_unavailable;
        patch.min_ready_seconds = Some(saved.min_ready_seconds);
        if deployment {
            patch.paused = Some(false);
            patch.progress_deadline_seconds = Some(saved.progress_deadline_seconds);
            if w.labels.contains_key(keys::ROLLOUT_STABLE_REVISION) {
                patch.labels.insert(keys::ROLLOUT_STABLE_REVISION.into(), None);
            }
        }
        patch.annotations.insert(keys::ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY.into(), None);
        patch_workload(plan, w, patch, Reason::OriginalStrategy);
        plan.hold(w.subject(), Reason::Release);
        return false;
    }
    patch_workload(plan, w, patch, Reason::Release);
    let done = if deployment {
        w.ready_replicas == w.updated_replicas && deployment_resumed(w)
    } else {
        w.ready_replicas == w.updated_ready_replicas
    };
    if !done {
        plan.hold(w.subject(), Reason::Release);
    } else if let Some(h) = w.hpa.as_ref().filter(|h| h.disabled()) {
        // RO-43: every pod updated and ready: the HPA scales the workload again.
        set_scale_target(plan, h, super::workload::remove_hpa_suffix(&h.target_name).to_owned());
    }
    done
}

fn set_scale_target(plan: &mut Plan, h: &super::workload::ScaledBy, name: String) {
    plan.push(
        ActionKind::SetScaleTargetRef {
            api_version: h.target_api_version.clone(),
            kind: h.target_kind.clone(),
            name,
        },
        format!("HorizontalPodAutoscaler/{}", h.name),
        Reason::Hpa,
    );
}
