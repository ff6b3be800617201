//! BroadcastJob, `apps.kruise.io/v1beta1` (BJ-1, BJ-2): run one pod to completion on every
//! node that fits. v1beta1 is the storage version; v1alpha1 has the same fields
//! ([`crate::apps::v1alpha1::BroadcastJob`]).

use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use crate::apps::{is_false, is_zero_i32};

kruise_resource! {
    /// BroadcastJob (`apps.kruise.io/v1beta1`): one pod per fitting node, run to completion
    /// (BJ-1).
    BroadcastJob {
        group: "apps.kruise.io",
        version: "v1beta1",
        kind: "BroadcastJob",
        plural: "broadcastjobs",
        scope: ::k8s_openapi::NamespaceResourceScope,
        spec: BroadcastJobSpec,
        status: BroadcastJobStatus,
    }
}

/// The desired state of a BroadcastJob (BJ-1). Shared by v1alpha1 and v1beta1.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BroadcastJobSpec {
    /// Most pods running at once: an int or a percent of the desired nodes (BJ-21). Unset
    /// means no limit; defaulting sets 2147483647 (BJ-4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<IntOrString>,
    /// The pod run on each node. `restartPolicy` must be `OnFailure` or `Never` (BJ-5).
    #[serde(default)]
    pub template: PodTemplateSpec,
    /// When the job is finished; `type` defaults to `Always` (BJ-4). Always serialised.
    #[serde(default)]
    pub completion_policy: CompletionPolicy,
    /// Stop creating pods (BJ-18).
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused: bool,
    /// What a failed pod does to the job; `type` defaults to `FailFast` (BJ-4). Always
    /// serialised.
    #[serde(default)]
    pub failure_policy: FailurePolicy,
}

/// When a job counts as finished (BJ-1); also used by ImagePullJob (IPJ-1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct CompletionPolicy {
    /// [`completion_policy_type::ALWAYS`] (default) or [`completion_policy_type::NEVER`].
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub type_: String,
    /// Seconds after `status.startTime` at which a still-running job fails. `Always` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    /// Seconds after finishing at which the job is deleted; 0 = at once. `Always` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<i32>,
}

impl CompletionPolicy {
    /// True for `type: Never` (the job never completes and keeps covering new nodes).
    pub fn is_never(&self) -> bool {
        self.type_ == completion_policy_type::NEVER
    }
}

/// Values of [`CompletionPolicy::type_`].
pub mod completion_policy_type {
    /// Finish when every desired node ran its pod, on the deadline, or on failure (default).
    pub const ALWAYS: &str = "Always";
    /// Never finish: keep running pods on nodes as they appear.
    pub const NEVER: &str = "Never";
}

/// What a failed pod does to the job (BJ-18).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct FailurePolicy {
    /// `Continue`, `FailFast` (default) or `Pause`; see [`failure_policy_type`].
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub type_: String,
    /// With `restartPolicy: OnFailure`, a pod whose summed container restarts exceed this
    /// counts as failed (BJ-14). No default (0).
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub restart_limit: i32,
}

/// Values of [`FailurePolicy::type_`].
pub mod failure_policy_type {
    /// Keep running when a pod fails.
    pub const CONTINUE: &str = "Continue";
    /// Fail the job when a pod fails (default).
    pub const FAIL_FAST: &str = "FailFast";
    /// Pause the job while failed pods exist.
    pub const PAUSE: &str = "Pause";
}

/// The observed state of a BroadcastJob (BJ-2). The counters and `phase` are always
/// serialised.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct BroadcastJobStatus {
    /// `Complete` / `Failed` conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<JobCondition>,
    /// When the controller first saw the job (BJ-12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the job completed or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// Pods running.
    #[serde(default)]
    pub active: i32,
    /// Pods in phase `Succeeded`.
    #[serde(default)]
    pub succeeded: i32,
    /// Pods failed (plus pods the controller deleted, BJ-19).
    #[serde(default)]
    pub failed: i32,
    /// Nodes that should run a pod (BJ-16).
    #[serde(default)]
    pub desired: i32,
    /// `running`, `paused`, `completed` or `failed` (lower case); see [`phase`].
    #[serde(default)]
    pub phase: String,
}

/// Values of [`BroadcastJobStatus::phase`] (BJ-2).
pub mod phase {
    /// Finished successfully.
    pub const COMPLETED: &str = "completed";
    /// Running.
    pub const RUNNING: &str = "running";
    /// Paused by `spec.paused` or the `Pause` failure policy.
    pub const PAUSED: &str = "paused";
    /// Failed.
    pub const FAILED: &str = "failed";
}

/// One condition of a job (BJ-2).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct JobCondition {
    /// `Complete` or `Failed`; see [`job_condition_type`].
    #[serde(rename = "type", default)]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    #[serde(default)]
    pub status: String,
    /// Last time the condition was checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe_time: Option<Time>,
    /// Last time the status changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// One-word reason.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Human-readable detail.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// Values of [`JobCondition::type_`].
pub mod job_condition_type {
    /// Every desired node ran its pod.
    pub const COMPLETE: &str = "Complete";
    /// The job failed (failed pod with `FailFast`, or deadline).
    pub const FAILED: &str = "Failed";
}

/// CRD description of BroadcastJob, both versions (`kubectl get bcj`).
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
            col("Desired", "integer", ".status.desired", "Nodes that should run a pod."),
            col("Active", "integer", ".status.active", "Pods running."),
            col("Succeeded", "integer", ".status.succeeded", "Pods that succeeded."),
            col("Failed", "integer", ".status.failed", "Pods that failed."),
            col("AGE", "date", ".metadata.creationTimestamp", "Time since the job was created."),
        ]
    }
    let version = |name, storage| VersionInfo {
        name,
        served: true,
        storage,
        spec_schema: || schemars::schema_for!(BroadcastJobSpec),
        status_schema: || schemars::schema_for!(BroadcastJobStatus),
        status_subresource: true,
        scale: None,
        printer_columns: columns(),
    };
    KindInfo {
        group: "apps.kruise.io",
        kind: "BroadcastJob",
        plural: "broadcastjobs",
        singular: "broadcastjob",
        short_names: &["bcj"],
        categories: &[],
        namespaced: true,
        versions: vec![version("v1alpha1", false), version("v1beta1", true)],
    }
}
