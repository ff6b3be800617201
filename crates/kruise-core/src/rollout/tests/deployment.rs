//! Native `apps/v1` Deployment targets (issue 17): canary style with an extra canary
//! Deployment (RO-12, RO-15, RO-20, RO-42, RO-43, RO-57, RO-65), the Deployment admission gate
//! (RO-19), and blue-green's saved and restored strategy (RO-42, RO-43, RO-55) over
//! Deployments and CloneSets.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStatus, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::keys;
use kruise_api::rollouts::v1beta1::{BlueGreenStrategy, PatchPodTemplateMetadata, RollingStyle, Rollout};

use crate::plan::{ActionKind, Reason as Shared};
use crate::rollout::admission::admit_deployment;
use crate::rollout::batch::Applier;
use crate::rollout::batch_release::{MAX_PROGRESS_SECONDS, MAX_READY_SECONDS, OriginalStrategy};
use crate::rollout::fixtures::*;
use crate::rollout::workload::template_hash;
use crate::rollout::{
    PlanExt, RolloutAction as RA, RolloutReason as Reason, Workload, WorkloadKind, WorkloadPatch,
};

/// The worked example's steps over the Deployment `web` (canary style unless `partition`).
fn deployment_rollout(with_traffic: bool) -> Rollout {
    let mut r = example_rollout(with_traffic);
    r.spec.workload_ref.api_version = "apps/v1".into();
    r.spec.workload_ref.kind = "Deployment".into();
    r.spec.strategy.canary.as_mut().unwrap().enable_extra_workload_for_canary = true;
    r
}

fn canary_world(with_traffic: bool, r: i32) -> World {
    let mut w = World::new(deployment_rollout(with_traffic), r);
    w.workload = deployment_workload(r);
    w.run(5);
    w
}

fn actions<'a>(w: &'a World, name: &str) -> Vec<&'a crate::plan::Action> {
    w.frames.iter().flat_map(|f| f.plan.actions.iter()).filter(|a| a.kind.name() == name).collect()
}

/// Drives the release to the end, approving manual pauses; returns when Healthy again.
fn finish(w: &mut World, max: usize) {
    for _ in 0..max {
        w.tick();
        w.try_approve();
        let st = w.rollout.status.clone().unwrap_or_default();
        if st.phase == "Healthy"
            && w.br.is_none()
            && !w.workload.annotations.contains_key(keys::ROLLOUT_IN_PROGRESSING)
        {
            return;
        }
    }
    panic!("the release did not finish: {:?}", w.rollout.status);
}

#[test]
fn ro_12_canary_style_needs_a_native_deployment() {
    let r = deployment_rollout(false);
    assert_eq!(r.spec.strategy.rolling_style(), Some(RollingStyle::Canary));
    assert!(!r.is_real_partition(), "canary on apps/v1 Deployment is not a real partition");
    assert_eq!(
        Applier::choose(WorkloadKind::Deployment, RollingStyle::Canary, false),
        Applier::DeploymentCanary
    );
    // Canary requested on a CloneSet silently degrades to the partition.
    assert_eq!(Applier::choose(WorkloadKind::CloneSet, RollingStyle::Canary, false), Applier::CloneSet);
    let mut cs = example_rollout(false);
    cs.spec.strategy.canary.as_mut().unwrap().enable_extra_workload_for_canary = true;
    assert!(cs.is_real_partition());
}

/// RO-42: the claim marks the stable Deployment and creates the canary Deployment: a copy of
/// the stable spec, 0 replicas, not paused, the patch metadata merged into its template
/// (RO-65), no pod-template-hash, labelled, finalized and owned by the BatchRelease.
#[test]
fn ro_42_canary_style_claim_creates_the_canary_deployment() {
    let mut r = deployment_rollout(false);
    r.spec.strategy.canary.as_mut().unwrap().patch_pod_template_metadata = Some(PatchPodTemplateMetadata {
        labels: BTreeMap::from([("opensergo.io/canary-gray".to_owned(), "gray".to_owned())]),
        annotations: BTreeMap::from([("note".to_owned(), "canary".to_owned())]),
    });
    let mut w = World::new(r, 10);
    w.workload = deployment_workload(10);
    if let Some(spec) = w.workload.deployment_spec.as_mut() {
        spec.0
            .template
            .metadata
            .get_or_insert_default()
            .labels
            .get_or_insert_default()
            .insert(keys::POD_TEMPLATE_HASH.into(), "stale".into());
    }
    w.run(5);
    w.release_deployment("bbb");
    for _ in 0..12 {
        w.tick();
    }
    let created = actions(&w, "CreateDeployment");
    assert_eq!(created.len(), 1, "created once: {created:?}");
    let ActionKind::Rollout(RA::CreateDeployment { deployment }) = &created[0].kind else { unreachable!() };
    assert_eq!(created[0].reason, Reason::CanaryDeployment.into());
    let meta = &deployment.metadata;
    assert_eq!(meta.name.as_deref(), Some(format!("web-{}", w.workload.canary_revision).as_str()));
    assert_eq!(meta.labels.as_ref().unwrap()[keys::ROLLOUT_CANARY_DEPLOYMENT], "web");
    assert_eq!(meta.finalizers.as_deref(), Some(&[keys::BATCHRELEASE_FINALIZER.to_owned()][..]));
    let owner = &meta.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.controller),
        ("BatchRelease", "web", Some(true))
    );
    assert!(meta.annotations.as_ref().unwrap().contains_key(keys::BATCHRELEASE_CONTROL_INFO));
    let spec = deployment.spec.as_ref().unwrap();
    assert_eq!((spec.replicas, spec.paused), (Some(0), None));
    let tm = spec.template.metadata.as_ref().unwrap();
    let labels = tm.labels.as_ref().unwrap();
    assert_eq!(labels["opensergo.io/canary-gray"], "gray");
    assert_eq!(labels["app"], "web");
    assert!(!labels.contains_key(keys::POD_TEMPLATE_HASH), "{labels:?}");
    assert_eq!(tm.annotations.as_ref().unwrap()["note"], "canary");
    // The stable Deployment only got the control-info annotation at the claim.
    let claim: Vec<_> =
        actions(&w, "PatchWorkload").into_iter().filter(|a| a.reason == Shared::Claim).collect();
    let ActionKind::Rollout(RA::PatchWorkload { patch }) = &claim[0].kind else { unreachable!() };
    assert_eq!((patch.paused, patch.replicas, &patch.partition), (None, None, &None));
    assert!(patch.annotations.contains_key(keys::BATCHRELEASE_CONTROL_INFO));
    assert!(w.workload.paused, "the stable Deployment stays paused");
}

