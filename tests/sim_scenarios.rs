//! Scenario files through the simulator: the seed walk-through (cloneset.md §14, the seed
//! README's five observations; its JSON report is snapshot-tested) and every scenario under
//! `examples/scenarios/`, each naming the spec rules it exercises in its header comment.

use std::path::Path;

use kruise_sim::report::Report;
use kruise_sim::scenario::{RunOptions, run_scenario};

fn run(path: &str) -> Report {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let report = run_scenario(&full, RunOptions::default()).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(report.passed, "{path} failed: {:?}\n{}", report.failure, report.to_table());
    report
}

fn scenario(name: &str) -> Report {
    run(&format!("examples/scenarios/{name}/scenario.yaml"))
}

/// W-1..W-5: three pods; two more one at a time ≥30s apart; exactly the named pod deleted;
/// in place with names, nodes and one restart each kept; partition 2 leaves 2 and 2.
#[test]
fn sim_seed_walkthrough() {
    let report = run("examples/seed/scenario.yaml");
    insta::assert_json_snapshot!("seed_walkthrough", report.to_json());
}

#[test]
fn sim_seed_is_reproducible_and_seed_dependent() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed/scenario.yaml");
    let a = run_scenario(&path, RunOptions { seed: Some(5), ..RunOptions::default() }).unwrap();
    let b = run_scenario(&path, RunOptions { seed: Some(5), ..RunOptions::default() }).unwrap();
    let c = run_scenario(&path, RunOptions { seed: Some(6), ..RunOptions::default() }).unwrap();
    assert!(a.passed && c.passed, "{:?} {:?}", a.failure, c.failure);
    assert_eq!(serde_json::to_string(&a.to_json()).unwrap(), serde_json::to_string(&b.to_json()).unwrap());
    assert_ne!(
        a.to_json()["steps"][1]["pods"],
        c.to_json()["steps"][1]["pods"],
        "different seeds, different pod names"
    );
    assert_eq!(a.to_svg(), b.to_svg());
}

#[test]
fn sim_reference_rollout() {
    scenario("reference-rollout");
}

#[test]
fn sim_large_scale_up_respects_scale_max_unavailable() {
    scenario("large-scale-up");
}

#[test]
fn sim_recreate_vs_inplace() {
    let r = scenario("recreate-vs-inplace");
    // The in-place rollout finishes before the recreate one (the wait steps come in that order
    // and each is met at its own time).
    let inplace_done = r.steps.iter().find(|s| s.step == 6).map(|s| s.ended).unwrap();
    let recreate_done = r.steps.iter().find(|s| s.step == 8).map(|s| s.ended).unwrap();
    assert!(inplace_done < recreate_done, "in-place {inplace_done} vs recreate {recreate_done}");
}

#[test]
fn sim_partition_percent_canary_then_full_rollout() {
    scenario("partition-canary");
}

#[test]
fn sim_paused_update() {
    scenario("paused-update");
}

#[test]
fn sim_priority_order() {
    scenario("priority-order");
}

#[test]
fn sim_lifecycle_predelete_hook_blocks_deletion() {
    scenario("lifecycle-predelete-hook");
}

#[test]
fn sim_node_lost_mid_update() {
    scenario("node-lost-mid-update");
}

#[test]
fn sim_unpullable_image_under_inplace() {
    scenario("bad-image-inplace");
}

#[test]
fn sim_cache_lag_naive_controller_double_creates() {
    scenario("cache-lag-naive");
}

#[test]
fn sim_cache_lag_with_expectations_creates_once() {
    scenario("cache-lag-expectations");
}

#[test]
fn sim_pods_to_delete_without_scale_down_replaces() {
    scenario("pods-to-delete-replace");
}

#[test]
fn sim_max_surge_rollout_keeps_capacity() {
    scenario("max-surge-rollout");
}

/// statefulset.md §13: partition 3, maxUnavailable 2, then partition 0 (ASTS-31..ASTS-39).
#[test]
fn sim_statefulset_worked_example() {
    scenario("statefulset-worked-example");
}

/// ASTS-25, ASTS-28: an OrderedReady scale-up stalled by a never-Ready pod, released by deleting it.
#[test]
fn sim_statefulset_ordered_ready_stall_then_release() {
    scenario("statefulset-ordered-stall");
}

/// ASTS-12..ASTS-14: reserveOrdinals changed while the set runs.
#[test]
fn sim_statefulset_reserve_ordinals_mid_life() {
    scenario("statefulset-reserve-ordinals");
}

/// ASTS-20: whenScaled Retain keeps the PVCs of removed pods and reuses them.
#[test]
fn sim_statefulset_scale_down_retain_keeps_pvcs() {
    scenario("statefulset-scale-down-retain");
}

/// ASTS-20: whenScaled Delete hands the PVCs of removed pods to the garbage collector.
#[test]
fn sim_statefulset_scale_down_delete_drops_pvcs() {
    scenario("statefulset-scale-down-delete");
}

