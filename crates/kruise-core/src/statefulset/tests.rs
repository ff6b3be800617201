//! Rule tests of the StatefulSet planner (named after the ASTS rule each one checks), the
//! spec's worked example (§13), upstream bug replays and property tests.

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{
    Container, PersistentVolumeClaim, PersistentVolumeClaimSpec, Pod, PodCondition, PodReadinessGate,
    PodSpec, PodTemplateSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::common::{Lifecycle, LifecycleHook, UpdatePriorityOrderTerm, UpdatePriorityStrategy};
use kruise_api::apps::v1beta1::{
    RollingUpdateStatefulSetStrategy, StatefulSet, StatefulSetOrdinals,
    StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetScaleStrategy, StatefulSetStatus,
    UnorderedUpdateStrategy,
};
use kruise_api::keys;

use super::*;
use crate::plan::{ActionKind, Reason, StatefulSetReason as R};

const T0: i64 = 1_700_000_000;

fn now() -> Timestamp {
    Timestamp::from_second(T0).unwrap()
}

/// A set `web` in `default` with `replicas`, selector `app=web`, image `nginx:1`.
fn sts(replicas: i32, parallel: bool) -> StatefulSet {
    let mut s = StatefulSet::default();
    s.metadata.name = Some("web".into());
    s.metadata.namespace = Some("default".into());
    s.metadata.uid = Some("uid-web".into());
    s.metadata.generation = Some(1);
    s.spec.replicas = Some(replicas);
    s.spec.service_name = "web-svc".into();
    s.spec.selector = Some(LabelSelector {
        match_labels: Some([("app".to_owned(), "web".to_owned())].into()),
        ..Default::default()
    });
    s.spec.template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some([("app".to_owned(), "web".to_owned())].into()),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "main".into(),
                image: Some("nginx:1".into()),
                ..Default::default()
            }],
            ..Default::default()
        }),
    };
    s.spec.pod_management_policy = Some(if parallel { "Parallel" } else { "OrderedReady" }.into());
    s.spec.update_strategy.type_ = Some("RollingUpdate".into());
    s.spec.update_strategy.rolling_update = Some(RollingUpdateStatefulSetStrategy {
        partition: Some(0),
        max_unavailable: Some(IntOrString::Int(1)),
        pod_update_policy: Some("ReCreate".into()),
        min_ready_seconds: Some(0),
        ..Default::default()
    });
    s
}

fn ru(s: &mut StatefulSet) -> &mut RollingUpdateStatefulSetStrategy {
    s.spec.update_strategy.rolling_update.get_or_insert_with(Default::default)
}

fn set_image(s: &mut StatefulSet, image: &str) {
    s.spec.template.spec.as_mut().unwrap().containers[0].image = Some(image.into());
}

/// The observed world of one pass.
#[derive(Clone)]
struct W {
    set: StatefulSet,
    pods: Vec<Pod>,
    pvcs: Vec<PersistentVolumeClaim>,
    revs: Vec<ControllerRevision>,
    gates: Gates,
    features: crate::features::Features,
    exp: crate::expectations::Expectations,
    now: Timestamp,
}

impl W {
    /// The set with its first revision stored and `status.currentRevision` pointing at it.
    fn new(set: StatefulSet) -> Self {
        let mut w = Self {
            set,
            pods: Vec::new(),
            pvcs: Vec::new(),
            revs: Vec::new(),
            gates: Gates::default(),
            features: Default::default(),
            exp: Default::default(),
            now: now(),
        };
        let r = w.store_revision();
        let st = w.set.status.get_or_insert_with(Default::default);
        st.current_revision = r.clone();
        st.update_revision = r;
        w
    }
    /// Stores the revision of the current template; returns its name.
    fn store_revision(&mut self) -> String {
        let r = revision::resolve(&self.set, &self.revs);
        let rev = r.sorted[r.update].clone();
        let name = rev.metadata.name.clone().unwrap();
        if !self.revs.iter().any(|x| x.metadata.name == rev.metadata.name) {
            self.revs.push(rev);
        }
        name
    }
    fn rev(&self, i: usize) -> String {
        self.revs[i].metadata.name.clone().unwrap()
    }
    /// Ready pods for ordinals `os` at revision `rev`.
    fn with_pods(mut self, os: impl IntoIterator<Item = i64>, rev: &str) -> Self {
        for o in os {
            self.pods.push(pod(&self.set, o, rev, "Running", true));
        }
        self
    }
    fn input(&self) -> Input<'_> {
        Input {
            statefulset: &self.set,
            pods: (&self.pods).into(),
            pvcs: &self.pvcs,
            revisions: &self.revs,
            storage_classes: &[],
            now: self.now,
            features: self.features,
            gates: self.gates,
            expectations: &self.exp,
        }
    }
    /// Plans from the pod slice and from a [`PodTable`] of the same pods (ASTS-11: the two
    /// input forms give the same plan) and returns the plan.
    fn plan(&self) -> Plan {
        let p = match plan(&self.input()) {
            Ok(p) => p,
            Err(e) => panic!("plan failed: {e}"),
        };
        let names: BTreeSet<&str> = self.pods.iter().filter_map(|p| p.metadata.name.as_deref()).collect();
        if names.len() == self.pods.len() {
            let table = PodTable::from_pods(&self.set, self.pods.iter().cloned()).unwrap();
            let from_table = plan(&Input { pods: (&table).into(), ..self.input() });
            assert_eq!(from_table.as_ref().ok(), Some(&p), "the PodTable gives the slice's plan");
        }
        p
    }
    fn pod_mut(&mut self, name: &str) -> &mut Pod {
        self.pods.iter_mut().find(|p| p.metadata.name.as_deref() == Some(name)).unwrap()
    }
    fn remove(&mut self, name: &str) {
        self.pods.retain(|p| p.metadata.name.as_deref() != Some(name));
    }
    /// Applies the plan the way a cluster would in one step: creates become Pending pods,
    /// deletes mark pods terminating, status is written, revisions stored.
    fn apply(&mut self, p: &Plan) {
        for a in &p.actions {
            let pod = a.pod.clone().unwrap_or_default();
            match &a.kind {
                ActionKind::CreatePod { .. } => {
                    let (_, o) = parse_ordinal(&pod);
                    let mut np =
                        self::pod(&self.set, i64::from(o), a.revision.as_deref().unwrap(), "Pending", false);
                    np.metadata.name = Some(pod);
                    self.pods.push(np);
                }
                ActionKind::DeletePod => {
                    self.pod_mut(&pod).metadata.deletion_timestamp = Some(Time(self.now));
                }
                ActionKind::CreateRevision { .. } | ActionKind::UpdateRevision { .. } => {
                    self.store_revision();
                }
                _ => {}
            }
        }
        self.set.status = Some(p.status.clone());
    }
    fn ready(&mut self, name: &str) {
        let p = self.pod_mut(name);
        *p = pod_like(p, "Running", true);
    }
}

fn pod_like(p: &Pod, phase: &str, ready: bool) -> Pod {
    let mut p = p.clone();
    let st = p.status.get_or_insert_with(Default::default);
    st.phase = Some(phase.into());
    st.conditions = Some(vec![PodCondition {
        type_: "Ready".into(),
        status: if ready { "True" } else { "False" }.into(),
        last_transition_time: Some(Time(Timestamp::from_second(T0 - 1000).unwrap())),
        ..Default::default()
    }]);
    p
}

/// A pod of `set` for ordinal `o` at revision `rev`, controlled by the set.
fn pod(set: &StatefulSet, o: i64, rev: &str, phase: &str, ready: bool) -> Pod {
    let name = format!("web-{o}");
    let p = Pod {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some("default".into()),
            uid: Some(format!("uid-{name}")),
            labels: Some(
                [
                    ("app".to_owned(), "web".to_owned()),
                    (keys::CONTROLLER_REVISION_HASH.to_owned(), rev.to_owned()),
                    (keys::STATEFULSET_POD_NAME.to_owned(), name.clone()),
                    (keys::POD_INDEX.to_owned(), o.to_string()),
                ]
                .into(),
            ),
            owner_references: Some(vec![set_owner_ref(set)]),
            ..Default::default()
        },
        spec: set.spec.template.spec.clone(),
        status: None,
    };
    pod_like(&p, phase, ready)
}

/// `Kind pod` (or `Kind pvc`) per action, in order.
fn acts(p: &Plan) -> Vec<String> {
    p.actions
        .iter()
        .map(|a| match &a.kind {
            ActionKind::CreatePvc { pvc } | ActionKind::UpdatePvc { pvc } | ActionKind::DeletePvc { pvc } => {
                format!("{} {pvc}", a.kind.name())
            }
            _ => format!("{} {}", a.kind.name(), a.pod.as_deref().or(a.revision.as_deref()).unwrap_or("")),
        })
        .collect()
}

fn pod_acts(p: &Plan) -> Vec<String> {
    acts(p)
        .into_iter()
        .filter(|a| {
            a.starts_with("CreatePod") || a.starts_with("DeletePod") || a.starts_with("UpdateInPlace")
        })
        .collect()
}

fn held(p: &Plan, pod: &str) -> Option<String> {
    p.held_reason(pod).map(|r| r.kind().to_owned())
}

fn vct(name: &str, size: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some([("storage".to_owned(), Quantity(size.into()))].into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        status: None,
    }
}

fn retention(s: &mut StatefulSet, scaled: &str, deleted: &str) {
    s.spec.persistent_volume_claim_retention_policy = Some(StatefulSetPersistentVolumeClaimRetentionPolicy {
        when_scaled: Some(scaled.into()),
        when_deleted: Some(deleted.into()),
    });
}

