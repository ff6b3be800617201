//! Object metadata, names, labels and label selectors, as Kubernetes validates them (used by
//! CS-13, ASTS-8 and the metadata rules of every other kind).
//!
//! The name rules are Kubernetes' (`apimachinery/pkg/util/validation`): DNS-1123 labels and
//! subdomains, qualified names (`prefix/name`) for label and annotation keys, label values.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement, ObjectMeta};

use crate::field::{FieldPath, ValidationError, ValidationErrors};

/// Maximum length of a DNS-1123 subdomain.
pub const DNS1123_SUBDOMAIN_MAX: usize = 253;
/// Maximum length of a DNS-1123 label.
pub const DNS1123_LABEL_MAX: usize = 63;
/// Maximum length of the name part of a qualified name and of a label value.
pub const QUALIFIED_NAME_MAX: usize = 63;
/// Maximum total size in bytes of an object's annotations (keys plus values).
pub const TOTAL_ANNOTATION_SIZE_MAX: usize = 256 * 1024;

const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/// True if `s` is a DNS-1123 label: 1..=63 lowercase alphanumerics or `-`, starting and ending
/// alphanumeric.
pub fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= DNS1123_LABEL_MAX
        && b.iter().all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

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

/// The name part of a qualified name, and a non-empty label value: alphanumerics, `-`, `_`,
/// `.`, starting and ending alphanumeric, at most 63 characters.
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= QUALIFIED_NAME_MAX
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// Why `key` is not a qualified name (`[prefix/]name`, the prefix a DNS subdomain), or `None`
/// when it is one. Label and annotation keys and selector keys are qualified names.
pub fn qualified_name_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if name.contains('/') {
        return Some(
            "a qualified name must consist of an optional DNS subdomain prefix and '/' followed by a name"
                .to_owned(),
        );
    }
    if let Some(p) = prefix {
        if p.is_empty() {
            return Some("prefix part must be non-empty".to_owned());
        }
        if !is_dns1123_subdomain(p) {
            return Some(format!("prefix part {DNS1123_SUBDOMAIN_MSG}"));
        }
    }
    if name.is_empty() {
        return Some("name part must be non-empty".to_owned());
    }
    if name.len() > QUALIFIED_NAME_MAX {
        return Some(format!("name part must be no more than {QUALIFIED_NAME_MAX} characters"));
    }
    if !is_qualified_name_part(name) {
        return Some(QUALIFIED_NAME_MSG.to_owned());
    }
    None
}

/// True if `key` is a qualified name (see [`qualified_name_problem`]).
pub fn is_qualified_name(key: &str) -> bool {
    qualified_name_problem(key).is_none()
}

/// True if `v` is a valid label value: empty, or at most 63 alphanumerics, `-`, `_`, `.`,
/// starting and ending alphanumeric.
pub fn is_label_value(v: &str) -> bool {
    v.is_empty() || is_qualified_name_part(v)
}

/// Checks a DNS-1123 label at `path` (container, port-less volume and service names).
pub fn validate_dns1123_label(value: &str, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    if value.is_empty() {
        errs.push(ValidationError::required(path.clone(), "must be a non-empty DNS-1123 label"));
    } else if value.len() > DNS1123_LABEL_MAX {
        errs.push(ValidationError::too_long(path.clone(), value, DNS1123_LABEL_MAX));
    } else if !is_dns1123_label(value) {
        errs.push(ValidationError::invalid(path.clone(), value, DNS1123_LABEL_MSG));
    }
    errs
}

/// Checks a label map: keys are qualified names, values valid label values. Errors are
/// reported at `path` (as Kubernetes does), one per bad key or value.
pub fn validate_labels(labels: Option<&BTreeMap<String, String>>, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    for (k, v) in labels.into_iter().flatten() {
        if let Some(problem) = qualified_name_problem(k) {
            errs.push(ValidationError::invalid(path.clone(), k, problem));
        }
        if !is_label_value(v) {
            let msg = if v.len() > QUALIFIED_NAME_MAX {
                format!("must be no more than {QUALIFIED_NAME_MAX} characters")
            } else {
                LABEL_VALUE_MSG.to_owned()
            };
            errs.push(ValidationError::invalid(path.clone(), v, msg));
        }
    }
    errs
}

/// Checks an annotation map: keys are qualified names (lower-cased first, as Kubernetes
/// does) and the total size is at most 256 KiB.
pub fn validate_annotations(
    annotations: Option<&BTreeMap<String, String>>,
    path: &FieldPath,
) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let mut total = 0usize;
    for (k, v) in annotations.into_iter().flatten() {
        if let Some(problem) = qualified_name_problem(&k.to_ascii_lowercase()) {
            errs.push(ValidationError::invalid(path.clone(), k, problem));
        }
        total += k.len() + v.len();
    }
    if total > TOTAL_ANNOTATION_SIZE_MAX {
        errs.push(ValidationError::too_long(path.clone(), "", TOTAL_ANNOTATION_SIZE_MAX));
    }
    errs
}

