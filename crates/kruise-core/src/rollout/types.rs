//! The Rollout plan's own shape (RO-67 outputs): typed actions on the objects a Rollout
//! touches (the Rollout's status, its BatchRelease, the workload, pods, Services, routes, a
//! shared TrafficRouting), what the release waits for (`held`), the statuses to write and the
//! requeue. Serialized with the same top-level keys and per-action keys as the workload plans
//! (`action`, `pod`, `revision`, `reason`, `detail`), plus `object` naming a non-pod subject.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::gateway::HttpRouteRule;
use kruise_api::rollouts::v1beta1::{BatchReleaseSpec, BatchReleaseStatus, ObjectRef, RolloutStatus};
use serde::Serialize;
use serde::ser::SerializeStruct;

use super::traffic::RouteIntent;

/// A change to the workload (RO-18, RO-19, RO-42, RO-43), kind-independent; see
/// [`WorkloadPatch::to_merge_patch`] for the JSON at the kind's paths.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadPatch {
    /// `Some(Some(p))` sets the partition, `Some(None)` removes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<Option<IntOrString>>,
    /// Sets the update strategy's `paused`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// Sets `spec.replicas` (the canary Deployment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Sets `maxSurge` (blue-green).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrString>,
    /// Annotations to set (`Some`) or remove (`None`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, Option<String>>,
    /// Labels to set (`Some`) or remove (`None`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, Option<String>>,
}

impl WorkloadPatch {
    /// True when the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The JSON merge patch (RFC 7386) for a workload of `kind` / `api_version`
    /// (`apps.kruise.io/v1alpha1` CloneSets keep `partition`/`paused` directly under
    /// `updateStrategy`; v1beta1 kinds under `updateStrategy.rollingUpdate`).
    pub fn to_merge_patch(&self, kind: &str, api_version: &str) -> serde_json::Value {
        use serde_json::{Map, Value, json};
        let mut root = Map::new();
        let mut meta = Map::new();
        let opt = |m: &BTreeMap<String, Option<String>>| -> Value {
            Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))))
                    .collect(),
            )
        };
        if !self.annotations.is_empty() {
            meta.insert("annotations".into(), opt(&self.annotations));
        }
        if !self.labels.is_empty() {
            meta.insert("labels".into(), opt(&self.labels));
        }
        if !meta.is_empty() {
            root.insert("metadata".into(), Value::Object(meta));
        }
        let mut strat = Map::new();
        let ios = |v: &IntOrString| match v {
            IntOrString::Int(i) => json!(i),
            IntOrString::String(s) => json!(s),
        };
        if let Some(p) = &self.partition {
            strat.insert("partition".into(), p.as_ref().map_or(Value::Null, ios));
        }
        if let Some(p) = self.paused {
            strat.insert("paused".into(), json!(p));
        }
        if let Some(s) = &self.max_surge {
            strat.insert("maxSurge".into(), ios(s));
        }
        let mut spec = Map::new();
        if let Some(r) = self.replicas {
            spec.insert("replicas".into(), json!(r));
        }
        if !strat.is_empty() {
            let flat = kind == "CloneSet" && api_version.ends_with("v1alpha1");
            let strategy_key = if kind == "Deployment" { "strategy" } else { "updateStrategy" };
            let value = if flat { Value::Object(strat) } else { json!({ "rollingUpdate": strat }) };
            spec.insert(strategy_key.into(), value);
        }
        if !spec.is_empty() {
            root.insert("spec".into(), Value::Object(spec));
        }
        Value::Object(root)
    }
}