// ---- §1, §2: defaults and bad input -------------------------------------------------------

#[test]
fn asts_7_defaults_applied_to_an_object_that_bypassed_the_webhook() {
    let mut s = StatefulSet::default();
    s.metadata.name = Some("web".into());
    s.spec.selector = sts(1, false).spec.selector;
    s.spec.template = sts(1, false).spec.template;
    let w = W::new(s);
    let p = w.plan();
    // replicas nil -> 1, OrderedReady, RollingUpdate.
    assert_eq!(pod_acts(&p), vec!["CreatePod web-0"]);
}

#[test]
fn asts_8_bad_input_is_an_error_naming_the_field() {
    type Edit = Box<dyn Fn(&mut StatefulSet)>;
    let cases: Vec<(Edit, &str)> = vec![
        (Box::new(|s| s.spec.replicas = Some(-1)), "spec.replicas"),
        (Box::new(|s| s.spec.replicas = Some(i32::MAX)), "spec.replicas"),
        (
            Box::new(|s| s.spec.reserve_ordinals = vec![IntOrString::String("5-3".into())]),
            "spec.reserveOrdinals[0]",
        ),
        (
            Box::new(|s| {
                s.spec.reserve_ordinals = vec![IntOrString::Int(1), IntOrString::String("x".into())]
            }),
            "spec.reserveOrdinals[1]",
        ),
        (Box::new(|s| s.spec.reserve_ordinals = vec![IntOrString::Int(-2)]), "spec.reserveOrdinals[0]"),
        (
            Box::new(|s| s.spec.volume_claim_templates = vec![PersistentVolumeClaim::default()]),
            "spec.volumeClaimTemplates[0].metadata.name",
        ),
        (
            Box::new(|s| ru(s).max_unavailable = Some(IntOrString::String("lots".into()))),
            "spec.updateStrategy.rollingUpdate.maxUnavailable",
        ),
        (
            Box::new(|s| {
                s.spec.scale_strategy =
                    Some(StatefulSetScaleStrategy { max_unavailable: Some(IntOrString::String("x%".into())) })
            }),
            "spec.scaleStrategy.maxUnavailable",
        ),
        (Box::new(|s| s.spec.pod_management_policy = Some("Whenever".into())), "spec.podManagementPolicy"),
        (Box::new(|s| s.spec.update_strategy.type_ = Some("Sometimes".into())), "spec.updateStrategy.type"),
        (Box::new(|s| ru(s).partition = Some(-1)), "spec.updateStrategy.rollingUpdate.partition"),
        (Box::new(|s| s.spec.selector = None), "spec.selector"),
        (Box::new(|s| s.metadata.name = None), "metadata.name"),
    ];
    for (edit, path) in cases {
        let mut s = sts(3, true);
        edit(&mut s);
        let w = W { set: s, ..W::new(sts(3, true)) };
        match plan(&w.input()) {
            Err(PlanError::InvalidSpec { path: p, .. }) | Err(PlanError::BadIntOrPercent { path: p, .. }) => {
                assert_eq!(p.as_str(), path)
            }
            other => panic!("{path}: expected an error, got {other:?}"),
        }
    }
}

// ---- §3: identity -------------------------------------------------------------------------

#[test]
fn asts_11_membership_adoption_and_release() {
    let w0 = W::new(sts(2, true));
    let r = w0.rev(0);
    let mut w = w0.with_pods([0], &r);
    let mut orphan = pod(&w.set, 1, &r, "Running", true);
    orphan.metadata.owner_references = None;
    w.pods.push(orphan);
    let mut foreign = pod(&w.set, 5, &r, "Running", true);
    foreign.metadata.owner_references.as_mut().unwrap()[0].uid = "someone-else".into();
    w.pods.push(foreign);
    let mut other_name = pod(&w.set, 7, &r, "Running", true);
    other_name.metadata.name = Some("webby-7".into());
    w.pods.push(other_name);
    let mut released = pod(&w.set, 9, &r, "Running", true);
    released.metadata.labels.as_mut().unwrap().insert("app".into(), "other".into());
    w.pods.push(released);
    let p = w.plan();
    let a = acts(&p);
    assert!(a.contains(&"AdoptPod web-1".to_owned()), "{a:?}");
    assert!(a.contains(&"ReleasePod web-9".to_owned()), "{a:?}");
    assert!(!a.iter().any(|x| x.contains("web-5") || x.contains("webby-7")), "{a:?}");
    assert_eq!(p.status.replicas, 2);
}

/// ASTS-11: adoption and release actions come by ordinal, from a slice listed in any order
/// and from a table, whose rows are in name order (`web-10` before `web-2`): the table's
/// rows are read in name order, and what was kept of them is then taken by ordinal.
#[test]
fn asts_11_adoption_and_release_follow_the_ordinals_not_the_names() {
    let w0 = W::new(sts(12, true));
    let r = w0.rev(0);
    let mut w = w0.with_pods([0, 1, 4, 5, 6, 7, 8, 9], &r);
    for o in [10, 2] {
        let mut orphan = pod(&w.set, o, &r, "Running", true);
        orphan.metadata.owner_references = None;
        w.pods.push(orphan);
    }
    for o in [11, 3] {
        let mut released = pod(&w.set, o, &r, "Running", true);
        released.metadata.labels.as_mut().unwrap().insert("app".into(), "other".into());
        w.pods.push(released);
    }
    let p = w.plan();
    let claims: Vec<String> =
        acts(&p).into_iter().filter(|a| a.starts_with("AdoptPod") || a.starts_with("ReleasePod")).collect();
    assert_eq!(claims, ["AdoptPod web-2", "ReleasePod web-3", "AdoptPod web-10", "ReleasePod web-11"]);
}

#[test]
fn asts_13_start_ordinal_needs_its_gate() {
    let mut s = sts(2, true);
    s.spec.ordinals = Some(StatefulSetOrdinals { start: 3 });
    let mut w = W::new(s);
    assert_eq!(pod_acts(&w.plan()), vec!["CreatePod web-0", "CreatePod web-1"], "gate off: start ignored");
    w.gates.stateful_set_start_ordinal = true;
    assert_eq!(pod_acts(&w.plan()), vec!["CreatePod web-3", "CreatePod web-4"]);
}

#[test]
fn asts_13_reserved_ordinals_are_holes() {
    let mut s = sts(3, true);
    s.spec.reserve_ordinals = vec![IntOrString::Int(1), IntOrString::String("3-4".into())];
    let w = W::new(s);
    assert_eq!(pod_acts(&w.plan()), vec!["CreatePod web-0", "CreatePod web-2", "CreatePod web-5"]);
}

#[test]
fn asts_14_reserved_pod_is_condemned_when_reservation_changes_mid_life() {
    let w0 = W::new(sts(3, true));
    let r = w0.rev(0);
    let mut w = w0.with_pods([0, 1, 2], &r);
    w.set.spec.reserve_ordinals = vec![IntOrString::Int(1)];
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["CreatePod web-3", "DeletePod web-1"]);
}

#[test]
fn asts_14_duplicate_ordinal_is_condemned_and_explained() {
    let w0 = W::new(sts(2, true));
    let r = w0.rev(0);
    let mut w = w0.with_pods([0, 1], &r);
    let mut dup = pod(&w.set, 1, &r, "Running", true);
    dup.metadata.name = Some("web-01".into());
    w.pods.insert(0, dup);
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["DeletePod web-01"]);
    assert_eq!(held(&p, "web-01").as_deref(), Some("DuplicateOrdinal"));
}

/// A pod that two steps hold is listed once, with the first step's reason: here every pod is
/// inside `minReadySeconds` (held first) and the partition keeps the lower two (held again).
#[test]
fn asts_33_a_pod_held_twice_is_listed_once_with_its_first_reason() {
    let mut s = sts(4, true);
    ru(&mut s).min_ready_seconds = Some(1200);
    ru(&mut s).partition = Some(2);
    let w0 = W::new(s);
    let r = w0.rev(0);
    let mut w = w0.with_pods(0..4, &r);
    set_image(&mut w.set, "nginx:2");
    w.store_revision();
    let p = w.plan();
    let names: Vec<&str> = p.held.iter().filter_map(|h| h.pod.as_deref()).collect();
    assert_eq!(names, vec!["web-0", "web-1", "web-2", "web-3"], "each pod once");
    for n in ["web-0", "web-1"] {
        assert_eq!(held(&p, n).as_deref(), Some("MinReadySeconds"), "{n}: the first reason wins");
    }
}

/// A hand-made list may name two pods alike (the API server never does): holds are then
/// matched by name, so the name is held once, whichever of the two pods it stands for.
#[test]
fn asts_14_two_pods_of_one_name_are_held_once() {
    let mut s = sts(2, true);
    ru(&mut s).partition = Some(2);
    let w0 = W::new(s);
    let r = w0.rev(0);
    let mut w = w0.with_pods([0, 1], &r);
    let mut twin = pod(&w.set, 1, &r, "Running", true);
    twin.metadata.uid = Some("uid-web-1-twin".into());
    w.pods.push(twin);
    // A new revision the partition keeps from both replicas: `web-1` is held a second time.
    set_image(&mut w.set, "nginx:2");
    w.store_revision();
    let p = w.plan();
    let web1 = p.held.iter().filter(|h| h.pod.as_deref() == Some("web-1")).count();
    assert_eq!((web1, held(&p, "web-1").as_deref()), (1, Some("DuplicateOrdinal")));
    assert_eq!(pod_acts(&p), vec!["DeletePod web-1"], "the twin that lost the slot is condemned");
}

