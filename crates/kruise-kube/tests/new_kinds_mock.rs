//! The SidecarSet, BroadcastJob, ImagePullJob and Rollout planners driven through the generic
//! adapter against the in-memory API server (issues 15, 16, 17, operator part): the requests a
//! reconcile sends, with their bodies, and the related objects handed over from dynamic
//! caches.

mod support;

use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Node, Pod};
use kruise_api::apps::{v1alpha1, v1beta1};
use kruise_core::reconciler::{Reconciler, RelatedKind};
use kruise_kube::controller::Adapter;
use kruise_kube::related::{RelatedCaches, Source};
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher::Event;
use serde_json::{Value, json};
use support::Cluster;
use support::fake::FakeApi;
use support::mock::{MockServer, Sent};

const T0: i64 = 1_767_225_660;
const PODS: &str = "/api/v1/namespaces/default/pods";

/// Related caches filled from the fake API server's objects, as the dynamic watches would.
struct RelatedFake {
    entries: Vec<(RelatedKind, ApiResource, Writer<DynamicObject>)>,
    caches: RelatedCaches,
}

impl RelatedFake {
    /// One cache per related kind of `reconciler`, each served at the version `served` names
    /// for it (else the kind's own); pods come from the pod cache.
    fn new<R: Reconciler>(reconciler: &R, served: &[(&str, &str)]) -> Self {
        let mut entries = Vec::new();
        let mut caches = RelatedCaches::new();
        for kind in reconciler.related_kinds() {
            if kind.group.is_empty() && kind.kind == "Pod" {
                caches = caches.with(*kind, Source::PodCache);
                continue;
            }
            let version = served.iter().find(|(k, _)| *k == kind.kind).map_or(kind.version, |(_, v)| *v);
            let api_version =
                if kind.group.is_empty() { version.to_owned() } else { format!("{}/{version}", kind.group) };
            let ar = ApiResource {
                group: kind.group.into(),
                version: version.into(),
                api_version,
                kind: kind.kind.into(),
                plural: kind.plural.into(),
            };
            let writer = Writer::new(ar.clone());
            caches = caches.with(*kind, Source::Stores(ar.clone(), vec![writer.as_reader()]));
            entries.push((*kind, ar, writer));
        }
        Self { entries, caches }
    }

    /// Relists every cache from `api` (objects of the kind and group, any version).
    fn sync(&mut self, api: &FakeApi) {
        for (kind, _, writer) in &mut self.entries {
            writer.apply_watcher_event(&Event::Init);
            for obj in api.objects.values().filter(|o| kind.matches(o)) {
                if let Ok(d) = serde_json::from_value::<DynamicObject>(obj.clone()) {
                    writer.apply_watcher_event(&Event::InitApply(d));
                }
            }
            writer.apply_watcher_event(&Event::InitDone);
        }
    }
}

