//! The real CloneSet planner (`kruise_core::cloneset::CloneSetReconciler`) driven through the
//! adapter against kube's mock service backed by the served cluster in-process
//! (`support::served`): the API requests of the seed walk-through (create, podsToDelete,
//! in-place update), a stale cache and a 409 conflict.

mod support;

use jiff::Timestamp;
use kruise_api::apps::v1beta1::CloneSet;
use kruise_core::cloneset::CloneSetReconciler;
use kruise_kube::AdapterError;
use kruise_kube::controller::{Adapter, Report};
use serde_json::{Value, json};
use support::mock::{MockServer, Sent};
use support::served::ServedApi;
use support::{Cluster, cloneset};

const CS_PATH: &str = "/apis/apps.kruise.io/v1beta1/namespaces/default/clonesets/web";
const CLONESETS: &str = "/apis/apps.kruise.io/v1beta1/namespaces/default/clonesets";
const PODS: &str = "/api/v1/namespaces/default/pods";
const T0: i64 = 1_767_225_660;

struct Run {
    api: ServedApi,
    server: MockServer,
    cluster: Cluster,
    adapter: Adapter<CloneSetReconciler>,
    client: kube::Client,
    seen: usize,
    clock: i64,
    seed: u64,
    /// The CloneSet as the API server stored it.
    created: Value,
}

impl Run {
    async fn new(cs: &CloneSet) -> Self {
        let (api, client, server) = ServedApi::start(kruise_serve::ServeConfig::default(), T0);
        // This planner writes v1beta1 CloneSets, which our CRDs define but do not serve (CS-1).
        api.serve_version("apps.kruise.io", "clonesets", "v1beta1").await;
        let mut obj = serde_json::to_value(cs).unwrap();
        // The server assigns uid, resourceVersion and generation.
        obj["metadata"]["uid"].take();
        obj["metadata"]["resourceVersion"].take();
        let created = api.create(CLONESETS, obj).await;
        let mut cluster = Cluster::new();
        api.sync(&mut cluster).await;
        let adapter = Adapter::new("cloneset", client.clone(), CloneSetReconciler, cluster.caches.clone());
        Self { api, server, cluster, adapter, client, seen: 0, clock: T0, seed: 7, created }
    }

    /// Publishes the planner's events through a recorder on the same API server.
    fn with_events(mut self) -> Self {
        let recorder = kube::runtime::events::Recorder::new(
            self.client.clone(),
            kube::runtime::events::Reporter { controller: "kruise-rs".into(), instance: Some("op-0".into()) },
        );
        let adapter =
            Adapter::new("cloneset", self.client.clone(), CloneSetReconciler, self.cluster.caches.clone());
        self.adapter = adapter.with_events(recorder);
        self
    }

    /// One reconcile on the cache as it is; returns the result and the requests it sent.
    async fn round(&mut self) -> (Result<Report, AdapterError>, Vec<Sent>) {
        self.clock = self.api.now().await;
        self.seed += 1;
        let wl = self.cluster.caches.workloads.state()[0].clone();
        let res = self.adapter.reconcile_at(wl, Timestamp::from_second(self.clock).unwrap(), self.seed).await;
        let sent = self.server.requests();
        let new = sent[self.seen..].to_vec();
        self.seen = sent.len();
        (res, new)
    }

    /// Ten seconds pass (the scheduler and kubelets act) and the cache catches up with the
    /// API server.
    async fn catch_up(&mut self) {
        self.api.step(10).await;
        self.api.sync(&mut self.cluster).await;
    }

    /// Reconciles (catching up before each) until a reconcile sends nothing.
    async fn converge(&mut self) -> Vec<Sent> {
        let mut all = Vec::new();
        for _ in 0..20 {
            self.catch_up().await;
            let (res, sent) = self.round().await;
            res.unwrap();
            if sent.is_empty() {
                self.catch_up().await;
                return all;
            }
            all.extend(sent);
        }
        panic!("no convergence in 20 reconciles: {:?}", calls(&all));
    }

    /// Edits the stored CloneSet spec (a user's `kubectl apply`; the server bumps its
    /// generation) and the cache catches up.
    async fn edit(&mut self, f: impl FnOnce(&mut Value)) {
        let before = self.api.get(CS_PATH).await.unwrap()["metadata"]["generation"].clone();
        let after = self.api.edit(CS_PATH, f).await;
        assert_eq!(after["metadata"]["generation"], json!(before.as_i64().unwrap() + 1));
        self.api.sync(&mut self.cluster).await;
    }

    async fn pods(&self) -> Vec<Value> {
        self.api.list(PODS).await
    }

    async fn status(&self) -> Value {
        self.api.get(CS_PATH).await.unwrap()["status"].clone()
    }
}

fn calls(sent: &[Sent]) -> Vec<String> {
    sent.iter().map(|s| format!("{} {}", s.method, s.uri.split('?').next().unwrap_or_default())).collect()
}

fn names(pods: &[Value]) -> Vec<String> {
    pods.iter().map(|p| p["metadata"]["name"].as_str().unwrap_or_default().to_owned()).collect()
}

