//! # kruise-core
//!
//! Pure planners for OpenKruise workloads. A planner is a function
//! `(workload, observed pods/PVCs/revisions, now, id seed, expectations) -> Plan`: no clock,
//! no randomness, no network, no global state. The same planner runs in the kube-rs operator,
//! the simulator, the `kruise plan` dry-run, property tests and benchmarks.
//!
//! - [`cloneset`]: the CloneSet planner (spec rules CS-n).
//! - [`rollout`]: the Kruise Rollouts planner (spec rules RO-n).
//! - [`write`](mod@write): the concrete API writes a plan turns into ([`write::ApiWrite`]), which the
//!   simulator and the kube adapter carry out the same way.
//! - [`expectations`]: the pure record of writes not yet seen in a lagging cache (CS-87, CS-88).
//! - [`features`]: upstream feature gates that change behaviour (CS-90).
//! - [`reconciler`]: the one trait every workload's planner implements for adapters.

pub mod cloneset;
pub mod expectations;
pub mod features;
pub mod inplace;
pub mod plan;
pub mod podtable;
pub mod reconciler;
pub mod revision;
pub mod rollout;
pub(crate) mod updatesort;
pub mod write;

pub use expectations::Expectations;
pub use features::Features;
