//! Update (CS-56..CS-66) with the in-place refresh (CS-72..CS-75) and the lifecycle refresh
//! (CS-79). O(pods) for refresh and candidate selection, O(c log c) for the c candidates;
//! the in-place diff is computed once per (from, to) revision pair.

use std::collections::BTreeMap;
use std::time::Duration;

use kruise_api::apps::v1beta1::PodUpdatePolicy;
use kruise_api::keys;

use super::inplace::{self, InPlaceSpec, SpecOptions};
use super::pods::{PodInfo, State, revision_matches, revision_matches_short};
use super::{
    Action, ActionKind, Builder, Ctx, PodConditionUpdate, PodPatch, Reason, all_hooked, hooked,
    lifecycle_patch, sort,
};

/// The in-place grace period of the strategy (CS-72), seconds.
pub(crate) fn grace_seconds(ctx: &Ctx<'_>) -> i32 {
    ctx.cs
        .spec
        .update_strategy
        .rolling_update
        .as_ref()
        .and_then(|r| r.in_place_update_strategy.as_ref())
        .map_or(0, |s| s.grace_period_seconds)
}

/// CS-56.
pub fn update(ctx: &Ctx<'_>, b: &mut Builder) {
    // Step 1: refresh.
    // Only the pods the refresh can act on (Tally::refresh), in pod order.
    let mut modified = false;
    for p in ctx.tally.refresh.iter().map(|&i| ctx.pod(i)) {
        let p = &p;
        let complete = refresh_in_place(ctx, p, b);
        modified |= refresh_lifecycle(ctx, p, complete, b);
        if !p.has_template_hash && !p.revision.is_empty() {
            let mut patch = PodPatch::default();
            patch
                .labels
                .insert(keys::POD_TEMPLATE_HASH.into(), Some(super::short_hash(p.revision).to_owned()));
            b.push(Action::new(ActionKind::PatchPod { patch }, Some(p.name), None, Reason::FixTemplateHash));
            modified = true;
        }
    }
    if modified {
        return;
    }
    // Step 2.
    let ru = ctx.cs.spec.update_strategy.rolling_update.as_ref();
    let all_updated = ctx.tally.status.updated == ctx.tally.status.replicas;
    if ctx.cs.is_on_delete() || ru.is_some_and(|r| r.paused) {
        if all_updated {
            return;
        }
        let reason = if ctx.cs.is_on_delete() { Reason::OnDelete } else { Reason::Paused };
        for p in ctx.pods().iter().filter(|p| !p.is_update) {
            b.hold(p, reason.clone());
        }
        return;
    }
    // Step 3.
    let d = ctx.diffs(false);
    let partition = ctx.limits.partition;
    if d.update_num == 0 {
        if all_updated {
            return;
        }
        for p in ctx.pods().iter().filter(|p| !p.is_update) {
            b.hold(p, Reason::Partition { partition });
        }
        return;
    }
    // Step 4.
    let forward = d.update_num > 0;
    let target = if forward { ctx.revs.update } else { ctx.revs.current };
    let target_name = ctx.revs.sorted[target].metadata.name.clone().unwrap_or_default();
    // Step 5, CS-57.
    let pods = ctx.pods();
    let mut cands: Vec<usize> = (0..pods.len())
        .filter(|&i| {
            let p = &pods[i];
            let waits = if forward { !p.is_update } else { p.is_update };
            waits && p.state != State::PreparingDelete && !(p.state != State::Updated && p.has_grace)
        })
        .collect();
    let priority = ru.and_then(|r| r.priority_strategy.as_ref());
    let scatter = ru.map(|r| r.scatter_strategy.as_slice()).unwrap_or_default();
    // CS-58..CS-61: without priority or scatter terms the order is read lazily (UpdateOrder:
    // only the prefix the budget walk reaches is sorted); with them, all candidates are sorted.
    let want = d.update_num.unsigned_abs() as usize;
    let limit = want.min(cands.len());
    let umax = d.update_max_unavailable;
    let st = &ctx.tally.status;
    let mut unavail = st.replicas - st.available;
    // Forward, the target is the update revision, whose pods `is_update` marks (CS-31).
    let target_short = super::short_hash(&target_name);
    let target_unavail = if forward {
        st.updated - st.updated_available
    } else {
        pods.iter()
            .filter(|p| !p.available && revision_matches_short(p.revision, &target_name, target_short))
            .count() as i32
    };
    // The walk below reads about `umax - target_unavail` ranks (more when unavailable pods
    // come first). For a short walk, select and sort only the prefix (UpdateOrder); for a long
    // one, one adaptive stable sort of all candidates is cheaper (and near-linear on the
    // usual, already ordered, candidates).
    let expected = usize::try_from(umax.saturating_sub(target_unavail)).unwrap_or(0).min(limit);
    let mut lazy = None;
    if priority.is_none() && scatter.is_empty() && expected.saturating_mul(8) < cands.len() {
        lazy = Some(sort::UpdateOrder::new(pods, &cands, expected));
    } else {
        sort::sort_update_candidates(pods, &mut cands, priority, scatter);
    }
    let mut rank = |k: usize| match lazy.as_mut() {
        Some(o) => o.at(k),
        None => cands[k],
    };
    // CS-62.
    let mut updates: Vec<usize> = Vec::new();
    while updates.len() < limit {
        let n = updates.len();
        if target_unavail + n as i32 >= umax {
            break;
        }
        let i = rank(n);
        if pods[i].available {
            if unavail >= umax {
                break;
            }
            unavail += 1;
        }
        updates.push(i);
    }
    let n = updates.len();
    // Held: ranks [n, want) wait for the budget, ranks from `want` on for the partition; each
    // group in pod name order.
    let budget = Reason::MaxUnavailable { unavailable: unavail.max(target_unavail + n as i32), limit: umax };
    let mut hold_groups = |over_budget: &[usize], beyond_partition: &[usize]| {
        b.reserve_holds(over_budget.len() + beyond_partition.len());
        for &i in over_budget {
            b.hold(&pods[i], budget.clone());
        }
        for &i in beyond_partition {
            b.hold(&pods[i], Reason::Partition { partition });
        }
    };
    match lazy {
        Some(o) => {
            let (over_budget, beyond_partition) = o.groups(n, limit);
            hold_groups(&over_budget, &beyond_partition);
        }
        None => {
            // The ranks before `n` are in `updates`; the rest is reordered in place.
            cands[n..limit].sort_unstable();
            cands[limit..].sort_unstable();
            hold_groups(&cands[n..limit], &cands[limit..]);
        }
    }
    let policy = ctx.cs.pod_update_policy();
    let mut specs: BTreeMap<(usize, usize), Option<InPlaceSpec>> = BTreeMap::new();
    let mut old_of: BTreeMap<&str, Option<usize>> = BTreeMap::new();
    let reason = Reason::Update { update_num: d.update_num, recreate: false };
    let pub_gate = ctx.input.features.pod_unavailable_budget_update_gate;
    for (k, &i) in updates.iter().enumerate() {
        let p = &pods[i];
        // CS-63.
        if pub_gate {
            match crate::availability::pub_decision(ctx.input.pub_decisions, p.name) {
                super::PubDecision::Allowed => {}
                super::PubDecision::Denied => {
                    for &j in updates.iter().skip(k) {
                        b.hold(&pods[j], Reason::PodUnavailableBudget);
                    }
                    b.plan.requeue_at_most(Duration::from_secs(1), Reason::PodUnavailableBudget);
                    break;
                }
                super::PubDecision::Error(e) => {
                    b.update_error = Some(e.clone());
                    break;
                }
            }
        }
        if let Err(msg) = update_pod(ctx, p, target, policy, &mut specs, &mut old_of, &reason, b) {
            b.update_error = Some(msg);
            break;
        }
    }
}

