//! Rollout, `rollouts.kruise.io/v1beta1` (RO-1..RO-6): a step plan (canary or blue-green)
//! that drives one workload's release in batches, optionally shifting traffic.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use crate::apps::{is_false, is_zero_i64};

kruise_resource! {
    /// Rollout (`rollouts.kruise.io/v1beta1`): progressive delivery of one workload (RO-1).
    Rollout {
        group: "rollouts.kruise.io",
        version: "v1beta1",
        kind: "Rollout",
        plural: "rollouts",
        scope: ::k8s_openapi::NamespaceResourceScope,
        spec: RolloutSpec,
        status: RolloutStatus,
    }
}

/// The desired state of a Rollout (RO-1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RolloutSpec {
    /// The workload released, in the Rollout's namespace. Required.
    #[serde(default)]
    pub workload_ref: ObjectRef,
    /// The step plan. Required.
    #[serde(default)]
    pub strategy: RolloutStrategy,
    /// Stop watching the workload (RO-51). Always serialised; defaults to false.
    #[serde(default)]
    pub disabled: bool,
}

/// A reference to an object by apiVersion, kind and name (RO-1, RO-4).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// `apps/v1`, `apps.kruise.io/v1alpha1`, ...
    #[serde(default)]
    pub api_version: String,
    /// `Deployment`, `CloneSet`, ...
    #[serde(default)]
    pub kind: String,
    /// Name of the referent.
    #[serde(default)]
    pub name: String,
}

impl ObjectRef {
    /// The API group: the part of `apiVersion` before `/`, or `""` for the core group.
    pub fn group(&self) -> &str {
        match self.api_version.split_once('/') {
            Some((group, _)) => group,
            None => "",
        }
    }
}

/// How a release proceeds: exactly one of `canary` / `blueGreen` (RO-1, RO-9).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RolloutStrategy {
    /// Freeze the step machine (RO-35).
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused: bool,
    /// Canary or partition-style release (RO-3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryStrategy>,
    /// Blue-green release (RO-3, RO-55).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue_green: Option<BlueGreenStrategy>,
}

/// Rolling style derived from the strategy (RO-12).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RollingStyle {
    /// The workload's own partition is moved.
    Partition,
    /// An extra canary Deployment is created (native Deployments only).
    Canary,
    /// Blue-green.
    BlueGreen,
}

impl RollingStyle {
    /// Upstream's spelling (`Partition`, `Canary`, `BlueGreen`).
    pub fn as_str(self) -> &'static str {
        match self {
            RollingStyle::Partition => "Partition",
            RollingStyle::Canary => "Canary",
            RollingStyle::BlueGreen => "BlueGreen",
        }
    }
}

impl RolloutStrategy {
    /// RO-12: `BlueGreen` if `blueGreen` is set, else `Canary` if
    /// `canary.enableExtraWorkloadForCanary`, else `Partition`. `None` when neither strategy is
    /// set.
    pub fn rolling_style(&self) -> Option<RollingStyle> {
        if self.blue_green.is_some() {
            return Some(RollingStyle::BlueGreen);
        }
        let canary = self.canary.as_ref()?;
        Some(if canary.enable_extra_workload_for_canary {
            RollingStyle::Canary
        } else {
            RollingStyle::Partition
        })
    }
    /// The steps of whichever strategy is set (blue-green first, as RO-12 chooses).
    pub fn steps(&self) -> &[CanaryStep] {
        match (&self.blue_green, &self.canary) {
            (Some(bg), _) => &bg.steps,
            (None, Some(c)) => &c.steps,
            (None, None) => &[],
        }
    }
    /// The traffic routings of whichever strategy is set.
    pub fn traffic_routings(&self) -> &[TrafficRoutingRef] {
        match (&self.blue_green, &self.canary) {
            (Some(bg), _) => &bg.traffic_routings,
            (None, Some(c)) => &c.traffic_routings,
            (None, None) => &[],
        }
    }
}

