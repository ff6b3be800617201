//! Advanced DaemonSet's own actions and reasons (ADS-n), nested in [`ActionKind::DaemonSet`](super::ActionKind::DaemonSet)
//! and [`Reason::DaemonSet`](super::Reason::DaemonSet). The Advanced DaemonSet planner owns this file: see
//! [`crate::plan`] for how it adds its variants. Pod creates and deletes use the shared
//! `CreatePod` / `DeletePod` actions with the node as the action's `object`.

use std::fmt;

use serde::Serialize;
use serde::ser::SerializeStruct;

/// Actions only the Advanced DaemonSet plans.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DaemonSetAction {
    /// ADS-9: set the `controller-revision-hash` label of the revision named by
    /// `Action::revision` (which lacks it) to `hash` (its own name).
    LabelRevision {
        /// The label value.
        hash: String,
    },
}

impl super::WorkloadAction for DaemonSetAction {
    fn name(&self) -> &'static str {
        match self {
            Self::LabelRevision { .. } => "LabelRevision",
        }
    }
    fn serialize_fields<S: SerializeStruct>(&self, st: &mut S) -> Result<(), S::Error> {
        match self {
            Self::LabelRevision { hash } => st.serialize_field("hash", hash),
        }
    }
}

/// Reasons only the Advanced DaemonSet gives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind")]
pub enum DaemonSetReason {
    /// ADS-13: the node should run a pod and has none.
    NodeNeedsPod,
    /// ADS-13: the node must not keep the pod (ADS-7 shouldContinueRunning is false).
    NodeIneligible {
        /// Why (node name pinning, node selector, affinity, an untolerated taint).
        why: String,
    },
    /// ADS-13: more live pods on the node than allowed; the oldest stays.
    ExcessPod,
    /// ADS-16: a failed pod is deleted (and an event `FailedDaemonPod` emitted).
    FailedPod,
    /// ADS-16: a failed pod is kept while its node is in backoff.
    FailedPodBackoff {
        /// Seconds left.
        remaining: u64,
    },
    /// ADS-14: the pod targets a node that does not exist and is not bound.
    UnscheduledOrphan,
    /// ADS-13, ADS-23: the old pod goes now that its surged replacement is available (or
    /// it is not ready).
    SurgeReplaced,
    /// ADS-13, ADS-23: the old pod waits for its surged replacement to become available.
    WaitingForNewPod,
    /// ADS-23: a new pod surged next to the old one.
    Surge {
        /// Nodes already surging.
        surge: i32,
        /// `maxSurge`.
        limit: i32,
    },
    /// ADS-23: the surge budget is spent.
    MaxSurge {
        /// Nodes surging.
        surge: i32,
        /// `maxSurge`.
        limit: i32,
    },
    /// ADS-22, ADS-24: the old pod is replaced (deleted, or updated in place) within
    /// `maxUnavailable`.
    Replace {
        /// Unavailable nodes counted.
        unavailable: i32,
        /// `maxUnavailable`.
        limit: i32,
    },
    /// ADS-22, ADS-23: the old pod is not available, so it is replaced outside the budget.
    UnavailableReplaced,
    /// ADS-21: the node does not match `rollingUpdate.selector`.
    NotSelected,
    /// ADS-17, ADS-24 (§10 q8): more creates / deletes / in-place updates than
    /// `burstReplicas` this pass.
    BurstLimit {
        /// `burstReplicas`, resolved.
        limit: usize,
    },
    /// ADS-15: creation limited by `partition` with partitioned scaling.
    PartitionedScaling {
        /// Pods that may be created this pass.
        max_create: i32,
    },
    /// ADS-9: a duplicate of the current revision (deleted; its pods relabelled).
    DuplicateRevision,
    /// ADS-9: a revision lacking its hash label.
    RevisionHashLabel,
    /// ADS-11: the selector is empty (event `SelectingAll`); nothing is done.
    SelectingAll,
}

impl super::WorkloadReason for DaemonSetReason {
    fn kind(&self) -> &'static str {
        match self {
            Self::NodeNeedsPod => "NodeNeedsPod",
            Self::NodeIneligible { .. } => "NodeIneligible",
            Self::ExcessPod => "ExcessPod",
            Self::FailedPod => "FailedDaemonPod",
            Self::FailedPodBackoff { .. } => "FailedPodBackoff",
            Self::UnscheduledOrphan => "UnscheduledOrphan",
            Self::SurgeReplaced => "SurgeReplaced",
            Self::WaitingForNewPod => "WaitingForNewPod",
            Self::Surge { .. } => "Surge",
            Self::MaxSurge { .. } => "MaxSurge",
            Self::Replace { .. } => "Replace",
            Self::UnavailableReplaced => "UnavailableReplaced",
            Self::NotSelected => "NotSelected",
            Self::BurstLimit { .. } => "BurstLimit",
            Self::PartitionedScaling { .. } => "PartitionedScaling",
            Self::DuplicateRevision => "DuplicateRevision",
            Self::RevisionHashLabel => "RevisionHashLabel",
            Self::SelectingAll => "SelectingAll",
        }
    }
}

impl fmt::Display for DaemonSetReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NodeIneligible { why } => f.write_str(why),
            Self::FailedPodBackoff { remaining } => write!(f, "{remaining}s left"),
            Self::Surge { surge, limit } | Self::MaxSurge { surge, limit } => {
                write!(f, "surge {surge}, limit {limit}")
            }
            Self::Replace { unavailable, limit } => write!(f, "unavailable {unavailable}, limit {limit}"),
            Self::BurstLimit { limit } => write!(f, "burst {limit}"),
            Self::PartitionedScaling { max_create } => write!(f, "maxCreate {max_create}"),
            _ => Ok(()),
        }
    }
}
