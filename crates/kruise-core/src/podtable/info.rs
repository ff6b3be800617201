//! Per-pod facts computed once per plan (CS-24, CS-31, CS-34, CS-35, CS-77): every later step
//! reads these instead of re-scanning labels and conditions. Cost: O(labels + conditions)
//! per pod, done once.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::keys;

use super::Facts;
use crate::availability;

pub use crate::lifecycle::State;

/// Text after the last `-` (the short hash of a revision name, CS-31).
pub fn short_hash(s: &str) -> &str {
    match s.as_bytes().iter().rposition(|&b| b == b'-') {
        Some(i) => &s[i + 1..],
        None => s,
    }
}

/// CS-31: a pod labelled `label` equals revision `rev` if the label is the name, or the texts
/// after the last `-` agree.
pub fn revision_matches(label: &str, rev: &str) -> bool {
    revision_matches_short(label, rev, short_hash(rev))
}

/// [`revision_matches`] with `rev_short = short_hash(rev)` computed once by the caller. O(len):
/// `short_hash(label) == rev_short` holds exactly when `label` ends with `rev_short` (which has
/// no `-`) right after a `-` or at its start.
pub(crate) fn revision_matches_short(label: &str, rev: &str, rev_short: &str) -> bool {
    if label.is_empty() {
        return false;
    }
    if label == rev {
        return true;
    }
    let (l, h) = (label.as_bytes(), rev_short.as_bytes());
    l.ends_with(h) && (l.len() == h.len() || l[l.len() - h.len() - 1] == b'-')
}

/// `Facts::node_id` when the node id is not known (the pod came from a slice): read the node
/// name from the pod.
pub const NODE_UNKNOWN: u32 = u32::MAX;

/// Facts about one active, claimed pod, for one plan: the pod's own [`Facts`] (readable
/// through `Deref`: `p.ready`, `p.state`, ...) plus what depends on the CloneSet and `now`
/// (availability, revision, `podsToDelete`).
#[derive(Clone, Debug)]
pub(crate) struct PodInfo<'a> {
    /// The pod's own facts.
    pub f: &'a Facts,
    /// The pod.
    pub pod: &'a Pod,
    /// Its name.
    pub name: &'a str,
    /// `controller-revision-hash` (or `""`).
    pub revision: &'a str,
    /// Position in the plan's pod records (`Ctx::pods`).
    pub idx: u32,
    /// Max restartCount once computed (-1 = not yet).
    restarts_cache: std::cell::Cell<i32>,
    /// CS-35: labelled `specified-delete` or named in `podsToDelete`.
    pub specified_delete: bool,
    /// Named in `podsToDelete`.
    pub listed: bool,
    /// CS-34 `available(p, minReadySeconds)`.
    pub available: bool,
    /// CS-34 `updateReady(p, 0)`.
    pub update_ready: bool,
    /// CS-34 `readyForDelete(p)` = `available(p, 0)`.
    pub ready_for_delete: bool,
    /// Equals the update revision (plain, CS-31).
    pub is_update: bool,
    /// Equals the update revision for scale maths (with `PreparingUpdateAsUpdate`).
    pub is_update_scale: bool,
}

impl std::ops::Deref for PodInfo<'_> {
    type Target = Facts;
    fn deref(&self) -> &Facts {
        self.f
    }
}

/// Inputs of [`PodInfo::from_facts`] that are the same for every pod.
#[derive(Clone, Debug)]
pub(crate) struct PodEnv {
    /// `now`.
    pub now: Timestamp,
    /// `minReadySeconds`.
    pub min_ready_seconds: i32,
    /// The update revision name.
    pub update_revision: String,
    /// `short_hash(update_revision)`.
    pub update_short: String,
    /// Gate `PreparingUpdateAsUpdate`.
    pub preparing_update_as_update: bool,
}

impl PodEnv {
    /// CS-31 against the update revision.
    pub fn is_update(&self, revision: &str) -> bool {
        revision_matches_short(revision, &self.update_revision, &self.update_short)
    }
}

/// What a plan derives from one pod's [`Facts`] (CS-31, CS-34, CS-35). O(1).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Derived {
    /// CS-35.
    pub specified_delete: bool,
    /// CS-34 `available(p, minReadySeconds)`.
    pub available: bool,
    /// CS-34 `updateReady(p, 0)`.
    pub update_ready: bool,
    /// CS-34 `readyForDelete(p)`.
    pub ready_for_delete: bool,
    /// CS-31 (plain).
    pub is_update: bool,
    /// CS-31 for scale maths (`PreparingUpdateAsUpdate`).
    pub is_update_scale: bool,
}

impl Derived {
    /// `listed` = named in `podsToDelete`; `is_update` = `env.is_update(revision)`.
    #[inline(always)]
    pub fn of(f: &Facts, env: &PodEnv, listed: bool, is_update: bool) -> Self {
        let lifecycle_ok = availability::lifecycle_ok(f.state);
        let update_ready = availability::update_ready(f);
        Self {
            specified_delete: f.specified_label || listed,
            available: availability::available(f, env.min_ready_seconds, env.now),
            update_ready,
            ready_for_delete: lifecycle_ok && update_ready,
            is_update,
            is_update_scale: is_update
                || (env.preparing_update_as_update && f.state == State::PreparingUpdate),
        }
    }
}

