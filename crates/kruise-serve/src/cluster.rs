//! The served cluster's state: the simulator (its store, scheduler and kubelets, no
//! controllers) on a virtual clock that follows wall time ([`Clock::Wall`], `kruise serve`) or
//! moves only when told ([`Clock::Manual`], for deterministic tests), the resources served,
//! the watch history and what each field manager applied last.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use jiff::Timestamp;
use kruise_sim::store::{ObjectKey, Store, set_path, str_at};
use kruise_sim::time::{SimTime, sim_time};
use kruise_sim::{Sim, SimConfig};
use serde_json::{Value, json};

use crate::registry::Registry;

/// Watch events kept for watches that resume from a resourceVersion; older ones answer 410.
pub const HISTORY: usize = 4096;

/// One change as a watch delivers it.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The resourceVersion of the change.
    pub rv: u64,
    /// The object.
    pub key: ObjectKey,
    /// Before (`None`: created).
    pub old: Option<Arc<Value>>,
    /// After (`None`: removed; `old` then carries the removal's resourceVersion).
    pub new: Option<Arc<Value>>,
}

/// The virtual time of the wall clock now.
pub fn wall_now() -> SimTime {
    sim_time(Timestamp::now())
}

/// Where the cluster's virtual clock takes its time from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// The clock follows wall time: before each request the scheduler and kubelets catch up
    /// with it (`kruise serve`).
    Wall,
    /// The clock stands still until [`Cluster::step`] or [`Cluster::run_until`] moves it; a
    /// request only lets the scheduler and kubelets act on what is due at the current
    /// virtual time. Runs are then deterministic (tests).
    Manual,
}

/// A request to move a clock that follows wall time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the cluster's clock follows wall time; only a manual clock can be moved")]
pub struct NotManual;

/// The cluster.
pub struct Cluster {
    sim: Sim,
    clock: Clock,
    /// The resources served.
    pub registry: Registry,
    history: VecDeque<Entry>,
    oldest: u64,
    last_rv: u64,
    applied: BTreeMap<(String, String), Value>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("sim", &self.sim)
            .field("last_rv", &self.last_rv)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// A cluster with `config`'s nodes, the namespaces `default`, `kube-system`, `kube-public`
    /// and `kube-node-lease`, and the CRDs of kruise-api's kinds, at the current wall time,
    /// on a clock that follows wall time ([`Clock::Wall`]).
    pub fn new(config: SimConfig) -> Self {
        Self::start(config, Clock::Wall, wall_now())
    }

    /// The same cluster as [`Cluster::new`], at virtual time `t0` (ms after
    /// [`kruise_sim::time::EPOCH_SECONDS`]), on a clock that moves only when told
    /// ([`Clock::Manual`]).
    pub fn new_at(config: SimConfig, t0: SimTime) -> Self {
        Self::start(config, Clock::Manual, t0)
    }

