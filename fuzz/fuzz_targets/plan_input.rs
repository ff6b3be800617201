//! Fuzz target: what `kruise plan` reads, decoded and planned. The input is up to three
//! documents separated by NUL bytes: the workload (YAML or JSON, any kind; CloneSets of either
//! version are planned), the pods (a `List` as `kubectl get pods -o json` prints it, or a JSON
//! array) and the ControllerRevisions (same shapes). Must never panic; a plan must be the same
//! when computed twice (CS-91).
#![no_main]

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::any::AnyResource;
use kruise_api::convert::cloneset_to_v1beta1;
use kruise_core::cloneset::fixtures::ts;
use kruise_core::cloneset::{Input, plan};
use kruise_core::{Expectations, Features};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn document(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok().or_else(|| serde_saphyr::from_str(text).ok())
}

/// A `List` (`items`) or a bare array of `T`; items that do not decode are skipped, as a
/// lenient reader would.
fn items<T: DeserializeOwned>(text: &str) -> Vec<T> {
    let Some(v) = document(text) else { return Vec::new() };
    let list = match v {
        Value::Array(a) => a,
        Value::Object(mut o) => match o.remove("items") {
            Some(Value::Array(a)) => a,
            _ => vec![Value::Object(o)],
        },
        _ => return Vec::new(),
    };
    list.into_iter().filter_map(|v| serde_json::from_value(v).ok()).collect()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.splitn(3, '\0');
    let workload = parts.next().unwrap_or_default();
    let pods: Vec<Pod> = items(parts.next().unwrap_or_default());
    let revisions: Vec<ControllerRevision> = items(parts.next().unwrap_or_default());
    let Some(v) = document(workload) else { return };
    let Ok(mut obj) = AnyResource::from_value(v) else { return };
    obj.apply_defaults();
    let cs = match obj {
        AnyResource::CloneSetV1beta1(cs) => cs,
        AnyResource::CloneSetV1alpha1(cs) => cloneset_to_v1beta1(&cs),
        _ => return,
    };
    let exp = Expectations::new();
    let input = Input {
        cloneset: &cs,
        pods: (&pods).into(),
        pvcs: &[],
        revisions: &revisions,
        nodes: &[],
        now: ts(2_000_000_000),
        id_seed: 42,
        features: Features::default(),
        expectations: &exp,
        pub_decisions: None,
    };
    let first = plan(&input);
    if let Ok(p) = &first {
        let _ = kruise_core::cloneset::reconcile::writes(&input, p);
        let _ = serde_json::to_string(p);
    }
    assert_eq!(plan(&input), first, "same input, different plan");
});
