//! Unit tests per ADS rule, the spec's worked example (§9), upstream bug replays and
//! property tests of the invariants.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{
    Container, Node, NodeSpec, Pod, PodCondition, PodReadinessGate, PodSpec, PodStatus, PodTemplateSpec,
    Taint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::common::{Lifecycle, LifecycleHook};
use kruise_api::apps::v1beta1::{DaemonSet, DaemonSetStatus, RollingUpdateDaemonSet};
use kruise_api::defaults::Defaulting;
use kruise_api::keys;
use proptest::prelude::*;

use super::*;
use crate::plan::DaemonSetReason as R;
use crate::revision::{revision_data, revision_hash};

fn t0() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}
fn at(secs: i64) -> Timestamp {
    t0().checked_add(SignedDuration::from_secs(secs)).unwrap()
}
const NOW: i64 = 3600;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn ds(image: &str) -> DaemonSet {
    let mut d = DaemonSet {
        metadata: ObjectMeta {
            name: Some("ds".into()),
            namespace: Some("default".into()),
            uid: Some("uid-ds".into()),
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
            ..Default::default()
        }),
    };
    d.apply_defaults();
    d
}

fn ru(d: &mut DaemonSet) -> &mut RollingUpdateDaemonSet {
    d.spec.update_strategy.rolling_update.get_or_insert_with(Default::default)
}

fn surge(d: &mut DaemonSet, s: IntOrString) {
    let r = ru(d);
    r.max_surge = Some(s);
    r.max_unavailable = Some(IntOrString::Int(0));
}

fn unavail(d: &mut DaemonSet, u: IntOrString) {
    let r = ru(d);
    r.max_unavailable = Some(u);
    r.max_surge = Some(IntOrString::Int(0));
}

/// The revision of `d`'s template (number `n`) and its hash.
fn rev(d: &DaemonSet, n: i64) -> (ControllerRevision, String) {
    let data = revision_data(&d.spec.template);
    let h = revision_hash(&data, 0);
    (new_revision(d, data, &h, format!("ds-{h}"), n), h)
}

fn node(name: &str) -> Node {
    Node { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() }
}
fn node_l(name: &str, l: &[(&str, &str)]) -> Node {
    let mut n = node(name);
    n.metadata.labels = Some(labels(l));
    n
}
fn node_t(name: &str, key: &str, effect: &str) -> Node {
    let mut n = node(name);
    n.spec = Some(NodeSpec {
        taints: Some(vec![Taint { key: key.into(), value: None, effect: effect.into(), time_added: None }]),
        ..Default::default()
    });
    n
}

/// A ready, running pod of `ds` on `node`, created at `created` (seconds after t0), ready
/// since t0.
fn pod(name: &str, node: &str, hash: &str, created: i64) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            labels: Some(labels(&[("app", "ds"), (keys::CONTROLLER_REVISION_HASH, hash)])),
            owner_references: Some(vec![OwnerReference {
                api_version: "apps.kruise.io/v1beta1".into(),
                kind: "DaemonSet".into(),
                name: "ds".into(),
                uid: "uid-ds".into(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            creation_timestamp: Some(Time(at(created))),
            ..Default::default()
        },
        spec: Some(PodSpec { node_name: Some(node.into()), ..Default::default() }),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: "True".into(),
                last_transition_time: Some(Time(t0())),
                ..Default::default()
            }]),
            ..Default::default()
        }),
    }
}

fn not_ready(mut p: Pod) -> Pod {
    p.status = Some(PodStatus { phase: Some("Pending".into()), ..Default::default() });
    p
}
fn ready_since(mut p: Pod, secs: i64) -> Pod {
    if let Some(c) = p.status.as_mut().and_then(|s| s.conditions.as_mut()) {
        c[0].last_transition_time = Some(Time(at(secs)));
    }
    p
}
fn terminating(mut p: Pod) -> Pod {
    p.metadata.deletion_timestamp = Some(Time(at(NOW - 1)));
    p
}
fn failed(mut p: Pod) -> Pod {
    p.status.get_or_insert_with(Default::default).phase = Some("Failed".into());
    p
}

/// One observed world.
#[derive(Debug, Clone)]
struct World {
    ds: DaemonSet,
    pods: Vec<Pod>,
    nodes: Vec<Node>,
    revisions: Vec<ControllerRevision>,
    now: Timestamp,
    backoff: BTreeMap<String, Timestamp>,
    features: Features,
}

impl World {
    fn new(ds: DaemonSet, nodes: Vec<Node>, pods: Vec<Pod>) -> Self {
        let revisions = vec![rev(&ds, 1).0];
        Self {
            ds,
            pods,
            nodes,
            revisions,
            now: at(NOW),
            backoff: BTreeMap::new(),
            features: Features::default(),
        }
    }
    fn plan(&self) -> Plan {
        self.try_plan().unwrap()
    }
    /// `f` of this world's planner input.
    fn with_input<R>(&self, f: impl FnOnce(&Input<'_>) -> R) -> Result<R, PlanError> {
        let table = NodeTable::from_nodes(&self.nodes)?;
        let exp = Expectations::new();
        Ok(f(&Input {
            daemonset: &self.ds,
            pods: (&self.pods).into(),
            nodes: &table,
            revisions: &self.revisions,
            now: self.now,
            id_seed: 7,
            features: self.features,
            expectations: &exp,
            failed_pod_backoff: &self.backoff,
            bind_pods: false,
        }))
    }
    /// The writes of plan `p` of this world.
    fn writes(&self, p: &Plan) -> Vec<crate::reconciler::PlannedWrite> {
        self.with_input(|i| super::reconcile::writes(i, p)).unwrap().unwrap()
    }
    /// Plans from the pod slice and, when the pod names are unique, from a [`PodTable`] of the
    /// same pods: the two input forms give the same plan (or the same error).
    fn try_plan(&self) -> Result<Plan, PlanError> {
        let p = self.with_input(plan)?;
        let names: BTreeSet<&str> = self.pods.iter().filter_map(|p| p.metadata.name.as_deref()).collect();
        if names.len() == self.pods.len() {
            let table = PodTable::from_pods(&self.ds, self.pods.iter().cloned()).unwrap();
            let from_table = self.with_input(|i| plan(&Input { pods: (&table).into(), ..*i }))?;
            assert_eq!(from_table, p, "the PodTable gives the slice's plan");
        }
        p
    }
}

fn nodes(names: &[&str]) -> Vec<Node> {
    names.iter().map(|n| node(n)).collect()
}

/// Nodes of the plan's `CreatePod` actions.
fn created(p: &Plan) -> Vec<String> {
    p.actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::CreatePod { .. }))
        .filter_map(|a| a.object.as_ref().map(|o| o.name.clone()))
        .collect()
}
/// Pods of the plan's `DeletePod` actions.
fn deleted(p: &Plan) -> Vec<String> {
    p.actions.iter().filter(|a| a.kind == ActionKind::DeletePod).filter_map(|a| a.pod.clone()).collect()
}
fn reason_of(p: &Plan, pod: &str) -> Option<Reason> {
    p.actions.iter().find(|a| a.pod.as_deref() == Some(pod)).map(|a| a.reason.clone())
}

/// The stored status of a DaemonSet whose `n` nodes all run an available pod at `hash`.
fn steady_status(n: i32, hash: &str) -> DaemonSetStatus {
    DaemonSetStatus {
        current_number_scheduled: n,
        desired_number_scheduled: n,
        number_ready: n,
        number_available: n,
        updated_number_scheduled: n,
        observed_generation: 1,
        update_revision: hash.into(),
        ..Default::default()
    }
}

// ---- ADS-2: pod predicates ----

#[test]
fn ads_2_available_is_strict_after_min_ready_seconds() {
    let p = ready_since(pod("p", "n", "h", 0), 100);
    let d = pods::read(&p, pods::UpdatedBy { hash: "h", generation: None }).unwrap();
    assert!(d.is_available(0, at(100)));
    assert!(!d.is_available(10, at(110)), "lastTransitionTime + minReadySeconds < now is strict");
    assert!(d.is_available(10, at(111)));
    assert_eq!(d.ready_remaining(10, at(105)), Some(Duration::from_secs(5)));
    let np = not_ready(pod("p", "n", "h", 0));
    let d = pods::read(&np, pods::UpdatedBy { hash: "h", generation: None }).unwrap();
    assert!(!d.is_available(0, at(100)));
}

