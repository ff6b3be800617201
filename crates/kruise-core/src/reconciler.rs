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

/// What an adapter observed for one workload: the workload and the objects it owns or reads.
///
/// Build it with [`World::new`] and the `with_*` methods, so that a field added later does
/// not break every adapter:
///
/// ```
/// # use kruise_core::reconciler::World;
/// let related = [serde_json::json!({"apiVersion": "v1", "kind": "Service"})];
/// let world = World::new(&()).with_related(&related);
/// assert!(world.pods.is_empty());
/// assert_eq!(world.related.len(), 1);
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
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
    /// Other objects the plan reads, as stored JSON (`apiVersion`, `kind`, `metadata`, ...),
    /// of the kinds [`Reconciler::related_kinds`] names: for a Rollout the workload it
    /// releases, its BatchRelease, Services, HTTPRoutes, Ingresses and a shared
    /// TrafficRouting. The reconciler decodes what it needs (errors name the item).
    pub related: &'a [serde_json::Value],
}

impl<'a, W> World<'a, W> {
    /// The workload alone: every list empty.
    pub fn new(workload: &'a W) -> Self {
        Self { workload, pods: &[], pvcs: &[], revisions: &[], nodes: &[], related: &[] }
    }
    /// With these pods.
    pub fn with_pods(self, pods: &'a [Pod]) -> Self {
        Self { pods, ..self }
    }
    /// With these PVCs.
    pub fn with_pvcs(self, pvcs: &'a [PersistentVolumeClaim]) -> Self {
        Self { pvcs, ..self }
    }
    /// With these ControllerRevisions.
    pub fn with_revisions(self, revisions: &'a [ControllerRevision]) -> Self {
        Self { revisions, ..self }
    }
    /// With these nodes.
    pub fn with_nodes(self, nodes: &'a [Node]) -> Self {
        Self { nodes, ..self }
    }
    /// With these related objects (stored JSON).
    pub fn with_related(self, related: &'a [serde_json::Value]) -> Self {
        Self { related, ..self }
    }
    /// The same observation over another view of the workload (a version converted to the
    /// hub, say).
    pub fn for_workload<'b, V>(&self, workload: &'b V) -> World<'b, V>
    where
        'a: 'b,
    {
        World {
            workload,
            pods: self.pods,
            pvcs: self.pvcs,
            revisions: self.revisions,
            nodes: self.nodes,
            related: self.related,
        }
    }
}

/// A kind of object a reconciler reads besides the workload and what it owns
/// ([`World::related`]): what an adapter watches (and needs RBAC for) and hands over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelatedKind {
    /// API group (`""` for the core group).
    pub group: &'static str,
    /// API version (`v1`, `v1beta1`).
    pub version: &'static str,
    /// Kind (`Service`).
    pub kind: &'static str,
    /// Resource plural (`services`), as RBAC rules and URLs name it.
    pub plural: &'static str,
    /// Namespaced (objects in the workload's namespace are handed over) or cluster-scoped.
    pub namespaced: bool,
}

impl RelatedKind {
    /// `group/version` (`v1` for the core group).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
    /// True when `obj` (stored JSON) is of this kind: same group and kind (any version).
    pub fn matches(&self, obj: &serde_json::Value) -> bool {
        let api_version = obj.get("apiVersion").and_then(serde_json::Value::as_str).unwrap_or_default();
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        obj.get("kind").and_then(serde_json::Value::as_str) == Some(self.kind) && group == self.group
    }
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

    /// The kinds of objects this reconciler reads besides the workload and what it owns: an
    /// adapter watches them and hands them over in [`World::related`]. None by default.
    fn related_kinds(&self) -> &'static [RelatedKind] {
        &[]
    }
}
