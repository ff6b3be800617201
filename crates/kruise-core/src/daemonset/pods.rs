//! Pod facts of an Advanced DaemonSet (ADS-1, ADS-2) and the grouping of pods by target node
//! (ADS-12). Each pod is read once per plan: O(labels + conditions + affinity terms).

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::keys;

use crate::availability::{Boundary, min_ready_remaining, ready_long_enough};
use crate::lifecycle::State;
use crate::podtable::{Facts, Phase};

/// What the planner reads from one pod of the DaemonSet.
#[derive(Clone, Debug)]
pub(crate) struct DsPod<'a> {
    /// The pod.
    pub pod: &'a Pod,
    /// `metadata.name`.
    pub name: &'a str,
    /// Target node (ADS-2): `spec.nodeName`, else the node of the pod's `metadata.name`
    /// affinity field term.
    pub node: &'a str,
    /// `spec.nodeName` is set.
    pub bound: bool,
    /// `metadata.creationTimestamp`.
    pub created: Option<Timestamp>,
    /// `metadata.deletionTimestamp` is set.
    pub terminating: bool,
    /// Phase `Failed`.
    pub failed: bool,
    /// Condition `Ready=True`.
    pub ready: bool,
    /// The Ready condition's `lastTransitionTime`.
    pub ready_since: Option<Timestamp>,
    /// Lifecycle state `PreparingDelete` (ADS-28).
    pub pre_deleting: bool,
    /// On the current hash (ADS-2 `updated`).
    pub updated: bool,
    /// The `controller-revision-hash` label (`""` when absent).
    pub hash: &'a str,
    /// The pod has readiness gate `InPlaceUpdateReady`.
    pub inplace_gate: bool,
    /// Condition `InPlaceUpdateReady` is present with a status other than `True`.
    pub inplace_not_ready: bool,
    /// Condition `InPlaceUpdateReady` is present with status `True`.
    pub inplace_ready: bool,
    /// Carries an in-place state annotation (either key).
    pub has_state: bool,
}

impl DsPod<'_> {
    /// ADS-2 *available(minReadySeconds, now)*: ready, and either `minReadySeconds == 0` or the
    /// Ready condition's `lastTransitionTime` is set and `lastTransitionTime + minReadySeconds
    /// < now` (strict).
    pub fn is_available(&self, min_ready: i32, now: Timestamp) -> bool {
        self.ready && ready_long_enough(self.ready_since, min_ready, now, Boundary::Strict)
    }

    /// How long until a ready pod becomes available, rounded up to whole seconds (at least
    /// 1 s); `None` when it is available already, not ready, or has no transition time.
    pub fn ready_remaining(&self, min_ready: i32, now: Timestamp) -> Option<Duration> {
        if !self.ready || min_ready <= 0 || self.ready_since.is_none() || self.is_available(min_ready, now) {
            return None;
        }
        let left = min_ready_remaining(self.ready_since, min_ready, now);
        Some(Duration::from_secs((left.as_secs() + u64::from(left.subsec_nanos() > 0)).max(1)))
    }

    /// ADS-2 *statusAvailable*: available and, with the `InPlaceUpdateReady` gate, that
    /// condition not present-and-not-True.
    pub fn status_available(&self, min_ready: i32, now: Timestamp) -> bool {
        self.is_available(min_ready, now) && !(self.inplace_gate && self.inplace_not_ready)
    }
}

/// ADS-2 target node: `spec.nodeName`, else the single value of the first `matchFields`
/// requirement `metadata.name In [x]` of the required node affinity. `None`: no target.
pub fn target_node(pod: &Pod) -> Option<&str> {
    crate::nodetable::assigned_node(pod.spec.as_ref())
}

/// What ADS-2 `updated` compares against.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UpdatedBy<'a> {
    /// The current hash.
    pub hash: &'a str,
    /// The DS annotation `deprecated.daemonset.template.generation`, when parsable.
    pub generation: Option<i64>,
}

impl UpdatedBy<'_> {
    /// ADS-2 *updated* of a pod read already: its hash label compared first, its labels read
    /// only for the legacy generation.
    pub fn updated_pod(&self, p: &DsPod<'_>) -> bool {
        (!self.hash.is_empty() && p.hash == self.hash)
            || (self.generation.is_some() && self.updated(p.pod.metadata.labels.as_ref()))
    }

    /// ADS-2 *updated(pod, hash)*.
    pub fn updated(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        let label = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
        (!self.hash.is_empty() && label(keys::CONTROLLER_REVISION_HASH) == Some(self.hash))
            || self
                .generation
                .is_some_and(|g| label(keys::POD_TEMPLATE_GENERATION) == Some(g.to_string().as_str()))
    }
}

