//! Pod template defaulting (CS-12, ASTS-7): Kubernetes' pod-spec defaults as OpenKruise's
//! webhook applies them to workload templates, with Kruise's own deviation for
//! `imagePullPolicy`, and the PVC defaults for `volumeClaimTemplates`.
//!
//! Every function here is idempotent: applying it twice gives the same object as applying it
//! once. Resource quantities are rewritten in the canonical form Go's `resource.Quantity`
//! serializes (`"0.5"` -> `"500m"`, `"1000m"` -> `"1"`, `"1.5Gi"` -> `"1536Mi"`), as the stored
//! object carries them after upstream's webhook: the revision hash of a template depends on it.
//! A quantity that does not parse is kept as written (validation reports it).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EmptyDirVolumeSource, EnvVar, HTTPGetAction, Lifecycle, PersistentVolumeClaim,
    PersistentVolumeClaimStatus, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements,
    Volume, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// Options of the template defaulting, mirroring two upstream feature gates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodDefaultOptions {
    /// Gate `DefaultHostNetworkHostPortsInPodTemplates` (default off): with `hostNetwork: true`,
    /// every port without a `hostPort` gets `hostPort = containerPort`.
    pub host_network_host_ports: bool,
    /// Gate `TemplateNoDefaults` (default off): leave workload templates as written.
    pub template_no_defaults: bool,
}

/// The template part of a workload's defaulting (CS-12, ASTS-7): pod-spec defaults on
/// `template` and PVC defaults on each of `claims`, applied on create (`old_template` is
/// `None`) and on update only when the template changed, unless `TemplateNoDefaults` is on.
pub fn default_workload_templates(
    template: &mut PodTemplateSpec,
    claims: &mut [PersistentVolumeClaim],
    old_template: Option<&PodTemplateSpec>,
    opts: PodDefaultOptions,
) {
    if opts.template_no_defaults || old_template.is_some_and(|old| old == template) {
        return;
    }
    default_pod_template_with(template, opts);
    for c in claims {
        default_pvc_template(c);
    }
}

/// Seconds a pod gets to terminate by default.
pub const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;
/// Scheduler used when the template names none.
pub const DEFAULT_SCHEDULER_NAME: &str = "default-scheduler";
/// Termination message path of a container.
pub const DEFAULT_TERMINATION_MESSAGE_PATH: &str = "/dev/termination-log";
/// File mode of configMap, secret, downwardAPI and projected volumes (0644).
pub const DEFAULT_VOLUME_MODE: i32 = 0o644;
/// Expiry of a projected service-account token, in seconds.
pub const DEFAULT_TOKEN_EXPIRATION_SECONDS: i64 = 3600;

/// Applies pod-spec defaults to a workload's pod template (CS-12), with the default options.
pub fn default_pod_template(template: &mut PodTemplateSpec) {
    default_pod_template_with(template, PodDefaultOptions::default());
}

/// Applies pod-spec defaults to a workload's pod template (CS-12) with explicit options.
pub fn default_pod_template_with(template: &mut PodTemplateSpec, opts: PodDefaultOptions) {
    default_pod_spec(template.spec.get_or_insert_with(Default::default), opts);
}

/// Kubernetes' pod-spec defaults plus Kruise's (CS-12):
/// `dnsPolicy: ClusterFirst`, `restartPolicy: Always`, `securityContext: {}`,
/// `terminationGracePeriodSeconds: 30`, `schedulerName: default-scheduler`, volume defaults,
/// [`default_container`] for every container and [`default_init_container`] for init containers.
pub fn default_pod_spec(spec: &mut PodSpec, opts: PodDefaultOptions) {
    set_if_empty(&mut spec.dns_policy, "ClusterFirst");
    set_if_empty(&mut spec.restart_policy, "Always");
    if opts.host_network_host_ports && spec.host_network == Some(true) {
        for c in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
            for p in c.ports.iter_mut().flatten() {
                if p.host_port.unwrap_or(0) == 0 {
                    p.host_port = Some(p.container_port);
                }
            }
        }
    }
    spec.security_context.get_or_insert_with(PodSecurityContext::default);
    spec.termination_grace_period_seconds.get_or_insert(DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS);
    set_if_empty(&mut spec.scheduler_name, DEFAULT_SCHEDULER_NAME);
    for v in spec.volumes.iter_mut().flatten() {
        default_volume(v);
    }
    for c in spec.init_containers.iter_mut().flatten() {
        default_init_container(c);
    }
    for c in &mut spec.containers {
        default_container(c);
    }
    canonical_quantities(spec.overhead.as_mut());
    for c in spec.ephemeral_containers.iter_mut().flatten() {
        canonical_resources(c.resources.as_mut());
        default_ports(c.ports.as_deref_mut());
        default_env(c.env.as_deref_mut());
        for p in [&mut c.liveness_probe, &mut c.readiness_probe, &mut c.startup_probe].into_iter().flatten() {
            default_probe(p);
        }
        if let Some(l) = &mut c.lifecycle {
            default_lifecycle(l);
        }
    }
}

