//! The one in-memory cluster of the adapter's tests: kruise-serve in-process
//! ([`kruise_serve::InProcess`]: the simulator's API store with resourceVersions, uid
//! preconditions, merge and JSON patches, owner references and garbage collection, its
//! scheduler and kubelets, served through the same Kubernetes API as `kruise serve`) on a clock
//! the test moves. Kube's mock service records each request the adapter sends ([`Sent`]) and
//! forwards it there. "The kubelet acts" is the virtual clock moving ([`ServedApi::step`]);
//! "the cache catches up" is the store listed into the adapter's caches ([`ServedApi::sync`]).
//! What a test does as a user or another actor (seeding objects, editing a spec, reading
//! the truth) goes to the same API without being recorded.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use kruise_kube::controller::Adapter;
use kruise_serve::{InProcess, ServeConfig};
use kruise_sim::time::EPOCH_SECONDS;
use serde_json::{Value, json};

use super::mock::{MockServer, Reply, Sent};
use super::{Cluster, WorkloadType};

/// A served cluster behind the recording mock service.
#[derive(Clone)]
pub struct ServedApi {
    inner: Arc<InProcess>,
}

fn request(method: &str, uri: &str, content_type: Option<&str>, body: Vec<u8>) -> http::Request<Bytes> {
    let mut b = http::Request::builder().method(method).uri(uri);
    if let Some(ct) = content_type {
        b = b.header(http::header::CONTENT_TYPE, ct);
    }
    b.body(Bytes::from(body)).expect("a valid request")
}

impl ServedApi {
    /// The cluster `config` describes with its clock at `t0` (unix seconds, at or after
    /// 2026-01-01), and a client whose requests the returned mock server records and
    /// forwards to it.
    pub fn start(config: ServeConfig, t0: i64) -> (Self, kube::Client, MockServer) {
        let ms = u64::try_from((t0 - EPOCH_SECONDS) * 1000).expect("t0 at or after the epoch");
        let api = Self { inner: Arc::new(InProcess::start(config, ms).expect("the cluster starts")) };
        let forward = api.clone();
        let (client, server) = MockServer::start_async(move |s: &Sent| {
            let api = forward.clone();
            let req = request(&s.method, &s.uri, s.content_type.as_deref(), s.raw.clone());
            async move { api.answer(req).await }
        });
        (api, client, server)
    }

    async fn answer(&self, req: http::Request<Bytes>) -> Reply {
        let resp = self.inner.handle(req).await;
        let status = resp.status().as_u16();
        let bytes = resp.into_body().collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Reply { status, body }
    }

    /// One request as a user or another actor sends it (not recorded).
    pub async fn call(&self, method: &str, uri: &str, content_type: &str, body: &Value) -> Reply {
        let bytes = if body.is_null() { Vec::new() } else { serde_json::to_vec(body).unwrap() };
        self.answer(request(method, uri, Some(content_type), bytes)).await
    }

    /// Creates `obj` in `collection` (`/api/v1/namespaces/default/pods`); returns it as stored.
    pub async fn create(&self, collection: &str, obj: Value) -> Value {
        let r = self.call("POST", collection, "application/json", &obj).await;
        assert_eq!(r.status, 201, "create in {collection}: {}", r.body);
        r.body
    }

    /// The object at `path`, if any.
    pub async fn get(&self, path: &str) -> Option<Value> {
        let r = self.call("GET", path, "application/json", &Value::Null).await;
        (r.status == 200).then_some(r.body)
    }

    /// The objects of a collection, in the store's order (by namespace and name).
    pub async fn list(&self, collection: &str) -> Vec<Value> {
        let r = self.call("GET", collection, "application/json", &Value::Null).await;
        assert_eq!(r.status, 200, "list {collection}: {}", r.body);
        r.body["items"].as_array().cloned().unwrap_or_default()
    }

    /// The objects of a collection; none if the cluster does not serve the resource.
    pub async fn list_served(&self, collection: &str) -> Vec<Value> {
        let r = self.call("GET", collection, "application/json", &Value::Null).await;
        if r.status == 404 {
            return Vec::new();
        }
        assert_eq!(r.status, 200, "list {collection}: {}", r.body);
        r.body["items"].as_array().cloned().unwrap_or_default()
    }

