//! `kruise plan` for an Advanced DaemonSet (ADS-n): the same inputs as for a CloneSet plus
//! `--nodes` (`kubectl get nodes -o json`), the same JSON document (`actions`, `held`,
//! `status`, `requeueAfterSeconds`, `requeueReason`, `events`, with `now` and `seed` on top
//! and, on each action, what would be sent: `object`, `patch`, `statusPatch`), and a table with one line per node: the node,
//! its pod, what happens and why.

use std::collections::BTreeMap;
use std::io::{self, Write};

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Node, Pod};
use kruise_api::any::AnyResource;

use crate::plan::{emit, read_objects};
use kruise_api::apps::v1beta1::DaemonSet;
use kruise_core::daemonset::{self, Input, Plan};
use kruise_core::expectations::Expectations;
use kruise_core::features::Features;
use kruise_core::nodetable::NodeTable;
use kruise_core::plan::ActionKind;
use serde_json::Value;

use super::{Args, Current, Failure, Stop, name_of, with_writes, write_columns};
use crate::{Exit, Io};

/// The DaemonSet of `doc` (already validated), defaulted and in the v1beta1 shape; `None`
/// when `doc` is not an Advanced DaemonSet.
pub(super) fn daemonset_of(file: &str, doc: &Value) -> Result<Option<DaemonSet>, Stop> {
    let resource = AnyResource::from_value(doc.clone())
        .map_err(|e| Stop(Exit::Invalid, vec![format!("{file}: {e}")]))?;
    let mut ds = match resource {
        AnyResource::DaemonSetV1alpha1(mut o) => {
            kruise_api::defaults::default(&mut o);
            kruise_api::convert::daemonset_to_v1beta1(&o)
        }
        AnyResource::DaemonSetV1beta1(o) => o,
        _ => return Ok(None),
    };
    kruise_api::defaults::default(&mut ds);
    Ok(Some(ds))
}

/// Plans one pass of `ds` and prints it.
pub(super) fn run(args: &Args, ds: &DaemonSet, io: &mut Io<'_>) -> Result<(), Failure> {
    let file = args.workload.display().to_string();
    let pods: Vec<Pod> = read_objects(args.pods.as_ref(), "Pod", io)?;
    let revisions: Vec<ControllerRevision> = read_objects(args.revisions.as_ref(), "ControllerRevision", io)?;
    let nodes: Vec<Node> = read_objects(args.nodes.as_ref(), "Node", io)?;
    let table = NodeTable::from_nodes(&nodes).map_err(|e| {
        Stop(
            Exit::Error,
            vec![format!("{}: {e}", args.nodes.as_ref().map_or(String::new(), |p| p.display().to_string()))],
        )
    })?;
    let features = Features::default()
        .with_gates(&args.feature_gates)
        .map_err(|e| Failure::Input(Stop(Exit::Error, vec![format!("kruise plan: --feature-gates: {e}")])))?;
    let jobs: Vec<kruise_api::apps::v1beta1::ImagePullJob> =
        read_objects(args.jobs.as_ref(), "ImagePullJob", io)?;
    let now = args.now.unwrap_or_else(jiff::Timestamp::now);
    let expectations = Expectations::default();
    let backoff = BTreeMap::new();
    let input = Input {
        daemonset: ds,
        pods: (&pods).into(),
        nodes: &table,
        revisions: &revisions,
        now,
        id_seed: args.seed,
        features,
        expectations: &expectations,
        failed_pod_backoff: &backoff,
        bind_pods: false,
    };
    let mut plan = daemonset::plan(&input).map_err(|e| {
        Stop(Exit::Invalid, vec![format!("{file}: DaemonSet/{}: {e}", name_of(&ds.metadata))])
    })?;
    // IPJ-40..IPJ-42 (gate PreDownloadImageForDaemonSetUpdate): after the plan's own actions;
    // `--jobs`: the ImagePullJobs the DaemonSet controls.
    let uid = ds.metadata.uid.as_deref();
    let jobs: Vec<_> = jobs
        .into_iter()
        .filter(|j| {
            j.metadata.owner_references.iter().flatten().any(|r| {
                r.controller == Some(true)
                    && (uid == Some(r.uid.as_str())
                        || (r.kind == "DaemonSet" && Some(&r.name) == ds.metadata.name.as_ref()))
            })
        })
        .collect();
    plan.actions.extend(daemonset::predownload::actions(&input, &jobs));
    emit(
        io.out,
        args.output,
        || document(&input, &plan, args.seed),
        |out| write_table(out, &input, &plan, args.seed),
    )?;
    Ok(())
}

/// The `-o json` / `-o yaml` document: the CloneSet contract ([`super::Document`]), with what
/// each action would send (`object`, `patch`, `statusPatch`) built by the DaemonSet's writer.
pub fn document(input: &Input<'_>, plan: &Plan, seed: u64) -> Value {
    let ds = input.daemonset;
    let current = Current::new(
        input.pods,
        &[],
        input.revisions,
        ("DaemonSet", &ds.metadata, serde_json::to_value(ds).unwrap_or_default()),
    );
    with_writes(input.now, seed, plan, &current, |single| daemonset::reconcile::writes(input, single))
}

/// What an action does to a pod, in words.
fn verb(kind: &ActionKind) -> &'static str {
    match kind {
        ActionKind::CreatePod { .. } => "create",
        ActionKind::DeletePod => "delete",
        ActionKind::UpdateInPlace { .. } => "update in place",
        ActionKind::PatchPod { .. } => "patch",
        ActionKind::UpdatePodStatus { .. } => "write status",
        ActionKind::ApplyNextBatch => "next in-place batch",
        _ => "other",
    }
}

