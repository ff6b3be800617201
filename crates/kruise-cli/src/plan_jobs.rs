//! `kruise plan` for the job kinds: BroadcastJob (BJ-n; `--pods`, `--nodes`), ImagePullJob
//! (IPJ-10..IPJ-18; `--nodeimages`, `--pods` for a `podSelector`, `--secrets`) and NodeImage
//! (IPJ-20..IPJ-22; `--nodes` for its node, `--jobs` for the ImagePullJobs that still exist:
//! without it every job a tag names is taken to exist). The same JSON document as every kind
//! (`now`, `seed`, `actions`, `held`, `status`, `requeueAfterSeconds`, `requeueReason`,
//! `events`; the full `object` of each pod a BroadcastJob creates), and a table: one line per
//! node or NodeImage, what happens and why.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use k8s_openapi::api::core::v1::{Node, Pod, Secret};
use kruise_api::any::AnyResource;
use kruise_api::apps::v1beta1::{BroadcastJob, ImagePullJob, NodeImage};
use kruise_api::keys;
use kruise_core::expectations::Expectations;
use kruise_core::nodetable::NodeTable;
use kruise_core::plan::{ActionKind, Plan};
use kruise_core::{broadcastjob, imagepulljob};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::read_objects;
use super::{Args, Failure, Stop, flatten, name_of, read_docs, write_columns};
use crate::{Exit, Io};

/// One of the job kinds, defaulted, in the v1beta1 shape.
pub(super) enum JobKind {
    /// A BroadcastJob.
    Broadcast(Box<BroadcastJob>),
    /// An ImagePullJob.
    ImagePull(Box<ImagePullJob>),
    /// A NodeImage.
    NodeImage(Box<NodeImage>),
}

/// The job kind of `doc` (already validated), or `None` for other kinds.
pub(super) fn job_of(file: &str, doc: &Value) -> Result<Option<JobKind>, Stop> {
    let r = AnyResource::from_value(doc.clone())
        .map_err(|e| Stop(Exit::Invalid, vec![format!("{file}: {e}")]))?;
    let mut k = match r {
        AnyResource::BroadcastJobV1alpha1(o) => {
            JobKind::Broadcast(Box::new(kruise_api::convert::broadcastjob_to_v1beta1(&o)))
        }
        AnyResource::BroadcastJobV1beta1(o) => JobKind::Broadcast(Box::new(o)),
        AnyResource::ImagePullJobV1alpha1(o) => {
            JobKind::ImagePull(Box::new(kruise_api::convert::imagepulljob_to_v1beta1(&o)))
        }
        AnyResource::ImagePullJobV1beta1(o) => JobKind::ImagePull(Box::new(o)),
        AnyResource::NodeImageV1alpha1(o) => {
            JobKind::NodeImage(Box::new(kruise_api::convert::nodeimage_to_v1beta1(&o)))
        }
        AnyResource::NodeImageV1beta1(o) => JobKind::NodeImage(Box::new(o)),
        _ => return Ok(None),
    };
    match &mut k {
        JobKind::Broadcast(j) => kruise_api::defaults::default(j.as_mut()),
        JobKind::ImagePull(j) => kruise_api::defaults::default(j.as_mut()),
        JobKind::NodeImage(_) => {}
    }
    Ok(Some(k))
}

/// NodeImages of either version, in the v1beta1 shape.
fn read_node_images(args: &Args, io: &mut Io<'_>) -> Result<Vec<NodeImage>, Stop> {
    let Some(path) = args.nodeimages.as_ref() else { return Ok(Vec::new()) };
    let shown = path.display().to_string();
    let mut items = Vec::new();
    for doc in read_docs(&shown, io.stdin)? {
        flatten(doc, &mut items);
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let bad = |e: String| Stop(Exit::Error, vec![format!("{shown}: item {}: {e}", i + 1)]);
            match AnyResource::from_value(item.clone()) {
                Ok(AnyResource::NodeImageV1alpha1(o)) => Ok(kruise_api::convert::nodeimage_to_v1beta1(&o)),
                Ok(AnyResource::NodeImageV1beta1(o)) => Ok(o),
                Ok(_) => Err(bad("expected kind NodeImage".into())),
                // No apiVersion/kind: read as v1beta1.
                Err(_) => {
                    serde_json::from_value(item).map_err(|e| bad(format!("cannot decode as NodeImage: {e}")))
                }
            }
        })
        .collect()
}

