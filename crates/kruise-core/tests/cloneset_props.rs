//! Property tests of the CloneSet planner's invariants, with a tiny in-memory cluster that
//! carries out a plan's API writes and plays kubelet (pods become Running and Ready, images
//! are pulled).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::CloneSet;
use kruise_api::keys;
use kruise_core::cloneset::fixtures::{self, pod, rolling, ts};
use kruise_core::cloneset::{ActionKind, Input, Plan, plan, reconcile};
use kruise_core::write::{ApiWrite, Subresource};
use kruise_core::{Expectations, Features};
use proptest::prelude::*;
use serde_json::Value;

struct Cluster {
    cs: CloneSet,
    pods: BTreeMap<String, Pod>,
    revs: BTreeMap<String, ControllerRevision>,
    now: i64,
    seed: u64,
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

impl Cluster {
    fn new(cs: CloneSet) -> Self {
        Self { cs, pods: BTreeMap::new(), revs: BTreeMap::new(), now: 1000, seed: 1 }
    }

    fn pods_vec(&self) -> Vec<Pod> {
        self.pods.values().cloned().collect()
    }

    fn plan(&self) -> (Plan, Vec<kruise_core::reconciler::PlannedWrite>) {
        let pods = self.pods_vec();
        let revs: Vec<ControllerRevision> = self.revs.values().cloned().collect();
        let exp = Expectations::new();
        let input = Input {
            cloneset: &self.cs,
            pods: &pods,
            pvcs: &[],
            revisions: &revs,
            nodes: &[],
            now: ts(self.now),
            id_seed: self.seed,
            features: Features::default(),
            expectations: &exp,
        };
        let p = plan(&input).expect("plan");
        let w = reconcile::writes(&input, &p);
        (p, w)
    }

    fn apply(&mut self, writes: &[kruise_core::reconciler::PlannedWrite]) {
        for w in writes {
            match &w.write {
                ApiWrite::Create { target, object } => match target.kind.as_str() {
                    "Pod" => {
                        let p: Pod = serde_json::from_value(object.clone()).expect("pod");
                        self.pods.insert(target.name.clone(), p);
                    }
                    "ControllerRevision" => {
                        let r: ControllerRevision = serde_json::from_value(object.clone()).expect("rev");
                        self.revs.insert(target.name.clone(), r);
                    }
                    _ => {}
                },
                ApiWrite::Delete { target, .. } => match target.kind.as_str() {
                    "Pod" => {
                        self.pods.remove(&target.name);
                    }
                    "ControllerRevision" => {
                        self.revs.remove(&target.name);
                    }
                    _ => {}
                },
                ApiWrite::Replace { target, subresource, object } => {
                    match (target.kind.as_str(), subresource) {
                        ("Pod", Subresource::Status) => {
                            let p: Pod = serde_json::from_value(object.clone()).expect("pod");
                            if let Some(old) = self.pods.get_mut(&target.name) {
                                old.status = p.status;
                            }
                        }
                        ("Pod", _) => {
                            let mut p: Pod = serde_json::from_value(object.clone()).expect("pod");
                            if let Some(old) = self.pods.get(&target.name) {
                                p.status = old.status.clone();
                            }
                            self.pods.insert(target.name.clone(), p);
                        }
                        ("ControllerRevision", _) => {
                            let r: ControllerRevision = serde_json::from_value(object.clone()).expect("rev");
                            self.revs.insert(target.name.clone(), r);
                        }
                        ("CloneSet", Subresource::Status) => {
                            let c: CloneSet = serde_json::from_value(object.clone()).expect("cs");
                            self.cs.status = c.status;
                        }
                        _ => {}
                    }
                }
                ApiWrite::MergePatch { target, patch, .. } => match target.kind.as_str() {
                    "Pod" => {
                        if let Some(old) = self.pods.get(&target.name) {
                            let mut v = serde_json::to_value(old).expect("pod json");
                            merge(&mut v, patch);
                            let p: Pod = serde_json::from_value(v).expect("patched pod");
                            self.pods.insert(target.name.clone(), p);
                        }
                    }
                    "CloneSet" => {
                        let mut v = serde_json::to_value(&self.cs).expect("cs json");
                        merge(&mut v, patch);
                        self.cs = serde_json::from_value(v).expect("patched cs");
                    }
                    _ => {}
                },
            }
        }
    }

