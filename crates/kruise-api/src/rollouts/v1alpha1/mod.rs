//! `rollouts.kruise.io/v1alpha1`: the older, canary-only Rollout shape (RO-5). Served, not
//! stored; convert to v1beta1 with [`crate::convert::rollout_to_v1beta1`] before planning.
//! Also the shared TrafficRouting of a full-link release (RO-64).

pub mod rollout;
pub mod trafficrouting;

pub use rollout::*;
pub use trafficrouting::*;

/// `rollouts.kruise.io/v1alpha1`.
pub const API_VERSION: &str = "rollouts.kruise.io/v1alpha1";
