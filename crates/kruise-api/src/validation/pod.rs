//! Pod template validation (CS-14 and the template rules of the other workloads): the part of
//! Kubernetes' pod-template validation a manifest author trips over, reported with the same
//! field paths (`spec.template.spec.containers[0].ports[1].containerPort`).
//!
//! Checked: template labels and annotations; containers present, names DNS-1123 labels and
//! unique (init containers included), images present, pull and termination-message policies;
//! ports (1..=65535, protocol, IANA names unique per container, host-port clashes); env names
//! and sources; resource quantities parse and requests ≤ limits; volumes (names unique DNS-1123
//! labels, exactly one source) and volume mounts naming an existing volume with a unique path;
//! probes; `restartPolicy`, `dnsPolicy`, `activeDeadlineSeconds`. Not checked: security
//! contexts, affinity, topology spread, and other fields a webhook rarely sees wrong.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, Volume,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::field::{FieldPath, ValidationError, ValidationErrors};
use crate::validation::meta::{
    is_dns1123_label, is_dns1123_subdomain, validate_annotations, validate_dns1123_label, validate_labels,
};

/// Restart policies a pod accepts.
pub const RESTART_POLICIES: [&str; 3] = ["Always", "OnFailure", "Never"];
/// DNS policies a pod accepts.
pub const DNS_POLICIES: [&str; 4] = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
/// Image pull policies.
pub const IMAGE_PULL_POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];
/// Termination message policies.
pub const TERMINATION_MESSAGE_POLICIES: [&str; 2] = ["File", "FallbackToLogsOnError"];
/// Port protocols.
pub const PROTOCOLS: [&str; 3] = ["TCP", "UDP", "SCTP"];

/// Validates a workload's pod template at `path` (usually `spec.template`).
pub fn validate_pod_template_spec(template: &PodTemplateSpec, path: &FieldPath) -> ValidationErrors {
    validate_pod_template_spec_with_claims(template, &[], path)
}

/// Like [`validate_pod_template_spec`], after adding one PVC-backed volume per name in
/// `claim_volumes` (the workload's `volumeClaimTemplates`, CS-14), so that volume mounts may
/// name them.
pub fn validate_pod_template_spec_with_claims(
    template: &PodTemplateSpec,
    claim_volumes: &[&str],
    path: &FieldPath,
) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let meta_path = path.child("metadata");
    if let Some(meta) = &template.metadata {
        errs.extend(validate_labels(meta.labels.as_ref(), &meta_path.child("labels")));
        errs.extend(validate_annotations(meta.annotations.as_ref(), &meta_path.child("annotations")));
    }
    let spec_path = path.child("spec");
    match template.spec.as_ref() {
        None => errs.push(ValidationError::required(spec_path, "a pod template needs a spec")),
        Some(spec) => errs.extend(validate_pod_spec(spec, claim_volumes, &spec_path)),
    }
    errs
}

