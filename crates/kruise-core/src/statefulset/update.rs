//! The rolling update (ASTS-30..ASTS-42) with the in-place refresh (ASTS-41) and the
//! lifecycle refresh (ASTS-45). The in-place diff is computed once per (from, to) revision
//! pair; candidate selection is O(replicas), plus O(c log c) for an unordered update's
//! priority sort.

use std::collections::BTreeMap;
use std::time::Duration;

use kruise_api::apps::v1beta1::{PodUpdatePolicy, StatefulSetStatus};
use kruise_api::keys;

use super::{Builder, Ctx, Removal, Slot, delete_pod, pvc};
use crate::inplace::{self, SpecOptions};
use crate::lifecycle::{State, all_hooked, hooked, lifecycle_patch, mark_not_ready};
use crate::plan::{ActionKind, PodConditionUpdate, Reason, StatefulSetReason as R};

/// The refreshes of ASTS-41 / ASTS-45 done this pass (each pod at most once: a pass reads
/// the same pod objects twice, so the second refresh would repeat the first one's writes).
#[derive(Default)]
pub(crate) struct Refresh {
    /// Member positions refreshed already.
    done: Vec<bool>,
    /// Some lifecycle state changed (ASTS-30 item 2).
    pub lifecycle_changed: bool,
}

impl Refresh {
    /// ASTS-41 then ASTS-45 for member `m`.
    pub fn pod(&mut self, ctx: &Ctx<'_>, b: &mut Builder, m: usize) {
        if self.done.len() <= m {
            self.done.resize(ctx.members.len().max(m + 1), false);
        }
        if std::mem::replace(&mut self.done[m], true) {
            return;
        }
        refresh_in_place(ctx, b, m);
        if refresh_lifecycle(ctx, b, m) {
            self.lifecycle_changed = true;
        }
    }
}

/// ASTS-41: grace period, container batches and the `InPlaceUpdateReady=True` write.
fn refresh_in_place(ctx: &Ctx<'_>, b: &mut Builder, m: usize) {
    let f = ctx.m(m);
    let pod = f.pod;
    let now = ctx.input.now;
    let annotated = f.in_place_annotated();
    if annotated
        && let Some(spec) = inplace::grace_spec(pod)
        && spec.revision == ctx.rev(m)
    {
        let since = inplace::update_state(pod).and_then(|s| s.update_timestamp).map(|t| t.0);
        let grace = Duration::from_secs(ctx.cfg.grace_seconds.max(0) as u64);
        let elapsed = since.map_or(Duration::MAX, |s| {
            let d = now.duration_since(s);
            if d.is_negative() { Duration::ZERO } else { d.unsigned_abs() }
        });
        if elapsed >= grace {
            b.push(
                ActionKind::FinishGracePeriod,
                Some(f.name()),
                Some(ctx.rev(m)),
                Reason::GracePeriod { remaining: 0 },
            );
        } else {
            let left = grace - elapsed;
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            b.requeue(Duration::from_secs(secs), Reason::GracePeriod { remaining: secs });
            ctx.hold_member(b, m, Reason::GracePeriod { remaining: secs });
        }
        return;
    }
    if annotated && let Some(state) = inplace::update_state(pod) {
        if !inplace::containers_updated(pod, &state, SpecOptions::from_features(&ctx.input.features)) {
            return;
        }
        if inplace::next_batch(pod, SpecOptions::from_features(&ctx.input.features)).is_some() {
            b.push(ActionKind::ApplyNextBatch, Some(f.name()), Some(ctx.rev(m)), Reason::InPlaceUpdating);
            return;
        }
    }
    if f.in_place_gate_open() {
        b.push(
            ActionKind::UpdatePodStatus {
                condition: PodConditionUpdate {
                    type_: keys::INPLACE_UPDATE_READY.into(),
                    status: "True".into(),
                    reason: String::new(),
                    message: String::new(),
                },
            },
            Some(f.name()),
            None,
            Reason::InPlaceReadiness,
        );
    }
}

