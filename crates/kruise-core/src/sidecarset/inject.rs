//! SidecarSet injection at pod admission (SCS-9..SCS-22): which SidecarSets match a pod being
//! created, which revision of each is injected, the containers, init containers, volumes,
//! pull secrets and annotations added, and the RFC 6902 patch an admission response carries.
//!
//! Pure: the Namespace labels, the SidecarSets, their ControllerRevisions, the clock and the
//! random draw of SCS-13 all come in through [`InjectInput`].

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{
    Container, EnvVar, EnvVarSource, LocalObjectReference, ObjectFieldSelector, Pod, Volume, VolumeDevice,
    VolumeMount,
};
use kruise_api::FieldPath;
use kruise_api::apps::v1beta1::sidecarset::{
    SidecarContainer, SidecarSet, SidecarSetPatchPodMetadata, inject_revision_policy, patch_policy,
    pod_inject_policy, share_volume_policy,
};
use kruise_api::defaults::sidecarset::hash::sidecarset_hash;
use kruise_api::hash::fnv1a64;
use kruise_api::keys;
use kruise_api::selector::Selector;
use serde::Serialize;
use serde_json::Value;

use super::patch::{PatchOp, diff_pod};
use super::records::{UpgradeRecord, parse_records, write_records, write_string_map};
use crate::features::Features;

/// The admission operation (SCS-9, SCS-10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Operation {
    /// A pod being created: injection runs.
    Create,
    /// An existing pod being updated: never injected (SCS-10).
    Update,
}

/// Everything injection may look at.
#[derive(Clone, Copy, Debug)]
pub struct InjectInput<'a> {
    /// The pod as submitted.
    pub pod: &'a Pod,
    /// CREATE or UPDATE.
    pub operation: Operation,
    /// The labels of the pod's Namespace object; `None` when it does not exist (then no
    /// SidecarSet with a `namespaceSelector` matches, SCS-11).
    pub namespace_labels: Option<&'a BTreeMap<String, String>>,
    /// Every SidecarSet (v1beta1, defaults and hash annotations applied), any order (SCS-12:
    /// candidates are taken by name).
    pub sidecarsets: &'a [SidecarSet],
    /// ControllerRevisions of the SidecarSets (the kruise namespace's), for
    /// `injectionStrategy.revision` (SCS-13).
    pub revisions: &'a [ControllerRevision],
    /// The only clock: the `updateTimestamp` of the records written (SCS-8).
    pub now: Timestamp,
    /// The only randomness: the SCS-13 draw `U` of SidecarSet `n` is
    /// `fnv1a64(seed, n) / 2^64`, uniform in `[0, 1)`.
    pub seed: u64,
    /// `EnableSortSidecarContainerByName` (SCS-20).
    pub features: Features,
}

/// The result of injection.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Injection {
    /// The pod as it would be admitted.
    pub pod: Pod,
    /// RFC 6902 operations turning the submitted pod into [`Injection::pod`]; empty when
    /// nothing changes.
    pub patch: Vec<PatchOp>,
    /// Why injection did not run at all, if so.
    pub skipped: Option<SkipReason>,
    /// What happened with each SidecarSet, in candidate order (by name).
    pub decisions: Vec<Decision>,
}

/// Why injection did not look at any SidecarSet (SCS-9, SCS-10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind")]
pub enum SkipReason {
    /// SCS-10: an existing pod is never injected.
    ExistingPod,
    /// SCS-9: the pod is not active (Succeeded, Failed or terminating).
    PodNotActive,
}

/// One SidecarSet's outcome for the pod.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The SidecarSet.
    pub sidecarset: String,
    /// What happened.
    pub outcome: Outcome,
}

/// What happened with one SidecarSet (SCS-11, SCS-13, SCS-14, SCS-17).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all_fields = "camelCase")]
pub enum Outcome {
    /// Matched and injected.
    Injected {
        /// The ControllerRevision injected instead of the current spec (SCS-13), if any.
        revision: Option<String>,
        /// Containers added or replaced (hot-upgrade slots by their slot names).
        containers: Vec<String>,
        /// Init containers added or replaced.
        init_containers: Vec<String>,
        /// SCS-22: sidecars whose `resourcesPolicy` was not evaluated (their declared
        /// resources are injected; see docs/deviations.md).
        resources_policy_ignored: Vec<String>,
    },
    /// SCS-11 step 1: `injectionStrategy.paused`.
    Paused,
    /// SCS-11 step 2: the pod's Namespace does not exist.
    NamespaceNotFound,
    /// SCS-11 step 2: the Namespace labels do not match `namespaceSelector` (or it does not
    /// parse).
    NamespaceNotMatched,
    /// SCS-11 step 3: `selector` is absent or empty (matches nothing).
    EmptySelector,
    /// SCS-11 step 3: the pod labels do not match `selector`.
    SelectorNotMatched,
    /// SCS-14: a matched canary SidecarSet replaces this base.
    ReplacedByCanary {
        /// The canary.
        canary: String,
    },
}

