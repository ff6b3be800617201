//! Fuzz target: SidecarSet injection (SCS-9..SCS-22) and the upgrade planner on arbitrary
//! structured inputs. An `Arbitrary` description of a pod (containers with non-ASCII names,
//! mounts with `subPathExpr`, env, garbage or valid hash annotations) and of up to six
//! SidecarSets (selectors, namespace selectors, containers and init containers with any inject
//! policy, hot upgrade, shared volumes, transferEnv, patchPodMetadata with any policy and
//! value, canary annotations, injection revisions) is mapped to valid Kubernetes types. Asserts:
//! never panics; on success the RFC 6902 patch applies to the submitted pod and yields the
//! injected pod, which decodes as a Pod again; every container of the submitted pod is still
//! there; injecting twice gives the same result; the planner, run with the injected pod as
//! its only pod, does not panic and is deterministic.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::v1beta1::SidecarSet;
use kruise_core::sidecarset::{self, InjectInput, Input, Operation, patch};
use kruise_core::{Expectations, Features};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

const NAMES: &[&str] = &["a", "b", "envoy", "main", "名前", "é-1", "", "log"];
const TEXT: &[&str] = &["", "x", "{\"k\":1}", "{", "[1]", "{\"ss\":\"h\"}", "null", "é<&>"];

#[derive(Arbitrary, Debug)]
struct ContainerDesc {
    name: u8,
    image: u8,
    hot: bool,
    share: bool,
    share_devices: bool,
    policy: u8,
    native: bool,
    transfer: Option<(u8, u8, bool)>,
    mount: bool,
}

#[derive(Arbitrary, Debug)]
struct SetDesc {
    name: u8,
    selector: u8,
    ns_selector: Option<bool>,
    paused: bool,
    containers: Vec<ContainerDesc>,
    init: Vec<ContainerDesc>,
    patch: Option<(u8, u8, u8)>,
    canary_of: Option<u8>,
    revision: Option<(bool, u8)>,
}

#[derive(Arbitrary, Debug)]
struct Case {
    containers: Vec<(u8, bool, bool)>,
    annotations: Vec<(u8, u8)>,
    label_web: bool,
    namespace_exists: bool,
    sets: Vec<SetDesc>,
    seed: u64,
    sort_gate: bool,
}

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list[usize::from(i) % list.len()]
}

fn container(c: &ContainerDesc) -> Value {
    let name = pick(NAMES, c.name);
    let mut v = json!({
        "name": name,
        "image": pick(&["img:1", "img:2", "", "repo@sha256:abc"], c.image),
        "podInjectPolicy": pick(&["BeforeAppContainer", "AfterAppContainer", "", "Other"], c.policy),
        "upgradeStrategy": if c.hot { json!({"upgradeType": "HotUpgrade", "hotUpgradeEmptyImage": "empty"}) } else { json!({}) },
        "shareVolumePolicy": {"type": if c.share { "enabled" } else { "disabled" }},
    });
    if c.share_devices {
        v["shareVolumeDevicePolicy"] = json!({"type": "enabled"});
    }
    if c.native {
        v["restartPolicy"] = json!("Always");
    }
    if c.mount {
        v["volumeMounts"] = json!([{"name": "v", "mountPath": format!("/m/{name}")}]);
    }
    if let Some((src, env, from_label)) = c.transfer {
        v["transferEnv"] = if from_label {
            json!([{"sourceContainerNameFrom": {"fieldRef": {"fieldPath": "metadata.labels['main']"}}, "envNames": [pick(NAMES, env)]}])
        } else {
            json!([{"sourceContainerName": pick(NAMES, src), "envName": pick(NAMES, env)}])
        };
    }
    v
}

fn sidecarset(d: &SetDesc) -> Option<SidecarSet> {
    let name = format!("ss-{}", d.name % 8);
    let selector = match d.selector % 4 {
        0 => json!({"matchLabels": {"app": "web"}}),
        1 => json!({}),
        2 => json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "db"]}]}),
        _ => json!({"matchExpressions": [{"key": "app", "operator": "Bogus"}]}),
    };
    let mut spec = json!({
        "selector": selector,
        "containers": d.containers.iter().take(4).map(container).collect::<Vec<_>>(),
        "initContainers": d.init.iter().take(3).map(container).collect::<Vec<_>>(),
        "volumes": [{"name": "v", "emptyDir": {}}],
        "injectionStrategy": {"paused": d.paused},
        "imagePullSecrets": [{"name": "s"}],
    });
    if let Some(b) = d.ns_selector {
        spec["namespaceSelector"] = json!({"matchLabels": {"team": if b { "a" } else { "b" }}});
    }
    if let Some((k, v, p)) = d.patch {
        spec["patchPodMetadata"] = json!([{"annotations": {pick(NAMES, k): pick(TEXT, v)},
            "patchPolicy": pick(&["Retain", "Overwrite", "MergePatchJson", ""], p)}]);
    }
    if let Some((by_name, v)) = d.revision {
        spec["injectionStrategy"]["revision"] =
            if by_name { json!({"revisionName": format!("r{}", v % 3)}) } else { json!({"customVersion": format!("v{}", v % 3)}) };
    }
    let mut annotations = json!({});
    if let Some(b) = d.canary_of {
        annotations = json!({"apps.kruise.io/sidecarset-canary": "true", "apps.kruise.io/sidecarset-base": format!("ss-{}", b % 8)});
    }
    let mut s: SidecarSet =
        serde_json::from_value(json!({"metadata": {"name": name, "annotations": annotations}, "spec": spec})).ok()?;
    kruise_api::defaults::default(&mut s);
    Some(s)
}

