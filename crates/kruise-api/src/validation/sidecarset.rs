//! SidecarSet validation (SCS-7): what the validating webhook rejects on create and update.
//!
//! [`Validate`] covers every rule that needs only the object (and, on update, the old
//! object). The rules that need the rest of the cluster (SCS-7.8 revision existence,
//! SCS-7.11 conflicts with other SidecarSets, SCS-7.12 base existence) are in
//! [`validate_sidecarset_in_cluster`]. The patch-metadata whitelist (SCS-16) depends on
//! Kruise's configuration and is left to the caller.
//!
//! Upstream reports several errors at odd paths (the container index without `spec.`,
//! `spec.container.podInjectPolicy`, `revision` without `spec.injectionStrategy`); here each
//! error carries the path of the field at fault.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{ObjectFieldSelector, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Validate;
use super::daemonset::labels;
use super::daemonset::{invalid_json, show, validate_non_negative_int_or_percent};
use crate::apps::common::UpdatePriorityStrategy;
use crate::apps::v1beta1::sidecarset::{
    SidecarContainer, SidecarSetInjectionStrategy, SidecarSetPatchPodMetadata, SidecarSetUpdateStrategy,
    inject_revision_policy as irp, patch_policy, pod_inject_policy as pip, share_volume_policy as svp,
    update_strategy_type as ust,
};
use crate::apps::{v1alpha1, v1beta1};
use crate::convert::sidecarset_to_v1beta1;
use crate::field::{FieldPath, ValidationError, ValidationErrors};
use crate::keys;

/// Longest SidecarSet name (SCS-7.1).
pub const SIDECARSET_NAME_MAX: usize = 63;

/// The fields both versions share, borrowed.
struct SpecView<'a> {
    selector: Option<&'a LabelSelector>,
    namespace_selector: Option<&'a LabelSelector>,
    init_containers: &'a [SidecarContainer],
    containers: &'a [SidecarContainer],
    volumes: &'a [k8s_openapi::api::core::v1::Volume],
    update_strategy: &'a SidecarSetUpdateStrategy,
    injection_strategy: &'a SidecarSetInjectionStrategy,
    patch_pod_metadata: &'a [SidecarSetPatchPodMetadata],
}

impl<'a> From<&'a v1beta1::SidecarSetSpec> for SpecView<'a> {
    fn from(s: &'a v1beta1::SidecarSetSpec) -> Self {
        Self {
            selector: s.selector.as_ref(),
            namespace_selector: s.namespace_selector.as_ref(),
            init_containers: &s.init_containers,
            containers: &s.containers,
            volumes: &s.volumes,
            update_strategy: &s.update_strategy,
            injection_strategy: &s.injection_strategy,
            patch_pod_metadata: &s.patch_pod_metadata,
        }
    }
}

fn is_rolling_update(s: &SidecarSetUpdateStrategy) -> bool {
    s.type_.as_deref() == Some(ust::ROLLING_UPDATE)
}

/// SCS-7.1: name required, `^[a-zA-Z0-9-]+$`, at most 63; a cluster-scoped object has no
/// namespace.
fn validate_meta(meta: &ObjectMeta) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let mp = FieldPath::from("metadata");
    match meta.name.as_deref().unwrap_or_default() {
        "" if meta.generate_name.as_deref().is_none_or(str::is_empty) => {
            errs.push(ValidationError::required(mp.child("name"), "name or generateName is required"))
        }
        "" => {}
        name => {
            if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                errs.push(ValidationError::invalid(
                    mp.child("name"),
                    name,
                    "sidecarset name must consist of alphanumeric characters or '-' (regex '^[a-zA-Z0-9\\-]+$')",
                ));
            }
            if name.len() > SIDECARSET_NAME_MAX {
                errs.push(ValidationError::too_long(mp.child("name"), name, SIDECARSET_NAME_MAX));
            }
        }
    }
    if meta.namespace.as_deref().is_some_and(|n| !n.is_empty()) {
        errs.push(ValidationError::forbidden(
            mp.child("namespace"),
            "SidecarSet is cluster-scoped: namespace is not allowed",
        ));
    }
    errs
}

