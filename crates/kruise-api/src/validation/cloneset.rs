//! CloneSet validation (CS-13..CS-22), for both served versions, with upstream's field paths.
//!
//! Like the webhook, these functions expect an object that went through defaulting
//! ([`crate::defaults`]) first: a v1alpha1 `updateStrategy.type` left empty, for example, is
//! reported as invalid. The v1alpha1 path is the complete one; the v1beta1 path omits the
//! checks CS-22 lists.
//!
//! ```
//! use kruise_api::apps::v1alpha1::CloneSet;
//! use kruise_api::defaults::default;
//! use kruise_api::validation::validate;
//!
//! let yaml = r#"
//! apiVersion: apps.kruise.io/v1alpha1
//! kind: CloneSet
//! metadata: {name: web}
//! spec:
//!   selector: {matchLabels: {app: web}}
//!   template:
//!     metadata: {labels: {app: other}}
//!     spec: {containers: [{name: nginx, image: "nginx:1.25"}]}
//!   updateStrategy: {maxUnavailable: 0}
//! "#;
//! let mut cs: CloneSet = serde_saphyr::from_str(yaml).unwrap();
//! default(&mut cs);
//! let errs = validate(&cs).unwrap_err();
//! let paths: Vec<String> = errs.iter().map(|e| e.path.to_string()).collect();
//! assert_eq!(paths, ["spec.template.metadata.labels", "spec.updateStrategy.maxUnavailable"]);
//! ```

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::apps::common::{InPlaceUpdateStrategy, UpdatePriorityStrategy, UpdateScatterTerm};
use crate::apps::v1beta1::{pod_update_policy as pol, update_strategy_type as ty};
use crate::apps::{v1alpha1, v1beta1};
use crate::field::{FieldPath, ValidationError, ValidationErrors};
use crate::intstr::{scaled_kruise, scaled_legacy};
use crate::validation::Validate;
use crate::validation::meta::{
    is_convertible_selector, is_empty_selector, validate_deletion_protection, validate_label_selector,
    validate_object_meta, validate_object_meta_update, validate_workload_selector,
};
use crate::validation::pod::{
    first_non_image_change, semantically_equal, validate_pod_template_spec_with_claims,
};

/// `progressDeadlineSeconds` value meaning "no deadline" (CS-19).
pub const NO_PROGRESS_DEADLINE: i32 = i32::MAX;

const IMMUTABLE_MSG: &str = "updates to cloneset spec for fields other than 'replicas', 'template', 'lifecycle', 'scaleStrategy', 'updateStrategy', 'minReadySeconds', 'progressDeadlineSeconds', 'volumeClaimTemplates' and 'revisionHistoryLimit' are forbidden";

/// CS-18: the checks upstream applies to an update priority strategy, as the one error message
/// it reports (`None` when valid).
pub fn priority_strategy_problem(p: Option<&UpdatePriorityStrategy>) -> Option<String> {
    let p = p?;
    if !p.weight_priority.is_empty() && !p.order_priority.is_empty() {
        return Some("only one of weightPriority and orderPriority can be used".to_owned());
    }
    for w in &p.weight_priority {
        // Quirk (CS-18): the message says 1-100 but 0 is accepted.
        if !(0..=100).contains(&w.weight) {
            return Some("weight must be valid number in the range 1-100".to_owned());
        }
        if is_empty_selector(&w.match_selector) {
            return Some("selector can not be empty".to_owned());
        }
        if !is_convertible_selector(&w.match_selector)
            || !validate_label_selector(&w.match_selector, &FieldPath::root()).is_empty()
        {
            return Some("invalid selector".to_owned());
        }
    }
    if p.order_priority.iter().any(|o| o.ordered_key.is_empty()) {
        return Some("order key can not be empty".to_owned());
    }
    None
}

