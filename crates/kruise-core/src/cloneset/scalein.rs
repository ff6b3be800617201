//! CloneSet's scale-in choice (CS-51..CS-53): which pods to delete first, with the
//! same-node and topology-spread ranks. The comparison keys shared with the update order
//! live in [`crate::updatesort`]. Every sort ends with the pod name (CS-91).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;

use crate::podtable::info::{NODE_UNKNOWN, PodInfo};
use crate::updatesort::{created_newest_first, ready_time_recent_first, unscheduled_first};

/// CS-52 without the availability and rank keys (used inside the rankers, CS-53).
fn rank_base_cmp(a: &PodInfo<'_>, b: &PodInfo<'_>, ranks: Option<&[f64]>, ia: usize, ib: usize) -> Ordering {
    unscheduled_first(a, b)
        .then_with(|| a.phase_rank.cmp(&b.phase_rank))
        .then_with(|| a.ready.cmp(&b.ready))
        .then_with(|| a.deletion_cost.cmp(&b.deletion_cost))
        .then_with(|| match ranks {
            Some(r) => r[ib].partial_cmp(&r[ia]).unwrap_or(Ordering::Equal),
            None => Ordering::Equal,
        })
        .then_with(|| ready_time_recent_first(a, b))
        .then_with(|| b.restarts().cmp(&a.restarts()))
        .then_with(|| created_newest_first(a, b))
}

/// CS-53 same-node ranks over `group` (indices into `pods`). O(g + sum of s log s) for a group
/// of g pods with s pods per node: pods get a dense node id (a hash map used for look-up only:
/// a rank depends only on the pods sharing its node, so the map's order never reaches the
/// output), a counting sort by node id brings each node's pods together in group order, then
/// each node's pods are sorted by the rank keys.
fn same_node_ranks(pods: &[PodInfo<'_>], group: &[usize]) -> Vec<f64> {
    let mut ranks = vec![0.0; pods.len()];
    let mut ids: std::collections::HashMap<
        &str,
        u32,
        std::hash::BuildHasherDefault<kruise_api::hash::FnvHasher>,
    > = std::collections::HashMap::default();
    // Pods from a table carry an interned node id: mapped to a dense id through a vector
    // instead of hashing the name.
    let mut by_interned: Vec<u32> = Vec::new();
    let mut dense = 0u32;
    let mut keyed: Vec<(u32, usize)> = Vec::with_capacity(group.len());
    for &i in group {
        let p = &pods[i];
        if !p.scheduled {
            continue;
        }
        let id = if p.node_id != NODE_UNKNOWN {
            let k = p.node_id as usize;
            if by_interned.len() <= k {
                by_interned.resize(k + 1, u32::MAX);
            }
            if by_interned[k] == u32::MAX {
                by_interned[k] = dense;
                dense += 1;
            }
            by_interned[k]
        } else {
            *ids.entry(p.node_name()).or_insert_with(|| {
                dense += 1;
                dense - 1
            })
        };
        keyed.push((id, i));
    }
    // Counting sort by node id (stable: group order within a node).
    let mut start = vec![0usize; dense as usize + 1];
    for &(id, _) in &keyed {
        start[id as usize + 1] += 1;
    }
    for k in 1..start.len() {
        start[k] += start[k - 1];
    }
    let mut by_node = vec![0usize; keyed.len()];
    let mut next = start.clone();
    for &(id, i) in &keyed {
        by_node[next[id as usize]] = i;
        next[id as usize] += 1;
    }
    for w in start.windows(2) {
        let v = &mut by_node[w[0]..w[1]];
        if v.len() < 2 {
            continue;
        }
        v.sort_by(|&x, &y| {
            rank_base_cmp(&pods[x], &pods[y], None, x, y).then_with(|| pods[x].name.cmp(pods[y].name))
        });
        let n = v.len();
        for (k, &i) in v.iter().enumerate().take(n - 1) {
            ranks[i] = (n - 1 - k) as f64;
        }
    }
    ranks
}

/// CS-53 spread ranks over `group`, with the topology keys of the template's constraints.
fn spread_ranks(pods: &[PodInfo<'_>], group: &[usize], keys: &[String], nodes: &[Node]) -> Vec<f64> {
    let node_labels: BTreeMap<&str, &BTreeMap<String, String>> = nodes
        .iter()
        .filter_map(|n| Some((n.metadata.name.as_deref()?, n.metadata.labels.as_ref()?)))
        .collect();
    let same = same_node_ranks(pods, group);
    let mut ranks = vec![0.0; pods.len()];
    for key in keys {
        let mut buckets: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for &i in group {
            let node = pods[i].node_name();
            if let Some(v) = node_labels.get(node).and_then(|l| l.get(key)) {
                buckets.entry(v.as_str()).or_default().push(i);
            }
        }
        let w = ((buckets.len() + 2) as f64).ln();
        let use_rank = key != kruise_api::keys::HOSTNAME_TOPOLOGY_KEY;
        for (_, mut v) in buckets {
            v.sort_by(|&x, &y| {
                rank_base_cmp(&pods[x], &pods[y], use_rank.then_some(same.as_slice()), x, y)
                    .then_with(|| pods[x].name.cmp(pods[y].name))
            });
            let b = v.len();
            for (k, &i) in v.iter().enumerate() {
                ranks[i] += (b - k) as f64 * w;
            }
        }
    }
    ranks
}

/// CS-51/CS-52: the first `k` pods of `group` in scale-in order.
pub fn choose_to_delete(
    pods: &[PodInfo<'_>],
    group: &[usize],
    k: usize,
    spread_keys: &[String],
    nodes: &[Node],
) -> Vec<usize> {
    if k >= group.len() {
        return group.to_vec();
    }
    if k == 0 {
        return Vec::new();
    }
    let ranks = if spread_keys.is_empty() {
        same_node_ranks(pods, group)
    } else {
        spread_ranks(pods, group, spread_keys, nodes)
    };
    // The comparator ends with the position in `group`, so it is a total order: selecting the
    // first k (O(g)) and sorting only those (O(k log k)) gives exactly the first k of the
    // stable sort of the whole group.
    let cmp = |&px: &usize, &py: &usize| {
        let (x, y) = (group[px], group[py]);
        let (a, b) = (&pods[x], &pods[y]);
        unscheduled_first(a, b)
            .then_with(|| a.phase_rank.cmp(&b.phase_rank))
            .then_with(|| a.available.cmp(&b.available))
            .then_with(|| a.ready.cmp(&b.ready))
            .then_with(|| a.deletion_cost.cmp(&b.deletion_cost))
            .then_with(|| ranks[y].partial_cmp(&ranks[x]).unwrap_or(Ordering::Equal))
            .then_with(|| ready_time_recent_first(a, b))
            .then_with(|| b.restarts().cmp(&a.restarts()))
            .then_with(|| created_newest_first(a, b))
            .then_with(|| a.name.cmp(b.name))
            .then_with(|| px.cmp(&py))
    };
    let mut g: Vec<usize> = (0..group.len()).collect();
    g.select_nth_unstable_by(k - 1, cmp);
    g.truncate(k);
    g.sort_unstable_by(cmp);
    g.into_iter().map(|p| group[p]).collect()
}
