//! The Advanced StatefulSet planner (spec `statefulset.md`, rules ASTS-1..ASTS-53): [`plan`]
//! turns a StatefulSet, its pods, PVCs and revisions, `now`, gates and pending expectations
//! into a [`Plan`].
//!
//! One pass follows ASTS-24: revisions (ASTS-21..ASTS-23), the split of pods into replica
//! slots and condemned pods (ASTS-10..ASTS-14), the replica loop in ascending ordinal
//! (ASTS-25..ASTS-28, with PVCs ASTS-17..ASTS-20 and identity repair ASTS-16), the condemned
//! loop in descending ordinal (ASTS-29), the rolling update (ASTS-30..ASTS-42, lifecycle
//! ASTS-43..ASTS-46, PVC resize ASTS-47), status (ASTS-48..ASTS-50), history and requeue
//! (ASTS-23, ASTS-52). "Monotonic" is `podManagementPolicy: OrderedReady`, "burst" is
//! `Parallel`. Decisions on the spec's open questions (§14) are in `docs/deviations.md`.
//!
//! Cost: O(pods + replicas + reserved ranges) plus O(c log c) for the c update candidates of
//! an unordered update; revision diffs are computed once per (from, to) revision pair.

pub mod ordinals;
pub mod pods;
pub mod predownload;
pub mod pvc;
pub mod reconcile;
pub mod revision;
mod update;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSetCondition};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kruise_api::apps::common::{LifecycleHook, UpdatePriorityStrategy};
use kruise_api::apps::v1beta1::{
    PodUpdatePolicy, ReservedOrdinals, StatefulSet, StatefulSetStatus, VolumeClaimStatus,
    pod_management_policy, statefulset_update_strategy_type, volume_claim_update_strategy_type,
};
use kruise_api::keys;

use crate::expectations::Expectations;
use crate::features::Features;
use crate::lifecycle::{State, hooked, lifecycle_patch, mark_not_ready};
use crate::plan::{Action, ActionKind, Held, PlanError, PodPatch, Reason, StatefulSetReason as R};
use crate::podtable::info::{revision_matches_short, short_hash};
use crate::revision::{RevisionWrite, Revisions};
use kruise_api::selector::Selector;

pub use crate::podtable::{PodTable, Pods, UnnamedPod};
pub use ordinals::{ReplicaRange, parse_ordinal, pod_name};
use pods::Member;
pub use pods::{PodFacts, new_pod, set_owner_ref};
pub use pvc::{new_pvc, pvc_name};
pub use reconcile::StatefulSetReconciler;

/// The plan of one StatefulSet pass: the shared plan shape with the StatefulSet status.
pub type Plan = crate::plan::Plan<StatefulSetStatus>;

/// The most replicas one plan handles: a pass lists every replica slot, so an absurd
/// `spec.replicas` is refused with an error instead of exhausting memory.
pub const MAX_REPLICAS: i32 = 1_000_000;

/// StatefulSet feature gates (ASTS-1) not in the shared [`Features`], with upstream's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Gates {
    /// `StatefulSetStartOrdinal` (off): `spec.ordinals.start` is read.
    pub stateful_set_start_ordinal: bool,
    /// `StatefulSetAutoDeletePVC` (on): the PVC retention policy is applied (ASTS-19, ASTS-20).
    pub stateful_set_auto_delete_pvc: bool,
    /// `StatefulSetAutoResizePVCGate` (off): `volumeClaimUpdateStrategy` is applied (ASTS-47).
    pub stateful_set_auto_resize_pvc: bool,
    /// `PodIndexLabel` (on): new pods get `apps.kubernetes.io/pod-index` (ASTS-15).
    pub pod_index_label: bool,
}

impl Default for Gates {
    fn default() -> Self {
        Self {
            stateful_set_start_ordinal: false,
            stateful_set_auto_delete_pvc: true,
            stateful_set_auto_resize_pvc: false,
            pod_index_label: true,
        }
    }
}

impl From<&crate::features::Features> for Gates {
    /// The StatefulSet gates as set in `f` (the operator's and `kruise plan`'s
    /// `--feature-gates`, upstream's names).
    fn from(f: &crate::features::Features) -> Self {
        Self {
            stateful_set_start_ordinal: f.stateful_set_start_ordinal,
            stateful_set_auto_delete_pvc: f.stateful_set_auto_delete_pvc,
            stateful_set_auto_resize_pvc: f.stateful_set_auto_resize_pvc,
            pod_index_label: f.pod_index_label,
        }
    }
}

/// Everything the StatefulSet planner may look at.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The set as stored (v1beta1; a v1alpha1 object is converted first). Webhook defaults
    /// that are missing are applied by the planner (ASTS-7).
    pub statefulset: &'a StatefulSet,
    /// Pods owned by the set or matching its selector, terminating ones included: a slice
    /// (each pod's facts read once per plan) or a [`PodTable`] kept by the adapter (facts read
    /// once per pod version). Both give the same plan.
    pub pods: Pods<'a>,
    /// PVCs of the set's claim templates (any owner).
    pub pvcs: &'a [PersistentVolumeClaim],
    /// ControllerRevisions owned by the set.
    pub revisions: &'a [ControllerRevision],
    /// StorageClasses, read only by the PVC resize (ASTS-47). May be empty.
    pub storage_classes: &'a [StorageClass],
    /// The only clock.
    pub now: Timestamp,
    /// Shared feature gates (`PreparingUpdateAsUpdate`, in-place gates).
    pub features: Features,
    /// StatefulSet feature gates.
    pub gates: Gates,
    /// The adapter's writes not yet seen in its cache.
    pub expectations: &'a Expectations,
}

/// The spec read once with ASTS-7 defaults and ASTS-4/26/32 resolved.
#[derive(Clone, Debug)]
pub(crate) struct Config<'a> {
    pub replicas: i32,
    pub monotonic: bool,
    pub on_delete: bool,
    pub partition: i32,
    pub max_unavailable: i32,
    pub scale_budget: Option<i32>,
    pub policy: PodUpdatePolicy,
    pub paused: bool,
    pub unordered: Option<Option<&'a UpdatePriorityStrategy>>,
    pub grace_seconds: i32,
    pub min_ready: i32,
    pub history_limit: i32,
    pub retention: (bool, bool),
    pub resize: bool,
}

const RU: &str = "spec.updateStrategy.rollingUpdate";

