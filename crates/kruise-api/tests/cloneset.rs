//! CloneSet defaulting (CS-10..CS-12) and validation (CS-13..CS-22), one test per rule.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::{v1alpha1, v1beta1};
use kruise_api::defaults::cloneset::{default_cloneset_v1alpha1, default_cloneset_v1beta1};
use kruise_api::defaults::pod::PodDefaultOptions;
use kruise_api::defaults::{Defaulting, default};
use kruise_api::validation::cloneset::*;
use kruise_api::validation::{Validate, validate, validate_update};
use kruise_api::{ValidationErrors, keys};

const V1ALPHA1: &str = r#"
apiVersion: apps.kruise.io/v1alpha1
kind: CloneSet
metadata: {name: web, namespace: default, uid: cs-uid}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: nginx
          image: nginx:1.25
"#;

fn alpha() -> v1alpha1::CloneSet {
    let mut cs: v1alpha1::CloneSet = serde_saphyr::from_str(V1ALPHA1).unwrap();
    default(&mut cs);
    cs
}

fn beta() -> v1beta1::CloneSet {
    let text = V1ALPHA1.replace("v1alpha1", "v1beta1");
    let mut cs: v1beta1::CloneSet = serde_saphyr::from_str(&text).unwrap();
    default(&mut cs);
    cs
}

fn paths(r: Result<(), ValidationErrors>) -> Vec<String> {
    r.err().map(|e| e.iter().map(|e| e.path.to_string()).collect()).unwrap_or_default()
}

fn messages(r: Result<(), ValidationErrors>) -> Vec<String> {
    r.err().map(|e| e.iter().map(|e| e.message.clone()).collect()).unwrap_or_default()
}

// ---- defaulting ----------------------------------------------------------------------------

#[test]
fn cs_10_v1alpha1_defaults() {
    let mut cs: v1alpha1::CloneSet = serde_saphyr::from_str(V1ALPHA1).unwrap();
    cs.spec.replicas = None;
    cs.apply_defaults();
    let us = &cs.spec.update_strategy;
    assert_eq!(cs.spec.replicas, Some(1));
    assert_eq!(cs.spec.revision_history_limit, Some(10));
    assert_eq!(us.type_.as_deref(), Some("ReCreate"));
    assert_eq!(us.partition, Some(IntOrString::Int(0)));
    assert_eq!(us.max_unavailable, Some(IntOrString::String("20%".into())));
    assert_eq!(us.max_surge, Some(IntOrString::Int(0)));
    assert_eq!(us.in_place_update_strategy, None);
    assert!(!cs.spec.scale_strategy.disable_pvc_reuse);
}

#[test]
fn cs_10_in_place_types_get_in_place_update_strategy() {
    let mut cs: v1alpha1::CloneSet = serde_saphyr::from_str(V1ALPHA1).unwrap();
    cs.spec.update_strategy.type_ = Some("InPlaceIfPossible".into());
    cs.apply_defaults();
    assert_eq!(cs.spec.update_strategy.in_place_update_strategy.map(|s| s.grace_period_seconds), Some(0));
}

#[test]
fn cs_11_v1beta1_defaults() {
    let cs = beta();
    assert_eq!(cs.spec.update_strategy.type_.as_deref(), Some("RollingUpdate"));
    let ru = cs.spec.update_strategy.rolling_update.unwrap();
    assert_eq!(ru.pod_update_policy.as_deref(), Some("ReCreate"));
    assert_eq!(ru.partition, Some(IntOrString::Int(0)));
    assert_eq!(ru.max_unavailable, Some(IntOrString::String("20%".into())));
    assert_eq!(ru.max_surge, Some(IntOrString::Int(0)));
    assert!(ru.in_place_update_strategy.is_none());
}

#[test]
fn cs_11_on_delete_leaves_rolling_update_alone() {
    let text = V1ALPHA1.replace("v1alpha1", "v1beta1") + "  updateStrategy: {type: OnDelete}\n";
    let mut cs: v1beta1::CloneSet = serde_saphyr::from_str(&text).unwrap();
    cs.apply_defaults();
    assert!(cs.spec.update_strategy.rolling_update.is_none());
    assert_eq!(cs.spec.replicas, Some(4));
}