/// SCS-7.2: a selector must parse and be non-empty.
fn validate_selector(sel: &LabelSelector, path: &FieldPath) -> ValidationErrors {
    let mut errs = labels::validate_selector(sel, path);
    if labels::is_empty_selector(sel) {
        errs.push(invalid_json(path.clone(), sel, "empty selector is not valid for sidecarset"));
    }
    errs
}

/// SCS-7.12 (object-local part): a canary is not its own base and must not roll out.
fn validate_canary(
    meta: &ObjectMeta,
    base: Option<&str>,
    update_strategy: &SidecarSetUpdateStrategy,
) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let Some(base) = base else { return errs };
    let ap = FieldPath::from("metadata").child("annotations").key(keys::SIDECARSET_BASE);
    if meta.name.as_deref() == Some(base) {
        errs.push(ValidationError::invalid(ap, base, "base sidecarSet cannot be itself"));
    }
    if update_strategy.type_.as_deref() != Some(ust::NOT_UPDATE) {
        errs.push(ValidationError::invalid(
            FieldPath::from("spec.updateStrategy.type"),
            update_strategy.type_.as_deref().unwrap_or_default(),
            "a canary sidecarSet must use updateStrategy.type NotUpdate",
        ));
    }
    errs
}

fn canary_base(meta: &ObjectMeta) -> Option<&str> {
    let a = meta.annotations.as_ref()?;
    if a.get(keys::SIDECARSET_CANARY).map(String::as_str) != Some("true") {
        return None;
    }
    a.get(keys::SIDECARSET_BASE).map(String::as_str).filter(|b| !b.is_empty())
}

fn validate_sidecarset(meta: &ObjectMeta, spec: SpecView<'_>) -> ValidationErrors {
    let mut errs = validate_meta(meta);
    errs.extend(validate_canary(meta, canary_base(meta), spec.update_strategy));
    let sp = FieldPath::from("spec");

    // SCS-7.3: native-sidecar init containers cannot be upgraded in place.
    if is_rolling_update(spec.update_strategy) {
        for (i, c) in spec.init_containers.iter().enumerate().filter(|(_, c)| c.is_native_sidecar()) {
            errs.push(ValidationError::forbidden(
                sp.child("initContainers").index(i).child("restartPolicy"),
                format!(
                    "init container {:?} is a native sidecar (restartPolicy Always), whose in-place upgrade is not supported: use updateStrategy.type NotUpdate",
                    c.container.name
                ),
            ));
        }
    }

    // SCS-7.2: selectors.
    match spec.selector {
        None => {
            errs.push(ValidationError::required(sp.child("selector"), "no selector defined for SidecarSet"))
        }
        Some(sel) => errs.extend(validate_selector(sel, &sp.child("selector"))),
    }
    if let Some(ns) = spec.namespace_selector {
        errs.extend(validate_selector(ns, &sp.child("namespaceSelector")));
    }

    errs.extend(validate_injection_strategy(spec.injection_strategy, &sp.child("injectionStrategy")));
    errs.extend(validate_update_strategy(spec.update_strategy, &sp.child("updateStrategy")));

    // SCS-7.4..7.6, 7.13: containers.
    if spec.init_containers.is_empty() && spec.containers.is_empty() {
        errs.push(ValidationError::required(
            sp.child("containers"),
            "no initContainer or container defined for SidecarSet",
        ));
    } else {
        errs.extend(validate_containers(&spec, &sp));
    }

    // SCS-7.9: patchPodMetadata.
    errs.extend(validate_patch_pod_metadata(spec.patch_pod_metadata, &sp.child("patchPodMetadata")));
    errs
}

