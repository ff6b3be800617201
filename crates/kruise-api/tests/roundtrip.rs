//! Lossless serialization (CS-2..CS-7, ASTS-5, ASTS-6): upstream-style sample manifests and
//! arbitrary generated objects survive YAML → type → JSON → type unchanged, and the samples
//! re-serialize to exactly the document they were read from (no field silently dropped).
//! The same generators check that defaulting is idempotent and that defaulting and validation
//! never panic, whatever the object (CS-10..CS-22, ASTS-7..ASTS-9).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSetCondition;
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, PersistentVolumeClaim, PersistentVolumeClaimSpec, PodReadinessGate,
    PodSpec, PodTemplateSpec, ResourceRequirements, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta, Time,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::common::*;
use kruise_api::apps::{v1alpha1, v1beta1};
use proptest::collection::{btree_map, vec};
use proptest::option::of;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

// ---- sample manifests ----------------------------------------------------------------------

fn sample<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(file: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    // k8s-openapi always writes `apiVersion`/`kind` on a PersistentVolumeClaim, also when it is
    // embedded as a claim template; Go omits them. That is the one accepted difference.
    if let Some(claims) = doc.pointer_mut("/spec/volumeClaimTemplates").and_then(|c| c.as_array_mut()) {
        for c in claims.iter_mut().filter_map(|c| c.as_object_mut()) {
            c.insert("apiVersion".into(), "v1".into());
            c.insert("kind".into(), "PersistentVolumeClaim".into());
        }
    }
    let typed: T = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let json = serde_json::to_value(&typed).unwrap();
    assert_eq!(json, doc, "{file}: re-serialized document differs from the manifest");
    let again: T = serde_json::from_value(json).unwrap();
    assert_eq!(again, typed, "{file}: JSON round trip");
}

#[test]
fn cs_2_sample_v1alpha1_cloneset_is_lossless() {
    sample::<v1alpha1::CloneSet>("cloneset-v1alpha1.yaml");
}

#[test]
fn cs_4_sample_v1beta1_cloneset_is_lossless() {
    sample::<v1beta1::CloneSet>("cloneset-v1beta1.yaml");
}

#[test]
fn asts_5_sample_v1beta1_statefulset_is_lossless() {
    sample::<v1beta1::StatefulSet>("statefulset-v1beta1.yaml");
}

#[test]
fn asts_6_sample_v1alpha1_statefulset_is_lossless() {
    sample::<v1alpha1::StatefulSet>("statefulset-v1alpha1.yaml");
}

#[test]
fn samples_validate_after_defaulting() {
    use kruise_api::defaults::Defaulting;
    use kruise_api::validation::Validate;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let mut a: v1alpha1::CloneSet = serde_saphyr::from_str(&read("cloneset-v1alpha1.yaml")).unwrap();
    a.apply_defaults();
    assert_eq!(a.validate(), Ok(()));
    let mut b: v1beta1::CloneSet = serde_saphyr::from_str(&read("cloneset-v1beta1.yaml")).unwrap();
    b.apply_defaults();
    assert_eq!(b.validate(), Ok(()));
    let mut s: v1beta1::StatefulSet = serde_saphyr::from_str(&read("statefulset-v1beta1.yaml")).unwrap();
    s.apply_defaults();
    assert_eq!(s.validate(), Ok(()));
    let mut s: v1alpha1::StatefulSet = serde_saphyr::from_str(&read("statefulset-v1alpha1.yaml")).unwrap();
    s.apply_defaults();
    assert_eq!(s.validate(), Ok(()));
}

// ---- strategies ----------------------------------------------------------------------------

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,8}"
}

fn text() -> impl Strategy<Value = String> {
    // Includes strings YAML would read as other types if written unquoted.
    prop_oneof![
        "[a-zA-Z0-9 ._/%-]{0,12}",
        Just("true".to_owned()),
        Just("123".to_owned()),
        Just("null".to_owned()),
        Just("~".to_owned())
    ]
}

