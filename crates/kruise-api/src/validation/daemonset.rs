//! Advanced DaemonSet validation (ADS-5): what the validating webhook rejects on create and
//! update. All errors are reported together, each with its field path.
//!
//! Upstream reports a few errors at odd paths (`spec.updateStrategy` for an unsupported type,
//! `spec.updateStrategy.rollingUpdate.rollingUpdate.type` for an unsupported rolling-update
//! type); here they carry the path of the field at fault.

use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Validate;
use super::pod::validate_pod_template_spec;
use crate::apps::common::Lifecycle;
use crate::apps::v1beta1::daemonset::{
    DaemonSetUpdateStrategy, RollingUpdateDaemonSet, rolling_update_type as rut, update_strategy_type as ust,
};
use crate::apps::{v1alpha1, v1beta1};
use crate::field::{FieldPath, ValidationError, ValidationErrors};

/// The fields of a DaemonSet spec both versions share, borrowed.
struct SpecView<'a> {
    selector: Option<&'a LabelSelector>,
    template: &'a PodTemplateSpec,
    update_strategy: &'a DaemonSetUpdateStrategy,
    min_ready_seconds: i32,
    revision_history_limit: Option<i32>,
    lifecycle: Option<&'a Lifecycle>,
}

impl<'a> From<&'a v1alpha1::DaemonSetSpec> for SpecView<'a> {
    fn from(s: &'a v1alpha1::DaemonSetSpec) -> Self {
        Self {
            selector: s.selector.as_ref(),
            template: &s.template,
            update_strategy: &s.update_strategy,
            min_ready_seconds: s.min_ready_seconds,
            revision_history_limit: s.revision_history_limit,
            lifecycle: s.lifecycle.as_ref(),
        }
    }
}

impl<'a> From<&'a v1beta1::DaemonSetSpec> for SpecView<'a> {
    fn from(s: &'a v1beta1::DaemonSetSpec) -> Self {
        Self {
            selector: s.selector.as_ref(),
            template: &s.template,
            update_strategy: &s.update_strategy,
            min_ready_seconds: s.min_ready_seconds,
            revision_history_limit: s.revision_history_limit,
            lifecycle: s.lifecycle.as_ref(),
        }
    }
}

fn validate_daemonset(meta: &ObjectMeta, spec: SpecView<'_>, allow_surging: bool) -> ValidationErrors {
    let mut errs = super::meta::validate_object_meta(meta, &FieldPath::from("metadata"));
    let sp = FieldPath::from("spec");

    // ADS-5: selector valid, non-empty, matching the template labels.
    match spec.selector {
        None => {
            errs.push(ValidationError::required(sp.child("selector"), "a DaemonSet needs a pod selector"))
        }
        Some(sel) => {
            errs.extend(labels::validate_selector(sel, &sp.child("selector")));
            if labels::is_empty_selector(sel) {
                errs.push(invalid_json(sp.child("selector"), sel, "empty selector is invalid for daemonset"));
            } else {
                let template_labels =
                    spec.template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
                if labels::selector_matches(sel, &template_labels) == Some(false) {
                    errs.push(invalid_json(
                        sp.child("template").child("metadata").child("labels"),
                        &template_labels,
                        "`selector` does not match template `labels`",
                    ));
                }
            }
        }
    }

    // ADS-5: the template as Kubernetes validates it, plus the DaemonSet-only rules.
    let tp = sp.child("template");
    errs.extend(validate_pod_template_spec(spec.template, &tp));
    if let Some(pod) = spec.template.spec.as_ref() {
        // Quirk (ADS-5): upstream defaults the template's pod spec before this check, so an
        // unset restartPolicy reads as `Always`.
        if let Some(rp) = pod.restart_policy.as_deref().filter(|rp| !rp.is_empty() && *rp != "Always") {
            errs.push(ValidationError::not_supported(
                tp.child("spec").child("restartPolicy"),
                rp,
                &["Always"],
            ));
        }
        if pod.active_deadline_seconds.is_some() {
            errs.push(ValidationError::forbidden(
                tp.child("spec").child("activeDeadlineSeconds"),
                "activeDeadlineSeconds in DaemonSet is not supported",
            ));
        }
    }
    if spec.min_ready_seconds < 0 {
        errs.push(ValidationError::invalid(
            sp.child("minReadySeconds"),
            spec.min_ready_seconds,
            "must be greater than or equal to 0",
        ));
    }
    errs.extend(validate_update_strategy(spec.update_strategy, &sp.child("updateStrategy"), allow_surging));
    if let Some(limit) = spec.revision_history_limit.filter(|l| *l < 0) {
        errs.push(ValidationError::invalid(
            sp.child("revisionHistoryLimit"),
            limit,
            "must be greater than or equal to 0",
        ));
    }
    if spec.lifecycle.is_some_and(|l| l.in_place_update.is_some()) {
        errs.push(ValidationError::forbidden(
            sp.child("lifecycle").child("inPlaceUpdate"),
            "the inPlaceUpdate hook is not supported by Advanced DaemonSet; only preDelete is",
        ));
    }
    errs
}

