//! Unit tests per BJ rule, the spec's worked example (§4) and property tests of the issue's
//! invariants (at most one pod per node per job, never above parallelism).

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::{
    Container, ContainerStatus, Node, NodeSpec, NodeStatus, Pod, PodSpec, PodStatus, PodTemplateSpec,
    ResourceRequirements, Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::BroadcastJob;
use kruise_api::defaults::Defaulting;
use kruise_api::keys;
use proptest::prelude::*;

use super::*;
use crate::plan::BroadcastJobReason as R;

fn t0() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}
fn at(secs: i64) -> Timestamp {
    t0().checked_add(SignedDuration::from_secs(secs)).unwrap()
}

fn job() -> BroadcastJob {
    let mut j = BroadcastJob {
        metadata: ObjectMeta {
            name: Some("job5".into()),
            namespace: Some("default".into()),
            uid: Some("12345".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    j.spec.template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some([("app".to_owned(), "bj".to_owned())].into()),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "c".into(),
                image: Some("busybox".into()),
                ..Default::default()
            }],
            restart_policy: Some("Never".into()),
            ..Default::default()
        }),
    };
    j.apply_defaults();
    j
}

fn node(name: &str) -> Node {
    Node {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        spec: Some(NodeSpec::default()),
        status: Some(NodeStatus {
            allocatable: Some(
                [("pods".to_owned(), Quantity("10".into())), ("cpu".to_owned(), Quantity("4".into()))].into(),
            ),
            ..Default::default()
        }),
    }
}

fn nodes(names: &[&str]) -> NodeTable {
    NodeTable::from_nodes(&names.iter().map(|n| node(n)).collect::<Vec<_>>()).unwrap()
}

/// A pod of `j` on `node` (bound by nodeName) in `phase`.
fn pod(j: &BroadcastJob, name: &str, node: &str, phase: &str) -> Pod {
    let mut p = new_pod(j, node, name, true);
    p.status = Some(PodStatus { phase: Some(phase.into()), ..Default::default() });
    p
}

struct Case {
    job: BroadcastJob,
    pods: Vec<Pod>,
    nodes: NodeTable,
    now: Timestamp,
}

impl Case {
    fn new(job: BroadcastJob, pods: Vec<Pod>, nodes: NodeTable) -> Self {
        Self { job, pods, nodes, now: at(100) }
    }
    fn plan(&self) -> Plan {
        let e = Expectations::default();
        plan(&Input {
            job: &self.job,
            pods: (&self.pods).into(),
            nodes: &self.nodes,
            now: self.now,
            id_seed: 7,
            expectations: &e,
            bind_pods: false,
        })
        .unwrap()
    }
}

fn created_nodes(p: &Plan) -> Vec<String> {
    p.actions
        .iter()
        .filter_map(|a| match &a.kind {
            ActionKind::CreatePod { instance_id } => Some(instance_id.clone()),
            _ => None,
        })
        .collect()
}

fn deleted(p: &Plan) -> Vec<String> {
    p.actions.iter().filter(|a| a.kind == ActionKind::DeletePod).filter_map(|a| a.pod.clone()).collect()
}

fn finished(mut j: BroadcastJob, type_: &str, done: Timestamp) -> BroadcastJob {
    let s = j.status.get_or_insert_with(Default::default);
    s.conditions.push(JobCondition { type_: type_.into(), status: "True".into(), ..Default::default() });
    s.completion_time = Some(Time(done));
    j
}

#[test]
fn bj_worked_example_failfast_fails_the_job() {
    let j = job();
    let pods = vec![
        pod(&j, "pod1node1", "node1", "Succeeded"),
        pod(&j, "pod2node2", "node2", "Succeeded"),
        pod(&j, "pod3node3", "node3", "Failed"),
    ];
    let p = Case::new(j, pods, nodes(&["node1", "node2", "node3"])).plan();
    let s = &p.status;
    assert_eq!((s.desired, s.succeeded, s.failed, s.active), (3, 2, 1, 0));
    assert_eq!(s.phase, "failed");
    assert_eq!(s.start_time, Some(Time(at(100))));
    assert_eq!(s.completion_time, Some(Time(at(100))));
    let c = &s.conditions[0];
    assert_eq!((c.type_.as_str(), c.status.as_str(), c.reason.as_str()), ("Failed", "True", "Failed"));
    assert_eq!(c.message, "failure policy is FailurePolicyTypeFailFast and failed pod is found");
    assert_eq!(p.count("UpdateStatus"), 1);
    assert!(created_nodes(&p).is_empty() && deleted(&p).is_empty());
    assert_eq!(p.requeue, None, "no TTL: no requeue");
}

