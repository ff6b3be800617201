//! Status (CS-82..CS-86): counters over the pods listed at the start of the reconcile,
//! currentRevision advance, FailedScale / FailedUpdate / Progressing conditions, and whether
//! to write. O(pods).

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kruise_api::apps::v1beta1::{CloneSetCondition, CloneSetStatus};
use kruise_api::keys::cloneset_condition as cc;

use super::{Action, ActionKind, Builder, Ctx, Reason};
use kruise_api::selector::Selector;

/// CS-84 merge: same status and reason ⇒ untouched; same status ⇒ replaced keeping
/// lastTransitionTime; else replaced. The replaced condition moves to the end.
pub fn set_condition(conds: &mut Vec<CloneSetCondition>, mut new: CloneSetCondition) {
    if let Some(i) = conds.iter().position(|c| c.type_ == new.type_) {
        let old = &conds[i];
        if old.status == new.status && old.reason == new.reason {
            return;
        }
        if old.status == new.status {
            new.last_transition_time = old.last_transition_time.clone();
        }
        conds.remove(i);
    }
    conds.push(new);
}

fn condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now: jiff::Timestamp,
) -> CloneSetCondition {
    CloneSetCondition {
        type_: type_.into(),
        status: status.into(),
        last_update_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
        reason: reason.into(),
        message,
    }
}

/// CS-82 pod counters, accumulated while the pods are claimed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Active claimed pods.
    pub replicas: i32,
    /// Of which `updateReady`.
    pub ready: i32,
    /// Of which available.
    pub available: i32,
    /// On the update revision.
    pub updated: i32,
    /// On the update revision and `updateReady`.
    pub updated_ready: i32,
    /// On the update revision and available.
    pub updated_available: i32,
}

impl Counts {
    /// Counts `n` pods alike.
    pub fn add_n(&mut self, update_ready: bool, available: bool, is_update: bool, n: i32) {
        let (r, a, u) = (i32::from(update_ready), i32::from(available), i32::from(is_update));
        self.replicas += n;
        self.ready += r * n;
        self.available += a * n;
        self.updated += u * n;
        self.updated_ready += u * r * n;
        self.updated_available += u * a * n;
    }
}

/// CS-82..CS-86: fills `b.plan.status` and pushes `UpdateStatus` when it must be written.
pub fn status(ctx: &Ctx<'_>, selector: &Selector, b: &mut Builder) {
    let cs = ctx.cs;
    let now = ctx.input.now;
    let old = cs.status.clone().unwrap_or_default();
    let r = ctx.limits.replicas;
    let mut s = CloneSetStatus {
        observed_generation: cs.metadata.generation.unwrap_or(0),
        update_revision: ctx.update_revision().to_owned(),
        current_revision: ctx.current_revision().to_owned(),
        collision_count: Some(ctx.revs.collision_count),
        label_selector: selector.to_canonical(),
        conditions: old.conditions.clone(),
        ..Default::default()
    };
    let c = &ctx.tally.status;
    (s.replicas, s.ready_replicas, s.available_replicas) = (c.replicas, c.ready, c.available);
    (s.updated_replicas, s.updated_ready_replicas, s.updated_available_replicas) =
        (c.updated, c.updated_ready, c.updated_available);
    s.expected_updated_replicas =
        if cs.spec.update_strategy.rolling_update.is_none() { r } else { r - ctx.limits.partition };
    // CS-83.
    if s.updated_replicas == s.replicas && s.replicas == r {
        s.current_revision = s.update_revision.clone();
    }
    // CS-84.
    if let Some(e) = &b.scale_error {
        set_condition(&mut s.conditions, condition(cc::FAILED_SCALE, "True", "", e.clone(), now));
    }
    if let Some(e) = &b.update_error {
        set_condition(&mut s.conditions, condition(cc::FAILED_UPDATE, "True", "", e.clone(), now));
    }
    // CS-85.
    progressing(ctx, &mut s, b);
    // CS-86.
    let prog = |st: &CloneSetStatus| {
        st.conditions
            .iter()
            .find(|c| c.type_ == cc::PROGRESSING)
            .map(|c| (c.status.clone(), c.reason.clone()))
    };
    let changed = s.observed_generation > old.observed_generation
        || (s.replicas, s.ready_replicas, s.available_replicas, s.updated_replicas)
            != (old.replicas, old.ready_replicas, old.available_replicas, old.updated_replicas)
        || (s.updated_ready_replicas, s.updated_available_replicas, s.expected_updated_replicas)
            != (old.updated_ready_replicas, old.updated_available_replicas, old.expected_updated_replicas)
        || s.update_revision != old.update_revision
        || s.current_revision != old.current_revision
        || s.label_selector != old.label_selector
        || prog(&s) != prog(&old);
    if changed {
        b.push(Action::new(ActionKind::UpdateStatus, None, Some(&s.update_revision), Reason::StatusChanged));
    }
    b.plan.status = s;
}

