//! Rollout v1beta1: API model (RO-1..RO-6, RO-12), CRD defaults (RO-4), validation (RO-9,
//! RO-10, RO-11) and lossless round-trips.

use std::path::Path;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::ValidationErrors;
use kruise_api::any::AnyResource;
use kruise_api::defaults::Defaulting;
use kruise_api::rollouts::v1beta1::{RollingStyle, Rollout, RolloutStatus};
use kruise_api::validation::Validate;
use kruise_api::validation::rollout::{validate_rollout_conflict, validate_rollout_update};

fn rollout(yaml: &str) -> Rollout {
    serde_saphyr::from_str(yaml).unwrap()
}

/// A CloneSet Rollout with `strategy` spliced in (indented by four spaces).
fn with_strategy(strategy: &str) -> Rollout {
    with_workload("apps.kruise.io/v1alpha1", "CloneSet", strategy)
}

fn with_workload(api_version: &str, kind: &str, strategy: &str) -> Rollout {
    rollout(&format!(
        "apiVersion: rollouts.kruise.io/v1beta1
kind: Rollout
metadata: {{name: ro, namespace: default}}
spec:
  workloadRef: {{apiVersion: {api_version}, kind: {kind}, name: web}}
  strategy:
{strategy}"
    ))
}

/// A canary strategy with the given step lines (each a YAML flow mapping).
fn canary_steps(steps: &[&str]) -> Rollout {
    let body: String = steps.iter().map(|s| format!("        - {s}\n")).collect();
    with_strategy(&format!("    canary:\n      steps:\n{body}"))
}

fn paths(errs: &ValidationErrors) -> Vec<String> {
    errs.iter().map(|e| e.path.to_string()).collect()
}

fn error_paths(r: &Rollout) -> Vec<String> {
    r.validate().err().map(|e| paths(&e)).unwrap_or_default()
}

fn data(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)).unwrap()
}

// ---- RO-1..RO-6 API model -------------------------------------------------------------------

#[test]
fn ro_1_samples_round_trip_default_and_validate() {
    for name in ["rollout-canary-sample.yaml", "rollout-bluegreen-sample.yaml"] {
        let v: serde_json::Value = serde_saphyr::from_str(&data(name)).unwrap();
        let mut obj = AnyResource::from_value(v.clone()).unwrap();
        assert_eq!(obj.kind(), "Rollout");
        // `disabled` and each step's `pause` are always serialised, as upstream does.
        let mut expected = v.clone();
        expected["spec"]["disabled"] = false.into();
        let strategy = expected["spec"]["strategy"].as_object_mut().unwrap();
        for s in strategy.values_mut() {
            for step in s["steps"].as_array_mut().unwrap() {
                step.as_object_mut().unwrap().entry("pause").or_insert(serde_json::json!({}));
            }
        }
        assert_eq!(obj.to_value(), expected, "{name}");
        obj.apply_defaults();
        assert_eq!(obj.validate(), Ok(()), "{name}");
    }
}

#[test]
fn ro_6_status_mirrors_and_sub_status_fields_are_always_serialised() {
    let mut r = canary_steps(&["{replicas: 1}"]);
    r.status = Some(RolloutStatus { canary_status: Some(Default::default()), ..Default::default() });
    let v = serde_json::to_value(&r).unwrap();
    let st = &v["status"];
    assert_eq!(st["currentStepIndex"], 0);
    assert_eq!(st["currentStepState"], "");
    let cs = &st["canaryStatus"];
    for k in [
        "podTemplateHash",
        "currentStepIndex",
        "nextStepIndex",
        "finalisingStep",
        "currentStepState",
        "canaryRevision",
        "canaryReplicas",
        "canaryReadyReplicas",
    ] {
        assert!(cs.get(k).is_some(), "canaryStatus.{k} missing");
    }
    for k in [
        "observedWorkloadGeneration",
        "observedRolloutID",
        "rolloutHash",
        "stableRevision",
        "message",
        "lastUpdateTime",
    ] {
        assert!(cs.get(k).is_none(), "canaryStatus.{k} should be omitted");
    }
}

#[test]
fn ro_6_sub_status_common_fields_are_inlined() {
    let r: Rollout = serde_saphyr::from_str(&data("rollout-bluegreen-sample.yaml")).unwrap();
    let st = r.status.as_ref().unwrap();
    let common = st.sub_status().unwrap();
    assert_eq!(common.current_step_index, 1);
    assert_eq!(common.next_step_index, 2);
    assert_eq!(common.stable_revision, "6bd6c7c9d8");
    assert_eq!(st.blue_green_status.as_ref().unwrap().updated_revision, "5f8b6d4f7c");
}

#[test]
fn ro_2_step_without_traffic_or_matches_is_a_no_traffic_step() {
    let r = canary_steps(&[
        "{replicas: 1}",
        "{replicas: 2, traffic: 5%}",
        "{replicas: 3, matches: [{headers: [{name: a, value: b}]}]}",
    ]);
    let steps = r.spec.strategy.steps();
    assert!(steps[0].is_no_traffic_step());
    assert!(!steps[1].is_no_traffic_step());
    assert!(!steps[2].is_no_traffic_step());
}

// ---- RO-12 rolling style ----------------------------------------------------------------------------

#[test]
fn ro_12_rolling_style_and_real_partition() {
    let partition = canary_steps(&["{replicas: 1}"]);
    assert_eq!(partition.spec.strategy.rolling_style(), Some(RollingStyle::Partition));
    assert!(partition.is_real_partition());

    let canary_deploy = with_workload(
        "apps/v1",
        "Deployment",
        "    canary:\n      enableExtraWorkloadForCanary: true\n      steps: [{replicas: 1}]\n",
    );
    assert_eq!(canary_deploy.spec.strategy.rolling_style(), Some(RollingStyle::Canary));
    assert!(!canary_deploy.is_real_partition());

    // Canary requested on a CloneSet silently degrades to partition.
    let canary_cloneset = with_strategy(
        "    canary:\n      enableExtraWorkloadForCanary: true\n      steps: [{replicas: 1}]\n",
    );
    assert_eq!(canary_cloneset.spec.strategy.rolling_style(), Some(RollingStyle::Canary));
    assert!(canary_cloneset.is_real_partition());

    let bg = with_strategy("    blueGreen:\n      steps: [{replicas: 1}]\n");
    assert_eq!(bg.spec.strategy.rolling_style(), Some(RollingStyle::BlueGreen));
    assert!(!bg.is_real_partition());

    let none = with_strategy("    paused: true\n");
    assert_eq!(none.spec.strategy.rolling_style(), None);
    assert!(!none.is_real_partition());
}

