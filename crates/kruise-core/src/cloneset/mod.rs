//! The CloneSet planner (spec `cloneset.md`, rules CS-n): [`plan`] turns a CloneSet, its
//! pods, PVCs and revisions, `now`, an id seed and pending expectations into a [`Plan`].
//!
//! One reconcile follows CS-23: expectations (CS-87), claim (CS-24), PVC clean-up (CS-25),
//! revisions (CS-26..CS-33), resource-version expectations (CS-88), Scale (§8) or Update (§9,
//! with in-place §10 and lifecycle §11), status (§12), `podsToDelete` truncation (CS-55),
//! history truncation (CS-32) and the requeue (CS-90). Pods are processed by name ascending
//! (CS-91). The whole plan is linear in the number of pods, plus O(p log p) sorts of the
//! pods actually being chosen from.

mod diff;
/// Builders of CloneSets, revisions and pods for tests and benches (cargo feature
/// `fixtures`; not part of the default public API).
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
mod input;
mod newpod;
pub mod predownload;
pub mod reconcile;
mod scale;
mod scalein;
mod status;
mod update;
mod versioned;

#[cfg(test)]
mod tests;

use crate::lifecycle::lifecycle_patch;
pub use crate::lifecycle::{all_hooked, hooked};
use crate::podtable as table;
use crate::podtable::info as pods;
use crate::updatesort as sort;
pub use crate::{inplace, revision};

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kruise_api::apps::common::{Lifecycle, LifecycleHook};
use kruise_api::apps::v1beta1::CloneSet;
use kruise_api::keys;

pub use diff::{Diffs, Limits};
pub use newpod::{
    INSTANCE_ID_SPACE, MAX_CREATES_PER_PLAN, new_instance_ids, new_pod, new_pvc, owner_ref, pvc_name,
};
pub use pods::{State, revision_matches, short_hash};
pub use reconcile::CloneSetReconciler;
pub use table::{PodTable, Pods, UnnamedPod};
pub mod v1alpha1;
pub use crate::availability::{PubDecision, PubDecisions};
pub use crate::plan::{Action, ActionKind, Held, PlanError, PodConditionUpdate, PodPatch, Reason, Requeue};
pub use input::Input;

/// A CloneSet plan: the shared [`crate::plan::Plan`] with the CloneSet status.
pub type Plan = crate::plan::Plan<kruise_api::apps::v1beta1::CloneSetStatus>;
pub use v1alpha1::CloneSetV1Alpha1Reconciler;

use kruise_api::selector::Selector;
use pods::{Derived, PodEnv, PodInfo};
use revision::Revisions;
use table::{Claim, Facts};

/// Everything derived from the input once, shared by the steps.
pub(crate) struct Ctx<'a> {
    pub input: &'a Input<'a>,
    pub cs: &'a CloneSet,
    pub name: &'a str,
    pub limits: Limits,
    pub revs: Revisions,
    /// Active, claimed pods, by name ascending (CS-24, CS-91); see [`Ctx::pods`].
    pods: std::cell::OnceCell<Vec<PodInfo<'a>>>,
    /// Table rows admitted by the claim pass, not yet turned into [`PodInfo`]s.
    deferred: Option<Deferred<'a>>,
    /// Inactive owned pods (CS-24), by name.
    pub inactive: Vec<&'a Pod>,
    pub lifecycle: Option<&'a Lifecycle>,
    /// What was counted while claiming the pods.
    pub tally: Tally<'a>,
}

/// Everything the steps need from all pods, counted in the one pass that claims them
/// (CS-24), so that a plan with nothing to do reads each pod once: the diff counters
/// (CS-37), the status counters (CS-82), the pods the update refresh may act on (CS-56
/// step 1), the pods specified for deletion or in PreparingDelete (CS-42 step 1), and the
/// revisions pods are on (CS-32). O(1) per pod, plus the listed pods.
pub(crate) struct Tally<'a> {
    /// CS-37 counters with the scale predicate (`is_update_scale`).
    pub scale: diff::Counts,
    /// CS-37 counters with the plain predicate (`is_update`).
    pub plain: diff::Counts,
    /// CS-82 counters.
    pub status: status::Counts,
    /// Indices of pods with `specified_delete`.
    pub specified: Vec<usize>,
    /// Indices of pods in PreparingDelete.
    pub pre_deleting: Vec<usize>,
    /// Pods specified for deletion or in PreparingDelete (CS-42 step 1).
    pub num_to_delete: i32,
    /// Indices of pods the update refresh (CS-56 step 1) may write or hold for; the others
    /// would pass it without effect.
    pub refresh: Vec<usize>,
    /// Revision labels of the pods (CS-32).
    pub revisions: BTreeSet<&'a str>,
    /// Distinct names in `podsToDelete` (CS-55).
    pub listed_names: usize,
    last_revision: Option<&'a str>,
    /// Pods per combination of six facts (see `add`).
    buckets: [u32; 64],
}

