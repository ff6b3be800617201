//! `rollouts.kruise.io/v1beta1`: the storage version of Rollout (RO-1..RO-6) and the
//! BatchRelease plan object (RO-8).

pub mod batchrelease;
pub mod rollout;

pub use batchrelease::*;
pub use rollout::*;

/// `rollouts.kruise.io/v1beta1`.
pub const API_VERSION: &str = "rollouts.kruise.io/v1beta1";