fn node(name: &str) -> Node {
    serde_json::from_value(json!({
        "metadata": {"name": name, "resourceVersion": "1", "labels": {"kubernetes.io/hostname": name}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
                   "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}
    }))
    .unwrap()
}

fn calls(sent: &[Sent]) -> Vec<(String, String)> {
    sent.iter().map(|s| (s.method.clone(), s.uri.split('?').next().unwrap_or_default().to_owned())).collect()
}

const BJ_PATH: &str = "/apis/apps.kruise.io/v1beta1/namespaces/default/broadcastjobs/warm-up";

fn broadcastjob() -> Value {
    json!({
        "apiVersion": "apps.kruise.io/v1beta1",
        "kind": "BroadcastJob",
        "metadata": {"name": "warm-up", "namespace": "default", "uid": "uid-bj", "generation": 1},
        "spec": {
            "template": {
                "metadata": {"labels": {"app": "warm-up"}},
                "spec": {"containers": [{"name": "main", "image": "busybox:1"}], "restartPolicy": "Never"}
            },
            "completionPolicy": {"type": "Never"}
        }
    })
}

/// BJ (nodes joining) through the operator: a BroadcastJob with completion policy `Never` runs
/// one pod on node `n-1`; node `n-2` joins; the next reconcile creates exactly one pod, pinned
/// to `n-2` by node affinity and owned by the job, and the status counts two desired pods.
#[tokio::test]
async fn bj_operator_node_joins_and_gets_one_pod() {
    let api: Arc<Mutex<FakeApi>> = FakeApi::shared();
    api.lock().unwrap().put_object(BJ_PATH, broadcastjob());
    let handler = api.clone();
    let (client, server) = MockServer::start_with(move |s| handler.lock().unwrap().handle(s));
    let mut cluster = Cluster::<v1beta1::BroadcastJob>::with_workload();
    api.lock().unwrap().sync(&mut cluster).expect("the BroadcastJob reads as v1beta1");
    cluster.apply_node(&node("n-1"));
    let adapter = Adapter::new(
        "broadcastjob",
        client,
        kruise_core::broadcastjob::BroadcastJobReconciler,
        cluster.caches.clone(),
    );
    let mut clock = T0;
    for _ in 0..4 {
        {
            let mut a = api.lock().unwrap();
            a.kubelet();
            a.sync(&mut cluster);
        }
        clock += 10;
        let wl = cluster.caches.workloads.state()[0].clone();
        adapter.reconcile_at(wl, Timestamp::from_second(clock).unwrap(), 7).await.unwrap();
    }
    let pods_on = |api: &FakeApi| -> Vec<String> {
        let mut on: Vec<String> = api
            .objects
            .iter()
            .filter(|(p, _)| p.starts_with(&format!("{PODS}/")))
            .map(|(_, o)| o["spec"]["nodeName"].as_str().unwrap_or_default().to_owned())
            .collect();
        on.sort();
        on
    };
    assert_eq!(pods_on(&api.lock().unwrap()), ["n-1"]);

    // n-2 joins.
    {
        let mut a = api.lock().unwrap();
        a.kubelet();
        a.sync(&mut cluster);
    }
    cluster.apply_node(&node("n-2"));
    let before = server.requests().len();
    let wl = cluster.caches.workloads.state()[0].clone();
    adapter.reconcile_at(wl, Timestamp::from_second(clock + 10).unwrap(), 9).await.unwrap();
    let sent: Vec<Sent> = server.requests()[before..].to_vec();
    let creates: Vec<&Sent> = sent.iter().filter(|s| s.method == "POST" && s.uri.starts_with(PODS)).collect();
    assert_eq!(creates.len(), 1, "{:#?}", calls(&sent));
    let pod = &creates[0].body;
    let pinned = pod.pointer(
        "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchFields/0/values/0",
    );
    assert_eq!(pinned, Some(&json!("n-2")), "{pod}");
    let owner = &pod["metadata"]["ownerReferences"][0];
    assert_eq!(
        (owner["kind"].clone(), owner["uid"].clone(), owner["controller"].clone()),
        (json!("BroadcastJob"), json!("uid-bj"), json!(true))
    );
    let status = sent.iter().find(|s| s.method == "PUT" && s.uri.starts_with(&format!("{BJ_PATH}/status")));
    let status = status.expect("the status is written");
    assert_eq!(status.body["status"]["desired"], json!(2), "{}", status.body);
    {
        let mut a = api.lock().unwrap();
        a.kubelet();
        assert_eq!(pods_on(&a), ["n-1", "n-2"]);
    }
    server.stop();
}

const IPJ_PATH: &str = "/apis/apps.kruise.io/v1beta1/namespaces/default/imagepulljobs/pull-nginx";
const NI_ALPHA: &str = "/apis/apps.kruise.io/v1alpha1/nodeimages";

/// IPJ through the operator: an ImagePullJob over two NodeImages that the cluster serves as
/// v1alpha1 only (our CRDs); the NodeImages reach the planner from the related caches, and it
/// writes the image into each NodeImage's `spec.images` with a resourceVersion-guarded merge
/// patch addressed to v1alpha1, then reports the job's status.
#[tokio::test]
async fn ipj_operator_writes_the_image_into_node_images() {
    let api: Arc<Mutex<FakeApi>> = FakeApi::shared();
    {
        let mut a = api.lock().unwrap();
        a.put_object(
            IPJ_PATH,
            json!({
                "apiVersion": "apps.kruise.io/v1beta1", "kind": "ImagePullJob",
                "metadata": {"name": "pull-nginx", "namespace": "default", "uid": "uid-ipj", "generation": 1,
                             "finalizers": [kruise_api::keys::DELETION_PROTECTION_FINALIZER]},
                "spec": {"image": "nginx:1.25", "parallelism": 2, "completionPolicy": {"type": "Never"}}
            }),
        );
        for n in ["nœud-1", "nœud-2"] {
            a.put_object(
                &format!("{NI_ALPHA}/{n}"),
                json!({"apiVersion": "apps.kruise.io/v1alpha1", "kind": "NodeImage",
                       "metadata": {"name": n, "uid": format!("uid-{n}")}, "spec": {}}),
            );
        }
    }
    let handler = api.clone();
    let (client, server) = MockServer::start_with(move |s| handler.lock().unwrap().handle(s));
    let mut cluster = Cluster::<v1beta1::ImagePullJob>::with_workload();
    api.lock().unwrap().sync(&mut cluster).expect("the ImagePullJob reads as v1beta1");
    let reconciler = kruise_core::imagepulljob::ImagePullJobReconciler::default();
    let mut related = RelatedFake::new(&reconciler, &[("NodeImage", "v1alpha1")]);
    related.sync(&api.lock().unwrap());
    let adapter = Adapter::new("imagepulljob", client, reconciler, cluster.caches.clone())
        .with_related(related.caches.clone());

    let wl = cluster.caches.workloads.state()[0].clone();
    adapter.reconcile_at(wl, Timestamp::from_second(T0).unwrap(), 3).await.unwrap();
    let sent = server.requests();
    let ni_patches: Vec<&Sent> =
        sent.iter().filter(|s| s.method == "PATCH" && s.uri.starts_with(NI_ALPHA)).collect();
    assert_eq!(ni_patches.len(), 2, "{:#?}", calls(&sent));
    for p in &ni_patches {
        assert!(p.body["metadata"]["resourceVersion"].is_string(), "guarded: {}", p.body);
        let tags = &p.body["spec"]["images"]["nginx"]["tags"];
        assert_eq!(tags[0]["tag"], json!("1.25"), "{}", p.body);
    }
    assert!(sent.iter().all(|s| !s.uri.contains("/v1beta1/nodeimages")), "v1beta1 NodeImages are not served");
    let objects = api.lock().unwrap().objects.clone();
    for n in ["nœud-1", "nœud-2"] {
        let ni = &objects[&format!("{NI_ALPHA}/{n}")];
        assert_eq!(ni["spec"]["images"]["nginx"]["tags"][0]["tag"], json!("1.25"), "{ni}");
    }
    let status = sent.iter().find(|s| s.method == "PUT" && s.uri.starts_with(&format!("{IPJ_PATH}/status")));
    let status = status.expect("the job's status is written");
    assert_eq!(status.body["status"]["desired"], json!(2), "{}", status.body);
    server.stop();
}

const SS_PATH: &str = "/apis/apps.kruise.io/v1alpha1/sidecarsets/log-agent";
const TEAM_PODS: &str = "/api/v1/namespaces/team-a/pods";

fn sidecarset_v1beta1(image: &str) -> v1beta1::SidecarSet {
    let mut ss: v1beta1::SidecarSet = serde_json::from_value(json!({
        "apiVersion": "apps.kruise.io/v1beta1", "kind": "SidecarSet",
        "metadata": {"name": "log-agent", "uid": "uid-ss", "generation": 1},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "containers": [{"name": "log", "image": image}],
            "updateStrategy": {"type": "RollingUpdate"}
        }
    }))
    .unwrap();
    kruise_api::defaults::default(&mut ss);
    ss
}