impl Rollout {
    /// RO-12 `IsRealPartition`: false for blue-green, for `Canary` on an `apps/v1`
    /// Deployment, and when no strategy is set; true otherwise (a `Canary` request on any other
    /// workload degrades to partition).
    pub fn is_real_partition(&self) -> bool {
        match self.spec.strategy.rolling_style() {
            None | Some(RollingStyle::BlueGreen) => false,
            Some(RollingStyle::Canary) => {
                let w = &self.spec.workload_ref;
                !(w.api_version == "apps/v1" && w.kind == "Deployment")
            }
            Some(RollingStyle::Partition) => true,
        }
    }
}

/// Canary / partition-style release parameters (RO-3).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CanaryStrategy {
    /// The steps, at most 50; replicas non-decreasing (RO-9).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<CanaryStep>,
    /// Traffic providers; at most one (RO-9).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traffic_routings: Vec<TrafficRoutingRef>,
    /// Failed pods tolerated among the updated ones before a batch is ready (RO-40).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<IntOrString>,
    /// Labels/annotations merged into the canary Deployment's pod template (RO-65).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_pod_template_metadata: Option<PatchPodTemplateMetadata>,
    /// Create an extra canary Deployment (canary style, RO-12).
    #[serde(default, skip_serializing_if = "is_false")]
    pub enable_extra_workload_for_canary: bool,
    /// Name of a shared TrafficRouting (RO-64).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub traffic_routing_ref: String,
    /// Do not create `<service>-canary` (RO-57).
    #[serde(default, skip_serializing_if = "is_false")]
    pub disable_generate_canary_service: bool,
}

/// Blue-green release parameters (RO-3, RO-55).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BlueGreenStrategy {
    /// The steps, at most 50 (RO-9).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<CanaryStep>,
    /// Traffic providers; at most one (RO-9).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traffic_routings: Vec<TrafficRoutingRef>,
    /// Failed pods tolerated among the updated ones (RO-40).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<IntOrString>,
    /// Name of a shared TrafficRouting (RO-64).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub traffic_routing_ref: String,
    /// Do not create `<service>-canary` (RO-57).
    #[serde(default, skip_serializing_if = "is_false")]
    pub disable_generate_canary_service: bool,
}

/// Labels and annotations for the canary pod template (RO-65).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PatchPodTemplateMetadata {
    /// Annotations to merge.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Labels to merge.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// One step of the plan (RO-2): how many pods run the new revision, what traffic they get,
/// and how long to wait.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CanaryStep {
    /// Traffic weight as a percent string (`"5%"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<String>,
    /// Header changes applied to canary requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_header_modifier: Option<HttpHeaderFilter>,
    /// Request matches routed to the canary (ORed; at most 16). Win over `traffic` (RO-60).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<HttpRouteMatch>,
    /// Updated pods in this step: a count or a percent of the workload's replicas. Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<IntOrString>,
    /// Wait after the step: a duration, or manual approval when unset (RO-31). Always
    /// serialised.
    #[serde(default)]
    pub pause: RolloutPause,
}

impl CanaryStep {
    /// True when the step sets neither `traffic` nor `matches` (RO-27).
    pub fn is_no_traffic_step(&self) -> bool {
        self.traffic.is_none() && self.matches.is_empty()
    }
}

/// The wait after a step (RO-31).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RolloutPause {
    /// Seconds to wait; unset = wait for approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i32>,
}

/// A request match (RO-2): all its conditions ANDed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteMatch {
    /// Path matcher (Gateway API `HTTPPathMatch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<HttpPathMatch>,
    /// Header matchers, at most 16.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HttpHeaderMatch>,
    /// Query parameter matchers, at most 16.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query_params: Vec<HttpQueryParamMatch>,
}

/// Gateway API `HTTPPathMatch`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct HttpPathMatch {
    /// `Exact`, `PathPrefix` (Gateway default) or `RegularExpression`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// The path (Gateway default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Gateway API `HTTPHeaderMatch`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct HttpHeaderMatch {
    /// `Exact` (Gateway default) or `RegularExpression`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Header name, case-insensitive.
    #[serde(default)]
    pub name: String,
    /// Value to match.
    #[serde(default)]
    pub value: String,
}

