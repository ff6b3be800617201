//! The served API through kube-rs, as the operator and other clients use it: discovery, the
//! scheduler and kubelet behind it, list writes guarded by resourceVersion (409) or by a JSON
//! patch `test` (422), a finalizer added by someone else between a read and a write surviving,
//! delete preconditions, the scale and status subresources, watches resuming and expiring
//! (410), and the `Status` errors.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
    PostParams, Preconditions, WatchEvent, WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn start() -> Result<(kruise_serve::Served, Client), Box<dyn std::error::Error>> {
    let mut config = kruise_serve::ServeConfig::default().with_nodes(2);
    config.sim.kubelet.default_pull = kruise_sim::time::Dur::millis(200);
    config.sim.kubelet.start_delay = kruise_sim::time::Dur::millis(100);
    config.sim.kubelet.ready_delay = kruise_sim::time::Dur::millis(100);
    let served = kruise_serve::serve(config).await?;
    let kc = Kubeconfig::from_yaml(&served.kubeconfig())?;
    let client = Client::try_from(Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?)?;
    Ok((served, client))
}

fn code(e: &kube::Error) -> Option<(u16, String)> {
    match e {
        kube::Error::Api(s) => Some((s.code, s.reason.clone())),
        _ => None,
    }
}

fn pod(name: &str, finalizers: &[&str]) -> Result<Pod, serde_json::Error> {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web", "名前": "値"}, "finalizers": finalizers},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.20"}]}
    }))
}

fn clonesets(client: &Client) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("apps.kruise.io", "v1alpha1", "CloneSet"));
    Api::namespaced_with(client.clone(), "default", &ar)
}

fn cloneset(name: &str) -> Result<DynamicObject, serde_json::Error> {
    serde_json::from_value(json!({
        "apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": name}},
            "scaleStrategy": {"podsToDelete": ["a"]},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "nginx:1.20"}]}}}
    }))
}

/// Discovery names our CRDs with their subresources, and the built-in kinds.
#[tokio::test]
async fn discovery_lists_our_kinds_and_the_built_ins() -> TestResult {
    let (served, client) = start().await?;
    let discovery = kube::discovery::Discovery::new(client.clone()).run().await?;
    let (cs, caps) = discovery
        .groups()
        .flat_map(|g| g.versions().flat_map(|v| g.versioned_resources(v)).collect::<Vec<_>>())
        .find(|(r, _)| r.kind == "CloneSet" && r.version == "v1alpha1")
        .ok_or("no CloneSet in discovery")?;
    assert_eq!((cs.group.as_str(), cs.plural.as_str()), ("apps.kruise.io", "clonesets"));
    assert!(caps.subresources.iter().any(|(s, _)| s.plural == "scale"));
    assert!(discovery.has_group("coordination.k8s.io") && discovery.has_group("events.k8s.io"));
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client);
    assert_eq!(nodes.list(&ListParams::default()).await?.items.len(), 2);
    served.stop().await;
    Ok(())
}

