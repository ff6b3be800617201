//! The pod annotations SidecarSet injection and upgrades write, read and written byte for byte
//! as upstream does: the per-SidecarSet upgrade records of `kruise.io/sidecarset-hash` and
//! `kruise.io/sidecarset-hash-without-image` (SCS-8), the hot-upgrade working map (SCS-21,
//! SCS-60) and the sidecar in-place update state (SCS-51).

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::common::InPlaceUpdateState;
use kruise_api::gojson::write_string;
use kruise_api::keys;
use serde_json::Value;

/// One SidecarSet's record in a pod's hash annotation (SCS-8).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpgradeRecord {
    /// `updateTimestamp`, whole seconds, UTC; `None` is written as `null` (Go's zero time).
    pub update_timestamp: Option<Timestamp>,
    /// `hash`: the SidecarSet hash (or hash without image) the pod carries.
    pub hash: String,
    /// `sidecarSetName`.
    pub sidecarset_name: String,
    /// `sidecarList`: sidecar logical names; `None` is written as `null` (not omitempty).
    pub sidecar_list: Option<Vec<String>>,
    /// `controllerRevision`, omitted when empty.
    pub controller_revision: String,
}

/// Why a hash annotation could not be read (neither the record format nor the legacy
/// `{"<ss>": "<hash>"}` format).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RecordsError {
    /// What is wrong.
    pub message: String,
}

/// One record as it arrives (typed, so decoding allocates no intermediate JSON tree).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordIn {
    #[serde(default)]
    update_timestamp: Option<String>,
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    sidecar_set_name: Option<String>,
    #[serde(default)]
    sidecar_list: Option<Vec<String>>,
    #[serde(default)]
    controller_revision: Option<String>,
}

/// SCS-8: parses a hash annotation value: a JSON object of records, or the legacy map of
/// strings (converted to records holding only `hash` and `sidecarSetName`). An empty value is
/// an empty map. Unknown record fields are ignored, as Go does.
pub fn parse_records(s: &str) -> Result<BTreeMap<String, UpgradeRecord>, RecordsError> {
    if s.is_empty() {
        return Ok(BTreeMap::new());
    }
    if let Some(recs) = records_format(s) {
        return Ok(recs);
    }
    // Legacy format: every value a string.
    match serde_json::from_str::<Option<BTreeMap<String, String>>>(s) {
        Ok(m) => Ok(m
            .unwrap_or_default()
            .into_iter()
            .map(|(k, h)| {
                let r = UpgradeRecord { hash: h, sidecarset_name: k.clone(), ..Default::default() };
                (k, r)
            })
            .collect()),
        Err(e) => Err(RecordsError { message: format!("neither records nor a map of hashes: {e}") }),
    }
}

/// The record format, or `None` when the value does not decode as a map of records (a
/// timestamp that is not RFC 3339 included, as Go's decoder fails on it).
fn records_format(s: &str) -> Option<BTreeMap<String, UpgradeRecord>> {
    let m: Option<BTreeMap<String, Option<RecordIn>>> = serde_json::from_str(s).ok()?;
    let mut out = BTreeMap::new();
    for (k, r) in m.unwrap_or_default() {
        let rec = match r {
            None => UpgradeRecord::default(),
            Some(r) => UpgradeRecord {
                update_timestamp: match r.update_timestamp {
                    None => None,
                    Some(t) => Some(t.parse::<Timestamp>().ok()?),
                },
                hash: r.hash.unwrap_or_default(),
                sidecarset_name: r.sidecar_set_name.unwrap_or_default(),
                sidecar_list: r.sidecar_list,
                controller_revision: r.controller_revision.unwrap_or_default(),
            },
        };
        out.insert(k, rec);
    }
    Some(out)
}

/// Go's `metav1.Time` JSON: RFC 3339 in UTC, whole seconds.
pub fn go_time(t: Timestamp) -> String {
    let secs = t.as_second();
    let t = Timestamp::from_second(secs).unwrap_or(t);
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// SCS-8: the annotation value for `records`, as Go's `json.Marshal` writes it (keys sorted,
/// fields in declaration order, HTML-safe escaping).
pub fn write_records(records: &BTreeMap<String, UpgradeRecord>) -> String {
    let mut out = String::from("{");
    for (i, (k, r)) in records.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(&mut out, k);
        out.push_str(":{\"updateTimestamp\":");
        match r.update_timestamp {
            Some(t) => write_string(&mut out, &go_time(t)),
            None => out.push_str("null"),
        }
        out.push_str(",\"hash\":");
        write_string(&mut out, &r.hash);
        out.push_str(",\"sidecarSetName\":");
        write_string(&mut out, &r.sidecarset_name);
        out.push_str(",\"sidecarList\":");
        match &r.sidecar_list {
            None => out.push_str("null"),
            Some(list) => {
                out.push('[');
                for (j, n) in list.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    write_string(&mut out, n);
                }
                out.push(']');
            }
        }
        if !r.controller_revision.is_empty() {
            out.push_str(",\"controllerRevision\":");
            write_string(&mut out, &r.controller_revision);
        }
        out.push('}');
    }
    out.push('}');
    out
}

