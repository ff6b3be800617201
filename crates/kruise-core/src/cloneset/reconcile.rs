//! Turning a [`Plan`] into concrete API writes: [`CloneSetReconciler`] implements
//! [`crate::reconciler::Reconciler`] for the v1beta1 CloneSet. Full objects (pods from
//! [`super::new_pod`], in-place replaced pods) are built here, only for the pods a plan
//! touches; the in-place spec is computed once per revision pair.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use kruise_api::apps::v1beta1::CloneSet;
use kruise_api::keys;
use serde_json::json;

use super::inplace::{self, InPlaceSpec, SpecOptions};
use super::revision::{self, Revisions};
use super::{Action, ActionKind, Input, Plan, PodConditionUpdate, Reason, plan};
use crate::reconciler::{
    Context, HeldPod, Outcome, PlannedWrite, ReconcileError, Reconciler, WorkloadEvent, World,
};
use crate::write::{ApiWrite, Subresource, Target};

/// The CloneSet planner as adapters see it.
#[derive(Clone, Copy, Debug, Default)]
pub struct CloneSetReconciler;

impl Reconciler for CloneSetReconciler {
    type Workload = CloneSet;

    fn reconcile(&self, world: &World<'_, CloneSet>, ctx: &Context<'_>) -> Result<Outcome, ReconcileError> {
        let input = Input {
            cloneset: world.workload,
            pods: world.pods.into(),
            pvcs: world.pvcs,
            revisions: world.revisions,
            nodes: world.nodes,
            now: ctx.now,
            id_seed: ctx.id_seed,
            features: ctx.features,
            expectations: ctx.expectations,
            pub_decisions: None,
        };
        let p = plan(&input).map_err(|e| ReconcileError(Box::new(e)))?;
        Ok(outcome(&input, &p))
    }
}

fn cs_target(cs: &CloneSet) -> Target {
    Target::namespaced(
        "apps.kruise.io/v1beta1",
        "CloneSet",
        cs.metadata.namespace.as_deref().unwrap_or_default(),
        cs.metadata.name.as_deref().unwrap_or_default(),
    )
}