/// SCS (in-place sidecar upgrade) through the operator: a v1alpha1 SidecarSet (cluster-scoped,
/// as our CRDs serve it) whose pod in namespace `team-a` was admitted with `log:1`; the
/// SidecarSet moves to `log:2`. The pod reaches the planner by selector (it is owned by a
/// CloneSet, not by the SidecarSet), and the reconcile upgrades its sidecar image in place with
/// a JSON patch whose `test` operations guard the pod's uid and resourceVersion; nothing
/// addresses the unserved v1beta1 SidecarSet.
#[tokio::test]
async fn scs_operator_upgrades_a_matched_pod_in_place() {
    let api: Arc<Mutex<FakeApi>> = FakeApi::shared();
    let admitted = {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web-1", "namespace": "team-a", "labels": {"app": "web"},
                         "ownerReferences": [{"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
                                              "name": "web", "uid": "uid-web", "controller": true}]},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1"}]}
        }))
        .unwrap();
        let old = sidecarset_v1beta1("log:1");
        let inj = kruise_core::sidecarset::inject(&kruise_core::sidecarset::InjectInput {
            pod: &pod,
            operation: kruise_core::sidecarset::Operation::Create,
            namespace_labels: None,
            sidecarsets: std::slice::from_ref(&old),
            revisions: &[],
            now: Timestamp::from_second(T0).unwrap(),
            seed: 0,
            features: Default::default(),
        })
        .unwrap();
        inj.pod
    };
    let names: Vec<&str> =
        admitted.spec.iter().flat_map(|s| &s.containers).map(|c| c.name.as_str()).collect();
    assert!(names.contains(&"log"), "{names:?}");
    {
        let mut a = api.lock().unwrap();
        let mut stored = serde_json::to_value(&admitted).unwrap();
        stored["metadata"]["uid"] = json!("uid-web-1");
        a.put_object(&format!("{TEAM_PODS}/web-1"), stored);
        a.kubelet();
        let mut ss =
            serde_json::to_value(kruise_api::convert::sidecarset_to_v1alpha1(&sidecarset_v1beta1("log:2")))
                .unwrap();
        ss["apiVersion"] = json!("apps.kruise.io/v1alpha1");
        ss["kind"] = json!("SidecarSet");
        // As stored: no hash annotations (the adapter's defaulting computes them).
        ss["metadata"]["annotations"] = json!(null);
        a.put_object(SS_PATH, ss);
    }
    let handler = api.clone();
    let (client, server) = MockServer::start_with(move |s| handler.lock().unwrap().handle(s));
    let mut cluster = Cluster::<v1alpha1::SidecarSet>::with_workload();
    api.lock().unwrap().sync(&mut cluster).expect("the SidecarSet reads as v1alpha1");
    let reconciler = kruise_core::sidecarset::SidecarSetV1Alpha1Reconciler;
    let mut related = RelatedFake::new(&reconciler, &[]);
    related.sync(&api.lock().unwrap());
    let adapter = Adapter::new("sidecarset", client, reconciler, cluster.caches.clone())
        .with_related(related.caches.clone());

    let mut clock = T0;
    let mut upgrade = None;
    for _ in 0..4 {
        clock += 10;
        let before = server.requests().len();
        let wl = cluster.caches.workloads.state()[0].clone();
        adapter.reconcile_at(wl, Timestamp::from_second(clock).unwrap(), 5).await.unwrap();
        let sent = server.requests()[before..].to_vec();
        if upgrade.is_none() {
            upgrade = sent
                .iter()
                .find(|s| s.method == "PATCH" && s.uri.starts_with(&format!("{TEAM_PODS}/web-1")))
                .cloned();
        }
        assert!(sent.iter().all(|s| !s.uri.contains("/v1beta1/sidecarsets")), "{:#?}", calls(&sent));
        let mut a = api.lock().unwrap();
        a.kubelet();
        a.sync(&mut cluster);
        related.sync(&a);
    }
    let upgrade = upgrade.unwrap_or_else(|| panic!("no pod patch: {:#?}", calls(&server.requests())));
    assert_eq!(upgrade.content_type.as_deref(), Some("application/json-patch+json"));
    let ops = upgrade.body.as_array().cloned().unwrap_or_default();
    let tested = |path: &str| ops.iter().any(|o| o["op"] == "test" && o["path"] == path);
    assert!(tested("/metadata/uid") && tested("/metadata/resourceVersion"), "{}", upgrade.body);
    assert!(
        ops.iter().any(|o| o["op"] == "replace" && o["value"] == json!("log:2")),
        "the sidecar image is replaced: {}",
        upgrade.body
    );
    let objects = api.lock().unwrap().objects.clone();
    let pod = &objects[&format!("{TEAM_PODS}/web-1")];
    let images: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["image"].as_str())
        .collect();
    assert!(images.contains(&"log:2") && images.contains(&"nginx:1"), "{images:?}");
    assert_eq!(pod["metadata"]["uid"], json!("uid-web-1"), "upgraded in place, not recreated");
    let status = objects[SS_PATH]["status"].clone();
    assert_eq!(status["matchedPods"], json!(1), "{status}");
    server.stop();
}

