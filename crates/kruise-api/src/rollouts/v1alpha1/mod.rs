//! `rollouts.kruise.io/v1alpha1`: the older, canary-only Rollout shape (RO-5). Served, not
//! stored; convert to v1beta1 with [`crate::convert::rollout_to_v1beta1`] before planning.

pub mod rollout;

pub use rollout::*;

/// `rollouts.kruise.io/v1alpha1`.
pub const API_VERSION: &str = "rollouts.kruise.io/v1alpha1";
