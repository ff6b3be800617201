//! The adapter against kube's mock service: the exact API requests (verb, path, body) a
//! reconcile sends, for the CloneSet flows of the seed walk-through and the failure cases
//! expectations and preconditions exist for. Answers are in the API server's real shapes.

mod support;

use std::sync::Arc;

use jiff::Timestamp;
use kruise_core::write::{ApiWrite, Subresource, Target};
use kruise_kube::controller::Adapter;
use kruise_kube::execute::{Executor, WriteResult};
use kruise_kube::expectations::ExpectationsStore;
use kruise_kube::{AdapterError, WorkloadKey};
use serde_json::{Value, json};
use support::mock::{MockServer, Reply};
use support::{Cluster, NS, TestPlanner, cloneset, new_pod, revision_of, stored_pod};

const NOW: i64 = 1_767_225_660;

fn now() -> Timestamp {
    Timestamp::from_second(NOW).unwrap()
}

fn call(method: &str, uri: &str) -> (String, String) {
    (method.to_owned(), uri.to_owned())
}

const PODS: &str = "/api/v1/namespaces/default/pods";
const CS_STATUS: &str =
    "/apis/apps.kruise.io/v1beta1/namespaces/default/clonesets/web/status?&fieldManager=kruise-rs";

fn pod_uri(name: &str) -> String {
    format!("{PODS}/{name}")
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

/// CS-44 (seed 01): a new CloneSet with 3 replicas and no pods: three pod creates, then the
/// status write with observedGeneration.
#[tokio::test]
async fn cs_44_create_from_scratch_posts_pods_then_status() {
    let cs = cloneset("web", 3, "nginx:1.20");
    let names = ["web-00007", "web-00008", "web-00009"];
    let mut replies: Vec<Reply> = names
        .iter()
        .enumerate()
        .map(|(i, n)| Reply::created(to_json(&stored_pod(&cs, n, 2000 + i as u64))))
        .collect();
    replies.push(Reply::ok(to_json(&cs)));
    let (client, server) = MockServer::start(replies);
    let mut cluster = Cluster::new();
    let wl = cluster.apply_workload(&cs);
    let adapter = Adapter::new("cloneset", client, TestPlanner, cluster.caches.clone());

    let report = adapter.reconcile_at(wl, now(), 7).await.unwrap();
    assert_eq!(report.written, 4);

    let sent = server.requests();
    let create_uri = format!("{PODS}?&fieldManager=kruise-rs");
    assert_eq!(
        server.calls(),
        vec![
            call("POST", &create_uri),
            call("POST", &create_uri),
            call("POST", &create_uri),
            call("PATCH", CS_STATUS)
        ]
    );
    // The adapter hands the planner the CloneSet with the webhook defaults applied (CS-10..12).
    let mut defaulted = cs.clone();
    kruise_api::defaults::default(&mut defaulted);
    for (s, n) in sent.iter().zip(names) {
        let want = new_pod(&defaulted, n);
        assert_eq!(
            s.body,
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": to_json(&want.metadata), "spec": to_json(&want.spec)})
        );
    }
    assert_eq!(sent[3].content_type.as_deref(), Some("application/merge-patch+json"));
    assert_eq!(
        sent[3].body,
        json!({"status": {"observedGeneration": 1, "replicas": 0, "updatedReplicas": 0, "updateRevision": revision_of(&cs)}})
    );
    // The creates are expected until the cache shows them (CS-87).
    let pending = adapter.expectations().snapshot(&WorkloadKey::new(NS, "web"));
    assert_eq!(pending.creates.keys().cloned().collect::<Vec<_>>(), names);
    server.stop();
}

/// CS-87: right after the creates the cache still shows no pods. A naive controller would
/// create three more; with expectations the second reconcile sends nothing and requeues.
/// Once the pods appear in the cache, the expectations clear and the next reconcile only
/// writes status.
#[tokio::test]
async fn cs_87_stale_cache_does_not_double_create() {
    let cs = cloneset("web", 3, "nginx:1.20");
    let names = ["web-00007", "web-00008", "web-00009"];
    let mut replies: Vec<Reply> = names
        .iter()
        .enumerate()
        .map(|(i, n)| Reply::created(to_json(&stored_pod(&cs, n, 2000 + i as u64))))
        .collect();
    replies.push(Reply::ok(to_json(&cs)));
    let mut after = cs.clone();
    after.status = Some(kruise_api::apps::v1beta1::CloneSetStatus {
        observed_generation: 1,
        replicas: 3,
        updated_replicas: 3,
        update_revision: revision_of(&cs),
        ..Default::default()
    });
    replies.push(Reply::ok(to_json(&after)));
    let (client, server) = MockServer::start(replies);
    let mut cluster = Cluster::new();
    let wl = cluster.apply_workload(&cs);
    let adapter = Adapter::new("cloneset", client, TestPlanner, cluster.caches.clone());

    adapter.reconcile_at(wl.clone(), now(), 7).await.unwrap();
    assert_eq!(server.calls().len(), 4);

    // Stale cache: same (empty) pod list, different seed — nothing is sent.
    let report = adapter.reconcile_at(wl.clone(), now(), 99).await.unwrap();
    assert_eq!(report.written, 0);
    assert_eq!(report.outcome.held[0].reason.kind(), "AwaitingExpectations");
    assert_eq!(report.outcome.requeue().map(|r| r.1), Some("AwaitingExpectations"));
    assert_eq!(server.calls().len(), 4);

    // The watch catches up: pods seen, creates satisfied, only the status moves on.
    for (i, n) in names.iter().enumerate() {
        cluster.apply_pod(&stored_pod(&cs, n, 2000 + i as u64));
    }
    let report = adapter.reconcile_at(wl, now(), 100).await.unwrap();
    assert_eq!(report.written, 1);
    assert_eq!(server.calls()[4], call("PATCH", CS_STATUS));
    assert_eq!(server.requests()[4].body["status"]["replicas"], json!(3));
    assert!(adapter.expectations().is_empty());
    server.stop();
}

/// CS-35/CS-54 (seed 03): replicas 4 and `podsToDelete: [web-b]` on 5 pods: exactly the named
/// pod is deleted, with its uid as precondition, then status.
#[tokio::test]
async fn cs_35_scale_down_deletes_pods_to_delete_with_uid_precondition() {
    let mut cs = cloneset("web", 4, "nginx:1.20");
    cs.spec.scale_strategy.pods_to_delete = vec!["web-b".into()];
    let mut cluster = Cluster::new();
    for (i, n) in ["web-a", "web-b", "web-c", "web-d", "web-e"].iter().enumerate() {
        cluster.apply_pod(&stored_pod(&cs, n, 3000 + i as u64));
    }
    let mut deleted = stored_pod(&cs, "web-b", 3100);
    deleted.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now()));
    let (client, server) = MockServer::start(vec![Reply::ok(to_json(&deleted)), Reply::ok(to_json(&cs))]);
    let wl = cluster.apply_workload(&cs);
    let adapter = Adapter::new("cloneset", client, TestPlanner, cluster.caches.clone());

    adapter.reconcile_at(wl.clone(), now(), 1).await.unwrap();
    assert_eq!(
        server.calls(),
        vec![call("DELETE", &format!("{}?", pod_uri("web-b"))), call("PATCH", CS_STATUS)]
    );
    assert_eq!(server.requests()[0].body, json!({"preconditions": {"uid": "uid-web-b"}}));
    assert_eq!(server.requests()[1].body["status"]["replicas"], json!(4));
    // Expected deleted until the cache shows the deletionTimestamp; then a fresh plan with
    // the pod still listed but terminating deletes nothing more.
    let key = WorkloadKey::new(NS, "web");
    assert_eq!(adapter.expectations().snapshot(&key).deletes.keys().cloned().collect::<Vec<_>>(), ["web-b"]);
    let report = adapter.reconcile_at(wl.clone(), now(), 2).await.unwrap();
    assert_eq!(report.written, 0);
    cluster.apply_pod(&deleted);
    assert!(adapter.expectations().snapshot(&key).deletes.contains_key("web-b"));
    let (client2, server2) = MockServer::start(vec![Reply::ok(to_json(&cs))]);
    let adapter2 = Adapter::new("cloneset", client2, TestPlanner, cluster.caches.clone())
        .with_expectations(adapter.expectations().clone());
    let report = adapter2.reconcile_at(wl, now(), 3).await.unwrap();
    assert!(report.outcome.writes.iter().all(|w| w.name() != "DeletePod"));
    assert!(adapter.expectations().is_empty());
    server.stop();
    server2.stop();
}