/// Why a pod cannot be admitted (upstream fails the admission request).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InjectError {
    /// A SidecarSet field that injection needs does not parse (`spec.selector`,
    /// `spec.updateStrategy.selector`, `spec.updateStrategy.partition`, a revision).
    #[error("sidecarset {sidecarset:?}: {path}: {message}")]
    SidecarSet {
        /// The SidecarSet.
        sidecarset: String,
        /// The field.
        path: FieldPath,
        /// What is wrong.
        message: String,
    },
    /// SCS-13: the revision `injectionStrategy.revision` names does not exist.
    #[error("sidecarset {sidecarset:?}: {path}: controllerrevision {wanted:?} not found")]
    RevisionNotFound {
        /// The SidecarSet.
        sidecarset: String,
        /// `spec.injectionStrategy.revision.revisionName` or `.customVersion`.
        path: FieldPath,
        /// The name or custom version looked for.
        wanted: String,
    },
    /// SCS-8, SCS-15: a pod annotation injection must read or merge is unreadable.
    #[error("{path}: {message}")]
    PodAnnotation {
        /// `metadata.annotations['<key>']`.
        path: FieldPath,
        /// What is wrong.
        message: String,
    },
}

/// A matched SidecarSet with the revision chosen for this pod (SCS-13): the fields injection
/// reads.
#[derive(Clone, Debug)]
struct Suitable<'a> {
    ss: &'a SidecarSet,
    name: &'a str,
    /// `Some(name)` when a history revision replaces the current spec.
    revision: Option<String>,
    containers: Vec<SidecarContainer>,
    init_containers: Vec<SidecarContainer>,
    volumes: Vec<Volume>,
    image_pull_secrets: Vec<LocalObjectReference>,
    patch_pod_metadata: Vec<SidecarSetPatchPodMetadata>,
    hash: String,
    hash_without_image: String,
    latest_revision: String,
}

fn ss_err(ss: &str, path: &str, message: impl Into<String>) -> InjectError {
    InjectError::SidecarSet {
        sidecarset: ss.to_owned(),
        path: FieldPath::from(path),
        message: message.into(),
    }
}

fn ann_path(key: &str) -> FieldPath {
    FieldPath::from(format!("metadata.annotations['{key}']"))
}

/// SCS-9: active = not Succeeded/Failed and not terminating.
pub fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default();
    phase != "Succeeded" && phase != "Failed" && pod.metadata.deletion_timestamp.is_none()
}

/// SCS-11 steps 2-3: does `ss` select `pod` (namespace labels `ns_labels`, `None` = the
/// Namespace does not exist)? `Err` only for a `spec.selector` that does not parse.
pub fn matches_pod(
    ss: &SidecarSet,
    pod_labels: Option<&BTreeMap<String, String>>,
    ns_labels: Option<&BTreeMap<String, String>>,
) -> Result<Result<(), Outcome>, InjectError> {
    let name = ss.metadata.name.as_deref().unwrap_or_default();
    if let Some(nss) = &ss.spec.namespace_selector {
        let Some(ns_labels) = ns_labels else { return Ok(Err(Outcome::NamespaceNotFound)) };
        match Selector::parse(nss, "spec.namespaceSelector") {
            Ok(s) if s.matches(ns_labels) => {}
            _ => return Ok(Err(Outcome::NamespaceNotMatched)),
        }
    }
    let Some(sel) = &ss.spec.selector else { return Ok(Err(Outcome::EmptySelector)) };
    let sel =
        Selector::parse(sel, "spec.selector").map_err(|e| ss_err(name, &e.path.to_string(), e.message))?;
    if sel.is_empty() {
        return Ok(Err(Outcome::EmptySelector));
    }
    let empty = BTreeMap::new();
    if sel.matches(pod_labels.unwrap_or(&empty)) { Ok(Ok(())) } else { Ok(Err(Outcome::SelectorNotMatched)) }
}

/// The SCS-13 draw for SidecarSet `name`: uniform in `[0, 1)`.
fn draw(seed: u64, name: &str) -> f64 {
    let h = fnv1a64(&[&seed.to_le_bytes(), name.as_bytes()]);
    (h >> 11) as f64 / (1u64 << 53) as f64
}

