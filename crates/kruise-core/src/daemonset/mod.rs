//! The Advanced DaemonSet planner (spec `daemonset.md`, rules ADS-n): [`plan`] turns a
//! DaemonSet (v1beta1, defaults applied), its pods, the nodes (a [`NodeTable`]), its
//! ControllerRevisions, `now` and pending expectations into a [`Plan`].
//!
//! One pass follows ADS-11: deletion / empty selector (1, 2), history (ADS-8, ADS-9 → the
//! pass's `hash`), expectations (4), manage: one pod per node (ADS-12..ADS-17), in-place
//! refresh (ADS-27), rolling update unless paused / `OnDelete` (ADS-18..ADS-26), history
//! clean-up (ADS-10), status (ADS-29..ADS-31). Real-cluster rule: a pass whose manage step
//! issued a create or delete stops before the rolling update (ADS-11 step 7).
//!
//! Node order is always by node name (byte order); the rolling update walks nodes in the
//! ADS-21 order (spec §10 questions 1 and 2). Node eligibility (ADS-6, ADS-7) is the shared
//! [`crate::nodetable`] predicate over facts extracted once per node version. Cost: O(pods +
//! nodes × (selector + taints)) per plan, plus sorts of the nodes being chosen from.

mod backoff;
mod history;
mod manage;
mod newpod;
mod pods;
pub mod predownload;
pub mod reconcile;
mod status;
mod update;
pub mod v1alpha1;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::common::LifecycleHook;
use kruise_api::apps::v1beta1::{DaemonSet, DaemonSetStatus};
use kruise_api::keys;

pub use backoff::FailedPodBackoff;
pub use history::{new_revision, owner_ref};
pub use newpod::{new_pod, pod_name};
pub use pods::target_node;
pub use reconcile::DaemonSetReconciler;
pub use v1alpha1::DaemonSetV1Alpha1Reconciler;

pub use crate::podtable::{PodTable, Pods, UnnamedPod};

impl crate::podtable::PodOwner for DaemonSet {
    fn kind(&self) -> &str {
        "DaemonSet"
    }
    fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        &self.metadata
    }
    fn selector(&self) -> Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector> {
        self.spec.selector.as_ref()
    }
}

use crate::expectations::Expectations;
use crate::features::Features;
use crate::lifecycle::{State, hooked, lifecycle_patch, mark_not_ready};
use crate::nodetable::{Eligibility, NodeFacts, NodeTable, Placement, daemonset_default_tolerations};
use crate::plan::{Action, ActionKind, DaemonSetReason, Held, ObjectRef, PlanError, Reason};
use crate::selector::Selector;
use pods::DsPod;

/// What one reconcile of an Advanced DaemonSet should do.
pub type Plan = crate::plan::Plan<DaemonSetStatus>;

/// Failed-pod backoff (ADS-16): the first delay.
pub const BACKOFF_INITIAL: Duration = Duration::from_secs(1);
/// Failed-pod backoff (ADS-16): the cap.
pub const BACKOFF_MAX: Duration = Duration::from_secs(15 * 60);

/// ADS-16: the next failed-pod backoff delay after `previous` (none: the first, 1 s),
/// doubling, capped at 15 minutes. The adapter keeps the per-node state and passes the time
/// a node leaves backoff in [`Input::failed_pod_backoff`].
pub fn next_backoff(previous: Option<Duration>) -> Duration {
    previous.map_or(BACKOFF_INITIAL, |d| d.saturating_mul(2).min(BACKOFF_MAX))
}