/// CS-64. `Err` carries the FailedUpdate message.
#[allow(clippy::too_many_arguments)]
fn update_pod<'a>(
    ctx: &Ctx<'a>,
    p: &PodInfo<'a>,
    target: usize,
    policy: PodUpdatePolicy,
    specs: &mut BTreeMap<(usize, usize), Option<InPlaceSpec>>,
    old_of: &mut BTreeMap<&'a str, Option<usize>>,
    reason: &Reason,
    b: &mut Builder,
) -> Result<(), String> {
    let now = ctx.input.now;
    let revs = &ctx.revs.sorted;
    let target_name = revs[target].metadata.name.as_deref().unwrap_or_default();
    if policy.is_in_place() {
        let old = *old_of.entry(p.revision).or_insert_with(|| {
            revs.iter()
                .position(|r| revision_matches(p.revision, r.metadata.name.as_deref().unwrap_or_default()))
        });
        let possible = old.is_some_and(|o| {
            specs.entry((o, target)).or_insert_with(|| in_place_spec_for(ctx, o, target, policy)).is_some()
        });
        if possible {
            let old_name = old.and_then(|o| revs[o].metadata.name.clone()).unwrap_or_default();
            let hook = ctx.hook(|l| l.in_place_update.as_ref());
            let in_place = Action::new(
                ActionKind::UpdateInPlace { from_revision: old_name },
                Some(p.name),
                Some(target_name),
                reason.clone(),
            );
            match p.state {
                State::None | State::PreparingNormal | State::Normal => {
                    if hooked(hook, p.pod) {
                        b.push(Action::new(
                            ActionKind::PatchPod { patch: lifecycle_patch(State::PreparingUpdate, now) },
                            Some(p.name),
                            Some(target_name),
                            reason.clone(),
                        ));
                        if hook.is_some_and(|h| h.mark_pod_not_ready) {
                            super::scale::mark_not_ready(p, b, "preUpdateHook");
                        }
                    } else {
                        push_in_place(ctx, b, in_place);
                    }
                }
                State::Updated => {
                    let mut patch = lifecycle_patch(State::PreparingUpdate, now);
                    if let Some(h) = hook {
                        for (k, v) in &h.labels_handler {
                            patch.labels.insert(k.clone(), Some(v.clone()));
                        }
                        patch.add_finalizers = h.finalizers_handler.clone();
                    }
                    b.push(Action::new(
                        ActionKind::PatchPod { patch },
                        Some(p.name),
                        Some(target_name),
                        reason.clone(),
                    ));
                    if hook.is_some_and(|h| h.mark_pod_not_ready) {
                        super::scale::mark_not_ready(p, b, "preUpdateHook");
                    }
                }
                State::PreparingUpdate => {
                    if hooked(hook, p.pod) {
                        b.hold(p, Reason::LifecycleHook { hook: "inPlaceUpdate" });
                    } else {
                        push_in_place(ctx, b, in_place);
                    }
                }
                State::Updating => push_in_place(ctx, b, in_place),
                State::PreparingDelete | State::Other => {
                    b.hold(
                        p,
                        Reason::LifecycleState { state: p.label(keys::LIFECYCLE_STATE).unwrap_or("").into() },
                    );
                    return Err(format!(
                        "not allowed to in-place update pod {} in state {}",
                        p.name,
                        p.label(keys::LIFECYCLE_STATE).unwrap_or_default()
                    ));
                }
            }
            return Ok(());
        }
        if policy == PodUpdatePolicy::InPlaceOnly {
            b.hold(p, Reason::InPlaceImpossible);
            return Err(format!(
                "find Pod {} update strategy is InPlaceOnly but can not update in-place",
                p.name
            ));
        }
    }
    // CS-65: recreate through the specified-delete label.
    if p.label(keys::SPECIFIED_DELETE).is_none() {
        let mut patch = PodPatch::default();
        patch.labels.insert(keys::SPECIFIED_DELETE.into(), Some("true".into()));
        let reason = match reason {
            Reason::Update { update_num, .. } => Reason::Update { update_num: *update_num, recreate: true },
            r => r.clone(),
        };
        b.push(Action::new(ActionKind::PatchPod { patch }, Some(p.name), Some(target_name), reason));
    }
    Ok(())
}

