//! `apps.kruise.io`: the workloads.

pub mod common;
pub mod v1alpha1;
pub mod v1beta1;

/// API group of the workloads.
pub const GROUP: &str = "apps.kruise.io";

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

pub(crate) fn is_zero_i32(v: &i32) -> bool {
    *v == 0
}

pub(crate) fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}
