//! proptest strategies for the Kubernetes and Kruise values the DaemonSet and SidecarSet
//! types embed, shared by their round-trip tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, ContainerPort, EnvVar, EnvVarSource, HostPathVolumeSource,
    LocalObjectReference, ObjectFieldSelector, PodSpec, PodTemplateSpec, Probe, Toleration, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta, Time,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::common::{
    Lifecycle, LifecycleHook, UpdatePriorityOrderTerm, UpdatePriorityStrategy, UpdatePriorityWeightTerm,
    UpdateScatterTerm,
};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;

/// Text that stresses YAML quoting: numbers, booleans, `null`, `~`, `%`, `:`, spaces, quotes.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9._%/:' -]{0,12}",
        Just("true".to_owned()),
        Just("null".to_owned()),
        Just("~".to_owned()),
        Just("0x1F".to_owned()),
        Just("1.5".to_owned()),
        Just("007".to_owned()),
        Just("- x".to_owned()),
        Just("é ✓".to_owned()),
    ]
}

pub fn key() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9.-]{0,6}(/[a-z0-9]{1,5})?"
}

pub fn string_map() -> impl Strategy<Value = BTreeMap<String, String>> {
    btree_map(key(), text(), 0..3)
}

pub fn int_or_string() -> impl Strategy<Value = IntOrString> {
    prop_oneof![any::<i32>().prop_map(IntOrString::Int), text().prop_map(IntOrString::String)]
}

pub fn time() -> impl Strategy<Value = Time> {
    (0i64..4_000_000_000).prop_map(|s| Time(k8s_openapi::jiff::Timestamp::from_second(s).expect("in range")))
}

pub fn selector() -> impl Strategy<Value = LabelSelector> {
    let req = (key(), "[A-Za-z]{1,12}", option::of(vec(text(), 0..3)))
        .prop_map(|(key, operator, values)| LabelSelectorRequirement { key, operator, values });
    (option::of(string_map()), option::of(vec(req, 0..3)))
        .prop_map(|(match_labels, match_expressions)| LabelSelector { match_labels, match_expressions })
}

pub fn object_meta() -> impl Strategy<Value = ObjectMeta> {
    (
        option::of(key()),
        option::of(key()),
        option::of(string_map()),
        option::of(string_map()),
        option::of(any::<i64>()),
    )
        .prop_map(|(name, namespace, labels, annotations, generation)| ObjectMeta {
            name,
            namespace,
            labels,
            annotations,
            generation,
            ..Default::default()
        })
}

pub fn field_selector() -> impl Strategy<Value = ObjectFieldSelector> {
    (option::of(text()), text())
        .prop_map(|(api_version, field_path)| ObjectFieldSelector { api_version, field_path })
}

pub fn container() -> impl Strategy<Value = Container> {
    let env =
        (key(), option::of(text()), option::of(field_selector())).prop_map(|(name, value, fr)| EnvVar {
            name,
            value,
            value_from: fr.map(|f| EnvVarSource { field_ref: Some(f), ..Default::default() }),
        });
    let port =
        (any::<i32>(), option::of(key()), option::of(text())).prop_map(|(container_port, name, protocol)| {
            ContainerPort { container_port, name, protocol, ..Default::default() }
        });
    let mount = (key(), text(), option::of(any::<bool>())).prop_map(|(name, mount_path, read_only)| {
        VolumeMount { name, mount_path, read_only, ..Default::default() }
    });
    let probe =
        (option::of(any::<i32>()), option::of(any::<i32>())).prop_map(|(period_seconds, timeout_seconds)| {
            Probe { period_seconds, timeout_seconds, ..Default::default() }
        });
    (
        (key(), option::of(text()), option::of(vec(text(), 0..3)), option::of(vec(env, 0..3))),
        (option::of(vec(port, 0..2)), option::of(vec(mount, 0..2)), option::of(probe), option::of(text())),
        (option::of(text()), option::of(any::<bool>())),
    )
        .prop_map(
            |(
                (name, image, command, env),
                (ports, volume_mounts, readiness_probe, pull),
                (restart_policy, tty),
            )| {
                Container {
                    name,
                    image,
                    command,
                    env,
                    ports,
                    volume_mounts,
                    readiness_probe,
                    image_pull_policy: pull,
                    restart_policy,
                    tty,
                    ..Default::default()
                }
            },
        )
}