/// ASTS-45: lifecycle transitions on refresh. True when the state changes.
fn refresh_lifecycle(ctx: &Ctx<'_>, b: &mut Builder, m: usize) -> bool {
    let f = ctx.m(m);
    let pod = f.pod;
    let lifecycle = ctx.set.spec.lifecycle.as_ref();
    let in_place_hook = ctx.hook(|l| l.in_place_update.as_ref());
    let after_update = || {
        if lifecycle.is_some() && !all_hooked(in_place_hook, pod) { State::Updated } else { State::Normal }
    };
    let to = match f.state {
        State::PreparingNormal => {
            let pre = ctx.hook(|l| l.pre_normal.as_ref());
            (pre.is_none() || all_hooked(pre, pod)).then_some(State::Normal)
        }
        State::PreparingUpdate if ctx.on_update(m) => Some(after_update()),
        State::Updating if inplace::is_complete(pod, SpecOptions::from_features(&ctx.input.features)) => {
            Some(after_update())
        }
        State::Updated => (lifecycle.is_none() || in_place_hook.is_none() || all_hooked(in_place_hook, pod))
            .then_some(State::Normal),
        _ => None,
    };
    let Some(to) = to.filter(|t| *t != f.state) else { return false };
    b.push(
        ActionKind::PatchPod { patch: lifecycle_patch(to, ctx.input.now) },
        Some(f.name()),
        None,
        Reason::Lifecycle { from: f.state.as_str().to_owned(), to: to.as_str().to_owned() },
    );
    true
}

/// ASTS-30 item 1: an in-place write of this adapter not yet seen (the pod's
/// resourceVersion is below the one the write returned).
fn update_expectations_pending(ctx: &Ctx<'_>) -> Option<usize> {
    let e = &ctx.input.expectations.resource_versions;
    if e.is_empty() {
        return None;
    }
    let n = ctx
        .members
        .iter()
        .map(|f| f.pod)
        .filter(|p| {
            let Some(exp) = p.metadata.uid.as_deref().and_then(|u| e.get(u)) else { return false };
            p.metadata
                .resource_version
                .as_deref()
                .and_then(|r| r.parse::<u64>().ok())
                .is_none_or(|r| r < exp.resource_version)
        })
        .count();
    (n > 0).then_some(n)
}