    /// Replaces the object at `path` (the subresource if `path` names one).
    pub async fn update(&self, path: &str, obj: &Value) -> Value {
        let r = self.call("PUT", path, "application/json", obj).await;
        assert_eq!(r.status, 200, "update {path}: {}", r.body);
        r.body
    }

    /// Merge-patches the object at `path`.
    pub async fn merge(&self, path: &str, patch: &Value) -> Value {
        let r = self.call("PATCH", path, "application/merge-patch+json", patch).await;
        assert_eq!(r.status, 200, "patch {path}: {}", r.body);
        r.body
    }

    /// A user edits the spec of the object at `path` (`kubectl apply`); the store bumps its
    /// generation.
    pub async fn edit(&self, path: &str, f: impl FnOnce(&mut Value)) -> Value {
        let mut obj = self.get(path).await.unwrap_or_else(|| panic!("{path} exists"));
        f(&mut obj["spec"]);
        self.update(path, &obj).await
    }

    /// Serves `version` of the custom resource `plural.group` too (an edit of its
    /// CustomResourceDefinition): our CRDs serve some kinds as v1alpha1 only (CS-1), while a
    /// test may drive a planner that writes another version.
    pub async fn serve_version(&self, group: &str, plural: &str, version: &str) {
        let path = format!("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{plural}.{group}");
        let mut crd = self.get(&path).await.unwrap_or_else(|| panic!("{path} exists"));
        let versions = crd["spec"]["versions"].as_array_mut().expect("versions");
        let v = versions.iter_mut().find(|v| v["name"] == version).expect("the version is defined");
        v["served"] = json!(true);
        self.update(&path, &crd).await;
    }

    /// Installs a CustomResourceDefinition for a kind our CRDs do not define (a cluster with
    /// the Gateway API, say): `versions` served, the first one stored, a status subresource.
    pub async fn install_crd(
        &self,
        group: &str,
        kind: &str,
        plural: &str,
        versions: &[&str],
        namespaced: bool,
    ) {
        let versions: Vec<Value> = versions
            .iter()
            .enumerate()
            .map(|(i, v)| {
                json!({"name": v, "served": true, "storage": i == 0, "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}})
            })
            .collect();
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("{plural}.{group}")},
            "spec": {"group": group, "scope": if namespaced { "Namespaced" } else { "Cluster" },
                "names": {"kind": kind, "plural": plural, "singular": kind.to_ascii_lowercase(),
                    "listKind": format!("{kind}List")},
                "versions": versions}
        });
        self.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd).await;
    }

    /// A node joins (Ready, default capacity).
    pub async fn add_node(&self, name: &str) -> Value {
        let node = kruise_sim::cluster::NodeSpec { name: name.into(), ..Default::default() }.to_object();
        self.create("/api/v1/nodes", node).await
    }

    /// The nodes the pods of `collection` are bound to, sorted (`""` for a pod not bound).
    pub async fn pod_nodes(&self, collection: &str) -> Vec<String> {
        let mut on: Vec<String> = self
            .list(collection)
            .await
            .iter()
            .map(|p| p["spec"]["nodeName"].as_str().unwrap_or_default().to_owned())
            .collect();
        on.sort();
        on
    }

    /// Ten seconds pass, node `name` joins, and `cluster`'s caches catch up. Returns the clock.
    pub async fn node_joins<W: WorkloadType>(&self, name: &str, cluster: &mut Cluster<W>) -> i64 {
        let clock = self.step(10).await;
        self.add_node(name).await;
        self.sync(cluster).await;
        clock
    }

    /// The virtual clock, in unix seconds.
    pub async fn now(&self) -> i64 {
        let ms = self.inner.now().await.expect("the cluster runs");
        EPOCH_SECONDS + i64::try_from(ms / 1000).unwrap_or(0)
    }

    /// Moves the clock `secs` seconds ahead: the scheduler and the kubelets do what is due by
    /// then (bind, pull, start, ready, restart in place, terminate). Returns the new time.
    pub async fn step(&self, secs: u64) -> i64 {
        self.inner.step(Duration::from_secs(secs)).await.expect("a manual clock");
        self.now().await
    }

    /// The cache catches up: every pod, revision, claim and node of the store and every
    /// workload of type `W` (at `W`'s version) is listed into `cluster`'s caches (pods the
    /// store no longer has leave the cache). Returns the last workload listed.
    pub async fn sync<W: WorkloadType>(&self, cluster: &mut Cluster<W>) -> Option<W> {
        let cached: Vec<Pod> = cluster.caches.pods.objects().state().iter().map(|p| (**p).clone()).collect();
        for p in cached {
            cluster.delete_pod(&p);
        }
        for p in self.list("/api/v1/pods").await {
            cluster.apply_pod(&serde_json::from_value::<Pod>(p).expect("a pod"));
        }
        for r in self.list("/apis/apps/v1/controllerrevisions").await {
            cluster.apply_revision(&serde_json::from_value::<ControllerRevision>(r).expect("a revision"));
        }
        for c in self.list("/api/v1/persistentvolumeclaims").await {
            cluster.apply_pvc(&serde_json::from_value::<PersistentVolumeClaim>(c).expect("a claim"));
        }
        for n in self.list("/api/v1/nodes").await {
            cluster.apply_node(&serde_json::from_value::<Node>(n).expect("a node"));
        }
        let mut last = None;
        for w in self.list(&W::url_path(&(), None)).await {
            let w: W = serde_json::from_value(w).expect("a workload");
            cluster.apply_workload(&w);
            last = Some(w);
        }
        last
    }
}

