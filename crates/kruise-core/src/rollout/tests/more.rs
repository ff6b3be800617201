//! Rules exercised through several objects: admission (RO-19), workload facts (RO-20, RO-21),
//! batch rollback (RO-49), blue-green (RO-55), the shared TrafficRouting and full-link
//! ordering (RO-64..RO-66), Q1.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::{CloneSet, CloneSetStatus};
use kruise_api::gateway::HttpRouteRule;
use kruise_api::keys;
use kruise_api::rollouts::v1alpha1::{TrafficRouting, TrafficRoutingSpec, TrafficRoutingStrategy, tr_phase};
use kruise_api::rollouts::v1beta1::{
    BlueGreenStrategy, GatewayTrafficRouting, HttpHeaderMatch, HttpRouteMatch, TrafficRoutingRef, batch_state,
};

use crate::plan::ActionKind;
use crate::rollout::admission::{admit_cloneset, find_rollout, release_detected};
use crate::rollout::fixtures::*;
use crate::rollout::traffic::{IntentKind, RouteIntent, TrafficObservation};
use crate::rollout::trafficrouting::{self, TRAFFIC_ROUTING_FINALIZER};
use crate::rollout::{PlanExt, RolloutAction, RolloutReason as Reason, Workload, plan};

fn tpl(image: &str) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: None,
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "app".into(),
                image: Some(image.into()),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
    }
}

fn cloneset(image: &str) -> CloneSet {
    let mut cs = CloneSet::default();
    cs.metadata.name = Some("web".into());
    cs.spec.replicas = Some(10);
    cs.spec.template = tpl(image);
    cs.status = Some(CloneSetStatus { replicas: 10, updated_replicas: 10, ..CloneSetStatus::default() });
    cs
}

