//! `apps.kruise.io/v1beta1`: the storage (hub) version of CloneSet and Advanced StatefulSet.

mod cloneset;

pub use cloneset::*;

/// `apps.kruise.io/v1beta1`.
pub const API_VERSION: &str = "apps.kruise.io/v1beta1";

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