#[test]
fn ads_2_updated_by_hash_or_template_generation() {
    let mut p = pod("p", "n", "old", 0);
    p.metadata.labels.as_mut().unwrap().insert(keys::POD_TEMPLATE_GENERATION.into(), "3".into());
    let by = |g| pods::UpdatedBy { hash: "new", generation: g };
    assert!(!pods::read(&p, by(None)).unwrap().updated);
    assert!(pods::read(&p, by(Some(3))).unwrap().updated);
    assert!(!pods::read(&p, pods::UpdatedBy { hash: "", generation: None }).unwrap().updated);
}

#[test]
fn ads_2_target_node_from_node_name_or_affinity_field() {
    let d = ds("img:1");
    let created = new_pod(&d, "node-a", "h", "ds-x", false);
    assert_eq!(target_node(&created), Some("node-a"));
    let bound = new_pod(&d, "node-b", "h", "ds-y", true);
    assert_eq!(target_node(&bound), Some("node-b"));
    assert_eq!(target_node(&Pod::default()), None);
}

// ---- ADS-9, ADS-10: history ----

#[test]
fn ads_9_creates_revision_when_none_matches() {
    let d = ds("img:1");
    let mut w = World::new(d.clone(), nodes(&["n1"]), vec![]);
    w.revisions.clear();
    let p = w.plan();
    let (_, h) = rev(&d, 1);
    let a = &p.actions[0];
    assert_eq!(a.kind, ActionKind::CreateRevision { number: 1, collision_count: 0 });
    assert_eq!(a.revision.as_deref(), Some(format!("ds-{h}").as_str()));
    assert_eq!(p.status.update_revision, h);
}

#[test]
fn ads_9_new_revision_number_follows_old_ones_and_bump() {
    let old = ds("img:1");
    let (mut r_old, _) = rev(&old, 4);
    r_old.revision = 4;
    let cur = ds("img:2");
    let (r_cur, _) = rev(&cur, 2);
    let mut w = World::new(cur, nodes(&["n1"]), vec![]);
    w.revisions = vec![r_old, r_cur.clone()];
    let p = w.plan();
    assert!(
        p.actions
            .iter()
            .any(|a| a.kind == ActionKind::UpdateRevision { number: 5 } && a.revision == r_cur.metadata.name)
    );
}

#[test]
fn ads_9_revision_without_hash_label_gets_its_name() {
    let d = ds("img:1");
    let (mut r, _) = rev(&d, 1);
    r.metadata.labels.as_mut().unwrap().remove(keys::CONTROLLER_REVISION_HASH);
    let mut w = World::new(d, nodes(&["n1"]), vec![]);
    w.revisions = vec![r.clone()];
    let p = w.plan();
    let name = r.metadata.name.unwrap();
    assert!(p.actions.iter().any(|a| a.kind
        == ActionKind::DaemonSet(crate::plan::DaemonSetAction::LabelRevision { hash: name.clone() })));
    assert_eq!(p.status.update_revision, name, "the pass's hash is the label, here the name");
}

#[test]
fn ads_9_duplicate_current_revisions_keep_highest_and_relabel_only_their_pods() {
    let d = ds("img:1");
    let (r1, h) = rev(&d, 1);
    let mut dup = r1.clone();
    dup.metadata.name = Some("ds-dup".into());
    dup.metadata.labels.as_mut().unwrap().insert(keys::CONTROLLER_REVISION_HASH.into(), "dup".into());
    dup.revision = 3;
    let pods = vec![pod("a", "n1", &h, 0), pod("b", "n2", "dup", 0), pod("c", "n3", "genuinely-old", 0)];
    let mut w = World::new(d, nodes(&["n1", "n2", "n3"]), pods);
    w.revisions = vec![r1.clone(), dup];
    let p = w.plan();
    // Kept: the highest number (ds-dup, hash "dup"); the other is deleted.
    assert!(p.actions.iter().any(|a| a.kind == ActionKind::DeleteRevision && a.revision == r1.metadata.name));
    let relabelled: Vec<_> = p
        .actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::PatchPod { .. }))
        .filter_map(|a| a.pod.clone())
        .collect();
    assert_eq!(relabelled, ["a"], "deviation §10 q5: the old pod c keeps its hash");
    assert_eq!(p.status.update_revision, "dup");
}

#[test]
fn ads_10_history_cleanup_skips_revisions_pods_use() {
    let mut d = ds("img:9");
    d.spec.revision_history_limit = Some(1);
    let (cur, h) = rev(&d, 9);
    let olds: Vec<(ControllerRevision, String)> = (1..=4).map(|i| rev(&ds(&format!("img:{i}")), i)).collect();
    let pods = vec![pod("a", "n1", &olds[0].1, 0), pod("b", "n2", &h, 0)];
    let mut w = World::new(d, nodes(&["n1", "n2"]), pods);
    w.revisions = olds.iter().map(|(r, _)| r.clone()).chain([cur]).collect();
    w.ds.spec.update_strategy.type_ = Some("OnDelete".into());
    w.ds.status = Some(steady_status(2, &h));
    let p = w.plan();
    let gone: Vec<_> = p
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::DeleteRevision)
        .map(|a| a.revision.clone().unwrap())
        .collect();
    // 4 old, keep 1 → delete 3, ascending, skipping revision 1 (pod a carries it).
    let names: Vec<_> = olds[1..].iter().map(|(r, _)| r.metadata.name.clone().unwrap()).collect();
    assert_eq!(gone, names);
    assert!(p.actions.iter().all(|a| a.reason != Reason::HistoryLimit { limit: 0 }));
}

// ---- ADS-11: pipeline ----

#[test]
fn ads_11_deleting_daemonset_does_nothing() {
    let mut w = World::new(ds("img:1"), nodes(&["n1"]), vec![]);
    w.ds.metadata.deletion_timestamp = Some(Time(t0()));
    let p = w.plan();
    assert!(p.actions.is_empty());
}

#[test]
fn ads_11_empty_selector_warns_and_stops() {
    let mut w = World::new(ds("img:1"), nodes(&["n1"]), vec![]);
    w.ds.spec.selector = Some(LabelSelector::default());
    let p = w.plan();
    assert!(p.actions.is_empty());
    assert_eq!(p.events, vec![Reason::DaemonSet(R::SelectingAll)]);
}

#[test]
fn ads_11_pending_expectations_write_status_only() {
    let w = World::new(ds("img:1"), nodes(&["n1"]), vec![]);
    let table = NodeTable::from_nodes(&w.nodes).unwrap();
    let mut exp = Expectations::new();
    exp.expect_create("ds-x", at(NOW - 1));
    let p = plan(&Input {
        daemonset: &w.ds,
        pods: (&w.pods).into(),
        nodes: &table,
        revisions: &w.revisions,
        now: w.now,
        id_seed: 1,
        features: Features::default(),
        expectations: &exp,
        failed_pod_backoff: &w.backoff,
        bind_pods: false,
    })
    .unwrap();
    assert!(created(&p).is_empty());
    assert_eq!(p.status.observed_generation, 0, "no observedGeneration bump");
    assert_eq!(p.count("UpdateStatus"), 1);
}

#[test]
fn ads_11_manage_creates_stop_the_pass_before_rolling_update() {
    let mut d = ds("img:2");
    unavail(&mut d, IntOrString::Int(5));
    let (_, h) = rev(&d, 2);
    let old = ds("img:1");
    let (r_old, h_old) = rev(&old, 1);
    let mut w = World::new(d, nodes(&["n1", "n2"]), vec![pod("a", "n1", &h_old, 0)]);
    w.revisions.push(r_old);
    w.ds.status = Some(steady_status(2, &h));
    let p = w.plan();
    assert_eq!(created(&p), ["n2"]);
    assert!(deleted(&p).is_empty(), "rolling update waits for the next pass");
    assert_eq!(p.status.observed_generation, 1, "stored value kept");
}

// ---- ADS-12, ADS-13: manage ----