impl Default for Tally<'_> {
    fn default() -> Self {
        Self {
            scale: diff::Counts::default(),
            plain: diff::Counts::default(),
            status: status::Counts::default(),
            specified: Vec::new(),
            pre_deleting: Vec::new(),
            num_to_delete: 0,
            refresh: Vec::new(),
            revisions: BTreeSet::new(),
            listed_names: 0,
            last_revision: None,
            buckets: [0; 64],
        }
    }
}

impl<'a> Tally<'a> {
    /// Counts pod number `i`. O(1), plus the pushes for the few pods a step will visit.
    #[inline(always)]
    fn add(&mut self, i: usize, f: &Facts, d: &Derived, revision: &'a str) {
        let pre_deleting = f.state == State::PreparingDelete;
        // One increment per pod: the counters are sums over these six bits (see finish).
        let key = usize::from(d.is_update)
            | usize::from(d.is_update_scale) << 1
            | usize::from(pre_deleting) << 2
            | usize::from(d.specified_delete) << 3
            | usize::from(d.available) << 4
            | usize::from(d.update_ready) << 5;
        self.buckets[key] += 1;
        if d.specified_delete || pre_deleting {
            self.num_to_delete += 1;
            if d.specified_delete {
                self.specified.push(i);
            }
            if pre_deleting {
                self.pre_deleting.push(i);
            }
        }
        // The conditions under which refresh_in_place, refresh_lifecycle or the template-hash
        // fix can do anything (update.rs).
        let lifecycle_moves = matches!(
            f.state,
            State::PreparingNormal | State::PreparingUpdate | State::Updating | State::Updated
        );
        if f.has_grace
            || !(f.inplace_ready_clean && f.state != State::Updating)
            || lifecycle_moves
            || (!f.has_template_hash && !revision.is_empty())
        {
            self.refresh.push(i);
        }
        // Pods of one revision share the interned string in a table: compare addresses first.
        let same = self.last_revision.is_some_and(|l| std::ptr::eq(l, revision) || l == revision);
        if !same {
            self.revisions.insert(revision);
            self.last_revision = Some(revision);
        }
    }

    /// Completes the counters after the last pod: O(64).
    fn finish(&mut self) {
        for (key, &n) in self.buckets.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let bit = |b: usize| key & (1 << b) != 0;
            let n = n as i32;
            let (is_update, is_update_scale, pre_del, specified, available, update_ready) =
                (bit(0), bit(1), bit(2), bit(3), bit(4), bit(5));
            self.plain.add_n(pre_del, specified, available, is_update, n);
            self.scale.add_n(pre_del, specified, available, is_update_scale, n);
            self.status.add_n(update_ready, available, is_update, n);
        }
    }
}

/// CS-24 for one pod: what the claim pass does with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Admission {
    /// Active and controlled by this CloneSet.
    Claimed,
    /// Active, to be adopted: listed through a non-controller owner reference, no
    /// controller, matching the selector (CS-24).
    Adopt,
    /// Controlled but no longer matching the selector: released (unless the CloneSet is
    /// being deleted).
    Release,
    /// Owned but finished or terminating.
    Inactive,
    /// Not ours.
    Ignore,
}

/// CS-24 from the pod's facts and its claim facts. O(1).
#[inline(always)]
fn admission(f: &Facts, c: Claim, deleting: bool) -> Admission {
    if !c.listed {
        // CS-24: pods are listed by owner-reference uid only. A pod with no reference to this
        // CloneSet (a bare pod someone made by hand, or another controller's) is never
        // counted, adopted or deleted, even when it matches the selector.
        return Admission::Ignore;
    }
    if !f.active {
        return Admission::Inactive;
    }
    if c.controlled && !c.matches {
        return if deleting { Admission::Ignore } else { Admission::Release };
    }
    if !c.controlled {
        if !c.matches || f.terminating || deleting {
            return Admission::Ignore;
        }
        return Admission::Adopt;
    }
    Admission::Claimed
}

