//! Nodes and the scheduler: nodeSelector, required node affinity, taints and tolerations,
//! `unschedulable`, node readiness, and capacity (pods, cpu, memory requests).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Node, Pod, PodSpec};
use kruise_core::nodetable::{
    Ineligible, NodeFacts, NodeTaint, Placement, TaintEffect, taint_keys, tolerates,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// A node as a scenario declares it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NodeSpec {
    /// Node name.
    pub name: String,
    /// Labels (`kubernetes.io/hostname` is added).
    pub labels: BTreeMap<String, String>,
    /// Taints.
    pub taints: Vec<TaintSpec>,
    /// Capacity; unset fields take [`Capacity::default`].
    pub capacity: Capacity,
    /// Cordoned.
    pub unschedulable: bool,
    /// Download bandwidth of the node's kubelet and daemon, a quantity of bytes per second
    /// (default: the kubelet's `bandwidth`, `100Mi`).
    pub bandwidth: Option<String>,
}

/// A taint.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaintSpec {
    /// Key.
    pub key: String,
    /// Value.
    #[serde(default)]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

/// Allocatable resources of a node.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Capacity {
    /// Pods (default 110).
    pub pods: u32,
    /// CPU as a quantity (default `"8"`).
    pub cpu: String,
    /// Memory as a quantity (default `"32Gi"`).
    pub memory: String,
}

impl Default for Capacity {
    fn default() -> Self {
        Self { pods: 110, cpu: "8".into(), memory: "32Gi".into() }
    }
}

impl NodeSpec {
    /// `count` identical nodes `node-1` … `node-<count>`.
    pub fn numbered(count: usize) -> Vec<NodeSpec> {
        (1..=count).map(|i| NodeSpec { name: format!("node-{i}"), ..NodeSpec::default() }).collect()
    }

    /// The Node object (Ready).
    pub fn to_object(&self) -> Value {
        let mut labels = self.labels.clone();
        labels.entry("kubernetes.io/hostname".into()).or_insert_with(|| self.name.clone());
        let resources = json!({"pods": self.capacity.pods.to_string(), "cpu": self.capacity.cpu, "memory": self.capacity.memory});
        json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": self.name, "labels": labels},
            "spec": {
                "unschedulable": self.unschedulable,
                "taints": self.taints.iter().map(|t| json!({"key": t.key, "value": t.value, "effect": t.effect})).collect::<Vec<_>>(),
            },
            "status": {
                "capacity": resources, "allocatable": resources,
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
            }
        })
    }
}

/// Parses a Kubernetes quantity into milli-units (`"100m"` → 100, `"2"` → 2000,
/// `"128Mi"` → 134217728000). `None` if it does not parse.
pub fn parse_quantity_milli(q: &str) -> Option<u128> {
    let q = q.trim();
    let split = q.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_milli: u128 = if frac.is_empty() {
        0
    } else {
        let f = format!("{frac:0<3}");
        f.get(..3)?.parse().ok()?
    };
    let base = int * 1000 + frac_milli;
    let mult: u128 = match suffix {
        "" => 1,
        "m" => return Some(int),
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        _ => return None,
    };
    Some(base * mult)
}

/// Why a pod fits no node (the scheduler's `FailedScheduling` message).
pub type Unschedulable = String;

/// What the pods bound to a node use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Pods bound (not yet terminated).
    pub pods: u128,
    /// CPU requests, milli-cores.
    pub cpu: u128,
    /// Memory requests, milli-bytes.
    pub memory: u128,
}

impl Usage {
    /// Adds a pod's requests.
    pub fn add(&mut self, pod: &Pod) {
        self.pods += 1;
        self.cpu += requests(pod, "cpu");
        self.memory += requests(pod, "memory");
    }
}

/// Picks a node for `pod`: among feasible nodes, the one with the fewest pods, then by name.
/// `usage` is what the pods already bound to each node use.
pub fn pick_node(
    pod: &Pod,
    nodes: &[Node],
    usage: &BTreeMap<String, Usage>,
) -> Result<String, Unschedulable> {
    let mut reasons: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut best: Option<(u128, &str)> = None;
    for node in nodes {
        let name = node.metadata.name.as_deref().unwrap_or_default();
        let on_node = usage.get(name).copied().unwrap_or_default();
        match feasible(pod, node, &on_node) {
            Ok(()) => {
                let load = on_node.pods;
                if best.is_none_or(|(l, n)| (load, name) < (l, n)) {
                    best = Some((load, name));
                }
            }
            Err(r) => *reasons.entry(r).or_default() += 1,
        }
    }
    match best {
        Some((_, n)) => Ok(n.to_owned()),
        None => Err(format!(
            "0/{} nodes are available: {}",
            nodes.len(),
            reasons.iter().map(|(r, n)| format!("{n} {r}")).collect::<Vec<_>>().join(", ")
        )),
    }
}

