//! The patch formats a Kubernetes API server accepts, beyond the JSON merge patch the
//! simulator's store already applies ([`kruise_api::merge_patch::apply`]):
//!
//! - [`json_patch`]: RFC 6902 (`add`, `remove`, `replace`, `move`, `copy`, `test`), paths as
//!   RFC 6901 pointers, through kruise-core's one implementation;
//! - [`strategic_merge`]: the strategic merge patch of built-in kinds, with the list merge keys
//!   `kubectl apply` and `kubectl label` rely on (containers, volumes, ports, env, conditions,
//!   owner references ...) and the `$patch`, `$retainKeys`, `$setElementOrder` and
//!   `$deleteFromPrimitiveList` directives;
//! - [`apply`]: server-side apply for one field manager: fields the manager applied before and
//!   no longer applies are removed, the rest merged in.

use serde_json::{Map, Value};

/// Why a patch cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The patch document is malformed (400).
    #[error("{0}")]
    Malformed(String),
    /// A `test` failed or a path does not exist (422).
    #[error("{0}")]
    Unprocessable(String),
}

/// Applies an RFC 6902 JSON patch to `doc` with the workspace's one implementation
/// ([`kruise_core::write::json_patch::apply`], the semantics the operator's writes are built
/// for: a `test` of `null` passes on an absent member). A failed `test` or a missing path is
/// [`PatchError::Unprocessable`] (the API server answers 422); a malformed operation is
/// [`PatchError::Malformed`] (400). `doc` is left unchanged on error.
pub fn json_patch(doc: &Value, patch: &Value) -> Result<Value, PatchError> {
    let mut out = doc.clone();
    kruise_core::write::json_patch::apply(&mut out, patch).map_err(|e| {
        if e.malformed {
            PatchError::Malformed(e.to_string())
        } else {
            PatchError::Unprocessable(e.to_string())
        }
    })?;
    Ok(out)
}

/// The merge key of a list field in a strategic merge patch of a built-in kind (`None`: the
/// list is replaced as a whole). Lists of strings named here with `""` are merged as sets.
fn merge_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims"
        | "containerStatuses"
        | "initContainerStatuses" => "name",
        "ports" => "containerPort",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "conditions" | "readinessGates" => "type",
        "ownerReferences" => "uid",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        "finalizers" => "",
        _ => return None,
    })
}

/// Applies a strategic merge patch (of a built-in kind) to `doc`.
pub fn strategic_merge(doc: &Value, patch: &Value) -> Result<Value, PatchError> {
    if !patch.is_object() {
        return Err(PatchError::Malformed("a strategic merge patch must be an object".into()));
    }
    let mut out = doc.clone();
    smp_object(&mut out, patch)?;
    Ok(out)
}

fn smp_object(target: &mut Value, patch: &Value) -> Result<(), PatchError> {
    let Some(p) = patch.as_object() else {
        *target = patch.clone();
        return Ok(());
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut v = patch.clone();
        strip_directives(&mut v);
        *target = v;
        return Ok(());
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Some(t) = target.as_object_mut() else { return Ok(()) };
    if let Some(keep) = p.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        t.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, v) in p {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(list)), Some(gone)) = (t.get_mut(field), v.as_array()) {
                list.retain(|x| !gone.contains(x));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            t.remove(k);
            continue;
        }
        match (merge_key(k), v) {
            (Some(key), Value::Array(items)) => {
                let slot = t.entry(k.clone()).or_insert_with(|| Value::Array(Vec::new()));
                smp_list(slot, items, key)?;
            }
            (_, Value::Object(_)) => smp_object(t.entry(k.clone()).or_insert(Value::Null), v)?,
            _ => {
                let mut v = v.clone();
                strip_directives(&mut v);
                t.insert(k.clone(), v);
            }
        }
    }
    Ok(())
}