#[test]
fn ro_19_cloneset_update_enters_rollout_with_partition_100() {
    let r = example_rollout(true);
    let rollouts = vec![r.clone()];
    let found = find_rollout(&rollouts, "apps.kruise.io", "CloneSet", "web");
    let patch = admit_cloneset(found, &cloneset("v1"), &cloneset("v2")).expect("enters");
    assert_eq!(patch.partition, Some(Some(IntOrString::String("100%".into()))));
    assert_eq!(patch.annotations[keys::ROLLOUT_IN_PROGRESSING], Some(r#"{"rolloutName":"web"}"#.into()));
    // Same template: no release.
    assert_eq!(admit_cloneset(found, &cloneset("v1"), &cloneset("v1")), None);
    // Two versions alive with traffic routing: admitted unchanged.
    let mut busy = cloneset("v2");
    busy.status.as_mut().unwrap().updated_replicas = 3;
    assert_eq!(admit_cloneset(found, &cloneset("v1"), &busy), None);
    // Replicas 0: skipped.
    let mut zero = cloneset("v2");
    zero.spec.replicas = Some(0);
    assert_eq!(admit_cloneset(found, &cloneset("v1"), &zero), None);
    // No Rollout for another workload.
    assert!(find_rollout(&rollouts, "apps.kruise.io", "CloneSet", "other").is_none());
}

#[test]
fn ro_19_rollout_id_alone_starts_a_release_and_q7_reads_label_or_annotation() {
    let with = |k: &str, id: &str| ObjectMeta {
        labels: (k == "label").then(|| BTreeMap::from([(keys::ROLLOUT_ID.to_owned(), id.to_owned())])),
        annotations: (k == "annotation")
            .then(|| BTreeMap::from([(keys::ROLLOUT_ID.to_owned(), id.to_owned())])),
        ..ObjectMeta::default()
    };
    assert!(release_detected(&with("annotation", "1"), &with("annotation", "2"), &tpl("a"), &tpl("a")));
    assert!(release_detected(&with("label", "1"), &with("label", "2"), &tpl("a"), &tpl("a")));
    assert!(
        !release_detected(&with("label", "1"), &with("label", "1"), &tpl("a"), &tpl("b")),
        "same id, new template"
    );
    let mut hashed = tpl("a");
    hashed.metadata = Some(ObjectMeta {
        labels: Some(BTreeMap::from([(keys::POD_TEMPLATE_HASH.to_owned(), "x".to_owned())])),
        ..ObjectMeta::default()
    });
    assert!(!release_detected(&ObjectMeta::default(), &ObjectMeta::default(), &tpl("a"), &hashed));
}

#[test]
fn ro_20_cloneset_facts() {
    let mut cs = cloneset("v2");
    cs.metadata.generation = Some(3);
    cs.metadata.annotations =
        Some(BTreeMap::from([(keys::ROLLOUT_IN_PROGRESSING.to_owned(), "{}".to_owned())]));
    let st = cs.status.as_mut().unwrap();
    st.observed_generation = 3;
    st.current_revision = "web-aaa".into();
    st.update_revision = "web-aaa".into();
    st.updated_replicas = 4;
    let w = Workload::from_cloneset(&cs);
    assert_eq!((w.stable_revision.as_str(), w.canary_revision.as_str()), ("aaa", "aaa"));
    assert!(w.in_rollback, "in progress, revisions equal, not all updated");
    assert!(!w.inconsistent());
    assert_eq!(w.rollout_id(), "rollback-aaa", "RO-21");
    let mut labelled = w.clone();
    labelled.labels.insert(keys::ROLLOUT_ID.into(), "r1".into());
    assert_eq!(labelled.rollout_id(), "r1");
}

#[test]
fn ro_49_batch_rollback_restarts_at_step_1_and_marks_no_need_update_pods() {
    let mut r = example_rollout(false);
    r.metadata.annotations =
        Some(BTreeMap::from([(keys::ROLLOUT_ROLLBACK_IN_BATCH.to_owned(), "true".to_owned())]));
    let mut w = World::new(r, 10);
    w.run(5);
    w.release("bbb");
    for _ in 0..80 {
        w.tick();
        let st = w.rollout.status.clone().unwrap();
        if st.current_step_index == 2 && st.current_step_state == "StepPaused" {
            break;
        }
        if w.frames.last().unwrap().plan.held.iter().any(|h| h.reason.kind() == "ManualApproval") {
            w.approve();
        }
    }
    assert_eq!(w.workload.updated_replicas, 5);
    w.revert();
    assert!(w.workload.in_rollback);
    w.tick();
    let st = w.rollout.status.clone().unwrap();
    let c = st.canary_status.clone().unwrap();
    assert_eq!((st.current_step_index, st.current_step_state.as_str()), (1, "BeforeStepUpgrade"));
    assert_eq!(c.canary_revision, "aaa");
    for _ in 0..20 {
        w.tick();
    }
    let br = w.br.clone().unwrap();
    assert_eq!(br.metadata.annotations.unwrap()[keys::ROLLOUT_ROLLBACK_IN_BATCH], "true");
    let no_need = w
        .pods
        .iter()
        .filter(|p| p.metadata.labels.as_ref().unwrap().contains_key(keys::ROLLOUT_NO_NEED_UPDATE))
        .count();
    assert_eq!(no_need, 5, "pods already on the rolled-back revision");
    assert_eq!(br.status.unwrap().canary_status.no_need_update_replicas, Some(5));
    // Batch 0 (1 pod of the remaining 5): stable 10 - 5 - 1 = 4 -> partition 4.
    assert_eq!(w.workload.partition, Some(IntOrString::Int(4)));
    assert_eq!(w.workload.updated_replicas, 6);
}

#[test]
fn ro_55_blue_green_claims_with_max_surge_and_never_skips_traffic() {
    let mut r = example_rollout(true);
    let c = r.spec.strategy.canary.take().unwrap();
    r.spec.strategy.blue_green = Some(BlueGreenStrategy {
        steps: c.steps,
        traffic_routings: c.traffic_routings,
        ..BlueGreenStrategy::default()
    });
    let mut w = World::new(r, 10);
    w.run(5);
    w.release("bbb");
    for _ in 0..20 {
        w.tick();
    }
    let br = w.br.clone().expect("br");
    assert_eq!(br.spec.release_plan.rolling_style, "BlueGreen");
    let claim = w
        .frames
        .iter()
        .flat_map(|f| f.plan.actions.iter())
        .find(|a| a.reason == crate::plan::Reason::Claim)
        .expect("claim");
    let ActionKind::Rollout(RolloutAction::PatchWorkload { patch }) = &claim.kind else { panic!() };
    assert_eq!(patch.max_surge, Some(IntOrString::Int(1)));
    assert_eq!(patch.partition, None, "blue-green does not use the partition");
    let batch = w
        .frames
        .iter()
        .flat_map(|f| f.plan.actions.iter())
        .find(|a| a.reason.kind() == "Batch")
        .expect("batch");
    let ActionKind::Rollout(RolloutAction::PatchWorkload { patch }) = &batch.kind else { panic!() };
    assert_eq!(patch.max_surge, Some(IntOrString::Int(1)), "step 1: maxSurge = canaryReplicas verbatim");
    assert!(w.rollout.status.as_ref().unwrap().blue_green_status.is_some());
}

#[test]
fn ro_50_blue_green_refuses_continuous_release() {
    let mut r = example_rollout(false);
    let c = r.spec.strategy.canary.take().unwrap();
    r.spec.strategy.blue_green = Some(BlueGreenStrategy { steps: c.steps, ..BlueGreenStrategy::default() });
    let mut w = World::new(r, 10);
    w.run(5);
    w.release("bbb");
    for _ in 0..10 {
        w.tick();
    }
    w.workload.update_revision = "web-ccc".into();
    w.workload.generation += 1;
    w.settle();
    let p = plan(&w.input()).unwrap();
    assert!(p.held.iter().any(|h| h.reason == Reason::Refused.into()));
    assert!(p.status.message.contains("please rollback first"));
    assert_eq!(p.count("DeleteBatchRelease"), 0);
}

fn shared_rollout(name: &str, by_field: bool) -> kruise_api::rollouts::v1beta1::Rollout {
    let mut r = example_rollout(false);
    r.metadata.name = Some(name.into());
    let c = r.spec.strategy.canary.as_mut().unwrap();
    if by_field {
        c.traffic_routing_ref = "gray".into();
    } else {
        r.metadata.annotations =
            Some(BTreeMap::from([(keys::ROLLOUT_TRAFFIC_ROUTING.to_owned(), "gray".to_owned())]));
    }
    r
}

fn gray() -> TrafficRouting {
    TrafficRouting {
        metadata: ObjectMeta {
            name: Some("gray".into()),
            finalizers: Some(vec![TRAFFIC_ROUTING_FINALIZER.into()]),
            ..ObjectMeta::default()
        },
        spec: TrafficRoutingSpec {
            object_ref: vec![TrafficRoutingRef {
                service: "gateway".into(),
                gateway: Some(GatewayTrafficRouting { http_route_name: Some("entry".into()) }),
                ..TrafficRoutingRef::default()
            }],
            strategy: TrafficRoutingStrategy {
                weight: None,
                matches: vec![HttpRouteMatch {
                    headers: vec![HttpHeaderMatch {
                        type_: None,
                        name: "User-Agent".into(),
                        value: "foo".into(),
                    }],
                    ..HttpRouteMatch::default()
                }],
                request_header_modifier: None,
            },
        },
        status: None,
    }
}

#[test]
fn ro_64_rollout_takes_and_releases_the_shared_routing_finalizer() {
    for by_field in [true, false] {
        let mut w = World::new(shared_rollout("a", by_field), 4);
        w.shared = Some(gray());
        w.run(5);
        w.release("bbb");
        for _ in 0..10 {
            w.tick();
        }
        let fin = format!("{}a", keys::ROLLOUT_PROGRESSING_FINALIZER_PREFIX);
        assert!(
            w.shared.as_ref().unwrap().metadata.finalizers.iter().flatten().any(|f| *f == fin),
            "Q1 by_field={by_field}"
        );
        assert!(w.rollout.status.as_ref().unwrap().conditions.iter().any(|c| c.reason == "InRolling"));
        for _ in 0..200 {
            w.tick();
            if w.frames.last().unwrap().plan.held.iter().any(|h| h.reason.kind() == "ManualApproval") {
                w.approve();
            }
            if w.rollout.status.as_ref().unwrap().phase == "Healthy" {
                break;
            }
        }
        assert_eq!(w.rollout.status.as_ref().unwrap().phase, "Healthy");
        assert!(!w.shared.as_ref().unwrap().metadata.finalizers.iter().flatten().any(|f| *f == fin));
    }
}

#[test]
fn ro_24_rollout_waits_while_shared_routing_is_finalizing() {
    let mut w = World::new(shared_rollout("a", true), 4);
    let mut tr = gray();
    tr.status = Some(kruise_api::rollouts::v1alpha1::TrafficRoutingStatus {
        phase: tr_phase::FINALIZING.into(),
        ..Default::default()
    });
    w.shared = Some(tr);
    w.run(5);
    w.release("bbb");
    for _ in 0..10 {
        w.tick();
    }
    assert!(w.frames.iter().all(|f| f.plan.count("AddFinalizer") == 0
        || f.plan.actions.iter().all(|a| a.object.as_ref().is_none_or(|o| o.kind != "TrafficRouting"))));
    assert!(w.rollout.status.as_ref().unwrap().conditions.iter().any(|c| c.reason == "Initializing"));
}

#[test]
fn ro_66_gateway_returns_to_stable_only_after_the_last_rollout() {
    let mut tr = gray();
    let applied: BTreeMap<String, RouteIntent> = BTreeMap::new();
    let now = t0();
    let gw = service("gateway", &[("app", "gateway")]);
    let pass = |tr: &TrafficRouting, applied: &BTreeMap<String, RouteIntent>| {
        let obs = TrafficObservation {
            stable_service: Some(&gw),
            custom_applied: Some(applied),
            ..TrafficObservation::default()
        };
        trafficrouting::plan(tr, &obs, now)
    };
    // Healthy without progressing finalizers.
    let p = pass(&tr, &applied);
    assert_eq!(p.status.phase, tr_phase::HEALTHY);
    tr.status = Some(p.status);
    // Two applications' Rollouts start.
    let fins = tr.metadata.finalizers.get_or_insert_default();
    fins.push(format!("{}a", keys::ROLLOUT_PROGRESSING_FINALIZER_PREFIX));
    fins.push(format!("{}b", keys::ROLLOUT_PROGRESSING_FINALIZER_PREFIX));
    let p = pass(&tr, &applied);
    assert_eq!(p.status.phase, tr_phase::PROGRESSING);
    tr.status = Some(p.status);
    let p = pass(&tr, &applied);
    let a = p
        .actions
        .iter()
        .find(|a| a.object == Some(crate::plan::ObjectRef::new("HTTPRoute", "entry")))
        .expect("gateway intent");
    let ActionKind::Rollout(RolloutAction::ApplyRouteIntent { intent }) = &a.kind else { panic!() };
    assert_eq!(intent.kind, IntentKind::Canary);
    assert_eq!(intent.matches[0].headers[0].name, "User-Agent");
    assert_eq!(intent.canary_service, "gateway", "only traffic routing: canary = stable Service");
    let mut applied = applied;
    applied.insert("HTTPRoute/entry".into(), (**intent).clone());
    assert!(pass(&tr, &applied).actions.is_empty(), "settled");
    // Application a finishes: still progressing, the rule stays.
    tr.metadata.finalizers.get_or_insert_default().retain(|f| !f.ends_with("/a"));
    let p = pass(&tr, &applied);
    assert_eq!(p.status.phase, tr_phase::PROGRESSING);
    assert!(p.actions.is_empty());
    // The last one finishes: Finalizing, restore, then Healthy.
    tr.metadata.finalizers.get_or_insert_default().retain(|f| !f.ends_with("/b"));
    let p = pass(&tr, &applied);
    assert_eq!(p.status.phase, tr_phase::FINALIZING);
    tr.status = Some(p.status);
    let p = pass(&tr, &applied);
    let a = p
        .actions
        .iter()
        .find(|a| a.object == Some(crate::plan::ObjectRef::new("HTTPRoute", "entry")))
        .expect("restore");
    let ActionKind::Rollout(RolloutAction::ApplyRouteIntent { intent }) = &a.kind else { panic!() };
    assert_eq!(intent.kind, IntentKind::Restore);
    applied.insert("HTTPRoute/entry".into(), (**intent).clone());
    let p = pass(&tr, &applied);
    assert_eq!(p.status.phase, tr_phase::HEALTHY);
    let _ = HttpRouteRule::default();
}

#[test]
fn ro_64_deleted_traffic_routing_restores_then_drops_its_finalizer() {
    let mut tr = gray();
    tr.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t0()));
    let p = trafficrouting::plan(&tr, &TrafficObservation::default(), t0());
    assert_eq!(p.status.phase, tr_phase::TERMINATING);
    assert!(p.actions.iter().any(|a| matches!(&a.kind, ActionKind::Rollout(RolloutAction::RemoveFinalizer { finalizer }) if finalizer == TRAFFIC_ROUTING_FINALIZER)));
}

