//! [`PodTable`]: a pod-owning workload's pods with their planning facts computed once per pod
//! version, for adapters that keep a cache and plan often; and [`Pods`], how a planner's input
//! (e.g. [`cloneset::Input`](crate::cloneset::Input)) receives pods (a plain slice or a table).
//! Any workload that owns pods by controller reference and selector ([`PodOwner`]) uses it.
//!
//! Why: every plan must look at every pod (the status counters, CS-82, and the diff,
//! CS-37..CS-41, need readiness and revision of all of them). Read from k8s-openapi `Pod`s,
//! those few facts are spread over a dozen separate heap allocations per pod (the label map's
//! nodes and strings, the conditions, the owner references), and at 100k pods nearly every
//! read misses the cache (docs/performance.md). A table extracts the facts when a pod changes
//! (one watch event, O(labels + annotations + conditions + log n)) into a compact row, so a
//! plan scans rows in name order and touches a `Pod` only for the pods an action or a hold
//! concerns. Plans from a table and from the same pods as a slice are identical: every
//! planner unit test plans both ways and compares, as do the property tests and the
//! `cloneset_plan` fuzz target.
//!
//! The claim facts (owned by this workload, controlled, matching the selector; CS-24)
//! depend on the workload's uid, kind, name and selector; the table records the ones it computed
//! them for. [`PodTable::retarget`] recomputes them after a selector change; a plan given a
//! table built for other values recomputes them itself from the pods (slower, same result).

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kruise_api::keys;

pub(crate) mod info;

use info::{NODE_UNKNOWN, State, parse_deletion_cost};
use kruise_api::selector::Selector;

/// How [`Input`](crate::cloneset::Input) receives the pods: a slice (facts are computed per plan,
/// O(n) reads of each pod) or a [`PodTable`] (facts precomputed; a plan reads one compact
/// row per pod).
#[derive(Clone, Copy, Debug)]
pub enum Pods<'a> {
    /// Pods in any order (sorted by name inside the plan when needed).
    Slice(&'a [Pod]),
    /// A table kept by the adapter.
    Table(&'a PodTable),
}

impl<'a> From<&'a [Pod]> for Pods<'a> {
    fn from(p: &'a [Pod]) -> Self {
        Pods::Slice(p)
    }
}

impl<'a> From<&'a Vec<Pod>> for Pods<'a> {
    fn from(p: &'a Vec<Pod>) -> Self {
        Pods::Slice(p.as_slice())
    }
}

impl<'a, const N: usize> From<&'a [Pod; N]> for Pods<'a> {
    fn from(p: &'a [Pod; N]) -> Self {
        Pods::Slice(p.as_slice())
    }
}

impl<'a> From<&'a mut Vec<Pod>> for Pods<'a> {
    fn from(p: &'a mut Vec<Pod>) -> Self {
        Pods::Slice(p.as_slice())
    }
}

impl<'a> From<&'a PodTable> for Pods<'a> {
    fn from(t: &'a PodTable) -> Self {
        Pods::Table(t)
    }
}

impl<'a> Pods<'a> {
    /// Number of pods.
    pub fn len(&self) -> usize {
        match self {
            Pods::Slice(s) => s.len(),
            Pods::Table(t) => t.len(),
        }
    }

    /// True when there are no pods.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every pod (slice order, or name order for a table).
    pub fn iter(&self) -> impl Iterator<Item = &'a Pod> + 'a {
        let (s, t): (&'a [Pod], Option<&'a PodTable>) = match *self {
            Pods::Slice(s) => (s, None),
            Pods::Table(t) => (&[], Some(t)),
        };
        s.iter().chain(t.into_iter().flat_map(|t| t.rows.iter().map(|r| &*r.pod)))
    }

    /// The pods as a slice, for a planner whose input is one: a slice is borrowed, a table's
    /// pods are cloned once into a `Vec` (name order). O(1), or O(total pod size).
    pub fn to_slice(&self) -> std::borrow::Cow<'a, [Pod]> {
        match *self {
            Pods::Slice(s) => std::borrow::Cow::Borrowed(s),
            Pods::Table(t) => std::borrow::Cow::Owned(t.pods().map(|p| (**p).clone()).collect()),
        }
    }

    /// The pod named `name`: O(log n) for a table, O(n) for a slice.
    pub fn get(&self, name: &str) -> Option<&'a Pod> {
        match *self {
            Pods::Slice(s) => s.iter().find(|p| p.metadata.name.as_deref() == Some(name)),
            Pods::Table(t) => t.get(name),
        }
    }
}

