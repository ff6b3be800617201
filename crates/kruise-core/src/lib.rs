//! # kruise-core
//!
//! Pure planners for OpenKruise workloads. A planner is a function
//! `(workload, observed pods/PVCs/revisions, now, id seed, expectations) -> Plan`: no clock,
//! no randomness, no network, no global state. The same planner runs in the kube-rs operator,
//! the simulator, the `kruise plan` dry-run, property tests and benchmarks.
//!
//! ## The crate map
//! What every planner is made of and drives adapters through:
//! - [`plan`]: the one typed plan shape ([`plan::Plan`], actions, held entries, reasons,
//!   requeues, errors) every workload returns.
//! - [`reconciler`]: the one trait every workload's planner implements for adapters.
//! - [`write`](mod@write): the concrete API writes a plan turns into ([`write::ApiWrite`]),
//!   which the simulator and the kube adapter carry out the same way.
//! - [`expectations`]: the pure record of writes not yet seen in a lagging cache (CS-87, CS-88).
//! - [`features`]: upstream feature gates that change behaviour (CS-90).
//!
//! Mechanisms shared by the workloads (each lives here once):
//! - [`revision`]: ControllerRevision data, Go-compatible hashing, resolution and history
//!   (CS-26..CS-33).
//! - [`inplace`]: revision diff to an in-place update spec, patch, completion, container
//!   batches, grace period (CS-67..CS-75).
//! - [`lifecycle`]: lifecycle hook states and transitions, `markPodNotReady` (CS-77..CS-80).
//! - [`availability`]: ready / available / `minReadySeconds` (CS-34, ASTS-3, ADS-2).
//! - `updatesort`: default update order, priority and scatter (CS-58..CS-61).
//! - [`podtable`]: pods with their planning facts, kept per watch event (CS-24, CS-89).
//! - [`hash`], [`merge_patch`], [`selector`], [`gojson`]: the workspace's one FNV family, one
//!   RFC 7386 merge patch, one label-selector matcher and one Go JSON writer (hosted in
//!   `kruise-api`).
//! - [`nodetable`]: nodes with their eligibility facts, kept per watch event, and the
//!   "should this node run this pod" predicate (ADS-6, ADS-7; DaemonSet, BroadcastJob,
//!   ImagePullJob).
//!
//! One module per workload, holding only what is its own:
//! - [`broadcastjob`]: the BroadcastJob planner (spec rules BJ-n).
//! - [`cloneset`]: the CloneSet planner (spec rules CS-n).
//! - [`daemonset`]: the Advanced DaemonSet planner (spec rules ADS-n).
//! - [`imagepulljob`]: the ImagePullJob and NodeImage planners and workload pre-download
//!   (spec rules IPJ-n).
//! - [`rollout`]: the Kruise Rollouts planner (spec rules RO-n).
//! - [`sidecarset`]: SidecarSet injection and the sidecar upgrade planner (spec rules SCS-n).
//! - [`statefulset`]: the Advanced StatefulSet planner (spec rules ASTS-n).

pub mod expectations;
pub mod features;
pub mod plan;
pub mod reconciler;
pub mod write;

pub mod availability;
pub mod inplace;
pub mod lifecycle;
pub mod nodetable;
pub mod podtable;
pub mod revision;
pub(crate) mod updatesort;
pub use kruise_api::{gojson, hash, merge_patch, selector};

pub mod broadcastjob;
pub mod cloneset;
pub mod daemonset;
pub mod imagepulljob;
pub mod rollout;
pub mod sidecarset;
pub mod statefulset;

pub use expectations::Expectations;
pub use features::Features;
