//! Controllers as the simulator runs them. [`Controller`] is the small object-safe face the
//! event loop drives; [`ReconcilerController`] plugs in any
//! [`kruise_core::reconciler::Reconciler`]: it gathers the [`World`] from the informer cache
//! (workload, owned pods/PVCs/revisions, and nodes), keeps the per-workload
//! [`Expectations`], and records the result of every write. Node-targeting workloads
//! (DaemonSet, BroadcastJob, ImagePullJob) set [`ReconcilerController::watch_nodes`] so node
//! changes wake them; StatefulSet PVCs arrive through the same owner index.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use kruise_core::Expectations;
use kruise_core::features::Features;
use kruise_core::reconciler::{Context, Outcome, ReconcileError, Reconciler, World};
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
    expectations: BTreeMap<ObjectKey, Expectations>,
    by_uid: BTreeMap<String, ObjectKey>,
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
            expectations: BTreeMap::new(),
            by_uid: BTreeMap::new(),
        }
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

    fn workloads_for(&mut self, change: &Change, _cache: &Cache) -> Vec<ObjectKey> {
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
        if change.key.is_node() && self.watch_nodes {
            return self.by_uid.values().cloned().collect();
        }
        let owner = change
            .new
            .as_ref()
            .and_then(controller_uid)
            .or_else(|| change.old.as_ref().and_then(controller_uid));
        owner.and_then(|uid| self.by_uid.get(uid)).cloned().into_iter().collect()
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
        let mut pods: Vec<Pod> = Vec::new();
        let mut pvcs: Vec<PersistentVolumeClaim> = Vec::new();
        let mut revisions: Vec<ControllerRevision> = Vec::new();
        for k in cache.owned_by(uid) {
            let Some(v) = cache.get(k) else { continue };
            if controller_uid(v) != Some(uid) {
                continue;
            }
            match (k.group.as_str(), k.kind.as_str()) {
                ("", "Pod") => pods.extend(cache.pod(k).cloned()),
                ("", "PersistentVolumeClaim") => pvcs.extend(typed(v)),
                ("apps", "ControllerRevision") => revisions.extend(typed(v)),
                _ => {}
            }
        }
        let nodes: Vec<Node> = cache.list("", "Node").filter_map(|(_, v)| typed(v)).collect();
        let exp = self.expectations.entry(key.clone()).or_default();
        for p in &pods {
            exp.observe_pod(p);
        }
        for c in &pvcs {
            let m = &c.metadata;
            exp.observe(
                m.name.as_deref().unwrap_or_default(),
                m.uid.as_deref(),
                m.resource_version.as_deref(),
                m.deletion_timestamp.is_some(),
            );
        }
        for r in &revisions {
            let m = &r.metadata;
            exp.observe(
                m.name.as_deref().unwrap_or_default(),
                m.uid.as_deref(),
                m.resource_version.as_deref(),
                false,
            );
        }
        exp.observe(&key.name, Some(uid), str_at(value, &["metadata", "resourceVersion"]), false);
        exp.observe_listing(
            pods.iter()
                .filter_map(|p| p.metadata.name.as_deref())
                .chain(pvcs.iter().filter_map(|p| p.metadata.name.as_deref())),
        );
        let empty = Expectations::new();
        let expectations = if self.use_expectations { &*exp } else { &empty };
        let world =
            World { workload: &workload, pods: &pods, pvcs: &pvcs, revisions: &revisions, nodes: &nodes };
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
            ApiWrite::Replace { .. } | ApiWrite::MergePatch { .. } if ok.changed => {
                exp.expect_resource_version(&ok.uid, ok.resource_version, at)
            }
            _ => {}
        }
    }

    fn pending_expectations(&self) -> BTreeMap<ObjectKey, Expectations> {
        self.expectations
            .iter()
            .filter(|(_, e)| !e.is_satisfied())
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect()
    }
}
