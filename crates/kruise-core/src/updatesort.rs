//! The order in which a workload updates its pods (CS-58..CS-61, shared by CloneSet and
//! Advanced StatefulSet/DaemonSet update strategies): the default Kubernetes "active pods"
//! order, `priorityStrategy` weights and order keys (CS-59, CS-60) and `scatterStrategy`
//! (CS-61), plus the comparison keys scale-in shares (CloneSet's deletion ranking, CS-52,
//! lives in `cloneset/scalein.rs`). Every sort is stable and ends with the pod name (CS-91).
//! Cost: O(k log k) for the k pods being ordered.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use kruise_api::apps::common::{UpdatePriorityStrategy, UpdateScatterTerm};

use kruise_api::selector::Selector;

use crate::podtable::info::{PodInfo, State};

/// Keys shared by CS-52 (scale-in) and CS-58 (update), `first` = goes first: the plain
/// comparators the keyed sorts are tested against.
#[cfg(test)]
pub(crate) fn unscheduled_first(a: &PodInfo<'_>, b: &PodInfo<'_>) -> Ordering {
    if a.scheduled != b.scheduled { a.scheduled.cmp(&b.scheduled) } else { Ordering::Equal }
}

#[cfg(test)]
pub(crate) fn ready_time_recent_first(a: &PodInfo<'_>, b: &PodInfo<'_>) -> Ordering {
    if a.ready && b.ready {
        // Zero time counts as most recent.
        match (a.ready_since, b.ready_since) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => y.cmp(&x),
        }
    } else {
        Ordering::Equal
    }
}

#[cfg(test)]
pub(crate) fn created_newest_first(a: &PodInfo<'_>, b: &PodInfo<'_>) -> Ordering {
    match (a.created, b.created) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => y.cmp(&x),
    }
}

/// CS-58: the Kubernetes "active pods" order used for updates, as a plain comparator (the
/// reference [`sort_by_update_cmp`] is checked against).
#[cfg(test)]
pub fn update_cmp(a: &PodInfo<'_>, b: &PodInfo<'_>) -> Ordering {
    unscheduled_first(a, b)
        .then_with(|| a.phase_rank.cmp(&b.phase_rank))
        .then_with(|| a.ready.cmp(&b.ready))
        .then_with(|| ready_time_recent_first(a, b))
        .then_with(|| b.restarts().cmp(&a.restarts()))
        .then_with(|| created_newest_first(a, b))
}

/// A timestamp as a key where "newer first, absent first" is ascending order.
pub(crate) fn newest_first_key(t: Option<jiff::Timestamp>) -> i128 {
    t.map_or(i128::MIN, |t| -t.as_nanosecond())
}

