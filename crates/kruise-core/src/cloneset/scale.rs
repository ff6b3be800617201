//! Scale (CS-42..CS-55): cancel PreparingDelete, create pods split between the current and
//! update revisions, finish PreparingDelete, specified deletion, scale in. O(pods) plus the
//! sort of the group chosen from.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kruise_api::keys;

use super::pods::{PodInfo, State};
use super::{Action, ActionKind, Builder, Ctx, Reason, hooked, lifecycle_patch, scalein};

/// CS-42: when a scale step ends the pass before step 6, every pod specified for deletion is
/// held with [`Reason::DeletionDeferred`], so a user sees why a pod named in `podsToDelete`
/// still runs. Pods in PreparingDelete are included unless step 5 (CS-49), which acts on them
/// or holds them itself, has run (`after_step_5`). O(specified).
fn defer_specified(ctx: &Ctx<'_>, specified: &[usize], b: &mut Builder, after_step_5: bool) {
    if specified.is_empty() {
        return;
    }
    for &i in specified {
        let p = ctx.pod(i);
        if !after_step_5 || p.state != State::PreparingDelete {
            b.hold(&p, Reason::DeletionDeferred);
        }
    }
}

/// CS-42. Returns `modified`.
pub fn scale(ctx: &Ctx<'_>, pvcs: &[&PersistentVolumeClaim], b: &mut Builder) -> bool {
    let now = ctx.input.now;
    // The pod records are built only when a step below reads them (Ctx::pods).
    let pods = || ctx.pods();
    // Step 1.
    // Collected while claiming (Tally), in pod order.
    let specified: &[usize] = &ctx.tally.specified;
    let pre_deleting: &[usize] = &ctx.tally.pre_deleting;
    let num_to_delete = ctx.tally.num_to_delete;
    let r = ctx.limits.replicas;

    // Step 2, CS-43.
    let mark =
        |f: fn(&kruise_api::apps::common::Lifecycle) -> Option<&kruise_api::apps::common::LifecycleHook>| {
            ctx.hook(f).is_some_and(|h| h.mark_pod_not_ready)
        };
    if !mark(|l| l.pre_delete.as_ref()) && !mark(|l| l.in_place_update.as_ref()) {
        let mut diff = r - ctx.len() as i32 + num_to_delete;
        let mut patched = false;
        for &i in pre_deleting {
            if diff <= 0 {
                break;
            }
            let p = ctx.pod(i);
            if p.specified_delete {
                continue;
            }
            b.push(Action::new(
                ActionKind::PatchPod { patch: lifecycle_patch(State::PreparingNormal, now) },
                Some(p.name),
                None,
                Reason::CancelPreparingDelete { missing: diff },
            ));
            diff -= 1;
            patched = true;
        }
        if patched {
            defer_specified(ctx, specified, b, false);
            return true;
        }
    }

    // Step 3.
    let d = ctx.diffs(true);
    // Step 4: scale up.
    if d.scale_up_num > 0 {
        let n = d.scale_up_limit.max(0) as usize;
        if d.scale_up_num > d.scale_up_limit {
            b.plan.events.push(Reason::ScaleUpLimited { limit: d.scale_up_limit, wanted: d.scale_up_num });
        }
        defer_specified(ctx, specified, b, false);
        if n == 0 {
            return false;
        }
        create_pods(
            ctx,
            pvcs,
            b,
            n,
            d.scale_up_num_old.max(0) as usize,
            Reason::ScaleUp { have: d.cur_total, want: d.exp_total },
        );
        return true;
    }

    // Step 5, CS-49.
    let pre_delete_hook = ctx.hook(|l| l.pre_delete.as_ref());
    let mut modified = false;
    for &i in pre_deleting {
        let p = &ctx.pod(i);
        if hooked(pre_delete_hook, p.pod) {
            b.hold(p, Reason::LifecycleHook { hook: "preDelete" });
            // CS-49: the not-ready mark is re-asserted while hooked.
            if pre_delete_hook.is_some_and(|h| h.mark_pod_not_ready) {
                mark_not_ready(p, b, "preDeleteHook");
            }
        } else {
            modified |= delete_pod(ctx, pvcs, b, p, Reason::PreDeleteReleased);
        }
    }
    if modified {
        defer_specified(ctx, specified, b, true);
        return true;
    }

    // Step 6, CS-50.
    let mut limit = d.delete_ready_limit;
    let candidates: Vec<usize> =
        specified.iter().copied().filter(|&i| ctx.pod(i).state != State::PreparingDelete).collect();
    for &i in &candidates {
        let p = &ctx.pod(i);
        if !p.ready_for_delete {
            modified |= delete_pod(ctx, pvcs, b, p, Reason::PodsToDelete);
        } else if limit > 0 {
            limit -= 1;
            modified |= delete_pod(ctx, pvcs, b, p, Reason::PodsToDelete);
        } else {
            b.hold(
                p,
                Reason::MaxUnavailable { unavailable: d.total_unavailable, limit: d.delete_ready_limit },
            );
        }
    }
    if modified {
        return true;
    }

    // Step 7, CS-51.
    if d.scale_down_num > 0 {
        if num_to_delete > 0 {
            return false;
        }
        let (not_updated, updated): (Vec<usize>, Vec<usize>) =
            (0..ctx.len()).partition(|&i| !pods()[i].is_update_scale);
        let total = d.scale_down_num as usize;
        let old = d.scale_down_num_old as usize;
        let keys = spread_keys(ctx);
        let nodes = ctx.input.nodes;
        let mut chosen = Vec::new();
        if old >= total {
            chosen.extend(scalein::choose_to_delete(pods(), &not_updated, total, &keys, nodes));
        } else if old > 0 {
            chosen.extend(scalein::choose_to_delete(pods(), &not_updated, old, &keys, nodes));
            chosen.extend(scalein::choose_to_delete(pods(), &updated, total - old, &keys, nodes));
        } else {
            chosen.extend(scalein::choose_to_delete(pods(), &updated, total, &keys, nodes));
        }
        let reason = Reason::ScaleDown { have: d.cur_total, want: d.exp_total };
        let mut limit = d.delete_ready_limit;
        for i in chosen {
            let p = &pods()[i];
            if !p.ready_for_delete {
                modified |= delete_pod(ctx, pvcs, b, p, reason.clone());
            } else if limit > 0 {
                limit -= 1;
                modified |= delete_pod(ctx, pvcs, b, p, reason.clone());
            } else {
                b.hold(
                    p,
                    Reason::MaxUnavailable { unavailable: d.total_unavailable, limit: d.delete_ready_limit },
                );
            }
        }
    }
    modified
}