impl<'a> Config<'a> {
    fn new(set: &'a StatefulSet, gates: Gates) -> Result<Self, PlanError> {
        let spec = &set.spec;
        let replicas = spec.replicas.unwrap_or(kruise_api::defaults::statefulset::DEFAULT_REPLICAS);
        if replicas < 0 {
            return Err(PlanError::invalid("spec.replicas", format!("must be >= 0, got {replicas}")));
        }
        if replicas > MAX_REPLICAS {
            return Err(PlanError::invalid(
                "spec.replicas",
                format!("{replicas} is above the planner's limit of {MAX_REPLICAS}"),
            ));
        }
        let monotonic = match spec.pod_management_policy.as_deref() {
            None | Some("") | Some(pod_management_policy::ORDERED_READY) => true,
            Some(pod_management_policy::PARALLEL) => false,
            Some(other) => {
                return Err(PlanError::invalid(
                    "spec.podManagementPolicy",
                    format!("{other:?} is not OrderedReady or Parallel"),
                ));
            }
        };
        let on_delete = match spec.update_strategy.type_.as_deref() {
            None | Some("") | Some(statefulset_update_strategy_type::ROLLING_UPDATE) => false,
            Some(statefulset_update_strategy_type::ON_DELETE) => true,
            Some(other) => {
                return Err(PlanError::invalid(
                    "spec.updateStrategy.type",
                    format!("{other:?} is not RollingUpdate or OnDelete"),
                ));
            }
        };
        let ru = spec.update_strategy.rolling_update.as_ref();
        let partition = ru.and_then(|r| r.partition).unwrap_or(0);
        if partition < 0 {
            return Err(PlanError::invalid(
                &format!("{RU}.partition"),
                format!("must be >= 0, got {partition}"),
            ));
        }
        let read = |v: Option<&k8s_openapi::apimachinery::pkg::util::intstr::IntOrString>, path: &str| {
            let default = k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(1);
            let v = v.unwrap_or(&default);
            kruise_api::intstr::scaled_legacy(Some(v), replicas, false).map(|n| n.max(1)).map_err(|_| {
                PlanError::BadIntOrPercent {
                    path: kruise_api::FieldPath::from(path),
                    value: match v {
                        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i) => i.to_string(),
                        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s.clone(),
                    },
                }
            })
        };
        // ASTS-32: nil -> 1; resolved against replicas, rounded down, at least 1.
        let max_unavailable =
            read(ru.and_then(|r| r.max_unavailable.as_ref()), &format!("{RU}.maxUnavailable"))?;
        // OrderedReady updates one pod at a time whatever the field says (the webhook only
        // admits the int 1 there, ASTS-8 item 8).
        let max_unavailable = if monotonic { 1 } else { max_unavailable };
        // ASTS-26.
        let scale_budget = match spec.scale_strategy.as_ref().and_then(|s| s.max_unavailable.as_ref()) {
            Some(v) => Some(read(Some(v), "spec.scaleStrategy.maxUnavailable")?),
            None => None,
        };
        let min_ready = set.min_ready_seconds();
        if min_ready < 0 {
            return Err(PlanError::invalid(
                &format!("{RU}.minReadySeconds"),
                format!("must be >= 0, got {min_ready}"),
            ));
        }
        for (i, t) in spec.volume_claim_templates.iter().enumerate() {
            if t.metadata.name.as_deref().is_none_or(str::is_empty) {
                return Err(PlanError::invalid(
                    &format!("spec.volumeClaimTemplates[{i}].metadata.name"),
                    "required",
                ));
            }
        }
        // The webhook rejects a malformed reservation (ASTS-8 item 2); the controller would
        // silently drop every reservation (ASTS-12). The planner refuses to plan (docs/deviations.md).
        for (i, r) in spec.reserve_ordinals.iter().enumerate() {
            use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
            let path = format!("spec.reserveOrdinals[{i}]");
            match r {
                IntOrString::Int(v) if *v < 0 => {
                    return Err(PlanError::invalid(&path, format!("must be >= 0, got {v}")));
                }
                IntOrString::Int(_) => {}
                IntOrString::String(s) => {
                    if kruise_api::validation::statefulset::parse_ordinal_range(s).is_none() {
                        return Err(PlanError::invalid(
                            &path,
                            format!("{s:?} is not a range \"a-b\" of ordinals with a <= b"),
                        ));
                    }
                }
            }
        }
        let start =
            if gates.stateful_set_start_ordinal { spec.ordinals.as_ref().map_or(0, |o| o.start) } else { 0 };
        if start < 0 {
            return Err(PlanError::invalid("spec.ordinals.start", format!("must be >= 0, got {start}")));
        }
        Ok(Self {
            replicas,
            monotonic,
            on_delete,
            partition,
            max_unavailable,
            scale_budget,
            policy: set.pod_update_policy(),
            paused: ru.is_some_and(|r| r.paused),
            unordered: ru.and_then(|r| r.unordered_update.as_ref()).map(|u| u.priority_strategy.as_ref()),
            grace_seconds: ru
                .and_then(|r| r.in_place_update_strategy.as_ref())
                .map_or(0, |s| s.grace_period_seconds.max(0)),
            min_ready,
            history_limit: spec
                .revision_history_limit
                .unwrap_or(kruise_api::defaults::statefulset::DEFAULT_REVISION_HISTORY_LIMIT),
            retention: pvc::policy(set, gates.stateful_set_auto_delete_pvc),
            resize: gates.stateful_set_auto_resize_pvc
                && spec.volume_claim_update_strategy.type_.as_deref()
                    == Some(volume_claim_update_strategy_type::ON_POD_ROLLING_UPDATE),
        })
    }
}

/// One replica slot: the pod holding it, or a pod to be created this pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// Index into `Ctx::members`.
    Pod(usize),
    /// To be created at the update revision (`true`) or the current revision.
    New {
        /// Built from the update revision.
        update: bool,
    },
}

/// [`Slot::New`] at the update revision, packed.
const SLOT_NEW_UPDATE: u32 = u32::MAX;
/// [`Slot::New`] at the current revision, packed.
const SLOT_NEW_CURRENT: u32 = u32::MAX - 1;
/// An empty slot whose revision is not chosen yet (only while the slots are built).
const SLOT_EMPTY: u32 = u32::MAX - 2;

impl Slot {
    /// The slot in 4 bytes: the member index, or one of the codes above (a plan never has
    /// `u32::MAX - 2` members: that is 100 GB of member records).
    fn pack(self) -> u32 {
        match self {
            Slot::Pod(m) => {
                debug_assert!(m < SLOT_EMPTY as usize);
                m as u32
            }
            Slot::New { update: true } => SLOT_NEW_UPDATE,
            Slot::New { update: false } => SLOT_NEW_CURRENT,
        }
    }

    /// The inverse of [`pack`](Self::pack).
    fn unpack(code: u32) -> Self {
        match code {
            SLOT_NEW_UPDATE => Slot::New { update: true },
            SLOT_NEW_CURRENT => Slot::New { update: false },
            m => Slot::Pod(m as usize),
        }
    }
}

