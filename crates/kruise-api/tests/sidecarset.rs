//! SidecarSet API: sample manifests, conversion (SCS-3), defaulting (SCS-5), validation
//! (SCS-7) and lossless serialization.

mod k8s_arb;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::sidecarset::{
    SidecarContainer, SidecarSetInjectRevision, SidecarSetPatchPodMetadata,
};
use kruise_api::apps::{v1alpha1, v1beta1};
use kruise_api::convert::{sidecarset_to_v1alpha1, sidecarset_to_v1beta1};
use kruise_api::defaults::Defaulting;
use kruise_api::validation::Validate;
use kruise_api::validation::sidecarset::{selectors_overlap, validate_sidecarset_in_cluster};
use kruise_api::{ValidationErrors, keys};
use proptest::prelude::*;

const VALID: &str = r#"
apiVersion: apps.kruise.io/v1beta1
kind: SidecarSet
metadata: {name: log-sidecar}
spec:
  selector: {matchLabels: {app: web}}
  containers:
    - name: log-agent
      image: "fluent-bit:3.0"
"#;

fn valid() -> v1beta1::SidecarSet {
    let mut ss: v1beta1::SidecarSet = serde_saphyr::from_str(VALID).expect("parses");
    ss.apply_defaults();
    ss
}

fn json<T: serde::de::DeserializeOwned>(s: &str) -> T {
    serde_json::from_str(s).expect("test JSON parses")
}

