//! SidecarSet benchmarks (issue 15): injection per pod (one SidecarSet; 50 SidecarSets of
//! which 3 match) and the upgrade planner at 1k / 10k / 100k matched pods (steady: nothing to
//! do; rolling: a new sidecar image, `maxUnavailable: 10%`), with the outcome asserted before
//! timing.
//!
//! Run: `cargo bench --bench sidecarset` or with a filter, e.g.
//! `cargo bench --bench sidecarset -- sidecarset/inject`. `KRUISE_BENCH_SIZES=1000,10000`
//! narrows the planner sizes.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::v1beta1::SidecarSet;
use kruise_core::expectations::Expectations;
use kruise_core::features::Features;
use kruise_core::plan::{ActionKind, SidecarSetAction};
use kruise_core::sidecarset::{self, InjectInput, Input, Operation, Outcome, Plan};
use serde_json::json;

fn sizes() -> Vec<usize> {
    match std::env::var("KRUISE_BENCH_SIZES") {
        Ok(v) if !v.trim().is_empty() => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        _ => vec![1_000, 10_000, 100_000],
    }
}

fn now() -> Timestamp {
    "2026-01-01T01:00:00Z".parse().unwrap()
}

/// A defaulted SidecarSet `name` selecting `app=<app>` with a log agent (shared volumes,
/// transferred env) and a hot-upgrade proxy.
fn sidecarset(name: &str, app: &str, agent_image: &str) -> SidecarSet {
    let mut s: SidecarSet = serde_json::from_value(json!({
        "metadata": {"name": name, "resourceVersion": "1"},
        "spec": {
            "selector": {"matchLabels": {"app": app}},
            "containers": [
                {"name": format!("{name}-agent"), "image": agent_image, "shareVolumePolicy": {"type": "enabled"},
                 "transferEnv": [{"sourceContainerName": "main", "envName": "TIER"}],
                 "volumeMounts": [{"name": "conf", "mountPath": "/etc/agent"}]},
                {"name": format!("{name}-proxy"), "image": "proxy:1",
                 "upgradeStrategy": {"upgradeType": "HotUpgrade", "hotUpgradeEmptyImage": "empty:1"}}],
            "volumes": [{"name": "conf", "configMap": {"name": "conf"}}]
        }
    }))
    .unwrap();
    kruise_api::defaults::default(&mut s);
    s
}

/// A pod being created, labelled `app=web`.
fn new_pod(i: usize) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": format!("web-{i:06}"), "namespace": "shop", "labels": {"app": "web", "zone": format!("z{}", i % 3)}},
        "spec": {"containers": [{"name": "main", "image": "app:1", "env": [{"name": "TIER", "value": "web"}],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
            "volumes": [{"name": "data", "emptyDir": {}}]}
    }))
    .unwrap()
}

fn inject_one(pod: &Pod, sets: &[SidecarSet], ns: &BTreeMap<String, String>) -> sidecarset::Injection {
    sidecarset::inject(&InjectInput {
        pod,
        operation: Operation::Create,
        namespace_labels: Some(ns),
        sidecarsets: sets,
        revisions: &[],
        now: now(),
        seed: 0,
        features: Features::default(),
    })
    .unwrap()
}

/// `n` injected, running, ready pods (the sidecars as injected by `ss`).
fn population(ss: &SidecarSet, n: usize) -> Vec<Pod> {
    let ns = BTreeMap::new();
    let template = inject_one(&new_pod(0), std::slice::from_ref(ss), &ns).pod;
    (0..n)
        .map(|i| {
            let mut p = template.clone();
            p.metadata.name = Some(format!("web-{i:06}"));
            p.metadata.uid = Some(format!("uid-{i}"));
            p.metadata.resource_version = Some("5".into());
            p.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                Timestamp::from_second(1_767_225_600 + (i % 600) as i64).unwrap(),
            ));
            p.spec.as_mut().unwrap().node_name = Some(format!("node-{}", i % 100));
            let sts: Vec<serde_json::Value> = p
                .spec
                .as_ref()
                .unwrap()
                .containers
                .iter()
                .map(|c| {
                    let img = c.image.clone().unwrap_or_default();
                    json!({"name": c.name, "image": img, "imageID": format!("id-{img}"), "ready": true, "restartCount": 0})
                })
                .collect();
            p.status = Some(
                serde_json::from_value(json!({"phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:30:00Z"}],
                    "containerStatuses": sts}))
                .unwrap(),
            );
            p
        })
        .collect()
}

