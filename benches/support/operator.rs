//! The kube adapter's own path on the scenarios of bench-scenarios.md: the cached state is fed
//! through the operator's watch-event handlers (the indexes and the CloneSet's `PodTable`),
//! then one `Adapter::reconcile_at` observes, plans, materialises the writes and sends them to
//! an in-memory API (kube's mock service, answering each request at once). Shared by
//! `benches/operator.rs` and the root test that checks its counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{Request, Response};
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::v1beta1::CloneSet;
use kruise_api::defaults::Defaulting;
use kruise_core::cloneset::CloneSetReconciler;
use kruise_kube::controller::{Adapter, Report};
use kruise_kube::execute::Limits;
use kruise_kube::observe::Caches;
use kube::client::Body;
use kube::runtime::{reflector, watcher};

use super::support::{Kind, Scenario};

/// An in-memory API server behind kube's mock service: every request is answered at once
/// with a 200 and a minimal object of the named resource (name, namespace, a uid and a new
/// resourceVersion), as the API server answers a patch. Counts the requests.
pub fn in_memory_api() -> (kube::Client, Arc<AtomicUsize>) {
    let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let sent = Arc::new(AtomicUsize::new(0));
    let count = sent.clone();
    tokio::spawn(async move {
        while let Some((req, respond)) = handle.next_request().await {
            let n = count.fetch_add(1, Ordering::Relaxed) + 1;
            let path = req.uri().path().to_owned();
            let mut parts = path.rsplit('/');
            let mut name = parts.next().unwrap_or_default();
            if name == "status" {
                name = parts.next().unwrap_or_default();
            }
            let body = serde_json::json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"), "resourceVersion": n.to_string()},
            });
            let resp = Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&body).unwrap_or_default()))
                .expect("a valid response");
            respond.send_response(resp);
        }
    });
    (kube::Client::new(svc, "default"), sent)
}

/// One scenario loaded into an adapter as the operator would hold it.
pub struct OperatorCase {
    /// The scenario (its planner-alone input too).
    pub scenario: Scenario,
    /// The adapter over the indexes.
    pub adapter: Adapter<CloneSetReconciler>,
    /// The CloneSet as cached.
    pub workload: Arc<CloneSet>,
    /// Requests the in-memory API answered.
    pub sent: Arc<AtomicUsize>,
}

impl OperatorCase {
    /// Builds scenario `kind` at `n` and feeds it through the watch handlers (must run inside
    /// a tokio runtime: the in-memory API is a task).
    pub fn build(kind: Kind, n: usize) -> Self {
        let mut scenario = Scenario::build_as(kind, n, |cs| cs.apply_defaults());
        // As served: every cached object carries a resourceVersion.
        scenario.cloneset.metadata.resource_version = Some("1".into());
        let (store, mut writer) = reflector::store::<CloneSet>();
        let caches = Caches::new(store);
        let ev = watcher::Event::Apply(scenario.cloneset.clone());
        writer.apply_watcher_event(&ev);
        caches.selectors.apply(&ev);
        for p in &scenario.pods {
            caches.pods.apply(&watcher::Event::Apply(p.clone()));
        }
        for r in &mut scenario.revisions {
            r.metadata.namespace = Some("default".into());
            caches.revisions.apply(&watcher::Event::Apply(r.clone()));
        }
        // The table the adapter plans from is built now (as a first reconcile would); the
        // planner-alone input shares its pods instead of holding a copy of its own.
        let table = caches.pods.table(&scenario.cloneset, "default").expect("the CloneSet has a uid");
        scenario.table = table.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let (client, sent) = in_memory_api();
        let adapter = Adapter::new("cloneset", client, CloneSetReconciler, caches).with_limits(Limits {
            qps: f64::INFINITY,
            burst: u32::MAX,
            max_concurrency: 32,
        });
        let workload = Arc::new(scenario.cloneset.clone());
        Self { scenario, adapter, workload, sent }
    }

    /// One reconcile from the cached state: observe, plan, materialise, send. The adapter's
    /// expectations of an earlier call are dropped first, so each call does the same work.
    pub async fn reconcile(&self) -> Report {
        self.adapter.expectations().retain(|_| false);
        self.adapter
            .reconcile_at(self.workload.clone(), self.scenario.now, 1)
            .await
            .expect("the scenario reconciles")
    }

    /// One pod watch event applied to the indexes and the CloneSet's table, as the pod
    /// stream's handler does: it owns the event, and the pod moves into the index uncopied.
    /// Returns the pod as indexed.
    pub fn watch_event(&self, event: watcher::Event<Pod>) -> Option<Arc<Pod>> {
        self.adapter.caches().pods.take(event)
    }

    /// Checks a report against the scenario: the action counts bench-scenarios.md gives (by
    /// the writes' actions, each action counted once) and every write sent.
    pub fn check(&self, report: &Report) -> Result<(), String> {
        let mut got = std::collections::BTreeMap::new();
        let mut last: Option<(&str, Option<&str>)> = None;
        for w in &report.outcome.writes {
            let this = (w.name(), w.pod());
            if last != Some(this) {
                *got.entry(w.name()).or_insert(0usize) += 1;
            }
            last = Some(this);
        }
        let want = self.scenario.expected();
        if got != want {
            return Err(format!(
                "operator/{}/{}: actions {got:?}, bench-scenarios.md expects {want:?}",
                self.scenario.kind.name(),
                self.scenario.n
            ));
        }
        if report.written != report.outcome.writes.len() {
            return Err(format!("{} of {} writes sent", report.written, report.outcome.writes.len()));
        }
        Ok(())
    }
}
