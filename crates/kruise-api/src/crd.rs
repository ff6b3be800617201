//! CustomResourceDefinitions generated from the Rust types (feature `schemars`).
//!
//! Each kind describes itself with a [`KindInfo`] (names, versions, subresources, printer
//! columns); the generator turns those into `apiextensions.k8s.io/v1`
//! `CustomResourceDefinition`s. `kruise crds` prints them.

/// One additional printer column (`kubectl get` output).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrinterColumn {
    /// Column header, e.g. `DESIRED`.
    pub name: &'static str,
    /// `integer`, `string`, `date`, ...
    pub type_: &'static str,
    /// JSON path, e.g. `.spec.replicas`.
    pub json_path: &'static str,
    /// What the column shows.
    pub description: &'static str,
    /// 0 = always shown; higher = only with `-o wide`.
    pub priority: i32,
}

/// The scale subresource of a version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaleInfo {
    /// `.spec.replicas`.
    pub spec_replicas_path: &'static str,
    /// `.status.replicas`.
    pub status_replicas_path: &'static str,
    /// `.status.labelSelector`, if the kind exposes one.
    pub label_selector_path: Option<&'static str>,
}

/// One served version of a kind.
#[derive(Clone, Debug)]
pub struct VersionInfo {
    /// `v1alpha1`, `v1beta1`.
    pub name: &'static str,
    /// Served by the API server.
    pub served: bool,
    /// The storage version (exactly one per kind).
    pub storage: bool,
    /// JSON schema of the `spec` type.
    pub spec_schema: fn() -> schemars::Schema,
    /// JSON schema of the `status` type.
    pub status_schema: fn() -> schemars::Schema,
    /// Has the status subresource.
    pub status_subresource: bool,
    /// Has the scale subresource.
    pub scale: Option<ScaleInfo>,
    /// `kubectl get` columns.
    pub printer_columns: Vec<PrinterColumn>,
}

/// Everything needed to write the CRD of one kind.
#[derive(Clone, Debug)]
pub struct KindInfo {
    /// API group.
    pub group: &'static str,
    /// Kind, e.g. `CloneSet`.
    pub kind: &'static str,
    /// Plural, e.g. `clonesets`.
    pub plural: &'static str,
    /// Singular, e.g. `cloneset`.
    pub singular: &'static str,
    /// Short names, e.g. `clone`.
    pub short_names: &'static [&'static str],
    /// Categories, e.g. `all`.
    pub categories: &'static [&'static str],
    /// `true` for namespaced kinds, `false` for cluster-scoped ones.
    pub namespaced: bool,
    /// Served versions.
    pub versions: Vec<VersionInfo>,
}

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceColumnDefinition, CustomResourceDefinition, CustomResourceDefinitionNames,
    CustomResourceDefinitionSpec, CustomResourceDefinitionVersion, CustomResourceSubresourceScale,
    CustomResourceSubresourceStatus, CustomResourceSubresources, CustomResourceValidation, JSONSchemaProps,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Map, Value, json};

use crate::field::FieldPath;

/// Every kind this crate defines, in the order `kruise crds` prints them.
///
/// Adding a kind is one line here: its module's `kind_info()`.
pub fn all_kinds() -> Vec<KindInfo> {
    vec![
        crate::apps::v1beta1::cloneset::kind_info(),
        statefulset_kind_info(),
        crate::apps::v1beta1::daemonset::kind_info(),
        crate::apps::v1beta1::sidecarset::kind_info(),
        crate::apps::v1beta1::broadcastjob::kind_info(),
        crate::apps::v1beta1::imagepulljob::kind_info(),
        crate::apps::v1beta1::nodeimage::kind_info(),
        crate::rollouts::v1beta1::kind_info(),
    ]
}

