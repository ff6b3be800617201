//! Indexes the watch streams keep, so that a reconcile reads one workload's objects without
//! scanning the cluster's, and a watch event finds the workloads it concerns without
//! serialising any (issue 10 item 5).
//!
//! - [`ObjectIndex`]: pods, PVCs or ControllerRevisions as `Arc`s (one copy per object version,
//!   shared by every reader), by `namespace/name`, by the uid of each owner reference, and,
//!   for objects without a controller (orphans an owner may adopt), by namespace.
//! - [`PodIndex`]: an [`ObjectIndex`] of pods plus one [`PodTable`] per workload that asked for
//!   one, kept up to date by the same events (an upsert or removal per event), so a reconcile
//!   hands the planner its table instead of copying its pods.
//! - [`WorkloadIndex`]: each workload's parsed selector, by namespace, cached by (uid,
//!   resourceVersion): a workload is serialised once per version, never per event.
//!
//! Every index applies kube-runtime watcher events as a reflector store does: `Apply` and
//! `Delete` change it in place; a (re)list (`Init`, `InitApply`..., `InitDone`) is built aside
//! and swapped in whole at `InitDone`, so readers see the old state or the new one, never a
//! half-listed one, and objects deleted while the watch was down disappear.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kruise_api::selector::Selector;
use kruise_core::podtable::{PodOwner, PodTable};
use kube::runtime::watcher;
use serde_json::Value;

use crate::key::WorkloadKey;
use crate::reads::PodReads;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every mutation below leaves the maps consistent between statements that can panic, so
    // a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn ns_name(meta: &ObjectMeta) -> (String, String) {
    (meta.namespace.clone().unwrap_or_default(), meta.name.clone().unwrap_or_default())
}

/// The uids of `meta`'s owner references (each once).
fn owner_uids(meta: &ObjectMeta) -> Vec<&str> {
    let mut uids: Vec<&str> = meta.owner_references.iter().flatten().map(|r| r.uid.as_str()).collect();
    uids.sort_unstable();
    uids.dedup();
    uids
}

/// True when `meta` has a controller owner reference.
fn has_controller(meta: &ObjectMeta) -> bool {
    meta.owner_references.iter().flatten().any(|r| r.controller == Some(true))
}

/// What applying one watch event changed in an [`ObjectIndex`].
#[derive(Debug)]
pub enum Change<K> {
    /// An object was added or replaced: the version it replaced, if any, and the new one.
    Applied {
        /// The version replaced.
        old: Option<Arc<K>>,
        /// The version now indexed.
        new: Arc<K>,
    },
    /// An object was removed (the version that was indexed).
    Removed(Arc<K>),
    /// A list was swapped in: every object may have changed.
    Relisted,
    /// Nothing changed (a list in progress, or the delete of an unknown object).
    Nothing,
}

#[derive(Debug)]
struct Objects<K> {
    by_key: HashMap<(String, String), Arc<K>>,
    /// Owner uid -> (namespace, name) -> object, for every owner reference.
    by_owner: HashMap<String, BTreeMap<(String, String), Arc<K>>>,
    /// Namespace -> name -> object, for objects without a controller reference.
    orphans: HashMap<String, BTreeMap<String, Arc<K>>>,
}

impl<K> Default for Objects<K> {
    fn default() -> Self {
        Self { by_key: HashMap::new(), by_owner: HashMap::new(), orphans: HashMap::new() }
    }
}

impl<K: k8s_openapi::Metadata<Ty = ObjectMeta>> Objects<K> {
    fn unlink(&mut self, key: &(String, String), obj: &K) {
        let meta = obj.metadata();
        for uid in owner_uids(meta) {
            if let Some(m) = self.by_owner.get_mut(uid) {
                m.remove(key);
                if m.is_empty() {
                    self.by_owner.remove(uid);
                }
            }
        }
        if !has_controller(meta)
            && let Some(m) = self.orphans.get_mut(&key.0)
        {
            m.remove(&key.1);
            if m.is_empty() {
                self.orphans.remove(&key.0);
            }
        }
    }