fn push_in_place(ctx: &Ctx<'_>, b: &mut Builder, a: Action) {
    b.push(a);
    let g = grace_seconds(ctx);
    if g > 0 {
        b.plan.requeue_at_most(Duration::from_secs(g as u64), Reason::GracePeriod { remaining: g as u64 });
    }
}

/// CS-67: the update spec from revision `o` to `t`, or `None` if not in place.
pub(crate) fn in_place_spec_for(
    ctx: &Ctx<'_>,
    o: usize,
    t: usize,
    policy: PodUpdatePolicy,
) -> Option<InPlaceSpec> {
    let revs = &ctx.revs.sorted;
    let (ro, rt) = (&revs[o], &revs[t]);
    if ctx.input.features.recreate_pod_when_change_vct_in_clone_set && policy != PodUpdatePolicy::InPlaceOnly
    {
        let vh = |r: &k8s_openapi::api::apps::v1::ControllerRevision| {
            r.metadata.annotations.as_ref().and_then(|a| a.get(keys::VOLUME_CLAIM_TEMPLATE_HASH)).cloned()
        };
        if let (Some(a), Some(b)) = (vh(ro), vh(rt))
            && a != b
        {
            return None;
        }
    }
    let opts = SpecOptions {
        env_from_metadata: ctx.input.features.in_place_update_env_from_metadata,
        vertical_scaling: ctx.input.features.in_place_workload_vertical_scaling,
    };
    inplace::in_place_spec(&ro.data.as_ref()?.0, &rt.data.as_ref()?.0, rt.metadata.name.as_deref()?, opts)
}