/// The rows of a [`PodTable`] the claim pass admitted (CS-24), in order, and what turning
/// them into [`PodInfo`]s needs.
struct Deferred<'a> {
    table: &'a PodTable,
    env: PodEnv,
    rows: Vec<&'a table::Row>,
    /// Positions (in `rows`) of the pods named in `podsToDelete`, ascending.
    listed: Vec<usize>,
    /// Per interned revision: 1 = the update revision (CS-31).
    is_update_of: Vec<u8>,
}

impl<'a> Deferred<'a> {
    fn info(&self, i: usize, listed: bool) -> PodInfo<'a> {
        let r: &'a table::Row = self.rows[i];
        let revision = self.table.revisions.get(r.revision);
        let is_update = self.is_update_of[r.revision as usize] == 1;
        PodInfo::from_facts(&r.pod, &r.name, revision, i as u32, &r.facts, &self.env, listed, is_update)
    }
}

impl<'a> Ctx<'a> {
    /// Active, claimed pods, by name ascending (CS-24, CS-91). From a table, the records are
    /// built on first use, O(n): a plan whose counters show nothing to do never builds them.
    pub fn pods(&self) -> &[PodInfo<'a>] {
        self.pods.get_or_init(|| {
            let Some(d) = &self.deferred else { return Vec::new() };
            let mut cursor = 0usize;
            (0..d.rows.len())
                .map(|i| {
                    let listed = d.listed.get(cursor) == Some(&i);
                    cursor += usize::from(listed);
                    d.info(i, listed)
                })
                .collect()
        })
    }

    /// The record of pod `i` (a position of [`Ctx::pods`]) without building the others: steps
    /// that visit only the pods the tally listed use this. O(1), plus O(log k) for the
    /// `podsToDelete` mark.
    pub fn pod(&self, i: usize) -> PodInfo<'a> {
        match (self.pods.get(), &self.deferred) {
            (None, Some(d)) => d.info(i, d.listed.binary_search(&i).is_ok()),
            _ => self.pods()[i].clone(),
        }
    }

    /// Calls `f` with the record of every active, claimed pod, in order (CS-91). From a table
    /// whose records were not built, each record is built, used and dropped: O(n) time, O(1)
    /// memory, where [`Ctx::pods`] would keep them all.
    pub fn each_pod(&self, mut f: impl FnMut(&PodInfo<'a>)) {
        match (self.pods.get(), &self.deferred) {
            (None, Some(d)) => {
                let mut cursor = 0usize;
                for i in 0..d.rows.len() {
                    let listed = d.listed.get(cursor) == Some(&i);
                    cursor += usize::from(listed);
                    f(&d.info(i, listed));
                }
            }
            _ => self.pods().iter().for_each(f),
        }
    }

    /// Number of active, claimed pods (without building their records).
    pub fn len(&self) -> usize {
        self.tally.status.replicas as usize
    }
}

impl Ctx<'_> {
    pub fn update_revision(&self) -> &str {
        self.revs.update_name()
    }
    pub fn current_revision(&self) -> &str {
        self.revs.current_name()
    }
    pub fn hook(&self, f: impl Fn(&Lifecycle) -> Option<&LifecycleHook>) -> Option<&LifecycleHook> {
        self.lifecycle.and_then(f)
    }
    pub fn exclude_preparing_delete(&self) -> bool {
        self.cs.spec.scale_strategy.exclude_preparing_delete
            || self.input.features.cloneset_scaling_exclude_preparing_delete
            || self
                .cs
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(keys::CLONESET_SCALING_EXCLUDE_PREPARING_DELETE))
                .is_some_and(|v| v == "true")
    }
    pub fn diffs(&self, for_scale: bool) -> Diffs {
        diff::finish(
            &self.limits,
            if for_scale { &self.tally.scale } else { &self.tally.plain },
            self.input.features.clone_set_partition_rollback,
            self.revs.update == self.revs.current,
            self.exclude_preparing_delete(),
        )
    }

    /// Deviation (upstream bug 19, kruise PR #2370): with an in-place policy and some pod not
    /// on the update revision, whether every revision a pod is on can be updated to the update
    /// revision in place (CS-67); the rollout then runs as with maxSurge 0 (no surge pod is
    /// created only to be deleted again). O(distinct pod revisions) in-place diffs.
    fn in_place_forward(&self) -> bool {
        let policy = self.cs.pod_update_policy();
        if !policy.is_in_place()
            || self.revs.sorted.is_empty()
            || self.tally.status.updated >= self.tally.status.replicas
        {
            return false;
        }
        let update = self.revs.update_name();
        self.tally.revisions.iter().all(|label| {
            if revision_matches(label, update) {
                return true;
            }
            let old = self
                .revs
                .sorted
                .iter()
                .position(|r| revision_matches(label, r.metadata.name.as_deref().unwrap_or_default()));
            old.is_some_and(|o| update::in_place_spec_for(self, o, self.revs.update, policy).is_some())
        })
    }
}