/// Advanced StatefulSet (ASTS-5): v1alpha1 served, v1beta1 served and stored; short names
/// `sts`, `asts`; status and scale subresources; upstream's printer columns.
fn statefulset_kind_info() -> KindInfo {
    let columns = || {
        let col = |name, type_, json_path, description, priority| PrinterColumn {
            name,
            type_,
            json_path,
            description,
            priority,
        };
        vec![
            col("DESIRED", "integer", ".spec.replicas", "Pods wanted.", 0),
            col("CURRENT", "integer", ".status.replicas", "Pods that exist.", 0),
            col("UPDATED", "integer", ".status.updatedReplicas", "Pods on the update revision.", 0),
            col("READY", "integer", ".status.readyReplicas", "Pods that are ready.", 0),
            col("AGE", "date", ".metadata.creationTimestamp", "Time since the StatefulSet was created.", 0),
            col("CONTAINERS", "string", ".spec.template.spec.containers[*].name", "Container names.", 1),
            col("IMAGES", "string", ".spec.template.spec.containers[*].image", "Container images.", 1),
        ]
    };
    let scale = || {
        Some(ScaleInfo {
            spec_replicas_path: ".spec.replicas",
            status_replicas_path: ".status.replicas",
            label_selector_path: Some(".status.labelSelector"),
        })
    };
    KindInfo {
        group: "apps.kruise.io",
        kind: "StatefulSet",
        plural: "statefulsets",
        singular: "statefulset",
        short_names: &["sts", "asts"],
        categories: &[],
        namespaced: true,
        versions: vec![
            VersionInfo {
                name: "v1alpha1",
                served: true,
                storage: false,
                spec_schema: schema_for::<crate::apps::v1alpha1::StatefulSetSpec>,
                status_schema: schema_for::<crate::apps::v1alpha1::StatefulSetStatus>,
                status_subresource: true,
                scale: scale(),
                printer_columns: columns(),
            },
            VersionInfo {
                name: "v1beta1",
                served: true,
                storage: true,
                spec_schema: schema_for::<crate::apps::v1beta1::StatefulSetSpec>,
                status_schema: schema_for::<crate::apps::v1beta1::StatefulSetStatus>,
                status_subresource: true,
                scale: scale(),
                printer_columns: columns(),
            },
        ],
    }
}

/// Schema names (as k8s-openapi spells them) of Kubernetes types that OpenKruise's CRDs keep
/// schemaless: an object with `x-kubernetes-preserve-unknown-fields: true`, validated by the
/// webhook instead (CS-2: `template`, `volumeClaimTemplates`). Nested `ObjectMeta` is kept whole
/// the same way, so labels and annotations of embedded objects survive pruning.
pub const SCHEMALESS_TYPES: &[&str] = &[
    "io.k8s.api.core.v1.PodTemplateSpec",
    "io.k8s.api.core.v1.PersistentVolumeClaim",
    "io.k8s.api.core.v1.Volume",
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
];

/// The `format`s the API server accepts in a CRD schema; any other `format` schemars emits
/// (`uint32`, `uint8`, ...) is dropped (the range stays in `minimum`/`maximum`).
pub const SUPPORTED_FORMATS: &[&str] = &[
    "int32",
    "int64",
    "float",
    "double",
    "byte",
    "date",
    "date-time",
    "duration",
    "password",
    "uuid",
    "hostname",
    "email",
    "uri",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
];

/// Why a kind's schema cannot become a structural CRD schema.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CrdError {
    /// A `$ref` points nowhere in the schema's definitions.
    #[error("{kind} {version}: {path}: unresolved reference {reference:?}")]
    UnresolvedRef {
        /// Kind being generated.
        kind: &'static str,
        /// Version being generated.
        version: &'static str,
        /// Where in the object the reference sits.
        path: FieldPath,
        /// The reference.
        reference: String,
    },
    /// A type refers to itself; structural schemas cannot express recursion.
    #[error("{kind} {version}: {path}: recursive type {name:?} cannot be inlined")]
    Recursive {
        /// Kind being generated.
        kind: &'static str,
        /// Version being generated.
        version: &'static str,
        /// Where the recursion was found.
        path: FieldPath,
        /// The recursive definition.
        name: String,
    },
    /// A schema construct structural schemas do not allow here (`oneOf`, `anyOf`, `allOf`,
    /// `not` other than the nullable pattern, or a node without a `type`).
    #[error("{kind} {version}: {path}: {message}")]
    NotStructural {
        /// Kind being generated.
        kind: &'static str,
        /// Version being generated.
        version: &'static str,
        /// The offending node.
        path: FieldPath,
        /// What is wrong.
        message: String,
    },
    /// The finished schema does not decode as `JSONSchemaProps`.
    #[error("{kind} {version}: schema is not a JSONSchemaProps: {message}")]
    Decode {
        /// Kind being generated.
        kind: &'static str,
        /// Version being generated.
        version: &'static str,
        /// The decoder's message.
        message: String,
    },
}

