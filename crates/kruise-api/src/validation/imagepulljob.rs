//! ImagePullJob (IPJ-4) and NodeImage (IPJ-6) validation, plus the docker image reference
//! parser both need (IPJ-5).
//!
//! Upstream's handler stops at the first failing rule; here every failing rule is reported.
//! Rule IPJ-4.1 (feature gates `KruiseDaemon` / `ImagePullJobGate` off ⇒ every request
//! denied) depends on the running controller's configuration and is the adapter's to apply.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::apps::v1beta1::broadcastjob::completion_policy_type;
use crate::apps::v1beta1::{ImagePullJobSpec, ImageTagSpec};
use crate::apps::{v1alpha1, v1beta1};
use crate::defaults::imagepulljob::DEFAULT_PULL_TIMEOUT_SECONDS;
use crate::field::{FieldPath, ValidationError, ValidationErrors};
use crate::validation::Validate;
use crate::validation::meta::{is_dns1123_subdomain, validate_object_meta};

// ---- image references (IPJ-5) -------------------------------------------------------------

/// A docker image reference split as the ImagePullJob controller and kruise-daemon split it
/// (IPJ-5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageReference {
    /// The familiar name, the NodeImage map key: `nginx`, `user/app`, `quay.io/x/y`.
    pub name: String,
    /// The tag (`latest` when none is given), or the digest `sha256:…` when one is given
    /// (a digest wins over a tag).
    pub tag: String,
}

/// Why an image reference is rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImageReferenceError {
    /// The text does not follow the reference grammar.
    #[error("invalid reference format")]
    InvalidFormat,
    /// The repository has upper-case letters.
    #[error("invalid reference format: repository name must be lowercase")]
    NotLowercase,
    /// The name is longer than 255 characters.
    #[error("repository name must not be more than 255 characters")]
    NameTooLong,
    /// A 64-character hex string, which names an image ID, not a repository.
    #[error("invalid repository name (cannot specify 64-byte hexadecimal strings)")]
    HexIdentifier,
    /// The digest is malformed.
    #[error("invalid digest format")]
    InvalidDigest,
}

const DEFAULT_DOMAIN: &str = "docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
const NAME_TOTAL_MAX: usize = 255;
const TAG_MAX: usize = 128;

fn is_domain_component(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// `host[:port]`, the host a dotted name or a bracketed IPv6 address.
fn is_domain(s: &str) -> bool {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else { return false };
        if v6.is_empty() || !v6.bytes().all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.') {
            return false;
        }
        match after.strip_prefix(':') {
            Some(p) => ("[v6]", Some(p)),
            None if after.is_empty() => ("[v6]", None),
            None => return false,
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let host_ok = host == "[v6]" || host.split('.').all(is_domain_component);
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()));
    host_ok && port_ok
}

/// A path component: lowercase alphanumerics joined by `.`, `_`, `__` or runs of `-`.
fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_lowercase() || b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !(b[i].is_ascii_lowercase() || b[i].is_ascii_digit()) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_tag(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= TAG_MAX
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn is_digest(s: &str) -> bool {
    let Some((alg, hex)) = s.split_once(':') else { return false };
    let alg_ok = alg.split(['+', '.', '_', '-']).all(|c| {
        let b = c.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
    });
    alg_ok && hex.len() >= 32 && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

/// Parses `image` as a normalised docker reference and splits it into the familiar name and
/// the tag (IPJ-5): `nginx` → (`nginx`, `latest`); `docker.io/library/nginx:1.20` →
/// (`nginx`, `1.20`); `quay.io/x/y@sha256:<hex>` → (`quay.io/x/y`, `sha256:<hex>`).
pub fn parse_image_reference(image: &str) -> Result<ImageReference, ImageReferenceError> {
    if image.len() == 64 && image.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) {
        return Err(ImageReferenceError::HexIdentifier);
    }
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => {
            if !is_digest(d) {
                return Err(ImageReferenceError::InvalidDigest);
            }
            (r, Some(d))
        }
        None => (image, None),
    };
    // A tag is the text after the last ':' that follows the last '/'.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag
        && !is_tag(t)
    {
        return Err(ImageReferenceError::InvalidFormat);
    }
    if name.is_empty() {
        return Err(ImageReferenceError::InvalidFormat);
    }
    let (domain, path) = match name.split_once('/') {
        Some((first, remainder))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.bytes().any(|c| c.is_ascii_uppercase()) =>
        {
            (first, remainder.to_owned())
        }
        Some(_) => (DEFAULT_DOMAIN, name.to_owned()),
        None => (DEFAULT_DOMAIN, format!("{OFFICIAL_REPO_PREFIX}{name}")),
    };
    if path.bytes().any(|c| c.is_ascii_uppercase()) {
        return Err(ImageReferenceError::NotLowercase);
    }
    if !is_domain(domain) || !path.split('/').all(is_path_component) {
        return Err(ImageReferenceError::InvalidFormat);
    }
    if domain.len() + 1 + path.len() > NAME_TOTAL_MAX {
        return Err(ImageReferenceError::NameTooLong);
    }
    let familiar = if domain == DEFAULT_DOMAIN {
        match path.strip_prefix(OFFICIAL_REPO_PREFIX) {
            Some(short) if !short.contains('/') => short.to_owned(),
            _ => path,
        }
    } else {
        format!("{domain}/{path}")
    };
    let tag = match (digest, tag) {
        (Some(d), _) => d.to_owned(),
        (None, Some(t)) => t.to_owned(),
        (None, None) => "latest".to_owned(),
    };
    Ok(ImageReference { name: familiar, tag })
}