impl<'a> IntoIterator for Pods<'a> {
    type Item = &'a Pod;
    type IntoIter = Box<dyn Iterator<Item = &'a Pod> + 'a>;

    /// Every pod (slice order, or name order for a table).
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// What one pod says about itself, independent of any CloneSet (CS-31, CS-34, CS-35, CS-77).
/// Computed once per pod version: O(labels + annotations + conditions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Facts {
    /// creationTimestamp.
    pub created: Option<Timestamp>,
    /// Ready lastTransitionTime.
    pub ready_since: Option<Timestamp>,
    /// `controller.kubernetes.io/pod-deletion-cost` (invalid ⇒ 0).
    pub deletion_cost: i32,
    /// Lifecycle state label.
    pub state: State,
    /// `Pending 0 < Unknown 1 < Running 2` (others 0).
    pub phase_rank: u8,
    /// Phase `Running`.
    pub running: bool,
    /// Ready condition True.
    pub ready: bool,
    /// `InPlaceUpdateReady` absent or True.
    pub inplace_ready_ok: bool,
    /// `InPlaceUpdateReady` True with empty reason and message.
    pub inplace_ready_clean: bool,
    /// `spec.nodeName` set.
    pub scheduled: bool,
    /// Carries the `specified-delete` label.
    pub specified_label: bool,
    /// Carries the in-place grace annotation (either key).
    pub has_grace: bool,
    /// Carries the in-place state annotation (either key).
    pub has_state: bool,
    /// Carries `pod-template-hash`.
    pub has_template_hash: bool,
    /// CS-24: phase not Succeeded/Failed and no deletionTimestamp.
    pub active: bool,
    /// Has a deletionTimestamp.
    pub terminating: bool,
    /// Interned `spec.nodeName` in a [`PodTable`], else [`NODE_UNKNOWN`].
    pub node_id: u32,
    /// `status.phase`.
    pub phase: Phase,
    /// The pod has the readiness gate `InPlaceUpdateReady`.
    pub inplace_gate: bool,
    /// A condition `InPlaceUpdateReady` is present (its status is in `inplace_ready_ok`).
    pub inplace_ready_present: bool,
    /// ASTS-16: the label `statefulset.kubernetes.io/pod-name` equals the pod's name.
    pub pod_name_label_ok: bool,
    /// ASTS-16: the label `apps.kubernetes.io/pod-index` read as a canonical decimal (no sign,
    /// no leading zero), or -1 when absent or not canonical.
    pub pod_index_label: i64,
    /// ASTS-10: the ordinal of the pod's name `<parent>-<ordinal>`, -1 when it has none.
    pub name_ordinal: i32,
    /// ASTS-10: the length of that parent name.
    pub name_parent_len: u32,
}

/// `status.phase` as the planners distinguish it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Absent or empty (not yet created by the kubelet).
    Empty,
    /// `Pending`.
    Pending,
    /// `Running`.
    Running,
    /// `Succeeded`.
    Succeeded,
    /// `Failed`.
    Failed,
    /// Anything else (`Unknown`, garbage).
    Other,
}

impl Phase {
    fn parse(s: &str) -> Self {
        match s {
            "" => Phase::Empty,
            "Pending" => Phase::Pending,
            "Running" => Phase::Running,
            "Succeeded" => Phase::Succeeded,
            "Failed" => Phase::Failed,
            _ => Phase::Other,
        }
    }
}

/// A label value read as a canonical non-negative decimal (`"0"`, `"17"`; not `"017"`, `"+1"`):
/// exactly the values `o.to_string()` prints for an `o >= 0`. -1 otherwise.
fn canonical_index(v: &str) -> i64 {
    let b = v.as_bytes();
    if b.is_empty() || b.len() > 18 || !b.iter().all(u8::is_ascii_digit) || (b.len() > 1 && b[0] == b'0') {
        return -1;
    }
    v.parse().unwrap_or(-1)
}

/// [`Facts`] plus the borrowed strings the caller may keep or intern.
pub(crate) struct Scanned<'p> {
    pub facts: Facts,
    pub name: &'p str,
    pub revision: &'p str,
    pub node: &'p str,
}

