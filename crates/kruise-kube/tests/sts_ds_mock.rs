//! The real Advanced StatefulSet and Advanced DaemonSet planners driven through the generic
//! adapter against the in-memory API server (issues 13 and 14, operator part): the requests a
//! reconcile sends, in order, with their bodies.

mod support;

use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;
use kruise_api::apps::{v1alpha1, v1beta1};
use kruise_core::daemonset::DaemonSetV1Alpha1Reconciler;
use kruise_core::statefulset::StatefulSetReconciler;
use kruise_kube::controller::Adapter;
use serde_json::{Value, json};
use support::Cluster;
use support::fake::FakeApi;
use support::mock::{MockServer, Sent};

const T0: i64 = 1_767_225_660;
const STS_PATH: &str = "/apis/apps.kruise.io/v1beta1/namespaces/default/statefulsets/web";
const DS_PATH: &str = "/apis/apps.kruise.io/v1alpha1/namespaces/default/daemonsets/agent";
const PODS: &str = "/api/v1/namespaces/default/pods";
const PVCS: &str = "/api/v1/namespaces/default/persistentvolumeclaims";
const REVS: &str = "/apis/apps/v1/namespaces/default/controllerrevisions";

fn template(app: &str, image: &str) -> Value {
    json!({
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{"name": "main", "image": image}]}
    })
}

fn statefulset() -> Value {
    json!({
        "apiVersion": "apps.kruise.io/v1beta1",
        "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "default", "uid": "uid-web", "generation": 1},
        "spec": {
            "replicas": 2,
            "serviceName": "web",
            "selector": {"matchLabels": {"app": "web"}},
            "template": template("web", "nginx:1.25"),
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
            }]
        }
    })
}

fn daemonset() -> Value {
    json!({
        "apiVersion": "apps.kruise.io/v1alpha1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "default", "uid": "uid-agent", "generation": 1},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": template("agent", "agent:1")
        }
    })
}

fn node(name: &str) -> Node {
    serde_json::from_value(json!({
        "metadata": {"name": name, "resourceVersion": "1", "labels": {"kubernetes.io/hostname": name}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}
    }))
    .unwrap()
}

fn sts_writes(sent: &[Sent]) -> Vec<(String, String)> {
    sent.iter().map(|s| (s.method.clone(), s.uri.split('?').next().unwrap_or_default().to_owned())).collect()
}

fn call(m: &str, u: &str) -> (String, String) {
    (m.to_owned(), u.to_owned())
}

/// ASTS (OrderedReady scale-up with claims) through the operator: the first reconcile of a new
/// 2-replica StatefulSet creates its revision, the claim `data-web-0`, then pod `web-0` (never
/// `web-1` while `web-0` is not Ready), then writes the v1beta1 status. Once the kubelet has made
/// `web-0` Ready, the next reconciles create `data-web-1` and `web-1`.
#[tokio::test]
async fn asts_operator_scale_up_creates_ordinal_0_with_its_pvc() {
    let api = FakeApi::shared();
    api.lock().unwrap().put_object(STS_PATH, statefulset());
    let handler = api.clone();
    let (client, server) = MockServer::start_with(move |s| handler.lock().unwrap().handle(s));
    let mut cluster = Cluster::<v1beta1::StatefulSet>::with_workload();
    let sts = api.lock().unwrap().sync(&mut cluster).expect("the StatefulSet reads as v1beta1");
    let adapter = Adapter::new("statefulset", client, StatefulSetReconciler, cluster.caches.clone());

    let report = adapter.reconcile_at(Arc::new(sts), Timestamp::from_second(T0).unwrap(), 7).await.unwrap();
    let sent = server.requests();
    assert_eq!(report.written, sent.len());
    assert_eq!(
        sts_writes(&sent),
        vec![
            call("POST", REVS),
            call("POST", PVCS),
            call("POST", PODS),
            call("PUT", &format!("{STS_PATH}/status")),
        ],
        "{:#?}",
        sent.iter().map(|s| (&s.method, &s.uri)).collect::<Vec<_>>()
    );
    let (pvc, pod) = (&sent[1].body, &sent[2].body);
    assert_eq!(pvc["metadata"]["name"], json!("data-web-0"));
    assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], json!("1Gi"));
    assert_eq!(pod["metadata"]["name"], json!("web-0"));
    assert_eq!(pod["spec"]["hostname"], json!("web-0"));
    let claim = pod["spec"]["volumes"].as_array().into_iter().flatten().find(|v| v["name"] == "data");
    assert_eq!(claim.map(|v| v["persistentVolumeClaim"]["claimName"].clone()), Some(json!("data-web-0")));
    let owner = &pod["metadata"]["ownerReferences"][0];
    assert_eq!((owner["kind"].clone(), owner["uid"].clone()), (json!("StatefulSet"), json!("uid-web")));
    let status = api.lock().unwrap().objects[STS_PATH]["status"].clone();
    assert_eq!(status["observedGeneration"], json!(1));

    // The kubelet runs web-0 and the cache catches up: the next ordinal follows.
    let mut clock = T0;
    for _ in 0..5 {
        {
            let mut a = api.lock().unwrap();
            a.kubelet();
            a.sync(&mut cluster);
        }
        clock += 10;
        let wl = cluster.caches.workloads.state()[0].clone();
        adapter.reconcile_at(wl, Timestamp::from_second(clock).unwrap(), 8).await.unwrap();
    }
    let objects = api.lock().unwrap().objects.clone();
    for name in ["web-0", "web-1"] {
        assert!(objects.contains_key(&format!("{PODS}/{name}")), "{name} missing");
        assert!(objects.contains_key(&format!("{PVCS}/data-{name}")), "data-{name} missing");
    }
    assert_eq!(objects.keys().filter(|k| k.starts_with(&format!("{PODS}/"))).count(), 2);
    server.stop();
}

