//! SidecarSet, `apps.kruise.io/v1beta1`: the storage (hub) version (SCS-1, SCS-2). Every type
//! but the spec is shared with v1alpha1 (SCS-3).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, LocalObjectReference, ObjectFieldSelector, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use crate::apps::common::{UpdatePriorityStrategy, UpdateScatterStrategy};
use crate::apps::{is_false, is_zero_i32, is_zero_i64};

kruise_resource! {
    /// SidecarSet (`apps.kruise.io/v1beta1`, cluster-scoped): sidecar containers injected
    /// into matching pods at creation and upgraded in place afterwards.
    SidecarSet {
        group: "apps.kruise.io",
        version: "v1beta1",
        kind: "SidecarSet",
        plural: "sidecarsets",
        scope: ::k8s_openapi::ClusterResourceScope,
        spec: SidecarSetSpec,
        status: SidecarSetStatus,
    }
}

/// The desired state of a SidecarSet, v1beta1 (SCS-1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SidecarSetSpec {
    /// Pods to inject into; required and non-empty (SCS-7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Namespaces whose pods are matched; unset = all namespaces (SCS-11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Init containers injected at pod creation only, sorted by name (SCS-17, SCS-20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<SidecarContainer>,
    /// Sidecar containers (SCS-2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<SidecarContainer>,
    /// Volumes the sidecars may mount; injected when a sidecar mounts them (SCS-17).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    /// How injected pods are upgraded (SCS-43, SCS-44).
    #[serde(default)]
    pub update_strategy: SidecarSetUpdateStrategy,
    /// How new pods are injected (SCS-11, SCS-13).
    #[serde(default)]
    pub injection_strategy: SidecarSetInjectionStrategy,
    /// Pull secrets added to injected pods (SCS-20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<LocalObjectReference>,
    /// Revisions kept; defaults to 10 (SCS-32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i32>,
    /// Annotations written on injected pods (SCS-15).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patch_pod_metadata: Vec<SidecarSetPatchPodMetadata>,
    /// A user version copied onto the ControllerRevision as label
    /// `apps.kruise.io/sidecarset-custom-version` (v1beta1 only; SCS-3, SCS-30).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub custom_version: String,
}

/// Annotations a SidecarSet writes on the pods it injects (SCS-15).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SidecarSetPatchPodMetadata {
    /// Annotation key → value; must be non-empty (SCS-7).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// `Retain` (default), `Overwrite` or `MergePatchJson`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_policy: Option<String>,
}

/// A sidecar: a full core container plus how it is injected and upgraded (SCS-2).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SidecarContainer {
    /// The container, inlined (`name`, `image`, `env`, ...).
    #[serde(flatten)]
    pub container: Container,
    /// `BeforeAppContainer` (default for containers) or `AfterAppContainer` (default for init
    /// containers): where the sidecar goes in the pod (SCS-20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_inject_policy: Option<String>,
    /// Cold or hot upgrade (SCS-21, SCS-60..SCS-63).
    #[serde(default)]
    pub upgrade_strategy: SidecarContainerUpgradeStrategy,
    /// Mount the app containers' volume mounts too (SCS-18).
    #[serde(default)]
    pub share_volume_policy: ShareVolumePolicy,
    /// Mount the app containers' volume devices too; never defaulted, so old hashes hold
    /// (SCS-5, SCS-18).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_volume_device_policy: Option<ShareVolumePolicy>,
    /// Env vars copied from app containers (SCS-19).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transfer_env: Vec<TransferEnvVar>,
    /// Resources computed from the app containers at injection (SCS-22).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_policy: Option<ResourcesPolicy>,
}

/// `enabled` or `disabled` (SCS-18).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ShareVolumePolicy {
    /// `enabled` or `disabled` (default).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
}

/// Env vars copied from an app container into the sidecar (SCS-19).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct TransferEnvVar {
    /// The app container to copy from.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source_container_name: String,
    /// Read the source container's name from a pod label or annotation instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_container_name_from: Option<SourceContainerNameSource>,
    /// One env var name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub env_name: String,
    /// More env var names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_names: Vec<String>,
}

/// Where the source container's name is read from (SCS-19).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SourceContainerNameSource {
    /// `metadata.labels['<key>']` or `metadata.annotations['<key>']` of the pod (SCS-7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_ref: Option<ObjectFieldSelector>,
}

