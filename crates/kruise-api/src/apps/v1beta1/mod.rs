//! `apps.kruise.io/v1beta1`: the storage (hub) version of CloneSet and Advanced StatefulSet.

mod cloneset;

pub use cloneset::*;

/// `apps.kruise.io/v1beta1`.
pub const API_VERSION: &str = "apps.kruise.io/v1beta1";

mod statefulset;
pub use statefulset::*;