/// Defaults one regular container: an empty `imagePullPolicy` becomes `Always` whatever the
/// tag (Kruise's deviation, so in-place image updates always pull), then
/// `terminationMessagePath`/`Policy`, ports, env fieldRefs, probes and lifecycle handlers.
pub fn default_container(c: &mut Container) {
    default_container_with(c, true);
}

/// Defaults one init container: like [`default_container`] but with Kubernetes' pull-policy
/// rule (`Always` for `:latest` or no tag, else `IfNotPresent`).
pub fn default_init_container(c: &mut Container) {
    default_container_with(c, false);
}

fn default_container_with(c: &mut Container, kruise_pull_policy: bool) {
    if c.image_pull_policy.as_deref().is_none_or(str::is_empty) {
        let policy = if kruise_pull_policy || image_is_latest(c.image.as_deref().unwrap_or_default()) {
            "Always"
        } else {
            "IfNotPresent"
        };
        c.image_pull_policy = Some(policy.to_owned());
    }
    set_if_empty(&mut c.termination_message_path, DEFAULT_TERMINATION_MESSAGE_PATH);
    set_if_empty(&mut c.termination_message_policy, "File");
    canonical_resources(c.resources.as_mut());
    default_ports(c.ports.as_deref_mut());
    default_env(c.env.as_deref_mut());
    for p in [&mut c.liveness_probe, &mut c.readiness_probe, &mut c.startup_probe].into_iter().flatten() {
        default_probe(p);
    }
    if let Some(l) = &mut c.lifecycle {
        default_lifecycle(l);
    }
}

