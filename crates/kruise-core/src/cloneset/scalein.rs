//! CloneSet's scale-in choice (CS-51..CS-53): which pods to delete first, with the
//! same-node and topology-spread ranks. The comparison keys shared with the update order
//! live in [`crate::updatesort`]. Every sort ends with the pod name (CS-91).
//!
//! Cost: the CS-52 keys of the g pods of a group are packed once, in group order (one
//! sequential pass over the pod records), into a contiguous array; ranking and selecting
//! then compare those records instead of following each pod's record and facts, so choosing
//! k of g pods is O(g + sum over nodes of s log s + k log k) with sequential memory access.
//! The restart count and the name, reached only on ties of every earlier key, are read lazily.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;

use crate::podtable::info::{NODE_UNKNOWN, PodInfo};
use crate::updatesort::newest_first_key;

/// `Key::head` bit: the pod is available (CS-52 key 3; not part of the rankers' keys).
const AVAILABLE: u8 = 0b10;
/// Mask of `Key::head` for the rankers' keys (CS-53): scheduled, phase, ready.
const BASE: u8 = !AVAILABLE;

/// The CS-52 keys of one pod, each ascending = deleted first, plus its node: what ranking and
/// choosing read, 56 bytes per pod in one array.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Key {
    /// The CS-53 rank as ordered bits, highest rank first (`u64::MAX - bits`; ranks are
    /// finite and non-negative, so their bit patterns order like their values).
    rank: u64,
    /// Ready time, most recent (or unset) first, when ready; else 0.
    ready: (i64, u64),
    /// Creation time, newest (or unset) first.
    created: (i64, u64),
    /// Deletion cost, lowest first.
    cost: i32,
    /// Index of the pod in the plan's pod records.
    idx: u32,
    /// Interned node id (a table's), [`NODE_UNKNOWN`] when only the name is known.
    node: u32,
    /// scheduled (bit 4; unscheduled first), phase rank (bits 2-3), available (bit 1), ready
    /// (bit 0).
    head: u8,
}

/// An `i128` split so the record needs 8-byte alignment only.
fn split(v: i128) -> (i64, u64) {
    ((v >> 64) as i64, v as u64)
}

/// Ordered bits of a rank: higher ranks first.
fn rank_key(r: f64) -> u64 {
    u64::MAX - r.to_bits()
}

impl Key {
    /// The keys of pod record `p` (its `idx` is its position in the plan's records). O(1),
    /// from the pod's facts only.
    pub(crate) fn of(p: &PodInfo<'_>) -> Self {
        let head = (u8::from(p.scheduled) << 4)
            | (p.phase_rank.min(3) << 2)
            | (u8::from(p.available) << 1)
            | u8::from(p.ready);
        let ready = if p.ready { newest_first_key(p.ready_since) } else { 0 };
        Key {
            rank: rank_key(0.0),
            ready: split(ready),
            created: split(newest_first_key(p.created)),
            cost: p.deletion_cost,
            idx: p.idx,
            node: p.node_id,
            head,
        }
    }

    fn scheduled(&self) -> bool {
        self.head & 0b1_0000 != 0
    }
}

/// CS-52 on two keys: `mask` selects the head bits compared ([`BASE`] inside the rankers,
/// which ignore availability), `use_rank` whether the rank is compared. After the packed
/// keys: restart count (most first), creation time, name, pod index, the first and the name
/// read from the pod record (only on ties of every earlier key); so it is a total order and a
/// selection equals a sort's prefix. Pod indices follow name order, so the index stands for
/// the position in the group of the comparator as written.
fn key_cmp<'a, P: Fn(usize) -> PodInfo<'a>>(pod: &P, a: &Key, b: &Key, mask: u8, use_rank: bool) -> Ordering {
    (a.head & mask, a.cost)
        .cmp(&(b.head & mask, b.cost))
        .then_with(|| if use_rank { a.rank.cmp(&b.rank) } else { Ordering::Equal })
        .then_with(|| a.ready.cmp(&b.ready))
        .then_with(|| {
            let (pa, pb) = (pod(a.idx as usize), pod(b.idx as usize));
            pb.restarts()
                .cmp(&pa.restarts())
                .then_with(|| a.created.cmp(&b.created))
                .then_with(|| pa.name.cmp(pb.name))
        })
        .then_with(|| a.idx.cmp(&b.idx))
}

