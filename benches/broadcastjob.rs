//! BroadcastJob and ImagePullJob planner benchmarks (issue 16) at 1k and 5k nodes (the
//! Kubernetes scalability envelope): the plan of a running BroadcastJob (half the nodes have
//! a pod, parallelism limits the creates), and an ImagePullJob status computation over N
//! NodeImages (a third pulled, a third pulling, a third not started). Action counts are asserted
//! before timing.
//!
//! Run: `cargo bench --bench broadcastjob` or with a filter, e.g.
//! `cargo bench --bench broadcastjob -- broadcastjob/running/5000`. `KRUISE_BENCH_SIZES=5000`
//! narrows the sizes.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    Container, Node, NodeSpec, NodeStatus, Pod, PodSpec, PodStatus, PodTemplateSpec, Taint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::{
    BroadcastJob, ImagePullJob, ImageStatus, ImageTagStatus, NodeImage, NodeImageStatus,
};
use kruise_api::defaults::Defaulting;
use kruise_core::expectations::Expectations;
use kruise_core::nodetable::NodeTable;
use kruise_core::{broadcastjob, imagepulljob};

fn sizes() -> Vec<usize> {
    match std::env::var("KRUISE_BENCH_SIZES") {
        Ok(v) if !v.trim().is_empty() => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        _ => vec![1_000, 5_000],
    }
}

fn now() -> Timestamp {
    "2026-01-01T01:00:00Z".parse().unwrap()
}

fn job() -> BroadcastJob {
    let mut j = BroadcastJob {
        metadata: ObjectMeta {
            name: Some("scan".into()),
            namespace: Some("default".into()),
            uid: Some("uid-scan".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    j.spec.parallelism = Some(IntOrString::String("60%".into()));
    j.spec.failure_policy.type_ = "Continue".into();
    j.spec.template = PodTemplateSpec {
        metadata: None,
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "scan".into(),
                image: Some("scanner:1".into()),
                ..Default::default()
            }],
            restart_policy: Some("Never".into()),
            node_selector: Some([("pool".to_owned(), "general".to_owned())].into()),
            ..Default::default()
        }),
    };
    j.apply_defaults();
    j
}

struct BjWorld {
    job: BroadcastJob,
    pods: Vec<Pod>,
    nodes: NodeTable,
}

impl BjWorld {
    /// N nodes, every tenth tainted (not fitting); pods on the first half of the fitting
    /// nodes: a third Succeeded, the rest Running.
    fn new(n: usize) -> Self {
        let mut j = job();
        let nodes: Vec<Node> = (0..n)
            .map(|i| Node {
                metadata: ObjectMeta {
                    name: Some(format!("node-{i:05}")),
                    labels: Some([("pool".to_owned(), "general".to_owned())].into()),
                    ..Default::default()
                },
                spec: Some(NodeSpec {
                    taints: (i % 10 == 9).then(|| {
                        vec![Taint {
                            key: "dedicated".into(),
                            effect: "NoSchedule".into(),
                            ..Default::default()
                        }]
                    }),
                    ..Default::default()
                }),
                status: Some(NodeStatus {
                    allocatable: Some([("pods".to_owned(), Quantity("110".into()))].into()),
                    ..Default::default()
                }),
            })
            .collect();
        let fitting: Vec<usize> = (0..n).filter(|i| i % 10 != 9).collect();
        let pods: Vec<Pod> = fitting[..fitting.len() / 2]
            .iter()
            .map(|&i| {
                let node = format!("node-{i:05}");
                let mut p = broadcastjob::new_pod(&j, &node, &format!("scan-{i}"), true);
                let phase = if i % 3 == 0 { "Succeeded" } else { "Running" };
                p.status = Some(PodStatus { phase: Some(phase.into()), ..Default::default() });
                p
            })
            .collect();
        let table = NodeTable::from_nodes(&nodes).unwrap();
        let w = Self { job: j.clone(), pods, nodes: table };
        // Steady status: plan once, store the start time and phase.
        let p = w.plan();
        j.status = Some(kruise_api::apps::v1beta1::BroadcastJobStatus {
            start_time: p.status.start_time.clone(),
            phase: "running".into(),
            ..Default::default()
        });
        Self { job: j, ..w }
    }