/// The JSON schema of `T` as [`VersionInfo::spec_schema`] / [`VersionInfo::status_schema`]
/// expect it: JSON Schema 2020-12 with definitions under `$defs` and not inlined, so that
/// [`custom_resource_definition`] can recognise the [`SCHEMALESS_TYPES`] by name.
pub fn schema_for<T: schemars::JsonSchema>() -> schemars::Schema {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
        s.meta_schema = None;
        s.inline_subschemas = false;
    });
    settings.into_generator().into_root_schema_for::<T>()
}

/// The `apiextensions.k8s.io/v1` CustomResourceDefinition of a kind, with a structural schema
/// per version (no `$ref`, no `anyOf`/`oneOf`, a `type` on every node except int-or-string
/// and schemaless ones, `nullable: true` on optional fields).
pub fn custom_resource_definition(info: &KindInfo) -> Result<CustomResourceDefinition, CrdError> {
    let versions = info.versions.iter().map(|v| crd_version(info, v)).collect::<Result<Vec<_>, _>>()?;
    Ok(CustomResourceDefinition {
        metadata: ObjectMeta { name: Some(format!("{}.{}", info.plural, info.group)), ..Default::default() },
        spec: CustomResourceDefinitionSpec {
            group: info.group.to_owned(),
            names: CustomResourceDefinitionNames {
                kind: info.kind.to_owned(),
                list_kind: Some(format!("{}List", info.kind)),
                plural: info.plural.to_owned(),
                singular: Some(info.singular.to_owned()),
                short_names: non_empty(info.short_names),
                categories: non_empty(info.categories),
            },
            scope: if info.namespaced { "Namespaced" } else { "Cluster" }.to_owned(),
            versions,
            conversion: None,
            preserve_unknown_fields: None,
        },
        status: None,
    })
}

/// [`custom_resource_definition`] of every kind in [`all_kinds`].
pub fn all_custom_resource_definitions() -> Result<Vec<CustomResourceDefinition>, CrdError> {
    all_kinds().iter().map(custom_resource_definition).collect()
}

fn non_empty(list: &[&str]) -> Option<Vec<String>> {
    if list.is_empty() { None } else { Some(list.iter().map(|s| (*s).to_owned()).collect()) }
}

fn crd_version(info: &KindInfo, v: &VersionInfo) -> Result<CustomResourceDefinitionVersion, CrdError> {
    let cx = Cx { kind: info.kind, version: v.name };
    let spec = cx.structural(&(v.spec_schema)(), &FieldPath::from("spec"))?;
    let status = cx.structural(&(v.status_schema)(), &FieldPath::from("status"))?;
    let root = json!({
        "description": format!("{} ({}/{}).", info.kind, info.group, v.name),
        "type": "object",
        "properties": {
            "apiVersion": {
                "description": "The versioned schema of this representation of the object.",
                "type": "string",
            },
            "kind": {
                "description": "The REST resource this object represents.",
                "type": "string",
            },
            "metadata": { "type": "object" },
            "spec": spec,
            "status": status,
        },
    });
    let schema: JSONSchemaProps = serde_json::from_value(root).map_err(|e| CrdError::Decode {
        kind: info.kind,
        version: v.name,
        message: e.to_string(),
    })?;
    let printer_columns: Vec<_> = v
        .printer_columns
        .iter()
        .map(|c| CustomResourceColumnDefinition {
            name: c.name.to_owned(),
            type_: c.type_.to_owned(),
            json_path: c.json_path.to_owned(),
            description: (!c.description.is_empty()).then(|| c.description.to_owned()),
            priority: (c.priority != 0).then_some(c.priority),
            format: None,
        })
        .collect();
    let subresources = (v.status_subresource || v.scale.is_some()).then(|| CustomResourceSubresources {
        status: v.status_subresource.then_some(CustomResourceSubresourceStatus(Value::Object(Map::new()))),
        scale: v.scale.as_ref().map(|s| CustomResourceSubresourceScale {
            spec_replicas_path: s.spec_replicas_path.to_owned(),
            status_replicas_path: s.status_replicas_path.to_owned(),
            label_selector_path: s.label_selector_path.map(str::to_owned),
        }),
    });
    Ok(CustomResourceDefinitionVersion {
        name: v.name.to_owned(),
        served: v.served,
        storage: v.storage,
        schema: Some(CustomResourceValidation { open_api_v3_schema: Some(schema) }),
        subresources,
        additional_printer_columns: (!printer_columns.is_empty()).then_some(printer_columns),
        ..Default::default()
    })
}

