//! Nodes with their eligibility facts, and the pure "should this node run this pod" predicate
//! shared by every node-targeting workload (Advanced DaemonSet ADS-6/ADS-7; BroadcastJob and
//! ImagePullJob reuse it). Workload-neutral: nothing here knows about DaemonSets except the
//! optional set of default tolerations [`daemonset_default_tolerations`] (ADS-6).
//!
//! - [`NodeFacts`]: what a placement decision reads from a `Node` (name, labels, taints,
//!   `spec.unschedulable`, conditions, allocatable), extracted **once per node version**.
//! - [`NodeTable`]: the facts of all nodes, by name, kept up to date per watch event
//!   ([`NodeTable::apply`] skips a node whose `resourceVersion` did not change), so a plan never
//!   re-parses a node's labels and taints.
//! - [`Placement`]: a pod spec's placement constraints compiled once per plan: `spec.nodeName`
//!   pinning, `nodeSelector`, required node affinity (terms ORed; `matchExpressions` on labels
//!   with In / NotIn / Exists / DoesNotExist / Gt / Lt and `matchFields` on `metadata.name`
//!   ANDed within a term; preferred terms ignored), tolerations.
//! - [`Placement::eligibility`]: `(shouldRun, shouldContinueRunning)` for one node (ADS-7):
//!   taints with effect `NoSchedule` / `NoExecute` must be tolerated to run; only an untolerated
//!   `NoExecute` taint evicts a running pod. `PreferNoSchedule` taints, `spec.unschedulable`,
//!   node conditions, resources and ports are **not** inspected (the scheduler's business).
//!
//! Label-*selector* matching (pods, the rolling-update node selector) is not here: it is the
//! one shared label selector matcher. Cost: building facts is O(labels + taints + conditions)
//! per node version; one eligibility check is O(selector + terms + taints × tolerations).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Node, NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Toleration};

use crate::plan::PlanError;

/// Taint keys the DaemonSet controller tolerates by default (ADS-6).
pub mod taint_keys {
    /// `node.kubernetes.io/not-ready`.
    pub const NOT_READY: &str = "node.kubernetes.io/not-ready";
    /// `node.kubernetes.io/unreachable`.
    pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
    /// `node.kubernetes.io/disk-pressure`.
    pub const DISK_PRESSURE: &str = "node.kubernetes.io/disk-pressure";
    /// `node.kubernetes.io/memory-pressure`.
    pub const MEMORY_PRESSURE: &str = "node.kubernetes.io/memory-pressure";
    /// `node.kubernetes.io/pid-pressure`.
    pub const PID_PRESSURE: &str = "node.kubernetes.io/pid-pressure";
    /// `node.kubernetes.io/unschedulable`.
    pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
    /// `node.kubernetes.io/network-unavailable`.
    pub const NETWORK_UNAVAILABLE: &str = "node.kubernetes.io/network-unavailable";
}

/// The field key `matchFields` may use.
pub const FIELD_METADATA_NAME: &str = "metadata.name";

/// A taint's effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaintEffect {
    /// `NoSchedule`: new pods need a toleration; running pods stay.
    NoSchedule,
    /// `PreferNoSchedule`: a scheduler preference, ignored by placement checks.
    PreferNoSchedule,
    /// `NoExecute`: new pods need a toleration and running pods are evicted without one.
    NoExecute,
    /// Any other text (kept so that an `effect` toleration still compares by text).
    Other,
}

impl TaintEffect {
    /// Reads a taint effect.
    pub fn parse(s: &str) -> Self {
        match s {
            "NoSchedule" => Self::NoSchedule,
            "PreferNoSchedule" => Self::PreferNoSchedule,
            "NoExecute" => Self::NoExecute,
            _ => Self::Other,
        }
    }
}

/// One taint of a node, as placement reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeTaint {
    /// Key.
    pub key: String,
    /// Value (`""` when unset).
    pub value: String,
    /// Effect, parsed.
    pub effect: TaintEffect,
    /// Effect text as written.
    pub effect_text: String,
}

/// What placement decisions read from one node, extracted once per node version.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct NodeFacts {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.resourceVersion` the facts were extracted from (`None` when unset).
    pub resource_version: Option<String>,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `spec.taints`.
    pub taints: Vec<NodeTaint>,
    /// `spec.unschedulable` (cordoned). Not part of [`Placement::eligibility`] (ADS-7).
    pub unschedulable: bool,
    /// The `Ready` condition: `Some(true)` when `True`, `Some(false)` when `False`/`Unknown`,
    /// `None` when absent. Not part of [`Placement::eligibility`] (ADS-7).
    pub ready: Option<bool>,
    /// Types of the conditions whose status is `True`.
    pub true_conditions: BTreeSet<String>,
    /// `status.allocatable`, quantities as written.
    pub allocatable: BTreeMap<String, String>,
}

