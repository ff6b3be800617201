//! Fault soak (STYLE.md §7, layer 4): many seeds, each a 50-replica CloneSet with a PVC
//! template rolled out in place (first to a partition, then fully) while random faults hit it:
//! lost nodes, failing image pulls, crashing pods, write conflicts and cache-lag spikes.
//! At every instant the run must keep the invariants, and after the faults stop it must
//! converge.
//!
//! Invariants checked whenever the virtual clock moves:
//! - maxUnavailable (CS-36/CS-62): pods the controller is updating in place
//!   (`InPlaceUpdateReady=False`) never exceed `maxUnavailable`;
//! - partition (CS-36): while `partition: 40`, at most 10 active pods are on the update
//!   revision;
//! - one pod per slot (CS-45/CS-87): active pods never exceed `replicas`, instance ids are
//!   unique among active pods, and a pod name is re-created only after its previous holder
//!   is gone (instance-id reuse with PVC reuse);
//! - no PVC lost (CS-46/CS-54): every active pod older than 10s has its PVC.
//!
//! `SOAK_SEEDS` overrides the number of seeds. The default is 40 (about 25s in the debug
//! test profile on a shared 2-core machine); 200 seeds take about two minutes there, so CI
//! runs fewer by default and a longer campaign is one environment variable away.

use std::collections::{BTreeMap, BTreeSet};

use kruise_sim::controller::ReconcilerController;
use kruise_sim::rng::SplitMix64;
use kruise_sim::scenario::admit;
use kruise_sim::store::{ObjectKey, str_at};
use kruise_sim::time::Dur;
use kruise_sim::{Sim, SimConfig};
use serde_json::{Value, json};

const REPLICAS: usize = 50;
const MAX_UNAVAILABLE: usize = 5;
const MINUTE: u64 = 60_000;

