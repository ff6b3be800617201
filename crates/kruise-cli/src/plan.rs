//! `kruise plan`: the dry-run. Reads a CloneSet and what a cluster shows of its pods,
//! ControllerRevisions and PVCs, runs one reconcile of the planner and prints the plan, without
//! talking to any cluster.
//!
//! - The workload (v1alpha1 or v1beta1, YAML or JSON, `status` allowed) is defaulted and
//!   validated like `kruise validate` does (problems: exit 1), then converted to v1beta1.
//! - `--pods`, `--revisions` and `--pvcs` take `kubectl get ... -o json|yaml` output (a `List`),
//!   a plain array, or a stream of objects. What does not belong to the CloneSet is ignored and
//!   said so on stderr (one line per file, with the names): see [`Ownership`].
//! - `--now` is the planner's clock. It defaults to the current time, which makes the run
//!   unrepeatable; the time used is printed (table header, `now` in JSON) so a run can be
//!   repeated exactly with `--now` and `--seed`.
//! - `--seed` (default 0) derives the ids of new pods (CS-45). A fixed default keeps two runs on
//!   the same input identical; the controller itself picks random ids.
//!
//! Output: `-o table` (default) for people, `-o json` / `-o yaml` for programs ([`Document`]).
//! Exit status: 0 a plan was made, 1 the workload is invalid, 2 an input is unreadable or
//! unparsable (with `FILE:LINE:COLUMN` when the parser knows it).

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::PathBuf;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kruise_api::any::AnyResource;
use kruise_api::apps::v1alpha1::CloneSet as CloneSetV1alpha1;
use kruise_api::apps::v1beta1::{CloneSet, ImagePullJob};
use kruise_api::merge_patch::diff as merge_diff;
use kruise_api::selector;
use kruise_core::cloneset::{self, ActionKind, Input, Plan, Reason};
use kruise_core::expectations::Expectations;
use kruise_core::features::Features;
use kruise_core::reconciler::{PlannedWrite, WriteError};
use kruise_core::write::{ApiWrite, Subresource};
use serde_json::{Map, Value, json};

use crate::validate;
use crate::{Exit, Io, Run, input};

#[path = "plan_daemonset.rs"]
mod daemonset;
#[path = "plan_jobs.rs"]
mod jobs;

/// Plan one reconcile of a CloneSet offline (dry-run).
#[derive(Debug, clap::Args)]
#[command(after_help = "Exit status: 0 a plan was printed, 1 the workload is invalid, \
2 an input file is unreadable or unparsable.")]
pub struct Args {
    /// The CloneSet (apps.kruise.io/v1alpha1 or v1beta1), YAML or JSON, `status` allowed; `-`
    /// reads standard input (as may one of the other files).
    #[arg(long, value_name = "FILE")]
    pub workload: PathBuf,
    /// Pods (`kubectl get pods -o json` output, a plain array, or YAML). Default: no pods.
    #[arg(long, value_name = "FILE")]
    pub pods: Option<PathBuf>,
    /// ControllerRevisions. Default: none, so the planner creates the first revision.
    #[arg(long, value_name = "FILE")]
    pub revisions: Option<PathBuf>,
    /// PersistentVolumeClaims. Default: none.
    #[arg(long, value_name = "FILE")]
    pub pvcs: Option<PathBuf>,
    /// Rollout only: the workload it releases (CloneSet, Advanced StatefulSet or DaemonSet).
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,
    /// Rollout only: Services, HTTPRoutes, Ingresses and a shared TrafficRouting.
    #[arg(long, value_name = "FILE")]
    pub routes: Option<PathBuf>,
    /// Rollout only: the BatchRelease named like the Rollout.
    #[arg(long, value_name = "FILE")]
    pub batch_release: Option<PathBuf>,
    /// The planner's clock (RFC 3339, e.g. 2024-05-01T12:00:00Z). Default: the current time.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<Timestamp>,
    /// Seed of the ids of new pods (CS-45).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Nodes (`kubectl get nodes -o json` output, a plain array, or YAML): the nodes an
    /// Advanced DaemonSet places pods on (ADS-6); for a CloneSet, the scale-in order of a
    /// template with topologySpreadConstraints ranks pods by their nodes' labels (CS-53).
    /// Default: none.
    #[arg(long, value_name = "FILE")]
    pub nodes: Option<PathBuf>,
    /// ImagePullJob only: the NodeImages (either API version) whose pulls it drives (IPJ-12).
    #[arg(long, value_name = "FILE")]
    pub nodeimages: Option<PathBuf>,
    /// ImagePullJob and NodeImage only: pull secrets and their copies in
    /// `kruise-daemon-config` (IPJ-15, IPJ-21). Default: none.
    #[arg(long, value_name = "FILE")]
    pub secrets: Option<PathBuf>,
    /// NodeImage: the ImagePullJobs that exist (IPJ-21 drops tags whose jobs are gone;
    /// default: every job a tag names exists). CloneSet with gate
    /// `PreDownloadImageForInPlaceUpdate`: its pre-download ImagePullJobs (IPJ-40; default none).
    #[arg(long, value_name = "FILE")]
    pub jobs: Option<PathBuf>,
    /// Feature gates, `Name=true|false` separated by commas: the operator's flag, with the same
    /// names and defaults (e.g. `CloneSetPartitionRollback=true`).
    #[arg(long, value_name = "GATES", default_value = "")]
    pub feature_gates: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

/// Output syntax of `kruise plan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// One line per pod, then revisions and status.
    Table,
    /// The [`Document`] as JSON.
    Json,
    /// The [`Document`] as YAML.
    Yaml,
}

