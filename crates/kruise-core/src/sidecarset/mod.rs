//! SidecarSet (spec `sidecarset.md`, rules SCS-n): injection into pods being created
//! ([`inject`], SCS-9..SCS-22) and the upgrade planner for pods already injected ([`plan`],
//! SCS-30..SCS-63).
//!
//! The planner follows SCS-43: matched pods (SCS-40), revision registration and history
//! (SCS-30..SCS-32), status (SCS-42), expectations, `NotUpdate`, `paused`, hot-upgrade flips
//! (SCS-62), then the choice of pods to upgrade (SCS-44) and their image-only in-place
//! upgrade (SCS-45) with the `SidecarSetUpgradable` condition (SCS-53). Cost: O(pods ×
//! sidecars) per plan plus the sort of the pods waiting for an upgrade.

mod history;
pub mod inject;
pub mod patch;
pub mod pods;
pub mod reconcile;
pub mod records;
mod update;
pub mod v1alpha1;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::v1beta1::{SidecarSet, SidecarSetStatus};

pub use inject::{Decision, InjectError, InjectInput, Injection, Operation, Outcome, SkipReason, inject};
pub use reconcile::SidecarSetReconciler;
pub use v1alpha1::SidecarSetV1Alpha1Reconciler;

use crate::expectations::Expectations;
use crate::plan::{Action, ActionKind, Held, PlanError, Reason, SidecarSetReason};
use crate::selector::Selector;
use pods::{SsView, StateCache};

/// What one reconcile of a SidecarSet should do.
pub type Plan = crate::plan::Plan<SidecarSetStatus>;

/// The namespace upstream keeps SidecarSet ControllerRevisions in (SCS-30).
pub const DEFAULT_REVISION_NAMESPACE: &str = "kruise-system";

/// Everything the SidecarSet upgrade planner may look at.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The SidecarSet (v1beta1, defaults and hash annotations applied; missing hash
    /// annotations are computed, SCS-6).
    pub sidecarset: &'a SidecarSet,
    /// Candidate pods (any namespace): the planner keeps those SCS-40 matches.
    pub pods: &'a [Pod],
    /// Namespace name → labels, for `namespaceSelector` (a pod whose namespace is absent does
    /// not match a SidecarSet with a `namespaceSelector`).
    pub namespaces: &'a BTreeMap<String, BTreeMap<String, String>>,
    /// This SidecarSet's ControllerRevisions (label `kruise.io/sidecarset-name`).
    pub revisions: &'a [ControllerRevision],
    /// Where new revisions are created ([`DEFAULT_REVISION_NAMESPACE`] upstream).
    pub revision_namespace: &'a str,
    /// The only clock (record timestamps).
    pub now: Timestamp,
    /// Pod writes not yet observed (SCS-43 step 4).
    pub expectations: &'a Expectations,
}

/// A matched pod with what the plan reads from it, computed once.
pub(crate) struct Matched<'a> {
    pub pod: &'a Pod,
    /// `namespace/name`: how the plan's actions and held entries name the pod (a
    /// SidecarSet's pods live in many namespaces).
    pub key: String,
    pub updated: bool,
    pub consistent: bool,
    pub ready: bool,
    pub states: StateCache,
    /// The hot-upgrade working map (SCS-60), read once (empty without hot sidecars).
    pub working: BTreeMap<String, String>,
}

fn ss_reason(r: SidecarSetReason) -> Reason {
    Reason::SidecarSet(r)
}