#[test]
fn ro_39_ready_batch_without_partition_moves_to_next_batch() {
    let mut w = World::new(example_rollout(false), 10);
    w.run(5);
    w.release("bbb");
    for _ in 0..40 {
        w.tick();
        if w.rollout.status.as_ref().unwrap().current_step_state == "StepPaused" {
            break;
        }
    }
    let mut br = w.br.clone().unwrap();
    assert_eq!(br.status.as_ref().unwrap().canary_status.batch_state, batch_state::READY);
    // Clear the partition limit: a Ready batch advances.
    br.spec.release_plan.batch_partition = Some(2);
    let st = br.status.as_mut().unwrap();
    st.observed_release_plan_hash = crate::rollout::batch_release::release_plan_hash(&br.spec.release_plan);
    let mut p = crate::rollout::Plan::default();
    crate::rollout::batch_release::reconcile(
        &br,
        Some(&w.workload),
        &w.pods,
        w.now,
        &Default::default(),
        &mut p,
    );
    let st = p.batch_release_status().cloned().expect("status");
    assert_eq!(
        (st.canary_status.current_batch, st.canary_status.batch_state.as_str()),
        (1, batch_state::UPGRADING)
    );
}

#[test]
#[ignore = "writes example state files; run by hand"]
fn dump_example_states() {
    let out = std::env::var("DUMP_DIR").unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    let mut w = World::new(example_rollout(true), 10);
    w.now = "2026-12-07T10:00:00Z".parse().unwrap();
    w.run(5);
    let dump = |w: &World, tag: &str| {
        let mut r = w.rollout.clone();
        r.metadata.finalizers = None;
        let mut v = serde_json::to_value(&r).unwrap();
        v["apiVersion"] = "rollouts.kruise.io/v1beta1".into();
        v["kind"] = "Rollout".into();
        std::fs::write(format!("{out}/rollout-{tag}.json"), serde_json::to_string_pretty(&v).unwrap())
            .unwrap();
        if let Some(br) = &w.br {
            let mut v = serde_json::to_value(br).unwrap();
            v["apiVersion"] = "rollouts.kruise.io/v1beta1".into();
            v["kind"] = "BatchRelease".into();
            std::fs::write(format!("{out}/br-{tag}.json"), serde_json::to_string_pretty(&v).unwrap())
                .unwrap();
        }
        let mut pods = Vec::new();
        for p in &w.pods {
            let mut v = serde_json::to_value(p).unwrap();
            v["apiVersion"] = "v1".into();
            v["kind"] = "Pod".into();
            pods.push(v);
        }
        std::fs::write(format!("{out}/pods-{tag}.json"), serde_json::to_string_pretty(&pods).unwrap())
            .unwrap();
        let mut objs = Vec::new();
        for s in [&w.stable, &w.canary].into_iter().flatten() {
            let mut v = serde_json::to_value(s).unwrap();
            v["apiVersion"] = "v1".into();
            v["kind"] = "Service".into();
            objs.push(v);
        }
        if let Some(r) = &w.route {
            let mut v = serde_json::to_value(r).unwrap();
            v["apiVersion"] = "gateway.networking.k8s.io/v1".into();
            v["kind"] = "HTTPRoute".into();
            objs.push(v);
        }
        std::fs::write(format!("{out}/routes-{tag}.json"), serde_json::to_string_pretty(&objs).unwrap())
            .unwrap();
        std::fs::write(format!("{out}/workload-{tag}.txt"), format!("{:#?}\nnow {}", w.workload, w.now))
            .unwrap();
    };
    dump(&w, "healthy");
    w.release("bbb");
    dump(&w, "released");
    for _ in 0..60 {
        w.tick();
        if w.rollout.status.as_ref().unwrap().current_step_state == "StepPaused"
            && w.frames.last().unwrap().plan.held.iter().any(|h| h.reason.kind() == "ManualApproval")
        {
            break;
        }
    }
    dump(&w, "step1-paused");
    w.approve();
    for _ in 0..60 {
        w.tick();
        let st = w.rollout.status.clone().unwrap();
        if st.current_step_index == 2 && st.current_step_state == "StepPaused" {
            break;
        }
    }
    w.tick();
    dump(&w, "step2-paused");
}

