//! SidecarSet tests, named after the spec rules (SCS-n): injection, the upgrade planner, the
//! worked example of spec §10, and property tests.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::v1beta1::SidecarSet;
use kruise_api::keys;
use serde_json::{Value, json};

use super::*;
use crate::features::Features;
use crate::plan::{ActionKind, SidecarSetAction};

// ---- fixtures -----------------------------------------------------------------------------

pub(crate) fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_767_225_600 + s).expect("valid")
}

/// A SidecarSet from a JSON spec, defaulted (SCS-5), with hash annotations `<name>-hash` /
/// `<name>-wo`.
pub(crate) fn ss(name: &str, spec: Value) -> SidecarSet {
    let mut s: SidecarSet = serde_json::from_value(json!({
        "apiVersion": "apps.kruise.io/v1beta1", "kind": "SidecarSet",
        "metadata": {"name": name, "resourceVersion": "7", "generation": 1,
            "annotations": {keys::SIDECARSET_HASH: format!("{name}-hash"),
                            keys::SIDECARSET_HASH_WITHOUT_IMAGE: format!("{name}-wo")}},
        "spec": spec,
    }))
    .expect("sidecarset fixture");
    let anns = s.metadata.annotations.clone();
    kruise_api::defaults::default(&mut s);
    s.metadata.annotations = anns;
    s
}

/// A minimal SidecarSet selecting `app=web` with one sidecar `name:image`.
pub(crate) fn simple(name: &str, sidecar: &str, image: &str) -> SidecarSet {
    ss(
        name,
        json!({"selector": {"matchLabels": {"app": "web"}},
        "containers": [{"name": sidecar, "image": image}]}),
    )
}

/// A pod from JSON.
pub(crate) fn pod(v: Value) -> Pod {
    serde_json::from_value(v).expect("pod fixture")
}