/// A pod created through the API is scheduled and started by the kubelet model, on the wall
/// clock.
#[tokio::test]
async fn a_pod_is_scheduled_and_becomes_ready() -> TestResult {
    let (served, client) = start().await?;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    pods.create(&PostParams::default(), &pod("p", &[])?).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let p = pods.get("p").await?;
        let node = p.spec.as_ref().and_then(|s| s.node_name.clone());
        let ready = p
            .status
            .and_then(|s| s.conditions)
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        if node.is_some() && ready {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "pod not ready in 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    served.stop().await;
    Ok(())
}

/// Issue 12 items 6-8 rely on this: a list written from a stale read (merge patch carrying the
/// resourceVersion read) gets 409 Conflict, and a finalizer another client added between the
/// read and the write survives the retry from a fresh read.
#[tokio::test]
async fn a_guarded_list_write_from_a_stale_read_is_409_and_the_other_finalizer_survives() -> TestResult {
    let (served, client) = start().await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(&PostParams::default(), &pod("p", &["a.io/x"])?).await?;
    let read = pods.get("p").await?;
    let rv = read.metadata.resource_version.clone().ok_or("no resourceVersion")?;
    // Someone else adds a finalizer.
    pods.patch(
        "p",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": ["a.io/x", "b.io/y"]}})),
    )
    .await?;
    // Our write, computed from the stale read, guarded by its resourceVersion.
    let ours = json!({"metadata": {"resourceVersion": rv, "finalizers": ["a.io/x", "c.io/z"]}});
    let err = pods
        .patch("p", &PatchParams::default(), &Patch::Merge(&ours))
        .await
        .err()
        .ok_or("stale write accepted")?;
    assert_eq!(code(&err), Some((409, "Conflict".to_owned())));
    // Retry from a fresh read.
    let fresh = pods.get("p").await?;
    let mut list = fresh.metadata.finalizers.clone().unwrap_or_default();
    list.push("c.io/z".to_owned());
    let retry = json!({"metadata": {"resourceVersion": fresh.metadata.resource_version, "finalizers": list}});
    let done = pods.patch("p", &PatchParams::default(), &Patch::Merge(&retry)).await?;
    assert_eq!(done.metadata.finalizers, Some(vec!["a.io/x".into(), "b.io/y".into(), "c.io/z".into()]));

    // The same for podsToDelete on a CloneSet and ownerReferences on a pod.
    let cs = clonesets(&client);
    cs.create(&PostParams::default(), &cloneset("web")?).await?;
    let stale = cs.get("web").await?.metadata.resource_version;
    cs.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"scaleStrategy": {"podsToDelete": ["a", "b"]}}})),
    )
    .await?;
    let truncate =
        json!({"metadata": {"resourceVersion": stale}, "spec": {"scaleStrategy": {"podsToDelete": []}}});
    let err = cs
        .patch("web", &PatchParams::default(), &Patch::Merge(&truncate))
        .await
        .err()
        .ok_or("stale write accepted")?;
    assert_eq!(code(&err), Some((409, "Conflict".to_owned())));
    let kept = cs.get("web").await?;
    assert_eq!(kept.data["spec"]["scaleStrategy"]["podsToDelete"], json!(["a", "b"]));
    let stale = pods.get("p").await?.metadata.resource_version;
    pods.patch(
        "p",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"touched": "yes"}}})),
    )
    .await?;
    let adopt = json!({"metadata": {"resourceVersion": stale, "ownerReferences": [{"apiVersion": "apps.kruise.io/v1alpha1",
        "kind": "CloneSet", "name": "web", "uid": kept.metadata.uid, "controller": true, "blockOwnerDeletion": true}]}});
    let err = pods
        .patch("p", &PatchParams::default(), &Patch::Merge(&adopt))
        .await
        .err()
        .ok_or("stale write accepted")?;
    assert_eq!(code(&err), Some((409, "Conflict".to_owned())));
    served.stop().await;
    Ok(())
}

/// An RFC 6902 JSON patch of pod `name` in `default` (sent by hand: kube's `Patch::Json`
/// needs a feature the workspace does not enable).
async fn json_patch(client: &Client, name: &str, ops: &Value) -> Result<Pod, Box<dyn std::error::Error>> {
    let req = http::Request::patch(format!("/api/v1/namespaces/default/pods/{name}"))
        .header("Content-Type", "application/json-patch+json")
        .body(serde_json::to_vec(ops)?)?;
    Ok(client.request::<Pod>(req).await?)
}

