//! Admission webhooks as OpenKruise has them, for every kind kruise-api defines:
//!
//! - **validating** ([`VALIDATE_PATH`]): the checks `kruise validate` runs (kruise-api's
//!   [`validation`](kruise_api::validation), on the object with the webhook defaults applied;
//!   on UPDATE the update rules against the old object), so `kubectl apply` of an invalid
//!   manifest fails with the field path, as it does with OpenKruise (HTTP 422 `Invalid` in the
//!   AdmissionReview's status);
//! - **mutating** ([`MUTATE_PATH`]): the webhook defaults ([`defaults`](kruise_api::defaults)),
//!   returned as an RFC 6902 JSON patch, so the stored object carries the same defaults (and
//!   canonical quantities, hence the same revision hashes) as with OpenKruise.
//!
//! Both speak `admission.k8s.io/v1` AdmissionReview in and out. A body that is not an
//! AdmissionReview v1 with a request gets HTTP 400 and a sentence saying why; an object that
//! does not decode as its kind is refused (code 400 in the review); kinds this crate does not
//! define are allowed untouched. Nothing here panics on input.
//!
//! The patch only adds or replaces what defaulting sets: the defaulted object is merged over
//! the object as received (RFC 7386, without nulls), and the patch is the difference, so a
//! field is never removed by the patch merely because the typed round trip dropped it.
//!
//! [`routes`] adds both to an [`HttpServer`]; [`crate::http::HttpServer::serve_tls`] serves them.

use bytes::Bytes;
use http::{Method, Response, StatusCode};
use http_body_util::Full;
use kruise_api::any::{AnyError, AnyResource};
use kube::api::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use serde_json::Value;

use crate::http::HttpServer;

/// Path of the validating webhook (every kind).
pub const VALIDATE_PATH: &str = "/validate-kruise";
/// Path of the mutating (defaulting) webhook (every kind).
pub const MUTATE_PATH: &str = "/mutate-kruise";

/// What a webhook does with an admitted object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Reject invalid objects.
    Validate,
    /// Apply the webhook defaults (JSON patch).
    Mutate,
}

/// Why a request body is not an AdmissionReview the webhook can answer (HTTP 400).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadReview {
    /// The body is not JSON of an AdmissionReview.
    #[error("request body is not an AdmissionReview: {0}")]
    NotAReview(String),
    /// Another apiVersion/kind than `admission.k8s.io/v1` `AdmissionReview`.
    #[error("unsupported {api_version:?} {kind:?}: only admission.k8s.io/v1 AdmissionReview is served")]
    Version {
        /// The body's apiVersion.
        api_version: String,
        /// The body's kind.
        kind: String,
    },
    /// The review carries no `request`.
    #[error("AdmissionReview has no request")]
    NoRequest,
}

/// Answers one AdmissionReview body: the response review's JSON, or why the body is not one.
pub fn review(body: &[u8], mode: Mode) -> Result<Vec<u8>, BadReview> {
    let request = parse_request(body)?;
    encode_response(admit(&request, mode))
}

/// Reads an AdmissionReview v1 body and takes its request out (shared by every webhook path).
pub(crate) fn parse_request(body: &[u8]) -> Result<AdmissionRequest<DynamicObject>, BadReview> {
    let head: Value = serde_json::from_slice(body).map_err(|e| BadReview::NotAReview(e.to_string()))?;
    let text = |k: &str| head.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    if text("apiVersion") != "admission.k8s.io/v1" || text("kind") != "AdmissionReview" {
        return Err(BadReview::Version { api_version: text("apiVersion"), kind: text("kind") });
    }
    let review: AdmissionReview<DynamicObject> =
        serde_json::from_value(head).map_err(|e| BadReview::NotAReview(e.to_string()))?;
    review.try_into().map_err(|_| BadReview::NoRequest)
}

/// The response review's JSON for `response`, its patch as base64 text.
pub(crate) fn encode_response(mut response: AdmissionResponse) -> Result<Vec<u8>, BadReview> {
    // `patch` is a Go `[]byte`: base64 text on the wire (kube's type writes a number array).
    let patch = response.patch.take();
    let mut out =
        serde_json::to_value(response.into_review()).map_err(|e| BadReview::NotAReview(e.to_string()))?;
    if let (Some(p), Some(r)) = (patch, out.get_mut("response").and_then(Value::as_object_mut)) {
        use base64::Engine as _;
        r.insert("patch".to_owned(), Value::String(base64::engine::general_purpose::STANDARD.encode(p)));
    }
    serde_json::to_vec(&out).map_err(|e| BadReview::NotAReview(e.to_string()))
}

/// The object of a request as JSON, with `apiVersion` and `kind` from the request when the
/// object lacks them.
pub(crate) fn object_value(obj: &DynamicObject, request: &AdmissionRequest<DynamicObject>) -> Value {
    let mut v = serde_json::to_value(obj).unwrap_or(Value::Null);
    if let Some(map) = v.as_object_mut() {
        let gvk = &request.kind;
        let api_version =
            if gvk.group.is_empty() { gvk.version.clone() } else { format!("{}/{}", gvk.group, gvk.version) };
        map.entry("apiVersion").or_insert(Value::String(api_version));
        map.entry("kind").or_insert(Value::String(gvk.kind.clone()));
    }
    v
}

