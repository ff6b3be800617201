//! Advanced DaemonSet planner benchmarks (issue 14): steady state and a rolling update at 1k,
//! 5k (the Kubernetes scalability envelope) and 15k nodes, with the action counts asserted
//! before timing. The nodes come as a `NodeTable` built once (facts extracted per node version),
//! as an adapter keeps it, so a pass does not re-read node labels and taints. The pods come as a
//! `PodTable` (facts extracted per pod version, the target node interned) in `daemonset/*`,
//! and as a `&[Pod]` slice in `daemonset-slice/*` (`KRUISE_BENCH_SLICE=0` skips those); both
//! forms are checked to give the same plan before timing.
//!
//! Run: `cargo bench --bench daemonset` or with a filter, e.g.
//! `cargo bench --bench daemonset -- daemonset/steady/5000`. `KRUISE_BENCH_SIZES=1000,5000`
//! narrows the sizes.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{
    Container, Node, NodeSpec, Pod, PodCondition, PodSpec, PodStatus, PodTemplateSpec, Taint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::{DaemonSet, DaemonSetStatus};
use kruise_api::defaults::Defaulting;
use kruise_core::cloneset::revision::{revision_data, revision_hash};
use kruise_core::daemonset::{self, Input, Plan, PodTable, Pods};
use kruise_core::expectations::Expectations;
use kruise_core::features::Features;
use kruise_core::nodetable::NodeTable;

fn sizes() -> Vec<usize> {
    match std::env::var("KRUISE_BENCH_SIZES") {
        Ok(v) if !v.trim().is_empty() => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        _ => vec![1_000, 5_000, 15_000],
    }
}

fn now() -> Timestamp {
    "2026-01-01T01:00:00Z".parse().unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn ds(image: &str, max_unavailable: &str) -> DaemonSet {
    let mut d = DaemonSet {
        metadata: ObjectMeta {
            name: Some("agent".into()),
            namespace: Some("default".into()),
            uid: Some("uid-agent".into()),
            generation: Some(1),
            ..Default::default()
        },
        ..Default::default()
    };
    d.spec.selector =
        Some(LabelSelector { match_labels: Some(labels(&[("app", "agent")])), match_expressions: None });
    d.spec.template = PodTemplateSpec {
        metadata: Some(ObjectMeta { labels: Some(labels(&[("app", "agent")])), ..Default::default() }),
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "agent".into(),
                image: Some(image.into()),
                ..Default::default()
            }],
            node_selector: Some(labels(&[("kubernetes.io/os", "linux")])),
            ..Default::default()
        }),
    };
    d.apply_defaults();
    let ru = d.spec.update_strategy.rolling_update.get_or_insert_with(Default::default);
    ru.max_unavailable = Some(IntOrString::String(max_unavailable.into()));
    ru.max_surge = Some(IntOrString::Int(0));
    d
}

fn revision(d: &DaemonSet, n: i64) -> (ControllerRevision, String) {
    let data = revision_data(&d.spec.template);
    let h = revision_hash(&data, 0);
    (daemonset::new_revision(d, data, &h, format!("agent-{h}"), n), h)
}

/// Node `i`: linux, a zone label, every tenth one with a tolerated condition taint.
fn node(i: usize) -> Node {
    let mut n = Node {
        metadata: ObjectMeta {
            name: Some(format!("node-{i:05}")),
            resource_version: Some("1".into()),
            labels: Some(labels(&[
                ("kubernetes.io/os", "linux"),
                ("topology.kubernetes.io/zone", ["a", "b", "c"][i % 3]),
            ])),
            ..Default::default()
        },
        ..Default::default()
    };
    if i.is_multiple_of(10) {
        n.spec = Some(NodeSpec {
            taints: Some(vec![Taint {
                key: "node.kubernetes.io/memory-pressure".into(),
                value: None,
                effect: "NoSchedule".into(),
                time_added: None,
            }]),
            ..Default::default()
        });
    }
    n
}