fn code_of(e: &(dyn std::error::Error + 'static)) -> Option<(u16, String)> {
    e.downcast_ref::<kube::Error>().and_then(code)
}

/// A JSON patch whose `test` no longer holds is refused as kube-apiserver refuses it (422
/// Invalid) and changes nothing; a `test` that holds lets the write through.
#[tokio::test]
async fn a_json_patch_test_guards_a_list() -> TestResult {
    let (served, client) = start().await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(&PostParams::default(), &pod("p", &["a.io/x"])?).await?;
    pods.patch(
        "p",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": ["a.io/x", "b.io/y"]}})),
    )
    .await?;
    let remove_ours = json!([
        {"op": "test", "path": "/metadata/finalizers", "value": ["a.io/x"]},
        {"op": "replace", "path": "/metadata/finalizers", "value": []}
    ]);
    let err = json_patch(&client, "p", &remove_ours).await.err().ok_or("failed test accepted")?;
    assert_eq!(code_of(err.as_ref()), Some((422, "Invalid".to_owned())));
    assert_eq!(pods.get("p").await?.metadata.finalizers, Some(vec!["a.io/x".into(), "b.io/y".into()]));
    let guarded = json!([
        {"op": "test", "path": "/metadata/finalizers", "value": ["a.io/x", "b.io/y"]},
        {"op": "remove", "path": "/metadata/finalizers/0"}
    ]);
    let p = json_patch(&client, "p", &guarded).await?;
    assert_eq!(p.metadata.finalizers, Some(vec!["b.io/y".into()]));
    served.stop().await;
    Ok(())
}

/// Deletes honour uid and resourceVersion preconditions (409); a bound pod lingers with a
/// deletionTimestamp until the kubelet has stopped it.
#[tokio::test]
async fn deletes_honour_preconditions() -> TestResult {
    let (served, client) = start().await?;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let p = pods.create(&PostParams::default(), &pod("p", &[])?).await?;
    let wrong_uid = DeleteParams {
        preconditions: Some(Preconditions { uid: Some("other".into()), resource_version: None }),
        ..Default::default()
    };
    let err = pods.delete("p", &wrong_uid).await.err().ok_or("uid precondition ignored")?;
    assert_eq!(code(&err), Some((409, "Conflict".to_owned())));
    let wrong_rv = DeleteParams {
        preconditions: Some(Preconditions { uid: None, resource_version: Some("1".into()) }),
        ..Default::default()
    };
    let err = pods.delete("p", &wrong_rv).await.err().ok_or("resourceVersion precondition ignored")?;
    assert_eq!(code(&err), Some((409, "Conflict".to_owned())));
    let right = DeleteParams {
        preconditions: Some(Preconditions { uid: p.metadata.uid.clone(), resource_version: None }),
        ..Default::default()
    };
    pods.delete("p", &right).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while pods.get_opt("p").await?.is_some() {
        assert!(tokio::time::Instant::now() < deadline, "pod not gone in 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let err = pods.delete("p", &DeleteParams::default()).await.err().ok_or("deleted twice")?;
    assert_eq!(code(&err), Some((404, "NotFound".to_owned())));
    served.stop().await;
    Ok(())
}

/// The errors a real server gives: 404, 409 AlreadyExists, 422 for a missing name, 415 for a
/// strategic merge patch of a custom resource, 400 for a name that differs from the URL's.
#[tokio::test]
async fn errors_are_status_objects_with_the_usual_reasons() -> TestResult {
    let (served, client) = start().await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let err = pods.get("nope").await.err().ok_or("found nothing")?;
    assert_eq!(code(&err), Some((404, "NotFound".to_owned())));
    pods.create(&PostParams::default(), &pod("p", &[])?).await?;
    let err = pods.create(&PostParams::default(), &pod("p", &[])?).await.err().ok_or("created twice")?;
    assert_eq!(code(&err), Some((409, "AlreadyExists".to_owned())));
    let err = pods.create(&PostParams::default(), &pod("", &[])?).await.err().ok_or("no name accepted")?;
    assert_eq!(code(&err), Some((422, "Invalid".to_owned())));
    let err =
        pods.replace("q", &PostParams::default(), &pod("p", &[])?).await.err().ok_or("name mismatch")?;
    assert_eq!(code(&err).map(|c| c.0), Some(400));
    let cs = clonesets(&client);
    cs.create(&PostParams::default(), &cloneset("web")?).await?;
    let err = cs
        .patch("web", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"replicas": 1}})))
        .await
        .err()
        .ok_or("strategic patch of a CRD")?;
    assert_eq!(code(&err).map(|c| c.0), Some(415));
    // Strategic merge of a pod: containers merged by name, labels merged.
    let p = pods
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Strategic(json!({"metadata": {"labels": {"tier": "gold"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:latest"}]}})),
        )
        .await?;
    assert_eq!(p.metadata.labels.unwrap_or_default().get("tier").map(String::as_str), Some("gold"));
    served.stop().await;
    Ok(())
}

/// The scale and status subresources of a CloneSet; server-side apply by one manager removes
/// what it no longer applies.
#[tokio::test]
async fn scale_status_and_apply() -> TestResult {
    let (served, client) = start().await?;
    let cs = clonesets(&client);
    let pp = PatchParams::apply("test").force();
    let mut m = serde_json::to_value(cloneset("web")?)?;
    cs.patch("web", &pp, &Patch::Apply(&m)).await?;
    let scale = cs.get_scale("web").await?;
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(3));
    cs.patch_scale("web", &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 5}}))).await?;
    assert_eq!(cs.get("web").await?.data["spec"]["replicas"], json!(5));
    cs.patch_status(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"replicas": 2}, "spec": {"replicas": 9}})),
    )
    .await?;
    let got = cs.get("web").await?;
    assert_eq!(
        (got.data["status"]["replicas"].clone(), got.data["spec"]["replicas"].clone()),
        (json!(2), json!(5))
    );
    // Apply without podsToDelete: the field this manager applied before goes.
    m["spec"]["scaleStrategy"] = json!({"maxUnavailable": 1});
    let after = cs.patch("web", &pp, &Patch::Apply(&m)).await?;
    assert_eq!(after.data["spec"]["scaleStrategy"], json!({"maxUnavailable": 1}));
    assert_eq!(after.data["status"]["replicas"], json!(2));
    served.stop().await;
    Ok(())
}

