//! Scenario files: a cluster (seed, nodes, images, timings, controller) and a list of steps —
//! `apply` a manifest, `wait` for a duration or until a condition holds, inject a `fault`,
//! `capture` pod names, `expect` a state. [`run_scenario`] runs one and returns a
//! [`Report`](crate::report::Report); a failed `expect` (or a `wait` that times out) stops the
//! run with a message saying what differed.
//!
//! Naming pods from a manifest: generated pod names depend on the planner's id function, so
//! a manifest that names a pod (the seed's `podsToDelete: [nginxweb1-frcl2]`) is replayed
//! with a `capture` step that binds a variable to a live pod and an `apply` with
//! `substitute`, which replaces the literal name in the manifest text by the captured one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use kruise_api::any::AnyResource;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cluster::NodeSpec;
use crate::controller::Controller;
use crate::kubelet::{ImageSpec, KubeletConfig};
use crate::report::{Report, StepReport};
use crate::sim::{Fault, PodView, Sim, SimConfig, SimError};
use crate::store::{ObjectKey, group_of, set_path, str_at};
use crate::time::{Dur, SimTime};

/// A scenario file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// A title for reports.
    #[serde(default)]
    pub name: Option<String>,
    /// Seed (overridden by `--seed`); default 0.
    #[serde(default)]
    pub seed: u64,
    /// The nodes: a count (`node-1`…) or a list.
    #[serde(default = "default_nodes")]
    pub nodes: Nodes,
    /// Per-image behaviour (pull durations, failures, crash loops).
    #[serde(default)]
    pub images: BTreeMap<String, ImageSpec>,
    /// Informer cache lag (default 100ms).
    #[serde(default)]
    pub informer_lag: Option<Dur>,
    /// Kubelet timings.
    #[serde(default)]
    pub kubelet: KubeletConfig,
    /// Which controllers run, comma-separated (`cloneset`, `statefulset`, `daemonset`,
    /// `reference`, `rollout`, `trafficrouting`; `cloneset,rollout` releases a CloneSet with a
    /// Rollout); default `cloneset`.
    #[serde(default)]
    pub controller: Option<String>,
    /// Whether the controller honours expectations (default true; false shows what a naive
    /// controller does on a lagging cache).
    #[serde(default = "yes")]
    pub expectations: bool,
    /// Feature gates for every controller, as `--feature-gates` takes them
    /// (`PreDownloadImageForInPlaceUpdate=true`); default upstream's.
    #[serde(default)]
    pub features: Option<String>,
    /// The steps.
    pub steps: Vec<Step>,
}

fn yes() -> bool {
    true
}

fn default_nodes() -> Nodes {
    Nodes::Count(3)
}

/// `nodes: 3` or `nodes: [{name: a, labels: {...}}, ...]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Nodes {
    /// `node-1` … `node-N`.
    Count(usize),
    /// Explicit nodes.
    List(Vec<NodeSpec>),
}

impl Nodes {
    /// The node specs.
    pub fn specs(&self) -> Vec<NodeSpec> {
        match self {
            Nodes::Count(n) => NodeSpec::numbered(*n),
            Nodes::List(l) => l.clone(),
        }
    }
}

/// One step. Exactly one of `apply`, `delete`, `wait`, `fault`, `capture`, `expect`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Step {
    /// A comment shown in reports.
    #[serde(default)]
    pub name: Option<String>,
    /// A manifest path, relative to the scenario file.
    #[serde(default)]
    pub apply: Option<String>,
    /// With `apply`: replace each key's text in the manifest by the captured variable named
    /// by the value.
    #[serde(default)]
    pub substitute: BTreeMap<String, String>,
    /// Delete an object: `Kind/name` or `Kind/namespace/name`.
    #[serde(default)]
    pub delete: Option<String>,
    /// Let time pass.
    #[serde(default)]
    pub wait: Option<Wait>,
    /// Inject a fault now.
    #[serde(default)]
    pub fault: Option<Fault>,
    /// Bind variables to live pods.
    #[serde(default)]
    pub capture: Option<Capture>,
    /// Set or remove (`null`) labels on pods, as a user or another controller would.
    #[serde(default)]
    pub label: Option<Label>,
    /// Assert the state.
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Approve the manual pause of the Rollout of this name (RO-32), as `kruise rollout
    /// approve` and `kubectl patch --subresource=status` would.
    #[serde(default)]
    pub approve: Option<String>,
}

/// `wait: {for: 60s}` or `wait: {until: {...}, timeout: 10m}`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Wait {
    /// Fixed duration.
    #[serde(default, rename = "for")]
    pub duration: Option<Dur>,
    /// Condition (same shape as `expect`).
    #[serde(default)]
    pub until: Option<Box<Expect>>,
    /// Give up (and fail) after this long (default 10m).
    #[serde(default)]
    pub timeout: Option<Dur>,
    /// Bounds that must hold throughout the wait.
    #[serde(default)]
    pub always: Option<Always>,
}

/// `label: {pod: "${victim}", labels: {tier: gold}}` or `label: {all: true, labels: {hook: null}}`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Label {
    /// One pod (`${var}` allowed).
    #[serde(default)]
    pub pod: Option<String>,
    /// Every active pod of the workload.
    #[serde(default)]
    pub all: bool,
    /// Labels to set; `null` removes.
    pub labels: BTreeMap<String, Option<String>>,
}

/// Bounds that must hold at every instant of a `wait` (checked whenever the clock moves).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Always {
    /// At most this many active pods.
    #[serde(default)]
    pub max_pods: Option<usize>,
    /// At most this many active pods not Ready.
    #[serde(default)]
    pub max_not_ready: Option<usize>,
    /// At least this many active Ready pods.
    #[serde(default)]
    pub min_ready: Option<usize>,
}

