//! Property tests of the invariants, over random step lists, replica counts, pod
//! readiness delays and approval times: no pod goes back to stable except on rollback; every
//! paused step's partition matches the batch arithmetic; the canary weight never exceeds the
//! share of ready canary pods; steps are visited in order; finishing restores stable routing;
//! the same observations give the same plan. Plus: never a panic on garbage status.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::rollouts::v1beta1::{CanaryStatus, CommonStatus, RolloutStatus};
use proptest::prelude::*;

use crate::rollout::batch::{Applier, WorkloadTarget, batch_replicas, batch_targets, cloneset_stable_target};
use crate::rollout::fixtures::*;
use crate::rollout::plan;

/// A step list: non-decreasing within each kind (RO-9.5), positive, percents ≤ 100.
fn steps_strategy() -> impl Strategy<Value = Vec<(bool, i32, Option<i32>, u8)>> {
    // (is_percent, value, pause, traffic share 0..=100 of the step's own share)
    prop::collection::vec((any::<bool>(), 1..=100i32, prop::option::of(0..40i32), 0..=100u8), 1..=5)
}

struct Run {
    world: World,
}

fn drive(raw: &[(bool, i32, Option<i32>, u8)], r: i32, delay: i64, traffic: bool, approve_after: u8) -> Run {
    let steps = build_steps(raw, r, traffic);
    let mut w = World::new(rollout_with(steps, traffic), r);
    w.ready_delay = delay;
    w.run(6);
    w.release("bbb");
    w.frames.clear();
    let mut approvals = 0;
    let mut paused_for = 0u8;
    for _ in 0..600 {
        // Replay: the same observations give the same plan.
        let a = plan(&w.input()).unwrap();
        let b = plan(&w.input()).unwrap();
        assert_eq!(a, b, "plan is deterministic");
        w.tick();
        let st = w.rollout.status.clone().unwrap_or_default();
        if st.phase == "Healthy" && w.br.is_none() && w.frames.len() > 10 {
            break;
        }
        if st.current_step_state == "StepPaused"
            && w.frames
                .last()
                .is_some_and(|f| f.plan.held.iter().any(|h| h.reason.kind() == "ManualApproval"))
        {
            paused_for += 1;
            if paused_for > approve_after {
                w.approve();
                approvals += 1;
                paused_for = 0;
            }
        }
    }
    let _ = approvals;
    Run { world: w }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn prop_release_invariants(raw in steps_strategy(), r in 1..=40i32, delay in 0..6i64, traffic in any::<bool>(), approve_after in 0..3u8) {
        let Run { world: w } = drive(&raw, r, delay, traffic, approve_after);
        let steps = w.rollout.spec.strategy.steps().to_vec();
        let st = w.rollout.status.clone().unwrap();
        // Finishing: Healthy, workload fully released, stable routing restored.
        prop_assert_eq!(&st.phase, "Healthy");
        prop_assert!(w.br.is_none());
        prop_assert_eq!(w.workload.partition.clone(), None);
        prop_assert_eq!(w.workload.updated_replicas, r);
        prop_assert!(w.canary.is_none());
        if let Some(svc) = &w.stable {
            prop_assert!(!svc.spec.as_ref().unwrap().selector.as_ref().unwrap().contains_key("pod-template-hash"));
        }
        if let Some(route) = &w.route {
            prop_assert!(route.spec.rules.iter().all(|rule| rule.backend_refs.iter().all(|b| b.name == "web")));
        }
        let mut prev_updated = 0;
        let mut prev_step = 0;
        let mut prev_stable_target = i32::MAX;
        for f in &w.frames {
            // No pod goes back to the stable revision (no rollback here).
            prop_assert!(f.updated >= prev_updated, "updated {} < {}", f.updated, prev_updated);
            prev_updated = f.updated;
            // The partition never rises once claimed (RO-18).
            if let Some(p) = &f.partition {
                let t = cloneset_stable_target(Some(p), r);
                prop_assert!(t <= prev_stable_target);
                prev_stable_target = t;
            }
            // Traffic weight never exceeds the share of ready canary pods.
            prop_assert!(f.weight * r <= 100 * f.updated_ready, "weight {} with {}/{} ready", f.weight, f.updated_ready, r);
            // Steps in order, one at a time.
            // (The first Progressing frame still shows RO-53's synthetic "last step,
            // Completed"; the release starts at step 1.)
            if f.phase == "Progressing" && (prev_step > 0 || f.step == 1) {
                prop_assert!(f.step == prev_step || f.step == prev_step + 1, "step {} after {}", f.step, prev_step);
                prev_step = f.step;
            }
            // A paused step's partition matches the batch arithmetic (monotonic over the
            // steps so far).
            if f.phase == "Progressing" && f.state == "StepPaused" && f.step >= 1 {
                let k = f.step as usize;
                let want = (0..k)
                    .map(|j| match batch_targets(Applier::CloneSet, steps[j].replicas.as_ref().unwrap(), r, None).target {
                        WorkloadTarget::CloneSetPartition(p) => cloneset_stable_target(Some(&p), r),
                        _ => r,
                    })
                    .min()
                    .unwrap();
                let have = cloneset_stable_target(f.partition.as_ref(), r);
                prop_assert_eq!(have, want, "step {} partition {:?}", k, f.partition);
            }
        }
    }

    /// Canary style over a native Deployment (RO-15, RO-18, RO-43): the canary Deployment
    /// never has more pods than the steps so far ask (`batch_replicas` of the stable R), has
    /// exactly that many at every pause, is never scaled down; the stable Deployment is never
    /// scaled and stays paused at every pause; the weight never exceeds the canary share;
    /// finishing deletes the canary Deployment and hands every pod to the stable one.
    #[test]
    fn prop_canary_deployment_follows_the_batches(raw in steps_strategy(), r in 1..=40i32, traffic in any::<bool>(), approve_after in 0..3u8) {
        let steps = build_steps(&raw, r, traffic);
        let mut rollout = rollout_with(steps, traffic);
        rollout.spec.workload_ref.api_version = "apps/v1".into();
        rollout.spec.workload_ref.kind = "Deployment".into();
        rollout.spec.strategy.canary.as_mut().unwrap().enable_extra_workload_for_canary = true;
        let mut w = World::new(rollout, r);
        w.workload = deployment_workload(r);
        w.run(6);
        w.release_deployment("bbb");
        w.frames.clear();
        let mut paused_for = 0u8;
        for _ in 0..800 {
            w.tick();
            let st = w.rollout.status.clone().unwrap_or_default();
            if st.phase == "Healthy" && w.br.is_none() && w.frames.len() > 10 {
                break;
            }
            if st.current_step_state == "StepPaused" {
                paused_for += 1;
                if paused_for > approve_after && w.try_approve() {
                    paused_for = 0;
                }
            }
        }
        let steps = w.rollout.spec.strategy.steps().to_vec();
        let asked = |k: usize| (0..k).map(|j| batch_replicas(steps[j].replicas.as_ref().unwrap(), r)).max().unwrap_or(0);
        let mut prev = 0;
        for f in &w.frames {
            // (0 again only once the release deletes it.)
            prop_assert!(f.canary >= prev || f.canary == 0, "canary scaled down {} -> {}", prev, f.canary);
            prev = f.canary;
            if f.phase == "Progressing" && f.step >= 1 && f.state != "Completed" {
                prop_assert!(f.canary <= asked(f.step as usize), "step {} canary {} asked {}", f.step, f.canary, asked(f.step as usize));
            }
            if f.phase == "Progressing" && f.state == "StepPaused" {
                prop_assert_eq!(f.canary, asked(f.step as usize), "step {}", f.step);
                prop_assert!(f.paused, "stable paused at step {}", f.step);
            }
            prop_assert!(f.weight * r <= 100 * f.canary, "weight {} with {} canary of {}", f.weight, f.canary, r);
            for a in &f.plan.actions {
                if let crate::plan::ActionKind::Rollout(crate::rollout::RolloutAction::PatchWorkload { patch }) = &a.kind {
                    prop_assert!(patch.replicas.is_none() || a.object.as_ref().is_some_and(|o| o.name != "web"), "stable scaled");
                }
            }
        }
        let st = w.rollout.status.clone().unwrap();
        prop_assert_eq!(&st.phase, "Healthy");
        prop_assert!(w.workload.canary.is_none() && w.workload.canary_deployments.is_empty());
        prop_assert!(!w.workload.paused);
        prop_assert_eq!(w.workload.updated_replicas, r);
        prop_assert!(w.pods.iter().all(|p| !p.metadata.name.as_deref().unwrap_or_default().starts_with("canary-")));
        prop_assert!(w.canary.is_none());
    }

    /// Blue-green (RO-42, RO-43): whatever the workload's own strategy (each field present or
    /// absent), a finished release leaves the values the workload had, the kind's defaults
    /// where it had none, and no saved-strategy annotation.
    #[test]
    fn prop_blue_green_restores_the_original_strategy(
        deployment in any::<bool>(),
        surge in prop::option::of(prop_oneof![(0..5i32).prop_map(IntOrString::Int), (0..=100i32).prop_map(|p| IntOrString::String(format!("{p}%")))]),
        unavailable in prop::option::of(prop_oneof![(0..5i32).prop_map(IntOrString::Int), (0..=100i32).prop_map(|p| IntOrString::String(format!("{p}%")))]),
        min_ready in 0..100i32,
        deadline in prop::option::of(1..2000i32),
        r in 1..=12i32,
    ) {
        let mut rollout = example_rollout(false);
        let c = rollout.spec.strategy.canary.take().unwrap();
        rollout.spec.strategy.blue_green = Some(kruise_api::rollouts::v1beta1::BlueGreenStrategy { steps: c.steps, ..Default::default() });
        if deployment {
            rollout.spec.workload_ref.api_version = "apps/v1".into();
            rollout.spec.workload_ref.kind = "Deployment".into();
        }
        let mut w = World::new(rollout, r);
        if deployment {
            w.workload = deployment_workload(r);
        }
        w.workload.max_surge = surge.clone();
        w.workload.max_unavailable = unavailable.clone();
        w.workload.min_ready_seconds = min_ready;
        w.workload.progress_deadline_seconds = deadline;
        w.run(5);
        if deployment { w.release_deployment("bbb") } else { w.release("bbb") }
        for _ in 0..400 {
            w.tick();
            w.try_approve();
            if w.rollout.status.as_ref().is_some_and(|s| s.phase == "Healthy") && w.br.is_none() && w.frames.len() > 20 {
                break;
            }
        }
        let wl = &w.workload;
        prop_assert_eq!(&w.rollout.status.as_ref().unwrap().phase, "Healthy");
        prop_assert!(!wl.annotations.contains_key(kruise_api::keys::ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY));
        let (ds, du) = if deployment { ("25%", "25%") } else { ("0%", "20%") };
        prop_assert_eq!(wl.max_surge.clone(), Some(surge.unwrap_or_else(|| IntOrString::String(ds.into()))));
        prop_assert_eq!(wl.max_unavailable.clone(), Some(unavailable.unwrap_or_else(|| IntOrString::String(du.into()))));
        prop_assert_eq!(wl.min_ready_seconds, min_ready);
        let want_deadline = if deployment { Some(deadline.unwrap_or(600)) } else { deadline };
        prop_assert_eq!(wl.progress_deadline_seconds, want_deadline);
    }

    /// The canary Deployment's name stays a valid length for any stable name (non-ASCII
    /// included, up to 300 bytes) and keeps the release's hash.
    #[test]
    fn prop_canary_deployment_name_fits(name in "[a-zé漢-]{1,100}", extra in 0..200usize) {
        let mut w = deployment_workload(3);
        w.name = format!("{name}{}", "x".repeat(extra));
        w.canary_revision = "644bcb6cf5".into();
        let n = crate::rollout::batch_release::canary_deployment_name(&w);
        prop_assert!(n.len() <= 253, "{} bytes", n.len());
        prop_assert!(n.ends_with("-644bcb6cf5"));
    }

    #[test]
    fn prop_rollback_returns_every_pod_to_stable(raw in steps_strategy(), r in 2..=30i32, at in 1..40usize) {
        let steps = build_steps(&raw, r, true);
        let mut w = World::new(rollout_with(steps, true), r);
        w.run(6);
        w.release("bbb");
        for _ in 0..at {
            w.tick();
            if w.frames.last().is_some_and(|f| f.plan.held.iter().any(|h| h.reason.kind() == "ManualApproval")) {
                w.approve();
            }
        }
        w.revert();
        for _ in 0..400 {
            w.tick();
            if w.rollout.status.as_ref().is_some_and(|s| s.phase == "Healthy") && w.br.is_none() {
                break;
            }
            // Reverting before any pod moved is a new (no-op) release of the stable revision
            // (RO-19, RO-50): it still pauses for approval.
            if w.frames.last().is_some_and(|f| f.plan.held.iter().any(|h| h.reason.kind() == "ManualApproval")) {
                w.approve();
            }
        }
        prop_assert_eq!(&w.rollout.status.clone().unwrap().phase, "Healthy");
        prop_assert_eq!(w.workload.partition.clone(), None);
        prop_assert!(w.pods.iter().all(|p| hash_of(p) == "aaa"));
        prop_assert!(w.canary.is_none());
        if let Some(route) = &w.route {
            prop_assert!(route.spec.rules.iter().all(|rule| rule.backend_refs.iter().all(|b| b.name == "web")));
        }
    }

    #[test]
    fn prop_never_panics_on_garbage_status(
        phase in "[A-Za-z]{0,12}|Progressing|Healthy|Terminating|Disabling",
        state in "[A-Za-z]{0,12}|StepPaused|StepReady|StepUpgrade|BeforeStepUpgrade|StepTrafficRouting|Completed",
        reason in "[A-Za-z]{0,10}|InRolling|Finalising|Cancelling|Initializing|Paused",
        fin in "[A-Za-z]{0,10}|END|ResumeWorkload|WaitEndless",
        cur in -5..60i32, next in -5..60i32, r in 0..100_000i32, name in "[a-zé漢-]{1,12}",
    ) {
        let mut w = World::new(example_rollout(true), 3);
        w.rollout.metadata.name = Some(name);
        w.workload.replicas = r;
        w.rollout.status = Some(RolloutStatus {
            phase,
            conditions: vec![kruise_api::rollouts::v1beta1::RolloutCondition { type_: "Progressing".into(), status: "True".into(), reason, ..Default::default() }],
            canary_status: Some(CanaryStatus {
                common: CommonStatus { current_step_index: cur, next_step_index: next, current_step_state: state, finalising_step: fin, ..Default::default() },
                ..Default::default()
            }),
            ..Default::default()
        });
        let _ = plan(&w.input());
    }
}
