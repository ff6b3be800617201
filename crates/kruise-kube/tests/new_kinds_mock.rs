//! The SidecarSet, BroadcastJob, ImagePullJob and Rollout planners driven through the generic
//! adapter against the served cluster in-process (issues 15, 16, 17, operator part): the
//! requests a reconcile sends, with their bodies, and the related objects handed over from
//! dynamic caches.

mod support;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::{v1alpha1, v1beta1};
use kruise_core::reconciler::{Reconciler, RelatedKind};
use kruise_kube::controller::Adapter;
use kruise_kube::related::{RelatedCaches, Source};
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher::Event;
use serde_json::{Value, json};
use support::Cluster;
use support::mock::Sent;
use support::served::{ServedApi, calls, no_nodes, pinned_node};

const T0: i64 = 1_767_225_660;
const PODS: &str = "/api/v1/namespaces/default/pods";

/// Related caches filled from the served cluster's objects, as the dynamic watches would.
struct RelatedCache {
    entries: Vec<(RelatedKind, ApiResource, Writer<DynamicObject>)>,
    caches: RelatedCaches,
}

impl RelatedCache {
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

    /// Relists every cache from `api` (the kind at the version the cache watches; nothing for
    /// a kind the cluster does not serve).
    async fn sync(&mut self, api: &ServedApi) {
        for (kind, ar, writer) in &mut self.entries {
            let path = if ar.group.is_empty() {
                format!("/api/{}/{}", ar.version, ar.plural)
            } else {
                format!("/apis/{}/{}/{}", ar.group, ar.version, ar.plural)
            };
            writer.apply_watcher_event(&Event::Init);
            for obj in api.list_served(&path).await.into_iter().filter(|o| kind.matches(o)) {
                if let Ok(d) = serde_json::from_value::<DynamicObject>(obj) {
                    writer.apply_watcher_event(&Event::InitApply(d));
                }
            }
            writer.apply_watcher_event(&Event::InitDone);
        }
    }
}

const BJ_PATH: &str = "/apis/apps.kruise.io/v1beta1/namespaces/default/broadcastjobs/warm-up";
const BJS: &str = "/apis/apps.kruise.io/v1beta1/namespaces/default/broadcastjobs";

