//! RFC 6902 JSON patches: the one place where they are built and applied (STYLE.md §8).
//!
//! A JSON patch says exactly which fields a write changes, and its `test` operations say what
//! the write was computed from, element by element, so that a concurrent change of those
//! elements fails the write (kube-apiserver answers 422) instead of being overwritten, while a
//! change of anything else (the kubelet's status, another controller's label) merges.
//!
//! - [`diff`] turns two JSON documents (a cached object and the object a plan wants) into the
//!   operations that change only what differs, guarding array elements by their identity key
//!   (`name`, `type`, `uid`) and labels, annotations and container images by their old value.
//! - [`guarded_list`] replaces a whole list (finalizers, ownerReferences, `podsToDelete`)
//!   only if it still is what the cache showed.
//! - [`apply`] applies a patch as kube-apiserver does, all or nothing; a `test` of `null`
//!   passes on an absent member (the API server's JSON patch library does so too), which is
//!   how "the list is still absent" is said.

use serde_json::{Value, json};

/// Escapes one JSON pointer reference token (RFC 6901: `~` as `~0`, `/` as `~1`).
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A `test` operation.
pub fn test(path: &str, value: Value) -> Value {
    json!({"op": "test", "path": path, "value": value})
}

/// An `add` operation.
pub fn add(path: &str, value: Value) -> Value {
    json!({"op": "add", "path": path, "value": value})
}

/// A `replace` operation.
pub fn replace(path: &str, value: Value) -> Value {
    json!({"op": "replace", "path": path, "value": value})
}

/// A `remove` operation.
pub fn remove(path: &str) -> Value {
    json!({"op": "remove", "path": path})
}

/// The operations that set the list at `path` to `new` only if it still is `old` (`None`:
/// absent): a `test` of the whole old list (or of `null`), then `replace` (or `add`).
pub fn guarded_list(path: &str, old: Option<&Value>, new: Value) -> Vec<Value> {
    match old {
        Some(old) if !old.is_null() => vec![test(path, old.clone()), replace(path, new)],
        _ => vec![test(path, Value::Null), add(path, new)],
    }
}

/// True when a changed or removed string at `path` is tested for its old value first: label
/// and annotation values and container images, which the API server stores exactly as sent
/// (quantities and timestamps it may canonicalise, so they are not tested).
fn guarded_leaf(path: &str) -> bool {
    path.starts_with("/metadata/labels/")
        || path.starts_with("/metadata/annotations/")
        || (path.starts_with("/spec/") && path.ends_with("/image"))
}

/// The key naming an element of a list of objects, if both elements carry it with one value.
fn identity<'a>(old: &'a Value, new: &Value) -> Option<(&'static str, &'a Value)> {
    ["name", "type", "uid"].into_iter().find_map(|k| {
        let o = old.get(k).filter(|v| v.is_string())?;
        (new.get(k) == Some(o)).then_some((k, o))
    })
}

/// The operations turning `old` into `new` (both JSON documents), appended to `out`. Objects
/// are compared member by member; lists of the same length element by element (each changed
/// object element guarded by a `test` of its identity key, others by a `test` of the old
/// element); a list that only grew gets its new elements appended; any other changed list is
/// replaced after a `test` of the old list. Unchanged members produce nothing.
pub fn diff(old: &Value, new: &Value, out: &mut Vec<Value>) {
    diff_at("", old, new, out);
}

