//! The CloneSet planner driven by hand on the simulator's cluster: a controller-less
//! [`Sim`] holds the CloneSet, its pods and revisions; a test plans from what the store holds
//! (typed, as an adapter reads it), carries out the plan's API writes through
//! [`kruise_sim::store::Store::apply_write`] (preconditions checked, errors fail the test),
//! and moves the virtual clock so the simulator's scheduler and kubelets act (pods are bound,
//! pull their images, run, become Ready honouring their readiness gates, stop when deleted).
//!
//! Between a plan's writes and the next clock move nothing else happens: a test can look at
//! the cluster exactly as the writes left it, before any kubelet reacts.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::v1beta1::CloneSet;
use kruise_api::keys;
use kruise_core::Expectations;
use kruise_core::cloneset::{ActionKind, Plan, fixtures, plan, reconcile};
use kruise_core::reconciler::PlannedWrite;
use kruise_sim::store::ObjectKey;
use kruise_sim::time::{Dur, timestamp};
use kruise_sim::{Sim, SimConfig};
use serde::de::DeserializeOwned;

/// Virtual seconds between two plans: the kubelets' turn (pull 5 s + start 1 s + ready 2 s,
/// or stop 2 s, all fit).
pub const ROUND_SECONDS: u64 = 31;

/// Virtual time of the first plan, in seconds.
pub const START_SECONDS: u64 = 1000;

/// One CloneSet on a simulated cluster with no controller: the test is the controller.
pub struct Planned {
    /// The cluster (default [`SimConfig`]: three Ready nodes, default kubelet timings).
    pub sim: Sim,
    /// The CloneSet's key in the store.
    key: ObjectKey,
    /// Id seed of the next plan.
    pub seed: u64,
}

fn decode<T: DeserializeOwned>(v: &serde_json::Value) -> T {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("stored object does not decode: {e}\n{v}"))
}

fn label<'p>(p: &'p Pod, key: &str) -> Option<&'p str> {
    p.metadata.labels.as_ref().and_then(|l| l.get(key)).map(String::as_str)
}

impl Planned {
    /// A cluster at virtual time [`START_SECONDS`] holding `cs` as created by a user (the
    /// server assigns uid, generation 1, resourceVersion and creationTimestamp).
    pub fn new(cs: CloneSet) -> Self {
        let mut sim = Sim::new(SimConfig::default());
        sim.run_for(Dur::secs(START_SECONDS)).expect("an empty cluster runs");
        let object = serde_json::to_value(&cs).expect("CloneSet to JSON");
        let key = ObjectKey::of_value(&object);
        sim.apply(object).unwrap_or_else(|e| panic!("create {key}: {e}"));
        Self { sim, key, seed: 1 }
    }

    /// The virtual clock.
    pub fn now(&self) -> Timestamp {
        timestamp(self.sim.now())
    }

    /// The CloneSet as stored.
    pub fn cloneset(&self) -> CloneSet {
        decode(self.sim.store().get(&self.key).expect("the CloneSet is stored"))
    }

    /// Applies a new version of the CloneSet as `kubectl apply` would: spec and labels from
    /// `cs`, status and server-owned metadata kept, generation bumped when the spec changed.
    pub fn apply_cloneset(&mut self, cs: &CloneSet) {
        let object = serde_json::to_value(cs).expect("CloneSet to JSON");
        self.sim.apply(object).unwrap_or_else(|e| panic!("apply {}: {e}", self.key));
    }

    /// Edits the stored CloneSet's spec (a user's change).
    pub fn edit(&mut self, f: impl FnOnce(&mut CloneSet)) {
        let mut cs = self.cloneset();
        f(&mut cs);
        self.apply_cloneset(&cs);
    }

    /// Every pod in the CloneSet's namespace, terminating ones included, by name.
    pub fn all_pods(&self) -> Vec<Pod> {
        let ns = self.key.namespace.as_str();
        self.sim.store().list("", "Pod").filter(|(k, _)| k.namespace == ns).map(|(_, v)| decode(v)).collect()
    }

    /// The pods not being deleted, by name. A delete takes a bound pod out of this list at
    /// once; the store keeps it, terminating, until its kubelet has stopped it (within the
    /// round, see [`Planned::kubelet`]).
    pub fn pods(&self) -> Vec<Pod> {
        let mut pods = self.all_pods();
        pods.retain(|p| p.metadata.deletion_timestamp.is_none());
        pods
    }