    fn link(&mut self, key: &(String, String), obj: &Arc<K>) {
        let meta = obj.metadata();
        for uid in owner_uids(meta) {
            self.by_owner.entry(uid.to_owned()).or_default().insert(key.clone(), obj.clone());
        }
        if !has_controller(meta) {
            self.orphans.entry(key.0.clone()).or_default().insert(key.1.clone(), obj.clone());
        }
    }

    fn insert(&mut self, obj: Arc<K>) -> Option<Arc<K>> {
        let key = ns_name(obj.metadata());
        let old = self.by_key.insert(key.clone(), obj.clone());
        if let Some(o) = &old {
            self.unlink(&key, o);
        }
        self.link(&key, &obj);
        old
    }

    fn remove(&mut self, meta: &ObjectMeta) -> Option<Arc<K>> {
        let key = ns_name(meta);
        let old = self.by_key.remove(&key)?;
        self.unlink(&key, &old);
        Some(old)
    }
}

#[derive(Debug)]
struct IndexState<K> {
    live: Objects<K>,
    /// The list in progress (between `Init` and `InitDone`).
    relist: Option<Vec<Arc<K>>>,
}

/// Objects of one kind indexed by key, by owner uid and (orphans) by namespace; fed by
/// [`apply`](Self::apply) from a watch stream. Cloning shares the index.
///
/// Costs, n objects: an event O(owner references + log n) plus the `Arc` of the object; a
/// look-up by owner O(owned objects), never O(n).
#[derive(Debug)]
pub struct ObjectIndex<K> {
    state: Arc<Mutex<IndexState<K>>>,
}

impl<K> Clone for ObjectIndex<K> {
    fn clone(&self) -> Self {
        Self { state: self.state.clone() }
    }
}

impl<K> Default for ObjectIndex<K> {
    fn default() -> Self {
        Self { state: Arc::new(Mutex::new(IndexState { live: Objects::default(), relist: None })) }
    }
}

impl<K: k8s_openapi::Metadata<Ty = ObjectMeta> + Clone> ObjectIndex<K> {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one watch event (the object is copied once into an `Arc`, as a reflector
    /// store does) and says what changed.
    pub fn apply(&self, event: &watcher::Event<K>) -> Change<K> {
        match event {
            watcher::Event::Apply(o) => self.apply_arc(Arc::new(o.clone())),
            watcher::Event::Delete(o) => self.delete(o.metadata()),
            watcher::Event::Init => {
                lock(&self.state).relist = Some(Vec::new());
                Change::Nothing
            }
            watcher::Event::InitApply(o) => {
                let mut s = lock(&self.state);
                s.relist.get_or_insert_with(Vec::new).push(Arc::new(o.clone()));
                Change::Nothing
            }
            watcher::Event::InitDone => {
                // Built aside, without the lock; then swapped in.
                let listed = lock(&self.state).relist.take().unwrap_or_default();
                let mut fresh = Objects::default();
                for o in listed {
                    fresh.insert(o);
                }
                lock(&self.state).live = fresh;
                Change::Relisted
            }
        }
    }

    /// Adds or replaces `obj` (what an `Apply` event does).
    pub fn apply_arc(&self, obj: Arc<K>) -> Change<K> {
        let old = lock(&self.state).live.insert(obj.clone());
        Change::Applied { old, new: obj }
    }

    /// Removes the object `meta` names (what a `Delete` event does).
    pub fn delete(&self, meta: &ObjectMeta) -> Change<K> {
        lock(&self.state).live.remove(meta).map_or(Change::Nothing, Change::Removed)
    }

    /// The object `namespace/name`.
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        lock(&self.state).live.by_key.get(&(namespace.to_owned(), name.to_owned())).cloned()
    }

