//! Turning a [`Plan`] into concrete API writes: [`CloneSetReconciler`] implements
//! [`crate::reconciler::Reconciler`] for the v1beta1 CloneSet through [`CloneSetWrites`]
//! ([`crate::reconciler::Materialise`]). New objects (pods from [`super::new_pod`], PVCs,
//! revisions) are built whole; existing pods, PVCs and the CloneSet's `podsToDelete` are
//! patched, only where they change and guarded by what the plan read (STYLE.md §8); the
//! in-place spec is computed once per revision pair. An action that cannot be built is an
//! error naming it, never skipped.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use kruise_api::apps::v1beta1::{CloneSet, CloneSetStatus};
use kruise_api::keys;
use serde_json::{Value, json};

use super::inplace::{self, InPlaceSpec, SpecOptions};
use super::revision::{self, Revisions};
use super::{Action, ActionKind, Input, Plan, PodConditionUpdate, Reason, plan};
use crate::reconciler::{
    Context, Materialise, Outcome, PlannedWrite, ReconcileError, Reconciler, WorkloadEvent, World, WriteError,
};
use crate::write::{ApiWrite, Subresource, Target, json_patch};

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
        Ok(outcome(&input, &p)?)
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

/// The part of a pod a write to `sub` changes, as JSON: `{"status": ..}` for the status
/// subresource, everything else for the pod itself.
fn pod_part(pod: &Pod, sub: Subresource) -> Value {
    let mut v = serde_json::to_value(pod).unwrap_or_default();
    if let Value::Object(m) = &mut v {
        if sub == Subresource::Status {
            m.retain(|k, _| k == "status");
        } else {
            m.remove("status");
        }
    }
    v
}

/// Turns a CloneSet plan's actions into API writes ([`Materialise`]). Writes to pods are
/// JSON patches of only what changes (STYLE.md §8): each is computed against the pod as the
/// plan's earlier writes leave it, so two writes to one pod in one plan (a refresh's
/// condition, then an in-place update, CS-70/CS-80) chain instead of conflicting, and no
/// write replaces a pod from a typed copy (fields the types do not know survive). Lists
/// (finalizers, ownerReferences, `podsToDelete`) are replaced only after a `test` that they
/// are still what the plan read.
pub struct CloneSetWrites<'i, 'a> {
    input: &'i Input<'a>,
    ns: &'i str,
    cs_name: &'i str,
    rev_by_name: BTreeMap<&'i str, &'i ControllerRevision>,
    by_name: BTreeMap<&'i str, &'i Pod>,
    pvcs: BTreeMap<&'i str, &'i k8s_openapi::api::core::v1::PersistentVolumeClaim>,
    templates: BTreeMap<String, k8s_openapi::api::core::v1::PodTemplateSpec>,
    specs: BTreeMap<(String, String), Option<InPlaceSpec>>,
    /// Pods as this plan's earlier writes leave them.
    written: BTreeMap<String, Pod>,
    /// The status the plan computed (CS-82..CS-86).
    status: &'i CloneSetStatus,
}

impl std::fmt::Debug for CloneSetWrites<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloneSetWrites").field("cloneset", &self.cs_name).finish_non_exhaustive()
    }
}

impl<'i, 'a> CloneSetWrites<'i, 'a> {
    /// A writer for a plan of `input` with status `status`, the revisions resolved (`revs`,
    /// from [`revision::resolve`]).
    pub fn new(input: &'i Input<'a>, revs: &'i Revisions, status: &'i CloneSetStatus) -> Self {
        let cs = input.cloneset;
        // A table answers by name itself; a slice is indexed once, O(n log n).
        let by_name = match input.pods {
            super::Pods::Slice(s) => {
                s.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect()
            }
            super::Pods::Table(_) => BTreeMap::new(),
        };
        Self {
            input,
            ns: cs.metadata.namespace.as_deref().unwrap_or_default(),
            cs_name: cs.metadata.name.as_deref().unwrap_or_default(),
            rev_by_name: revs.sorted.iter().filter_map(|r| Some((r.metadata.name.as_deref()?, r))).collect(),
            by_name,
            pvcs: input.pvcs.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect(),
            templates: BTreeMap::new(),
            specs: BTreeMap::new(),
            written: BTreeMap::new(),
            status,
        }
    }

