//! Server-side printing (`meta.k8s.io/v1` `Table`), what `kubectl get` asks for: pods as
//! `kubectl get pods` shows them (the simulator's pod line), custom resources with their CRD's
//! `additionalPrinterColumns`, nodes with their status, anything else with its name and age.

use jiff::Timestamp;
use kruise_sim::sim::pod_row;
use kruise_sim::store::{ObjectKey, str_at};
use kruise_sim::time::SimTime;
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::registry::ResourceDef;

/// kubectl's `HumanDuration`: `45s`, `3m20s`, `12m`, `5h3m`, `30h`, `3d4h`, `120d`, `2y30d`.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86_400);
    if s < 120 {
        format!("{s}s")
    } else if m < 10 {
        if s % 60 == 0 { format!("{m}m") } else { format!("{m}m{}s", s % 60) }
    } else if h < 3 {
        format!("{m}m")
    } else if h < 8 {
        if m % 60 == 0 { format!("{h}h") } else { format!("{h}h{}m", m % 60) }
    } else if h < 48 {
        format!("{h}h")
    } else if d < 8 {
        if h % 24 == 0 { format!("{d}d") } else { format!("{d}d{}h", h % 24) }
    } else if d < 365 * 2 {
        format!("{d}d")
    } else if d % 365 == 0 {
        format!("{}y", d / 365)
    } else {
        format!("{}y{}d", d / 365, d % 365)
    }
}

fn age(v: &Value, field: &str, now: Timestamp) -> String {
    str_at(v, &["metadata", field])
        .or_else(|| v.as_str())
        .and_then(|t| t.parse::<Timestamp>().ok())
        .map_or_else(|| "<unknown>".to_owned(), |t| human_duration(now.as_second() - t.as_second()))
}

fn column(name: &str, type_: &str, priority: i64) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": type_, "format": format, "description": "", "priority": priority})
}

/// A simple JSONPath (`.spec.replicas`, `.status.conditions[0].type`) as a JSON pointer.
fn pointer(path: &str) -> Option<String> {
    let mut out = String::new();
    for part in path.trim_start_matches('.').split('.') {
        let (field, index) = match part.split_once('[') {
            Some((f, rest)) => (f, Some(rest.strip_suffix(']')?)),
            None => (part, None),
        };
        out.push('/');
        out.push_str(field);
        if let Some(i) = index {
            i.parse::<usize>().ok()?;
            out.push('/');
            out.push_str(i);
        }
    }
    Some(out)
}

fn cell(v: Option<&Value>, type_: &str, now: Timestamp) -> Value {
    match (v, type_) {
        (None | Some(Value::Null), _) => json!(""),
        (Some(v), "date") => json!(age(v, "", now)),
        (Some(Value::String(s)), _) => json!(s),
        (Some(v @ (Value::Number(_) | Value::Bool(_))), _) => v.clone(),
        (Some(v), _) => json!(v.to_string()),
    }
}

