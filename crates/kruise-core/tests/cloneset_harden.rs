//! Issue 11 (CloneSet planner hardening): one test per item, through the public API, each
//! named after the rule it pins (`cs_<n>_...`). Every test here failed (or hung) before its fix.

mod harden_support;

use harden_support::{W, condition, pods_of};
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::v1beta1::CloneSet;
use kruise_api::keys;
use kruise_core::cloneset::fixtures::{self, pod, rolling, ts};
use kruise_core::cloneset::{
    ActionKind, INSTANCE_ID_SPACE, MAX_CREATES_PER_PLAN, Plan, PlanError, Reason, new_instance_ids, plan,
};

// ---- item 1: bounded work for a huge `replicas` ----------------------------------------------

/// Item 1 (CS-45, CS-48): `replicas: 20000000` used to draw ids until 20M distinct ones
/// existed (never, 27^5 exist). Now the plan creates a bounded batch and requeues.
#[test]
fn cs_48_huge_replicas_creates_a_bounded_batch_and_requeues() {
    let w = W::new(1_000_000);
    let p = plan(&w.input()).expect("plan");
    assert_eq!(p.count("CreatePod"), MAX_CREATES_PER_PLAN);
    let r = p.requeue.as_ref().expect("requeue for the rest");
    assert!(matches!(r.reason, Reason::ScaleUpLimited { wanted: 1_000_000, .. }), "{:?}", r.reason);
    assert!(condition(&p, "FailedScale").is_none(), "1M pods fit the id space");
}

/// Item 1/6 (CS-45, CS-84): more pods than instance ids is reported in `FailedScale`, and
/// the plan still returns a bounded batch instead of looping.
#[test]
fn cs_84_failed_scale_when_replicas_exceed_the_id_space() {
    let w = W::new(20_000_000);
    let p = plan(&w.input()).expect("plan");
    assert_eq!(p.count("CreatePod"), MAX_CREATES_PER_PLAN);
    let c = condition(&p, "FailedScale").expect("FailedScale");
    assert_eq!(c.status, "True");
    assert!(c.message.contains("instance ids"), "{}", c.message);
}

/// Item 1 (CS-45): asking for more ids than the space has left is an error, never a loop.
#[test]
fn cs_45_instance_id_exhaustion_is_an_error() {
    let e = new_instance_ids(1, &Default::default(), INSTANCE_ID_SPACE).expect_err("exhausted");
    assert!(matches!(e, PlanError::InstanceIdsExhausted { wanted, taken: 0 } if wanted == INSTANCE_ID_SPACE));
    let ids = new_instance_ids(1, &Default::default(), 1000).expect("ids");
    assert_eq!(ids.len(), 1000);
}

// ---- item 2: non-ASCII names -----------------------------------------------------------------

/// Item 2 (CS-45): a pod `webé` beside CloneSet `web` used to panic on a byte slice at a char
/// boundary during scale-up.
#[test]
fn cs_45_non_ascii_pod_name_beside_the_cloneset_does_not_panic() {
    let mut w = W::new(3).with_pods(1);
    let r = w.rev(0);
    for name in ["webé", "webéé-x", "web-é", "web-", "wébé-1"] {
        let mut p = pod(&w.cs, "zz", &r).phase("Failed").build();
        p.metadata.name = Some(name.into());
        p.metadata.uid = Some(format!("uid-{name}"));
        w.pods.push(p);
    }
    let p = w.plan();
    assert_eq!(p.count("CreatePod"), 2);
    // The id of a still existing `web-é` is not handed out again.
    assert!(!pods_of(&p, "CreatePod").contains(&"web-é"));
}

/// Item 2: a CloneSet whose own name is not ASCII scales up and names its pods after it.
#[test]
fn cs_45_non_ascii_cloneset_name() {
    let w = W::named("wéb-ü", 2);
    let p = w.plan();
    let created = pods_of(&p, "CreatePod");
    assert_eq!(created.len(), 2);
    assert!(
        created.iter().all(|n| n.starts_with("wéb-ü-") && n.chars().count() == "wéb-ü-".chars().count() + 5)
    );
}