fn current<'a>(ss: &'a SidecarSet, name: &'a str) -> Suitable<'a> {
    let ann = |k: &str| ss.metadata.annotations.as_ref().and_then(|a| a.get(k)).cloned().unwrap_or_default();
    Suitable {
        ss,
        name,
        revision: None,
        containers: ss.spec.containers.clone(),
        init_containers: ss.spec.init_containers.clone(),
        volumes: ss.spec.volumes.clone(),
        image_pull_secrets: ss.spec.image_pull_secrets.clone(),
        patch_pod_metadata: ss.spec.patch_pod_metadata.clone(),
        hash: ann(keys::SIDECARSET_HASH),
        hash_without_image: ann(keys::SIDECARSET_HASH_WITHOUT_IMAGE),
        latest_revision: ss.status.as_ref().map(|s| s.latest_revision.clone()).unwrap_or_default(),
    }
}

/// SCS-13: the history SidecarSet of revision `rev`: the five recorded spec fields from its
/// data, its hash annotations (recomputed when missing), `latestRevision` = its name.
fn from_revision<'a>(
    ss: &'a SidecarSet,
    name: &'a str,
    rev: &ControllerRevision,
) -> Result<Suitable<'a>, InjectError> {
    let rev_name = rev.metadata.name.clone().unwrap_or_default();
    let path = format!("controllerrevision {rev_name:?} data.spec");
    let spec = rev.data.as_ref().and_then(|d| d.0.get("spec")).cloned().unwrap_or(Value::Null);
    fn field<T: serde::de::DeserializeOwned + Default>(
        spec: &Value,
        key: &str,
        ss: &str,
        path: &str,
    ) -> Result<T, InjectError> {
        match spec.get(key) {
            None | Some(Value::Null) => Ok(T::default()),
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|e| ss_err(ss, &format!("{path}.{key}"), e.to_string())),
        }
    }
    let mut s = current(ss, name);
    s.revision = Some(rev_name.clone());
    s.volumes = field(&spec, "volumes", name, &path)?;
    s.containers = field(&spec, "containers", name, &path)?;
    s.init_containers = field(&spec, "initContainers", name, &path)?;
    s.image_pull_secrets = field(&spec, "imagePullSecrets", name, &path)?;
    s.patch_pod_metadata = field(&spec, "patchPodMetadata", name, &path)?;
    let ann =
        |k: &str| rev.metadata.annotations.as_ref().and_then(|a| a.get(k)).filter(|v| !v.is_empty()).cloned();
    s.hash = ann(keys::SIDECARSET_HASH)
        .unwrap_or_else(|| sidecarset_hash(&s.containers, &s.init_containers, false));
    s.hash_without_image = ann(keys::SIDECARSET_HASH_WITHOUT_IMAGE)
        .unwrap_or_else(|| sidecarset_hash(&s.containers, &s.init_containers, true));
    s.latest_revision = rev_name;
    Ok(s)
}

/// SCS-13: the SidecarSet revision to inject into a new pod.
fn suitable<'a>(
    ss: &'a SidecarSet,
    name: &'a str,
    pod: &Pod,
    revisions: &[ControllerRevision],
    seed: u64,
) -> Result<Suitable<'a>, InjectError> {
    let Some(info) = ss.spec.injection_strategy.revision.as_ref() else { return Ok(current(ss, name)) };
    if info.revision_name.is_none() && info.custom_version.is_none() {
        return Ok(current(ss, name));
    }
    let rev: &ControllerRevision = if let Some(rn) = &info.revision_name {
        revisions.iter().find(|r| r.metadata.name.as_deref() == Some(rn.as_str())).ok_or_else(|| {
            InjectError::RevisionNotFound {
                sidecarset: name.to_owned(),
                path: FieldPath::from("spec.injectionStrategy.revision.revisionName"),
                wanted: rn.clone(),
            }
        })?
    } else {
        let cv = info.custom_version.as_deref().unwrap_or_default();
        fn label<'r>(r: &'r ControllerRevision, k: &str) -> Option<&'r str> {
            r.metadata.labels.as_ref().and_then(|l| l.get(k)).map(String::as_str)
        }
        revisions
            .iter()
            .filter(|r| {
                label(r, keys::SIDECARSET_NAME_LABEL) == Some(name)
                    && label(r, keys::SIDECARSET_CUSTOM_VERSION) == Some(cv)
            })
            .max_by(|a, b| a.revision.cmp(&b.revision).then_with(|| a.metadata.name.cmp(&b.metadata.name)))
            .ok_or_else(|| InjectError::RevisionNotFound {
                sidecarset: name.to_owned(),
                path: FieldPath::from("spec.injectionStrategy.revision.customVersion"),
                wanted: cv.to_owned(),
            })?
    };
    let history = from_revision(ss, name, rev)?;
    let us = &ss.spec.update_strategy;
    if us.paused {
        return Ok(history);
    }
    if info.policy.as_deref() != Some(inject_revision_policy::PARTIAL) {
        return Ok(history);
    }
    if let Some(sel) = &us.selector {
        let sel = Selector::parse(sel, "spec.updateStrategy.selector")
            .map_err(|e| ss_err(name, &e.path.to_string(), e.message))?;
        let empty = BTreeMap::new();
        if !sel.matches(pod.metadata.labels.as_ref().unwrap_or(&empty)) {
            return Ok(history);
        }
    }
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    match &us.partition {
        None | Some(IntOrString::Int(_)) => Ok(current(ss, name)),
        Some(IntOrString::String(p)) => {
            let bad = || ss_err(name, "spec.updateStrategy.partition", format!("{p:?} is not a percentage"));
            let num = p.strip_suffix('%').ok_or_else(bad)?;
            let v: f64 = num.parse().map_err(|_| bad())?;
            if draw(seed, name) <= v / 100.0 { Ok(history) } else { Ok(current(ss, name)) }
        }
    }
}

