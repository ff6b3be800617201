//! The CloneSet planner's input (CS-89).

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim};
use kruise_api::apps::v1beta1::CloneSet;

use crate::availability::PubDecisions;
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
    /// CS-63: the PodUnavailableBudget decisions the adapter made for this reconcile, by pod
    /// name, consulted before each pod update when gate `PodUnavailableBudgetUpdateGate` is
    /// on. A pod without an entry (and every pod, for `None`) may be updated.
    pub pub_decisions: Option<&'a PubDecisions>,
}
