//! Advanced DaemonSet, `apps.kruise.io/v1beta1`: the storage (hub) version (ADS-3). The
//! update-strategy types are shared with v1alpha1, whose shape they also are.

use k8s_openapi::api::apps::v1::DaemonSetCondition;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use crate::apps::common::Lifecycle;
use crate::apps::{is_false, is_zero_i32, is_zero_i64};

kruise_resource! {
    /// Advanced DaemonSet (`apps.kruise.io/v1beta1`): one pod per eligible node, with in-place
    /// update, surge, partition, a node selector for canary updates and a pre-delete hook.
    DaemonSet {
        group: "apps.kruise.io",
        version: "v1beta1",
        kind: "DaemonSet",
        plural: "daemonsets",
        scope: ::k8s_openapi::NamespaceResourceScope,
        spec: DaemonSetSpec,
        status: DaemonSetStatus,
    }
}

/// The desired state of an Advanced DaemonSet, v1beta1 (ADS-3).
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
    /// Scaling behaviour (v1beta1 only; replaces the v1alpha1 progressive-create annotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_strategy: Option<DaemonSetScaleStrategy>,
}

/// Scaling behaviour, v1beta1 (ADS-3, ADS-15).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DaemonSetScaleStrategy {
    /// Let `partition` also limit pod creation on nodes that have no pod yet (ADS-15).
    #[serde(default, skip_serializing_if = "is_false")]
    pub partitioned_scaling: bool,
}

/// How existing pods are replaced (ADS-3). Shared by v1alpha1 and v1beta1.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DaemonSetUpdateStrategy {
    /// `RollingUpdate` (default) or `OnDelete`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Rolling update parameters; required with `RollingUpdate` (ADS-5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<RollingUpdateDaemonSet>,
}

/// Rolling update parameters (ADS-3, ADS-19..ADS-24). Shared by v1alpha1 and v1beta1.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RollingUpdateDaemonSet {
    /// `Standard` (default), `InPlaceIfPossible`, or (v1alpha1 only, deprecated) `Surging`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_update_type: Option<String>,
    /// Nodes whose pod may be unavailable during the update: int or percent of the desired
    /// nodes, rounded up. Exactly one of this and `maxSurge` must be non-zero (ADS-5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// Nodes that may run an updated pod next to the old one: int or percent, rounded up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrString>,
    /// Only nodes matching this label selector are updated (ADS-21). `{}` matches every node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Nodes that keep the old revision: int or percent of `status.desiredNumberScheduled`,
    /// rounded down (ADS-21).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<IntOrString>,
    /// Stop updating pods; creation on new nodes continues (ADS-26).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
}

/// The observed state of an Advanced DaemonSet, v1beta1 (ADS-29, ADS-30).
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
    /// The update revision's `controller-revision-hash` (v1alpha1: `daemonSetHash`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub update_revision: String,
}

/// Values of `updateStrategy.type`.
pub mod update_strategy_type {
    /// Replace pods as `rollingUpdate` says (default).
    pub const ROLLING_UPDATE: &str = "RollingUpdate";
    /// Replace a pod only when it is deleted by someone else (ADS-25).
    pub const ON_DELETE: &str = "OnDelete";
}

/// Values of `rollingUpdate.rollingUpdateType`.
pub mod rolling_update_type {
    /// Delete and recreate (default).
    pub const STANDARD: &str = "Standard";
    /// Update images in place when only they changed, else recreate (ADS-24).
    pub const IN_PLACE_IF_POSSIBLE: &str = "InPlaceIfPossible";
    /// v1alpha1 only, deprecated alias of `Standard` with `maxSurge: 1, maxUnavailable: 0`
    /// defaults (ADS-4).
    pub const SURGING: &str = "Surging";
}

/// How a rolling update replaces a pod, read from `rollingUpdateType` (ADS-24).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum RollingUpdateType {
    /// Delete and recreate (`Standard`, the deprecated `Surging`, empty or unknown).
    Standard,
    /// Update images in place when only they changed (`InPlaceIfPossible`).
    InPlaceIfPossible,
}