#[test]
fn asts_15_new_pod_identity_volumes_and_lifecycle() {
    let mut s = sts(1, false);
    s.spec.volume_claim_templates = vec![vct("data", "1Gi")];
    s.spec.template.spec.as_mut().unwrap().volumes = Some(vec![
        k8s_openapi::api::core::v1::Volume { name: "data".into(), ..Default::default() },
        k8s_openapi::api::core::v1::Volume { name: "cfg".into(), ..Default::default() },
    ]);
    let template = s.spec.template.clone();
    let p = new_pod(&s, &template, 4, "web-abc", true, now());
    assert_eq!(p.metadata.name.as_deref(), Some("web-4"));
    let spec = p.spec.as_ref().unwrap();
    assert_eq!(spec.hostname.as_deref(), Some("web-4"));
    assert_eq!(spec.subdomain.as_deref(), Some("web-svc"));
    let vols: Vec<(&str, Option<&str>)> = spec
        .volumes
        .as_ref()
        .unwrap()
        .iter()
        .map(|v| (v.name.as_str(), v.persistent_volume_claim.as_ref().map(|c| c.claim_name.as_str())))
        .collect();
    assert_eq!(vols, vec![("data", Some("data-web-4")), ("cfg", None)]);
    let l = p.metadata.labels.as_ref().unwrap();
    assert_eq!(l.get(keys::STATEFULSET_POD_NAME).map(String::as_str), Some("web-4"));
    assert_eq!(l.get(keys::POD_INDEX).map(String::as_str), Some("4"));
    assert_eq!(l.get(keys::CONTROLLER_REVISION_HASH).map(String::as_str), Some("web-abc"));
    assert_eq!(l.get(keys::LIFECYCLE_STATE).map(String::as_str), Some("Normal"));
    assert_eq!(p.metadata.owner_references.as_ref().unwrap()[0].kind, "StatefulSet");
    s.spec.lifecycle = Some(Lifecycle {
        pre_normal: Some(LifecycleHook { finalizers_handler: vec!["x/y".into()], ..Default::default() }),
        ..Default::default()
    });
    let p = new_pod(&s, &template, 0, "web-abc", false, now());
    let l = p.metadata.labels.as_ref().unwrap();
    assert_eq!(l.get(keys::LIFECYCLE_STATE).map(String::as_str), Some("PreparingNormal"));
    assert!(!l.contains_key(keys::POD_INDEX), "PodIndexLabel off");
}

#[test]
fn asts_16_identity_labels_repaired() {
    let w0 = W::new(sts(1, true));
    let r = w0.rev(0);
    let mut w = w0.with_pods([0], &r);
    w.pod_mut("web-0").metadata.labels.as_mut().unwrap().remove(keys::STATEFULSET_POD_NAME);
    let p = w.plan();
    let patch = p.actions.iter().find(|a| a.kind.name() == "PatchPod").expect("a patch");
    assert_eq!(patch.reason, Reason::StatefulSet(R::Identity));
}

// ---- §4: PVCs ----------------------------------------------------------------------------

#[test]
fn asts_18_pvcs_are_created_before_their_pod() {
    let mut s = sts(1, false);
    s.spec.volume_claim_templates = vec![vct("data", "1Gi"), vct("logs", "1Gi")];
    let w = W::new(s);
    let p = w.plan();
    let a = acts(&p);
    let i = a.iter().position(|x| x == "CreatePod web-0").unwrap();
    assert_eq!(&a[i - 2..i], &["CreatePvc data-web-0".to_owned(), "CreatePvc logs-web-0".to_owned()]);
}

#[test]
fn asts_18_existing_pvc_is_reused_and_terminating_pvc_blocks() {
    let mut s = sts(1, false);
    s.spec.volume_claim_templates = vec![vct("data", "1Gi")];
    let mut w = W::new(s);
    let mut pvc = vct("data-web-0", "1Gi");
    w.pvcs.push(pvc.clone());
    assert_eq!(acts(&w.plan()).iter().filter(|a| a.starts_with("CreatePvc")).count(), 0);
    pvc.metadata.deletion_timestamp = Some(Time(now()));
    w.pvcs = vec![pvc];
    let p = w.plan();
    assert!(pod_acts(&p).is_empty());
    assert_eq!(held(&p, "web-0").as_deref(), Some("PvcTerminating"));
    assert_eq!(p.status.conditions[0].type_, "FailedCreatePod");
}

#[test]
fn asts_18_pending_replica_gets_missing_pvcs() {
    let mut s = sts(1, true);
    s.spec.volume_claim_templates = vec![vct("data", "1Gi")];
    let w0 = W::new(s);
    let r = w0.rev(0);
    let mut w = w0;
    w.pods.push(pod(&w.set, 0, &r, "Pending", false));
    assert!(acts(&w.plan()).contains(&"CreatePvc data-web-0".to_owned()));
}

#[test]
fn asts_19_stale_pvc_blocks_creation_only_with_when_scaled_delete() {
    let mut s = sts(2, false);
    s.spec.volume_claim_templates = vec![vct("data", "1Gi")];
    retention(&mut s, "Delete", "Retain");
    let mut w = W::new(s);
    let mut stale = vct("data-web-0", "1Gi");
    stale.metadata.owner_references = Some(vec![OwnerReference {
        kind: "Pod".into(),
        name: "web-0".into(),
        uid: "old".into(),
        ..Default::default()
    }]);
    w.pvcs.push(stale);
    let p = w.plan();
    assert!(pod_acts(&p).is_empty());
    assert_eq!(held(&p, "web-0").as_deref(), Some("StalePvc"));
    retention(&mut w.set, "Retain", "Retain");
    assert_eq!(pod_acts(&w.plan()), vec!["CreatePod web-0"]);
}

#[test]
fn asts_20_condemned_pvc_gets_pod_owner_ref_and_is_never_deleted() {
    let mut s = sts(3, true);
    s.spec.volume_claim_templates = vec![vct("data", "1Gi")];
    retention(&mut s, "Delete", "Retain");
    let w0 = W::new(s);
    let r = w0.rev(0);
    let mut w = w0.with_pods([0, 1, 2], &r);
    w.pvcs = (0..3).map(|o| vct(&format!("data-web-{o}"), "1Gi")).collect();
    w.set.spec.replicas = Some(2);
    let p = w.plan();
    let a = acts(&p);
    assert!(a.contains(&"UpdatePvc data-web-2".to_owned()), "{a:?}");
    assert!(a.contains(&"DeletePod web-2".to_owned()));
    assert!(!a.iter().any(|x| x.starts_with("DeletePvc")), "the planner never deletes a PVC");
    let fix = p.actions.iter().find(|x| x.kind.name() == "UpdatePvc").unwrap();
    assert_eq!(fix.reason, Reason::StatefulSet(R::PvcRetention { scaled_down: true }));
}

// ---- §5: revisions -----------------------------------------------------------------------

#[test]
fn asts_22_new_template_creates_the_update_revision() {
    let w0 = W::new(sts(1, true));
    let r = w0.rev(0);
    let mut w = w0.with_pods([0], &r);
    set_image(&mut w.set, "nginx:2");
    let p = w.plan();
    assert_eq!(p.actions[0].kind.name(), "CreateRevision");
    let new = p.actions[0].revision.clone().unwrap();
    assert_ne!(new, r);
    assert_eq!(p.status.update_revision, new);
    assert_eq!(p.status.current_revision, r);
}

#[test]
fn asts_23_history_truncated_beyond_the_limit() {
    let mut w = W::new(sts(1, true));
    for i in 2..=4 {
        set_image(&mut w.set, &format!("nginx:{i}"));
        w.store_revision();
    }
    let r4 = w.rev(3);
    w.set.status.as_mut().unwrap().current_revision = r4.clone();
    w = w.with_pods([0], &r4);
    w.set.spec.revision_history_limit = Some(1);
    let p = w.plan();
    let deleted: Vec<String> = p
        .actions
        .iter()
        .filter(|a| a.kind.name() == "DeleteRevision")
        .map(|a| a.revision.clone().unwrap())
        .collect();
    assert_eq!(deleted, vec![w.rev(0), w.rev(1)]);
}

// ---- §7: scale up ------------------------------------------------------------------------

#[test]
fn asts_25_failed_replica_is_deleted_and_ordered_ready_stops() {
    let w0 = W::new(sts(3, false));
    let r = w0.rev(0);
    let mut w = w0.with_pods([0, 1, 2], &r);
    *w.pod_mut("web-1") = pod(&w.set, 1, &r, "Failed", false);
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["DeletePod web-1"]);
    let d = p.actions.iter().find(|a| a.kind.name() == "DeletePod").unwrap();
    assert_eq!(d.reason, Reason::StatefulSet(R::ReplacePod { phase: "Failed" }));
}

#[test]
fn asts_25_scale_budget_of_one_is_spent_by_a_failed_pod() {
    let mut s = sts(3, true);
    s.spec.scale_strategy = Some(StatefulSetScaleStrategy { max_unavailable: Some(IntOrString::Int(1)) });
    let w0 = W::new(s);
    let r = w0.rev(0);
    let mut w = w0.with_pods([0, 1, 2], &r);
    *w.pod_mut("web-0") = pod(&w.set, 0, &r, "Failed", false);
    let p = w.plan();
    assert!(pod_acts(&p).is_empty(), "upstream's decrement-then-check: budget 1 -> 0 is exhausted");
    assert_eq!(held(&p, "web-0").as_deref(), Some("ScaleBudget"));
}

