//! Kruise Rollouts through the simulator, end to end: the CloneSet controller, the Rollout
//! controller (`RolloutReconciler` over the related objects of its namespace) and a shared
//! TrafficRouting's own pass run together, traffic modelled as the HTTPRoute weights and the
//! route intents the Rollouts write. Each scenario under `examples/scenarios/rollout-*` names
//! the spec rules it shows; these tests add what a scenario file cannot say: the traffic
//! weight never exceeds the share of ready canary pods at any instant (the invariant,
//! checked over the whole timeline), the order of the splits, and reproducibility.

use std::collections::BTreeMap;
use std::path::Path;

use kruise_sim::report::Report;
use kruise_sim::scenario::{RunOptions, run_scenario};

fn run(name: &str, seed: Option<u64>) -> Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/scenarios/{name}/scenario.yaml"));
    let report = run_scenario(&path, RunOptions { seed, ..RunOptions::default() })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(report.passed, "{name} failed: {:?}\n{}", report.failure, report.to_table());
    report
}

fn scenario(name: &str) -> Report {
    run(name, None)
}

/// The canary share of a split (`web 80%, web-canary 20%` -> 20).
fn canary_weight(split: &str, canary: &str) -> i64 {
    split
        .split(" | ")
        .flat_map(|rule| rule.split(", "))
        .filter_map(|b| b.strip_prefix(canary)?.trim().strip_suffix('%')?.parse().ok())
        .max()
        .unwrap_or(0)
}

/// At every instant of the run before `until` (ms), the HTTPRoute's canary weight times the
/// replica count is at most 100 times the number of ready pods on a revision other than
/// `stable` (the canary).
fn assert_weight_within_ready(
    r: &Report,
    route: &str,
    canary: &str,
    stable: &str,
    replicas: i64,
    until: u64,
) {
    let mut times: Vec<u64> = r.rows.iter().map(|x| x.at).chain(r.traffic.iter().map(|t| t.at)).collect();
    times.sort_unstable();
    times.dedup();
    let (mut pods, mut weight) = (BTreeMap::<&str, (&str, bool)>::new(), 0i64);
    let (mut rows, mut traffic) = (r.rows.iter().peekable(), r.traffic.iter().peekable());
    let mut max_seen = 0;
    for t in times.into_iter().filter(|t| *t < until) {
        while let Some(row) = rows.next_if(|x| x.at <= t) {
            if row.status == "Deleted" {
                pods.remove(row.name.as_str());
            } else {
                let ready =
                    row.ready.split('/').next() == row.ready.split('/').nth(1) && row.status == "Running";
                pods.insert(&row.name, (&row.revision, ready));
            }
        }
        while let Some(tr) = traffic.next_if(|x| x.at <= t) {
            if tr.object == route {
                weight = canary_weight(&tr.split, canary);
            }
        }
        let ready_canary = pods.values().filter(|(rev, ready)| *rev != stable && *ready).count() as i64;
        assert!(
            weight * replicas <= 100 * ready_canary,
            "at {t} ms: canary weight {weight}% with {ready_canary}/{replicas} canary pods ready"
        );
        max_seen = max_seen.max(weight);
    }
    assert!(max_seen >= 50, "the release reached 50% of the traffic (max {max_seen}%)");
}

/// The splits an HTTPRoute went through, consecutive repeats folded.
fn splits(r: &Report, route: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in r.traffic.iter().filter(|t| t.object == route) {
        if out.last() != Some(&t.split) {
            out.push(t.split.clone());
        }
    }
    out
}

fn stable_revision(r: &Report) -> String {
    // The revision of the pods when the first wait ended (all on v1).
    r.steps
        .iter()
        .find(|s| s.kind == "wait")
        .and_then(|s| s.pods.first())
        .map(|p| p.revision.clone())
        .unwrap_or_default()
}

