//! Related objects: the kinds a reconciler reads besides its workload and what it owns
//! ([`Reconciler::related_kinds`](kruise_core::reconciler::Reconciler::related_kinds)), kept in
//! reflector caches over [`DynamicObject`] and handed to the planner in `World::related` as
//! stored JSON, as the simulator does:
//! - a namespaced kind: the objects of the workload's namespace (none for a cluster-scoped
//!   workload), plus those of any [`ExtraNamespace`] declared for the kind (the ImagePullJob's
//!   secret copies in the daemon namespace);
//! - a cluster-scoped kind: every object;
//! - in the order the reconciler names its kinds, each kind's objects by namespace then name,
//!   so the planner sees the same snapshot whatever order the watches delivered.
//!
//! [`discover`] resolves each kind against the API server's discovery documents first: the
//! version the reconciler names if served, else another served version of the same group and
//! kind (our CRDs serve CloneSets and NodeImages as `v1alpha1` only; the planners decode any
//! version they accept). A kind the cluster does not serve at all (no Gateway API installed, no
//! BatchRelease CRD) is logged once and handed over empty: it never stops the operator, and it
//! does not hold the sync gate. Installing its CRD later needs an operator restart.
//!
//! Pods are served from the controller's pod cache ([`Source::PodCache`]) instead of a second
//! watch of every pod.
//!
//! A change of a related object wakes, for a namespaced kind, every workload of its namespace
//! (and every workload for an object of an extra namespace), for a cluster-scoped kind every
//! workload ([`woken`]): coarser than "the workloads that read this object", which would need
//! each planner's reading rules here; a reconcile that finds nothing to do writes nothing.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use kruise_core::reconciler::RelatedKind;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;

use crate::index::ObjectIndex;
use crate::key::WorkloadKey;

/// Objects of a namespaced related kind in a namespace other than the workload's that every
/// workload is handed (the ImagePullJob's pull-secret copies in the daemon namespace).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtraNamespace {
    /// The related kind's plural (`secrets`).
    pub plural: &'static str,
    /// The namespace (`kruise-daemon-config`).
    pub namespace: String,
    /// Only objects with this annotation key (`imagepulljobs.kruise.io/source-key`), if set.
    pub annotation: Option<&'static str>,
}

/// Where one related kind's objects come from.
#[derive(Clone)]
pub enum Source {
    /// The cluster does not serve the kind: none are handed over.
    Absent,
    /// Reflector caches (the watched scope, and extra namespaces) of the resolved resource.
    Stores(ApiResource, Vec<Store<DynamicObject>>),
    /// The controller's own pod cache (`v1` Pods).
    PodCache,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Absent => f.write_str("Absent"),
            Source::Stores(ar, s) => write!(f, "Stores({}, {} caches)", ar.api_version, s.len()),
            Source::PodCache => f.write_str("PodCache"),
        }
    }
}

/// The related objects of one controller: a [`Source`] per related kind, in the reconciler's
/// order, and the extra namespaces.
#[derive(Clone, Debug, Default)]
pub struct RelatedCaches {
    entries: Vec<(RelatedKind, Source)>,
    extra: Vec<ExtraNamespace>,
}

impl RelatedCaches {
    /// No related kinds.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `kind`, read from `source` (kinds are handed over in the order they are added).
    pub fn with(mut self, kind: RelatedKind, source: Source) -> Self {
        self.entries.push((kind, source));
        self
    }

    /// Also hands over the objects of `extra`.
    pub fn with_extra(mut self, extra: ExtraNamespace) -> Self {
        self.extra.push(extra);
        self
    }

    /// The kinds and where they come from.
    pub fn entries(&self) -> &[(RelatedKind, Source)] {
        &self.entries
    }

    /// True when an object of `kind` in `namespace` with `meta` is handed to a workload of
    /// `workload_ns` (`""`: cluster-scoped workload).
    fn keeps(
        &self,
        kind: &RelatedKind,
        workload_ns: &str,
        namespace: Option<&str>,
        annotations: Option<&BTreeMap<String, String>>,
    ) -> bool {
        if !kind.namespaced {
            return true;
        }
        let ns = namespace.unwrap_or_default();
        if !workload_ns.is_empty() && ns == workload_ns {
            return true;
        }
        self.extra.iter().any(|e| {
            e.plural == kind.plural
                && e.namespace == ns
                && e.annotation.is_none_or(|a| annotations.is_some_and(|m| m.contains_key(a)))
        })
    }

