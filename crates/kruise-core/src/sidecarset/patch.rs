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

fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Appends the operation for one spec list when it changed: the whole new list, `add` when
/// the old one was absent (or empty, for `empty_is_absent` lists that are omitted when empty).
fn list<T: Serialize + PartialEq>(
    ops: &mut Vec<PatchOp>,
    key: &str,
    old: Option<&Vec<T>>,
    new: Option<&Vec<T>>,
    empty_is_absent: bool,
) {
    let present = |v: Option<&Vec<T>>| v.is_some_and(|v| !(empty_is_absent && v.is_empty()));
    if old == new || !present(new) {
        return;
    }
    let op = if present(old) { "replace" } else { "add" };
    ops.push(PatchOp { op, path: format!("/spec/{key}"), value: to_value(&new) });
}

/// The operations turning `old` into `new`, where `new` differs from `old` at most in
/// `metadata.annotations` and `spec.{initContainers, containers, volumes, imagePullSecrets}`.
/// The typed fields are compared first; only what changed is serialized.
pub fn diff_pod(old: &Pod, new: &Pod) -> Vec<PatchOp> {
    let mut ops = Vec::new();
    match (&old.metadata.annotations, &new.metadata.annotations) {
        (None, Some(na)) if !na.is_empty() => {
            ops.push(PatchOp { op: "add", path: "/metadata/annotations".into(), value: to_value(na) })
        }
        (Some(oa), Some(na)) => {
            for (k, v) in na {
                if oa.get(k) != Some(v) {
                    ops.push(PatchOp {
                        op: if oa.contains_key(k) { "replace" } else { "add" },
                        path: format!("/metadata/annotations/{}", escape_token(k)),
                        value: Value::String(v.clone()),
                    });
                }
            }
        }
        _ => {}
    }
    let Some(ospec) = &old.spec else {
        if let Some(ns) = &new.spec {
            ops.push(PatchOp { op: "add", path: "/spec".into(), value: to_value(ns) });
        }
        return ops;
    };
    let Some(nspec) = &new.spec else { return ops };
    list(&mut ops, "initContainers", ospec.init_containers.as_ref(), nspec.init_containers.as_ref(), false);
    list(&mut ops, "containers", Some(&ospec.containers), Some(&nspec.containers), true);
    list(&mut ops, "volumes", ospec.volumes.as_ref(), nspec.volumes.as_ref(), false);
    list(
        &mut ops,
        "imagePullSecrets",
        ospec.image_pull_secrets.as_ref(),
        nspec.image_pull_secrets.as_ref(),
        false,
    );
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
