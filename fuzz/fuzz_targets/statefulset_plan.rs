//! Fuzz target: the Advanced StatefulSet planner on arbitrary structured inputs. An
//! `Arbitrary` description of a spec (replicas, policy, partition, maxUnavailable, reserved
//! ordinals and ranges, start ordinal, retention policy, in-place, claim templates) and a pod
//! population (names with any ordinal, leading zeros, phases, readiness, revisions,
//! terminating, lifecycle states, specified-delete) is turned into Kubernetes objects, then
//! the invariants of the property tests are asserted: never panics; a bad spec is an error
//! naming a field; no PVC is ever deleted; creations only on free replica slots, once each;
//! nothing updated inside the partition (ASTS-31, ordered mode); the same input twice, or listed in
//! another order, or as a `PodTable`, gives the same plan.
#![no_main]

use arbitrary::Arbitrary;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::{ReservedOrdinals, StatefulSet};
use kruise_core::statefulset::{Gates, Input, PodTable, ReplicaRange, parse_ordinal, plan, revision};
use kruise_core::{Expectations, Features};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

#[derive(Arbitrary, Debug)]
enum Reserve {
    Int(u8),
    Range(u8, u8),
}

#[derive(Arbitrary, Debug)]
struct PodDesc {
    ordinal: u8,
    leading_zero: bool,
    phase: u8,
    ready: bool,
    new_revision: bool,
    terminating: bool,
    state: u8,
    specified_delete: bool,
}

#[derive(Arbitrary, Debug)]
struct Case {
    replicas: u8,
    parallel: bool,
    on_delete: bool,
    partition: u8,
    max_unavailable: u8,
    percent: bool,
    reserve: Vec<Reserve>,
    start: Option<u8>,
    when_scaled_delete: bool,
    in_place: bool,
    claims: bool,
    unordered: bool,
    pods: Vec<PodDesc>,
    min_ready: u8,
}

fn set(c: &Case, image: &str) -> Option<StatefulSet> {
    let reserve: Vec<IntOrString> = c
        .reserve
        .iter()
        .take(4)
        .map(|r| match r {
            Reserve::Int(i) => IntOrString::Int(i32::from(*i % 40)),
            Reserve::Range(a, b) => IntOrString::String(format!("{}-{}", a % 40, b % 40)),
        })
        .collect();
    let mu =
        if c.percent { json!(format!("{}%", c.max_unavailable % 101)) } else { json!(c.max_unavailable % 6) };
    let mut ru = json!({"partition": c.partition % 40, "maxUnavailable": mu,
        "podUpdatePolicy": if c.in_place { "InPlaceIfPossible" } else { "ReCreate" },
        "minReadySeconds": c.min_ready % 3 * 10});
    if c.unordered && c.parallel {
        ru["unorderedUpdate"] = json!({"priorityStrategy": {"orderPriority": [{"orderedKey": "rank"}]}});
    }
    let mut v = json!({
        "apiVersion": "apps.kruise.io/v1beta1", "kind": "StatefulSet",
        "metadata": {"name": "wéb", "namespace": "ns", "uid": "set-uid", "generation": 3},
        "spec": {
            "replicas": c.replicas % 40,
            "podManagementPolicy": if c.parallel { "Parallel" } else { "OrderedReady" },
            "selector": {"matchLabels": {"app": "w"}},
            "template": {"metadata": {"labels": {"app": "w"}}, "spec": {"containers": [{"name": "c", "image": image}]}},
            "reserveOrdinals": reserve,
            "persistentVolumeClaimRetentionPolicy": {
                "whenScaled": if c.when_scaled_delete { "Delete" } else { "Retain" }, "whenDeleted": "Retain"},
            "updateStrategy": if c.on_delete { json!({"type": "OnDelete"}) } else { json!({"type": "RollingUpdate", "rollingUpdate": ru}) },
        }
    });
    if let Some(s) = c.start {
        v["spec"]["ordinals"] = json!({"start": s % 10});
    }
    if c.claims {
        v["spec"]["volumeClaimTemplates"] =
            json!([{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]);
    }
    serde_json::from_value(v).ok()
}

fn pod(d: &PodDesc, r1: &str, r2: &str) -> Option<Pod> {
    let o = d.ordinal % 48;
    let name = if d.leading_zero { format!("wéb-0{o}") } else { format!("wéb-{o}") };
    let phase = ["Running", "Pending", "Failed", "Succeeded", ""][usize::from(d.phase % 5)];
    let state =
        ["", "Normal", "PreparingNormal", "PreparingUpdate", "Updating", "Updated", "PreparingDelete"]
            [usize::from(d.state % 7)];
    let mut labels = json!({"app": "w", "controller-revision-hash": if d.new_revision { r2 } else { r1 }, "rank": format!("r{}", o % 7)});
    if !state.is_empty() {
        labels["lifecycle.apps.kruise.io/state"] = json!(state);
    }
    if d.specified_delete {
        labels["apps.kruise.io/specified-delete"] = json!("true");
    }
    let mut v = json!({
        "metadata": {"name": name, "namespace": "ns", "uid": format!("uid-{name}"), "labels": labels,
            "ownerReferences": [{"apiVersion": "apps.kruise.io/v1beta1", "kind": "StatefulSet", "name": "wéb",
                "uid": "set-uid", "controller": true}]},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": if d.ready { "True" } else { "False" },
            "lastTransitionTime": "2024-01-01T00:00:00Z"}]}
    });
    if d.terminating {
        v["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:10:00Z");
    }
    serde_json::from_value(v).ok()
}

