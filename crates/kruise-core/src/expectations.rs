//! Expectations: the adapter's own writes that its (lagging) cache does not show yet
//! (CS-87 scale expectations, CS-88 resource-version expectations). Pure data: the adapter
//! records what it did and when, feeds every object it sees through [`Expectations::observe_pod`]
//! and friends, and the planner refuses to act on a state that does not include its own writes.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

/// Writes not yet observed, for one workload.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Expectations {
    /// Pods/PVCs created (by name) but not yet seen; value = when the create was sent.
    pub creates: BTreeMap<String, Timestamp>,
    /// Pods/PVCs deleted (by name) but still seen without a deletionTimestamp.
    pub deletes: BTreeMap<String, Timestamp>,
    /// Objects (by uid) updated to at least this resourceVersion, not yet seen that new.
    pub resource_versions: BTreeMap<String, ResourceVersionExpectation>,
}

/// "Object `uid` must be seen at resourceVersion ≥ `resource_version`" (CS-88).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceVersionExpectation {
    /// The resourceVersion the write returned (numeric, as the API server's are).
    pub resource_version: u64,
    /// When it was recorded.
    pub since: Timestamp,
}

/// What is still outstanding, and for how long the oldest entry has waited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// Creates not yet seen.
    pub creates: usize,
    /// Deletes not yet seen.
    pub deletes: usize,
    /// Resource versions not yet seen.
    pub resource_versions: usize,
    /// When the oldest outstanding entry was recorded.
    pub oldest: Timestamp,
}

impl Expectations {
    /// No outstanding writes.
    pub fn new() -> Self {
        Self::default()
    }
    /// Records a create of `name` sent at `at`.
    pub fn expect_create(&mut self, name: &str, at: Timestamp) {
        self.creates.insert(name.to_owned(), at);
    }
    /// Records a delete of `name` sent at `at`.
    pub fn expect_delete(&mut self, name: &str, at: Timestamp) {
        self.deletes.insert(name.to_owned(), at);
    }
    /// Records that object `uid` was written and is now at `resource_version`.
    pub fn expect_resource_version(&mut self, uid: &str, resource_version: u64, at: Timestamp) {
        self.resource_versions
            .insert(uid.to_owned(), ResourceVersionExpectation { resource_version, since: at });
    }
    /// Withdraws a create that failed.
    pub fn forget_create(&mut self, name: &str) {
        self.creates.remove(name);
    }
    /// Withdraws a delete that failed.
    pub fn forget_delete(&mut self, name: &str) {
        self.deletes.remove(name);
    }
    /// Feeds one object as the cache shows it: a create is satisfied once the name is seen, a
    /// delete once the object carries a deletionTimestamp, a resource-version expectation once
    /// the object's resourceVersion is at least the expected one.
    pub fn observe(
        &mut self,
        name: &str,
        uid: Option<&str>,
        resource_version: Option<&str>,
        terminating: bool,
    ) {
        self.creates.remove(name);
        if terminating {
            self.deletes.remove(name);
        }
        if let (Some(uid), Some(rv)) = (uid, resource_version.and_then(|r| r.parse::<u64>().ok()))
            && self.resource_versions.get(uid).is_some_and(|e| rv >= e.resource_version)
        {
            self.resource_versions.remove(uid);
        }
    }
    /// Feeds a deletion seen in the cache (the object is gone).
    pub fn observe_gone(&mut self, name: &str, uid: Option<&str>) {
        self.deletes.remove(name);
        if let Some(uid) = uid {
            self.resource_versions.remove(uid);
        }
    }
    /// Feeds one pod as the cache shows it.
    pub fn observe_pod(&mut self, pod: &k8s_openapi::api::core::v1::Pod) {
        let m = &pod.metadata;
        self.observe(
            m.name.as_deref().unwrap_or_default(),
            m.uid.as_deref(),
            m.resource_version.as_deref(),
            m.deletion_timestamp.is_some(),
        );
    }
    /// Settles every expectation against a full cache listing: names absent from `present`
    /// that were expected deleted are satisfied.
    pub fn observe_listing<'a>(&mut self, present: impl IntoIterator<Item = &'a str>) {
        let present: std::collections::BTreeSet<&str> = present.into_iter().collect();
        self.deletes.retain(|name, _| present.contains(name.as_str()));
    }
    /// True when nothing is outstanding.
    pub fn is_satisfied(&self) -> bool {
        self.creates.is_empty() && self.deletes.is_empty() && self.resource_versions.is_empty()
    }
    /// True when scale expectations (creates/deletes) are all met (CS-87).
    pub fn scale_satisfied(&self) -> bool {
        self.creates.is_empty() && self.deletes.is_empty()
    }
    /// What is outstanding, if anything.
    pub fn pending(&self) -> Option<Pending> {
        let oldest = self
            .creates
            .values()
            .chain(self.deletes.values())
            .chain(self.resource_versions.values().map(|e| &e.since))
            .min()
            .copied()?;
        Some(Pending {
            creates: self.creates.len(),
            deletes: self.deletes.len(),
            resource_versions: self.resource_versions.len(),
            oldest,
        })
    }
    /// Drops every entry recorded before `cutoff` (expired expectations).
    pub fn expire_before(&mut self, cutoff: Timestamp) {
        self.creates.retain(|_, t| *t >= cutoff);
        self.deletes.retain(|_, t| *t >= cutoff);
        self.resource_versions.retain(|_, e| e.since >= cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn cs_87_create_cleared_when_seen() {
        let mut e = Expectations::new();
        e.expect_create("web-abcde", t(10));
        assert!(!e.scale_satisfied());
        e.observe("web-abcde", Some("u1"), Some("5"), false);
        assert!(e.scale_satisfied());
    }

    #[test]
    fn cs_87_delete_cleared_by_deletion_timestamp_or_absence() {
        let mut e = Expectations::new();
        e.expect_delete("a", t(1));
        e.expect_delete("b", t(1));
        e.observe("a", None, None, false);
        assert_eq!(e.deletes.len(), 2);
        e.observe("a", None, None, true);
        e.observe_listing(["x"]);
        assert!(e.scale_satisfied());
    }

    #[test]
    fn cs_88_resource_version_needs_newer_or_equal() {
        let mut e = Expectations::new();
        e.expect_resource_version("u1", 7, t(1));
        e.observe("p", Some("u1"), Some("6"), false);
        assert!(!e.is_satisfied());
        e.observe("p", Some("u1"), Some("7"), false);
        assert!(e.is_satisfied());
    }

    #[test]
    fn pending_reports_oldest() {
        let mut e = Expectations::new();
        e.expect_create("a", t(5));
        e.expect_delete("b", t(3));
        assert_eq!(e.pending().unwrap().oldest, t(3));
        e.expire_before(t(4));
        assert_eq!(e.pending().unwrap().deletes, 0);
    }
}