impl<'a> PodInfo<'a> {
    /// Reads the pod's facts (O(labels + annotations + conditions)) and derives the rest;
    /// `listed` = the pod's name is in `podsToDelete` (CS-35).
    #[cfg(test)]
    pub fn new(pod: &'a Pod, env: &PodEnv, listed: bool) -> Self {
        let s = Facts::scan(pod);
        let is_update = env.is_update(s.revision);
        // Test helper: the record borrows its facts, so they are leaked (a few per test).
        let facts: &'a Facts = Box::leak(Box::new(s.facts));
        Self::from_facts(pod, s.name, s.revision, 0, facts, env, listed, is_update)
    }

    /// Derives the plan-dependent facts (CS-34 availability, CS-31 revision) from a pod's
    /// [`Facts`] in O(1), without reading the pod. `is_update` = `env.is_update(revision)`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn from_facts(
        pod: &'a Pod,
        name: &'a str,
        revision: &'a str,
        idx: u32,
        f: &'a Facts,
        env: &PodEnv,
        listed: bool,
        is_update: bool,
    ) -> Self {
        let d = Derived::of(f, env, listed, is_update);
        Self {
            f,
            pod,
            name,
            revision,
            idx,
            restarts_cache: std::cell::Cell::new(-1),
            specified_delete: d.specified_delete,
            listed,
            available: d.available,
            update_ready: d.update_ready,
            ready_for_delete: d.ready_for_delete,
            is_update,
            is_update_scale: d.is_update_scale,
        }
    }

    /// The instance id label (read from the pod: only scale and PVC steps need it).
    pub fn instance_id(&self) -> Option<&'a str> {
        self.label(keys::CLONESET_INSTANCE_ID)
    }

    /// `spec.nodeName` (`""` when unscheduled), read from the pod.
    pub fn node_name(&self) -> &'a str {
        self.pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or_default()
    }

    /// The pod has the `InPlaceUpdateReady` readiness gate (computed on demand).
    pub fn has_inplace_gate(&self) -> bool {
        self.pod
            .spec
            .as_ref()
            .and_then(|s| s.readiness_gates.as_deref())
            .is_some_and(|g| g.iter().any(|g| g.condition_type == keys::INPLACE_UPDATE_READY))
    }

    /// Max container restartCount (computed on demand, only while sorting).
    pub fn restarts(&self) -> i32 {
        let cached = self.restarts_cache.get();
        if cached >= 0 {
            return cached;
        }
        let v = self
            .pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or_default()
            .iter()
            .map(|c| c.restart_count)
            .max()
            .unwrap_or(0)
            .max(0);
        self.restarts_cache.set(v);
        v
    }

    /// A label value.
    pub fn label(&self, key: &str) -> Option<&'a str> {
        self.pod.metadata.labels.as_ref().and_then(|l| l.get(key)).map(String::as_str)
    }

    /// The pod's labels (empty map if none).
    pub fn labels(&self) -> &'a BTreeMap<String, String> {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        self.pod.metadata.labels.as_ref().unwrap_or(&EMPTY)
    }
}

/// CS-52 key 5: a deletion cost is valid when it is an optional `-`, digits without leading
/// zeros (except `"0"`), and fits in int32.
pub(crate) fn parse_deletion_cost(v: &str) -> Option<i32> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    v.parse().ok()
}

#[cfg(test)]
mod fast_path_tests {
    use super::*;

    /// The definition of CS-31 as written, for comparison with the precomputed form.
    fn reference(label: &str, rev: &str) -> bool {
        let sh = |s: &str| s.rsplit('-').next().unwrap_or(s).to_owned();
        !label.is_empty() && (label == rev || sh(label) == sh(rev))
    }

    #[test]
    fn cs_31_revision_match_with_precomputed_short_hash_agrees_with_definition() {
        let names = [
            "",
            "-",
            "a",
            "a-",
            "-a",
            "demo-abc",
            "abc",
            "x-abc",
            "demo-xabc",
            "demo-ab",
            "a-b-abc",
            "demo-",
        ];
        for l in names {
            for r in names {
                assert_eq!(revision_matches(l, r), reference(l, r), "label {l:?} rev {r:?}");
                assert_eq!(
                    revision_matches_short(l, r, short_hash(r)),
                    reference(l, r),
                    "label {l:?} rev {r:?}"
                );
            }
        }
    }

    /// The per-pod working record stays within the 256-byte budget of the performance
    /// targets (docs/performance.md); the planner keeps one per active pod.
    #[test]
    fn per_pod_record_fits_the_memory_budget() {
        let size = std::mem::size_of::<PodInfo<'static>>();
        println!("PodInfo: {size} bytes");
        assert!(size <= 256, "PodInfo is {size} bytes");
    }
}
