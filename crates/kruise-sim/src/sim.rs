//! The event loop: a virtual clock that jumps from event to event (a `BinaryHeap` keyed by
//! `(time, seq)`), the API store, the lagging informer cache, the scheduler, the kubelets,
//! the node lifecycle controller, the workload controllers and scheduled faults. Nothing
//! reconciles unless something it watches changed or it asked to be requeued.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use k8s_openapi::api::core::v1::{Node, Pod};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cache::Cache;
use crate::cluster::{NodeSpec, Usage, parse_quantity_milli, pick_node};
use crate::controller::Controller;
use crate::kubelet::{ImageSpec, Kubelet, KubeletConfig};
use crate::rng::SplitMix64;
use crate::store::{ApiError, Change, ObjectKey, Store, WriteOk, set_path, str_at};
use crate::time::{Dur, SimTime, sim_time, timestamp};

/// How a simulated cluster behaves.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Seeds every random choice of the run.
    pub seed: u64,
    /// How long a store change takes to reach the informer cache (default 100ms).
    pub informer_lag: Dur,
    /// Kubelet timings.
    pub kubelet: KubeletConfig,
    /// Per-image behaviour.
    pub images: BTreeMap<String, ImageSpec>,
    /// The nodes.
    pub nodes: Vec<NodeSpec>,
    /// How long a silent node stays Ready before the node controller marks it NotReady (40s).
    pub node_monitor_grace: Dur,
    /// How long pods stay on a NotReady node before they are evicted (5m).
    pub eviction_timeout: Dur,
    /// Requeue delay after a failed reconcile or write (1s).
    pub error_backoff: Dur,
    /// Upper bound on events processed by one run call (a runaway guard).
    pub max_events: u64,
    /// Run kruise-daemon on every node: each node gets a NodeImage (named after it, with its
    /// labels) when it appears, and the daemon pulls what the NodeImage asks for and reports
    /// its status ([`Kubelet::daemon_sync`]). On when the ImagePullJob controller runs.
    pub node_daemon: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            informer_lag: Dur::millis(100),
            kubelet: KubeletConfig::default(),
            images: BTreeMap::new(),
            nodes: NodeSpec::numbered(3),
            node_monitor_grace: Dur::secs(40),
            eviction_timeout: Dur::secs(300),
            error_backoff: Dur::secs(1),
            max_events: 50_000_000,
            node_daemon: false,
        }
    }
}

/// A fault, injected now or at a scheduled time.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Fault {
    /// A node's kubelet goes silent (optionally coming back after `for`).
    NodeLost {
        /// The node.
        node: String,
        /// Back after this long (never, if unset).
        #[serde(default, rename = "for")]
        duration: Option<Dur>,
    },
    /// A lost node comes back.
    NodeBack {
        /// The node.
        node: String,
    },
    /// Pulls of `image` fail (optionally for a while).
    ImagePullFailure {
        /// The image, exactly as in the pod spec.
        image: String,
        /// Heals after this long (never, if unset).
        #[serde(default, rename = "for")]
        duration: Option<Dur>,
    },
    /// The containers of a pod crash once (restart after back-off).
    PodCrash {
        /// Pod name (namespace `default` unless `ns/name`).
        pod: String,
    },
    /// The next `count` controller writes fail with 409 Conflict.
    Conflicts {
        /// How many.
        count: u32,
    },
    /// The informer lag becomes `lag` (optionally for a while, optionally for one kind's
    /// watch only, e.g. `Pod`).
    CacheLag {
        /// The new lag.
        lag: Dur,
        /// Only this kind's watch (all watches if unset).
        #[serde(default)]
        kind: Option<String>,
        /// Back to normal after this long (for good, if unset).
        #[serde(default, rename = "for")]
        duration: Option<Dur>,
    },
}

#[derive(Clone, Debug, PartialEq)]
enum Event {
    Reconcile(usize, ObjectKey),
    CacheDeliver,
    Schedule,
    PodSync(ObjectKey),
    /// The node daemon of this node looks at its NodeImage.
    DaemonSync(String),
    Fault(Fault),
    NodeNotReady(String, u64),
    EvictNode(String, u64),
    ImageHealed(String),
    LagRestored(u64),
}

/// One line of `kubectl get pods -w`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodRow {
    /// Virtual time, ms.
    pub at: SimTime,
    /// Pod name.
    pub name: String,
    /// `ready/total` containers.
    pub ready: String,
    /// kubectl's STATUS column.
    pub status: String,
    /// Restarts, summed over containers.
    pub restarts: i64,
    /// Node, or `<none>`.
    pub node: String,
    /// The `controller-revision-hash` label.
    pub revision: String,
}

/// What a traffic object sends where, from the moment it changed: an HTTPRoute's backends with
/// their share of the weighted traffic (and the backends of header/path-matched rules), and the
/// route intent a provider object carries as data (a shared TrafficRouting's gateway, RO-64).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrafficRow {
    /// Virtual time, ms.
    pub at: SimTime,
    /// `HTTPRoute/name`.
    pub object: String,
    /// `web 80%, web-canary 20%`, `web-canary if User-Agent=foo`, `intent Canary if
    /// User-Agent=foo`; `deleted` when the object went away.
    pub split: String,
}

