//! Revisions (CS-26..CS-33): the revision data of a template, Go-compatible JSON, the FNV-32
//! hash and its safe encoding, revision names, choosing the update / current revision,
//! collisions, rollback reuse and history truncation. Cost: O(revisions × template size).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kruise_api::apps::v1beta1::CloneSet;
use kruise_api::keys;
use serde_json::Value;

/// The alphabet of Kubernetes' `SafeEncodeString` (no vowels, no confusable digits).
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// FNV-1 32-bit (multiply, then xor), as Go's `fnv.New32`.
pub fn fnv32(chunks: &[&[u8]]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for c in chunks {
        for &b in *c {
            h = h.wrapping_mul(0x0100_0193);
            h ^= u32::from(b);
        }
    }
    h
}

/// FNV-1a 32-bit (xor, then multiply), as Go's `fnv.New32a`.
pub fn fnv32a(chunks: &[&[u8]]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for c in chunks {
        for &b in *c {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    h
}

/// FNV-1a 64-bit, our own hash for ids (STYLE.md §2).
pub fn fnv1a64(chunks: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in chunks {
        for &b in *c {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// Kubernetes' `SafeEncodeString`: each byte mapped through the 27-letter alphabet.
pub fn safe_encode(s: &str) -> String {
    s.bytes().map(|b| char::from(SAFE_ALPHABET[usize::from(b) % SAFE_ALPHABET.len()])).collect()
}

/// Writes `v` as Go's `encoding/json` would after a round trip through a generic map:
/// object keys sorted, `<`, `>`, `&`, U+2028, U+2029 escaped, no spaces (CS-26).
pub fn go_json(v: &Value) -> String {
    let mut out = String::new();
    write_go_json(v, &mut out);
    out
}

fn write_go_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_go_string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(k, out);
                out.push(':');
                if let Some(x) = m.get(k) {
                    write_go_json(x, out);
                }
            }
            out.push('}');
        }
    }
}

fn write_go_string(s: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Adds what Go's encoder writes for zero structs that k8s-openapi omits:
/// `metadata.creationTimestamp: null` and `resources: {}` on every container.
fn go_template_value(t: &PodTemplateSpec) -> Value {
    let mut v = serde_json::to_value(t).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        let meta = m.entry("metadata").or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(meta) = meta {
            meta.entry("creationTimestamp").or_insert(Value::Null);
        }
        let spec = m.entry("spec").or_insert_with(|| Value::Object(Default::default()));
        if let Value::Object(spec) = spec {
            for key in ["containers", "initContainers"] {
                if let Some(Value::Array(cs)) = spec.get_mut(key) {
                    for c in cs {
                        if let Value::Object(c) = c {
                            c.entry("resources").or_insert_with(|| Value::Object(Default::default()));
                        }
                    }
                }
            }
            if !spec.contains_key("containers") {
                spec.insert("containers".into(), Value::Null);
            }
        }
        m.insert("$patch".into(), Value::String("replace".into()));
    }
    v
}

/// CS-26: the revision data `{"spec":{"template":<T + "$patch":"replace">}}`.
pub fn revision_data(template: &PodTemplateSpec) -> Value {
    serde_json::json!({ "spec": { "template": go_template_value(template) } })
}

/// CS-27: the hash text of revision data with a collision count.
pub fn revision_hash(data: &Value, collision_count: i32) -> String {
    let bytes = go_json(data);
    let h = fnv32(&[bytes.as_bytes(), collision_count.to_string().as_bytes()]);
    safe_encode(&h.to_string())
}

/// CS-27: `<name truncated to 223 bytes>-<hash>`.
pub fn revision_name(cloneset: &str, hash: &str) -> String {
    let mut end = cloneset.len().min(223);
    while !cloneset.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}-{hash}", &cloneset[..end])
}

/// CS-27: decimal FNV-32a of the VCT names and specs (sorted by name), `""` without VCTs.
pub fn vct_hash(vcts: &[PersistentVolumeClaim]) -> String {
    if vcts.is_empty() {
        return String::new();
    }
    let mut sorted: Vec<&PersistentVolumeClaim> = vcts.iter().collect();
    sorted.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut bytes = Vec::new();
    for v in sorted {
        bytes.extend_from_slice(v.metadata.name.as_deref().unwrap_or_default().as_bytes());
        bytes.extend_from_slice(go_json(&serde_json::to_value(&v.spec).unwrap_or(Value::Null)).as_bytes());
    }
    fnv32a(&[&bytes]).to_string()
}

/// The template stored in a revision (CS-33), if it can be read.
pub fn revision_template(rev: &ControllerRevision) -> Option<PodTemplateSpec> {
    let data = rev.data.as_ref()?;
    let mut t = data.0.get("spec")?.get("template")?.clone();
    if let Value::Object(m) = &mut t {
        m.remove("$patch");
    }
    serde_json::from_value(t).ok()
}

/// The outcome of CS-28..CS-30.
#[derive(Clone, Debug)]
pub struct Revisions {
    /// Listed revisions sorted by number (CS-28), as adjusted by this plan (bumped number;
    /// the new candidate appended).
    pub sorted: Vec<ControllerRevision>,
    /// Index of the update revision in `sorted`.
    pub update: usize,
    /// Index of the current revision in `sorted`.
    pub current: usize,
    /// `status.collisionCount` to write.
    pub collision_count: i32,
    /// What to write: `Create` (new revision) or `Bump` (rollback reuse).
    pub write: Option<RevisionWrite>,
}

