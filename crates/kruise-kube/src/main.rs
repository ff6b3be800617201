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
    /// `apps.kruise.io` SidecarSet (cluster-scoped), at the version `--sidecarset-version`
    /// names: sidecar upgrades of the pods its selector matches in every namespace, reading
    /// Namespaces for `namespaceSelector`. Needs the cluster scope (not with `--namespace`).
    Sidecarset,
    /// `apps.kruise.io/v1beta1` BroadcastJob (served by the CRD), watching nodes: one pod per
    /// eligible node.
    Broadcastjob,
    /// `apps.kruise.io/v1beta1` ImagePullJob (served by the CRD), reading NodeImages and the
    /// pull Secrets (its own namespace's and its copies in `--daemon-config-namespace`).
    Imagepulljob,
    /// `rollouts.kruise.io` Rollout, at the version `--rollout-version` names, reading its
    /// workload, pods, BatchRelease, Services, HTTPRoutes, Ingresses and TrafficRoutings
    /// (Kruise Rollouts' CRDs; kinds the cluster does not serve are handed over empty).
    Rollout,
    /// `rollouts.kruise.io/v1alpha1` TrafficRouting (Kruise Rollouts' CRD): a route shared by
    /// several Rollouts, reading its Services, HTTPRoutes and Ingresses.
    Trafficrouting,
}

impl Kind {
    /// The `kind` of the objects this controller reconciles.
    fn crd_kind(self) -> &'static str {
        match self {
            Kind::Cloneset => "CloneSet",
            Kind::Statefulset => "StatefulSet",
            Kind::Daemonset => "DaemonSet",
            Kind::Sidecarset => "SidecarSet",
            Kind::Broadcastjob => "BroadcastJob",
            Kind::Imagepulljob => "ImagePullJob",
            Kind::Rollout => "Rollout",
            Kind::Trafficrouting => "TrafficRouting",
        }
    }

    /// True for the controllers that place pods on nodes (they keep a node cache, and a node
    /// joining, leaving or changing reconciles every workload of the kind).
    fn places_on_nodes(self) -> bool {
        matches!(self, Kind::Daemonset | Kind::Broadcastjob)
    }

    /// True for the controllers of cluster-scoped workloads (they cannot run namespaced).
    fn cluster_scoped(self) -> bool {
        self == Kind::Sidecarset
    }
}

/// The controllers run by default: the workloads whose CRDs `deploy/crds` installs. Rollout
/// and TrafficRouting are opt-in: they write BatchReleases (and read TrafficRoutings), whose
/// CRDs come with Kruise Rollouts, not with `deploy/crds`.
const DEFAULT_CONTROLLERS: &str = "cloneset,statefulset,daemonset,sidecarset,broadcastjob,imagepulljob";

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

/// The API version a SidecarSet or Rollout controller watches and writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ServedVersion {
    /// `v1alpha1`: the version our CRDs serve and store (the planner converts to v1beta1 and
    /// writes back to v1alpha1).
    V1alpha1,
    /// `v1beta1`: for clusters whose CRD serves v1beta1 (a conversion webhook, or Kruise
    /// Rollouts' own CRDs for Rollouts).
    V1beta1,
}

/// The installed kinds that none of `kinds` reconciles (issue 11 item 15: said once at start,
/// so that objects of those kinds are not silently ignored).
fn unreconciled_kinds(kinds: &[Kind]) -> Vec<&'static str> {
    INSTALLED_KINDS.iter().copied().filter(|k| !kinds.iter().any(|c| c.crd_kind() == *k)).collect()
}

