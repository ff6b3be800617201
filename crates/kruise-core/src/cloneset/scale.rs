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
        // CS-45, CS-84: more pods than there are instance ids can never all exist; say so in
        // `FailedScale` and still create what one pass may.
        if usize::try_from(d.exp_total).unwrap_or(0) > super::INSTANCE_ID_SPACE {
            b.scale_error = Some(format!(
                "spec.replicas: {} pods (with surge) cannot have distinct instance ids: only {} exist",
                d.exp_total,
                super::INSTANCE_ID_SPACE
            ));
        }
        // CS-48: bounded work per reconcile; the rest waits for the next pass.
        let n = if n > super::MAX_CREATES_PER_PLAN {
            let reason =
                Reason::ScaleUpLimited { limit: super::MAX_CREATES_PER_PLAN as i32, wanted: n as i32 };
            b.plan.requeue_at_most(std::time::Duration::from_secs(1), reason);
            super::MAX_CREATES_PER_PLAN
        } else {
            n
        };
        if let Err(e) = create_pods(
            ctx,
            pvcs,
            b,
            n,
            d.scale_up_num_old.max(0) as usize,
            Reason::ScaleUp { have: d.cur_total, want: d.exp_total },
        ) {
            // CS-84: a Scale error is reported in `FailedScale`; nothing was created.
            b.scale_error = Some(e.to_string());
            return false;
        }
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
        if deletable_without_budget(p) {
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
        // The groups' keys in one pass over the pods (from a table, without keeping a
        // record per pod); the records of the chosen pods are built afterwards.
        let (mut not_updated, mut updated) = (Vec::new(), Vec::new());
        ctx.each_pod(|p| {
            let key = scalein::Key::of(p);
            if p.is_update_scale { updated.push(key) } else { not_updated.push(key) }
        });
        let total = d.scale_down_num as usize;
        let old = d.scale_down_num_old as usize;
        let keys = spread_keys(ctx);
        let nodes = ctx.input.nodes;
        let pod = |i: usize| ctx.pod(i);
        let mut chosen = Vec::new();
        if old >= total {
            chosen.extend(scalein::choose_to_delete(&pod, not_updated, total, &keys, nodes));
        } else if old > 0 {
            chosen.extend(scalein::choose_to_delete(&pod, not_updated, old, &keys, nodes));
            chosen.extend(scalein::choose_to_delete(&pod, updated, total - old, &keys, nodes));
        } else {
            chosen.extend(scalein::choose_to_delete(&pod, updated, total, &keys, nodes));
        }
        let reason = Reason::ScaleDown { have: d.cur_total, want: d.exp_total };
        let mut limit = d.delete_ready_limit;
        for i in chosen {
            let p = &ctx.pod(i);
            if deletable_without_budget(p) {
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

/// CS-50, CS-51: a pod deleted without spending `deleteReadyLimit`: one that is not
/// `readyForDelete` (CS-34), and (deviation, upstream bug 12) a ready pod of the update
/// revision still inside `minReadySeconds`: it is counted unavailable already (CS-37), so
/// deleting it cannot lower availability, while upstream's budget, which counts it unavailable
/// *and* ready, never lets it go (`minReadySeconds: 99999` blocked every scale-in). A ready pod
/// of an older revision is still charged to the budget as upstream does: a blue-green release
/// (RO-55) raises `minReadySeconds` precisely so that the old pods, which serve the traffic,
/// stay until the release finishes.
fn deletable_without_budget(p: &PodInfo<'_>) -> bool {
    !p.ready_for_delete || (!p.available && p.is_update)
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
) -> Result<(), super::PlanError> {
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
        // Names of existing (inactive) pods must not be reused either. The id is what follows
        // `<name>-`, cut at a char boundary (pod names may be any UTF-8 in the input).
        for p in ctx.input.pods.iter() {
            if let Some(id) = p
                .metadata
                .name
                .as_deref()
                .and_then(|nm| nm.strip_prefix(ctx.name))
                .and_then(|rest| rest.strip_prefix('-'))
                .filter(|id| !id.is_empty())
            {
                taken.insert(id);
            }
        }
        ids.extend(super::new_instance_ids(ctx.input.id_seed, &taken, n - ids.len())?);
    }
    ids.sort();
    let pvc_names: BTreeSet<&str> = pvcs.iter().filter_map(|p| p.metadata.name.as_deref()).collect();
    let n_cur = n.min(num_old);
    let unprovided = if n_cur > 0 { unprovided_mounts(ctx) } else { Vec::new() };
    if !unprovided.is_empty() {
        b.scale_error = Some(format!(
            "pods of revision {} cannot be created: their containers mount {}, which neither the \
             revision's template nor spec.volumeClaimTemplates provide (a volumeClaimTemplate was \
             removed while the partition keeps new pods on that revision)",
            ctx.current_revision(),
            unprovided.join(", ")
        ));
    }
    for (k, id) in ids.iter().enumerate() {
        let rev = if k < n_cur { ctx.current_revision() } else { ctx.update_revision() };
        let pod = format!("{}-{id}", ctx.name);
        if k < n_cur && !unprovided.is_empty() {
            // Upstream bug 15: such a pod is rejected by the API server on every pass; hold it
            // (visible, with `FailedScale`) rather than loop on a create that cannot succeed.
            b.plan.held.push(crate::plan::Held::object(
                crate::plan::ObjectRef::new("Pod", &pod),
                Reason::UnprovidedVolumes { volumes: unprovided.join(",") },
            ));
            continue;
        }
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
    Ok(())
}

/// Upstream bug 15 (kruise#1872): the volumes the current revision's containers (and init
/// containers) mount that neither its template's `volumes` nor the live `volumeClaimTemplates`
/// provide, sorted. Empty when the current revision is the update revision (the live template
/// is validated against the live VCTs) or its data is not in the input.
fn unprovided_mounts(ctx: &Ctx<'_>) -> Vec<String> {
    let rev = ctx.current_revision();
    if rev == ctx.update_revision() {
        return Vec::new();
    }
    let Some(data) = ctx
        .input
        .revisions
        .iter()
        .find(|r| r.metadata.name.as_deref() == Some(rev))
        .and_then(|r| r.data.as_ref())
    else {
        return Vec::new();
    };
    let spec = &data.0["spec"]["template"]["spec"];
    let mut provided: BTreeSet<&str> =
        spec["volumes"].as_array().into_iter().flatten().filter_map(|v| v["name"].as_str()).collect();
    provided.extend(ctx.cs.spec.volume_claim_templates.iter().filter_map(|v| v.metadata.name.as_deref()));
    let mut missing = BTreeSet::new();
    for list in ["containers", "initContainers"] {
        for c in spec[list].as_array().into_iter().flatten() {
            for m in c["volumeMounts"].as_array().into_iter().flatten() {
                if let Some(name) = m["name"].as_str()
                    && !provided.contains(name)
                {
                    missing.insert(name.to_owned());
                }
            }
        }
    }
    missing.into_iter().collect()
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
    // The instance id is read from the pod (its labels) only when some PVC could match it.
    if let Some(id) = (!pvcs.is_empty()).then(|| p.instance_id()).flatten() {
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