/// CS-18: the checks upstream applies to a scatter strategy (`None` when valid): every key
/// non-empty, no `key:value` pair twice.
pub fn scatter_strategy_problem(s: &[UpdateScatterTerm]) -> Option<String> {
    let mut seen = std::collections::BTreeSet::new();
    for t in s {
        if t.key.is_empty() {
            return Some("key should not be empty".to_owned());
        }
        if !seen.insert((t.key.as_str(), t.value.as_str())) {
            return Some(format!("duplicated key={} value={}", t.key, t.value));
        }
    }
    None
}

fn int_or_string_text(v: Option<&IntOrString>) -> String {
    match v {
        None => "<nil>".to_owned(),
        Some(IntOrString::Int(i)) => i.to_string(),
        Some(IntOrString::String(s)) => s.clone(),
    }
}

/// CS-13, CS-14: metadata, replicas, selector and template, common to both versions.
fn validate_common(
    meta: &ObjectMeta,
    replicas: Option<i32>,
    selector: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
    template: &PodTemplateSpec,
    claims: &[PersistentVolumeClaim],
) -> ValidationErrors {
    let spec = FieldPath::from("spec");
    let mut errs = validate_object_meta(meta, &FieldPath::from("metadata"));
    if let Some(r) = replicas.filter(|r| *r < 0) {
        errs.push(ValidationError::invalid(spec.child("replicas"), r, "must be greater than or equal to 0"));
    }
    let labels = template.metadata.as_ref().and_then(|m| m.labels.as_ref());
    errs.extend(validate_workload_selector(selector, labels, "cloneset", &spec));
    let claim_names: Vec<&str> = claims.iter().filter_map(|c| c.metadata.name.as_deref()).collect();
    errs.extend(validate_pod_template_spec_with_claims(template, &claim_names, &spec.child("template")));
    let tspec = spec.child("template").child("spec");
    if let Some(ps) = &template.spec {
        if let Some(rp) = ps.restart_policy.as_deref().filter(|rp| !rp.is_empty() && *rp != "Always") {
            // Skip values the pod check already rejects, so each problem is reported once.
            if crate::validation::pod::RESTART_POLICIES.contains(&rp) {
                errs.push(ValidationError::not_supported(tspec.child("restartPolicy"), rp, &["Always"]));
            }
        }
        if ps.active_deadline_seconds.is_some() {
            errs.push(ValidationError::forbidden(
                tspec.child("activeDeadlineSeconds"),
                "activeDeadlineSeconds in cloneset is not Supported",
            ));
        }
    }
    errs
}

/// CS-15 (first part): `podsToDelete` must not list a name twice.
fn validate_pods_to_delete_unique(names: &[String], path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let mut seen = std::collections::BTreeSet::new();
    let dups: std::collections::BTreeSet<&str> =
        names.iter().filter(|n| !seen.insert(n.as_str())).map(String::as_str).collect();
    if !dups.is_empty() {
        errs.push(ValidationError::invalid(
            path.child("podsToDelete"),
            names,
            format!("duplicated items {:?}", dups.into_iter().collect::<Vec<_>>()),
        ));
    }
    errs
}

/// CS-15 (deviation): `scaleStrategy.maxUnavailable` must be readable by the controller's
/// reader (an int, or an integer with `%`) and not negative. Upstream does not validate it and
/// reads a bad string as 0, which blocks scale-up forever (ScaleUpLimited); we reject it instead
/// (docs/deviations.md).
fn validate_scale_max_unavailable(v: Option<&IntOrString>, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let path = path.child("maxUnavailable");
    match (v, scaled_legacy(v, 100, true)) {
        (None, _) => {}
        (Some(_), Err(e)) => errs.push(ValidationError::invalid(
            path,
            int_or_string_text(v),
            format!("must be an integer or a percentage like \"20%\": {e}"),
        )),
        (Some(_), Ok(n)) if n < 0 => errs.push(ValidationError::invalid(
            path,
            int_or_string_text(v),
            "must be greater than or equal to 0",
        )),
        (Some(_), Ok(_)) => {}
    }
    errs
}

