//! API errors as `Status` objects, with the codes, reasons and messages a kube-apiserver
//! gives.

use kruise_sim::store::ApiError;
use serde_json::{Value, json};

use crate::registry::ResourceDef;

/// A failed request: HTTP code, `Status.reason`, message and details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// HTTP status code.
    pub code: u16,
    /// `Status.reason` (`NotFound`, `Conflict`, ...).
    pub reason: &'static str,
    /// `Status.message`.
    pub message: String,
    /// `Status.details` (name, group, kind).
    pub details: Option<Value>,
}

fn details(def: &ResourceDef, name: &str) -> Option<Value> {
    Some(json!({"name": name, "group": def.group, "kind": def.plural}))
}

impl Failure {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self { code, reason, message: message.into(), details: None }
    }

    /// 404 for an object.
    pub fn not_found(def: &ResourceDef, name: &str) -> Self {
        Self {
            details: details(def, name),
            ..Self::new(404, "NotFound", format!("{} \"{name}\" not found", def.qualified()))
        }
    }

    /// 404 for a path the server does not serve.
    pub fn no_route() -> Self {
        Self::new(404, "NotFound", "the server could not find the requested resource")
    }

    /// 409 on create of an existing object.
    pub fn already_exists(def: &ResourceDef, name: &str) -> Self {
        Self {
            details: details(def, name),
            ..Self::new(409, "AlreadyExists", format!("{} \"{name}\" already exists", def.qualified()))
        }
    }

    /// 409 on a failed precondition (`what` says which).
    pub fn conflict(def: &ResourceDef, name: &str, what: &str) -> Self {
        Self {
            details: details(def, name),
            ..Self::new(
                409,
                "Conflict",
                format!("Operation cannot be fulfilled on {} \"{name}\": {what}", def.qualified()),
            )
        }
    }

    /// 409 on a stale resourceVersion.
    pub fn stale(def: &ResourceDef, name: &str) -> Self {
        Self::conflict(
            def,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 422: the object is invalid (`field: message`).
    pub fn invalid(def: &ResourceDef, name: &str, field_errors: &str) -> Self {
        Self {
            details: details(def, name),
            ..Self::new(422, "Invalid", format!("{} \"{name}\" is invalid: {field_errors}", def.kind))
        }
    }

    /// 422 with a message as given (a failed JSON patch `test`).
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(422, "Invalid", message)
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 405.
    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({method})"),
        )
    }

    /// 410 on a watch or list from a compacted resourceVersion.
    pub fn expired(requested: u64, oldest: u64) -> Self {
        Self::new(410, "Expired", format!("too old resource version: {requested} ({oldest})"))
    }

    /// 415: a patch type the resource does not accept.
    pub fn unsupported_media(given: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: \
                 application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml \
                 (got {given})"
            ),
        )
    }

    /// 413.
    pub fn too_large() -> Self {
        Self::new(413, "RequestEntityTooLarge", "the request body is too large")
    }

    /// 500.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    /// A store refusal, for `def`/`name`.
    pub fn from_store(def: &ResourceDef, name: &str, e: &ApiError) -> Self {
        match e {
            ApiError::NotFound(_) => Self::not_found(def, name),
            ApiError::AlreadyExists(_) => Self::already_exists(def, name),
            ApiError::Conflict { .. } => Self::stale(def, name),
            ApiError::UidMismatch { expected, actual, .. } => Self::conflict(
                def,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {expected}, UID in object meta: {actual}"
                ),
            ),
            ApiError::Invalid { message, .. } => Self::invalid(def, name, message),
            other => Self::internal(other.to_string()),
        }
    }

    /// The `Status` object.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}