/// Sorts `cands` (ascending pod indices) by [`update_cmp`] then name, stably. O(c log c): the
/// keys before the restart count are packed into a 40-byte record per candidate first, so
/// comparisons read one contiguous array instead of the pod records; the restart count
/// (rarely reached) and the name stay lazy.
fn sort_by_update_cmp(pods: &[PodInfo<'_>], cands: &mut [usize]) {
    /// An `i128` split so the record needs 8-byte alignment only.
    fn split(v: i128) -> (i64, u64) {
        ((v >> 64) as i64, v as u64)
    }
    /// (scheduled/phase/ready bits, ready time key, creation key, pod index).
    type Key = (u8, (i64, u64), (i64, u64), u32);
    let mut keyed: Vec<Key> = cands
        .iter()
        .map(|&i| {
            let p = &pods[i];
            let head = (u8::from(p.scheduled) << 3) | (p.phase_rank.min(3) << 1) | u8::from(p.ready);
            let ready_key = if p.ready { newest_first_key(p.ready_since) } else { 0 };
            (head, split(ready_key), split(newest_first_key(p.created)), i as u32)
        })
        .collect();
    // Stable and run-adaptive: candidates arrive in name order, often already in (reverse)
    // ready-time order.
    keyed.sort_by(|a, b| {
        let (ia, ib) = (a.3 as usize, b.3 as usize);
        (a.0, a.1)
            .cmp(&(b.0, b.1))
            .then_with(|| pods[ib].restarts().cmp(&pods[ia].restarts()))
            .then_with(|| a.2.cmp(&b.2))
            .then_with(|| pods[ia].name.cmp(pods[ib].name))
    });
    for (c, k) in cands.iter_mut().zip(&keyed) {
        *c = k.3 as usize;
    }
}

/// CS-59 orderPriority: trailing decimal digits of a label value (none/overflow ⇒ 0).
fn trailing_number(v: &str) -> i64 {
    let digits: String = v.chars().rev().take_while(char::is_ascii_digit).collect();
    let digits: String = digits.chars().rev().collect();
    digits.parse().unwrap_or(0)
}

/// (PreparingUpdate first, scheduled/phase/ready bits, ready time key, creation key, pod index):
/// the CS-61 and CS-58 keys before the restart count, for [`UpdateOrder`].
type OrderKey = (bool, u8, (i64, u64), (i64, u64), u32);

/// CS-58 + CS-61 on two keys, the restart count and the name read lazily; ends with the pod
/// index, so it is a total order (a selection then equals a sort's prefix).
fn order_cmp(pods: &[PodInfo<'_>], a: &OrderKey, b: &OrderKey) -> Ordering {
    let (ia, ib) = (a.4 as usize, b.4 as usize);
    (a.0, a.1, a.2)
        .cmp(&(b.0, b.1, b.2))
        .then_with(|| pods[ib].restarts().cmp(&pods[ia].restarts()))
        .then_with(|| a.3.cmp(&b.3))
        .then_with(|| pods[ia].name.cmp(pods[ib].name))
        .then_with(|| a.4.cmp(&b.4))
}

/// The update order of CS-58..CS-61 without priority or scatter terms, sorted only as far as it
/// is read: a plan updates the first few candidates (at most the unavailability budget) and
/// holds the rest, so the candidates are selected in O(c) and only a growing prefix is sorted,
/// O(c + p log p) for a prefix of p, instead of O(c log c).
pub struct UpdateOrder<'p, 'a> {
    pods: &'p [PodInfo<'a>],
    keyed: Vec<OrderKey>,
    /// `keyed[..sorted]` is in final order and no later record precedes it.
    sorted: usize,
    /// Size of the first sorted prefix (at least 64).
    first: usize,
}

impl<'p, 'a> UpdateOrder<'p, 'a> {
    /// The order of `cands` (indices into `pods`); `expected` = how many ranks the caller
    /// expects to read (the first sort covers that many, so a long walk does not pay for
    /// repeated selections). O(c).
    pub fn new(pods: &'p [PodInfo<'a>], cands: &[usize], expected: usize) -> Self {
        fn split(v: i128) -> (i64, u64) {
            ((v >> 64) as i64, v as u64)
        }
        let keyed = cands
            .iter()
            .map(|&i| {
                let p = &pods[i];
                let head = (u8::from(p.scheduled) << 3) | (p.phase_rank.min(3) << 1) | u8::from(p.ready);
                let ready_key = if p.ready { newest_first_key(p.ready_since) } else { 0 };
                let pu = p.state != State::PreparingUpdate;
                (pu, head, split(ready_key), split(newest_first_key(p.created)), i as u32)
            })
            .collect();
        Self { pods, keyed, sorted: 0, first: expected.max(64) }
    }

    /// Moves the `k` smallest of the unsorted records to the front of the unsorted part.
    fn select(&mut self, k: usize) {
        let pods = self.pods;
        let tail = &mut self.keyed[self.sorted..];
        let rel = k.saturating_sub(self.sorted);
        if rel > 0 && rel < tail.len() {
            tail.select_nth_unstable_by(rel, |a, b| order_cmp(pods, a, b));
        }
    }

    /// The candidate of rank `k` (< `len`). Amortised O(1) plus the prefix sorts: the sorted
    /// prefix at least doubles each time it grows.
    pub fn at(&mut self, k: usize) -> usize {
        if k >= self.sorted {
            let m = (k + 1).max(2 * self.sorted).max(self.first).min(self.keyed.len());
            self.select(m);
            let pods = self.pods;
            self.keyed[self.sorted..m].sort_unstable_by(|a, b| order_cmp(pods, a, b));
            self.sorted = m;
        }
        self.keyed[k].4 as usize
    }

    /// The candidates of ranks `[from, to)` and of ranks `[to, len)`, each in pod index order;
    /// `from` must not exceed the sorted prefix. O(c + g log g) for groups of g.
    pub fn groups(mut self, from: usize, to: usize) -> (Vec<usize>, Vec<usize>) {
        let to = to.min(self.keyed.len());
        if to > self.sorted {
            self.select(to);
        }
        let idx = |r: &[OrderKey]| {
            let mut v: Vec<usize> = r.iter().map(|k| k.4 as usize).collect();
            v.sort_unstable();
            v
        };
        (idx(&self.keyed[from.min(to)..to]), idx(&self.keyed[to..]))
    }
}