fn feasible(pod: &Pod, node: &Node, on_node: &Usage) -> Result<(), &'static str> {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    if !ready {
        return Err("node(s) were not ready");
    }
    // Node selector, required node affinity (matchExpressions and matchFields) and
    // NoSchedule / NoExecute taints: the shared placement predicate (ADS-7).
    let pspec = pod.spec.clone().unwrap_or_default();
    let (Ok(facts), Ok(placement)) =
        (NodeFacts::from_node(node, "node"), Placement::from_pod_spec(&pspec, "spec"))
    else {
        return Err("node(s) didn't match Pod's node affinity/selector");
    };
    // The scheduler skips cordoned nodes unless the pod tolerates their unschedulable taint.
    let cordon = NodeTaint {
        key: taint_keys::UNSCHEDULABLE.into(),
        value: String::new(),
        effect: TaintEffect::NoSchedule,
        effect_text: "NoSchedule".into(),
    };
    if facts.unschedulable && !placement.tolerations().iter().any(|t| tolerates(t, &cordon)) {
        return Err("node(s) were unschedulable");
    }
    let mut placement = placement;
    if pspec.node_name.is_some() {
        placement = Placement::from_pod_spec(&PodSpec { node_name: None, ..pspec }, "spec")
            .map_err(|_| "node(s) didn't match Pod's node affinity/selector")?;
    }
    match placement.eligibility(&facts).why_not {
        None => {}
        Some(Ineligible::Taint { .. }) => return Err("node(s) had untolerated taint"),
        Some(_) => return Err("node(s) didn't match Pod's node affinity/selector"),
    }
    let alloc = node.status.as_ref().and_then(|s| s.allocatable.clone()).unwrap_or_default();
    let max_pods = alloc.get("pods").and_then(|q| parse_quantity_milli(&q.0)).map_or(u128::MAX, |m| m / 1000);
    if on_node.pods >= max_pods {
        return Err("Too many pods");
    }
    for (resource, message) in [("cpu", "Insufficient cpu"), ("memory", "Insufficient memory")] {
        let Some(cap) = alloc.get(resource).and_then(|q| parse_quantity_milli(&q.0)) else { continue };
        let used = if resource == "cpu" { on_node.cpu } else { on_node.memory };
        if used + requests(pod, resource) > cap {
            return Err(message);
        }
    }
    Ok(())
}

/// The sum of a pod's container requests of `resource`, in milli-units.
pub fn requests(pod: &Pod, resource: &str) -> u128 {
    pod.spec
        .as_ref()
        .map(|s| {
            s.containers
                .iter()
                .filter_map(|c| c.resources.as_ref()?.requests.as_ref()?.get(resource))
                .filter_map(|q| parse_quantity_milli(&q.0))
                .sum()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(spec: NodeSpec) -> Node {
        serde_json::from_value(spec.to_object()).unwrap()
    }

    fn pod(spec: Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": spec})).unwrap()
    }

    #[test]
    fn quantities_parse_to_milli_units() {
        assert_eq!(parse_quantity_milli("100m"), Some(100));
        assert_eq!(parse_quantity_milli("2"), Some(2000));
        assert_eq!(parse_quantity_milli("0.5"), Some(500));
        assert_eq!(parse_quantity_milli("1Ki"), Some(1_024_000));
        assert_eq!(parse_quantity_milli("1x"), None);
    }

    #[test]
    fn spreads_to_least_loaded_then_name() {
        let nodes: Vec<Node> = NodeSpec::numbered(3).into_iter().map(node).collect();
        let p = pod(json!({"containers": [{"name": "c"}]}));
        let mut usage = BTreeMap::new();
        assert_eq!(pick_node(&p, &nodes, &usage).unwrap(), "node-1");
        usage.entry("node-1".to_owned()).or_insert_with(Usage::default).add(&p);
        assert_eq!(pick_node(&p, &nodes, &usage).unwrap(), "node-2");
    }

    #[test]
    fn honours_selector_affinity_and_taints() {
        let gpu = NodeSpec {
            name: "gpu".into(),
            labels: [("gpu".to_owned(), "yes".to_owned())].into(),
            taints: vec![TaintSpec { key: "gpu".into(), value: None, effect: "NoSchedule".into() }],
            ..Default::default()
        };
        let plain = NodeSpec { name: "plain".into(), ..Default::default() };
        let nodes = vec![node(gpu), node(plain)];
        let bound = BTreeMap::new();
        let wants_gpu = pod(json!({"containers": [{"name": "c"}], "nodeSelector": {"gpu": "yes"}}));
        assert!(pick_node(&wants_gpu, &nodes, &bound).unwrap_err().contains("untolerated taint"));
        let tolerant = pod(
            json!({"containers": [{"name": "c"}], "nodeSelector": {"gpu": "yes"}, "tolerations": [{"key": "gpu", "operator": "Exists"}]}),
        );
        assert_eq!(pick_node(&tolerant, &nodes, &bound).unwrap(), "gpu");
        let affinity = pod(
            json!({"containers": [{"name": "c"}], "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "gpu", "operator": "DoesNotExist"}]}]}}}}),
        );
        assert_eq!(pick_node(&affinity, &nodes, &bound).unwrap(), "plain");
    }

    #[test]
    fn respects_capacity() {
        let small = NodeSpec {
            name: "n".into(),
            capacity: Capacity { pods: 1, cpu: "1".into(), memory: "1Gi".into() },
            ..Default::default()
        };
        let nodes = vec![node(small)];
        let big = pod(json!({"containers": [{"name": "c", "resources": {"requests": {"cpu": "1500m"}}}]}));
        assert!(pick_node(&big, &nodes, &BTreeMap::new()).unwrap_err().contains("Insufficient cpu"));
        let p = pod(json!({"containers": [{"name": "c"}]}));
        let mut used = Usage::default();
        used.add(&p);
        let usage = BTreeMap::from([("n".to_owned(), used)]);
        assert!(pick_node(&p, &nodes, &usage).unwrap_err().contains("Too many pods"));
    }

    #[test]
    fn unready_and_cordoned_nodes_are_skipped() {
        let cordoned = NodeSpec { name: "c".into(), unschedulable: true, ..Default::default() };
        let nodes = vec![node(cordoned)];
        let p = pod(json!({"containers": [{"name": "c"}]}));
        assert!(pick_node(&p, &nodes, &BTreeMap::new()).is_err());
    }
}