#[test]
fn bj_worked_example_variant_continue_creates_on_the_missing_node() {
    let mut j = job();
    j.spec.failure_policy.type_ = "Continue".into();
    j.spec.parallelism = Some(IntOrString::Int(10));
    let pods = vec![pod(&j, "p1", "node1", "Succeeded"), pod(&j, "p3", "node3", "Failed")];
    let p = Case::new(j, pods, nodes(&["node1", "node2", "node3"])).plan();
    assert_eq!(created_nodes(&p), ["node2"]);
    let s = &p.status;
    assert_eq!((s.desired, s.succeeded, s.failed, s.active), (3, 1, 1, 1));
    assert_eq!(s.phase, "running");
    assert!(s.conditions.is_empty());
}

#[test]
fn bj_3_created_pods_carry_the_job_labels_and_owner() {
    let j = job();
    let p = new_pod(&j, "n1", "job5-abcde", false);
    let l = p.metadata.labels.as_ref().unwrap();
    assert_eq!(l[keys::BROADCASTJOB_NAME], "job5");
    assert_eq!(l[keys::BROADCASTJOB_CONTROLLER_UID], "12345");
    assert_eq!(l["app"], "bj");
    assert_eq!(p.metadata.generate_name.as_deref(), Some("job5-"));
    let o = &p.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (o.kind.as_str(), o.uid.as_str(), o.controller, o.block_owner_deletion),
        ("BroadcastJob", "12345", Some(true), Some(true))
    );
    assert!(owns(&j, &p));
}

#[test]
fn bj_11_finished_job_waits_for_ttl_then_is_deleted() {
    let mut j = finished(job(), "Complete", at(0));
    j.spec.completion_policy.ttl_seconds_after_finished = Some(60);
    let mut c = Case::new(j, vec![], nodes(&["n1"]));
    c.now = at(40);
    let p = c.plan();
    assert!(p.actions.is_empty(), "no status rewrite, no pods");
    assert_eq!(p.requeue.as_ref().map(|r| r.after), Some(Duration::from_secs(20)));
    c.now = at(60);
    let p = c.plan();
    assert_eq!(p.count("DeleteJob"), 1);
    assert_eq!(p.actions[0].object, Some(ObjectRef::new("BroadcastJob", "job5")));
    // No TTL: nothing at all.
    let c = Case::new(finished(job(), "Failed", at(0)), vec![], nodes(&["n1"]));
    let p = c.plan();
    assert!(p.actions.is_empty() && p.requeue.is_none());
}

#[test]
fn bj_11_never_jobs_are_never_finished() {
    let mut j = finished(job(), "Complete", at(0));
    j.spec.completion_policy.type_ = "Never".into();
    assert!(!is_finished(&j));
    let p = Case::new(j, vec![], nodes(&["n1"])).plan();
    assert_eq!(created_nodes(&p), ["n1"]);
}

#[test]
fn bj_12_start_time_phase_and_deadline_requeue() {
    let mut j = job();
    j.spec.completion_policy.active_deadline_seconds = Some(300);
    let p = Case::new(j.clone(), vec![], nodes(&["n1"])).plan();
    assert_eq!(p.status.start_time, Some(Time(at(100))));
    assert_eq!(p.status.phase, "running");
    assert_eq!(p.requeue.as_ref().map(|r| r.after), Some(Duration::from_secs(300)));
    assert_eq!(p.requeue.as_ref().map(|r| r.reason.kind()), Some("ActiveDeadline"));
    // Deviation: later passes wake up at the remaining time.
    j.status = Some(BroadcastJobStatus {
        start_time: Some(Time(at(0))),
        phase: "running".into(),
        ..Default::default()
    });
    let p = Case::new(j, vec![], nodes(&["n1"])).plan();
    assert_eq!(p.requeue.as_ref().map(|r| r.after), Some(Duration::from_secs(200)));
}

