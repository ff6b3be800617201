//! # kruise-kube
//!
//! The kube-rs adapter of kruise-rs: it runs any [`kruise_core::reconciler::Reconciler`]
//! against a real cluster. One generic reconcile serves every workload kind:
//!
//! 0. [`validity`]: a workload that fails kruise-api's validation (after the webhook defaults)
//!    gets a status condition and a Warning event naming the field paths, and nothing else;
//! 1. [`observe`] gathers the planner's `World` from reflector stores (the workload, the pods,
//!    PVCs and ControllerRevisions it owns or may adopt, optionally nodes);
//! 2. the planner runs with `jiff::Timestamp::now()` (the only clock read) and a fresh id seed;
//! 3. [`execute`] carries out its writes in order (Create, resourceVersion-guarded Replace,
//!    RFC 7386 merge patches on the object, `status` or `resize`, uid-guarded Delete) while the
//!    [`expectations`] store records what the cache does not show yet, so a lagging cache never
//!    causes a second create or delete (CS-87, CS-88);
//! 4. the planner's events are published and its requeue honoured.
//!
//! The whole loop in a few lines ([`controller::run`]):
//!
//! ```no_run
//! # async fn demo<R>(client: kube::Client, reconciler: R)
//! # where R: kruise_core::reconciler::Reconciler + Send + Sync + 'static,
//! #       R::Workload: kruise_kube::controller::Workload {
//! use std::sync::Arc;
//! use kruise_kube::{controller, http::Health, metrics::Metrics};
//!
//! let config = controller::RunConfig::new("cloneset");
//! controller::run(client, reconciler, config, Arc::new(Metrics::new()),
//!     Arc::new(Health::default()), None, std::future::pending()).await;
//! # }
//! ```
//!
//! or one reconcile of one workload with [`controller::Adapter::reconcile`], given
//! [`observe::Caches`] of your own. The pieces stand alone too: [`observe::observe`],
//! [`execute::Executor`], [`expectations::ExpectationsStore`], [`leader::LeaderElector`] (a
//! Lease-based leader election), [`metrics::Metrics`] and [`http::HttpServer`] (health,
//! readiness and Prometheus metrics, open to more routes), which also serves OpenKruise's
//! admission webhooks ([`webhook`]: validating and mutating, every kind; [`sidecar_webhook`]:
//! SidecarSet injection into pods being created) over HTTPS with a reloading certificate
//! ([`tls`]). [`backoff`] keeps the DaemonSet's failed-pod backoff between reconciles (state
//! the pure planner cannot keep).

pub mod backoff;
pub mod controller;
pub mod error;
pub mod execute;
pub mod expectations;
pub mod http;
pub mod index;
pub mod key;
pub mod leader;
pub mod metrics;
pub mod observe;
pub mod reads;
pub mod related;
pub mod sidecar_webhook;
pub mod tls;
pub mod validity;
pub mod webhook;

pub use error::AdapterError;
pub use key::WorkloadKey;