/// Validates a pod spec at `path`; `claim_volumes` are extra volume names (PVC-backed, from
/// volumeClaimTemplates) that mounts may refer to.
pub fn validate_pod_spec(spec: &PodSpec, claim_volumes: &[&str], path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();

    // Volumes first: mounts are checked against them.
    let mut volume_names: BTreeSet<&str> = BTreeSet::new();
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        let vp = path.child("volumes").index(i);
        errs.extend(validate_volume(v, &vp));
        if !v.name.is_empty() && !volume_names.insert(v.name.as_str()) {
            errs.push(ValidationError::duplicate(vp.child("name"), &v.name, "volume names must be unique"));
        }
    }
    for claim in claim_volumes {
        if !volume_names.insert(claim) {
            errs.push(ValidationError::duplicate(
                path.child("volumes"),
                claim,
                "a volume has the name of a volumeClaimTemplate",
            ));
        }
    }

    if spec.containers.is_empty() {
        errs.push(ValidationError::required(path.child("containers"), "at least one container is required"));
    }
    let mut container_names: BTreeSet<&str> = BTreeSet::new();
    let mut host_ports: BTreeSet<(i32, String, String)> = BTreeSet::new();
    let groups = [
        ("initContainers", spec.init_containers.as_deref().unwrap_or_default()),
        ("containers", &spec.containers),
    ];
    for (list, containers) in groups {
        for (i, c) in containers.iter().enumerate() {
            let cp = path.child(list).index(i);
            if !c.name.is_empty() && !container_names.insert(c.name.as_str()) {
                errs.push(ValidationError::duplicate(
                    cp.child("name"),
                    &c.name,
                    "container names must be unique",
                ));
            }
            errs.extend(validate_container(c, &volume_names, &cp));
            for (j, p) in c.ports.iter().flatten().enumerate() {
                let Some(hp) = p.host_port.filter(|&hp| hp != 0) else { continue };
                let key = (
                    hp,
                    p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                    p.host_ip.clone().unwrap_or_default(),
                );
                if !host_ports.insert(key) {
                    errs.push(ValidationError::duplicate(
                        cp.child("ports").index(j).child("hostPort"),
                        hp,
                        "host port and protocol already used by another port of the pod",
                    ));
                }
            }
        }
    }

    if let Some(rp) = spec.restart_policy.as_deref().filter(|s| !s.is_empty())
        && !RESTART_POLICIES.contains(&rp)
    {
        errs.push(ValidationError::not_supported(path.child("restartPolicy"), rp, &RESTART_POLICIES));
    }
    if let Some(dp) = spec.dns_policy.as_deref().filter(|s| !s.is_empty())
        && !DNS_POLICIES.contains(&dp)
    {
        errs.push(ValidationError::not_supported(path.child("dnsPolicy"), dp, &DNS_POLICIES));
    }
    if let Some(ads) = spec.active_deadline_seconds
        && ads < 1
    {
        errs.push(ValidationError::invalid(
            path.child("activeDeadlineSeconds"),
            ads,
            "must be between 1 and 2147483647, inclusive",
        ));
    }
    if let Some(tg) = spec.termination_grace_period_seconds
        && tg < 0
    {
        errs.push(ValidationError::invalid(
            path.child("terminationGracePeriodSeconds"),
            tg,
            "must be greater than or equal to 0",
        ));
    }
    if let Some(sa) = spec.service_account_name.as_deref().filter(|s| !s.is_empty())
        && !is_dns1123_subdomain(sa)
    {
        errs.push(ValidationError::invalid(
            path.child("serviceAccountName"),
            sa,
            "must be a DNS-1123 subdomain",
        ));
    }
    for (field, value) in [("hostname", &spec.hostname), ("subdomain", &spec.subdomain)] {
        if let Some(v) = value.as_deref().filter(|s| !s.is_empty())
            && !is_dns1123_label(v)
        {
            errs.extend(validate_dns1123_label(v, &path.child(field)));
        }
    }
    errs.extend(validate_labels(spec.node_selector.as_ref(), &path.child("nodeSelector")));
    errs
}

fn validate_volume(v: &Volume, path: &FieldPath) -> ValidationErrors {
    let mut errs = validate_dns1123_label(&v.name, &path.child("name"));
    let sources = volume_source_count(v);
    if sources == 0 {
        errs.push(ValidationError::required(path.clone(), "must specify a volume type"));
    } else if sources > 1 {
        errs.push(ValidationError::forbidden(path.clone(), "may not specify more than 1 volume type"));
    }
    errs
}

/// How many volume sources (`emptyDir`, `configMap`, ...) a volume sets.
pub(crate) fn volume_source_count(v: &Volume) -> usize {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::Object(map)) => map.keys().filter(|k| k.as_str() != "name").count(),
        _ => 0,
    }
}

