//! The simulator's event loop driven by the reference controller: scale, rollout, cache lag
//! and expectations, faults, scheduling limits, determinism.

use std::collections::BTreeSet;

use kruise_sim::controller::ReconcilerController;
use kruise_sim::reference::ReplicaReconciler;
use kruise_sim::sim::PodView;
use kruise_sim::time::Dur;
use kruise_sim::{Fault, Sim, SimConfig};
use serde_json::{Value, json};

fn cloneset(replicas: i32, image: &str) -> Value {
    let mut v = json!({
        "apiVersion": "apps.kruise.io/v1beta1", "kind": "CloneSet",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": image}]}}}
    });
    v["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = json!(30);
    v
}

fn sim_with(config: SimConfig, expectations: bool) -> Sim {
    let mut sim = Sim::new(config);
    let mut c = ReconcilerController::new("reference", ReplicaReconciler);
    c.use_expectations = expectations;
    sim.add_controller(Box::new(c));
    sim
}

fn active(sim: &Sim) -> Vec<PodView> {
    sim.pods().into_iter().filter(|p| !p.terminating).collect()
}

fn ready(sim: &Sim) -> usize {
    active(sim).iter().filter(|p| p.ready).count()
}

fn created_names(sim: &Sim) -> BTreeSet<String> {
    sim.decisions()
        .iter()
        .filter(|d| d.action == "CreatePod" && d.error.is_none())
        .filter_map(|d| d.pod.clone())
        .collect()
}

#[test]
fn scale_up_creates_each_pod_once_and_becomes_ready() {
    let mut sim = sim_with(SimConfig::default(), true);
    sim.apply(cloneset(5, "nginx:1.20")).unwrap();
    assert!(sim.run_until(60_000, |s| ready(s) == 5).unwrap());
    assert_eq!(created_names(&sim).len(), 5);
    // Spread over the three nodes, at most two per node.
    let pods = active(&sim);
    for node in ["node-1", "node-2", "node-3"] {
        assert!(pods.iter().filter(|p| p.node == node).count() <= 2);
    }
    // Settles: nothing left to do.
    sim.run_for(Dur::secs(600)).unwrap();
    assert!(sim.is_quiet());
    assert_eq!(created_names(&sim).len(), 5);
}

#[test]
fn no_reconcile_when_nothing_changes() {
    let mut sim = sim_with(SimConfig::default(), true);
    sim.apply(cloneset(2, "nginx:1.20")).unwrap();
    sim.run_for(Dur::secs(120)).unwrap();
    let before = sim.reconciles();
    sim.run_for(Dur(1000 * 3_600_000)).unwrap();
    assert_eq!(sim.reconciles(), before);
}

#[test]
fn pod_watch_lag_makes_a_naive_controller_double_create() {
    // The pod watch lags 5s behind the CloneSet watch: the status write the controller makes
    // right after creating comes back first and triggers a reconcile that cannot see the pods.
    let run = |expectations: bool| {
        let mut sim = sim_with(SimConfig::default(), expectations);
        sim.schedule_fault(
            0,
            Fault::CacheLag { lag: Dur::secs(5), kind: Some("Pod".into()), duration: None },
        );
        sim.apply(cloneset(3, "nginx:1.20")).unwrap();
        sim.run_for(Dur::secs(120)).unwrap();
        created_names(&sim).len()
    };
    assert_eq!(run(true), 3);
    assert!(run(false) > 3, "a controller that ignores expectations creates extra pods");
}

#[test]
fn rollout_recreates_one_at_a_time() {
    let mut sim = sim_with(SimConfig::default(), true);
    sim.apply(cloneset(3, "nginx:1.20")).unwrap();
    sim.run_until(60_000, |s| ready(s) == 3).unwrap();
    sim.apply(cloneset(3, "nginx:1.21")).unwrap();
    let mut worst = 0;
    let done = sim
        .run_until(sim.now() + 600_000, |s| {
            worst = worst.max(3usize.saturating_sub(ready(s)));
            ready(s) == 3 && active(s).iter().all(|p| p.images == ["nginx:1.21"])
        })
        .unwrap();
    assert!(done);
    // The reference controller keeps at most one replacement in flight (plus the instant
    // between a delete and the replacement's create).
    assert!(worst <= 2, "worst unavailable {worst}");
}

#[test]
fn node_lost_pods_evicted_and_replaced() {
    let config = SimConfig { nodes: kruise_sim::cluster::NodeSpec::numbered(2), ..SimConfig::default() };
    let mut sim = sim_with(config, true);
    sim.apply(cloneset(4, "nginx:1.20")).unwrap();
    sim.run_until(60_000, |s| ready(s) == 4).unwrap();
    let t = sim.now();
    sim.schedule_fault(t, Fault::NodeLost { node: "node-1".into(), duration: Some(Dur::secs(900)) });
    // After the monitor grace the node's pods turn not ready.
    sim.run_until(t + 41_000, |_| false).unwrap();
    assert_eq!(ready(&sim), 2);
    // After the eviction timeout they are deleted (stuck terminating: the kubelet is gone)
    // and replaced on the surviving node.
    sim.run_until(t + 400_000, |_| false).unwrap();
    let pods = sim.pods();
    assert_eq!(pods.iter().filter(|p| p.terminating && p.node == "node-1").count(), 2);
    assert_eq!(active(&sim).iter().filter(|p| p.node == "node-2" && p.ready).count(), 4);
    // The node comes back: its kubelet finishes the terminations.
    sim.run_until(t + 1_000_000, |_| false).unwrap();
    assert!(sim.pods().iter().all(|p| !p.terminating));
    assert_eq!(ready(&sim), 4);
}

#[test]
fn image_pull_failure_then_recovery() {
    let mut sim = sim_with(SimConfig::default(), true);
    sim.schedule_fault(
        0,
        Fault::ImagePullFailure { image: "nginx:1.20".into(), duration: Some(Dur::secs(120)) },
    );
    sim.apply(cloneset(2, "nginx:1.20")).unwrap();
    sim.run_for(Dur::secs(60)).unwrap();
    assert_eq!(ready(&sim), 0);
    assert!(sim.rows().iter().any(|r| r.status == "ErrImagePull" || r.status == "ImagePullBackOff"));
    assert!(sim.run_until(sim.now() + 600_000, |s| ready(s) == 2).unwrap());
}

#[test]
fn injected_conflicts_are_retried() {
    let mut sim = sim_with(SimConfig::default(), true);
    sim.schedule_fault(0, Fault::Conflicts { count: 3 });
    sim.apply(cloneset(3, "nginx:1.20")).unwrap();
    assert!(sim.run_until(120_000, |s| ready(s) == 3).unwrap());
    assert!(sim.decisions().iter().any(|d| d.error.as_deref().is_some_and(|e| e.contains("conflict"))));
    assert_eq!(created_names(&sim).len(), 3);
}

#[test]
fn pod_crash_restarts_container_in_place() {
    let mut sim = sim_with(SimConfig::default(), true);
    sim.apply(cloneset(1, "nginx:1.20")).unwrap();
    sim.run_until(60_000, |s| ready(s) == 1).unwrap();
    let pod = active(&sim)[0].clone();
    sim.schedule_fault(sim.now(), Fault::PodCrash { pod: pod.name.clone() });
    sim.run_for(Dur::millis(1)).unwrap();
    assert_eq!(ready(&sim), 0);
    sim.run_for(Dur::secs(60)).unwrap();
    let after = active(&sim)[0].clone();
    assert_eq!((after.name, after.node, after.restarts, after.ready), (pod.name, pod.node, 1, true));
}

#[test]
fn capacity_leaves_pods_pending() {
    let mut nodes = kruise_sim::cluster::NodeSpec::numbered(1);
    nodes[0].capacity.pods = 2;
    let mut sim = sim_with(SimConfig { nodes, ..SimConfig::default() }, true);
    sim.apply(cloneset(3, "nginx:1.20")).unwrap();
    sim.run_for(Dur::secs(60)).unwrap();
    let pods = active(&sim);
    assert_eq!(pods.iter().filter(|p| p.node.is_empty()).count(), 1);
    assert_eq!(ready(&sim), 2);
}

#[test]
fn same_seed_same_run_different_seed_different_names() {
    let run = |seed: u64| {
        let mut sim = sim_with(SimConfig { seed, ..SimConfig::default() }, true);
        sim.schedule_fault(20_000, Fault::NodeLost { node: "node-2".into(), duration: Some(Dur::secs(400)) });
        sim.apply(cloneset(6, "nginx:1.20")).unwrap();
        sim.run_for(Dur::secs(900)).unwrap();
        serde_json::to_string(&(sim.rows(), sim.decisions())).unwrap()
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

#[test]
fn deleting_the_workload_collects_its_pods() {
    let mut sim = sim_with(SimConfig::default(), true);
    sim.apply(cloneset(2, "nginx:1.20")).unwrap();
    sim.run_until(60_000, |s| ready(s) == 2).unwrap();
    sim.delete(&kruise_sim::store::ObjectKey::new("apps.kruise.io/v1beta1", "CloneSet", "default", "web"))
        .unwrap();
    sim.run_for(Dur::secs(60)).unwrap();
    assert!(sim.pods().is_empty());
}

fn node_image(sim: &Sim, node: &str) -> Option<Value> {
    sim.store()
        .get(&kruise_sim::store::ObjectKey::new("apps.kruise.io/v1beta1", "NodeImage", "", node))
        .cloned()
}

/// The node daemon (IPJ-20, IPJ-30): every node gets a NodeImage, a node that joins too; a
/// tag written into a NodeImage's spec is pulled (size over the node's bandwidth) and reported
/// Succeeded with its version; a lost node's daemon is silent until the node is back.
#[test]
fn node_daemon_creates_node_images_pulls_and_reports() {
    let mut nodes = kruise_sim::cluster::NodeSpec::numbered(2);
    nodes[1].bandwidth = Some("10Mi".into());
    let images = [(
        "web:2".to_owned(),
        kruise_sim::kubelet::ImageSpec { size: Some("100Mi".into()), ..Default::default() },
    )]
    .into();
    let mut sim = Sim::new(SimConfig { nodes, images, node_daemon: true, ..SimConfig::default() });
    assert!(node_image(&sim, "node-1").is_some() && node_image(&sim, "node-2").is_some());
    let spec =
        |version: i64| json!({"spec": {"images": {"web": {"tags": [{"tag": "2", "version": version}]}}}});
    let key = |n: &str| kruise_sim::store::ObjectKey::new("apps.kruise.io/v1beta1", "NodeImage", "", n);
    sim.patch(&key("node-1"), &spec(0)).unwrap();
    sim.schedule_fault(0, Fault::NodeLost { node: "node-2".into(), duration: Some(Dur::secs(30)) });
    sim.run_for(Dur::millis(1)).unwrap();
    sim.patch(&key("node-2"), &spec(4)).unwrap();
    sim.run_for(Dur::secs(5)).unwrap();
    // node-1: 100Mi at the default 100Mi/s = 1s.
    let n1 = node_image(&sim, "node-1").unwrap();
    assert_eq!(n1.pointer("/status/imageStatuses/web/tags/0/phase"), Some(&json!("Succeeded")));
    assert_eq!(n1.pointer("/status/succeeded"), Some(&json!(1)));
    assert!(sim.kubelet().is_cached("node-1", "web:2", sim.now()));
    // node-2 is down: nothing reported yet.
    assert_eq!(node_image(&sim, "node-2").unwrap().pointer("/status/imageStatuses"), None);
    // Back at 30s: the daemon starts the pull (10s at 10Mi/s) and reports version 4.
    sim.run_for(Dur::secs(30)).unwrap();
    let n2 = node_image(&sim, "node-2").unwrap();
    assert_eq!(n2.pointer("/status/imageStatuses/web/tags/0/phase"), Some(&json!("Pulling")));
    sim.run_for(Dur::secs(10)).unwrap();
    let n2 = node_image(&sim, "node-2").unwrap();
    assert_eq!(n2.pointer("/status/imageStatuses/web/tags/0/phase"), Some(&json!("Succeeded")));
    assert_eq!(n2.pointer("/status/imageStatuses/web/tags/0/version"), Some(&json!(4)));
    // A node that joins gets its NodeImage.
    sim.apply(kruise_sim::cluster::NodeSpec { name: "node-3".into(), ..Default::default() }.to_object())
        .unwrap();
    assert!(node_image(&sim, "node-3").is_some());
}