/// The Rollout's own action kinds (RO-67 outputs). Each names its subject in
/// [`Action::object`] (or [`Action::pod`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ActionKind {
    /// Write the Rollout status ([`super::Plan::status`]).
    UpdateRolloutStatus,
    /// Set (`Some`) or remove (`None`) annotations of the Rollout (the RO-36 hash).
    PatchRolloutAnnotations {
        /// The changes.
        annotations: BTreeMap<String, Option<String>>,
    },
    /// Create the BatchRelease (RO-29).
    CreateBatchRelease {
        /// Its spec.
        spec: Box<BatchReleaseSpec>,
        /// Its annotations (`rollback-in-batch`).
        annotations: BTreeMap<String, String>,
    },
    /// Replace the BatchRelease's spec and annotations (RO-29, RO-26, RO-44).
    UpdateBatchRelease {
        /// The new spec.
        spec: Box<BatchReleaseSpec>,
        /// The new annotations.
        annotations: BTreeMap<String, String>,
    },
    /// Write the BatchRelease status ([`super::Plan::batch_release_status`]).
    UpdateBatchReleaseStatus,
    /// Delete the BatchRelease (RO-44 ReleaseWorkloadControl, RO-50).
    DeleteBatchRelease,
    /// Patch the workload (or the canary Deployment).
    PatchWorkload {
        /// The change.
        patch: WorkloadPatch,
    },
    /// Label a pod with its batch (RO-41) or as no-need-update (RO-49).
    PatchPodLabels {
        /// Labels to set.
        labels: BTreeMap<String, String>,
    },
    /// Set (`Some`) or remove (`None`) keys of a Service's selector (RO-57).
    PatchServiceSelector {
        /// The selector changes.
        selector: BTreeMap<String, Option<String>>,
    },
    /// Create the canary Service (RO-57).
    CreateService {
        /// The Service.
        service: Box<Service>,
    },
    /// Delete a Service (the canary Service, RO-44).
    DeleteService,
    /// Replace an HTTPRoute's rules (RO-59).
    SetHttpRouteRules {
        /// The rules.
        rules: Vec<HttpRouteRule>,
    },
    /// Create the canary Ingress (RO-61).
    CreateIngress {
        /// The Ingress.
        ingress: Box<Ingress>,
    },
    /// Set (`Some`) or remove (`None`) annotations of the canary Ingress (RO-61).
    PatchIngressAnnotations {
        /// The changes.
        annotations: BTreeMap<String, Option<String>>,
    },
    /// Delete the canary Ingress (RO-61 restore).
    DeleteIngress,
    /// Apply a route intent to a provider object as data: custom providers (RO-62, through
    /// their Lua script) and every provider of a shared TrafficRouting (RO-64).
    ApplyRouteIntent {
        /// The intent.
        intent: RouteIntent,
    },
    /// Add a finalizer (RO-64: `progressing.rollouts.kruise.io/<rollout>` on the
    /// TrafficRouting).
    AddFinalizer {
        /// The finalizer.
        finalizer: String,
    },
    /// Remove a finalizer.
    RemoveFinalizer {
        /// The finalizer.
        finalizer: String,
    },
}

impl ActionKind {
    /// The PascalCase name printed as `action`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::UpdateRolloutStatus => "UpdateRolloutStatus",
            Self::PatchRolloutAnnotations { .. } => "PatchRolloutAnnotations",
            Self::CreateBatchRelease { .. } => "CreateBatchRelease",
            Self::UpdateBatchRelease { .. } => "UpdateBatchRelease",
            Self::UpdateBatchReleaseStatus => "UpdateBatchReleaseStatus",
            Self::DeleteBatchRelease => "DeleteBatchRelease",
            Self::PatchWorkload { .. } => "PatchWorkload",
            Self::PatchPodLabels { .. } => "PatchPod",
            Self::PatchServiceSelector { .. } => "PatchServiceSelector",
            Self::CreateService { .. } => "CreateService",
            Self::DeleteService => "DeleteService",
            Self::SetHttpRouteRules { .. } => "SetHttpRouteRules",
            Self::CreateIngress { .. } => "CreateIngress",
            Self::PatchIngressAnnotations { .. } => "PatchIngressAnnotations",
            Self::DeleteIngress => "DeleteIngress",
            Self::ApplyRouteIntent { .. } => "ApplyRouteIntent",
            Self::AddFinalizer { .. } => "AddFinalizer",
            Self::RemoveFinalizer { .. } => "RemoveFinalizer",
        }
    }
}