/// Plans `job` and prints it.
pub(super) fn run(args: &Args, job: JobKind, io: &mut Io<'_>) -> Result<(), Failure> {
    let file = args.workload.display().to_string();
    let now = args.now.unwrap_or_else(jiff::Timestamp::now);
    let invalid = |kind: &str, name: String, e: kruise_core::plan::PlanError| {
        Stop(Exit::Invalid, vec![format!("{file}: {kind}/{name}: {e}")])
    };
    match job {
        JobKind::Broadcast(job) => {
            let pods: Vec<Pod> = read_objects(args.pods.as_ref(), "Pod", io)?;
            let nodes: Vec<Node> = read_objects(args.nodes.as_ref(), "Node", io)?;
            let table = NodeTable::from_nodes(&nodes)
                .map_err(|e| Stop(Exit::Error, vec![format!("--nodes: {e}")]))?;
            let expectations = Expectations::default();
            let input = broadcastjob::Input {
                job: &job,
                pods: (&pods).into(),
                nodes: &table,
                now,
                id_seed: args.seed,
                expectations: &expectations,
                bind_pods: false,
            };
            let plan =
                broadcastjob::plan(&input).map_err(|e| invalid("BroadcastJob", name_of(&job.metadata), e))?;
            let mut doc = document(&plan, input.now, args.seed);
            attach_pods(&mut doc, &plan, |node, pod| {
                serde_json::to_value(broadcastjob::new_pod(&job, node, pod, input.bind_pods))
                    .unwrap_or_default()
            });
            let head = format!(
                "BroadcastJob {}/{} at {now} (seed {})",
                job.metadata.namespace.as_deref().unwrap_or("default"),
                name_of(&job.metadata),
                args.seed
            );
            let subjects = table.iter().map(|n| n.name.clone()).collect();
            let st = &plan.status;
            let status = format!(
                "STATUS phase={} desired={} active={} succeeded={} failed={}",
                st.phase, st.desired, st.active, st.succeeded, st.failed
            );
            let existing = pods
                .iter()
                .filter(|p| broadcastjob::owns(&job, p))
                .filter_map(|p| {
                    let node = kruise_core::nodetable::assigned_node(p.spec.as_ref())?;
                    let phase =
                        p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_else(|| "Pending".into());
                    Some((node.to_owned(), (name_of(&p.metadata), phase)))
                })
                .collect();
            print(args, io, &doc, &plan, &head, ("NODE", existing), subjects, &status)?;
        }
        JobKind::ImagePull(job) => {
            let node_images = read_node_images(args, io)?;
            let pods: Vec<Pod> = read_objects(args.pods.as_ref(), "Pod", io)?;
            let secrets: Vec<Secret> = read_objects(args.secrets.as_ref(), "Secret", io)?;
            let input = imagepulljob::Input {
                job: &job,
                node_images: &node_images,
                pods: &pods,
                secrets: &secrets,
                daemon_namespace: keys::KRUISE_DAEMON_CONFIG_NAMESPACE,
                now,
                id_seed: args.seed,
                default_ttl_for_always: imagepulljob::DEFAULT_TTL_FOR_ALWAYS_NODEIMAGE,
            };
            let plan =
                imagepulljob::plan(&input).map_err(|e| invalid("ImagePullJob", name_of(&job.metadata), e))?;
            let doc = document(&plan, now, args.seed);
            let head = format!(
                "ImagePullJob {}/{} image {} at {now} (seed {})",
                job.metadata.namespace.as_deref().unwrap_or("default"),
                name_of(&job.metadata),
                job.spec.image,
                args.seed
            );
            let subjects = node_images.iter().map(|n| name_of(&n.metadata)).collect();
            let st = &plan.status;
            let status = format!(
                "STATUS desired={} active={} succeeded={} failed={} message={:?}",
                st.desired, st.active, st.succeeded, st.failed, st.message
            );
            print(args, io, &doc, &plan, &head, ("NODEIMAGE", Vec::new()), subjects, &status)?;
        }
        JobKind::NodeImage(ni) => {
            let nodes: Vec<Node> = read_objects(args.nodes.as_ref(), "Node", io)?;
            let name = name_of(&ni.metadata);
            let node = nodes.iter().find(|n| n.metadata.name.as_deref() == Some(name.as_str()));
            let jobs_listed: Vec<ImagePullJob> = read_objects(args.jobs.as_ref(), "ImagePullJob", io)?;
            let mut jobs: BTreeMap<(String, String), String> = BTreeMap::new();
            if args.jobs.is_some() {
                for j in &jobs_listed {
                    let key = (j.metadata.namespace.clone().unwrap_or_default(), name_of(&j.metadata));
                    jobs.insert(key, j.metadata.uid.clone().unwrap_or_default());
                }
            } else {
                for r in ni.spec.images.values().flat_map(|s| &s.tags).flat_map(|t| &t.owner_references) {
                    let key = (r.namespace.clone().unwrap_or_default(), r.name.clone().unwrap_or_default());
                    jobs.insert(key, r.uid.clone().unwrap_or_default());
                }
            }
            let secrets: BTreeSet<(String, String)> =
                read_objects::<Secret>(args.secrets.as_ref(), "Secret", io)?
                    .iter()
                    .map(|s| (s.metadata.namespace.clone().unwrap_or_default(), name_of(&s.metadata)))
                    .collect();
            let input = imagepulljob::nodeimage::Input {
                name: &name,
                node,
                node_image: Some(&ni),
                jobs: &jobs,
                secrets: &secrets,
                now,
                creation_delay: imagepulljob::nodeimage::DEFAULT_CREATION_DELAY,
                id_seed: args.seed,
            };
            let plan = imagepulljob::nodeimage::plan(&input);
            let doc = document(&plan, now, args.seed);
            let head = format!("NodeImage {name} at {now} (seed {})", args.seed);
            let st = &plan.status;
            let status = format!(
                "STATUS desired={} pulling={} succeeded={} failed={}",
                st.desired, st.pulling, st.succeeded, st.failed
            );
            print(args, io, &doc, &plan, &head, ("NODEIMAGE", Vec::new()), vec![name.clone()], &status)?;
        }
    }
    Ok(())
}

