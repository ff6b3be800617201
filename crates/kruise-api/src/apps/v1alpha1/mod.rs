//! `apps.kruise.io/v1alpha1`: the version most OpenKruise manifests are written in.

mod cloneset;

pub use cloneset::*;

/// `apps.kruise.io/v1alpha1`.
pub const API_VERSION: &str = "apps.kruise.io/v1alpha1";

mod statefulset;
pub use statefulset::*;
pub mod daemonset;
pub use daemonset::{
    DaemonSet, DaemonSetSpec, DaemonSetStatus, DaemonSetUpdateStrategy, RollingUpdateDaemonSet,
};

pub mod sidecarset;
pub use sidecarset::{SidecarContainer, SidecarSet, SidecarSetSpec, SidecarSetStatus};
pub mod broadcastjob;
pub mod imagepulljob;
pub mod nodeimage;
pub use broadcastjob::{
    BroadcastJob, BroadcastJobSpec, BroadcastJobStatus, CompletionPolicy, FailurePolicy, JobCondition,
};
pub use imagepulljob::{
    ImagePullJob, ImagePullJobNodeSelector, ImagePullJobPodSelector, ImagePullJobSpec, ImagePullJobStatus,
    PullPolicy, SandboxConfig,
};
pub use nodeimage::{
    ImageSpec, ImageStatus, ImageTagPullPolicy, ImageTagSpec, ImageTagStatus, NodeImage, NodeImageSpec,
    NodeImageStatus, ReferenceObject, SyncStatus,
};