#[test]
fn bj_13_only_pods_with_labels_and_controller_ref_are_owned() {
    let j = job();
    let good = pod(&j, "a", "n1", "Running");
    let mut no_label = good.clone();
    no_label.metadata.labels.as_mut().unwrap().remove(keys::BROADCASTJOB_CONTROLLER_UID);
    let mut other_uid = good.clone();
    other_uid.metadata.owner_references.as_mut().unwrap()[0].uid = "x".into();
    let mut not_controller = good.clone();
    not_controller.metadata.owner_references.as_mut().unwrap()[0].controller = None;
    let mut other_ns = good.clone();
    other_ns.metadata.namespace = Some("kube-system".into());
    assert!(owns(&j, &good));
    for p in [&no_label, &other_uid, &not_controller, &other_ns] {
        assert!(!owns(&j, p));
    }
    let p = Case::new(j, vec![no_label, other_uid], nodes(&["n1"])).plan();
    assert_eq!(p.status.active, 1, "unowned pods do not count; n1 gets its own pod");
    assert_eq!(created_nodes(&p), ["n1"]);
}

#[test]
fn bj_13_duplicate_pods_on_a_node_last_one_wins_with_an_event() {
    let j = job();
    let pods = vec![pod(&j, "a", "n1", "Running"), pod(&j, "b", "n1", "Succeeded")];
    let p = Case::new(j, pods, nodes(&["n1"])).plan();
    assert!(p.events.contains(&Reason::BroadcastJob(R::DuplicatePodOnNode { node: "n1".into() })));
    // The last pod (Succeeded) is the node's: the job completes although `a` runs.
    assert_eq!(p.status.phase, "completed");
    assert_eq!(p.status.active, 1);
}

#[test]
fn bj_13_assigned_node_from_affinity_term() {
    let j = job();
    let mut p = new_pod(&j, "n2", "a", false);
    p.status = Some(PodStatus { phase: Some("Running".into()), ..Default::default() });
    let plan = Case::new(j, vec![p], nodes(&["n1", "n2"])).plan();
    assert_eq!(created_nodes(&plan), ["n1"], "n2 already has its pod through node affinity");
}

#[test]
fn bj_14_classification_and_restart_limit() {
    let j = job();
    let mut p = pod(&j, "a", "n1", "Running");
    assert_eq!(classify(&p, 0), PodClass::Active);
    p.metadata.deletion_timestamp = Some(Time(at(1)));
    assert_eq!(classify(&p, 0), PodClass::Ignored);
    p.status.as_mut().unwrap().phase = Some("Failed".into());
    assert_eq!(classify(&p, 0), PodClass::Failed, "terminal phases win over deletion");
    let mut p = pod(&j, "a", "n1", "Running");
    p.status.as_mut().unwrap().container_statuses =
        Some(vec![ContainerStatus { restart_count: 3, ..Default::default() }]);
    assert_eq!(classify(&p, 2), PodClass::Active, "Never restart policy: restarts never fail");
    p.spec.as_mut().unwrap().restart_policy = Some("OnFailure".into());
    assert_eq!(classify(&p, 2), PodClass::Failed);
    assert_eq!(classify(&p, 3), PodClass::Active, "exceed, not reach");
}

fn with_node(mut n: Node, f: impl FnOnce(&mut Node)) -> Node {
    f(&mut n);
    n
}

fn mock_fits(j: &BroadcastJob, n: &Node) -> Result<(), String> {
    let facts = NodeFacts::from_node(n, "n").unwrap();
    Fitness::of(j.spec.template.spec.as_ref().unwrap(), "spec.template.spec", true).unwrap().check(&facts)
}

