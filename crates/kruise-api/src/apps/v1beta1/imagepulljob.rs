//! ImagePullJob, `apps.kruise.io/v1beta1` (IPJ-1, IPJ-2): pull an image on a set of nodes
//! through their NodeImages. v1beta1 is the storage version; v1alpha1 has the same fields.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

pub use super::broadcastjob::{CompletionPolicy, completion_policy_type};

kruise_resource! {
    /// ImagePullJob (`apps.kruise.io/v1beta1`): pull `spec.image` on the selected nodes
    /// (IPJ-1).
    ImagePullJob {
        group: "apps.kruise.io",
        version: "v1beta1",
        kind: "ImagePullJob",
        plural: "imagepulljobs",
        scope: ::k8s_openapi::NamespaceResourceScope,
        spec: ImagePullJobSpec,
        status: ImagePullJobStatus,
    }
}

/// The desired state of an ImagePullJob (IPJ-1): the image plus upstream's inlined
/// `ImagePullJobTemplate` fields. Shared by v1alpha1 and v1beta1.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImagePullJobSpec {
    /// The image to pull, a docker reference (`nginx:1.25`, `quay.io/x/y@sha256:…`). Required.
    #[serde(default)]
    pub image: String,
    /// Names of secrets in the job's namespace used to pull. Immutable, absent and `[]`
    /// included (IPJ-4), hence the `Option`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secrets: Option<Vec<String>>,
    /// Which nodes, by NodeImage name or labels (IPJ-12). Unset = every node. Not together
    /// with `podSelector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<ImagePullJobNodeSelector>,
    /// The nodes running pods in the job's namespace that match (IPJ-12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_selector: Option<ImagePullJobPodSelector>,
    /// Nodes pulling at once: a non-negative integer (or numeric string); percentages are
    /// rejected (IPJ-4). Unset = 1; 0 pauses the job (IPJ-14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<IntOrString>,
    /// Per-node pull timeout and retries; defaulted to 600 s / 3 (IPJ-3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<PullPolicy>,
    /// When the job is finished; `type` defaults to `Always` (IPJ-3). Always serialised.
    #[serde(default)]
    pub completion_policy: CompletionPolicy,
    /// Labels and annotations of the sandbox the runtime may create to pull.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_config: Option<SandboxConfig>,
    /// `Always` or `IfNotPresent` (default, IPJ-3); see [`image_pull_policy`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_pull_policy: String,
}

/// Values of [`ImagePullJobSpec::image_pull_policy`] and of a NodeImage tag's.
pub mod image_pull_policy {
    /// Pull even if the image is present.
    pub const ALWAYS: &str = "Always";
    /// Pull only if absent (default).
    pub const IF_NOT_PRESENT: &str = "IfNotPresent";
}

/// Which nodes an ImagePullJob targets (IPJ-12): `names`, or a label selector over
/// NodeImage labels, not both (IPJ-4). Upstream inlines a `LabelSelector`; nil and empty
/// are kept apart because the controller distinguishes them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImagePullJobNodeSelector {
    /// NodeImage (= node) names; set (even empty) ⇒ labels are ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
    /// Label equality requirements, ANDed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    /// Label set-based requirements, ANDed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<LabelSelectorRequirement>>,
}

impl ImagePullJobNodeSelector {
    /// True when `matchLabels` or `matchExpressions` is set (even empty).
    pub fn has_label_selector(&self) -> bool {
        self.match_labels.is_some() || self.match_expressions.is_some()
    }
    /// The inlined label selector.
    pub fn label_selector(&self) -> LabelSelector {
        LabelSelector {
            match_labels: self.match_labels.clone(),
            match_expressions: self.match_expressions.clone(),
        }
    }
}

/// Pods whose nodes an ImagePullJob targets (IPJ-12): an inlined `LabelSelector`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImagePullJobPodSelector {
    /// Label equality requirements, ANDed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    /// Label set-based requirements, ANDed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<LabelSelectorRequirement>>,
}

impl ImagePullJobPodSelector {
    /// The inlined label selector.
    pub fn label_selector(&self) -> LabelSelector {
        LabelSelector {
            match_labels: self.match_labels.clone(),
            match_expressions: self.match_expressions.clone(),
        }
    }
}

/// Per-node pull behaviour (IPJ-1, IPJ-3).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PullPolicy {
    /// Seconds one pull attempt may take; defaults to 600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i32>,
    /// Retries before a node's pull is failed; defaults to 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_limit: Option<i32>,
}

/// Labels and annotations of the pod sandbox used to pull (IPJ-1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SandboxConfig {
    /// Sandbox labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Sandbox annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The observed state of an ImagePullJob (IPJ-2). The four counters are always serialised.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImagePullJobStatus {
    /// When the controller first handled the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the job completed (all nodes done, or deadline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// Nodes targeted.
    #[serde(default)]
    pub desired: i32,
    /// Nodes pulling.
    #[serde(default)]
    pub active: i32,
    /// Nodes that pulled the image.
    #[serde(default)]
    pub succeeded: i32,
    /// Nodes that failed.
    #[serde(default)]
    pub failed: i32,
    /// Progress summary (`job is running, progress 66.7%`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Names of the failed nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_nodes: Vec<String>,
}

/// CRD description of ImagePullJob, both versions.
#[cfg(feature = "schemars")]
pub fn kind_info() -> crate::crd::KindInfo {
    use crate::crd::{KindInfo, PrinterColumn, VersionInfo};
    fn columns() -> Vec<PrinterColumn> {
        let col = |name, type_, json_path, description| PrinterColumn {
            name,
            type_,
            json_path,
            description,
            priority: 0,
        };
        vec![
            col("TOTAL", "integer", ".status.desired", "Nodes the job targets."),
            col("ACTIVE", "integer", ".status.active", "Nodes pulling."),
            col("SUCCEED", "integer", ".status.succeeded", "Nodes that pulled the image."),
            col("FAILED", "integer", ".status.failed", "Nodes that failed to pull."),
            col("AGE", "date", ".metadata.creationTimestamp", "Time since the job was created."),
            col("MESSAGE", "string", ".status.message", "Progress summary."),
        ]
    }
    let version = |name, storage| VersionInfo {
        name,
        served: true,
        storage,
        spec_schema: || schemars::schema_for!(ImagePullJobSpec),
        status_schema: || schemars::schema_for!(ImagePullJobStatus),
        status_subresource: true,
        scale: None,
        printer_columns: columns(),
    };
    KindInfo {
        group: "apps.kruise.io",
        kind: "ImagePullJob",
        plural: "imagepulljobs",
        singular: "imagepulljob",
        short_names: &[],
        categories: &[],
        namespaced: true,
        versions: vec![version("v1alpha1", false), version("v1beta1", true)],
    }
}