/// `capture: {as: victim, pod: 0}` binds `victim` to the name of the first active pod of the
/// workload in name order; `capture: {as: before}` records the whole pod set (names and
/// nodes) for a later `expect: {samePods: before}`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Capture {
    /// Variable name.
    #[serde(rename = "as")]
    pub name: String,
    /// Index among active pods, by name; absent = the whole set.
    #[serde(default)]
    pub pod: Option<usize>,
}

/// Assertions about the workload's pods and status. Every field is optional; all given ones
/// must hold. Pod counts are over active (non-terminating) pods of the workload unless said.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    /// The workload (`name`), default the last one applied.
    #[serde(default)]
    pub workload: Option<String>,
    /// Active pods.
    #[serde(default)]
    pub pods: Option<usize>,
    /// Active Ready pods.
    #[serde(default)]
    pub ready: Option<usize>,
    /// Terminating pods.
    #[serde(default)]
    pub terminating: Option<usize>,
    /// Active pods per image.
    #[serde(default)]
    pub by_image: BTreeMap<String, usize>,
    /// Active pods per revision; `update` and `current` name the status revisions.
    #[serde(default)]
    pub by_revision: BTreeMap<String, usize>,
    /// Active pods per phase.
    #[serde(default)]
    pub by_phase: BTreeMap<String, usize>,
    /// Distinct revisions among active pods.
    #[serde(default)]
    pub revisions: Option<usize>,
    /// These pods exist (`${var}` allowed).
    #[serde(default)]
    pub present: Vec<String>,
    /// These pods do not exist or are terminating.
    #[serde(default)]
    pub absent: Vec<String>,
    /// Exactly these pods were deleted since the last `apply`.
    #[serde(default)]
    pub deleted: Option<Vec<String>>,
    /// Restart counts per pod; `"*"` means every active pod.
    #[serde(default)]
    pub restarts: BTreeMap<String, i64>,
    /// Active pods have exactly the names and nodes captured under this variable.
    #[serde(default)]
    pub same_pods: Option<String>,
    /// Pods created since the last `apply`.
    #[serde(default)]
    pub created: Option<usize>,
    /// At least this many pods created since the last `apply`.
    #[serde(default)]
    pub created_at_least: Option<usize>,
    /// Named pods are on the given revision (`update`, `current` or a revision name).
    #[serde(default)]
    pub on_revision: BTreeMap<String, String>,
    /// Consecutive creations since the last `apply` are at least this far apart.
    #[serde(default)]
    pub created_apart: Option<Dur>,
    /// A subset of the workload's `status` (JSON), e.g. `{updatedReplicas: 2}`.
    #[serde(default)]
    pub status: Option<Value>,
    /// No event is pending that would change anything before this long (the run settled).
    #[serde(default)]
    pub settled: Option<bool>,
    /// Subsets of other objects (`Kind/name` -> JSON, e.g. `Rollout/web: {status: {phase:
    /// Healthy}}`).
    #[serde(default)]
    pub objects: BTreeMap<String, Value>,
    /// The traffic split of HTTPRoutes (`HTTPRoute/name` -> the split as the report prints it).
    #[serde(default)]
    pub traffic: BTreeMap<String, String>,
    /// Live (not terminating) PersistentVolumeClaims in the workload's namespace, by name
    /// (ASTS-17..ASTS-20: the claims a StatefulSet keeps or leaves to the garbage collector).
    #[serde(default)]
    pub pvcs: Option<Vec<String>>,
}

/// Why a scenario could not run (distinct from a failed expectation, which is a result).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A YAML document does not parse.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A step is malformed.
    #[error("step {step}: {message}")]
    BadStep {
        /// 1-based step number.
        step: usize,
        /// What is wrong.
        message: String,
    },
    /// No controller of that name.
    #[error(
        "unknown controller {0:?} (known: cloneset, statefulset, daemonset, sidecarset, broadcastjob, imagepulljob, reference, rollout, trafficrouting)"
    )]
    UnknownController(String),
    /// The simulation itself failed.
    #[error(transparent)]
    Sim(#[from] SimError),
}

/// Creates the controller a scenario names, or `None` if unknown.
pub type ControllerFactory<'a> = &'a dyn Fn(&str, bool) -> Option<Box<dyn Controller>>;

/// The controllers this crate knows: `broadcastjob` (reconciled again on node changes),
/// `imagepulljob` (handed the pods of its namespace for `podSelector`; the simulator then
/// runs the node daemon, [`SimConfig::node_daemon`]), `reference` (the ReplicaSet-like
/// [`ReplicaReconciler`](crate::reference::ReplicaReconciler)), `cloneset` (the CloneSet planner),
/// `statefulset`, `daemonset` (the Advanced DaemonSet planner, reconciled again on node
/// changes), `sidecarset` (the SidecarSet upgrade planner over every pod of the cluster, its
/// selector deciding; pods get their sidecars from the store's injection step), `rollout` (the Kruise Rollouts planner over the related objects of its namespace)
/// and `trafficrouting` (a shared TrafficRouting's own pass).
pub fn builtin_controller(name: &str, expectations: bool) -> Option<Box<dyn Controller>> {
    use crate::controller::ReconcilerController;
    match name {
        "cloneset" => {
            let mut c = ReconcilerController::new("cloneset", kruise_core::cloneset::CloneSetReconciler);
            c.use_expectations = expectations;
            Some(Box::new(c))
        }
        "statefulset" => {
            let r = kruise_core::statefulset::StatefulSetReconciler;
            let mut c = ReconcilerController::new("statefulset", r);
            c.use_expectations = expectations;
            c.pvcs_by_name = true;
            Some(Box::new(c))
        }
        "daemonset" => {
            let mut c = ReconcilerController::new("daemonset", kruise_core::daemonset::DaemonSetReconciler);
            c.use_expectations = expectations;
            c.watch_nodes = true;
            Some(Box::new(c))
        }
        "broadcastjob" => {
            let r = kruise_core::broadcastjob::BroadcastJobReconciler;
            let mut c = ReconcilerController::new("broadcastjob", r);
            c.use_expectations = expectations;
            c.watch_nodes = true;
            Some(Box::new(c))
        }
        "imagepulljob" => {
            let r = kruise_core::imagepulljob::ImagePullJobReconciler::default();
            let mut c = ReconcilerController::new("imagepulljob", r);
            c.use_expectations = expectations;
            Some(Box::new(c))
        }
        "sidecarset" => {
            let r = kruise_core::sidecarset::SidecarSetReconciler;
            let mut c = ReconcilerController::new("sidecarset", r);
            c.use_expectations = expectations;
            Some(Box::new(c))
        }
        "reference" => {
            let mut c = ReconcilerController::new("reference", crate::reference::ReplicaReconciler);
            c.use_expectations = expectations;
            Some(Box::new(c))
        }
        "rollout" => {
            let r = kruise_core::rollout::RolloutReconciler::default();
            let mut c = ReconcilerController::new("rollout", r);
            c.use_expectations = expectations;
            Some(Box::new(c))
        }
        "trafficrouting" => {
            let r = kruise_core::rollout::TrafficRoutingReconciler;
            let mut c = ReconcilerController::new("trafficrouting", r);
            c.use_expectations = expectations;
            Some(Box::new(c))
        }
        _ => None,
    }
}