fn revision(i: usize) -> k8s_openapi::api::apps::v1::ControllerRevision {
    serde_json::from_value(json!({
        "metadata": {"name": format!("r{i}"), "labels": {"kruise.io/sidecarset-name": format!("ss-{i}"),
            "apps.kruise.io/sidecarset-custom-version": format!("v{i}")}},
        "revision": i,
        "data": {"spec": {"containers": [{"name": "old", "image": "old:1"}]}}
    }))
    .expect("revision")
}

fuzz_target!(|case: Case| {
    let containers: Vec<Value> = case
        .containers
        .iter()
        .take(4)
        .map(|(n, injected, expr)| {
            let mut c = json!({"name": pick(NAMES, *n), "image": "app:1",
                "env": [{"name": "a", "value": "1"}, {"name": "envoy", "value": "2"}],
                "volumeMounts": [{"name": "d", "mountPath": "/d", "subPathExpr": if *expr { "$(a)/$(missing)" } else { "" }}]});
            if *injected {
                c["env"].as_array_mut().expect("array").push(json!({"name": "IS_INJECTED", "value": "true"}));
            }
            c
        })
        .collect();
    let annotations: BTreeMap<String, String> = case
        .annotations
        .iter()
        .take(4)
        .map(|(k, v)| {
            let key = pick(&["kruise.io/sidecarset-hash", "kruise.io/sidecarset-injected-list", "a", "名前",
                "kruise.io/sidecarset-working-hotupgrade-container"], *k);
            (key.to_owned(), pick(TEXT, *v).to_owned())
        })
        .collect();
    let labels = if case.label_web { json!({"app": "web", "main": "a"}) } else { json!({"app": "other"}) };
    let Ok(pod) = serde_json::from_value::<Pod>(json!({
        "metadata": {"name": "p", "namespace": "ns", "labels": labels, "annotations": annotations},
        "spec": {"containers": containers}
    })) else {
        return;
    };
    let sets: Vec<SidecarSet> = case.sets.iter().take(6).filter_map(sidecarset).collect();
    let revisions: Vec<_> = (0..3).map(revision).collect();
    let ns_labels = BTreeMap::from([("team".to_owned(), "a".to_owned())]);
    let input = InjectInput {
        pod: &pod,
        operation: Operation::Create,
        namespace_labels: case.namespace_exists.then_some(&ns_labels),
        sidecarsets: &sets,
        revisions: &revisions,
        now: "2026-01-01T00:00:00Z".parse().expect("time"),
        seed: case.seed,
        features: Features { enable_sort_sidecar_container_by_name: case.sort_gate, ..Features::default() },
    };
    let Ok(inj) = sidecarset::inject(&input) else { return };
    assert_eq!(sidecarset::inject(&input).ok().as_ref(), Some(&inj), "deterministic");
    let mut doc = serde_json::to_value(&pod).expect("encode");
    patch::apply(&mut doc, &inj.patch).expect("the patch applies");
    assert_eq!(doc, serde_json::to_value(&inj.pod).expect("encode"), "patch result is the injected pod");
    let again: Pod = serde_json::from_value(doc).expect("the result is a pod");
    assert_eq!(again, inj.pod);
    let after = &inj.pod.spec.as_ref().expect("spec").containers;
    for c in &pod.spec.as_ref().expect("spec").containers {
        assert!(after.iter().any(|x| x.name == c.name), "container {} kept", c.name);
    }
    // The planner over the injected pod.
    let pods = [inj.pod.clone()];
    let namespaces = BTreeMap::from([("ns".to_owned(), ns_labels.clone())]);
    let e = Expectations::default();
    for s in &sets {
        let input = Input {
            sidecarset: s,
            pods: &pods,
            namespaces: &namespaces,
            revisions: &revisions,
            revision_namespace: sidecarset::DEFAULT_REVISION_NAMESPACE,
            now: "2026-01-01T00:01:00Z".parse().expect("time"),
            expectations: &e,
        };
        let first = sidecarset::plan(&input);
        assert_eq!(first, sidecarset::plan(&input), "deterministic plan");
        if let Ok(p) = first {
            let _ = sidecarset::reconcile::writes(&input, &p);
        }
    }
});