/// ASTS-30..ASTS-39: the rolling update phase.
pub(crate) fn rolling_update(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    refresh: &mut Refresh,
    status: &mut StatefulSetStatus,
) {
    // Refresh every replica again at the start of the update phase (ASTS-41, ASTS-45).
    for (_, _, slot) in ctx.slot_iter() {
        if let Slot::Pod(m) = slot {
            refresh.pod(ctx, b, m);
        }
    }
    let not_updated = || {
        ctx.slot_iter().filter_map(|(_, _, s)| match s {
            Slot::Pod(m) if !ctx.on_update(m) => Some(m),
            _ => None,
        })
    };
    // ASTS-30 gates.
    if let Some(n) = update_expectations_pending(ctx) {
        let reason = Reason::AwaitingExpectations { creates: 0, deletes: 0, resource_versions: n };
        for m in not_updated() {
            ctx.hold_member(b, m, reason.clone());
        }
        return;
    }
    if refresh.lifecycle_changed {
        for m in not_updated() {
            ctx.hold_member(b, m, Reason::StatefulSet(R::LifecycleRefresh));
        }
        return;
    }
    if ctx.cfg.paused {
        for m in not_updated() {
            ctx.hold_member(b, m, Reason::Paused);
        }
        return;
    }
    let max = ctx.cfg.max_unavailable;
    let now = ctx.input.now;
    // ASTS-33: the unavailable set (replica slots only).
    let mut unavailable = SlotSet::new(ctx.slots.len());
    for (pos, o, slot) in ctx.slot_iter() {
        let Slot::Pod(m) = slot else {
            unavailable.insert(pos);
            continue;
        };
        let f = ctx.m(m);
        // A pod without in-place annotations is complete (no read of the pod needed).
        let mut out = !f.healthy()
            || (f.in_place_annotated()
                && !inplace::is_complete(f.pod, SpecOptions::from_features(&ctx.input.features)));
        match f.available(ctx.cfg.min_ready, now) {
            Ok(()) => {}
            Err(wait) => {
                if let Some(w) = wait {
                    b.requeue(
                        w.min(Duration::from_secs(300)),
                        Reason::MinReadySeconds { seconds: ctx.cfg.min_ready },
                    );
                    ctx.hold_member(b, m, Reason::MinReadySeconds { seconds: ctx.cfg.min_ready });
                }
                out = true;
            }
        }
        if ctx.cfg.resize && !pvcs_ready(ctx, o) {
            out = true;
        }
        if out {
            unavailable.insert(pos);
        }
    }
    let limit_reason = |u: &SlotSet| Reason::MaxUnavailable { unavailable: u.len() as i32, limit: max };
    // ASTS-34: specified deletes, descending slot order.
    for (pos, _, slot) in ctx.slot_iter().rev() {
        let Slot::Pod(m) = slot else { continue };
        let f = ctx.m(m);
        if !f.specified_delete() || f.terminating() {
            continue;
        }
        if unavailable.len() as i32 >= max && !unavailable.contains(pos) {
            ctx.hold_member(b, m, limit_reason(&unavailable));
            continue;
        }
        let done = delete_pod(ctx, b, m, Reason::StatefulSet(R::SpecifiedDelete));
        unavailable.insert(pos);
        if done == Removal::Deleted {
            if ctx.on_current(m) {
                status.current_replicas -= 1;
            } else if ctx.on_update(m) {
                status.updated_replicas -= 1;
            }
        }
    }
    // ASTS-35 / ASTS-36: candidates.
    let want = (i64::from(ctx.cfg.replicas) - i64::from(ctx.cfg.partition)).max(0) as usize;
    let candidates = match ctx.cfg.unordered {
        // The last `want` slots, highest first: nothing to list.
        None => Candidates::Last(want.min(ctx.slots.len())),
        Some(priority) => {
            let (mut first, mut rest): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
            for (pos, _, slot) in ctx.slot_iter().rev() {
                let in_first = match slot {
                    Slot::New { update } => update,
                    Slot::Pod(m) => ctx.m(m).terminating() || ctx.is_updated(m, true),
                };
                if in_first { first.push(pos as u32) } else { rest.push(pos as u32) }
            }
            if let Some(pr) = priority {
                let empty = BTreeMap::new();
                let template_labels =
                    ctx.set.spec.template.metadata.as_ref().and_then(|m| m.labels.as_ref()).unwrap_or(&empty);
                let position = |o: i64| ctx.range.position(o);
                let mut order: Vec<i64> = rest.iter().map(|&p| ctx.range.ordinal_at(p as usize)).collect();
                // Ties keep the descending ordinal order: the sort is stable over `order`.
                let labels = |o: i64| match position(o).map(|p| ctx.slot(p).1) {
                    Some(Slot::Pod(m)) => ctx.m(m).pod.metadata.labels.as_ref().unwrap_or(&empty),
                    _ => template_labels,
                };
                crate::updatesort::priority_sort(&mut order, labels, pr);
                rest = order.into_iter().filter_map(|o| position(o).map(|p| p as u32)).collect();
            }
            let listed: Vec<u32> = first.into_iter().chain(rest).take(want).collect();
            let mut chosen = SlotSet::new(ctx.slots.len());
            for &p in &listed {
                chosen.insert(p as usize);
            }
            Candidates::Listed(listed, chosen)
        }
    };
    // Pods kept by the partition.
    // Only pods are held: at most one per member, however many empty slots there are.
    b.reserve_holds(ctx.slots.len().saturating_sub(candidates.len()).min(ctx.members.len()));
    for (pos, _, slot) in ctx.slot_iter() {
        if let Slot::Pod(m) = slot
            && !candidates.contains(pos, ctx.slots.len())
            && !ctx.on_update(m)
        {
            ctx.hold_member(b, m, Reason::Partition { partition: ctx.cfg.partition });
        }
    }
    // ASTS-39: per target. Each update writes one or two actions: room for those the
    // unavailability budget allows among the pods not on the update revision (the status
    // counts them already), so a long wave does not grow the list step by step, and a large
    // budget with few pods left to update reserves little. A hint only: the list still grows
    // if more are written.
    let budget = usize::try_from(max).unwrap_or(0).saturating_sub(unavailable.len());
    let not_updated = usize::try_from(status.replicas.saturating_sub(status.updated_replicas)).unwrap_or(0);
    b.plan.actions.reserve(2 * budget.min(not_updated));
    // Whether an in-place update is possible, per source revision (the diff is computed once).
    let mut in_place_possible: BTreeMap<&str, bool> = BTreeMap::new();
    for k in 0..candidates.len() {
        let pos = candidates.pos(k, ctx.slots.len());
        let (o, slot) = ctx.slot(pos);
        let Slot::Pod(m) = slot else { continue };
        let f = ctx.m(m);
        let matched = !ctx.cfg.resize || pvcs_matched(ctx, o);
        if ctx.on_update(m) && matched {
            continue;
        }
        if unavailable.len() as i32 >= max && !unavailable.contains(pos) {
            let reason = limit_reason(&unavailable);
            b.reserve_holds((candidates.len() - k).min(ctx.members.len()));
            for k in k..candidates.len() {
                if let (_, Slot::Pod(m)) = ctx.slot(candidates.pos(k, ctx.slots.len()))
                    && !ctx.on_update(m)
                {
                    ctx.hold_member(b, m, reason.clone());
                }
            }
            break;
        }
        if !matched {
            resize_pvcs(ctx, b, m, o);
            if !pvcs_resized(ctx, o) {
                unavailable.insert(pos);
                ctx.hold_member(b, m, Reason::StatefulSet(R::PvcResize));
                continue;
            }
        }
        if f.specified_delete() || f.terminating() {
            continue;
        }
        let reason =
            Reason::Update { update_num: want as i32, recreate: ctx.cfg.policy == PodUpdatePolicy::ReCreate };
        let outcome = update_pod(ctx, b, m, reason, &mut in_place_possible);
        match outcome {
            Outcome::Stop => break,
            Outcome::Acted => {
                unavailable.insert(pos);
                if ctx.on_current(m) {
                    status.current_replicas -= 1;
                }
            }
            Outcome::Nothing => {
                unavailable.insert(pos);
            }
        }
    }
}

