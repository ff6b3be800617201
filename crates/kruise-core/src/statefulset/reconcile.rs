//! Turning a StatefulSet [`Plan`] into concrete API writes: [`StatefulSetReconciler`]
//! implements [`crate::reconciler::Reconciler`] for the v1beta1 Advanced StatefulSet through
//! [`StatefulSetWrites`] ([`Materialise`]). New objects (pods from [`super::new_pod`], PVCs
//! from [`super::new_pvc`], revisions) are built whole, only for what a plan touches; existing
//! pods and claims are patched only where they change, guarded by what the plan read
//! (STYLE.md §8); the in-place spec is computed once per revision pair. An action that cannot
//! be built is an error naming it, never skipped.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kruise_api::apps::v1beta1::StatefulSet;
use kruise_api::keys;
use serde_json::json;

use super::{Input, Plan, parse_ordinal, plan, pvc, revision};
use crate::imagepulljob::predownload::{PREDOWNLOAD_RELATED, controlled_jobs};
use crate::inplace::{self, InPlaceSpec, SpecCache, SpecOptions};
use crate::plan::{Action, ActionKind, Reason, StatefulSetReason};
use crate::reconciler::{
    Context, Materialise, Outcome, PlannedWrite, ReconcileError, Reconciler, RelatedKind, WorkloadEvent,
    World, WriteError,
};
use crate::write::pod::{self, PodWrites, object as to_value};
use crate::write::{ApiWrite, Subresource, Target, json_patch};

/// The Advanced StatefulSet planner as adapters see it. Its gates ([`super::Gates`]) come from
/// the context's [`crate::features::Features`], like every other gate.
#[derive(Clone, Copy, Debug, Default)]
pub struct StatefulSetReconciler;

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
            gates: super::Gates::from(&ctx.features),
            expectations: ctx.expectations,
        };
        let mut p = plan(&input).map_err(|e| ReconcileError(Box::new(e)))?;
        // IPJ-40..IPJ-42: pre-download jobs, after the plan's own actions (gate off: none).
        let jobs = if ctx.features.pre_download_image_for_in_place_update {
            controlled_jobs(world.related, world.workload.metadata.uid.as_deref())?
        } else {
            Vec::new()
        };
        p.actions.extend(super::predownload::actions(&input, &jobs));
        Ok(outcome_with_jobs(&input, &p, &jobs)?)
    }

    fn related_kinds(&self) -> &'static [RelatedKind] {
        PREDOWNLOAD_RELATED
    }
}

fn set_target(set: &StatefulSet) -> Target {
    Target::of("apps.kruise.io/v1beta1", "StatefulSet", &set.metadata)
}

/// Turns a StatefulSet plan's actions into API writes ([`Materialise`]). New pods, claims and
/// revisions are built whole; existing pods are patched through [`PodWrites`] (only what
/// changes, chained, guarded); claims are patched only where they change, after a `test` of
/// their uid (and of their old ownerReferences list when it changes).
pub struct StatefulSetWrites<'i, 'a> {
    input: &'i Input<'a>,
    plan: &'i Plan,
    ns: &'i str,
    set_name: &'i str,
    rev_by_name: BTreeMap<&'i str, &'i ControllerRevision>,
    pods: BTreeMap<&'i str, &'i Pod>,
    pvcs: BTreeMap<&'i str, &'i PersistentVolumeClaim>,
    retention: (bool, bool),
    specs: SpecCache,
    pods_written: PodWrites,
    /// The ImagePullJobs the set controls (pre-download deletes carry their uid).
    jobs: &'i [kruise_api::apps::v1beta1::ImagePullJob],
}

impl std::fmt::Debug for StatefulSetWrites<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatefulSetWrites").field("statefulset", &self.set_name).finish_non_exhaustive()
    }
}

