//! Advanced StatefulSet's own actions and reasons (ASTS-n), nested in
//! [`ActionKind::StatefulSet`](super::ActionKind::StatefulSet) and
//! [`Reason::StatefulSet`](super::Reason::StatefulSet). Every write of a StatefulSet plan is a
//! shared action (pods, PVCs, revisions, status), so [`StatefulSetAction`] has no variant yet;
//! the reasons below are the StatefulSet's own decisions.

use std::fmt;

use serde::Serialize;

/// Actions only an Advanced StatefulSet plans: none (every write is a shared action).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatefulSetAction {}

impl super::WorkloadAction for StatefulSetAction {
    fn name(&self) -> &'static str {
        match *self {}
    }
}

/// Reasons only an Advanced StatefulSet gives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind")]
pub enum StatefulSetReason {
    /// ASTS-25, ASTS-28, ASTS-29: OrderedReady handles one pod at a time; this one waits for
    /// the named pod (created, Running and Ready for `minReadySeconds`, or gone).
    OrderedReady {
        /// The pod the set waits for.
        waiting_for: String,
    },
    /// ASTS-25 step 1: a Failed or Succeeded replica is deleted so its slot can be refilled.
    ReplacePod {
        /// `Failed` or `Succeeded`.
        phase: &'static str,
    },
    /// ASTS-25 step 4, ASTS-29: the pod is terminating; OrderedReady waits for it to be gone.
    Terminating,
    /// ASTS-25, ASTS-26: `scaleStrategy.maxUnavailable` is spent for this pass.
    ScaleBudget {
        /// The resolved budget.
        limit: i32,
    },
    /// ASTS-19: a PVC of the slot still has an owner reference to a former pod of the same
    /// name (whenScaled: Delete); creation waits for the garbage collector.
    StalePvc {
        /// The PVC.
        pvc: String,
    },
    /// ASTS-18: a PVC of the slot is being deleted; the pod is created once it is gone.
    PvcTerminating {
        /// The PVC.
        pvc: String,
    },
    /// ASTS-16, ASTS-18: identity repair (labels, missing PVCs).
    Identity,
    /// ASTS-20: PVC owner references set to what the retention policy asks for.
    PvcRetention {
        /// The pod is outside the replica slots.
        scaled_down: bool,
    },
    /// ASTS-47: PVC resize (volumeClaimUpdateStrategy OnPodRollingUpdate).
    PvcResize,
    /// ASTS-34: labelled `apps.kruise.io/specified-delete`.
    SpecifiedDelete,
    /// ASTS-14 (spec §14 question 2): another pod holds this pod's ordinal (`web-01` next to
    /// `web-1`); this one is condemned.
    DuplicateOrdinal {
        /// The ordinal both claim.
        ordinal: i64,
    },
    /// ASTS-30 item 2: a lifecycle state changed this pass; the update waits for the next.
    LifecycleRefresh,
}

impl super::WorkloadReason for StatefulSetReason {
    fn kind(&self) -> &'static str {
        match self {
            Self::OrderedReady { .. } => "OrderedReady",
            Self::ReplacePod { .. } => "ReplacePod",
            Self::Terminating => "Terminating",
            Self::ScaleBudget { .. } => "ScaleBudget",
            Self::StalePvc { .. } => "StalePvc",
            Self::PvcTerminating { .. } => "PvcTerminating",
            Self::Identity => "Identity",
            Self::PvcRetention { .. } => "PvcRetention",
            Self::PvcResize => "PvcResize",
            Self::SpecifiedDelete => "SpecifiedDelete",
            Self::DuplicateOrdinal { .. } => "DuplicateOrdinal",
            Self::LifecycleRefresh => "LifecycleRefresh",
        }
    }
}

impl fmt::Display for StatefulSetReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OrderedReady { waiting_for } => write!(f, "waiting for {waiting_for}"),
            Self::ReplacePod { phase } => write!(f, "phase {phase}"),
            Self::ScaleBudget { limit } => write!(f, "limit {limit}"),
            Self::StalePvc { pvc } | Self::PvcTerminating { pvc } => write!(f, "pvc {pvc}"),
            Self::PvcRetention { scaled_down } => {
                write!(f, "{}", if *scaled_down { "scaled down" } else { "in slot" })
            }
            Self::DuplicateOrdinal { ordinal } => write!(f, "ordinal {ordinal}"),
            Self::Terminating
            | Self::Identity
            | Self::PvcResize
            | Self::SpecifiedDelete
            | Self::LifecycleRefresh => Ok(()),
        }
    }
}