/// A cluster without nodes (node-targeting tests add theirs through the API).
pub fn no_nodes() -> ServeConfig {
    ServeConfig::default().with_nodes(0)
}

/// `(method, path)` of each request (query dropped), for assertions and failure messages.
pub fn calls(sent: &[Sent]) -> Vec<(String, String)> {
    sent.iter().map(|s| (s.method.clone(), s.uri.split('?').next().unwrap_or_default().to_owned())).collect()
}

/// The node a pod is pinned to by `requiredDuringScheduling` node affinity on
/// `metadata.name` (how DaemonSet and BroadcastJob pods target their node).
pub fn pinned_node(pod: &Value) -> Option<&str> {
    pod.pointer(
        "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchFields/0/values/0",
    )
    .and_then(Value::as_str)
}

impl ServedApi {
    /// Runs `rounds` of: 10 s pass (the scheduler and kubelets act), the cache catches up, one
    /// reconcile (id seed 7). Returns the clock.
    pub async fn settle<W, R>(&self, cluster: &mut Cluster<W>, adapter: &Adapter<R>, rounds: usize) -> i64
    where
        W: WorkloadType + kruise_kube::controller::Workload,
        R: kruise_core::reconciler::Reconciler<Workload = W>,
    {
        let mut clock = self.now().await;
        for _ in 0..rounds {
            clock = self.step(10).await;
            self.sync(cluster).await;
            let wl = cluster.caches.workloads.state()[0].clone();
            adapter.reconcile_at(wl, Timestamp::from_second(clock).expect("a valid time"), 7).await.unwrap();
        }
        clock
    }

    /// Node `name` joins, the cache catches up, and one reconcile (id seed 9) runs: returns
    /// the requests that reconcile sent through `server`.
    pub async fn reconcile_after_node_joins<W, R>(
        &self,
        name: &str,
        cluster: &mut Cluster<W>,
        adapter: &Adapter<R>,
        server: &MockServer,
    ) -> Vec<Sent>
    where
        W: WorkloadType + kruise_kube::controller::Workload,
        R: kruise_core::reconciler::Reconciler<Workload = W>,
    {
        let clock = self.node_joins(name, cluster).await;
        let before = server.requests().len();
        let wl = cluster.caches.workloads.state()[0].clone();
        adapter.reconcile_at(wl, Timestamp::from_second(clock).expect("a valid time"), 9).await.unwrap();
        server.requests()[before..].to_vec()
    }
}

/// `{"preconditions": {"uid": uid}}`: the body of a guarded delete.
pub fn uid_precondition(uid: &str) -> Value {
    json!({"preconditions": {"uid": uid}})
}