/// Keywords copied unchanged from a schemars node (after the rewrites below).
const KEPT_KEYWORDS: &[&str] = &[
    "description",
    "type",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "multipleOf",
    "required",
    "nullable",
];

/// The kind and version being generated, for error messages.
struct Cx {
    kind: &'static str,
    version: &'static str,
}

impl Cx {
    fn not_structural(&self, path: &FieldPath, message: impl Into<String>) -> CrdError {
        CrdError::NotStructural {
            kind: self.kind,
            version: self.version,
            path: path.clone(),
            message: message.into(),
        }
    }

    /// Rewrites the root schema of a spec/status type into a structural schema.
    fn structural(&self, schema: &schemars::Schema, path: &FieldPath) -> Result<Value, CrdError> {
        let root = schema.as_value();
        // `#` is the root type itself; a `$ref: "#"` below it is recursion.
        let mut stack = vec!["#".to_owned()];
        let out = self.node(root, root, path, &mut stack)?;
        self.check_typed(&out, path)?;
        Ok(out)
    }

    /// One schema node: resolves `$ref`s (inlining definitions, or replacing schemaless types),
    /// turns the nullable patterns into `nullable: true`, and keeps only the keywords a CRD
    /// schema may carry.
    fn node(
        &self,
        root: &Value,
        node: &Value,
        path: &FieldPath,
        stack: &mut Vec<String>,
    ) -> Result<Value, CrdError> {
        let obj = match node {
            // `true` accepts anything: keep whatever is sent.
            Value::Bool(true) => return Ok(json!({ "x-kubernetes-preserve-unknown-fields": true })),
            Value::Bool(false) => return Err(self.not_structural(path, "schema `false` accepts nothing")),
            Value::Object(obj) => obj,
            _ => return Err(self.not_structural(path, "schema is neither an object nor a boolean")),
        };

        if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
            let name =
                reference.rsplit('/').next().unwrap_or(reference).replace("~1", "/").replace("~0", "~");
            let mut out = if SCHEMALESS_TYPES.contains(&name.as_str()) {
                json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true })
            } else {
                if stack.contains(&name) {
                    let name = if name == "#" {
                        root.get("title").and_then(Value::as_str).unwrap_or("the root type").to_owned()
                    } else {
                        name
                    };
                    return Err(CrdError::Recursive {
                        kind: self.kind,
                        version: self.version,
                        path: path.clone(),
                        name,
                    });
                }
                let target = reference.strip_prefix('#').and_then(|p| root.pointer(p)).ok_or_else(|| {
                    CrdError::UnresolvedRef {
                        kind: self.kind,
                        version: self.version,
                        path: path.clone(),
                        reference: reference.to_owned(),
                    }
                })?;
                stack.push(name);
                let inlined = self.node(root, target, path, stack);
                stack.pop();
                inlined?
            };
            // Siblings of `$ref` (the field's own doc comment) win over the definition's.
            merge(&mut out, annotations(obj));
            return Ok(out);
        }

        // `anyOf`/`oneOf` of one schema and `null` (what schemars emits for `Option<T>`), or of
        // string constants (a unit enum whose variants have doc comments).
        for key in ["anyOf", "oneOf"] {
            if let Some(branches) = obj.get(key).and_then(Value::as_array) {
                let (nulls, others): (Vec<&Value>, Vec<&Value>) =
                    branches.iter().partition(|b| is_null_schema(b));
                let mut out = match (others.as_slice(), string_constants(&others)) {
                    ([one], _) => self.node(root, one, path, stack)?,
                    (_, Some(values)) => json!({ "type": "string", "enum": values }),
                    _ => {
                        return Err(self.not_structural(
                            path,
                            format!(
                                "`{key}` is only supported for Option<T> (`[<schema>, {{type: null}}]`) and string enums"
                            ),
                        ));
                    }
                };
                merge(&mut out, annotations(obj));
                if !nulls.is_empty() {
                    set(&mut out, "nullable", Value::Bool(true));
                }
                return Ok(out);
            }
        }
        for key in
            ["allOf", "not", "if", "then", "else", "dependentSchemas", "patternProperties", "prefixItems"]
        {
            if obj.contains_key(key) {
                return Err(self.not_structural(path, format!("`{key}` is not supported in a CRD schema")));
            }
        }

        let mut out = Map::new();
        if obj.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
            out.insert("x-kubernetes-int-or-string".into(), Value::Bool(true));
            if let Some(d) = obj.get("description") {
                out.insert("description".into(), d.clone());
            }
            return Ok(Value::Object(out));
        }
        for key in KEPT_KEYWORDS {
            if let Some(v) = obj.get(*key) {
                out.insert((*key).to_owned(), v.clone());
            }
        }
        for (key, v) in obj {
            if key.starts_with("x-kubernetes-") {
                out.insert(key.clone(), v.clone());
            }
        }
        // `type: [T, "null"]` → `type: T, nullable: true`.
        if let Some(Value::Array(types)) = out.get("type") {
            let non_null: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
            let nullable = non_null.len() < types.len();
            match non_null.as_slice() {
                [one] => {
                    out.insert("type".into(), one.clone());
                }
                [] => return Err(self.not_structural(path, "a field that can only be null")),
                _ => return Err(self.not_structural(path, format!("several types {types:?}"))),
            }
            if nullable {
                out.insert("nullable".into(), Value::Bool(true));
                if let Some(Value::Array(values)) = out.get_mut("enum") {
                    values.retain(|v| !v.is_null());
                }
            }
        }
        if let Some(c) = obj.get("const") {
            out.insert("enum".into(), Value::Array(vec![c.clone()]));
        }
        // JSON Schema 2020-12 numeric exclusive bounds → OpenAPI v3.0 boolean flags.
        for (exclusive, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
            if let Some(n) = obj.get(exclusive).filter(|v| v.is_number()) {
                out.insert(bound.into(), n.clone());
                out.insert(exclusive.into(), Value::Bool(true));
            }
        }
        if let Some(format) = obj.get("format").and_then(Value::as_str)
            && SUPPORTED_FORMATS.contains(&format)
        {
            out.insert("format".into(), Value::String(format.to_owned()));
        }
        // A schema that constrains nothing (`serde_json::Value`, with a doc comment): keep
        // whatever is sent.
        const CONSTRAINING: &[&str] =
            &["type", "properties", "items", "additionalProperties", "enum", "const"];
        if !CONSTRAINING.iter().any(|k| obj.contains_key(*k)) {
            out.insert("x-kubernetes-preserve-unknown-fields".into(), Value::Bool(true));
        }
        if let Some(Value::Object(props)) = obj.get("properties") {
            let mut new_props = Map::new();
            for (name, p) in props {
                new_props.insert(name.clone(), self.node(root, p, &path.child(name), stack)?);
            }
            out.insert("properties".into(), Value::Object(new_props));
        }
        if let Some(items) = obj.get("items") {
            out.insert("items".into(), self.node(root, items, &every(path), stack)?);
        }
        match obj.get("additionalProperties") {
            // `false` (deny_unknown_fields) is the API server's pruning already; `true` keeps all.
            None | Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) => {
                out.insert("x-kubernetes-preserve-unknown-fields".into(), Value::Bool(true));
            }
            Some(ap) => {
                out.insert("additionalProperties".into(), self.node(root, ap, &path.key("*"), stack)?);
            }
        }
        Ok(Value::Object(out))
    }

    /// Structural rule: every node names a `type`, unless it is int-or-string or keeps
    /// unknown fields.
    fn check_typed(&self, node: &Value, path: &FieldPath) -> Result<(), CrdError> {
        let Some(obj) = node.as_object() else { return Ok(()) };
        let flagged = |k: &str| obj.get(k) == Some(&Value::Bool(true));
        if !obj.contains_key("type")
            && !flagged("x-kubernetes-int-or-string")
            && !flagged("x-kubernetes-preserve-unknown-fields")
        {
            return Err(self.not_structural(path, "node has no `type`"));
        }
        if let Some(Value::Object(props)) = obj.get("properties") {
            for (name, p) in props {
                self.check_typed(p, &path.child(name))?;
            }
        }
        if let Some(items) = obj.get("items") {
            self.check_typed(items, &every(path))?;
        }
        if let Some(ap) = obj.get("additionalProperties") {
            self.check_typed(ap, &path.key("*"))?;
        }
        Ok(())
    }
}

