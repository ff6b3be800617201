//! ADS-16 in the operator: the failed-pod backoff that the pure DaemonSet planner cannot keep
//! itself. [`FailedPodBackoffs`] wraps a DaemonSet reconciler: before each plan it hands over
//! the DaemonSet's per-node backoff end times, and after it records every failed pod the plan
//! deletes (the node's delay doubles from 1 s up to 15 minutes while its pod keeps failing;
//! [`kruise_core::daemonset::FailedPodBackoff`]). The state lives in this process, per
//! DaemonSet (namespace/name), as upstream's controller keeps it in memory: a restart starts
//! every node from the first delay again.
//!
//! ```
//! use kruise_core::daemonset::DaemonSetV1Alpha1Reconciler;
//! use kruise_kube::backoff::FailedPodBackoffs;
//!
//! let reconciler = FailedPodBackoffs::new(DaemonSetV1Alpha1Reconciler);
//! # let _ = reconciler;
//! ```

use std::collections::BTreeMap;
use std::sync::Mutex;

use jiff::Timestamp;
use kruise_core::daemonset::{DaemonSetReconciler, DaemonSetV1Alpha1Reconciler, FailedPodBackoff};
use kruise_core::reconciler::{Context, Outcome, ReconcileError, Reconciler, RelatedKind, World};

use crate::WorkloadKey;

/// A DaemonSet reconciler that plans with a failed-pod backoff handed over (both served
/// versions of the Advanced DaemonSet).
pub trait BackoffPlanner: Reconciler {
    /// Plans with `backoff`: node name → the time its failed-pod backoff ends.
    fn reconcile_with_backoff(
        &self,
        world: &World<'_, Self::Workload>,
        ctx: &Context<'_>,
        backoff: &BTreeMap<String, Timestamp>,
    ) -> Result<Outcome, ReconcileError>;
}

impl BackoffPlanner for DaemonSetReconciler {
    fn reconcile_with_backoff(
        &self,
        world: &World<'_, Self::Workload>,
        ctx: &Context<'_>,
        backoff: &BTreeMap<String, Timestamp>,
    ) -> Result<Outcome, ReconcileError> {
        DaemonSetReconciler::reconcile_with_backoff(self, world, ctx, backoff)
    }
}

impl BackoffPlanner for DaemonSetV1Alpha1Reconciler {
    fn reconcile_with_backoff(
        &self,
        world: &World<'_, Self::Workload>,
        ctx: &Context<'_>,
        backoff: &BTreeMap<String, Timestamp>,
    ) -> Result<Outcome, ReconcileError> {
        DaemonSetV1Alpha1Reconciler::reconcile_with_backoff(self, world, ctx, backoff)
    }
}

/// `R` with the per-DaemonSet failed-pod backoff kept between reconciles (see the module docs).
#[derive(Debug, Default)]
pub struct FailedPodBackoffs<R> {
    inner: R,
    state: Mutex<BTreeMap<WorkloadKey, FailedPodBackoff>>,
}

impl<R> FailedPodBackoffs<R> {
    /// Wraps `inner` with empty backoff state.
    pub fn new(inner: R) -> Self {
        Self { inner, state: Mutex::default() }
    }

    /// The backoff kept for the DaemonSet `key` (a copy), if any node of it is in backoff.
    pub fn state_of(&self, key: &WorkloadKey) -> Option<FailedPodBackoff> {
        self.lock().get(key).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<WorkloadKey, FailedPodBackoff>> {
        // A panic while holding the lock leaves a usable map (entries are replaced whole).
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<R: BackoffPlanner> Reconciler for FailedPodBackoffs<R> {
    type Workload = R::Workload;

    /// Plans with the DaemonSet's backoff, then records the failed pods the plan deletes.
    /// Not pure (it keeps state), unlike the planner it wraps.
    fn reconcile(
        &self,
        world: &World<'_, R::Workload>,
        ctx: &Context<'_>,
    ) -> Result<Outcome, ReconcileError> {
        let meta = k8s_openapi::Metadata::metadata(world.workload);
        let key = WorkloadKey::new(
            meta.namespace.as_deref().unwrap_or_default(),
            meta.name.as_deref().unwrap_or_default(),
        );
        let until = {
            let mut state = self.lock();
            let entry = state.entry(key.clone()).or_default();
            entry.gc(ctx.now);
            entry.until()
        };
        let outcome = self.inner.reconcile_with_backoff(world, ctx, &until)?;
        let mut state = self.lock();
        let entry = state.entry(key.clone()).or_default();
        // One write per DeletePod action: each failed pod is recorded once.
        entry.record_plan(outcome.writes.iter().map(|w| &w.action), ctx.now);
        if entry.is_empty() {
            state.remove(&key);
        }
        Ok(outcome)
    }

    fn related_kinds(&self) -> &'static [RelatedKind] {
        self.inner.related_kinds()
    }
}
