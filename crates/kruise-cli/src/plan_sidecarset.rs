//! `kruise plan` for a SidecarSet (`apps.kruise.io/v1beta1` or `v1alpha1`, SCS-n): the
//! sidecar upgrade planner over the given pods, with the same JSON contract as the other kinds
//! (the plan's `actions`, `held`, `status`, `requeueAfterSeconds`, `requeueReason`, `events`,
//! with `now` and `seed` on top and the `object` of each created revision), and a table with
//! one line per matched pod.
//!
//! `--pods` are all candidate pods (any namespace; the planner keeps those the SidecarSet
//! matches, SCS-40). A SidecarSet with a `namespaceSelector` matches pods of namespaces
//! labelled to match it; this dry-run knows each namespace only by its
//! `kubernetes.io/metadata.name` label.

use std::collections::BTreeMap;
use std::io::{self, Write};

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::any::AnyResource;
use kruise_api::apps::v1beta1::SidecarSet;
use kruise_core::expectations::Expectations;
use kruise_core::plan::ActionKind;
use kruise_core::sidecarset::{self, DEFAULT_REVISION_NAMESPACE, Input, Plan};
use serde_json::Value;

use crate::plan::{
    Args, Current, Failure, Stop, emit, name_of, read_objects, validated, with_writes, write_columns,
};
use crate::{Exit, Io};

/// True when the workload file holds one SidecarSet (either version).
pub(crate) fn is_sidecarset(docs: &[Value]) -> bool {
    matches!(docs, [doc] if doc.get("kind").and_then(Value::as_str) == Some("SidecarSet"))
}

/// The SidecarSet of `doc`, validated, defaulted (hash annotations included) and in the
/// v1beta1 shape.
pub(crate) fn sidecarset_of(file: &str, doc: &Value) -> Result<SidecarSet, Stop> {
    validated(file, doc)?;
    let resource = AnyResource::from_value(doc.clone())
        .map_err(|e| Stop(Exit::Invalid, vec![format!("{file}: {e}")]))?;
    let mut ss = match resource {
        AnyResource::SidecarSetV1alpha1(mut o) => {
            kruise_api::defaults::default(&mut o);
            kruise_api::convert::sidecarset_to_v1beta1(&o)
        }
        AnyResource::SidecarSetV1beta1(o) => o,
        other => {
            return Err(Stop(Exit::Invalid, vec![format!("{file}: {}: not a SidecarSet", other.kind())]));
        }
    };
    kruise_api::defaults::default(&mut ss);
    Ok(ss)
}

/// Namespace name → labels as this dry-run knows them: `kubernetes.io/metadata.name` only.
pub(crate) fn namespaces_of(pods: &[Pod]) -> BTreeMap<String, BTreeMap<String, String>> {
    pods.iter()
        .map(|p| p.metadata.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".into()))
        .map(|ns| (ns.clone(), BTreeMap::from([(kruise_api::keys::NAMESPACE_METADATA_NAME.to_owned(), ns)])))
        .collect()
}

/// Plans and prints one reconcile of the SidecarSet in `docs`.
pub(crate) fn plan(args: &Args, file: &str, docs: &[Value], io: &mut Io<'_>) -> Result<(), Failure> {
    let [doc] = docs else {
        return Err(Stop(Exit::Invalid, vec![format!("{file}: expected exactly one SidecarSet")]).into());
    };
    let ss = sidecarset_of(file, doc)?;
    let pods: Vec<Pod> = read_objects(args.pods.as_ref(), "Pod", io)?;
    let revisions: Vec<ControllerRevision> = read_objects(args.revisions.as_ref(), "ControllerRevision", io)?;
    let name = name_of(&ss.metadata);
    let revisions: Vec<ControllerRevision> = revisions
        .into_iter()
        .filter(|r| {
            r.metadata.labels.as_ref().and_then(|l| l.get(kruise_api::keys::SIDECARSET_NAME_LABEL))
                == Some(&name)
        })
        .collect();
    let namespaces = namespaces_of(&pods);
    let now = args.now.unwrap_or_else(jiff::Timestamp::now);
    let expectations = Expectations::default();
    let input = Input {
        sidecarset: &ss,
        pods: &pods,
        namespaces: &namespaces,
        revisions: &revisions,
        revision_namespace: DEFAULT_REVISION_NAMESPACE,
        now,
        expectations: &expectations,
    };
    let plan = sidecarset::plan(&input)
        .map_err(|e| Stop(Exit::Invalid, vec![format!("{file}: SidecarSet/{name}: {e}")]))?;
    emit(
        io.out,
        args.output,
        || document(&input, &plan, args.seed),
        |out| write_table(out, &input, &plan, args.seed),
    )?;
    Ok(())
}

/// The `-o json` / `-o yaml` document: the plan's own serialization with `now` and `seed` on
/// top and, on each action, what its writes carry (the JSON contract of every kind: `object`
/// for a create, `patch` / `statusPatch` for what a patch changes on the listed object).
pub fn document(input: &Input<'_>, plan: &Plan, seed: u64) -> Value {
    let ss = input.sidecarset;
    let current = Current::new(
        input.pods,
        &[],
        input.revisions,
        ("SidecarSet", &ss.metadata, serde_json::to_value(ss).unwrap_or_default()),
    );
    with_writes(input.now, seed, plan, &current, |single| sidecarset::reconcile::writes(input, single))
}

fn verb(kind: &ActionKind) -> String {
    match kind {
        ActionKind::SidecarSet(kruise_core::plan::SidecarSetAction::SetSidecarImages { images, .. }) => {
            let list: Vec<String> = images.iter().map(|(c, i)| format!("{c}={i}")).collect();
            format!("set images {}", list.join(","))
        }
        ActionKind::UpdatePodStatus { condition } => {
            format!("condition {}={}", condition.type_, condition.status)
        }
        other => other.name().to_owned(),
    }
}

/// The table: one line per action or hold on a pod, then revisions, status, events, requeue.
fn write_table(out: &mut dyn Write, input: &Input<'_>, plan: &Plan, seed: u64) -> io::Result<()> {
    let ss = input.sidecarset;
    writeln!(out, "SidecarSet {} at {} (seed {seed})", name_of(&ss.metadata), input.now)?;
    writeln!(out)?;
    let mut lines = vec![["POD", "WHAT", "REASON", "DETAIL"].map(String::from)];
    for a in plan.actions.iter().filter(|a| a.pod.is_some()) {
        lines.push([
            a.pod.clone().unwrap_or_default(),
            verb(&a.kind),
            a.reason.kind().into(),
            a.reason.to_string(),
        ]);
    }
    for h in &plan.held {
        lines.push([
            h.pod.clone().unwrap_or_default(),
            "held".into(),
            h.reason.kind().into(),
            h.reason.to_string(),
        ]);
    }
    write_columns(out, &lines)?;
    writeln!(out)?;
    for a in plan.actions.iter().filter(|a| a.pod.is_none() && a.revision.is_some()) {
        writeln!(
            out,
            "REVISION {} {} ({})",
            a.revision.as_deref().unwrap_or_default(),
            a.kind.name(),
            a.reason.kind()
        )?;
    }
    let st = &plan.status;
    writeln!(
        out,
        "STATUS matched={} updated={} ready={} updatedReady={} latestRevision={}",
        st.matched_pods, st.updated_pods, st.ready_pods, st.updated_ready_pods, st.latest_revision
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