/// CS-53: topology keys of the template's spread constraints (empty ⇒ same-node ranker).
fn spread_keys(ctx: &Ctx<'_>) -> Vec<String> {
    ctx.cs
        .spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_ref())
        .map(|c| c.iter().map(|c| c.topology_key.clone()).collect())
        .unwrap_or_default()
}

/// CS-44..CS-47: creates `n` pods, the first `min(n, num_old)` (lowest ids) from the current
/// revision, with their PVCs.
fn create_pods(
    ctx: &Ctx<'_>,
    pvcs: &[&PersistentVolumeClaim],
    b: &mut Builder,
    n: usize,
    num_old: usize,
    reason: Reason,
) {
    let used: BTreeSet<&str> = ctx.pods().iter().filter_map(|p| p.instance_id()).collect();
    let pvc_ids: BTreeSet<&str> = pvcs
        .iter()
        .filter_map(|p| p.metadata.labels.as_ref()?.get(keys::CLONESET_INSTANCE_ID).map(String::as_str))
        .collect();
    // Deviation (§16 question 4): an id whose pod name still exists (a Failed/Succeeded pod)
    // is not handed out again, so the new pod's name cannot collide.
    let existing: BTreeSet<&str> = ctx.input.pods.iter().filter_map(|p| p.metadata.name.as_deref()).collect();
    let mut ids: Vec<String> = pvc_ids
        .iter()
        .filter(|id| !used.contains(**id) && !existing.contains(format!("{}-{id}", ctx.name).as_str()))
        .take(n)
        .map(|s| (*s).to_owned())
        .collect();
    if ids.len() < n {
        let mut taken: BTreeSet<&str> = used.clone();
        taken.extend(pvc_ids.iter().copied());
        // Names of existing (inactive) pods must not be reused either.
        let prefix_len = ctx.name.len() + 1;
        for p in ctx.input.pods.iter() {
            if let Some(nm) = p.metadata.name.as_deref()
                && nm.len() > prefix_len
                && nm.starts_with(ctx.name)
            {
                taken.insert(&nm[prefix_len..]);
            }
        }
        ids.extend(super::new_instance_ids(ctx.input.id_seed, &taken, n - ids.len()));
    }
    ids.sort();
    let pvc_names: BTreeSet<&str> = pvcs.iter().filter_map(|p| p.metadata.name.as_deref()).collect();
    let n_cur = n.min(num_old);
    for (k, id) in ids.iter().enumerate() {
        let rev = if k < n_cur { ctx.current_revision() } else { ctx.update_revision() };
        let pod = format!("{}-{id}", ctx.name);
        for vct in &ctx.cs.spec.volume_claim_templates {
            let pvc = super::pvc_name(vct, ctx.name, id);
            if !pvc_names.contains(pvc.as_str()) {
                b.push(Action::new(ActionKind::CreatePvc { pvc }, Some(&pod), Some(rev), reason.clone()));
            }
        }
        b.push(Action::new(
            ActionKind::CreatePod { instance_id: id.clone() },
            Some(&pod),
            Some(rev),
            reason.clone(),
        ));
    }
}