/// RO-15/RO-18: the canary Deployment's replicas follow `batch_replicas` of the stable
/// Deployment's R, step by step (1, 50% of 10, 100% of 10); the stable Deployment is never
/// scaled and stays paused until the release finishes (RO-43), then the canary is deleted
/// after its finalizer is removed, and the services are back to the stable selector.
#[test]
fn ro_15_canary_deployment_replicas_follow_the_batches_and_ro_43_finish_deletes_it() {
    let mut w = canary_world(true, 10);
    w.release_deployment("bbb");
    w.frames.clear();
    finish(&mut w, 400);
    let scaled: Vec<(String, i32)> = actions(&w, "PatchWorkload")
        .into_iter()
        .filter_map(|a| match &a.kind {
            ActionKind::Rollout(RA::PatchWorkload { patch }) => {
                patch.replicas.map(|n| (a.object.as_ref().unwrap().name.clone(), n))
            }
            _ => None,
        })
        .collect();
    // Named by the release's canary revision (the test world's is `bbb`).
    let canary = "web-bbb";
    assert!(scaled.iter().all(|(n, _)| *n != "web"), "the stable Deployment is never scaled: {scaled:?}");
    let counts: Vec<i32> = scaled.iter().map(|(_, n)| *n).collect();
    assert_eq!(counts, vec![1, 5, 10], "{scaled:?}");
    assert!(scaled.iter().all(|(n, _)| n == canary), "{scaled:?}");
    // Paused through every step: resumed only after the last batch reached 10 canary pods.
    let first_unpaused = w.frames.iter().position(|f| !f.paused).expect("resumed");
    assert!(w.frames[..first_unpaused].iter().any(|f| f.canary == 10));
    let resume = actions(&w, "PatchWorkload")
        .into_iter()
        .find(|a| matches!(&a.kind, ActionKind::Rollout(RA::PatchWorkload { patch }) if patch.paused == Some(false)))
        .expect("stable resumed");
    assert_eq!(resume.reason, Reason::Release.into());
    // The canary Deployment loses its finalizer, then is deleted, once.
    let names: Vec<&str> = w
        .frames
        .iter()
        .flat_map(|f| f.plan.actions.iter())
        .filter(|a| a.object.as_ref().is_some_and(|o| o.kind == "Deployment" && o.name != "web"))
        .map(|a| a.kind.name())
        .filter(|n| *n != "PatchWorkload" && *n != "CreateDeployment")
        .collect();
    assert_eq!(names, vec!["RemoveFinalizer", "DeleteDeployment"]);
    assert!(w.workload.canary.is_none() && !w.workload.paused);
    assert_eq!(w.workload.updated_replicas, 10, "the stable Deployment rolled every pod");
    assert!(
        !w.stable
            .as_ref()
            .unwrap()
            .spec
            .as_ref()
            .unwrap()
            .selector
            .as_ref()
            .unwrap()
            .contains_key(keys::POD_TEMPLATE_HASH)
    );
    assert!(w.canary.is_none(), "canary Service removed");
    let st = w.rollout.status.as_ref().unwrap();
    assert!(st.conditions.iter().any(|c| c.type_ == "Succeeded" && c.status == "True"), "{st:?}");
}

/// RO-57/RO-20: in canary style the stable Service is pinned to the stable ReplicaSet's hash
/// and the canary Service selects the canary Deployment's pods by their own hash.
#[test]
fn ro_57_canary_style_services_select_the_stable_and_canary_hashes() {
    let mut w = canary_world(true, 10);
    w.release_deployment("bbb");
    for _ in 0..60 {
        w.tick();
        if w.rollout.status.as_ref().is_some_and(|s| s.current_step_state == "StepPaused") {
            break;
        }
    }
    let sel = |s: &Option<k8s_openapi::api::core::v1::Service>| {
        s.as_ref().and_then(|s| s.spec.as_ref()).and_then(|s| s.selector.clone()).unwrap_or_default()
    };
    let hash = w.workload.canary.as_ref().expect("canary Deployment").pod_template_hash.clone();
    assert_eq!(sel(&w.stable).get(keys::POD_TEMPLATE_HASH).map(String::as_str), Some("aaa"));
    assert_eq!(sel(&w.canary).get(keys::POD_TEMPLATE_HASH), Some(&hash));
    assert_eq!(w.frames.last().unwrap().weight, 5);
    // Batch labels (RO-41) went to the canary Deployment's pod only.
    let labelled: Vec<&str> = actions(&w, "PatchPod").iter().filter_map(|a| a.pod.as_deref()).collect();
    assert_eq!(labelled, vec!["canary-0"]);
}