impl Facts {
    /// One pass over labels, annotations and conditions.
    pub fn scan(pod: &Pod) -> Scanned<'_> {
        let m = &pod.metadata;
        let (mut revision, mut state_label, mut specified, mut has_template_hash) = ("", None, false, false);
        let (mut pod_name_label, mut pod_index_label) = (None, -1);
        for (k, v) in m.labels.iter().flatten() {
            match k.as_str() {
                keys::CONTROLLER_REVISION_HASH => revision = v.as_str(),
                keys::STATEFULSET_POD_NAME => pod_name_label = Some(v.as_str()),
                keys::POD_INDEX => pod_index_label = canonical_index(v),
                keys::LIFECYCLE_STATE => state_label = Some(v.as_str()),
                keys::SPECIFIED_DELETE => specified = true,
                keys::POD_TEMPLATE_HASH => has_template_hash = true,
                _ => {}
            }
        }
        let (mut has_grace, mut has_state, mut deletion_cost) = (false, false, 0);
        for (k, v) in m.annotations.iter().flatten() {
            match k.as_str() {
                keys::INPLACE_UPDATE_GRACE | keys::INPLACE_UPDATE_GRACE_LEGACY => has_grace = true,
                keys::INPLACE_UPDATE_STATE | keys::INPLACE_UPDATE_STATE_LEGACY => has_state = true,
                keys::POD_DELETION_COST => deletion_cost = parse_deletion_cost(v).unwrap_or(0),
                _ => {}
            }
        }
        let status = pod.status.as_ref();
        let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or_default();
        let (mut ready, mut ready_since, mut inplace_ready_ok, mut inplace_ready_clean) =
            (false, None, true, false);
        let mut inplace_ready_present = false;
        for c in status.and_then(|s| s.conditions.as_deref()).unwrap_or_default() {
            if c.type_ == keys::CONDITION_READY {
                ready = c.status == "True";
                ready_since = c.last_transition_time.as_ref().map(|t| t.0);
            } else if c.type_ == keys::INPLACE_UPDATE_READY {
                inplace_ready_present = true;
                inplace_ready_ok = c.status == "True";
                inplace_ready_clean = inplace_ready_ok
                    && c.reason.as_deref().unwrap_or_default().is_empty()
                    && c.message.as_deref().unwrap_or_default().is_empty();
            }
        }
        let spec = pod.spec.as_ref();
        let node = spec.and_then(|s| s.node_name.as_deref()).unwrap_or_default();
        let inplace_gate = spec
            .and_then(|s| s.readiness_gates.as_deref())
            .is_some_and(|g| g.iter().any(|g| g.condition_type == keys::INPLACE_UPDATE_READY));
        let terminating = m.deletion_timestamp.is_some();
        let name = m.name.as_deref().unwrap_or_default();
        let ordinal = crate::statefulset::parse_ordinal(name);
        Scanned {
            facts: Facts {
                created: m.creation_timestamp.as_ref().map(|t| t.0),
                ready_since,
                deletion_cost,
                state: State::parse(state_label),
                phase_rank: match phase {
                    "Unknown" => 1,
                    "Running" => 2,
                    _ => 0,
                },
                running: phase == "Running",
                ready,
                inplace_ready_ok,
                inplace_ready_clean,
                scheduled: !node.is_empty(),
                specified_label: specified,
                has_grace,
                has_state,
                has_template_hash,
                active: phase != "Succeeded" && phase != "Failed" && !terminating,
                terminating,
                node_id: NODE_UNKNOWN,
                phase: Phase::parse(phase),
                inplace_gate,
                inplace_ready_present,
                pod_name_label_ok: pod_name_label == Some(name),
                pod_index_label,
                name_ordinal: ordinal.1,
                name_parent_len: u32::try_from(ordinal.0.len()).unwrap_or(u32::MAX),
            },
            name,
            revision,
            node,
        }
    }
}

/// CS-24 facts relating a pod to one workload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Claim {
    /// Some owner reference names this workload and no other owner controls the pod.
    pub listed: bool,
    /// The controller owner reference is this workload.
    pub controlled: bool,
    /// The labels match the workload's selector.
    pub matches: bool,
    /// A controller owner reference names another workload.
    pub other_controller: bool,
}

/// A workload that owns pods through controller references and claims them by a label
/// selector (CS-24; the same for StatefulSet, DaemonSet and the jobs): what a [`PodTable`]
/// needs to compute the claim facts of its rows.
pub trait PodOwner {
    /// The workload's kind (`CloneSet`, `StatefulSet`, ...): owner references without a uid
    /// match by kind and name.
    fn kind(&self) -> &str;
    /// The workload's metadata (uid and name).
    fn meta(&self) -> &ObjectMeta;
    /// Its pod selector, if any.
    fn selector(&self) -> Option<&LabelSelector>;
}

