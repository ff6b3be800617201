//! The planner's vocabulary: [`Input`], [`Plan`], [`Action`], [`Held`], [`Reason`],
//! [`Requeue`] and [`PlanError`] (DESIGN.md "The planner contract", STYLE.md §3, §5).

use std::fmt;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use kruise_api::FieldPath;
use kruise_api::apps::v1beta1::{CloneSet, CloneSetStatus};
use serde::Serialize;
use serde::ser::SerializeStruct;

use crate::expectations::Expectations;
use crate::features::Features;

/// Everything the CloneSet planner may look at (CS-89).
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The CloneSet as stored, in the v1beta1 shape with webhook defaults applied.
    pub cloneset: &'a CloneSet,
    /// Pods with an owner reference to the CloneSet (active and inactive), plus orphans that
    /// match its selector (candidates for adoption): a slice (`(&pods).into()`) or a
    /// [`PodTable`](crate::cloneset::PodTable) kept up to date by the adapter (`(&table).into()`), which
    /// makes a plan read one compact row per pod instead of each `Pod`'s scattered fields.
    pub pods: crate::cloneset::Pods<'a>,
    /// PVCs owned by the CloneSet.
    pub pvcs: &'a [PersistentVolumeClaim],
    /// ControllerRevisions matching the selector (owned by the CloneSet or by nothing).
    pub revisions: &'a [ControllerRevision],
    /// Nodes of the pods; only read when the template has topology spread constraints
    /// (CS-53). May be empty.
    pub nodes: &'a [Node],
    /// The only clock.
    pub now: Timestamp,
    /// The only randomness: new instance ids derive from it (CS-45).
    pub id_seed: u64,
    /// Feature gates and controller flags (CS-90).
    pub features: Features,
    /// The adapter's writes not yet seen in its cache (CS-87, CS-88).
    pub expectations: &'a Expectations,
    /// CS-63: the PodUnavailableBudget admission check, consulted before each pod update when
    /// gate `PodUnavailableBudgetUpdateGate` is on. `None` allows every update.
    pub pub_check: Option<PubCheck<'a>>,
}

/// What a PodUnavailableBudget says about updating one pod (CS-63).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PubDecision {
    /// The update may go ahead.
    Allowed,
    /// Not now: the update loop stops and the plan requeues after 1 s.
    Denied,
    /// The check failed: Update stops with this error (`FailedUpdate`).
    Error(String),
}

/// A PodUnavailableBudget check (CS-63): a pure function of the pod, supplied by the adapter.
#[derive(Clone, Copy)]
pub struct PubCheck<'a>(pub &'a dyn Fn(&Pod) -> PubDecision);

impl fmt::Debug for PubCheck<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PubCheck(..)")
    }
}

/// What one reconcile should do.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Writes, in the order they must be carried out.
    pub actions: Vec<Action>,
    /// Pods deliberately left alone this round, each with its reason (at most one entry per
    /// pod: the first reason found), in the order the steps found them; the update step lists
    /// the pods waiting for the unavailability budget, then those beyond the partition, each
    /// group by pod name.
    pub held: Vec<Held>,
    /// The status computed for this reconcile (CS-82..CS-85). Written only when an
    /// [`ActionKind::UpdateStatus`] action is present (CS-86).
    pub status: CloneSetStatus,
    /// When to look again even if nothing changes, and why (the smallest candidate, CS-90).
    pub requeue: Option<Requeue>,
    /// Warnings worth an event that are not tied to an action (`ScaleUpLimited`, CS-42).
    pub events: Vec<Reason>,
}

impl Plan {
    /// Offers a requeue candidate; the plan keeps the smallest positive one (CS-90).
    pub fn requeue_at_most(&mut self, after: Duration, reason: Reason) {
        if after.is_zero() {
            return;
        }
        if self.requeue.as_ref().is_none_or(|r| after < r.after) {
            self.requeue = Some(Requeue { after, reason });
        }
    }

    /// Number of actions of the given kind name (`"CreatePod"`, ...).
    pub fn count(&self, kind: &str) -> usize {
        self.actions.iter().filter(|a| a.kind.name() == kind).count()
    }

    /// The held entry of `pod`, if any.
    pub fn held_reason(&self, pod: &str) -> Option<&Reason> {
        self.held.iter().find(|h| h.pod == pod).map(|h| &h.reason)
    }
}

