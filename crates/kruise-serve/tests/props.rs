//! Properties of the patch formats and selectors the server applies, over generated objects
//! with non-ASCII keys, deep nesting, large numbers and absent fields.

use std::collections::BTreeMap;

use kruise_serve::patch::{apply, json_patch, strategic_merge};
use kruise_serve::select::{labels_match, parse_label_selector};
use proptest::prelude::*;
use serde_json::{Value, json};

fn key() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z]{1,6}", "[α-ω]{1,4}", "[名前値]{1,3}", Just("a/b~c".to_owned())]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(json!(u64::MAX)),
        "[a-zé名]{0,8}".prop_map(Value::from),
    ]
}

fn doc() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(key(), doc(), 0..5).prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn pointer_token(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

proptest! {
    /// A `test` of what a path holds passes; `add` then `remove` of a new key is the
    /// identity; a failed `test` is an error (the server then writes nothing).
    #[test]
    fn json_patch_test_add_remove(d in object(), k in key(), v in doc()) {
        for (existing, value) in d.as_object().into_iter().flatten() {
            let path = format!("/{}", pointer_token(existing));
            prop_assert_eq!(json_patch(&d, &json!([{"op": "test", "path": path, "value": value}])), Ok(d.clone()));
            let other = json!({"not": [value.clone()]});
            let failed = json_patch(&d, &json!([{"op": "test", "path": path, "value": other}]));
            prop_assert!(failed.is_err());
        }
        if d.get(&k).is_none() {
            let path = format!("/{}", pointer_token(&k));
            let ops = json!([{"op": "add", "path": path, "value": v}, {"op": "remove", "path": path}]);
            prop_assert_eq!(json_patch(&d, &ops), Ok(d.clone()));
        }
    }

    /// An empty strategic merge patch changes nothing.
    #[test]
    fn empty_strategic_patch_is_identity(d in object()) {
        prop_assert_eq!(strategic_merge(&d, &json!({})), Ok(d));
    }

    /// Applying the same configuration again changes nothing, and every field applied is set.
    #[test]
    fn apply_is_idempotent(current in object(), applied in object()) {
        let once = apply(&current, None, &applied);
        let twice = apply(&once, Some(&applied), &applied);
        prop_assert_eq!(&once, &twice);
        for (k, v) in applied.as_object().into_iter().flatten() {
            if k != "status" && k != "metadata" && !v.is_null() && !v.is_object() {
                prop_assert_eq!(once.get(k), Some(v));
            }
        }
    }

    /// `k=v,...` matches exactly the label sets that hold every pair.
    #[test]
    fn equality_selectors_match_exactly(
        want in prop::collection::btree_map("[a-z名]{1,5}", "[a-z値0-9]{0,5}", 0..4),
        have in prop::collection::btree_map("[a-z名]{1,5}", "[a-z値0-9]{0,5}", 0..6),
    ) {
        let text: Vec<String> = want.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let selector = parse_label_selector(&text.join(","));
        prop_assert!(selector.is_ok());
        let selector = selector.unwrap_or_default();
        let obj = json!({"metadata": {"labels": have}});
        let expected = want.iter().all(|(k, v)| have.get(k) == Some(v));
        prop_assert_eq!(labels_match(&selector, &obj), expected);
        let empty: BTreeMap<String, String> = BTreeMap::new();
        prop_assert_eq!(labels_match(&selector, &json!({"metadata": {"labels": empty}})), want.is_empty());
    }
}
