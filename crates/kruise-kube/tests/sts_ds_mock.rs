//! The real Advanced StatefulSet and Advanced DaemonSet planners driven through the generic
//! adapter against the served cluster in-process (issues 13 and 14, operator part): the
//! requests a reconcile sends, in order, with their bodies.

mod support;

use std::sync::Arc;

use jiff::Timestamp;
use kruise_api::apps::{v1alpha1, v1beta1};
use kruise_core::daemonset::DaemonSetV1Alpha1Reconciler;
use kruise_core::statefulset::StatefulSetReconciler;
use kruise_kube::controller::Adapter;
use serde_json::{Value, json};
use support::Cluster;
use support::mock::Sent;
use support::served::{ServedApi, calls, no_nodes, pinned_node};

const T0: i64 = 1_767_225_660;
const STS_PATH: &str = "/apis/apps.kruise.io/v1beta1/namespaces/default/statefulsets/web";
const STSS: &str = "/apis/apps.kruise.io/v1beta1/namespaces/default/statefulsets";
const DS_PATH: &str = "/apis/apps.kruise.io/v1alpha1/namespaces/default/daemonsets/agent";
const DSS: &str = "/apis/apps.kruise.io/v1alpha1/namespaces/default/daemonsets";
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
        "metadata": {"name": "web", "namespace": "default"},
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
        "metadata": {"name": "agent", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": template("agent", "agent:1")
        }
    })
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
    let (api, client, server) = ServedApi::start(kruise_serve::ServeConfig::default(), T0);
    let created = api.create(STSS, statefulset()).await;
    let mut cluster = Cluster::<v1beta1::StatefulSet>::with_workload();
    let sts = api.sync(&mut cluster).await.expect("the StatefulSet reads as v1beta1");
    let adapter = Adapter::new("statefulset", client, StatefulSetReconciler, cluster.caches.clone());

    let report = adapter.reconcile_at(Arc::new(sts), Timestamp::from_second(T0).unwrap(), 7).await.unwrap();
    let sent = server.requests();
    assert_eq!(report.written, sent.len());
    assert_eq!(
        calls(&sent),
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
    // Owned through the uid the server gave the StatefulSet.
    assert_eq!(
        (owner["kind"].clone(), owner["uid"].clone()),
        (json!("StatefulSet"), created["metadata"]["uid"].clone())
    );
    let status = api.get(STS_PATH).await.unwrap()["status"].clone();
    assert_eq!(status["observedGeneration"], json!(1));

    // The kubelet runs web-0 and the cache catches up: the next ordinal follows.
    for _ in 0..5 {
        let clock = api.step(10).await;
        api.sync(&mut cluster).await;
        let wl = cluster.caches.workloads.state()[0].clone();
        adapter.reconcile_at(wl, Timestamp::from_second(clock).unwrap(), 8).await.unwrap();
    }
    for name in ["web-0", "web-1"] {
        assert!(api.get(&format!("{PODS}/{name}")).await.is_some(), "{name} missing");
        assert!(api.get(&format!("{PVCS}/data-{name}")).await.is_some(), "data-{name} missing");
    }
    assert_eq!(api.list(PODS).await.len(), 2);
    server.stop();
}

/// ADS-6 through the operator: a v1alpha1 DaemonSet runs one pod on node `n-1`; node `n-2`
/// joins; the next reconcile creates exactly one pod, pinned to `n-2` by node affinity and owned
/// through a v1alpha1 owner reference, and writes the status to the v1alpha1 resource
/// (`desiredNumberScheduled: 2`, `daemonSetHash`).
#[tokio::test]
async fn ads_6_operator_node_joins_and_gets_a_pod() {
    let (api, client, server) = ServedApi::start(no_nodes(), T0);
    let created = api.create(DSS, daemonset()).await;
    api.add_node("n-1").await;
    let mut cluster = Cluster::<v1alpha1::DaemonSet>::with_workload();
    api.sync(&mut cluster).await.expect("the DaemonSet reads as v1alpha1");
    let adapter = Adapter::new("daemonset", client, DaemonSetV1Alpha1Reconciler, cluster.caches.clone());

    // Settle on one node.
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
        (owner["apiVersion"].clone(), owner["kind"].clone(), owner["uid"].clone()),
        (json!("apps.kruise.io/v1alpha1"), json!("DaemonSet"), created["metadata"]["uid"].clone())
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
    // The scheduler binds the new pod to n-2.
    api.step(1).await;
    assert_eq!(api.pod_nodes(PODS).await, ["n-1", "n-2"]);
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
    let mut sts: v1beta1::StatefulSet = serde_json::from_value(statefulset()).unwrap();
    // As cached: the server gave it a uid.
    sts.metadata.uid = Some("uid-web".into());
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

/// A pod's JSON patch operations (`op`, `path`) with their values.
fn ops(body: &Value) -> Vec<(String, String, Value)> {
    body.as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                o["op"].as_str().unwrap_or_default().to_owned(),
                o["path"].as_str().unwrap_or_default().to_owned(),
                o["value"].clone(),
            )
        })
        .collect()
}

