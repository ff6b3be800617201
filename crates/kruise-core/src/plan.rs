//! What every plan is made of, for every workload: [`Plan`], [`Action`] / [`ActionKind`],
//! [`Held`], [`Reason`], [`Requeue`] and [`PlanError`] (DESIGN.md "The planner contract",
//! STYLE.md §3, §5).
//!
//! A planner returns a [`Plan<S>`](Plan), `S` being its workload's status type
//! (`Plan<CloneSetStatus>` for CloneSet, [`crate::cloneset::Plan`]). Every plan serializes to
//! the one `kruise plan -o json` shape: `actions` (`{"action", "pod", "revision", [subject],
//! [data], "reason", "detail"}`), `held` (`{"pod" | "object", "reason", "detail"}`), `status`,
//! `requeueAfterSeconds`, `requeueReason`, `events` when any.
//!
//! ## Shared and workload-specific vocabulary
//! [`ActionKind`] and [`Reason`] hold, at their top level, the variants whose meaning is the
//! same for every workload: pods created, deleted, updated in place, patched; PVCs and
//! revisions written; held for `partition`, `maxUnavailable`, `minReadySeconds`, `paused`,
//! `OnDelete`, a lifecycle hook or a PodUnavailableBudget; waiting for expectations. The
//! variants only CloneSet uses (CS-n) are grouped after them. Every other workload has one
//! variant of its own in each enum, [`ActionKind::StatefulSet`], [`Reason::DaemonSet`], ...,
//! which wraps an enum defined in that workload's file under `plan/` ([`statefulset`],
//! [`daemonset`], [`sidecarset`], [`broadcastjob`], [`imagepulljob`], [`rollout`]).
//!
//! ## How a new workload adds its variants
//! 1. Use a shared variant whenever its meaning fits (a DaemonSet pod held by `partition` is
//!    [`Reason::Partition`], not a new one). The subject of an action or held entry that is
//!    not a pod (a node, a NodeImage, a workload a Rollout patches, a traffic route) goes in
//!    [`Action::object`] / [`Held::object`] as an [`ObjectRef`].
//! 2. For what is the workload's own, edit only its file `plan/<kind>.rs`: declare two enums
//!    there (`<Kind>Action`, `<Kind>Reason`), add one variant wrapping each to the shared
//!    enums, and implement [`WorkloadAction`] (the PascalCase `name`, and the extra JSON fields of an
//!    action, if any, through `serialize_fields`) and [`WorkloadReason`] (the PascalCase
//!    `kind`; its `Display` is the `detail`). Cite the rule ids in each variant's doc.
//! 3. The shared enums delegate to these, so the JSON keeps one shape: the nested enum's
//!    name appears as `action` / `reason`, its numbers as `detail`; nothing in this file,
//!    the CLI or the adapters changes.
//!
//! Names must not repeat a shared variant's name: `kruise plan` and the simulator's timeline
//! read only the printed names.

use std::fmt;
use std::time::Duration;

use kruise_api::FieldPath;
use serde::Serialize;
use serde::ser::SerializeStruct;

pub mod broadcastjob;
pub mod daemonset;
pub mod imagepulljob;
pub mod rollout;
pub mod sidecarset;
pub mod statefulset;

pub use broadcastjob::{BroadcastJobAction, BroadcastJobReason};
pub use daemonset::{DaemonSetAction, DaemonSetReason};
pub use imagepulljob::{ImagePullJobAction, ImagePullJobReason};
pub use rollout::{RolloutAction, RolloutReason};
pub use sidecarset::{SidecarSetAction, SidecarSetReason};
pub use statefulset::{StatefulSetAction, StatefulSetReason};

