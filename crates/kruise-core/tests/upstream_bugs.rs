//! Upstream bug reports replayed against the CloneSet planner (`upstream-bugs.md` rows 1-20,
//! 33, 34; issue 11 item 16). Each test, `bug_<n>_...`, sets up the reported situation and
//! asserts the right behaviour (the spec's, or the deviation named in `docs/deviations.md`).
//! Row 1 is a simulator scenario (`examples/scenarios/bug-1-*`, run by `tests/sim_scenarios.rs`).

mod harden_support;

use harden_support::{W, pods_of};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::common::{Lifecycle, LifecycleHook};
use kruise_api::keys;
use kruise_core::cloneset::fixtures::{self, pod, rolling, ts};
use kruise_core::cloneset::{ActionKind, Plan, Reason};
use kruise_core::write::{ApiWrite, Subresource};

fn in_place(w: &mut W) {
    rolling(&mut w.cs).pod_update_policy = Some("InPlaceIfPossible".into());
}

fn max_unavailable(w: &mut W, v: IntOrString) {
    rolling(&mut w.cs).max_unavailable = Some(v);
}

/// The lifecycle state `pod` is patched to, if any.
fn lifecycle_to<'p>(p: &'p Plan, pod: &str) -> Option<&'p str> {
    p.actions.iter().filter(|a| a.pod.as_deref() == Some(pod)).find_map(|a| match &a.kind {
        ActionKind::PatchPod { patch } => patch.labels.get(keys::LIFECYCLE_STATE).and_then(|v| v.as_deref()),
        _ => None,
    })
}

/// Pods marked for recreation (`specified-delete` patched, CS-65).
fn recreated(p: &Plan) -> Vec<&str> {
    p.actions
        .iter()
        .filter(|a| matches!(&a.kind, ActionKind::PatchPod { patch } if patch.labels.contains_key(keys::SPECIFIED_DELETE)))
        .filter_map(|a| a.pod.as_deref())
        .collect()
}

/// A pod on `rev` with the in-place state of an update from an image with id `sha-old`.
fn updating(w: &W, id: &str, rev: &str) -> Pod {
    let state = format!(
        r#"{{"revision":"{rev}","updateTimestamp":"1970-01-01T00:10:00Z","lastContainerStatuses":{{"main":{{"imageID":"sha-old"}}}},"updateImages":true}}"#
    );
    pod(&w.cs, id, rev)
        .state(kruise_core::cloneset::State::Updating)
        .annotation(keys::INPLACE_UPDATE_STATE, &state)
        .build()
}

/// Bug 2 (kruise#635): a new tag whose image has the same imageID. The update is complete
/// once kubelet reports the spec's image string (CS-74), so the pod leaves `Updating`.
#[test]
fn bug_2_new_tag_with_same_image_id_completes() {
    let mut w = W::new(4).with_pods(3).roll_to("nginx:2");
    rolling(&mut w.cs).pod_update_policy = Some("InPlaceOnly".into());
    let r2 = w.rev(1);
    // Kubelet runs the new tag; the digest is the old one.
    w.pods.push(updating(&w, "p03", &r2));
    let p = w.plan();
    assert_eq!(lifecycle_to(&p, "web-p03"), Some("Normal"), "{:?}", p.actions);
    assert_ne!(p.held_reason("web-p03"), Some(&Reason::InPlaceUpdating));
}

/// Bug 3 (kruise#676): a pod in `Updated` (inPlaceUpdate hook not re-armed) when the template
/// is rolled back is still a candidate (CS-57) and goes to `PreparingUpdate` (CS-64).
#[test]
fn bug_3_updated_pod_is_not_skipped_on_rollback() {
    let mut w = W::new(4).with_pods(3).roll_to("nginx:2");
    in_place(&mut w);
    let hook = LifecycleHook {
        labels_handler: [("hold".to_owned(), "true".to_owned())].into(),
        ..Default::default()
    };
    fixtures::set_lifecycle(&mut w.cs, Lifecycle { in_place_update: Some(hook), ..Default::default() });
    let r2 = w.rev(1);
    w.pods.push(pod(&w.cs, "p03", &r2).state(kruise_core::cloneset::State::Updated).build());
    // Roll back: the template is revision 1's again.
    fixtures::set_image(&mut w.cs, "nginx:1");
    let p = w.plan();
    assert_eq!(p.status.update_revision, w.rev(0), "revision 1 reused");
    assert_eq!(lifecycle_to(&p, "web-p03"), Some("PreparingUpdate"), "{:?}", p.actions);
}

