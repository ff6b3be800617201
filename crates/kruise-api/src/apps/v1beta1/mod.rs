//! `apps.kruise.io/v1beta1`: the storage (hub) version of CloneSet and Advanced StatefulSet.

pub(crate) mod cloneset;

pub use cloneset::*;

/// `apps.kruise.io/v1beta1`.
pub const API_VERSION: &str = "apps.kruise.io/v1beta1";

mod statefulset;
pub use statefulset::*;
pub mod daemonset;
pub use daemonset::{
    DaemonSet, DaemonSetScaleStrategy, DaemonSetSpec, DaemonSetStatus, DaemonSetUpdateStrategy,
    RollingUpdateDaemonSet, RollingUpdateType,
};

pub mod sidecarset;
pub use sidecarset::{
    ResourceExprs, ResourcesExpr, ResourcesPolicy, ShareVolumePolicy, SidecarContainer,
    SidecarContainerUpgradeStrategy, SidecarSet, SidecarSetInjectRevision, SidecarSetInjectionStrategy,
    SidecarSetPatchPodMetadata, SidecarSetSpec, SidecarSetStatus, SidecarSetUpdateStrategy,
    SourceContainerNameSource, TransferEnvVar,
};

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