/// RO-47/RO-43: reverting the template mid-release cancels it: traffic back to stable, the
/// stable Deployment resumed and the canary Deployment deleted at once (policy Immediate,
/// no wait for the stable Deployment).
#[test]
fn ro_47_canary_style_rollback_resumes_stable_and_deletes_the_canary() {
    let mut w = canary_world(false, 10);
    w.release_deployment("bbb");
    for _ in 0..80 {
        w.tick();
        w.try_approve();
        if w.workload.canary.as_ref().is_some_and(|c| c.replicas == 5) {
            break;
        }
    }
    assert_eq!(w.workload.canary.as_ref().map(|c| c.replicas), Some(5));
    w.frames.clear();
    w.revert();
    assert!(w.workload.in_rollback);
    finish(&mut w, 200);
    assert_eq!(actions(&w, "DeleteDeployment").len(), 1);
    assert!(w.workload.canary.is_none() && !w.workload.paused);
    assert!(w.pods.iter().all(|p| hash_of(p) == "aaa"), "every pod back on stable");
    let st = w.rollout.status.as_ref().unwrap();
    assert!(st.conditions.iter().any(|c| c.type_ == "Succeeded" && c.status == "False"), "{st:?}");
}

/// RO-51/RO-43: disabling mid-release also removes the canary Deployment and resumes stable.
#[test]
fn ro_51_disabling_a_canary_style_release_deletes_the_canary() {
    let mut w = canary_world(false, 4);
    w.release_deployment("bbb");
    for _ in 0..30 {
        w.tick();
        if w.workload.canary.as_ref().is_some_and(|c| c.replicas >= 1) {
            break;
        }
    }
    w.rollout.spec.disabled = true;
    for _ in 0..60 {
        w.tick();
    }
    assert_eq!(w.rollout.status.as_ref().unwrap().phase, "Disabled");
    assert!(w.workload.canary.is_none() && !w.workload.paused, "{:?}", w.workload);
}

fn rs(
    name: &str,
    owner: &str,
    owner_uid: &str,
    hash: &str,
    image: &str,
    replicas: i32,
    at: &str,
) -> ReplicaSet {
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(name.into()),
            uid: Some(format!("{name}-uid")),
            labels: Some(BTreeMap::from([(keys::POD_TEMPLATE_HASH.to_owned(), hash.to_owned())])),
            creation_timestamp: Some(Time(at.parse().unwrap())),
            owner_references: Some(vec![controller("apps/v1", "Deployment", owner, owner_uid)]),
            ..ObjectMeta::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            template: Some(template(image, &[])),
            ..ReplicaSetSpec::default()
        }),
        status: None,
    }
}

fn controller(api_version: &str, kind: &str, name: &str, uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: api_version.into(),
        kind: kind.into(),
        name: name.into(),
        uid: uid.into(),
        controller: Some(true),
        block_owner_deletion: None,
    }
}