#[test]
fn bj_15_selector_affinity_taints() {
    let mut j = job();
    let labelled = with_node(node("n"), |n| n.metadata.labels = Some([("disk".into(), "ssd".into())].into()));
    j.spec.template.spec.as_mut().unwrap().node_selector = Some([("disk".into(), "ssd".into())].into());
    assert!(mock_fits(&j, &labelled).is_ok());
    assert!(mock_fits(&j, &node("n")).is_err());
    let tainted = with_node(node("n"), |n| {
        n.spec.as_mut().unwrap().taints =
            Some(vec![Taint { key: "k".into(), effect: "NoSchedule".into(), ..Default::default() }])
    });
    let j = job();
    assert_eq!(mock_fits(&j, &tainted), Err("taint k:NoSchedule not tolerated".into()));
    let soft = with_node(node("n"), |n| {
        n.spec.as_mut().unwrap().taints =
            Some(vec![Taint { key: "k".into(), effect: "PreferNoSchedule".into(), ..Default::default() }])
    });
    assert!(mock_fits(&j, &soft).is_ok());
}

#[test]
fn bj_15_unschedulable_nodes_need_the_cordon_toleration() {
    let mut j = job();
    let cordoned = with_node(node("n"), |n| n.spec.as_mut().unwrap().unschedulable = Some(true));
    assert_eq!(mock_fits(&j, &cordoned), Err("node is unschedulable".into()));
    let p =
        Case::new(j.clone(), vec![], NodeTable::from_nodes(&[cordoned.clone(), node("ok")]).unwrap()).plan();
    assert_eq!(created_nodes(&p), ["ok"]);
    assert_eq!(p.held.len(), 1, "the cordoned node is held with its reason");
    assert_eq!(p.held[0].reason, Reason::BroadcastJob(R::NodeUnfit { why: "node is unschedulable".into() }));
    j.spec.template.spec.as_mut().unwrap().tolerations = Some(vec![Toleration {
        key: Some(taint_keys::UNSCHEDULABLE.into()),
        operator: Some("Exists".into()),
        effect: Some("NoSchedule".into()),
        ..Default::default()
    }]);
    assert!(mock_fits(&j, &cordoned).is_ok());
}

#[test]
fn bj_15_resources_and_allocatable_pods() {
    let mut j = job();
    let no_pods = with_node(node("n"), |n| {
        n.status.as_mut().unwrap().allocatable.as_mut().unwrap().remove("pods");
    });
    assert_eq!(mock_fits(&j, &no_pods), Err("node has no allocatable pods".into()));
    let c = &mut j.spec.template.spec.as_mut().unwrap().containers[0];
    c.resources = Some(ResourceRequirements {
        requests: Some([("cpu".into(), Quantity("4000m".into()))].into()),
        ..Default::default()
    });
    assert!(mock_fits(&j, &node("n")).is_ok(), "4000m == 4");
    j.spec.template.spec.as_mut().unwrap().containers[0].resources = Some(ResourceRequirements {
        requests: Some(
            [("cpu".into(), Quantity("5".into())), ("nvidia.com/gpu".into(), Quantity("1".into()))].into(),
        ),
        ..Default::default()
    });
    assert_eq!(mock_fits(&j, &node("n")), Err("insufficient cpu".into()));
    // A bad quantity is an error naming the field.
    j.spec.template.spec.as_mut().unwrap().containers[0].resources = Some(ResourceRequirements {
        requests: Some([("cpu".into(), Quantity("lots".into()))].into()),
        ..Default::default()
    });
    let e = plan(&Input {
        job: &j,
        pods: Pods::Slice(&[]),
        nodes: &nodes(&["n"]),
        now: t0(),
        id_seed: 0,
        expectations: &Expectations::default(),
        bind_pods: false,
    })
    .unwrap_err();
    let PlanError::InvalidSpec { path, .. } = e else { panic!("{e:?}") };
    assert_eq!(path.to_string(), "spec.template.spec.containers[0].resources.requests.cpu");
}

#[test]
fn bj_16_unfit_pods_are_deleted_and_counted_failed() {
    let mut j = job();
    j.spec.failure_policy.type_ = "Continue".into();
    j.spec.template.spec.as_mut().unwrap().node_selector = Some([("pool".into(), "a".into())].into());
    let mut running = pod(&j, "r", "n1", "Running");
    running.spec.as_mut().unwrap().node_selector = Some([("pool".into(), "a".into())].into());
    let mut deleting = running.clone();
    deleting.metadata.name = Some("d".into());
    deleting.spec.as_mut().unwrap().node_name = Some("n2".into());
    deleting.metadata.deletion_timestamp = Some(Time(at(1)));
    let p = Case::new(j, vec![running, deleting], nodes(&["n1", "n2"])).plan();
    assert_eq!(deleted(&p), ["r"]);
    assert_eq!(p.actions[0].reason.to_string(), "nodeSelector pool does not match");
    // Quirk: the deleted pod counts as failed; `d` stays desired (being deleted).
    assert_eq!((p.status.failed, p.status.active, p.status.desired), (1, 0, 1));
    assert!(created_nodes(&p).is_empty());
}