/// The plan under construction: actions plus at most one held entry per pod.
#[derive(Default)]
pub(crate) struct Builder {
    pub plan: Plan,
    /// Bit `i` set: the pod at position `i` of `Ctx::pods` is held.
    held: Vec<u64>,
    pub scale_error: Option<String>,
    pub update_error: Option<String>,
}

impl Builder {
    pub fn push(&mut self, a: Action) {
        self.plan.actions.push(a);
    }
    /// Room for `n` more held pods (avoids the doubling of a growing list when a step
    /// knows how many it will hold).
    pub fn reserve_holds(&mut self, n: usize) {
        self.plan.held.reserve(n);
    }
    /// Holds pod `p` unless it is held already. O(1): one bit per pod position.
    pub fn hold(&mut self, p: &PodInfo<'_>, reason: Reason) {
        let (word, bit) = (p.idx as usize / 64, 1u64 << (p.idx % 64));
        if word >= self.held.len() {
            self.held.resize(word + 1, 0);
        }
        if self.held[word] & bit != 0 {
            return;
        }
        self.held[word] |= bit;
        self.plan.held.push(Held::pod(p.name, reason));
    }
}

/// Plans one reconcile of a CloneSet (CS-23). Errors only for unusable input.
///
/// The steps, in order: [`validate`] the spec, wait for scale expectations
/// ([`scale_expectations`], CS-87), resolve revisions and claim the pods in one pass whatever
/// the input form ([`claim_pass`], CS-24, CS-26..CS-31), clean up PVCs ([`pvc_cleanup`],
/// CS-25), write revisions (CS-28..CS-30), wait for resource-version expectations (CS-88),
/// scale or update ([`sync`], CS-23 step 11), status (CS-82..CS-86), `podsToDelete`
/// truncation (CS-55), history truncation (CS-32) and the `minReadySeconds` requeue (CS-90).
pub fn plan<'a>(input: &Input<'a>) -> Result<Plan, PlanError> {
    let cs = input.cloneset;
    let (name, selector, limits) = validate(cs)?;
    let mut b = Builder::default();
    b.plan.status = cs.status.clone().unwrap_or_default();

    // CS-23 step 3 / CS-87: scale expectations.
    let timeout = Duration::from_secs(u64::from(input.features.expectation_timeout_seconds));
    if scale_expectations(input, timeout, &mut b.plan) {
        return Ok(b.plan);
    }

    // CS-24 (with CS-26..CS-31): revisions, then active / inactive pods and the claim.
    let revs = revision::resolve(cs, input.revisions);
    let env = PodEnv {
        now: input.now,
        min_ready_seconds: cs.spec.min_ready_seconds,
        update_revision: revs.update_name().to_owned(),
        update_short: short_hash(revs.update_name()).to_owned(),
        preparing_update_as_update: input.features.preparing_update_as_update,
    };
    let claim_of =
        |pod: &Pod| table::claim(pod, cs.metadata.uid.as_deref(), "CloneSet", Some(name), Some(&selector));
    // Slice input: each pod's facts, read once, in name order (the table keeps them per row).
    let scanned: Vec<(&Pod, table::Scanned<'_>)> = match input.pods {
        Pods::Slice(pods) => {
            let mut order: Vec<&Pod> = pods.iter().collect();
            // Adapters usually list by name already: an O(n) check avoids the sort.
            if !order.is_sorted_by(|a, b| a.metadata.name <= b.metadata.name) {
                order.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
            }
            order.into_iter().map(|pod| (pod, Facts::scan(pod))).collect()
        }
        Pods::Table(_) => Vec::new(),
    };
    let (pods, deferred, inactive, tally, claim_actions) = match input.pods {
        Pods::Slice(_) => {
            let views = scanned.iter().enumerate().map(|(i, (pod, s))| {
                let view = View {
                    pod,
                    name: s.name,
                    revision: s.revision,
                    facts: &s.facts,
                    claim: claim_of(pod),
                    name_hash: None,
                    revision_id: None,
                };
                (i, view)
            });
            let c = claim_pass(views, cs, &env, 0);
            let active: Vec<PodInfo<'_>> = c
                .admitted
                .iter()
                .enumerate()
                .map(|(k, &i)| {
                    let (pod, s) = &scanned[i];
                    let listed = c.listed.binary_search(&k).is_ok();
                    let is_update = env.is_update(s.revision);
                    PodInfo::from_facts(pod, s.name, s.revision, k as u32, &s.facts, &env, listed, is_update)
                })
                .collect();
            (std::cell::OnceCell::from(active), None, c.inactive, c.tally, c.claim_actions)
        }
        Pods::Table(t) => {
            // Rows come in name order with their facts; only the claim facts are recomputed,
            // and only if the table was built for another uid, name or selector.
            let in_sync = t.owner().same(cs, &selector.to_canonical());
            let views = t.rows.iter().map(|row| {
                let view = View {
                    pod: &row.pod,
                    name: &row.name,
                    revision: t.revisions.get(row.revision),
                    facts: &row.facts,
                    claim: if in_sync { row.claim } else { claim_of(&row.pod) },
                    name_hash: Some(row.name_hash),
                    revision_id: Some(row.revision),
                };
                (row, view)
            });
            let c = claim_pass(views, cs, &env, t.revisions.capacity());
            let deferred =
                Deferred { table: t, env, rows: c.admitted, listed: c.listed, is_update_of: c.is_update_of };
            (std::cell::OnceCell::new(), Some(deferred), c.inactive, c.tally, c.claim_actions)
        }
    };
    let mut ctx = Ctx {
        input,
        cs,
        name,
        limits,
        revs,
        pods,
        deferred,
        inactive,
        lifecycle: cs.spec.lifecycle.as_ref(),
        tally,
    };

    // Deviation (upstream bug 19): an all-in-place rollout uses no surge.
    if ctx.limits.max_surge > 0 && ctx.in_place_forward() {
        ctx.limits = Limits::with_surge(cs, false)?;
    }

    // CS-25: PVC clean-up when reuse is disabled.
    let pvcs = pvc_cleanup(&ctx, &mut b);
    b.plan.actions.extend(claim_actions);

    // CS-28..CS-30: revision writes.
    if let Some(w) = ctx.revs.write {
        let r = &ctx.revs.sorted[ctx.revs.update];
        let kind = match w {
            revision::RevisionWrite::Create => {
                ActionKind::CreateRevision { number: r.revision, collision_count: ctx.revs.collision_count }
            }
            revision::RevisionWrite::Bump => ActionKind::UpdateRevision { number: r.revision },
        };
        b.push(Action::new(kind, None, r.metadata.name.as_deref(), Reason::NewRevision));
    }

    // CS-88: resource-version expectations.
    if let Some(stop) = rv_expectations(&ctx, timeout) {
        b.plan.requeue = None;
        if let Some(after) = stop {
            let e = input.expectations;
            b.plan.requeue_at_most(
                after,
                Reason::AwaitingExpectations {
                    creates: e.creates.len(),
                    deletes: e.deletes.len(),
                    resource_versions: e.resource_versions.len(),
                },
            );
        }
        return Ok(b.plan);
    }

    // CS-23 step 11: sync.
    let synced = cs.metadata.deletion_timestamp.is_none() && sync(&ctx, &pvcs, &mut b);

    // CS-82..CS-86: status.
    status::status(&ctx, &selector, &mut b);

    // CS-55: podsToDelete truncation.
    truncate_pods_to_delete(&ctx, &mut b);

    // CS-32: history truncation.
    let pod_revs: Vec<&str> = ctx.tally.revisions.iter().copied().collect();
    let limit = cs.spec.revision_history_limit.unwrap_or(10);
    for r in revision::truncate_history(&ctx.revs, &pod_revs, limit) {
        b.push(Action::new(ActionKind::DeleteRevision, None, Some(r), Reason::HistoryLimit { limit }));
    }

    // CS-90: minReadySeconds requeue.
    let m = cs.spec.min_ready_seconds;
    if synced && m > 0 && b.plan.status.available_replicas != b.plan.status.ready_replicas {
        b.plan.requeue_at_most(Duration::from_secs(m as u64), Reason::MinReadySeconds { seconds: m });
    }
    Ok(b.plan)
}

