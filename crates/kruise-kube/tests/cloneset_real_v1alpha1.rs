//! The real CloneSet planner for v1alpha1 workloads
//! (`kruise_core::cloneset::CloneSetV1Alpha1Reconciler`, the operator's default) driven
//! through the generic adapter against the served cluster in-process, on the seed manifests exactly
//! as written for OpenKruise: every CloneSet write goes to `apps.kruise.io/v1alpha1`, owner
//! references name v1alpha1, and `type: InPlaceIfPossible` updates pods in place (CS-1, CS-5).

mod support;

use jiff::Timestamp;
use kruise_api::apps::v1alpha1::CloneSet;
use kruise_core::cloneset::CloneSetV1Alpha1Reconciler;
use kruise_kube::controller::Adapter;
use serde_json::{Value, json};
use support::Cluster;
use support::mock::{MockServer, Sent};
use support::served::ServedApi;

const CS_PATH: &str = "/apis/apps.kruise.io/v1alpha1/namespaces/default/clonesets/nginxweb1";
const CLONESETS: &str = "/apis/apps.kruise.io/v1alpha1/namespaces/default/clonesets";
const PODS: &str = "/api/v1/namespaces/default/pods";
const T0: i64 = 1_767_225_660;

fn seed(file: &str) -> Value {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed").join(file);
    serde_saphyr::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

struct Run {
    api: ServedApi,
    server: MockServer,
    cluster: Cluster<CloneSet>,
    adapter: Adapter<CloneSetV1Alpha1Reconciler>,
    seen: usize,
    clock: i64,
    seed: u64,
}

impl Run {
    async fn new(manifest: Value) -> Self {
        let (api, client, server) = ServedApi::start(kruise_serve::ServeConfig::default(), T0);
        // As `kubectl apply` sends it: the server assigns uid, resourceVersion and generation.
        api.create(CLONESETS, manifest).await;
        let mut cluster = Cluster::<CloneSet>::with_workload();
        assert!(api.sync(&mut cluster).await.is_some(), "the seed reads as a v1alpha1 CloneSet");
        let adapter = Adapter::new("cloneset", client, CloneSetV1Alpha1Reconciler, cluster.caches.clone());
        Self { api, server, cluster, adapter, seen: 0, clock: T0, seed: 7 }
    }

    /// Reconciles (10 s passing, the kubelet acting and the cache catching up before each) until
    /// five reconciles in a row send nothing (past `minReadySeconds: 30`); returns the requests.
    async fn settle(&mut self) -> Vec<Sent> {
        let mut all = Vec::new();
        let mut quiet = 0;
        for _ in 0..80 {
            self.clock = self.api.step(10).await;
            self.api.sync(&mut self.cluster).await;
            self.seed += 1;
            let wl = self.cluster.caches.workloads.state()[0].clone();
            self.adapter
                .reconcile_at(wl, Timestamp::from_second(self.clock).unwrap(), self.seed)
                .await
                .unwrap();
            let sent = self.server.requests();
            let new = sent[self.seen..].to_vec();
            self.seen = sent.len();
            quiet = if new.is_empty() { quiet + 1 } else { 0 };
            all.extend(new);
            if quiet == 5 {
                return all;
            }
        }
        panic!("no convergence in 80 reconciles");
    }

    /// Applies another seed's spec to the stored CloneSet (a user's `kubectl apply`; the
    /// server bumps the generation).
    async fn apply(&mut self, manifest: &Value) {
        let after = self.api.edit(CS_PATH, |s| *s = manifest["spec"].clone()).await;
        assert_eq!(after["metadata"]["generation"], json!(2));
        self.api.sync(&mut self.cluster).await;
    }

    async fn pods(&self) -> Vec<Value> {
        self.api.list(PODS).await
    }
}

fn workload_calls(sent: &[Sent]) -> Vec<&str> {
    sent.iter().map(|s| s.uri.as_str()).filter(|u| u.contains("/clonesets/")).collect()
}

/// Seed 01 as written: pods owned through a v1alpha1 owner reference, the status written to
/// the v1alpha1 status subresource with a v1alpha1 body; nothing addresses v1beta1.
#[tokio::test]
async fn cs_1_seed01_v1alpha1_writes_and_owner_references() {
    let mut run = Run::new(seed("01-ok.yaml")).await;
    let sent = run.settle().await;
    let creates: Vec<&Sent> = sent.iter().filter(|s| s.method == "POST" && s.uri.starts_with(PODS)).collect();
    assert_eq!(creates.len(), 3);
    for c in creates {
        let owner = &c.body["metadata"]["ownerReferences"][0];
        assert_eq!(
            (owner["apiVersion"].clone(), owner["kind"].clone()),
            (json!("apps.kruise.io/v1alpha1"), json!("CloneSet"))
        );
    }
    let status =
        sent.iter().find(|s| s.method == "PUT" && s.uri.starts_with(&format!("{CS_PATH}/status?"))).unwrap();
    assert_eq!(status.body["apiVersion"], json!("apps.kruise.io/v1alpha1"));
    assert!(status.body["metadata"]["resourceVersion"].is_string());
    assert!(workload_calls(&sent).iter().all(|u| u.starts_with(CS_PATH)), "{:?}", workload_calls(&sent));
    let stored = run.api.get(CS_PATH).await.unwrap();
    assert_eq!(
        (stored["status"]["replicas"].clone(), stored["status"]["readyReplicas"].clone()),
        (json!(3), json!(3))
    );
    assert_eq!(run.pods().await.len(), 3);
}

/// Seeds 01 then 04 as written (`updateStrategy.type: InPlaceIfPossible`, new image): the three
/// pods are updated in place (names and uids kept), one more is created.
#[tokio::test]
async fn cs_5_seed04_in_place_if_possible_updates_in_place() {
    let mut run = Run::new(seed("01-ok.yaml")).await;
    run.settle().await;
    let before = run.pods().await;
    run.apply(&seed("04-ok.yaml")).await;
    let sent = run.settle().await;
    assert!(!sent.iter().any(|s| s.method == "DELETE" && s.uri.starts_with(PODS)), "no pod recreated");
    let after = run.pods().await;
    assert_eq!(after.len(), 4);
    let uid = |p: &Value| p["metadata"]["uid"].as_str().unwrap_or_default().to_owned();
    let after_uids: Vec<String> = after.iter().map(uid).collect();
    for p in &before {
        assert!(after_uids.contains(&uid(p)), "{} kept", p["metadata"]["name"]);
    }
    for p in &after {
        assert_eq!(p["spec"]["containers"][0]["image"], json!("nginx:latest"));
    }
    assert!(workload_calls(&sent).iter().all(|u| u.starts_with(CS_PATH)), "{:?}", workload_calls(&sent));
}