/// The traffic split of an HTTPRoute as stored (see [`TrafficRow::split`]).
pub fn traffic_split(route: &Value) -> String {
    let mut parts = Vec::new();
    for rule in route.pointer("/spec/rules").and_then(Value::as_array).into_iter().flatten() {
        let backends: Vec<(&str, i64)> = rule
            .get("backendRefs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|b| {
                (
                    str_at(b, &["name"]).unwrap_or_default(),
                    b.get("weight").and_then(Value::as_i64).unwrap_or(1),
                )
            })
            .collect();
        let matched = matches_text(rule.get("matches"));
        let total: i64 = backends.iter().map(|(_, w)| (*w).max(0)).sum();
        let shares: Vec<String> = if backends.len() > 1 && total > 0 {
            backends.iter().map(|(n, w)| format!("{n} {}%", (*w).max(0) * 100 / total)).collect()
        } else {
            backends.iter().map(|(n, _)| (*n).to_owned()).collect()
        };
        let mut part = shares.join(", ");
        if !matched.is_empty() {
            part = format!("{part} if {matched}");
        }
        parts.push(part);
    }
    let intent = route
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(kruise_api::keys::ROLLOUT_ROUTE_INTENT))
        .and_then(Value::as_str)
        .and_then(|t| serde_json::from_str::<Value>(t).ok());
    if let Some(i) = intent {
        let mut text = format!("intent {}", str_at(&i, &["kind"]).unwrap_or_default());
        if let Some(w) = i.get("canaryWeight").and_then(Value::as_i64) {
            text.push_str(&format!(" {w}%"));
        }
        let m = matches_text(i.get("matches"));
        if !m.is_empty() {
            text.push_str(&format!(" if {m}"));
        }
        parts.push(text);
    }
    parts.join(" | ")
}

/// `User-Agent=foo, /api` for a list of HTTPRoute matches (headers, query params, paths).
fn matches_text(matches: Option<&Value>) -> String {
    let mut out = Vec::new();
    for m in matches.and_then(Value::as_array).into_iter().flatten() {
        for key in ["headers", "queryParams"] {
            for h in m.get(key).and_then(Value::as_array).into_iter().flatten() {
                out.push(format!(
                    "{}={}",
                    str_at(h, &["name"]).unwrap_or_default(),
                    str_at(h, &["value"]).unwrap_or_default()
                ));
            }
        }
        if let Some(p) = str_at(m, &["path", "value"]) {
            out.push(p.to_owned());
        }
    }
    out.join(", ")
}

/// One controller decision: a write carried out (or refused), a pod held, or an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// Virtual time, ms.
    pub at: SimTime,
    /// Controller name.
    pub controller: String,
    /// The workload.
    pub workload: String,
    /// The pod concerned, if any.
    pub pod: Option<String>,
    /// `CreatePod`, `DeletePod`, `UpdateInPlace`, ..., `Hold`, `Event`, `Error`.
    pub action: String,
    /// Reason kind.
    pub reason: String,
    /// The numbers behind it.
    pub detail: String,
    /// The API error, if the write failed.
    pub error: Option<String>,
}

/// A pod creation (or deletion): when, which pod, and its controlling owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Created {
    /// When, virtual ms.
    pub at: SimTime,
    /// Pod name.
    pub name: String,
    /// Controlling owner's uid.
    pub owner: Option<String>,
}

/// A pod as the API store holds it, summarised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodView {
    /// Name.
    pub name: String,
    /// Namespace.
    #[serde(skip)]
    pub namespace: String,
    /// Uid.
    #[serde(skip)]
    pub uid: String,
    /// `controller-revision-hash` label.
    pub revision: String,
    /// Container images (spec).
    pub images: Vec<String>,
    /// Node, empty when unscheduled.
    pub node: String,
    /// `status.phase`.
    pub phase: String,
    /// The Ready condition.
    pub ready: bool,
    /// Restarts over all containers.
    pub restarts: i64,
    /// Creation time, virtual ms.
    #[serde(skip)]
    pub created: SimTime,
    /// Creation time as a duration since the start.
    pub created_at: Dur,
    /// Has a deletionTimestamp.
    pub terminating: bool,
    /// The uid of its controlling owner.
    #[serde(skip)]
    pub owner: Option<String>,
}

/// Why a run stopped abnormally.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// More events than `max_events` in one run call: something loops.
    #[error("runaway simulation: more than {0} events in one run (a controller or the kubelet loops)")]
    Runaway(u64),
    /// A user write was refused.
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// The simulated cluster.
pub struct Sim {
    /// The configuration.
    pub config: SimConfig,
    now: SimTime,
    seq: u64,
    queue: BinaryHeap<Reverse<(SimTime, u64)>>,
    events: BTreeMap<u64, Event>,
    pending_reconcile: BTreeMap<(usize, ObjectKey), SimTime>,
    pending_sync: BTreeMap<ObjectKey, SimTime>,
    cache_event_at: Option<SimTime>,
    schedule_at: Option<SimTime>,
    /// Pods waiting for a node (the scheduler's queue).
    unscheduled: BTreeSet<ObjectKey>,
    /// Pods whose latest change is the kubelet's own status write (no need to sync again).
    kubelet_wrote: BTreeSet<ObjectKey>,
    /// NodeImages whose latest change is the daemon's own status write.
    daemon_wrote: BTreeSet<ObjectKey>,
    pending_daemon: BTreeMap<String, SimTime>,
    rng: SplitMix64,
    store: Store,
    cache: Cache,
    kubelet: Kubelet,
    controllers: Vec<Box<dyn Controller>>,
    lag: SimTime,
    kind_lag: BTreeMap<String, SimTime>,
    lag_epoch: u64,
    node_epoch: BTreeMap<String, u64>,
    rows: Vec<PodRow>,
    last_row: BTreeMap<String, PodRow>,
    traffic: Vec<TrafficRow>,
    last_traffic: BTreeMap<String, String>,
    decisions: Vec<Decision>,
    last_held: BTreeMap<(String, String), (String, String)>,
    /// The last message of each (workload, event reason), to fold repeats.
    last_events: BTreeMap<(String, String), String>,
    deleted: Vec<Created>,
    created: Vec<Created>,
    reconciles: u64,
    processed: u64,
    /// Store changes kept for [`Sim::take_recorded_changes`] (`None`: not recording).
    recorded: Option<Vec<Change>>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim").field("now", &self.now).field("store", &self.store).finish_non_exhaustive()
    }
}