/// ADS-6 through the operator: a v1alpha1 DaemonSet runs one pod on node `n-1`; node `n-2`
/// joins; the next reconcile creates exactly one pod, pinned to `n-2` by node affinity and owned
/// through a v1alpha1 owner reference, and writes the status to the v1alpha1 resource
/// (`desiredNumberScheduled: 2`, `daemonSetHash`).
#[tokio::test]
async fn ads_6_operator_node_joins_and_gets_a_pod() {
    let api: Arc<Mutex<FakeApi>> = FakeApi::shared();
    api.lock().unwrap().put_object(DS_PATH, daemonset());
    let handler = api.clone();
    let (client, server) = MockServer::start_with(move |s| handler.lock().unwrap().handle(s));
    let mut cluster = Cluster::<v1alpha1::DaemonSet>::with_workload();
    api.lock().unwrap().sync(&mut cluster).expect("the DaemonSet reads as v1alpha1");
    cluster.apply_node(&node("n-1"));
    let adapter = Adapter::new("daemonset", client, DaemonSetV1Alpha1Reconciler, cluster.caches.clone());

    // Settle on one node.
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
        api.objects
            .iter()
            .filter(|(p, _)| p.starts_with(&format!("{PODS}/")))
            .map(|(_, o)| o["spec"]["nodeName"].as_str().unwrap_or_default().to_owned())
            .collect()
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
    assert_eq!(creates.len(), 1, "{:#?}", sent.iter().map(|s| (&s.method, &s.uri)).collect::<Vec<_>>());
    let pod = &creates[0].body;
    let pinned = pod.pointer(
        "/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchFields/0/values/0",
    );
    assert_eq!(pinned, Some(&json!("n-2")));
    let owner = &pod["metadata"]["ownerReferences"][0];
    assert_eq!(
        (owner["apiVersion"].clone(), owner["kind"].clone(), owner["uid"].clone()),
        (json!("apps.kruise.io/v1alpha1"), json!("DaemonSet"), json!("uid-agent"))
    );
    let status = sent.iter().find(|s| s.method == "PUT" && s.uri.starts_with(&format!("{DS_PATH}/status?")));
    let status = status.expect("the status goes to the v1alpha1 resource");
    assert_eq!(status.body["apiVersion"], json!("apps.kruise.io/v1alpha1"));
    assert_eq!(status.body["status"]["desiredNumberScheduled"], json!(2));
    assert!(status.body["status"]["daemonSetHash"].as_str().is_some_and(|h| !h.is_empty()));
    assert!(
        sent.iter().all(|s| !s.uri.contains("/apis/apps.kruise.io/v1beta1/")),
        "nothing addresses the unserved v1beta1"
    );
    {
        let mut a = api.lock().unwrap();
        a.kubelet();
        let mut on = pods_on(&a);
        on.sort();
        assert_eq!(on, ["n-1", "n-2"]);
    }
    server.stop();
}

/// ASTS-17 in the adapter: a StatefulSet's world holds its claims found by selector labels
/// even without an owner reference (the default `Retain` policy), never another app's; a
/// CloneSet (whose planner cleans up every PVC handed to it) gets owned claims only.
#[test]
fn asts_17_unowned_claims_reach_only_the_statefulset() {
    use k8s_openapi::api::core::v1::PersistentVolumeClaim;
    let pvc = |name: &str, app: &str| -> PersistentVolumeClaim {
        serde_json::from_value(
            json!({"metadata": {"name": name, "namespace": "default", "labels": {"app": app}}}),
        )
        .unwrap()
    };
    let mut sts_cluster = Cluster::<v1beta1::StatefulSet>::with_workload();
    let sts: v1beta1::StatefulSet = serde_json::from_value(statefulset()).unwrap();
    let sts = sts_cluster.apply_workload(&sts);
    sts_cluster.apply_pvc(&pvc("data-web-0", "web"));
    sts_cluster.apply_pvc(&pvc("data-db-0", "db"));
    let seen = kruise_kube::observe::observe(sts, &sts_cluster.caches).unwrap();
    let names: Vec<_> = seen.pvcs.iter().filter_map(|p| p.metadata.name.clone()).collect();
    assert_eq!(names, ["data-web-0"]);

    let mut cs_cluster = Cluster::new();
    let mut cs = support::cloneset("web", 1, "nginx:1");
    cs.spec.selector = Some(serde_json::from_value(json!({"matchLabels": {"app": "web"}})).unwrap());
    let cs = cs_cluster.apply_workload(&cs);
    cs_cluster.apply_pvc(&pvc("data-web-0", "web"));
    let seen = kruise_kube::observe::observe(cs, &cs_cluster.caches).unwrap();
    assert!(seen.pvcs.is_empty(), "{:?}", seen.pvcs);
}