/// What one reconcile of a workload with status type `S` should do.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan<S> {
    /// Writes, in the order they must be carried out.
    pub actions: Vec<Action>,
    /// Pods (or other subjects) deliberately left alone this round, each with its reason (at
    /// most one entry per subject: the first reason found), in the order the steps found
    /// them. CloneSet's update step lists the pods waiting for the unavailability budget,
    /// then those beyond the partition, each group by pod name.
    pub held: Vec<Held>,
    /// The status computed for this reconcile (CS-82..CS-85). Written only when an
    /// [`ActionKind::UpdateStatus`] action is present (CS-86).
    pub status: S,
    /// When to look again even if nothing changes, and why (the smallest candidate, CS-90).
    pub requeue: Option<Requeue>,
    /// Warnings worth an event that are not tied to an action (`ScaleUpLimited`, CS-42).
    pub events: Vec<Reason>,
}

impl<S> Plan<S> {
    /// An empty plan that would write `status`.
    pub fn new(status: S) -> Self {
        Self { actions: Vec::new(), held: Vec::new(), status, requeue: None, events: Vec::new() }
    }

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
        self.held.iter().find(|h| h.pod.as_deref() == Some(pod)).map(|h| &h.reason)
    }
}

impl<T: Serialize> Serialize for Plan<T> {
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
/// `object` when the subject is not a pod, and `pvc` / `patch` / ... fields for the actions
/// that carry them.
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
    /// The subject when it is not a pod (a node, a NodeImage, a workload, a route), if any.
    /// Serialized only when set.
    pub object: Option<ObjectRef>,
}

impl Action {
    /// An action on a pod and/or a revision (either may be absent).
    pub fn new(kind: ActionKind, pod: Option<&str>, revision: Option<&str>, reason: Reason) -> Self {
        Self {
            kind,
            pod: pod.map(str::to_owned),
            revision: revision.map(str::to_owned),
            reason,
            object: None,
        }
    }

    /// An action whose subject is an object other than a pod.
    pub fn on_object(kind: ActionKind, object: ObjectRef, reason: Reason) -> Self {
        Self { kind, pod: None, revision: None, reason, object: Some(object) }
    }
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Action", 8)?;
        st.serialize_field("action", self.kind.name())?;
        st.serialize_field("pod", &self.pod)?;
        st.serialize_field("revision", &self.revision)?;
        match &self.object {
            Some(o) => st.serialize_field("object", o)?,
            None => st.skip_field("object")?,
        }
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
            ActionKind::StatefulSet(a) => a.serialize_fields(&mut st)?,
            ActionKind::DaemonSet(a) => a.serialize_fields(&mut st)?,
            ActionKind::SidecarSet(a) => a.serialize_fields(&mut st)?,
            ActionKind::BroadcastJob(a) => a.serialize_fields(&mut st)?,
            ActionKind::ImagePullJob(a) => a.serialize_fields(&mut st)?,
            ActionKind::Rollout(a) => a.serialize_fields(&mut st)?,
            _ => {}
        }
        st.serialize_field("reason", self.reason.kind())?;
        st.serialize_field("detail", &self.reason.to_string())?;
        st.end()
    }
}

/// The subject of an [`Action`] or [`Held`] entry that is not a pod of the workload: a node
/// (DaemonSet, BroadcastJob), a NodeImage (ImagePullJob), the workload a Rollout patches, a
/// traffic route. Serializes as `{"kind": .., "name": ..}`; the namespace is the workload's
/// (or none, for cluster-scoped kinds).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectRef {
    /// The Kubernetes kind (`Node`, `NodeImage`, `Deployment`, `Service`, ...).
    pub kind: String,
    /// The object's name.
    pub name: String,
}

impl ObjectRef {
    /// An object of `kind` named `name`.
    pub fn new(kind: &str, name: &str) -> Self {
        Self { kind: kind.to_owned(), name: name.to_owned() }
    }

    /// A node.
    pub fn node(name: &str) -> Self {
        Self::new("Node", name)
    }
}

/// The data of a workload's own [`ActionKind`] variant (see the module doc).
pub trait WorkloadAction: Clone + fmt::Debug + PartialEq + Eq {
    /// The PascalCase name `kruise plan` prints as `action`; distinct from every shared name.
    fn name(&self) -> &'static str;
    /// Writes the action's own JSON fields (after `revision`, before `reason`); none by
    /// default.
    fn serialize_fields<S: SerializeStruct>(&self, st: &mut S) -> Result<(), S::Error> {
        let _ = st;
        Ok(())
    }
}

