//! Pods and revisions a workload reads without owning them.
//!
//! Most kinds read the pods they own ([`crate::observe`]: owner reference, CS-24). Two do not:
//! - a **SidecarSet** (cluster-scoped) reads the pods its `spec.selector` matches in every
//!   namespace (SCS-40; the planner applies `namespaceSelector` and the injected-list check
//!   itself, with the Namespaces handed over as related objects), and its ControllerRevisions
//!   live in the revision namespace (`kruise-system` upstream, SCS-30), found by owner
//!   reference or, without a controller, by the `kruise.io/sidecarset-name` label;
//! - an **ImagePullJob** with `spec.podSelector` reads the pods of its namespace that match it
//!   (IPJ-12: the nodes running them are its targets).
//!
//! [`PodReads::of`] (declared in kruise-core, shared with the simulator) says which rule a
//! kind follows; [`amend`] replaces the owned lists of an
//! [`Observed`] snapshot accordingly, and [`selecting`] names the workloads a pod's change
//! concerns under those rules (so that such a pod wakes them).

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kruise_api::keys;
use serde_json::Value;

use crate::index::{ObjectIndex, Selectors, WorkloadIndex};
use crate::key::WorkloadKey;
use crate::observe::{Caches, Observed, has_controller, labels, references};

pub use kruise_core::reconciler::PodReads;

/// `(namespace, name)`: the order pods from several namespaces are handed over in.
fn by_namespace_and_name(pods: &mut [Pod]) {
    pods.sort_by(|a, b| {
        (a.metadata.namespace.as_deref(), a.metadata.name.as_deref())
            .cmp(&(b.metadata.namespace.as_deref(), b.metadata.name.as_deref()))
    });
}

/// The pods a workload reads under `rule` from `pods`, by its cached `selectors`
/// ([`Selectors::reads`]; `None` for [`PodReads::Owned`]: the owned list
/// [`crate::observe::observe`] gathers stands). An absent, empty or invalid selector reads
/// no pod.
pub fn pods_read(
    rule: PodReads,
    selectors: &Selectors,
    key: &WorkloadKey,
    pods: &ObjectIndex<Pod>,
) -> Option<Vec<Pod>> {
    let namespace = match rule {
        PodReads::Owned => return None,
        PodReads::SelectorEverywhere => None,
        PodReads::PodSelectorInNamespace => Some(key.namespace.as_str()),
    };
    let Some(selector) = &selectors.reads else { return Some(Vec::new()) };
    let mut out: Vec<Pod> = pods
        .state()
        .into_iter()
        .filter(|p| namespace.is_none_or(|ns| p.metadata.namespace.as_deref() == Some(ns)))
        .filter(|p| selector.matches(labels(&p.metadata)))
        .map(|p| (*p).clone())
        .collect();
    by_namespace_and_name(&mut out);
    Some(out)
}

/// Replaces the owned pods (and, for a SidecarSet, the revisions) of `observed` with what
/// its kind reads (see the module docs). Owned kinds are left as gathered.
pub fn amend<W>(observed: &mut Observed<W>, caches: &Caches<W>)
where
    W: kruise_api::KruiseResource + kube::Resource<DynamicType = ()> + 'static,
{
    let rule = PodReads::of_resource::<W>();
    let selectors = caches.selectors.selectors(&*observed.workload);
    if let Some(pods) = pods_read(rule, &selectors, &observed.key, caches.pods.objects()) {
        observed.listed = Some(pods);
    }
    if rule == PodReads::SelectorEverywhere {
        let uid = observed.uid.as_str();
        let name = observed.key.name.as_str();
        let mut revisions: Vec<_> = caches
            .revisions
            .state()
            .into_iter()
            .filter(|r| {
                let m = &r.metadata;
                let labelled = m.labels.as_ref().and_then(|l| l.get(keys::SIDECARSET_NAME_LABEL))
                    == Some(&name.to_owned());
                references(m, uid) || (!has_controller(m) && labelled)
            })
            .map(|r| (*r).clone())
            .collect();
        revisions.sort_by(|a, b| {
            (a.metadata.namespace.as_deref(), a.metadata.name.as_deref())
                .cmp(&(b.metadata.namespace.as_deref(), b.metadata.name.as_deref()))
        });
        observed.revisions = revisions;
    }
}