/// CS-58..CS-61: sorts update candidates in place.
pub fn sort_update_candidates(
    pods: &[PodInfo<'_>],
    cands: &mut [usize],
    priority: Option<&UpdatePriorityStrategy>,
    scatter: &[UpdateScatterTerm],
) {
    sort_active_priority_scatter(pods, cands, priority, scatter);
    // CS-61: PreparingUpdate first (stable).
    cands.sort_by_key(|&i| pods[i].state != State::PreparingUpdate);
}

/// CS-58..CS-60 without CloneSet's lifecycle step (SCS-44 uses it as is): the "active pods"
/// order, then `priorityStrategy`, then `scatterStrategy` (scatter counts over all of `pods`),
/// each stable. Scatter terms are taken literally (a caller expands wildcards).
pub fn sort_active_priority_scatter(
    pods: &[PodInfo<'_>],
    cands: &mut [usize],
    priority: Option<&UpdatePriorityStrategy>,
    scatter: &[UpdateScatterTerm],
) {
    sort_by_update_cmp(pods, cands);
    if let Some(pr) = priority {
        priority_sort(cands, |i| pods[i].labels(), pr);
    }
    if !scatter.is_empty() && cands.len() >= 2 {
        scatter_sort(pods, cands, scatter);
    }
}

/// CS-59 / ASTS-37: stable sort of `cands` by a priority strategy over each candidate's
/// labels. weightPriority: higher summed weight of matching selectors first. orderPriority:
/// the level of the first term whose key the pod has (a pod with none gets level -1 and goes
/// first), lower level first, then the larger trailing number of the value. Ties keep the
/// input order. O(c log c) with the keys computed once per candidate.
pub fn priority_sort<'l, T: Copy + Ord>(
    cands: &mut [T],
    labels: impl Fn(T) -> &'l BTreeMap<String, String>,
    pr: &UpdatePriorityStrategy,
) {
    if !pr.weight_priority.is_empty() {
        let sels: Vec<(i32, Option<Selector>)> = pr
            .weight_priority
            .iter()
            .map(|t| (t.weight, Selector::parse(&t.match_selector, "").ok()))
            .collect();
        let score = |i: T| -> i64 {
            let l = labels(i);
            sels.iter()
                .filter(|(_, s)| s.as_ref().is_some_and(|s| s.matches(l)))
                .map(|(w, _)| i64::from(*w))
                .sum()
        };
        let scores: BTreeMap<T, i64> = cands.iter().map(|&i| (i, score(i))).collect();
        cands.sort_by(|a, b| scores[b].cmp(&scores[a]));
    } else if !pr.order_priority.is_empty() {
        let key = |i: T| -> (i64, i64) {
            let l = labels(i);
            for (lvl, t) in pr.order_priority.iter().enumerate() {
                if let Some(v) = l.get(&t.ordered_key) {
                    return (lvl as i64, trailing_number(v));
                }
            }
            (-1, 0)
        };
        let keys: BTreeMap<T, (i64, i64)> = cands.iter().map(|&i| (i, key(i))).collect();
        cands.sort_by(|a, b| {
            let (ka, kb) = (keys[a], keys[b]);
            ka.0.cmp(&kb.0).then_with(|| kb.1.cmp(&ka.1))
        });
    }
}

fn round_half_away(v: f64) -> usize {
    v.round().max(0.0) as usize
}

fn grouping(a: usize, b: usize) -> (usize, usize) {
    let g = a.min(b).max(1) as f64;
    (round_half_away(a as f64 / g).max(1), round_half_away(b as f64 / g).max(1))
}

/// CS-60.
fn scatter_sort(pods: &[PodInfo<'_>], cands: &mut [usize], terms: &[UpdateScatterTerm]) {
    let label_is =
        |i: usize, t: &UpdateScatterTerm| pods[i].labels().get(&t.key).map_or("", String::as_str) == t.value;
    let mut order: Vec<&UpdateScatterTerm> = Vec::new();
    if terms.len() == 1 {
        order.push(&terms[0]);
    } else {
        let mut counted: Vec<(usize, &UpdateScatterTerm)> = terms
            .iter()
            .map(|t| (cands.iter().filter(|&&i| pods[i].labels().get(&t.key) == Some(&t.value)).count(), t))
            .filter(|(n, _)| *n > 0)
            .collect();
        counted.sort_by_key(|c| std::cmp::Reverse(c.0));
        order.extend(counted.into_iter().map(|(_, t)| t));
    }
    for t in order {
        let (matched, unmatched): (Vec<usize>, Vec<usize>) = cands.iter().partition(|&&i| label_is(i, t));
        if matched.len() <= 1 || unmatched.len() <= 1 {
            continue;
        }
        let total_matched_all = (0..pods.len()).filter(|&i| label_is(i, t)).count();
        let total_unmatched = pods.len() - total_matched_all;
        let mut matched = matched;
        let last = matched.pop();
        let total_matched = total_matched_all.saturating_sub(1).max(1);
        let (lm, lu) = (matched.len(), unmatched.len());
        let (ga, gb, group_num, remainder);
        if (total_unmatched as f32) / (total_matched as f32) >= (lu as f32) / (lm as f32) {
            let (x, y) = grouping(lm, lu);
            ga = x;
            gb = y;
            group_num = lm.min(lu);
            remainder = 0;
        } else {
            let (x, y) = grouping(total_matched, total_unmatched);
            ga = x;
            gb = y;
            group_num = (lm / ga).min(lu / gb);
            remainder = lu.saturating_sub(group_num * gb);
        }
        let mut out = Vec::with_capacity(cands.len());
        let (mut mi, mut ui) = (0usize, 0usize);
        out.extend_from_slice(&unmatched[..remainder.min(lu)]);
        ui += remainder.min(lu);
        for _ in 0..group_num {
            let me = (mi + ga).min(lm);
            out.extend_from_slice(&matched[mi..me]);
            mi = me;
            let ue = (ui + gb).min(lu);
            out.extend_from_slice(&unmatched[ui..ue]);
            ui = ue;
        }
        out.extend_from_slice(&matched[mi..]);
        out.extend_from_slice(&unmatched[ui..]);
        out.extend(last);
        cands.copy_from_slice(&out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloneset::fixtures::{self, pod, ts};
    use crate::podtable::info::PodEnv;

    /// `n` pods of a `demo` CloneSet with mixed creation and ready times, restart counts,
    /// readiness, scheduling, phases and (every 17th) lifecycle state PreparingUpdate, in a
    /// scrambled name order.
    fn mixed_pods(n: i64) -> Vec<k8s_openapi::api::core::v1::Pod> {
        let cs = fixtures::cloneset("demo", n as i32, "app:v1");
        (0..n)
            .map(|i| {
                let mut b = pod(&cs, &format!("{:03}", (i * 7) % n), "demo-r1")
                    .created(i % 5)
                    .ready_since(i % 3)
                    .restarts((i % 4) as i32);
                if i % 6 == 0 {
                    b = b.not_ready();
                }
                if i % 9 == 0 {
                    b = b.unscheduled();
                }
                if i % 11 == 0 {
                    b = b.pending();
                }
                if i % 13 == 0 {
                    b = b.phase("Unknown");
                }
                if i % 17 == 0 {
                    b = b.state(State::PreparingUpdate);
                }
                b.build()
            })
            .collect()
    }

    fn env() -> PodEnv {
        PodEnv {
            now: ts(1000),
            min_ready_seconds: 0,
            update_revision: "demo-r2".into(),
            update_short: "r2".into(),
            preparing_update_as_update: false,
        }
    }

    #[test]
    fn cs_58_keyed_update_sort_equals_comparator_sort() {
        let pods = mixed_pods(40);
        let env = env();
        let infos: Vec<PodInfo<'_>> = pods.iter().map(|p| PodInfo::new(p, &env, false)).collect();
        let mut want: Vec<usize> = (0..infos.len()).rev().collect();
        let mut got = want.clone();
        want.sort_by(|&x, &y| {
            update_cmp(&infos[x], &infos[y]).then_with(|| infos[x].name.cmp(infos[y].name))
        });
        sort_by_update_cmp(&infos, &mut got);
        assert_eq!(got, want);
    }

    /// The lazily sorted order reads exactly like the full CS-58..CS-61 sort at every rank,
    /// across prefix growths, and its groups are the right rank ranges in index order.
    #[test]
    fn cs_58_cs_61_lazy_update_order_equals_full_sort() {
        let pods = mixed_pods(300);
        let env = env();
        let mut infos: Vec<PodInfo<'_>> = pods.iter().map(|p| PodInfo::new(p, &env, false)).collect();
        for (i, p) in infos.iter_mut().enumerate() {
            p.idx = i as u32;
        }
        let cands: Vec<usize> = (0..infos.len()).collect();
        let mut full = cands.clone();
        sort_update_candidates(&infos, &mut full, None, &[]);
        for (from, to) in [(0, 300), (3, 100), (70, 250), (0, 0), (200, 300)] {
            let mut lazy = UpdateOrder::new(&infos, &cands, from / 2);
            let got: Vec<usize> = (0..from).map(|k| lazy.at(k)).collect();
            assert_eq!(got, full[..from], "prefix of {from}");
            let (a, b) = lazy.groups(from, to);
            let mut want_a = full[from..to].to_vec();
            let mut want_b = full[to..].to_vec();
            want_a.sort_unstable();
            want_b.sort_unstable();
            assert_eq!((a, b), (want_a, want_b), "groups [{from}, {to}) and [{to}, ..)");
        }
        let mut lazy = UpdateOrder::new(&infos, &cands, 0);
        assert_eq!((0..300).map(|k| lazy.at(k)).collect::<Vec<_>>(), full);
    }
}