#[test]
fn cs_11_in_place_policy_gets_in_place_update_strategy() {
    let text = V1ALPHA1.replace("v1alpha1", "v1beta1")
        + "  updateStrategy: {rollingUpdate: {podUpdatePolicy: InPlaceOnly}}\n";
    let mut cs: v1beta1::CloneSet = serde_saphyr::from_str(&text).unwrap();
    cs.apply_defaults();
    assert!(cs.spec.update_strategy.rolling_update.unwrap().in_place_update_strategy.is_some());
}

#[test]
fn cs_12_template_defaults_on_create() {
    let cs = alpha();
    let spec = cs.spec.template.spec.as_ref().unwrap();
    assert_eq!(spec.restart_policy.as_deref(), Some("Always"));
    assert_eq!(spec.containers[0].image_pull_policy.as_deref(), Some("Always"));
}

#[test]
fn cs_12_template_defaults_on_update_only_when_template_changed() {
    let old: v1alpha1::CloneSet = serde_saphyr::from_str(V1ALPHA1).unwrap();
    let mut same = old.clone();
    default_cloneset_v1alpha1(&mut same, Some(&old), PodDefaultOptions::default());
    assert_eq!(same.spec.template, old.spec.template, "unchanged template is left as stored");
    let mut changed = old.clone();
    changed.spec.template.spec.as_mut().unwrap().containers[0].image = Some("nginx:1.26".into());
    default_cloneset_v1alpha1(&mut changed, Some(&old), PodDefaultOptions::default());
    assert_eq!(changed.spec.template.spec.unwrap().dns_policy.as_deref(), Some("ClusterFirst"));
}

#[test]
fn cs_12_template_no_defaults_gate() {
    let mut cs: v1beta1::CloneSet = serde_saphyr::from_str(&V1ALPHA1.replace("v1alpha1", "v1beta1")).unwrap();
    let before = cs.spec.template.clone();
    default_cloneset_v1beta1(
        &mut cs,
        None,
        PodDefaultOptions { template_no_defaults: true, ..Default::default() },
    );
    assert_eq!(cs.spec.template, before);
}

#[test]
fn cs_12_volume_claim_templates_are_defaulted() {
    let text = V1ALPHA1.to_owned()
        + "  volumeClaimTemplates:\n    - metadata: {name: data}\n      spec: {accessModes: [ReadWriteOnce]}\n";
    let mut cs: v1alpha1::CloneSet = serde_saphyr::from_str(&text).unwrap();
    cs.apply_defaults();
    let pvc = &cs.spec.volume_claim_templates[0];
    assert_eq!(pvc.spec.as_ref().unwrap().volume_mode.as_deref(), Some("Filesystem"));
}

#[test]
fn cs_12_defaulting_is_idempotent() {
    let once = alpha();
    let mut twice = once.clone();
    twice.apply_defaults();
    assert_eq!(once, twice);
    let once = beta();
    let mut twice = once.clone();
    twice.apply_defaults();
    assert_eq!(once, twice);
}

// ---- validation ----------------------------------------------------------------------------

#[test]
fn cs_13_valid_objects_pass() {
    assert_eq!(validate(&alpha()), Ok(()));
    assert_eq!(validate(&beta()), Ok(()));
}

#[test]
fn cs_13_empty_selector_message() {
    let mut cs = alpha();
    cs.spec.selector = Some(Default::default());
    assert_eq!(messages(cs.validate()), ["empty selector is invalid for cloneset"]);
}

#[test]
fn cs_13_selector_must_match_template_labels() {
    let mut cs = beta();
    cs.spec.template.metadata.as_mut().unwrap().labels = None;
    assert_eq!(paths(cs.validate()), ["spec.template.metadata.labels"]);
    assert_eq!(messages(cs.validate()), ["`selector` does not match template `labels`"]);
}

#[test]
fn cs_14_volume_claim_templates_count_as_volumes() {
    let text = V1ALPHA1.to_owned()
        + "  volumeClaimTemplates:\n    - metadata: {name: data}\n      spec: {accessModes: [ReadWriteOnce]}\n";
    let mut cs: v1alpha1::CloneSet = serde_saphyr::from_str(&text).unwrap();
    cs.spec.template.spec.as_mut().unwrap().containers[0].volume_mounts =
        Some(vec![k8s_openapi::api::core::v1::VolumeMount {
            name: "data".into(),
            mount_path: "/data".into(),
            ..Default::default()
        }]);
    cs.apply_defaults();
    assert_eq!(cs.validate(), Ok(()));
}

