//! The resources the served cluster knows: the built-in kinds the operator, kube-rs and kubectl
//! use, and one entry per served version of every CustomResourceDefinition in the store (our
//! kinds are installed at start; CRDs created through the API are added the same way).

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// Where the scale subresource reads and writes (JSON paths such as `.spec.replicas`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScalePaths {
    /// `.spec.replicas`.
    pub spec_replicas: String,
    /// `.status.replicas`.
    pub status_replicas: String,
    /// `.status.labelSelector`, if any.
    pub label_selector: Option<String>,
}

/// One served resource at one version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceDef {
    /// API group, `""` for core.
    pub group: String,
    /// Version, e.g. `v1`.
    pub version: String,
    /// Kind, e.g. `Pod`.
    pub kind: String,
    /// Plural (the URL segment), e.g. `pods`.
    pub plural: String,
    /// Singular, e.g. `pod`.
    pub singular: String,
    /// Short names, e.g. `po`.
    pub short_names: Vec<String>,
    /// Categories, e.g. `all`.
    pub categories: Vec<String>,
    /// Namespaced (else cluster-scoped).
    pub namespaced: bool,
    /// Has the `status` subresource.
    pub status: bool,
    /// Has the scale subresource.
    pub scale: Option<ScalePaths>,
    /// Has the pod `resize` subresource.
    pub resize: bool,
    /// Accepts strategic merge patches (built-in kinds only, as on a real server).
    pub strategic: bool,
    /// Defined by a CustomResourceDefinition.
    pub custom: bool,
    /// Stored as core `v1` objects of the same kind and converted on the way in and out
    /// (`events.k8s.io/v1` events: one store of events, as on a real server).
    pub core_stored: bool,
}

impl ResourceDef {
    /// `group/version`, or `version` for core.
    pub fn group_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    /// The API group its objects are stored under.
    pub fn stored_group(&self) -> &str {
        if self.core_stored { "" } else { &self.group }
    }

    /// `plural.group` (or `plural` for core), as error messages name a resource.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() { self.plural.clone() } else { format!("{}.{}", self.plural, self.group) }
    }

    fn builtin(
        group: &str,
        version: &str,
        kind: &str,
        plural: &str,
        short: &[&str],
        namespaced: bool,
    ) -> Self {
        Self {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            plural: plural.to_owned(),
            singular: kind.to_ascii_lowercase(),
            short_names: short.iter().map(|s| (*s).to_owned()).collect(),
            categories: Vec::new(),
            namespaced,
            status: false,
            scale: None,
            resize: false,
            strategic: true,
            custom: false,
            core_stored: false,
        }
    }

    fn with_status(mut self) -> Self {
        self.status = true;
        self
    }
}

/// Why a CustomResourceDefinition cannot be served.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CrdError {
    /// The field path at fault, e.g. `spec.names.plural`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The resources served, by group, version and plural.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    defs: BTreeMap<(String, String, String), ResourceDef>,
}

const VERBS: [&str; 8] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

impl Registry {
    /// The built-in kinds: namespaces, nodes, pods (status, resize), events, PVCs, config maps,
    /// secrets, services, service accounts, ControllerRevisions, `events.k8s.io` events, Leases
    /// and CustomResourceDefinitions.
    pub fn builtin() -> Self {
        let mut pods = ResourceDef::builtin("", "v1", "Pod", "pods", &["po"], true).with_status();
        pods.resize = true;
        pods.categories = vec!["all".into()];
        let mut crds = ResourceDef::builtin(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            &["crd", "crds"],
            false,
        )
        .with_status();
        crds.strategic = false;
        let defs = [
            ResourceDef::builtin("", "v1", "Namespace", "namespaces", &["ns"], false).with_status(),
            ResourceDef::builtin("", "v1", "Node", "nodes", &["no"], false).with_status(),
            pods,
            ResourceDef::builtin("", "v1", "Event", "events", &["ev"], true),
            ResourceDef::builtin("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", &["pvc"], true)
                .with_status(),
            ResourceDef::builtin("", "v1", "ConfigMap", "configmaps", &["cm"], true),
            ResourceDef::builtin("", "v1", "Secret", "secrets", &[], true),
            ResourceDef::builtin("", "v1", "Service", "services", &["svc"], true).with_status(),
            ResourceDef::builtin("", "v1", "ServiceAccount", "serviceaccounts", &["sa"], true),
            ResourceDef::builtin("apps", "v1", "ControllerRevision", "controllerrevisions", &[], true),
            ResourceDef {
                core_stored: true,
                ..ResourceDef::builtin("events.k8s.io", "v1", "Event", "events", &["ev"], true)
            },
            ResourceDef::builtin("coordination.k8s.io", "v1", "Lease", "leases", &[], true),
            crds,
        ];
        let mut r = Self::default();
        for d in defs {
            r.insert(d);
        }
        r
    }