/// The rolling parameters shared by both versions' update strategies (CS-17, CS-18).
struct Rolling<'a> {
    in_place_only: bool,
    /// How the version names the in-place-only setting in the maxSurge message.
    in_place_only_setting: &'static str,
    partition: Option<&'a IntOrString>,
    max_unavailable: Option<&'a IntOrString>,
    max_surge: Option<&'a IntOrString>,
    priority: Option<&'a UpdatePriorityStrategy>,
    scatter: &'a [UpdateScatterTerm],
}

/// CS-17, CS-18 on the fields at `path` (`spec.updateStrategy` or
/// `spec.updateStrategy.rollingUpdate`).
fn validate_rolling(r: &Rolling<'_>, replicas: i32, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let partition = match scaled_kruise(r.partition, replicas, true) {
        Ok(p) => p,
        Err(e) => {
            errs.push(ValidationError::invalid(
                path.child("partition"),
                int_or_string_text(r.partition),
                format!("failed GetScaledValueFromIntOrPercent for partition: {e}"),
            ));
            0
        }
    };
    if partition < 0 {
        errs.push(ValidationError::invalid(
            path.child("partition"),
            partition,
            "must be greater than or equal to 0",
        ));
    }
    if let Some(msg) = priority_strategy_problem(r.priority) {
        errs.push(ValidationError::required(path.child("priorityStrategy"), msg));
    }
    if let Some(msg) = scatter_strategy_problem(r.scatter) {
        errs.push(ValidationError::required(path.child("scatterStrategy"), msg));
    }
    let mut max_unavailable = 0;
    if r.max_unavailable.is_some() {
        match scaled_kruise(r.max_unavailable, replicas, true) {
            Ok(v) => max_unavailable = v,
            Err(e) => errs.push(ValidationError::invalid(
                path.child("maxUnavailable"),
                int_or_string_text(r.max_unavailable),
                format!("failed GetScaledValueFromIntOrPercent for maxUnavailable: {e}"),
            )),
        }
    }
    let mut max_surge = 0;
    if r.max_surge.is_some() {
        match scaled_kruise(r.max_surge, replicas, true) {
            Ok(v) => max_surge = v,
            Err(e) => errs.push(ValidationError::invalid(
                path.child("maxSurge"),
                int_or_string_text(r.max_surge),
                format!("failed GetScaledValueFromIntOrPercent for maxSurge: {e}"),
            )),
        }
        if r.in_place_only && max_surge > 0 {
            errs.push(ValidationError::invalid(
                path.child("maxSurge"),
                int_or_string_text(r.max_surge),
                format!("can not use maxSurge with {} InPlaceOnly", r.in_place_only_setting),
            ));
        }
    }
    // Quirk (CS-17): upstream's v1beta1 path shadows its maxSurge variable, so it rejects
    // `maxUnavailable: 0, maxSurge: 1` written through v1beta1. We apply the documented rule
    // (both less than 1) to both versions.
    if replicas > 0 && max_unavailable < 1 && max_surge < 1 {
        errs.push(ValidationError::invalid(
            path.child("maxUnavailable"),
            int_or_string_text(r.max_unavailable),
            "maxUnavailable and maxSurge should not both be less than 1",
        ));
    }
    errs
}

/// CS-19 (v1beta1): image pre-download fields of `inPlaceUpdateStrategy`.
fn validate_pre_download(s: &InPlaceUpdateStrategy, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let pp = path.child("imagePreDownloadParallelism");
    match &s.image_pre_download_parallelism {
        None => {}
        Some(IntOrString::Int(n)) if *n < 0 => {
            errs.push(ValidationError::invalid(pp, n, "imagePreDownloadParallelism must be non-negative"))
        }
        Some(IntOrString::Int(_)) => {}
        Some(IntOrString::String(s)) if s.ends_with('%') => errs.push(ValidationError::invalid(
            pp,
            s,
            "imagePreDownloadParallelism does not support percentage value",
        )),
        Some(IntOrString::String(s)) => match s.parse::<i32>() {
            Err(e) => errs.push(ValidationError::invalid(
                pp,
                s,
                format!("imagePreDownloadParallelism must be a valid integer: {e}"),
            )),
            Ok(n) if n < 0 => {
                errs.push(ValidationError::invalid(pp, s, "imagePreDownloadParallelism must be non-negative"))
            }
            Ok(_) => {}
        },
    }
    for (field, v) in [
        ("imagePreDownloadTimeoutSeconds", s.image_pre_download_timeout_seconds),
        ("imagePreDownloadMinUpdatedReadyPods", s.image_pre_download_min_updated_ready_pods),
    ] {
        if let Some(v) = v.filter(|v| *v < 0) {
            errs.push(ValidationError::invalid(path.child(field), v, "must be greater than or equal to 0"));
        }
    }
    errs
}