#[test]
fn bj_16_pods_of_removed_nodes_count_but_do_not_block() {
    let j = job();
    let pods = vec![pod(&j, "gone", "n9", "Running"), pod(&j, "ok", "n1", "Succeeded")];
    let p = Case::new(j, pods, nodes(&["n1"])).plan();
    assert_eq!(p.status.active, 1);
    assert_eq!(p.status.desired, 1);
    assert!(deleted(&p).is_empty());
    assert_eq!(p.status.phase, "completed");
}

#[test]
fn bj_18_failed_phase_only_refreshes_counters() {
    let mut j = job();
    j.status = Some(BroadcastJobStatus {
        phase: "failed".into(),
        start_time: Some(Time(at(0))),
        ..Default::default()
    });
    let p = Case::new(j, vec![], nodes(&["n1", "n2"])).plan();
    assert!(created_nodes(&p).is_empty());
    assert_eq!(p.status.desired, 2);
    assert_eq!(p.count("UpdateStatus"), 1);
}

#[test]
fn bj_18_paused_holds_every_node() {
    let mut j = job();
    j.spec.paused = true;
    let p = Case::new(j.clone(), vec![], nodes(&["n1", "n2"])).plan();
    assert_eq!(p.status.phase, "paused");
    assert!(created_nodes(&p).is_empty());
    assert_eq!(p.held.len(), 2);
    assert_eq!(p.held[0].reason, Reason::Paused);
    // Unpausing resumes with an event.
    j.spec.paused = false;
    j.status = Some(BroadcastJobStatus {
        phase: "paused".into(),
        start_time: Some(Time(at(0))),
        ..Default::default()
    });
    let p = Case::new(j, vec![], nodes(&["n1", "n2"])).plan();
    assert_eq!(p.status.phase, "running");
    assert!(p.events.contains(&Reason::BroadcastJob(R::Continue)));
    assert_eq!(created_nodes(&p), ["n1", "n2"]);
}

#[test]
fn bj_18_pause_policy_pauses_while_failed_pods_exist() {
    let mut j = job();
    j.spec.failure_policy.type_ = "Pause".into();
    let pods = vec![pod(&j, "f", "n1", "Failed")];
    let p = Case::new(j.clone(), pods.clone(), nodes(&["n1", "n2"])).plan();
    assert_eq!(p.status.phase, "paused");
    assert!(created_nodes(&p).is_empty());
    let kinds: Vec<&str> = p.actions.iter().map(|a| a.kind.name()).collect();
    assert_eq!(kinds, ["UpdateStatus"], "only the status is written, not spec.paused (quirk)");
    // Next pass: paused phase, spec not paused → running again → straight back to paused.
    j.status = Some(p.status.clone());
    let p2 = Case::new(j, pods, nodes(&["n1", "n2"])).plan();
    assert_eq!(p2.status.phase, "paused");
    assert_eq!(p2.count("UpdateStatus"), 0, "nothing changed");
}

#[test]
fn bj_18_deadline_fails_the_job() {
    let mut j = job();
    j.spec.completion_policy.active_deadline_seconds = Some(50);
    j.spec.completion_policy.ttl_seconds_after_finished = Some(30);
    j.status = Some(BroadcastJobStatus {
        phase: "running".into(),
        start_time: Some(Time(at(0))),
        ..Default::default()
    });
    let pods = vec![pod(&j, "r", "n1", "Running")];
    let p = Case::new(j.clone(), pods.clone(), nodes(&["n1", "n2"])).plan();
    assert_eq!(p.status.phase, "failed");
    assert_eq!(p.status.conditions[0].message, "Job default/job5 was active longer than specified deadline");
    assert_eq!(deleted(&p), ["r"]);
    // BJ-19: the deleted running pod counts as failed.
    assert_eq!((p.status.active, p.status.failed), (0, 1));
    assert!(created_nodes(&p).is_empty());
    assert_eq!(p.requeue.as_ref().map(|r| r.after), Some(Duration::from_secs(31)));
    // `Never` ignores the deadline.
    j.spec.completion_policy.type_ = "Never".into();
    let p = Case::new(j, pods, nodes(&["n1", "n2"])).plan();
    assert_eq!(p.status.phase, "running");
}