fn validate_injection_strategy(s: &SidecarSetInjectionStrategy, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let Some(rev) = s.revision.as_ref() else { return errs };
    let rp = path.child("revision");
    if rev.revision_name.is_none() && rev.custom_version.is_none() {
        errs.push(ValidationError::required(
            rp.clone(),
            "revisionName and customVersion cannot be empty simultaneously",
        ));
    }
    match rev.policy.as_deref().unwrap_or_default() {
        "" | irp::ALWAYS | irp::PARTIAL => {}
        other => {
            errs.push(ValidationError::not_supported(rp.child("policy"), other, &[irp::ALWAYS, irp::PARTIAL]))
        }
    }
    errs
}

fn validate_update_strategy(s: &SidecarSetUpdateStrategy, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    // Quirk (SCS-7.7): only RollingUpdate strategies are checked; any other type value,
    // including an unknown one, passes.
    if !is_rolling_update(s) {
        return errs;
    }
    let partition_set = match s.partition.as_ref() {
        None => false,
        Some(IntOrString::Int(i)) => *i != 0,
        Some(IntOrString::String(_)) => true,
    };
    if partition_set && s.selector.is_some() {
        errs.push(ValidationError::invalid(
            path.clone(),
            s.partition.as_ref().map(show).unwrap_or_default(),
            "partition and selector cannot be used together",
        ));
    }
    if let Some(sel) = s.selector.as_ref() {
        errs.extend(validate_selector(sel, &path.child("selector")));
    }
    if let Some(p) = s.partition.as_ref() {
        errs.extend(validate_non_negative_int_or_percent(p, &path.child("partition")));
    }
    if let Some(m) = s.max_unavailable.as_ref() {
        errs.extend(validate_non_negative_int_or_percent(m, &path.child("maxUnavailable")));
    }
    if let Some(ps) = s.priority_strategy.as_ref() {
        errs.extend(validate_priority_strategy(ps, &path.child("priorityStrategy")));
    }
    let mut seen = BTreeSet::new();
    for (i, term) in s.scatter_strategy.iter().enumerate() {
        let tp = path.child("scatterStrategy").index(i);
        if term.key.is_empty() {
            errs.push(ValidationError::required(tp.child("key"), "key should not be empty"));
        } else if !seen.insert((term.key.as_str(), term.value.as_str())) {
            errs.push(ValidationError::duplicate(
                tp,
                format!("{}={}", term.key, term.value),
                "duplicated scatter term",
            ));
        }
    }
    errs
}

/// The priority-strategy rules shared by Kruise workloads (SCS-7.7): weight and order terms
/// are exclusive, weights in 0..=100 with a non-empty valid selector, order keys non-empty.
fn validate_priority_strategy(ps: &UpdatePriorityStrategy, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    if !ps.weight_priority.is_empty() && !ps.order_priority.is_empty() {
        errs.push(ValidationError::forbidden(
            path.clone(),
            "only one of weightPriority and orderPriority can be used",
        ));
    }
    for (i, w) in ps.weight_priority.iter().enumerate() {
        let wp = path.child("weightPriority").index(i);
        if !(0..=100).contains(&w.weight) {
            errs.push(ValidationError::invalid(
                wp.child("weight"),
                w.weight,
                "weight must be in the range 0-100",
            ));
        }
        if labels::is_empty_selector(&w.match_selector) {
            errs.push(ValidationError::required(wp.child("matchSelector"), "selector can not be empty"));
        } else {
            errs.extend(labels::validate_selector(&w.match_selector, &wp.child("matchSelector")));
        }
    }
    for (i, o) in ps.order_priority.iter().enumerate() {
        if o.ordered_key.is_empty() {
            errs.push(ValidationError::required(
                path.child("orderPriority").index(i).child("orderedKey"),
                "order key can not be empty",
            ));
        }
    }
    errs
}