fn uid(p: &Value) -> String {
    p["metadata"]["uid"].as_str().unwrap_or_default().to_owned()
}

/// Issue 12 item 4: each created pod's event is readable on its own: three creates are three
/// events (each related to its pod), not one event with count 3 (the recorder folds repeats of
/// one reason about the same objects into a series).
#[tokio::test]
async fn events_one_per_pod_with_the_pod_as_related_object() {
    let mut run = Run::new(&cloneset("web", 3, "nginx:1.20")).await.with_events();
    let (res, sent) = run.round().await;
    res.unwrap();
    let created: Vec<String> = sent
        .iter()
        .filter(|s| s.method == "POST" && s.uri.starts_with(PODS))
        .map(|s| s.body["metadata"]["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(created.len(), 3);
    let events: Vec<&Sent> = sent.iter().filter(|s| s.uri.starts_with("/apis/events.k8s.io/")).collect();
    assert!(events.iter().all(|e| e.method == "POST"), "{:?}", calls(&sent));
    let related: Vec<String> =
        events.iter().map(|e| e.body["related"]["name"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(related, created);
    for (e, pod) in events.iter().zip(&created) {
        assert_eq!(e.body["reason"], json!("SuccessfulCreate"));
        assert_eq!(e.body["note"], json!(format!("succeed to create pod {pod}")));
        assert_eq!(e.body["related"]["kind"], json!("Pod"));
        assert_eq!(e.body["regarding"]["kind"], json!("CloneSet"));
    }
}

/// Seed 01 (CS-44, CS-87): the revision, then the three pods, then the status (PUT on the
/// status subresource with observedGeneration); a reconcile on the stale cache sends nothing;
/// once the cache catches up, the pods become Normal and the status counts them.
#[tokio::test]
async fn cs_44_seed01_revision_then_pods_then_status() {
    let mut run = Run::new(&cloneset("web", 3, "nginx:1.20")).await;
    let (res, sent) = run.round().await;
    let report = res.unwrap();
    assert_eq!(
        calls(&sent),
        [
            "POST /apis/apps/v1/namespaces/default/controllerrevisions".to_owned(),
            format!("POST {PODS}"),
            format!("POST {PODS}"),
            format!("POST {PODS}"),
            format!("PUT {CS_PATH}/status"),
        ]
    );
    let revision = sent[0].body["metadata"]["name"].clone();
    for pod in &sent[1..4] {
        assert_eq!(pod.body["metadata"]["labels"]["controller-revision-hash"], revision);
        assert_eq!(pod.body["metadata"]["ownerReferences"][0]["kind"], json!("CloneSet"));
        assert_eq!(pod.body["metadata"]["ownerReferences"][0]["controller"], json!(true));
    }
    // The status write is guarded by the resourceVersion the server gave the CloneSet.
    assert_eq!(sent[4].body["metadata"]["resourceVersion"], run.created["metadata"]["resourceVersion"]);
    assert!(sent[4].body["metadata"]["resourceVersion"].is_string());
    assert_eq!(sent[4].body["status"]["observedGeneration"], json!(1));
    assert_eq!(report.outcome.events.len(), 3);

    // Stale cache: no pods, no revision visible. Nothing is sent (CS-87).
    let (res, sent) = run.round().await;
    res.unwrap();
    assert!(sent.is_empty(), "{:?}", calls(&sent));

    run.converge().await;
    let status = run.status().await;
    assert_eq!((status["replicas"].clone(), status["readyReplicas"].clone()), (json!(3), json!(3)));
    assert_eq!(status["updateRevision"], revision);
    assert_eq!(run.pods().await.len(), 3);
    assert!(run.adapter.expectations().is_empty());
}

/// Seed 03 (CS-35, CS-55): replicas 2 and podsToDelete: exactly the named pod is deleted
/// (uid precondition), then the list is cleared with a JSON patch on the spec that tests it
/// first (issue 12 item 6).
#[tokio::test]
async fn cs_35_seed03_deletes_exactly_the_named_pod() {
    let mut run = Run::new(&cloneset("web", 3, "nginx:1.20")).await;
    run.converge().await;
    let before = run.pods().await;
    let victim = names(&before)[1].clone();
    let victim_uid = uid(&before[1]);
    let v = victim.clone();
    run.edit(move |s| {
        s["replicas"] = json!(2);
        s["scaleStrategy"]["podsToDelete"] = json!([v]);
    })
    .await;
    let sent = run.converge().await;
    let deletes: Vec<&Sent> = sent.iter().filter(|s| s.method == "DELETE").collect();
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].uri.split('?').next(), Some(format!("{PODS}/{victim}").as_str()));
    // Guarded by the uid the server gave the pod.
    assert_eq!(deletes[0].body, json!({"preconditions": {"uid": victim_uid}}));
    assert_eq!(calls(&sent)[0], format!("DELETE {PODS}/{victim}"));
    let clear =
        sent.iter().find(|s| s.method == "PATCH" && s.uri.starts_with(&format!("{CS_PATH}?"))).unwrap();
    // Issue 12 item 6: the user's list is replaced only if it still is what the plan read.
    assert_eq!(clear.content_type.as_deref(), Some("application/json-patch+json"));
    assert_eq!(
        clear.body,
        json!([{"op": "test", "path": "/spec/scaleStrategy/podsToDelete", "value": [victim]},
            {"op": "replace", "path": "/spec/scaleStrategy/podsToDelete", "value": []}])
    );
    let kept: Vec<String> = names(&before).into_iter().filter(|n| *n != victim).collect();
    assert_eq!(names(&run.pods().await), kept);
}

/// Seed 04 (CS-70, CS-71): an in-place update, pod by pod: the InPlaceUpdateReady=False
/// status patch (testing the resourceVersion read), then a patch of only what changes on the pod.
/// Pods keep their names and uids; the container restarts with the new image.
#[tokio::test]
async fn cs_70_seed04_in_place_update_keeps_pods() {
    let mut run = Run::new(&cloneset("web", 2, "nginx:1.20")).await;
    run.converge().await;
    let before = run.pods().await;
    run.edit(|s| {
        s["updateStrategy"]["rollingUpdate"]["podUpdatePolicy"] = json!("InPlaceIfPossible");
        s["template"]["spec"]["containers"][0]["image"] = json!("nginx:latest");
    })
    .await;
    let sent = run.converge().await;
    for pod in names(&before) {
        let path = format!("{PODS}/{pod}");
        let patch = |s: &&Sent, status: bool| {
            s.method == "PATCH"
                && s.content_type.as_deref() == Some("application/json-patch+json")
                && s.uri.starts_with(&format!("{path}{}?", if status { "/status" } else { "" }))
        };
        let gate = sent.iter().position(|s| patch(&s, true)).unwrap();
        let write = sent.iter().position(|s| patch(&s, false)).unwrap();
        assert!(gate < write, "{pod}: condition before the pod write");
        let ops = sent[gate].body.as_array().unwrap();
        // The plan's first write to the pod tests the resourceVersion it read (issue 12 item 8:
        // the pod write that follows chains on it instead of carrying the cached version).
        assert!(ops.iter().any(|o| o["op"] == "test" && o["path"] == "/metadata/resourceVersion"), "{ops:?}");
        assert!(ops.iter().any(|o| o["value"] == "InPlaceUpdateReady"), "{ops:?}");
        let ops = sent[write].body.as_array().unwrap();
        assert!(ops.iter().all(|o| o["path"] != "/metadata/resourceVersion"), "{ops:?}");
        // Issue 12 item 7: only what changes, the old image tested first.
        assert!(
            ops.contains(&json!({"op": "test", "path": "/spec/containers/0/image", "value": "nginx:1.20"}))
        );
        assert!(ops.contains(
            &json!({"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:latest"})
        ));
        assert!(
            ops.iter().all(|o| o["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("/metadata/") || p.starts_with("/spec/containers/0/"))),
            "{ops:?}"
        );
    }
    let after = run.pods().await;
    assert_eq!(names(&after), names(&before));
    assert_eq!(after.iter().map(uid).collect::<Vec<_>>(), before.iter().map(uid).collect::<Vec<_>>());
    for p in &after {
        assert_eq!(p["spec"]["containers"][0]["image"], json!("nginx:latest"));
        assert_eq!(p["status"]["containerStatuses"][0]["restartCount"], json!(1));
    }
}

/// Someone else changes the pod after the cache saw it: the guarded write gets 409, the plan
/// stops (nothing after it is sent), and the retry on the fresher cache completes the update.
#[tokio::test]
async fn conflict_409_on_a_stale_pod_is_retried_on_a_fresh_cache() {
    let mut run = Run::new(&cloneset("web", 1, "nginx:1.20")).await;
    run.converge().await;
    run.edit(|s| {
        s["updateStrategy"]["rollingUpdate"]["podUpdatePolicy"] = json!("InPlaceIfPossible");
        s["template"]["spec"]["containers"][0]["image"] = json!("nginx:latest");
    })
    .await;
    // Another actor labels the pod; the cache does not show it yet.
    let pod = run.pods().await[0].clone();
    let path = format!("{PODS}/{}", pod["metadata"]["name"].as_str().unwrap());
    run.api.merge(&path, &json!({"metadata": {"labels": {"team": "a"}}})).await;
    let mut conflict = None;
    for _ in 0..3 {
        let (res, sent) = run.round().await;
        if let Err(e) = res {
            assert!(matches!(e, AdapterError::Conflict { .. }), "{e}");
            assert!(sent.last().is_some_and(|s| s.uri.starts_with(PODS)), "{:?}", calls(&sent));
            conflict = Some(e);
            break;
        }
    }
    let err = conflict.expect("a 409 conflict");
    assert!(err.is_transient());
    run.converge().await;
    let pod = &run.pods().await[0];
    assert_eq!(pod["spec"]["containers"][0]["image"], json!("nginx:latest"));
    assert_eq!(pod["metadata"]["labels"]["team"], json!("a"), "the other actor's change survives");
}