// ---- label selectors ------------------------------------------------------------------------

const QUALIFIED_NAME_MAX: usize = 63;

fn is_label_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= QUALIFIED_NAME_MAX
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn is_qualified_name(s: &str) -> bool {
    match s.split_once('/') {
        Some((prefix, name)) => is_dns1123_subdomain(prefix) && is_label_name_part(name),
        None => is_label_name_part(s),
    }
}

fn is_label_value(s: &str) -> bool {
    s.is_empty() || is_label_name_part(s)
}

/// Kubernetes' label-selector rules: qualified keys, valid values, known operators, `values`
/// present exactly for `In` / `NotIn`.
/// `what` (`selector`, `podSelector`) prefixes each message as upstream words it
/// (`invalid selector: ...`).
fn validate_label_selector(
    what: &str,
    match_labels: Option<&BTreeMap<String, String>>,
    match_expressions: Option<&Vec<LabelSelectorRequirement>>,
    path: &FieldPath,
) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    for (k, v) in match_labels.into_iter().flatten() {
        let p = path.child("matchLabels");
        if !is_qualified_name(k) {
            errs.push(ValidationError::invalid(
                p.clone(),
                k,
                format!("invalid {what}: label keys must be qualified names (prefix/name, name ≤ 63 alphanumerics, '-', '_', '.')"),
            ));
        }
        if !is_label_value(v) {
            errs.push(ValidationError::invalid(p.key(k), v, format!("invalid {what}: a label value must be empty or ≤ 63 alphanumerics, '-', '_', '.', starting and ending alphanumeric")));
        }
    }
    for (i, req) in match_expressions.into_iter().flatten().enumerate() {
        let p = path.child("matchExpressions").index(i);
        if !is_qualified_name(&req.key) {
            errs.push(ValidationError::invalid(
                p.child("key"),
                &req.key,
                format!("invalid {what}: label keys must be qualified names"),
            ));
        }
        let values = req.values.as_deref().unwrap_or_default();
        match req.operator.as_str() {
            "In" | "NotIn" if values.is_empty() => errs.push(ValidationError::required(
                p.child("values"),
                format!("invalid {what}: values must be specified when `operator` is 'In' or 'NotIn'"),
            )),
            "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(ValidationError::forbidden(
                p.child("values"),
                format!("invalid {what}: values may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errs.push(ValidationError::not_supported(
                p.child("operator"),
                other,
                &["In", "NotIn", "Exists", "DoesNotExist"],
            )),
        }
        for (j, v) in values.iter().enumerate() {
            if !is_label_value(v) {
                errs.push(ValidationError::invalid(
                    p.child("values").index(j),
                    v,
                    format!("invalid {what}: not a valid label value"),
                ));
            }
        }
    }
    errs
}

// ---- ImagePullJob (IPJ-4) -----------------------------------------------------------------