#[test]
fn bj_21_parallelism_absolute_and_percent() {
    let mut j = job();
    j.spec.parallelism = Some(IntOrString::Int(2));
    let pods = vec![pod(&j, "r", "n1", "Running")];
    let p = Case::new(j.clone(), pods.clone(), nodes(&["n1", "n2", "n3"])).plan();
    assert_eq!(created_nodes(&p), ["n2"]);
    assert_eq!((p.status.active, p.status.desired), (2, 3));
    assert_eq!(p.held.len(), 1);
    assert_eq!(p.held[0].reason.kind(), "Parallelism");
    j.spec.parallelism = Some(IntOrString::String("40%".into()));
    let p = Case::new(j.clone(), pods, nodes(&["n1", "n2", "n3", "n4", "n5"])).plan();
    assert_eq!(created_nodes(&p), ["n2"], "ceil(40% of 5) = 2");
    j.spec.parallelism = Some(IntOrString::String("many".into()));
    let e = plan(&Input {
        job: &j,
        pods: Pods::Slice(&[]),
        nodes: &nodes(&["n1"]),
        now: t0(),
        id_seed: 0,
        expectations: &Expectations::default(),
        bind_pods: false,
    })
    .unwrap_err();
    assert!(
        matches!(e, PlanError::BadIntOrPercent { ref path, .. } if path.to_string() == "spec.parallelism")
    );
}

#[test]
fn bj_21_too_many_active_pods_creates_nothing() {
    let mut j = job();
    j.spec.parallelism = Some(IntOrString::Int(1));
    let pods = vec![pod(&j, "a", "n1", "Running"), pod(&j, "b", "n2", "Running")];
    let p = Case::new(j, pods, nodes(&["n1", "n2", "n3"])).plan();
    assert!(created_nodes(&p).is_empty() && deleted(&p).is_empty());
    assert!(p.events.contains(&Reason::BroadcastJob(R::TooManyActivePods { active: 2, parallelism: 1 })));
}

#[test]
fn bj_21_pod_names_and_binding() {
    let j = job();
    let c = Case::new(j.clone(), vec![], nodes(&["n1", "n2"]));
    let p = c.plan();
    assert_eq!(p.actions[0].pod.as_deref(), Some(pod_name("job5", "n1", 7).as_str()));
    assert_ne!(p.actions[0].pod, p.actions[1].pod);
    let bound = new_pod(&j, "n1", "x", true);
    assert_eq!(bound.spec.as_ref().unwrap().node_name.as_deref(), Some("n1"));
    let aff = new_pod(&j, "n1", "x", false);
    assert_eq!(aff.spec.as_ref().unwrap().node_name, None);
    assert_eq!(assigned_node(aff.spec.as_ref()), Some("n1"));
}

#[test]
fn bj_22_completion_waits_for_every_desired_node() {
    let mut j = job();
    j.spec.completion_policy.ttl_seconds_after_finished = Some(0);
    let pods = vec![pod(&j, "a", "n1", "Succeeded"), pod(&j, "b", "n2", "Failed")];
    j.spec.failure_policy.type_ = "Continue".into();
    let p = Case::new(j.clone(), pods.clone(), nodes(&["n1", "n2"])).plan();
    assert_eq!(p.status.phase, "completed");
    assert_eq!(p.status.conditions[0].message, "Job completed, 1 pods succeeded, 1 pods failed");
    assert_eq!(p.status.conditions[0].reason, "Complete");
    assert_eq!(p.requeue.as_ref().map(|r| r.after), Some(Duration::from_secs(1)), "TTL 0 + 1 s");
    // A node still without a pod: this round creates it and cannot complete.
    let p = Case::new(j.clone(), pods.clone(), nodes(&["n1", "n2", "n3"])).plan();
    assert_eq!(p.status.phase, "running");
    assert_eq!(created_nodes(&p), ["n3"]);
    // Zero desired nodes never completes.
    let p = Case::new(j.clone(), vec![], nodes(&[])).plan();
    assert_eq!(p.status.phase, "running");
    // Never never completes.
    j.spec.completion_policy = Default::default();
    j.spec.completion_policy.type_ = "Never".into();
    let p = Case::new(j, pods, nodes(&["n1", "n2"])).plan();
    assert_eq!(p.status.phase, "running");
}

