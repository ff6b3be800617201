//! Writes to revisions, existing pods and claims, the one way every pod-owning workload
//! builds them (STYLE.md §8). [`revision_write`] serves revision actions. [`PodWrites`] turns
//! a plan's pod actions into JSON patches of only what changes, each computed on the pod as
//! the plan's earlier writes leave it (so two writes to one pod in one plan chain instead of
//! conflicting, issue 12 item 8), guarded by `test` operations on what the plan read: the
//! pod's uid, the old value of each changed label, annotation and image, and the whole old
//! list for finalizers and ownerReferences (issue 12 items 6 and 7). No write replaces a pod
//! from a typed copy, so fields the types do not know survive.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use kruise_api::keys;
use serde_json::{Value, json};

use super::{ApiWrite, Subresource, Target, json_patch};
use crate::plan::{Action, ActionKind, PodConditionUpdate, PodPatch};
use crate::reconciler::WriteError;

/// `v` as a JSON object with `apiVersion` and `kind` set, the body of a create or replace.
pub fn object<T: serde::Serialize>(v: &T, api_version: &str, kind: &str) -> Value {
    let mut v = serde_json::to_value(v).unwrap_or_default();
    if let Value::Object(m) = &mut v {
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

/// The write of a revision action whose revision object the planner resolved (by name in
/// `revisions`): `CreateRevision` creates it, `UpdateRevision` replaces it (guarded by its
/// resourceVersion), `DeleteRevision` deletes it (uid precondition). `None` for other actions.
pub fn revision_write(
    a: &Action,
    ns: &str,
    revisions: &BTreeMap<&str, &ControllerRevision>,
) -> Option<Result<ApiWrite, WriteError>> {
    let name = a.revision.as_deref().unwrap_or_default();
    let target = Target::revision(ns, name);
    let found = || {
        revisions
            .get(name)
            .copied()
            .ok_or_else(|| WriteError::new(a, "the revision is not among the resolved revisions"))
    };
    Some(match &a.kind {
        ActionKind::CreateRevision { .. } => {
            found().map(|r| ApiWrite::Create { target, object: object(r, "apps/v1", "ControllerRevision") })
        }
        ActionKind::UpdateRevision { .. } => found().map(|r| ApiWrite::Replace {
            target,
            subresource: Subresource::Main,
            object: object(r, "apps/v1", "ControllerRevision"),
        }),
        ActionKind::DeleteRevision => {
            Ok(ApiWrite::Delete { target, uid: revisions.get(name).and_then(|r| r.metadata.uid.clone()) })
        }
        _ => return None,
    })
}

/// The `test` that the object is still the one the plan read (same uid), if it has one.
pub fn uid_test(uid: Option<&str>) -> Vec<Value> {
    uid.iter().map(|u| json_patch::test("/metadata/uid", json!(u))).collect()
}

/// A JSON patch of `target` setting its ownerReferences to `new` only if the object is still
/// the one read (`uid`) and its list still is `old` (`None`: absent). Used for pod adoption and
/// release and for claims handed over to their pod.
pub fn owner_refs_patch(
    target: Target,
    uid: Option<&str>,
    old: Option<&[OwnerReference]>,
    new: &[OwnerReference],
) -> ApiWrite {
    let mut ops = uid_test(uid);
    ops.extend(json_patch::guarded_list(
        "/metadata/ownerReferences",
        old.map(|o| json!(o)).as_ref(),
        json!(new),
    ));
    ApiWrite::JsonPatch { target, subresource: Subresource::Main, patch: Value::Array(ops) }
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

/// Whether `pod` lists readiness gate `condition_type` (CS-70).
pub fn has_readiness_gate(pod: &Pod, condition_type: &str) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.readiness_gates.as_deref())
        .is_some_and(|g| g.iter().any(|g| g.condition_type == condition_type))
}

/// The condition an in-place update starts with: `InPlaceUpdateReady=False` (CS-70).
pub fn start_in_place_condition() -> PodConditionUpdate {
    PodConditionUpdate {
        type_: keys::INPLACE_UPDATE_READY.into(),
        status: "False".into(),
        reason: keys::REASON_START_INPLACE_UPDATE.into(),
        message: String::new(),
    }
}

/// Applies a label/annotation/finalizer patch to a pod as the API server would.
pub fn apply_pod_patch(pod: &mut Pod, patch: &PodPatch) {
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

/// The name of the pod action `a` names: its `pod`, or the name part of a `namespace/name` key
/// (SidecarSet plans name pods that way, their pods living in many namespaces; pod names never
/// contain `/`). `""` when the action names no pod.
fn action_pod_name(a: &Action) -> &str {
    let p = a.pod.as_deref().unwrap_or_default();
    p.rsplit_once('/').map_or(p, |(_, name)| name)
}

/// The writes of one plan to existing pods of one namespace. Keeps each pod as the plan's
/// earlier writes leave it; every method takes the pod as cached (`None` if the input does not
/// have it) and fails, naming the action, when it needs a pod it does not have.
#[derive(Clone, Debug, Default)]
pub struct PodWrites {
    ns: String,
    /// Pods as this plan's earlier writes leave them.
    written: BTreeMap<String, Pod>,
}

impl PodWrites {
    /// Writes to pods of namespace `ns`.
    pub fn new(ns: &str) -> Self {
        Self { ns: ns.to_owned(), written: BTreeMap::new() }
    }

    /// The pod of action `a` as the plan's earlier writes leave it (`cached` before any).
    pub fn current(&self, a: &Action, cached: Option<&Pod>) -> Result<Pod, WriteError> {
        if a.pod.is_none() {
            return Err(WriteError::new(a, "the action names no pod"));
        }
        match self.written.get(action_pod_name(a)) {
            Some(p) => Ok(p.clone()),
            None => cached.cloned().ok_or_else(|| WriteError::new(a, "the pod is not in the input")),
        }
    }

    /// A JSON patch of `sub` turning the pod of `a` from `before` into `after` (only what
    /// differs, guarded by a `test` of the pod's uid, of its resourceVersion when it is the
    /// plan's first write to the pod, and as [`json_patch::diff`] does); `after` becomes the pod the next write
    /// of this plan starts from.
    pub fn patch(&mut self, a: &Action, sub: Subresource, before: &Pod, after: Pod) -> ApiWrite {
        let name = action_pod_name(a).to_owned();
        let mut ops = uid_test(before.metadata.uid.as_deref());
        // The plan's first write to the pod also tests the resourceVersion it was computed
        // from (a stale cache is a conflict, nothing is written); later ones are computed on
        // top of it and cannot know the version it will return.
        if !self.written.contains_key(&name)
            && let Some(rv) = before.metadata.resource_version.as_deref()
        {
            ops.push(json_patch::test("/metadata/resourceVersion", json!(rv)));
        }
        json_patch::diff(&pod_part(before, sub), &pod_part(&after, sub), &mut ops);
        self.written.insert(name.clone(), after);
        ApiWrite::JsonPatch {
            target: Target::pod(&self.ns, &name),
            subresource: sub,
            patch: Value::Array(ops),
        }
    }

    /// Adoption (`owner`: the workload's reference) or release (`owner: None`) of the pod of
    /// `a` by the workload of uid `workload_uid`: its ownerReferences replaced only if still
    /// what the plan read.
    pub fn set_owner(
        &mut self,
        a: &Action,
        cached: Option<&Pod>,
        workload_uid: Option<&str>,
        owner: Option<OwnerReference>,
    ) -> Result<ApiWrite, WriteError> {
        let pod = self.current(a, cached)?;
        let old = pod.metadata.owner_references.clone();
        let mut refs: Vec<OwnerReference> = old.clone().unwrap_or_default();
        refs.retain(|r| Some(r.uid.as_str()) != workload_uid);
        refs.extend(owner);
        let name = action_pod_name(a).to_owned();
        let write = owner_refs_patch(
            Target::pod(&self.ns, &name),
            pod.metadata.uid.as_deref(),
            old.as_deref(),
            &refs,
        );
        let mut after = pod;
        after.metadata.owner_references = Some(refs);
        self.written.insert(name, after);
        Ok(write)
    }

    /// A label/annotation (and finalizer) patch of the pod of `a`. Without finalizers, a JSON
    /// merge patch: labels and annotations merge key by key, nothing of anyone else's is lost.
    /// With finalizers (a list), a JSON patch replacing the list only if it still is what the
    /// plan read (CS-64).
    pub fn patch_meta(
        &mut self,
        a: &Action,
        cached: Option<&Pod>,
        patch: &PodPatch,
    ) -> Result<ApiWrite, WriteError> {
        let name = action_pod_name(a).to_owned();
        if patch.add_finalizers.is_empty() {
            if let Some(after) = self.written.get_mut(&name) {
                apply_pod_patch(after, patch);
            }
            return Ok(ApiWrite::MergePatch {
                target: Target::pod(&self.ns, &name),
                subresource: Subresource::Main,
                patch: patch.to_merge_patch(),
            });
        }
        let before = self.current(a, cached)?;
        let old = before.metadata.finalizers.clone();
        let mut after = before.clone();
        apply_pod_patch(&mut after, patch);
        let fins = after.metadata.finalizers.clone().unwrap_or_default();
        let mut labels_only = after.clone();
        labels_only.metadata.finalizers = old.clone();
        let mut ops = uid_test(before.metadata.uid.as_deref());
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
        self.written.insert(name.clone(), after);
        Ok(ApiWrite::JsonPatch {
            target: Target::pod(&self.ns, &name),
            subresource: Subresource::Main,
            patch: Value::Array(ops),
        })
    }

    /// A status patch setting condition `c` on the pod of `a`.
    pub fn set_condition(
        &mut self,
        a: &Action,
        cached: Option<&Pod>,
        c: &PodConditionUpdate,
        now: Timestamp,
    ) -> Result<ApiWrite, WriteError> {
        let before = self.current(a, cached)?;
        let mut after = before.clone();
        set_pod_condition(&mut after, c, now);
        Ok(self.patch(a, Subresource::Status, &before, after))
    }

    /// An in-place update of the pod of `a`: when `status_write`, first a status patch setting
    /// `InPlaceUpdateReady=False` (CS-70), then a patch of what `update` changes on the pod so
    /// marked. Both are appended to `out`.
    pub fn in_place(
        &mut self,
        a: &Action,
        cached: Option<&Pod>,
        status_write: bool,
        now: Timestamp,
        update: impl FnOnce(&Pod) -> Pod,
        out: &mut Vec<ApiWrite>,
    ) -> Result<(), WriteError> {
        let before = self.current(a, cached)?;
        let mut marked = before.clone();
        if status_write {
            set_pod_condition(&mut marked, &start_in_place_condition(), now);
            out.push(self.patch(a, Subresource::Status, &before, marked.clone()));
        }
        let updated = update(&marked);
        out.push(self.patch(a, Subresource::Main, &marked, updated));
        Ok(())
    }

    /// A later step of an in-place update (grace period over, next container batch): a patch of
    /// what `step` changes, or an error if it has nothing to do for the pod.
    pub fn step(
        &mut self,
        a: &Action,
        cached: Option<&Pod>,
        step: impl FnOnce(&Pod) -> Option<Pod>,
    ) -> Result<ApiWrite, WriteError> {
        let before = self.current(a, cached)?;
        let updated =
            step(&before).ok_or_else(|| WriteError::new(a, "the pod has no pending in-place step"))?;
        Ok(self.patch(a, Subresource::Main, &before, updated))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Reason;

    fn pod(name: &str) -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"), "resourceVersion": "5",
                "labels": {"app": "web"}, "finalizers": ["mine"],
                "ownerReferences": [{"apiVersion": "apps.kruise.io/v1beta1", "kind": "CloneSet", "name": "web",
                    "uid": "cs-uid", "controller": true}]},
            "spec": {"containers": [{"name": "c", "image": "i:1"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }))
        .unwrap()
    }

    fn action(kind: ActionKind, pod: &str) -> Action {
        Action::new(kind, Some(pod), None, Reason::Claim)
    }

    /// The object as the API server holds it after `writes` (status writes keep only the
    /// status of the result, main writes the rest), or the first failure.
    fn served(mut server: Value, writes: &[ApiWrite]) -> Result<Value, json_patch::ApplyError> {
        for w in writes {
            let ApiWrite::JsonPatch { patch, subresource, .. } = w else { panic!("{w:?}") };
            let mut next = server.clone();
            json_patch::apply(&mut next, patch)?;
            if *subresource == Subresource::Status {
                server["status"] = next["status"].take();
            } else {
                next["status"] = server["status"].take();
                server = next;
            }
        }
        Ok(server)
    }

    /// Issue 12 item 6: a finalizer added by someone else between the read and the write is
    /// not dropped: the list is replaced only if it still is what the plan read.
    #[test]
    fn issue_12_6_finalizers_are_replaced_only_if_unchanged() {
        let p = pod("web-a");
        let mut w = PodWrites::new("ns");
        let patch = PodPatch { add_finalizers: vec!["hook".into()], ..PodPatch::default() };
        let a = action(ActionKind::PatchPod { patch: patch.clone() }, "web-a");
        let write = w.patch_meta(&a, Some(&p), &patch).unwrap();
        let ok = served(serde_json::to_value(&p).unwrap(), std::slice::from_ref(&write)).unwrap();
        assert_eq!(ok["metadata"]["finalizers"], json!(["mine", "hook"]));
        let mut theirs = serde_json::to_value(&p).unwrap();
        theirs["metadata"]["finalizers"] = json!(["mine", "theirs"]);
        let err = served(theirs, &[write]).unwrap_err();
        assert!(err.test_failed, "{err}");
    }

    /// Issue 12 item 6: adoption and release replace ownerReferences only if the list is still
    /// what the plan read, and only on the pod read (same uid).
    #[test]
    fn issue_12_6_owner_references_are_guarded() {
        let p = pod("web-a");
        let mut w = PodWrites::new("ns");
        let write =
            w.set_owner(&action(ActionKind::ReleasePod, "web-a"), Some(&p), Some("cs-uid"), None).unwrap();
        let ok = served(serde_json::to_value(&p).unwrap(), std::slice::from_ref(&write)).unwrap();
        assert_eq!(ok["metadata"]["ownerReferences"], json!([]));
        let mut other = serde_json::to_value(&p).unwrap();
        other["metadata"]["ownerReferences"][0]["controller"] = json!(false);
        assert!(served(other, std::slice::from_ref(&write)).unwrap_err().test_failed);
        let mut namesake = serde_json::to_value(&p).unwrap();
        namesake["metadata"]["uid"] = json!("another");
        assert!(served(namesake, &[write]).unwrap_err().test_failed);
    }

    /// Issue 12 item 7: an in-place update patches only what changes; a field the typed pod
    /// does not know survives, and a pod whose image moved meanwhile is not overwritten.
    #[test]
    fn issue_12_7_in_place_patches_only_what_changes() {
        let p = pod("web-a");
        let mut w = PodWrites::new("ns");
        let a = action(ActionKind::UpdateInPlace { from_revision: "r1".into() }, "web-a");
        let mut out = Vec::new();
        let update = |m: &Pod| {
            let mut u = m.clone();
            if let Some(s) = u.spec.as_mut() {
                s.containers[0].image = Some("i:2".into());
            }
            u
        };
        w.in_place(&a, Some(&p), false, Timestamp::UNIX_EPOCH, update, &mut out).unwrap();
        assert_eq!(out.len(), 1, "no status write asked for");
        let ApiWrite::JsonPatch { patch, .. } = &out[0] else { panic!() };
        let paths: Vec<&str> = patch.as_array().unwrap().iter().filter_map(|o| o["path"].as_str()).collect();
        assert_eq!(
            paths[..2],
            ["/metadata/uid", "/metadata/resourceVersion"],
            "the pod read, then what changes"
        );
        assert!(paths[2..].iter().all(|p| p.starts_with("/spec/containers/0/")), "{paths:?}");
        let mut server = serde_json::to_value(&p).unwrap();
        server["spec"]["containers"][0]["futureField"] = json!(1);
        server["spec"]["futureSpec"] = json!(true);
        let after = served(server, &out).unwrap();
        assert_eq!(after["spec"]["containers"][0], json!({"name": "c", "image": "i:2", "futureField": 1}));
        assert_eq!(after["spec"]["futureSpec"], true);
        let mut moved = serde_json::to_value(&p).unwrap();
        moved["spec"]["containers"][0]["image"] = json!("i:other");
        assert!(served(moved, &out).unwrap_err().test_failed);
    }

    /// Issue 12 item 8: a condition write, then an in-place update with its own condition
    /// write, then a finalizer patch, all on one pod in one plan: each is computed on the pod
    /// as the previous one leaves it and only the first tests the cached resourceVersion, so
    /// all apply in order on the server.
    #[test]
    fn issue_12_8_writes_to_one_pod_chain() {
        let p = pod("web-a");
        let mut w = PodWrites::new("ns");
        let ready = PodConditionUpdate {
            type_: keys::INPLACE_UPDATE_READY.into(),
            status: "True".into(),
            reason: String::new(),
            message: String::new(),
        };
        let mut out = vec![
            w.set_condition(
                &action(ActionKind::UpdatePodStatus { condition: ready.clone() }, "web-a"),
                Some(&p),
                &ready,
                Timestamp::UNIX_EPOCH,
            )
            .unwrap(),
        ];
        let a = action(ActionKind::UpdateInPlace { from_revision: "r1".into() }, "web-a");
        w.in_place(&a, Some(&p), true, Timestamp::UNIX_EPOCH, Pod::clone, &mut out).unwrap();
        let patch = PodPatch { add_finalizers: vec!["hook".into()], ..PodPatch::default() };
        out.push(
            w.patch_meta(&action(ActionKind::PatchPod { patch: patch.clone() }, "web-a"), Some(&p), &patch)
                .unwrap(),
        );
        assert_eq!(out.len(), 4);
        let ApiWrite::JsonPatch { patch, .. } = &out[0] else { panic!() };
        assert!(
            patch.as_array().unwrap().contains(&json_patch::test("/metadata/resourceVersion", json!("5")))
        );
        assert!(out[1..].iter().all(|x| !serde_json::to_string(x).unwrap().contains("resourceVersion")));
        let after = served(serde_json::to_value(&p).unwrap(), &out).unwrap();
        let conds = after["status"]["conditions"].as_array().unwrap();
        let c: Vec<_> = conds.iter().filter(|c| c["type"] == keys::INPLACE_UPDATE_READY).collect();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0]["status"], "False", "the later write wins");
        assert_eq!(after["metadata"]["finalizers"], json!(["mine", "hook"]));
    }

    /// A pod the input does not hold is an error naming the action, not a skipped write.
    #[test]
    fn a_missing_pod_is_an_error_naming_the_action() {
        let mut w = PodWrites::new("ns");
        let e = w.set_owner(&action(ActionKind::AdoptPod, "ghost"), None, None, None).unwrap_err();
        assert_eq!(e.action, "AdoptPod");
        assert_eq!(e.subject, "pod ghost");
    }
}