/// Resources of a sidecar computed from the pod's containers at injection (SCS-22).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ResourcesPolicy {
    /// `sum` or `max` over the matched containers.
    #[serde(default)]
    pub target_containers_mode: String,
    /// Regex over container names (upstream's CRD defaults it to `.*`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target_containers_name_regex: String,
    /// The expressions.
    #[serde(default)]
    pub resources_expr: ResourcesExpr,
}

/// Expressions for limits and requests (SCS-22).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ResourcesExpr {
    /// Limit expressions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<ResourceExprs>,
    /// Request expressions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<ResourceExprs>,
}

/// CPU and memory expressions over the variables `cpu` / `memory` (`+ - * /`, `max()`,
/// `min()`) (SCS-22).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ResourceExprs {
    /// CPU expression.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cpu: String,
    /// Memory expression.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub memory: String,
}

/// How one sidecar container is upgraded (SCS-2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SidecarContainerUpgradeStrategy {
    /// `ColdUpgrade` (default) or `HotUpgrade`; immutable (SCS-7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade_type: Option<String>,
    /// With `HotUpgrade`: the image the idle slot runs (SCS-21, SCS-60).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hot_upgrade_empty_image: String,
}

/// How new pods are injected (SCS-11, SCS-13).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SidecarSetInjectionStrategy {
    /// Stop injecting into new pods; running sidecars keep being upgraded.
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused: bool,
    /// Inject a stored revision instead of the current spec (SCS-13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<SidecarSetInjectRevision>,
}

/// Which stored revision new pods get (SCS-13).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SidecarSetInjectRevision {
    /// Revision chosen by its custom version label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_version: Option<String>,
    /// Revision chosen by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_name: Option<String>,
    /// `Always` (default) or `Partial`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

/// How injected pods are upgraded (SCS-43, SCS-44).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SidecarSetUpdateStrategy {
    /// `RollingUpdate` (default) or `NotUpdate`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Stop upgrading pods.
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused: bool,
    /// Only upgrade pods matching this selector; not together with `partition` (SCS-7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Pods kept on old revisions: int or percent; defaults to 0 (SCS-44).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<IntOrString>,
    /// Pods upgraded at once: int or percent rounded up; defaults to 1 (SCS-44).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// Upgrade order by priority (SCS-44).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_strategy: Option<UpdatePriorityStrategy>,
    /// Upgrade order scattering (SCS-44).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scatter_strategy: UpdateScatterStrategy,
}

/// The observed state of a SidecarSet (SCS-42).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SidecarSetStatus {
    /// The generation this status was computed for.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub observed_generation: i64,
    /// Pods matched.
    #[serde(default)]
    pub matched_pods: i32,
    /// Matched pods whose sidecars are at the current hash.
    #[serde(default)]
    pub updated_pods: i32,
    /// Matched pods that are ready and consistent.
    #[serde(default)]
    pub ready_pods: i32,
    /// Matched pods updated, ready and consistent.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub updated_ready_pods: i32,
    /// The newest ControllerRevision's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub latest_revision: String,
    /// Hash collisions seen while naming revisions (SCS-31).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collision_count: Option<i32>,
}

/// Values of `updateStrategy.type`.
pub mod update_strategy_type {
    /// Upgrade injected pods (default).
    pub const ROLLING_UPDATE: &str = "RollingUpdate";
    /// Only inject new pods.
    pub const NOT_UPDATE: &str = "NotUpdate";
}

/// Values of `podInjectPolicy`.
pub mod pod_inject_policy {
    /// Before the pod's own containers (default for containers).
    pub const BEFORE_APP_CONTAINER: &str = "BeforeAppContainer";
    /// After the pod's own containers (default for init containers).
    pub const AFTER_APP_CONTAINER: &str = "AfterAppContainer";
}

/// Values of `upgradeStrategy.upgradeType`.
pub mod upgrade_type {
    /// Restart the container with the new image (default).
    pub const COLD_UPGRADE: &str = "ColdUpgrade";
    /// Two slots; the new image starts before the old one stops (SCS-60..SCS-63).
    pub const HOT_UPGRADE: &str = "HotUpgrade";
}

/// Values of `shareVolumePolicy.type`.
pub mod share_volume_policy {
    /// Share the app containers' mounts.
    pub const ENABLED: &str = "enabled";
    /// Do not share (default).
    pub const DISABLED: &str = "disabled";
}