// ---- item 3: CS-24, no adoption of bare pods ----------------------------------------------------

/// Item 3 (CS-24): a hand-made pod matching the selector, with no owner reference, used to be
/// adopted, counted, and deleted on scale-in. It is none of the CloneSet's business.
#[test]
fn cs_24_bare_pod_matching_the_selector_is_not_adopted_counted_or_deleted() {
    let mut w = W::new(1).with_pods(2);
    w.pods[1].metadata.owner_references = None;
    let p = w.plan();
    assert!(pods_of(&p, "AdoptPod").is_empty());
    assert!(pods_of(&p, "DeletePod").is_empty(), "{:?}", p.actions);
    assert_eq!(p.status.replicas, 1);
    // With replicas 2, the bare pod does not stand in for the missing one either.
    w.cs.spec.replicas = Some(2);
    let p = w.plan();
    assert_eq!(p.count("CreatePod"), 1);
    assert!(!p.actions.iter().any(|a| a.pod.as_deref() == Some("web-p01")));
}

// ---- item 5: CS-80, preUpdateHook removal --------------------------------------------------------

const PRE_UPDATE_MSG: &str = r#"[{"userAgent":"Lifecycle","key":"preUpdateHook"}]"#;

/// A world rolled to `nginx:2` with an `inPlaceUpdate` hook (label `hold=true`, markPodNotReady)
/// and one pod on the update revision in `state`, its KruisePodReady False with the
/// `preUpdateHook` key; `hooked` re-arms the hook label on the pod.
fn hook_world(state: &str, hooked: bool) -> W {
    use kruise_api::apps::common::{Lifecycle, LifecycleHook};
    let mut w = W::new(1).roll_to("nginx:2");
    rolling(&mut w.cs).pod_update_policy = Some("InPlaceIfPossible".into());
    let hook = LifecycleHook {
        labels_handler: [("hold".to_owned(), "true".to_owned())].into(),
        mark_pod_not_ready: true,
        ..Default::default()
    };
    fixtures::set_lifecycle(&mut w.cs, Lifecycle { in_place_update: Some(hook), ..Default::default() });
    let mut b = pod(&w.cs, "p00", &w.rev(1)).label(keys::LIFECYCLE_STATE, state).condition(
        keys::KRUISE_POD_READY,
        "False",
        "",
    );
    if hooked {
        b = b.label("hold", "true");
    }
    let mut p = b.build();
    for c in p.status.as_mut().and_then(|s| s.conditions.as_mut()).into_iter().flatten() {
        if c.type_ == keys::KRUISE_POD_READY {
            c.message = Some(PRE_UPDATE_MSG.into());
        }
    }
    w.pods.push(p);
    w
}

fn kruise_pod_ready_writes(p: &Plan) -> Vec<String> {
    p.actions
        .iter()
        .filter_map(|a| match &a.kind {
            ActionKind::UpdatePodStatus { condition } if condition.type_ == keys::KRUISE_POD_READY => {
                Some(condition.status.clone())
            }
            _ => None,
        })
        .collect()
}

/// Item 5 (CS-80): entering `Updated` removes the `preUpdateHook` key (condition back to True).
#[test]
fn cs_80_entering_updated_removes_pre_update_hook_key() {
    let p = hook_world("Updating", false).plan();
    assert_eq!(kruise_pod_ready_writes(&p), ["True"]);
}