    fn insert(&mut self, d: ResourceDef) {
        self.defs.insert((d.group.clone(), d.version.clone(), d.plural.clone()), d);
    }

    /// The resource at `group`, `version`, `plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceDef> {
        self.defs.get(&(group.to_owned(), version.to_owned(), plural.to_owned()))
    }

    /// Every resource, by group, version and plural.
    pub fn all(&self) -> impl Iterator<Item = &ResourceDef> {
        self.defs.values()
    }

    /// Served versions per group, preferred (highest priority) first.
    pub fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (g, v, _) in self.defs.keys() {
            let vs = out.entry(g.clone()).or_default();
            if !vs.contains(v) {
                vs.push(v.clone());
            }
        }
        for vs in out.values_mut() {
            vs.sort_by(|a, b| version_priority(b).cmp(&version_priority(a)).then_with(|| a.cmp(b)));
        }
        out
    }

    /// True when `group`/`version` is served.
    pub fn serves(&self, group: &str, version: &str) -> bool {
        self.defs.keys().any(|(g, v, _)| g == group && v == version)
    }

    /// Serves every served version of a CustomResourceDefinition (replacing what an earlier
    /// version of the same CRD defined).
    pub fn add_crd(&mut self, crd: &Value) -> Result<(), CrdError> {
        let defs = crd_defs(crd)?;
        if let Some(first) = defs.first() {
            let (group, plural) = (first.group.clone(), first.plural.clone());
            self.defs.retain(|(g, _, p), d| !(d.custom && *g == group && *p == plural));
        }
        for d in defs {
            self.insert(d);
        }
        Ok(())
    }

    /// Stops serving a CustomResourceDefinition's resources.
    pub fn remove_crd(&mut self, crd: &Value) {
        let group = crd.pointer("/spec/group").and_then(Value::as_str).unwrap_or_default();
        let plural = crd.pointer("/spec/names/plural").and_then(Value::as_str).unwrap_or_default();
        self.defs.retain(|(g, _, p), d| !(d.custom && g == group && p == plural));
    }

    /// The `APIResourceList` of `group`/`version` (discovery).
    pub fn resource_list(&self, group: &str, version: &str) -> Value {
        let mut resources = Vec::new();
        for d in self.defs.values().filter(|d| d.group == group && d.version == version) {
            let mut r = json!({
                "name": d.plural,
                "singularName": d.singular,
                "namespaced": d.namespaced,
                "kind": d.kind,
                "verbs": VERBS,
            });
            if !d.short_names.is_empty() {
                r["shortNames"] = json!(d.short_names);
            }
            if !d.categories.is_empty() {
                r["categories"] = json!(d.categories);
            }
            resources.push(r);
            let sub = |name: &str, kind: &str, group: Option<&str>, version: Option<&str>, verbs: &[&str]| {
                let mut r = json!({"name": format!("{}/{name}", d.plural), "singularName": "",
                    "namespaced": d.namespaced, "kind": kind, "verbs": verbs});
                if let (Some(g), Some(v)) = (group, version) {
                    r["group"] = json!(g);
                    r["version"] = json!(v);
                }
                r
            };
            if d.status {
                resources.push(sub("status", &d.kind, None, None, &["get", "patch", "update"]));
            }
            if d.scale.is_some() {
                resources.push(sub(
                    "scale",
                    "Scale",
                    Some("autoscaling"),
                    Some("v1"),
                    &["get", "patch", "update"],
                ));
            }
            if d.resize {
                resources.push(sub("resize", &d.kind, None, None, &["get", "patch", "update"]));
            }
        }
        let gv = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
    }

    /// The `APIGroup` of `group` (discovery), if served.
    pub fn api_group(&self, group: &str) -> Option<Value> {
        let versions = self.groups().remove(group)?;
        let gv = |v: &String| json!({"groupVersion": format!("{group}/{v}"), "version": v});
        Some(json!({
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": group,
            "versions": versions.iter().map(gv).collect::<Vec<_>>(),
            "preferredVersion": versions.first().map(gv),
        }))
    }

    /// The `APIGroupList` (discovery of `/apis`).
    pub fn group_list(&self) -> Value {
        let groups: Vec<Value> =
            self.groups().keys().filter(|g| !g.is_empty()).filter_map(|g| self.api_group(g)).collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }
}

