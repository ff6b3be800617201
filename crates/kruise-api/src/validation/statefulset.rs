//! Advanced StatefulSet validation (ASTS-8, ASTS-9), as the validating webhook applies it.
//! v1alpha1 objects are converted to v1beta1 first (as upstream does), so both versions report
//! the same field paths.
//!
//! Like upstream, admission does not run the full pod-template validation for a StatefulSet
//! (only selector/labels, `restartPolicy` and `activeDeadlineSeconds`);
//! [`validate_statefulset_pod_template`] offers the stricter check separately.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::apps::v1beta1::{
    STATEFULSET_MAX_MIN_READY_SECONDS, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    pod_management_policy as pmp, pod_update_policy as pol, pvc_retention_policy,
    statefulset_update_strategy_type as ty, volume_claim_update_strategy_type,
};
use crate::apps::{v1alpha1, v1beta1};
use crate::convert::statefulset_to_v1beta1;
use crate::field::{FieldPath, ValidationError, ValidationErrors};
use crate::intstr::scaled_legacy;
use crate::keys;
use crate::validation::Validate;
use crate::validation::cloneset::priority_strategy_problem;
use crate::validation::meta::{
    validate_annotations, validate_deletion_protection, validate_labels, validate_object_meta,
    validate_object_meta_update, validate_workload_selector,
};
use crate::validation::pod::{
    first_non_image_change, semantically_equal, validate_pod_template_spec_with_claims,
};

const IMMUTABLE_MSG: &str = "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'reserveOrdinals', 'lifecycle', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy', `volumeClaimTemplates`, `VolumeClaimUpdateStrategy` and 'updateStrategy' are forbidden";

/// Annotation marking the cluster's default StorageClass.
pub const DEFAULT_STORAGE_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

/// ASTS-12: parses a reserve-ordinal range `"a-b"` (both decimal, `a <= b`), as the webhook
/// accepts it: exactly `^\d+-\d+$`.
pub fn parse_ordinal_range(s: &str) -> Option<(i32, i32)> {
    let (a, b) = s.split_once('-')?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
    if !digits(a) || !digits(b) {
        return None;
    }
    let (a, b): (i32, i32) = (a.parse().ok()?, b.parse().ok()?);
    (a <= b).then_some((a, b))
}

/// ASTS-8 item 8: the maxUnavailable check, used for `rollingUpdate.maxUnavailable` and
/// `scaleStrategy.maxUnavailable`.
fn validate_max_unavailable(v: &IntOrString, parallel: bool, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    match v {
        IntOrString::Int(i) if *i < 0 => {
            errs.push(ValidationError::invalid(path.clone(), i, "must be greater than or equal to 0"))
        }
        IntOrString::String(s) if !is_integer_percent(s) => errs.push(ValidationError::invalid(
            path.clone(),
            s,
            "must be an integer or percentage (e.g '5%')",
        )),
        _ => {}
    }
    match scaled_legacy(Some(v), 1, true) {
        Err(e) => errs.push(ValidationError::invalid(
            path.clone(),
            int_or_string_text(v),
            format!("getValueFromIntOrPercent error: {e}"),
        )),
        Ok(n) if n < 1 => errs.push(ValidationError::invalid(path.clone(), n, "should not be less than 1")),
        Ok(_) => {}
    }
    if !parallel && *v != IntOrString::Int(1) {
        errs.push(ValidationError::invalid(
            path.clone(),
            int_or_string_text(v),
            "can only work with Parallel PodManagementPolicyType",
        ));
    }
    errs
}

