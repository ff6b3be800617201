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
//! [`InProcess`] is the same cluster without a listener, on a clock that moves only when told
//! ([`cluster::Clock::Manual`]): requests answered in-process through [`api::handle`], for
//! deterministic tests.
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
use kruise_sim::time::SimTime;
use tokio::sync::watch;

use crate::api::{Body, Req, Shared};
use crate::cluster::{Clock, Cluster, wall_now};
use crate::status::Failure;

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
    /// The thread that owns the cluster could not be started.
    #[error("cannot start the cluster thread: {source}")]
    Thread {
        /// The cause.
        source: std::io::Error,
    },
    /// The cluster thread has stopped (an in-process cluster's job could not run).
    #[error("the cluster has stopped: {0}")]
    Stopped(String),
    /// The clock follows wall time and cannot be moved by hand.
    #[error(transparent)]
    NotManual(#[from] cluster::NotManual),
}

impl From<Failure> for ServeError {
    fn from(f: Failure) -> Self {
        Self::Stopped(f.message)
    }
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
        Err(_) => return Ok(too_large()),
    };
    Ok(api::handle(shared, request(&parts, bytes)).await)
}

/// The 413 answer to a body over [`api::MAX_BODY`].
fn too_large() -> hyper::Response<Body> {
    let f = status::Failure::too_large();
    let mut r = hyper::Response::new(
        http_body_util::Full::new(Bytes::from(f.to_status().to_string()))
            .map_err(|n| match n {})
            .boxed_unsync(),
    );
    *r.status_mut() = http::StatusCode::PAYLOAD_TOO_LARGE;
    r
}

/// A request's head and body as [`api::handle`] takes them: the query decoded, the media type
/// without parameters (JSON if none), and whether a `Table` is accepted.
fn request(parts: &http::request::Parts, bytes: Bytes) -> Req {
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
    Req {
        method: parts.method.clone(),
        path: parts.uri.path().to_owned(),
        query,
        content_type,
        body: bytes,
        table,
    }
}

/// The cluster thread: owns the simulator and runs the jobs requests send. On a wall clock it
/// moves the virtual clock with wall time in between (sleeping until the next scheduler or
/// kubelet step is due, at most 100 ms); a manual clock only moves in the jobs that move it.
/// It publishes the latest resourceVersion after each job or step.
fn cluster_thread(
    new: impl FnOnce() -> Cluster,
    jobs: std::sync::mpsc::Receiver<api::Job>,
    changed: watch::Sender<u64>,
) {
    let mut cluster = new();
    let manual = cluster.clock() == Clock::Manual;
    loop {
        if manual {
            match jobs.recv() {
                Ok(job) => job(&mut cluster),
                Err(std::sync::mpsc::RecvError) => return,
            }
        } else {
            let wait = cluster.next_event_at().map_or(100, |t| t.saturating_sub(wall_now())).clamp(1, 100);
            match jobs.recv_timeout(Duration::from_millis(wait)) {
                Ok(job) => job(&mut cluster),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => cluster.advance(),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
        let rv = cluster.resource_version();
        changed.send_if_modified(|old| {
            let moved = *old != rv;
            *old = rv;
            moved
        });
    }
}

/// Starts the cluster thread on the cluster `new` makes; returns where to send it jobs and
/// the latest resourceVersion it publishes.
fn spawn_cluster(
    new: impl FnOnce() -> Cluster + Send + 'static,
) -> std::io::Result<(std::sync::mpsc::Sender<api::Job>, watch::Sender<u64>)> {
    let (jobs, jobs_rx) = std::sync::mpsc::channel();
    let (changed, _) = watch::channel(0);
    let thread_changed = changed.clone();
    std::thread::Builder::new()
        .name("kruise-serve-cluster".into())
        .spawn(move || cluster_thread(new, jobs_rx, thread_changed))?;
    Ok((jobs, changed))
}

/// Starts serving on 127.0.0.1 and returns at once; the server runs until [`Served::stop`].
pub async fn serve(config: ServeConfig) -> Result<Served, ServeError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
        .await
        .map_err(|source| ServeError::Bind { port: config.port, source })?;
    let addr = listener.local_addr().map_err(|source| ServeError::Bind { port: config.port, source })?;
    let (stop, stop_rx) = watch::channel(false);
    let sim = config.sim;
    let (jobs, changed) = spawn_cluster(move || Cluster::new(sim))
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

/// The served cluster without a listener, on a manual clock: each request is answered
/// in-process by the same [`api::handle`] as over TCP (same store, resourceVersions,
/// preconditions, patches and `Status` errors), and the virtual clock (with it the scheduler
/// and the kubelets) moves only when [`InProcess::step`] or [`InProcess::run_until`] moves
/// it. For tests that need an API server whose every answer is reproducible.
///
/// Dropping it stops the cluster thread.
#[derive(Debug)]
pub struct InProcess {
    shared: Arc<Shared>,
    // Kept so that watches run until the handle is dropped.
    _stop: watch::Sender<bool>,
}

impl InProcess {
    /// The cluster `config` describes (its `port` is not used), its clock standing at virtual
    /// time `t0` (ms after [`kruise_sim::time::EPOCH_SECONDS`]).
    pub fn start(config: ServeConfig, t0: SimTime) -> Result<Self, ServeError> {
        let (stop, stop_rx) = watch::channel(false);
        let sim = config.sim;
        let (jobs, changed) = spawn_cluster(move || Cluster::new_at(sim, t0))
            .map_err(|source| ServeError::Thread { source })?;
        let shared =
            Arc::new(Shared::new(jobs, changed, stop_rx, config.bookmark_every, "in-process".to_owned()));
        Ok(Self { shared, _stop: stop })
    }

    /// Answers one request (its body already read), as the server answers it over TCP: a
    /// body over [`api::MAX_BODY`] gets 413.
    pub async fn handle(&self, req: http::Request<Bytes>) -> http::Response<Body> {
        let (parts, bytes) = req.into_parts();
        if bytes.len() > api::MAX_BODY {
            return too_large();
        }
        api::handle(self.shared.clone(), request(&parts, bytes)).await
    }

    /// Moves the clock `by` ahead (the scheduler and the kubelets act on everything due up to
    /// then); returns the new virtual time.
    pub async fn step(&self, by: Duration) -> Result<SimTime, ServeError> {
        Ok(self.shared.run(move |c| c.step(by)).await??)
    }

    /// Moves the clock to `t` (a time already past leaves it where it is); returns the new
    /// virtual time.
    pub async fn run_until(&self, t: SimTime) -> Result<SimTime, ServeError> {
        Ok(self.shared.run(move |c| c.run_until(t)).await??)
    }

    /// The virtual time now.
    pub async fn now(&self) -> Result<SimTime, ServeError> {
        Ok(self.shared.run(|c| c.now()).await?)
    }

    /// Runs `f` on the cluster (for tests that look behind the API).
    pub async fn with_cluster<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Cluster) -> T + Send + 'static,
    ) -> Result<T, ServeError> {
        Ok(self.shared.run(f).await?)
    }

    /// The state requests share.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}