/// SCS-15: applies `patches` to `anns`; returns whether anything changed.
pub fn patch_pod_metadata(
    anns: &mut BTreeMap<String, String>,
    patches: &[SidecarSetPatchPodMetadata],
) -> Result<bool, InjectError> {
    let before = anns.clone();
    for p in patches {
        match p.patch_policy.as_deref().unwrap_or_default() {
            "" | patch_policy::RETAIN => {
                for (k, v) in &p.annotations {
                    anns.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            patch_policy::OVERWRITE => {
                for (k, v) in &p.annotations {
                    anns.insert(k.clone(), v.clone());
                }
            }
            patch_policy::MERGE_PATCH_JSON => {
                for (k, v) in &p.annotations {
                    match anns.get(k).filter(|o| !o.is_empty()) {
                        Some(origin) => {
                            let bad =
                                |m: String| InjectError::PodAnnotation { path: ann_path(k), message: m };
                            let mut target: Value = serde_json::from_str(origin)
                                .map_err(|e| bad(format!("existing value: {e}")))?;
                            let patch: Value =
                                serde_json::from_str(v).map_err(|e| bad(format!("merge patch: {e}")))?;
                            kruise_api::merge_patch::apply(&mut target, &patch);
                            anns.insert(k.clone(), serde_json::to_string(&target).unwrap_or_default());
                        }
                        None => {
                            anns.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(*anns != before)
}

/// SCS-18: the regex `\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)` over a `subPathExpr`: the names.
fn sub_path_vars(expr: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = expr.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b'$' && b[i + 1] == b'(' {
            let start = i + 2;
            let mut j = start;
            let first_ok = |c: u8| c == b'-' || c == b'.' || c == b'_' || c.is_ascii_alphabetic();
            if j < b.len() && first_ok(b[j]) {
                j += 1;
                while j < b.len() && (first_ok(b[j]) || b[j].is_ascii_digit()) {
                    j += 1;
                }
                if j < b.len() && b[j] == b')' {
                    out.push(&expr[start..j]);
                    i = j + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

fn is_injected(c: &Container) -> bool {
    c.env.iter().flatten().find(|e| e.name == keys::SIDECAR_ENV_IS_INJECTED).and_then(|e| e.value.as_deref())
        == Some("true")
}

/// SCS-18: the app containers' mounts (and the env their `subPathExpr`s reference) a sidecar
/// with `shareVolumePolicy: enabled` gets.
fn shared_mounts(sc: &SidecarContainer, pod: &Pod) -> (Vec<VolumeMount>, Vec<EnvVar>) {
    if sc.share_volume_policy.type_.as_deref() != Some(share_volume_policy::ENABLED) {
        return (Vec::new(), Vec::new());
    }
    let (mut mounts, mut envs) = (Vec::new(), Vec::new());
    for app in pod.spec.iter().flat_map(|s| &s.containers).filter(|c| !is_injected(c)) {
        for m in app.volume_mounts.iter().flatten() {
            mounts.push(m.clone());
            for var in sub_path_vars(m.sub_path_expr.as_deref().unwrap_or_default()) {
                if let Some(e) = app.env.iter().flatten().find(|e| e.name == var) {
                    envs.push(e.clone());
                }
            }
        }
    }
    (mounts, envs)
}

/// SCS-18: the app containers' devices a sidecar with `shareVolumeDevicePolicy: enabled` gets.
fn shared_devices(sc: &SidecarContainer, pod: &Pod) -> Vec<VolumeDevice> {
    if sc.share_volume_device_policy.as_ref().and_then(|p| p.type_.as_deref())
        != Some(share_volume_policy::ENABLED)
    {
        return Vec::new();
    }
    pod.spec
        .iter()
        .flat_map(|s| &s.containers)
        .filter(|c| !is_injected(c))
        .flat_map(|c| c.volume_devices.iter().flatten().cloned())
        .collect()
}

/// `metadata.labels['k']` / `metadata.annotations['k']` → (is_label, k).
fn subscripted(path: &str) -> Option<(bool, &str)> {
    let (p, rest) = path.split_once('[')?;
    let key = rest.strip_suffix(']')?;
    let key = key.strip_prefix('\'').and_then(|k| k.strip_suffix('\''))?;
    match p {
        "metadata.labels" => Some((true, key)),
        "metadata.annotations" => Some((false, key)),
        _ => None,
    }
}

/// A Kubernetes qualified name (`[prefix/]name`, name ≤ 63 alphanumerics with `-_.` inside,
/// prefix a DNS subdomain).
fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            })
    });
    name_ok && prefix_ok
}

/// SCS-19: env vars copied from app containers.
fn transfer_envs(sc: &SidecarContainer, pod: &Pod) -> Vec<EnvVar> {
    let mut by_key: BTreeMap<(&str, &str), &EnvVar> = BTreeMap::new();
    for c in pod.spec.iter().flat_map(|s| &s.containers) {
        for e in c.env.iter().flatten() {
            by_key.insert((c.name.as_str(), e.name.as_str()), e);
        }
    }
    let mut out = Vec::new();
    for t in &sc.transfer_env {
        let mut names: BTreeSet<&str> = t.env_names.iter().map(String::as_str).collect();
        if !t.env_name.is_empty() {
            names.insert(&t.env_name);
        }
        let mut source = t.source_container_name.clone();
        if let Some(fr) = t.source_container_name_from.as_ref().and_then(|f| f.field_ref.as_ref()) {
            let Some((is_label, key)) = subscripted(&fr.field_path) else { continue };
            let ok = if is_label { is_qualified_name(key) } else { is_qualified_name(&key.to_lowercase()) };
            if !ok {
                continue;
            }
            let m = if is_label { pod.metadata.labels.as_ref() } else { pod.metadata.annotations.as_ref() };
            source = m.and_then(|m| m.get(key)).cloned().unwrap_or_default();
        }
        for n in names {
            if let Some(e) = by_key.get(&(source.as_str(), n)) {
                out.push((*e).clone());
            }
        }
    }
    out
}

/// SCS-17: env merge, first name wins.
fn merge_env(mut original: Vec<EnvVar>, additional: Vec<EnvVar>) -> Vec<EnvVar> {
    let mut seen: BTreeSet<String> = original.iter().map(|e| e.name.clone()).collect();
    for e in additional {
        if seen.insert(e.name.clone()) {
            original.push(e);
        }
    }
    original
}

/// SCS-17: mount merge by mountPath (devicePaths count as taken).
fn merge_mounts(c: &Container, additional: Vec<VolumeMount>) -> Vec<VolumeMount> {
    let mut out: Vec<VolumeMount> = c.volume_mounts.clone().unwrap_or_default();
    let mut taken: BTreeSet<String> = out.iter().map(|m| m.mount_path.clone()).collect();
    taken.extend(c.volume_devices.iter().flatten().map(|d| d.device_path.clone()));
    for m in additional {
        if taken.insert(m.mount_path.clone()) {
            out.push(m);
        }
    }
    out
}

/// SCS-17: device merge by devicePath (mountPaths count as taken).
fn merge_devices(c: &Container, additional: Vec<VolumeDevice>) -> Vec<VolumeDevice> {
    let mut out: Vec<VolumeDevice> = c.volume_devices.clone().unwrap_or_default();
    let mut taken: BTreeSet<String> = out.iter().map(|d| d.device_path.clone()).collect();
    taken.extend(c.volume_mounts.iter().flatten().map(|m| m.mount_path.clone()));
    for d in additional {
        if taken.insert(d.device_path.clone()) {
            out.push(d);
        }
    }
    out
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    if v.is_empty() { None } else { Some(v) }
}

/// SCS-60: the two slot names of hot-upgrade sidecar `s`.
pub fn hot_slots(s: &str) -> (String, String) {
    (format!("{s}-1"), format!("{s}-2"))
}

/// SCS-21: a `SIDECARSET_VERSION*` env var reading annotation `key`.
fn version_env(name: &str, key: String) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: None,
                field_path: format!("metadata.annotations['{key}']"),
            }),
            ..Default::default()
        }),
    }
}

/// SCS-21: the two hot-upgrade containers of processed sidecar `sc`, plus their annotations;
/// the working map gets `S → S-1`.
fn hot_containers(
    sc: &SidecarContainer,
    working: &mut BTreeMap<String, String>,
    anns: &mut BTreeMap<String, String>,
) -> [SidecarContainer; 2] {
    let (n1, n2) = hot_slots(&sc.container.name);
    let mk = |n: &str, image: Option<String>| {
        let mut c = sc.clone();
        c.container.name = n.to_owned();
        c.container.image = image;
        let env = c.container.env.get_or_insert_with(Vec::new);
        env.push(version_env(keys::SIDECAR_ENV_VERSION, format!("{}{n}", keys::SIDECARSET_VERSION_PREFIX)));
        env.push(version_env(
            keys::SIDECAR_ENV_VERSION_ALT,
            format!("{}{n}", keys::SIDECARSET_VERSION_ALT_PREFIX),
        ));
        c
    };
    let empty = sc.upgrade_strategy.hot_upgrade_empty_image.clone();
    let c1 = mk(&n1, sc.container.image.clone());
    let c2 = mk(&n2, Some(empty).filter(|s| !s.is_empty()));
    anns.insert(format!("{}{n1}", keys::SIDECARSET_VERSION_PREFIX), "1".into());
    anns.insert(format!("{}{n1}", keys::SIDECARSET_VERSION_ALT_PREFIX), "0".into());
    anns.insert(format!("{}{n2}", keys::SIDECARSET_VERSION_PREFIX), "0".into());
    anns.insert(format!("{}{n2}", keys::SIDECARSET_VERSION_ALT_PREFIX), "1".into());
    working.insert(sc.container.name.clone(), n1);
    anns.insert(keys::SIDECARSET_WORKING_HOTUPGRADE_CONTAINER.into(), write_string_map(working));
    [c1, c2]
}

/// SCS-20: replace same-named containers in place, else before/after the pod's own.
fn merge_containers(origins: Vec<Container>, injected: &[SidecarContainer]) -> Vec<Container> {
    let mut origins = origins;
    let index: BTreeMap<String, usize> =
        origins.iter().enumerate().map(|(i, c)| (c.name.clone(), i)).collect();
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for sc in injected {
        if let Some(&i) = index.get(&sc.container.name) {
            origins[i] = sc.container.clone();
            continue;
        }
        if sc.pod_inject_policy.as_deref() == Some(pod_inject_policy::BEFORE_APP_CONTAINER) {
            before.push(sc.container.clone());
        } else {
            after.push(sc.container.clone());
        }
    }
    before.extend(origins);
    before.extend(after);
    before
}

/// The injection context of one pod: what the SidecarSets built.
#[derive(Default)]
struct Built {
    containers: Vec<SidecarContainer>,
    init_containers: Vec<SidecarContainer>,
    secrets: Vec<LocalObjectReference>,
    volumes: Vec<Volume>,
    anns: BTreeMap<String, String>,
}

/// SCS-17 steps 1-2 for one sidecar: processed copy, volumes to inject.
fn process(
    c: &SidecarContainer,
    pod: &Pod,
    vols: &BTreeMap<&str, &Volume>,
    b: &mut Built,
) -> SidecarContainer {
    let mut c = c.clone();
    let (mounts, sub_envs) = shared_mounts(&c, pod);
    let transfer = merge_env(transfer_envs(&c, pod), sub_envs);
    for n in c
        .container
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| m.name.as_str())
        .chain(c.container.volume_devices.iter().flatten().map(|d| d.name.as_str()))
    {
        if let Some(v) = vols.get(n) {
            b.volumes.push((*v).clone());
        }
    }
    c.container.volume_mounts = non_empty(merge_mounts(&c.container, mounts));
    let mut env = c.container.env.take().unwrap_or_default();
    env.push(EnvVar {
        name: keys::SIDECAR_ENV_IS_INJECTED.into(),
        value: Some("true".into()),
        value_from: None,
    });
    c.container.env = non_empty(merge_env(env, transfer));
    let devices = shared_devices(&c, pod);
    c.container.volume_devices = non_empty(merge_devices(&c.container, devices));
    c
}

