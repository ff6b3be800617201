//! Identity (ASTS-10..ASTS-14): a pod's parent name and ordinal, the replica range with
//! reserved ordinals and `ordinals.start`, and the split of member pods into replicas (one per
//! slot) and condemned pods (descending ordinal).
//!
//! Reserved ordinals are kept as sorted, merged ranges, so a reservation such as
//! `"0-2000000000"` costs nothing: the range end is computed by skipping whole ranges.

use kruise_api::apps::v1beta1::ReservedOrdinals;

/// ASTS-10: the parent name and ordinal of a pod name, matched as `^(.*)-([0-9]+)$` (greedy
/// parent, decimal suffix read as a 32-bit integer). No match or overflow gives `("", -1)`.
pub fn parse_ordinal(name: &str) -> (&str, i32) {
    let Some(dash) = name.bytes().rposition(|b| b == b'-') else { return ("", -1) };
    let suffix = &name[dash + 1..];
    if suffix.is_empty() || !suffix.bytes().all(|b| b.is_ascii_digit()) {
        return ("", -1);
    }
    match suffix.parse::<i32>() {
        Ok(o) => (&name[..dash], o),
        Err(_) => ("", -1),
    }
}

/// ASTS-10, ASTS-15: the canonical pod name of ordinal `o`.
pub fn pod_name(set: &str, o: i64) -> String {
    format!("{set}-{o}")
}

/// ASTS-12, ASTS-13: the replica range of a set: `start`, `end` (one past the last slot) and
/// the reserved ordinals (holes inside the range).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaRange {
    /// The first ordinal (`ordinals.start` with the gate, else 0).
    pub start: i64,
    /// One past the last replica slot (`start` when replicas = 0).
    pub end: i64,
    /// Reserved ranges, inclusive, sorted and merged.
    merged: Vec<(i64, i64)>,
    /// The reserved runs inside `[start, end)`: `(position of the first slot after the run,
    /// reserved ordinals skipped up to there)`, ascending; empty when no slot is skipped.
    holes: Vec<(i64, i64)>,
}

impl ReplicaRange {
    /// ASTS-13: walks ordinals upward from `start`, skipping reserved ones, until `replicas`
    /// non-reserved ordinals are taken. O(reserved ranges).
    pub fn new(start: i64, replicas: i64, reserved: &ReservedOrdinals) -> Self {
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(reserved.ranges().len());
        for &(a, b) in reserved.ranges() {
            match merged.last_mut() {
                Some((_, e)) if a <= e.saturating_add(1) => *e = (*e).max(b),
                _ => merged.push((a, b)),
            }
        }
        let mut need = replicas.max(0);
        let mut o = start;
        if need > 0 {
            for &(a, b) in &merged {
                if b < o {
                    continue;
                }
                if a > o {
                    let gap = a - o;
                    if gap >= need {
                        break;
                    }
                    need -= gap;
                }
                o = b + 1;
            }
        }
        let end = if replicas <= 0 { start } else { o.saturating_add(need) };
        let mut holes = Vec::new();
        let mut skipped = 0i64;
        for &(a, b) in &merged {
            if b < start || a >= end || end <= start {
                continue;
            }
            let (a, b) = (a.max(start), b.min(end - 1));
            let pos = a - start - skipped;
            skipped += b - a + 1;
            holes.push((pos, skipped));
        }
        Self { start, end, merged, holes }
    }

    /// The number of replica slots (`replicas` when the range was built from it).
    pub fn len(&self) -> usize {
        let skipped = self.holes.last().map_or(0, |h| h.1);
        usize::try_from(self.end - self.start - skipped).unwrap_or(0)
    }

    /// True when there is no replica slot.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ordinal of the slot at position `p` (0 for the first of [`slots`](Self::slots)):
    /// `start + p` plus the reserved ordinals below it. O(log reserved ranges); `p` past the
    /// last slot gives an ordinal past `end`.
    pub fn ordinal_at(&self, p: usize) -> i64 {
        let p = p as i64;
        let i = self.holes.partition_point(|&(pos, _)| pos <= p);
        let skipped = if i == 0 { 0 } else { self.holes[i - 1].1 };
        self.start + p + skipped
    }

    /// The position of slot `o` among [`slots`](Self::slots), `None` when `o` is no slot.
    /// The inverse of [`ordinal_at`](Self::ordinal_at). O(log reserved ranges).
    pub fn position(&self, o: i64) -> Option<usize> {
        if !self.is_slot(o) {
            return None;
        }
        // The reserved ordinals below `o`: those of the runs that start below it (a slot is
        // never inside a run).
        let i = self.holes.partition_point(|&(pos, skipped)| {
            let run_end = self.start + pos + skipped; // first slot after the run
            run_end <= o
        });
        let skipped = if i == 0 { 0 } else { self.holes[i - 1].1 };
        usize::try_from(o - self.start - skipped).ok()
    }