/// CS-53 same-node ranks over `keys`, written into them. O(g + sum of s log s) for g pods
/// with s pods per node: pods get a dense node id (from the table's interned id through a
/// vector, else by name through a hash map used for look-up only: a rank depends only on the
/// pods sharing its node, so the map's order never reaches the output), a counting sort by
/// node id brings each node's pods together in `keys` order, then each node's pods are
/// sorted by the rank keys.
fn same_node_ranks<'a, P: Fn(usize) -> PodInfo<'a>>(pod: &P, keys: &mut [Key]) {
    let mut by_name: std::collections::HashMap<
        &str,
        u32,
        std::hash::BuildHasherDefault<kruise_api::hash::FnvHasher>,
    > = std::collections::HashMap::default();
    let mut by_interned: Vec<u32> = Vec::new();
    let mut dense = 0u32;
    // Dense node id per position (u32::MAX: unscheduled, not ranked).
    let mut ids: Vec<u32> = Vec::with_capacity(keys.len());
    for key in keys.iter() {
        if !key.scheduled() {
            ids.push(u32::MAX);
            continue;
        }
        let id = if key.node != NODE_UNKNOWN {
            let k = key.node as usize;
            if by_interned.len() <= k {
                by_interned.resize(k + 1, u32::MAX);
            }
            if by_interned[k] == u32::MAX {
                by_interned[k] = dense;
                dense += 1;
            }
            by_interned[k]
        } else {
            *by_name.entry(pod(key.idx as usize).node_name()).or_insert_with(|| {
                dense += 1;
                dense - 1
            })
        };
        ids.push(id);
    }
    // Counting sort by node id (stable: `keys` order within a node).
    let mut start = vec![0u32; dense as usize + 1];
    for &id in ids.iter().filter(|&&id| id != u32::MAX) {
        start[id as usize + 1] += 1;
    }
    for k in 1..start.len() {
        start[k] += start[k - 1];
    }
    let mut by_node = vec![0u32; start[dense as usize] as usize];
    let mut next = start.clone();
    for (pos, &id) in ids.iter().enumerate().filter(|(_, id)| **id != u32::MAX) {
        by_node[next[id as usize] as usize] = pos as u32;
        next[id as usize] += 1;
    }
    drop(ids);
    for w in start.windows(2) {
        let v = &mut by_node[w[0] as usize..w[1] as usize];
        if v.len() < 2 {
            continue;
        }
        v.sort_unstable_by(|&x, &y| key_cmp(pod, &keys[x as usize], &keys[y as usize], BASE, false));
        let n = v.len();
        for (k, &pos) in v.iter().enumerate().take(n - 1) {
            keys[pos as usize].rank = rank_key((n - 1 - k) as f64);
        }
    }
}

/// CS-53 spread ranks over `keys`, with the topology keys of the template's constraints,
/// written into them (the same-node ranks, which the buckets' sorts read, first).
fn spread_ranks<'a, P: Fn(usize) -> PodInfo<'a>>(
    pod: &P,
    keys: &mut [Key],
    topology_keys: &[String],
    nodes: &[Node],
) {
    let node_labels: BTreeMap<&str, &BTreeMap<String, String>> = nodes
        .iter()
        .filter_map(|n| Some((n.metadata.name.as_deref()?, n.metadata.labels.as_ref()?)))
        .collect();
    same_node_ranks(pod, keys);
    let mut ranks = vec![0.0; keys.len()];
    for key in topology_keys {
        let mut buckets: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (pos, k) in keys.iter().enumerate() {
            let node = pod(k.idx as usize).node_name();
            if let Some(v) = node_labels.get(node).and_then(|l| l.get(key)) {
                buckets.entry(v.as_str()).or_default().push(pos);
            }
        }
        let w = ((buckets.len() + 2) as f64).ln();
        let use_rank = key != kruise_api::keys::HOSTNAME_TOPOLOGY_KEY;
        for (_, mut v) in buckets {
            v.sort_unstable_by(|&x, &y| key_cmp(pod, &keys[x], &keys[y], BASE, use_rank));
            let b = v.len();
            for (k, &pos) in v.iter().enumerate() {
                ranks[pos] += (b - k) as f64 * w;
            }
        }
    }
    for (k, r) in keys.iter_mut().zip(ranks) {
        k.rank = rank_key(r);
    }
}

