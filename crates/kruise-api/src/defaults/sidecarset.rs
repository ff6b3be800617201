//! SidecarSet defaulting (SCS-5): what the mutating webhook sets on create and update, the
//! same for both API versions. Includes Kubernetes' own container and volume defaults, which
//! the webhook applies to sidecars (and which differ from Kruise's template defaulting:
//! `imagePullPolicy` follows the image tag here).
//! After the defaults, the two hash annotations of SCS-6 are computed and written on the
//! SidecarSet ([`hash`]).
//!
//! Not done here: the milli-rounding of resource quantities Kubernetes applies.

use k8s_openapi::api::core::v1::{
    Container, HTTPGetAction, ObjectFieldSelector, Probe, Volume, VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Defaulting;
use crate::apps::v1beta1::sidecarset::{
    SidecarContainer, SidecarSetInjectionStrategy, SidecarSetPatchPodMetadata, SidecarSetUpdateStrategy,
    inject_revision_policy, patch_policy, pod_inject_policy, share_volume_policy, update_strategy_type,
    upgrade_type,
};
use crate::apps::{v1alpha1, v1beta1};
use crate::keys;

pub mod hash;

/// Default `resourcesPolicy.targetContainersNameRegex` (upstream's CRD default).
pub const DEFAULT_TARGET_CONTAINERS_NAME_REGEX: &str = ".*";
/// Default `revisionHistoryLimit` (SCS-5).
pub const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 10;
/// Kubernetes' default file mode of secret, configMap, downwardAPI and projected volumes.
pub const DEFAULT_VOLUME_MODE: i32 = 0o644;
/// Kubernetes' default `expirationSeconds` of a projected service-account token.
pub const DEFAULT_TOKEN_EXPIRATION_SECONDS: i64 = 3600;

/// Every field the two versions share, borrowed mutably.
struct SpecParts<'a> {
    update_strategy: &'a mut SidecarSetUpdateStrategy,
    init_containers: &'a mut [SidecarContainer],
    containers: &'a mut [SidecarContainer],
    volumes: &'a mut [Volume],
    revision_history_limit: &'a mut Option<i32>,
    patch_pod_metadata: &'a mut [SidecarSetPatchPodMetadata],
    injection_strategy: &'a mut SidecarSetInjectionStrategy,
}

fn default_parts(p: SpecParts<'_>) {
    let us = p.update_strategy;
    if us.type_.as_deref().is_none_or(str::is_empty) {
        us.type_ = Some(update_strategy_type::ROLLING_UPDATE.to_owned());
    }
    us.max_unavailable.get_or_insert(IntOrString::Int(1));
    us.partition.get_or_insert(IntOrString::Int(0));
    for c in p.init_containers.iter_mut() {
        default_sidecar_container(c, pod_inject_policy::AFTER_APP_CONTAINER);
    }
    for c in p.containers.iter_mut() {
        default_sidecar_container(c, pod_inject_policy::BEFORE_APP_CONTAINER);
    }
    for v in p.volumes.iter_mut() {
        default_volume(v);
    }
    p.revision_history_limit.get_or_insert(DEFAULT_REVISION_HISTORY_LIMIT);
    for patch in p.patch_pod_metadata.iter_mut() {
        if patch.patch_policy.as_deref().is_none_or(str::is_empty) {
            patch.patch_policy = Some(patch_policy::RETAIN.to_owned());
        }
    }
    if let Some(rev) = p.injection_strategy.revision.as_mut()
        && rev.policy.as_deref().is_none_or(str::is_empty)
    {
        rev.policy = Some(inject_revision_policy::ALWAYS.to_owned());
    }
}

impl Defaulting for v1beta1::SidecarSet {
    /// SCS-5.
    fn apply_defaults(&mut self) {
        let s = &mut self.spec;
        default_parts(SpecParts {
            update_strategy: &mut s.update_strategy,
            init_containers: &mut s.init_containers,
            containers: &mut s.containers,
            volumes: &mut s.volumes,
            revision_history_limit: &mut s.revision_history_limit,
            patch_pod_metadata: &mut s.patch_pod_metadata,
            injection_strategy: &mut s.injection_strategy,
        });
        set_hash_annotations(&mut self.metadata, &s.containers, &s.init_containers);
    }
}

