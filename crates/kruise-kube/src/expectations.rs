//! [`ExpectationsStore`]: the pure [`Expectations`] of kruise-core, one per workload, shared
//! between reconciles and watch-event handlers (CS-87 scale expectations, CS-88
//! resource-version expectations).
//!
//! The executor records every create/delete *before* sending it (and withdraws it if the call
//! fails) and the resourceVersion an update returned; the watch streams and each reconcile's
//! snapshot settle them. The planner is handed a copy and refuses to act on a cache that does
//! not yet show the adapter's own writes, so a lagging cache never causes a second create or
//! delete.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kruise_core::Expectations;
use kruise_core::reconciler::World;

use crate::key::WorkloadKey;

/// Expectations of every workload a controller drives, keyed by `namespace/name`.
#[derive(Debug, Default)]
pub struct ExpectationsStore {
    inner: Mutex<BTreeMap<WorkloadKey, Expectations>>,
}

impl ExpectationsStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<WorkloadKey, Expectations>> {
        // A panic while holding the lock cannot leave the map half-updated (every mutation is
        // one BTreeMap call), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of `key`'s outstanding expectations (empty if none).
    pub fn snapshot(&self, key: &WorkloadKey) -> Expectations {
        self.lock().get(key).cloned().unwrap_or_default()
    }

    /// Runs `f` on `key`'s expectations, creating them if needed; drops the entry when it is
    /// satisfied afterwards.
    pub fn update<T>(&self, key: &WorkloadKey, f: impl FnOnce(&mut Expectations) -> T) -> T {
        let mut map = self.lock();
        let entry = map.entry(key.clone()).or_default();
        let out = f(entry);
        if entry.is_satisfied() {
            map.remove(key);
        }
        out
    }

    /// Records a create of `name` sent at `at` (CS-87).
    pub fn expect_create(&self, key: &WorkloadKey, name: &str, at: Timestamp) {
        self.update(key, |e| e.expect_create(name, at));
    }

    /// Records a delete of `name` sent at `at` (CS-87).
    pub fn expect_delete(&self, key: &WorkloadKey, name: &str, at: Timestamp) {
        self.update(key, |e| e.expect_delete(name, at));
    }

    /// Withdraws a create whose API call failed.
    pub fn forget_create(&self, key: &WorkloadKey, name: &str) {
        self.update(key, |e| e.forget_create(name));
    }

    /// Withdraws a delete whose API call failed.
    pub fn forget_delete(&self, key: &WorkloadKey, name: &str) {
        self.update(key, |e| e.forget_delete(name));
    }

    /// Records that object `uid` is at `resource_version` after our write (CS-88).
    pub fn expect_resource_version(
        &self,
        key: &WorkloadKey,
        uid: &str,
        resource_version: u64,
        at: Timestamp,
    ) {
        self.update(key, |e| e.expect_resource_version(uid, resource_version, at));
    }

    /// Feeds one object seen by a watch (created, updated, or marked for deletion).
    pub fn observe(&self, key: &WorkloadKey, meta: &ObjectMeta) {
        let mut map = self.lock();
        if let Some(e) = map.get_mut(key) {
            e.observe(
                meta.name.as_deref().unwrap_or_default(),
                meta.uid.as_deref(),
                meta.resource_version.as_deref(),
                meta.deletion_timestamp.is_some(),
            );
            if e.is_satisfied() {
                map.remove(key);
            }
        }
    }

    /// Feeds one object a watch reported deleted.
    pub fn observe_gone(&self, key: &WorkloadKey, meta: &ObjectMeta) {
        let mut map = self.lock();
        if let Some(e) = map.get_mut(key) {
            e.observe_gone(meta.name.as_deref().unwrap_or_default(), meta.uid.as_deref());
            if e.is_satisfied() {
                map.remove(key);
            }
        }
    }

    /// Settles `key`'s expectations against a whole observed [`World`] (what the cache shows
    /// now) and returns what is still outstanding. Deletes of pods and PVCs that are no longer
    /// listed are satisfied.
    pub fn settle<W>(&self, key: &WorkloadKey, world: &World<'_, W>) -> Expectations {
        let mut map = self.lock();
        let Some(e) = map.get_mut(key) else {
            return Expectations::new();
        };
        let metas = world
            .pods
            .iter()
            .map(|p| &p.metadata)
            .chain(world.pvcs.iter().map(|p| &p.metadata))
            .chain(world.revisions.iter().map(|r| &r.metadata));
        for m in metas {
            e.observe(
                m.name.as_deref().unwrap_or_default(),
                m.uid.as_deref(),
                m.resource_version.as_deref(),
                m.deletion_timestamp.is_some(),
            );
        }
        let present = world
            .pods
            .iter()
            .filter_map(|p| p.metadata.name.as_deref())
            .chain(world.pvcs.iter().filter_map(|p| p.metadata.name.as_deref()));
        e.observe_listing(present);
        let out = e.clone();
        if e.is_satisfied() {
            map.remove(key);
        }
        out
    }

    /// Drops the expectations of `key` (the workload is gone, CS-23 step 1).
    pub fn forget(&self, key: &WorkloadKey) {
        self.lock().remove(key);
    }

    /// Keeps only the workloads for which `keep` is true.
    pub fn retain(&self, mut keep: impl FnMut(&WorkloadKey) -> bool) {
        self.lock().retain(|k, _| keep(k));
    }

    /// Number of workloads with outstanding expectations.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no workload has outstanding expectations.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Pod;

    fn pod(name: &str, rv: &str) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                uid: Some(format!("uid-{name}")),
                resource_version: Some(rv.into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn cs_87_settle_clears_seen_creates_and_absent_deletes() {
        let store = ExpectationsStore::new();
        let key = WorkloadKey::new("default", "web");
        let t = Timestamp::UNIX_EPOCH;
        store.expect_create(&key, "web-a", t);
        store.expect_create(&key, "web-b", t);
        store.expect_delete(&key, "web-old", t);
        let pods = [pod("web-a", "5")];
        let world = World::new(&()).with_pods(&pods);
        let left = store.settle(&key, &world);
        assert_eq!(left.creates.keys().collect::<Vec<_>>(), ["web-b"]);
        assert!(left.deletes.is_empty());
        assert_eq!(store.len(), 1);
        let pods = [pod("web-a", "5"), pod("web-b", "6")];
        let world = World::new(&()).with_pods(&pods);
        assert!(store.settle(&key, &world).is_satisfied());
        assert!(store.is_empty());
    }

    #[test]
    fn cs_88_resource_version_cleared_by_watch_event() {
        let store = ExpectationsStore::new();
        let key = WorkloadKey::new("default", "web");
        store.expect_resource_version(&key, "uid-web-a", 12, Timestamp::UNIX_EPOCH);
        store.observe(&key, &pod("web-a", "11").metadata);
        assert_eq!(store.snapshot(&key).resource_versions.len(), 1);
        store.observe(&key, &pod("web-a", "12").metadata);
        assert!(store.is_empty());
    }
}
