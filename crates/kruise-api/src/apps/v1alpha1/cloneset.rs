//! CloneSet, `apps.kruise.io/v1alpha1` (CS-2, CS-3, CS-5). The seed manifests use this version.

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use crate::apps::common::{InPlaceUpdateStrategy, Lifecycle, UpdatePriorityStrategy, UpdateScatterStrategy};
use crate::apps::{is_false, is_zero_i32};

pub use crate::apps::v1beta1::{CloneSetCondition, CloneSetStatus};

kruise_resource! {
    /// CloneSet (`apps.kruise.io/v1alpha1`).
    CloneSet {
        group: "apps.kruise.io",
        version: "v1alpha1",
        kind: "CloneSet",
        plural: "clonesets",
        scope: ::k8s_openapi::NamespaceResourceScope,
        spec: CloneSetSpec,
        status: CloneSetStatus,
    }
}

/// The desired state of a CloneSet, v1alpha1 (CS-2).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CloneSetSpec {
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
    /// One PVC per template per pod (CS-47).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_claim_templates: Vec<PersistentVolumeClaim>,
    /// Scaling behaviour (CS-3).
    #[serde(default)]
    pub scale_strategy: CloneSetScaleStrategy,
    /// Update behaviour (CS-5).
    #[serde(default)]
    pub update_strategy: CloneSetUpdateStrategy,
    /// Non-live revisions kept; defaults to 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    pub revision_history_limit: Option<i32>,
    /// Seconds a pod must stay Ready to count as available. 0 = at once.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    pub min_ready_seconds: i32,
    /// Lifecycle hooks (CS-6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
    /// Seconds a rollout may take before `Progressing` turns False (CS-85).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    pub progress_deadline_seconds: Option<i32>,
}

/// Scaling behaviour, v1alpha1 (CS-3).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CloneSetScaleStrategy {
    /// Pods to delete, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods_to_delete: Vec<String>,
    /// Limits scale-up only. Unset = no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// Do not reuse the PVCs of a vanished pod (v1alpha1; default false, i.e. reuse).
    #[serde(rename = "disablePVCReuse", default, skip_serializing_if = "is_false")]
    pub disable_pvc_reuse: bool,
}

/// Update behaviour, v1alpha1: flat (CS-5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CloneSetUpdateStrategy {
    /// `ReCreate` (default), `InPlaceIfPossible` or `InPlaceOnly`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Pods to keep on older revisions (int or percent; default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<IntOrString>,
    /// Unavailable pods allowed during update (default `"20%"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// Extra pods allowed during update (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrString>,
    /// Stop updating pods (scaling continues).
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused: bool,
    /// Update order by priority (CS-59).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_strategy: Option<UpdatePriorityStrategy>,
    /// Update order scattering (CS-60).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scatter_strategy: UpdateScatterStrategy,
    /// In-place update parameters (CS-72).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_place_update_strategy: Option<InPlaceUpdateStrategy>,
}

/// Values of v1alpha1 `updateStrategy.type`.
pub mod update_strategy_type {
    pub use crate::apps::v1beta1::pod_update_policy::*;
    /// Accepted by the type, rejected by the v1alpha1 webhook (CS-16).
    pub const ON_DELETE: &str = "OnDelete";
}