fn smp_list(target: &mut Value, items: &[Value], key: &str) -> Result<(), PatchError> {
    if !target.is_array() {
        *target = Value::Array(Vec::new());
    }
    let Some(list) = target.as_array_mut() else { return Ok(()) };
    if key.is_empty() {
        for it in items {
            if !list.contains(it) {
                list.push(it.clone());
            }
        }
        return Ok(());
    }
    if items.iter().any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace")) {
        let mut v: Vec<Value> = items
            .iter()
            .filter(|i| i.get("$patch").and_then(Value::as_str) != Some("replace"))
            .cloned()
            .collect();
        v.iter_mut().for_each(strip_directives);
        *list = v;
        return Ok(());
    }
    for it in items {
        let Some(id) = it.get(key) else {
            return Err(PatchError::Malformed(format!(
                "map: {it} does not contain declared merge key: {key}"
            )));
        };
        let at = list.iter().position(|x| x.get(key) == Some(id));
        if it.get("$patch").and_then(Value::as_str) == Some("delete") {
            if let Some(i) = at {
                list.remove(i);
            }
            continue;
        }
        match at {
            Some(i) => smp_object(&mut list[i], it)?,
            None => {
                let mut v = it.clone();
                strip_directives(&mut v);
                list.push(v);
            }
        }
    }
    Ok(())
}

fn strip_directives(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.retain(|k, _| !k.starts_with('$'));
            o.values_mut().for_each(strip_directives);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_directives),
        _ => {}
    }
}

/// Removes from `target` every field set in `before` that `after` no longer sets (objects
/// recursively; lists and scalars as a whole).
fn remove_dropped(target: &mut Value, before: &Value, after: &Value) {
    let (Some(t), Some(b)) = (target.as_object_mut(), before.as_object()) else { return };
    for (k, bv) in b {
        match after.get(k) {
            None => {
                t.remove(k);
            }
            Some(av) if bv.is_object() && av.is_object() => {
                if let Some(tv) = t.get_mut(k) {
                    remove_dropped(tv, bv, av);
                }
            }
            Some(_) => {}
        }
    }
}

