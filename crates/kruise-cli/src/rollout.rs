//! `kruise rollout status|approve`: a Rollout's step, batch, holds and traffic split as a
//! table, and the status patch that passes a manual pause (RO-32).
//!
//! - `status --workload ROLLOUT [--target W] [--pods P] [--routes R] [--batch-release BR]`:
//!   with a target the planner runs (as `kruise plan` would) and its held reasons are shown;
//!   without one the stored status is shown.
//! - `approve --workload ROLLOUT`: prints the JSON merge patch for the status subresource
//!   (`currentStepState: StepReady` in the sub-status) and, on stderr, the kubectl command
//!   that applies it; exit 1 unless the Rollout waits in `StepPaused` (as `kubectl-kruise
//!   rollout approve` refuses).

use std::io::{self, Write};
use std::path::PathBuf;

use jiff::Timestamp;
use serde_json::Value;

use kruise_core::rollout::types::subject_name;

use crate::plan::{Stop, read_docs};
use crate::plan_rollout::{Loaded, load, plan};
use crate::{Exit, Io, Run};

/// Inspect a Rollout offline.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

/// The `kruise rollout` subcommands.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// The step, the batch, what is held and why, and the traffic split.
    Status(StatusArgs),
    /// Print the status patch that approves the current manual pause.
    Approve(ApproveArgs),
}

/// `kruise rollout status`.
#[derive(Debug, clap::Args)]
struct StatusArgs {
    /// The Rollout (v1alpha1 or v1beta1, with its status).
    #[arg(long, value_name = "FILE")]
    workload: PathBuf,
    /// The workload it releases; with it the planner runs and explains what is held.
    #[arg(long, value_name = "FILE")]
    target: Option<PathBuf>,
    /// The workload's pods.
    #[arg(long, value_name = "FILE")]
    pods: Option<PathBuf>,
    /// Services, HTTPRoutes, Ingresses, a shared TrafficRouting.
    #[arg(long, value_name = "FILE")]
    routes: Option<PathBuf>,
    /// The BatchRelease named like the Rollout.
    #[arg(long, value_name = "FILE")]
    batch_release: Option<PathBuf>,
    /// The planner's clock (RFC 3339). Default: the current time.
    #[arg(long, value_name = "RFC3339")]
    now: Option<Timestamp>,
}

/// `kruise rollout approve`.
#[derive(Debug, clap::Args)]
struct ApproveArgs {
    /// The Rollout (v1alpha1 or v1beta1, with its status).
    #[arg(long, value_name = "FILE")]
    workload: PathBuf,
}

impl Run for Args {
    fn run(&self, io: &mut Io<'_>) -> io::Result<Exit> {
        let result = match &self.command {
            Command::Status(a) => status(a, io),
            Command::Approve(a) => approve(a, io),
        };
        match result {
            Ok(Ok(())) => Ok(Exit::Ok),
            Ok(Err(Stop(exit, lines))) => {
                for l in lines {
                    writeln!(io.err, "{l}")?;
                }
                Ok(exit)
            }
            Err(e) => Err(e),
        }
    }
}

fn status(a: &StatusArgs, io: &mut Io<'_>) -> io::Result<Result<(), Stop>> {
    let loaded = match load(
        &a.workload,
        a.target.as_ref(),
        a.pods.as_ref(),
        a.routes.as_ref(),
        a.batch_release.as_ref(),
        io.stdin,
    ) {
        Ok(l) => l,
        Err(s) => return Ok(Err(s)),
    };
    let now = a.now.unwrap_or_else(Timestamp::now);
    let held: Vec<(String, String)> = if loaded.workload.is_some() {
        match plan(&a.workload.display().to_string(), &loaded, now) {
            Ok(p) => p
                .held
                .iter()
                .map(|h| {
                    let subject =
                        h.pod.clone().or_else(|| h.object.as_deref().map(subject_name)).unwrap_or_default();
                    (subject, format!("{}: {}", h.reason.kind(), h.reason))
                })
                .collect(),
            Err(s) => return Ok(Err(s)),
        }
    } else {
        Vec::new()
    };
    write_status(io.out, &loaded, &held)?;
    Ok(Ok(()))
}

