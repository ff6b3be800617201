//! `rollouts.kruise.io`: Kruise Rollouts, canary batches driving a workload's partition.

/// API group of Kruise Rollouts.
pub const GROUP: &str = "rollouts.kruise.io";

pub mod v1alpha1;
pub mod v1beta1;
