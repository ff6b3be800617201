//! Readdressing a hub-version planner's writes to the version a cluster serves.
//!
//! The planners work on the `v1beta1` hub types. Where a cluster's CRD serves and stores an
//! older version only (CloneSet and DaemonSet are `apps.kruise.io/v1alpha1` in OpenKruise's
//! CRDs), the writes that concern the workload itself must address that version:
//! - the status `Replace` of the workload: target the served version, body = the served
//!   object as observed (its `resourceVersion` is the precondition) with the planned status as
//!   [`Served::status`] renders it in the served version's schema;
//! - any other write to the workload itself (a JSON patch of a spec path both versions
//!   share): target only;
//! - owner references to the workload in created objects and in adoption patches:
//!   `apiVersion` becomes the served version, so the garbage collector resolves the owner
//!   through a served version (in JSON patches only the values written are rewritten, not the
//!   `test`ed ones, which are what the server holds).
//!
//! Every other write is left byte for byte as the hub planner made it.

use serde_json::{Value, json};

use super::{ApiWrite, Subresource, Target};

/// The workload whose writes are readdressed, and how its status reads in the served version.
pub struct Served<'a> {
    /// The workload's `kind` (`CloneSet`).
    pub kind: &'a str,
    /// The hub `apiVersion` the planner writes (`apps.kruise.io/v1beta1`).
    pub hub: &'a str,
    /// The served `apiVersion` (`apps.kruise.io/v1alpha1`).
    pub served: &'a str,
    /// The workload as stored, in the served version (JSON).
    pub object: &'a Value,
    /// The planned hub object of a status write → the `status` in the served version's
    /// schema.
    pub status: &'a dyn Fn(&Value) -> Value,
}