/// The columns and a row builder for `def`.
fn columns(c: &Cluster, def: &ResourceDef) -> (Vec<Value>, Vec<(String, String)>) {
    if def.custom {
        let crd = c.store().get(&ObjectKey::new(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "",
            &format!("{}.{}", def.plural, def.group),
        ));
        let printer: Vec<Value> = crd
            .and_then(|crd| crd.pointer("/spec/versions"))
            .and_then(Value::as_array)
            .and_then(|vs| vs.iter().find(|v| str_at(v, &["name"]) == Some(def.version.as_str())))
            .and_then(|v| v.get("additionalPrinterColumns"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut cols = vec![column("Name", "string", 0)];
        let mut paths = Vec::new();
        for p in &printer {
            let (name, type_) =
                (str_at(p, &["name"]).unwrap_or_default(), str_at(p, &["type"]).unwrap_or("string"));
            cols.push(column(name, type_, p.get("priority").and_then(Value::as_i64).unwrap_or(0)));
            paths.push((str_at(p, &["jsonPath"]).unwrap_or_default().to_owned(), type_.to_owned()));
        }
        if printer.is_empty() {
            cols.push(column("Age", "date", 0));
            paths.push((".metadata.creationTimestamp".to_owned(), "date".to_owned()));
        }
        return (cols, paths);
    }
    let plain =
        |names: &[(&str, &str, i64)]| names.iter().map(|(n, t, p)| column(n, t, *p)).collect::<Vec<_>>();
    match (def.group.as_str(), def.kind.as_str()) {
        ("", "Pod") => (
            plain(&[
                ("Name", "string", 0),
                ("Ready", "string", 0),
                ("Status", "string", 0),
                ("Restarts", "string", 0),
                ("Age", "string", 0),
                ("IP", "string", 1),
                ("Node", "string", 1),
                ("Revision", "string", 1),
            ]),
            Vec::new(),
        ),
        ("", "Event") => (
            plain(&[
                ("Last Seen", "string", 0),
                ("Type", "string", 0),
                ("Reason", "string", 0),
                ("Object", "string", 0),
                ("Message", "string", 0),
            ]),
            Vec::new(),
        ),
        ("", "Node") => (
            plain(&[
                ("Name", "string", 0),
                ("Status", "string", 0),
                ("Roles", "string", 0),
                ("Age", "string", 0),
            ]),
            Vec::new(),
        ),
        _ => (plain(&[("Name", "string", 0), ("Age", "string", 0)]), Vec::new()),
    }
}

fn row(def: &ResourceDef, paths: &[(String, String)], obj: &Value, now: SimTime, full: bool) -> Value {
    let ts = kruise_sim::time::timestamp(now);
    let name = str_at(obj, &["metadata", "name"]).unwrap_or_default();
    let cells: Vec<Value> = if def.custom {
        std::iter::once(json!(name))
            .chain(paths.iter().map(|(p, t)| cell(pointer(p).and_then(|p| obj.pointer(&p)), t, ts)))
            .collect()
    } else if def.group.is_empty() && def.kind == "Pod" {
        let r = pod_row(obj, now);
        let ip = str_at(obj, &["status", "podIP"]).unwrap_or("<none>");
        vec![
            json!(name),
            json!(r.ready),
            json!(r.status),
            json!(r.restarts.to_string()),
            json!(age(obj, "creationTimestamp", ts)),
            json!(ip),
            json!(r.node),
            json!(r.revision),
        ]
    } else if def.group.is_empty() && def.kind == "Event" {
        let last = ["lastTimestamp", "eventTime"]
            .iter()
            .find_map(|f| obj.get(*f).filter(|v| v.is_string()))
            .map_or_else(|| age(obj, "creationTimestamp", ts), |t| age(t, "", ts));
        let s = |f: &str| str_at(obj, &[f]).unwrap_or_default().to_owned();
        let object = format!(
            "{}/{}",
            str_at(obj, &["involvedObject", "kind"]).unwrap_or_default().to_ascii_lowercase(),
            str_at(obj, &["involvedObject", "name"]).unwrap_or_default()
        );
        vec![json!(last), json!(s("type")), json!(s("reason")), json!(object), json!(s("message"))]
    } else if def.group.is_empty() && def.kind == "Node" {
        let ready = obj
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| str_at(c, &["type"]) == Some("Ready")))
            .and_then(|c| str_at(c, &["status"]));
        let status = if ready == Some("True") { "Ready" } else { "NotReady" };
        vec![json!(name), json!(status), json!("<none>"), json!(age(obj, "creationTimestamp", ts))]
    } else {
        vec![json!(name), json!(age(obj, "creationTimestamp", ts))]
    };
    let object = if full {
        obj.clone()
    } else {
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj.get("metadata").cloned().unwrap_or(json!({}))})
    };
    json!({"cells": cells, "object": object})
}

/// A `Table` of `objects` (already served at the requested version), at `now`.
pub fn table(c: &Cluster, def: &ResourceDef, objects: &[Value], now: SimTime, full: bool, rv: u64) -> Value {
    let (cols, paths) = columns(c, def);
    let rows: Vec<Value> = objects.iter().map(|o| row(def, &paths, o, now, full)).collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv.to_string()},
        "columnDefinitions": cols, "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_kubectl_prints_them() {
        let cases = [
            (5, "5s"),
            (119, "119s"),
            (200, "3m20s"),
            (600, "10m"),
            (3 * 3600 + 120, "3h2m"),
            (30 * 3600, "30h"),
        ];
        for (s, want) in cases {
            assert_eq!(human_duration(s), want, "{s}");
        }
        assert_eq!(human_duration(3 * 86_400 + 4 * 3600), "3d4h");
        assert_eq!(human_duration(120 * 86_400), "120d");
        assert_eq!(human_duration(-4), "0s");
    }

    #[test]
    fn simple_json_paths_become_pointers() {
        assert_eq!(pointer(".spec.replicas").as_deref(), Some("/spec/replicas"));
        assert_eq!(pointer(".status.conditions[0].type").as_deref(), Some("/status/conditions/0/type"));
        assert_eq!(pointer(".status.conditions[?(@.type==\"Ready\")].status"), None);
    }
}