/// Everything the Advanced DaemonSet planner may look at.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The DaemonSet as stored, in the v1beta1 shape with webhook defaults applied (ADS-4).
    pub daemonset: &'a DaemonSet,
    /// Pods controlled by the DaemonSet, terminating ones included. Pods of other owners and
    /// pods not matching the selector are ignored. A slice (each pod read once per plan) or
    /// a [`PodTable`](crate::podtable::PodTable) kept by the adapter (each pod's facts read
    /// once per version, its node interned); both give the same plan.
    pub pods: Pods<'a>,
    /// All nodes, with their facts (ADS-6, ADS-7).
    pub nodes: &'a NodeTable,
    /// ControllerRevisions owned by the DaemonSet (ADS-9).
    pub revisions: &'a [ControllerRevision],
    /// The only clock.
    pub now: Timestamp,
    /// The only randomness: new pod names derive from it ([`pod_name`]).
    pub id_seed: u64,
    /// Feature gates (`DaemonSetPruneIneligibleNodes`, ADS-18).
    pub features: Features,
    /// The adapter's creates / deletes / resource versions not yet seen (ADS-11 step 4).
    pub expectations: &'a Expectations,
    /// ADS-16: node name → the time its failed-pod backoff ends (the adapter advances it with
    /// [`next_backoff`] each time the plan deletes a failed pod on the node).
    pub failed_pod_backoff: &'a BTreeMap<String, Timestamp>,
    /// ADS-17: bind new pods to their node (`spec.nodeName`) instead of leaving it to the
    /// scheduler through node affinity.
    pub bind_pods: bool,
}

/// A node with its eligibility for this DaemonSet's pods.
#[derive(Clone, Debug)]
pub(crate) struct NodeRow<'a> {
    pub facts: &'a NodeFacts,
    pub e: Eligibility,
    /// The range of the node's pods in [`Ctx::pods`].
    pub range: (usize, usize),
}

/// Everything derived from the input once, shared by the steps.
pub(crate) struct Ctx<'a> {
    pub input: &'a Input<'a>,
    pub ds: &'a DaemonSet,
    pub name: &'a str,
    pub now: Timestamp,
    pub min_ready: i32,
    /// Nodes in name order, with eligibility.
    pub nodes: Vec<NodeRow<'a>>,
    /// ADS-12: pods of listed nodes, grouped in node order, each group oldest first.
    pub pods: Vec<DsPod<'a>>,
    /// ADS-12: pods whose target node is not listed, by node name.
    pub unlisted: BTreeMap<&'a str, Vec<DsPod<'a>>>,
    /// The pass's hash (ADS-9).
    pub hash: String,
    /// The current revision's name.
    pub revision: String,
    /// ADS-19 `allowSurge`.
    pub allow_surge: bool,
    /// `lifecycle.preDelete`.
    pub pre_delete: Option<&'a LifecycleHook>,
    /// The status as stored.
    pub stored: DaemonSetStatus,
    /// ADS-17 burst, resolved.
    pub burst: usize,
}

impl<'a> Ctx<'a> {
    /// The pods grouped on a listed node, oldest first (ADS-12).
    pub fn pods_on(&self, row: &NodeRow<'_>) -> &[DsPod<'a>] {
        &self.pods[row.range.0..row.range.1]
    }

    /// Every pod of the DaemonSet with a target node.
    pub fn all_pods(&self) -> impl Iterator<Item = &DsPod<'a>> {
        self.pods.iter().chain(self.unlisted.values().flatten())
    }

    /// The number of nodes that should run a pod (ADS-19 `desired`).
    pub fn desired(&self) -> i32 {
        i32::try_from(self.nodes.iter().filter(|n| n.e.should_run).count()).unwrap_or(i32::MAX)
    }
}

/// The plan under construction: at most one held entry per subject.
pub(crate) struct Builder {
    pub plan: Plan,
    held: BTreeSet<(bool, String)>,
}

impl Builder {
    pub fn push(&mut self, a: Action) {
        self.plan.actions.push(a);
    }
    /// Holds a pod (once).
    pub fn hold_pod(&mut self, pod: &str, reason: Reason) {
        if self.held.insert((false, pod.to_owned())) {
            self.plan.held.push(Held::pod(pod, reason));
        }
    }
    /// Holds a node that should get a pod (once).
    pub fn hold_node(&mut self, node: &str, reason: Reason) {
        if self.held.insert((true, node.to_owned())) {
            self.plan.held.push(Held::object(ObjectRef::node(node), reason));
        }
    }
    /// Number of create / delete pod actions so far.
    pub fn creates_deletes(&self) -> usize {
        self.plan
            .actions
            .iter()
            .filter(|a| matches!(a.kind, ActionKind::CreatePod { .. } | ActionKind::DeletePod))
            .count()
    }
}

