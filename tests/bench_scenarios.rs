//! The benchmark scenarios of bench-scenarios.md at N = 1000 (and 10000), checked for the
//! action counts the benches assert, so CI catches a planner regression without benches.

#[path = "../benches/support/mod.rs"]
mod support;

use support::{Kind, Scenario};

fn check(kind: Kind, n: usize) {
    let s = Scenario::build(kind, n);
    let p = s.plan();
    if let Err(e) = s.check(&p) {
        panic!("{e}");
    }
    // The status was preset from a first plan, so planning again must not write it (CS-86).
    assert!(p.actions.iter().all(|a| a.kind.name() != "UpdateStatus"), "status write in {}", kind.name());
    // Same input twice gives the same plan (CS-91).
    assert_eq!(s.plan(), p, "{}/{n}: not deterministic", kind.name());
    // The pods as a slice give the same plan as the table.
    assert_eq!(s.plan_slice(), p, "{}/{n}: slice and table plans differ", kind.name());
}

#[test]
fn cs_62_steady_1k_plans_nothing() {
    check(Kind::Steady, 1_000);
}

#[test]
fn cs_62_rolling_1k_updates_95_in_place() {
    check(Kind::Rolling, 1_000);
}

#[test]
fn cs_62_wave_1k_updates_200_in_place() {
    check(Kind::Wave, 1_000);
}

#[test]
fn cs_50_scaledown_1k_deletes_the_50_listed_pods() {
    check(Kind::ScaleDown, 1_000);
}

#[test]
fn cs_51_scaledown_nospec_1k_deletes_100_by_rank() {
    check(Kind::ScaleDownNoSpec, 1_000);
}

#[test]
fn cs_62_rolling_10k_updates_only_the_50_not_ready_old_pods() {
    check(Kind::Rolling, 10_000);
}

#[test]
fn cs_62_wave_10k_updates_2000_in_place() {
    check(Kind::Wave, 10_000);
}

#[test]
fn cs_50_scaledown_10k_deletes_the_500_listed_pods() {
    check(Kind::ScaleDown, 10_000);
}

#[test]
fn scenario_inputs_match_bench_scenarios_md() {
    let s = Scenario::build(Kind::Rolling, 1_000);
    let p = &s.pods[0];
    assert_eq!(p.metadata.name.as_deref(), Some("demo-00000"));
    assert_eq!(s.pods[999].metadata.name.as_deref(), Some("demo-003e7"));
    assert_eq!(p.metadata.labels.as_ref().map(|l| l.len()), Some(12));
    // Template's 2 annotations + 1 + in-place state on new-revision pods.
    assert_eq!(p.metadata.annotations.as_ref().map(|a| a.len()), Some(4));
    assert_eq!(s.pods[999].metadata.annotations.as_ref().map(|a| a.len()), Some(3));
    assert_eq!(p.spec.as_ref().and_then(|s| s.node_name.as_deref()), Some("node-0"));
    assert_eq!(s.pods[123].spec.as_ref().and_then(|s| s.node_name.as_deref()), Some("node-23"));
    let names: Vec<_> = s.revisions.iter().filter_map(|r| r.metadata.name.as_deref()).collect();
    assert_eq!(names.len(), 2);
    assert_ne!(names[0], names[1]);
    let status = s.cloneset.status.as_ref().expect("status preset");
    assert_eq!(status.current_revision, names[0]);
    assert_eq!(status.update_revision, names[1]);
    let sd = Scenario::build(Kind::ScaleDown, 1_000);
    assert_eq!(sd.pods.len(), 1_100);
    let ptd = &sd.cloneset.spec.scale_strategy.pods_to_delete;
    assert_eq!(ptd.len(), 50);
    assert_eq!(ptd[1], format!("demo-{:05x}", 22));
}