impl NodeFacts {
    /// Extracts the facts of `node`. `path` names the node in errors (`nodes[3]`). Errors only
    /// when the node has no name.
    pub fn from_node(node: &Node, path: &str) -> Result<Self, PlanError> {
        let name = node.metadata.name.as_deref().filter(|n| !n.is_empty()).ok_or_else(|| {
            PlanError::InvalidSpec {
                path: format!("{path}.metadata.name").as_str().into(),
                message: "required".into(),
            }
        })?;
        let spec = node.spec.as_ref();
        let taints = spec
            .and_then(|s| s.taints.as_deref())
            .unwrap_or_default()
            .iter()
            .map(|t| NodeTaint {
                key: t.key.clone(),
                value: t.value.clone().unwrap_or_default(),
                effect: TaintEffect::parse(&t.effect),
                effect_text: t.effect.clone(),
            })
            .collect();
        let status = node.status.as_ref();
        let conditions = status.and_then(|s| s.conditions.as_deref()).unwrap_or_default();
        let ready = conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.status == "True");
        let true_conditions =
            conditions.iter().filter(|c| c.status == "True").map(|c| c.type_.clone()).collect();
        let allocatable = status
            .and_then(|s| s.allocatable.as_ref())
            .map(|a| a.iter().map(|(k, q)| (k.clone(), q.0.clone())).collect())
            .unwrap_or_default();
        Ok(Self {
            name: name.to_owned(),
            resource_version: node.metadata.resource_version.clone(),
            labels: node.metadata.labels.clone().unwrap_or_default(),
            taints,
            unschedulable: spec.and_then(|s| s.unschedulable).unwrap_or(false),
            ready,
            true_conditions,
            allocatable,
        })
    }
}

/// The facts of all nodes, by name ascending, kept per watch event like a pod table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeTable {
    rows: BTreeMap<String, NodeFacts>,
}

