//! `events.k8s.io/v1` events are stored as core `v1` events and converted on the way in and
//! out, field for field as kube-apiserver converts them, so that `kubectl get events` and
//! `kubectl describe` show what a controller recorded through either API.

use serde_json::{Map, Value};

/// `(events.k8s.io/v1 field, core/v1 field)`; the rest of the fields have the same name.
const RENAMED: [(&str, &str); 7] = [
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

fn rename(v: &Value, to_core: bool, api_version: &str) -> Value {
    let Some(o) = v.as_object() else { return v.clone() };
    let mut out = Map::new();
    for (k, x) in o {
        if x.is_null() {
            continue;
        }
        let name = RENAMED
            .iter()
            .find(|(events, core)| if to_core { events == k } else { core == k })
            .map_or(k.as_str(), |(events, core)| if to_core { core } else { events });
        out.insert(name.to_owned(), x.clone());
    }
    out.insert("apiVersion".to_owned(), Value::String(api_version.to_owned()));
    Value::Object(out)
}

/// An `events.k8s.io/v1` event as the core `v1` event stored.
pub fn event_to_core(v: &Value) -> Value {
    rename(v, true, "v1")
}

/// A stored core `v1` event as `events.k8s.io/v1` serves it.
pub fn event_from_core(v: &Value) -> Value {
    rename(v, false, "events.k8s.io/v1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_round_trip_through_the_core_shape() {
        let e = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"},
            "regarding": {"kind": "CloneSet", "name": "web"}, "note": "created pod web-1", "reason": "SuccessfulCreate",
            "type": "Normal", "reportingController": "kruise-rs", "series": {"count": 2}, "deprecatedCount": 2});
        let core = event_to_core(&e);
        assert_eq!(core["apiVersion"], json!("v1"));
        assert_eq!(core["involvedObject"]["name"], json!("web"));
        assert_eq!(core["message"], json!("created pod web-1"));
        assert_eq!(core["reportingComponent"], json!("kruise-rs"));
        assert_eq!(core["count"], json!(2));
        assert!(core.get("note").is_none());
        assert_eq!(event_from_core(&core), e);
    }
}
