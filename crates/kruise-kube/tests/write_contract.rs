//! The write contract of `ApiWrite::Replace` (see its docs in `kruise_core::write`): a
//! `Replace` without `metadata.resourceVersion` is sent only when an earlier write of the same
//! plan addressed the same object, guarded by the resourceVersion that write returned; any
//! other one is refused before a request is made. The CloneSet planner's in-place update
//! (status `Replace`, then the pod `Replace` without resourceVersion, CS-70) depends on it.

mod support;

use jiff::Timestamp;
use kruise_core::plan::{ActionKind, Reason};
use kruise_core::reconciler::PlannedWrite;
use kruise_core::write::{ApiWrite, Subresource, Target};
use kruise_kube::execute::Executor;
use kruise_kube::expectations::ExpectationsStore;
use kruise_kube::{AdapterError, WorkloadKey};
use serde_json::{Value, json};
use support::mock::{MockServer, Reply};
use support::{NS, cloneset, stored_pod};

fn now() -> Timestamp {
    Timestamp::from_second(1_767_225_660).unwrap_or_default()
}

fn planned(write: ApiWrite) -> PlannedWrite {
    let pod = write.target().name.clone();
    support::write(
        ActionKind::UpdateInPlace { from_revision: String::new() },
        Some(&pod),
        Reason::Update { update_num: 1, recreate: false },
        write,
    )
}

fn pod_json(name: &str, rv: Option<&str>) -> Value {
    let cs = cloneset("web", 1, "nginx:1.20");
    let mut v = serde_json::to_value(stored_pod(&cs, name, 4000)).unwrap_or_default();
    v["apiVersion"] = json!("v1");
    v["kind"] = json!("Pod");
    match rv {
        Some(rv) => v["metadata"]["resourceVersion"] = json!(rv),
        None => {
            if let Some(m) = v["metadata"].as_object_mut() {
                m.remove("resourceVersion");
            }
        }
    }
    v
}

fn replace(name: &str, subresource: Subresource, rv: Option<&str>) -> PlannedWrite {
    planned(ApiWrite::Replace { target: Target::pod(NS, name), subresource, object: pod_json(name, rv) })
}

/// The pod replace after the pod's status replace carries the resourceVersion the status
/// write returned, not the one the plan was computed from.
#[tokio::test]
async fn cs_70_replace_without_resource_version_follows_the_previous_write() {
    let (client, server) = MockServer::start(vec![
        Reply::ok(pod_json("web-a", Some("4001"))),
        Reply::ok(pod_json("web-a", Some("4002"))),
    ]);
    let exec = Executor::new(client);
    let store = ExpectationsStore::new();
    let key = WorkloadKey::new(NS, "web");
    let writes =
        [replace("web-a", Subresource::Status, Some("4000")), replace("web-a", Subresource::Main, None)];
    let (done, res) = exec.execute_all(&key, &writes, &store, now()).await;
    assert!(res.is_ok(), "{res:?}");
    assert_eq!(done, 2);
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].body["metadata"]["resourceVersion"], json!("4000"));
    assert_eq!(sent[1].body["metadata"]["resourceVersion"], json!("4001"));
    server.stop();
}

/// A replace without resourceVersion whose object had no earlier write in the plan is
/// refused, even when another object was written before it; nothing is sent for it.
#[tokio::test]
async fn cs_70_replace_without_resource_version_and_no_earlier_write_is_refused() {
    let (client, server) = MockServer::start(vec![Reply::ok(pod_json("web-b", Some("4001")))]);
    let exec = Executor::new(client);
    let store = ExpectationsStore::new();
    let key = WorkloadKey::new(NS, "web");
    let writes =
        [replace("web-b", Subresource::Status, Some("4000")), replace("web-a", Subresource::Main, None)];
    let (done, res) = exec.execute_all(&key, &writes, &store, now()).await;
    assert_eq!(done, 1);
    assert!(
        matches!(&res, Err(AdapterError::MalformedWrite { path, .. }) if path.to_string() == "metadata.resourceVersion"),
        "{res:?}"
    );
    assert_eq!(server.requests().len(), 1, "the refused write is not sent");

    // Alone in a plan, it is refused too.
    let (client2, server2) = MockServer::start(vec![]);
    let exec2 = Executor::new(client2);
    let (done, res) =
        exec2.execute_all(&key, &[replace("web-a", Subresource::Main, None)], &store, now()).await;
    assert_eq!(done, 0);
    assert!(matches!(res, Err(AdapterError::MalformedWrite { .. })), "{res:?}");
    assert!(server2.requests().is_empty());
    server.stop();
    server2.stop();
}