impl NodeTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// A table of `nodes`. A name seen twice keeps the later node. Errors on a node without
    /// a name (`nodes[i].metadata.name`).
    pub fn from_nodes(nodes: &[Node]) -> Result<Self, PlanError> {
        let mut t = Self::new();
        for (i, n) in nodes.iter().enumerate() {
            let facts = NodeFacts::from_node(n, &format!("nodes[{i}]"))?;
            t.rows.insert(facts.name.clone(), facts);
        }
        Ok(t)
    }

    /// Adds or updates a node (watch event Added / Modified). Facts are extracted again only
    /// when the node is new or its `resourceVersion` changed (or is unset). Returns whether the
    /// row changed.
    pub fn apply(&mut self, node: &Node) -> Result<bool, PlanError> {
        let name = node.metadata.name.as_deref().unwrap_or_default();
        if let Some(row) = self.rows.get(name)
            && row.resource_version.is_some()
            && row.resource_version == node.metadata.resource_version
        {
            return Ok(false);
        }
        let facts = NodeFacts::from_node(node, "node")?;
        let changed = self.rows.get(name) != Some(&facts);
        self.rows.insert(facts.name.clone(), facts);
        Ok(changed)
    }

    /// Removes a node (watch event Deleted). Returns whether it was present.
    pub fn remove(&mut self, name: &str) -> bool {
        self.rows.remove(name).is_some()
    }

    /// The facts of a node.
    pub fn get(&self, name: &str) -> Option<&NodeFacts> {
        self.rows.get(name)
    }

    /// True when the node is in the table.
    pub fn contains(&self, name: &str) -> bool {
        self.rows.contains_key(name)
    }

    /// Nodes by name ascending (byte order, so `node-10 < node-5`).
    pub fn iter(&self) -> impl Iterator<Item = &NodeFacts> {
        self.rows.values()
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The tolerations the DaemonSet controller adds to its pods, all `operator: Exists` (ADS-6):
/// not-ready and unreachable (`NoExecute`), disk/memory/pid pressure and unschedulable
/// (`NoSchedule`), and with `hostNetwork` also network-unavailable (`NoSchedule`).
pub fn daemonset_default_tolerations(host_network: bool) -> Vec<Toleration> {
    use taint_keys as k;
    let t = |key: &str, effect: &str| Toleration {
        key: Some(key.to_owned()),
        operator: Some("Exists".to_owned()),
        effect: Some(effect.to_owned()),
        value: None,
        toleration_seconds: None,
    };
    let mut v = vec![
        t(k::NOT_READY, "NoExecute"),
        t(k::UNREACHABLE, "NoExecute"),
        t(k::DISK_PRESSURE, "NoSchedule"),
        t(k::MEMORY_PRESSURE, "NoSchedule"),
        t(k::PID_PRESSURE, "NoSchedule"),
        t(k::UNSCHEDULABLE, "NoSchedule"),
    ];
    if host_network {
        v.push(t(k::NETWORK_UNAVAILABLE, "NoSchedule"));
    }
    v
}

/// Adds each of `extra` to `tolerations` unless an equal one (key, operator, value, effect) is
/// already there; an equal one is replaced (its `tolerationSeconds` taken from `extra`).
pub fn add_tolerations(tolerations: &mut Vec<Toleration>, extra: &[Toleration]) {
    let same = |a: &Toleration, b: &Toleration| {
        a.key == b.key
            && a.effect == b.effect
            && a.value.as_deref().unwrap_or_default() == b.value.as_deref().unwrap_or_default()
            && a.operator.as_deref().unwrap_or("Equal") == b.operator.as_deref().unwrap_or("Equal")
    };
    for e in extra {
        match tolerations.iter_mut().find(|t| same(t, e)) {
            Some(t) => *t = e.clone(),
            None => tolerations.push(e.clone()),
        }
    }
}

/// Pins a pod spec to `node` the way node-targeting controllers do (ADS-17, BJ-21): with
/// `bind`, `spec.nodeName = node`; otherwise the required node affinity is **replaced** by the
/// single term `matchFields: metadata.name In [node]` (preferred terms kept) and `nodeName` is
/// left to the scheduler.
pub fn pin_to_node(spec: &mut PodSpec, node: &str, bind: bool) {
    use k8s_openapi::api::core::v1::{Affinity, NodeAffinity, NodeSelector};
    if bind {
        spec.node_name = Some(node.to_owned());
        return;
    }
    let term = NodeSelectorTerm {
        match_expressions: None,
        match_fields: Some(vec![NodeSelectorRequirement {
            key: FIELD_METADATA_NAME.into(),
            operator: "In".into(),
            values: Some(vec![node.to_owned()]),
        }]),
    };
    let affinity = spec.affinity.get_or_insert_with(Affinity::default);
    let na = affinity.node_affinity.get_or_insert_with(NodeAffinity::default);
    na.required_during_scheduling_ignored_during_execution =
        Some(NodeSelector { node_selector_terms: vec![term] });
}

/// The node a pod is assigned to (BJ-13): `spec.nodeName` when set, else the single value of
/// the first required node-affinity `matchFields` requirement `metadata.name In [..]` when it
/// has exactly one value, else `None` (ADS-2 reads pods the same way). Inverse of [`pin_to_node`].
pub fn assigned_node(spec: Option<&PodSpec>) -> Option<&str> {
    let spec = spec?;
    if let Some(n) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        return Some(n);
    }
    let terms = &spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?
        .node_selector_terms;
    let first = terms
        .iter()
        .flat_map(|t| t.match_fields.iter().flatten())
        .find(|r| r.key == FIELD_METADATA_NAME && r.operator == "In")?;
    match first.values.as_deref() {
        Some([v]) => Some(v.as_str()),
        _ => None,
    }
}

/// Does `t` tolerate `taint`? Kubernetes' rule: an effect, when set, must equal the taint's;
/// a key, when set, must equal the taint's (empty key with `Exists` tolerates every taint);
/// operator `Exists` matches any value, `Equal` (or empty) compares values.
pub fn tolerates(t: &Toleration, taint: &NodeTaint) -> bool {
    if let Some(e) = t.effect.as_deref().filter(|e| !e.is_empty())
        && e != taint.effect_text
    {
        return false;
    }
    if let Some(k) = t.key.as_deref().filter(|k| !k.is_empty())
        && k != taint.key
    {
        return false;
    }
    match t.operator.as_deref().unwrap_or_default() {
        "" | "Equal" => t.value.as_deref().unwrap_or_default() == taint.value,
        "Exists" => true,
        _ => false,
    }
}

/// A node-selector operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NodeOp {
    In,
    NotIn,
    Exists,
    DoesNotExist,
    Gt,
    Lt,
}

/// One compiled node-selector requirement.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: NodeOp,
    values: Vec<String>,
    /// The single value of `Gt` / `Lt`, parsed.
    bound: i64,
}

