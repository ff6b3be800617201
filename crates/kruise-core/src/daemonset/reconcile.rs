//! Turning a DaemonSet [`Plan`] into concrete API writes: [`DaemonSetReconciler`] implements
//! [`crate::reconciler::Reconciler`] for the v1beta1 Advanced DaemonSet. Objects (new pods,
//! revisions) are built here, only for what a plan touches, through [`DaemonSetWrites`]
//! ([`Materialise`]). Every write is guarded (STYLE.md §8): deletes carry the uid, revision
//! patches the resourceVersion they were computed from, pod patches `test` what they were
//! computed from and change only what differs.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::v1beta1::DaemonSet;
use kruise_api::keys;
use serde_json::json;

use super::{Input, Plan, new_pod, new_revision, plan};
use crate::imagepulljob::predownload::{PREDOWNLOAD_RELATED, controlled_jobs};
use crate::inplace::{self, SpecOptions};
use crate::nodetable::NodeTable;
use crate::plan::{Action, ActionKind, DaemonSetAction, DaemonSetReason, Reason};
use crate::reconciler::{
    Context, Materialise, Outcome, PlannedWrite, ReconcileError, Reconciler, RelatedKind, WorkloadEvent,
    World, WriteError,
};
use crate::revision::revision_data;
use crate::write::pod::{PodWrites, object as to_value};
use crate::write::{ApiWrite, Subresource, Target};

/// The Advanced DaemonSet planner as adapters see it. The nodes of [`World::nodes`] are read
/// into a [`NodeTable`] per reconcile; adapters that keep a table per watch event call
/// [`plan`] with it directly.
#[derive(Clone, Copy, Debug, Default)]
pub struct DaemonSetReconciler;

impl Reconciler for DaemonSetReconciler {
    type Workload = DaemonSet;

    fn reconcile(&self, world: &World<'_, DaemonSet>, ctx: &Context<'_>) -> Result<Outcome, ReconcileError> {
        self.reconcile_with_backoff(world, ctx, &BTreeMap::new())
    }

    fn related_kinds(&self) -> &'static [RelatedKind] {
        PREDOWNLOAD_RELATED
    }
}

impl DaemonSetReconciler {
    /// [`Reconciler::reconcile`] with the failed-pod backoff an adapter keeps for this
    /// DaemonSet (ADS-16; node name → the time its backoff ends, from
    /// [`super::FailedPodBackoff::until`]).
    pub fn reconcile_with_backoff(
        &self,
        world: &World<'_, DaemonSet>,
        ctx: &Context<'_>,
        backoff: &BTreeMap<String, jiff::Timestamp>,
    ) -> Result<Outcome, ReconcileError> {
        let table = NodeTable::from_nodes(world.nodes).map_err(|e| ReconcileError(Box::new(e)))?;
        let input = Input {
            daemonset: world.workload,
            pods: world.pods,
            nodes: &table,
            revisions: world.revisions,
            now: ctx.now,
            id_seed: ctx.id_seed,
            features: ctx.features,
            expectations: ctx.expectations,
            failed_pod_backoff: backoff,
            bind_pods: false,
        };
        let mut p = plan(&input).map_err(|e| ReconcileError(Box::new(e)))?;
        // IPJ-40..IPJ-42: pre-download jobs, after the plan's own actions (gate off: none).
        let jobs = if ctx.features.pre_download_image_for_daemon_set_update {
            controlled_jobs(world.related, world.workload.metadata.uid.as_deref())?
        } else {
            Vec::new()
        };
        p.actions.extend(super::predownload::actions(&input, &jobs));
        Ok(outcome_with_jobs(&input, &p, &jobs)?)
    }
}

fn ds_target(ds: &DaemonSet) -> Target {
    Target::of("apps.kruise.io/v1beta1", "DaemonSet", &ds.metadata)
}

/// Turns a DaemonSet plan's actions into API writes ([`Materialise`]). New pods and revisions
/// are built whole; revisions are patched under their resourceVersion; existing pods are
/// patched through [`PodWrites`] (only what changes, chained, guarded).
pub struct DaemonSetWrites<'i, 'a> {
    input: &'i Input<'a>,
    plan: &'i Plan,
    ns: &'i str,
    pods: BTreeMap<&'i str, &'i Pod>,
    revs: BTreeMap<&'i str, &'i ControllerRevision>,
    /// The current template's revision data.
    data: serde_json::Value,
    pods_written: PodWrites,
    /// The ImagePullJobs the DaemonSet controls (pre-download deletes carry their uid).
    jobs: &'i [kruise_api::apps::v1beta1::ImagePullJob],
}