/// SCS-40: the pods of `input` the SidecarSet controls.
pub(crate) fn matched_pods<'a>(input: &Input<'a>, view: &SsView<'_>) -> Result<Vec<Matched<'a>>, PlanError> {
    let ss = input.sidecarset;
    let sel = ss.spec.selector.as_ref().ok_or_else(|| PlanError::invalid("spec.selector", "required"))?;
    let sel = Selector::parse(sel, "spec.selector")?;
    let ns_sel = match &ss.spec.namespace_selector {
        Some(s) => Some(Selector::parse(s, "spec.namespaceSelector")?),
        None => None,
    };
    if sel.is_empty() {
        return Ok(Vec::new());
    }
    let empty = BTreeMap::new();
    let mut out = Vec::with_capacity(input.pods.len());
    for pod in input.pods {
        if !inject::is_active(pod) {
            continue;
        }
        if let Some(ns_sel) = &ns_sel {
            let ns = pod.metadata.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or("default");
            if !input.namespaces.get(ns).is_some_and(|l| ns_sel.matches(l)) {
                continue;
            }
        }
        if !sel.matches(pod.metadata.labels.as_ref().unwrap_or(&empty))
            || !records::is_injected(pod, view.name)
        {
            continue;
        }
        let working = if view.hot.is_empty() { BTreeMap::new() } else { records::working_map(pod) };
        if !view.injected_and_consistent_with(pod, &working) {
            continue;
        }
        let states = StateCache::of(pod);
        out.push(Matched {
            pod,
            key: pods::pod_key(pod),
            updated: view.updated(pod),
            consistent: view.consistent(pod, None, &states),
            ready: view.ready_with(pod, &working),
            states,
            working,
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// SCS-42: the status over the matched pods (before this round's writes).
pub(crate) fn status(
    ss: &SidecarSet,
    matched: &[Matched<'_>],
    latest: &str,
    collision_count: i32,
) -> SidecarSetStatus {
    let stored = ss.status.clone().unwrap_or_default();
    SidecarSetStatus {
        observed_generation: ss.metadata.generation.unwrap_or_default(),
        matched_pods: count(matched.len()),
        updated_pods: count(matched.iter().filter(|m| m.updated).count()),
        ready_pods: count(matched.iter().filter(|m| m.consistent && m.ready).count()),
        updated_ready_pods: count(matched.iter().filter(|m| m.updated && m.consistent && m.ready).count()),
        latest_revision: latest.to_owned(),
        collision_count: if collision_count == 0 {
            stored.collision_count.filter(|c| *c != 0)
        } else {
            Some(collision_count)
        },
    }
}

/// Plans one reconcile of a SidecarSet (SCS-43). Errors only for unusable input (a missing
/// name or selector, a selector or strategy that does not parse).
pub fn plan(input: &Input<'_>) -> Result<Plan, PlanError> {
    let ss = input.sidecarset;
    ss.metadata
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| PlanError::invalid("metadata.name", "required"))?;
    let ss_owned;
    let ss = if ss.hash().is_none() || ss.hash_without_image().is_none() {
        ss_owned = history::with_hashes(ss);
        &ss_owned
    } else {
        ss
    };
    let input = Input { sidecarset: ss, ..*input };
    let view = SsView::new(ss);
    let matched = matched_pods(&input, &view)?;
    let stored = ss.status.clone().unwrap_or_default();
    let mut plan = Plan::new(stored.clone());
    // SCS-30..SCS-32.
    let hist = history::register(&input, &matched, &mut plan);
    plan.status = status(ss, &matched, &hist.latest, hist.collision_count);
    if plan.status != stored {
        plan.actions.push(Action::new(ActionKind::UpdateStatus, None, None, Reason::StatusChanged));
    }
    // SCS-43 step 4.
    if let Some(p) = input.expectations.pending() {
        plan.requeue_at_most(
            Duration::from_secs(1),
            Reason::AwaitingExpectations {
                creates: p.creates,
                deletes: p.deletes,
                resource_versions: p.resource_versions,
            },
        );
        return Ok(plan);
    }
    let hold_rest = |plan: &mut Plan, reason: Reason| {
        for m in matched.iter().filter(|m| !m.updated) {
            plan.held.push(Held::pod(&m.key, reason.clone()));
        }
    };
    // Steps 5, 6.
    if ss.is_not_update() {
        hold_rest(&mut plan, ss_reason(SidecarSetReason::NotUpdate));
        return Ok(plan);
    }
    if ss.spec.update_strategy.paused {
        hold_rest(&mut plan, Reason::Paused);
        return Ok(plan);
    }
    // Step 7.
    if !view.hot.is_empty() && update::flip_hot_upgrades(&input, &view, &matched, &mut plan) {
        hold_rest(&mut plan, ss_reason(SidecarSetReason::FlipFirst));
        return Ok(plan);
    }
    // Step 8.
    if plan.status.updated_pods >= plan.status.matched_pods {
        return Ok(plan);
    }
    // Step 9.
    update::upgrade(&input, &view, &matched, &mut plan)?;
    Ok(plan)
}
