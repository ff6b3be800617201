//! The one generic reconcile over [`Reconciler`]: gather the world from reflector stores, plan
//! with `now` (the only clock read) and a fresh id seed, carry out the writes in order while
//! recording expectations, emit the planner's events, requeue as the plan asks. Every workload
//! kind runs through this same code; [`run`] wires it into a kube-runtime `Controller`.

use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kruise_api::KruiseResource;
use kruise_api::defaults::Defaulting;
use kruise_api::validation::Validate;
use kruise_core::Features;
use kruise_core::nodetable::NodeFacts;
use kruise_core::reconciler::{Context, Outcome, Reconciler};
use kube::api::Api;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource};
use tokio::sync::watch;
use tracing::Instrument;

use crate::error::AdapterError;
use crate::execute::Executor;
use crate::expectations::ExpectationsStore;
use crate::http::Health;
use crate::index::{ObjectIndex, PodIndex, WorkloadIndex};
use crate::key::WorkloadKey;
use crate::metrics::Metrics;
use crate::observe::{Caches, has_controller, observe};
use crate::related::{ExtraNamespace, RelatedCaches, Resolved, Source};

/// A workload type the adapter can drive: namespaced (the pods it owns live in its
/// namespace) or cluster-scoped (a SidecarSet, reading pods by selector in every namespace:
/// [`crate::reads`]).
pub trait Workload:
    KruiseResource
    + Defaulting
    + Validate
    + Resource<DynamicType = (), Scope: WorkloadScope>
    + Send
    + Sync
    + 'static
{
}
impl<W> Workload for W where
    W: KruiseResource
        + Defaulting
        + Validate
        + Resource<DynamicType = (), Scope: WorkloadScope>
        + Send
        + Sync
        + 'static
{
}

/// How workloads of a scope are watched: namespaced kinds in the watched namespace (or all),
/// cluster-scoped kinds always cluster-wide.
pub trait WorkloadScope {
    /// True for namespaced kinds.
    const NAMESPACED: bool;
    /// The API of `K` for watching: `namespace` only applies to namespaced kinds.
    fn api<K: Resource<Scope = Self, DynamicType = ()>>(client: &Client, namespace: Option<&str>) -> Api<K>;
}

impl WorkloadScope for k8s_openapi::NamespaceResourceScope {
    const NAMESPACED: bool = true;
    fn api<K: Resource<Scope = Self, DynamicType = ()>>(client: &Client, namespace: Option<&str>) -> Api<K> {
        scoped(client, namespace)
    }
}

impl WorkloadScope for k8s_openapi::ClusterResourceScope {
    const NAMESPACED: bool = false;
    fn api<K: Resource<Scope = Self, DynamicType = ()>>(client: &Client, _namespace: Option<&str>) -> Api<K> {
        Api::all(client.clone())
    }
}

/// What one reconcile did.
#[derive(Clone, Debug)]
pub struct Report {
    /// The planner's outcome.
    pub outcome: Outcome,
    /// How many of its writes were carried out.
    pub written: usize,
}

impl Report {
    /// The kube-runtime action this report asks for: the planner's requeue, or wait for a
    /// change.
    pub fn action(&self) -> Action {
        match &self.outcome.requeue_after {
            Some(r) if !r.after.is_zero() => Action::requeue(r.after),
            _ => Action::await_change(),
        }
    }
}

/// One workload kind's reconcile machinery: the planner, the caches it reads, the executor,
/// expectations, events and metrics.
pub struct Adapter<R: Reconciler>
where
    R::Workload: Workload,
{
    reconciler: R,
    caches: Caches<R::Workload>,
    executor: Executor,
    expectations: Arc<ExpectationsStore>,
    features: Features,
    recorder: Option<Recorder>,
    metrics: Arc<Metrics>,
    leading: Option<watch::Receiver<bool>>,
    name: String,
    failures: Mutex<BTreeMap<WorkloadKey, u32>>,
    seeds: AtomicU64,
    synced: Arc<AtomicBool>,
    related: RelatedCaches,
}

impl<R: Reconciler> std::fmt::Debug for Adapter<R>
where
    R::Workload: Workload,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adapter").field("name", &self.name).finish_non_exhaustive()
    }
}

/// A fresh id seed per reconcile: the process-random keys of `RandomState` over a counter and
/// the time (the operator's randomness; tests and the simulator pass fixed seeds instead).
fn fresh_seed(counter: u64, now: Timestamp) -> u64 {
    std::collections::hash_map::RandomState::new().hash_one((counter, now.as_nanosecond()))
}

fn owner_keys<W: Workload>(meta: &ObjectMeta) -> impl Iterator<Item = WorkloadKey> + '_ {
    meta.owner_references.iter().flatten().filter_map(move |r| {
        let group = r.api_version.split_once('/').map_or("", |(g, _)| g);
        let ours = r.controller == Some(true) && r.kind == W::KIND && group == W::GROUP;
        ours.then(|| WorkloadKey::new(meta.namespace.as_deref().unwrap_or_default(), &r.name))
    })
}