/// Run-time options.
pub struct RunOptions<'a> {
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Called at the start of every step and as virtual time advances (step, total, now).
    pub progress: Option<&'a mut dyn FnMut(usize, usize, SimTime)>,
    /// Builds controllers by name (default [`builtin_controller`]).
    pub controllers: ControllerFactory<'a>,
}

impl Default for RunOptions<'_> {
    fn default() -> Self {
        Self { seed: None, progress: None, controllers: &builtin_controller }
    }
}

impl std::fmt::Debug for RunOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions").field("seed", &self.seed).finish_non_exhaustive()
    }
}

/// Reads and parses a scenario file.
pub fn load_scenario(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ScenarioError::Read { path: path.to_owned(), source })?;
    serde_saphyr::from_str(&text)
        .map_err(|e| ScenarioError::Parse { path: path.to_owned(), message: e.to_string() })
}

/// Runs the scenario at `path`.
pub fn run_scenario(path: &Path, options: RunOptions<'_>) -> Result<Report, ScenarioError> {
    let scenario = load_scenario(path)?;
    let base = path.parent().map(Path::to_owned).unwrap_or_default();
    let title = scenario
        .name
        .clone()
        .unwrap_or_else(|| path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default());
    run(&scenario, &base, &title, options)
}

/// Converts a manifest to what the API server stores: OpenKruise kinds are decoded,
/// converted to the hub version (v1alpha1 CloneSet and DaemonSet → v1beta1), defaulted and
/// validated.
pub fn admit(doc: Value) -> Result<Value, String> {
    let namespaced = |mut v: Value| {
        let cluster_scoped = matches!(str_at(&v, &["kind"]), Some("Node" | "Namespace" | "SidecarSet"));
        if v.pointer("/metadata/namespace").is_none() && !cluster_scoped {
            set_path(&mut v, &["metadata", "namespace"], json!("default"));
        }
        v
    };
    let is_kruise = str_at(&doc, &["apiVersion"]).is_some_and(|a| group_of(a).ends_with("kruise.io"));
    if !is_kruise {
        return Ok(namespaced(doc));
    }
    let any = match AnyResource::from_value(doc.clone()) {
        Ok(any) => any,
        // Kruise kinds without a type of their own here (TrafficRouting, BatchRelease) are
        // stored as given.
        Err(kruise_api::any::AnyError::UnknownKind { .. }) => return Ok(namespaced(doc)),
        Err(e) => return Err(e.to_string()),
    };
    let mut hub = match any {
        AnyResource::CloneSetV1alpha1(cs) => {
            AnyResource::CloneSetV1beta1(kruise_api::convert::cloneset_to_v1beta1(&cs))
        }
        AnyResource::StatefulSetV1alpha1(s) => {
            AnyResource::StatefulSetV1beta1(kruise_api::convert::statefulset_to_v1beta1(&s))
        }
        AnyResource::DaemonSetV1alpha1(ds) => {
            AnyResource::DaemonSetV1beta1(kruise_api::convert::daemonset_to_v1beta1(&ds))
        }
        AnyResource::BroadcastJobV1alpha1(j) => {
            AnyResource::BroadcastJobV1beta1(kruise_api::convert::broadcastjob_to_v1beta1(&j))
        }
        AnyResource::ImagePullJobV1alpha1(j) => {
            AnyResource::ImagePullJobV1beta1(kruise_api::convert::imagepulljob_to_v1beta1(&j))
        }
        AnyResource::SidecarSetV1alpha1(mut ss) => {
            kruise_api::defaults::default(&mut ss);
            AnyResource::SidecarSetV1beta1(kruise_api::convert::sidecarset_to_v1beta1(&ss))
        }
        other => other,
    };
    hub.apply_defaults();
    hub.validate().map_err(|e| e.to_string())?;
    Ok(namespaced(hub.to_value()))
}

struct Runner<'s> {
    sim: Sim,
    base: &'s Path,
    workload: Option<ObjectKey>,
    vars: BTreeMap<String, String>,
    sets: BTreeMap<String, BTreeMap<String, String>>,
    since_apply: SimTime,
    deleted_mark: usize,
}