fn validate_containers(spec: &SpecView<'_>, sp: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    for (i, c) in spec.init_containers.iter().enumerate() {
        let cp = sp.child("initContainers").index(i);
        if let Some(rp) = c.resources_policy.as_ref() {
            if !c.is_native_sidecar() {
                errs.push(ValidationError::invalid(
                    cp.child("resourcesPolicy"),
                    &rp.target_containers_mode,
                    "resourcesPolicy is only supported for init containers with restartPolicy Always",
                ));
            }
            errs.extend(validate_resources_policy(c, &cp.child("resourcesPolicy")));
        }
    }
    for (i, c) in spec.containers.iter().enumerate() {
        let cp = sp.child("containers").index(i);
        let policy = c.pod_inject_policy.as_deref().unwrap_or_default();
        if policy != pip::BEFORE_APP_CONTAINER && policy != pip::AFTER_APP_CONTAINER {
            errs.push(ValidationError::not_supported(
                cp.child("podInjectPolicy"),
                policy,
                &[pip::BEFORE_APP_CONTAINER, pip::AFTER_APP_CONTAINER],
            ));
        }
        let share = c.share_volume_policy.type_.as_deref().unwrap_or_default();
        if share != svp::ENABLED && share != svp::DISABLED {
            errs.push(ValidationError::not_supported(
                cp.child("shareVolumePolicy").child("type"),
                share,
                &[svp::ENABLED, svp::DISABLED],
            ));
        }
        for (j, t) in c.transfer_env.iter().enumerate() {
            if let Some(fr) = t.source_container_name_from.as_ref().and_then(|s| s.field_ref.as_ref()) {
                errs.extend(validate_source_field_ref(
                    fr,
                    &cp.child("transferEnv").index(j).child("sourceContainerNameFrom").child("fieldRef"),
                ));
            }
        }
        if c.resources_policy.is_some() {
            errs.extend(validate_resources_policy(c, &cp.child("resourcesPolicy")));
        }
    }
    errs.extend(validate_fake_pod(spec));
    errs
}

/// SCS-7.6: the sidecars and volumes, placed in a pod (with a dummy app container when there
/// are no containers), must pass pod validation. Errors are reported at the SidecarSet's own
/// `spec.containers` / `spec.initContainers` / `spec.volumes` paths.
fn validate_fake_pod(spec: &SpecView<'_>) -> ValidationErrors {
    let mut containers: Vec<_> = spec.containers.iter().map(|c| c.container.clone()).collect();
    if containers.is_empty() {
        containers.push(k8s_openapi::api::core::v1::Container {
            name: "test".to_owned(),
            image: Some("busybox".to_owned()),
            image_pull_policy: Some("IfNotPresent".to_owned()),
            termination_message_policy: Some("File".to_owned()),
            ..Default::default()
        });
    }
    let init: Vec<_> = spec.init_containers.iter().map(|c| c.container.clone()).collect();
    let fake = PodTemplateSpec {
        metadata: None,
        spec: Some(PodSpec {
            containers,
            init_containers: (!init.is_empty()).then_some(init),
            volumes: (!spec.volumes.is_empty()).then(|| spec.volumes.to_vec()),
            restart_policy: Some("Always".to_owned()),
            dns_policy: Some("ClusterFirst".to_owned()),
            service_account_name: Some("default".to_owned()),
            termination_grace_period_seconds: Some(30),
            ..Default::default()
        }),
    };
    const FAKE: &str = "spec.template";
    let inner = format!("{FAKE}.spec.");
    let mapped = super::pod::validate_pod_template_spec(&fake, &FieldPath::from(FAKE))
        .into_iter()
        .map(|mut e| {
            e.path = match e.path.as_str().strip_prefix(&inner) {
                Some(rest) => FieldPath::from(format!("spec.{rest}")),
                None => FieldPath::from("spec"),
            };
            e
        })
        .collect();
    ValidationErrors(mapped)
}

