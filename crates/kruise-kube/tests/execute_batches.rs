//! Issue 10 item 5 / issue 12 item 6: how the executor sends a plan's writes: creates in
//! slow-start batches (1, 2, 4, ... at once, stopping after the first batch with a failure),
//! within a client-side rate limit; a JSON patch whose `test` fails (422) is a conflict, so
//! the reconcile is retried on a fresher cache.

mod support;

use std::time::Duration;

use http::{Request, Response};
use jiff::Timestamp;
use kruise_core::plan::{ActionKind, Reason};
use kruise_core::reconciler::PlannedWrite;
use kruise_core::write::{ApiWrite, Subresource, Target};
use kruise_kube::execute::{Executor, Limits};
use kruise_kube::expectations::ExpectationsStore;
use kruise_kube::{AdapterError, WorkloadKey};
use kube::client::Body;
use serde_json::json;
use support::NS;
use support::mock::{MockServer, Reply};

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;
type Respond = tower_test::mock::SendResponse<Response<Body>>;

fn now() -> Timestamp {
    Timestamp::from_second(1_767_225_660).unwrap_or_default()
}

fn create_pod(name: &str) -> PlannedWrite {
    support::write(
        ActionKind::CreatePod { instance_id: name.into() },
        Some(name),
        Reason::ScaleUp { have: 0, want: 10 },
        ApiWrite::Create {
            target: Target::pod(NS, name),
            object: json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}}),
        },
    )
}

fn reply(status: u16, name: &str) -> Response<Body> {
    let body = if status < 300 {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS, "uid": format!("uid-{name}"), "resourceVersion": "7"}})
    } else {
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "boom",
               "reason": "InternalError", "code": status})
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&body).unwrap_or_default()))
        .expect("a response")
}

/// Receives the requests in flight now: waits for `n`, then checks that no other arrives.
async fn in_flight(handle: &mut Handle, n: usize) -> Vec<(String, Respond)> {
    let mut got = Vec::new();
    for _ in 0..n {
        let next = tokio::time::timeout(Duration::from_secs(5), handle.next_request()).await;
        let Ok(Some((req, respond))) = next else {
            panic!("expected {n} requests in flight, got {}", got.len())
        };
        let bytes = req.into_body().collect_bytes().await.unwrap_or_default();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        got.push((v["metadata"]["name"].as_str().unwrap_or_default().to_owned(), respond));
    }
    let more = tokio::time::timeout(Duration::from_millis(150), handle.next_request()).await;
    assert!(more.is_err(), "more than {n} requests in flight");
    got
}

/// Creates go out 1, then 2, then 4 at once; a failure in the third batch stops the plan
/// after that batch: the last three pods are never sent, and the count says 6 were made.
#[tokio::test]
async fn slow_start_batches_double_and_stop_at_the_first_failure() {
    let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(svc, NS);
    let writes: Vec<PlannedWrite> = (0..10).map(|i| create_pod(&format!("web-{i}"))).collect();
    let store = ExpectationsStore::new();
    let run = tokio::spawn(async move {
        let exec = Executor::new(client);
        exec.execute_all(&WorkloadKey::new(NS, "web"), &writes, &store, now()).await
    });
    let mut sent = Vec::new();
    for (size, fail) in [(1, None), (2, None), (4, Some(2))] {
        let batch = in_flight(&mut handle, size).await;
        for (i, (name, respond)) in batch.into_iter().enumerate() {
            respond.send_response(reply(if Some(i) == fail { 500 } else { 201 }, &name));
            sent.push(name);
        }
    }
    let (done, res) = run.await.unwrap_or((0, Ok(())));
    assert!(matches!(res, Err(AdapterError::Write { .. })), "{res:?}");
    assert_eq!(done, 6);
    assert_eq!(sent, (0..7).map(|i| format!("web-{i}")).collect::<Vec<_>>(), "sent in plan order");
    // The executor is done (its client dropped): no request is left to arrive.
    let more = tokio::time::timeout(Duration::from_millis(150), handle.next_request()).await;
    assert!(!matches!(more, Ok(Some(_))), "nothing is sent after the failed batch");
}

