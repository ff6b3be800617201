//! Rollout's own actions and reasons (RO-n), nested in [`ActionKind::Rollout`](super::ActionKind::Rollout)
//! and [`Reason::Rollout`](super::Reason::Rollout): writes to the objects a Rollout touches
//! (its BatchRelease, the workload, Services, routes, a shared TrafficRouting) and what a
//! release waits for. Shared meanings use the shared variants: the Rollout status write is
//! [`ActionKind::UpdateStatus`](super::ActionKind::UpdateStatus), a pod's batch label
//! [`ActionKind::PatchPod`](super::ActionKind::PatchPod); grace periods, `paused`, claims and
//! status changes are [`Reason::GracePeriod`](super::Reason::GracePeriod),
//! [`Reason::Paused`](super::Reason::Paused), [`Reason::Claim`](super::Reason::Claim),
//! [`Reason::StatusChanged`](super::Reason::StatusChanged). The subject of every action is
//! in [`Action::object`](super::Action::object).

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::Ingress;
use kruise_api::gateway::HttpRouteRule;
use kruise_api::rollouts::v1beta1::{BatchReleaseSpec, BatchReleaseStatus};
use serde::Serialize;
use serde::ser::SerializeStruct;

use super::{WorkloadAction, WorkloadReason};
use crate::rollout::traffic::RouteIntent;
use crate::rollout::types::{Obj, WorkloadPatch};

/// The Rollout's own action kinds (RO-67 outputs). Each names its subject in
/// [`Action::object`] (or [`Action::pod`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RolloutAction {
    /// Set (`Some`) or remove (`None`) annotations of the Rollout (the RO-36 hash).
    PatchRolloutAnnotations {
        /// The changes.
        annotations: BTreeMap<String, Option<String>>,
    },
    /// Create the BatchRelease (RO-29).
    CreateBatchRelease {
        /// Its spec.
        spec: Obj<BatchReleaseSpec>,
        /// Its annotations (`rollback-in-batch`).
        annotations: BTreeMap<String, String>,
    },
    /// Replace the BatchRelease's spec and annotations (RO-29, RO-26, RO-44).
    UpdateBatchRelease {
        /// The new spec.
        spec: Obj<BatchReleaseSpec>,
        /// The new annotations.
        annotations: BTreeMap<String, String>,
    },
    /// Write the BatchRelease status (the BatchRelease controller's pass, RO-37..RO-39).
    UpdateBatchReleaseStatus {
        /// The status.
        status: Obj<BatchReleaseStatus>,
    },
    /// Delete the BatchRelease (RO-44 ReleaseWorkloadControl, RO-50).
    DeleteBatchRelease,
    /// Create the canary Deployment of a canary-style release (RO-42): a copy of the stable
    /// Deployment's spec, 0 replicas, owned by the BatchRelease.
    CreateDeployment {
        /// The Deployment.
        deployment: Obj<Deployment>,
    },
    /// Delete the canary Deployment (RO-43, after its finalizer is removed).
    DeleteDeployment,
    /// Patch the workload (or the canary Deployment).
    PatchWorkload {
        /// The change.
        patch: Obj<WorkloadPatch>,
    },
    /// Point an HPA's `spec.scaleTargetRef` at `name` (blue-green disables the HPA by a
    /// suffixed name and restores it, RO-42/RO-43).
    SetScaleTargetRef {
        /// `apiVersion` of the target.
        api_version: String,
        /// `kind` of the target.
        kind: String,
        /// The new target name.
        name: String,
    },
    /// Set (`Some`) or remove (`None`) keys of a Service's selector (RO-57).
    PatchServiceSelector {
        /// The selector changes.
        selector: BTreeMap<String, Option<String>>,
    },
    /// Create the canary Service (RO-57).
    CreateService {
        /// The Service.
        service: Obj<Service>,
    },
    /// Delete a Service (the canary Service, RO-44).
    DeleteService,
    /// Replace an HTTPRoute's rules (RO-59).
    SetHttpRouteRules {
        /// The rules.
        rules: Obj<Vec<HttpRouteRule>>,
    },
    /// Create the canary Ingress (RO-61).
    CreateIngress {
        /// The Ingress.
        ingress: Obj<Ingress>,
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
        intent: Obj<RouteIntent>,
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
    /// RO-63: record this pass's traffic writes on the reconciled object (an annotation), so
    /// the grace period after each is still known to a restarted controller. Added by the
    /// reconciler after the plan's own actions, when they wrote traffic.
    RecordTrafficWrites,
}