fn broadcastjob() -> Value {
    json!({
        "apiVersion": "apps.kruise.io/v1beta1",
        "kind": "BroadcastJob",
        "metadata": {"name": "warm-up", "namespace": "default"},
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
    let (api, client, server) = ServedApi::start(no_nodes(), T0);
    let created = api.create(BJS, broadcastjob()).await;
    api.add_node("n-1").await;
    let mut cluster = Cluster::<v1beta1::BroadcastJob>::with_workload();
    api.sync(&mut cluster).await.expect("the BroadcastJob reads as v1beta1");
    let adapter = Adapter::new(
        "broadcastjob",
        client,
        kruise_core::broadcastjob::BroadcastJobReconciler,
        cluster.caches.clone(),
    );
    api.settle(&mut cluster, &adapter, 4).await;
    assert_eq!(api.pod_nodes(PODS).await, ["n-1"]);

    // n-2 joins.
    let sent = api.reconcile_after_node_joins("n-2", &mut cluster, &adapter, &server).await;
    let creates: Vec<&Sent> = sent.iter().filter(|s| s.method == "POST" && s.uri.starts_with(PODS)).collect();
    assert_eq!(creates.len(), 1, "{:#?}", calls(&sent));
    let pod = &creates[0].body;
    assert_eq!(pinned_node(pod), Some("n-2"), "{pod}");
    let owner = &pod["metadata"]["ownerReferences"][0];
    assert_eq!(
        (owner["kind"].clone(), owner["uid"].clone(), owner["controller"].clone()),
        (json!("BroadcastJob"), created["metadata"]["uid"].clone(), json!(true))
    );
    let status = sent.iter().find(|s| s.method == "PUT" && s.uri.starts_with(&format!("{BJ_PATH}/status")));
    let status = status.expect("the status is written");
    assert_eq!(status.body["status"]["desired"], json!(2), "{}", status.body);
    // The scheduler binds the new pod to n-2.
    api.step(1).await;
    assert_eq!(api.pod_nodes(PODS).await, ["n-1", "n-2"]);
    server.stop();
}

const IPJ_PATH: &str = "/apis/apps.kruise.io/v1beta1/namespaces/default/imagepulljobs/pull-nginx";
const IPJS: &str = "/apis/apps.kruise.io/v1beta1/namespaces/default/imagepulljobs";
const NI_ALPHA: &str = "/apis/apps.kruise.io/v1alpha1/nodeimages";

/// IPJ through the operator: an ImagePullJob over two NodeImages that the cluster serves as
/// v1alpha1 only (our CRDs); the NodeImages reach the planner from the related caches, and it
/// writes the image into each NodeImage's `spec.images` with a resourceVersion-guarded merge
/// patch addressed to v1alpha1, then reports the job's status.
#[tokio::test]
async fn ipj_operator_writes_the_image_into_node_images() {
    let (api, client, server) = ServedApi::start(no_nodes(), T0);
    api.create(
        IPJS,
        json!({
            "apiVersion": "apps.kruise.io/v1beta1", "kind": "ImagePullJob",
            "metadata": {"name": "pull-nginx", "namespace": "default",
                         "finalizers": [kruise_api::keys::DELETION_PROTECTION_FINALIZER]},
            "spec": {"image": "nginx:1.25", "parallelism": 2, "completionPolicy": {"type": "Never"}}
        }),
    )
    .await;
    for n in ["nœud-1", "nœud-2"] {
        api.create(
            NI_ALPHA,
            json!({"apiVersion": "apps.kruise.io/v1alpha1", "kind": "NodeImage", "metadata": {"name": n}, "spec": {}}),
        )
        .await;
    }
    let mut cluster = Cluster::<v1beta1::ImagePullJob>::with_workload();
    api.sync(&mut cluster).await.expect("the ImagePullJob reads as v1beta1");
    let reconciler = kruise_core::imagepulljob::ImagePullJobReconciler::default();
    let mut related = RelatedCache::new(&reconciler, &[("NodeImage", "v1alpha1")]);
    related.sync(&api).await;
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
    for n in ["nœud-1", "nœud-2"] {
        let ni = &api.get(&format!("{NI_ALPHA}/{n}")).await.unwrap();
        assert_eq!(ni["spec"]["images"]["nginx"]["tags"][0]["tag"], json!("1.25"), "{ni}");
    }
    let status = sent.iter().find(|s| s.method == "PUT" && s.uri.starts_with(&format!("{IPJ_PATH}/status")));
    let status = status.expect("the job's status is written");
    assert_eq!(status.body["status"]["desired"], json!(2), "{}", status.body);
    server.stop();
}

const SS_PATH: &str = "/apis/apps.kruise.io/v1alpha1/sidecarsets/log-agent";
const SSS: &str = "/apis/apps.kruise.io/v1alpha1/sidecarsets";
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
    let (api, client, server) = ServedApi::start(kruise_serve::ServeConfig::default(), T0);
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
    // The pod's namespace, and the one the SidecarSet's revisions are kept in (an OpenKruise
    // install's).
    for ns in ["team-a", "kruise-system"] {
        let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        api.create("/api/v1/namespaces", namespace).await;
    }
    let web_1 = api.create(TEAM_PODS, serde_json::to_value(&admitted).unwrap()).await;
    api.step(10).await;
    let mut ss =
        serde_json::to_value(kruise_api::convert::sidecarset_to_v1alpha1(&sidecarset_v1beta1("log:2")))
            .unwrap();
    ss["apiVersion"] = json!("apps.kruise.io/v1alpha1");
    ss["kind"] = json!("SidecarSet");
    // As applied: no hash annotations (the adapter's defaulting computes them); the server
    // assigns uid and generation.
    ss["metadata"]["annotations"] = json!(null);
    ss["metadata"]["uid"] = json!(null);
    api.create(SSS, ss).await;
    let mut cluster = Cluster::<v1alpha1::SidecarSet>::with_workload();
    api.sync(&mut cluster).await.expect("the SidecarSet reads as v1alpha1");
    let reconciler = kruise_core::sidecarset::SidecarSetV1Alpha1Reconciler;
    let mut related = RelatedCache::new(&reconciler, &[]);
    related.sync(&api).await;
    let adapter = Adapter::new("sidecarset", client, reconciler, cluster.caches.clone())
        .with_related(related.caches.clone());

    let mut upgrade = None;
    for _ in 0..4 {
        let clock = api.now().await;
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
        api.step(10).await;
        api.sync(&mut cluster).await;
        related.sync(&api).await;
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
    let pod = &api.get(&format!("{TEAM_PODS}/web-1")).await.unwrap();
    let images: Vec<&str> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["image"].as_str())
        .collect();
    assert!(images.contains(&"log:2") && images.contains(&"nginx:1"), "{images:?}");
    assert_eq!(pod["metadata"]["uid"], web_1["metadata"]["uid"], "upgraded in place, not recreated");
    let restarts = pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == "log")
        .map(|c| c["restartCount"].clone());
    assert_eq!(restarts, Some(json!(1)), "the sidecar restarted in place: {pod:#}");
    let status = api.get(SS_PATH).await.unwrap()["status"].clone();
    assert_eq!(status["matchedPods"], json!(1), "{status}");
    server.stop();
}