/// The namespaces besides its workload's whose related objects a controller hands over: the
/// ImagePullJob's pull-secret copies (annotated with their source) in the daemon namespace.
fn extra_namespaces(kind: Kind, daemon_config_namespace: &str) -> Vec<kruise_kube::related::ExtraNamespace> {
    match kind {
        Kind::Imagepulljob => vec![kruise_kube::related::ExtraNamespace {
            plural: "secrets",
            namespace: daemon_config_namespace.to_owned(),
            annotation: Some(kruise_api::keys::IMAGEPULLJOB_SOURCE_KEY),
        }],
        _ => Vec::new(),
    }
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
        default_value = DEFAULT_CONTROLLERS
    )]
    controllers: Vec<Kind>,
    /// The SidecarSet API version to watch and write.
    #[arg(long, env = "KRUISE_SIDECARSET_VERSION", value_enum, default_value = "v1alpha1")]
    sidecarset_version: ServedVersion,
    /// The Rollout API version to watch and write (`v1beta1` with Kruise Rollouts' CRDs).
    #[arg(long, env = "KRUISE_ROLLOUT_VERSION", value_enum, default_value = "v1alpha1")]
    rollout_version: ServedVersion,
    /// Namespace of the ImagePullJob pull-secret copies read by the node daemons (IPJ-15).
    #[arg(long, env = "KRUISE_DAEMON_CONFIG_NS", default_value = kruise_api::keys::KRUISE_DAEMON_CONFIG_NAMESPACE)]
    daemon_config_namespace: String,
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
    /// With the webhook server: also inject SidecarSet sidecars into pods being created
    /// (`/mutate-pod-sidecarset`; needs list/watch on sidecarsets and namespaces cluster-wide).
    #[arg(long, env = "KRUISE_SIDECARSET_INJECTION", default_value_t = true, action = clap::ArgAction::Set)]
    sidecarset_injection: bool,
    /// Namespace of the SidecarSet ControllerRevisions injection reads (SCS-13, SCS-30).
    #[arg(long, env = "KRUISE_SIDECARSET_REVISION_NAMESPACE", default_value = kruise_core::sidecarset::DEFAULT_REVISION_NAMESPACE)]
    sidecarset_revision_namespace: String,
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
        let mut server = kruise_kube::webhook::routes(HttpServer::new(health.clone(), metrics.clone()));
        if args.sidecarset_injection {
            // Reflector caches of SidecarSets, Namespaces and SidecarSet revisions: until they
            // have listed, the pod webhook answers 503 (the configuration's failurePolicy decides).
            let source = kruise_kube::sidecar_webhook::CacheSource::start(
                client.clone(),
                &args.sidecarset_revision_namespace,
            );
            let injector = kruise_kube::sidecar_webhook::PodInjector::new(Arc::new(source), features);
            server = kruise_kube::sidecar_webhook::routes(server, Arc::new(injector));
            tracing::info!(
                path = kruise_kube::sidecar_webhook::POD_INJECT_PATH,
                "sidecarset injection webhook enabled"
            );
        }
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
    if let Some(ns) = &args.namespace {
        for kind in kinds.iter().filter(|k| k.cluster_scoped()) {
            tracing::warn!(
                kind = kind.crd_kind(),
                namespace = %ns,
                "a cluster-scoped workload's controller needs the cluster scope: not run with --namespace"
            );
        }
        kinds.retain(|k| !k.cluster_scoped());
    }
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
            // The DaemonSet and BroadcastJob planners place pods on nodes: they always watch
            // them, and a node joining, leaving or changing reconciles every workload.
            watch_nodes: args.watch_nodes || kind.places_on_nodes(),
            node_triggers: kind.places_on_nodes(),
            reporter: Reporter { controller: "kruise-rs".to_owned(), instance: instance.clone() },
            extra_namespaces: extra_namespaces(kind, &args.daemon_config_namespace),
            ..RunConfig::new(name)
        };
        let (client, metrics, health, leading) =
            (client.clone(), metrics.clone(), health.clone(), leading.clone());
        macro_rules! spawn {
            ($reconciler:expr, $name:literal) => {
                tokio::spawn(controller::run(
                    client,
                    $reconciler,
                    config($name),
                    metrics,
                    health,
                    leading,
                    shutdown,
                ))
            };
        }
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
            Kind::Sidecarset => match args.sidecarset_version {
                ServedVersion::V1alpha1 => {
                    spawn!(kruise_core::sidecarset::SidecarSetV1Alpha1Reconciler, "sidecarset")
                }
                ServedVersion::V1beta1 => spawn!(kruise_core::sidecarset::SidecarSetReconciler, "sidecarset"),
            },
            Kind::Broadcastjob => spawn!(kruise_core::broadcastjob::BroadcastJobReconciler, "broadcastjob"),
            Kind::Imagepulljob => spawn!(
                kruise_core::imagepulljob::ImagePullJobReconciler {
                    daemon_namespace: args.daemon_config_namespace.clone()
                },
                "imagepulljob"
            ),
            Kind::Rollout => match args.rollout_version {
                ServedVersion::V1alpha1 => {
                    spawn!(kruise_core::rollout::RolloutV1Alpha1Reconciler::default(), "rollout")
                }
                ServedVersion::V1beta1 => {
                    spawn!(kruise_core::rollout::RolloutReconciler::default(), "rollout")
                }
            },
            Kind::Trafficrouting => spawn!(kruise_core::rollout::TrafficRoutingReconciler, "trafficrouting"),
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

    /// Issue 15: with the webhook server, SidecarSet injection is on unless turned off, and
    /// reads revisions from the planner's namespace unless told otherwise.
    #[test]
    fn sidecarset_injection_flags() {
        let parse = |args: &[&str]| {
            Args::try_parse_from(args)
                .map(|a| (a.sidecarset_injection, a.sidecarset_revision_namespace))
                .map_err(|e| e.to_string())
        };
        assert_eq!(parse(&["kruise-operator"]), Ok((true, "kruise-system".to_owned())));
        assert_eq!(
            parse(&[
                "kruise-operator",
                "--sidecarset-injection=false",
                "--sidecarset-revision-namespace",
                "kruise-rs-system"
            ]),
            Ok((false, "kruise-rs-system".to_owned()))
        );
        assert!(parse(&["kruise-operator", "--sidecarset-injection=maybe"]).is_err());
    }

    #[test]
    fn flags_parse_with_defaults() {
        let a = Args::try_parse_from(["kruise-operator", "--namespace", "team-a", "--log-format", "json"]);
        let a = a.map_err(|e| e.to_string());
        assert_eq!(a.as_ref().map(|a| a.namespace.clone()), Ok(Some("team-a".to_owned())));
        assert_eq!(a.as_ref().map(|a| a.log_format), Ok(LogFormat::Json));
        assert_eq!(
            a.as_ref().map(|a| a.controllers.clone()),
            Ok(vec![
                Kind::Cloneset,
                Kind::Statefulset,
                Kind::Daemonset,
                Kind::Sidecarset,
                Kind::Broadcastjob,
                Kind::Imagepulljob
            ])
        );
        assert_eq!(a.as_ref().map(|a| a.sidecarset_version), Ok(ServedVersion::V1alpha1));
        assert_eq!(a.as_ref().map(|a| a.rollout_version), Ok(ServedVersion::V1alpha1));
        assert_eq!(
            a.as_ref().map(|a| a.daemon_config_namespace.clone()),
            Ok("kruise-daemon-config".to_owned())
        );
    }

    /// Issues 15, 16, 17: `--controllers` names the SidecarSet, BroadcastJob, ImagePullJob,
    /// Rollout and TrafficRouting controllers; the node-placing ones keep a node cache, the
    /// SidecarSet's is cluster-scoped, and the ImagePullJob reads its secret copies in the
    /// daemon namespace.
    #[test]
    fn controllers_flag_names_the_new_kinds() {
        let a = Args::try_parse_from([
            "kruise-operator",
            "--controllers=sidecarset,broadcastjob,imagepulljob,rollout,trafficrouting",
            "--rollout-version=v1beta1",
            "--daemon-config-namespace=daemons",
        ]);
        let a = a.map_err(|e| e.to_string());
        let kinds = a.as_ref().map(|a| a.controllers.clone());
        assert_eq!(
            kinds,
            Ok(vec![
                Kind::Sidecarset,
                Kind::Broadcastjob,
                Kind::Imagepulljob,
                Kind::Rollout,
                Kind::Trafficrouting
            ])
        );
        assert_eq!(a.as_ref().map(|a| a.rollout_version), Ok(ServedVersion::V1beta1));
        let kinds = kinds.unwrap_or_default();
        let named: Vec<&str> = kinds.iter().map(|k| k.crd_kind()).collect();
        assert_eq!(named, ["SidecarSet", "BroadcastJob", "ImagePullJob", "Rollout", "TrafficRouting"]);
        assert!(Kind::Broadcastjob.places_on_nodes() && Kind::Daemonset.places_on_nodes());
        assert!(!Kind::Imagepulljob.places_on_nodes() && !Kind::Sidecarset.places_on_nodes());
        assert!(Kind::Sidecarset.cluster_scoped() && !Kind::Rollout.cluster_scoped());
        let extra = extra_namespaces(Kind::Imagepulljob, "daemons");
        assert_eq!(extra.len(), 1);
        assert_eq!((extra[0].plural, extra[0].namespace.as_str()), ("secrets", "daemons"));
        assert!(extra_namespaces(Kind::Rollout, "daemons").is_empty());
        let left = unreconciled_kinds(&kinds);
        assert_eq!(left, ["CloneSet", "StatefulSet", "DaemonSet", "NodeImage"]);
    }
}
