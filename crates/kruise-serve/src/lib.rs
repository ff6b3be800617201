//! # kruise-serve
//!
//! `kruise serve`: the simulator's cluster ([`kruise_sim`]: its API store with
//! resourceVersions, owner references and garbage collection, the scheduler and the kubelet
//! model) served over the Kubernetes HTTP API on `127.0.0.1`, on a virtual clock that follows
//! wall time, so that `kubectl`, kube-rs clients and the real `kruise-operator` can run against
//! it without Docker or a kube-apiserver.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kruise_serve::ServeError> {
//! let served = kruise_serve::serve(kruise_serve::ServeConfig::default()).await?;
//! std::fs::write("kubeconfig", served.kubeconfig()).ok();
//! // ... point kubectl or the operator at it ...
//! served.stop().await;
//! # Ok(()) }
//! ```
//!
//! - [`api`]: the HTTP API (discovery, get/list/watch with bookmarks and 410 Gone, create,
//!   update, merge/JSON/strategic/apply patches, delete with preconditions, `status`, `scale`
//!   and `resize`, `Status` errors);
//! - [`cluster`]: the simulator behind it and the watch history;
//! - [`registry`]: the resources served (built-ins and CRDs); [`patch`]: the patch formats;
//!   [`select`]: label and field selectors; [`status`]: `Status` errors.

pub mod api;
pub mod cluster;
pub mod convert;
pub mod patch;
pub mod registry;
pub mod select;
pub mod status;
pub mod table;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use kruise_sim::SimConfig;
use kruise_sim::cluster::NodeSpec;
use kruise_sim::scenario::Scenario;
use tokio::sync::watch;

use crate::api::{Body, Req, Shared};
use crate::cluster::{Cluster, wall_now};

/// How to serve.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The cluster: seed, nodes, images, kubelet timings.
    pub sim: SimConfig,
    /// Port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// How often an idle watch that asked for bookmarks gets one.
    pub bookmark_every: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self { sim: SimConfig::default(), port: 0, bookmark_every: Duration::from_secs(5) }
    }
}

impl ServeConfig {
    /// `n` nodes named `node-1` ... `node-n`.
    pub fn with_nodes(mut self, n: usize) -> Self {
        self.sim.nodes = NodeSpec::numbered(n);
        self
    }

    /// The cluster a scenario file describes (seed, nodes, images, kubelet timings); its steps
    /// are for `kruise simulate` and are not run.
    pub fn from_scenario(scenario: &Scenario) -> Self {
        let mut c = Self::default();
        c.sim.seed = scenario.seed;
        c.sim.nodes = scenario.nodes.specs();
        c.sim.images = scenario.images.clone();
        c.sim.kubelet = scenario.kubelet.clone();
        c
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The port could not be bound.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port asked for.
        port: u16,
        /// The cause.
        source: std::io::Error,
    },
}

/// A running server.
#[derive(Debug)]
pub struct Served {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    shared: Arc<Shared>,
}

impl Served {
    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig (YAML) whose current context is this server (plain HTTP, no credentials,
    /// namespace `default`).
    pub fn kubeconfig(&self) -> String {
        kubeconfig(&self.url())
    }

    /// The cluster's state (for tests that look behind the API).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops serving: open watches end, the listener closes.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        let _ = self.task.await;
    }
}

/// A kubeconfig for a server at `url`.
pub fn kubeconfig(url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kruise-serve\n  cluster:\n    server: {url}\n\
         users:\n- name: kruise-serve\n  user: {{}}\ncontexts:\n- name: kruise-serve\n  context:\n    \
         cluster: kruise-serve\n    user: kruise-serve\n    namespace: default\ncurrent-context: kruise-serve\n"
    )
}

async fn read(
    shared: Arc<Shared>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Body>, std::convert::Infallible> {
    let (parts, incoming) = req.into_parts();
    let bytes: Bytes = match Limited::new(incoming, api::MAX_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            let f = status::Failure::too_large();
            let mut r = hyper::Response::new(
                http_body_util::Full::new(Bytes::from(f.to_status().to_string()))
                    .map_err(|n| match n {})
                    .boxed_unsync(),
            );
            *r.status_mut() = http::StatusCode::PAYLOAD_TOO_LARGE;
            return Ok(r);
        }
    };
    let query =
        form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_else(|| "application/json".to_owned());
    let table = parts
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.split(',').any(|t| t.contains("as=Table")));
    let req = Req {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query,
        content_type,
        body: bytes,
        table,
    };
    Ok(api::handle(shared, req).await)
}

/// The cluster thread: owns the simulator, runs the jobs requests send, and moves the virtual
/// clock with wall time in between (sleeping until the next scheduler or kubelet step is due,
/// at most 100 ms), publishing the latest resourceVersion after each step.
fn cluster_thread(config: SimConfig, jobs: std::sync::mpsc::Receiver<api::Job>, changed: watch::Sender<u64>) {
    let mut cluster = Cluster::new(config);
    loop {
        let wait = cluster.next_event_at().map_or(100, |t| t.saturating_sub(wall_now())).clamp(1, 100);
        match jobs.recv_timeout(Duration::from_millis(wait)) {
            Ok(job) => job(&mut cluster),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => cluster.advance(),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
        }
        let rv = cluster.resource_version();
        changed.send_if_modified(|old| {
            let moved = *old != rv;
            *old = rv;
            moved
        });
    }
}

/// Starts serving on 127.0.0.1 and returns at once; the server runs until [`Served::stop`].
pub async fn serve(config: ServeConfig) -> Result<Served, ServeError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
        .await
        .map_err(|source| ServeError::Bind { port: config.port, source })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind { port: config.port, source })?;
    let (stop, stop_rx) = watch::channel(false);
    let (jobs, jobs_rx) = std::sync::mpsc::channel();
    let (changed, _) = watch::channel(0);
    let thread_changed = changed.clone();
    let sim = config.sim;
    std::thread::Builder::new()
        .name("kruise-serve-cluster".into())
        .spawn(move || cluster_thread(sim, jobs_rx, thread_changed))
        .map_err(|source| ServeError::Bind { port: config.port, source })?;
    let shared =
        Arc::new(Shared::new(jobs, changed, stop_rx.clone(), config.bookmark_every, addr.to_string()));
    let accept_shared = shared.clone();
    let mut accept_stop = stop_rx;
    let task = tokio::spawn(async move {
        loop {
            let conn = tokio::select! {
                c = listener.accept() => c,
                _ = accept_stop.changed() => break,
            };
            let Ok((io, _)) = conn else { continue };
            let shared = accept_shared.clone();
            let mut conn_stop = accept_stop.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| read(shared.clone(), req));
                let conn =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(io), service);
                let mut conn = std::pin::pin!(conn);
                tokio::select! {
                    res = conn.as_mut() => {
                        if let Err(e) = res {
                            tracing::debug!(error = %e, "connection ended");
                        }
                    }
                    _ = conn_stop.wait_for(|s| *s) => conn.as_mut().graceful_shutdown(),
                }
            });
        }
    });
    tracing::info!(%addr, "serving the simulated cluster");
    Ok(Served { addr, stop, task, shared })
}
