//! Pod predicates (ASTS-3, ASTS-4, ASTS-46), read once per pod into [`PodFacts`], and the
//! construction of a new pod for an ordinal (ASTS-15).

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{PersistentVolumeClaimVolumeSource, Pod, PodTemplateSpec, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kruise_api::apps::common::Lifecycle;
use kruise_api::apps::v1beta1::StatefulSet;
use kruise_api::keys;

use crate::availability::{Boundary, lifecycle_ok, min_ready_remaining, ready_long_enough};
use crate::lifecycle::{State, all_hooked};
use crate::podtable::{Facts, Phase};

/// What the StatefulSet rules read from one pod, computed once (ASTS-3): from the pod itself
/// ([`PodFacts::of`]) or from the row a [`PodTable`](crate::podtable::PodTable) keeps for it,
/// both through the shared per-pod facts, so the two input forms read the same values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodFacts<'a> {
    /// The pod's name.
    pub name: &'a str,
    /// `controller-revision-hash` (or `""`).
    pub revision: &'a str,
    /// *created*: `status.phase` is not empty.
    pub created: bool,
    /// *terminating*: has a deletionTimestamp.
    pub terminating: bool,
    /// Phase `Failed`.
    pub failed: bool,
    /// Phase `Succeeded`.
    pub succeeded: bool,
    /// Phase `Pending`.
    pub pending: bool,
    /// *runningAndReady*: phase `Running` and condition `Ready=True`.
    pub running_ready: bool,
    /// `lastTransitionTime` of the Ready condition.
    pub ready_since: Option<Timestamp>,
    /// Lifecycle state (ASTS-2).
    pub state: State,
    /// Carries `apps.kruise.io/specified-delete` (ASTS-34).
    pub specified_delete: bool,
    /// The few other shared per-pod facts the rules read (in-place annotations and gate,
    /// identity labels), so later steps touch the pod only when those say there is something
    /// to read.
    pub(crate) raw: Raw,
}

/// The part of the shared per-pod [`Facts`] that [`PodFacts`] carries besides its own fields:
/// only what the StatefulSet rules read, so a plan's per-member records stay small (a plan
/// walks them several times; at 100k pods their size decides whether they stay in cache).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Raw {
    /// ASTS-16: the `apps.kubernetes.io/pod-index` label as a canonical decimal, else -1.
    pub pod_index_label: i64,
    /// Carries the in-place grace annotation (either key).
    pub has_grace: bool,
    /// Carries the in-place state annotation (either key).
    pub has_state: bool,
    /// The pod has the readiness gate `InPlaceUpdateReady`.
    pub inplace_gate: bool,
    /// A condition `InPlaceUpdateReady` is present.
    pub inplace_ready_present: bool,
    /// `InPlaceUpdateReady` absent or True.
    pub inplace_ready_ok: bool,
    /// ASTS-16: the label `statefulset.kubernetes.io/pod-name` equals the pod's name.
    pub pod_name_label_ok: bool,
}

impl From<&Facts> for Raw {
    fn from(f: &Facts) -> Self {
        Self {
            pod_index_label: f.pod_index_label,
            has_grace: f.has_grace,
            has_state: f.has_state,
            inplace_gate: f.inplace_gate,
            inplace_ready_present: f.inplace_ready_present,
            inplace_ready_ok: f.inplace_ready_ok,
            pod_name_label_ok: f.pod_name_label_ok,
        }
    }
}

impl<'a> PodFacts<'a> {
    /// One pass over the pod's labels, annotations and conditions.
    pub fn of(pod: &'a Pod) -> Self {
        let s = Facts::scan(pod);
        Self::from_facts(&s.facts, s.name, s.revision)
    }