/// The status table.
fn write_status(out: &mut dyn Write, l: &Loaded, held: &[(String, String)]) -> io::Result<()> {
    let r = &l.rollout;
    let st = r.status.clone().unwrap_or_default();
    let sub = st.sub_status().cloned().unwrap_or_default();
    let steps = r.spec.strategy.steps();
    let rows: Vec<(String, String)> = {
        let mut v = vec![
            ("phase".to_owned(), if st.phase.is_empty() { "-".to_owned() } else { st.phase.clone() }),
            (
                "step".to_owned(),
                format!(
                    "{}/{} {} (next {})",
                    sub.current_step_index,
                    steps.len(),
                    sub.current_step_state,
                    sub.next_step_index
                ),
            ),
        ];
        if let Some(step) = usize::try_from(sub.current_step_index - 1).ok().and_then(|i| steps.get(i)) {
            let replicas = match &step.replicas {
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n)) => n.to_string(),
                Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s)) => s.clone(),
                None => "-".into(),
            };
            let pause = step.pause.duration.map_or("manual approval".to_owned(), |d| format!("{d}s"));
            v.push((
                "plan".into(),
                format!(
                    "replicas {replicas}, traffic {}, pause {pause}",
                    step.traffic.as_deref().unwrap_or("-")
                ),
            ));
        }
        match &l.batch_release {
            Some(br) => {
                let b = br.status.clone().unwrap_or_default();
                v.push((
                    "batch".into(),
                    format!(
                        "{} of {} {} ({} updated, {} ready; BatchRelease {})",
                        b.canary_status.current_batch + 1,
                        br.spec.release_plan.batches.len(),
                        if b.canary_status.batch_state.is_empty() {
                            "-"
                        } else {
                            &b.canary_status.batch_state
                        },
                        b.canary_status.updated_replicas,
                        b.canary_status.updated_ready_replicas,
                        if b.phase.is_empty() { "-" } else { &b.phase },
                    ),
                ));
            }
            None => {
                if let Some(c) = &st.canary_status {
                    v.push((
                        "batch".into(),
                        format!("{} canary, {} ready", c.canary_replicas, c.canary_ready_replicas),
                    ));
                }
            }
        }
        match l.weight() {
            Some(w) => v.push(("traffic".into(), format!("canary {w}% / stable {}%", 100 - w))),
            None if r.spec.strategy.traffic_routings().is_empty() => {
                v.push(("traffic".into(), "no traffic routing".into()))
            }
            None => v.push(("traffic".into(), "(no HTTPRoute listed)".into())),
        }
        for (object, why) in held {
            v.push(("held".into(), format!("{object}: {why}")));
        }
        let msg = if sub.message.is_empty() { &st.message } else { &sub.message };
        if !msg.is_empty() {
            v.push(("message".into(), msg.clone()));
        }
        v
    };
    writeln!(
        out,
        "Rollout {}/{}",
        r.metadata.namespace.as_deref().unwrap_or("default"),
        r.metadata.name.as_deref().unwrap_or("(unnamed)")
    )?;
    for (k, v) in rows {
        writeln!(out, "{k:<8} {v}")?;
    }
    Ok(())
}

/// RO-32: the approval patch (one home: [`kruise_core::rollout::approval_patch`]).
pub use kruise_core::rollout::approval_patch;

fn approve(a: &ApproveArgs, io: &mut Io<'_>) -> io::Result<Result<(), Stop>> {
    let shown = a.workload.display().to_string();
    let docs = match read_docs(&shown, io.stdin) {
        Ok(d) => d,
        Err(s) => return Ok(Err(s)),
    };
    let [doc] = docs.as_slice() else {
        return Ok(Err(Stop(
            Exit::Invalid,
            vec![format!("{shown}: expected exactly one Rollout, found {} objects", docs.len())],
        )));
    };
    if doc.get("kind").and_then(Value::as_str) != Some("Rollout") {
        return Ok(Err(Stop(Exit::Invalid, vec![format!("{shown}: not a Rollout")])));
    }
    match approval_patch(doc) {
        Ok(patch) => {
            let name = doc.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("(unnamed)");
            serde_json::to_writer(&mut *io.out, &patch).map_err(io::Error::from)?;
            writeln!(io.out)?;
            writeln!(
                io.err,
                "apply with: kubectl patch rollout {name} --subresource=status --type=merge -p '{patch}'"
            )?;
            Ok(Ok(()))
        }
        Err(why) => Ok(Err(Stop(Exit::Invalid, vec![format!("{shown}: {why}")]))),
    }
}