fn pod(i: usize, hash: &str) -> Pod {
    let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    Pod {
        metadata: ObjectMeta {
            name: Some(format!("agent-{i:05}")),
            namespace: Some("default".into()),
            labels: Some(labels(&[("app", "agent"), ("controller-revision-hash", hash)])),
            owner_references: Some(vec![OwnerReference {
                api_version: "apps.kruise.io/v1beta1".into(),
                kind: "DaemonSet".into(),
                name: "agent".into(),
                uid: "uid-agent".into(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            creation_timestamp: Some(Time(t0)),
            ..Default::default()
        },
        spec: Some(PodSpec { node_name: Some(format!("node-{i:05}")), ..Default::default() }),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                last_transition_time: Some(Time(t0)),
                ..Default::default()
            }]),
            ..Default::default()
        }),
    }
}

/// One benchmark world: the DaemonSet, its pods at the old or current revision, the nodes.
struct World {
    ds: DaemonSet,
    pods: Vec<Pod>,
    pod_table: PodTable,
    table: NodeTable,
    revisions: Vec<ControllerRevision>,
}

impl World {
    /// `n` nodes, each running an available pod at revision 1; `rolling` changes the image.
    fn new(n: usize, rolling: bool) -> Self {
        let v1 = ds("agent:1", "10%");
        let (r1, h1) = revision(&v1, 1);
        let mut d = if rolling { ds("agent:2", "10%") } else { v1 };
        let mut revisions = vec![r1];
        if rolling {
            revisions.push(revision(&d, 2).0);
        }
        let n32 = i32::try_from(n).unwrap_or(i32::MAX);
        d.status = Some(DaemonSetStatus {
            current_number_scheduled: n32,
            desired_number_scheduled: n32,
            number_ready: n32,
            number_available: n32,
            updated_number_scheduled: n32,
            observed_generation: 1,
            update_revision: h1.clone(),
            ..Default::default()
        });
        let nodes: Vec<Node> = (0..n).map(node).collect();
        let table = NodeTable::from_nodes(&nodes).unwrap();
        let pods: Vec<Pod> = (0..n).map(|i| pod(i, &h1)).collect();
        let pod_table = PodTable::from_pods(&d, pods.iter().cloned()).unwrap();
        Self { ds: d, pods, pod_table, table, revisions }
    }

    /// One plan from the pod table.
    fn plan(&self) -> Plan {
        self.plan_from((&self.pod_table).into())
    }

    /// One plan from the pod slice.
    fn plan_slice(&self) -> Plan {
        self.plan_from((&self.pods).into())
    }

    fn plan_from(&self, pods: Pods<'_>) -> Plan {
        let exp = Expectations::new();
        let backoff = BTreeMap::new();
        daemonset::plan(&Input {
            daemonset: &self.ds,
            pods,
            nodes: &self.table,
            revisions: &self.revisions,
            now: now(),
            id_seed: 1,
            features: Features::default(),
            expectations: &exp,
            failed_pod_backoff: &backoff,
            bind_pods: false,
        })
        .unwrap()
    }
}

fn bench(c: &mut Criterion) {
    for n in sizes() {
        for (name, rolling) in [("steady", false), ("rolling", true)] {
            let w = World::new(n, rolling);
            let p = w.plan();
            assert_eq!(p, w.plan_slice(), "daemonset/{name}/{n}: the table and the slice plan alike");
            if rolling {
                // 10% of n rounded up, deleted (recreate) in this pass within burstReplicas (250).
                assert_eq!(p.count("DeletePod"), n.div_ceil(10).min(250), "rolling at {n} (burst 250)");
                assert_eq!(p.count("CreatePod"), 0);
            } else {
                assert!(p.actions.is_empty(), "steady at {n}: {:?}", &p.actions[..p.actions.len().min(3)]);
            }
            let mut g = c.benchmark_group(format!("daemonset/{name}"));
            g.sample_size(10);
            g.warm_up_time(Duration::from_millis(500));
            g.measurement_time(Duration::from_secs(2));
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::from_parameter(n), &w, |b, w| b.iter(|| black_box(w.plan())));
            g.finish();
            if std::env::var("KRUISE_BENCH_SLICE").map_or(true, |v| v != "0") {
                let mut g = c.benchmark_group(format!("daemonset-slice/{name}"));
                g.sample_size(10);
                g.warm_up_time(Duration::from_millis(500));
                g.measurement_time(Duration::from_secs(2));
                g.throughput(Throughput::Elements(n as u64));
                g.bench_with_input(BenchmarkId::from_parameter(n), &w, |b, w| {
                    b.iter(|| black_box(w.plan_slice()))
                });
                g.finish();
            }
        }
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
