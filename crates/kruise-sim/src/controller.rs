//! Controllers as the simulator runs them. [`Controller`] is the small object-safe face the
//! event loop drives; [`ReconcilerController`] plugs in any
//! [`kruise_core::reconciler::Reconciler`]: it gathers the [`World`] from the informer cache
//! (workload, owned pods/PVCs/revisions, nodes, and the objects of the kinds
//! [`Reconciler::related_kinds`] names: in the workload's namespace for a namespaced kind,
//! all of them for a cluster-scoped one), keeps the per-workload
//! [`Expectations`], and records the result of every write. Node-targeting workloads
//! (DaemonSet, BroadcastJob, ImagePullJob) set [`ReconcilerController::watch_nodes`] so node
//! changes wake them; StatefulSet PVCs arrive through the same owner index; kinds that read
//! pods they do not own ([`ReconcilerController::pod_reads`], declared by kruise-core) get
//! every pod of their namespace (ImagePullJob) or of the cluster (SidecarSet).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use kruise_core::Expectations;
use kruise_core::features::Features;
use kruise_core::reconciler::{Context, Outcome, PodReads, ReconcileError, Reconciler, World};
use kruise_core::write::ApiWrite;
use serde_json::Value;

use crate::cache::{Cache, controller_uid};
use crate::store::{ApiError, Change, ObjectKey, WriteOk, group_of, str_at};
use crate::time::{SimTime, timestamp};

/// A controller the simulator can run.
pub trait Controller {
    /// A short name for reports (`cloneset`).
    fn name(&self) -> &str;
    /// The workloads a cache change concerns (to be reconciled).
    fn workloads_for(&mut self, change: &Change, cache: &Cache) -> Vec<ObjectKey>;
    /// One reconcile of `workload` from the cache at `now`. `Ok(None)` when the workload is
    /// not in the cache (nothing to do).
    fn reconcile(
        &mut self,
        workload: &ObjectKey,
        cache: &Cache,
        now: SimTime,
        id_seed: u64,
    ) -> Result<Option<Outcome>, ReconcileError>;
    /// The result of carrying out one of the outcome's writes.
    fn record_write(
        &mut self,
        workload: &ObjectKey,
        write: &ApiWrite,
        result: &Result<WriteOk, ApiError>,
        now: SimTime,
    );
    /// Writes the controller still waits to see, per workload (for reports and tests).
    fn pending_expectations(&self) -> BTreeMap<ObjectKey, Expectations>;
    /// Sets the feature gates passed to every reconcile (a scenario's `features`). Controllers
    /// without gates ignore it.
    fn set_features(&mut self, _features: Features) {}
}

/// Runs a [`Reconciler`] as a [`Controller`].
#[derive(Debug)]
pub struct ReconcilerController<R: Reconciler> {
    name: String,
    reconciler: R,
    /// Feature gates passed to every reconcile.
    pub features: Features,
    /// When false the reconciler is always told nothing is outstanding (a naive controller
    /// that trusts its cache; used to show what expectations prevent).
    pub use_expectations: bool,
    /// Reconcile every workload when a node changes.
    pub watch_nodes: bool,
    /// Hand the reconciler every PVC of the workload's namespace, not only the ones it
    /// controls: a StatefulSet finds its claims by name (ASTS-17), whoever owns them, and a
    /// PVC change wakes every such workload of the namespace.
    pub pvcs_by_name: bool,
    /// Which pods the reconciler is handed, as kruise-core declares it for the workload's
    /// kind ([`PodReads::of_resource`]): [`PodReads::Owned`], the pods it controls;
    /// [`PodReads::PodSelectorInNamespace`] (an ImagePullJob's `podSelector`, IPJ-12), every
    /// pod of its namespace, a pod change waking every such workload of the namespace;
    /// [`PodReads::SelectorEverywhere`] (a SidecarSet, SCS-40), every pod of the cluster, any
    /// pod change waking every such workload. The planner applies the selector itself.
    pub pod_reads: PodReads,
    expectations: BTreeMap<ObjectKey, Expectations>,
    by_uid: BTreeMap<String, ObjectKey>,
    /// Per owner uid: the objects it controls, typed, sorted by name, kept up to date from
    /// watch deliveries so a reconcile borrows them instead of rebuilding them.
    owned: BTreeMap<String, Owned>,
    /// All nodes, typed, by name.
    nodes: Vec<Node>,
}