#[test]
fn ads_12_oldest_first_bound_then_creation_then_name() {
    let mut unbound = pod("z-unbound", "n1", "h", 0);
    unbound.spec.as_mut().unwrap().node_name = None;
    unbound.spec = Some(new_pod(&ds("img:1"), "n1", "h", "x", false).spec.unwrap());
    let pods = [unbound, pod("b", "n1", "h", 5), pod("a", "n1", "h", 5), pod("c", "n1", "h", 1)];
    let read: Vec<_> =
        pods.iter().filter_map(|p| pods::read(p, pods::UpdatedBy { hash: "h", generation: None })).collect();
    let mut more = read.clone();
    let gone = pod("g", "gone", "h", 0);
    more.extend(pods::read(&gone, pods::UpdatedBy { hash: "h", generation: None }));
    let g = pods::group_by_nodes(more, &["n0", "n1"]);
    assert_eq!(g.ranges, [(0, 0), (0, 4)]);
    let order: Vec<_> = g.pods.iter().map(|p| p.name).collect();
    assert_eq!(order, ["c", "a", "b", "z-unbound"]);
    assert_eq!(g.unlisted["gone"].len(), 1);
}

#[test]
fn ads_13_creates_on_nodes_without_pod_in_name_order() {
    let w = World::new(ds("img:1"), nodes(&["node-5", "node-10", "node-1"]), vec![]);
    let p = w.plan();
    assert_eq!(created(&p), ["node-1", "node-10", "node-5"]);
    assert_eq!(reason_of(&p, &pod_name("ds", "node-1", 7)), Some(Reason::DaemonSet(R::NodeNeedsPod)));
}

#[test]
fn ads_13_extra_pods_deleted_keeping_the_oldest() {
    let d = ds("img:1");
    let (_, h) = rev(&d, 1);
    let w = World::new(d, nodes(&["n1"]), vec![pod("young", "n1", &h, 9), pod("old", "n1", &h, 1)]);
    let p = w.plan();
    assert_eq!(deleted(&p), ["young"]);
    assert_eq!(reason_of(&p, "young"), Some(Reason::DaemonSet(R::ExcessPod)));
}

#[test]
fn ads_13_no_surge_terminating_pod_blocks_creation() {
    let d = ds("img:1");
    let (_, h) = rev(&d, 1);
    let w = World::new(d, nodes(&["n1"]), vec![terminating(pod("a", "n1", &h, 0))]);
    assert!(w.plan().actions.iter().all(|a| !matches!(a.kind, ActionKind::CreatePod { .. })));
}

#[test]
fn ads_13_surge_creates_next_to_terminating_pod() {
    let mut d = ds("img:1");
    surge(&mut d, IntOrString::Int(1));
    let (_, h) = rev(&d, 1);
    let w = World::new(d, nodes(&["n1"]), vec![terminating(pod("a", "n1", &h, 0))]);
    assert_eq!(created(&w.plan()), ["n1"]);
}

#[test]
fn ads_13_pods_on_ineligible_nodes_are_deleted() {
    let mut d = ds("img:1");
    d.spec.template.spec.as_mut().unwrap().node_selector = Some(labels(&[("role", "edge")]));
    let (_, h) = rev(&d, 1);
    let w = World::new(
        d,
        vec![node_l("n1", &[("role", "edge")]), node("n2")],
        vec![pod("a", "n1", &h, 0), pod("b", "n2", &h, 0)],
    );
    let p = w.plan();
    assert_eq!(deleted(&p), ["b"]);
    assert!(matches!(reason_of(&p, "b"), Some(Reason::DaemonSet(R::NodeIneligible { .. }))));
}

#[test]
fn ads_7_no_schedule_taint_keeps_running_pod_and_counts_misscheduled() {
    let d = ds("img:1");
    let (_, h) = rev(&d, 1);
    let w = World::new(
        d,
        vec![
            node_t("n1", "dedicated", "NoSchedule"),
            node_t("n2", "dedicated", "NoExecute"),
            node_t("n3", "dedicated", "NoSchedule"),
        ],
        vec![pod("a", "n1", &h, 0), pod("b", "n2", &h, 0)],
    );
    let p = w.plan();
    assert_eq!(deleted(&p), ["b"], "NoExecute evicts; NoSchedule keeps");
    assert!(created(&p).is_empty(), "no new pod on a NoSchedule-tainted node");
    assert_eq!(p.status.number_misscheduled, 2);
    assert_eq!(p.status.desired_number_scheduled, 0);
}

#[test]
fn ads_7_cordoned_and_not_ready_nodes_still_run_pods() {
    let mut n1 = node("n1");
    n1.spec = Some(NodeSpec { unschedulable: Some(true), ..Default::default() });
    let n2 = node_t("n2", "node.kubernetes.io/not-ready", "NoExecute");
    let w = World::new(ds("img:1"), vec![n1, n2], vec![]);
    assert_eq!(created(&w.plan()), ["n1", "n2"]);
}

// ---- ADS-14..ADS-17 ----

#[test]
fn ads_14_unscheduled_orphans_deleted_bound_pods_on_gone_nodes_kept() {
    let d = ds("img:1");
    let (_, h) = rev(&d, 1);
    let mut orphan = pod("orphan", "gone", &h, 0);
    orphan.spec = Some(new_pod(&d, "gone", &h, "orphan", false).spec.unwrap());
    let bound = pod("bound", "gone-too", &h, 0);
    let w = World::new(d, nodes(&["n1"]), vec![orphan, bound, pod("a", "n1", &h, 0)]);
    let p = w.plan();
    assert_eq!(deleted(&p), ["orphan"]);
    assert_eq!(reason_of(&p, "orphan"), Some(Reason::DaemonSet(R::UnscheduledOrphan)));
}

#[test]
fn ads_15_progressive_partition_limits_creation() {
    let mut d = ds("img:1");
    ru(&mut d).partition = Some(IntOrString::Int(3));
    d.spec.scale_strategy =
        Some(kruise_api::apps::v1beta1::DaemonSetScaleStrategy { partitioned_scaling: true });
    d.status = Some(DaemonSetStatus { desired_number_scheduled: 5, ..Default::default() });
    let w = World::new(d, nodes(&["n1", "n2", "n3", "n4", "n5"]), vec![]);
    let p = w.plan();
    // desired 5, no new-pod nodes, partition 3 → maxCreate 2, first two by name.
    assert_eq!(created(&p), ["n1", "n2"]);
    assert_eq!(p.held.len(), 3);
    // Not progressive: all created.
    let mut w2 = w;
    w2.ds.spec.scale_strategy = None;
    assert_eq!(created(&w2.plan()).len(), 5);
}

#[test]
fn ads_16_failed_pod_deleted_unless_in_backoff() {
    let d = ds("img:1");
    let (_, h) = rev(&d, 1);
    let mut w =
        World::new(d, nodes(&["n1", "n2"]), vec![failed(pod("f", "n1", &h, 0)), pod("a", "n2", &h, 0)]);
    let p = w.plan();
    assert_eq!(deleted(&p), ["f"]);
    assert!(p.events.contains(&Reason::DaemonSet(R::FailedPod)));
    w.backoff.insert("n1".into(), at(NOW + 4));
    let p = w.plan();
    assert!(deleted(&p).is_empty());
    assert_eq!(p.held_reason("f"), Some(&Reason::DaemonSet(R::FailedPodBackoff { remaining: 4 })));
    assert_eq!(p.requeue.as_ref().map(|r| r.after), Some(Duration::from_secs(4)));
}

#[test]
fn ads_16_backoff_doubles_to_fifteen_minutes() {
    let mut d = None;
    let mut seen = vec![];
    for _ in 0..14 {
        let n = next_backoff(d);
        seen.push(n.as_secs());
        d = Some(n);
    }
    assert_eq!(&seen[..5], &[1, 2, 4, 8, 16]);
    assert_eq!(*seen.last().unwrap(), 900);
}

