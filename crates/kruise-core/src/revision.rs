//! Revisions (CS-26..CS-33): the revision data of a template, Go-compatible JSON, the FNV-32
//! hash and its safe encoding, revision names, choosing the update / current revision,
//! collisions, rollback reuse and history truncation. Cost: O(revisions × template size).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kruise_api::keys;
use serde_json::Value;

/// The alphabet of Kubernetes' `SafeEncodeString` (no vowels, no confusable digits).
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

pub use kruise_api::hash::{fnv1a64, fnv32, fnv32a};

/// Kubernetes' `SafeEncodeString`: each byte mapped through the 27-letter alphabet.
pub fn safe_encode(s: &str) -> String {
    s.bytes().map(|b| char::from(SAFE_ALPHABET[usize::from(b) % SAFE_ALPHABET.len()])).collect()
}

/// Writes `v` as Go's `encoding/json` would after a round trip through a generic map:
/// object keys sorted, `<`, `>`, `&`, U+2028, U+2029 escaped, no spaces (CS-26); the
/// workspace's one Go JSON writer, [`kruise_api::gojson`].
pub use kruise_api::gojson::to_string as go_json;

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

/// What revision resolution needs from a workload that keeps its templates as
/// ControllerRevisions (CloneSet CS-26..CS-30, Advanced StatefulSet ASTS-21/ASTS-22, Advanced
/// DaemonSet ADS-8/ADS-9). The workload supplies data; [`resolve`] and [`new_revision`] do the
/// rest the same way for all of them.
pub trait Versioned {
    /// The workload's name (revision names derive from it, CS-27).
    fn name(&self) -> &str;
    /// The workload's namespace (new revisions live there).
    fn namespace(&self) -> Option<&str>;
    /// The revision data of the workload's current template (CS-26, ASTS-21, ADS-8); usually
    /// [`revision_data`] of the template.
    fn revision_data(&self) -> Value;
    /// `status.collisionCount` (0 when absent).
    fn collision_count(&self) -> i32;
    /// `status.currentRevision` (`""` when absent).
    fn current_revision(&self) -> &str;
    /// The controller owner reference new revisions carry.
    fn owner_reference(&self) -> OwnerReference;
    /// Labels of a new revision, before the hash label is added (the template's labels).
    fn revision_labels(&self) -> BTreeMap<String, String>;
    /// Annotations of a new revision (the workload's annotations, plus
    /// [`Versioned::refreshed_annotations`]).
    fn revision_annotations(&self) -> BTreeMap<String, String>;
    /// Annotations rewritten on a revision reused for a rollback (CloneSet: the VCT hash,
    /// CS-28); none by default.
    fn refreshed_annotations(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }
    /// The label carrying a revision's hash.
    fn hash_label(&self) -> &str {
        keys::CONTROLLER_REVISION_HASH_LABEL
    }
}

/// CS-27, ASTS-21: the candidate revision object for the workload's template (name given).
pub fn new_revision<W: Versioned + ?Sized>(
    w: &W,
    data: Value,
    hash: &str,
    name: String,
    number: i64,
) -> ControllerRevision {
    let mut labels = w.revision_labels();
    labels.insert(w.hash_label().to_owned(), hash.to_owned());
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: w.namespace().map(str::to_owned),
            labels: Some(labels),
            annotations: Some(w.revision_annotations()),
            owner_references: Some(vec![w.owner_reference()]),
            ..Default::default()
        },
        data: Some(RawExtension(data)),
        revision: number,
    }
}

