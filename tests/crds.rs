//! The generated CustomResourceDefinitions (CS-1, CS-2): every kind round-trips through YAML as
//! a `CustomResourceDefinition`, carries what its `KindInfo` says, and has a structural schema
//! the API server accepts (no `$ref`, no `anyOf`/`oneOf`, a type on every node, known formats).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionVersion,
};
use kruise_api::crd::{self, KindInfo, SUPPORTED_FORMATS};
use serde_json::Value;

fn generated() -> Vec<(KindInfo, CustomResourceDefinition)> {
    crd::all_kinds()
        .into_iter()
        .map(|k| {
            let c = crd::custom_resource_definition(&k).unwrap_or_else(|e| panic!("{}: {e}", k.kind));
            (k, c)
        })
        .collect()
}

fn schema_of(v: &CustomResourceDefinitionVersion) -> Value {
    let props =
        v.schema.as_ref().and_then(|s| s.open_api_v3_schema.as_ref()).expect("every version has a schema");
    serde_json::to_value(props).unwrap()
}

/// Every structural-schema violation under `node`, as `path: problem`.
fn structural_problems(node: &Value, path: &str, out: &mut Vec<String>) {
    let Some(obj) = node.as_object() else {
        out.push(format!("{path}: not an object"));
        return;
    };
    for key in
        ["$ref", "$defs", "definitions", "$schema", "anyOf", "oneOf", "allOf", "not", "default", "title"]
    {
        if obj.contains_key(key) {
            out.push(format!("{path}: has `{key}`"));
        }
    }
    let flag = |k: &str| obj.get(k) == Some(&Value::Bool(true));
    match obj.get("type").and_then(Value::as_str) {
        Some("object" | "array" | "string" | "integer" | "number" | "boolean") => {
            if flag("x-kubernetes-int-or-string") {
                out.push(format!("{path}: int-or-string with a type"));
            }
        }
        Some(other) => out.push(format!("{path}: unknown type {other:?}")),
        None if flag("x-kubernetes-int-or-string") || flag("x-kubernetes-preserve-unknown-fields") => {}
        None => out.push(format!("{path}: no type")),
    }
    if let Some(format) = obj.get("format").and_then(Value::as_str)
        && !SUPPORTED_FORMATS.contains(&format)
    {
        out.push(format!("{path}: format {format:?} not accepted by the API server"));
    }
    if obj.contains_key("properties") && obj.contains_key("additionalProperties") {
        out.push(format!("{path}: both properties and additionalProperties"));
    }
    if let Some(Value::Object(props)) = obj.get("properties") {
        for (name, p) in props {
            structural_problems(p, &format!("{path}.{name}"), out);
        }
    }
    if let Some(items) = obj.get("items") {
        structural_problems(items, &format!("{path}[*]"), out);
    }
    if let Some(ap) = obj.get("additionalProperties").filter(|v| v.is_object()) {
        structural_problems(ap, &format!("{path}[*]"), out);
    }
}