/// Gateway API `HTTPQueryParamMatch`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct HttpQueryParamMatch {
    /// `Exact` (Gateway default) or `RegularExpression`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Parameter name, case-sensitive.
    #[serde(default)]
    pub name: String,
    /// Value to match.
    #[serde(default)]
    pub value: String,
}

/// Gateway API `HTTPHeaderFilter`: header edits on matching requests.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct HttpHeaderFilter {
    /// Headers to overwrite.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<HttpHeader>,
    /// Headers to append.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<HttpHeader>,
    /// Header names to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

/// Gateway API `HTTPHeader`: a name and a value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct HttpHeader {
    /// Header name.
    #[serde(default)]
    pub name: String,
    /// Header value.
    #[serde(default)]
    pub value: String,
}

/// Where traffic is shifted (RO-4): the stable Service and at least one provider.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TrafficRoutingRef {
    /// The stable Service's name. Required.
    #[serde(default)]
    pub service: String,
    /// Seconds providers need to apply a change; the CRD defaults an absent value to 3
    /// (RO-63). ≥ 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<i32>,
    /// An Ingress provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressTrafficRouting>,
    /// A Gateway API provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayTrafficRouting>,
    /// Custom providers (Istio VirtualService, ...), driven by Lua (RO-62).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_network_refs: Option<Vec<ObjectRef>>,
    /// Provider parameters, e.g. `istio.destinationRule.stableSubsetName`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub additional_params: BTreeMap<String, String>,
}

/// Default of [`TrafficRoutingRef::grace_period_seconds`] (CRD default, RO-4).
pub const DEFAULT_GRACE_PERIOD_SECONDS: i32 = 3;

/// An Ingress provider (RO-4, RO-61).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct IngressTrafficRouting {
    /// `nginx` (used when empty), `aliyun-alb`, `mse`, `higress`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub class_type: String,
    /// The Ingress name, in the Rollout's namespace. Required.
    #[serde(default)]
    pub name: String,
}

impl IngressTrafficRouting {
    /// The class type, `nginx` when empty (RO-4).
    pub fn class_type_or_default(&self) -> &str {
        if self.class_type.is_empty() { "nginx" } else { &self.class_type }
    }
}

/// A Gateway API provider (RO-4, RO-59).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct GatewayTrafficRouting {
    /// The HTTPRoute name, in the Rollout's namespace. Required by validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_route_name: Option<String>,
}

/// The observed state of a Rollout (RO-6).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    /// The generation this status was computed for.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub observed_generation: i64,
    /// Sub-status of a canary / partition release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_status: Option<CanaryStatus>,
    /// Sub-status of a blue-green release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue_green_status: Option<BlueGreenStatus>,
    /// `Progressing`, `Succeeded`, `Terminating` conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<RolloutCondition>,
    /// See [`phase`] (RO-22).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    /// Why the Rollout is in its phase.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Mirror of the sub-status' step index, for `kubectl get`. Always serialised.
    #[serde(default)]
    pub current_step_index: i32,
    /// Mirror of the sub-status' step state. Always serialised.
    #[serde(default)]
    pub current_step_state: String,
}

impl RolloutStatus {
    /// The common part of whichever sub-status is set (canary first).
    pub fn sub_status(&self) -> Option<&CommonStatus> {
        match (&self.canary_status, &self.blue_green_status) {
            (Some(c), _) => Some(&c.common),
            (None, Some(b)) => Some(&b.common),
            (None, None) => None,
        }
    }
}

/// Values of [`RolloutStatus::phase`] (RO-22).
pub mod phase {
    /// Just created.
    pub const INITIAL: &str = "Initial";
    /// No release in progress.
    pub const HEALTHY: &str = "Healthy";
    /// A release is in progress.
    pub const PROGRESSING: &str = "Progressing";
    /// Being deleted.
    pub const TERMINATING: &str = "Terminating";
    /// `spec.disabled`.
    pub const DISABLED: &str = "Disabled";
    /// Releasing resources on the way to `Disabled`.
    pub const DISABLING: &str = "Disabling";
}