#[test]
fn ads_17_burst_limits_creates_and_holds_the_rest() {
    let mut d = ds("img:1");
    d.spec.burst_replicas = Some(IntOrString::Int(2));
    let w = World::new(d, nodes(&["a", "b", "c", "d"]), vec![]);
    let p = w.plan();
    assert_eq!(created(&p), ["a", "b"]);
    assert_eq!(p.held.len(), 2);
    assert!(p.held.iter().all(|h| h.reason == Reason::DaemonSet(R::BurstLimit { limit: 2 })));
}

#[test]
fn ads_17_percent_burst_on_first_pass_is_not_zero() {
    let mut d = ds("img:1");
    d.spec.burst_replicas = Some(IntOrString::String("50%".into()));
    let w = World::new(d, nodes(&["a", "b", "c", "d"]), vec![]);
    assert_eq!(created(&w.plan()), ["a", "b"], "deviation §10 q3: fresh desired count");
}

#[test]
fn ads_17_new_pod_shape() {
    let mut d = ds("img:1");
    ru(&mut d).rolling_update_type = Some("InPlaceIfPossible".into());
    d.metadata.annotations = Some(labels(&[(keys::DEPRECATED_DAEMONSET_TEMPLATE_GENERATION, "4")]));
    let p = new_pod(&d, "n1", "h1", "ds-abc", false);
    let l = p.metadata.labels.as_ref().unwrap();
    assert_eq!(l[keys::CONTROLLER_REVISION_HASH], "h1");
    assert_eq!(l[keys::POD_TEMPLATE_GENERATION], "4");
    assert_eq!(p.metadata.generate_name.as_deref(), Some("ds-"));
    let spec = p.spec.as_ref().unwrap();
    assert_eq!(spec.tolerations.as_ref().unwrap().len(), 6);
    assert!(
        spec.readiness_gates.as_ref().unwrap().iter().any(|g| g.condition_type == keys::INPLACE_UPDATE_READY)
    );
    assert_eq!(spec.node_name, None);
    let bound = new_pod(&d, "n1", "h1", "ds-abc", true);
    assert_eq!(
        bound.spec.as_ref().unwrap().scheduler_name.as_deref(),
        Some(keys::DAEMONSET_CONTROLLER_SCHEDULER)
    );
}

#[test]
fn ads_17_pod_names_are_deterministic_per_seed_and_node() {
    assert_eq!(pod_name("ds", "n1", 1), pod_name("ds", "n1", 1));
    assert_ne!(pod_name("ds", "n1", 1), pod_name("ds", "n2", 1));
    assert_ne!(pod_name("ds", "n1", 1), pod_name("ds", "n1", 2));
    assert!(pod_name(&"ü".repeat(80), "n", 0).len() <= 63);
}

#[test]
fn ads_28_hooked_pods_go_to_preparing_delete_then_wait() {
    let mut d = ds("img:1");
    d.spec.template.spec.as_mut().unwrap().node_selector = Some(labels(&[("x", "y")]));
    d.spec.lifecycle = Some(Lifecycle {
        pre_delete: Some(LifecycleHook { labels_handler: labels(&[("hold", "true")]), ..Default::default() }),
        ..Default::default()
    });
    let (_, h) = rev(&d, 1);
    let mut hooked = pod("a", "n1", &h, 0);
    hooked.metadata.labels.as_mut().unwrap().insert("hold".into(), "true".into());
    let w = World::new(d.clone(), nodes(&["n1"]), vec![hooked.clone()]);
    let p = w.plan();
    assert!(deleted(&p).is_empty());
    assert!(p.actions.iter().any(|a| matches!(&a.kind, ActionKind::PatchPod { patch }
        if patch.labels.get(keys::LIFECYCLE_STATE) == Some(&Some("PreparingDelete".into())))));
    // markPodNotReady: with the hook's flag and the KruisePodReady gate, the condition goes False.
    let mut marked = d.clone();
    marked.spec.lifecycle.as_mut().unwrap().pre_delete.as_mut().unwrap().mark_pod_not_ready = true;
    let mut gated = hooked.clone();
    gated.spec.as_mut().unwrap().readiness_gates =
        Some(vec![PodReadinessGate { condition_type: keys::KRUISE_POD_READY.into() }]);
    let p = World::new(marked, nodes(&["n1"]), vec![gated]).plan();
    assert!(p.actions.iter().any(|a| matches!(&a.kind, ActionKind::UpdatePodStatus { condition }
        if condition.type_ == keys::KRUISE_POD_READY && condition.status == "False")));
    // Already PreparingDelete and still hooked: left alone.
    hooked.metadata.labels.as_mut().unwrap().insert(keys::LIFECYCLE_STATE.into(), "PreparingDelete".into());
    let w = World::new(d.clone(), nodes(&["n1"]), vec![hooked.clone()]);
    let p = w.plan();
    assert!(deleted(&p).is_empty());
    assert_eq!(p.held_reason("a"), Some(&Reason::LifecycleHook { hook: "preDelete" }));
    // Hook released: deleted.
    hooked.metadata.labels.as_mut().unwrap().remove("hold");
    let w = World::new(d, nodes(&["n1"]), vec![hooked]);
    assert_eq!(deleted(&w.plan()), ["a"]);
}

// ---- ADS-19..ADS-24: rolling update ----

/// `n` nodes `n1..`, each with an available old pod `p<i>`; the DaemonSet at `img:2`.
fn rollout(n: usize, tweak: impl Fn(&mut DaemonSet)) -> (World, String, String) {
    let old = ds("img:1");
    let (r_old, h_old) = rev(&old, 1);
    let mut d = ds("img:2");
    tweak(&mut d);
    let (r_new, h_new) = rev(&d, 2);
    let names: Vec<String> = (1..=n).map(|i| format!("n{i}")).collect();
    let pods =
        names.iter().enumerate().map(|(i, nm)| pod(&format!("p{}", i + 1), nm, &h_old, i as i64)).collect();
    let mut w = World::new(d, names.iter().map(|n| node(n)).collect(), pods);
    w.revisions = vec![r_old, r_new];
    w.ds.status = Some(steady_status(n as i32, &h_old));
    (w, h_old, h_new)
}

#[test]
fn ads_19_budget_rounding() {
    let (w, ..) = rollout(5, |d| unavail(d, IntOrString::String("30%".into())));
    assert_eq!(deleted(&w.plan()).len(), 2, "5 nodes, 30% → 2 (rounded up)");
    let (w, ..) = rollout(3, |d| unavail(d, IntOrString::String("50%".into())));
    assert_eq!(deleted(&w.plan()).len(), 2);
    let (w, ..) = rollout(2, |d| surge(d, IntOrString::String("50%".into())));
    assert_eq!(created(&w.plan()).len(), 1);
    let (w, ..) = rollout(2, |d| {
        let r = ru(d);
        r.max_surge = Some(IntOrString::Int(0));
        r.max_unavailable = Some(IntOrString::Int(0));
    });
    assert_eq!(deleted(&w.plan()).len(), 1, "both zero → maxUnavailable 1");
}

#[test]
fn ads_19_only_one_budget_set_reads_the_other_as_zero() {
    let (w, ..) = rollout(3, |d| {
        let r = ru(d);
        r.max_surge = None;
        r.max_unavailable = Some(IntOrString::Int(2));
    });
    assert_eq!(deleted(&w.plan()).len(), 2);
    let (w, ..) = rollout(3, |d| {
        let r = ru(d);
        r.max_surge = Some(IntOrString::Int(1));
        r.max_unavailable = None;
    });
    assert_eq!(created(&w.plan()).len(), 1);
    let (w, ..) = rollout(3, |d| ru(d).max_surge = Some(IntOrString::String("x%".into())));
    let err = w.try_plan().unwrap_err();
    assert!(
        matches!(err, PlanError::BadIntOrPercent { ref path, .. } if path.to_string() == "spec.updateStrategy.rollingUpdate.maxSurge")
    );
}

#[test]
fn ads_20_two_updated_pods_make_a_node_not_ok() {
    let pods = [pod("a", "n", "h", 0), pod("b", "n", "h", 1)];
    let read: Vec<_> =
        pods.iter().filter_map(|p| pods::read(p, pods::UpdatedBy { hash: "h", generation: None })).collect();
    let s = update::classify(&read);
    assert!(!s.ok);
    let pods = [pod("a", "n", "h", 0), pod("b", "n", "x", 1), terminating(pod("c", "n", "x", 2))];
    let read: Vec<_> =
        pods.iter().filter_map(|p| pods::read(p, pods::UpdatedBy { hash: "h", generation: None })).collect();
    let s = update::classify(&read);
    assert!(s.ok);
    assert_eq!((s.new.map(|p| p.name), s.old.map(|p| p.name)), (Some("a"), Some("b")));
}