/// Fields of `value` the API server would prune (not in the schema) or reject (wrong JSON type).
fn pruned_or_mistyped(value: &Value, schema: &Value, path: &str, out: &mut Vec<String>) {
    let flag = |k: &str| schema.get(k) == Some(&Value::Bool(true));
    if value.is_null() {
        if !flag("nullable") {
            out.push(format!("{path}: null but not nullable"));
        }
        return;
    }
    if flag("x-kubernetes-int-or-string") {
        if !(value.is_i64() || value.is_string()) {
            out.push(format!("{path}: not an int or string"));
        }
        return;
    }
    let ok = match schema.get("type").and_then(Value::as_str) {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !ok {
        out.push(format!("{path}: {value} does not match {schema}"));
        return;
    }
    // The root `metadata` is ObjectMeta, which the API server checks itself.
    if flag("x-kubernetes-preserve-unknown-fields") || path == ".metadata" {
        return;
    }
    match value {
        Value::Object(fields) => {
            for (k, v) in fields {
                if let Some(p) = schema.get("properties").and_then(|p| p.get(k)) {
                    pruned_or_mistyped(v, p, &format!("{path}.{k}"), out);
                } else if let Some(ap) = schema.get("additionalProperties") {
                    pruned_or_mistyped(v, ap, &format!("{path}[{k}]"), out);
                } else {
                    out.push(format!("{path}.{k}: would be pruned"));
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    pruned_or_mistyped(v, s, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

#[test]
fn every_kind_round_trips_through_yaml() {
    for (kind, c) in generated() {
        let yaml = serde_saphyr::to_string(&c).unwrap();
        let back: CustomResourceDefinition =
            serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{}: {e}", kind.kind));
        assert_eq!(back, c, "{}", kind.kind);
        let json: CustomResourceDefinition =
            serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(json, c, "{}", kind.kind);
    }
}

#[test]
fn every_kind_has_its_names_scope_and_one_storage_version() {
    let all = generated();
    assert!(!all.is_empty());
    for (kind, c) in &all {
        assert_eq!(c.metadata.name.as_deref(), Some(format!("{}.{}", kind.plural, kind.group).as_str()));
        assert_eq!(c.spec.group, kind.group);
        assert_eq!(c.spec.names.kind, kind.kind);
        assert_eq!(c.spec.names.plural, kind.plural);
        assert_eq!(c.spec.names.singular.as_deref(), Some(kind.singular));
        assert_eq!(c.spec.names.list_kind, Some(format!("{}List", kind.kind)));
        let short: Vec<&str> = c.spec.names.short_names.iter().flatten().map(String::as_str).collect();
        assert_eq!(short, kind.short_names);
        assert_eq!(c.spec.scope, if kind.namespaced { "Namespaced" } else { "Cluster" });
        let storage: Vec<&str> =
            c.spec.versions.iter().filter(|v| v.storage).map(|v| v.name.as_str()).collect();
        assert_eq!(storage.len(), 1, "{}: storage versions {storage:?}", kind.kind);
        assert!(c.spec.versions.iter().filter(|v| v.storage).all(|v| v.served), "{}", kind.kind);
        let names: Vec<&str> = c.spec.versions.iter().map(|v| v.name.as_str()).collect();
        let want: Vec<&str> = kind.versions.iter().map(|v| v.name).collect();
        assert_eq!(names, want, "{}", kind.kind);
    }
    let mut crd_names: Vec<_> = all.iter().map(|(_, c)| c.metadata.name.clone()).collect();
    crd_names.sort();
    crd_names.dedup();
    assert_eq!(crd_names.len(), all.len(), "two kinds share a CRD name");
}

#[test]
fn every_version_has_its_subresources_and_printer_columns() {
    for (kind, c) in generated() {
        for (info, v) in kind.versions.iter().zip(&c.spec.versions) {
            let sub = v.subresources.as_ref();
            assert_eq!(
                sub.and_then(|s| s.status.as_ref()).is_some(),
                info.status_subresource,
                "{} {}",
                kind.kind,
                v.name
            );
            let scale = sub.and_then(|s| s.scale.as_ref());
            assert_eq!(scale.is_some(), info.scale.is_some(), "{} {}", kind.kind, v.name);
            if let (Some(got), Some(want)) = (scale, &info.scale) {
                assert_eq!(got.spec_replicas_path, want.spec_replicas_path);
                assert_eq!(got.status_replicas_path, want.status_replicas_path);
                assert_eq!(got.label_selector_path.as_deref(), want.label_selector_path);
            }
            let got: Vec<(&str, &str, &str, i32)> = v
                .additional_printer_columns
                .iter()
                .flatten()
                .map(|c| (c.name.as_str(), c.type_.as_str(), c.json_path.as_str(), c.priority.unwrap_or(0)))
                .collect();
            let want: Vec<(&str, &str, &str, i32)> =
                info.printer_columns.iter().map(|c| (c.name, c.type_, c.json_path, c.priority)).collect();
            assert_eq!(got, want, "{} {}", kind.kind, v.name);
        }
    }
}

#[test]
fn every_schema_is_structural() {
    for (kind, c) in generated() {
        for v in &c.spec.versions {
            let schema = schema_of(v);
            let mut problems = Vec::new();
            structural_problems(&schema, "", &mut problems);
            assert!(problems.is_empty(), "{} {}:\n{}", kind.kind, v.name, problems.join("\n"));
            let props = &schema["properties"];
            assert_eq!(props["metadata"], serde_json::json!({"type": "object"}), "{} {}", kind.kind, v.name);
            assert_eq!(props["apiVersion"]["type"], "string");
            assert_eq!(props["kind"]["type"], "string");
            assert_eq!(props["spec"]["type"], "object");
            let text = serde_json::to_string(&schema).unwrap();
            assert!(!text.contains("\"$ref\""), "{} {}: $ref left", kind.kind, v.name);
        }
    }
}

#[test]
fn cs_1_cloneset_identity_versions_and_scale() {
    let (_, c) = generated().into_iter().find(|(k, _)| k.kind == "CloneSet").expect("CloneSet is generated");
    assert_eq!(c.metadata.name.as_deref(), Some("clonesets.apps.kruise.io"));
    assert_eq!(c.spec.names.short_names, Some(vec!["clone".to_owned()]));
    assert_eq!(c.spec.scope, "Namespaced");
    let versions: Vec<(&str, bool, bool)> =
        c.spec.versions.iter().map(|v| (v.name.as_str(), v.served, v.storage)).collect();
    // No conversion webhook: v1alpha1 (what OpenKruise users write) is served and stored; the
    // differently shaped v1beta1 stays listed, unserved (CS-1, docs/deviations.md).
    assert_eq!(versions, [("v1alpha1", true, true), ("v1beta1", false, false)]);
    for v in &c.spec.versions {
        let sub = v.subresources.as_ref().expect("subresources");
        assert!(sub.status.is_some());
        let scale = sub.scale.as_ref().expect("scale subresource");
        assert_eq!(scale.spec_replicas_path, ".spec.replicas");
        assert_eq!(scale.status_replicas_path, ".status.replicas");
        assert_eq!(scale.label_selector_path.as_deref(), Some(".status.labelSelector"));
        // Upstream's columns: name, type, JSON path, priority.
        let cols: Vec<(&str, &str, &str, i32)> = v
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| (c.name.as_str(), c.type_.as_str(), c.json_path.as_str(), c.priority.unwrap_or(0)))
            .collect();
        assert_eq!(
            cols,
            [
                ("DESIRED", "integer", ".spec.replicas", 0),
                ("UPDATED", "integer", ".status.updatedReplicas", 0),
                ("UPDATED_READY", "integer", ".status.updatedReadyReplicas", 0),
                ("UPDATED_AVAILABLE", "integer", ".status.updatedAvailableReplicas", 0),
                ("READY", "integer", ".status.readyReplicas", 0),
                ("TOTAL", "integer", ".status.replicas", 0),
                ("AGE", "date", ".metadata.creationTimestamp", 0),
                ("CONTAINERS", "string", ".spec.template.spec.containers[*].name", 1),
                ("IMAGES", "string", ".spec.template.spec.containers[*].image", 1),
                ("SELECTOR", "string", ".status.labelSelector", 1),
            ]
        );
    }
}

#[test]
fn cs_2_cloneset_template_is_schemaless_and_int_or_string_fields_are_marked() {
    let (_, c) = generated().into_iter().find(|(k, _)| k.kind == "CloneSet").expect("CloneSet is generated");
    for v in &c.spec.versions {
        let spec = &schema_of(v)["properties"]["spec"]["properties"];
        assert_eq!(
            spec["template"]["x-kubernetes-preserve-unknown-fields"], true,
            "{}: template keeps unknown fields",
            v.name
        );
        assert_eq!(spec["template"]["type"], "object");
        assert!(spec["template"].get("properties").is_none());
        assert_eq!(spec["volumeClaimTemplates"]["type"], "array");
        assert_eq!(spec["volumeClaimTemplates"]["items"]["x-kubernetes-preserve-unknown-fields"], true);
        assert_eq!(spec["replicas"]["type"], "integer");
        assert_eq!(spec["replicas"]["format"], "int32");
        assert_eq!(spec["replicas"]["nullable"], true);
        assert_eq!(spec["scaleStrategy"]["properties"]["maxUnavailable"]["x-kubernetes-int-or-string"], true);
        let update = &spec["updateStrategy"]["properties"];
        let rolling = if v.name == "v1beta1" { &update["rollingUpdate"]["properties"] } else { update };
        for field in ["partition", "maxUnavailable", "maxSurge"] {
            assert_eq!(rolling[field]["x-kubernetes-int-or-string"], true, "{} {field}", v.name);
        }
    }
}

#[test]
fn cs_2_seed_manifests_lose_no_field_to_pruning() {
    let (_, c) = generated().into_iter().find(|(k, _)| k.kind == "CloneSet").expect("CloneSet is generated");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/seed");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-ok.yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5);
    for path in files {
        let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let version = doc["apiVersion"].as_str().and_then(|a| a.rsplit('/').next()).unwrap().to_owned();
        let v = c.spec.versions.iter().find(|v| v.name == version).expect("seed version is served");
        let mut problems = Vec::new();
        pruned_or_mistyped(&doc, &schema_of(v), "", &mut problems);
        assert!(problems.is_empty(), "{}:\n{}", path.display(), problems.join("\n"));
    }
}

#[test]
fn cs_2_every_cloneset_field_survives_pruning_in_both_versions() {
    // One manifest per version setting every spec and status field, decoded and re-encoded by
    // our types so the check covers exactly what they write.
    let (_, c) = generated().into_iter().find(|(k, _)| k.kind == "CloneSet").expect("CloneSet is generated");
    let hook = serde_json::json!({"labelsHandler": {"hold": "true"}, "finalizersHandler": ["x/y"], "markPodNotReady": true});
    let priority = serde_json::json!({
        "weightPriority": [{"weight": 50, "matchSelector": {"matchLabels": {"a": "b"}}}],
        "orderPriority": [{"orderedKey": "rank"}],
    });
    let in_place = serde_json::json!({
        "gracePeriodSeconds": 10, "imagePreDownloadParallelism": "50%",
        "imagePreDownloadTimeoutSeconds": 600, "imagePreDownloadMinUpdatedReadyPods": 1,
    });
    let common_spec = serde_json::json!({
        "replicas": 4, "minReadySeconds": 5, "revisionHistoryLimit": 3, "progressDeadlineSeconds": 600,
        "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a"]}]},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "main", "image": "nginx"}]}},
        "volumeClaimTemplates": [{"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}],
        "lifecycle": {"preDelete": hook, "inPlaceUpdate": hook, "preNormal": hook},
    });
    let status = serde_json::json!({
        "observedGeneration": 2, "replicas": 4, "readyReplicas": 4, "availableReplicas": 4, "updatedReplicas": 2,
        "updatedReadyReplicas": 2, "updatedAvailableReplicas": 2, "expectedUpdatedReplicas": 2,
        "updateRevision": "web-2", "currentRevision": "web-1", "collisionCount": 1, "labelSelector": "app=web",
        "conditions": [{"type": "Progressing", "status": "True", "lastUpdateTime": "2026-01-01T00:00:00Z",
                        "lastTransitionTime": "2026-01-01T00:00:00Z", "reason": "R", "message": "M"}],
    });
    let mut alpha = serde_json::json!({"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
        "metadata": {"name": "web"}, "spec": common_spec.clone(), "status": status.clone()});
    alpha["spec"]["scaleStrategy"] =
        serde_json::json!({"podsToDelete": ["web-1"], "maxUnavailable": 1, "disablePVCReuse": true});
    alpha["spec"]["updateStrategy"] = serde_json::json!({
        "type": "InPlaceIfPossible", "partition": "25%", "maxUnavailable": 1, "maxSurge": "10%", "paused": true,
        "priorityStrategy": priority, "scatterStrategy": [{"key": "zone", "value": "a"}],
        "inPlaceUpdateStrategy": in_place,
    });
    let mut beta = serde_json::json!({"apiVersion": "apps.kruise.io/v1beta1", "kind": "CloneSet",
        "metadata": {"name": "web"}, "spec": common_spec, "status": status});
    beta["spec"]["scaleStrategy"] = serde_json::json!({
        "podsToDelete": ["web-1"], "maxUnavailable": "10%", "enablePVCReuse": true, "excludePreparingDelete": true,
    });
    beta["spec"]["updateStrategy"] = serde_json::json!({"type": "RollingUpdate", "rollingUpdate": {
        "partition": 2, "maxUnavailable": "20%", "maxSurge": 0, "podUpdatePolicy": "InPlaceOnly", "paused": true,
        "priorityStrategy": priority, "scatterStrategy": [{"key": "zone", "value": "a"}],
        "inPlaceUpdateStrategy": in_place,
    }});
    let alpha_back: Value = serde_json::to_value(
        serde_json::from_value::<kruise_api::apps::v1alpha1::CloneSet>(alpha.clone()).unwrap(),
    )
    .unwrap();
    let beta_back: Value = serde_json::to_value(
        serde_json::from_value::<kruise_api::apps::v1beta1::CloneSet>(beta.clone()).unwrap(),
    )
    .unwrap();
    // Nothing above is silently ignored by the types (a misspelt field would be).
    assert_eq!(alpha_back, alpha);
    assert_eq!(beta_back, beta);
    for (doc, v) in [(alpha, &c.spec.versions[0]), (beta, &c.spec.versions[1])] {
        let mut problems = Vec::new();
        pruned_or_mistyped(&doc, &schema_of(v), "", &mut problems);
        assert!(problems.is_empty(), "{}:\n{}", v.name, problems.join("\n"));
    }
}

