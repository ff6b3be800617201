//! Rollout, `rollouts.kruise.io/v1alpha1` (RO-5): canary only; the workload sits under
//! `spec.objectRef.workloadRef`, a step's traffic is an integer `weight`, the rolling style
//! and a shared TrafficRouting are annotations, and the whole sub-status is
//! `status.canaryStatus`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use crate::apps::{is_false, is_zero_i64};
pub use crate::rollouts::v1beta1::{
    GatewayTrafficRouting, HttpHeaderFilter, HttpHeaderMatch, IngressTrafficRouting,
    PatchPodTemplateMetadata, RolloutCondition, RolloutPause,
};

kruise_resource! {
    /// Rollout (`rollouts.kruise.io/v1alpha1`): progressive delivery of one workload, canary
    /// only (RO-5). Served, not stored; see [`crate::rollouts::v1beta1::Rollout`].
    Rollout {
        group: "rollouts.kruise.io",
        version: "v1alpha1",
        kind: "Rollout",
        plural: "rollouts",
        scope: ::k8s_openapi::NamespaceResourceScope,
        spec: RolloutSpec,
        status: RolloutStatus,
    }
}

/// A workload reference by apiVersion, kind and name (same shape as v1beta1's
/// [`ObjectRef`](crate::rollouts::v1beta1::ObjectRef)); also the v1alpha1 `CustomNetworkRef`.
pub type WorkloadRef = crate::rollouts::v1beta1::ObjectRef;

/// The desired state of a v1alpha1 Rollout (RO-5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RolloutSpec {
    /// Wraps the workload reference. Required.
    #[serde(default)]
    pub object_ref: ObjectRef,
    /// The canary plan. Required.
    #[serde(default)]
    pub strategy: RolloutStrategy,
    /// Deprecated and ignored (the release id comes from the workload, RO-21); dropped by
    /// conversion.
    #[serde(rename = "rolloutID", default, skip_serializing_if = "String::is_empty")]
    pub deprecated_rollout_id: String,
    /// Stop watching the workload (RO-51). Always serialised.
    #[serde(default)]
    pub disabled: bool,
}

/// Holder of the workload reference (RO-5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// The workload, in the Rollout's namespace. Required by validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_ref: Option<WorkloadRef>,
}

/// The v1alpha1 strategy: canary only.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RolloutStrategy {
    /// Freeze the step machine (RO-35).
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused: bool,
    /// The canary plan. Required by validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryStrategy>,
}

/// v1alpha1 canary parameters (RO-5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CanaryStrategy {
    /// The steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<CanaryStep>,
    /// Traffic providers; at most one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traffic_routings: Vec<TrafficRoutingRef>,
    /// Failed pods tolerated among the updated ones (RO-40).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<IntOrString>,
    /// Labels/annotations for the canary Deployment's pod template (RO-65).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_pod_template_metadata: Option<PatchPodTemplateMetadata>,
    /// Do not create `<service>-canary` (RO-57).
    #[serde(default, skip_serializing_if = "is_false")]
    pub disable_generate_canary_service: bool,
}

/// One v1alpha1 step: traffic as an integer percent `weight` (RO-5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CanaryStep {
    /// Percent of traffic for the canary (v1beta1 `traffic: "<weight>%"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// Header changes applied to canary requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_header_modifier: Option<HttpHeaderFilter>,
    /// Header matches routed to the canary (ORed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<HttpRouteMatch>,
    /// Updated pods in this step; when unset, `weight` percent is used (RO-5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<IntOrString>,
    /// Wait after the step. Always serialised.
    #[serde(default)]
    pub pause: RolloutPause,
}

/// A v1alpha1 request match: headers only (RO-5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteMatch {
    /// Header matchers, ANDed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HttpHeaderMatch>,
}

/// v1alpha1 traffic routing (v1beta1 without `additionalParams`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TrafficRoutingRef {
    /// The stable Service's name. Required.
    #[serde(default)]
    pub service: String,
    /// Seconds providers need to apply a change; the CRD defaults an absent value to 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<i32>,
    /// An Ingress provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressTrafficRouting>,
    /// A Gateway API provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayTrafficRouting>,
    /// Custom providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_network_refs: Option<Vec<WorkloadRef>>,
}

/// The observed state of a v1alpha1 Rollout (RO-5, RO-6).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    /// The generation this status was computed for.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub observed_generation: i64,
    /// The canary sub-status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_status: Option<CanaryStatus>,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<RolloutCondition>,
    /// See [`crate::rollouts::v1beta1::phase`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    /// Why the Rollout is in its phase.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// The v1alpha1 canary sub-status: v1beta1's `CommonStatus` and `CanaryStatus` in one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CanaryStatus {
    /// The workload generation last observed.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub observed_workload_generation: i64,
    /// The rollout id last observed.
    #[serde(rename = "observedRolloutID", default, skip_serializing_if = "String::is_empty")]
    pub observed_rollout_id: String,
    /// The plan fingerprint (RO-36).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rollout_hash: String,
    /// Revision of the stable pods.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stable_revision: String,
    /// The release's new revision. Always serialised.
    #[serde(default)]
    pub canary_revision: String,
    /// Canary Service selector value. Always serialised.
    #[serde(default)]
    pub pod_template_hash: String,
    /// Pods on the new revision. Always serialised.
    #[serde(default)]
    pub canary_replicas: i32,
    /// Ready pods on the new revision. Always serialised.
    #[serde(default)]
    pub canary_ready_replicas: i32,
    /// Next step (RO-34). Always serialised.
    #[serde(default)]
    pub next_step_index: i32,
    /// 1-based current step. Always serialised.
    #[serde(default)]
    pub current_step_index: i32,
    /// Step state (RO-26). Always serialised.
    #[serde(default)]
    pub current_step_state: String,
    /// Detail of the current step.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The step clock (RO-31).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,
    /// The finalising item in progress (RO-45). Always serialised.
    #[serde(default)]
    pub finalising_step: String,
}

impl Rollout {
    /// The `rollouts.kruise.io/rolling-style` annotation, or `""`.
    pub fn rolling_style_annotation(&self) -> &str {
        self.metadata
            .annotations
            .as_ref()
            .and_then(|a: &BTreeMap<String, String>| a.get(crate::keys::ROLLOUT_ROLLING_STYLE))
            .map_or("", String::as_str)
    }
}

/// CRD description of Rollout (the same for both versions; see the v1beta1 module).
#[cfg(feature = "schemars")]
pub fn kind_info() -> crate::crd::KindInfo {
    crate::rollouts::v1beta1::kind_info()
}
