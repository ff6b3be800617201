//! BroadcastJob's own actions and reasons (BJ-n), nested in [`ActionKind::BroadcastJob`](super::ActionKind::BroadcastJob)
//! and [`Reason::BroadcastJob`](super::Reason::BroadcastJob). The BroadcastJob planner owns this file: see
//! [`crate::plan`] for how it adds its variants. Pod creates and deletes use the shared
//! `CreatePod` / `DeletePod` actions with the node as the action's `object`.

use std::fmt;

use serde::Serialize;

/// Actions only the BroadcastJob planner plans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BroadcastJobAction {
    /// BJ-11: the job finished at least `ttlSecondsAfterFinished` ago: delete it (uid
    /// precondition).
    DeleteJob,
}

impl super::WorkloadAction for BroadcastJobAction {
    fn name(&self) -> &'static str {
        match self {
            Self::DeleteJob => "DeleteJob",
        }
    }
}

/// Reasons only the BroadcastJob planner gives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind")]
pub enum BroadcastJobReason {
    /// BJ-21: a fitting node has no pod; one is created within `parallelism`.
    RunOnNode {
        /// Active pods before this create.
        active: i32,
        /// `parallelism`, resolved against `desired`.
        parallelism: i32,
    },
    /// BJ-21: a fitting node without a pod waits: `parallelism` is reached.
    Parallelism {
        /// Active pods counted.
        active: i32,
        /// `parallelism`, resolved against `desired`.
        parallelism: i32,
    },
    /// BJ-21: more active pods than `parallelism` (event `TooManyActivePods`); nothing is
    /// created.
    TooManyActivePods {
        /// Active pods counted.
        active: i32,
        /// `parallelism`, resolved against `desired`.
        parallelism: i32,
    },
    /// BJ-15, BJ-16: the node does not fit the pod: its pod is deleted, or (held) no pod is
    /// created there.
    NodeUnfit {
        /// Why (selector, affinity, taint, cordon, resources).
        why: String,
    },
    /// BJ-19: the job failed; its active pods are deleted.
    JobFailed {
        /// The failure message.
        message: String,
    },
    /// BJ-22: every desired node ran its pod (event `Completed`).
    JobComplete {
        /// Pods succeeded.
        succeeded: i32,
        /// Pods failed.
        failed: i32,
    },
    /// BJ-18: the `Pause` failure policy paused the job while failed pods exist.
    PausedOnFailure {
        /// Failed pods counted.
        failed: i32,
    },
    /// BJ-18: `spec.paused` was cleared; the job runs again (event `Continue`).
    Continue,
    /// BJ-12, BJ-18: wake up when `activeDeadlineSeconds` is reached.
    ActiveDeadline {
        /// `activeDeadlineSeconds`.
        seconds: i64,
    },
    /// BJ-11, BJ-19, BJ-22: `ttlSecondsAfterFinished` (delete the job, or wake up for it).
    TtlAfterFinished {
        /// `ttlSecondsAfterFinished`.
        seconds: i32,
    },
    /// BJ-13: several owned pods are assigned to the same node; the last one listed is used
    /// (event `DuplicatePodCreatedOnSameNode`).
    DuplicatePodOnNode {
        /// The node.
        node: String,
    },
    /// BJ-11: the job is finished; nothing but its TTL is handled.
    Finished,
}

impl super::WorkloadReason for BroadcastJobReason {
    fn kind(&self) -> &'static str {
        match self {
            Self::RunOnNode { .. } => "RunOnNode",
            Self::Parallelism { .. } => "Parallelism",
            Self::TooManyActivePods { .. } => "TooManyActivePods",
            Self::NodeUnfit { .. } => "NodeUnfit",
            Self::JobFailed { .. } => "JobFailed",
            Self::JobComplete { .. } => "JobComplete",
            Self::PausedOnFailure { .. } => "PausedOnFailure",
            Self::Continue => "Continue",
            Self::ActiveDeadline { .. } => "ActiveDeadline",
            Self::TtlAfterFinished { .. } => "TtlAfterFinished",
            Self::DuplicatePodOnNode { .. } => "DuplicatePodCreatedOnSameNode",
            Self::Finished => "Finished",
        }
    }
}

impl fmt::Display for BroadcastJobReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RunOnNode { active, parallelism }
            | Self::Parallelism { active, parallelism }
            | Self::TooManyActivePods { active, parallelism } => {
                write!(f, "active {active}, parallelism {parallelism}")
            }
            Self::NodeUnfit { why } => f.write_str(why),
            Self::JobFailed { message } => f.write_str(message),
            Self::JobComplete { succeeded, failed } => {
                write!(f, "{succeeded} pods succeeded, {failed} pods failed")
            }
            Self::PausedOnFailure { failed } => write!(f, "{failed} failed pods"),
            Self::ActiveDeadline { seconds } => write!(f, "activeDeadlineSeconds {seconds}"),
            Self::TtlAfterFinished { seconds } => write!(f, "ttlSecondsAfterFinished {seconds}"),
            Self::DuplicatePodOnNode { node } => write!(f, "node {node}"),
            Self::Continue | Self::Finished => Ok(()),
        }
    }
}