/// The CloneSet controller, as far as a Rollout sees it: `replicas - partition` pods (by name)
/// run the update revision `bbb` and are counted as updated and ready.
fn cloneset_controller(api: &mut FakeApi) {
    let cs = api.objects[CS_ALPHA].clone();
    let Some(partition) = cs["spec"]["updateStrategy"]["partition"].as_i64() else { return };
    let replicas = cs["spec"]["replicas"].as_i64().unwrap_or(0);
    let updated = (replicas - partition).max(0);
    let mut changed = false;
    for i in 0..replicas {
        let path = format!("{PODS}/web-{i}");
        let Some(mut pod) = api.objects.get(&path).cloned() else { continue };
        let (hash, image) = if i < updated { ("bbb", "b") } else { ("aaa", "a") };
        if pod["metadata"]["labels"][kruise_api::keys::POD_TEMPLATE_HASH] != json!(hash) {
            pod["metadata"]["labels"][kruise_api::keys::POD_TEMPLATE_HASH] = json!(hash);
            pod["spec"]["containers"][0]["image"] = json!(image);
            api.put_object(&path, pod);
            changed = true;
        }
    }
    if changed || cs["status"]["updatedReplicas"] != json!(updated) {
        let mut cs = cs;
        cs["status"]["updatedReplicas"] = json!(updated);
        cs["status"]["updatedReadyReplicas"] = json!(updated);
        api.put_object(CS_ALPHA, cs);
    }
}