pub fn volume() -> impl Strategy<Value = Volume> {
    (key(), prop_oneof![Just(0u8), Just(1), Just(2)], text(), option::of(any::<i32>())).prop_map(
        |(name, kind, path, mode)| {
            let mut v = Volume { name, ..Default::default() };
            match kind {
                0 => v.host_path = Some(HostPathVolumeSource { path, type_: None }),
                1 => {
                    v.config_map =
                        Some(ConfigMapVolumeSource { name: path, default_mode: mode, ..Default::default() })
                }
                _ => {}
            }
            v
        },
    )
}

pub fn pod_template() -> impl Strategy<Value = PodTemplateSpec> {
    let toleration = (option::of(key()), option::of(text()), option::of(text()))
        .prop_map(|(key, operator, effect)| Toleration { key, operator, effect, ..Default::default() });
    let spec = (
        vec(container(), 0..3),
        option::of(vec(container(), 0..2)),
        option::of(string_map()),
        option::of(text()),
        option::of(any::<bool>()),
        option::of(any::<i64>()),
        option::of(vec(toleration, 0..2)),
        option::of(vec(volume(), 0..2)),
    )
        .prop_map(
            |(
                containers,
                init_containers,
                node_selector,
                restart_policy,
                host_network,
                active_deadline_seconds,
                tolerations,
                volumes,
            )| {
                PodSpec {
                    containers,
                    init_containers,
                    node_selector,
                    restart_policy,
                    host_network,
                    active_deadline_seconds,
                    tolerations,
                    volumes,
                    ..Default::default()
                }
            },
        );
    (option::of(object_meta()), option::of(spec))
        .prop_map(|(metadata, spec)| PodTemplateSpec { metadata, spec })
}

fn hook() -> impl Strategy<Value = LifecycleHook> {
    (string_map(), vec(text(), 0..2), any::<bool>()).prop_map(
        |(labels_handler, finalizers_handler, mark_pod_not_ready)| LifecycleHook {
            labels_handler,
            finalizers_handler,
            mark_pod_not_ready,
        },
    )
}

pub fn lifecycle() -> impl Strategy<Value = Lifecycle> {
    (option::of(hook()), option::of(hook()), option::of(hook())).prop_map(
        |(pre_delete, in_place_update, pre_normal)| Lifecycle { pre_delete, in_place_update, pre_normal },
    )
}

pub fn priority() -> impl Strategy<Value = UpdatePriorityStrategy> {
    let order = key().prop_map(|ordered_key| UpdatePriorityOrderTerm { ordered_key });
    let weight = (any::<i32>(), selector())
        .prop_map(|(weight, match_selector)| UpdatePriorityWeightTerm { weight, match_selector });
    (vec(order, 0..2), vec(weight, 0..2)).prop_map(|(order_priority, weight_priority)| {
        UpdatePriorityStrategy { order_priority, weight_priority }
    })
}

pub fn scatter() -> impl Strategy<Value = Vec<UpdateScatterTerm>> {
    vec((key(), text()).prop_map(|(key, value)| UpdateScatterTerm { key, value }), 0..3)
}

pub fn secret_refs() -> impl Strategy<Value = Vec<LocalObjectReference>> {
    vec(key().prop_map(|name| LocalObjectReference { name }), 0..2)
}

/// Runs a property over `cases` values of `strategy()` (or `PROPTEST_CASES`) on a thread with a large stack: the
/// strategies for whole workload objects nest deeply enough to overflow a test thread's
/// default stack in debug builds.
pub fn check<S, F>(cases: u32, strategy: fn() -> S, property: F)
where
    S: Strategy + 'static,
    S::Value: std::fmt::Debug,
    F: Fn(S::Value) -> Result<(), TestCaseError> + Send + 'static,
{
    // `PROPTEST_CASES` overrides the count, as for `proptest!` tests.
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    let run = move || {
        let config = ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() };
        let mut runner = proptest::test_runner::TestRunner::new(config);
        if let Err(e) = runner.run(&strategy(), property) {
            panic!("{e}");
        }
    };
    let handle = std::thread::Builder::new().stack_size(256 << 20).spawn(run).expect("spawn test thread");
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}
