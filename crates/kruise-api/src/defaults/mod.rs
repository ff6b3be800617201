//! Defaulting: what OpenKruise's mutating webhooks set on create and update (CS-10..CS-12,
//! and the defaulting sections of the other specs).
//!
//! Call [`default`] on a freshly parsed object before validating or planning it.

/// A type OpenKruise's mutating webhook defaults.
pub trait Defaulting {
    /// Sets every default upstream's webhook sets, in place. Idempotent.
    fn apply_defaults(&mut self);
}

pub mod pod;

/// Applies the webhook defaults of `obj` in place (`default(&mut cloneset)`).
pub fn default<T: Defaulting>(obj: &mut T) {
    obj.apply_defaults();
}

// CloneSet (CS-10..CS-12).
pub mod cloneset;

// Advanced StatefulSet (ASTS-7).
pub mod statefulset;

pub mod daemonset;
pub mod sidecarset;

pub mod broadcastjob;
pub mod imagepulljob;
pub mod rollout;