impl Serialize for Plan {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Plan", 6)?;
        st.serialize_field("actions", &self.actions)?;
        st.serialize_field("held", &self.held)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("requeueAfterSeconds", &self.requeue.as_ref().map(|r| r.after.as_secs()))?;
        st.serialize_field("requeueReason", &self.requeue.as_ref().map(|r| r.reason.kind()))?;
        if !self.events.is_empty() {
            st.serialize_field(
                "events",
                &self.events.iter().map(|e| (e.kind(), e.to_string())).collect::<Vec<_>>(),
            )?;
        } else {
            st.skip_field("events")?;
        }
        st.end()
    }
}

/// A timed wake-up and the rule behind it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requeue {
    /// Delay from `now`.
    pub after: Duration,
    /// Why.
    pub reason: Reason,
}

/// One thing to do, with the pod/revision it concerns and why.
///
/// Serializes to the `kruise plan -o json` shape:
/// `{"action": .., "pod": .., "revision": .., "reason": <kind>, "detail": <numbers>}` plus
/// `pvc` / `patch` fields for the actions that carry them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    /// What to do.
    pub kind: ActionKind,
    /// The pod concerned, if any.
    pub pod: Option<String>,
    /// The revision concerned (name), if any.
    pub revision: Option<String>,
    /// Why.
    pub reason: Reason,
}

impl Action {
    pub(crate) fn new(kind: ActionKind, pod: Option<&str>, revision: Option<&str>, reason: Reason) -> Self {
        Self { kind, pod: pod.map(str::to_owned), revision: revision.map(str::to_owned), reason }
    }
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Action", 7)?;
        st.serialize_field("action", self.kind.name())?;
        st.serialize_field("pod", &self.pod)?;
        st.serialize_field("revision", &self.revision)?;
        match &self.kind {
            ActionKind::CreatePvc { pvc } | ActionKind::DeletePvc { pvc } | ActionKind::UpdatePvc { pvc } => {
                st.serialize_field("pvc", pvc)?
            }
            ActionKind::PatchPod { patch } => st.serialize_field("patch", patch)?,
            ActionKind::UpdatePodStatus { condition } => st.serialize_field("condition", condition)?,
            ActionKind::UpdateSpec { pods_to_delete } => {
                st.serialize_field("podsToDelete", pods_to_delete)?
            }
            ActionKind::CreatePod { instance_id } => st.serialize_field("instanceId", instance_id)?,
            _ => {}
        }
        st.serialize_field("reason", self.reason.kind())?;
        st.serialize_field("detail", &self.reason.to_string())?;
        st.end()
    }
}

/// The kinds of [`Action`], with the data only that kind needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionKind {
    /// Create the ControllerRevision named by `Action::revision` from the current template
    /// (CS-27, CS-30).
    CreateRevision {
        /// Its `revision` number.
        number: i64,
        /// The collision count used for its name.
        collision_count: i32,
    },
    /// Bump an existing revision's number (rollback reuse, CS-28) and refresh its VCT hash.
    UpdateRevision {
        /// The new `revision` number.
        number: i64,
    },
    /// Delete a revision beyond `revisionHistoryLimit` (CS-32).
    DeleteRevision,
    /// Create a PVC for a new pod (CS-47).
    CreatePvc {
        /// PVC name.
        pvc: String,
    },
    /// Delete a PVC (CS-25, CS-54).
    DeletePvc {
        /// PVC name.
        pvc: String,
    },
    /// Hand a PVC over to its (inactive) pod (CS-25).
    UpdatePvc {
        /// PVC name.
        pvc: String,
    },
    /// Remove the CloneSet's controller reference from a pod that no longer matches (CS-24).
    ReleasePod,
    /// Add a controller reference to a matching orphan (CS-24).
    AdoptPod,
    /// Create the pod named by `Action::pod` from `Action::revision` ([`crate::cloneset::new_pod`]).
    CreatePod {
        /// The instance id (CS-45).
        instance_id: String,
    },
    /// Delete the pod (uid precondition), then its PVCs (separate actions) (CS-54).
    DeletePod,
    /// Merge-patch labels / annotations of a pod (lifecycle, specified-delete, hash fix).
    PatchPod {
        /// What to change.
        patch: PodPatch,
    },
    /// Write one pod condition through the status subresource (CS-70, CS-80).
    UpdatePodStatus {
        /// The condition to set.
        condition: PodConditionUpdate,
    },
    /// In-place update of the pod to `Action::revision` (CS-70, CS-71): a status write
    /// (`InPlaceUpdateReady=False`) followed by a full pod replace.
    UpdateInPlace {
        /// The revision the pod is on now (the diff's base).
        from_revision: String,
    },
    /// Apply an in-place update spec stored in the grace annotation (CS-72).
    FinishGracePeriod,
    /// Apply the next container batch of an in-place update (CS-73, CS-75 (c)).
    ApplyNextBatch,
    /// Write the CloneSet status (CS-86).
    UpdateStatus,
    /// Write `spec.scaleStrategy.podsToDelete` without names of absent pods (CS-55).
    UpdateSpec {
        /// The remaining names, in their original order.
        pods_to_delete: Vec<String>,
    },
}