/// Without failures every unit is sent, batches capped by `max_concurrency`.
#[tokio::test]
async fn slow_start_batches_are_capped() {
    let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(svc, NS);
    let writes: Vec<PlannedWrite> = (0..9).map(|i| create_pod(&format!("web-{i}"))).collect();
    let store = ExpectationsStore::new();
    let run = tokio::spawn(async move {
        let exec = Executor::with_limits(client, Limits { max_concurrency: 3, ..Limits::default() });
        exec.execute_all(&WorkloadKey::new(NS, "web"), &writes, &store, now()).await
    });
    for size in [1, 2, 3, 3] {
        for (name, respond) in in_flight(&mut handle, size).await {
            respond.send_response(reply(201, &name));
        }
    }
    let (done, res) = run.await.unwrap_or((0, Err(AdapterError::NotLeader)));
    assert!(res.is_ok(), "{res:?}");
    assert_eq!(done, 9);
}

/// The client-side rate limit: with a burst of 1 and 20 requests/s, five deletes take at
/// least 200 ms.
#[tokio::test]
async fn writes_respect_the_client_side_rate_limit() {
    let (client, server) =
        MockServer::start_with(|_| Reply::ok(json!({"kind": "Status", "status": "Success"})));
    let exec = Executor::with_limits(client, Limits { qps: 20.0, burst: 1, max_concurrency: 8 });
    let writes: Vec<PlannedWrite> = (0..5)
        .map(|i| {
            let name = format!("web-{i}");
            support::write(
                ActionKind::DeletePod,
                Some(&name),
                Reason::ScaleDown { have: 5, want: 0 },
                ApiWrite::Delete { target: Target::pod(NS, &name), uid: None },
            )
        })
        .collect();
    let started = std::time::Instant::now();
    let (done, res) =
        exec.execute_all(&WorkloadKey::new(NS, "web"), &writes, &ExpectationsStore::new(), now()).await;
    assert!(res.is_ok(), "{res:?}");
    assert_eq!(done, 5);
    assert!(started.elapsed() >= Duration::from_millis(190), "{:?}", started.elapsed());
    assert_eq!(server.calls().len(), 5);
    server.stop();
}

/// Issue 12 item 6: a guarded list write (here `podsToDelete`) is a JSON patch whose `test`
/// says what the plan read; the API server answers 422 when someone changed the list
/// meanwhile, which the executor reports as a conflict (transient: the reconcile is retried
/// and planned again from the fresher cache), not as a failed write.
#[tokio::test]
async fn failed_json_patch_test_is_a_conflict() {
    let (client, server) = MockServer::start(vec![Reply::status(
        422,
        "Invalid",
        "the server rejected our request due to an error in our request",
        "web",
        "CloneSet",
    )]);
    let exec = Executor::new(client);
    let patch = json!([
        {"op": "test", "path": "/spec/scaleStrategy/podsToDelete", "value": ["gone"]},
        {"op": "replace", "path": "/spec/scaleStrategy/podsToDelete", "value": []}
    ]);
    let write = support::write(
        ActionKind::UpdateSpec { pods_to_delete: vec![] },
        None,
        Reason::TruncatePodsToDelete,
        ApiWrite::JsonPatch {
            target: Target::namespaced("apps.kruise.io/v1beta1", "CloneSet", NS, "web"),
            subresource: Subresource::Main,
            patch: patch.clone(),
        },
    );
    let (done, res) =
        exec.execute_all(&WorkloadKey::new(NS, "web"), &[write], &ExpectationsStore::new(), now()).await;
    assert_eq!(done, 0);
    let Err(e) = res else { panic!("the 422 must fail the plan") };
    assert!(matches!(e, AdapterError::Conflict { .. }), "{e:?}");
    assert!(e.is_transient());
    let sent = server.requests();
    assert_eq!(sent[0].method, "PATCH");
    assert_eq!(sent[0].content_type.as_deref(), Some("application/json-patch+json"));
    assert_eq!(sent[0].body, patch);
    server.stop();
}
