//! A minimal controller of one's own, embedding the kruise-kube adapter.
//!
//! `OwnerLabeler` is a tiny planner: it makes every pod a CloneSet owns carry the label
//! `example.com/cloneset=<name>`, one resourceVersion-guarded merge patch per pod. The adapter
//! does the rest: reflector caches, ownership and adoption filtering, expectations (a pod just
//! patched is not patched again until the cache shows the patch), events, metrics, backoff.
//! Swap in `kruise_core::cloneset::CloneSetReconciler` to run the real CloneSet planner the
//! same way.
//!
//! ```text
//! cargo run -p kruise-kube --example embed_controller -- my-namespace
//! ```

use std::sync::Arc;

use kruise_api::apps::v1beta1::CloneSet;
use kruise_core::plan::{Action, ActionKind, PodPatch, Reason};
use kruise_core::reconciler::{Context, Outcome, PlannedWrite, ReconcileError, Reconciler, World};
use kruise_core::write::{ApiWrite, Subresource, Target};
use kruise_kube::controller::{self, RunConfig};
use kruise_kube::http::{Health, HttpServer};
use kruise_kube::metrics::Metrics;
use serde_json::json;

const LABEL: &str = "example.com/cloneset";

/// Labels every owned pod with its CloneSet's name.
struct OwnerLabeler;

impl Reconciler for OwnerLabeler {
    type Workload = CloneSet;

    fn reconcile(&self, world: &World<'_, CloneSet>, ctx: &Context<'_>) -> Result<Outcome, ReconcileError> {
        let mut out = Outcome::default();
        // Our own earlier patches not yet in the cache: wait for them (CS-88).
        if !ctx.expectations.resource_versions.is_empty() {
            return Ok(out);
        }
        let cs_name = world.workload.metadata.name.clone().unwrap_or_default();
        for pod in world.pods {
            let (Some(ns), Some(name)) = (&pod.metadata.namespace, &pod.metadata.name) else { continue };
            let has = pod.metadata.labels.as_ref().and_then(|l| l.get(LABEL)) == Some(&cs_name);
            if has || pod.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let patch =
                PodPatch { labels: [(LABEL.to_owned(), Some(cs_name.clone()))].into(), ..Default::default() };
            out.writes.push(PlannedWrite {
                action: Action::new(ActionKind::PatchPod { patch }, Some(name), None, Reason::Claim),
                write: ApiWrite::MergePatch {
                    target: Target::pod(ns, name),
                    subresource: Subresource::Main,
                    patch: json!({"metadata": {
                        "resourceVersion": pod.metadata.resource_version,
                        "labels": {LABEL: cs_name}
                    }}),
                },
            });
        }
        Ok(out)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("info").init();
    let client = kube::Client::try_default().await?;
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::default());

    // Health, readiness and Prometheus metrics on :8080.
    let server = HttpServer::new(health.clone(), metrics.clone());
    tokio::spawn(server.serve(([127, 0, 0, 1], 8080).into(), std::future::pending()));

    let config = RunConfig { namespace: std::env::args().nth(1), ..RunConfig::new("owner-labeler") };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    controller::run(client, OwnerLabeler, config, metrics, health, None, shutdown).await;
    Ok(())
}