    /// From the shared facts of a pod named `name` labelled `revision`. O(1).
    pub(crate) fn from_facts(f: &Facts, name: &'a str, revision: &'a str) -> Self {
        Self {
            name,
            revision,
            created: f.phase != Phase::Empty,
            terminating: f.terminating,
            failed: f.phase == Phase::Failed,
            succeeded: f.phase == Phase::Succeeded,
            pending: f.phase == Phase::Pending,
            running_ready: f.phase == Phase::Running && f.ready,
            ready_since: f.ready_since,
            state: f.state,
            specified_delete: f.specified_label,
            raw: Raw::from(f),
        }
    }

    /// ASTS-41: the pod may carry an in-place grace or state annotation (else it has none).
    pub(crate) fn in_place_annotated(&self) -> bool {
        self.raw.has_grace || self.raw.has_state
    }

    /// The readiness gate `InPlaceUpdateReady` is set and that condition is not `True`.
    pub(crate) fn in_place_gate_open(&self) -> bool {
        self.raw.inplace_gate && !(self.raw.inplace_ready_present && self.raw.inplace_ready_ok)
    }

    /// ASTS-3 *lifecycleOK*: no lifecycle state, or `Normal` (ASTS-46).
    pub fn lifecycle_ok(&self) -> bool {
        lifecycle_ok(self.state)
    }

    /// ASTS-3 *healthy*: lifecycleOK, runningAndReady and not terminating.
    pub fn healthy(&self) -> bool {
        self.lifecycle_ok() && self.running_ready && !self.terminating
    }

    /// ASTS-3 *available(minReadySeconds)*: `Ok(())` when available, `Err(Some(wait))` when
    /// ready but still inside `minReadySeconds` (inclusive boundary: available at exactly
    /// `lastTransitionTime + minReadySeconds`), `Err(None)` when not ready at all. The shared
    /// [`crate::availability`] predicates with [`Boundary::Inclusive`].
    pub fn available(&self, min_ready_seconds: i32, now: Timestamp) -> Result<(), Option<Duration>> {
        if !(self.lifecycle_ok() && self.running_ready) {
            return Err(None);
        }
        if ready_long_enough(self.ready_since, min_ready_seconds, now, Boundary::Inclusive) {
            return Ok(());
        }
        Err(Some(min_ready_remaining(self.ready_since, min_ready_seconds, now)).filter(|d| !d.is_zero()))
    }

    /// [`PodFacts::available`] as a boolean.
    pub fn is_available(&self, min_ready_seconds: i32, now: Timestamp) -> bool {
        self.available(min_ready_seconds, now).is_ok()
    }
}

/// One member pod as a plan keeps it: the [`PodFacts`] the rules read, packed into 24 bytes
/// (a plan walks its members several times; at 100k pods a small record is what keeps those
/// walks and the plan's fresh memory small). The name and revision are not copied: the name
/// is the pod's (or, when canonical, written from the set name and the ordinal), the revision
/// an id into the plan's few distinct revisions. Availability against the plan's
/// `minReadySeconds` and `now` is decided once; the wait of a pod still inside
/// `minReadySeconds` is read again from the pod when asked for (rare).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Member<'a> {
    /// The pod.
    pub pod: &'a Pod,
    /// ASTS-10: its ordinal.
    pub ordinal: i32,
    /// Its `controller-revision-hash`, as an id into the plan's revision names.
    pub rev: u32,
    flags: u16,
    /// Lifecycle state (ASTS-2).
    pub state: State,
    avail: Avail,
}

/// ASTS-3 *available(minReadySeconds)* at the plan's `now`, decided once per member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Avail {
    Yes,
    NotReady,
    Waiting,
}