/// Values of the step state (RO-26).
pub mod step_state {
    /// Before the step's workload upgrade.
    pub const BEFORE_STEP_UPGRADE: &str = "BeforeStepUpgrade";
    /// Upgrading the batch.
    pub const STEP_UPGRADE: &str = "StepUpgrade";
    /// Shifting traffic.
    pub const STEP_TRAFFIC_ROUTING: &str = "StepTrafficRouting";
    /// Analysis (passes straight through).
    pub const STEP_METRICS_ANALYSIS: &str = "StepMetricsAnalysis";
    /// Waiting for the pause duration or approval.
    pub const STEP_PAUSED: &str = "StepPaused";
    /// Step done; approval writes this state (RO-32).
    pub const STEP_READY: &str = "StepReady";
    /// Every step done.
    pub const COMPLETED: &str = "Completed";
}

/// Values of [`CommonStatus::finalising_step`] (RO-45).
pub mod finalising_step {
    /// Blue-green: route all traffic to the new version.
    pub const ROUTE_TRAFFIC_TO_NEW: &str = "FinalisingStepRouteTrafficToNew";
    /// Restore routes to the stable Service.
    pub const ROUTE_TRAFFIC_TO_STABLE: &str = "FinalisingStepRouteTrafficToStable";
    /// Remove the revision selector from the stable Service.
    pub const RESTORE_STABLE_SERVICE: &str = "RestoreStableService";
    /// Delete the canary Service.
    pub const REMOVE_CANARY_SERVICE: &str = "RemoveCanaryService";
    /// Resume the workload (partition released).
    pub const RESUME_WORKLOAD: &str = "ResumeWorkload";
    /// Delete the BatchRelease.
    pub const RELEASE_WORKLOAD_CONTROL: &str = "ReleaseWorkloadControl";
    /// All done.
    pub const END: &str = "END";
}

/// Condition types and reasons of a Rollout (RO-22, RO-23).
pub mod condition {
    /// Condition type: a release is progressing.
    pub const PROGRESSING: &str = "Progressing";
    /// Condition type: the last release succeeded or was cancelled.
    pub const SUCCEEDED: &str = "Succeeded";
    /// Condition type: the Rollout is being deleted.
    pub const TERMINATING: &str = "Terminating";
    /// Progressing reason.
    pub const REASON_INITIALIZING: &str = "Initializing";
    /// Progressing reason.
    pub const REASON_IN_ROLLING: &str = "InRolling";
    /// Progressing reason.
    pub const REASON_FINALISING: &str = "Finalising";
    /// Progressing / Terminating reason.
    pub const REASON_COMPLETED: &str = "Completed";
    /// Progressing reason.
    pub const REASON_CANCELLING: &str = "Cancelling";
    /// Progressing reason.
    pub const REASON_PAUSED: &str = "Paused";
    /// Terminating reason.
    pub const REASON_IN_TERMINATING: &str = "InTerminating";
}

/// One Rollout condition (RO-6).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RolloutCondition {
    /// See [`condition`].
    #[serde(rename = "type", default)]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// When the condition was first set (RO-6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,
    /// When `status` last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// One-word reason. Always serialised.
    #[serde(default)]
    pub reason: String,
    /// Human-readable detail. Always serialised.
    #[serde(default)]
    pub message: String,
}