#[test]
fn asts_26_scale_budget_limits_parallel_creation() {
    let mut s = sts(5, true);
    s.spec.scale_strategy =
        Some(StatefulSetScaleStrategy { max_unavailable: Some(IntOrString::String("40%".into())) });
    let p = W::new(s).plan();
    assert_eq!(pod_acts(&p), vec!["CreatePod web-0", "CreatePod web-1"]);
    assert_eq!(held(&p, "web-2").as_deref(), Some("ScaleBudget"));
}

#[test]
fn asts_26_scale_budget_does_not_limit_scale_down_or_update() {
    let mut s = sts(4, true);
    s.spec.scale_strategy = Some(StatefulSetScaleStrategy { max_unavailable: Some(IntOrString::Int(1)) });
    ru(&mut s).max_unavailable = Some(IntOrString::Int(2));
    let w0 = W::new(s);
    let r = w0.rev(0);
    let mut w = w0.with_pods([0, 1, 2, 3], &r);
    w.set.spec.replicas = Some(1);
    assert_eq!(pod_acts(&w.plan()), vec!["DeletePod web-3", "DeletePod web-2", "DeletePod web-1"]);
    w.set.spec.replicas = Some(4);
    set_image(&mut w.set, "nginx:2");
    assert_eq!(
        pod_acts(&w.plan()),
        vec!["DeletePod web-3", "DeletePod web-2"],
        "update budget is rollingUpdate's"
    );
}

#[test]
fn asts_27_new_pods_below_the_partition_use_the_current_revision() {
    let w0 = W::new(sts(4, true));
    let r1 = w0.rev(0);
    let mut w = w0.with_pods([0, 3], &r1);
    set_image(&mut w.set, "nginx:2");
    ru(&mut w.set).partition = Some(2);
    let p = w.plan();
    let r2 = p.status.update_revision.clone();
    let creates: Vec<(String, String)> = p
        .actions
        .iter()
        .filter(|a| a.kind.name() == "CreatePod")
        .map(|a| (a.pod.clone().unwrap(), a.revision.clone().unwrap()))
        .collect();
    assert_eq!(creates, vec![("web-1".to_owned(), r1), ("web-2".to_owned(), r2)]);
}

#[test]
fn asts_27_on_delete_creates_at_the_update_revision() {
    let w0 = W::new(sts(2, true));
    let r1 = w0.rev(0);
    let mut w = w0.with_pods([0], &r1);
    set_image(&mut w.set, "nginx:2");
    w.set.spec.update_strategy.type_ = Some("OnDelete".into());
    w.set.spec.update_strategy.rolling_update = None;
    let p = w.plan();
    let c = p.actions.iter().find(|a| a.kind.name() == "CreatePod").unwrap();
    assert_eq!(c.revision.as_deref(), Some(p.status.update_revision.as_str()));
    assert_eq!(held(&p, "web-0").as_deref(), Some("OnDelete"), "OnDelete never updates");
}

#[test]
fn asts_27_unordered_new_pod_revision_counts_not_updated_pods() {
    let mut s = sts(3, true);
    ru(&mut s).unordered_update = Some(UnorderedUpdateStrategy::default());
    let w0 = W::new(s);
    let r1 = w0.rev(0);
    let mut w = w0.with_pods([0, 1], &r1);
    set_image(&mut w.set, "nginx:2");
    ru(&mut w.set).partition = Some(2);
    let p = w.plan();
    let c = p.actions.iter().find(|a| a.kind.name() == "CreatePod").unwrap();
    assert_eq!(
        c.revision.as_deref(),
        Some(p.status.update_revision.as_str()),
        "2 not-updated pods already keep the partition"
    );
}

#[test]
fn asts_28_ordered_ready_creates_one_pod_and_waits_for_readiness() {
    let w0 = W::new(sts(3, false));
    let r = w0.rev(0);
    let p = w0.plan();
    assert_eq!(pod_acts(&p), vec!["CreatePod web-0"]);
    assert_eq!(held(&p, "web-1").as_deref(), Some("OrderedReady"));
    let mut w = w0;
    w.pods.push(pod(&w.set, 0, &r, "Running", false));
    let p = w.plan();
    assert!(pod_acts(&p).is_empty(), "web-0 not ready");
    assert_eq!(
        p.held_reason("web-1"),
        Some(&Reason::StatefulSet(R::OrderedReady { waiting_for: "web-0".into() }))
    );
    w.ready("web-0");
    assert_eq!(pod_acts(&w.plan()), vec!["CreatePod web-1"]);
}

#[test]
fn asts_28_min_ready_seconds_gates_ordered_scale_up_with_a_requeue() {
    let mut s = sts(2, false);
    ru(&mut s).min_ready_seconds = Some(1200);
    let w0 = W::new(s);
    let r = w0.rev(0);
    let mut w = w0.with_pods([0], &r);
    let p = w.plan();
    assert!(pod_acts(&p).is_empty());
    let rq = p.requeue.as_ref().unwrap();
    assert_eq!((rq.after.as_secs(), rq.reason.kind()), (200, "MinReadySeconds"));
    w.now = Timestamp::from_second(T0 + 200).unwrap();
    assert_eq!(pod_acts(&w.plan()), vec!["CreatePod web-1"], "inclusive boundary");
}

#[test]
fn asts_28_parallel_creates_every_missing_slot() {
    let p = W::new(sts(4, true)).plan();
    assert_eq!(pod_acts(&p).len(), 4);
}

// ---- §8: scale down ----------------------------------------------------------------------

#[test]
fn asts_29_ordered_scale_down_one_at_a_time_from_the_highest() {
    let w0 = W::new(sts(4, false));
    let r = w0.rev(0);
    let mut w = w0.with_pods([0, 1, 2, 3], &r);
    w.set.spec.replicas = Some(1);
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["DeletePod web-3"]);
    w.apply(&p);
    let p = w.plan();
    assert!(pod_acts(&p).is_empty(), "waits for web-3 to go");
    assert_eq!(held(&p, "web-3").as_deref(), Some("Terminating"));
    w.remove("web-3");
    assert_eq!(pod_acts(&w.plan()), vec!["DeletePod web-2"]);
}

#[test]
fn asts_29_parallel_scale_down_deletes_all_condemned() {
    let w0 = W::new(sts(4, true));
    let r = w0.rev(0);
    let mut w = w0.with_pods([0, 1, 2, 3], &r);
    w.set.spec.replicas = Some(1);
    assert_eq!(pod_acts(&w.plan()), vec!["DeletePod web-3", "DeletePod web-2", "DeletePod web-1"]);
}

#[test]
fn asts_29_ordered_scale_down_removes_the_first_unhealthy_pod_only() {
    let w0 = W::new(sts(3, false));
    let r = w0.rev(0);
    let mut w = w0.with_pods([0, 1, 2, 3, 4], &r);
    w.set.spec.replicas = Some(2);
    // web-4 healthy, web-3 unhealthy: web-4 deleted first.
    *w.pod_mut("web-3") = pod(&w.set, 3, &r, "Running", false);
    w.set.spec.replicas = Some(3);
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["DeletePod web-4"]);
    // web-4 unhealthy but web-3 is the first unhealthy: web-4 waits.
    *w.pod_mut("web-4") = pod(&w.set, 4, &r, "Running", false);
    w.set.spec.replicas = Some(3);
    let p = w.plan();
    assert!(pod_acts(&p).is_empty(), "{:?}", acts(&p));
    assert_eq!(held(&p, "web-4").as_deref(), Some("OrderedReady"));
}

// ---- §9: rolling update ------------------------------------------------------------------

fn rolled(parallel: bool, replicas: i64) -> W {
    let w0 = W::new(sts(replicas as i32, parallel));
    let r = w0.rev(0);
    let mut w = w0.with_pods(0..replicas, &r);
    set_image(&mut w.set, "nginx:2");
    w
}

#[test]
fn asts_30_paused_holds_every_old_pod() {
    let mut w = rolled(true, 2);
    ru(&mut w.set).paused = true;
    let p = w.plan();
    assert!(pod_acts(&p).is_empty());
    assert_eq!(held(&p, "web-1").as_deref(), Some("Paused"));
}

#[test]
fn asts_30_a_lifecycle_change_skips_the_update_phase() {
    let mut w = rolled(true, 2);
    w.pod_mut("web-0")
        .metadata
        .labels
        .as_mut()
        .unwrap()
        .insert(keys::LIFECYCLE_STATE.into(), "PreparingNormal".into());
    let p = w.plan();
    assert!(pod_acts(&p).is_empty(), "{:?}", acts(&p));
    assert!(acts(&p).contains(&"PatchPod web-0".to_owned()));
    assert_eq!(held(&p, "web-1").as_deref(), Some("LifecycleRefresh"));
}

#[test]
fn asts_30_unobserved_in_place_write_skips_the_update_phase() {
    let mut w = rolled(true, 2);
    w.pod_mut("web-0").metadata.resource_version = Some("5".into());
    w.exp.expect_resource_version("uid-web-0", 9, now());
    let p = w.plan();
    assert!(pod_acts(&p).is_empty());
    assert_eq!(held(&p, "web-1").as_deref(), Some("AwaitingExpectations"));
}

#[test]
fn asts_31_partition_counts_non_reserved_slots() {
    let mut s = sts(4, true);
    s.spec.reserve_ordinals = vec![IntOrString::Int(1)];
    let w0 = W::new(s);
    let r = w0.rev(0);
    let mut w = w0.with_pods([0, 2, 3, 4], &r);
    set_image(&mut w.set, "nginx:2");
    ru(&mut w.set).partition = Some(2);
    ru(&mut w.set).max_unavailable = Some(IntOrString::Int(4));
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["DeletePod web-4", "DeletePod web-3"]);
    assert_eq!(held(&p, "web-2").as_deref(), Some("Partition"));
    assert_eq!(held(&p, "web-0").as_deref(), Some("Partition"));
}

