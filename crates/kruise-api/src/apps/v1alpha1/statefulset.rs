//! Advanced StatefulSet, `apps.kruise.io/v1alpha1` (ASTS-6): served, converted to v1beta1
//! ([`crate::convert::statefulset_to_v1beta1`]). It lacks `reserveOrdinals`, `lifecycle`,
//! `scaleStrategy`, `persistentVolumeClaimRetentionPolicy`, `ordinals`,
//! `volumeClaimUpdateStrategy` and three status fields; the update strategy is identical.

use k8s_openapi::api::apps::v1::StatefulSetCondition;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::{Deserialize, Serialize};

use crate::apps::is_zero_i64;

pub use crate::apps::v1beta1::{
    RollingUpdateStatefulSetStrategy, StatefulSetUpdateStrategy, UnorderedUpdateStrategy,
};

kruise_resource! {
    /// Advanced StatefulSet (`apps.kruise.io/v1alpha1`).
    StatefulSet {
        group: "apps.kruise.io",
        version: "v1alpha1",
        kind: "StatefulSet",
        plural: "statefulsets",
        scope: ::k8s_openapi::NamespaceResourceScope,
        spec: StatefulSetSpec,
        status: StatefulSetStatus,
    }
}

/// The desired state of an Advanced StatefulSet, v1alpha1 (ASTS-6).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatefulSetSpec {
    /// Desired pods; defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    pub replicas: Option<i32>,
    /// Selects the pods; must match the template labels; immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// The pod template.
    #[serde(default)]
    pub template: PodTemplateSpec,
    /// One PVC per template per pod.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_claim_templates: Vec<PersistentVolumeClaim>,
    /// The governing headless service.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_name: String,
    /// `OrderedReady` (default) or `Parallel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_management_policy: Option<String>,
    /// Update behaviour (same shape as v1beta1).
    #[serde(default)]
    pub update_strategy: StatefulSetUpdateStrategy,
    /// Revisions kept; defaults to 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    pub revision_history_limit: Option<i32>,
}

/// The observed state, v1alpha1 (ASTS-6: no updatedReady/updatedAvailable/volumeClaims).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatefulSetStatus {
    /// The generation this status was computed for.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub observed_generation: i64,
    /// Created pods.
    #[serde(default)]
    pub replicas: i32,
    /// Running and Ready pods.
    #[serde(default)]
    pub ready_replicas: i32,
    /// Ready for `minReadySeconds`.
    #[serde(default)]
    pub available_replicas: i32,
    /// Pods at the current revision.
    #[serde(default)]
    pub current_replicas: i32,
    /// Pods at the update revision.
    #[serde(default)]
    pub updated_replicas: i32,
    /// The revision pods below the partition stay on.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub current_revision: String,
    /// The revision pods are updated to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub update_revision: String,
    /// Hash collisions seen while naming revisions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collision_count: Option<i32>,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<StatefulSetCondition>,
    /// The selector as a string, for the scale subresource.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label_selector: String,
}
