//! Lease-based leader election against kube's mock service: the exact Lease API calls for
//! acquiring, renewing, respecting a live holder, taking over an expired lease, and losing a
//! race (409).

mod support;

use jiff::Timestamp;
use kruise_kube::leader::{LeaderElector, LeaseConfig};
use serde_json::{Value, json};
use support::mock::{MockServer, Reply};

const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/kruise-rs-system/leases";

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap()
}

fn lease(holder: &str, renew: &str, transitions: i32, rv: &str) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "kruise-rs-leader", "namespace": "kruise-rs-system", "resourceVersion": rv, "uid": "lease-uid"},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 15,
            "acquireTime": "2026-01-01T00:00:00.000000Z",
            "renewTime": renew,
            "leaseTransitions": transitions
        }
    })
}

fn elector(client: kube::Client, me: &str) -> LeaderElector {
    LeaderElector::new(client, LeaseConfig::new("kruise-rs-system", "kruise-rs-leader", me))
}

fn calls(s: &MockServer) -> Vec<(String, String)> {
    s.calls()
}

fn call(m: &str, u: &str) -> (String, String) {
    (m.to_owned(), u.to_owned())
}

// 2026-01-01T00:01:00Z
const T0: i64 = 1_767_225_660;

#[tokio::test]
async fn absent_lease_is_created_with_this_holder() {
    let (client, server) = MockServer::start(vec![
        Reply::not_found("kruise-rs-leader", "leases.coordination.k8s.io"),
        Reply::created(lease("a", "2026-01-01T00:01:00.000000Z", 0, "10")),
    ]);
    assert!(elector(client, "a").try_acquire_or_renew(t(T0)).await.unwrap());
    assert_eq!(
        calls(&server),
        vec![
            call("GET", &format!("{LEASE}/kruise-rs-leader")),
            call("POST", &format!("{LEASE}?&fieldManager=kruise-rs"))
        ]
    );
    let body = &server.requests()[1].body;
    assert_eq!(body["spec"]["holderIdentity"], json!("a"));
    assert_eq!(body["spec"]["leaseDurationSeconds"], json!(15));
    assert_eq!(body["spec"]["leaseTransitions"], json!(0));
    assert_eq!(body["spec"]["renewTime"], json!("2026-01-01T00:01:00.000000Z"));
    server.stop();
}

#[tokio::test]
async fn own_lease_is_renewed_with_a_guarded_replace() {
    let (client, server) = MockServer::start(vec![
        Reply::ok(lease("a", "2026-01-01T00:00:58.000000Z", 3, "41")),
        Reply::ok(lease("a", "2026-01-01T00:01:00.000000Z", 3, "42")),
    ]);
    assert!(elector(client, "a").try_acquire_or_renew(t(T0)).await.unwrap());
    let put = format!("{LEASE}/kruise-rs-leader?&fieldManager=kruise-rs");
    assert_eq!(calls(&server)[1], call("PUT", &put));
    let body = &server.requests()[1].body;
    assert_eq!(body["metadata"]["resourceVersion"], json!("41"));
    assert_eq!(body["spec"]["leaseTransitions"], json!(3));
    assert_eq!(body["spec"]["acquireTime"], json!("2026-01-01T00:00:00.000000Z"));
    assert_eq!(body["spec"]["renewTime"], json!("2026-01-01T00:01:00.000000Z"));
    server.stop();
}

#[tokio::test]
async fn live_lease_of_another_replica_is_left_alone() {
    // Renewed 5 s ago, valid for 15 s: no write at all.
    let (client, server) =
        MockServer::start(vec![Reply::ok(lease("b", "2026-01-01T00:00:55.000000Z", 1, "7"))]);
    assert!(!elector(client, "a").try_acquire_or_renew(t(T0)).await.unwrap());
    assert_eq!(calls(&server).len(), 1);
    server.stop();
}

#[tokio::test]
async fn expired_lease_is_taken_over_and_transitions_counted() {
    // Renewed 20 s ago with a 15 s duration: expired.
    let (client, server) = MockServer::start(vec![
        Reply::ok(lease("b", "2026-01-01T00:00:40.000000Z", 1, "7")),
        Reply::ok(lease("a", "2026-01-01T00:01:00.000000Z", 2, "8")),
    ]);
    assert!(elector(client, "a").try_acquire_or_renew(t(T0)).await.unwrap());
    let body = &server.requests()[1].body;
    assert_eq!(body["metadata"]["resourceVersion"], json!("7"));
    assert_eq!(body["spec"]["holderIdentity"], json!("a"));
    assert_eq!(body["spec"]["leaseTransitions"], json!(2));
    assert_eq!(body["spec"]["acquireTime"], json!("2026-01-01T00:01:00.000000Z"));
    server.stop();
}

#[tokio::test]
async fn losing_the_takeover_race_is_not_leading() {
    let (client, server) = MockServer::start(vec![
        Reply::ok(lease("b", "2026-01-01T00:00:40.000000Z", 1, "7")),
        Reply::conflict("kruise-rs-leader", "leases.coordination.k8s.io"),
    ]);
    assert!(!elector(client, "a").try_acquire_or_renew(t(T0)).await.unwrap());
    assert_eq!(calls(&server).len(), 2);
    server.stop();
}

#[tokio::test]
async fn release_clears_the_holder() {
    let (client, server) = MockServer::start(vec![
        Reply::ok(lease("a", "2026-01-01T00:00:58.000000Z", 3, "41")),
        Reply::ok(lease("", "2026-01-01T00:00:58.000000Z", 3, "42")),
    ]);
    elector(client, "a").release().await.unwrap();
    let body = &server.requests()[1].body;
    assert_eq!(server.requests()[1].method, "PUT");
    assert!(body["spec"].get("holderIdentity").is_none());
    assert_eq!(body["spec"]["leaseDurationSeconds"], json!(1));
    server.stop();
}
