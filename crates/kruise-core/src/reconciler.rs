//! The one face every workload planner shows to adapters. The simulator and the kube adapter
//! run any [`Reconciler`] the same way: gather a [`World`], call
//! [`Reconciler::reconcile`], carry out the [`Outcome`]'s writes in order, record
//! expectations, requeue. No per-workload adapter code.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use serde::Serialize;

use crate::expectations::Expectations;
use crate::features::Features;
use crate::write::ApiWrite;

/// What an adapter observed for one workload: the workload and the objects it owns.
#[derive(Clone, Copy, Debug)]
pub struct World<'a, W> {
    /// The workload as stored (any API version the reconciler accepts; defaults applied).
    pub workload: &'a W,
    /// Pods owned by (or matching, for adoption) the workload, terminating ones included.
    pub pods: &'a [Pod],
    /// PVCs owned by the workload.
    pub pvcs: &'a [PersistentVolumeClaim],
    /// ControllerRevisions owned by the workload (or matching its selector with no owner).
    pub revisions: &'a [ControllerRevision],
    /// Nodes (for node-targeting workloads and topology spread); may be empty otherwise.
    pub nodes: &'a [Node],
}

/// Everything else a reconcile may look at: the clock, the id seed, gates and expectations.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The only clock.
    pub now: Timestamp,
    /// The only randomness: new object names derive from it.
    pub id_seed: u64,
    /// Feature gates.
    pub features: Features,
    /// Writes not yet seen in the cache.
    pub expectations: &'a Expectations,
}

/// One write with the decision behind it, as a user reads it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlannedWrite {
    /// The action kind (`CreatePod`, `DeletePod`, `UpdateInPlace`, `PatchPod`, ...).
    pub action: String,
    /// The pod concerned, if any.
    pub pod: Option<String>,
    /// The reason kind (`ScaleUp`, `PodsToDelete`, `Update`, ...).
    pub reason: String,
    /// The numbers behind the reason.
    pub detail: String,
    /// The API write to carry out.
    pub write: ApiWrite,
}

/// A pod deliberately left alone this round, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldPod {
    /// The pod.
    pub pod: String,
    /// The reason kind (`Partition`, `MaxUnavailable`, `MinReadySeconds`, `Paused`, ...).
    pub reason: String,
    /// The numbers behind the reason.
    pub detail: String,
}

/// An event for the workload (`SuccessfulCreate`, `ScaleUpLimited`, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadEvent {
    /// `Normal` or `Warning`.
    pub type_: String,
    /// Machine-readable reason.
    pub reason: String,
    /// Message.
    pub message: String,
}

/// The result of one reconcile, in adapter terms.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// Writes, in the order they must be carried out.
    pub writes: Vec<PlannedWrite>,
    /// Pods left alone, with reasons.
    pub held: Vec<HeldPod>,
    /// Events to emit.
    pub events: Vec<WorkloadEvent>,
    /// When to reconcile again even if nothing changes, and why.
    pub requeue_after: Option<(Duration, String)>,
}

/// Why a reconcile could not produce a plan: the input is unusable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReconcileError(pub Box<dyn std::error::Error + Send + Sync + 'static>);

/// A workload planner as adapters see it.
pub trait Reconciler {
    /// The workload type this reconciler plans for.
    type Workload: kruise_api::KruiseResource;
    /// Computes the writes for one reconcile. Pure: same inputs, same outcome.
    fn reconcile(
        &self,
        world: &World<'_, Self::Workload>,
        ctx: &Context<'_>,
    ) -> Result<Outcome, ReconcileError>;
}
