//! One test (or more) per spec rule, named after it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::gateway::HttpRouteRule;
use kruise_api::keys;
use kruise_api::rollouts::v1beta1::{
    HttpHeaderMatch, HttpPathMatch, HttpRouteMatch, ReleaseBatch, ReleasePlan, batch_state, br_phase,
    finalising_step as fs, step_state,
};

use crate::rollout::batch::*;
use crate::rollout::fixtures::*;
use crate::rollout::progressing::{
    FinaliseReason, corrected_next_index, finalising_row, next_index, rollout_hash, runnable, successor,
};
use crate::rollout::traffic::{IntentKind, RouteIntent, gateway_rules, nginx_annotations, weight_of};
use crate::rollout::{PlanError, PlanExt, RolloutReason as Reason, plan};

fn i(n: i32) -> IntOrString {
    IntOrString::Int(n)
}

// ---- RO-13..RO-18 batch arithmetic -----------------------------------------------------------

#[test]
fn ro_13_percent_scaling_rounds_up() {
    assert_eq!(scale(&pct("20%"), 10), Ok(2));
    assert_eq!(scale(&pct("10%"), 5), Ok(1));
    assert_eq!(scale(&pct("33%"), 10), Ok(4));
    assert_eq!(scale(&pct("1%"), 101), Ok(2));
    assert_eq!(scale(&i(7), 3), Ok(7));
    assert!(scale(&pct("50"), 10).is_err());
    assert_eq!(weight_of("5%"), 5);
}

#[test]
fn ro_14_batch_size_clamped_to_replicas() {
    assert_eq!(batch_replicas(&pct("200%"), 10), 10);
    assert_eq!(batch_replicas(&i(200), 10), 10);
    assert_eq!(batch_replicas(&i(0), 10), 0);
    assert_eq!(batch_replicas(&i(-3), 10), 0);
}

#[test]
fn ro_15_cloneset_integer_batch_writes_integer_partition() {
    let t = batch_targets(Applier::CloneSet, &i(1), 10, None);
    assert_eq!((t.planned, t.desired_updated, t.desired_stable), (1, 1, 9));
    assert_eq!(t.target, WorkloadTarget::CloneSetPartition(i(9)));
}

#[test]
fn ro_15_cloneset_percent_batch_writes_percent_partition() {
    let t = batch_targets(Applier::CloneSet, &pct("50%"), 10, None);
    assert_eq!(t.target, WorkloadTarget::CloneSetPartition(pct("50%")));
    let t = batch_targets(Applier::CloneSet, &pct("10%"), 10, None);
    assert_eq!(t.target, WorkloadTarget::CloneSetPartition(pct("90%")));
    let t = batch_targets(Applier::CloneSet, &pct("100%"), 10, None);
    assert_eq!(t.target, WorkloadTarget::CloneSetPartition(pct("0%")));
}

#[test]
fn ro_15_no_need_update_replicas_shrink_the_batch() {
    // RO-49 example: R=20, 10 no-need, batch 20% -> planned 4, desired updated 12, "40%".
    let t = batch_targets(Applier::CloneSet, &pct("20%"), 20, Some(10));
    assert_eq!((t.planned, t.desired_updated, t.desired_stable), (4, 12, 8));
    assert_eq!(t.target, WorkloadTarget::CloneSetPartition(pct("40%")));
}

#[test]
fn ro_15_ordered_statefulset_partition_counts_ordinals() {
    let t = batch_targets(Applier::StatefulSetLike { ordered: true }, &pct("20%"), 20, Some(10));
    assert_eq!(t.target, WorkloadTarget::IntPartition(18));
    assert_eq!(t.desired_updated, 12);
    let t = batch_targets(Applier::StatefulSetLike { ordered: false }, &pct("20%"), 20, Some(10));
    assert_eq!(t.target, WorkloadTarget::IntPartition(8));
}

#[test]
fn ro_15_daemonset_deployment_canary_and_blue_green_targets() {
    assert_eq!(
        batch_targets(Applier::AdvancedDaemonSet, &i(3), 5, None).target,
        WorkloadTarget::IntPartition(2)
    );
    let d = batch_targets(Applier::DeploymentPartition, &pct("90%"), 5, None);
    assert_eq!((d.planned, d.target.clone()), (4, WorkloadTarget::DeploymentPartition(pct("90%"))));
    assert_eq!(new_rs_limit(&pct("100%"), 5), 5);
    assert_eq!(new_rs_limit(&pct("90%"), 1), 1);
    assert_eq!(
        batch_targets(Applier::DeploymentCanary, &pct("30%"), 10, None).target,
        WorkloadTarget::CanaryReplicas(3)
    );
    let bg = batch_targets(Applier::BlueGreen, &pct("50%"), 10, None);
    assert_eq!((bg.planned, bg.target), (5, WorkloadTarget::MaxSurge(pct("50%"))));
}

#[test]
fn ro_16_integer_to_percent_partition() {
    assert_eq!(pct_partition(1, 3, false), pct("33%"));
    assert_eq!(pct_partition(98, 99, false), pct("98%"));
    assert_eq!(pct_partition(1, 101, false), pct("1%"));
    assert_eq!(pct_partition(5, 10, false), pct("50%"));
    assert_eq!(pct_partition(8, 10, false), pct("80%"));
    assert_eq!(pct_partition(10, 10, false), pct("100%"));
    assert_eq!(pct_partition(0, 10, false), pct("0%"));
    assert_eq!(pct_partition(-1, 10, true), pct("0%"));
}