#[test]
fn pruning_check_reports_unknown_and_mistyped_fields() {
    // The checker above is what the seed test relies on; make sure it can fail.
    let (_, c) = generated().into_iter().find(|(k, _)| k.kind == "CloneSet").expect("CloneSet is generated");
    let schema = schema_of(&c.spec.versions[0]);
    let doc = serde_json::json!({
        "apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet", "metadata": {},
        "spec": {"replicas": "3", "surprise": 1, "template": {"anything": {"goes": true}}},
    });
    let mut problems = Vec::new();
    pruned_or_mistyped(&doc, &schema, "", &mut problems);
    problems.sort();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with(".spec.replicas: \"3\" does not match"), "{problems:?}");
    assert_eq!(problems[1], ".spec.surprise: would be pruned");
}

#[test]
fn cs_1_cloneset_crd_snapshot() {
    let (kind, _) =
        generated().into_iter().find(|(k, _)| k.kind == "CloneSet").expect("CloneSet is generated");
    let c = crd::custom_resource_definition(&kind).unwrap();
    insta::assert_snapshot!("cloneset_crd", serde_saphyr::to_string(&c).unwrap());
}

/// `deploy/crds/kruise-rs.yaml` is what `kruise crds` prints: regenerate it with
/// `cargo run -p kruise-cli -- crds > deploy/crds/kruise-rs.yaml` when a type changes.
#[test]
fn deploy_crds_are_the_generated_ones() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/crds/kruise-rs.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let on_disk: Vec<CustomResourceDefinition> = text
        .split("\n---")
        .map(|doc| doc.trim_start_matches("---").trim())
        .filter(|doc| !doc.is_empty())
        .map(|doc| serde_saphyr::from_str(doc).unwrap())
        .collect();
    let generated: Vec<CustomResourceDefinition> = generated().into_iter().map(|(_, c)| c).collect();
    assert_eq!(
        on_disk, generated,
        "deploy/crds/kruise-rs.yaml is stale: run `cargo run -p kruise-cli -- crds > deploy/crds/kruise-rs.yaml`"
    );
}
