//! `kruise-operator`: runs the kruise-rs planners against a cluster, one kube-runtime
//! controller per workload kind, behind a Lease-based leader election, with `/healthz`,
//! `/readyz` and `/metrics` on a small HTTP server.

use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use kruise_core::Features;
use kruise_kube::controller::{self, RunConfig};
use kruise_kube::http::{Health, HttpServer};
use kruise_kube::leader::{LeaderElector, LeaseConfig};
use kruise_kube::metrics::Metrics;
use kube::runtime::events::Reporter;
use tokio::sync::watch;

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Workload controllers this binary can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
enum Kind {
    /// `apps.kruise.io` CloneSet, at the version `--cloneset-version` names.
    Cloneset,
    /// `apps.kruise.io/v1beta1` Advanced StatefulSet (the version the CRD stores), with its
    /// PVCs.
    Statefulset,
    /// `apps.kruise.io/v1alpha1` Advanced DaemonSet (the only version the CRD serves),
    /// watching nodes.
    Daemonset,
}

impl Kind {
    /// The `kind` of the objects this controller reconciles.
    fn crd_kind(self) -> &'static str {
        match self {
            Kind::Cloneset => "CloneSet",
            Kind::Statefulset => "StatefulSet",
            Kind::Daemonset => "DaemonSet",
        }
    }
}

/// Every kind `kruise crds` installs.
const INSTALLED_KINDS: &[&str] = &[
    "CloneSet",
    "StatefulSet",
    "DaemonSet",
    "SidecarSet",
    "BroadcastJob",
    "ImagePullJob",
    "NodeImage",
    "Rollout",
];

/// The installed kinds that none of `kinds` reconciles (issue 11 item 15: said once at start,
/// so that objects of those kinds are not silently ignored).
fn unreconciled_kinds(kinds: &[Kind]) -> Vec<&'static str> {
    INSTALLED_KINDS.iter().copied().filter(|k| !kinds.iter().any(|c| c.crd_kind() == *k)).collect()
}

/// The API version CloneSets are watched and written at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum CloneSetVersion {
    /// `apps.kruise.io/v1alpha1`: the version our CRDs serve and store (no conversion webhook).
    V1alpha1,
    /// `apps.kruise.io/v1beta1`: only for clusters whose CRD serves v1beta1 through a
    /// conversion webhook.
    V1beta1,
}

