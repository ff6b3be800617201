//! Performance: 1,000 virtual hours of a 1,000-replica CloneSet under random faults must run
//! in seconds, because the clock jumps from event to event and nothing reconciles unless
//! something changed. (Debug builds are several times slower than release; the bound below
//! is loose enough for a shared CI machine in the test profile.)

use kruise_sim::controller::ReconcilerController;
use kruise_sim::rng::SplitMix64;
use kruise_sim::time::Dur;
use kruise_sim::{Sim, SimConfig};
use serde_json::json;

#[test]
fn thousand_hours_of_thousand_replicas_under_faults() {
    let nodes = kruise_sim::cluster::NodeSpec::numbered(20);
    let mut sim = Sim::new(SimConfig { seed: 3, nodes, ..SimConfig::default() });
    sim.add_controller(Box::new(ReconcilerController::new(
        "cloneset",
        kruise_core::cloneset::CloneSetReconciler,
    )));
    let manifest = kruise_sim::scenario::admit(json!({
        "apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
        "metadata": {"name": "big", "namespace": "default"},
        "spec": {"replicas": 1000, "selector": {"matchLabels": {"app": "big"}},
                 "template": {"metadata": {"labels": {"app": "big"}},
                              "spec": {"containers": [{"name": "c", "image": "app:1"}]}}}
    }))
    .unwrap();
    sim.apply(manifest).unwrap();
    let started = std::time::Instant::now();
    sim.run_for(Dur(60_000)).unwrap();
    eprintln!(
        "first minute: {:?}, {} events, {} rv",
        started.elapsed(),
        sim.events_processed(),
        sim.store().resource_version()
    );
    let mut rng = SplitMix64::new(11);
    let node_names: Vec<String> = (1..=20).map(|i| format!("node-{i}")).collect();
    let images = vec!["app:1".to_owned()];
    // One fault every ~20 virtual hours.
    let hour = 3_600_000;
    let mut t = hour;
    while t < 1000 * hour {
        let pods: Vec<String> = Vec::new();
        let fault = Sim::random_fault(&mut rng, &node_names, &images, &pods);
        sim.schedule_fault(t, fault);
        t += hour * (10 + rng.below(20));
    }
    sim.run_for(Dur(1000 * hour)).unwrap();
    let elapsed = started.elapsed();
    let ready = sim.pods().iter().filter(|p| p.ready && !p.terminating).count();
    eprintln!(
        "1000h x 1000 replicas: {elapsed:?}, {} events, {} reconciles, {} rv, {ready} ready",
        sim.events_processed(),
        sim.reconciles(),
        sim.store().resource_version()
    );
    assert_eq!(ready, 1000);
    assert!(elapsed.as_secs() < 120, "took {elapsed:?}");
}
