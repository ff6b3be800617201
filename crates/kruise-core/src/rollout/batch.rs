//! Batch arithmetic (RO-13..RO-18), batch readiness (RO-40) and pod batch labels (RO-41).
//!
//! Everything here is a pure function of numbers, IntOrStrings and pod labels; the batch
//! release machine ([`super::batch_release`]) decides when to call what.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::intstr::{IntOrPercentError, scaled_strict};
use kruise_api::keys;

use super::workload::WorkloadKind;

/// RO-13 `scale(x, N)`: an integer unchanged; `"<int>%"` gives `ceil(int * N / 100)`; anything
/// else is an error (validation rejects it first, RO-9).
pub fn scale(x: &IntOrString, total: i32) -> Result<i32, IntOrPercentError> {
    scaled_strict(Some(x), total, true)
}

/// [`scale`] with an error read as 0, as upstream does at run time (RO-13).
pub fn scale_or_zero(x: &IntOrString, total: i32) -> i32 {
    scale(x, total).unwrap_or(0)
}

/// True when `x` is a percent string (RO-15's integer/percent split).
pub fn is_percent(x: &IntOrString) -> bool {
    matches!(x, IntOrString::String(_))
}

/// RO-14 `batch_replicas(i, R) = clamp(scale(batch, R), 0, R)`.
pub fn batch_replicas(batch: &IntOrString, r: i32) -> i32 {
    let r = r.max(0);
    scale_or_zero(batch, r).clamp(0, r)
}

/// RO-16 `pct(stable, all)`: the percent partition that keeps `stable` of `all` pods old.
/// `batch_is_full` is true when the batch's own value is `"100%"` (then `"0%"`-like results
/// are allowed to upgrade everything).
pub fn pct_partition(stable: i32, all: i32, batch_is_full: bool) -> IntOrString {
    if stable >= all {
        return IntOrString::String("100%".to_owned());
    }
    if stable <= 0 {
        return IntOrString::String("0%".to_owned());
    }
    let p = (i64::from(stable) * 100 / i64::from(all)) as i32;
    let s = IntOrString::String(format!("{p}%"));
    if scale_or_zero(&s, all) == 0 && !batch_is_full {
        return IntOrString::String("1%".to_owned());
    }
    s
}

/// RO-17: how Kruise reads a CloneSet partition: the number of pods kept on the old revision.
/// `None` is 0; a missing `spec.replicas` is passed as 1 by the caller.
pub fn cloneset_stable_target(partition: Option<&IntOrString>, r: i32) -> i32 {
    let Some(p) = partition else { return 0 };
    let mut t = scale_or_zero(p, r);
    if r > 1 && is_percent(p) && *p != IntOrString::String("100%".to_owned()) && t == r {
        t = r - 1;
    }
    t.clamp(0, r.max(0))
}

/// RO-15 partition-style Deployment `newRSLimit(p, R)`: pods the new ReplicaSet may have.
pub fn new_rs_limit(p: &IntOrString, r: i32) -> i32 {
    let mut n = batch_replicas(p, r);
    if r > 1 && is_percent(p) && *p != IntOrString::String("100%".to_owned()) {
        n = n.min(r - 1);
    }
    n
}

/// What a batch writes to the workload (RO-15).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkloadTarget {
    /// CloneSet `partition` (int or percent; pods kept old).
    CloneSetPartition(IntOrString),
    /// Integer `partition` (Advanced DaemonSet, StatefulSet-like: pods / ordinals kept old).
    IntPartition(i32),
    /// Partition-style Deployment: the number (or percent) of pods to update.
    DeploymentPartition(IntOrString),
    /// Canary-style Deployment: the canary Deployment's `spec.replicas`.
    CanaryReplicas(i32),
    /// Blue-green: the workload's `maxSurge`.
    MaxSurge(IntOrString),
}

/// The targets of one batch (RO-15).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchTargets {
    /// `batch_replicas(i, R)` (RO-40 rule 4 counts labelled pods against it).
    pub planned: i32,
    /// Updated pods the batch needs.
    pub desired_updated: i32,
    /// Pods kept on the stable revision.
    pub desired_stable: i32,
    /// The value written to the workload.
    pub target: WorkloadTarget,
}