fn labels() -> impl Strategy<Value = BTreeMap<String, String>> {
    btree_map(name(), text(), 0..3)
}

fn int_or_string() -> impl Strategy<Value = IntOrString> {
    prop_oneof![
        any::<i32>().prop_map(IntOrString::Int),
        "[0-9]{1,3}%".prop_map(IntOrString::String),
        "[0-9]{1,2}\\.[0-9]%".prop_map(IntOrString::String),
        text().prop_map(IntOrString::String),
    ]
}

fn selector() -> impl Strategy<Value = LabelSelector> {
    let req = (
        name(),
        prop_oneof![Just("In"), Just("NotIn"), Just("Exists"), Just("DoesNotExist")],
        of(vec(text(), 0..3)),
    )
        .prop_map(|(key, op, values)| LabelSelectorRequirement { key, operator: op.to_owned(), values });
    (of(labels()), of(vec(req, 0..3)))
        .prop_map(|(match_labels, match_expressions)| LabelSelector { match_labels, match_expressions })
}

fn time() -> impl Strategy<Value = Time> {
    (0i64..4_000_000_000).prop_map(|s| Time(k8s_openapi::jiff::Timestamp::from_second(s).unwrap()))
}

fn meta() -> impl Strategy<Value = ObjectMeta> {
    (name(), of(name()), of(labels()), of(labels())).prop_map(|(n, namespace, labels, annotations)| {
        ObjectMeta { name: Some(n), namespace, labels, annotations, ..Default::default() }
    })
}

fn quantity_map() -> impl Strategy<Value = BTreeMap<String, Quantity>> {
    btree_map(
        prop_oneof![Just("cpu".to_owned()), Just("memory".to_owned()), Just("storage".to_owned())],
        "[1-9][0-9]{0,3}(m|Mi|Gi)?".prop_map(Quantity),
        0..3,
    )
}

fn container() -> impl Strategy<Value = Container> {
    let port = (1i32..65536, of(name()), of(prop_oneof![Just("TCP".to_owned()), Just("UDP".to_owned())]))
        .prop_map(|(container_port, name, protocol)| ContainerPort {
            container_port,
            name,
            protocol,
            ..Default::default()
        });
    let env = (name(), of(text())).prop_map(|(name, value)| EnvVar { name, value, value_from: None });
    (
        name(),
        of(text()),
        of(vec(port, 0..3)),
        of(vec(env, 0..3)),
        of((of(quantity_map()), of(quantity_map()))),
    )
        .prop_map(|(name, image, ports, env, res)| Container {
            name,
            image,
            ports,
            env,
            resources: res.map(|(limits, requests)| ResourceRequirements {
                limits,
                requests,
                ..Default::default()
            }),
            ..Default::default()
        })
}

fn template() -> impl Strategy<Value = PodTemplateSpec> {
    let gates = of(vec(prop_oneof![Just("InPlaceUpdateReady".to_owned()), name()], 0..2)
        .prop_map(|v| v.into_iter().map(|condition_type| PodReadinessGate { condition_type }).collect()));
    (
        of(meta()),
        vec(container(), 1..3),
        of(prop_oneof![Just("Always".to_owned()), Just("Never".to_owned())]),
        gates,
        of(0i64..100),
    )
        .prop_map(|(metadata, containers, restart_policy, readiness_gates, active_deadline_seconds)| {
            PodTemplateSpec {
                metadata,
                spec: Some(PodSpec {
                    containers,
                    restart_policy,
                    readiness_gates,
                    active_deadline_seconds,
                    ..Default::default()
                }),
            }
        })
}

fn claim() -> impl Strategy<Value = PersistentVolumeClaim> {
    (name(), of(vec(Just("ReadWriteOnce".to_owned()), 0..2)), of(name()), of(quantity_map())).prop_map(
        |(n, access_modes, storage_class_name, requests)| PersistentVolumeClaim {
            metadata: ObjectMeta { name: Some(n), ..Default::default() },
            spec: Some(PersistentVolumeClaimSpec {
                access_modes,
                storage_class_name,
                resources: Some(VolumeResourceRequirements { requests, limits: None }),
                ..Default::default()
            }),
            status: None,
        },
    )
}