#[test]
fn asts_31_partition_at_or_above_replicas_updates_nothing() {
    let mut w = rolled(true, 3);
    ru(&mut w.set).partition = Some(5);
    assert!(pod_acts(&w.plan()).is_empty());
}

#[test]
fn asts_32_max_unavailable_percent_rounds_down_to_at_least_one() {
    let mut w = rolled(true, 10);
    ru(&mut w.set).max_unavailable = Some(IntOrString::String("25%".into()));
    assert_eq!(pod_acts(&w.plan()).len(), 2, "10 x 25% = 2.5 -> 2");
}

#[test]
fn asts_32_ordered_ready_keeps_one_unavailable_whatever_the_field_says() {
    let mut w = rolled(false, 4);
    ru(&mut w.set).max_unavailable = Some(IntOrString::Int(3));
    assert_eq!(pod_acts(&w.plan()), vec!["DeletePod web-3"]);
}

#[test]
fn asts_34_specified_delete_first_not_limited_by_partition() {
    let mut w = rolled(true, 3);
    ru(&mut w.set).partition = Some(3);
    w.pod_mut("web-0").metadata.labels.as_mut().unwrap().insert(keys::SPECIFIED_DELETE.into(), "true".into());
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["DeletePod web-0"]);
    assert_eq!(
        p.actions.iter().find(|a| a.kind.name() == "DeletePod").unwrap().reason,
        Reason::StatefulSet(R::SpecifiedDelete)
    );
    assert_eq!(p.status.current_replicas, 2);
}

/// Held and updated pods are named as listed: a canonical name `<set>-<o>` is written from
/// the set name and the ordinal, a non-canonical one (`web-010`) is copied; both name the pod.
#[test]
fn asts_31_held_names_are_the_pods_names_canonical_or_not() {
    let w0 = W::new(sts(12, true));
    let r = w0.rev(0);
    let mut w = w0.with_pods(0..12, &r);
    w.pod_mut("web-10").metadata.name = Some("web-010".into());
    w.pod_mut("web-0").metadata.name = Some("web-00".into());
    set_image(&mut w.set, "nginx:2");
    ru(&mut w.set).partition = Some(11);
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["DeletePod web-11"]);
    for n in ["web-00", "web-1", "web-9", "web-010"] {
        assert_eq!(held(&p, n).as_deref(), Some("Partition"), "{n}");
    }
    assert_eq!(p.held.len(), 11);
    let mut w = w.clone();
    ru(&mut w.set).partition = Some(0);
    ru(&mut w.set).max_unavailable = Some(IntOrString::Int(2));
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["DeletePod web-11", "DeletePod web-010"]);
    assert_eq!(held(&p, "web-00").as_deref(), Some("MaxUnavailable"));
}

#[test]
fn asts_35_ordered_update_goes_from_the_highest_ordinal() {
    let mut w = rolled(true, 4);
    ru(&mut w.set).max_unavailable = Some(IntOrString::Int(2));
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["DeletePod web-3", "DeletePod web-2"]);
    assert_eq!(held(&p, "web-1").as_deref(), Some("MaxUnavailable"));
}

#[test]
fn asts_36_37_unordered_update_follows_order_priority() {
    let mut w = rolled(true, 4);
    ru(&mut w.set).unordered_update = Some(UnorderedUpdateStrategy {
        priority_strategy: Some(UpdatePriorityStrategy {
            order_priority: vec![UpdatePriorityOrderTerm { ordered_key: "rank".into() }],
            ..Default::default()
        }),
    });
    for (o, rank) in [(0, "r-9"), (1, "r-1"), (2, "r-5"), (3, "r-2")] {
        w.pod_mut(&format!("web-{o}")).metadata.labels.as_mut().unwrap().insert("rank".into(), rank.into());
    }
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["DeletePod web-0"], "highest trailing number first");
}

#[test]
fn asts_37_pod_without_any_order_key_sorts_first() {
    let mut w = rolled(true, 3);
    ru(&mut w.set).unordered_update = Some(UnorderedUpdateStrategy {
        priority_strategy: Some(UpdatePriorityStrategy {
            order_priority: vec![UpdatePriorityOrderTerm { ordered_key: "rank".into() }],
            ..Default::default()
        }),
    });
    for (o, rank) in [(0, "9"), (2, "5")] {
        w.pod_mut(&format!("web-{o}")).metadata.labels.as_mut().unwrap().insert("rank".into(), rank.into());
    }
    assert_eq!(pod_acts(&w.plan()), vec!["DeletePod web-1"]);
}

fn in_place(mut w: W, policy: &str) -> W {
    ru(&mut w.set).pod_update_policy = Some(policy.into());
    let gate = PodReadinessGate { condition_type: keys::INPLACE_UPDATE_READY.into() };
    for p in w.pods.iter_mut() {
        p.spec.get_or_insert_with(Default::default).readiness_gates = Some(vec![gate.clone()]);
        p.status.as_mut().unwrap().conditions.as_mut().unwrap().push(PodCondition {
            type_: keys::INPLACE_UPDATE_READY.into(),
            status: "True".into(),
            ..Default::default()
        });
    }
    w
}

#[test]
fn asts_40_image_change_is_updated_in_place() {
    let w = in_place(rolled(true, 2), "InPlaceIfPossible");
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["UpdateInPlace web-1"]);
    let a = acts(&p);
    let i = a.iter().position(|x| x == "UpdateInPlace web-1").unwrap();
    assert_eq!(a[i - 1], "UpdatePodStatus web-1", "InPlaceUpdateReady=False first");
    assert_eq!(p.status.current_replicas, 1);
}

#[test]
fn asts_40_non_image_change_recreates_or_holds_with_in_place_only() {
    let mut w = in_place(rolled(true, 2), "InPlaceIfPossible");
    w.set.spec.template.spec.as_mut().unwrap().containers[0].args = Some(vec!["--x".into()]);
    assert_eq!(pod_acts(&w.plan()), vec!["DeletePod web-1"]);
    ru(&mut w.set).pod_update_policy = Some("InPlaceOnly".into());
    let p = w.plan();
    assert!(pod_acts(&p).is_empty());
    assert_eq!(held(&p, "web-1").as_deref(), Some("InPlaceImpossible"));
    assert_eq!(p.status.conditions[0].type_, "FailedUpdatePod");
}

#[test]
fn asts_40_in_place_update_hook_moves_the_pod_to_preparing_update() {
    let mut w = in_place(rolled(true, 1), "InPlaceIfPossible");
    w.set.spec.lifecycle = Some(Lifecycle {
        in_place_update: Some(LifecycleHook {
            labels_handler: [("hold".to_owned(), "yes".to_owned())].into(),
            ..Default::default()
        }),
        ..Default::default()
    });
    w.pod_mut("web-0").metadata.labels.as_mut().unwrap().insert("hold".into(), "yes".into());
    let p = w.plan();
    assert!(pod_acts(&p).is_empty());
    let patch = p.actions.iter().find(|a| a.kind.name() == "PatchPod").unwrap();
    match &patch.kind {
        ActionKind::PatchPod { patch } => {
            assert_eq!(patch.labels.get(keys::LIFECYCLE_STATE), Some(&Some("PreparingUpdate".to_owned())))
        }
        _ => unreachable!(),
    }
}

#[test]
fn asts_41_grace_period_requeues_and_then_finishes() {
    let w0 = in_place(rolled(true, 1), "InPlaceIfPossible");
    let mut w = w0.clone();
    let r2 = w.store_revision();
    ru(&mut w.set).in_place_update_strategy = Some(kruise_api::apps::common::InPlaceUpdateStrategy {
        grace_period_seconds: 30,
        ..Default::default()
    });
    let started = Timestamp::from_second(T0 - 10).unwrap();
    let pod = w.pod_mut("web-0");
    pod.metadata.labels.as_mut().unwrap().insert(keys::CONTROLLER_REVISION_HASH.into(), r2.clone());
    let anns = pod.metadata.annotations.get_or_insert_with(Default::default);
    anns.insert(
        keys::INPLACE_UPDATE_STATE.into(),
        serde_json::json!({"revision": r2, "updateTimestamp": started.to_string(), "lastContainerStatuses": {}}).to_string(),
    );
    anns.insert(
        keys::INPLACE_UPDATE_GRACE.into(),
        serde_json::json!({"revision": r2, "containerImages": {"main": "nginx:2"}}).to_string(),
    );
    let p = w.plan();
    let rq = p.requeue.as_ref().unwrap();
    assert_eq!((rq.after.as_secs(), rq.reason.kind()), (20, "GracePeriod"));
    w.now = Timestamp::from_second(T0 + 20).unwrap();
    assert!(acts(&w.plan()).contains(&"FinishGracePeriod web-0".to_owned()));
}

#[test]
fn asts_41_in_place_ready_condition_set_true() {
    let w0 = W::new(sts(1, true));
    let r = w0.rev(0);
    let mut w = w0.with_pods([0], &r);
    w.pod_mut("web-0").spec.as_mut().unwrap().readiness_gates =
        Some(vec![PodReadinessGate { condition_type: keys::INPLACE_UPDATE_READY.into() }]);
    let p = w.plan();
    let a = p.actions.iter().find(|a| a.kind.name() == "UpdatePodStatus").unwrap();
    assert_eq!(a.reason, Reason::InPlaceReadiness);
}

