//! NodeImage, `apps.kruise.io/v1beta1` (IPJ-5): the per-node list of images kruise-daemon
//! keeps pulled. Cluster-scoped; the name is the node's name.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::{Deserialize, Serialize};

use crate::apps::{is_zero_i32, is_zero_i64};

pub use super::imagepulljob::SandboxConfig;

kruise_resource! {
    /// NodeImage (`apps.kruise.io/v1beta1`): images to pull on one node and their pull
    /// status (IPJ-5). Cluster-scoped, named after the node.
    NodeImage {
        group: "apps.kruise.io",
        version: "v1beta1",
        kind: "NodeImage",
        plural: "nodeimages",
        scope: ::k8s_openapi::ClusterResourceScope,
        spec: NodeImageSpec,
        status: NodeImageStatus,
    }
}

/// The images a node should hold (IPJ-5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NodeImageSpec {
    /// By familiar image name (`nginx`, `quay.io/x/y`); at most 256 (IPJ-6).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub images: BTreeMap<String, ImageSpec>,
}

/// One image and the tags to pull (IPJ-5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImageSpec {
    /// Secrets (copies in `kruise-daemon-config`) used to pull (IPJ-15).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pull_secrets: Vec<ReferenceObject>,
    /// Tags to pull, sorted by tag. Always serialised.
    #[serde(default)]
    pub tags: Vec<ImageTagSpec>,
    /// Sandbox labels/annotations for the pull.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_config: Option<SandboxConfig>,
}

/// A namespaced reference to a secret (IPJ-5).
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
    /// [`REFERENCE_OBJECT_MODE_BATCH`] for secrets copied by the per-secret scheme (v1beta1
    /// only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mode: String,
}

/// [`ReferenceObject::mode`] of secret copies shared by several jobs (IPJ-15).
pub const REFERENCE_OBJECT_MODE_BATCH: &str = "batch";

/// One tag of an image to pull (IPJ-5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImageTagSpec {
    /// The tag, or a digest `sha256:…`. Required, unique within the image (IPJ-6).
    #[serde(default)]
    pub tag: String,
    /// When the tag was (re)requested; defaulted to now (IPJ-6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
    /// Timeouts and TTL of this pull (IPJ-17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<ImageTagPullPolicy>,
    /// The ImagePullJobs (or others) asking for the tag (IPJ-14).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_references: Vec<ObjectReference>,
    /// Bumped to request a fresh pull (IPJ-14, IPJ-30). ≥ 0.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub version: i64,
    /// `Always` or `IfNotPresent`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_pull_policy: String,
}

/// Timeouts and lifetime of one tag's pull (IPJ-5, IPJ-17).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImageTagPullPolicy {
    /// Seconds one attempt may take; defaulted to 600 (IPJ-6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<i32>,
    /// Retries; defaulted to 3 (IPJ-6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_limit: Option<i32>,
    /// Seconds after completion at which the tag is dropped from the spec (IPJ-21). Required
    /// by validation (IPJ-6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<i32>,
    /// Seconds after `createdAt` at which an unfinished pull is failed (IPJ-22).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
}

/// The pull status of a node (IPJ-5). The counters are always serialised.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct NodeImageStatus {
    /// (image, tag) pairs in the spec.
    #[serde(default)]
    pub desired: i32,
    /// Pulls succeeded.
    #[serde(default)]
    pub succeeded: i32,
    /// Pulls failed.
    #[serde(default)]
    pub failed: i32,
    /// Pulls running.
    #[serde(default)]
    pub pulling: i32,
    /// Pulls waiting.
    #[serde(default)]
    pub waiting: i32,
    /// Per image, the status of each tag.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub image_statuses: BTreeMap<String, ImageStatus>,
    /// The result of the daemon's first sync after start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_sync_status: Option<SyncStatus>,
}

/// The tags of one image in a NodeImage status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImageStatus {
    /// One entry per tag. Always serialised.
    #[serde(default)]
    pub tags: Vec<ImageTagStatus>,
}

/// What the daemon reports for one tag (IPJ-30).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImageTagStatus {
    /// The tag.
    #[serde(default)]
    pub tag: String,
    /// `Waiting`, `Pulling`, `Succeeded` or `Failed`; see [`image_pull_phase`]. Always
    /// serialised.
    #[serde(default)]
    pub phase: String,
    /// Percent done, 0..=100.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub progress: i32,
    /// When the pull started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the pull finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// The spec version this status is for.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub version: i64,
    /// The pulled image's ID.
    #[serde(rename = "imageID", default, skip_serializing_if = "String::is_empty")]
    pub image_id: String,
    /// Detail, e.g. the pull error.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Values of [`ImageTagStatus::phase`].
pub mod image_pull_phase {
    /// Queued.
    pub const WAITING: &str = "Waiting";
    /// Pulling.
    pub const PULLING: &str = "Pulling";
    /// Pulled.
    pub const SUCCEEDED: &str = "Succeeded";
    /// Failed.
    pub const FAILED: &str = "Failed";
}

/// The daemon's first sync after start.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// When it synced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_at: Option<Time>,
    /// `Succeeded` or `Failed`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// Detail.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// CRD description of NodeImage, both versions (cluster-scoped).
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
            col("DESIRED", "integer", ".status.desired", "Image tags the node should hold."),
            col("PULLING", "integer", ".status.pulling", "Pulls running."),
            col("SUCCEED", "integer", ".status.succeeded", "Pulls succeeded."),
            col("FAILED", "integer", ".status.failed", "Pulls failed."),
            col("AGE", "date", ".metadata.creationTimestamp", "Time since the NodeImage was created."),
        ]
    }
    fn v1alpha1_spec() -> schemars::Schema {
        schemars::schema_for!(crate::apps::v1alpha1::NodeImageSpec)
    }
    KindInfo {
        group: "apps.kruise.io",
        kind: "NodeImage",
        plural: "nodeimages",
        singular: "nodeimage",
        short_names: &[],
        categories: &[],
        namespaced: false,
        versions: vec![
            VersionInfo {
                name: "v1alpha1",
                served: true,
                storage: true,
                spec_schema: v1alpha1_spec,
                status_schema: || schemars::schema_for!(NodeImageStatus),
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
                spec_schema: || schemars::schema_for!(NodeImageSpec),
                status_schema: || schemars::schema_for!(NodeImageStatus),
                status_subresource: true,
                scale: None,
                printer_columns: columns(),
            },
        ],
    }
}
