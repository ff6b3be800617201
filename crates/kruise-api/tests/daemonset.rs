//! Advanced DaemonSet API: sample manifests, conversion (ADS-3), defaulting (ADS-4),
//! validation (ADS-5) and lossless serialization.

mod k8s_arb;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::daemonset::RollingUpdateDaemonSet;
use kruise_api::apps::{v1alpha1, v1beta1};
use kruise_api::convert::{daemonset_to_v1alpha1, daemonset_to_v1beta1};
use kruise_api::defaults::Defaulting;
use kruise_api::validation::Validate;
use kruise_api::{ValidationErrors, keys};
use proptest::prelude::*;

const VALID: &str = r#"
apiVersion: apps.kruise.io/v1alpha1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: "agent:1"}]
"#;

fn valid() -> v1alpha1::DaemonSet {
    let mut ds: v1alpha1::DaemonSet = serde_saphyr::from_str(VALID).expect("parses");
    ds.apply_defaults();
    ds
}

fn valid_beta() -> v1beta1::DaemonSet {
    let mut ds = daemonset_to_v1beta1(&valid());
    ds.apply_defaults();
    ds
}

fn ru(ds: &mut v1alpha1::DaemonSet) -> &mut RollingUpdateDaemonSet {
    ds.spec.update_strategy.rolling_update.get_or_insert_with(Default::default)
}

fn paths(r: Result<(), ValidationErrors>) -> Vec<String> {
    r.err().map(|e| e.iter().map(|e| e.path.to_string()).collect()).unwrap_or_default()
}