// ---- RO-4 CRD defaults ---------------------------------------------------------------------------------

#[test]
fn ro_4_grace_period_defaults_to_3_and_explicit_zero_is_kept() {
    let mut r = with_strategy(
        "    canary:\n      steps: [{replicas: 1}]\n      trafficRoutings:\n        - {service: a, ingress: {name: a}}\n",
    );
    r.apply_defaults();
    let tr = &r.spec.strategy.traffic_routings()[0];
    assert_eq!(tr.grace_period_seconds, Some(3));
    assert_eq!(tr.ingress.as_ref().unwrap().class_type_or_default(), "nginx");

    let mut r = with_strategy(
        "    blueGreen:\n      steps: [{replicas: 1}]\n      trafficRoutings:\n        - {service: a, gracePeriodSeconds: 0, gateway: {httpRouteName: r}}\n",
    );
    r.apply_defaults();
    assert_eq!(r.spec.strategy.traffic_routings()[0].grace_period_seconds, Some(0));
}

#[test]
fn ro_4_gateway_match_defaults() {
    let mut r = canary_steps(&[
        "{replicas: 1, matches: [{path: {}, headers: [{name: a, value: b}], queryParams: [{name: q, value: v, type: RegularExpression}]}]}",
    ]);
    r.apply_defaults();
    let m = &r.spec.strategy.steps()[0].matches[0];
    let path = m.path.as_ref().unwrap();
    assert_eq!((path.type_.as_deref(), path.value.as_deref()), (Some("PathPrefix"), Some("/")));
    assert_eq!(m.headers[0].type_.as_deref(), Some("Exact"));
    assert_eq!(m.query_params[0].type_.as_deref(), Some("RegularExpression"));
}

#[test]
fn ro_4_defaulting_is_idempotent() {
    let mut once: Rollout = serde_saphyr::from_str(&data("rollout-bluegreen-sample.yaml")).unwrap();
    once.apply_defaults();
    let mut twice = once.clone();
    twice.apply_defaults();
    assert_eq!(once, twice);
}

// ---- RO-9 validation ------------------------------------------------------------------------------------

#[test]
fn ro_9_1_canary_or_blue_green_is_required() {
    assert_eq!(error_paths(&with_strategy("    paused: false\n")), ["spec.strategy"]);
}

#[test]
fn ro_9_1_canary_and_blue_green_together_are_rejected() {
    let r = with_strategy("    canary: {steps: [{replicas: 1}]}\n    blueGreen: {steps: [{replicas: 1}]}\n");
    assert_eq!(error_paths(&r), ["spec.strategy"]);
}

#[test]
fn ro_9_2_steps_are_required() {
    assert_eq!(error_paths(&with_strategy("    canary: {}\n")), ["spec.strategy.canary.steps"]);
}

#[test]
fn ro_9_2_replicas_are_required() {
    assert_eq!(error_paths(&canary_steps(&["{traffic: 5%}"])), ["spec.strategy.canary.steps[0].replicas"]);
}

#[test]
fn ro_9_2_replicas_must_be_positive_or_a_percent_up_to_100() {
    for bad in ["0", "-1", "0%", "101%", "'50'", "abc%"] {
        let r = canary_steps(&[&format!("{{replicas: {bad}}}")]);
        assert_eq!(error_paths(&r), ["spec.strategy.canary.steps[0].replicas"], "{bad}");
    }
    for good in ["1", "150", "1%", "100%"] {
        let r = canary_steps(&[&format!("{{replicas: {good}}}")]);
        assert_eq!(r.validate(), Ok(()), "{good}");
    }
}

#[test]
fn ro_9_3_canary_traffic_must_be_above_0_and_at_most_100_percent() {
    for bad in ["0%", "101%", "5", "x%"] {
        let r = canary_steps(&[&format!("{{replicas: 1, traffic: '{bad}'}}")]);
        assert_eq!(error_paths(&r), ["spec.strategy.canary.steps[0].traffic"], "{bad}");
    }
    assert_eq!(canary_steps(&["{replicas: 1, traffic: 100%}"]).validate(), Ok(()));
}

#[test]
fn ro_9_3_blue_green_allows_zero_traffic() {
    let r = with_workload(
        "apps/v1",
        "Deployment",
        "    blueGreen:\n      steps: [{replicas: 50%, traffic: 0%}]\n",
    );
    assert_eq!(r.validate(), Ok(()));
    let r = with_workload(
        "apps/v1",
        "Deployment",
        "    blueGreen:\n      steps: [{replicas: 50%, traffic: 101%}]\n",
    );
    assert_eq!(error_paths(&r), ["spec.strategy.blueGreen.steps[0].traffic"]);
}

#[test]
fn ro_9_4_partition_step_with_traffic_is_limited_to_50_percent() {
    let r = canary_steps(&["{replicas: 51%, traffic: 10%}"]);
    assert_eq!(error_paths(&r), ["spec.strategy.canary.steps[0].replicas"]);
    let r = canary_steps(&["{replicas: 51%, matches: [{headers: [{name: a, value: b}]}]}"]);
    assert_eq!(error_paths(&r), ["spec.strategy.canary.steps[0].replicas"]);
    // 50% is the limit itself; integers are not limited; steps without traffic are not.
    assert_eq!(canary_steps(&["{replicas: 50%, traffic: 10%}"]).validate(), Ok(()));
    assert_eq!(canary_steps(&["{replicas: 80, traffic: 10%}"]).validate(), Ok(()));
    assert_eq!(canary_steps(&["{replicas: 100%}"]).validate(), Ok(()));
}