fn template(image: &str, extra: &[(&str, &str)]) -> PodTemplateSpec {
    let mut labels = BTreeMap::from([("app".to_owned(), "web".to_owned())]);
    labels.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    PodTemplateSpec {
        metadata: Some(ObjectMeta { labels: Some(labels), ..ObjectMeta::default() }),
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

fn deployment(name: &str, image: &str, replicas: i32, extra: &[(&str, &str)]) -> Deployment {
    Deployment {
        metadata: ObjectMeta {
            name: Some(name.into()),
            uid: Some(format!("{name}-uid")),
            generation: Some(3),
            annotations: Some(BTreeMap::from([(keys::ROLLOUT_IN_PROGRESSING.to_owned(), "{}".to_owned())])),
            ..ObjectMeta::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            paused: Some(true),
            selector: LabelSelector::default(),
            template: template(image, extra),
            ..DeploymentSpec::default()
        }),
        status: Some(DeploymentStatus {
            observed_generation: Some(3),
            replicas: Some(replicas),
            available_replicas: Some(replicas),
            ..DeploymentStatus::default()
        }),
    }
}

/// RO-20 over listed objects: only the Deployment's own ReplicaSets count; the canary is the
/// one controlled by this release's BatchRelease whose template equals the stable one
/// ignoring the patch metadata (RO-65); every canary of the release is listed for removal;
/// `canaryRevision` is our template hash, and the stable ReplicaSet's hash in a rollback.
#[test]
fn ro_20_deployment_objects_pick_the_release_canary_by_template() {
    let mut r = deployment_rollout(false);
    r.spec.strategy.canary.as_mut().unwrap().patch_pod_template_metadata = Some(PatchPodTemplateMetadata {
        labels: BTreeMap::from([("gray".to_owned(), "true".to_owned())]),
        annotations: BTreeMap::new(),
    });
    let stable = deployment("web", "v2", 10, &[]);
    let canary = |name: &str, image: &str, br_uid: &str, at: &str| {
        let mut d = deployment(name, image, 2, &[("gray", "true")]);
        d.metadata.labels =
            Some(BTreeMap::from([(keys::ROLLOUT_CANARY_DEPLOYMENT.to_owned(), "web".to_owned())]));
        d.metadata.owner_references =
            Some(vec![controller("rollouts.kruise.io/v1beta1", "BatchRelease", "web", br_uid)]);
        d.metadata.creation_timestamp = Some(Time(at.parse().unwrap()));
        d
    };
    let deployments = vec![
        canary("web-old", "v1b", "br-uid", "2026-01-03T00:00:00Z"),
        canary("web-new", "v2", "br-uid", "2026-01-02T00:00:00Z"),
        canary("web-foreign", "v2", "other-uid", "2026-01-04T00:00:00Z"),
    ];
    let rss = vec![
        rs("web-aaa", "web", "web-uid", "aaa", "v1", 10, "2026-01-01T00:00:00Z"),
        rs("elsewhere-zzz", "elsewhere", "x", "zzz", "v1", 3, "2025-01-01T00:00:00Z"),
        rs("web-new-ccc", "web-new", "web-new-uid", "ccc", "v2", 2, "2026-01-02T00:00:00Z"),
    ];
    let w = Workload::from_deployment_objects(&r, &stable, &rss, &deployments, Some("br-uid"));
    assert_eq!(w.stable_revision, "aaa");
    assert_eq!(w.canary.as_ref().map(|c| c.name.as_str()), Some("web-new"));
    assert_eq!(w.pod_template_hash, "ccc");
    assert_eq!(w.canary_deployments, vec!["web-new".to_owned(), "web-old".to_owned()]);
    assert_eq!(w.canary_revision, template_hash(&stable.spec.as_ref().unwrap().template));
    assert!(!w.in_rollback);
    // The same objects with the template back on v1: rollback, revision = the stable hash.
    let back = Workload::from_deployment_objects(
        &r,
        &deployment("web", "v1", 10, &[]),
        &rss,
        &deployments,
        Some("br-uid"),
    );
    assert!(back.in_rollback);
    assert_eq!(back.canary_revision, "aaa");
    // Without patch metadata, the gray label makes every canary's template differ.
    let plain = Workload::from_deployment_objects(
        &deployment_rollout(false),
        &stable,
        &rss,
        &deployments,
        Some("br-uid"),
    );
    assert!(plain.canary.is_none());
    // The hash ignores pod-template-hash and is stable.
    let mut t = template("v2", &[]);
    assert_eq!(template_hash(&t), template_hash(&template("v2", &[])));
    t.metadata.as_mut().unwrap().labels.as_mut().unwrap().insert(keys::POD_TEMPLATE_HASH.into(), "x".into());
    assert_eq!(template_hash(&t), template_hash(&template("v2", &[])));
    assert_ne!(template_hash(&template("v3", &[])), template_hash(&template("v2", &[])));
}

/// RO-19 Deployment: a template change pauses it, labels the stable revision and marks it in
/// progress; with traffic routing two active ReplicaSets admit it unchanged; an update while
/// in progress keeps it paused.
#[test]
fn ro_19_deployment_update_is_paused_and_labelled() {
    let r = deployment_rollout(true);
    let old = {
        let mut d = deployment("web", "v1", 10, &[]);
        d.metadata.annotations = None;
        d.spec.as_mut().unwrap().paused = None;
        d
    };
    let mut new = old.clone();
    new.spec.as_mut().unwrap().template = template("v2", &[]);
    let one = vec![rs("web-aaa", "web", "web-uid", "aaa", "v1", 10, "2026-01-01T00:00:00Z")];
    let p = admit_deployment(Some(&r), &old, &new, &one).expect("enters");
    assert_eq!(p.paused, Some(true));
    assert_eq!(p.labels[keys::ROLLOUT_STABLE_REVISION], Some("aaa".into()));
    assert_eq!(p.annotations[keys::ROLLOUT_IN_PROGRESSING], Some(r#"{"rolloutName":"web"}"#.into()));
    assert_eq!(p.partition, None);
    assert_eq!(admit_deployment(Some(&r), &old, &old.clone(), &one), None, "same template");
    let mut two = one.clone();
    two.push(rs("web-bbb", "web", "web-uid", "bbb", "v0", 2, "2026-01-02T00:00:00Z"));
    assert_eq!(admit_deployment(Some(&r), &old, &new, &two), None, "two versions alive with traffic");
    assert!(admit_deployment(Some(&deployment_rollout(false)), &old, &new, &two).is_some());
    assert_eq!(admit_deployment(Some(&r), &old, &new, &[]), None, "no active ReplicaSet");
    let mut scaled0 = new.clone();
    scaled0.spec.as_mut().unwrap().replicas = Some(0);
    assert_eq!(admit_deployment(Some(&r), &old, &scaled0, &one), None);
    // Already in progress (and unpaused by someone): a new template re-pauses.
    let mut inprog_old = new.clone();
    inprog_old.metadata.annotations =
        Some(BTreeMap::from([(keys::ROLLOUT_IN_PROGRESSING.to_owned(), "{}".to_owned())]));
    let mut inprog_new = inprog_old.clone();
    inprog_new.spec.as_mut().unwrap().template = template("v3", &[]);
    let p = admit_deployment(Some(&r), &inprog_old, &inprog_new, &one).expect("re-paused");
    assert_eq!(p, WorkloadPatch { paused: Some(true), ..WorkloadPatch::default() });
}

/// RO-42/RO-43 paths: a native Deployment's paused, replicas, strategy and blue-green fields
/// land at their `apps/v1` places; a partition (partition style) goes to the strategy
/// annotation; CloneSets keep theirs.
#[test]
fn ro_42_deployment_merge_patch_paths() {
    let p = WorkloadPatch {
        paused: Some(false),
        replicas: Some(3),
        max_surge: Some(IntOrString::Int(1)),
        max_unavailable: Some(IntOrString::Int(0)),
        min_ready_seconds: Some(MAX_READY_SECONDS),
        progress_deadline_seconds: Some(Some(MAX_PROGRESS_SECONDS)),
        ..WorkloadPatch::default()
    };
    let j = p.to_merge_patch("Deployment", "apps/v1");
    assert_eq!(
        j,
        serde_json::json!({"spec": {"paused": false, "replicas": 3, "minReadySeconds": 2147483646,
            "progressDeadlineSeconds": 2147483647,
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}}})
    );
    // No native partition field: partition style writes the strategy annotation instead.
    let part = WorkloadPatch {
        partition: Some(Some(IntOrString::String("20%".into()))),
        strategy_type: Some("Recreate".into()),
        rolling_update: Some(None),
        ..WorkloadPatch::default()
    };
    assert_eq!(
        part.to_merge_patch("Deployment", "apps/v1"),
        serde_json::json!({"spec": {"strategy": {"type": "Recreate", "rollingUpdate": null}}})
    );
    let back = WorkloadPatch {
        strategy_type: Some("RollingUpdate".into()),
        rolling_update: Some(Some(crate::rollout::workload::AdvancedRollingUpdate {
            max_surge: Some(IntOrString::Int(2)),
            max_unavailable: None,
        })),
        ..WorkloadPatch::default()
    };
    assert_eq!(
        back.to_merge_patch("Deployment", "apps/v1"),
        serde_json::json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2}}}})
    );
    let cs = WorkloadPatch { paused: Some(false), min_ready_seconds: Some(5), ..WorkloadPatch::default() };
    assert_eq!(
        cs.to_merge_patch("CloneSet", "apps.kruise.io/v1alpha1"),
        serde_json::json!({"spec": {"minReadySeconds": 5, "updateStrategy": {"paused": false}}})
    );
}