/// Upstream's unused progress detector (spec §16 question 1), comparing the stored status
/// with the new one.
fn made_progress(cs: &kruise_api::apps::v1beta1::CloneSet, new: &CloneSetStatus) -> bool {
    if cs.spec.update_strategy.rolling_update.as_ref().is_some_and(|r| r.paused) {
        return false;
    }
    let Some(old) = cs.status.as_ref() else { return true };
    match old.conditions.iter().find(|c| c.type_ == cc::PROGRESSING) {
        None => true,
        Some(c) if c.reason == cc::REASON_PAUSED => true,
        Some(_) => {
            old.update_revision != new.update_revision
                || old.updated_replicas != new.updated_replicas
                || new.ready_replicas > old.ready_replicas
                || new.available_replicas > old.available_replicas
        }
    }
}

/// CS-85 (the code's behaviour, §16 question 1: see docs/deviations.md).
fn progressing(ctx: &Ctx<'_>, s: &mut CloneSetStatus, b: &mut Builder) {
    let cs = ctx.cs;
    let now = ctx.input.now;
    let r = ctx.limits.replicas;
    let deadline = match cs.spec.progress_deadline_seconds {
        None | Some(i32::MAX) => {
            s.conditions.retain(|c| c.type_ != cc::PROGRESSING);
            return;
        }
        Some(d) => i64::from(d),
    };
    let existing = s.conditions.iter().find(|c| c.type_ == cc::PROGRESSING).cloned();
    let paused = cs.spec.update_strategy.rolling_update.as_ref().is_some_and(|r| r.paused);
    let new = if s.current_revision == s.update_revision
        && s.replicas == r
        && s.updated_replicas == r
        && s.updated_available_replicas == r
    {
        condition(cc::PROGRESSING, "True", cc::REASON_AVAILABLE, "CloneSet is available".into(), now)
    } else if paused {
        condition(cc::PROGRESSING, "True", cc::REASON_PAUSED, "CloneSet is paused".into(), now)
    } else if s.expected_updated_replicas < r && s.expected_updated_replicas <= s.updated_available_replicas {
        condition(
            cc::PROGRESSING,
            "True",
            cc::REASON_PARTITION_AVAILABLE,
            "CloneSet has been paused due to partition ready".into(),
            now,
        )
    } else if ctx.input.features.progress_deadline_from_progress && made_progress(cs, s) {
        // §16 question 1, "intent" mode: progress restarts the deadline.
        let c = condition(cc::PROGRESSING, "True", cc::REASON_UPDATED, "CloneSet is progressing".into(), now);
        let keep =
            existing.as_ref().filter(|e| e.status == "True").and_then(|e| e.last_transition_time.clone());
        s.conditions.retain(|c| c.type_ != cc::PROGRESSING);
        s.conditions
            .push(CloneSetCondition { last_transition_time: keep.or(c.last_transition_time.clone()), ..c });
        b.plan.requeue_at_most(Duration::from_secs(deadline.max(0) as u64 + 1), Reason::ProgressDeadline);
        return;
    } else if existing.as_ref().is_some_and(|c| {
        c.reason == cc::REASON_PROGRESS_DEADLINE_EXCEEDED
            || c.last_update_time.as_ref().is_some_and(|t| t.0.as_second() + deadline < now.as_second())
    }) {
        condition(
            cc::PROGRESSING,
            "False",
            cc::REASON_PROGRESS_DEADLINE_EXCEEDED,
            format!("CloneSet revision {} has timed out progressing", s.update_revision),
            now,
        )
    } else {
        let last = existing
            .as_ref()
            .filter(|c| c.status == "True" && c.reason == cc::REASON_UPDATED)
            .and_then(|c| c.last_update_time.as_ref().map(|t| t.0))
            .unwrap_or(now);
        let left = last.as_second() + deadline - now.as_second();
        if left > 0 {
            let after = if left >= 1 { left + 1 } else { left };
            b.plan.requeue_at_most(Duration::from_secs(after as u64), Reason::ProgressDeadline);
        }
        condition(cc::PROGRESSING, "True", cc::REASON_UPDATED, "CloneSet is progressing".into(), now)
    };
    set_condition(&mut s.conditions, new);
}