/// The table: one block of lines per node (node, pod, revision hash, what, reason, detail),
/// then pods on nodes that are not listed, revisions, status, events and requeue.
fn write_table(out: &mut dyn Write, input: &Input<'_>, plan: &Plan, seed: u64) -> io::Result<()> {
    let ds = input.daemonset;
    writeln!(
        out,
        "DaemonSet {}/{} at {} (seed {seed})",
        ds.metadata.namespace.as_deref().unwrap_or("default"),
        name_of(&ds.metadata),
        input.now
    )?;
    writeln!(out)?;
    type Line = [String; 6];
    let hash_of = |p: &Pod| {
        p.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(kruise_api::keys::CONTROLLER_REVISION_HASH))
            .cloned()
            .unwrap_or_else(|| "-".into())
    };
    // Per node: listed pods (name → hash), then the lines of actions and holds.
    let mut nodes: BTreeMap<String, Vec<Line>> = BTreeMap::new();
    for n in input.nodes.iter() {
        nodes.insert(n.name.clone(), Vec::new());
    }
    let pod_node: BTreeMap<String, String> = input
        .pods
        .iter()
        .filter_map(|p| Some((name_of(&p.metadata), daemonset::target_node(p)?.to_owned())))
        .collect();
    let mut touched: BTreeMap<String, bool> = BTreeMap::new();
    let mut push = |node: &str, line: Line| nodes.entry(node.to_owned()).or_default().push(line);
    for a in &plan.actions {
        let Some(pod) = &a.pod else { continue };
        let node = a.object.as_ref().map(|o| o.name.clone()).or_else(|| pod_node.get(pod).cloned());
        let Some(node) = node else { continue };
        let rev = match &a.kind {
            ActionKind::CreatePod { .. } => plan.status.update_revision.clone(),
            _ => input
                .pods
                .iter()
                .find(|p| p.metadata.name.as_deref() == Some(pod))
                .map_or("-".into(), hash_of),
        };
        touched.insert(pod.clone(), true);
        push(
            &node,
            [
                node.clone(),
                pod.clone(),
                rev,
                verb(&a.kind).into(),
                a.reason.kind().into(),
                a.reason.to_string(),
            ],
        );
    }
    for h in &plan.held {
        let (node, pod) = match (&h.pod, &h.object) {
            (Some(pod), _) => (pod_node.get(pod).cloned().unwrap_or_default(), pod.clone()),
            (None, Some(o)) => (o.name.clone(), "-".into()),
            _ => continue,
        };
        let rev =
            input.pods.iter().find(|p| p.metadata.name.as_deref() == Some(&pod)).map_or("-".into(), hash_of);
        touched.insert(pod.clone(), true);
        push(&node, [node.clone(), pod, rev, "held".into(), h.reason.kind().into(), h.reason.to_string()]);
    }
    for p in input.pods {
        let name = name_of(&p.metadata);
        if touched.contains_key(&name) {
            continue;
        }
        let Some(node) = pod_node.get(&name) else { continue };
        let word = if p.metadata.deletion_timestamp.is_some() { "terminating" } else { "unchanged" };
        push(node, [node.clone(), name, hash_of(p), word.into(), String::new(), String::new()]);
    }
    let mut lines: Vec<Line> =
        vec![["NODE", "POD", "REVISION", "WHAT", "REASON", "DETAIL"].map(String::from)];
    for (node, mut block) in nodes {
        if block.is_empty() {
            block.push([node.clone(), "-".into(), "-".into(), "no pod".into(), String::new(), String::new()]);
        }
        block.sort_by(|a, b| a[1].cmp(&b[1]).then_with(|| a[3].cmp(&b[3])));
        for (i, mut l) in block.into_iter().enumerate() {
            if i > 0 {
                l[0] = String::new();
            }
            lines.push(l);
        }
    }
    write_columns(out, &lines)?;
    writeln!(out)?;
    let mut revs = vec![["REVISION", "NUMBER", "WHAT"].map(String::from)];
    let mut listed: BTreeMap<String, (String, Vec<String>)> = input
        .revisions
        .iter()
        .map(|r| (name_of(&r.metadata), (r.revision.to_string(), Vec::new())))
        .collect();
    for a in &plan.actions {
        let Some(r) = &a.revision else { continue };
        if a.pod.is_some() {
            continue;
        }
        let e = listed.entry(r.clone()).or_insert_with(|| ("-".into(), Vec::new()));
        if let ActionKind::CreateRevision { number, .. } | ActionKind::UpdateRevision { number } = &a.kind {
            e.0 = number.to_string();
        }
        e.1.push(format!("{} ({})", a.kind.name(), a.reason.kind()));
    }
    for (name, (number, whats)) in listed {
        let what = if whats.is_empty() { "unchanged".to_owned() } else { whats.join(", ") };
        revs.push([name, number, what]);
    }
    write_columns(out, &revs)?;
    writeln!(out)?;
    let st = &plan.status;
    writeln!(
        out,
        "STATUS desired={} current={} ready={} available={} updated={} misscheduled={} updateRevision={}",
        st.desired_number_scheduled,
        st.current_number_scheduled,
        st.number_ready,
        st.number_available,
        st.updated_number_scheduled,
        st.number_misscheduled,
        st.update_revision,
    )?;
    if plan.actions.iter().any(|a| a.kind == ActionKind::UpdateStatus) {
        writeln!(out, "WRITE UpdateStatus (StatusChanged)")?;
    }
    for e in &plan.events {
        writeln!(out, "EVENT {} {e}", e.kind())?;
    }
    match &plan.requeue {
        Some(r) => writeln!(out, "REQUEUE after {}s ({})", r.after.as_secs(), r.reason.kind()),
        None => writeln!(out, "REQUEUE none"),
    }
}