const RO_PATH: &str = "/apis/rollouts.kruise.io/v1alpha1/namespaces/default/rollouts/web";
const CS_ALPHA: &str = "/apis/apps.kruise.io/v1alpha1/namespaces/default/clonesets/web";
const ROUTE: &str = "/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/web";
const SERVICES: &str = "/api/v1/namespaces/default/services";

fn cloneset_v1alpha1(release: bool) -> Value {
    let mut cs = json!({
        "apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
        "metadata": {"name": "web", "namespace": "default", "uid": "cs-uid", "generation": 1},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "a"}]}}},
        "status": {"observedGeneration": 1, "replicas": 4, "updatedReplicas": 4, "updatedReadyReplicas": 4,
                   "readyReplicas": 4, "availableReplicas": 4, "currentRevision": "web-aaa", "updateRevision": "web-aaa"}
    });
    if release {
        // The template moved to web-bbb; the Rollout's workload webhook froze it (RO-19).
        cs["metadata"]["generation"] = json!(2);
        cs["metadata"]["annotations"] =
            json!({(kruise_api::keys::ROLLOUT_IN_PROGRESSING): r#"{"rolloutName":"web"}"#});
        cs["spec"]["template"]["spec"]["containers"][0]["image"] = json!("b");
        cs["spec"]["updateStrategy"] = json!({"partition": "100%"});
        cs["status"]["observedGeneration"] = json!(2);
        cs["status"]["updateRevision"] = json!("web-bbb");
        cs["status"]["updatedReplicas"] = json!(0);
        cs["status"]["updatedReadyReplicas"] = json!(0);
    }
    cs
}

/// RO (first step) through the operator: a v1alpha1 Rollout (as our CRDs serve it) over a
/// v1alpha1 CloneSet, with a Gateway API HTTPRoute in front of the Service `web`. Every object
/// reaches the planner from the related caches (the CloneSet at the version the cluster
/// serves, pods from the pod cache). Once the CloneSet's template changes, the reconciles of
/// the first step create the BatchRelease owned by the Rollout, write the CloneSet's
/// partition with a uid- and resourceVersion-guarded merge patch to the served v1alpha1
/// resource, create the canary Service and route 5% of the HTTPRoute's traffic to it, and the
/// Rollout's status (v1alpha1 schema) reports the step.
#[tokio::test]
async fn ro_operator_first_step_writes_partition_and_routes() {
    let api: Arc<Mutex<FakeApi>> = FakeApi::shared();
    {
        let mut a = api.lock().unwrap();
        let mut beta = kruise_core::rollout::fixtures::example_rollout(true);
        beta.metadata.uid = Some("ro-uid".into());
        let mut ro = serde_json::to_value(kruise_api::convert::rollout_to_v1alpha1(&beta).unwrap()).unwrap();
        ro["apiVersion"] = json!("rollouts.kruise.io/v1alpha1");
        ro["kind"] = json!("Rollout");
        a.put_object(RO_PATH, ro);
        a.put_object(CS_ALPHA, cloneset_v1alpha1(false));
        a.put_object(
            &format!("{SERVICES}/web"),
            json!({"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "web", "namespace": "default", "uid": "svc-uid"},
                   "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
        );
        a.put_object(
            ROUTE,
            json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                   "metadata": {"name": "web", "namespace": "default", "uid": "rt-uid"},
                   "spec": {"rules": [{"backendRefs": [{"kind": "Service", "name": "web", "port": 80}]}]}}),
        );
        for i in 0..4 {
            a.put_object(
                &format!("{PODS}/web-{i}"),
                json!({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": format!("web-{i}"), "namespace": "default", "uid": format!("pod-{i}"),
                                    "labels": {"app": "web", (kruise_api::keys::POD_TEMPLATE_HASH): "aaa"},
                                    "ownerReferences": [{"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
                                                         "name": "web", "uid": "cs-uid", "controller": true}]},
                       "spec": {"containers": [{"name": "c", "image": "a"}]}}),
            );
        }
        a.kubelet();
    }
    let handler = api.clone();
    let (client, server) = MockServer::start_with(move |s| handler.lock().unwrap().handle(s));
    let mut cluster = Cluster::<kruise_api::rollouts::v1alpha1::Rollout>::with_workload();
    api.lock().unwrap().sync(&mut cluster).expect("the Rollout reads as v1alpha1");
    let reconciler = kruise_core::rollout::RolloutV1Alpha1Reconciler::default();
    let mut related = RelatedFake::new(&reconciler, &[("CloneSet", "v1alpha1"), ("StatefulSet", "v1beta1")]);
    related.sync(&api.lock().unwrap());
    let adapter = Adapter::new("rollout", client, reconciler, cluster.caches.clone())
        .with_related(related.caches.clone());

    let workloads = cluster.caches.workloads.clone();
    let step = |clock: i64| {
        let (adapter, wl) = (&adapter, workloads.state()[0].clone());
        async move { adapter.reconcile_at(wl, Timestamp::from_second(clock).unwrap(), 11).await }
    };
    let mut clock = T0;
    // Healthy first.
    for _ in 0..4 {
        clock += 1;
        step(clock).await.unwrap();
        let a = api.lock().unwrap();
        a.sync(&mut cluster);
        related.sync(&a);
    }
    assert_eq!(api.lock().unwrap().objects[RO_PATH]["status"]["phase"], json!("Healthy"));
    // The release.
    {
        let mut a = api.lock().unwrap();
        let mut cs = cloneset_v1alpha1(true);
        cs["metadata"]["uid"] = json!("cs-uid");
        a.put_object(CS_ALPHA, cs);
        related.sync(&a);
    }
    let before = server.requests().len();
    for _ in 0..40 {
        clock += 2;
        step(clock).await.unwrap();
        let mut a = api.lock().unwrap();
        cloneset_controller(&mut a);
        a.kubelet();
        a.sync(&mut cluster);
        related.sync(&a);
    }
    let sent: Vec<Sent> = server.requests()[before..].to_vec();
    let listing = calls(&sent);
    assert!(
        sent.iter().all(|s| !s.uri.contains("/rollouts.kruise.io/v1beta1/namespaces/default/rollouts")),
        "nothing addresses the unserved v1beta1 Rollout: {listing:#?}"
    );
    let br = sent.iter().find(|s| s.method == "POST" && s.uri.contains("/batchreleases"));
    let br = br.unwrap_or_else(|| panic!("no BatchRelease created: {listing:#?}"));
    assert_eq!(br.body["metadata"]["ownerReferences"][0]["uid"], json!("ro-uid"));
    assert_eq!(br.body["metadata"]["ownerReferences"][0]["apiVersion"], json!("rollouts.kruise.io/v1alpha1"));
    let cs_patch = sent.iter().find(|s| s.method == "PATCH" && s.uri.starts_with(CS_ALPHA));
    let cs_patch = cs_patch.unwrap_or_else(|| panic!("no CloneSet patch: {listing:#?}"));
    assert_eq!(cs_patch.body["metadata"]["uid"], json!("cs-uid"), "{}", cs_patch.body);
    assert!(cs_patch.body["metadata"]["resourceVersion"].is_string(), "{}", cs_patch.body);
    let strategy = &cs_patch.body["spec"]["updateStrategy"];
    assert!(!strategy["partition"].is_null() || !strategy["paused"].is_null(), "{}", cs_patch.body);
    let canary = sent.iter().find(|s| s.method == "POST" && s.uri.starts_with(SERVICES));
    let canary = canary.unwrap_or_else(|| panic!("no canary Service: {listing:#?}"));
    assert_eq!(canary.body["metadata"]["name"], json!("web-canary"), "{}", canary.body);
    let route = sent.iter().find(|s| s.method == "PATCH" && s.uri.starts_with(ROUTE));
    let route = route.unwrap_or_else(|| panic!("no HTTPRoute write: {listing:#?}"));
    let backends = route.body.pointer("/spec/rules/0/backendRefs").cloned().unwrap_or_default();
    let weight = |name: &str| {
        backends.as_array().into_iter().flatten().find(|b| b["name"] == name).map(|b| b["weight"].clone())
    };
    assert_eq!(weight("web-canary"), Some(json!(5)), "{}", route.body);
    assert_eq!(weight("web"), Some(json!(95)), "{}", route.body);
    let status = api.lock().unwrap().objects[RO_PATH]["status"].clone();
    assert_eq!(status["phase"], json!("Progressing"), "{status}");
    assert_eq!(status["canaryStatus"]["currentStepIndex"], json!(1), "{status}");
    server.stop();
}