#[test]
fn ro_9_4_limit_does_not_apply_to_canary_style_deployments() {
    let r = with_workload(
        "apps/v1",
        "Deployment",
        "    canary:\n      enableExtraWorkloadForCanary: true\n      steps: [{replicas: 80%, traffic: 10%}]\n",
    );
    assert_eq!(r.validate(), Ok(()));
}

#[test]
fn ro_9_5_replicas_of_the_same_kind_must_not_decrease() {
    let r = canary_steps(&["{replicas: 5}", "{replicas: 3}"]);
    assert_eq!(error_paths(&r), ["spec.strategy.canary.steps[1].replicas"]);
    let r = canary_steps(&["{replicas: 50%}", "{replicas: 20%}"]);
    assert_eq!(error_paths(&r), ["spec.strategy.canary.steps[1].replicas"]);
    // Mixed kinds are not compared.
    assert_eq!(canary_steps(&["{replicas: 50}", "{replicas: 20%}", "{replicas: 1}"]).validate(), Ok(()));
}

#[test]
fn ro_9_6_single_traffic_routing_with_service_and_provider() {
    let r = with_strategy(
        "    canary:
      steps: [{replicas: 1}]
      trafficRoutings:
        - {service: '', gracePeriodSeconds: -1}
        - {service: b, ingress: {name: ''}, gateway: {}}
",
    );
    assert_eq!(
        error_paths(&r),
        [
            "spec.strategy.canary.trafficRoutings",
            "spec.strategy.canary.trafficRoutings[0].gracePeriodSeconds",
            "spec.strategy.canary.trafficRoutings[0].service",
            "spec.strategy.canary.trafficRoutings[0]",
            "spec.strategy.canary.trafficRoutings[1].ingress.name",
            "spec.strategy.canary.trafficRoutings[1].gateway.httpRouteName",
        ]
    );
}

#[test]
fn ro_9_6_custom_network_refs_count_as_a_provider() {
    let r = with_strategy(
        "    canary:\n      steps: [{replicas: 1}]\n      trafficRoutings:\n        - service: web\n          customNetworkRefs:\n            - {apiVersion: networking.istio.io/v1alpha3, kind: VirtualService, name: vs}\n",
    );
    assert_eq!(r.validate(), Ok(()));
}

#[test]
fn ro_9_7_blue_green_requires_deployment_or_cloneset() {
    let r = with_workload("apps/v1", "StatefulSet", "    blueGreen:\n      steps: [{replicas: 1}]\n");
    assert_eq!(error_paths(&r), ["spec.workloadRef"]);
    let r =
        with_workload("apps.kruise.io/v1beta1", "CloneSet", "    blueGreen:\n      steps: [{replicas: 1}]\n");
    assert_eq!(r.validate(), Ok(()));
}

#[test]
fn ro_9_8_workload_kind_must_be_supported() {
    for (api, kind) in [("batch/v1", "Job"), ("apps.kruise.io/v1alpha1", "BroadcastJob"), ("v1", "Pod")] {
        let r = with_workload(api, kind, "    canary:\n      steps: [{replicas: 1}]\n");
        assert_eq!(error_paths(&r), ["spec.workloadRef"], "{api} {kind}");
    }
    for (api, kind) in [
        ("apps/v1", "Deployment"),
        ("apps/v1", "StatefulSet"),
        ("apps/v1", "DaemonSet"),
        ("apps/v1", "ReplicaSet"),
        ("apps.kruise.io/v1alpha1", "CloneSet"),
        ("apps.kruise.io/v1beta1", "StatefulSet"),
        ("apps.kruise.io/v1alpha1", "StatefulSet"),
        ("apps.kruise.io/v1alpha1", "DaemonSet"),
    ] {
        let r = with_workload(api, kind, "    canary:\n      steps: [{replicas: 1}]\n");
        assert_eq!(r.validate(), Ok(()), "{api} {kind}");
    }
}

#[test]
fn ro_9_crd_item_limits() {
    let steps: Vec<String> = (1..=51).map(|i| format!("{{replicas: {i}}}")).collect();
    let refs: Vec<&str> = steps.iter().map(String::as_str).collect();
    assert_eq!(error_paths(&canary_steps(&refs)), ["spec.strategy.canary.steps"]);
    let matches = vec!["{headers: [{name: a, value: b}]}"; 17].join(", ");
    let r = canary_steps(&[&format!("{{replicas: 1, matches: [{matches}]}}")]);
    assert_eq!(error_paths(&r), ["spec.strategy.canary.steps[0].matches"]);
}

#[test]
fn ro_9_all_errors_are_reported_together() {
    let r = with_workload("batch/v1", "Job", "    canary:\n      steps: [{replicas: 0}, {traffic: 0%}]\n");
    assert_eq!(
        error_paths(&r),
        [
            "spec.workloadRef",
            "spec.strategy.canary.steps[0].replicas",
            "spec.strategy.canary.steps[1].replicas",
            "spec.strategy.canary.steps[1].traffic"
        ]
    );
}

// ---- RO-10 update restrictions ------------------------------------------------------------------------

fn progressing(mut r: Rollout, phase: &str) -> Rollout {
    r.status = Some(RolloutStatus { phase: phase.into(), ..Default::default() });
    r
}

#[test]
fn ro_10_progressing_rollout_freezes_workload_traffic_style_and_step_count() {
    let old = progressing(
        with_strategy(
            "    canary:\n      steps: [{replicas: 1, traffic: 5%}, {replicas: 2}]\n      trafficRoutings: [{service: a, gateway: {httpRouteName: r}}]\n",
        ),
        "Progressing",
    );
    let mut new = with_strategy(
        "    canary:\n      enableExtraWorkloadForCanary: true\n      steps: [{replicas: 1, traffic: 5%}]\n      trafficRoutings: [{service: b, gateway: {httpRouteName: r}}]\n",
    );
    new.spec.workload_ref.name = "other".into();
    let errs = new.validate_update(&old).unwrap_err();
    assert_eq!(
        paths(&errs),
        [
            "spec.workloadRef",
            "spec.strategy.canary.trafficRoutings",
            "spec.strategy.canary",
            "spec.strategy.canary.steps",
        ]
    );
}