/// Who the claim facts are relative to: the workload's uid, kind, name and canonical selector.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Owner {
    uid: Option<String>,
    kind: String,
    name: Option<String>,
    selector: Option<String>,
}

impl Owner {
    pub fn of<W: PodOwner + ?Sized>(w: &W) -> (Self, Option<Selector>) {
        let sel = w.selector().and_then(|s| Selector::parse(s, "spec.selector").ok());
        let meta = w.meta();
        let owner = Self {
            uid: meta.uid.clone().filter(|u| !u.is_empty()),
            kind: w.kind().to_owned(),
            name: meta.name.clone(),
            selector: sel.as_ref().map(Selector::to_canonical),
        };
        (owner, sel)
    }

    /// True when the claim facts computed for `self` hold for this workload and selector.
    pub fn same<W: PodOwner + ?Sized>(&self, w: &W, selector_canonical: &str) -> bool {
        let meta = w.meta();
        self.uid.as_deref() == meta.uid.as_deref().filter(|u| !u.is_empty())
            && self.kind == w.kind()
            && self.name.as_deref() == meta.name.as_deref()
            && self.selector.as_deref() == Some(selector_canonical)
    }
}

/// CS-24: how `pod` relates to the workload (`uid` or, without one, `kind` and `name`) and
/// its selector. O(owner references + selector requirements).
pub(crate) fn claim(
    pod: &Pod,
    uid: Option<&str>,
    kind: &str,
    name: Option<&str>,
    selector: Option<&Selector>,
) -> Claim {
    let (mut listed, mut controlled, mut other_controller) = (false, false, false);
    for r in pod.metadata.owner_references.iter().flatten() {
        let ours = match uid {
            Some(u) if !u.is_empty() => r.uid == u,
            _ => r.kind == kind && Some(r.name.as_str()) == name,
        };
        listed |= ours;
        if r.controller == Some(true) {
            if ours {
                controlled = true;
            } else {
                other_controller = true;
            }
        }
    }
    // A pod without labels is matched as one with no labels (a `DoesNotExist` selector
    // selects it), as Kubernetes matches a nil label set.
    let empty = BTreeMap::new();
    let matches = selector.is_some_and(|s| s.matches(pod.metadata.labels.as_ref().unwrap_or(&empty)));
    Claim { listed: listed && !other_controller, controlled, matches, other_controller }
}

/// Interned strings with reference counts (revision labels, node names): a handful of distinct
/// values shared by many pods, so a plan compares ids and hot strings instead of each pod's
/// own copy.
#[derive(Clone, Debug, Default)]
pub(crate) struct Interner {
    strings: Vec<(Arc<str>, u32)>,
    ids: BTreeMap<Arc<str>, u32>,
    free: Vec<u32>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            self.strings[id as usize].1 += 1;
            return id;
        }
        let s: Arc<str> = Arc::from(s);
        let id = match self.free.pop() {
            Some(id) => {
                self.strings[id as usize] = (s.clone(), 1);
                id
            }
            None => {
                self.strings.push((s.clone(), 1));
                (self.strings.len() - 1) as u32
            }
        };
        self.ids.insert(s, id);
        id
    }

    fn release(&mut self, id: u32) {
        let e = &mut self.strings[id as usize];
        e.1 -= 1;
        if e.1 == 0 {
            self.ids.remove(&*e.0);
            e.0 = Arc::from("");
            self.free.push(id);
        }
    }

    pub fn get(&self, id: u32) -> &str {
        &self.strings[id as usize].0
    }

    /// Number of ids handed out (live or free).
    pub fn capacity(&self) -> usize {
        self.strings.len()
    }
}

/// One pod of a [`PodTable`].
#[derive(Clone, Debug)]
pub(crate) struct Row {
    /// The pod's name (the sort key).
    pub name: Box<str>,
    /// [`name_hash`] of the name: `podsToDelete` is matched against it during the scan, and
    /// only equal hashes compare the names.
    pub name_hash: u64,
    pub pod: Arc<Pod>,
    pub facts: Facts,
    pub claim: Claim,
    /// Interned `controller-revision-hash` label.
    pub revision: u32,
}

/// FNV-1a of a pod name (look-up only; equal hashes are confirmed by comparing names).
pub(crate) fn name_hash(s: &str) -> u64 {
    kruise_api::hash::fnv1a64(&[s.as_bytes()])
}

