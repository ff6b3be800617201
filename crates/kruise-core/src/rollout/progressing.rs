//! The Rollout controller pass: phases (RO-22), progressing reasons (RO-23..RO-25), the step
//! machine (RO-26..RO-36), finalising (RO-44..RO-47, RO-51..RO-53), continuous release and
//! batch rollback (RO-49, RO-50), blue-green differences (RO-55), the shared TrafficRouting
//! protocol on the Rollout side (RO-24, RO-45, RO-64).

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::keys;
use kruise_api::rollouts::v1beta1::{
    BatchRelease, BatchReleaseSpec, BlueGreenStatus, CanaryStatus, CanaryStep, CommonStatus, ReleaseBatch,
    ReleasePlan, Rollout, RolloutCondition, RolloutStatus, batch_state, br_phase, condition, finalising_step,
    finalizing_policy, phase, step_state,
};

use super::Input;
use super::batch::scale_or_zero;
use super::batch_release::release_plan_hash;
use super::traffic::{self, Progress, TrafficContext, shared_subject};
use super::types::{Obj, Plan, PlanExt, RolloutAction as ActionKind, RolloutReason as Reason};
use crate::plan::Reason as Shared;

use super::workload::Workload;

/// Requeue while initializing, finalising, resetting and after traffic steps (RO-54).
pub const RECHECK: Duration = Duration::from_secs(3);

/// RO-34 `next(i)`: `i + 1` if `i < n`, else −1.
pub fn next_index(i: i32, n: i32) -> i32 {
    if i < n { i + 1 } else { -1 }
}

/// RO-34's correction helper (specified for tests; the planner never rewrites the stored
/// value, see RO-34).
pub fn corrected_next_index(stored: i32, current: i32, n: i32) -> i32 {
    if stored <= 0 || stored > n { next_index(current, n) } else { stored }
}

/// RO-36: the plan fingerprint over the strategy with `failureThreshold`, every step's `pause`
/// and `strategy.paused` removed.
pub fn rollout_hash(r: &Rollout) -> String {
    let mut s = r.spec.strategy.clone();
    s.paused = false;
    if let Some(c) = &mut s.canary {
        c.failure_threshold = None;
        c.steps.iter_mut().for_each(|st| st.pause = Default::default());
    }
    if let Some(b) = &mut s.blue_green {
        b.failure_threshold = None;
        b.steps.iter_mut().for_each(|st| st.pause = Default::default());
    }
    let json = serde_json::to_vec(&s).unwrap_or_default();
    format!("{:08x}", super::hash32(&json))
}

/// The sub-status, strategy-independent.
#[derive(Clone, Debug, Default, PartialEq)]
struct Sub {
    common: CommonStatus,
    revision: String,
    replicas: i32,
    ready: i32,
}

/// RO-45 finalising reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinaliseReason {
    /// All steps done.
    Success,
    /// Direct rollback.
    Rollback,
    /// `spec.disabled`.
    Disabled,
    /// Deletion.
    Deleting,
}

/// RO-45: the items of a reason's row.
pub fn finalising_row(reason: FinaliseReason, blue_green: bool) -> &'static [&'static str] {
    use finalising_step::*;
    match (blue_green, reason) {
        (false, FinaliseReason::Rollback) => &[
            ROUTE_TRAFFIC_TO_STABLE,
            RESUME_WORKLOAD,
            RELEASE_WORKLOAD_CONTROL,
            RESTORE_STABLE_SERVICE,
            REMOVE_CANARY_SERVICE,
        ],
        (false, _) | (true, FinaliseReason::Disabled | FinaliseReason::Deleting) => &[
            RESTORE_STABLE_SERVICE,
            ROUTE_TRAFFIC_TO_STABLE,
            REMOVE_CANARY_SERVICE,
            RESUME_WORKLOAD,
            RELEASE_WORKLOAD_CONTROL,
        ],
        (true, FinaliseReason::Success) => &[
            ROUTE_TRAFFIC_TO_NEW,
            RESTORE_STABLE_SERVICE,
            RESUME_WORKLOAD,
            ROUTE_TRAFFIC_TO_STABLE,
            REMOVE_CANARY_SERVICE,
            RELEASE_WORKLOAD_CONTROL,
        ],
        (true, FinaliseReason::Rollback) => &[
            ROUTE_TRAFFIC_TO_STABLE,
            RESUME_WORKLOAD,
            RESTORE_STABLE_SERVICE,
            REMOVE_CANARY_SERVICE,
            RELEASE_WORKLOAD_CONTROL,
        ],
    }
}

/// RO-45 `successor(reason, item)`.
pub fn successor(reason: FinaliseReason, blue_green: bool, item: &str) -> &'static str {
    let row = finalising_row(reason, blue_green);
    if item.is_empty() {
        return row[0];
    }
    match row.iter().position(|i| *i == item) {
        Some(p) if p + 1 < row.len() => row[p + 1],
        _ => finalising_step::END,
    }
}

/// RO-45: items a pass may run (canary: the five canary items; blue-green: six plus
/// `WaitEndless`).
pub fn runnable(item: &str, blue_green: bool) -> bool {
    use finalising_step::*;
    let canary = [
        RESTORE_STABLE_SERVICE,
        ROUTE_TRAFFIC_TO_STABLE,
        REMOVE_CANARY_SERVICE,
        RESUME_WORKLOAD,
        RELEASE_WORKLOAD_CONTROL,
    ];
    canary.contains(&item) || (blue_green && (item == ROUTE_TRAFFIC_TO_NEW || item == "WaitEndless"))
}

