//! BroadcastJob: defaulting (BJ-4), validation (BJ-5), versions (BJ-1) and lossless
//! round-trips of every field.

use std::path::Path;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::{v1alpha1, v1beta1};
use kruise_api::convert::{broadcastjob_to_v1alpha1, broadcastjob_to_v1beta1};
use kruise_api::defaults::Defaulting;
use kruise_api::validation::Validate;
use kruise_api::{ValidationErrors, any::AnyResource};

fn job(yaml: &str) -> v1beta1::BroadcastJob {
    serde_saphyr::from_str(yaml).unwrap()
}

/// A valid job; `extra` is spliced into `spec`.
fn base(extra: &str) -> v1beta1::BroadcastJob {
    job(&format!(
        "apiVersion: apps.kruise.io/v1beta1
kind: BroadcastJob
metadata: {{name: bcj, namespace: default}}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{{name: main, image: busybox}}]
{extra}"
    ))
}

fn paths(errs: &ValidationErrors) -> Vec<String> {
    errs.iter().map(|e| e.path.to_string()).collect()
}

fn error_paths(j: &v1beta1::BroadcastJob) -> Vec<String> {
    j.validate().err().map(|e| paths(&e)).unwrap_or_default()
}

fn data(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)).unwrap()
}

// ---- BJ-4 defaulting ---------------------------------------------------------------------

#[test]
fn bj_4_completion_policy_type_defaults_to_always() {
    let mut j = base("");
    j.apply_defaults();
    assert_eq!(j.spec.completion_policy.type_, "Always");
}

#[test]
fn bj_4_parallelism_defaults_to_max_int32() {
    let mut j = base("");
    j.apply_defaults();
    assert_eq!(j.spec.parallelism, Some(IntOrString::Int(2_147_483_647)));
}

#[test]
fn bj_4_failure_policy_type_defaults_to_fail_fast() {
    let mut j = base("");
    j.apply_defaults();
    assert_eq!(j.spec.failure_policy.type_, "FailFast");
}

#[test]
fn bj_4_restart_limit_has_no_default() {
    let mut j = base("");
    j.apply_defaults();
    assert_eq!(j.spec.failure_policy.restart_limit, 0);
}

#[test]
fn bj_4_explicit_values_are_kept() {
    let mut j =
        base("  parallelism: 40%\n  completionPolicy: {type: Never}\n  failurePolicy: {type: Pause}\n");
    j.apply_defaults();
    assert_eq!(j.spec.parallelism, Some(IntOrString::String("40%".into())));
    assert_eq!(j.spec.completion_policy.type_, "Never");
    assert_eq!(j.spec.failure_policy.type_, "Pause");
}

#[test]
fn bj_4_pod_template_defaults_are_applied() {
    let mut j = base("");
    j.apply_defaults();
    let c = &j.spec.template.spec.as_ref().unwrap().containers[0];
    assert_eq!(c.image_pull_policy.as_deref(), Some("Always"));
}

#[test]
fn bj_4_defaulting_is_idempotent() {
    let mut once = base("");
    once.apply_defaults();
    let mut twice = once.clone();
    twice.apply_defaults();
    assert_eq!(once, twice);
}

#[test]
fn bj_4_policies_are_always_serialised_and_paused_false_is_omitted() {
    let mut j = base("  paused: false\n");
    j.apply_defaults();
    let v = serde_json::to_value(&j).unwrap();
    assert_eq!(v["spec"]["completionPolicy"], serde_json::json!({"type": "Always"}));
    assert_eq!(v["spec"]["failurePolicy"], serde_json::json!({"type": "FailFast"}));
    assert!(v["spec"].get("paused").is_none());
}

#[test]
fn bj_2_status_counters_and_phase_are_always_serialised() {
    let mut j = base("");
    j.status = Some(v1beta1::BroadcastJobStatus::default());
    let v = serde_json::to_value(&j).unwrap();
    for k in ["active", "succeeded", "failed", "desired", "phase"] {
        assert!(v["status"].get(k).is_some(), "status.{k} missing");
    }
    assert!(v["status"].get("conditions").is_none());
}