/// Kubernetes version priority: GA over beta over alpha, higher numbers first; other strings
/// last.
fn version_priority(v: &str) -> (u8, u64, u64) {
    let Some(rest) = v.strip_prefix('v') else { return (0, 0, 0) };
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let Ok(major) = rest[..digits].parse::<u64>() else { return (0, 0, 0) };
    let tail = &rest[digits..];
    if tail.is_empty() {
        return (3, major, 0);
    }
    for (prefix, level) in [("beta", 2), ("alpha", 1)] {
        if let Some(n) = tail.strip_prefix(prefix)
            && let Ok(minor) = n.parse::<u64>()
        {
            return (level, major, minor);
        }
    }
    (0, 0, 0)
}

fn crd_defs(crd: &Value) -> Result<Vec<ResourceDef>, CrdError> {
    let s = |path: &str| crd.pointer(path).and_then(Value::as_str).filter(|s| !s.is_empty());
    let missing = |path: &str| CrdError { path: path.to_owned(), message: "Required value".to_owned() };
    let group = s("/spec/group").ok_or_else(|| missing("spec.group"))?;
    let kind = s("/spec/names/kind").ok_or_else(|| missing("spec.names.kind"))?;
    let plural = s("/spec/names/plural").ok_or_else(|| missing("spec.names.plural"))?;
    let singular = s("/spec/names/singular").map_or_else(|| kind.to_ascii_lowercase(), str::to_owned);
    let namespaced = match s("/spec/scope") {
        Some("Namespaced") => true,
        Some("Cluster") => false,
        _ => {
            return Err(CrdError {
                path: "spec.scope".to_owned(),
                message: "Unsupported value: must be Namespaced or Cluster".to_owned(),
            });
        }
    };
    let strings = |path: &str| -> Vec<String> {
        crd.pointer(path)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let versions =
        crd.pointer("/spec/versions").and_then(Value::as_array).ok_or_else(|| missing("spec.versions"))?;
    let mut out = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let name = v.get("name").and_then(Value::as_str).filter(|n| !n.is_empty()).ok_or_else(|| {
            CrdError { path: format!("spec.versions[{i}].name"), message: "Required value".to_owned() }
        })?;
        if v.get("served").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let sub = v.get("subresources");
        let scale = sub.and_then(|s| s.get("scale")).map(|sc| ScalePaths {
            spec_replicas: sc
                .get("specReplicasPath")
                .and_then(Value::as_str)
                .unwrap_or(".spec.replicas")
                .to_owned(),
            status_replicas: sc
                .get("statusReplicasPath")
                .and_then(Value::as_str)
                .unwrap_or(".status.replicas")
                .to_owned(),
            label_selector: sc.get("labelSelectorPath").and_then(Value::as_str).map(str::to_owned),
        });
        out.push(ResourceDef {
            group: group.to_owned(),
            version: name.to_owned(),
            kind: kind.to_owned(),
            plural: plural.to_owned(),
            singular: singular.clone(),
            short_names: strings("/spec/names/shortNames"),
            categories: strings("/spec/names/categories"),
            namespaced,
            status: sub.and_then(|s| s.get("status")).is_some(),
            scale,
            resize: false,
            strategic: false,
            custom: true,
            core_stored: false,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_as_kubernetes_does() {
        let mut v = vec!["v1alpha1", "v1beta1", "v1", "v2beta1", "foo", "v1beta2"];
        v.sort_by_key(|a| std::cmp::Reverse(version_priority(a)));
        assert_eq!(v, ["v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "foo"]);
    }

    #[test]
    fn crds_of_our_kinds_are_served_with_their_subresources() {
        let mut r = Registry::builtin();
        for crd in kruise_api::crd::all_custom_resource_definitions().unwrap_or_default() {
            let v = serde_json::to_value(crd).unwrap_or_default();
            assert_eq!(r.add_crd(&v), Ok(()));
        }
        let cs = r.find("apps.kruise.io", "v1alpha1", "clonesets").cloned();
        let cs = cs.unwrap_or_else(|| ResourceDef::builtin("x", "v", "X", "xs", &[], true));
        assert_eq!(cs.kind, "CloneSet");
        assert!(cs.status && cs.namespaced && !cs.strategic);
        assert_eq!(cs.scale.map(|s| s.spec_replicas), Some(".spec.replicas".to_owned()));
        let list = r.resource_list("apps.kruise.io", "v1alpha1");
        let names: Vec<&str> =
            list["resources"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
        assert!(names.contains(&"clonesets/status") && names.contains(&"clonesets/scale"));
        assert!(r.api_group("apps.kruise.io").is_some());
    }

    #[test]
    fn a_crd_without_a_scope_is_refused_with_its_path() {
        let mut r = Registry::builtin();
        let crd = json!({"spec": {"group": "x.io", "names": {"kind": "X", "plural": "xs"}, "versions": []}});
        assert_eq!(r.add_crd(&crd).map_err(|e| e.path), Err("spec.scope".to_owned()));
    }
}
