//! Advanced StatefulSet types, conversion (ASTS-5, ASTS-6), defaulting (ASTS-7) and
//! validation (ASTS-8, ASTS-9), one test per rule.

use k8s_openapi::api::core::v1::{PodReadinessGate, VolumeResourceRequirements};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::ValidationErrors;
use kruise_api::apps::{v1alpha1, v1beta1};
use kruise_api::convert::{statefulset_to_v1alpha1, statefulset_to_v1beta1};
use kruise_api::defaults::statefulset::{StatefulSetDefaultOptions, default_statefulset_v1beta1};
use kruise_api::defaults::{Defaulting, default};
use kruise_api::keys;
use kruise_api::validation::statefulset::*;
use kruise_api::validation::{Validate, validate, validate_update};

const V1BETA1: &str = r#"
apiVersion: apps.kruise.io/v1beta1
kind: StatefulSet
metadata: {name: db, namespace: default}
spec:
  replicas: 3
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      readinessGates: [{conditionType: InPlaceUpdateReady}]
      containers:
        - name: db
          image: postgres:16
          volumeMounts: [{name: data, mountPath: /var/lib/postgresql}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec:
        accessModes: [ReadWriteOnce]
        resources: {requests: {storage: 1Gi}}
"#;

fn raw() -> v1beta1::StatefulSet {
    serde_saphyr::from_str(V1BETA1).unwrap()
}

fn sts() -> v1beta1::StatefulSet {
    let mut s = raw();
    default(&mut s);
    s
}

fn paths(r: Result<(), ValidationErrors>) -> Vec<String> {
    r.err().map(|e| e.iter().map(|e| e.path.to_string()).collect()).unwrap_or_default()
}

fn rolling(s: &mut v1beta1::StatefulSet) -> &mut v1beta1::RollingUpdateStatefulSetStrategy {
    s.spec.update_strategy.rolling_update.as_mut().unwrap()
}

#[test]
fn asts_4_min_ready_seconds_comes_from_rolling_update() {
    let mut s = raw();
    assert_eq!(s.min_ready_seconds(), 0);
    s.spec.update_strategy.rolling_update =
        Some(v1beta1::RollingUpdateStatefulSetStrategy { min_ready_seconds: Some(7), ..Default::default() });
    assert_eq!(s.min_ready_seconds(), 7);
}

#[test]
fn asts_6_conversion_keeps_shared_fields_and_drops_v1beta1_only_ones() {
    let mut b = sts();
    b.spec.reserve_ordinals = vec![IntOrString::Int(1)];
    b.spec.ordinals = Some(v1beta1::StatefulSetOrdinals { start: 2 });
    b.status =
        Some(v1beta1::StatefulSetStatus { replicas: 3, updated_ready_replicas: 2, ..Default::default() });
    let a = statefulset_to_v1alpha1(&b);
    assert_eq!(a.spec.update_strategy, b.spec.update_strategy);
    assert_eq!(a.spec.service_name, "db");
    assert_eq!(a.status.as_ref().map(|s| s.replicas), Some(3));
    let back = statefulset_to_v1beta1(&a);
    assert!(back.spec.reserve_ordinals.is_empty());
    assert_eq!(back.spec.ordinals, None);
    assert_eq!(back.spec.persistent_volume_claim_retention_policy, None);
    assert_eq!(back.status.as_ref().map(|s| s.updated_ready_replicas), Some(0));
    assert_eq!(back.spec.template, b.spec.template);
    let again = statefulset_to_v1alpha1(&back);
    assert_eq!(again, a, "v1alpha1 -> v1beta1 -> v1alpha1 is lossless");
}

#[test]
fn asts_7_defaults() {
    let mut s = raw();
    s.spec.replicas = None;
    s.apply_defaults();
    assert_eq!(s.spec.pod_management_policy.as_deref(), Some("OrderedReady"));
    assert_eq!(s.spec.update_strategy.type_.as_deref(), Some("RollingUpdate"));
    let ru = s.spec.update_strategy.rolling_update.clone().unwrap();
    assert_eq!(ru.partition, Some(0));
    assert_eq!(ru.max_unavailable, Some(IntOrString::Int(1)));
    assert_eq!(ru.pod_update_policy.as_deref(), Some("ReCreate"));
    assert_eq!(ru.min_ready_seconds, Some(0));
    assert_eq!(s.spec.replicas, Some(1));
    assert_eq!(s.spec.revision_history_limit, Some(10));
    let p = s.spec.persistent_volume_claim_retention_policy.clone().unwrap();
    assert_eq!((p.when_deleted.as_deref(), p.when_scaled.as_deref()), (Some("Retain"), Some("Retain")));
    assert_eq!(s.spec.volume_claim_update_strategy.type_, None, "resize gate is off by default");
    assert_eq!(s.spec.template.spec.as_ref().unwrap().dns_policy.as_deref(), Some("ClusterFirst"));
    assert_eq!(
        s.spec.volume_claim_templates[0].spec.as_ref().unwrap().volume_mode.as_deref(),
        Some("Filesystem")
    );
}

#[test]
fn asts_7_on_delete_gets_no_rolling_update() {
    let mut s = raw();
    s.spec.update_strategy.type_ = Some("OnDelete".into());
    s.apply_defaults();
    assert!(s.spec.update_strategy.rolling_update.is_none());
}

#[test]
fn asts_7_gates_change_defaults() {
    let mut s = raw();
    let opts =
        StatefulSetDefaultOptions { auto_delete_pvc: false, auto_resize_pvc: true, ..Default::default() };
    default_statefulset_v1beta1(&mut s, None, opts);
    assert_eq!(s.spec.persistent_volume_claim_retention_policy, None);
    assert_eq!(s.spec.volume_claim_update_strategy.type_.as_deref(), Some("OnDelete"));
}

#[test]
fn asts_7_v1alpha1_defaults_and_idempotence() {
    let mut a: v1alpha1::StatefulSet =
        serde_saphyr::from_str(&V1BETA1.replace("v1beta1", "v1alpha1")).unwrap();
    a.apply_defaults();
    assert_eq!(a.spec.pod_management_policy.as_deref(), Some("OrderedReady"));
    assert_eq!(a.spec.update_strategy.rolling_update.as_ref().and_then(|r| r.partition), Some(0));
    let mut twice = a.clone();
    twice.apply_defaults();
    assert_eq!(a, twice);
    let once = sts();
    let mut twice = once.clone();
    twice.apply_defaults();
    assert_eq!(once, twice);
    assert_eq!(validate(&a), Ok(()));
}

#[test]
fn asts_8_valid_object_passes() {
    assert_eq!(validate(&sts()), Ok(()));
}

#[test]
fn asts_8_pod_management_policy_required_without_defaults() {
    let mut s = sts();
    s.spec.pod_management_policy = None;
    assert_eq!(paths(s.validate()), ["spec.podManagementPolicy"]);
}

#[test]
fn asts_12_reserve_ordinal_ranges() {
    assert_eq!(parse_ordinal_range("2-5"), Some((2, 5)));
    assert_eq!(parse_ordinal_range("3-3"), Some((3, 3)));
    assert_eq!(parse_ordinal_range("5-2"), None);
    assert_eq!(parse_ordinal_range("-1-2"), None);
    assert_eq!(parse_ordinal_range("1-2-3"), None);
    assert_eq!(parse_ordinal_range(" 1-2"), None);
    let mut s = sts();
    s.spec.reserve_ordinals =
        vec![IntOrString::Int(0), IntOrString::String("1-3".into()), IntOrString::String("x".into())];
    assert_eq!(paths(s.validate()), ["spec.reserveOrdinals[2]"]);
}

#[test]
fn asts_8_max_unavailable_rules() {
    let mut s = sts();
    rolling(&mut s).max_unavailable = Some(IntOrString::Int(2));
    assert_eq!(
        paths(s.validate()),
        ["spec.updateStrategy.rollingUpdate.maxUnavailable"],
        "OrderedReady needs 1"
    );
    s.spec.pod_management_policy = Some("Parallel".into());
    assert_eq!(s.validate(), Ok(()));
    rolling(&mut s).max_unavailable = Some(IntOrString::String("1%".into()));
    assert_eq!(s.validate(), Ok(()), "1% of 1 rounds up to 1");
    rolling(&mut s).max_unavailable = Some(IntOrString::String("150%".into()));
    assert_eq!(s.validate(), Ok(()), "percentages above 100 are not rejected");
    rolling(&mut s).max_unavailable = Some(IntOrString::Int(0));
    assert_eq!(paths(s.validate()), ["spec.updateStrategy.rollingUpdate.maxUnavailable"]);
    rolling(&mut s).max_unavailable = None;
    assert_eq!(paths(s.validate()), ["spec.updateStrategy.rollingUpdate.maxUnavailable"]);
}

#[test]
fn asts_8_in_place_policy_needs_readiness_gate() {
    let mut s = sts();
    rolling(&mut s).pod_update_policy = Some("InPlaceOnly".into());
    assert_eq!(s.validate(), Ok(()));
    s.spec.template.spec.as_mut().unwrap().readiness_gates =
        Some(vec![PodReadinessGate { condition_type: "Other".into() }]);
    assert_eq!(paths(s.validate()), ["spec.template.spec.readinessGates"]);
}

#[test]
fn asts_8_min_ready_seconds_range() {
    let mut s = sts();
    rolling(&mut s).min_ready_seconds = Some(300);
    assert_eq!(s.validate(), Ok(()));
    rolling(&mut s).min_ready_seconds = Some(-1);
    assert_eq!(paths(s.validate()), ["spec.updateStrategy.rollingUpdate.minReadySeconds"]);
}

#[test]
fn asts_8_template_is_not_fully_validated_at_admission() {
    let mut s = sts();
    s.spec.template.spec.as_mut().unwrap().containers[0].image = None;
    assert_eq!(s.validate(), Ok(()), "upstream admission does not check containers");
    let strict = validate_statefulset_pod_template(&s);
    assert_eq!(
        strict.iter().map(|e| e.path.to_string()).collect::<Vec<_>>(),
        ["spec.template.spec.containers[0].image"]
    );
    assert!(validate_statefulset_pod_template(&sts()).is_empty(), "claim templates count as volumes");
}

#[test]
fn asts_9_service_name_and_selector_are_immutable() {
    let old = sts();
    let mut new = old.clone();
    new.spec.service_name = "other".into();
    assert_eq!(paths(validate_update(&old, &new)), ["spec"]);
    let mut new = old.clone();
    new.spec.pod_management_policy = Some("Parallel".into());
    assert_eq!(paths(validate_update(&old, &new)), ["spec"]);
}

#[test]
fn asts_9_mutable_fields_may_change() {
    let old = sts();
    let mut new = old.clone();
    new.spec.replicas = Some(5);
    new.spec.reserve_ordinals = vec![IntOrString::Int(1)];
    new.spec.ordinals = Some(v1beta1::StatefulSetOrdinals { start: 1 });
    new.spec.revision_history_limit = Some(2);
    new.spec.template.spec.as_mut().unwrap().containers[0].args = Some(vec!["-c".into()]);
    rolling(&mut new).partition = Some(2);
    assert_eq!(validate_update(&old, &new), Ok(()));
}

#[test]
fn asts_9_in_place_only_image_rule() {
    let mut old = sts();
    rolling(&mut old).pod_update_policy = Some("InPlaceOnly".into());
    let mut new = old.clone();
    new.spec.template.spec.as_mut().unwrap().containers[0].image = Some("postgres:17".into());
    assert_eq!(validate_update(&old, &new), Ok(()));
    new.spec.template.spec.as_mut().unwrap().containers[0].env =
        Some(vec![k8s_openapi::api::core::v1::EnvVar {
            name: "A".into(),
            value: Some("1".into()),
            value_from: None,
        }]);
    assert_eq!(paths(validate_update(&old, &new)), ["spec.template"]);
    let (a_old, a_new) = (statefulset_to_v1alpha1(&old), statefulset_to_v1alpha1(&new));
    assert_eq!(
        paths(a_new.validate_update(&a_old)),
        ["spec.template"],
        "v1alpha1 goes through the same rule"
    );
}

fn resize(s: &mut v1beta1::StatefulSet, size: &str) {
    let spec = s.spec.volume_claim_templates[0].spec.as_mut().unwrap();
    spec.resources = Some(VolumeResourceRequirements {
        requests: Some([("storage".to_owned(), Quantity(size.into()))].into_iter().collect()),
        ..Default::default()
    });
}

fn class(name: &str, expand: Option<bool>, default: bool) -> StorageClass {
    let mut c =
        StorageClass { allow_volume_expansion: expand, provisioner: "x".into(), ..Default::default() };
    c.metadata.name = Some(name.into());
    if default {
        c.metadata.annotations =
            Some([(DEFAULT_STORAGE_CLASS_ANNOTATION.to_owned(), "true".to_owned())].into_iter().collect());
    }
    c
}

#[test]
fn asts_9_claim_templates_under_on_pod_rolling_update() {
    let mut old = sts();
    old.spec.volume_claim_update_strategy.type_ = Some("OnPodRollingUpdate".into());
    let mut grown = old.clone();
    resize(&mut grown, "2Gi");
    assert!(
        validate_volume_claim_templates_update(&grown, &old, &[]).is_empty(),
        "no default class: allowed"
    );
    let fixed = [class("std", Some(false), true)];
    let errs = validate_volume_claim_templates_update(&grown, &old, &fixed);
    assert_eq!(
        errs.iter().map(|e| e.path.to_string()).collect::<Vec<_>>(),
        ["spec.volumeClaimTemplates[data].spec.resources.requests.storage"]
    );
    assert!(
        validate_volume_claim_templates_update(&grown, &old, &[class("std", Some(true), true)]).is_empty()
    );
    let mut renamed = old.clone();
    renamed.spec.volume_claim_templates[0].metadata.name = Some("logs".into());
    let errs = validate_volume_claim_templates_update(&renamed, &old, &[]);
    assert_eq!(
        errs.iter().map(|e| e.path.to_string()).collect::<Vec<_>>(),
        ["spec.volumeClaimTemplates[logs].name"]
    );
    let mut added = old.clone();
    added.spec.volume_claim_templates.push(old.spec.volume_claim_templates[0].clone());
    assert_eq!(validate_volume_claim_templates_update(&added, &old, &[]).len(), 1);
    let mut modes = old.clone();
    modes.spec.volume_claim_templates[0].spec.as_mut().unwrap().access_modes =
        Some(vec!["ReadWriteMany".into()]);
    let errs = validate_volume_claim_templates_update(&modes, &old, &[]);
    assert_eq!(
        errs.iter().map(|e| e.path.to_string()).collect::<Vec<_>>(),
        ["spec.volumeClaimTemplates[data]"]
    );
    let mut off = grown.clone();
    off.spec.volume_claim_update_strategy.type_ = Some("OnDelete".into());
    assert!(validate_volume_claim_templates_update(&off, &old, &fixed).is_empty(), "OnDelete: no rule");
}

#[test]
fn asts_9_delete_protection() {
    let mut s = sts();
    s.metadata.labels =
        Some([(keys::DELETE_PROTECTION.to_owned(), "Cascading".to_owned())].into_iter().collect());
    assert_eq!(validate_statefulset_v1beta1_delete(&s).len(), 1);
    s.spec.replicas = Some(0);
    assert!(validate_statefulset_v1beta1_delete(&s).is_empty());
}

#[test]
fn asts_7_admission_clears_status() {
    use kruise_api::defaults::statefulset::admit_statefulset_v1beta1;
    let mut s = raw();
    s.status = Some(v1beta1::StatefulSetStatus { replicas: 3, ..Default::default() });
    let mut stored = s.clone();
    stored.apply_defaults();
    assert!(stored.status.is_some(), "plain defaulting keeps the status");
    admit_statefulset_v1beta1(&mut s, None, StatefulSetDefaultOptions::default());
    assert_eq!(s.status, None);
    assert_eq!(s.spec, stored.spec);
}