#[test]
fn ro_10_step_contents_may_change_while_progressing() {
    let old = progressing(canary_steps(&["{replicas: 1, traffic: 5%}", "{replicas: 2}"]), "Terminating");
    let new = canary_steps(&["{replicas: 2, traffic: 10%, pause: {duration: 5}}", "{replicas: 3}"]);
    assert_eq!(new.validate_update(&old), Ok(()));
}

#[test]
fn ro_10_anything_may_change_when_not_progressing() {
    let old = progressing(canary_steps(&["{replicas: 1}"]), "Healthy");
    let new = with_workload(
        "apps/v1",
        "Deployment",
        "    blueGreen:\n      steps: [{replicas: 1}, {replicas: 2}]\n",
    );
    assert!(validate_rollout_update(&new, &old).is_empty());
    assert_eq!(new.validate_update(&old), Ok(()));
}

#[test]
fn ro_10_update_also_runs_the_spec_rules() {
    let old = progressing(canary_steps(&["{replicas: 1}"]), "Healthy");
    let new = canary_steps(&["{replicas: 0}"]);
    assert_eq!(paths(&new.validate_update(&old).unwrap_err()), ["spec.strategy.canary.steps[0].replicas"]);
}

// ---- RO-11 one Rollout per workload -------------------------------------------------------------------

#[test]
fn ro_11_second_rollout_for_the_same_workload_is_rejected() {
    let mine = canary_steps(&["{replicas: 1}"]);
    let mut other = mine.clone();
    other.metadata.name = Some("other".into());
    let mut elsewhere = other.clone();
    elsewhere.metadata.namespace = Some("prod".into());
    let mut different = other.clone();
    different.spec.workload_ref.name = "api".into();

    assert_eq!(
        paths(&validate_rollout_conflict(&mine, &[mine.clone(), other.clone()])),
        ["spec.workloadRef"]
    );
    assert!(validate_rollout_conflict(&mine, &[mine.clone(), elsewhere, different]).is_empty());
}

// ---- round trip over arbitrary values ------------------------------------------------------------------

