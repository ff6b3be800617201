//! One unit test per CS rule (named `cs_<n>_<what>`), each asserting the plan.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::common::{
    Lifecycle, LifecycleHook, UpdatePriorityOrderTerm, UpdatePriorityStrategy, UpdatePriorityWeightTerm,
    UpdateScatterTerm,
};
use kruise_api::apps::v1beta1::{CloneSet, CloneSetCondition};
use kruise_api::keys;

use super::fixtures::{self, pod, rolling, ts};
use super::revision;
use super::*;
use crate::expectations::Expectations;
use crate::features::Features;

/// A test world: CloneSet, pods, revisions, PVCs, clock.
struct W {
    cs: CloneSet,
    pods: Vec<Pod>,
    revs: Vec<ControllerRevision>,
    pvcs: Vec<PersistentVolumeClaim>,
    now: i64,
    features: Features,
    exp: Expectations,
}

impl W {
    /// `replicas` CloneSet on image `v1` with revision 1 current = update, no pods.
    fn new(replicas: i32) -> Self {
        let mut cs = fixtures::cloneset("web", replicas, "nginx:1");
        let rev = fixtures::revision_of(&cs, 1);
        let name = rev.metadata.name.clone().unwrap_or_default();
        fixtures::set_status(&mut cs, &name, &name);
        Self {
            cs,
            pods: vec![],
            revs: vec![rev],
            pvcs: vec![],
            now: 1000,
            features: Features::default(),
            exp: Expectations::new(),
        }
    }
    fn rev1(&self) -> String {
        self.revs[0].metadata.name.clone().unwrap_or_default()
    }
    /// Adds `n` ready pods on revision 1, ids `p00`, `p01`, ...
    fn with_pods(mut self, n: usize) -> Self {
        let r = self.rev1();
        for i in 0..n {
            self.pods.push(pod(&self.cs, &format!("p{i:02}"), &r).build());
        }
        self
    }
    /// Changes the image and adds revision 2 (update), keeping rev 1 current.
    fn roll_to(mut self, image: &str) -> Self {
        fixtures::set_image(&mut self.cs, image);
        let r2 = fixtures::revision_of(&self.cs, 2);
        self.revs.push(r2);
        let (c, u) = (self.rev1(), self.rev2());
        fixtures::set_status(&mut self.cs, &c, &u);
        self
    }
    fn rev2(&self) -> String {
        self.revs[1].metadata.name.clone().unwrap_or_default()
    }
    /// Plans from the pods as a slice and, when their names are distinct, from a
    /// [`PodTable`] of the same pods; the two plans must be identical.
    fn plan(&self) -> Plan {
        let p = plan(&self.input()).expect("plan");
        if let Ok(table) = PodTable::from_pods(&self.cs, self.pods.iter().cloned())
            && table.len() == self.pods.len()
        {
            let q = plan(&Input { pods: (&table).into(), ..self.input() }).expect("plan from a table");
            assert_eq!(p, q, "the plan from a PodTable differs from the plan from the slice");
        }
        p
    }
    fn input(&self) -> Input<'_> {
        Input {
            cloneset: &self.cs,
            pods: (&self.pods).into(),
            pvcs: &self.pvcs,
            revisions: &self.revs,
            nodes: &[],
            now: ts(self.now),
            id_seed: 7,
            features: self.features,
            expectations: &self.exp,
            pub_decisions: None,
        }
    }
}

fn kinds(p: &Plan) -> Vec<(&'static str, Option<&str>)> {
    p.actions
        .iter()
        .filter(|a| !matches!(a.kind, ActionKind::UpdateStatus | ActionKind::UpdateSpec { .. }))
        .map(|a| (a.kind.name(), a.pod.as_deref()))
        .collect()
}

fn pods_of<'p>(p: &'p Plan, kind: &str) -> Vec<&'p str> {
    p.actions.iter().filter(|a| a.kind.name() == kind).filter_map(|a| a.pod.as_deref()).collect()
}

fn patch_labels<'p>(p: &'p Plan, pod: &str) -> Vec<(&'p str, Option<&'p str>)> {
    p.actions
        .iter()
        .filter(|a| a.pod.as_deref() == Some(pod))
        .filter_map(|a| match &a.kind {
            ActionKind::PatchPod { patch } => Some(patch),
            _ => None,
        })
        .flat_map(|p| p.labels.iter().map(|(k, v)| (k.as_str(), v.as_deref())))
        .collect()
}

fn hook_labels(k: &str, v: &str) -> LifecycleHook {
    LifecycleHook { labels_handler: BTreeMap::from([(k.into(), v.into())]), ..Default::default() }
}

// ---- §4 pipeline ---------------------------------------------------------------------------

#[test]
fn cs_23_deleting_cloneset_only_writes_status() {
    let mut w = W::new(3);
    w.cs.metadata.deletion_timestamp = Some(Time(ts(1)));
    let p = w.plan();
    assert_eq!(p.count("CreatePod"), 0);
    assert_eq!(p.status.replicas, 0);
}

#[test]
fn cs_23_missing_selector_is_an_error_naming_the_field() {
    let mut w = W::new(1);
    w.cs.spec.selector = None;
    let e = plan(&w.input()).unwrap_err();
    assert!(matches!(e, PlanError::InvalidSpec { ref path, .. } if path.as_str() == "spec.selector"));
}

#[test]
fn cs_24_inactive_and_foreign_pods_do_not_count() {
    let mut w = W::new(2).with_pods(2);
    w.pods[0].status.as_mut().unwrap().phase = Some("Failed".into());
    let mut foreign = pod(&w.cs, "zz", &w.rev1()).build();
    foreign.metadata.owner_references.as_mut().unwrap()[0].uid = "other".into();
    w.pods.push(foreign);
    let p = w.plan();
    assert_eq!(p.count("CreatePod"), 1, "the failed pod is replaced");
    assert_eq!(p.status.replicas, 1);
    assert!(pods_of(&p, "DeletePod").is_empty(), "failed pods are never deleted");
}

#[test]
fn cs_24_pod_no_longer_matching_is_released() {
    let mut w = W::new(1).with_pods(1);
    w.pods[0].metadata.labels.as_mut().unwrap().insert("app".into(), "other".into());
    let p = w.plan();
    assert_eq!(pods_of(&p, "ReleasePod"), vec!["web-p00"]);
    assert_eq!(p.count("CreatePod"), 1);
}

#[test]
fn cs_24_orphan_listed_through_a_non_controller_reference_is_adopted() {
    let mut w = W::new(1).with_pods(1);
    w.pods[0].metadata.owner_references.as_mut().unwrap()[0].controller = Some(false);
    let p = w.plan();
    assert_eq!(pods_of(&p, "AdoptPod"), vec!["web-p00"]);
    assert_eq!(p.count("CreatePod"), 0);
}