/// CS-75. Returns whether the in-place update (if any) is complete, for the lifecycle refresh.
fn refresh_in_place(ctx: &Ctx<'_>, p: &PodInfo<'_>, b: &mut Builder) -> bool {
    let now = ctx.input.now;
    if p.has_grace {
        let spec = inplace::grace_spec(p.pod);
        match spec {
            Some(s) if revision_matches(p.revision, &s.revision) => {
                let started = inplace::update_state(p.pod).and_then(|st| st.update_timestamp).map(|t| t.0);
                // CS-72: the grace stored when the update started, not the strategy's now.
                let grace = i64::from(s.grace_seconds);
                let elapsed_ms = started.map_or(i64::MAX, |t| now.duration_since(t).as_millis() as i64);
                if elapsed_ms < grace * 1000 {
                    let remaining = ((grace * 1000 - elapsed_ms) as u64).div_ceil(1000);
                    b.plan.requeue_at_most(Duration::from_secs(remaining), Reason::GracePeriod { remaining });
                    b.hold(p, Reason::GracePeriod { remaining });
                } else {
                    b.push(Action::new(
                        ActionKind::FinishGracePeriod,
                        Some(p.name),
                        Some(&s.revision),
                        Reason::GracePeriod { remaining: 0 },
                    ));
                }
            }
            _ => {
                let mut patch = PodPatch::default();
                patch.annotations.insert(keys::INPLACE_UPDATE_GRACE.into(), None);
                patch.annotations.insert(keys::INPLACE_UPDATE_GRACE_LEGACY.into(), None);
                b.push(Action::new(
                    ActionKind::PatchPod { patch },
                    Some(p.name),
                    None,
                    Reason::GracePeriod { remaining: 0 },
                ));
            }
        }
        return false;
    }
    // Fast path: a clean InPlaceUpdateReady on a pod not mid-update needs no parsing; the
    // outcome of (b)..(e) would be no write either way.
    if p.inplace_ready_clean && p.state != State::Updating {
        return true;
    }
    if p.has_state
        && let Some(state) = inplace::update_state(p.pod)
    {
        // (b) the update so far is not done.
        let opts = SpecOptions {
            env_from_metadata: ctx.input.features.in_place_update_env_from_metadata,
            vertical_scaling: ctx.input.features.in_place_workload_vertical_scaling,
        };
        if !inplace::containers_updated(p.pod, &state, opts) {
            b.hold(p, Reason::InPlaceUpdating);
            return false;
        }
        // (c) a next container batch is pending (CS-73).
        let pending = !state.next_container_images.is_empty()
            || !state.next_container_resources.is_empty()
            || !state.next_container_ref_metadata.is_empty();
        if pending {
            if inplace::next_batch(p.pod, opts).is_some() {
                b.push(Action::new(
                    ActionKind::ApplyNextBatch,
                    Some(p.name),
                    Some(&state.revision),
                    Reason::InPlaceUpdating,
                ));
            } else {
                b.hold(p, Reason::InPlaceUpdating);
            }
            return false;
        }
    }
    if !p.inplace_ready_clean && p.has_inplace_gate() {
        b.push(Action::new(
            ActionKind::UpdatePodStatus {
                condition: PodConditionUpdate {
                    type_: keys::INPLACE_UPDATE_READY.into(),
                    status: "True".into(),
                    reason: String::new(),
                    message: String::new(),
                },
            },
            Some(p.name),
            None,
            Reason::InPlaceReadiness,
        ));
    }
    true
}

