//! Turning a BroadcastJob [`Plan`] into API writes: [`BroadcastJobReconciler`] implements
//! [`crate::reconciler::Reconciler`]. Kept thin on purpose: pods are built by
//! [`super::new_pod`], everything else is a guarded delete or a status replace (STYLE.md §8:
//! deletes carry the uid, the status replace the job's resourceVersion). Writes are built
//! through [`BroadcastJobWrites`] ([`Materialise`]): an action it cannot build is an error
//! naming it, never skipped.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::v1beta1::BroadcastJob;

use super::{Input, Plan, new_pod, plan};
use crate::nodetable::NodeTable;
use crate::plan::{Action, ActionKind, BroadcastJobAction, BroadcastJobReason, Reason};
use crate::reconciler::{
    Context, Materialise, Outcome, PlannedWrite, ReconcileError, Reconciler, WorkloadEvent, World, WriteError,
};
use crate::write::pod::object as to_value;
use crate::write::{ApiWrite, Subresource, Target};

/// The BroadcastJob planner as adapters see it: [`World::nodes`] are read into a
/// [`NodeTable`] per reconcile; pods are created with node affinity (upstream's default).
#[derive(Clone, Copy, Debug, Default)]
pub struct BroadcastJobReconciler;

impl Reconciler for BroadcastJobReconciler {
    type Workload = BroadcastJob;

    fn reconcile(
        &self,
        world: &World<'_, BroadcastJob>,
        ctx: &Context<'_>,
    ) -> Result<Outcome, ReconcileError> {
        let table = NodeTable::from_nodes(world.nodes).map_err(|e| ReconcileError(Box::new(e)))?;
        let input = Input {
            job: world.workload,
            pods: world.pods,
            nodes: &table,
            now: ctx.now,
            id_seed: ctx.id_seed,
            expectations: ctx.expectations,
            bind_pods: false,
        };
        let p = plan(&input).map_err(|e| ReconcileError(Box::new(e)))?;
        Ok(outcome(&input, &p)?)
    }
}

fn job_target(job: &BroadcastJob) -> Target {
    Target::namespaced(
        "apps.kruise.io/v1beta1",
        "BroadcastJob",
        job.metadata.namespace.as_deref().unwrap_or_default(),
        job.metadata.name.as_deref().unwrap_or_default(),
    )
}

/// Turns a BroadcastJob plan's actions into API writes ([`Materialise`]): new pods built whole,
/// deletes guarded by uid, the status replaced under the job's resourceVersion.
pub struct BroadcastJobWrites<'i, 'a> {
    input: &'i Input<'a>,
    plan: &'i Plan,
    pods: BTreeMap<&'i str, &'i Pod>,
}

impl std::fmt::Debug for BroadcastJobWrites<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastJobWrites")
            .field("job", &self.input.job.metadata.name)
            .finish_non_exhaustive()
    }
}

impl<'i, 'a> BroadcastJobWrites<'i, 'a> {
    /// A writer for plan `p` of `input`.
    pub fn new(input: &'i Input<'a>, p: &'i Plan) -> Self {
        let pods = input.pods.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect();
        Self { input, plan: p, pods }
    }
}

impl Materialise for BroadcastJobWrites<'_, '_> {
    fn writes(&mut self, a: &Action, out: &mut Vec<ApiWrite>) -> Result<(), WriteError> {
        let job = self.input.job;
        let ns = job.metadata.namespace.as_deref().unwrap_or_default();
        let name = a.pod.as_deref().unwrap_or_default();
        match &a.kind {
            ActionKind::CreatePod { instance_id: node } => {
                let pod = new_pod(job, node, name, self.input.bind_pods);
                out.push(ApiWrite::Create {
                    target: Target::pod(ns, name),
                    object: to_value(&pod, "v1", "Pod"),
                });
            }
            ActionKind::DeletePod => out.push(ApiWrite::Delete {
                target: Target::pod(ns, name),
                uid: self.pods.get(name).and_then(|p| p.metadata.uid.clone()),
            }),
            ActionKind::BroadcastJob(BroadcastJobAction::DeleteJob) => {
                out.push(ApiWrite::Delete { target: job_target(job), uid: job.metadata.uid.clone() })
            }
            ActionKind::UpdateStatus => {
                let mut obj = job.clone();
                obj.status = Some(self.plan.status.clone());
                out.push(ApiWrite::Replace {
                    target: job_target(job),
                    subresource: Subresource::Status,
                    object: serde_json::to_value(&obj).unwrap_or_default(),
                });
            }
            _ => return Err(WriteError::new(a, "not an action of a BroadcastJob plan")),
        }
        Ok(())
    }

    fn action_event(&self, a: &Action) -> Option<WorkloadEvent> {
        let pod = a.pod.as_deref().unwrap_or_default();
        let (reason, message) = match &a.kind {
            ActionKind::CreatePod { instance_id } => {
                ("SuccessfulCreate", format!("Created pod: {pod} on node {instance_id}"))
            }
            ActionKind::DeletePod => ("SuccessfulDelete", format!("Delete pod: {pod}")),
            _ => return None,
        };
        Some(WorkloadEvent { type_: "Normal".into(), reason: reason.into(), message })
    }

    fn plan_event(&self, e: &Reason) -> Option<WorkloadEvent> {
        let Reason::BroadcastJob(r) = e else { return None };
        let (type_, reason, message) = match r {
            BroadcastJobReason::Continue => ("Normal", "Continue", "continue to process job".to_owned()),
            BroadcastJobReason::PausedOnFailure { .. } => {
                ("Warning", "Paused", "job is paused, due to failed pod".to_owned())
            }
            BroadcastJobReason::TooManyActivePods { .. } => {
                ("Warning", "TooManyActivePods", "Number of active pods exceed parallelism limit".to_owned())
            }
            BroadcastJobReason::JobFailed { message } => ("Warning", "JobFailed", message.clone()),
            BroadcastJobReason::JobComplete { succeeded, failed } => (
                "Normal",
                "JobComplete",
                format!("Job is completed, {succeeded} pods succeeded, {failed} pods failed"),
            ),
            BroadcastJobReason::DuplicatePodOnNode { node } => (
                "Warning",
                "DuplicatePodCreatedOnSameNode",
                format!("Duplicate pods are created on node {node}"),
            ),
            _ => return None,
        };
        Some(WorkloadEvent { type_: type_.into(), reason: reason.into(), message })
    }
}

/// Turns each action of `p` into its API write(s), in order.
pub fn writes(input: &Input<'_>, p: &Plan) -> Result<Vec<PlannedWrite>, WriteError> {
    Ok(outcome(input, p)?.writes)
}

/// The adapter's view of a plan: writes, held pods and nodes, events (upstream's reasons) and
/// the requeue. Fails, naming the action, if an action cannot be turned into writes.
pub fn outcome(input: &Input<'_>, p: &Plan) -> Result<Outcome, WriteError> {
    Outcome::from_plan(p, &mut BroadcastJobWrites::new(input, p))
}