/// SCS-7.5: `transferEnv[].sourceContainerNameFrom.fieldRef` must be `apiVersion: v1` and
/// `metadata.labels['<key>']` or `metadata.annotations['<key>']` with a qualified-name key.
///
/// Quirk (SCS-7.5): the spec also lists plain `metadata.name`, but upstream's field-label
/// conversion rejects every unsubscripted path first, so `metadata.name` is rejected here too.
fn validate_source_field_ref(fr: &ObjectFieldSelector, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let api_version = fr.api_version.as_deref().unwrap_or_default();
    if api_version.is_empty() {
        errs.push(ValidationError::required(path.child("apiVersion"), "apiVersion is required"));
        return errs;
    }
    if fr.field_path.is_empty() {
        errs.push(ValidationError::required(path.child("fieldPath"), "fieldPath is required"));
        return errs;
    }
    if api_version != "v1" {
        errs.push(ValidationError::invalid(
            path.child("apiVersion"),
            api_version,
            "unsupported pod version: only v1 is supported",
        ));
        return errs;
    }
    match split_subscripted_path(&fr.field_path) {
        Some(("metadata.annotations", key)) => {
            if let Some(msg) = labels::qualified_name_problem(&key.to_lowercase()) {
                errs.push(ValidationError::invalid(path.child("fieldPath"), key, msg));
            }
        }
        Some(("metadata.labels", key)) => {
            if let Some(msg) = labels::qualified_name_problem(key) {
                errs.push(ValidationError::invalid(path.child("fieldPath"), key, msg));
            }
        }
        _ => errs.push(ValidationError::not_supported(
            path.child("fieldPath"),
            &fr.field_path,
            &["metadata.labels['<KEY>']", "metadata.annotations['<KEY>']"],
        )),
    }
    errs
}

/// `metadata.labels['k']` → `("metadata.labels", "k")`.
fn split_subscripted_path(p: &str) -> Option<(&str, &str)> {
    let s = p.strip_suffix("']")?;
    let (path, sub) = s.split_once("['")?;
    (!path.is_empty()).then_some((path, sub))
}

/// SCS-7.13: `resourcesPolicy` excludes `resources`, needs a name regex and at least one of
/// limits/requests. (The regex and the expressions are not compiled here.)
fn validate_resources_policy(c: &SidecarContainer, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let Some(policy) = c.resources_policy.as_ref() else { return errs };
    let res = c.container.resources.as_ref();
    if res.is_some_and(|r| {
        r.limits.as_ref().is_some_and(|l| !l.is_empty()) || r.requests.as_ref().is_some_and(|l| !l.is_empty())
    }) {
        errs.push(ValidationError::forbidden(
            path.clone(),
            "resourcesPolicy and resources cannot be configured together",
        ));
        return errs;
    }
    match policy.target_containers_mode.as_str() {
        "sum" | "max" => {}
        other => errs.push(ValidationError::not_supported(
            path.child("targetContainersMode"),
            other,
            &["sum", "max"],
        )),
    }
    if policy.target_containers_name_regex.is_empty() {
        errs.push(ValidationError::required(path.child("targetContainersNameRegex"), "invalid empty regex"));
    }
    let expr = &policy.resources_expr;
    if expr.limits.is_none() && expr.requests.is_none() {
        errs.push(ValidationError::required(
            path.child("resourcesExpr"),
            "at least one of limits or requests must be configured",
        ));
    }
    errs
}

/// SCS-7.9: every entry has annotations (valid keys) and a policy; a key is patched by one
/// entry only.
fn validate_patch_pod_metadata(patches: &[SidecarSetPatchPodMetadata], path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, patch) in patches.iter().enumerate() {
        let pp = path.index(i);
        if patch.annotations.is_empty() {
            errs.push(ValidationError::required(
                pp.child("annotations"),
                "no annotations defined for SidecarSet",
            ));
        }
        match patch.patch_policy.as_deref().unwrap_or_default() {
            "" => errs.push(ValidationError::required(
                pp.child("patchPolicy"),
                "no patchPolicy defined for patchPodMetadata",
            )),
            patch_policy::RETAIN | patch_policy::OVERWRITE | patch_policy::MERGE_PATCH_JSON => {}
            other => errs.push(ValidationError::not_supported(
                pp.child("patchPolicy"),
                other,
                &[patch_policy::RETAIN, patch_policy::OVERWRITE, patch_policy::MERGE_PATCH_JSON],
            )),
        }
        for k in patch.annotations.keys() {
            let kp = pp.child("annotations").key(k);
            if let Some(msg) = labels::qualified_name_problem(&k.to_lowercase()) {
                errs.push(ValidationError::invalid(kp.clone(), k, msg));
            }
            if let Some(first) = seen.insert(k, i) {
                errs.push(ValidationError::duplicate(
                    kp,
                    k,
                    format!("annotation {k:?} is already patched by patchPodMetadata[{first}]"),
                ));
            }
        }
    }
    errs
}