    /// Objects in `namespace` with an owner reference (controller or not) to `uid`, by name.
    pub fn referencing(&self, uid: &str, namespace: &str) -> Vec<Arc<K>> {
        let s = lock(&self.state);
        s.live
            .by_owner
            .get(uid)
            .map(|m| m.iter().filter(|((ns, _), _)| ns == namespace).map(|(_, o)| o.clone()).collect())
            .unwrap_or_default()
    }

    /// Objects in `namespace` without a controller reference, by name.
    pub fn orphans(&self, namespace: &str) -> Vec<Arc<K>> {
        lock(&self.state)
            .live
            .orphans
            .get(namespace)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Every object (any order).
    pub fn state(&self) -> Vec<Arc<K>> {
        lock(&self.state).live.by_key.values().cloned().collect()
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        lock(&self.state).live.by_key.len()
    }

    /// True when the index holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A workload's [`PodTable`], shared between the pod watch (which keeps it up to date) and
/// the workload's reconciles (which plan from it).
pub type SharedTable = Arc<Mutex<PodTable>>;

/// Pods indexed as an [`ObjectIndex`], plus one [`PodTable`] per workload uid that asked for
/// one ([`table`](Self::table)), upserted or removed by each event for a pod that references
/// that uid. A relist drops the tables; the next reconcile of each workload rebuilds its own
/// from the new list. Cloning shares the index.
#[derive(Clone, Debug, Default)]
pub struct PodIndex {
    objects: ObjectIndex<Pod>,
    tables: Arc<Mutex<HashMap<String, SharedTable>>>,
}

impl PodIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pods as an [`ObjectIndex`].
    pub fn objects(&self) -> &ObjectIndex<Pod> {
        &self.objects
    }

    /// Applies one watch event to the index and to the tables of the workloads the pod
    /// references (before or after the event). O(owner references + log n) per table.
    pub fn apply(&self, event: &watcher::Event<Pod>) {
        let change = self.objects.apply(event);
        self.upkeep(change);
    }

    fn upkeep(&self, change: Change<Pod>) {
        let (old, new) = match change {
            Change::Nothing => return,
            Change::Relisted => {
                lock(&self.tables).clear();
                return;
            }
            Change::Applied { old, new } => (old, Some(new)),
            Change::Removed(old) => (Some(old), None),
        };
        let new_uids: Vec<&str> = new.as_deref().map(|p| owner_uids(&p.metadata)).unwrap_or_default();
        let mut touched: Vec<(SharedTable, bool)> = Vec::new();
        {
            let tables = lock(&self.tables);
            if tables.is_empty() {
                return;
            }
            for uid in &new_uids {
                if let Some(t) = tables.get(*uid) {
                    touched.push((t.clone(), true));
                }
            }
            for uid in old.as_deref().map(|p| owner_uids(&p.metadata)).unwrap_or_default() {
                if !new_uids.contains(&uid)
                    && let Some(t) = tables.get(uid)
                {
                    touched.push((t.clone(), false));
                }
            }
        }
        for (table, keep) in touched {
            let mut t = lock(&table);
            match (&new, keep) {
                (Some(p), true) => {
                    // A pod without a name is never served; a table cannot hold one.
                    let _ = t.upsert(p.clone());
                }
                _ => {
                    let name = old.as_deref().or(new.as_deref()).and_then(|p| p.metadata.name.as_deref());
                    if let Some(name) = name {
                        t.remove(name);
                    }
                }
            }
        }
    }

    /// The table of the workload `owner` (uid required) in `namespace`, built from the
    /// indexed pods that reference it on first use (O(its pods)), then kept by the events;
    /// retargeted to `owner` (uid, kind, name, selector) when those changed.
    pub fn table<O: PodOwner + ?Sized>(&self, owner: &O, namespace: &str) -> Option<SharedTable> {
        let uid = owner.meta().uid.as_deref().filter(|u| !u.is_empty())?;
        let table = {
            let mut tables = lock(&self.tables);
            match tables.get(uid) {
                Some(t) => t.clone(),
                None => {
                    // Built while holding the tables lock: an event applied to the objects
                    // before this read is in it; one applied after finds the table.
                    let pods = self.objects.referencing(uid, namespace);
                    let mut t = PodTable::new(owner);
                    for p in pods {
                        let _ = t.upsert(p);
                    }
                    let t = Arc::new(Mutex::new(t));
                    tables.insert(uid.to_owned(), t.clone());
                    t
                }
            }
        };
        lock(&table).retarget(owner);
        Some(table)
    }

    /// Drops the table of the workload `uid` (it was deleted).
    pub fn forget(&self, uid: &str) {
        lock(&self.tables).remove(uid);
    }

    /// Keeps only the tables of the workloads `uids` (after a relist of the workloads).
    pub fn retain(&self, uids: &HashSet<String>) {
        lock(&self.tables).retain(|u, _| uids.contains(u));
    }

    /// Number of tables kept.
    pub fn tables(&self) -> usize {
        lock(&self.tables).len()
    }
}

/// A workload's selectors as the adapter uses them, computed once per (uid, resourceVersion).
#[derive(Debug)]
pub struct Selectors {
    /// The workload's uid.
    pub uid: Option<String>,
    /// The resourceVersion they were computed from.
    pub resource_version: Option<String>,
    /// `spec.selector` as stored (what a [`PodTable`] is built for).
    pub label_selector: Option<LabelSelector>,
    /// The selector adoption uses: `None` when absent, empty or invalid (an empty selector
    /// would otherwise claim every object of the namespace).
    pub adoption: Option<Selector>,
    /// The selector of the pods the workload reads without owning them, under its kind's
    /// [`PodReads`] rule (`spec.selector` of a SidecarSet, `spec.podSelector` of an
    /// ImagePullJob): `None` for kinds that read owned pods, and when absent, empty or invalid.
    pub reads: Option<Selector>,
}

impl Selectors {
    /// Computes them from `workload` (serialises it once to read its selectors).
    pub fn of<W: kruise_api::KruiseResource + kube::Resource>(workload: &W) -> Self {
        let meta = workload.meta();
        let spec = serde_json::to_value(workload).ok().and_then(|mut v| v.get_mut("spec").map(Value::take));
        let at = |field: &str| -> Option<LabelSelector> {
            serde_json::from_value(spec.as_ref()?.get(field)?.clone()).ok()
        };
        let label_selector = at("selector");
        let selecting = |s: &LabelSelector, path: &str| {
            Some(s).filter(|s| !kruise_api::selector::is_empty(s)).and_then(|s| Selector::parse(s, path).ok())
        };
        let adoption = label_selector.as_ref().and_then(|s| selecting(s, "spec.selector"));
        let reads = match PodReads::of_resource::<W>() {
            PodReads::Owned => None,
            PodReads::SelectorEverywhere => adoption.clone(),
            PodReads::PodSelectorInNamespace => {
                at("podSelector").as_ref().and_then(|s| selecting(s, "spec.podSelector"))
            }
        };
        Self {
            uid: meta.uid.clone(),
            resource_version: meta.resource_version.clone(),
            label_selector,
            adoption,
            reads,
        }
    }