/// A revision write decided by CS-28/CS-30.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevisionWrite {
    /// Create `sorted[update]`.
    Create,
    /// Bump `sorted[update]`'s number (and VCT-hash annotation).
    Bump,
}

impl Revisions {
    /// The update revision's name.
    pub fn update_name(&self) -> &str {
        self.sorted[self.update].metadata.name.as_deref().unwrap_or_default()
    }
    /// The current revision's name.
    pub fn current_name(&self) -> &str {
        self.sorted[self.current].metadata.name.as_deref().unwrap_or_default()
    }
}

fn sort_revisions(revs: &mut [ControllerRevision]) {
    revs.sort_by(|a, b| {
        a.revision
            .cmp(&b.revision)
            .then_with(|| {
                let ta = a.metadata.creation_timestamp.as_ref().map(|t| t.0);
                let tb = b.metadata.creation_timestamp.as_ref().map(|t| t.0);
                ta.cmp(&tb)
            })
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
}

/// CS-27: the candidate revision object for the CloneSet's template (name set later).
pub fn new_revision(cs: &CloneSet, data: Value, hash: &str, name: String, number: i64) -> ControllerRevision {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
    let mut labels = cs.spec.template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
    labels.insert(keys::CONTROLLER_REVISION_HASH_LABEL.to_owned(), hash.to_owned());
    let mut annotations: BTreeMap<String, String> = cs.metadata.annotations.clone().unwrap_or_default();
    annotations
        .insert(keys::VOLUME_CLAIM_TEMPLATE_HASH.to_owned(), vct_hash(&cs.spec.volume_claim_templates));
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: cs.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "apps.kruise.io/v1beta1".into(),
                kind: "CloneSet".into(),
                name: cs.metadata.name.clone().unwrap_or_default(),
                uid: cs.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        data: Some(RawExtension(data)),
        revision: number,
    }
}

/// CS-28..CS-30: sorts the listed revisions and finds (or mints) the update revision and the
/// current revision.
pub fn resolve(cs: &CloneSet, listed: &[ControllerRevision]) -> Revisions {
    let mut sorted: Vec<ControllerRevision> = listed.to_vec();
    sort_revisions(&mut sorted);
    let next = sorted.last().map_or(1, |r| r.revision + 1);
    let data = revision_data(&cs.spec.template);
    let mut collision_count = cs.status.as_ref().and_then(|s| s.collision_count).unwrap_or(0);
    let equal = sorted.iter().rposition(|r| r.data.as_ref().is_some_and(|d| d.0 == data));
    let (update, write) = match equal {
        Some(i) if i + 1 == sorted.len() => (i, None),
        Some(i) => {
            sorted[i].revision = next;
            let vct = vct_hash(&cs.spec.volume_claim_templates);
            sorted[i]
                .metadata
                .annotations
                .get_or_insert_with(Default::default)
                .insert(keys::VOLUME_CLAIM_TEMPLATE_HASH.to_owned(), vct);
            (i, Some(RevisionWrite::Bump))
        }
        None => {
            let cs_name = cs.metadata.name.as_deref().unwrap_or_default();
            let hash = revision_hash(&data, collision_count);
            loop {
                let h = revision_hash(&data, collision_count);
                let name = revision_name(cs_name, &h);
                match sorted.iter().position(|r| r.metadata.name.as_deref() == Some(name.as_str())) {
                    // Same name, same data would have been found as equal above; a clash means
                    // different data: retry with the next count (CS-30).
                    Some(_) => collision_count = collision_count.saturating_add(1),
                    None => {
                        sorted.push(new_revision(cs, data, &hash, name, next));
                        break (sorted.len() - 1, Some(RevisionWrite::Create));
                    }
                }
                if collision_count == i32::MAX {
                    break (sorted.len() - 1, None);
                }
            }
        }
    };
    let status_current = cs.status.as_ref().map(|s| s.current_revision.as_str()).unwrap_or_default();
    let current = sorted
        .iter()
        .position(|r| !status_current.is_empty() && r.metadata.name.as_deref() == Some(status_current))
        .unwrap_or(update);
    Revisions { sorted, update, current, collision_count, write }
}

/// CS-32: names of revisions to delete: neither current nor update, matched by no active pod,
/// oldest first, beyond `limit`.
pub fn truncate_history<'r>(revs: &'r Revisions, pod_revisions: &[&str], limit: i32) -> Vec<&'r str> {
    let live: Vec<&str> = revs
        .sorted
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != revs.update && *i != revs.current)
        .map(|(_, r)| r.metadata.name.as_deref().unwrap_or_default())
        .filter(|name| !pod_revisions.iter().any(|p| crate::podtable::info::revision_matches(p, name)))
        .collect();
    let limit = usize::try_from(limit.max(0)).unwrap_or(0);
    if live.len() <= limit {
        return Vec::new();
    }
    // `sorted` is oldest first, so the first entries are the ones to delete.
    live[..live.len() - limit].to_vec()
}