fn hook() -> impl Strategy<Value = LifecycleHook> {
    (labels(), vec(name(), 0..3), any::<bool>()).prop_map(
        |(labels_handler, finalizers_handler, mark_pod_not_ready)| LifecycleHook {
            labels_handler,
            finalizers_handler,
            mark_pod_not_ready,
        },
    )
}

fn lifecycle() -> impl Strategy<Value = Lifecycle> {
    (of(hook()), of(hook()), of(hook())).prop_map(|(pre_delete, in_place_update, pre_normal)| Lifecycle {
        pre_delete,
        in_place_update,
        pre_normal,
    })
}

fn priority() -> impl Strategy<Value = UpdatePriorityStrategy> {
    let order = name().prop_map(|ordered_key| UpdatePriorityOrderTerm { ordered_key });
    let weight = (any::<i32>(), selector())
        .prop_map(|(weight, match_selector)| UpdatePriorityWeightTerm { weight, match_selector });
    (vec(order, 0..3), vec(weight, 0..3)).prop_map(|(order_priority, weight_priority)| {
        UpdatePriorityStrategy { order_priority, weight_priority }
    })
}

fn scatter() -> impl Strategy<Value = UpdateScatterStrategy> {
    vec((name(), text()).prop_map(|(key, value)| UpdateScatterTerm { key, value }), 0..3)
}

fn in_place() -> impl Strategy<Value = InPlaceUpdateStrategy> {
    (any::<i32>(), of(int_or_string()), of(any::<i32>()), of(any::<i32>())).prop_map(|(g, p, t, m)| {
        InPlaceUpdateStrategy {
            grace_period_seconds: g,
            image_pre_download_parallelism: p,
            image_pre_download_timeout_seconds: t,
            image_pre_download_min_updated_ready_pods: m,
        }
    })
}

fn policy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("ReCreate".to_owned()),
        Just("InPlaceIfPossible".to_owned()),
        Just("InPlaceOnly".to_owned()),
        text()
    ]
}

fn cloneset_status() -> impl Strategy<Value = v1beta1::CloneSetStatus> {
    let cond = (name(), text(), of(time()), of(time()), text(), text()).prop_map(|(t, s, u, tr, r, m)| {
        v1beta1::CloneSetCondition {
            type_: t,
            status: s,
            last_update_time: u,
            last_transition_time: tr,
            reason: r,
            message: m,
        }
    });
    (any::<i64>(), any::<[i32; 8]>(), text(), text(), of(any::<i32>()), vec(cond, 0..2), text()).prop_map(
        |(g, n, update_revision, current_revision, collision_count, conditions, label_selector)| {
            v1beta1::CloneSetStatus {
                observed_generation: g,
                replicas: n[0],
                ready_replicas: n[1],
                available_replicas: n[2],
                updated_replicas: n[3],
                updated_ready_replicas: n[4],
                updated_available_replicas: n[5],
                expected_updated_replicas: n[6],
                update_revision,
                current_revision,
                collision_count,
                conditions,
                label_selector,
            }
        },
    )
}