mod roundtrip {
    use std::collections::BTreeMap;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    use k8s_openapi::jiff::Timestamp;
    use kruise_api::rollouts::v1beta1::*;
    use proptest::collection::{btree_map, vec};
    use proptest::option;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 .:%/-]{0,12}"
    }
    fn time() -> impl Strategy<Value = Time> {
        (0i64..4_000_000_000).prop_map(|s| Time(Timestamp::from_second(s).unwrap()))
    }
    fn map() -> impl Strategy<Value = BTreeMap<String, String>> {
        btree_map("[a-z./]{1,8}", text(), 0..3)
    }
    fn int_or_string() -> impl Strategy<Value = IntOrString> {
        prop_oneof![any::<i32>().prop_map(IntOrString::Int), text().prop_map(IntOrString::String)]
    }
    fn object_ref() -> impl Strategy<Value = ObjectRef> {
        (text(), text(), text()).prop_map(|(api_version, kind, name)| ObjectRef { api_version, kind, name })
    }
    fn header() -> impl Strategy<Value = HttpHeader> {
        (text(), text()).prop_map(|(name, value)| HttpHeader { name, value })
    }
    fn step() -> impl Strategy<Value = CanaryStep> {
        let header_match = (option::of(text()), text(), text())
            .prop_map(|(type_, name, value)| HttpHeaderMatch { type_, name, value });
        let query_match = (option::of(text()), text(), text())
            .prop_map(|(type_, name, value)| HttpQueryParamMatch { type_, name, value });
        let path = (option::of(text()), option::of(text()))
            .prop_map(|(type_, value)| HttpPathMatch { type_, value });
        let route_match = (option::of(path), vec(header_match, 0..2), vec(query_match, 0..2))
            .prop_map(|(path, headers, query_params)| HttpRouteMatch { path, headers, query_params });
        let filter = (vec(header(), 0..2), vec(header(), 0..2), vec(text(), 0..2))
            .prop_map(|(set, add, remove)| HttpHeaderFilter { set, add, remove });
        (
            option::of(text()),
            option::of(filter),
            vec(route_match, 0..2),
            option::of(int_or_string()),
            option::of(any::<i32>()),
        )
            .prop_map(|(traffic, request_header_modifier, matches, replicas, duration)| CanaryStep {
                traffic,
                request_header_modifier,
                matches,
                replicas,
                pause: RolloutPause { duration },
            })
    }
    fn traffic_routing() -> impl Strategy<Value = TrafficRoutingRef> {
        (
            text(),
            option::of(any::<i32>()),
            option::of(
                (text(), text()).prop_map(|(class_type, name)| IngressTrafficRouting { class_type, name }),
            ),
            option::of(
                option::of(text()).prop_map(|http_route_name| GatewayTrafficRouting { http_route_name }),
            ),
            option::of(vec(object_ref(), 0..2)),
            map(),
        )
            .prop_map(
                |(
                    service,
                    grace_period_seconds,
                    ingress,
                    gateway,
                    custom_network_refs,
                    additional_params,
                )| {
                    TrafficRoutingRef {
                        service,
                        grace_period_seconds,
                        ingress,
                        gateway,
                        custom_network_refs,
                        additional_params,
                    }
                },
            )
    }
    fn canary() -> impl Strategy<Value = CanaryStrategy> {
        (
            vec(step(), 0..3),
            vec(traffic_routing(), 0..2),
            option::of(int_or_string()),
            option::of(
                (map(), map())
                    .prop_map(|(annotations, labels)| PatchPodTemplateMetadata { annotations, labels }),
            ),
            any::<bool>(),
            text(),
            any::<bool>(),
        )
            .prop_map(
                |(
                    steps,
                    traffic_routings,
                    failure_threshold,
                    patch_pod_template_metadata,
                    extra,
                    trr,
                    disable,
                )| {
                    CanaryStrategy {
                        steps,
                        traffic_routings,
                        failure_threshold,
                        patch_pod_template_metadata,
                        enable_extra_workload_for_canary: extra,
                        traffic_routing_ref: trr,
                        disable_generate_canary_service: disable,
                    }
                },
            )
    }
    fn blue_green() -> impl Strategy<Value = BlueGreenStrategy> {
        (vec(step(), 0..3), vec(traffic_routing(), 0..2), option::of(int_or_string()), text(), any::<bool>())
            .prop_map(|(steps, traffic_routings, failure_threshold, trr, disable)| BlueGreenStrategy {
                steps,
                traffic_routings,
                failure_threshold,
                traffic_routing_ref: trr,
                disable_generate_canary_service: disable,
            })
    }
    fn common() -> impl Strategy<Value = CommonStatus> {
        (
            (any::<i64>(), text(), text(), text(), text()),
            (any::<i32>(), any::<i32>(), text(), text(), text(), option::of(time())),
        )
            .prop_map(
                |(
                    (
                        observed_workload_generation,
                        observed_rollout_id,
                        rollout_hash,
                        stable_revision,
                        pod_template_hash,
                    ),
                    (
                        current_step_index,
                        next_step_index,
                        finalising_step,
                        current_step_state,
                        message,
                        last_update_time,
                    ),
                )| CommonStatus {
                    observed_workload_generation,
                    observed_rollout_id,
                    rollout_hash,
                    stable_revision,
                    pod_template_hash,
                    current_step_index,
                    next_step_index,
                    finalising_step,
                    current_step_state,
                    message,
                    last_update_time,
                },
            )
    }
    fn condition() -> impl Strategy<Value = RolloutCondition> {
        (text(), text(), option::of(time()), option::of(time()), text(), text()).prop_map(
            |(type_, status, last_update_time, last_transition_time, reason, message)| RolloutCondition {
                type_,
                status,
                last_update_time,
                last_transition_time,
                reason,
                message,
            },
        )
    }
    fn status() -> impl Strategy<Value = RolloutStatus> {
        let canary = (common(), text(), any::<i32>(), any::<i32>()).prop_map(|(common, r, n, ready)| {
            CanaryStatus { common, canary_revision: r, canary_replicas: n, canary_ready_replicas: ready }
        });
        let bg = (common(), text(), any::<i32>(), any::<i32>()).prop_map(|(common, r, n, ready)| {
            BlueGreenStatus {
                common,
                updated_revision: r,
                updated_replicas: n,
                updated_ready_replicas: ready,
            }
        });
        (
            any::<i64>(),
            option::of(canary),
            option::of(bg),
            vec(condition(), 0..2),
            text(),
            text(),
            any::<i32>(),
            text(),
        )
            .prop_map(
                |(
                    observed_generation,
                    canary_status,
                    blue_green_status,
                    conditions,
                    phase,
                    message,
                    idx,
                    state,
                )| {
                    RolloutStatus {
                        observed_generation,
                        canary_status,
                        blue_green_status,
                        conditions,
                        phase,
                        message,
                        current_step_index: idx,
                        current_step_state: state,
                    }
                },
            )
    }
    fn rollout() -> impl Strategy<Value = Rollout> {
        let strategy = (any::<bool>(), option::of(canary()), option::of(blue_green()))
            .prop_map(|(paused, canary, blue_green)| RolloutStrategy { paused, canary, blue_green });
        let meta = (option::of("[a-z0-9-]{1,20}"), option::of("[a-z0-9-]{1,10}"))
            .prop_map(|(name, namespace)| ObjectMeta { name, namespace, ..Default::default() });
        (meta, object_ref(), strategy, any::<bool>(), option::of(status())).prop_map(
            |(metadata, workload_ref, strategy, disabled, status)| Rollout {
                metadata,
                spec: RolloutSpec { workload_ref, strategy, disabled },
                status,
            },
        )
    }

    proptest! {
        #[test]
        fn ro_1_yaml_json_roundtrip_is_lossless(r in rollout()) {
            let yaml = serde_saphyr::to_string(&r).unwrap();
            let from_yaml: Rollout = serde_saphyr::from_str(&yaml).unwrap();
            prop_assert_eq!(&from_yaml, &r);
            let json = serde_json::to_string(&from_yaml).unwrap();
            let back: Rollout = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(back, r);
        }

        #[test]
        fn ro_4_defaulting_is_idempotent_and_validation_never_panics(r in rollout()) {
            use kruise_api::defaults::Defaulting;
            use kruise_api::validation::Validate;
            let _ = r.validate();
            let mut once = r.clone();
            once.apply_defaults();
            let mut twice = once.clone();
            twice.apply_defaults();
            prop_assert_eq!(&once, &twice);
            let _ = once.validate_update(&r);
            let _ = kruise_api::convert::rollout_to_v1alpha1(&r);
        }
    }
}

#[test]
fn ro_2_replicas_accept_int_or_percent() {
    let r = canary_steps(&["{replicas: 1}", "{replicas: 50%}"]);
    let steps = r.spec.strategy.steps();
    assert_eq!(steps[0].replicas, Some(IntOrString::Int(1)));
    assert_eq!(steps[1].replicas, Some(IntOrString::String("50%".into())));
}

#[cfg(feature = "schemars")]
#[test]
fn ro_6_kind_info_has_the_kubectl_columns() {
    let info = kruise_api::rollouts::v1beta1::kind_info();
    let versions: Vec<_> = info.versions.iter().map(|v| (v.name, v.served, v.storage)).collect();
    // No conversion webhook: v1alpha1 served and stored, v1beta1 listed unserved (docs/deviations.md).
    assert_eq!(versions, [("v1alpha1", true, true), ("v1beta1", false, false)]);
    let v1beta1 = &info.versions[1];
    let names: Vec<_> = v1beta1.printer_columns.iter().map(|c| c.name).collect();
    assert_eq!(names, ["STATUS", "CANARY_STEP", "CANARY_STATE", "MESSAGE", "AGE"]);
    assert_eq!(v1beta1.printer_columns[1].json_path, ".status.currentStepIndex");
    assert_eq!(info.versions[0].printer_columns[1].json_path, ".status.canaryStatus.currentStepIndex");
    assert!(v1beta1.status_subresource && info.namespaced);
    let schema = serde_json::to_value((v1beta1.spec_schema)()).unwrap();
    assert!(schema.to_string().contains("workloadRef"));
    let alpha = serde_json::to_value((info.versions[0].spec_schema)()).unwrap();
    assert!(alpha.to_string().contains("objectRef"));
}

// ---- RO-5 v1alpha1 ------------------------------------------------------------------------------------

