//! Plan execution: carries out a planner's [`ApiWrite`]s, in order, with kube's
//! `Api<DynamicObject>`, and records expectations as it goes (CS-87, CS-88).
//!
//! - `Create`: the name is recorded as an expected create *before* the call and withdrawn if
//!   it fails.
//! - `Replace`: refused unless the object carries `metadata.resourceVersion` (never a blind
//!   full update); a 409 stops the plan ([`AdapterError::Conflict`]) for a retry against a
//!   fresher cache.
//! - `MergePatch` (RFC 7386) on the object, `status` or `resize`; the `resize` subresource
//!   falls back to the object itself on servers without it (Kubernetes < 1.33).
//! - `Delete` with a uid precondition, recorded as an expected delete first; "already gone"
//!   (404) and "a namesake, not ours" (409) count as done.
//!
//! After an update of a pod, PVC or revision, the resourceVersion the server returned is
//! recorded, so the next reconcile waits for the cache to show at least that version.

use std::collections::BTreeMap;

use jiff::Timestamp;
use kruise_api::FieldPath;
use kruise_core::reconciler::PlannedWrite;
use kruise_core::write::{ApiWrite, Subresource, Target};
use kube::Client;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
    Preconditions,
};
use tracing::Instrument;

use crate::error::AdapterError;
use crate::expectations::ExpectationsStore;
use crate::key::WorkloadKey;

/// The field manager every write is sent with.
pub const FIELD_MANAGER: &str = "kruise-rs";

/// What happened to one write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteResult {
    /// The server accepted it; the object's resourceVersion it returned, if any.
    Done(Option<String>),
    /// Nothing to do: a delete found the object gone or replaced by a namesake.
    AlreadyDone,
}

/// Carries out [`ApiWrite`]s against an API server.
#[derive(Clone)]
pub struct Executor {
    client: Client,
    leading: Option<tokio::sync::watch::Receiver<bool>>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor").finish_non_exhaustive()
    }
}

fn describe(t: &Target) -> String {
    match &t.namespace {
        Some(ns) => format!("{} {}/{}", t.kind, ns, t.name),
        None => format!("{} {}", t.kind, t.name),
    }
}

fn op_name(w: &ApiWrite) -> &'static str {
    match w {
        ApiWrite::Create { .. } => "Create",
        ApiWrite::Replace { .. } => "Replace",
        ApiWrite::MergePatch { .. } => "MergePatch",
        ApiWrite::Delete { .. } => "Delete",
    }
}

/// Kinds whose resourceVersion the planner waits for after an update (CS-88).
fn tracks_resource_version(kind: &str) -> bool {
    matches!(kind, "Pod" | "PersistentVolumeClaim" | "ControllerRevision")
}