#[test]
fn ro_20_deployment_canary_style_facts_and_rollback() {
    use k8s_openapi::api::apps::v1::{
        Deployment, DeploymentSpec, DeploymentStatus, ReplicaSet, ReplicaSetSpec,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    let rs = |name: &str, hash: &str, image: &str, replicas: i32, at: &str| ReplicaSet {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([(keys::POD_TEMPLATE_HASH.to_owned(), hash.to_owned())])),
            creation_timestamp: Some(Time(at.parse().unwrap())),
            ..ObjectMeta::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            template: Some(tpl(image)),
            ..ReplicaSetSpec::default()
        }),
        status: None,
    };
    let dep = |image: &str| Deployment {
        metadata: ObjectMeta {
            name: Some("web".into()),
            generation: Some(2),
            annotations: Some(BTreeMap::from([(keys::ROLLOUT_IN_PROGRESSING.to_owned(), "{}".to_owned())])),
            ..ObjectMeta::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(10),
            paused: Some(true),
            template: tpl(image),
            ..DeploymentSpec::default()
        }),
        status: Some(DeploymentStatus {
            observed_generation: Some(2),
            replicas: Some(10),
            ..DeploymentStatus::default()
        }),
    };
    let stable = [rs("web-aaa", "aaa", "v1", 10, "2026-01-01T00:00:00Z")];
    let canary_dep = Deployment {
        metadata: ObjectMeta { name: Some("web-x1".into()), ..ObjectMeta::default() },
        spec: Some(DeploymentSpec { replicas: Some(1), ..DeploymentSpec::default() }),
        status: Some(DeploymentStatus {
            replicas: Some(1),
            available_replicas: Some(1),
            ..DeploymentStatus::default()
        }),
    };
    let canary_rs = [rs("web-x1-bbb", "bbb", "v2", 1, "2026-01-02T00:00:00Z")];
    let w = Workload::from_deployment(&dep("v2"), &stable, Some((&canary_dep, &canary_rs)), true);
    assert_eq!((w.stable_revision.as_str(), w.pod_template_hash.as_str()), ("aaa", "bbb"));
    assert!(!w.in_rollback);
    assert!(w.paused);
    assert_eq!(w.canary.as_ref().map(|c| (c.replicas, c.available_replicas)), Some((1, 1)));
    // The template goes back to v1: the oldest ReplicaSet matches -> rollback.
    let back = Workload::from_deployment(&dep("v1"), &stable, Some((&canary_dep, &canary_rs)), true);
    assert!(back.in_rollback);
    assert_eq!(back.canary_revision, "aaa");
}