pub(crate) fn refuse(
    response: AdmissionResponse,
    code: u16,
    reason: &str,
    message: String,
) -> AdmissionResponse {
    let mut r = response.deny(&message);
    r.result.code = code;
    r.result.reason = reason.to_owned();
    r.result.status = Some(kube::core::response::StatusSummary::Failure);
    r
}

/// The admission decision for one request.
pub fn admit(request: &AdmissionRequest<DynamicObject>, mode: Mode) -> AdmissionResponse {
    let response = AdmissionResponse::from(request);
    if !matches!(request.operation, Operation::Create | Operation::Update) {
        return response;
    }
    let Some(obj) = &request.object else {
        return refuse(response, 400, "BadRequest", format!("{} request without an object", op(request)));
    };
    let original = object_value(obj, request);
    let mut new = match AnyResource::from_value(original.clone()) {
        Ok(r) => r,
        // Not one of ours: nothing to check or default.
        Err(AnyError::UnknownKind { .. }) => return response,
        Err(e) => return refuse(response, 400, "BadRequest", format!("decoding {}: {e}", what(request))),
    };
    new.apply_defaults();
    match mode {
        Mode::Validate => {
            let old = request.old_object.as_ref().filter(|_| request.operation == Operation::Update);
            let result = match old.map(|o| AnyResource::from_value(object_value(o, request))) {
                Some(Ok(mut old)) => {
                    old.apply_defaults();
                    // Another kind or version than the new object: checked as a create.
                    new.validate_update(&old).unwrap_or_else(|| new.validate())
                }
                Some(Err(e)) => {
                    return refuse(
                        response,
                        400,
                        "BadRequest",
                        format!("decoding the old {}: {e}", what(request)),
                    );
                }
                None => new.validate(),
            };
            match result {
                Ok(()) => response,
                Err(errors) => {
                    refuse(response, 422, "Invalid", format!("{} is invalid: {errors}", what(request)))
                }
            }
        }
        Mode::Mutate => {
            let mut defaulted = new.to_value();
            if !defaulted.is_object() {
                return refuse(
                    response,
                    500,
                    "InternalError",
                    format!("encoding the defaulted {}", what(request)),
                );
            }
            strip_nulls(&mut defaulted);
            let mut merged = original.clone();
            json_patch::merge(&mut merged, &defaulted);
            let patch = json_patch::diff(&original, &merged);
            if patch.0.is_empty() {
                return response;
            }
            match response.clone().with_patch(patch) {
                Ok(r) => r,
                Err(e) => refuse(response, 500, "InternalError", format!("encoding the patch: {e}")),
            }
        }
    }
}

fn op(request: &AdmissionRequest<DynamicObject>) -> &'static str {
    match request.operation {
        Operation::Create => "CREATE",
        Operation::Update => "UPDATE",
        Operation::Delete => "DELETE",
        Operation::Connect => "CONNECT",
    }
}

/// `CloneSet.apps.kruise.io "web"`, as the API server names an object in its messages.
fn what(request: &AdmissionRequest<DynamicObject>) -> String {
    let k = &request.kind;
    let name = if request.name.is_empty() {
        request.object.as_ref().and_then(|o| o.metadata.name.clone()).unwrap_or_default()
    } else {
        request.name.clone()
    };
    format!("{}.{} {name:?}", k.kind, k.group)
}

/// Removes every `null` member (recursively), so merging never deletes a field.
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, x| !x.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    r
}

/// The HTTP answer to a webhook call: 200 with the response review, 405 for anything but
/// POST, 400 with the reason for a body that is not an AdmissionReview v1 with a request.
pub fn handle(method: &Method, body: &[u8], mode: Mode) -> Response<Full<Bytes>> {
    answer(method, || review(body, mode))
}

/// [`handle`] for any webhook: `review` answers a POSTed body.
pub(crate) fn answer(
    method: &Method,
    review: impl FnOnce() -> Result<Vec<u8>, BadReview>,
) -> Response<Full<Bytes>> {
    if method != Method::POST {
        let mut r = Response::new(Full::new(Bytes::from_static(b"admission reviews are POSTed")));
        *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        return r;
    }
    match review() {
        Ok(out) => json_response(StatusCode::OK, out),
        Err(e) => {
            tracing::info!(error = %e, "malformed admission review");
            let status = serde_json::json!({
                "kind": "Status", "apiVersion": "v1", "status": "Failure",
                "message": e.to_string(), "reason": "BadRequest", "code": 400,
            });
            json_response(StatusCode::BAD_REQUEST, serde_json::to_vec(&status).unwrap_or_default())
        }
    }
}

/// Adds the validating ([`VALIDATE_PATH`]) and mutating ([`MUTATE_PATH`]) webhooks to `server`.
pub fn routes(server: HttpServer) -> HttpServer {
    server
        .route(VALIDATE_PATH, |parts, body| async move { handle(&parts.method, &body, Mode::Validate) })
        .route(MUTATE_PATH, |parts, body| async move { handle(&parts.method, &body, Mode::Mutate) })
}