/// The flags of a [`Member`], one bit each.
mod flag {
    pub const CREATED: u16 = 1;
    pub const TERMINATING: u16 = 1 << 1;
    pub const FAILED: u16 = 1 << 2;
    pub const SUCCEEDED: u16 = 1 << 3;
    pub const PENDING: u16 = 1 << 4;
    pub const RUNNING_READY: u16 = 1 << 5;
    pub const SPECIFIED_DELETE: u16 = 1 << 6;
    pub const IN_PLACE_ANNOTATED: u16 = 1 << 7;
    pub const IN_PLACE_GATE: u16 = 1 << 8;
    pub const IN_PLACE_GATE_OPEN: u16 = 1 << 9;
    pub const POD_NAME_LABEL_OK: u16 = 1 << 10;
    pub const POD_INDEX_LABEL_OK: u16 = 1 << 11;
    pub const CANONICAL: u16 = 1 << 12;
    pub const ADOPT: u16 = 1 << 13;
    pub const RELEASE: u16 = 1 << 14;
}

impl<'a> Member<'a> {
    /// Packs the facts `f` of `pod`, member of ordinal `ordinal` (`canonical`: named exactly
    /// `<set>-<ordinal>`), its revision id `rev`, availability judged against `min_ready`
    /// seconds at `now`.
    pub fn new(
        pod: &'a Pod,
        ordinal: i32,
        f: &PodFacts<'_>,
        rev: u32,
        canonical: bool,
        min_ready: i32,
        now: Timestamp,
    ) -> Self {
        let bits = [
            (f.created, flag::CREATED),
            (f.terminating, flag::TERMINATING),
            (f.failed, flag::FAILED),
            (f.succeeded, flag::SUCCEEDED),
            (f.pending, flag::PENDING),
            (f.running_ready, flag::RUNNING_READY),
            (f.specified_delete, flag::SPECIFIED_DELETE),
            (f.in_place_annotated(), flag::IN_PLACE_ANNOTATED),
            (f.raw.inplace_gate, flag::IN_PLACE_GATE),
            (f.in_place_gate_open(), flag::IN_PLACE_GATE_OPEN),
            (f.raw.pod_name_label_ok, flag::POD_NAME_LABEL_OK),
            (f.raw.pod_index_label == i64::from(ordinal), flag::POD_INDEX_LABEL_OK),
            (canonical, flag::CANONICAL),
        ];
        let flags = bits.iter().filter(|(on, _)| *on).fold(0, |a, (_, b)| a | b);
        let avail = match f.available(min_ready, now) {
            Ok(()) => Avail::Yes,
            Err(None) => Avail::NotReady,
            Err(Some(_)) => Avail::Waiting,
        };
        Self { pod, ordinal, rev, flags, state: f.state, avail }
    }