#[test]
fn bj_4_v1alpha1_is_defaulted_the_same_way() {
    let mut a: v1alpha1::BroadcastJob = broadcastjob_to_v1alpha1(&base(""));
    a.apply_defaults();
    let mut b = base("");
    b.apply_defaults();
    assert_eq!(broadcastjob_to_v1beta1(&a), b);
}

// ---- BJ-5 validation -------------------------------------------------------------------------

#[test]
fn bj_5_valid_job_passes() {
    let mut j = base("");
    j.apply_defaults();
    assert_eq!(j.validate(), Ok(()));
}

#[test]
fn bj_5_1_name_with_dot_is_rejected() {
    let mut j = base("");
    j.metadata.name = Some("bcj.v1".into());
    assert_eq!(error_paths(&j), ["metadata.name"]);
}

#[test]
fn bj_5_1_name_longer_than_63_is_rejected() {
    let mut j = base("");
    j.metadata.name = Some("a".repeat(64));
    assert_eq!(error_paths(&j), ["metadata.name"]);
    j.metadata.name = Some("a".repeat(63));
    assert_eq!(j.validate(), Ok(()));
}

#[test]
fn bj_5_2_never_with_ttl_is_rejected() {
    let j = base("  completionPolicy: {type: Never, ttlSecondsAfterFinished: 10}\n");
    assert_eq!(error_paths(&j), ["spec.completionPolicy.ttlSecondsAfterFinished"]);
}

#[test]
fn bj_5_3_never_with_active_deadline_is_rejected() {
    let j = base("  completionPolicy: {type: Never, activeDeadlineSeconds: 10}\n");
    assert_eq!(error_paths(&j), ["spec.completionPolicy.activeDeadlineSeconds"]);
}

#[test]
fn bj_5_2_always_with_ttl_and_deadline_is_accepted() {
    let j =
        base("  completionPolicy: {type: Always, ttlSecondsAfterFinished: 0, activeDeadlineSeconds: 10}\n");
    assert_eq!(j.validate(), Ok(()));
}

#[test]
fn bj_5_4_restart_policy_always_is_rejected() {
    let mut j = base("");
    j.spec.template.spec.as_mut().unwrap().restart_policy = Some("Always".into());
    assert_eq!(error_paths(&j), ["spec.template.spec.restartPolicy"]);
}

#[test]
fn bj_5_4_restart_policy_unset_is_rejected() {
    let mut j = base("");
    j.spec.template.spec.as_mut().unwrap().restart_policy = None;
    assert_eq!(error_paths(&j), ["spec.template.spec.restartPolicy"]);
}

#[test]
fn bj_5_4_restart_policy_on_failure_is_accepted() {
    let mut j = base("");
    j.spec.template.spec.as_mut().unwrap().restart_policy = Some("OnFailure".into());
    assert_eq!(j.validate(), Ok(()));
}

fn with_template_labels(labels: &[(&str, &str)]) -> v1beta1::BroadcastJob {
    let mut j = base("");
    j.spec.template.metadata = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        labels: Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
        ..Default::default()
    });
    j
}

#[test]
fn bj_5_5_preset_controller_labels_are_rejected() {
    for key in ["broadcastjob-name", "broadcastjob-controller-uid"] {
        let j = with_template_labels(&[(key, "x"), ("app", "a")]);
        assert_eq!(error_paths(&j), ["spec.template.metadata.labels"], "{key}");
    }
}

#[test]
fn bj_5_5_empty_controller_label_is_accepted() {
    let j = with_template_labels(&[("broadcastjob-name", ""), ("app", "a")]);
    assert_eq!(j.validate(), Ok(()));
}

#[test]
fn bj_5_6_pod_template_is_validated() {
    let mut j = base("");
    j.spec.template.spec.as_mut().unwrap().containers.clear();
    assert_eq!(error_paths(&j), ["spec.template.spec.containers"]);
}