/// Target length of a chunk of [`Rows`]; a chunk splits at twice this.
const CHUNK: usize = 256;

/// Rows sorted by name, stored in chunks of at most `2 * CHUNK` contiguous rows: a plan walks
/// them as a near-sequential stream (the reason for the table), and inserting a new name moves
/// at most one chunk, O(CHUNK + n / CHUNK), instead of the whole table.
#[derive(Clone, Debug, Default)]
pub(crate) struct Rows {
    chunks: Vec<Vec<Row>>,
    len: usize,
}

impl Rows {
    /// The chunk that holds or would hold `name`, and the position in it. O(log n).
    fn find(&self, name: &str) -> (usize, Result<usize, usize>) {
        if self.chunks.is_empty() {
            return (0, Err(0));
        }
        // First chunk whose last name is >= name; past the end, the last chunk.
        let c = self
            .chunks
            .partition_point(|ch| ch.last().is_some_and(|r| &*r.name < name))
            .min(self.chunks.len() - 1);
        (c, self.chunks[c].binary_search_by(|r| (*r.name).cmp(name)))
    }

    /// The row named `name`.
    pub fn get(&self, name: &str) -> Option<&Row> {
        let (c, i) = self.find(name);
        i.ok().map(|i| &self.chunks[c][i])
    }

    /// Inserts `row`, or replaces the row of the same name and returns it.
    fn insert(&mut self, row: Row) -> Option<Row> {
        let (c, i) = self.find(&row.name);
        match i {
            Ok(i) => Some(std::mem::replace(&mut self.chunks[c][i], row)),
            Err(i) => {
                if self.chunks.is_empty() {
                    self.chunks.push(Vec::with_capacity(CHUNK));
                }
                let chunk = &mut self.chunks[c];
                chunk.insert(i, row);
                if chunk.len() >= 2 * CHUNK {
                    let tail = chunk.split_off(CHUNK);
                    self.chunks.insert(c + 1, tail);
                }
                self.len += 1;
                None
            }
        }
    }

    /// Removes the row named `name`.
    fn remove(&mut self, name: &str) -> Option<Row> {
        let (c, i) = self.find(name);
        let row = self.chunks.get_mut(c)?.remove(i.ok()?);
        if self.chunks[c].is_empty() {
            self.chunks.remove(c);
        }
        self.len -= 1;
        Some(row)
    }

    /// Rows by name ascending.
    pub fn iter(&self) -> impl Iterator<Item = &Row> {
        self.chunks.iter().flatten()
    }

    /// The rows whose name is in `[lo, hi)`, by name ascending: two O(log n) searches, then
    /// a sequential walk that reads no name. With `hi` the prefix `lo` whose last byte is
    /// incremented (`"web-"`, `"web."`), these are the rows whose name starts with `lo`.
    pub fn between<'s>(&'s self, lo: &str, hi: &str) -> impl Iterator<Item = &'s Row> + 's {
        let at = |name: &str| match self.find(name) {
            (c, Ok(i) | Err(i)) => (c, i),
        };
        let ((c0, i0), (c1, i1)) = if lo < hi { (at(lo), at(hi)) } else { ((0, 0), (0, 0)) };
        self.chunks.iter().enumerate().skip(c0).take((c1 + 1).saturating_sub(c0)).flat_map(move |(c, ch)| {
            let from = if c == c0 { i0 } else { 0 };
            let to = if c == c1 { i1 } else { ch.len() };
            ch.get(from..to.max(from)).unwrap_or_default()
        })
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Row> {
        self.chunks.iter_mut().flatten()
    }

    pub fn len(&self) -> usize {
        self.len
    }
}