#[test]
fn ro_15_canary_style_never_scales_the_stable_deployment() {
    let mut r = example_rollout(false);
    r.spec.workload_ref.api_version = "apps/v1".into();
    r.spec.workload_ref.kind = "Deployment".into();
    r.spec.strategy.canary.as_mut().unwrap().enable_extra_workload_for_canary = true;
    let mut w = World::new(r, 10);
    w.workload.kind = Some(crate::rollout::WorkloadKind::Deployment);
    w.run(5);
    w.workload.paused = true;
    w.release("bbb");
    for _ in 0..30 {
        w.tick();
    }
    let patched_replicas = w
        .frames
        .iter()
        .flat_map(|f| f.plan.actions.iter())
        .any(|a| matches!(&a.kind, ActionKind::Rollout(RolloutAction::PatchWorkload { patch }) if patch.replicas.is_some()));
    assert!(!patched_replicas, "no canary Deployment: no replicas patch");
    assert!(w.frames.last().unwrap().plan.held.iter().any(|h| h.reason.kind() == "Missing"));
}

/// A world whose first batch was upgraded but whose pods never become ready, run until the
/// BatchRelease verifies that batch and its status has caught up with the workload.
fn verifying_world() -> World {
    let mut w = World::new(example_rollout(false), 10);
    w.run(5);
    w.ready_delay = 1_000_000;
    w.release("bbb");
    for _ in 0..40 {
        let p = w.tick();
        let state =
            w.br.as_ref().and_then(|b| b.status.as_ref()).map(|s| s.canary_status.batch_state.clone());
        if state.as_deref() == Some(batch_state::VERIFYING) && p.batch_release_status().is_none() {
            return w;
        }
    }
    panic!("the batch never settled in Verifying (no status write): {:?}", w.br.and_then(|b| b.status));
}

