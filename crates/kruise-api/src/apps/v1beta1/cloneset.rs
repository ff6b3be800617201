//! CloneSet, `apps.kruise.io/v1beta1` (CS-1..CS-7). The planner works on this shape; v1alpha1
//! objects are converted first ([`crate::convert`]).

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use crate::apps::common::{InPlaceUpdateStrategy, Lifecycle, UpdatePriorityStrategy, UpdateScatterStrategy};
use crate::apps::{is_false, is_zero_i32, is_zero_i64};

kruise_resource! {
    /// CloneSet (`apps.kruise.io/v1beta1`): a set of interchangeable pods with in-place update,
    /// partitions, `podsToDelete` and lifecycle hooks.
    CloneSet {
        group: "apps.kruise.io",
        version: "v1beta1",
        kind: "CloneSet",
        plural: "clonesets",
        scope: ::k8s_openapi::NamespaceResourceScope,
        spec: CloneSetSpec,
        status: CloneSetStatus,
    }
}

/// The desired state of a CloneSet (CS-2).
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
    /// Update behaviour (CS-4).
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
    /// Seconds a rollout may take before `Progressing` turns False (CS-85). Unset or
    /// 2147483647 disables it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    pub progress_deadline_seconds: Option<i32>,
}

/// Scaling behaviour, v1beta1 (CS-3).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CloneSetScaleStrategy {
    /// Pods to delete, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods_to_delete: Vec<String>,
    /// Limits scale-up only: at most this many unavailable pods while creating. Unset = no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// Reuse the PVCs of a vanished pod for its replacement (v1beta1; default false).
    #[serde(rename = "enablePVCReuse", default, skip_serializing_if = "is_false")]
    pub enable_pvc_reuse: bool,
    /// Do not count `PreparingDelete` pods as replicas (CS-81).
    #[serde(default, skip_serializing_if = "is_false")]
    pub exclude_preparing_delete: bool,
}

/// Update behaviour, v1beta1 (CS-4).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CloneSetUpdateStrategy {
    /// `RollingUpdate` (default) or `OnDelete`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Rolling update parameters (only with `RollingUpdate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<RollingUpdateCloneSetStrategy>,
}

/// Rolling update parameters, v1beta1 (CS-4).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RollingUpdateCloneSetStrategy {
    /// Pods to keep on older revisions (int or percent; default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<IntOrString>,
    /// Unavailable pods allowed during update (default `"20%"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// Extra pods allowed during update (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrString>,
    /// `ReCreate` (default), `InPlaceIfPossible` or `InPlaceOnly`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_update_policy: Option<String>,
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

/// The observed state of a CloneSet (CS-7).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CloneSetStatus {
    /// The generation this status was computed for.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub observed_generation: i64,
    /// Active pods.
    #[serde(default)]
    pub replicas: i32,
    /// Pods ready (CS-82).
    #[serde(default)]
    pub ready_replicas: i32,
    /// Pods available (ready for `minReadySeconds`, lifecycle Normal).
    #[serde(default)]
    pub available_replicas: i32,
    /// Pods on the update revision.
    #[serde(default)]
    pub updated_replicas: i32,
    /// Updated pods that are ready.
    #[serde(default)]
    pub updated_ready_replicas: i32,
    /// Updated pods that are available.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub updated_available_replicas: i32,
    /// Pods that should be on the update revision: replicas − partition.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub expected_updated_replicas: i32,
    /// The revision new pods get.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub update_revision: String,
    /// The revision all pods were on before the update started.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub current_revision: String,
    /// Hash collisions seen while naming revisions (CS-30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collision_count: Option<i32>,
    /// Conditions: FailedScale, FailedUpdate, Progressing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<CloneSetCondition>,
    /// The selector as a string, for the scale subresource (HPA).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label_selector: String,
}

/// One CloneSet condition (CS-84, CS-85).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CloneSetCondition {
    /// `FailedScale`, `FailedUpdate` or `Progressing`.
    #[serde(rename = "type", default)]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// Last time the condition was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,
    /// Last time the status changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Values of `updateStrategy.type` (v1beta1).
pub mod update_strategy_type {
    /// Update pods as the strategy says (default).
    pub const ROLLING_UPDATE: &str = "RollingUpdate";
    /// Never update pods; new pods get the new template.
    pub const ON_DELETE: &str = "OnDelete";
}

/// Values of `rollingUpdate.podUpdatePolicy` (and of v1alpha1 `updateStrategy.type`).
pub mod pod_update_policy {
    /// Delete and recreate pods (default).
    pub const RECREATE: &str = "ReCreate";
    /// Update in place when only images or metadata changed, else recreate.
    pub const IN_PLACE_IF_POSSIBLE: &str = "InPlaceIfPossible";
    /// Update in place only; other changes are an error.
    pub const IN_PLACE_ONLY: &str = "InPlaceOnly";
}

