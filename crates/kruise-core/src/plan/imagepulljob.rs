//! ImagePullJob's (and NodeImage's) own actions and reasons (IPJ-n), nested in [`ActionKind::ImagePullJob`](super::ActionKind::ImagePullJob)
//! and [`Reason::ImagePullJob`](super::Reason::ImagePullJob). The ImagePullJob planner owns this file: see
//! [`crate::plan`] for how it adds its variants. The subject of each action (the job, a
//! NodeImage, a secret copy) is the action's `object`.

use std::fmt;

use serde::Serialize;
use serde::ser::SerializeStruct;

/// Actions only the ImagePullJob and NodeImage planners plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImagePullJobAction {
    /// IPJ-10 step 4, IPJ-16: add finalizer `apps.kruise.io/deletion-protection` to the job.
    AddFinalizer,
    /// IPJ-16: remove the finalizer (the job is deleting or completed).
    RemoveFinalizer,
    /// IPJ-10 step 3: the job completed at least `ttlSecondsAfterFinished` ago: delete it.
    DeleteJob,
    /// IPJ-14: write `spec.images[image]` of the NodeImage named by `object` (guarded by its
    /// resourceVersion).
    WriteNodeImage {
        /// The familiar image name (the map key).
        image: String,
        /// The new `ImageSpec`, as JSON.
        spec: serde_json::Value,
    },
    /// IPJ-15: create the secret copy named by `object` in the daemon namespace.
    CreateSecret {
        /// The secret, as JSON.
        secret: serde_json::Value,
    },
    /// IPJ-15: replace the secret copy named by `object` (guarded by its resourceVersion).
    UpdateSecret {
        /// The secret, as JSON.
        secret: serde_json::Value,
    },
    /// IPJ-15: delete the secret copy named by `object` (no job references it any more).
    DeleteSecret,
    /// IPJ-20: create the NodeImage named by `object` (empty spec, the node's labels).
    CreateNodeImage {
        /// The NodeImage, as JSON.
        node_image: serde_json::Value,
    },
    /// IPJ-20: delete the NodeImage named by `object` (its node is gone).
    DeleteNodeImage,
    /// IPJ-21: replace the NodeImage's labels and spec (guarded by its resourceVersion).
    UpdateNodeImageSpec {
        /// The NodeImage, as JSON.
        node_image: serde_json::Value,
    },
    /// IPJ-40: create a pre-download ImagePullJob for a workload's new revision.
    CreateImagePullJob {
        /// The ImagePullJob, as JSON.
        job: serde_json::Value,
    },
    /// IPJ-40: delete a pre-download ImagePullJob of the workload (the rollout is over).
    DeleteImagePullJob,
    /// IPJ-41: label the update revision as handled (`pre-predownload-created` or
    /// `image-predownload-ignored`).
    LabelRevision {
        /// The label key set to `"true"`.
        label: String,
    },
}

impl super::WorkloadAction for ImagePullJobAction {
    fn name(&self) -> &'static str {
        match self {
            Self::AddFinalizer => "AddFinalizer",
            Self::RemoveFinalizer => "RemoveFinalizer",
            Self::DeleteJob => "DeleteJob",
            Self::WriteNodeImage { .. } => "WriteNodeImage",
            Self::CreateSecret { .. } => "CreateSecret",
            Self::UpdateSecret { .. } => "UpdateSecret",
            Self::DeleteSecret => "DeleteSecret",
            Self::CreateNodeImage { .. } => "CreateNodeImage",
            Self::DeleteNodeImage => "DeleteNodeImage",
            Self::UpdateNodeImageSpec { .. } => "UpdateNodeImageSpec",
            Self::CreateImagePullJob { .. } => "CreateImagePullJob",
            Self::DeleteImagePullJob => "DeleteImagePullJob",
            Self::LabelRevision { .. } => "LabelPreDownloadRevision",
        }
    }
    fn serialize_fields<S: SerializeStruct>(&self, st: &mut S) -> Result<(), S::Error> {
        match self {
            Self::WriteNodeImage { image, spec } => {
                st.serialize_field("image", image)?;
                st.serialize_field("imageSpec", spec)
            }
            Self::CreateSecret { secret } | Self::UpdateSecret { secret } => {
                st.serialize_field("secret", secret)
            }
            Self::CreateNodeImage { node_image } | Self::UpdateNodeImageSpec { node_image } => {
                st.serialize_field("nodeImage", node_image)
            }
            Self::CreateImagePullJob { job } => st.serialize_field("imagePullJob", job),
            Self::LabelRevision { label } => st.serialize_field("label", label),
            _ => Ok(()),
        }
    }
}

