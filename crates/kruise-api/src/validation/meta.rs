//! Object metadata, names and label selectors, as Kubernetes validates them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::field::{FieldPath, ValidationError, ValidationErrors};

/// Maximum length of a DNS-1123 subdomain.
pub const DNS1123_SUBDOMAIN_MAX: usize = 253;

/// True if `s` is a DNS-1123 subdomain (lowercase alphanumerics, `-`, `.`; starts and ends
/// alphanumeric; at most 253 characters).
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= DNS1123_SUBDOMAIN_MAX
        && s.split('.').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && part.as_bytes()[0] != b'-'
                && part.as_bytes()[part.len() - 1] != b'-'
        })
}

/// Validates a namespaced object's metadata on create: `name` must be a DNS-1123 subdomain.
pub fn validate_object_meta(meta: &ObjectMeta, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    match meta.name.as_deref() {
        None | Some("") if meta.generate_name.as_deref().is_none_or(str::is_empty) => {
            errs.push(ValidationError::required(path.child("name"), "name or generateName is required"));
        }
        Some(name) if !name.is_empty() && !is_dns1123_subdomain(name) => {
            errs.push(ValidationError::invalid(
                path.child("name"),
                name,
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            ));
        }
        _ => {}
    }
    errs
}