    fn cached(&self, name: &str) -> Option<&'i Pod> {
        match self.input.pods {
            super::Pods::Slice(_) => self.by_name.get(name).copied(),
            super::Pods::Table(t) => t.get(name),
        }
    }

    /// The pod as the plan's earlier writes leave it (the cached pod before any).
    fn current(&self, a: &Action) -> Result<Pod, WriteError> {
        let name = a.pod.as_deref().ok_or_else(|| WriteError::new(a, "the action names no pod"))?;
        match self.written.get(name) {
            Some(p) => Ok(p.clone()),
            None => {
                self.cached(name).cloned().ok_or_else(|| WriteError::new(a, "the pod is not in the input"))
            }
        }
    }

    /// A JSON patch of `sub` turning the pod from `before` into `after`; `after` becomes the
    /// pod the next write of this plan starts from.
    fn pod_patch(
        &mut self,
        a: &Action,
        sub: Subresource,
        before: &Pod,
        after: Pod,
        extra: Vec<Value>,
    ) -> ApiWrite {
        let name = a.pod.clone().unwrap_or_default();
        let mut ops = Vec::new();
        json_patch::diff(&pod_part(before, sub), &pod_part(&after, sub), &mut ops);
        ops.extend(extra);
        self.written.insert(name.clone(), after);
        ApiWrite::JsonPatch {
            target: Target::pod(self.ns, &name),
            subresource: sub,
            patch: Value::Array(ops),
        }
    }

    /// The `test` that the pod is still the one the plan read (same uid), if it has one.
    fn uid_test(pod: &Pod) -> Vec<Value> {
        pod.metadata.uid.iter().map(|u| json_patch::test("/metadata/uid", json!(u))).collect()
    }

    fn in_place_spec(&mut self, from: &str, to: &str) -> Option<InPlaceSpec> {
        let opts = SpecOptions {
            env_from_metadata: self.input.features.in_place_update_env_from_metadata,
            vertical_scaling: self.input.features.in_place_workload_vertical_scaling,
        };
        let rev_by_name = &self.rev_by_name;
        self.specs
            .entry((from.to_owned(), to.to_owned()))
            .or_insert_with(|| {
                let (f, t) = (rev_by_name.get(from)?, rev_by_name.get(to)?);
                inplace::in_place_spec(&f.data.as_ref()?.0, &t.data.as_ref()?.0, to, opts)
            })
            .clone()
    }
}