#[test]
fn asts_43_pre_delete_hook_delays_deletion() {
    let w0 = W::new(sts(2, true));
    let r = w0.rev(0);
    let mut w = w0.with_pods([0, 1], &r);
    w.set.spec.replicas = Some(1);
    w.set.spec.lifecycle = Some(Lifecycle {
        pre_delete: Some(LifecycleHook {
            finalizers_handler: vec!["example.com/drain".into()],
            ..Default::default()
        }),
        ..Default::default()
    });
    w.pod_mut("web-1").metadata.finalizers = Some(vec!["example.com/drain".into()]);
    let p = w.plan();
    assert!(pod_acts(&p).is_empty());
    assert!(acts(&p).contains(&"PatchPod web-1".to_owned()));
    w.pod_mut("web-1")
        .metadata
        .labels
        .as_mut()
        .unwrap()
        .insert(keys::LIFECYCLE_STATE.into(), "PreparingDelete".into());
    let p = w.plan();
    assert!(pod_acts(&p).is_empty());
    assert_eq!(held(&p, "web-1").as_deref(), Some("LifecycleHook"));
    w.pod_mut("web-1").metadata.finalizers = None;
    assert_eq!(pod_acts(&w.plan()), vec!["DeletePod web-1"]);
}

#[test]
fn asts_43_mark_pod_not_ready_with_the_pre_delete_hook() {
    let w0 = W::new(sts(2, true));
    let r = w0.rev(0);
    let mut w = w0.with_pods([0, 1], &r);
    w.set.spec.replicas = Some(1);
    w.set.spec.lifecycle = Some(Lifecycle {
        pre_delete: Some(LifecycleHook {
            finalizers_handler: vec!["example.com/drain".into()],
            mark_pod_not_ready: true,
            ..Default::default()
        }),
        ..Default::default()
    });
    let p1 = w.pod_mut("web-1");
    p1.metadata.finalizers = Some(vec!["example.com/drain".into()]);
    p1.spec.as_mut().unwrap().readiness_gates =
        Some(vec![PodReadinessGate { condition_type: keys::KRUISE_POD_READY.into() }]);
    let p = w.plan();
    let a = p.actions.iter().find(|a| a.kind.name() == "UpdatePodStatus").expect("KruisePodReady written");
    match &a.kind {
        ActionKind::UpdatePodStatus { condition } => {
            assert_eq!(
                (condition.type_.as_str(), condition.status.as_str()),
                (keys::KRUISE_POD_READY, "False")
            )
        }
        _ => unreachable!(),
    }
}

#[test]
fn asts_45_preparing_normal_becomes_normal_when_the_hook_is_satisfied() {
    let mut s = sts(1, true);
    s.spec.lifecycle = Some(Lifecycle {
        pre_normal: Some(LifecycleHook { finalizers_handler: vec!["x/ready".into()], ..Default::default() }),
        ..Default::default()
    });
    let w0 = W::new(s);
    let r = w0.rev(0);
    let mut w = w0.with_pods([0], &r);
    w.pod_mut("web-0")
        .metadata
        .labels
        .as_mut()
        .unwrap()
        .insert(keys::LIFECYCLE_STATE.into(), "PreparingNormal".into());
    assert!(!acts(&w.plan()).contains(&"PatchPod web-0".to_owned()));
    w.pod_mut("web-0").metadata.finalizers = Some(vec!["x/ready".into()]);
    let p = w.plan();
    let a = p.actions.iter().find(|a| a.kind.name() == "PatchPod").unwrap();
    assert_eq!(a.reason.kind(), "Lifecycle");
}

#[test]
fn asts_47_smaller_pvc_is_resized_during_the_update() {
    let mut s = sts(1, true);
    s.spec.volume_claim_templates = vec![vct("data", "1Gi")];
    s.spec.volume_claim_update_strategy.type_ = Some("OnPodRollingUpdate".into());
    let w0 = W::new(s);
    let r = w0.rev(0);
    let mut w = w0.with_pods([0], &r);
    w.gates.stateful_set_auto_resize_pvc = true;
    let mut pvc = vct("data-web-0", "1Gi");
    pvc.status = Some(k8s_openapi::api::core::v1::PersistentVolumeClaimStatus {
        capacity: Some([("storage".to_owned(), Quantity("1Gi".into()))].into()),
        ..Default::default()
    });
    w.pvcs.push(pvc);
    w.set.spec.volume_claim_templates = vec![vct("data", "2Gi")];
    let p = w.plan();
    assert_eq!(p.status.volume_claims[0].compatible_replicas, 0);
    // No StorageClass on the PVC: expansion allowed; the patch and the wait.
    assert!(acts(&p).contains(&"UpdatePvc data-web-0".to_owned()), "{:?}", acts(&p));
    assert_eq!(held(&p, "web-0").as_deref(), Some("PvcResize"));
}

// ---- §12: status -------------------------------------------------------------------------

#[test]
fn asts_48_status_counters() {
    let mut w = rolled(true, 4);
    let r1 = w.rev(0);
    let r2 = w.store_revision();
    w.pods[3] = pod(&w.set, 3, &r2, "Running", true);
    w.pods[2] = pod(&w.set, 2, &r1, "Running", false);
    w.pods[1].metadata.deletion_timestamp = Some(Time(now()));
    w.pods.push(pod(&w.set, 4, &r1, "", false));
    w.set.spec.replicas = Some(5);
    ru(&mut w.set).paused = true; // no update decrements (ASTS-39) in this count
    let p = w.plan();
    let s = &p.status;
    assert_eq!((s.replicas, s.ready_replicas, s.available_replicas), (4, 3, 3));
    assert_eq!((s.current_replicas, s.updated_replicas), (2, 1));
    assert_eq!((s.updated_ready_replicas, s.updated_available_replicas), (1, 1));
    assert_eq!(s.observed_generation, 1);
    assert_eq!(s.label_selector, "app=web");
}

#[test]
fn asts_50_completion_moves_current_revision_and_status_written_only_on_change() {
    let w0 = W::new(sts(2, true));
    let mut w = w0.clone();
    set_image(&mut w.set, "nginx:2");
    let r2 = w.store_revision();
    w = w.with_pods([0, 1], &r2);
    let p = w.plan();
    assert_eq!(p.status.current_revision, r2);
    assert_eq!(p.status.current_replicas, 2);
    assert_eq!(p.count("UpdateStatus"), 1);
    w.set.status = Some(p.status.clone());
    let again = w.plan();
    assert_eq!(again.count("UpdateStatus"), 0, "nothing changed");
}

#[test]
fn asts_49_conditions_keep_their_transition_time() {
    let mut s = sts(1, false);
    s.spec.volume_claim_templates = vec![vct("data", "1Gi")];
    let mut w = W::new(s);
    let mut pvc = vct("data-web-0", "1Gi");
    pvc.metadata.deletion_timestamp = Some(Time(now()));
    w.pvcs.push(pvc);
    let p = w.plan();
    let t = p.status.conditions[0].last_transition_time.clone();
    w.set.status = Some(p.status.clone());
    w.now = Timestamp::from_second(T0 + 60).unwrap();
    assert_eq!(w.plan().status.conditions[0].last_transition_time, t);
    w.pvcs.clear();
    assert!(w.plan().status.conditions.is_empty(), "rebuilt each pass");
}

#[test]
fn asts_51_deleting_set_only_writes_status() {
    let mut w = rolled(true, 2);
    w.set.metadata.deletion_timestamp = Some(Time(now()));
    w.set.spec.replicas = Some(5);
    let p = w.plan();
    assert!(pod_acts(&p).is_empty());
}

#[test]
fn asts_52_requeue_is_the_smallest_wait() {
    let mut s = sts(3, true);
    ru(&mut s).min_ready_seconds = Some(100);
    let w0 = W::new(s);
    let r = w0.rev(0);
    let mut w = w0.with_pods([0, 1, 2], &r);
    for (o, ago) in [(0, 30), (1, 70), (2, 200)] {
        let p = w.pod_mut(&format!("web-{o}"));
        p.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].last_transition_time =
            Some(Time(Timestamp::from_second(T0 - ago).unwrap()));
    }
    set_image(&mut w.set, "nginx:2");
    let rq = w.plan().requeue.unwrap();
    assert_eq!(rq.after.as_secs(), 30);
}

// ---- §13: the worked example ---------------------------------------------------------------