/// Why `run` stopped early: the exit status and the lines to print on stderr.
pub(crate) struct Stop(pub(crate) Exit, pub(crate) Vec<String>);

/// How [`Args::plan`] ends: writing failed (outer `Err`), an input was unusable (`Ok(Err)`), or
/// the plan was printed.
type Outcome = io::Result<Result<(), Stop>>;

impl Run for Args {
    fn run(&self, io: &mut Io<'_>) -> io::Result<Exit> {
        match self.plan(io)? {
            Ok(()) => Ok(Exit::Ok),
            Err(Stop(exit, lines)) => {
                for line in lines {
                    writeln!(io.err, "{line}")?;
                }
                Ok(exit)
            }
        }
    }
}

impl Args {
    fn plan(&self, io: &mut Io<'_>) -> Outcome {
        match self.prepare_and_print(io) {
            Ok(()) => Ok(Ok(())),
            Err(Failure::Input(stop)) => Ok(Err(stop)),
            Err(Failure::Write(e)) => Err(e),
        }
    }

    fn prepare_and_print(&self, io: &mut Io<'_>) -> Result<(), Failure> {
        if crate::plan_rollout::is_rollout(&self.workload) {
            return crate::plan_rollout::run(self, io);
        }
        let inputs = [
            Some(&self.workload),
            self.pods.as_ref(),
            self.revisions.as_ref(),
            self.pvcs.as_ref(),
            self.nodes.as_ref(),
            self.nodeimages.as_ref(),
            self.secrets.as_ref(),
            self.jobs.as_ref(),
        ];
        if inputs.iter().flatten().filter(|p| p.as_os_str() == "-").count() > 1 {
            let line = "kruise plan: only one input can be standard input (-)".to_owned();
            return Err(Failure::Input(Stop(Exit::Error, vec![line])));
        }
        let file = self.workload.display().to_string();
        let docs = read_docs(&file, io.stdin)?;
        if crate::plan_statefulset::is_statefulset(&docs) {
            return crate::plan_statefulset::plan(self, &file, &docs, io);
        }
        if crate::plan_sidecarset::is_sidecarset(&docs) {
            return crate::plan_sidecarset::plan(self, &file, &docs, io);
        }
        let doc = read_workload(&file, docs)?;
        if let Some(job) = jobs::job_of(&file, &doc)? {
            return jobs::run(self, job, io);
        }
        if let Some(ds) = daemonset::daemonset_of(&file, &doc)? {
            return daemonset::run(self, &ds, io);
        }
        let (cs, alpha) = cloneset_of(&file, &doc)?;
        let own = Ownership::of(&cs);
        let mut notes = Vec::new();
        let pods: Vec<Pod> = self.objects(self.pods.as_ref(), "Pod", &own, io.stdin, &mut notes)?;
        let revisions: Vec<ControllerRevision> =
            self.objects(self.revisions.as_ref(), "ControllerRevision", &own, io.stdin, &mut notes)?;
        let pvcs: Vec<PersistentVolumeClaim> =
            self.objects(self.pvcs.as_ref(), "PersistentVolumeClaim", &own, io.stdin, &mut notes)?;
        let nodes: Vec<Node> = self.objects(self.nodes.as_ref(), "Node", &own, io.stdin, &mut notes)?;
        let features = Features::default().with_gates(&self.feature_gates).map_err(|e| {
            Failure::Input(Stop(Exit::Error, vec![format!("kruise plan: --feature-gates: {e}")]))
        })?;
        let now = self.now.unwrap_or_else(Timestamp::now);
        let expectations = Expectations::default();
        let input = Input {
            cloneset: &cs,
            pods: (&pods).into(),
            pvcs: &pvcs,
            revisions: &revisions,
            nodes: &nodes,
            now,
            id_seed: self.seed,
            features,
            expectations: &expectations,
            pub_decisions: None,
        };
        let mut plan = cloneset::plan(&input).map_err(|e| {
            Stop(
                Exit::Invalid,
                vec![format!("{}: CloneSet/{}: {e}", self.workload.display(), name_of(&cs.metadata))],
            )
        })?;
        // IPJ-40..IPJ-42 (gate PreDownloadImageForInPlaceUpdate): pre-download jobs after the
        // plan's own actions, as the reconciler plans them.
        let jobs: Vec<ImagePullJob> =
            self.objects(self.jobs.as_ref(), "ImagePullJob", &own, io.stdin, &mut notes)?;
        plan.actions.extend(cloneset::predownload::actions(&input, &jobs));
        let doc = Document::build(&input, &plan, self.seed, alpha.as_ref());
        for note in notes {
            writeln!(io.err, "{note}")?;
        }
        emit(
            io.out,
            self.output,
            || doc.value.clone(),
            |out| write_table(out, &input, &plan, now, self.seed),
        )?;
        Ok(())
    }