/// Bug 4 (kruise#528): with two inPlaceUpdate label handlers, an `Updated` pod that re-armed
/// only one stays `Updated` (CS-78 allHooked needs every pair), and as an unavailable pod it
/// holds the next update under maxUnavailable 1.
#[test]
fn bug_4_updated_to_normal_needs_every_hook_label() {
    let mut w = W::new(3).with_pods(2).roll_to("nginx:2");
    in_place(&mut w);
    max_unavailable(&mut w, IntOrString::Int(1));
    let hook = LifecycleHook {
        labels_handler: [("a".to_owned(), "1".to_owned()), ("b".to_owned(), "1".to_owned())].into(),
        ..Default::default()
    };
    fixtures::set_lifecycle(&mut w.cs, Lifecycle { in_place_update: Some(hook), ..Default::default() });
    let r2 = w.rev(1);
    w.pods.push(pod(&w.cs, "p02", &r2).state(kruise_core::cloneset::State::Updated).label("a", "1").build());
    let p = w.plan();
    assert_eq!(lifecycle_to(&p, "web-p02"), None, "stays Updated: {:?}", p.actions);
    assert!(pods_of(&p, "UpdateInPlace").is_empty());
    assert!(lifecycle_to(&p, "web-p00").is_none() && lifecycle_to(&p, "web-p01").is_none());
    assert!(matches!(p.held_reason("web-p00"), Some(Reason::MaxUnavailable { .. })));
}

/// Bug 5 (kruise#376): replicas 1, maxSurge 50%, the new pod stuck Pending, then a rollback:
/// the stuck pod (now on the old revision) is deleted, the healthy pod kept.
#[test]
fn bug_5_rollback_deletes_the_stuck_surge_pod_not_the_healthy_one() {
    let mut w = W::new(1).roll_to("nginx:2");
    rolling(&mut w.cs).max_surge = Some(IntOrString::String("50%".into()));
    let (r1, r2) = (w.rev(0), w.rev(1));
    w.pods.push(pod(&w.cs, "old", &r1).build());
    w.pods.push(pod(&w.cs, "new", &r2).pending().build());
    fixtures::set_image(&mut w.cs, "nginx:1");
    let p = w.plan();
    assert_eq!(pods_of(&p, "DeletePod"), ["web-new"], "{:?}", p.actions);
}

/// Bug 6 (kruise#286): replicas 8, partition 6, maxSurge 50%, maxUnavailable 0: the surge
/// covers only the 2 pods the partition lets move (CS-39), not 4.
#[test]
fn bug_6_surge_respects_partition() {
    let mut w = W::new(8).with_pods(8).roll_to("nginx:2");
    let ru = rolling(&mut w.cs);
    ru.partition = Some(IntOrString::Int(6));
    ru.max_surge = Some(IntOrString::String("50%".into()));
    ru.max_unavailable = Some(IntOrString::Int(0));
    let p = w.plan();
    assert_eq!(p.count("CreatePod"), 2);
    let r2 = w.rev(1);
    assert!(
        p.actions.iter().filter(|a| a.kind.name() == "CreatePod").all(|a| a.revision.as_deref() == Some(&r2))
    );
    assert_eq!(p.count("DeletePod"), 0);
}

