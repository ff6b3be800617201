//! The seed walk-through of cloneset.md §14 (W-1..W-5): each manifest of `examples/seed`
//! applied in turn to the simulator's cluster, the CloneSet planner driven by hand
//! ([`support::planned`]), with insta snapshots of the plans that matter.

mod support;

use kruise_api::apps::v1alpha1;
use kruise_api::apps::v1beta1::CloneSet;
use kruise_api::convert::cloneset_to_v1beta1;
use kruise_core::cloneset::{Plan, State};
use support::planned::{Planned, settle};

fn manifest(text: &str) -> CloneSet {
    let a: v1alpha1::CloneSet = serde_saphyr::from_str(text).expect("seed manifest");
    cloneset_to_v1beta1(&a)
}

/// Applies a new spec, keeping the stored status; the server's generation is then `generation`
/// (it bumps it on every spec change, the planner's own `podsToDelete` patch included).
fn apply(c: &mut Planned, text: &str, generation: i64) {
    c.apply_cloneset(&manifest(text));
    assert_eq!(c.cloneset().metadata.generation, Some(generation));
}

fn settle_quiet(c: &mut Planned) {
    settle(c, 40);
}

fn summary(p: &Plan) -> Vec<String> {
    p.actions.iter().map(|a| format!("{} {}", a.kind.name(), a.pod.as_deref().unwrap_or("-"))).collect()
}

#[test]
fn w1_to_w5_seed_walkthrough() {
    // W-1: create, 3 replicas.
    let mut c = Planned::new(manifest(include_str!("../examples/seed/01-ok.yaml")));
    assert_eq!(c.cloneset().metadata.generation, Some(1));
    let p = c.step();
    insta::assert_yaml_snapshot!("w1_create", p);
    let p = c.step();
    insta::assert_yaml_snapshot!("w1_refresh", p);
    settle_quiet(&mut c);
    assert_eq!(c.pods().len(), 3);

    // W-2: replicas 5, minReadySeconds 30, scaleStrategy.maxUnavailable 1: one pod at a time.
    apply(&mut c, include_str!("../examples/seed/02-ok.yaml"), 2);
    let p = c.step();
    insta::assert_yaml_snapshot!("w2_scale_one_at_a_time", p);
    assert_eq!(p.count("CreatePod"), 1);
    settle_quiet(&mut c);
    assert_eq!(c.pods().len(), 5);

    // W-3: replicas 4 + podsToDelete [first pod]: exactly that pod goes.
    let victim = c.pod_names().into_iter().next().expect("a pod");
    let text = include_str!("../examples/seed/03-ok.yaml").replace("nginxweb1-frcl2", &victim);
    apply(&mut c, &text, 3);
    let p = c.step();
    insta::assert_yaml_snapshot!("w3_pods_to_delete", p);
    assert_eq!(
        summary(&p).iter().filter(|s| s.starts_with("DeletePod")).collect::<Vec<_>>(),
        vec![&format!("DeletePod {victim}")]
    );
    settle_quiet(&mut c);
    assert_eq!(c.pods().len(), 4);
    assert!(c.cloneset().spec.scale_strategy.pods_to_delete.is_empty(), "truncated (CS-55)");
    // The truncation is a spec change: the server bumped the generation.
    assert_eq!(c.cloneset().metadata.generation, Some(4));

    // W-4: InPlaceIfPossible to nginx:latest: a new revision, then one pod per round in place.
    let names_before = c.pod_names();
    apply(&mut c, include_str!("../examples/seed/04-ok.yaml"), 5);
    let p = c.step();
    insta::assert_yaml_snapshot!("w4_first_in_place", p);
    assert_eq!(p.count("CreateRevision"), 1);
    assert_eq!(p.count("UpdateInPlace"), 1);
    settle_quiet(&mut c);
    let names_after = c.pod_names();
    assert_eq!(names_before, names_after, "in-place keeps pod names");
    let st = c.cloneset().status.expect("status");
    assert_eq!(st.current_revision, st.update_revision);
    assert_eq!(st.updated_replicas, 4);

    // W-5: partition 2, back to nginx:1.20: revision 1 is reused (bumped), two pods move.
    let rev2 = st.update_revision.clone();
    apply(&mut c, include_str!("../examples/seed/05-ok.yaml"), 6);
    let p = c.step();
    insta::assert_yaml_snapshot!("w5_partition_rollback_reuse", p);
    assert_eq!(p.count("UpdateRevision"), 1);
    settle_quiet(&mut c);
    let st = c.cloneset().status.expect("status");
    assert_eq!(st.current_revision, rev2);
    assert_eq!(st.updated_replicas, 2);
    assert_eq!(st.expected_updated_replicas, 2);
    assert_eq!(c.on_revision(&st.update_revision), 2);
    assert!(c.pods().iter().all(|p| {
        p.metadata.labels.as_ref().and_then(|l| l.get(kruise_api::keys::LIFECYCLE_STATE)).map(String::as_str)
            == Some(State::Normal.as_str())
    }));
}