impl Defaulting for v1alpha1::SidecarSet {
    /// SCS-5 (identical for v1alpha1).
    fn apply_defaults(&mut self) {
        let s = &mut self.spec;
        default_parts(SpecParts {
            update_strategy: &mut s.update_strategy,
            init_containers: &mut s.init_containers,
            containers: &mut s.containers,
            volumes: &mut s.volumes,
            revision_history_limit: &mut s.revision_history_limit,
            patch_pod_metadata: &mut s.patch_pod_metadata,
            injection_strategy: &mut s.injection_strategy,
        });
        set_hash_annotations(&mut self.metadata, &s.containers, &s.init_containers);
    }
}

/// SCS-5: a sidecar's own defaults (`podInjectPolicy`, `upgradeType`, `shareVolumePolicy`,
/// and the CRD's `.*` for an empty `resourcesPolicy.targetContainersNameRegex`), then
/// Kubernetes' container defaults and the `fieldRef` defaults of `transferEnv`.
/// `shareVolumeDevicePolicy` is deliberately left unset.
pub fn default_sidecar_container(sc: &mut SidecarContainer, inject_policy: &str) {
    if sc.pod_inject_policy.as_deref().is_none_or(str::is_empty) {
        sc.pod_inject_policy = Some(inject_policy.to_owned());
    }
    if sc.upgrade_strategy.upgrade_type.as_deref().is_none_or(str::is_empty) {
        sc.upgrade_strategy.upgrade_type = Some(upgrade_type::COLD_UPGRADE.to_owned());
    }
    if sc.share_volume_policy.type_.as_deref().is_none_or(str::is_empty) {
        sc.share_volume_policy.type_ = Some(share_volume_policy::DISABLED.to_owned());
    }
    // The CRD's structural default, which the API server applies before the webhook runs.
    if let Some(rp) = sc.resources_policy.as_mut()
        && rp.target_containers_name_regex.is_empty()
    {
        rp.target_containers_name_regex = DEFAULT_TARGET_CONTAINERS_NAME_REGEX.to_owned();
    }
    for t in &mut sc.transfer_env {
        if let Some(fr) = t.source_container_name_from.as_mut().and_then(|s| s.field_ref.as_mut()) {
            default_field_selector(fr);
        }
    }
    default_core_container(&mut sc.container);
}

/// Kubernetes' container defaults as the SidecarSet webhook applies them (SCS-5):
/// `imagePullPolicy` (`Always` for a `latest` or missing tag, else `IfNotPresent`),
/// `terminationMessagePath` / `Policy`, port protocol `TCP`, env `fieldRef.apiVersion: v1`,
/// liveness/readiness probe timings and `httpGet` path/scheme, lifecycle `httpGet`.
pub fn default_core_container(c: &mut Container) {
    if c.image_pull_policy.as_deref().is_none_or(str::is_empty) {
        let policy = if image_tag(c.image.as_deref().unwrap_or_default()) == Some("latest") {
            "Always"
        } else {
            "IfNotPresent"
        };
        c.image_pull_policy = Some(policy.to_owned());
    }
    if c.termination_message_path.as_deref().is_none_or(str::is_empty) {
        c.termination_message_path = Some("/dev/termination-log".to_owned());
    }
    if c.termination_message_policy.as_deref().is_none_or(str::is_empty) {
        c.termination_message_policy = Some("File".to_owned());
    }
    for p in c.ports.iter_mut().flatten() {
        if p.protocol.as_deref().is_none_or(str::is_empty) {
            p.protocol = Some("TCP".to_owned());
        }
    }
    for e in c.env.iter_mut().flatten() {
        if let Some(fr) = e.value_from.as_mut().and_then(|v| v.field_ref.as_mut()) {
            default_field_selector(fr);
        }
    }
    for probe in [c.liveness_probe.as_mut(), c.readiness_probe.as_mut()].into_iter().flatten() {
        default_probe(probe);
    }
    if let Some(lc) = c.lifecycle.as_mut() {
        for h in [lc.post_start.as_mut(), lc.pre_stop.as_mut()].into_iter().flatten() {
            if let Some(g) = h.http_get.as_mut() {
                default_http_get(g);
            }
        }
    }
}