fn cloneset(image: &str, partition: i32) -> Value {
    let doc = json!({
        "apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
        "metadata": {"name": "soak", "namespace": "default"},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": {"app": "soak"}},
            "updateStrategy": {"type": "InPlaceIfPossible", "maxUnavailable": MAX_UNAVAILABLE, "partition": partition},
            "template": {"metadata": {"labels": {"app": "soak"}},
                         "spec": {"containers": [{"name": "app", "image": image, "imagePullPolicy": "IfNotPresent",
                                                    "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                      "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]
        }
    });
    admit(doc).unwrap_or_else(|e| panic!("soak manifest rejected: {e}"))
}

fn key() -> ObjectKey {
    ObjectKey::new("apps.kruise.io/v1beta1", "CloneSet", "default", "soak")
}

fn condition(pod: &Value, t: &str) -> Option<String> {
    pod.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| str_at(c, &["type"]) == Some(t))
        .and_then(|c| str_at(c, &["status"]))
        .map(str::to_owned)
}

/// Checks the invariants on the store; `partition` is the partition in force for the pods
/// running `new_image`.
fn check(sim: &Sim, partition: usize, new_image: &str) -> Result<(), String> {
    let store = sim.store();
    let pods: Vec<&Value> = store
        .list("", "Pod")
        .map(|(_, v)| v)
        .filter(|v| v.pointer("/metadata/deletionTimestamp").is_none())
        .collect();
    if pods.len() > REPLICAS {
        return Err(format!("{} active pods > replicas {REPLICAS}", pods.len()));
    }
    let updating =
        pods.iter().filter(|p| condition(p, "InPlaceUpdateReady").as_deref() == Some("False")).count();
    if updating > MAX_UNAVAILABLE {
        return Err(format!("{updating} pods updating in place > maxUnavailable {MAX_UNAVAILABLE}"));
    }
    let updated = pods
        .iter()
        .filter(|p| p.pointer("/spec/containers/0/image").and_then(Value::as_str) == Some(new_image))
        .count();
    if updated > REPLICAS - partition {
        return Err(format!(
            "{updated} pods on the update revision ({new_image}) > replicas - partition = {}",
            REPLICAS - partition
        ));
    }
    let mut ids = BTreeSet::new();
    let pvcs: BTreeSet<String> = store
        .list("", "PersistentVolumeClaim")
        .filter(|(_, v)| v.pointer("/metadata/deletionTimestamp").is_none())
        .filter_map(|(_, v)| {
            str_at(v, &["metadata", "labels", "apps.kruise.io/cloneset-instance-id"]).map(str::to_owned)
        })
        .collect();
    for p in &pods {
        let id = str_at(p, &["metadata", "labels", "apps.kruise.io/cloneset-instance-id"])
            .unwrap_or_default()
            .to_owned();
        if !ids.insert(id.clone()) {
            return Err(format!("instance id {id} used by two active pods"));
        }
        let created = str_at(p, &["metadata", "creationTimestamp"])
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .map_or(0, kruise_sim::time::sim_time);
        if sim.now() > created + 10_000 && !pvcs.contains(&id) {
            return Err(format!("pod {} has no PVC", str_at(p, &["metadata", "name"]).unwrap_or_default()));
        }
    }
    Ok(())
}

/// A name is only ever created again after its previous holder left the store (a pod evicted
/// from a lost node is re-created under its old instance id when its PVC is reused, CS-46);
/// the store refuses a create over an existing name, so every creation must be preceded by
/// the removal of any earlier pod of that name.
fn created_once(sim: &Sim) -> Result<(), String> {
    let mut live: BTreeMap<&str, u64> = BTreeMap::new();
    let mut events: Vec<(u64, u8, &str)> = sim.created().iter().map(|c| (c.at, 1, c.name.as_str())).collect();
    events.extend(sim.rows().iter().filter(|r| r.status == "Deleted").map(|r| (r.at, 0, r.name.as_str())));
    events.sort();
    for (at, kind, name) in events {
        if kind == 0 {
            live.remove(name);
        } else if let Some(before) = live.insert(name, at) {
            return Err(format!(
                "pod {name} created at {} while the one created at {} still existed",
                Dur(at),
                Dur(before)
            ));
        }
    }
    Ok(())
}

fn converged(sim: &Sim, image: &str) -> bool {
    let store = sim.store();
    let Some(cs) = store.get(&key()) else { return false };
    let status = cs.get("status").cloned().unwrap_or_default();
    let all: Vec<&Value> = store.list("", "Pod").map(|(_, v)| v).collect();
    all.len() == REPLICAS
        && all.iter().all(|p| {
            p.pointer("/metadata/deletionTimestamp").is_none()
                && condition(p, "Ready").as_deref() == Some("True")
                && p.pointer("/spec/containers/0/image").and_then(Value::as_str) == Some(image)
        })
        && status.get("updatedReadyReplicas").and_then(Value::as_u64) == Some(REPLICAS as u64)
}

fn soak(seed: u64) -> Result<(), String> {
    let mut rng = SplitMix64::new(seed);
    let mut sim = Sim::new(SimConfig {
        seed,
        nodes: kruise_sim::cluster::NodeSpec::numbered(6),
        ..SimConfig::default()
    });
    sim.add_controller(Box::new(ReconcilerController::new(
        "cloneset",
        kruise_core::cloneset::CloneSetReconciler,
    )));
    let nodes: Vec<String> = (1..=6).map(|i| format!("node-{i}")).collect();
    sim.apply(cloneset("app:1", 0)).map_err(|e| e.to_string())?;
    let settled = sim.run_until(30 * MINUTE, |s| converged(s, "app:1")).map_err(|e| e.to_string())?;
    if !settled {
        return Err("initial scale-up did not converge in 30m".into());
    }
    // Two phases with faults: partition 40, then a full rollout.
    for (partition, image) in [(40usize, "app:2"), (0, "app:2")] {
        sim.apply(cloneset(image, partition as i32)).map_err(|e| e.to_string())?;
        let start = sim.now();
        let images = vec!["app:2".to_owned()];
        for _ in 0..(2 + rng.below(5)) {
            let pods: Vec<String> = sim.pods().into_iter().map(|p| p.name).collect();
            let fault = Sim::random_fault(&mut rng, &nodes, &images, &pods);
            sim.schedule_fault(start + rng.below(20 * MINUTE), fault);
        }
        let mut broken = None;
        sim.run_until(start + 30 * MINUTE, |s| {
            broken = check(s, partition, image).err();
            broken.is_some()
        })
        .map_err(|e| e.to_string())?;
        if let Some(b) = broken.or_else(|| created_once(&sim).err()) {
            return Err(format!("partition {partition}, at {}: {b}", Dur(sim.now())));
        }
    }
    // Faults over (lost nodes come back within ~11m): the rollout must finish.
    let deadline = sim.now() + 120 * MINUTE;
    let mut broken = None;
    let done = sim
        .run_until(deadline, |s| {
            broken = check(s, 0, "app:2").err();
            broken.is_some() || converged(s, "app:2")
        })
        .map_err(|e| e.to_string())?;
    if let Some(b) = broken.or_else(|| created_once(&sim).err()) {
        return Err(format!("final phase, at {}: {b}", Dur(sim.now())));
    }
    if !done {
        let pods: Vec<String> = sim
            .pods()
            .iter()
            .map(|p| format!("{}:{}:{}:{}", p.name, p.images.join(","), p.ready, p.terminating))
            .collect();
        return Err(format!("did not converge by {}: {pods:?}", Dur(sim.now())));
    }
    Ok(())
}

#[test]
fn sim_fault_soak_converges_and_keeps_invariants() {
    let seeds: u64 = std::env::var("SOAK_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(40);
    let failures: Vec<String> =
        (0..seeds).filter_map(|seed| soak(seed).err().map(|e| format!("seed {seed}: {e}"))).collect();
    assert!(failures.is_empty(), "{} of {seeds} seeds failed:\n{}", failures.len(), failures.join("\n"));
}
