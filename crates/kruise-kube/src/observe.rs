//! Input gathering: from reflector stores to the planner's [`World`] (CS-24, CS-89).
//!
//! A workload's world is, in its namespace: the pods with an owner reference to it (active and
//! terminating; CS-24 lists pods by owner reference only, so a bare pod that happens to match
//! the selector is never handed over for adoption); the PVCs it owns, and for a StatefulSet also
//! those without a controller that match its selector (its claims carry the selector labels and,
//! under the default `Retain` policy, no owner reference: ASTS-17); the ControllerRevisions it
//! owns or that match its selector with no controller (CS-23 step 7); and, when a node cache is
//! kept, every node. Each list is sorted by name (the pods are the workload's [`PodTable`], in
//! name order), so the planner sees the same snapshot whatever order the informer delivered
//! (CS-91). Everything is read from the [`index`](crate::index)es the watches keep: nothing
//! scans the cluster's objects, nothing copies the pods.

use std::collections::BTreeMap;
use std::sync::{Arc, MutexGuard};

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kruise_api::KruiseResource;
use kruise_api::defaults::Defaulting;
use kruise_core::podtable::PodTable;
use kruise_core::reconciler::World;
use kube::runtime::reflector::Store;

use crate::error::AdapterError;
use crate::index::{ObjectIndex, OwnerView, PodIndex, Selectors, SharedTable, WorkloadIndex};
use crate::key::WorkloadKey;

/// The caches a controller reads from: a reflector store of the workloads, the watch-fed
/// [`index`](crate::index)es of their selectors, pods (with one [`PodTable`] per workload),
/// PVCs and ControllerRevisions, and optionally a node store.
#[derive(Clone)]
pub struct Caches<W: KruiseResource + kube::Resource<DynamicType = ()> + 'static> {
    /// The workloads.
    pub workloads: Store<W>,
    /// The workloads' selectors, cached per (uid, resourceVersion).
    pub selectors: WorkloadIndex,
    /// Pods (in the watched namespaces), and the workloads' pod tables.
    pub pods: PodIndex,
    /// PersistentVolumeClaims.
    pub pvcs: ObjectIndex<PersistentVolumeClaim>,
    /// ControllerRevisions.
    pub revisions: ObjectIndex<ControllerRevision>,
    /// Nodes, when kept (topology spread, node-targeting workloads).
    pub nodes: Option<Store<Node>>,
}

impl<W: KruiseResource + kube::Resource<DynamicType = ()> + 'static> Caches<W> {
    /// Empty indexes over the workload store `workloads`, without nodes.
    pub fn new(workloads: Store<W>) -> Self {
        Self {
            workloads,
            selectors: WorkloadIndex::new(),
            pods: PodIndex::new(),
            pvcs: ObjectIndex::new(),
            revisions: ObjectIndex::new(),
            nodes: None,
        }
    }
}

/// One workload's world as observed: the defaulted workload, its [`PodTable`] (shared with
/// the pod watch, which keeps it current: lock it only while planning, with
/// [`Observed::pods`]), and copies of its own PVCs, revisions and the nodes.
#[derive(Clone, Debug)]
pub struct Observed<W> {
    /// `namespace/name` of the workload.
    pub key: WorkloadKey,
    /// The workload's uid.
    pub uid: String,
    /// The workload as cached.
    pub workload: Arc<W>,
    /// The pods with an owner reference to the workload (CS-24), by name, as a table.
    pub pods: SharedTable,
    /// For kinds that read pods they do not own ([`crate::reads`]: a SidecarSet, an
    /// ImagePullJob with a `podSelector`): those pods, handed over instead of the table.
    pub listed: Option<Vec<Pod>>,
    /// Owned PVCs, by name.
    pub pvcs: Vec<PersistentVolumeClaim>,
    /// Owned (and adoptable) ControllerRevisions, by name.
    pub revisions: Vec<ControllerRevision>,
    /// Nodes, by name (empty when no node cache is kept).
    pub nodes: Vec<Node>,
}

