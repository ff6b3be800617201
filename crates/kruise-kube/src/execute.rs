//! Plan execution: carries out a planner's [`ApiWrite`]s with kube's `Api<DynamicObject>`,
//! and records expectations as it goes (CS-87, CS-88).
//!
//! ## Order, concurrency and rate
//! A plan's writes are cut into *units*: consecutive writes about one pod (its PVCs, then the
//! pod; an in-place update's condition, then the pod) or, otherwise, one object; a unit's
//! writes run one after another, so writes to one object stay in plan order. Consecutive
//! units of pods and PVCs of the same kind of operation (creates, deletes, updates) on
//! distinct objects form a *run*; a run is sent in slow-start batches as the upstream
//! controller sends its creates: 1 unit, then 2, 4, ... at once (at most
//! [`Limits::max_concurrency`]), stopping after the first batch in which a write fails. Other
//! writes (revisions, the workload's status and spec) run alone, in plan order. Every request
//! first takes a token from a client-side rate limiter ([`Limits::qps`], [`Limits::burst`]).
//!
//! - `Create`: the name is recorded as an expected create *before* the call and withdrawn if
//!   it fails.
//! - `Replace`: refused unless the object carries `metadata.resourceVersion` (never a blind
//!   full update); a 409 stops the plan ([`AdapterError::Conflict`]) for a retry against a
//!   fresher cache.
//! - `MergePatch` (RFC 7386) on the object, `status` or `resize`; the `resize` subresource
//!   falls back to the object itself on servers without it (Kubernetes < 1.33).
//! - `JsonPatch` (RFC 6902) on the object or `status`; a failed `test` (422: the object is not
//!   what the plan read) is a conflict like a 409.
//! - `Delete` with a uid precondition, recorded as an expected delete first; "already gone"
//!   (404) and "a namesake, not ours" (409) count as done.
//!
//! After an update of a pod, PVC or revision, the resourceVersion the server returned is
//! recorded, so the next reconcile waits for the cache to show at least that version.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
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

/// How fast and how widely an [`Executor`] writes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Requests per second, sustained (client-side token bucket).
    pub qps: f64,
    /// Requests that may be sent at once above the sustained rate.
    pub burst: u32,
    /// The largest slow-start batch: units in flight at once.
    pub max_concurrency: usize,
}

impl Default for Limits {
    /// 50 requests/s, bursts of 100, at most 32 units at once.
    fn default() -> Self {
        Self { qps: 50.0, burst: 100, max_concurrency: 32 }
    }
}

/// A token bucket: `acquire` waits until a request may be sent.
#[derive(Debug)]
struct RateLimiter {
    limits: Limits,
    state: Mutex<(f64, tokio::time::Instant)>,
}

impl RateLimiter {
    fn new(limits: Limits) -> Self {
        Self { limits, state: Mutex::new((f64::from(limits.burst.max(1)), tokio::time::Instant::now())) }
    }

    /// Takes one token, waiting for it if the bucket is empty (tokens are reserved in call
    /// order, so waiting callers are served first come, first served).
    async fn acquire(&self) {
        let qps =
            if self.limits.qps.is_finite() && self.limits.qps > 0.0 { self.limits.qps } else { f64::MAX };
        let wait = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let now = tokio::time::Instant::now();
            let burst = f64::from(self.limits.burst.max(1));
            st.0 = (st.0 + now.duration_since(st.1).as_secs_f64() * qps).min(burst);
            st.1 = now;
            st.0 -= 1.0;
            if st.0 >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-st.0 / qps) }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Carries out [`ApiWrite`]s against an API server.
#[derive(Clone)]
pub struct Executor {
    client: Client,
    leading: Option<tokio::sync::watch::Receiver<bool>>,
    limits: Limits,
    limiter: Arc<RateLimiter>,
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
    w.op_name()
}