impl std::fmt::Debug for DaemonSetWrites<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaemonSetWrites")
            .field("daemonset", &self.input.daemonset.metadata.name)
            .finish_non_exhaustive()
    }
}

impl<'i, 'a> DaemonSetWrites<'i, 'a> {
    /// A writer for plan `p` of `input`.
    pub fn new(input: &'i Input<'a>, p: &'i Plan) -> Self {
        let ds = input.daemonset;
        let ns = ds.metadata.namespace.as_deref().unwrap_or_default();
        Self {
            input,
            plan: p,
            ns,
            pods: input.pods.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect(),
            revs: input.revisions.iter().filter_map(|r| Some((r.metadata.name.as_deref()?, r))).collect(),
            data: revision_data(&ds.spec.template),
            pods_written: PodWrites::new(ns),
            jobs: &[],
        }
    }

    /// The ImagePullJobs the DaemonSet controls, for the writes of its pre-download actions
    /// (IPJ-40).
    pub fn with_image_pull_jobs(mut self, jobs: &'i [kruise_api::apps::v1beta1::ImagePullJob]) -> Self {
        self.jobs = jobs;
        self
    }
}

impl Materialise for DaemonSetWrites<'_, '_> {
    fn writes(&mut self, a: &Action, out: &mut Vec<ApiWrite>) -> Result<(), WriteError> {
        let ds = self.input.daemonset;
        let ns = self.ns;
        let now = self.input.now;
        let hash = self.plan.status.update_revision.as_str();
        let name = a.pod.as_deref().unwrap_or_default();
        let rev = a.revision.as_deref().unwrap_or_default();
        let cached = self.pods.get(name).copied();
        let version = self.revs.get(rev).and_then(|r| r.metadata.resource_version.clone());
        match &a.kind {
            ActionKind::CreateRevision { number, .. } => {
                let r = new_revision(ds, self.data.clone(), hash, rev.to_owned(), *number);
                out.push(ApiWrite::Create {
                    target: Target::revision(ns, rev),
                    object: to_value(&r, "apps/v1", "ControllerRevision"),
                });
            }
            ActionKind::UpdateRevision { number } => out.push(ApiWrite::MergePatch {
                target: Target::revision(ns, rev),
                subresource: Subresource::Main,
                patch: json!({"metadata": {"resourceVersion": version}, "revision": number}),
            }),
            ActionKind::DaemonSet(DaemonSetAction::LabelRevision { hash }) => {
                out.push(ApiWrite::MergePatch {
                    target: Target::revision(ns, rev),
                    subresource: Subresource::Main,
                    patch: json!({"metadata": {"resourceVersion": version,
                    "labels": {keys::CONTROLLER_REVISION_HASH: hash}}}),
                })
            }
            ActionKind::DeleteRevision => {
                let uid = self.revs.get(rev).and_then(|r| r.metadata.uid.clone());
                out.push(ApiWrite::Delete { target: Target::revision(ns, rev), uid });
            }
            ActionKind::CreatePod { instance_id: node } => {
                let pod = new_pod(ds, node, hash, name, self.input.bind_pods);
                out.push(ApiWrite::Create {
                    target: Target::pod(ns, name),
                    object: to_value(&pod, "v1", "Pod"),
                });
            }
            ActionKind::DeletePod => {
                let uid = cached.and_then(|p| p.metadata.uid.clone());
                out.push(ApiWrite::Delete { target: Target::pod(ns, name), uid });
            }
            ActionKind::PatchPod { patch } => out.push(self.pods_written.patch_meta(a, cached, patch)?),
            ActionKind::UpdatePodStatus { condition } => {
                out.push(self.pods_written.set_condition(a, cached, condition, now)?);
            }
            ActionKind::UpdateInPlace { from_revision } => {
                let opts = SpecOptions::from_features(&self.input.features);
                let from = self.revs.get(from_revision.as_str()).ok_or_else(|| {
                    WriteError::new(a, format!("revision {from_revision} is not in the input"))
                })?;
                let spec = from
                    .data
                    .as_ref()
                    .and_then(|d| inplace::in_place_spec(&d.0, &self.data, rev, opts))
                    .ok_or_else(|| {
                        WriteError::new(a, format!("no in-place update from {from_revision} to {rev}"))
                    })?;
                let read = self.pods_written.current(a, cached)?;
                self.pods_written.in_place(
                    a,
                    cached,
                    true,
                    now,
                    |marked| {
                        let mut updated = inplace::apply_in_place(marked, &spec, now, 0, true);
                        // ADS-24: no lifecycle hooks are involved: keep the pod's own lifecycle keys.
                        let labels = updated.metadata.labels.get_or_insert_with(Default::default);
                        match read.metadata.labels.as_ref().and_then(|l| l.get(keys::LIFECYCLE_STATE)) {
                            Some(s) => labels.insert(keys::LIFECYCLE_STATE.into(), s.clone()),
                            None => labels.remove(keys::LIFECYCLE_STATE),
                        };
                        let anns = updated.metadata.annotations.get_or_insert_with(Default::default);
                        match read
                            .metadata
                            .annotations
                            .as_ref()
                            .and_then(|a| a.get(keys::LIFECYCLE_TIMESTAMP))
                        {
                            Some(t) => anns.insert(keys::LIFECYCLE_TIMESTAMP.into(), t.clone()),
                            None => anns.remove(keys::LIFECYCLE_TIMESTAMP),
                        };
                        updated
                    },
                    out,
                )?;
            }
            ActionKind::ApplyNextBatch => {
                let opts = SpecOptions::from_features(&self.input.features);
                out.push(self.pods_written.step(a, cached, |p| inplace::apply_next_batch(p, now, opts))?);
            }
            ActionKind::UpdateStatus => {
                let mut obj = ds.clone();
                obj.status = Some(self.plan.status.clone());
                out.push(ApiWrite::Replace {
                    target: ds_target(ds),
                    subresource: Subresource::Status,
                    object: serde_json::to_value(&obj).unwrap_or_default(),
                });
            }
            ActionKind::ImagePullJob(_) => match crate::imagepulljob::predownload::write(a, ns, self.jobs) {
                Some(w) => out.push(w),
                None => return Err(WriteError::new(a, "not an action of a DaemonSet plan")),
            },
            _ => return Err(WriteError::new(a, "not an action of a DaemonSet plan")),
        }
        Ok(())
    }