#[test]
fn bj_5_parallelism_is_not_validated() {
    let j = base("  parallelism: not-a-number\n");
    assert_eq!(j.validate(), Ok(()));
}

#[test]
fn bj_5_all_errors_are_reported_together() {
    let mut j =
        base("  completionPolicy: {type: Never, ttlSecondsAfterFinished: 1, activeDeadlineSeconds: 1}\n");
    j.metadata.name = Some("Bad_Name".into());
    j.spec.template.spec.as_mut().unwrap().restart_policy = Some("Always".into());
    let p = error_paths(&j);
    for want in [
        "metadata.name",
        "spec.completionPolicy.ttlSecondsAfterFinished",
        "spec.completionPolicy.activeDeadlineSeconds",
        "spec.template.spec.restartPolicy",
    ] {
        assert!(p.iter().any(|x| x == want), "{want} not in {p:?}");
    }
}

#[test]
fn bj_5_update_runs_the_create_rules() {
    let old = base("");
    let new = base("  completionPolicy: {type: Never, ttlSecondsAfterFinished: 1}\n");
    let errs = new.validate_update(&old).unwrap_err();
    assert_eq!(paths(&errs), ["spec.completionPolicy.ttlSecondsAfterFinished"]);
}

// ---- BJ-1 versions and samples -------------------------------------------------------------------

#[test]
fn bj_1_v1alpha1_and_v1beta1_convert_losslessly() {
    let text = data("broadcastjob-v1alpha1-sample.yaml");
    let a: v1alpha1::BroadcastJob = serde_saphyr::from_str(&text).unwrap();
    let b = broadcastjob_to_v1beta1(&a);
    assert_eq!(serde_json::to_value(&b).unwrap()["apiVersion"], "apps.kruise.io/v1beta1");
    assert_eq!(broadcastjob_to_v1alpha1(&b), a);
}

#[test]
fn bj_1_samples_default_and_validate_through_any_resource() {
    for name in ["broadcastjob-sample.yaml", "broadcastjob-v1alpha1-sample.yaml"] {
        let v: serde_json::Value = serde_saphyr::from_str(&data(name)).unwrap();
        let mut obj = AnyResource::from_value(v.clone()).unwrap();
        assert_eq!(obj.kind(), "BroadcastJob");
        assert_eq!(obj.to_value(), v, "{name} does not round-trip");
        obj.apply_defaults();
        assert_eq!(obj.validate(), Ok(()), "{name}");
    }
}

#[test]
fn bj_1_wrong_api_version_is_rejected() {
    let r: Result<v1beta1::BroadcastJob, _> = serde_json::from_value(
        serde_json::json!({"apiVersion": "apps.kruise.io/v1alpha1", "kind": "BroadcastJob"}),
    );
    assert!(r.is_err());
}

// ---- round trip over arbitrary values ---------------------------------------------------------

mod roundtrip {
    use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    use k8s_openapi::jiff::Timestamp;
    use kruise_api::apps::v1beta1::*;
    use proptest::collection::vec;
    use proptest::option;
    use proptest::prelude::*;

