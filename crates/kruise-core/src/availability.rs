//! Readiness and availability predicates shared by every pod-owning workload (CloneSet CS-34,
//! Advanced StatefulSet ASTS-3, Advanced DaemonSet ADS-2): Kubernetes' `available(p, m)`
//! (ready for longer than `minReadySeconds`), the wait left before a ready pod becomes
//! available, and the lifecycle and in-place gates CloneSet adds on top. Pure functions of a
//! pod's facts and `now`; the workload chooses which ones it counts.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::Pod;

use crate::lifecycle::State;
use crate::podtable::Facts;

/// Where the `minReadySeconds` boundary falls: upstream CloneSet and DaemonSet need the Ready
/// transition to be *strictly* more than `m` seconds ago (CS-34, ADS-2), StatefulSet accepts
/// exactly `m` seconds (ASTS-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boundary {
    /// `lastTransitionTime + m < now`.
    Strict,
    /// `lastTransitionTime + m <= now`.
    Inclusive,
}

/// Kubernetes' `available(p, m)` time test: `m == 0`, or the Ready condition's
/// `lastTransitionTime` is known and `m` seconds before `now` (per `boundary`). Readiness itself
/// is the caller's test. Overflowing timestamps count as not yet; a negative `m` (rejected by
/// validation) is applied as an offset, as upstream does.
pub fn ready_long_enough(
    ready_since: Option<Timestamp>,
    min_ready_seconds: i32,
    now: Timestamp,
    boundary: Boundary,
) -> bool {
    if min_ready_seconds == 0 {
        return true;
    }
    ready_since.is_some_and(|t| {
        t.checked_add(SignedDuration::from_secs(i64::from(min_ready_seconds))).is_ok_and(|e| match boundary {
            Boundary::Strict => e < now,
            Boundary::Inclusive => e <= now,
        })
    })
}

/// How long a ready pod still waits before it is available (ASTS-3, CS-90): the rest of
/// `minReadySeconds` after the Ready transition, the whole of it when the transition time is
/// unknown, zero when it is over (or `m <= 0`).
pub fn min_ready_remaining(
    ready_since: Option<Timestamp>,
    min_ready_seconds: i32,
    now: Timestamp,
) -> Duration {
    if min_ready_seconds <= 0 {
        return Duration::ZERO;
    }
    let full = Duration::from_secs(min_ready_seconds.unsigned_abs().into());
    let Some(since) = ready_since else { return full };
    let elapsed = now.duration_since(since);
    if elapsed.is_negative() {
        return full;
    }
    full.saturating_sub(elapsed.unsigned_abs())
}

/// What a PodUnavailableBudget says about disrupting one pod now (CS-63): a decision the
/// adapter makes (it knows the budgets and their live counts) and hands to the planner as
/// data, never a callback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PubDecision {
    /// The pod may be disrupted (updated, deleted).
    Allowed,
    /// Not now: the update loop stops and the plan requeues after 1 s.
    Denied,
    /// The check failed: the update stops with this error (`FailedUpdate`).
    Error(String),
}

/// PodUnavailableBudget decisions by pod name (CS-63). A pod without an entry may be
/// disrupted.
pub type PubDecisions = std::collections::BTreeMap<String, PubDecision>;

/// The decision for pod `name` (absent: [`PubDecision::Allowed`]).
pub fn pub_decision<'d>(decisions: Option<&'d PubDecisions>, name: &str) -> &'d PubDecision {
    static ALLOWED: PubDecision = PubDecision::Allowed;
    decisions.and_then(|d| d.get(name)).unwrap_or(&ALLOWED)
}

/// CS-34 `updateReady(p, 0)`: phase `Running`, `Ready=True`, and `InPlaceUpdateReady` absent
/// or `True`.
pub(crate) fn update_ready(f: &Facts) -> bool {
    f.running && f.ready && f.inplace_ready_ok
}

/// CS-34: the lifecycle state lets a pod count as available (`None` or `Normal`).
pub fn lifecycle_ok(state: State) -> bool {
    matches!(state, State::None | State::Normal)
}

/// CS-34 `available(p, m)` for CloneSet: lifecycle OK, [`update_ready`], and ready long
/// enough (strict boundary).
pub(crate) fn available(f: &Facts, min_ready_seconds: i32, now: Timestamp) -> bool {
    lifecycle_ok(f.state)
        && update_ready(f)
        && ready_long_enough(f.ready_since, min_ready_seconds, now, Boundary::Strict)
}