impl Materialise for CloneSetWrites<'_, '_> {
    fn writes(&mut self, a: &Action, out: &mut Vec<ApiWrite>) -> Result<(), WriteError> {
        let cs = self.input.cloneset;
        let (ns, cs_name) = (self.ns, self.cs_name);
        let now = self.input.now;
        let short = self.input.features.clone_set_short_hash;
        let pod_name = a.pod.as_deref().unwrap_or_default();
        match &a.kind {
            ActionKind::StatefulSet(_)
            | ActionKind::DaemonSet(_)
            | ActionKind::SidecarSet(_)
            | ActionKind::BroadcastJob(_)
            | ActionKind::ImagePullJob(_)
            | ActionKind::Rollout(_) => return Err(WriteError::new(a, "not an action of a CloneSet plan")),
            ActionKind::CreateRevision { .. } | ActionKind::UpdateRevision { .. } => {
                let name = a.revision.as_deref().unwrap_or_default();
                let r = self
                    .rev_by_name
                    .get(name)
                    .ok_or_else(|| WriteError::new(a, "the revision is not among the resolved revisions"))?;
                let object = to_value(*r, "apps/v1", "ControllerRevision");
                let target = Target::revision(ns, name);
                out.push(if matches!(a.kind, ActionKind::CreateRevision { .. }) {
                    ApiWrite::Create { target, object }
                } else {
                    ApiWrite::Replace { target, subresource: Subresource::Main, object }
                });
            }
            ActionKind::DeleteRevision => {
                let name = a.revision.as_deref().unwrap_or_default();
                let uid = self.rev_by_name.get(name).and_then(|r| r.metadata.uid.clone());
                out.push(ApiWrite::Delete { target: Target::revision(ns, name), uid });
            }
            ActionKind::CreatePvc { pvc } => {
                let id = pod_name.strip_prefix(cs_name).and_then(|s| s.strip_prefix('-')).unwrap_or_default();
                let vct = cs
                    .spec
                    .volume_claim_templates
                    .iter()
                    .find(|v| &super::pvc_name(v, cs_name, id) == pvc)
                    .ok_or_else(|| WriteError::new(a, format!("no volumeClaimTemplate yields PVC {pvc}")))?;
                let object = to_value(&super::new_pvc(cs, vct, id), "v1", "PersistentVolumeClaim");
                out.push(ApiWrite::Create { target: Target::pvc(ns, pvc), object });
            }
            ActionKind::DeletePvc { pvc } => {
                let uid = self.pvcs.get(pvc.as_str()).and_then(|p| p.metadata.uid.clone());
                out.push(ApiWrite::Delete { target: Target::pvc(ns, pvc), uid });
            }
            ActionKind::UpdatePvc { pvc } => {
                let claim = self
                    .pvcs
                    .get(pvc.as_str())
                    .ok_or_else(|| WriteError::new(a, format!("PVC {pvc} is not in the input")))?;
                let owner = self.current(a)?;
                let old = claim.metadata.owner_references.clone();
                let mut refs = old.clone().unwrap_or_default();
                refs.retain(|r| Some(r.uid.as_str()) != cs.metadata.uid.as_deref());
                refs.push(OwnerReference {
                    api_version: "v1".into(),
                    kind: "Pod".into(),
                    name: pod_name.to_owned(),
                    uid: owner.metadata.uid.clone().unwrap_or_default(),
                    controller: Some(true),
                    block_owner_deletion: None,
                });
                let mut ops: Vec<Value> =
                    claim.metadata.uid.iter().map(|u| json_patch::test("/metadata/uid", json!(u))).collect();
                ops.extend(json_patch::guarded_list(
                    "/metadata/ownerReferences",
                    old.map(|o| json!(o)).as_ref(),
                    json!(refs),
                ));
                out.push(ApiWrite::JsonPatch {
                    target: Target::pvc(ns, pvc),
                    subresource: Subresource::Main,
                    patch: Value::Array(ops),
                });
            }
            ActionKind::ReleasePod | ActionKind::AdoptPod => {
                let pod = self.current(a)?;
                let old = pod.metadata.owner_references.clone();
                let mut refs: Vec<OwnerReference> = old.clone().unwrap_or_default();
                refs.retain(|r| Some(r.uid.as_str()) != cs.metadata.uid.as_deref());
                if matches!(a.kind, ActionKind::AdoptPod) {
                    refs.push(super::owner_ref(cs));
                }
                let mut ops = Self::uid_test(&pod);
                ops.extend(json_patch::guarded_list(
                    "/metadata/ownerReferences",
                    old.map(|o| json!(o)).as_ref(),
                    json!(refs),
                ));
                let mut after = pod;
                after.metadata.owner_references = Some(refs);
                self.written.insert(pod_name.to_owned(), after);
                out.push(ApiWrite::JsonPatch {
                    target: Target::pod(ns, pod_name),
                    subresource: Subresource::Main,
                    patch: Value::Array(ops),
                });
            }
            ActionKind::CreatePod { instance_id } => {
                let rev = a.revision.as_deref().unwrap_or_default();
                let rev_by_name = &self.rev_by_name;
                let template = self.templates.entry(rev.to_owned()).or_insert_with(|| {
                    rev_by_name
                        .get(rev)
                        .and_then(|r| revision::revision_template(r))
                        .unwrap_or_else(|| cs.spec.template.clone())
                });
                let pod = super::new_pod(cs, template, rev, instance_id, now, short);
                out.push(ApiWrite::Create {
                    target: Target::pod(ns, pod_name),
                    object: to_value(&pod, "v1", "Pod"),
                });
            }
            ActionKind::DeletePod => {
                let uid = self.cached(pod_name).and_then(|p| p.metadata.uid.clone());
                out.push(ApiWrite::Delete { target: Target::pod(ns, pod_name), uid });
            }
            ActionKind::PatchPod { patch } if patch.add_finalizers.is_empty() => {
                // Labels and annotations merge key by key: nothing of anyone else's is lost.
                if let Some(after) = self.written.get_mut(pod_name) {
                    apply_pod_patch(after, patch);
                }
                out.push(ApiWrite::MergePatch {
                    target: Target::pod(ns, pod_name),
                    subresource: Subresource::Main,
                    patch: patch.to_merge_patch(),
                });
            }
            ActionKind::PatchPod { patch } => {
                // Finalizers are a list: replaced only if still what the plan read (CS-64).
                let before = self.current(a)?;
                let old = before.metadata.finalizers.clone();
                let mut after = before.clone();
                apply_pod_patch(&mut after, patch);
                let fins = after.metadata.finalizers.clone().unwrap_or_default();
                let mut labels_only = after.clone();
                labels_only.metadata.finalizers = old.clone();
                let mut ops = Vec::new();
                json_patch::diff(
                    &pod_part(&before, Subresource::Main),
                    &pod_part(&labels_only, Subresource::Main),
                    &mut ops,
                );
                ops.extend(json_patch::guarded_list(
                    "/metadata/finalizers",
                    old.map(|o| json!(o)).as_ref(),
                    json!(fins),
                ));
                self.written.insert(pod_name.to_owned(), after);
                out.push(ApiWrite::JsonPatch {
                    target: Target::pod(ns, pod_name),
                    subresource: Subresource::Main,
                    patch: Value::Array(ops),
                });
            }
            ActionKind::UpdatePodStatus { condition } => {
                let before = self.current(a)?;
                let mut after = before.clone();
                set_pod_condition(&mut after, condition, now);
                out.push(self.pod_patch(a, Subresource::Status, &before, after, Vec::new()));
            }
            ActionKind::UpdateInPlace { from_revision } => {
                let before = self.current(a)?;
                let to = a.revision.clone().unwrap_or_default();
                let spec = self.in_place_spec(from_revision, &to).ok_or_else(|| {
                    WriteError::new(a, format!("no in-place update from {from_revision} to {to}"))
                })?;
                let grace = cs
                    .spec
                    .update_strategy
                    .rolling_update
                    .as_ref()
                    .and_then(|r| r.in_place_update_strategy.as_ref())
                    .map_or(0, |s| s.grace_period_seconds);
                let mut marked = before.clone();
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
                out.push(self.pod_patch(a, Subresource::Status, &before, marked.clone(), Vec::new()));
                let updated = inplace::apply_in_place(&marked, &spec, now, grace, short);
                out.push(self.pod_patch(a, Subresource::Main, &marked, updated, Vec::new()));
            }
            ActionKind::FinishGracePeriod | ActionKind::ApplyNextBatch => {
                let before = self.current(a)?;
                let updated = if matches!(a.kind, ActionKind::FinishGracePeriod) {
                    inplace::finish_grace(&before, now)
                } else {
                    inplace::apply_next_batch(&before, now)
                };
                let updated =
                    updated.ok_or_else(|| WriteError::new(a, "the pod has no pending in-place step"))?;
                out.push(self.pod_patch(a, Subresource::Main, &before, updated, Vec::new()));
            }
            ActionKind::UpdateStatus => {
                let mut obj = cs.clone();
                obj.status = Some(self.status.clone());
                out.push(ApiWrite::Replace {
                    target: cs_target(cs),
                    subresource: Subresource::Status,
                    object: serde_json::to_value(&obj).unwrap_or_default(),
                });
            }
            ActionKind::UpdateSpec { pods_to_delete } => {
                // podsToDelete is the user's list: replaced only if nobody changed it (CS-55).
                let old = json!(cs.spec.scale_strategy.pods_to_delete);
                out.push(ApiWrite::JsonPatch {
                    target: cs_target(cs),
                    subresource: Subresource::Main,
                    patch: Value::Array(json_patch::guarded_list(
                        "/spec/scaleStrategy/podsToDelete",
                        Some(&old),
                        json!(pods_to_delete),
                    )),
                });
            }
        }
        Ok(())
    }