/// The data of a workload's own [`Reason`] variant (see the module doc): its `Display` text is
/// the `detail` (the numbers behind the decision, empty when there are none).
pub trait WorkloadReason: Clone + fmt::Debug + PartialEq + Eq + fmt::Display {
    /// The PascalCase kind `kruise plan` prints as `reason`; distinct from every shared kind.
    fn kind(&self) -> &'static str;
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
    /// Remove the workload's controller reference from a pod that no longer matches (CS-24).
    ReleasePod,
    /// Add a controller reference to a matching orphan (CS-24).
    AdoptPod,
    /// Create the pod named by `Action::pod` from `Action::revision`
    /// ([`crate::cloneset::new_pod`] for CloneSet).
    CreatePod {
        /// The pod's identity within the workload: CloneSet's instance id (CS-45), a
        /// StatefulSet ordinal, ... (printed as `instanceId`).
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
    /// Write the workload's status (CS-86).
    UpdateStatus,

    // ---- CloneSet's own (CS-n) ----
    /// Write `spec.scaleStrategy.podsToDelete` without names of absent pods (CS-55).
    UpdateSpec {
        /// The remaining names, in their original order.
        pods_to_delete: Vec<String>,
    },

    // ---- Every other workload's own, defined in its file under `plan/` ----
    /// Advanced StatefulSet's own actions (ASTS-n).
    StatefulSet(StatefulSetAction),
    /// Advanced DaemonSet's own actions (ADS-n).
    DaemonSet(DaemonSetAction),
    /// SidecarSet's own actions (SCS-n).
    SidecarSet(SidecarSetAction),
    /// BroadcastJob's own actions (BJ-n).
    BroadcastJob(BroadcastJobAction),
    /// ImagePullJob's own actions (IPJ-n).
    ImagePullJob(ImagePullJobAction),
    /// Rollout's own actions (RO-n).
    Rollout(RolloutAction),
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
            Self::StatefulSet(a) => a.name(),
            Self::DaemonSet(a) => a.name(),
            Self::SidecarSet(a) => a.name(),
            Self::BroadcastJob(a) => a.name(),
            Self::ImagePullJob(a) => a.name(),
            Self::Rollout(a) => a.name(),
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

/// A pod (or another subject) deliberately left alone this round.
///
/// Serializes as `{"pod": .., "reason": <kind>, "detail": <numbers>}`, with `object` in
/// place of (or beside) `pod` when the subject is not a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// The pod, if the subject is a pod.
    pub pod: Option<String>,
    /// The subject when it is not a pod (a node, a NodeImage, ...). Boxed: most held
    /// subjects are pods, and a plan may hold one per pod (88 bytes a record, not 128).
    pub object: Option<Box<ObjectRef>>,
    /// Why it is left alone.
    pub reason: Reason,
}

impl Held {
    /// A held pod.
    pub fn pod(name: &str, reason: Reason) -> Self {
        Self { pod: Some(name.to_owned()), object: None, reason }
    }

    /// A held subject that is not a pod.
    pub fn object(object: ObjectRef, reason: Reason) -> Self {
        Self { pod: None, object: Some(Box::new(object)), reason }
    }
}

impl Serialize for Held {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Held", 4)?;
        match &self.pod {
            Some(p) => st.serialize_field("pod", p)?,
            None => st.skip_field("pod")?,
        }
        match &self.object {
            Some(o) => st.serialize_field("object", o)?,
            None => st.skip_field("object")?,
        }
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
    // ---- Shared: the same meaning for every workload ----
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
    /// CS-64, CS-65: moving the pod to the target revision.
    Update {
        /// `updateNum` (CS-41).
        update_num: i32,
        /// Recreate instead of in place.
        recreate: bool,
    },
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
    /// CS-90: waiting for `minReadySeconds`.
    MinReadySeconds {
        /// Seconds.
        seconds: i32,
    },
    /// CS-66: `rollingUpdate.paused`.
    Paused,
    /// CS-56: `updateStrategy.type: OnDelete`.
    OnDelete,
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
    /// CS-28..CS-30: the update revision.
    NewRevision,
    /// CS-32: history truncation.
    HistoryLimit {
        /// `revisionHistoryLimit`.
        limit: i32,
    },
    /// CS-82..CS-86: status changed.
    StatusChanged,
    /// CS-23: the CloneSet is being deleted.
    Deleting,
    /// CS-79: a `PreparingNormal` pod with no `preNormal` hook waits to be scheduled before it
    /// becomes `Normal`.
    Unscheduled,

