//! Plan one CloneSet reconcile with the library, no cluster needed.
//!
//! Reads the first seed manifest (an `apps.kruise.io/v1alpha1` CloneSet, as OpenKruise users
//! write it), applies the webhook defaults, converts it to the v1beta1 hub shape the planner
//! works on, and asks the planner what a controller would do for a CloneSet that has no pods
//! yet: create the first ControllerRevision and three pods. Then it carries out the pod
//! creations in memory (with the planner's own materialisation of the plan into API writes)
//! and plans again: nothing more to create. Last, it plans from a `PodTable` (the form an
//! operator with a pod cache keeps) and checks that the plan is the same.
//!
//! Run: `cargo run --example plan_cloneset`

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::v1alpha1;
use kruise_api::convert::cloneset_to_v1beta1;
use kruise_api::defaults::default;
use kruise_api::validation::validate;
use kruise_core::cloneset::reconcile::writes;
use kruise_core::cloneset::{ActionKind, Input, PodTable, Pods, plan};
use kruise_core::write::ApiWrite;
use kruise_core::{Expectations, Features};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed/01-ok.yaml"))?;
    let mut cs: v1alpha1::CloneSet = serde_saphyr::from_str(&manifest)?;
    default(&mut cs);
    validate(&cs)?;
    let mut cs = cloneset_to_v1beta1(&cs);
    cs.metadata.uid = Some("0f6c1d3e-example".into());
    cs.metadata.generation = Some(1);

    let now: Timestamp = "2026-01-01T00:00:00Z".parse()?;
    let expectations = Expectations::new();
    let input = Input {
        cloneset: &cs,
        pods: Pods::Slice(&[]),
        pvcs: &[],
        revisions: &[],
        nodes: &[],
        now,
        id_seed: 7,
        features: Features::default(),
        expectations: &expectations,
        pub_decisions: None,
    };
    let first = plan(&input)?;
    println!("first reconcile of {}:", cs.metadata.name.as_deref().unwrap_or_default());
    for action in &first.actions {
        println!("  {}", serde_json::to_string(action)?);
    }

    // Carry out what the plan says, in memory: the planner's own materialisation gives the API
    // writes an operator would send; keep the objects it creates.
    let mut revisions: Vec<ControllerRevision> = Vec::new();
    let mut pods: Vec<Pod> = Vec::new();
    for w in writes(&input, &first)? {
        if let ApiWrite::Create { target, object } = w.write {
            match target.kind.as_str() {
                "ControllerRevision" => revisions.push(serde_json::from_value(object)?),
                "Pod" => {
                    let mut pod: Pod = serde_json::from_value(object)?;
                    pod.metadata.uid = Some(format!("uid-{}", target.name));
                    pods.push(pod);
                }
                _ => {}
            }
        }
    }
    let names: Vec<_> = pods.iter().filter_map(|p| p.metadata.name.as_deref()).collect();
    println!("created {} pods: {names:?}", pods.len());

    let second = plan(&Input { pods: (&pods).into(), revisions: &revisions, ..input })?;
    let creates = second.actions.iter().filter(|a| matches!(a.kind, ActionKind::CreatePod { .. })).count();
    println!("second reconcile: {} actions, {creates} pod creations", second.actions.len());
    assert_eq!(creates, 0, "the planner must not create pods it already created");

    // An operator that plans often keeps the pods in a PodTable: each watch event updates one
    // row (`upsert` / `remove`), and a plan reads compact rows instead of every Pod's fields.
    // The plan is the same as from the slice.
    let table = PodTable::from_pods(&cs, pods.iter().cloned())?;
    let third = plan(&Input { pods: (&table).into(), revisions: &revisions, ..input })?;
    assert_eq!(third, second, "a PodTable gives the same plan as the pods themselves");
    println!("from a PodTable of {} pods: the same plan", table.len());
    Ok(())
}