/// Everything derived from the input once, shared by the steps.
pub(crate) struct Ctx<'a> {
    pub input: &'a Input<'a>,
    pub set: &'a StatefulSet,
    pub name: &'a str,
    pub cfg: Config<'a>,
    pub range: ReplicaRange,
    pub revs: Revisions,
    /// Member pods (ASTS-11) with their facts, by (ordinal, name).
    pub members: Vec<Member<'a>>,
    /// The distinct revisions of the members (`Member::rev` indexes it).
    pub rev_names: Vec<&'a str>,
    /// Per revision id: [`REV_UPDATE`], [`REV_UPDATED`], [`REV_CURRENT`].
    pub rev_flags: Vec<u8>,
    /// No two members share a name (always so from a table or the API server; a hand-made
    /// list may repeat one, and then holds are matched by name, not by member).
    pub unique_names: bool,
    /// Replica slots ascending, packed ([`Slot::pack`]); the ordinal of position `p` is
    /// `range.ordinal_at(p)` (read through [`Ctx::slot`] and [`Ctx::slot_iter`]).
    pub slots: Vec<u32>,
    /// The slots a pod holds (counted once, read by every creation).
    pub filled_slots: i32,
    /// Condemned members `(ordinal, member)`, descending ordinal.
    pub condemned: Vec<(i64, usize)>,
    /// Members that lost a duplicate slot claim.
    pub duplicates: Vec<usize>,
    /// PVCs by name (live and terminating).
    pub pvcs: BTreeMap<&'a str, &'a PersistentVolumeClaim>,
}

/// The revision is the update revision (`controller-revision-hash` equal to its name).
pub(crate) const REV_UPDATE: u8 = 1;
/// ASTS-38: the revision counts as updated (the update revision or its short hash).
pub(crate) const REV_UPDATED: u8 = 1 << 1;
/// The revision is the current revision.
pub(crate) const REV_CURRENT: u8 = 1 << 2;

impl<'a> Ctx<'a> {
    /// The slot at position `p` and its ordinal.
    pub fn slot(&self, p: usize) -> (i64, Slot) {
        (self.range.ordinal_at(p), Slot::unpack(self.slots[p]))
    }
    /// `(position, ordinal, slot)` of every replica slot, ascending.
    pub fn slot_iter(&self) -> impl DoubleEndedIterator<Item = (usize, i64, Slot)> + '_ {
        self.slots.iter().enumerate().map(|(p, &s)| (p, self.range.ordinal_at(p), Slot::unpack(s)))
    }
    /// Member `m`.
    pub fn m(&self, m: usize) -> &Member<'a> {
        &self.members[m]
    }
    /// The revision label of member `m` (or `""`).
    pub fn rev(&self, m: usize) -> &'a str {
        self.rev_names[self.members[m].rev as usize]
    }
    /// Member `m` is labelled with the update revision (exactly).
    pub fn on_update(&self, m: usize) -> bool {
        self.rev_flags[self.members[m].rev as usize] & REV_UPDATE != 0
    }
    /// Member `m` is labelled with the current revision.
    pub fn on_current(&self, m: usize) -> bool {
        self.rev_flags[self.members[m].rev as usize] & REV_CURRENT != 0
    }
    /// The name of member `m`.
    pub fn name_of(&self, m: usize) -> &'a str {
        self.members[m].name()
    }
    pub fn update_revision(&self) -> &str {
        self.revs.update_name()
    }
    pub fn current_revision(&self) -> &str {
        self.revs.current_name()
    }
    pub fn hook(
        &self,
        f: impl Fn(&kruise_api::apps::common::Lifecycle) -> Option<&LifecycleHook>,
    ) -> Option<&LifecycleHook> {
        self.set.spec.lifecycle.as_ref().and_then(f)
    }
    /// ASTS-38: updated = revision label equal to the update revision (or its short hash);
    /// with `PreparingUpdateAsUpdate`, a `PreparingUpdate` pod counts too when `loose`.
    pub fn is_updated(&self, m: usize, loose: bool) -> bool {
        let f = &self.members[m];
        self.rev_flags[f.rev as usize] & REV_UPDATED != 0
            || (loose && self.input.features.preparing_update_as_update && f.state == State::PreparingUpdate)
    }
    /// The name of member `m`, as an owned string. A canonical name `<set>-<o>` (the common
    /// case) is written from the set name and the ordinal: its bytes, which at 100k pods sit
    /// on scattered heap pages, are not read. O(name length).
    #[inline(never)] // called per held pod, never in the loops of a steady plan
    pub fn member_name(&self, m: usize) -> String {
        let f = &self.members[m];
        if !f.canonical() {
            return f.name().to_owned();
        }
        let mut digits = [0u8; 20];
        let (mut i, mut v) = (digits.len(), f.ordinal);
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        let mut s = String::with_capacity(self.name.len() + 1 + digits.len() - i);
        s.push_str(self.name);
        s.push('-');
        s.extend(digits[i..].iter().map(|&d| char::from(d)));
        s
    }
    /// An action on member `m`, naming it by [`Ctx::member_name`].
    pub fn push_member(
        &self,
        b: &mut Builder,
        kind: ActionKind,
        m: usize,
        revision: Option<&str>,
        reason: Reason,
    ) {
        let mut a = Action::new(kind, None, revision, reason);
        a.pod = Some(self.member_name(m));
        b.plan.actions.push(a);
    }
    /// Holds member `m` (first reason wins), naming it by [`Ctx::member_name`]. With unique
    /// names a bit per member says whether it is held already (no name is hashed).
    #[inline(never)] // called per held pod, never in the loops of a steady plan
    pub fn hold_member(&self, b: &mut Builder, m: usize, reason: Reason) {
        if !self.unique_names {
            b.hold_owned(self.member_name(m), reason);
            return;
        }
        if b.held_members.is_empty() {
            b.held_members.resize(self.members.len().div_ceil(64), 0);
        }
        let (word, bit) = (m / 64, 1u64 << (m % 64));
        if b.held_members[word] & bit == 0 {
            b.held_members[word] |= bit;
            b.plan.held.push(Held { pod: Some(self.member_name(m)), object: None, reason });
        }
    }
    /// The PVC names of ordinal `o`, one per claim template, with the template.
    pub fn claim_names(&self, o: i64) -> impl Iterator<Item = (String, &PersistentVolumeClaim)> + '_ {
        self.set
            .spec
            .volume_claim_templates
            .iter()
            .map(move |t| (pvc_name(t.metadata.name.as_deref().unwrap_or_default(), self.name, o), t))
    }
}