fn blue_green(mut r: Rollout) -> Rollout {
    let c = r.spec.strategy.canary.take().unwrap();
    r.spec.strategy.blue_green = Some(BlueGreenStrategy {
        steps: c.steps,
        traffic_routings: c.traffic_routings,
        ..BlueGreenStrategy::default()
    });
    r
}

/// RO-42: blue-green saves the original strategy (the workload's values, else the kind's
/// defaults; an annotation already stored wins) and sets maxSurge 1, maxUnavailable 0, a
/// huge minReadySeconds (Deployment: and progressDeadlineSeconds); a corrupt annotation holds
/// the claim with an error naming it.
#[test]
fn ro_42_blue_green_claim_saves_the_original_strategy() {
    let mut dep = deployment_workload(4);
    assert_eq!(
        OriginalStrategy::of(&dep).unwrap(),
        OriginalStrategy {
            max_surge: Some(IntOrString::String("25%".into())),
            max_unavailable: Some(IntOrString::String("25%".into())),
            min_ready_seconds: 0,
            progress_deadline_seconds: Some(600),
        }
    );
    let cs = cloneset_workload(4);
    let saved = OriginalStrategy::of(&cs).unwrap();
    assert_eq!(
        (saved.max_surge, saved.max_unavailable, saved.progress_deadline_seconds),
        (Some(IntOrString::String("0%".into())), Some(IntOrString::String("20%".into())), None)
    );
    dep.max_surge = Some(IntOrString::Int(3));
    dep.min_ready_seconds = 7;
    dep.annotations
        .insert(keys::ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY.into(), r#"{"maxUnavailable":2}"#.into());
    let s = OriginalStrategy::of(&dep).unwrap();
    assert_eq!(
        (s.max_surge, s.max_unavailable, s.min_ready_seconds),
        (Some(IntOrString::Int(3)), Some(IntOrString::Int(2)), 7)
    );
    dep.annotations.insert(keys::ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY.into(), "{".into());
    let e = OriginalStrategy::of(&dep).unwrap_err();
    assert!(e.contains(keys::ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY), "{e}");

    // Through the planner, on a Deployment with its own values.
    let mut r = blue_green(deployment_rollout(true));
    r.spec.strategy.canary = None;
    let mut w = World::new(r, 4);
    w.workload = deployment_workload(4);
    w.workload.max_surge = Some(IntOrString::String("50%".into()));
    w.workload.progress_deadline_seconds = Some(900);
    w.workload.stable_replica_set = Some("web-aaa".into());
    w.run(5);
    w.release_deployment("bbb");
    for _ in 0..20 {
        w.tick();
    }
    let claim = actions(&w, "PatchWorkload")
        .into_iter()
        .find(|a| a.reason == Shared::Claim && a.object.as_ref().is_some_and(|o| o.kind == "Deployment"))
        .expect("claim");
    let ActionKind::Rollout(RA::PatchWorkload { patch }) = &claim.kind else { unreachable!() };
    assert_eq!(patch.paused, Some(false));
    assert_eq!(
        (patch.max_surge.clone(), patch.max_unavailable.clone()),
        (Some(IntOrString::Int(1)), Some(IntOrString::Int(0)))
    );
    assert_eq!(patch.min_ready_seconds, Some(MAX_READY_SECONDS));
    assert_eq!(patch.progress_deadline_seconds, Some(Some(MAX_PROGRESS_SECONDS)));
    let saved: OriginalStrategy = serde_json::from_str(
        patch.annotations[keys::ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY].as_deref().unwrap(),
    )
    .unwrap();
    assert_eq!(saved.max_surge, Some(IntOrString::String("50%".into())));
    assert_eq!(saved.progress_deadline_seconds, Some(900));
    assert!(w.rollout.status.as_ref().unwrap().blue_green_status.is_some());
    // The stable ReplicaSet's pods stop counting as available too.
    let rs = actions(&w, "PatchWorkload")
        .into_iter()
        .find(|a| a.object.as_ref().is_some_and(|o| o.kind == "ReplicaSet"))
        .expect("stable ReplicaSet patched");
    let ActionKind::Rollout(RA::PatchWorkload { patch }) = &rs.kind else { unreachable!() };
    assert_eq!(
        (rs.object.as_ref().unwrap().name.as_str(), patch.min_ready_seconds),
        ("web-aaa", Some(MAX_READY_SECONDS))
    );
    assert_eq!(
        patch.to_merge_patch("ReplicaSet", "apps/v1"),
        serde_json::json!({"spec": {"minReadySeconds": MAX_READY_SECONDS}})
    );
}

fn run_blue_green(with_traffic: bool, deployment: bool) -> World {
    let mut r =
        blue_green(if deployment { deployment_rollout(with_traffic) } else { example_rollout(with_traffic) });
    r.spec.strategy.canary = None;
    let mut w = World::new(r, 10);
    if deployment {
        w.workload = deployment_workload(10);
        w.workload.max_surge = Some(IntOrString::Int(2));
        w.workload.min_ready_seconds = 5;
    } else {
        w.workload.max_unavailable = Some(IntOrString::String("10%".into()));
    }
    w.run(5);
    if deployment {
        w.release_deployment("bbb");
    } else {
        w.release("bbb");
    }
    w
}

/// RO-43/RO-55: a blue-green release that finishes restores the saved strategy (and drops
/// the annotation; a Deployment also its stable-revision label) before it completes; the
/// success finalising routes all traffic to the new version first (RO-44 RouteTrafficToNew,
/// RO-58 AllToCanary) and restores stable routing at the end.
#[test]
fn ro_43_blue_green_finish_restores_the_original_strategy() {
    for deployment in [true, false] {
        let mut w = run_blue_green(true, deployment);
        finish(&mut w, 500);
        let wl = &w.workload;
        assert!(!wl.annotations.contains_key(keys::ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY), "{wl:?}");
        if deployment {
            assert_eq!(
                (wl.max_surge.clone(), wl.max_unavailable.clone()),
                (Some(IntOrString::Int(2)), Some(IntOrString::String("25%".into())))
            );
            assert_eq!(
                (wl.min_ready_seconds, wl.progress_deadline_seconds, wl.paused),
                (5, Some(600), false)
            );
            assert!(!wl.labels.contains_key(keys::ROLLOUT_STABLE_REVISION));
        } else {
            assert_eq!(
                (wl.max_surge.clone(), wl.max_unavailable.clone()),
                (Some(IntOrString::String("0%".into())), Some(IntOrString::String("10%".into())))
            );
            assert_eq!(wl.min_ready_seconds, 0);
        }
        assert_eq!(
            actions(&w, "PatchWorkload")
                .iter()
                .filter(|a| a.reason == Reason::OriginalStrategy.into())
                .count(),
            1,
            "restored once"
        );
        // RouteTrafficToNew (all to the new pods) comes before the restore of stable routing.
        let order: Vec<String> = w
            .frames
            .iter()
            .flat_map(|f| f.plan.actions.iter())
            .map(|a| a.reason.kind().to_owned())
            .filter(|k| k == "RouteTrafficToNew" || k == "RouteTrafficToStable")
            .collect();
        // (RO-27's cleanup before the no-traffic last step also restores the routes.)
        let new_at = order.iter().position(|k| k == "RouteTrafficToNew").expect("RouteTrafficToNew");
        assert!(order[new_at..].iter().any(|k| k == "RouteTrafficToStable"), "{order:?}");
        assert!(w.frames.iter().any(|f| f.weight == 100), "all traffic on the new pods once");
        assert_eq!(w.frames.last().unwrap().weight, 0, "stable routing restored");
        let st = w.rollout.status.as_ref().unwrap();
        assert!(st.conditions.iter().any(|c| c.type_ == "Succeeded" && c.status == "True"), "{st:?}");
    }
}

/// RO-51/RO-43: disabling a blue-green release restores the saved strategy too.
#[test]
fn ro_51_disabling_blue_green_restores_the_original_strategy() {
    let mut w = run_blue_green(false, false);
    for _ in 0..20 {
        w.tick();
    }
    assert!(w.workload.annotations.contains_key(keys::ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY));
    assert_eq!(w.workload.min_ready_seconds, MAX_READY_SECONDS);
    w.rollout.spec.disabled = true;
    for _ in 0..60 {
        w.tick();
    }
    assert_eq!(w.rollout.status.as_ref().unwrap().phase, "Disabled");
    assert!(!w.workload.annotations.contains_key(keys::ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY));
    assert_eq!(w.workload.min_ready_seconds, 0);
    assert_eq!(w.workload.max_unavailable, Some(IntOrString::String("10%".into())));
}

/// RO-43 blue-green: after the restore the release waits until every ready pod is an
/// updated one (held `Release`), and only then completes.
#[test]
fn ro_43_blue_green_release_waits_for_ready_updated_pods() {
    let mut w = run_blue_green(false, false);
    for _ in 0..200 {
        w.tick();
        w.try_approve();
        if !w.workload.annotations.contains_key(keys::ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY)
            && w.frames.iter().any(|f| {
                f.plan.on("CloneSet/web").iter().any(|a| a.reason == Reason::OriginalStrategy.into())
            })
        {
            break;
        }
    }
    assert!(w.br.is_some(), "restored, not yet released");
    // Pretend one ready pod is still old.
    w.workload.ready_replicas = w.workload.updated_ready_replicas + 1;
    let p = crate::rollout::plan(&w.input()).unwrap();
    assert!(p.held.iter().any(|h| h.reason == Reason::Release.into()), "{:?}", p.held);
}

fn partition_world(r: i32) -> World {
    let mut rollout = deployment_rollout(false);
    rollout.spec.strategy.canary.as_mut().unwrap().enable_extra_workload_for_canary = false;
    let mut w = World::new(rollout, r);
    w.workload = deployment_workload(r);
    w.workload.strategy_type = Some("RollingUpdate".into());
    w.workload.max_surge = Some(IntOrString::Int(0));
    w.workload.max_unavailable = Some(IntOrString::Int(0));
    w.run(5);
    w
}

/// RO-42 partition style over a native Deployment: the claim holds the native controller
/// (paused, `Recreate` without rollingUpdate), labels it for the advanced controller and moves
/// the rolling update into the strategy annotation (both 0 -> maxSurge 0, maxUnavailable 1)
/// with partition 0; RO-15: each batch writes `canaryReplicas` verbatim as the annotation's
/// partition (pods to update), never moving back (RO-18).
#[test]
fn ro_42_partition_style_deployment_claim_and_ro_15_batches_write_the_strategy_annotation() {
    let mut w = partition_world(10);
    w.release_deployment("bbb");
    w.frames.clear();
    for _ in 0..200 {
        w.tick();
        w.try_approve();
        if w.workload.partition == Some(IntOrString::String("100%".into())) {
            break;
        }
    }
    let claim = actions(&w, "PatchWorkload").into_iter().find(|a| a.reason == Shared::Claim).expect("claim");
    let ActionKind::Rollout(RA::PatchWorkload { patch }) = &claim.kind else { unreachable!() };
    assert_eq!(
        (patch.paused, patch.strategy_type.as_deref(), &patch.rolling_update),
        (Some(true), Some("Recreate"), &Some(None))
    );
    assert_eq!(patch.labels[keys::ROLLOUT_ADVANCED_DEPLOYMENT_CONTROL], Some("true".into()));
    let s: crate::rollout::workload::AdvancedDeploymentStrategy =
        serde_json::from_str(patch.annotations[keys::ROLLOUT_DEPLOYMENT_STRATEGY].as_deref().unwrap())
            .unwrap();
    assert_eq!(
        (s.rolling_style.as_str(), &s.partition, s.paused),
        ("Partition", &IntOrString::Int(0), false)
    );
    let ru = s.rolling_update.unwrap();
    assert_eq!((ru.max_surge, ru.max_unavailable), (Some(IntOrString::Int(0)), Some(IntOrString::Int(1))));
    let partitions: Vec<IntOrString> = actions(&w, "PatchWorkload")
        .into_iter()
        .filter(|a| a.reason.kind() == "Batch")
        .map(|a| match &a.kind {
            ActionKind::Rollout(RA::PatchWorkload { patch }) => {
                let text = patch.annotations[keys::ROLLOUT_DEPLOYMENT_STRATEGY].as_deref().unwrap();
                serde_json::from_str::<crate::rollout::workload::AdvancedDeploymentStrategy>(text)
                    .unwrap()
                    .partition
            }
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        partitions,
        vec![IntOrString::Int(1), IntOrString::String("50%".into()), IntOrString::String("100%".into())]
    );
    assert!(
        w.frames.iter().all(|f| f.paused || f.phase != "Progressing"),
        "the native controller stays held"
    );
}

/// RO-43 partition style: the finished release hands the Deployment back to the native
/// controller: resumed, RollingUpdate with the rolling update the annotation kept, the
/// strategy annotation and the control / stable-revision labels removed.
#[test]
fn ro_43_partition_style_deployment_release_restores_the_native_strategy() {
    let mut w = partition_world(4);
    w.release_deployment("bbb");
    finish(&mut w, 300);
    let wl = &w.workload;
    assert!(!wl.paused);
    assert_eq!(wl.strategy_type.as_deref(), Some("RollingUpdate"));
    assert_eq!(
        (wl.max_surge.clone(), wl.max_unavailable.clone()),
        (Some(IntOrString::Int(0)), Some(IntOrString::Int(1)))
    );
    assert!(wl.advanced_strategy.is_none());
    assert!(!wl.labels.contains_key(keys::ROLLOUT_ADVANCED_DEPLOYMENT_CONTROL));
    assert!(!wl.labels.contains_key(keys::ROLLOUT_STABLE_REVISION));
    assert_eq!(wl.updated_replicas, 4);
    let st = w.rollout.status.as_ref().unwrap();
    assert!(st.conditions.iter().any(|c| c.type_ == "Succeeded" && c.status == "True"), "{st:?}");
}

/// RO-47/RO-45 blue-green rollback: reverting the template while half the pods are green
/// cancels the release in the blue-green `Rollback` order: traffic back to stable first, then
/// the workload released with its saved strategy restored (so the green pods go), then the
/// stable Service restored; the release ends `Succeeded=False`.
#[test]
fn ro_47_blue_green_rollback_routes_to_stable_before_restoring_the_strategy() {
    let mut r = blue_green(deployment_rollout(true));
    r.spec.strategy.canary = None;
    let mut w = World::new(r, 10);
    w.workload = deployment_workload(10);
    w.run(5);
    w.release_deployment("bbb");
    for _ in 0..200 {
        w.tick();
        w.try_approve();
        if w.rollout
            .status
            .as_ref()
            .is_some_and(|s| s.current_step_index == 2 && s.current_step_state == "StepPaused")
        {
            break;
        }
    }
    assert_eq!(w.workload.updated_replicas, 5, "step 2 (50%): half the pods green");
    assert_eq!(w.frames.last().unwrap().weight, 50);
    w.frames.clear();
    w.revert();
    assert!(w.workload.in_rollback);
    finish(&mut w, 300);
    let order: Vec<String> = w
        .frames
        .iter()
        .flat_map(|f| f.plan.actions.iter())
        .map(|a| a.reason.kind().to_owned())
        .filter(|k| {
            ["RouteTrafficToStable", "OriginalStrategy", "RestoreStableService", "RouteTrafficToNew"]
                .contains(&k.as_str())
        })
        .collect();
    let first =
        |k: &str| order.iter().position(|x| x == k).unwrap_or_else(|| panic!("{k} missing: {order:?}"));
    assert!(!order.iter().any(|k| k == "RouteTrafficToNew"), "{order:?}");
    assert!(first("RouteTrafficToStable") < first("OriginalStrategy"), "{order:?}");
    assert!(first("OriginalStrategy") < first("RestoreStableService"), "{order:?}");
    assert!(!w.workload.annotations.contains_key(keys::ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY));
    assert!(w.pods.iter().all(|p| hash_of(p) == "aaa"), "every pod back on blue");
    let st = w.rollout.status.as_ref().unwrap();
    assert!(st.conditions.iter().any(|c| c.type_ == "Succeeded" && c.status == "False"), "{st:?}");
}

/// RO-42/RO-43 blue-green and the HPA: the claim disables the HPA scaling the workload (its
/// target name suffixed `-DisableByRollout`), the release gives it back only after the saved
/// strategy is restored and every pod is updated and ready.
#[test]
fn ro_42_blue_green_disables_the_hpa_and_ro_43_restores_it_after_the_release() {
    use crate::rollout::workload::ScaledBy;
    let mut w = run_blue_green(false, true);
    w.workload.hpa = Some(ScaledBy {
        api_version: "autoscaling/v2".into(),
        name: "web-hpa".into(),
        target_api_version: "apps/v1".into(),
        target_kind: "Deployment".into(),
        target_name: "web".into(),
    });
    w.frames.clear();
    finish(&mut w, 400);
    let all: Vec<(String, String)> = w
        .frames
        .iter()
        .flat_map(|f| f.plan.actions.iter())
        .filter(|a| a.reason == Reason::Hpa.into() || a.reason == Reason::OriginalStrategy.into())
        .map(|a| match &a.kind {
            ActionKind::Rollout(RA::SetScaleTargetRef { name, .. }) => ("hpa".to_owned(), name.clone()),
            other => (other.name().to_owned(), String::new()),
        })
        .collect();
    assert_eq!(
        all,
        vec![
            ("hpa".to_owned(), "web-DisableByRollout".to_owned()),
            ("PatchWorkload".to_owned(), String::new()),
            ("hpa".to_owned(), "web".to_owned()),
        ],
        "disabled once at the claim, restored once after the strategy"
    );
    assert_eq!(w.workload.hpa.as_ref().unwrap().target_name, "web");
}

/// The HPA of a workload is found by its target's apiVersion, kind and name (suffix
/// stripped, even repeated); `autoscaling/v2` wins over `autoscaling/v1`.
#[test]
fn ro_42_hpa_lookup_by_scale_target() {
    use crate::rollout::workload::{ScaledBy, remove_hpa_suffix};
    let hpa = |v: &str, name: &str, kind: &str, target: &str| {
        serde_json::json!({"apiVersion": v, "kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": target}}})
    };
    let hpas = vec![
        hpa("autoscaling/v1", "a-v1", "Deployment", "web"),
        hpa("autoscaling/v2", "b-v2", "Deployment", "web-DisableByRollout-DisableByRollout"),
        hpa("autoscaling/v2", "other", "StatefulSet", "web"),
    ];
    let found = ScaledBy::find(&hpas, "apps/v1", "Deployment", "web").expect("found");
    assert_eq!((found.name.as_str(), found.disabled()), ("b-v2", true));
    assert_eq!(remove_hpa_suffix(&found.target_name), "web");
    assert_eq!(ScaledBy::find(&hpas[..1], "apps/v1", "Deployment", "web").unwrap().name, "a-v1");
    assert!(ScaledBy::find(&hpas, "apps/v1", "Deployment", "api").is_none());
    assert!(ScaledBy::find(&hpas, "apps.kruise.io/v1alpha1", "Deployment", "web").is_none());
}