    fn is_for(&self, meta: &ObjectMeta) -> bool {
        self.uid == meta.uid && self.resource_version == meta.resource_version
    }

    /// True when the adoption selector matches `labels`.
    pub fn adopts(&self, labels: &BTreeMap<String, String>) -> bool {
        self.adoption.as_ref().is_some_and(|s| s.matches(labels))
    }
}

#[derive(Debug, Default)]
struct WorkloadState {
    by_ns: HashMap<String, BTreeMap<String, Arc<Selectors>>>,
    relist: Option<Vec<(String, String, Arc<Selectors>)>>,
}

/// Each workload's [`Selectors`], by namespace and name, fed by the workload watch; the
/// mapping from an orphan's event to the workloads that may adopt it reads only this.
/// Cloning shares the index.
#[derive(Clone, Debug, Default)]
pub struct WorkloadIndex {
    state: Arc<Mutex<WorkloadState>>,
}

impl WorkloadIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    fn cached(&self, ns: &str, name: &str) -> Option<Arc<Selectors>> {
        lock(&self.state).by_ns.get(ns).and_then(|m| m.get(name)).cloned()
    }

    /// `workload`'s selectors: the cached ones when computed for its uid and
    /// resourceVersion, else computed now (and cached if the workload is not indexed yet).
    pub fn selectors<W: kruise_api::KruiseResource + kube::Resource>(&self, workload: &W) -> Arc<Selectors> {
        let (ns, name) = ns_name(workload.meta());
        if let Some(s) = self.cached(&ns, &name).filter(|s| s.is_for(workload.meta())) {
            return s;
        }
        let s = Arc::new(Selectors::of(workload));
        let mut st = lock(&self.state);
        let m = st.by_ns.entry(ns).or_default();
        m.entry(name).or_insert_with(|| s.clone());
        s
    }