    fn on(&self, f: u16) -> bool {
        self.flags & f != 0
    }
    /// ASTS-11: the same record, marked as a pod to adopt before it counts as a member.
    pub(crate) fn to_adopt(mut self) -> Self {
        self.flags |= flag::ADOPT;
        self
    }
    /// ASTS-11: the same record, marked as a pod to release (never a member; its revision id
    /// is not read).
    pub(crate) fn to_release(mut self) -> Self {
        self.flags |= flag::RELEASE;
        self
    }
    /// Marked by [`to_adopt`](Self::to_adopt).
    pub(crate) fn adopt(&self) -> bool {
        self.on(flag::ADOPT)
    }
    /// Marked by [`to_release`](Self::to_release).
    pub(crate) fn release(&self) -> bool {
        self.on(flag::RELEASE)
    }
    /// *created*: `status.phase` is not empty.
    pub fn created(&self) -> bool {
        self.on(flag::CREATED)
    }
    /// *terminating*: has a deletionTimestamp.
    pub fn terminating(&self) -> bool {
        self.on(flag::TERMINATING)
    }
    /// Phase `Failed`.
    pub fn failed(&self) -> bool {
        self.on(flag::FAILED)
    }
    /// Phase `Succeeded`.
    pub fn succeeded(&self) -> bool {
        self.on(flag::SUCCEEDED)
    }
    /// Phase `Pending`.
    pub fn pending(&self) -> bool {
        self.on(flag::PENDING)
    }
    /// *runningAndReady*.
    pub fn running_ready(&self) -> bool {
        self.on(flag::RUNNING_READY)
    }
    /// Carries `apps.kruise.io/specified-delete` (ASTS-34).
    pub fn specified_delete(&self) -> bool {
        self.on(flag::SPECIFIED_DELETE)
    }
    /// [`PodFacts::in_place_annotated`].
    pub fn in_place_annotated(&self) -> bool {
        self.on(flag::IN_PLACE_ANNOTATED)
    }
    /// The pod has the readiness gate `InPlaceUpdateReady`.
    pub fn in_place_gate(&self) -> bool {
        self.on(flag::IN_PLACE_GATE)
    }
    /// [`PodFacts::in_place_gate_open`].
    pub fn in_place_gate_open(&self) -> bool {
        self.on(flag::IN_PLACE_GATE_OPEN)
    }
    /// ASTS-16: the `statefulset.kubernetes.io/pod-name` label equals the pod's name.
    pub fn pod_name_label_ok(&self) -> bool {
        self.on(flag::POD_NAME_LABEL_OK)
    }
    /// ASTS-16: the `apps.kubernetes.io/pod-index` label is the member's ordinal.
    pub fn pod_index_label_ok(&self) -> bool {
        self.on(flag::POD_INDEX_LABEL_OK)
    }
    /// Named exactly `<set>-<ordinal>`.
    pub fn canonical(&self) -> bool {
        self.on(flag::CANONICAL)
    }
    /// ASTS-3 *healthy*: lifecycleOK, runningAndReady and not terminating.
    pub fn healthy(&self) -> bool {
        lifecycle_ok(self.state) && self.running_ready() && !self.terminating()
    }
    /// [`PodFacts::available`] at the plan's `min_ready` and `now` (the values given to
    /// [`Member::new`]).
    pub fn available(&self, min_ready: i32, now: Timestamp) -> Result<(), Option<Duration>> {
        match self.avail {
            Avail::Yes => Ok(()),
            Avail::NotReady => Err(None),
            Avail::Waiting => PodFacts::of(self.pod).available(min_ready, now),
        }
    }
    /// Available now.
    pub fn is_available(&self) -> bool {
        self.avail == Avail::Yes
    }
    /// The pod's name.
    pub fn name(&self) -> &'a str {
        self.pod.metadata.name.as_deref().unwrap_or_default()
    }
}

/// ASTS-15 `pod-index` and `pod-name` labels, `controller-revision-hash`, the owner reference,
/// hostname/subdomain, the lifecycle state and the claim volumes of a new pod for ordinal `o`
/// built from `template` (the chosen revision's template) and labelled `revision`.
pub fn new_pod(
    set: &StatefulSet,
    template: &PodTemplateSpec,
    o: i64,
    revision: &str,
    pod_index_label: bool,
    now: Timestamp,
) -> Pod {
    let set_name = set.metadata.name.as_deref().unwrap_or_default();
    let name = super::ordinals::pod_name(set_name, o);
    let tmeta = template.metadata.clone().unwrap_or_default();
    let mut labels = tmeta.labels.unwrap_or_default();
    labels.insert(keys::STATEFULSET_POD_NAME.into(), name.clone());
    if pod_index_label {
        labels.insert(keys::POD_INDEX.into(), o.to_string());
    }
    labels.insert(keys::CONTROLLER_REVISION_HASH.into(), revision.to_owned());
    let mut annotations = tmeta.annotations.unwrap_or_default();
    let mut spec = template.spec.clone().unwrap_or_default();
    spec.hostname = Some(name.clone());
    if !set.spec.service_name.is_empty() {
        spec.subdomain = Some(set.spec.service_name.clone());
    }
    // Claim volumes first, replacing template volumes of the same name; the rest after them.
    let claims = &set.spec.volume_claim_templates;
    let mut volumes: Vec<Volume> = claims
        .iter()
        .map(|t| {
            let tname = t.metadata.name.clone().unwrap_or_default();
            Volume {
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: super::pvc::pvc_name(&tname, set_name, o),
                    read_only: None,
                }),
                name: tname,
                ..Default::default()
            }
        })
        .collect();
    for v in spec.volumes.take().unwrap_or_default() {
        if !claims.iter().any(|t| t.metadata.name.as_deref() == Some(v.name.as_str())) {
            volumes.push(v);
        }
    }
    spec.volumes = (!volumes.is_empty()).then_some(volumes);
    let mut pod = Pod {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: set.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: None,
            finalizers: tmeta.finalizers,
            owner_references: Some(vec![set_owner_ref(set)]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    };
    // ASTS-15: Normal unless a preNormal hook is not yet fully satisfied (ASTS-44).
    let pre_normal = set.spec.lifecycle.as_ref().and_then(|l: &Lifecycle| l.pre_normal.as_ref());
    let state = if pre_normal.is_none() || all_hooked(pre_normal, &pod) {
        keys::lifecycle_state::NORMAL
    } else {
        annotations.insert(keys::LIFECYCLE_TIMESTAMP.into(), now.to_string());
        keys::lifecycle_state::PREPARING_NORMAL
    };
    if let Some(l) = pod.metadata.labels.as_mut() {
        l.insert(keys::LIFECYCLE_STATE.into(), state.into());
    }
    pod.metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    pod
}