#[test]
fn bj_24_a_joining_node_gets_a_pod_and_a_leaving_node_keeps_counting() {
    let mut j = job();
    j.spec.completion_policy.type_ = "Never".into();
    let pods = vec![pod(&j, "a", "n1", "Succeeded")];
    let p = Case::new(j.clone(), pods.clone(), nodes(&["n1", "n2"])).plan();
    assert_eq!(created_nodes(&p), ["n2"]);
    let p = Case::new(j, pods, nodes(&["n2"])).plan();
    assert_eq!(p.status.succeeded, 1, "the removed node's pod still counts");
    assert!(deleted(&p).is_empty(), "left to pod GC");
}

#[test]
fn bj_10_outstanding_expectations_wait() {
    let j = job();
    let mut e = Expectations::default();
    e.expect_create("job5-x", t0());
    let p = plan(&Input {
        job: &j,
        pods: Pods::Slice(&[]),
        nodes: &nodes(&["n1"]),
        now: t0(),
        id_seed: 0,
        expectations: &e,
        bind_pods: false,
    })
    .unwrap();
    assert!(p.actions.is_empty());
    assert_eq!(p.events[0].kind(), "AwaitingExpectations");
}

#[test]
fn bj_plan_is_deterministic_and_idempotent_on_status() {
    let j = job();
    let c = Case::new(j.clone(), vec![], nodes(&["n1", "ノード"]));
    assert_eq!(c.plan(), c.plan());
    let mut j2 = j;
    let p = c.plan();
    j2.status = Some(p.status.clone());
    // With the created pods observed, a second pass writes nothing new.
    let pods: Vec<Pod> = p
        .actions
        .iter()
        .filter_map(|a| match &a.kind {
            ActionKind::CreatePod { instance_id } => {
                let mut pod = new_pod(&j2, instance_id, a.pod.as_deref().unwrap(), false);
                pod.status = Some(PodStatus { phase: Some("Pending".into()), ..Default::default() });
                Some(pod)
            }
            _ => None,
        })
        .collect();
    let p2 = Case::new(j2, pods, nodes(&["n1", "ノード"])).plan();
    assert!(p2.actions.is_empty(), "{:?}", p2.actions);
}

prop_compose! {
    fn arb_world()(
        n_nodes in 0usize..12,
        pods in proptest::collection::vec((0usize..14, 0usize..4), 0..16),
        par in proptest::option::of(prop_oneof![(0i32..8).prop_map(IntOrString::Int), (0u32..150).prop_map(|p| IntOrString::String(format!("{p}%")))]),
        policy in 0usize..3,
        never in any::<bool>(),
        cordon in proptest::collection::vec(any::<bool>(), 12),
    ) -> (BroadcastJob, Vec<Pod>, NodeTable) {
        let mut j = job();
        j.metadata.name = Some("jöb".into());
        j.spec.parallelism = par;
        j.spec.failure_policy.type_ = ["Continue", "FailFast", "Pause"][policy].into();
        if never { j.spec.completion_policy.type_ = "Never".into(); }
        let names: Vec<String> = (0..n_nodes).map(|i| format!("nöde-{i}")).collect();
        let ns: Vec<Node> = names.iter().enumerate().map(|(i, n)| with_node(node(n), |x| x.spec.as_mut().unwrap().unschedulable = Some(cordon[i]))).collect();
        let table = NodeTable::from_nodes(&ns).unwrap();
        let phases = ["Running", "Pending", "Succeeded", "Failed"];
        let pods = pods.into_iter().enumerate().map(|(i, (n, ph))| pod(&j, &format!("p{i}"), &format!("nöde-{n}"), phases[ph])).collect();
        (j, pods, table)
    }
}