fn diff_at(path: &str, old: &Value, new: &Value, out: &mut Vec<Value>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, ov) in o {
                let p = format!("{path}/{}", escape(k));
                match n.get(k) {
                    Some(nv) => diff_at(&p, ov, nv, out),
                    None => {
                        if ov.is_string() && guarded_leaf(&p) {
                            out.push(test(&p, ov.clone()));
                        }
                        out.push(remove(&p));
                    }
                }
            }
            for (k, nv) in n.iter().filter(|(k, _)| !o.contains_key(*k)) {
                out.push(add(&format!("{path}/{}", escape(k)), nv.clone()));
            }
        }
        (Value::Array(o), Value::Array(n)) if o.len() == n.len() => {
            for (i, (ov, nv)) in o.iter().zip(n).enumerate() {
                if ov == nv {
                    continue;
                }
                let p = format!("{path}/{i}");
                match identity(ov, nv) {
                    Some((key, id)) if ov.is_object() && nv.is_object() => {
                        out.push(test(&format!("{p}/{key}"), id.clone()));
                        diff_at(&p, ov, nv, out);
                    }
                    _ => {
                        out.push(test(&p, ov.clone()));
                        out.push(replace(&p, nv.clone()));
                    }
                }
            }
        }
        (Value::Array(o), Value::Array(n)) if n.len() > o.len() && n[..o.len()] == o[..] => {
            for nv in &n[o.len()..] {
                out.push(add(&format!("{path}/-"), nv.clone()));
            }
        }
        (Value::Array(_), Value::Array(_)) => {
            out.push(test(path, old.clone()));
            out.push(replace(path, new.clone()));
        }
        _ => {
            if old.is_string() && guarded_leaf(path) {
                out.push(test(path, old.clone()));
            }
            out.push(replace(path, new.clone()));
        }
    }
}

/// Why a JSON patch could not be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("JSON patch operation {index}: {message}")]
pub struct ApplyError {
    /// The failing operation's position in the patch.
    pub index: usize,
    /// True when a `test` operation failed: the object is not what the patch was computed
    /// from (the API server answers 422; adapters plan again from a fresh read).
    pub test_failed: bool,
    /// True when the patch is not a well-formed JSON patch (not an array, an unknown `op`, a
    /// path that is no JSON pointer: the API server answers 400); false when a well-formed
    /// operation does not apply to the document (422).
    pub malformed: bool,
    /// What went wrong.
    pub message: String,
}