fn validate_update_strategy(
    s: &DaemonSetUpdateStrategy,
    path: &FieldPath,
    allow_surging: bool,
) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    match s.type_.as_deref().unwrap_or_default() {
        ust::ON_DELETE => {}
        ust::ROLLING_UPDATE => match s.rolling_update.as_ref() {
            None => errs.push(ValidationError::required(
                path.child("rollingUpdate"),
                "rollingUpdate is required when type is RollingUpdate",
            )),
            Some(ru) => errs.extend(validate_rolling_update(ru, &path.child("rollingUpdate"), allow_surging)),
        },
        other => errs.push(ValidationError::not_supported(
            path.child("type"),
            other,
            &[ust::ROLLING_UPDATE, ust::ON_DELETE],
        )),
    }
    errs
}

/// The number a non-zero test reads from a budget (ADS-5): a valid percent's number, else the
/// value as an int.
///
/// Quirk (ADS-5): a string that is neither reads as 0, as upstream, so it is never checked
/// itself and counts as zero for the exactly-one-non-zero rule.
fn budget_number(v: &IntOrString) -> i64 {
    match v {
        IntOrString::Int(i) => i64::from(*i),
        IntOrString::String(s) => percent_number(s).or_else(|| s.parse().ok()).unwrap_or(0),
    }
}

/// The number of a `^[0-9]+%$` string.
pub(super) fn percent_number(s: &str) -> Option<i64> {
    let digits = s.strip_suffix('%')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(digits.parse().unwrap_or(i64::MAX))
}

/// An `Invalid value` error showing a structured value as JSON.
pub(super) fn invalid_json(path: FieldPath, value: &impl serde::Serialize, message: &str) -> ValidationError {
    let shown = serde_json::to_string(value).unwrap_or_default();
    ValidationError::new(crate::field::ErrorKind::Invalid, path, Some(shown), message)
}

/// How an IntOrString is shown in an error.
pub(super) fn show(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

/// Kubernetes' `ValidatePositiveIntOrPercent`: an int ≥ 0 or a `^[0-9]+%$` string.
pub(super) fn validate_non_negative_int_or_percent(v: &IntOrString, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    match v {
        IntOrString::Int(i) if *i < 0 => {
            errs.push(ValidationError::invalid(path.clone(), i, "must be greater than or equal to 0"))
        }
        IntOrString::String(s) if percent_number(s).is_none() => errs.push(ValidationError::invalid(
            path.clone(),
            s,
            "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%' or '93%')",
        )),
        _ => {}
    }
    errs
}

/// Kubernetes' `IsNotMoreThan100Percent`: a valid percent string must be ≤ 100 %.
fn validate_at_most_100_percent(v: &IntOrString, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    if let IntOrString::String(s) = v
        && percent_number(s).is_some_and(|n| n > 100)
    {
        errs.push(ValidationError::invalid(path.clone(), s, "must not be greater than 100%"));
    }
    errs
}

fn validate_rolling_update(
    ru: &RollingUpdateDaemonSet,
    path: &FieldPath,
    allow_surging: bool,
) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let budget = |v: Option<&IntOrString>, name: &str, errs: &mut ValidationErrors| -> bool {
        let Some(v) = v.filter(|v| budget_number(v) != 0) else { return false };
        errs.extend(validate_non_negative_int_or_percent(v, &path.child(name)));
        errs.extend(validate_at_most_100_percent(v, &path.child(name)));
        true
    };
    let has_unavailable = budget(ru.max_unavailable.as_ref(), "maxUnavailable", &mut errs);
    let has_surge = budget(ru.max_surge.as_ref(), "maxSurge", &mut errs);
    match (has_unavailable, has_surge) {
        (true, true) => errs.push(ValidationError::invalid(
            path.child("maxSurge"),
            ru.max_surge.as_ref().map(show).unwrap_or_default(),
            "may not be set when maxUnavailable is non-zero",
        )),
        (false, false) => errs
            .push(ValidationError::required(path.child("maxUnavailable"), "cannot be 0 when maxSurge is 0")),
        _ => {}
    }
    match ru.rolling_update_type.as_deref().unwrap_or_default() {
        "" | rut::STANDARD => {}
        rut::IN_PLACE_IF_POSSIBLE => {
            if has_surge {
                errs.push(ValidationError::invalid(
                    path.child("maxSurge"),
                    ru.max_surge.as_ref().map(show).unwrap_or_default(),
                    "must be 0 for the InPlaceIfPossible type",
                ));
            }
        }
        rut::SURGING if allow_surging => {
            if has_unavailable {
                errs.push(ValidationError::invalid(
                    path.child("maxUnavailable"),
                    ru.max_unavailable.as_ref().map(show).unwrap_or_default(),
                    "must be 0 for the Surging type",
                ));
            }
        }
        other => {
            let supported: &[&str] = if allow_surging {
                &[rut::STANDARD, rut::SURGING, rut::IN_PLACE_IF_POSSIBLE]
            } else {
                &[rut::STANDARD, rut::IN_PLACE_IF_POSSIBLE]
            };
            errs.push(ValidationError::not_supported(path.child("rollingUpdateType"), other, supported));
        }
    }
    if let Some(p) = ru.partition.as_ref() {
        errs.extend(validate_non_negative_int_or_percent(p, &path.child("partition")));
        errs.extend(validate_at_most_100_percent(p, &path.child("partition")));
    }
    errs
}