/// CS-13 as far as planning needs it: the name, the parsed selector (non-empty) and the
/// limits (CS-36). Errors name the field.
fn validate(cs: &CloneSet) -> Result<(&str, Selector, Limits), PlanError> {
    let name = cs
        .metadata
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| PlanError::invalid("metadata.name", "required"))?;
    if cs.replicas() < 0 {
        return Err(PlanError::invalid("spec.replicas", format!("must be >= 0, got {}", cs.replicas())));
    }
    let selector =
        cs.spec.selector.as_ref().ok_or_else(|| PlanError::invalid("spec.selector", "required"))?;
    let selector = Selector::parse(selector, "spec.selector")?;
    if selector.is_empty() {
        return Err(PlanError::invalid("spec.selector", "empty selector is invalid for cloneset"));
    }
    // CS-13: pods built from a template the selector does not match would be released by the
    // next plan and created again, forever.
    let template_labels = cs.spec.template.metadata.as_ref().and_then(|m| m.labels.as_ref());
    if !template_labels.is_some_and(|l| selector.matches(l)) {
        return Err(PlanError::invalid(
            "spec.template.metadata.labels",
            "`selector` does not match template `labels`",
        ));
    }
    Ok((name, selector, Limits::new(cs)?))
}

/// CS-87: `true` = stop here (scale expectations unsatisfied and not timed out, or timed out
/// without `force_delete_timeout_expectation`); the requeue is offered to `plan`.
fn scale_expectations(input: &Input<'_>, timeout: Duration, plan: &mut Plan) -> bool {
    let e = input.expectations;
    let Some(p) = e.pending().filter(|_| !e.scale_satisfied()) else { return false };
    let oldest = e.creates.values().chain(e.deletes.values()).min().copied().unwrap_or(p.oldest);
    let elapsed = input.now.duration_since(oldest).unsigned_abs();
    let reason = Reason::AwaitingExpectations {
        creates: p.creates,
        deletes: p.deletes,
        resource_versions: p.resource_versions,
    };
    if elapsed < timeout {
        plan.requeue_at_most(timeout - elapsed, reason);
        return true;
    }
    if !input.features.force_delete_timeout_expectation {
        return true;
    }
    plan.requeue_at_most(Duration::from_secs(10), reason);
    false
}