/// CS-51/CS-52: the indices of the first `k` pods of a group in scale-in order. `keys` are
/// the group's [`Key`]s in ascending pod index; `pod(i)` gives the record of pod `i` (read
/// only on ties, for the restart count, the name and, for pods of a slice, the node name).
pub(crate) fn choose_to_delete<'a, P: Fn(usize) -> PodInfo<'a>>(
    pod: &P,
    mut keys: Vec<Key>,
    k: usize,
    spread_keys: &[String],
    nodes: &[Node],
) -> Vec<usize> {
    if k >= keys.len() {
        return keys.into_iter().map(|key| key.idx as usize).collect();
    }
    if k == 0 {
        return Vec::new();
    }
    if spread_keys.is_empty() {
        same_node_ranks(pod, &mut keys);
    } else {
        spread_ranks(pod, &mut keys, spread_keys, nodes);
    }
    // The comparator is a total order: selecting the first k (O(g)) and sorting only those
    // (O(k log k)) gives exactly the first k of the stable sort of the whole group.
    let cmp = |a: &Key, b: &Key| key_cmp(pod, a, b, u8::MAX, true);
    keys.select_nth_unstable_by(k - 1, cmp);
    keys.truncate(k);
    keys.sort_unstable_by(cmp);
    keys.into_iter().map(|key| key.idx as usize).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloneset::fixtures::{self, pod, ts};
    use crate::podtable::info::PodEnv;
    use crate::updatesort::{created_newest_first, ready_time_recent_first, unscheduled_first};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    /// CS-52 as written: one comparator over the pod records, `ranks` by pod index.
    fn reference_cmp(
        a: &PodInfo<'_>,
        b: &PodInfo<'_>,
        ranks: Option<&[f64]>,
        with_available: bool,
    ) -> Ordering {
        let (ia, ib) = (a.idx as usize, b.idx as usize);
        unscheduled_first(a, b)
            .then_with(|| a.phase_rank.cmp(&b.phase_rank))
            .then_with(|| if with_available { a.available.cmp(&b.available) } else { Ordering::Equal })
            .then_with(|| a.ready.cmp(&b.ready))
            .then_with(|| a.deletion_cost.cmp(&b.deletion_cost))
            .then_with(|| match ranks {
                Some(r) => r[ib].partial_cmp(&r[ia]).unwrap_or(Ordering::Equal),
                None => Ordering::Equal,
            })
            .then_with(|| ready_time_recent_first(a, b))
            .then_with(|| b.restarts().cmp(&a.restarts()))
            .then_with(|| created_newest_first(a, b))
            .then_with(|| a.name.cmp(b.name))
    }

    /// CS-53 same-node ranks as written: per node, a stable sort of its pods (group order).
    fn reference_same_node(pods: &[PodInfo<'_>], group: &[usize]) -> Vec<f64> {
        let mut ranks = vec![0.0; pods.len()];
        let mut by_node: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for &i in group.iter().filter(|&&i| pods[i].scheduled) {
            by_node.entry(pods[i].node_name()).or_default().push(i);
        }
        for (_, mut v) in by_node {
            v.sort_by(|&x, &y| reference_cmp(&pods[x], &pods[y], None, false));
            let n = v.len();
            for (k, &i) in v.iter().enumerate().take(n - 1) {
                ranks[i] = (n - 1 - k) as f64;
            }
        }
        ranks
    }

    /// CS-51..CS-53 as written: a stable sort of the whole group, then the first `k`.
    fn reference_choose(
        pods: &[PodInfo<'_>],
        group: &[usize],
        k: usize,
        keys: &[String],
        nodes: &[Node],
    ) -> Vec<usize> {
        // Every pod of the group goes, in group order, when it has no more than `k`.
        if k >= group.len() {
            return group.to_vec();
        }
        let same = reference_same_node(pods, group);
        let ranks = if keys.is_empty() {
            same
        } else {
            let labels: BTreeMap<&str, &BTreeMap<String, String>> = nodes
                .iter()
                .filter_map(|n| Some((n.metadata.name.as_deref()?, n.metadata.labels.as_ref()?)))
                .collect();
            let mut ranks = vec![0.0; pods.len()];
            for key in keys {
                let mut buckets: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
                for &i in group {
                    if let Some(v) = labels.get(pods[i].node_name()).and_then(|l| l.get(key)) {
                        buckets.entry(v.as_str()).or_default().push(i);
                    }
                }
                let w = ((buckets.len() + 2) as f64).ln();
                let use_rank = key != kruise_api::keys::HOSTNAME_TOPOLOGY_KEY;
                for (_, mut v) in buckets {
                    v.sort_by(|&x, &y| {
                        reference_cmp(&pods[x], &pods[y], use_rank.then_some(same.as_slice()), false)
                    });
                    let b = v.len();
                    for (k, &i) in v.iter().enumerate() {
                        ranks[i] += (b - k) as f64 * w;
                    }
                }
            }
            ranks
        };
        let mut all = group.to_vec();
        all.sort_by(|&x, &y| reference_cmp(&pods[x], &pods[y], Some(&ranks), true));
        all.truncate(k);
        all
    }

    /// Pods with every CS-52 key varied (scheduling, phase, availability through
    /// minReadySeconds, readiness, deletion cost, ready and creation times, restarts), several
    /// per node, in name order as a plan holds them.
    fn mixed_pods(n: i64) -> Vec<k8s_openapi::api::core::v1::Pod> {
        let cs = fixtures::cloneset("demo", n as i32, "app:v1");
        let mut pods: Vec<_> = (0..n)
            .map(|i| {
                let mut b = pod(&cs, &format!("{:03}", (i * 7) % n), "demo-r1")
                    .created(i % 5)
                    .ready_since(990 + i % 4)
                    .restarts((i % 3) as i32)
                    .node(&format!("nø-{}", i % 7));
                if i % 6 == 0 {
                    b = b.not_ready();
                }
                if i % 19 == 0 {
                    b = b.unscheduled();
                }
                if i % 11 == 0 {
                    b = b.pending();
                }
                if i % 8 == 0 {
                    b = b.annotation(kruise_api::keys::POD_DELETION_COST, &format!("{}", i % 3 - 1));
                }
                b.build()
            })
            .collect();
        pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        pods
    }

    fn node(i: usize) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some(format!("nø-{i}")),
                labels: Some(
                    [
                        ("zone".to_owned(), format!("z{}", i % 3)),
                        (kruise_api::keys::HOSTNAME_TOPOLOGY_KEY.to_owned(), format!("nø-{i}")),
                    ]
                    .into(),
                ),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// The packed keys give exactly the order of the comparator over the pod records, for
    /// every k, with the same-node ranker and with spread ranks (zone and hostname keys).
    #[test]
    fn cs_52_cs_53_keyed_scale_in_choice_equals_comparator_sort() {
        let pods = mixed_pods(120);
        let env = PodEnv {
            now: ts(1000),
            min_ready_seconds: 8,
            update_revision: "demo-r2".into(),
            update_short: "r2".into(),
            preparing_update_as_update: false,
        };
        let mut infos: Vec<PodInfo<'_>> = pods.iter().map(|p| PodInfo::new(p, &env, false)).collect();
        for (i, p) in infos.iter_mut().enumerate() {
            p.idx = i as u32;
        }
        assert!(infos.iter().any(|p| p.available) && infos.iter().any(|p| p.ready && !p.available));
        let nodes: Vec<Node> = (0..7).map(node).collect();
        let every: Vec<usize> = (0..infos.len()).collect();
        let odd: Vec<usize> = (0..infos.len()).filter(|i| i % 2 == 1).collect();
        let spreads: [Vec<String>; 3] = [
            vec![],
            vec!["zone".to_owned()],
            vec!["zone".to_owned(), kruise_api::keys::HOSTNAME_TOPOLOGY_KEY.to_owned()],
        ];
        for group in [&every, &odd] {
            for keys in &spreads {
                for k in [0, 1, 5, 37, group.len() - 1, group.len(), group.len() + 3] {
                    let packed: Vec<Key> = group.iter().map(|&i| Key::of(&infos[i])).collect();
                    assert_eq!(
                        choose_to_delete(&|i| infos[i].clone(), packed, k, keys, &nodes),
                        reference_choose(&infos, group, k, keys, &nodes),
                        "k {k}, group of {}, spread {keys:?}",
                        group.len()
                    );
                }
            }
        }
    }
}