/// CS-79 refresh rows. Returns whether a lifecycle patch was written.
fn refresh_lifecycle(ctx: &Ctx<'_>, p: &PodInfo<'_>, complete: bool, b: &mut Builder) -> bool {
    let l = ctx.lifecycle;
    let ipu = ctx.hook(|l| l.in_place_update.as_ref());
    let after_update = || if l.is_some() && !all_hooked(ipu, p.pod) { State::Updated } else { State::Normal };
    let to = match p.state {
        State::PreparingNormal => {
            let pre_normal = ctx.hook(|l| l.pre_normal.as_ref());
            let (ok, waiting) = match pre_normal {
                None => (p.scheduled, Reason::Unscheduled),
                Some(_) => (all_hooked(pre_normal, p.pod), Reason::LifecycleHook { hook: "preNormal" }),
            };
            if !ok {
                b.hold(p, waiting);
            }
            ok.then_some(State::Normal)
        }
        State::PreparingUpdate if p.is_update => Some(after_update()),
        State::Updating if complete && !p.has_grace => Some(after_update()),
        State::Updated if l.is_none() || ipu.is_none() || all_hooked(ipu, p.pod) => Some(State::Normal),
        _ => None,
    };
    let Some(to) = to else { return false };
    if to == p.state {
        return false;
    }
    b.push(Action::new(
        ActionKind::PatchPod { patch: lifecycle_patch(to, ctx.input.now) },
        Some(p.name),
        None,
        Reason::Lifecycle { from: p.state.as_str().into(), to: to.as_str().into() },
    ));
    // CS-80: entering `Updated` removes the `preUpdateHook` not-ready key. Deviation: so does
    // entering `Normal` straight from `PreparingUpdate` or `Updating` (the pod skips
    // `Updated`), else the key added on `PreparingUpdate` would keep the pod not ready for
    // good (docs/deviations.md). Other moves to `Normal` leave the key alone, as upstream.
    let skips_updated = to == State::Normal && matches!(p.state, State::PreparingUpdate | State::Updating);
    if ipu.is_some_and(|h| h.mark_pod_not_ready) && (to == State::Updated || skips_updated) {
        super::scale::unmark_not_ready(p, b, "preUpdateHook");
    }
    true
}