/// CS-13..CS-19: validates a v1alpha1 CloneSet as a create request (the pod-existence part of
/// CS-15 is [`validate_pods_to_delete`]).
pub fn validate_cloneset_v1alpha1(cs: &v1alpha1::CloneSet) -> ValidationErrors {
    let s = &cs.spec;
    let spec = FieldPath::from("spec");
    let replicas = s.replicas.unwrap_or(1);
    let mut errs = validate_common(
        &cs.metadata,
        s.replicas,
        s.selector.as_ref(),
        &s.template,
        &s.volume_claim_templates,
    );
    errs.extend(validate_pods_to_delete_unique(
        &s.scale_strategy.pods_to_delete,
        &spec.child("scaleStrategy"),
    ));
    errs.extend(validate_scale_max_unavailable(
        s.scale_strategy.max_unavailable.as_ref(),
        &spec.child("scaleStrategy"),
    ));

    let us = &s.update_strategy;
    let up = spec.child("updateStrategy");
    let kind = us.type_.as_deref().unwrap_or_default();
    if !matches!(kind, pol::RECREATE | pol::IN_PLACE_IF_POSSIBLE | pol::IN_PLACE_ONLY) {
        // CS-16: `OnDelete` is rejected through v1alpha1.
        errs.push(ValidationError::invalid(
            up.child("type"),
            kind,
            "must be 'ReCreate', InPlaceIfPossible or 'InPlaceOnly'",
        ));
    }
    let rolling = Rolling {
        in_place_only: kind == pol::IN_PLACE_ONLY,
        in_place_only_setting: "strategy type",
        partition: us.partition.as_ref(),
        max_unavailable: us.max_unavailable.as_ref(),
        max_surge: us.max_surge.as_ref(),
        priority: us.priority_strategy.as_ref(),
        scatter: &us.scatter_strategy,
    };
    errs.extend(validate_rolling(&rolling, replicas, &up));

    // CS-19 (v1alpha1 only).
    if let Some(pds) = s.progress_deadline_seconds {
        let pp = spec.child("progressDeadlineSeconds");
        if pds < 0 {
            errs.push(ValidationError::invalid(pp.clone(), pds, "must be greater than or equal to 0"));
        }
        if pds != NO_PROGRESS_DEADLINE && pds <= s.min_ready_seconds {
            errs.push(ValidationError::invalid(pp, pds, "must be greater than minReadySeconds"));
        }
    }
    errs
}