/// A workload's pods with their planning facts, kept up to date by the adapter (one
/// [`upsert`](Self::upsert) or [`remove`](Self::remove) per watch event) and passed to a
/// planner, e.g. [`cloneset::plan`](crate::cloneset::plan) as
/// `Input { pods: (&table).into(), .. }`. Any [`PodOwner`] can own one.
///
/// Costs, n pods: `upsert` O(labels + annotations + conditions + log n), plus moving the rows
/// of one chunk (at most 512) when a new name is inserted; `remove` likewise;
/// [`from_pods`](Self::from_pods) O(total pod size + n log n); memory about 250 bytes per pod
/// beyond the shared `Arc<Pod>`. Pods without a name are rejected (they cannot be planned for).
///
/// ```
/// use kruise_core::cloneset::{PodTable, fixtures};
///
/// let cs = fixtures::cloneset("web", 3, "nginx:1");
/// let rev = fixtures::revision_name_of(&cs);
/// let mut table = PodTable::new(&cs);
/// table.upsert(fixtures::pod(&cs, "a", &rev).build())?;
/// table.upsert(fixtures::pod(&cs, "b", &rev).build())?;
/// assert_eq!(table.len(), 2);
/// assert!(table.remove("web-a").is_some());
/// assert_eq!(table.names().collect::<Vec<_>>(), ["web-b"]);
/// # Ok::<(), kruise_core::cloneset::UnnamedPod>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct PodTable {
    owner: Owner,
    selector: Option<Selector>,
    pub(crate) rows: Rows,
    pub(crate) revisions: Interner,
    pub(crate) nodes: Interner,
}

/// A pod a [`PodTable`] cannot hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("metadata.name: required (a pod without a name cannot be planned for)")]
pub struct UnnamedPod;

impl PodTable {
    /// An empty table for the workload `owner` (its uid, kind, name and selector fix the
    /// claim facts).
    pub fn new<W: PodOwner + ?Sized>(owner: &W) -> Self {
        let (owner, selector) = Owner::of(owner);
        Self { owner, selector, ..Self::default() }
    }

    /// A table holding `pods` (a later pod of the same name replaces an earlier one).
    pub fn from_pods<P: Into<Arc<Pod>>, W: PodOwner + ?Sized>(
        owner: &W,
        pods: impl IntoIterator<Item = P>,
    ) -> Result<Self, UnnamedPod> {
        let mut t = Self::new(owner);
        for p in pods {
            t.upsert(p)?;
        }
        Ok(t)
    }

    /// Adds `pod` or replaces the pod of the same name. O(pod size + log n).
    pub fn upsert(&mut self, pod: impl Into<Arc<Pod>>) -> Result<(), UnnamedPod> {
        let pod = pod.into();
        let name = pod.metadata.name.as_deref().filter(|n| !n.is_empty()).ok_or(UnnamedPod)?;
        let s = Facts::scan(&pod);
        let claim = claim(
            &pod,
            self.owner.uid.as_deref(),
            &self.owner.kind,
            self.owner.name.as_deref(),
            self.selector.as_ref(),
        );
        let revision = self.revisions.intern(s.revision);
        let node = self.nodes.intern(s.node);
        let facts = Facts { node_id: node, ..s.facts };
        let row =
            Row { name: name.into(), name_hash: name_hash(name), facts, claim, revision, pod: pod.clone() };
        if let Some(old) = self.rows.insert(row) {
            self.revisions.release(old.revision);
            self.nodes.release(old.facts.node_id);
        }
        Ok(())
    }

    /// Removes the pod named `name` and returns it. O(log n).
    pub fn remove(&mut self, name: &str) -> Option<Arc<Pod>> {
        let row = self.rows.remove(name)?;
        self.revisions.release(row.revision);
        self.nodes.release(row.facts.node_id);
        Some(row.pod)
    }

    /// Recomputes the claim facts when the workload's uid, kind, name or selector differ from
    /// those the table was built for (O(n) then, O(1) otherwise).
    pub fn retarget<W: PodOwner + ?Sized>(&mut self, owner: &W) {
        let (owner, selector) = Owner::of(owner);
        if owner == self.owner {
            return;
        }
        for row in self.rows.iter_mut() {
            row.claim =
                claim(&row.pod, owner.uid.as_deref(), &owner.kind, owner.name.as_deref(), selector.as_ref());
        }
        self.owner = owner;
        self.selector = selector;
    }

    /// The pod named `name`. O(log n).
    pub fn get(&self, name: &str) -> Option<&Pod> {
        self.rows.get(name).map(|r| &*r.pod)
    }

    /// Number of pods.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the table holds no pod.
    pub fn is_empty(&self) -> bool {
        self.rows.len() == 0
    }