impl ActionKind {
    /// The PascalCase name `kruise plan` prints.
    pub fn name(&self) -> &'static str {
        match self {
            Self::CreateRevision { .. } => "CreateRevision",
            Self::UpdateRevision { .. } => "UpdateRevision",
            Self::DeleteRevision => "DeleteRevision",
            Self::CreatePvc { .. } => "CreatePvc",
            Self::DeletePvc { .. } => "DeletePvc",
            Self::UpdatePvc { .. } => "UpdatePvc",
            Self::ReleasePod => "ReleasePod",
            Self::AdoptPod => "AdoptPod",
            Self::CreatePod { .. } => "CreatePod",
            Self::DeletePod => "DeletePod",
            Self::PatchPod { .. } => "PatchPod",
            Self::UpdatePodStatus { .. } => "UpdatePodStatus",
            Self::UpdateInPlace { .. } => "UpdateInPlace",
            Self::FinishGracePeriod => "FinishGracePeriod",
            Self::ApplyNextBatch => "ApplyNextBatch",
            Self::UpdateStatus => "UpdateStatus",
            Self::UpdateSpec { .. } => "UpdateSpec",
        }
    }
}

/// A label/annotation merge patch of a pod. `None` values remove the key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PodPatch {
    /// Labels to set (`Some`) or remove (`None`).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, Option<String>>,
    /// Annotations to set (`Some`) or remove (`None`).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: std::collections::BTreeMap<String, Option<String>>,
    /// Finalizers to add (lifecycle hooks re-armed, CS-64).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add_finalizers: Vec<String>,
}

impl PodPatch {
    /// The JSON merge patch (RFC 7386) body.
    pub fn to_merge_patch(&self) -> serde_json::Value {
        let mut meta = serde_json::Map::new();
        if !self.labels.is_empty() {
            meta.insert("labels".into(), serde_json::to_value(&self.labels).unwrap_or_default());
        }
        if !self.annotations.is_empty() {
            meta.insert("annotations".into(), serde_json::to_value(&self.annotations).unwrap_or_default());
        }
        serde_json::json!({ "metadata": meta })
    }
}

/// A pod condition to write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodConditionUpdate {
    /// Condition type (`InPlaceUpdateReady`, `KruisePodReady`).
    #[serde(rename = "type")]
    pub type_: String,
    /// `True` or `False`.
    pub status: String,
    /// Reason (may be empty).
    pub reason: String,
    /// Message (may be empty).
    pub message: String,
}

/// A pod deliberately left alone this round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// The pod.
    pub pod: String,
    /// Why it is left alone.
    pub reason: Reason,
}

impl Serialize for Held {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Held", 3)?;
        st.serialize_field("pod", &self.pod)?;
        st.serialize_field("reason", self.reason.kind())?;
        st.serialize_field("detail", &self.reason.to_string())?;
        st.end()
    }
}