/// Validates a namespaced object's metadata on create: `name` (or `generateName`) must be a
/// DNS-1123 subdomain, `namespace` (when set) a DNS-1123 label, labels and annotations valid.
pub fn validate_object_meta(meta: &ObjectMeta, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let name = meta.name.as_deref().unwrap_or_default();
    let generate_name = meta.generate_name.as_deref().unwrap_or_default();
    if name.is_empty() {
        if generate_name.is_empty() {
            errs.push(ValidationError::required(path.child("name"), "name or generateName is required"));
        } else {
            // A generated name appends five characters; the prefix may end in '-'.
            let trimmed = generate_name.trim_end_matches('-');
            if !trimmed.is_empty() && !is_dns1123_subdomain(trimmed) {
                errs.push(ValidationError::invalid(
                    path.child("generateName"),
                    generate_name,
                    DNS1123_SUBDOMAIN_MSG,
                ));
            }
        }
    } else if !is_dns1123_subdomain(name) {
        errs.push(ValidationError::invalid(path.child("name"), name, DNS1123_SUBDOMAIN_MSG));
    }
    if let Some(ns) = meta.namespace.as_deref().filter(|ns| !ns.is_empty()) {
        errs.extend(validate_dns1123_label(ns, &path.child("namespace")));
    }
    errs.extend(validate_labels(meta.labels.as_ref(), &path.child("labels")));
    errs.extend(validate_annotations(meta.annotations.as_ref(), &path.child("annotations")));
    errs
}

/// Validates metadata on update: `name`, `namespace` and `uid` may not change (Kubernetes'
/// `ValidateObjectMetaUpdate`), then the create rules on the new metadata's labels and
/// annotations.
pub fn validate_object_meta_update(new: &ObjectMeta, old: &ObjectMeta, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let immutable = [
        ("name", &new.name, &old.name),
        ("namespace", &new.namespace, &old.namespace),
        ("uid", &new.uid, &old.uid),
    ];
    for (field, n, o) in immutable {
        // An unset value on the new object means "unchanged" (a client that omits it).
        if n.is_some() && o.is_some() && n != o {
            errs.push(ValidationError::invalid(path.child(field), n, "field is immutable"));
        }
    }
    errs.extend(validate_labels(new.labels.as_ref(), &path.child("labels")));
    errs.extend(validate_annotations(new.annotations.as_ref(), &path.child("annotations")));
    errs
}

/// Label-selector operators Kubernetes accepts.
pub const SELECTOR_OPERATORS: [&str; 4] = ["In", "NotIn", "Exists", "DoesNotExist"];

/// Validates a label selector at `path` (usually `spec.selector`): matchLabels keys and
/// values, and each matchExpression's key, operator and values (`In`/`NotIn` need values,
/// `Exists`/`DoesNotExist` forbid them).
pub fn validate_label_selector(selector: &LabelSelector, path: &FieldPath) -> ValidationErrors {
    let mut errs = validate_labels(selector.match_labels.as_ref(), &path.child("matchLabels"));
    for (i, req) in selector.match_expressions.iter().flatten().enumerate() {
        errs.extend(validate_selector_requirement(req, &path.child("matchExpressions").index(i)));
    }
    errs
}

