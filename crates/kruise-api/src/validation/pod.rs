//! Pod template validation (CS-14 and the template rules of the other workloads): the subset of
//! Kubernetes' pod-template validation a manifest author trips over.

use k8s_openapi::api::core::v1::PodTemplateSpec;

use crate::field::{FieldPath, ValidationError, ValidationErrors};

/// Validates a workload's pod template at `path` (usually `spec.template`).
pub fn validate_pod_template_spec(template: &PodTemplateSpec, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let spec_path = path.child("spec");
    let Some(spec) = template.spec.as_ref() else {
        errs.push(ValidationError::required(spec_path, "a pod template needs a spec"));
        return errs;
    };
    if spec.containers.is_empty() {
        errs.push(ValidationError::required(
            spec_path.child("containers"),
            "at least one container is required",
        ));
    }
    for (i, c) in spec.containers.iter().enumerate() {
        let cp = spec_path.child("containers").index(i);
        if c.name.is_empty() {
            errs.push(ValidationError::required(cp.child("name"), "a container needs a name"));
        }
        if c.image.as_deref().is_none_or(str::is_empty) {
            errs.push(ValidationError::required(cp.child("image"), "a container needs an image"));
        }
    }
    errs
}