/// How pods are updated, read from `podUpdatePolicy` (unknown or unset ⇒ `ReCreate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum PodUpdatePolicy {
    /// Delete and recreate.
    ReCreate,
    /// In place when possible, else recreate.
    InPlaceIfPossible,
    /// In place only.
    InPlaceOnly,
}

impl PodUpdatePolicy {
    /// Reads a policy string; unknown ⇒ `ReCreate`, as upstream's conversion does (CS-5).
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some(pod_update_policy::IN_PLACE_IF_POSSIBLE) => Self::InPlaceIfPossible,
            Some(pod_update_policy::IN_PLACE_ONLY) => Self::InPlaceOnly,
            _ => Self::ReCreate,
        }
    }
    /// True for both in-place policies.
    pub fn is_in_place(self) -> bool {
        !matches!(self, Self::ReCreate)
    }
}

impl CloneSet {
    /// `spec.replicas`, defaulting to 1.
    pub fn replicas(&self) -> i32 {
        self.spec.replicas.unwrap_or(1)
    }
    /// True when `updateStrategy.type` is `OnDelete`.
    pub fn is_on_delete(&self) -> bool {
        self.spec.update_strategy.type_.as_deref() == Some(update_strategy_type::ON_DELETE)
    }
    /// The pod update policy (ReCreate when there is no `rollingUpdate`).
    pub fn pod_update_policy(&self) -> PodUpdatePolicy {
        PodUpdatePolicy::parse(
            self.spec.update_strategy.rolling_update.as_ref().and_then(|r| r.pod_update_policy.as_deref()),
        )
    }
}

/// What the CloneSet CRD is made of (CS-1): short name `clone`, namespaced, `v1alpha1` served
/// and stored, `v1beta1` listed but not served (no conversion webhook), both with the status and scale subresources and the
/// `kubectl get` columns upstream shows.
#[cfg(feature = "schemars")]
pub(crate) fn kind_info() -> crate::crd::KindInfo {
    use crate::crd::{KindInfo, PrinterColumn, ScaleInfo, VersionInfo, schema_for};

    let columns = || {
        let col = |name, type_, json_path, description, priority| PrinterColumn {
            name,
            type_,
            json_path,
            description,
            priority,
        };
        vec![
            col("DESIRED", "integer", ".spec.replicas", "Pods wanted.", 0),
            col("UPDATED", "integer", ".status.updatedReplicas", "Pods on the update revision.", 0),
            col(
                "UPDATED_READY",
                "integer",
                ".status.updatedReadyReplicas",
                "Pods on the update revision that are ready.",
                0,
            ),
            col(
                "UPDATED_AVAILABLE",
                "integer",
                ".status.updatedAvailableReplicas",
                "Pods on the update revision that are available.",
                0,
            ),
            col("READY", "integer", ".status.readyReplicas", "Pods that are ready.", 0),
            col("TOTAL", "integer", ".status.replicas", "All active pods.", 0),
            col("AGE", "date", ".metadata.creationTimestamp", "Time since the CloneSet was created.", 0),
            col(
                "CONTAINERS",
                "string",
                ".spec.template.spec.containers[*].name",
                "Container names of the pod template.",
                1,
            ),
            col(
                "IMAGES",
                "string",
                ".spec.template.spec.containers[*].image",
                "Container images of the pod template.",
                1,
            ),
            col("SELECTOR", "string", ".status.labelSelector", "The label selector of the pods.", 1),
        ]
    };
    let scale = || {
        Some(ScaleInfo {
            spec_replicas_path: ".spec.replicas",
            status_replicas_path: ".status.replicas",
            label_selector_path: Some(".status.labelSelector"),
        })
    };
    KindInfo {
        group: "apps.kruise.io",
        kind: "CloneSet",
        plural: "clonesets",
        singular: "cloneset",
        short_names: &["clone"],
        categories: &[],
        namespaced: true,
        versions: vec![
            VersionInfo {
                name: "v1alpha1",
                served: true,
                storage: true,
                spec_schema: schema_for::<crate::apps::v1alpha1::CloneSetSpec>,
                status_schema: schema_for::<crate::apps::v1alpha1::CloneSetStatus>,
                status_subresource: true,
                scale: scale(),
                printer_columns: columns(),
            },
            VersionInfo {
                name: "v1beta1",
                // Not served: no conversion webhook, and the shapes differ (see
                // docs/deviations.md); kept so the schema is documented and CRDs that stored
                // v1beta1 earlier still update.
                served: false,
                storage: false,
                spec_schema: schema_for::<CloneSetSpec>,
                status_schema: schema_for::<CloneSetStatus>,
                status_subresource: true,
                scale: scale(),
                printer_columns: columns(),
            },
        ],
    }
}
