//! The diff calculation (CS-36..CS-41, §15): absolute numbers from the strategy, counters
//! over the pods, and the scale / update numbers. O(pods).

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::CloneSet;
use kruise_api::intstr;

use crate::plan::PlanError;

/// CS-36: the absolute numbers `P`, `S`, `U`, `SU`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `R`.
    pub replicas: i32,
    /// `P`.
    pub partition: i32,
    /// `S`.
    pub max_surge: i32,
    /// `U`.
    pub max_unavailable: i32,
    /// `SU`.
    pub scale_max_unavailable: i32,
}

/// Magnitude bound of every absolute number (2^28).
const BOUND: i32 = 1 << 28;

/// CS-36 `P` alone. Unparseable partitions are an error naming the field (validation rejects
/// them upstream; see docs/deviations.md).
pub fn partition(cs: &CloneSet) -> Result<i32, PlanError> {
    let r = cs.replicas();
    let Some(p) = cs.spec.update_strategy.rolling_update.as_ref().and_then(|ru| ru.partition.as_ref()) else {
        return Ok(0);
    };
    let mut v = intstr::scaled_kruise(Some(p), r, true).map_err(|_| PlanError::BadIntOrPercent {
        path: "spec.updateStrategy.rollingUpdate.partition".into(),
        value: match p {
            IntOrString::Int(i) => i.to_string(),
            IntOrString::String(s) => s.clone(),
        },
    })?;
    if r > 1 && v == r && matches!(p, IntOrString::String(s) if s != "100%") {
        v = r - 1;
    }
    Ok(v.clamp(0, r.max(0)))
}

impl Limits {
    /// CS-36.
    pub fn new(cs: &CloneSet) -> Result<Self, PlanError> {
        let r = cs.replicas();
        let ru = cs.spec.update_strategy.rolling_update.as_ref();
        let twenty = IntOrString::String("20%".into());
        let (s, u) = match ru {
            None => (0, intstr::scaled_legacy_or_zero(Some(&twenty), r, false)),
            Some(ru) => {
                let s = if ru.paused || ru.max_surge.is_none() {
                    0
                } else {
                    intstr::scaled_legacy_or_zero(ru.max_surge.as_ref(), r, true)
                };
                let u = intstr::scaled_legacy_or_zero(
                    Some(ru.max_unavailable.as_ref().unwrap_or(&twenty)),
                    r,
                    s == 0,
                );
                (s, u)
            }
        };
        let su = match cs.spec.scale_strategy.max_unavailable.as_ref() {
            None => i32::MAX,
            Some(v) => intstr::scaled_legacy_or_zero(Some(v), r, true),
        };
        // Counts above 2^28 are clamped so the sums of CS-37..CS-41 cannot overflow; no
        // CloneSet has that many pods.
        let c = |v: i32| v.clamp(-BOUND, BOUND);
        let r = c(r);
        Ok(Self {
            replicas: r,
            partition: partition(cs)?.min(r),
            max_surge: c(s),
            max_unavailable: c(u),
            scale_max_unavailable: c(su),
        })
    }
}

/// CS-37..CS-41: everything the diff yields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Diffs {
    /// Pods counted (`len(pods)`).
    pub pods: i32,
    /// CS-37 `oldCount`.
    pub old_count: i32,
    /// CS-37 `preDelNew + preDelOld`.
    pub pre_del: (i32, i32),
    /// CS-37 `toDelNew`, `toDelOld`.
    pub to_del: (i32, i32),
    /// CS-37 `totalUnavailable`.
    pub total_unavailable: i32,
    /// CS-40 `curTotal`.
    pub cur_total: i32,
    /// CS-40 `expTotal`.
    pub exp_total: i32,
    /// CS-40.
    pub scale_up_num: i32,
    /// CS-40.
    pub scale_up_num_old: i32,
    /// CS-40.
    pub scale_up_limit: i32,
    /// CS-40.
    pub scale_down_num: i32,
    /// CS-40.
    pub scale_down_num_old: i32,
    /// CS-40 (0 unless some deletion is pending).
    pub delete_ready_limit: i32,
    /// CS-41.
    pub update_num: i32,
    /// CS-41 (0 when `update_num == 0`).
    pub update_max_unavailable: i32,
}

/// CS-37 counters over the pods, accumulated one pod at a time (the planner fills them while
/// claiming pods, so the diff needs no pass of its own).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    len: i32,
    old_count: i32,
    pre_del_new: i32,
    pre_del_old: i32,
    active_new: i32,
    active_old: i32,
    to_del_new: i32,
    to_del_old: i32,
    unavail_new: i32,
    unavail_old: i32,
}