    /// True when `o` is reserved (ASTS-12).
    pub fn is_reserved(&self, o: i64) -> bool {
        let i = self.merged.partition_point(|&(_, b)| b < o);
        self.merged.get(i).is_some_and(|&(a, _)| a <= o)
    }

    /// ASTS-13, ASTS-14: `o` is a replica slot (inside `[start, end)` and not reserved).
    pub fn is_slot(&self, o: i64) -> bool {
        o >= self.start && o < self.end && !self.is_reserved(o)
    }

    /// The replica slots in ascending order. Iterates `end - start` ordinals at most, jumping
    /// over reserved ranges.
    pub fn slots(&self) -> impl Iterator<Item = i64> + '_ {
        let mut o = self.start;
        let mut i = self.merged.partition_point(|&(_, b)| b < o);
        std::iter::from_fn(move || {
            loop {
                if o >= self.end {
                    return None;
                }
                match self.merged.get(i) {
                    Some(&(a, b)) if a <= o => {
                        o = b + 1;
                        i += 1;
                    }
                    _ => {
                        let r = o;
                        o += 1;
                        return Some(r);
                    }
                }
            }
        })
    }

    /// ASTS-35: slot index of `o` = `o - start`, holes included.
    pub fn index(&self, o: i64) -> i64 {
        o - self.start
    }
}

/// Sorts `(ordinal, id)` keys by ordinal, then by `tie` among keys of one ordinal (stable:
/// keys equal under `tie` keep their order). Ordinals are dense in practice (a set's pods sit
/// in its replica range), so when the ordinals span at most about twice the number of keys
/// this is a counting sort, O(n + span) with sequential passes; otherwise (a pod far outside
/// the range, e.g. next to a huge reservation) a comparison sort, O(n log n). `tie` is only
/// called between keys of one ordinal; keys listed in ascending order are left as they are
/// after one O(n) check.
pub(crate) fn sort_by_ordinal(
    keys: &mut Vec<(i32, u32)>,
    mut tie: impl FnMut(u32, u32) -> std::cmp::Ordering,
) {
    use std::cmp::Ordering;
    if keys.is_sorted_by(|a, b| match a.0.cmp(&b.0) {
        Ordering::Less => true,
        Ordering::Equal => tie(a.1, b.1) != Ordering::Greater,
        Ordering::Greater => false,
    }) {
        return;
    }
    let (lo, hi) = keys.iter().fold((i32::MAX, i32::MIN), |(lo, hi), k| (lo.min(k.0), hi.max(k.0)));
    let span = i64::from(hi) - i64::from(lo) + 1;
    if span <= 2 * keys.len() as i64 + 1024 {
        // Counting sort: stable, so keys of one ordinal keep their listed order.
        let span = span as usize;
        let slot = |o: i32| (i64::from(o) - i64::from(lo)) as usize;
        let mut start = vec![0u32; span + 1];
        for k in keys.iter() {
            start[slot(k.0) + 1] += 1;
        }
        for i in 0..span {
            start[i + 1] += start[i];
        }
        let mut out = vec![(0i32, 0u32); keys.len()];
        for &k in keys.iter() {
            let s = &mut start[slot(k.0)];
            out[*s as usize] = k;
            *s += 1;
        }
        *keys = out;
    } else {
        keys.sort_by_key(|k| k.0);
    }
    // Keys of one ordinal (rare: `web-1` and `web-01`) by `tie`.
    let mut i = 0;
    while i < keys.len() {
        let mut j = i + 1;
        while j < keys.len() && keys[j].0 == keys[i].0 {
            j += 1;
        }
        if j - i > 1 {
            keys[i..j].sort_by(|a, b| tie(a.1, b.1));
        }
        i = j;
    }
}

/// ASTS-14: the member pods of a set split into replicas (at most one per slot) and condemned
/// pods, both by position in the caller's pod list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// `(slot ordinal, pod position)` of the replicas, ascending ordinal.
    pub replicas: Vec<(i64, usize)>,
    /// Condemned pods `(ordinal, position)`, descending ordinal (ties: name descending).
    pub condemned: Vec<(i64, usize)>,
    /// Pods that claimed a slot another pod holds (§14 question 2, see docs/deviations.md):
    /// they are condemned as well; listed here so the plan can say why.
    pub duplicates: Vec<usize>,
}

