//! Validation before planning (issue 12 item 2): the operator checks every workload with
//! kruise-api's validation (the checks of OpenKruise's validating webhook, on the object with the
//! webhook defaults applied) before it plans anything for it. An invalid workload gets no write
//! but one: a status condition [`INVALID_SPEC`] naming the field paths (plus a Warning event,
//! sent by the caller); once the spec is valid again, the condition is removed.
//!
//! Without this, a CloneSet whose selector does not match its template labels (a manifest the
//! webhook rejects) had the planner create pods, release them (they do not match) and create
//! more, without end.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kruise_api::ValidationErrors;
use kruise_core::plan::{Action, ActionKind, Reason};
use kruise_core::reconciler::PlannedWrite;
use kruise_core::write::{ApiWrite, Subresource, Target};
use serde_json::{Value, json};

/// The status condition type the operator sets on a workload that fails validation.
pub const INVALID_SPEC: &str = "InvalidSpec";

/// The event reason (Warning) of a workload that fails validation.
pub const INVALID_SPEC_REASON: &str = "InvalidSpec";

/// Largest message put into the condition or the event (events.k8s.io allows 1 kB notes).
pub const MAX_MESSAGE: usize = 1024;

/// The validation errors as one message (`path: Invalid value: ...; path: ...`), cut at
/// [`MAX_MESSAGE`] bytes on a character boundary.
pub fn message(errors: &ValidationErrors) -> String {
    let mut m = errors.to_string();
    if m.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE - 3;
        while !m.is_char_boundary(cut) {
            cut -= 1;
        }
        m.truncate(cut);
        m.push_str("...");
    }
    m
}

fn conditions(workload: &Value) -> Vec<Value> {
    workload.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default()
}

/// The status write that makes `workload`'s [`INVALID_SPEC`] condition say `errors` (or, with
/// `None`, removes it); `None` when the cached status already says so.
///
/// The write is a merge patch of the status subresource that replaces the condition list, so it
/// carries the cached `metadata.resourceVersion`: a status written by anyone in between is a
/// 409, retried from a fresher cache, never overwritten.
pub fn condition_write<W>(
    workload: &W,
    errors: Option<&ValidationErrors>,
    now: Timestamp,
) -> Option<PlannedWrite>
where
    W: kube::Resource<DynamicType = ()> + serde::Serialize,
{
    let value = serde_json::to_value(workload).ok()?;
    let mut conds = conditions(&value);
    let current = conds.iter().position(|c| c["type"] == INVALID_SPEC);
    let wanted = errors.map(message);
    match (current.map(|i| &conds[i]), &wanted) {
        (None, None) => return None,
        (Some(c), Some(m)) if c["status"] == "True" && c["message"].as_str() == Some(m.as_str()) => {
            return None;
        }
        _ => {}
    }
    let since = match current.map(|i| &conds[i]) {
        Some(c) if c["status"] == "True" => c["lastTransitionTime"].clone(),
        _ => serde_json::to_value(Time(now)).unwrap_or(Value::Null),
    };
    if let Some(i) = current {
        conds.remove(i);
    }
    if let Some(m) = &wanted {
        conds.push(json!({
            "type": INVALID_SPEC,
            "status": "True",
            "reason": "FailedValidation",
            "message": m,
            "lastTransitionTime": since,
        }));
    }
    let meta = workload.meta();
    let target = Target::namespaced(
        &W::api_version(&()),
        &W::kind(&()),
        meta.namespace.as_deref().unwrap_or_default(),
        meta.name.as_deref().unwrap_or_default(),
    );
    let reason = match wanted {
        Some(message) => Reason::InvalidSpec { message },
        None => Reason::SpecValid,
    };
    Some(PlannedWrite {
        action: Action::new(ActionKind::UpdateStatus, None, None, reason),
        write: ApiWrite::MergePatch {
            target,
            subresource: Subresource::Status,
            patch: json!({
                "metadata": {"resourceVersion": meta.resource_version},
                "status": {"conditions": conds},
            }),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kruise_api::apps::v1alpha1::CloneSet;
    use kruise_api::field::{FieldPath, ValidationError};

    fn errors(msg: &str) -> ValidationErrors {
        ValidationErrors(vec![ValidationError::invalid(FieldPath::from("spec.x"), "v", msg)])
    }

    fn cs_with(conds: Value) -> CloneSet {
        let mut v = json!({
            "apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
            "metadata": {"name": "web", "namespace": "ns", "resourceVersion": "7"},
            "spec": {"template": {}},
        });
        if !conds.is_null() {
            v["status"] = json!({"conditions": conds});
        }
        serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn condition_is_set_once_and_cleared_once() {
        let now = Timestamp::from_second(1_767_225_600).unwrap_or_default();
        let cs = cs_with(json!([{"type": "FailedScale", "status": "True"}]));
        let w = condition_write(&cs, Some(&errors("bad")), now).map(|w| w.write);
        let Some(ApiWrite::MergePatch { target, subresource, patch }) = w else { panic!("{w:?}") };
        assert_eq!(
            (target.kind.as_str(), target.api_version.as_str()),
            ("CloneSet", "apps.kruise.io/v1alpha1")
        );
        assert_eq!(subresource, Subresource::Status);
        assert_eq!(patch["metadata"]["resourceVersion"], "7");
        let conds = &patch["status"]["conditions"];
        assert_eq!(conds[0]["type"], "FailedScale", "other conditions kept");
        assert_eq!(conds[1]["type"], INVALID_SPEC);
        assert_eq!(conds[1]["message"], r#"spec.x: Invalid value: "v": bad"#);
        // Already said: nothing to write; a new message rewrites it, keeping the time.
        let said = cs_with(conds.clone());
        assert!(condition_write(&said, Some(&errors("bad")), now).is_none());
        let later = Timestamp::from_second(1_767_229_600).unwrap_or_default();
        let w = condition_write(&said, Some(&errors("worse")), later).map(|w| w.write);
        let Some(ApiWrite::MergePatch { patch, .. }) = w else { panic!() };
        assert_eq!(patch["status"]["conditions"][1]["lastTransitionTime"], conds[1]["lastTransitionTime"]);
        // Valid again: removed; then nothing.
        let w = condition_write(&said, None, now).map(|w| w.write);
        let Some(ApiWrite::MergePatch { patch, .. }) = w else { panic!() };
        assert_eq!(patch["status"]["conditions"], json!([{"type": "FailedScale", "status": "True"}]));
        assert!(condition_write(&cs, None, now).is_none());
    }

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let long = errors(&"é".repeat(2000));
        let m = message(&long);
        assert!(m.len() <= MAX_MESSAGE && m.ends_with("..."), "{}", m.len());
    }
}