/// Server-side apply by one field manager: `current` with the fields `previous` (what this
/// manager applied last, if anything) set and `applied` no longer sets removed, then `applied`
/// merged in as a JSON merge patch (objects key by key, `null` removes, lists replaced). `status` is never applied to the main
/// resource, and the identity fields of `metadata` the server owns are kept.
pub fn apply(current: &Value, previous: Option<&Value>, applied: &Value) -> Value {
    let mut out = current.clone();
    let mut applied = applied.clone();
    if let Some(o) = applied.as_object_mut() {
        o.remove("status");
    }
    if let Some(m) = applied.get_mut("metadata").and_then(Value::as_object_mut) {
        for f in ["uid", "resourceVersion", "generation", "creationTimestamp", "managedFields"] {
            m.remove(f);
        }
    }
    if let Some(prev) = previous {
        remove_dropped(&mut out, prev, &applied);
    }
    kruise_api::merge_patch::apply(&mut out, &applied);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_patch_follows_rfc_6902() {
        let doc = json!({"a": {"b": [1, 2]}, "c": "x"});
        let p = json!([
            {"op": "add", "path": "/a/b/-", "value": 3},
            {"op": "add", "path": "/a/b/0", "value": 0},
            {"op": "replace", "path": "/c", "value": "y"},
            {"op": "copy", "from": "/c", "path": "/d"},
            {"op": "move", "from": "/d", "path": "/e"},
            {"op": "remove", "path": "/a/b/1"},
            {"op": "test", "path": "/e", "value": "y"},
            {"op": "add", "path": "/f~1g", "value": true},
        ]);
        assert_eq!(json_patch(&doc, &p), Ok(json!({"a": {"b": [0, 2, 3]}, "c": "y", "e": "y", "f/g": true})));
    }

    /// Issue 12 item 6 on the served cluster: the operator's guarded list writes (finalizers,
    /// ownerReferences, podsToDelete) test the list they read, `null` for an absent one. The
    /// served API applies them as the operator's writer means them: absent list, the write
    /// applies; a finalizer someone else added meanwhile, the write is refused (422) and
    /// nothing of theirs is dropped.
    #[test]
    fn guarded_list_writes_apply_once_and_refuse_a_changed_list() {
        let ops = serde_json::Value::Array(kruise_core::write::json_patch::guarded_list(
            "/metadata/finalizers",
            None,
            json!(["apps.kruise.io/hook"]),
        ));
        let pod = json!({"metadata": {"name": "web-a"}});
        assert_eq!(
            json_patch(&pod, &ops).map(|p| p["metadata"]["finalizers"].clone()),
            Ok(json!(["apps.kruise.io/hook"]))
        );
        let theirs = json!({"metadata": {"name": "web-a", "finalizers": ["theirs"]}});
        assert!(matches!(json_patch(&theirs, &ops), Err(PatchError::Unprocessable(_))));
        let read = json!(["mine"]);
        let ops = serde_json::Value::Array(kruise_core::write::json_patch::guarded_list(
            "/metadata/finalizers",
            Some(&read),
            json!(["mine", "apps.kruise.io/hook"]),
        ));
        let moved = json!({"metadata": {"finalizers": ["mine", "theirs"]}});
        assert!(matches!(json_patch(&moved, &ops), Err(PatchError::Unprocessable(_))));
    }

    #[test]
    fn a_failed_test_is_unprocessable_and_changes_nothing() {
        let doc = json!({"metadata": {"finalizers": ["a"]}});
        let p = json!([
            {"op": "test", "path": "/metadata/finalizers", "value": ["b"]},
            {"op": "replace", "path": "/metadata/finalizers", "value": []},
        ]);
        assert!(matches!(json_patch(&doc, &p), Err(PatchError::Unprocessable(_))));
        assert!(matches!(
            json_patch(&doc, &json!([{"op": "remove", "path": "/x"}])),
            Err(PatchError::Unprocessable(_))
        ));
        assert!(matches!(json_patch(&doc, &json!({"op": "add"})), Err(PatchError::Malformed(_))));
        assert!(matches!(
            json_patch(&doc, &json!([{"op": "frob", "path": ""}])),
            Err(PatchError::Malformed(_))
        ));
        assert!(matches!(
            json_patch(&doc, &json!([{"op": "add", "path": "x", "value": 1}])),
            Err(PatchError::Malformed(_))
        ));
    }

    #[test]
    fn strategic_merge_merges_containers_by_name_and_finalizers_as_a_set() {
        let pod = json!({"metadata": {"labels": {"a": "1"}, "finalizers": ["x"]},
            "spec": {"containers": [{"name": "c", "image": "i:1"}, {"name": "d", "image": "j:1"}]}});
        let p = json!({"metadata": {"labels": {"b": "2", "a": null}, "finalizers": ["y"]},
            "spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "d"}],
                     "containers": [{"name": "d", "image": "j:2"}, {"name": "e", "$patch": "delete"}]}});
        let out = strategic_merge(&pod, &p);
        assert_eq!(
            out,
            Ok(json!({"metadata": {"labels": {"b": "2"}, "finalizers": ["x", "y"]},
                "spec": {"containers": [{"name": "c", "image": "i:1"}, {"name": "d", "image": "j:2"}]}}))
        );
        let del = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]},
            "spec": {"containers": [{"name": "c", "$patch": "delete"}]}});
        let out = strategic_merge(&pod, &del).unwrap_or_default();
        assert_eq!(out["metadata"]["finalizers"], json!([]));
        assert_eq!(out["spec"]["containers"], json!([{"name": "d", "image": "j:1"}]));
        let missing_key = json!({"spec": {"containers": [{"image": "x"}]}});
        assert!(matches!(strategic_merge(&pod, &missing_key), Err(PatchError::Malformed(_))));
    }

    #[test]
    fn apply_removes_what_the_manager_no_longer_applies() {
        let current = json!({"metadata": {"name": "w", "uid": "u", "labels": {"other": "x"}},
            "spec": {"replicas": 4, "scaleStrategy": {"podsToDelete": ["p"], "maxUnavailable": 1}},
            "status": {"replicas": 4}});
        let previous = json!({"metadata": {"name": "w"},
            "spec": {"replicas": 4, "scaleStrategy": {"podsToDelete": ["p"], "maxUnavailable": 1}}});
        let applied = json!({"metadata": {"name": "w"}, "spec": {"replicas": 4, "scaleStrategy": {"maxUnavailable": 1}}});
        let out = apply(&current, Some(&previous), &applied);
        assert_eq!(
            out,
            json!({"metadata": {"name": "w", "uid": "u", "labels": {"other": "x"}},
                "spec": {"replicas": 4, "scaleStrategy": {"maxUnavailable": 1}}, "status": {"replicas": 4}})
        );
        // Without a previous apply, nothing is removed.
        let out = apply(&current, None, &applied);
        assert_eq!(out["spec"]["scaleStrategy"]["podsToDelete"], json!(["p"]));
    }
}