impl<R> Adapter<R>
where
    R: Reconciler,
    R::Workload: Workload,
{
    /// An adapter named `name` (used in metrics and logs, e.g. `cloneset`) with upstream's
    /// default feature gates, no events, private metrics and expectations, and no leader gate.
    pub fn new(name: &str, client: Client, reconciler: R, caches: Caches<R::Workload>) -> Self {
        Self {
            reconciler,
            caches,
            executor: Executor::new(client),
            expectations: Arc::default(),
            features: Features::default(),
            recorder: None,
            metrics: Arc::default(),
            leading: None,
            name: name.to_owned(),
            failures: Mutex::default(),
            seeds: AtomicU64::new(0),
            synced: Arc::new(AtomicBool::new(true)),
            related: RelatedCaches::new(),
        }
    }

    /// Hands the planner the objects of `related` ([`crate::related`]; none by default).
    pub fn with_related(mut self, related: RelatedCaches) -> Self {
        self.related = related;
        self
    }

    /// Uses these feature gates.
    pub fn with_features(mut self, features: Features) -> Self {
        self.features = features;
        self
    }

    /// Publishes the planner's events through `recorder`.
    pub fn with_events(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Counts into `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Shares `expectations` (e.g. with watch handlers or another adapter instance).
    pub fn with_expectations(mut self, expectations: Arc<ExpectationsStore>) -> Self {
        self.expectations = expectations;
        self
    }

    /// Sends writes within `limits` (client-side rate and concurrency).
    pub fn with_limits(mut self, limits: crate::execute::Limits) -> Self {
        self.executor = self.executor.limited(limits);
        self
    }

    /// Writes only while `leading` is `true`.
    pub fn with_leader_gate(mut self, leading: watch::Receiver<bool>) -> Self {
        self.executor = self.executor.with_leader_gate(leading.clone());
        self.leading = Some(leading);
        self
    }

    /// Plans only once `synced` is `true` (every cache has listed once): planning on a cache
    /// that has not yet listed the pods would create them all again. Without this, the caches
    /// are taken as synced (hand-filled stores).
    pub fn with_sync_flag(mut self, synced: Arc<AtomicBool>) -> Self {
        self.synced = synced;
        self
    }

    /// True once every cache has listed once.
    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    /// The expectations store.
    pub fn expectations(&self) -> &Arc<ExpectationsStore> {
        &self.expectations
    }

    /// The caches.
    pub fn caches(&self) -> &Caches<R::Workload> {
        &self.caches
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The name used in metrics and logs.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn is_leading(&self) -> bool {
        self.leading.as_ref().is_none_or(|l| *l.borrow())
    }

    /// One reconcile of `workload` with a fresh seed at the current time.
    pub async fn reconcile(&self, workload: Arc<R::Workload>) -> Result<Report, AdapterError> {
        let now = Timestamp::now();
        let seed = fresh_seed(self.seeds.fetch_add(1, Ordering::Relaxed), now);
        self.reconcile_at(workload, now, seed).await
    }

    /// One reconcile of `workload` at `now` with `id_seed` (tests pin both).
    pub async fn reconcile_at(
        &self,
        workload: Arc<R::Workload>,
        now: Timestamp,
        id_seed: u64,
    ) -> Result<Report, AdapterError> {
        let mut observed = observe(workload.clone(), &self.caches)?;
        crate::reads::amend(&mut observed, &self.caches);
        let key = observed.key.clone();
        self.metrics.dequeued(&self.name, &key);
        // Validate before planning (the webhook's checks, on the defaulted object): an invalid
        // workload gets a condition and a Warning event, and no other write.
        let validity = observed.workload.validate();
        if let Some(w) = crate::validity::condition_write(&*workload, validity.as_ref().err(), now) {
            let written = if self.is_leading() {
                let (n, res) =
                    self.executor.execute_all(&key, std::slice::from_ref(&w), &self.expectations, now).await;
                res?;
                n
            } else {
                0
            };
            if validity.is_ok() {
                // The condition is gone; plan on the next reconcile (our own status write
                // brings the workload back through the watch).
                let outcome = Outcome {
                    requeue_after: Some(kruise_core::plan::Requeue {
                        after: Duration::from_secs(1),
                        reason: kruise_core::plan::Reason::SpecValid,
                    }),
                    ..Outcome::default()
                };
                return Ok(Report { outcome, written });
            }
        }
        if let Err(errors) = validity {
            let message = crate::validity::message(&errors);
            self.publish(&workload, "Warning", crate::validity::INVALID_SPEC_REASON, &message).await;
            return Err(AdapterError::Invalid { workload: key.to_string(), errors });
        }
        // Expectations of workloads no longer cached (deleted) are dropped (CS-23 step 1).
        self.expectations.retain(|k| self.caches.workloads.get(&k.object_ref()).is_some());
        let related = self.related.gather(&key, self.caches.pods.objects());
        // The pod table stays locked while planning only (no `.await` inside): the pod watch
        // applies this workload's events before or after, never during, a plan.
        let (planned, pods) = {
            let table = observed.pods();
            let world = observed.world(&table).with_related(&related);
            let pending = self.expectations.settle(&key, &world);
            let ctx = Context { now, id_seed, features: self.features, expectations: &pending };
            (self.reconciler.reconcile(&world, &ctx), world.pods.len())
        };
        let mut outcome =
            planned.map_err(|source| AdapterError::Plan { workload: key.to_string(), source })?;
        self.related.readdress(&mut outcome.writes);
        tracing::debug!(
            pods,
            writes = outcome.writes.len(),
            held = outcome.held.len(),
            events = outcome.events.len(),
            requeue = ?outcome.requeue_after,
            "planned"
        );
        let (written, result) = if outcome.writes.is_empty() {
            (0, Ok(()))
        } else if !self.is_leading() {
            (0, Err(AdapterError::NotLeader))
        } else {
            self.executor.execute_all(&key, &outcome.writes, &self.expectations, now).await
        };
        for (op, n) in count_ops(&outcome, written) {
            self.metrics.wrote(&self.name, op, n);
        }
        if let Err(e @ AdapterError::Write { .. }) = &result {
            let failed = outcome.writes.get(written).and_then(|w| w.pod());
            self.publish_about(&workload, "Warning", "FailedWrite", &e.to_string(), failed).await;
        }
        result?;
        for ev in &outcome.events {
            let pod = event_pod(&ev.message, &outcome.writes);
            self.publish_about(&workload, &ev.type_, &ev.reason, &ev.message, pod).await;
        }
        Ok(Report { outcome, written })
    }

    async fn publish(&self, workload: &R::Workload, type_: &str, reason: &str, message: &str) {
        self.publish_about(workload, type_, reason, message, None).await;
    }

    /// Publishes an event about `workload`; one about a pod names it as the related object,
    /// so the recorder (which folds repeats by reason, action and objects into one series)
    /// keeps one series per pod: three pods created are three events, not one with count 3.
    async fn publish_about(
        &self,
        workload: &R::Workload,
        type_: &str,
        reason: &str,
        message: &str,
        pod: Option<&str>,
    ) {
        let Some(recorder) = &self.recorder else { return };
        let secondary = pod.map(|name| {
            let (namespace, uid) =
                pod_identity(self.caches.pods.objects(), workload.meta().namespace.clone(), name);
            k8s_openapi::api::core::v1::ObjectReference {
                api_version: Some("v1".to_owned()),
                kind: Some("Pod".to_owned()),
                name: Some(name.to_owned()),
                namespace,
                uid,
                ..Default::default()
            }
        });
        let event = Event {
            type_: if type_ == "Warning" { EventType::Warning } else { EventType::Normal },
            reason: reason.to_owned(),
            note: Some(message.to_owned()),
            action: reason.to_owned(),
            secondary,
        };
        if let Err(e) = recorder.publish(&event, &workload.object_ref(&())).await {
            tracing::info!(error = %e, reason, "publishing an event failed");
        }
    }

    /// The delay before retrying after `error`: transient errors back off exponentially per
    /// workload (1 s doubling to 5 min), others wait 5 min.
    pub fn backoff(&self, key: &WorkloadKey, error: &AdapterError) -> Duration {
        if !error.is_transient() {
            return Duration::from_secs(300);
        }
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let n = failures.entry(key.clone()).or_default();
        let delay = Duration::from_secs(1u64 << (*n).min(8)).min(Duration::from_secs(300));
        *n = n.saturating_add(1);
        delay
    }

    fn succeeded(&self, key: &WorkloadKey) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

/// The namespace and uid of the cached pod `name` an event about a workload in `namespace`
/// names: in that namespace; for a cluster-scoped workload (a SidecarSet, whose pods live in
/// many namespaces) the pod of that name if exactly one is cached, else neither.
fn pod_identity(
    pods: &ObjectIndex<Pod>,
    namespace: Option<String>,
    name: &str,
) -> (Option<String>, Option<String>) {
    match namespace {
        Some(ns) => {
            let uid = pods.get(&ns, name).and_then(|p| p.metadata.uid.clone());
            (Some(ns), uid)
        }
        None => {
            let mut found = pods.state().into_iter().filter(|p| p.metadata.name.as_deref() == Some(name));
            match (found.next(), found.next()) {
                (Some(p), None) => (p.metadata.namespace.clone(), p.metadata.uid.clone()),
                _ => (None, None),
            }
        }
    }
}

/// The pod a planner event is about: the pod of one of the plan's writes whose name appears
/// in the event's message as a word (`succeed to create pod web-x7k2p`). Events derive from the
/// plan's actions, whose writes name their pods; an event naming no such pod concerns the
/// workload alone.
fn event_pod<'a>(message: &str, writes: &'a [kruise_core::reconciler::PlannedWrite]) -> Option<&'a str> {
    let words: Vec<&str> = message
        .split(|c: char| {
            c.is_whitespace() || matches!(c, ',' | ';' | ':' | '"' | '\'' | '(' | ')' | '[' | ']')
        })
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| !w.is_empty())
        .collect();
    writes.iter().filter_map(|w| w.pod()).find(|p| words.contains(p))
}

fn count_ops(outcome: &Outcome, done: usize) -> BTreeMap<&'static str, u64> {
    let mut ops = BTreeMap::new();
    for w in outcome.writes.iter().take(done) {
        *ops.entry(w.write.op_name()).or_default() += 1;
    }
    ops
}

fn key_of<W: Workload>(w: &W) -> WorkloadKey {
    WorkloadKey::of(w.metadata()).unwrap_or_else(|| WorkloadKey::new("", ""))
}

/// The kube-runtime reconcile function: [`Adapter::reconcile`] plus metrics and a span.
pub async fn reconcile<R>(
    workload: Arc<R::Workload>,
    adapter: Arc<Adapter<R>>,
) -> Result<Action, AdapterError>
where
    R: Reconciler,
    R::Workload: Workload,
{
    let key = key_of(&*workload);
    if !adapter.is_synced() {
        // The caches have not listed everything yet: an empty pod cache is not "no pods".
        return Ok(Action::requeue(Duration::from_millis(500)));
    }
    let span = tracing::info_span!(
        "reconcile",
        controller = %adapter.name,
        workload = %key,
        generation = ?workload.meta().generation,
    );
    let started = Instant::now();
    let res = adapter.reconcile(workload).instrument(span.clone()).await;
    let took = started.elapsed();
    let _enter = span.enter();
    adapter.metrics.reconciled(&adapter.name, took, res.as_ref().err().map(AdapterError::metric_label));
    match res {
        Ok(report) => {
            adapter.succeeded(&key);
            tracing::info!(written = report.written, took_ms = took.as_millis() as u64, "reconciled");
            Ok(report.action())
        }
        Err(e) => Err(e),
    }
}

/// The kube-runtime error policy: [`Adapter::backoff`].
pub fn error_policy<R>(workload: Arc<R::Workload>, error: &AdapterError, adapter: Arc<Adapter<R>>) -> Action
where
    R: Reconciler,
    R::Workload: Workload,
{
    let key = key_of(&*workload);
    let delay = adapter.backoff(&key, error);
    tracing::warn!(controller = %adapter.name, workload = %key, error = %error, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// How [`run`] runs one workload controller.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Name in metrics and logs (`cloneset`).
    pub name: String,
    /// Watch only this namespace (`None`: all namespaces).
    pub namespace: Option<String>,
    /// Reconciles running at once (upstream `--cloneset-workers` is 3).
    pub concurrency: u16,
    /// Feature gates.
    pub features: Features,
    /// Keep a node cache (needs list/watch on nodes; for topology spread).
    pub watch_nodes: bool,
    /// With `watch_nodes`: a node joining, leaving, or changing what decides placement (labels,
    /// taints, unschedulable, conditions, allocatable) reconciles every workload (the DaemonSet
    /// controller). Heartbeat-only node updates trigger nothing.
    pub node_triggers: bool,
    /// Event reporter (`kruise-rs`, and this replica's pod name).
    pub reporter: Reporter,
    /// Namespaces whose objects of a related kind every workload is handed besides its own
    /// namespace's (the ImagePullJob's secret copies in the daemon namespace).
    pub extra_namespaces: Vec<ExtraNamespace>,
}

impl RunConfig {
    /// Defaults: all namespaces, 3 workers, upstream gates, no node cache.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            namespace: None,
            concurrency: 3,
            features: Features::default(),
            watch_nodes: false,
            node_triggers: false,
            reporter: Reporter { controller: "kruise-rs".to_owned(), instance: None },
            extra_namespaces: Vec::new(),
        }
    }
}

fn scoped<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Workloads a child object's change concerns: its controller of kind `W` (any version of
/// `W`'s group), or, for an object without a controller, every workload in its namespace whose
/// selector matches it (a ControllerRevision it may adopt; a bare pod only triggers a
/// reconcile: the planner never sees it, CS-24 lists pods by owner reference). Selectors come
/// from `selectors` (parsed once per workload version): nothing is serialised here.
fn affected<W: Workload>(meta: &ObjectMeta, selectors: &WorkloadIndex) -> Vec<ObjectRef<W>> {
    let mut keys: Vec<WorkloadKey> = owner_keys::<W>(meta).collect();
    keys.extend(crate::reads::selecting::<W>(meta, selectors));
    if !has_controller(meta) && meta.deletion_timestamp.is_none() {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        let labels = meta.labels.as_ref().unwrap_or(&EMPTY);
        keys.extend(selectors.adopting(meta.namespace.as_deref().unwrap_or_default(), labels));
    }
    keys.sort();
    keys.dedup();
    keys.into_iter().map(|k| k.object_ref()).collect()
}

const WORKLOADS: &str = "workloads";
const PODS: &str = "pods";
const PVCS: &str = "persistentvolumeclaims";
const REVISIONS: &str = "controllerrevisions";
const NODES: &str = "nodes";

/// Marks the adapter synced (and the operator ready) once every cache's watcher has reported
/// the end of its initial list (`InitDone`).
///
/// This is read from the watch streams themselves, not with `Store::wait_until_ready`: the
/// controller's applier already awaits the workload store's readiness, and kube-runtime's
/// `DelayedInit` keeps only the latest waiter's waker, so a second task waiting on the same
/// store could leave one of the two asleep for ever (the operator never reconciled: issue 12,
/// item 1).
#[derive(Debug)]
struct SyncGate {
    pending: Mutex<std::collections::BTreeSet<String>>,
    synced: Arc<AtomicBool>,
    health: Arc<Health>,
}

impl SyncGate {
    fn new(caches: &[&str], synced: Arc<AtomicBool>, health: Arc<Health>) -> Self {
        Self { pending: Mutex::new(caches.iter().map(|c| (*c).to_owned()).collect()), synced, health }
    }

    /// `cache` has listed once; the last one to do so opens the gate.
    fn listed(&self, cache: &str) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.remove(cache) && pending.is_empty() {
            tracing::info!("caches synced");
            self.synced.store(true, Ordering::Release);
            self.health.ready.store(true, Ordering::Relaxed);
        }
    }
}

/// A watch over `K` that feeds each event into `index` (an [`ObjectIndex`] or the
/// [`PodIndex`] with its tables) and each seen object into `expectations` (for the workload
/// controlling it), and yields the touched objects.
fn child_stream<K, W>(
    api: Api<K>,
    index: impl Fn(&watcher::Event<K>) + Send + 'static,
    expectations: Arc<ExpectationsStore>,
    (gate, cache): (Arc<SyncGate>, &'static str),
) -> impl futures::Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()>
        + k8s_openapi::Metadata<Ty = ObjectMeta>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
    W: Workload,
{
    watcher(api, watcher::Config::default())
        .default_backoff()
        .inspect(move |ev| {
            if let Ok(ev) = ev {
                index(ev);
            }
            match ev {
                Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                    for key in owner_keys::<W>(o.metadata()) {
                        expectations.observe(&key, o.metadata());
                    }
                }
                Ok(watcher::Event::Delete(o)) => {
                    for key in owner_keys::<W>(o.metadata()) {
                        expectations.observe_gone(&key, o.metadata());
                    }
                }
                Ok(watcher::Event::InitDone) => gate.listed(cache),
                _ => {}
            }
        })
        .touched_objects()
}

/// The workload kind `W` as a [`kruise_core::reconciler::RelatedKind`] (for discovery).
fn own_kind<W: Workload>() -> kruise_core::reconciler::RelatedKind {
    kruise_core::reconciler::RelatedKind {
        group: <W as k8s_openapi::Resource>::GROUP,
        version: <W as k8s_openapi::Resource>::VERSION,
        kind: <W as k8s_openapi::Resource>::KIND,
        plural: <W as KruiseResource>::PLURAL,
        namespaced: <<W as Resource>::Scope as WorkloadScope>::NAMESPACED,
    }
}

/// Whether the cluster serves the workload kind `own` at its version (`Err`: why not, and
/// which version it does serve, for the log line).
fn workload_served(own: &kruise_core::reconciler::RelatedKind, resolved: &Resolved) -> Result<(), String> {
    match resolved {
        Resolved::Absent(why) => Err(format!("{}/{} is not served: {why}", own.api_version(), own.kind)),
        Resolved::Served(ar) if ar.version != own.version => Err(format!(
            "{} is served as {} only, not {} (pick that version with the controller's version flag)",
            own.kind,
            ar.api_version,
            own.api_version()
        )),
        Resolved::Served(_) => Ok(()),
    }
}

/// The keys of every cached workload.
fn workload_keys<W: Workload>(workloads: &Store<W>) -> impl Iterator<Item = WorkloadKey> + use<W> {
    workloads.state().into_iter().filter_map(|w| WorkloadKey::of(w.meta()))
}

fn is_core_pod(kind: &kruise_core::reconciler::RelatedKind) -> bool {
    kind.group.is_empty() && kind.kind == "Pod"
}

/// One watch of a related kind: over the watched scope, or an extra namespace.
#[derive(Clone, Debug, PartialEq)]
struct RelatedWatch {
    kind: kruise_core::reconciler::RelatedKind,
    /// `None`: every namespace (or a cluster-scoped kind).
    namespace: Option<String>,
    /// Its name in the sync gate.
    gate: String,
}

/// The watches the served related kinds need (pods come from the pod cache; absent kinds need
/// none): each kind over the operator's scope (`namespace`, or all), and for a namespaced kind
/// with an extra namespace outside that scope, one more over the extra namespace.
fn related_watch_plan(
    resolved: &[(kruise_core::reconciler::RelatedKind, Resolved)],
    namespace: Option<&str>,
    extra: &[ExtraNamespace],
) -> Vec<RelatedWatch> {
    let mut out = Vec::new();
    for (kind, res) in resolved {
        let Resolved::Served(ar) = res else { continue };
        if is_core_pod(kind) {
            continue;
        }
        let scope = namespace.filter(|_| kind.namespaced).map(str::to_owned);
        let gate = |ns: Option<&str>| {
            let group = if ar.group.is_empty() { String::new() } else { format!(".{}", ar.group) };
            format!("{}{group}{}", ar.plural, ns.map(|n| format!(" in {n}")).unwrap_or_default())
        };
        out.push(RelatedWatch { kind: *kind, namespace: scope.clone(), gate: gate(scope.as_deref()) });
        if let Some(scope) = scope {
            for e in extra.iter().filter(|e| e.plural == kind.plural && e.namespace != scope) {
                out.push(RelatedWatch {
                    kind: *kind,
                    namespace: Some(e.namespace.clone()),
                    gate: gate(Some(&e.namespace)),
                });
            }
        }
    }
    out
}

/// Every cached workload: what a node change concerns for a node-placing controller.
fn every_workload<W: Workload>(workloads: &Store<W>) -> Vec<ObjectRef<W>> {
    workloads.state().iter().filter_map(|w| WorkloadKey::of(w.meta())).map(|k| k.object_ref()).collect()
}

/// The placement facts last seen per node ([`NodeFacts`] without the resourceVersion), so that
/// only node events that change placement trigger reconciles: a kubelet's status heartbeat
/// (new `lastHeartbeatTime`, new resourceVersion) does not.
#[derive(Debug, Default)]
struct NodeChanges {
    seen: Mutex<BTreeMap<String, NodeFacts>>,
}

impl NodeChanges {
    /// A node was added or updated: true when it is new or its placement facts changed. A node
    /// without a name (never served by an API server) is not a change.
    fn applied(&self, node: &Node) -> bool {
        let Ok(mut facts) = NodeFacts::from_node(node, "node") else {
            return false;
        };
        facts.resource_version = None;
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.get(&facts.name) == Some(&facts) {
            return false;
        }
        seen.insert(facts.name.clone(), facts);
        true
    }

    /// A node was deleted: true when it was known.
    fn deleted(&self, node: &Node) -> bool {
        let name = node.metadata.name.as_deref().unwrap_or_default();
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).remove(name).is_some()
    }
}

/// Runs the controller of `R::Workload` until `shutdown` fires: reflectors over the workload,
/// its pods, PVCs and ControllerRevisions (and nodes if asked), the generic [`reconcile`],
/// [`error_policy`] backoff, and readiness once every cache has synced.
pub async fn run<R>(
    client: Client,
    reconciler: R,
    config: RunConfig,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    leading: Option<watch::Receiver<bool>>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) where
    R: Reconciler + Send + Sync + 'static,
    R::Workload: Workload,
{
    let ns = config.namespace.as_deref();
    // The workload kind itself, at the version this controller reads: a cluster that does
    // not serve it (no CRD, or another version only) would keep the controller waiting for a
    // first list for ever (and hold its shutdown); it is not started, said once.
    let own = own_kind::<R::Workload>();
    if let Some((_, res)) = crate::related::discover(&client, &[own]).await.first()
        && let Err(why) = workload_served(&own, res)
    {
        tracing::error!(controller = %config.name, kind = own.kind, reason = %why, "controller not started");
        return;
    }
    let expectations = Arc::new(ExpectationsStore::new());
    let synced = Arc::new(AtomicBool::new(false));
    let mut caches_listed: Vec<String> = [WORKLOADS, PODS, PVCS, REVISIONS].map(str::to_owned).into();
    if config.watch_nodes {
        caches_listed.push(NODES.to_owned());
    }
    // Related kinds: resolved against discovery first; each served kind's caches join the
    // sync gate, an absent kind is said once and handed over empty.
    let resolved = crate::related::discover(&client, reconciler.related_kinds()).await;
    let related_watches = related_watch_plan(&resolved, ns, &config.extra_namespaces);
    caches_listed.extend(related_watches.iter().map(|w| w.gate.clone()));
    let listed: Vec<&str> = caches_listed.iter().map(String::as_str).collect();
    let gate = Arc::new(SyncGate::new(&listed, synced.clone(), health.clone()));

    let (workloads, wl_writer) = reflector::store::<R::Workload>();
    let wl_metrics = metrics.clone();
    let wl_name = config.name.clone();
    let wl_gate = gate.clone();
    let (selectors, pods, pvcs, revisions) =
        (WorkloadIndex::new(), PodIndex::new(), ObjectIndex::new(), ObjectIndex::new());
    let (wl_selectors, wl_pods) = (selectors.clone(), pods.clone());
    let wl_stream = reflector::reflector(
        wl_writer,
        watcher(
            <<R::Workload as Resource>::Scope as WorkloadScope>::api::<R::Workload>(&client, ns),
            watcher::Config::default(),
        ),
    )
    .default_backoff()
    .inspect(move |ev| {
        if let Ok(ev) = ev {
            wl_selectors.apply(ev);
        }
        match ev {
            Ok(watcher::Event::Apply(w) | watcher::Event::InitApply(w)) => {
                wl_metrics.enqueued(&wl_name, key_of(w));
            }
            Ok(watcher::Event::Delete(w)) => wl_pods.forget(w.meta().uid.as_deref().unwrap_or_default()),
            Ok(watcher::Event::InitDone) => {
                wl_pods.retain(&wl_selectors.uids());
                wl_gate.listed(WORKLOADS);
            }
            _ => {}
        }
    })
    .applied_objects();

    let pod_index = pods.clone();
    let pod_stream = child_stream::<Pod, R::Workload>(
        scoped(&client, ns),
        move |ev| pod_index.apply(ev),
        expectations.clone(),
        (gate.clone(), PODS),
    );
    let pvc_index = pvcs.clone();
    let pvc_stream = child_stream::<PersistentVolumeClaim, R::Workload>(
        scoped(&client, ns),
        move |ev| {
            pvc_index.apply(ev);
        },
        expectations.clone(),
        (gate.clone(), PVCS),
    );
    let rev_index = revisions.clone();
    let rev_stream = child_stream::<ControllerRevision, R::Workload>(
        scoped(&client, ns),
        move |ev| {
            rev_index.apply(ev);
        },
        expectations.clone(),
        (gate.clone(), REVISIONS),
    );

    let (nodes, node_stream) = if config.watch_nodes {
        let (reader, writer) = reflector::store::<Node>();
        let node_gate = gate.clone();
        let changes = NodeChanges::default();
        let stream = reflector::reflector(
            writer,
            watcher(Api::<Node>::all(client.clone()), watcher::Config::default()),
        )
        .default_backoff()
        .filter_map(move |ev| {
            let changed = match &ev {
                Ok(watcher::Event::InitDone) => {
                    node_gate.listed(NODES);
                    None
                }
                Ok(watcher::Event::Apply(n) | watcher::Event::InitApply(n)) => {
                    changes.applied(n).then(|| n.clone())
                }
                Ok(watcher::Event::Delete(n)) => changes.deleted(n).then(|| n.clone()),
                _ => None,
            };
            futures::future::ready(changed.map(Ok::<Node, watcher::Error>))
        });
        if config.node_triggers {
            (Some(reader), Some(stream))
        } else {
            tokio::spawn(stream.for_each(|_| futures::future::ready(())));
            (Some(reader), None)
        }
    } else {
        (None, None)
    };

    // The related caches, and one stream of (kind, namespace) of every related change.
    let mut related = RelatedCaches::new();
    for extra in &config.extra_namespaces {
        related = related.with_extra(extra.clone());
    }
    let mut related_streams = Vec::new();
    let mut pods_are_related = false;
    for (kind, res) in &resolved {
        let source = match res {
            Resolved::Absent(why) => {
                tracing::warn!(
                    controller = %config.name,
                    kind = kind.kind,
                    group = kind.group,
                    reason = %why,
                    "related kind not served by this cluster: none are handed to the planner"
                );
                Source::Absent
            }
            Resolved::Served(_) if is_core_pod(kind) => {
                pods_are_related = true;
                Source::PodCache
            }
            Resolved::Served(ar) => {
                let mut stores = Vec::new();
                for w in related_watches.iter().filter(|w| w.kind == *kind) {
                    let g = gate.clone();
                    let name = w.gate.clone();
                    let (store, stream) = crate::related::watch(
                        &client,
                        ar,
                        kind.namespaced,
                        w.namespace.as_deref(),
                        move || g.listed(&name),
                    );
                    stores.push(store);
                    let kind = *kind;
                    related_streams.push(
                        stream
                            .filter_map(move |o| {
                                futures::future::ready(o.ok().map(|o| (kind, o.metadata.namespace)))
                            })
                            .boxed(),
                    );
                }
                Source::Stores(ar.clone(), stores)
            }
        };
        related = related.with(*kind, source);
    }

    let caches =
        Caches { workloads: workloads.clone(), selectors: selectors.clone(), pods, pvcs, revisions, nodes };
    let recorder = Recorder::new(client.clone(), config.reporter.clone());
    let mut adapter = Adapter::new(&config.name, client, reconciler, caches)
        .with_sync_flag(synced.clone())
        .with_features(config.features)
        .with_events(recorder)
        .with_metrics(metrics.clone())
        .with_expectations(expectations)
        .with_related(related);
    if let Some(l) = leading {
        adapter = adapter.with_leader_gate(l);
    }
    let adapter = Arc::new(adapter);

    let mapper = |name: String, metrics: Arc<Metrics>, selectors: WorkloadIndex| {
        move |meta: &ObjectMeta| {
            let refs = affected::<R::Workload>(meta, &selectors);
            for r in &refs {
                metrics
                    .enqueued(&name, WorkloadKey::new(r.namespace.as_deref().unwrap_or_default(), &r.name));
            }
            refs
        }
    };
    let pod_map = {
        let owners = mapper(config.name.clone(), metrics.clone(), selectors.clone());
        let workloads = workloads.clone();
        move |meta: &ObjectMeta| {
            let mut refs = owners(meta);
            if pods_are_related {
                // A Rollout reads the pods of its namespace among its related objects.
                let ns = meta.namespace.as_deref().unwrap_or_default();
                refs.extend(workload_keys(&workloads).filter(|k| k.namespace == ns).map(|k| k.object_ref()));
            }
            refs
        }
    };
    let pvc_map = mapper(config.name.clone(), metrics.clone(), selectors.clone());
    let rev_map = mapper(config.name.clone(), metrics.clone(), selectors);

    tracing::info!(controller = %config.name, namespace = ?config.namespace, "controller starting");
    let mut controller = Controller::for_stream(wl_stream, workloads.clone())
        .watches_stream(pod_stream, move |p: Pod| pod_map(&p.metadata))
        .watches_stream(pvc_stream, move |p: PersistentVolumeClaim| pvc_map(&p.metadata))
        .watches_stream(rev_stream, move |r: ControllerRevision| rev_map(&r.metadata));
    if !related_streams.is_empty() {
        let (workloads, extra) = (workloads.clone(), config.extra_namespaces.clone());
        let (name, metrics) = (config.name.clone(), metrics.clone());
        let touched = futures::stream::select_all(related_streams).flat_map(move |(kind, ns)| {
            let keys = crate::related::woken(&kind, ns.as_deref(), &extra, workload_keys(&workloads));
            for k in &keys {
                metrics.enqueued(&name, k.clone());
            }
            futures::stream::iter(keys.into_iter().map(|k| k.object_ref::<R::Workload>()))
        });
        controller = controller.reconcile_on(touched);
    }
    if let Some(node_stream) = node_stream {
        let (name, metrics) = (config.name.clone(), metrics.clone());
        controller = controller.watches_stream(node_stream, move |_: Node| {
            let refs = every_workload(&workloads);
            for r in &refs {
                metrics
                    .enqueued(&name, WorkloadKey::new(r.namespace.as_deref().unwrap_or_default(), &r.name));
            }
            refs
        });
    }
    controller
        .with_config(controller::Config::default().concurrency(config.concurrency))
        .graceful_shutdown_on(shutdown)
        .run(reconcile::<R>, error_policy::<R>, adapter)
        .for_each(|res| {
            if let Err(e) = res {
                tracing::debug!(error = %e, "controller event");
            }
            futures::future::ready(())
        })
        .await;
    tracing::info!(controller = %config.name, "controller stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, OwnerReference};
    use kruise_api::apps::v1beta1::{CloneSet, CloneSetSpec};

    fn meta(ns: &str, labels: &[(&str, &str)], owner: Option<(&str, &str, &str)>) -> ObjectMeta {
        ObjectMeta {
            namespace: Some(ns.into()),
            name: Some("p".into()),
            labels: Some(labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
            owner_references: owner.map(|(api_version, kind, name)| {
                vec![OwnerReference {
                    api_version: api_version.into(),
                    kind: kind.into(),
                    name: name.into(),
                    uid: "u".into(),
                    controller: Some(true),
                    block_owner_deletion: None,
                }]
            }),
            ..Default::default()
        }
    }

    /// CS-24: pods created by OpenKruise carry a v1alpha1 owner reference; they still belong
    /// to the (v1beta1-watched) CloneSet. Other kinds and groups do not.
    #[test]
    fn cs_24_owner_keys_accept_any_version_of_the_group() {
        let m = meta("ns", &[], Some(("apps.kruise.io/v1alpha1", "CloneSet", "web")));
        assert_eq!(owner_keys::<CloneSet>(&m).collect::<Vec<_>>(), [WorkloadKey::new("ns", "web")]);
        let m = meta("ns", &[], Some(("apps/v1", "ReplicaSet", "web")));
        assert_eq!(owner_keys::<CloneSet>(&m).count(), 0);
        let m = meta("ns", &[], Some(("example.com/v1", "CloneSet", "web")));
        assert_eq!(owner_keys::<CloneSet>(&m).count(), 0);
    }

    /// CS-24: an orphan matching a CloneSet's selector in its namespace triggers that
    /// CloneSet (so the planner can adopt it); one in another namespace does not.
    #[test]
    fn cs_24_orphans_trigger_matching_workloads() {
        let selectors = WorkloadIndex::new();
        let mut cs = CloneSet::new(
            "web",
            CloneSetSpec {
                selector: Some(LabelSelector {
                    match_labels: Some([("app".to_owned(), "web".to_owned())].into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        cs.metadata.namespace = Some("ns".into());
        selectors.apply(&watcher::Event::Apply(cs));
        let hit = affected::<CloneSet>(&meta("ns", &[("app", "web")], None), &selectors);
        assert_eq!(hit.len(), 1);
        assert_eq!(hit[0].name, "web");
        assert!(affected::<CloneSet>(&meta("other", &[("app", "web")], None), &selectors).is_empty());
        assert!(affected::<CloneSet>(&meta("ns", &[("app", "api")], None), &selectors).is_empty());
    }

    /// Issue 12 item 1: the adapter is synced (and ready) once every cache has listed, and
    /// not before; a relist does not matter.
    #[test]
    fn sync_gate_opens_when_every_cache_has_listed() {
        let synced = Arc::new(AtomicBool::new(false));
        let health = Arc::new(Health::default());
        let gate = SyncGate::new(&[WORKLOADS, PODS], synced.clone(), health.clone());
        gate.listed(PODS);
        gate.listed(PODS);
        assert!(!synced.load(Ordering::Acquire));
        assert!(!health.ready.load(Ordering::Relaxed));
        gate.listed(WORKLOADS);
        assert!(synced.load(Ordering::Acquire));
        assert!(health.ready.load(Ordering::Relaxed));
        gate.listed(WORKLOADS);
        assert!(synced.load(Ordering::Acquire));
    }

    /// ADS-6/ADS-7 in the operator: a node joining, leaving, or changing labels, taints or
    /// conditions reconciles the DaemonSets; a heartbeat (new resourceVersion and heartbeat
    /// time only) does not.
    #[test]
    fn node_changes_ignore_heartbeats() {
        use k8s_openapi::api::core::v1::{Node, NodeCondition, NodeStatus};
        let node = |rv: &str, beat: &str, ready: &str, zone: &str| Node {
            metadata: ObjectMeta {
                name: Some("nœud-1".into()),
                resource_version: Some(rv.into()),
                labels: Some([("zone".to_owned(), zone.to_owned())].into()),
                ..Default::default()
            },
            status: Some(NodeStatus {
                conditions: Some(vec![NodeCondition {
                    type_: "Ready".into(),
                    status: ready.into(),
                    last_heartbeat_time: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                        beat.parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH),
                    )),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let c = NodeChanges::default();
        assert!(c.applied(&node("1", "2026-01-01T00:00:00Z", "True", "a")), "a joining node");
        assert!(!c.applied(&node("2", "2026-01-01T00:00:40Z", "True", "a")), "a heartbeat");
        assert!(c.applied(&node("3", "2026-01-01T00:00:50Z", "False", "a")), "NotReady");
        assert!(c.applied(&node("4", "2026-01-01T00:00:50Z", "False", "b")), "relabelled");
        assert!(c.deleted(&node("4", "2026-01-01T00:00:50Z", "False", "b")), "leaving");
        assert!(!c.deleted(&node("4", "2026-01-01T00:00:50Z", "False", "b")), "gone already");
        assert!(!c.applied(&Node::default()), "no name");
    }

    /// The watches of the served related kinds: pods from the pod cache (none), absent kinds
    /// none, each other kind over the operator's scope, and a namespaced kind with an extra
    /// namespace outside that scope one more there; each watch has its own name in the gate.
    #[test]
    fn related_watches_cover_the_scope_and_the_extra_namespaces() {
        use kruise_core::reconciler::RelatedKind;
        let kind = |group: &'static str, kind: &'static str, plural: &'static str, namespaced: bool| {
            RelatedKind { group, version: "v1", kind, plural, namespaced }
        };
        let served = |k: &RelatedKind| {
            Resolved::Served(kube::api::ApiResource {
                group: k.group.into(),
                version: "v1".into(),
                api_version: if k.group.is_empty() { "v1".into() } else { format!("{}/v1", k.group) },
                kind: k.kind.into(),
                plural: k.plural.into(),
            })
        };
        let secret = kind("", "Secret", "secrets", true);
        let ni = kind("apps.kruise.io", "NodeImage", "nodeimages", false);
        let pod = kind("", "Pod", "pods", true);
        let route = kind("gateway.networking.k8s.io", "HTTPRoute", "httproutes", true);
        let resolved = vec![
            (ni, served(&ni)),
            (secret, served(&secret)),
            (pod, served(&pod)),
            (route, Resolved::Absent("not served".into())),
        ];
        let extra = [ExtraNamespace { plural: "secrets", namespace: "daemons".into(), annotation: None }];
        let all = related_watch_plan(&resolved, None, &extra);
        let got: Vec<_> = all.iter().map(|w| (w.kind.kind, w.namespace.clone(), w.gate.clone())).collect();
        assert_eq!(
            got,
            [
                ("NodeImage", None, "nodeimages.apps.kruise.io".to_owned()),
                ("Secret", None, "secrets".to_owned()),
            ]
        );
        let scoped = related_watch_plan(&resolved, Some("team-a"), &extra);
        let got: Vec<_> = scoped.iter().map(|w| (w.kind.kind, w.namespace.clone())).collect();
        assert_eq!(
            got,
            [
                ("NodeImage", None),
                ("Secret", Some("team-a".to_owned())),
                ("Secret", Some("daemons".to_owned())),
            ]
        );
        let gates: std::collections::BTreeSet<_> = scoped.iter().map(|w| w.gate.clone()).collect();
        assert_eq!(gates.len(), 3, "one gate entry per watch");
        assert!(related_watch_plan(&resolved, Some("daemons"), &extra).len() == 2, "the scope covers it");
    }

    /// A controller whose own kind the cluster does not serve, or serves at another version
    /// only, is not started (it would wait for a first list for ever); served at its version,
    /// it runs.
    #[test]
    fn controllers_start_only_for_a_served_workload_version() {
        use kruise_api::rollouts::v1alpha1::TrafficRouting;
        let own = own_kind::<TrafficRouting>();
        assert_eq!(
            (own.group, own.version, own.plural, own.namespaced),
            ("rollouts.kruise.io", "v1alpha1", "trafficroutings", true)
        );
        let ss = own_kind::<kruise_api::apps::v1beta1::SidecarSet>();
        assert!(!ss.namespaced);
        let ar = |version: &str| kube::api::ApiResource {
            group: "apps.kruise.io".into(),
            version: version.into(),
            api_version: format!("apps.kruise.io/{version}"),
            kind: "SidecarSet".into(),
            plural: "sidecarsets".into(),
        };
        assert!(workload_served(&own, &Resolved::Absent("no group".into())).is_err());
        let e = workload_served(&ss, &Resolved::Served(ar("v1alpha1"))).err().unwrap_or_default();
        assert!(e.contains("apps.kruise.io/v1alpha1 only"), "{e}");
        assert_eq!(workload_served(&ss, &Resolved::Served(ar("v1beta1"))), Ok(()));
    }

    /// An event of a SidecarSet (cluster-scoped) about a pod names the pod's namespace and
    /// uid when one pod of that name is cached; a namespaced workload's pod is looked up in its
    /// namespace.
    #[test]
    fn events_of_cluster_scoped_workloads_find_the_pod_namespace() {
        let pods = ObjectIndex::<Pod>::new();
        let pod = |ns: &str, name: &str| -> Pod {
            serde_json::from_value(serde_json::json!({"metadata": {"name": name, "namespace": ns, "uid": format!("{ns}-{name}")}}))
                .unwrap_or_default()
        };
        for p in [pod("équipe-a", "web-1"), pod("a", "dup"), pod("b", "dup")] {
            pods.apply_arc(Arc::new(p));
        }
        assert_eq!(
            pod_identity(&pods, None, "web-1"),
            (Some("équipe-a".into()), Some("équipe-a-web-1".into()))
        );
        assert_eq!(pod_identity(&pods, None, "dup"), (None, None), "ambiguous");
        assert_eq!(pod_identity(&pods, Some("b".into()), "dup"), (Some("b".into()), Some("b-dup".into())));
        assert_eq!(pod_identity(&pods, Some("c".into()), "dup"), (Some("c".into()), None));
    }

    #[test]
    fn seeds_differ_between_reconciles() {
        let now = Timestamp::UNIX_EPOCH;
        assert_ne!(fresh_seed(0, now), fresh_seed(1, now));
    }

    /// Issue 12 item 4: an event is related to the pod its message names among the plan's
    /// writes (whole words only: `web-a` is not found in `web-ab`).
    #[test]
    fn events_are_related_to_the_pod_they_name() {
        let w = |pod: &str| kruise_core::reconciler::PlannedWrite {
            action: kruise_core::plan::Action::new(
                kruise_core::plan::ActionKind::CreatePod { instance_id: String::new() },
                Some(pod),
                None,
                kruise_core::plan::Reason::ScaleUp { have: 0, want: 1 },
            ),
            write: kruise_core::write::ApiWrite::Delete {
                target: kruise_core::write::Target::pod("ns", pod),
                uid: None,
            },
        };
        let writes = [w("web-ab"), w("web-a"), w("wéb-ü.x")];
        assert_eq!(event_pod("succeed to create pod web-a", &writes), Some("web-a"));
        assert_eq!(event_pod("succeed to create pod web-ab.", &writes), Some("web-ab"));
        assert_eq!(event_pod("successfully update pod wéb-ü.x in-place", &writes), Some("wéb-ü.x"));
        assert_eq!(event_pod("scaleUp is limited, limit: 1", &writes), None);
        assert_eq!(event_pod("succeed to create pod web-abc", &writes), None);
    }
}