impl<W> Observed<W> {
    /// Locks the pod table (pod events for this workload wait meanwhile; hold it only while
    /// planning, never across an `.await`).
    pub fn pods(&self) -> MutexGuard<'_, PodTable> {
        self.pods.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The planner's view of this snapshot, with the pods of `pods` (from [`Self::pods`]).
    pub fn world<'a>(&'a self, pods: &'a PodTable) -> World<'a, W> {
        let world = World::new(&*self.workload);
        let world = match &self.listed {
            Some(listed) => world.with_pods(listed.as_slice()),
            None => world.with_pods(pods),
        };
        world.with_pvcs(&self.pvcs).with_revisions(&self.revisions).with_nodes(&self.nodes)
    }
}

/// True when `meta` has an owner reference (controller or not) to `uid`.
pub fn references(meta: &ObjectMeta, uid: &str) -> bool {
    meta.owner_references.iter().flatten().any(|r| r.uid == uid)
}

/// True when `meta` has a controller owner reference.
pub fn has_controller(meta: &ObjectMeta) -> bool {
    meta.owner_references.iter().flatten().any(|r| r.controller == Some(true))
}

pub(crate) fn labels(meta: &ObjectMeta) -> &BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    meta.labels.as_ref().unwrap_or(&EMPTY)
}

/// The objects of `index` in `namespace` referencing `uid`, plus (when `adopt`) the orphans
/// `selectors` adopts: one list by name, each object once, copied out of its `Arc`.
fn owned_and_adoptable<K>(
    index: &ObjectIndex<K>,
    uid: &str,
    namespace: &str,
    adopt: Option<&Selectors>,
) -> Vec<K>
where
    K: k8s_openapi::Metadata<Ty = ObjectMeta> + Clone,
{
    let mut by_name: BTreeMap<String, Arc<K>> = BTreeMap::new();
    for o in index.referencing(uid, namespace) {
        by_name.insert(o.metadata().name.clone().unwrap_or_default(), o);
    }
    if let Some(s) = adopt.filter(|s| s.adoption.is_some()) {
        for o in index.orphans(namespace) {
            if s.adopts(labels(o.metadata())) {
                by_name.insert(o.metadata().name.clone().unwrap_or_default(), o);
            }
        }
    }
    by_name.into_values().map(|o| (*o).clone()).collect()
}

/// Gathers `workload`'s world from `caches` (see the module docs for what belongs to it).
/// Nothing is scanned beyond the workload's own objects and its namespace's orphans, and its
/// pods are not copied: they are its [`PodTable`], built on first use and kept by the pod
/// watch, retargeted here if the workload's selector changed.
///
/// The workload is handed over with OpenKruise's webhook defaults applied (CS-10..CS-12): this
/// operator runs no mutating webhook, so an object as stored may lack them.
pub fn observe<W>(workload: Arc<W>, caches: &Caches<W>) -> Result<Observed<W>, AdapterError>
where
    W: KruiseResource + Defaulting + kube::Resource<DynamicType = ()> + 'static,
{
    let selectors = caches.selectors.selectors(&*workload);
    let workload = {
        let mut w = (*workload).clone();
        w.apply_defaults();
        Arc::new(w)
    };
    let meta = workload.metadata();
    let (Some(key), Some(uid)) = (WorkloadKey::of(meta), meta.uid.clone().filter(|u| !u.is_empty())) else {
        return Err(AdapterError::IncompleteWorkload(
            meta.name.clone().unwrap_or_else(|| "<unnamed>".to_owned()),
        ));
    };
    let kind = W::kind(&());
    let owner = OwnerView { kind: &kind, meta, selector: selectors.label_selector.as_ref() };
    // CS-24: pods by owner reference only; bare pods are not offered for adoption.
    let pods = caches
        .pods
        .table(&owner, &key.namespace)
        .ok_or_else(|| AdapterError::IncompleteWorkload(key.name.clone()))?;

    // Only a StatefulSet finds its claims by name and selector labels; other planners (CloneSet)
    // treat every PVC handed over as theirs to clean up, so they get owned ones only.
    let claims_by_name = kind == "StatefulSet";
    let pvcs = owned_and_adoptable(&caches.pvcs, &uid, &key.namespace, claims_by_name.then_some(&*selectors));
    let revisions = owned_and_adoptable(&caches.revisions, &uid, &key.namespace, Some(&*selectors));

    let mut nodes: Vec<Node> = caches
        .nodes
        .as_ref()
        .map(|s| s.state().into_iter().map(|n| (*n).clone()).collect())
        .unwrap_or_default();
    nodes.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));

    Ok(Observed { key, uid, workload, pods, listed: None, pvcs, revisions, nodes })
}