    /// The objects of kind `kind` in `path` that belong to the CloneSet; the others are named
    /// in one `notes` line.
    pub(crate) fn objects<T: serde::de::DeserializeOwned + Meta>(
        &self,
        path: Option<&PathBuf>,
        kind: &str,
        own: &Ownership,
        stdin: &mut dyn Read,
        notes: &mut Vec<String>,
    ) -> Result<Vec<T>, Stop> {
        let Some(path) = path else { return Ok(Vec::new()) };
        let shown = path.display().to_string();
        let docs = read_docs(&shown, stdin)?;
        let mut items = Vec::new();
        for doc in docs {
            flatten(doc, &mut items);
        }
        let mut kept = Vec::with_capacity(items.len());
        let mut ignored = Vec::new();
        for (i, item) in items.into_iter().enumerate() {
            let found = item.get("kind").and_then(Value::as_str).unwrap_or(kind);
            if found != kind {
                return Err(Stop(
                    Exit::Error,
                    vec![format!("{shown}: item {}: expected kind {kind}, found {found}", i + 1)],
                ));
            }
            let obj: T = serde_json::from_value(item).map_err(|e| {
                Stop(Exit::Error, vec![format!("{shown}: item {}: cannot decode as {kind}: {e}", i + 1)])
            })?;
            if own.admits(kind, obj.meta()) {
                kept.push(obj);
            } else {
                ignored.push(name_of(obj.meta()));
            }
        }
        if !ignored.is_empty() {
            ignored.sort();
            notes.push(format!(
                "{shown}: ignored {} {kind}(s) not belonging to {} {}: {}",
                ignored.len(),
                own.kind,
                own.name,
                ignored.join(", ")
            ));
        }
        Ok(kept)
    }
}

/// Why preparing or printing a plan failed.
pub(crate) enum Failure {
    /// An input is unusable.
    Input(Stop),
    /// Output could not be written.
    Write(io::Error),
}

impl From<Stop> for Failure {
    fn from(s: Stop) -> Self {
        Failure::Input(s)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Write(e)
    }
}

/// Reads and parses a file (`-`: standard input); errors are exit 2 with the position.
pub(crate) fn read_docs(shown: &str, stdin: &mut dyn Read) -> Result<Vec<Value>, Stop> {
    let text = if shown == "-" {
        let mut s = String::new();
        stdin.read_to_string(&mut s).map(|_| s)
    } else {
        std::fs::read_to_string(shown)
    };
    let text = text.map_err(|e| Stop(Exit::Error, vec![format!("{shown}: cannot read: {e}")]))?;
    input::parse(shown, &text)
        .map_err(|e| Stop(Exit::Error, vec![format!("{}: {}", e.position(shown), e.message)]))
}

/// The one workload of `file`, validated.
fn read_workload(file: &str, docs: Vec<Value>) -> Result<Value, Stop> {
    let [doc] = docs.as_slice() else {
        return Err(Stop(
            Exit::Invalid,
            vec![format!("{file}: expected exactly one CloneSet, found {} objects", docs.len())],
        ));
    };
    validated(file, doc)?;
    Ok(doc.clone())
}