#[test]
fn ro_16_percent_partition_keeps_intent_within_one_percent() {
    for all in 1..300 {
        for p in 0..=100 {
            let batch = pct(&format!("{p}%"));
            let stable = all - batch_replicas(&batch, all);
            let part = pct_partition(stable, all, p == 100);
            let kept = cloneset_stable_target(Some(&part), all);
            if p == 0 {
                assert_eq!(kept, all, "0% keeps all (R={all})");
            }
            if p == 100 {
                assert_eq!(kept, 0, "100% keeps none (R={all})");
            }
            if p > 0 && all > 1 {
                assert!(kept < all, "{p}% of {all} upgrades at least one");
            }
        }
    }
}

#[test]
fn ro_17_cloneset_partition_reading() {
    assert_eq!(cloneset_stable_target(Some(&i(9)), 10), 9);
    assert_eq!(cloneset_stable_target(Some(&pct("50%")), 10), 5);
    assert_eq!(cloneset_stable_target(Some(&pct("0%")), 10), 0);
    assert_eq!(cloneset_stable_target(Some(&pct("90%")), 10), 9);
    assert_eq!(cloneset_stable_target(Some(&pct("99%")), 10), 9, "round-up to R becomes R-1");
    assert_eq!(cloneset_stable_target(Some(&pct("100%")), 10), 10);
    assert_eq!(cloneset_stable_target(None, 10), 0);
    assert_eq!(cloneset_stable_target(Some(&i(50)), 10), 10);
}

#[test]
fn ro_18_monotonic_release_never_moves_back() {
    let r = 10;
    let t = |x| WorkloadTarget::CloneSetPartition(x);
    assert!(needs_patch(Some(&pct("100%")), &t(i(9)), r));
    assert!(!needs_patch(Some(&i(5)), &t(i(9)), r), "never raise the partition");
    assert!(!needs_patch(None, &t(i(9)), r), "absent partition reads as 0");
    assert!(!needs_patch(Some(&i(2)), &WorkloadTarget::IntPartition(3), r));
    assert!(needs_patch(Some(&i(2)), &WorkloadTarget::DeploymentPartition(i(3)), r));
    assert!(!needs_patch(Some(&i(4)), &WorkloadTarget::CanaryReplicas(3), r));
    assert!(needs_patch(Some(&i(1)), &WorkloadTarget::MaxSurge(i(1)), r), "maxSurge 1 reads as 0");
}

// ---- RO-40, RO-41 ------------------------------------------------------------------------------

fn targets(d: i32) -> BatchTargets {
    BatchTargets {
        planned: d,
        desired_updated: d,
        desired_stable: 10 - d,
        target: WorkloadTarget::IntPartition(10 - d),
    }
}

#[test]
fn ro_40_batch_ready_rules() {
    let c = |u, ur| BatchCounts { updated: u, updated_ready: ur };
    assert_eq!(batch_ready(c(5, 4), &targets(5), Some(&i(1)), "", &[]), None);
    assert!(matches!(
        batch_ready(c(5, 3), &targets(5), Some(&i(1)), "", &[]),
        Some(NotReady::TooFewReady { .. })
    ));
    assert!(matches!(
        batch_ready(c(4, 4), &targets(5), Some(&pct("60%")), "", &[]),
        Some(NotReady::TooFewUpdated { .. })
    ));
    assert_eq!(batch_ready(c(5, 0), &targets(5), Some(&i(100)), "", &[]), Some(NotReady::NoneReady));
    assert_eq!(batch_ready(c(0, 0), &targets(0), None, "", &[]), None);
}

#[test]
fn ro_40_rule_4_counts_labelled_pods_and_passes_empty_lists() {
    let c = BatchCounts { updated: 2, updated_ready: 2 };
    assert_eq!(batch_ready(c, &targets(2), None, "bbb", &[]), None, "empty pod list passes");
    let mut p = pod("a", "bbb", true);
    p.metadata.labels.get_or_insert_default().insert(keys::ROLLOUT_ID.into(), "bbb".into());
    let q = pod("b", "bbb", true);
    assert_eq!(
        batch_ready(c, &targets(2), None, "bbb", &[p.clone(), q.clone()]),
        Some(NotReady::Unlabelled { labelled: 1, planned: 2 })
    );
}

#[test]
fn ro_41_pod_batch_labels_fill_from_the_highest_batch() {
    // batches [2,5], c=1, 5 updated pods of which 3 already labelled batch 1 -> batch2 gets 2.
    let mut pods = Vec::new();
    for n in 0..5 {
        let mut p = pod(&format!("p{n}"), "bbb", true);
        if n < 3 {
            let l = p.metadata.labels.get_or_insert_default();
            l.insert(keys::ROLLOUT_ID.into(), "bbb".into());
            l.insert(keys::ROLLOUT_BATCH_ID.into(), "1".into());
        }
        pods.push(p);
    }
    let refs: Vec<_> = pods.iter().collect();
    let labels = batch_labels(&[i(2), i(5)], 1, 10, "bbb", &refs);
    assert_eq!(labels.iter().filter(|l| l.batch_id == 2).count(), 2);
    assert_eq!(labels.len(), 2, "over-labelled batch 1 is not relabelled");
    let counts_after = 3 + labels.len();
    assert_eq!(counts_after, 5);
}