impl Sim {
    /// A cluster with the configured nodes, Ready, and no controllers.
    pub fn new(config: SimConfig) -> Self {
        let mut rng = SplitMix64::new(config.seed);
        let store = Store::new(rng.next_u64());
        let mut kubelet = Kubelet::new(config.kubelet.clone(), config.images.clone());
        for n in &config.nodes {
            if let Some(bw) = &n.bandwidth {
                // A bandwidth that is not a positive quantity leaves the kubelet's default.
                kubelet.set_node_bandwidth(&n.name, bw);
            }
        }
        let lag = config.informer_lag.0;
        let mut sim = Self {
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            pending_reconcile: BTreeMap::new(),
            pending_sync: BTreeMap::new(),
            cache_event_at: None,
            schedule_at: None,
            unscheduled: BTreeSet::new(),
            kubelet_wrote: BTreeSet::new(),
            daemon_wrote: BTreeSet::new(),
            pending_daemon: BTreeMap::new(),
            rng,
            store,
            cache: Cache::new(),
            kubelet,
            controllers: Vec::new(),
            lag,
            kind_lag: BTreeMap::new(),
            lag_epoch: 0,
            node_epoch: BTreeMap::new(),
            rows: Vec::new(),
            last_row: BTreeMap::new(),
            traffic: Vec::new(),
            last_traffic: BTreeMap::new(),
            decisions: Vec::new(),
            last_held: BTreeMap::new(),
            last_events: BTreeMap::new(),
            deleted: Vec::new(),
            created: Vec::new(),
            reconciles: 0,
            processed: 0,
            recorded: None,
            config,
        };
        for node in sim.config.nodes.clone() {
            // Node names are unique in a valid config; a duplicate is ignored.
            let _ = sim.store.create(node.to_object(), 0);
        }
        sim.flush();
        sim
    }

    /// Adds a controller; it sees every object already in the cache on its next delivery.
    pub fn add_controller(&mut self, controller: Box<dyn Controller>) {
        self.controllers.push(controller);
    }

    /// Adds a mutating admission hook for pods.
    pub fn add_pod_admission(&mut self, hook: crate::store::Admission) {
        self.store.add_pod_admission(hook);
    }

    /// The virtual clock, ms.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The API store (the truth).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The informer cache (what controllers see).
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// The kubelet model.
    pub fn kubelet(&self) -> &Kubelet {
        &self.kubelet
    }

    /// Every `kubectl get pods -w` line so far.
    pub fn rows(&self) -> &[PodRow] {
        &self.rows
    }

    /// Every change of a traffic object's split so far.
    pub fn traffic(&self) -> &[TrafficRow] {
        &self.traffic
    }

    /// The current split of every traffic object, by `HTTPRoute/name`.
    pub fn traffic_now(&self) -> BTreeMap<String, String> {
        self.last_traffic
            .iter()
            .filter(|(_, v)| *v != "deleted")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Every controller decision so far.
    pub fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    /// Pods deleted so far (deletionTimestamp set, or removed without one), with when and
    /// their controlling owner.
    pub fn deleted(&self) -> &[Created] {
        &self.deleted
    }

    /// Events processed so far.
    pub fn events_processed(&self) -> u64 {
        self.processed
    }

    /// Every pod created so far, in order.
    pub fn created(&self) -> &[Created] {
        &self.created
    }

    /// Reconciles run so far.
    pub fn reconciles(&self) -> u64 {
        self.reconciles
    }

    /// The controllers.
    pub fn controllers(&self) -> &[Box<dyn Controller>] {
        &self.controllers
    }

    /// True when no event is queued (nothing will ever happen again without input).
    pub fn is_quiet(&self) -> bool {
        self.queue.is_empty()
    }

    /// When the next event is due.
    pub fn next_event_at(&self) -> Option<SimTime> {
        self.queue.peek().map(|Reverse((t, _))| *t)
    }

    fn push(&mut self, at: SimTime, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse((at.max(self.now), self.seq)));
        self.events.insert(self.seq, event);
    }

    fn enqueue_reconcile(&mut self, controller: usize, key: ObjectKey, at: SimTime) {
        let slot = (controller, key.clone());
        if self.pending_reconcile.get(&slot).is_some_and(|t| *t <= at) {
            return;
        }
        self.pending_reconcile.insert(slot, at);
        self.push(at, Event::Reconcile(controller, key));
    }

    fn enqueue_sync(&mut self, key: ObjectKey, at: SimTime) {
        if self.pending_sync.get(&key).is_some_and(|t| *t <= at) {
            return;
        }
        self.pending_sync.insert(key.clone(), at);
        self.push(at, Event::PodSync(key));
    }

    fn enqueue_daemon(&mut self, node: String, at: SimTime) {
        if self.pending_daemon.get(&node).is_some_and(|t| *t <= at) {
            return;
        }
        self.pending_daemon.insert(node.clone(), at);
        self.push(at, Event::DaemonSync(node));
    }