/// One pod as the claim pass reads it, whichever the input form: a [`PodTable`] row or a pod
/// of a slice with its facts scanned once.
#[derive(Clone, Copy)]
struct View<'a> {
    pod: &'a Pod,
    name: &'a str,
    revision: &'a str,
    facts: &'a Facts,
    claim: Claim,
    /// The name's hash, when the source keeps it.
    name_hash: Option<u64>,
    /// The interned revision label, when the source interns them (memoises CS-31).
    revision_id: Option<u32>,
}

/// What the claim pass found: the admitted pods (as the source's keys), positions of those
/// named in `podsToDelete`, the counters, the inactive pods and the adopt/release writes.
struct Claimed<'a, K> {
    admitted: Vec<K>,
    /// Positions (in `admitted`) of the pods named in `podsToDelete`, ascending.
    listed: Vec<usize>,
    tally: Tally<'a>,
    inactive: Vec<&'a Pod>,
    claim_actions: Vec<Action>,
    /// Per interned revision: 1 = the update revision (CS-31), 0 = not, 2 = not computed.
    is_update_of: Vec<u8>,
}

/// CS-35: the names in `podsToDelete` as a set probed once per pod by the pod's name hash.
/// A bitmap of about 16 bits per listed name answers "not listed" for nearly every pod in O(1)
/// (one bit read in a bitmap that stays in cache); only the rest search the sorted hashes
/// (O(log k)) and compare names on equal hashes. So marking n pods against k names is
/// O(n + k log k), whatever the ratio of k to n.
struct ListedNames<'a> {
    /// Bit `slot(h)` is set for the hash `h` of every listed name.
    bits: Vec<u64>,
    /// Number of bits - 1 (a power of two minus one).
    mask: u64,
    /// (hash, name), sorted, without duplicates.
    sorted: Vec<(u64, &'a str)>,
}

impl<'a> ListedNames<'a> {
    fn new(names: &'a [String]) -> Self {
        let mut sorted: Vec<(u64, &str)> = names.iter().map(|n| (table::name_hash(n), n.as_str())).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let nbits = (sorted.len() * 16).next_power_of_two().max(64);
        let mut set = Self { bits: vec![0; nbits / 64], mask: nbits as u64 - 1, sorted };
        for k in 0..set.sorted.len() {
            let slot = set.slot(set.sorted[k].0);
            set.bits[slot / 64] |= 1 << (slot % 64);
        }
        set
    }