/// CS-13..CS-19 as the v1beta1 path applies them (CS-22: no podsToDelete existence, no
/// progressDeadlineSeconds check; plus the pre-download checks of CS-19).
pub fn validate_cloneset_v1beta1(cs: &v1beta1::CloneSet) -> ValidationErrors {
    let s = &cs.spec;
    let spec = FieldPath::from("spec");
    let replicas = s.replicas.unwrap_or(1);
    let mut errs = validate_common(
        &cs.metadata,
        s.replicas,
        s.selector.as_ref(),
        &s.template,
        &s.volume_claim_templates,
    );
    errs.extend(validate_pods_to_delete_unique(
        &s.scale_strategy.pods_to_delete,
        &spec.child("scaleStrategy"),
    ));
    errs.extend(validate_scale_max_unavailable(
        s.scale_strategy.max_unavailable.as_ref(),
        &spec.child("scaleStrategy"),
    ));

    let us = &s.update_strategy;
    let up = spec.child("updateStrategy");
    let kind = us.type_.as_deref().unwrap_or_default();
    if !matches!(kind, ty::ROLLING_UPDATE | ty::ON_DELETE | "") {
        errs.push(ValidationError::invalid(up.child("type"), kind, "must be 'RollingUpdate' or 'OnDelete'"));
    }
    if let Some(ru) = &us.rolling_update {
        let rp = up.child("rollingUpdate");
        let policy = ru.pod_update_policy.as_deref().unwrap_or_default();
        if !matches!(policy, pol::RECREATE | pol::IN_PLACE_IF_POSSIBLE | pol::IN_PLACE_ONLY | "") {
            errs.push(ValidationError::invalid(
                rp.child("podUpdatePolicy"),
                policy,
                "must be 'ReCreate', 'InPlaceIfPossible' or 'InPlaceOnly'",
            ));
        }
        let rolling = Rolling {
            in_place_only: policy == pol::IN_PLACE_ONLY,
            in_place_only_setting: "podUpdatePolicy",
            partition: ru.partition.as_ref(),
            max_unavailable: ru.max_unavailable.as_ref(),
            max_surge: ru.max_surge.as_ref(),
            priority: ru.priority_strategy.as_ref(),
            scatter: &ru.scatter_strategy,
        };
        errs.extend(validate_rolling(&rolling, replicas, &rp));
        if let Some(ipu) = &ru.in_place_update_strategy {
            errs.extend(validate_pre_download(ipu, &rp.child("inPlaceUpdateStrategy")));
        }
    }
    errs
}

/// CS-15 (v1alpha1 only): every `podsToDelete` name not already listed in `old` must be a pod
/// among `pods` in the CloneSet's namespace, not terminating, and controlled by this CloneSet
/// (controller owner UID = CloneSet UID).
pub fn validate_pods_to_delete(
    cs: &v1alpha1::CloneSet,
    old: Option<&v1alpha1::CloneSet>,
    pods: &[Pod],
) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let path = FieldPath::from("spec").child("scaleStrategy").child("podsToDelete");
    let names = &cs.spec.scale_strategy.pods_to_delete;
    if !validate_pods_to_delete_unique(names, &FieldPath::root()).is_empty() {
        return errs; // CS-15: validation of the scale strategy stops at duplicates.
    }
    let before: std::collections::BTreeSet<&str> = old
        .map(|o| o.spec.scale_strategy.pods_to_delete.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let ns = cs.metadata.namespace.as_deref().unwrap_or_default();
    let mut added: Vec<&str> = names.iter().map(String::as_str).filter(|n| !before.contains(n)).collect();
    added.sort();
    for name in added {
        let pod = pods.iter().find(|p| {
            p.metadata.name.as_deref() == Some(name) && p.metadata.namespace.as_deref().unwrap_or(ns) == ns
        });
        match pod {
            None => errs.push(ValidationError::invalid(
                path.clone(),
                name,
                format!("find pod {name} failed: not found"),
            )),
            Some(p) if p.metadata.deletion_timestamp.is_some() => errs.push(ValidationError::invalid(
                path.clone(),
                name,
                format!("find pod {name} already terminating"),
            )),
            Some(p) => {
                let controller =
                    p.metadata.owner_references.iter().flatten().find(|r| r.controller == Some(true));
                if controller.is_none_or(|r| Some(&r.uid) != cs.metadata.uid.as_ref()) {
                    errs.push(ValidationError::invalid(
                        path.clone(),
                        name,
                        format!("find pod {name} owner is not this CloneSet"),
                    ));
                }
            }
        }
    }
    errs
}