/// CS-70/CS-71 (seed 04): an in-place update through its phases: the InPlaceUpdateReady
/// condition goes False on the status subresource, then the pod gets the new image and
/// revision label (merge patch, resourceVersion-guarded); the returned resourceVersion is
/// expected (CS-88), so a reconcile on the stale pod does nothing; once the cache shows the
/// updated pod, the gate is released.
#[tokio::test]
async fn cs_70_in_place_update_gate_then_pod_then_release() {
    let old = cloneset("web", 1, "nginx:1.20");
    let cs = cloneset("web", 1, "nginx:latest");
    let pod = stored_pod(&old, "web-a", 4000);
    let mut cluster = Cluster::new();
    cluster.apply_pod(&pod);
    let mut gated = pod.clone();
    gated.metadata.resource_version = Some("4001".into());
    if let Some(st) = gated.status.as_mut() {
        st.conditions = Some(vec![
            support::condition("InPlaceUpdateReady", "False", Some("StartInPlaceUpdate")),
            support::condition("Ready", "False", None),
        ]);
    }
    let mut updated = gated.clone();
    updated.metadata.resource_version = Some("4002".into());
    updated
        .metadata
        .labels
        .get_or_insert_default()
        .insert("controller-revision-hash".into(), revision_of(&cs));
    if let Some(spec) = updated.spec.as_mut() {
        spec.containers[0].image = Some("nginx:latest".into());
    }
    let (client, server) = MockServer::start(vec![
        Reply::ok(to_json(&gated)),
        Reply::ok(to_json(&updated)),
        Reply::ok(to_json(&updated)),
    ]);
    let wl = cluster.apply_workload(&cs);
    let adapter = Adapter::new("cloneset", client, TestPlanner, cluster.caches.clone());

    adapter.reconcile_at(wl.clone(), now(), 1).await.unwrap();
    let status_uri = format!("{}/status?&fieldManager=kruise-rs", pod_uri("web-a"));
    let main_uri = format!("{}?&fieldManager=kruise-rs", pod_uri("web-a"));
    assert_eq!(
        server.calls(),
        vec![call("PATCH", &status_uri), call("PATCH", &main_uri), call("PATCH", CS_STATUS)]
    );
    let sent = server.requests();
    assert_eq!(
        sent[0].body,
        json!({"status": {"conditions": [
            {"type": "InPlaceUpdateReady", "status": "False", "reason": "StartInPlaceUpdate"},
            {"type": "Ready", "status": "True"}
        ]}})
    );
    assert_eq!(sent[1].body["metadata"]["resourceVersion"], json!("4000"));
    assert_eq!(sent[1].body["metadata"]["labels"]["controller-revision-hash"], json!(revision_of(&cs)));
    assert_eq!(sent[1].body["spec"]["containers"][0]["image"], json!("nginx:latest"));
    assert!(sent.iter().all(|s| s.content_type.as_deref() == Some("application/merge-patch+json")));

    // CS-88: the pod must be seen at resourceVersion >= 4002 before anything else happens.
    let key = WorkloadKey::new(NS, "web");
    assert_eq!(adapter.expectations().snapshot(&key).resource_versions["uid-web-a"].resource_version, 4002);
    let report = adapter.reconcile_at(wl.clone(), now(), 2).await.unwrap();
    assert_eq!(report.written, 0);
    assert_eq!(server.calls().len(), 3);

    // The cache shows the updated pod (new image running): release the gate.
    cluster.apply_pod(&updated);
    let (client2, server2) = MockServer::start(vec![Reply::ok(to_json(&updated)), Reply::ok(to_json(&cs))]);
    let adapter2 = Adapter::new("cloneset", client2, TestPlanner, cluster.caches.clone())
        .with_expectations(adapter.expectations().clone());
    adapter2.reconcile_at(wl, now(), 3).await.unwrap();
    assert_eq!(server2.calls(), vec![call("PATCH", &status_uri), call("PATCH", CS_STATUS)]);
    assert_eq!(
        server2.requests()[0].body,
        json!({"status": {"conditions": [
            {"type": "InPlaceUpdateReady", "status": "True"},
            {"type": "Ready", "status": "False"}
        ]}})
    );
    server.stop();
    server2.stop();
}