    /// IPJ-20 as the node daemon sees it: a node that appears gets its NodeImage (named after
    /// it, with its labels; the 30s creation delay is not modelled), a node that goes takes
    /// its NodeImage along.
    fn node_image_lifecycle(&mut self, change: &Change) {
        let key = ObjectKey::new("apps.kruise.io/v1beta1", "NodeImage", "", &change.key.name);
        match &change.new {
            Some(node) if self.store.get(&key).is_none() => {
                let labels = node.pointer("/metadata/labels").cloned().unwrap_or_else(|| json!({}));
                let ni = json!({"apiVersion": "apps.kruise.io/v1beta1", "kind": "NodeImage",
                    "metadata": {"name": change.key.name, "labels": labels}, "spec": {}});
                // The key was just checked to be free.
                let _ = self.store.create(ni, self.now);
            }
            Some(_) => {}
            None => {
                let _ = self.store.delete(&key, None, self.now);
            }
        }
    }

    fn enqueue_schedule(&mut self) {
        if self.unscheduled.is_empty() || self.schedule_at.is_some_and(|t| t <= self.now) {
            return;
        }
        self.schedule_at = Some(self.now);
        self.push(self.now, Event::Schedule);
    }

    /// Applies a manifest as `kubectl apply` would (already converted and defaulted).
    pub fn apply(&mut self, obj: Value) -> Result<WriteOk, SimError> {
        let ok = self.store.apply(obj, self.now)?;
        self.flush();
        Ok(ok)
    }

    /// Deletes an object as `kubectl delete` would.
    pub fn delete(&mut self, key: &ObjectKey) -> Result<WriteOk, SimError> {
        let ok = self.store.delete(key, None, self.now)?;
        self.flush();
        Ok(ok)
    }

    /// Merge-patches an object as a user or another controller would.
    pub fn patch(&mut self, key: &ObjectKey, patch: &Value) -> Result<WriteOk, SimError> {
        let ok = self.store.merge_patch(key, kruise_core::write::Subresource::Main, patch)?;
        self.flush();
        Ok(ok)
    }

    /// Carries out `write` on the API store at the current virtual time, as a client outside
    /// the simulation would (an operator talking to a served cluster): the scheduler, the
    /// kubelets and the cache then see its changes as they see any other.
    pub fn write<T>(&mut self, write: impl FnOnce(&mut Store, SimTime) -> T) -> T {
        let out = write(&mut self.store, self.now);
        self.flush();
        out
    }

    /// From now on, keeps every store change (in order) for [`Sim::take_recorded_changes`]:
    /// what a watch on the served cluster delivers.
    pub fn record_changes(&mut self) {
        self.recorded.get_or_insert_with(Vec::new);
    }