fn assert_rejects_at(ds: &v1alpha1::DaemonSet, path: &str) {
    let got = paths(ds.validate());
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
fn ads_3_samples_parse_default_and_validate() {
    let mut a: v1alpha1::DaemonSet = load("daemonset-v1alpha1.yaml");
    assert_eq!(a.spec.burst_replicas, Some(IntOrString::String("50%".into())));
    assert!(a.partitioned_scaling());
    assert_eq!(a.status.as_ref().map(|s| s.daemon_set_hash.as_str()), Some("7c9d5f6b8"));
    a.apply_defaults();
    a.validate().expect("v1alpha1 sample is valid");

    let mut b: v1beta1::DaemonSet = load("daemonset-v1beta1.yaml");
    assert!(b.partitioned_scaling());
    assert_eq!(b.status.as_ref().map(|s| s.update_revision.as_str()), Some("6d4f8b9c7"));
    b.apply_defaults();
    b.validate().expect("v1beta1 sample is valid");
}

#[test]
fn ads_3_unknown_fields_are_ignored_and_kind_is_checked() {
    let doc = VALID.replace("kind: DaemonSet", "kind: DaemonSet\nextra: 1");
    assert!(serde_saphyr::from_str::<v1alpha1::DaemonSet>(&doc).is_ok());
    let wrong = VALID.replace("kind: DaemonSet", "kind: CloneSet");
    assert!(serde_saphyr::from_str::<v1alpha1::DaemonSet>(&wrong).is_err());
    let beta = VALID.replace("v1alpha1", "v1beta1");
    assert!(serde_saphyr::from_str::<v1alpha1::DaemonSet>(&beta).is_err());
    assert!(serde_saphyr::from_str::<v1beta1::DaemonSet>(&beta).is_ok());
}

// ---- ADS-3 conversion ------------------------------------------------------------------------

#[test]
fn ads_3_surging_converts_to_standard() {
    let mut a = valid();
    ru(&mut a).rolling_update_type = Some("Surging".into());
    let b = daemonset_to_v1beta1(&a);
    let ty = b.spec.update_strategy.rolling_update.as_ref().and_then(|r| r.rolling_update_type.as_deref());
    assert_eq!(ty, Some("Standard"));
}

#[test]
fn ads_3_progressive_annotation_and_partitioned_scaling_convert_both_ways() {
    let mut a = valid();
    a.metadata.annotations =
        Some([(keys::DAEMONSET_PROGRESSIVE_CREATE_POD.to_owned(), "true".to_owned())].into_iter().collect());
    let b = daemonset_to_v1beta1(&a);
    assert!(b.spec.scale_strategy.as_ref().is_some_and(|s| s.partitioned_scaling));

    let mut b = valid_beta();
    b.spec.scale_strategy = Some(v1beta1::DaemonSetScaleStrategy { partitioned_scaling: true });
    let back = daemonset_to_v1alpha1(&b);
    assert!(back.partitioned_scaling());

    let mut off = valid();
    off.metadata.annotations =
        Some([(keys::DAEMONSET_PROGRESSIVE_CREATE_POD.to_owned(), "false".to_owned())].into_iter().collect());
    assert_eq!(daemonset_to_v1beta1(&off).spec.scale_strategy, None);
}

#[test]
fn ads_3_daemonset_hash_is_update_revision() {
    let mut a = valid();
    a.status = Some(v1alpha1::DaemonSetStatus {
        daemon_set_hash: "abc".into(),
        desired_number_scheduled: 4,
        ..Default::default()
    });
    let b = daemonset_to_v1beta1(&a);
    let st = b.status.as_ref().expect("status kept");
    assert_eq!((st.update_revision.as_str(), st.desired_number_scheduled), ("abc", 4));
    assert_eq!(daemonset_to_v1alpha1(&b).status, a.status);
}

// ---- ADS-5 validation ------------------------------------------------------------------------

#[test]
fn ads_5_defaulted_minimal_daemonset_is_valid() {
    valid().validate().expect("valid");
    valid_beta().validate().expect("valid");
}

#[test]
fn ads_5_selector_is_required() {
    let mut ds = valid();
    ds.spec.selector = None;
    assert_rejects_at(&ds, "spec.selector");
}

#[test]
fn ads_5_empty_selector_is_rejected() {
    let mut ds = valid();
    ds.spec.selector = Some(Default::default());
    assert_rejects_at(&ds, "spec.selector");
    let text = ds.validate().expect_err("invalid").to_string();
    assert!(text.starts_with("spec.selector: Invalid value: {}: empty selector"), "{text}");
}

#[test]
fn ads_5_selector_syntax_is_checked() {
    let mut ds = valid();
    ds.spec.selector = Some(serde_json::from_str(r#"{"matchExpressions":[{"key":"app","operator":"Equals","values":["agent"]},{"key":"x","operator":"In"}]}"#).expect("json"));
    let got = paths(ds.validate());
    assert!(got.contains(&"spec.selector.matchExpressions[0].operator".to_owned()), "{got:?}");
    assert!(got.contains(&"spec.selector.matchExpressions[1].values".to_owned()), "{got:?}");
    // An unparsable selector is not also reported as not matching the labels.
    assert!(!got.contains(&"spec.template.metadata.labels".to_owned()), "{got:?}");
}

#[test]
fn ads_5_selector_must_match_template_labels() {
    let mut ds = valid();
    ds.spec.template.metadata.as_mut().expect("metadata").labels =
        Some([("app".to_owned(), "other".to_owned())].into_iter().collect());
    assert_rejects_at(&ds, "spec.template.metadata.labels");
}

#[test]
fn ads_5_template_is_validated_as_a_pod_template() {
    let mut ds = valid();
    ds.spec.template.spec.as_mut().expect("spec").containers[0].image = None;
    assert_rejects_at(&ds, "spec.template.spec.containers[0].image");
}

#[test]
fn ads_5_restart_policy_must_be_always() {
    let mut ds = valid();
    ds.spec.template.spec.as_mut().expect("spec").restart_policy = Some("OnFailure".into());
    assert_rejects_at(&ds, "spec.template.spec.restartPolicy");
    ds.spec.template.spec.as_mut().expect("spec").restart_policy = Some("Always".into());
    ds.validate().expect("Always is fine");
}

#[test]
fn ads_5_active_deadline_seconds_is_forbidden() {
    let mut ds = valid();
    ds.spec.template.spec.as_mut().expect("spec").active_deadline_seconds = Some(30);
    assert_rejects_at(&ds, "spec.template.spec.activeDeadlineSeconds");
}

#[test]
fn ads_5_min_ready_seconds_must_not_be_negative() {
    let mut ds = valid();
    ds.spec.min_ready_seconds = -1;
    assert_rejects_at(&ds, "spec.minReadySeconds");
}

#[test]
fn ads_5_revision_history_limit_must_not_be_negative() {
    let mut ds = valid();
    ds.spec.revision_history_limit = Some(-1);
    assert_rejects_at(&ds, "spec.revisionHistoryLimit");
    ds.spec.revision_history_limit = Some(0);
    ds.validate().expect("zero keeps no history, which is allowed");
}

#[test]
fn ads_5_in_place_update_hook_is_forbidden() {
    let mut ds = valid();
    ds.spec.lifecycle = Some(kruise_api::apps::common::Lifecycle {
        in_place_update: Some(Default::default()),
        ..Default::default()
    });
    assert_rejects_at(&ds, "spec.lifecycle.inPlaceUpdate");
    ds.spec.lifecycle = Some(kruise_api::apps::common::Lifecycle {
        pre_delete: Some(Default::default()),
        ..Default::default()
    });
    ds.validate().expect("preDelete is supported");
}

#[test]
fn ads_5_update_strategy_type_must_be_supported() {
    let mut ds = valid();
    ds.spec.update_strategy.type_ = Some("Recreate".into());
    assert_rejects_at(&ds, "spec.updateStrategy.type");
    ds.spec.update_strategy =
        v1alpha1::DaemonSetUpdateStrategy { type_: Some("OnDelete".into()), rolling_update: None };
    ds.validate().expect("OnDelete needs no rollingUpdate");
}

#[test]
fn ads_5_rolling_update_is_required_with_rolling_update_type() {
    let mut ds = valid();
    ds.spec.update_strategy.rolling_update = None;
    assert_rejects_at(&ds, "spec.updateStrategy.rollingUpdate");
}

#[test]
fn ads_5_budget_must_be_a_valid_percent_at_most_100() {
    let mut ds = valid();
    ru(&mut ds).max_unavailable = Some(IntOrString::String("150%".into()));
    assert_rejects_at(&ds, "spec.updateStrategy.rollingUpdate.maxUnavailable");
    ru(&mut ds).max_unavailable = Some(IntOrString::String("12.5%".into()));
    assert_rejects_at(&ds, "spec.updateStrategy.rollingUpdate.maxUnavailable");
    ru(&mut ds).max_unavailable = Some(IntOrString::Int(-2));
    assert_rejects_at(&ds, "spec.updateStrategy.rollingUpdate.maxUnavailable");
    ru(&mut ds).max_unavailable = Some(IntOrString::String("100%".into()));
    ds.validate().expect("100% is the maximum");
}

#[test]
fn ads_5_exactly_one_budget_must_be_non_zero() {
    let mut ds = valid();
    ru(&mut ds).max_unavailable = Some(IntOrString::Int(1));
    ru(&mut ds).max_surge = Some(IntOrString::String("10%".into()));
    assert_rejects_at(&ds, "spec.updateStrategy.rollingUpdate.maxSurge");

    ru(&mut ds).max_unavailable = Some(IntOrString::String("0%".into()));
    ru(&mut ds).max_surge = Some(IntOrString::Int(0));
    assert_rejects_at(&ds, "spec.updateStrategy.rollingUpdate.maxUnavailable");

    ru(&mut ds).max_surge = Some(IntOrString::Int(2));
    ds.validate().expect("surge only is fine");

    // Quirk: a budget that is neither int nor percent reads as zero and is not itself checked.
    ru(&mut ds).max_unavailable = None;
    ru(&mut ds).max_surge = Some(IntOrString::String("lots".into()));
    assert_eq!(paths(ds.validate()), vec!["spec.updateStrategy.rollingUpdate.maxUnavailable".to_owned()]);
}

#[test]
fn ads_5_rolling_update_type_must_be_supported() {
    let mut ds = valid();
    ru(&mut ds).rolling_update_type = Some("Blue".into());
    assert_rejects_at(&ds, "spec.updateStrategy.rollingUpdate.rollingUpdateType");

    let mut beta = valid_beta();
    if let Some(r) = beta.spec.update_strategy.rolling_update.as_mut() {
        r.rolling_update_type = Some("Surging".into());
    }
    let got = paths(beta.validate());
    assert_eq!(
        got,
        vec!["spec.updateStrategy.rollingUpdate.rollingUpdateType".to_owned()],
        "v1beta1 has no Surging"
    );
}

#[test]
fn ads_5_in_place_if_possible_cannot_surge() {
    let mut ds = valid();
    ru(&mut ds).rolling_update_type = Some("InPlaceIfPossible".into());
    ru(&mut ds).max_unavailable = Some(IntOrString::Int(0));
    ru(&mut ds).max_surge = Some(IntOrString::Int(1));
    assert_rejects_at(&ds, "spec.updateStrategy.rollingUpdate.maxSurge");
}

#[test]
fn ads_5_surging_cannot_have_unavailable() {
    // Without defaulting (which rewrites Surging to Standard) the v1alpha1 validator still
    // knows the deprecated type.
    let mut ds: v1alpha1::DaemonSet = serde_saphyr::from_str(VALID).expect("parses");
    ds.spec.update_strategy = v1alpha1::DaemonSetUpdateStrategy {
        type_: Some("RollingUpdate".into()),
        rolling_update: Some(RollingUpdateDaemonSet {
            rolling_update_type: Some("Surging".into()),
            max_unavailable: Some(IntOrString::Int(1)),
            ..Default::default()
        }),
    };
    assert_rejects_at(&ds, "spec.updateStrategy.rollingUpdate.maxUnavailable");
}

#[test]
fn ads_5_partition_must_be_non_negative_int_or_percent() {
    let mut ds = valid();
    ru(&mut ds).partition = Some(IntOrString::Int(-1));
    assert_rejects_at(&ds, "spec.updateStrategy.rollingUpdate.partition");
    ru(&mut ds).partition = Some(IntOrString::String("101%".into()));
    assert_rejects_at(&ds, "spec.updateStrategy.rollingUpdate.partition");
    ru(&mut ds).partition = Some(IntOrString::String("3".into()));
    assert_rejects_at(&ds, "spec.updateStrategy.rollingUpdate.partition");
    ru(&mut ds).partition = Some(IntOrString::Int(1000));
    ds.validate().expect("a partition above the node count is allowed");
}

#[test]
fn ads_5_metadata_name_must_be_a_dns_subdomain() {
    let mut ds = valid();
    ds.metadata.name = Some("Agent_1".into());
    assert_rejects_at(&ds, "metadata.name");
}

#[test]
fn ads_5_all_errors_are_reported_together() {
    let mut ds = valid();
    ds.spec.min_ready_seconds = -1;
    ds.spec.revision_history_limit = Some(-1);
    ds.spec.template.spec.as_mut().expect("spec").active_deadline_seconds = Some(1);
    let got = paths(ds.validate());
    assert_eq!(
        got,
        vec![
            "spec.template.spec.activeDeadlineSeconds".to_owned(),
            "spec.minReadySeconds".to_owned(),
            "spec.revisionHistoryLimit".to_owned()
        ]
    );
    let text = ds.validate().expect_err("invalid").to_string();
    assert!(text.contains("spec.minReadySeconds: Invalid value: -1"), "{text}");
}

#[test]
fn ads_5_selector_is_immutable_on_update() {
    let old = valid();
    let mut new = old.clone();
    new.spec.selector =
        Some(serde_json::from_str(r#"{"matchLabels":{"app":"agent","v":"2"}}"#).expect("json"));
    new.spec.template.metadata.as_mut().expect("metadata").labels = Some(
        [("app".to_owned(), "agent".to_owned()), ("v".to_owned(), "2".to_owned())].into_iter().collect(),
    );
    new.validate().expect("valid on its own");
    assert_eq!(paths(new.validate_update(&old)), vec!["spec".to_owned()]);
}

#[test]
fn ads_5_respelling_the_same_selector_is_not_a_change() {
    let old = valid();
    let mut new = old.clone();
    if let Some(sel) = new.spec.selector.as_mut() {
        sel.match_expressions = Some(Vec::new());
    }
    new.validate_update(&old).expect("an empty matchExpressions list is no change");
}

#[test]
fn ads_5_mutable_fields_may_change_on_update() {
    let old = valid();
    let mut new = old.clone();
    new.spec.template.spec.as_mut().expect("spec").containers[0].image = Some("agent:2".into());
    new.spec.min_ready_seconds = 10;
    new.spec.burst_replicas = Some(IntOrString::Int(5));
    new.spec.revision_history_limit = Some(3);
    new.spec.lifecycle = Some(Default::default());
    ru(&mut new).partition = Some(IntOrString::Int(2));
    new.validate_update(&old).expect("all of these may change");

    let old_b = valid_beta();
    let mut new_b = old_b.clone();
    new_b.spec.scale_strategy = Some(v1beta1::DaemonSetScaleStrategy { partitioned_scaling: true });
    new_b.validate_update(&old_b).expect("v1beta1 scaleStrategy may change");
}

#[test]
fn ads_5_update_also_runs_create_rules() {
    let old = valid();
    let mut new = old.clone();
    new.spec.min_ready_seconds = -5;
    assert_eq!(paths(new.validate_update(&old)), vec!["spec.minReadySeconds".to_owned()]);
}

// ---- CRD facts -------------------------------------------------------------------------------

#[cfg(feature = "schemars")]
#[test]
fn ads_3_kind_info_matches_upstream_crd() {
    let k = v1beta1::daemonset::kind_info();
    assert_eq!((k.plural, k.singular, k.namespaced), ("daemonsets", "daemonset", true));
    assert_eq!(k.short_names, &["daemon", "ads"]);
    let versions: Vec<_> =
        k.versions.iter().map(|v| (v.name, v.served, v.storage, v.status_subresource)).collect();
    // No conversion webhook: v1alpha1 served and stored, v1beta1 listed unserved (docs/deviations.md).
    assert_eq!(versions, vec![("v1alpha1", true, true, true), ("v1beta1", false, false, true)]);
    let cols: Vec<_> = k.versions[1].printer_columns.iter().map(|c| (c.name, c.priority)).collect();
    assert_eq!(
        cols,
        vec![
            ("DESIRED", 0),
            ("CURRENT", 0),
            ("READY", 0),
            ("UP-TO-DATE", 0),
            ("AVAILABLE", 0),
            ("AGE", 0),
            ("CONTAINERS", 1),
            ("IMAGES", 1)
        ]
    );
    let spec = serde_json::to_string(&(k.versions[0].spec_schema)()).expect("schema");
    assert!(spec.contains("rollingUpdateType") && spec.contains("burstReplicas"));
    let beta_spec = serde_json::to_string(&(k.versions[1].spec_schema)()).expect("schema");
    assert!(beta_spec.contains("partitionedScaling"));
    let beta_status = serde_json::to_value((k.versions[1].status_schema)()).expect("schema");
    let props = beta_status.get("properties").and_then(|p| p.as_object()).expect("properties");
    assert!(props.contains_key("updateRevision") && !props.contains_key("daemonSetHash"));
}

// ---- round trip ------------------------------------------------------------------------------

mod arb {
    use super::k8s_arb::*;
    use k8s_openapi::api::apps::v1::DaemonSetCondition;
    use kruise_api::apps::v1beta1::daemonset::{DaemonSetUpdateStrategy, RollingUpdateDaemonSet};
    use kruise_api::apps::{v1alpha1, v1beta1};
    use proptest::collection::vec;
    use proptest::option;
    use proptest::prelude::*;

    pub fn update_strategy() -> impl Strategy<Value = DaemonSetUpdateStrategy> {
        let ru = (
            option::of(text()),
            option::of(int_or_string()),
            option::of(int_or_string()),
            option::of(selector()),
            option::of(int_or_string()),
            option::of(any::<bool>()),
        )
            .prop_map(
                |(rolling_update_type, max_unavailable, max_surge, selector, partition, paused)| {
                    RollingUpdateDaemonSet {
                        rolling_update_type,
                        max_unavailable,
                        max_surge,
                        selector,
                        partition,
                        paused,
                    }
                },
            );
        (option::of(text()), option::of(ru))
            .prop_map(|(type_, rolling_update)| DaemonSetUpdateStrategy { type_, rolling_update })
    }

    fn condition() -> impl Strategy<Value = DaemonSetCondition> {
        (option::of(time()), option::of(text()), option::of(text()), text(), text()).prop_map(
            |(last_transition_time, message, reason, status, type_)| DaemonSetCondition {
                last_transition_time,
                message,
                reason,
                status,
                type_,
            },
        )
    }

    type Counts = (i32, i32, i32, i32, i64, i32, i32, i32, Option<i32>);

    fn counts() -> impl Strategy<Value = Counts> {
        (
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            any::<i64>(),
            any::<i32>(),
            any::<i32>(),
            any::<i32>(),
            option::of(any::<i32>()),
        )
    }

    pub fn v1alpha1_ds() -> impl Strategy<Value = v1alpha1::DaemonSet> {
        let spec = (
            option::of(selector()),
            pod_template(),
            update_strategy(),
            any::<i32>(),
            option::of(int_or_string()),
            option::of(any::<i32>()),
            option::of(lifecycle()),
        )
            .prop_map(
                |(
                    selector,
                    template,
                    update_strategy,
                    min_ready_seconds,
                    burst_replicas,
                    revision_history_limit,
                    lifecycle,
                )| {
                    v1alpha1::DaemonSetSpec {
                        selector,
                        template,
                        update_strategy,
                        min_ready_seconds,
                        burst_replicas,
                        revision_history_limit,
                        lifecycle,
                    }
                },
            );
        let status =
            (counts(), vec(condition(), 0..2), text()).prop_map(|(c, conditions, daemon_set_hash)| {
                v1alpha1::DaemonSetStatus {
                    current_number_scheduled: c.0,
                    number_misscheduled: c.1,
                    desired_number_scheduled: c.2,
                    number_ready: c.3,
                    observed_generation: c.4,
                    updated_number_scheduled: c.5,
                    number_available: c.6,
                    number_unavailable: c.7,
                    collision_count: c.8,
                    conditions,
                    daemon_set_hash,
                }
            });
        (object_meta(), spec, option::of(status)).prop_map(|(metadata, spec, status)| v1alpha1::DaemonSet {
            metadata,
            spec,
            status,
        })
    }

    pub fn v1beta1_ds() -> impl Strategy<Value = v1beta1::DaemonSet> {
        (v1alpha1_ds(), option::of(any::<bool>())).prop_map(|(a, scale)| {
            let s = a.spec;
            v1beta1::DaemonSet {
                metadata: a.metadata,
                spec: v1beta1::DaemonSetSpec {
                    selector: s.selector,
                    template: s.template,
                    update_strategy: s.update_strategy,
                    min_ready_seconds: s.min_ready_seconds,
                    burst_replicas: s.burst_replicas,
                    revision_history_limit: s.revision_history_limit,
                    lifecycle: s.lifecycle,
                    scale_strategy: scale
                        .map(|partitioned_scaling| v1beta1::DaemonSetScaleStrategy { partitioned_scaling }),
                },
                status: a.status.map(|st| v1beta1::DaemonSetStatus {
                    current_number_scheduled: st.current_number_scheduled,
                    number_misscheduled: st.number_misscheduled,
                    desired_number_scheduled: st.desired_number_scheduled,
                    number_ready: st.number_ready,
                    observed_generation: st.observed_generation,
                    updated_number_scheduled: st.updated_number_scheduled,
                    number_available: st.number_available,
                    number_unavailable: st.number_unavailable,
                    collision_count: st.collision_count,
                    conditions: st.conditions,
                    update_revision: st.daemon_set_hash,
                }),
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
fn ads_3_v1alpha1_round_trips_losslessly() {
    k8s_arb::check(64, arb::v1alpha1_ds, |ds| round_trip(&ds));
}

#[test]
fn ads_3_v1beta1_round_trips_losslessly() {
    k8s_arb::check(64, arb::v1beta1_ds, |ds| round_trip(&ds));
}

#[test]
fn ads_3_v1beta1_survives_conversion_to_v1alpha1_and_back() {
    k8s_arb::check(64, arb::v1beta1_ds, |mut ds| {
        // The annotation is how v1alpha1 carries partitionedScaling, and v1beta1 has no
        // Surging type: start from what a stored v1beta1 object can be.
        if let Some(a) = ds.metadata.annotations.as_mut() {
            a.remove(keys::DAEMONSET_PROGRESSIVE_CREATE_POD);
        }
        if let Some(r) = ds.spec.update_strategy.rolling_update.as_mut()
            && r.rolling_update_type.as_deref() == Some("Surging")
        {
            r.rolling_update_type = None;
        }
        if ds.spec.scale_strategy.as_ref().is_some_and(|s| !s.partitioned_scaling) {
            ds.spec.scale_strategy = None;
        }
        let back = daemonset_to_v1beta1(&daemonset_to_v1alpha1(&ds));
        let mut expected = ds.clone();
        if ds.partitioned_scaling() {
            expected
                .metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(keys::DAEMONSET_PROGRESSIVE_CREATE_POD.to_owned(), "true".to_owned());
        }
        prop_assert_eq!(back, expected);
        Ok(())
    });
}

#[test]
fn ads_4_defaulting_is_idempotent_and_validation_never_panics() {
    k8s_arb::check(64, arb::v1alpha1_ds, |ds| {
        let mut once = ds;
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
        Ok(())
    });
}

#[test]
fn ads_3_any_resource_dispatches_both_versions() {
    use kruise_api::any::AnyResource;
    for (doc, version) in [
        (VALID.to_owned(), "apps.kruise.io/v1alpha1"),
        (VALID.replace("v1alpha1", "v1beta1"), "apps.kruise.io/v1beta1"),
    ] {
        let v: serde_json::Value = serde_saphyr::from_str(&doc).expect("parses");
        let mut any = AnyResource::from_value(v).expect("known kind");
        assert_eq!((any.kind(), any.api_version(), any.name()), ("DaemonSet", version, "agent"));
        any.apply_defaults();
        any.validate().expect("valid after defaults");
        assert_eq!(any.to_value()["spec"]["burstReplicas"], 250);
    }
}

#[test]
fn ads_24_rolling_update_type_reads_like_the_controller() {
    use kruise_api::apps::v1beta1::RollingUpdateType;
    let mut ds = valid();
    assert_eq!(ds.rolling_update_type(), RollingUpdateType::Standard);
    ru(&mut ds).rolling_update_type = Some("InPlaceIfPossible".into());
    assert_eq!(ds.rolling_update_type(), RollingUpdateType::InPlaceIfPossible);
    ru(&mut ds).rolling_update_type = Some("Surging".into());
    assert_eq!(ds.rolling_update_type(), RollingUpdateType::Standard);
    ds.spec.update_strategy.rolling_update = None;
    assert_eq!(ds.rolling_update_type(), RollingUpdateType::Standard);
    assert!(!ds.is_paused());
}
