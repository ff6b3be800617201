//! Status (ADS-29, ADS-30): per-node counters from the pods observed at the start of the pass,
//! and the write, skipped when nothing changed.

use kruise_api::apps::v1beta1::DaemonSetStatus;

use super::{Builder, Ctx};
use crate::plan::{Action, ActionKind, Reason};

/// ADS-29: the counters, `updateRevision` and `collisionCount` (observedGeneration is set by
/// the caller, ADS-30).
pub(crate) fn compute(ctx: &Ctx<'_>, collision_count: i32) -> DaemonSetStatus {
    let mut s = DaemonSetStatus {
        conditions: ctx.stored.conditions.clone(),
        observed_generation: ctx.stored.observed_generation,
        update_revision: ctx.hash.clone(),
        collision_count: (collision_count != 0 || ctx.stored.collision_count.is_some())
            .then_some(collision_count),
        ..Default::default()
    };
    for row in &ctx.nodes {
        let oldest = ctx.pods_on(row).first();
        if row.e.should_run {
            s.desired_number_scheduled += 1;
            if let Some(p) = oldest {
                s.current_number_scheduled += 1;
                if p.ready {
                    s.number_ready += 1;
                    if p.status_available(ctx.min_ready, ctx.now) {
                        s.number_available += 1;
                    }
                }
                if p.updated {
                    s.updated_number_scheduled += 1;
                }
            }
        } else if oldest.is_some() {
            s.number_misscheduled += 1;
        }
    }
    s.number_unavailable = s.desired_number_scheduled - s.number_available;
    s
}

/// ADS-30: sets the plan's status and writes it unless every counter, the hash and the
/// collision count equal the stored ones and the stored observedGeneration is not behind.
pub(crate) fn write(ctx: &Ctx<'_>, b: &mut Builder, status: DaemonSetStatus) {
    let o = &ctx.stored;
    let same = o.current_number_scheduled == status.current_number_scheduled
        && o.number_misscheduled == status.number_misscheduled
        && o.desired_number_scheduled == status.desired_number_scheduled
        && o.number_ready == status.number_ready
        && o.updated_number_scheduled == status.updated_number_scheduled
        && o.number_available == status.number_available
        && o.number_unavailable == status.number_unavailable
        && o.update_revision == status.update_revision
        && o.collision_count.unwrap_or(0) == status.collision_count.unwrap_or(0)
        && o.observed_generation >= status.observed_generation;
    if !same {
        b.push(Action::new(ActionKind::UpdateStatus, None, None, Reason::StatusChanged));
    }
    b.plan.status = status;
}