fn pvc(name: &str, id: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            labels: Some(BTreeMap::from([(keys::CLONESET_INSTANCE_ID.into(), id.into())])),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn cs_25_pvc_cleanup_without_reuse() {
    let mut w = W::new(2).with_pods(2);
    w.pods[1].status.as_mut().unwrap().phase = Some("Failed".into());
    w.pvcs = vec![pvc("data-web-p00", "p00"), pvc("data-web-p01", "p01"), pvc("data-web-gone", "gone")];
    let p = w.plan();
    let pvc_actions: Vec<(&str, &str)> = p
        .actions
        .iter()
        .filter_map(|a| match &a.kind {
            ActionKind::DeletePvc { pvc } => Some(("DeletePvc", pvc.as_str())),
            ActionKind::UpdatePvc { pvc } => Some(("UpdatePvc", pvc.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(pvc_actions, vec![("DeletePvc", "data-web-gone"), ("UpdatePvc", "data-web-p01")]);
}

// ---- §5 revisions ----------------------------------------------------------------------------

#[test]
fn cs_26_revision_data_is_sorted_go_json_with_patch_replace() {
    let mut cs = fixtures::cloneset("web", 1, "a<b>&c");
    cs.spec.template.metadata.as_mut().unwrap().labels.as_mut().unwrap().insert("z".into(), "1".into());
    let data = revision::revision_data(&cs.spec.template);
    let text = revision::go_json(&data);
    assert!(text.starts_with(r#"{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"app":"web","z":"1"}}"#), "{text}");
    assert!(text.contains(r#""image":"a\u003cb\u003e\u0026c""#), "{text}");
    assert!(text.contains(r#""resources":{}"#), "{text}");
}

#[test]
fn cs_27_fnv32_and_safe_encoding() {
    // Published FNV test vectors.
    assert_eq!(revision::fnv32(&[b""]), 0x811c_9dc5);
    assert_eq!(revision::fnv32(&[b"a"]), 0x050c_5d7e);
    assert_eq!(revision::fnv32a(&[b"a"]), 0xe40c_292c);
    assert_eq!(revision::safe_encode("0123456789"), "456789bcdf");
    let name = revision::revision_name("web", "abc");
    assert_eq!(name, "web-abc");
    assert_eq!(revision::revision_name(&"x".repeat(300), "h").len(), 225);
}

#[test]
fn cs_27_revision_carries_hash_label_and_vct_annotation() {
    let cs = fixtures::cloneset("web", 1, "nginx:1");
    let r = fixtures::revision_of(&cs, 1);
    let labels = r.metadata.labels.unwrap();
    assert_eq!(
        labels.get(keys::CONTROLLER_REVISION_HASH_LABEL).map(String::as_str),
        Some(short_hash(r.metadata.name.as_deref().unwrap()))
    );
    assert_eq!(
        r.metadata.annotations.unwrap().get(keys::VOLUME_CLAIM_TEMPLATE_HASH).map(String::as_str),
        Some("")
    );
}

#[test]
fn cs_28_first_reconcile_creates_revision_1() {
    let mut w = W::new(1);
    w.revs.clear();
    w.cs.status = None;
    let p = w.plan();
    let a = &p.actions[0];
    assert!(matches!(a.kind, ActionKind::CreateRevision { number: 1, collision_count: 0 }));
    assert_eq!(a.revision.as_deref(), Some(fixtures::revision_name_of(&w.cs).as_str()));
    assert_eq!(p.status.update_revision, p.status.current_revision);
}

#[test]
fn cs_28_rollback_reuses_old_revision_and_bumps_its_number() {
    let mut w = W::new(2).with_pods(2).roll_to("nginx:2");
    fixtures::set_image(&mut w.cs, "nginx:1");
    let p = w.plan();
    assert!(matches!(p.actions[0].kind, ActionKind::UpdateRevision { number: 3 }));
    assert_eq!(p.status.update_revision, w.rev1());
    assert_eq!(p.count("CreateRevision"), 0);
}

#[test]
fn cs_29_current_revision_comes_from_status() {
    let w = W::new(2).with_pods(2).roll_to("nginx:2");
    let p = w.plan();
    assert_eq!(p.status.current_revision, w.rev1());
    assert_eq!(p.status.update_revision, w.rev2());
}

#[test]
fn cs_30_collision_increments_count() {
    let mut w = W::new(1);
    fixtures::set_image(&mut w.cs, "nginx:2");
    // A revision with the name the new template would get, but other data.
    let mut clash = fixtures::revision_of(&w.cs, 1);
    clash.data = Some(k8s_openapi::apimachinery::pkg::runtime::RawExtension(serde_json::json!({"other": 1})));
    w.revs = vec![clash];
    w.cs.status = None;
    let p = w.plan();
    assert!(matches!(p.actions[0].kind, ActionKind::CreateRevision { collision_count: 1, .. }));
    assert_eq!(p.status.collision_count, Some(1));
}

#[test]
fn cs_31_short_hash_label_matches_full_name() {
    assert!(revision_matches("abc12", "web-abc12"));
    assert!(revision_matches("web-abc12", "web-abc12"));
    assert!(!revision_matches("web-abc13", "web-abc12"));
    let mut w = W::new(1).with_pods(1);
    let short = short_hash(&w.rev1()).to_owned();
    w.pods[0].metadata.labels.as_mut().unwrap().insert(keys::CONTROLLER_REVISION_HASH.into(), short);
    assert_eq!(w.plan().status.updated_replicas, 1);
}

#[test]
fn cs_31_missing_template_hash_is_patched_and_stops_update() {
    let mut w = W::new(2).with_pods(2).roll_to("nginx:2");
    w.pods[0].metadata.labels.as_mut().unwrap().remove(keys::POD_TEMPLATE_HASH);
    let p = w.plan();
    assert_eq!(patch_labels(&p, "web-p00"), vec![(keys::POD_TEMPLATE_HASH, Some(short_hash(&w.rev1())))]);
    assert!(!patch_labels(&p, "web-p01").iter().any(|(k, _)| *k == keys::SPECIFIED_DELETE));
}

#[test]
fn cs_32_history_truncated_to_limit() {
    let mut w = W::new(1).with_pods(1);
    w.cs.spec.revision_history_limit = Some(1);
    for (i, img) in ["a", "b", "c"].iter().enumerate() {
        let mut c = w.cs.clone();
        fixtures::set_image(&mut c, img);
        let mut r = fixtures::revision_of(&c, 0);
        r.revision = -(i as i64) - 1;
        w.revs.push(r);
    }
    let p = w.plan();
    let deleted: Vec<&str> = p
        .actions
        .iter()
        .filter(|a| a.kind == ActionKind::DeleteRevision)
        .filter_map(|a| a.revision.as_deref())
        .collect();
    assert_eq!(deleted.len(), 2);
    // Oldest (lowest number: -3, -2) go first; -1 stays.
    let kept = w.revs.iter().find(|r| r.revision == -1).unwrap().metadata.name.clone().unwrap();
    assert!(!deleted.contains(&kept.as_str()));
}

#[test]
fn cs_33_old_side_pods_are_created_from_current_revision() {
    let mut w = W::new(4).with_pods(2).roll_to("nginx:2");
    rolling(&mut w.cs).partition = Some(IntOrString::Int(3));
    let p = w.plan();
    let revs: Vec<&str> = p
        .actions
        .iter()
        .filter(|a| a.kind.name() == "CreatePod")
        .filter_map(|a| a.revision.as_deref())
        .collect();
    assert_eq!(revs, vec![w.rev1().as_str(), w.rev2().as_str()]);
}

// ---- §6 predicates -------------------------------------------------------------------------

#[test]
fn cs_34_available_needs_min_ready_seconds_strictly_passed() {
    let mut w = W::new(2);
    w.cs.spec.min_ready_seconds = 30;
    let r = w.rev1();
    w.pods.push(pod(&w.cs, "a", &r).ready_since(970).build()); // exactly 30 s: not yet
    w.pods.push(pod(&w.cs, "b", &r).ready_since(969).build());
    let p = w.plan();
    assert_eq!(p.status.ready_replicas, 2);
    assert_eq!(p.status.available_replicas, 1);
}

#[test]
fn cs_34_lifecycle_not_normal_is_ready_but_unavailable() {
    let mut w = W::new(1);
    let r = w.rev1();
    w.pods.push(pod(&w.cs, "a", &r).state(State::PreparingNormal).build());
    let p = w.plan();
    assert_eq!((p.status.ready_replicas, p.status.available_replicas), (1, 0));
}

#[test]
fn cs_35_specified_by_label_or_list() {
    let mut w = W::new(3).with_pods(3);
    w.pods[0].metadata.labels.as_mut().unwrap().insert(keys::SPECIFIED_DELETE.into(), "x".into());
    w.cs.spec.scale_strategy.pods_to_delete = vec!["web-p01".into()];
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(2));
    let p = w.plan();
    assert_eq!(pods_of(&p, "DeletePod"), vec!["web-p00", "web-p01"]);
}

// ---- §7 diff -------------------------------------------------------------------------------

#[test]
fn cs_36_partition_rounding_and_adjustment() {
    let mut cs = fixtures::cloneset("web", 1, "x");
    rolling(&mut cs).partition = Some(IntOrString::String("50%".into()));
    assert_eq!(diff::partition(&cs), Ok(1));
    cs.spec.replicas = Some(10);
    rolling(&mut cs).partition = Some(IntOrString::String("99%".into()));
    assert_eq!(diff::partition(&cs), Ok(9));
    rolling(&mut cs).partition = Some(IntOrString::String("100%".into()));
    assert_eq!(diff::partition(&cs), Ok(10));
    cs.spec.replicas = Some(5);
    rolling(&mut cs).partition = Some(IntOrString::Int(7));
    assert_eq!(diff::partition(&cs), Ok(5));
    rolling(&mut cs).partition = Some(IntOrString::String("bad".into()));
    assert!(
        matches!(diff::partition(&cs), Err(PlanError::BadIntOrPercent { ref path, .. }) if path.as_str() == "spec.updateStrategy.rollingUpdate.partition")
    );
}

#[test]
fn cs_36_surge_rounds_unavailable_down_and_paused_clears_surge() {
    let mut cs = fixtures::cloneset("web", 4, "x");
    rolling(&mut cs).max_surge = Some(IntOrString::Int(1));
    let l = Limits::new(&cs).unwrap();
    assert_eq!((l.max_surge, l.max_unavailable), (1, 0));
    rolling(&mut cs).paused = true;
    let l = Limits::new(&cs).unwrap();
    assert_eq!((l.max_surge, l.max_unavailable), (0, 1));
    cs.spec.update_strategy.rolling_update = None;
    assert_eq!(Limits::new(&cs).unwrap().max_unavailable, 0, "floor(20% of 4)");
    cs.spec.scale_strategy.max_unavailable = Some(IntOrString::String("garbage".into()));
    assert_eq!(Limits::new(&cs).unwrap().scale_max_unavailable, 0);
}

#[test]
fn cs_37_specified_delete_pod_is_never_counted_unavailable() {
    let mut w = W::new(2).with_pods(2);
    w.pods[0] = pod(&w.cs, "p00", &w.rev1()).not_ready().label(keys::SPECIFIED_DELETE, "true").build();
    let ctx_d = {
        let p = w.plan();
        p.status.available_replicas
    };
    assert_eq!(ctx_d, 1);
    // The not-ready specified pod is deleted regardless of budget (CS-50).
    assert_eq!(pods_of(&w.plan(), "DeletePod"), vec!["web-p00"]);
}

#[test]
fn cs_38_partition_rollback_gate_moves_pods_back() {
    let mut w = W::new(2).roll_to("nginx:2");
    let (r1, r2) = (w.rev1(), w.rev2());
    w.pods.push(pod(&w.cs, "a", &r2).build());
    w.pods.push(pod(&w.cs, "b", &r2).build());
    rolling(&mut w.cs).partition = Some(IntOrString::Int(1));
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(1));
    assert_eq!(w.plan().count("PatchPod"), 0, "without the gate nothing moves back");
    w.features.clone_set_partition_rollback = true;
    let p = w.plan();
    let a = p.actions.iter().find(|a| a.kind.name() == "PatchPod").unwrap();
    assert_eq!(a.revision.as_deref(), Some(r1.as_str()), "target is the current revision");
}

#[test]
fn cs_39_surge_creates_update_pod_first() {
    // W-6: R=4, S=1, U=0.
    let mut w = W::new(4).with_pods(4).roll_to("nginx:2");
    rolling(&mut w.cs).max_surge = Some(IntOrString::Int(1));
    let p = w.plan();
    let creates: Vec<&Action> = p.actions.iter().filter(|a| a.kind.name() == "CreatePod").collect();
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].revision.as_deref(), Some(w.rev2().as_str()));
    assert!(matches!(creates[0].reason, Reason::ScaleUp { have: 4, want: 5 }));
}

#[test]
fn cs_40_scale_up_limited_by_scale_max_unavailable() {
    // W-2: scale 3 -> 5 with scaleStrategy.maxUnavailable 1.
    let mut w = W::new(5).with_pods(3);
    w.cs.spec.scale_strategy.max_unavailable = Some(IntOrString::Int(1));
    let p = w.plan();
    assert_eq!(p.count("CreatePod"), 1);
    assert_eq!(p.events, vec![Reason::ScaleUpLimited { limit: 1, wanted: 2 }]);
    let mut w2 = W::new(5).with_pods(3);
    w2.cs.spec.scale_strategy.max_unavailable = Some(IntOrString::Int(1));
    w2.pods.push(pod(&w2.cs, "new", &w2.rev1()).not_ready().build());
    assert_eq!(w2.plan().count("CreatePod"), 0);
}

#[test]
fn cs_41_update_num_is_min_of_diffs() {
    let mut w = W::new(4).with_pods(4).roll_to("nginx:2");
    rolling(&mut w.cs).partition = Some(IntOrString::Int(1));
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(4));
    let p = w.plan();
    assert_eq!(p.count("PatchPod"), 3);
    assert!(matches!(
        p.actions.iter().find(|a| a.kind.name() == "PatchPod").unwrap().reason,
        Reason::Update { update_num: 3, recreate: true }
    ));
}

// ---- §8 scale ------------------------------------------------------------------------------

#[test]
fn cs_42_scale_up_skips_deletions_and_update() {
    let mut w = W::new(3).with_pods(2).roll_to("nginx:2");
    w.pods[0].metadata.labels.as_mut().unwrap().insert(keys::SPECIFIED_DELETE.into(), "true".into());
    let p = w.plan();
    assert_eq!(p.count("CreatePod"), 1);
    assert_eq!(p.count("DeletePod"), 0);
    assert_eq!(p.held_reason("web-p01"), Some(&Reason::ScaleFirst));
}

#[test]
fn cs_43_raising_replicas_cancels_preparing_delete() {
    let mut w = W::new(2).with_pods(2);
    w.pods[1] = pod(&w.cs, "p01", &w.rev1()).state(State::PreparingDelete).build();
    w.cs.spec.lifecycle =
        Some(Lifecycle { pre_delete: Some(hook_labels("hold", "true")), ..Default::default() });
    let p = w.plan();
    assert_eq!(patch_labels(&p, "web-p01"), vec![(keys::LIFECYCLE_STATE, Some("PreparingNormal"))]);
    assert_eq!(p.count("CreatePod"), 0);
}

#[test]
fn cs_44_scale_up_splits_current_and_update() {
    let mut w = W::new(4).roll_to("nginx:2");
    rolling(&mut w.cs).partition = Some(IntOrString::Int(2));
    let p = w.plan();
    let revs: Vec<&str> = p
        .actions
        .iter()
        .filter(|a| a.kind.name() == "CreatePod")
        .filter_map(|a| a.revision.as_deref())
        .collect();
    assert_eq!(revs, vec![w.rev1().as_str(), w.rev1().as_str(), w.rev2().as_str(), w.rev2().as_str()]);
}

#[test]
fn cs_45_ids_sorted_deterministic_and_free_pvc_ids_first() {
    let mut w = W::new(3);
    w.cs.spec.scale_strategy.enable_pvc_reuse = true;
    w.pvcs = vec![pvc("data-web-zzzzz", "zzzzz")];
    let p = w.plan();
    let names = pods_of(&p, "CreatePod");
    assert_eq!(names.len(), 3);
    assert!(names.contains(&"web-zzzzz"));
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert_eq!(w.plan(), p, "same seed, same ids");
    let ids = new_instance_ids(1, &Default::default(), 4).expect("ids");
    assert!(ids.iter().all(|i| i.len() == 5 && i.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c))));
}

#[test]
fn cs_46_new_pod_shape() {
    let mut cs = fixtures::cloneset("web", 1, "nginx:1");
    cs.spec.volume_claim_templates = vec![PersistentVolumeClaim {
        metadata: ObjectMeta { name: Some("data".into()), ..Default::default() },
        ..Default::default()
    }];
    let p = new_pod(&cs, &cs.spec.template, "web-abc", "xyz12", ts(5), false);
    let l = p.metadata.labels.as_ref().unwrap();
    assert_eq!(l[keys::CONTROLLER_REVISION_HASH], "web-abc");
    assert_eq!(l[keys::POD_TEMPLATE_HASH], "abc");
    assert_eq!(l[keys::CLONESET_INSTANCE_ID], "xyz12");
    assert_eq!(l[keys::LIFECYCLE_STATE], "PreparingNormal");
    assert_eq!(p.metadata.name.as_deref(), Some("web-xyz12"));
    let spec = p.spec.unwrap();
    assert_eq!(spec.readiness_gates.unwrap()[0].condition_type, keys::INPLACE_UPDATE_READY);
    let v = &spec.volumes.unwrap()[0];
    assert_eq!(v.persistent_volume_claim.as_ref().unwrap().claim_name, "data-web-xyz12");
    let short = new_pod(&cs, &cs.spec.template, "web-abc", "xyz12", ts(5), true);
    assert_eq!(short.metadata.labels.unwrap()[keys::CONTROLLER_REVISION_HASH], "abc");
}

#[test]
fn cs_47_pvcs_created_before_pod() {
    let mut w = W::new(1);
    w.cs.spec.volume_claim_templates = vec![PersistentVolumeClaim {
        metadata: ObjectMeta { name: Some("data".into()), ..Default::default() },
        ..Default::default()
    }];
    let p = w.plan();
    let k: Vec<&str> = p.actions.iter().map(|a| a.kind.name()).filter(|k| k.starts_with("Create")).collect();
    assert_eq!(k, vec!["CreatePvc", "CreatePod"]);
}

#[test]
fn cs_49_released_preparing_delete_pod_is_deleted() {
    let mut w = W::new(1).with_pods(2);
    w.pods[1] = pod(&w.cs, "p01", &w.rev1()).state(State::PreparingDelete).build();
    w.cs.spec.lifecycle =
        Some(Lifecycle { pre_delete: Some(hook_labels("hold", "true")), ..Default::default() });
    let p = w.plan();
    assert_eq!(pods_of(&p, "DeletePod"), vec!["web-p01"]);
    // Still hooked: held.
    w.pods[1] = pod(&w.cs, "p01", &w.rev1()).state(State::PreparingDelete).label("hold", "true").build();
    let p = w.plan();
    assert!(pods_of(&p, "DeletePod").is_empty());
    assert_eq!(p.held_reason("web-p01"), Some(&Reason::LifecycleHook { hook: "preDelete" }));
}

#[test]
fn cs_50_specified_delete_limited_by_delete_ready_limit() {
    // W-3 variant: replicas unchanged, U=1 ⇒ one ready pod may go.
    let mut w = W::new(5).with_pods(5);
    w.cs.spec.scale_strategy.pods_to_delete = vec!["web-p01".into(), "web-p03".into()];
    let p = w.plan();
    assert_eq!(pods_of(&p, "DeletePod"), vec!["web-p01"]);
    assert!(matches!(p.held_reason("web-p03"), Some(Reason::MaxUnavailable { .. })));
}

#[test]
fn cs_50_w3_scale_down_with_pods_to_delete() {
    let mut w = W::new(4).with_pods(5);
    w.cs.spec.scale_strategy.pods_to_delete = vec!["web-p02".into()];
    let p = w.plan();
    assert_eq!(kinds(&p), vec![("DeletePod", Some("web-p02"))]);
}

#[test]
fn cs_51_scale_in_prefers_old_pods() {
    let mut w = W::new(2).with_pods(2).roll_to("nginx:2");
    let r2 = w.rev2();
    w.pods.push(pod(&w.cs, "n1", &r2).build());
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(2));
    let p = w.plan();
    assert_eq!(pods_of(&p, "DeletePod").len(), 1);
    assert!(pods_of(&p, "DeletePod")[0].starts_with("web-p"));
}

#[test]
fn cs_52_scale_in_order_unscheduled_then_not_ready_then_cost() {
    let mut w = W::new(1);
    let r = w.rev1();
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(5));
    w.pods.push(pod(&w.cs, "a", &r).build());
    w.pods.push(pod(&w.cs, "b", &r).annotation(keys::POD_DELETION_COST, "-5").build());
    w.pods.push(pod(&w.cs, "c", &r).not_ready().build());
    w.pods.push(pod(&w.cs, "d", &r).unscheduled().build());
    w.cs.spec.replicas = Some(3);
    assert_eq!(pods_of(&w.plan(), "DeletePod"), vec!["web-d"]);
    w.cs.spec.replicas = Some(2);
    assert_eq!(pods_of(&w.plan(), "DeletePod"), vec!["web-d", "web-c"]);
    w.cs.spec.replicas = Some(1);
    assert_eq!(pods_of(&w.plan(), "DeletePod"), vec!["web-d", "web-c", "web-b"]);
}

#[test]
fn cs_53_crowded_node_goes_first() {
    let mut w = W::new(2);
    let r = w.rev1();
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(5));
    w.pods.push(pod(&w.cs, "a", &r).node("n1").build());
    w.pods.push(pod(&w.cs, "b", &r).node("n2").build());
    w.pods.push(pod(&w.cs, "c", &r).node("n2").created(5).build());
    let p = w.plan();
    assert_eq!(pods_of(&p, "DeletePod"), vec!["web-c"], "rank 1 on the shared node, newest first there");
}

#[test]
fn cs_54_pre_delete_hook_moves_to_preparing_delete() {
    let mut w = W::new(1).with_pods(2);
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(2));
    w.cs.spec.lifecycle =
        Some(Lifecycle { pre_delete: Some(hook_labels("hold", "true")), ..Default::default() });
    w.pods[1] = pod(&w.cs, "p01", &w.rev1()).label("hold", "true").created(9).build();
    let p = w.plan();
    assert_eq!(patch_labels(&p, "web-p01"), vec![(keys::LIFECYCLE_STATE, Some("PreparingDelete"))]);
    assert!(pods_of(&p, "DeletePod").is_empty());
}

