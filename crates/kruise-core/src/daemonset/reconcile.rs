//! Turning a DaemonSet [`Plan`] into concrete API writes: [`DaemonSetReconciler`] implements
//! [`crate::reconciler::Reconciler`] for the v1beta1 Advanced DaemonSet. Objects (new pods,
//! revisions, in-place replaced pods) are built here, only for what a plan touches. Every write
//! is guarded (STYLE.md §8): deletes carry the uid, patches and replaces the resourceVersion
//! they were computed from.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::v1beta1::DaemonSet;
use kruise_api::keys;
use serde_json::json;

use super::{Input, Plan, new_pod, new_revision, plan};
use crate::cloneset::reconcile::set_pod_condition;
use crate::inplace::{self, SpecOptions};
use crate::nodetable::NodeTable;
use crate::plan::{ActionKind, DaemonSetAction, DaemonSetReason, PodConditionUpdate, Reason};
use crate::reconciler::{
    Context, HeldPod, Outcome, PlannedWrite, ReconcileError, Reconciler, WorkloadEvent, World,
};
use crate::revision::revision_data;
use crate::write::{ApiWrite, Subresource, Target};

/// The Advanced DaemonSet planner as adapters see it. The nodes of [`World::nodes`] are read
/// into a [`NodeTable`] per reconcile; adapters that keep a table per watch event call
/// [`plan`] with it directly.
#[derive(Clone, Copy, Debug, Default)]
pub struct DaemonSetReconciler;

impl Reconciler for DaemonSetReconciler {
    type Workload = DaemonSet;

    fn reconcile(&self, world: &World<'_, DaemonSet>, ctx: &Context<'_>) -> Result<Outcome, ReconcileError> {
        let table = NodeTable::from_nodes(world.nodes).map_err(|e| ReconcileError(Box::new(e)))?;
        let backoff = BTreeMap::new();
        let input = Input {
            daemonset: world.workload,
            pods: world.pods,
            nodes: &table,
            revisions: world.revisions,
            now: ctx.now,
            id_seed: ctx.id_seed,
            features: ctx.features,
            expectations: ctx.expectations,
            failed_pod_backoff: &backoff,
            bind_pods: false,
        };
        let p = plan(&input).map_err(|e| ReconcileError(Box::new(e)))?;
        Ok(outcome(&input, &p))
    }
}

fn to_value<T: serde::Serialize>(v: &T, api_version: &str, kind: &str) -> serde_json::Value {
    let mut v = serde_json::to_value(v).unwrap_or_default();
    if let serde_json::Value::Object(m) = &mut v {
        m.insert("apiVersion".into(), json!(api_version));
        m.insert("kind".into(), json!(kind));
    }
    v
}

fn ds_target(ds: &DaemonSet) -> Target {
    Target::namespaced(
        "apps.kruise.io/v1beta1",
        "DaemonSet",
        ds.metadata.namespace.as_deref().unwrap_or_default(),
        ds.metadata.name.as_deref().unwrap_or_default(),
    )
}