impl Requirement {
    fn compile(r: &NodeSelectorRequirement, path: &str, field: bool) -> Result<Self, PlanError> {
        let err = |p: &str, m: String| PlanError::InvalidSpec {
            path: format!("{path}.{p}").as_str().into(),
            message: m,
        };
        let op = match r.operator.as_str() {
            "In" => NodeOp::In,
            "NotIn" => NodeOp::NotIn,
            "Exists" if !field => NodeOp::Exists,
            "DoesNotExist" if !field => NodeOp::DoesNotExist,
            "Gt" if !field => NodeOp::Gt,
            "Lt" if !field => NodeOp::Lt,
            other => {
                return Err(err("operator", format!("{other:?} is not a valid node selector operator here")));
            }
        };
        if field && r.key != FIELD_METADATA_NAME {
            return Err(err(
                "key",
                format!("{:?} is not a supported field selector (only metadata.name)", r.key),
            ));
        }
        let values = r.values.clone().unwrap_or_default();
        let mut bound = 0;
        match op {
            NodeOp::In | NodeOp::NotIn if values.is_empty() => {
                return Err(err("values", "must be specified when `operator` is 'In' or 'NotIn'".into()));
            }
            NodeOp::Exists | NodeOp::DoesNotExist if !values.is_empty() => {
                return Err(err(
                    "values",
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'".into(),
                ));
            }
            NodeOp::Gt | NodeOp::Lt => {
                let [v] = values.as_slice() else {
                    return Err(err(
                        "values",
                        "must be a single integer when `operator` is 'Gt' or 'Lt'".into(),
                    ));
                };
                bound = v.parse().map_err(|_| err("values[0]", format!("{v:?} is not an integer")))?;
            }
            _ => {}
        }
        Ok(Self { key: r.key.clone(), op, values, bound })
    }

    /// Matches against a value lookup (`None`: the key is absent).
    fn matches(&self, value: Option<&str>) -> bool {
        match self.op {
            NodeOp::In => value.is_some_and(|v| self.values.iter().any(|x| x == v)),
            NodeOp::NotIn => value.is_none_or(|v| !self.values.iter().any(|x| x == v)),
            NodeOp::Exists => value.is_some(),
            NodeOp::DoesNotExist => value.is_none(),
            NodeOp::Gt => value.and_then(|v| v.parse::<i64>().ok()).is_some_and(|n| n > self.bound),
            NodeOp::Lt => value.and_then(|v| v.parse::<i64>().ok()).is_some_and(|n| n < self.bound),
        }
    }
}

/// One compiled node-selector term: label requirements and field requirements, ANDed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Term {
    labels: Vec<Requirement>,
    fields: Vec<Requirement>,
}

impl Term {
    fn compile(t: &NodeSelectorTerm, path: &str) -> Result<Self, PlanError> {
        let labels = t
            .match_expressions
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, r)| Requirement::compile(r, &format!("{path}.matchExpressions[{i}]"), false))
            .collect::<Result<_, _>>()?;
        let fields = t
            .match_fields
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, r)| Requirement::compile(r, &format!("{path}.matchFields[{i}]"), true))
            .collect::<Result<_, _>>()?;
        Ok(Self { labels, fields })
    }

    /// An empty term matches no node (Kubernetes' rule).
    fn matches(&self, node: &NodeFacts) -> bool {
        if self.labels.is_empty() && self.fields.is_empty() {
            return false;
        }
        self.labels.iter().all(|r| r.matches(node.labels.get(&r.key).map(String::as_str)))
            && self.fields.iter().all(|r| r.matches(Some(&node.name)))
    }
}

/// Why a node should not run (or keep) a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ineligible {
    /// The pod is pinned to another node by `spec.nodeName`.
    NodeName {
        /// The node the pod is pinned to.
        pinned: String,
    },
    /// A `nodeSelector` pair is missing from the node's labels.
    NodeSelector {
        /// The label key.
        key: String,
    },
    /// No required node-affinity term matches.
    NodeAffinity,
    /// A `NoSchedule` / `NoExecute` taint is not tolerated.
    Taint {
        /// The taint key.
        key: String,
        /// The taint effect.
        effect: String,
    },
}

impl std::fmt::Display for Ineligible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NodeName { pinned } => write!(f, "pod pinned to node {pinned}"),
            Self::NodeSelector { key } => write!(f, "nodeSelector {key} does not match"),
            Self::NodeAffinity => f.write_str("required node affinity does not match"),
            Self::Taint { key, effect } => write!(f, "taint {key}:{effect} not tolerated"),
        }
    }
}

/// The answer for one node (ADS-7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eligibility {
    /// A pod should be created on (or run on) this node.
    pub should_run: bool,
    /// A pod already on the node may stay.
    pub should_continue_running: bool,
    /// The first reason `should_run` is false.
    pub why_not: Option<Ineligible>,
}

impl Eligibility {
    const YES: Self = Self { should_run: true, should_continue_running: true, why_not: None };
    fn no(why: Ineligible) -> Self {
        Self { should_run: false, should_continue_running: false, why_not: Some(why) }
    }
}