/// CS-34 `available(p, m)` of a pod read directly (O(labels + annotations + conditions)); a
/// planner with a [`PodTable`](crate::podtable::PodTable) reads the row's facts instead.
pub fn pod_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    available(&Facts::scan(pod).facts, min_ready_seconds, now)
}

/// CS-34 `updateReady(p, 0)` of a pod read directly.
pub fn pod_update_ready(pod: &Pod) -> bool {
    update_ready(&Facts::scan(pod).facts)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use kruise_api::keys;
    use proptest::prelude::*;

    use super::*;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    fn pod(phase: &str, ready: bool, since: i64, inplace: Option<&str>, state: Option<&str>) -> Pod {
        let mut conds = vec![PodCondition {
            type_: keys::CONDITION_READY.into(),
            status: if ready { "True" } else { "False" }.into(),
            last_transition_time: Some(Time(ts(since))),
            ..Default::default()
        }];
        if let Some(s) = inplace {
            conds.push(PodCondition {
                type_: keys::INPLACE_UPDATE_READY.into(),
                status: s.into(),
                ..Default::default()
            });
        }
        let mut p = Pod {
            status: Some(PodStatus {
                phase: Some(phase.into()),
                conditions: Some(conds),
                ..Default::default()
            }),
            ..Default::default()
        };
        if let Some(s) = state {
            p.metadata.labels = Some([(keys::LIFECYCLE_STATE.to_owned(), s.to_owned())].into());
        }
        p
    }

    #[test]
    fn cs_34_available_needs_running_ready_lifecycle_inplace_and_time() {
        let now = ts(1000);
        assert!(pod_available(&pod("Running", true, 900, None, None), 10, now));
        assert!(!pod_available(&pod("Running", true, 995, None, None), 10, now), "ready 5 s of 10");
        assert!(!pod_available(&pod("Running", true, 990, None, None), 10, now), "strict boundary");
        assert!(!pod_available(&pod("Pending", true, 0, None, None), 0, now));
        assert!(!pod_available(&pod("Running", false, 0, None, None), 0, now));
        assert!(!pod_available(&pod("Running", true, 0, Some("False"), None), 0, now));
        assert!(!pod_available(&pod("Running", true, 0, None, Some("PreparingDelete")), 0, now));
        assert!(pod_available(&pod("Running", true, 0, Some("True"), Some("Normal")), 0, now));
        assert!(pod_update_ready(&pod("Running", true, 0, None, Some("PreparingDelete"))));
    }

    #[test]
    fn cs_63_absent_pub_decision_allows() {
        let d: PubDecisions = [("wëb-1".to_owned(), PubDecision::Denied)].into();
        assert_eq!(pub_decision(Some(&d), "wëb-1"), &PubDecision::Denied);
        assert_eq!(pub_decision(Some(&d), "wëb-2"), &PubDecision::Allowed);
        assert_eq!(pub_decision(None, "wëb-1"), &PubDecision::Allowed);
    }

    #[test]
    fn asts_3_inclusive_boundary_and_remaining_wait() {
        let now = ts(1000);
        assert!(ready_long_enough(Some(ts(990)), 10, now, Boundary::Inclusive));
        assert!(!ready_long_enough(Some(ts(990)), 10, now, Boundary::Strict));
        assert!(!ready_long_enough(None, 10, now, Boundary::Inclusive));
        assert!(ready_long_enough(None, 0, now, Boundary::Strict));
        assert_eq!(min_ready_remaining(Some(ts(994)), 10, now), Duration::from_secs(4));
        assert_eq!(min_ready_remaining(None, 10, now), Duration::from_secs(10));
        assert_eq!(min_ready_remaining(Some(ts(100)), 10, now), Duration::ZERO);
        assert_eq!(min_ready_remaining(Some(ts(2000)), 10, now), Duration::from_secs(10));
    }

    proptest! {
        /// A pod is ready long enough exactly when no wait remains (inclusive boundary), and
        /// never for huge or negative inputs does anything panic.
        #[test]
        fn ready_long_enough_agrees_with_remaining_wait(
            since in proptest::option::of(-10_000i64..10_000),
            m in 0..i32::MAX,
            now in -10_000i64..10_000,
        ) {
            let since = since.map(ts);
            let now = ts(now);
            let done = ready_long_enough(since, m, now, Boundary::Inclusive);
            prop_assert_eq!(done, min_ready_remaining(since, m, now).is_zero());
        }
    }
}