/// A set of replica slots by position in `Ctx::slots`, with its size: O(1) insert and test.
struct SlotSet {
    on: Vec<bool>,
    len: usize,
}

impl SlotSet {
    fn new(n: usize) -> Self {
        Self { on: vec![false; n], len: 0 }
    }
    fn insert(&mut self, pos: usize) {
        if let Some(b) = self.on.get_mut(pos)
            && !*b
        {
            *b = true;
            self.len += 1;
        }
    }
    fn contains(&self, pos: usize) -> bool {
        self.on.get(pos).copied().unwrap_or(false)
    }
    fn len(&self) -> usize {
        self.len
    }
}

/// ASTS-35 / ASTS-36: the update candidates, in update order, as positions in `Ctx::slots`.
enum Candidates {
    /// Ordered update: the last `n` slots, the highest ordinal first.
    Last(usize),
    /// Unordered update: the positions listed, and the same as a set.
    Listed(Vec<u32>, SlotSet),
}

impl Candidates {
    fn len(&self) -> usize {
        match self {
            Self::Last(n) => *n,
            Self::Listed(v, _) => v.len(),
        }
    }
    /// The position of the `k`-th candidate, among `slots` slots.
    fn pos(&self, k: usize, slots: usize) -> usize {
        match self {
            Self::Last(_) => slots - 1 - k,
            Self::Listed(v, _) => v[k] as usize,
        }
    }
    /// The slot at `pos` (of `slots`) is a candidate.
    fn contains(&self, pos: usize, slots: usize) -> bool {
        match self {
            Self::Last(n) => pos + n >= slots && pos < slots,
            Self::Listed(_, set) => set.contains(pos),
        }
    }
}

/// What [`update_pod`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// In place (or its lifecycle step) or deleted.
    Acted,
    /// Nothing written (`PreparingDelete` still hooked).
    Nothing,
    /// The update phase ends (InPlaceOnly impossible, or a state that forbids in place).
    Stop,
}

