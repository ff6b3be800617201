//! `kruise plan` for an Advanced StatefulSet (`apps.kruise.io/v1beta1` or `v1alpha1`): the same
//! inputs, JSON contract and table layout as for a CloneSet (see [`crate::plan`]). The
//! workload is validated and defaulted like `kruise validate` does, converted to v1beta1, and
//! planned with `--feature-gates` (the StatefulSet gates among them: `StatefulSetStartOrdinal`,
//! `StatefulSetAutoDeletePVC`, `StatefulSetAutoResizePVCGate`, `PodIndexLabel`, upstream's
//! defaults otherwise); `--pods`, `--revisions`, `--pvcs` keep the objects
//! that belong to the set.
//!
//! JSON document: the planner's serialization of the plan (`actions`, `held`, `status`,
//! `requeueAfterSeconds`, `requeueReason`) with `now` and `seed` at the top and, on each
//! action, what would be sent (`object`, `patch`, `statusPatch`), as for a CloneSet.

use std::collections::BTreeMap;
use std::io::{self, Write};

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kruise_api::any::AnyResource;
use kruise_api::apps::v1beta1::StatefulSet;
use kruise_core::expectations::Expectations;
use kruise_core::plan::ActionKind;
use kruise_core::statefulset::{self, Input, Plan};
use serde_json::Value;

use crate::plan::{
    Args, Current, Failure, Ownership, Stop, emit, name_of, validated, verb, with_writes, write_columns,
    write_revisions,
};
use crate::{Exit, Io};

/// True when the workload file holds one StatefulSet (either version).
pub(crate) fn is_statefulset(docs: &[Value]) -> bool {
    matches!(docs, [doc] if doc.get("kind").and_then(Value::as_str) == Some("StatefulSet")
        && doc.get("apiVersion").and_then(Value::as_str).is_some_and(|v| v.starts_with("apps.kruise.io/")))
}

/// Plans and prints one pass of the StatefulSet in `docs` (see the module doc).
pub(crate) fn plan(args: &Args, file: &str, docs: &[Value], io: &mut Io<'_>) -> Result<(), Failure> {
    let set = read_workload(file, docs)?;
    let own = Ownership::workload("StatefulSet", &set.metadata, set.spec.selector.as_ref());
    let mut notes = Vec::new();
    let pods: Vec<Pod> = args.objects(args.pods.as_ref(), "Pod", &own, io.stdin, &mut notes)?;
    let revisions: Vec<ControllerRevision> =
        args.objects(args.revisions.as_ref(), "ControllerRevision", &own, io.stdin, &mut notes)?;
    let pvcs: Vec<PersistentVolumeClaim> =
        args.objects(args.pvcs.as_ref(), "PersistentVolumeClaim", &own, io.stdin, &mut notes)?;
    let features = kruise_core::features::Features::default()
        .with_gates(&args.feature_gates)
        .map_err(|e| Failure::Input(Stop(Exit::Error, vec![format!("kruise plan: --feature-gates: {e}")])))?;
    let now = args.now.unwrap_or_else(jiff::Timestamp::now);
    let expectations = Expectations::default();
    let input = Input {
        statefulset: &set,
        pods: (&pods).into(),
        pvcs: &pvcs,
        revisions: &revisions,
        storage_classes: &[],
        now,
        features,
        gates: (&features).into(),
        expectations: &expectations,
    };
    let mut plan = statefulset::plan(&input).map_err(|e| {
        Stop(Exit::Invalid, vec![format!("{file}: StatefulSet/{}: {e}", name_of(&set.metadata))])
    })?;
    // IPJ-40..IPJ-42 (gate PreDownloadImageForInPlaceUpdate): after the plan's own actions.
    let jobs: Vec<kruise_api::apps::v1beta1::ImagePullJob> =
        args.objects(args.jobs.as_ref(), "ImagePullJob", &own, io.stdin, &mut notes)?;
    plan.actions.extend(statefulset::predownload::actions(&input, &jobs));
    for note in notes {
        writeln!(io.err, "{note}")?;
    }
    emit(
        io.out,
        args.output,
        || document(&input, &plan, args.seed),
        |out| write_table(out, &input, &plan, args.seed),
    )?;
    Ok(())
}

/// The one StatefulSet of `file`, validated, defaulted and in the v1beta1 shape.
fn read_workload(file: &str, docs: &[Value]) -> Result<StatefulSet, Stop> {
    let [doc] = docs else {
        return Err(Stop(
            Exit::Invalid,
            vec![format!("{file}: expected exactly one workload, found {} objects", docs.len())],
        ));
    };
    validated(file, doc)?;
    let resource = AnyResource::from_value(doc.clone())
        .map_err(|e| Stop(Exit::Invalid, vec![format!("{file}: {e}")]))?;
    let mut set = match resource {
        AnyResource::StatefulSetV1alpha1(mut o) => {
            kruise_api::defaults::default(&mut o);
            kruise_api::convert::statefulset_to_v1beta1(&o)
        }
        AnyResource::StatefulSetV1beta1(o) => o,
        other => {
            return Err(Stop(
                Exit::Invalid,
                vec![format!("{file}: {}: not an Advanced StatefulSet", other.kind())],
            ));
        }
    };
    kruise_api::defaults::default(&mut set);
    Ok(set)
}