/// ADS-5 on update: only `burstReplicas`, `template`, `lifecycle`, `updateStrategy`,
/// `minReadySeconds`, `revisionHistoryLimit` (and v1beta1 `scaleStrategy`) may change.
fn immutable_error(changed: bool, scale_strategy: bool) -> Option<ValidationError> {
    changed.then(|| {
        let extra = if scale_strategy { "scaleStrategy, " } else { "" };
        ValidationError::forbidden(
            FieldPath::from("spec"),
            format!(
                "updates to daemonset spec for fields other than burstReplicas, template, lifecycle, {extra}updateStrategy, minReadySeconds and revisionHistoryLimit are forbidden"
            ),
        )
    })
}

impl Validate for v1alpha1::DaemonSet {
    /// ADS-5 (v1alpha1 also accepts the deprecated `Surging` type).
    fn validate(&self) -> Result<(), ValidationErrors> {
        validate_daemonset(&self.metadata, (&self.spec).into(), true).into_result()
    }
    /// ADS-5: the immutable-field rule, then every create rule.
    fn validate_update(&self, old: &Self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::new();
        let mut mutable_reset = self.spec.clone();
        mutable_reset.template = old.spec.template.clone();
        mutable_reset.update_strategy = old.spec.update_strategy.clone();
        mutable_reset.lifecycle = old.spec.lifecycle.clone();
        mutable_reset.burst_replicas = old.spec.burst_replicas.clone();
        mutable_reset.min_ready_seconds = old.spec.min_ready_seconds;
        mutable_reset.revision_history_limit = old.spec.revision_history_limit;
        mutable_reset.selector = labels::normalized(mutable_reset.selector.as_ref());
        let mut old_spec = old.spec.clone();
        old_spec.selector = labels::normalized(old_spec.selector.as_ref());
        errs.0.extend(immutable_error(mutable_reset != old_spec, false));
        errs.extend(validate_daemonset(&self.metadata, (&self.spec).into(), true));
        errs.into_result()
    }
}

impl Validate for v1beta1::DaemonSet {
    /// ADS-5.
    fn validate(&self) -> Result<(), ValidationErrors> {
        validate_daemonset(&self.metadata, (&self.spec).into(), false).into_result()
    }
    /// ADS-5: the immutable-field rule, then every create rule.
    fn validate_update(&self, old: &Self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::new();
        let mut mutable_reset = self.spec.clone();
        mutable_reset.template = old.spec.template.clone();
        mutable_reset.update_strategy = old.spec.update_strategy.clone();
        mutable_reset.lifecycle = old.spec.lifecycle.clone();
        mutable_reset.burst_replicas = old.spec.burst_replicas.clone();
        mutable_reset.min_ready_seconds = old.spec.min_ready_seconds;
        mutable_reset.revision_history_limit = old.spec.revision_history_limit;
        mutable_reset.scale_strategy = old.spec.scale_strategy.clone();
        mutable_reset.selector = labels::normalized(mutable_reset.selector.as_ref());
        let mut old_spec = old.spec.clone();
        old_spec.selector = labels::normalized(old_spec.selector.as_ref());
        errs.0.extend(immutable_error(mutable_reset != old_spec, true));
        errs.extend(validate_daemonset(&self.metadata, (&self.spec).into(), false));
        errs.into_result()
    }
}