/// A new pod `web-0` labelled `app=web` with container `nginx`.
pub(crate) fn new_pod() -> Pod {
    pod(json!({"metadata": {"name": "web-0", "namespace": "ns", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1"}]}}))
}

pub(crate) fn run(pod: &Pod, sets: &[SidecarSet]) -> Result<Injection, InjectError> {
    run_with(pod, sets, &[], Some(&BTreeMap::new()), 0)
}

pub(crate) fn run_with(
    pod: &Pod,
    sets: &[SidecarSet],
    revisions: &[ControllerRevision],
    ns: Option<&BTreeMap<String, String>>,
    seed: u64,
) -> Result<Injection, InjectError> {
    let inj = inject(&InjectInput {
        pod,
        operation: Operation::Create,
        namespace_labels: ns,
        sidecarsets: sets,
        revisions,
        now: at(0),
        seed,
        features: Features::default(),
    })?;
    // Every patch applies and yields the injected pod.
    let mut doc = serde_json::to_value(pod).unwrap();
    patch::apply(&mut doc, &inj.patch).expect("patch applies");
    assert_eq!(doc, serde_json::to_value(&inj.pod).unwrap(), "patch result equals the injected pod");
    Ok(inj)
}

fn names(p: &Pod) -> Vec<&str> {
    p.spec.as_ref().unwrap().containers.iter().map(|c| c.name.as_str()).collect()
}

fn init_names(p: &Pod) -> Vec<&str> {
    p.spec.as_ref().unwrap().init_containers.iter().flatten().map(|c| c.name.as_str()).collect()
}

fn ann<'p>(p: &'p Pod, k: &str) -> Option<&'p str> {
    p.metadata.annotations.as_ref()?.get(k).map(String::as_str)
}

fn env_of<'p>(p: &'p Pod, c: &str) -> Vec<(&'p str, Option<&'p str>)> {
    p.spec
        .as_ref()
        .unwrap()
        .containers
        .iter()
        .chain(p.spec.as_ref().unwrap().init_containers.iter().flatten())
        .find(|x| x.name == c)
        .map(|x| x.env.iter().flatten().map(|e| (e.name.as_str(), e.value.as_deref())).collect())
        .unwrap_or_default()
}

// ---- injection ----------------------------------------------------------------------------

#[test]
fn scs_8_records_written_byte_exact() {
    let mut s = simple("log", "agent", "agent:1");
    s.status = Some(kruise_api::apps::v1beta1::SidecarSetStatus {
        latest_revision: "log-abc".into(),
        ..Default::default()
    });
    let inj = run(&new_pod(), &[s]).unwrap();
    assert_eq!(
        ann(&inj.pod, keys::SIDECARSET_HASH),
        Some(
            r#"{"log":{"updateTimestamp":"2026-01-01T00:00:00Z","hash":"log-hash","sidecarSetName":"log","sidecarList":["agent"],"controllerRevision":"log-abc"}}"#
        )
    );
    assert_eq!(
        ann(&inj.pod, keys::SIDECARSET_HASH_WITHOUT_IMAGE),
        Some(
            r#"{"log":{"updateTimestamp":"2026-01-01T00:00:00Z","hash":"log-wo","sidecarSetName":"log","sidecarList":["agent"]}}"#
        )
    );
    assert_eq!(ann(&inj.pod, keys::SIDECARSET_INJECTED_LIST), Some("log"));
}

#[test]
fn scs_8_existing_legacy_records_are_kept_and_bad_ones_fail_admission() {
    let mut p = new_pod();
    p.metadata.annotations =
        Some(BTreeMap::from([(keys::SIDECARSET_HASH.to_owned(), r#"{"old":"h0"}"#.to_owned())]));
    let inj = run(&p, &[simple("log", "agent", "agent:1")]).unwrap();
    let h = ann(&inj.pod, keys::SIDECARSET_HASH).unwrap();
    assert!(h.starts_with(r#"{"log":{"#), "{h}");
    assert!(
        h.ends_with(
            r#""old":{"updateTimestamp":null,"hash":"h0","sidecarSetName":"old","sidecarList":null}}"#
        ),
        "{h}"
    );
    p.metadata.annotations = Some(BTreeMap::from([(keys::SIDECARSET_HASH.to_owned(), "[1]".to_owned())]));
    let e = run(&p, &[simple("log", "agent", "agent:1")]).unwrap_err();
    assert!(
        matches!(&e, InjectError::PodAnnotation { path, .. } if path.to_string().contains(keys::SIDECARSET_HASH)),
        "{e}"
    );
}

#[test]
fn scs_6_pod_record_carries_the_computed_hash() {
    // SidecarSet without annotations: defaulting computes them; injection copies them.
    let mut s = simple("log", "container1", "test-image");
    // The upstream vector's container, as written (no container defaults).
    s.spec.containers =
        vec![serde_json::from_value(json!({"name": "container1", "image": "test-image"})).unwrap()];
    let a = s.metadata.annotations.as_mut().unwrap();
    a.insert(
        keys::SIDECARSET_HASH.into(),
        kruise_api::defaults::sidecarset::hash::sidecarset_hash(&s.spec.containers, &[], false),
    );
    let inj = run(&new_pod(), &[s]).unwrap();
    assert!(
        ann(&inj.pod, keys::SIDECARSET_HASH)
            .unwrap()
            .contains("w26c4x8fz245642fdv499b464248f974xddx4x55z5dw55bc6x66464fxz77dc78")
    );
}

#[test]
fn scs_9_inactive_pods_are_not_injected() {
    for (phase, deleting) in [("Succeeded", false), ("Failed", false), ("Running", true)] {
        let mut p = new_pod();
        p.status = Some(serde_json::from_value(json!({"phase": phase})).unwrap());
        if deleting {
            p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(0)));
        }
        let inj = run(&p, &[simple("log", "agent", "a:1")]).unwrap();
        assert_eq!(inj.skipped, Some(SkipReason::PodNotActive));
        assert!(inj.patch.is_empty());
    }
}

#[test]
fn scs_10_existing_pods_are_never_injected() {
    let inj = inject(&InjectInput {
        pod: &new_pod(),
        operation: Operation::Update,
        namespace_labels: None,
        sidecarsets: &[simple("log", "agent", "a:1")],
        revisions: &[],
        now: at(0),
        seed: 0,
        features: Features::default(),
    })
    .unwrap();
    assert_eq!(inj.skipped, Some(SkipReason::ExistingPod));
    assert!(inj.patch.is_empty());
    assert_eq!(inj.pod, new_pod());
}

#[test]
fn scs_11_matching_rules() {
    let mut paused = simple("a-paused", "x", "x:1");
    paused.spec.injection_strategy.paused = true;
    let empty_sel = ss("b-empty", json!({"selector": {}, "containers": [{"name": "y", "image": "y"}]}));
    let other = ss(
        "c-other",
        json!({"selector": {"matchLabels": {"app": "db"}}, "containers": [{"name": "z", "image": "z"}]}),
    );
    let ns_sel = ss(
        "d-ns",
        json!({"selector": {"matchLabels": {"app": "web"}},
        "namespaceSelector": {"matchLabels": {"team": "a"}}, "containers": [{"name": "w", "image": "w"}]}),
    );
    let sets = [paused, empty_sel, other, ns_sel];
    let inj = run(&new_pod(), &sets).unwrap();
    let outcomes: Vec<&Outcome> = inj.decisions.iter().map(|d| &d.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            &Outcome::Paused,
            &Outcome::EmptySelector,
            &Outcome::SelectorNotMatched,
            &Outcome::NamespaceNotMatched
        ]
    );
    assert!(inj.patch.is_empty());
    let team_a = BTreeMap::from([("team".to_owned(), "a".to_owned())]);
    let inj = run_with(&new_pod(), &sets, &[], Some(&team_a), 0).unwrap();
    assert_eq!(names(&inj.pod), vec!["w", "nginx"]);
    let inj = run_with(&new_pod(), &sets, &[], None, 0).unwrap();
    assert_eq!(inj.decisions[3].outcome, Outcome::NamespaceNotFound);
    // An unparsable selector fails admission.
    let bad = ss(
        "e-bad",
        json!({"selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]},
        "containers": [{"name": "q", "image": "q"}]}),
    );
    assert!(matches!(run(&new_pod(), &[bad]), Err(InjectError::SidecarSet { .. })));
}

#[test]
fn scs_12_sidecarsets_are_taken_by_name() {
    let sets = [simple("zeta", "z", "z:1"), simple("alpha", "a", "a:1")];
    let inj = run(&new_pod(), &sets).unwrap();
    assert_eq!(names(&inj.pod), vec!["a", "z", "nginx"]);
    assert_eq!(ann(&inj.pod, keys::SIDECARSET_INJECTED_LIST), Some("alpha,zeta"));
}

fn revision(name: &str, ss_name: &str, number: i64, image: &str, custom: Option<&str>) -> ControllerRevision {
    let mut labels = json!({keys::SIDECARSET_NAME_LABEL: ss_name});
    if let Some(c) = custom {
        labels[keys::SIDECARSET_CUSTOM_VERSION] = json!(c);
    }
    serde_json::from_value(json!({"metadata": {"name": name, "namespace": "kruise-system", "labels": labels,
        "annotations": {keys::SIDECARSET_HASH: format!("{name}-h")}},
        "revision": number,
        "data": {"spec": {"$patch": "replace", "containers": [{"name": "agent", "image": image}]}}}))
    .unwrap()
}

fn image_of<'p>(p: &'p Pod, c: &str) -> &'p str {
    p.spec
        .as_ref()
        .unwrap()
        .containers
        .iter()
        .find(|x| x.name == c)
        .and_then(|x| x.image.as_deref())
        .unwrap_or_default()
}

#[test]
fn scs_13_injection_revision() {
    let revs = [
        revision("log-r1", "log", 1, "agent:old", Some("v1")),
        revision("log-r2", "log", 2, "agent:older", Some("v1")),
    ];
    let mut s = simple("log", "agent", "agent:new");
    s.spec.injection_strategy.revision =
        Some(serde_json::from_value(json!({"revisionName": "log-r1"})).unwrap());
    let inj = run_with(&new_pod(), &[s.clone()], &revs, Some(&BTreeMap::new()), 0).unwrap();
    assert_eq!(image_of(&inj.pod, "agent"), "agent:old");
    assert!(ann(&inj.pod, keys::SIDECARSET_HASH).unwrap().contains(r#""hash":"log-r1-h""#));
    assert!(ann(&inj.pod, keys::SIDECARSET_HASH).unwrap().contains(r#""controllerRevision":"log-r1""#));
    // The hash without image is recomputed from the revision when it lacks the annotation.
    assert!(!ann(&inj.pod, keys::SIDECARSET_HASH_WITHOUT_IMAGE).unwrap().contains("log-wo"));
    // customVersion: the highest revision number wins.
    s.spec.injection_strategy.revision =
        Some(serde_json::from_value(json!({"customVersion": "v1"})).unwrap());
    let inj = run_with(&new_pod(), &[s.clone()], &revs, Some(&BTreeMap::new()), 0).unwrap();
    assert_eq!(image_of(&inj.pod, "agent"), "agent:older");
    // Not found: admission fails.
    s.spec.injection_strategy.revision =
        Some(serde_json::from_value(json!({"customVersion": "v9"})).unwrap());
    assert!(matches!(
        run_with(&new_pod(), &[s.clone()], &revs, Some(&BTreeMap::new()), 0),
        Err(InjectError::RevisionNotFound { .. })
    ));
    // Partial: a pod outside updateStrategy.selector gets the history revision; inside, the
    // percent partition draws (100% ⇒ history, 0% ⇒ current).
    s.spec.injection_strategy.revision =
        Some(serde_json::from_value(json!({"revisionName": "log-r1", "policy": "Partial"})).unwrap());
    s.spec.update_strategy.selector =
        Some(serde_json::from_value(json!({"matchLabels": {"canary": "true"}})).unwrap());
    let inj = run_with(&new_pod(), &[s.clone()], &revs, Some(&BTreeMap::new()), 0).unwrap();
    assert_eq!(image_of(&inj.pod, "agent"), "agent:old");
    let mut canary = new_pod();
    canary.metadata.labels.as_mut().unwrap().insert("canary".into(), "true".into());
    for (p, want) in [("100%", "agent:old"), ("0%", "agent:new")] {
        s.spec.update_strategy.partition =
            Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(p.into()));
        for seed in 0..20 {
            let inj = run_with(&canary, &[s.clone()], &revs, Some(&BTreeMap::new()), seed).unwrap();
            assert_eq!(image_of(&inj.pod, "agent"), want, "partition {p} seed {seed}");
        }
    }
    // A 50% partition picks both over seeds.
    s.spec.update_strategy.partition =
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String("50%".into()));
    let got: std::collections::BTreeSet<String> = (0..40)
        .map(|seed| {
            image_of(
                &run_with(&canary, &[s.clone()], &revs, Some(&BTreeMap::new()), seed).unwrap().pod,
                "agent",
            )
            .to_owned()
        })
        .collect();
    assert_eq!(got.len(), 2);
    // Paused update strategy: history.
    s.spec.update_strategy.paused = true;
    s.spec.update_strategy.partition = None;
    let inj = run_with(&canary, &[s.clone()], &revs, Some(&BTreeMap::new()), 0).unwrap();
    assert_eq!(image_of(&inj.pod, "agent"), "agent:old");
    // Unparsable update selector under Partial: admission fails.
    s.spec.update_strategy.paused = false;
    s.spec.update_strategy.selector =
        Some(serde_json::from_value(json!({"matchExpressions": [{"key": "a", "operator": "Bad"}]})).unwrap());
    assert!(run_with(&canary, &[s], &revs, Some(&BTreeMap::new()), 0).is_err());
}

#[test]
fn scs_14_canary_replaces_its_base() {
    let base = simple("base", "agent", "agent:1");
    let mut canary = simple("canary", "agent", "agent:2");
    let a = canary.metadata.annotations.as_mut().unwrap();
    a.insert(keys::SIDECARSET_CANARY.into(), "true".into());
    a.insert(keys::SIDECARSET_BASE.into(), "base".into());
    let inj = run(&new_pod(), &[base, canary]).unwrap();
    assert_eq!(image_of(&inj.pod, "agent"), "agent:2");
    assert_eq!(inj.decisions[0].outcome, Outcome::ReplacedByCanary { canary: "canary".into() });
    assert_eq!(ann(&inj.pod, keys::SIDECARSET_INJECTED_LIST), Some("canary"));
}

#[test]
fn scs_15_patch_pod_metadata() {
    let mut anns = BTreeMap::from([
        ("log".to_owned(), r#"{"log-agent":1}"#.to_owned()),
        ("keep".to_owned(), "x".to_owned()),
    ]);
    let patches: Vec<kruise_api::apps::v1beta1::sidecarset::SidecarSetPatchPodMetadata> =
        serde_json::from_value(json!([
            {"annotations": {"log": r#"{"envoy":2}"#}, "patchPolicy": "MergePatchJson"},
            {"annotations": {"keep": "y", "new": "n"}, "patchPolicy": "Retain"},
            {"annotations": {"over": "o"}, "patchPolicy": "Overwrite"}
        ]))
        .unwrap();
    assert!(inject::patch_pod_metadata(&mut anns, &patches).unwrap());
    assert_eq!(anns["log"], r#"{"envoy":2,"log-agent":1}"#);
    assert_eq!((anns["keep"].as_str(), anns["new"].as_str(), anns["over"].as_str()), ("x", "n", "o"));
    // Unchanged the second time.
    assert!(!inject::patch_pod_metadata(&mut anns, &patches).unwrap());
    // Invalid JSON fails.
    let bad: Vec<kruise_api::apps::v1beta1::sidecarset::SidecarSetPatchPodMetadata> =
        serde_json::from_value(json!([{"annotations": {"log": "{"}, "patchPolicy": "MergePatchJson"}]))
            .unwrap();
    assert!(inject::patch_pod_metadata(&mut anns, &bad).is_err());
}

#[test]
fn scs_15_metadata_only_sidecarset_writes_no_hash_annotations() {
    let s = ss(
        "meta",
        json!({"selector": {"matchLabels": {"app": "web"}},
        "patchPodMetadata": [{"annotations": {"a": "b"}}]}),
    );
    let inj = run(&new_pod(), &[s]).unwrap();
    assert_eq!(ann(&inj.pod, "a"), Some("b"));
    assert_eq!(ann(&inj.pod, keys::SIDECARSET_HASH), None);
    assert_eq!(ann(&inj.pod, keys::SIDECARSET_INJECTED_LIST), None);
    assert_eq!(inj.patch.len(), 1);
}

#[test]
fn scs_17_env_volumes_and_secrets() {
    let s = ss(
        "log",
        json!({"selector": {"matchLabels": {"app": "web"}},
        "containers": [{"name": "agent", "image": "a:1", "env": [{"name": "A", "value": "1"}],
            "volumeMounts": [{"name": "logs", "mountPath": "/logs"}, {"name": "unknown", "mountPath": "/u"}]}],
        "volumes": [{"name": "logs", "emptyDir": {}}, {"name": "unused", "emptyDir": {}}],
        "imagePullSecrets": [{"name": "s2"}, {"name": "s1"}]}),
    );
    let mut p = new_pod();
    let spec = p.spec.as_mut().unwrap();
    spec.image_pull_secrets = Some(serde_json::from_value(json!([{"name": "s1"}, {"name": "s1"}])).unwrap());
    spec.volumes =
        Some(serde_json::from_value(json!([{"name": "logs", "hostPath": {"path": "/x"}}])).unwrap());
    let inj = run(&p, &[s]).unwrap();
    assert_eq!(env_of(&inj.pod, "agent"), vec![("A", Some("1")), ("IS_INJECTED", Some("true"))]);
    let spec = inj.pod.spec.as_ref().unwrap();
    let vols: Vec<&str> = spec.volumes.iter().flatten().map(|v| v.name.as_str()).collect();
    assert_eq!(vols, vec!["logs"], "pod volumes win; unmounted SidecarSet volumes are not injected");
    assert!(spec.volumes.as_ref().unwrap()[0].host_path.is_some());
    let secrets: Vec<&str> = spec.image_pull_secrets.iter().flatten().map(|s| s.name.as_str()).collect();
    assert_eq!(secrets, vec!["s1", "s2"]);
}

#[test]
fn scs_18_shared_volume_mounts_and_sub_path_env() {
    let s = ss(
        "log",
        json!({"selector": {"matchLabels": {"app": "web"}},
        "containers": [{"name": "agent", "image": "a:1", "shareVolumePolicy": {"type": "enabled"},
            "volumeMounts": [{"name": "own", "mountPath": "/data"}],
            "shareVolumeDevicePolicy": {"type": "enabled"}}]}),
    );
    let p = pod(json!({"metadata": {"name": "p", "labels": {"app": "web"}},
        "spec": {"containers": [
            {"name": "app", "image": "app", "env": [{"name": "POD", "value": "x"}],
             "volumeMounts": [{"name": "d", "mountPath": "/data"}, {"name": "l", "mountPath": "/logs", "subPathExpr": "$(POD)/l"}],
             "volumeDevices": [{"name": "blk", "devicePath": "/dev/b"}]},
            {"name": "old-sidecar", "image": "s", "env": [{"name": "IS_INJECTED", "value": "true"}],
             "volumeMounts": [{"name": "s", "mountPath": "/side"}]}]}}));
    let inj = run(&p, &[s]).unwrap();
    let c = inj.pod.spec.as_ref().unwrap().containers.iter().find(|c| c.name == "agent").unwrap();
    let mounts: Vec<&str> = c.volume_mounts.iter().flatten().map(|m| m.mount_path.as_str()).collect();
    assert_eq!(mounts, vec!["/data", "/logs"], "own /data wins; injected containers are no source");
    assert_eq!(env_of(&inj.pod, "agent"), vec![("IS_INJECTED", Some("true")), ("POD", Some("x"))]);
    let devs: Vec<&str> = c.volume_devices.iter().flatten().map(|d| d.device_path.as_str()).collect();
    assert_eq!(devs, vec!["/dev/b"]);
}

#[test]
fn scs_19_transfer_env() {
    let s = ss(
        "log",
        json!({"selector": {"matchLabels": {"app": "web"}},
        "containers": [{"name": "agent", "image": "a:1", "transferEnv": [
            {"sourceContainerName": "nginx", "envNames": ["B", "A", "MISSING"]},
            {"sourceContainerNameFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels['main']"}}, "envName": "C"},
            {"sourceContainerNameFrom": {"fieldRef": {"fieldPath": "metadata.name"}}, "envName": "A"}]}]}),
    );
    let mut p = new_pod();
    p.metadata.labels.as_mut().unwrap().insert("main".into(), "nginx".into());
    p.spec.as_mut().unwrap().containers[0].env = Some(
        serde_json::from_value(
            json!([{"name": "A", "value": "a"}, {"name": "B", "value": "b"}, {"name": "C", "value": "c"}]),
        )
        .unwrap(),
    );
    let inj = run(&p, &[s]).unwrap();
    assert_eq!(
        env_of(&inj.pod, "agent"),
        vec![("IS_INJECTED", Some("true")), ("A", Some("a")), ("B", Some("b")), ("C", Some("c"))]
    );
}

#[test]
fn scs_20_pod_inject_policy_and_init_container_order() {
    let s = ss(
        "s",
        json!({"selector": {"matchLabels": {"app": "web"}},
        "containers": [{"name": "dns-f", "image": "d", "podInjectPolicy": "BeforeAppContainer"},
                       {"name": "log-agent", "image": "l", "podInjectPolicy": "AfterAppContainer"}],
        "initContainers": [{"name": "init-2", "image": "i"}, {"name": "init-1", "image": "i"}]}),
    );
    let mut p = new_pod();
    p.spec.as_mut().unwrap().init_containers =
        Some(serde_json::from_value(json!([{"name": "init-0", "image": "i"}])).unwrap());
    let inj = run(&p, &[s]).unwrap();
    assert_eq!(names(&inj.pod), vec!["dns-f", "nginx", "log-agent"]);
    assert_eq!(init_names(&inj.pod), vec!["init-0", "init-1", "init-2"]);
    // Plain init containers are not in the sidecar list.
    assert!(ann(&inj.pod, keys::SIDECARSET_HASH).unwrap().contains(r#""sidecarList":["dns-f","log-agent"]"#));
}

#[test]
fn scs_20_same_name_replaces_in_place_and_sort_gate() {
    let s = ss(
        "s",
        json!({"selector": {"matchLabels": {"app": "web"}},
        "containers": [{"name": "zz", "image": "z"}, {"name": "nginx", "image": "sidecar-nginx"}]}),
    );
    let inj = run(&new_pod(), std::slice::from_ref(&s)).unwrap();
    assert_eq!(names(&inj.pod), vec!["zz", "nginx"]);
    assert_eq!(image_of(&inj.pod, "nginx"), "sidecar-nginx");
    let s2 = ss(
        "s2",
        json!({"selector": {"matchLabels": {"app": "web"}}, "containers": [{"name": "aa", "image": "a"}]}),
    );
    let f = Features { enable_sort_sidecar_container_by_name: true, ..Features::default() };
    let inj = inject(&InjectInput {
        pod: &new_pod(),
        operation: Operation::Create,
        namespace_labels: None,
        sidecarsets: &[s, s2],
        revisions: &[],
        now: at(0),
        seed: 0,
        features: f,
    })
    .unwrap();
    assert_eq!(names(&inj.pod), vec!["aa", "zz", "nginx"]);
}

#[test]
fn scs_21_hot_upgrade_injection() {
    let s = ss(
        "mesh",
        json!({"selector": {"matchLabels": {"app": "web"}},
        "containers": [{"name": "envoy", "image": "envoy:1",
            "upgradeStrategy": {"upgradeType": "HotUpgrade", "hotUpgradeEmptyImage": "empty:1"}}]}),
    );
    let inj = run(&new_pod(), &[s]).unwrap();
    assert_eq!(names(&inj.pod), vec!["envoy-1", "envoy-2", "nginx"]);
    assert_eq!(image_of(&inj.pod, "envoy-1"), "envoy:1");
    assert_eq!(image_of(&inj.pod, "envoy-2"), "empty:1");
    let env: Vec<&str> = env_of(&inj.pod, "envoy-2").iter().map(|e| e.0).collect();
    assert_eq!(env, vec!["IS_INJECTED", "SIDECARSET_VERSION", "SIDECARSET_VERSION_ALT"]);
    let c2 = inj.pod.spec.as_ref().unwrap().containers.iter().find(|c| c.name == "envoy-2").unwrap();
    let fp = c2.env.as_ref().unwrap()[1]
        .value_from
        .as_ref()
        .unwrap()
        .field_ref
        .as_ref()
        .unwrap()
        .field_path
        .clone();
    assert_eq!(fp, "metadata.annotations['version.sidecarset.kruise.io/envoy-2']");
    for (k, v) in [
        ("version.sidecarset.kruise.io/envoy-1", "1"),
        ("versionalt.sidecarset.kruise.io/envoy-1", "0"),
        ("version.sidecarset.kruise.io/envoy-2", "0"),
        ("versionalt.sidecarset.kruise.io/envoy-2", "1"),
        (keys::SIDECARSET_WORKING_HOTUPGRADE_CONTAINER, r#"{"envoy":"envoy-1"}"#),
    ] {
        assert_eq!(ann(&inj.pod, k), Some(v), "{k}");
    }
    assert!(ann(&inj.pod, keys::SIDECARSET_HASH).unwrap().contains(r#""sidecarList":["envoy"]"#));
}

#[test]
fn scs_22_resources_policy_is_reported_not_evaluated() {
    let s = ss(
        "s",
        json!({"selector": {"matchLabels": {"app": "web"}},
        "containers": [{"name": "agent", "image": "a", "resourcesPolicy": {"targetContainersMode": "sum",
            "resourcesExpr": {"limits": {"cpu": "cpu*50%"}}}}]}),
    );
    let inj = run(&new_pod(), &[s]).unwrap();
    let Outcome::Injected { resources_policy_ignored, .. } = &inj.decisions[0].outcome else {
        panic!("injected")
    };
    assert_eq!(resources_policy_ignored, &vec!["agent".to_owned()]);
}

// ---- the upgrade planner ------------------------------------------------------------------

/// An injected, running pod with sidecar `test-sidecar` at `image` (status imageID `id-<image>`)
/// whose record hash is `hash`.
pub(crate) fn injected(name: &str, image: &str, hash: &str, ready: bool) -> Pod {
    pod(json!({
        "metadata": {"name": name, "namespace": "ns", "labels": {"app": "web"}, "uid": format!("uid-{name}"),
            "resourceVersion": "1", "creationTimestamp": "2026-01-01T00:00:00Z",
            "annotations": {
                keys::SIDECARSET_INJECTED_LIST: "test-sidecarset",
                keys::SIDECARSET_HASH: format!(r#"{{"test-sidecarset":{{"updateTimestamp":null,"hash":"{hash}","sidecarSetName":"test-sidecarset","sidecarList":["test-sidecar"]}}}}"#),
            }},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1"}, {"name": "test-sidecar", "image": image}]},
        "status": {"phase": "Running",
            "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }, "lastTransitionTime": "2026-01-01T00:00:00Z"}],
            "containerStatuses": [
                {"name": "nginx", "image": "nginx:1", "imageID": "id-nginx", "ready": ready, "restartCount": 0},
                {"name": "test-sidecar", "image": image, "imageID": format!("id-{image}"), "ready": ready, "restartCount": 0}]}
    }))
}

/// The SidecarSet of spec §10: hash `bbb`, no without-image annotation (so `""` matches the
/// pods' absent record).
pub(crate) fn cold_ss(image: &str) -> SidecarSet {
    let mut s = ss(
        "test-sidecarset",
        json!({"selector": {"matchLabels": {"app": "web"}},
        "containers": [{"name": "test-sidecar", "image": image}]}),
    );
    let a = s.metadata.annotations.as_mut().unwrap();
    a.insert(keys::SIDECARSET_HASH.into(), "bbb".into());
    a.insert(keys::SIDECARSET_HASH_WITHOUT_IMAGE.into(), String::new());
    s
}

pub(crate) fn plan_of(s: &SidecarSet, pods: &[Pod]) -> Plan {
    let ns = BTreeMap::new();
    let e = crate::Expectations::new();
    plan(&Input {
        sidecarset: s,
        pods,
        namespaces: &ns,
        revisions: &[],
        revision_namespace: DEFAULT_REVISION_NAMESPACE,
        now: at(60),
        expectations: &e,
    })
    .expect("plan")
}

/// The names of the pods a plan upgrades (actions name them `namespace/name`; every fixture
/// pod lives in namespace `ns`, which is checked).
fn upgraded(p: &Plan) -> Vec<&str> {
    p.actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::SidecarSet(SidecarSetAction::SetSidecarImages { .. })))
        .filter_map(|a| a.pod.as_deref())
        .map(|k| k.strip_prefix("ns/").unwrap_or_else(|| panic!("{k}: not namespace/name in ns")))
        .collect()
}

/// Carries out a plan's image changes on `pods` (the pod write only; kubelet is separate).
fn apply_plan(p: &Plan, pods: &mut [Pod]) {
    for a in &p.actions {
        if let ActionKind::SidecarSet(SidecarSetAction::SetSidecarImages { images, annotations }) = &a.kind {
            let pod = pods.iter_mut().find(|x| Some(pods::pod_key(x).as_str()) == a.pod.as_deref()).unwrap();
            for c in &mut pod.spec.as_mut().unwrap().containers {
                if let Some(i) = images.get(&c.name) {
                    c.image = Some(i.clone());
                }
            }
            pod.metadata.annotations.get_or_insert_with(Default::default).extend(annotations.clone());
        }
    }
}

/// Kubelet restarts changed containers: status image/imageID follow the spec.
fn kubelet(pod: &mut Pod) {
    let spec: BTreeMap<String, String> = pod
        .spec
        .as_ref()
        .unwrap()
        .containers
        .iter()
        .map(|c| (c.name.clone(), c.image.clone().unwrap_or_default()))
        .collect();
    for st in pod.status.as_mut().unwrap().container_statuses.as_mut().unwrap() {
        let img = spec[&st.name].clone();
        if st.image != img {
            st.image_id = format!("id-{img}");
            st.image = img;
        }
    }
}

fn st(p: &Plan) -> (i32, i32, i32, i32) {
    (p.status.matched_pods, p.status.updated_pods, p.status.ready_pods, p.status.updated_ready_pods)
}

#[test]
fn scs_10_worked_example_cold_upgrade() {
    let s = cold_ss("test-image:v2");
    let mut pods = vec![
        injected("test-pod-1", "test-image:v1", "aaa", true),
        injected("test-pod-2", "test-image:v1", "aaa", true),
    ];
    // Round 1.
    let p = plan_of(&s, &pods);
    assert_eq!(st(&p), (2, 0, 2, 0));
    assert_eq!(upgraded(&p), vec!["test-pod-1"]);
    let ActionKind::SidecarSet(SidecarSetAction::SetSidecarImages { images, annotations }) =
        &p.actions.iter().find(|a| a.pod.is_some()).unwrap().kind
    else {
        panic!()
    };
    assert_eq!(images, &BTreeMap::from([("test-sidecar".to_owned(), "test-image:v2".to_owned())]));
    assert!(annotations[keys::SIDECARSET_HASH].contains(r#""hash":"bbb""#));
    assert!(
        annotations[keys::SIDECARSET_INPLACE_UPDATE_STATE]
            .contains(r#""test-sidecar":{"imageID":"id-test-image:v1"}"#)
    );
    assert!(p.actions.iter().any(|a| matches!(&a.kind, ActionKind::UpdatePodStatus { condition } if condition.status == "True" && condition.message == r#"{"test-sidecarset":true}"#)));
    assert_eq!(p.held_reason("ns/test-pod-2"), Some(&Reason::MaxUnavailable { unavailable: 1, limit: 1 }));
    apply_plan(&p, &mut pods);
    // Round 2: pod-1 pending restart.
    let p = plan_of(&s, &pods);
    assert_eq!(st(&p), (2, 1, 1, 0));
    assert!(upgraded(&p).is_empty());
    // Round 3: kubelet restarted pod-1.
    kubelet(&mut pods[0]);
    let p = plan_of(&s, &pods);
    assert_eq!(st(&p), (2, 1, 2, 1));
    assert_eq!(upgraded(&p), vec!["test-pod-2"]);
    apply_plan(&p, &mut pods);
    // Round 4.
    let p = plan_of(&s, &pods);
    assert_eq!(st(&p), (2, 2, 1, 1));
    assert!(upgraded(&p).is_empty());
    // Round 5.
    kubelet(&mut pods[1]);
    let p = plan_of(&s, &pods);
    assert_eq!(st(&p), (2, 2, 2, 2));
    assert!(upgraded(&p).is_empty());
}

/// `n` pods, the first `updated` on `bbb` (of which the first `consistent` have restarted).
fn population(n: usize, updated: usize, consistent: usize) -> Vec<Pod> {
    (0..n)
        .map(|i| {
            let name = format!("pod-{i:04}");
            if i < updated {
                let mut p = injected(&name, "test-image:v2", "bbb", true);
                if i >= consistent {
                    // Spec changed, kubelet not yet: recorded imageID equals the status one.
                    let a = p.metadata.annotations.as_mut().unwrap();
                    a.insert(keys::SIDECARSET_INPLACE_UPDATE_STATE.into(),
                        r#"{"test-sidecarset":{"revision":"bbb","updateTimestamp":"2026-01-01T00:00:00Z","lastContainerStatuses":{"test-sidecar":{"imageID":"id-test-image:v1"}}}}"#.into());
                    let sts = p.status.as_mut().unwrap().container_statuses.as_mut().unwrap();
                    sts[1].image = "test-image:v1".into();
                    sts[1].image_id = "id-test-image:v1".into();
                    sts[1].ready = false;
                }
                p
            } else {
                injected(&name, "test-image:v1", "aaa", true)
            }
        })
        .collect()
}

#[test]
fn scs_44_next_upgrade_pods_examples() {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::{Int, String as Str};
    let mut s = cold_ss("test-image:v2");
    s.spec.update_strategy.max_unavailable = Some(Int(10));
    assert_eq!(upgraded(&plan_of(&s, &population(100, 30, 26))).len(), 6);
    let pods = population(1000, 800, 760);
    for (partition, want) in
        [(Int(180), 20), (Str("18%".into()), 20), (Int(100), 60), (Str("10%".into()), 60)]
    {
        let mut s = cold_ss("test-image:v2");
        s.spec.update_strategy.max_unavailable = Some(Int(100));
        s.spec.update_strategy.partition = Some(partition.clone());
        assert_eq!(upgraded(&plan_of(&s, &pods)).len(), want, "{partition:?}");
    }
    let pods = population(5, 0, 0);
    for (partition, want) in [("99%", 1), ("1%", 4)] {
        let mut s = cold_ss("test-image:v2");
        s.spec.update_strategy.max_unavailable = Some(Int(100));
        s.spec.update_strategy.partition = Some(Str(partition.into()));
        assert_eq!(upgraded(&plan_of(&s, &pods)).len(), want, "{partition}");
    }
    let mut s = cold_ss("test-image:v2");
    s.spec.update_strategy.max_unavailable = Some(Str("5%".into()));
    assert_eq!(upgraded(&plan_of(&s, &pods)).len(), 1);
}

#[test]
fn scs_44_not_ready_pods_do_not_consume_the_budget() {
    let s = cold_ss("test-image:v2");
    let pods = vec![
        injected("a", "test-image:v1", "aaa", true),
        injected("b", "test-image:v1", "aaa", false),
        injected("c", "test-image:v1", "aaa", false),
    ];
    // Not-ready pods sort first and are always taken; then one ready pod.
    assert_eq!(upgraded(&plan_of(&s, &pods)), vec!["b", "c", "a"]);
}

#[test]
fn scs_44_update_selector_and_priority() {
    let mut s = cold_ss("test-image:v2");
    s.spec.update_strategy.selector =
        Some(serde_json::from_value(json!({"matchLabels": {"canary": "true"}})).unwrap());
    let mut pods =
        vec![injected("a", "test-image:v1", "aaa", true), injected("b", "test-image:v1", "aaa", true)];
    pods[1].metadata.labels.as_mut().unwrap().insert("canary".into(), "true".into());
    let p = plan_of(&s, &pods);
    assert_eq!(upgraded(&p), vec!["b"]);
    assert_eq!(p.held_reason("ns/a"), Some(&Reason::SidecarSet(SidecarSetReason::NotSelected)));
    // Priority: weight puts `a` first.
    let mut s = cold_ss("test-image:v2");
    s.spec.update_strategy.priority_strategy = Some(
        serde_json::from_value(json!({"weightPriority": [
        {"weight": 50, "matchSelector": {"matchLabels": {"tier": "gold"}}}]}))
        .unwrap(),
    );
    let mut pods =
        vec![injected("a", "test-image:v1", "aaa", true), injected("b", "test-image:v1", "aaa", true)];
    pods[0].metadata.labels.as_mut().unwrap().insert("tier".into(), "gold".into());
    // Without priority, `b` and `a` tie on every key and the name breaks the tie.
    assert_eq!(upgraded(&plan_of(&s, &pods)), vec!["a"]);
    pods[0].metadata.labels.as_mut().unwrap().remove("tier");
    pods[1].metadata.labels.as_mut().unwrap().insert("tier".into(), "gold".into());
    assert_eq!(upgraded(&plan_of(&s, &pods)), vec!["b"]);
}

#[test]
fn scs_43_not_update_paused_and_expectations() {
    let pods = vec![injected("a", "test-image:v1", "aaa", true)];
    let mut s = cold_ss("test-image:v2");
    s.spec.update_strategy.type_ = Some("NotUpdate".into());
    let p = plan_of(&s, &pods);
    assert!(upgraded(&p).is_empty());
    assert_eq!(p.held_reason("ns/a"), Some(&Reason::SidecarSet(SidecarSetReason::NotUpdate)));
    let mut s = cold_ss("test-image:v2");
    s.spec.update_strategy.paused = true;
    let p = plan_of(&s, &pods);
    assert!(upgraded(&p).is_empty());
    assert_eq!(p.held_reason("ns/a"), Some(&Reason::Paused));
    // injectionStrategy.paused has no effect on the controller.
    let mut s = cold_ss("test-image:v2");
    s.spec.injection_strategy.paused = true;
    assert_eq!(upgraded(&plan_of(&s, &pods)), vec!["a"]);
    // Pending expectations: status only, requeue after 1s.
    let s = cold_ss("test-image:v2");
    let mut e = crate::Expectations::new();
    e.expect_resource_version("uid-a", 2, at(0));
    let ns = BTreeMap::new();
    let p = plan(&Input {
        sidecarset: &s,
        pods: &pods,
        namespaces: &ns,
        revisions: &[],
        revision_namespace: "kruise-system",
        now: at(1),
        expectations: &e,
    })
    .unwrap();
    assert!(upgraded(&p).is_empty());
    assert_eq!(p.requeue.as_ref().map(|r| r.after), Some(std::time::Duration::from_secs(1)));
}

#[test]
fn scs_40_only_injected_consistent_active_pods_match() {
    let s = cold_ss("test-image:v2");
    let mut no_list = injected("a", "test-image:v1", "aaa", true);
    no_list.metadata.annotations.as_mut().unwrap().remove(keys::SIDECARSET_INJECTED_LIST);
    let mut no_container = injected("b", "test-image:v1", "aaa", true);
    no_container.spec.as_mut().unwrap().containers.truncate(1);
    let mut done = injected("c", "test-image:v1", "aaa", true);
    done.status.as_mut().unwrap().phase = Some("Succeeded".into());
    let mut other = injected("d", "test-image:v1", "aaa", true);
    other.metadata.labels = None;
    let ok = injected("e", "test-image:v1", "aaa", true);
    let p = plan_of(&s, &[no_list, no_container, done, other, ok]);
    assert_eq!(p.status.matched_pods, 1);
    assert_eq!(upgraded(&p), vec!["e"]);
}

#[test]
fn scs_53_not_upgradable_pods_get_the_condition() {
    let mut s = cold_ss("test-image:v2");
    s.metadata
        .annotations
        .as_mut()
        .unwrap()
        .insert(keys::SIDECARSET_HASH_WITHOUT_IMAGE.into(), "changed".into());
    let pods = vec![injected("a", "test-image:v1", "aaa", true)];
    let p = plan_of(&s, &pods);
    assert!(upgraded(&p).is_empty());
    assert_eq!(p.held_reason("ns/a"), Some(&Reason::SidecarSet(SidecarSetReason::NotUpgradable)));
    let cond = p
        .actions
        .iter()
        .find_map(|a| match &a.kind {
            ActionKind::UpdatePodStatus { condition } => Some(condition),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (cond.status.as_str(), cond.reason.as_str(), cond.message.as_str()),
        ("False", "UpdateImmutableField", r#"{"test-sidecarset":false}"#)
    );
}

#[test]
fn scs_44_rolling_pod_waits() {
    let mut s = cold_ss("test-image:v3");
    s.metadata.annotations.as_mut().unwrap().insert(keys::SIDECARSET_HASH.into(), "ccc".into());
    // Pod on an old hash whose earlier upgrade has not restarted, container still ready.
    let mut pods = population(1, 1, 0);
    pods[0].status.as_mut().unwrap().container_statuses.as_mut().unwrap()[1].ready = true;
    let p = plan_of(&s, &pods);
    assert!(upgraded(&p).is_empty());
    assert_eq!(p.held_reason("ns/pod-0000"), Some(&Reason::SidecarSet(SidecarSetReason::UpgradeInProgress)));
}

fn hot_ss(image: &str) -> SidecarSet {
    let mut s = ss(
        "test-sidecarset",
        json!({"selector": {"matchLabels": {"app": "web"}},
        "containers": [{"name": "envoy", "image": image,
            "upgradeStrategy": {"upgradeType": "HotUpgrade", "hotUpgradeEmptyImage": "empty:1"}}]}),
    );
    let a = s.metadata.annotations.as_mut().unwrap();
    a.insert(keys::SIDECARSET_HASH.into(), format!("hash-{image}"));
    a.insert(keys::SIDECARSET_HASH_WITHOUT_IMAGE.into(), "wo".into());
    s
}

fn hot_pod() -> Pod {
    // Injected by the hot SidecarSet at envoy:1, running.
    let s = hot_ss("envoy:1");
    let inj = run(&new_pod(), &[s]).unwrap();
    let mut p = inj.pod;
    let sts: Vec<Value> = p.spec.as_ref().unwrap().containers.iter().map(|c| {
        let img = c.image.clone().unwrap_or_default();
        json!({"name": c.name, "image": img, "imageID": format!("id-{img}"), "ready": true, "restartCount": 0})
    }).collect();
    p.status = Some(
        serde_json::from_value(json!({"phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}], "containerStatuses": sts}))
        .unwrap(),
    );
    p.metadata
        .annotations
        .as_mut()
        .unwrap()
        .insert(keys::SIDECARSET_INJECTED_LIST.into(), "test-sidecarset".into());
    p
}

#[test]
fn scs_63_hot_upgrade_sequence() {
    let s = hot_ss("envoy:2");
    let mut pods = vec![hot_pod()];
    // Round A: the empty slot envoy-2 gets v2 and becomes the working slot.
    let p = plan_of(&s, &pods);
    assert_eq!(upgraded(&p), vec!["web-0"]);
    let ActionKind::SidecarSet(SidecarSetAction::SetSidecarImages { images, annotations }) =
        &p.actions.iter().find(|a| a.pod.is_some()).unwrap().kind
    else {
        panic!()
    };
    assert_eq!(images, &BTreeMap::from([("envoy-2".to_owned(), "envoy:2".to_owned())]));
    assert_eq!(annotations[keys::SIDECARSET_WORKING_HOTUPGRADE_CONTAINER], r#"{"envoy":"envoy-2"}"#);
    assert_eq!(annotations["version.sidecarset.kruise.io/envoy-2"], "7");
    assert_eq!(annotations["versionalt.sidecarset.kruise.io/envoy-2"], "1");
    assert_eq!(annotations["versionalt.sidecarset.kruise.io/envoy-1"], "7");
    apply_plan(&p, &mut pods);
    // Kubelet has not restarted envoy-2 yet: no flip.
    let p = plan_of(&s, &pods);
    assert!(upgraded(&p).is_empty());
    // Round B: envoy-2 consistent and pod ready: flip envoy-1 to empty.
    kubelet(&mut pods[0]);
    let p = plan_of(&s, &pods);
    let flips: Vec<_> = p
        .actions
        .iter()
        .filter(|a| a.reason == Reason::SidecarSet(SidecarSetReason::HotUpgradeFlip))
        .collect();
    assert_eq!(flips.len(), 1);
    let ActionKind::SidecarSet(SidecarSetAction::SetSidecarImages { images, annotations }) = &flips[0].kind
    else {
        panic!()
    };
    assert_eq!(images, &BTreeMap::from([("envoy-1".to_owned(), "empty:1".to_owned())]));
    assert_eq!(annotations["version.sidecarset.kruise.io/envoy-1"], "0");
    assert_eq!(annotations["versionalt.sidecarset.kruise.io/envoy-2"], "0");
    assert!(!annotations.contains_key(keys::SIDECARSET_HASH), "a flip does not touch the hash record");
    apply_plan(&p, &mut pods);
    kubelet(&mut pods[0]);
    let p = plan_of(&s, &pods);
    assert!(p.actions.iter().all(|a| a.pod.is_none()), "steady: {:?}", p.actions);
    assert_eq!(st(&p), (1, 1, 1, 1));
    // Next upgrade writes envoy-1.
    let p = plan_of(&hot_ss("envoy:3"), &pods);
    let ActionKind::SidecarSet(SidecarSetAction::SetSidecarImages { images, .. }) =
        &p.actions.iter().find(|a| a.pod.is_some()).unwrap().kind
    else {
        panic!()
    };
    assert_eq!(images, &BTreeMap::from([("envoy-1".to_owned(), "envoy:3".to_owned())]));
}

#[test]
fn scs_31_revisions_create_change_revert() {
    let ns = BTreeMap::new();
    let e = crate::Expectations::new();
    let mk = |s: &SidecarSet, revs: &[ControllerRevision]| {
        plan(&Input {
            sidecarset: s,
            pods: &[],
            namespaces: &ns,
            revisions: revs,
            revision_namespace: "kruise-system",
            now: at(0),
            expectations: &e,
        })
        .unwrap()
    };
    let to_rev = |s: &SidecarSet, p: &Plan| -> ControllerRevision {
        let a = p.actions.iter().find(|a| matches!(a.kind, ActionKind::CreateRevision { .. })).unwrap();
        let ActionKind::CreateRevision { number, .. } = a.kind else { unreachable!() };
        let name = a.revision.clone().unwrap();
        let mut r = crate::revision::new_revision(
            &history::Versions { ss: s, namespace: "kruise-system" },
            history::revision_data(s),
            "h",
            name,
            number,
        );
        r.metadata.uid = Some("u".into());
        r
    };
    let v1 = cold_ss("img:1");
    let p1 = mk(&v1, &[]);
    let r1 = to_rev(&v1, &p1);
    assert_eq!(r1.revision, 1);
    assert_eq!(p1.status.latest_revision, r1.metadata.name.clone().unwrap());
    let v2 = cold_ss("img:2");
    let p2 = mk(&v2, std::slice::from_ref(&r1));
    let r2 = to_rev(&v2, &p2);
    assert_eq!(r2.revision, 2);
    // Revert: the first revision is bumped to 3.
    let p3 = mk(&v1, &[r1.clone(), r2.clone()]);
    assert!(
        p3.actions
            .iter()
            .any(|a| a.kind == ActionKind::UpdateRevision { number: 3 } && a.revision == r1.metadata.name)
    );
    // Same again: nothing to write.
    let p4 = mk(&v2, &[r1, r2]);
    assert!(
        !p4.actions
            .iter()
            .any(|a| matches!(a.kind, ActionKind::CreateRevision { .. } | ActionKind::UpdateRevision { .. }))
    );
    // Custom version label.
    let mut v3 = cold_ss("img:2");
    v3.spec.custom_version = "cv".into();
    let p5 = mk(&v3, &[]);
    let r = to_rev(&v3, &p5);
    assert_eq!(r.metadata.labels.as_ref().unwrap()[keys::SIDECARSET_CUSTOM_VERSION], "cv");
}

#[test]
fn scs_32_history_truncation_keeps_revisions_in_use() {
    let mut s = cold_ss("img:9");
    s.spec.revision_history_limit = Some(2);
    let revs: Vec<ControllerRevision> = (1..=4)
        .map(|i| revision(&format!("r{i}"), "test-sidecarset", i, &format!("img:{i}"), None))
        .collect();
    // A pod records r1: r1 stays, r2 and r3 go... until the count fits.
    let mut p = injected("a", "img:1", "aaa", true);
    let a = p.metadata.annotations.as_mut().unwrap();
    a.insert(keys::SIDECARSET_HASH.into(), r#"{"test-sidecarset":{"updateTimestamp":null,"hash":"aaa","sidecarSetName":"test-sidecarset","sidecarList":null,"controllerRevision":"r1"}}"#.into());
    p.spec.as_mut().unwrap().containers[1].name = "test-sidecar".into();
    let ns = BTreeMap::new();
    let e = crate::Expectations::new();
    let plan = plan(&Input {
        sidecarset: &s,
        pods: std::slice::from_ref(&p),
        namespaces: &ns,
        revisions: &revs,
        revision_namespace: "kruise-system",
        now: at(0),
        expectations: &e,
    })
    .unwrap();
    let deleted: Vec<&str> = plan
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::DeleteRevision)
        .filter_map(|a| a.revision.as_deref())
        .collect();
    // 5 revisions (4 + the new latest), limit 2: r2, r3, r4 deleted; r1 in use.
    assert_eq!(deleted, vec!["r2", "r3", "r4"]);
    assert!(plan.events.is_empty());
}

#[test]
fn scs_42_status_written_only_when_changed() {
    let s = cold_ss("test-image:v1");
    let pods = vec![injected("a", "test-image:v1", "bbb", true)];
    let p = plan_of(&s, &pods);
    assert!(p.actions.iter().any(|a| a.kind == ActionKind::UpdateStatus));
    let mut s2 = s.clone();
    s2.status = Some(p.status.clone());
    let p2 = plan_of(&s2, &pods);
    assert!(!p2.actions.iter().any(|a| a.kind == ActionKind::UpdateStatus), "{:?}", p2.actions);
}

#[test]
fn scs_43_reconciler_writes_are_guarded() {
    use crate::reconciler::{Context, Reconciler, World};
    use crate::write::{ApiWrite, Subresource};
    let s = cold_ss("test-image:v2");
    let pods = vec![injected("a", "test-image:v1", "aaa", true)];
    let e = crate::Expectations::new();
    let out = reconcile::SidecarSetReconciler
        .reconcile(
            &World::new(&s).with_pods(&pods),
            &Context { now: at(0), id_seed: 0, features: Features::default(), expectations: &e },
        )
        .unwrap();
    let pod_writes: Vec<&ApiWrite> =
        out.writes.iter().map(|w| &w.write).filter(|w| w.target().kind == "Pod").collect();
    assert_eq!(pod_writes.len(), 2);
    // SCS-43 / STYLE §8: the upgrade is a JSON patch of only the sidecar image (and the
    // annotations), guarded by the pod's uid and the resourceVersion it was computed from.
    let ApiWrite::JsonPatch { patch, subresource: Subresource::Main, .. } = pod_writes[0] else {
        panic!("{:?}", pod_writes[0])
    };
    let ops = patch.as_array().unwrap();
    assert!(
        ops.iter()
            .any(|o| o["op"] == "test" && o["path"] == "/metadata/resourceVersion" && o["value"] == "1")
    );
    assert!(ops.iter().any(|o| o["op"] == "replace"
        && o["path"] == "/spec/containers/1/image"
        && o["value"] == "test-image:v2"));
    assert!(
        !ops.iter()
            .any(|o| o["op"] != "test" && o["path"].as_str().unwrap().starts_with("/spec/containers/0")),
        "the app container is not touched: {ops:?}"
    );
    // The condition write chains on the first: a status patch with no resourceVersion test.
    let ApiWrite::JsonPatch { patch, subresource: Subresource::Status, .. } = pod_writes[1] else {
        panic!("{:?}", pod_writes[1])
    };
    assert!(!patch.as_array().unwrap().iter().any(|o| o["path"] == "/metadata/resourceVersion"));
}

/// A SidecarSet's pods live in many namespaces: the plan names each pod `namespace/name`, so
/// two pods sharing a name in two namespaces are each upgraded, each write addressed to its
/// own namespace and guarded by its own pod's uid.
#[test]
fn scs_43_same_pod_name_in_two_namespaces_are_each_upgraded() {
    use crate::reconciler::{Context, Reconciler, World};
    use crate::write::{ApiWrite, Subresource};
    let mut s = cold_ss("test-image:v2");
    s.spec.update_strategy.max_unavailable =
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(2));
    let a = injected("a", "test-image:v1", "aaa", true);
    let mut b = a.clone();
    b.metadata.namespace = Some("other".into());
    b.metadata.uid = Some("uid-other".into());
    let pods = vec![b, a];
    let e = crate::Expectations::new();
    let out = reconcile::SidecarSetReconciler
        .reconcile(
            &World::new(&s).with_pods(&pods),
            &Context { now: at(0), id_seed: 0, features: Features::default(), expectations: &e },
        )
        .expect("both pods are written");
    let upgrades: Vec<(String, String, String)> = out
        .writes
        .iter()
        .filter_map(|w| match &w.write {
            ApiWrite::JsonPatch { target, subresource: Subresource::Main, patch } => {
                let image = patch
                    .as_array()?
                    .iter()
                    .find(|o| o["op"] == "replace" && o["path"] == "/spec/containers/1/image")?;
                let uid = patch.as_array()?.iter().find(|o| o["path"] == "/metadata/uid")?;
                assert_eq!(image["value"], "test-image:v2");
                Some((
                    target.namespace.clone().unwrap_or_default(),
                    target.name.clone(),
                    uid["value"].as_str()?.to_owned(),
                ))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        upgrades,
        [("ns".into(), "a".into(), "uid-a".into()), ("other".into(), "a".into(), "uid-other".into())]
    );
    let named: Vec<&str> = out.writes.iter().filter_map(|w| w.action.pod.as_deref()).collect();
    assert!(named.contains(&"ns/a") && named.contains(&"other/a"), "{named:?}");
}

// ---- properties ---------------------------------------------------------------------------

mod props {
    use proptest::prelude::*;

    use super::*;

    fn arb_name() -> impl Strategy<Value = String> {
        prop_oneof!["[a-z]{1,6}", "[a-zé名]{1,4}", Just(String::new())]
    }

    prop_compose! {
        fn arb_ss()(name in "[a-z]{1,5}", sc in proptest::collection::vec((arb_name(), "[a-z]{0,4}", any::<bool>(), any::<bool>(), any::<bool>()), 0..4),
                    init in proptest::collection::vec((arb_name(), any::<bool>()), 0..3),
                    match_all in any::<bool>(), patch in proptest::option::of(("[a-z]{1,3}", "[a-z{}\":0-9]{0,6}", 0u8..4))) -> SidecarSet {
            let containers: Vec<Value> = sc.iter().map(|(n, img, hot, share, before)| json!({
                "name": n, "image": img,
                "podInjectPolicy": if *before { "BeforeAppContainer" } else { "AfterAppContainer" },
                "upgradeStrategy": if *hot { json!({"upgradeType": "HotUpgrade", "hotUpgradeEmptyImage": "empty"}) } else { json!({}) },
                "shareVolumePolicy": {"type": if *share { "enabled" } else { "disabled" }},
                "volumeMounts": [{"name": "v", "mountPath": format!("/{n}")}],
            })).collect();
            let inits: Vec<Value> = init.iter().map(|(n, native)| {
                let mut c = json!({"name": n, "image": "i"});
                if *native { c["restartPolicy"] = json!("Always"); }
                c
            }).collect();
            let mut spec = json!({"selector": {"matchLabels": {"app": if match_all { "web" } else { "db" }}},
                "containers": containers, "initContainers": inits, "volumes": [{"name": "v", "emptyDir": {}}]});
            if let Some((k, v, pol)) = patch {
                let policy = ["Retain", "Overwrite", "MergePatchJson", ""][pol as usize];
                spec["patchPodMetadata"] = json!([{"annotations": {k: v}, "patchPolicy": policy}]);
            }
            ss(&name, spec)
        }
    }

    prop_compose! {
        fn arb_pod()(containers in proptest::collection::vec(arb_name(), 0..4), anns in proptest::collection::btree_map("[a-z]{1,3}", "[a-z{}\":0-9]{0,6}", 0..3)) -> Pod {
            let cs: Vec<Value> = containers.iter().map(|n| json!({"name": n, "image": "x",
                "volumeMounts": [{"name": "d", "mountPath": "/d", "subPathExpr": "$(N)"}], "env": [{"name": "N", "value": "1"}]})).collect();
            pod(json!({"metadata": {"name": "p", "labels": {"app": "web"}, "annotations": anns}, "spec": {"containers": cs}}))
        }
    }

    proptest! {
        /// Injection never panics; when it succeeds its patch applies and yields the pod
        /// (checked in `run`), every injected sidecar is in the pod, and it is deterministic.
        #[test]
        fn scs_17_injection_patch_applies_and_contains_every_sidecar(p in arb_pod(), sets in proptest::collection::vec(arb_ss(), 0..4)) {
            let Ok(inj) = run(&p, &sets) else { return Ok(()) };
            let again = run(&p, &sets).unwrap();
            prop_assert_eq!(&inj, &again);
            for d in &inj.decisions {
                if let Outcome::Injected { containers, init_containers, .. } = &d.outcome {
                    let spec = inj.pod.spec.as_ref().unwrap();
                    for c in containers {
                        prop_assert!(spec.containers.iter().any(|x| &x.name == c));
                    }
                    for c in init_containers {
                        prop_assert!(spec.init_containers.iter().flatten().any(|x| &x.name == c));
                    }
                }
            }
        }

        /// The upgrade planner never upgrades more ready pods than the budget leaves, never
        /// touches a pod twice, and is deterministic.
        #[test]
        fn scs_44_budget_holds(n in 0usize..40, updated in 0usize..40, consistent in 0usize..40,
                               limit in 0i32..6, partition in 0i32..50, not_ready in proptest::collection::vec(any::<bool>(), 40)) {
            use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int;
            let updated = updated.min(n);
            let mut pods = population(n, updated, consistent.min(updated));
            for (p, nr) in pods.iter_mut().zip(&not_ready) {
                if *nr {
                    p.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].status = "False".into();
                }
            }
            let mut s = cold_ss("test-image:v2");
            s.spec.update_strategy.max_unavailable = Some(Int(limit));
            s.spec.update_strategy.partition = Some(Int(partition));
            let p = plan_of(&s, &pods);
            prop_assert_eq!(&p, &plan_of(&s, &pods));
            let ups = upgraded(&p);
            let set: std::collections::BTreeSet<&str> = ups.iter().copied().collect();
            prop_assert_eq!(set.len(), ups.len());
            let ready_ups = ups.iter().filter(|u| pods.iter().find(|x| x.metadata.name.as_deref() == Some(**u)).is_some_and(pods::running_and_ready)).count() as i32;
            let u0 = pods.iter().filter(|x| view_updated(x) && !(pods::running_and_ready(x) && view_consistent(x))).count() as i32;
            prop_assert!(ready_ups <= (limit - u0).max(0), "ready upgrades {} limit {} u0 {}", ready_ups, limit, u0);
            let waiting = pods.iter().filter(|x| !view_updated(x)).count() as i32;
            prop_assert!(ups.len() as i32 <= (waiting - partition).max(0));
        }
    }

    fn view_updated(p: &Pod) -> bool {
        pods::SsView::new(&cold_ss("test-image:v2")).updated(p)
    }

    fn view_consistent(p: &Pod) -> bool {
        pods::SsView::new(&cold_ss("test-image:v2")).consistent(p, None, &pods::StateCache::of(p))
    }
}

// ---- more rules ---------------------------------------------------------------------------

#[test]
fn scs_41_digest_images_are_consistent_by_image_id() {
    let s = cold_ss("repo/x@sha256:bbb");
    let v = pods::SsView::new(&s);
    let mut p = injected("a", "repo/x@sha256:bbb", "bbb", true);
    let sts = p.status.as_mut().unwrap().container_statuses.as_mut().unwrap();
    sts[1].image_id = "docker-pullable://docker.io/repo/x@sha256:bbb".into();
    assert!(v.consistent(&p, None, &pods::StateCache::of(&p)));
    p.status.as_mut().unwrap().container_statuses.as_mut().unwrap()[1].image_id =
        "docker-pullable://repo/x@sha256:aaa".into();
    assert!(!v.consistent(&p, None, &pods::StateCache::of(&p)));
    // Fewer statuses than containers: never consistent.
    p.status.as_mut().unwrap().container_statuses.as_mut().unwrap().pop();
    assert!(!v.consistent(&p, None, &pods::StateCache::of(&p)));
}

#[test]
fn scs_51_update_completed_reads_the_state_annotation() {
    let s = cold_ss("test-image:v2");
    let v = pods::SsView::new(&s);
    let mut p = injected("a", "test-image:v2", "bbb", true);
    // Absent: completed.
    assert!(v.consistent(&p, None, &pods::StateCache::of(&p)));
    // Unreadable: never completed.
    p.metadata.annotations.as_mut().unwrap().insert(keys::SIDECARSET_INPLACE_UPDATE_STATE.into(), "{".into());
    assert!(!v.consistent(&p, None, &pods::StateCache::of(&p)));
    // Recorded imageID equals the status one while the spec image differs: not completed.
    p.metadata.annotations.as_mut().unwrap().insert(
        keys::SIDECARSET_INPLACE_UPDATE_STATE.into(),
        r#"{"test-sidecarset":{"revision":"bbb","lastContainerStatuses":{"test-sidecar":{"imageID":"id-test-image:v2"}}}}"#.into(),
    );
    p.status.as_mut().unwrap().container_statuses.as_mut().unwrap()[1].image = "test-image:v1".into();
    assert!(!v.consistent(&p, None, &pods::StateCache::of(&p)));
    // Another SidecarSet's entry does not count.
    p.metadata.annotations.as_mut().unwrap().insert(
        keys::SIDECARSET_INPLACE_UPDATE_STATE.into(),
        r#"{"other":{"revision":"x","lastContainerStatuses":{"test-sidecar":{"imageID":"id-test-image:v2"}}}}"#.into(),
    );
    assert!(v.consistent(&p, None, &pods::StateCache::of(&p)));
}

#[test]
fn scs_45_upgrade_applies_patch_pod_metadata_and_merges_state() {
    let mut s = cold_ss("test-image:v2");
    s.spec.patch_pod_metadata =
        serde_json::from_value(json!([{"annotations": {"note": "v2"}, "patchPolicy": "Overwrite"}])).unwrap();
    let mut p = injected("a", "test-image:v1", "aaa", true);
    p.metadata.annotations.as_mut().unwrap().insert(
        keys::SIDECARSET_INPLACE_UPDATE_STATE.into(),
        r#"{"test-sidecarset":{"revision":"old","updateTimestamp":"2025-01-01T00:00:00Z","lastContainerStatuses":{"gone":{"imageID":"x"}}}}"#.into(),
    );
    let plan = plan_of(&s, &[p]);
    let ActionKind::SidecarSet(SidecarSetAction::SetSidecarImages { annotations, .. }) =
        &plan.actions.iter().find(|a| a.pod.is_some()).unwrap().kind
    else {
        panic!()
    };
    assert_eq!(annotations["note"], "v2");
    let state = &annotations[keys::SIDECARSET_INPLACE_UPDATE_STATE];
    assert!(state.contains(r#""revision":"old""#), "the entry's revision is not refreshed: {state}");
    assert!(
        state.contains(r#""gone":{"imageID":"x"}"#)
            && state.contains(r#""test-sidecar":{"imageID":"id-test-image:v1"}"#),
        "{state}"
    );
    assert!(
        !annotations.contains_key(keys::SIDECARSET_HASH_WITHOUT_IMAGE),
        "the without-image record is left as is"
    );
}

#[test]
fn scs_53_condition_written_only_when_it_changes() {
    let mut s = cold_ss("test-image:v2");
    s.metadata
        .annotations
        .as_mut()
        .unwrap()
        .insert(keys::SIDECARSET_HASH_WITHOUT_IMAGE.into(), "changed".into());
    let mut p = injected("a", "test-image:v1", "aaa", true);
    p.status.as_mut().unwrap().conditions.as_mut().unwrap().push(
        serde_json::from_value(json!({
        "type": "SidecarSetUpgradable", "status": "False", "reason": "UpdateImmutableField",
        "message": r#"{"test-sidecarset":false}"#}))
        .unwrap(),
    );
    let plan = plan_of(&s, &[p.clone()]);
    assert!(!plan.actions.iter().any(|a| matches!(a.kind, ActionKind::UpdatePodStatus { .. })));
    // Another SidecarSet's entry is kept in the message; all true ⇒ True.
    p.status.as_mut().unwrap().conditions.as_mut().unwrap()[1].message = Some(r#"{"other":true}"#.into());
    let plan = plan_of(&s, &[p]);
    let cond = plan
        .actions
        .iter()
        .find_map(|a| match &a.kind {
            ActionKind::UpdatePodStatus { condition } => Some(condition),
            _ => None,
        })
        .unwrap();
    assert_eq!(cond.message, r#"{"other":true,"test-sidecarset":false}"#);
}

#[test]
fn scs_44_order_priority_pods_without_key_go_first_and_scatter_wildcard() {
    let mut s = cold_ss("test-image:v2");
    s.spec.update_strategy.max_unavailable =
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(1));
    s.spec.update_strategy.priority_strategy =
        Some(serde_json::from_value(json!({"orderPriority": [{"orderedKey": "rank"}]})).unwrap());
    let mut pods =
        vec![injected("a", "test-image:v1", "aaa", true), injected("b", "test-image:v1", "aaa", true)];
    pods[0].metadata.labels.as_mut().unwrap().insert("rank".into(), "r9".into());
    // Quirk (SCS-44, spec §11 q7): `b` has no key (level -1) and goes first.
    assert_eq!(upgraded(&plan_of(&s, &pods)), vec!["b"]);
    // Scatter with `*`: pods spread over the zone values.
    let mut s = cold_ss("test-image:v2");
    s.spec.update_strategy.max_unavailable =
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(100));
    s.spec.update_strategy.scatter_strategy =
        serde_json::from_value(json!([{"key": "zone", "value": "*"}])).unwrap();
    let mut pods: Vec<Pod> =
        (0..6).map(|i| injected(&format!("p{i}"), "test-image:v1", "aaa", true)).collect();
    for (i, p) in pods.iter_mut().enumerate() {
        p.metadata.labels.as_mut().unwrap().insert("zone".into(), if i < 3 { "a" } else { "b" }.into());
    }
    let planned = plan_of(&s, &pods);
    let order = upgraded(&planned);
    assert_eq!(order.len(), 6);
    let zones: Vec<bool> = order.iter().map(|n| n[1..].parse::<usize>().unwrap() < 3).collect();
    assert!(
        zones.windows(2).any(|w| w[0] != w[1])
            && zones[..3].iter().any(|z| *z)
            && zones[..3].iter().any(|z| !*z),
        "{order:?}"
    );
}

#[test]
fn scs_61_not_ready_slot_gets_the_new_image() {
    let s = hot_ss("envoy:3");
    let mut p = hot_pod();
    // Both slots run real images: envoy-1 (working) v1, envoy-2 v0.
    for c in &mut p.spec.as_mut().unwrap().containers {
        if c.name == "envoy-2" {
            c.image = Some("envoy:0".into());
        }
    }
    for st in p.status.as_mut().unwrap().container_statuses.as_mut().unwrap() {
        if st.name == "envoy-2" {
            st.image = "envoy:0".into();
            st.image_id = "id-envoy:0".into();
        }
    }
    p.metadata.annotations.as_mut().unwrap().insert(keys::SIDECARSET_HASH.into(), "{}".into());
    let images = |plan: &Plan| -> Vec<(BTreeMap<String, String>, Reason)> {
        plan.actions
            .iter()
            .filter_map(|a| match &a.kind {
                ActionKind::SidecarSet(SidecarSetAction::SetSidecarImages { images, .. }) => {
                    Some((images.clone(), a.reason.clone()))
                }
                _ => None,
            })
            .collect()
    };
    // Pod ready, envoy-1 consistent: SCS-62 flips envoy-2 back to the empty image first.
    let plan = plan_of(&s, std::slice::from_ref(&p));
    assert_eq!(
        images(&plan),
        vec![(
            BTreeMap::from([("envoy-2".to_owned(), "empty:1".to_owned())]),
            Reason::SidecarSet(SidecarSetReason::HotUpgradeFlip)
        )]
    );
    // envoy-1 not ready and the pod not Ready: no flip; SCS-61 writes the not-ready slot
    // (envoy-1, although it is the working one) and compares with envoy-2's image.
    p.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].status = "False".into();
    for st in p.status.as_mut().unwrap().container_statuses.as_mut().unwrap() {
        if st.name == "envoy-1" {
            st.ready = false;
        }
    }
    let plan = plan_of(&s, &[p]);
    let got = images(&plan);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, BTreeMap::from([("envoy-1".to_owned(), "envoy:3".to_owned())]));
}

#[test]
fn scs_62_no_flip_before_the_new_slot_restarts() {
    let s = hot_ss("envoy:2");
    let mut pods = vec![hot_pod()];
    let p = plan_of(&s, &pods);
    apply_plan(&p, &mut pods);
    // Spec says envoy-2 = v2, kubelet has not restarted it: not consistent ⇒ no flip, and the
    // pod is updated so nothing else happens.
    let p = plan_of(&s, &pods);
    assert!(!p.actions.iter().any(|a| a.reason == Reason::SidecarSet(SidecarSetReason::HotUpgradeFlip)));
    assert_eq!(p.status.updated_pods, 1);
    assert_eq!(p.status.ready_pods, 0, "the empty slot does not run the empty image yet");
}

#[test]
fn scs_30_revision_content() {
    let mut s = cold_ss("img:1");
    s.metadata.labels = Some(BTreeMap::from([("team".to_owned(), "a".to_owned())]));
    s.metadata.uid = Some("ss-uid".into());
    s.spec.custom_version = "cv1".into();
    let p = plan_of(&s, &[]);
    let out = reconcile::writes(
        &Input {
            sidecarset: &s,
            pods: &[],
            namespaces: &BTreeMap::new(),
            revisions: &[],
            revision_namespace: "kruise-system",
            now: at(0),
            expectations: &crate::Expectations::new(),
        },
        &p,
    )
    .unwrap();
    let crate::write::ApiWrite::Create { target, object } = &out[0].write else { panic!("{:?}", out[0]) };
    assert_eq!(target.namespace.as_deref(), Some("kruise-system"));
    assert_eq!(object["metadata"]["labels"]["team"], "a");
    assert_eq!(object["metadata"]["labels"][keys::SIDECARSET_NAME_LABEL], "test-sidecarset");
    assert_eq!(object["metadata"]["labels"][keys::SIDECARSET_CUSTOM_VERSION], "cv1");
    assert_eq!(object["metadata"]["annotations"][keys::SIDECARSET_HASH], "bbb");
    assert_eq!(object["metadata"]["ownerReferences"][0]["uid"], "ss-uid");
    assert_eq!(object["data"]["spec"]["$patch"], "replace");
    assert_eq!(object["data"]["spec"]["containers"][0]["image"], "img:1");
    assert_eq!(object["data"]["spec"]["volumes"], Value::Null);
    assert_eq!(object["revision"], 1);
    assert!(target.name.starts_with("test-sidecarset-"));
}

#[test]
fn scs_40_namespace_selector_filters_pods() {
    let mut s = cold_ss("test-image:v2");
    s.spec.namespace_selector = Some(serde_json::from_value(json!({"matchLabels": {"team": "a"}})).unwrap());
    let pods = vec![injected("a", "test-image:v1", "aaa", true)];
    let e = crate::Expectations::new();
    let mk = |ns: &BTreeMap<String, BTreeMap<String, String>>| {
        plan(&Input {
            sidecarset: &s,
            pods: &pods,
            namespaces: ns,
            revisions: &[],
            revision_namespace: "kruise-system",
            now: at(0),
            expectations: &e,
        })
        .unwrap()
        .status
        .matched_pods
    };
    assert_eq!(mk(&BTreeMap::new()), 0, "unknown namespace");
    assert_eq!(
        mk(&BTreeMap::from([("ns".to_owned(), BTreeMap::from([("team".to_owned(), "b".to_owned())]))])),
        0
    );
    assert_eq!(
        mk(&BTreeMap::from([("ns".to_owned(), BTreeMap::from([("team".to_owned(), "a".to_owned())]))])),
        1
    );
}

#[test]
fn scs_7_bad_strategy_is_an_error_naming_the_field() {
    let mut s = cold_ss("test-image:v2");
    s.spec.update_strategy.max_unavailable =
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String("lots".into()));
    let pods = vec![injected("a", "test-image:v1", "aaa", true)];
    let e = crate::Expectations::new();
    let err = plan(&Input {
        sidecarset: &s,
        pods: &pods,
        namespaces: &BTreeMap::new(),
        revisions: &[],
        revision_namespace: "kruise-system",
        now: at(0),
        expectations: &e,
    })
    .unwrap_err();
    assert!(err.to_string().contains("spec.updateStrategy.maxUnavailable"), "{err}");
    let mut s = cold_ss("x");
    s.spec.selector = None;
    let err = plan(&Input {
        sidecarset: &s,
        pods: &pods,
        namespaces: &BTreeMap::new(),
        revisions: &[],
        revision_namespace: "kruise-system",
        now: at(0),
        expectations: &e,
    })
    .unwrap_err();
    assert!(err.to_string().contains("spec.selector"), "{err}");
}
