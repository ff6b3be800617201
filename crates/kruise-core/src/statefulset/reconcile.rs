//! Turning a StatefulSet [`Plan`] into concrete API writes: [`StatefulSetReconciler`]
//! implements [`crate::reconciler::Reconciler`] for the v1beta1 Advanced StatefulSet. Full
//! objects (new pods from [`super::new_pod`], PVCs from [`super::new_pvc`], in-place replaced
//! pods) are built here, only for what a plan touches; the in-place spec is computed once per
//! revision pair.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kruise_api::apps::v1beta1::StatefulSet;
use kruise_api::keys;
use serde_json::json;

use super::{Input, Plan, parse_ordinal, plan, pvc, revision};
use crate::cloneset::reconcile::set_pod_condition;
use crate::inplace::{self, InPlaceSpec, SpecOptions};
use crate::plan::{ActionKind, PodConditionUpdate};
use crate::reconciler::{
    Context, HeldPod, Outcome, PlannedWrite, ReconcileError, Reconciler, WorkloadEvent, World,
};
use crate::write::{ApiWrite, Subresource, Target};

/// The Advanced StatefulSet planner as adapters see it. StatefulSet gates are the defaults
/// ([`super::Gates`]); `with_gates` picks others.
#[derive(Clone, Copy, Debug, Default)]
pub struct StatefulSetReconciler {
    /// StatefulSet feature gates.
    pub gates: super::Gates,
}

impl Reconciler for StatefulSetReconciler {
    type Workload = StatefulSet;

    fn reconcile(
        &self,
        world: &World<'_, StatefulSet>,
        ctx: &Context<'_>,
    ) -> Result<Outcome, ReconcileError> {
        let input = Input {
            statefulset: world.workload,
            pods: world.pods,
            pvcs: world.pvcs,
            revisions: world.revisions,
            storage_classes: &[],
            now: ctx.now,
            features: ctx.features,
            gates: self.gates,
            expectations: ctx.expectations,
        };
        let p = plan(&input).map_err(|e| ReconcileError(Box::new(e)))?;
        Ok(outcome(&input, &p))
    }
}