/// A 409 on a guarded pod patch stops the plan (the status write is not sent), is reported
/// as a transient conflict with a short backoff, and the retry on a fresher cache succeeds.
#[tokio::test]
async fn conflict_409_stops_the_plan_and_is_retried() {
    let old = cloneset("web", 1, "nginx:1.20");
    let cs = cloneset("web", 1, "nginx:latest");
    let pod = stored_pod(&old, "web-a", 4000);
    let mut cluster = Cluster::new();
    cluster.apply_pod(&pod);
    let (client, server) =
        MockServer::start(vec![Reply::ok(to_json(&pod)), Reply::conflict("web-a", "pods")]);
    let wl = cluster.apply_workload(&cs);
    let adapter = Adapter::new("cloneset", client, TestPlanner, cluster.caches.clone());

    let err = adapter.reconcile_at(wl.clone(), now(), 1).await.unwrap_err();
    assert!(matches!(err, AdapterError::Conflict { op: "MergePatch", .. }), "{err}");
    assert!(err.is_transient());
    assert_eq!(server.calls().len(), 2, "the status write after the conflict is not sent");
    let m = adapter.metrics().render();
    assert!(m.contains("kruise_writes_total{controller=\"cloneset\",op=\"MergePatch\"} 1"), "{m}");
    let key = WorkloadKey::new(NS, "web");
    assert_eq!(adapter.backoff(&key, &err), std::time::Duration::from_secs(1));
    assert_eq!(adapter.backoff(&key, &err), std::time::Duration::from_secs(2));

    // Retry: the cache now shows the pod as someone else left it (newer resourceVersion).
    let mut fresh = pod.clone();
    fresh.metadata.resource_version = Some("4010".into());
    cluster.apply_pod(&fresh);
    let (client2, server2) = MockServer::start(vec![
        Reply::ok(to_json(&fresh)),
        Reply::ok(to_json(&fresh)),
        Reply::ok(to_json(&cs)),
    ]);
    let adapter2 = Adapter::new("cloneset", client2, TestPlanner, cluster.caches.clone());
    let report = adapter2.reconcile_at(wl, now(), 2).await.unwrap();
    assert_eq!(report.written, 3);
    assert_eq!(server2.requests()[1].body["metadata"]["resourceVersion"], json!("4010"));
    server.stop();
    server2.stop();
}