fn is_integer_percent(s: &str) -> bool {
    s.strip_suffix('%').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn int_or_string_text(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

fn validate_retention_policy(
    p: Option<&StatefulSetPersistentVolumeClaimRetentionPolicy>,
    path: &FieldPath,
) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let supported = [pvc_retention_policy::RETAIN, pvc_retention_policy::DELETE];
    if let Some(p) = p {
        for (field, v) in [("whenDeleted", &p.when_deleted), ("whenScaled", &p.when_scaled)] {
            let v = v.as_deref().unwrap_or_default();
            if !supported.contains(&v) {
                errs.push(ValidationError::not_supported(path.child(field), v, &supported));
            }
        }
    }
    errs
}

/// ASTS-8: validates the spec of a (v1beta1) StatefulSet.
fn validate_spec(s: &StatefulSetSpec, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    // 1. podManagementPolicy.
    let policy = s.pod_management_policy.as_deref().unwrap_or_default();
    let parallel = policy == pmp::PARALLEL;
    match policy {
        "" => errs.push(ValidationError::required(
            path.child("podManagementPolicy"),
            "podManagementPolicy is required",
        )),
        pmp::ORDERED_READY | pmp::PARALLEL => {}
        other => errs.push(ValidationError::invalid(
            path.child("podManagementPolicy"),
            other,
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    // 2. reserveOrdinals.
    for (i, o) in s.reserve_ordinals.iter().enumerate() {
        let p = path.child("reserveOrdinals").index(i);
        match o {
            IntOrString::Int(n) if *n < 0 => {
                errs.push(ValidationError::invalid(p, n, format!("{i} th reserve ordinal is negative: {n}")))
            }
            IntOrString::Int(_) => {}
            IntOrString::String(r) if parse_ordinal_range(r).is_none() => errs.push(
                ValidationError::invalid(p, r, format!("{i} th reserve ordinal is not a valid range: {r}")),
            ),
            IntOrString::String(_) => {}
        }
    }
    // 3. scaleStrategy.maxUnavailable.
    if let Some(mu) = s.scale_strategy.as_ref().and_then(|ss| ss.max_unavailable.as_ref()) {
        errs.extend(validate_max_unavailable(
            mu,
            parallel,
            &path.child("scaleStrategy").child("maxUnavailable"),
        ));
    }
    // 4-6. updateStrategy.
    let up = path.child("updateStrategy");
    match s.update_strategy.type_.as_deref().unwrap_or_default() {
        "" => errs.push(ValidationError::required(up, "updateStrategy.type is required")),
        ty::ON_DELETE => {
            if s.update_strategy.rolling_update.is_some() {
                errs.push(ValidationError::invalid(
                    up.child("rollingUpdate"),
                    "",
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
        }
        ty::ROLLING_UPDATE => {
            if let Some(ru) = &s.update_strategy.rolling_update {
                let rp = up.child("rollingUpdate");
                let partition = ru.partition.unwrap_or(0);
                if partition < 0 {
                    errs.push(ValidationError::invalid(
                        rp.child("partition"),
                        partition,
                        "must be greater than or equal to 0",
                    ));
                }
                let mrs = ru.min_ready_seconds.unwrap_or(0);
                if mrs < 0 {
                    errs.push(ValidationError::invalid(
                        rp.child("minReadySeconds"),
                        mrs,
                        "must be greater than or equal to 0",
                    ));
                }
                if mrs > STATEFULSET_MAX_MIN_READY_SECONDS {
                    errs.push(ValidationError::invalid(
                        rp.child("minReadySeconds"),
                        mrs,
                        "must be no more than 300 seconds",
                    ));
                }
                match &ru.max_unavailable {
                    None => errs.push(ValidationError::required(
                        rp.child("maxUnavailable"),
                        "maxUnavailable is required",
                    )),
                    Some(mu) => {
                        errs.extend(validate_max_unavailable(mu, parallel, &rp.child("maxUnavailable")))
                    }
                }
                match ru.pod_update_policy.as_deref().unwrap_or_default() {
                    "" => errs.push(ValidationError::required(
                        rp.child("podUpdatePolicy"),
                        "podUpdatePolicy is required",
                    )),
                    pol::RECREATE => {}
                    p @ (pol::IN_PLACE_IF_POSSIBLE | pol::IN_PLACE_ONLY) => {
                        let gates = s
                            .template
                            .spec
                            .as_ref()
                            .and_then(|ps| ps.readiness_gates.as_deref())
                            .unwrap_or_default();
                        if !gates.iter().any(|g| g.condition_type == keys::INPLACE_UPDATE_READY) {
                            errs.push(ValidationError::invalid(
                                path.child("template").child("spec").child("readinessGates"),
                                gates.iter().map(|g| g.condition_type.as_str()).collect::<Vec<_>>(),
                                format!(
                                    "must contains {} when podUpdatePolicy is {p}",
                                    keys::INPLACE_UPDATE_READY
                                ),
                            ));
                        }
                    }
                    other => errs.push(ValidationError::invalid(
                        rp.child("podUpdatePolicy"),
                        other,
                        "must be 'ReCreate', InPlaceIfPossible or 'InPlaceOnly'",
                    )),
                }
                if let Some(uu) = &ru.unordered_update {
                    let uup = rp.child("unorderedUpdate");
                    if !parallel {
                        errs.push(ValidationError::required(
                            uup.clone(),
                            "unorderedUpdate can only work with Parallel PodManagementPolicyType",
                        ));
                    }
                    if let Some(msg) = priority_strategy_problem(uu.priority_strategy.as_ref()) {
                        errs.push(ValidationError::required(uup.child("priorityStrategy"), msg));
                    }
                }
            }
        }
        other => errs.push(ValidationError::invalid(up, other, "must be 'RollingUpdate' or 'OnDelete'")),
    }
    // 7. retention policy, replicas, selector, template.
    errs.extend(validate_retention_policy(
        s.persistent_volume_claim_retention_policy.as_ref(),
        &path.child("persistentVolumeClaimRetentionPolicy"),
    ));
    if let Some(r) = s.replicas.filter(|r| *r < 0) {
        errs.push(ValidationError::invalid(path.child("replicas"), r, "must be greater than or equal to 0"));
    }
    let tmeta = s.template.metadata.as_ref();
    let labels = tmeta.and_then(|m| m.labels.as_ref());
    errs.extend(validate_workload_selector(s.selector.as_ref(), labels, "statefulset", path));
    let mp = path.child("template").child("metadata");
    errs.extend(validate_labels(labels, &mp.child("labels")));
    errs.extend(validate_annotations(tmeta.and_then(|m| m.annotations.as_ref()), &mp.child("annotations")));
    let tspec = path.child("template").child("spec");
    if let Some(ps) = &s.template.spec {
        if let Some(rp) = ps.restart_policy.as_deref().filter(|rp| !rp.is_empty() && *rp != "Always") {
            errs.push(ValidationError::not_supported(tspec.child("restartPolicy"), rp, &["Always"]));
        }
        if ps.active_deadline_seconds.is_some() {
            errs.push(ValidationError::forbidden(
                tspec.child("activeDeadlineSeconds"),
                "activeDeadlineSeconds in StatefulSet is not Supported",
            ));
        }
    }
    errs
}

/// ASTS-8: validates a v1beta1 StatefulSet as a create request.
pub fn validate_statefulset_v1beta1(sts: &v1beta1::StatefulSet) -> ValidationErrors {
    let mut errs = validate_object_meta(&sts.metadata, &FieldPath::from("metadata"));
    errs.extend(validate_spec(&sts.spec, &FieldPath::from("spec")));
    errs
}

/// ASTS-8: validates a v1alpha1 StatefulSet (converted to v1beta1 first, as upstream does).
pub fn validate_statefulset_v1alpha1(sts: &v1alpha1::StatefulSet) -> ValidationErrors {
    validate_statefulset_v1beta1(&statefulset_to_v1beta1(sts))
}

/// ASTS-9: update checks — metadata update rules, immutable spec fields, the InPlaceOnly
/// image-only rule (reported on `spec.template`) — plus the create checks on the new object.
/// The PVC-template rules of the resize gate are [`validate_volume_claim_templates_update`].
pub fn validate_statefulset_v1beta1_update(
    new: &v1beta1::StatefulSet,
    old: &v1beta1::StatefulSet,
) -> ValidationErrors {
    let mut errs = validate_statefulset_v1beta1(new);
    errs.extend(validate_object_meta_update(&new.metadata, &old.metadata, &FieldPath::from("metadata")));
    let mut frozen = new.spec.clone();
    frozen.replicas = old.spec.replicas;
    frozen.template = old.spec.template.clone();
    frozen.update_strategy = old.spec.update_strategy.clone();
    frozen.persistent_volume_claim_retention_policy =
        old.spec.persistent_volume_claim_retention_policy.clone();
    frozen.scale_strategy = old.spec.scale_strategy.clone();
    frozen.volume_claim_templates = old.spec.volume_claim_templates.clone();
    frozen.volume_claim_update_strategy = old.spec.volume_claim_update_strategy.clone();
    frozen.reserve_ordinals = old.spec.reserve_ordinals.clone();
    frozen.lifecycle = old.spec.lifecycle.clone();
    frozen.revision_history_limit = old.spec.revision_history_limit;
    frozen.ordinals = old.spec.ordinals.clone();
    if !semantically_equal(&frozen, &old.spec) {
        errs.push(ValidationError::forbidden(FieldPath::from("spec"), IMMUTABLE_MSG));
    }
    if new.pod_update_policy() == v1beta1::PodUpdatePolicy::InPlaceOnly
        && new.spec.update_strategy.rolling_update.is_some()
        && let Some(op) = first_non_image_change(&old.spec.template, &new.spec.template)
    {
        errs.push(ValidationError::forbidden(
            FieldPath::from("spec").child("template"),
            format!(
                "invalid template modified with InPlaceOnly strategy: {} {}, currently only image update is allowed for InPlaceOnly",
                op.op, op.path
            ),
        ));
    }
    errs
}

/// ASTS-9 for v1alpha1 objects (converted to v1beta1 first).
pub fn validate_statefulset_v1alpha1_update(
    new: &v1alpha1::StatefulSet,
    old: &v1alpha1::StatefulSet,
) -> ValidationErrors {
    validate_statefulset_v1beta1_update(&statefulset_to_v1beta1(new), &statefulset_to_v1beta1(old))
}

/// ASTS-9, gate `StatefulSetAutoResizePVCGate`: with `volumeClaimUpdateStrategy.type:
/// OnPodRollingUpdate`, claim templates may not be added, removed or renamed, may change only
/// their storage request/limit, and only when their StorageClass (from `storage_classes`; the
/// default class when unnamed) does not set `allowVolumeExpansion: false`. Like upstream, only
/// the first problem is reported.
pub fn validate_volume_claim_templates_update(
    new: &v1beta1::StatefulSet,
    old: &v1beta1::StatefulSet,
    storage_classes: &[StorageClass],
) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    if new.spec.volume_claim_update_strategy.type_.as_deref()
        != Some(volume_claim_update_strategy_type::ON_POD_ROLLING_UPDATE)
    {
        return errs;
    }
    let vp = FieldPath::from("spec").child("volumeClaimTemplates");
    if new.spec.volume_claim_templates.len() != old.spec.volume_claim_templates.len() {
        errs.push(ValidationError::invalid(
            vp,
            new.spec.volume_claim_templates.len(),
            "volumeClaimTemplate can not be added or deleted when OnRollingUpdate",
        ));
        return errs;
    }
    for t in &new.spec.volume_claim_templates {
        let name = t.metadata.name.as_deref().unwrap_or_default();
        let tp = vp.key(name);
        let Some(o) =
            old.spec.volume_claim_templates.iter().find(|o| o.metadata.name.as_deref() == Some(name))
        else {
            errs.push(ValidationError::forbidden(
                tp.child("name"),
                "volumeClaimTemplate name can not be modified",
            ));
            return errs;
        };
        if o == t {
            continue;
        }
        if without_storage_size(o) != without_storage_size(t) {
            errs.push(ValidationError::invalid(
                tp,
                name,
                "volumeClaimTemplate can not be modified when OnRollingUpdate",
            ));
            return errs;
        }
        let class_name = t.spec.as_ref().and_then(|s| s.storage_class_name.as_deref());
        let class = match class_name {
            None => default_storage_class(storage_classes),
            Some(n) => match storage_classes.iter().find(|c| c.metadata.name.as_deref() == Some(n)) {
                Some(c) => Some(c),
                None => {
                    errs.push(ValidationError::invalid(
                        tp.child("spec").child("storageClassName"),
                        n,
                        "can not get sc",
                    ));
                    return errs;
                }
            },
        };
        if let Some(c) = class.filter(|c| c.allow_volume_expansion == Some(false)) {
            errs.push(ValidationError::forbidden(
                tp.child("spec").child("resources").child("requests").child("storage"),
                format!(
                    "storage class {} does not support volume expansion",
                    c.metadata.name.as_deref().unwrap_or_default()
                ),
            ));
            return errs;
        }
    }
    errs
}

/// The claim template with its storage request and limit removed (what may change on resize).
fn without_storage_size(pvc: &PersistentVolumeClaim) -> PersistentVolumeClaim {
    let mut p = pvc.clone();
    if let Some(r) = p.spec.as_mut().and_then(|s| s.resources.as_mut()) {
        for list in [&mut r.requests, &mut r.limits] {
            if let Some(m) = list.as_mut() {
                m.remove("storage");
                if m.is_empty() {
                    *list = None;
                }
            }
        }
    }
    p
}

/// The default StorageClass: among classes annotated as default, the newest (ties: the
/// greatest name, so the choice is deterministic).
fn default_storage_class(classes: &[StorageClass]) -> Option<&StorageClass> {
    classes
        .iter()
        .filter(|c| {
            c.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(DEFAULT_STORAGE_CLASS_ANNOTATION))
                .map(String::as_str)
                == Some("true")
        })
        .max_by(|a, b| {
            a.metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0)
                .cmp(&b.metadata.creation_timestamp.as_ref().map(|t| t.0))
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        })
}

/// Stricter than admission (not an upstream rule): the full pod-template validation of
/// [`crate::validation::pod`], with one volume per claim template, i.e. what would make pod
/// creation fail later. Useful before applying a manifest.
pub fn validate_statefulset_pod_template(sts: &v1beta1::StatefulSet) -> ValidationErrors {
    let claims: Vec<&str> =
        sts.spec.volume_claim_templates.iter().filter_map(|c| c.metadata.name.as_deref()).collect();
    validate_pod_template_spec_with_claims(
        &sts.spec.template,
        &claims,
        &FieldPath::from("spec").child("template"),
    )
}

/// ASTS-9: delete protection (with gate `ResourcesDeletionProtection`), as for CloneSet (CS-21).
pub fn validate_statefulset_v1beta1_delete(sts: &v1beta1::StatefulSet) -> ValidationErrors {
    validate_deletion_protection(&sts.metadata, sts.spec.replicas)
}

/// ASTS-9: delete protection for a v1alpha1 object.
pub fn validate_statefulset_v1alpha1_delete(sts: &v1alpha1::StatefulSet) -> ValidationErrors {
    validate_deletion_protection(&sts.metadata, sts.spec.replicas)
}

impl Validate for v1beta1::StatefulSet {
    fn validate(&self) -> Result<(), ValidationErrors> {
        validate_statefulset_v1beta1(self).into_result()
    }
    fn validate_update(&self, old: &Self) -> Result<(), ValidationErrors> {
        validate_statefulset_v1beta1_update(self, old).into_result()
    }
}

impl Validate for v1alpha1::StatefulSet {
    fn validate(&self) -> Result<(), ValidationErrors> {
        validate_statefulset_v1alpha1(self).into_result()
    }
    fn validate_update(&self, old: &Self) -> Result<(), ValidationErrors> {
        validate_statefulset_v1alpha1_update(self, old).into_result()
    }
}