/// The plan under construction.
#[derive(Default)]
pub(crate) struct Builder {
    pub plan: Plan,
    /// FNV hash of each held name → its position in `plan.held` (look-up only, never
    /// iterated): no name is copied for the look-up.
    held: std::collections::HashMap<u64, usize, std::hash::BuildHasherDefault<crate::hash::FnvHasher>>,
    /// Members held already, a bit per member ([`Ctx::hold_member`] with unique names).
    held_members: Vec<u64>,
    /// Conditions set this pass (ASTS-49): type -> message.
    pub conditions: BTreeMap<&'static str, String>,
}

impl Builder {
    pub fn push(&mut self, kind: ActionKind, pod: Option<&str>, revision: Option<&str>, reason: Reason) {
        self.plan.actions.push(Action::new(kind, pod, revision, reason));
    }
    /// Holds `pod` unless it is held already (first reason wins).
    #[inline(never)] // called per held pod, never in the loops of a steady plan
    pub fn hold(&mut self, pod: &str, reason: Reason) {
        if self.first_hold(pod) {
            self.plan.held.push(Held::pod(pod, reason));
        }
    }
    /// Room for `n` more holds (an upper bound the caller knows), so a long run of holds
    /// does not grow the list step by step.
    pub fn reserve_holds(&mut self, n: usize) {
        self.plan.held.reserve(n);
    }
    /// [`Builder::hold`] of a name the caller built: kept as it is, not copied.
    pub fn hold_owned(&mut self, pod: String, reason: Reason) {
        if self.first_hold(&pod) {
            self.plan.held.push(Held { pod: Some(pod), object: None, reason });
        }
    }
    /// True (and `pod` recorded as held) when `pod` is not held yet.
    fn first_hold(&mut self, pod: &str) -> bool {
        let h = crate::hash::fnv1a64(&[pod.as_bytes()]);
        let held = &self.plan.held;
        let same = |i: usize| held.get(i).and_then(|x| x.pod.as_deref()) == Some(pod);
        match self.held.get(&h) {
            Some(&i) if same(i) => false,
            // Two names with one hash (rare): a scan decides.
            Some(_) => !held.iter().any(|x| x.pod.as_deref() == Some(pod)),
            None => {
                self.held.insert(h, held.len());
                true
            }
        }
    }
    pub fn requeue(&mut self, after: Duration, reason: Reason) {
        self.plan.requeue_at_most(after, reason);
    }
}

/// Whether the pass goes on after a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Next slot.
    Continue,
    /// End the replica loop; the pass goes on with ASTS-24 step 6.
    Break,
    /// End the pass (monotonic), after writing status.
    Exit,
}

/// Plans one pass of an Advanced StatefulSet (ASTS-24). Errors only for unusable input.
pub fn plan(input: &Input<'_>) -> Result<Plan, PlanError> {
    let set = input.statefulset;
    let name = set
        .metadata
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| PlanError::invalid("metadata.name", "required"))?;
    let cfg = Config::new(set, input.gates)?;
    let selector =
        set.spec.selector.as_ref().ok_or_else(|| PlanError::invalid("spec.selector", "required"))?;
    let selector = Selector::parse(selector, "spec.selector")?;
    if selector.is_empty() {
        return Err(PlanError::invalid("spec.selector", "empty selector is invalid for statefulset"));
    }
    let mut b = Builder::default();
    b.plan.status = set.status.clone().unwrap_or_default();

    // Scale expectations: a create or delete this adapter sent and has not seen yet.
    if let Some(p) = input.expectations.pending().filter(|_| !input.expectations.scale_satisfied()) {
        let timeout = Duration::from_secs(u64::from(input.features.expectation_timeout_seconds));
        let elapsed = input.now.duration_since(p.oldest).unsigned_abs();
        if elapsed < timeout {
            b.requeue(
                timeout - elapsed,
                Reason::AwaitingExpectations {
                    creates: p.creates,
                    deletes: p.deletes,
                    resource_versions: p.resource_versions,
                },
            );
            return Ok(b.plan);
        }
    }

    // ASTS-22: revisions.
    let revs = revision::resolve(set, input.revisions);
    if let Some(w) = revs.write {
        let r = &revs.sorted[revs.update];
        let kind = match w {
            RevisionWrite::Create => {
                ActionKind::CreateRevision { number: r.revision, collision_count: revs.collision_count }
            }
            RevisionWrite::Bump => ActionKind::UpdateRevision { number: r.revision },
        };
        b.push(kind, None, r.metadata.name.as_deref(), Reason::NewRevision);
    }

    // ASTS-11: membership, adoption and release.
    let deleting = set.metadata.deletion_timestamp.is_some();
    let mut rev_ids = RevisionIds::default();
    let mut unique_names = true;
    let mut members = each_listed(set, name, &selector, input.pods, &mut unique_names, |o, pod, f, claim| {
        // Canonical `<set>-<o>`: the parent matched and the suffix is the decimal `o`, so it
        // is canonical when it has no leading zero, i.e. exactly as many digits as `o` (read
        // from the name's length: its bytes are not read).
        let canonical = f.name.len() - name.len() - 1 == decimal_digits(i64::from(o));
        let member = |rev| Member::new(pod, o, &f, rev, canonical, cfg.min_ready, input.now);
        if claim.controlled {
            if !claim.matches {
                return (!deleting).then(|| member(u32::MAX).to_release());
            }
            Some(member(rev_ids.id(f.revision)))
        } else if claim.other_controller || !claim.matches || deleting || f.terminating {
            None
        } else {
            Some(member(rev_ids.id(f.revision)).to_adopt())
        }
    });
    // Claim actions by (ordinal, name); the pods to release leave the list.
    members.retain(|m| {
        if m.release() {
            b.push(ActionKind::ReleasePod, Some(m.name()), None, Reason::Claim);
            return false;
        }
        if m.adopt() {
            b.push(ActionKind::AdoptPod, Some(m.name()), None, Reason::Claim);
        }
        true
    });

    // ASTS-13, ASTS-14: range, replicas and condemned.
    let start = if input.gates.stateful_set_start_ordinal {
        set.spec.ordinals.as_ref().map_or(0, |o| o.start)
    } else {
        0
    };
    let reserved = ReservedOrdinals::parse(&set.spec.reserve_ordinals);
    let range = ReplicaRange::new(i64::from(start), i64::from(cfg.replicas), &reserved);
    let (rev_names, rev_flags) = {
        let (upd, cur) = (revs.update_name(), revs.current_name());
        let short = short_hash(upd);
        let flags = rev_ids
            .names
            .iter()
            .map(|r| {
                let mut f = 0;
                if *r == upd {
                    f |= REV_UPDATE;
                }
                if revision_matches_short(r, upd, short) {
                    f |= REV_UPDATED;
                }
                if *r == cur {
                    f |= REV_CURRENT;
                }
                f
            })
            .collect();
        (rev_ids.names, flags)
    };
    let pvcs: BTreeMap<&str, &PersistentVolumeClaim> =
        input.pvcs.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect();
    let mut ctx = Ctx {
        input,
        set,
        name,
        cfg,
        range,
        revs,
        members,
        rev_names,
        rev_flags,
        unique_names,
        slots: Vec::new(),
        filled_slots: 0,
        condemned: Vec::new(),
        duplicates: Vec::new(),
        pvcs,
    };
    // ASTS-27: the slots, built as the split hands out the replicas (ascending ordinal);
    // empty slots are marked first and given their revision below, once the replicas not
    // yet updated are all counted.
    let mut slots: Vec<u32> = Vec::with_capacity(ctx.range.len());
    let (mut not_updated, mut filled_slots) = (0usize, 0i32);
    let split = ordinals::split_each(
        ctx.members.len(),
        |i| {
            let m = ctx.m(i);
            (i64::from(m.ordinal), m.canonical())
        },
        |i| ctx.name_of(i),
        &ctx.range,
        |o, m| {
            // The split hands out slots only (`is_slot(o)`), each once, ascending.
            let pos = ctx.range.position(o).unwrap_or(slots.len());
            slots.resize(pos.max(slots.len()), SLOT_EMPTY);
            slots.push(Slot::Pod(m).pack());
            filled_slots += 1;
            if !ctx.is_updated(m, true) {
                not_updated += 1;
            }
        },
    );
    slots.resize(ctx.range.len(), SLOT_EMPTY);
    for (position, s) in slots.iter_mut().enumerate() {
        if *s != SLOT_EMPTY {
            continue;
        }
        let update = if ctx.cfg.on_delete {
            true
        } else if ctx.cfg.unordered.is_some() {
            not_updated >= usize::try_from(ctx.cfg.partition).unwrap_or(0)
        } else {
            position as i64 + 1 > i64::from(ctx.cfg.partition)
        };
        if !update {
            not_updated += 1;
        }
        *s = Slot::New { update }.pack();
    }
    ctx.slots = slots;
    ctx.filled_slots = filled_slots;
    ctx.condemned = split.condemned;
    ctx.duplicates = split.duplicates;
    for &d in &ctx.duplicates {
        let ordinal = i64::from(ctx.m(d).ordinal);
        ctx.hold_member(&mut b, d, Reason::StatefulSet(R::DuplicateOrdinal { ordinal }));
    }

    // ASTS-48: status from all member pods.
    let mut status = status_counts(&ctx);

    // ASTS-24 step 4 / ASTS-51.
    if deleting {
        finish(&ctx, &mut b, &mut status, &selector);
        return Ok(b.plan);
    }

    let mut refresh = update::Refresh::default();
    let flow = replica_loop(&ctx, &mut b, &mut refresh);
    if flow != Flow::Exit {
        // ASTS-24 step 6 / ASTS-20: owner refs of condemned pods' PVCs.
        if input.gates.stateful_set_auto_delete_pvc {
            for &(o, m) in &ctx.condemned {
                fix_claim_owners(&ctx, &mut b, m, o, true);
            }
        }
        let flow = condemned_loop(&ctx, &mut b);
        if flow != Flow::Exit && !ctx.cfg.on_delete {
            update::rolling_update(&ctx, &mut b, &mut refresh, &mut status);
        } else if ctx.cfg.on_delete {
            for (_, _, slot) in ctx.slot_iter() {
                if let Slot::Pod(m) = slot
                    && !ctx.is_updated(m, false)
                {
                    ctx.hold_member(&mut b, m, Reason::OnDelete);
                }
            }
        }
    }
    finish(&ctx, &mut b, &mut status, &selector);
    Ok(b.plan)
}