impl Counts {
    /// Counts `n` pods alike: in PreparingDelete or not, specified for deletion, available,
    /// on the new side when `new` (the scale or the plain update predicate).
    pub fn add_n(&mut self, pre_deleting: bool, specified_delete: bool, available: bool, new: bool, n: i32) {
        let side = |new_side: &mut i32, old_side: &mut i32| {
            if new {
                *new_side += n;
            } else {
                *old_side += n;
            }
        };
        self.len += n;
        if !new {
            self.old_count += n;
        }
        if pre_deleting {
            side(&mut self.pre_del_new, &mut self.pre_del_old);
            return;
        }
        side(&mut self.active_new, &mut self.active_old);
        if specified_delete {
            side(&mut self.to_del_new, &mut self.to_del_old);
        } else if !available {
            side(&mut self.unavail_new, &mut self.unavail_old);
        }
    }
}

/// CS-37..CS-41 from the counters. O(1).
pub fn finish(
    l: &Limits,
    c: &Counts,
    rollback_gate: bool,
    current_is_update: bool,
    exclude_preparing_delete: bool,
) -> Diffs {
    let (r, p) = (l.replicas, l.partition);
    let Counts {
        len,
        old_count,
        pre_del_new,
        pre_del_old,
        active_new,
        active_old,
        to_del_new,
        to_del_old,
        unavail_new,
        unavail_old,
    } = *c;
    let total_unavailable = pre_del_new + pre_del_old + unavail_new + unavail_old;
    // CS-38
    let mut old_diff = active_old - p;
    let mut new_diff = active_new - (r - p);
    if current_is_update || !rollback_gate {
        old_diff = old_diff.max(0);
        new_diff = new_diff.min(0);
    }
    // CS-39
    let (mut use_surge, mut use_surge_old) = (0, 0);
    let u = l.max_unavailable;
    if l.max_surge > 0 {
        let to_del = to_del_new + to_del_old;
        let (scale_surge, scale_surge_old) = if to_del > 0 {
            let ss = (total_unavailable + to_del - u).max(0).min(to_del);
            (ss, if ss > to_del_new { ss - to_del_new } else { 0 })
        } else {
            (0, 0)
        };
        let (upd_surge, upd_surge_old) = if (old_diff > 0 && new_diff < 0) || (old_diff < 0 && new_diff > 0) {
            if old_diff.abs() <= new_diff.abs() {
                let us = old_diff.abs();
                (us, if old_diff < 0 { us } else { 0 })
            } else {
                let us = new_diff.abs();
                (us, if new_diff > 0 { us } else { 0 })
            }
        } else {
            (0, 0)
        };
        if scale_surge >= upd_surge {
            use_surge = l.max_surge.min(scale_surge);
            use_surge_old = use_surge.min(scale_surge_old);
        } else {
            use_surge = l.max_surge.min(upd_surge);
            use_surge_old = use_surge.min(upd_surge_old);
        }
    }
    // CS-40
    let (mut cur_total, mut cur_old) = (len, old_count);
    if exclude_preparing_delete {
        cur_total -= pre_del_new + pre_del_old;
        cur_old -= pre_del_old;
    }
    let exp_total = r + use_surge;
    let exp_old = p + use_surge_old;
    let mut d = Diffs {
        pods: len,
        old_count,
        pre_del: (pre_del_new, pre_del_old),
        to_del: (to_del_new, to_del_old),
        total_unavailable,
        cur_total,
        exp_total,
        ..Diffs::default()
    };
    if exp_total - cur_total > 0 {
        d.scale_up_num = exp_total - cur_total;
        d.scale_up_num_old = (exp_old - cur_old).max(0);
        d.scale_up_limit =
            d.scale_up_num.min((l.scale_max_unavailable.saturating_sub(total_unavailable)).max(0));
    }
    let down = cur_total - to_del_old - to_del_new - exp_total;
    if down > 0 {
        d.scale_down_num = down;
        d.scale_down_num_old = (cur_old - to_del_old - exp_old).max(0);
    }
    if to_del_new > 0 || to_del_old > 0 || d.scale_down_num > 0 {
        d.delete_ready_limit = (u + (len - r) - total_unavailable).max(0);
    }
    // CS-41
    d.update_num = if old_diff.abs() <= new_diff.abs() { old_diff } else { -new_diff };
    if d.update_num != 0 {
        d.update_max_unavailable = u + len - r;
    }
    d
}