/// CS-86: a whole-status write goes to the status subresource as a PUT guarded by the
/// resourceVersion it was computed from; one without a resourceVersion is refused before any
/// request is sent.
#[tokio::test]
async fn status_replace_uses_status_subresource_and_requires_resource_version() {
    let mut cs = cloneset("web", 3, "nginx:1.20");
    cs.status = Some(kruise_api::apps::v1beta1::CloneSetStatus {
        observed_generation: 1,
        replicas: 3,
        ready_replicas: 3,
        update_revision: revision_of(&cs),
        ..Default::default()
    });
    let (client, server) = MockServer::start(vec![Reply::ok(to_json(&cs))]);
    let exec = Executor::new(client);
    let store = ExpectationsStore::new();
    let key = WorkloadKey::new(NS, "web");
    let target = Target::namespaced("apps.kruise.io/v1beta1", "CloneSet", NS, "web");
    let write =
        ApiWrite::Replace { target: target.clone(), subresource: Subresource::Status, object: to_json(&cs) };
    assert_eq!(
        exec.execute(&key, &write, &store, now()).await.unwrap(),
        WriteResult::Done(Some("1000".to_owned()))
    );
    assert_eq!(
        server.calls(),
        vec![call(
            "PUT",
            "/apis/apps.kruise.io/v1beta1/namespaces/default/clonesets/web/status?&fieldManager=kruise-rs"
        )]
    );
    let body = &server.requests()[0].body;
    assert_eq!(body["metadata"]["resourceVersion"], json!("1000"));
    assert_eq!(body["status"]["observedGeneration"], json!(1));

    let mut blind = to_json(&cs);
    blind["metadata"].as_object_mut().unwrap().remove("resourceVersion");
    let write = ApiWrite::Replace { target, subresource: Subresource::Status, object: blind };
    let err = exec.execute(&key, &write, &store, now()).await.unwrap_err();
    assert!(
        matches!(&err, AdapterError::MalformedWrite { path, .. } if path.to_string() == "metadata.resourceVersion"),
        "{err}"
    );
    assert_eq!(server.calls().len(), 1);
    server.stop();
}