fn ds_reason(r: DaemonSetReason) -> Reason {
    Reason::DaemonSet(r)
}

/// Plans one pass of an Advanced DaemonSet (ADS-11). Errors only for unusable input.
pub fn plan(input: &Input<'_>) -> Result<Plan, PlanError> {
    let ds = input.daemonset;
    let name = ds
        .metadata
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| PlanError::invalid("metadata.name", "required"))?;
    let stored = ds.status.clone().unwrap_or_default();
    let mut b = Builder { plan: Plan::new(stored.clone()), held: BTreeSet::new() };
    // ADS-11 step 1: a DaemonSet being deleted is left alone (no status write).
    if ds.metadata.deletion_timestamp.is_some() {
        b.plan.events.push(Reason::Deleting);
        return Ok(b.plan);
    }
    // ADS-11 step 2: an empty selector selects everything: warn and stop.
    let sel = ds.spec.selector.as_ref().ok_or_else(|| PlanError::invalid("spec.selector", "required"))?;
    let selector = Selector::parse(sel, "spec.selector")?;
    if selector.is_empty() {
        b.plan.events.push(ds_reason(DaemonSetReason::SelectingAll));
        return Ok(b.plan);
    }
    if ds.spec.min_ready_seconds < 0 {
        return Err(PlanError::invalid(
            "spec.minReadySeconds",
            format!("must be >= 0, got {}", ds.spec.min_ready_seconds),
        ));
    }
    let placement =
        Placement::from_pod_spec(&ds.spec.template.spec.clone().unwrap_or_default(), "spec.template.spec")?
            .with_tolerations(&daemonset_default_tolerations(
                ds.spec.template.spec.as_ref().and_then(|s| s.host_network) == Some(true),
            ));
    let ru = ds.spec.update_strategy.rolling_update.as_ref();
    let surge_spec = ru.and_then(|r| r.max_surge.as_ref());
    // ADS-19: a nil maxSurge reads as 0.
    let allow_surge = match surge_spec {
        None => false,
        Some(v) => {
            kruise_api::intstr::scaled_strict(Some(v), 1, true)
                .map_err(|_| bad_int("spec.updateStrategy.rollingUpdate.maxSurge", Some(v)))?
                > 0
        }
    };

    // Pods: controlled by the DaemonSet and matching its selector.
    let uid = ds.metadata.uid.as_deref().filter(|u| !u.is_empty());
    let generation = ds
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(keys::DEPRECATED_DAEMONSET_TEMPLATE_GENERATION))
        .and_then(|g| g.parse::<i64>().ok());
    let claim_of = |p: &Pod| crate::podtable::claim(p, uid, "DaemonSet", Some(name), Some(&selector));
    // The pods (with their facts) come before the history; ADS-2 `updated` is set once the
    // history gives the hash.
    let mut owned: Vec<&Pod> = Vec::with_capacity(input.pods.len());
    let mut ds_pods: Vec<DsPod<'_>> = Vec::with_capacity(input.pods.len());
    let unset = pods::UpdatedBy { hash: "", generation: None };
    match input.pods {
        Pods::Slice(pods) => {
            for p in pods {
                let c = claim_of(p);
                if c.controlled && c.matches {
                    let s = crate::podtable::Facts::scan(p);
                    owned.push(p);
                    ds_pods.extend(pods::from_facts(p, s.name, &s.facts, s.revision, s.node, unset));
                }
            }
        }
        Pods::Table(t) => {
            let fresh = t.owner().same(ds, &selector.to_canonical());
            for row in t.rows.iter() {
                let c = if fresh { row.claim } else { claim_of(&row.pod) };
                if c.controlled && c.matches {
                    owned.push(&row.pod);
                    let (revision, node) = (t.revisions.get(row.revision), t.nodes.get(row.facts.node_id));
                    ds_pods.extend(pods::from_facts(&row.pod, &row.name, &row.facts, revision, node, unset));
                }
            }
        }
    }

    // ADS-9: history → hash.
    let hist = history::construct(ds, name, input.revisions, &owned);
    let by = pods::UpdatedBy { hash: &hist.hash, generation };
    for p in &mut ds_pods {
        p.updated = by.updated_pod(p);
    }
    let names: Vec<&str> = input.nodes.iter().map(|n| n.name.as_str()).collect();
    let grouped = pods::group_by_nodes(ds_pods, &names);
    let nodes: Vec<NodeRow<'_>> = input
        .nodes
        .iter()
        .zip(&grouped.ranges)
        .map(|(facts, &range)| NodeRow { facts, e: placement.eligibility(facts), range })
        .collect();
    let burst_spec = ds.spec.burst_replicas.as_ref();
    // Deviation (§10 q3): a percent burst resolves against the larger of the stored and the
    // fresh desired count, so the first pass (stored 0) is not stalled.
    let fresh_desired = i32::try_from(nodes.iter().filter(|n| n.e.should_run).count()).unwrap_or(i32::MAX);
    let burst = match burst_spec {
        None => kruise_api::defaults::daemonset::DEFAULT_BURST_REPLICAS,
        Some(v) => kruise_api::intstr::scaled_strict(
            Some(v),
            stored.desired_number_scheduled.max(fresh_desired),
            false,
        )
        .map_err(|_| bad_int("spec.burstReplicas", Some(v)))?,
    };
    let ctx = Ctx {
        input,
        ds,
        name,
        now: input.now,
        min_ready: ds.spec.min_ready_seconds,
        nodes,
        pods: grouped.pods,
        unlisted: grouped.unlisted,
        hash: hist.hash.clone(),
        revision: hist.current_name.clone(),
        allow_surge,
        pre_delete: ds.spec.lifecycle.as_ref().and_then(|l| l.pre_delete.as_ref()),
        stored,
        burst: usize::try_from(burst.max(0)).unwrap_or(0),
    };
    b.plan.actions.extend(hist.actions.iter().cloned());
    let mut status = status::compute(&ctx, hist.collision_count);

    // ADS-11 step 4: earlier writes not yet observed → status only.
    if !input.expectations.is_satisfied() {
        let p = input.expectations.pending();
        let reason = Reason::AwaitingExpectations {
            creates: p.as_ref().map_or(0, |p| p.creates),
            deletes: p.as_ref().map_or(0, |p| p.deletes),
            resource_versions: p.as_ref().map_or(0, |p| p.resource_versions),
        };
        b.plan.events.push(reason);
        status.observed_generation = ctx.stored.observed_generation;
        status::write(&ctx, &mut b, status);
        return Ok(b.plan);
    }

    // ADS-12..ADS-17: one pod per node.
    manage::manage(&ctx, &mut b)?;
    // ADS-11 step 7: creates / deletes pending → status only.
    if b.creates_deletes() > 0 {
        status.observed_generation = ctx.stored.observed_generation;
        status::write(&ctx, &mut b, status);
        return Ok(b.plan);
    }
    // ADS-27: in-place refresh.
    update::refresh_in_place(&ctx, &mut b);
    // ADS-18..ADS-26: rolling update unless OnDelete or paused.
    if ds.is_on_delete() {
        update::hold_outdated(&ctx, &mut b, Reason::OnDelete);
    } else if ds.is_paused() {
        update::hold_outdated(&ctx, &mut b, Reason::Paused);
    } else {
        update::rolling_update(&ctx, &mut b, &hist)?;
    }
    // ADS-10: history clean-up.
    // Pods of one hash come in runs: skip repeats before the set (one compare each).
    let mut pod_hashes: BTreeSet<&str> = BTreeSet::new();
    let mut last = None;
    for p in ctx.all_pods() {
        if last != Some(p.hash) {
            pod_hashes.insert(p.hash);
            last = Some(p.hash);
        }
    }
    let keep = ds
        .spec
        .revision_history_limit
        .unwrap_or(kruise_api::defaults::daemonset::DEFAULT_REVISION_HISTORY_LIMIT);
    for r in history::cleanup(&hist.old, &pod_hashes, keep) {
        b.push(Action::new(ActionKind::DeleteRevision, None, Some(r), Reason::HistoryLimit { limit: keep }));
    }
    // ADS-30, ADS-31: status with observedGeneration, minReadySeconds resync.
    status.observed_generation = ds.metadata.generation.unwrap_or(ctx.stored.observed_generation);
    if ctx.min_ready > 0 && status.number_ready != status.number_available {
        b.plan.requeue_at_most(
            Duration::from_secs(u64::try_from(ctx.min_ready).unwrap_or(0)),
            Reason::MinReadySeconds { seconds: ctx.min_ready },
        );
    }
    status::write(&ctx, &mut b, status);
    Ok(b.plan)
}