/// The CloneSet controller, as far as a Rollout sees it: it has observed the CloneSet's
/// generation, and `replicas - partition` pods (by name) run the update revision `bbb` and
/// are counted as updated and ready.
async fn cloneset_controller(api: &ServedApi) {
    let cs = api.get(CS_ALPHA).await.unwrap();
    let replicas = cs["spec"]["replicas"].as_i64().unwrap_or(0);
    // An integer or a percentage of the replicas (rounded up).
    let partition = &cs["spec"]["updateStrategy"]["partition"];
    let percent = partition.as_str().and_then(|p| p.strip_suffix('%')).and_then(|p| p.parse::<i64>().ok());
    let Some(partition) = partition.as_i64().or(percent.map(|p| (replicas * p + 99) / 100)) else { return };
    let updated = (replicas - partition).max(0);
    let mut changed = false;
    for i in 0..replicas {
        let path = format!("{PODS}/web-{i}");
        let Some(pod) = api.get(&path).await else { continue };
        let (hash, image) = if i < updated { ("bbb", "b") } else { ("aaa", "a") };
        if pod["metadata"]["labels"][kruise_api::keys::POD_TEMPLATE_HASH] != json!(hash) {
            let mut containers = pod["spec"]["containers"].clone();
            containers[0]["image"] = json!(image);
            api.merge(
                &path,
                &json!({"metadata": {"labels": {(kruise_api::keys::POD_TEMPLATE_HASH): hash}},
                        "spec": {"containers": containers}}),
            )
            .await;
            changed = true;
        }
    }
    let generation = cs["metadata"]["generation"].clone();
    if changed
        || cs["status"]["updatedReplicas"] != json!(updated)
        || cs["status"]["observedGeneration"] != generation
    {
        api.merge(
            &format!("{CS_ALPHA}/status"),
            &json!({"status": {"observedGeneration": generation, "updatedReplicas": updated,
                               "updatedReadyReplicas": updated}}),
        )
        .await;
    }
}

const RO_PATH: &str = "/apis/rollouts.kruise.io/v1alpha1/namespaces/default/rollouts/web";
const ROLLOUTS: &str = "/apis/rollouts.kruise.io/v1alpha1/namespaces/default/rollouts";
const CS_ALPHA: &str = "/apis/apps.kruise.io/v1alpha1/namespaces/default/clonesets/web";
const CLONESETS_ALPHA: &str = "/apis/apps.kruise.io/v1alpha1/namespaces/default/clonesets";
const ROUTE: &str = "/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/web";
const ROUTES: &str = "/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes";
const SERVICES: &str = "/api/v1/namespaces/default/services";