#[test]
fn ro_41_no_labels_without_rollout_id() {
    let p = pod("p", "bbb", true);
    assert!(batch_labels(&[i(1)], 0, 10, "", &[&p]).is_empty());
    assert!(pod_on_revision(&p, "web-bbb"));
    assert!(!pod_on_revision(&p, ""));
}

// ---- RO-34, RO-36, RO-45 -----------------------------------------------------------------------

#[test]
fn ro_34_next_index_and_correction() {
    assert_eq!(next_index(1, 3), 2);
    assert_eq!(next_index(3, 3), -1);
    assert_eq!(corrected_next_index(0, 2, 3), 3);
    assert_eq!(corrected_next_index(7, 2, 3), 3);
    assert_eq!(corrected_next_index(1, 2, 3), 1);
}

#[test]
fn ro_36_hash_ignores_pause_threshold_and_paused() {
    let a = example_rollout(true);
    let mut b = a.clone();
    let c = b.spec.strategy.canary.as_mut().unwrap();
    c.steps[1].pause.duration = Some(600);
    c.failure_threshold = Some(pct("20%"));
    b.spec.strategy.paused = true;
    assert_eq!(rollout_hash(&a), rollout_hash(&b));
    b.spec.strategy.canary.as_mut().unwrap().steps[0].traffic = Some("10%".into());
    assert_ne!(rollout_hash(&a), rollout_hash(&b));
}

#[test]
fn ro_45_finalising_rows_and_successor() {
    assert_eq!(finalising_row(FinaliseReason::Success, false)[0], fs::RESTORE_STABLE_SERVICE);
    assert_eq!(finalising_row(FinaliseReason::Rollback, false)[0], fs::ROUTE_TRAFFIC_TO_STABLE);
    assert_eq!(finalising_row(FinaliseReason::Success, true)[0], fs::ROUTE_TRAFFIC_TO_NEW);
    assert_eq!(successor(FinaliseReason::Success, false, ""), fs::RESTORE_STABLE_SERVICE);
    assert_eq!(successor(FinaliseReason::Success, false, fs::RESUME_WORKLOAD), fs::RELEASE_WORKLOAD_CONTROL);
    assert_eq!(successor(FinaliseReason::Success, false, fs::RELEASE_WORKLOAD_CONTROL), fs::END);
    assert_eq!(successor(FinaliseReason::Success, false, "Bogus"), fs::END);
    assert_eq!(successor(FinaliseReason::Deleting, false, fs::ROUTE_TRAFFIC_TO_NEW), fs::END);
    assert!(!runnable(fs::ROUTE_TRAFFIC_TO_NEW, false));
    assert!(runnable("WaitEndless", true));
}

// ---- RO-59, RO-61 traffic intents ------------------------------------------------------------

fn intent(weight: Option<i32>, matches: Vec<HttpRouteMatch>) -> RouteIntent {
    RouteIntent {
        kind: IntentKind::Canary,
        canary_weight: weight,
        matches,
        request_header_modifier: None,
        stable_service: "web".into(),
        canary_service: "web-canary".into(),
    }
}

#[test]
fn ro_59_gateway_weight_appends_canary_ref() {
    let rules = route().spec.rules;
    let out = gateway_rules(&rules, &intent(Some(5), vec![]));
    assert_eq!(out[0].backend_refs, vec![backend("web", Some(95)), backend("web-canary", Some(5))]);
    let again = gateway_rules(&out, &intent(Some(50), vec![]));
    assert_eq!(again[0].backend_refs, vec![backend("web", Some(50)), backend("web-canary", Some(50))]);
}

#[test]
fn ro_59_backend_without_kind_is_not_the_stable_service() {
    let mut rules = route().spec.rules;
    rules[0].backend_refs[0].kind = None;
    assert_eq!(gateway_rules(&rules, &intent(Some(5), vec![])), rules);
}

#[test]
fn ro_59_gateway_matches_build_canary_rules() {
    let hdr = HttpRouteMatch {
        headers: vec![HttpHeaderMatch { type_: None, name: "user".into(), value: "pc".into() }],
        ..HttpRouteMatch::default()
    };
    let mut rules = route().spec.rules;
    rules[0].matches = vec![HttpRouteMatch {
        path: Some(HttpPathMatch { type_: Some("PathPrefix".into()), value: Some("/api".into()) }),
        ..HttpRouteMatch::default()
    }];
    let out = gateway_rules(&rules, &intent(Some(30), vec![hdr.clone()]));
    assert_eq!(out.len(), 2, "matches win over weight (RO-60)");
    assert_eq!(out[0], rules[0]);
    assert_eq!(out[1].backend_refs[0].name, "web-canary");
    assert_eq!(out[1].matches[0].headers, hdr.headers);
    assert_eq!(out[1].matches[0].path, rules[0].matches[0].path);
    // Re-applying is stable (the old canary rule is dropped and rebuilt).
    assert_eq!(gateway_rules(&out, &intent(Some(30), vec![hdr])), out);
}