/// SCS-7.10 and SCS-7.12 on update: containers cannot be added, `upgradeType` is immutable,
/// and a canary's base annotation cannot change.
fn validate_update_rules(
    new_meta: &ObjectMeta,
    new_containers: &[SidecarContainer],
    old_meta: &ObjectMeta,
    old_containers: &[SidecarContainer],
) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let old: BTreeMap<&str, Option<&str>> = old_containers
        .iter()
        .map(|c| (c.container.name.as_str(), c.upgrade_strategy.upgrade_type.as_deref()))
        .collect();
    for (i, c) in new_containers.iter().enumerate() {
        let cp = FieldPath::from("spec.containers").index(i);
        match old.get(c.container.name.as_str()) {
            None => errs.push(ValidationError::forbidden(
                cp.child("name"),
                format!("container {:?} is not found in the old spec: sidecar containers cannot be added by an update", c.container.name),
            )),
            Some(old_type) => {
                let old_type = old_type.unwrap_or_default();
                let new_type = c.upgrade_strategy.upgrade_type.as_deref().unwrap_or_default();
                if !old_type.is_empty() && new_type != old_type {
                    errs.push(ValidationError::invalid(
                        cp.child("upgradeStrategy").child("upgradeType"),
                        new_type,
                        format!("upgradeType of container {:?} is immutable (was {old_type})", c.container.name),
                    ));
                }
            }
        }
    }
    if let Some(base) = canary_base(new_meta) {
        let old_base =
            old_meta.annotations.as_ref().and_then(|a| a.get(keys::SIDECARSET_BASE)).map(String::as_str);
        if old_base != Some(base) {
            errs.push(ValidationError::invalid(
                FieldPath::from("metadata").child("annotations").key(keys::SIDECARSET_BASE),
                base,
                "the base annotation of a canary sidecarSet is immutable",
            ));
        }
    }
    errs
}

impl Validate for v1beta1::SidecarSet {
    /// SCS-7 (object-local rules).
    fn validate(&self) -> Result<(), ValidationErrors> {
        validate_sidecarset(&self.metadata, (&self.spec).into()).into_result()
    }
    /// SCS-7 plus the update rules of SCS-7.10 and SCS-7.12.
    fn validate_update(&self, old: &Self) -> Result<(), ValidationErrors> {
        let mut errs = validate_sidecarset(&self.metadata, (&self.spec).into());
        errs.extend(validate_update_rules(
            &self.metadata,
            &self.spec.containers,
            &old.metadata,
            &old.spec.containers,
        ));
        errs.into_result()
    }
}

impl Validate for v1alpha1::SidecarSet {
    /// SCS-7 on the object converted to v1beta1 (SCS-3), as upstream's webhook does: a
    /// `namespace` is checked as the `namespaceSelector` it becomes.
    fn validate(&self) -> Result<(), ValidationErrors> {
        sidecarset_to_v1beta1(self).validate()
    }
    /// SCS-7 plus the update rules of SCS-7.10 and SCS-7.12, on the converted objects.
    fn validate_update(&self, old: &Self) -> Result<(), ValidationErrors> {
        sidecarset_to_v1beta1(self).validate_update(&sidecarset_to_v1beta1(old))
    }
}