/// A delete of a pod already gone (404) or replaced by a namesake (409 on the uid
/// precondition) is done; its delete expectation is withdrawn.
#[tokio::test]
async fn delete_of_gone_or_replaced_pod_is_done() {
    let (client, server) = MockServer::start(vec![
        Reply::not_found("web-a", "pods"),
        Reply::status(
            409,
            "Conflict",
            "Precondition failed: UID in precondition: uid-web-b, UID in object meta: other",
            "web-b",
            "pods",
        ),
    ]);
    let exec = Executor::new(client);
    let store = ExpectationsStore::new();
    let key = WorkloadKey::new(NS, "web");
    for n in ["web-a", "web-b"] {
        let write = ApiWrite::Delete { target: Target::pod(NS, n), uid: Some(format!("uid-{n}")) };
        assert_eq!(exec.execute(&key, &write, &store, now()).await.unwrap(), WriteResult::AlreadyDone);
    }
    assert_eq!(
        server.calls(),
        vec![
            call("DELETE", &format!("{}?", pod_uri("web-a"))),
            call("DELETE", &format!("{}?", pod_uri("web-b")))
        ]
    );
    assert!(store.is_empty());
    server.stop();
}

/// In-place resource changes go to `pods/resize`; a server without that subresource
/// (Kubernetes < 1.33, 404) gets the same merge patch on the pod.
#[tokio::test]
async fn resize_uses_subresource_and_falls_back_on_old_servers() {
    let cs = cloneset("web", 1, "nginx:1.20");
    let pod = stored_pod(&cs, "web-a", 5000);
    let patch =
        json!({"spec": {"containers": [{"name": "nginx", "resources": {"requests": {"cpu": "500m"}}}]}});
    let (client, server) = MockServer::start(vec![
        Reply::ok(to_json(&pod)),
        Reply::status(404, "NotFound", "the server could not find the requested resource", "", ""),
        Reply::ok(to_json(&pod)),
    ]);
    let exec = Executor::new(client);
    let store = ExpectationsStore::new();
    let key = WorkloadKey::new(NS, "web");
    let write = ApiWrite::MergePatch {
        target: Target::pod(NS, "web-a"),
        subresource: Subresource::Resize,
        patch: patch.clone(),
    };
    exec.execute(&key, &write, &store, now()).await.unwrap();
    exec.execute(&key, &write, &store, now()).await.unwrap();
    let resize = format!("{}/resize?&fieldManager=kruise-rs", pod_uri("web-a"));
    let main = format!("{}?&fieldManager=kruise-rs", pod_uri("web-a"));
    assert_eq!(server.calls(), vec![call("PATCH", &resize), call("PATCH", &resize), call("PATCH", &main)]);
    assert!(server.requests().iter().all(|s| s.body == patch));
    server.stop();
}

/// The planner's events are published (events.k8s.io/v1) for the workload after its writes.
#[tokio::test]
async fn planner_events_are_published_after_writes() {
    let cs = cloneset("web", 1, "nginx:1.20");
    let (client, server) = MockServer::start(vec![
        Reply::created(to_json(&stored_pod(&cs, "web-00001", 1))),
        Reply::ok(to_json(&cs)),
        Reply::created(
            json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "web.1", "namespace": NS}, "eventTime": "2026-01-01T00:01:00.000000Z"}),
        ),
    ]);
    let mut cluster = Cluster::new();
    let wl = cluster.apply_workload(&cs);
    let recorder = kube::runtime::events::Recorder::new(
        client.clone(),
        kube::runtime::events::Reporter {
            controller: "kruise-rs".into(),
            instance: Some("kruise-operator-0".into()),
        },
    );
    let adapter = Adapter::new("cloneset", client, TestPlanner, cluster.caches.clone()).with_events(recorder);
    adapter.reconcile_at(wl, now(), 1).await.unwrap();
    let calls = server.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[2].0, "POST");
    assert!(calls[2].1.starts_with("/apis/events.k8s.io/v1/namespaces/default/events"), "{}", calls[2].1);
    let ev = &server.requests()[2].body;
    assert_eq!(ev["reason"], json!("SuccessfulCreate"));
    assert_eq!(ev["type"], json!("Normal"));
    assert_eq!(ev["note"], json!("succeed to create 1 pods"));
    assert_eq!(ev["regarding"]["kind"], json!("CloneSet"));
    assert_eq!(ev["regarding"]["name"], json!("web"));
    assert_eq!(ev["reportingController"], json!("kruise-rs"));
    server.stop();
}