/// The CloneSet of a validated `doc`, defaulted and in the v1beta1 shape; with the defaulted
/// v1alpha1 object when the file holds one (its writes are addressed to v1alpha1).
fn cloneset_of(file: &str, doc: &Value) -> Result<(CloneSet, Option<CloneSetV1alpha1>), Stop> {
    let not_cloneset = |kind: &str| {
        Stop(
            Exit::Invalid,
            vec![format!(
                "{file}: {kind}: kruise plan plans CloneSets, Advanced StatefulSets, Advanced DaemonSets, SidecarSets and Rollouts only"
            )],
        )
    };
    let resource = AnyResource::from_value(doc.clone())
        .map_err(|e| Stop(Exit::Invalid, vec![format!("{file}: {e}")]))?;
    let (mut cs, alpha) = match resource {
        AnyResource::CloneSetV1alpha1(mut o) => {
            kruise_api::defaults::default(&mut o);
            (kruise_api::convert::cloneset_to_v1beta1(&o), Some(o))
        }
        AnyResource::CloneSetV1beta1(o) => (o, None),
        other => return Err(not_cloneset(other.kind())),
    };
    kruise_api::defaults::default(&mut cs);
    Ok((cs, alpha))
}

/// `[...]` and `{kind: *List, items: [...]}` stand for their elements.
pub(crate) fn flatten(doc: Value, out: &mut Vec<Value>) {
    match doc {
        Value::Array(items) => items.into_iter().for_each(|i| flatten(i, out)),
        Value::Object(mut m)
            if m.get("kind").and_then(Value::as_str).is_some_and(|k| k.ends_with("List"))
                && m.get("items").is_some_and(Value::is_array) =>
        {
            if let Some(Value::Array(items)) = m.remove("items") {
                items.into_iter().for_each(|i| flatten(i, out));
            }
        }
        other => out.push(other),
    }
}

pub(crate) fn name_of(meta: &ObjectMeta) -> String {
    meta.name.clone().unwrap_or_else(|| "(unnamed)".into())
}

/// Objects with metadata.
pub(crate) trait Meta {
    fn meta(&self) -> &ObjectMeta;
}

impl Meta for Pod {
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
}

impl Meta for ControllerRevision {
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
}

impl Meta for Node {
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
}

impl Meta for PersistentVolumeClaim {
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
}

impl Meta for ImagePullJob {
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
}

/// Which listed objects are handed to the planner (CS-24 claims among them).
///
/// - Pods and PVCs are listed by owner reference (CS-24): with a workload uid (it came from a
///   cluster), objects with an owner reference of that uid; without one (a hand-written file),
///   objects with an owner reference to a CloneSet of the same name. A bare pod (no owner
///   reference) is never handed over, even if it matches the selector: the controller does
///   not adopt it.
/// - ControllerRevisions (CS-23 step 7): those the workload controls (by uid, or by kind and
///   name without one), plus revisions with no controller that match the selector.
///
/// - Nodes are all handed over (they are only read, CS-53).
///
/// Everything else (another controller's objects, bare pods) is ignored and said so.
pub struct Ownership {
    kind: &'static str,
    name: String,
    uid: Option<String>,
    selector: Option<LabelSelector>,
}

impl Ownership {
    /// The rule for `cs`.
    pub fn of(cs: &CloneSet) -> Self {
        Self::workload("CloneSet", &cs.metadata, cs.spec.selector.as_ref())
    }

    /// The rule for a workload of `kind` (its controller owner references name that kind).
    pub fn workload(kind: &'static str, meta: &ObjectMeta, selector: Option<&LabelSelector>) -> Self {
        Self {
            kind,
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().filter(|u| !u.is_empty()),
            selector: selector.cloned(),
        }
    }

    /// Whether an object of `kind` with `meta` is given to the planner.
    pub fn admits(&self, kind: &str, meta: &ObjectMeta) -> bool {
        if kind == "Node" {
            return true;
        }
        let ours = |r: &k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference| match &self.uid {
            Some(uid) => &r.uid == uid,
            None => r.kind == self.kind && r.name == self.name,
        };
        let refs = meta.owner_references.as_deref().unwrap_or_default();
        let controller = refs.iter().find(|r| r.controller == Some(true));
        // A StatefulSet's claims need not carry its owner reference (ASTS-17: retention
        // policy Retain): they are listed like revisions, by controller or selector.
        let by_reference = kind == "Pod" || (kind == "PersistentVolumeClaim" && self.kind != "StatefulSet");
        if by_reference {
            return refs.iter().any(ours) && controller.is_none_or(ours);
        }
        let labels = meta.labels.clone().unwrap_or_default();
        let selected = self.selector.as_ref().is_some_and(|s| selector_matches(s, &labels));
        match controller {
            Some(c) => ours(c) && (self.uid.is_some() || selected),
            None => selected,
        }
    }
}

