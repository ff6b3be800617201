//! # kruise-sim
//!
//! A deterministic discrete-event Kubernetes cluster simulator that drives kruise-core
//! planners through [`kruise_core::reconciler::Reconciler`], exactly as the kube-rs adapter
//! does: gather a `World` from a lagging informer cache, reconcile, carry out the writes in
//! order against an API store, record expectations, honour the requeue.
//!
//! - [`time`]: the virtual clock and duration syntax; [`rng`]: the seeded PRNG.
//! - [`store`]: the API server (resourceVersions, uids, generation, owner-reference garbage
//!   collection, graceful deletion, finalizers, pod admission, write preconditions);
//!   [`admission`]: SidecarSet injection into every pod created.
//! - [`cache`]: the informer cache, with a configurable lag.
//! - [`cluster`]: nodes and the scheduler; [`kubelet`]: image pulls, container lifecycle,
//!   readiness, in-place restarts, crash loops, termination.
//! - [`controller`]: how any reconciler plugs in; [`reference`]: a minimal reference
//!   controller used to test the simulator itself.
//! - [`sim`]: the event loop and faults.
//! - [`scenario`]: the scenario file format and [`scenario::run_scenario`];
//!   [`report`]: table, JSON and SVG renderings of a run.
//!
//! Same scenario, same seed: same output, byte for byte.

pub mod admission;
pub mod cache;
pub mod cluster;
pub mod controller;
pub mod kubelet;
pub mod reference;
pub mod rng;
pub mod sim;
pub mod store;
pub mod time;

pub use sim::{Fault, Sim, SimConfig, TrafficRow};
pub mod report;
pub mod scenario;

pub use report::Report;
pub use scenario::{RunOptions, run_scenario};