/// Bug 7 (kruise#632): with `CloneSetPartitionRollback`, partition 3 -> 1 -> 3 of 4 moves two
/// pods back to the current revision (CS-38, CS-41), not only the latest one.
#[test]
fn bug_7_partition_rollback_moves_every_pod_back() {
    let mut w = W::new(4).roll_to("nginx:2");
    in_place(&mut w);
    w.features.clone_set_partition_rollback = true;
    let (r1, r2) = (w.rev(0), w.rev(1));
    w.pods.push(pod(&w.cs, "p00", &r1).build());
    for id in ["p01", "p02", "p03"] {
        w.pods.push(pod(&w.cs, id, &r2).build());
    }
    let ru = rolling(&mut w.cs);
    ru.partition = Some(IntOrString::Int(3));
    ru.max_unavailable = Some(IntOrString::String("100%".into()));
    let p = w.plan();
    let back: Vec<&Option<String>> =
        p.actions.iter().filter(|a| a.kind.name() == "UpdateInPlace").map(|a| &a.revision).collect();
    assert_eq!(back.len(), 2, "{:?}", p.actions);
    assert!(back.iter().all(|r| r.as_deref() == Some(r1.as_str())));
}

/// Bug 8 (kruise#410, #261): raising partition 5 -> 7 without the rollback gate moves no pod
/// back (by design), and the plan says why: status `expectedUpdatedReplicas` 3 against
/// `updatedReplicas` 5; with the gate, two pods move back.
#[test]
fn bug_8_raised_partition_is_explained_and_gated() {
    let mut w = W::new(10).roll_to("nginx:2");
    in_place(&mut w);
    let (r1, r2) = (w.rev(0), w.rev(1));
    for i in 0..10 {
        w.pods.push(pod(&w.cs, &format!("p{i:02}"), if i < 5 { &r1 } else { &r2 }).build());
    }
    let ru = rolling(&mut w.cs);
    ru.partition = Some(IntOrString::Int(7));
    ru.max_unavailable = Some(IntOrString::String("100%".into()));
    let p = w.plan();
    assert_eq!(p.count("UpdateInPlace"), 0);
    assert_eq!((p.status.expected_updated_replicas, p.status.updated_replicas), (3, 5));
    assert!(matches!(p.held_reason("web-p00"), Some(Reason::Partition { partition: 7 })));
    w.features.clone_set_partition_rollback = true;
    assert_eq!(w.plan().count("UpdateInPlace"), 2);
}

/// Bug 9 (kruise#953): replicas 10 -> 9 with partition 90%: the canary (the one updated pod)
/// is kept; an old pod is deleted (CS-51).
#[test]
fn bug_9_scale_in_keeps_the_canary() {
    let mut w = W::new(9).roll_to("nginx:2");
    let (r1, r2) = (w.rev(0), w.rev(1));
    for i in 0..9 {
        w.pods.push(pod(&w.cs, &format!("p{i:02}"), &r1).build());
    }
    w.pods.push(pod(&w.cs, "canary", &r2).build());
    rolling(&mut w.cs).partition = Some(IntOrString::String("90%".into()));
    let p = w.plan();
    let deleted = pods_of(&p, "DeletePod");
    assert_eq!(deleted.len(), 1, "{:?}", p.actions);
    assert_ne!(deleted[0], "web-canary");
}

/// Bug 10 (kruise#1153): `paused` then a template change: maxSurge counts as 0 (CS-66), so
/// no surge pod is created and no pod is updated.
#[test]
fn bug_10_paused_update_creates_no_surge() {
    let mut w = W::new(4).with_pods(4).roll_to("nginx:2");
    let ru = rolling(&mut w.cs);
    ru.max_surge = Some(IntOrString::Int(2));
    ru.paused = true;
    let p = w.plan();
    assert_eq!((p.count("CreatePod"), p.count("DeletePod"), p.count("UpdateInPlace")), (0, 0, 0));
    assert!(recreated(&p).is_empty());
    assert_eq!(p.held_reason("web-p00"), Some(&Reason::Paused));
}