/// Label selector semantics (matchLabels and matchExpressions, all ANDed); an empty selector
/// matches nothing here (the planner rejects it anyway).
fn selector_matches(s: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    !selector::is_empty(s) && selector::matches(s, Some(labels))
}

/// The `-o json` / `-o yaml` document: the planner's own serialization of the [`Plan`]
/// (`actions`, `held`, `status`, `requeueAfterSeconds`, `requeueReason`, `events` when any),
/// with `now` and `seed` added at the top and, on each action, what would be sent:
/// `object` (the full object of a create), `patch` (a JSON merge patch of the object: the
/// patch itself for merge patches, the difference made for replaces and JSON patches) and
/// `statusPatch` (the same for a status write); `writeError` if the action's writes cannot be
/// built.
pub struct Document {
    /// The JSON value.
    pub value: Value,
}

impl Document {
    /// Builds the document of `plan` for `input`.
    /// `alpha`: the workload as read when it is a v1alpha1 CloneSet; the writes are then
    /// those the operator sends for it (owner references and CloneSet writes addressed to
    /// `apps.kruise.io/v1alpha1`, CS-1).
    pub fn build(input: &Input<'_>, plan: &Plan, seed: u64, alpha: Option<&CloneSetV1alpha1>) -> Document {
        let current = Current::new(
            input.pods,
            input.pvcs,
            input.revisions,
            ("CloneSet", &input.cloneset.metadata, serde_json::to_value(input.cloneset).unwrap_or_default()),
        );
        let value = with_writes(input.now, seed, plan, &current, |single| {
            let mut writes = cloneset::reconcile::writes(input, single)?;
            if let Some(alpha) = alpha {
                cloneset::v1alpha1::readdress_writes(&mut writes, alpha);
            }
            Ok(writes)
        });
        Document { value }
    }
}

/// The `-o json` / `-o yaml` document of any workload's plan (the one JSON contract of
/// `kruise plan`): the plan's own serialization with `now` and `seed` on top and, on each
/// action, what would be sent (`object`, `patch`, `statusPatch`, see [`Document`]) as the
/// workload's writer (`writes`, called with a plan of that one action) builds it, or
/// `writeError`.
pub(crate) fn with_writes<S: serde::Serialize + Clone>(
    now: jiff::Timestamp,
    seed: u64,
    plan: &kruise_core::plan::Plan<S>,
    current: &Current,
    writes: impl Fn(&kruise_core::plan::Plan<S>) -> Result<Vec<PlannedWrite>, WriteError>,
) -> Value {
    let mut value = serde_json::to_value(plan).unwrap_or(Value::Null);
    if let Some(Value::Array(actions)) = value.get_mut("actions") {
        for (a, out) in plan.actions.iter().zip(actions.iter_mut()) {
            let Value::Object(out) = out else { continue };
            out.remove("patch");
            let mut single = kruise_core::plan::Plan::new(plan.status.clone());
            single.actions.push(a.clone());
            match writes(&single) {
                Ok(ws) => ws.iter().for_each(|w| attach(out, w, current)),
                Err(e) => {
                    out.insert("writeError".into(), json!(e.to_string()));
                }
            }
        }
    }
    let mut top = Map::new();
    top.insert("now".into(), json!(now.to_string()));
    top.insert("seed".into(), json!(seed));
    if let Value::Object(m) = value {
        top.extend(m);
    }
    Value::Object(top)
}

/// The objects as listed, by kind and name, to compute what a replace or patch changes.
pub(crate) struct Current(BTreeMap<(String, String), Value>);

impl Current {
    /// The listed pods, claims and revisions and the workload (kind, metadata, JSON).
    pub(crate) fn new<'p>(
        pods: impl IntoIterator<Item = &'p k8s_openapi::api::core::v1::Pod>,
        pvcs: &[k8s_openapi::api::core::v1::PersistentVolumeClaim],
        revisions: &[k8s_openapi::api::apps::v1::ControllerRevision],
        workload: (&str, &ObjectMeta, Value),
    ) -> Self {
        let mut m = BTreeMap::new();
        let mut add = |kind: &str, meta: &ObjectMeta, v: Value| {
            m.insert((kind.to_owned(), name_of(meta)), v);
        };
        for p in pods {
            add("Pod", &p.metadata, serde_json::to_value(p).unwrap_or_default());
        }
        for p in pvcs {
            add("PersistentVolumeClaim", &p.metadata, serde_json::to_value(p).unwrap_or_default());
        }
        for r in revisions {
            add("ControllerRevision", &r.metadata, serde_json::to_value(r).unwrap_or_default());
        }
        add(workload.0, workload.1, workload.2);
        Self(m)
    }
}

