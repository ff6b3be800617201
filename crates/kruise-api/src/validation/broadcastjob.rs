//! BroadcastJob validation (BJ-5), the same for v1alpha1 and v1beta1. Upstream's webhook
//! has no update-only rules, so `validate_update` re-runs the create checks.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::apps::v1beta1::BroadcastJobSpec;
use crate::apps::{v1alpha1, v1beta1};
use crate::field::{FieldPath, ValidationError, ValidationErrors};
use crate::keys;
use crate::validation::Validate;
use crate::validation::meta::validate_object_meta;
use crate::validation::pod::validate_pod_template_spec;

/// Longest BroadcastJob name (BJ-5.1).
pub const BROADCASTJOB_NAME_MAX_LEN: usize = 63;

/// BJ-5.1: the name matches `^[a-zA-Z0-9-]+$` and has at most 63 characters, on top of the
/// generic object-meta rules.
fn validate_broadcastjob_meta(meta: &ObjectMeta) -> ValidationErrors {
    let path = FieldPath::from("metadata");
    let mut errs = validate_object_meta(meta, &path);
    if let Some(name) = meta.name.as_deref().filter(|n| !n.is_empty()) {
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            errs.push(ValidationError::invalid(
                path.child("name"),
                name,
                "a BroadcastJob name may contain only letters, digits and '-' (regex ^[a-zA-Z0-9-]+$, e.g. 'example-com')",
            ));
        }
        if name.len() > BROADCASTJOB_NAME_MAX_LEN {
            errs.push(ValidationError::too_long(path.child("name"), name, BROADCASTJOB_NAME_MAX_LEN));
        }
    }
    errs
}

/// BJ-5.2..BJ-5.6 on a spec at `path` (usually `spec`).
pub fn validate_broadcastjob_spec(spec: &BroadcastJobSpec, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let cp = &spec.completion_policy;
    let cp_path = path.child("completionPolicy");
    if cp.is_never() {
        // BJ-5.2
        if let Some(ttl) = cp.ttl_seconds_after_finished {
            errs.push(ValidationError::invalid(
                cp_path.child("ttlSecondsAfterFinished"),
                ttl,
                "ttlSecondsAfterFinished works only with completionPolicy type Always",
            ));
        }
        // BJ-5.3
        if let Some(deadline) = cp.active_deadline_seconds {
            errs.push(ValidationError::invalid(
                cp_path.child("activeDeadlineSeconds"),
                deadline,
                "activeDeadlineSeconds works only with completionPolicy type Always",
            ));
        }
    }
    let template_path = path.child("template");
    // BJ-5.4: `Always` and unset are both rejected.
    let restart_policy = spec.template.spec.as_ref().and_then(|s| s.restart_policy.as_deref()).unwrap_or("");
    if restart_policy != "OnFailure" && restart_policy != "Never" {
        errs.push(ValidationError::invalid(
            template_path.child("spec").child("restartPolicy"),
            restart_policy,
            "a BroadcastJob pod's restartPolicy must be Never or OnFailure",
        ));
    }
    // BJ-5.5
    if let Some(labels) = spec.template.metadata.as_ref().and_then(|m| m.labels.as_ref()) {
        let preset = [keys::BROADCASTJOB_NAME, keys::BROADCASTJOB_CONTROLLER_UID]
            .into_iter()
            .filter(|k| labels.get(*k).is_some_and(|v| !v.is_empty()))
            .collect::<Vec<_>>();
        if !preset.is_empty() {
            errs.push(ValidationError::invalid(
                template_path.child("metadata").child("labels"),
                preset,
                format!(
                    "labels {:?} and {:?} are set by the controller and may not be preset",
                    keys::BROADCASTJOB_NAME,
                    keys::BROADCASTJOB_CONTROLLER_UID
                ),
            ));
        }
    }
    // BJ-5.6
    errs.extend(validate_pod_template_spec(&spec.template, &template_path));
    errs
}

fn validate_broadcastjob(meta: &ObjectMeta, spec: &BroadcastJobSpec) -> Result<(), ValidationErrors> {
    let mut errs = validate_broadcastjob_meta(meta);
    errs.extend(validate_broadcastjob_spec(spec, &FieldPath::from("spec")));
    errs.into_result()
}

impl Validate for v1beta1::BroadcastJob {
    fn validate(&self) -> Result<(), ValidationErrors> {
        validate_broadcastjob(&self.metadata, &self.spec)
    }
    fn validate_update(&self, _old: &Self) -> Result<(), ValidationErrors> {
        self.validate()
    }
}

impl Validate for v1alpha1::BroadcastJob {
    fn validate(&self) -> Result<(), ValidationErrors> {
        validate_broadcastjob(&self.metadata, &self.spec)
    }
    fn validate_update(&self, _old: &Self) -> Result<(), ValidationErrors> {
        self.validate()
    }
}
