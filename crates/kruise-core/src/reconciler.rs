//! The one face every workload planner shows to adapters. The simulator and the kube adapter
//! run any [`Reconciler`] the same way: gather a [`World`], call
//! [`Reconciler::reconcile`], carry out the [`Outcome`]'s writes in order, record
//! expectations, requeue. No per-workload adapter code.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim};
use serde::Serialize;
use serde::ser::SerializeStruct;

use crate::expectations::Expectations;
use crate::features::Features;
use crate::plan::{Action, Held, Plan, Reason, Requeue};
use crate::podtable::Pods;
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
    /// Pods owned by (or matching, for adoption) the workload, terminating ones included: a
    /// slice, or the [`PodTable`](crate::podtable::PodTable) an adapter keeps (read them with
    /// [`Pods::iter`], [`Pods::len`], [`Pods::get`]; a planner that needs a slice calls
    /// [`Pods::to_slice`], which borrows a slice and collects a table once).
    pub pods: Pods<'a>,
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
        Self { workload, pods: Pods::Slice(&[]), pvcs: &[], revisions: &[], nodes: &[], related: &[] }
    }
    /// With these pods (a slice, a `Vec`, or a [`PodTable`](crate::podtable::PodTable)).
    pub fn with_pods(self, pods: impl Into<Pods<'a>>) -> Self {
        Self { pods: pods.into(), ..self }
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

/// One write with the typed decision behind it: the plan's [`Action`] (kind, pod, revision,
/// reason) and the [`ApiWrite`] that carries it out. An action may need several writes (an
/// in-place update writes the pod's condition, then the pod); each carries the action.
///
/// Serializes as `{"action": <kind name>, "pod": .., "reason": <reason kind>, "detail":
/// <numbers>, "write": ..}`, the shape `kruise simulate` and the adapters' logs print.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedWrite {
    /// The decision.
    pub action: Action,
    /// The API write to carry out.
    pub write: ApiWrite,
}

impl PlannedWrite {
    /// The action kind's name (`CreatePod`, `DeletePod`, `UpdateInPlace`, `PatchPod`, ...).
    pub fn name(&self) -> &'static str {
        self.action.kind.name()
    }
    /// The pod concerned, if any.
    pub fn pod(&self) -> Option<&str> {
        self.action.pod.as_deref()
    }
    /// The reason.
    pub fn reason(&self) -> &Reason {
        &self.action.reason
    }
    /// The numbers behind the reason (its `Display` text).
    pub fn detail(&self) -> String {
        self.action.reason.to_string()
    }
}

impl Serialize for PlannedWrite {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("PlannedWrite", 5)?;
        st.serialize_field("action", self.name())?;
        st.serialize_field("pod", &self.action.pod)?;
        st.serialize_field("reason", self.action.reason.kind())?;
        st.serialize_field("detail", &self.detail())?;
        st.serialize_field("write", &self.write)?;
        st.end()
    }
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
    /// Pods (or other subjects) left alone, with reasons.
    pub held: Vec<Held>,
    /// Events to emit.
    pub events: Vec<WorkloadEvent>,
    /// When to reconcile again even if nothing changes, and why.
    #[serde(serialize_with = "requeue_pair")]
    pub requeue_after: Option<Requeue>,
}

/// The requeue as `[{"secs", "nanos"}, "<reason kind>"]`, the shape it always had.
fn requeue_pair<S: serde::Serializer>(r: &Option<Requeue>, s: S) -> Result<S::Ok, S::Error> {
    r.as_ref().map(|r| (r.after, r.reason.kind())).serialize(s)
}

impl Outcome {
    /// The outcome of `plan`: each action turned into its writes by `m`, in order; the held
    /// entries and the requeue as planned; events from `m`. Fails, naming the action, if an
    /// action cannot be turned into writes: nothing is skipped silently.
    pub fn from_plan<S>(plan: &Plan<S>, m: &mut impl Materialise) -> Result<Self, WriteError> {
        let mut writes = Vec::with_capacity(plan.actions.len());
        let mut buf = Vec::new();
        let mut events = Vec::new();
        for a in &plan.actions {
            m.writes(a, &mut buf)?;
            writes.extend(buf.drain(..).map(|write| PlannedWrite { action: a.clone(), write }));
            events.extend(m.action_event(a));
        }
        events.extend(plan.events.iter().filter_map(|r| m.plan_event(r)));
        Ok(Self { writes, held: plan.held.clone(), events, requeue_after: plan.requeue.clone() })
    }

    /// Seconds until the requeue and its reason kind, if any.
    pub fn requeue(&self) -> Option<(Duration, &'static str)> {
        self.requeue_after.as_ref().map(|r| (r.after, r.reason.kind()))
    }
}