/// RO-19 in progress, by style: partition style stays held (paused, Recreate) and a user's
/// new rollingUpdate moves into the strategy annotation, a template change pausing it;
/// blue-green re-pauses on a template change and keeps its strategy type; canary style undoes
/// a switch to Recreate.
#[test]
fn ro_19_deployment_in_progress_keeps_each_style_held() {
    use crate::rollout::admission::keep_in_progress;
    use crate::rollout::workload::AdvancedDeploymentStrategy;
    use k8s_openapi::api::apps::v1::{DeploymentStrategy, RollingUpdateDeployment};
    let base = || {
        let mut d = deployment("web", "v2", 4, &[]);
        d.spec.as_mut().unwrap().paused = Some(true);
        d
    };
    let with_strategy = |d: &mut Deployment, t: &str, surge: Option<i32>| {
        d.spec.as_mut().unwrap().strategy = Some(DeploymentStrategy {
            type_: Some(t.into()),
            rolling_update: surge.map(|s| RollingUpdateDeployment {
                max_surge: Some(IntOrString::Int(s)),
                ..Default::default()
            }),
        });
    };
    // Partition style.
    let mut old = base();
    let held = r#"{"rollingStyle":"Partition","rollingUpdate":{"maxUnavailable":"25%","maxSurge":"25%"},"partition":1,"paused":false}"#;
    old.metadata
        .annotations
        .get_or_insert_default()
        .insert(keys::ROLLOUT_DEPLOYMENT_STRATEGY.into(), held.into());
    with_strategy(&mut old, "Recreate", None);
    let mut new = old.clone();
    with_strategy(&mut new, "RollingUpdate", Some(3));
    new.spec.as_mut().unwrap().paused = Some(false);
    new.spec.as_mut().unwrap().template = template("v3", &[]);
    let p = keep_in_progress(&old, &new, true);
    assert_eq!(
        (p.paused, p.strategy_type.as_deref(), &p.rolling_update),
        (Some(true), Some("Recreate"), &Some(None))
    );
    let s: AdvancedDeploymentStrategy =
        serde_json::from_str(p.annotations[keys::ROLLOUT_DEPLOYMENT_STRATEGY].as_deref().unwrap()).unwrap();
    assert!(s.paused);
    assert_eq!(s.partition, IntOrString::Int(1));
    assert_eq!(s.rolling_update.unwrap().max_surge, Some(IntOrString::Int(3)));
    // Nothing changed: nothing to write.
    assert!(keep_in_progress(&old, &old, false).is_empty());
    // Blue-green.
    let mut bg = base();
    bg.spec.as_mut().unwrap().paused = Some(false);
    with_strategy(&mut bg, "RollingUpdate", Some(1));
    bg.metadata
        .annotations
        .get_or_insert_default()
        .insert(keys::ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY.into(), "{}".into());
    let mut bg_new = bg.clone();
    with_strategy(&mut bg_new, "Recreate", None);
    let p = keep_in_progress(&bg, &bg_new, true);
    assert_eq!((p.paused, p.strategy_type.as_deref()), (Some(true), Some("RollingUpdate")));
    assert!(keep_in_progress(&bg, &bg.clone(), false).is_empty(), "no template change: not paused");
    // Canary style.
    let mut c = base();
    with_strategy(&mut c, "RollingUpdate", Some(2));
    let mut c_new = c.clone();
    with_strategy(&mut c_new, "Recreate", None);
    let p = keep_in_progress(&c, &c_new, false);
    assert_eq!(p.strategy_type.as_deref(), Some("RollingUpdate"));
    assert_eq!(p.rolling_update.clone().flatten().and_then(|r| r.max_surge), Some(IntOrString::Int(2)));
    assert_eq!(p.paused, None, "already paused");
}