/// A pod spec's placement constraints, compiled once.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Placement {
    node_name: Option<String>,
    node_selector: Vec<(String, String)>,
    /// `None`: no required node affinity; `Some(terms)`: terms ORed (no terms: no node).
    required: Option<Vec<Term>>,
    tolerations: Vec<Toleration>,
}

impl Placement {
    /// Compiles the constraints of `spec` (`path` names the pod spec in errors, e.g.
    /// `spec.template.spec`). Errors on an unknown operator, a `matchFields` key other than
    /// `metadata.name`, missing `In`/`NotIn` values or a non-integer `Gt`/`Lt` value.
    pub fn from_pod_spec(spec: &PodSpec, path: &str) -> Result<Self, PlanError> {
        let node_name = spec.node_name.clone().filter(|n| !n.is_empty());
        let node_selector =
            spec.node_selector.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
        let required = match spec
            .affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
            .and_then(|na| na.required_during_scheduling_ignored_during_execution.as_ref())
        {
            None => None,
            Some(sel) => {
                let tp = format!(
                    "{path}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
                );
                Some(
                    sel.node_selector_terms
                        .iter()
                        .enumerate()
                        .map(|(i, t)| Term::compile(t, &format!("{tp}[{i}]")))
                        .collect::<Result<_, _>>()?,
                )
            }
        };
        Ok(Self {
            node_name,
            node_selector,
            required,
            tolerations: spec.tolerations.clone().unwrap_or_default(),
        })
    }

    /// Adds tolerations (e.g. [`daemonset_default_tolerations`]) as [`add_tolerations`] does.
    pub fn with_tolerations(mut self, extra: &[Toleration]) -> Self {
        add_tolerations(&mut self.tolerations, extra);
        self
    }

    /// The tolerations considered.
    pub fn tolerations(&self) -> &[Toleration] {
        &self.tolerations
    }

    /// Does the required node affinity (`nodeSelector` and required terms) match the node?
    pub fn affinity_matches(&self, node: &NodeFacts) -> Result<(), Ineligible> {
        for (k, v) in &self.node_selector {
            if node.labels.get(k) != Some(v) {
                return Err(Ineligible::NodeSelector { key: k.clone() });
            }
        }
        if let Some(terms) = &self.required
            && !terms.iter().any(|t| t.matches(node))
        {
            return Err(Ineligible::NodeAffinity);
        }
        Ok(())
    }

