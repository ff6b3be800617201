//! Turning a BroadcastJob [`Plan`] into API writes: [`BroadcastJobReconciler`] implements
//! [`crate::reconciler::Reconciler`]. Kept thin on purpose: pods are built by
//! [`super::new_pod`], everything else is a guarded delete or a status replace (STYLE.md §8:
//! deletes carry the uid, the status replace the job's resourceVersion).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::v1beta1::BroadcastJob;
use serde_json::json;

use super::{Input, Plan, new_pod, plan};
use crate::nodetable::NodeTable;
use crate::plan::{ActionKind, BroadcastJobAction, BroadcastJobReason, Reason};
use crate::reconciler::{
    Context, HeldPod, Outcome, PlannedWrite, ReconcileError, Reconciler, WorkloadEvent, World,
};
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
        Ok(outcome(&input, &p))
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

/// Turns each action of `p` into its API write, in order.
pub fn writes(input: &Input<'_>, p: &Plan) -> Vec<PlannedWrite> {
    let job = input.job;
    let ns = job.metadata.namespace.as_deref().unwrap_or_default();
    let pods: BTreeMap<&str, &Pod> =
        input.pods.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect();
    let mut out = Vec::new();
    for a in &p.actions {
        let name = a.pod.as_deref().unwrap_or_default();
        let write = match &a.kind {
            ActionKind::CreatePod { instance_id: node } => {
                let mut v =
                    serde_json::to_value(new_pod(job, node, name, input.bind_pods)).unwrap_or_default();
                v["apiVersion"] = json!("v1");
                v["kind"] = json!("Pod");
                ApiWrite::Create { target: Target::pod(ns, name), object: v }
            }
            ActionKind::DeletePod => ApiWrite::Delete {
                target: Target::pod(ns, name),
                uid: pods.get(name).and_then(|p| p.metadata.uid.clone()),
            },
            ActionKind::BroadcastJob(BroadcastJobAction::DeleteJob) => {
                ApiWrite::Delete { target: job_target(job), uid: job.metadata.uid.clone() }
            }
            ActionKind::UpdateStatus => {
                let mut obj = job.clone();
                obj.status = Some(p.status.clone());
                ApiWrite::Replace {
                    target: job_target(job),
                    subresource: Subresource::Status,
                    object: serde_json::to_value(&obj).unwrap_or_default(),
                }
            }
            _ => continue,
        };
        out.push(PlannedWrite {
            action: a.kind.name().to_owned(),
            pod: a.pod.clone(),
            reason: a.reason.kind().to_owned(),
            detail: a.reason.to_string(),
            write,
        });
    }
    out
}

/// The adapter's view of a plan: writes, held nodes (`node/<name>`), events (upstream's
/// reasons) and the requeue.
pub fn outcome(input: &Input<'_>, p: &Plan) -> Outcome {
    let event = |type_: &str, reason: &str, message: String| WorkloadEvent {
        type_: type_.into(),
        reason: reason.into(),
        message,
    };
    let mut events = Vec::new();
    for a in &p.actions {
        let pod = a.pod.as_deref().unwrap_or_default();
        match &a.kind {
            ActionKind::CreatePod { instance_id } => events.push(event(
                "Normal",
                "SuccessfulCreate",
                format!("Created pod: {pod} on node {instance_id}"),
            )),
            ActionKind::DeletePod => {
                events.push(event("Normal", "SuccessfulDelete", format!("Delete pod: {pod}")))
            }
            _ => {}
        }
    }
    for e in &p.events {
        let Reason::BroadcastJob(r) = e else { continue };
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
            _ => continue,
        };
        events.push(event(type_, reason, message));
    }
    Outcome {
        writes: writes(input, p),
        held: p
            .held
            .iter()
            .filter_map(|h| {
                let subject = match (&h.pod, &h.object) {
                    (Some(pod), _) => pod.clone(),
                    (None, Some(o)) => format!("node/{}", o.name),
                    _ => return None,
                };
                Some(HeldPod { pod: subject, reason: h.reason.kind().into(), detail: h.reason.to_string() })
            })
            .collect(),
        events,
        requeue_after: p.requeue.as_ref().map(|r| (r.after, r.reason.kind().to_owned())),
    }
}