    /// The related objects handed to the workload `key` (see the module docs), as stored
    /// JSON with `apiVersion` and `kind` set.
    pub fn gather(&self, key: &WorkloadKey, pods: &ObjectIndex<Pod>) -> Vec<Value> {
        let mut out = Vec::new();
        for (kind, source) in &self.entries {
            let mut objects: BTreeMap<(String, String), Value> = BTreeMap::new();
            match source {
                Source::Absent => {}
                Source::PodCache => {
                    for p in pods.state() {
                        let m = &p.metadata;
                        if self.keeps(kind, &key.namespace, m.namespace.as_deref(), m.annotations.as_ref()) {
                            let id =
                                (m.namespace.clone().unwrap_or_default(), m.name.clone().unwrap_or_default());
                            objects.insert(id, crate::reads::pod_json(&p));
                        }
                    }
                }
                Source::Stores(ar, stores) => {
                    for o in stores.iter().flat_map(Store::state) {
                        let m = &o.metadata;
                        if !self.keeps(kind, &key.namespace, m.namespace.as_deref(), m.annotations.as_ref()) {
                            continue;
                        }
                        let id =
                            (m.namespace.clone().unwrap_or_default(), m.name.clone().unwrap_or_default());
                        objects.insert(id, stored_json(&o, ar));
                    }
                }
            }
            out.extend(objects.into_values());
        }
        out
    }
}

/// Related kinds whose writes may be readdressed to another served version as they are: the
/// fields the planners write have the same shape in every served version. A NodeImage's
/// `spec.images` is the same in v1alpha1 and v1beta1 except the pull secrets' `mode`, which a
/// v1alpha1 CRD prunes (as upstream's conversion drops it, IPJ-5).
pub const READDRESSABLE: &[(&str, &str)] = &[("apps.kruise.io", "NodeImage")];

impl RelatedCaches {
    /// Readdresses the planner's writes to objects of a [`READDRESSABLE`] related kind to the
    /// version the cluster serves it at (our CRDs serve NodeImages as v1alpha1 only; the
    /// ImagePullJob planner writes v1beta1). Other writes are left as planned.
    pub fn readdress(&self, writes: &mut [kruise_core::reconciler::PlannedWrite]) {
        use kruise_core::write::ApiWrite;
        for w in writes {
            let (target, body) = match &mut w.write {
                ApiWrite::Create { target, object } => (target, Some(object)),
                ApiWrite::Replace { target, object, .. } => (target, Some(object)),
                ApiWrite::MergePatch { target, .. }
                | ApiWrite::JsonPatch { target, .. }
                | ApiWrite::Delete { target, .. } => (target, None),
            };
            let group = target.api_version.rsplit_once('/').map_or("", |(g, _)| g);
            if !READDRESSABLE.contains(&(group, target.kind.as_str())) {
                continue;
            }
            let served = self.entries.iter().find_map(|(k, src)| match src {
                Source::Stores(ar, _) if k.group == group && k.kind == target.kind => {
                    Some(ar.api_version.clone())
                }
                _ => None,
            });
            let Some(served) = served.filter(|v| *v != target.api_version) else { continue };
            if let Some(Value::Object(o)) = body
                && o.contains_key("apiVersion")
            {
                o.insert("apiVersion".into(), Value::from(served.clone()));
            }
            target.api_version = served;
        }
    }
}

/// A cached dynamic object as stored JSON: list items may come without `apiVersion`/`kind`,
/// so both are set from the resource it was watched as.
pub fn stored_json(o: &DynamicObject, ar: &ApiResource) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("apiVersion".into(), Value::from(ar.api_version.clone()));
        m.insert("kind".into(), Value::from(ar.kind.clone()));
    }
    v
}

/// How one related kind resolved against the cluster.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    /// Served as this resource (maybe at another version than the one named).
    Served(ApiResource),
    /// Not served: why (for the log line).
    Absent(String),
}