/// One write, with its subject and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    /// What to do.
    pub kind: ActionKind,
    /// `Kind/name` of the subject when it is not a pod.
    pub object: Option<String>,
    /// The pod concerned (pod label patches).
    pub pod: Option<String>,
    /// The revision concerned, if any.
    pub revision: Option<String>,
    /// Why.
    pub reason: Reason,
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Action", 7)?;
        st.serialize_field("action", self.kind.name())?;
        st.serialize_field("pod", &self.pod)?;
        st.serialize_field("revision", &self.revision)?;
        match &self.object {
            Some(o) => st.serialize_field("object", &ObjectName(o))?,
            None => st.skip_field("object")?,
        }
        match &self.kind {
            ActionKind::CreateBatchRelease { spec, annotations }
            | ActionKind::UpdateBatchRelease { spec, annotations } => {
                st.serialize_field("spec", spec)?;
                if !annotations.is_empty() {
                    st.serialize_field("annotations", annotations)?;
                }
            }
            ActionKind::PatchWorkload { patch } => st.serialize_field("patch", patch)?,
            ActionKind::PatchPodLabels { labels } => {
                st.serialize_field("patch", &serde_json::json!({ "metadata": { "labels": labels } }))?
            }
            ActionKind::PatchServiceSelector { selector } => st.serialize_field("selector", selector)?,
            ActionKind::CreateService { service } => st.serialize_field("service", service)?,
            ActionKind::SetHttpRouteRules { rules } => st.serialize_field("rules", rules)?,
            ActionKind::CreateIngress { ingress } => st.serialize_field("ingress", ingress)?,
            ActionKind::PatchIngressAnnotations { annotations }
            | ActionKind::PatchRolloutAnnotations { annotations } => {
                st.serialize_field("annotations", annotations)?
            }
            ActionKind::ApplyRouteIntent { intent } => st.serialize_field("intent", intent)?,
            ActionKind::AddFinalizer { finalizer } | ActionKind::RemoveFinalizer { finalizer } => {
                st.serialize_field("finalizer", finalizer)?
            }
            _ => {}
        }
        st.serialize_field("reason", self.reason.kind())?;
        st.serialize_field("detail", &self.reason.to_string())?;
        st.end()
    }
}

