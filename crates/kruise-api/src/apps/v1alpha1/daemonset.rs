//! Advanced DaemonSet, `apps.kruise.io/v1alpha1` (ADS-3): the version most manifests are
//! written in. The planner works on v1beta1; convert with [`crate::convert`].

use k8s_openapi::api::apps::v1::DaemonSetCondition;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use crate::apps::common::Lifecycle;
use crate::apps::{is_zero_i32, is_zero_i64};

#[cfg(feature = "schemars")]
pub use crate::apps::v1beta1::daemonset::kind_info;
pub use crate::apps::v1beta1::daemonset::{
    DaemonSetUpdateStrategy, RollingUpdateDaemonSet, RollingUpdateType, rolling_update_type,
    update_strategy_type,
};

kruise_resource! {
    /// Advanced DaemonSet (`apps.kruise.io/v1alpha1`).
    DaemonSet {
        group: "apps.kruise.io",
        version: "v1alpha1",
        kind: "DaemonSet",
        plural: "daemonsets",
        scope: ::k8s_openapi::NamespaceResourceScope,
        spec: DaemonSetSpec,
        status: DaemonSetStatus,
    }
}

/// The desired state of an Advanced DaemonSet, v1alpha1 (ADS-3).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DaemonSetSpec {
    /// Selects the pods; must match the template labels; immutable (ADS-5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// The pod run on every eligible node.
    #[serde(default)]
    pub template: PodTemplateSpec,
    /// How existing pods are replaced (ADS-18..ADS-26).
    #[serde(default)]
    pub update_strategy: DaemonSetUpdateStrategy,
    /// Seconds a new pod must stay Ready to count as available. 0 = at once (ADS-2).
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    pub min_ready_seconds: i32,
    /// Creations and deletions per pass, int or percent of `status.desiredNumberScheduled`
    /// rounded down; defaults to 250 (ADS-4, ADS-17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_replicas: Option<IntOrString>,
    /// Old revisions kept; defaults to 10 (ADS-10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    pub revision_history_limit: Option<i32>,
    /// Lifecycle hooks; only `preDelete` is supported (ADS-28).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
}

/// The observed state of an Advanced DaemonSet, v1alpha1 (ADS-29, ADS-30).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DaemonSetStatus {
    /// Nodes that should run the pod and run at least one.
    #[serde(default)]
    pub current_number_scheduled: i32,
    /// Nodes that run the pod but should not.
    #[serde(default)]
    pub number_misscheduled: i32,
    /// Nodes that should run the pod.
    #[serde(default)]
    pub desired_number_scheduled: i32,
    /// Nodes that should run the pod and whose oldest pod is ready.
    #[serde(default)]
    pub number_ready: i32,
    /// The generation this status was computed for.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub observed_generation: i64,
    /// Nodes whose oldest pod is on the update revision.
    #[serde(default)]
    pub updated_number_scheduled: i32,
    /// Nodes whose oldest pod is available.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub number_available: i32,
    /// `desiredNumberScheduled - numberAvailable`.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub number_unavailable: i32,
    /// Hash collisions seen while naming revisions (ADS-9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collision_count: Option<i32>,
    /// Conditions (never written by the controller, ADS-30).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<DaemonSetCondition>,
    /// The update revision's `controller-revision-hash` (v1beta1: `updateRevision`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub daemon_set_hash: String,
}

impl DaemonSet {
    /// True when `updateStrategy.type` is `OnDelete` (ADS-25).
    pub fn is_on_delete(&self) -> bool {
        self.spec.update_strategy.type_.as_deref() == Some(update_strategy_type::ON_DELETE)
    }
    /// True when the rolling update is paused (ADS-26).
    pub fn is_paused(&self) -> bool {
        self.spec.update_strategy.rolling_update.as_ref().is_some_and(RollingUpdateDaemonSet::is_paused)
    }
    /// The rolling update type; `Standard` without a `rollingUpdate` (ADS-24).
    pub fn rolling_update_type(&self) -> RollingUpdateType {
        self.spec
            .update_strategy
            .rolling_update
            .as_ref()
            .map_or(RollingUpdateType::Standard, RollingUpdateDaemonSet::update_type)
    }
    /// True when the annotation `daemonset.kruise.io/progressive-create-pod` is `"true"`
    /// (ADS-1, ADS-15).
    pub fn partitioned_scaling(&self) -> bool {
        self.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(crate::keys::DAEMONSET_PROGRESSIVE_CREATE_POD))
            .is_some_and(|v| v == "true")
    }
}