/// Label-selector checks and matching (Kubernetes' `ValidateLabelSelector`,
/// `LabelSelectorAsSelector`), private to the DaemonSet and SidecarSet validators until the
/// shared `validation::meta` grows them.
pub(super) mod labels {
    use std::collections::BTreeMap;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

    use crate::field::{FieldPath, ValidationError, ValidationErrors};
    use crate::validation::meta::is_dns1123_subdomain;

    const NAME_MAX: usize = 63;

    fn is_name_part(s: &str) -> bool {
        let b = s.as_bytes();
        !b.is_empty()
            && b.len() <= NAME_MAX
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
    }

    /// Kubernetes' `IsQualifiedName`: `[prefix/]name`, the prefix a DNS subdomain, the name
    /// at most 63 alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric. `None` when
    /// valid, else why not.
    pub fn qualified_name_problem(s: &str) -> Option<&'static str> {
        let (prefix, name) = match s.split_once('/') {
            Some((p, n)) => (Some(p), n),
            None => (None, s),
        };
        if name.contains('/') {
            return Some(
                "a qualified name must consist of an optional DNS subdomain prefix and '/' and a name",
            );
        }
        if let Some(p) = prefix
            && !is_dns1123_subdomain(p)
        {
            return Some("the prefix part of a qualified name must be a lowercase DNS-1123 subdomain");
        }
        if !is_name_part(name) {
            return Some(
                "name part must consist of at most 63 alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
            );
        }
        None
    }

    /// Kubernetes' `IsValidLabelValue`: empty, or a valid name part.
    pub fn is_label_value(s: &str) -> bool {
        s.is_empty() || is_name_part(s)
    }

    /// The selector with empty lists and maps read as absent, so that two spellings of the
    /// same selector compare equal (as Kubernetes' semantic equality does).
    pub fn normalized(sel: Option<&LabelSelector>) -> Option<LabelSelector> {
        sel.map(|s| LabelSelector {
            match_labels: s.match_labels.clone().filter(|m| !m.is_empty()),
            match_expressions: s.match_expressions.clone().filter(|e| !e.is_empty()).map(|exprs| {
                exprs
                    .into_iter()
                    .map(|mut e| {
                        e.values = e.values.filter(|v| !v.is_empty());
                        e
                    })
                    .collect()
            }),
        })
    }

    /// True when the selector has neither `matchLabels` nor `matchExpressions`.
    pub fn is_empty_selector(sel: &LabelSelector) -> bool {
        crate::selector::is_empty(sel)
    }

    /// Kubernetes' `ValidateLabelSelector` (label values must be valid).
    pub fn validate_selector(sel: &LabelSelector, path: &FieldPath) -> ValidationErrors {
        let mut errs = ValidationErrors::new();
        let lp = path.child("matchLabels");
        for (k, v) in sel.match_labels.iter().flatten() {
            if let Some(msg) = qualified_name_problem(k) {
                errs.push(ValidationError::invalid(lp.clone(), k, msg));
            }
            if !is_label_value(v) {
                errs.push(ValidationError::invalid(lp.clone(), v, "a valid label value must be at most 63 alphanumeric characters, '-', '_' or '.', starting and ending alphanumeric"));
            }
        }
        for (i, e) in sel.match_expressions.iter().flatten().enumerate() {
            let ep = path.child("matchExpressions").index(i);
            let values = e.values.as_deref().unwrap_or_default();
            match e.operator.as_str() {
                "In" | "NotIn" if values.is_empty() => errs.push(ValidationError::required(
                    ep.child("values"),
                    "must be specified when `operator` is 'In' or 'NotIn'",
                )),
                "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(ValidationError::forbidden(
                    ep.child("values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )),
                "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
                op => errs.push(ValidationError::invalid(
                    ep.child("operator"),
                    op,
                    "not a valid selector operator",
                )),
            }
            if let Some(msg) = qualified_name_problem(&e.key) {
                errs.push(ValidationError::invalid(ep.child("key"), &e.key, msg));
            }
            for (j, v) in values.iter().enumerate() {
                if !is_label_value(v) {
                    errs.push(ValidationError::invalid(
                        ep.child("values").index(j),
                        v,
                        "a valid label value must be at most 63 alphanumeric characters, '-', '_' or '.', starting and ending alphanumeric",
                    ));
                }
            }
        }
        errs
    }

    /// Whether `labels` match the selector; `None` when the selector does not parse (then
    /// upstream skips the check). A nil selector is the caller's business.
    pub fn selector_matches(sel: &LabelSelector, labels: &BTreeMap<String, String>) -> Option<bool> {
        if !validate_selector(sel, &FieldPath::root()).is_empty() {
            return None;
        }
        Some(crate::selector::matches(sel, Some(labels)))
    }
}
