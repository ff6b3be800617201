//! Rolling update (ADS-18..ADS-24), `OnDelete` / `paused` holds (ADS-25, ADS-26) and the
//! in-place refresh (ADS-27).
//!
//! Nodes are visited in the ADS-21 order (updated, updating, then selected or rest; each by
//! descending name), which makes the choice among candidates deterministic (spec §10 q1).

use kruise_api::apps::v1beta1::RollingUpdateType;
use kruise_api::intstr::{scaled_kruise, scaled_strict};
use kruise_api::keys;

use super::history::History;
use super::pods::DsPod;
use super::{Builder, Ctx, NodeRow, bad_int, sync_nodes};
use crate::cloneset::short_hash;
use crate::inplace::{self, SpecOptions};
use crate::plan::{Action, ActionKind, DaemonSetReason as R, PlanError, PodConditionUpdate, Reason};
use crate::selector::Selector;

fn ds(r: R) -> Reason {
    Reason::DaemonSet(r)
}

/// ADS-20: what a node holds, among its non-terminating pods.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot<'p, 'a> {
    /// At most one updated and at most one non-updated pod.
    pub ok: bool,
    /// The updated pod.
    pub new: Option<&'p DsPod<'a>>,
    /// The non-updated pod.
    pub old: Option<&'p DsPod<'a>>,
}

/// ADS-20 for one node's pods.
pub(crate) fn classify<'p, 'a>(pods: &'p [DsPod<'a>]) -> Slot<'p, 'a> {
    let mut s = Slot { ok: true, new: None, old: None };
    for p in pods.iter().filter(|p| !p.terminating) {
        let slot = if p.updated { &mut s.new } else { &mut s.old };
        if slot.is_some() {
            s.ok = false;
        }
        *slot = Some(p);
    }
    if !s.ok {
        s.new = None;
        s.old = None;
    }
    s
}

/// ADS-19: `(maxUnavailable, maxSurge)` for `desired` nodes.
pub(crate) fn budgets(ctx: &Ctx<'_>, desired: i32) -> Result<(i32, i32), PlanError> {
    let ru = ctx.ds.spec.update_strategy.rolling_update.as_ref();
    let read = |v: Option<&k8s_openapi::apimachinery::pkg::util::intstr::IntOrString>, path: &str| match v {
        None => Ok(0),
        Some(v) => scaled_strict(Some(v), desired, true).map_err(|_| bad_int(path, Some(v))),
    };
    let mut unavailable = read(
        ru.and_then(|r| r.max_unavailable.as_ref()),
        "spec.updateStrategy.rollingUpdate.maxUnavailable",
    )?;
    let surge = read(ru.and_then(|r| r.max_surge.as_ref()), "spec.updateStrategy.rollingUpdate.maxSurge")?;
    if desired > 0 && unavailable == 0 && surge == 0 {
        unavailable = 1;
    }
    Ok((unavailable.max(0), surge.max(0)))
}

/// Why a node was left out of the ADS-21 order.
enum Excluded {
    Partition(i32),
    NotSelected,
}

/// ADS-18: the nodes taking part, by name ascending, with what they hold.
type NodeMap<'m, 'a> = Vec<(&'m NodeRow<'a>, Slot<'m, 'a>)>;

/// Positions in a [`NodeMap`]: the nodes that may be updated, in order, and the excluded ones
/// with their reason.
type Eligible = (Vec<usize>, Vec<(usize, Excluded)>);

