//! The RFC 6902 patch an admission response carries for an injected pod (SCS-17, SCS-20):
//! only the parts injection may change are compared (annotations key by key; the container,
//! init container, volume and pull-secret lists as whole values), so every operation is an
//! `add` or a `replace` of a path the submitted pod has a parent for.

use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;
use serde_json::Value;

/// One RFC 6902 operation (`add` or `replace`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PatchOp {
    /// `add` or `replace`.
    pub op: &'static str,
    /// JSON pointer (RFC 6901).
    pub path: String,
    /// The value written.
    pub value: Value,
}

/// RFC 6901 escaping of one reference token.
pub fn escape_token(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn to_value(pod: &Pod) -> Value {
    serde_json::to_value(pod).unwrap_or(Value::Null)
}

/// The operations turning `old` into `new`, where `new` differs from `old` at most in
/// `metadata.annotations` and `spec.{initContainers, containers, volumes, imagePullSecrets}`.
pub fn diff_pod(old: &Pod, new: &Pod) -> Vec<PatchOp> {
    let (o, n) = (to_value(old), to_value(new));
    let mut ops = Vec::new();
    let op = |present: bool| if present { "replace" } else { "add" };
    // Annotations.
    let oa = o.pointer("/metadata/annotations").and_then(Value::as_object);
    let na = n.pointer("/metadata/annotations").and_then(Value::as_object);
    match (oa, na) {
        (None, Some(na)) if !na.is_empty() => {
            if o.get("metadata").is_none() {
                ops.push(PatchOp { op: "add", path: "/metadata".into(), value: serde_json::json!({}) });
            }
            ops.push(PatchOp {
                op: "add",
                path: "/metadata/annotations".into(),
                value: Value::Object(na.clone()),
            })
        }
        (Some(oa), Some(na)) => {
            for (k, v) in na {
                if oa.get(k) != Some(v) {
                    ops.push(PatchOp {
                        op: op(oa.contains_key(k)),
                        path: format!("/metadata/annotations/{}", escape_token(k)),
                        value: v.clone(),
                    });
                }
            }
        }
        _ => {}
    }
    // Spec lists.
    let ospec = o.get("spec");
    let nspec = n.get("spec");
    if ospec.is_none() {
        if let Some(ns) = nspec {
            ops.push(PatchOp { op: "add", path: "/spec".into(), value: ns.clone() });
        }
        return ops;
    }
    for key in ["initContainers", "containers", "volumes", "imagePullSecrets"] {
        let ov = ospec.and_then(|s| s.get(key));
        if let Some(nv) = nspec.and_then(|s| s.get(key))
            && ov != Some(nv)
        {
            ops.push(PatchOp { op: op(ov.is_some()), path: format!("/spec/{key}"), value: nv.clone() });
        }
    }
    ops
}

/// Why a patch could not be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ApplyError {
    /// The operation's path.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn unescape(t: &str) -> String {
    t.replace("~1", "/").replace("~0", "~")
}

/// Applies `add` / `replace` operations on object members (the operations [`diff_pod`]
/// emits) to `doc`: the parent must exist and be an object; `replace` needs the member.
pub fn apply(doc: &mut Value, ops: &[PatchOp]) -> Result<(), ApplyError> {
    for o in ops {
        let err = |m: &str| ApplyError { path: o.path.clone(), message: m.to_owned() };
        let Some(rest) = o.path.strip_prefix('/') else { return Err(err("not a JSON pointer")) };
        let tokens: Vec<String> = rest.split('/').map(unescape).collect();
        let (last, parents) = tokens.split_last().ok_or_else(|| err("empty path"))?;
        let mut cur = &mut *doc;
        for t in parents {
            cur = cur.get_mut(t.as_str()).ok_or_else(|| err("parent missing"))?;
        }
        let obj = cur.as_object_mut().ok_or_else(|| err("parent is not an object"))?;
        match o.op {
            "add" => {
                obj.insert(last.clone(), o.value.clone());
            }
            "replace" => {
                let slot = obj.get_mut(last.as_str()).ok_or_else(|| err("replace of a missing member"))?;
                *slot = o.value.clone();
            }
            other => return Err(err(&format!("unsupported op {other:?}"))),
        }
    }
    Ok(())
}