#[test]
fn sim_daemonset_canary_selector_with_max_surge() {
    scenario("daemonset-canary-surge");
}

#[test]
fn sim_daemonset_node_joins_mid_rollout() {
    scenario("daemonset-node-joins");
}

#[test]
fn sim_daemonset_skips_tainted_node() {
    scenario("daemonset-tainted-node");
}

#[test]
fn sim_daemonset_in_place_update_across_20_nodes() {
    scenario("daemonset-inplace-20-nodes");
}

/// Every scenario directory has a test above.
/// Upstream bug 1 (kruise#369): InPlaceOnly with maxUnavailable 10% of 4 completes.
#[test]
fn bug_1_inplace_only_small_max_unavailable_completes() {
    scenario("bug-1-inplace-only-small-max-unavailable");
}

#[test]
fn sim_every_scenario_is_tested() {
    // The Rollout scenarios are replayed (with timeline checks) in sim_rollout.rs, the
    // SidecarSet ones in sim_sidecarset.rs.
    let source =
        [include_str!("sim_scenarios.rs"), include_str!("sim_rollout.rs"), include_str!("sim_sidecarset.rs")]
            .concat();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/scenarios");
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if !entry.file_type().unwrap().is_dir() {
            continue;
        }
        let name = entry.file_name().into_string().unwrap();
        assert!(source.contains(&format!("scenario(\"{name}\")")), "no test runs examples/scenarios/{name}");
    }
}

/// Issue 11 item 13: the report has one line per decision (an in-place update is two writes
/// but one decision), repeated identical events are folded, and the chart names its steps.
#[test]
fn sim_report_one_line_per_decision_folded_events_named_steps() {
    let report = run("examples/seed/scenario.yaml");
    let decisions: Vec<_> = report.steps.iter().flat_map(|s| s.events.iter()).collect();
    let in_place: Vec<_> = decisions.iter().filter(|d| d.action == "UpdateInPlace").collect();
    assert!(!in_place.is_empty());
    for pair in decisions.windows(2) {
        let same = pair[0].at == pair[1].at && pair[0].pod == pair[1].pod && pair[0].action == pair[1].action;
        assert!(!(same && pair[0].action == "UpdateInPlace"), "UpdateInPlace twice: {:?}", pair[1]);
    }
    // W-2 waits with `ScaleUpLimited` (limit 0) over several reconciles: shown once per run of
    // identical events, never twice in a row.
    let limited: Vec<_> = decisions.iter().filter(|d| d.reason == "ScaleUpLimited").collect();
    assert!(!limited.is_empty());
    for pair in limited.windows(2) {
        let between = decisions.iter().filter(|d| d.at > pair[0].at && d.at < pair[1].at).count();
        assert!(pair[0].detail != pair[1].detail || between > 0, "repeated: {:?}", pair[1]);
    }
    let svg = report.to_svg();
    assert!(svg.contains(">1 apply 01-ok.yaml<"), "step names on the chart");
    assert!(svg.contains(">3 apply 02-ok.yaml<") || svg.contains("apply 02-ok.yaml"), "{svg}");
}

/// BJ-14, BJ-18, BJ-19, BJ-21, BJ-22, BJ-24 in the simulator: three BroadcastJobs on ten
/// nodes (one per failure policy), a pod failing on node-3, node-11 joining mid-run.
#[test]
fn sim_broadcastjob_failure_policies() {
    let r = scenario("broadcastjob-failure-policies");
    let decisions = &r.decisions;
    let created_on_11 = |job: &str| {
        decisions.iter().any(|d| {
            d.workload.ends_with(&format!("/{job}"))
                && d.reason == "SuccessfulCreate"
                && d.detail.ends_with("on node node-11")
        })
    };
    assert!(
        created_on_11("task-continue"),
        "the Continue job runs on the node that joined\n{}",
        r.to_table()
    );
    // The FailFast job deleted its active pods when the node-3 pod failed, and created none after.
    let failed_at = decisions
        .iter()
        .find(|d| d.workload.ends_with("/task-failfast") && d.reason == "JobFailed")
        .map(|d| d.at);
    let failed_at = failed_at.expect("the FailFast job emits JobFailed");
    let deleted: Vec<_> = decisions
        .iter()
        .filter(|d| d.workload.ends_with("/task-failfast") && d.action == "DeletePod")
        .collect();
    assert_eq!(deleted.len(), 2, "BJ-19: the running pods are deleted");
    assert!(deleted.iter().all(|d| d.at == failed_at));
    assert!(
        !decisions
            .iter()
            .any(|d| d.workload.ends_with("/task-failfast") && d.action == "CreatePod" && d.at > failed_at)
    );
}