/// How one workload's actions become API writes: the only per-workload code between a plan
/// and the adapters. [`Outcome::from_plan`] drives it.
pub trait Materialise {
    /// Appends the writes that carry out `action`, in order, or says why it cannot.
    fn writes(&mut self, action: &Action, out: &mut Vec<ApiWrite>) -> Result<(), WriteError>;
    /// The event a successful `action` announces, if any.
    fn action_event(&self, action: &Action) -> Option<WorkloadEvent> {
        let _ = action;
        None
    }
    /// The event a plan-level warning (`plan.events`) announces, if any.
    fn plan_event(&self, reason: &Reason) -> Option<WorkloadEvent> {
        let _ = reason;
        None
    }
}

/// An action of a plan that cannot be turned into API writes (a planner bug, or input the
/// planner accepted but the writes cannot be built from). Names the action and its subject.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot build the write of {action} {subject}: {message}")]
pub struct WriteError {
    /// The action kind (`UpdateInPlace`, ...).
    pub action: &'static str,
    /// The pod, revision or object it concerns (`pod web-a`, `revision web-123`, ...).
    pub subject: String,
    /// What is missing.
    pub message: String,
}

impl WriteError {
    /// The error for `action`.
    pub fn new(action: &Action, message: impl Into<String>) -> Self {
        let subject = match (&action.pod, &action.revision, &action.object) {
            (Some(p), _, _) => format!("pod {p}"),
            (None, _, Some(o)) => format!("{} {}", o.kind, o.name),
            (None, Some(r), None) => format!("revision {r}"),
            (None, None, None) => "of the workload".to_owned(),
        };
        Self { action: action.kind.name(), subject, message: message.into() }
    }
}

impl From<WriteError> for ReconcileError {
    fn from(e: WriteError) -> Self {
        ReconcileError(Box::new(e))
    }
}

/// Why a reconcile could not produce a plan: the input is unusable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReconcileError(pub Box<dyn std::error::Error + Send + Sync + 'static>);

/// Which pods an adapter hands a workload kind in [`World::pods`]: most kinds read the pods
/// they own; two read pods they do not own, by label selector. Declared once here, by kind,
/// for every adapter (the kube adapter, the simulator).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodReads {
    /// The pods with a controller owner reference to the workload, in its namespace (every
    /// pod-owning kind, CS-24).
    Owned,
    /// The pods `spec.selector` matches in every namespace (SidecarSet, SCS-40); the planner
    /// applies `namespaceSelector` itself.
    SelectorEverywhere,
    /// The pods `spec.podSelector` matches in the workload's namespace (ImagePullJob,
    /// IPJ-12); none without a `podSelector`.
    PodSelectorInNamespace,
}

impl PodReads {
    /// The rule of the kind `kind` of API group `group` (any kind but the two above reads
    /// owned pods).
    pub fn of(group: &str, kind: &str) -> Self {
        match (group, kind) {
            ("apps.kruise.io", "SidecarSet") => PodReads::SelectorEverywhere,
            ("apps.kruise.io", "ImagePullJob") => PodReads::PodSelectorInNamespace,
            _ => PodReads::Owned,
        }
    }

    /// The rule of the resource type `W` (any API version).
    pub fn of_resource<W: k8s_openapi::Resource>() -> Self {
        Self::of(W::GROUP, W::KIND)
    }
}

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

#[cfg(test)]
mod tests {
    use super::PodReads;
    use kruise_api::apps::{v1alpha1, v1beta1};

    /// SCS-40 and IPJ-12: the two kinds that read pods they do not own say so in every API
    /// version they are served at; every other kind reads the pods it owns (CS-24).
    #[test]
    fn pod_reads_are_declared_per_kind_for_every_version() {
        assert_eq!(PodReads::of_resource::<v1alpha1::SidecarSet>(), PodReads::SelectorEverywhere);
        assert_eq!(PodReads::of_resource::<v1beta1::SidecarSet>(), PodReads::SelectorEverywhere);
        assert_eq!(PodReads::of_resource::<v1alpha1::ImagePullJob>(), PodReads::PodSelectorInNamespace);
        assert_eq!(PodReads::of_resource::<v1beta1::ImagePullJob>(), PodReads::PodSelectorInNamespace);
        assert_eq!(PodReads::of_resource::<v1beta1::CloneSet>(), PodReads::Owned);
        assert_eq!(PodReads::of_resource::<v1beta1::BroadcastJob>(), PodReads::Owned);
        assert_eq!(PodReads::of("apps", "SidecarSet"), PodReads::Owned, "another group's kind");
    }
}
