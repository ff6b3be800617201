//! SidecarSet, `apps.kruise.io/v1alpha1` (SCS-3). Differs from v1beta1 only in the spec:
//! `namespace` instead of `customVersion` (which lives in a label here).

use k8s_openapi::api::core::v1::{LocalObjectReference, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::{Deserialize, Serialize};

#[cfg(feature = "schemars")]
pub use crate::apps::v1beta1::sidecarset::kind_info;
pub use crate::apps::v1beta1::sidecarset::{
    ResourceExprs, ResourcesExpr, ResourcesPolicy, ShareVolumePolicy, SidecarContainer,
    SidecarContainerUpgradeStrategy, SidecarSetInjectRevision, SidecarSetInjectionStrategy,
    SidecarSetPatchPodMetadata, SidecarSetStatus, SidecarSetUpdateStrategy, SourceContainerNameSource,
    TransferEnvVar, inject_revision_policy, patch_policy, pod_inject_policy, share_volume_policy,
    target_containers_mode, upgrade_type,
};

kruise_resource! {
    /// SidecarSet (`apps.kruise.io/v1alpha1`, cluster-scoped).
    SidecarSet {
        group: "apps.kruise.io",
        version: "v1alpha1",
        kind: "SidecarSet",
        plural: "sidecarsets",
        scope: ::k8s_openapi::ClusterResourceScope,
        spec: SidecarSetSpec,
        status: SidecarSetStatus,
    }
}

/// The desired state of a SidecarSet, v1alpha1 (SCS-3).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SidecarSetSpec {
    /// Pods to inject into; required and non-empty (SCS-7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// Only pods of this namespace; wins over `namespaceSelector` in conversion (SCS-3).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Namespaces whose pods are matched; unset = all namespaces (SCS-11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Init containers injected at pod creation only (SCS-17).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<SidecarContainer>,
    /// Sidecar containers (SCS-2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<SidecarContainer>,
    /// Volumes the sidecars may mount (SCS-17).
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
}