fn plan_of(
    ss: &SidecarSet,
    pods: &[Pod],
    revisions: &[k8s_openapi::api::apps::v1::ControllerRevision],
) -> Plan {
    let ns = BTreeMap::new();
    let e = Expectations::default();
    sidecarset::plan(&Input {
        sidecarset: ss,
        pods,
        namespaces: &ns,
        revisions,
        revision_namespace: sidecarset::DEFAULT_REVISION_NAMESPACE,
        now: now(),
        expectations: &e,
    })
    .unwrap()
}

fn upgrades(p: &Plan) -> usize {
    p.actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::SidecarSet(SidecarSetAction::SetSidecarImages { .. })))
        .count()
}

/// The stored status and revision for `ss` (planned once, copied in), so a steady plan is empty.
fn settled(
    ss: &SidecarSet,
    pods: &[Pod],
) -> (SidecarSet, Vec<k8s_openapi::api::apps::v1::ControllerRevision>) {
    let p = plan_of(ss, pods, &[]);
    let writes = sidecarset::reconcile::writes(
        &Input {
            sidecarset: ss,
            pods,
            namespaces: &BTreeMap::new(),
            revisions: &[],
            revision_namespace: sidecarset::DEFAULT_REVISION_NAMESPACE,
            now: now(),
            expectations: &Expectations::default(),
        },
        &p,
    )
    .expect("every action of the plan has its writes");
    let revs = writes
        .iter()
        .filter_map(|w| match &w.write {
            kruise_core::write::ApiWrite::Create { object, .. } => {
                serde_json::from_value(object.clone()).ok()
            }
            _ => None,
        })
        .collect();
    let mut s = ss.clone();
    s.status = Some(p.status.clone());
    (s, revs)
}

fn bench_inject(c: &mut Criterion) {
    let mut g = c.benchmark_group("sidecarset/inject");
    g.throughput(Throughput::Elements(1));
    let ns = BTreeMap::from([("kubernetes.io/metadata.name".to_owned(), "shop".to_owned())]);
    let pod = new_pod(1);
    let one = vec![sidecarset("mesh", "web", "agent:1")];
    let inj = inject_one(&pod, &one, &ns);
    assert_eq!(inj.pod.spec.as_ref().unwrap().containers.len(), 4, "agent + two proxy slots + main");
    g.bench_function("one", |b| b.iter(|| black_box(inject_one(black_box(&pod), &one, &ns))));
    let fifty: Vec<SidecarSet> = (0..50)
        .map(|i| sidecarset(&format!("ss-{i:02}"), if i % 17 == 0 { "web" } else { "other" }, "agent:1"))
        .collect();
    let inj = inject_one(&pod, &fifty, &ns);
    let matched = inj.decisions.iter().filter(|d| matches!(d.outcome, Outcome::Injected { .. })).count();
    assert_eq!(matched, 3, "ss-00, ss-17, ss-34 match");
    g.bench_function("fifty-three-match", |b| b.iter(|| black_box(inject_one(black_box(&pod), &fifty, &ns))));
    g.finish();
}

fn bench_plan(c: &mut Criterion) {
    let mut g = c.benchmark_group("sidecarset/plan");
    g.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for n in sizes() {
        let base = sidecarset("mesh", "web", "agent:1");
        let pods = population(&base, n);
        let (steady, revs) = settled(&base, &pods);
        let p = plan_of(&steady, &pods, &revs);
        assert!(p.actions.is_empty(), "steady plan is empty: {:?}", p.actions.first());
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("steady", n), &n, |b, _| {
            b.iter(|| black_box(plan_of(&steady, &pods, &revs)))
        });
        let mut rolling = sidecarset("mesh", "web", "agent:2");
        rolling.spec.update_strategy.max_unavailable =
            Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String("10%".into()));
        rolling.status = steady.status.clone();
        let p = plan_of(&rolling, &pods, &revs);
        assert_eq!(upgrades(&p), n.div_ceil(10), "maxUnavailable 10%");
        g.bench_with_input(BenchmarkId::new("rolling", n), &n, |b, _| {
            b.iter(|| black_box(plan_of(&rolling, &pods, &revs)))
        });
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_inject(&mut c);
    bench_plan(&mut c);
    c.final_summary();
}