fn attach(out: &mut Map<String, Value>, w: &PlannedWrite, current: &Current) {
    let key = |sub: Subresource| if sub == Subresource::Status { "statusPatch" } else { "patch" };
    match &w.write {
        ApiWrite::Create { object, .. } => {
            out.insert("object".into(), object.clone());
        }
        ApiWrite::MergePatch { subresource, patch, .. } => {
            out.insert(key(*subresource).into(), patch.clone());
        }
        ApiWrite::Replace { target, subresource, object } => {
            let before =
                current.0.get(&(target.kind.clone(), target.name.clone())).cloned().unwrap_or(Value::Null);
            out.insert(key(*subresource).into(), changes(&before, object, *subresource));
        }
        ApiWrite::JsonPatch { target, subresource, patch } => {
            // What the patch changes on the listed object, shown as a merge patch like the
            // other writes (its `test` guards are what the plan read).
            let before =
                current.0.get(&(target.kind.clone(), target.name.clone())).cloned().unwrap_or(Value::Null);
            let mut after = before.clone();
            match kruise_core::write::json_patch::apply(&mut after, patch) {
                Ok(()) => {
                    out.insert(key(*subresource).into(), changes(&before, &after, *subresource));
                }
                Err(_) => {
                    out.insert("jsonPatch".into(), patch.clone());
                }
            }
        }
        ApiWrite::Delete { .. } => {}
    }
}

/// The merge patch from `before` to `after` of the part a write to `sub` touches.
fn changes(before: &Value, after: &Value, sub: Subresource) -> Value {
    let part = |v: &Value, status: bool| {
        let mut v = v.clone();
        if let Value::Object(m) = &mut v {
            if status {
                m.retain(|k, _| k == "status");
            } else {
                m.remove("status");
                if let Some(Value::Object(meta)) = m.get_mut("metadata") {
                    meta.remove("resourceVersion");
                    meta.remove("managedFields");
                }
            }
        }
        v
    };
    let status = sub == Subresource::Status;
    merge_diff(&part(before, status), &part(after, status)).unwrap_or_else(|| json!({}))
}

/// One table line about a pod: what happens, the reason kind, its detail.
type Row = (String, String, String);

/// What happens to a pod, in words.
pub(crate) fn verb(kind: &ActionKind, reason: &Reason) -> &'static str {
    match (kind, reason) {
        (ActionKind::CreatePod { .. }, _) => "create",
        (ActionKind::DeletePod, _) => "delete",
        (ActionKind::UpdateInPlace { .. }, _) => "update in place",
        (ActionKind::PatchPod { .. }, Reason::Update { recreate: true, .. }) => "recreate",
        (ActionKind::PatchPod { .. }, _) => "patch",
        (ActionKind::UpdatePodStatus { .. }, _) => "write status",
        (ActionKind::AdoptPod, _) => "adopt",
        (ActionKind::ReleasePod, _) => "release",
        (ActionKind::FinishGracePeriod, _) => "finish in-place update",
        (ActionKind::UpdatePvc { .. }, _) => "hand PVC over",
        (ActionKind::CreatePvc { .. }, _) => "create PVC",
        (ActionKind::DeletePvc { .. }, _) => "delete PVC",
        _ => "other",
    }
}