/// ADS-21: the nodes that may be updated, in order, and the excluded ones with their reason.
fn eligible(ctx: &Ctx<'_>, map: &NodeMap<'_, '_>) -> Result<Eligible, PlanError> {
    let ru = ctx.ds.spec.update_strategy.rolling_update.as_ref();
    let selector = match ru.and_then(|r| r.selector.as_ref()) {
        None => None,
        Some(s) => Some(Selector::parse(s, "spec.updateStrategy.rollingUpdate.selector")?),
    };
    let (mut updated, mut updating, mut selected, mut rest) = (vec![], vec![], vec![], vec![]);
    for (node, (row, slot)) in map.iter().enumerate().rev() {
        if !slot.ok || slot.new.is_some() {
            updated.push(node);
        } else if slot.old.is_none_or(|o| o.pre_deleting) {
            updating.push(node);
        } else if selector.as_ref().is_some_and(|s| s.matches(&row.facts.labels)) {
            selected.push(node);
        } else {
            rest.push(node);
        }
    }
    let mut excluded = Vec::new();
    let mut order = updated;
    order.append(&mut updating);
    if selector.is_some() {
        order.append(&mut selected);
        excluded.extend(rest.into_iter().map(|n| (n, Excluded::NotSelected)));
    } else {
        order.append(&mut rest);
    }
    let partition = match ru.and_then(|r| r.partition.as_ref()) {
        None => 0,
        Some(p) => scaled_kruise(Some(p), ctx.stored.desired_number_scheduled, false)
            .map_err(|_| bad_int("spec.updateStrategy.rollingUpdate.partition", Some(p)))?,
    };
    let max_update = i64::try_from(map.len()).unwrap_or(i64::MAX) - i64::from(partition);
    let keep = usize::try_from(max_update.max(0)).unwrap_or(0).min(order.len());
    excluded.extend(order.drain(keep..).map(|n| (n, Excluded::Partition(partition))));
    Ok((order, excluded))
}

/// ADS-18..ADS-24.
pub(crate) fn rolling_update(ctx: &Ctx<'_>, b: &mut Builder, hist: &History<'_>) -> Result<(), PlanError> {
    // ADS-18: the node → pods map.
    let prune = ctx.input.features.daemon_set_prune_ineligible_nodes;
    let mut map: NodeMap<'_, '_> = Vec::with_capacity(ctx.nodes.len());
    for row in &ctx.nodes {
        if prune && !row.e.should_run {
            continue;
        }
        let pods = ctx.pods_on(row);
        if !pods.is_empty() {
            map.push((row, classify(pods)));
        } else if row.e.should_run {
            map.push((row, Slot { ok: true, new: None, old: None }));
        }
    }
    let desired = ctx.desired();
    let (max_unavailable, max_surge) = budgets(ctx, desired)?;
    let (order, excluded) = eligible(ctx, &map)?;
    for (node, why) in &excluded {
        if let Some(old) = map[*node].1.old.filter(|o| !o.pre_deleting) {
            let reason = match why {
                Excluded::Partition(p) => Reason::Partition { partition: *p },
                Excluded::NotSelected => ds(R::NotSelected),
            };
            b.hold_pod(old.name, reason);
        }
    }
    if max_surge == 0 {
        no_surge(ctx, b, hist, &map, &order, max_unavailable);
    } else {
        surge(ctx, b, &map, &order, max_surge);
    }
    Ok(())
}