/// Applies the JSON patch `ops` (an array of operations) to `doc`, all or nothing, as
/// kube-apiserver does. A `test` of `null` passes on an absent member whose parent exists.
pub fn apply(doc: &mut Value, ops: &Value) -> Result<(), ApplyError> {
    let parse =
        |index: usize, message: String| ApplyError { index, test_failed: false, malformed: true, message };
    let Some(list) = ops.as_array() else {
        return Err(parse(0, "a JSON patch is an array of operations".into()));
    };
    let mut work = doc.clone();
    for (index, op) in list.iter().enumerate() {
        let parsed: json_patch::PatchOperation =
            serde_json::from_value(op.clone()).map_err(|e| parse(index, e.to_string()))?;
        if let json_patch::PatchOperation::Test(t) = &parsed
            && t.value.is_null()
        {
            let path = t.path.as_str();
            let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
            if work.pointer(path).is_none() && work.pointer(parent).is_some() {
                continue;
            }
        }
        json_patch::patch(&mut work, std::slice::from_ref(&parsed)).map_err(|e| ApplyError {
            index,
            test_failed: matches!(e.kind, json_patch::PatchErrorKind::TestFailed),
            malformed: false,
            message: e.to_string(),
        })?;
    }
    *doc = work;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escape_follows_rfc_6901() {
        assert_eq!(escape("apps.kruise.io/state"), "apps.kruise.io~1state");
        assert_eq!(escape("a~b/c"), "a~0b~1c");
    }

    #[test]
    fn diff_of_labels_tests_old_values_and_keeps_other_keys() {
        let old = json!({"metadata": {"labels": {"a": "1", "b/c": "2", "keep": "x"}}});
        let new = json!({"metadata": {"labels": {"a": "9", "keep": "x", "new": "n"}}});
        let mut ops = Vec::new();
        diff(&old, &new, &mut ops);
        assert_eq!(
            ops,
            vec![
                test("/metadata/labels/a", json!("1")),
                replace("/metadata/labels/a", json!("9")),
                test("/metadata/labels/b~1c", json!("2")),
                remove("/metadata/labels/b~1c"),
                add("/metadata/labels/new", json!("n")),
            ]
        );
        // Someone else's label survives; a concurrent change of a tested one fails.
        let mut server = json!({"metadata": {"labels": {"a": "1", "b/c": "2", "keep": "x", "theirs": "t"}}});
        apply(&mut server, &Value::Array(ops.clone())).unwrap();
        assert_eq!(server["metadata"]["labels"], json!({"a": "9", "keep": "x", "new": "n", "theirs": "t"}));
        let mut moved = json!({"metadata": {"labels": {"a": "2", "b/c": "2"}}});
        let err = apply(&mut moved, &Value::Array(ops)).unwrap_err();
        assert!(err.test_failed);
        assert_eq!(moved["metadata"]["labels"]["a"], "2", "nothing applied");
    }

    #[test]
    fn diff_of_named_list_elements_tests_the_name_and_patches_the_field() {
        let old =
            json!({"spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1"}]}});
        let new =
            json!({"spec": {"containers": [{"name": "a", "image": "x:1"}, {"name": "b", "image": "y:2"}]}});
        let mut ops = Vec::new();
        diff(&old, &new, &mut ops);
        assert_eq!(
            ops,
            vec![
                test("/spec/containers/1/name", json!("b")),
                test("/spec/containers/1/image", json!("y:1")),
                replace("/spec/containers/1/image", json!("y:2")),
            ]
        );
        // A field the typed copy does not know survives.
        let mut server = json!({"spec": {"containers": [
            {"name": "a", "image": "x:1"}, {"name": "b", "image": "y:1", "futureField": true}]}});
        apply(&mut server, &Value::Array(ops)).unwrap();
        assert_eq!(
            server["spec"]["containers"][1],
            json!({"name": "b", "image": "y:2", "futureField": true})
        );
    }

    #[test]
    fn diff_appends_to_a_grown_list_and_replaces_a_changed_one_after_a_test() {
        let mut ops = Vec::new();
        diff(&json!({"l": [1]}), &json!({"l": [1, 2]}), &mut ops);
        assert_eq!(ops, vec![add("/l/-", json!(2))]);
        ops.clear();
        diff(&json!({"l": [1, 2]}), &json!({"l": [2]}), &mut ops);
        assert_eq!(ops, vec![test("/l", json!([1, 2])), replace("/l", json!([2]))]);
    }

    #[test]
    fn guarded_list_tests_the_old_list_or_its_absence() {
        let ops = Value::Array(guarded_list("/metadata/finalizers", None, json!(["f"])));
        let mut doc = json!({"metadata": {}});
        apply(&mut doc, &ops).unwrap();
        assert_eq!(doc, json!({"metadata": {"finalizers": ["f"]}}));
        // Someone added a list meanwhile: the test of absence fails.
        let mut doc = json!({"metadata": {"finalizers": ["theirs"]}});
        assert!(apply(&mut doc, &ops).unwrap_err().test_failed);
        let ops = Value::Array(guarded_list("/metadata/finalizers", Some(&json!(["a"])), json!(["a", "b"])));
        let mut doc = json!({"metadata": {"finalizers": ["a", "theirs"]}});
        assert!(apply(&mut doc, &ops).unwrap_err().test_failed);
        assert_eq!(doc["metadata"]["finalizers"], json!(["a", "theirs"]));
    }

    #[test]
    fn apply_refuses_what_is_not_a_patch() {
        let e = apply(&mut json!({}), &json!({"op": "add"})).unwrap_err();
        assert!(!e.test_failed && e.malformed);
        assert!(
            apply(&mut json!({}), &json!([{"op": "add", "path": "x", "value": 1}])).unwrap_err().malformed
        );
        let e = apply(&mut json!({}), &json!([{"op": "remove", "path": "/x"}])).unwrap_err();
        assert!(!e.malformed && !e.test_failed, "a missing path is a 422, not a 400");
        assert!(apply(&mut json!({}), &json!([{"op": "frobnicate", "path": "/a"}])).is_err());
        // A test of null needs the parent to exist.
        assert!(apply(&mut json!({}), &json!([test("/a/b", Value::Null)])).is_err());
    }

    fn doc() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "\\PC{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z/~ü]{1,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Applying the diff of two documents to the first gives the second.
        #[test]
        fn diff_then_apply_gives_the_new_document(old in doc(), new in doc()) {
            let (old, new) = (json!({"root": old}), json!({"root": new}));
            let mut ops = Vec::new();
            diff(&old, &new, &mut ops);
            let mut got = old.clone();
            apply(&mut got, &Value::Array(ops)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(got, new);
        }
    }
}