/// The typed objects one workload controls.
#[derive(Clone, Debug, Default)]
struct Owned {
    pods: Vec<Pod>,
    pvcs: Vec<PersistentVolumeClaim>,
    revisions: Vec<ControllerRevision>,
}

/// Replaces, inserts or removes `name` in a name-sorted vector.
fn upsert<T>(items: &mut Vec<T>, name: &str, value: Option<T>, name_of: impl Fn(&T) -> &str) {
    let at = items.binary_search_by(|x| name_of(x).cmp(name));
    match (at, value) {
        (Ok(i), Some(v)) => items[i] = v,
        (Ok(i), None) => {
            items.remove(i);
        }
        (Err(i), Some(v)) => items.insert(i, v),
        (Err(_), None) => {}
    }
}

fn meta_name(m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    m.name.as_deref().unwrap_or_default()
}

impl<R: Reconciler> ReconcilerController<R> {
    /// A controller named `name` around `reconciler`, with default gates and expectations on.
    pub fn new(name: &str, reconciler: R) -> Self {
        Self {
            name: name.to_owned(),
            reconciler,
            features: Features::default(),
            use_expectations: true,
            watch_nodes: false,
            pvcs_by_name: false,
            pod_reads: PodReads::of_resource::<R::Workload>(),
            expectations: BTreeMap::new(),
            by_uid: BTreeMap::new(),
            owned: BTreeMap::new(),
            nodes: Vec::new(),
        }
    }

    /// True when `key` is of a kind the reconciler reads besides what it owns.
    /// The related kind `key` is of, if any.
    fn related_kind(&self, key: &ObjectKey) -> Option<&'static kruise_core::reconciler::RelatedKind> {
        self.reconciler.related_kinds().iter().find(|k| k.group == key.group && k.kind == key.kind)
    }

    fn is_workload(key: &ObjectKey) -> bool {
        key.group == group_of(<R::Workload as k8s_openapi::Resource>::API_VERSION)
            && key.kind == <R::Workload as k8s_openapi::Resource>::KIND
    }
}

fn typed<T: serde::de::DeserializeOwned>(v: &Value) -> Option<T> {
    serde_json::from_value(v.clone()).ok()
}

impl<R: Reconciler> Controller for ReconcilerController<R> {
    fn name(&self) -> &str {
        &self.name
    }