proptest! {
    /// BJ-13: the plan is the same whether the pods come as a slice (in name order) or as the
    /// adapter's `PodTable`, which the planner reads without copying.
    #[test]
    fn bj_13_plan_from_a_table_equals_plan_from_a_slice((j, mut pods, table) in arb_world()) {
        pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let from_slice = Case { job: j.clone(), pods: pods.clone(), nodes: table.clone(), now: at(5) }.plan();
        let rows = crate::podtable::PodTable::from_pods(&j, pods.iter().cloned()).unwrap();
        let e = Expectations::default();
        let from_table = plan(&Input {
            job: &j,
            pods: Pods::Table(&rows),
            nodes: &table,
            now: at(5),
            id_seed: 7,
            expectations: &e,
            bind_pods: false,
        })
        .unwrap();
        prop_assert_eq!(from_table, from_slice);
    }

    /// Creates target only fitting nodes without a pod, at most once each, and never take the
    /// active count above `parallelism` (unless it already was, then nothing is created).
    #[test]
    fn bj_invariants_one_pod_per_node_and_parallelism((j, pods, table) in arb_world()) {
        let c = Case { job: j.clone(), pods: pods.clone(), nodes: table, now: at(5) };
        let p = c.plan();
        let created = created_nodes(&p);
        let mut uniq = created.clone();
        uniq.sort();
        uniq.dedup();
        prop_assert_eq!(uniq.len(), created.len(), "one create per node");
        let with_pod: std::collections::BTreeSet<&str> = pods.iter().filter_map(|p| assigned_node(p.spec.as_ref())).collect();
        for n in &created {
            prop_assert!(!with_pod.contains(n.as_str()), "node {} already has a pod", n);
            prop_assert!(!c.nodes.get(n).unwrap().unschedulable);
        }
        let before = pods.iter().filter(|p| classify(p, 0) == PodClass::Active).count() as i64;
        let deleted_active = deleted(&p).len() as i64;
        if !created.is_empty() {
            let limit = parallelism(&j, p.status.desired).unwrap() as i64;
            prop_assert!(before - deleted_active + created.len() as i64 <= limit.max(0));
        }
        prop_assert!(p.status.active >= 0);
        prop_assert_eq!(&p, &c.plan(), "deterministic");
    }
}

#[test]
fn bj_status_counts_serialise_always() {
    let v = serde_json::to_value(BroadcastJobStatus::default()).unwrap();
    for k in ["active", "succeeded", "failed", "desired", "phase"] {
        assert!(v.get(k).is_some(), "{k}");
    }
    let _ = BTreeMap::<String, String>::new();
}

proptest! {
    /// Extreme and absent values never panic: any parallelism, deadline, TTL and restart limit,
    /// absent pod specs and statuses, a stored status in any phase with or without times.
    #[test]
    fn bj_extreme_values_never_panic(
        par in proptest::option::of(any::<i32>()),
        ads in proptest::option::of(any::<i64>()),
        ttl in proptest::option::of(any::<i32>()),
        limit in any::<i32>(),
        phase in 0usize..5,
        started in proptest::option::of(-1_000_000i64..1_000_000),
        bare in any::<bool>(),
        finished_cond in any::<bool>(),
    ) {
        let mut j = job();
        j.spec.parallelism = par.map(IntOrString::Int);
        j.spec.completion_policy.active_deadline_seconds = ads;
        j.spec.completion_policy.ttl_seconds_after_finished = ttl;
        j.spec.failure_policy.restart_limit = limit;
        j.status = Some(BroadcastJobStatus {
            phase: ["", "running", "paused", "failed", "completed"][phase].into(),
            start_time: started.map(|s| Time(at(s))),
            completion_time: started.map(|s| Time(at(s))),
            ..Default::default()
        });
        if finished_cond {
            j = finished(j, "Complete", at(0));
        }
        let mut pods = vec![pod(&j, "a", "n1", "Running"), pod(&j, "b", "n2", "Failed")];
        if bare {
            pods[0].spec.as_mut().unwrap().containers.clear();
            pods[1].status = None;
        }
        let c = Case::new(j, pods, nodes(&["n1", "n2", "n3"]));
        let p = c.plan();
        prop_assert!(p.status.active >= 0);
        prop_assert!(p.count("CreatePod") <= 1);
    }
}
