//! The Kruise Rollouts planner (RO-1..RO-67): one pure function from a Rollout (v1beta1 hub;
//! convert v1alpha1 first, RO-5), the workload it releases, that workload's pods, the
//! BatchRelease, the traffic objects and `now` to the writes of one reconcile.
//!
//! One call runs what upstream splits over controllers, each on the *observed* objects:
//! 1. the Rollout controller ([`progressing`]): phase (RO-22), progressing reasons (RO-23..25),
//!    the step machine (RO-26..36), finalising (RO-44..53), traffic intents ([`traffic`],
//!    RO-56..63), the shared TrafficRouting protocol (RO-64..66);
//! 2. the BatchRelease controller ([`batch_release`]): claim, batches, readiness, pod labels,
//!    release (RO-37..43, RO-49), with the arithmetic of [`batch`] (RO-13..18, RO-40, RO-41).
//!
//! Writes of step 1 are seen by step 2 on the next call (upstream's controllers also see each
//! other's writes only through the API server; docs/deviations.md, Rollout Q9).
//!
//! Module map: [`admission`] (RO-19), [`batch`] (numbers), [`workload`] (RO-20 facts), [`batch_release`],
//! [`traffic`], [`progressing`], [`trafficrouting`] (the shared TrafficRouting's own pass),
//! [`types`] (the plan), [`reconcile`] (the planner as adapters drive it: related objects in,
//! guarded writes out).

pub mod admission;
pub mod batch;
pub mod batch_release;
pub mod progressing;
pub mod reconcile;
pub mod traffic;
pub mod trafficrouting;
pub mod types;
pub mod v1alpha1;
pub mod workload;

/// A test world for the planner (test builders; behind the `fixtures` feature).
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
#[cfg(test)]
mod tests;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::rollouts::v1beta1::{BatchRelease, Rollout};
use kruise_api::validation::Validate;

pub use crate::plan::PlanError;
pub use crate::plan::{Action, ActionKind, Held, Reason, Requeue};
pub use reconcile::{RolloutReconciler, TrafficRoutingReconciler};
pub use traffic::{RouteIntent, TrafficObservation, TrafficWrite};
pub use types::{Plan, PlanExt, RolloutAction, RolloutReason, WorkloadPatch};
pub use v1alpha1::RolloutV1Alpha1Reconciler;
pub use workload::{Workload, WorkloadKind};

/// Controller configuration and feature gates (RO-67).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// `partition-percent-limit` (RO-9.4), default 50.
    pub partition_percent_limit: i32,
    /// Feature gate `KeepWorkloadPausedOnRolloutDeletion` (RO-43), default off.
    pub keep_workload_paused_on_rollout_deletion: bool,
    /// Feature gate `AppendPodSelector` (RO-57), default off.
    pub append_pod_selector: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            partition_percent_limit: 50,
            keep_workload_paused_on_rollout_deletion: false,
            append_pod_selector: false,
        }
    }
}

/// Everything one Rollout reconcile may look at (RO-67).
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The Rollout (v1beta1 shape, defaulted), status included.
    pub rollout: &'a Rollout,
    /// The workload it releases; `None` when not found.
    pub workload: Option<&'a Workload>,
    /// The workload's pods, terminating ones included.
    pub pods: &'a [Pod],
    /// The BatchRelease named like the Rollout, if it exists.
    pub batch_release: Option<&'a BatchRelease>,
    /// Services, routes, the shared TrafficRouting and recent traffic writes.
    pub traffic: TrafficObservation<'a>,
    /// The only clock.
    pub now: Timestamp,
    /// Flags and gates.
    pub config: Config,
}

/// The fingerprint function of the planner (RO-36, RO-38; only equality is observed, Q6).
pub(crate) fn hash32(bytes: &[u8]) -> u32 {
    crate::hash::fnv32a(&[bytes])
}

/// Plans one reconcile of a Rollout. Never panics; an unusable spec is a
/// [`PlanError::InvalidSpec`] naming the field (RO-9).
pub fn plan(input: &Input<'_>) -> Result<Plan, PlanError> {
    let r = input.rollout;
    if r.metadata.deletion_timestamp.is_none()
        && let Err(errs) = r.validate()
        && let Some(e) = errs.0.into_iter().find(|e| e.path.as_str().starts_with("spec"))
    {
        return Err(PlanError::InvalidSpec { path: e.path, message: e.message });
    }
    let mut plan = progressing::reconcile(input);
    if let Some(br) = input.batch_release {
        let deleting = plan.count("DeleteBatchRelease") > 0;
        if deleting {
            if let Some(w) = input.workload {
                batch_release::finalize_on_delete(br, w, &input.config, &mut plan);
            }
        } else {
            batch_release::reconcile(br, input.workload, input.pods, input.now, &input.config, &mut plan);
        }
    }
    Ok(plan)
}

/// RO-32: the JSON merge patch of the status subresource that approves the manual pause of
/// `rollout` (stored JSON), or why it cannot be approved (no release, or not `StepPaused`).
pub fn approval_patch(rollout: &serde_json::Value) -> Result<serde_json::Value, String> {
    let status = rollout.get("status").cloned().unwrap_or(serde_json::Value::Null);
    let (key, sub) = ["canaryStatus", "blueGreenStatus"]
        .iter()
        .find_map(|k| status.get(*k).filter(|v| v.is_object()).map(|v| (*k, v.clone())))
        .ok_or_else(|| {
            "the Rollout has no canaryStatus or blueGreenStatus: no release in progress".to_owned()
        })?;
    let state = sub.get("currentStepState").and_then(serde_json::Value::as_str).unwrap_or_default();
    if state != "StepPaused" {
        return Err(format!(
            "the Rollout is not waiting for approval (currentStepState {state:?}, want \"StepPaused\")"
        ));
    }
    Ok(serde_json::json!({ "status": { key: { "currentStepState": "StepReady" } } }))
}