/// RO-6 condition update: no-op when status, reason and message are unchanged; keeps
/// `lastTransitionTime` when `status` is unchanged; `lastUpdateTime` only on creation.
pub fn set_condition(
    conds: &mut Vec<RolloutCondition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) {
    match conds.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => {
            if c.status == status && c.reason == reason && c.message == message {
                return;
            }
            if c.status != status {
                c.last_transition_time = Some(Time(now));
            }
            c.status = status.into();
            c.reason = reason.into();
            c.message = message.into();
        }
        None => conds.push(RolloutCondition {
            type_: type_.into(),
            status: status.into(),
            last_update_time: Some(Time(now)),
            last_transition_time: Some(Time(now)),
            reason: reason.into(),
            message: message.into(),
        }),
    }
}

fn get_condition<'s>(st: &'s RolloutStatus, type_: &str) -> Option<&'s RolloutCondition> {
    st.conditions.iter().find(|c| c.type_ == type_)
}

struct Ctx<'a> {
    i: &'a Input<'a>,
    r: &'a Rollout,
    name: String,
    subject: String,
    hash: String,
    blue_green: bool,
    steps: &'a [CanaryStep],
    st: RolloutStatus,
    sub: Option<Sub>,
    plan: Plan,
}

/// One Rollout controller pass (the Rollout side of [`super::plan`]).
pub fn reconcile(i: &Input<'_>) -> Plan {
    let r = i.rollout;
    let stored = r.status.clone().unwrap_or_default();
    let blue_green = r.spec.strategy.blue_green.is_some();
    let sub = match (&stored.canary_status, &stored.blue_green_status) {
        (Some(c), _) => Some(Sub {
            common: c.common.clone(),
            revision: c.canary_revision.clone(),
            replicas: c.canary_replicas,
            ready: c.canary_ready_replicas,
        }),
        (None, Some(b)) => Some(Sub {
            common: b.common.clone(),
            revision: b.updated_revision.clone(),
            replicas: b.updated_replicas,
            ready: b.updated_ready_replicas,
        }),
        _ => None,
    };
    let name = r.metadata.name.clone().unwrap_or_default();
    let mut c = Ctx {
        i,
        r,
        subject: format!("Rollout/{name}"),
        name,
        hash: rollout_hash(r),
        blue_green,
        steps: r.spec.strategy.steps(),
        st: stored.clone(),
        sub,
        plan: Plan::default(),
    };
    c.run(&stored);
    c.finish(&stored)
}