#[test]
fn cs_54_deleting_a_pod_deletes_its_pvcs() {
    let mut w = W::new(1).with_pods(2);
    w.cs.spec.scale_strategy.enable_pvc_reuse = true;
    w.pods[1] = pod(&w.cs, "p01", &w.rev1()).created(9).build();
    w.pvcs = vec![pvc("data-web-p01", "p01"), pvc("data-web-p00", "p00")];
    let p = w.plan();
    assert_eq!(kinds(&p), vec![("DeletePod", Some("web-p01")), ("DeletePvc", Some("web-p01"))]);
}

#[test]
fn cs_55_pods_to_delete_truncated_to_present_pods() {
    let mut w = W::new(1).with_pods(1);
    w.cs.spec.scale_strategy.pods_to_delete = vec!["gone".into(), "web-p00".into()];
    let p = w.plan();
    let a = p.actions.iter().find(|a| a.kind.name() == "UpdateSpec").unwrap();
    assert_eq!(a.kind, ActionKind::UpdateSpec { pods_to_delete: vec!["web-p00".into()] });
}

// ---- §9 update -----------------------------------------------------------------------------

#[test]
fn cs_56_lifecycle_refresh_stops_update() {
    let mut w = W::new(2).with_pods(2).roll_to("nginx:2");
    w.pods[0] = pod(&w.cs, "p00", &w.rev1()).state(State::PreparingNormal).build();
    let p = w.plan();
    assert_eq!(patch_labels(&p, "web-p00"), vec![(keys::LIFECYCLE_STATE, Some("Normal"))]);
    assert_eq!(p.count("PatchPod"), 1, "no update this round");
}