mod v1alpha1 {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    use kruise_api::convert::{RolloutConversionError, rollout_to_v1alpha1, rollout_to_v1beta1};
    use kruise_api::defaults::Defaulting;
    use kruise_api::rollouts::v1alpha1::Rollout;
    use kruise_api::rollouts::v1beta1::{self, RollingStyle};
    use kruise_api::validation::Validate;

    use super::{data, paths};

    fn alpha(annotations: &str, workload: &str, canary: &str) -> Rollout {
        serde_saphyr::from_str(&format!(
            "apiVersion: rollouts.kruise.io/v1alpha1
kind: Rollout
metadata:
  name: ro
  namespace: default
  annotations: {{{annotations}}}
spec:
  objectRef:
    workloadRef: {workload}
  strategy:
    canary:
{canary}"
        ))
        .unwrap()
    }

    const DEPLOY: &str = "{apiVersion: apps/v1, kind: Deployment, name: web}";
    const CLONESET: &str = "{apiVersion: apps.kruise.io/v1alpha1, kind: CloneSet, name: web}";

    fn steps(lines: &[&str]) -> String {
        let body: String = lines.iter().map(|s| format!("        - {s}\n")).collect();
        format!("      steps:\n{body}")
    }

    fn error_paths(r: &Rollout) -> Vec<String> {
        r.validate().err().map(|e| paths(&e)).unwrap_or_default()
    }

    #[test]
    fn ro_5_sample_round_trips_defaults_and_validates() {
        let v: serde_json::Value = serde_saphyr::from_str(&data("rollout-v1alpha1-sample.yaml")).unwrap();
        let mut obj = kruise_api::any::AnyResource::from_value(v.clone()).unwrap();
        assert_eq!(obj.api_version(), "rollouts.kruise.io/v1alpha1");
        assert_eq!(obj.to_value(), v);
        obj.apply_defaults();
        assert_eq!(obj.validate(), Ok(()));
    }

    #[test]
    fn ro_5_weight_becomes_traffic_and_stands_in_for_missing_replicas() {
        let r = alpha("", DEPLOY, &steps(&["{weight: 5}", "{weight: 20, replicas: 3}", "{replicas: 100%}"]));
        let b = rollout_to_v1beta1(&r);
        let s = b.spec.strategy.steps();
        assert_eq!(
            (s[0].traffic.as_deref(), s[0].replicas.clone()),
            (Some("5%"), Some(IntOrString::String("5%".into())))
        );
        assert_eq!(
            (s[1].traffic.as_deref(), s[1].replicas.clone()),
            (Some("20%"), Some(IntOrString::Int(3)))
        );
        assert_eq!(
            (s[2].traffic.as_deref(), s[2].replicas.clone()),
            (None, Some(IntOrString::String("100%".into())))
        );
        assert_eq!(b.spec.workload_ref.name, "web");
    }

    #[test]
    fn ro_5_rolling_style_annotation_decides_extra_workload() {
        for (annotation, extra) in [
            ("", true),
            ("rollouts.kruise.io/rolling-style: canary", true),
            ("rollouts.kruise.io/rolling-style: Partition", false),
        ] {
            let b = rollout_to_v1beta1(&alpha(annotation, CLONESET, &steps(&["{replicas: 1}"])));
            assert_eq!(
                b.spec.strategy.canary.as_ref().unwrap().enable_extra_workload_for_canary,
                extra,
                "{annotation:?}"
            );
        }
        // An un-annotated v1alpha1 Rollout of a CloneSet becomes canary-style, which RO-12
        // then degrades to partition.
        let b = rollout_to_v1beta1(&alpha("", CLONESET, &steps(&["{replicas: 1}"])));
        assert_eq!(b.spec.strategy.rolling_style(), Some(RollingStyle::Canary));
        assert!(b.is_real_partition());
    }

    #[test]
    fn ro_5_traffic_routing_annotation_becomes_the_ref_and_back() {
        let r = alpha("rollouts.kruise.io/trafficrouting: mse", DEPLOY, &steps(&["{replicas: 1}"]));
        let b = rollout_to_v1beta1(&r);
        assert_eq!(b.spec.strategy.canary.as_ref().unwrap().traffic_routing_ref, "mse");
        let back = rollout_to_v1alpha1(&b).unwrap();
        let ann = back.metadata.annotations.unwrap();
        assert_eq!(ann["rollouts.kruise.io/trafficrouting"], "mse");
        assert_eq!(ann["rollouts.kruise.io/rolling-style"], "canary");
    }

    #[test]
    fn ro_5_sample_converts_to_v1beta1_and_back() {
        let a: Rollout = serde_saphyr::from_str(&data("rollout-v1alpha1-sample.yaml")).unwrap();
        let b = rollout_to_v1beta1(&a);
        assert_eq!(b.validate(), Ok(()));
        let cs = b.status.as_ref().unwrap().canary_status.as_ref().unwrap();
        assert_eq!((cs.common.current_step_index, cs.common.next_step_index, cs.canary_replicas), (1, 2, 1));
        let back = rollout_to_v1alpha1(&b).unwrap();
        // Steps that had only a weight come back with the weight as replicas too.
        let mut expected = a.clone();
        expected.spec.strategy.canary.as_mut().unwrap().steps[0].replicas =
            Some(IntOrString::String("5%".into()));
        assert_eq!(back, expected);
    }

    #[test]
    fn ro_5_blue_green_has_no_v1alpha1_form() {
        let b: v1beta1::Rollout = serde_saphyr::from_str(&data("rollout-bluegreen-sample.yaml")).unwrap();
        assert_eq!(rollout_to_v1alpha1(&b), Err(RolloutConversionError::BlueGreen));
    }

    #[test]
    fn ro_5_unparseable_traffic_reads_as_weight_zero() {
        let mut b: v1beta1::Rollout = serde_saphyr::from_str(&data("rollout-canary-sample.yaml")).unwrap();
        b.spec.strategy.canary.as_mut().unwrap().steps[0].traffic = Some("five".into());
        let a = rollout_to_v1alpha1(&b).unwrap();
        assert_eq!(a.spec.strategy.canary.unwrap().steps[0].weight, Some(0));
    }

