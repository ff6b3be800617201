//! Issue 15: the SidecarSet scenarios of `examples/scenarios/` through the simulator, whose API
//! store injects sidecars into every pod it creates and which runs the SidecarSet upgrade
//! controller beside the CloneSet's. Beyond each scenario's own expectations: the sidecar
//! upgrade never recreates a pod (same uids throughout), the partition holds at every step,
//! and the hot-upgrade slots flip.

use std::collections::BTreeMap;
use std::path::Path;

use kruise_sim::report::Report;
use kruise_sim::scenario::{RunOptions, run_scenario};

fn scenario(name: &str) -> Report {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("examples/scenarios/{name}/scenario.yaml"));
    let report = run_scenario(&path, RunOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(report.passed, "{name} failed: {:?}\n{}", report.failure, report.to_table());
    report
}

/// Pod name → uid of the active pods at step `n` (1-based).
fn uids(r: &Report, n: usize) -> BTreeMap<String, String> {
    let step = r.steps.iter().find(|s| s.step == n).unwrap();
    step.pods.iter().filter(|p| !p.terminating).map(|p| (p.name.clone(), p.uid.clone())).collect()
}

fn step_of(r: &Report, kind: &str, description: &str) -> usize {
    r.steps
        .iter()
        .find(|s| s.kind == kind && s.description.contains(description))
        .unwrap_or_else(|| panic!("no {kind} step {description:?}"))
        .step
}

/// Active pods at step `n` running `image` in any container.
fn with_image(r: &Report, n: usize, image: &str) -> usize {
    let step = r.steps.iter().find(|s| s.step == n).unwrap();
    step.pods.iter().filter(|p| !p.terminating && p.images.iter().any(|i| i == image)).count()
}

/// SCS-9, SCS-11: the seed CloneSet's pods, those created at first and at scale-out, all start
/// with the log agent; nothing restarts them.
#[test]
fn sim_sidecarset_inject_into_the_seed_cloneset() {
    let r = scenario("sidecarset-inject-seed");
    let last = r.steps.last().unwrap();
    assert_eq!(last.pods.len(), 5);
    for p in &last.pods {
        assert_eq!(p.images, ["log-agent:1.0", "nginx:1.20"], "{} (sidecar before the app)", p.name);
        assert_eq!(p.restarts, 0, "{}", p.name);
    }
}

/// SCS-44, SCS-45: the cold upgrade never recreates a pod, upgrades exactly
/// `matched - partition` pods while the partition is 4 (at every step), and all six after.
#[test]
fn sim_sidecarset_cold_upgrade_with_partition() {
    let r = scenario("sidecarset-cold-partition");
    let start = step_of(&r, "apply", "sidecarset-v2-partition.yaml");
    let full = step_of(&r, "apply", "sidecarset-v2-full.yaml");
    let before = uids(&r, start - 1);
    assert_eq!(before.len(), 6);
    for s in &r.steps {
        if s.step >= start {
            assert_eq!(uids(&r, s.step), before, "step {}: the same pods (uids)", s.step);
        }
        if s.step > start && s.step < full {
            assert!(with_image(&r, s.step, "log-agent:2") <= 2, "step {}: partition 4 of 6", s.step);
        }
    }
    assert_eq!(with_image(&r, full - 1, "log-agent:2"), 2);
    assert_eq!(with_image(&r, full - 1, "log-agent:1"), 4);
    let last = r.steps.last().unwrap();
    assert_eq!(with_image(&r, last.step, "log-agent:2"), 6);
    assert!(last.pods.iter().all(|p| p.restarts == 1), "one in-place restart each");
    assert!(!r.rows.iter().any(|row| !before.contains_key(&row.name)), "no other pod ever appeared");
}

/// SCS-60..SCS-63: before the upgrade every pod runs envoy:1 in `envoy-1` and the empty image
/// in `envoy-2`; after it, the slots have flipped (`envoy-2` runs envoy:2, `envoy-1` the empty
/// image), with the same pods throughout.
#[test]
fn sim_sidecarset_hot_upgrade_flips_the_slots() {
    let r = scenario("sidecarset-hot-upgrade");
    let start = step_of(&r, "apply", "sidecarset-v2.yaml");
    let before = r.steps.iter().find(|s| s.step == start - 1).unwrap();
    for p in &before.pods {
        // Hot sidecars are injected before the app container: envoy-1, envoy-2, main.
        assert_eq!(p.images, ["envoy:1", "envoy-empty:1", "api:1"], "{}", p.name);
    }
    let last = r.steps.last().unwrap();
    for p in &last.pods {
        assert_eq!(p.images, ["envoy-empty:1", "envoy:2", "api:1"], "{}", p.name);
    }
    assert_eq!(uids(&r, last.step), uids(&r, start - 1), "the same pods (uids)");
    // The SidecarSet controller flipped (SCS-62) and never created or deleted a pod.
    let sidecarset: Vec<_> = r.decisions.iter().filter(|d| d.controller == "sidecarset").collect();
    assert!(
        sidecarset.iter().any(|d| format!("{} {}", d.reason, d.detail).contains("HotUpgradeFlip")),
        "a flip was planned: {sidecarset:?}"
    );
    assert!(!sidecarset.iter().any(|d| matches!(d.action.as_str(), "CreatePod" | "DeletePod")));
}