#[test]
fn ro_59_restore_removes_canary_refs_and_rules() {
    let rules = route().spec.rules;
    let weighted = gateway_rules(&rules, &intent(Some(5), vec![]));
    let restored =
        gateway_rules(&weighted, &RouteIntent { kind: IntentKind::Restore, ..intent(None, vec![]) });
    assert_eq!(
        restored,
        vec![HttpRouteRule { backend_refs: vec![backend("web", Some(1))], ..HttpRouteRule::default() }]
    );
}

#[test]
fn ro_61_nginx_annotations() {
    let hdr = HttpRouteMatch {
        headers: vec![HttpHeaderMatch {
            type_: Some("RegularExpression".into()),
            name: "user".into(),
            value: "p.*".into(),
        }],
        ..HttpRouteMatch::default()
    };
    let a = nginx_annotations(&intent(Some(20), vec![hdr]));
    let k = |s: &str| format!("nginx.ingress.kubernetes.io/{s}");
    assert_eq!(a[&k("canary")], Some("true".into()));
    assert_eq!(a[&k("canary-weight")], Some("20".into()));
    assert_eq!(a[&k("canary-by-header")], Some("user".into()));
    assert_eq!(a[&k("canary-by-header-pattern")], Some("p.*".into()));
    assert_eq!(a[&k("canary-by-header-value")], None);
    let cookie = HttpRouteMatch {
        headers: vec![HttpHeaderMatch { type_: None, name: "canary-by-cookie".into(), value: "beta".into() }],
        ..HttpRouteMatch::default()
    };
    let a = nginx_annotations(&intent(None, vec![cookie]));
    assert_eq!(a[&k("canary-by-cookie")], Some("beta".into()));
    assert_eq!(a[&k("canary-weight")], None);
}

// ---- RO-9, RO-22 phases -------------------------------------------------------------------------

