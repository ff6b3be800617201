//! The informer cache controllers read from: every store change reaches it after a lag
//! (default small but non-zero), in order, so a controller's own writes are invisible for a
//! moment and the expectations logic (CS-87/CS-88) is exercised for real.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

use crate::store::{Change, ObjectKey, str_at};
use crate::time::SimTime;

/// A lagging, ordered view of the store.
#[derive(Debug, Default)]
pub struct Cache {
    objects: BTreeMap<ObjectKey, Value>,
    pods: BTreeMap<ObjectKey, Pod>,
    /// Owner uid → dependents, for finding a workload's pods without a scan.
    by_owner: BTreeMap<String, BTreeSet<ObjectKey>>,
    /// Changes waiting, keyed by (visible at, arrival order).
    queue: BTreeMap<(SimTime, u64), Change>,
    seq: u64,
    /// Per kind: when its latest queued change becomes visible (one watch per kind delivers
    /// in order; different kinds' watches are independent).
    last_visible: BTreeMap<(String, String), SimTime>,
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues a change to become visible at `now + lag` (never before an earlier change of
    /// the same kind: a watch delivers in order). Returns the time it becomes visible.
    pub fn push(&mut self, change: Change, now: SimTime, lag: SimTime) -> SimTime {
        let watch = (change.key.group.clone(), change.key.kind.clone());
        let last = self.last_visible.entry(watch).or_default();
        let visible_at = (now + lag).max(*last);
        *last = visible_at;
        self.seq += 1;
        self.queue.insert((visible_at, self.seq), change);
        visible_at
    }

    /// Delivers every change visible at `now`; returns them in order.
    pub fn deliver(&mut self, now: SimTime) -> Vec<Change> {
        let mut out = Vec::new();
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let change = entry.remove();
            self.apply(&change);
            out.push(change);
        }
        out
    }

    /// When the next queued change becomes visible.
    pub fn next_visible(&self) -> Option<SimTime> {
        self.queue.keys().next().map(|(t, _)| *t)
    }

    /// Number of changes not yet visible.
    pub fn backlog(&self) -> usize {
        self.queue.len()
    }

    fn apply(&mut self, change: &Change) {
        if let Some(old) = self.objects.remove(&change.key) {
            for owner in owner_uids(&old) {
                if let Some(set) = self.by_owner.get_mut(&owner) {
                    set.remove(&change.key);
                    if set.is_empty() {
                        self.by_owner.remove(&owner);
                    }
                }
            }
        }
        self.pods.remove(&change.key);
        if let Some(new) = &change.new {
            for owner in owner_uids(new) {
                self.by_owner.entry(owner).or_default().insert(change.key.clone());
            }
            if change.key.is_pod()
                && let Ok(pod) = serde_json::from_value::<Pod>(new.clone())
            {
                self.pods.insert(change.key.clone(), pod);
            }
            self.objects.insert(change.key.clone(), new.clone());
        }
    }

    /// One object as the cache shows it.
    pub fn get(&self, key: &ObjectKey) -> Option<&Value> {
        self.objects.get(key)
    }

    /// All objects of a kind.
    pub fn list<'a>(
        &'a self,
        group: &'a str,
        kind: &'a str,
    ) -> impl Iterator<Item = (&'a ObjectKey, &'a Value)> + 'a {
        self.objects.iter().filter(move |(k, _)| k.group == group && k.kind == kind)
    }

    /// Keys of the objects whose owner references name `uid`, in key order.
    pub fn owned_by(&self, uid: &str) -> impl Iterator<Item = &ObjectKey> {
        self.by_owner.get(uid).into_iter().flatten()
    }

    /// A pod, typed.
    pub fn pod(&self, key: &ObjectKey) -> Option<&Pod> {
        self.pods.get(key)
    }
}

/// The uids an object's owner references name.
pub fn owner_uids(v: &Value) -> Vec<String> {
    v.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| refs.iter().filter_map(|r| str_at(r, &["uid"]).map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// The uid of an object's controlling owner reference, if any.
pub fn controller_uid(v: &Value) -> Option<&str> {
    v.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .and_then(|r| str_at(r, &["uid"]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(name: &str, rv: &str) -> Change {
        Change {
            key: ObjectKey::pod("default", name),
            old: None,
            new: Some(
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default", "resourceVersion": rv, "ownerReferences": [{"uid": "w", "controller": true}]}}),
            ),
        }
    }

    #[test]
    fn changes_appear_after_the_lag_in_order() {
        let mut c = Cache::new();
        assert_eq!(c.push(change("a", "1"), 0, 500), 500);
        // A shorter lag later never overtakes an earlier change.
        assert_eq!(c.push(change("b", "2"), 100, 100), 500);
        assert!(c.deliver(499).is_empty());
        assert!(c.get(&ObjectKey::pod("default", "a")).is_none());
        let got: Vec<String> = c.deliver(500).into_iter().map(|ch| ch.key.name).collect();
        assert_eq!(got, ["a", "b"]);
        assert_eq!(c.owned_by("w").count(), 2);
        // Another kind's watch is independent: a short lag is not held back by pods.
        let node = Change {
            key: ObjectKey::node("n"),
            old: None,
            new: Some(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}})),
        };
        c.push(change("c", "3"), 600, 1_000);
        assert_eq!(c.push(node, 600, 10), 610);
        assert!(c.pod(&ObjectKey::pod("default", "a")).is_some());
    }

    #[test]
    fn removal_updates_owner_index() {
        let mut c = Cache::new();
        c.push(change("a", "1"), 0, 0);
        c.push(Change { key: ObjectKey::pod("default", "a"), old: None, new: None }, 0, 0);
        c.deliver(0);
        assert_eq!(c.owned_by("w").count(), 0);
        assert_eq!(c.backlog(), 0);
    }
}