/// The distinct revision labels of a plan's members, each given an id once ([`Member::rev`]).
/// Members of one revision come in runs, so the last id is tried first (its label usually
/// is the very same string); a map finds the others. O(1) per member.
#[derive(Default)]
struct RevisionIds<'a> {
    names: Vec<&'a str>,
    ids: std::collections::HashMap<&'a str, u32, std::hash::BuildHasherDefault<crate::hash::FnvHasher>>,
    last: Option<(&'a str, u32)>,
}

impl<'a> RevisionIds<'a> {
    fn id(&mut self, r: &'a str) -> u32 {
        if let Some((l, id)) = self.last
            && (std::ptr::eq(l, r) || l == r)
        {
            return id;
        }
        let next = self.names.len() as u32;
        let id = *self.ids.entry(r).or_insert(next);
        if id == next {
            self.names.push(r);
        }
        self.last = Some((r, id));
        id
    }
}

/// The number of decimal digits of `o >= 0` (1 for 0).
fn decimal_digits(mut o: i64) -> usize {
    let mut d = 1;
    while o >= 10 {
        o /= 10;
        d += 1;
    }
    d
}

/// ASTS-10, ASTS-11: for each pod whose name is `<set name>-<ordinal>`, calls
/// `make(ordinal, pod, facts, claim facts)` and returns what it kept, by (ordinal, name)
/// whatever order the adapter listed the pods in (adoption and release actions follow this
/// order; names are compared only between pods claiming one ordinal). Facts and claim facts
/// come from a table's rows (its claim facts when computed for this set and selector) or are
/// read from the pods of a slice, once each. The order comes from
/// [`ordinals::sort_by_ordinal`]: a counting sort over the dense ordinals, O(n)
/// (O(n log n) only for ordinals far apart).
///
/// From a table only the rows named `<set name>-...` are visited (one contiguous run of its
/// name order), and no name is read from memory to find them: the table's facts hold each
/// name's ordinal and parent length. The rows are walked twice, both times in name order: once
/// for the ordinals (whose sort gives each row its place), once to call `make` and put what it
/// keeps straight in its place. Name order and ordinal order differ (`web-10` sorts before
/// `web-2`), and reading the large rows themselves by ordinal is what made a 100k-pod plan
/// grow faster than its pod count.
#[expect(clippy::filter_map_identity, reason = "`filter_map` collects in place, `flatten` does not")]
fn each_listed<'a>(
    set: &'a StatefulSet,
    name: &str,
    selector: &Selector,
    pods: Pods<'a>,
    unique_names: &mut bool,
    mut make: impl FnMut(i32, &'a Pod, PodFacts<'a>, crate::podtable::Claim) -> Option<Member<'a>>,
) -> Vec<Member<'a>> {
    let uid = set.metadata.uid.as_deref().filter(|u| !u.is_empty());
    let claim_of = |pod: &Pod| crate::podtable::claim(pod, uid, "StatefulSet", Some(name), Some(selector));
    let ours = |pname: &str| {
        let (parent, o) = parse_ordinal(pname);
        (parent == name && o >= 0).then_some(o)
    };
    match pods {
        Pods::Slice(pods) => {
            let name_of = |i: u32| pods[i as usize].metadata.name.as_deref().unwrap_or_default();
            let mut keys: Vec<(i32, u32)> = pods
                .iter()
                .enumerate()
                .filter_map(|(i, p)| Some((ours(p.metadata.name.as_deref().unwrap_or_default())?, i as u32)))
                .collect();
            ordinals::sort_by_ordinal(&mut keys, |a, b| name_of(a).cmp(name_of(b)));
            // Pods with one name (only in a hand-made list; the API server keeps names unique)
            // are ordered by their content, so which one holds the slot does not depend on the
            // order they were listed in.
            if keys.windows(2).any(|w| w[0].0 == w[1].0 && name_of(w[0].1) == name_of(w[1].1)) {
                *unique_names = false;
                let content = |i: u32| serde_json::to_vec(&pods[i as usize]).unwrap_or_default();
                keys.sort_by(|a, b| {
                    (a.0, name_of(a.1))
                        .cmp(&(b.0, name_of(b.1)))
                        .then_with(|| content(a.1).cmp(&content(b.1)))
                });
            }
            keys.into_iter()
                .filter_map(|(o, i)| {
                    let pod = &pods[i as usize];
                    make(o, pod, PodFacts::of(pod), claim_of(pod))
                })
                .collect()
        }
        Pods::Table(t) => {
            let fresh = t.owner().same(set, &selector.to_canonical());
            // Every name `<name>-...` sorts between `<name>-` and `<name>.` ('.' follows '-').
            let (lo, hi) = (format!("{name}-"), format!("{name}."));
            // Each row's name starts with `<name>-`: it is ours when its parent (the part
            // before its last '-', parsed once per pod version) is exactly `<name>`.
            let ours = |r: &crate::podtable::Row| {
                let o = r.facts.name_ordinal;
                (o >= 0 && r.facts.name_parent_len as usize == name.len()).then_some(o)
            };
            // First walk: (ordinal, place among our rows), put in ordinal order. Rows come in
            // name order (a table's names are unique), so the stable sort leaves the keys of
            // one ordinal by name.
            let mut keys: Vec<(i32, u32)> = Vec::with_capacity(t.len());
            keys.extend(t.rows.between(&lo, &hi).filter_map(ours).zip(0u32..));
            ordinals::sort_by_ordinal(&mut keys, |a, b| a.cmp(&b));
            // Where each of our rows goes in that order.
            let mut to = vec![0u32; keys.len()];
            for (j, &(_, k)) in keys.iter().enumerate() {
                to[k as usize] = j as u32;
            }
            drop(keys);
            // Second walk, again in name order: each kept record goes straight to its place.
            let mut placed: Vec<Option<Member<'a>>> = vec![None; to.len()];
            for (k, row) in t.rows.between(&lo, &hi).filter(|r| ours(r).is_some()).enumerate() {
                let facts = PodFacts::from_facts(&row.facts, &row.name, t.revisions.get(row.revision));
                let claim = if fresh { row.claim } else { claim_of(&row.pod) };
                placed[to[k] as usize] = make(row.facts.name_ordinal, &row.pod, facts, claim);
            }
            // Collected in place (`Option<Member>` and `Member` have one size). `flatten()`
            // was not: measured, its new 2.4 MB vector at 100k made glibc's default policy
            // trim and fault pages in again on every plan (1,141 faults a plan against 4).
            placed.into_iter().filter_map(|m| m).collect()
        }
    }
}