#[test]
fn cs_56_on_delete_and_paused_hold_old_pods() {
    let mut w = W::new(2).with_pods(2).roll_to("nginx:2");
    rolling(&mut w.cs).paused = true;
    let p = w.plan();
    assert_eq!(p.count("PatchPod"), 0);
    assert_eq!(p.held_reason("web-p00"), Some(&Reason::Paused));
    w.cs.spec.update_strategy.type_ = Some("OnDelete".into());
    w.cs.spec.update_strategy.rolling_update = None;
    assert_eq!(w.plan().held_reason("web-p00"), Some(&Reason::OnDelete));
}

#[test]
fn cs_57_preparing_delete_and_grace_pods_are_not_candidates() {
    let mut w = W::new(3).with_pods(3).roll_to("nginx:2");
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(3));
    w.pods[0] = pod(&w.cs, "p00", &w.rev1()).state(State::PreparingDelete).build();
    w.cs.spec.replicas = Some(3);
    w.cs.spec.lifecycle =
        Some(Lifecycle { pre_delete: Some(hook_labels("hold", "true")), ..Default::default() });
    w.pods[0].metadata.labels.as_mut().unwrap().insert("hold".into(), "true".into());
    // Specified for deletion, so CS-43 does not cancel its PreparingDelete.
    w.pods[0].metadata.labels.as_mut().unwrap().insert(keys::SPECIFIED_DELETE.into(), "true".into());
    let p = w.plan();
    let marked: Vec<&str> = pods_of(&p, "PatchPod");
    assert!(!marked.contains(&"web-p00"));
    assert_eq!(marked.len(), 2);
}

#[test]
fn cs_58_update_order_not_ready_then_recent_ready_first() {
    let mut w = W::new(3).roll_to("nginx:2");
    let r1 = w.rev1();
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(3));
    w.pods.push(pod(&w.cs, "a", &r1).ready_since(10).build());
    w.pods.push(pod(&w.cs, "b", &r1).ready_since(20).build());
    w.pods.push(pod(&w.cs, "c", &r1).not_ready().build());
    let p = w.plan();
    assert_eq!(pods_of(&p, "PatchPod"), vec!["web-c", "web-b", "web-a"]);
}

#[test]
fn cs_59_weight_priority_first() {
    let mut w = W::new(3).with_pods(3).roll_to("nginx:2");
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(1));
    w.pods[2].metadata.labels.as_mut().unwrap().insert("tier".into(), "canary".into());
    rolling(&mut w.cs).priority_strategy = Some(UpdatePriorityStrategy {
        weight_priority: vec![UpdatePriorityWeightTerm {
            weight: 50,
            match_selector: k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                match_labels: Some(BTreeMap::from([("tier".into(), "canary".into())])),
                match_expressions: None,
            },
        }],
        ..Default::default()
    });
    assert_eq!(pods_of(&w.plan(), "PatchPod"), vec!["web-p02"]);
}

#[test]
fn cs_59_order_priority_unkeyed_pods_first_then_larger_value() {
    let mut w = W::new(3).with_pods(3).roll_to("nginx:2");
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(3));
    w.pods[0].metadata.labels.as_mut().unwrap().insert("prio".into(), "v1".into());
    w.pods[1].metadata.labels.as_mut().unwrap().insert("prio".into(), "v10".into());
    rolling(&mut w.cs).priority_strategy = Some(UpdatePriorityStrategy {
        order_priority: vec![UpdatePriorityOrderTerm { ordered_key: "prio".into() }],
        ..Default::default()
    });
    assert_eq!(pods_of(&w.plan(), "PatchPod"), vec!["web-p02", "web-p01", "web-p00"]);
}

#[test]
fn cs_60_scatter_spreads_labelled_pods_1st_6th_10th() {
    let mut w = W::new(10).with_pods(10).roll_to("nginx:2");
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(10));
    for i in [0usize, 4, 8] {
        w.pods[i].metadata.labels.as_mut().unwrap().insert("foo".into(), "bar".into());
    }
    rolling(&mut w.cs).scatter_strategy = vec![UpdateScatterTerm { key: "foo".into(), value: "bar".into() }];
    let order = pods_of(&w.plan(), "PatchPod").into_iter().map(str::to_owned).collect::<Vec<_>>();
    let pos: Vec<usize> = ["web-p00", "web-p04", "web-p08"]
        .iter()
        .map(|n| order.iter().position(|o| o == n).unwrap())
        .collect();
    assert_eq!(pos, vec![0, 5, 9]);
}

#[test]
fn cs_61_preparing_update_goes_first() {
    let mut w = W::new(2).with_pods(2).roll_to("nginx:2");
    rolling(&mut w.cs).pod_update_policy = Some("InPlaceIfPossible".into());
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(1));
    w.pods[1] = pod(&w.cs, "p01", &w.rev1()).state(State::PreparingUpdate).created(-5).build();
    // p01 is PreparingUpdate but unhooked (no lifecycle): refresh leaves it; it is updated first.
    let p = w.plan();
    assert_eq!(pods_of(&p, "UpdateInPlace"), vec!["web-p01"]);
}

#[test]
fn cs_62_new_unavailable_pod_blocks_rollout() {
    let mut w = W::new(4).with_pods(3).roll_to("nginx:2");
    let r2 = w.rev2();
    w.pods.push(pod(&w.cs, "n", &r2).not_ready().build());
    let p = w.plan();
    assert_eq!(p.count("PatchPod"), 0);
    assert!(matches!(p.held_reason("web-p00"), Some(Reason::MaxUnavailable { limit: 1, .. })));
}

#[test]
fn cs_62_updating_unavailable_old_pod_costs_no_budget() {
    let mut w = W::new(3).with_pods(3).roll_to("nginx:2");
    w.pods[0] = pod(&w.cs, "p00", &w.rev1()).not_ready().build();
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(2));
    let p = w.plan();
    // unavail starts at 1: the not-ready pod is free, one available pod costs 1 (=2).
    assert_eq!(pods_of(&p, "PatchPod"), vec!["web-p00", "web-p01"]);
}

#[test]
fn cs_64_in_place_when_only_image_changes() {
    let mut w = W::new(2).with_pods(2).roll_to("nginx:2");
    rolling(&mut w.cs).pod_update_policy = Some("InPlaceIfPossible".into());
    let p = w.plan();
    let a = p.actions.iter().find(|a| a.kind.name() == "UpdateInPlace").unwrap();
    assert_eq!(a.kind, ActionKind::UpdateInPlace { from_revision: w.rev1() });
    assert_eq!(a.revision.as_deref(), Some(w.rev2().as_str()));
}

#[test]
fn cs_64_in_place_if_possible_falls_back_to_recreate() {
    let mut w = W::new(1).with_pods(1);
    rolling(&mut w.cs).pod_update_policy = Some("InPlaceIfPossible".into());
    w.cs.spec.template.spec.as_mut().unwrap().containers[0].command = Some(vec!["x".into()]);
    let r2 = fixtures::revision_of(&w.cs, 2);
    w.revs.push(r2);
    let p = w.plan();
    assert_eq!(patch_labels(&p, "web-p00"), vec![(keys::SPECIFIED_DELETE, Some("true"))]);
}