prop_compose! {
    fn cloneset_v1alpha1()(
        metadata in meta(),
        replicas in of(any::<i32>()),
        selector in of(selector()),
        template in template(),
        volume_claim_templates in vec(claim(), 0..2),
        scale in (vec(name(), 0..3), of(int_or_string()), any::<bool>()),
        update in (of(policy()), of(int_or_string()), of(int_or_string()), of(int_or_string()), any::<bool>(), of(priority()), scatter(), of(in_place())),
        revision_history_limit in of(any::<i32>()),
        min_ready_seconds in any::<i32>(),
        lifecycle in of(lifecycle()),
        progress_deadline_seconds in of(any::<i32>()),
        status in of(cloneset_status()),
    ) -> v1alpha1::CloneSet {
        v1alpha1::CloneSet {
            metadata,
            spec: v1alpha1::CloneSetSpec {
                replicas,
                selector,
                template,
                volume_claim_templates,
                scale_strategy: v1alpha1::CloneSetScaleStrategy { pods_to_delete: scale.0, max_unavailable: scale.1, disable_pvc_reuse: scale.2 },
                update_strategy: v1alpha1::CloneSetUpdateStrategy {
                    type_: update.0,
                    partition: update.1,
                    max_unavailable: update.2,
                    max_surge: update.3,
                    paused: update.4,
                    priority_strategy: update.5,
                    scatter_strategy: update.6,
                    in_place_update_strategy: update.7,
                },
                revision_history_limit,
                min_ready_seconds,
                lifecycle,
                progress_deadline_seconds,
            },
            status,
        }
    }
}

prop_compose! {
    fn cloneset_v1beta1()(
        metadata in meta(),
        replicas in of(any::<i32>()),
        selector in of(selector()),
        template in template(),
        volume_claim_templates in vec(claim(), 0..2),
        scale in (vec(name(), 0..3), of(int_or_string()), any::<bool>(), any::<bool>()),
        kind in of(prop_oneof![Just("RollingUpdate".to_owned()), Just("OnDelete".to_owned())]),
        rolling in of((of(int_or_string()), of(int_or_string()), of(int_or_string()), of(policy()), any::<bool>(), of(priority()), scatter(), of(in_place()))),
        revision_history_limit in of(any::<i32>()),
        min_ready_seconds in any::<i32>(),
        lifecycle in of(lifecycle()),
        progress_deadline_seconds in of(any::<i32>()),
        status in of(cloneset_status()),
    ) -> v1beta1::CloneSet {
        v1beta1::CloneSet {
            metadata,
            spec: v1beta1::CloneSetSpec {
                replicas,
                selector,
                template,
                volume_claim_templates,
                scale_strategy: v1beta1::CloneSetScaleStrategy {
                    pods_to_delete: scale.0,
                    max_unavailable: scale.1,
                    enable_pvc_reuse: scale.2,
                    exclude_preparing_delete: scale.3,
                },
                update_strategy: v1beta1::CloneSetUpdateStrategy {
                    type_: kind,
                    rolling_update: rolling.map(|r| v1beta1::RollingUpdateCloneSetStrategy {
                        partition: r.0,
                        max_unavailable: r.1,
                        max_surge: r.2,
                        pod_update_policy: r.3,
                        paused: r.4,
                        priority_strategy: r.5,
                        scatter_strategy: r.6,
                        in_place_update_strategy: r.7,
                    }),
                },
                revision_history_limit,
                min_ready_seconds,
                lifecycle,
                progress_deadline_seconds,
            },
            status,
        }
    }
}

fn sts_update_strategy() -> impl Strategy<Value = v1beta1::StatefulSetUpdateStrategy> {
    let rolling = (
        of(any::<i32>()),
        of(int_or_string()),
        of(policy()),
        any::<bool>(),
        of(of(priority())
            .prop_map(|priority_strategy| v1beta1::UnorderedUpdateStrategy { priority_strategy })),
        of(in_place()),
        of(any::<i32>()),
    )
        .prop_map(|r| v1beta1::RollingUpdateStatefulSetStrategy {
            partition: r.0,
            max_unavailable: r.1,
            pod_update_policy: r.2,
            paused: r.3,
            unordered_update: r.4,
            in_place_update_strategy: r.5,
            min_ready_seconds: r.6,
        });
    (of(prop_oneof![Just("RollingUpdate".to_owned()), Just("OnDelete".to_owned()), text()]), of(rolling))
        .prop_map(|(type_, rolling_update)| v1beta1::StatefulSetUpdateStrategy { type_, rolling_update })
}

