//! Manage: one pod per node (ADS-13..ADS-17). Walks the nodes by name once: nodes that need
//! a pod, extra / failed / pre-deleting pods, surge hand-over, pods on nodes that must not
//! keep them, orphan unscheduled pods, then partitioned creation and the burst limit.

use kruise_api::apps::v1beta1::daemonset::update_strategy_type as ust;

use super::pods::DsPod;
use super::{Builder, Ctx, sync_nodes};
use crate::plan::{DaemonSetReason as R, PlanError, Reason};

fn ds(r: R) -> Reason {
    Reason::DaemonSet(r)
}

/// ADS-13..ADS-17 for every node.
pub(crate) fn manage(ctx: &Ctx<'_>, b: &mut Builder) -> Result<(), PlanError> {
    let mut needing: Vec<&str> = Vec::new();
    let mut deletes: Vec<(&DsPod<'_>, Reason)> = Vec::new();
    // One buffer for every node's running pods.
    let mut running: Vec<&DsPod<'_>> = Vec::new();
    for row in &ctx.nodes {
        let node = row.facts.name.as_str();
        let (run, keep) = (row.e.should_run, row.e.should_continue_running);
        let pods: &[DsPod<'_>] = ctx.pods_on(row);
        if pods.is_empty() {
            if run {
                needing.push(node);
            }
            continue;
        }
        if !keep {
            // ADS-13: the node must not run the pod: delete every live one.
            let why = row.e.why_not.as_ref().map(ToString::to_string).unwrap_or_default();
            for p in pods.iter().filter(|p| !p.terminating) {
                deletes.push((p, ds(R::NodeIneligible { why: why.clone() })));
            }
            continue;
        }
        running.clear();
        for p in pods.iter().filter(|p| !p.terminating) {
            if p.failed {
                // ADS-16: failed pods are deleted unless the node is in backoff.
                match ctx.input.failed_pod_backoff.get(node).filter(|until| **until > ctx.now) {
                    Some(until) => {
                        let left = until.duration_since(ctx.now).unsigned_abs();
                        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                        b.hold_pod(p.name, ds(R::FailedPodBackoff { remaining: secs }));
                        b.plan.requeue_at_most(left, ds(R::FailedPodBackoff { remaining: secs }));
                    }
                    None => {
                        deletes.push((p, ds(R::FailedPod)));
                        b.plan.events.push(ds(R::FailedPod));
                    }
                }
            } else if p.pre_deleting {
                // ADS-28: deleted once no longer hooked (sync_nodes holds it otherwise).
                deletes.push((p, Reason::PreDeleteReleased));
            } else {
                running.push(p);
            }
        }
        if !ctx.allow_surge {
            // ADS-13, no surge: keep the oldest running pod.
            for p in running.iter().skip(1) {
                deletes.push((p, ds(R::ExcessPod)));
            }
            continue;
        }
        if running.is_empty() {
            if run {
                needing.push(node);
            }
            continue;
        }
        if running.len() < 2 {
            continue;
        }
        // ADS-13, surge: keep the oldest updated and the oldest non-updated pod.
        let new = running.iter().copied().find(|p| p.updated);
        let old = running.iter().copied().find(|p| !p.updated);
        let same = |a: &DsPod<'_>, b: Option<&DsPod<'_>>| b.is_some_and(|b| std::ptr::eq(a, b));
        for p in &running {
            if !same(p, new) && !same(p, old) {
                deletes.push((p, ds(R::ExcessPod)));
            }
        }
        if let (Some(new), Some(old)) = (new, old) {
            if !old.ready || new.is_available(ctx.min_ready, ctx.now) {
                deletes.push((old, ds(R::SurgeReplaced)));
            } else if let Some(left) = new.ready_remaining(ctx.min_ready, ctx.now) {
                // Bug 25: a ready new pod waiting for minReadySeconds requeues, or the old pod
                // would never be deleted.
                b.hold_pod(old.name, Reason::MinReadySeconds { seconds: ctx.min_ready });
                b.plan.requeue_at_most(left, Reason::MinReadySeconds { seconds: ctx.min_ready });
            } else {
                b.hold_pod(old.name, ds(R::WaitingForNewPod));
            }
        }
    }
    // ADS-14: pods targeting a node that is not listed and not bound to it.
    for pods in ctx.unlisted.values() {
        for p in pods.iter().filter(|p| !p.bound && !p.terminating) {
            deletes.push((p, ds(R::UnscheduledOrphan)));
        }
    }
    // ADS-15: partition during creation.
    let ru = ctx.ds.spec.update_strategy.rolling_update.as_ref();
    let rolling = ctx.ds.spec.update_strategy.type_.as_deref().is_none_or(|t| t == ust::ROLLING_UPDATE);
    if rolling && let Some(partition) = ru.and_then(|r| r.partition.as_ref()) {
        let p =
            kruise_api::intstr::scaled_kruise(Some(partition), ctx.stored.desired_number_scheduled, false)
                .map_err(|_| {
                    super::bad_int("spec.updateStrategy.rollingUpdate.partition", Some(partition))
                })?;
        if p != 0 && ctx.ds.partitioned_scaling() {
            let desired = ctx.desired();
            let new_pod_nodes = ctx
                .nodes
                .iter()
                .filter(|n| {
                    let live = ctx.pods_on(n).iter().filter(|p| !p.terminating);
                    let (upd, old) =
                        live.fold((0, 0), |(u, o), p| if p.updated { (u + 1, o) } else { (u, o + 1) });
                    upd == 1 && old <= 1
                })
                .count();
            let new_pod_nodes = i32::try_from(new_pod_nodes).unwrap_or(i32::MAX);
            let max_create = desired.saturating_sub(new_pod_nodes).saturating_sub(p.clamp(0, desired)).max(0);
            let max_create_n = usize::try_from(max_create).unwrap_or(0).min(needing.len());
            for node in needing.drain(max_create_n..) {
                b.hold_node(node, ds(R::PartitionedScaling { max_create }));
            }
        }
    }
    let creates: Vec<(&str, Reason)> = needing.into_iter().map(|n| (n, ds(R::NodeNeedsPod))).collect();
    sync_nodes(ctx, b, &creates, &deletes);
    Ok(())
}