fuzz_target!(|c: Case| {
    let Some(old) = set(&c, "i:1") else { return };
    let Some(mut new) = set(&c, "i:2") else { return };
    let r1 = revision::resolve(&old, &[]);
    let rev1 = r1.sorted[r1.update].clone();
    let r2 = revision::resolve(&new, std::slice::from_ref(&rev1));
    let rev2 = r2.sorted[r2.update].clone();
    let (n1, n2) = (r1.update_name().to_owned(), r2.update_name().to_owned());
    new.status = Some(kruise_api::apps::v1beta1::StatefulSetStatus {
        current_revision: n1.clone(),
        ..Default::default()
    });
    let pods: Vec<Pod> = c.pods.iter().take(40).filter_map(|d| pod(d, &n1, &n2)).collect();
    let revisions = [rev1, rev2];
    let e = Expectations::default();
    let gates = Gates { stateful_set_start_ordinal: true, ..Gates::default() };
    let input = Input {
        statefulset: &new,
        pods: (&pods).into(),
        pvcs: &[],
        revisions: &revisions,
        storage_classes: &[],
        now: "2024-01-01T01:00:00Z".parse().unwrap(),
        features: Features::default(),
        gates,
        expectations: &e,
    };
    let p = match plan(&input) {
        Ok(p) => p,
        Err(err) => {
            // A refused spec names a field of it.
            assert!(
                err.to_string().starts_with("spec.") || err.to_string().starts_with("metadata."),
                "{err}"
            );
            return;
        }
    };
    assert_eq!(p.count("DeletePvc"), 0, "the planner never deletes a PVC");
    let start = i64::from(c.start.map_or(0, |s| s % 10));
    let range = ReplicaRange::new(
        start,
        i64::from(c.replicas % 40),
        &ReservedOrdinals::parse(&new.spec.reserve_ordinals),
    );
    let mut created = std::collections::BTreeSet::new();
    for a in p.actions.iter().filter(|a| a.kind.name() == "CreatePod") {
        let name = a.pod.clone().unwrap_or_default();
        let (_, o) = parse_ordinal(&name);
        assert!(range.is_slot(i64::from(o)), "{name} is not a replica slot");
        assert!(created.insert(name.clone()), "{name} created twice");
        assert!(!pods.iter().any(|x| x.metadata.name.as_deref() == Some(name.as_str())), "{name} exists");
    }
    let kept: std::collections::BTreeSet<String> =
        range.slots().take(usize::from(c.partition % 40)).map(|o| format!("wéb-{o}")).collect();
    // Ordered mode keeps the first `partition` slots; unordered mode keeps any `partition` pods.
    let ordered = !(c.unordered && c.parallel);
    for a in p.actions.iter().filter(|_| ordered) {
        if a.reason.kind() == "Update" {
            assert!(!kept.contains(a.pod.as_deref().unwrap_or_default()), "{a:?} inside the partition");
        }
    }
    assert_eq!(plan(&input).ok().as_ref(), Some(&p), "same input, same plan");
    let mut reversed = pods.clone();
    reversed.reverse();
    let again = plan(&Input { pods: (&reversed).into(), ..input }).ok();
    assert_eq!(again.as_ref(), Some(&p), "pod order does not matter");
    // The same pods from a PodTable (names unique: a table keeps one pod per name).
    let names: std::collections::BTreeSet<&str> =
        pods.iter().filter_map(|p| p.metadata.name.as_deref()).collect();
    if names.len() == pods.len() {
        let table = PodTable::from_pods(&new, pods.iter().cloned()).expect("named pods");
        let from_table = plan(&Input { pods: (&table).into(), ..input }).ok();
        assert_eq!(from_table.as_ref(), Some(&p), "a PodTable gives the slice's plan");
    }
});