fn validate_selector_requirement(req: &LabelSelectorRequirement, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let values = req.values.as_deref().unwrap_or_default();
    match req.operator.as_str() {
        "In" | "NotIn" => {
            if values.is_empty() {
                errs.push(ValidationError::required(
                    path.child("values"),
                    "must be specified when `operator` is 'In' or 'NotIn'",
                ));
            }
        }
        "Exists" | "DoesNotExist" => {
            if !values.is_empty() {
                errs.push(ValidationError::forbidden(
                    path.child("values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                ));
            }
        }
        other => errs.push(ValidationError::invalid(
            path.child("operator"),
            other,
            "not a valid selector operator",
        )),
    }
    if let Some(problem) = qualified_name_problem(&req.key) {
        errs.push(ValidationError::invalid(path.child("key"), &req.key, problem));
    }
    for (j, v) in values.iter().enumerate() {
        if !is_label_value(v) {
            errs.push(ValidationError::invalid(path.child("values").index(j), v, LABEL_VALUE_MSG));
        }
    }
    errs
}

/// True when the selector has neither matchLabels nor matchExpressions. Such a selector
/// matches everything; workloads reject it (CS-13, ASTS-8).
pub fn is_empty_selector(selector: &LabelSelector) -> bool {
    crate::selector::is_empty(selector)
}

/// True when `selector` selects an object carrying `labels`. Every matchLabels pair must be
/// present and every expression hold; an unknown operator matches nothing.
pub fn selector_matches(selector: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    crate::selector::matches(selector, labels)
}

/// True when the selector's expressions use only known operators with the values each
/// needs, i.e. it can be turned into a Kubernetes label selector at all.
pub fn is_convertible_selector(selector: &LabelSelector) -> bool {
    selector.match_expressions.iter().flatten().all(|req| {
        let n = req.values.as_ref().map_or(0, Vec::len);
        match req.operator.as_str() {
            "In" | "NotIn" => n > 0,
            "Exists" | "DoesNotExist" => n == 0,
            _ => false,
        }
    })
}

/// The checks CS-13 and ASTS-8 apply to a workload's selector: required, valid, not empty
/// (`"empty selector is invalid for <kind>"`), and matching the template labels
/// (error at `spec.template.metadata.labels`).
pub fn validate_workload_selector(
    selector: Option<&LabelSelector>,
    template_labels: Option<&BTreeMap<String, String>>,
    kind_lower: &str,
    spec_path: &FieldPath,
) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let sel_path = spec_path.child("selector");
    let Some(selector) = selector else {
        errs.push(ValidationError::required(sel_path, "a selector is required"));
        return errs;
    };
    errs.extend(validate_label_selector(selector, &sel_path));
    if is_empty_selector(selector) {
        errs.push(ValidationError::invalid(
            sel_path,
            selector,
            format!("empty selector is invalid for {kind_lower}"),
        ));
        return errs;
    }
    if is_convertible_selector(selector) && !selector_matches(selector, template_labels) {
        errs.push(ValidationError::invalid(
            spec_path.child("template").child("metadata").child("labels"),
            template_labels,
            "`selector` does not match template `labels`",
        ));
    }
    errs
}

/// Delete protection (CS-21, ASTS-9), as the webhook applies it with gate
/// `ResourcesDeletionProtection` (the caller decides whether the gate is on): deleting a
/// workload that is not already terminating is forbidden when its label
/// `policy.kruise.io/delete-protection` is `Always`, or `Cascading` while `replicas > 0`.
/// The error is reported on that label.
pub fn validate_deletion_protection(meta: &ObjectMeta, replicas: Option<i32>) -> ValidationErrors {
    use crate::keys::{DELETE_PROTECTION, DELETE_PROTECTION_ALWAYS, DELETE_PROTECTION_CASCADING};
    let mut errs = ValidationErrors::new();
    if meta.deletion_timestamp.is_some() {
        return errs;
    }
    let path = FieldPath::from("metadata").child("labels").key(DELETE_PROTECTION);
    match meta.labels.as_ref().and_then(|l| l.get(DELETE_PROTECTION)).map(String::as_str) {
        Some(v @ DELETE_PROTECTION_ALWAYS) => errs.push(ValidationError::forbidden(
            path,
            format!("forbidden by ResourcesProtectionDeletion for {DELETE_PROTECTION}={v}"),
        )),
        Some(v @ DELETE_PROTECTION_CASCADING) if replicas.is_some_and(|r| r > 0) => {
            errs.push(ValidationError::forbidden(
                path,
                format!(
                    "forbidden by ResourcesProtectionDeletion for {DELETE_PROTECTION}={v} and replicas {}>0",
                    replicas.unwrap_or_default()
                ),
            ))
        }
        _ => {}
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(labels: &[(&str, &str)], exprs: Vec<LabelSelectorRequirement>) -> LabelSelector {
        LabelSelector {
            match_labels: Some(labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
            match_expressions: Some(exprs),
        }
    }

    fn req(key: &str, op: &str, values: Option<&[&str]>) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.to_owned(),
            operator: op.to_owned(),
            values: values.map(|v| v.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    #[test]
    fn cs_13_names_and_keys() {
        assert!(is_dns1123_subdomain("nginx-web.v1"));
        assert!(!is_dns1123_subdomain("Nginx"));
        assert!(!is_dns1123_subdomain("-a"));
        assert!(is_dns1123_label("web-0"));
        assert!(!is_dns1123_label("web.0"));
        assert!(!is_dns1123_label(&"a".repeat(64)));
        assert!(is_qualified_name("app"));
        assert!(is_qualified_name("apps.kruise.io/specified-delete"));
        assert!(is_qualified_name("A_b.c"));
        assert!(!is_qualified_name("/app"));
        assert!(!is_qualified_name("a/b/c"));
        assert!(!is_qualified_name("Bad_Prefix/x"));
        assert!(!is_qualified_name("-x"));
        assert!(is_label_value(""));
        assert!(!is_label_value("a b"));
        assert!(!is_label_value(&"v".repeat(64)));
    }

    #[test]
    fn cs_13_object_meta_requires_subdomain_name() {
        let meta = ObjectMeta { name: Some("Bad_Name".into()), ..Default::default() };
        let errs = validate_object_meta(&meta, &"metadata".into());
        assert_eq!(errs.iter().next().map(|e| e.path.as_str()), Some("metadata.name"));
        let meta = ObjectMeta { generate_name: Some("web-".into()), ..Default::default() };
        assert!(validate_object_meta(&meta, &"metadata".into()).is_empty());
        assert_eq!(validate_object_meta(&ObjectMeta::default(), &"metadata".into()).len(), 1);
    }

    #[test]
    fn cs_13_bad_labels_are_reported_on_the_map() {
        let meta = ObjectMeta {
            name: Some("ok".into()),
            labels: Some([("bad key".to_owned(), "ok".to_owned())].into_iter().collect()),
            ..Default::default()
        };
        let errs = validate_object_meta(&meta, &"metadata".into());
        assert_eq!(errs.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(), ["metadata.labels"]);
    }

    #[test]
    fn cs_20_metadata_name_is_immutable() {
        let old = ObjectMeta { name: Some("a".into()), ..Default::default() };
        let new = ObjectMeta { name: Some("b".into()), ..Default::default() };
        let errs = validate_object_meta_update(&new, &old, &"metadata".into());
        assert_eq!(errs.iter().next().map(|e| e.path.as_str()), Some("metadata.name"));
    }

    #[test]
    fn cs_13_selector_operators_and_values() {
        let p = FieldPath::from("spec.selector");
        let s = sel(&[], vec![req("a", "In", None)]);
        let errs = validate_label_selector(&s, &p);
        assert_eq!(
            errs.iter().next().map(|e| e.path.as_str()),
            Some("spec.selector.matchExpressions[0].values")
        );
        let s = sel(&[], vec![req("a", "Exists", Some(&["x"]))]);
        assert_eq!(validate_label_selector(&s, &p).len(), 1);
        let s = sel(&[], vec![req("a", "Equals", Some(&["x"]))]);
        let errs = validate_label_selector(&s, &p);
        assert_eq!(
            errs.iter().next().map(|e| e.path.as_str()),
            Some("spec.selector.matchExpressions[0].operator")
        );
        let s = sel(&[("app", "x")], vec![req("tier", "NotIn", Some(&["db"]))]);
        assert!(validate_label_selector(&s, &p).is_empty());
    }

    #[test]
    fn cs_13_selector_matching() {
        let labels: BTreeMap<String, String> =
            [("app".to_owned(), "web".to_owned()), ("tier".to_owned(), "fe".to_owned())]
                .into_iter()
                .collect();
        assert!(selector_matches(&sel(&[("app", "web")], vec![]), Some(&labels)));
        assert!(!selector_matches(&sel(&[("app", "db")], vec![]), Some(&labels)));
        assert!(selector_matches(&sel(&[], vec![req("tier", "In", Some(&["fe", "be"]))]), Some(&labels)));
        assert!(!selector_matches(&sel(&[], vec![req("tier", "NotIn", Some(&["fe"]))]), Some(&labels)));
        assert!(selector_matches(&sel(&[], vec![req("x", "DoesNotExist", None)]), Some(&labels)));
        assert!(!selector_matches(&sel(&[], vec![req("x", "Exists", None)]), Some(&labels)));
        assert!(!selector_matches(&sel(&[("app", "web")], vec![]), None));
        assert!(is_empty_selector(&LabelSelector::default()));
        assert!(is_empty_selector(&sel(&[], vec![])));
    }

    #[test]
    fn cs_13_workload_selector_checks() {
        let spec = FieldPath::from("spec");
        let errs = validate_workload_selector(None, None, "cloneset", &spec);
        assert_eq!(errs.iter().next().map(|e| e.path.as_str()), Some("spec.selector"));
        let empty = LabelSelector::default();
        let errs = validate_workload_selector(Some(&empty), None, "cloneset", &spec);
        assert_eq!(
            errs.iter().next().map(|e| e.message.as_str()),
            Some("empty selector is invalid for cloneset")
        );
        let s = sel(&[("app", "web")], vec![]);
        let errs = validate_workload_selector(Some(&s), None, "cloneset", &spec);
        assert_eq!(errs.iter().next().map(|e| e.path.as_str()), Some("spec.template.metadata.labels"));
    }
}
