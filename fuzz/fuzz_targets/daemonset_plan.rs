//! Fuzz target: the Advanced DaemonSet planner on arbitrary structured inputs. An `Arbitrary`
//! description of nodes (labels, taints), pods (node, revision, state) and a rolling-update
//! spec is mapped to valid Kubernetes types, then the invariants are asserted: never
//! panics; creates only on nodes that should run the pod (ADS-7), at most one per node and
//! never next to a live pod without surge (ADS-13); at most `burstReplicas` creates and deletes
//! (ADS-17); budget-driven replacements within `maxUnavailable` (ADS-22); nothing replaced on
//! nodes held by partition or the node selector (ADS-21); same input twice, or in another
//! order, gives the same plan.
#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{
    Container, Node, NodeSpec, Pod, PodCondition, PodSpec, PodStatus, PodTemplateSpec, Taint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::{DaemonSet, DaemonSetStatus};
use kruise_api::defaults::Defaulting;
use kruise_core::daemonset::{self, Input};
use kruise_core::nodetable::NodeTable;
use kruise_core::plan::{ActionKind, DaemonSetReason, Reason};
use kruise_core::revision::{revision_data, revision_hash};
use kruise_core::{Expectations, Features};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug, Clone, Copy)]
struct NodeDesc {
    /// 0: pool a, 1: pool b (not selected by the template), 2: NoSchedule taint, 3: NoExecute.
    kind: u8,
    canary: bool,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct PodDesc {
    node: u8,
    new_revision: bool,
    /// 0 ready, 1 not ready, 2 terminating, 3 failed, 4 ready recently.
    state: u8,
    created: u8,
}

#[derive(Arbitrary, Debug)]
struct Case {
    nodes: Vec<NodeDesc>,
    pods: Vec<PodDesc>,
    surge: bool,
    budget: u8,
    percent: bool,
    partition: Option<u8>,
    selector: bool,
    burst: u8,
    min_ready: u8,
    on_delete: bool,
    paused: bool,
    prune: bool,
    stored_desired: u8,
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn ds(image: &str, c: &Case) -> DaemonSet {
    let mut d = DaemonSet {
        metadata: ObjectMeta {
            name: Some("ds".into()),
            uid: Some("u".into()),
            generation: Some(1),
            ..Default::default()
        },
        ..Default::default()
    };
    d.spec.selector =
        Some(LabelSelector { match_labels: Some(labels(&[("app", "ds")])), match_expressions: None });
    d.spec.template = PodTemplateSpec {
        metadata: Some(ObjectMeta { labels: Some(labels(&[("app", "ds")])), ..Default::default() }),
        spec: Some(PodSpec {
            containers: vec![Container { name: "c".into(), image: Some(image.into()), ..Default::default() }],
            node_selector: Some(labels(&[("pool", "a")])),
            ..Default::default()
        }),
    };
    d.apply_defaults();
    let amount = |v: u8| {
        if c.percent {
            IntOrString::String(format!("{}%", v % 101))
        } else {
            IntOrString::Int(i32::from(v % 8))
        }
    };
    let ru = d.spec.update_strategy.rolling_update.get_or_insert_with(Default::default);
    if c.surge {
        ru.max_surge = Some(amount(c.budget.max(1)));
        ru.max_unavailable = Some(IntOrString::Int(0));
    } else {
        ru.max_unavailable = Some(amount(c.budget));
        ru.max_surge = Some(IntOrString::Int(0));
    }
    ru.partition = c.partition.map(|p| IntOrString::Int(i32::from(p % 20)));
    ru.paused = Some(c.paused);
    if c.selector {
        ru.selector =
            Some(LabelSelector { match_labels: Some(labels(&[("canary", "y")])), match_expressions: None });
    }
    if c.on_delete {
        d.spec.update_strategy.type_ = Some("OnDelete".into());
    }
    d.spec.min_ready_seconds = i32::from(c.min_ready % 60);
    d.spec.burst_replicas = Some(IntOrString::Int(i32::from(c.burst % 6) + 1));
    d.status = Some(DaemonSetStatus {
        desired_number_scheduled: i32::from(c.stored_desired % 20),
        ..Default::default()
    });
    d
}

fn revision(d: &DaemonSet, n: i64) -> (ControllerRevision, String) {
    let data = revision_data(&d.spec.template);
    let h = revision_hash(&data, 0);
    (daemonset::new_revision(d, data, &h, format!("ds-{h}"), n), h)
}

fn node(i: usize, n: NodeDesc) -> Node {
    let mut l = vec![("pool", if n.kind % 4 == 1 { "b" } else { "a" })];
    if n.canary {
        l.push(("canary", "y"));
    }
    let taint = |effect: &str| NodeSpec {
        taints: Some(vec![Taint { key: "x".into(), value: None, effect: effect.into(), time_added: None }]),
        ..Default::default()
    };
    Node {
        metadata: ObjectMeta {
            name: Some(format!("nœud-{i}")),
            labels: Some(labels(&l)),
            ..Default::default()
        },
        spec: match n.kind % 4 {
            2 => Some(taint("NoSchedule")),
            3 => Some(taint("NoExecute")),
            _ => None,
        },
        status: None,
    }
}

fn pod(i: usize, p: PodDesc, node: &str, hash: &str) -> Pod {
    let t0: k8s_openapi::jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let ready_since = if p.state % 5 == 4 {
        t0.checked_add(k8s_openapi::jiff::SignedDuration::from_secs(3590)).unwrap()
    } else {
        t0
    };
    let ready = matches!(p.state % 5, 0 | 4);
    Pod {
        metadata: ObjectMeta {
            name: Some(format!("p-{i}")),
            labels: Some(labels(&[("app", "ds"), ("controller-revision-hash", hash)])),
            owner_references: Some(vec![OwnerReference {
                api_version: "apps.kruise.io/v1beta1".into(),
                kind: "DaemonSet".into(),
                name: "ds".into(),
                uid: "u".into(),
                controller: Some(true),
                block_owner_deletion: None,
            }]),
            creation_timestamp: Some(Time(
                t0.checked_add(k8s_openapi::jiff::SignedDuration::from_secs(i64::from(p.created))).unwrap(),
            )),
            deletion_timestamp: (p.state % 5 == 2).then_some(Time(t0)),
            ..Default::default()
        },
        spec: Some(PodSpec { node_name: Some(node.to_owned()), ..Default::default() }),
        status: Some(PodStatus {
            phase: Some(if p.state % 5 == 3 { "Failed" } else { "Running" }.into()),
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                last_transition_time: Some(Time(ready_since)),
                ..Default::default()
            }]),
            ..Default::default()
        }),
    }
}