/// A pod annotation, `""` when absent.
pub fn annotation<'p>(pod: &'p Pod, key: &str) -> &'p str {
    pod.metadata.annotations.as_ref().and_then(|a| a.get(key)).map_or("", String::as_str)
}

/// SCS-8 reader as the controller uses it: `ss`'s record in annotation `key`, or an empty
/// record when the annotation is absent, unreadable, or has no entry for `ss`.
pub fn pod_record(pod: &Pod, key: &str, ss: &str) -> UpgradeRecord {
    parse_records(annotation(pod, key)).ok().and_then(|mut m| m.remove(ss)).unwrap_or_default()
}

/// One record borrowing the annotation text: the allocation-free reading of
/// [`pod_record_hash`] (a string with escapes does not borrow, and falls back to
/// [`pod_record`]).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordRef<'a> {
    #[serde(default, borrow)]
    update_timestamp: Option<&'a str>,
    #[serde(default, borrow)]
    hash: Option<&'a str>,
    #[serde(default, borrow)]
    #[allow(dead_code)]
    sidecar_set_name: Option<&'a str>,
    #[serde(default, borrow)]
    #[allow(dead_code)]
    sidecar_list: Option<Vec<&'a str>>,
    #[serde(default, borrow)]
    #[allow(dead_code)]
    controller_revision: Option<&'a str>,
}

/// `pod_record(pod, key, ss).hash`, without allocating per record when the annotation is in
/// the record format with plain strings (what injection and upgrades write): the same fields
/// are type-checked and every timestamp must parse, as [`parse_records`] requires; anything
/// else takes [`pod_record`]. The planner reads two hashes of every pod per plan.
pub fn pod_record_hash(pod: &Pod, key: &str, ss: &str) -> String {
    let s = annotation(pod, key);
    if s.is_empty() {
        return String::new();
    }
    if let Ok(m) = serde_json::from_str::<Option<BTreeMap<&str, Option<RecordRef<'_>>>>>(s) {
        let m = m.unwrap_or_default();
        let timestamps_parse =
            m.values().flatten().filter_map(|r| r.update_timestamp).all(|t| t.parse::<Timestamp>().is_ok());
        if timestamps_parse {
            return m.get(ss).and_then(|r| r.as_ref()).and_then(|r| r.hash).unwrap_or_default().to_owned();
        }
    }
    pod_record(pod, key, ss).hash
}

/// SCS-60: the hot-upgrade working map (`kruise.io/sidecarset-working-hotupgrade-container`):
/// logical sidecar name → working slot. Unreadable or absent: empty.
pub fn working_map(pod: &Pod) -> BTreeMap<String, String> {
    serde_json::from_str(annotation(pod, keys::SIDECARSET_WORKING_HOTUPGRADE_CONTAINER)).unwrap_or_default()
}

/// A string map as Go writes it (keys sorted).
pub fn write_string_map(m: &BTreeMap<String, String>) -> String {
    let v: serde_json::Map<String, Value> =
        m.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    kruise_api::gojson::to_string(&Value::Object(v))
}

/// SCS-4: the names in `kruise.io/sidecarset-injected-list` (split on `,`; none when the
/// annotation is absent or empty).
pub fn injected_list(pod: &Pod) -> Vec<&str> {
    let s = annotation(pod, keys::SIDECARSET_INJECTED_LIST);
    if s.is_empty() { Vec::new() } else { s.split(',').collect() }
}

/// SCS-4: whether `ss` is named in the pod's injected list ([`injected_list`] without
/// allocating; the planner asks it of every pod).
pub fn is_injected(pod: &Pod, ss: &str) -> bool {
    let s = annotation(pod, keys::SIDECARSET_INJECTED_LIST);
    !s.is_empty() && s.split(',').any(|n| n == ss)
}

/// SCS-51: the sidecar in-place update state (`kruise.io/sidecarset-inplace-update-state`):
/// SidecarSet name → the shared in-place state record (revision, timestamp, last imageIDs).
pub type SidecarStates = BTreeMap<String, InPlaceUpdateState>;