fn run(
    scenario: &Scenario,
    base: &Path,
    title: &str,
    mut options: RunOptions<'_>,
) -> Result<Report, ScenarioError> {
    let seed = options.seed.unwrap_or(scenario.seed);
    let config = SimConfig {
        seed,
        informer_lag: scenario.informer_lag.unwrap_or(SimConfig::default().informer_lag),
        kubelet: scenario.kubelet.clone(),
        images: scenario.images.clone(),
        nodes: scenario.nodes.specs(),
        ..SimConfig::default()
    };
    let controller_names = scenario.controller.clone().unwrap_or_else(|| "cloneset".into());
    let names: Vec<&str> = controller_names.split(',').map(str::trim).filter(|n| !n.is_empty()).collect();
    let features = match &scenario.features {
        Some(gates) => Some(
            kruise_core::features::Features::default()
                .with_gates(gates)
                .map_err(|e| ScenarioError::BadStep { step: 0, message: format!("features: {e}") })?,
        ),
        None => None,
    };
    let config = SimConfig { node_daemon: names.contains(&"imagepulljob"), ..config };
    let mut sim = Sim::new(config);
    for name in names {
        let mut controller = (options.controllers)(name, scenario.expectations)
            .ok_or_else(|| ScenarioError::UnknownController(name.to_owned()))?;
        if let Some(f) = features {
            controller.set_features(f);
        }
        sim.add_controller(controller);
    }
    let mut r = Runner {
        sim,
        base,
        workload: None,
        vars: BTreeMap::new(),
        sets: BTreeMap::new(),
        since_apply: 0,
        deleted_mark: 0,
    };
    let mut report = Report::new(title, seed);
    let total = scenario.steps.len();
    for (i, step) in scenario.steps.iter().enumerate() {
        let number = i + 1;
        if let Some(p) = options.progress.as_deref_mut() {
            p(number, total, r.sim.now());
        }
        let at = r.sim.now();
        let decisions_before = r.sim.decisions().len();
        let (kind, description, result) = r.step(number, step, &mut options)?;
        let message = result.err();
        let passed = message.is_none();
        report.steps.push(StepReport {
            step: number,
            kind: kind.into(),
            description,
            at: Dur(at),
            ended: Dur(r.sim.now()),
            pods: r.workload_pods(None),
            status: r.status(None),
            events: r.sim.decisions()[decisions_before..].to_vec(),
            traffic: r.sim.traffic_now(),
            passed,
            message: message.clone(),
        });
        if let Some(m) = message {
            report.failure = Some(format!("step {number} ({kind}): {m}"));
            break;
        }
    }
    report.passed = report.failure.is_none();
    report.end = Dur(r.sim.now());
    report.rows = r.sim.rows().to_vec();
    report.decisions = r.sim.decisions().to_vec();
    report.traffic = r.sim.traffic().to_vec();
    report.reconciles = r.sim.reconciles();
    Ok(report)
}