/// CS-28..CS-30, ASTS-22: sorts the listed revisions and finds (or mints) the update revision
/// and the current revision.
pub fn resolve<W: Versioned + ?Sized>(w: &W, listed: &[ControllerRevision]) -> Revisions {
    let mut sorted: Vec<ControllerRevision> = listed.to_vec();
    sort_revisions(&mut sorted);
    let next = sorted.last().map_or(1, |r| r.revision + 1);
    let data = w.revision_data();
    let mut collision_count = w.collision_count();
    let equal = sorted.iter().rposition(|r| r.data.as_ref().is_some_and(|d| d.0 == data));
    let (update, write) = match equal {
        Some(i) if i + 1 == sorted.len() => (i, None),
        Some(i) => {
            sorted[i].revision = next;
            let refreshed = w.refreshed_annotations();
            if !refreshed.is_empty() {
                sorted[i].metadata.annotations.get_or_insert_with(Default::default).extend(refreshed);
            }
            (i, Some(RevisionWrite::Bump))
        }
        None => {
            let hash = revision_hash(&data, collision_count);
            loop {
                let h = revision_hash(&data, collision_count);
                let name = revision_name(w.name(), &h);
                match sorted.iter().position(|r| r.metadata.name.as_deref() == Some(name.as_str())) {
                    // Same name, same data would have been found as equal above; a clash means
                    // different data: retry with the next count (CS-30).
                    Some(_) => collision_count = collision_count.saturating_add(1),
                    None => {
                        sorted.push(new_revision(w, data, &hash, name, next));
                        break (sorted.len() - 1, Some(RevisionWrite::Create));
                    }
                }
                if collision_count == i32::MAX {
                    break (sorted.len() - 1, None);
                }
            }
        }
    };
    let status_current = w.current_revision();
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

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{Container, PodSpec};

    use super::*;

    /// A workload other than CloneSet: its own owner reference, hash label and no refreshed
    /// annotations (the StatefulSet shape of ASTS-21).
    struct Set {
        name: String,
        image: String,
        collision_count: i32,
        current: String,
    }

    impl Versioned for Set {
        fn name(&self) -> &str {
            &self.name
        }
        fn namespace(&self) -> Option<&str> {
            Some("ns")
        }
        fn revision_data(&self) -> Value {
            revision_data(&PodTemplateSpec {
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "c".into(),
                        image: Some(self.image.clone()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                ..Default::default()
            })
        }
        fn collision_count(&self) -> i32 {
            self.collision_count
        }
        fn current_revision(&self) -> &str {
            &self.current
        }
        fn owner_reference(&self) -> OwnerReference {
            OwnerReference {
                kind: "StatefulSet".into(),
                name: self.name.clone(),
                controller: Some(true),
                ..Default::default()
            }
        }
        fn revision_labels(&self) -> BTreeMap<String, String> {
            [("app".to_owned(), "db".to_owned())].into()
        }
        fn revision_annotations(&self) -> BTreeMap<String, String> {
            BTreeMap::new()
        }
        fn hash_label(&self) -> &str {
            keys::CONTROLLER_REVISION_HASH
        }
    }

    fn set(image: &str) -> Set {
        Set { name: "dä-tabase".into(), image: image.into(), collision_count: 0, current: String::new() }
    }

    #[test]
    fn asts_22_generic_resolve_creates_then_reuses_then_bumps_on_rollback() {
        let v1 = resolve(&set("db:1"), &[]);
        assert_eq!(v1.write, Some(RevisionWrite::Create));
        let r1 = v1.sorted[v1.update].clone();
        assert_eq!(r1.revision, 1);
        assert_eq!(r1.metadata.owner_references.as_ref().unwrap()[0].kind, "StatefulSet");
        let labels = r1.metadata.labels.as_ref().unwrap();
        assert_eq!(labels.get("app").map(String::as_str), Some("db"));
        assert!(
            r1.metadata.name.as_deref().unwrap().ends_with(labels[keys::CONTROLLER_REVISION_HASH].as_str())
        );
        assert!(r1.metadata.name.as_deref().unwrap().starts_with("dä-tabase-"));
        assert_eq!(v1.current, v1.update, "no status.currentRevision: current is the update");

        let same = resolve(&set("db:1"), std::slice::from_ref(&r1));
        assert_eq!((same.write, same.update), (None, 0));

        let v2 = resolve(&set("db:2"), std::slice::from_ref(&r1));
        let r2 = v2.sorted[v2.update].clone();
        assert_eq!((v2.write, r2.revision), (Some(RevisionWrite::Create), 2));

        let mut back = set("db:1");
        back.current = r2.metadata.name.clone().unwrap();
        let rb = resolve(&back, &[r2.clone(), r1.clone()]);
        assert_eq!(rb.write, Some(RevisionWrite::Bump));
        assert_eq!(rb.sorted[rb.update].revision, 3);
        assert_eq!(rb.current_name(), r2.metadata.name.as_deref().unwrap());
        assert!(
            rb.sorted[rb.update].metadata.annotations.as_ref().is_none_or(BTreeMap::is_empty),
            "nothing refreshed for this workload"
        );
    }

    #[test]
    fn asts_22_generic_resolve_retries_collisions() {
        let want = resolve(&set("db:1"), &[]);
        // A revision with the candidate's name but other data: the next count is used (CS-30).
        let mut clash = want.sorted[want.update].clone();
        clash.data = Some(RawExtension(serde_json::json!({"other": true})));
        let got = resolve(&set("db:1"), &[clash]);
        assert_eq!(got.collision_count, 1);
        assert_ne!(got.update_name(), want.update_name());
    }
}