    /// ADS-7: `(shouldRun, shouldContinueRunning)` for `node`:
    /// 1. `nodeName` set to another node → (false, false);
    /// 2. required node affinity fails → (false, false);
    /// 3. an untolerated `NoSchedule`/`NoExecute` taint → shouldRun false, and
    ///    shouldContinueRunning false only when some untolerated taint is `NoExecute`;
    /// 4. otherwise (true, true).
    pub fn eligibility(&self, node: &NodeFacts) -> Eligibility {
        if let Some(pinned) = &self.node_name
            && *pinned != node.name
        {
            return Eligibility::no(Ineligible::NodeName { pinned: pinned.clone() });
        }
        if let Err(why) = self.affinity_matches(node) {
            return Eligibility::no(why);
        }
        let mut first = None;
        let mut evict = false;
        for taint in &node.taints {
            if !matches!(taint.effect, TaintEffect::NoSchedule | TaintEffect::NoExecute) {
                continue;
            }
            if self.tolerations.iter().any(|t| tolerates(t, taint)) {
                continue;
            }
            evict |= taint.effect == TaintEffect::NoExecute;
            first.get_or_insert_with(|| Ineligible::Taint {
                key: taint.key.clone(),
                effect: taint.effect_text.clone(),
            });
        }
        match first {
            None => Eligibility::YES,
            Some(why) => {
                Eligibility { should_run: false, should_continue_running: !evict, why_not: Some(why) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Affinity, NodeAffinity, NodeSelector, NodeSpec, Taint};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use proptest::prelude::*;

    fn node(name: &str, labels: &[(&str, &str)], taints: &[(&str, &str, &str)]) -> NodeFacts {
        let n = Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(labels.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()),
                ..Default::default()
            },
            spec: Some(NodeSpec {
                taints: Some(
                    taints
                        .iter()
                        .map(|(k, v, e)| Taint {
                            key: (*k).into(),
                            value: (!v.is_empty()).then(|| (*v).into()),
                            effect: (*e).into(),
                            time_added: None,
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            status: None,
        };
        NodeFacts::from_node(&n, "node").unwrap()
    }

    fn req(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: (!values.is_empty()).then(|| values.iter().map(|v| (*v).into()).collect()),
        }
    }

    fn with_terms(terms: Vec<NodeSelectorTerm>) -> PodSpec {
        PodSpec {
            affinity: Some(Affinity {
                node_affinity: Some(NodeAffinity {
                    required_during_scheduling_ignored_during_execution: Some(NodeSelector {
                        node_selector_terms: terms,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn ds_placement(spec: &PodSpec) -> Placement {
        Placement::from_pod_spec(spec, "spec.template.spec")
            .unwrap()
            .with_tolerations(&daemonset_default_tolerations(spec.host_network == Some(true)))
    }

    #[test]
    fn ads_6_default_tolerations_cover_condition_taints() {
        let p = ds_placement(&PodSpec::default());
        for (k, e) in [
            (taint_keys::NOT_READY, "NoExecute"),
            (taint_keys::UNREACHABLE, "NoExecute"),
            (taint_keys::DISK_PRESSURE, "NoSchedule"),
            (taint_keys::MEMORY_PRESSURE, "NoSchedule"),
            (taint_keys::PID_PRESSURE, "NoSchedule"),
            (taint_keys::UNSCHEDULABLE, "NoSchedule"),
        ] {
            assert!(p.eligibility(&node("n", &[], &[(k, "", e)])).should_run, "{k}");
        }
        let net = node("n", &[], &[(taint_keys::NETWORK_UNAVAILABLE, "", "NoSchedule")]);
        assert!(!p.eligibility(&net).should_run, "network-unavailable needs hostNetwork");
        let host = ds_placement(&PodSpec { host_network: Some(true), ..Default::default() });
        assert!(host.eligibility(&net).should_run);
        // Defaults are not duplicated when the template already has them.
        let spec = PodSpec { tolerations: Some(daemonset_default_tolerations(false)), ..Default::default() };
        assert_eq!(ds_placement(&spec).tolerations().len(), 6);
    }

    #[test]
    fn ads_7_node_name_pinning() {
        let spec = PodSpec { node_name: Some("a".into()), ..Default::default() };
        let p = ds_placement(&spec);
        assert!(p.eligibility(&node("a", &[], &[])).should_run);
        let e = p.eligibility(&node("b", &[], &[]));
        assert_eq!((e.should_run, e.should_continue_running), (false, false));
        assert_eq!(e.why_not, Some(Ineligible::NodeName { pinned: "a".into() }));
    }

    #[test]
    fn ads_7_node_selector_all_pairs_must_match() {
        let spec = PodSpec {
            node_selector: Some([("a".into(), "1".into()), ("b".into(), "2".into())].into()),
            ..Default::default()
        };
        let p = ds_placement(&spec);
        assert!(p.eligibility(&node("n", &[("a", "1"), ("b", "2"), ("c", "3")], &[])).should_run);
        let e = p.eligibility(&node("n", &[("a", "1")], &[]));
        assert_eq!((e.should_run, e.should_continue_running), (false, false));
        assert_eq!(e.why_not, Some(Ineligible::NodeSelector { key: "b".into() }));
    }

    #[test]
    fn ads_7_required_affinity_operators() {
        let n = node("node-7", &[("zone", "a"), ("cpu", "16")], &[]);
        let ok = |terms: Vec<NodeSelectorTerm>| ds_placement(&with_terms(terms)).eligibility(&n).should_run;
        let t = |exprs: Vec<NodeSelectorRequirement>| NodeSelectorTerm {
            match_expressions: Some(exprs),
            match_fields: None,
        };
        assert!(ok(vec![t(vec![req("zone", "In", &["a", "b"])])]));
        assert!(!ok(vec![t(vec![req("zone", "In", &["b"])])]));
        assert!(ok(vec![t(vec![req("zone", "NotIn", &["b"])])]));
        assert!(ok(vec![t(vec![req("missing", "NotIn", &["b"])])]), "NotIn matches an absent key");
        assert!(ok(vec![t(vec![req("zone", "Exists", &[])])]));
        assert!(ok(vec![t(vec![req("gpu", "DoesNotExist", &[])])]));
        assert!(ok(vec![t(vec![req("cpu", "Gt", &["8"])])]));
        assert!(!ok(vec![t(vec![req("cpu", "Lt", &["8"])])]));
        assert!(!ok(vec![t(vec![req("zone", "Gt", &["1"])])]), "non-integer label never matches Gt");
        // Terms are ORed; requirements within a term ANDed.
        assert!(ok(vec![t(vec![req("zone", "In", &["b"])]), t(vec![req("cpu", "Exists", &[])])]));
        assert!(!ok(vec![t(vec![req("zone", "In", &["a"]), req("gpu", "Exists", &[])])]));
        // matchFields on metadata.name.
        let f = |op: &str, v: &str| NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(vec![req("metadata.name", op, &[v])]),
        };
        assert!(ok(vec![f("In", "node-7")]));
        assert!(!ok(vec![f("In", "node-8")]));
        assert!(ok(vec![f("NotIn", "node-8")]));
        // An empty term and an empty term list match nothing.
        assert!(!ok(vec![NodeSelectorTerm::default()]));
        assert!(!ok(vec![]));
    }

    #[test]
    fn ads_7_bad_affinity_is_an_error_naming_the_field() {
        let spec = with_terms(vec![NodeSelectorTerm {
            match_expressions: Some(vec![req("a", "In", &["x"]), req("b", "Near", &["x"])]),
            match_fields: None,
        }]);
        let err = Placement::from_pod_spec(&spec, "spec.template.spec").unwrap_err();
        let PlanError::InvalidSpec { path, .. } = err else { panic!("{err:?}") };
        assert_eq!(
            path.to_string(),
            "spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].operator"
        );
        for (r, field) in [
            (req("cpu", "Gt", &["x"]), "matchExpressions[0].values[0]"),
            (req("cpu", "In", &[]), "matchExpressions[0].values"),
        ] {
            let spec =
                with_terms(vec![NodeSelectorTerm { match_expressions: Some(vec![r]), match_fields: None }]);
            let PlanError::InvalidSpec { path, .. } = Placement::from_pod_spec(&spec, "s").unwrap_err()
            else {
                panic!()
            };
            assert!(path.to_string().ends_with(field), "{path}");
        }
        let spec = with_terms(vec![NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(vec![req("metadata.uid", "In", &["x"])]),
        }]);
        assert!(Placement::from_pod_spec(&spec, "s").is_err());
    }

    #[test]
    fn ads_7_taints_no_schedule_vs_no_execute() {
        let p = ds_placement(&PodSpec::default());
        let e = p.eligibility(&node("n", &[], &[("dedicated", "gpu", "NoSchedule")]));
        assert_eq!(
            (e.should_run, e.should_continue_running),
            (false, true),
            "NoSchedule keeps a running pod"
        );
        let e = p.eligibility(&node("n", &[], &[("dedicated", "gpu", "NoExecute")]));
        assert_eq!((e.should_run, e.should_continue_running), (false, false));
        let e = p.eligibility(&node("n", &[], &[("dedicated", "gpu", "PreferNoSchedule")]));
        assert_eq!((e.should_run, e.should_continue_running), (true, true), "PreferNoSchedule ignored");
        let e = p.eligibility(&node("n", &[], &[("a", "", "NoSchedule"), ("b", "", "NoExecute")]));
        assert_eq!((e.should_run, e.should_continue_running), (false, false));
        assert_eq!(e.why_not, Some(Ineligible::Taint { key: "a".into(), effect: "NoSchedule".into() }));
    }

    #[test]
    fn ads_7_toleration_matching_rules() {
        let taint = NodeTaint {
            key: "k".into(),
            value: "v".into(),
            effect: TaintEffect::NoSchedule,
            effect_text: "NoSchedule".into(),
        };
        let t = |key: Option<&str>, op: Option<&str>, value: Option<&str>, effect: Option<&str>| Toleration {
            key: key.map(Into::into),
            operator: op.map(Into::into),
            value: value.map(Into::into),
            effect: effect.map(Into::into),
            toleration_seconds: None,
        };
        assert!(tolerates(&t(Some("k"), None, Some("v"), None), &taint));
        assert!(tolerates(&t(Some("k"), Some("Equal"), Some("v"), Some("NoSchedule")), &taint));
        assert!(!tolerates(&t(Some("k"), Some("Equal"), Some("w"), None), &taint));
        assert!(tolerates(&t(Some("k"), Some("Exists"), None, None), &taint));
        assert!(tolerates(&t(None, Some("Exists"), None, None), &taint), "empty key + Exists tolerates all");
        assert!(!tolerates(&t(Some("k"), Some("Exists"), None, Some("NoExecute")), &taint));
        assert!(!tolerates(&t(Some("j"), Some("Exists"), None, None), &taint));
        assert!(!tolerates(&t(Some("k"), Some("Weird"), Some("v"), None), &taint));
    }

    #[test]
    fn ads_7_unschedulable_and_conditions_are_not_inspected() {
        let n = Node {
            metadata: ObjectMeta { name: Some("n".into()), ..Default::default() },
            spec: Some(NodeSpec { unschedulable: Some(true), ..Default::default() }),
            status: Some(k8s_openapi::api::core::v1::NodeStatus {
                conditions: Some(vec![k8s_openapi::api::core::v1::NodeCondition {
                    type_: "Ready".into(),
                    status: "False".into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        };
        let f = NodeFacts::from_node(&n, "node").unwrap();
        assert!(f.unschedulable);
        assert_eq!(f.ready, Some(false));
        let e = ds_placement(&PodSpec::default()).eligibility(&f);
        assert!(e.should_run && e.should_continue_running);
    }

    #[test]
    fn node_table_extracts_once_per_resource_version() {
        let mut n = Node {
            metadata: ObjectMeta {
                name: Some("n1".into()),
                resource_version: Some("1".into()),
                labels: Some([("a".into(), "1".into())].into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let mut t = NodeTable::from_nodes(std::slice::from_ref(&n)).unwrap();
        n.metadata.labels = Some([("a".into(), "2".into())].into());
        assert!(!t.apply(&n).unwrap(), "same resourceVersion: not re-read");
        assert_eq!(t.get("n1").unwrap().labels["a"], "1");
        n.metadata.resource_version = Some("2".into());
        assert!(t.apply(&n).unwrap());
        assert_eq!(t.get("n1").unwrap().labels["a"], "2");
        assert!(t.remove("n1"));
        assert!(t.is_empty());
        let nameless = Node::default();
        let err = NodeTable::from_nodes(&[nameless]).unwrap_err();
        let PlanError::InvalidSpec { path, .. } = err else { panic!() };
        assert_eq!(path.to_string(), "nodes[0].metadata.name");
    }

    #[test]
    fn bj_13_pin_and_assigned_node_round_trip() {
        let mut spec = with_terms(vec![NodeSelectorTerm {
            match_expressions: Some(vec![req("zone", "In", &["a"])]),
            match_fields: None,
        }]);
        assert_eq!(assigned_node(Some(&spec)), None);
        pin_to_node(&mut spec, "nöde-1", false);
        assert_eq!(assigned_node(Some(&spec)), Some("nöde-1"));
        assert_eq!(spec.node_name, None);
        let p = Placement::from_pod_spec(&spec, "s").unwrap();
        assert!(p.eligibility(&node("nöde-1", &[], &[])).should_run, "the zone term was replaced");
        assert!(!p.eligibility(&node("other", &[], &[])).should_run);
        let mut bound = PodSpec::default();
        pin_to_node(&mut bound, "n2", true);
        assert_eq!(assigned_node(Some(&bound)), Some("n2"));
        // Two values: not an assignment.
        let two = with_terms(vec![NodeSelectorTerm {
            match_expressions: None,
            match_fields: Some(vec![req("metadata.name", "In", &["a", "b"])]),
        }]);
        assert_eq!(assigned_node(Some(&two)), None);
        assert_eq!(assigned_node(None), None);
    }

    #[test]
    fn node_table_orders_names_bytewise() {
        let mk = |name: &str| Node {
            metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
            ..Default::default()
        };
        let t = NodeTable::from_nodes(&[mk("node-5"), mk("node-10"), mk("ノード")]).unwrap();
        let names: Vec<_> = t.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["node-10", "node-5", "ノード"]);
    }

    proptest! {
        /// A pod with no constraints runs on any node whose taints all are default-tolerated or
        /// PreferNoSchedule; shouldRun implies shouldContinueRunning.
        #[test]
        fn ads_7_should_run_implies_should_continue(
            labels in proptest::collection::btree_map("[a-zé]{1,4}", "[a-z0-9]{0,3}", 0..4),
            taints in proptest::collection::vec(("[a-z]{1,3}", "[a-z]{0,2}", 0usize..4), 0..4),
            sel in proptest::collection::btree_map("[a-zé]{1,4}", "[a-z0-9]{0,3}", 0..2),
        ) {
            let effects = ["NoSchedule", "NoExecute", "PreferNoSchedule", "Bogus"];
            let taints: Vec<(String, String, &str)> = taints.into_iter().map(|(k, v, e)| (k, v, effects[e])).collect();
            let tv: Vec<(&str, &str, &str)> = taints.iter().map(|(k, v, e)| (k.as_str(), v.as_str(), *e)).collect();
            let lv: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let n = node("n", &lv, &tv);
            let spec = PodSpec { node_selector: Some(sel.clone()), ..Default::default() };
            let e = ds_placement(&spec).eligibility(&n);
            prop_assert!(!e.should_run || e.should_continue_running);
            prop_assert_eq!(e.should_run, e.why_not.is_none());
            let selector_ok = sel.iter().all(|(k, v)| labels.get(k) == Some(v));
            let blocking = tv.iter().any(|(_, _, e)| matches!(*e, "NoSchedule" | "NoExecute"));
            prop_assert_eq!(e.should_run, selector_ok && !blocking);
        }
    }
}