    fn plan(&self) -> broadcastjob::Plan {
        let e = Expectations::default();
        broadcastjob::plan(&broadcastjob::Input {
            job: &self.job,
            pods: (&self.pods).into(),
            nodes: &self.nodes,
            now: now(),
            id_seed: 1,
            expectations: &e,
            bind_pods: false,
        })
        .unwrap()
    }
}

struct IpjWorld {
    job: ImagePullJob,
    nis: Vec<NodeImage>,
}

impl IpjWorld {
    /// N NodeImages: a third pulled the job's tag, a third pulling, a third not started.
    fn new(n: usize) -> Self {
        let mut j = ImagePullJob {
            metadata: ObjectMeta {
                name: Some("warm".into()),
                namespace: Some("default".into()),
                uid: Some("uid-warm".into()),
                finalizers: Some(vec![kruise_api::keys::DELETION_PROTECTION_FINALIZER.into()]),
                ..Default::default()
            },
            ..Default::default()
        };
        j.spec.image = "registry.example.com/team/app:2.0".into();
        j.spec.parallelism = Some(IntOrString::Int(2000));
        j.apply_defaults();
        let pp = imagepulljob::tag_pull_policy(&j, 0, 300);
        let nis = (0..n)
            .map(|i| {
                let mut ni = NodeImage {
                    metadata: ObjectMeta { name: Some(format!("node-{i:05}")), ..Default::default() },
                    ..Default::default()
                };
                if i % 3 != 2 {
                    let spec = imagepulljob::synced_image_spec(
                        &ni,
                        &j,
                        "registry.example.com/team/app",
                        "2.0",
                        &[],
                        &pp,
                        now(),
                    )
                    .unwrap();
                    ni.spec.images.insert("registry.example.com/team/app".into(), spec);
                    ni.status = Some(NodeImageStatus {
                        image_statuses: [(
                            "registry.example.com/team/app".to_owned(),
                            ImageStatus {
                                tags: vec![ImageTagStatus {
                                    tag: "2.0".into(),
                                    phase: if i % 3 == 0 { "Succeeded" } else { "Pulling" }.into(),
                                    ..Default::default()
                                }],
                            },
                        )]
                        .into(),
                        ..Default::default()
                    });
                }
                ni
            })
            .collect();
        Self { job: j, nis }
    }

    fn plan(&self) -> imagepulljob::Plan {
        imagepulljob::plan(&imagepulljob::Input {
            job: &self.job,
            node_images: &self.nis,
            pods: &[],
            secrets: &[],
            daemon_namespace: kruise_api::keys::KRUISE_DAEMON_CONFIG_NAMESPACE,
            now: now(),
            id_seed: 1,
            default_ttl_for_always: imagepulljob::DEFAULT_TTL_FOR_ALWAYS_NODEIMAGE,
        })
        .unwrap()
    }
}

fn group<T>(c: &mut Criterion, name: &str, n: usize, f: impl Fn() -> T) {
    let mut g = c.benchmark_group(name);
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(BenchmarkId::from_parameter(n), |b| b.iter(|| black_box(f())));
    g.finish();
}

fn bench(c: &mut Criterion) {
    for n in sizes() {
        let w = BjWorld::new(n);
        let p = w.plan();
        let fitting = n - n / 10;
        let have = fitting / 2;
        let running =
            w.pods.iter().filter(|p| p.status.as_ref().unwrap().phase.as_deref() == Some("Running")).count();
        let limit = (fitting * 6).div_ceil(10);
        assert_eq!(p.count("CreatePod"), (limit - running).min(fitting - have), "running job at {n}");
        assert_eq!(p.count("DeletePod"), 0);
        group(c, "broadcastjob/running", n, || w.plan());
        let w = IpjWorld::new(n);
        let p = w.plan();
        assert_eq!(p.status.desired as usize, n);
        assert_eq!(p.status.succeeded as usize, n.div_ceil(3));
        assert_eq!(p.count("WriteNodeImage"), (2000 - p.status.active as usize).min(n / 3));
        group(c, "imagepulljob/status", n, || w.plan());
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