#[test]
fn asts_worked_example_six_replicas_partition_three_max_unavailable_two() {
    let w0 = W::new(sts(6, true));
    let r1 = w0.rev(0);
    let mut w = w0.with_pods(0..6, &r1);
    ru(&mut w.set).partition = Some(3);
    ru(&mut w.set).max_unavailable = Some(IntOrString::Int(2));
    w.set.status.as_mut().unwrap().current_replicas = 6;
    set_image(&mut w.set, "nginx:2");
    // Pass 1.
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["DeletePod web-5", "DeletePod web-4"]);
    assert_eq!(held(&p, "web-3").as_deref(), Some("MaxUnavailable"));
    assert_eq!(held(&p, "web-2").as_deref(), Some("Partition"));
    assert_eq!(
        (p.status.replicas, p.status.ready_replicas, p.status.current_replicas, p.status.updated_replicas),
        (6, 6, 4, 0)
    );
    let r2 = p.status.update_revision.clone();
    assert_eq!(p.status.current_revision, r1);
    w.apply(&p);
    // Pass 2: web-4, web-5 terminating.
    let p = w.plan();
    assert!(pod_acts(&p).is_empty());
    assert_eq!((p.status.replicas, p.status.current_replicas), (6, 4));
    w.apply(&p);
    // Pass 3: gone; both recreated at r2.
    w.remove("web-4");
    w.remove("web-5");
    let p = w.plan();
    let creates: Vec<(String, String)> = p
        .actions
        .iter()
        .filter(|a| a.kind.name() == "CreatePod")
        .map(|a| (a.pod.clone().unwrap(), a.revision.clone().unwrap()))
        .collect();
    assert_eq!(creates, vec![("web-4".into(), r2.clone()), ("web-5".into(), r2.clone())]);
    assert_eq!(pod_acts(&p).len(), 2, "web-3 blocked");
    assert_eq!((p.status.replicas, p.status.current_replicas, p.status.updated_replicas), (4, 4, 0));
    w.apply(&p);
    // Pass 4: web-4 ready, web-5 pending.
    w.ready("web-4");
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["DeletePod web-3"]);
    assert_eq!((p.status.current_replicas, p.status.updated_replicas), (3, 2));
    w.apply(&p);
    // Pass 5: web-3 gone, web-5 ready.
    w.remove("web-3");
    w.ready("web-5");
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["CreatePod web-3"]);
    assert_eq!(
        p.actions.iter().find(|a| a.kind.name() == "CreatePod").unwrap().revision.as_deref(),
        Some(r2.as_str())
    );
    assert_eq!(p.status.updated_replicas, 2);
    w.apply(&p);
    // Pass 6: web-3 ready: nothing; currentRevision stays r1.
    w.ready("web-3");
    let p = w.plan();
    assert!(pod_acts(&p).is_empty());
    assert_eq!((p.status.replicas, p.status.current_replicas, p.status.updated_replicas), (6, 3, 3));
    assert_eq!(p.status.current_revision, r1);
    w.apply(&p);
    // Pass 7: partition 0.
    ru(&mut w.set).partition = Some(0);
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["DeletePod web-2", "DeletePod web-1"]);
    assert_eq!(held(&p, "web-0").as_deref(), Some("MaxUnavailable"));
    // ... and until all six are r2 and ready.
    let mut rounds = 0;
    let mut p = p;
    // Completion can be seen with a pod still missing (status.replicas counts created pods).
    while !(p.status.current_revision == r2 && p.status.current_replicas == 6) {
        w.apply(&p);
        let terminating: Vec<String> = w
            .pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_some())
            .map(|p| p.metadata.name.clone().unwrap())
            .collect();
        for n in terminating {
            w.remove(&n);
        }
        let names: Vec<String> = w.pods.iter().map(|p| p.metadata.name.clone().unwrap()).collect();
        for n in names {
            w.ready(&n);
        }
        p = w.plan();
        rounds += 1;
        assert!(rounds < 10, "converges");
    }
    assert_eq!(p.status.current_replicas, 6);
}

#[test]
fn asts_worked_example_in_place_variant() {
    let w0 = in_place(rolled(true, 6), "InPlaceIfPossible");
    let mut w = w0;
    ru(&mut w.set).partition = Some(3);
    ru(&mut w.set).max_unavailable = Some(IntOrString::Int(2));
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["UpdateInPlace web-5", "UpdateInPlace web-4"]);
    assert_eq!(p.count("DeletePod"), 0);
}

#[test]
fn asts_worked_example_ordered_ready_variant() {
    let mut w = rolled(false, 6);
    ru(&mut w.set).partition = Some(3);
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["DeletePod web-5"]);
}

// ---- upstream bug replays (shared/upstream-bugs.md rows 22-24) --------------------------

#[test]
fn bug_22_unavailable_pod_earlier_in_order_blocks_the_update() {
    let mut w = rolled(true, 3);
    let r1 = w.rev(0);
    w.pods[0] = pod(&w.set, 0, &r1, "Running", false); // crash-looping
    let p = w.plan();
    assert!(pod_acts(&p).is_empty(), "web-2 must not be updated while web-0 is unavailable: {:?}", acts(&p));
    assert_eq!(held(&p, "web-2").as_deref(), Some("MaxUnavailable"));
}

#[test]
fn bug_23_percent_max_unavailable_never_rounds_to_zero() {
    let mut w = rolled(true, 3);
    ru(&mut w.set).max_unavailable = Some(IntOrString::String("20%".into()));
    assert_eq!(pod_acts(&w.plan()), vec!["DeletePod web-2"], "20% of 3 -> 0 -> 1: the rollout moves");
}

#[test]
fn bug_24_partition_counts_from_the_start_ordinal_in_update_and_recreate() {
    let mut s = sts(4, true);
    s.spec.ordinals = Some(StatefulSetOrdinals { start: 2 });
    let mut w = W::new(s);
    w.gates.stateful_set_start_ordinal = true;
    let r1 = w.rev(0);
    w = w.with_pods(2..6, &r1);
    set_image(&mut w.set, "nginx:2");
    ru(&mut w.set).partition = Some(2);
    ru(&mut w.set).max_unavailable = Some(IntOrString::Int(4));
    let p = w.plan();
    assert_eq!(pod_acts(&p), vec!["DeletePod web-5", "DeletePod web-4"], "slots 2,3 kept by partition 2");
    // Recreating slot 3 (a kept slot): current revision; slot 4: update revision.
    w.remove("web-3");
    w.remove("web-4");
    let p = w.plan();
    let revs: Vec<(String, String)> = p
        .actions
        .iter()
        .filter(|a| a.kind.name() == "CreatePod")
        .map(|a| (a.pod.clone().unwrap(), a.revision.clone().unwrap()))
        .collect();
    assert_eq!(revs, vec![("web-3".into(), r1), ("web-4".into(), p.status.update_revision.clone())]);
}

// ---- properties --------------------------------------------------------------------------

mod props {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    struct Case {
        replicas: i32,
        parallel: bool,
        partition: i32,
        max_unavailable: i32,
        reserved: Vec<i32>,
        pods: Vec<(i64, u8, bool, bool)>, // ordinal, phase, ready, new revision
        in_place: bool,
        retain: bool,
    }

    fn case() -> impl Strategy<Value = Case> {
        (
            0..12i32,
            any::<bool>(),
            0..14i32,
            1..5i32,
            proptest::collection::vec(0..15i32, 0..3),
            proptest::collection::vec((0..16i64, 0..4u8, any::<bool>(), any::<bool>()), 0..14),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(replicas, parallel, partition, max_unavailable, reserved, pods, in_place, retain)| Case {
                    replicas,
                    parallel,
                    partition,
                    max_unavailable: if parallel { max_unavailable } else { 1 },
                    reserved,
                    pods,
                    in_place,
                    retain,
                },
            )
    }

    fn world(c: &Case) -> W {
        let mut s = sts(c.replicas, c.parallel);
        s.metadata.name = Some("web".into());
        s.spec.reserve_ordinals = c.reserved.iter().map(|&r| IntOrString::Int(r)).collect();
        s.spec.volume_claim_templates = vec![vct("data", "1Gi")];
        retention(&mut s, if c.retain { "Retain" } else { "Delete" }, "Retain");
        ru(&mut s).partition = Some(c.partition);
        ru(&mut s).max_unavailable = Some(IntOrString::Int(c.max_unavailable));
        if c.in_place {
            ru(&mut s).pod_update_policy = Some("InPlaceIfPossible".into());
        }
        let mut w = W::new(s);
        let r1 = w.rev(0);
        set_image(&mut w.set, "nginx:2");
        let r2 = w.store_revision();
        let mut seen = BTreeSet::new();
        for &(o, phase, ready, new) in &c.pods {
            if !seen.insert(o) {
                continue;
            }
            let phase = ["Running", "Pending", "Failed", ""][phase as usize];
            w.pods.push(pod(&w.set, o, if new { &r2 } else { &r1 }, phase, ready && phase == "Running"));
            w.pvcs.push(vct(&format!("data-web-{o}"), "1Gi"));
        }
        w
    }