impl Runner<'_> {
    fn step(
        &mut self,
        number: usize,
        step: &Step,
        options: &mut RunOptions<'_>,
    ) -> Result<(&'static str, String, Result<(), String>), ScenarioError> {
        let actions = [
            step.apply.is_some(),
            step.delete.is_some(),
            step.wait.is_some(),
            step.fault.is_some(),
            step.capture.is_some(),
            step.label.is_some(),
            step.expect.is_some(),
            step.approve.is_some(),
        ];
        if actions.iter().filter(|a| **a).count() != 1 {
            return Err(ScenarioError::BadStep {
                step: number,
                message:
                    "a step needs exactly one of apply, delete, wait, fault, capture, label, expect, approve"
                        .into(),
            });
        }
        let label = |default: String| step.name.clone().unwrap_or(default);
        if let Some(l) = &step.label {
            let what = l.pod.clone().unwrap_or_else(|| "all pods".into());
            return Ok(("label", label(what), self.label(l)));
        }
        if let Some(name) = &step.approve {
            let key = kind_key("Rollout", "default", name);
            let result = match self.sim.store().get(&key) {
                None => Err(format!("no Rollout {name}")),
                Some(r) => match kruise_core::rollout::approval_patch(r) {
                    Ok(patch) => self
                        .sim
                        .write(|store, _| {
                            store.merge_patch(&key, kruise_core::write::Subresource::Status, &patch)
                        })
                        .map(|_| ())
                        .map_err(|e| e.to_string()),
                    Err(why) => Err(why),
                },
            };
            let result = result.and_then(|()| {
                self.sim.run_until(self.sim.now(), |_| false).map(|_| ()).map_err(|e| e.to_string())
            });
            return Ok(("approve", label(name.clone()), result));
        }
        if let Some(file) = &step.apply {
            return Ok(("apply", label(file.clone()), self.apply(number, file, &step.substitute)));
        }
        if let Some(target) = &step.delete {
            let parts: Vec<&str> = target.split('/').collect();
            let key = match parts.as_slice() {
                [kind, name] => kind_key(kind, "default", name),
                [kind, ns, name] => kind_key(kind, ns, name),
                _ => {
                    return Err(ScenarioError::BadStep {
                        step: number,
                        message: format!("delete wants Kind/name, got {target:?}"),
                    });
                }
            };
            let result = self.sim.delete(&key).map(|_| ()).map_err(|e| e.to_string());
            return Ok(("delete", label(target.clone()), result));
        }
        if let Some(wait) = &step.wait {
            return self.wait(number, wait, options).map(|(d, r)| ("wait", label(d), r));
        }
        if let Some(fault) = &step.fault {
            self.sim.schedule_fault(self.sim.now(), fault.clone());
            self.sim.run_until(self.sim.now(), |_| false)?;
            return Ok(("fault", label(serde_json::to_string(fault).unwrap_or_default()), Ok(())));
        }
        if let Some(c) = &step.capture {
            let pods = self.workload_pods(None);
            let active: Vec<&PodView> = pods.iter().filter(|p| !p.terminating).collect();
            let result = match c.pod {
                Some(i) => match active.get(i) {
                    Some(p) => {
                        self.vars.insert(c.name.clone(), p.name.clone());
                        Ok(())
                    }
                    None => Err(format!("capture {}: no active pod #{i} (have {})", c.name, active.len())),
                },
                None => {
                    self.sets.insert(
                        c.name.clone(),
                        active.iter().map(|p| (p.name.clone(), p.node.clone())).collect(),
                    );
                    Ok(())
                }
            };
            return Ok(("capture", label(c.name.clone()), result));
        }
        let expect = step.expect.as_ref().map(|e| self.check(e)).unwrap_or(Ok(()));
        Ok(("expect", label(String::new()), expect))
    }

    fn label(&mut self, l: &Label) -> Result<(), String> {
        let names: Vec<String> = match (&l.pod, l.all) {
            (Some(p), false) => vec![self.checker().resolve(p)],
            (None, true) => {
                self.workload_pods(None).into_iter().filter(|p| !p.terminating).map(|p| p.name).collect()
            }
            _ => return Err("label needs exactly one of `pod` or `all: true`".into()),
        };
        let patch = json!({"metadata": {"labels": l.labels}});
        let ns = self.workload.as_ref().map_or_else(|| "default".to_owned(), |w| w.namespace.clone());
        for name in names {
            self.sim.patch(&ObjectKey::pod(&ns, &name), &patch).map_err(|e| e.to_string())?;
        }
        self.sim.run_until(self.sim.now(), |_| false).map_err(|e| e.to_string())?;
        Ok(())
    }

    fn apply(
        &mut self,
        number: usize,
        file: &str,
        substitute: &BTreeMap<String, String>,
    ) -> Result<(), String> {
        let path = self.base.join(file);
        let mut text =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for (literal, var) in substitute {
            let value = self
                .vars
                .get(var)
                .ok_or_else(|| format!("substitute: variable {var:?} was never captured"))?;
            text = text.replace(literal, value);
        }
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            let stored = admit(doc).map_err(|e| format!("{file}: rejected: {e}"))?;
            let key = ObjectKey::of_value(&stored);
            let stored = self.rollout_admission(&key, stored);
            // A SidecarSet owns no pods: the workload whose pods are checked stays the last
            // one applied (its sidecars are checked through images and `objects`).
            if key.group.ends_with("kruise.io") && key.kind != "SidecarSet" {
                self.workload = Some(key);
            }
            self.sim.apply(stored).map_err(|e| format!("{file}: {e}"))?;
        }
        let _ = number;
        self.since_apply = self.sim.now();
        self.deleted_mark = self.sim.deleted().len();
        // Let the same instant play out (admission, first reconcile) before the next step.
        self.sim.run_until(self.sim.now(), |_| false).map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Kruise Rollouts' workload webhook (RO-19): an update of a CloneSet that a Rollout of
    /// its namespace releases enters the rollout (partition 100% and the `in-progressing`
    /// annotation) before it is stored.
    fn rollout_admission(&self, key: &ObjectKey, mut new: Value) -> Value {
        use kruise_api::apps::v1beta1::CloneSet;
        use kruise_api::rollouts::v1beta1::Rollout;
        if key.group != "apps.kruise.io" || key.kind != "CloneSet" {
            return new;
        }
        let Some(old) = self.sim.store().get(key) else { return new };
        let mut rollouts: Vec<Rollout> = self
            .sim
            .store()
            .list("rollouts.kruise.io", "Rollout")
            .filter(|(k, _)| k.namespace == key.namespace)
            .filter_map(|(_, v)| serde_json::from_value(v.clone()).ok())
            .collect();
        rollouts.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        let r =
            kruise_core::rollout::admission::find_rollout(&rollouts, "apps.kruise.io", "CloneSet", &key.name);
        let (Ok(old_cs), Ok(mut new_cs)) = (
            serde_json::from_value::<CloneSet>(old.clone()),
            serde_json::from_value::<CloneSet>(new.clone()),
        ) else {
            return new;
        };
        // The API server keeps the stored status on an update.
        new_cs.status = old_cs.status.clone();
        if r.is_some() {
            // `kubectl apply` keeps what other writers set and the manifest does not mention
            // (its three-way merge): the Rollout's annotations and the partition it holds.
            for (k, v) in old_cs.metadata.annotations.iter().flatten() {
                let anns = new_cs.metadata.annotations.get_or_insert_default();
                if !anns.contains_key(k) {
                    anns.insert(k.clone(), v.clone());
                    new["metadata"]["annotations"][k] = json!(v);
                }
            }
            let old_ru = old_cs.spec.update_strategy.rolling_update.as_ref();
            if new.pointer("/spec/updateStrategy/rollingUpdate/partition").is_none()
                && let Some(p) = old_ru.and_then(|ru| ru.partition.clone())
            {
                new_cs.spec.update_strategy.rolling_update.get_or_insert_default().partition =
                    Some(p.clone());
                set_path(&mut new, &["spec", "updateStrategy", "rollingUpdate", "partition"], json!(p));
            }
        }
        if let Some(patch) = kruise_core::rollout::admission::admit_cloneset(r, &old_cs, &new_cs) {
            kruise_api::merge_patch::apply(
                &mut new,
                &patch.to_merge_patch("CloneSet", "apps.kruise.io/v1beta1"),
            );
        }
        new
    }

    fn wait(
        &mut self,
        number: usize,
        wait: &Wait,
        options: &mut RunOptions<'_>,
    ) -> Result<(String, Result<(), String>), ScenarioError> {
        let start = self.sim.now();
        if let Some(d) = wait.duration {
            let end = start.saturating_add(d.0);
            let broken = self.run_with_progress(end, None, wait.always.as_ref(), number, options)?.1;
            return Ok((format!("for {d}"), broken.map_or(Ok(()), Err)));
        }
        let Some(until) = &wait.until else {
            return Err(ScenarioError::BadStep {
                step: number,
                message: "wait needs `for` or `until`".into(),
            });
        };
        let timeout = wait.timeout.unwrap_or(Dur::secs(600));
        let end = start.saturating_add(timeout.0);
        let (met, broken) =
            self.run_with_progress(end, Some(until), wait.always.as_ref(), number, options)?;
        let waited = Dur(self.sim.now() - start);
        if let Some(b) = broken {
            Ok((format!("until condition (broken after {waited})"), Err(b)))
        } else if met {
            Ok((format!("until condition (met after {waited})"), Ok(())))
        } else {
            let why = self.check(until).err().unwrap_or_default();
            Ok((
                format!("until condition (timeout {timeout})"),
                Err(format!("timed out after {timeout}: {why}")),
            ))
        }
    }

    /// Runs to `end` or until `until` holds; stops early with a message if `always` breaks.
    fn run_with_progress(
        &mut self,
        end: SimTime,
        until: Option<&Expect>,
        always: Option<&Always>,
        number: usize,
        options: &mut RunOptions<'_>,
    ) -> Result<(bool, Option<String>), ScenarioError> {
        // Advance in slices so a progress callback can show virtual time moving.
        const SLICE: SimTime = 3_600_000;
        loop {
            let slice_end = end.min(self.sim.now().saturating_add(SLICE));
            let checker = Checker {
                workload: self.workload.clone(),
                vars: &self.vars,
                sets: &self.sets,
                since_apply: self.since_apply,
                deleted_mark: self.deleted_mark,
            };
            let mut broken: Option<String> = None;
            let met = self.sim.run_until(slice_end, |s| {
                if let Some(a) = always
                    && let Err(e) = checker.bounds(s, a)
                {
                    broken = Some(format!("at {}: {e}", Dur(s.now())));
                    return true;
                }
                until.is_some_and(|e| checker.check(s, e).is_ok())
            })?;
            if broken.is_some() {
                return Ok((false, broken));
            }
            if let Some(p) = options.progress.as_deref_mut() {
                p(number, 0, self.sim.now());
            }
            if met || slice_end >= end {
                return Ok((met, None));
            }
        }
    }

    fn checker(&self) -> Checker<'_> {
        Checker {
            workload: self.workload.clone(),
            vars: &self.vars,
            sets: &self.sets,
            since_apply: self.since_apply,
            deleted_mark: self.deleted_mark,
        }
    }

    fn check(&self, e: &Expect) -> Result<(), String> {
        self.checker().check(&self.sim, e)
    }

    fn workload_pods(&self, name: Option<&str>) -> Vec<PodView> {
        self.checker().pods(&self.sim, name)
    }

    fn status(&self, name: Option<&str>) -> Value {
        self.checker().status(&self.sim, name)
    }
}