impl crate::podtable::PodOwner for StatefulSet {
    fn kind(&self) -> &str {
        "StatefulSet"
    }
    fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        &self.metadata
    }
    fn selector(&self) -> Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector> {
        self.spec.selector.as_ref()
    }
}

/// Status write, completion, history truncation (ASTS-23, ASTS-48..ASTS-50).
fn finish(ctx: &Ctx<'_>, b: &mut Builder, status: &mut StatefulSetStatus, selector: &Selector) {
    status.observed_generation = ctx.set.metadata.generation.unwrap_or(0);
    status.current_revision = ctx.current_revision().to_owned();
    status.update_revision = ctx.update_revision().to_owned();
    status.collision_count = (ctx.revs.collision_count != 0
        || ctx.set.status.as_ref().and_then(|s| s.collision_count).is_some())
    .then_some(ctx.revs.collision_count);
    status.label_selector = selector.to_canonical();
    // ASTS-49: conditions set this pass only; an unchanged one keeps its transition time.
    let old = ctx.set.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
    status.conditions = b
        .conditions
        .iter()
        .map(|(t, msg)| {
            let kept = old.iter().find(|c| c.type_ == *t && c.status == "True");
            StatefulSetCondition {
                type_: (*t).to_owned(),
                status: "True".into(),
                last_transition_time: Some(
                    kept.and_then(|c| c.last_transition_time.clone()).unwrap_or(Time(ctx.input.now)),
                ),
                reason: None,
                message: Some(msg.clone()),
            }
        })
        .collect();
    // ASTS-50: completion.
    if !ctx.cfg.on_delete
        && status.updated_replicas == status.replicas
        && status.ready_replicas == status.replicas
    {
        status.current_revision = status.update_revision.clone();
        status.current_replicas = status.updated_replicas;
    }
    let stored = ctx.set.status.clone().unwrap_or_default();
    let changed = status.observed_generation > stored.observed_generation
        || status.replicas != stored.replicas
        || status.current_replicas != stored.current_replicas
        || status.ready_replicas != stored.ready_replicas
        || status.available_replicas != stored.available_replicas
        || status.updated_replicas != stored.updated_replicas
        || status.current_revision != stored.current_revision
        || status.update_revision != stored.update_revision
        || status.label_selector != stored.label_selector
        || status.volume_claims != stored.volume_claims;
    b.plan.status = status.clone();
    if changed {
        b.push(ActionKind::UpdateStatus, None, None, Reason::StatusChanged);
    }
    // ASTS-23: history.
    // Every member's revision has an id: the non-empty labels among them, sorted.
    let pod_revs: BTreeSet<&str> = ctx.rev_names.iter().copied().filter(|r| !r.is_empty()).collect();
    let pod_revs: Vec<&str> = pod_revs.into_iter().collect();
    let limit = ctx.cfg.history_limit;
    for r in revision::truncate_history(&ctx.revs, &pod_revs, limit) {
        b.push(ActionKind::DeleteRevision, None, Some(r), Reason::HistoryLimit { limit });
    }
}