    /// The store changes recorded since the last call (empty unless [`Sim::record_changes`]).
    pub fn take_recorded_changes(&mut self) -> Vec<Change> {
        self.recorded.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Schedules a fault at `at` (now if in the past).
    pub fn schedule_fault(&mut self, at: SimTime, fault: Fault) {
        self.push(at, Event::Fault(fault));
    }

    /// Turns store changes into watch deliveries, kubelet syncs and scheduling rounds, and
    /// records the pod timeline.
    fn flush(&mut self) {
        for change in self.store.take_changes() {
            self.observe_change(&change);
            if let Some(log) = &mut self.recorded {
                log.push(change.clone());
            }
            let lag = self.kind_lag.get(&change.key.kind).copied().unwrap_or(self.lag);
            let visible = self.cache.push(change, self.now, lag);
            if self.cache_event_at.is_none_or(|t| t > visible) {
                self.cache_event_at = Some(visible);
                self.push(visible, Event::CacheDeliver);
            }
        }
    }

    fn observe_change(&mut self, change: &Change) {
        if change.key.kind == "HTTPRoute" {
            let object = format!("HTTPRoute/{}", change.key.name);
            let split = change.new.as_ref().map_or_else(|| "deleted".to_owned(), traffic_split);
            if self.last_traffic.get(&object) != Some(&split) {
                self.last_traffic.insert(object.clone(), split.clone());
                self.traffic.push(TrafficRow { at: self.now, object, split });
            }
            return;
        }
        if change.key.is_node() {
            self.enqueue_schedule();
            if self.config.node_daemon {
                self.node_image_lifecycle(change);
            }
            return;
        }
        if change.key.kind == "NodeImage" && change.key.group == "apps.kruise.io" && change.new.is_some() {
            if !self.daemon_wrote.remove(&change.key) {
                self.enqueue_daemon(change.key.name.clone(), self.now);
            }
            return;
        }
        if !change.key.is_pod() {
            return;
        }
        match &change.new {
            Some(pod) => {
                if change.old.is_none() {
                    self.created.push(Created {
                        at: self.now,
                        name: change.key.name.clone(),
                        owner: crate::cache::controller_uid(pod).map(str::to_owned),
                    });
                }
                let was_deleting =
                    change.old.as_ref().is_some_and(|o| o.pointer("/metadata/deletionTimestamp").is_some());
                if pod.pointer("/metadata/deletionTimestamp").is_some() && !was_deleting {
                    self.deleted.push(Created {
                        at: self.now,
                        name: change.key.name.clone(),
                        owner: crate::cache::controller_uid(pod).map(str::to_owned),
                    });
                }
                if str_at(pod, &["spec", "nodeName"]).is_none_or(str::is_empty) {
                    if pod.pointer("/metadata/deletionTimestamp").is_none() {
                        let fresh = self.unscheduled.insert(change.key.clone());
                        // A pod the scheduler just failed to place waits for a node or capacity change.
                        if fresh {
                            self.enqueue_schedule();
                        }
                    } else {
                        self.unscheduled.remove(&change.key);
                    }
                } else {
                    self.unscheduled.remove(&change.key);
                    if !self.kubelet_wrote.remove(&change.key) {
                        self.enqueue_sync(change.key.clone(), self.now);
                    }
                }
                let row = pod_row(pod, self.now);
                let same = self.last_row.get(&row.name).is_some_and(|r| same_row(r, &row));
                if !same {
                    self.last_row.insert(row.name.clone(), row.clone());
                    self.rows.push(row);
                }
            }
            None => {
                self.unscheduled.remove(&change.key);
                if let Some(old) = &change.old {
                    if old.pointer("/metadata/deletionTimestamp").is_none() {
                        self.deleted.push(Created {
                            at: self.now,
                            name: change.key.name.clone(),
                            owner: crate::cache::controller_uid(old).map(str::to_owned),
                        });
                    }
                    self.kubelet.forget(str_at(old, &["metadata", "uid"]).unwrap_or_default());
                    let mut row = pod_row(old, self.now);
                    row.status = "Deleted".into();
                    row.ready = format!("0/{}", row.ready.split('/').nth(1).unwrap_or("0"));
                    self.last_row.remove(&row.name);
                    self.rows.push(row);
                }
                // Freed capacity may let a pending pod in.
                self.enqueue_schedule();
            }
        }
    }

    /// Runs until `deadline` (inclusive) or until `done` holds, checked whenever the clock is
    /// about to move. Returns whether `done` held.
    pub fn run_until(
        &mut self,
        deadline: SimTime,
        mut done: impl FnMut(&Sim) -> bool,
    ) -> Result<bool, SimError> {
        let mut budget = self.config.max_events;
        loop {
            if done(self) {
                return Ok(true);
            }
            let next = self.next_event_at();
            match next {
                Some(t) if t <= deadline => {
                    self.now = self.now.max(t);
                    while self.next_event_at() == Some(t) {
                        let Some(Reverse((_, seq))) = self.queue.pop() else { break };
                        let Some(event) = self.events.remove(&seq) else { continue };
                        self.handle(event);
                        self.flush();
                        self.processed += 1;
                        budget = budget.checked_sub(1).ok_or(SimError::Runaway(self.config.max_events))?;
                    }
                }
                _ => {
                    self.now = self.now.max(deadline);
                    return Ok(done(self));
                }
            }
        }
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Dur) -> Result<(), SimError> {
        let deadline = self.now.saturating_add(d.0);
        self.run_until(deadline, |_| false).map(|_| ())
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Reconcile(i, key) => {
                if self.pending_reconcile.get(&(i, key.clone())) == Some(&self.now) {
                    self.pending_reconcile.remove(&(i, key.clone()));
                    self.reconcile(i, &key);
                }
            }
            Event::CacheDeliver => {
                if self.cache_event_at == Some(self.now) {
                    self.cache_event_at = None;
                }
                let changes = self.cache.deliver(self.now);
                let mut wake = BTreeSet::new();
                for change in &changes {
                    for (i, c) in self.controllers.iter_mut().enumerate() {
                        for key in c.workloads_for(change, &self.cache) {
                            wake.insert((i, key));
                        }
                    }
                }
                for (i, key) in wake {
                    self.enqueue_reconcile(i, key, self.now);
                }
                if let Some(t) = self.cache.next_visible()
                    && self.cache_event_at.is_none_or(|c| c > t)
                {
                    self.cache_event_at = Some(t);
                    self.push(t, Event::CacheDeliver);
                }
            }
            Event::Schedule => {
                if self.schedule_at == Some(self.now) {
                    self.schedule_at = None;
                }
                self.schedule();
            }
            Event::PodSync(key) => {
                if self.pending_sync.get(&key) == Some(&self.now) {
                    self.pending_sync.remove(&key);
                    self.sync_pod(&key);
                }
            }
            Event::DaemonSync(node) => {
                if self.pending_daemon.get(&node) == Some(&self.now) {
                    self.pending_daemon.remove(&node);
                    self.daemon_sync(&node);
                }
            }
            Event::Fault(f) => self.fault(f),
            Event::NodeNotReady(node, epoch) => {
                if self.node_epoch.get(&node) == Some(&epoch) {
                    self.node_not_ready(&node);
                    let at = self.now + self.config.eviction_timeout.0;
                    self.push(at, Event::EvictNode(node, epoch));
                }
            }
            Event::EvictNode(node, epoch) => {
                if self.node_epoch.get(&node) == Some(&epoch) {
                    for key in self.pods_on(&node) {
                        let _ = self.store.delete(&key, None, self.now);
                    }
                }
            }
            Event::ImageHealed(image) => {
                self.kubelet.failing_images.remove(&image);
            }
            Event::LagRestored(epoch) => {
                if epoch == self.lag_epoch {
                    self.lag = self.config.informer_lag.0;
                    self.kind_lag.clear();
                }
            }
        }
    }

