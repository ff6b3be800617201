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