#[test]
fn ro_9_invalid_rollout_is_an_error_naming_the_field() {
    let mut r = example_rollout(true);
    r.spec.strategy.canary.as_mut().unwrap().steps[0].replicas = Some(pct("0%"));
    let w = World::new(r, 10);
    match plan(&w.input()) {
        Err(PlanError::InvalidSpec { path, .. }) => {
            assert_eq!(path.as_str(), "spec.strategy.canary.steps[0].replicas")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ro_22_initial_then_healthy_then_first_observation() {
    let mut w = World::new(example_rollout(true), 10);
    w.tick();
    assert_eq!(w.rollout.status.as_ref().unwrap().phase, "Healthy");
    w.tick();
    let st = w.rollout.status.clone().unwrap();
    let c = st.canary_status.expect("RO-53 synthetic sub-status");
    assert_eq!((c.common.current_step_index, c.common.next_step_index), (3, -1));
    assert_eq!(c.common.current_step_state, step_state::COMPLETED);
    assert_eq!(c.common.observed_rollout_id, "aaa");
    assert_eq!(
        w.rollout.metadata.annotations.as_ref().unwrap()[keys::ROLLOUT_HASH],
        rollout_hash(&w.rollout)
    );
}

#[test]
fn ro_22_workload_missing_resets_status() {
    let w = World::new(example_rollout(true), 10);
    let mut input = w.input();
    input.workload = None;
    let p = plan(&input).unwrap();
    assert_eq!(p.status.phase, "Initial");
    assert_eq!(p.status.message, "Workload Not Found");
}

#[test]
fn ro_22_inconsistent_workload_waits_without_status_write() {
    let mut w = World::new(example_rollout(true), 10);
    w.run(5);
    w.workload.generation += 1;
    let p = plan(&w.input()).unwrap();
    assert_eq!(p.count("UpdateStatus"), 0);
    assert_eq!(p.requeue.as_ref().map(|r| r.after.as_secs()), Some(3));
    assert_eq!(p.held[0].reason, Reason::WorkloadInconsistent.into());
}

#[test]
fn ro_22_disabled_and_reenabled() {
    let mut w = World::new(example_rollout(true), 10);
    w.run(5);
    w.rollout.spec.disabled = true;
    w.tick();
    assert_eq!(w.rollout.status.as_ref().unwrap().phase, "Disabled");
    w.rollout.spec.disabled = false;
    w.tick();
    assert_eq!(w.rollout.status.as_ref().unwrap().phase, "Healthy");
}

#[test]
fn ro_22_deletion_sets_terminating_and_removes_finalizer() {
    let mut w = World::new(example_rollout(true), 10);
    w.run(5);
    assert!(w.rollout.metadata.finalizers.iter().flatten().any(|f| f == keys::ROLLOUT_FINALIZER));
    w.rollout.metadata.deletion_timestamp = Some(Time(w.now));
    w.run(20);
    let st = w.rollout.status.clone().unwrap();
    assert_eq!(st.phase, "Terminating");
    assert!(st.conditions.iter().any(|c| c.type_ == "Terminating" && c.reason == "Completed"));
    assert!(!w.rollout.metadata.finalizers.iter().flatten().any(|f| f == keys::ROLLOUT_FINALIZER));
}

// ---- the worked example (§M) -------------------------------------------------------------------

fn progress_until(w: &mut World, max: usize, what: &str, f: impl Fn(&World) -> bool) {
    for _ in 0..max {
        if f(w) {
            return;
        }
        w.tick();
    }
    let last =
        w.frames.last().map(|f| format!("{} step {} {} held {:?}", f.phase, f.step, f.state, f.plan.held));
    panic!("never reached {what}: {last:?}");
}

fn state(w: &World) -> (String, i32, String) {
    let st = w.rollout.status.clone().unwrap_or_default();
    (st.phase, st.current_step_index, st.current_step_state)
}

#[test]
fn ro_m_worked_example_partition_sequence_and_traffic() {
    let mut w = World::new(example_rollout(true), 10);
    w.run(5);
    w.release("bbb");
    progress_until(&mut w, 60, "step 1 paused", |w| {
        state(w) == ("Progressing".into(), 1, "StepPaused".into())
    });
    assert_eq!(w.workload.partition, Some(i(9)), "row 5: integer batch -> partition 9");
    assert_eq!(w.workload.updated_replicas, 1);
    assert_eq!(
        w.canary.as_ref().unwrap().spec.as_ref().unwrap().selector.as_ref().unwrap()["pod-template-hash"],
        "bbb"
    );
    assert_eq!(
        w.stable.as_ref().unwrap().spec.as_ref().unwrap().selector.as_ref().unwrap()["pod-template-hash"],
        "aaa"
    );
    let weight = |w: &World| w.frames.last().unwrap().weight;
    assert_eq!(weight(&w), 5, "row 8: 5% canary");
    assert!(
        w.pods
            .iter()
            .filter(|p| p
                .metadata
                .labels
                .as_ref()
                .unwrap()
                .get(keys::ROLLOUT_BATCH_ID)
                .is_some_and(|b| b == "1"))
            .count()
            == 1
    );
    // Manual approval holds: no requeue, held reason.
    let p = plan(&w.input()).unwrap();
    assert!(p.held.iter().any(|h| h.reason == Reason::ManualApproval { step: 1 }.into()));
    w.approve();
    progress_until(&mut w, 60, "step 2 paused", |w| {
        state(w) == ("Progressing".into(), 2, "StepPaused".into())
    });
    assert_eq!(w.workload.partition, Some(pct("50%")), "row 11");
    assert_eq!(w.workload.updated_replicas, 5);
    assert_eq!(weight(&w), 50, "row 12");
    let p = plan(&w.input()).unwrap();
    let t = w.status_time().unwrap();
    let left = t.as_second() + 60 - w.now.as_second();
    assert_eq!(p.requeue.as_ref().map(|r| r.after.as_secs() as i64), Some(left), "requeue at T+60");
    progress_until(&mut w, 200, "completed", |w| {
        w.rollout.status.as_ref().unwrap().phase == "Healthy" && w.br.is_none()
    });
    assert_eq!(w.workload.partition, None, "row 17: partition removed");
    assert!(!w.workload.annotations.contains_key(keys::ROLLOUT_IN_PROGRESSING));
    assert!(!w.workload.annotations.contains_key(keys::BATCHRELEASE_CONTROL_INFO));
    assert!(w.canary.is_none(), "canary Service deleted");
    assert!(
        !w.stable
            .as_ref()
            .unwrap()
            .spec
            .as_ref()
            .unwrap()
            .selector
            .as_ref()
            .unwrap()
            .contains_key("pod-template-hash")
    );
    assert_eq!(weight(&w), 0);
    let st = w.rollout.status.clone().unwrap();
    assert!(st.conditions.iter().any(|c| c.type_ == "Succeeded" && c.status == "True"));
    // The partition sequence written to the CloneSet.
    let mut seq: Vec<Option<IntOrString>> = Vec::new();
    for f in &w.frames {
        if seq.last() != Some(&f.partition) {
            seq.push(f.partition.clone());
        }
    }
    assert_eq!(seq, vec![None, Some(pct("100%")), Some(i(9)), Some(pct("50%")), Some(pct("0%")), None]);
}

#[test]
fn ro_28_first_traffic_step_pins_stable_service_before_upgrade() {
    let mut w = World::new(example_rollout(true), 10);
    w.run(5);
    w.release("bbb");
    progress_until(&mut w, 30, "StepUpgrade", |w| state(w).2 == "StepUpgrade");
    assert_eq!(
        w.stable.as_ref().unwrap().spec.as_ref().unwrap().selector.as_ref().unwrap()["pod-template-hash"],
        "aaa"
    );
    let first_br = w.frames.iter().position(|f| f.plan.count("CreateBatchRelease") > 0).unwrap();
    let first_pin = w
        .frames
        .iter()
        .position(|f| f.plan.actions.iter().any(|a| a.reason == Reason::PinStableService.into()))
        .unwrap();
    assert!(first_pin < first_br, "pin before the first batch");
}

#[test]
fn ro_24_initializing_waits_three_seconds() {
    let mut w = World::new(example_rollout(true), 10);
    w.run(5);
    w.release("bbb");
    w.tick(); // Healthy -> Progressing
    let p = plan(&w.input()).unwrap();
    assert!(p.held.iter().any(|h| h.reason.kind() == "GracePeriod"), "{:?}", p.held);
    assert_eq!(p.status.conditions.iter().find(|c| c.type_ == "Progressing").unwrap().reason, "Initializing");
}

#[test]
fn ro_28_full_first_traffic_step_restores_and_does_not_flap() {
    let steps = vec![step(i(24), Some("1%"), None)];
    let mut w = World::new(rollout_with(steps, true), 1);
    w.run(5);
    w.release("bbb");
    progress_until(&mut w, 60, "StepUpgrade", |w| state(w).2 == "StepUpgrade");
    assert!(
        !w.frames.iter().any(|f| f.plan.actions.iter().any(|a| a.reason == Reason::PinStableService.into()))
    );
}

#[test]
fn ro_63_grace_zero_is_honoured_for_items() {
    let mut r = example_rollout(true);
    r.spec.strategy.canary.as_mut().unwrap().traffic_routings[0].grace_period_seconds = Some(0);
    let mut w = World::new(r, 10);
    w.run(5);
    w.release("bbb");
    progress_until(&mut w, 60, "StepUpgrade", |w| state(w).2 == "StepUpgrade");
    let pin = w
        .frames
        .iter()
        .find(|f| f.plan.actions.iter().any(|a| a.reason == Reason::PinStableService.into()))
        .unwrap();
    assert!(!pin.plan.held.iter().any(|h| h.reason.kind() == "GracePeriod"
        && h.object.as_deref() == Some(&crate::plan::ObjectRef::new("Service", "web"))));
}

#[test]
fn ro_31_last_step_100_percent_does_not_pause() {
    let mut w = World::new(example_rollout(false), 10);
    w.run(5);
    w.release("bbb");
    progress_until(&mut w, 60, "step 1 paused", |w| state(w).2 == "StepPaused");
    w.approve();
    progress_until(&mut w, 200, "done", |w| w.rollout.status.as_ref().unwrap().phase == "Healthy");
    assert!(!w.frames.iter().any(|f| f.step == 3
        && f.state == "StepPaused"
        && f.plan.held.iter().any(|h| h.reason.kind() == "ManualApproval")));
}

#[test]
fn ro_33_jump_to_step_3() {
    let mut w = World::new(example_rollout(false), 10);
    w.run(5);
    w.release("bbb");
    progress_until(&mut w, 60, "step 1 paused", |w| state(w).2 == "StepPaused");
    let c = w.rollout.status.as_mut().unwrap().canary_status.as_mut().unwrap();
    c.common.next_step_index = 3;
    w.tick();
    let st = w.rollout.status.clone().unwrap();
    assert_eq!((st.current_step_index, st.current_step_state.as_str()), (3, step_state::BEFORE_STEP_UPGRADE));
    assert_eq!(st.canary_status.unwrap().common.next_step_index, -1);
}

#[test]
fn ro_33_out_of_range_next_index_is_ignored_and_kept() {
    let mut w = World::new(example_rollout(false), 10);
    w.run(5);
    w.release("bbb");
    progress_until(&mut w, 60, "step 1 paused", |w| state(w).2 == "StepPaused");
    w.rollout.status.as_mut().unwrap().canary_status.as_mut().unwrap().common.next_step_index = 9;
    w.tick();
    let c = w.rollout.status.clone().unwrap().canary_status.unwrap();
    assert_eq!((c.common.current_step_index, c.common.next_step_index), (1, 9), "RO-34: not rewritten");
}

#[test]
fn ro_35_paused_rollout_freezes_steps() {
    let mut w = World::new(example_rollout(false), 10);
    w.run(5);
    w.release("bbb");
    progress_until(&mut w, 60, "step 1 paused", |w| state(w).2 == "StepPaused");
    w.rollout.spec.strategy.paused = true;
    w.approve();
    w.run(10);
    let st = w.rollout.status.clone().unwrap();
    assert_eq!(st.conditions.iter().find(|c| c.type_ == "Progressing").unwrap().reason, "Paused");
    assert_eq!(st.current_step_index, 1);
    w.rollout.spec.strategy.paused = false;
    progress_until(&mut w, 60, "step 2", |w| state(w).1 == 2);
}

#[test]
fn ro_36_plan_change_mid_rollout_targets_the_released_step() {
    let mut w = World::new(example_rollout(false), 10);
    w.run(5);
    w.release("bbb");
    progress_until(&mut w, 60, "step 1 paused", |w| state(w).2 == "StepPaused");
    w.approve();
    progress_until(&mut w, 60, "step 2 paused", |w| {
        state(w) == ("Progressing".into(), 2, "StepPaused".into())
    });
    // Insert a 30% step before 50%: released 5 -> the first step with >= 5 is the current one
    // (index 2 is now 30%: 3 < 5), so the target is step 3 (50%).
    let c = w.rollout.spec.strategy.canary.as_mut().unwrap();
    c.steps = vec![
        step(i(1), None, None),
        step(pct("30%"), None, None),
        step(pct("50%"), None, Some(60)),
        step(pct("100%"), None, None),
    ];
    w.tick();
    let st = w.rollout.status.clone().unwrap();
    let cs = st.canary_status.clone().unwrap();
    assert_eq!(cs.common.rollout_hash, rollout_hash(&w.rollout));
    // The target (3) is already the next step: StepReady, the next pass advances to it.
    assert_eq!((st.current_step_index, cs.common.next_step_index), (2, 3));
    assert_eq!(st.current_step_state, step_state::STEP_READY);
    w.tick();
    let st = w.rollout.status.clone().unwrap();
    assert_eq!((st.current_step_index, st.current_step_state.as_str()), (3, step_state::BEFORE_STEP_UPGRADE));
    progress_until(&mut w, 60, "step 3 paused", |w| {
        state(w) == ("Progressing".into(), 3, "StepPaused".into())
    });
    assert_eq!(w.workload.updated_replicas, 5, "never un-upgrades (RO-18)");
}

#[test]
fn ro_36_plan_change_to_a_step_other_than_next_jumps() {
    let mut w = World::new(example_rollout(false), 10);
    w.run(5);
    w.release("bbb");
    progress_until(&mut w, 60, "step 1 paused", |w| state(w).2 == "StepPaused");
    // Step 2 shrinks to 1 pod: released 1 -> the current step (1) is the first match.
    let c = w.rollout.spec.strategy.canary.as_mut().unwrap();
    c.steps[0].replicas = Some(i(1));
    c.steps[1].replicas = Some(i(1));
    w.tick();
    let st = w.rollout.status.clone().unwrap();
    // target = current step 1 != next (2): nextStepIndex = 1 and jump (RO-33) to step 1; the
    // canary replicas (1) already match -> StepTrafficRouting.
    assert_eq!(
        (st.current_step_index, st.current_step_state.as_str()),
        (1, step_state::STEP_TRAFFIC_ROUTING)
    );
}

#[test]
fn ro_47_direct_rollback_restores_stable_and_releases_partition() {
    let mut w = World::new(example_rollout(true), 10);
    w.run(5);
    w.release("bbb");
    progress_until(&mut w, 60, "step 1 paused", |w| state(w).2 == "StepPaused");
    w.approve();
    progress_until(&mut w, 60, "step 2", |w| state(w).1 == 2 && w.workload.updated_replicas == 5);
    w.revert();
    progress_until(&mut w, 200, "healthy", |w| {
        w.rollout.status.as_ref().unwrap().phase == "Healthy" && w.br.is_none()
    });
    let st = w.rollout.status.clone().unwrap();
    assert!(st.conditions.iter().any(|c| c.type_ == "Succeeded" && c.status == "False"));
    assert_eq!(w.workload.partition, None);
    assert!(w.canary.is_none());
    assert_eq!(w.frames.last().unwrap().weight, 0);
    // RO-45 Rollback order: routes go back before the stable Service is unpinned.
    let restore_route = w
        .frames
        .iter()
        .position(|f| f.plan.actions.iter().any(|a| a.reason == Reason::RouteTrafficToStable.into()))
        .unwrap();
    let unpin = w
        .frames
        .iter()
        .position(|f| f.plan.actions.iter().any(|a| a.reason == Reason::RestoreStableService.into()))
        .unwrap();
    assert!(restore_route < unpin);
}

#[test]
fn bug_35_rollback_mid_canary_resumes_the_paused_deployment() {
    // openkruise/rollouts#257: a canary-style Deployment (extra canary Deployment), steps
    // 10% / 100% with manual pauses; reverting the template while step 1 waits must roll back:
    // the stable Deployment is unpaused and the canary scaled away, not left paused.
    let steps = vec![step(pct("10%"), None, None), step(pct("100%"), None, None)];
    let mut r = rollout_with(steps, false);
    r.spec.workload_ref = kruise_api::rollouts::v1beta1::ObjectRef {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: "web".into(),
    };
    r.spec.strategy.canary.as_mut().unwrap().enable_extra_workload_for_canary = true;
    let mut w = World::new(r, 10);
    w.workload.kind = Some(crate::rollout::WorkloadKind::Deployment);
    w.workload.api_version = "apps/v1".into();
    w.run(5);
    // RO-19 for a Deployment: paused, in progress; the adapter created the canary Deployment.
    w.workload.paused = true;
    w.workload.canary = Some(crate::rollout::workload::CanaryWorkload {
        name: "web-canary".into(),
        pod_template_hash: "bbb".into(),
        ..Default::default()
    });
    w.release("bbb");
    progress_until(&mut w, 60, "step 1 paused", |w| {
        state(w) == ("Progressing".into(), 1, "StepPaused".into())
    });
    assert_eq!(w.workload.canary.as_ref().unwrap().replicas, 1, "RO-15: canary replicas = 10% of 10");
    assert!(w.workload.paused, "the stable Deployment stays paused during the canary");
    // Roll back: the Deployment template is the stable one again (RO-20: the oldest ReplicaSet's
    // template equals the Deployment's).
    w.workload.update_revision = "web-aaa".into();
    w.workload.generation += 1;
    w.settle();
    w.workload.in_rollback = true;
    w.workload.canary_revision = "aaa".into();
    for _ in 0..100 {
        w.tick();
        w.workload.in_rollback = w.workload.in_rollout_progressing();
        w.workload.canary_revision = "aaa".into();
        if w.rollout.status.as_ref().unwrap().phase == "Healthy" && w.br.is_none() {
            break;
        }
    }
    let st = w.rollout.status.clone().unwrap();
    assert_eq!(st.phase, "Healthy");
    assert!(
        st.conditions.iter().any(|c| c.type_ == "Succeeded" && c.status == "False"),
        "cancelled, not completed"
    );
    assert!(!w.workload.paused, "the stable Deployment is resumed");
    assert!(!w.workload.annotations.contains_key(keys::ROLLOUT_IN_PROGRESSING));
    assert!(!w.workload.annotations.contains_key(keys::BATCHRELEASE_CONTROL_INFO));
}

#[test]
fn ro_50_continuous_release_restarts_at_step_1() {
    let mut w = World::new(example_rollout(true), 10);
    w.run(5);
    w.release("bbb");
    progress_until(&mut w, 60, "step 1 paused", |w| state(w).2 == "StepPaused");
    w.workload.update_revision = "web-ccc".into();
    w.workload.generation += 1;
    w.settle();
    progress_until(&mut w, 100, "restart", |w| {
        w.rollout
            .status
            .as_ref()
            .and_then(|s| s.canary_status.as_ref())
            .is_some_and(|c| c.canary_revision == "ccc")
    });
    assert!(w.frames.iter().any(|f| f.plan.count("DeleteBatchRelease") > 0));
    progress_until(&mut w, 100, "step 1 paused on ccc", |w| state(w).2 == "StepPaused");
    assert_eq!(w.rollout.status.clone().unwrap().current_step_index, 1);
}

#[test]
fn ro_51_disabling_mid_rollout_releases_resources() {
    let mut w = World::new(example_rollout(true), 10);
    w.run(5);
    w.release("bbb");
    progress_until(&mut w, 60, "step 1 paused", |w| state(w).2 == "StepPaused");
    w.rollout.spec.disabled = true;
    progress_until(&mut w, 200, "disabled", |w| w.rollout.status.as_ref().unwrap().phase == "Disabled");
    assert!(w.br.is_none());
    assert!(w.canary.is_none());
    assert!(!w.workload.annotations.contains_key(keys::ROLLOUT_IN_PROGRESSING));
}

#[test]
fn ro_38_plan_hash_change_recalculates_batch() {
    let mut w = World::new(example_rollout(false), 10);
    w.run(5);
    w.release("bbb");
    progress_until(&mut w, 60, "step 1 paused", |w| state(w).2 == "StepPaused");
    let br = w.br.clone().unwrap();
    assert_eq!(br.status.as_ref().unwrap().phase, br_phase::PROGRESSING);
    assert_eq!(br.status.as_ref().unwrap().canary_status.batch_state, batch_state::READY);
    let mut br2 = br.clone();
    br2.spec.release_plan.batch_partition = Some(1);
    br2.metadata.generation = Some(br.metadata.generation.unwrap_or(0) + 1);
    let mut p = crate::rollout::Plan::default();
    crate::rollout::batch_release::reconcile(
        &br2,
        Some(&w.workload),
        &w.pods,
        w.now,
        &Default::default(),
        &mut p,
    );
    let st = p.batch_release_status().cloned().unwrap();
    assert_eq!(st.canary_status.current_batch, 1);
    assert_eq!(st.canary_status.batch_state, batch_state::UPGRADING);
}

#[test]
fn ro_8_release_plan_batches_copy_the_steps() {
    let mut w = World::new(example_rollout(true), 10);
    w.run(5);
    w.release("bbb");
    progress_until(&mut w, 60, "br", |w| w.br.is_some());
    let rp: ReleasePlan = w.br.clone().unwrap().spec.release_plan;
    assert_eq!(
        rp.batches,
        vec![
            ReleaseBatch { canary_replicas: i(1) },
            ReleaseBatch { canary_replicas: pct("50%") },
            ReleaseBatch { canary_replicas: pct("100%") }
        ]
    );
    assert_eq!(rp.batch_partition, Some(0));
    assert_eq!(rp.rollout_id, "bbb");
    assert_eq!(rp.rolling_style, "Partition");
}

#[test]
fn ro_16_q4_percent_partition_that_would_stall_becomes_an_integer() {
    // "99%" of 150: planned 149, stable 1; "1%" would keep ceil(1.5) = 2 old pods.
    let t = batch_targets(Applier::CloneSet, &pct("99%"), 150, None);
    assert_eq!(t.target, WorkloadTarget::CloneSetPartition(i(1)));
    // Where the percent is exact it is kept (the worked example's "50%").
    let t = batch_targets(Applier::CloneSet, &pct("50%"), 10, None);
    assert_eq!(t.target, WorkloadTarget::CloneSetPartition(pct("50%")));
}

#[test]
fn ro_16_q4_every_percent_batch_is_reachable() {
    for r in 1..400 {
        for p in 1..=100 {
            let t = batch_targets(Applier::CloneSet, &pct(&format!("{p}%")), r, None);
            let WorkloadTarget::CloneSetPartition(part) = &t.target else { unreachable!() };
            let updated = r - cloneset_stable_target(Some(part), r);
            assert!(
                updated >= t.desired_updated,
                "{p}% of {r}: {part:?} gives {updated} < {}",
                t.desired_updated
            );
        }
    }
}

#[test]
fn ro_40_pod_ready_reads_the_ready_condition() {
    assert!(crate::availability::pod_ready(&pod("a", "bbb", true)));
    assert!(!crate::availability::pod_ready(&pod("a", "bbb", false)));
    let mut bare = pod("a", "bbb", true);
    bare.status = None;
    assert!(!crate::availability::pod_ready(&bare));
}
