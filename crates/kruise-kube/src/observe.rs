//! Input gathering: from reflector stores to the planner's [`World`] (CS-24, CS-89).
//!
//! A workload's world is, in its namespace: the pods with an owner reference to it (active and
//! terminating; CS-24 lists pods by owner reference only, so a bare pod that happens to match
//! the selector is never handed over for adoption); the PVCs it owns, and for a StatefulSet also
//! those without a controller that match its selector (its claims carry the selector labels and,
//! under the default `Retain` policy, no owner reference: ASTS-17); the ControllerRevisions it
//! owns or that match its selector with no controller (CS-23 step 7); and, when a node cache is
//! kept, every node. Each list is sorted by name, so the
//! planner sees the same snapshot whatever order the informer delivered (CS-91).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kruise_api::KruiseResource;
use kruise_api::defaults::Defaulting;
use kruise_core::reconciler::World;
use kube::core::{Selector, SelectorExt};
use kube::runtime::reflector::Store;

use crate::error::AdapterError;
use crate::key::WorkloadKey;

/// The reflector stores a controller reads from.
#[derive(Clone)]
pub struct Caches<W: KruiseResource + kube::Resource<DynamicType = ()> + 'static> {
    /// The workloads.
    pub workloads: Store<W>,
    /// Pods (in the watched namespaces).
    pub pods: Store<Pod>,
    /// PersistentVolumeClaims.
    pub pvcs: Store<PersistentVolumeClaim>,
    /// ControllerRevisions.
    pub revisions: Store<ControllerRevision>,
    /// Nodes, when kept (topology spread, node-targeting workloads).
    pub nodes: Option<Store<Node>>,
}

/// An owned snapshot of one workload's world; [`Observed::world`] borrows it as the planner's
/// input.
#[derive(Clone, Debug)]
pub struct Observed<W> {
    /// `namespace/name` of the workload.
    pub key: WorkloadKey,
    /// The workload's uid.
    pub uid: String,
    /// The workload as cached.
    pub workload: Arc<W>,
    /// Pods with an owner reference to the workload, by name (CS-24).
    pub pods: Vec<Pod>,
    /// Owned PVCs, by name.
    pub pvcs: Vec<PersistentVolumeClaim>,
    /// Owned (and adoptable) ControllerRevisions, by name.
    pub revisions: Vec<ControllerRevision>,
    /// Nodes, by name (empty when no node cache is kept).
    pub nodes: Vec<Node>,
}

impl<W> Observed<W> {
    /// The planner's view of this snapshot.
    pub fn world(&self) -> World<'_, W> {
        World::new(&*self.workload)
            .with_pods(&self.pods)
            .with_pvcs(&self.pvcs)
            .with_revisions(&self.revisions)
            .with_nodes(&self.nodes)
    }
}

/// The workload's `spec.selector`, read generically from its JSON form (every Kruise workload
/// spells it so). `None` when absent or not a label selector.
pub fn workload_selector<W: serde::Serialize>(workload: &W) -> Option<LabelSelector> {
    let value = serde_json::to_value(workload).ok()?;
    let selector = value.get("spec")?.get("selector")?.clone();
    serde_json::from_value(selector).ok()
}

/// A selector usable for adoption: one that selects something. An empty or unparsable selector
/// adopts nothing (it would otherwise claim every pod of the namespace).
fn adoption_selector(selector: Option<LabelSelector>) -> Option<Selector> {
    let s = selector?;
    let empty = s.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
        && s.match_expressions.as_ref().is_none_or(Vec::is_empty);
    if empty {
        return None;
    }
    Selector::try_from(s).ok()
}

/// True when `meta` has an owner reference (controller or not) to `uid`.
pub fn references(meta: &ObjectMeta, uid: &str) -> bool {
    meta.owner_references.iter().flatten().any(|r| r.uid == uid)
}

/// True when `meta` has a controller owner reference.
pub fn has_controller(meta: &ObjectMeta) -> bool {
    meta.owner_references.iter().flatten().any(|r| r.controller == Some(true))
}

fn labels(meta: &ObjectMeta) -> &BTreeMap<String, String> {
    static EMPTY: BTreeMap<String, String> = BTreeMap::new();
    meta.labels.as_ref().unwrap_or(&EMPTY)
}

fn by_name<T: k8s_openapi::Metadata<Ty = ObjectMeta>>(items: &mut [T]) {
    items.sort_by(|a, b| a.metadata().name.cmp(&b.metadata().name));
}

/// Gathers `workload`'s world from `caches` (see the module docs for what belongs to it).
///
/// The workload is handed over with OpenKruise's webhook defaults applied (CS-10..CS-12): this
/// operator runs no mutating webhook, so an object as stored may lack them.
pub fn observe<W>(workload: Arc<W>, caches: &Caches<W>) -> Result<Observed<W>, AdapterError>
where
    W: KruiseResource + Defaulting + kube::Resource<DynamicType = ()> + 'static,
{
    let workload = {
        let mut w = (*workload).clone();
        w.apply_defaults();
        Arc::new(w)
    };
    let meta = workload.metadata();
    let (Some(key), Some(uid)) = (WorkloadKey::of(meta), meta.uid.clone()) else {
        return Err(AdapterError::IncompleteWorkload(
            meta.name.clone().unwrap_or_else(|| "<unnamed>".to_owned()),
        ));
    };
    let selector = adoption_selector(workload_selector(&*workload));
    let in_ns = |m: &ObjectMeta| m.namespace.as_deref() == Some(key.namespace.as_str());
    let adoptable =
        |m: &ObjectMeta| !has_controller(m) && selector.as_ref().is_some_and(|s| s.matches(labels(m)));

    // CS-24: pods by owner reference only; bare pods are not offered for adoption.
    let mut pods: Vec<Pod> = caches
        .pods
        .state()
        .into_iter()
        .filter(|p| in_ns(&p.metadata) && references(&p.metadata, &uid))
        .map(|p| (*p).clone())
        .collect();
    by_name(&mut pods);

    // Only a StatefulSet finds its claims by name and selector labels; other planners (CloneSet)
    // treat every PVC handed over as theirs to clean up, so they get owned ones only.
    let claims_by_name = W::kind(&()) == "StatefulSet";
    let mut pvcs: Vec<PersistentVolumeClaim> = caches
        .pvcs
        .state()
        .into_iter()
        .filter(|p| {
            let m = &p.metadata;
            in_ns(m) && (references(m, &uid) || (claims_by_name && adoptable(m)))
        })
        .map(|p| (*p).clone())
        .collect();
    by_name(&mut pvcs);

    let mut revisions: Vec<ControllerRevision> = caches
        .revisions
        .state()
        .into_iter()
        .filter(|r| {
            let m = &r.metadata;
            in_ns(m) && (references(m, &uid) || adoptable(m))
        })
        .map(|r| (*r).clone())
        .collect();
    by_name(&mut revisions);

    let mut nodes: Vec<Node> = caches
        .nodes
        .as_ref()
        .map(|s| s.state().into_iter().map(|n| (*n).clone()).collect())
        .unwrap_or_default();
    by_name(&mut nodes);

    Ok(Observed { key, uid, workload, pods, pvcs, revisions, nodes })
}