fn validate_container(c: &Container, volumes: &BTreeSet<&str>, path: &FieldPath) -> ValidationErrors {
    let mut errs = validate_dns1123_label(&c.name, &path.child("name"));
    match c.image.as_deref() {
        None | Some("") => {
            errs.push(ValidationError::required(path.child("image"), "a container needs an image"))
        }
        Some(img) if img.trim() != img => errs.push(ValidationError::invalid(
            path.child("image"),
            img,
            "must not have leading or trailing whitespace",
        )),
        Some(_) => {}
    }
    if let Some(p) = c.image_pull_policy.as_deref().filter(|s| !s.is_empty())
        && !IMAGE_PULL_POLICIES.contains(&p)
    {
        errs.push(ValidationError::not_supported(path.child("imagePullPolicy"), p, &IMAGE_PULL_POLICIES));
    }
    if let Some(p) = c.termination_message_policy.as_deref().filter(|s| !s.is_empty())
        && !TERMINATION_MESSAGE_POLICIES.contains(&p)
    {
        errs.push(ValidationError::not_supported(
            path.child("terminationMessagePolicy"),
            p,
            &TERMINATION_MESSAGE_POLICIES,
        ));
    }
    let mut port_names = BTreeSet::new();
    for (i, p) in c.ports.iter().flatten().enumerate() {
        let pp = path.child("ports").index(i);
        errs.extend(validate_port(p, &pp));
        if let Some(name) = p.name.as_deref().filter(|n| !n.is_empty())
            && !port_names.insert(name)
        {
            errs.push(ValidationError::duplicate(pp.child("name"), name, "port names must be unique"));
        }
    }
    for (i, e) in c.env.iter().flatten().enumerate() {
        errs.extend(validate_env_var(e, &path.child("env").index(i)));
    }
    if let Some(r) = &c.resources {
        errs.extend(validate_resources(r, &path.child("resources")));
    }
    let mut mount_paths = BTreeSet::new();
    for (i, m) in c.volume_mounts.iter().flatten().enumerate() {
        let mp = path.child("volumeMounts").index(i);
        if m.name.is_empty() {
            errs.push(ValidationError::required(mp.child("name"), "a volume mount needs a volume name"));
        } else if !volumes.contains(m.name.as_str()) {
            errs.push(ValidationError::not_found(
                mp.child("name"),
                &m.name,
                "no volume of that name in the pod",
            ));
        }
        if m.mount_path.is_empty() {
            errs.push(ValidationError::required(mp.child("mountPath"), "a volume mount needs a mountPath"));
        } else if !mount_paths.insert(m.mount_path.as_str()) {
            errs.push(ValidationError::invalid(mp.child("mountPath"), &m.mount_path, "must be unique"));
        }
    }
    for (field, probe) in [
        ("livenessProbe", &c.liveness_probe),
        ("readinessProbe", &c.readiness_probe),
        ("startupProbe", &c.startup_probe),
    ] {
        if let Some(p) = probe {
            errs.extend(validate_probe(p, &path.child(field)));
        }
    }
    errs
}

fn validate_port(p: &ContainerPort, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    if p.container_port == 0 {
        errs.push(ValidationError::required(path.child("containerPort"), "a port number is required"));
    } else if !(1..=65535).contains(&p.container_port) {
        errs.push(ValidationError::invalid(
            path.child("containerPort"),
            p.container_port,
            "must be between 1 and 65535, inclusive",
        ));
    }
    if let Some(hp) = p.host_port.filter(|&hp| hp != 0)
        && !(1..=65535).contains(&hp)
    {
        errs.push(ValidationError::invalid(
            path.child("hostPort"),
            hp,
            "must be between 1 and 65535, inclusive",
        ));
    }
    if let Some(proto) = p.protocol.as_deref()
        && !PROTOCOLS.contains(&proto)
    {
        errs.push(ValidationError::not_supported(path.child("protocol"), proto, &PROTOCOLS));
    }
    if let Some(name) = p.name.as_deref().filter(|n| !n.is_empty())
        && let Some(problem) = iana_svc_name_problem(name)
    {
        errs.push(ValidationError::invalid(path.child("name"), name, problem));
    }
    errs
}

/// Why `name` is not an IANA service name (port names), or `None`: at most 15 lowercase
/// alphanumerics or `-`, at least one letter, no leading, trailing or doubled `-`.
pub fn iana_svc_name_problem(name: &str) -> Option<&'static str> {
    if name.len() > 15 {
        return Some("must be no more than 15 characters");
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Some("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
    }
    if name.contains("--") {
        return Some("must not contain consecutive hyphens");
    }
    if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        return Some("must contain at least one letter (a-z)");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("must not begin or end with a hyphen");
    }
    None
}