    /// The bit of hash `h`: its high and low halves folded, so both contribute.
    fn slot(&self, h: u64) -> usize {
        ((h ^ (h >> 32)) & self.mask) as usize
    }

    fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// Whether `name` (whose [`table::name_hash`] is `h`) is listed.
    #[inline]
    fn contains(&self, h: u64, name: &str) -> bool {
        let slot = self.slot(h);
        if self.bits[slot / 64] & (1 << (slot % 64)) == 0 {
            return false;
        }
        let from = self.sorted.partition_point(|(x, _)| *x < h);
        self.sorted[from..].iter().take_while(|(x, _)| *x == h).any(|(_, n)| *n == name)
    }
}

/// CS-24 for every pod, in name order, for both input forms: admission (adopt, release,
/// inactive, ignore), the `podsToDelete` mark (CS-35) by name hash, the update test (CS-31)
/// and the counters (`Tally`). O(n + k log k) for k names in `podsToDelete`.
fn claim_pass<'a, K>(
    views: impl Iterator<Item = (K, View<'a>)>,
    cs: &CloneSet,
    env: &PodEnv,
    interned_revisions: usize,
) -> Claimed<'a, K> {
    let deleting = cs.metadata.deletion_timestamp.is_some();
    let listed_names = ListedNames::new(&cs.spec.scale_strategy.pods_to_delete);
    let mut c = Claimed {
        admitted: Vec::new(),
        listed: Vec::new(),
        tally: Tally::default(),
        inactive: Vec::new(),
        claim_actions: Vec::new(),
        is_update_of: vec![2; interned_revisions],
    };
    for (key, v) in views {
        match admission(v.facts, v.claim, deleting) {
            Admission::Claimed => {}
            Admission::Adopt => {
                c.claim_actions.push(Action::new(ActionKind::AdoptPod, Some(v.name), None, Reason::Claim))
            }
            Admission::Release => {
                c.claim_actions.push(Action::new(ActionKind::ReleasePod, Some(v.name), None, Reason::Claim));
                continue;
            }
            Admission::Inactive => {
                c.inactive.push(v.pod);
                continue;
            }
            Admission::Ignore => continue,
        }
        let is_update = match v.revision_id {
            Some(id) => {
                let memo = &mut c.is_update_of[id as usize];
                if *memo == 2 {
                    *memo = u8::from(env.is_update(v.revision));
                }
                *memo == 1
            }
            None => env.is_update(v.revision),
        };
        let listed = !listed_names.is_empty()
            && listed_names.contains(v.name_hash.unwrap_or_else(|| table::name_hash(v.name)), v.name);
        if listed {
            c.listed.push(c.admitted.len());
        }
        let d = Derived::of(v.facts, env, listed, is_update);
        c.tally.add(c.admitted.len(), v.facts, &d, v.revision);
        c.admitted.push(key);
    }
    c.tally.listed_names = listed_names.sorted.len();
    c.tally.finish();
    c
}

/// CS-25: when PVC reuse is disabled, PVCs of no active pod are handed to their inactive pod
/// or deleted. Returns the live PVCs (not terminating, by name) the scale step may reuse.
fn pvc_cleanup<'a>(ctx: &Ctx<'a>, b: &mut Builder) -> Vec<&'a PersistentVolumeClaim> {
    let input = ctx.input;
    let reuse = ctx.cs.spec.scale_strategy.enable_pvc_reuse;
    let mut pvcs: Vec<&PersistentVolumeClaim> =
        input.pvcs.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect();
    pvcs.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    if reuse || pvcs.is_empty() {
        return pvcs;
    }
    // Only built when there are PVCs to check (O(pods log pods)).
    let active_ids: BTreeSet<&str> = ctx.pods().iter().filter_map(|p| p.instance_id()).collect();
    let inactive_ids: std::collections::BTreeMap<&str, &str> = ctx
        .inactive
        .iter()
        .filter_map(|p| {
            let id = p.metadata.labels.as_ref()?.get(keys::CLONESET_INSTANCE_ID)?;
            Some((id.as_str(), p.metadata.name.as_deref()?))
        })
        .collect();
    let mut keep = Vec::new();
    for pvc in pvcs {
        let id =
            pvc.metadata.labels.as_ref().and_then(|l| l.get(keys::CLONESET_INSTANCE_ID)).map(String::as_str);
        let pname = pvc.metadata.name.as_deref().unwrap_or_default();
        match id {
            Some(id) if active_ids.contains(id) => keep.push(pvc),
            Some(id) if inactive_ids.contains_key(id) => b.push(Action::new(
                ActionKind::UpdatePvc { pvc: pname.to_owned() },
                inactive_ids.get(id).copied(),
                None,
                Reason::PvcCleanup,
            )),
            _ => b.push(Action::new(
                ActionKind::DeletePvc { pvc: pname.to_owned() },
                None,
                None,
                Reason::PvcCleanup,
            )),
        }
    }
    keep
}