/// How a batch is applied: which kind, which style, ordered StatefulSet updates (RO-15).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applier {
    /// CloneSet partition (percent-preserving).
    CloneSet,
    /// Advanced DaemonSet integer partition.
    AdvancedDaemonSet,
    /// StatefulSet-like integer partition; `ordered` for ordinal-based partitions.
    StatefulSetLike {
        /// Native StatefulSet, or Advanced StatefulSet without `unorderedUpdate`.
        ordered: bool,
    },
    /// Partition-style ("advanced") Deployment.
    DeploymentPartition,
    /// Canary-style Deployment (extra canary workload).
    DeploymentCanary,
    /// Blue-green (CloneSet or Deployment).
    BlueGreen,
}

impl Applier {
    /// RO-12's controller choice for a workload kind and rolling style.
    pub fn choose(
        kind: WorkloadKind,
        style: kruise_api::rollouts::v1beta1::RollingStyle,
        unordered: bool,
    ) -> Self {
        use kruise_api::rollouts::v1beta1::RollingStyle as S;
        match (style, kind) {
            (S::BlueGreen, _) => Applier::BlueGreen,
            (S::Canary, WorkloadKind::Deployment) => Applier::DeploymentCanary,
            (_, WorkloadKind::AdvancedDaemonSet | WorkloadKind::DaemonSet) => Applier::AdvancedDaemonSet,
            (_, WorkloadKind::CloneSet) => Applier::CloneSet,
            (_, WorkloadKind::Deployment) => Applier::DeploymentPartition,
            (_, WorkloadKind::AdvancedStatefulSet) => Applier::StatefulSetLike { ordered: !unordered },
            (_, WorkloadKind::StatefulSet | WorkloadKind::ReplicaSet) => {
                Applier::StatefulSetLike { ordered: true }
            }
        }
    }
}

/// RO-15: the targets of batch `batch` (its `canaryReplicas`) for `r` replicas, with
/// `no_need_update` pods already on the target (RO-49).
pub fn batch_targets(
    applier: Applier,
    batch: &IntOrString,
    r: i32,
    no_need_update: Option<i32>,
) -> BatchTargets {
    let r = r.max(0);
    let planned = batch_replicas(batch, r);
    let (mut desired_updated, mut desired_stable) = (planned, r - planned);
    let n = no_need_update.unwrap_or(0).clamp(0, r);
    if n > 0 {
        let new_updated = batch_replicas(batch, r - n);
        desired_stable = r - n - new_updated;
        desired_updated = r - desired_stable;
    }
    let target = match applier {
        Applier::CloneSet => {
            if is_percent(batch) {
                let full = *batch == IntOrString::String("100%".to_owned());
                let p = pct_partition(desired_stable, r, full);
                // Q4 (docs/deviations.md): a percent Kruise reads as *more* old pods than
                // wanted would stall the batch forever; write the exact integer instead.
                if cloneset_stable_target(Some(&p), r) > desired_stable.max(0) {
                    WorkloadTarget::CloneSetPartition(IntOrString::Int(desired_stable.max(0)))
                } else {
                    WorkloadTarget::CloneSetPartition(p)
                }
            } else {
                WorkloadTarget::CloneSetPartition(IntOrString::Int(desired_stable))
            }
        }
        Applier::AdvancedDaemonSet => WorkloadTarget::IntPartition(desired_stable.max(0)),
        Applier::StatefulSetLike { ordered } => {
            if ordered && n > 0 {
                desired_stable += n;
                desired_updated = r - desired_stable + n;
            }
            WorkloadTarget::IntPartition(desired_stable)
        }
        Applier::DeploymentPartition => {
            let limit = new_rs_limit(batch, r);
            return BatchTargets {
                planned: limit,
                desired_updated: limit,
                desired_stable: r - limit,
                target: WorkloadTarget::DeploymentPartition(batch.clone()),
            };
        }
        Applier::DeploymentCanary => WorkloadTarget::CanaryReplicas(planned),
        Applier::BlueGreen => {
            let p = scale_or_zero(batch, r);
            return BatchTargets {
                planned: p,
                desired_updated: p,
                desired_stable: r,
                target: WorkloadTarget::MaxSurge(batch.clone()),
            };
        }
    };
    BatchTargets { planned, desired_updated, desired_stable, target }
}