impl Split {
    /// The position of the pod holding slot `o`. O(log n).
    pub fn replica(&self, o: i64) -> Option<usize> {
        self.replicas.binary_search_by_key(&o, |r| r.0).ok().map(|i| self.replicas[i].1)
    }
}

/// ASTS-14: splits the members `0..n` into replicas and condemned. `key(i)` gives member `i`'s
/// ordinal and whether its name is the canonical `<set>-<ordinal>`; `name(i)` its name, read
/// only to order pods of one ordinal. Two pods for one slot (`web-1` and `web-01`): the pod
/// with the canonical name keeps the slot; among non-canonical ones the name that sorts first
/// keeps it (deterministic, unlike upstream's "last seen"; equal names: the first listed). The
/// other pods are condemned. O(n) for members listed by ordinal (as the planner lists them:
/// nothing is copied then), O(n log n) otherwise.
pub fn split<'n>(
    n: usize,
    key: impl Fn(usize) -> (i64, bool),
    name: impl Fn(usize) -> &'n str,
    range: &ReplicaRange,
) -> Split {
    let mut replicas = Vec::with_capacity(n);
    let mut out = split_each(n, key, name, range, |o, m| replicas.push((o, m)));
    out.replicas = replicas;
    out
}

/// [`split`], handing each replica `(slot ordinal, member)` to `replica` in ascending ordinal
/// order instead of listing them (the planner builds its slots from them directly); the
/// returned split's `replicas` is empty.
pub(crate) fn split_each<'n>(
    n: usize,
    key: impl Fn(usize) -> (i64, bool),
    name: impl Fn(usize) -> &'n str,
    range: &ReplicaRange,
    mut replica: impl FnMut(i64, usize),
) -> Split {
    let mut out = Split::default();
    // Members by ordinal (stable): the members themselves when listed so.
    let order: Option<Vec<usize>> = if (1..n).all(|i| key(i - 1).0 <= key(i).0) {
        None
    } else {
        let mut v: Vec<usize> = (0..n).collect();
        v.sort_by_key(|&i| key(i).0);
        Some(v)
    };
    let at = |k: usize| order.as_ref().map_or(k, |v| v[k]);
    // Condemned in walk order (ascending ordinal), ordered below.
    let mut condemned: Vec<(i64, usize)> = Vec::new();
    let mut k = 0;
    while k < n {
        let first = at(k);
        let (o, _) = key(first);
        // The run of members claiming ordinal `o` (one in practice).
        let mut j = k + 1;
        while j < n && key(at(j)).0 == o {
            j += 1;
        }
        if !range.is_slot(o) {
            condemned.extend((k..j).map(|r| (o, at(r))));
            k = j;
            continue;
        }
        // The better claim: canonical first, then the smaller name.
        let mut best = first;
        for r in k + 1..j {
            let c = at(r);
            let (cb, cc) = (key(best).1, key(c).1);
            if (cc && !cb) || (cc == cb && name(c) < name(best)) {
                best = c;
            }
        }
        for r in k..j {
            let c = at(r);
            if c != best {
                out.duplicates.push(c);
                condemned.push((o, c));
            }
        }
        replica(o, best);
        k = j;
    }
    // Descending ordinal; pods of one ordinal by name descending (stable: equal names keep
    // their listed order).
    condemned.reverse();
    let mut r = 0;
    while r < condemned.len() {
        let mut e = r + 1;
        while e < condemned.len() && condemned[e].0 == condemned[r].0 {
            e += 1;
        }
        if e - r > 1 {
            condemned[r..e].reverse();
            condemned[r..e].sort_by(|a, b| name(b.1).cmp(name(a.1)));
        }
        r = e;
    }
    out.condemned = condemned;
    out.duplicates.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    fn reserved(items: &[IntOrString]) -> ReservedOrdinals {
        ReservedOrdinals::parse(items)
    }

    #[test]
    fn asts_10_ordinal_parsing() {
        assert_eq!(parse_ordinal("web-12"), ("web", 12));
        assert_eq!(parse_ordinal("1-bar"), ("", -1));
        assert_eq!(parse_ordinal("my-web-3"), ("my-web", 3));
        assert_eq!(parse_ordinal("web-01"), ("web", 1));
        assert_eq!(parse_ordinal("web-"), ("", -1));
        assert_eq!(parse_ordinal("web"), ("", -1));
        assert_eq!(parse_ordinal("-5"), ("", 5));
        assert_eq!(parse_ordinal("web-99999999999"), ("", -1), "overflow of 32 bits");
        assert_eq!(parse_ordinal("wéb-7"), ("wéb", 7));
        assert_eq!(parse_ordinal("web-٣"), ("", -1), "only ASCII digits");
    }

    #[test]
    fn asts_13_replica_range_with_reserved_and_start() {
        let r = ReplicaRange::new(2, 4, &reserved(&[IntOrString::Int(1), IntOrString::Int(3)]));
        assert_eq!(r.slots().collect::<Vec<_>>(), vec![2, 4, 5, 6]);
        assert_eq!(r.end, 7);
        let r = ReplicaRange::new(0, 0, &reserved(&[IntOrString::Int(0)]));
        assert_eq!((r.start, r.end), (0, 0));
        assert_eq!(r.slots().count(), 0);
        let r = ReplicaRange::new(0, 3, &reserved(&[IntOrString::String("0-1".into()), IntOrString::Int(3)]));
        assert_eq!(r.slots().collect::<Vec<_>>(), vec![2, 4, 5]);
        assert_eq!(r.end, 6);
        assert!(r.is_reserved(3) && !r.is_slot(3) && r.is_slot(4));
    }

    /// `ordinal_at` and `position` agree with `slots()` (the planner keeps slots by position
    /// and reads their ordinals through them), whatever the reservations and start.
    #[test]
    fn asts_13_slot_positions_and_ordinals_agree_with_the_walk() {
        let cases: Vec<(i64, i64, Vec<IntOrString>)> = vec![
            (0, 5, vec![]),
            (2, 4, vec![IntOrString::Int(1), IntOrString::Int(3)]),
            (0, 3, vec![IntOrString::String("0-1".into()), IntOrString::Int(3)]),
            (0, 0, vec![IntOrString::Int(0)]),
            (
                5,
                6,
                vec![
                    IntOrString::String("0-6".into()),
                    IntOrString::Int(9),
                    IntOrString::String("11-12".into()),
                ],
            ),
            (0, 4, vec![IntOrString::Int(2), IntOrString::Int(3), IntOrString::Int(100)]),
            (0, 2, vec![IntOrString::String("1-2000000000".into())]),
        ];
        for (start, replicas, items) in cases {
            let r = ReplicaRange::new(start, replicas, &reserved(&items));
            let walk: Vec<i64> = r.slots().collect();
            assert_eq!(r.len(), walk.len(), "{start} {replicas} {items:?}");
            assert_eq!(r.is_empty(), walk.is_empty());
            for (p, &o) in walk.iter().enumerate() {
                assert_eq!(r.ordinal_at(p), o, "position {p} of {walk:?}");
                assert_eq!(r.position(o), Some(p), "ordinal {o} of {walk:?}");
            }
            for o in start - 2..r.end + 2 {
                if !walk.contains(&o) {
                    assert_eq!(r.position(o), None, "{o} is no slot of {walk:?}");
                }
            }
        }
    }

    #[test]
    fn asts_13_huge_reserved_range_costs_nothing() {
        let r = ReplicaRange::new(0, 2, &reserved(&[IntOrString::String("1-2000000000".into())]));
        assert_eq!(r.slots().collect::<Vec<_>>(), vec![0, 2_000_000_001]);
        assert_eq!(r.end, 2_000_000_002);
    }

    #[test]
    fn asts_12_bad_range_voids_reservations_for_the_range() {
        let r = ReplicaRange::new(0, 3, &reserved(&[IntOrString::Int(1), IntOrString::String("5-4".into())]));
        assert_eq!(r.slots().collect::<Vec<_>>(), vec![0, 1, 2]);
    }

    #[test]
    fn asts_13_reserved_below_start_have_no_effect() {
        let r = ReplicaRange::new(5, 2, &reserved(&[IntOrString::String("0-4".into())]));
        assert_eq!(r.slots().collect::<Vec<_>>(), vec![5, 6]);
        let r = ReplicaRange::new(5, 2, &reserved(&[IntOrString::String("0-5".into())]));
        assert_eq!(r.slots().collect::<Vec<_>>(), vec![6, 7]);
    }

    #[test]
    fn asts_14_replicas_and_condemned() {
        let r = ReplicaRange::new(0, 3, &reserved(&[IntOrString::Int(1)]));
        let members = [(0, true, "web-0"), (1, true, "web-1"), (5, true, "web-5"), (3, true, "web-3")];
        let s = split_of(&members, &r);
        assert_eq!(s.replicas.into_iter().collect::<Vec<_>>(), vec![(0, 0), (3, 3)]);
        assert_eq!(s.condemned, vec![(5, 2), (1, 1)]);
    }

    fn split_of(members: &[(i64, bool, &'static str)], r: &ReplicaRange) -> Split {
        split(members.len(), |i| (members[i].0, members[i].1), |i| members[i].2, r)
    }

    /// Members listed by ordinal (no copy) and listed in any order split the same way, up to
    /// positions: condemned by ordinal then name, both descending; equal names keep their
    /// listed order.
    #[test]
    fn asts_14_split_does_not_depend_on_the_listed_order() {
        let r = ReplicaRange::new(0, 3, &reserved(&[IntOrString::Int(1)]));
        let listed = [
            (0, true, "web-0"),
            (1, false, "web-01"),
            (1, true, "web-1"),
            (2, false, "web-002"),
            (2, false, "web-02"),
            (2, false, "web-02"),
            (7, true, "web-7"),
            (7, false, "web-07"),
        ];
        let names = |s: &Split, m: &[(i64, bool, &'static str)]| {
            let c: Vec<(i64, &str)> = s.condemned.iter().map(|&(o, i)| (o, m[i].2)).collect();
            let p: Vec<(i64, &str)> = s.replicas.iter().map(|&(o, i)| (o, m[i].2)).collect();
            (p, c, s.duplicates.len())
        };
        let want = (
            vec![(0, "web-0"), (2, "web-002")],
            vec![(7, "web-7"), (7, "web-07"), (2, "web-02"), (2, "web-02"), (1, "web-1"), (1, "web-01")],
            2,
        );
        assert_eq!(names(&split_of(&listed, &r), &listed), want);
        let mut shuffled = listed;
        shuffled.reverse();
        shuffled.swap(0, 5);
        assert_eq!(names(&split_of(&shuffled, &r), &shuffled), want);
        // Two pods of one name: the first listed keeps its place among them.
        let s = split_of(&listed, &r);
        let twins: Vec<usize> = s.condemned.iter().filter(|c| c.0 == 2).map(|c| c.1).collect();
        assert_eq!(twins, vec![4, 5]);
    }

    /// The counting sort (dense ordinals) and the comparison sort (ordinals far apart) give
    /// the order of a plain stable sort by (ordinal, tie), ties broken by `tie` only.
    #[test]
    fn asts_14_sort_by_ordinal_matches_a_stable_sort() {
        let names = ["b", "a", "c", "a", "b", "d", "e", "a"];
        let tie = |a: u32, b: u32| names[a as usize].cmp(names[b as usize]);
        for ordinals in [
            [3, 1, 3, 0, 2, 1, 3, 1],
            [7, 2_000_000_000, 7, 0, 5, 2_000_000_000, 1, i32::MAX],
            [0, 0, 0, 0, 0, 0, 0, 0],
            [0, 1, 2, 3, 4, 5, 6, 7],
        ] {
            let mut keys: Vec<(i32, u32)> =
                ordinals.iter().enumerate().map(|(i, &o)| (o, i as u32)).collect();
            let mut want = keys.clone();
            want.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| tie(a.1, b.1)));
            sort_by_ordinal(&mut keys, tie);
            assert_eq!(keys, want, "{ordinals:?}");
        }
        // A large dense permutation (name order of `web-<o>`), counting-sorted.
        let mut keys: Vec<(i32, u32)> = (0..5000).map(|o| (o, o as u32)).collect();
        keys.sort_by_key(|k| k.0.to_string());
        sort_by_ordinal(&mut keys, |_, _| std::cmp::Ordering::Equal);
        assert!(keys.iter().enumerate().all(|(i, k)| k.0 == i as i32 && k.1 == i as u32));
        let mut none: Vec<(i32, u32)> = Vec::new();
        sort_by_ordinal(&mut none, |_, _| unreachable!("no keys, no ties"));
        assert!(none.is_empty());
    }

    #[test]
    fn asts_14_duplicate_slot_keeps_the_canonical_name() {
        let r = ReplicaRange::new(0, 2, &ReservedOrdinals::default());
        for (order, canonical) in
            [([(1, false, "web-01"), (1, true, "web-1")], 1), ([(1, true, "web-1"), (1, false, "web-01")], 0)]
        {
            let s = split_of(&order, &r);
            assert_eq!(s.replica(1), Some(canonical));
            assert_eq!(s.condemned, vec![(1, 1 - canonical)]);
            assert_eq!(s.duplicates, vec![1 - canonical]);
        }
    }
}