/// ASTS-15: the controller owner reference of a pod (or revision) to its set.
pub fn set_owner_ref(set: &StatefulSet) -> OwnerReference {
    OwnerReference {
        api_version: "apps.kruise.io/v1beta1".into(),
        kind: "StatefulSet".into(),
        name: set.metadata.name.clone().unwrap_or_default(),
        uid: set.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn pod(phase: &str, ready: bool, since: Option<i64>) -> Pod {
        Pod {
            metadata: ObjectMeta { name: Some("web-0".into()), ..Default::default() },
            spec: None,
            status: Some(PodStatus {
                phase: (!phase.is_empty()).then(|| phase.to_owned()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    last_transition_time: since.map(|s| Time(Timestamp::from_second(s).unwrap())),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn asts_3_pod_predicates() {
        let p = pod("Running", true, Some(0));
        let f = PodFacts::of(&p);
        assert!(f.created && f.running_ready && f.healthy());
        let p = pod("", false, None);
        assert!(!PodFacts::of(&p).created);
        let p = pod("Pending", true, None);
        let f = PodFacts::of(&p);
        assert!(f.pending && !f.running_ready && !f.healthy());
        let mut p = pod("Running", true, Some(0));
        p.metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        let f = PodFacts::of(&p);
        assert!(f.terminating && !f.healthy());
        assert!(f.is_available(0, Timestamp::UNIX_EPOCH), "availability ignores terminating");
    }

    #[test]
    fn asts_3_available_boundary_is_inclusive() {
        let p = pod("Running", true, Some(100));
        let f = PodFacts::of(&p);
        let at = |s| Timestamp::from_second(s).unwrap();
        assert_eq!(f.available(10, at(110)), Ok(()));
        assert_eq!(f.available(10, at(109)), Err(Some(Duration::from_secs(1))));
        let no_time = pod("Running", true, None);
        assert_eq!(PodFacts::of(&no_time).available(10, at(0)), Err(Some(Duration::from_secs(10))));
        assert_eq!(PodFacts::of(&pod("Running", false, Some(0))).available(0, at(0)), Err(None));
    }

    #[test]
    fn asts_46_lifecycle_states_make_pods_unavailable() {
        let mut p = pod("Running", true, Some(0));
        p.metadata.labels = Some([(keys::LIFECYCLE_STATE.to_owned(), "PreparingNormal".to_owned())].into());
        let f = PodFacts::of(&p);
        assert!(!f.healthy() && !f.is_available(0, Timestamp::UNIX_EPOCH));
        p.metadata.labels = Some([(keys::LIFECYCLE_STATE.to_owned(), "Normal".to_owned())].into());
        assert!(PodFacts::of(&p).healthy());
    }
}