    fn action_event(&self, a: &Action) -> Option<WorkloadEvent> {
        event(a)
    }

    fn plan_event(&self, r: &Reason) -> Option<WorkloadEvent> {
        match r {
            Reason::ScaleUpLimited { limit, .. } => Some(WorkloadEvent {
                type_: "Warning".into(),
                reason: "ScaleUpLimited".into(),
                message: format!(
                    "scaleUp is limited because of scaleStrategy.maxUnavailable, limit: {limit}"
                ),
            }),
            _ => None,
        }
    }
}

/// Applies a label/annotation/finalizer patch to a pod as the API server would.
fn apply_pod_patch(pod: &mut Pod, patch: &super::PodPatch) {
    let set = |m: &mut Option<BTreeMap<String, String>>, changes: &BTreeMap<String, Option<String>>| {
        if changes.is_empty() {
            return;
        }
        let m = m.get_or_insert_with(BTreeMap::new);
        for (k, v) in changes {
            match v {
                Some(v) => m.insert(k.clone(), v.clone()),
                None => m.remove(k),
            };
        }
    };
    set(&mut pod.metadata.labels, &patch.labels);
    set(&mut pod.metadata.annotations, &patch.annotations);
    if !patch.add_finalizers.is_empty() {
        let fins = pod.metadata.finalizers.get_or_insert_with(Vec::new);
        for f in &patch.add_finalizers {
            if !fins.contains(f) {
                fins.push(f.clone());
            }
        }
    }
}

/// Turns each action of `p` into its API write(s), in order.
pub fn writes(input: &Input<'_>, p: &Plan) -> Result<Vec<PlannedWrite>, WriteError> {
    Ok(outcome(input, p)?.writes)
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

/// The adapter's view of a plan: writes, held pods, events and the requeue. Fails, naming
/// the action, if an action cannot be turned into writes.
pub fn outcome(input: &Input<'_>, p: &Plan) -> Result<Outcome, WriteError> {
    let revs: Revisions = revision::resolve(input.cloneset, input.revisions);
    Outcome::from_plan(p, &mut CloneSetWrites::new(input, &revs, &p.status))
}