/// Why the Rollout planner did, or waits for, something. The kind is printed as `reason`, the
/// `Display` text as `detail`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// RO-22: a phase change.
    Phase {
        /// From.
        from: String,
        /// To.
        to: String,
    },
    /// The status changed.
    StatusChanged,
    /// The Rollout's own finalizer (cleanup on delete, RO-7, RO-52).
    RolloutFinalizer,
    /// RO-24: waiting before the first step.
    Initializing,
    /// RO-29: the BatchRelease is (re)written for step `step` of `steps`.
    StepUpgrade {
        /// 1-based step.
        step: i32,
        /// Number of steps.
        steps: i32,
    },
    /// RO-26: the observed rollout id is pushed to the BatchRelease.
    SyncRolloutId,
    /// RO-36: the plan fingerprint annotation.
    PlanChanged,
    /// RO-42: the workload is claimed by the BatchRelease.
    Claim,
    /// RO-43: the workload is released.
    Release,
    /// RO-15/RO-18: a batch moves the workload.
    Batch {
        /// 0-based batch.
        batch: i32,
        /// Updated pods planned.
        planned: i32,
        /// Pods kept stable.
        stable: i32,
    },
    /// RO-41: a pod's batch label.
    BatchLabel {
        /// 1-based batch id.
        batch: i32,
    },
    /// RO-49: a pod already on the target of a batch rollback.
    NoNeedUpdate,
    /// RO-28/RO-57: pin the stable Service to the stable revision.
    PinStableService,
    /// RO-57: restore the stable Service selector.
    RestoreStableService,
    /// RO-57: the canary Service.
    CanaryService,
    /// RO-30/RO-58: route traffic for step `step`.
    TrafficStep {
        /// 1-based step.
        step: i32,
    },
    /// RO-44: restore routes to stable.
    RouteTrafficToStable,
    /// RO-44 (blue-green): route all traffic to the new version.
    RouteTrafficToNew,
    /// RO-44: delete the canary Service.
    RemoveCanaryService,
    /// RO-64: the shared TrafficRouting's progressing finalizer.
    SharedTrafficRouting,
    /// RO-50: continuous release reset.
    ContinuousRelease,
    /// RO-44: resume the workload.
    ResumeWorkload,
    /// RO-44: delete the BatchRelease.
    ReleaseWorkloadControl,
    // ---- what the release waits for (held) ----
    /// RO-20: the workload's spec is not observed yet.
    WorkloadInconsistent,
    /// RO-24/RO-63: a grace period is running.
    GracePeriod {
        /// Seconds left.
        remaining: u64,
    },
    /// RO-29/RO-40: the batch is not ready.
    BatchNotReady {
        /// 0-based batch.
        batch: i32,
        /// What is missing.
        why: String,
    },
    /// RO-31: waiting for manual approval.
    ManualApproval {
        /// 1-based step.
        step: i32,
    },
    /// RO-31: waiting for the pause duration.
    PauseDuration {
        /// Seconds left.
        remaining: u64,
    },
    /// RO-35: `spec.strategy.paused`.
    Paused,
    /// RO-38: the BatchRelease status is being refreshed.
    BatchReleaseStatus,
    /// RO-30: routes not yet equal to the intent.
    RoutesNotReady,
    /// A required object is missing.
    Missing {
        /// What.
        what: String,
    },
    /// RO-50 (blue-green): a new version during a blue-green release is refused.
    Refused,
    /// RO-45: finalising item in progress.
    Finalising {
        /// The item.
        item: String,
    },
}

impl Reason {
    /// The PascalCase kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Phase { .. } => "Phase",
            Self::StatusChanged => "StatusChanged",
            Self::RolloutFinalizer => "RolloutFinalizer",
            Self::Initializing => "Initializing",
            Self::StepUpgrade { .. } => "StepUpgrade",
            Self::SyncRolloutId => "SyncRolloutId",
            Self::PlanChanged => "PlanChanged",
            Self::Claim => "Claim",
            Self::Release => "Release",
            Self::Batch { .. } => "Batch",
            Self::BatchLabel { .. } => "BatchLabel",
            Self::NoNeedUpdate => "NoNeedUpdate",
            Self::PinStableService => "PinStableService",
            Self::RestoreStableService => "RestoreStableService",
            Self::CanaryService => "CanaryService",
            Self::TrafficStep { .. } => "TrafficStep",
            Self::RouteTrafficToStable => "RouteTrafficToStable",
            Self::RouteTrafficToNew => "RouteTrafficToNew",
            Self::RemoveCanaryService => "RemoveCanaryService",
            Self::SharedTrafficRouting => "SharedTrafficRouting",
            Self::ContinuousRelease => "ContinuousRelease",
            Self::ResumeWorkload => "ResumeWorkload",
            Self::ReleaseWorkloadControl => "ReleaseWorkloadControl",
            Self::WorkloadInconsistent => "WorkloadInconsistent",
            Self::GracePeriod { .. } => "GracePeriod",
            Self::BatchNotReady { .. } => "BatchNotReady",
            Self::ManualApproval { .. } => "ManualApproval",
            Self::PauseDuration { .. } => "PauseDuration",
            Self::Paused => "Paused",
            Self::BatchReleaseStatus => "BatchReleaseStatus",
            Self::RoutesNotReady => "RoutesNotReady",
            Self::Missing { .. } => "Missing",
            Self::Refused => "Refused",
            Self::Finalising { .. } => "Finalising",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Phase { from, to } => write!(f, "{from} -> {to}"),
            Self::StepUpgrade { step, steps } => write!(f, "step {step}/{steps}"),
            Self::Batch { batch, planned, stable } => {
                write!(f, "batch {batch}: {planned} updated, {stable} stable")
            }
            Self::BatchLabel { batch } => write!(f, "batch {batch}"),
            Self::TrafficStep { step } => write!(f, "step {step}"),
            Self::GracePeriod { remaining } => write!(f, "{remaining}s left"),
            Self::BatchNotReady { batch, why } => write!(f, "batch {batch}: {why}"),
            Self::ManualApproval { step } => write!(f, "step {step} needs approval"),
            Self::PauseDuration { remaining } => write!(f, "{remaining}s left"),
            Self::Missing { what } => write!(f, "{what}"),
            Self::Finalising { item } => write!(f, "{item}"),
            _ => Ok(()),
        }
    }
}

