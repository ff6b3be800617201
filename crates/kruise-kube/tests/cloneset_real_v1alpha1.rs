//! The real CloneSet planner for v1alpha1 workloads
//! (`kruise_core::cloneset::CloneSetV1Alpha1Reconciler`, the operator's default) driven
//! through the generic adapter against the in-memory API server, on the seed manifests exactly
//! as written for OpenKruise: every CloneSet write goes to `apps.kruise.io/v1alpha1`, owner
//! references name v1alpha1, and `type: InPlaceIfPossible` updates pods in place (CS-1, CS-5).

mod support;

use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use kruise_api::apps::v1alpha1::CloneSet;
use kruise_core::cloneset::CloneSetV1Alpha1Reconciler;
use kruise_kube::controller::Adapter;
use serde_json::{Value, json};
use support::Cluster;
use support::fake::FakeApi;
use support::mock::{MockServer, Sent};

const CS_PATH: &str = "/apis/apps.kruise.io/v1alpha1/namespaces/default/clonesets/nginxweb1";
const PODS: &str = "/api/v1/namespaces/default/pods";
const T0: i64 = 1_767_225_660;

fn seed(file: &str) -> Value {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed").join(file);
    serde_saphyr::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

struct Run {
    api: Arc<Mutex<FakeApi>>,
    server: MockServer,
    cluster: Cluster<CloneSet>,
    adapter: Adapter<CloneSetV1Alpha1Reconciler>,
    seen: usize,
    clock: i64,
    seed: u64,
}

impl Run {
    fn new(manifest: Value) -> Self {
        let api = FakeApi::shared();
        let mut stored = manifest;
        stored["metadata"]["generation"] = json!(1);
        stored["metadata"]["uid"] = json!("uid-nginxweb1");
        api.lock().unwrap().put_object(CS_PATH, stored);
        let handler_api = api.clone();
        let (client, server) = MockServer::start_with(move |s| handler_api.lock().unwrap().handle(s));
        let mut cluster = Cluster::<CloneSet>::with_workload();
        assert!(api.lock().unwrap().sync(&mut cluster).is_some(), "the seed reads as a v1alpha1 CloneSet");
        let adapter = Adapter::new("cloneset", client, CloneSetV1Alpha1Reconciler, cluster.caches.clone());
        Self { api, server, cluster, adapter, seen: 0, clock: T0, seed: 7 }
    }

    /// Reconciles (the kubelet acting and the cache catching up before each, 10 s apart) until
    /// five reconciles in a row send nothing (past `minReadySeconds: 30`); returns the requests.
    async fn settle(&mut self) -> Vec<Sent> {
        let mut all = Vec::new();
        let mut quiet = 0;
        for _ in 0..80 {
            {
                let mut api = self.api.lock().unwrap();
                api.kubelet();
                api.sync(&mut self.cluster);
            }
            self.clock += 10;
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

    /// Applies another seed's spec to the stored CloneSet (a user's `kubectl apply`).
    fn apply(&mut self, manifest: &Value) {
        let mut api = self.api.lock().unwrap();
        let mut cs = api.objects[CS_PATH].clone();
        cs["spec"] = manifest["spec"].clone();
        cs["metadata"]["generation"] = json!(cs["metadata"]["generation"].as_i64().unwrap_or(1) + 1);
        api.put_object(CS_PATH, cs);
        api.sync(&mut self.cluster);
    }

    fn pods(&self) -> Vec<Value> {
        let api = self.api.lock().unwrap();
        api.objects.iter().filter(|(p, _)| p.starts_with(PODS)).map(|(_, o)| o.clone()).collect()
    }
}

fn workload_calls(sent: &[Sent]) -> Vec<&str> {
    sent.iter().map(|s| s.uri.as_str()).filter(|u| u.contains("/clonesets/")).collect()
}

/// Seed 01 as written: pods owned through a v1alpha1 owner reference, the status written to
/// the v1alpha1 status subresource with a v1alpha1 body; nothing addresses v1beta1.
#[tokio::test]
async fn cs_1_seed01_v1alpha1_writes_and_owner_references() {
    let mut run = Run::new(seed("01-ok.yaml"));
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
    let stored = run.api.lock().unwrap().objects[CS_PATH].clone();
    assert_eq!(
        (stored["status"]["replicas"].clone(), stored["status"]["readyReplicas"].clone()),
        (json!(3), json!(3))
    );
    assert_eq!(run.pods().len(), 3);
}

/// Seeds 01 then 04 as written (`updateStrategy.type: InPlaceIfPossible`, new image): the three
/// pods are updated in place (names and uids kept), one more is created.
#[tokio::test]
async fn cs_5_seed04_in_place_if_possible_updates_in_place() {
    let mut run = Run::new(seed("01-ok.yaml"));
    run.settle().await;
    let before = run.pods();
    run.apply(&seed("04-ok.yaml"));
    let sent = run.settle().await;
    assert!(!sent.iter().any(|s| s.method == "DELETE" && s.uri.starts_with(PODS)), "no pod recreated");
    let after = run.pods();
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