fn sts_condition() -> impl Strategy<Value = StatefulSetCondition> {
    (name(), text(), of(time()), of(text()), of(text())).prop_map(
        |(type_, status, last_transition_time, reason, message)| StatefulSetCondition {
            type_,
            status,
            last_transition_time,
            reason,
            message,
        },
    )
}

fn sts_status() -> impl Strategy<Value = v1beta1::StatefulSetStatus> {
    let claim_status = (name(), any::<i32>(), any::<i32>()).prop_map(
        |(volume_claim_name, compatible_replicas, compatible_ready_replicas)| v1beta1::VolumeClaimStatus {
            volume_claim_name,
            compatible_replicas,
            compatible_ready_replicas,
        },
    );
    (
        any::<i64>(),
        any::<[i32; 7]>(),
        text(),
        text(),
        of(any::<i32>()),
        vec(sts_condition(), 0..2),
        text(),
        vec(claim_status, 0..2),
    )
        .prop_map(
            |(
                g,
                n,
                current_revision,
                update_revision,
                collision_count,
                conditions,
                label_selector,
                volume_claims,
            )| v1beta1::StatefulSetStatus {
                observed_generation: g,
                replicas: n[0],
                ready_replicas: n[1],
                available_replicas: n[2],
                current_replicas: n[3],
                updated_replicas: n[4],
                updated_ready_replicas: n[5],
                updated_available_replicas: n[6],
                current_revision,
                update_revision,
                collision_count,
                conditions,
                label_selector,
                volume_claims,
            },
        )
}

prop_compose! {
    fn statefulset_v1beta1()(
        metadata in meta(),
        replicas in of(any::<i32>()),
        selector in of(selector()),
        template in template(),
        volume_claim_templates in vec(claim(), 0..2),
        vcu in of(prop_oneof![Just("OnPodRollingUpdate".to_owned()), Just("OnDelete".to_owned())]),
        service_name in prop_oneof![Just(String::new()), name()],
        pod_management_policy in of(prop_oneof![Just("OrderedReady".to_owned()), Just("Parallel".to_owned())]),
        update_strategy in sts_update_strategy(),
        revision_history_limit in of(any::<i32>()),
        reserve_ordinals in vec(int_or_string(), 0..3),
        lifecycle in of(lifecycle()),
        scale_strategy in of(of(int_or_string()).prop_map(|max_unavailable| v1beta1::StatefulSetScaleStrategy { max_unavailable })),
        retention in of((of(text()), of(text()))),
        ordinals in of(any::<i32>().prop_map(|start| v1beta1::StatefulSetOrdinals { start })),
        status in of(sts_status()),
    ) -> v1beta1::StatefulSet {
        v1beta1::StatefulSet {
            metadata,
            spec: v1beta1::StatefulSetSpec {
                replicas,
                selector,
                template,
                volume_claim_templates,
                volume_claim_update_strategy: v1beta1::VolumeClaimUpdateStrategy { type_: vcu },
                service_name,
                pod_management_policy,
                update_strategy,
                revision_history_limit,
                reserve_ordinals,
                lifecycle,
                scale_strategy,
                persistent_volume_claim_retention_policy: retention.map(|(when_deleted, when_scaled)| {
                    v1beta1::StatefulSetPersistentVolumeClaimRetentionPolicy { when_deleted, when_scaled }
                }),
                ordinals,
            },
            status,
        }
    }
}