/// Item 5 (CS-80): `Updated -> Normal` does not touch the not-ready keys (the spec removes
/// the key on `Updated` only); it used to remove it again on every move to `Normal`.
#[test]
fn cs_80_updated_to_normal_leaves_not_ready_keys_alone() {
    let p = hook_world("Updated", true).plan();
    assert!(p.actions.iter().any(|a| matches!(&a.kind, ActionKind::PatchPod { patch }
        if patch.labels.get(keys::LIFECYCLE_STATE) == Some(&Some("Normal".into())))));
    assert!(kruise_pod_ready_writes(&p).is_empty(), "{:?}", p.actions);
}

/// Item 5, deviation (docs/deviations.md): a pod going `Updating -> Normal` directly (hook
/// re-armed already) skips `Updated`; the key is removed then too, else it stays not ready.
#[test]
fn cs_80_deviation_key_removed_when_normal_skips_updated() {
    let p = hook_world("Updating", true).plan();
    assert_eq!(kruise_pod_ready_writes(&p), ["True"]);
}

// ---- item 11: CS-56, the update step reads the pods as listed ------------------------------------

/// Item 11 (CS-56 step 1): the refresh sets `InPlaceUpdateReady=True` on a pod already on the
/// update revision, but this pass's budget (CS-62) still counts that pod unavailable, so with
/// maxUnavailable 1 no other pod is updated in the same pass.
#[test]
fn cs_56_refresh_writes_do_not_change_what_the_budget_sees() {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let mut w = W::new(3).with_pods(2).roll_to("nginx:2");
    let ru = rolling(&mut w.cs);
    ru.pod_update_policy = Some("InPlaceIfPossible".into());
    ru.max_unavailable = Some(IntOrString::Int(1));
    // p02: already on revision 2, its in-place update done, the condition not yet set back.
    let r2 = w.rev(1);
    w.pods.push(
        pod(&w.cs, "p02", &r2)
            .condition(keys::INPLACE_UPDATE_READY, "False", "StartInPlaceUpdate")
            .not_ready()
            .build(),
    );
    let p = w.plan();
    assert_eq!(pods_of(&p, "UpdatePodStatus"), ["web-p02"], "refresh sets InPlaceUpdateReady=True");
    assert!(pods_of(&p, "UpdateInPlace").is_empty(), "the budget still sees web-p02 unavailable");
    assert!(matches!(p.held_reason("web-p00"), Some(Reason::MaxUnavailable { .. })));
}

// ---- items 4, 7-10: in-place update conformance ---------------------------------------------------

use kruise_core::cloneset::inplace::{self, InPlaceSpec, SpecOptions};
use kruise_core::write::{ApiWrite, Subresource};

/// A pod on revision `rev` in `Updating` with the given in-place state JSON.
fn updating_pod(cs: &CloneSet, rev: &str, state: &str) -> Pod {
    pod(cs, "a", rev)
        .label(keys::LIFECYCLE_STATE, "Updating")
        .annotation(keys::INPLACE_UPDATE_STATE, state)
        .build()
}

fn set_container_status(p: &mut Pod, image: &str, image_id: &str, container_id: &str) {
    let st = &mut p.status.as_mut().unwrap().container_statuses.as_mut().unwrap()[0];
    st.image = image.into();
    st.image_id = image_id.into();
    st.container_id = Some(container_id.into());
}