/// The wait step that ends when the CloneSet's rollout to web:2 is done: its duration.
fn rollout_duration(r: &Report) -> kruise_sim::time::Dur {
    let apply = r
        .steps
        .iter()
        .rposition(|s| s.kind == "apply" && s.description.ends_with("v2.yaml"))
        .expect("an apply of v2.yaml");
    let wait = &r.steps[apply + 1];
    assert_eq!(wait.kind, "wait");
    kruise_sim::time::Dur(wait.ended.0 - wait.at.0)
}

/// IPJ-12..IPJ-14, IPJ-30 in the simulator: an ImagePullJob pulls web:2 on the six nodes ahead
/// of an in-place update, and that rollout finishes far sooner than the same rollout without
/// it (each in-place restart then waits for a 1Gi pull, one pod at a time).
#[test]
fn sim_imagepulljob_before_inplace_shortens_the_rollout() {
    let with = scenario("imagepulljob-before-inplace");
    let without = scenario("inplace-without-predownload");
    let (a, b) = (rollout_duration(&with), rollout_duration(&without));
    // Six serial pulls of 1Gi at 20Mi/s (node-6: 40Mi/s) without; restarts only with.
    assert!(b.0 >= 5 * 51_000, "without pre-download: {b}");
    assert!(a.0 < 60_000, "with pre-download: {a}");
    assert!(a.0 * 5 < b.0, "with {a}, without {b}");
    // The job's six pulls ran at once: the wait for its completion took about one pull.
    let job_wait = &with.steps[4];
    assert_eq!(job_wait.kind, "wait");
    assert!(job_wait.ended.0 - job_wait.at.0 < 60_000, "{}", job_wait.description);
    let table = with.to_table();
    assert!(table.contains("WriteNodeImage"), "{table}");
    // Every write went through on the first try (the job's first status write follows its
    // finalizer patch, IPJ-10).
    assert!(with.decisions.iter().all(|d| d.error.is_none()), "{table}");
}

/// IPJ-40..IPJ-42 in the simulator: with `PreDownloadImageForInPlaceUpdate` on, the CloneSet's
/// in-place rollout plans one ImagePullJob for web:2 (once: the revision is labelled), the
/// node daemons pull ahead of the rollout, the rollout ends well before the same rollout
/// without pre-download, and the job is deleted once the revisions agree.
#[test]
fn sim_cloneset_predownload_plans_one_job_and_shortens_the_rollout() {
    let with = scenario("cloneset-predownload");
    let without = run("examples/scenarios/inplace-without-predownload/scenario.yaml");
    let count =
        |action: &str| with.decisions.iter().filter(|d| d.action == action && d.error.is_none()).count();
    assert_eq!(count("CreateImagePullJob"), 1, "{}", with.to_table());
    assert_eq!(count("LabelPreDownloadRevision"), 1);
    assert_eq!(count("DeleteImagePullJob"), 1);
    let create = with.decisions.iter().find(|d| d.action == "CreateImagePullJob").unwrap();
    let delete = with.decisions.iter().find(|d| d.action == "DeleteImagePullJob").unwrap();
    assert!(create.at < delete.at);
    assert!(with.decisions.iter().all(|d| d.error.is_none()), "{}", with.to_table());
    let (a, b) = (rollout_duration(&with), rollout_duration(&without));
    // Without: six serial 1Gi pulls (about 5m). With: the first pod's own pull, then restarts.
    assert!(a.0 < 90_000, "with pre-download: {a}");
    assert!(a.0 * 3 < b.0, "with {a}, without {b}");
    // The gate off (the same manifests in `inplace-without-predownload`): no job at all.
    assert!(!without.decisions.iter().any(|d| d.action.contains("ImagePullJob")));
}

/// IPJ-40..IPJ-42 for the Advanced DaemonSet in the simulator: the first revision is labelled
/// ignored (every pod may be created at once), the rollout to agent:2 plans one job, the six
/// node daemons pull at once, and the rollout over six nodes one at a time takes little more
/// than one 51s pull (six serial pulls would take over five minutes); the job is deleted at
/// the end.
#[test]
fn sim_daemonset_predownload_plans_one_job_and_shortens_the_rollout() {
    let r = scenario("daemonset-predownload");
    let count = |action: &str| r.decisions.iter().filter(|d| d.action == action && d.error.is_none()).count();
    assert_eq!(count("CreateImagePullJob"), 1, "{}", r.to_table());
    assert_eq!(count("DeleteImagePullJob"), 1);
    let labels: Vec<&str> = r
        .decisions
        .iter()
        .filter(|d| d.action == "LabelPreDownloadRevision")
        .map(|d| d.detail.as_str())
        .collect();
    assert_eq!(labels, ["every pod may be updated at once", "jobs created"]);
    let d = rollout_duration(&r);
    assert!(d.0 < 110_000, "{d}");
    assert!(r.decisions.iter().all(|d| d.error.is_none()), "{}", r.to_table());
}