/// Issue 11 item 14 (CS-26): every request body is exactly `ApiWrite::body()`: Go's escaping
/// of `<`, `>`, `&`, U+2028 and U+2029, the bytes a revision's data was hashed in, not a
/// re-serialisation (serde_json writes those characters raw). Creates, replaces (main and
/// status), merge patches and JSON patches alike, each with its Content-Type.
#[tokio::test]
async fn issue_11_14_request_bodies_are_the_write_bytes() {
    let tricky = "a && b < c > d \u{2028}";
    let revision = ApiWrite::Create {
        target: Target::revision(NS, "web-rev"),
        object: json!({"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": "web-rev", "namespace": NS},
            "data": {"spec": {"template": {"spec": {"containers": [{"name": "c", "args": [tricky]}]}}}},
            "revision": 1}),
    };
    let mut pod = pod_json("web-a", Some("4000"));
    pod["metadata"]["annotations"] = json!({"note": tricky});
    let mut status = pod.clone();
    status["status"]["message"] = json!(tricky);
    let writes = [
        planned(revision),
        planned(ApiWrite::Replace {
            target: Target::pod(NS, "web-a"),
            subresource: Subresource::Main,
            object: pod.clone(),
        }),
        planned(ApiWrite::Replace {
            target: Target::pod(NS, "web-a"),
            subresource: Subresource::Status,
            object: status,
        }),
        planned(ApiWrite::MergePatch {
            target: Target::pod(NS, "web-b"),
            subresource: Subresource::Main,
            patch: json!({"metadata": {"annotations": {"note": tricky}}}),
        }),
        planned(ApiWrite::JsonPatch {
            target: Target::pod(NS, "web-c"),
            subresource: Subresource::Status,
            patch: json!([{"op": "test", "path": "/metadata/uid", "value": "u<c>"},
                {"op": "add", "path": "/metadata/annotations/note", "value": tricky}]),
        }),
    ];
    let replies = vec![
        Reply::created(json!({"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": "web-rev", "namespace": NS, "resourceVersion": "1"}})),
        Reply::ok(pod_json("web-a", Some("4001"))),
        Reply::ok(pod_json("web-a", Some("4002"))),
        Reply::ok(pod_json("web-b", Some("4003"))),
        Reply::ok(pod_json("web-c", Some("4004"))),
    ];
    let (client, server) = MockServer::start(replies);
    let exec = Executor::new(client);
    let store = ExpectationsStore::new();
    let (done, res) = exec.execute_all(&WorkloadKey::new(NS, "web"), &writes, &store, now()).await;
    assert!(res.is_ok(), "{res:?}");
    assert_eq!(done, writes.len());
    let sent = server.requests();
    assert_eq!(sent.len(), writes.len());
    let types = [
        "application/json",
        "application/json",
        "application/json",
        "application/merge-patch+json",
        "application/json-patch+json",
    ];
    // The pod patches may be sent concurrently (one slow-start batch): matched by bytes.
    let mut uris = Vec::new();
    for (w, ct) in writes.iter().zip(types) {
        let body = w.write.body();
        let s = sent.iter().find(|s| s.raw == body);
        let Some(s) = s else { panic!("no request carried {}", String::from_utf8_lossy(&body)) };
        assert!(
            String::from_utf8_lossy(&s.raw).contains("\\u0026\\u0026 b \\u003c c \\u003e d \\u2028"),
            "{}",
            s.uri
        );
        assert_eq!(s.content_type.as_deref(), Some(ct), "{}", s.uri);
        uris.push(s.uri.clone());
    }
    assert!(
        uris[0].contains("/controllerrevisions?") && uris[0].contains("fieldManager=kruise-rs"),
        "{}",
        uris[0]
    );
    assert!(uris[1].contains("/pods/web-a?"), "{}", uris[1]);
    assert!(uris[2].contains("/pods/web-a/status?"), "{}", uris[2]);
    assert!(uris[4].contains("/pods/web-c/status?"), "{}", uris[4]);
    server.stop();
}