/// The SidecarSet rules that need the rest of the cluster (SCS-7.8, SCS-7.11, SCS-7.12):
/// - `injectionStrategy.revision` must name an existing revision: by `revisionName` among
///   `revisions`, or by `customVersion` among the revisions labelled with this SidecarSet's
///   name and that custom version;
/// - a canary's base must be among `others` and must not itself be a canary;
/// - no container, init container, differently-defined volume or `Overwrite`-patched
///   annotation may be shared with another SidecarSet whose namespace and pod selectors
///   overlap (a canary's own base is exempt).
///
/// `others` are the SidecarSets stored in the cluster (the one validated may be among them,
/// it is skipped by name); `revisions` are the ControllerRevisions of Kruise's namespace.
pub fn validate_sidecarset_in_cluster(
    ss: &v1beta1::SidecarSet,
    others: &[v1beta1::SidecarSet],
    revisions: &[ControllerRevision],
) -> Result<(), ValidationErrors> {
    let mut errs = ValidationErrors::new();
    let name = ss.metadata.name.as_deref().unwrap_or_default();

    if let Some(rev) = ss.spec.injection_strategy.revision.as_ref() {
        let rp = FieldPath::from("spec.injectionStrategy.revision");
        if let Some(rn) = rev.revision_name.as_deref() {
            if !revisions.iter().any(|r| r.metadata.name.as_deref() == Some(rn)) {
                errs.push(ValidationError::not_found(
                    rp.child("revisionName"),
                    rn,
                    "no ControllerRevision of that name",
                ));
            }
        } else if let Some(cv) = rev.custom_version.as_deref() {
            let found = revisions.iter().any(|r| {
                let l = r.metadata.labels.as_ref();
                l.and_then(|l| l.get(keys::SIDECARSET_NAME_LABEL)).map(String::as_str) == Some(name)
                    && l.and_then(|l| l.get(keys::SIDECARSET_CUSTOM_VERSION)).map(String::as_str) == Some(cv)
            });
            if !found {
                errs.push(ValidationError::not_found(
                    rp.child("customVersion"),
                    cv,
                    "no ControllerRevision of this SidecarSet carries that custom version",
                ));
            }
        }
    }

    let base = canary_base(&ss.metadata);
    if let Some(base) = base {
        let ap = FieldPath::from("metadata").child("annotations").key(keys::SIDECARSET_BASE);
        match others.iter().find(|o| o.metadata.name.as_deref() == Some(base)) {
            None => errs.push(ValidationError::not_found(ap, base, "base sidecarSet not found")),
            Some(b) if b.canary_base().is_some() => {
                errs.push(ValidationError::invalid(ap, base, "base sidecarSet cannot be canary"))
            }
            Some(_) => {}
        }
    }

    // Others overlapping this one, in name order so the error text is deterministic.
    let mut overlapping: Vec<&v1beta1::SidecarSet> = others
        .iter()
        .filter(|o| o.metadata.name.as_deref() != Some(name))
        .filter(|o| base.is_none_or(|b| o.metadata.name.as_deref() != Some(b)))
        .filter(|o| {
            namespaces_overlap(ss.spec.namespace_selector.as_ref(), o.spec.namespace_selector.as_ref())
        })
        .filter(|o| selectors_overlap(ss.spec.selector.as_ref(), o.spec.selector.as_ref()))
        .collect();
    overlapping.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let owner = |pick: &dyn Fn(&v1beta1::SidecarSet) -> bool| {
        overlapping.iter().find(|o| pick(o)).and_then(|o| o.metadata.name.clone()).unwrap_or_default()
    };
    for (i, c) in ss.spec.init_containers.iter().enumerate() {
        let n = &c.container.name;
        if overlapping.iter().any(|o| o.spec.init_containers.iter().any(|x| &x.container.name == n)) {
            let other = owner(&|o| o.spec.init_containers.iter().any(|x| &x.container.name == n));
            errs.push(ValidationError::invalid(
                FieldPath::from("spec.initContainers").index(i).child("name"),
                n,
                format!("init container {n} already exists in sidecarset {other}"),
            ));
        }
    }
    for (i, c) in ss.spec.containers.iter().enumerate() {
        let n = &c.container.name;
        if overlapping.iter().any(|o| o.spec.containers.iter().any(|x| &x.container.name == n)) {
            let other = owner(&|o| o.spec.containers.iter().any(|x| &x.container.name == n));
            errs.push(ValidationError::invalid(
                FieldPath::from("spec.containers").index(i).child("name"),
                n,
                format!("container {n} already exists in sidecarset {other}"),
            ));
        }
    }
    for (i, v) in ss.spec.volumes.iter().enumerate() {
        for o in &overlapping {
            if let Some(ov) = o.spec.volumes.iter().find(|x| x.name == v.name)
                && ov != v
            {
                errs.push(ValidationError::invalid(
                    FieldPath::from("spec.volumes").index(i).child("name"),
                    &v.name,
                    format!(
                        "volume {} is in conflict with sidecarset {}",
                        v.name,
                        o.metadata.name.as_deref().unwrap_or_default()
                    ),
                ));
                break;
            }
        }
    }
    for (i, patch) in ss.spec.patch_pod_metadata.iter().enumerate() {
        let mine = patch.patch_policy.as_deref().unwrap_or_default();
        if mine == patch_policy::RETAIN {
            continue;
        }
        for k in patch.annotations.keys() {
            let clash = overlapping.iter().find_map(|o| {
                o.spec.patch_pod_metadata.iter().find_map(|op| {
                    let theirs = op.patch_policy.as_deref().unwrap_or_default();
                    (theirs != patch_policy::RETAIN
                        && op.annotations.contains_key(k)
                        && (mine == patch_policy::OVERWRITE || theirs == patch_policy::OVERWRITE))
                        .then(|| o.metadata.name.clone().unwrap_or_default())
                })
            });
            if let Some(other) = clash {
                errs.push(ValidationError::invalid(
                    FieldPath::from("spec.patchPodMetadata").index(i).child("annotations").key(k),
                    k,
                    format!("annotation {k} is in conflict with sidecarset {other}"),
                ));
            }
        }
    }
    errs.into_result()
}