prop_compose! {
    fn statefulset_v1alpha1()(
        metadata in meta(),
        replicas in of(any::<i32>()),
        selector in of(selector()),
        template in template(),
        volume_claim_templates in vec(claim(), 0..2),
        service_name in prop_oneof![Just(String::new()), name()],
        pod_management_policy in of(prop_oneof![Just("OrderedReady".to_owned()), Just("Parallel".to_owned())]),
        update_strategy in sts_update_strategy(),
        revision_history_limit in of(any::<i32>()),
        status in of((any::<i64>(), any::<[i32; 5]>(), text(), text(), of(any::<i32>()), vec(sts_condition(), 0..2), text())),
    ) -> v1alpha1::StatefulSet {
        v1alpha1::StatefulSet {
            metadata,
            spec: v1alpha1::StatefulSetSpec {
                replicas,
                selector,
                template,
                volume_claim_templates,
                service_name,
                pod_management_policy,
                update_strategy,
                revision_history_limit,
            },
            status: status.map(|s| v1alpha1::StatefulSetStatus {
                observed_generation: s.0,
                replicas: s.1[0],
                ready_replicas: s.1[1],
                available_replicas: s.1[2],
                current_replicas: s.1[3],
                updated_replicas: s.1[4],
                current_revision: s.2,
                update_revision: s.3,
                collision_count: s.4,
                conditions: s.5,
                label_selector: s.6,
            }),
        }
    }
}

/// YAML → type → JSON → type is the identity.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
    obj: &T,
) -> Result<(), TestCaseError> {
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

/// Runs `check` over `cases` values of the strategy `make()` builds, on a thread with a large
/// stack: the nested strategies of a whole workload overflow the default test-thread stack in
/// unoptimized builds.
fn run<S, F>(make: fn() -> S, check: F)
where
    S: Strategy + 'static,
    S::Value: std::fmt::Debug,
    F: Fn(S::Value) -> Result<(), TestCaseError> + Send + 'static,
{
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64);
    let outcome = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || {
            let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(cases));
            runner.run(&make(), check).map_err(|e| e.to_string())
        })
        .expect("spawn test thread")
        .join()
        .expect("test thread panicked");
    if let Err(e) = outcome {
        panic!("{e}");
    }
}

#[test]
fn cs_2_v1alpha1_cloneset_round_trips() {
    run(cloneset_v1alpha1, |cs| round_trip(&cs));
}

#[test]
fn cs_4_v1beta1_cloneset_round_trips() {
    run(cloneset_v1beta1, |cs| round_trip(&cs));
}

#[test]
fn asts_5_v1beta1_statefulset_round_trips() {
    run(statefulset_v1beta1, |sts| round_trip(&sts));
}

#[test]
fn asts_6_v1alpha1_statefulset_round_trips() {
    run(statefulset_v1alpha1, |sts| round_trip(&sts));
}

#[test]
fn asts_6_v1alpha1_statefulset_converts_losslessly() {
    run(statefulset_v1alpha1, |sts| {
        let back =
            kruise_api::convert::statefulset_to_v1alpha1(&kruise_api::convert::statefulset_to_v1beta1(&sts));
        prop_assert_eq!(back, sts);
        Ok(())
    });
}

/// Defaulting twice equals defaulting once; validation (create and update against the
/// original) returns instead of panicking.
fn defaults_idempotent_and_validation_total<T>(obj: T) -> Result<(), TestCaseError>
where
    T: kruise_api::defaults::Defaulting
        + kruise_api::validation::Validate
        + Clone
        + PartialEq
        + std::fmt::Debug,
{
    let mut once = obj.clone();
    once.apply_defaults();
    let mut twice = once.clone();
    twice.apply_defaults();
    prop_assert_eq!(&twice, &once);
    let _ = obj.validate();
    let _ = once.validate();
    let _ = once.validate_update(&obj);
    Ok(())
}

#[test]
fn cs_10_cs_12_v1alpha1_cloneset_defaulting_is_idempotent() {
    run(cloneset_v1alpha1, defaults_idempotent_and_validation_total);
}

#[test]
fn cs_11_cs_12_v1beta1_cloneset_defaulting_is_idempotent() {
    run(cloneset_v1beta1, defaults_idempotent_and_validation_total);
}

#[test]
fn asts_7_v1beta1_statefulset_defaulting_is_idempotent() {
    run(statefulset_v1beta1, defaults_idempotent_and_validation_total);
}

#[test]
fn asts_7_v1alpha1_statefulset_defaulting_is_idempotent() {
    run(statefulset_v1alpha1, defaults_idempotent_and_validation_total);
}