/// CS-20 (v1alpha1): update checks — metadata update rules, immutable spec fields, the
/// InPlaceOnly image-only rule — then the create checks on the new object. The podsToDelete
/// existence rule of CS-15 needs the pods: call [`validate_pods_to_delete`] as well.
pub fn validate_cloneset_v1alpha1_update(
    new: &v1alpha1::CloneSet,
    old: &v1alpha1::CloneSet,
) -> ValidationErrors {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata, &FieldPath::from("metadata"));
    let mut frozen = new.spec.clone();
    frozen.replicas = old.spec.replicas;
    frozen.template = old.spec.template.clone();
    frozen.scale_strategy = old.spec.scale_strategy.clone();
    frozen.update_strategy = old.spec.update_strategy.clone();
    frozen.min_ready_seconds = old.spec.min_ready_seconds;
    frozen.lifecycle = old.spec.lifecycle.clone();
    frozen.revision_history_limit = old.spec.revision_history_limit;
    frozen.volume_claim_templates = old.spec.volume_claim_templates.clone();
    frozen.progress_deadline_seconds = old.spec.progress_deadline_seconds;
    if !semantically_equal(&frozen, &old.spec) {
        errs.push(ValidationError::forbidden(FieldPath::from("spec"), IMMUTABLE_MSG));
    }
    if new.spec.update_strategy.type_.as_deref() == Some(pol::IN_PLACE_ONLY)
        && let Some(op) = first_non_image_change(&old.spec.template, &new.spec.template)
    {
        errs.push(ValidationError::forbidden(
            FieldPath::from("spec"),
            format!("only allowed to update images in spec for InPlaceOnly, but found {} {}", op.op, op.path),
        ));
    }
    errs.extend(validate_cloneset_v1alpha1(new));
    errs
}

/// CS-20, CS-22 (v1beta1): metadata update rules and immutable spec fields, then the create
/// checks. No InPlaceOnly image-only rule on this path (CS-22).
pub fn validate_cloneset_v1beta1_update(
    new: &v1beta1::CloneSet,
    old: &v1beta1::CloneSet,
) -> ValidationErrors {
    let mut errs = validate_object_meta_update(&new.metadata, &old.metadata, &FieldPath::from("metadata"));
    let mut frozen = new.spec.clone();
    frozen.replicas = old.spec.replicas;
    frozen.template = old.spec.template.clone();
    frozen.scale_strategy = old.spec.scale_strategy.clone();
    frozen.update_strategy = old.spec.update_strategy.clone();
    frozen.min_ready_seconds = old.spec.min_ready_seconds;
    frozen.progress_deadline_seconds = old.spec.progress_deadline_seconds;
    frozen.lifecycle = old.spec.lifecycle.clone();
    frozen.revision_history_limit = old.spec.revision_history_limit;
    frozen.volume_claim_templates = old.spec.volume_claim_templates.clone();
    if !semantically_equal(&frozen, &old.spec) {
        errs.push(ValidationError::forbidden(FieldPath::from("spec"), IMMUTABLE_MSG));
    }
    errs.extend(validate_cloneset_v1beta1(new));
    errs
}

/// CS-21: may this v1alpha1 CloneSet be deleted? (Call only with gate
/// `ResourcesDeletionProtection` on.)
pub fn validate_cloneset_v1alpha1_delete(cs: &v1alpha1::CloneSet) -> ValidationErrors {
    validate_deletion_protection(&cs.metadata, cs.spec.replicas)
}

/// CS-21: may this v1beta1 CloneSet be deleted? (Call only with gate
/// `ResourcesDeletionProtection` on.)
pub fn validate_cloneset_v1beta1_delete(cs: &v1beta1::CloneSet) -> ValidationErrors {
    validate_deletion_protection(&cs.metadata, cs.spec.replicas)
}

impl Validate for v1alpha1::CloneSet {
    fn validate(&self) -> Result<(), ValidationErrors> {
        validate_cloneset_v1alpha1(self).into_result()
    }
    fn validate_update(&self, old: &Self) -> Result<(), ValidationErrors> {
        validate_cloneset_v1alpha1_update(self, old).into_result()
    }
}

impl Validate for v1beta1::CloneSet {
    fn validate(&self) -> Result<(), ValidationErrors> {
        validate_cloneset_v1beta1(self).into_result()
    }
    fn validate_update(&self, old: &Self) -> Result<(), ValidationErrors> {
        validate_cloneset_v1beta1_update(self, old).into_result()
    }
}