fn kind_key(kind: &str, ns: &str, name: &str) -> ObjectKey {
    match kind {
        "Pod" | "pod" | "po" => ObjectKey::pod(ns, name),
        "Node" | "node" => ObjectKey::node(name),
        "NodeImage" => ObjectKey::new("apps.kruise.io/v1beta1", kind, "", name),
        "CloneSet" | "cloneset" => ObjectKey::new("apps.kruise.io/v1beta1", "CloneSet", ns, name),
        "Rollout" | "BatchRelease" => ObjectKey::new("rollouts.kruise.io/v1beta1", kind, ns, name),
        "TrafficRouting" => ObjectKey::new("rollouts.kruise.io/v1alpha1", kind, ns, name),
        "HTTPRoute" => ObjectKey::new("gateway.networking.k8s.io/v1", kind, ns, name),
        "Service" => ObjectKey::new("v1", kind, ns, name),
        "SidecarSet" => ObjectKey::new("apps.kruise.io/v1beta1", kind, "", name),
        other => ObjectKey::new("apps.kruise.io/v1beta1", other, ns, name),
    }
}

/// Evaluates expectations against a simulator.
struct Checker<'a> {
    workload: Option<ObjectKey>,
    vars: &'a BTreeMap<String, String>,
    sets: &'a BTreeMap<String, BTreeMap<String, String>>,
    since_apply: SimTime,
    deleted_mark: usize,
}