/// kruise-rs operator: OpenKruise workload controllers on kruise-core planners.
#[derive(Debug, Parser)]
#[command(name = "kruise-operator", version)]
struct Args {
    /// Watch and act only in this namespace (default: all namespaces).
    #[arg(long, env = "KRUISE_NAMESPACE")]
    namespace: Option<String>,
    /// Controllers to run (comma-separated, or the flag repeated).
    #[arg(
        long,
        env = "KRUISE_CONTROLLERS",
        value_delimiter = ',',
        default_value = "cloneset,statefulset,daemonset"
    )]
    controllers: Vec<Kind>,
    /// The CloneSet API version to watch and write: `v1alpha1` (our CRDs, OpenKruise v1.9), or
    /// `v1beta1` on clusters that run a CloneSet conversion webhook.
    #[arg(long, env = "KRUISE_CLONESET_VERSION", value_enum, default_value = "v1alpha1")]
    cloneset_version: CloneSetVersion,
    /// Address of the health/readiness/metrics server.
    #[arg(long, env = "KRUISE_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    http_addr: SocketAddr,
    /// Serve the admission webhooks (validating and mutating, every kind) over HTTPS with the
    /// certificate in this directory (`tls.crt`, `tls.key`: a mounted Secret; re-read when it
    /// changes). Not set: no webhook server.
    #[arg(long, env = "KRUISE_WEBHOOK_CERT_DIR")]
    webhook_cert_dir: Option<std::path::PathBuf>,
    /// Address of the admission webhook server (HTTPS).
    #[arg(long, env = "KRUISE_WEBHOOK_ADDR", default_value = "0.0.0.0:9443")]
    webhook_addr: SocketAddr,
    /// Take part in leader election (only the Lease holder acts).
    #[arg(long, env = "KRUISE_LEADER_ELECT", default_value_t = true, action = clap::ArgAction::Set)]
    leader_elect: bool,
    /// Namespace of the leader Lease (default: the pod's namespace, else `kruise-rs-system`).
    #[arg(long, env = "POD_NAMESPACE", default_value = "kruise-rs-system")]
    leader_election_namespace: String,
    /// Name of the leader Lease.
    #[arg(long, env = "KRUISE_LEADER_ELECTION_ID", default_value = "kruise-rs-leader")]
    leader_election_id: String,
    /// This replica's identity in the Lease (default: the pod name; without it, the host name
    /// with a random suffix, unique per start).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Lease duration, seconds.
    #[arg(long, env = "KRUISE_LEASE_DURATION", default_value_t = 15)]
    lease_duration: u64,
    /// Renew deadline, seconds (< lease duration).
    #[arg(long, env = "KRUISE_RENEW_DEADLINE", default_value_t = 10)]
    renew_deadline: u64,
    /// Retry period, seconds.
    #[arg(long, env = "KRUISE_RETRY_PERIOD", default_value_t = 2)]
    retry_period: u64,
    /// Concurrent reconciles per controller (upstream `--cloneset-workers`).
    #[arg(long, env = "KRUISE_WORKERS", default_value_t = 3)]
    workers: u16,
    /// Feature gates, `Name=true|false` separated by commas (upstream names, e.g.
    /// `CloneSetShortHash=true`).
    #[arg(long, env = "KRUISE_FEATURE_GATES", default_value = "")]
    feature_gates: String,
    /// Expectation timeout, seconds (upstream `--expectation-timeout`).
    #[arg(long, env = "KRUISE_EXPECTATION_TIMEOUT", default_value_t = 300)]
    expectation_timeout: u32,
    /// Keep a node cache (needs list/watch on nodes; used by topology-aware planning).
    #[arg(long, env = "KRUISE_WATCH_NODES", default_value_t = false, action = clap::ArgAction::Set)]
    watch_nodes: bool,
    /// Log format.
    #[arg(long, env = "KRUISE_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Log filter (tracing-subscriber `EnvFilter` syntax).
    #[arg(long, env = "RUST_LOG", default_value = "info,kube=warn")]
    log: String,
}

/// Parses `Name=bool,...` over upstream's default gates: unknown names, and gates the
/// operator cannot honour when on, are errors ([`Features::with_gates`]).
fn parse_features(gates: &str, expectation_timeout: u32) -> Result<Features, String> {
    let defaults = Features { expectation_timeout_seconds: expectation_timeout, ..Features::default() };
    defaults.with_gates(gates).map_err(|e| e.to_string())
}