/// ASTS-48: counters over replicas and condemned (created pods only), and the per-template
/// PVC compatibility (gate `StatefulSetAutoResizePVCGate`).
fn status_counts(ctx: &Ctx<'_>) -> StatefulSetStatus {
    let mut s = StatefulSetStatus::default();
    for (m, f) in ctx.members.iter().enumerate() {
        if !f.created() {
            continue;
        }
        s.replicas += 1;
        let available = f.running_ready() && f.is_available();
        let (on_update, on_current) = (ctx.on_update(m), ctx.on_current(m));
        if f.running_ready() {
            s.ready_replicas += 1;
            if available {
                s.available_replicas += 1;
            }
            if on_update {
                s.updated_ready_replicas += 1;
                if available {
                    s.updated_available_replicas += 1;
                }
            }
        }
        if !f.terminating() {
            if on_current {
                s.current_replicas += 1;
            }
            if on_update {
                s.updated_replicas += 1;
            }
        }
    }
    if ctx.input.gates.stateful_set_auto_resize_pvc {
        for t in &ctx.set.spec.volume_claim_templates {
            let tname = t.metadata.name.clone().unwrap_or_default();
            let mut vc = VolumeClaimStatus { volume_claim_name: tname.clone(), ..Default::default() };
            for (_, o, slot) in ctx.slot_iter() {
                let Slot::Pod(m) = slot else { continue };
                let Some(p) = ctx.pvcs.get(pvc_name(&tname, ctx.name, o).as_str()) else { continue };
                let r = pvc::resize_facts(p, t);
                if r.compatible {
                    vc.compatible_replicas += 1;
                    if r.resize_complete && ctx.m(m).running_ready() {
                        vc.compatible_ready_replicas += 1;
                    }
                }
            }
            s.volume_claims.push(vc);
        }
    }
    s
}

/// "consume" of ASTS-25: decrement the budget, exhausted when it reaches <= 0.
fn consume(budget: &mut Option<i32>) -> bool {
    match budget {
        None => false,
        Some(v) => {
            *v -= 1;
            *v <= 0
        }
    }
}

/// ASTS-25: the replica loop, ascending slot order.
fn replica_loop(ctx: &Ctx<'_>, b: &mut Builder, refresh: &mut update::Refresh) -> Flow {
    let mono = ctx.cfg.monotonic;
    let mut budget = ctx.cfg.scale_budget;
    let now = ctx.input.now;
    let mut flow = Flow::Continue;
    let mut stop_at = ctx.slots.len();
    for (i, o, slot) in ctx.slot_iter() {
        let step = match slot {
            Slot::New { update } => {
                let pname = pod_name(ctx.name, o);
                // Step 2. In burst mode a blocked creation only skips this slot.
                let revision = if update { ctx.update_revision() } else { ctx.current_revision() };
                match create_replica(ctx, b, o, &pname, revision) {
                    Err(()) if mono => Flow::Exit,
                    Err(()) => Flow::Continue,
                    Ok(()) if mono => Flow::Exit,
                    Ok(()) if consume(&mut budget) => Flow::Break,
                    Ok(()) => Flow::Continue,
                }
            }
            Slot::Pod(m) => {
                let f = ctx.m(m);
                if f.failed() || f.succeeded() {
                    // Step 1.
                    if consume(&mut budget) {
                        ctx.hold_member(
                            b,
                            m,
                            Reason::StatefulSet(R::ScaleBudget { limit: ctx.cfg.scale_budget.unwrap_or(0) }),
                        );
                        Flow::Break
                    } else {
                        if !f.terminating() {
                            let phase = if f.failed() { "Failed" } else { "Succeeded" };
                            delete_pod(ctx, b, m, Reason::StatefulSet(R::ReplacePod { phase }));
                        }
                        if mono { Flow::Exit } else { Flow::Continue }
                    }
                } else {
                    if f.pending() {
                        // Step 3.
                        create_missing_pvcs(ctx, b, o, f.name(), Reason::StatefulSet(R::Identity));
                    }
                    let mut step = Flow::Continue;
                    if f.terminating() {
                        // Step 4.
                        if mono {
                            ctx.hold_member(b, m, Reason::StatefulSet(R::Terminating));
                            step = Flow::Exit;
                        } else if consume(&mut budget) {
                            step = Flow::Break;
                        }
                    }
                    if step == Flow::Continue {
                        // Step 5.
                        refresh.pod(ctx, b, m);
                        // Step 6.
                        if mono || budget.is_some() {
                            match f.available(ctx.cfg.min_ready, now) {
                                Ok(()) => {}
                                Err(wait) => {
                                    if let Some(w) = wait {
                                        b.requeue(w, Reason::MinReadySeconds { seconds: ctx.cfg.min_ready });
                                    }
                                    if mono {
                                        step = Flow::Exit;
                                    } else if consume(&mut budget) {
                                        step = Flow::Break;
                                    }
                                }
                            }
                        }
                    }
                    if step != Flow::Exit && f.created() {
                        // Step 7.
                        repair_identity(ctx, b, m, o);
                    }
                    step
                }
            }
        };
        if step != Flow::Continue {
            flow = step;
            stop_at = i + 1;
            break;
        }
    }
    // Explain the empty slots the loop did not reach.
    if stop_at < ctx.slots.len() {
        let blocker = pod_name(ctx.name, ctx.slot(stop_at - 1).0);
        for (_, o, slot) in ctx.slot_iter().skip(stop_at) {
            if let Slot::New { .. } = slot {
                let reason = if mono {
                    Reason::StatefulSet(R::OrderedReady { waiting_for: blocker.clone() })
                } else {
                    Reason::StatefulSet(R::ScaleBudget { limit: ctx.cfg.scale_budget.unwrap_or(0) })
                };
                b.hold(&pod_name(ctx.name, o), reason);
            }
        }
    }
    flow
}

/// ASTS-18, ASTS-19: PVCs then the pod of an empty slot. `Err` when creation is blocked.
#[inline(never)] // a rare path: kept out of the loops over every member
fn create_replica(ctx: &Ctx<'_>, b: &mut Builder, o: i64, pname: &str, revision: &str) -> Result<(), ()> {
    // ASTS-19: a stale PVC (owner ref to a former pod of this name) blocks creation.
    if ctx.input.gates.stateful_set_auto_delete_pvc && ctx.cfg.retention.0 {
        for (claim, _) in ctx.claim_names(o) {
            if let Some(p) = ctx.pvcs.get(claim.as_str())
                && pvc::is_stale(p, pname, None)
            {
                b.hold(pname, Reason::StatefulSet(R::StalePvc { pvc: claim.clone() }));
                return Err(());
            }
        }
    }
    // ASTS-18: a PVC being deleted blocks creation with FailedCreatePod.
    for (claim, _) in ctx.claim_names(o) {
        if ctx.pvcs.get(claim.as_str()).is_some_and(|p| p.metadata.deletion_timestamp.is_some()) {
            b.conditions.insert(
                keys::statefulset_condition::FAILED_CREATE_POD,
                format!("pvc {claim} is being deleted; pod {pname} waits for it to be gone"),
            );
            b.hold(pname, Reason::StatefulSet(R::PvcTerminating { pvc: claim }));
            return Err(());
        }
    }
    let reason = Reason::ScaleUp { have: ctx.filled_slots, want: ctx.cfg.replicas };
    create_missing_pvcs(ctx, b, o, pname, reason.clone());
    b.push(ActionKind::CreatePod { instance_id: o.to_string() }, Some(pname), Some(revision), reason);
    Ok(())
}