fn resource(kind: &RelatedKind, version: &str) -> ApiResource {
    let api_version =
        if kind.group.is_empty() { version.to_owned() } else { format!("{}/{version}", kind.group) };
    ApiResource {
        group: kind.group.to_owned(),
        version: version.to_owned(),
        api_version,
        kind: kind.kind.to_owned(),
        plural: kind.plural.to_owned(),
    }
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// Resolves each of `kinds` (see the module docs). Core kinds (`""` group) are taken as named.
/// A discovery failure other than "not found" (the API server unreachable) keeps the named
/// version: its watch then retries like any other, and the sync gate waits for it.
pub async fn discover(client: &Client, kinds: &[RelatedKind]) -> Vec<(RelatedKind, Resolved)> {
    let mut groups = None;
    let mut out = Vec::with_capacity(kinds.len());
    for kind in kinds {
        if kind.group.is_empty() {
            out.push((*kind, Resolved::Served(resource(kind, kind.version))));
            continue;
        }
        if groups.is_none() {
            groups = Some(client.list_api_groups().await);
        }
        let resolved = match groups.as_ref() {
            Some(Ok(list)) => resolve_in(client, kind, list).await,
            Some(Err(e)) => {
                tracing::warn!(error = %e, kind = kind.kind, "API discovery failed; watching the named version");
                Resolved::Served(resource(kind, kind.version))
            }
            None => Resolved::Served(resource(kind, kind.version)),
        };
        out.push((*kind, resolved));
    }
    out
}

/// The versions of `kind`'s group to try, in order: the named one, the preferred one, the
/// others as listed.
pub fn candidate_versions(
    kind: &RelatedKind,
    groups: &k8s_openapi::apimachinery::pkg::apis::meta::v1::APIGroupList,
) -> Vec<String> {
    let Some(g) = groups.groups.iter().find(|g| g.name == kind.group) else { return Vec::new() };
    let mut versions: Vec<String> = Vec::new();
    let served: Vec<&str> = g.versions.iter().map(|v| v.version.as_str()).collect();
    let preferred = g.preferred_version.as_ref().map(|v| v.version.as_str());
    for v in std::iter::once(Some(kind.version)).chain([preferred]).flatten().chain(served.iter().copied()) {
        if served.contains(&v) && !versions.iter().any(|x| x == v) {
            versions.push(v.to_owned());
        }
    }
    versions
}

async fn resolve_in(
    client: &Client,
    kind: &RelatedKind,
    groups: &k8s_openapi::apimachinery::pkg::apis::meta::v1::APIGroupList,
) -> Resolved {
    let versions = candidate_versions(kind, groups);
    if versions.is_empty() {
        return Resolved::Absent(format!("the API group {} is not served", kind.group));
    }
    for v in &versions {
        match client.list_api_group_resources(&format!("{}/{v}", kind.group)).await {
            Ok(list) => {
                if list.resources.iter().any(|r| r.name == kind.plural) {
                    return Resolved::Served(resource(kind, v));
                }
            }
            Err(e) if is_not_found(&e) => {}
            Err(e) => {
                tracing::warn!(error = %e, kind = kind.kind, "API discovery failed; watching the named version");
                return Resolved::Served(resource(kind, kind.version));
            }
        }
    }
    Resolved::Absent(format!(
        "no served version of {}/{} has {}",
        kind.group,
        versions.join(","),
        kind.plural
    ))
}

/// A reflector over `ar` (every namespace, or `namespace` only for a namespaced kind) whose
/// stream calls `listed` at the end of each initial list and yields the touched objects.
pub fn watch(
    client: &Client,
    ar: &ApiResource,
    namespaced: bool,
    namespace: Option<&str>,
    listed: impl Fn() + Send + 'static,
) -> (Store<DynamicObject>, impl futures::Stream<Item = Result<DynamicObject, watcher::Error>> + Send + 'static)
{
    use futures::StreamExt;
    let api: Api<DynamicObject> = match namespace.filter(|_| namespaced) {
        Some(ns) => Api::namespaced_with(client.clone(), ns, ar),
        None => Api::all_with(client.clone(), ar),
    };
    let writer = reflector::store::Writer::new(ar.clone());
    let reader = writer.as_reader();
    let stream = reflector::reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .inspect(move |ev| {
            if matches!(ev, Ok(watcher::Event::InitDone)) {
                listed();
            }
        })
        .touched_objects();
    (reader, stream)
}

/// The workloads (keys from `workloads`) a change of a related object in `namespace` wakes
/// (see the module docs).
pub fn woken(
    kind: &RelatedKind,
    namespace: Option<&str>,
    extra: &[ExtraNamespace],
    workloads: impl IntoIterator<Item = WorkloadKey>,
) -> Vec<WorkloadKey> {
    let ns = namespace.unwrap_or_default();
    let everyone = !kind.namespaced || extra.iter().any(|e| e.plural == kind.plural && e.namespace == ns);
    workloads.into_iter().filter(|k| everyone || k.namespace == ns).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroup, APIGroupList, GroupVersionForDiscovery};
    use kube::runtime::watcher::Event;
    use serde_json::json;

    const SECRET: RelatedKind =
        RelatedKind { group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true };
    const NODEIMAGE: RelatedKind = RelatedKind {
        group: "apps.kruise.io",
        version: "v1beta1",
        kind: "NodeImage",
        plural: "nodeimages",
        namespaced: false,
    };
    const POD: RelatedKind =
        RelatedKind { group: "", version: "v1", kind: "Pod", plural: "pods", namespaced: true };

    fn store(ar: &ApiResource, objs: &[Value]) -> Store<DynamicObject> {
        let mut w = reflector::store::Writer::new(ar.clone());
        for o in objs {
            let mut o = o.clone();
            // As a list delivers them: without apiVersion and kind.
            if let Value::Object(m) = &mut o {
                m.remove("apiVersion");
                m.remove("kind");
            }
            let d: DynamicObject = serde_json::from_value(o).unwrap_or_else(|_| DynamicObject::new("x", ar));
            w.apply_watcher_event(&Event::Apply(d));
        }
        w.as_reader()
    }

    fn obj(ns: Option<&str>, name: &str, annotated: bool) -> Value {
        let mut m = json!({"name": name});
        if let Some(ns) = ns {
            m["namespace"] = json!(ns);
        }
        if annotated {
            m["annotations"] = json!({"imagepulljobs.kruise.io/source-key": "team-a/pull"});
        }
        json!({"metadata": m, "data": {}})
    }

    fn names(v: &[Value]) -> Vec<String> {
        v.iter()
            .map(|o| {
                format!(
                    "{}:{}/{}",
                    o["kind"].as_str().unwrap_or_default(),
                    o["metadata"]["namespace"].as_str().unwrap_or_default(),
                    o["metadata"]["name"].as_str().unwrap_or_default()
                )
            })
            .collect()
    }

    /// The objects handed over: kinds in the reconciler's order; a namespaced kind's objects of
    /// the workload's namespace (and the annotated ones of an extra namespace), a
    /// cluster-scoped kind's all, each sorted by namespace then name with `apiVersion`/`kind`
    /// set from the resolved resource; an absent kind gives none.
    #[test]
    fn gather_hands_over_namespace_and_cluster_objects_in_order() {
        let ni = resource(&NODEIMAGE, "v1alpha1");
        let sec = resource(&SECRET, "v1");
        let nodeimages = store(&ni, &[obj(None, "nœud-b", false), obj(None, "nœud-a", false)]);
        let secrets = store(
            &sec,
            &[
                obj(Some("team-a"), "pull-z", false),
                obj(Some("team-a"), "pull-a", false),
                obj(Some("team-b"), "other", false),
                obj(Some("kruise-daemon-config"), "copy-1", true),
                obj(Some("kruise-daemon-config"), "unrelated", false),
            ],
        );
        let caches = RelatedCaches::new()
            .with(NODEIMAGE, Source::Stores(ni, vec![nodeimages]))
            .with(SECRET, Source::Stores(sec, vec![secrets]))
            .with(
                RelatedKind {
                    group: "gateway.networking.k8s.io",
                    version: "v1",
                    kind: "HTTPRoute",
                    plural: "httproutes",
                    namespaced: true,
                },
                Source::Absent,
            )
            .with_extra(ExtraNamespace {
                plural: "secrets",
                namespace: "kruise-daemon-config".into(),
                annotation: Some(kruise_api::keys::IMAGEPULLJOB_SOURCE_KEY),
            });
        let pods = ObjectIndex::<Pod>::new();
        let got = caches.gather(&WorkloadKey::new("team-a", "pull"), &pods);
        assert_eq!(
            names(&got),
            [
                "NodeImage:/nœud-a",
                "NodeImage:/nœud-b",
                "Secret:kruise-daemon-config/copy-1",
                "Secret:team-a/pull-a",
                "Secret:team-a/pull-z",
            ]
        );
        assert_eq!(got[0]["apiVersion"], json!("apps.kruise.io/v1alpha1"));
        // A cluster-scoped workload gets the cluster-scoped kinds and the extra namespace only.
        let got = caches.gather(&WorkloadKey::new("", "x"), &pods);
        assert_eq!(
            names(&got),
            ["NodeImage:/nœud-a", "NodeImage:/nœud-b", "Secret:kruise-daemon-config/copy-1"]
        );
    }

    /// IPJ-5 in the operator: a NodeImage write planned at v1beta1 goes to the version the
    /// cluster serves (v1alpha1 with our CRDs); other kinds' writes are left as planned.
    #[test]
    fn ipj_5_nodeimage_writes_address_the_served_version() {
        use kruise_core::plan::{Action, ActionKind, Reason};
        use kruise_core::reconciler::PlannedWrite;
        use kruise_core::write::{ApiWrite, Subresource, Target};
        let ni = resource(&NODEIMAGE, "v1alpha1");
        let caches = RelatedCaches::new().with(NODEIMAGE, Source::Stores(ni, Vec::new()));
        let write = |api_version: &str, kind: &str| PlannedWrite {
            action: Action::new(ActionKind::UpdateStatus, None, None, Reason::StatusChanged),
            write: ApiWrite::MergePatch {
                target: Target {
                    api_version: api_version.into(),
                    kind: kind.into(),
                    namespace: None,
                    name: "nœud-1".into(),
                },
                subresource: Subresource::Main,
                patch: json!({"spec": {"images": {"nginx": {"tags": [{"tag": "1"}]}}}}),
            },
        };
        let mut writes =
            [write("apps.kruise.io/v1beta1", "NodeImage"), write("apps.kruise.io/v1beta1", "ImagePullJob")];
        caches.readdress(&mut writes);
        assert_eq!(writes[0].write.target().api_version, "apps.kruise.io/v1alpha1");
        assert_eq!(writes[1].write.target().api_version, "apps.kruise.io/v1beta1");
        // Served at the planned version: unchanged.
        let beta =
            RelatedCaches::new().with(NODEIMAGE, Source::Stores(resource(&NODEIMAGE, "v1beta1"), Vec::new()));
        let mut writes = [write("apps.kruise.io/v1beta1", "NodeImage")];
        beta.readdress(&mut writes);
        assert_eq!(writes[0].write.target().api_version, "apps.kruise.io/v1beta1");
    }

    /// Pods among the related kinds come from the pod cache, those of the workload's namespace.
    #[test]
    fn related_pods_come_from_the_pod_cache() {
        let pods = ObjectIndex::<Pod>::new();
        for (ns, name) in [("default", "web-b"), ("default", "web-a"), ("other", "web-c")] {
            let p: Pod = serde_json::from_value(json!({"metadata": {"name": name, "namespace": ns}}))
                .unwrap_or_default();
            pods.apply_arc(std::sync::Arc::new(p));
        }
        let caches = RelatedCaches::new().with(POD, Source::PodCache);
        let got = caches.gather(&WorkloadKey::new("default", "ro"), &pods);
        assert_eq!(names(&got), ["Pod:default/web-a", "Pod:default/web-b"]);
    }

    /// Discovery order: the named version if the group serves it, then the preferred, then
    /// the others; a group the cluster does not serve gives none.
    #[test]
    fn candidate_versions_prefer_the_named_one() {
        let gv = |v: &str| GroupVersionForDiscovery {
            group_version: format!("apps.kruise.io/{v}"),
            version: v.into(),
        };
        let groups = APIGroupList {
            groups: vec![APIGroup {
                name: "apps.kruise.io".into(),
                versions: vec![gv("v1beta1"), gv("v1alpha1")],
                preferred_version: Some(gv("v1alpha1")),
                server_address_by_client_cidrs: None,
            }],
        };
        assert_eq!(candidate_versions(&NODEIMAGE, &groups), ["v1beta1", "v1alpha1"]);
        let alpha_only = RelatedKind { version: "v1", ..NODEIMAGE };
        assert_eq!(candidate_versions(&alpha_only, &groups), ["v1alpha1", "v1beta1"]);
        let gw = RelatedKind { group: "gateway.networking.k8s.io", ..NODEIMAGE };
        assert!(candidate_versions(&gw, &groups).is_empty());
    }

    /// A namespaced object wakes the workloads of its namespace; a cluster-scoped one, or one
    /// in an extra namespace, wakes them all.
    #[test]
    fn related_changes_wake_workloads() {
        let all = || vec![WorkloadKey::new("a", "x"), WorkloadKey::new("b", "y"), WorkloadKey::new("", "z")];
        assert_eq!(woken(&SECRET, Some("a"), &[], all()), [WorkloadKey::new("a", "x")]);
        assert_eq!(woken(&NODEIMAGE, None, &[], all()).len(), 3);
        let extra = [ExtraNamespace { plural: "secrets", namespace: "d".into(), annotation: None }];
        assert_eq!(woken(&SECRET, Some("d"), &extra, all()).len(), 3);
        assert!(woken(&SECRET, Some("c"), &extra, all()).is_empty());
    }
}