/// ASTS-39 step 6 / ASTS-40: in place if the policy and the diff allow, else recreate.
#[inline(never)] // a rare path: kept out of the loops over every member
fn update_pod<'c>(
    ctx: &'c Ctx<'_>,
    b: &mut Builder,
    m: usize,
    reason: Reason,
    in_place_possible: &mut BTreeMap<&'c str, bool>,
) -> Outcome {
    let from = ctx.rev(m);
    let upd = ctx.update_revision();
    if ctx.cfg.policy.is_in_place() {
        let possible = *in_place_possible.entry(from).or_insert_with(|| {
            let old = ctx.revs.sorted.iter().find(|r| r.metadata.name.as_deref() == Some(from));
            let new = &ctx.revs.sorted[ctx.revs.update];
            let opts = SpecOptions {
                env_from_metadata: ctx.input.features.in_place_update_env_from_metadata,
                vertical_scaling: ctx.input.features.in_place_workload_vertical_scaling,
            };
            old.and_then(|old| old.data.as_ref()).zip(new.data.as_ref()).is_some_and(
                |(from_data, to_data)| inplace::in_place_spec(&from_data.0, &to_data.0, upd, opts).is_some(),
            )
        });
        match possible {
            false if ctx.cfg.policy == PodUpdatePolicy::InPlaceOnly => {
                b.conditions.insert(
                    keys::statefulset_condition::FAILED_UPDATE_POD,
                    format!(
                        "pod {} cannot be updated in place and podUpdatePolicy is InPlaceOnly",
                        ctx.name_of(m)
                    ),
                );
                ctx.hold_member(b, m, Reason::InPlaceImpossible);
                return Outcome::Stop;
            }
            false => {}
            true => return in_place(ctx, b, m, reason),
        }
    }
    match delete_pod(ctx, b, m, reason) {
        Removal::Waiting => Outcome::Nothing,
        _ => Outcome::Acted,
    }
}

/// ASTS-40 lifecycle interaction, then ASTS-42's writes.
#[inline(never)] // a rare path: kept out of the loops over every member
fn in_place(ctx: &Ctx<'_>, b: &mut Builder, m: usize, reason: Reason) -> Outcome {
    let f = ctx.m(m);
    let pod = f.pod;
    let hook = ctx.hook(|l| l.in_place_update.as_ref());
    let to_preparing = |b: &mut Builder, rearm: bool| {
        let mut patch = lifecycle_patch(State::PreparingUpdate, ctx.input.now);
        if rearm && let Some(h) = hook {
            for (k, v) in &h.labels_handler {
                patch.labels.insert(k.clone(), Some(v.clone()));
            }
            patch.add_finalizers.extend(h.finalizers_handler.iter().cloned());
        }
        b.push(
            ActionKind::PatchPod { patch },
            Some(f.name()),
            None,
            Reason::LifecycleHook { hook: "inPlaceUpdate" },
        );
        // ASTS-40: markPodNotReady of the hook.
        if hook.is_some_and(|h| h.mark_pod_not_ready)
            && let Some(condition) = mark_not_ready(pod, "preUpdateHook")
        {
            b.push(
                ActionKind::UpdatePodStatus { condition },
                Some(f.name()),
                None,
                Reason::LifecycleHook { hook: "inPlaceUpdate" },
            );
        }
    };
    match f.state {
        State::None | State::PreparingNormal | State::Normal if hooked(hook, pod) => {
            to_preparing(b, false);
            return Outcome::Acted;
        }
        State::None | State::PreparingNormal | State::Normal => {}
        State::Updated => {
            to_preparing(b, true);
            return Outcome::Acted;
        }
        State::PreparingUpdate if hooked(hook, pod) => {
            ctx.hold_member(b, m, Reason::LifecycleHook { hook: "inPlaceUpdate" });
            return Outcome::Acted;
        }
        State::PreparingUpdate | State::Updating => {}
        State::PreparingDelete | State::Other => {
            b.conditions.insert(
                keys::statefulset_condition::FAILED_UPDATE_POD,
                format!(
                    "pod {} in lifecycle state {:?} is not allowed to in-place update",
                    f.name(),
                    f.state
                ),
            );
            ctx.hold_member(b, m, Reason::LifecycleState { state: f.state.as_str().to_owned() });
            return Outcome::Stop;
        }
    }
    if f.in_place_gate() {
        ctx.push_member(
            b,
            ActionKind::UpdatePodStatus {
                condition: PodConditionUpdate {
                    type_: keys::INPLACE_UPDATE_READY.into(),
                    status: "False".into(),
                    reason: keys::REASON_START_INPLACE_UPDATE.into(),
                    message: String::new(),
                },
            },
            m,
            None,
            Reason::InPlaceReadiness,
        );
    }
    ctx.push_member(
        b,
        ActionKind::UpdateInPlace { from_revision: ctx.rev(m).to_owned() },
        m,
        Some(ctx.update_revision()),
        reason,
    );
    if ctx.cfg.grace_seconds > 0 {
        let g = ctx.cfg.grace_seconds as u64;
        b.requeue(Duration::from_secs(g), Reason::GracePeriod { remaining: g });
    }
    Outcome::Acted
}

