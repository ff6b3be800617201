//! TrafficRouting, `rollouts.kruise.io/v1alpha1` (RO-64): a traffic rule shared by several
//! Rollouts for a full-link (end-to-end) gray release.

use serde::{Deserialize, Serialize};

use crate::apps::is_zero_i64;
use crate::rollouts::v1beta1::{HttpHeaderFilter, HttpRouteMatch, TrafficRoutingRef};

kruise_resource! {
    /// TrafficRouting (`rollouts.kruise.io/v1alpha1`): gateway rules applied while any
    /// participating Rollout is progressing (RO-64).
    TrafficRouting {
        group: "rollouts.kruise.io",
        version: "v1alpha1",
        kind: "TrafficRouting",
        plural: "trafficroutings",
        scope: ::k8s_openapi::NamespaceResourceScope,
        spec: TrafficRoutingSpec,
        status: TrafficRoutingStatus,
    }
}

/// The desired state of a TrafficRouting (RO-64).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TrafficRoutingSpec {
    /// The provider objects (usually the entry gateway).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub object_ref: Vec<TrafficRoutingRef>,
    /// The rule applied while progressing.
    #[serde(default)]
    pub strategy: TrafficRoutingStrategy,
}

/// The traffic rule of a shared TrafficRouting (RO-64).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TrafficRoutingStrategy {
    /// Canary weight, percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// Request matches (headers) sent to gray instances.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<HttpRouteMatch>,
    /// Header edits, e.g. set `x-mse-tag: gray` so the tag travels with the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_header_modifier: Option<HttpHeaderFilter>,
}

/// The observed state of a TrafficRouting (RO-64).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TrafficRoutingStatus {
    /// Generation observed.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub observed_generation: i64,
    /// `Initial`, `Healthy`, `Progressing`, `Finalizing`, `Terminating`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    /// Human-readable detail.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Values of [`TrafficRoutingStatus::phase`] (RO-64).
pub mod tr_phase {
    /// Just created.
    pub const INITIAL: &str = "Initial";
    /// Routes are stable.
    pub const HEALTHY: &str = "Healthy";
    /// Some Rollout holds a progressing finalizer: the strategy applies.
    pub const PROGRESSING: &str = "Progressing";
    /// Restoring stable routes.
    pub const FINALIZING: &str = "Finalizing";
    /// Being deleted.
    pub const TERMINATING: &str = "Terminating";
}
