//! A scripted API server behind kube's mock service (`tower-test`): each expected request
//! (verb, path and query, JSON body) is answered with a canned response in the API server's
//! real shapes; every request actually sent is recorded for exact comparison.

use std::sync::{Arc, Mutex};

use http::{Request, Response};
use kube::client::Body;
use serde_json::{Value, json};

/// One request as sent.
#[derive(Clone, Debug, PartialEq)]
pub struct Sent {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The JSON body (`Null` if none).
    pub body: Value,
    /// The body's bytes as received.
    pub raw: Vec<u8>,
}

/// One scripted answer.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Self { status: 200, body }
    }
    pub fn created(body: Value) -> Self {
        Self { status: 201, body }
    }
    /// A `metav1.Status` failure as the API server sends it.
    pub fn status(code: u16, reason: &str, message: &str, name: &str, kind: &str) -> Self {
        Self {
            status: code,
            body: json!({
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": message,
                "reason": reason,
                "details": {"name": name, "kind": kind},
                "code": code
            }),
        }
    }
    pub fn conflict(name: &str, kind: &str) -> Self {
        Self::status(
            409,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on {kind} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            ),
            name,
            kind,
        )
    }
    pub fn not_found(name: &str, kind: &str) -> Self {
        Self::status(404, "NotFound", &format!("{kind} \"{name}\" not found"), name, kind)
    }
}

/// The mock server: answers requests in order from `replies`, records what was sent.
pub struct MockServer {
    pub sent: Arc<Mutex<Vec<Sent>>>,
    task: tokio::task::JoinHandle<()>,
}

impl MockServer {
    /// A client whose requests are answered by `replies`, in order. A request beyond the
    /// script gets a 500 (and is recorded, so the comparison fails).
    pub fn start(replies: Vec<Reply>) -> (kube::Client, MockServer) {
        let mut replies = replies.into_iter();
        Self::start_with(move |_| {
            replies
                .next()
                .unwrap_or_else(|| Reply::status(500, "InternalError", "unscripted request", "", ""))
        })
    }

    /// A client whose requests are answered by `handler`.
    pub fn start_with(
        mut handler: impl FnMut(&Sent) -> Reply + Send + 'static,
    ) -> (kube::Client, MockServer) {
        Self::start_async(move |s| std::future::ready(handler(s)))
    }

    /// A client whose requests are answered by the future `handler` returns (one request at a
    /// time, in the order they arrive).
    pub fn start_async<F>(mut handler: impl FnMut(&Sent) -> F + Send + 'static) -> (kube::Client, MockServer)
    where
        F: std::future::Future<Output = Reply> + Send + 'static,
    {
        let (svc, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let log = sent.clone();
        let task = tokio::spawn(async move {
            while let Some((req, respond)) = handle.next_request().await {
                let (parts, body) = req.into_parts();
                let bytes = body.collect_bytes().await.unwrap_or_default();
                let body = if bytes.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(&bytes)
                        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
                };
                let sent = Sent {
                    method: parts.method.to_string(),
                    uri: parts.uri.to_string(),
                    content_type: parts
                        .headers
                        .get(http::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                    body,
                    raw: bytes.to_vec(),
                };
                let reply = handler(&sent).await;
                log.lock().unwrap().push(sent);
                let resp = Response::builder()
                    .status(reply.status)
                    .header("content-type", "application/json")
                    .body(Body::from(serde_json::to_vec(&reply.body).unwrap()))
                    .unwrap();
                respond.send_response(resp);
            }
        });
        (kube::Client::new(svc, "default"), MockServer { sent, task })
    }

    /// What was sent so far, as `(verb, uri)` pairs.
    pub fn calls(&self) -> Vec<(String, String)> {
        self.sent.lock().unwrap().iter().map(|s| (s.method.clone(), s.uri.clone())).collect()
    }

    /// Everything sent so far.
    pub fn requests(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }

    /// Stops the server.
    pub fn stop(self) {
        self.task.abort();
    }
}