fn not_ready_hold(p: &crate::rollout::Plan) -> bool {
    p.held.iter().any(|h| {
        matches!(crate::rollout::types::rollout_reason(&h.reason), Some(Reason::BatchNotReady { .. }))
    })
}

/// RO-39 (deviation, issue 17): a batch that is not ready yet leaves the BatchRelease in
/// Verifying; passes over the unchanged world write nothing (no status flip to Upgrading that
/// would wake the Rollout again) and requeue to look at the batch later.
#[test]
fn ro_39_not_ready_batch_stays_verifying_without_writes_and_requeues() {
    let mut w = verifying_world();
    assert_eq!((w.workload.updated_replicas, w.workload.updated_ready_replicas), (1, 0), "not ready");
    let first = w.tick();
    assert!(first.batch_release_status().is_none(), "no BatchRelease status write: {:?}", first.actions);
    assert!(not_ready_hold(&first), "{:?}", first.held);
    let state = |w: &World| w.br.as_ref().unwrap().status.as_ref().unwrap().canary_status.batch_state.clone();
    assert_eq!(state(&w), batch_state::VERIFYING);
    let second = plan(&w.input()).expect("plan");
    assert!(second.actions.is_empty(), "the second pass writes nothing: {:?}", second.actions);
    assert!(not_ready_hold(&second), "{:?}", second.held);
    let requeue = second.requeue.as_ref().expect("a requeue");
    assert_eq!(requeue.after, crate::rollout::batch_release::BR_REQUEUE);
    // Once the pods are ready the batch becomes Ready.
    w.ready_at.values_mut().for_each(|t| *t = 0);
    w.settle();
    for _ in 0..5 {
        w.tick();
    }
    assert_eq!(state(&w), batch_state::READY);
}

/// RO-39: a not-ready batch whose workload left the batch's target (someone reset the
/// partition) goes back to Upgrading, which patches the workload again.
#[test]
fn ro_39_not_ready_batch_off_target_goes_back_to_upgrading() {
    let mut w = verifying_world();
    w.workload.partition = Some(pct("100%"));
    let p = w.tick();
    let st = p.batch_release_status().cloned().expect("a status write");
    assert_eq!(st.canary_status.batch_state, batch_state::UPGRADING);
    let p = w.tick();
    assert!(
        p.actions.iter().any(|a| matches!(&a.kind, ActionKind::Rollout(RolloutAction::PatchWorkload { patch }) if patch.partition.is_some())),
        "{:?}",
        p.actions
    );
}