    fn reconcile(&mut self, i: usize, key: &ObjectKey) {
        let seed = self.rng.next_u64();
        let now = self.now;
        self.reconciles += 1;
        let Some(controller) = self.controllers.get_mut(i) else { return };
        let name = controller.name().to_owned();
        let workload = key.to_string();
        let outcome = match controller.reconcile(key, &self.cache, now, seed) {
            Ok(Some(o)) => o,
            Ok(None) => return,
            Err(e) => {
                self.decisions.push(Decision {
                    at: now,
                    controller: name,
                    workload,
                    pod: None,
                    action: "Error".into(),
                    reason: "ReconcileError".into(),
                    detail: e.to_string(),
                    error: Some(e.to_string()),
                });
                let at = now + self.config.error_backoff.0;
                self.enqueue_reconcile(i, key.clone(), at);
                return;
            }
        };
        let mut failed = false;
        // One line per decision: an action carried out by several writes (an in-place update
        // is a status write then a pod write) is shown once, unless a later write fails.
        let mut shown: Option<(&str, Option<&str>)> = None;
        for w in &outcome.writes {
            let result = self.store.apply_write(&w.write, now);
            if let Some(c) = self.controllers.get_mut(i) {
                c.record_write(key, &w.write, &result, now);
            }
            let quiet_status = w.pod().is_none() && matches!(result, Ok(WriteOk { changed: false, .. }));
            let this = (w.name(), w.pod());
            let same_decision = w.pod().is_some() && shown == Some(this) && result.is_ok();
            shown = Some(this);
            if !quiet_status && !same_decision {
                self.decisions.push(Decision {
                    at: now,
                    controller: name.clone(),
                    workload: workload.clone(),
                    pod: w.action.pod.clone(),
                    action: w.name().to_owned(),
                    reason: w.reason().kind().to_owned(),
                    detail: w.detail(),
                    error: result.as_ref().err().map(ToString::to_string),
                });
            }
            if result.is_err() {
                failed = true;
                break;
            }
        }
        let mut held_now = BTreeSet::new();
        for h in &outcome.held {
            let subject = match (&h.pod, &h.object) {
                (Some(p), _) => p.clone(),
                (None, Some(o)) => format!("{}/{}", o.kind.to_lowercase(), o.name),
                (None, None) => continue,
            };
            let slot = (workload.clone(), subject.clone());
            held_now.insert(slot.clone());
            let what = (h.reason.kind().to_owned(), h.reason.to_string());
            if self.last_held.get(&slot) != Some(&what) {
                self.decisions.push(Decision {
                    at: now,
                    controller: name.clone(),
                    workload: workload.clone(),
                    pod: Some(subject),
                    action: "Hold".into(),
                    reason: what.0.clone(),
                    detail: what.1.clone(),
                    error: None,
                });
                self.last_held.insert(slot, what);
            }
        }
        self.last_held.retain(|(w, p), _| w != &workload || held_now.contains(&(w.clone(), p.clone())));
        // Repeated events are folded: an event equal to the one this workload emitted with the
        // same reason on its previous reconcile is not shown again.
        let mut events_now = BTreeSet::new();
        for e in &outcome.events {
            let slot = (workload.clone(), e.reason.clone());
            events_now.insert(slot.clone());
            if self.last_events.get(&slot) == Some(&e.message) {
                continue;
            }
            self.last_events.insert(slot, e.message.clone());
            self.decisions.push(Decision {
                at: now,
                controller: name.clone(),
                workload: workload.clone(),
                pod: None,
                action: "Event".into(),
                reason: e.reason.clone(),
                detail: e.message.clone(),
                error: None,
            });
        }
        self.last_events.retain(|(w, r), _| w != &workload || events_now.contains(&(w.clone(), r.clone())));
        if failed {
            let at = now + self.config.error_backoff.0;
            self.enqueue_reconcile(i, key.clone(), at);
        } else if let Some(r) = &outcome.requeue_after {
            let at = now + Dur::from_std(r.after).0.max(1);
            self.enqueue_reconcile(i, key.clone(), at);
        }
    }

    fn schedule(&mut self) {
        let nodes: Vec<Node> =
            self.store.list("", "Node").filter_map(|(_, v)| serde_json::from_value(v.clone()).ok()).collect();
        let mut usage: BTreeMap<String, Usage> = BTreeMap::new();
        let mut pending: Vec<ObjectKey> = Vec::new();
        for (key, pod) in self.store.list("", "Pod") {
            match str_at(pod, &["spec", "nodeName"]).filter(|n| !n.is_empty()) {
                Some(node) if !self.store.is_terminated(key) => {
                    let u = usage.entry(node.to_owned()).or_default();
                    u.pods += 1;
                    u.cpu += value_requests(pod, "cpu");
                    u.memory += value_requests(pod, "memory");
                }
                _ => {}
            }
        }
        pending.extend(self.unscheduled.iter().cloned());
        for key in pending {
            let Some(value) = self.store.get(&key).cloned() else { continue };
            let Ok(pod) = serde_json::from_value::<Pod>(value.clone()) else { continue };
            let mut new = value;
            let (status, reason, message) = match pick_node(&pod, &nodes, &usage) {
                Ok(node) => {
                    let u = usage.entry(node.clone()).or_default();
                    u.add(&pod);
                    set_path(&mut new, &["spec", "nodeName"], json!(node));
                    ("True", None, None)
                }
                Err(msg) => ("False", Some("Unschedulable"), Some(msg)),
            };
            let mut conditions: Vec<Value> =
                new.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
            let old = conditions.iter().position(|c| str_at(c, &["type"]) == Some("PodScheduled"));
            let keep_time = old
                .and_then(|i| conditions.get(i))
                .filter(|c| str_at(c, &["status"]) == Some(status))
                .and_then(|c| c.get("lastTransitionTime").cloned());
            let mut cond = json!({"type": "PodScheduled", "status": status, "lastProbeTime": null,
                "lastTransitionTime": keep_time.unwrap_or_else(|| json!(timestamp(self.now).to_string()))});
            if let (Some(r), Some(m)) = (reason, message) {
                cond["reason"] = json!(r);
                cond["message"] = json!(m);
            }
            match old {
                Some(i) => conditions[i] = cond,
                None => conditions.insert(0, cond),
            }
            set_path(&mut new, &["status", "conditions"], json!(conditions));
            if new.pointer("/status/phase").is_none() {
                set_path(&mut new, &["status", "phase"], json!("Pending"));
            }
            self.store.system_update(&key, new);
        }
    }