/// Values of `patchPodMetadata[].patchPolicy` (SCS-15).
pub mod patch_policy {
    /// Set the annotation only if absent (default).
    pub const RETAIN: &str = "Retain";
    /// Always set it.
    pub const OVERWRITE: &str = "Overwrite";
    /// JSON merge-patch the existing value.
    pub const MERGE_PATCH_JSON: &str = "MergePatchJson";
}

/// Values of `injectionStrategy.revision.policy` (SCS-13).
pub mod inject_revision_policy {
    /// Always inject the named revision (default).
    pub const ALWAYS: &str = "Always";
    /// Inject it depending on the update strategy.
    pub const PARTIAL: &str = "Partial";
}

/// Values of `resourcesPolicy.targetContainersMode` (SCS-22).
pub mod target_containers_mode {
    /// Sum over matched containers.
    pub const SUM: &str = "sum";
    /// Maximum over matched containers.
    pub const MAX: &str = "max";
}

impl SidecarContainer {
    /// True for an init container with `restartPolicy: Always` (a native sidecar).
    pub fn is_native_sidecar(&self) -> bool {
        self.container.restart_policy.as_deref() == Some("Always")
    }
    /// True when `upgradeStrategy.upgradeType` is `HotUpgrade`.
    pub fn is_hot_upgrade(&self) -> bool {
        self.upgrade_strategy.upgrade_type.as_deref() == Some(upgrade_type::HOT_UPGRADE)
    }
}

impl SidecarSet {
    /// The `kruise.io/sidecarset-hash` annotation written by defaulting (SCS-6).
    pub fn hash(&self) -> Option<&str> {
        self.metadata.annotations.as_ref()?.get(crate::keys::SIDECARSET_HASH).map(String::as_str)
    }
    /// The `kruise.io/sidecarset-hash-without-image` annotation written by defaulting (SCS-6).
    pub fn hash_without_image(&self) -> Option<&str> {
        self.metadata
            .annotations
            .as_ref()?
            .get(crate::keys::SIDECARSET_HASH_WITHOUT_IMAGE)
            .map(String::as_str)
    }
    /// True when `updateStrategy.type` is `NotUpdate`: injected pods are never upgraded (SCS-43).
    pub fn is_not_update(&self) -> bool {
        self.spec.update_strategy.type_.as_deref() == Some(update_strategy_type::NOT_UPDATE)
    }
    /// True for a canary SidecarSet: annotation `apps.kruise.io/sidecarset-canary` is
    /// `"true"` and `apps.kruise.io/sidecarset-base` is non-empty; returns the base (SCS-14).
    pub fn canary_base(&self) -> Option<&str> {
        let a = self.metadata.annotations.as_ref()?;
        if a.get(crate::keys::SIDECARSET_CANARY).map(String::as_str) != Some("true") {
            return None;
        }
        a.get(crate::keys::SIDECARSET_BASE).map(String::as_str).filter(|b| !b.is_empty())
    }
}

/// CRD facts of the SidecarSet kind (both versions; v1beta1 is stored).
#[cfg(feature = "schemars")]
pub fn kind_info() -> crate::crd::KindInfo {
    use crate::crd::{KindInfo, PrinterColumn, VersionInfo};
    fn columns() -> Vec<PrinterColumn> {
        let col = |name, json_path, description| PrinterColumn {
            name,
            type_: "integer",
            json_path,
            description,
            priority: 0,
        };
        vec![
            col("MATCHED", ".status.matchedPods", "The number of pods matched."),
            col("UPDATED", ".status.updatedPods", "The number of pods matched and updated."),
            col("READY", ".status.readyPods", "The number of pods matched and ready."),
            PrinterColumn {
                name: "AGE",
                type_: "date",
                json_path: ".metadata.creationTimestamp",
                description: "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.",
                priority: 0,
            },
        ]
    }
    KindInfo {
        group: crate::apps::GROUP,
        kind: "SidecarSet",
        plural: "sidecarsets",
        singular: "sidecarset",
        short_names: &[],
        categories: &[],
        namespaced: false,
        versions: vec![
            VersionInfo {
                name: "v1alpha1",
                served: true,
                storage: true,
                spec_schema: || schemars::schema_for!(crate::apps::v1alpha1::SidecarSetSpec),
                status_schema: || schemars::schema_for!(SidecarSetStatus),
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
                spec_schema: || schemars::schema_for!(SidecarSetSpec),
                status_schema: || schemars::schema_for!(SidecarSetStatus),
                status_subresource: true,
                scale: None,
                printer_columns: columns(),
            },
        ],
    }
}