/// RO-18: should `desired` be written over `current` (never move backwards)? `current` is the
/// workload's value as stored; `None` reads as "everything released" (0 kept old) for
/// partitions, 0 replicas for the canary Deployment and maxSurge.
pub fn needs_patch(current: Option<&IntOrString>, desired: &WorkloadTarget, r: i32) -> bool {
    match desired {
        WorkloadTarget::CloneSetPartition(d) => {
            let cur = current.map_or(0, |c| scale_or_zero(c, r));
            cur > scale_or_zero(d, r)
        }
        WorkloadTarget::IntPartition(d) => {
            let cur = current.map_or(0, |c| scale_or_zero(c, r));
            cur > *d
        }
        WorkloadTarget::DeploymentPartition(d) => {
            let big = 10_000_000;
            let cur = current.map_or(0, |c| scale_or_zero(c, big));
            cur < scale_or_zero(d, big)
        }
        WorkloadTarget::CanaryReplicas(d) => current.map_or(0, |c| scale_or_zero(c, r)) < *d,
        WorkloadTarget::MaxSurge(d) => {
            let cur = match current {
                None | Some(IntOrString::Int(1)) => 0,
                Some(c) => scale_or_zero(c, r),
            };
            cur < scale_or_zero(d, r)
        }
    }
}

/// The workload counters RO-40 reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchCounts {
    /// `U`: pods on the update revision.
    pub updated: i32,
    /// `UR`: ready pods on the update revision.
    pub updated_ready: i32,
}

/// Why a batch is not ready (RO-40); `None` from [`batch_ready`] means ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotReady {
    /// Rule 1: `U < D`.
    TooFewUpdated {
        /// U.
        updated: i32,
        /// D.
        desired: i32,
    },
    /// Rule 2: `tolerance + UR < D`.
    TooFewReady {
        /// UR.
        ready: i32,
        /// tolerance.
        tolerance: i32,
        /// D.
        desired: i32,
    },
    /// Rule 3: no updated pod is ready.
    NoneReady,
    /// Rule 4: fewer than `planned` pods carry the rollout id.
    Unlabelled {
        /// Labelled pods.
        labelled: i32,
        /// P.
        planned: i32,
    },
}

impl std::fmt::Display for NotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotReady::TooFewUpdated { updated, desired } => {
                write!(f, "updated {updated} < desired {desired}")
            }
            NotReady::TooFewReady { ready, tolerance, desired } => {
                write!(f, "ready {ready} + tolerance {tolerance} < desired {desired}")
            }
            NotReady::NoneReady => write!(f, "no updated pod is ready"),
            NotReady::Unlabelled { labelled, planned } => {
                write!(f, "labelled {labelled} < planned {planned}")
            }
        }
    }
}

fn pod_terminating(p: &Pod) -> bool {
    p.metadata.deletion_timestamp.is_some()
}

fn label<'p>(p: &'p Pod, key: &str) -> Option<&'p str> {
    p.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

