//! Concrete API writes. A plan's typed [actions](crate::plan::Action) are turned into these
//! by pure functions ([`crate::reconciler::Materialise`]); the simulator's API store and the
//! kube adapter carry them out the same way, so what the simulator shows is what the operator
//! does. Writes to existing objects change only what the plan changes and say what they were
//! computed from ([`json_patch`], STYLE.md §8).

use serde::Serialize;

pub mod json_patch;
pub mod pod;
pub mod served;

/// The object a write addresses.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// `v1`, `apps/v1`, `apps.kruise.io/v1beta1`, ...
    pub api_version: String,
    /// `Pod`, `PersistentVolumeClaim`, `ControllerRevision`, `CloneSet`, ...
    pub kind: String,
    /// Namespace; `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// Object name.
    pub name: String,
}

impl Target {
    /// A namespaced target.
    pub fn namespaced(api_version: &str, kind: &str, namespace: &str, name: &str) -> Self {
        Self {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
        }
    }
    /// The object of `kind` described by `meta` (its namespace and name; empty when absent):
    /// how a workload addresses itself.
    pub fn of(
        api_version: &str,
        kind: &str,
        meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    ) -> Self {
        Self::namespaced(
            api_version,
            kind,
            meta.namespace.as_deref().unwrap_or_default(),
            meta.name.as_deref().unwrap_or_default(),
        )
    }
    /// A `v1` Pod.
    pub fn pod(namespace: &str, name: &str) -> Self {
        Self::namespaced("v1", "Pod", namespace, name)
    }
    /// A `v1` PersistentVolumeClaim.
    pub fn pvc(namespace: &str, name: &str) -> Self {
        Self::namespaced("v1", "PersistentVolumeClaim", namespace, name)
    }
    /// An `apps/v1` ControllerRevision.
    pub fn revision(namespace: &str, name: &str) -> Self {
        Self::namespaced("apps/v1", "ControllerRevision", namespace, name)
    }
}

/// Which part of an object a write touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Subresource {
    /// The object itself (metadata and spec).
    Main,
    /// The `status` subresource.
    Status,
    /// The pod `resize` subresource (in-place resource changes).
    Resize,
}

/// One API write.
///
/// Preconditions make writes safe against a stale cache (STYLE.md §8): a `Replace` carries the
/// `resourceVersion` it was computed from (409 Conflict if the object moved on), a `JsonPatch`
/// `test`s the elements it was computed from (422 if they moved on), a `Delete` the `uid` it
/// means (so a recreated namesake is never deleted). A `MergePatch` may carry
/// `metadata.resourceVersion` in its body, which guards it like a `Replace`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "op")]
pub enum ApiWrite {
    /// Create an object (full JSON, `apiVersion`/`kind` included).
    Create {
        /// What is created.
        target: Target,
        /// The object.
        object: serde_json::Value,
    },
    /// Replace a whole object (or its status), guarded by `metadata.resourceVersion` in `object`.
    ///
    /// Chaining rule: a `Replace` may carry no `resourceVersion` only when an earlier write of
    /// the same plan addresses the same object (same [`Target`], any subresource). (The
    /// CloneSet planner no longer needs it: several writes to one pod in one plan are JSON
    /// patches, each computed on the pod as the previous one leaves it.) Adapters must send
    /// such a write with the `resourceVersion` returned by
    /// the previous write to that object in the plan (so a concurrent change in between is still
    /// a 409 Conflict), and must refuse, without sending, a `Replace` without
    /// `resourceVersion` that has no earlier write to the same object in the plan.
    Replace {
        /// What is replaced.
        target: Target,
        /// Main object or status.
        subresource: Subresource,
        /// The new object.
        object: serde_json::Value,
    },
    /// A JSON merge patch (RFC 7386).
    MergePatch {
        /// What is patched.
        target: Target,
        /// Main object, status or resize.
        subresource: Subresource,
        /// The patch.
        patch: serde_json::Value,
    },
    /// A JSON patch (RFC 6902, [`json_patch`]): only the fields that change, guarded by
    /// `test` operations on what the plan read. Applied to the whole object; on the `status`
    /// subresource only the status part of the result is kept, on the main resource only the
    /// rest.
    JsonPatch {
        /// What is patched.
        target: Target,
        /// Main object or status.
        subresource: Subresource,
        /// The operations, an array.
        patch: serde_json::Value,
    },
    /// Delete an object, only if its uid is still `uid` (when given).
    Delete {
        /// What is deleted.
        target: Target,
        /// Precondition: the uid of the object meant.
        uid: Option<String>,
    },
}