/// RO-29..RO-33, RO-40, RO-44, RO-57..RO-59: 20% with approval, 50% for 60s, 100%; traffic
/// weights follow the steps and never run ahead of ready canary pods; the end is stable
/// routing; the table charts the split beside the pod revisions.
#[test]
fn sim_rollout_canary_release_of_the_seed_cloneset() {
    let r = scenario("rollout-canary");
    let route = "HTTPRoute/nginxweb1";
    assert_eq!(
        splits(&r, route),
        [
            "nginxweb1",
            "nginxweb1 80%, nginxweb1-canary 20%",
            "nginxweb1 50%, nginxweb1-canary 50%",
            "nginxweb1"
        ],
        "{}",
        r.to_table()
    );
    assert_weight_within_ready(&r, route, "nginxweb1-canary", &stable_revision(&r), 5, u64::MAX);
    let table = r.to_table();
    assert!(table.contains("~ HTTPRoute/nginxweb1 -> nginxweb1 80%, nginxweb1-canary 20%"), "{table}");
    assert!(table.contains("| HTTPRoute/nginxweb1: nginxweb1 50%, nginxweb1-canary 50%"), "{table}");
    // The approval gate held: no step-2 pod before the approve step.
    let approve = r.steps.iter().find(|s| s.kind == "approve").expect("approve step");
    let before = r.steps.iter().rfind(|s| s.step < approve.step).expect("a step before");
    let on_new = before.pods.iter().filter(|p| p.images.iter().any(|i| i == "nginx:latest")).count();
    assert_eq!(on_new, 1, "one canary pod until approval");
    // Issue 17: a batch that is not ready yet does not flip the BatchRelease between Upgrading
    // and Verifying on every pass (1,325 reconciles before the fix, 300 after).
    assert!(r.reconciles <= 400, "{} reconciles: the BatchRelease state churns", r.reconciles);
}

/// RO-47: rolled back in the middle: every pod back on the stable revision, the routes back
/// on the stable Service, never more traffic than ready canary pods on the way.
#[test]
fn sim_rollout_rollback_in_the_middle() {
    let r = scenario("rollout-rollback");
    let route = "HTTPRoute/nginxweb1";
    let s = splits(&r, route);
    assert_eq!(s.first().map(String::as_str), Some("nginxweb1"));
    assert_eq!(s.last().map(String::as_str), Some("nginxweb1"), "{}", r.to_table());
    assert!(s.iter().any(|x| x.contains("nginxweb1-canary 50%")));
    // Up to the revert: the user's rollback moves pods at once, the routes follow within a
    // reconcile (then no canary weight at all).
    let revert = r.steps.iter().rfind(|s| s.kind == "apply").map_or(0, |s| s.at.0);
    assert_weight_within_ready(&r, route, "nginxweb1-canary", &stable_revision(&r), 5, revert);
    let after: Vec<&str> = r
        .traffic
        .iter()
        .filter(|t| t.object == route && t.at > revert + 1_000)
        .map(|t| t.split.as_str())
        .collect();
    assert!(after.iter().all(|s| *s == "nginxweb1"), "{after:?}");
    // Issue 17 (1,265 reconciles before the fix, 286 after).
    assert!(r.reconciles <= 400, "{} reconciles: the BatchRelease state churns", r.reconciles);
}

/// RO-64..RO-66: the gateway's gray lane opens with the first Rollout and closes only after
/// the last one finishes.
#[test]
fn sim_rollout_full_link_gateway_returns_to_stable_after_the_last_rollout() {
    let r = scenario("rollout-full-link");
    let s = splits(&r, "HTTPRoute/entry");
    assert_eq!(
        s,
        ["gateway", "gateway | intent Canary if x-lane=gray", "gateway | intent Restore"],
        "{}",
        r.to_table()
    );
    // The restore comes after front finished (step 10's wait) and after back's approval.
    let restore = r.traffic.iter().find(|t| t.split.contains("Restore")).map(|t| t.at).unwrap_or(0);
    let approve = r.steps.iter().find(|s| s.kind == "approve").map(|s| s.at.0).unwrap_or(u64::MAX);
    assert!(restore >= approve, "restored at {restore} ms, before the approval at {approve} ms");
}

/// The same seed gives the same run, byte for byte.
#[test]
fn sim_rollout_is_reproducible() {
    let a = run("rollout-canary", Some(9));
    let b = run("rollout-canary", Some(9));
    assert_eq!(a.to_table(), b.to_table());
}