    /// Applies one event of the workload watch.
    pub fn apply<W: kruise_api::KruiseResource + kube::Resource>(&self, event: &watcher::Event<W>) {
        match event {
            watcher::Event::Apply(w) => {
                let (ns, name) = ns_name(w.meta());
                let fresh = match self.cached(&ns, &name) {
                    Some(s) if s.is_for(w.meta()) => s,
                    _ => Arc::new(Selectors::of(w)),
                };
                lock(&self.state).by_ns.entry(ns).or_default().insert(name, fresh);
            }
            watcher::Event::Delete(w) => {
                let (ns, name) = ns_name(w.meta());
                let mut st = lock(&self.state);
                if let Some(m) = st.by_ns.get_mut(&ns) {
                    m.remove(&name);
                    if m.is_empty() {
                        st.by_ns.remove(&ns);
                    }
                }
            }
            watcher::Event::Init => lock(&self.state).relist = Some(Vec::new()),
            watcher::Event::InitApply(w) => {
                let (ns, name) = ns_name(w.meta());
                let s = match self.cached(&ns, &name) {
                    Some(s) if s.is_for(w.meta()) => s,
                    _ => Arc::new(Selectors::of(w)),
                };
                lock(&self.state).relist.get_or_insert_with(Vec::new).push((ns, name, s));
            }
            watcher::Event::InitDone => {
                let listed = lock(&self.state).relist.take().unwrap_or_default();
                let mut fresh: HashMap<String, BTreeMap<String, Arc<Selectors>>> = HashMap::new();
                for (ns, name, s) in listed {
                    fresh.entry(ns).or_default().insert(name, s);
                }
                lock(&self.state).by_ns = fresh;
            }
        }
    }