impl RollingUpdateType {
    /// Reads a `rollingUpdateType`; anything but `InPlaceIfPossible` recreates pods, as the
    /// controller reads it.
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some(rolling_update_type::IN_PLACE_IF_POSSIBLE) => Self::InPlaceIfPossible,
            _ => Self::Standard,
        }
    }
}

impl RollingUpdateDaemonSet {
    /// True when `paused` is set to true (ADS-26).
    pub fn is_paused(&self) -> bool {
        self.paused == Some(true)
    }
    /// The rolling update type (ADS-24).
    pub fn update_type(&self) -> RollingUpdateType {
        RollingUpdateType::parse(self.rolling_update_type.as_deref())
    }
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
    /// True when partition also limits creation on new nodes (ADS-15).
    pub fn partitioned_scaling(&self) -> bool {
        self.spec.scale_strategy.as_ref().is_some_and(|s| s.partitioned_scaling)
    }
    /// The rolling update type; `Standard` without a `rollingUpdate` (ADS-24).
    pub fn rolling_update_type(&self) -> RollingUpdateType {
        self.spec
            .update_strategy
            .rolling_update
            .as_ref()
            .map_or(RollingUpdateType::Standard, RollingUpdateDaemonSet::update_type)
    }
}

/// CRD facts of the DaemonSet kind (both versions; v1beta1 is stored).
#[cfg(feature = "schemars")]
pub fn kind_info() -> crate::crd::KindInfo {
    use crate::crd::{KindInfo, PrinterColumn, VersionInfo};
    fn columns() -> Vec<PrinterColumn> {
        let col = |name, type_, json_path, description, priority| PrinterColumn {
            name,
            type_,
            json_path,
            description,
            priority,
        };
        vec![
            col("DESIRED", "integer", ".status.desiredNumberScheduled", "The desired number of pods.", 0),
            col("CURRENT", "integer", ".status.currentNumberScheduled", "The current number of pods.", 0),
            col("READY", "integer", ".status.numberReady", "The ready number of pods.", 0),
            col("UP-TO-DATE", "integer", ".status.updatedNumberScheduled", "The updated number of pods.", 0),
            col("AVAILABLE", "integer", ".status.numberAvailable", "The updated number of pods.", 0),
            col(
                "AGE",
                "date",
                ".metadata.creationTimestamp",
                "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.",
                0,
            ),
            col(
                "CONTAINERS",
                "string",
                ".spec.template.spec.containers[*].name",
                "The containers of currently  daemonset.",
                1,
            ),
            col(
                "IMAGES",
                "string",
                ".spec.template.spec.containers[*].image",
                "The images of currently advanced daemonset.",
                1,
            ),
        ]
    }
    KindInfo {
        group: crate::apps::GROUP,
        kind: "DaemonSet",
        plural: "daemonsets",
        singular: "daemonset",
        short_names: &["daemon", "ads"],
        categories: &[],
        namespaced: true,
        versions: vec![
            VersionInfo {
                name: "v1alpha1",
                served: true,
                storage: true,
                spec_schema: || schemars::schema_for!(crate::apps::v1alpha1::DaemonSetSpec),
                status_schema: || schemars::schema_for!(crate::apps::v1alpha1::DaemonSetStatus),
                status_subresource: true,
                scale: None,
                printer_columns: columns(),
            },
            VersionInfo {
                name: "v1beta1",
                // Not served: no conversion webhook, and the shapes differ (see
                // docs/deviations.md); kept so the schema is documented and CRDs that stored
                // v1beta1 earlier still update.
                served: false,
                storage: false,
                spec_schema: || schemars::schema_for!(DaemonSetSpec),
                status_schema: || schemars::schema_for!(DaemonSetStatus),
                status_subresource: true,
                scale: None,
                printer_columns: columns(),
            },
        ],
    }
}