impl<'i, 'a> StatefulSetWrites<'i, 'a> {
    /// A writer for plan `p` of `input`, the revisions resolved (`revs`, from
    /// [`revision::resolve`]).
    pub fn new(input: &'i Input<'a>, revs: &'i crate::revision::Revisions, p: &'i Plan) -> Self {
        let set = input.statefulset;
        let ns = set.metadata.namespace.as_deref().unwrap_or_default();
        Self {
            input,
            plan: p,
            ns,
            set_name: set.metadata.name.as_deref().unwrap_or_default(),
            rev_by_name: revs.sorted.iter().filter_map(|r| Some((r.metadata.name.as_deref()?, r))).collect(),
            pods: input.pods.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect(),
            pvcs: input.pvcs.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect(),
            retention: pvc::policy(set, input.gates.stateful_set_auto_delete_pvc),
            specs: SpecCache::default(),
            pods_written: PodWrites::new(ns),
            jobs: &[],
        }
    }

    /// The ImagePullJobs the set controls, for the writes of its pre-download actions
    /// (IPJ-40).
    pub fn with_image_pull_jobs(mut self, jobs: &'i [kruise_api::apps::v1beta1::ImagePullJob]) -> Self {
        self.jobs = jobs;
        self
    }

    /// The claim template that yields claim `name` for the pod of `a`.
    fn claim_template(&self, a: &Action, name: &str) -> Result<&'i PersistentVolumeClaim, WriteError> {
        let set = self.input.statefulset;
        let o = i64::from(parse_ordinal(a.pod.as_deref().unwrap_or_default()).1);
        set.spec
            .volume_claim_templates
            .iter()
            .find(|t| pvc::pvc_name(t.metadata.name.as_deref().unwrap_or_default(), self.set_name, o) == name)
            .ok_or_else(|| WriteError::new(a, format!("no volumeClaimTemplate yields PVC {name}")))
    }

    fn in_place_spec(&mut self, from: &str, to: &str) -> Option<InPlaceSpec> {
        let opts = SpecOptions::from_features(&self.input.features);
        self.specs.get(&self.rev_by_name, from, to, opts)
    }
}

