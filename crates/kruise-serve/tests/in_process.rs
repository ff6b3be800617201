//! The served cluster in-process ([`kruise_serve::InProcess`]): requests answered without TCP
//! through the same API as `kruise serve`, on a clock that moves only when the test moves it.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use kruise_serve::{InProcess, ServeConfig};
use serde_json::{Value, json};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn call(
    api: &InProcess,
    method: &str,
    uri: &str,
    content_type: &str,
    body: &Value,
) -> Result<(u16, Value), Box<dyn std::error::Error>> {
    let body = if body.is_null() { Bytes::new() } else { Bytes::from(serde_json::to_vec(body)?) };
    let req = http::Request::builder()
        .method(method)
        .uri(uri)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(body)?;
    let resp = api.handle(req).await;
    let code = resp.status().as_u16();
    let bytes = resp.into_body().collect().await?.to_bytes();
    Ok((code, serde_json::from_slice(&bytes)?))
}

const PODS: &str = "/api/v1/namespaces/default/pods";
const JSON: &str = "application/json";

fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}})
}

/// A pod created in-process is stamped with the virtual time; waiting in wall time changes
/// nothing; stepping the clock makes the kubelet run it; a stale guarded write is a 409, a
/// failed JSON patch `test` a 422, a delete with another uid a 409, each as over TCP.
#[tokio::test]
async fn requests_are_answered_in_process_on_the_test_clock() -> TestResult {
    let t0 = 60_000;
    let api = InProcess::start(ServeConfig::default(), t0)?;
    let (code, created) = call(&api, "POST", PODS, JSON, &pod("web-0")).await?;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["metadata"]["creationTimestamp"], json!("2026-01-01T00:01:00Z"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(api.now().await?, t0, "time moved by itself");
    let (_, got) = call(&api, "GET", &format!("{PODS}/web-0"), JSON, &Value::Null).await?;
    assert_ne!(got["status"]["phase"], json!("Running"), "{got}");
    assert_eq!(api.step(Duration::from_secs(10)).await?, t0 + 10_000);
    let (_, got) = call(&api, "GET", &format!("{PODS}/web-0"), JSON, &Value::Null).await?;
    assert_eq!(got["status"]["phase"], json!("Running"), "{got}");

    let mut stale = created.clone();
    stale["metadata"]["labels"] = json!({"a": "b"});
    let (code, status) = call(&api, "PUT", &format!("{PODS}/web-0"), JSON, &stale).await?;
    assert_eq!((code, status["reason"].clone()), (409, json!("Conflict")), "{status}");
    let test = json!([{"op": "test", "path": "/spec/containers/0/image", "value": "nginx:0"}]);
    let (code, status) =
        call(&api, "PATCH", &format!("{PODS}/web-0"), "application/json-patch+json", &test).await?;
    assert_eq!(code, 422, "{status}");
    let other = json!({"preconditions": {"uid": "not-its-uid"}});
    let (code, status) = call(&api, "DELETE", &format!("{PODS}/web-0"), JSON, &other).await?;
    assert_eq!((code, status["reason"].clone()), (409, json!("Conflict")), "{status}");
    assert_eq!(api.run_until(t0).await?, t0 + 10_000, "the clock never goes back");
    Ok(())
}

/// Two in-process clusters given the same requests give the same answers, byte for byte.
#[tokio::test]
async fn in_process_answers_are_reproducible() -> TestResult {
    async fn run() -> Result<Vec<(u16, Value)>, Box<dyn std::error::Error>> {
        let api = InProcess::start(ServeConfig::default().with_nodes(2), 0)?;
        let mut out = Vec::new();
        for name in ["a", "b", "ç"] {
            out.push(call(&api, "POST", PODS, JSON, &pod(name)).await?);
            api.step(Duration::from_millis(1_500)).await?;
        }
        api.step(Duration::from_secs(20)).await?;
        out.push(call(&api, "GET", PODS, JSON, &Value::Null).await?);
        Ok(out)
    }
    let (a, b) = (run().await?, run().await?);
    assert_eq!(a.last().map(|l| l.1["items"].as_array().map(Vec::len)), Some(Some(3)));
    assert_eq!(a, b);
    Ok(())
}
