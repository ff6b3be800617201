//! SidecarSet's own actions and reasons (SCS-n), nested in [`ActionKind::SidecarSet`](super::ActionKind::SidecarSet)
//! and [`Reason::SidecarSet`](super::Reason::SidecarSet). The SidecarSet planner owns this file: see
//! [`crate::plan`] for how it adds its variants. Revision and status writes use the shared
//! actions; the `SidecarSetUpgradable` condition uses the shared `UpdatePodStatus`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde::ser::SerializeStruct;

/// Actions only the SidecarSet planner plans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SidecarSetAction {
    /// SCS-45, SCS-62: change the images of some containers of the pod named by
    /// `Action::pod` and set some annotations (hash record, in-place state, hot-upgrade
    /// version annotations and working map). Nothing else of the pod changes.
    SetSidecarImages {
        /// Container name → new image.
        images: BTreeMap<String, String>,
        /// Annotation key → new value.
        annotations: BTreeMap<String, String>,
    },
    /// SCS-31: set the `apps.kruise.io/sidecarset-custom-version` label of the revision named
    /// by `Action::revision`.
    LabelCustomVersion {
        /// The label value (`spec.customVersion`).
        version: String,
    },
}

impl super::WorkloadAction for SidecarSetAction {
    fn name(&self) -> &'static str {
        match self {
            Self::SetSidecarImages { .. } => "SetSidecarImages",
            Self::LabelCustomVersion { .. } => "LabelCustomVersion",
        }
    }
    fn serialize_fields<S: SerializeStruct>(&self, st: &mut S) -> Result<(), S::Error> {
        match self {
            Self::SetSidecarImages { images, annotations } => {
                st.serialize_field("images", images)?;
                st.serialize_field("annotations", annotations)
            }
            Self::LabelCustomVersion { version } => st.serialize_field("customVersion", version),
        }
    }
}

/// Reasons only the SidecarSet planner gives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind")]
pub enum SidecarSetReason {
    /// SCS-44, SCS-45: the pod's sidecars are upgraded in place within `maxUnavailable`.
    UpgradeSidecars {
        /// Matched pods counted unavailable before this one.
        unavailable: i32,
        /// `maxUnavailable`, resolved.
        limit: i32,
    },
    /// SCS-62: a hot-upgraded pod's old slot is reset to the empty image.
    HotUpgradeFlip,
    /// SCS-41, SCS-53: more than images differ; the pod waits to be recreated by its owner.
    NotUpgradable,
    /// SCS-44 step 1: an earlier upgrade of the pod's sidecars is still rolling out.
    UpgradeInProgress,
    /// SCS-44 step 1: the pod does not match `updateStrategy.selector`.
    NotSelected,
    /// SCS-43 step 5: `updateStrategy.type: NotUpdate`.
    NotUpdate,
    /// SCS-43 step 7: hot-upgrade flips this round; new upgrades wait for the next.
    FlipFirst,
    /// SCS-53: the `SidecarSetUpgradable` condition changes.
    UpgradableCondition {
        /// The condition status written.
        upgradable: bool,
    },
    /// SCS-31: the latest revision's custom-version label differs from `spec.customVersion`.
    CustomVersion,
    /// SCS-32: the revisions in use outnumber `revisionHistoryLimit` (non-fatal).
    HistoryLimitExceeded {
        /// The limit.
        limit: usize,
        /// Revisions left.
        actual: usize,
    },
}

impl super::WorkloadReason for SidecarSetReason {
    fn kind(&self) -> &'static str {
        match self {
            Self::UpgradeSidecars { .. } => "UpgradeSidecars",
            Self::HotUpgradeFlip => "HotUpgradeFlip",
            Self::NotUpgradable => "NotUpgradable",
            Self::UpgradeInProgress => "UpgradeInProgress",
            Self::NotSelected => "NotSelected",
            Self::NotUpdate => "NotUpdate",
            Self::FlipFirst => "FlipFirst",
            Self::UpgradableCondition { .. } => "UpgradableCondition",
            Self::CustomVersion => "CustomVersion",
            Self::HistoryLimitExceeded { .. } => "HistoryLimitExceeded",
        }
    }
}

impl fmt::Display for SidecarSetReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UpgradeSidecars { unavailable, limit } => {
                write!(f, "unavailable {unavailable}, limit {limit}")
            }
            Self::UpgradableCondition { upgradable } => write!(f, "upgradable {upgradable}"),
            Self::HistoryLimitExceeded { limit, actual } => {
                write!(
                    f,
                    "failed to limit the number of stored revisions, limited: {limit}, actual: {actual}"
                )
            }
            _ => Ok(()),
        }
    }
}