#[test]
fn ads_21_partition_updates_highest_names_first() {
    let (w, ..) = rollout(5, |d| {
        unavail(d, IntOrString::Int(5));
        ru(d).partition = Some(IntOrString::Int(3));
    });
    let p = w.plan();
    assert_eq!(deleted(&p), ["p5", "p4"]);
    assert_eq!(p.held_reason("p1"), Some(&Reason::Partition { partition: 3 }));
}

#[test]
fn ads_21_percent_partition_rounds_down_against_stored_desired() {
    let (w, ..) = rollout(5, |d| {
        unavail(d, IntOrString::Int(5));
        ru(d).partition = Some(IntOrString::String("50%".into()));
    });
    // 50% of 5 = 2.5 → 2 keep the old revision → 3 updated.
    assert_eq!(deleted(&w.plan()), ["p5", "p4", "p3"]);
}

#[test]
fn ads_21_selector_limits_update_to_matching_nodes() {
    let (mut w, ..) = rollout(3, |d| {
        unavail(d, IntOrString::Int(3));
        ru(d).selector =
            Some(LabelSelector { match_labels: Some(labels(&[("canary", "y")])), match_expressions: None });
    });
    w.nodes[1] = node_l("n2", &[("canary", "y")]);
    let p = w.plan();
    assert_eq!(deleted(&p), ["p2"]);
    assert_eq!(p.held_reason("p1"), Some(&Reason::DaemonSet(R::NotSelected)));
}

#[test]
fn ads_22_unavailable_old_pods_replaced_outside_the_budget() {
    let (mut w, ..) = rollout(3, |d| unavail(d, IntOrString::Int(1)));
    w.pods[0] = not_ready(w.pods[0].clone());
    let p = w.plan();
    // Walk n3, n2, n1: p3 and p2 are candidates, p1 (not ready) an allowed replacement
    // that does not consume the budget; budget 1 → p3.
    assert_eq!(deleted(&p), ["p1", "p3"]);
}

#[test]
fn ads_22_unavailable_new_pod_consumes_budget() {
    let (mut w, _, h_new) = rollout(3, |d| unavail(d, IntOrString::Int(1)));
    w.pods[2] = not_ready(pod("q3", "n3", &h_new, 10));
    let p = w.plan();
    assert!(deleted(&p).is_empty());
    assert_eq!(p.held_reason("p2"), Some(&Reason::MaxUnavailable { unavailable: 1, limit: 1 }));
}

#[test]
fn ads_23_surge_waits_for_available_new_pod_then_deletes_old() {
    let (mut w, h_old, h_new) = rollout(2, |d| surge(d, IntOrString::Int(1)));
    w.pods.push(not_ready(pod("q2", "n2", &h_new, 10)));
    let p = w.plan();
    assert!(created(&p).is_empty() && deleted(&p).is_empty());
    assert_eq!(p.held_reason("p2"), Some(&Reason::DaemonSet(R::WaitingForNewPod)));
    assert_eq!(p.held_reason("p1"), Some(&Reason::DaemonSet(R::MaxSurge { surge: 1, limit: 1 })));
    w.pods[2] = pod("q2", "n2", &h_new, 10);
    let p = w.plan();
    assert_eq!(deleted(&p), ["p2"], "manage deletes the old pod once the new one is available");
    let _ = h_old;
}

#[test]
fn ads_23_no_surge_pod_on_a_node_that_should_not_run_one() {
    let (mut w, ..) = rollout(2, |d| surge(d, IntOrString::Int(2)));
    w.nodes[0] = node_t("n1", "dedicated", "NoSchedule");
    w.pods[0] = not_ready(w.pods[0].clone());
    let p = w.plan();
    assert_eq!(created(&p), ["n2"], "n1 keeps its pod (NoSchedule) but gets no surge pod");
    assert!(matches!(p.held_reason("p1"), Some(Reason::DaemonSet(R::NodeIneligible { .. }))));
}

#[test]
fn ads_24_in_place_if_possible_updates_image_in_place() {
    let (mut w, ..) = rollout(2, |d| {
        unavail(d, IntOrString::Int(1));
        ru(d).rolling_update_type = Some("InPlaceIfPossible".into());
    });
    for p in &mut w.pods {
        p.spec.as_mut().unwrap().readiness_gates =
            Some(vec![PodReadinessGate { condition_type: keys::INPLACE_UPDATE_READY.into() }]);
    }
    let p = w.plan();
    let a: Vec<_> = p.actions.iter().filter(|a| matches!(a.kind, ActionKind::UpdateInPlace { .. })).collect();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].pod.as_deref(), Some("p2"));
    assert!(deleted(&p).is_empty());
    // Without the readiness gate the pod is recreated.
    for p in &mut w.pods {
        p.spec.as_mut().unwrap().readiness_gates = None;
    }
    assert_eq!(deleted(&w.plan()), ["p2"]);
}

/// Issue 12 items 7 and 8 for DaemonSets (ADS-24): the in-place update is a status patch
/// (`InPlaceUpdateReady=False`) then a patch of only what changes, chained (only the first
/// tests the cached resourceVersion): a field the typed pod does not know survives, and a pod whose image moved
/// meanwhile is not overwritten.
#[test]
fn ads_24_in_place_writes_patch_only_what_changes_and_chain() {
    use crate::write::{ApiWrite, Subresource, json_patch};
    let (mut w, ..) = rollout(2, |d| {
        unavail(d, IntOrString::Int(1));
        ru(d).rolling_update_type = Some("InPlaceIfPossible".into());
    });
    for p in &mut w.pods {
        let spec = p.spec.as_mut().unwrap();
        spec.readiness_gates =
            Some(vec![PodReadinessGate { condition_type: keys::INPLACE_UPDATE_READY.into() }]);
        spec.containers =
            vec![Container { name: "c".into(), image: Some("img:1".into()), ..Default::default() }];
        p.metadata.uid = Some(format!("uid-{}", p.metadata.name.as_deref().unwrap()));
        p.metadata.resource_version = Some("4".into());
    }
    let p = w.plan();
    let writes = w.writes(&p);
    let in_place: Vec<_> = writes.iter().filter(|x| x.name() == "UpdateInPlace").collect();
    assert_eq!(in_place.len(), 2, "status patch, then the pod patch");
    // Every write to p2 (the refresh's condition first, if any), in plan order.
    let ws: Vec<_> = writes.iter().filter(|x| x.pod() == Some("p2")).collect();
    let p2 = w.pods.iter().find(|x| x.metadata.name.as_deref() == Some("p2")).unwrap();
    let mut server = serde_json::to_value(p2).unwrap();
    server["spec"]["containers"][0]["futureField"] = serde_json::json!(1);
    let mut moved = server.clone();
    for (i, x) in ws.iter().enumerate() {
        let ApiWrite::JsonPatch { patch, subresource, .. } = &x.write else { panic!("{:?}", x.write) };
        assert!(i == 0 || !patch.to_string().contains("resourceVersion"), "chained: {patch}");
        let mut next = server.clone();
        json_patch::apply(&mut next, patch).unwrap();
        if *subresource == Subresource::Status {
            server["status"] = next["status"].take();
        } else {
            next["status"] = server["status"].take();
            server = next;
            let paths: Vec<&str> =
                patch.as_array().unwrap().iter().filter_map(|o| o["path"].as_str()).collect();
            assert!(!paths.iter().any(|p| p.starts_with("/status")), "{paths:?}");
            moved["spec"]["containers"][0]["image"] = serde_json::json!("other:9");
            assert!(json_patch::apply(&mut moved, patch).unwrap_err().test_failed);
        }
    }
    assert_eq!(server["spec"]["containers"][0]["image"], "img:2");
    assert_eq!(server["spec"]["containers"][0]["futureField"], 1);
    let conds = server["status"]["conditions"].as_array().unwrap();
    assert!(conds.iter().any(|c| c["type"] == keys::INPLACE_UPDATE_READY && c["status"] == "False"));
}