    /// The names of [`Planned::pods`].
    pub fn pod_names(&self) -> Vec<String> {
        self.pods().into_iter().filter_map(|p| p.metadata.name).collect()
    }

    /// Every ControllerRevision in the CloneSet's namespace, by name.
    pub fn revisions(&self) -> Vec<ControllerRevision> {
        let ns = self.key.namespace.as_str();
        self.sim
            .store()
            .list("apps", "ControllerRevision")
            .filter(|(k, _)| k.namespace == ns)
            .map(|(_, v)| decode(v))
            .collect()
    }

    /// Plans from the store at the current virtual time with the current id seed, and turns
    /// the plan into its API writes.
    pub fn plan(&self) -> (Plan, Vec<PlannedWrite>) {
        let cs = self.cloneset();
        let pods = self.all_pods();
        let revs = self.revisions();
        let exp = Expectations::new();
        let input = fixtures::input(&cs, &pods, &revs, self.now(), self.seed, &exp);
        let p = plan(&input).expect("plan");
        let w = reconcile::writes(&input, &p).expect("writes");
        (p, w)
    }

    /// Carries out `writes` in order on the API store, now; an API error fails the test.
    pub fn apply(&mut self, writes: &[PlannedWrite]) {
        for w in writes {
            let result = self.sim.write(|store, now| store.apply_write(&w.write, now));
            if let Err(e) = result {
                panic!("{} {}: {e}", w.name(), w.pod().unwrap_or("-"));
            }
        }
    }

    /// The kubelets' turn: the virtual clock moves [`ROUND_SECONDS`], the scheduler binds new
    /// pods and the kubelets run, restart and stop them. Every pod deleted before the round
    /// is gone after it.
    pub fn kubelet(&mut self) {
        let deleted: Vec<String> = self
            .all_pods()
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_some())
            .filter_map(|p| p.metadata.uid)
            .collect();
        self.sim.run_for(Dur::secs(ROUND_SECONDS)).expect("the cluster runs");
        let lingering: Vec<String> = self
            .all_pods()
            .into_iter()
            .filter(|p| p.metadata.uid.as_ref().is_some_and(|u| deleted.contains(u)))
            .filter_map(|p| p.metadata.name)
            .collect();
        assert!(lingering.is_empty(), "deleted pods still stored after a round: {lingering:?}");
    }

    /// One round: plan, carry out the writes, next id seed, the kubelets' turn.
    pub fn step(&mut self) -> Plan {
        let (p, w) = self.plan();
        self.apply(&w);
        self.seed += 1;
        self.kubelet();
        p
    }

    /// Pods not being deleted, Running, Ready (for more than `min_ready` seconds), lifecycle
    /// Normal and with `InPlaceUpdateReady` True or absent: the ones serving.
    pub fn available(&self, min_ready: i64) -> usize {
        let now = self.now();
        self.pods()
            .iter()
            .filter(|p| {
                let state = label(p, keys::LIFECYCLE_STATE);
                let conds = p.status.as_ref().and_then(|s| s.conditions.as_ref());
                let cond = |t: &str| conds.and_then(|c| c.iter().find(|c| c.type_ == t));
                let ready = cond(keys::CONDITION_READY).is_some_and(|c| {
                    c.status == "True"
                        && (min_ready == 0
                            || c.last_transition_time
                                .as_ref()
                                .is_some_and(|t| t.0 + SignedDuration::from_secs(min_ready) < now))
                });
                let ipr = cond(keys::INPLACE_UPDATE_READY).is_none_or(|c| c.status == "True");
                matches!(state, None | Some("") | Some("Normal")) && ready && ipr
            })
            .count()
    }

    /// Pods not being deleted that carry revision `rev`.
    pub fn on_revision(&self, rev: &str) -> usize {
        self.pods().iter().filter(|p| label(p, keys::CONTROLLER_REVISION_HASH) == Some(rev)).count()
    }
}

/// Steps until nothing but status writes remain (or `rounds`); returns rounds used.
pub fn settle(c: &mut Planned, rounds: usize) -> usize {
    for i in 0..rounds {
        let p = c.step();
        let busy = p.actions.iter().any(|a| !matches!(a.kind, ActionKind::UpdateStatus));
        if !busy && p.requeue.is_none() {
            return i;
        }
    }
    rounds
}