/// ASTS-18: a CreatePvc for each claim of ordinal `o` that does not exist.
fn create_missing_pvcs(ctx: &Ctx<'_>, b: &mut Builder, o: i64, pname: &str, reason: Reason) {
    for (claim, _) in ctx.claim_names(o) {
        if !ctx.pvcs.contains_key(claim.as_str()) {
            b.push(ActionKind::CreatePvc { pvc: claim }, Some(pname), None, reason.clone());
        }
    }
}

/// ASTS-16, ASTS-20: identity labels, missing PVCs and PVC owner references of a replica.
fn repair_identity(ctx: &Ctx<'_>, b: &mut Builder, m: usize, o: i64) {
    let f = ctx.m(m);
    let fix_index = ctx.input.gates.pod_index_label && !f.pod_index_label_ok();
    // A patch (its maps) only for a pod whose identity labels drifted.
    if !f.pod_name_label_ok() || fix_index {
        let mut patch = PodPatch::default();
        if !f.pod_name_label_ok() {
            patch.labels.insert(keys::STATEFULSET_POD_NAME.into(), Some(f.name().to_owned()));
        }
        if fix_index {
            patch.labels.insert(keys::POD_INDEX.into(), Some(o.to_string()));
        }
        b.push(ActionKind::PatchPod { patch }, Some(f.name()), None, Reason::StatefulSet(R::Identity));
    }
    if !f.pending() && !ctx.set.spec.volume_claim_templates.is_empty() {
        create_missing_pvcs(ctx, b, o, f.name(), Reason::StatefulSet(R::Identity));
    }
    if ctx.input.gates.stateful_set_auto_delete_pvc {
        fix_claim_owners(ctx, b, m, o, false);
    }
}

/// ASTS-20: an UpdatePvc for each existing PVC of the pod whose owner references do not
/// match the retention policy.
fn fix_claim_owners(ctx: &Ctx<'_>, b: &mut Builder, m: usize, o: i64, scaled_down: bool) {
    let pod = ctx.m(m).pod;
    for (claim, _) in ctx.claim_names(o) {
        let Some(p) = ctx.pvcs.get(claim.as_str()) else { continue };
        if p.metadata.deletion_timestamp.is_some() {
            continue;
        }
        if !pvc::owner_refs_match(p, ctx.set, pod, ctx.cfg.retention, scaled_down) {
            b.push(
                ActionKind::UpdatePvc { pvc: claim },
                Some(ctx.name_of(m)),
                None,
                Reason::StatefulSet(R::PvcRetention { scaled_down }),
            );
        }
    }
}

/// ASTS-43: delete a pod, or move it to `PreparingDelete` while a `preDelete` hook holds it.
/// Returns true when something was written (delete or lifecycle change).
#[inline(never)] // a rare path: kept out of the loops over every member
pub(crate) fn delete_pod(ctx: &Ctx<'_>, b: &mut Builder, m: usize, reason: Reason) -> Removal {
    let f = ctx.m(m);
    let pod = f.pod;
    let hook = ctx.hook(|l| l.pre_delete.as_ref());
    if hook.is_some() && hooked(hook, pod) {
        if f.state == State::PreparingDelete {
            ctx.hold_member(b, m, Reason::LifecycleHook { hook: "preDelete" });
            return Removal::Waiting;
        }
        b.push(
            ActionKind::PatchPod { patch: lifecycle_patch(State::PreparingDelete, ctx.input.now) },
            Some(f.name()),
            None,
            reason,
        );
        // ASTS-43: markPodNotReady of the hook.
        if hook.is_some_and(|h| h.mark_pod_not_ready)
            && let Some(condition) = mark_not_ready(pod, "preDeleteHook")
        {
            b.push(
                ActionKind::UpdatePodStatus { condition },
                Some(f.name()),
                None,
                Reason::LifecycleHook { hook: "preDelete" },
            );
        }
        return Removal::PreparingDelete;
    }
    b.push(ActionKind::DeletePod, Some(f.name()), Some(ctx.rev(m)), reason);
    Removal::Deleted
}

/// What [`delete_pod`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Removal {
    /// The pod is deleted.
    Deleted,
    /// Moved to `PreparingDelete` (hooked).
    PreparingDelete,
    /// Already `PreparingDelete` and still hooked: nothing written.
    Waiting,
}

/// ASTS-29: the condemned loop, descending ordinal.
fn condemned_loop(ctx: &Ctx<'_>, b: &mut Builder) -> Flow {
    let mono = ctx.cfg.monotonic;
    let now = ctx.input.now;
    // firstUnhealthy over replicas and condemned: the lowest (ordinal, name), i.e. the first
    // in member order. Only OrderedReady reads it.
    let first_unhealthy =
        if mono && !ctx.condemned.is_empty() { ctx.members.iter().position(|f| !f.healthy()) } else { None };
    let have = ctx.members.len() as i32;
    for (k, &(_, m)) in ctx.condemned.iter().enumerate() {
        let f = ctx.m(m);
        let hold_rest = |b: &mut Builder, waiting_for: &str| {
            for &(_, n) in &ctx.condemned[k + 1..] {
                let reason = Reason::StatefulSet(R::OrderedReady { waiting_for: waiting_for.to_owned() });
                ctx.hold_member(b, n, reason);
            }
        };
        if f.terminating() {
            if mono {
                ctx.hold_member(b, m, Reason::StatefulSet(R::Terminating));
                hold_rest(b, f.name());
                return Flow::Exit;
            }
            continue;
        }
        if mono {
            let first = first_unhealthy;
            if Some(m) != first {
                let wait = f.available(ctx.cfg.min_ready, now);
                if !f.running_ready() || wait.is_err() {
                    if let Err(Some(w)) = wait {
                        b.requeue(w, Reason::MinReadySeconds { seconds: ctx.cfg.min_ready });
                    }
                    let blocker = first.map_or(f.name(), |u| ctx.name_of(u));
                    ctx.hold_member(
                        b,
                        m,
                        Reason::StatefulSet(R::OrderedReady { waiting_for: blocker.to_owned() }),
                    );
                    hold_rest(b, blocker);
                    return Flow::Exit;
                }
            }
        }
        let done = delete_pod(ctx, b, m, Reason::ScaleDown { have, want: ctx.cfg.replicas });
        if mono && done != Removal::Waiting {
            hold_rest(b, f.name());
            return Flow::Exit;
        }
    }
    Flow::Continue
}