/// SCS-7.11: namespace scopes overlap unless both selectors are set and disjoint.
fn namespaces_overlap(a: Option<&LabelSelector>, b: Option<&LabelSelector>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => selectors_overlap(Some(a), Some(b)),
        _ => true,
    }
}

/// Kruise's selector-overlap test (SCS-7.11): two selectors are disjoint when one pins a key
/// to values the other excludes. A missing selector overlaps nothing.
///
/// Quirk: `Exists` on a key the other selector does not mention counts as disjoint, as
/// upstream.
pub fn selectors_overlap(a: Option<&LabelSelector>, b: Option<&LabelSelector>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => !(disjoint(a, b) || disjoint(b, a)),
        _ => false,
    }
}

fn disjoint(s1: &LabelSelector, s2: &LabelSelector) -> bool {
    const ALL: &str = "ALL";
    let mut allowed: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in s1.match_labels.iter().flatten() {
        allowed.insert(k, vec![v]);
    }
    for e in s1.match_expressions.iter().flatten() {
        match e.operator.as_str() {
            "In" => allowed.entry(&e.key).or_default().extend(e.values.iter().flatten().map(String::as_str)),
            "Exists" => {
                allowed.insert(&e.key, vec![ALL]);
            }
            _ => {}
        }
    }
    for (k, v) in s2.match_labels.iter().flatten() {
        if let Some(vals) = allowed.get(k.as_str())
            && !vals.contains(&ALL)
            && !vals.contains(&v.as_str())
        {
            return true;
        }
    }
    for e in s2.match_expressions.iter().flatten() {
        let vals = allowed.get(e.key.as_str());
        let req: Vec<&str> = e.values.iter().flatten().map(String::as_str).collect();
        let hit = match e.operator.as_str() {
            "In" => vals.is_some_and(|v| !v.contains(&ALL) && !v.iter().any(|x| req.contains(x))),
            "NotIn" => vals.is_some_and(|v| v.iter().all(|x| req.contains(x))),
            "Exists" => vals.is_none(),
            "DoesNotExist" => vals.is_some(),
            _ => false,
        };
        if hit {
            return true;
        }
    }
    false
}