#[test]
fn cs_14_active_deadline_is_forbidden() {
    let mut cs = alpha();
    cs.spec.template.spec.as_mut().unwrap().active_deadline_seconds = Some(10);
    assert_eq!(messages(cs.validate()), ["activeDeadlineSeconds in cloneset is not Supported"]);
}

#[test]
fn cs_14_restart_policy_on_failure_is_not_supported() {
    let mut cs = beta();
    cs.spec.template.spec.as_mut().unwrap().restart_policy = Some("OnFailure".into());
    assert_eq!(paths(cs.validate()), ["spec.template.spec.restartPolicy"]);
}

#[test]
fn cs_15_duplicate_pods_to_delete() {
    let mut cs = beta();
    cs.spec.scale_strategy.pods_to_delete = vec!["a".into(), "b".into(), "a".into()];
    assert_eq!(messages(cs.validate()), [r#"duplicated items ["a"]"#]);
}

fn pod(name: &str, owner_uid: Option<&str>, terminating: bool) -> Pod {
    let mut p = Pod::default();
    p.metadata.name = Some(name.into());
    p.metadata.namespace = Some("default".into());
    p.metadata.owner_references = owner_uid.map(|uid| {
        vec![OwnerReference {
            api_version: "apps.kruise.io/v1alpha1".into(),
            kind: "CloneSet".into(),
            name: "web".into(),
            uid: uid.into(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]
    });
    if terminating {
        p.metadata.deletion_timestamp = Some(Time("2026-01-01T00:00:00Z".parse().unwrap()));
    }
    p
}

#[test]
fn cs_15_pods_to_delete_must_exist_be_live_and_owned() {
    let mut cs = alpha();
    cs.spec.scale_strategy.pods_to_delete =
        vec!["gone".into(), "dying".into(), "foreign".into(), "mine".into()];
    let pods = [
        pod("dying", Some("cs-uid"), true),
        pod("foreign", Some("other"), false),
        pod("mine", Some("cs-uid"), false),
    ];
    let errs = validate_pods_to_delete(&cs, None, &pods);
    let msgs: Vec<&str> = errs.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "find pod dying already terminating",
            "find pod foreign owner is not this CloneSet",
            "find pod gone failed: not found"
        ]
    );
    assert!(errs.iter().all(|e| e.path.as_str() == "spec.scaleStrategy.podsToDelete"));
}

#[test]
fn cs_15_only_newly_added_names_are_checked() {
    let mut old = alpha();
    old.spec.scale_strategy.pods_to_delete = vec!["gone".into()];
    let mut cs = old.clone();
    cs.spec.scale_strategy.pods_to_delete.push("mine".into());
    assert!(validate_pods_to_delete(&cs, Some(&old), &[pod("mine", Some("cs-uid"), false)]).is_empty());
}

/// CS-15 deviation (issue 12 item 2): upstream leaves `scaleStrategy.maxUnavailable`
/// unvalidated and its controller reads a bad string as 0, blocking scale-up for good; we
/// reject what the controller's reader cannot read, through both versions.
#[test]
fn cs_15_scale_strategy_max_unavailable_must_be_readable() {
    for bad in ["abc%", "garbage", "12.5%", "%"] {
        let mut cs = alpha();
        cs.spec.scale_strategy.max_unavailable = Some(IntOrString::String(bad.into()));
        assert_eq!(paths(cs.validate()), ["spec.scaleStrategy.maxUnavailable"], "{bad}");
        let mut b = beta();
        b.spec.scale_strategy.max_unavailable = Some(IntOrString::String(bad.into()));
        assert_eq!(paths(b.validate()), ["spec.scaleStrategy.maxUnavailable"], "{bad}");
    }
    let mut cs = alpha();
    cs.spec.scale_strategy.max_unavailable = Some(IntOrString::Int(-1));
    assert_eq!(messages(cs.validate()), ["must be greater than or equal to 0"]);
    for good in [IntOrString::String("20%".into()), IntOrString::String("3".into()), IntOrString::Int(0)] {
        cs.spec.scale_strategy.max_unavailable = Some(good.clone());
        assert_eq!(cs.validate(), Ok(()), "{good:?}");
    }
}

#[test]
fn cs_16_on_delete_rejected_through_v1alpha1_accepted_through_v1beta1() {
    let mut a = alpha();
    a.spec.update_strategy.type_ = Some("OnDelete".into());
    assert_eq!(paths(a.validate()), ["spec.updateStrategy.type"]);
    let mut b = beta();
    b.spec.update_strategy =
        v1beta1::CloneSetUpdateStrategy { type_: Some("OnDelete".into()), rolling_update: None };
    assert_eq!(b.validate(), Ok(()));
}

#[test]
fn cs_17_float_percent_partition_is_accepted() {
    let mut cs = alpha();
    cs.spec.update_strategy.partition = Some(IntOrString::String("12.5%".into()));
    assert_eq!(cs.validate(), Ok(()));
}

#[test]
fn cs_17_max_surge_with_in_place_only_is_invalid() {
    let mut cs = beta();
    let ru = cs.spec.update_strategy.rolling_update.as_mut().unwrap();
    ru.pod_update_policy = Some("InPlaceOnly".into());
    ru.max_surge = Some(IntOrString::String("10%".into()));
    assert_eq!(paths(cs.validate()), ["spec.updateStrategy.rollingUpdate.maxSurge"]);
}

#[test]
fn cs_17_both_less_than_one_is_reported_on_max_unavailable() {
    let mut cs = alpha();
    cs.spec.update_strategy.max_unavailable = Some(IntOrString::Int(0));
    assert_eq!(paths(cs.validate()), ["spec.updateStrategy.maxUnavailable"]);
    cs.spec.update_strategy.max_surge = Some(IntOrString::Int(1));
    assert_eq!(cs.validate(), Ok(()), "a surge of 1 is enough");
    cs.spec.replicas = Some(0);
    cs.spec.update_strategy.max_surge = Some(IntOrString::Int(0));
    assert_eq!(cs.validate(), Ok(()), "no check with zero replicas");
}

#[test]
fn cs_17_v1beta1_nil_partition_is_invalid() {
    let mut cs = beta();
    cs.spec.update_strategy.rolling_update.as_mut().unwrap().partition = None;
    assert_eq!(paths(cs.validate()), ["spec.updateStrategy.rollingUpdate.partition"]);
}

#[test]
fn cs_18_priority_and_scatter_messages() {
    use kruise_api::apps::common::*;
    let weight = |w: i32| UpdatePriorityWeightTerm {
        weight: w,
        match_selector: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
            match_labels: Some([("a".to_owned(), "b".to_owned())].into_iter().collect()),
            match_expressions: None,
        },
    };
    let p = UpdatePriorityStrategy { weight_priority: vec![weight(0)], order_priority: vec![] };
    assert_eq!(priority_strategy_problem(Some(&p)), None, "quirk: weight 0 is accepted");
    let p = UpdatePriorityStrategy { weight_priority: vec![weight(101)], order_priority: vec![] };
    assert_eq!(
        priority_strategy_problem(Some(&p)).as_deref(),
        Some("weight must be valid number in the range 1-100")
    );
    let p = UpdatePriorityStrategy {
        weight_priority: vec![UpdatePriorityWeightTerm { weight: 5, match_selector: Default::default() }],
        order_priority: vec![],
    };
    assert_eq!(priority_strategy_problem(Some(&p)).as_deref(), Some("selector can not be empty"));
    let p = UpdatePriorityStrategy {
        weight_priority: vec![],
        order_priority: vec![UpdatePriorityOrderTerm { ordered_key: String::new() }],
    };
    assert_eq!(priority_strategy_problem(Some(&p)).as_deref(), Some("order key can not be empty"));
    let t = |k: &str, v: &str| UpdateScatterTerm { key: k.into(), value: v.into() };
    assert_eq!(scatter_strategy_problem(&[t("", "a")]).as_deref(), Some("key should not be empty"));
    assert_eq!(scatter_strategy_problem(&[t("z", "a"), t("z", "b")]), None);
    assert_eq!(
        scatter_strategy_problem(&[t("z", "a"), t("z", "a")]).as_deref(),
        Some("duplicated key=z value=a")
    );
}

#[test]
fn cs_19_progress_deadline_rules() {
    let mut cs = alpha();
    cs.spec.min_ready_seconds = 10;
    cs.spec.progress_deadline_seconds = Some(10);
    assert_eq!(messages(cs.validate()), ["must be greater than minReadySeconds"]);
    cs.spec.progress_deadline_seconds = Some(i32::MAX);
    assert_eq!(cs.validate(), Ok(()), "MaxInt32 disables the deadline");
    cs.spec.progress_deadline_seconds = Some(-1);
    assert_eq!(paths(cs.validate()).len(), 2);
    let mut b = beta();
    b.spec.min_ready_seconds = 10;
    b.spec.progress_deadline_seconds = Some(5);
    assert_eq!(b.validate(), Ok(()), "CS-22: v1beta1 does not check progressDeadlineSeconds");
}

#[test]
fn cs_19_pre_download_parallelism_messages() {
    let check = |v: IntOrString| {
        let mut cs = beta();
        let ru = cs.spec.update_strategy.rolling_update.as_mut().unwrap();
        ru.in_place_update_strategy = Some(kruise_api::apps::common::InPlaceUpdateStrategy {
            image_pre_download_parallelism: Some(v),
            ..Default::default()
        });
        messages(cs.validate())
    };
    assert_eq!(check(IntOrString::Int(-1)), ["imagePreDownloadParallelism must be non-negative"]);
    assert_eq!(
        check(IntOrString::String("5%".into())),
        ["imagePreDownloadParallelism does not support percentage value"]
    );
    assert_eq!(check(IntOrString::String("-3".into())), ["imagePreDownloadParallelism must be non-negative"]);
    assert_eq!(check(IntOrString::String("50".into())), Vec::<String>::new());
    let bad = check(IntOrString::String("x".into()));
    assert!(bad[0].starts_with("imagePreDownloadParallelism must be a valid integer: "), "{bad:?}");
}

#[test]
fn cs_20_selector_is_immutable() {
    let old = alpha();
    let mut new = old.clone();
    new.spec.selector.as_mut().unwrap().match_labels.as_mut().unwrap().insert("tier".into(), "fe".into());
    new.spec.template.metadata.as_mut().unwrap().labels.as_mut().unwrap().insert("tier".into(), "fe".into());
    assert_eq!(paths(validate_update(&old, &new)), ["spec"]);
    let old = beta();
    let mut new = old.clone();
    new.spec.selector.as_mut().unwrap().match_labels.as_mut().unwrap().insert("tier".into(), "fe".into());
    new.spec.template.metadata.as_mut().unwrap().labels.as_mut().unwrap().insert("tier".into(), "fe".into());
    assert_eq!(paths(validate_update(&old, &new)), ["spec"]);
}

#[test]
fn cs_20_mutable_fields_may_change() {
    let old = alpha();
    let mut new = old.clone();
    new.spec.replicas = Some(9);
    new.spec.min_ready_seconds = 5;
    new.spec.revision_history_limit = Some(3);
    new.spec.template.spec.as_mut().unwrap().containers[0].args = Some(vec!["-v".into()]);
    assert_eq!(validate_update(&old, &new), Ok(()));
}

#[test]
fn cs_20_in_place_only_allows_image_changes_only() {
    let mut old = alpha();
    old.spec.update_strategy.type_ = Some("InPlaceOnly".into());
    let mut new = old.clone();
    new.spec.template.spec.as_mut().unwrap().containers[0].image = Some("nginx:1.26".into());
    new.spec.template.metadata.as_mut().unwrap().annotations =
        Some([("a".to_owned(), "b".to_owned())].into_iter().collect());
    assert_eq!(validate_update(&old, &new), Ok(()), "image and template metadata may change");
    new.spec.template.spec.as_mut().unwrap().containers[0].args = Some(vec!["-v".into()]);
    let msgs = messages(validate_update(&old, &new));
    assert_eq!(
        msgs,
        ["only allowed to update images in spec for InPlaceOnly, but found add /containers/0/args"]
    );
    assert_eq!(paths(validate_update(&old, &new)), ["spec"]);
}

#[test]
fn cs_22_v1beta1_has_no_in_place_only_rule() {
    let mut old = beta();
    old.spec.update_strategy.rolling_update.as_mut().unwrap().pod_update_policy = Some("InPlaceOnly".into());
    let mut new = old.clone();
    new.spec.template.spec.as_mut().unwrap().containers[0].args = Some(vec!["-v".into()]);
    assert_eq!(validate_update(&old, &new), Ok(()));
}

#[test]
fn cs_20_metadata_name_is_immutable() {
    let old = alpha();
    let mut new = old.clone();
    new.metadata.name = Some("other".into());
    assert_eq!(paths(validate_update(&old, &new)), ["metadata.name"]);
}

#[test]
fn cs_21_delete_protection() {
    let mut cs = alpha();
    assert!(validate_cloneset_v1alpha1_delete(&cs).is_empty());
    cs.metadata.labels =
        Some([(keys::DELETE_PROTECTION.to_owned(), "Always".to_owned())].into_iter().collect());
    let errs = validate_cloneset_v1alpha1_delete(&cs);
    assert_eq!(
        errs.iter().map(|e| e.path.to_string()).collect::<Vec<_>>(),
        ["metadata.labels[policy.kruise.io/delete-protection]"]
    );
    cs.metadata.labels =
        Some([(keys::DELETE_PROTECTION.to_owned(), "Cascading".to_owned())].into_iter().collect());
    assert_eq!(validate_cloneset_v1alpha1_delete(&cs).len(), 1, "replicas 4 > 0");
    cs.spec.replicas = Some(0);
    assert!(validate_cloneset_v1alpha1_delete(&cs).is_empty());
    let mut b = beta();
    b.metadata.labels =
        Some([(keys::DELETE_PROTECTION.to_owned(), "Always".to_owned())].into_iter().collect());
    b.metadata.deletion_timestamp = Some(Time("2026-01-01T00:00:00Z".parse().unwrap()));
    assert!(validate_cloneset_v1beta1_delete(&b).is_empty(), "already terminating");
}

#[test]
fn cs_12_cs_13_seed_manifests_default_and_validate_clean() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed");
    let mut n = 0;
    let mut entries: Vec<_> =
        std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    let mut previous: Option<v1alpha1::CloneSet> = None;
    for path in entries.into_iter().filter(|p| p.to_string_lossy().ends_with("-ok.yaml")) {
        let text = std::fs::read_to_string(&path).unwrap();
        let mut cs: v1alpha1::CloneSet = serde_saphyr::from_str(&text).unwrap();
        default_cloneset_v1alpha1(&mut cs, previous.as_ref(), PodDefaultOptions::default());
        assert_eq!(cs.validate(), Ok(()), "{}", path.display());
        if let Some(old) = &previous {
            assert_eq!(cs.validate_update(old), Ok(()), "{} as an update", path.display());
        }
        previous = Some(cs);
        n += 1;
    }
    assert!(n >= 5);
}

#[test]
fn cs_20_unset_and_empty_lists_compare_equal() {
    let old = alpha();
    let mut new = old.clone();
    new.spec.selector.as_mut().unwrap().match_expressions = Some(vec![]);
    assert_eq!(validate_update(&old, &new), Ok(()), "Semantic.DeepEqual: nil == empty");
}

#[test]
fn cs_17_max_surge_message_names_the_version_setting() {
    let mut a = alpha();
    a.spec.update_strategy.type_ = Some("InPlaceOnly".into());
    a.spec.update_strategy.max_surge = Some(IntOrString::Int(1));
    assert_eq!(messages(a.validate()), ["can not use maxSurge with strategy type InPlaceOnly"]);
    let mut b = beta();
    let ru = b.spec.update_strategy.rolling_update.as_mut().unwrap();
    ru.pod_update_policy = Some("InPlaceOnly".into());
    ru.max_surge = Some(IntOrString::Int(1));
    assert_eq!(messages(b.validate()), ["can not use maxSurge with podUpdatePolicy InPlaceOnly"]);
}