/// RO-40: is the batch ready? `pods` are the workload's pods (terminating included).
pub fn batch_ready(
    counts: BatchCounts,
    targets: &BatchTargets,
    failure_threshold: Option<&IntOrString>,
    rollout_id: &str,
    pods: &[Pod],
) -> Option<NotReady> {
    let (u, ur, d) = (counts.updated, counts.updated_ready, targets.desired_updated);
    if u < d {
        return Some(NotReady::TooFewUpdated { updated: u, desired: d });
    }
    let tolerance = failure_threshold.map_or(0, |t| scale_or_zero(t, u));
    if tolerance.saturating_add(ur) < d {
        return Some(NotReady::TooFewReady { ready: ur, tolerance, desired: d });
    }
    if d > 0 && ur == 0 {
        return Some(NotReady::NoneReady);
    }
    if !rollout_id.is_empty() && !pods.is_empty() {
        let labelled = pods
            .iter()
            .filter(|p| !pod_terminating(p) && label(p, keys::ROLLOUT_ID) == Some(rollout_id))
            .count();
        let labelled = i32::try_from(labelled).unwrap_or(i32::MAX);
        if labelled < targets.planned {
            return Some(NotReady::Unlabelled { labelled, planned: targets.planned });
        }
    }
    None
}

/// True when `pod` runs `update_revision` (RO-41): its `pod-template-hash` or
/// `controller-revision-hash` label is a suffix of the revision name.
pub fn pod_on_revision(pod: &Pod, update_revision: &str) -> bool {
    if update_revision.is_empty() {
        return false;
    }
    [keys::POD_TEMPLATE_HASH, keys::CONTROLLER_REVISION_HASH]
        .iter()
        .filter_map(|k| label(pod, k))
        .any(|v| !v.is_empty() && update_revision.ends_with(v))
}

/// One pod label patch of RO-41: `rollout-id` and `rollout-batch-id` (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchLabel {
    /// The pod.
    pub pod: String,
    /// 1-based batch id.
    pub batch_id: i32,
}

/// RO-41: which updated pods to label for batches `0..=current`. `batches` are the plan's
/// `canaryReplicas`; `candidates` the pods eligible (non-terminating, on the update revision,
/// already filtered for batch rollback), in list order.
pub fn batch_labels(
    batches: &[IntOrString],
    current: usize,
    r: i32,
    rollout_id: &str,
    candidates: &[&Pod],
) -> Vec<BatchLabel> {
    if rollout_id.is_empty() || batches.is_empty() {
        return Vec::new();
    }
    let current = current.min(batches.len() - 1);
    let mut inc: Vec<i32> = Vec::with_capacity(batches.len());
    let mut prev = 0;
    for (i, b) in batches.iter().enumerate() {
        let n = batch_replicas(b, r);
        inc.push(if i <= current { (n - prev).max(0) } else { 0 });
        prev = n.max(prev);
    }
    let mut unpatched: Vec<&Pod> = Vec::new();
    for p in candidates {
        let own = label(p, keys::ROLLOUT_ID) == Some(rollout_id);
        let batch = label(p, keys::ROLLOUT_BATCH_ID).and_then(|b| b.parse::<usize>().ok());
        match (own, batch) {
            (true, Some(b)) if (1..=batches.len()).contains(&b) => inc[b - 1] -= 1,
            _ => unpatched.push(p),
        }
    }
    let mut out = Vec::new();
    for i in (0..inc.len()).rev() {
        while inc[i] > 0 {
            let Some(p) = unpatched.pop() else { return sorted(out) };
            out.push(BatchLabel {
                pod: p.metadata.name.clone().unwrap_or_default(),
                batch_id: i32::try_from(i + 1).unwrap_or(i32::MAX),
            });
            inc[i] -= 1;
        }
    }
    sorted(out)
}

fn sorted(mut v: Vec<BatchLabel>) -> Vec<BatchLabel> {
    v.sort_by(|a, b| (a.batch_id, &a.pod).cmp(&(b.batch_id, &b.pod)));
    v
}

/// Counts of pods per batch id carrying `rollout_id` (for status and tests).
pub fn labelled_per_batch(pods: &[Pod], rollout_id: &str) -> BTreeMap<i32, i32> {
    let mut m = BTreeMap::new();
    for p in pods.iter().filter(|p| !pod_terminating(p) && label(p, keys::ROLLOUT_ID) == Some(rollout_id)) {
        if let Some(b) = label(p, keys::ROLLOUT_BATCH_ID).and_then(|b| b.parse::<i32>().ok()) {
            *m.entry(b).or_insert(0) += 1;
        }
    }
    m
}