/// Sets condition `c` on `pod` (lastTransitionTime moves only when the status changes); when
/// a readiness-gate condition turns False, `Ready` is recomputed as False (CS-70).
pub fn set_pod_condition(pod: &mut Pod, c: &PodConditionUpdate, now: Timestamp) {
    let gates: Vec<String> = pod
        .spec
        .as_ref()
        .and_then(|s| s.readiness_gates.as_ref())
        .map(|g| g.iter().map(|g| g.condition_type.clone()).collect())
        .unwrap_or_default();
    let status = pod.status.get_or_insert_with(Default::default);
    let conds = status.conditions.get_or_insert_with(Vec::new);
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    match conds.iter_mut().find(|x| x.type_ == c.type_) {
        Some(x) => {
            if x.status != c.status {
                x.last_transition_time = Some(Time(now));
            }
            x.status = c.status.clone();
            x.reason = opt(&c.reason);
            x.message = opt(&c.message);
        }
        None => conds.push(PodCondition {
            type_: c.type_.clone(),
            status: c.status.clone(),
            reason: opt(&c.reason),
            message: opt(&c.message),
            last_transition_time: Some(Time(now)),
            ..Default::default()
        }),
    }
    if c.status != "True" && gates.contains(&c.type_) {
        let containers_ready =
            conds.iter().any(|x| x.type_ == keys::CONDITION_CONTAINERS_READY && x.status == "True");
        let not_true: Vec<String> = gates
            .iter()
            .filter(|g| conds.iter().find(|x| &x.type_ == *g).is_none_or(|x| x.status != "True"))
            .cloned()
            .collect();
        if containers_ready && let Some(ready) = conds.iter_mut().find(|x| x.type_ == keys::CONDITION_READY) {
            if ready.status != "False" {
                ready.last_transition_time = Some(Time(now));
            }
            ready.status = "False".into();
            ready.reason = Some("ReadinessGatesNotReady".into());
            ready.message = Some(format!(
                "corresponding condition of pod readiness gate {not_true:?} does not exist or is not True"
            ));
        }
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

/// Turns each action of `p` into its API write(s), in order.
pub fn writes(input: &Input<'_>, p: &Plan) -> Vec<PlannedWrite> {
    let cs = input.cloneset;
    let ns = cs.metadata.namespace.as_deref().unwrap_or_default();
    let cs_name = cs.metadata.name.as_deref().unwrap_or_default();
    let revs: Revisions = revision::resolve(cs, input.revisions);
    let rev_by_name: BTreeMap<&str, &ControllerRevision> =
        revs.sorted.iter().filter_map(|r| Some((r.metadata.name.as_deref()?, r))).collect();
    // A table answers by name itself; a slice is indexed once, O(n log n).
    let by_name: BTreeMap<&str, &Pod> = match input.pods {
        super::Pods::Slice(s) => s.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect(),
        super::Pods::Table(_) => BTreeMap::new(),
    };
    let pod_named = |n: &str| -> Option<&Pod> {
        match input.pods {
            super::Pods::Slice(_) => by_name.get(n).copied(),
            super::Pods::Table(t) => t.get(n),
        }
    };
    let pvcs: BTreeMap<&str, _> =
        input.pvcs.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect();
    let mut templates = BTreeMap::new();
    let mut specs: BTreeMap<(String, String), Option<InPlaceSpec>> = BTreeMap::new();
    let opts = SpecOptions {
        env_from_metadata: input.features.in_place_update_env_from_metadata,
        vertical_scaling: input.features.in_place_workload_vertical_scaling,
    };
    let grace = cs
        .spec
        .update_strategy
        .rolling_update
        .as_ref()
        .and_then(|r| r.in_place_update_strategy.as_ref())
        .map_or(0, |s| s.grace_period_seconds);
    let short = input.features.clone_set_short_hash;
    let now = input.now;
    let mut out = Vec::new();
    let pod_uid = |name: &str| pod_named(name).and_then(|p| p.metadata.uid.clone());
    for a in &p.actions {
        let pod_name = a.pod.as_deref().unwrap_or_default();
        let mut emit = |write: ApiWrite| {
            out.push(PlannedWrite {
                action: a.kind.name().to_owned(),
                pod: a.pod.clone(),
                reason: a.reason.kind().to_owned(),
                detail: a.reason.to_string(),
                write,
            })
        };
        match &a.kind {
            // Other workloads' own actions: never in a CloneSet plan.
            ActionKind::StatefulSet(_)
            | ActionKind::DaemonSet(_)
            | ActionKind::SidecarSet(_)
            | ActionKind::BroadcastJob(_)
            | ActionKind::ImagePullJob(_)
            | ActionKind::Rollout(_) => continue,
            ActionKind::CreateRevision { .. } | ActionKind::UpdateRevision { .. } => {
                let Some(r) = a.revision.as_deref().and_then(|n| rev_by_name.get(n)) else { continue };
                let object = to_value(*r, "apps/v1", "ControllerRevision");
                let target = Target::revision(ns, a.revision.as_deref().unwrap_or_default());
                emit(if matches!(a.kind, ActionKind::CreateRevision { .. }) {
                    ApiWrite::Create { target, object }
                } else {
                    ApiWrite::Replace { target, subresource: Subresource::Main, object }
                });
            }
            ActionKind::DeleteRevision => {
                let name = a.revision.as_deref().unwrap_or_default();
                let uid = rev_by_name.get(name).and_then(|r| r.metadata.uid.clone());
                emit(ApiWrite::Delete { target: Target::revision(ns, name), uid });
            }
            ActionKind::CreatePvc { pvc } => {
                let id = pod_name.strip_prefix(cs_name).and_then(|s| s.strip_prefix('-')).unwrap_or_default();
                if let Some(vct) =
                    cs.spec.volume_claim_templates.iter().find(|v| &super::pvc_name(v, cs_name, id) == pvc)
                {
                    let object = to_value(&super::new_pvc(cs, vct, id), "v1", "PersistentVolumeClaim");
                    emit(ApiWrite::Create { target: Target::pvc(ns, pvc), object });
                }
            }
            ActionKind::DeletePvc { pvc } => {
                let uid = pvcs.get(pvc.as_str()).and_then(|p| p.metadata.uid.clone());
                emit(ApiWrite::Delete { target: Target::pvc(ns, pvc), uid });
            }
            ActionKind::UpdatePvc { pvc } => {
                let (Some(claim), Some(owner)) = (pvcs.get(pvc.as_str()), pod_named(pod_name)) else {
                    continue;
                };
                let mut claim = (*claim).clone();
                let refs = claim.metadata.owner_references.get_or_insert_with(Vec::new);
                refs.retain(|r| Some(r.uid.as_str()) != cs.metadata.uid.as_deref());
                refs.push(OwnerReference {
                    api_version: "v1".into(),
                    kind: "Pod".into(),
                    name: pod_name.to_owned(),
                    uid: owner.metadata.uid.clone().unwrap_or_default(),
                    controller: Some(true),
                    block_owner_deletion: None,
                });
                emit(ApiWrite::Replace {
                    target: Target::pvc(ns, pvc),
                    subresource: Subresource::Main,
                    object: to_value(&claim, "v1", "PersistentVolumeClaim"),
                });
            }
            ActionKind::ReleasePod | ActionKind::AdoptPod => {
                let Some(pod) = pod_named(pod_name) else { continue };
                let mut refs: Vec<OwnerReference> = pod.metadata.owner_references.clone().unwrap_or_default();
                if matches!(a.kind, ActionKind::ReleasePod) {
                    refs.retain(|r| Some(r.uid.as_str()) != cs.metadata.uid.as_deref());
                } else {
                    refs.retain(|r| Some(r.uid.as_str()) != cs.metadata.uid.as_deref());
                    refs.push(super::owner_ref(cs));
                }
                emit(ApiWrite::MergePatch {
                    target: Target::pod(ns, pod_name),
                    subresource: Subresource::Main,
                    patch: json!({"metadata": {"ownerReferences": refs, "uid": pod.metadata.uid}}),
                });
            }
            ActionKind::CreatePod { instance_id } => {
                let rev = a.revision.as_deref().unwrap_or_default();
                let template = templates.entry(rev.to_owned()).or_insert_with(|| {
                    rev_by_name
                        .get(rev)
                        .and_then(|r| revision::revision_template(r))
                        .unwrap_or_else(|| cs.spec.template.clone())
                });
                let pod = super::new_pod(cs, template, rev, instance_id, now, short);
                emit(ApiWrite::Create {
                    target: Target::pod(ns, pod_name),
                    object: to_value(&pod, "v1", "Pod"),
                });
            }
            ActionKind::DeletePod => {
                emit(ApiWrite::Delete { target: Target::pod(ns, pod_name), uid: pod_uid(pod_name) });
            }
            ActionKind::PatchPod { patch } => {
                let mut body = patch.to_merge_patch();
                if !patch.add_finalizers.is_empty()
                    && let Some(pod) = pod_named(pod_name)
                {
                    let mut fins = pod.metadata.finalizers.clone().unwrap_or_default();
                    for f in &patch.add_finalizers {
                        if !fins.contains(f) {
                            fins.push(f.clone());
                        }
                    }
                    body["metadata"]["finalizers"] = json!(fins);
                }
                emit(ApiWrite::MergePatch {
                    target: Target::pod(ns, pod_name),
                    subresource: Subresource::Main,
                    patch: body,
                });
            }
            ActionKind::UpdatePodStatus { condition } => {
                let Some(pod) = pod_named(pod_name) else { continue };
                let mut pod = (*pod).clone();
                set_pod_condition(&mut pod, condition, now);
                emit(ApiWrite::Replace {
                    target: Target::pod(ns, pod_name),
                    subresource: Subresource::Status,
                    object: to_value(&pod, "v1", "Pod"),
                });
            }
            ActionKind::UpdateInPlace { from_revision } => {
                let Some(pod) = pod_named(pod_name) else { continue };
                let to = a.revision.clone().unwrap_or_default();
                let spec = specs.entry((from_revision.clone(), to.clone())).or_insert_with(|| {
                    let (Some(f), Some(t)) =
                        (rev_by_name.get(from_revision.as_str()), rev_by_name.get(to.as_str()))
                    else {
                        return None;
                    };
                    inplace::in_place_spec(&f.data.as_ref()?.0, &t.data.as_ref()?.0, &to, opts)
                });
                let Some(spec) = spec.as_ref() else { continue };
                let mut marked = (*pod).clone();
                set_pod_condition(
                    &mut marked,
                    &PodConditionUpdate {
                        type_: keys::INPLACE_UPDATE_READY.into(),
                        status: "False".into(),
                        reason: keys::REASON_START_INPLACE_UPDATE.into(),
                        message: String::new(),
                    },
                    now,
                );
                emit(ApiWrite::Replace {
                    target: Target::pod(ns, pod_name),
                    subresource: Subresource::Status,
                    object: to_value(&marked, "v1", "Pod"),
                });
                let mut updated = inplace::apply_in_place(&marked, spec, now, grace, short);
                // The status write above moved the resourceVersion on: this replace follows it
                // unconditionally (upstream re-reads and retries on conflict).
                updated.metadata.resource_version = None;
                updated.status = None;
                emit(ApiWrite::Replace {
                    target: Target::pod(ns, pod_name),
                    subresource: Subresource::Main,
                    object: to_value(&updated, "v1", "Pod"),
                });
            }
            ActionKind::FinishGracePeriod | ActionKind::ApplyNextBatch => {
                let updated = pod_named(pod_name).and_then(|p| {
                    if matches!(a.kind, ActionKind::FinishGracePeriod) {
                        inplace::finish_grace(p, now)
                    } else {
                        inplace::apply_next_batch(p, now)
                    }
                });
                let Some(updated) = updated else { continue };
                emit(ApiWrite::Replace {
                    target: Target::pod(ns, pod_name),
                    subresource: Subresource::Main,
                    object: to_value(&updated, "v1", "Pod"),
                });
            }
            ActionKind::UpdateStatus => {
                let mut obj = cs.clone();
                obj.status = Some(p.status.clone());
                emit(ApiWrite::Replace {
                    target: cs_target(cs),
                    subresource: Subresource::Status,
                    object: serde_json::to_value(&obj).unwrap_or_default(),
                });
            }
            ActionKind::UpdateSpec { pods_to_delete } => {
                emit(ApiWrite::MergePatch {
                    target: cs_target(cs),
                    subresource: Subresource::Main,
                    patch: json!({"spec": {"scaleStrategy": {"podsToDelete": pods_to_delete}}}),
                });
            }
        }
    }
    out
}

fn event(a: &Action) -> Option<WorkloadEvent> {
    let pod = a.pod.as_deref().unwrap_or_default();
    let (reason, message) = match (&a.kind, &a.reason) {
        (ActionKind::CreatePod { .. }, _) => ("SuccessfulCreate", format!("succeed to create pod {pod}")),
        (ActionKind::DeletePod, _) => ("SuccessfulDelete", format!("succeed to delete pod {pod}")),
        (ActionKind::UpdateInPlace { .. }, _) => {
            ("SuccessfulUpdatePodInPlace", format!("successfully update pod {pod} in-place"))
        }
        (ActionKind::PatchPod { .. }, Reason::Update { recreate: true, .. }) => {
            ("SuccessfulUpdatePodReCreate", format!("successfully mark pod {pod} as specified-delete"))
        }
        _ => return None,
    };
    Some(WorkloadEvent { type_: "Normal".into(), reason: reason.into(), message })
}

/// The adapter's view of a plan: writes, held pods, events and the requeue.
pub fn outcome(input: &Input<'_>, p: &Plan) -> Outcome {
    let mut events: Vec<WorkloadEvent> = p.actions.iter().filter_map(event).collect();
    for e in &p.events {
        if let Reason::ScaleUpLimited { limit, .. } = e {
            events.push(WorkloadEvent {
                type_: "Warning".into(),
                reason: "ScaleUpLimited".into(),
                message: format!(
                    "scaleUp is limited because of scaleStrategy.maxUnavailable, limit: {limit}"
                ),
            });
        }
    }
    Outcome {
        writes: writes(input, p),
        held: p
            .held
            .iter()
            // A CloneSet plan holds only pods.
            .filter_map(|h| {
                Some(HeldPod {
                    pod: h.pod.clone()?,
                    reason: h.reason.kind().into(),
                    detail: h.reason.to_string(),
                })
            })
            .collect(),
        events,
        requeue_after: p.requeue.as_ref().map(|r| (r.after, r.reason.kind().to_owned())),
    }
}