    fn start(config: SimConfig, clock: Clock, t0: SimTime) -> Self {
        let mut sim = Sim::new(config);
        // The simulator creates its nodes at virtual time 0; here they join the cluster now.
        if let Err(e) = sim.run_until(t0, |_| false) {
            tracing::warn!(error = %e, "simulation stopped early");
        }
        let nodes: Vec<(ObjectKey, Value)> =
            sim.store().list("", "Node").map(|(k, v)| (k.clone(), v.clone())).collect();
        sim.write(|s, now| {
            for (key, node) in nodes {
                s.remove(&key);
                let _ = s.create(node, now);
            }
        });
        let last_rv = sim.store().resource_version();
        sim.record_changes();
        let mut c = Self {
            sim,
            clock,
            registry: Registry::builtin(),
            history: VecDeque::new(),
            oldest: last_rv,
            last_rv,
            applied: BTreeMap::new(),
        };
        c.advance();
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}});
            let _ = c.write(|s, now| s.create(obj, now));
        }
        for crd in kruise_api::crd::all_custom_resource_definitions().unwrap_or_default() {
            let Ok(mut v) = serde_json::to_value(crd) else { continue };
            established_at(&mut v, c.clock_time());
            if c.registry.add_crd(&v).is_ok() {
                let _ = c.write(|s, now| s.create(v, now));
            }
        }
        c
    }

    /// Brings the virtual clock up to wall time ([`Clock::Wall`]; a manual clock stays where
    /// it is): the scheduler and kubelets act on everything due by now.
    pub fn advance(&mut self) {
        match self.clock {
            Clock::Wall => {
                let now = wall_now();
                if now > self.sim.now()
                    && let Err(e) = self.sim.run_until(now, |_| false)
                {
                    tracing::warn!(error = %e, "simulation stopped early");
                }
            }
            Clock::Manual => self.run_to(self.sim.now()),
        }
        self.drain();
    }

    fn run_to(&mut self, t: SimTime) {
        if let Err(e) = self.sim.run_until(t, |_| false) {
            tracing::warn!(error = %e, "simulation stopped early");
        }
    }

    /// Moves a manual clock `by` ahead: the scheduler and kubelets act on everything due up to
    /// then, in order. Returns the new virtual time.
    pub fn step(&mut self, by: std::time::Duration) -> Result<SimTime, NotManual> {
        let to = self.sim.now().saturating_add(u64::try_from(by.as_millis()).unwrap_or(u64::MAX));
        self.run_until(to)
    }

    /// Moves a manual clock to `t` (a time already past leaves it where it is): the scheduler
    /// and kubelets act on everything due up to then, in order. Returns the new virtual time.
    pub fn run_until(&mut self, t: SimTime) -> Result<SimTime, NotManual> {
        if self.clock != Clock::Manual {
            return Err(NotManual);
        }
        self.run_to(t.max(self.sim.now()));
        self.drain();
        Ok(self.sim.now())
    }

    /// Where the clock takes its time from.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// The time the clock reads: wall time ([`Clock::Wall`]) or the virtual time reached
    /// ([`Clock::Manual`]).
    pub fn clock_time(&self) -> SimTime {
        match self.clock {
            Clock::Wall => wall_now(),
            Clock::Manual => self.sim.now(),
        }
    }

    /// The virtual clock (ms; follows wall time unless the clock is manual).
    pub fn now(&self) -> SimTime {
        self.sim.now()
    }

    /// When the simulation next has something to do (virtual ms).
    pub fn next_event_at(&self) -> Option<SimTime> {
        self.sim.next_event_at()
    }

    fn drain(&mut self) {
        for change in self.sim.take_recorded_changes() {
            let rv = change
                .new
                .as_ref()
                .and_then(|n| str_at(n, &["metadata", "resourceVersion"]))
                .and_then(|s| s.parse().ok())
                .unwrap_or(self.last_rv + 1);
            self.last_rv = self.last_rv.max(rv);
            let old = change.old.map(|mut o| {
                if change.new.is_none() {
                    set_path(&mut o, &["metadata", "resourceVersion"], json!(rv.to_string()));
                    if let Some(uid) = str_at(&o, &["metadata", "uid"]) {
                        let uid = uid.to_owned();
                        self.applied.retain(|(u, _), _| *u != uid);
                    }
                }
                Arc::new(o)
            });
            self.history.push_back(Entry { rv, key: change.key, old, new: change.new.map(Arc::new) });
            while self.history.len() > HISTORY {
                if let Some(e) = self.history.pop_front() {
                    self.oldest = e.rv;
                }
            }
        }
    }

    /// Carries out a write on the store now (after advancing the clock) and records its changes.
    pub fn write<T>(&mut self, write: impl FnOnce(&mut Store, SimTime) -> T) -> T {
        self.advance();
        let out = self.sim.write(write);
        self.drain();
        out
    }

    /// The store (reads).
    pub fn store(&self) -> &Store {
        self.sim.store()
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.last_rv
    }

    /// The oldest resourceVersion a watch can resume from.
    pub fn oldest_resource_version(&self) -> u64 {
        self.oldest
    }

    /// The changes after `rv`, in order.
    pub fn changes_since(&self, rv: u64) -> impl Iterator<Item = &Entry> {
        let start = self.history.partition_point(|e| e.rv <= rv);
        self.history.range(start..)
    }

    /// What `manager` applied last to the object with `uid`.
    pub fn applied(&self, uid: &str, manager: &str) -> Option<&Value> {
        self.applied.get(&(uid.to_owned(), manager.to_owned()))
    }

    /// Records what `manager` applied to the object with `uid`.
    pub fn set_applied(&mut self, uid: &str, manager: &str, config: Value) {
        self.applied.insert((uid.to_owned(), manager.to_owned()), config);
    }
}

/// Marks a CRD `Established` and its names accepted (what `kubectl wait --for
/// condition=established` looks for), now by the wall clock.
pub fn established(crd: &mut Value) {
    established_at(crd, wall_now());
}