/// Reads one pod (ADS-2). `None` when it has no target node (ignored entirely).
#[cfg(test)]
pub(crate) fn read<'a>(pod: &'a Pod, by: UpdatedBy<'_>) -> Option<DsPod<'a>> {
    let s = Facts::scan(pod);
    from_facts(pod, s.name, &s.facts, s.revision, s.node, by)
}

/// One pod from its shared facts (a [`PodTable`](crate::podtable::PodTable) row or
/// [`Facts::scan`]), its `controller-revision-hash` label `revision` and its `spec.nodeName`
/// `node` (empty: the target node is read from the pod's affinity). O(1) for a bound pod
/// unless the DaemonSet carries the legacy generation annotation.
pub(crate) fn from_facts<'a>(
    pod: &'a Pod,
    name: &'a str,
    f: &Facts,
    revision: &'a str,
    node: &'a str,
    by: UpdatedBy<'_>,
) -> Option<DsPod<'a>> {
    let node = if node.is_empty() { target_node(pod)? } else { node };
    let updated = (!by.hash.is_empty() && revision == by.hash)
        || (by.generation.is_some() && by.updated(pod.metadata.labels.as_ref()));
    Some(DsPod {
        pod,
        name,
        node,
        bound: f.scheduled,
        created: f.created,
        terminating: f.terminating,
        failed: f.phase == Phase::Failed,
        ready: f.ready,
        ready_since: f.ready_since,
        pre_deleting: f.state == State::PreparingDelete,
        updated,
        hash: revision,
        inplace_gate: f.inplace_gate,
        inplace_not_ready: f.inplace_ready_present && !f.inplace_ready_ok,
        inplace_ready: f.inplace_ready_present && f.inplace_ready_ok,
        has_state: f.has_state,
    })
}

/// ADS-12 order within a node: pods with `spec.nodeName` first, then by creation time
/// ascending (unset first), then by name.
pub(crate) fn oldest_first(a: &DsPod<'_>, b: &DsPod<'_>) -> std::cmp::Ordering {
    b.bound.cmp(&a.bound).then_with(|| a.created.cmp(&b.created)).then_with(|| a.name.cmp(b.name))
}

/// Pods grouped per node (ADS-12), against a node list.
pub(crate) struct Grouped<'a> {
    /// Pods of listed nodes, in node-list order, each node's pods oldest first.
    pub pods: Vec<DsPod<'a>>,
    /// Per listed node, the range of its pods in `pods`.
    pub ranges: Vec<(usize, usize)>,
    /// Pods whose target node is not listed, by node name, oldest first.
    pub unlisted: BTreeMap<&'a str, Vec<DsPod<'a>>>,
}

/// ADS-12: pods grouped by target node (terminating ones included), each group oldest first.
/// `nodes` is the node list; one hash look-up per pod (FNV, no string comparisons in a tree),
/// one sort on the node position. O(p log p + n).
pub(crate) fn group_by_nodes<'a>(pods: Vec<DsPod<'a>>, nodes: &[&str]) -> Grouped<'a> {
    type Fnv = std::hash::BuildHasherDefault<crate::hash::FnvHasher>;
    let index: std::collections::HashMap<&str, usize, Fnv> =
        nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    // Sort (node position, pod index) keys, not the pod records.
    let mut keyed: Vec<(usize, usize)> = Vec::with_capacity(pods.len());
    let mut slots: Vec<Option<DsPod<'a>>> = Vec::with_capacity(pods.len());
    let mut unlisted: BTreeMap<&'a str, Vec<DsPod<'a>>> = BTreeMap::new();
    for p in pods {
        match index.get(p.node) {
            Some(&i) => {
                keyed.push((i, slots.len()));
                slots.push(Some(p));
            }
            None => unlisted.entry(p.node).or_default().push(p),
        }
    }
    keyed.sort_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| match (&slots[a.1], &slots[b.1]) {
            (Some(x), Some(y)) => oldest_first(x, y),
            _ => std::cmp::Ordering::Equal,
        })
    });
    for v in unlisted.values_mut() {
        v.sort_by(oldest_first);
    }
    let mut ranges = vec![(0, 0); nodes.len()];
    let mut i = 0;
    while i < keyed.len() {
        let node = keyed[i].0;
        let start = i;
        while i < keyed.len() && keyed[i].0 == node {
            i += 1;
        }
        ranges[node] = (start, i);
    }
    let pods = keyed.iter().filter_map(|&(_, i)| slots[i].take()).collect();
    Grouped { pods, ranges, unlisted }
}
