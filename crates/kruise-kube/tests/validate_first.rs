//! Issue 12 item 2: the adapter validates every workload (kruise-api's validation, after the
//! webhook defaults) before planning. An invalid one gets a status condition and a Warning
//! event naming the field path, and no other write; valid again, the condition is removed.

mod support;

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::CloneSet;
use kruise_kube::AdapterError;
use kruise_kube::controller::Adapter;
use kruise_kube::validity::INVALID_SPEC;
use serde_json::{Value, json};
use support::mock::{MockServer, Reply};
use support::{Cluster, TestPlanner, cloneset};

const CS_STATUS: &str =
    "/apis/apps.kruise.io/v1beta1/namespaces/default/clonesets/web/status?&fieldManager=kruise-rs";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/default/events?";

fn now() -> Timestamp {
    Timestamp::from_second(1_767_225_660).unwrap()
}

fn event_reply() -> Reply {
    Reply::created(json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "web.1", "namespace": "default"},
        "eventTime": "2026-01-01T00:01:00.000000Z"
    }))
}

fn recorder(client: &kube::Client) -> kube::runtime::events::Recorder {
    kube::runtime::events::Recorder::new(
        client.clone(),
        kube::runtime::events::Reporter { controller: "kruise-rs".into(), instance: Some("op-0".into()) },
    )
}

/// Runs one reconcile of `cs` against a server that accepts a status patch and an event;
/// returns the error and the requests sent.
async fn reject(cs: &CloneSet) -> (AdapterError, Vec<support::mock::Sent>) {
    let (client, server) =
        MockServer::start(vec![Reply::ok(serde_json::to_value(cs).unwrap()), event_reply()]);
    let mut cluster = Cluster::new();
    let wl = cluster.apply_workload(cs);
    let adapter = Adapter::new("cloneset", client.clone(), TestPlanner, cluster.caches.clone())
        .with_events(recorder(&client));
    let err = adapter.reconcile_at(wl, now(), 1).await.unwrap_err();
    let sent = server.requests();
    server.stop();
    (err, sent)
}

fn assert_rejected_on(err: &AdapterError, sent: &[support::mock::Sent], path: &str) {
    let AdapterError::Invalid { errors, .. } = err else { panic!("not an Invalid error: {err}") };
    assert_eq!(errors.iter().map(|e| e.path.to_string()).collect::<Vec<_>>(), [path]);
    assert!(!err.is_transient());
    let calls: Vec<(&str, &str)> = sent.iter().map(|s| (s.method.as_str(), s.uri.as_str())).collect();
    assert_eq!(calls, [("PATCH", CS_STATUS), ("POST", EVENTS)], "only the condition and the event");
    let patch = &sent[0].body;
    assert_eq!(patch["metadata"]["resourceVersion"], json!("1000"), "guarded by the cached version");
    let cond = &patch["status"]["conditions"][0];
    assert_eq!(cond["type"], json!(INVALID_SPEC));
    assert_eq!(cond["status"], json!("True"));
    assert!(cond["message"].as_str().unwrap_or_default().starts_with(path), "{cond}");
    let ev = &sent[1].body;
    assert_eq!(ev["type"], json!("Warning"));
    assert_eq!(ev["reason"], json!("InvalidSpec"));
    assert!(ev["note"].as_str().unwrap_or_default().contains(path), "{ev}");
}

/// The runaway case: selector `app=web`, template labels `app=other`. Planning it
/// created pods, released them (they do not match) and created more; now nothing is created.
#[tokio::test]
async fn cs_13_selector_not_matching_template_is_rejected_without_pod_writes() {
    let mut cs = cloneset("web", 3, "nginx:1.20");
    if let Some(m) = cs.spec.template.metadata.as_mut() {
        m.labels = Some(BTreeMap::from([("app".to_owned(), "other".to_owned())]));
    }
    let (err, sent) = reject(&cs).await;
    assert_rejected_on(&err, &sent, "spec.template.metadata.labels");
}

/// `scaleStrategy.maxUnavailable: "abc%"` was read as 0 (stuck in ScaleUpLimited for good);
/// now validation rejects it (a deviation from upstream, see docs/deviations.md).
#[tokio::test]
async fn cs_15_unreadable_scale_max_unavailable_is_rejected() {
    let mut cs = cloneset("web", 3, "nginx:1.20");
    cs.spec.scale_strategy.max_unavailable = Some(IntOrString::String("abc%".into()));
    let (err, sent) = reject(&cs).await;
    assert_rejected_on(&err, &sent, "spec.scaleStrategy.maxUnavailable");
}

/// An invalid workload whose condition already says so gets no write at all (the event is
/// folded by the recorder into its series).
#[tokio::test]
async fn invalid_workload_already_marked_gets_no_write() {
    let mut cs = cloneset("web", 3, "nginx:1.20");
    cs.spec.scale_strategy.max_unavailable = Some(IntOrString::String("abc%".into()));
    let (_, sent) = reject(&cs).await;
    let mut marked: Value = serde_json::to_value(&cs).unwrap();
    marked["status"] = sent[0].body["status"].clone();
    let marked: CloneSet = serde_json::from_value(marked).unwrap();
    let (client, server) = MockServer::start(vec![]);
    let mut cluster = Cluster::new();
    let wl = cluster.apply_workload(&marked);
    let adapter = Adapter::new("cloneset", client, TestPlanner, cluster.caches.clone());
    assert!(matches!(adapter.reconcile_at(wl, now(), 1).await, Err(AdapterError::Invalid { .. })));
    assert!(server.calls().is_empty(), "{:?}", server.calls());
    server.stop();
}

/// Fixed, the workload loses its InvalidSpec condition (other conditions kept) before it is
/// planned again.
#[tokio::test]
async fn fixed_workload_loses_the_condition_then_plans() {
    let mut cs = cloneset("web", 1, "nginx:1.20");
    let mut v = serde_json::to_value(&cs).unwrap();
    v["status"] = json!({"observedGeneration": 1, "replicas": 0, "conditions": [
        {"type": "FailedScale", "status": "True"},
        {"type": INVALID_SPEC, "status": "True", "message": "spec.x: bad"}
    ]});
    cs = serde_json::from_value(v).unwrap();
    let (client, server) = MockServer::start(vec![Reply::ok(serde_json::to_value(&cs).unwrap())]);
    let mut cluster = Cluster::new();
    let wl = cluster.apply_workload(&cs);
    let adapter = Adapter::new("cloneset", client, TestPlanner, cluster.caches.clone());
    let report = adapter.reconcile_at(wl, now(), 1).await.unwrap();
    assert_eq!(report.written, 1);
    assert!(report.outcome.requeue_after.is_some());
    let sent = server.requests();
    assert_eq!((sent[0].method.as_str(), sent[0].uri.as_str()), ("PATCH", CS_STATUS));
    assert_eq!(sent[0].body["status"]["conditions"], json!([{"type": "FailedScale", "status": "True"}]));
    server.stop();
}