    #[test]
    fn ro_5_defaults_grace_period_and_header_type() {
        let mut r = alpha(
            "",
            DEPLOY,
            &format!(
                "{}      trafficRoutings: [{{service: web, ingress: {{name: web}}}}]\n",
                steps(&["{replicas: 1, matches: [{headers: [{name: a, value: b}]}]}"])
            ),
        );
        r.apply_defaults();
        let c = r.spec.strategy.canary.as_ref().unwrap();
        assert_eq!(c.traffic_routings[0].grace_period_seconds, Some(3));
        assert_eq!(c.steps[0].matches[0].headers[0].type_.as_deref(), Some("Exact"));
    }

    #[test]
    fn ro_5_workload_ref_and_canary_are_required() {
        let mut r = alpha("", DEPLOY, &steps(&["{replicas: 1}"]));
        r.spec.object_ref.workload_ref = None;
        r.spec.strategy.canary = None;
        assert_eq!(error_paths(&r), ["spec.objectRef.workloadRef", "spec.strategy.canary"]);
    }

    #[test]
    fn ro_5_rolling_style_annotation_must_be_known() {
        let r = alpha("rollouts.kruise.io/rolling-style: bluegreen", DEPLOY, &steps(&["{replicas: 1}"]));
        assert_eq!(error_paths(&r), ["metadata.annotations[rollouts.kruise.io/rolling-style]"]);
    }

    #[test]
    fn ro_5_step_needs_weight_or_replicas_and_weight_in_range() {
        let r = alpha("", DEPLOY, &steps(&["{pause: {}}", "{weight: 0}", "{weight: 101}"]));
        assert_eq!(
            error_paths(&r),
            [
                "spec.strategy.canary.steps[0].replicas",
                "spec.strategy.canary.steps[1].weight",
                "spec.strategy.canary.steps[2].weight"
            ]
        );
    }

    #[test]
    fn ro_5_partition_limits_weight_only_steps_and_percent_replicas_with_traffic() {
        let r = alpha("", CLONESET, &steps(&["{weight: 60}"]));
        assert_eq!(error_paths(&r), ["spec.strategy.canary.steps[0].weight"]);
        let r = alpha("", CLONESET, &steps(&["{weight: 10, replicas: 60%}"]));
        assert_eq!(error_paths(&r), ["spec.strategy.canary.steps[0].replicas"]);
        // A Deployment without a partition annotation is canary-style: no limit.
        let r = alpha("", DEPLOY, &steps(&["{weight: 60}"]));
        assert_eq!(r.validate(), Ok(()));
        let r = alpha("rollouts.kruise.io/rolling-style: partition", DEPLOY, &steps(&["{weight: 60}"]));
        assert_eq!(error_paths(&r), ["spec.strategy.canary.steps[0].weight"]);
    }

    #[test]
    fn ro_5_weights_and_replicas_must_not_decrease() {
        let routed = |lines: &[&str]| {
            alpha(
                "",
                DEPLOY,
                &format!(
                    "{}      trafficRoutings: [{{service: web, ingress: {{name: web}}}}]\n",
                    steps(lines)
                ),
            )
        };
        let r = routed(&["{weight: 20, replicas: 1}", "{weight: 10, replicas: 2}"]);
        assert_eq!(error_paths(&r), ["spec.strategy.canary.steps[1].weight"]);
        // A missing replicas is compared through its weight, as a percent.
        let r = routed(&["{replicas: 50%}", "{weight: 20}"]);
        assert_eq!(error_paths(&r), ["spec.strategy.canary.steps[1].replicas"]);
        // Without traffic routing, weights alone are not compared.
        let r = alpha("", DEPLOY, &steps(&["{weight: 20, replicas: 1}", "{weight: 10, replicas: 2}"]));
        assert_eq!(r.validate(), Ok(()));
    }

    #[test]
    fn ro_5_update_freezes_object_ref_routings_and_style_while_progressing() {
        let mut old = alpha("rollouts.kruise.io/rolling-style: canary", DEPLOY, &steps(&["{replicas: 1}"]));
        old.status = Some(kruise_api::rollouts::v1alpha1::RolloutStatus {
            phase: "Progressing".into(),
            ..Default::default()
        });
        let mut new = alpha(
            "rollouts.kruise.io/rolling-style: partition",
            "{apiVersion: apps/v1, kind: Deployment, name: other}",
            &format!(
                "{}      trafficRoutings: [{{service: web, ingress: {{name: web}}}}]\n",
                steps(&["{replicas: 1}", "{replicas: 2}"])
            ),
        );
        assert_eq!(
            paths(&new.validate_update(&old).unwrap_err()),
            [
                "spec.objectRef",
                "spec.strategy.canary.trafficRoutings",
                "metadata.annotations[rollouts.kruise.io/rolling-style]"
            ]
        );
        // Case-insensitive style comparison; step count may change.
        new = alpha(
            "rollouts.kruise.io/rolling-style: CANARY",
            DEPLOY,
            &steps(&["{replicas: 1}", "{replicas: 2}"]),
        );
        assert_eq!(new.validate_update(&old), Ok(()));
        old.status = Some(kruise_api::rollouts::v1alpha1::RolloutStatus {
            phase: "Healthy".into(),
            ..Default::default()
        });
        assert_eq!(new.validate_update(&old), Ok(()));
    }
}