    /// Kubelet: every pod gets a node, runs its spec images and is Ready.
    fn kubelet(&mut self) {
        let now = ts(self.now);
        for p in self.pods.values_mut() {
            let spec = p.spec.get_or_insert_with(Default::default);
            if spec.node_name.is_none() {
                spec.node_name = Some("node-1".into());
            }
            let containers = spec.containers.clone();
            let st = p.status.get_or_insert_with(Default::default);
            st.phase = Some("Running".into());
            st.container_statuses = Some(
                containers
                    .iter()
                    .map(|c| {
                        let img = c.image.clone().unwrap_or_default();
                        ContainerStatus {
                            name: c.name.clone(),
                            image: img.clone(),
                            image_id: format!("sha-{img}"),
                            ready: true,
                            ..Default::default()
                        }
                    })
                    .collect(),
            );
            let conds = st.conditions.get_or_insert_with(Vec::new);
            let gates_ok = conds
                .iter()
                .find(|c| c.type_ == keys::INPLACE_UPDATE_READY)
                .is_some_and(|c| c.status == "True");
            for t in [keys::CONDITION_READY, keys::CONDITION_CONTAINERS_READY] {
                let want = if t == keys::CONDITION_READY && !gates_ok { "False" } else { "True" };
                match conds.iter_mut().find(|c| c.type_ == t) {
                    Some(c) if c.status == want => {}
                    Some(c) => {
                        c.status = want.into();
                        c.last_transition_time = Some(Time(now));
                    }
                    None => conds.push(PodCondition {
                        type_: t.into(),
                        status: want.into(),
                        last_transition_time: Some(Time(now)),
                        ..Default::default()
                    }),
                }
            }
        }
    }

    fn step(&mut self) -> Plan {
        let (p, w) = self.plan();
        self.apply(&w);
        self.now += 31;
        self.seed += 1;
        self.kubelet();
        p
    }

    fn on_revision(&self, rev: &str) -> usize {
        self.pods
            .values()
            .filter(|p| {
                p.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(keys::CONTROLLER_REVISION_HASH))
                    .map(String::as_str)
                    == Some(rev)
            })
            .count()
    }
}

fn settle(c: &mut Cluster, rounds: usize) -> usize {
    for i in 0..rounds {
        let p = c.step();
        let busy = p.actions.iter().any(|a| !matches!(a.kind, ActionKind::UpdateStatus));
        if !busy && p.requeue.is_none() {
            return i;
        }
    }
    rounds
}

prop_compose! {
    fn spec()(replicas in 0i32..8, partition in 0i32..5, max_unavailable in 1i32..4, surge in 0i32..3,
              in_place in any::<bool>(), min_ready in prop_oneof![Just(0i32), Just(10i32)])
              -> (i32, i32, i32, i32, bool, i32) {
        (replicas, partition, max_unavailable, surge, in_place, min_ready)
    }
}