/// SCS-51: reads the in-place state annotation: `Ok(None)` when absent, `Err` when present but
/// unreadable.
pub fn inplace_states(pod: &Pod) -> Result<Option<SidecarStates>, RecordsError> {
    let Some(s) =
        pod.metadata.annotations.as_ref().and_then(|a| a.get(keys::SIDECARSET_INPLACE_UPDATE_STATE))
    else {
        return Ok(None);
    };
    serde_json::from_str::<Option<SidecarStates>>(s)
        .map(Option::unwrap_or_default)
        .map(Some)
        .map_err(|e| RecordsError { message: format!("{}: {e}", keys::SIDECARSET_INPLACE_UPDATE_STATE) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scs_8_record_field_order_and_omitempty() {
        let mut m = BTreeMap::new();
        m.insert(
            "b".to_owned(),
            UpgradeRecord {
                update_timestamp: Some("2026-01-02T03:04:05.9Z".parse().unwrap()),
                hash: "h<1>".into(),
                sidecarset_name: "b".into(),
                sidecar_list: Some(vec!["envoy".into()]),
                controller_revision: "b-123".into(),
            },
        );
        m.insert(
            "a".to_owned(),
            UpgradeRecord { hash: "x".into(), sidecarset_name: "a".into(), ..Default::default() },
        );
        assert_eq!(
            write_records(&m),
            concat!(
                r#"{"a":{"updateTimestamp":null,"hash":"x","sidecarSetName":"a","sidecarList":null},"#,
                r#""b":{"updateTimestamp":"2026-01-02T03:04:05Z","hash":"h\u003c1\u003e","sidecarSetName":"b","#,
                r#""sidecarList":["envoy"],"controllerRevision":"b-123"}}"#
            )
        );
        // Round trip (whole seconds, as Go writes them).
        m.get_mut("b").unwrap().update_timestamp = Some("2026-01-02T03:04:05Z".parse().unwrap());
        assert_eq!(parse_records(&write_records(&m)).unwrap(), m);
    }

    /// The fast hash reader agrees with the full one on every shape: records, legacy maps,
    /// escapes, bad timestamps, nulls, garbage.
    #[test]
    fn scs_8_record_hash_fast_path_agrees_with_pod_record() {
        let cases = [
            r#"{"ss":{"updateTimestamp":"2026-01-02T03:04:05Z","hash":"h1","sidecarSetName":"ss","sidecarList":["a"]}}"#,
            r#"{"ss":{"updateTimestamp":null,"hash":"h\u003c2","sidecarSetName":"ss","sidecarList":null}}"#,
            r#"{"ss":{"updateTimestamp":"yesterday","hash":"h3"}}"#,
            r#"{"other":{"hash":"x"},"ss":null}"#,
            r#"{"ss":"legacy"}"#,
            r#"{"ss":{"hash":1}}"#,
            r#"{"ss":{"hash":"h","sidecarList":[1]}}"#,
            r#"null"#,
            "not json",
            "",
        ];
        for c in cases {
            let mut p = Pod::default();
            p.metadata.annotations = Some(BTreeMap::from([(keys::SIDECARSET_HASH.to_owned(), c.to_owned())]));
            assert_eq!(
                pod_record_hash(&p, keys::SIDECARSET_HASH, "ss"),
                pod_record(&p, keys::SIDECARSET_HASH, "ss").hash,
                "{c}"
            );
        }
    }

    /// SCS-4: `is_injected` answers as `injected_list(..).contains(..)` does.
    #[test]
    fn scs_4_is_injected_agrees_with_the_list() {
        for (value, ss) in [("a,b", "b"), ("a,b", "c"), ("", "a"), ("ab", "a"), ("a,,b", "b"), ("x", "x")] {
            let mut p = Pod::default();
            p.metadata.annotations =
                Some(BTreeMap::from([(keys::SIDECARSET_INJECTED_LIST.to_owned(), value.to_owned())]));
            assert_eq!(is_injected(&p, ss), injected_list(&p).contains(&ss), "{value:?} {ss:?}");
        }
        assert!(!is_injected(&Pod::default(), "a"));
    }

    #[test]
    fn scs_8_legacy_format_is_read() {
        let m = parse_records(r#"{"ss":"abc"}"#).unwrap();
        assert_eq!(m["ss"].hash, "abc");
        assert_eq!(m["ss"].sidecarset_name, "ss");
        assert!(parse_records("[1]").is_err());
        assert!(parse_records(r#"{"ss":1}"#).is_err());
        assert!(parse_records("not json").is_err());
        assert_eq!(parse_records("").unwrap(), BTreeMap::new());
    }
}
