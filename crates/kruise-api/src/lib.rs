//! # kruise-api
//!
//! The OpenKruise API, field for field, as Rust types built on
//! [`k8s-openapi`](k8s_openapi): `apps.kruise.io/v1alpha1`, `apps.kruise.io/v1beta1` and
//! `rollouts.kruise.io/v1beta1`. Manifests written for OpenKruise deserialize unchanged, and
//! serialize back with the same JSON names.
//!
//! Every top-level type implements k8s-openapi's [`Resource`](k8s_openapi::Resource),
//! [`Metadata`](k8s_openapi::Metadata) and [`ListableResource`](k8s_openapi::ListableResource),
//! so `kube::Api<CloneSet>` works without this crate depending on kube.
//!
//! Beside the types:
//! - [`keys`]: every well-known label, annotation, condition and readiness-gate name, once;
//! - [`defaults`]: what OpenKruise's mutating webhooks set ([`defaults::default`]);
//! - [`validation`]: what its validating webhooks reject ([`validation::validate`]), each error
//!   with the field path, the bad value and a sentence;
//! - [`intstr`]: the three IntOrString percent parsers upstream uses (CS-9);
//! - [`hash`], [`merge_patch`], [`selector`], [`gojson`]: the workspace's one FNV family,
//!   one RFC 7386 merge patch, one label-selector matcher and one Go-compatible JSON writer
//!   (kruise-core re-exports them);
//! - [`convert`]: v1alpha1 ⇄ v1beta1 conversion (CS-5);
//! - with the `schemars` feature, JSON schemas for CRD generation ([`crd`]).

#[macro_use]
mod resource;

pub mod any;
pub mod apps;
pub mod convert;
pub mod defaults;
pub mod field;
pub mod gojson;
pub mod hash;
pub mod intstr;
pub mod keys;
pub mod merge_patch;
pub mod rollouts;
pub mod selector;
pub mod validation;

#[cfg(feature = "schemars")]
pub mod crd;

pub use field::{FieldPath, ValidationError, ValidationErrors};
pub use resource::KruiseResource;

/// The README's code blocks, compiled and run as doc tests.
#[cfg(all(doctest, feature = "schemars"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