#[test]
fn cs_64_in_place_hook_sets_preparing_update() {
    let mut w = W::new(1).with_pods(1).roll_to("nginx:2");
    rolling(&mut w.cs).pod_update_policy = Some("InPlaceIfPossible".into());
    w.cs.spec.lifecycle =
        Some(Lifecycle { in_place_update: Some(hook_labels("hold", "true")), ..Default::default() });
    w.pods[0].metadata.labels.as_mut().unwrap().insert("hold".into(), "true".into());
    let p = w.plan();
    assert_eq!(patch_labels(&p, "web-p00"), vec![(keys::LIFECYCLE_STATE, Some("PreparingUpdate"))]);
    assert_eq!(p.count("UpdateInPlace"), 0);
}

#[test]
fn cs_65_recreate_marks_specified_delete_once() {
    let mut w = W::new(1).with_pods(1).roll_to("nginx:2");
    let p = w.plan();
    assert_eq!(patch_labels(&p, "web-p00"), vec![(keys::SPECIFIED_DELETE, Some("true"))]);
    // Next round the label exists: Scale deletes it (not-ready or within budget).
    w.pods[0].metadata.labels.as_mut().unwrap().insert(keys::SPECIFIED_DELETE.into(), "true".into());
    let p = w.plan();
    assert_eq!(pods_of(&p, "DeletePod"), vec!["web-p00"]);
}

#[test]
fn cs_66_partition_holds_remaining_old_pods() {
    // W-5 shape: R=4, P=2.
    let mut w = W::new(4).with_pods(4).roll_to("nginx:2");
    rolling(&mut w.cs).partition = Some(IntOrString::Int(2));
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(4));
    let p = w.plan();
    assert_eq!(p.count("PatchPod"), 2);
    assert_eq!(p.held.iter().filter(|h| matches!(h.reason, Reason::Partition { partition: 2 })).count(), 2);
    assert_eq!(p.status.expected_updated_replicas, 2);
}

// ---- §10 in-place --------------------------------------------------------------------------

#[test]
fn cs_70_fresh_pod_gets_in_place_ready_true() {
    let mut w = W::new(1);
    let r = w.rev1();
    w.pods.push(pod(&w.cs, "a", &r).condition(keys::INPLACE_UPDATE_READY, "False", "").build());
    w.pods[0]
        .status
        .as_mut()
        .unwrap()
        .conditions
        .as_mut()
        .unwrap()
        .retain(|c| c.type_ != keys::INPLACE_UPDATE_READY);
    let p = w.plan();
    let a = p.actions.iter().find(|a| a.kind.name() == "UpdatePodStatus").unwrap();
    assert!(matches!(&a.kind, ActionKind::UpdatePodStatus { condition } if condition.status == "True"));
}

/// The pod as the API server holds it after `writes` (JSON patches applied in order; the
/// status subresource keeps only the status of the result, the main resource the rest).
fn served_after(
    mut server: serde_json::Value,
    writes: &[&crate::reconciler::PlannedWrite],
) -> serde_json::Value {
    use crate::write::{ApiWrite, Subresource, json_patch};
    for w in writes {
        let ApiWrite::JsonPatch { patch, subresource, .. } = &w.write else { panic!("{:?}", w.write) };
        let mut next = server.clone();
        json_patch::apply(&mut next, patch).unwrap();
        match subresource {
            Subresource::Status => server["status"] = next["status"].take(),
            _ => {
                next["status"] = server["status"].take();
                server = next;
            }
        }
    }
    server
}

#[test]
fn cs_71_in_place_write_sets_labels_state_and_images() {
    let mut w = W::new(1).with_pods(1).roll_to("nginx:2");
    rolling(&mut w.cs).pod_update_policy = Some("InPlaceIfPossible".into());
    let input = w.input();
    let p = plan(&input).unwrap();
    let writes = reconcile::writes(&input, &p).unwrap();
    let ws: Vec<&crate::reconciler::PlannedWrite> =
        writes.iter().filter(|x| x.name() == "UpdateInPlace").collect();
    assert_eq!(ws.len(), 2, "status write then pod patch");
    assert!(matches!(
        ws[0].write,
        crate::write::ApiWrite::JsonPatch { subresource: crate::write::Subresource::Status, .. }
    ));
    assert!(matches!(
        ws[1].write,
        crate::write::ApiWrite::JsonPatch { subresource: crate::write::Subresource::Main, .. }
    ));
    let object = served_after(serde_json::to_value(&w.pods[0]).unwrap(), &ws);
    let labels = &object["metadata"]["labels"];
    assert_eq!(labels[keys::CONTROLLER_REVISION_HASH], serde_json::json!(w.rev2()));
    assert_eq!(labels[keys::LIFECYCLE_STATE], "Updating");
    assert_eq!(object["spec"]["containers"][0]["image"], "nginx:2");
    let state: serde_json::Value =
        serde_json::from_str(object["metadata"]["annotations"][keys::INPLACE_UPDATE_STATE].as_str().unwrap())
            .unwrap();
    assert_eq!(state["lastContainerStatuses"]["main"]["imageID"], "sha-old");
    assert_eq!(state["updateImages"], true);
    let c = object["status"]["conditions"].as_array().unwrap();
    assert!(c.iter().any(|c| c["type"] == keys::INPLACE_UPDATE_READY
        && c["status"] == "False"
        && c["reason"] == "StartInPlaceUpdate"));
    assert!(c.iter().any(|c| c["type"] == "Ready" && c["status"] == "False"));
}

/// Issue 12 item 7: the in-place write patches only what changes (labels, annotations, the
/// image), guarded by the container's name and old image: fields the typed pod does not know
/// survive, nothing else of the pod is sent, and a pod whose image moved meanwhile is not
/// overwritten.
#[test]
fn cs_71_in_place_write_patches_only_what_changes() {
    let mut w = W::new(1).with_pods(1).roll_to("nginx:2");
    rolling(&mut w.cs).pod_update_policy = Some("InPlaceIfPossible".into());
    let input = w.input();
    let p = plan(&input).unwrap();
    let writes = reconcile::writes(&input, &p).unwrap();
    let ws: Vec<&crate::reconciler::PlannedWrite> =
        writes.iter().filter(|x| x.name() == "UpdateInPlace").collect();
    let crate::write::ApiWrite::JsonPatch { patch, .. } = &ws[1].write else { panic!() };
    let paths: Vec<&str> = patch.as_array().unwrap().iter().filter_map(|o| o["path"].as_str()).collect();
    assert!(
        paths.iter().all(|p| p.starts_with("/metadata/labels/")
            || p.starts_with("/metadata/annotations")
            || p == &"/metadata/uid"
            || p == &"/metadata/resourceVersion"
            || p.starts_with("/spec/containers/0/")),
        "{paths:?}"
    );
    assert!(paths.contains(&"/spec/containers/0/name"), "the container index is tested: {paths:?}");
    // A field of a newer API (unknown to the typed Pod) survives the update.
    let mut server = serde_json::to_value(&w.pods[0]).unwrap();
    server["spec"]["containers"][0]["futureField"] = serde_json::json!({"x": 1});
    server["spec"]["futureSpec"] = serde_json::json!(true);
    let after = served_after(server, &ws);
    assert_eq!(after["spec"]["containers"][0]["futureField"], serde_json::json!({"x": 1}));
    assert_eq!(after["spec"]["futureSpec"], true);
    assert_eq!(after["spec"]["containers"][0]["image"], "nginx:2");
    // Someone changed the image meanwhile: the guarded patch fails instead of overwriting it.
    let mut moved = serde_json::to_value(&w.pods[0]).unwrap();
    moved["spec"]["containers"][0]["image"] = serde_json::json!("nginx:other");
    let err = crate::write::json_patch::apply(&mut moved, patch).unwrap_err();
    assert!(err.test_failed, "{err}");
}

/// Issue 12 item 8 (CS-70, CS-80): a refresh that sets InPlaceUpdateReady=True and an in-place
/// update of the same pod in one plan: the writes chain (each computed on the pod as the
/// previous left it, only the first testing the cached resourceVersion), so applied in order on the
/// server they all succeed and the last condition wins.
#[test]
fn cs_70_two_status_writes_on_one_pod_chain() {
    use crate::plan::{Action, PodConditionUpdate};
    let mut w = W::new(1).with_pods(1).roll_to("nginx:2");
    rolling(&mut w.cs).pod_update_policy = Some("InPlaceIfPossible".into());
    let input = w.input();
    let mut p = plan(&input).unwrap();
    let name = w.pods[0].metadata.name.clone().unwrap();
    let at = p.actions.iter().position(|a| a.kind.name() == "UpdateInPlace").unwrap();
    p.actions.insert(
        at,
        Action::new(
            ActionKind::UpdatePodStatus {
                condition: PodConditionUpdate {
                    type_: keys::INPLACE_UPDATE_READY.into(),
                    status: "True".into(),
                    reason: String::new(),
                    message: String::new(),
                },
            },
            Some(&name),
            None,
            Reason::InPlaceReadiness,
        ),
    );
    let writes = reconcile::writes(&input, &p).unwrap();
    let ws: Vec<&crate::reconciler::PlannedWrite> =
        writes.iter().filter(|x| x.pod() == Some(name.as_str())).collect();
    assert_eq!(ws.len(), 3);
    // Only the first write tests the cached resourceVersion; the others chain on it.
    for x in &ws[1..] {
        let crate::write::ApiWrite::JsonPatch { patch, .. } = &x.write else { panic!() };
        assert!(!patch.to_string().contains("resourceVersion"), "{patch}");
    }
    let after = served_after(serde_json::to_value(&w.pods[0]).unwrap(), &ws);
    let c = after["status"]["conditions"].as_array().unwrap();
    let ready: Vec<_> = c.iter().filter(|c| c["type"] == keys::INPLACE_UPDATE_READY).collect();
    assert_eq!(ready.len(), 1, "{c:?}");
    assert_eq!(ready[0]["status"], "False");
    assert_eq!(after["spec"]["containers"][0]["image"], "nginx:2");
}