    // ---- CloneSet's own (CS-n) ----
    /// CS-50: named in `podsToDelete` or labelled `specified-delete`.
    PodsToDelete,
    /// CS-49: PreparingDelete pod whose hook was released.
    PreDeleteReleased,
    /// CS-43: replicas went back up; PreparingDelete cancelled.
    CancelPreparingDelete {
        /// Pods still missing before this one.
        missing: i32,
    },
    /// CS-31: the pod lacks `pod-template-hash`.
    FixTemplateHash,
    /// Upstream bug 15 (kruise#1872, a kruise-rs decision): a pod of the current revision is
    /// not created because its containers mount volumes that neither that revision's template
    /// nor the live `volumeClaimTemplates` provide (a template removed while `partition` keeps
    /// new pods on the current revision); the API server would reject it on every pass.
    UnprovidedVolumes {
        /// The volume names, comma-separated.
        volumes: String,
    },
    /// CS-40: scale-up limited by `scaleStrategy.maxUnavailable`.
    ScaleUpLimited {
        /// Pods that could be created.
        limit: i32,
        /// Pods missing.
        wanted: i32,
    },
    /// CS-56: scale changed something this round; update waits for the next.
    ScaleFirst,
    /// CS-25: PVC clean-up when reuse is disabled.
    PvcCleanup,
    /// CS-55: names of absent pods removed.
    TruncatePodsToDelete,
    /// CS-85: progress deadline remainder.
    ProgressDeadline,
    /// CS-42: an earlier scale step (cancelling PreparingDelete, scale-up, finishing
    /// PreparingDelete) ended this reconcile's scale pass before specified deletion (step 6);
    /// the pod named for deletion is deleted on a later reconcile.
    DeletionDeferred,
    /// The workload's spec fails validation (issue 12 item 2): nothing is planned; the
    /// adapter writes the `InvalidSpec` status condition naming the field paths (`message`).
    InvalidSpec {
        /// The validation errors, as the condition says them.
        message: String,
    },
    /// The workload's spec passes validation again: the `InvalidSpec` condition is removed.
    SpecValid,