impl ApiWrite {
    /// The request body as it must be sent: the object (or patch) as JSON with Go's
    /// `encoding/json` escaping of `<`, `>`, `&`, U+2028 and U+2029 (CS-26). A
    /// ControllerRevision's `data` is hashed in exactly these bytes, and the API server keeps
    /// them verbatim, so kruise-manager reading the revision back finds the data it would
    /// write itself. Empty for a delete.
    pub fn body(&self) -> Vec<u8> {
        match self {
            ApiWrite::Create { object, .. } | ApiWrite::Replace { object, .. } => to_go_json(object, false),
            ApiWrite::MergePatch { patch, .. } | ApiWrite::JsonPatch { patch, .. } => {
                to_go_json(patch, false)
            }
            ApiWrite::Delete { .. } => Vec::new(),
        }
    }

    /// The object this write addresses.
    pub fn target(&self) -> &Target {
        match self {
            ApiWrite::Create { target, .. }
            | ApiWrite::Replace { target, .. }
            | ApiWrite::MergePatch { target, .. }
            | ApiWrite::JsonPatch { target, .. }
            | ApiWrite::Delete { target, .. } => target,
        }
    }

    /// The operation's name (`Create`, `Replace`, `MergePatch`, `JsonPatch`, `Delete`), as
    /// metrics and logs print it.
    pub fn op_name(&self) -> &'static str {
        match self {
            ApiWrite::Create { .. } => "Create",
            ApiWrite::Replace { .. } => "Replace",
            ApiWrite::MergePatch { .. } => "MergePatch",
            ApiWrite::JsonPatch { .. } => "JsonPatch",
            ApiWrite::Delete { .. } => "Delete",
        }
    }
}

/// A [`serde_json::ser::Formatter`] that escapes `<`, `>`, `&`, U+2028 and U+2029 in strings
/// as Go's `encoding/json` does (`\u003c`, ...), around another formatter (compact or pretty).
/// The JSON means the same; the bytes are Go's.
#[derive(Clone, Debug, Default)]
pub struct GoEscapes<F>(pub F);

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for GoEscapes<F> {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let esc = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            self.0.write_string_fragment(w, &fragment[start..i])?;
            w.write_all(esc.as_bytes())?;
            start = i + c.len_utf8();
        }
        self.0.write_string_fragment(w, &fragment[start..])
    }

    // Every other method: the inner formatter's.
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// `v` as JSON with Go's escapes ([`GoEscapes`]), compact or indented by two spaces.
pub fn to_go_json(v: &serde_json::Value, pretty: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let res = if pretty {
        let mut ser = serde_json::Serializer::with_formatter(
            &mut out,
            GoEscapes(serde_json::ser::PrettyFormatter::new()),
        );
        v.serialize(&mut ser)
    } else {
        let mut ser =
            serde_json::Serializer::with_formatter(&mut out, GoEscapes(serde_json::ser::CompactFormatter));
        v.serialize(&mut ser)
    };
    // Serializing a `Value` into memory cannot fail.
    debug_assert!(res.is_ok());
    out
}

#[cfg(test)]
mod go_json_tests {
    use super::*;

    /// Issue 11 item 14 (CS-26): the bytes sent for a revision are the bytes hashed.
    #[test]
    fn cs_26_revision_body_carries_the_hashed_bytes() {
        let template = k8s_openapi::api::core::v1::PodTemplateSpec {
            spec: Some(k8s_openapi::api::core::v1::PodSpec {
                containers: vec![k8s_openapi::api::core::v1::Container {
                    name: "c".into(),
                    args: Some(vec!["a && b < c > d \u{2028}".into()]),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let data = crate::cloneset::revision::revision_data(&template);
        let hashed = crate::cloneset::revision::go_json(&data);
        let write = ApiWrite::Create {
            target: Target::revision("ns", "r"),
            object: serde_json::json!({"data": data}),
        };
        let body = String::from_utf8(write.body()).unwrap_or_default();
        assert!(body.contains(&hashed), "{body}\n{hashed}");
        assert!(body.contains("a \\u0026\\u0026 b \\u003c c \\u003e d \\u2028"), "{body}");
        // The same JSON value.
        let back: serde_json::Value = serde_json::from_slice(&write.body()).unwrap_or_default();
        assert_eq!(back["data"], data);
    }
}