fn sidecar(name: &str, image: &str) -> SidecarContainer {
    json(&format!(r#"{{"name":"{name}","image":"{image}"}}"#))
}

fn paths(r: Result<(), ValidationErrors>) -> Vec<String> {
    r.err().map(|e| e.iter().map(|e| e.path.to_string()).collect()).unwrap_or_default()
}

fn assert_rejects_at(ss: &v1beta1::SidecarSet, path: &str) {
    let got = paths(ss.validate());
    assert!(got.iter().any(|p| p == path), "expected an error at {path}, got {got:?}");
}

fn load<T: serde::de::DeserializeOwned>(file: &str) -> T {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(file),
    )
    .expect("sample exists");
    serde_saphyr::from_str(&text).expect("sample parses")
}

// ---- samples ---------------------------------------------------------------------------------

#[test]
fn scs_2_samples_parse_default_and_validate() {
    let mut a: v1alpha1::SidecarSet = load("sidecarset-v1alpha1.yaml");
    assert_eq!(a.spec.namespace, "shop");
    let envoy = &a.spec.containers[1];
    assert!(envoy.is_hot_upgrade());
    assert_eq!(envoy.container.image.as_deref(), Some("envoyproxy/envoy:v1.30.1"));
    assert_eq!(a.spec.containers[0].transfer_env[1].env_names, vec!["TZ".to_owned(), "LANG".to_owned()]);
    a.apply_defaults();
    a.validate().expect("v1alpha1 sample is valid");

    let mut b: v1beta1::SidecarSet = load("sidecarset-v1beta1.yaml");
    assert_eq!(b.spec.custom_version, "2026.07");
    assert!(b.spec.init_containers[0].is_native_sidecar());
    b.apply_defaults();
    b.validate().expect("v1beta1 sample is valid");
}

#[test]
fn scs_2_inlined_container_fields_sit_beside_sidecar_fields() {
    let sc: SidecarContainer = json(
        r#"{"name":"envoy","image":"envoy:1","args":["-c"],"podInjectPolicy":"AfterAppContainer","upgradeStrategy":{"upgradeType":"HotUpgrade"}}"#,
    );
    assert_eq!(sc.container.args, Some(vec!["-c".to_owned()]));
    assert_eq!(sc.pod_inject_policy.as_deref(), Some("AfterAppContainer"));
    let v = serde_json::to_value(&sc).expect("serializes");
    assert_eq!(v["name"], "envoy");
    assert_eq!(v["upgradeStrategy"]["upgradeType"], "HotUpgrade");
    assert_eq!(v["shareVolumePolicy"], serde_json::json!({}), "struct fields are always written, as in Go");
    assert!(v.get("container").is_none());
}

#[test]
fn scs_1_sidecarset_is_cluster_scoped() {
    use k8s_openapi::Resource;
    assert_eq!(<v1beta1::SidecarSet as Resource>::URL_PATH_SEGMENT, "sidecarsets");
    let mut ss = valid();
    ss.metadata.namespace = Some("default".into());
    assert_rejects_at(&ss, "metadata.namespace");
}

// ---- SCS-3 conversion ------------------------------------------------------------------------

#[test]
fn scs_3_namespace_becomes_a_namespace_selector_and_wins() {
    let mut a = sidecarset_to_v1alpha1(&valid());
    a.spec.namespace = "shop".into();
    a.spec.namespace_selector = Some(json(r#"{"matchLabels":{"team":"x"}}"#));
    let b = sidecarset_to_v1beta1(&a);
    assert_eq!(
        b.spec.namespace_selector,
        Some(json(r#"{"matchLabels":{"kubernetes.io/metadata.name":"shop"}}"#))
    );

    a.spec.namespace = String::new();
    let b = sidecarset_to_v1beta1(&a);
    assert_eq!(b.spec.namespace_selector, Some(json(r#"{"matchLabels":{"team":"x"}}"#)));
}

#[test]
fn scs_3_custom_version_moves_between_label_and_spec() {
    let mut a = sidecarset_to_v1alpha1(&valid());
    a.metadata.labels = Some(
        [(keys::SIDECARSET_CUSTOM_VERSION.to_owned(), "v7".to_owned()), ("team".to_owned(), "x".to_owned())]
            .into_iter()
            .collect(),
    );
    let b = sidecarset_to_v1beta1(&a);
    assert_eq!(b.spec.custom_version, "v7");
    assert_eq!(b.metadata.labels, Some([("team".to_owned(), "x".to_owned())].into_iter().collect()));
    let back = sidecarset_to_v1alpha1(&b);
    assert_eq!(back.metadata.labels, a.metadata.labels);
}

// ---- SCS-5 defaulting ------------------------------------------------------------------------

#[test]
fn scs_5_update_strategy_defaults() {
    let ss = valid();
    let us = &ss.spec.update_strategy;
    assert_eq!(us.type_.as_deref(), Some("RollingUpdate"));
    assert_eq!(us.max_unavailable, Some(IntOrString::Int(1)));
    assert_eq!(us.partition, Some(IntOrString::Int(0)));
    assert_eq!(ss.spec.revision_history_limit, Some(10));
}

#[test]
fn scs_5_sidecar_fields_default_by_list() {
    let mut ss = valid();
    ss.spec.init_containers = vec![sidecar("init", "busybox:1")];
    ss.apply_defaults();
    let (init, c) = (&ss.spec.init_containers[0], &ss.spec.containers[0]);
    assert_eq!(init.pod_inject_policy.as_deref(), Some("AfterAppContainer"));
    assert_eq!(c.pod_inject_policy.as_deref(), Some("BeforeAppContainer"));
    for sc in [init, c] {
        assert_eq!(sc.upgrade_strategy.upgrade_type.as_deref(), Some("ColdUpgrade"));
        assert_eq!(sc.share_volume_policy.type_.as_deref(), Some("disabled"));
        assert_eq!(sc.share_volume_device_policy, None, "SCS-5: never defaulted");
    }
}

#[test]
fn scs_5_image_pull_policy_follows_the_tag() {
    let cases = [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("localhost:5000/nginx", "Always"),
        ("localhost:5000/nginx:1.0", "IfNotPresent"),
        ("nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "IfNotPresent"),
        ("nginx:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "Always"),
    ];
    for (image, want) in cases {
        let mut ss = valid();
        ss.spec.containers = vec![sidecar("c", image)];
        ss.apply_defaults();
        assert_eq!(ss.spec.containers[0].container.image_pull_policy.as_deref(), Some(want), "{image}");
    }
}

#[test]
fn scs_5_core_container_defaults() {
    let mut ss = valid();
    ss.spec.containers = vec![json(
        r#"{"name":"c","image":"c:1",
            "ports":[{"containerPort":80}],
            "env":[{"name":"POD","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}],
            "livenessProbe":{"httpGet":{"port":80}},
            "readinessProbe":{"exec":{"command":["true"]},"periodSeconds":3},
            "lifecycle":{"preStop":{"httpGet":{"port":81}}},
            "transferEnv":[{"sourceContainerNameFrom":{"fieldRef":{"fieldPath":"metadata.labels['c']"}},"envName":"X"}]}"#,
    )];
    ss.apply_defaults();
    let sc = &ss.spec.containers[0];
    let c = &sc.container;
    assert_eq!(c.termination_message_path.as_deref(), Some("/dev/termination-log"));
    assert_eq!(c.termination_message_policy.as_deref(), Some("File"));
    assert_eq!(c.ports.as_ref().expect("ports")[0].protocol.as_deref(), Some("TCP"));
    let env_fr =
        c.env.as_ref().expect("env")[0].value_from.as_ref().and_then(|v| v.field_ref.as_ref()).expect("fr");
    assert_eq!(env_fr.api_version.as_deref(), Some("v1"));
    let live = c.liveness_probe.as_ref().expect("probe");
    assert_eq!(
        (live.timeout_seconds, live.period_seconds, live.success_threshold, live.failure_threshold),
        (Some(1), Some(10), Some(1), Some(3))
    );
    let get = live.http_get.as_ref().expect("httpGet");
    assert_eq!((get.path.as_deref(), get.scheme.as_deref()), (Some("/"), Some("HTTP")));
    assert_eq!(c.readiness_probe.as_ref().and_then(|p| p.period_seconds), Some(3), "explicit values stay");
    let pre_stop = c.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()).and_then(|h| h.http_get.as_ref());
    assert_eq!(pre_stop.and_then(|g| g.path.as_deref()), Some("/"));
    let t_fr = sc.transfer_env[0].source_container_name_from.as_ref().and_then(|s| s.field_ref.as_ref());
    assert_eq!(t_fr.and_then(|f| f.api_version.as_deref()), Some("v1"));
}

#[test]
fn scs_5_volume_defaults() {
    let mut ss = valid();
    ss.spec.volumes = json(
        r#"[{"name":"scratch"},
            {"name":"cfg","configMap":{"name":"cfg"}},
            {"name":"host","hostPath":{"path":"/var/log"}},
            {"name":"tok","projected":{"sources":[{"serviceAccountToken":{"path":"t"}}]}}]"#,
    );
    ss.apply_defaults();
    let v = &ss.spec.volumes;
    assert!(v[0].empty_dir.is_some(), "a volume with no source becomes emptyDir");
    assert_eq!(v[1].config_map.as_ref().and_then(|c| c.default_mode), Some(0o644));
    assert_eq!(v[1].empty_dir, None);
    assert_eq!(v[2].host_path.as_ref().and_then(|h| h.type_.as_deref()), Some(""));
    let p = v[3].projected.as_ref().expect("projected");
    assert_eq!(p.default_mode, Some(0o644));
    let tok = p.sources.as_ref().and_then(|s| s[0].service_account_token.as_ref()).expect("token");
    assert_eq!(tok.expiration_seconds, Some(3600));
}

#[test]
fn scs_5_patch_policy_and_injection_revision_policy() {
    let mut ss = valid();
    ss.spec.patch_pod_metadata = vec![SidecarSetPatchPodMetadata {
        annotations: [("a".to_owned(), "1".to_owned())].into(),
        patch_policy: None,
    }];
    ss.apply_defaults();
    assert_eq!(ss.spec.patch_pod_metadata[0].patch_policy.as_deref(), Some("Retain"));
    assert_eq!(ss.spec.injection_strategy.revision, None, "no revision, no policy");
    ss.spec.injection_strategy.revision =
        Some(SidecarSetInjectRevision { revision_name: Some("r".into()), ..Default::default() });
    ss.apply_defaults();
    assert_eq!(
        ss.spec.injection_strategy.revision.as_ref().and_then(|r| r.policy.as_deref()),
        Some("Always")
    );
}

#[test]
fn scs_5_resources_policy_regex_gets_the_crd_default() {
    let mut ss = valid();
    ss.spec.containers[0].resources_policy =
        Some(json(r#"{"targetContainersMode":"max","resourcesExpr":{"requests":{"memory":"memory"}}}"#));
    ss.apply_defaults();
    let rp = ss.spec.containers[0].resources_policy.as_ref().expect("kept");
    assert_eq!(rp.target_containers_name_regex, ".*");
    ss.validate().expect("an omitted regex is not an error once defaulted");
}

#[test]
fn scs_5_defaults_are_the_same_for_v1alpha1() {
    let raw: v1beta1::SidecarSet = serde_saphyr::from_str(VALID).expect("parses");
    let mut a = sidecarset_to_v1alpha1(&raw);
    a.apply_defaults();
    assert_eq!(sidecarset_to_v1beta1(&a), valid());
}

fn hashes(ss: &v1beta1::SidecarSet) -> (String, String) {
    let a = ss.metadata.annotations.as_ref().expect("annotations written");
    (a[keys::SIDECARSET_HASH].clone(), a[keys::SIDECARSET_HASH_WITHOUT_IMAGE].clone())
}

#[test]
fn scs_5_defaulting_writes_both_hash_annotations() {
    let ss = valid();
    let (with, without) = hashes(&ss);
    assert_eq!((with.len(), without.len()), (64, 64));
    assert!(with.bytes().all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b)));

    let mut image = ss.clone();
    image.spec.containers[0].container.image = Some("fluent-bit:3.1".into());
    image.apply_defaults();
    let (with2, without2) = hashes(&image);
    assert_ne!(with, with2, "an image change changes the hash");
    assert_eq!(without, without2, "but not the hash without images (SCS-41 upgradable)");

    let mut env = ss.clone();
    env.spec.containers[0].container.env = Some(json(r#"[{"name":"A","value":"1"}]"#));
    env.apply_defaults();
    let (with3, without3) = hashes(&env);
    assert_ne!((with.as_str(), without.as_str()), (with3.as_str(), without3.as_str()));
    assert_ne!(without, without3, "an env change is not upgradable in place");
}

#[test]
fn scs_6_hash_matches_upstream_for_an_undefaulted_sidecarset() {
    use kruise_api::defaults::sidecarset::hash::sidecarset_hash;
    let raw: v1beta1::SidecarSet = serde_saphyr::from_str(VALID).expect("parses");
    let mut c = raw.spec.containers.clone();
    c[0].container.name = "container1".into();
    c[0].container.image = Some("test-image".into());
    assert_eq!(
        sidecarset_hash(&c, &[], false),
        "w26c4x8fz245642fdv499b464248f974xddx4x55z5dw55bc6x66464fxz77dc78"
    );
}

// ---- SCS-7 validation ------------------------------------------------------------------------

#[test]
fn scs_7_defaulted_minimal_sidecarset_is_valid() {
    valid().validate().expect("valid");
    let mut a = sidecarset_to_v1alpha1(&valid());
    a.apply_defaults();
    a.validate().expect("valid as v1alpha1 too");
}

#[test]
fn scs_7_v1alpha1_is_validated_as_converted_to_v1beta1() {
    let mut a = sidecarset_to_v1alpha1(&valid());
    a.spec.namespace = "bad namespace!".into();
    let got = a.validate().err().map(|e| e.iter().map(|e| e.path.to_string()).collect::<Vec<_>>());
    assert_eq!(got, Some(vec!["spec.namespaceSelector.matchLabels".to_owned()]));
}

#[test]
fn scs_7_1_name_is_alphanumeric_or_dash_and_short() {
    let mut ss = valid();
    ss.metadata.name = Some("log.sidecar".into());
    assert_rejects_at(&ss, "metadata.name");
    ss.metadata.name = Some("A".repeat(64));
    assert_rejects_at(&ss, "metadata.name");
    ss.metadata.name = Some("Log-Sidecar-2".into());
    ss.validate().expect("upper case is allowed by this regex");
}

#[test]
fn scs_7_2_selector_required_valid_and_non_empty() {
    let mut ss = valid();
    ss.spec.selector = None;
    assert_rejects_at(&ss, "spec.selector");
    ss.spec.selector = Some(Default::default());
    assert_rejects_at(&ss, "spec.selector");
    ss.spec.selector = Some(json(r#"{"matchExpressions":[{"key":"app","operator":"Has"}]}"#));
    assert_rejects_at(&ss, "spec.selector.matchExpressions[0].operator");
    ss = valid();
    ss.spec.namespace_selector = Some(Default::default());
    assert_rejects_at(&ss, "spec.namespaceSelector");
    ss = valid();
    ss.spec.update_strategy.selector = Some(json(r#"{"matchLabels":{"bad key!":"x"}}"#));
    assert_rejects_at(&ss, "spec.updateStrategy.selector.matchLabels");
}

#[test]
fn scs_7_3_native_sidecar_init_containers_need_not_update() {
    let mut ss = valid();
    let mut init = sidecar("proxy", "proxy:1");
    init.container.restart_policy = Some("Always".into());
    ss.spec.init_containers = vec![sidecar("plain", "busybox:1"), init];
    ss.apply_defaults();
    assert_eq!(paths(ss.validate()), vec!["spec.initContainers[1].restartPolicy".to_owned()]);
    ss.spec.update_strategy.type_ = Some("NotUpdate".into());
    ss.validate().expect("NotUpdate is fine");
}

#[test]
fn scs_7_4_some_container_is_required() {
    let mut ss = valid();
    ss.spec.containers.clear();
    assert_rejects_at(&ss, "spec.containers");
    ss.spec.init_containers = vec![sidecar("init", "busybox:1")];
    ss.apply_defaults();
    ss.validate().expect("init containers alone are enough");
}

#[test]
fn scs_7_5_inject_and_share_policies_must_be_known() {
    let mut ss = valid();
    ss.spec.containers[0].pod_inject_policy = Some("Anywhere".into());
    ss.spec.containers[0].share_volume_policy.type_ = Some("Enabled".into());
    let got = paths(ss.validate());
    assert_eq!(
        got,
        vec![
            "spec.containers[0].podInjectPolicy".to_owned(),
            "spec.containers[0].shareVolumePolicy.type".to_owned()
        ]
    );
}

#[test]
fn scs_7_5_transfer_env_field_ref_must_be_a_label_or_annotation() {
    let mut ss = valid();
    let fr = |p: &str, v: &str| {
        json::<Vec<kruise_api::apps::v1beta1::TransferEnvVar>>(&format!(
            r#"[{{"envName":"X","sourceContainerNameFrom":{{"fieldRef":{{"apiVersion":"{v}","fieldPath":"{p}"}}}}}}]"#
        ))
    };
    let base = "spec.containers[0].transferEnv[0].sourceContainerNameFrom.fieldRef";
    for (p, v, bad) in [
        ("metadata.labels['app-container']", "v1", None),
        ("metadata.annotations['Example.com/Main']", "v1", None),
        ("metadata.labels['bad key']", "v1", Some("fieldPath")),
        ("spec.nodeName", "v1", Some("fieldPath")),
        ("metadata.name", "v1", Some("fieldPath")),
        ("metadata.labels['a']", "v2", Some("apiVersion")),
        ("metadata.labels['a']", "", Some("apiVersion")),
    ] {
        ss.spec.containers[0].transfer_env = fr(p, v);
        let got = paths(ss.validate());
        match bad {
            None => assert!(got.is_empty(), "{p}: {got:?}"),
            Some(field) => assert_eq!(got, vec![format!("{base}.{field}")], "{p} {v}"),
        }
    }
}

#[test]
fn scs_7_6_sidecars_must_form_a_valid_pod() {
    let mut ss = valid();
    ss.spec.containers.push(sidecar("no-image", ""));
    ss.spec.containers[1].container.image = None;
    ss.apply_defaults();
    assert_rejects_at(&ss, "spec.containers[1].image");
}

#[test]
fn scs_7_7_partition_and_selector_are_exclusive() {
    let mut ss = valid();
    ss.spec.update_strategy.selector = Some(json(r#"{"matchLabels":{"canary":"true"}}"#));
    ss.validate().expect("partition 0 counts as unset");
    ss.spec.update_strategy.partition = Some(IntOrString::String("0%".into()));
    assert_eq!(paths(ss.validate()), vec!["spec.updateStrategy".to_owned()], "any string counts as set");
    ss.spec.update_strategy.type_ = Some("NotUpdate".into());
    ss.validate().expect("only RollingUpdate strategies are checked");
}

#[test]
fn scs_7_7_partition_and_max_unavailable_are_int_or_percent() {
    let mut ss = valid();
    ss.spec.update_strategy.partition = Some(IntOrString::Int(-1));
    ss.spec.update_strategy.max_unavailable = Some(IntOrString::String("5".into()));
    assert_eq!(
        paths(ss.validate()),
        vec!["spec.updateStrategy.partition".to_owned(), "spec.updateStrategy.maxUnavailable".to_owned()]
    );
    ss.spec.update_strategy.partition = Some(IntOrString::String("150%".into()));
    ss.spec.update_strategy.max_unavailable = Some(IntOrString::Int(0));
    ss.validate().expect("no 100% cap and maxUnavailable 0 passes, as upstream (open question 6)");
}

#[test]
fn scs_7_7_priority_and_scatter_strategies() {
    let mut ss = valid();
    ss.spec.update_strategy.priority_strategy = Some(json(
        r#"{"weightPriority":[{"weight":101,"matchSelector":{"matchLabels":{"a":"b"}}},{"weight":1,"matchSelector":{}}],
            "orderPriority":[{"orderedKey":""}]}"#,
    ));
    ss.spec.update_strategy.scatter_strategy =
        json(r#"[{"key":"zone","value":"a"},{"key":"zone","value":"a"},{"key":"","value":"b"}]"#);
    assert_eq!(
        paths(ss.validate()),
        vec![
            "spec.updateStrategy.priorityStrategy".to_owned(),
            "spec.updateStrategy.priorityStrategy.weightPriority[0].weight".to_owned(),
            "spec.updateStrategy.priorityStrategy.weightPriority[1].matchSelector".to_owned(),
            "spec.updateStrategy.priorityStrategy.orderPriority[0].orderedKey".to_owned(),
            "spec.updateStrategy.scatterStrategy[1]".to_owned(),
            "spec.updateStrategy.scatterStrategy[2].key".to_owned(),
        ]
    );
}

#[test]
fn scs_7_8_injection_revision_needs_a_name_or_version_and_a_known_policy() {
    let mut ss = valid();
    ss.spec.injection_strategy.revision =
        Some(SidecarSetInjectRevision { policy: Some("Sometimes".into()), ..Default::default() });
    assert_eq!(
        paths(ss.validate()),
        vec![
            "spec.injectionStrategy.revision".to_owned(),
            "spec.injectionStrategy.revision.policy".to_owned()
        ]
    );
}

#[test]
fn scs_7_9_patch_pod_metadata_rules() {
    let mut ss = valid();
    ss.spec.patch_pod_metadata = json(
        r#"[{"annotations":{},"patchPolicy":"Retain"},
            {"annotations":{"oom-score":"1","bad key":"x"},"patchPolicy":"Replace"},
            {"annotations":{"oom-score":"2"}}]"#,
    );
    assert_eq!(
        paths(ss.validate()),
        vec![
            "spec.patchPodMetadata[0].annotations".to_owned(),
            "spec.patchPodMetadata[1].patchPolicy".to_owned(),
            "spec.patchPodMetadata[1].annotations[bad key]".to_owned(),
            "spec.patchPodMetadata[2].patchPolicy".to_owned(),
            "spec.patchPodMetadata[2].annotations[oom-score]".to_owned(),
        ]
    );
}

#[test]
fn scs_7_10_update_cannot_add_containers_or_change_upgrade_type() {
    let old = valid();
    let mut new = old.clone();
    new.spec.containers.push(sidecar("new-one", "x:1"));
    new.spec.containers[0].upgrade_strategy.upgrade_type = Some("HotUpgrade".into());
    new.spec.containers[0].upgrade_strategy.hot_upgrade_empty_image = "empty:1".into();
    new.apply_defaults();
    new.validate().expect("valid as a new object");
    assert_eq!(
        paths(new.validate_update(&old)),
        vec![
            "spec.containers[0].upgradeStrategy.upgradeType".to_owned(),
            "spec.containers[1].name".to_owned()
        ]
    );
    let mut image_only = old.clone();
    image_only.spec.containers[0].container.image = Some("fluent-bit:3.1".into());
    image_only.validate_update(&old).expect("images may change");
    let mut removed = old.clone();
    removed.spec.init_containers = vec![sidecar("init", "busybox:1")];
    removed.spec.containers.clear();
    removed.apply_defaults();
    removed.validate_update(&old).expect("containers may be removed");
}

fn canary(base: &str) -> v1beta1::SidecarSet {
    let mut ss = valid();
    ss.metadata.name = Some("log-sidecar-canary".into());
    ss.metadata.annotations = Some(
        [
            (keys::SIDECARSET_CANARY.to_owned(), "true".to_owned()),
            (keys::SIDECARSET_BASE.to_owned(), base.to_owned()),
        ]
        .into_iter()
        .collect(),
    );
    ss.spec.update_strategy.type_ = Some("NotUpdate".into());
    ss
}

#[test]
fn scs_7_12_canary_rules() {
    let base_path = format!("metadata.annotations[{}]", keys::SIDECARSET_BASE);
    canary("log-sidecar").validate().expect("a proper canary");
    let mut own = canary("log-sidecar-canary");
    assert_eq!(paths(own.validate()), vec![base_path.clone()]);
    own = canary("log-sidecar");
    own.spec.update_strategy.type_ = Some("RollingUpdate".into());
    assert_eq!(paths(own.validate()), vec!["spec.updateStrategy.type".to_owned()]);
    let old = canary("log-sidecar");
    let moved = canary("other-base");
    assert_eq!(paths(moved.validate_update(&old)), vec![base_path.clone()]);

    let others = [valid(), canary("x")];
    validate_sidecarset_in_cluster(&canary("log-sidecar"), &others, &[])
        .expect("base exists and is not canary");
    assert_eq!(
        paths(validate_sidecarset_in_cluster(&canary("missing"), &others, &[])),
        vec![base_path.clone(), "spec.containers[0].name".to_owned()],
        "without its base the canary also clashes with the SidecarSet it copies"
    );
    let mut canary_base = canary("x");
    canary_base.metadata.name = Some("base-is-canary".into());
    let mut c = canary("base-is-canary");
    c.metadata.name = Some("second".into());
    assert_eq!(paths(validate_sidecarset_in_cluster(&c, &[canary_base], &[])), vec![base_path]);
}

#[test]
fn scs_7_13_resources_policy_rules() {
    let mut ss = valid();
    ss.spec.containers[0].resources_policy =
        Some(json(r#"{"targetContainersMode":"avg","targetContainersNameRegex":"","resourcesExpr":{}}"#));
    assert_eq!(
        paths(ss.validate()),
        vec![
            "spec.containers[0].resourcesPolicy.targetContainersMode".to_owned(),
            "spec.containers[0].resourcesPolicy.targetContainersNameRegex".to_owned(),
            "spec.containers[0].resourcesPolicy.resourcesExpr".to_owned(),
        ]
    );
    ss.spec.containers[0].resources_policy = Some(json(
        r#"{"targetContainersMode":"sum","targetContainersNameRegex":".*","resourcesExpr":{"limits":{"cpu":"cpu"}}}"#,
    ));
    ss.validate().expect("a complete policy");
    ss.spec.containers[0].container.resources = Some(json(r#"{"limits":{"cpu":"1"}}"#));
    assert_eq!(paths(ss.validate()), vec!["spec.containers[0].resourcesPolicy".to_owned()]);

    let mut init = valid();
    init.spec.update_strategy.type_ = Some("NotUpdate".into());
    init.spec.init_containers = vec![sidecar("init", "busybox:1")];
    init.spec.init_containers[0].resources_policy = ss.spec.containers[0].resources_policy.clone();
    init.apply_defaults();
    assert_eq!(paths(init.validate()), vec!["spec.initContainers[0].resourcesPolicy".to_owned()]);
    init.spec.init_containers[0].container.restart_policy = Some("Always".into());
    init.validate().expect("a native sidecar may have one");
}

#[test]
fn scs_7_all_errors_are_reported_together() {
    let mut ss = valid();
    ss.metadata.name = Some("bad_name".into());
    ss.spec.selector = None;
    ss.spec.revision_history_limit = Some(3);
    ss.spec.update_strategy.max_unavailable = Some(IntOrString::Int(-1));
    assert_eq!(
        paths(ss.validate()),
        vec![
            "metadata.name".to_owned(),
            "spec.selector".to_owned(),
            "spec.updateStrategy.maxUnavailable".to_owned()
        ]
    );
}

// ---- SCS-7.8 / 7.11 cluster rules ------------------------------------------------------------

fn other(name: &str, selector: &str) -> v1beta1::SidecarSet {
    let mut o = valid();
    o.metadata.name = Some(name.into());
    o.spec.selector = Some(json(selector));
    o
}

#[test]
fn scs_7_11_overlapping_sidecarsets_cannot_share_names() {
    let ss = valid();
    let clash = other("other", r#"{"matchLabels":{"app":"web","tier":"x"}}"#);
    assert_eq!(
        paths(validate_sidecarset_in_cluster(&ss, &[ss.clone(), clash], &[])),
        vec!["spec.containers[0].name".to_owned()],
        "itself is skipped, the overlapping other is not"
    );
    let disjoint = other("other", r#"{"matchLabels":{"app":"db"}}"#);
    validate_sidecarset_in_cluster(&ss, &[disjoint], &[]).expect("selectors do not overlap");

    let mut elsewhere = other("other", r#"{"matchLabels":{"app":"web"}}"#);
    elsewhere.spec.namespace_selector = Some(json(r#"{"matchLabels":{"team":"a"}}"#));
    let mut mine = valid();
    mine.spec.namespace_selector = Some(json(r#"{"matchLabels":{"team":"b"}}"#));
    validate_sidecarset_in_cluster(&mine, &[elsewhere], &[]).expect("namespace scopes are disjoint");
}

#[test]
fn scs_7_11_volumes_and_overwritten_annotations_conflict() {
    let mut ss = valid();
    ss.spec.containers[0].container.name = "mine".into();
    ss.spec.volumes = json(r#"[{"name":"cfg","configMap":{"name":"a"}},{"name":"same","emptyDir":{}}]"#);
    ss.spec.patch_pod_metadata = json(
        r#"[{"annotations":{"k1":"1"},"patchPolicy":"Overwrite"},{"annotations":{"k2":"1"},"patchPolicy":"Retain"},
            {"annotations":{"k3":"1"},"patchPolicy":"MergePatchJson"}]"#,
    );
    let mut o = other("other", r#"{"matchLabels":{"app":"web"}}"#);
    o.spec.volumes = json(r#"[{"name":"cfg","configMap":{"name":"b"}},{"name":"same","emptyDir":{}}]"#);
    o.spec.patch_pod_metadata = json(
        r#"[{"annotations":{"k1":"x","k2":"x"},"patchPolicy":"MergePatchJson"},{"annotations":{"k3":"x"},"patchPolicy":"MergePatchJson"}]"#,
    );
    assert_eq!(
        paths(validate_sidecarset_in_cluster(&ss, &[o], &[])),
        vec!["spec.volumes[0].name".to_owned(), "spec.patchPodMetadata[0].annotations[k1]".to_owned()]
    );
}

#[test]
fn scs_7_11_selector_overlap_follows_kruise() {
    let sel = |s: &str| json::<k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>(s);
    let overlap = |a: &str, b: &str| selectors_overlap(Some(&sel(a)), Some(&sel(b)));
    assert!(overlap(r#"{"matchLabels":{"a":"b"}}"#, r#"{"matchLabels":{"c":"d"}}"#));
    assert!(!overlap(r#"{"matchLabels":{"a":"b"}}"#, r#"{"matchLabels":{"a":"c"}}"#));
    assert!(!overlap(
        r#"{"matchExpressions":[{"key":"a","operator":"In","values":["b","c"]}]}"#,
        r#"{"matchExpressions":[{"key":"a","operator":"NotIn","values":["b","c","d"]}]}"#
    ));
    assert!(overlap(
        r#"{"matchExpressions":[{"key":"a","operator":"In","values":["b","c"]}]}"#,
        r#"{"matchExpressions":[{"key":"a","operator":"NotIn","values":["b"]}]}"#
    ));
    // Quirk: Exists on a key the other side does not pin reads as disjoint.
    assert!(!overlap(
        r#"{"matchLabels":{"a":"b"}}"#,
        r#"{"matchExpressions":[{"key":"c","operator":"Exists"}]}"#
    ));
    assert!(!selectors_overlap(None, Some(&sel(r#"{"matchLabels":{"a":"b"}}"#))));
}

#[test]
fn scs_7_8_injection_revision_must_exist() {
    let mut ss = valid();
    ss.spec.injection_strategy.revision = Some(SidecarSetInjectRevision {
        revision_name: Some("log-sidecar-abc".into()),
        ..Default::default()
    });
    let rev = |name: &str, labels: &[(&str, &str)]| ControllerRevision {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
            ..Default::default()
        },
        ..Default::default()
    };
    let revisions = [
        rev("log-sidecar-abc", &[(keys::SIDECARSET_NAME_LABEL, "log-sidecar")]),
        rev(
            "log-sidecar-def",
            &[(keys::SIDECARSET_NAME_LABEL, "log-sidecar"), (keys::SIDECARSET_CUSTOM_VERSION, "v2")],
        ),
        rev("other-ghi", &[(keys::SIDECARSET_NAME_LABEL, "other"), (keys::SIDECARSET_CUSTOM_VERSION, "v3")]),
    ];
    validate_sidecarset_in_cluster(&ss, &[], &revisions).expect("named revision exists");
    ss.spec.injection_strategy.revision = Some(SidecarSetInjectRevision {
        revision_name: Some("log-sidecar-zzz".into()),
        ..Default::default()
    });
    assert_eq!(
        paths(validate_sidecarset_in_cluster(&ss, &[], &revisions)),
        vec!["spec.injectionStrategy.revision.revisionName".to_owned()]
    );
    ss.spec.injection_strategy.revision =
        Some(SidecarSetInjectRevision { custom_version: Some("v2".into()), ..Default::default() });
    validate_sidecarset_in_cluster(&ss, &[], &revisions).expect("custom version exists");
    ss.spec.injection_strategy.revision =
        Some(SidecarSetInjectRevision { custom_version: Some("v3".into()), ..Default::default() });
    assert_eq!(
        paths(validate_sidecarset_in_cluster(&ss, &[], &revisions)),
        vec!["spec.injectionStrategy.revision.customVersion".to_owned()],
        "v3 belongs to another SidecarSet"
    );
}

// ---- CRD facts -------------------------------------------------------------------------------

#[cfg(feature = "schemars")]
#[test]
fn scs_1_kind_info_matches_upstream_crd() {
    let k = v1beta1::sidecarset::kind_info();
    assert_eq!((k.plural, k.singular, k.namespaced), ("sidecarsets", "sidecarset", false));
    assert!(k.short_names.is_empty());
    let versions: Vec<_> =
        k.versions.iter().map(|v| (v.name, v.served, v.storage, v.status_subresource)).collect();
    // No conversion webhook: v1alpha1 served and stored, v1beta1 listed unserved (docs/deviations.md).
    assert_eq!(versions, vec![("v1alpha1", true, true, true), ("v1beta1", false, false, true)]);
    let cols: Vec<_> = k.versions[0].printer_columns.iter().map(|c| (c.name, c.type_, c.json_path)).collect();
    assert_eq!(
        cols,
        vec![
            ("MATCHED", "integer", ".status.matchedPods"),
            ("UPDATED", "integer", ".status.updatedPods"),
            ("READY", "integer", ".status.readyPods"),
            ("AGE", "date", ".metadata.creationTimestamp")
        ]
    );
    let alpha = serde_json::to_value((k.versions[0].spec_schema)()).expect("schema");
    let beta = serde_json::to_value((k.versions[1].spec_schema)()).expect("schema");
    let props =
        |v: &serde_json::Value| v.get("properties").and_then(|p| p.as_object()).cloned().expect("props");
    assert!(props(&alpha).contains_key("namespace") && !props(&alpha).contains_key("customVersion"));
    assert!(props(&beta).contains_key("customVersion") && !props(&beta).contains_key("namespace"));
    let text = beta.to_string();
    assert!(
        text.contains("hotUpgradeEmptyImage") && text.contains("imagePullPolicy"),
        "inlined container fields"
    );
}

// ---- round trip ------------------------------------------------------------------------------

mod arb {
    use super::k8s_arb::*;
    use kruise_api::apps::v1beta1::sidecarset::*;
    use kruise_api::apps::{v1alpha1, v1beta1};
    use proptest::collection::{btree_map, vec};
    use proptest::option;
    use proptest::prelude::*;

    fn share() -> impl Strategy<Value = ShareVolumePolicy> {
        option::of(text()).prop_map(|type_| ShareVolumePolicy { type_ })
    }

    fn transfer_env() -> impl Strategy<Value = TransferEnvVar> {
        (text(), option::of(option::of(field_selector())), text(), vec(text(), 0..2)).prop_map(
            |(source_container_name, from, env_name, env_names)| TransferEnvVar {
                source_container_name,
                source_container_name_from: from.map(|field_ref| SourceContainerNameSource { field_ref }),
                env_name,
                env_names,
            },
        )
    }

    fn resources_policy() -> impl Strategy<Value = ResourcesPolicy> {
        fn exprs() -> impl Strategy<Value = ResourceExprs> {
            (text(), text()).prop_map(|(cpu, memory)| ResourceExprs { cpu, memory })
        }
        (text(), text(), option::of(exprs()), option::of(exprs())).prop_map(
            |(target_containers_mode, target_containers_name_regex, limits, requests)| ResourcesPolicy {
                target_containers_mode,
                target_containers_name_regex,
                resources_expr: ResourcesExpr { limits, requests },
            },
        )
    }

    fn sidecar() -> impl Strategy<Value = SidecarContainer> {
        (
            container(),
            option::of(text()),
            (option::of(text()), text()),
            share(),
            option::of(share()),
            vec(transfer_env(), 0..2),
            option::of(resources_policy()),
        )
            .prop_map(
                |(
                    container,
                    pod_inject_policy,
                    (upgrade_type, empty),
                    share_volume_policy,
                    device,
                    transfer_env,
                    resources_policy,
                )| {
                    SidecarContainer {
                        container,
                        pod_inject_policy,
                        upgrade_strategy: SidecarContainerUpgradeStrategy {
                            upgrade_type,
                            hot_upgrade_empty_image: empty,
                        },
                        share_volume_policy,
                        share_volume_device_policy: device,
                        transfer_env,
                        resources_policy,
                    }
                },
            )
    }

    fn update_strategy() -> impl Strategy<Value = SidecarSetUpdateStrategy> {
        (
            option::of(text()),
            any::<bool>(),
            option::of(selector()),
            option::of(int_or_string()),
            option::of(int_or_string()),
            option::of(priority()),
            scatter(),
        )
            .prop_map(
                |(
                    type_,
                    paused,
                    selector,
                    partition,
                    max_unavailable,
                    priority_strategy,
                    scatter_strategy,
                )| {
                    SidecarSetUpdateStrategy {
                        type_,
                        paused,
                        selector,
                        partition,
                        max_unavailable,
                        priority_strategy,
                        scatter_strategy,
                    }
                },
            )
    }

    fn injection() -> impl Strategy<Value = SidecarSetInjectionStrategy> {
        let rev = (option::of(text()), option::of(text()), option::of(text())).prop_map(
            |(custom_version, revision_name, policy)| SidecarSetInjectRevision {
                custom_version,
                revision_name,
                policy,
            },
        );
        (any::<bool>(), option::of(rev))
            .prop_map(|(paused, revision)| SidecarSetInjectionStrategy { paused, revision })
    }

    fn patches() -> impl Strategy<Value = Vec<SidecarSetPatchPodMetadata>> {
        vec(
            (btree_map(key(), text(), 0..3), option::of(text())).prop_map(|(annotations, patch_policy)| {
                SidecarSetPatchPodMetadata { annotations, patch_policy }
            }),
            0..2,
        )
    }

    fn status() -> impl Strategy<Value = SidecarSetStatus> {
        (
            any::<i64>(),
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            text(),
            option::of(any::<i32>()),
        )
            .prop_map(
                |(
                    observed_generation,
                    matched_pods,
                    updated_pods,
                    ready_pods,
                    updated_ready_pods,
                    latest_revision,
                    collision_count,
                )| {
                    SidecarSetStatus {
                        observed_generation,
                        matched_pods,
                        updated_pods,
                        ready_pods,
                        updated_ready_pods,
                        latest_revision,
                        collision_count,
                    }
                },
            )
    }

    pub fn v1beta1_ss() -> impl Strategy<Value = v1beta1::SidecarSet> {
        let spec = (
            (option::of(selector()), option::of(selector()), vec(sidecar(), 0..2), vec(sidecar(), 0..3)),
            (vec(volume(), 0..2), update_strategy(), injection(), secret_refs()),
            (option::of(any::<i32>()), patches(), text()),
        )
            .prop_map(
                |(
                    (selector, namespace_selector, init_containers, containers),
                    (volumes, update_strategy, injection_strategy, image_pull_secrets),
                    (revision_history_limit, patch_pod_metadata, custom_version),
                )| v1beta1::SidecarSetSpec {
                    selector,
                    namespace_selector,
                    init_containers,
                    containers,
                    volumes,
                    update_strategy,
                    injection_strategy,
                    image_pull_secrets,
                    revision_history_limit,
                    patch_pod_metadata,
                    custom_version,
                },
            );
        (object_meta(), spec, option::of(status())).prop_map(|(metadata, spec, status)| v1beta1::SidecarSet {
            metadata,
            spec,
            status,
        })
    }

    pub fn v1alpha1_ss() -> impl Strategy<Value = v1alpha1::SidecarSet> {
        (v1beta1_ss(), text()).prop_map(|(b, namespace)| {
            let s = b.spec;
            v1alpha1::SidecarSet {
                metadata: b.metadata,
                spec: v1alpha1::SidecarSetSpec {
                    selector: s.selector,
                    namespace,
                    namespace_selector: s.namespace_selector,
                    init_containers: s.init_containers,
                    containers: s.containers,
                    volumes: s.volumes,
                    update_strategy: s.update_strategy,
                    injection_strategy: s.injection_strategy,
                    image_pull_secrets: s.image_pull_secrets,
                    revision_history_limit: s.revision_history_limit,
                    patch_pod_metadata: s.patch_pod_metadata,
                },
                status: b.status,
            }
        })
    }
}

fn round_trip<T>(obj: &T) -> Result<(), TestCaseError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let yaml = serde_saphyr::to_string(obj).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let from_yaml: T =
        serde_saphyr::from_str(&yaml).map_err(|e| TestCaseError::fail(format!("{e}\n{yaml}")))?;
    prop_assert_eq!(&from_yaml, obj, "YAML:\n{}", yaml);
    let json = serde_json::to_string(&from_yaml).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let from_json: T =
        serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{e}\n{json}")))?;
    prop_assert_eq!(&from_json, obj, "JSON:\n{}", json);
    Ok(())
}

#[test]
fn scs_1_v1beta1_round_trips_losslessly() {
    k8s_arb::check(64, arb::v1beta1_ss, |ss| round_trip(&ss));
}

#[test]
fn scs_3_v1alpha1_round_trips_losslessly() {
    k8s_arb::check(64, arb::v1alpha1_ss, |ss| round_trip(&ss));
}

#[test]
fn scs_3_v1beta1_survives_conversion_to_v1alpha1_and_back() {
    k8s_arb::check(64, arb::v1beta1_ss, |mut ss| {
        // The label is how v1alpha1 carries customVersion: a stored v1beta1 object has none.
        if let Some(l) = ss.metadata.labels.as_mut() {
            l.remove(keys::SIDECARSET_CUSTOM_VERSION);
        }
        let mut back = sidecarset_to_v1beta1(&sidecarset_to_v1alpha1(&ss));
        // An emptied label map and no label map mean the same.
        for m in [&mut back.metadata, &mut ss.metadata] {
            if m.labels.as_ref().is_some_and(|l| l.is_empty()) {
                m.labels = None;
            }
        }
        prop_assert_eq!(back, ss);
        Ok(())
    });
}

#[test]
fn scs_5_defaulting_is_idempotent_and_validation_never_panics() {
    k8s_arb::check(64, arb::v1beta1_ss, |ss| {
        let mut once = ss;
        once.apply_defaults();
        let mut twice = once.clone();
        twice.apply_defaults();
        prop_assert_eq!(&once, &twice);
        // Every error names a field of the object.
        for e in once.validate().err().into_iter().flatten() {
            let p = e.path.as_str();
            prop_assert!(p == "spec" || p.starts_with("spec.") || p.starts_with("metadata."), "{}", p);
        }
        let _ = once.validate_update(&twice);
        let _ = validate_sidecarset_in_cluster(&once, std::slice::from_ref(&twice), &[]);
        Ok(())
    });
}

#[test]
fn scs_1_any_resource_dispatches_both_versions() {
    use kruise_api::any::AnyResource;
    for (doc, version) in [
        (VALID.to_owned(), "apps.kruise.io/v1beta1"),
        (VALID.replace("v1beta1", "v1alpha1"), "apps.kruise.io/v1alpha1"),
    ] {
        let v: serde_json::Value = serde_saphyr::from_str(&doc).expect("parses");
        let mut any = AnyResource::from_value(v).expect("known kind");
        assert_eq!((any.kind(), any.api_version(), any.name()), ("SidecarSet", version, "log-sidecar"));
        any.apply_defaults();
        any.validate().expect("valid after defaults");
        let annotations = &any.to_value()["metadata"]["annotations"];
        assert_eq!(annotations[keys::SIDECARSET_HASH], serde_json::json!(valid().hash()));
    }
}

#[test]
fn scs_43_accessors() {
    let mut ss = valid();
    assert!(ss.hash().is_some() && ss.hash_without_image().is_some());
    assert!(!ss.is_not_update());
    ss.spec.update_strategy.type_ = Some("NotUpdate".into());
    assert!(ss.is_not_update());
    assert_eq!(canary("log-sidecar").canary_base(), Some("log-sidecar"));
    assert_eq!(ss.canary_base(), None);
}
