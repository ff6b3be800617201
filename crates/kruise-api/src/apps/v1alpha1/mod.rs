//! `apps.kruise.io/v1alpha1`: the version most OpenKruise manifests are written in.

mod cloneset;

pub use cloneset::*;

/// `apps.kruise.io/v1alpha1`.
pub const API_VERSION: &str = "apps.kruise.io/v1alpha1";

mod statefulset;
pub use statefulset::*;