/// CS-24: pods are listed by owner reference only. A bare pod matching the selector is not
/// handed to the planner (adopting it made an invalid CloneSet create and release pods in a
/// loop), nor is a pod controlled by something else, or one in another namespace.
#[tokio::test]
async fn cs_24_world_lists_pods_by_owner_reference_only() {
    let cs = cloneset("web", 2, "nginx:1.20");
    let mut cluster = Cluster::new();
    cluster.apply_pod(&stored_pod(&cs, "web-owned", 1));
    let mut orphan = stored_pod(&cs, "web-orphan", 2);
    orphan.metadata.owner_references = None;
    cluster.apply_pod(&orphan);
    let mut foreign = stored_pod(&cs, "web-foreign", 3);
    if let Some(refs) = foreign.metadata.owner_references.as_mut() {
        refs[0].uid = "someone-else".into();
        refs[0].name = "other".into();
    }
    cluster.apply_pod(&foreign);
    let mut elsewhere = stored_pod(&cs, "web-elsewhere", 4);
    elsewhere.metadata.namespace = Some("other".into());
    cluster.apply_pod(&elsewhere);
    let wl = cluster.apply_workload(&cs);
    let observed = kruise_kube::observe::observe(wl, &cluster.caches).unwrap();
    let names: Vec<_> = observed.pods().names().map(str::to_owned).collect();
    assert_eq!(names, ["web-owned"]);
    let _ = Arc::clone(&observed.workload);
}

/// A replica that is not (or no longer) the leader sends nothing, even with writes planned.
#[tokio::test]
async fn not_leading_sends_no_writes() {
    let cs = cloneset("web", 2, "nginx:1.20");
    let (client, server) = MockServer::start(vec![]);
    let mut cluster = Cluster::new();
    let wl = cluster.apply_workload(&cs);
    let (lead_tx, lead_rx) = tokio::sync::watch::channel(false);
    let adapter =
        Adapter::new("cloneset", client, TestPlanner, cluster.caches.clone()).with_leader_gate(lead_rx);
    let err = adapter.reconcile_at(wl.clone(), now(), 1).await.unwrap_err();
    assert!(matches!(err, AdapterError::NotLeader));
    assert!(server.calls().is_empty());
    assert!(adapter.expectations().is_empty(), "nothing sent, nothing expected");
    drop(lead_tx);
    server.stop();
}

/// Until every cache has listed once, the controller does not plan (an empty pod cache is not
/// "no pods": planning on it would create every pod again); it looks again shortly.
#[tokio::test]
async fn no_planning_before_caches_sync() {
    let cs = cloneset("web", 2, "nginx:1.20");
    let (client, server) = MockServer::start(vec![]);
    let mut cluster = Cluster::new();
    let wl = cluster.apply_workload(&cs);
    let synced = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let adapter = Arc::new(
        Adapter::new("cloneset", client, TestPlanner, cluster.caches.clone()).with_sync_flag(synced.clone()),
    );
    let action = kruise_kube::controller::reconcile(wl, adapter.clone()).await.unwrap();
    assert_eq!(action, kube::runtime::controller::Action::requeue(std::time::Duration::from_millis(500)));
    assert!(server.calls().is_empty());
    assert!(!adapter.is_synced());
    synced.store(true, std::sync::atomic::Ordering::Release);
    assert!(adapter.is_synced());
    server.stop();
}