fn make(spec: (i32, i32, i32, i32, bool, i32)) -> CloneSet {
    let (r, p, u, s, in_place, m) = spec;
    let mut cs = fixtures::cloneset("web", r, "nginx:1");
    cs.spec.min_ready_seconds = m;
    let ru = rolling(&mut cs);
    ru.partition = Some(IntOrString::Int(p));
    ru.max_unavailable = Some(IntOrString::Int(u));
    ru.max_surge = Some(IntOrString::Int(if in_place { 0 } else { s }));
    ru.pod_update_policy = Some(if in_place { "InPlaceIfPossible" } else { "ReCreate" }.into());
    cs
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// CS-62/CS-66: a rollout converges to `R − P` updated pods, never disrupts more than
    /// `maxUnavailable` available pods at once, never exceeds `R + maxSurge` pods, and
    /// never updates pods beyond the partition.
    #[test]
    fn rollout_invariants_and_convergence(s in spec()) {
        let cs = make(s);
        let (r, p, u, surge, in_place, _) = s;
        let surge = if in_place { 0 } else { surge };
        let mut c = Cluster::new(cs);
        let rounds = settle(&mut c, 60);
        prop_assert!(rounds < 60, "initial scale-up did not converge");
        prop_assert_eq!(c.pods.len() as i32, r);
        let rev1 = c.cs.status.as_ref().unwrap().update_revision.clone();
        fixtures::set_image(&mut c.cs, "nginx:2");
        let mut converged = false;
        for _ in 0..120 {
            let (plan, w) = c.plan();
            let disrupted = plan.actions.iter().filter(|a| match &a.kind {
                ActionKind::UpdateInPlace { .. } => true,
                ActionKind::PatchPod { patch } => patch.labels.contains_key(keys::SPECIFIED_DELETE),
                _ => false,
            }).count() as i32;
            prop_assert!(disrupted <= u.max(1) + surge, "disrupted {} > U {}", disrupted, u);
            c.apply(&w);
            prop_assert!(c.pods.len() as i32 <= r + surge, "{} pods > R+S", c.pods.len());
            let upd = plan.status.update_revision.clone();
            prop_assert!(c.on_revision(&upd) as i32 <= r - p.min(r) + surge);
            c.now += 31;
            c.seed += 1;
            c.kubelet();
            let busy = plan.actions.iter().any(|a| !matches!(a.kind, ActionKind::UpdateStatus));
            if !busy && plan.requeue.is_none() {
                converged = true;
                break;
            }
        }
        prop_assert!(converged, "rollout did not converge");
        let upd = c.cs.status.as_ref().unwrap().update_revision.clone();
        prop_assert_ne!(&upd, &rev1);
        prop_assert_eq!(c.pods.len() as i32, r);
        prop_assert_eq!(c.on_revision(&upd) as i32, r - p.min(r));
    }

    /// CS-35/CS-50: every owned pod named in podsToDelete is deleted or held with a reason.
    #[test]
    fn pods_to_delete_are_deleted_or_held(n in 1usize..8, picks in proptest::collection::btree_set(0usize..8, 0..5), u in 0i32..3) {
        let mut cs = fixtures::cloneset("web", n as i32, "nginx:1");
        rolling(&mut cs).max_unavailable = Some(IntOrString::Int(u));
        let rev = fixtures::revision_of(&cs, 1);
        let rn = rev.metadata.name.clone().unwrap();
        fixtures::set_status(&mut cs, &rn, &rn);
        let pods: Vec<Pod> = (0..n).map(|i| pod(&cs, &format!("p{i}"), &rn).build()).collect();
        cs.spec.scale_strategy.pods_to_delete = picks.iter().filter(|&&i| i < n).map(|i| format!("web-p{i}")).collect();
        let exp = Expectations::new();
        let revs = vec![rev];
        let input = Input { cloneset: &cs, pods: &pods, pvcs: &[], revisions: &revs, nodes: &[], now: ts(1000),
            id_seed: 1, features: Features::default(), expectations: &exp };
        let p = plan(&input).unwrap();
        for name in &cs.spec.scale_strategy.pods_to_delete {
            let deleted = p.actions.iter().any(|a| a.kind == ActionKind::DeletePod && a.pod.as_deref() == Some(name));
            prop_assert!(deleted || p.held_reason(name).is_some(), "{} neither deleted nor held", name);
        }
    }

    /// CS-91: the same input in any pod order gives the same plan, byte for byte.
    #[test]
    fn deterministic(s in spec(), have in 0usize..8, seed in any::<u64>(), rev_on_new in proptest::collection::vec(any::<bool>(), 8)) {
        let mut cs = make(s);
        let r1 = fixtures::revision_of(&cs, 1);
        fixtures::set_image(&mut cs, "nginx:2");
        let r2 = fixtures::revision_of(&cs, 2);
        let (n1, n2) = (r1.metadata.name.clone().unwrap(), r2.metadata.name.clone().unwrap());
        fixtures::set_status(&mut cs, &n1, &n2);
        let pods: Vec<Pod> = (0..have).map(|i| pod(&cs, &format!("p{i}"), if rev_on_new[i] { &n2 } else { &n1 }).build()).collect();
        let mut rev_pods = pods.clone();
        rev_pods.reverse();
        let revs = vec![r1, r2];
        let exp = Expectations::new();
        let mk = |pods: &[Pod]| {
            let input = Input { cloneset: &cs, pods, pvcs: &[], revisions: &revs, nodes: &[], now: ts(1000),
                id_seed: seed, features: Features::default(), expectations: &exp };
            serde_json::to_string(&plan(&input).unwrap()).unwrap()
        };
        prop_assert_eq!(mk(&pods), mk(&rev_pods));
    }
}