/// ASTS-33: every existing, live PVC of ordinal `o` is resized (`capacity >= request`).
fn pvcs_ready(ctx: &Ctx<'_>, o: i64) -> bool {
    ctx.claim_names(o).all(|(n, t)| match ctx.pvcs.get(n.as_str()) {
        Some(p) if p.metadata.deletion_timestamp.is_none() => pvc::resize_facts(p, t).ready,
        _ => true,
    })
}

/// ASTS-39 step 1: every existing, live PVC of ordinal `o` is *matched* (ASTS-47).
fn pvcs_matched(ctx: &Ctx<'_>, o: i64) -> bool {
    ctx.claim_names(o).all(|(n, t)| match ctx.pvcs.get(n.as_str()) {
        Some(p) if p.metadata.deletion_timestamp.is_none() => pvc::resize_facts(p, t).matched,
        _ => true,
    })
}

/// ASTS-47: every existing, live PVC of ordinal `o` has finished resizing.
fn pvcs_resized(ctx: &Ctx<'_>, o: i64) -> bool {
    ctx.claim_names(o).all(|(n, t)| match ctx.pvcs.get(n.as_str()) {
        Some(p) if p.metadata.deletion_timestamp.is_none() => pvc::resize_facts(p, t).resize_complete,
        _ => true,
    })
}

/// ASTS-47: patch the PVCs of ordinal `o` that are smaller than their template; a PVC that is
/// not compatible without size, or whose StorageClass does not allow expansion (or is not
/// found), sets `FailedUpdatePod` instead.
#[inline(never)] // a rare path: kept out of the loops over every member
fn resize_pvcs(ctx: &Ctx<'_>, b: &mut Builder, m: usize, o: i64) {
    for (n, t) in ctx.claim_names(o) {
        let Some(p) = ctx.pvcs.get(n.as_str()).filter(|p| p.metadata.deletion_timestamp.is_none()) else {
            continue;
        };
        let r = pvc::resize_facts(p, t);
        if r.matched {
            continue;
        }
        if !r.compatible_without_size {
            b.conditions.insert(
                keys::statefulset_condition::FAILED_UPDATE_POD,
                format!("pvc {n} is not compatible with its claim template; waiting for it to be deleted"),
            );
            continue;
        }
        let class = p.spec.as_ref().and_then(|s| s.storage_class_name.as_deref());
        if let Some(class) = class {
            let expandable = ctx
                .input
                .storage_classes
                .iter()
                .find(|sc| sc.metadata.name.as_deref() == Some(class))
                .is_some_and(|sc| sc.allow_volume_expansion == Some(true));
            if !expandable {
                b.conditions.insert(
                    keys::statefulset_condition::FAILED_UPDATE_POD,
                    format!("storage class {class} of pvc {n} does not allow volume expansion"),
                );
                continue;
            }
        }
        b.push(
            ActionKind::UpdatePvc { pvc: n },
            Some(ctx.name_of(m)),
            None,
            Reason::StatefulSet(R::PvcResize),
        );
    }
}