/// Something the release waits for, and on what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// `Kind/name` of the subject.
    pub object: String,
    /// Why.
    pub reason: Reason,
}

impl Serialize for Held {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Held", 3)?;
        st.serialize_field("object", &ObjectName(&self.object))?;
        st.serialize_field("reason", self.reason.kind())?;
        st.serialize_field("detail", &self.reason.to_string())?;
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

/// One reconcile of a Rollout (Rollout controller pass plus BatchRelease controller pass).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Writes, in order.
    pub actions: Vec<Action>,
    /// What the release waits for.
    pub held: Vec<Held>,
    /// The Rollout status to write (written when an `UpdateRolloutStatus` action is present).
    pub status: RolloutStatus,
    /// The BatchRelease status to write (with `UpdateBatchReleaseStatus`).
    pub batch_release_status: Option<BatchReleaseStatus>,
    /// When to look again even if nothing changes (the smallest candidate).
    pub requeue: Option<Requeue>,
}

impl Plan {
    /// Offers a requeue candidate; the plan keeps the smallest positive one.
    pub fn requeue_at_most(&mut self, after: Duration, reason: Reason) {
        if after.is_zero() {
            return;
        }
        if self.requeue.as_ref().is_none_or(|r| after < r.after) {
            self.requeue = Some(Requeue { after, reason });
        }
    }
    /// Number of actions named `kind` (`"PatchWorkload"`, ...).
    pub fn count(&self, kind: &str) -> usize {
        self.actions.iter().filter(|a| a.kind.name() == kind).count()
    }
    /// The actions on `object`.
    pub fn on<'a>(&'a self, object: &'a str) -> impl Iterator<Item = &'a Action> + 'a {
        self.actions.iter().filter(move |a| a.object.as_deref() == Some(object))
    }
    pub(crate) fn push(&mut self, kind: ActionKind, object: impl Into<String>, reason: Reason) {
        self.actions.push(Action { kind, object: Some(object.into()), pod: None, revision: None, reason });
    }
    pub(crate) fn hold(&mut self, object: impl Into<String>, reason: Reason) {
        self.held.push(Held { object: object.into(), reason });
    }
}

impl Serialize for Plan {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Plan", 6)?;
        st.serialize_field("actions", &self.actions)?;
        st.serialize_field("held", &self.held)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("batchReleaseStatus", &self.batch_release_status)?;
        st.serialize_field("requeueAfterSeconds", &self.requeue.as_ref().map(|r| r.after.as_secs()))?;
        st.serialize_field("requeueReason", &self.requeue.as_ref().map(|r| r.reason.kind()))?;
        st.end()
    }
}

/// A `Kind/name` subject, serialized as `{"kind": .., "name": ..}` (the shape every plan
/// uses for a subject that is not a pod).
struct ObjectName<'a>(&'a str);

impl Serialize for ObjectName<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (kind, name) = self.0.split_once('/').unwrap_or(("", self.0));
        let mut st = s.serialize_struct("ObjectRef", 2)?;
        st.serialize_field("kind", kind)?;
        st.serialize_field("name", name)?;
        st.end()
    }
}

/// `Kind/name` of an [`ObjectRef`].
pub fn subject_of(r: &ObjectRef) -> String {
    format!("{}/{}", r.kind, r.name)
}