fn write_table(
    out: &mut dyn Write,
    input: &Input<'_>,
    plan: &Plan,
    now: Timestamp,
    seed: u64,
) -> io::Result<()> {
    let cs = input.cloneset;
    writeln!(
        out,
        "CloneSet {}/{} at {now} (seed {seed})",
        cs.metadata.namespace.as_deref().unwrap_or("default"),
        name_of(&cs.metadata)
    )?;
    writeln!(out)?;
    // Pods: every listed pod and every pod to create, by name.
    let mut rows: BTreeMap<String, (String, Vec<Row>)> = BTreeMap::new();
    for p in input.pods {
        let rev = p
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(kruise_api::keys::CONTROLLER_REVISION_HASH))
            .cloned()
            .unwrap_or_else(|| "-".into());
        rows.entry(name_of(&p.metadata)).or_insert((rev, Vec::new()));
    }
    for a in &plan.actions {
        let Some(pod) = &a.pod else { continue };
        let row = rows
            .entry(pod.clone())
            .or_insert_with(|| (a.revision.clone().unwrap_or_else(|| "-".into()), Vec::new()));
        let what = match (&a.kind, a.revision.as_deref()) {
            (ActionKind::UpdateInPlace { .. }, Some(to)) => format!("update in place to {to}"),
            (ActionKind::UpdatePodStatus { condition }, _) => {
                format!("write status {}={}", condition.type_, condition.status)
            }
            (
                ActionKind::CreatePvc { pvc } | ActionKind::DeletePvc { pvc } | ActionKind::UpdatePvc { pvc },
                _,
            ) => {
                format!("{} {pvc}", verb(&a.kind, &a.reason))
            }
            _ => verb(&a.kind, &a.reason).to_owned(),
        };
        row.1.push((what, a.reason.kind().to_owned(), a.reason.to_string()));
    }
    for h in &plan.held {
        if let Some(row) = h.pod.as_ref().and_then(|p| rows.get_mut(p)) {
            row.1.push(("held".into(), h.reason.kind().to_owned(), h.reason.to_string()));
        }
    }
    let mut lines =
        vec![["POD".to_owned(), "REVISION".into(), "WHAT".into(), "REASON".into(), "DETAIL".into()]];
    let idle: BTreeMap<String, &'static str> = input
        .pods
        .iter()
        .map(|p| {
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
            let word = if p.metadata.deletion_timestamp.is_some() {
                "terminating"
            } else if matches!(phase, Some("Succeeded" | "Failed")) {
                "finished"
            } else {
                "unchanged"
            };
            (name_of(&p.metadata), word)
        })
        .collect();
    for (pod, (rev, whats)) in &rows {
        if whats.is_empty() {
            let word = idle.get(pod).copied().unwrap_or("unchanged");
            lines.push([pod.clone(), rev.clone(), word.into(), String::new(), String::new()]);
        }
        for (i, (what, reason, detail)) in whats.iter().enumerate() {
            let (p, r) = if i == 0 { (pod.clone(), rev.clone()) } else { (String::new(), String::new()) };
            lines.push([p, r, what.clone(), reason.clone(), detail.clone()]);
        }
    }
    write_columns(out, &lines)?;
    writeln!(out)?;

    // Revisions: listed ones, new ones, and what happens to each.
    let mut revs: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for r in input.revisions {
        revs.insert(name_of(&r.metadata), (r.revision.to_string(), Vec::new()));
    }
    let mut other = Vec::new();
    for a in &plan.actions {
        match (&a.kind, &a.revision) {
            (ActionKind::CreateRevision { number, .. } | ActionKind::UpdateRevision { number }, Some(r)) => {
                let e = revs.entry(r.clone()).or_insert_with(|| (number.to_string(), Vec::new()));
                e.0 = number.to_string();
                e.1.push(a.kind.name().to_owned());
            }
            (ActionKind::DeleteRevision, Some(r)) => {
                revs.entry(r.clone()).or_default().1.push(format!("DeleteRevision ({})", a.reason));
            }
            (ActionKind::DeletePvc { pvc } | ActionKind::UpdatePvc { pvc }, _) if a.pod.is_none() => {
                other.push(format!("{} {pvc} ({})", a.kind.name(), a.reason.kind()))
            }
            _ if a.pod.is_none() => other.push(format!("{} ({})", a.kind.name(), a.reason.kind())),
            _ => {}
        }
    }
    let st = &plan.status;
    write_revisions(out, &revs, &st.current_revision, &st.update_revision)?;
    writeln!(out)?;

    writeln!(
        out,
        "STATUS replicas={} ready={} available={} updated={} updatedReady={} updatedAvailable={} expectedUpdated={}",
        st.replicas,
        st.ready_replicas,
        st.available_replicas,
        st.updated_replicas,
        st.updated_ready_replicas,
        st.updated_available_replicas,
        st.expected_updated_replicas,
    )?;
    for o in other {
        writeln!(out, "WRITE {o}")?;
    }
    for e in &plan.events {
        writeln!(out, "EVENT {} {e}", e.kind())?;
    }
    match &plan.requeue {
        Some(r) => writeln!(out, "REQUEUE after {}s ({})", r.after.as_secs(), r.reason.kind()),
        None => writeln!(out, "REQUEUE none"),
    }
}

