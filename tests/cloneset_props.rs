//! Property tests of the CloneSet planner's invariants, the rollouts run on the simulator's
//! cluster with the planner driven by hand ([`support::planned`]).

mod support;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::CloneSet;
use kruise_api::keys;
use kruise_core::cloneset::fixtures::{self, pod, rolling, ts};
use kruise_core::cloneset::{ActionKind, Input, PlanError, PodTable, plan};
use kruise_core::{Expectations, Features};
use proptest::prelude::*;
use support::planned::{Planned, settle};

prop_compose! {
    fn spec()(replicas in 0i32..8, partition in 0i32..5, max_unavailable in 1i32..4, surge in 0i32..3,
              in_place in any::<bool>(), min_ready in prop_oneof![Just(0i32), Just(10i32)])
              -> (i32, i32, i32, i32, bool, i32) {
        (replicas, partition, max_unavailable, surge, in_place, min_ready)
    }
}

fn make(spec: (i32, i32, i32, i32, bool, i32)) -> CloneSet {
    let (r, p, u, s, in_place, m) = spec;
    let mut cs = fixtures::cloneset("web", r, "nginx:1");
    cs.spec.min_ready_seconds = m;
    let ru = rolling(&mut cs);
    ru.partition = Some(IntOrString::Int(p));
    ru.max_unavailable = Some(IntOrString::Int(u));
    ru.max_surge = Some(IntOrString::Int(if in_place { 0 } else { s }));
    ru.pod_update_policy = Some(if in_place { "InPlaceIfPossible" } else { "ReCreate" }.into());
    cs
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// CS-62/CS-66: a rollout converges to `R − P` updated pods, never disrupts more than
    /// `maxUnavailable` available pods at once, never exceeds `R + maxSurge` pods, and
    /// never updates pods beyond the partition.
    #[test]
    fn rollout_invariants_and_convergence(s in spec()) {
        let cs = make(s);
        let (r, p, u, surge, in_place, _) = s;
        let surge = if in_place { 0 } else { surge };
        let mut c = Planned::new(cs);
        let rounds = settle(&mut c, 60);
        prop_assert!(rounds < 60, "initial scale-up did not converge");
        prop_assert_eq!(c.pods().len() as i32, r);
        let rev1 = c.cloneset().status.unwrap().update_revision;
        c.edit(|cs| fixtures::set_image(cs, "nginx:2"));
        let mut converged = false;
        for _ in 0..120 {
            let (plan, w) = c.plan();
            let disrupted = plan.actions.iter().filter(|a| match &a.kind {
                ActionKind::UpdateInPlace { .. } => true,
                ActionKind::PatchPod { patch } => patch.labels.contains_key(keys::SPECIFIED_DELETE),
                _ => false,
            }).count() as i32;
            prop_assert!(disrupted <= u.max(1) + surge, "disrupted {} > U {}", disrupted, u);
            let unavailable_before = r - c.available(i64::from(s.5)) as i32;
            c.apply(&w);
            // After the writes (before kubelet reacts), no more than max(U, before) of the
            // wanted pods are unavailable.
            let unavailable_after = r - c.available(i64::from(s.5)) as i32;
            prop_assert!(
                unavailable_after <= u.max(unavailable_before),
                "unavailable {} > max(U {}, before {})", unavailable_after, u, unavailable_before
            );
            prop_assert!(c.pods().len() as i32 <= r + surge, "{} pods > R+S", c.pods().len());
            let upd = plan.status.update_revision.clone();
            prop_assert!(c.on_revision(&upd) as i32 <= r - p.min(r) + surge);
            c.seed += 1;
            c.kubelet();
            let busy = plan.actions.iter().any(|a| !matches!(a.kind, ActionKind::UpdateStatus));
            if !busy && plan.requeue.is_none() {
                converged = true;
                break;
            }
        }
        prop_assert!(converged, "rollout did not converge");
        let upd = c.cloneset().status.unwrap().update_revision;
        prop_assert_ne!(&upd, &rev1);
        prop_assert_eq!(c.pods().len() as i32, r);
        prop_assert_eq!(c.on_revision(&upd) as i32, r - p.min(r));
    }

    /// CS-35/CS-50: every owned pod named in podsToDelete is deleted or held with a reason.
    #[test]
    fn pods_to_delete_are_deleted_or_held(n in 1usize..8, picks in proptest::collection::btree_set(0usize..8, 0..5), u in 0i32..3) {
        let mut cs = fixtures::cloneset("web", n as i32, "nginx:1");
        rolling(&mut cs).max_unavailable = Some(IntOrString::Int(u));
        let rev = fixtures::revision_of(&cs, 1);
        let rn = rev.metadata.name.clone().unwrap();
        fixtures::set_status(&mut cs, &rn, &rn);
        let pods: Vec<Pod> = (0..n).map(|i| pod(&cs, &format!("p{i}"), &rn).build()).collect();
        cs.spec.scale_strategy.pods_to_delete = picks.iter().filter(|&&i| i < n).map(|i| format!("web-p{i}")).collect();
        let exp = Expectations::new();
        let revs = vec![rev];
        let input = Input { cloneset: &cs, pods: (&pods).into(), pvcs: &[], revisions: &revs, nodes: &[], now: ts(1000),
            id_seed: 1, features: Features::default(), expectations: &exp, pub_decisions: None };
        let p = plan(&input).unwrap();
        for name in &cs.spec.scale_strategy.pods_to_delete {
            let deleted = p.actions.iter().any(|a| a.kind == ActionKind::DeletePod && a.pod.as_deref() == Some(name));
            prop_assert!(deleted || p.held_reason(name).is_some(), "{} neither deleted nor held", name);
        }
    }

    /// CS-91: the same input in any pod order gives the same plan, byte for byte.
    #[test]
    fn deterministic(s in spec(), have in 0usize..8, seed in any::<u64>(), rev_on_new in proptest::collection::vec(any::<bool>(), 8)) {
        let mut cs = make(s);
        let r1 = fixtures::revision_of(&cs, 1);
        fixtures::set_image(&mut cs, "nginx:2");
        let r2 = fixtures::revision_of(&cs, 2);
        let (n1, n2) = (r1.metadata.name.clone().unwrap(), r2.metadata.name.clone().unwrap());
        fixtures::set_status(&mut cs, &n1, &n2);
        let pods: Vec<Pod> = (0..have).map(|i| pod(&cs, &format!("p{i}"), if rev_on_new[i] { &n2 } else { &n1 }).build()).collect();
        let mut rev_pods = pods.clone();
        rev_pods.reverse();
        let revs = vec![r1, r2];
        let exp = Expectations::new();
        let mk = |pods: &[Pod]| {
            let input = Input { cloneset: &cs, pods: pods.into(), pvcs: &[], revisions: &revs, nodes: &[], now: ts(1000),
                id_seed: seed, features: Features::default(), expectations: &exp, pub_decisions: None };
            serde_json::to_string(&plan(&input).unwrap()).unwrap()
        };
        prop_assert_eq!(mk(&pods), mk(&rev_pods));
        // The same pods through a PodTable give the same plan.
        let table = PodTable::from_pods(&cs, rev_pods.iter().cloned()).unwrap();
        let input = Input { cloneset: &cs, pods: (&table).into(), pvcs: &[], revisions: &revs, nodes: &[],
            now: ts(1000), id_seed: seed, features: Features::default(), expectations: &exp, pub_decisions: None };
        prop_assert_eq!(mk(&pods), serde_json::to_string(&plan(&input).unwrap()).unwrap());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// No input panics the planner: garbage annotations, unknown lifecycle states, odd
    /// percents, negative numbers give a plan or a `PlanError`.
    #[test]
    fn never_panics(
        replicas in prop_oneof![4 => -2i32..6, 1 => Just(20_000_000i32), 1 => Just(i32::MAX), 1 => 1_000i32..3_000],
        partition in prop_oneof![Just("50%".to_owned()), Just("x".to_owned()), Just("-3".to_owned()), Just("100%".to_owned())],
        mu in prop_oneof![Just("0".to_owned()), Just("12.5%".to_owned()), Just("%%".to_owned()), Just("3".to_owned())],
        pods in proptest::collection::vec((
            prop_oneof![Just(""), Just("Normal"), Just("PreparingDelete"), Just("Updating"), Just("Updated"), Just("PreparingUpdate"), Just("Weird")],
            prop_oneof![Just(""), Just("{"), Just(r#"{"revision":"web-x","updateTimestamp":"2020-01-01T00:00:00Z"}"#)],
            any::<bool>(), any::<bool>(), prop_oneof![Just("-0"), Just("7"), Just("99999999999")],
            // Names: the usual `web-<id>`, non-ASCII ones beside the CloneSet's name (a byte
            // slice at the prefix length used to panic), long ones, and other prefixes.
            prop_oneof![
                3 => Just(String::new()),
                1 => "[a-zé漢]{0,3}".prop_map(|s| format!("webé{s}")),
                1 => "[a-zé😀-]{0,8}".prop_map(|s| format!("web-{s}")),
                1 => "[a-z0-9]{200,300}".prop_map(|s| format!("web-{s}")),
                1 => "\\PC{0,12}",
            ],
        ), 0..6),
        policy in prop_oneof![Just("ReCreate"), Just("InPlaceIfPossible"), Just("InPlaceOnly")],
        grace in -1i32..3,
    ) {
        let mut cs = fixtures::cloneset("web", replicas, "nginx:1");
        let r1 = fixtures::revision_of(&cs, 1);
        fixtures::set_image(&mut cs, "nginx:2");
        let r2 = fixtures::revision_of(&cs, 2);
        let (n1, n2) = (r1.metadata.name.clone().unwrap(), r2.metadata.name.clone().unwrap());
        fixtures::set_status(&mut cs, &n1, &n2);
        let ru = rolling(&mut cs);
        ru.partition = Some(IntOrString::String(partition));
        ru.max_unavailable = Some(IntOrString::String(mu));
        ru.pod_update_policy = Some(policy.into());
        ru.in_place_update_strategy = Some(kruise_api::apps::common::InPlaceUpdateStrategy { grace_period_seconds: grace, ..Default::default() });
        let pods: Vec<Pod> = pods.iter().enumerate().map(|(i, (state, ann, new, ready, cost, name))| {
            let mut b = pod(&cs, &format!("p{i}"), if *new { &n2 } else { &n1 })
                .label(keys::LIFECYCLE_STATE, state)
                .annotation(keys::POD_DELETION_COST, cost);
            if !ann.is_empty() {
                b = b.annotation(keys::INPLACE_UPDATE_STATE, ann).annotation(keys::INPLACE_UPDATE_GRACE, ann);
            }
            if !*ready { b = b.not_ready(); }
            let mut p = b.build();
            if !name.is_empty() {
                p.metadata.name = Some(format!("{name}{i}"));
            }
            p
        }).collect();
        let revs = vec![r1, r2];
        let exp = Expectations::new();
        let input = Input { cloneset: &cs, pods: (&pods).into(), pvcs: &[], revisions: &revs, nodes: &[], now: ts(1000),
            id_seed: 3, features: Features::default(), expectations: &exp, pub_decisions: None };
        match plan(&input) {
            Ok(p) => {
                // Bounded work whatever `replicas` is (CS-48).
                prop_assert!(p.count("CreatePod") <= kruise_core::cloneset::MAX_CREATES_PER_PLAN);
                // Every action becomes its writes (an error would name it; nothing is skipped).
                let built = kruise_core::cloneset::reconcile::writes(&input, &p);
                prop_assert!(built.is_ok(), "{:?}", built.err());
            }
            // The error branch: only "the input is unusable" errors, each naming the field.
            Err(e) => match &e {
                PlanError::InvalidSpec { path, .. } | PlanError::BadIntOrPercent { path, .. } => {
                    prop_assert!(path.to_string().starts_with("spec."), "{}", e);
                    prop_assert!(!e.to_string().is_empty());
                }
                other => prop_assert!(false, "unexpected error {:?}", other),
            },
        }
    }
}