/// Turns each action of `p` into its API write(s), in order.
pub fn writes(input: &Input<'_>, p: &Plan) -> Vec<PlannedWrite> {
    let ds = input.daemonset;
    let ns = ds.metadata.namespace.as_deref().unwrap_or_default();
    let hash = p.status.update_revision.as_str();
    let pods: BTreeMap<&str, &Pod> =
        input.pods.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect();
    let revs: BTreeMap<&str, &ControllerRevision> =
        input.revisions.iter().filter_map(|r| Some((r.metadata.name.as_deref()?, r))).collect();
    let opts = SpecOptions {
        env_from_metadata: input.features.in_place_update_env_from_metadata,
        vertical_scaling: input.features.in_place_workload_vertical_scaling,
    };
    let data = revision_data(&ds.spec.template);
    let mut out = Vec::new();
    for a in &p.actions {
        let name = a.pod.as_deref().unwrap_or_default();
        let rev = a.revision.as_deref().unwrap_or_default();
        let mut emit = |write: ApiWrite| {
            out.push(PlannedWrite {
                action: a.kind.name().to_owned(),
                pod: a.pod.clone(),
                reason: a.reason.kind().to_owned(),
                detail: a.reason.to_string(),
                write,
            })
        };
        let rv = |n: &str| pods.get(n).and_then(|p| p.metadata.resource_version.clone());
        match &a.kind {
            ActionKind::CreateRevision { number, .. } => {
                let r = new_revision(ds, data.clone(), hash, rev.to_owned(), *number);
                emit(ApiWrite::Create {
                    target: Target::revision(ns, rev),
                    object: to_value(&r, "apps/v1", "ControllerRevision"),
                });
            }
            ActionKind::UpdateRevision { number } => {
                let version = revs.get(rev).and_then(|r| r.metadata.resource_version.clone());
                emit(ApiWrite::MergePatch {
                    target: Target::revision(ns, rev),
                    subresource: Subresource::Main,
                    patch: json!({"metadata": {"resourceVersion": version}, "revision": number}),
                });
            }
            ActionKind::DaemonSet(DaemonSetAction::LabelRevision { hash }) => {
                let version = revs.get(rev).and_then(|r| r.metadata.resource_version.clone());
                emit(ApiWrite::MergePatch {
                    target: Target::revision(ns, rev),
                    subresource: Subresource::Main,
                    patch: json!({"metadata": {"resourceVersion": version,
                        "labels": {keys::CONTROLLER_REVISION_HASH: hash}}}),
                });
            }
            ActionKind::DeleteRevision => {
                let uid = revs.get(rev).and_then(|r| r.metadata.uid.clone());
                emit(ApiWrite::Delete { target: Target::revision(ns, rev), uid });
            }
            ActionKind::CreatePod { instance_id: node } => {
                let pod = new_pod(ds, node, hash, name, input.bind_pods);
                emit(ApiWrite::Create { target: Target::pod(ns, name), object: to_value(&pod, "v1", "Pod") });
            }
            ActionKind::DeletePod => {
                let uid = pods.get(name).and_then(|p| p.metadata.uid.clone());
                emit(ApiWrite::Delete { target: Target::pod(ns, name), uid });
            }
            ActionKind::PatchPod { patch } => {
                let mut body = patch.to_merge_patch();
                body["metadata"]["resourceVersion"] = json!(rv(name));
                emit(ApiWrite::MergePatch {
                    target: Target::pod(ns, name),
                    subresource: Subresource::Main,
                    patch: body,
                });
            }
            ActionKind::UpdatePodStatus { condition } => {
                let Some(pod) = pods.get(name) else { continue };
                let mut pod = (*pod).clone();
                set_pod_condition(&mut pod, condition, input.now);
                emit(ApiWrite::Replace {
                    target: Target::pod(ns, name),
                    subresource: Subresource::Status,
                    object: to_value(&pod, "v1", "Pod"),
                });
            }
            ActionKind::UpdateInPlace { from_revision } => {
                let (Some(pod), Some(from)) = (pods.get(name), revs.get(from_revision.as_str())) else {
                    continue;
                };
                let Some(spec) =
                    from.data.as_ref().and_then(|d| inplace::in_place_spec(&d.0, &data, rev, opts))
                else {
                    continue;
                };
                let mut marked = (*pod).clone();
                set_pod_condition(
                    &mut marked,
                    &PodConditionUpdate {
                        type_: keys::INPLACE_UPDATE_READY.into(),
                        status: "False".into(),
                        reason: keys::REASON_START_INPLACE_UPDATE.into(),
                        message: String::new(),
                    },
                    input.now,
                );
                emit(ApiWrite::Replace {
                    target: Target::pod(ns, name),
                    subresource: Subresource::Status,
                    object: to_value(&marked, "v1", "Pod"),
                });
                let mut updated = inplace::apply_in_place(&marked, &spec, input.now, 0, true);
                // ADS-24: no lifecycle hooks are involved: keep the pod's own lifecycle keys.
                let labels = updated.metadata.labels.get_or_insert_with(Default::default);
                match pod.metadata.labels.as_ref().and_then(|l| l.get(keys::LIFECYCLE_STATE)) {
                    Some(s) => labels.insert(keys::LIFECYCLE_STATE.into(), s.clone()),
                    None => labels.remove(keys::LIFECYCLE_STATE),
                };
                let anns = updated.metadata.annotations.get_or_insert_with(Default::default);
                match pod.metadata.annotations.as_ref().and_then(|a| a.get(keys::LIFECYCLE_TIMESTAMP)) {
                    Some(t) => anns.insert(keys::LIFECYCLE_TIMESTAMP.into(), t.clone()),
                    None => anns.remove(keys::LIFECYCLE_TIMESTAMP),
                };
                // Chained after the status write (write.rs, Replace chaining rule).
                updated.metadata.resource_version = None;
                updated.status = None;
                emit(ApiWrite::Replace {
                    target: Target::pod(ns, name),
                    subresource: Subresource::Main,
                    object: to_value(&updated, "v1", "Pod"),
                });
            }
            ActionKind::ApplyNextBatch => {
                let Some(updated) =
                    pods.get(name).and_then(|p| inplace::apply_next_batch(p, input.now, opts))
                else {
                    continue;
                };
                emit(ApiWrite::Replace {
                    target: Target::pod(ns, name),
                    subresource: Subresource::Main,
                    object: to_value(&updated, "v1", "Pod"),
                });
            }
            ActionKind::UpdateStatus => {
                let mut obj = ds.clone();
                obj.status = Some(p.status.clone());
                emit(ApiWrite::Replace {
                    target: ds_target(ds),
                    subresource: Subresource::Status,
                    object: serde_json::to_value(&obj).unwrap_or_default(),
                });
            }
            _ => {}
        }
    }
    out
}

/// The adapter's view of a plan: writes, held pods (and nodes, named `node/<name>`), events
/// and the requeue.
pub fn outcome(input: &Input<'_>, p: &Plan) -> Outcome {
    let mut events: Vec<WorkloadEvent> = Vec::new();
    for a in &p.actions {
        let pod = a.pod.as_deref().unwrap_or_default();
        let (reason, message) = match &a.kind {
            ActionKind::CreatePod { instance_id } => {
                ("SuccessfulCreate", format!("Created pod: {pod} on node {instance_id}"))
            }
            ActionKind::DeletePod => ("SuccessfulDelete", format!("Deleted pod: {pod}")),
            ActionKind::UpdateInPlace { .. } => {
                ("SuccessfulUpdatePodInPlace", format!("successfully update pod {pod} in-place"))
            }
            _ => continue,
        };
        events.push(WorkloadEvent { type_: "Normal".into(), reason: reason.into(), message });
    }
    for e in &p.events {
        match e {
            Reason::DaemonSet(DaemonSetReason::SelectingAll) => events.push(WorkloadEvent {
                type_: "Warning".into(),
                reason: "SelectingAll".into(),
                message: "This daemon set is selecting all pods. A non-empty selector is required.".into(),
            }),
            Reason::DaemonSet(DaemonSetReason::FailedPod) => events.push(WorkloadEvent {
                type_: "Warning".into(),
                reason: "FailedDaemonPod".into(),
                message: "Found failed daemon pod, will try to kill it".into(),
            }),
            _ => {}
        }
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