/// The workloads of kind `W` that read the pod with `meta` by selector (a SidecarSet
/// matching it anywhere, an ImagePullJob whose `podSelector` matches it in its namespace),
/// from the selectors `index` caches per workload version: nothing is serialised. Empty for
/// kinds that read owned pods. A terminating pod still wakes them (it leaves their counts).
pub fn selecting<W: k8s_openapi::Resource>(meta: &ObjectMeta, index: &WorkloadIndex) -> Vec<WorkloadKey> {
    let rule = PodReads::of_resource::<W>();
    if rule == PodReads::Owned {
        return Vec::new();
    }
    index.reading(rule, meta.namespace.as_deref().unwrap_or_default(), labels(meta))
}

/// The JSON form of a cached pod as a related object (`apiVersion: v1`, `kind: Pod`): kinds
/// that read pods among their related objects (a Rollout) get them from the pod cache
/// instead of a second watch of every pod.
pub fn pod_json(pod: &Pod) -> Value {
    let mut v = serde_json::to_value(pod).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        m.insert("apiVersion".into(), Value::from("v1"));
        m.insert("kind".into(), Value::from("Pod"));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use kruise_api::apps::v1beta1::{ImagePullJob, SidecarSet};
    use kube::runtime::watcher;
    use serde_json::json;

    fn pod(ns: &str, name: &str, app: &str, owner: Option<&str>) -> Pod {
        let mut v = json!({"metadata": {"name": name, "namespace": ns, "labels": {"app": app}, "uid": format!("uid-{name}")}});
        if let Some(o) = owner {
            v["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet", "name": o, "uid": "cs", "controller": true}]);
        }
        serde_json::from_value(v).unwrap_or_default()
    }

    fn pods(list: &[Pod]) -> ObjectIndex<Pod> {
        let index = ObjectIndex::new();
        for p in list {
            index.apply_arc(std::sync::Arc::new(p.clone()));
        }
        index
    }

    fn sidecarset(selector: serde_json::Value) -> SidecarSet {
        serde_json::from_value(json!({
            "apiVersion": "apps.kruise.io/v1beta1", "kind": "SidecarSet",
            "metadata": {"name": "log-agent", "uid": "ss"},
            "spec": {"selector": selector, "containers": []}
        }))
        .unwrap_or_default()
    }

    /// SCS-40 in the adapter: a SidecarSet reads the pods its selector matches in every
    /// namespace, owned by other workloads or not, sorted by namespace then name; an empty
    /// selector reads none.
    #[test]
    fn scs_40_sidecarset_reads_pods_by_selector_across_namespaces() {
        let store = pods(&[
            pod("zeta", "web-1", "web", Some("web")),
            pod("alpha", "web-2", "web", None),
            pod("alpha", "db-1", "db", None),
        ]);
        let ss = sidecarset(json!({"matchLabels": {"app": "web"}}));
        let key = WorkloadKey::new("", "log-agent");
        let got = pods_read(PodReads::of_resource::<SidecarSet>(), &Selectors::of(&ss), &key, &store)
            .unwrap_or_default();
        let names: Vec<_> = got
            .iter()
            .map(|p| {
                format!(
                    "{}/{}",
                    p.metadata.namespace.clone().unwrap_or_default(),
                    p.metadata.name.clone().unwrap_or_default()
                )
            })
            .collect();
        assert_eq!(names, ["alpha/web-2", "zeta/web-1"]);
        let empty = sidecarset(json!({}));
        let empty = Selectors::of(&empty);
        assert_eq!(pods_read(PodReads::SelectorEverywhere, &empty, &key, &store).map(|v| v.len()), Some(0));
        assert_eq!(pods_read(PodReads::Owned, &Selectors::of(&ss), &key, &store), None);
    }

    /// IPJ-12 in the adapter: an ImagePullJob with a podSelector reads the matching pods of
    /// its own namespace only; without one it reads none.
    #[test]
    fn ipj_12_imagepulljob_reads_pods_of_its_namespace_by_pod_selector() {
        let store = pods(&[pod("team-a", "web-1", "web", Some("web")), pod("team-b", "web-2", "web", None)]);
        let job = |sel: Option<serde_json::Value>| -> ImagePullJob {
            let mut v = json!({"apiVersion": "apps.kruise.io/v1beta1", "kind": "ImagePullJob",
                "metadata": {"name": "pull", "namespace": "team-a"}, "spec": {"image": "nginx:1"}});
            if let Some(s) = sel {
                v["spec"]["podSelector"] = s;
            }
            serde_json::from_value(v).unwrap_or_default()
        };
        let key = WorkloadKey::new("team-a", "pull");
        let rule = PodReads::of_resource::<ImagePullJob>();
        assert_eq!(rule, PodReads::PodSelectorInNamespace);
        let selecting = Selectors::of(&job(Some(json!({"matchLabels": {"app": "web"}}))));
        let got = pods_read(rule, &selecting, &key, &store);
        let names: Vec<_> = got.unwrap_or_default().iter().filter_map(|p| p.metadata.name.clone()).collect();
        assert_eq!(names, ["web-1"]);
        assert_eq!(pods_read(rule, &Selectors::of(&job(None)), &key, &store).map(|v| v.len()), Some(0));
        let empty = Selectors::of(&job(Some(json!({}))));
        assert_eq!(pods_read(rule, &empty, &key, &store).map(|v| v.len()), Some(0), "empty selects none");
    }

    /// A pod's change wakes the SidecarSets selecting it whatever its namespace, and the
    /// ImagePullJobs of its namespace whose podSelector matches; never a non-matching one,
    /// and never through a kind that reads owned pods. Only cached selectors are read.
    #[test]
    fn pod_changes_wake_selecting_workloads() {
        let index = WorkloadIndex::new();
        index.apply(&watcher::Event::Apply(sidecarset(json!({"matchLabels": {"app": "web"}}))));
        let p = pod("ns-ü", "web-1", "web", Some("web"));
        assert_eq!(selecting::<SidecarSet>(&p.metadata, &index), [WorkloadKey::new("", "log-agent")]);
        let db = pod("ns-ü", "db-1", "db", None);
        assert!(selecting::<SidecarSet>(&db.metadata, &index).is_empty());
        assert!(selecting::<kruise_api::apps::v1beta1::CloneSet>(&p.metadata, &index).is_empty());

        let jobs = WorkloadIndex::new();
        let job: ImagePullJob = serde_json::from_value(json!({"apiVersion": "apps.kruise.io/v1beta1",
            "kind": "ImagePullJob", "metadata": {"name": "pull", "namespace": "ns-ü", "uid": "j"},
            "spec": {"image": "nginx:1", "podSelector": {"matchLabels": {"app": "web"}}}}))
        .unwrap_or_default();
        jobs.apply(&watcher::Event::Apply(job));
        assert_eq!(selecting::<ImagePullJob>(&p.metadata, &jobs), [WorkloadKey::new("ns-ü", "pull")]);
        let elsewhere = pod("other", "web-9", "web", None);
        assert!(selecting::<ImagePullJob>(&elsewhere.metadata, &jobs).is_empty(), "another namespace");
        assert!(selecting::<ImagePullJob>(&db.metadata, &jobs).is_empty());
    }

    #[test]
    fn pods_as_related_objects_carry_their_kind() {
        let v = pod_json(&pod("ns", "p", "a", None));
        assert_eq!((v["apiVersion"].clone(), v["kind"].clone()), (json!("v1"), json!("Pod")));
    }
}