mod v1alpha1_roundtrip {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    use k8s_openapi::jiff::Timestamp;
    use kruise_api::rollouts::v1alpha1::*;
    use kruise_api::rollouts::v1beta1::{HttpHeader, ObjectRef as WorkloadRefType};
    use proptest::collection::vec;
    use proptest::option;
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 .:%/-]{0,12}"
    }
    fn time() -> impl Strategy<Value = Time> {
        (0i64..4_000_000_000).prop_map(|s| Time(Timestamp::from_second(s).unwrap()))
    }
    fn int_or_string() -> impl Strategy<Value = IntOrString> {
        prop_oneof![any::<i32>().prop_map(IntOrString::Int), text().prop_map(IntOrString::String)]
    }
    fn wref() -> impl Strategy<Value = WorkloadRefType> {
        (text(), text(), text()).prop_map(|(api_version, kind, name)| WorkloadRefType {
            api_version,
            kind,
            name,
        })
    }
    fn step() -> impl Strategy<Value = CanaryStep> {
        let header = (option::of(text()), text(), text()).prop_map(|(type_, name, value)| HttpHeaderMatch {
            type_,
            name,
            value,
        });
        let filter = (
            vec((text(), text()).prop_map(|(name, value)| HttpHeader { name, value }), 0..2),
            vec(text(), 0..2),
        )
            .prop_map(|(set, remove)| HttpHeaderFilter { set, add: vec![], remove });
        (
            option::of(any::<i32>()),
            option::of(filter),
            vec(vec(header, 0..2).prop_map(|headers| HttpRouteMatch { headers }), 0..2),
            option::of(int_or_string()),
            option::of(any::<i32>()),
        )
            .prop_map(|(weight, request_header_modifier, matches, replicas, duration)| CanaryStep {
                weight,
                request_header_modifier,
                matches,
                replicas,
                pause: RolloutPause { duration },
            })
    }
    fn routing() -> impl Strategy<Value = TrafficRoutingRef> {
        (
            text(),
            option::of(any::<i32>()),
            option::of(
                (text(), text()).prop_map(|(class_type, name)| IngressTrafficRouting { class_type, name }),
            ),
            option::of(
                option::of(text()).prop_map(|http_route_name| GatewayTrafficRouting { http_route_name }),
            ),
            option::of(vec(wref(), 0..2)),
        )
            .prop_map(|(service, grace_period_seconds, ingress, gateway, custom_network_refs)| {
                TrafficRoutingRef { service, grace_period_seconds, ingress, gateway, custom_network_refs }
            })
    }
    fn status() -> impl Strategy<Value = RolloutStatus> {
        let cs = (
            (any::<i64>(), text(), text(), text(), text(), text()),
            (any::<[i32; 4]>(), text(), text(), option::of(time()), text()),
        )
            .prop_map(
                |((owg, orid, hash, stable, canary, pth), ([cr, crr, next, cur], state, message, t, fin))| {
                    CanaryStatus {
                        observed_workload_generation: owg,
                        observed_rollout_id: orid,
                        rollout_hash: hash,
                        stable_revision: stable,
                        canary_revision: canary,
                        pod_template_hash: pth,
                        canary_replicas: cr,
                        canary_ready_replicas: crr,
                        next_step_index: next,
                        current_step_index: cur,
                        current_step_state: state,
                        message,
                        last_update_time: t,
                        finalising_step: fin,
                    }
                },
            );
        (any::<i64>(), option::of(cs), text(), text()).prop_map(
            |(observed_generation, canary_status, phase, message)| RolloutStatus {
                observed_generation,
                canary_status,
                conditions: vec![],
                phase,
                message,
            },
        )
    }
    fn rollout() -> impl Strategy<Value = Rollout> {
        let canary = (vec(step(), 0..3), vec(routing(), 0..2), option::of(int_or_string()), any::<bool>())
            .prop_map(|(steps, traffic_routings, failure_threshold, disable)| CanaryStrategy {
                steps,
                traffic_routings,
                failure_threshold,
                patch_pod_template_metadata: None,
                disable_generate_canary_service: disable,
            });
        (option::of(wref()), any::<bool>(), option::of(canary), text(), any::<bool>(), option::of(status()))
            .prop_map(|(workload_ref, paused, canary, rid, disabled, status)| Rollout {
                metadata: ObjectMeta { name: Some("ro".into()), ..Default::default() },
                spec: RolloutSpec {
                    object_ref: ObjectRef { workload_ref },
                    strategy: RolloutStrategy { paused, canary },
                    deprecated_rollout_id: rid,
                    disabled,
                },
                status,
            })
    }

    proptest! {
        #[test]
        fn ro_5_v1alpha1_yaml_json_roundtrip_is_lossless(r in rollout()) {
            let yaml = serde_saphyr::to_string(&r).unwrap();
            let from_yaml: Rollout = serde_saphyr::from_str(&yaml).unwrap();
            prop_assert_eq!(&from_yaml, &r);
            let back: Rollout = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            prop_assert_eq!(back, r);
        }

        #[test]
        fn ro_5_v1alpha1_to_v1beta1_to_v1alpha1_keeps_the_spec(r in rollout()) {
            let b = kruise_api::convert::rollout_to_v1beta1(&r);
            let back = kruise_api::convert::rollout_to_v1alpha1(&b).unwrap();
            // What the trip changes by design: rolloutID is dropped, the style annotation is
            // written, a missing workloadRef becomes an empty one, and weight-only steps gain
            // replicas.
            prop_assert_eq!(&back.spec.strategy.paused, &r.spec.strategy.paused);
            prop_assert_eq!(back.spec.disabled, r.spec.disabled);
            prop_assert_eq!(back.status, r.status);
            let (bs, rs) = (back.spec.strategy.canary, r.spec.strategy.canary);
            prop_assert_eq!(bs.is_some(), rs.is_some());
            if let (Some(bc), Some(rc)) = (bs, rs) {
                prop_assert_eq!(bc.traffic_routings, rc.traffic_routings);
                prop_assert_eq!(bc.steps.len(), rc.steps.len());
                for (b, a) in bc.steps.iter().zip(&rc.steps) {
                    prop_assert_eq!(&b.matches, &a.matches);
                    prop_assert_eq!(&b.pause, &a.pause);
                    if a.replicas.is_some() {
                        prop_assert_eq!(&b.replicas, &a.replicas);
                    }
                    // Weights survive unless they overflow when percent-scaled.
                    if let Some(w) = a.weight.filter(|w| (-1_000_000..=1_000_000).contains(w)) {
                        prop_assert_eq!(b.weight, Some(w));
                    }
                }
            }
        }
    }
}

#[test]
fn ro_9_2_error_values_are_rendered_as_json() {
    let errs = canary_steps(&["{replicas: 101%}", "{replicas: 0}"]).validate().unwrap_err();
    let values: Vec<_> = errs.iter().map(|e| e.value.clone().unwrap_or_default()).collect();
    assert_eq!(values, ["\"101%\"", "0"]);
}