/// Item 7 (CS-70): a pod without the `InPlaceUpdateReady` readiness gate gets no
/// `InPlaceUpdateReady=False` status write when its in-place update starts (it would never be
/// set back, leaving the pod unavailable); the pod replace is then guarded by the observed
/// resourceVersion.
#[test]
fn cs_70_no_in_place_ready_write_for_a_pod_without_the_gate() {
    let mut w = W::new(1).with_pods(1).roll_to("nginx:2");
    rolling(&mut w.cs).pod_update_policy = Some("InPlaceIfPossible".into());
    w.pods[0].spec.as_mut().unwrap().readiness_gates = None;
    let p = w.plan();
    assert_eq!(pods_of(&p, "UpdateInPlace"), ["web-p00"]);
    let writes = kruise_core::cloneset::reconcile::writes(&w.input(), &p).expect("writes");
    let pod_writes: Vec<&ApiWrite> =
        writes.iter().filter(|x| x.name() == "UpdateInPlace").map(|x| &x.write).collect();
    assert_eq!(pod_writes.len(), 1, "only the pod patch: {pod_writes:?}");
    match pod_writes[0] {
        ApiWrite::JsonPatch { subresource: Subresource::Main, patch, .. } => {
            let uid = w.pods[0].metadata.uid.clone().expect("uid");
            assert_eq!(patch[0], serde_json::json!({"op": "test", "path": "/metadata/uid", "value": uid}));
            let mut pod = serde_json::to_value(&w.pods[0]).expect("pod");
            kruise_core::write::json_patch::apply(&mut pod, patch).expect("applies");
            assert_eq!(pod["spec"]["containers"][0]["image"], "nginx:2");
        }
        other => panic!("unexpected write {other:?}"),
    }
    // With the gate, the status write comes first, as before.
    let mut w2 = W::new(1).with_pods(1).roll_to("nginx:2");
    rolling(&mut w2.cs).pod_update_policy = Some("InPlaceIfPossible".into());
    let p2 = w2.plan();
    let writes = kruise_core::cloneset::reconcile::writes(&w2.input(), &p2).expect("writes");
    let subs: Vec<bool> = writes
        .iter()
        .filter(|x| x.name() == "UpdateInPlace")
        .map(|x| matches!(x.write, ApiWrite::JsonPatch { subresource: Subresource::Status, .. }))
        .collect();
    assert_eq!(subs, [true, false]);
}

/// Item 8 (CS-72): the grace annotation stores `graceSeconds`, and the wait reads it: a
/// strategy edit mid-wait does not end (or extend) the grace of pods already waiting.
#[test]
fn cs_72_grace_seconds_stored_and_read_from_the_annotation() {
    let mut w = W::new(1).with_pods(1).roll_to("nginx:2");
    let ru = rolling(&mut w.cs);
    ru.pod_update_policy = Some("InPlaceIfPossible".into());
    ru.in_place_update_strategy = Some(kruise_api::apps::common::InPlaceUpdateStrategy {
        grace_period_seconds: 30,
        ..Default::default()
    });
    let p = w.plan();
    let writes = kruise_core::cloneset::reconcile::writes(&w.input(), &p).expect("writes");
    let replaced = writes
        .iter()
        .find_map(|x| match &x.write {
            ApiWrite::JsonPatch { subresource: Subresource::Main, patch, .. }
                if x.name() == "UpdateInPlace" =>
            {
                let mut pod = serde_json::to_value(&w.pods[0]).expect("pod");
                kruise_core::write::json_patch::apply(&mut pod, patch).expect("applies");
                Some(pod)
            }
            _ => None,
        })
        .expect("pod patch");
    let grace: serde_json::Value = serde_json::from_str(
        replaced["metadata"]["annotations"][keys::INPLACE_UPDATE_GRACE].as_str().expect("grace annotation"),
    )
    .expect("grace json");
    assert_eq!(grace["graceSeconds"], 30);
    // The pod as written; the strategy's grace drops to 5 s while it waits.
    let mut waiting: Pod = serde_json::from_value(replaced).expect("pod");
    waiting.metadata.resource_version = Some("2".into());
    waiting.status = w.pods[0].status.clone();
    w.pods = vec![waiting];
    rolling(&mut w.cs).in_place_update_strategy = Some(kruise_api::apps::common::InPlaceUpdateStrategy {
        grace_period_seconds: 5,
        ..Default::default()
    });
    w.now += 10;
    let p = w.plan();
    assert!(pods_of(&p, "FinishGracePeriod").is_empty(), "{:?}", p.actions);
    assert_eq!(p.held_reason("web-p00"), Some(&Reason::GracePeriod { remaining: 20 }));
    w.now += 20;
    assert_eq!(pods_of(&w.plan(), "FinishGracePeriod"), ["web-p00"]);
}