/// CS-54: delete a pod (and its PVCs), or move it to PreparingDelete when hooked. Returns
/// whether anything changed.
pub(crate) fn delete_pod(
    ctx: &Ctx<'_>,
    pvcs: &[&PersistentVolumeClaim],
    b: &mut Builder,
    p: &PodInfo<'_>,
    reason: Reason,
) -> bool {
    let hook = ctx.hook(|l| l.pre_delete.as_ref());
    if hook.is_some() && hooked(hook, p.pod) {
        if p.state == State::PreparingDelete {
            b.hold(p, Reason::LifecycleHook { hook: "preDelete" });
            return false;
        }
        b.push(Action::new(
            ActionKind::PatchPod { patch: lifecycle_patch(State::PreparingDelete, ctx.input.now) },
            Some(p.name),
            None,
            reason,
        ));
        if hook.is_some_and(|h| h.mark_pod_not_ready) {
            mark_not_ready(p, b, "preDeleteHook");
        }
        return true;
    }
    b.push(Action::new(ActionKind::DeletePod, Some(p.name), Some(p.revision), reason.clone()));
    if let Some(id) = p.instance_id() {
        for pvc in pvcs {
            if pvc
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(keys::CLONESET_INSTANCE_ID))
                .map(String::as_str)
                == Some(id)
            {
                b.push(Action::new(
                    ActionKind::DeletePvc { pvc: pvc.metadata.name.clone().unwrap_or_default() },
                    Some(p.name),
                    None,
                    reason.clone(),
                ));
            }
        }
    }
    true
}

/// CS-80: `KruisePodReady=False` with the hook's key in the message, when the pod has the
/// `KruisePodReady` readiness gate ([`crate::lifecycle::mark_not_ready`]).
pub(crate) fn mark_not_ready(p: &PodInfo<'_>, b: &mut Builder, key: &str) {
    if let Some(condition) = crate::lifecycle::mark_not_ready(p.pod, key) {
        let hook = if key == "preDeleteHook" { "preDelete" } else { "inPlaceUpdate" };
        b.push(Action::new(
            ActionKind::UpdatePodStatus { condition },
            Some(p.name),
            None,
            Reason::LifecycleHook { hook },
        ));
    }
}

/// CS-80: removes `key` from the `KruisePodReady` message list (True when it empties)
/// ([`crate::lifecycle::unmark_not_ready`]).
pub(crate) fn unmark_not_ready(p: &PodInfo<'_>, b: &mut Builder, key: &str) {
    if let Some(condition) = crate::lifecycle::unmark_not_ready(p.pod, key) {
        b.push(Action::new(
            ActionKind::UpdatePodStatus { condition },
            Some(p.name),
            None,
            Reason::LifecycleHook { hook: "inPlaceUpdate" },
        ));
    }
}