/// The `-o json` / `-o yaml` document: the plan's serialization with `now` and `seed` on top.
pub fn document<S: Serialize>(plan: &Plan<S>, now: jiff::Timestamp, seed: u64) -> Value {
    let mut top = Map::new();
    top.insert("now".into(), json!(now.to_string()));
    top.insert("seed".into(), json!(seed));
    if let Value::Object(m) = serde_json::to_value(plan).unwrap_or(Value::Null) {
        top.extend(m);
    }
    Value::Object(top)
}

/// Puts the full pod of each `CreatePod` in its action's `object` (as the DaemonSet does).
fn attach_pods<S>(doc: &mut Value, plan: &Plan<S>, pod: impl Fn(&str, &str) -> Value) {
    let Some(Value::Array(actions)) = doc.get_mut("actions") else { return };
    for (a, out) in plan.actions.iter().zip(actions.iter_mut()) {
        if let (ActionKind::CreatePod { instance_id }, Some(name)) = (&a.kind, &a.pod) {
            out["object"] = pod(instance_id, name);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn print<S>(
    args: &Args,
    io: &mut Io<'_>,
    doc: &Value,
    plan: &Plan<S>,
    head: &str,
    column: Column<'_>,
    subjects: Vec<String>,
    status: &str,
) -> io::Result<()> {
    super::emit(
        io.out,
        args.output,
        || doc.clone(),
        |out| write_table(out, plan, head, column, subjects, status),
    )
}

/// The table's first column title, and the pods already on each subject (node → pod, phase).
type Column<'a> = (&'a str, Vec<(String, (String, String))>);

/// The table: one line per subject (node / NodeImage) with what happens and why, then the
/// actions on other objects (pods of removed nodes, secrets, the job), status, events, requeue.
fn write_table<S>(
    out: &mut dyn Write,
    plan: &Plan<S>,
    head: &str,
    (column, existing): Column<'_>,
    subjects: Vec<String>,
    status: &str,
) -> io::Result<()> {
    writeln!(out, "{head}")?;
    writeln!(out)?;
    let mut rows: BTreeMap<String, Vec<[String; 5]>> =
        subjects.into_iter().map(|s| (s, Vec::new())).collect();
    let mut other: Vec<[String; 5]> = Vec::new();
    for a in &plan.actions {
        let subject = a.object.as_ref().map(|o| (o.kind.as_str(), o.name.clone()));
        let line = |s: &str| {
            [
                s.to_owned(),
                a.pod.clone().unwrap_or_else(|| "-".into()),
                a.kind.name().into(),
                a.reason.kind().into(),
                a.reason.to_string(),
            ]
        };
        match subject {
            Some((kind, name)) if kind == "Node" || kind == "NodeImage" => match rows.get_mut(&name) {
                Some(r) => r.push(line(&name)),
                None => other.push(line(&format!("{kind}/{name}"))),
            },
            Some((kind, name)) => other.push(line(&format!("{kind}/{name}"))),
            None => other.push(line("-")),
        }
    }
    for h in &plan.held {
        let Some(o) = &h.object else { continue };
        let line = [o.name.clone(), "-".into(), "held".into(), h.reason.kind().into(), h.reason.to_string()];
        match rows.get_mut(&o.name) {
            Some(r) => r.push(line),
            None => other.push(line),
        }
    }
    let touched: BTreeSet<&str> = plan.actions.iter().filter_map(|a| a.pod.as_deref()).collect();
    for (node, (pod, phase)) in &existing {
        if touched.contains(pod.as_str()) {
            continue;
        }
        let line = [node.clone(), pod.clone(), format!("unchanged ({phase})"), String::new(), String::new()];
        match rows.get_mut(node) {
            Some(r) => r.push(line),
            None => other.push([
                format!("Node/{node} (not listed)"),
                pod.clone(),
                line[2].clone(),
                String::new(),
                String::new(),
            ]),
        }
    }
    let mut lines = vec![[column, "POD", "WHAT", "REASON", "DETAIL"].map(String::from)];
    for (name, block) in rows {
        if block.is_empty() {
            lines.push([name, "-".into(), "unchanged".into(), String::new(), String::new()]);
        }
        lines.extend(block);
    }
    lines.extend(other);
    write_columns(out, &lines)?;
    writeln!(out)?;
    writeln!(out, "{status}")?;
    for e in &plan.events {
        writeln!(out, "EVENT {} {e}", e.kind())?;
    }
    match &plan.requeue {
        Some(r) => writeln!(out, "REQUEUE after {}s ({})", r.after.as_secs(), r.reason.kind()),
        None => writeln!(out, "REQUEUE none"),
    }
}