impl Checker<'_> {
    fn bounds(&self, sim: &Sim, a: &Always) -> Result<(), String> {
        let pods = self.pods(sim, None);
        let active = pods.iter().filter(|p| !p.terminating).count();
        let ready = pods.iter().filter(|p| !p.terminating && p.ready).count();
        if let Some(m) = a.max_pods
            && active > m
        {
            return Err(format!("{active} active pods, at most {m} allowed"));
        }
        if let Some(m) = a.max_not_ready
            && active - ready > m
        {
            return Err(format!("{} pods not ready, at most {m} allowed", active - ready));
        }
        if let Some(m) = a.min_ready
            && ready < m
        {
            return Err(format!("{ready} pods ready, at least {m} required"));
        }
        Ok(())
    }

    fn key(&self, name: Option<&str>) -> Option<ObjectKey> {
        match (name, &self.workload) {
            (Some(n), Some(w)) => Some(ObjectKey { name: n.to_owned(), ..w.clone() }),
            (Some(n), None) => Some(ObjectKey::new("apps.kruise.io/v1beta1", "CloneSet", "default", n)),
            (None, w) => w.clone(),
        }
    }

    fn pods(&self, sim: &Sim, name: Option<&str>) -> Vec<PodView> {
        let uid = self.key(name).and_then(|k| {
            sim.store().get(&k).and_then(|v| str_at(v, &["metadata", "uid"])).map(str::to_owned)
        });
        sim.pods().into_iter().filter(|p| uid.is_none() || p.owner == uid).collect()
    }

    fn status(&self, sim: &Sim, name: Option<&str>) -> Value {
        self.key(name)
            .and_then(|k| sim.store().get(&k))
            .and_then(|v| v.get("status").cloned())
            .unwrap_or(Value::Null)
    }

    fn resolve(&self, s: &str) -> String {
        let mut out = s.to_owned();
        for (k, v) in self.vars {
            out = out.replace(&format!("${{{k}}}"), v);
        }
        out
    }

    fn check(&self, sim: &Sim, e: &Expect) -> Result<(), String> {
        let all = self.pods(sim, e.workload.as_deref());
        let active: Vec<&PodView> = all.iter().filter(|p| !p.terminating).collect();
        let status = self.status(sim, e.workload.as_deref());
        let mut errors: Vec<String> = Vec::new();
        fn count_check(errors: &mut Vec<String>, what: &str, want: Option<usize>, have: usize) {
            if let Some(w) = want
                && w != have
            {
                errors.push(format!("{what}: want {w}, have {have}"));
            }
        }
        macro_rules! count {
            ($what:expr, $want:expr, $have:expr) => {
                count_check(&mut errors, &$what, $want, $have)
            };
        }
        count!("pods", e.pods, active.len());
        count!("ready", e.ready, active.iter().filter(|p| p.ready).count());
        count!("terminating", e.terminating, all.iter().filter(|p| p.terminating).count());
        let revisions: BTreeSet<&str> = active.iter().map(|p| p.revision.as_str()).collect();
        count!("revisions", e.revisions, revisions.len());
        for (image, want) in &e.by_image {
            count!(
                &format!("pods with image {image}"),
                Some(*want),
                active.iter().filter(|p| p.images.iter().any(|i| i == image)).count()
            );
        }
        for (rev, want) in &e.by_revision {
            let name = match rev.as_str() {
                "update" => str_at(&status, &["updateRevision"]).unwrap_or_default().to_owned(),
                "current" => str_at(&status, &["currentRevision"]).unwrap_or_default().to_owned(),
                other => self.resolve(other),
            };
            count!(
                &format!("pods on revision {rev} ({name})"),
                Some(*want),
                active.iter().filter(|p| p.revision == name).count()
            );
        }
        for (phase, want) in &e.by_phase {
            count!(
                &format!("pods in phase {phase}"),
                Some(*want),
                active.iter().filter(|p| &p.phase == phase).count()
            );
        }
        for name in &e.present {
            let n = self.resolve(name);
            if !active.iter().any(|p| p.name == n) {
                errors.push(format!("pod {n} should be present"));
            }
        }
        for name in &e.absent {
            let n = self.resolve(name);
            if active.iter().any(|p| p.name == n) {
                errors.push(format!("pod {n} should be absent"));
            }
        }
        if let Some(want) = &e.deleted {
            let want: BTreeSet<String> = want.iter().map(|n| self.resolve(n)).collect();
            let uid = self.key(e.workload.as_deref()).and_then(|k| {
                sim.store().get(&k).and_then(|v| str_at(v, &["metadata", "uid"])).map(str::to_owned)
            });
            let have: BTreeSet<String> = sim.deleted()[self.deleted_mark.min(sim.deleted().len())..]
                .iter()
                .filter(|d| uid.is_none() || d.owner == uid)
                .map(|d| d.name.clone())
                .collect();
            if want != have {
                errors.push(format!("deleted since last apply: want {want:?}, have {have:?}"));
            }
        }
        for (pod, want) in &e.restarts {
            if pod == "*" {
                let bad: Vec<String> = active
                    .iter()
                    .filter(|p| p.restarts != *want)
                    .map(|p| format!("{}={}", p.name, p.restarts))
                    .collect();
                if !bad.is_empty() {
                    errors.push(format!("every pod should have {want} restarts: {}", bad.join(", ")));
                }
            } else {
                let n = self.resolve(pod);
                match active.iter().find(|p| p.name == n) {
                    Some(p) if p.restarts == *want => {}
                    Some(p) => errors.push(format!("pod {n}: want {want} restarts, have {}", p.restarts)),
                    None => errors.push(format!("pod {n}: not found")),
                }
            }
        }
        if let Some(set) = &e.same_pods {
            match self.sets.get(set) {
                Some(before) => {
                    let now: BTreeMap<String, String> =
                        active.iter().map(|p| (p.name.clone(), p.node.clone())).collect();
                    if &now != before {
                        errors.push(format!(
                            "pods (name -> node) changed since capture {set}: before {before:?}, now {now:?}"
                        ));
                    }
                }
                None => errors.push(format!("no capture named {set}")),
            }
        }
        let uid = self.key(e.workload.as_deref()).and_then(|k| {
            sim.store().get(&k).and_then(|v| str_at(v, &["metadata", "uid"])).map(str::to_owned)
        });
        let created: Vec<SimTime> = sim
            .created()
            .iter()
            .filter(|c| c.at >= self.since_apply && (uid.is_none() || c.owner == uid))
            .map(|c| c.at)
            .collect();
        count!("pods created since last apply", e.created, created.len());
        if let Some(m) = e.created_at_least
            && created.len() < m
        {
            errors.push(format!("pods created since last apply: want at least {m}, have {}", created.len()));
        }
        for (pod, rev) in &e.on_revision {
            let n = self.resolve(pod);
            let want = match rev.as_str() {
                "update" => str_at(&status, &["updateRevision"]).unwrap_or_default().to_owned(),
                "current" => str_at(&status, &["currentRevision"]).unwrap_or_default().to_owned(),
                other => self.resolve(other),
            };
            match active.iter().find(|p| p.name == n) {
                Some(p) if p.revision == want => {}
                Some(p) => errors.push(format!("pod {n}: want revision {rev} ({want}), have {}", p.revision)),
                None => errors.push(format!("pod {n}: not found")),
            }
        }
        if let Some(gap) = e.created_apart
            && let Some(w) = created.windows(2).find(|w| w[1] - w[0] < gap.0)
        {
            errors.push(format!(
                "pods created {} apart (at {} and {}), want at least {gap}",
                Dur(w[1] - w[0]),
                Dur(w[0]),
                Dur(w[1])
            ));
        }
        if let Some(want) = &e.status {
            subset("status", want, &status, &mut errors);
        }
        for (object, want) in &e.objects {
            let object = &self.resolve(object);
            let (kind, name) = object.split_once('/').unwrap_or(("", object));
            match sim.store().get(&kind_key(kind, "default", name)) {
                Some(have) => subset(object, want, have, &mut errors),
                None => errors.push(format!("{object}: not found")),
            }
        }
        let splits = sim.traffic_now();
        for (object, want) in &e.traffic {
            let have = splits.get(object).map_or("(none)", String::as_str);
            if have != want {
                errors.push(format!("{object}: traffic {have:?}, want {want:?}"));
            }
        }
        if let Some(want) = &e.pvcs {
            let ns = self.key(e.workload.as_deref()).map(|k| k.namespace).unwrap_or_default();
            let have: Vec<String> = sim
                .store()
                .list("", "PersistentVolumeClaim")
                .filter(|(k, v)| k.namespace == ns && v.pointer("/metadata/deletionTimestamp").is_none())
                .map(|(k, _)| k.name.clone())
                .collect();
            let mut want = want.clone();
            want.sort();
            if have != want {
                errors.push(format!("pvcs {have:?}, want {want:?}"));
            }
        }
        if e.settled == Some(true) && !sim.is_quiet() && sim.next_event_at().is_some_and(|t| t <= sim.now()) {
            errors.push("events are still pending".into());
        }
        if errors.is_empty() { Ok(()) } else { Err(errors.join("; ")) }
    }
}

