//! Fuzz target: the Rollout planner (RO-n) driven over a release. An `arbitrary` description
//! of a canary step list (int or percent replicas, pauses, traffic as a share of each step's
//! pods), a CloneSet of up to 300 replicas behind a Service and a Gateway API HTTPRoute (or
//! none), how long new pods take to become ready, and a script of reconciles, manual
//! approvals and one possible rollback, is run through the planner's test world
//! (`kruise_core::rollout::fixtures`), then a plan is made over garbage status and workload
//! facts. Asserted: never panics; the same observations give the same plan; before a rollback
//! the canary weight the HTTPRoute gives never exceeds the share of ready canary pods, no pod
//! goes back to the stable revision and the partition never rises (RO-18);
//! steps are visited in order; a release that finishes leaves the routes on stable.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use kruise_api::rollouts::v1beta1::{CanaryStatus, CommonStatus, RolloutCondition, RolloutStatus};
use kruise_core::rollout::batch::cloneset_stable_target;
use kruise_core::rollout::fixtures::{World, build_steps, rollout_with};
use kruise_core::rollout::plan;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug, Clone, Copy)]
struct StepDesc {
    percent: bool,
    value: u8,
    pause: Option<u8>,
    share: u8,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    /// One reconcile.
    Tick,
    /// Approve a paused step (no-op elsewhere).
    Approve,
    /// Revert the template to stable (RO-47), once.
    Revert,
    /// New pods take this many seconds to become ready from now on.
    Delay(u8),
}

impl Op {
    /// One script byte: mostly reconciles, some approvals, rare reverts and delay changes.
    fn of(b: u8) -> Self {
        match b {
            0..=159 => Op::Tick,
            160..=199 => Op::Approve,
            200..=207 => Op::Revert,
            _ => Op::Delay(b % 8),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Garbage {
    phase: String,
    state: String,
    reason: String,
    finalising: String,
    current: i32,
    next: i32,
    replicas: i32,
    name: String,
}

#[derive(Arbitrary, Debug)]
struct Case {
    /// 1..=5 of these are used.
    steps: [StepDesc; 5],
    n_steps: u8,
    replicas: u16,
    traffic: bool,
    delay: u8,
    garbage: Option<Garbage>,
}

/// The first bytes of an input describe the [`Case`]; the rest is the script.
const HEAD: usize = 96;

fn weight_line(w: &World, r: i32) {
    if let Some(f) = w.frames.last() {
        assert!(
            i64::from(f.weight) * i64::from(r) <= 100 * i64::from(f.updated_ready),
            "weight {}% with {}/{} canary pods ready",
            f.weight,
            f.updated_ready,
            r
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let (head, script) = data.split_at(data.len().min(HEAD));
    let Ok(c) = Case::arbitrary(&mut Unstructured::new(head)) else { return };
    let r = i32::from(c.replicas % 300) + 1;
    let raw: Vec<(bool, i32, Option<i32>, u8)> = c
        .steps
        .iter()
        .take(usize::from(c.n_steps % 5) + 1)
        .map(|s| (s.percent, i32::from(s.value % 100) + 1, s.pause.map(|p| i32::from(p % 40)), s.share % 101))
        .collect();
    let mut w = World::new(rollout_with(build_steps(&raw, r, c.traffic), c.traffic), r);
    w.ready_delay = i64::from(c.delay % 8);
    // Initial reconciles: the Rollout becomes Healthy over the settled workload.
    for _ in 0..6 {
        if w.try_tick().is_err() {
            return;
        }
    }
    w.release("bbb");
    w.frames.clear();
    let (mut reverted, mut prev_updated, mut prev_target, mut prev_step) = (false, 0, i32::MAX, 0);
    for op in script.iter().take(400).map(|b| Op::of(*b)) {
        match op {
            Op::Tick => {
                // Replay: the same observations give the same plan.
                let (a, b) = (plan(&w.input()), plan(&w.input()));
                assert_eq!(a, b, "plan is deterministic");
                if w.try_tick().is_err() {
                    return;
                }
                let Some(f) = w.frames.last() else { continue };
                // A user's rollback moves pods at once; the routes follow on the next pass.
                if !reverted {
                    weight_line(&w, r);
                    assert!(f.updated >= prev_updated, "updated {} < {}", f.updated, prev_updated);
                    prev_updated = f.updated;
                    if let Some(p) = &f.partition {
                        let t = cloneset_stable_target(Some(p), r);
                        assert!(t <= prev_target, "partition rose: {t} > {prev_target}");
                        prev_target = t;
                    }
                    if f.phase == "Progressing" && (prev_step > 0 || f.step == 1) {
                        assert!(
                            f.step == prev_step || f.step == prev_step + 1,
                            "step {} after {}",
                            f.step,
                            prev_step
                        );
                        prev_step = f.step;
                    }
                }
            }
            Op::Approve => {
                w.try_approve();
            }
            Op::Revert if !reverted => {
                reverted = true;
                w.revert();
            }
            Op::Revert => {}
            Op::Delay(d) => w.ready_delay = i64::from(d % 8),
        }
    }
    let done = w.rollout.status.as_ref().is_some_and(|s| s.phase == "Healthy") && w.br.is_none();
    if done && let Some(route) = &w.route {
        assert!(
            route.spec.rules.iter().all(|rule| rule.backend_refs.iter().all(|b| b.name == "web")),
            "finished release left traffic on the canary"
        );
    }
    // Garbage status and workload facts: a plan or an error, never a panic.
    if let Some(g) = c.garbage {
        w.rollout.metadata.name = Some(g.name);
        w.workload.replicas = g.replicas;
        w.rollout.status = Some(RolloutStatus {
            phase: g.phase,
            conditions: vec![RolloutCondition {
                type_: "Progressing".into(),
                status: "True".into(),
                reason: g.reason,
                ..Default::default()
            }],
            canary_status: Some(CanaryStatus {
                common: CommonStatus {
                    current_step_index: g.current,
                    next_step_index: g.next,
                    current_step_state: g.state,
                    finalising_step: g.finalising,
                    ..Default::default()
                },
                ..Default::default()
            }),
            ..Default::default()
        });
        let _ = plan(&w.input());
    }
});