#[test]
fn cs_72_grace_period_waits_and_requeues() {
    let mut w = W::new(1).roll_to("nginx:2");
    rolling(&mut w.cs).pod_update_policy = Some("InPlaceIfPossible".into());
    rolling(&mut w.cs).in_place_update_strategy = Some(kruise_api::apps::common::InPlaceUpdateStrategy {
        grace_period_seconds: 10,
        ..Default::default()
    });
    let r2 = w.rev2();
    let grace =
        serde_json::json!({"revision": r2, "containerImages": {"main": "nginx:2"}, "graceSeconds": 10})
            .to_string();
    let state = format!(
        r#"{{"revision":"{r2}","updateTimestamp":"1970-01-01T00:16:36Z","lastContainerStatuses":{{}}}}"#
    ); // t=996
    w.pods.push(
        pod(&w.cs, "a", &r2)
            .state(State::Updating)
            .annotation(keys::INPLACE_UPDATE_GRACE, &grace)
            .annotation(keys::INPLACE_UPDATE_STATE, &state)
            .condition(keys::INPLACE_UPDATE_READY, "False", "StartInPlaceUpdate")
            .build(),
    );
    let p = w.plan();
    assert_eq!(p.requeue.as_ref().map(|r| r.after.as_secs()), Some(6));
    assert_eq!(p.held_reason("web-a"), Some(&Reason::GracePeriod { remaining: 6 }));
    w.now = 1010;
    let p = w.plan();
    assert_eq!(pods_of(&p, "FinishGracePeriod"), vec!["web-a"]);
}

#[test]
fn cs_74_updating_pod_not_complete_is_held() {
    let mut w = W::new(1).roll_to("nginx:2");
    let r2 = w.rev2();
    let state = r#"{"revision":"x","lastContainerStatuses":{"main":{"imageID":"sha-old"}}}"#;
    w.pods.push(
        pod(&w.cs, "a", &r2)
            .state(State::Updating)
            .annotation(keys::INPLACE_UPDATE_STATE, state)
            .condition(keys::INPLACE_UPDATE_READY, "False", "StartInPlaceUpdate")
            .build(),
    );
    w.pods[0].status.as_mut().unwrap().container_statuses.as_mut().unwrap()[0].image = "nginx:1".into();
    let p = w.plan();
    assert_eq!(p.held_reason("web-a"), Some(&Reason::InPlaceUpdating));
    assert_eq!(p.count("PatchPod"), 0);
    // kubelet reports the new image id: ready True + Normal.
    w.pods[0].status.as_mut().unwrap().container_statuses.as_mut().unwrap()[0].image_id = "sha-new".into();
    let p = w.plan();
    assert_eq!(p.count("UpdatePodStatus"), 1);
    assert_eq!(patch_labels(&p, "web-a"), vec![(keys::LIFECYCLE_STATE, Some("Normal"))]);
}

#[test]
fn cs_76_in_place_only_impossible_sets_failed_update() {
    let mut w = W::new(1).with_pods(1);
    rolling(&mut w.cs).pod_update_policy = Some("InPlaceOnly".into());
    w.cs.spec.template.spec.as_mut().unwrap().containers[0].command = Some(vec!["x".into()]);
    w.revs.push(fixtures::revision_of(&w.cs, 2));
    let p = w.plan();
    assert_eq!(p.count("PatchPod"), 0);
    let c = p.status.conditions.iter().find(|c| c.type_ == "FailedUpdate").unwrap();
    assert!(c.message.contains("InPlaceOnly"));
    assert_eq!(p.held_reason("web-p00"), Some(&Reason::InPlaceImpossible));
}

// ---- §11 lifecycle -------------------------------------------------------------------------

#[test]
fn cs_77_unscheduled_preparing_normal_waits() {
    let mut w = W::new(1);
    let r = w.rev1();
    w.pods.push(pod(&w.cs, "a", &r).state(State::PreparingNormal).unscheduled().build());
    let p = w.plan();
    assert_eq!(p.count("PatchPod"), 0);
}

#[test]
fn cs_78_hook_predicates() {
    let h = LifecycleHook {
        labels_handler: BTreeMap::from([("a".into(), "1".into()), ("b".into(), "2".into())]),
        finalizers_handler: vec!["f".into()],
        mark_pod_not_ready: false,
    };
    let cs = fixtures::cloneset("web", 1, "x");
    let some = pod(&cs, "a", "r").label("a", "1").build();
    let all = pod(&cs, "b", "r").label("a", "1").label("b", "2").finalizer("f").build();
    assert!(hooked(Some(&h), &some) && !all_hooked(Some(&h), &some));
    assert!(all_hooked(Some(&h), &all));
    assert!(!all_hooked(None, &all) && !hooked(None, &all));
    assert!(all_hooked(Some(&LifecycleHook::default()), &some));
}

#[test]
fn cs_79_updated_back_to_normal_and_pre_normal_hook() {
    let mut w = W::new(1);
    let r = w.rev1();
    w.cs.spec.lifecycle =
        Some(Lifecycle { pre_normal: Some(hook_labels("ok", "yes")), ..Default::default() });
    w.pods.push(pod(&w.cs, "a", &r).state(State::PreparingNormal).build());
    let p = w.plan();
    assert_eq!(p.held_reason("web-a"), Some(&Reason::LifecycleHook { hook: "preNormal" }));
    w.pods[0] = pod(&w.cs, "a", &r).state(State::PreparingNormal).label("ok", "yes").build();
    assert_eq!(patch_labels(&w.plan(), "web-a"), vec![(keys::LIFECYCLE_STATE, Some("Normal"))]);
    // Updated with L set but inPlaceUpdate nil ⇒ Normal.
    w.pods[0] = pod(&w.cs, "a", &r).state(State::Updated).build();
    assert_eq!(patch_labels(&w.plan(), "web-a"), vec![(keys::LIFECYCLE_STATE, Some("Normal"))]);
}

#[test]
fn cs_80_mark_pod_not_ready_on_pre_delete() {
    let mut w = W::new(0).with_pods(1);
    let mut h = hook_labels("hold", "true");
    h.mark_pod_not_ready = true;
    w.cs.spec.lifecycle = Some(Lifecycle { pre_delete: Some(h), ..Default::default() });
    w.pods[0].metadata.labels.as_mut().unwrap().insert("hold".into(), "true".into());
    w.pods[0]
        .spec
        .as_mut()
        .unwrap()
        .readiness_gates
        .as_mut()
        .unwrap()
        .push(k8s_openapi::api::core::v1::PodReadinessGate { condition_type: keys::KRUISE_POD_READY.into() });
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(1));
    let p = w.plan();
    let a = p.actions.iter().find(|a| a.kind.name() == "UpdatePodStatus").unwrap();
    let ActionKind::UpdatePodStatus { condition } = &a.kind else { panic!() };
    assert_eq!((condition.type_.as_str(), condition.status.as_str()), (keys::KRUISE_POD_READY, "False"));
    assert!(condition.message.contains("preDeleteHook"));
}

#[test]
fn cs_81_exclude_preparing_delete_creates_replacement() {
    let mut w = W::new(2).with_pods(2);
    w.cs.spec.lifecycle =
        Some(Lifecycle { pre_delete: Some(hook_labels("hold", "true")), ..Default::default() });
    w.pods[1] = pod(&w.cs, "p01", &w.rev1())
        .state(State::PreparingDelete)
        .label("hold", "true")
        .label(keys::SPECIFIED_DELETE, "true")
        .build();
    assert_eq!(w.plan().count("CreatePod"), 0);
    w.cs.spec.scale_strategy.exclude_preparing_delete = true;
    assert_eq!(w.plan().count("CreatePod"), 1);
}

// ---- §12 status ----------------------------------------------------------------------------

#[test]
fn cs_82_status_counters_and_selector_string() {
    let mut w = W::new(3).with_pods(2).roll_to("nginx:2");
    let r2 = w.rev2();
    w.pods.push(pod(&w.cs, "n", &r2).not_ready().build());
    w.cs.spec.selector.as_mut().unwrap().match_expressions =
        Some(vec![k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement {
            key: "env".into(),
            operator: "NotIn".into(),
            values: Some(vec!["b".into(), "a".into()]),
        }]);
    let s = w.plan().status;
    assert_eq!((s.replicas, s.ready_replicas, s.available_replicas), (3, 2, 2));
    assert_eq!((s.updated_replicas, s.updated_ready_replicas, s.updated_available_replicas), (1, 0, 0));
    assert_eq!(s.expected_updated_replicas, 3);
    assert_eq!(s.label_selector, "app=web,env notin (a,b)");
    assert_eq!(s.observed_generation, 1);
}

#[test]
fn cs_83_current_revision_advances_when_all_updated() {
    let mut w = W::new(2).roll_to("nginx:2");
    let r2 = w.rev2();
    w.pods.push(pod(&w.cs, "a", &r2).build());
    w.pods.push(pod(&w.cs, "b", &r2).not_ready().build());
    assert_eq!(w.plan().status.current_revision, r2, "readiness not required");
}

