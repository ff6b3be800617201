//! The CloneSet planner's input (CS-89) and the PodUnavailableBudget decision (CS-63).

use std::fmt;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use kruise_api::apps::v1beta1::CloneSet;

use crate::expectations::Expectations;
use crate::features::Features;

/// Everything the CloneSet planner may look at (CS-89).
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The CloneSet as stored, in the v1beta1 shape with webhook defaults applied.
    pub cloneset: &'a CloneSet,
    /// Pods with an owner reference to the CloneSet (active and inactive), plus orphans that
    /// match its selector (candidates for adoption): a slice (`(&pods).into()`) or a
    /// [`PodTable`](super::PodTable) kept up to date by the adapter (`(&table).into()`), which
    /// makes a plan read one compact row per pod instead of each `Pod`'s scattered fields.
    pub pods: super::Pods<'a>,
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