/// Bug 11 (kruise#1765, fix #1829): a pod created and deleted before the cache saw it leaves a
/// create expectation that is never met. After the expectation timeout, with
/// `ForceDeleteTimeoutExpectationFeatureGate`, the plan goes on and creates the missing pod
/// instead of blocking the CloneSet (CS-23 step 3).
#[test]
fn bug_11_leaked_expectation_times_out() {
    let mut w = W::new(2).with_pods(1);
    w.exp.expect_create("web-lost", ts(100));
    w.now = 100 + 301;
    assert_eq!(w.plan().count("CreatePod"), 0, "default: stop at a timed-out expectation (§16 q12)");
    w.features.force_delete_timeout_expectation = true;
    let p = w.plan();
    assert_eq!(p.count("CreatePod"), 1);
    assert_eq!(p.requeue.as_ref().map(|r| r.after.as_secs()), Some(10));
}

/// Bug 12 (kruise#1478, closed upstream as won't fix): minReadySeconds 99999, 5 -> 3. Ready
/// pods inside minReadySeconds are unavailable already, so deleting them costs no budget
/// (deviation, docs/deviations.md): two pods are removed.
#[test]
fn bug_12_scale_in_with_long_min_ready_seconds() {
    let mut w = W::new(3).with_pods(5);
    w.cs.spec.min_ready_seconds = 99_999;
    let p = w.plan();
    assert_eq!(p.count("DeletePod"), 2, "{:?}", p.held);
}

/// Bug 12's deviation is limited to pods of the update revision: during a blue-green release
/// (RO-55: `maxSurge` = replicas, `maxUnavailable` 0, `minReadySeconds` raised so no pod is
/// available) the ready pods of the old revision serve the traffic and are not deleted once
/// the new ones are up; they are held by the budget, as upstream holds them.
#[test]
fn bug_12_old_revision_pods_stay_during_a_blue_green_surge() {
    let mut w = W::new(3).with_pods(3).roll_to("nginx:2");
    w.cs.spec.min_ready_seconds = 99_999;
    let ru = rolling(&mut w.cs);
    ru.max_surge = Some(IntOrString::Int(3));
    ru.max_unavailable = Some(IntOrString::Int(0));
    let r2 = w.rev(1);
    for id in ["n0", "n1", "n2"] {
        w.pods.push(pod(&w.cs, id, &r2).build());
    }
    let p = w.plan();
    assert_eq!(p.count("DeletePod"), 0, "{:?}", p.actions);
    assert!(matches!(p.held_reason("web-p00"), Some(Reason::MaxUnavailable { .. })), "{:?}", p.held);
}