#[test]
fn ads_24_non_image_change_is_recreated() {
    let (mut w, ..) = rollout(1, |d| {
        unavail(d, IntOrString::Int(1));
        ru(d).rolling_update_type = Some("InPlaceIfPossible".into());
        d.spec.template.spec.as_mut().unwrap().containers[0].args = Some(vec!["x".into()]);
    });
    w.pods[0].spec.as_mut().unwrap().readiness_gates =
        Some(vec![PodReadinessGate { condition_type: keys::INPLACE_UPDATE_READY.into() }]);
    assert_eq!(deleted(&w.plan()), ["p1"]);
}

/// ADS-24, decided per source revision (the template diff is computed once per revision,
/// not per pod): in one pass, pods of a revision that differs from the new one only by image
/// are updated in place, and pods of a revision that also differs by args are recreated.
#[test]
fn ads_24_in_place_is_decided_per_source_revision() {
    let (mut w, _, h_new) = rollout(4, |d| {
        unavail(d, IntOrString::Int(4));
        ru(d).rolling_update_type = Some("InPlaceIfPossible".into());
    });
    // A third revision: old image and different args (not changeable in place to the new one).
    let mut other = ds("img:1");
    other.spec.template.spec.as_mut().unwrap().containers[0].args = Some(vec!["x".into()]);
    let (r_other, h_other) = rev(&other, 3);
    w.revisions.push(r_other);
    assert_ne!(h_other, h_new);
    for (i, p) in w.pods.iter_mut().enumerate() {
        p.spec.as_mut().unwrap().readiness_gates =
            Some(vec![PodReadinessGate { condition_type: keys::INPLACE_UPDATE_READY.into() }]);
        if i % 2 == 1 {
            p.metadata
                .labels
                .as_mut()
                .unwrap()
                .insert(keys::CONTROLLER_REVISION_HASH.into(), h_other.clone());
        }
    }
    let p = w.plan();
    let mut in_place: Vec<&str> = p
        .actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::UpdateInPlace { .. }))
        .filter_map(|a| a.pod.as_deref())
        .collect();
    in_place.sort_unstable();
    let mut recreated = deleted(&p);
    recreated.sort_unstable();
    assert_eq!(in_place, ["p1", "p3"], "the image-only revision");
    assert_eq!(recreated, ["p2", "p4"], "the revision whose args differ too");
}

#[test]
fn ads_25_on_delete_holds_old_pods() {
    let (mut w, ..) = rollout(2, |_| {});
    w.ds.spec.update_strategy.type_ = Some("OnDelete".into());
    let p = w.plan();
    assert!(deleted(&p).is_empty());
    assert_eq!(p.held_reason("p1"), Some(&Reason::OnDelete));
}

#[test]
fn ads_26_paused_stops_updates_but_not_creation() {
    let (mut w, ..) = rollout(2, |d| ru(d).paused = Some(true));
    let p = w.plan();
    assert!(deleted(&p).is_empty());
    assert_eq!(p.held_reason("p1"), Some(&Reason::Paused));
    w.nodes.push(node("n3"));
    assert_eq!(created(&w.plan()), ["n3"]);
}

#[test]
fn ads_27_in_place_ready_condition_set_once_complete() {
    let (mut w, _, h_new) = rollout(1, |d| ru(d).paused = Some(true));
    let mut p = pod("p1", "n1", &h_new, 0);
    p.spec.as_mut().unwrap().readiness_gates =
        Some(vec![PodReadinessGate { condition_type: keys::INPLACE_UPDATE_READY.into() }]);
    p.status.as_mut().unwrap().conditions.as_mut().unwrap().push(PodCondition {
        type_: keys::INPLACE_UPDATE_READY.into(),
        status: "False".into(),
        ..Default::default()
    });
    w.pods = vec![p];
    let plan = w.plan();
    assert!(plan.actions.iter().any(|a| matches!(&a.kind, ActionKind::UpdatePodStatus { condition }
        if condition.type_ == keys::INPLACE_UPDATE_READY && condition.status == "True")));
    assert_eq!(plan.status.number_available, 0, "ADS-29 statusAvailable excludes it");
    // A new pod with the gate and no condition gets it True.
    let mut fresh = pod("p1", "n1", &h_new, 0);
    fresh.spec.as_mut().unwrap().readiness_gates =
        Some(vec![PodReadinessGate { condition_type: keys::INPLACE_UPDATE_READY.into() }]);
    w.pods = vec![fresh];
    assert_eq!(w.plan().count("UpdatePodStatus"), 1);
}

// ---- ADS-29..ADS-31: status ----

#[test]
fn ads_29_counts_by_oldest_pod_per_node() {
    let (mut w, _, h_new) = rollout(3, |d| surge(d, IntOrString::Int(1)));
    w.pods.push(pod("q1", "n1", &h_new, 10));
    w.pods[1] = not_ready(w.pods[1].clone());
    let p = w.plan();
    let s = &p.status;
    assert_eq!((s.desired_number_scheduled, s.current_number_scheduled), (3, 3));
    assert_eq!((s.number_ready, s.number_available, s.number_unavailable), (2, 2, 1));
    assert_eq!(s.updated_number_scheduled, 0, "the old pod is the oldest on n1");
    assert_eq!(s.update_revision, h_new);
}

#[test]
fn ads_30_status_write_skipped_when_unchanged() {
    let d = ds("img:1");
    let (_, h) = rev(&d, 1);
    let mut w = World::new(d, nodes(&["n1"]), vec![pod("a", "n1", &h, 0)]);
    w.ds.status = Some(steady_status(1, &h));
    let p = w.plan();
    assert!(p.actions.is_empty(), "{:?}", p.actions);
    w.ds.metadata.generation = Some(2);
    let p = w.plan();
    assert_eq!(p.count("UpdateStatus"), 1);
    assert_eq!(p.status.observed_generation, 2);
}

#[test]
fn ads_31_requeue_for_min_ready_seconds_status_resync() {
    let mut d = ds("img:1");
    d.spec.min_ready_seconds = 30;
    let (_, h) = rev(&d, 1);
    let w = World::new(d, nodes(&["n1"]), vec![ready_since(pod("a", "n1", &h, 0), NOW - 10)]);
    let p = w.plan();
    assert_eq!(p.requeue.as_ref().map(|r| r.after), Some(Duration::from_secs(30)));
}

// ---- Reconciler ----