impl Served<'_> {
    fn uid(&self) -> &str {
        self.object.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default()
    }

    fn is_self(&self, target: &Target) -> bool {
        let meta = |f: &str| self.object.pointer(&format!("/metadata/{f}")).and_then(Value::as_str);
        target.kind == self.kind
            && target.api_version == self.hub
            && target.namespace.as_deref() == meta("namespace")
            && Some(target.name.as_str()) == meta("name")
    }

    /// Rewrites one write of the hub planner (see the module docs).
    pub fn readdress(&self, write: &mut ApiWrite) {
        match write {
            ApiWrite::Replace { target, subresource: Subresource::Status, object }
                if self.is_self(target) =>
            {
                target.api_version = self.served.to_owned();
                let status = (self.status)(object);
                // A planned body whose metadata carries no resourceVersion chains on an earlier
                // write of the plan to the workload (the `Replace` chaining rule): the served
                // body must not reintroduce the observed, by then stale, one.
                let chained = object
                    .get("metadata")
                    .is_some_and(|m| m.get("resourceVersion").is_none_or(Value::is_null));
                let mut body = self.object.clone();
                if chained && let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                    m.remove("resourceVersion");
                }
                if let Value::Object(m) = &mut body {
                    m.insert("apiVersion".into(), json!(self.served));
                    m.insert("kind".into(), json!(self.kind));
                    m.insert("status".into(), status);
                }
                *object = body;
            }
            ApiWrite::Replace { target, object, .. } | ApiWrite::Create { target, object } => {
                self.retarget(target);
                self.fix_owner_refs(object);
            }
            ApiWrite::MergePatch { target, patch, .. } => {
                self.retarget(target);
                self.fix_owner_refs(patch);
            }
            ApiWrite::JsonPatch { target, patch, .. } => {
                self.retarget(target);
                for op in patch.as_array_mut().into_iter().flatten() {
                    let writes_refs = op.get("path").and_then(Value::as_str)
                        == Some("/metadata/ownerReferences")
                        && matches!(op.get("op").and_then(Value::as_str), Some("add" | "replace"));
                    if writes_refs && let Some(refs) = op.get_mut("value") {
                        let mut body = json!({"metadata": {"ownerReferences": refs.take()}});
                        self.fix_owner_refs(&mut body);
                        *refs = body["metadata"]["ownerReferences"].take();
                    }
                }
            }
            ApiWrite::Delete { target, .. } => self.retarget(target),
        }
    }

    fn retarget(&self, target: &mut Target) {
        if self.is_self(target) {
            target.api_version = self.served.to_owned();
        }
    }

    /// Points owner references to this workload at the served version.
    fn fix_owner_refs(&self, body: &mut Value) {
        let Some(refs) = body.pointer_mut("/metadata/ownerReferences").and_then(Value::as_array_mut) else {
            return;
        };
        let uid = self.uid();
        for r in refs {
            let ours = r.get("kind").and_then(Value::as_str) == Some(self.kind)
                && r.get("uid").and_then(Value::as_str) == Some(uid)
                && r.get("apiVersion").and_then(Value::as_str) == Some(self.hub);
            if ours && let Some(m) = r.as_object_mut() {
                m.insert("apiVersion".into(), json!(self.served));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HUB: &str = "apps.kruise.io/v1beta1";
    const OLD: &str = "apps.kruise.io/v1alpha1";

    fn stored() -> Value {
        json!({"apiVersion": OLD, "kind": "DaemonSet",
               "metadata": {"name": "ds", "namespace": "nś", "uid": "u-1", "resourceVersion": "9"},
               "spec": {"a": 1}, "status": {"old": true}})
    }

    fn owner(api: &str, uid: &str) -> Value {
        json!({"apiVersion": api, "kind": "DaemonSet", "name": "ds", "uid": uid, "controller": true})
    }

    #[test]
    fn status_replace_carries_the_stored_object_and_the_rendered_status() {
        let obj = stored();
        let render = |planned: &Value| json!({"hash": planned["status"]["updateRevision"]});
        let s = Served { kind: "DaemonSet", hub: HUB, served: OLD, object: &obj, status: &render };
        let mut w = ApiWrite::Replace {
            target: Target::namespaced(HUB, "DaemonSet", "nś", "ds"),
            subresource: Subresource::Status,
            object: json!({"apiVersion": HUB, "spec": {"b": 2}, "status": {"updateRevision": "r1"}}),
        };
        s.readdress(&mut w);
        let ApiWrite::Replace { target, object, .. } = &w else { panic!("kind changed") };
        assert_eq!(target.api_version, OLD);
        assert_eq!(object["spec"], json!({"a": 1}));
        assert_eq!(object["metadata"]["resourceVersion"], "9");
        assert_eq!(object["status"], json!({"hash": "r1"}));
    }

    /// A status write that chains on an earlier write of the plan (its metadata has no
    /// resourceVersion) keeps chaining after readdressing: the stored object's resourceVersion
    /// is not put back (it would be stale by then: a 409 Conflict).
    #[test]
    fn chained_status_replace_carries_no_resource_version() {
        let obj = stored();
        let render = |_: &Value| json!({});
        let s = Served { kind: "DaemonSet", hub: HUB, served: OLD, object: &obj, status: &render };
        let mut w = ApiWrite::Replace {
            target: Target::namespaced(HUB, "DaemonSet", "nś", "ds"),
            subresource: Subresource::Status,
            object: json!({"apiVersion": HUB, "metadata": {"name": "ds", "uid": "u-1"}, "status": {}}),
        };
        s.readdress(&mut w);
        let ApiWrite::Replace { object, .. } = &w else { panic!("kind changed") };
        assert!(object["metadata"].get("resourceVersion").is_none(), "{object}");
        assert_eq!(object["metadata"]["uid"], "u-1");
    }

    #[test]
    fn only_our_owner_references_and_only_written_values_change() {
        let obj = stored();
        let render = |_: &Value| Value::Null;
        let s = Served { kind: "DaemonSet", hub: HUB, served: OLD, object: &obj, status: &render };
        let mut create = ApiWrite::Create {
            target: Target::namespaced("v1", "Pod", "nś", "p"),
            object: json!({"metadata": {"ownerReferences": [owner(HUB, "u-1"), owner(HUB, "other")]}}),
        };
        s.readdress(&mut create);
        let ApiWrite::Create { target, object } = &create else { panic!("kind changed") };
        assert_eq!(target.api_version, "v1");
        assert_eq!(object["metadata"]["ownerReferences"], json!([owner(OLD, "u-1"), owner(HUB, "other")]));
        let mut patch = ApiWrite::JsonPatch {
            target: Target::namespaced("v1", "Pod", "nś", "p"),
            subresource: Subresource::Main,
            patch: json!([
                {"op": "test", "path": "/metadata/ownerReferences", "value": [owner(HUB, "u-1")]},
                {"op": "replace", "path": "/metadata/ownerReferences", "value": [owner(HUB, "u-1")]}
            ]),
        };
        s.readdress(&mut patch);
        let ApiWrite::JsonPatch { patch, .. } = &patch else { panic!("kind changed") };
        assert_eq!(patch[0]["value"], json!([owner(HUB, "u-1")]));
        assert_eq!(patch[1]["value"], json!([owner(OLD, "u-1")]));
        // Another workload of the same kind keeps its hub address.
        let mut other =
            ApiWrite::Delete { target: Target::namespaced(HUB, "DaemonSet", "nś", "ds2"), uid: None };
        s.readdress(&mut other);
        assert_eq!(other.target().api_version, HUB);
    }
}
