//! NodeImage, `apps.kruise.io/v1alpha1` (IPJ-5). The same as v1beta1 except that a secret
//! reference has no `mode`, so the spec types are its own and the status types are shared.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::apps::v1beta1::SandboxConfig;
pub use crate::apps::v1beta1::nodeimage::{
    ImageStatus, ImageTagPullPolicy, ImageTagSpec, ImageTagStatus, NodeImageStatus, SyncStatus,
    image_pull_phase,
};

kruise_resource! {
    /// NodeImage (`apps.kruise.io/v1alpha1`): images to pull on one node (IPJ-5).
    /// Cluster-scoped. Served, not stored; see [`crate::apps::v1beta1::NodeImage`].
    NodeImage {
        group: "apps.kruise.io",
        version: "v1alpha1",
        kind: "NodeImage",
        plural: "nodeimages",
        scope: ::k8s_openapi::ClusterResourceScope,
        spec: NodeImageSpec,
        status: NodeImageStatus,
    }
}

/// The images a node should hold, v1alpha1 (IPJ-5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NodeImageSpec {
    /// By familiar image name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub images: BTreeMap<String, ImageSpec>,
}

/// One image and the tags to pull, v1alpha1.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImageSpec {
    /// Secrets used to pull.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_secrets: Vec<ReferenceObject>,
    /// Tags to pull. Always serialised.
    #[serde(default)]
    pub tags: Vec<ImageTagSpec>,
    /// Sandbox labels/annotations for the pull.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_config: Option<SandboxConfig>,
}

/// A namespaced reference to a secret, v1alpha1 (no `mode`).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReferenceObject {
    /// Namespace of the secret.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Name of the secret.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// CRD description of NodeImage (the same for both versions; see the v1beta1 module).
#[cfg(feature = "schemars")]
pub fn kind_info() -> crate::crd::KindInfo {
    crate::apps::v1beta1::nodeimage::kind_info()
}