    pub fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 .:%/-]{0,12}"
    }
    pub fn time() -> impl Strategy<Value = Time> {
        (0i64..4_000_000_000).prop_map(|s| Time(Timestamp::from_second(s).unwrap()))
    }
    pub fn int_or_string() -> impl Strategy<Value = IntOrString> {
        prop_oneof![any::<i32>().prop_map(IntOrString::Int), text().prop_map(IntOrString::String)]
    }
    fn template() -> impl Strategy<Value = PodTemplateSpec> {
        (
            option::of("[a-z]{1,8}"),
            vec(("[a-z]{1,8}", "[a-z:0-9.]{1,12}"), 0..3),
            option::of("Never|OnFailure"),
        )
            .prop_map(|(name, containers, restart)| PodTemplateSpec {
                metadata: name.map(|n| ObjectMeta { name: Some(n), ..Default::default() }),
                spec: Some(PodSpec {
                    containers: containers
                        .into_iter()
                        .map(|(name, image)| Container { name, image: Some(image), ..Default::default() })
                        .collect(),
                    restart_policy: restart,
                    ..Default::default()
                }),
            })
    }
    pub fn completion_policy() -> impl Strategy<Value = CompletionPolicy> {
        (text(), option::of(any::<i64>()), option::of(any::<i32>())).prop_map(|(type_, d, t)| {
            CompletionPolicy { type_, active_deadline_seconds: d, ttl_seconds_after_finished: t }
        })
    }
    fn spec() -> impl Strategy<Value = BroadcastJobSpec> {
        (option::of(int_or_string()), template(), completion_policy(), any::<bool>(), text(), any::<i32>())
            .prop_map(|(parallelism, template, completion_policy, paused, ft, rl)| BroadcastJobSpec {
                parallelism,
                template,
                completion_policy,
                paused,
                failure_policy: FailurePolicy { type_: ft, restart_limit: rl },
            })
    }
    fn condition() -> impl Strategy<Value = JobCondition> {
        (text(), text(), option::of(time()), option::of(time()), text(), text()).prop_map(
            |(t, s, p, tr, r, m)| JobCondition {
                type_: t,
                status: s,
                last_probe_time: p,
                last_transition_time: tr,
                reason: r,
                message: m,
            },
        )
    }
    fn status() -> impl Strategy<Value = BroadcastJobStatus> {
        (vec(condition(), 0..3), option::of(time()), option::of(time()), any::<[i32; 4]>(), text()).prop_map(
            |(conditions, start_time, completion_time, [active, succeeded, failed, desired], phase)| {
                BroadcastJobStatus {
                    conditions,
                    start_time,
                    completion_time,
                    active,
                    succeeded,
                    failed,
                    desired,
                    phase,
                }
            },
        )
    }
    pub fn meta() -> impl Strategy<Value = ObjectMeta> {
        (option::of("[a-z0-9-]{1,20}"), option::of("[a-z0-9-]{1,10}"))
            .prop_map(|(name, namespace)| ObjectMeta { name, namespace, ..Default::default() })
    }
    pub fn job() -> impl Strategy<Value = BroadcastJob> {
        (meta(), spec(), option::of(status())).prop_map(|(metadata, spec, status)| BroadcastJob {
            metadata,
            spec,
            status,
        })
    }

    proptest! {
        #[test]
        fn bj_1_yaml_json_roundtrip_is_lossless(j in job()) {
            let yaml = serde_saphyr::to_string(&j).unwrap();
            let from_yaml: BroadcastJob = serde_saphyr::from_str(&yaml).unwrap();
            prop_assert_eq!(&from_yaml, &j);
            let json = serde_json::to_string(&from_yaml).unwrap();
            let back: BroadcastJob = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, j);
        }

        #[test]
        fn bj_4_defaulting_is_idempotent_and_validation_never_panics(j in job()) {
            use kruise_api::defaults::Defaulting;
            use kruise_api::validation::Validate;
            let _ = j.validate();
            let mut once = j.clone();
            once.apply_defaults();
            let mut twice = once.clone();
            twice.apply_defaults();
            prop_assert_eq!(&once, &twice);
            let _ = once.validate_update(&j);
        }
    }
}

#[cfg(feature = "schemars")]
#[test]
fn bj_1_kind_info_matches_upstream_crd() {
    let info = v1beta1::broadcastjob::kind_info();
    assert_eq!(
        (info.plural, info.singular, info.short_names),
        ("broadcastjobs", "broadcastjob", &["bcj"][..])
    );
    assert!(info.namespaced);
    let versions: Vec<_> =
        info.versions.iter().map(|v| (v.name, v.served, v.storage, v.status_subresource)).collect();
    assert_eq!(versions, [("v1alpha1", true, false, true), ("v1beta1", true, true, true)]);
    let cols: Vec<_> = info.versions[1].printer_columns.iter().map(|c| c.name).collect();
    assert_eq!(cols, ["Desired", "Active", "Succeeded", "Failed", "AGE"]);
    assert_eq!(v1alpha1::broadcastjob::kind_info().kind, "BroadcastJob");
}