    fn sync_pod(&mut self, key: &ObjectKey) {
        let Some(pod) = self.store.get(key).cloned() else { return };
        let sync = self.kubelet.sync(&pod, self.now);
        if let Some(status) = sync.status
            && self.store.set_status(key, status).is_some_and(|ok| ok.changed)
        {
            self.kubelet_wrote.insert(key.clone());
        }
        if sync.terminated {
            self.store.pod_terminated(key);
        } else if let Some(w) = sync.wake {
            self.enqueue_sync(key.clone(), w);
        }
    }

    fn daemon_sync(&mut self, node: &str) {
        let key = ObjectKey::new("apps.kruise.io/v1beta1", "NodeImage", "", node);
        let Some(ni) = self.store.get(&key).cloned() else { return };
        let sync = self.kubelet.daemon_sync(node, &ni, self.now);
        if let Some(status) = sync.status
            && self.store.set_status(&key, status).is_some_and(|ok| ok.changed)
        {
            self.daemon_wrote.insert(key);
        }
        if let Some(w) = sync.wake {
            self.enqueue_daemon(node.to_owned(), w);
        }
    }

    fn pods_on(&self, node: &str) -> Vec<ObjectKey> {
        self.store
            .list("", "Pod")
            .filter(|(_, p)| str_at(p, &["spec", "nodeName"]) == Some(node))
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn node_not_ready(&mut self, node: &str) {
        let key = ObjectKey::node(node);
        if let Some(mut n) = self.store.get(&key).cloned() {
            set_path(
                &mut n,
                &["status", "conditions"],
                json!([{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown", "lastTransitionTime": timestamp(self.now).to_string()}]),
            );
            set_path(
                &mut n,
                &["spec", "taints"],
                json!([{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]),
            );
            self.store.system_update(&key, n);
        }
        for pod in self.pods_on(node) {
            let Some(mut status) = self.store.get(&pod).and_then(|p| p.get("status").cloned()) else {
                continue;
            };
            if let Some(conds) = status.get_mut("conditions").and_then(Value::as_array_mut) {
                for c in conds.iter_mut() {
                    if matches!(str_at(c, &["type"]), Some("Ready" | "ContainersReady"))
                        && str_at(c, &["status"]) != Some("False")
                    {
                        c["status"] = json!("False");
                        c["reason"] = json!("NodeLost");
                        c["lastTransitionTime"] = json!(timestamp(self.now).to_string());
                    }
                }
            }
            if let Some(cs) = status.get_mut("containerStatuses").and_then(Value::as_array_mut) {
                for c in cs.iter_mut() {
                    c["ready"] = json!(false);
                }
            }
            self.store.set_status(&pod, status);
        }
    }

    fn fault(&mut self, fault: Fault) {
        self.decisions.push(Decision {
            at: self.now,
            controller: "fault".into(),
            workload: String::new(),
            pod: None,
            action: "Fault".into(),
            reason: fault_kind(&fault).into(),
            detail: serde_json::to_string(&fault).unwrap_or_default(),
            error: None,
        });
        match fault {
            Fault::NodeLost { node, duration } => {
                let epoch = self.node_epoch.get(&node).copied().unwrap_or(0) + 1;
                self.node_epoch.insert(node.clone(), epoch);
                self.kubelet.set_node_down(&node, true);
                let at = self.now + self.config.node_monitor_grace.0;
                self.push(at, Event::NodeNotReady(node.clone(), epoch));
                if let Some(d) = duration {
                    let at = self.now + d.0;
                    self.push(at, Event::Fault(Fault::NodeBack { node }));
                }
            }
            Fault::NodeBack { node } => {
                *self.node_epoch.entry(node.clone()).or_default() += 1;
                self.kubelet.set_node_down(&node, false);
                if let Some(spec) = self.config.nodes.iter().find(|n| n.name == node).cloned() {
                    let key = ObjectKey::node(&node);
                    if let Some(mut n) = self.store.get(&key).cloned() {
                        let fresh = spec.to_object();
                        set_path(&mut n, &["status"], fresh.get("status").cloned().unwrap_or(Value::Null));
                        set_path(&mut n, &["spec"], fresh.get("spec").cloned().unwrap_or(Value::Null));
                        self.store.system_update(&key, n);
                    }
                }
                for pod in self.pods_on(&node) {
                    self.enqueue_sync(pod, self.now);
                }
                if self.config.node_daemon {
                    self.enqueue_daemon(node, self.now);
                }
            }
            Fault::ImagePullFailure { image, duration } => {
                self.kubelet.failing_images.insert(image.clone());
                if let Some(d) = duration {
                    let at = self.now + d.0;
                    self.push(at, Event::ImageHealed(image));
                }
            }
            Fault::PodCrash { pod } => {
                let (ns, name) = pod.split_once('/').unwrap_or(("default", pod.as_str()));
                let key = ObjectKey::pod(ns, name);
                if let Some(uid) =
                    self.store.get(&key).and_then(|p| str_at(p, &["metadata", "uid"])).map(str::to_owned)
                    && self.kubelet.crash(&uid, self.now)
                {
                    self.sync_pod(&key);
                }
            }
            Fault::Conflicts { count } => self.store.inject_conflicts(count),
            Fault::CacheLag { lag, kind, duration } => {
                self.lag_epoch += 1;
                match kind {
                    Some(k) => {
                        self.kind_lag.insert(k, lag.0);
                    }
                    None => self.lag = lag.0,
                }
                if let Some(d) = duration {
                    let at = self.now + d.0;
                    self.push(at, Event::LagRestored(self.lag_epoch));
                }
            }
        }
    }

    /// Pods in the store, by namespace and name.
    pub fn pods(&self) -> Vec<PodView> {
        self.store.list("", "Pod").map(|(_, v)| pod_view(v)).collect()
    }

    /// A random fault drawn from `rng` for the soak test: among the given nodes and images.
    pub fn random_fault(rng: &mut SplitMix64, nodes: &[String], images: &[String], pods: &[String]) -> Fault {
        let pick = |rng: &mut SplitMix64, xs: &[String]| {
            xs.get(rng.below(xs.len() as u64) as usize).cloned().unwrap_or_default()
        };
        match rng.below(5) {
            0 if !nodes.is_empty() => {
                Fault::NodeLost { node: pick(rng, nodes), duration: Some(Dur::secs(30 + rng.below(600))) }
            }
            1 if !images.is_empty() => Fault::ImagePullFailure {
                image: pick(rng, images),
                duration: Some(Dur::secs(10 + rng.below(120))),
            },
            2 if !pods.is_empty() => Fault::PodCrash { pod: pick(rng, pods) },
            3 => Fault::Conflicts { count: 1 + rng.below(5) as u32 },
            _ => Fault::CacheLag {
                lag: Dur::millis(500 + rng.below(10_000)),
                kind: None,
                duration: Some(Dur::secs(5 + rng.below(60))),
            },
        }
    }
}

fn fault_kind(f: &Fault) -> &'static str {
    match f {
        Fault::NodeLost { .. } => "NodeLost",
        Fault::NodeBack { .. } => "NodeBack",
        Fault::ImagePullFailure { .. } => "ImagePullFailure",
        Fault::PodCrash { .. } => "PodCrash",
        Fault::Conflicts { .. } => "Conflicts",
        Fault::CacheLag { .. } => "CacheLag",
    }
}

fn value_requests(pod: &Value, resource: &str) -> u128 {
    pod.pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("resources")?.get("requests")?.get(resource)?.as_str())
                .filter_map(parse_quantity_milli)
                .sum()
        })
        .unwrap_or(0)
}

fn condition_true(pod: &Value, t: &str) -> bool {
    pod.pointer("/status/conditions").and_then(Value::as_array).is_some_and(|cs| {
        cs.iter().any(|c| str_at(c, &["type"]) == Some(t) && str_at(c, &["status"]) == Some("True"))
    })
}

/// Summarises a stored pod.
pub fn pod_view(v: &Value) -> PodView {
    let created = str_at(v, &["metadata", "creationTimestamp"])
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(sim_time)
        .unwrap_or(0);
    PodView {
        name: str_at(v, &["metadata", "name"]).unwrap_or_default().to_owned(),
        namespace: str_at(v, &["metadata", "namespace"]).unwrap_or_default().to_owned(),
        uid: str_at(v, &["metadata", "uid"]).unwrap_or_default().to_owned(),
        revision: str_at(v, &["metadata", "labels", "controller-revision-hash"])
            .unwrap_or_default()
            .to_owned(),
        images: v
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .map(|cs| cs.iter().filter_map(|c| str_at(c, &["image"]).map(str::to_owned)).collect())
            .unwrap_or_default(),
        node: str_at(v, &["spec", "nodeName"]).unwrap_or_default().to_owned(),
        phase: str_at(v, &["status", "phase"]).unwrap_or("Pending").to_owned(),
        ready: condition_true(v, "Ready"),
        restarts: restarts(v),
        created,
        created_at: Dur(created),
        terminating: v.pointer("/metadata/deletionTimestamp").is_some(),
        owner: crate::cache::controller_uid(v).map(str::to_owned),
    }
}

fn restarts(v: &Value) -> i64 {
    v.pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map(|cs| cs.iter().filter_map(|c| c.get("restartCount").and_then(Value::as_i64)).sum())
        .unwrap_or(0)
}

/// The `kubectl get pods` line of a stored pod at `now`.
pub fn pod_row(v: &Value, now: SimTime) -> PodRow {
    let statuses =
        v.pointer("/status/containerStatuses").and_then(Value::as_array).cloned().unwrap_or_default();
    let total = v.pointer("/spec/containers").and_then(Value::as_array).map_or(0, Vec::len);
    let ready = statuses.iter().filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true)).count();
    let waiting = statuses.iter().find_map(|c| str_at(c, &["state", "waiting", "reason"]).map(str::to_owned));
    // A pod whose containers all ran to completion shows the last one's reason, as kubectl
    // does (`Completed`, `Error`).
    let finished = matches!(str_at(v, &["status", "phase"]), Some("Succeeded" | "Failed"))
        .then(|| statuses.iter().rev().find_map(|c| str_at(c, &["state", "terminated", "reason"])))
        .flatten();
    let scheduled = str_at(v, &["spec", "nodeName"]).is_some_and(|n| !n.is_empty());
    let status = if v.pointer("/metadata/deletionTimestamp").is_some() {
        "Terminating".to_owned()
    } else if let Some(w) = waiting {
        w
    } else if let Some(f) = finished {
        f.to_owned()
    } else if !scheduled {
        "Pending".to_owned()
    } else if statuses.is_empty() {
        "ContainerCreating".to_owned()
    } else {
        str_at(v, &["status", "phase"]).unwrap_or("Pending").to_owned()
    };
    PodRow {
        at: now,
        name: str_at(v, &["metadata", "name"]).unwrap_or_default().to_owned(),
        ready: format!("{ready}/{total}"),
        status,
        restarts: restarts(v),
        node: str_at(v, &["spec", "nodeName"]).filter(|n| !n.is_empty()).unwrap_or("<none>").to_owned(),
        revision: str_at(v, &["metadata", "labels", "controller-revision-hash"])
            .unwrap_or_default()
            .to_owned(),
    }
}

fn same_row(a: &PodRow, b: &PodRow) -> bool {
    (&a.ready, &a.status, a.restarts, &a.node, &a.revision)
        == (&b.ready, &b.status, b.restarts, &b.node, &b.revision)
}