/// CS-23 step 11 (the CloneSet is not being deleted): scale (§8) or, when scale changed
/// nothing, update (§9); then the `minReadySeconds` holds (CS-34). Returns whether the sync
/// succeeded (no scale or update error).
fn sync(ctx: &Ctx<'_>, pvcs: &[&PersistentVolumeClaim], b: &mut Builder) -> bool {
    let modified = scale::scale(ctx, pvcs, b);
    if modified {
        // Only when some pod is not on the update revision (else no record is built).
        if ctx.tally.status.updated < ctx.tally.status.replicas {
            for p in ctx.pods() {
                if !p.is_update && !ctx.revs.sorted.is_empty() {
                    b.hold(p, Reason::ScaleFirst);
                }
            }
        }
    } else {
        update::update(ctx, b);
    }
    // Ready pods still inside minReadySeconds: counted unavailable, waited for (CS-34).
    let m = ctx.cs.spec.min_ready_seconds;
    if m > 0 {
        for p in ctx.pods().iter().filter(|p| p.update_ready && !p.available) {
            if matches!(p.state, State::None | State::Normal) {
                b.hold(p, Reason::MinReadySeconds { seconds: m });
            }
        }
    }
    b.scale_error.is_none() && b.update_error.is_none()
}

/// CS-55: rewrites `podsToDelete` without the names of pods that are not active. Which listed
/// names are active pods: those marked while claiming. Every name of a marked pod is listed,
/// so when the marked pods have as many distinct names as the list, nothing is to be removed:
/// O(k) for k marked pods (they come in name order, so distinct names are counted by
/// comparing neighbours); only a list that needs rewriting pays O(k log k) for the set.
fn truncate_pods_to_delete(ctx: &Ctx<'_>, b: &mut Builder) {
    let ptd = &ctx.cs.spec.scale_strategy.pods_to_delete;
    if ptd.is_empty() {
        return;
    }
    let marked = || ctx.tally.specified.iter().map(|&i| ctx.pod(i)).filter(|p| p.listed).map(|p| p.name);
    let mut distinct = 0usize;
    let mut last: Option<&str> = None;
    for name in marked() {
        if last != Some(name) {
            distinct += 1;
            last = Some(name);
        }
    }
    if distinct == ctx.tally.listed_names {
        return;
    }
    let present: BTreeSet<&str> = marked().collect();
    if ptd.iter().any(|n| !present.contains(n.as_str())) {
        let kept: Vec<String> = ptd.iter().filter(|n| present.contains(n.as_str())).cloned().collect();
        b.push(Action::new(
            ActionKind::UpdateSpec { pods_to_delete: kept },
            None,
            None,
            Reason::TruncatePodsToDelete,
        ));
    }
}

/// CS-88: `Some(Some(d))` = stop and requeue after `d`; `Some(None)` = stop without requeue;
/// `None` = go on. Cost: O(pods) map look-ups, only when expectations are pending.
fn rv_expectations(ctx: &Ctx<'_>, timeout: Duration) -> Option<Option<Duration>> {
    let e = &ctx.input.expectations.resource_versions;
    if e.is_empty() {
        return None;
    }
    let unsatisfied = |uid: Option<&str>, rv: Option<&str>| -> Option<Duration> {
        let exp = e.get(uid?)?;
        if rv.and_then(|r| r.parse::<u64>().ok()).is_some_and(|r| r >= exp.resource_version) {
            return None;
        }
        Some(ctx.input.now.duration_since(exp.since).unsigned_abs())
    };
    let rev = &ctx.revs.sorted[ctx.revs.update];
    if let Some(elapsed) = unsatisfied(rev.metadata.uid.as_deref(), rev.metadata.resource_version.as_deref())
        && elapsed < timeout
    {
        return Some(Some(timeout - elapsed));
    }
    for p in ctx.pods() {
        let m = &p.pod.metadata;
        if let Some(elapsed) = unsatisfied(m.uid.as_deref(), m.resource_version.as_deref()) {
            return Some(if elapsed < timeout { Some(timeout - elapsed) } else { None });
        }
    }
    None
}