fn pvc(name: &str, id: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            labels: Some([(keys::CLONESET_INSTANCE_ID.to_owned(), id.to_owned())].into()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn with_vct(w: &mut W) {
    w.cs.spec.volume_claim_templates = vec![PersistentVolumeClaim {
        metadata: ObjectMeta { name: Some("data".into()), ..Default::default() },
        ..Default::default()
    }];
}

/// Bug 13 (kruise#1099, #1433): with PVC reuse, a pod stuck Terminating on a lost node keeps
/// its name; the replacement does not take its instance id (deviation §16 q4), so the names
/// cannot collide.
#[test]
fn bug_13_replacement_does_not_reuse_a_terminating_pods_id() {
    let mut w = W::new(1);
    with_vct(&mut w);
    w.cs.spec.scale_strategy.enable_pvc_reuse = true;
    let r1 = w.rev(0);
    w.pods.push(pod(&w.cs, "p00", &r1).terminating().build());
    w.pvcs.push(pvc("data-web-p00", "p00"));
    let p = w.plan();
    let created = pods_of(&p, "CreatePod");
    assert_eq!(created.len(), 1);
    assert_ne!(created[0], "web-p00");
}

/// Bug 14 (kruise#313): a PVC being deleted while its pod runs is not listed (CS-23 step 4);
/// scaling up still creates the new pod and only its own PVC.
#[test]
fn bug_14_terminating_pvc_does_not_block_creates() {
    let mut w = W::new(2).with_pods(1);
    with_vct(&mut w);
    let mut gone = pvc("data-web-p00", "p00");
    gone.metadata.deletion_timestamp = Some(Time(ts(900)));
    w.pvcs.push(gone);
    let p = w.plan();
    assert_eq!(p.count("CreatePod"), 1);
    let pvcs: Vec<&str> = p
        .actions
        .iter()
        .filter_map(|a| match &a.kind {
            ActionKind::CreatePvc { pvc } => Some(pvc.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(pvcs.len(), 1);
    assert_ne!(pvcs[0], "data-web-p00");
}

/// The CloneSet's pods mount `names` from its template (container 0), and a VCT of each name.
fn mount_vcts(w: &mut W, names: &[&str]) {
    w.cs.spec.volume_claim_templates = names
        .iter()
        .map(|n| PersistentVolumeClaim {
            metadata: ObjectMeta { name: Some((*n).into()), ..Default::default() },
            ..Default::default()
        })
        .collect();
    let c = &mut w.cs.spec.template.spec.as_mut().unwrap().containers[0];
    c.volume_mounts = Some(
        names
            .iter()
            .map(|n| k8s_openapi::api::core::v1::VolumeMount {
                name: (*n).into(),
                mount_path: format!("/{n}"),
                ..Default::default()
            })
            .collect(),
    );
}

/// Bug 15 (kruise#1872): one of two volumeClaimTemplates dropped (with its mount), replicas
/// raised and `partition = replicas`: the new pods are due on the current revision, whose
/// template still mounts the dropped volume, so the API server would reject every create and
/// scale-up stalls silently. kruise-rs decision (docs/deviations.md): such pods are not
/// created; each is held with `UnprovidedVolumes` and `FailedScale` says why; nothing moves to
/// the update revision (the partition stands). Without the dropped template, the same scale-up
/// creates the pods on the current revision.
#[test]
fn bug_15_dropped_vct_holds_current_revision_creates_with_the_reason() {
    let setup = |drop: bool| {
        let mut w = W::new(1);
        mount_vcts(&mut w, &["data", "logs"]);
        w.revs = vec![fixtures::revision_of(&w.cs, 1)];
        let r1 = w.rev(0);
        fixtures::set_status(&mut w.cs, &r1, &r1);
        w.pods.push(pod(&w.cs, "p00", &r1).build());
        w.pvcs.push(pvc("data-web-p00", "p00"));
        w.pvcs.push(pvc("logs-web-p00", "p00"));
        let mut w = if drop {
            mount_vcts(&mut w, &["data"]);
            w.revs.push(fixtures::revision_of(&w.cs, 2));
            let (c, u) = (w.rev(0), w.rev(1));
            fixtures::set_status(&mut w.cs, &c, &u);
            w
        } else {
            w.roll_to("nginx:2")
        };
        w.cs.spec.replicas = Some(3);
        rolling(&mut w.cs).partition = Some(IntOrString::Int(3));
        w
    };
    let w = setup(true);
    let p = w.plan();
    assert!(pods_of(&p, "CreatePod").is_empty(), "{:?}", p.actions);
    let held: Vec<_> = p
        .held
        .iter()
        .filter(|h| matches!(&h.reason, Reason::UnprovidedVolumes { volumes } if volumes == "logs"))
        .collect();
    assert_eq!(held.len(), 2, "{:?}", p.held);
    let failed = p.status.conditions.iter().find(|c| c.type_ == "FailedScale").expect("FailedScale");
    assert!(failed.message.contains("logs"), "{failed:?}");

    let w = setup(false);
    let p = w.plan();
    assert_eq!(pods_of(&p, "CreatePod").len(), 2, "{:?}", p.actions);
    assert!(!p.held.iter().any(|h| matches!(h.reason, Reason::UnprovidedVolumes { .. })));
}

/// Bug 16 (kruise#1536): image and VCT size changed together under InPlaceIfPossible. With
/// `RecreatePodWhenChangeVCTInCloneSetGate` the pod is recreated (CS-47, CS-67), so its
/// volumes follow the new template; without the gate the image is updated in place (the
/// upstream default; the VCT change applies to new pods only).
#[test]
fn bug_16_vct_change_recreates_with_the_gate() {
    let mut w = W::new(1);
    with_vct(&mut w);
    w.revs = vec![fixtures::revision_of(&w.cs, 1)];
    let r1 = w.rev(0);
    w.pods.push(pod(&w.cs, "p00", &r1).build());
    w.cs.spec.volume_claim_templates[0].spec = Some(k8s_openapi::api::core::v1::PersistentVolumeClaimSpec {
        storage_class_name: Some("bigger".into()),
        ..Default::default()
    });
    let w = {
        let mut w = w.roll_to("nginx:2");
        in_place(&mut w);
        w
    };
    let mut gated = W { features: w.features, ..W::new(0) };
    gated.cs = w.cs.clone();
    gated.pods = w.pods.clone();
    gated.revs = w.revs.clone();
    gated.features.recreate_pod_when_change_vct_in_clone_set = true;
    let p = gated.plan();
    assert_eq!(recreated(&p), ["web-p00"], "{:?}", p.actions);
    assert_eq!(pods_of(&w.plan(), "UpdateInPlace"), ["web-p00"]);
}

/// Bug 17 (kruise#892, PR #2291): under OnDelete, or ReCreate + paused, a fresh pod still gets
/// `InPlaceUpdateReady=True` (CS-56: the refresh runs before the OnDelete/paused stop), so it
/// can become Ready.
#[test]
fn bug_17_readiness_gate_satisfied_under_on_delete_and_paused() {
    for paused in [false, true] {
        let mut w = W::new(1);
        if paused {
            rolling(&mut w.cs).paused = true;
        } else {
            w.cs.spec.update_strategy.type_ = Some("OnDelete".into());
            w.cs.spec.update_strategy.rolling_update = None;
        }
        let r1 = w.rev(0);
        let mut p0 = pod(&w.cs, "p00", &r1).not_ready().build();
        p0.status
            .as_mut()
            .unwrap()
            .conditions
            .as_mut()
            .unwrap()
            .retain(|c| c.type_ != keys::INPLACE_UPDATE_READY);
        w.pods.push(p0);
        let p = w.plan();
        let set: Vec<&str> = p
            .actions
            .iter()
            .filter_map(|a| match &a.kind {
                ActionKind::UpdatePodStatus { condition }
                    if condition.type_ == keys::INPLACE_UPDATE_READY =>
                {
                    Some(condition.status.as_str())
                }
                _ => None,
            })
            .collect();
        assert_eq!(set, ["True"], "paused {paused}: {:?}", p.actions);
    }
}

/// Bug 18 (kruise#2276): an in-place update planned from a stale cache. The not-ready status
/// write is guarded by the observed resourceVersion (a stale pod gets a conflict and nothing
/// is written), and while the pod's own write is unobserved the next plan stops (CS-88), so
/// no refresh flips the pod back to ready mid-update.
#[test]
fn bug_18_stale_cache_in_place_update_is_guarded() {
    let mut w = W::new(1).with_pods(1).roll_to("nginx:2");
    in_place(&mut w);
    let p = w.plan();
    let writes = kruise_core::cloneset::reconcile::writes(&w.input(), &p).expect("writes");
    let status = writes
        .iter()
        .find_map(|x| match &x.write {
            ApiWrite::JsonPatch { subresource: Subresource::Status, patch, .. }
                if x.name() == "UpdateInPlace" =>
            {
                Some(patch)
            }
            _ => None,
        })
        .expect("status write");
    let guard = serde_json::json!({"op": "test", "path": "/metadata/resourceVersion", "value": "1"});
    assert!(status.as_array().is_some_and(|ops| ops.contains(&guard)), "{status}");
    // The adapter expects the pod at resourceVersion 3; the cache still shows 1.
    w.exp.expect_resource_version("uid-web-p00", 3, ts(w.now));
    w.now += 1;
    let next = w.plan();
    assert!(next.actions.is_empty(), "{:?}", next.actions);
    assert!(matches!(next.requeue.as_ref().map(|r| &r.reason), Some(Reason::AwaitingExpectations { .. })));
}

/// Bug 20 (kruise#898): several not-ready pods and a template change under ReCreate: the
/// update budget (CS-62: `targetUnavail + n < updateMaxUnavailable`) marks one pod per pass,
/// not every not-ready pod at once.
#[test]
fn bug_20_not_ready_pods_are_not_all_recreated_at_once() {
    let mut w = W::new(5).roll_to("nginx:2");
    let r1 = w.rev(0);
    for i in 0..5 {
        let b = pod(&w.cs, &format!("p{i:02}"), &r1);
        w.pods.push(if i < 3 { b.not_ready().build() } else { b.build() });
    }
    let p = w.plan();
    assert_eq!(recreated(&p).len(), 1, "{:?}", p.actions);
    assert_eq!(p.count("DeletePod"), 0);
}

/// Bug 33 (kruise#2473, #947): an evicted pod (phase Failed) stops counting and is replaced
/// by a pod with another name; the controller does not delete it (CS-24).
#[test]
fn bug_33_failed_pod_is_replaced() {
    let mut w = W::new(3).with_pods(3);
    w.pods[1] = pod(&w.cs, "p01", &w.rev(0)).phase("Failed").not_ready().build();
    let p = w.plan();
    let created = pods_of(&p, "CreatePod");
    assert_eq!(created.len(), 1);
    assert_ne!(created[0], "web-p01");
    assert!(pods_of(&p, "DeletePod").is_empty());
    assert_eq!(p.status.replicas, 2);
}

/// Bug 34 (kubernetes#129795): an informer more than 5 minutes behind. An expired create
/// expectation is not taken as met (CS-87, §16 q12): the plan creates nothing more, so the
/// lagging cache cannot cause extra pods.
#[test]
fn bug_34_expired_expectations_are_not_treated_as_satisfied() {
    let mut w = W::new(3).with_pods(2);
    w.exp.expect_create("web-new", ts(100));
    w.now = 100 + 600;
    let p = w.plan();
    assert_eq!(p.count("CreatePod"), 0);
    assert!(p.requeue.is_none());
}

/// Bug 19 (kruise#2369, PR #2370; deviation, docs/deviations.md): InPlaceIfPossible with
/// maxSurge 3 and an annotation-only template change: every pod can be updated in place, so
/// no surge pod is created (to be deleted again); the pods are updated in place within
/// maxUnavailable (rounded up, as without surge). A change that needs recreation still surges.
#[test]
fn bug_19_no_surge_when_every_pod_updates_in_place() {
    let mut w = W::new(3).with_pods(3);
    in_place(&mut w);
    rolling(&mut w.cs).max_surge = Some(IntOrString::Int(3));
    w.cs.spec.template.metadata.as_mut().unwrap().annotations =
        Some([("note".to_owned(), "v2".to_owned())].into());
    w.revs.push(fixtures::revision_of(&w.cs, 2));
    let (r1, r2) = (w.rev(0), w.rev(1));
    fixtures::set_status(&mut w.cs, &r1, &r2);
    let p = w.plan();
    assert_eq!(p.count("CreatePod"), 0, "{:?}", p.actions);
    assert_eq!(p.count("UpdateInPlace"), 1);
    // An env change cannot be applied in place: the surge pods come first, as upstream.
    let mut w2 = W::new(3).with_pods(3);
    in_place(&mut w2);
    rolling(&mut w2.cs).max_surge = Some(IntOrString::Int(3));
    w2.cs.spec.template.spec.as_mut().unwrap().containers[0].env =
        Some(vec![k8s_openapi::api::core::v1::EnvVar {
            name: "X".into(),
            value: Some("1".into()),
            ..Default::default()
        }]);
    w2.revs.push(fixtures::revision_of(&w2.cs, 2));
    let (r1, r2) = (w2.rev(0), w2.rev(1));
    fixtures::set_status(&mut w2.cs, &r1, &r2);
    assert_eq!(w2.plan().count("CreatePod"), 3);
}