fn init_logging(args: &Args) {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match args.log_format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// This replica's name in the Lease: `--identity` / `POD_NAME` when given, else the host name
/// (or `kruise-operator`) with a random suffix, as client-go does (`hostname_uuid`), so two
/// replicas started by hand on one host never share an identity.
fn lease_identity(given: Option<&str>, hostname: Option<&str>) -> String {
    if let Some(id) = given.filter(|s| !s.is_empty()) {
        return id.to_owned();
    }
    let host = hostname.filter(|s| !s.is_empty()).unwrap_or("kruise-operator");
    // The process's random hash keys (fresh per `RandomState`) over the pid and the time: the
    // operator's own randomness, without another dependency.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let state = std::collections::hash_map::RandomState::new();
    let a = state.hash_one((std::process::id(), now.as_nanos(), 0u8));
    let b = state.hash_one((std::process::id(), now.as_nanos(), 1u8));
    format!("{host}_{a:016x}{b:016x}")
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(&args);
    let features = match parse_features(&args.feature_gates, args.expectation_timeout) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "invalid --feature-gates");
            return ExitCode::from(2);
        }
    };
    // Bind the health/metrics port first: an operator without health endpoints is killed by
    // its liveness probe sooner or later, so a port that cannot be bound fails the start.
    let listener = match tokio::net::TcpListener::bind(args.http_addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, addr = %args.http_addr, "cannot bind the health/metrics port");
            return ExitCode::FAILURE;
        }
    };
    // The admission webhooks: every replica serves them, leader or not. A certificate that
    // cannot be loaded or a port that cannot be bound fails the start.
    let webhook = match &args.webhook_cert_dir {
        None => None,
        Some(dir) => {
            let certs = match kruise_kube::tls::CertReloader::from_dir(dir) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "cannot load the webhook serving certificate");
                    return ExitCode::FAILURE;
                }
            };
            match tokio::net::TcpListener::bind(args.webhook_addr).await {
                Ok(l) => Some((l, certs)),
                Err(e) => {
                    tracing::error!(error = %e, addr = %args.webhook_addr, "cannot bind the webhook port");
                    return ExitCode::FAILURE;
                }
            }
        }
    };
    let client = match kube::Client::try_default().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no Kubernetes client configuration");
            return ExitCode::FAILURE;
        }
    };
    let hostname = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned());
    let identity = lease_identity(args.identity.as_deref(), hostname.as_deref());
    tracing::info!(%identity, "leader election identity");

    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutdown requested");
        stop_tx.send_replace(true);
    });

    let server = HttpServer::new(health.clone(), metrics.clone());
    let mut http_stop = stop_rx.clone();
    tracing::info!(addr = %args.http_addr, "http server listening");
    let http = tokio::spawn(async move {
        let stop = async move {
            let _ = http_stop.wait_for(|s| *s).await;
        };
        if let Err(e) = server.serve_listener(listener, stop).await {
            tracing::error!(error = %e, "http server failed");
        }
    });

    let webhook = webhook.map(|(listener, certs)| {
        let server = kruise_kube::webhook::routes(HttpServer::new(health.clone(), metrics.clone()));
        let mut stop = stop_rx.clone();
        tracing::info!(addr = %args.webhook_addr, "admission webhooks listening (HTTPS)");
        tokio::spawn(async move {
            let stop = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = server.serve_tls(listener, certs, Duration::from_secs(10), stop).await {
                tracing::error!(error = %e, "webhook server failed");
            }
        })
    });

    // Leader election: controllers start only once this replica holds the Lease, and stop
    // when it is lost or on shutdown.
    let mut elector = None;
    let leading = if args.leader_elect {
        let mut cfg = LeaseConfig::new(&args.leader_election_namespace, &args.leader_election_id, &identity);
        cfg.lease_duration = Duration::from_secs(args.lease_duration);
        cfg.renew_deadline = Duration::from_secs(args.renew_deadline);
        cfg.retry_period = Duration::from_secs(args.retry_period);
        let (lead_tx, mut lead_rx) = watch::channel(false);
        elector = Some(tokio::spawn(LeaderElector::new(client.clone(), cfg).run(lead_tx, stop_rx.clone())));
        // A standby replica is ready: it serves health and metrics and waits for the Lease.
        health.ready.store(true, std::sync::atomic::Ordering::Relaxed);
        metrics.set_leader(false);
        let mut stop = stop_rx.clone();
        tokio::select! {
            acquired = lead_rx.wait_for(|l| *l) => {
                if acquired.is_err() {
                    return ExitCode::FAILURE;
                }
            }
            _ = stop.wait_for(|s| *s) => {
                let _ = http.await;
                if let Some(w) = webhook {
                    let _ = w.await;
                }
                return ExitCode::SUCCESS;
            }
        }
        health.ready.store(false, std::sync::atomic::Ordering::Relaxed);
        metrics.set_leader(true);
        Some(lead_rx)
    } else {
        metrics.set_leader(true);
        None
    };

    // Controllers stop on shutdown or when leadership is lost.
    let stop_controllers = {
        let mut stop = stop_rx.clone();
        let mut lead = leading.clone();
        async move {
            match lead.as_mut() {
                Some(l) => {
                    tokio::select! {
                        _ = stop.wait_for(|s| *s) => {}
                        _ = l.wait_for(|leading| !*leading) => {}
                    }
                }
                None => {
                    let _ = stop.wait_for(|s| *s).await;
                }
            }
        }
    };
    let (ctl_stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut controllers = Vec::new();
    let mut kinds = args.controllers.clone();
    kinds.sort();
    kinds.dedup();
    for kind in unreconciled_kinds(&kinds) {
        tracing::warn!(
            kind,
            "not reconciled: kruise-rs has no planner for this kind yet (or it is not in --controllers); \
             its objects are left alone"
        );
    }
    for kind in kinds {
        let mut rx = ctl_stop_tx.subscribe();
        let shutdown = async move {
            let _ = rx.recv().await;
        };
        let instance = Some(identity.clone());
        let config = |name: &str| RunConfig {
            namespace: args.namespace.clone(),
            concurrency: args.workers,
            features,
            // The DaemonSet planner places pods on nodes: it always watches them, and a node
            // joining, leaving or changing reconciles every DaemonSet.
            watch_nodes: args.watch_nodes || kind == Kind::Daemonset,
            node_triggers: kind == Kind::Daemonset,
            reporter: Reporter { controller: "kruise-rs".to_owned(), instance: instance.clone() },
            ..RunConfig::new(name)
        };
        let (client, metrics, health, leading) =
            (client.clone(), metrics.clone(), health.clone(), leading.clone());
        controllers.push(match kind {
            Kind::Cloneset => match args.cloneset_version {
                CloneSetVersion::V1alpha1 => tokio::spawn(controller::run(
                    client,
                    kruise_core::cloneset::CloneSetV1Alpha1Reconciler,
                    config("cloneset"),
                    metrics,
                    health,
                    leading,
                    shutdown,
                )),
                CloneSetVersion::V1beta1 => tokio::spawn(controller::run(
                    client,
                    kruise_core::cloneset::CloneSetReconciler,
                    config("cloneset"),
                    metrics,
                    health,
                    leading,
                    shutdown,
                )),
            },
            Kind::Statefulset => tokio::spawn(controller::run(
                client,
                kruise_core::statefulset::StatefulSetReconciler,
                config("statefulset"),
                metrics,
                health,
                leading,
                shutdown,
            )),
            Kind::Daemonset => tokio::spawn(controller::run(
                client,
                kruise_kube::backoff::FailedPodBackoffs::new(
                    kruise_core::daemonset::DaemonSetV1Alpha1Reconciler,
                ),
                config("daemonset"),
                metrics,
                health,
                leading,
                shutdown,
            )),
        });
    }
    stop_controllers.await;
    let lost_lease = leading.as_ref().is_some_and(|l| !*l.borrow()) && !*stop_rx.borrow();
    let _ = ctl_stop_tx.send(());
    for c in controllers {
        let _ = c.await;
    }
    // Let the elector release the Lease (on shutdown) so a successor need not wait it out.
    if let Some(e) = elector {
        let _ = tokio::time::timeout(Duration::from_secs(5), e).await;
    }
    let _ = http.await;
    if let Some(w) = webhook {
        let _ = w.await;
    }
    if lost_lease {
        tracing::error!("leader lease lost; exiting so a restart rejoins the election");
        return ExitCode::FAILURE;
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_gates_parse_upstream_names() {
        let f = parse_features("CloneSetShortHash=true, InPlaceUpdateEnvFromMetadata=false", 60);
        let f = f.unwrap_or_default();
        assert!(f.clone_set_short_hash);
        assert!(!f.in_place_update_env_from_metadata);
        assert_eq!(f.expectation_timeout_seconds, 60);
        assert!(parse_features("NoSuchGate=true", 300).is_err());
        assert!(parse_features("CloneSetShortHash=yes", 300).is_err());
        assert!(parse_features("ExpectationTimeoutSeconds=true", 300).is_err());
        // Issue 11 item 6: a gate the operator cannot honour is refused, not ignored.
        let e = parse_features("PodUnavailableBudgetUpdateGate=true", 300).err().unwrap_or_default();
        assert!(e.contains("not supported"), "{e}");
    }

    /// Issue 11 item 15: the kinds the operator does not reconcile are named (once each).
    #[test]
    fn unreconciled_kinds_are_named() {
        let left = unreconciled_kinds(&[Kind::Cloneset]);
        assert!(!left.contains(&"CloneSet"));
        assert!(left.contains(&"StatefulSet") && left.contains(&"Rollout"));
        assert_eq!(unreconciled_kinds(&[]).len(), INSTALLED_KINDS.len());
        let left = unreconciled_kinds(&[Kind::Cloneset, Kind::Statefulset, Kind::Daemonset]);
        assert!(!left.iter().any(|k| ["CloneSet", "StatefulSet", "DaemonSet"].contains(k)), "{left:?}");
        assert!(left.contains(&"Rollout"));
    }

    /// CS-1: CloneSets are watched as v1alpha1 unless a conversion webhook is declared.
    #[test]
    fn cs_1_cloneset_version_defaults_to_v1alpha1() {
        let v =
            |args: &[&str]| Args::try_parse_from(args).map(|a| a.cloneset_version).map_err(|e| e.to_string());
        assert_eq!(v(&["kruise-operator"]), Ok(CloneSetVersion::V1alpha1));
        assert_eq!(v(&["kruise-operator", "--cloneset-version", "v1beta1"]), Ok(CloneSetVersion::V1beta1));
        assert!(v(&["kruise-operator", "--cloneset-version", "v2"]).is_err());
    }

    /// Issue 12 item 5: without `POD_NAME` each start gets its own identity (host name and a
    /// random suffix); with it, the pod name is the identity.
    #[test]
    fn lease_identity_is_unique_without_pod_name() {
        let a = lease_identity(None, Some("node-1"));
        let b = lease_identity(None, Some("node-1"));
        assert_ne!(a, b);
        assert!(a.starts_with("node-1_") && a.len() == "node-1_".len() + 32, "{a}");
        assert!(lease_identity(Some(""), None).starts_with("kruise-operator_"));
        assert_eq!(lease_identity(Some("kruise-rs-7d9f-x"), Some("node-1")), "kruise-rs-7d9f-x");
    }

    /// Issues 13 and 14: `--controllers` accepts the StatefulSet and DaemonSet controllers.
    #[test]
    fn controllers_flag_names_statefulset_and_daemonset() {
        let a = Args::try_parse_from(["kruise-operator", "--controllers", "cloneset,statefulset,daemonset"]);
        let kinds = a.map(|a| a.controllers).map_err(|e| e.to_string());
        assert_eq!(kinds, Ok(vec![Kind::Cloneset, Kind::Statefulset, Kind::Daemonset]));
        let a =
            Args::try_parse_from(["kruise-operator", "--controllers=statefulset", "--controllers=daemonset"]);
        let kinds = a.map(|a| a.controllers).map_err(|e| e.to_string());
        assert_eq!(kinds, Ok(vec![Kind::Statefulset, Kind::Daemonset]));
        assert_eq!(Kind::Statefulset.crd_kind(), "StatefulSet");
        assert_eq!(Kind::Daemonset.crd_kind(), "DaemonSet");
    }

    #[test]
    fn flags_parse_with_defaults() {
        let a = Args::try_parse_from(["kruise-operator", "--namespace", "team-a", "--log-format", "json"]);
        let a = a.map_err(|e| e.to_string());
        assert_eq!(a.as_ref().map(|a| a.namespace.clone()), Ok(Some("team-a".to_owned())));
        assert_eq!(a.as_ref().map(|a| a.log_format), Ok(LogFormat::Json));
        assert_eq!(
            a.as_ref().map(|a| a.controllers.clone()),
            Ok(vec![Kind::Cloneset, Kind::Statefulset, Kind::Daemonset])
        );
    }
}