    /// Pod names in ascending order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rows.iter().map(|r| &*r.name)
    }

    /// Pods by name ascending.
    pub fn pods(&self) -> impl Iterator<Item = &Arc<Pod>> {
        self.rows.iter().map(|r| &r.pod)
    }

    pub(crate) fn owner(&self) -> &Owner {
        &self.owner
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloneset::fixtures::{self, pod};

    #[test]
    fn interned_strings_are_released_with_their_last_pod() {
        let cs = fixtures::cloneset("web", 3, "nginx:1");
        let (r1, r2) = ("web-rev1", "web-rev2");
        let mut t = PodTable::new(&cs);
        t.upsert(pod(&cs, "a", r1).build()).unwrap();
        t.upsert(pod(&cs, "b", r1).build()).unwrap();
        assert_eq!(t.revisions.ids.len(), 1);
        t.upsert(pod(&cs, "a", r2).build()).unwrap();
        assert_eq!(t.revisions.ids.len(), 2);
        t.remove("web-b");
        assert_eq!(t.revisions.ids.len(), 1, "rev1 is no longer referenced");
        assert_eq!(t.revisions.get(t.rows.get("web-a").unwrap().revision), r2);
        // The freed id is reused.
        t.upsert(pod(&cs, "c", r1).build()).unwrap();
        assert_eq!(t.revisions.capacity(), 2);
    }

    /// Chunked storage stays sorted and complete across inserts in any order, replacements and
    /// removals that empty chunks (compared with a BTreeMap model).
    #[test]
    fn cs_91_rows_stay_sorted_by_name_across_chunk_splits_and_removals() {
        let cs = fixtures::cloneset("web", 3, "nginx:1");
        let mut t = PodTable::new(&cs);
        let mut model = std::collections::BTreeSet::new();
        // A fixed permutation of 0..3000 (multiplication by a unit mod 3001 is a bijection).
        for k in 1..3001u32 {
            let id = format!("{:05}", (k * 1237) % 3001);
            t.upsert(pod(&cs, &id, "web-rev1").build()).unwrap();
            model.insert(format!("web-{id}"));
        }
        assert!(t.rows.chunks.len() > 3, "the rows span several chunks");
        for k in (0..3001u32).step_by(3) {
            let name = format!("web-{k:05}");
            assert_eq!(t.remove(&name).is_some(), model.remove(&name), "{name}");
        }
        // Re-inserting an existing name replaces it.
        t.upsert(pod(&cs, "00001", "web-rev2").build()).unwrap();
        assert_eq!(t.len(), model.len());
        assert!(t.rows.chunks.iter().all(|c| !c.is_empty() && c.len() < 2 * CHUNK));
        let names: Vec<&str> = t.names().collect();
        assert_eq!(names, model.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(t.revisions.get(t.rows.get("web-00001").unwrap().revision), "web-rev2");
        assert!(t.get("web-00000").is_none() && t.get("web-00002").is_some() && t.get("zzz").is_none());
    }

    /// `Rows::between` yields exactly the rows whose name is in `[lo, hi)`, in name order,
    /// across chunk boundaries, for bounds inside, before and after the table.
    #[test]
    fn rows_between_is_a_name_range() {
        let cs = fixtures::cloneset("web", 3, "nginx:1");
        let mut t = PodTable::new(&cs);
        for k in 0..1500u32 {
            t.upsert(pod(&cs, &k.to_string(), "web-rev1").build()).unwrap();
        }
        let mut other = pod(&cs, "x", "web-rev1").build();
        other.metadata.name = Some("wea-1".into());
        t.upsert(other.clone()).unwrap();
        other.metadata.name = Some("web.1".into());
        t.upsert(other).unwrap();
        assert!(t.rows.chunks.len() > 2, "the rows span several chunks");
        let all: Vec<&str> = t.names().collect();
        for (lo, hi) in [
            ("web-", "web."),
            ("web-1", "web-2"),
            ("a", "z"),
            ("web-99", "web-990"),
            ("x", "y"),
            ("b", "a"),
            ("", ""),
        ] {
            let got: Vec<&str> = t.rows.between(lo, hi).map(|r| &*r.name).collect();
            let want: Vec<&str> = all.iter().copied().filter(|n| *n >= lo && *n < hi).collect();
            assert_eq!(got, want, "[{lo}, {hi})");
        }
        assert_eq!(t.rows.between("web-", "web.").count(), 1500);
        assert_eq!(PodTable::default().rows.between("a", "b").count(), 0);
    }

    /// A workload other than CloneSet owns a table: claim facts follow its kind, name, uid
    /// and selector.
    #[test]
    fn cs_24_claim_facts_follow_any_pod_owner() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
        struct Set(ObjectMeta, LabelSelector);
        impl PodOwner for Set {
            fn kind(&self) -> &str {
                "StatefulSet"
            }
            fn meta(&self) -> &ObjectMeta {
                &self.0
            }
            fn selector(&self) -> Option<&LabelSelector> {
                Some(&self.1)
            }
        }
        let labels: BTreeMap<String, String> = [("app".to_owned(), "dä".to_owned())].into();
        let set = Set(
            ObjectMeta { name: Some("db".into()), ..Default::default() },
            LabelSelector { match_labels: Some(labels.clone()), ..Default::default() },
        );
        let with_ref = |kind: &str, controller: bool| {
            let mut p = Pod::default();
            p.metadata.name = Some(format!("db-{kind}"));
            p.metadata.labels = Some(labels.clone());
            p.metadata.owner_references = Some(vec![OwnerReference {
                kind: kind.into(),
                name: "db".into(),
                controller: Some(controller),
                ..Default::default()
            }]);
            p
        };
        let mut t = PodTable::new(&set);
        t.upsert(with_ref("StatefulSet", true)).unwrap();
        t.upsert(with_ref("CloneSet", true)).unwrap();
        let mut orphan = with_ref("x", false);
        orphan.metadata.owner_references = None;
        t.upsert(orphan).unwrap();
        let c = |n: &str| t.rows.get(n).unwrap().claim;
        assert!(c("db-StatefulSet").listed && c("db-StatefulSet").controlled && c("db-StatefulSet").matches);
        assert!(!c("db-CloneSet").listed, "another kind's controller");
        assert!(c("db-x").matches && !c("db-x").listed && !c("db-x").controlled);
        assert!(t.owner().same(&set, &Selector::parse(&set.1, "s").unwrap().to_canonical()));
        // A uid, once known, decides ownership instead of kind and name.
        let mut with_uid = Set(set.0.clone(), set.1.clone());
        with_uid.0.uid = Some("u-1".into());
        t.retarget(&with_uid);
        assert!(!c_of(&t, "db-StatefulSet").listed, "the reference has no uid");
    }

    /// `Pods::to_slice` borrows a slice and collects a table in name order; `iter`, `len` and
    /// `get` agree between both forms.
    #[test]
    fn pods_to_slice_borrows_slices_and_collects_tables_in_name_order() {
        let cs = fixtures::cloneset("wéb", 3, "nginx:1");
        let pods = vec![pod(&cs, "b", "r").build(), pod(&cs, "a", "r").build()];
        let slice = Pods::from(&pods);
        assert!(matches!(slice.to_slice(), std::borrow::Cow::Borrowed(_)));
        let table = PodTable::from_pods(&cs, pods.iter().cloned()).unwrap();
        let from_table = Pods::from(&table);
        let collected = from_table.to_slice();
        assert!(matches!(collected, std::borrow::Cow::Owned(_)));
        let names = |ps: &[Pod]| ps.iter().map(|p| p.metadata.name.clone().unwrap()).collect::<Vec<_>>();
        assert_eq!(names(&collected), ["wéb-a", "wéb-b"]);
        assert_eq!(from_table.len(), slice.len());
        assert_eq!(from_table.get("wéb-b"), slice.get("wéb-b"));
        assert!(from_table.get("wéb-c").is_none() && slice.get("wéb-c").is_none());
        assert!(Pods::Slice(&[]).to_slice().is_empty());
    }

    fn c_of(t: &PodTable, n: &str) -> Claim {
        t.rows.get(n).unwrap().claim
    }

    #[test]
    fn cs_24_unnamed_pods_are_rejected_with_the_field() {
        let cs = fixtures::cloneset("web", 3, "nginx:1");
        let mut p = pod(&cs, "x", "web-rev1").build();
        p.metadata.name = None;
        let e = PodTable::new(&cs).upsert(p).unwrap_err();
        assert!(e.to_string().starts_with("metadata.name: required"));
    }

    #[test]
    fn cs_24_retarget_recomputes_selector_matches() {
        let cs = fixtures::cloneset("web", 3, "nginx:1");
        let mut t = PodTable::new(&cs);
        t.upsert(pod(&cs, "a", "web-rev1").build()).unwrap();
        assert!(t.rows.get("web-a").unwrap().claim.matches);
        let mut other = cs.clone();
        other.spec.selector.as_mut().unwrap().match_labels =
            Some([("app".to_owned(), "other".to_owned())].into());
        t.retarget(&other);
        assert!(!t.rows.get("web-a").unwrap().claim.matches);
        assert!(t.rows.get("web-a").unwrap().claim.controlled);
    }
}