/// Checks that `want` is a JSON subset of `have`.
fn subset(path: &str, want: &Value, have: &Value, errors: &mut Vec<String>) {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => {
            for (k, v) in w {
                subset(&format!("{path}.{k}"), v, h.get(k).unwrap_or(&Value::Null), errors);
            }
        }
        (Value::Object(_), _) => errors.push(format!("{path}: want an object, have {have}")),
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        // Zero, false and empty fields are omitted when a status is serialized.
        (Value::Number(a), Value::Null) if a.as_f64() == Some(0.0) => {}
        (Value::Bool(false), Value::Null) => {}
        _ if want == have => {}
        _ => errors.push(format!("{path}: want {want}, have {have}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_matches_nested_fields_and_omitted_zeroes() {
        let have = json!({"replicas": 4, "updatedReplicas": 2, "conditions": [{"type": "x"}]});
        let mut errors = Vec::new();
        subset("status", &json!({"replicas": 4, "readyReplicas": 0}), &have, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        subset("status", &json!({"updatedReplicas": 3}), &have, &mut errors);
        assert_eq!(errors, ["status.updatedReplicas: want 3, have 2"]);
    }

    #[test]
    fn scenario_parses_counts_lists_and_steps() {
        let s: Scenario = serde_saphyr::from_str(
            "seed: 4\nnodes: [{name: a, labels: {zone: z1}}]\nimages: {'x:1': {pull: 3s, fail: true}}\nsteps:\n  - apply: m.yaml\n  - wait: {until: {pods: 2}, timeout: 1m}\n  - fault: {nodeLost: {node: a, for: 30s}}\n  - expect: {byImage: {'x:1': 2}, restarts: {'*': 0}}\n",
        )
        .unwrap();
        assert_eq!(s.seed, 4);
        assert_eq!(s.nodes.specs()[0].labels["zone"], "z1");
        assert_eq!(s.images["x:1"].pull, Some(Dur::secs(3)));
        assert_eq!(s.steps[1].wait.as_ref().and_then(|w| w.timeout), Some(Dur::secs(60)));
        assert_eq!(
            s.steps[2].fault,
            Some(Fault::NodeLost { node: "a".into(), duration: Some(Dur::secs(30)) })
        );
        assert!(
            serde_saphyr::from_str::<Scenario>("steps:\n  - expect: {podz: 1}\n").is_err(),
            "unknown fields are rejected"
        );
    }

    #[test]
    fn admit_converts_v1alpha1_cloneset_to_the_stored_version() {
        let doc = json!({"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet", "metadata": {"name": "w"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}}, "updateStrategy": {"type": "InPlaceIfPossible"},
                     "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}});
        let stored = admit(doc).unwrap();
        assert_eq!(stored["apiVersion"], "apps.kruise.io/v1beta1");
        assert_eq!(stored["metadata"]["namespace"], "default");
        assert_eq!(
            stored.pointer("/spec/updateStrategy/rollingUpdate/podUpdatePolicy"),
            Some(&json!("InPlaceIfPossible"))
        );
        let plain =
            admit(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})).unwrap();
        assert_eq!(plain["metadata"]["namespace"], "default");
    }

    #[test]
    fn a_step_with_two_actions_is_rejected() {
        let dir = std::env::temp_dir().join(format!("kruise-sim-scenario-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.yaml");
        std::fs::write(&path, "controller: reference\nsteps:\n  - wait: {for: 1s}\n    expect: {pods: 0}\n")
            .unwrap();
        let err = run_scenario(&path, RunOptions::default()).unwrap_err();
        assert!(matches!(err, ScenarioError::BadStep { step: 1, .. }), "{err}");
        std::fs::write(&path, "controller: nope\nsteps: []\n").unwrap();
        assert!(matches!(
            run_scenario(&path, RunOptions::default()),
            Err(ScenarioError::UnknownController(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
