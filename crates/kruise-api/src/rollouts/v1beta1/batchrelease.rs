//! BatchRelease, `rollouts.kruise.io/v1beta1` (RO-8): the per-batch release plan a Rollout
//! hands to the batch controller, and that controller's progress. kruise-rs plans both sides
//! in one pure planner, but keeps the object so the contract (and mixed operation with
//! upstream) stays observable.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use crate::apps::{is_false, is_zero_i64};
use crate::rollouts::v1beta1::{ObjectRef, PatchPodTemplateMetadata, RolloutCondition};

kruise_resource! {
    /// BatchRelease (`rollouts.kruise.io/v1beta1`): one batch per Rollout step, and how far the
    /// workload may go (RO-8).
    BatchRelease {
        group: "rollouts.kruise.io",
        version: "v1beta1",
        kind: "BatchRelease",
        plural: "batchreleases",
        scope: ::k8s_openapi::NamespaceResourceScope,
        spec: BatchReleaseSpec,
        status: BatchReleaseStatus,
    }
}

/// The desired state of a BatchRelease (RO-8).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BatchReleaseSpec {
    /// The workload released (same as the Rollout's).
    #[serde(default)]
    pub workload_ref: ObjectRef,
    /// The batches and how far to go.
    #[serde(default)]
    pub release_plan: ReleasePlan,
}

/// The batches of a release (RO-8, RO-29).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReleasePlan {
    /// One batch per Rollout step, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batches: Vec<ReleaseBatch>,
    /// 0-based index of the last batch allowed; `None` = release everything (finalize).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_partition: Option<i32>,
    /// The release id (RO-21).
    #[serde(rename = "rolloutID", default, skip_serializing_if = "String::is_empty")]
    pub rollout_id: String,
    /// Failed updated pods tolerated (RO-40).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<IntOrString>,
    /// `Immediate` (default) or `WaitResume` (RO-43, RO-44).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub finalizing_policy: String,
    /// Canary pod template metadata (RO-65).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_pod_template_metadata: Option<PatchPodTemplateMetadata>,
    /// `Partition`, `Canary` or `BlueGreen` (RO-12).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rolling_style: String,
    /// Legacy style switch, read only when `rollingStyle` is empty (RO-12).
    #[serde(default, skip_serializing_if = "is_false")]
    pub enable_extra_workload_for_canary: bool,
}

/// Values of [`ReleasePlan::finalizing_policy`].
pub mod finalizing_policy {
    /// Release the workload at once (rollback, disable, delete).
    pub const IMMEDIATE: &str = "Immediate";
    /// Wait until the workload is resumed and converged (success).
    pub const WAIT_RESUME: &str = "WaitResume";
}

/// One batch (RO-8).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ReleaseBatch {
    /// Updated pods wanted at the end of the batch: a count or a percent of the replicas.
    pub canary_replicas: IntOrString,
}

/// The observed state of a BatchRelease (RO-8, RO-37..RO-39).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BatchReleaseStatus {
    /// Conditions (a `Progressing` condition carries errors).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<RolloutCondition>,
    /// Batch progress.
    #[serde(default)]
    pub canary_status: BatchReleaseCanaryStatus,
    /// Revision of the stable pods recorded when the workload was claimed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stable_revision: String,
    /// Update revision recorded.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub update_revision: String,
    /// BatchRelease generation observed.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub observed_generation: i64,
    /// Release id observed.
    #[serde(rename = "observedRolloutID", default, skip_serializing_if = "String::is_empty")]
    pub observed_rollout_id: String,
    /// Workload replicas observed; −1 = unknown (RO-37).
    #[serde(default)]
    pub observed_workload_replicas: i32,
    /// Fingerprint of the release plan observed (RO-38.3).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub observed_release_plan_hash: String,
    /// Canary Deployment name collisions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collision_count: Option<i32>,
    /// See [`br_phase`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    /// Human-readable detail.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Batch progress of a BatchRelease (RO-39).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BatchReleaseCanaryStatus {
    /// `Upgrading`, `Verifying` or `Ready`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub batch_state: String,
    /// 0-based batch in progress.
    #[serde(default)]
    pub current_batch: i32,
    /// When the current batch became ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_ready_time: Option<Time>,
    /// Pods on the update revision.
    #[serde(default)]
    pub updated_replicas: i32,
    /// Ready pods on the update revision.
    #[serde(default)]
    pub updated_ready_replicas: i32,
    /// Pods already on the target when a batch rollback began (RO-49).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_need_update_replicas: Option<i32>,
}

/// Values of [`BatchReleaseStatus::phase`] (RO-37).
pub mod br_phase {
    /// Claiming the workload.
    pub const PREPARING: &str = "Preparing";
    /// Releasing batches.
    pub const PROGRESSING: &str = "Progressing";
    /// Handing the workload back.
    pub const FINALIZING: &str = "Finalizing";
    /// Done.
    pub const COMPLETED: &str = "Completed";
}

/// Values of [`BatchReleaseCanaryStatus::batch_state`] (RO-39).
pub mod batch_state {
    /// Moving the workload to the batch's target.
    pub const UPGRADING: &str = "Upgrading";
    /// Checking the batch's pods.
    pub const VERIFYING: &str = "Verifying";
    /// The batch is done.
    pub const READY: &str = "Ready";
}