/// Which run a unit can join: creates, deletes or updates of pods and PVCs; `None` for a
/// write that runs alone.
fn run_class(w: &ApiWrite) -> Option<u8> {
    let t = w.target();
    if t.api_version != "v1" || !matches!(t.kind.as_str(), "Pod" | "PersistentVolumeClaim") {
        return None;
    }
    Some(match w {
        ApiWrite::Create { .. } => 0,
        ApiWrite::Delete { .. } => 1,
        _ => 2,
    })
}

/// The plan cut into runs of units (see the module docs): each run is a list of units, each
/// unit a range of write indexes.
fn schedule(writes: &[PlannedWrite]) -> Vec<Vec<std::ops::Range<usize>>> {
    let unit_key = |w: &PlannedWrite| match w.pod() {
        Some(p) if run_class(&w.write).is_some() => (String::from("pod"), p.to_owned()),
        _ => (w.write.target().kind.clone(), w.write.target().name.clone()),
    };
    let mut units: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, w) in writes.iter().enumerate() {
        match units.last_mut() {
            Some(u)
                if unit_key(&writes[u.start]) == unit_key(w)
                    && run_class(&writes[u.start].write).is_some() =>
            {
                u.end = i + 1
            }
            _ => units.push(i..i + 1),
        }
    }
    let mut runs: Vec<Vec<std::ops::Range<usize>>> = Vec::new();
    let mut targets: BTreeSet<&Target> = BTreeSet::new();
    for u in units {
        let class = run_class(&writes[u.start].write);
        let unit_targets: Vec<&Target> = writes[u.clone()].iter().map(|w| w.write.target()).collect();
        let joins = class.is_some()
            && runs.last().is_some_and(|r| {
                let first = &writes[r[0].start].write;
                run_class(first) == class
            })
            && unit_targets.iter().all(|t| !targets.contains(t));
        if joins {
            if let Some(r) = runs.last_mut() {
                r.push(u);
            }
        } else {
            targets.clear();
            runs.push(vec![u]);
        }
        targets.extend(unit_targets);
    }
    runs
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
    /// An executor sending with `client`, within the default [`Limits`].
    pub fn new(client: Client) -> Self {
        Self::with_limits(client, Limits::default())
    }

    /// An executor sending with `client` within `limits`.
    pub fn with_limits(client: Client, limits: Limits) -> Self {
        Self { client, leading: None, limits, limiter: Arc::new(RateLimiter::new(limits)) }
    }

    /// The same executor within `limits` instead (a fresh rate limiter).
    pub fn limited(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self.limiter = Arc::new(RateLimiter::new(limits));
        self
    }

    /// Sends each write only while `leading` is `true`: a replica that loses the leader Lease
    /// mid-plan stops before its next write ([`AdapterError::NotLeader`]).
    pub fn with_leader_gate(mut self, leading: tokio::sync::watch::Receiver<bool>) -> Self {
        self.leading = Some(leading);
        self
    }

    /// The request builder for `t`'s collection (URL path from its apiVersion, kind and
    /// namespace).
    fn request(&self, t: &Target) -> kube::core::Request {
        let (group, version) = t.api_version.split_once('/').unwrap_or(("", &t.api_version));
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, &t.kind));
        kube::core::Request::new(<DynamicObject as kube::Resource>::url_path(&ar, t.namespace.as_deref()))
    }

    fn api(&self, t: &Target) -> Api<DynamicObject> {
        let (group, version) = t.api_version.split_once('/').unwrap_or(("", &t.api_version));
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, &t.kind));
        match &t.namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &ar),
            None => Api::all_with(self.client.clone(), &ar),
        }
    }

    /// Carries out `writes` for workload `key` (in units, runs and slow-start batches, see
    /// the module docs), recording expectations in `store`. Stops after the first batch in
    /// which a write fails; returns how many writes were carried out, and the first failure
    /// (in plan order).
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
        let last_rv: Mutex<BTreeMap<Target, String>> = Mutex::default();
        let mut done = 0;
        for run in schedule(writes) {
            let mut next = 0;
            let mut batch = 1usize;
            while next < run.len() {
                let end = (next + batch.min(self.limits.max_concurrency.max(1))).min(run.len());
                let results = join_all(
                    run[next..end]
                        .iter()
                        .map(|u| self.execute_unit(key, &writes[u.clone()], store, now, &last_rv)),
                )
                .await;
                let mut failure = None;
                for (n, res) in results {
                    done += n;
                    if let (Err(e), None) = (res, &failure) {
                        failure = Some(e);
                    }
                }
                if let Some(e) = failure {
                    tracing::info!(error = %e, written = done, "write failed; plan stopped");
                    return (done, Err(e));
                }
                next = end;
                batch = batch.saturating_mul(2);
            }
        }
        (done, Ok(()))
    }

    /// Carries out one unit's writes in order; how many succeeded, and the failure if any.
    async fn execute_unit(
        &self,
        key: &WorkloadKey,
        writes: &[PlannedWrite],
        store: &ExpectationsStore,
        now: Timestamp,
        last_rv: &Mutex<BTreeMap<Target, String>>,
    ) -> (usize, Result<(), AdapterError>) {
        for (done, w) in writes.iter().enumerate() {
            if self.leading.as_ref().is_some_and(|l| !*l.borrow()) {
                tracing::warn!("leader lease lost; plan stopped");
                return (done, Err(AdapterError::NotLeader));
            }
            let span = tracing::debug_span!(
                "write",
                op = op_name(&w.write),
                target = %describe(w.write.target()),
                action = w.name(),
                reason = w.reason().kind(),
            );
            let target = w.write.target();
            let previous = last_rv.lock().unwrap_or_else(|p| p.into_inner()).get(target).cloned();
            let chained = match (&w.write, previous) {
                (ApiWrite::Replace { target, subresource, object }, Some(rv))
                    if object.pointer("/metadata/resourceVersion").is_none_or(serde_json::Value::is_null) =>
                {
                    let mut object = object.clone();
                    if let Some(meta) = object.get_mut("metadata").and_then(|m| m.as_object_mut()) {
                        meta.insert("resourceVersion".to_owned(), serde_json::Value::String(rv));
                    }
                    Some(ApiWrite::Replace { target: target.clone(), subresource: *subresource, object })
                }
                _ => None,
            };
            let write = chained.as_ref().unwrap_or(&w.write);
            self.limiter.acquire().await;
            let result = self.execute(key, write, store, now).instrument(span.clone()).await;
            let _enter = span.enter();
            match result {
                Ok(result) => {
                    tracing::debug!(?result, "written");
                    if let WriteResult::Done(Some(rv)) = result {
                        last_rv.lock().unwrap_or_else(|p| p.into_inner()).insert(target.clone(), rv);
                    }
                }
                Err(e) => {
                    tracing::info!(error = %e, "write failed");
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
        let guarded_patch = matches!(write, ApiWrite::JsonPatch { .. });
        let fail = |e: kube::Error| match &e {
            kube::Error::Api(s) if s.code == 409 || s.code == 404 || (guarded_patch && s.code == 422) => {
                AdapterError::Conflict { op, target: describe(target), message: s.message.clone() }
            }
            _ => AdapterError::Write { op, target: describe(target), source: Box::new(e) },
        };
        let pp = PostParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..Default::default() };
        let params = PatchParams { field_manager: Some(FIELD_MANAGER.to_owned()), ..Default::default() };
        let req = self.request(target);
        let name = target.name.as_str();
        // Every body is sent as `write.body()` gives it (Go's JSON escaping, the bytes a
        // revision was hashed in), never re-serialised (issue 11 item 14).
        let sub_name = |sub: &Subresource| match sub {
            Subresource::Main => None,
            Subresource::Status => Some("status"),
            Subresource::Resize => Some("resize"),
        };
        let build = |e: kube::core::request::Error| AdapterError::Write {
            op,
            target: describe(target),
            source: Box::new(kube::Error::BuildRequest(e)),
        };
        match write {
            ApiWrite::Create { object, .. } => {
                let body = self.checked_body(target, write, object, false)?;
                store.expect_create(key, &target.name, now);
                let sent = match req.create(&pp, body) {
                    Ok(r) => self.client.request::<DynamicObject>(r).await,
                    Err(e) => {
                        store.forget_create(key, &target.name);
                        return Err(build(e));
                    }
                };
                match sent {
                    Ok(created) => Ok(WriteResult::Done(created.metadata.resource_version)),
                    Err(e) => {
                        store.forget_create(key, &target.name);
                        Err(fail(e))
                    }
                }
            }
            ApiWrite::Replace { subresource, object, .. } => {
                let body = self.checked_body(target, write, object, true)?;
                let r = match sub_name(subresource) {
                    None => req.replace(name, &pp, body),
                    Some(sub) => req.replace_subresource(sub, name, &pp, body),
                }
                .map_err(build)?;
                let written = self.client.request::<DynamicObject>(r).await.map_err(fail)?;
                self.record_resource_version(key, target, &written, store, now);
                Ok(WriteResult::Done(written.metadata.resource_version))
            }
            ApiWrite::MergePatch { subresource, .. } | ApiWrite::JsonPatch { subresource, .. } => {
                if let ApiWrite::JsonPatch { patch, .. } = write
                    && let Err(e) = serde_json::from_value::<json_patch::Patch>(patch.clone())
                {
                    return Err(AdapterError::MalformedWrite {
                        target: describe(target),
                        path: FieldPath::from(""),
                        message: format!("not a JSON patch: {e}"),
                    });
                }
                let body = write.body();
                // The request is built for an empty patch of the right type (URL, query,
                // Content-Type), then carries the write's own bytes.
                let patch_request = |sub: Option<&str>| {
                    let r = match (write, sub) {
                        (ApiWrite::JsonPatch { .. }, None) => {
                            req.patch(name, &params, &Patch::Json::<()>(json_patch::Patch(Vec::new())))
                        }
                        (ApiWrite::JsonPatch { .. }, Some(sub)) => req.patch_subresource(
                            sub,
                            name,
                            &params,
                            &Patch::Json::<()>(json_patch::Patch(Vec::new())),
                        ),
                        (_, None) => req.patch(name, &params, &Patch::Merge(())),
                        (_, Some(sub)) => req.patch_subresource(sub, name, &params, &Patch::Merge(())),
                    };
                    r.map(|mut r| {
                        *r.body_mut() = body.clone();
                        r
                    })
                    .map_err(build)
                };
                let res =
                    match self.client.request::<DynamicObject>(patch_request(sub_name(subresource))?).await {
                        // No `resize` subresource on this server: resources are mutable on the
                        // pod itself (InPlacePodVerticalScaling before 1.33).
                        Err(e) if *subresource == Subresource::Resize && api_status(&e) == Some(404) => {
                            tracing::debug!("no pods/resize subresource; patching the pod");
                            self.client.request::<DynamicObject>(patch_request(None)?).await
                        }
                        other => other,
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

    /// Checks a planner-built object against its target and returns the bytes to send:
    /// `write.body()`, or, when the object lacks its name or namespace, the object with the
    /// target's filled in, in the same Go-escaped JSON.
    fn checked_body(
        &self,
        target: &Target,
        write: &ApiWrite,
        object: &serde_json::Value,
        need_resource_version: bool,
    ) -> Result<Vec<u8>, AdapterError> {
        let malformed = |path: &str, message: String| AdapterError::MalformedWrite {
            target: describe(target),
            path: FieldPath::from(path),
            message,
        };
        let obj: DynamicObject = serde_json::from_value(object.clone())
            .map_err(|e| malformed("", format!("not a Kubernetes object: {e}")))?;
        let mut filled = serde_json::Map::new();
        let mut top = serde_json::Map::new();
        match &obj.metadata.name {
            None => {
                filled.insert("name".to_owned(), serde_json::Value::String(target.name.clone()));
            }
            Some(n) if *n != target.name => {
                return Err(malformed("metadata.name", format!("{n:?} differs from the target")));
            }
            Some(_) => {}
        }
        match (&obj.metadata.namespace, &target.namespace) {
            (None, Some(ns)) => {
                filled.insert("namespace".to_owned(), serde_json::Value::String(ns.clone()));
            }
            (None, None) => {}
            (Some(a), Some(b)) if a == b => {}
            (Some(a), _) => {
                return Err(malformed("metadata.namespace", format!("{a:?} differs from the target")));
            }
        }
        match &obj.types {
            Some(t) if t.api_version != target.api_version || t.kind != target.kind => {
                return Err(malformed(
                    "apiVersion",
                    format!("{}/{} differs from the target", t.api_version, t.kind),
                ));
            }
            Some(_) => {}
            None => {
                top.insert("apiVersion".to_owned(), serde_json::Value::String(target.api_version.clone()));
                top.insert("kind".to_owned(), serde_json::Value::String(target.kind.clone()));
            }
        }
        if need_resource_version && obj.metadata.resource_version.is_none() {
            return Err(malformed(
                "metadata.resourceVersion",
                "a Replace must carry the resourceVersion it was computed from".to_owned(),
            ));
        }
        if filled.is_empty() && top.is_empty() {
            return Ok(write.body());
        }
        let mut object = object.clone();
        if let Some(m) = object.as_object_mut() {
            m.extend(top);
            if let Some(meta) = m.entry("metadata").or_insert_with(|| serde_json::json!({})).as_object_mut() {
                meta.extend(filled);
            }
        }
        Ok(kruise_core::write::to_go_json(&object, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kruise_core::plan::{Action, ActionKind, Reason};

    fn w(kind: ActionKind, pod: Option<&str>, write: ApiWrite) -> PlannedWrite {
        PlannedWrite { action: Action::new(kind, pod, None, Reason::ScaleUp { have: 0, want: 1 }), write }
    }

    fn create(kind: &str, name: &str, pod: &str) -> PlannedWrite {
        let target = Target::namespaced("v1", kind, "ns", name);
        w(
            ActionKind::CreatePod { instance_id: pod.into() },
            Some(pod),
            ApiWrite::Create { target, object: serde_json::json!({}) },
        )
    }

    fn patch(pod: &str, sub: Subresource) -> PlannedWrite {
        w(
            ActionKind::UpdateInPlace { from_revision: String::new() },
            Some(pod),
            ApiWrite::JsonPatch {
                target: Target::pod("ns", pod),
                subresource: sub,
                patch: serde_json::json!([]),
            },
        )
    }

    /// Issue 10 item 5: a pod's PVC and pod creates form one unit (sent in order); units of
    /// creates form one run; an in-place update's two writes to one pod stay one unit; the
    /// workload's status write runs alone, after the rest; a second unit about a pod already
    /// in the run starts a new run.
    #[test]
    fn schedule_keeps_writes_to_one_object_ordered() {
        let status = w(
            ActionKind::UpdateStatus,
            None,
            ApiWrite::Replace {
                target: Target::namespaced("apps.kruise.io/v1beta1", "CloneSet", "ns", "web"),
                subresource: Subresource::Status,
                object: serde_json::json!({}),
            },
        );
        let writes = vec![
            create("PersistentVolumeClaim", "data-web-a", "web-a"),
            create("Pod", "web-a", "web-a"),
            create("Pod", "web-b", "web-b"),
            patch("web-c", Subresource::Status),
            patch("web-c", Subresource::Main),
            patch("web-d", Subresource::Status),
            patch("web-c", Subresource::Status),
            status,
        ];
        assert_eq!(schedule(&writes), vec![vec![0..2, 2..3], vec![3..5, 5..6], vec![6..7], vec![7..8]]);
    }
}