fn validate_env_var(e: &EnvVar, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    if e.name.is_empty() {
        errs.push(ValidationError::required(path.child("name"), "an environment variable needs a name"));
    } else if !e.name.bytes().all(|b| (32..=126).contains(&b) && b != b'=') {
        errs.push(ValidationError::invalid(
            path.child("name"),
            &e.name,
            "a valid environment variable name must consist only of printable ASCII characters other than '='",
        ));
    }
    if let Some(from) = &e.value_from {
        if e.value.as_deref().is_some_and(|v| !v.is_empty()) {
            errs.push(ValidationError::invalid(
                path.child("valueFrom"),
                "",
                "may not be specified when `value` is not empty",
            ));
        }
        let sources = usize::from(from.field_ref.is_some())
            + usize::from(from.resource_field_ref.is_some())
            + usize::from(from.config_map_key_ref.is_some())
            + usize::from(from.secret_key_ref.is_some());
        if sources != 1 {
            errs.push(ValidationError::invalid(
                path.child("valueFrom"),
                "",
                "must specify exactly one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef`, or `secretKeyRef`",
            ));
        }
    }
    errs
}

fn validate_resources(r: &ResourceRequirements, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let mut parsed = |which: &str, list: Option<&BTreeMap<String, Quantity>>| -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for (name, q) in list.into_iter().flatten() {
            match parse_quantity(&q.0) {
                Some(v) if v < 0.0 => errs.push(ValidationError::invalid(
                    path.child(which).key(name),
                    &q.0,
                    "must be greater than or equal to 0",
                )),
                Some(v) => {
                    out.insert(name.clone(), v);
                }
                None => errs.push(ValidationError::invalid(
                    path.child(which).key(name),
                    &q.0,
                    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                )),
            }
        }
        out
    };
    let limits = parsed("limits", r.limits.as_ref());
    let requests = parsed("requests", r.requests.as_ref());
    for (name, req) in &requests {
        if let Some(limit) = limits.get(name)
            && req > limit
        {
            let q = r.requests.as_ref().and_then(|m| m.get(name)).map(|q| q.0.as_str()).unwrap_or_default();
            let l = r.limits.as_ref().and_then(|m| m.get(name)).map(|q| q.0.as_str()).unwrap_or_default();
            errs.push(ValidationError::invalid(
                path.child("requests").key(name),
                q,
                format!("must be less than or equal to {name} limit of {l}"),
            ));
        }
    }
    errs
}

fn validate_probe(p: &Probe, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let handlers = usize::from(p.exec.is_some())
        + usize::from(p.http_get.is_some())
        + usize::from(p.tcp_socket.is_some())
        + usize::from(p.grpc.is_some());
    if handlers == 0 {
        errs.push(ValidationError::required(path.clone(), "must specify a handler type"));
    } else if handlers > 1 {
        errs.push(ValidationError::forbidden(path.clone(), "may not specify more than 1 handler type"));
    }
    for (field, v) in [
        ("initialDelaySeconds", p.initial_delay_seconds),
        ("timeoutSeconds", p.timeout_seconds),
        ("periodSeconds", p.period_seconds),
        ("successThreshold", p.success_threshold),
        ("failureThreshold", p.failure_threshold),
    ] {
        if let Some(v) = v.filter(|v| *v < 0) {
            errs.push(ValidationError::invalid(path.child(field), v, "must be greater than or equal to 0"));
        }
    }
    if let Some(h) = &p.http_get {
        errs.extend(validate_port_num_or_name(&h.port, &path.child("httpGet").child("port")));
    }
    if let Some(t) = &p.tcp_socket {
        errs.extend(validate_port_num_or_name(&t.port, &path.child("tcpSocket").child("port")));
    }
    if let Some(g) = &p.grpc
        && !(1..=65535).contains(&g.port)
    {
        errs.push(ValidationError::invalid(
            path.child("grpc").child("port"),
            g.port,
            "must be between 1 and 65535, inclusive",
        ));
    }
    errs
}