#[test]
fn ads_17_reconciler_writes_are_guarded() {
    use crate::reconciler::{Context, Reconciler, World as RWorld};
    use crate::write::ApiWrite;
    let d = ds("img:1");
    let (r, h) = rev(&d, 1);
    let mut extra = pod("b", "n1", &h, 9);
    extra.metadata.uid = Some("uid-b".into());
    let pods = vec![pod("a", "n1", &h, 0), extra];
    let nodes = nodes(&["n1", "n2"]);
    let exp = Expectations::new();
    let revisions = [r];
    let w = RWorld::new(&d).with_pods(&pods).with_revisions(&revisions).with_nodes(&nodes);
    let ctx = Context { now: at(NOW), id_seed: 3, features: Features::default(), expectations: &exp };
    let out = DaemonSetReconciler.reconcile(&w, &ctx).unwrap();
    let kinds: Vec<&str> = out.writes.iter().map(|w| w.name()).collect();
    assert_eq!(kinds, ["CreatePod", "DeletePod", "UpdateStatus"]);
    match &out.writes[0].write {
        ApiWrite::Create { object, .. } => {
            assert_eq!(object["kind"], "Pod");
            assert_eq!(object["metadata"]["labels"][keys::CONTROLLER_REVISION_HASH], h.as_str());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        out.writes[1].write,
        ApiWrite::Delete { target: crate::write::Target::pod("default", "b"), uid: Some("uid-b".into()) }
    );
    assert_eq!(out.events.len(), 2);
}

// ---- §9 worked example ----

#[test]
fn ads_9_worked_example_canary_selector_surge_one() {
    let canary =
        LabelSelector { match_labels: Some(labels(&[("node-type", "canary")])), match_expressions: None };
    let (mut w, h1, h2) = rollout(5, |d| {
        surge(d, IntOrString::Int(1));
        ru(d).selector = Some(canary.clone());
    });
    for i in [1, 3] {
        let n = format!("n{}", i + 1);
        w.nodes[i] = node_l(&n, &[("node-type", "canary")]);
    }
    // Pass 1: create on n4 only (eligible [n4, n2], surge 1).
    let p = w.plan();
    assert_eq!(created(&p), ["n4"]);
    assert_eq!(p.status.updated_number_scheduled, 0);
    assert_eq!(p.status.update_revision, h2);
    w.ds.status = Some(p.status.clone());
    // Pass 2: q4 pending → nothing.
    w.pods.push(not_ready(pod("q4", "n4", &h2, 100)));
    let p = w.plan();
    assert!(created(&p).is_empty() && deleted(&p).is_empty());
    // Pass 3: q4 ready → manage deletes p4.
    w.pods[5] = pod("q4", "n4", &h2, 100);
    let p = w.plan();
    assert_eq!(deleted(&p), ["p4"]);
    // Pass 4: p4 terminating → create on n2.
    w.pods[3] = terminating(w.pods[3].clone());
    let p = w.plan();
    assert_eq!(created(&p), ["n2"]);
    assert_eq!(p.status.updated_number_scheduled, 0);
    // Pass 5: p4 gone, q2 ready → delete p2.
    w.pods.remove(3);
    w.pods.push(pod("q2", "n2", &h2, 200));
    let p = w.plan();
    assert_eq!(deleted(&p), ["p2"]);
    assert_eq!(p.status.updated_number_scheduled, 1);
    // Pass 6: p2 gone → nothing; updated 2; n1, n3, n5 stay on h1.
    w.pods.retain(|p| p.metadata.name.as_deref() != Some("p2"));
    let p = w.plan();
    assert!(created(&p).is_empty() && deleted(&p).is_empty());
    assert_eq!(p.status.updated_number_scheduled, 2);
    assert_eq!(p.held_reason("p5"), Some(&Reason::DaemonSet(R::NotSelected)));
    // Remove the selector: n5 next.
    ru(&mut w.ds).selector = None;
    assert_eq!(created(&w.plan()), ["n5"]);
    let _ = h1;
}

#[test]
fn ads_9_worked_example_max_unavailable_variant() {
    let (mut w, _, h2) = rollout(5, |d| {
        unavail(d, IntOrString::Int(1));
        ru(d).selector = Some(LabelSelector {
            match_labels: Some(labels(&[("node-type", "canary")])),
            match_expressions: None,
        });
    });
    for i in [1, 3] {
        let n = format!("n{}", i + 1);
        w.nodes[i] = node_l(&n, &[("node-type", "canary")]);
    }
    assert_eq!(deleted(&w.plan()), ["p4"]);
    w.pods[3] = terminating(w.pods[3].clone());
    let p = w.plan();
    assert!(created(&p).is_empty() && deleted(&p).is_empty(), "n4 counted unavailable");
    w.pods.remove(3);
    assert_eq!(created(&w.plan()), ["n4"]);
    w.pods.push(not_ready(pod("q4", "n4", &h2, 100)));
    assert!(deleted(&w.plan()).is_empty(), "p2 waits for q4");
    let last = w.pods.len() - 1;
    w.pods[last] = pod("q4", "n4", &h2, 100);
    assert_eq!(deleted(&w.plan()), ["p2"]);
}

// ---- upstream bug replays ----

#[test]
fn bug_21_kubelet_restart_within_min_ready_seconds_deletes_nothing_at_once() {
    let (mut w, ..) = rollout(4, |d| {
        unavail(d, IntOrString::Int(1));
        d.spec.min_ready_seconds = 60;
    });
    // A kubelet restart bumped every Ready transition to 10 s ago.
    w.pods = w.pods.iter().cloned().map(|p| ready_since(p, NOW - 10)).collect();
    let p = w.plan();
    assert!(deleted(&p).is_empty(), "nothing beyond maxUnavailable: {:?}", deleted(&p));
    // Once the window passes, one at a time.
    w.now = at(NOW + 60);
    assert_eq!(deleted(&w.plan()).len(), 1);
}

#[test]
fn bug_25_surge_with_min_ready_seconds_requeues_and_deletes_old() {
    let (mut w, _, h2) = rollout(1, |d| {
        surge(d, IntOrString::Int(1));
        d.spec.min_ready_seconds = 30;
    });
    w.pods.push(ready_since(pod("q1", "n1", &h2, 100), NOW - 10));
    let p = w.plan();
    assert!(deleted(&p).is_empty());
    assert_eq!(p.requeue.as_ref().map(|r| r.after), Some(Duration::from_secs(20)));
    w.now = at(NOW + 21);
    assert_eq!(deleted(&w.plan()), ["p1"]);
}

#[test]
fn bug_26_failed_pod_in_backoff_does_not_block_other_nodes() {
    let mut d = ds("img:1");
    ru(&mut d).partition = Some(IntOrString::Int(1));
    let (_, h) = rev(&d, 1);
    let mut w =
        World::new(d, nodes(&["n1", "n2", "n3"]), vec![failed(pod("f", "n1", &h, 0)), pod("a", "n2", &h, 0)]);
    w.backoff.insert("n1".into(), at(NOW + 8));
    let p = w.plan();
    assert_eq!(created(&p), ["n3"], "other nodes still get their pod");
    assert!(p.requeue.is_some());
    w.now = at(NOW + 9);
    assert_eq!(deleted(&w.plan()), ["f"], "after the backoff the failed pod goes");
}

// ---- properties ----

prop_compose! {
    fn arb_world()(
        n_nodes in 0usize..12,
        node_seed in proptest::collection::vec((0u8..4, 0u8..3), 12),
        pod_seed in proptest::collection::vec((0usize..14, 0u8..3, 0u8..4, 0i64..50), 0..20),
        max_u in 0i32..4,
        max_s in 0i32..3,
        partition in proptest::option::of(0i32..6),
        selector in any::<bool>(),
        min_ready in 0i32..40,
        burst in 1i32..5,
        on_delete in any::<bool>(),
        stored_desired in 0i32..12,
        nil_other in any::<bool>(),
    ) -> World {
        let mut d = ds("img:2");
        {
            let r = ru(&mut d);
            if max_u > 0 || max_s == 0 { r.max_unavailable = Some(IntOrString::Int(max_u)); r.max_surge = Some(IntOrString::Int(0)); }
            else { r.max_surge = Some(IntOrString::Int(max_s)); r.max_unavailable = Some(IntOrString::Int(0)); }
            // ADS-4: when only one budget is set the other stays nil (read as 0).
            if nil_other {
                if r.max_surge == Some(IntOrString::Int(0)) { r.max_surge = None; } else { r.max_unavailable = None; }
            }
            r.partition = partition.map(IntOrString::Int);
            if selector {
                r.selector = Some(LabelSelector { match_labels: Some(labels(&[("tier", "canary")])), match_expressions: None });
            }
        }
        d.spec.min_ready_seconds = min_ready;
        d.spec.burst_replicas = Some(IntOrString::Int(burst));
        d.spec.template.spec.as_mut().unwrap().node_selector = Some(labels(&[("pool", "a")]));
        if on_delete { d.spec.update_strategy.type_ = Some("OnDelete".into()); }
        let (_, h_old) = rev(&ds("img:1"), 1);
        let (_, h_new) = rev(&d, 2);
        let names: Vec<String> = (0..n_nodes).map(|i| format!("nœud-{i}")).collect();
        let nodes: Vec<Node> = names.iter().zip(&node_seed).map(|(n, (kind, lab))| {
            let mut l = vec![("pool", if *kind == 3 { "b" } else { "a" })];
            if *lab == 0 { l.push(("tier", "canary")); }
            let mut node = node_l(n, &l);
            if *kind == 2 {
                node.spec = Some(NodeSpec { taints: Some(vec![Taint { key: "x".into(), value: None, effect: if *lab == 1 { "NoExecute".into() } else { "NoSchedule".into() }, time_added: None }]), ..Default::default() });
            }
            node
        }).collect();
        let pods: Vec<Pod> = pod_seed.iter().enumerate().map(|(i, (ni, rev_k, state, created))| {
            let node = names.get(*ni).cloned().unwrap_or_else(|| format!("gone-{ni}"));
            let h = if *rev_k == 0 { &h_new } else { &h_old };
            let p = pod(&format!("p-{i}"), &node, h, *created);
            match state { 0 => p, 1 => not_ready(p), 2 => terminating(p), _ => ready_since(p, NOW - 5) }
        }).collect();
        let mut w = World::new(d, nodes, pods);
        w.revisions = vec![rev(&ds("img:1"), 1).0, rev(&w.ds, 2).0];
        w.ds.status = Some(DaemonSetStatus { desired_number_scheduled: stored_desired, ..Default::default() });
        w
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Every action of a plan becomes its writes: the writer never meets an action it cannot
    /// build (an error would name it; nothing is skipped).
    #[test]
    fn ads_prop_every_action_materialises(w in arb_world()) {
        let p = w.plan();
        let built = w.with_input(|i| super::reconcile::writes(i, &p)).unwrap();
        prop_assert!(built.is_ok(), "{:?}", built);
    }

    /// Same input, same plan; the order of the pod list does not matter.
    #[test]
    fn ads_prop_deterministic(w in arb_world()) {
        let a = w.plan();
        prop_assert_eq!(&a, &w.plan());
        let mut r = w;
        r.pods.reverse();
        r.nodes.reverse();
        prop_assert_eq!(a, r.plan());
    }

    /// Never more than one create per node, never a create on a node that should not run the
    /// pod, never more creates or deletes than burstReplicas, never a pod both deleted and
    /// updated in place.
    #[test]
    fn ads_prop_creates_only_on_eligible_nodes_within_burst(w in arb_world()) {
        let p = w.plan();
        let c = created(&p);
        let mut uniq = c.clone();
        uniq.sort();
        uniq.dedup();
        prop_assert_eq!(uniq.len(), c.len());
        for n in &c {
            let node = w.nodes.iter().find(|x| x.metadata.name.as_deref() == Some(n.as_str())).unwrap();
            let l = node.metadata.labels.as_ref().unwrap();
            prop_assert_eq!(l.get("pool").map(String::as_str), Some("a"));
            prop_assert!(node.spec.as_ref().and_then(|s| s.taints.as_ref()).is_none());
        }
        let burst = match w.ds.spec.burst_replicas { Some(IntOrString::Int(b)) => b as usize, _ => 250 };
        prop_assert!(c.len() <= burst && deleted(&p).len() <= burst);
        let d = deleted(&p);
        for a in &p.actions {
            if matches!(a.kind, ActionKind::UpdateInPlace { .. }) {
                prop_assert!(!d.contains(a.pod.as_ref().unwrap()));
            }
        }
    }

    /// After the pass's writes, pods on nodes that must not keep them are being deleted; no
    /// node gets a second live pod outside surge.
    #[test]
    fn ads_prop_at_most_one_live_pod_per_node_without_surge(w in arb_world()) {
        let p = w.plan();
        let surge = !matches!(
            w.ds.spec.update_strategy.rolling_update.as_ref().and_then(|r| r.max_surge.clone()),
            None | Some(IntOrString::Int(0))
        );
        prop_assume!(!surge);
        let d = deleted(&p);
        let c = created(&p);
        for n in &w.nodes {
            let name = n.metadata.name.as_deref().unwrap();
            let live = w.pods.iter().filter(|p| target_node(p) == Some(name)
                && p.metadata.deletion_timestamp.is_none()
                && !d.contains(p.metadata.name.as_ref().unwrap())).count();
            let after = live + c.iter().filter(|x| x.as_str() == name).count();
            prop_assert!(
                after <= 1 || p.held.iter().any(|h| matches!(h.reason, Reason::DaemonSet(R::BurstLimit { .. }))),
                "node {name}: {after} live pods"
            );
        }
    }

    /// The rolling update never takes more old pods down than the budget allows, beyond the
    /// ones that are unavailable anyway, and never touches nodes held by partition/selector.
    #[test]
    fn ads_prop_rolling_update_within_budget(w in arb_world()) {
        let p = w.plan();
        let budget_deletes = p.actions.iter().filter(|a| matches!(a.reason, Reason::DaemonSet(R::Replace { .. }))).count();
        let ru = w.ds.spec.update_strategy.rolling_update.as_ref().unwrap();
        let desired = p.status.desired_number_scheduled;
        let mu = match &ru.max_unavailable { Some(IntOrString::Int(i)) => *i, _ => 0 };
        let no_surge = matches!(ru.max_surge, None | Some(IntOrString::Int(0)));
        let mu = if desired > 0 && mu == 0 && no_surge { 1 } else { mu };
        prop_assert!(budget_deletes as i32 <= mu.max(0));
        for h in &p.held {
            if let (Some(pod), Reason::Partition { .. } | Reason::DaemonSet(R::NotSelected)) = (&h.pod, &h.reason) {
                prop_assert!(p.actions.iter().all(|a| a.pod.as_ref() != Some(pod)));
            }
        }
    }
}

fn predownload_actions(
    d: &DaemonSet,
    revs: &[ControllerRevision],
    jobs: &[kruise_api::apps::v1beta1::ImagePullJob],
) -> Vec<&'static str> {
    let e = Expectations::default();
    let table = NodeTable::from_nodes(&[]).unwrap();
    let backoff = BTreeMap::new();
    let input = Input {
        daemonset: d,
        pods: (&[] as &[Pod]).into(),
        nodes: &table,
        revisions: revs,
        now: t0(),
        id_seed: 0,
        features: crate::features::Features {
            pre_download_image_for_daemon_set_update: true,
            ..Default::default()
        },
        expectations: &e,
        failed_pod_backoff: &backoff,
        bind_pods: false,
    };
    predownload::actions(&input, jobs).iter().map(|a| a.kind.name()).collect()
}

/// IPJ-40..IPJ-42 for the Advanced DaemonSet: a rollout over 10 nodes (maxUnavailable 1)
/// plans a job for the changed container; every node at once is skipped; a finished rollout
/// deletes the jobs; the gate off plans nothing.
#[test]
fn ipj_40_41_42_daemonset_predownload() {
    let old = ds("agent:1");
    let (r1, _) = rev(&old, 1);
    let mut d = ds("agent:2");
    unavail(&mut d, IntOrString::Int(1));
    let st = d.status.get_or_insert_with(Default::default);
    st.desired_number_scheduled = 10;
    st.updated_number_scheduled = 0;
    let revs = [r1];
    assert_eq!(predownload_actions(&d, &revs, &[]), ["CreateImagePullJob", "LabelPreDownloadRevision"]);
    let mut all = d.clone();
    unavail(&mut all, IntOrString::String("100%".into()));
    assert_eq!(predownload_actions(&all, &revs, &[]), ["LabelPreDownloadRevision"]);
    // Finished: every node updated and the hash is the status' updateRevision.
    let (r2, h2) = rev(&d, 2);
    let mut done = d.clone();
    let st = done.status.get_or_insert_with(Default::default);
    st.updated_number_scheduled = 10;
    st.update_revision = h2;
    let job = kruise_api::apps::v1beta1::ImagePullJob {
        metadata: ObjectMeta { name: Some("ds-x-c".into()), ..Default::default() },
        ..Default::default()
    };
    assert_eq!(predownload_actions(&done, &[revs[0].clone(), r2], &[job]), ["DeleteImagePullJob"]);
    // Gate off.
    let e = Expectations::default();
    let table = NodeTable::from_nodes(&[]).unwrap();
    let backoff = BTreeMap::new();
    let input = Input {
        daemonset: &d,
        pods: (&[] as &[Pod]).into(),
        nodes: &table,
        revisions: &revs,
        now: t0(),
        id_seed: 0,
        features: crate::features::Features::default(),
        expectations: &e,
        failed_pod_backoff: &backoff,
        bind_pods: false,
    };
    assert!(predownload::actions(&input, &[]).is_empty());
}
