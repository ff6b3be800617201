//! The served cluster's state: the simulator (its store, scheduler and kubelets, no
//! controllers) on a virtual clock that follows wall time, the resources served, the watch
//! history and what each field manager applied last.

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

/// The cluster.
pub struct Cluster {
    sim: Sim,
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
    /// and `kube-node-lease`, and the CRDs of kruise-api's kinds, at the current wall time.
    pub fn new(config: SimConfig) -> Self {
        let mut sim = Sim::new(config);
        // The simulator creates its nodes at virtual time 0; here they join the cluster now.
        if let Err(e) = sim.run_until(wall_now(), |_| false) {
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
            established(&mut v);
            if c.registry.add_crd(&v).is_ok() {
                let _ = c.write(|s, now| s.create(v, now));
            }
        }
        c
    }

    /// Brings the virtual clock up to wall time: the scheduler and kubelets act on everything
    /// due by now.
    pub fn advance(&mut self) {
        let now = wall_now();
        if now > self.sim.now()
            && let Err(e) = self.sim.run_until(now, |_| false)
        {
            tracing::warn!(error = %e, "simulation stopped early");
        }
        self.drain();
    }

    /// The virtual clock (ms; follows wall time).
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
/// condition=established` looks for).
pub fn established(crd: &mut Value) {
    let now = kruise_sim::time::timestamp(wall_now()).to_string();
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