impl<'a> Ctx<'a> {
    fn n(&self) -> i32 {
        i32::try_from(self.steps.len()).unwrap_or(i32::MAX)
    }
    fn now(&self) -> Timestamp {
        self.i.now
    }
    fn w(&self) -> Option<&'a Workload> {
        self.i.workload
    }
    fn replicas(&self) -> i32 {
        self.w().map_or(0, |w| w.replicas)
    }
    fn requeue(&mut self, after: Duration, reason: impl Into<Shared>) {
        self.plan.requeue_after(after, reason);
    }
    fn hold(&mut self, reason: impl Into<Shared>) {
        let s = self.subject.clone();
        self.plan.hold(s, reason);
    }
    fn sub_mut(&mut self) -> &mut Sub {
        self.sub.get_or_insert_with(Sub::default)
    }
    fn transition(&mut self, status: &str, reason: &str, message: &str) {
        set_condition(&mut self.st.conditions, condition::PROGRESSING, status, reason, message, self.i.now);
        self.st.message = message.into();
    }
    fn shared_name(&self) -> Option<String> {
        super::trafficrouting::shared_routing_name(self.r)
    }
    fn progressing_finalizer(&self) -> String {
        format!("{}{}", keys::ROLLOUT_PROGRESSING_FINALIZER_PREFIX, self.name)
    }

    fn run(&mut self, stored: &RolloutStatus) {
        let r = self.r;
        // Rollout finalizer (cleanup on delete).
        let has_fin =
            r.metadata.finalizers.as_ref().is_some_and(|f| f.iter().any(|x| x == keys::ROLLOUT_FINALIZER));
        if r.metadata.deletion_timestamp.is_none() && !has_fin {
            let s = self.subject.clone();
            self.plan.push(
                ActionKind::AddFinalizer { finalizer: keys::ROLLOUT_FINALIZER.into() },
                s,
                Reason::RolloutFinalizer,
            );
        }
        // RO-36 hash annotation.
        let ann = r.metadata.annotations.as_ref().and_then(|a| a.get(keys::ROLLOUT_HASH));
        if ann != Some(&self.hash) {
            let s = self.subject.clone();
            let annotations = BTreeMap::from([(keys::ROLLOUT_HASH.to_owned(), Some(self.hash.clone()))]);
            self.plan.push(ActionKind::PatchRolloutAnnotations { annotations }, s, Reason::PlanChanged);
        }
        if !self.phase_machine(stored) {
            return;
        }
        match stored.phase.as_str() {
            phase::PROGRESSING => self.progressing(stored),
            phase::TERMINATING => self.terminating(stored),
            phase::DISABLING => self.disabling(),
            _ => {}
        }
    }

    /// RO-51.
    fn disabling(&mut self) {
        if self.finalising(FinaliseReason::Disabled) {
            self.st.phase = phase::DISABLED.into();
            self.st.message = "Rollout is disabled".into();
        }
    }

    /// RO-46 / RO-47: finalising after success or cancel.
    fn closing(&mut self, reason: FinaliseReason) {
        if !self.finalising(reason) {
            return;
        }
        let (succeeded, msg) = match reason {
            FinaliseReason::Success => ("True", "Rollout progressing has been completed"),
            _ => ("False", "Rollout progressing has been canceled"),
        };
        self.transition("False", condition::REASON_COMPLETED, msg);
        set_condition(
            &mut self.st.conditions,
            condition::SUCCEEDED,
            succeeded,
            condition::REASON_COMPLETED,
            msg,
            self.i.now,
        );
    }

    /// RO-31 then the StepReady transition.
    fn paused(&mut self, idx: i32, step: &CanaryStep) {
        if self.paused_done(idx, step) {
            let now = self.now();
            let s = self.sub_mut();
            s.common.last_update_time = Some(Time(now));
            s.common.current_step_state = step_state::STEP_READY.into();
        }
    }

    /// RO-22. Returns false when the pass ends here.
    fn phase_machine(&mut self, stored: &RolloutStatus) -> bool {
        let r = self.r;
        let now = self.now();
        self.st.observed_generation = r.metadata.generation.unwrap_or(0);
        if r.metadata.deletion_timestamp.is_some() {
            self.st.phase = phase::TERMINATING.into();
            if get_condition(&self.st, condition::TERMINATING).is_none() {
                set_condition(
                    &mut self.st.conditions,
                    condition::TERMINATING,
                    "True",
                    condition::REASON_IN_TERMINATING,
                    "Rollout is in terminating",
                    now,
                );
            }
            return true;
        }
        if r.spec.disabled && stored.phase != phase::DISABLED && stored.phase != phase::DISABLING {
            if stored.phase == phase::PROGRESSING {
                self.st.phase = phase::DISABLING.into();
                self.st.message = "Disabling rollout, release resources".into();
            } else {
                self.st.phase = phase::DISABLED.into();
                self.st.message = "Rollout is disabled".into();
            }
            return true;
        }
        if self.st.phase.is_empty() {
            self.st.phase = phase::INITIAL.into();
        }
        let Some(w) = self.w() else {
            if !r.spec.disabled {
                self.st = RolloutStatus {
                    observed_generation: self.st.observed_generation,
                    phase: phase::INITIAL.into(),
                    message: "Workload Not Found".into(),
                    ..RolloutStatus::default()
                };
                self.sub = None;
                self.hold(Reason::Missing {
                    what: format!("{}/{}", r.spec.workload_ref.kind, r.spec.workload_ref.name),
                });
            }
            return false;
        };
        if w.inconsistent() {
            self.hold(Reason::WorkloadInconsistent);
            self.requeue(RECHECK, Reason::WorkloadInconsistent);
            self.st = stored.clone();
            return false;
        }
        let (generation, id, rev) = (w.generation, w.rollout_id(), w.canary_revision.clone());
        if let Some(s) = &mut self.sub
            && s.revision == rev
        {
            s.common.observed_rollout_id = id;
            s.common.observed_workload_generation = generation;
        }
        let in_progress = w.in_rollout_progressing();
        match self.st.phase.as_str() {
            phase::INITIAL => {
                self.st.phase = phase::HEALTHY.into();
                self.st.message = "rollout is healthy".into();
            }
            phase::HEALTHY if in_progress => {
                self.st.phase = phase::PROGRESSING.into();
                self.transition("True", condition::REASON_INITIALIZING, "Rollout is in Progressing");
                self.st.conditions.retain(|c| c.type_ != condition::SUCCEEDED);
            }
            phase::HEALTHY if self.sub.is_none() => self.first_observation(),
            phase::DISABLED if !r.spec.disabled => {
                self.st.phase = phase::HEALTHY.into();
                self.st.message = "rollout is healthy".into();
            }
            phase::PROGRESSING => {
                let done = get_condition(&self.st, condition::PROGRESSING)
                    .is_none_or(|c| c.reason == condition::REASON_COMPLETED && c.status == "False");
                if done && stored.phase == phase::PROGRESSING {
                    self.st.phase = phase::HEALTHY.into();
                    self.st.message = "rollout is healthy".into();
                }
            }
            _ => {}
        }
        true
    }

    /// RO-53.
    fn first_observation(&mut self) {
        let Some(w) = self.w() else { return };
        let n = self.n();
        self.sub = Some(Sub {
            common: CommonStatus {
                observed_workload_generation: w.generation,
                observed_rollout_id: w.rollout_id(),
                rollout_hash: self.hash.clone(),
                stable_revision: w.stable_revision.clone(),
                pod_template_hash: w.pod_template_hash.clone(),
                current_step_index: n,
                next_step_index: next_index(n, n),
                current_step_state: step_state::COMPLETED.into(),
                message: "workload deployment is completed".into(),
                ..CommonStatus::default()
            },
            revision: w.canary_revision.clone(),
            replicas: 0,
            ready: 0,
        });
    }

    fn progressing(&mut self, stored: &RolloutStatus) {
        let reason =
            get_condition(stored, condition::PROGRESSING).map(|c| c.reason.clone()).unwrap_or_default();
        match reason.as_str() {
            condition::REASON_INITIALIZING => {
                if self.initializing() {
                    self.transition("True", condition::REASON_IN_ROLLING, "Rollout is in Progressing");
                } else {
                    self.requeue(RECHECK, Reason::Initializing);
                }
            }
            condition::REASON_IN_ROLLING => self.in_rolling(),
            condition::REASON_PAUSED => {
                if !self.r.spec.strategy.paused {
                    self.transition("True", condition::REASON_IN_ROLLING, "Rollout is in Progressing");
                } else {
                    self.hold(Shared::Paused);
                }
            }
            condition::REASON_FINALISING => self.closing(FinaliseReason::Success),
            condition::REASON_CANCELLING => self.closing(FinaliseReason::Rollback),
            _ => {}
        }
    }

    fn traffic_configured(&self) -> bool {
        !self.r.spec.strategy.traffic_routings().is_empty()
    }

    /// RO-24.
    fn initializing(&mut self) -> bool {
        let Some(w) = self.w().cloned() else { return false };
        let now = self.now();
        self.sub = Some(Sub {
            common: CommonStatus {
                observed_workload_generation: w.generation,
                rollout_hash: self.hash.clone(),
                observed_rollout_id: w.rollout_id(),
                stable_revision: w.stable_revision.clone(),
                current_step_index: 1,
                next_step_index: next_index(1, self.n()),
                current_step_state: step_state::BEFORE_STEP_UPGRADE.into(),
                last_update_time: Some(Time(now)),
                ..CommonStatus::default()
            },
            revision: w.canary_revision.clone(),
            replicas: 0,
            ready: 0,
        });
        if let Some(r) = self.r.spec.strategy.traffic_routings().first() {
            let obs = &self.i.traffic;
            let mut missing = Vec::new();
            if obs.stable_service.is_none() {
                missing.push(format!("Service/{}", r.service));
            }
            if let Some(g) = &r.gateway
                && obs.http_route.is_none()
            {
                missing.push(format!("HTTPRoute/{}", g.http_route_name.as_deref().unwrap_or_default()));
            }
            if let Some(ing) = &r.ingress
                && obs.ingress.is_none()
            {
                missing.push(format!("Ingress/{}", ing.name));
            }
            if !missing.is_empty() {
                self.hold(Reason::Missing { what: missing.join(", ") });
                return false;
            }
        }
        let since = get_condition(&self.st, condition::PROGRESSING)
            .and_then(|c| c.last_update_time.as_ref())
            .map_or(now.as_second(), |t| t.0.as_second());
        let left = since + 3 - now.as_second();
        if left >= 0 {
            self.hold(Shared::GracePeriod { remaining: u64::try_from(left.max(1)).unwrap_or(1) });
            return false;
        }
        if let Some(name) = self.shared_name() {
            let fin = self.progressing_finalizer();
            let Some(tr) = self.i.traffic.shared else {
                self.hold(Reason::Missing { what: shared_subject(&name) });
                return false;
            };
            let has = tr.metadata.finalizers.as_ref().is_some_and(|f| f.contains(&fin));
            if !has {
                let phase = tr.status.as_ref().map(|s| s.phase.as_str()).unwrap_or_default();
                let closing = tr.metadata.deletion_timestamp.is_some()
                    || phase == kruise_api::rollouts::v1alpha1::tr_phase::FINALIZING
                    || phase == kruise_api::rollouts::v1alpha1::tr_phase::TERMINATING;
                if !closing {
                    self.plan.push(
                        ActionKind::AddFinalizer { finalizer: fin },
                        shared_subject(&name),
                        Reason::SharedTrafficRouting,
                    );
                }
                self.hold(Reason::SharedTrafficRouting);
                return false;
            }
        }
        true
    }

    fn batch_rollback_enabled(&self) -> bool {
        let Some(w) = self.w() else { return false };
        let kind = &self.r.spec.workload_ref.kind;
        let typ =
            w.labels.get(keys::ROLLOUT_WORKLOAD_TYPE).is_some_and(|t| t.eq_ignore_ascii_case("statefulset"));
        !self.traffic_configured()
            && (kind == "StatefulSet" || kind == "CloneSet" || typ)
            && self
                .r
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(keys::ROLLOUT_ROLLBACK_IN_BATCH))
                .is_some_and(|v| v == "true")
    }

    /// RO-25.
    fn in_rolling(&mut self) {
        let Some(w) = self.w().cloned() else { return };
        let status_rev = self.sub.as_ref().map(|s| s.revision.clone()).unwrap_or_default();
        let batch_rb = self.batch_rollback_enabled();
        if w.in_rollback && w.canary_revision != status_rev && !batch_rb {
            self.sub_mut().revision = w.canary_revision.clone();
            self.transition("True", condition::REASON_CANCELLING, "Rollout is in cancelling");
            return;
        }
        if self.r.spec.strategy.paused {
            self.transition(
                "True",
                condition::REASON_PAUSED,
                "Rollout has been paused, you can resume it by kube-cli",
            );
            self.hold(Shared::Paused);
            return;
        }
        if w.in_rollback && w.canary_revision != status_rev && batch_rb {
            let (n, now, hash) = (self.n(), self.now(), self.hash.clone());
            let s = self.sub_mut();
            s.common.current_step_index = 1;
            s.common.next_step_index = next_index(1, n);
            s.common.current_step_state = step_state::BEFORE_STEP_UPGRADE.into();
            s.common.rollout_hash = hash;
            s.common.last_update_time = Some(Time(now));
            s.revision = w.canary_revision.clone();
            return;
        }
        if !status_rev.is_empty() && status_rev != w.canary_revision && !w.in_rollback {
            self.continuous_release();
            return;
        }
        let stored_hash = self.sub.as_ref().map(|s| s.common.rollout_hash.clone()).unwrap_or_default();
        if !stored_hash.is_empty() && stored_hash != self.hash {
            self.plan_changed();
            return;
        }
        if self.sub.as_ref().is_some_and(|s| s.common.current_step_state == step_state::COMPLETED) {
            self.transition(
                "True",
                condition::REASON_FINALISING,
                "Rollout has been completed and some closing work is being done",
            );
            return;
        }
        self.step_machine();
    }

    /// RO-50.
    fn continuous_release(&mut self) {
        if self.blue_green {
            self.st.message =
                "new version releasing detected in the progress of blue-green release, please rollback first"
                    .into();
            self.hold(Reason::Refused);
            return;
        }
        let ctx = self.traffic_ctx();
        let (now, obs) = (self.now(), self.i.traffic);
        if self.traffic_configured() {
            let p = traffic::restore_routes(&ctx, &obs, now, &mut self.plan);
            if let Some(d) = traffic::retry_after(p) {
                self.requeue(d, Reason::ContinuousRelease);
                return;
            }
        }
        if self.i.batch_release.is_some() {
            let s = format!("BatchRelease/{}", self.name);
            self.plan.push(ActionKind::DeleteBatchRelease, s, Reason::ContinuousRelease);
            self.requeue(RECHECK, Reason::ContinuousRelease);
            return;
        }
        if self.traffic_configured() {
            let p = traffic::remove_canary_service(&ctx, &obs, now, &mut self.plan);
            if let Some(d) = traffic::retry_after(p) {
                self.requeue(d, Reason::ContinuousRelease);
                return;
            }
        }
        self.sub = None;
        self.transition("True", condition::REASON_INITIALIZING, "Workload is continuous release");
        self.requeue(RECHECK, Reason::ContinuousRelease);
    }

    /// RO-36.
    fn plan_changed(&mut self) {
        let r = self.replicas();
        let n = self.n();
        let cur_index = self.sub.as_ref().map_or(1, |s| s.common.current_step_index);
        let cur = self.i.batch_release.and_then(|br| {
            let rp = &br.spec.release_plan;
            let bp = usize::try_from(rp.batch_partition?).ok()?;
            rp.batches.get(bp).map(|b| scale_or_zero(&b.canary_replicas, r))
        });
        let target = match cur {
            None => 1,
            Some(cur) => {
                let mut order: Vec<i32> = Vec::new();
                if (1..=n).contains(&cur_index) {
                    order.push(cur_index);
                }
                order.extend((1..=n).filter(|k| *k != cur_index));
                let mut target = *order.last().unwrap_or(&1);
                for k in &order {
                    let step = &self.steps[usize::try_from(*k - 1).unwrap_or(0)];
                    if step.replicas.as_ref().map_or(0, |x| scale_or_zero(x, r)) >= cur {
                        target = *k;
                        break;
                    }
                }
                target
            }
        };
        let (now, hash) = (self.now(), self.hash.clone());
        let s = self.sub_mut();
        s.common.rollout_hash = hash;
        s.common.last_update_time = Some(Time(now));
        if target == s.common.next_step_index {
            s.common.current_step_state = step_state::STEP_READY.into();
        } else {
            s.common.next_step_index = target;
            self.jump();
        }
    }

    fn step(&self, index: i32) -> Option<&CanaryStep> {
        usize::try_from(index - 1).ok().and_then(|i| self.steps.get(i))
    }

    /// RO-33; true when a jump happened.
    fn jump(&mut self) -> bool {
        let n = self.n();
        let r = self.replicas();
        let Some(s) = &self.sub else { return false };
        let (cur, next) = (s.common.current_step_index, s.common.next_step_index);
        if next == next_index(cur, n) || !(1..=n).contains(&next) {
            return false;
        }
        let want = self.step(next).and_then(|st| st.replicas.as_ref()).map_or(0, |x| scale_or_zero(x, r));
        let now = self.now();
        let s = self.sub_mut();
        s.common.current_step_index = next;
        s.common.next_step_index = next_index(next, n);
        s.common.last_update_time = Some(Time(now));
        s.common.current_step_state = if want == s.replicas {
            step_state::STEP_TRAFFIC_ROUTING.into()
        } else {
            step_state::BEFORE_STEP_UPGRADE.into()
        };
        true
    }

    fn traffic_ctx(&self) -> TrafficContext {
        let refs = self.r.spec.strategy.traffic_routings().to_vec();
        let shared = self.shared_name().is_some();
        let (disable, patch) = match (&self.r.spec.strategy.canary, &self.r.spec.strategy.blue_green) {
            (Some(c), _) => (
                c.disable_generate_canary_service,
                c.patch_pod_template_metadata.as_ref().map(|p| p.labels.clone()),
            ),
            (None, Some(b)) => (b.disable_generate_canary_service, None),
            _ => (false, None),
        };
        let stable = refs.first().map(|r| r.service.clone()).unwrap_or_default();
        let canary = if shared || disable { stable.clone() } else { format!("{stable}-canary") };
        let sub = self.sub.clone().unwrap_or_default();
        let idx = sub.common.current_step_index;
        let step = self.step(idx).or_else(|| self.steps.first()).cloned().unwrap_or_default();
        TrafficContext {
            refs,
            rollout: self.name.clone(),
            step: idx,
            stable_service: stable,
            canary_service: canary,
            only_traffic_routing: shared,
            disable_canary_service: disable,
            revision_label_key: self
                .w()
                .map_or(keys::POD_TEMPLATE_HASH, Workload::revision_label_key)
                .to_owned(),
            stable_revision: sub.common.stable_revision.clone(),
            canary_revision: sub.common.pod_template_hash.clone(),
            traffic: step.traffic.clone(),
            matches: step.matches.clone(),
            request_header_modifier: step.request_header_modifier.clone(),
            selector_patch: if disable { BTreeMap::new() } else { patch.unwrap_or_default() },
            append_pod_selector: self.i.config.append_pod_selector,
        }
    }

    fn desired_br(&self, step_index: i32) -> (BatchReleaseSpec, BTreeMap<String, String>) {
        let w = self.w();
        let strategy = &self.r.spec.strategy;
        let (ft, ppm, extra) = match (&strategy.canary, &strategy.blue_green) {
            (Some(c), _) => (
                c.failure_threshold.clone(),
                c.patch_pod_template_metadata.clone(),
                c.enable_extra_workload_for_canary,
            ),
            (None, Some(b)) => (b.failure_threshold.clone(), None, false),
            _ => (None, None, false),
        };
        let spec = BatchReleaseSpec {
            workload_ref: self.r.spec.workload_ref.clone(),
            release_plan: ReleasePlan {
                batches: self
                    .steps
                    .iter()
                    .map(|s| ReleaseBatch {
                        canary_replicas: s.replicas.clone().unwrap_or(IntOrString::Int(0)),
                    })
                    .collect(),
                batch_partition: Some(step_index - 1),
                rollout_id: w.map(Workload::rollout_id).unwrap_or_default(),
                failure_threshold: ft,
                finalizing_policy: String::new(),
                patch_pod_template_metadata: ppm,
                rolling_style: strategy.rolling_style().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                enable_extra_workload_for_canary: extra,
            },
        };
        let mut ann = BTreeMap::new();
        if w.is_some_and(|w| w.in_rollback)
            && let Some(v) =
                self.r.metadata.annotations.as_ref().and_then(|a| a.get(keys::ROLLOUT_ROLLBACK_IN_BATCH))
        {
            ann.insert(keys::ROLLOUT_ROLLBACK_IN_BATCH.to_owned(), v.clone());
        }
        (spec, ann)
    }

    fn br_annotations(br: &BatchRelease) -> BTreeMap<String, String> {
        br.metadata
            .annotations
            .as_ref()
            .map(|a| {
                a.iter()
                    .filter(|(k, _)| *k == keys::ROLLOUT_ROLLBACK_IN_BATCH)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// RO-26.
    fn step_machine(&mut self) {
        let Some(w) = self.w().cloned() else { return };
        let br_subject = format!("BatchRelease/{}", self.name);
        if let Some(br) = self.i.batch_release {
            let bst = br.status.clone().unwrap_or_default();
            let s = self.sub_mut();
            s.replicas = bst.canary_status.updated_replicas;
            s.ready = bst.canary_status.updated_ready_replicas;
            s.common.message = format!(
                "BatchRelease is at state {}, rollout-id {}, step {}",
                bst.canary_status.batch_state,
                bst.observed_rollout_id,
                bst.canary_status.current_batch + 1
            );
            let id = s.common.observed_rollout_id.clone();
            if br.spec.release_plan.rollout_id != id && br.metadata.deletion_timestamp.is_none() {
                let mut spec = br.spec.clone();
                spec.release_plan.rollout_id = id;
                let annotations = Self::br_annotations(br);
                self.plan.push(
                    ActionKind::UpdateBatchRelease { spec: Obj::new(spec), annotations },
                    &br_subject,
                    Reason::SyncRolloutId,
                );
            }
        }
        if self.sub_mut().common.pod_template_hash.is_empty() {
            self.sub_mut().common.pod_template_hash = w.pod_template_hash.clone();
        }
        if self.jump() {
            return;
        }
        let n = self.n();
        let idx = self.sub_mut().common.current_step_index.clamp(1, n.max(1));
        self.sub_mut().common.current_step_index = idx;
        let Some(step) = self.step(idx).cloned() else { return };
        let ctx = self.traffic_ctx();
        let (now, obs) = (self.now(), self.i.traffic);
        if step.is_no_traffic_step() {
            let p = traffic::finalise_traffic(&ctx, &obs, now, &mut self.plan);
            if let Some(d) = traffic::retry_after(p) {
                self.requeue(d, Reason::RouteTrafficToStable);
                return;
            }
        }
        let r = w.replicas;
        let full = step.replicas.as_ref().is_some_and(|x| scale_or_zero(x, r) >= r);
        let real_partition = self.r.is_real_partition();
        let state = self.sub_mut().common.current_step_state.clone();
        match state.as_str() {
            step_state::BEFORE_STEP_UPGRADE | step_state::STEP_UPGRADE => {
                if state == step_state::BEFORE_STEP_UPGRADE {
                    if step.is_no_traffic_step() {
                        self.sub_mut().common.current_step_state = step_state::STEP_UPGRADE.into();
                        return;
                    }
                    if full && real_partition && !self.blue_green {
                        let p = traffic::restore_stable_service(&ctx, &obs, now, &mut self.plan);
                        if let Some(d) = traffic::retry_after(p) {
                            self.requeue(d, Reason::RestoreStableService);
                            return;
                        }
                    }
                    // Deviation (docs/deviations.md, Rollout RO-28): a first step that upgrades
                    // every pod skips the pin; upstream restores and pins in turn forever.
                    if idx == 1
                        && !ctx.disable_canary_service
                        && !(full && real_partition && !self.blue_green)
                    {
                        let p = traffic::pin_stable_service(&ctx, &obs, now, &mut self.plan);
                        if let Some(d) = traffic::retry_after(p) {
                            self.requeue(d, Reason::PinStableService);
                            return;
                        }
                    }
                    let s = self.sub_mut();
                    s.common.last_update_time = Some(Time(now));
                    s.common.current_step_state = step_state::STEP_UPGRADE.into();
                }
                if self.step_upgrade(idx, &br_subject, &w) {
                    let skip_traffic = full && real_partition && !self.blue_green;
                    let s = self.sub_mut();
                    s.common.pod_template_hash = w.pod_template_hash.clone();
                    s.common.last_update_time = Some(Time(now));
                    s.common.current_step_state = if skip_traffic {
                        step_state::STEP_METRICS_ANALYSIS.into()
                    } else {
                        step_state::STEP_TRAFFIC_ROUTING.into()
                    };
                }
            }
            step_state::STEP_TRAFFIC_ROUTING => {
                let last = self.sub.as_ref().and_then(|s| s.common.last_update_time.as_ref()).map(|t| t.0);
                let (p, modified) = traffic::do_traffic_routing(&ctx, &obs, last, now, &mut self.plan);
                if modified {
                    self.sub_mut().common.last_update_time = Some(Time(now));
                }
                if p.is_done() {
                    let s = self.sub_mut();
                    s.common.last_update_time = Some(Time(now));
                    s.common.current_step_state = step_state::STEP_METRICS_ANALYSIS.into();
                }
                self.requeue(RECHECK, Reason::TrafficStep { step: idx });
            }
            step_state::STEP_METRICS_ANALYSIS => {
                self.sub_mut().common.current_step_state = step_state::STEP_PAUSED.into();
            }
            step_state::STEP_PAUSED => self.paused(idx, &step),
            step_state::STEP_READY => {
                let s = self.sub_mut();
                s.common.last_update_time = Some(Time(now));
                if n > idx {
                    s.common.current_step_index = idx + 1;
                    s.common.next_step_index = next_index(idx + 1, n);
                    s.common.current_step_state = step_state::BEFORE_STEP_UPGRADE.into();
                } else {
                    s.common.current_step_state = step_state::COMPLETED.into();
                    if self.blue_green {
                        self.transition(
                            "True",
                            condition::REASON_FINALISING,
                            "Rollout has been completed and some closing work is being done",
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// RO-29; true when the batch of step `idx` is done.
    fn step_upgrade(&mut self, idx: i32, br_subject: &str, w: &Workload) -> bool {
        let msg = format!("Rollout is in step({idx}/{}), and upgrade workload to new version", self.n());
        self.transition("True", condition::REASON_IN_ROLLING, &msg);
        let (spec, ann) = self.desired_br(idx);
        let Some(br) = self.i.batch_release.filter(|b| b.metadata.deletion_timestamp.is_none()) else {
            if self.i.batch_release.is_none() {
                self.plan.push(
                    ActionKind::CreateBatchRelease { spec: Obj::new(spec), annotations: ann },
                    br_subject,
                    Reason::StepUpgrade { step: idx, steps: self.n() },
                );
            }
            return false;
        };
        if br.spec != spec || Self::br_annotations(br) != ann {
            self.plan.push(
                ActionKind::UpdateBatchRelease { spec: Obj::new(spec), annotations: ann },
                br_subject,
                Reason::StepUpgrade { step: idx, steps: self.n() },
            );
            return false;
        }
        let bst = br.status.clone().unwrap_or_default();
        let current = bst.observed_release_plan_hash == release_plan_hash(&br.spec.release_plan)
            && bst.observed_generation == br.metadata.generation.unwrap_or(0);
        let ready =
            bst.canary_status.batch_state == batch_state::READY && bst.canary_status.current_batch + 1 >= idx;
        if !(current && ready) {
            let why = if current {
                format!("batch state {:?}", bst.canary_status.batch_state)
            } else {
                "BatchRelease status not current".into()
            };
            self.plan
                .hold(w.subject(), Reason::BatchNotReady { batch: bst.canary_status.current_batch, why });
            return false;
        }
        true
    }

    /// RO-31.
    fn paused_done(&mut self, idx: i32, step: &CanaryStep) -> bool {
        let n = self.n();
        if !self.blue_green && idx == n && step.replicas == Some(IntOrString::String("100%".into())) {
            return true;
        }
        let now = self.now();
        match step.pause.duration {
            None => {
                let msg = format!(
                    "Rollout is in step({idx}/{n}), and you need manually confirm to enter the next step"
                );
                self.transition("True", condition::REASON_IN_ROLLING, &msg);
                self.sub_mut().common.message = msg;
                self.hold(Reason::ManualApproval { step: idx });
                false
            }
            Some(d) => {
                let msg = format!(
                    "Rollout is in step({idx}/{n}), and wait duration({d} seconds) to enter the next step"
                );
                self.transition("True", condition::REASON_IN_ROLLING, &msg);
                self.sub_mut().common.message = msg;
                let start = self
                    .sub
                    .as_ref()
                    .and_then(|s| s.common.last_update_time.as_ref())
                    .map_or(now.as_second(), |t| t.0.as_second());
                let end = start + i64::from(d);
                if end < now.as_second() {
                    return true;
                }
                let left = u64::try_from(end - now.as_second()).unwrap_or(0).max(1);
                self.hold(Reason::PauseDuration { remaining: left });
                self.requeue(Duration::from_secs(left), Reason::PauseDuration { remaining: left });
                false
            }
        }
    }

    fn terminating(&mut self, stored: &RolloutStatus) {
        let done_before = get_condition(stored, condition::TERMINATING)
            .is_some_and(|c| c.reason == condition::REASON_COMPLETED);
        if !done_before {
            if !self.finalising(FinaliseReason::Deleting) {
                return;
            }
            set_condition(
                &mut self.st.conditions,
                condition::TERMINATING,
                "False",
                condition::REASON_COMPLETED,
                "Rollout is in terminating",
                self.i.now,
            );
        }
        if self.r.metadata.finalizers.as_ref().is_some_and(|f| f.iter().any(|x| x == keys::ROLLOUT_FINALIZER))
        {
            let s = self.subject.clone();
            self.plan.push(
                ActionKind::RemoveFinalizer { finalizer: keys::ROLLOUT_FINALIZER.into() },
                s,
                Reason::RolloutFinalizer,
            );
        }
    }

    /// RO-45; true when done.
    fn finalising(&mut self, reason: FinaliseReason) -> bool {
        if self.sub.is_none() {
            return true;
        }
        let now = self.now();
        // Before the items: the workload's in-progressing annotation and the shared routing
        // finalizer go.
        if let Some(w) = self.w()
            && w.in_rollout_progressing()
        {
            let patch = super::types::WorkloadPatch {
                annotations: BTreeMap::from([(keys::ROLLOUT_IN_PROGRESSING.to_owned(), None)]),
                ..Default::default()
            };
            let s = w.subject();
            self.plan.push(
                ActionKind::PatchWorkload { patch: Obj::new(patch) },
                s,
                Reason::Finalising { item: "in-progressing".into() },
            );
        }
        if let (Some(name), Some(tr)) = (self.shared_name(), self.i.traffic.shared) {
            let fin = self.progressing_finalizer();
            if tr.metadata.finalizers.as_ref().is_some_and(|f| f.contains(&fin)) {
                self.plan.push(
                    ActionKind::RemoveFinalizer { finalizer: fin },
                    shared_subject(&name),
                    Reason::SharedTrafficRouting,
                );
            }
        }
        let bg = self.blue_green;
        let cur = self.sub_mut().common.finalising_step.clone();
        let succ = successor(reason, bg, &cur);
        let row = finalising_row(reason, bg);
        let item: &str = if cur.is_empty() {
            let s = self.sub_mut();
            s.common.finalising_step = row[0].into();
            s.common.last_update_time = Some(Time(now));
            row[0]
        } else if cur == finalising_step::END {
            return true;
        } else if !runnable(&cur, bg) {
            self.sub_mut().common.finalising_step = row[0].into();
            self.requeue(RECHECK, Reason::Finalising { item: row[0].into() });
            return false;
        } else {
            row.iter()
                .chain([finalising_step::ROUTE_TRAFFIC_TO_NEW].iter())
                .find(|i| **i == cur)
                .copied()
                .unwrap_or(row[0])
        };
        if cur == "WaitEndless" {
            self.hold(Reason::Finalising { item: cur.clone() });
            self.requeue(RECHECK, Reason::Finalising { item: cur });
            return false;
        }
        if !self.run_item(item, reason) {
            self.hold(Reason::Finalising { item: item.into() });
            self.requeue(RECHECK, Reason::Finalising { item: item.into() });
            return false;
        }
        let s = self.sub_mut();
        s.common.last_update_time = Some(Time(now));
        s.common.finalising_step = succ.into();
        if succ == finalising_step::END {
            return true;
        }
        self.requeue(RECHECK, Reason::Finalising { item: succ.into() });
        false
    }

    fn run_item(&mut self, item: &str, reason: FinaliseReason) -> bool {
        let ctx = self.traffic_ctx();
        let (now, obs) = (self.now(), self.i.traffic);
        let br_subject = format!("BatchRelease/{}", self.name);
        let p = match item {
            finalising_step::RESTORE_STABLE_SERVICE => {
                traffic::restore_stable_service(&ctx, &obs, now, &mut self.plan)
            }
            finalising_step::ROUTE_TRAFFIC_TO_STABLE => {
                traffic::restore_routes(&ctx, &obs, now, &mut self.plan)
            }
            finalising_step::REMOVE_CANARY_SERVICE => {
                traffic::remove_canary_service(&ctx, &obs, now, &mut self.plan)
            }
            finalising_step::ROUTE_TRAFFIC_TO_NEW => {
                traffic::route_all_to_canary(&ctx, &obs, now, &mut self.plan)
            }
            finalising_step::RESUME_WORKLOAD => {
                let Some(br) = self.i.batch_release else { return true };
                let policy = if reason == FinaliseReason::Success {
                    finalizing_policy::WAIT_RESUME
                } else {
                    finalizing_policy::IMMEDIATE
                };
                let mut spec = br.spec.clone();
                spec.release_plan.batch_partition = None;
                spec.release_plan.finalizing_policy = policy.into();
                if spec != br.spec {
                    let annotations = Self::br_annotations(br);
                    self.plan.push(
                        ActionKind::UpdateBatchRelease { spec: Obj::new(spec), annotations },
                        &br_subject,
                        Reason::ResumeWorkload,
                    );
                    return false;
                }
                let done = br.status.as_ref().is_some_and(|s| s.phase == br_phase::COMPLETED);
                return done;
            }
            finalising_step::RELEASE_WORKLOAD_CONTROL => {
                if self.i.batch_release.is_some() {
                    self.plan.push(
                        ActionKind::DeleteBatchRelease,
                        &br_subject,
                        Reason::ReleaseWorkloadControl,
                    );
                    return false;
                }
                return true;
            }
            _ => Progress::Done,
        };
        p.is_done()
    }

    fn finish(mut self, stored: &RolloutStatus) -> Plan {
        let bg = self.blue_green;
        match self.sub.take() {
            None => {
                self.st.canary_status = None;
                self.st.blue_green_status = None;
            }
            Some(s) => {
                self.st.current_step_index = s.common.current_step_index;
                self.st.current_step_state = s.common.current_step_state.clone();
                if bg {
                    self.st.canary_status = None;
                    self.st.blue_green_status = Some(BlueGreenStatus {
                        common: s.common,
                        updated_revision: s.revision,
                        updated_replicas: s.replicas,
                        updated_ready_replicas: s.ready,
                    });
                } else {
                    self.st.blue_green_status = None;
                    self.st.canary_status = Some(CanaryStatus {
                        common: s.common,
                        canary_revision: s.revision,
                        canary_replicas: s.replicas,
                        canary_ready_replicas: s.ready,
                    });
                }
            }
        }
        if self.st.canary_status.is_none() && self.st.blue_green_status.is_none() {
            self.st.current_step_index = 0;
            self.st.current_step_state = String::new();
        }
        if self.st != *stored {
            let from = stored.phase.clone();
            let to = self.st.phase.clone();
            let reason: Shared =
                if from != to { Reason::Phase { from, to }.into() } else { Shared::StatusChanged };
            let s = self.subject.clone();
            self.plan.push_shared(crate::plan::ActionKind::UpdateStatus, s, reason);
        }
        self.plan.status = self.st;
        self.plan
    }
}