/// `path[*]`: every element of a list.
fn every(path: &FieldPath) -> FieldPath {
    FieldPath::from(format!("{path}[*]"))
}

/// The values of branches that are all `{type: string, const: V}` (or `enum: [..]`), in order.
fn string_constants(branches: &[&Value]) -> Option<Vec<Value>> {
    let mut values = Vec::new();
    for b in branches {
        if b.get("type").and_then(Value::as_str) != Some("string") {
            return None;
        }
        match (b.get("const"), b.get("enum").and_then(Value::as_array)) {
            (Some(c), _) => values.push(c.clone()),
            (None, Some(e)) => values.extend(e.iter().cloned()),
            (None, None) => return None,
        }
    }
    (!values.is_empty()).then_some(values)
}

fn is_null_schema(v: &Value) -> bool {
    match v.get("type") {
        Some(Value::String(t)) => t == "null",
        Some(Value::Array(ts)) => ts.iter().all(|t| t == "null"),
        _ => false,
    }
}

/// The keys of a schema node that annotate rather than constrain: `description` and the
/// `x-kubernetes-*` extensions (what a field adds next to a `$ref` or an `anyOf`).
fn annotations(obj: &Map<String, Value>) -> Value {
    Value::Object(
        obj.iter()
            .filter(|(k, _)| *k == "description" || k.starts_with("x-kubernetes-"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// Copies every key of `from` (an object) into `into`, overwriting.
fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(into), Value::Object(from)) = (into, from) {
        for (k, v) in from {
            into.insert(k, v);
        }
    }
}

fn set(into: &mut Value, key: &str, v: Value) {
    if let Value::Object(into) = into {
        into.insert(key.to_owned(), v);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::PodTemplateSpec;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    use serde_json::json;

    use super::*;

    const CX: Cx = Cx { kind: "Test", version: "v1" };

    fn structural<T: schemars::JsonSchema>() -> Result<Value, CrdError> {
        CX.structural(&schema_for::<T>(), &FieldPath::from("spec"))
    }

    /// An inner object.
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Inner {
        /// A count.
        n: u32,
    }

    /// An outer object.
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Outer {
        /// Optional inner object.
        inner: Option<Inner>,
        /// Optional string.
        label: Option<String>,
        /// Int or percent.
        partition: Option<IntOrString>,
        /// Schemaless pod template.
        template: PodTemplateSpec,
        /// Anything.
        extra: Value,
        /// A map.
        tags: BTreeMap<String, i64>,
    }

    #[test]
    fn option_of_struct_is_inlined_and_nullable() {
        let s = structural::<Outer>().unwrap();
        let inner = &s["properties"]["inner"];
        assert_eq!(inner["type"], "object");
        assert_eq!(inner["nullable"], true);
        assert_eq!(inner["description"], "Optional inner object.", "the field's doc wins over the type's");
        assert!(inner.get("anyOf").is_none());
        assert_eq!(
            s["properties"]["label"],
            json!({"description": "Optional string.", "type": "string", "nullable": true})
        );
        assert!(!s.to_string().contains("$ref"));
        assert!(s.get("$defs").is_none());
    }

    #[test]
    fn unsupported_formats_are_dropped_and_bounds_kept() {
        let s = structural::<Outer>().unwrap();
        let n = &s["properties"]["inner"]["properties"]["n"];
        assert_eq!(n["type"], "integer");
        assert!(n.get("format").is_none(), "uint32 is not an API-server format: {n}");
        assert_eq!(n["minimum"], 0);
        assert_eq!(s["properties"]["tags"]["additionalProperties"]["format"], "int64");
    }

    #[test]
    fn cs_2_int_or_string_and_schemaless_types() {
        let s = structural::<Outer>().unwrap();
        assert_eq!(
            s["properties"]["partition"],
            json!({"description": "Int or percent.", "x-kubernetes-int-or-string": true, "nullable": true})
        );
        assert_eq!(
            s["properties"]["template"],
            json!({"description": "Schemaless pod template.", "type": "object", "x-kubernetes-preserve-unknown-fields": true})
        );
        assert_eq!(s["properties"]["extra"]["x-kubernetes-preserve-unknown-fields"], true);
    }

    /// A recursive type.
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Tree {
        /// Children.
        children: Vec<Tree>,
    }

    #[test]
    fn recursive_types_are_an_error_naming_the_path() {
        match structural::<Tree>() {
            Err(CrdError::Recursive { path, name, .. }) => {
                assert!(path.as_str().starts_with("spec.children[*]"), "{path}");
                assert!(name.contains("Tree"), "{name}");
            }
            other => panic!("expected Recursive, got {other:?}"),
        }
    }

    /// An externally tagged enum: `oneOf` of objects.
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    enum Choice {
        /// A.
        A { x: i32 },
        /// B.
        B { y: String },
    }

    /// Holds a [`Choice`].
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct HasChoice {
        /// The choice.
        choice: Choice,
    }

    #[test]
    fn one_of_other_than_nullable_is_not_structural() {
        match structural::<HasChoice>() {
            Err(CrdError::NotStructural { path, .. }) => assert_eq!(path.as_str(), "spec.choice"),
            other => panic!("expected NotStructural, got {other:?}"),
        }
    }

    /// A unit enum: a string with values.
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    enum Policy {
        /// Recreate.
        ReCreate,
        /// In place.
        InPlace,
    }

    /// Holds an optional [`Policy`].
    #[derive(schemars::JsonSchema)]
    #[allow(dead_code)]
    struct HasPolicy {
        /// The policy.
        policy: Option<Policy>,
    }

    #[test]
    fn optional_unit_enum_is_a_nullable_string_enum() {
        let s = structural::<HasPolicy>().unwrap();
        let p = &s["properties"]["policy"];
        assert_eq!(p["nullable"], true);
        let mut problems = Vec::new();
        if p.get("type") != Some(&json!("string")) {
            problems.push(format!("type: {p}"));
        }
        let values: Vec<&Value> = p["enum"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
        if values != [&json!("ReCreate"), &json!("InPlace")] {
            problems.push(format!("enum: {p}"));
        }
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn cs_1_cloneset_crd_has_both_versions() {
        let crd = custom_resource_definition(&crate::apps::v1beta1::cloneset::kind_info()).unwrap();
        let names: Vec<_> =
            crd.spec.versions.iter().map(|v| (v.name.as_str(), v.served, v.storage)).collect();
        assert_eq!(names, [("v1alpha1", true, true), ("v1beta1", false, false)]);
    }

    /// Without a conversion webhook (strategy None) only kinds whose versions are
    /// field-compatible may serve both; the others serve and store v1alpha1 alone (CS-1).
    #[test]
    fn cs_1_kinds_with_differing_versions_serve_v1alpha1_only() {
        for info in all_kinds() {
            let crd = custom_resource_definition(&info).unwrap();
            let v: Vec<_> =
                crd.spec.versions.iter().map(|v| (v.name.as_str(), v.served, v.storage)).collect();
            let kind = crd.spec.names.kind.as_str();
            let expected: &[(&str, bool, bool)] = match kind {
                "CloneSet" | "DaemonSet" | "SidecarSet" | "NodeImage" | "Rollout" => {
                    &[("v1alpha1", true, true), ("v1beta1", false, false)]
                }
                _ => &[("v1alpha1", true, false), ("v1beta1", true, true)],
            };
            assert_eq!(v, expected, "{kind}");
        }
    }

    /// Issue 12 item 3: the bounds a CRD schema can carry, so the API server itself refuses a
    /// negative replica count or partition (as OpenKruise's CRDs do) even without the webhook.
    #[test]
    fn cs_13_crd_schemas_bound_counts_at_zero() {
        let cases: &[(&str, &[&str])] = &[
            ("CloneSet", &["replicas", "revisionHistoryLimit", "minReadySeconds", "progressDeadlineSeconds"]),
            ("StatefulSet", &["replicas", "revisionHistoryLimit"]),
            ("DaemonSet", &["minReadySeconds", "revisionHistoryLimit"]),
        ];
        for info in all_kinds() {
            let Some((kind, fields)) = cases.iter().find(|(k, _)| *k == info.kind) else { continue };
            let crd = custom_resource_definition(&info).unwrap();
            for v in &crd.spec.versions {
                let schema = serde_json::to_value(&v.schema).unwrap();
                let spec = &schema["openAPIV3Schema"]["properties"]["spec"]["properties"];
                for f in *fields {
                    assert_eq!(spec[f]["minimum"], json!(0.0), "{kind} {} spec.{f}: {}", v.name, spec[f]);
                }
                if *kind == "StatefulSet" && v.name == "v1beta1" {
                    let ru = &spec["updateStrategy"]["properties"]["rollingUpdate"]["properties"];
                    assert_eq!(ru["partition"]["minimum"], json!(0.0), "{}", ru["partition"]);
                    assert_eq!(ru["minReadySeconds"]["minimum"], json!(0.0));
                }
            }
        }
    }
}