/// The `-o json` / `-o yaml` document: the CloneSet contract ([`crate::plan::Document`]),
/// with what each action would send built by the StatefulSet's writer.
fn document(input: &Input<'_>, plan: &Plan, seed: u64) -> Value {
    let set = input.statefulset;
    let current = Current::new(
        input.pods,
        input.pvcs,
        input.revisions,
        ("StatefulSet", &set.metadata, serde_json::to_value(set).unwrap_or_default()),
    );
    with_writes(input.now, seed, plan, &current, |single| statefulset::reconcile::writes(input, single))
}

/// One line about a pod: what happens, the reason kind, its detail.
type Row = [String; 3];

/// The table: one block of pods (listed and to create) with what happens to each and why,
/// revisions with their role, the status line, other writes and the requeue.
fn write_table(out: &mut dyn Write, input: &Input<'_>, plan: &Plan, seed: u64) -> io::Result<()> {
    let set = input.statefulset;
    writeln!(
        out,
        "StatefulSet {}/{} at {} (seed {seed})",
        set.metadata.namespace.as_deref().unwrap_or("default"),
        name_of(&set.metadata),
        input.now
    )?;
    writeln!(out)?;
    // Pods by ordinal, then name.
    let key = |n: &str| (statefulset::parse_ordinal(n).1, n.to_owned());
    let mut rows: BTreeMap<(i32, String), (String, Vec<Row>)> = BTreeMap::new();
    for p in input.pods {
        let name = name_of(&p.metadata);
        let rev = p
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(kruise_api::keys::CONTROLLER_REVISION_HASH))
            .cloned()
            .unwrap_or_else(|| "-".into());
        rows.entry(key(&name)).or_insert((rev, Vec::new()));
    }
    let mut other = Vec::new();
    for a in &plan.actions {
        let Some(pod) = &a.pod else {
            if !matches!(
                a.kind,
                ActionKind::CreateRevision { .. }
                    | ActionKind::UpdateRevision { .. }
                    | ActionKind::DeleteRevision
            ) {
                other.push(format!("{} ({})", a.kind.name(), a.reason.kind()));
            }
            continue;
        };
        let row = rows
            .entry(key(pod))
            .or_insert_with(|| (a.revision.clone().unwrap_or_else(|| "-".into()), Vec::new()));
        let what = match (&a.kind, a.revision.as_deref()) {
            (ActionKind::UpdateInPlace { .. }, Some(to)) => format!("update in place to {to}"),
            (ActionKind::UpdatePodStatus { condition }, _) => {
                format!("write status {}={}", condition.type_, condition.status)
            }
            (ActionKind::CreatePvc { pvc }, _) => format!("create PVC {pvc}"),
            (ActionKind::UpdatePvc { pvc }, _) => format!("update PVC {pvc}"),
            (ActionKind::DeletePvc { pvc }, _) => format!("delete PVC {pvc}"),
            _ => verb(&a.kind, &a.reason).to_owned(),
        };
        row.1.push([what, a.reason.kind().to_owned(), a.reason.to_string()]);
    }
    for h in &plan.held {
        let Some(pod) = &h.pod else { continue };
        let row = rows.entry(key(pod)).or_insert_with(|| ("-".into(), Vec::new()));
        row.1.push(["held".into(), h.reason.kind().to_owned(), h.reason.to_string()]);
    }
    let mut lines =
        vec![["POD".to_owned(), "REVISION".into(), "WHAT".into(), "REASON".into(), "DETAIL".into()]];
    for ((_, pod), (rev, whats)) in &rows {
        if whats.is_empty() {
            lines.push([pod.clone(), rev.clone(), "unchanged".into(), String::new(), String::new()]);
        }
        for (i, [what, reason, detail]) in whats.iter().enumerate() {
            let (p, r) = if i == 0 { (pod.clone(), rev.clone()) } else { (String::new(), String::new()) };
            lines.push([p, r, what.clone(), reason.clone(), detail.clone()]);
        }
    }
    write_columns(out, &lines)?;
    writeln!(out)?;
    let mut revs: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for r in input.revisions {
        revs.insert(name_of(&r.metadata), (r.revision.to_string(), Vec::new()));
    }
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
            _ => {}
        }
    }
    let st = &plan.status;
    write_revisions(out, &revs, &st.current_revision, &st.update_revision)?;
    writeln!(out)?;
    writeln!(
        out,
        "STATUS replicas={} ready={} available={} current={} updated={} updatedReady={} updatedAvailable={}",
        st.replicas,
        st.ready_replicas,
        st.available_replicas,
        st.current_replicas,
        st.updated_replicas,
        st.updated_ready_replicas,
        st.updated_available_replicas,
    )?;
    for c in &st.conditions {
        writeln!(out, "CONDITION {}={} {}", c.type_, c.status, c.message.as_deref().unwrap_or_default())?;
    }
    for o in other {
        writeln!(out, "WRITE {o}")?;
    }
    match &plan.requeue {
        Some(r) => writeln!(out, "REQUEUE after {}s ({})", r.after.as_secs(), r.reason.kind()),
        None => writeln!(out, "REQUEUE none"),
    }
}