/// ADS-22: replace old pods within `maxUnavailable`.
fn no_surge(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    hist: &History<'_>,
    map: &NodeMap<'_, '_>,
    order: &[usize],
    max_unavailable: i32,
) {
    let (now, mr) = (ctx.now, ctx.min_ready);
    let pd = |p: Option<&DsPod<'_>>| p.is_none_or(|p| p.pre_deleting);
    let mut unavailable = 0i32;
    let mut allowed: Vec<&DsPod<'_>> = Vec::new();
    let mut candidates: Vec<&DsPod<'_>> = Vec::new();
    for &node in order {
        let s = &map[node].1;
        match (s.ok, s.new, s.old) {
            (false, _, _) => unavailable += 1,
            (_, n, o) if (pd(o) && pd(n)) || (n.is_some() && o.is_some() && !pd(n) && !pd(o)) => {
                unavailable += 1
            }
            (_, Some(n), _) => {
                unavailable += i32::from(!n.is_available(mr, now)) + i32::from(n.pre_deleting);
            }
            (_, None, Some(o)) => {
                if !o.is_available(mr, now) {
                    if o.ready && mr > 0 {
                        // Deviation (bug 21): a Ready old pod still inside minReadySeconds (a
                        // kubelet restart resets the transition time) counts as unavailable
                        // and is not replaced outside the budget.
                        unavailable += 1;
                        b.hold_pod(o.name, Reason::MinReadySeconds { seconds: mr });
                    } else {
                        allowed.push(o);
                    }
                } else if unavailable >= max_unavailable {
                    b.hold_pod(o.name, Reason::MaxUnavailable { unavailable, limit: max_unavailable });
                } else {
                    candidates.push(o);
                }
            }
            (_, None, None) => {}
        }
    }
    let room = usize::try_from((max_unavailable - unavailable).max(0)).unwrap_or(0).min(candidates.len());
    let after = unavailable.saturating_add(i32::try_from(room).unwrap_or(i32::MAX));
    for o in &candidates[room..] {
        b.hold_pod(o.name, Reason::MaxUnavailable { unavailable: after, limit: max_unavailable });
    }
    let mut chosen: Vec<(&DsPod<'_>, Reason)> =
        allowed.into_iter().map(|p| (p, ds(R::UnavailableReplaced))).collect();
    chosen.extend(
        candidates[..room].iter().map(|p| (*p, ds(R::Replace { unavailable, limit: max_unavailable }))),
    );
    let deletes = if ctx.ds.rolling_update_type() == RollingUpdateType::InPlaceIfPossible {
        in_place(ctx, b, hist, chosen)
    } else {
        chosen
    };
    sync_nodes(ctx, b, &[], &deletes);
}

/// ADS-24: updates what it can in place (at most `burst`), returns the pods to delete.
fn in_place<'p, 'a>(
    ctx: &Ctx<'_>,
    b: &mut Builder,
    hist: &History<'_>,
    chosen: Vec<(&'p DsPod<'a>, Reason)>,
) -> Vec<(&'p DsPod<'a>, Reason)> {
    let opts = SpecOptions {
        env_from_metadata: ctx.input.features.in_place_update_env_from_metadata,
        vertical_scaling: ctx.input.features.in_place_workload_vertical_scaling,
    };
    let mut deletes = Vec::new();
    let mut done = 0usize;
    // Whether the template change from a revision can be made in place: the diff is computed
    // once per source revision, not once per pod.
    let mut possible_from: std::collections::BTreeMap<&str, bool> = std::collections::BTreeMap::new();
    for (p, reason) in chosen {
        let from =
            hist.old.iter().rev().find(|r| {
                !p.hash.is_empty() && (r.hash == p.hash || short_hash(r.hash) == short_hash(p.hash))
            });
        let possible = p.inplace_gate
            && from.is_some_and(|r| {
                *possible_from.entry(r.name).or_insert_with(|| {
                    r.data
                        .is_some_and(|d| inplace::in_place_spec(d, &hist.data, &ctx.revision, opts).is_some())
                })
            });
        match from {
            Some(r) if possible => {
                if done < ctx.burst {
                    done += 1;
                    let mut a = Action::new(
                        ActionKind::UpdateInPlace { from_revision: r.name.to_owned() },
                        Some(p.name),
                        Some(&ctx.revision),
                        reason,
                    );
                    a.object = Some(crate::plan::ObjectRef::node(p.node));
                    b.push(a);
                } else {
                    b.hold_pod(p.name, ds(R::BurstLimit { limit: ctx.burst }));
                }
            }
            _ => deletes.push((p, reason)),
        }
    }
    deletes
}

/// ADS-23: surge new pods within `maxSurge`, delete old pods whose replacement is available.
fn surge(ctx: &Ctx<'_>, b: &mut Builder, map: &NodeMap<'_, '_>, order: &[usize], max_surge: i32) {
    let (now, mr) = (ctx.now, ctx.min_ready);
    let mut surged = 0i32;
    let mut allowed: Vec<&str> = Vec::new();
    let mut candidates: Vec<(&str, &DsPod<'_>)> = Vec::new();
    let mut old_to_delete: Vec<(&DsPod<'_>, Reason)> = Vec::new();
    for &i in order {
        let (row, s) = &map[i];
        let node = row.facts.name.as_str();
        if !s.ok {
            surged += 1;
            continue;
        }
        let Some(old) = s.old.filter(|o| !o.pre_deleting) else { continue };
        match s.new {
            // Deviation (fuzz finding): no surge pod on a node that should not run one (a
            // NoSchedule-tainted node keeping its old pod); upstream creates it (ADS-18).
            None if !row.e.should_run => {
                let why = row.e.why_not.as_ref().map(ToString::to_string).unwrap_or_default();
                b.hold_pod(old.name, ds(R::NodeIneligible { why }));
            }
            None => {
                if !old.is_available(mr, now) {
                    allowed.push(node);
                } else if surged >= max_surge {
                    b.hold_pod(old.name, ds(R::MaxSurge { surge: surged, limit: max_surge }));
                } else {
                    candidates.push((node, old));
                }
            }
            Some(new) => {
                if !new.is_available(mr, now) || new.pre_deleting {
                    surged += 1;
                    b.hold_pod(old.name, ds(R::WaitingForNewPod));
                } else {
                    old_to_delete.push((old, ds(R::SurgeReplaced)));
                }
            }
        }
    }
    let room = usize::try_from((max_surge - surged).max(0)).unwrap_or(0).min(candidates.len());
    let after = surged.saturating_add(i32::try_from(room).unwrap_or(i32::MAX));
    for (_, old) in &candidates[room..] {
        b.hold_pod(old.name, ds(R::MaxSurge { surge: after, limit: max_surge }));
    }
    let creates: Vec<(&str, Reason)> = allowed
        .into_iter()
        .map(|n| (n, ds(R::UnavailableReplaced)))
        .chain(candidates[..room].iter().map(|(n, _)| (*n, ds(R::Surge { surge: surged, limit: max_surge }))))
        .collect();
    sync_nodes(ctx, b, &creates, &old_to_delete);
}

/// ADS-25, ADS-26: pods not on the current hash are held with `reason`.
pub(crate) fn hold_outdated(ctx: &Ctx<'_>, b: &mut Builder, reason: Reason) {
    for row in &ctx.nodes {
        for p in ctx.pods_on(row) {
            if !p.terminating && !p.updated {
                b.hold_pod(p.name, reason.clone());
            }
        }
    }
}

/// ADS-27: for each pod with an in-place update in progress: push the next container batch,
/// or set `InPlaceUpdateReady=True` once the update completed; a pod with the readiness gate
/// and no such condition (a new pod) gets it `True` too. (The DaemonSet uses no grace
/// period.)
pub(crate) fn refresh_in_place(ctx: &Ctx<'_>, b: &mut Builder) {
    for p in ctx.all_pods().filter(|p| !p.terminating) {
        if p.has_state
            && let Some(state) = inplace::update_state(p.pod)
        {
            if !inplace::containers_updated(p.pod, &state, SpecOptions::from_features(&ctx.input.features)) {
                b.hold_pod(p.name, Reason::InPlaceUpdating);
                continue;
            }
            let pending = !state.next_container_images.is_empty()
                || !state.next_container_resources.is_empty()
                || !state.next_container_ref_metadata.is_empty();
            if pending {
                if inplace::next_batch(p.pod, SpecOptions::from_features(&ctx.input.features)).is_some() {
                    b.push(Action::new(
                        ActionKind::ApplyNextBatch,
                        Some(p.name),
                        Some(&state.revision),
                        Reason::InPlaceUpdating,
                    ));
                } else {
                    b.hold_pod(p.name, Reason::InPlaceUpdating);
                }
                continue;
            }
        }
        // Absent or not True: set True (a new pod gets its gate's condition here).
        if p.inplace_gate && !p.inplace_ready {
            b.push(Action::new(
                ActionKind::UpdatePodStatus {
                    condition: PodConditionUpdate {
                        type_: keys::INPLACE_UPDATE_READY.into(),
                        status: "True".into(),
                        reason: String::new(),
                        message: String::new(),
                    },
                },
                Some(p.name),
                None,
                Reason::InPlaceReadiness,
            ));
        }
    }
}