fn set_target(set: &StatefulSet) -> Target {
    Target::namespaced(
        "apps.kruise.io/v1beta1",
        "StatefulSet",
        set.metadata.namespace.as_deref().unwrap_or_default(),
        set.metadata.name.as_deref().unwrap_or_default(),
    )
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
    let set = input.statefulset;
    let ns = set.metadata.namespace.as_deref().unwrap_or_default();
    let set_name = set.metadata.name.as_deref().unwrap_or_default();
    let revs = revision::resolve(set, input.revisions);
    let rev_by_name: BTreeMap<&str, &ControllerRevision> =
        revs.sorted.iter().filter_map(|r| Some((r.metadata.name.as_deref()?, r))).collect();
    let pods: BTreeMap<&str, &Pod> =
        input.pods.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect();
    let pvcs: BTreeMap<&str, &PersistentVolumeClaim> =
        input.pvcs.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect();
    let retention = pvc::policy(set, input.gates.stateful_set_auto_delete_pvc);
    let grace = set
        .spec
        .update_strategy
        .rolling_update
        .as_ref()
        .and_then(|r| r.in_place_update_strategy.as_ref())
        .map_or(0, |s| s.grace_period_seconds);
    let opts = SpecOptions {
        env_from_metadata: input.features.in_place_update_env_from_metadata,
        vertical_scaling: input.features.in_place_workload_vertical_scaling,
    };
    let now = input.now;
    let mut specs: BTreeMap<(String, String), Option<InPlaceSpec>> = BTreeMap::new();
    let mut out = Vec::new();
    for a in &p.actions {
        let pod_name = a.pod.as_deref().unwrap_or_default();
        let pod = pods.get(pod_name).copied();
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
            ActionKind::CreatePvc { pvc: name } => {
                let o = i64::from(parse_ordinal(pod_name).1);
                let Some(t) = set.spec.volume_claim_templates.iter().find(|t| {
                    pvc::pvc_name(t.metadata.name.as_deref().unwrap_or_default(), set_name, o) == *name
                }) else {
                    continue;
                };
                let mut claim = pvc::new_pvc(set, t, o);
                // ASTS-20: the set reference can be set at creation; a pod reference needs
                // the pod's uid and is added by a later pass.
                let (want_set, _) = pvc::required_refs(retention, false);
                if want_set {
                    let placeholder = Pod::default();
                    claim.metadata.owner_references =
                        Some(pvc::fixed_owner_refs(&claim, set, &placeholder, retention, false));
                }
                emit(ApiWrite::Create {
                    target: Target::pvc(ns, name),
                    object: to_value(&claim, "v1", "PersistentVolumeClaim"),
                });
            }
            ActionKind::UpdatePvc { pvc: name } => {
                let Some(claim) = pvcs.get(name.as_str()) else { continue };
                let mut claim = (*claim).clone();
                match &a.reason {
                    crate::plan::Reason::StatefulSet(crate::plan::StatefulSetReason::PvcRetention {
                        scaled_down,
                    }) => {
                        let Some(pod) = pod else { continue };
                        claim.metadata.owner_references =
                            Some(pvc::fixed_owner_refs(&claim, set, pod, retention, *scaled_down));
                    }
                    _ => {
                        // ASTS-47: resize to the template's resources.
                        let o = i64::from(parse_ordinal(pod_name).1);
                        let Some(t) = set.spec.volume_claim_templates.iter().find(|t| {
                            pvc::pvc_name(t.metadata.name.as_deref().unwrap_or_default(), set_name, o)
                                == *name
                        }) else {
                            continue;
                        };
                        claim
                            .metadata
                            .annotations
                            .get_or_insert_with(Default::default)
                            .insert(keys::OWNED_BY_ASTS.into(), set_name.to_owned());
                        if let (Some(spec), Some(ts)) = (claim.spec.as_mut(), t.spec.as_ref()) {
                            spec.resources = ts.resources.clone();
                        }
                    }
                }
                emit(ApiWrite::Replace {
                    target: Target::pvc(ns, name),
                    subresource: Subresource::Main,
                    object: to_value(&claim, "v1", "PersistentVolumeClaim"),
                });
            }
            ActionKind::DeletePvc { pvc: name } => {
                let uid = pvcs.get(name.as_str()).and_then(|p| p.metadata.uid.clone());
                emit(ApiWrite::Delete { target: Target::pvc(ns, name), uid });
            }
            ActionKind::ReleasePod | ActionKind::AdoptPod => {
                let Some(pod) = pod else { continue };
                let mut refs = pod.metadata.owner_references.clone().unwrap_or_default();
                refs.retain(|r| Some(r.uid.as_str()) != set.metadata.uid.as_deref());
                if matches!(a.kind, ActionKind::AdoptPod) {
                    refs.push(super::set_owner_ref(set));
                }
                emit(ApiWrite::MergePatch {
                    target: Target::pod(ns, pod_name),
                    subresource: Subresource::Main,
                    patch: json!({"metadata": {"ownerReferences": refs, "uid": pod.metadata.uid}}),
                });
            }
            ActionKind::CreatePod { .. } => {
                let rev = a.revision.as_deref().unwrap_or_default();
                let template = rev_by_name
                    .get(rev)
                    .and_then(|r| revision::template(r))
                    .unwrap_or_else(|| set.spec.template.clone());
                let o = i64::from(parse_ordinal(pod_name).1);
                let pod = super::new_pod(set, &template, o, rev, input.gates.pod_index_label, now);
                emit(ApiWrite::Create {
                    target: Target::pod(ns, pod_name),
                    object: to_value(&pod, "v1", "Pod"),
                });
            }
            ActionKind::DeletePod => {
                let uid = pod.and_then(|p| p.metadata.uid.clone());
                emit(ApiWrite::Delete { target: Target::pod(ns, pod_name), uid });
            }
            ActionKind::PatchPod { patch } => {
                let mut body = patch.to_merge_patch();
                if !patch.add_finalizers.is_empty()
                    && let Some(pod) = pod
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
                let Some(pod) = pod else { continue };
                let mut pod = pod.clone();
                set_pod_condition(&mut pod, condition, now);
                emit(ApiWrite::Replace {
                    target: Target::pod(ns, pod_name),
                    subresource: Subresource::Status,
                    object: to_value(&pod, "v1", "Pod"),
                });
            }
            ActionKind::UpdateInPlace { from_revision } => {
                let Some(pod) = pod else { continue };
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
                let mut marked = pod.clone();
                // ASTS-42: the status write is issued by the plan's own UpdatePodStatus action
                // (readiness gate present); here the condition is applied to the object the
                // replace starts from.
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
                let mut updated = inplace::apply_in_place(&marked, spec, now, grace, false);
                // The shared writer is CloneSet-shaped: a StatefulSet pod keeps its own label
                // set (no pod-template-hash) and enters Updating only when it had a state.
                let had_state =
                    pod.metadata.labels.as_ref().is_some_and(|l| l.contains_key(keys::LIFECYCLE_STATE));
                let had_hash =
                    pod.metadata.labels.as_ref().is_some_and(|l| l.contains_key(keys::POD_TEMPLATE_HASH));
                if let Some(l) = updated.metadata.labels.as_mut() {
                    if !had_hash {
                        l.remove(keys::POD_TEMPLATE_HASH);
                    }
                    if !had_state {
                        l.remove(keys::LIFECYCLE_STATE);
                    }
                }
                // After the plan's status write (readiness gate present) this replace follows
                // it (write.rs chaining rule); without one it is guarded by the pod's version.
                let gated = pod
                    .spec
                    .as_ref()
                    .and_then(|s| s.readiness_gates.as_deref())
                    .is_some_and(|g| g.iter().any(|g| g.condition_type == keys::INPLACE_UPDATE_READY));
                if gated {
                    updated.metadata.resource_version = None;
                }
                updated.status = None;
                emit(ApiWrite::Replace {
                    target: Target::pod(ns, pod_name),
                    subresource: Subresource::Main,
                    object: to_value(&updated, "v1", "Pod"),
                });
            }
            ActionKind::FinishGracePeriod | ActionKind::ApplyNextBatch => {
                let updated = pod.and_then(|p| {
                    if matches!(a.kind, ActionKind::FinishGracePeriod) {
                        inplace::finish_grace(p, now)
                    } else {
                        inplace::apply_next_batch(p, now, opts)
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
                let mut obj = set.clone();
                obj.status = Some(p.status.clone());
                emit(ApiWrite::Replace {
                    target: set_target(set),
                    subresource: Subresource::Status,
                    object: serde_json::to_value(&obj).unwrap_or_default(),
                });
            }
            // Never in a StatefulSet plan.
            _ => continue,
        }
    }
    out
}

fn event(a: &crate::plan::Action) -> Option<WorkloadEvent> {
    let pod = a.pod.as_deref().unwrap_or_default();
    let (reason, message) = match &a.kind {
        ActionKind::CreatePod { .. } => {
            ("SuccessfulCreate", format!("create Pod {pod} in StatefulSet successful"))
        }
        ActionKind::DeletePod => ("SuccessfulDelete", format!("delete Pod {pod} in StatefulSet successful")),
        ActionKind::CreatePvc { pvc } => {
            ("SuccessfulCreate", format!("create Claim {pvc} Pod {pod} in StatefulSet successful"))
        }
        ActionKind::UpdateInPlace { .. } => {
            ("SuccessfulUpdatePodInPlace", format!("successfully update pod {pod} in-place"))
        }
        _ => return None,
    };
    Some(WorkloadEvent { type_: "Normal".into(), reason: reason.into(), message })
}

/// The adapter's view of a plan: writes, held pods, events and the requeue.
pub fn outcome(input: &Input<'_>, p: &Plan) -> Outcome {
    let mut events: Vec<WorkloadEvent> = p.actions.iter().filter_map(event).collect();
    for c in &p.status.conditions {
        events.push(WorkloadEvent {
            type_: "Warning".into(),
            reason: c.type_.clone(),
            message: c.message.clone().unwrap_or_default(),
        });
    }
    Outcome {
        writes: writes(input, p),
        held: p
            .held
            .iter()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconciler::World;

    fn set() -> StatefulSet {
        let text = r#"{
          "metadata": {"name": "web", "namespace": "ns", "uid": "u1"},
          "spec": {"replicas": 2, "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}],
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"}}
        }"#;
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn asts_15_18_20_writes_create_pvcs_with_set_owner_then_pods() {
        let s = set();
        let e = crate::expectations::Expectations::default();
        let world = World::new(&s);
        let ctx = Context {
            now: jiff::Timestamp::UNIX_EPOCH,
            id_seed: 0,
            features: Default::default(),
            expectations: &e,
        };
        let out = StatefulSetReconciler::default().reconcile(&world, &ctx).unwrap();
        let kinds: Vec<(&str, &str)> =
            out.writes.iter().map(|w| (w.action.as_str(), w.write.target().name.as_str())).collect();
        assert_eq!(
            kinds[1..5],
            [
                ("CreatePvc", "data-web-0"),
                ("CreatePod", "web-0"),
                ("CreatePvc", "data-web-1"),
                ("CreatePod", "web-1")
            ]
        );
        let ApiWrite::Create { object, .. } = &out.writes[1].write else { panic!() };
        assert_eq!(object["metadata"]["ownerReferences"][0]["kind"], "StatefulSet", "whenDeleted: Delete");
        let ApiWrite::Create { object, .. } = &out.writes[2].write else { panic!() };
        assert_eq!(object["spec"]["hostname"], "web-0");
        assert_eq!(object["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"], "data-web-0");
        assert_eq!(
            object["metadata"]["labels"]["controller-revision-hash"],
            out.writes[0].write.target().name
        );
    }
}