/// [`established`] at virtual time `now` (the cluster's [`Cluster::clock_time`]).
pub fn established_at(crd: &mut Value, now: SimTime) {
    let now = kruise_sim::time::timestamp(now).to_string();
    let names = crd.pointer("/spec/names").cloned().unwrap_or(Value::Null);
    let cond = |t: &str, reason: &str| json!({"type": t, "status": "True", "reason": reason, "message": "", "lastTransitionTime": now});
    set_path(
        crd,
        &["status"],
        json!({"acceptedNames": names, "conditions": [cond("NamesAccepted", "NoConflicts"), cond("Established", "InitialNamesAccepted")],
               "storedVersions": crd.pointer("/spec/versions").and_then(Value::as_array).map(|vs| vs.iter()
                   .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                   .filter_map(|v| v.get("name").cloned()).collect::<Vec<_>>()).unwrap_or_default()}),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_map(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}})
    }

    /// Every store change reaches the watch history in order, each with its own
    /// resourceVersion; a removal carries the resourceVersion of the removal.
    #[test]
    fn the_history_has_every_change_with_its_resource_version() {
        let mut c = Cluster::new(SimConfig::default());
        let start = c.resource_version();
        assert!(c.registry.find("apps.kruise.io", "v1alpha1", "clonesets").is_some());
        let a = c.write(|s, now| s.create(config_map("a"), now)).map(|ok| ok.resource_version).unwrap_or(0);
        let key = ObjectKey::new("v1", "ConfigMap", "default", "a");
        c.write(|s, _| s.remove(&key));
        let seen: Vec<(u64, bool)> = c.changes_since(start).map(|e| (e.rv, e.new.is_some())).collect();
        assert_eq!(seen, [(a, true), (a + 1, false)]);
        let gone = c.changes_since(a).next().and_then(|e| e.old.clone());
        assert_eq!(
            gone.as_deref().and_then(|o| str_at(o, &["metadata", "resourceVersion"])),
            Some(&*(a + 1).to_string())
        );
        assert_eq!(c.changes_since(a + 1).count(), 0);
    }

    fn pod(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}})
    }

    fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a str> {
        obj.pointer("/status/conditions")?
            .as_array()?
            .iter()
            .find(|c| str_at(c, &["type"]) == Some(type_))
            .and_then(|c| str_at(c, &["status"]))
    }

    /// A manual clock stands still while wall time passes: a request only lets the scheduler
    /// act on what is due now (the pod is bound), the kubelet's pull (5 s) does not end until
    /// the test moves the clock; then the pod runs and turns Ready, stamped with virtual times.
    #[test]
    fn a_manual_clock_moves_only_when_stepped() {
        let t0 = 60_000;
        let mut c = Cluster::new_at(SimConfig::default(), t0);
        assert_eq!((c.clock(), c.now(), c.clock_time()), (Clock::Manual, t0, t0));
        c.write(|s, now| s.create(pod("p"), now)).unwrap();
        let key = ObjectKey::new("v1", "Pod", "default", "p");
        std::thread::sleep(std::time::Duration::from_millis(50));
        c.advance();
        assert_eq!(c.now(), t0, "time moved by itself");
        let p = c.store().get(&key).cloned().unwrap();
        assert!(str_at(&p, &["spec", "nodeName"]).is_some_and(|n| n.starts_with("node-")), "{p}");
        assert_ne!(str_at(&p, &["status", "phase"]), Some("Running"), "{p}");
        assert_eq!(
            str_at(&p, &["metadata", "creationTimestamp"]),
            Some(&*kruise_sim::time::timestamp(t0).to_string())
        );
        assert_eq!(c.step(std::time::Duration::from_secs(10)), Ok(t0 + 10_000));
        let p = c.store().get(&key).cloned().unwrap();
        assert_eq!(str_at(&p, &["status", "phase"]), Some("Running"), "{p}");
        assert_eq!(condition(&p, "Ready"), Some("True"), "{p}");
        assert_eq!(c.run_until(t0), Ok(t0 + 10_000), "a manual clock never goes back");
        assert_eq!(c.run_until(t0 + 20_000), Ok(t0 + 20_000));
    }

    /// Two manual clusters given the same requests agree on everything: uids, resourceVersions,
    /// timestamps, nodes.
    #[test]
    fn a_manual_clock_is_deterministic() {
        let run = || {
            let mut c = Cluster::new_at(SimConfig::default(), 5_000);
            for i in 0..3 {
                c.write(|s, now| s.create(pod(&format!("pod-{i}")), now)).unwrap();
                c.step(std::time::Duration::from_millis(2_500)).unwrap();
            }
            c.step(std::time::Duration::from_secs(30)).unwrap();
            (c.store().list("", "Pod").map(|(_, v)| v.clone()).collect::<Vec<_>>(), c.resource_version())
        };
        let (a, b) = (run(), run());
        assert_eq!(a.0.len(), 3);
        assert_eq!(a, b);
    }

    /// `kruise serve`'s clock follows wall time and cannot be moved by hand.
    #[test]
    fn a_wall_clock_cannot_be_stepped() {
        let mut c = Cluster::new(SimConfig::default());
        assert_eq!(c.clock(), Clock::Wall);
        assert!(c.now() + 60_000 > wall_now());
        assert_eq!(c.step(std::time::Duration::from_secs(1)), Err(NotManual));
        assert_eq!(c.run_until(c.now() + 1), Err(NotManual));
    }

    /// The history keeps the last HISTORY changes; older resourceVersions are expired.
    #[test]
    fn the_history_is_bounded() {
        let mut c = Cluster::new(SimConfig::default());
        for i in 0..HISTORY + 10 {
            let _ = c.write(|s, now| s.create(config_map(&format!("名前-{i}")), now));
        }
        assert_eq!(c.changes_since(0).count(), HISTORY);
        assert!(c.oldest_resource_version() > 10);
    }
}
