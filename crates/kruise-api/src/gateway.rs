//! The part of Gateway API's `HTTPRoute` (`gateway.networking.k8s.io/v1`) a Rollout edits
//! (RO-59): the rules, their matches and weighted backend references. Fields kruise-rs does not
//! read are kept verbatim (`extra`) so a rule round-trips unchanged. (The maintained
//! `gateway-api` crate needs kube, which kruise-api must not depend on.)

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::rollouts::v1beta1::HttpRouteMatch;

/// `gateway.networking.k8s.io/v1`.
pub const API_VERSION: &str = "gateway.networking.k8s.io/v1";

/// An `HTTPRoute` as far as traffic shifting is concerned.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRoute {
    /// `gateway.networking.k8s.io/v1` (or v1beta1).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    /// `HTTPRoute`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Standard metadata.
    #[serde(default)]
    pub metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    /// The spec (rules only are read).
    #[serde(default)]
    pub spec: HttpRouteSpec,
}

/// `HTTPRouteSpec`: the rules, everything else kept verbatim.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteSpec {
    /// The rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<HttpRouteRule>,
    /// Other fields (parentRefs, hostnames, ...).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// `HTTPRouteRule`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteRule {
    /// Matches (ORed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<HttpRouteMatch>,
    /// Backends and their weights.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backend_refs: Vec<HttpBackendRef>,
    /// Other fields (filters, timeouts, name, ...).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// `HTTPBackendRef`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpBackendRef {
    /// API group (`""` for core).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind; the API server defaults it to `Service`, a planner must not (RO-59).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Backend name.
    #[serde(default)]
    pub name: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// Weight (API default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// Other fields (filters, ...).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl HttpBackendRef {
    /// RO-59: true when `kind` is present and `Service` and the name is `service`.
    pub fn is_service(&self, service: &str) -> bool {
        self.kind.as_deref() == Some("Service") && self.name == service
    }
}