/// Does the JSON patch `body` set condition `type_` to `status`: a guarded replace (a `test` of
/// `/status/conditions/i/type`, then `/status/conditions/i/status`), or a whole condition added?
fn sets_condition(body: &Value, type_: &str, status: &str) -> bool {
    let ops = ops(body);
    let guarded = ops.iter().any(|(op, path, v)| {
        op == "test"
            && path.ends_with("/type")
            && v == &json!(type_)
            && ops.iter().any(|(op2, p2, v2)| {
                (op2 == "replace" || op2 == "add")
                    && *p2 == format!("{}/status", path.trim_end_matches("/type"))
                    && v2 == &json!(status)
            })
    });
    let added = ops.iter().any(|(op, path, v)| {
        op == "add"
            && path.starts_with("/status/conditions")
            && (v.as_array().cloned().unwrap_or_else(|| vec![v.clone()]))
                .iter()
                .any(|c| c["type"] == json!(type_) && c["status"] == json!(status))
    });
    guarded || added
}

/// ASTS-39..ASTS-42 through the operator: an OrderedReady StatefulSet of 2 in-place-capable pods
/// (`InPlaceIfPossible`, readiness gate `InPlaceUpdateReady`) gets a new image. The reconcile
/// updates the highest ordinal only: first `InPlaceUpdateReady=False` on the status
/// subresource, then a JSON patch of `web-1` guarded by `test` operations whose only spec change
/// is the container image; `web-0` is untouched. Once the kubelet restarted `web-1` on the new
/// image, the planner sets `InPlaceUpdateReady=True` and then updates `web-0` the same way.
#[tokio::test]
async fn asts_42_operator_in_place_update_patches_only_the_image_then_the_next_ordinal() {
    let mut set = statefulset();
    set["spec"]["volumeClaimTemplates"] = json!([]);
    set["spec"]["template"]["spec"]["readinessGates"] = json!([{"conditionType": "InPlaceUpdateReady"}]);
    set["spec"]["updateStrategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"podUpdatePolicy": "InPlaceIfPossible"}});
    let (api, client, server) = ServedApi::start(kruise_serve::ServeConfig::default(), T0);
    api.create(STSS, set.clone()).await;
    let mut cluster = Cluster::<v1beta1::StatefulSet>::with_workload();
    api.sync(&mut cluster).await.expect("the StatefulSet reads as v1beta1");
    let adapter = Adapter::new("statefulset", client, StatefulSetReconciler, cluster.caches.clone());
    api.settle(&mut cluster, &adapter, 8).await;
    let mut uids = Vec::new();
    for name in ["web-0", "web-1"] {
        let pod = api.get(&format!("{PODS}/{name}")).await.unwrap();
        let ready = pod["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        assert!(ready, "{name} settles Ready: {pod:#}");
        uids.push(pod["metadata"]["uid"].clone());
    }

    // New image (the server bumps the generation).
    let edited =
        api.edit(STS_PATH, |s| s["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.26")).await;
    assert_eq!(edited["metadata"]["generation"], json!(2));
    let clock = api.step(10).await;
    api.sync(&mut cluster).await;
    let before = server.requests().len();
    let wl = cluster.caches.workloads.state()[0].clone();
    adapter.reconcile_at(wl, Timestamp::from_second(clock).unwrap(), 8).await.unwrap();
    let sent: Vec<Sent> = server.requests()[before..].to_vec();
    let trace = || sent.iter().map(|s| (s.method.clone(), s.uri.clone())).collect::<Vec<_>>();
    let pod_writes: Vec<&Sent> = sent.iter().filter(|s| s.uri.starts_with(&format!("{PODS}/"))).collect();
    assert!(
        pod_writes.iter().all(|s| s.uri.starts_with(&format!("{PODS}/web-1"))),
        "only web-1: {:#?}",
        trace()
    );
    assert_eq!(pod_writes.len(), 2, "{:#?}", trace());
    // 1. InPlaceUpdateReady=False on the status subresource.
    assert!(pod_writes[0].uri.starts_with(&format!("{PODS}/web-1/status")), "{:#?}", trace());
    let status_ops = ops(&pod_writes[0].body);
    assert!(status_ops.iter().any(|(op, _, _)| op == "test"), "guarded: {status_ops:?}");
    assert!(sets_condition(&pod_writes[0].body, "InPlaceUpdateReady", "False"), "{status_ops:?}");
    // 2. The pod itself: a guarded JSON patch whose only spec change is the image.
    let p = pod_writes[1];
    assert_eq!(p.method, "PATCH");
    assert_eq!(p.content_type.as_deref(), Some("application/json-patch+json"));
    let pod_ops = ops(&p.body);
    assert!(
        pod_ops.iter().any(|(op, path, _)| op == "test" && path.starts_with("/metadata/")),
        "guarded: {pod_ops:?}"
    );
    let spec_changes: Vec<_> =
        pod_ops.iter().filter(|(op, path, _)| op != "test" && path.starts_with("/spec")).collect();
    assert_eq!(
        spec_changes,
        [&("replace".to_owned(), "/spec/containers/0/image".to_owned(), json!("nginx:1.26"))],
        "{pod_ops:#?}"
    );
    let image = |pod: Option<Value>| pod.unwrap()["spec"]["containers"][0]["image"].clone();
    assert_eq!(image(api.get(&format!("{PODS}/web-0")).await), json!("nginx:1.25"));
    assert_eq!(image(api.get(&format!("{PODS}/web-1")).await), json!("nginx:1.26"));

    // The kubelet restarts web-1 on the new image; the planner marks it ready again, then
    // moves to web-0.
    let before = server.requests().len();
    api.settle(&mut cluster, &adapter, 6).await;
    let sent: Vec<Sent> = server.requests()[before..].to_vec();
    let first_web0 = sent.iter().position(|s| s.uri.starts_with(&format!("{PODS}/web-0")));
    let ready_web1 = sent.iter().position(|s| {
        s.uri.starts_with(&format!("{PODS}/web-1/status"))
            && sets_condition(&s.body, "InPlaceUpdateReady", "True")
    });
    assert!(ready_web1.is_some(), "web-1 gets InPlaceUpdateReady=True");
    assert!(
        first_web0.is_some_and(|w0| ready_web1.is_some_and(|r1| r1 < w0)),
        "web-0 after web-1 is ready again"
    );
    for (name, uid) in ["web-0", "web-1"].into_iter().zip(&uids) {
        let pod = api.get(&format!("{PODS}/{name}")).await.unwrap();
        assert_eq!(pod["spec"]["containers"][0]["image"], json!("nginx:1.26"), "{name}");
        assert_eq!(&pod["metadata"]["uid"], uid, "{name} kept (in place)");
        let restarts = pod["status"]["containerStatuses"][0]["restartCount"].clone();
        assert_eq!(restarts, json!(1), "{name} restarted in place on the new image");
    }
    server.stop();
}

/// The pod objects stored on `node`, with their images, terminating ones included.
async fn pods_on_node(api: &ServedApi, node: &str) -> Vec<(String, String, bool)> {
    api.list(PODS)
        .await
        .iter()
        .filter(|o| o["spec"]["nodeName"] == json!(node))
        .map(|o| {
            (
                o["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
                o["spec"]["containers"][0]["image"].as_str().unwrap_or_default().to_owned(),
                !o["metadata"]["deletionTimestamp"].is_null(),
            )
        })
        .collect()
}

/// ADS-19, ADS-23 (surge) through the operator: a DaemonSet on one node with `maxSurge: 1`,
/// `maxUnavailable: 0` gets a new image. The first reconcile creates the new pod on the node
/// and deletes nothing (two pods on the node); only once the new pod is ready does a later
/// reconcile delete the old one.
#[tokio::test]
async fn ads_23_operator_surge_creates_the_new_pod_before_deleting_the_old() {
    let mut ds = daemonset();
    ds["spec"]["updateStrategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}});
    let (api, client, server) = ServedApi::start(no_nodes(), T0);
    api.create(DSS, ds).await;
    api.add_node("n-1").await;
    let mut cluster = Cluster::<v1alpha1::DaemonSet>::with_workload();
    api.sync(&mut cluster).await.expect("the DaemonSet reads as v1alpha1");
    let adapter = Adapter::new("daemonset", client, DaemonSetV1Alpha1Reconciler, cluster.caches.clone());
    api.settle(&mut cluster, &adapter, 4).await;
    let old = pods_on_node(&api, "n-1").await;
    assert_eq!(old.len(), 1, "{old:?}");
    let old_name = old[0].0.clone();

    let edited =
        api.edit(DS_PATH, |s| s["template"]["spec"]["containers"][0]["image"] = json!("agent:2")).await;
    assert_eq!(edited["metadata"]["generation"], json!(2));
    let clock = api.step(10).await;
    api.sync(&mut cluster).await;
    let before = server.requests().len();
    let wl = cluster.caches.workloads.state()[0].clone();
    adapter.reconcile_at(wl, Timestamp::from_second(clock).unwrap(), 9).await.unwrap();
    let sent: Vec<Sent> = server.requests()[before..].to_vec();
    let trace = sent.iter().map(|s| (s.method.clone(), s.uri.clone())).collect::<Vec<_>>();
    let creates: Vec<&Sent> = sent.iter().filter(|s| s.method == "POST" && s.uri.starts_with(PODS)).collect();
    assert_eq!(creates.len(), 1, "{trace:#?}");
    assert_eq!(creates[0].body["spec"]["containers"][0]["image"], json!("agent:2"));
    assert!(
        sent.iter().all(|s| s.method != "DELETE"),
        "nothing deleted before the new pod is up: {trace:#?}"
    );
    // The scheduler binds the new pod to the node, beside the old one.
    api.step(1).await;
    let on = pods_on_node(&api, "n-1").await;
    assert_eq!(on.len(), 2, "old and new side by side: {on:?}");

    // The new pod is ready: the old one goes.
    let before = server.requests().len();
    api.settle(&mut cluster, &adapter, 3).await;
    let sent: Vec<Sent> = server.requests()[before..].to_vec();
    let deletes: Vec<&Sent> = sent.iter().filter(|s| s.method == "DELETE").collect();
    assert_eq!(deletes.len(), 1, "{:#?}", sent.iter().map(|s| (&s.method, &s.uri)).collect::<Vec<_>>());
    assert!(deletes[0].uri.starts_with(&format!("{PODS}/{old_name}")), "{}", deletes[0].uri);
    let on = pods_on_node(&api, "n-1").await;
    assert_eq!(on.iter().map(|p| p.1.as_str()).collect::<Vec<_>>(), ["agent:2"], "{on:?}");
    server.stop();
}

/// ADS-16 through the operator: the adapter keeps the failed-pod backoff per DaemonSet
/// ([`FailedPodBackoffs`]). A node whose pod fails every time it runs gets its failed pod
/// deleted at once the first time, then after growing delays (1 s, 2 s, 4 s, 8 s): between
/// deletes the failed pod is held with the time left and the reconcile requeued, never deleted.
#[tokio::test]
async fn ads_16_operator_failed_pod_backoff_grows_per_node() {
    use kruise_core::plan::{DaemonSetReason, Reason};
    use kruise_kube::backoff::FailedPodBackoffs;
    let (api, client, server) = ServedApi::start(no_nodes(), T0);
    api.create(DSS, daemonset()).await;
    api.add_node("n-1").await;
    let mut cluster = Cluster::<v1alpha1::DaemonSet>::with_workload();
    api.sync(&mut cluster).await.expect("the DaemonSet reads as v1alpha1");
    let reconciler = FailedPodBackoffs::new(DaemonSetV1Alpha1Reconciler);
    let adapter = Adapter::new("daemonset", client, reconciler, cluster.caches.clone());
    api.settle(&mut cluster, &adapter, 3).await;

    // Every second: the kubelet runs what it has, and the pod fails at once (another
    // component marks it Failed; a terminal pod stays terminal).
    let mut deleted_at = Vec::new();
    let mut held = Vec::new();
    for _ in 0..20 {
        let clock = api.step(1).await;
        for o in api.list(PODS).await {
            if o["metadata"]["deletionTimestamp"].is_null() && o["status"]["phase"] != json!("Failed") {
                let path = format!("{PODS}/{}/status", o["metadata"]["name"].as_str().unwrap());
                api.merge(&path, &json!({"status": {"phase": "Failed"}})).await;
            }
        }
        api.sync(&mut cluster).await;
        let before = server.requests().len();
        let wl = cluster.caches.workloads.state()[0].clone();
        let report = adapter.reconcile_at(wl, Timestamp::from_second(clock).unwrap(), 7).await.unwrap();
        let sent = server.requests()[before..].to_vec();
        if sent.iter().any(|s| s.method == "DELETE") {
            deleted_at.push(clock);
        }
        for h in &report.outcome.held {
            if let Reason::DaemonSet(DaemonSetReason::FailedPodBackoff { remaining }) = h.reason {
                assert!(sent.iter().all(|s| s.method != "DELETE"), "held, not deleted");
                let requeue = report.outcome.requeue_after.as_ref().map(|r| r.after.as_secs());
                assert!(requeue.is_some_and(|r| r <= remaining), "requeued within the backoff");
                held.push((clock, remaining));
            }
        }
    }
    let gaps: Vec<i64> = deleted_at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(deleted_at.len() >= 4, "deletes at {deleted_at:?}");
    assert!(gaps.windows(2).all(|g| g[1] >= g[0]), "delays never shrink: {gaps:?}");
    assert!(gaps.last() > gaps.first(), "delays grow: {gaps:?}");
    assert!(held.iter().any(|&(_, r)| r >= 2), "a later backoff is longer: {held:?}");
    server.stop();
}