/// Reasons only the ImagePullJob and NodeImage planners give.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind")]
pub enum ImagePullJobReason {
    /// IPJ-14: the node has not got the job's tag (or its secrets): it is started within
    /// `parallelism`.
    StartPull {
        /// Nodes pulling.
        active: i32,
        /// `parallelism` (IPJ-14's reading).
        parallelism: i32,
    },
    /// IPJ-14: a not-synced node waits: `parallelism` is reached.
    Parallelism {
        /// Nodes pulling.
        active: i32,
        /// `parallelism` (IPJ-14's reading).
        parallelism: i32,
    },
    /// IPJ-10 step 4, IPJ-16: the job must carry its finalizer while it runs.
    Protect,
    /// IPJ-16: the job is deleting or completed: release its secrets and finalizer.
    Finalize,
    /// IPJ-10 step 3: `ttlSecondsAfterFinished` after completion.
    TtlAfterFinished {
        /// `ttlSecondsAfterFinished`.
        seconds: i32,
    },
    /// IPJ-10 step 10: wake up at `activeDeadlineSeconds`.
    ActiveDeadline {
        /// `activeDeadlineSeconds`.
        seconds: i64,
    },
    /// IPJ-13: the deadline passed: the job completes with its unfinished nodes failed.
    DeadlineExceeded,
    /// IPJ-15: a pull secret copy is created, refreshed, claimed or released.
    PullSecret {
        /// `<namespace>/<name>` of the source secret.
        source: String,
    },
    /// IPJ-15: a referenced pull secret does not exist (skipped, warning).
    PullSecretMissing {
        /// `<namespace>/<name>` of the source secret.
        source: String,
    },
    /// IPJ-20: NodeImage lifecycle follows its node.
    NodeLifecycle {
        /// What happened (`node is gone`, `node is ready`).
        why: String,
    },
    /// IPJ-20: waiting `nodeimage-creation-delay` after the node became Ready.
    CreationDelay,
    /// IPJ-21: spec maintenance; the messages of the changes.
    SpecMaintenance {
        /// The diagnostic messages, `; `-joined.
        messages: String,
    },
    /// IPJ-21: a finished tag's TTL, or IPJ-22: the daemon's response timeout.
    TagTimer,
    /// IPJ-40..IPJ-42: pre-download for a workload's update revision.
    PreDownload {
        /// The container whose image is pulled, or why nothing is.
        detail: String,
    },
}

impl super::WorkloadReason for ImagePullJobReason {
    fn kind(&self) -> &'static str {
        match self {
            Self::StartPull { .. } => "StartPull",
            Self::Parallelism { .. } => "PullParallelism",
            Self::Protect => "Protect",
            Self::Finalize => "Finalize",
            Self::TtlAfterFinished { .. } => "PullJobTtl",
            Self::ActiveDeadline { .. } => "PullJobDeadline",
            Self::DeadlineExceeded => "DeadlineExceeded",
            Self::PullSecret { .. } => "PullSecret",
            Self::PullSecretMissing { .. } => "PullSecretMissing",
            Self::NodeLifecycle { .. } => "NodeLifecycle",
            Self::CreationDelay => "CreationDelay",
            Self::SpecMaintenance { .. } => "SpecMaintenance",
            Self::TagTimer => "TagTimer",
            Self::PreDownload { .. } => "PreDownload",
        }
    }
}

impl fmt::Display for ImagePullJobReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StartPull { active, parallelism } | Self::Parallelism { active, parallelism } => {
                write!(f, "active {active}, parallelism {parallelism}")
            }
            Self::TtlAfterFinished { seconds } => write!(f, "ttlSecondsAfterFinished {seconds}"),
            Self::ActiveDeadline { seconds } => write!(f, "activeDeadlineSeconds {seconds}"),
            Self::PullSecret { source } | Self::PullSecretMissing { source } => f.write_str(source),
            Self::NodeLifecycle { why } => f.write_str(why),
            Self::SpecMaintenance { messages } => f.write_str(messages),
            Self::PreDownload { detail } => f.write_str(detail),
            _ => Ok(()),
        }
    }
}