/// Why the planner did (or did not do) something. The kind is printed as `reason`, the
/// numbers (the `Display` text) as `detail`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind")]
#[non_exhaustive]
pub enum Reason {
    /// CS-44: fewer pods than wanted.
    ScaleUp {
        /// Pods counted (CS-40 `curTotal`).
        have: i32,
        /// Pods wanted (`expTotal`).
        want: i32,
    },
    /// CS-51: more pods than wanted.
    ScaleDown {
        /// Pods counted.
        have: i32,
        /// Pods wanted.
        want: i32,
    },
    /// CS-50: named in `podsToDelete` or labelled `specified-delete`.
    PodsToDelete,
    /// CS-49: PreparingDelete pod whose hook was released.
    PreDeleteReleased,
    /// CS-43: replicas went back up; PreparingDelete cancelled.
    CancelPreparingDelete {
        /// Pods still missing before this one.
        missing: i32,
    },
    /// CS-64, CS-65: moving the pod to the target revision.
    Update {
        /// `updateNum` (CS-41).
        update_num: i32,
        /// Recreate instead of in place.
        recreate: bool,
    },
    /// CS-31: the pod lacks `pod-template-hash`.
    FixTemplateHash,
    /// CS-79: a lifecycle transition on refresh.
    Lifecycle {
        /// From state.
        from: String,
        /// To state.
        to: String,
    },
    /// CS-54, CS-64: the pod is held by a lifecycle hook.
    LifecycleHook {
        /// `preDelete`, `inPlaceUpdate` or `preNormal`.
        hook: &'static str,
    },
    /// CS-70, CS-75: in-place readiness protocol write.
    InPlaceReadiness,
    /// CS-72: waiting out `gracePeriodSeconds`.
    GracePeriod {
        /// Seconds left.
        remaining: u64,
    },
    /// CS-74: in-place update not complete yet.
    InPlaceUpdating,
    /// CS-66: the pod stays old because of the partition.
    Partition {
        /// `P` (CS-36).
        partition: i32,
    },
    /// CS-62 / CS-50: the unavailability budget is spent.
    MaxUnavailable {
        /// Unavailable pods counted.
        unavailable: i32,
        /// The limit.
        limit: i32,
    },
    /// CS-40: scale-up limited by `scaleStrategy.maxUnavailable`.
    ScaleUpLimited {
        /// Pods that could be created.
        limit: i32,
        /// Pods missing.
        wanted: i32,
    },
    /// CS-90: waiting for `minReadySeconds`.
    MinReadySeconds {
        /// Seconds.
        seconds: i32,
    },
    /// CS-66: `rollingUpdate.paused`.
    Paused,
    /// CS-56: `updateStrategy.type: OnDelete`.
    OnDelete,
    /// CS-56: scale changed something this round; update waits for the next.
    ScaleFirst,
    /// CS-87, CS-88: own writes not yet observed.
    AwaitingExpectations {
        /// Creates outstanding.
        creates: usize,
        /// Deletes outstanding.
        deletes: usize,
        /// Resource versions outstanding.
        resource_versions: usize,
    },
    /// CS-76: InPlaceOnly but the change cannot be applied in place.
    InPlaceImpossible,
    /// CS-63: a PodUnavailableBudget denied the update.
    PodUnavailableBudget,
    /// CS-64: the pod's lifecycle state forbids an in-place update.
    LifecycleState {
        /// The state.
        state: String,
    },
    /// CS-24: ownership / selector changes.
    Claim,
    /// CS-25: PVC clean-up when reuse is disabled.
    PvcCleanup,
    /// CS-28..CS-30: the update revision.
    NewRevision,
    /// CS-32: history truncation.
    HistoryLimit {
        /// `revisionHistoryLimit`.
        limit: i32,
    },
    /// CS-82..CS-86: status changed.
    StatusChanged,
    /// CS-55: names of absent pods removed.
    TruncatePodsToDelete,
    /// CS-85: progress deadline remainder.
    ProgressDeadline,
    /// CS-23: the CloneSet is being deleted.
    Deleting,
    /// CS-79: a `PreparingNormal` pod with no `preNormal` hook waits to be scheduled before it
    /// becomes `Normal`.
    Unscheduled,
    /// CS-42: an earlier scale step (cancelling PreparingDelete, scale-up, finishing
    /// PreparingDelete) ended this reconcile's scale pass before specified deletion (step 6);
    /// the pod named for deletion is deleted on a later reconcile.
    DeletionDeferred,
}

