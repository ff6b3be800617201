//! Fuzz target: the BroadcastJob and ImagePullJob planners on arbitrary structured inputs.
//! Nodes (cordoned, tainted, without allocatable pods), job pods (node, phase, restarts,
//! terminating) and NodeImages (tag owned or not, pull phase, stale version) are mapped to
//! valid Kubernetes types, then the invariants are asserted: never panics; a
//! BroadcastJob creates at most one pod per node, only on nodes without one and never above
//! `parallelism` (BJ-21); an ImagePullJob writes only not-synced NodeImages, once each, within
//! `parallelism` (IPJ-14), and its counters never exceed `desired` (IPJ-13); same input twice
//! gives the same plan.
#![no_main]

use std::collections::BTreeSet;

use arbitrary::Arbitrary;
use k8s_openapi::api::core::v1::{ContainerStatus, Node, NodeSpec, NodeStatus, PodStatus, Taint};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::{
    BroadcastJob, BroadcastJobStatus, ImagePullJob, ImageStatus, ImageTagStatus, NodeImage, NodeImageStatus,
};
use kruise_api::defaults::Defaulting;
use kruise_core::nodetable::{NodeTable, assigned_node};
use kruise_core::plan::{ActionKind, ImagePullJobAction};
use kruise_core::{Expectations, broadcastjob, imagepulljob};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug, Clone, Copy)]
struct NodeDesc {
    /// 0 fits, 1 cordoned, 2 NoSchedule taint, 3 no allocatable pods.
    kind: u8,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct PodDesc {
    node: u8,
    /// 0 Pending, 1 Running, 2 Succeeded, 3 Failed.
    phase: u8,
    restarts: u8,
    terminating: bool,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct NiDesc {
    /// 0 empty, 1 tag owned by the job, 2 tag owned by another job.
    spec: u8,
    /// 0 none, 1 Pulling, 2 Succeeded, 3 Failed.
    phase: u8,
    stale: bool,
}

#[derive(Arbitrary, Debug)]
struct Case {
    nodes: Vec<NodeDesc>,
    pods: Vec<PodDesc>,
    node_images: Vec<NiDesc>,
    parallelism: u8,
    percent: bool,
    policy: u8,
    never: bool,
    on_failure: bool,
    restart_limit: u8,
    deadline: Option<u8>,
    elapsed: u8,
    phase: u8,
}

fn t0() -> k8s_openapi::jiff::Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

fn broadcast(c: &Case) {
    let mut j = BroadcastJob {
        metadata: ObjectMeta {
            name: Some("jöb".into()),
            namespace: Some("ns".into()),
            uid: Some("u".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    j.spec.template.spec = Some(k8s_openapi::api::core::v1::PodSpec {
        restart_policy: Some(if c.on_failure { "OnFailure" } else { "Never" }.into()),
        ..Default::default()
    });
    j.spec.parallelism = Some(if c.percent {
        IntOrString::String(format!("{}%", c.parallelism % 120))
    } else {
        IntOrString::Int(i32::from(c.parallelism % 12))
    });
    j.spec.failure_policy.type_ = ["Continue", "FailFast", "Pause"][usize::from(c.policy % 3)].into();
    j.spec.failure_policy.restart_limit = i32::from(c.restart_limit % 4);
    if c.never {
        j.spec.completion_policy.type_ = "Never".into();
    } else {
        j.spec.completion_policy.active_deadline_seconds = c.deadline.map(i64::from);
    }
    j.apply_defaults();
    j.status = Some(BroadcastJobStatus {
        start_time: Some(Time(t0())),
        phase: ["", "running", "paused", "failed"][usize::from(c.phase % 4)].into(),
        ..Default::default()
    });
    let nodes: Vec<Node> = c
        .nodes
        .iter()
        .take(40)
        .enumerate()
        .map(|(i, d)| Node {
            metadata: ObjectMeta { name: Some(format!("nœud-{i}")), ..Default::default() },
            spec: Some(NodeSpec {
                unschedulable: Some(d.kind % 4 == 1),
                taints: (d.kind % 4 == 2).then(|| {
                    vec![Taint { key: "x".into(), effect: "NoSchedule".into(), ..Default::default() }]
                }),
                ..Default::default()
            }),
            status: Some(NodeStatus {
                allocatable: (d.kind % 4 != 3).then(|| [("pods".to_owned(), Quantity("10".into()))].into()),
                ..Default::default()
            }),
        })
        .collect();
    let table = NodeTable::from_nodes(&nodes).unwrap();
    let pods: Vec<_> = c
        .pods
        .iter()
        .take(60)
        .enumerate()
        .map(|(i, d)| {
            let mut p = broadcastjob::new_pod(
                &j,
                &format!("nœud-{}", d.node % 48),
                &format!("p{i}"),
                d.node % 2 == 0,
            );
            p.metadata.deletion_timestamp = d.terminating.then(|| Time(t0()));
            p.status = Some(PodStatus {
                phase: Some(["Pending", "Running", "Succeeded", "Failed"][usize::from(d.phase % 4)].into()),
                container_statuses: Some(vec![ContainerStatus {
                    restart_count: i32::from(d.restarts % 8),
                    ..Default::default()
                }]),
                ..Default::default()
            });
            p
        })
        .collect();
    let e = Expectations::default();
    let now = t0().checked_add(k8s_openapi::jiff::SignedDuration::from_secs(i64::from(c.elapsed))).unwrap();
    let input = broadcastjob::Input {
        job: &j,
        pods: (&pods).into(),
        nodes: &table,
        now,
        id_seed: 9,
        expectations: &e,
        bind_pods: false,
    };
    let Ok(plan) = broadcastjob::plan(&input) else { return };
    assert_eq!(plan, broadcastjob::plan(&input).unwrap(), "deterministic");
    let with_pod: BTreeSet<&str> = pods.iter().filter_map(|p| assigned_node(p.spec.as_ref())).collect();
    let mut created = BTreeSet::new();
    for a in &plan.actions {
        if let ActionKind::CreatePod { instance_id } = &a.kind {
            assert!(created.insert(instance_id.clone()), "two creates on {instance_id}");
            assert!(!with_pod.contains(instance_id.as_str()), "{instance_id} already has a pod");
            let n = table.get(instance_id).unwrap();
            assert!(!n.unschedulable && n.taints.is_empty(), "{instance_id} does not fit");
        }
    }
    if !created.is_empty() {
        let active = pods
            .iter()
            .filter(|p| {
                broadcastjob::classify(p, j.spec.failure_policy.restart_limit)
                    == broadcastjob::PodClass::Active
            })
            .count();
        let deleted = plan.count("DeletePod");
        let limit = broadcastjob::parallelism(&j, plan.status.desired).unwrap();
        assert!(
            active - deleted.min(active) + created.len() <= usize::try_from(limit).unwrap_or(0),
            "above parallelism"
        );
    }
    assert!(plan.status.active >= 0);
}

fn image_pull(c: &Case) {
    let mut j = ImagePullJob {
        metadata: ObjectMeta {
            name: Some("pull".into()),
            namespace: Some("ns".into()),
            uid: Some("u".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    j.spec.image = "quay.io/x/y:1".into();
    j.spec.parallelism = Some(IntOrString::Int(i32::from(c.parallelism % 12)));
    if c.never {
        j.spec.completion_policy.type_ = "Never".into();
    }
    j.apply_defaults();
    let mut other = j.clone();
    other.metadata.uid = Some("v".into());
    let pp = imagepulljob::tag_pull_policy(&j, 0, 300);
    let nis: Vec<NodeImage> = c
        .node_images
        .iter()
        .take(40)
        .enumerate()
        .map(|(i, d)| {
            let mut ni = NodeImage {
                metadata: ObjectMeta { name: Some(format!("ni-{i}")), ..Default::default() },
                ..Default::default()
            };
            let owner = match d.spec % 3 {
                1 => Some(&j),
                2 => Some(&other),
                _ => None,
            };
            if let Some(o) = owner {
                let spec =
                    imagepulljob::synced_image_spec(&ni, o, "quay.io/x/y", "1", &[], &pp, t0()).unwrap();
                ni.spec.images.insert("quay.io/x/y".into(), spec);
            }
            if d.phase % 4 != 0 {
                ni.status = Some(NodeImageStatus {
                    image_statuses: [(
                        "quay.io/x/y".to_owned(),
                        ImageStatus {
                            tags: vec![ImageTagStatus {
                                tag: "1".into(),
                                phase: ["", "Pulling", "Succeeded", "Failed"][usize::from(d.phase % 4)]
                                    .into(),
                                version: i64::from(d.stale),
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
    let input = imagepulljob::Input {
        job: &j,
        node_images: &nis,
        pods: &[],
        secrets: &[],
        daemon_namespace: "kruise-daemon-config",
        now: t0(),
        id_seed: 1,
        default_ttl_for_always: 300,
    };
    let plan = imagepulljob::plan(&input).unwrap();
    assert_eq!(plan, imagepulljob::plan(&input).unwrap(), "deterministic");
    let mut written = BTreeSet::new();
    for a in &plan.actions {
        if let ActionKind::ImagePullJob(ImagePullJobAction::WriteNodeImage { .. }) = &a.kind {
            let name = a.object.as_ref().unwrap().name.clone();
            let ni = nis.iter().find(|n| n.metadata.name.as_deref() == Some(name.as_str())).unwrap();
            let (state, _) = imagepulljob::node_state(ni, "quay.io/x/y", "1", "u", &[]);
            assert_eq!(state, imagepulljob::NodeState::NotSynced, "{name} was synced");
            assert!(written.insert(name));
        }
    }
    let s = &plan.status;
    let limit = imagepulljob::parallelism_limit(j.spec.parallelism.as_ref());
    assert!(written.is_empty() || s.active + i32::try_from(written.len()).unwrap() <= limit);
    assert!(s.active + s.succeeded + s.failed <= s.desired);
}

fuzz_target!(|c: Case| {
    broadcast(&c);
    image_pull(&c);
});