    fn workloads_for(&mut self, change: &Change, cache: &Cache) -> Vec<ObjectKey> {
        if Self::is_workload(&change.key) {
            match &change.new {
                Some(v) => {
                    if let Some(uid) = str_at(v, &["metadata", "uid"]) {
                        self.by_uid.insert(uid.to_owned(), change.key.clone());
                    }
                }
                None => {
                    if let Some(uid) = change.old.as_ref().and_then(|v| str_at(v, &["metadata", "uid"])) {
                        self.by_uid.remove(uid);
                    }
                    self.expectations.remove(&change.key);
                }
            }
            return vec![change.key.clone()];
        }
        if let Some(kind) = self.related_kind(&change.key) {
            // A related object (a Rollout's workload, pods, Services, routes) may change the
            // plan of any workload of its namespace; a cluster-scoped one (a SidecarSet's
            // Namespaces, an ImagePullJob's NodeImages) that of every workload.
            let namespaced = kind.namespaced;
            return self
                .by_uid
                .values()
                .filter(|k| !namespaced || k.namespace == change.key.namespace)
                .cloned()
                .collect();
        }
        if change.key.is_node() {
            let node = cache.get(&change.key).and_then(typed::<Node>);
            upsert(&mut self.nodes, &change.key.name, node, |n| meta_name(&n.metadata));
            return if self.watch_nodes { self.by_uid.values().cloned().collect() } else { Vec::new() };
        }
        if self.pod_reads == PodReads::SelectorEverywhere && change.key.is_pod() {
            return self.by_uid.values().cloned().collect();
        }
        if self.pvcs_by_name && change.key.group.is_empty() && change.key.kind == "PersistentVolumeClaim" {
            return self.by_uid.values().filter(|k| k.namespace == change.key.namespace).cloned().collect();
        }
        let mut woken: Vec<ObjectKey> = Vec::new();
        if self.pod_reads == PodReads::PodSelectorInNamespace && change.key.is_pod() {
            woken.extend(self.by_uid.values().filter(|k| k.namespace == change.key.namespace).cloned());
        }
        let old_owner = change.old.as_ref().and_then(controller_uid);
        let new_owner = change.new.as_ref().and_then(controller_uid);
        // Keep each owner's typed view current (the cache already holds the latest state).
        for owner in [old_owner, new_owner].into_iter().flatten() {
            let current = cache.get(&change.key).filter(|v| controller_uid(v) == Some(owner));
            let entry = self.owned.entry(owner.to_owned()).or_default();
            let name = change.key.name.as_str();
            match (change.key.group.as_str(), change.key.kind.as_str()) {
                ("", "Pod") => {
                    upsert(&mut entry.pods, name, current.and(cache.pod(&change.key)).cloned(), |p| {
                        meta_name(&p.metadata)
                    })
                }
                ("", "PersistentVolumeClaim") => {
                    upsert(&mut entry.pvcs, name, current.and_then(typed), |p| meta_name(&p.metadata))
                }
                ("apps", "ControllerRevision") => {
                    upsert(&mut entry.revisions, name, current.and_then(typed), |p| meta_name(&p.metadata))
                }
                _ => {}
            }
            if entry.pods.is_empty() && entry.pvcs.is_empty() && entry.revisions.is_empty() {
                self.owned.remove(owner);
            }
        }
        [old_owner, new_owner]
            .into_iter()
            .flatten()
            .filter_map(|uid| self.by_uid.get(uid))
            .cloned()
            .chain(woken)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    fn reconcile(
        &mut self,
        key: &ObjectKey,
        cache: &Cache,
        now: SimTime,
        id_seed: u64,
    ) -> Result<Option<Outcome>, ReconcileError> {
        let Some(value) = cache.get(key) else { return Ok(None) };
        let workload: R::Workload =
            serde_json::from_value(value.clone()).map_err(|e| ReconcileError(Box::new(e)))?;
        let uid = str_at(value, &["metadata", "uid"]).unwrap_or_default();
        let empty_owned = Owned::default();
        let mut by_name = None;
        if self.pvcs_by_name {
            let mut o = self.owned.get(uid).cloned().unwrap_or_default();
            o.pvcs = cache
                .list("", "PersistentVolumeClaim")
                .filter(|(k, _)| k.namespace == key.namespace)
                .filter_map(|(_, v)| typed(v))
                .collect();
            by_name = Some(o);
        }
        if self.pod_reads == PodReads::SelectorEverywhere {
            let mut o = self.owned.get(uid).cloned().unwrap_or_default();
            o.pods = cache.list("", "Pod").filter_map(|(k, _)| cache.pod(k)).cloned().collect();
            by_name = Some(o);
        }
        let owned = by_name.as_ref().or_else(|| self.owned.get(uid)).unwrap_or(&empty_owned);
        let exp = self.expectations.entry(key.clone()).or_default();
        for p in &owned.pods {
            exp.observe_pod(p);
        }
        for c in &owned.pvcs {
            let m = &c.metadata;
            exp.observe(
                meta_name(m),
                m.uid.as_deref(),
                m.resource_version.as_deref(),
                m.deletion_timestamp.is_some(),
            );
        }
        for r in &owned.revisions {
            let m = &r.metadata;
            exp.observe(meta_name(m), m.uid.as_deref(), m.resource_version.as_deref(), false);
        }
        exp.observe(&key.name, Some(uid), str_at(value, &["metadata", "resourceVersion"]), false);
        exp.observe_listing(
            owned
                .pods
                .iter()
                .map(|p| meta_name(&p.metadata))
                .chain(owned.pvcs.iter().map(|p| meta_name(&p.metadata))),
        );
        let empty = Expectations::new();
        let expectations = if self.use_expectations { &*exp } else { &empty };
        let related: Vec<Value> = self
            .reconciler
            .related_kinds()
            .iter()
            .flat_map(|rk| cache.list(rk.group, rk.kind).map(move |o| (rk.namespaced, o)))
            .filter(|(namespaced, (k, _))| !namespaced || k.namespace == key.namespace)
            .map(|(_, (_, v))| v.clone())
            .collect();
        let in_namespace = self.pod_reads == PodReads::PodSelectorInNamespace;
        let namespace_pods: Vec<Pod> = if in_namespace {
            cache
                .list("", "Pod")
                .filter(|(k, _)| k.namespace == key.namespace)
                .filter_map(|(k, _)| cache.pod(k).cloned())
                .collect()
        } else {
            Vec::new()
        };
        let pods = if in_namespace { &namespace_pods } else { &owned.pods };
        let world = World::new(&workload)
            .with_pods(pods)
            .with_pvcs(&owned.pvcs)
            .with_revisions(&owned.revisions)
            .with_nodes(&self.nodes)
            .with_related(&related);
        let ctx = Context { now: timestamp(now), id_seed, features: self.features, expectations };
        self.reconciler.reconcile(&world, &ctx).map(Some)
    }

    fn record_write(
        &mut self,
        workload: &ObjectKey,
        write: &ApiWrite,
        result: &Result<WriteOk, ApiError>,
        now: SimTime,
    ) {
        let Ok(ok) = result else { return };
        let exp = self.expectations.entry(workload.clone()).or_default();
        let target = write.target();
        let scaled = matches!(target.kind.as_str(), "Pod" | "PersistentVolumeClaim");
        let at = timestamp(now);
        match write {
            ApiWrite::Create { .. } if scaled => exp.expect_create(&ok.name, at),
            ApiWrite::Delete { .. } if scaled && ok.changed => exp.expect_delete(&ok.name, at),
            ApiWrite::Replace { .. } | ApiWrite::MergePatch { .. } | ApiWrite::JsonPatch { .. }
                if ok.changed =>
            {
                exp.expect_resource_version(&ok.uid, ok.resource_version, at)
            }
            _ => {}
        }
    }

    fn set_features(&mut self, features: Features) {
        self.features = features;
    }

    fn pending_expectations(&self) -> BTreeMap<ObjectKey, Expectations> {
        self.expectations
            .iter()
            .filter(|(_, e)| !e.is_satisfied())
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use kruise_api::apps::v1beta1::BroadcastJob;
    use kruise_core::reconciler::RelatedKind;
    use serde_json::json;

    use super::*;

    /// Records the related objects each reconcile is handed.
    #[derive(Default)]
    struct Probe(RefCell<Vec<Vec<String>>>);

    const KINDS: &[RelatedKind] = &[
        RelatedKind {
            group: "apps.kruise.io",
            version: "v1beta1",
            kind: "NodeImage",
            plural: "nodeimages",
            namespaced: false,
        },
        RelatedKind { group: "", version: "v1", kind: "Service", plural: "services", namespaced: true },
    ];

    impl Reconciler for Probe {
        type Workload = BroadcastJob;
        fn reconcile(
            &self,
            world: &World<'_, BroadcastJob>,
            _: &Context<'_>,
        ) -> Result<Outcome, ReconcileError> {
            let names = world
                .related
                .iter()
                .map(|v| str_at(v, &["metadata", "name"]).unwrap_or_default().to_owned())
                .collect();
            self.0.borrow_mut().push(names);
            Ok(Outcome::default())
        }
        fn related_kinds(&self) -> &'static [RelatedKind] {
            KINDS
        }
    }

    fn obj(api_version: &str, kind: &str, ns: Option<&str>, name: &str) -> Value {
        let mut m = json!({"name": name, "uid": format!("uid-{name}")});
        if let Some(ns) = ns {
            m["namespace"] = json!(ns);
        }
        json!({"apiVersion": api_version, "kind": kind, "metadata": m})
    }

    /// Cluster-scoped related objects (NodeImages, Namespaces) reach every workload and wake
    /// every workload; namespaced ones only those of their namespace.
    #[test]
    fn cluster_scoped_related_objects_reach_every_workload() {
        let mut cache = Cache::new();
        let mut c = ReconcilerController::new("probe", Probe::default());
        let objs = [
            obj("apps.kruise.io/v1beta1", "BroadcastJob", Some("a"), "job"),
            obj("apps.kruise.io/v1beta1", "NodeImage", None, "node-1"),
            obj("v1", "Service", Some("a"), "svc-a"),
            obj("v1", "Service", Some("b"), "svc-b"),
        ];
        let mut woken = Vec::new();
        for v in &objs {
            cache.push(Change { key: ObjectKey::of_value(v), old: None, new: Some(v.clone()) }, 0, 0);
        }
        for change in cache.deliver(0) {
            woken.push(c.workloads_for(&change, &cache).len());
        }
        assert_eq!(woken, [1, 1, 1, 0], "the NodeImage wakes the job of namespace a; svc-b does not");
        let job = ObjectKey::of_value(&objs[0]);
        c.reconcile(&job, &cache, 0, 0).unwrap();
        assert_eq!(c.reconciler.0.borrow().last().unwrap(), &["node-1".to_owned(), "svc-a".to_owned()]);
    }
}