impl Reason {
    /// The PascalCase kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ScaleUp { .. } => "ScaleUp",
            Self::ScaleDown { .. } => "ScaleDown",
            Self::PodsToDelete => "PodsToDelete",
            Self::PreDeleteReleased => "PreDeleteReleased",
            Self::CancelPreparingDelete { .. } => "CancelPreparingDelete",
            Self::Update { .. } => "Update",
            Self::FixTemplateHash => "FixTemplateHash",
            Self::Lifecycle { .. } => "Lifecycle",
            Self::LifecycleHook { .. } => "LifecycleHook",
            Self::InPlaceReadiness => "InPlaceReadiness",
            Self::GracePeriod { .. } => "GracePeriod",
            Self::InPlaceUpdating => "InPlaceUpdating",
            Self::Partition { .. } => "Partition",
            Self::MaxUnavailable { .. } => "MaxUnavailable",
            Self::ScaleUpLimited { .. } => "ScaleUpLimited",
            Self::MinReadySeconds { .. } => "MinReadySeconds",
            Self::Paused => "Paused",
            Self::OnDelete => "OnDelete",
            Self::ScaleFirst => "ScaleFirst",
            Self::AwaitingExpectations { .. } => "AwaitingExpectations",
            Self::InPlaceImpossible => "InPlaceImpossible",
            Self::PodUnavailableBudget => "PodUnavailableBudget",
            Self::LifecycleState { .. } => "LifecycleState",
            Self::Claim => "Claim",
            Self::PvcCleanup => "PvcCleanup",
            Self::NewRevision => "NewRevision",
            Self::HistoryLimit { .. } => "HistoryLimit",
            Self::StatusChanged => "StatusChanged",
            Self::TruncatePodsToDelete => "TruncatePodsToDelete",
            Self::ProgressDeadline => "ProgressDeadline",
            Self::Deleting => "Deleting",
            Self::Unscheduled => "Unscheduled",
            Self::DeletionDeferred => "DeletionDeferred",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ScaleUp { have, want } => write!(f, "have {have} pods, want {want}"),
            Self::ScaleDown { have, want } => write!(f, "have {have} pods, want {want}"),
            Self::CancelPreparingDelete { missing } => write!(f, "{missing} pods missing"),
            Self::Update { update_num, recreate } => {
                write!(f, "updateNum {update_num}{}", if *recreate { ", recreate" } else { "" })
            }
            Self::Lifecycle { from, to } => write!(f, "{from} -> {to}"),
            Self::LifecycleHook { hook } => write!(f, "hook {hook}"),
            Self::GracePeriod { remaining } => write!(f, "{remaining}s left"),
            Self::Partition { partition } => write!(f, "partition {partition}"),
            Self::MaxUnavailable { unavailable, limit } => {
                write!(f, "unavailable {unavailable}, limit {limit}")
            }
            Self::ScaleUpLimited { limit, wanted } => write!(f, "limit {limit}, wanted {wanted}"),
            Self::MinReadySeconds { seconds } => write!(f, "minReadySeconds {seconds}"),
            Self::AwaitingExpectations { creates, deletes, resource_versions } => {
                write!(f, "creates {creates}, deletes {deletes}, resourceVersions {resource_versions}")
            }
            Self::LifecycleState { state } => write!(f, "state {state}"),
            Self::HistoryLimit { limit } => write!(f, "limit {limit}"),
            _ => Ok(()),
        }
    }
}

/// Why the input cannot be planned. Waiting is never an error.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanError {
    /// A spec field is unusable.
    #[error("{path}: {message}")]
    InvalidSpec {
        /// The field.
        path: FieldPath,
        /// What is wrong.
        message: String,
    },
    /// An int-or-percent field could not be read.
    #[error("{path}: cannot parse {value:?} as int or percent")]
    BadIntOrPercent {
        /// The field.
        path: FieldPath,
        /// The text.
        value: String,
    },
    /// A pod cannot be updated as the strategy demands (CS-64, CS-76). Reported in the
    /// `FailedUpdate` condition by [`crate::cloneset::plan`]; surfaced here only by helpers.
    #[error("{pod}: {message}")]
    Update {
        /// The pod.
        pod: String,
        /// What is wrong.
        message: String,
    },
}

impl PlanError {
    pub(crate) fn invalid(path: &str, message: impl Into<String>) -> Self {
        Self::InvalidSpec { path: FieldPath::from(path), message: message.into() }
    }
}