impl WorkloadAction for RolloutAction {
    fn name(&self) -> &'static str {
        match self {
            Self::PatchRolloutAnnotations { .. } => "PatchRolloutAnnotations",
            Self::CreateBatchRelease { .. } => "CreateBatchRelease",
            Self::UpdateBatchRelease { .. } => "UpdateBatchRelease",
            Self::UpdateBatchReleaseStatus { .. } => "UpdateBatchReleaseStatus",
            Self::DeleteBatchRelease => "DeleteBatchRelease",
            Self::CreateDeployment { .. } => "CreateDeployment",
            Self::DeleteDeployment => "DeleteDeployment",
            Self::PatchWorkload { .. } => "PatchWorkload",
            Self::SetScaleTargetRef { .. } => "SetScaleTargetRef",
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
            Self::RecordTrafficWrites => "RecordTrafficWrites",
        }
    }

    fn serialize_fields<S: SerializeStruct>(&self, st: &mut S) -> Result<(), S::Error> {
        match self {
            Self::CreateBatchRelease { spec, annotations }
            | Self::UpdateBatchRelease { spec, annotations } => {
                st.serialize_field("spec", spec)?;
                if !annotations.is_empty() {
                    st.serialize_field("annotations", annotations)?;
                }
            }
            Self::UpdateBatchReleaseStatus { status } => st.serialize_field("batchReleaseStatus", status)?,
            Self::PatchWorkload { patch } => st.serialize_field("patch", patch)?,
            Self::CreateDeployment { deployment } => st.serialize_field("deployment", deployment)?,
            Self::PatchServiceSelector { selector } => st.serialize_field("selector", selector)?,
            Self::SetScaleTargetRef { api_version, kind, name } => st.serialize_field(
                "scaleTargetRef",
                &serde_json::json!({"apiVersion": api_version, "kind": kind, "name": name}),
            )?,
            Self::CreateService { service } => st.serialize_field("service", service)?,
            Self::SetHttpRouteRules { rules } => st.serialize_field("rules", rules)?,
            Self::CreateIngress { ingress } => st.serialize_field("ingress", ingress)?,
            Self::PatchIngressAnnotations { annotations } | Self::PatchRolloutAnnotations { annotations } => {
                st.serialize_field("annotations", annotations)?
            }
            Self::ApplyRouteIntent { intent } => st.serialize_field("intent", intent)?,
            Self::AddFinalizer { finalizer } | Self::RemoveFinalizer { finalizer } => {
                st.serialize_field("finalizer", finalizer)?
            }
            Self::DeleteBatchRelease
            | Self::DeleteDeployment
            | Self::DeleteService
            | Self::DeleteIngress
            | Self::RecordTrafficWrites => {}
        }
        Ok(())
    }
}
/// Why the Rollout planner did, or waits for, something. The kind is printed as `reason`, the
/// `Display` text as `detail`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum RolloutReason {
    /// RO-22: a phase change.
    Phase {
        /// From.
        from: String,
        /// To.
        to: String,
    },
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
    /// RO-42/RO-43: blue-green disables (claim) or restores (release) the workload's HPA.
    Hpa,
    /// RO-42: the canary Deployment of a canary-style release is created.
    CanaryDeployment,
    /// RO-42/RO-43: blue-green saves (claim) or restores (release) the workload's original
    /// maxSurge / maxUnavailable / minReadySeconds / progressDeadlineSeconds.
    OriginalStrategy,
    // ---- what the release waits for (held) ----
    /// RO-20: the workload's spec is not observed yet.
    WorkloadInconsistent,
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

impl WorkloadReason for RolloutReason {
    fn kind(&self) -> &'static str {
        match self {
            Self::Phase { .. } => "Phase",
            Self::RolloutFinalizer => "RolloutFinalizer",
            Self::Initializing => "Initializing",
            Self::StepUpgrade { .. } => "StepUpgrade",
            Self::SyncRolloutId => "SyncRolloutId",
            Self::PlanChanged => "PlanChanged",
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
            Self::Hpa => "Hpa",
            Self::CanaryDeployment => "CanaryDeployment",
            Self::OriginalStrategy => "OriginalStrategy",
            Self::WorkloadInconsistent => "WorkloadInconsistent",
            Self::BatchNotReady { .. } => "BatchNotReady",
            Self::ManualApproval { .. } => "ManualApproval",
            Self::PauseDuration { .. } => "PauseDuration",
            Self::BatchReleaseStatus => "BatchReleaseStatus",
            Self::RoutesNotReady => "RoutesNotReady",
            Self::Missing { .. } => "Missing",
            Self::Refused => "Refused",
            Self::Finalising { .. } => "Finalising",
        }
    }
}

impl fmt::Display for RolloutReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Phase { from, to } => write!(f, "{from} -> {to}"),
            Self::StepUpgrade { step, steps } => write!(f, "step {step}/{steps}"),
            Self::Batch { batch, planned, stable } => {
                write!(f, "batch {batch}: {planned} updated, {stable} stable")
            }
            Self::BatchLabel { batch } => write!(f, "batch {batch}"),
            Self::TrafficStep { step } => write!(f, "step {step}"),
            Self::BatchNotReady { batch, why } => write!(f, "batch {batch}: {why}"),
            Self::ManualApproval { step } => write!(f, "step {step} needs approval"),
            Self::PauseDuration { remaining } => write!(f, "{remaining}s left"),
            Self::Missing { what } => write!(f, "{what}"),
            Self::Finalising { item } => write!(f, "{item}"),
            _ => Ok(()),
        }
    }
}

impl From<RolloutReason> for super::Reason {
    fn from(r: RolloutReason) -> Self {
        super::Reason::Rollout(r)
    }
}