/// IPJ-4.3..IPJ-4.7 on a spec at `path` (usually `spec`).
pub fn validate_imagepulljob_spec(spec: &ImagePullJobSpec, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    // IPJ-4.3
    if let Some(sel) = &spec.selector {
        let sp = path.child("selector");
        if sel.names.is_some() && sel.has_label_selector() {
            errs.push(ValidationError::forbidden(
                sp.clone(),
                "can not set both names and labelSelector in this spec.selector",
            ));
        }
        errs.extend(validate_label_selector(
            "selector",
            sel.match_labels.as_ref(),
            sel.match_expressions.as_ref(),
            &sp,
        ));
        let mut seen = BTreeSet::new();
        for (i, name) in sel.names.iter().flatten().enumerate() {
            if !seen.insert(name.as_str()) {
                errs.push(ValidationError::duplicate(
                    sp.child("names").index(i),
                    name,
                    "duplicated name in selector names",
                ));
            }
        }
    }
    // IPJ-4.4
    if let Some(ps) = &spec.pod_selector {
        let pp = path.child("podSelector");
        if spec.selector.is_some() {
            errs.push(ValidationError::forbidden(pp.clone(), "can not set both selector and podSelector"));
        }
        errs.extend(validate_label_selector(
            "podSelector",
            ps.match_labels.as_ref(),
            ps.match_expressions.as_ref(),
            &pp,
        ));
    }
    // IPJ-4.5
    let ip = path.child("image");
    if spec.image.is_empty() {
        errs.push(ValidationError::required(ip, "image can not be empty"));
    } else if let Err(e) = parse_image_reference(&spec.image) {
        errs.push(ValidationError::invalid(ip, &spec.image, format!("invalid image {}: {e}", spec.image)));
    }
    // IPJ-4.6
    if let Some(p) = &spec.parallelism {
        let pp = path.child("parallelism");
        match p {
            IntOrString::Int(n) if *n < 0 => {
                errs.push(ValidationError::invalid(pp, n, "parallelism must be non-negative"));
            }
            IntOrString::Int(_) => {}
            IntOrString::String(s) if s.ends_with('%') => {
                errs.push(ValidationError::invalid(pp, s, "parallelism does not support percentage value"));
            }
            IntOrString::String(s) => match s.parse::<i32>() {
                Ok(n) if n < 0 => {
                    errs.push(ValidationError::invalid(pp, s, "parallelism must be non-negative"))
                }
                Ok(_) => {}
                Err(e) => errs.push(ValidationError::invalid(
                    pp,
                    s,
                    format!("parallelism must be a valid integer: {e}"),
                )),
            },
        }
    }
    // IPJ-4.7
    let cp = &spec.completion_policy;
    let cpp = path.child("completionPolicy");
    match cp.type_.as_str() {
        completion_policy_type::ALWAYS => {
            let timeout = spec
                .pull_policy
                .as_ref()
                .and_then(|p| p.timeout_seconds)
                .unwrap_or(DEFAULT_PULL_TIMEOUT_SECONDS);
            if let Some(deadline) = cp.active_deadline_seconds
                && deadline < i64::from(timeout)
            {
                errs.push(ValidationError::invalid(
                    cpp.child("activeDeadlineSeconds"),
                    deadline,
                    format!(
                        "completionPolicy.activeDeadlineSeconds must be greater than pullPolicy.timeoutSeconds(default {DEFAULT_PULL_TIMEOUT_SECONDS}), which is {timeout}"
                    ),
                ));
            }
        }
        completion_policy_type::NEVER => {
            const MSG: &str = "activeDeadlineSeconds and ttlSecondsAfterFinished can only work with Always CompletionPolicyType";
            if let Some(d) = cp.active_deadline_seconds {
                errs.push(ValidationError::invalid(cpp.child("activeDeadlineSeconds"), d, MSG));
            }
            if let Some(t) = cp.ttl_seconds_after_finished {
                errs.push(ValidationError::invalid(cpp.child("ttlSecondsAfterFinished"), t, MSG));
            }
        }
        other => errs.push(ValidationError::not_supported(
            cpp.child("type"),
            other,
            &[completion_policy_type::ALWAYS, completion_policy_type::NEVER],
        )),
    }
    errs
}

/// IPJ-4.2: `spec.pullSecrets` may not change in any way, absent ↔ `[]` included.
pub fn validate_imagepulljob_spec_update(
    new: &ImagePullJobSpec,
    old: &ImagePullJobSpec,
    path: &FieldPath,
) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    if new.pull_secrets != old.pull_secrets {
        errs.push(ValidationError::forbidden(path.child("pullSecrets"), "spec.pullSecrets is immutable"));
    }
    errs
}

