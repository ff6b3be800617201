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