    // ---- Every other workload's own, defined in its file under `plan/` ----
    /// Advanced StatefulSet's own reasons (ASTS-n).
    #[serde(untagged)]
    StatefulSet(StatefulSetReason),
    /// Advanced DaemonSet's own reasons (ADS-n).
    #[serde(untagged)]
    DaemonSet(DaemonSetReason),
    /// SidecarSet's own reasons (SCS-n).
    #[serde(untagged)]
    SidecarSet(SidecarSetReason),
    /// BroadcastJob's own reasons (BJ-n).
    #[serde(untagged)]
    BroadcastJob(BroadcastJobReason),
    /// ImagePullJob's own reasons (IPJ-n).
    #[serde(untagged)]
    ImagePullJob(ImagePullJobReason),
    /// Rollout's own reasons (RO-n).
    #[serde(untagged)]
    Rollout(RolloutReason),
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
            Self::UnprovidedVolumes { .. } => "UnprovidedVolumes",
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
            Self::InvalidSpec { .. } => "InvalidSpec",
            Self::SpecValid => "SpecValid",
            Self::StatefulSet(r) => r.kind(),
            Self::DaemonSet(r) => r.kind(),
            Self::SidecarSet(r) => r.kind(),
            Self::BroadcastJob(r) => r.kind(),
            Self::ImagePullJob(r) => r.kind(),
            Self::Rollout(r) => r.kind(),
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
            Self::UnprovidedVolumes { volumes } => {
                write!(f, "volumes {volumes} are mounted but not provided")
            }
            Self::ScaleUpLimited { limit, wanted } => write!(f, "limit {limit}, wanted {wanted}"),
            Self::MinReadySeconds { seconds } => write!(f, "minReadySeconds {seconds}"),
            Self::AwaitingExpectations { creates, deletes, resource_versions } => {
                write!(f, "creates {creates}, deletes {deletes}, resourceVersions {resource_versions}")
            }
            Self::LifecycleState { state } => write!(f, "state {state}"),
            Self::HistoryLimit { limit } => write!(f, "limit {limit}"),
            Self::InvalidSpec { message } => f.write_str(message),
            Self::StatefulSet(r) => r.fmt(f),
            Self::DaemonSet(r) => r.fmt(f),
            Self::SidecarSet(r) => r.fmt(f),
            Self::BroadcastJob(r) => r.fmt(f),
            Self::ImagePullJob(r) => r.fmt(f),
            Self::Rollout(r) => r.fmt(f),
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
    /// CS-45: not enough free instance ids for the pods to create (at most half of the
    /// 27^5 ids left free may be drawn). Reported in the `FailedScale` condition by
    /// [`crate::cloneset::plan`]; returned as an error by [`crate::cloneset::new_instance_ids`].
    #[error("instance ids exhausted: {wanted} new ids wanted, {taken} of 14348907 taken")]
    InstanceIdsExhausted {
        /// Ids asked for.
        wanted: usize,
        /// Ids already in use (pods, PVCs).
        taken: usize,
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

impl From<kruise_api::selector::SelectorError> for PlanError {
    fn from(e: kruise_api::selector::SelectorError) -> Self {
        Self::InvalidSpec { path: e.path, message: e.message }
    }
}

impl PlanError {
    pub(crate) fn invalid(path: &str, message: impl Into<String>) -> Self {
        Self::InvalidSpec { path: FieldPath::from(path), message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn held_pod(name: &str) -> Held {
        Held::pod(name, Reason::Partition { partition: 2 })
    }

    #[test]
    fn plan_shape_action_on_a_pod_keeps_the_cloneset_json() {
        let a = Action::new(
            ActionKind::CreatePod { instance_id: "abcde".into() },
            Some("web-abcde"),
            Some("web-123"),
            Reason::ScaleUp { have: 1, want: 3 },
        );
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"action":"CreatePod","pod":"web-abcde","revision":"web-123","instanceId":"abcde","reason":"ScaleUp","detail":"have 1 pods, want 3"}"#
        );
    }

    #[test]
    fn plan_shape_action_on_an_object_prints_object_not_a_pod() {
        let a = Action::on_object(ActionKind::UpdateStatus, ObjectRef::node("nöde-1"), Reason::StatusChanged);
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            json!({"action": "UpdateStatus", "pod": null, "revision": null,
                   "object": {"kind": "Node", "name": "nöde-1"}, "reason": "StatusChanged", "detail": ""})
        );
    }

    #[test]
    fn plan_shape_held_object_has_no_pod_field() {
        let h = Held::object(ObjectRef::new("NodeImage", "n1"), Reason::Paused);
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"{"object":{"kind":"NodeImage","name":"n1"},"reason":"Paused","detail":""}"#
        );
        assert_eq!(
            serde_json::to_string(&held_pod("p")).unwrap(),
            r#"{"pod":"p","reason":"Partition","detail":"partition 2"}"#
        );
    }

    #[test]
    fn plan_shape_held_reason_finds_pods_only() {
        let mut p: Plan<()> = Plan::new(());
        p.held.push(Held::object(ObjectRef::node("a"), Reason::Paused));
        p.held.push(held_pod("a"));
        assert_eq!(p.held_reason("a"), Some(&Reason::Partition { partition: 2 }));
        assert_eq!(p.held_reason("b"), None);
    }