fn validate_imagepulljob(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    spec: &ImagePullJobSpec,
) -> ValidationErrors {
    let mut errs = validate_object_meta(meta, &FieldPath::from("metadata"));
    errs.extend(validate_imagepulljob_spec(spec, &FieldPath::from("spec")));
    errs
}

impl Validate for v1beta1::ImagePullJob {
    fn validate(&self) -> Result<(), ValidationErrors> {
        validate_imagepulljob(&self.metadata, &self.spec).into_result()
    }
    fn validate_update(&self, old: &Self) -> Result<(), ValidationErrors> {
        let mut errs = validate_imagepulljob_spec_update(&self.spec, &old.spec, &FieldPath::from("spec"));
        errs.extend(validate_imagepulljob(&self.metadata, &self.spec));
        errs.into_result()
    }
}

impl Validate for v1alpha1::ImagePullJob {
    fn validate(&self) -> Result<(), ValidationErrors> {
        validate_imagepulljob(&self.metadata, &self.spec).into_result()
    }
    fn validate_update(&self, old: &Self) -> Result<(), ValidationErrors> {
        let mut errs = validate_imagepulljob_spec_update(&self.spec, &old.spec, &FieldPath::from("spec"));
        errs.extend(validate_imagepulljob(&self.metadata, &self.spec));
        errs.into_result()
    }
}

// ---- NodeImage (IPJ-6) ----------------------------------------------------------------------

/// Most images one NodeImage may list (IPJ-6).
pub const NODE_IMAGE_MAX_IMAGES: usize = 256;

/// IPJ-6 on one image's tags at `path` (`spec.images[<name>]`).
fn validate_image_tags<'a>(
    tags: impl Iterator<Item = &'a ImageTagSpec>,
    path: &FieldPath,
) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let mut seen = BTreeSet::new();
    for (i, tag) in tags.enumerate() {
        let tp = path.child("tags").index(i);
        if tag.tag.is_empty() {
            errs.push(ValidationError::required(tp.child("tag"), "a tag is required"));
        } else if !seen.insert(tag.tag.as_str()) {
            errs.push(ValidationError::duplicate(
                tp.child("tag"),
                &tag.tag,
                "tags must be unique within an image",
            ));
        }
        if tag.created_at.is_none() {
            errs.push(ValidationError::required(tp.child("createdAt"), "createdAt is required"));
        }
        if tag.version < 0 {
            errs.push(ValidationError::invalid(tp.child("version"), tag.version, "version must be >= 0"));
        }
        match &tag.pull_policy {
            None => errs.push(ValidationError::required(tp.child("pullPolicy"), "pullPolicy is required")),
            Some(pp) if pp.ttl_seconds_after_finished.is_none() => errs.push(ValidationError::required(
                tp.child("pullPolicy").child("ttlSecondsAfterFinished"),
                "ttlSecondsAfterFinished is required",
            )),
            Some(_) => {}
        }
    }
    errs
}

fn validate_node_image<'a>(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    images: impl ExactSizeIterator<Item = (&'a String, Vec<&'a ImageTagSpec>)>,
) -> ValidationErrors {
    let mut errs = validate_object_meta(meta, &FieldPath::from("metadata"));
    let ip = FieldPath::from("spec.images");
    if images.len() > NODE_IMAGE_MAX_IMAGES {
        errs.push(ValidationError::invalid(
            ip.clone(),
            images.len(),
            format!("a NodeImage may list at most {NODE_IMAGE_MAX_IMAGES} images"),
        ));
    }
    for (name, tags) in images {
        if name.is_empty() {
            errs.push(ValidationError::required(ip.key(name), "an image name is required"));
        }
        errs.extend(validate_image_tags(tags.into_iter(), &ip.key(name)));
    }
    errs
}

impl Validate for v1beta1::NodeImage {
    fn validate(&self) -> Result<(), ValidationErrors> {
        validate_node_image(
            &self.metadata,
            self.spec.images.iter().map(|(n, s)| (n, s.tags.iter().collect())),
        )
        .into_result()
    }
    fn validate_update(&self, _old: &Self) -> Result<(), ValidationErrors> {
        self.validate()
    }
}

impl Validate for v1alpha1::NodeImage {
    fn validate(&self) -> Result<(), ValidationErrors> {
        validate_node_image(
            &self.metadata,
            self.spec.images.iter().map(|(n, s)| (n, s.tags.iter().collect())),
        )
        .into_result()
    }
    fn validate_update(&self, _old: &Self) -> Result<(), ValidationErrors> {
        self.validate()
    }
}