    /// Unavailable replicas after the plan's deletes and in-place updates land.
    fn unavailable_after(w: &W, p: &Plan) -> usize {
        let touched: BTreeSet<&str> = p
            .actions
            .iter()
            .filter(|a| matches!(a.kind.name(), "DeletePod" | "UpdateInPlace"))
            .filter_map(|a| a.pod.as_deref())
            .collect();
        let range = ReplicaRange::new(0, i64::from(w.set.spec.replicas.unwrap()), &w.set.reserved_ordinals());
        range
            .slots()
            .filter(|o| {
                let n = format!("web-{o}");
                match w.pods.iter().find(|p| p.metadata.name.as_deref() == Some(n.as_str())) {
                    None => true,
                    Some(p) => touched.contains(n.as_str()) || !PodFacts::of(p).healthy(),
                }
            })
            .count()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Every action of a plan becomes its writes: the writer never meets an action it
        /// cannot build (an error would name it; nothing is skipped).
        #[test]
        fn asts_prop_every_action_materialises(c in case()) {
            let w = world(&c);
            let p = w.plan();
            let built = super::super::reconcile::writes(&w.input(), &p);
            prop_assert!(built.is_ok(), "{:?}", built.err());
        }

        /// Determinism: planning the same input twice gives the same plan.
        #[test]
        fn asts_prop_same_input_same_plan(c in case()) {
            let w = world(&c);
            prop_assert_eq!(w.plan(), w.plan());
        }

        /// The order the adapter lists pods in does not matter.
        #[test]
        fn asts_prop_pod_order_does_not_matter(c in case()) {
            let w = world(&c);
            let mut r = w.clone();
            r.pods.reverse();
            prop_assert_eq!(w.plan(), r.plan());
        }

        /// Never a PVC deleted (whatever the retention policy: deletion is the GC's job),
        /// never two creates for one ordinal, never a create on a reserved or out-of-range
        /// ordinal or next to a live pod of that ordinal.
        #[test]
        fn asts_prop_identity_and_pvc_safety(c in case()) {
            let w = world(&c);
            let p = w.plan();
            prop_assert_eq!(p.count("DeletePvc"), 0);
            let range = ReplicaRange::new(0, i64::from(c.replicas), &w.set.reserved_ordinals());
            let mut created = BTreeSet::new();
            for a in p.actions.iter().filter(|a| a.kind.name() == "CreatePod") {
                let n = a.pod.clone().unwrap();
                let (_, o) = parse_ordinal(&n);
                prop_assert!(range.is_slot(i64::from(o)), "{} outside the slots", n);
                prop_assert!(created.insert(n.clone()), "{} created twice", n);
                prop_assert!(!w.pods.iter().any(|x| x.metadata.name.as_deref() == Some(n.as_str())), "{} exists", n);
            }
        }

        /// Partition respected: pods in the first `partition` slots are never updated, and
        /// the rolling update never takes unavailability above the limit (beyond what was
        /// unavailable already).
        #[test]
        fn asts_prop_partition_and_max_unavailable(c in case()) {
            let w = world(&c);
            let p = w.plan();
            let range = ReplicaRange::new(0, i64::from(c.replicas), &w.set.reserved_ordinals());
            let kept: BTreeSet<String> = range.slots().take(c.partition.max(0) as usize).map(|o| format!("web-{o}")).collect();
            for a in &p.actions {
                if a.reason.kind() == "Update" {
                    prop_assert!(!kept.contains(a.pod.as_deref().unwrap_or_default()), "{:?} inside the partition", a);
                }
            }
            let before = unavailable_after(&w, &Plan::default());
            let after = unavailable_after(&w, &p);
            let limit = usize::try_from(c.max_unavailable).unwrap();
            prop_assert!(after <= before.max(limit), "unavailable {} (before {}), limit {}", after, before, limit);
        }

        /// After the condemned loop finishes (repeated passes with deletes carried out), no
        /// pod is left outside the replica range.
        #[test]
        fn asts_prop_condemned_loop_empties_the_outside(c in case()) {
            let mut w = world(&c);
            for _ in 0..40 {
                let p = w.plan();
                w.apply(&p);
                let gone: Vec<String> = w.pods.iter().filter(|p| p.metadata.deletion_timestamp.is_some()).map(|p| p.metadata.name.clone().unwrap()).collect();
                for n in gone { w.remove(&n); }
                let names: Vec<String> = w.pods.iter().map(|p| p.metadata.name.clone().unwrap()).collect();
                for n in names { w.ready(&n); }
                w.pvcs.retain(|_| true);
            }
            let range = ReplicaRange::new(0, i64::from(c.replicas), &w.set.reserved_ordinals());
            for p in &w.pods {
                let (_, o) = parse_ordinal(p.metadata.name.as_deref().unwrap());
                prop_assert!(range.is_slot(i64::from(o)), "{:?} left outside", p.metadata.name);
            }
            let live: BTreeSet<&str> = w.pods.iter().filter_map(|p| p.metadata.name.as_deref()).collect();
            prop_assert_eq!(live.len(), w.pods.len(), "never two live pods with one name");
        }

        /// Garbage never panics: any replicas, reserve strings, names and percents give a plan
        /// or a clear error.
        #[test]
        fn asts_prop_garbage_never_panics(
            replicas in any::<i32>(),
            reserve in proptest::collection::vec("[0-9a-zé-]{0,6}", 0..3),
            names in proptest::collection::vec("[a-zé0-9-]{0,8}", 0..6),
            mu in "[0-9%a-z]{0,4}",
            start in any::<i32>(),
        ) {
            let mut s = sts(replicas, true);
            s.spec.reserve_ordinals = reserve.into_iter().map(IntOrString::String).collect();
            ru(&mut s).max_unavailable = Some(IntOrString::String(mu));
            s.spec.ordinals = Some(StatefulSetOrdinals { start });
            let mut w = W { set: s, ..W::new(sts(1, true)) };
            w.gates.stateful_set_start_ordinal = true;
            for n in names {
                let mut p = pod(&w.set, 0, "x", "Running", true);
                p.metadata.name = Some(n);
                w.pods.push(p);
            }
            let _ = plan(&w.input());
        }
    }
}

/// ASTS-11 (fuzz finding, `statefulset_plan`): two listed pods with one name (a hand-made pod
/// list; the API server keeps names unique) plan alike in either order: the pod that keeps the
/// slot is chosen by content, not by list position.
#[test]
fn asts_11_pods_with_one_name_plan_alike_in_any_order() {
    let mut w = W::new(sts(3, true));
    let r = w.rev(0);
    w = w.with_pods(0..3, &r);
    let mut twin = pod(&w.set, 1, &r, "Pending", false);
    twin.metadata
        .labels
        .get_or_insert_with(Default::default)
        .insert(keys::LIFECYCLE_STATE.into(), "PreparingUpdate".into());
    w.pods.push(twin);
    let a = plan(&w.input()).unwrap();
    w.pods.reverse();
    let b = plan(&w.input()).unwrap();
    assert_eq!(a, b, "list order changed the plan");
}

/// Unused-import guard for the fixtures above.
#[allow(dead_code)]
fn _types(_: StatefulSetStatus) {}

/// IPJ-40..IPJ-42 for the Advanced StatefulSet: a 6-replica in-place set moved to nginx:2.
fn predownload_rollout() -> (StatefulSet, Vec<ControllerRevision>) {
    let mut s = sts(6, true);
    ru(&mut s).pod_update_policy = Some("InPlaceIfPossible".into());
    let r1 = revision::resolve(&s, &[]);
    let r1 = r1.sorted[r1.update].clone();
    set_image(&mut s, "nginx:2");
    let r2 = revision::resolve(&s, std::slice::from_ref(&r1));
    let r2 = r2.sorted[r2.update].clone();
    let st = s.status.get_or_insert_with(Default::default);
    st.current_revision = r1.metadata.name.clone().unwrap();
    st.update_revision = r2.metadata.name.clone().unwrap();
    (s, vec![r1, r2])
}

fn predownload_actions(s: &StatefulSet, revs: &[ControllerRevision], gate: bool) -> Vec<&'static str> {
    let e = Expectations::default();
    let features =
        crate::features::Features { pre_download_image_for_in_place_update: gate, ..Default::default() };
    let input = Input {
        statefulset: s,
        pods: (&[] as &[Pod]).into(),
        pvcs: &[],
        revisions: revs,
        storage_classes: &[],
        now: now(),
        features,
        gates: (&features).into(),
        expectations: &e,
    };
    predownload::actions(&input, &[]).iter().map(|a| a.kind.name()).collect()
}

#[test]
fn ipj_40_41_statefulset_predownload_behind_the_gate_with_skip_conditions() {
    let (s, revs) = predownload_rollout();
    assert!(predownload_actions(&s, &revs, false).is_empty(), "gate off: nothing");
    assert_eq!(predownload_actions(&s, &revs, true), ["CreateImagePullJob", "LabelPreDownloadRevision"]);
    // Annotation settings: min updated ready pods (50% of 6 = 3) not reached yet.
    let mut waiting = s.clone();
    waiting
        .metadata
        .annotations
        .get_or_insert_default()
        .insert(keys::IMAGE_PREDOWNLOAD_MIN_UPDATED_READY_PODS.into(), "50%".into());
    assert!(predownload_actions(&waiting, &revs, true).is_empty());
    waiting.status.as_mut().unwrap().updated_ready_replicas = 3;
    assert_eq!(predownload_actions(&waiting, &revs, true)[0], "CreateImagePullJob");
    // Skip conditions: OnDelete, ReCreate, replicas <= 3: labelled ignored.
    let mut on_delete = s.clone();
    on_delete.spec.update_strategy.type_ = Some("OnDelete".into());
    let mut recreate = s.clone();
    ru(&mut recreate).pod_update_policy = Some("ReCreate".into());
    let mut small = s.clone();
    small.spec.replicas = Some(3);
    for x in [on_delete, recreate, small] {
        assert_eq!(predownload_actions(&x, &revs, true), ["LabelPreDownloadRevision"]);
    }
    // Revisions agree: nothing to create (no jobs to delete either).
    let mut done = s.clone();
    let update = revs[1].metadata.name.clone().unwrap();
    done.status.as_mut().unwrap().current_revision = update;
    assert!(predownload_actions(&done, &revs, true).is_empty());
}

#[test]
fn ipj_40_statefulset_reconciler_writes_the_job_after_the_plan() {
    let (s, revs) = predownload_rollout();
    let world = crate::reconciler::World::new(&s).with_revisions(&revs);
    let e = Expectations::default();
    let features =
        crate::features::Features { pre_download_image_for_in_place_update: true, ..Default::default() };
    let ctx = crate::reconciler::Context { now: now(), id_seed: 0, features, expectations: &e };
    use crate::reconciler::Reconciler;
    let out = StatefulSetReconciler.reconcile(&world, &ctx).unwrap();
    let creates: Vec<_> = out
        .writes
        .iter()
        .filter(|w| matches!(&w.write, crate::write::ApiWrite::Create { target, .. } if target.kind == "ImagePullJob"))
        .collect();
    assert_eq!(creates.len(), 1);
    assert!(matches!(
        &out.writes.last().unwrap().write,
        crate::write::ApiWrite::MergePatch { target, .. } if target.kind == "ControllerRevision"
    ));
    assert_eq!(StatefulSetReconciler.related_kinds()[0].kind, "ImagePullJob");
}