#[test]
fn cs_84_condition_merge_keeps_transition_time() {
    let mut conds = vec![CloneSetCondition {
        type_: "Progressing".into(),
        status: "True".into(),
        reason: "A".into(),
        last_transition_time: Some(Time(ts(1))),
        ..Default::default()
    }];
    let new = |status: &str, reason: &str| CloneSetCondition {
        type_: "Progressing".into(),
        status: status.into(),
        reason: reason.into(),
        message: "m".into(),
        last_transition_time: Some(Time(ts(9))),
        last_update_time: Some(Time(ts(9))),
    };
    status::set_condition(&mut conds, new("True", "A"));
    assert!(conds[0].message.is_empty(), "same status+reason: untouched");
    status::set_condition(&mut conds, new("True", "B"));
    assert_eq!(conds[0].last_transition_time, Some(Time(ts(1))));
    status::set_condition(&mut conds, new("False", "B"));
    assert_eq!(conds[0].last_transition_time, Some(Time(ts(9))));
}

#[test]
fn cs_85_progressing_conditions() {
    let mut w = W::new(2).with_pods(2);
    w.cs.spec.progress_deadline_seconds = Some(60);
    let s = w.plan().status;
    assert_eq!(s.conditions.iter().find(|c| c.type_ == "Progressing").unwrap().reason, "CloneSetAvailable");
    let mut w = w.roll_to("nginx:2");
    let p = w.plan();
    let c = p.status.conditions.iter().find(|c| c.type_ == "Progressing").unwrap();
    assert_eq!(c.reason, "CloneSetUpdated");
    assert_eq!(p.requeue.as_ref().map(|r| r.after.as_secs()), Some(61));
    w.cs.status.as_mut().unwrap().conditions = p.status.conditions.clone();
    w.now += 61;
    let c = w.plan().status.conditions.into_iter().find(|c| c.type_ == "Progressing").unwrap();
    assert_eq!((c.status.as_str(), c.reason.as_str()), ("False", "ProgressDeadlineExceeded"));
    w.cs.spec.progress_deadline_seconds = None;
    assert!(w.plan().status.conditions.iter().all(|c| c.type_ != "Progressing"));
}

#[test]
fn cs_86_status_written_only_when_changed() {
    let w = W::new(1).with_pods(1);
    let p = w.plan();
    assert_eq!(p.count("UpdateStatus"), 1);
    let mut w2 = W::new(1).with_pods(1);
    w2.cs.status = Some(p.status.clone());
    assert_eq!(w2.plan().count("UpdateStatus"), 0);
    let mut w3 = W::new(1).with_pods(1);
    let mut st = p.status;
    st.collision_count = Some(5);
    w3.cs.status = Some(st);
    assert_eq!(w3.plan().count("UpdateStatus"), 0, "collisionCount alone is not written");
}

// ---- §13 expectations, requeue, determinism --------------------------------------------

#[test]
fn cs_87_unsatisfied_scale_expectations_wait() {
    let mut w = W::new(3);
    w.exp.expect_create("web-abcde", ts(990));
    let p = w.plan();
    assert!(p.actions.is_empty());
    let r = p.requeue.unwrap();
    assert_eq!(r.after.as_secs(), 290);
    assert!(matches!(r.reason, Reason::AwaitingExpectations { creates: 1, .. }));
    w.now = 990 + 301;
    let p = w.plan();
    assert!(p.actions.is_empty() && p.requeue.is_none(), "timed out: stop without requeue");
    w.features.force_delete_timeout_expectation = true;
    assert_eq!(w.plan().count("CreatePod"), 3);
}

#[test]
fn cs_88_resource_version_expectation_waits_for_pod() {
    let mut w = W::new(1).with_pods(1);
    w.exp.expect_resource_version("uid-web-p00", 5, ts(995));
    let p = w.plan();
    assert_eq!(p.count("UpdateStatus"), 0);
    assert_eq!(p.requeue.unwrap().after.as_secs(), 295);
    w.pods[0].metadata.resource_version = Some("5".into());
    assert!(w.plan().requeue.is_none());
}

#[test]
fn cs_90_min_ready_seconds_requeue_full_period() {
    let mut w = W::new(1);
    w.cs.spec.min_ready_seconds = 30;
    let r = w.rev1();
    w.pods.push(pod(&w.cs, "a", &r).ready_since(995).build());
    let p = w.plan();
    assert_eq!(
        p.requeue,
        Some(Requeue {
            after: std::time::Duration::from_secs(30),
            reason: Reason::MinReadySeconds { seconds: 30 }
        })
    );
    assert_eq!(p.held_reason("web-a"), Some(&Reason::MinReadySeconds { seconds: 30 }));
}

#[test]
fn cs_91_pod_list_order_does_not_matter() {
    let mut w = W::new(2).with_pods(5).roll_to("nginx:2");
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(2));
    let a = w.plan();
    w.pods.reverse();
    assert_eq!(w.plan(), a);
    let json = serde_json::to_string(&a).unwrap();
    assert!(json.contains(r#""action":"DeletePod""#));
}

#[test]
fn cs_48_whole_create_list_emitted_in_id_order() {
    let w = W::new(7);
    let p = w.plan();
    let names = pods_of(&p, "CreatePod");
    assert_eq!(names.len(), 7, "the adapter applies slow-start batches; the plan lists all");
    assert!(names.windows(2).all(|x| x[0] < x[1]));
}

#[test]
fn cs_53_spread_ranker_prefers_crowded_zone() {
    use k8s_openapi::api::core::v1::{Node, TopologySpreadConstraint};
    let mut w = W::new(2);
    let r = w.rev1();
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(5));
    w.cs.spec.template.spec.as_mut().unwrap().topology_spread_constraints =
        Some(vec![TopologySpreadConstraint {
            topology_key: "zone".into(),
            max_skew: 1,
            when_unsatisfiable: "DoNotSchedule".into(),
            ..Default::default()
        }]);
    // Zone a: n1, n2 (two pods on different nodes); zone b: n3 (one pod).
    w.pods.push(pod(&w.cs, "a", &r).node("n1").created(9).build());
    w.pods.push(pod(&w.cs, "b", &r).node("n2").build());
    w.pods.push(pod(&w.cs, "c", &r).node("n3").created(10).build());
    let nodes: Vec<Node> = [("n1", "a"), ("n2", "a"), ("n3", "b")]
        .iter()
        .map(|(n, z)| Node {
            metadata: ObjectMeta {
                name: Some((*n).into()),
                labels: Some(BTreeMap::from([("zone".into(), (*z).into())])),
                ..Default::default()
            },
            ..Default::default()
        })
        .collect();
    let mut input = w.input();
    input.nodes = &nodes;
    let p = plan(&input).unwrap();
    // Without nodes the newest pod (c) would go; with zones the crowded zone a loses a pod.
    assert_eq!(pods_of(&p, "DeletePod"), vec!["web-a"]);
    assert_eq!(pods_of(&w.plan(), "DeletePod"), vec!["web-c"]);
}

#[test]
fn cs_67_vct_change_forces_recreate_with_gate() {
    let mut w = W::new(1).with_pods(1);
    rolling(&mut w.cs).pod_update_policy = Some("InPlaceIfPossible".into());
    fixtures::set_image(&mut w.cs, "nginx:2");
    let mut r2 = fixtures::revision_of(&w.cs, 2);
    r2.metadata.annotations.as_mut().unwrap().insert(keys::VOLUME_CLAIM_TEMPLATE_HASH.into(), "123".into());
    w.revs.push(r2);
    assert_eq!(w.plan().count("UpdateInPlace"), 1);
    w.features.recreate_pod_when_change_vct_in_clone_set = true;
    let p = w.plan();
    assert_eq!(p.count("UpdateInPlace"), 0);
    assert_eq!(patch_labels(&p, "web-p00"), vec![(keys::SPECIFIED_DELETE, Some("true"))]);
}

#[test]
fn cs_75_refresh_skips_pods_without_gate() {
    let mut w = W::new(1);
    let r = w.rev1();
    w.pods.push(pod(&w.cs, "a", &r).build());
    w.pods[0].spec.as_mut().unwrap().readiness_gates = None;
    w.pods[0]
        .status
        .as_mut()
        .unwrap()
        .conditions
        .as_mut()
        .unwrap()
        .retain(|c| c.type_ != keys::INPLACE_UPDATE_READY);
    assert_eq!(w.plan().count("UpdatePodStatus"), 0);
}

#[test]
fn cs_89_reconciler_turns_plan_into_writes() {
    use crate::reconciler::{Context, Reconciler, World};
    let w = W::new(2).with_pods(1);
    let world = World::new(&w.cs).with_pods(&w.pods).with_pvcs(&w.pvcs).with_revisions(&w.revs);
    let ctx = Context { now: ts(w.now), id_seed: 7, features: w.features, expectations: &w.exp };
    let out = CloneSetReconciler.reconcile(&world, &ctx).unwrap();
    let create = out.writes.iter().find(|x| x.name() == "CreatePod").unwrap();
    let crate::write::ApiWrite::Create { object, target } = &create.write else { panic!() };
    assert_eq!(target.kind, "Pod");
    assert_eq!(object["kind"], "Pod");
    assert_eq!(object["metadata"]["ownerReferences"][0]["uid"], "uid-web");
    assert_eq!(out.events[0].reason, "SuccessfulCreate");
    let status = out.writes.iter().find(|x| x.name() == "UpdateStatus").unwrap();
    assert!(matches!(
        &status.write,
        crate::write::ApiWrite::Replace { subresource: crate::write::Subresource::Status, .. }
    ));
}

#[test]
fn cs_45_free_id_of_a_failed_pod_is_not_reused() {
    let mut w = W::new(1).with_pods(1);
    w.cs.spec.scale_strategy.enable_pvc_reuse = true;
    w.pods[0].status.as_mut().unwrap().phase = Some("Failed".into());
    w.pvcs = vec![pvc("data-web-p00", "p00")];
    let p = w.plan();
    let names = pods_of(&p, "CreatePod");
    assert_eq!(names.len(), 1);
    assert_ne!(names[0], "web-p00");
}

