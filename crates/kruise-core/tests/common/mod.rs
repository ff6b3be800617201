//! A tiny in-memory cluster for CloneSet tests: carries out a plan's API writes and plays
//! kubelet (pods become Running and Ready, images are pulled).
#![allow(dead_code)]

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kruise_api::apps::v1beta1::CloneSet;
use kruise_api::keys;
use kruise_api::merge_patch::apply as merge;
use kruise_core::cloneset::fixtures::ts;
use kruise_core::cloneset::{ActionKind, Input, Plan, plan, reconcile};
use kruise_core::write::{ApiWrite, Subresource};
use kruise_core::{Expectations, Features};

pub struct Cluster {
    /// The CloneSet (spec as applied, status as written).
    pub cs: CloneSet,
    /// Pods by name.
    pub pods: BTreeMap<String, Pod>,
    /// Revisions by name.
    pub revs: BTreeMap<String, ControllerRevision>,
    /// Seconds.
    pub now: i64,
    /// Id seed of the next plan.
    pub seed: u64,
}

impl Cluster {
    pub fn new(cs: CloneSet) -> Self {
        Self { cs, pods: BTreeMap::new(), revs: BTreeMap::new(), now: 1000, seed: 1 }
    }

    pub fn pods_vec(&self) -> Vec<Pod> {
        self.pods.values().cloned().collect()
    }

    pub fn plan(&self) -> (Plan, Vec<kruise_core::reconciler::PlannedWrite>) {
        let pods = self.pods_vec();
        let revs: Vec<ControllerRevision> = self.revs.values().cloned().collect();
        let exp = Expectations::new();
        let input = Input {
            cloneset: &self.cs,
            pods: (&pods).into(),
            pvcs: &[],
            revisions: &revs,
            nodes: &[],
            now: ts(self.now),
            id_seed: self.seed,
            features: Features::default(),
            expectations: &exp,
            pub_decisions: None,
        };
        let p = plan(&input).expect("plan");
        let w = reconcile::writes(&input, &p).expect("writes");
        (p, w)
    }

    pub fn apply(&mut self, writes: &[kruise_core::reconciler::PlannedWrite]) {
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
                ApiWrite::JsonPatch { target, subresource, patch } => match target.kind.as_str() {
                    "Pod" => {
                        if let Some(old) = self.pods.get(&target.name) {
                            let mut v = serde_json::to_value(old).expect("pod json");
                            kruise_core::write::json_patch::apply(&mut v, patch).expect("json patch");
                            let mut p: Pod = serde_json::from_value(v).expect("patched pod");
                            if *subresource == Subresource::Status {
                                let status = p.status.take();
                                p = old.clone();
                                p.status = status;
                            } else {
                                p.status = old.status.clone();
                            }
                            self.pods.insert(target.name.clone(), p);
                        }
                    }
                    "CloneSet" => {
                        let mut v = serde_json::to_value(&self.cs).expect("cs json");
                        kruise_core::write::json_patch::apply(&mut v, patch).expect("json patch");
                        self.cs = serde_json::from_value(v).expect("patched cs");
                    }
                    _ => {}
                },
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
    pub fn kubelet(&mut self) {
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

    pub fn step(&mut self) -> Plan {
        let (p, w) = self.plan();
        self.apply(&w);
        self.now += 31;
        self.seed += 1;
        self.kubelet();
        p
    }

    /// Pods Running, Ready (for `min_ready` seconds), lifecycle Normal and with
    /// `InPlaceUpdateReady` True: the ones serving.
    pub fn available(&self, min_ready: i64) -> usize {
        self.pods
            .values()
            .filter(|p| {
                let labels = p.metadata.labels.as_ref();
                let state = labels.and_then(|l| l.get(keys::LIFECYCLE_STATE)).map(String::as_str);
                let conds = p.status.as_ref().and_then(|s| s.conditions.as_ref());
                let cond = |t: &str| conds.and_then(|c| c.iter().find(|c| c.type_ == t));
                let ready = cond(keys::CONDITION_READY).is_some_and(|c| {
                    c.status == "True"
                        && (min_ready == 0
                            || c.last_transition_time
                                .as_ref()
                                .is_some_and(|t| t.0.as_second() + min_ready < self.now))
                });
                let ipr = cond(keys::INPLACE_UPDATE_READY).is_none_or(|c| c.status == "True");
                matches!(state, None | Some("") | Some("Normal")) && ready && ipr
            })
            .count()
    }

    pub fn on_revision(&self, rev: &str) -> usize {
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

/// Steps until nothing but status writes remain (or `rounds`); returns rounds used.
pub fn settle(c: &mut Cluster, rounds: usize) -> usize {
    for i in 0..rounds {
        let p = c.step();
        let busy = p.actions.iter().any(|a| !matches!(a.kind, ActionKind::UpdateStatus));
        if !busy && p.requeue.is_none() {
            return i;
        }
    }
    rounds
}