/// Fields shared by the canary and blue-green sub-status (RO-6); inlined on the wire.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CommonStatus {
    /// The workload generation last observed.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub observed_workload_generation: i64,
    /// The rollout id (RO-21) last observed.
    #[serde(rename = "observedRolloutID", default, skip_serializing_if = "String::is_empty")]
    pub observed_rollout_id: String,
    /// The plan fingerprint (RO-36).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rollout_hash: String,
    /// Revision of the stable pods.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stable_revision: String,
    /// Revision value used as the canary Service selector. Always serialised.
    #[serde(default)]
    pub pod_template_hash: String,
    /// 1-based current step. Always serialised.
    #[serde(default)]
    pub current_step_index: i32,
    /// Next step: `current + 1`, or −1 after the last step; users may patch it to jump
    /// (RO-33, RO-34). Always serialised.
    #[serde(default)]
    pub next_step_index: i32,
    /// The finalising item in progress (RO-45). Always serialised.
    #[serde(default)]
    pub finalising_step: String,
    /// See [`step_state`]. Always serialised.
    #[serde(default)]
    pub current_step_state: String,
    /// Detail of the current step.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The step clock (RO-31).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,
}

/// Canary / partition sub-status (RO-6).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CanaryStatus {
    /// The shared fields.
    #[serde(flatten)]
    pub common: CommonStatus,
    /// The release's new revision. Always serialised.
    #[serde(default)]
    pub canary_revision: String,
    /// Pods on the new revision. Always serialised.
    #[serde(default)]
    pub canary_replicas: i32,
    /// Ready pods on the new revision. Always serialised.
    #[serde(default)]
    pub canary_ready_replicas: i32,
}

/// Blue-green sub-status (RO-6).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BlueGreenStatus {
    /// The shared fields.
    #[serde(flatten)]
    pub common: CommonStatus,
    /// The release's new revision. Always serialised.
    #[serde(default)]
    pub updated_revision: String,
    /// Pods on the new revision. Always serialised.
    #[serde(default)]
    pub updated_replicas: i32,
    /// Ready pods on the new revision. Always serialised.
    #[serde(default)]
    pub updated_ready_replicas: i32,
}

/// CRD description of Rollout, both versions (`kubectl get rollouts`: STATUS, CANARY_STEP,
/// CANARY_STATE, MESSAGE, AGE). v1alpha1 reads the step from `status.canaryStatus`.
#[cfg(feature = "schemars")]
pub fn kind_info() -> crate::crd::KindInfo {
    use crate::crd::{KindInfo, PrinterColumn, VersionInfo};
    fn columns(step_prefix: bool) -> Vec<PrinterColumn> {
        let col = |name, type_, json_path, description| PrinterColumn {
            name,
            type_,
            json_path,
            description,
            priority: 0,
        };
        let (step, state) = if step_prefix {
            (".status.canaryStatus.currentStepIndex", ".status.canaryStatus.currentStepState")
        } else {
            (".status.currentStepIndex", ".status.currentStepState")
        };
        vec![
            col("STATUS", "string", ".status.phase", "The Rollout phase."),
            col("CANARY_STEP", "integer", step, "The current step."),
            col("CANARY_STATE", "string", state, "The state of the current step."),
            col("MESSAGE", "string", ".status.message", "Why the Rollout is in its phase."),
            col("AGE", "date", ".metadata.creationTimestamp", "Time since the Rollout was created."),
        ]
    }
    KindInfo {
        group: "rollouts.kruise.io",
        kind: "Rollout",
        plural: "rollouts",
        singular: "rollout",
        short_names: &[],
        categories: &[],
        namespaced: true,
        versions: vec![
            VersionInfo {
                name: "v1alpha1",
                served: true,
                storage: true,
                spec_schema: || schemars::schema_for!(crate::rollouts::v1alpha1::RolloutSpec),
                status_schema: || schemars::schema_for!(crate::rollouts::v1alpha1::RolloutStatus),
                status_subresource: true,
                scale: None,
                printer_columns: columns(true),
            },
            VersionInfo {
                name: "v1beta1",
                // Not served: no conversion webhook, and the shapes differ (see
                // docs/deviations.md); kept so the schema is documented and CRDs that stored
                // v1beta1 earlier still update.
                served: false,
                storage: false,
                spec_schema: || schemars::schema_for!(RolloutSpec),
                status_schema: || schemars::schema_for!(RolloutStatus),
                status_subresource: true,
                scale: None,
                printer_columns: columns(false),
            },
        ],
    }
}