/// A probe or handler port: a number in 1..=65535 or an IANA service name (a named container
/// port).
fn validate_port_num_or_name(port: &IntOrString, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    match port {
        IntOrString::Int(n) if !(1..=65535).contains(n) => {
            errs.push(ValidationError::invalid(path.clone(), n, "must be between 1 and 65535, inclusive"))
        }
        IntOrString::String(name) => {
            if let Some(problem) = iana_svc_name_problem(name) {
                errs.push(ValidationError::invalid(path.clone(), name, problem));
            }
        }
        IntOrString::Int(_) => {}
    }
    errs
}

/// Parses a Kubernetes quantity (`500m`, `1.5Gi`, `2e3`, `128974848`) into its value in base
/// units. `None` when the text is not a quantity.
pub fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let split =
        s.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-')).unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let digits = num.strip_prefix(['+', '-']).unwrap_or(num);
    if digits.is_empty() || digits == "." || digits.bytes().filter(|&b| b == b'.').count() > 1 {
        return None;
    }
    if !digits.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let value: f64 = num.parse().ok()?;
    let multiplier = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        other => {
            let exp = other.strip_prefix(['e', 'E'])?;
            let exp_digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
            if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            10f64.powi(exp.parse::<i32>().ok()?)
        }
    };
    let v = value * multiplier;
    v.is_finite().then_some(v)
}

/// One operation of a JSON patch between two documents: `add`, `remove` or `replace`, at a
/// JSON-pointer path (`/containers/0/image`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonPatchOp {
    /// `add`, `remove` or `replace`.
    pub op: &'static str,
    /// JSON pointer of the changed value.
    pub path: String,
}

/// The JSON patch turning `old` into `new`, the way the upstream webhook computes it: object
/// keys compared by name (sorted), arrays element by element with surplus elements added or
/// removed at the end, any other difference a `replace`. `null` values and empty arrays are
/// treated as absent (Go omits them when it serializes a pod spec).
pub fn json_diff(old: &serde_json::Value, new: &serde_json::Value) -> Vec<JsonPatchOp> {
    let mut ops = Vec::new();
    diff_into(&normalize(old), &normalize(new), String::new(), &mut ops);
    ops
}

fn normalize(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null() && !v.as_array().is_some_and(Vec::is_empty))
                .map(|(k, v)| (k.clone(), normalize(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

fn pointer_escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn diff_into(old: &serde_json::Value, new: &serde_json::Value, path: String, ops: &mut Vec<JsonPatchOp>) {
    use serde_json::Value;
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = format!("{path}/{}", pointer_escape(k));
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => diff_into(x, y, p, ops),
                    (Some(_), None) => ops.push(JsonPatchOp { op: "remove", path: p }),
                    (None, Some(_)) => ops.push(JsonPatchOp { op: "add", path: p }),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            let common = a.len().min(b.len());
            for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
                diff_into(x, y, format!("{path}/{i}"), ops);
            }
            for i in (common..a.len()).rev() {
                ops.push(JsonPatchOp { op: "remove", path: format!("{path}/{i}") });
            }
            for i in common..b.len() {
                ops.push(JsonPatchOp { op: "add", path: format!("{path}/{i}") });
            }
        }
        (x, y) if x != y => ops.push(JsonPatchOp { op: "replace", path }),
        _ => {}
    }
}

/// Semantic equality as the webhooks compare specs (apimachinery's `Semantic.DeepEqual`): the
/// JSON forms are equal once `null` values and empty arrays are dropped, so an unset list and
/// an empty one compare equal.
pub fn semantically_equal<T: serde::Serialize>(a: &T, b: &T) -> bool {
    match (serde_json::to_value(a), serde_json::to_value(b)) {
        (Ok(x), Ok(y)) => json_diff(&x, &y).is_empty(),
        _ => false,
    }
}