/// Item 9 (CS-68, CS-71): the in-place metadata change is the whole template metadata
/// difference: a finalizer the new template drops is removed from the pod, one it adds is
/// added.
#[test]
fn cs_68_template_finalizer_changes_are_applied_in_place() {
    let mut w = W::new(1);
    w.cs.spec.template.metadata.as_mut().unwrap().finalizers = Some(vec!["example.com/old".into()]);
    w.revs = vec![fixtures::revision_of(&w.cs, 1)];
    w.cs.spec.template.metadata.as_mut().unwrap().finalizers = Some(vec!["example.com/new".into()]);
    w.revs.push(fixtures::revision_of(&w.cs, 2));
    let (old, new) = (&w.revs[0], &w.revs[1]);
    let spec = inplace::in_place_spec(
        &old.data.as_ref().unwrap().0,
        &new.data.as_ref().unwrap().0,
        new.metadata.name.as_deref().unwrap(),
        SpecOptions::default(),
    )
    .expect("metadata-only change is in place");
    assert_eq!(spec.remove_finalizers, ["example.com/old"]);
    assert_eq!(spec.add_finalizers, ["example.com/new"]);
    let p = pod(&w.cs, "a", old.metadata.name.as_deref().unwrap()).finalizer("example.com/old").build();
    let after = inplace::apply_in_place(&p, &spec, ts(1000), 0, false);
    assert_eq!(after.metadata.finalizers, Some(vec!["example.com/new".to_owned()]));
}

/// Item 10 (CS-74 item 3): with `InPlaceWorkloadVerticalScaling` off, resources are not
/// checked for completion (a state with `updateResources` from an earlier gate setting does
/// not keep the pod `Updating` for good).
#[test]
fn cs_74_resources_not_checked_without_the_vertical_scaling_gate() {
    let w = W::new(1).roll_to("nginx:2");
    let mut p = updating_pod(
        &w.cs,
        &w.rev(1),
        r#"{"revision":"r","lastContainerStatuses":{"main":{"imageID":"sha-old"}},"updateImages":true,"updateResources":true}"#,
    );
    p.spec.as_mut().unwrap().containers[0].image = Some("nginx:2".into());
    p.spec.as_mut().unwrap().containers[0].resources =
        Some(k8s_openapi::api::core::v1::ResourceRequirements {
            requests: Some(
                [("cpu".to_owned(), k8s_openapi::apimachinery::pkg::api::resource::Quantity("2".into()))]
                    .into(),
            ),
            ..Default::default()
        });
    set_container_status(&mut p, "nginx:2", "sha-new", "c-1");
    assert!(inplace::is_complete(&p, SpecOptions::default()), "gate off: resources are not looked at");
    let on = SpecOptions { vertical_scaling: true, ..SpecOptions::default() };
    assert!(!inplace::is_complete(&p, on), "gate on: the status does not report the new resources");
}

/// Item 4 (CS-74 item 4): `:latest` is appended to the spec image only; a status image
/// without a tag and an unchanged imageID is not complete.
#[test]
fn cs_74_latest_appended_to_the_spec_image_only() {
    let w = W::new(1);
    let state =
        r#"{"revision":"r","lastContainerStatuses":{"main":{"imageID":"sha-old"}},"updateImages":true}"#;
    let mut p = updating_pod(&w.cs, &w.rev(0), state);
    p.spec.as_mut().unwrap().containers[0].image = Some("nginx".into());
    set_container_status(&mut p, "nginx", "sha-old", "c-1");
    assert!(!inplace::is_complete(&p, SpecOptions::default()));
    set_container_status(&mut p, "nginx:latest", "sha-old", "c-1");
    assert!(inplace::is_complete(&p, SpecOptions::default()));
}