fn api_status(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

impl Executor {
    /// An executor sending with `client`.
    pub fn new(client: Client) -> Self {
        Self { client, leading: None }
    }

    /// Sends each write only while `leading` is `true`: a replica that loses the leader Lease
    /// mid-plan stops before its next write ([`AdapterError::NotLeader`]).
    pub fn with_leader_gate(mut self, leading: tokio::sync::watch::Receiver<bool>) -> Self {
        self.leading = Some(leading);
        self
    }

    fn api(&self, t: &Target) -> Api<DynamicObject> {
        let (group, version) = t.api_version.split_once('/').unwrap_or(("", &t.api_version));
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, &t.kind));
        match &t.namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &ar),
            None => Api::all_with(self.client.clone(), &ar),
        }
    }

    /// Carries out `writes` in order for workload `key`, recording expectations in `store`.
    /// Stops at the first failure; returns how many writes were carried out, and the failure.
    ///
    /// A `Replace` without `metadata.resourceVersion` that follows an earlier write to the same
    /// object in this plan (an in-place update's pod write after its condition write) is
    /// guarded by the resourceVersion that earlier write returned: the object may only have
    /// moved by our own hand, and a 409 reveals anyone else's. Without such an earlier write
    /// it is refused ([`AdapterError::MalformedWrite`]).
    pub async fn execute_all(
        &self,
        key: &WorkloadKey,
        writes: &[PlannedWrite],
        store: &ExpectationsStore,
        now: Timestamp,
    ) -> (usize, Result<(), AdapterError>) {
        let mut last_rv: BTreeMap<&Target, String> = BTreeMap::new();
        for (done, w) in writes.iter().enumerate() {
            if self.leading.as_ref().is_some_and(|l| !*l.borrow()) {
                tracing::warn!(written = done, "leader lease lost; plan stopped");
                return (done, Err(AdapterError::NotLeader));
            }
            let span = tracing::debug_span!(
                "write",
                op = op_name(&w.write),
                target = %describe(w.write.target()),
                action = %w.action,
                reason = %w.reason,
            );
            let target = w.write.target();
            let chained = match (&w.write, last_rv.get(target)) {
                (ApiWrite::Replace { target, subresource, object }, Some(rv))
                    if object.pointer("/metadata/resourceVersion").is_none_or(serde_json::Value::is_null) =>
                {
                    let mut object = object.clone();
                    if let Some(meta) = object.get_mut("metadata").and_then(|m| m.as_object_mut()) {
                        meta.insert("resourceVersion".to_owned(), serde_json::Value::String(rv.clone()));
                    }
                    Some(ApiWrite::Replace { target: target.clone(), subresource: *subresource, object })
                }
                _ => None,
            };
            let write = chained.as_ref().unwrap_or(&w.write);
            let result = self.execute(key, write, store, now).instrument(span.clone()).await;
            let _enter = span.enter();
            match result {
                Ok(result) => {
                    tracing::debug!(?result, "written");
                    if let WriteResult::Done(Some(rv)) = result {
                        last_rv.insert(target, rv);
                    }
                }
                Err(e) => {
                    tracing::info!(error = %e, written = done, "write failed; plan stopped");
                    return (done, Err(e));
                }
            }
        }
        (writes.len(), Ok(()))
    }

    /// Carries out one write for workload `key`, recording expectations in `store`.
    pub async fn execute(
        &self,
        key: &WorkloadKey,
        write: &ApiWrite,
        store: &ExpectationsStore,
        now: Timestamp,
    ) -> Result<WriteResult, AdapterError> {
        let target = write.target();
        let api = self.api(target);
        let op = op_name(write);
        let fail = |e: kube::Error| match &e {
            kube::Error::Api(s) if s.code == 409 || s.code == 404 => {
                AdapterError::Conflict { op, target: describe(target), message: s.message.clone() }
            }
            _ => AdapterError::Write { op, target: describe(target), source: Box::new(e) },
        };
        let pp = PostParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..Default::default() };
        match write {
            ApiWrite::Create { object, .. } => {
                let obj = self.object_for(target, object, false)?;
                store.expect_create(key, &target.name, now);
                match api.create(&pp, &obj).await {
                    Ok(created) => Ok(WriteResult::Done(created.metadata.resource_version)),
                    Err(e) => {
                        store.forget_create(key, &target.name);
                        Err(fail(e))
                    }
                }
            }
            ApiWrite::Replace { subresource, object, .. } => {
                let obj = self.object_for(target, object, true)?;
                let res = match subresource {
                    Subresource::Main => api.replace(&target.name, &pp, &obj).await,
                    Subresource::Status => api.replace_status(&target.name, &pp, &obj).await,
                    Subresource::Resize => api.replace_subresource("resize", &target.name, &pp, &obj).await,
                };
                let written = res.map_err(fail)?;
                self.record_resource_version(key, target, &written, store, now);
                Ok(WriteResult::Done(written.metadata.resource_version))
            }
            ApiWrite::MergePatch { subresource, patch, .. } => {
                let params =
                    PatchParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..Default::default() };
                let p = Patch::Merge(patch);
                let res = match subresource {
                    Subresource::Main => api.patch(&target.name, &params, &p).await,
                    Subresource::Status => api.patch_status(&target.name, &params, &p).await,
                    Subresource::Resize => {
                        match api.patch_subresource("resize", &target.name, &params, &p).await {
                            // No `resize` subresource on this server: resources are mutable
                            // on the pod itself (InPlacePodVerticalScaling before 1.33).
                            Err(e) if api_status(&e) == Some(404) => {
                                tracing::debug!("no pods/resize subresource; patching the pod");
                                api.patch(&target.name, &params, &p).await
                            }
                            other => other,
                        }
                    }
                };
                let written = res.map_err(fail)?;
                self.record_resource_version(key, target, &written, store, now);
                Ok(WriteResult::Done(written.metadata.resource_version))
            }
            ApiWrite::Delete { uid, .. } => {
                let dp = DeleteParams {
                    preconditions: uid
                        .as_ref()
                        .map(|u| Preconditions { uid: Some(u.clone()), resource_version: None }),
                    ..Default::default()
                };
                store.expect_delete(key, &target.name, now);
                match api.delete(&target.name, &dp).await {
                    Ok(_) => Ok(WriteResult::Done(None)),
                    // Gone already, or the name now belongs to another object: nothing to do.
                    Err(e) if matches!(api_status(&e), Some(404 | 409)) => {
                        store.forget_delete(key, &target.name);
                        Ok(WriteResult::AlreadyDone)
                    }
                    Err(e) => {
                        store.forget_delete(key, &target.name);
                        Err(fail(e))
                    }
                }
            }
        }
    }

    fn record_resource_version(
        &self,
        key: &WorkloadKey,
        target: &Target,
        written: &DynamicObject,
        store: &ExpectationsStore,
        now: Timestamp,
    ) {
        if !tracks_resource_version(&target.kind) {
            return;
        }
        let m = &written.metadata;
        if let (Some(uid), Some(rv)) =
            (m.uid.as_deref(), m.resource_version.as_deref().and_then(|r| r.parse::<u64>().ok()))
        {
            store.expect_resource_version(key, uid, rv, now);
        }
    }

    /// Checks a planner-built object against its target and makes it a [`DynamicObject`].
    fn object_for(
        &self,
        target: &Target,
        object: &serde_json::Value,
        need_resource_version: bool,
    ) -> Result<DynamicObject, AdapterError> {
        let malformed = |path: &str, message: String| AdapterError::MalformedWrite {
            target: describe(target),
            path: FieldPath::from(path),
            message,
        };
        let mut obj: DynamicObject = serde_json::from_value(object.clone())
            .map_err(|e| malformed("", format!("not a Kubernetes object: {e}")))?;
        match &obj.metadata.name {
            None => obj.metadata.name = Some(target.name.clone()),
            Some(n) if *n != target.name => {
                return Err(malformed("metadata.name", format!("{n:?} differs from the target")));
            }
            Some(_) => {}
        }
        match (&obj.metadata.namespace, &target.namespace) {
            (None, ns) => obj.metadata.namespace = ns.clone(),
            (Some(a), Some(b)) if a == b => {}
            (Some(a), _) => {
                return Err(malformed("metadata.namespace", format!("{a:?} differs from the target")));
            }
        }
        let types = obj.types.get_or_insert_with(|| kube::core::TypeMeta {
            api_version: target.api_version.clone(),
            kind: target.kind.clone(),
        });
        if types.api_version != target.api_version || types.kind != target.kind {
            return Err(malformed(
                "apiVersion",
                format!("{}/{} differs from the target", types.api_version, types.kind),
            ));
        }
        if need_resource_version && obj.metadata.resource_version.is_none() {
            return Err(malformed(
                "metadata.resourceVersion",
                "a Replace must carry the resourceVersion it was computed from".to_owned(),
            ));
        }
        Ok(obj)
    }
}
