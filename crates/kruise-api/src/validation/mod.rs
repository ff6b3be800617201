//! Validation: what OpenKruise's validating webhooks reject (CS-13..CS-22 and the validation
//! sections of the other specs). Every error names the field path, the bad value and what is
//! wrong; all errors of an object are reported together.

use crate::field::ValidationErrors;

pub mod meta;
pub mod pod;

/// A type OpenKruise's validating webhook checks.
pub trait Validate {
    /// Checks a new object (create).
    fn validate(&self) -> Result<(), ValidationErrors>;
    /// Checks an update from `old` to `self`: the immutable-field rules, then [`Validate::validate`].
    fn validate_update(&self, old: &Self) -> Result<(), ValidationErrors>;
}

/// Validates `obj` as a create request would.
pub fn validate<T: Validate>(obj: &T) -> Result<(), ValidationErrors> {
    obj.validate()
}

/// Validates an update from `old` to `new`.
pub fn validate_update<T: Validate>(old: &T, new: &T) -> Result<(), ValidationErrors> {
    new.validate_update(old)
}

// CloneSet (CS-13..CS-22).
pub mod cloneset;

// Advanced StatefulSet (ASTS-8, ASTS-9).
pub mod statefulset;

mod daemonset;
pub mod sidecarset;

pub mod broadcastjob;
pub mod imagepulljob;
pub mod rollout;