/// The tag Kubernetes reads from an image reference: the explicit tag, `latest` when there is
/// neither tag nor digest, `None` with a digest only or an empty reference.
fn image_tag(image: &str) -> Option<&str> {
    if image.is_empty() {
        return None;
    }
    let (name, digest) = match image.split_once('@') {
        Some((n, _)) => (n, true),
        None => (image, false),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':') {
        Some((_, tag)) => Some(tag),
        None if digest => None,
        None => Some("latest"),
    }
}

fn unset(v: Option<i32>) -> bool {
    v.is_none_or(|n| n == 0)
}

fn default_probe(p: &mut Probe) {
    if unset(p.timeout_seconds) {
        p.timeout_seconds = Some(1);
    }
    if unset(p.period_seconds) {
        p.period_seconds = Some(10);
    }
    if unset(p.success_threshold) {
        p.success_threshold = Some(1);
    }
    if unset(p.failure_threshold) {
        p.failure_threshold = Some(3);
    }
    if let Some(g) = p.http_get.as_mut() {
        default_http_get(g);
    }
}

fn default_http_get(g: &mut HTTPGetAction) {
    if g.path.as_deref().is_none_or(str::is_empty) {
        g.path = Some("/".to_owned());
    }
    if g.scheme.as_deref().is_none_or(str::is_empty) {
        g.scheme = Some("HTTP".to_owned());
    }
}

fn default_field_selector(fr: &mut ObjectFieldSelector) {
    if fr.api_version.as_deref().is_none_or(str::is_empty) {
        fr.api_version = Some("v1".to_owned());
    }
}

/// Kubernetes' volume defaults as the SidecarSet webhook applies them (SCS-5): a volume with
/// no source becomes `emptyDir: {}`; `hostPath.type` `""`; `defaultMode` 0644 on secret,
/// configMap, downwardAPI and projected volumes; `fieldRef.apiVersion: v1`; projected
/// service-account tokens expire after 3600 s.
pub fn default_volume(v: &mut Volume) {
    let has_source = serde_json::to_value(&*v)
        .ok()
        .and_then(|j| j.as_object().map(|o| o.keys().any(|k| k != "name")))
        .unwrap_or(true);
    if !has_source {
        v.empty_dir = Some(Default::default());
    }
    if let Some(h) = v.host_path.as_mut() {
        h.type_.get_or_insert_with(String::new);
    }
    if let Some(s) = v.secret.as_mut() {
        s.default_mode.get_or_insert(DEFAULT_VOLUME_MODE);
    }
    if let Some(c) = v.config_map.as_mut() {
        c.default_mode.get_or_insert(DEFAULT_VOLUME_MODE);
    }
    if let Some(d) = v.downward_api.as_mut() {
        d.default_mode.get_or_insert(DEFAULT_VOLUME_MODE);
        for item in d.items.iter_mut().flatten() {
            if let Some(fr) = item.field_ref.as_mut() {
                default_field_selector(fr);
            }
        }
    }
    if let Some(p) = v.projected.as_mut() {
        p.default_mode.get_or_insert(DEFAULT_VOLUME_MODE);
        for src in p.sources.iter_mut().flatten() {
            default_projection(src);
        }
    }
}

fn default_projection(src: &mut VolumeProjection) {
    if let Some(d) = src.downward_api.as_mut() {
        for item in d.items.iter_mut().flatten() {
            if let Some(fr) = item.field_ref.as_mut() {
                default_field_selector(fr);
            }
        }
    }
    if let Some(t) = src.service_account_token.as_mut() {
        t.expiration_seconds.get_or_insert(DEFAULT_TOKEN_EXPIRATION_SECONDS);
    }
}

/// SCS-5, last step: (re)computes `kruise.io/sidecarset-hash` and
/// `kruise.io/sidecarset-hash-without-image` (SCS-6) on the SidecarSet's metadata.
fn set_hash_annotations(
    metadata: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    containers: &[SidecarContainer],
    init_containers: &[SidecarContainer],
) {
    let with_image = hash::sidecarset_hash(containers, init_containers, false);
    let without_image = hash::sidecarset_hash(containers, init_containers, true);
    let a = metadata.annotations.get_or_insert_with(Default::default);
    a.insert(keys::SIDECARSET_HASH.to_owned(), with_image);
    a.insert(keys::SIDECARSET_HASH_WITHOUT_IMAGE.to_owned(), without_image);
}