/// `apps.kruise.io/runtime-containers-meta` for container `main`.
fn runtime_meta(container_id: &str, plain: u64, env: u64) -> String {
    serde_json::json!({"containers": [{"name": "main", "containerID": container_id,
        "hashes": {"plainHash": plain, "extractedEnvFromMetadataHash": env}}]})
    .to_string()
}

/// Item 4 (CS-74 item 2): an env-from-metadata update is complete only when kruise-daemon
/// reports, for every container, the containerID kubelet reports and the hash of the env values
/// the pod's labels give now; the annotation merely existing (it stays on the pod) is not enough.
#[test]
fn cs_74_env_from_metadata_completion_checks_container_id_and_hash() {
    let w = W::new(1);
    let state = r#"{"revision":"r","updateEnvFromMetadata":true}"#;
    let mut p = updating_pod(&w.cs, &w.rev(0), state);
    p.metadata.labels.as_mut().unwrap().insert("ver".into(), "2".into());
    p.spec.as_mut().unwrap().containers[0].env = Some(vec![k8s_openapi::api::core::v1::EnvVar {
        name: "VER".into(),
        value_from: Some(k8s_openapi::api::core::v1::EnvVarSource {
            field_ref: Some(k8s_openapi::api::core::v1::ObjectFieldSelector {
                field_path: "metadata.labels['ver']".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }]);
    set_container_status(&mut p, "nginx:1", "sha-old", "c-2");
    let c = p.spec.as_ref().unwrap().containers[0].clone();
    let want = inplace::extracted_env_from_metadata_hash(&c, &p);
    let mut old = p.clone();
    old.metadata.labels.as_mut().unwrap().insert("ver".into(), "1".into());
    let stale = inplace::extracted_env_from_metadata_hash(&c, &old);
    assert_ne!(want, stale);
    let with_meta = |meta: String| {
        let mut q = p.clone();
        q.metadata.annotations.as_mut().unwrap().insert(keys::RUNTIME_CONTAINERS_META.into(), meta);
        inplace::is_complete(&q, SpecOptions::default())
    };
    assert!(!with_meta(runtime_meta("c-1", 0, stale)), "old container, old env");
    assert!(!with_meta(runtime_meta("c-2", 0, stale)), "restarted, but still the old env values");
    assert!(!with_meta(runtime_meta("c-1", 0, want)), "meta of another container id");
    assert!(with_meta(runtime_meta("c-2", 0, want)));
}

/// Item 4 (CS-74 item 4): when the runtime meta's plain hashes match the spec for the
/// containers kubelet runs, the update is complete even if the imageID did not change (a new
/// tag of the same image, upstream bug 2).
#[test]
fn cs_74_runtime_meta_plain_hash_completes_the_update() {
    let w = W::new(1);
    let state =
        r#"{"revision":"r","lastContainerStatuses":{"main":{"imageID":"sha-1"}},"updateImages":true}"#;
    let mut p = updating_pod(&w.cs, &w.rev(0), state);
    p.spec.as_mut().unwrap().containers[0].image = Some("nginx:1.1".into());
    set_container_status(&mut p, "docker.io/library/nginx:1.0", "sha-1", "c-2");
    assert!(!inplace::is_complete(&p, SpecOptions::default()), "no runtime meta: imageID rule");
    let plain = inplace::plain_container_hash(&p.spec.as_ref().unwrap().containers[0]);
    let mut q = p.clone();
    q.metadata
        .annotations
        .as_mut()
        .unwrap()
        .insert(keys::RUNTIME_CONTAINERS_META.into(), runtime_meta("c-2", plain, 0));
    assert!(inplace::is_complete(&q, SpecOptions::default()));
    q.metadata
        .annotations
        .as_mut()
        .unwrap()
        .insert(keys::RUNTIME_CONTAINERS_META.into(), runtime_meta("c-2", plain + 1, 0));
    assert!(!inplace::is_complete(&q, SpecOptions::default()), "stale meta falls back to the imageID rule");
}

/// The spec of the grace annotation round-trips with its grace.
#[test]
fn cs_72_grace_spec_round_trips() {
    let s = InPlaceSpec { revision: "r".into(), grace_seconds: 7, ..Default::default() };
    let back: InPlaceSpec = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
}

// ---- Done when: created pods are claimed by the next plan ----------------------------------------

mod claim_loop {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
    use kruise_core::cloneset::fixtures;
    use kruise_core::cloneset::{Input, PlanError, plan, reconcile};
    use kruise_core::write::ApiWrite;
    use kruise_core::{Expectations, Features};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn requirement() -> impl Strategy<Value = LabelSelectorRequirement> {
        (
            "[a-e]",
            prop_oneof![Just("In"), Just("NotIn"), Just("Exists"), Just("DoesNotExist"), Just("Bogus")],
            proptest::collection::vec("[x-zé]{0,2}", 0..3),
        )
            .prop_map(|(key, op, values)| LabelSelectorRequirement {
                key,
                operator: op.to_owned(),
                values: (!values.is_empty()).then_some(values),
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Issue 11 "done when" (CS-13, CS-24): every pod a plan creates matches the
        /// selector and is claimed by the next plan, which neither releases it nor creates
        /// more; a template the selector does not match is an error naming the field, not a
        /// create/release loop.
        #[test]
        fn created_pods_are_claimed_by_the_next_plan(
            match_labels in proptest::collection::btree_map("[a-e]", "[x-zé]{1,3}", 0..3),
            template_extra in proptest::collection::btree_map("[a-e]", "[x-zé]{0,3}", 0..4),
            exprs in proptest::collection::vec(requirement(), 0..3),
            replicas in 0i32..5,
            seed in any::<u64>(),
        ) {
            let mut cs = fixtures::cloneset("wéb", replicas, "nginx:1");
            let mut labels: BTreeMap<String, String> = template_extra;
            labels.extend(match_labels.clone());
            cs.spec.template.metadata.as_mut().unwrap().labels = Some(labels);
            cs.spec.selector = Some(LabelSelector {
                match_labels: (!match_labels.is_empty()).then_some(match_labels),
                match_expressions: (!exprs.is_empty()).then_some(exprs),
            });
            let rev = fixtures::revision_of(&cs, 1);
            let n = rev.metadata.name.clone().unwrap_or_default();
            fixtures::set_status(&mut cs, &n, &n);
            let revs = vec![rev];
            let exp = Expectations::new();
            let input = Input { cloneset: &cs, pods: (&[][..]).into(), pvcs: &[], revisions: &revs, nodes: &[],
                now: fixtures::ts(1000), id_seed: seed, features: Features::default(), expectations: &exp, pub_decisions: None };
            let first = match plan(&input) {
                Ok(p) => p,
                Err(e) => {
                    let ok = matches!(&e, PlanError::InvalidSpec { path, .. }
                        if path.to_string().starts_with("spec.selector") || path.to_string() == "spec.template.metadata.labels");
                    prop_assert!(ok, "unexpected error {:?}", e);
                    return Ok(());
                }
            };
            let created: Vec<k8s_openapi::api::core::v1::Pod> = reconcile::writes(&input, &first)
                .expect("writes")
                .into_iter()
                .filter_map(|w| match w.write {
                    ApiWrite::Create { target, object } if target.kind == "Pod" => serde_json::from_value(object).ok(),
                    _ => None,
                })
                .collect();
            prop_assert_eq!(created.len(), replicas as usize);
            let next_input = Input { pods: (&created).into(), ..input };
            let next = plan(&next_input).expect("second plan");
            prop_assert_eq!(next.count("ReleasePod"), 0);
            prop_assert_eq!(next.count("CreatePod"), 0);
            prop_assert_eq!(next.count("DeletePod"), 0);
            prop_assert_eq!(next.status.replicas, replicas);
        }
    }
}