impl Materialise for StatefulSetWrites<'_, '_> {
    fn writes(&mut self, a: &Action, out: &mut Vec<ApiWrite>) -> Result<(), WriteError> {
        let set = self.input.statefulset;
        let ns = self.ns;
        let now = self.input.now;
        let pod_name = a.pod.as_deref().unwrap_or_default();
        let cached = self.pods.get(pod_name).copied();
        match &a.kind {
            ActionKind::CreateRevision { .. }
            | ActionKind::UpdateRevision { .. }
            | ActionKind::DeleteRevision => {
                if let Some(w) = pod::revision_write(a, ns, &self.rev_by_name) {
                    out.push(w?);
                }
            }
            ActionKind::CreatePvc { pvc: name } => {
                let o = i64::from(parse_ordinal(pod_name).1);
                let t = self.claim_template(a, name)?;
                let mut claim = pvc::new_pvc(set, t, o);
                // ASTS-20: the set reference can be set at creation; a pod reference needs
                // the pod's uid and is added by a later pass.
                let (want_set, _) = pvc::required_refs(self.retention, false);
                if want_set {
                    let placeholder = Pod::default();
                    claim.metadata.owner_references =
                        Some(pvc::fixed_owner_refs(&claim, set, &placeholder, self.retention, false));
                }
                out.push(ApiWrite::Create {
                    target: Target::pvc(ns, name),
                    object: to_value(&claim, "v1", "PersistentVolumeClaim"),
                });
            }
            ActionKind::UpdatePvc { pvc: name } => {
                let claim = self
                    .pvcs
                    .get(name.as_str())
                    .copied()
                    .ok_or_else(|| WriteError::new(a, format!("PVC {name} is not in the input")))?;
                let uid = claim.metadata.uid.as_deref();
                match &a.reason {
                    Reason::StatefulSet(StatefulSetReason::PvcRetention { scaled_down }) => {
                        // ASTS-20: the owner references the retention policy asks for, set only
                        // if the list is still what the plan read.
                        let pod = self.pods_written.current(a, cached)?;
                        let refs = pvc::fixed_owner_refs(claim, set, &pod, self.retention, *scaled_down);
                        let old = claim.metadata.owner_references.as_deref();
                        out.push(pod::owner_refs_patch(Target::pvc(ns, name), uid, old, &refs));
                    }
                    _ => {
                        // ASTS-47: resize to the template's resources; only what changes.
                        let t = self.claim_template(a, name)?;
                        let mut after = claim.clone();
                        after
                            .metadata
                            .annotations
                            .get_or_insert_with(Default::default)
                            .insert(keys::OWNED_BY_ASTS.into(), self.set_name.to_owned());
                        if let (Some(spec), Some(ts)) = (after.spec.as_mut(), t.spec.as_ref()) {
                            spec.resources = ts.resources.clone();
                        }
                        let mut ops = pod::uid_test(uid);
                        let (mut before, mut after) = (json!(claim), json!(after));
                        for v in [&mut before, &mut after] {
                            if let serde_json::Value::Object(m) = v {
                                m.remove("status");
                            }
                        }
                        json_patch::diff(&before, &after, &mut ops);
                        out.push(ApiWrite::JsonPatch {
                            target: Target::pvc(ns, name),
                            subresource: Subresource::Main,
                            patch: serde_json::Value::Array(ops),
                        });
                    }
                }
            }
            ActionKind::DeletePvc { pvc: name } => {
                let uid = self.pvcs.get(name.as_str()).and_then(|p| p.metadata.uid.clone());
                out.push(ApiWrite::Delete { target: Target::pvc(ns, name), uid });
            }
            ActionKind::ReleasePod | ActionKind::AdoptPod => {
                let owner = matches!(a.kind, ActionKind::AdoptPod).then(|| super::set_owner_ref(set));
                out.push(self.pods_written.set_owner(a, cached, set.metadata.uid.as_deref(), owner)?);
            }
            ActionKind::CreatePod { .. } => {
                let rev = a.revision.as_deref().unwrap_or_default();
                let template = self
                    .rev_by_name
                    .get(rev)
                    .and_then(|r| revision::template(r))
                    .unwrap_or_else(|| set.spec.template.clone());
                let o = i64::from(parse_ordinal(pod_name).1);
                let pod = super::new_pod(set, &template, o, rev, self.input.gates.pod_index_label, now);
                out.push(ApiWrite::Create {
                    target: Target::pod(ns, pod_name),
                    object: to_value(&pod, "v1", "Pod"),
                });
            }
            ActionKind::DeletePod => {
                let uid = cached.and_then(|p| p.metadata.uid.clone());
                out.push(ApiWrite::Delete { target: Target::pod(ns, pod_name), uid });
            }
            ActionKind::PatchPod { patch } => out.push(self.pods_written.patch_meta(a, cached, patch)?),
            ActionKind::UpdatePodStatus { condition } => {
                out.push(self.pods_written.set_condition(a, cached, condition, now)?);
            }
            ActionKind::UpdateInPlace { from_revision } => {
                let to = a.revision.clone().unwrap_or_default();
                let spec = self.in_place_spec(from_revision, &to).ok_or_else(|| {
                    WriteError::new(a, format!("no in-place update from {from_revision} to {to}"))
                })?;
                let grace = set
                    .spec
                    .update_strategy
                    .rolling_update
                    .as_ref()
                    .and_then(|r| r.in_place_update_strategy.as_ref())
                    .map_or(0, |s| s.grace_period_seconds);
                // ASTS-42: the status write is issued by the plan's own UpdatePodStatus action
                // (readiness gate present), before this one: the update patch starts from the
                // pod as that write leaves it.
                self.pods_written.in_place(
                    a,
                    cached,
                    false,
                    now,
                    |marked| {
                        let mut updated = inplace::apply_in_place(marked, &spec, now, grace, false);
                        // The shared writer is CloneSet-shaped: a StatefulSet pod keeps its own
                        // label set (no pod-template-hash) and enters Updating only when it had
                        // a state.
                        let read = cached.unwrap_or(marked);
                        let has = |k: &str| read.metadata.labels.as_ref().is_some_and(|l| l.contains_key(k));
                        let (had_state, had_hash) =
                            (has(keys::LIFECYCLE_STATE), has(keys::POD_TEMPLATE_HASH));
                        if let Some(l) = updated.metadata.labels.as_mut() {
                            if !had_hash {
                                l.remove(keys::POD_TEMPLATE_HASH);
                            }
                            if !had_state {
                                l.remove(keys::LIFECYCLE_STATE);
                            }
                        }
                        updated
                    },
                    out,
                )?;
            }
            ActionKind::FinishGracePeriod | ActionKind::ApplyNextBatch => {
                let opts = SpecOptions::from_features(&self.input.features);
                let finish = matches!(a.kind, ActionKind::FinishGracePeriod);
                out.push(self.pods_written.step(a, cached, |p| {
                    if finish {
                        inplace::finish_grace(p, now)
                    } else {
                        inplace::apply_next_batch(p, now, opts)
                    }
                })?);
            }
            ActionKind::UpdateStatus => {
                let mut obj = set.clone();
                obj.status = Some(self.plan.status.clone());
                out.push(ApiWrite::Replace {
                    target: set_target(set),
                    subresource: Subresource::Status,
                    object: serde_json::to_value(&obj).unwrap_or_default(),
                });
            }
            ActionKind::ImagePullJob(_) => match crate::imagepulljob::predownload::write(a, ns, self.jobs) {
                Some(w) => out.push(w),
                None => return Err(WriteError::new(a, "not an action of a StatefulSet plan")),
            },
            _ => return Err(WriteError::new(a, "not an action of a StatefulSet plan")),
        }
        Ok(())
    }