    #[test]
    fn cs_90_requeue_keeps_the_smallest_positive_candidate() {
        let mut p: Plan<()> = Plan::new(());
        p.requeue_at_most(Duration::ZERO, Reason::Paused);
        assert_eq!(p.requeue, None);
        p.requeue_at_most(Duration::from_secs(5), Reason::ProgressDeadline);
        p.requeue_at_most(Duration::from_secs(9), Reason::Paused);
        p.requeue_at_most(Duration::from_secs(2), Reason::MinReadySeconds { seconds: 2 });
        assert_eq!(p.requeue.as_ref().map(|r| r.after), Some(Duration::from_secs(2)));
        assert_eq!(p.requeue.as_ref().map(|r| r.reason.kind()), Some("MinReadySeconds"));
    }

    #[test]
    fn plan_shape_is_generic_over_the_status() {
        #[derive(Serialize, Default, Clone, Debug, PartialEq)]
        struct Status {
            ready: u32,
        }
        let mut p = Plan::new(Status { ready: 3 });
        p.actions.push(Action::new(ActionKind::UpdateStatus, None, None, Reason::StatusChanged));
        p.events.push(Reason::ScaleUpLimited { limit: 1, wanted: 2 });
        assert_eq!(p.count("UpdateStatus"), 1);
        assert_eq!(p.count("CreatePod"), 0);
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({
                "actions": [{"action": "UpdateStatus", "pod": null, "revision": null,
                             "reason": "StatusChanged", "detail": ""}],
                "held": [], "status": {"ready": 3}, "requeueAfterSeconds": null, "requeueReason": null,
                "events": [["ScaleUpLimited", "limit 1, wanted 2"]],
            })
        );
        // No events: no `events` key.
        let empty: Plan<Status> = Plan::default();
        assert!(serde_json::to_value(&empty).unwrap().get("events").is_none());
    }

    fn shared_reason() -> impl Strategy<Value = Reason> {
        prop_oneof![
            (any::<i32>(), any::<i32>()).prop_map(|(have, want)| Reason::ScaleUp { have, want }),
            any::<i32>().prop_map(|partition| Reason::Partition { partition }),
            (any::<i32>(), any::<i32>())
                .prop_map(|(unavailable, limit)| Reason::MaxUnavailable { unavailable, limit }),
            any::<u64>().prop_map(|remaining| Reason::GracePeriod { remaining }),
            Just(Reason::Paused),
            Just(Reason::PodUnavailableBudget),
            (any::<usize>(), any::<usize>(), any::<usize>()).prop_map(
                |(creates, deletes, resource_versions)| {
                    Reason::AwaitingExpectations { creates, deletes, resource_versions }
                }
            ),
        ]
    }

    proptest! {
        /// Every action and held entry prints `reason` = the kind and `detail` = the Display
        /// text, `pod` only when a pod is the subject of a held entry, `object` only when set.
        #[test]
        fn plan_shape_json_fields_follow_the_subject(
            pod in proptest::option::of("\\PC{0,12}"),
            object in proptest::option::of(("[A-Z][a-zA-Z]{0,8}", "\\PC{0,12}")),
            reason in shared_reason(),
        ) {
            let object = object.map(|(k, n)| ObjectRef::new(&k, &n));
            let held = Held { pod: pod.clone(), object: object.clone().map(Box::new), reason: reason.clone() };
            let h = serde_json::to_value(&held).unwrap();
            prop_assert_eq!(h.get("pod").and_then(|v| v.as_str()), pod.as_deref());
            prop_assert_eq!(h.get("object").is_some(), object.is_some());
            prop_assert_eq!(&h["reason"], reason.kind());
            let detail = reason.to_string();
            prop_assert_eq!(h["detail"].as_str(), Some(detail.as_str()));
            let a = Action { kind: ActionKind::DeletePod, pod: pod.clone(), revision: None, reason, object };
            let v = serde_json::to_value(&a).unwrap();
            prop_assert_eq!(v.get("pod").and_then(|v| v.as_str()), pod.as_deref());
            prop_assert_eq!(v.get("object").is_some(), a.object.is_some());
            let text = serde_json::to_string(&a).unwrap();
            prop_assert!(text.starts_with(r#"{"action":"DeletePod","pod":"#), "{}", text);
        }
    }
}