    fn action_event(&self, a: &Action) -> Option<WorkloadEvent> {
        let pod = a.pod.as_deref().unwrap_or_default();
        let (reason, message) = match &a.kind {
            ActionKind::CreatePod { instance_id } => {
                ("SuccessfulCreate", format!("Created pod: {pod} on node {instance_id}"))
            }
            ActionKind::DeletePod => ("SuccessfulDelete", format!("Deleted pod: {pod}")),
            ActionKind::UpdateInPlace { .. } => {
                ("SuccessfulUpdatePodInPlace", format!("successfully update pod {pod} in-place"))
            }
            _ => return None,
        };
        Some(WorkloadEvent { type_: "Normal".into(), reason: reason.into(), message })
    }

    fn plan_event(&self, r: &Reason) -> Option<WorkloadEvent> {
        let (reason, message) = match r {
            Reason::DaemonSet(DaemonSetReason::SelectingAll) => {
                ("SelectingAll", "This daemon set is selecting all pods. A non-empty selector is required.")
            }
            Reason::DaemonSet(DaemonSetReason::FailedPod) => {
                ("FailedDaemonPod", "Found failed daemon pod, will try to kill it")
            }
            _ => return None,
        };
        Some(WorkloadEvent { type_: "Warning".into(), reason: reason.into(), message: message.into() })
    }
}

/// Turns each action of `p` into its API write(s), in order.
pub fn writes(input: &Input<'_>, p: &Plan) -> Result<Vec<PlannedWrite>, WriteError> {
    Ok(outcome(input, p)?.writes)
}

/// The adapter's view of a plan: writes, held pods (and nodes), events and the requeue. Fails,
/// naming the action, if an action cannot be turned into writes.
pub fn outcome(input: &Input<'_>, p: &Plan) -> Result<Outcome, WriteError> {
    outcome_with_jobs(input, p, &[])
}

/// [`outcome`] for a plan that may hold pre-download actions: `jobs` are the ImagePullJobs
/// the DaemonSet controls (their deletes carry the uid).
pub fn outcome_with_jobs(
    input: &Input<'_>,
    p: &Plan,
    jobs: &[kruise_api::apps::v1beta1::ImagePullJob],
) -> Result<Outcome, WriteError> {
    Outcome::from_plan(p, &mut DaemonSetWrites::new(input, p).with_image_pull_jobs(jobs))
}