fn bad_int(path: &str, v: Option<&k8s_openapi::apimachinery::pkg::util::intstr::IntOrString>) -> PlanError {
    let value = match v {
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s)) => s.clone(),
        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i)) => i.to_string(),
        None => String::new(),
    };
    PlanError::BadIntOrPercent { path: path.into(), value }
}

/// ADS-17: carries out creates and deletes: hooked pods move to `PreparingDelete` instead of
/// being deleted (left alone when already there), then at most `burst` creates and `burst`
/// deletes, in list order; the rest are held (`BurstLimit`).
pub(crate) fn sync_nodes(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    creates: &[(&str, Reason)],
    deletes: &[(&DsPod<'_>, Reason)],
) {
    let mut real: Vec<&(&DsPod<'_>, Reason)> = Vec::with_capacity(deletes.len());
    for d in deletes {
        let (p, _) = d;
        if hooked(ctx.pre_delete, p.pod) {
            if p.pre_deleting {
                b.hold_pod(p.name, Reason::LifecycleHook { hook: "preDelete" });
            } else {
                b.push(Action::new(
                    ActionKind::PatchPod { patch: lifecycle_patch(State::PreparingDelete, ctx.now) },
                    Some(p.name),
                    None,
                    Reason::LifecycleHook { hook: "preDelete" },
                ));
                // ADS-17: markPodNotReady when the hook asks for it.
                if ctx.pre_delete.is_some_and(|h| h.mark_pod_not_ready)
                    && let Some(condition) = mark_not_ready(p.pod, "preDeleteHook")
                {
                    b.push(Action::new(
                        ActionKind::UpdatePodStatus { condition },
                        Some(p.name),
                        None,
                        Reason::LifecycleHook { hook: "preDelete" },
                    ));
                }
            }
        } else {
            real.push(d);
        }
    }
    let limit = Reason::DaemonSet(DaemonSetReason::BurstLimit { limit: ctx.burst });
    for (i, (node, reason)) in creates.iter().enumerate() {
        if i < ctx.burst {
            let pod = pod_name(ctx.name, node, ctx.input.id_seed);
            let mut a = Action::new(
                ActionKind::CreatePod { instance_id: (*node).to_owned() },
                Some(&pod),
                Some(&ctx.revision),
                reason.clone(),
            );
            a.object = Some(ObjectRef::node(node));
            b.push(a);
        } else {
            b.hold_node(node, limit.clone());
        }
    }
    for (i, (p, reason)) in real.into_iter().enumerate() {
        if i < ctx.burst {
            let mut a = Action::new(ActionKind::DeletePod, Some(p.name), None, reason.clone());
            a.object = Some(ObjectRef::node(p.node));
            b.push(a);
        } else {
            b.hold_pod(p.name, limit.clone());
        }
    }
}