/// True when `path` contains `/containers/<digits>/image`, the pattern the upstream webhook
/// accepts under `InPlaceOnly` (CS-20, ASTS-9).
///
/// Quirk (CS-20): upstream's pattern is not anchored, so `/containers/0/imagePullPolicy`
/// passes too; we accept what upstream accepts.
pub fn is_container_image_path(path: &str) -> bool {
    path.match_indices("/containers/").any(|(i, m)| {
        let rest = &path[i + m.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        digits > 0 && rest[digits..].starts_with("/image")
    })
}

/// CS-20 / ASTS-9: under `InPlaceOnly` only container images may change. Returns the first
/// patch operation between `old` and `new` template specs that is not a `replace` of a
/// container image, or `None` when the change is image-only.
pub fn first_non_image_change(old: &PodTemplateSpec, new: &PodTemplateSpec) -> Option<JsonPatchOp> {
    let to_json = |t: &PodTemplateSpec| serde_json::to_value(&t.spec).unwrap_or(serde_json::Value::Null);
    json_diff(&to_json(old), &to_json(new))
        .into_iter()
        .find(|op| op.op != "replace" || !is_container_image_path(&op.path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{EmptyDirVolumeSource, VolumeMount};

    fn container(name: &str) -> Container {
        Container { name: name.into(), image: Some("nginx".into()), ..Default::default() }
    }

    fn template(containers: Vec<Container>) -> PodTemplateSpec {
        PodTemplateSpec { metadata: None, spec: Some(PodSpec { containers, ..Default::default() }) }
    }

    fn paths(errs: &ValidationErrors) -> Vec<&str> {
        errs.iter().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn cs_20_json_diff_reports_ops() {
        let old =
            serde_json::json!({"containers": [{"name": "a", "image": "x"}], "dnsPolicy": "ClusterFirst"});
        let new =
            serde_json::json!({"containers": [{"name": "a", "image": "y"}, {"name": "b"}], "hostname": "h"});
        let ops: Vec<(&str, String)> = json_diff(&old, &new).into_iter().map(|o| (o.op, o.path)).collect();
        assert_eq!(
            ops,
            [
                ("replace", "/containers/0/image".to_owned()),
                ("add", "/containers/1".to_owned()),
                ("remove", "/dnsPolicy".to_owned()),
                ("add", "/hostname".to_owned())
            ]
        );
        assert!(json_diff(&serde_json::json!({"a": [], "b": null}), &serde_json::json!({})).is_empty());
    }

    #[test]
    fn cs_20_image_path_pattern() {
        assert!(is_container_image_path("/containers/0/image"));
        assert!(is_container_image_path("/containers/12/imagePullPolicy"), "quirk: unanchored");
        assert!(!is_container_image_path("/initContainers/0/image"));
        assert!(!is_container_image_path("/containers/0/env/0/value"));
        let a = template(vec![container("a")]);
        let mut b = a.clone();
        b.spec.as_mut().unwrap().containers[0].image = Some("nginx:2".into());
        assert_eq!(first_non_image_change(&a, &b), None);
        b.spec.as_mut().unwrap().containers[0].args = Some(vec!["-x".into()]);
        assert_eq!(first_non_image_change(&a, &b).map(|o| o.path), Some("/containers/0/args".to_owned()));
    }

    #[test]
    fn cs_14_quantities_parse() {
        assert_eq!(parse_quantity("500m"), Some(0.5));
        assert_eq!(parse_quantity("1Gi"), Some(1073741824.0));
        assert_eq!(parse_quantity("2e3"), Some(2000.0));
        assert_eq!(parse_quantity("1.5"), Some(1.5));
        assert_eq!(parse_quantity("abc"), None);
        assert_eq!(parse_quantity("1Xi"), None);
        assert_eq!(parse_quantity(""), None);
    }

    #[test]
    fn cs_14_containers_required_named_and_unique() {
        let p = FieldPath::from("spec.template");
        assert_eq!(
            paths(&validate_pod_template_spec(&template(vec![]), &p)),
            ["spec.template.spec.containers"]
        );
        let errs = validate_pod_template_spec(&template(vec![container("a"), container("a")]), &p);
        assert_eq!(paths(&errs), ["spec.template.spec.containers[1].name"]);
        let errs = validate_pod_template_spec(&template(vec![container("Bad_Name")]), &p);
        assert_eq!(paths(&errs), ["spec.template.spec.containers[0].name"]);
        let mut c = container("a");
        c.image = None;
        assert_eq!(
            paths(&validate_pod_template_spec(&template(vec![c]), &p)),
            ["spec.template.spec.containers[0].image"]
        );
    }

    #[test]
    fn cs_14_ports_in_range_and_names_unique() {
        let p = FieldPath::from("spec.template");
        let mut c = container("a");
        c.ports = Some(vec![
            ContainerPort { container_port: 70000, ..Default::default() },
            ContainerPort { container_port: 80, name: Some("http".into()), ..Default::default() },
            ContainerPort { container_port: 81, name: Some("http".into()), ..Default::default() },
        ]);
        let errs = validate_pod_template_spec(&template(vec![c]), &p);
        assert_eq!(
            paths(&errs),
            [
                "spec.template.spec.containers[0].ports[0].containerPort",
                "spec.template.spec.containers[0].ports[2].name"
            ]
        );
    }

    #[test]
    fn cs_14_requests_must_not_exceed_limits() {
        let p = FieldPath::from("spec.template");
        let mut c = container("a");
        c.resources = Some(ResourceRequirements {
            limits: Some([("cpu".to_owned(), Quantity("500m".into()))].into_iter().collect()),
            requests: Some([("cpu".to_owned(), Quantity("1".into()))].into_iter().collect()),
            ..Default::default()
        });
        let errs = validate_pod_template_spec(&template(vec![c]), &p);
        assert_eq!(paths(&errs), ["spec.template.spec.containers[0].resources.requests[cpu]"]);
    }

    #[test]
    fn cs_14_mounts_refer_to_volumes_or_claim_templates() {
        let p = FieldPath::from("spec.template");
        let mut c = container("a");
        c.volume_mounts = Some(vec![
            VolumeMount { name: "data".into(), mount_path: "/data".into(), ..Default::default() },
            VolumeMount { name: "cache".into(), mount_path: "/cache".into(), ..Default::default() },
        ]);
        let mut t = template(vec![c]);
        if let Some(s) = t.spec.as_mut() {
            s.volumes = Some(vec![Volume {
                name: "cache".into(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Default::default()
            }]);
        }
        let errs = validate_pod_template_spec(&t, &p);
        assert_eq!(paths(&errs), ["spec.template.spec.containers[0].volumeMounts[0].name"]);
        assert!(validate_pod_template_spec_with_claims(&t, &["data"], &p).is_empty());
    }

    #[test]
    fn cs_14_volume_names_unique() {
        let p = FieldPath::from("spec.template");
        let mut t = template(vec![container("a")]);
        let v = Volume {
            name: "x".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Default::default()
        };
        if let Some(s) = t.spec.as_mut() {
            s.volumes = Some(vec![v.clone(), v]);
        }
        assert_eq!(paths(&validate_pod_template_spec(&t, &p)), ["spec.template.spec.volumes[1].name"]);
    }

    #[test]
    fn cs_14_probe_ports() {
        use k8s_openapi::api::core::v1::{HTTPGetAction, TCPSocketAction};
        let p = FieldPath::from("spec.template");
        let mut c = container("a");
        c.liveness_probe = Some(Probe {
            http_get: Some(HTTPGetAction { port: IntOrString::Int(0), ..Default::default() }),
            ..Default::default()
        });
        c.readiness_probe = Some(Probe {
            tcp_socket: Some(TCPSocketAction { port: IntOrString::String("http".into()), host: None }),
            ..Default::default()
        });
        c.startup_probe = Some(Probe::default());
        let errs = validate_pod_template_spec(&template(vec![c]), &p);
        assert_eq!(
            paths(&errs),
            [
                "spec.template.spec.containers[0].livenessProbe.httpGet.port",
                "spec.template.spec.containers[0].startupProbe"
            ]
        );
    }

    #[test]
    fn cs_14_restart_policy_and_env_names() {
        let p = FieldPath::from("spec.template");
        let mut c = container("a");
        c.env = Some(vec![EnvVar { name: "A=B".into(), ..Default::default() }]);
        let mut t = template(vec![c]);
        if let Some(s) = t.spec.as_mut() {
            s.restart_policy = Some("Sometimes".into());
        }
        let errs = validate_pod_template_spec(&t, &p);
        assert_eq!(
            paths(&errs),
            ["spec.template.spec.containers[0].env[0].name", "spec.template.spec.restartPolicy"]
        );
    }
}