/// A watch from a resourceVersion gets the changes after it, then bookmarks; one from a
/// resourceVersion older than the server keeps gets 410 Expired.
#[tokio::test]
async fn watches_resume_and_expire() -> TestResult {
    let (served, client) = start().await?;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let rv = pods.list(&ListParams::default()).await?.metadata.resource_version.ok_or("no list rv")?;
    pods.create(&PostParams::default(), &pod("p", &[])?).await?;
    let wp = WatchParams::default().labels("app=web").timeout(10);
    let mut stream = pods.watch(&wp, &rv).await?.boxed();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.try_next()).await??;
    match first {
        Some(WatchEvent::Added(p)) => assert_eq!(p.metadata.name.as_deref(), Some("p")),
        other => return Err(format!("expected ADDED p, got {other:?}").into()),
    }
    let mut old = pods.watch(&WatchParams::default(), "1").await?.boxed();
    match tokio::time::timeout(Duration::from_secs(5), old.try_next()).await?? {
        Some(WatchEvent::Error(e)) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => return Err(format!("expected 410, got {other:?}").into()),
    }
    served.stop().await;
    Ok(())
}

/// Objects live in namespaces that exist, and go with them.
#[tokio::test]
async fn namespaces_hold_their_objects() -> TestResult {
    let (served, client) = start().await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "team-a");
    let err =
        pods.create(&PostParams::default(), &pod("p", &[])?).await.err().ok_or("no namespace needed")?;
    assert_eq!(code(&err), Some((404, "NotFound".to_owned())));
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    namespaces
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "team-a"}}))?)
        .await?;
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client, "team-a");
    cms.create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": "c"}}))?).await?;
    namespaces.delete("team-a", &DeleteParams::default()).await?;
    assert!(cms.get_opt("c").await?.is_none());
    served.stop().await;
    Ok(())
}

/// An `events.k8s.io/v1` event (what kube-runtime's recorder writes) is a core `v1` event too
/// (what `kubectl describe` reads), found by its involved object.
#[tokio::test]
async fn events_are_one_store_under_both_apis() -> TestResult {
    let (served, client) = start().await?;
    let new: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), "default");
    let e = serde_json::from_value(
        json!({"metadata": {"name": "web.1"}, "eventTime": "2026-12-07T00:00:00.000000Z",
        "regarding": {"kind": "CloneSet", "name": "web", "namespace": "default"}, "note": "succeed to create pod web-1",
        "reason": "SuccessfulCreate", "type": "Normal", "action": "Create", "reportingController": "kruise-rs",
        "reportingInstance": "a"}),
    )?;
    new.create(&PostParams::default(), &e).await?;
    new.patch(
        "web.1",
        &PatchParams::default(),
        &Patch::Merge(json!({"series": {"count": 2, "lastObservedTime": "2026-12-07T00:00:01.000000Z"}})),
    )
    .await?;
    let old: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client, "default");
    let found = old
        .list(&ListParams::default().fields("involvedObject.name=web,involvedObject.kind=CloneSet"))
        .await?;
    let got = found.items.first().ok_or("no core event")?;
    assert_eq!(got.message.as_deref(), Some("succeed to create pod web-1"));
    assert_eq!(got.series.as_ref().map(|s| s.count), Some(Some(2)));
    assert_eq!(new.get("web.1").await?.note.as_deref(), Some("succeed to create pod web-1"));
    served.stop().await;
    Ok(())
}

/// `kubectl get` asks for a `Table`: pods come with kubectl's columns, CloneSets with their
/// CRD's printer columns.
#[tokio::test]
async fn kubectl_gets_tables() -> TestResult {
    let (served, client) = start().await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(&PostParams::default(), &pod("p", &[])?).await?;
    clonesets(&client).create(&PostParams::default(), &cloneset("web")?).await?;
    let table = |path: &str| {
        http::Request::get(path)
            .header("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
            .body(Vec::new())
    };
    let t: Value = client.request(table("/api/v1/namespaces/default/pods")?).await?;
    assert_eq!(t["kind"], json!("Table"));
    let cols: Vec<&str> =
        t["columnDefinitions"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(&cols[..5], ["Name", "Ready", "Status", "Restarts", "Age"]);
    assert_eq!(t["rows"][0]["cells"][0], json!("p"));
    let t: Value =
        client.request(table("/apis/apps.kruise.io/v1alpha1/namespaces/default/clonesets")?).await?;
    let cols: Vec<&str> =
        t["columnDefinitions"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect();
    assert!(cols.len() > 2 && cols[0] == "Name", "{cols:?}");
    assert_eq!(t["rows"][0]["cells"][0], json!("web"));
    served.stop().await;
    Ok(())
}
