//! Properties of the admission webhooks (issue 12 item 3), on generated CloneSets with
//! non-ASCII names, huge counts, odd quantities and absent fields:
//! - any body gets an answer or a clear refusal, never a panic;
//! - the mutating patch only adds or replaces, applies to the object as sent, and a second
//!   round over the patched object patches nothing (defaulting is idempotent);
//! - defaulting does not change the validating decision.

use base64::Engine as _;
use kruise_kube::webhook::{Mode, review};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,20}",
        Just("wéb-ü".to_owned()),
        Just("日本".to_owned()),
        Just(String::new()),
        "[a-z]{250,300}",
    ]
}

fn quantity() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::sample::select(vec![
            "0.5", "500m", "1000m", "1", "1.5Gi", "1024Mi", "12e3", "0", "lots", "", "-1"
        ])
        .prop_map(|s| json!(s)),
        any::<i32>().prop_map(|n| json!(n)),
    ]
}

fn int_or_string() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i32>().prop_map(|n| json!(n)),
        prop::sample::select(vec!["20%", "abc%", "12.5%", "3", "%", "100%", "0%"]).prop_map(|s| json!(s)),
    ]
}

/// A CloneSet in JSON where every optional field may be absent.
fn cloneset() -> impl Strategy<Value = Value> {
    (
        name(),
        prop::option::of(prop_oneof![any::<i32>(), Just(i32::MAX), Just(-1)]),
        prop::option::of(name()),
        prop::option::of((quantity(), quantity())),
        prop::option::of(int_or_string()),
        prop::option::of(int_or_string()),
        prop::option::of(prop::sample::select(vec![
            "ReCreate",
            "InPlaceIfPossible",
            "InPlaceOnly",
            "OnDelete",
            "",
        ])),
        prop::option::of(prop::collection::vec(name(), 0..4)),
    )
        .prop_map(|(n, replicas, label, resources, scale_mu, update_mu, ty, pods_to_delete)| {
            let label = label.unwrap_or_else(|| n.clone());
            let mut container = json!({"name": "c", "image": "nginx:1.25"});
            if let Some((cpu, mem)) = resources {
                container["resources"] = json!({"requests": {"cpu": cpu, "memory": mem}});
            }
            let mut spec = Map::new();
            spec.insert("selector".into(), json!({"matchLabels": {"app": label}}));
            spec.insert(
                "template".into(),
                json!({"metadata": {"labels": {"app": label}}, "spec": {"containers": [container]}}),
            );
            if let Some(r) = replicas {
                spec.insert("replicas".into(), json!(r));
            }
            let mut scale = Map::new();
            if let Some(m) = scale_mu {
                scale.insert("maxUnavailable".into(), m);
            }
            if let Some(p) = pods_to_delete {
                scale.insert("podsToDelete".into(), json!(p));
            }
            if !scale.is_empty() {
                spec.insert("scaleStrategy".into(), Value::Object(scale));
            }
            let mut update = Map::new();
            if let Some(m) = update_mu {
                update.insert("maxUnavailable".into(), m);
            }
            if let Some(t) = ty {
                update.insert("type".into(), json!(t));
            }
            if !update.is_empty() {
                spec.insert("updateStrategy".into(), Value::Object(update));
            }
            json!({
                "apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
                "metadata": {"name": n, "namespace": "default"},
                "spec": spec,
            })
        })
}

fn wrap(object: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "5b0c1f0e-0000-4000-8000-000000000001",
            "kind": {"group": "apps.kruise.io", "version": "v1alpha1", "kind": "CloneSet"},
            "resource": {"group": "apps.kruise.io", "version": "v1alpha1", "resource": "clonesets"},
            "name": object["metadata"]["name"], "namespace": "default", "operation": "CREATE",
            "userInfo": {"username": "u"}, "object": object, "oldObject": null, "dryRun": false,
        }
    }))
    .unwrap_or_default()
}

fn answer(object: &Value, mode: Mode) -> Value {
    let out = review(&wrap(object), mode).unwrap_or_else(|e| panic!("refused a well-formed review: {e}"));
    let v: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
    assert_eq!(v["response"]["uid"], json!("5b0c1f0e-0000-4000-8000-000000000001"));
    v["response"].clone()
}

fn patch_of(resp: &Value) -> Option<json_patch::Patch> {
    let text = resp["patch"].as_str()?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).ok()?;
    serde_json::from_slice(&bytes).ok()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_body_gets_an_answer_or_a_clear_refusal(body in prop::collection::vec(any::<u8>(), 0..512)) {
        for mode in [Mode::Validate, Mode::Mutate] {
            if let Err(e) = review(&body, mode) {
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    #[test]
    fn mutation_only_adds_applies_and_is_idempotent(cs in cloneset()) {
        let resp = answer(&cs, Mode::Mutate);
        if resp["allowed"] == json!(false) {
            // Refused only when the object does not decode (e.g. a replica count out of range).
            prop_assert_eq!(&resp["status"]["code"], &json!(400));
            return Ok(());
        }
        let mut patched = cs.clone();
        if let Some(patch) = patch_of(&resp) {
            prop_assert!(patch.0.iter().all(|op| !matches!(op, json_patch::PatchOperation::Remove(_))));
            prop_assert!(json_patch::patch(&mut patched, &patch).is_ok());
        }
        prop_assert!(answer(&patched, Mode::Mutate).get("patch").is_none(), "second round patched");
        prop_assert_eq!(&answer(&patched, Mode::Validate)["allowed"], &answer(&cs, Mode::Validate)["allowed"]);
    }
}