    fn action_event(&self, a: &Action) -> Option<WorkloadEvent> {
        event(a)
    }
}

/// Turns each action of `p` into its API write(s), in order.
pub fn writes(input: &Input<'_>, p: &Plan) -> Result<Vec<PlannedWrite>, WriteError> {
    Ok(outcome(input, p)?.writes)
}

fn event(a: &Action) -> Option<WorkloadEvent> {
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

/// The adapter's view of a plan: writes, held pods, events and the requeue; a Warning event
/// per status condition. Fails, naming the action, if an action cannot be turned into writes.
pub fn outcome(input: &Input<'_>, p: &Plan) -> Result<Outcome, WriteError> {
    outcome_with_jobs(input, p, &[])
}

/// [`outcome`] for a plan that may hold pre-download actions: `jobs` are the ImagePullJobs
/// the set controls (their deletes carry the uid).
pub fn outcome_with_jobs(
    input: &Input<'_>,
    p: &Plan,
    jobs: &[kruise_api::apps::v1beta1::ImagePullJob],
) -> Result<Outcome, WriteError> {
    let revs = revision::resolve(input.statefulset, input.revisions);
    let mut out =
        Outcome::from_plan(p, &mut StatefulSetWrites::new(input, &revs, p).with_image_pull_jobs(jobs))?;
    for c in &p.status.conditions {
        out.events.push(WorkloadEvent {
            type_: "Warning".into(),
            reason: c.type_.clone(),
            message: c.message.clone().unwrap_or_default(),
        });
    }
    Ok(out)
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
        let out = StatefulSetReconciler.reconcile(&world, &ctx).unwrap();
        let kinds: Vec<(&str, &str)> =
            out.writes.iter().map(|w| (w.name(), w.write.target().name.as_str())).collect();
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

    fn claim(owner_refs: serde_json::Value) -> PersistentVolumeClaim {
        serde_json::from_value(json!({
            "metadata": {"name": "data-web-0", "namespace": "ns", "uid": "pvc-uid", "resourceVersion": "3",
                "ownerReferences": owner_refs},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        }))
        .unwrap()
    }

    fn run(set: &StatefulSet, pods: &[Pod], pvcs: &[PersistentVolumeClaim], a: Action) -> Vec<PlannedWrite> {
        let e = crate::expectations::Expectations::default();
        let input = Input {
            statefulset: set,
            pods: pods.into(),
            pvcs,
            revisions: &[],
            storage_classes: &[],
            now: jiff::Timestamp::UNIX_EPOCH,
            features: Default::default(),
            gates: Default::default(),
            expectations: &e,
        };
        let mut p = Plan::new(Default::default());
        p.actions.push(a);
        writes(&input, &p).unwrap()
    }

    /// Issue 12 item 6 for StatefulSets (ASTS-20): the claim's owner references are set by a
    /// JSON patch that tests the claim's uid and the old list: a reference another controller
    /// added meanwhile is not dropped (the write fails and is planned again).
    #[test]
    fn asts_20_pvc_owner_references_are_guarded() {
        let s = set();
        let pod: Pod = serde_json::from_value(
            json!({"metadata": {"name": "web-0", "namespace": "ns", "uid": "pod-uid"}}),
        )
        .unwrap();
        let c = claim(json!([]));
        let a = Action::new(
            ActionKind::UpdatePvc { pvc: "data-web-0".into() },
            Some("web-0"),
            None,
            Reason::StatefulSet(StatefulSetReason::PvcRetention { scaled_down: false }),
        );
        let out = run(&s, &[pod], std::slice::from_ref(&c), a);
        let ApiWrite::JsonPatch { patch, .. } = &out[0].write else { panic!("{:?}", out[0].write) };
        let mut server = serde_json::to_value(&c).unwrap();
        json_patch::apply(&mut server, patch).unwrap();
        assert_eq!(server["metadata"]["ownerReferences"][0]["uid"], "u1", "whenDeleted: Delete");
        let mut theirs = serde_json::to_value(&c).unwrap();
        theirs["metadata"]["ownerReferences"] =
            json!([{"apiVersion": "v1", "kind": "X", "name": "x", "uid": "x"}]);
        assert!(json_patch::apply(&mut theirs, patch).unwrap_err().test_failed);
        let mut namesake = serde_json::to_value(&c).unwrap();
        namesake["metadata"]["uid"] = json!("other");
        assert!(json_patch::apply(&mut namesake, patch).unwrap_err().test_failed);
    }

    /// Issue 12 item 7 for StatefulSets (ASTS-47): a claim resize patches only the requests
    /// and the ownership annotation; fields the typed claim does not know survive.
    #[test]
    fn asts_47_pvc_resize_patches_only_what_changes() {
        let mut s = set();
        s.spec.volume_claim_templates[0].spec.as_mut().unwrap().resources =
            serde_json::from_value(json!({"requests": {"storage": "2Gi"}})).unwrap();
        let c = claim(json!([]));
        let a = Action::new(
            ActionKind::UpdatePvc { pvc: "data-web-0".into() },
            Some("web-0"),
            None,
            Reason::Update { update_num: 0, recreate: false },
        );
        let out = run(&s, &[], std::slice::from_ref(&c), a);
        let ApiWrite::JsonPatch { patch, .. } = &out[0].write else { panic!("{:?}", out[0].write) };
        let text = patch.to_string();
        assert!(!text.contains("accessModes") && !text.contains("resourceVersion"), "{text}");
        let mut server = serde_json::to_value(&c).unwrap();
        server["spec"]["futureField"] = json!(true);
        json_patch::apply(&mut server, patch).unwrap();
        assert_eq!(server["spec"]["resources"]["requests"]["storage"], "2Gi");
        assert_eq!(server["spec"]["futureField"], true);
        assert_eq!(server["metadata"]["annotations"][keys::OWNED_BY_ASTS], "web");
    }
}