fuzz_target!(|c: Case| {
    let nodes_d: Vec<NodeDesc> = c.nodes.iter().copied().take(16).collect();
    let d = ds("img:2", &c);
    let (r_old, h_old) = revision(&ds("img:1", &c), 1);
    let (r_new, h_new) = revision(&d, 2);
    let nodes: Vec<Node> = nodes_d.iter().enumerate().map(|(i, n)| node(i, *n)).collect();
    let pods: Vec<Pod> = c
        .pods
        .iter()
        .take(24)
        .enumerate()
        .map(|(i, p)| {
            let target = usize::from(p.node) % (nodes.len() + 1);
            let name = if target == nodes.len() { "gone".to_owned() } else { format!("nœud-{target}") };
            pod(i, *p, &name, if p.new_revision { &h_new } else { &h_old })
        })
        .collect();
    let table = NodeTable::from_nodes(&nodes).expect("named nodes");
    let exp = Expectations::new();
    let backoff = BTreeMap::new();
    let features = Features { daemon_set_prune_ineligible_nodes: c.prune, ..Features::default() };
    let revisions = [r_old, r_new];
    let run = |pods: daemonset::Pods<'_>| {
        daemonset::plan(&Input {
            daemonset: &d,
            pods,
            nodes: &table,
            revisions: &revisions,
            now: "2026-01-01T01:00:00Z".parse().unwrap(),
            id_seed: 1,
            features,
            expectations: &exp,
            failed_pod_backoff: &backoff,
            bind_pods: false,
        })
        .expect("valid input plans")
    };
    let p = run((&pods).into());
    let mut rev = pods.clone();
    rev.reverse();
    assert_eq!(p, run((&rev).into()), "pod order changed the plan");
    assert_eq!(p, run((&pods).into()), "not deterministic");
    // The same pods from a PodTable (names unique: a table keeps one pod per name).
    let names: std::collections::BTreeSet<&str> =
        pods.iter().filter_map(|p| p.metadata.name.as_deref()).collect();
    if names.len() == pods.len() {
        let table = daemonset::PodTable::from_pods(&d, pods.iter().cloned()).expect("named pods");
        assert_eq!(p, run((&table).into()), "a PodTable gives the slice's plan");
    }

    let burst = usize::from(c.burst % 6) + 1;
    let creates: Vec<&str> = p
        .actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::CreatePod { .. }))
        .filter_map(|a| a.object.as_ref().map(|o| o.name.as_str()))
        .collect();
    let deletes: Vec<&str> = p
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::DeletePod)
        .filter_map(|a| a.pod.as_deref())
        .collect();
    assert!(
        creates.len() <= burst && deletes.len() <= burst,
        "burst {burst}: {} / {}",
        creates.len(),
        deletes.len()
    );
    let mut uniq = creates.clone();
    uniq.sort_unstable();
    uniq.dedup();
    assert_eq!(uniq.len(), creates.len(), "two creates on one node");
    for n in &creates {
        let i: usize = n.trim_start_matches("nœud-").parse().expect("created on a listed node");
        assert_eq!(nodes_d[i].kind % 4, 0, "created on an ineligible node {n}");
        if !c.surge {
            let live = pods.iter().any(|q| {
                q.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(*n)
                    && q.metadata.deletion_timestamp.is_none()
            });
            assert!(!live, "created next to a live pod without surge on {n}");
        }
    }
    let budget_replaced = p
        .actions
        .iter()
        .filter(|a| matches!(a.reason, Reason::DaemonSet(DaemonSetReason::Replace { .. })))
        .count();
    let desired = p.status.desired_number_scheduled;
    // A surge amount that is 0 (`0`, `0%`) leaves both budgets 0: the no-surge path.
    let surging = c.surge && if c.percent { c.budget.max(1) % 101 != 0 } else { c.budget.max(1) % 8 != 0 };
    let max_u = if c.surge {
        0
    } else if c.percent {
        (i32::from(c.budget % 101) * desired + 99) / 100
    } else {
        i32::from(c.budget % 8)
    };
    let max_u = if desired > 0 && max_u == 0 && !surging { 1 } else { max_u };
    assert!(budget_replaced as i32 <= max_u.max(0), "replaced {budget_replaced} > maxUnavailable {max_u}");
    for h in &p.held {
        if let (Some(pod), Reason::Partition { .. } | Reason::DaemonSet(DaemonSetReason::NotSelected)) =
            (&h.pod, &h.reason)
        {
            assert!(p.actions.iter().all(|a| a.pod.as_ref() != Some(pod)), "{pod} held yet acted on");
        }
    }
});