/// Injects the matching SidecarSets into a pod being created (SCS-9..SCS-22).
///
/// Errors are the cases upstream fails the admission request: an unparsable SidecarSet
/// selector, a missing injection revision, an unreadable pod hash annotation or merge-patch
/// value.
pub fn inject(input: &InjectInput<'_>) -> Result<Injection, InjectError> {
    let pod = input.pod;
    let unchanged =
        |skipped, decisions| Injection { pod: pod.clone(), patch: Vec::new(), skipped, decisions };
    if input.operation == Operation::Update {
        return Ok(unchanged(Some(SkipReason::ExistingPod), Vec::new()));
    }
    if !is_active(pod) {
        return Ok(unchanged(Some(SkipReason::PodNotActive), Vec::new()));
    }
    // SCS-11, SCS-12: candidates by name.
    let mut candidates: Vec<&SidecarSet> = input.sidecarsets.iter().collect();
    candidates.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut decisions = Vec::new();
    let mut matched: Vec<Suitable<'_>> = Vec::new();
    for ss in candidates {
        let name = ss.metadata.name.as_deref().unwrap_or_default();
        let decide = |o| Decision { sidecarset: name.to_owned(), outcome: o };
        if ss.spec.injection_strategy.paused {
            decisions.push(decide(Outcome::Paused));
            continue;
        }
        if let Err(o) = matches_pod(ss, pod.metadata.labels.as_ref(), input.namespace_labels)? {
            decisions.push(decide(o));
            continue;
        }
        matched.push(suitable(ss, name, pod, input.revisions, input.seed)?);
    }
    // SCS-14: canaries replace their bases.
    let bases: BTreeMap<String, String> =
        matched.iter().filter_map(|s| Some((s.ss.canary_base()?.to_owned(), s.name.to_owned()))).collect();
    let mut selected = Vec::new();
    for s in matched {
        match bases.get(s.name) {
            Some(canary) => decisions.push(Decision {
                sidecarset: s.name.to_owned(),
                outcome: Outcome::ReplacedByCanary { canary: canary.clone() },
            }),
            None => selected.push(s),
        }
    }
    if selected.is_empty() {
        decisions.sort_by(|a, b| a.sidecarset.cmp(&b.sidecarset));
        return Ok(unchanged(None, decisions));
    }
    let mut out = pod.clone();
    // SCS-15: metadata first (even when nothing is injected).
    let mut anns = out.metadata.annotations.clone().unwrap_or_default();
    for s in &selected {
        patch_pod_metadata(&mut anns, &s.patch_pod_metadata)?;
    }
    out.metadata.annotations = Some(anns.clone());
    // SCS-8: existing records.
    let read = |key: &str| -> Result<BTreeMap<String, UpgradeRecord>, InjectError> {
        parse_records(anns.get(key).map_or("", String::as_str))
            .map_err(|e| InjectError::PodAnnotation { path: ann_path(key), message: e.message })
    };
    let mut hash_records = read(keys::SIDECARSET_HASH)?;
    let mut hash_wo_records = read(keys::SIDECARSET_HASH_WITHOUT_IMAGE)?;
    let mut working: BTreeMap<String, String> = serde_json::from_str(
        anns.get(keys::SIDECARSET_WORKING_HOTUPGRADE_CONTAINER).map_or("", String::as_str),
    )
    .unwrap_or_default();
    let mut names: BTreeSet<String> = match anns.get(keys::SIDECARSET_INJECTED_LIST) {
        Some(l) if !l.is_empty() => l.split(',').map(str::to_owned).collect(),
        _ => BTreeSet::new(),
    };
    let mut b = Built::default();
    for s in &selected {
        names.insert(s.name.to_owned());
        let vols: BTreeMap<&str, &Volume> = s.volumes.iter().rev().map(|v| (v.name.as_str(), v)).collect();
        let mut list = BTreeSet::new();
        let (mut got_c, mut got_i, mut ignored) = (Vec::new(), Vec::new(), Vec::new());
        for ic in &s.init_containers {
            if ic.is_native_sidecar() {
                list.insert(ic.container.name.clone());
            }
            if ic.resources_policy.is_some() {
                ignored.push(ic.container.name.clone());
            }
            let c = process(ic, &out, &vols, &mut b);
            if c.is_native_sidecar() && c.is_hot_upgrade() {
                for h in hot_containers(&c, &mut working, &mut b.anns) {
                    got_i.push(h.container.name.clone());
                    b.init_containers.push(h);
                }
            } else {
                got_i.push(c.container.name.clone());
                b.init_containers.push(c);
            }
        }
        b.secrets.extend(s.image_pull_secrets.iter().cloned());
        for sc in &s.containers {
            list.insert(sc.container.name.clone());
            if sc.resources_policy.is_some() {
                ignored.push(sc.container.name.clone());
            }
            let c = process(sc, &out, &vols, &mut b);
            if c.is_hot_upgrade() {
                for h in hot_containers(&c, &mut working, &mut b.anns) {
                    got_c.push(h.container.name.clone());
                    b.containers.push(h);
                }
            } else {
                got_c.push(c.container.name.clone());
                b.containers.push(c);
            }
        }
        if !s.init_containers.is_empty() || !s.containers.is_empty() {
            let list: Vec<String> = list.into_iter().collect();
            hash_records.insert(
                s.name.to_owned(),
                UpgradeRecord {
                    update_timestamp: Some(input.now),
                    hash: s.hash.clone(),
                    sidecarset_name: s.name.to_owned(),
                    sidecar_list: Some(list.clone()),
                    controller_revision: s.latest_revision.clone(),
                },
            );
            hash_wo_records.insert(
                s.name.to_owned(),
                UpgradeRecord {
                    update_timestamp: Some(input.now),
                    hash: s.hash_without_image.clone(),
                    sidecarset_name: s.name.to_owned(),
                    sidecar_list: Some(list),
                    controller_revision: String::new(),
                },
            );
        }
        decisions.push(Decision {
            sidecarset: s.name.to_owned(),
            outcome: Outcome::Injected {
                revision: s.revision.clone(),
                containers: got_c,
                init_containers: got_i,
                resources_policy_ignored: ignored,
            },
        });
    }
    decisions.sort_by(|a, b| a.sidecarset.cmp(&b.sidecarset));
    if !b.containers.is_empty() || !b.init_containers.is_empty() {
        // SCS-20.
        b.init_containers.sort_by(|x, y| x.container.name.cmp(&y.container.name));
        if input.features.enable_sort_sidecar_container_by_name {
            b.containers.sort_by(|x, y| x.container.name.cmp(&y.container.name));
        }
        let spec = out.spec.get_or_insert_with(Default::default);
        spec.init_containers =
            non_empty(merge_containers(spec.init_containers.take().unwrap_or_default(), &b.init_containers));
        spec.containers = merge_containers(std::mem::take(&mut spec.containers), &b.containers);
        let mut volumes = spec.volumes.take().unwrap_or_default();
        let mut vnames: BTreeSet<String> = volumes.iter().map(|v| v.name.clone()).collect();
        for v in b.volumes {
            if vnames.insert(v.name.clone()) {
                volumes.push(v);
            }
        }
        spec.volumes = non_empty(volumes);
        let mut secrets = Vec::new();
        let mut snames = BTreeSet::new();
        for s in spec.image_pull_secrets.take().unwrap_or_default().into_iter().chain(b.secrets) {
            if snames.insert(s.name.clone()) {
                secrets.push(s);
            }
        }
        spec.image_pull_secrets = non_empty(secrets);
        b.anns.insert(keys::SIDECARSET_HASH.into(), write_records(&hash_records));
        b.anns.insert(keys::SIDECARSET_HASH_WITHOUT_IMAGE.into(), write_records(&hash_wo_records));
        b.anns.insert(keys::SIDECARSET_INJECTED_LIST.into(), names.into_iter().collect::<Vec<_>>().join(","));
        out.metadata.annotations.get_or_insert_with(Default::default).extend(b.anns);
    }
    let patch = diff_pod(pod, &out);
    Ok(Injection { pod: out, patch, skipped: None, decisions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scs_18_sub_path_expr_references() {
        assert_eq!(sub_path_vars("foo/$(ODD_NAME)/$(POD_NAME)"), vec!["ODD_NAME", "POD_NAME"]);
        assert_eq!(sub_path_vars("$(1X)/$(.a-b_c9)$($(Y)"), vec![".a-b_c9", "Y"]);
        assert!(sub_path_vars("$(").is_empty());
        assert!(sub_path_vars("é$(é)").is_empty());
    }

    #[test]
    fn scs_19_field_path_subscripts() {
        assert_eq!(subscripted("metadata.labels['app']"), Some((true, "app")));
        assert_eq!(subscripted("metadata.annotations['a.b/c']"), Some((false, "a.b/c")));
        assert_eq!(subscripted("metadata.name"), None);
        assert_eq!(subscripted("spec.x['a']"), None);
        assert!(is_qualified_name("example.com/app-name"));
        assert!(!is_qualified_name("-bad"));
        assert!(!is_qualified_name("Bad_/x"));
    }

    #[test]
    fn scs_13_draw_is_uniform_and_deterministic() {
        let d: Vec<f64> = (0..1000).map(|s| draw(s, "ss")).collect();
        assert!(d.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        assert!((0.45..0.55).contains(&mean), "{mean}");
        assert_eq!(draw(7, "ss"), draw(7, "ss"));
    }
}