#[test]
fn cs_24_owner_reference_matched_by_uid_not_version() {
    let mut w = W::new(1).with_pods(1);
    w.pods[0].metadata.owner_references.as_mut().unwrap()[0].api_version = "apps.kruise.io/v1alpha1".into();
    let p = w.plan();
    assert_eq!(p.status.replicas, 1);
    assert_eq!(p.count("CreatePod"), 0);
}

#[test]
fn cs_85_quirk_old_available_condition_times_out_new_rollout_at_once() {
    let mut w = W::new(1).with_pods(1).roll_to("nginx:2");
    w.cs.spec.progress_deadline_seconds = Some(60);
    w.cs.status.as_mut().unwrap().conditions = vec![CloneSetCondition {
        type_: "Progressing".into(),
        status: "True".into(),
        reason: "CloneSetAvailable".into(),
        last_update_time: Some(Time(ts(0))),
        last_transition_time: Some(Time(ts(0))),
        message: "CloneSet is available".into(),
    }];
    let c = w.plan().status.conditions.into_iter().find(|c| c.type_ == "Progressing").unwrap();
    assert_eq!(c.reason, "ProgressDeadlineExceeded", "upstream code, §16 question 1");
}

#[test]
fn cs_88_timed_out_pod_expectation_stops_without_requeue() {
    let mut w = W::new(1).with_pods(1);
    w.exp.expect_resource_version("uid-web-p00", 5, ts(0));
    let p = w.plan();
    assert!(p.requeue.is_none());
    assert_eq!(p.count("UpdateStatus"), 0);
}

#[test]
fn cs_89_plan_json_shape() {
    let mut w = W::new(2).with_pods(1);
    w.cs.spec.min_ready_seconds = 5;
    let v = serde_json::to_value(w.plan()).unwrap();
    let a = &v["actions"][0];
    assert_eq!(a["action"], "CreatePod");
    assert!(a["pod"].is_string() && a["revision"].is_string());
    assert_eq!(a["reason"], "ScaleUp");
    assert_eq!(a["detail"], "have 1 pods, want 2");
    assert!(v["status"].is_object());
    assert!(v.get("requeueAfterSeconds").is_some() && v.get("requeueReason").is_some());
    assert!(v["held"].is_array());
}

#[test]
fn cs_63_pub_denial_stops_updates_and_requeues() {
    let mut w = W::new(2).with_pods(2).roll_to("nginx:2");
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(2));
    let deny_p01: PubDecisions =
        [("web-p00".to_owned(), PubDecision::Allowed), ("web-p01".to_owned(), PubDecision::Denied)].into();
    let mut input = w.input();
    input.pub_decisions = Some(&deny_p01);
    assert_eq!(plan(&input).unwrap().count("PatchPod"), 2, "gate off: the decisions are not consulted");
    w.features.pod_unavailable_budget_update_gate = true;
    let mut input = w.input();
    input.pub_decisions = Some(&deny_p01);
    let p = plan(&input).unwrap();
    assert_eq!(pods_of(&p, "PatchPod"), vec!["web-p00"]);
    assert_eq!(p.held_reason("web-p01"), Some(&Reason::PodUnavailableBudget));
    assert_eq!(p.requeue.as_ref().map(|r| r.after.as_secs()), Some(1));
}

#[test]
fn cs_63_pub_absent_decisions_allow_and_errors_fail_the_update() {
    let mut w = W::new(2).with_pods(2).roll_to("nginx:2");
    rolling(&mut w.cs).max_unavailable = Some(IntOrString::Int(2));
    w.features.pod_unavailable_budget_update_gate = true;
    // No entry for any pod: every update goes ahead.
    let none = PubDecisions::new();
    let mut input = w.input();
    input.pub_decisions = Some(&none);
    assert_eq!(plan(&input).unwrap().count("PatchPod"), 2);
    // An error for the first pod: nothing is updated and FailedUpdate carries the message.
    let err: PubDecisions = [("web-p00".to_owned(), PubDecision::Error("pub: boom".into()))].into();
    let mut input = w.input();
    input.pub_decisions = Some(&err);
    let p = plan(&input).unwrap();
    assert_eq!(p.count("PatchPod"), 0);
    let failed = p.status.conditions.iter().find(|c| c.type_ == "FailedUpdate");
    assert_eq!(failed.map(|c| c.message.as_str()), Some("pub: boom"));
}

#[test]
fn cs_85_intent_switch_restarts_deadline_on_progress() {
    let mut w = W::new(1).with_pods(1).roll_to("nginx:2");
    w.cs.spec.progress_deadline_seconds = Some(60);
    w.features.progress_deadline_from_progress = true;
    w.cs.status.as_mut().unwrap().conditions = vec![CloneSetCondition {
        type_: "Progressing".into(),
        status: "True".into(),
        reason: "CloneSetAvailable".into(),
        last_update_time: Some(Time(ts(0))),
        last_transition_time: Some(Time(ts(0))),
        message: "CloneSet is available".into(),
    }];
    // The update revision changed since the stored status: progress, not a timeout.
    w.cs.status.as_mut().unwrap().update_revision = w.rev1();
    let c = w.plan().status.conditions.into_iter().find(|c| c.type_ == "Progressing").unwrap();
    assert_eq!((c.status.as_str(), c.reason.as_str()), ("True", "CloneSetUpdated"));
    assert_eq!(c.last_update_time, Some(Time(ts(1000))));
}

#[test]
fn cs_75_next_container_batch_applied_on_refresh() {
    let mut w = W::new(1).roll_to("nginx:2");
    let r2 = w.rev2();
    let state = format!(
        r#"{{"revision":"{r2}","lastContainerStatuses":{{"main":{{"imageID":"sha-old"}}}},"nextContainerImages":{{"side":"side:2"}},"preCheckBeforeNext":{{"containersRequiredReady":["main"]}}}}"#
    );
    w.pods.push(
        pod(&w.cs, "a", &r2)
            .state(State::Updating)
            .annotation(keys::INPLACE_UPDATE_STATE, &state)
            .condition(keys::INPLACE_UPDATE_READY, "False", "StartInPlaceUpdate")
            .build(),
    );
    // main still reports the old image id: the first batch is not done.
    w.pods[0].status.as_mut().unwrap().container_statuses.as_mut().unwrap()[0].image = "nginx:1".into();
    let p = w.plan();
    assert_eq!(p.count("ApplyNextBatch"), 0);
    assert_eq!(p.held_reason("web-a"), Some(&Reason::InPlaceUpdating));
    w.pods[0].status.as_mut().unwrap().container_statuses.as_mut().unwrap()[0].image_id = "sha-new".into();
    let p = w.plan();
    assert_eq!(pods_of(&p, "ApplyNextBatch"), vec!["web-a"]);
    assert_eq!(p.count("UpdatePodStatus"), 0, "InPlaceUpdateReady stays False until the last batch");
}

#[test]
fn cs_79_unscheduled_preparing_normal_is_held_as_unscheduled_not_as_a_hook() {
    let mut w = W::new(1);
    let r = w.rev1();
    w.pods.push(pod(&w.cs, "a", &r).state(State::PreparingNormal).unscheduled().build());
    let p = w.plan();
    assert_eq!(p.held_reason("web-a"), Some(&Reason::Unscheduled));
}

#[test]
fn cs_42_pods_to_delete_deferred_by_scale_up_are_held_with_a_reason() {
    // Replicas 3, two pods, one of them named in podsToDelete: scale-up runs first (step 4) and
    // ends the scale pass, so the named pod is not deleted this round; it must say why.
    let mut w = W::new(3);
    let r = w.rev1();
    w.pods.push(pod(&w.cs, "a", &r).build());
    w.pods.push(pod(&w.cs, "b", &r).build());
    w.cs.spec.scale_strategy.pods_to_delete = vec!["web-a".into()];
    let p = w.plan();
    assert_eq!(p.count("CreatePod"), 1);
    assert_eq!(p.count("DeletePod"), 0);
    assert_eq!(p.held_reason("web-a"), Some(&Reason::DeletionDeferred));
}

#[test]
fn cs_42_pods_to_delete_in_preparing_delete_deferred_by_scale_up_are_held() {
    // Found by the cloneset_plan fuzz target: a pod named in podsToDelete that is already in
    // PreparingDelete is finished by step 5 (CS-49), which does not run when scale-up (step 4)
    // ends the pass; the pod must still be held with a reason.
    let mut w = W::new(3);
    let r = w.rev1();
    w.pods.push(pod(&w.cs, "p00", &r).not_ready().state(State::PreparingDelete).build());
    w.cs.spec.scale_strategy.pods_to_delete = vec!["web-p00".into()];
    let p = w.plan();
    assert!(p.count("CreatePod") > 0, "scale-up runs first: {p:?}");
    assert_eq!(p.count("DeletePod"), 0);
    assert_eq!(p.held_reason("web-p00"), Some(&Reason::DeletionDeferred));
}

#[test]
fn cs_49_preparing_delete_pods_released_in_step_5_are_not_also_deferred() {
    // Step 5 deletes a released PreparingDelete pod (no hook) and ends the pass: that pod was
    // acted on, so it gets no DeletionDeferred hold.
    let mut w = W::new(1).with_pods(2);
    let r = w.rev1();
    w.pods[1] = pod(&w.cs, "p01", &r).state(State::PreparingDelete).build();
    w.cs.spec.scale_strategy.pods_to_delete = vec!["web-p01".into()];
    let p = w.plan();
    assert_eq!(p.count("DeletePod"), 1, "{p:?}");
    assert_eq!(p.held_reason("web-p01"), None);
}