/// True when an image reference has no tag or the tag `latest`, and no digest (Kubernetes'
/// image-pull-policy rule).
fn image_is_latest(image: &str) -> bool {
    if image.contains('@') {
        return false;
    }
    // The tag follows the last ':' after the last '/' (a ':' before it is a registry port).
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

fn default_ports(ports: Option<&mut [ContainerPort]>) {
    for p in ports.into_iter().flatten() {
        set_if_empty(&mut p.protocol, "TCP");
    }
}

fn default_env(env: Option<&mut [EnvVar]>) {
    for e in env.into_iter().flatten() {
        if let Some(f) = e.value_from.as_mut().and_then(|v| v.field_ref.as_mut()) {
            set_if_empty(&mut f.api_version, "v1");
        }
    }
}

/// Probe defaults: `timeoutSeconds: 1`, `periodSeconds: 10`, `successThreshold: 1`,
/// `failureThreshold: 3` (each when unset or 0), and HTTP-get defaults.
pub fn default_probe(p: &mut Probe) {
    for (field, value) in [
        (&mut p.timeout_seconds, 1),
        (&mut p.period_seconds, 10),
        (&mut p.success_threshold, 1),
        (&mut p.failure_threshold, 3),
    ] {
        if field.unwrap_or(0) == 0 {
            *field = Some(value);
        }
    }
    if let Some(h) = &mut p.http_get {
        default_http_get(h);
    }
}

/// HTTP-get defaults: `path: /`, `scheme: HTTP`.
pub fn default_http_get(h: &mut HTTPGetAction) {
    set_if_empty(&mut h.path, "/");
    set_if_empty(&mut h.scheme, "HTTP");
}

fn default_lifecycle(l: &mut Lifecycle) {
    for h in [&mut l.post_start, &mut l.pre_stop].into_iter().flatten() {
        if let Some(g) = &mut h.http_get {
            default_http_get(g);
        }
    }
}

/// Volume defaults: a volume with no source becomes an `emptyDir`; configMap, secret,
/// downwardAPI and projected volumes get `defaultMode: 0644`; fieldRefs `apiVersion: v1`;
/// projected service-account tokens `expirationSeconds: 3600`.
pub fn default_volume(v: &mut Volume) {
    if crate::validation::pod::volume_source_count(v) == 0 {
        v.empty_dir = Some(EmptyDirVolumeSource::default());
    }
    if let Some(q) = v.empty_dir.as_mut().and_then(|e| e.size_limit.as_mut()) {
        canonical_quantity(q);
    }
    if let Some(spec) =
        v.ephemeral.as_mut().and_then(|e| e.volume_claim_template.as_mut()).map(|t| &mut t.spec)
    {
        canonical_volume_resources(spec.resources.as_mut());
    }
    if let Some(s) = &mut v.secret {
        s.default_mode.get_or_insert(DEFAULT_VOLUME_MODE);
    }
    if let Some(c) = &mut v.config_map {
        c.default_mode.get_or_insert(DEFAULT_VOLUME_MODE);
    }
    if let Some(h) = &mut v.host_path {
        h.type_.get_or_insert_with(String::new);
    }
    if let Some(d) = &mut v.downward_api {
        d.default_mode.get_or_insert(DEFAULT_VOLUME_MODE);
        for item in d.items.iter_mut().flatten() {
            if let Some(f) = &mut item.field_ref {
                set_if_empty(&mut f.api_version, "v1");
            }
        }
    }
    if let Some(p) = &mut v.projected {
        p.default_mode.get_or_insert(DEFAULT_VOLUME_MODE);
        for src in p.sources.iter_mut().flatten() {
            if let Some(d) = &mut src.downward_api {
                for item in d.items.iter_mut().flatten() {
                    if let Some(f) = &mut item.field_ref {
                        set_if_empty(&mut f.api_version, "v1");
                    }
                }
            }
            if let Some(t) = &mut src.service_account_token {
                t.expiration_seconds.get_or_insert(DEFAULT_TOKEN_EXPIRATION_SECONDS);
            }
        }
    }
}

/// PVC template defaults (CS-12, ASTS-7): `spec.volumeMode: Filesystem` and
/// `status.phase: Pending`, as Kubernetes defaults a PersistentVolumeClaim.
pub fn default_pvc_template(pvc: &mut PersistentVolumeClaim) {
    let spec = pvc.spec.get_or_insert_with(Default::default);
    set_if_empty(&mut spec.volume_mode, "Filesystem");
    canonical_volume_resources(spec.resources.as_mut());
    let status = pvc.status.get_or_insert_with(PersistentVolumeClaimStatus::default);
    set_if_empty(&mut status.phase, "Pending");
}

/// Rewrites a quantity in Go's canonical form ([`crate::quantity::canonical`]); one that does
/// not parse stays as written.
pub fn canonical_quantity(q: &mut Quantity) {
    if let Some(c) = crate::quantity::canonical(&q.0) {
        q.0 = c;
    }
}

fn canonical_quantities(map: Option<&mut BTreeMap<String, Quantity>>) {
    map.into_iter().flat_map(|m| m.values_mut()).for_each(canonical_quantity);
}

/// Canonical quantities in a container's `resources` (requests and limits).
pub fn canonical_resources(r: Option<&mut ResourceRequirements>) {
    if let Some(r) = r {
        canonical_quantities(r.requests.as_mut());
        canonical_quantities(r.limits.as_mut());
    }
}

fn canonical_volume_resources(r: Option<&mut VolumeResourceRequirements>) {
    if let Some(r) = r {
        canonical_quantities(r.requests.as_mut());
        canonical_quantities(r.limits.as_mut());
    }
}

fn set_if_empty(field: &mut Option<String>, value: &str) {
    if field.as_deref().is_none_or(str::is_empty) {
        *field = Some(value.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{ConfigMapVolumeSource, EnvVarSource, ObjectFieldSelector};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    fn template() -> PodTemplateSpec {
        let c = Container {
            name: "nginx".into(),
            image: Some("nginx:1.20".into()),
            ports: Some(vec![ContainerPort { container_port: 80, ..Default::default() }]),
            env: Some(vec![EnvVar {
                name: "NODE".into(),
                value_from: Some(EnvVarSource {
                    field_ref: Some(ObjectFieldSelector {
                        field_path: "spec.nodeName".into(),
                        api_version: None,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            readiness_probe: Some(Probe {
                http_get: Some(HTTPGetAction { port: IntOrString::Int(80), ..Default::default() }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let init = Container { name: "init".into(), image: Some("busybox".into()), ..Default::default() };
        PodTemplateSpec {
            metadata: None,
            spec: Some(PodSpec {
                containers: vec![c],
                init_containers: Some(vec![init]),
                volumes: Some(vec![
                    Volume { name: "scratch".into(), ..Default::default() },
                    Volume {
                        name: "cfg".into(),
                        config_map: Some(ConfigMapVolumeSource::default()),
                        ..Default::default()
                    },
                ]),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn cs_12_pod_spec_defaults() {
        let mut t = template();
        default_pod_template(&mut t);
        let s = t.spec.as_ref().unwrap();
        assert_eq!(s.restart_policy.as_deref(), Some("Always"));
        assert_eq!(s.dns_policy.as_deref(), Some("ClusterFirst"));
        assert_eq!(s.scheduler_name.as_deref(), Some("default-scheduler"));
        assert_eq!(s.termination_grace_period_seconds, Some(30));
        assert_eq!(s.security_context, Some(PodSecurityContext::default()));
        let vols = s.volumes.as_ref().unwrap();
        assert_eq!(vols[0].empty_dir, Some(EmptyDirVolumeSource::default()));
        assert_eq!(vols[1].config_map.as_ref().unwrap().default_mode, Some(0o644));
    }

    #[test]
    fn cs_12_container_defaults() {
        let mut t = template();
        default_pod_template(&mut t);
        let s = t.spec.as_ref().unwrap();
        let c = &s.containers[0];
        assert_eq!(c.image_pull_policy.as_deref(), Some("Always"), "Kruise: Always even with a tag");
        assert_eq!(c.termination_message_path.as_deref(), Some("/dev/termination-log"));
        assert_eq!(c.termination_message_policy.as_deref(), Some("File"));
        assert_eq!(c.ports.as_ref().unwrap()[0].protocol.as_deref(), Some("TCP"));
        let f = c.env.as_ref().unwrap()[0].value_from.as_ref().unwrap().field_ref.as_ref().unwrap();
        assert_eq!(f.api_version.as_deref(), Some("v1"));
        let p = c.readiness_probe.as_ref().unwrap();
        assert_eq!(
            (p.timeout_seconds, p.period_seconds, p.success_threshold, p.failure_threshold),
            (Some(1), Some(10), Some(1), Some(3))
        );
        let h = p.http_get.as_ref().unwrap();
        assert_eq!((h.path.as_deref(), h.scheme.as_deref()), (Some("/"), Some("HTTP")));
        let init = &s.init_containers.as_ref().unwrap()[0];
        assert_eq!(init.image_pull_policy.as_deref(), Some("Always"), "untagged init image: Kubernetes rule");
    }

    #[test]
    fn cs_12_init_container_with_tag_gets_if_not_present() {
        let mut c = Container {
            name: "i".into(),
            image: Some("registry:5000/busybox:1.36".into()),
            ..Default::default()
        };
        default_init_container(&mut c);
        assert_eq!(c.image_pull_policy.as_deref(), Some("IfNotPresent"));
        assert!(image_is_latest("registry:5000/busybox"));
        assert!(!image_is_latest("busybox@sha256:abc"));
    }

    #[test]
    fn cs_12_defaulting_is_idempotent() {
        let mut once = template();
        default_pod_template(&mut once);
        let mut twice = once.clone();
        default_pod_template(&mut twice);
        assert_eq!(once, twice);
    }

    #[test]
    fn cs_12_host_network_host_ports_behind_gate() {
        let mut t = template();
        t.spec.as_mut().unwrap().host_network = Some(true);
        let mut off = t.clone();
        default_pod_template(&mut off);
        assert_eq!(off.spec.as_ref().unwrap().containers[0].ports.as_ref().unwrap()[0].host_port, None);
        default_pod_template_with(
            &mut t,
            PodDefaultOptions { host_network_host_ports: true, ..Default::default() },
        );
        assert_eq!(t.spec.as_ref().unwrap().containers[0].ports.as_ref().unwrap()[0].host_port, Some(80));
    }

    #[test]
    fn cs_12_pvc_template_defaults() {
        let mut pvc = PersistentVolumeClaim::default();
        default_pvc_template(&mut pvc);
        assert_eq!(pvc.spec.as_ref().unwrap().volume_mode.as_deref(), Some("Filesystem"));
        assert_eq!(pvc.status.as_ref().unwrap().phase.as_deref(), Some("Pending"));
    }

    /// CS-12 / issue 12 item 3: quantities in the template are written as Go writes them, so a
    /// template written with `"0.5"` and one with `"500m"` default to the same object (and
    /// hence the same revision name as kruise-manager's).
    #[test]
    fn cs_12_quantities_are_canonical_after_defaulting() {
        use k8s_openapi::api::core::v1::PersistentVolumeClaimSpec;
        let q = |s: &str| Quantity(s.to_owned());
        let res = |cpu: &str, mem: &str| ResourceRequirements {
            requests: Some(BTreeMap::from([("cpu".to_owned(), q(cpu)), ("memory".to_owned(), q(mem))])),
            limits: Some(BTreeMap::from([
                ("cpu".to_owned(), q("1000m")),
                ("nvidia.com/gpu".to_owned(), q("1")),
            ])),
            ..Default::default()
        };
        let mut t = template();
        if let Some(spec) = t.spec.as_mut() {
            spec.containers[0].resources = Some(res("0.5", "1.5Gi"));
            spec.init_containers = Some(vec![Container {
                name: "init".into(),
                resources: Some(res("2000m", "1024Mi")),
                ..Default::default()
            }]);
            spec.overhead = Some(BTreeMap::from([("cpu".to_owned(), q("0.25"))]));
            spec.volumes = Some(vec![Volume {
                name: "scratch".into(),
                empty_dir: Some(EmptyDirVolumeSource { size_limit: Some(q("0.5Gi")), ..Default::default() }),
                ..Default::default()
            }]);
        }
        default_pod_template(&mut t);
        let spec = t.spec.as_ref().unwrap();
        let r = spec.containers[0].resources.as_ref().unwrap();
        let requests = r.requests.as_ref().unwrap();
        assert_eq!((requests["cpu"].0.as_str(), requests["memory"].0.as_str()), ("500m", "1536Mi"));
        assert_eq!(r.limits.as_ref().unwrap()["cpu"].0, "1");
        assert_eq!(r.limits.as_ref().unwrap()["nvidia.com/gpu"].0, "1");
        let init = spec.init_containers.as_ref().unwrap()[0].resources.as_ref().unwrap();
        assert_eq!(init.requests.as_ref().unwrap()["cpu"].0, "2");
        assert_eq!(init.requests.as_ref().unwrap()["memory"].0, "1Gi");
        assert_eq!(spec.overhead.as_ref().unwrap()["cpu"].0, "250m");
        let size = spec.volumes.as_ref().unwrap()[0].empty_dir.as_ref().unwrap().size_limit.clone();
        assert_eq!(size, Some(q("512Mi")));

        // Same template written canonically: same object; defaulting twice changes nothing.
        let mut canonical = template();
        if let Some(spec) = canonical.spec.as_mut() {
            spec.containers[0].resources = Some(res("500m", "1536Mi"));
        }
        default_pod_template(&mut canonical);
        assert_eq!(canonical.spec.as_ref().unwrap().containers[0].resources, spec.containers[0].resources);
        let mut again = t.clone();
        default_pod_template(&mut again);
        assert_eq!(again, t);

        // A quantity that does not parse is kept as written; PVC templates are canonical too.
        let mut bad = template();
        bad.spec.as_mut().unwrap().containers[0].resources = Some(res("lots", "1Gi"));
        default_pod_template(&mut bad);
        let r = bad.spec.as_ref().unwrap().containers[0].resources.as_ref().unwrap();
        assert_eq!(r.requests.as_ref().unwrap()["cpu"].0, "lots");
        let mut pvc = PersistentVolumeClaim {
            spec: Some(PersistentVolumeClaimSpec {
                resources: Some(VolumeResourceRequirements {
                    requests: Some(BTreeMap::from([("storage".to_owned(), q("1.5Gi"))])),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        default_pvc_template(&mut pvc);
        let storage = &pvc.spec.unwrap().resources.unwrap().requests.unwrap()["storage"];
        assert_eq!(storage.0, "1536Mi");
    }
}