pub(crate) fn write_columns<const N: usize>(out: &mut dyn Write, lines: &[[String; N]]) -> io::Result<()> {
    let mut widths = [0usize; N];
    for l in lines {
        for (w, c) in widths.iter_mut().zip(l) {
            *w = (*w).max(c.chars().count());
        }
    }
    for l in lines {
        let mut s = String::new();
        for (i, (c, w)) in l.iter().zip(widths).enumerate() {
            if i + 1 == N {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        writeln!(out, "{}", s.trim_end())?;
    }
    Ok(())
}

/// `doc` checked as `kruise validate` checks it: every problem as `FILE: KIND/NAME: PATH: MESSAGE`
/// (exit 1), so every kind's `kruise plan` refuses invalid input alike.
pub(crate) fn validated(file: &str, doc: &Value) -> Result<(), Stop> {
    let problems = validate::check(1, doc);
    if !problems.is_empty() {
        let lines = problems
            .into_iter()
            .map(|p| match p.path {
                Some(path) => format!("{file}: {}: {path}: {}", p.object, p.message),
                None => format!("{file}: {}: {}", p.object, p.message),
            })
            .collect();
        return Err(Stop(Exit::Invalid, lines));
    }
    Ok(())
}

/// Objects of `kind` in `path` (none without a path), decoded.
pub(crate) fn read_objects<T: serde::de::DeserializeOwned>(
    path: Option<&std::path::PathBuf>,
    kind: &str,
    io: &mut Io<'_>,
) -> Result<Vec<T>, Stop> {
    let Some(path) = path else { return Ok(Vec::new()) };
    let shown = path.display().to_string();
    let mut items = Vec::new();
    for doc in read_docs(&shown, io.stdin)? {
        flatten(doc, &mut items);
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let found = item.get("kind").and_then(Value::as_str).unwrap_or(kind).to_owned();
            if found != kind {
                return Err(Stop(
                    Exit::Error,
                    vec![format!("{shown}: item {}: expected kind {kind}, found {found}", i + 1)],
                ));
            }
            serde_json::from_value(item).map_err(|e| {
                Stop(Exit::Error, vec![format!("{shown}: item {}: cannot decode as {kind}: {e}", i + 1)])
            })
        })
        .collect()
}

/// Prints a plan as `-o` asks, the same for every kind: the JSON document with Go's escapes
/// (`\u0026` for `&`, ...: the bytes the operator sends, which for revision data are the bytes
/// hashed, CS-26), the same document as YAML, or the kind's table.
pub(crate) fn emit(
    out: &mut dyn Write,
    output: Output,
    doc: impl FnOnce() -> Value,
    table: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    match output {
        Output::Json => {
            out.write_all(&kruise_core::write::to_go_json(&doc(), true))?;
            writeln!(out)
        }
        Output::Yaml => {
            let text = serde_saphyr::to_string(&doc()).map_err(io::Error::other)?;
            out.write_all(text.as_bytes())
        }
        Output::Table => table(out),
    }
}

/// The revision table of `kruise plan -o table` (CloneSet, StatefulSet): each revision the plan
/// touches or the status names, with its number, its role (`current`, `update`) and what the plan
/// does to it.
pub(crate) fn write_revisions(
    out: &mut dyn Write,
    revs: &BTreeMap<String, (String, Vec<String>)>,
    current: &str,
    update: &str,
) -> io::Result<()> {
    let mut lines = vec![["REVISION".to_owned(), "NUMBER".into(), "ROLE".into(), "WHAT".into()]];
    for (name, (number, whats)) in revs {
        let mut role = Vec::new();
        if current == name {
            role.push("current");
        }
        if update == name {
            role.push("update");
        }
        let what = if whats.is_empty() { "unchanged".to_owned() } else { whats.join(", ") };
        lines.push([name.clone(), number.clone(), role.join(","), what]);
    }
    write_columns(out, &lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector(v: Value) -> LabelSelector {
        serde_json::from_value(v).unwrap()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn cs_24_selector_match_labels_and_expressions() {
        let s = selector(json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "canary", "operator": "DoesNotExist"}
            ]
        }));
        assert!(selector_matches(&s, &labels(&[("app", "web"), ("tier", "a")])));
        assert!(!selector_matches(&s, &labels(&[("app", "web"), ("tier", "c")])));
        assert!(!selector_matches(&s, &labels(&[("app", "web"), ("tier", "a"), ("canary", "1")])));
        assert!(!selector_matches(&s, &labels(&[("tier", "a")])));
        let empty = selector(json!({}));
        assert!(!selector_matches(&empty, &labels(&[("app", "web")])));
    }

    #[test]
    fn flatten_expands_arrays_and_typed_lists() {
        let mut out = Vec::new();
        flatten(json!([{"a": 1}, {"kind": "PodList", "items": [{"b": 2}]}]), &mut out);
        flatten(json!({"kind": "Pod", "c": 3}), &mut out);
        assert_eq!(out, vec![json!({"a": 1}), json!({"b": 2}), json!({"kind": "Pod", "c": 3})]);
    }
}