/// The CloneSet's spec and metadata, and separately its status (written through the status
/// subresource, as its controller would).
fn cloneset_v1alpha1(release: bool) -> (Value, Value) {
    let mut cs = json!({
        "apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "a"}]}}}
    });
    let mut status = json!({"observedGeneration": 1, "replicas": 4, "updatedReplicas": 4, "updatedReadyReplicas": 4,
                   "readyReplicas": 4, "availableReplicas": 4, "currentRevision": "web-aaa", "updateRevision": "web-aaa"});
    if release {
        // The template moved to web-bbb; the Rollout's workload webhook froze it (RO-19). The
        // server bumps the generation to 2.
        cs["metadata"]["annotations"] =
            json!({(kruise_api::keys::ROLLOUT_IN_PROGRESSING): r#"{"rolloutName":"web"}"#});
        cs["spec"]["template"]["spec"]["containers"][0]["image"] = json!("b");
        cs["spec"]["updateStrategy"] = json!({"partition": "100%"});
        status["observedGeneration"] = json!(2);
        status["updateRevision"] = json!("web-bbb");
        status["updatedReplicas"] = json!(0);
        status["updatedReadyReplicas"] = json!(0);
    }
    (cs, status)
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
    let (api, client, server) = ServedApi::start(kruise_serve::ServeConfig::default(), T0);
    // A cluster with the Gateway API and the BatchRelease CRD (ours define neither).
    api.install_crd("gateway.networking.k8s.io", "HTTPRoute", "httproutes", &["v1"], true).await;
    api.install_crd("rollouts.kruise.io", "BatchRelease", "batchreleases", &["v1beta1", "v1alpha1"], true)
        .await;
    let mut beta = kruise_core::rollout::fixtures::example_rollout(true);
    beta.metadata.uid = None;
    let mut ro = serde_json::to_value(kruise_api::convert::rollout_to_v1alpha1(&beta).unwrap()).unwrap();
    ro["apiVersion"] = json!("rollouts.kruise.io/v1alpha1");
    ro["kind"] = json!("Rollout");
    let ro = api.create(ROLLOUTS, ro).await;
    let (cs, status) = cloneset_v1alpha1(false);
    let cs = api.create(CLONESETS_ALPHA, cs).await;
    api.update(&format!("{CS_ALPHA}/status"), &json!({"metadata": {"name": "web"}, "status": status})).await;
    api.create(
        SERVICES,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
    )
    .await;
    api.create(
        ROUTES,
        json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
               "metadata": {"name": "web", "namespace": "default"},
               "spec": {"rules": [{"backendRefs": [{"kind": "Service", "name": "web", "port": 80}]}]}}),
    )
    .await;
    for i in 0..4 {
        api.create(
            PODS,
            json!({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": format!("web-{i}"), "namespace": "default",
                                "labels": {"app": "web", (kruise_api::keys::POD_TEMPLATE_HASH): "aaa"},
                                "ownerReferences": [{"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
                                                     "name": "web", "uid": cs["metadata"]["uid"], "controller": true}]},
                   "spec": {"containers": [{"name": "c", "image": "a"}]}}),
        )
        .await;
    }
    api.step(10).await;
    let mut cluster = Cluster::<kruise_api::rollouts::v1alpha1::Rollout>::with_workload();
    api.sync(&mut cluster).await.expect("the Rollout reads as v1alpha1");
    let reconciler = kruise_core::rollout::RolloutV1Alpha1Reconciler::default();
    let mut related = RelatedCache::new(&reconciler, &[("CloneSet", "v1alpha1"), ("StatefulSet", "v1beta1")]);
    related.sync(&api).await;
    let adapter = Adapter::new("rollout", client, reconciler, cluster.caches.clone())
        .with_related(related.caches.clone());

    let workloads = cluster.caches.workloads.clone();
    let step = |clock: i64| {
        let (adapter, wl) = (&adapter, workloads.state()[0].clone());
        async move { adapter.reconcile_at(wl, Timestamp::from_second(clock).unwrap(), 11).await }
    };
    // Healthy first.
    for _ in 0..4 {
        let clock = api.step(1).await;
        step(clock).await.unwrap();
        api.sync(&mut cluster).await;
        related.sync(&api).await;
    }
    assert_eq!(api.get(RO_PATH).await.unwrap()["status"]["phase"], json!("Healthy"));
    // The release.
    let (mut release, status) = cloneset_v1alpha1(true);
    release["metadata"]["resourceVersion"] =
        api.get(CS_ALPHA).await.unwrap()["metadata"]["resourceVersion"].clone();
    let released = api.update(CS_ALPHA, &release).await;
    assert_eq!(released["metadata"]["generation"], json!(2));
    assert_eq!(released["metadata"]["uid"], cs["metadata"]["uid"]);
    api.update(&format!("{CS_ALPHA}/status"), &json!({"metadata": {"name": "web"}, "status": status})).await;
    related.sync(&api).await;
    let before = server.requests().len();
    for _ in 0..40 {
        // The kubelets act (2 s), the caches catch up, the Rollout reconciles, then the
        // CloneSet controller follows its partition.
        let clock = api.step(2).await;
        api.sync(&mut cluster).await;
        related.sync(&api).await;
        step(clock).await.unwrap();
        cloneset_controller(&api).await;
    }
    let sent: Vec<Sent> = server.requests()[before..].to_vec();
    let listing = calls(&sent);
    assert!(
        sent.iter().all(|s| !s.uri.contains("/rollouts.kruise.io/v1beta1/namespaces/default/rollouts")),
        "nothing addresses the unserved v1beta1 Rollout: {listing:#?}"
    );
    let br = sent.iter().find(|s| s.method == "POST" && s.uri.contains("/batchreleases"));
    let br = br.unwrap_or_else(|| panic!("no BatchRelease created: {listing:#?}"));
    assert_eq!(br.body["metadata"]["ownerReferences"][0]["uid"], ro["metadata"]["uid"]);
    assert_eq!(br.body["metadata"]["ownerReferences"][0]["apiVersion"], json!("rollouts.kruise.io/v1alpha1"));
    let cs_patch = sent.iter().find(|s| s.method == "PATCH" && s.uri.starts_with(CS_ALPHA));
    let cs_patch = cs_patch.unwrap_or_else(|| panic!("no CloneSet patch: {listing:#?}"));
    assert_eq!(cs_patch.body["metadata"]["uid"], cs["metadata"]["uid"], "{}", cs_patch.body);
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
    let status = api.get(RO_PATH).await.unwrap()["status"].clone();
    assert_eq!(status["phase"], json!("Progressing"), "{status}");
    assert_eq!(status["canaryStatus"]["currentStepIndex"], json!(1), "{status}");
    server.stop();
}