    /// The workloads in `namespace` whose adoption selector matches `labels`, by name.
    pub fn adopting(&self, namespace: &str, labels: &BTreeMap<String, String>) -> Vec<WorkloadKey> {
        let st = lock(&self.state);
        st.by_ns
            .get(namespace)
            .map(|m| {
                m.iter()
                    .filter(|(_, s)| s.adopts(labels))
                    .map(|(n, _)| WorkloadKey::new(namespace, n))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The workloads whose [`Selectors::reads`] matches a pod in `namespace` with `labels`:
    /// in every namespace under [`PodReads::SelectorEverywhere`] (a cluster-scoped
    /// SidecarSet), in the pod's own namespace under [`PodReads::PodSelectorInNamespace`];
    /// none under [`PodReads::Owned`]. Reads only the cached selectors.
    pub fn reading(
        &self,
        rule: PodReads,
        namespace: &str,
        labels: &BTreeMap<String, String>,
    ) -> Vec<WorkloadKey> {
        let reads = |s: &Selectors| s.reads.as_ref().is_some_and(|r| r.matches(labels));
        let st = lock(&self.state);
        let keys = |ns: &str, m: &BTreeMap<String, Arc<Selectors>>| -> Vec<WorkloadKey> {
            m.iter().filter(|(_, s)| reads(s)).map(|(n, _)| WorkloadKey::new(ns, n)).collect()
        };
        match rule {
            PodReads::Owned => Vec::new(),
            PodReads::SelectorEverywhere => st.by_ns.iter().flat_map(|(ns, m)| keys(ns, m)).collect(),
            PodReads::PodSelectorInNamespace => {
                st.by_ns.get(namespace).map(|m| keys(namespace, m)).unwrap_or_default()
            }
        }
    }

    /// The uids of every indexed workload.
    pub fn uids(&self) -> HashSet<String> {
        lock(&self.state).by_ns.values().flat_map(|m| m.values()).filter_map(|s| s.uid.clone()).collect()
    }
}

/// A [`PodOwner`] view of any workload: its kind, metadata and cached `spec.selector`, so
/// every kind gets a [`PodTable`] without per-kind code. For a CloneSet the values are those
/// of its own `PodOwner` impl, so its planner uses the table's claim facts as they are.
#[derive(Debug)]
pub struct OwnerView<'a> {
    /// The workload's kind.
    pub kind: &'a str,
    /// Its metadata.
    pub meta: &'a ObjectMeta,
    /// Its `spec.selector`.
    pub selector: Option<&'a LabelSelector>,
}

impl PodOwner for OwnerView<'_> {
    fn kind(&self) -> &str {
        self.kind
    }
    fn meta(&self) -> &ObjectMeta {
        self.meta
    }
    fn selector(&self) -> Option<&LabelSelector> {
        self.selector
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PersistentVolumeClaim;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
    use kruise_api::KruiseResource;
    use kruise_api::apps::v1beta1::{CloneSet, CloneSetSpec};

    const UID: &str = "uid-wéb";

    fn owner(uid: &str, controller: bool) -> OwnerReference {
        OwnerReference {
            api_version: "apps.kruise.io/v1beta1".into(),
            kind: "CloneSet".into(),
            name: "wéb".into(),
            uid: uid.into(),
            controller: Some(controller),
            block_owner_deletion: None,
        }
    }

    fn pod(ns: &str, name: &str, rv: &str, owners: Vec<OwnerReference>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                namespace: Some(ns.into()),
                name: Some(name.into()),
                resource_version: Some(rv.into()),
                labels: Some([("app".to_owned(), "wéb".to_owned())].into()),
                owner_references: (!owners.is_empty()).then_some(owners),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn names<K: k8s_openapi::Metadata<Ty = ObjectMeta>>(v: &[Arc<K>]) -> Vec<String> {
        v.iter().map(|o| o.metadata().name.clone().unwrap_or_default()).collect()
    }

    fn cloneset(rv: &str, app: &str) -> CloneSet {
        let mut cs = CloneSet::new(
            "wéb",
            CloneSetSpec {
                selector: Some(LabelSelector {
                    match_labels: Some([("app".to_owned(), app.to_owned())].into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        cs.metadata.namespace = Some("ns".into());
        cs.metadata.uid = Some(UID.into());
        cs.metadata.resource_version = Some(rv.into());
        cs
    }

    /// Apply indexes by owner uid (sorted by name, namespace-filtered) and orphans by
    /// namespace; a replacement that drops the controller moves the object to the orphans.
    #[test]
    fn apply_indexes_by_owner_and_orphans() {
        let idx = ObjectIndex::<Pod>::new();
        idx.apply(&watcher::Event::Apply(pod("ns", "b", "1", vec![owner(UID, true)])));
        idx.apply(&watcher::Event::Apply(pod("ns", "a", "1", vec![owner(UID, false)])));
        idx.apply(&watcher::Event::Apply(pod("other", "c", "1", vec![owner(UID, true)])));
        idx.apply(&watcher::Event::Apply(pod("ns", "z", "1", vec![])));
        assert_eq!(names(&idx.referencing(UID, "ns")), ["a", "b"]);
        assert_eq!(names(&idx.referencing(UID, "other")), ["c"]);
        assert_eq!(names(&idx.orphans("ns")), ["a", "z"], "a has a non-controller reference only");
        // Released by its controller: now an orphan, still referencing nobody.
        let c = idx.apply(&watcher::Event::Apply(pod("ns", "b", "2", vec![])));
        assert!(matches!(c, Change::Applied { old: Some(_), .. }));
        assert_eq!(names(&idx.referencing(UID, "ns")), ["a"]);
        assert_eq!(names(&idx.orphans("ns")), ["a", "b", "z"]);
        assert_eq!(
            idx.get("ns", "b").and_then(|p| p.metadata.resource_version.clone()).as_deref(),
            Some("2")
        );
        assert_eq!(idx.len(), 4);
    }

    /// Delete removes the object from every index; deleting an unknown object changes nothing.
    #[test]
    fn delete_unindexes_everywhere() {
        let idx = ObjectIndex::<PersistentVolumeClaim>::new();
        let pvc = PersistentVolumeClaim {
            metadata: pod("ns", "data-0", "1", vec![owner(UID, true)]).metadata,
            ..Default::default()
        };
        idx.apply(&watcher::Event::Apply(pvc.clone()));
        assert!(matches!(idx.apply(&watcher::Event::Delete(pvc.clone())), Change::Removed(_)));
        assert!(idx.referencing(UID, "ns").is_empty() && idx.is_empty());
        assert!(matches!(idx.apply(&watcher::Event::Delete(pvc)), Change::Nothing));
        let orphan = pod("ns", "o", "1", vec![]);
        let pods = ObjectIndex::<Pod>::new();
        pods.apply(&watcher::Event::Apply(orphan.clone()));
        pods.apply(&watcher::Event::Delete(orphan));
        assert!(pods.orphans("ns").is_empty());
        assert!(pods.state().is_empty());
    }

    /// A relist is built aside: until InitDone readers see the old state; then exactly the
    /// listed objects (one deleted while the watch was down is gone).
    #[test]
    fn relist_swaps_in_at_init_done() {
        let idx = ObjectIndex::<Pod>::new();
        idx.apply(&watcher::Event::Apply(pod("ns", "gone", "1", vec![owner(UID, true)])));
        idx.apply(&watcher::Event::Apply(pod("ns", "kept", "1", vec![owner(UID, true)])));
        assert!(matches!(idx.apply(&watcher::Event::Init), Change::Nothing));
        idx.apply(&watcher::Event::InitApply(pod("ns", "kept", "5", vec![owner(UID, true)])));
        idx.apply(&watcher::Event::InitApply(pod("ns", "new", "5", vec![])));
        assert_eq!(names(&idx.referencing(UID, "ns")), ["gone", "kept"], "the old state until InitDone");
        assert!(matches!(idx.apply(&watcher::Event::InitDone), Change::Relisted));
        assert_eq!(names(&idx.referencing(UID, "ns")), ["kept"]);
        assert_eq!(names(&idx.orphans("ns")), ["new"]);
        assert_eq!(idx.get("ns", "kept").unwrap().metadata.resource_version.as_deref(), Some("5"));
        assert!(idx.get("ns", "gone").is_none());
    }

    /// The table a workload asked for follows every pod event that concerns it: add, update,
    /// release (controller reference dropped: still listed, no longer controlled), delete;
    /// a relist drops it and the next request rebuilds it from the new list.
    #[test]
    fn tables_follow_pod_events_and_relists() {
        let idx = PodIndex::new();
        let cs = cloneset("1", "wéb");
        idx.apply(&watcher::Event::Apply(pod("ns", "wéb-a", "1", vec![owner(UID, true)])));
        let t = idx.table(&cs, "ns").unwrap();
        assert_eq!(lock(&t).names().collect::<Vec<_>>(), ["wéb-a"]);
        idx.apply(&watcher::Event::Apply(pod("ns", "wéb-b", "1", vec![owner(UID, true)])));
        idx.apply(&watcher::Event::Apply(pod("ns", "x", "1", vec![owner("someone-else", true)])));
        assert_eq!(lock(&t).names().collect::<Vec<_>>(), ["wéb-a", "wéb-b"]);
        idx.apply(&watcher::Event::Apply(pod("ns", "wéb-a", "2", vec![owner(UID, false)])));
        assert_eq!(lock(&t).get("wéb-a").unwrap().metadata.resource_version.as_deref(), Some("2"));
        // Moved to another owner: out of this table.
        idx.apply(&watcher::Event::Apply(pod("ns", "wéb-b", "2", vec![owner("someone-else", true)])));
        assert_eq!(lock(&t).names().collect::<Vec<_>>(), ["wéb-a"]);
        idx.apply(&watcher::Event::Delete(pod("ns", "wéb-a", "3", vec![owner(UID, false)])));
        assert!(lock(&t).is_empty());
        // The same table is handed out again.
        assert!(Arc::ptr_eq(&t, &idx.table(&cs, "ns").unwrap()));
        idx.apply(&watcher::Event::Init);
        idx.apply(&watcher::Event::InitApply(pod("ns", "wéb-c", "9", vec![owner(UID, true)])));
        idx.apply(&watcher::Event::InitDone);
        assert_eq!(idx.tables(), 0, "a relist drops the tables");
        let t2 = idx.table(&cs, "ns").unwrap();
        assert_eq!(lock(&t2).names().collect::<Vec<_>>(), ["wéb-c"]);
        idx.forget(UID);
        assert_eq!(idx.tables(), 0);
        let mut no_uid = cs.clone();
        no_uid.metadata.uid = None;
        assert!(idx.table(&no_uid, "ns").is_none(), "a table is keyed by uid");
    }

    /// Selectors are computed once per (uid, resourceVersion); orphans map to the workloads
    /// whose (non-empty) selector matches them, in their namespace only; a workload's delete
    /// and a relist of the workloads update the mapping.
    #[test]
    fn workload_selectors_are_cached_per_version() {
        let idx = WorkloadIndex::new();
        let labels: BTreeMap<String, String> = [("app".to_owned(), "wéb".to_owned())].into();
        idx.apply(&watcher::Event::Apply(cloneset("1", "wéb")));
        let first = idx.selectors(&cloneset("1", "wéb"));
        assert!(Arc::ptr_eq(&first, &idx.selectors(&cloneset("1", "wéb"))), "cached, not recomputed");
        assert_eq!(idx.adopting("ns", &labels), [WorkloadKey::new("ns", "wéb")]);
        assert!(idx.adopting("other", &labels).is_empty());
        idx.apply(&watcher::Event::Apply(cloneset("2", "api")));
        assert!(!Arc::ptr_eq(&first, &idx.selectors(&cloneset("2", "api"))), "a new version recomputes");
        assert!(idx.adopting("ns", &labels).is_empty());
        let mut empty = cloneset("3", "x");
        empty.spec.selector = Some(LabelSelector::default());
        idx.apply(&watcher::Event::Apply(empty.clone()));
        assert!(idx.adopting("ns", &labels).is_empty(), "an empty selector adopts nothing");
        assert!(idx.selectors(&empty).label_selector.is_some());
        idx.apply(&watcher::Event::Delete(empty));
        assert!(idx.uids().is_empty());
        idx.apply(&watcher::Event::Apply(cloneset("4", "wéb")));
        idx.apply(&watcher::Event::<CloneSet>::Init);
        assert_eq!(idx.adopting("ns", &labels).len(), 1, "the old state until InitDone");
        idx.apply(&watcher::Event::<CloneSet>::InitDone);
        assert!(idx.adopting("ns", &labels).is_empty(), "not listed again: gone");
    }
}
