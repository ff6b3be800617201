//! The simulated API server's SidecarSet injection (spec `sidecarset.md` §5): every pod being
//! created, by any workload or by hand, passes through [`kruise_core::sidecarset::inject`]
//! over the SidecarSets in the store, as the operator's mutating webhook does on a cluster;
//! the RFC 6902 patch injection returns is applied to the pod as submitted.
//!
//! The pod's Namespace: the stored `Namespace` object's labels when there is one, otherwise
//! (the simulator does not require Namespace objects) a namespace carrying only its
//! `kubernetes.io/metadata.name` label, as `kruise inject` assumes. ControllerRevisions
//! labelled `kruise.io/sidecarset-name` (any namespace) serve `injectionStrategy.revision`.
//! The clock is the virtual time; the SCS-13 draw is seeded by the pod's namespace and name,
//! so a run is reproducible. Injection failing refuses the create (the webhook's
//! `failurePolicy` does not apply: the simulated webhook never fails to answer).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::v1beta1::SidecarSet;
use kruise_core::features::Features;
use kruise_core::sidecarset::{InjectInput, Operation, inject};
use serde_json::Value;

use crate::store::{ObjectKey, Store, str_at};
use crate::time::{SimTime, timestamp};

/// A stored SidecarSet as injection reads it (v1beta1, webhook defaults and hash annotations
/// applied), or `None` when it does not decode.
fn sidecarset_of(v: &Value) -> Option<SidecarSet> {
    let mut ss: SidecarSet = serde_json::from_value(v.clone()).ok()?;
    kruise_api::defaults::default(&mut ss);
    Some(ss)
}

/// Injects the sidecars of the stored SidecarSets into `pod` (JSON, being created in
/// `store`) at virtual time `now`. `Err` is the refusal message.
pub fn inject_sidecars(store: &Store, pod: &mut Value, now: SimTime) -> Result<(), String> {
    let sidecarsets: Vec<SidecarSet> =
        store.list("apps.kruise.io", "SidecarSet").filter_map(|(_, v)| sidecarset_of(v)).collect();
    if sidecarsets.is_empty() {
        return Ok(());
    }
    let typed: Pod = serde_json::from_value(pod.clone())
        .map_err(|e| format!("sidecarset injection: decoding the pod: {e}"))?;
    let ns = typed.metadata.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or("default");
    let labels: BTreeMap<String, String> = match store.get(&ObjectKey::new("v1", "Namespace", "", ns)) {
        Some(n) => n
            .pointer("/metadata/labels")
            .and_then(|l| serde_json::from_value(l.clone()).ok())
            .unwrap_or_default(),
        None => BTreeMap::from([(kruise_api::keys::NAMESPACE_METADATA_NAME.to_owned(), ns.to_owned())]),
    };
    let revisions: Vec<ControllerRevision> = store
        .list("apps", "ControllerRevision")
        .filter(|(_, v)| {
            v.pointer("/metadata/labels")
                .and_then(|l| l.get(kruise_api::keys::SIDECARSET_NAME_LABEL))
                .is_some()
        })
        .filter_map(|(_, v)| serde_json::from_value(v.clone()).ok())
        .collect();
    let name = str_at(pod, &["metadata", "name"]).unwrap_or_default();
    let injection = inject(&InjectInput {
        pod: &typed,
        operation: Operation::Create,
        namespace_labels: Some(&labels),
        sidecarsets: &sidecarsets,
        revisions: &revisions,
        now: timestamp(now),
        seed: kruise_api::hash::fnv1a64(&[ns.as_bytes(), b"/", name.as_bytes()]),
        features: Features::default(),
    })
    .map_err(|e| format!("sidecarset injection: {e}"))?;
    if injection.patch.is_empty() {
        return Ok(());
    }
    let ops = serde_json::to_value(&injection.patch).map_err(|e| format!("sidecarset injection: {e}"))?;
    kruise_core::write::json_patch::apply(pod, &ops).map_err(|e| format!("sidecarset injection: {e}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sidecarset(selector_app: &str) -> Value {
        json!({"apiVersion": "apps.kruise.io/v1beta1", "kind": "SidecarSet",
            "metadata": {"name": "logs"},
            "spec": {"selector": {"matchLabels": {"app": selector_app}},
                "containers": [{"name": "agent", "image": "agent:1"}]}})
    }

    fn pod(ns: &str, app: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": ns, "labels": {"app": app}},
            "spec": {"containers": [{"name": "main", "image": "app:1"}]}})
    }

    fn names(p: &Value) -> Vec<&str> {
        p["spec"]["containers"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect()
    }

    /// SCS-11: a selected pod gets the sidecar and the records; others are left alone; a
    /// stored Namespace's labels are what `namespaceSelector` sees.
    #[test]
    fn scs_11_store_sidecarsets_are_injected_into_selected_pods() {
        let mut s = Store::new(1);
        s.create(sidecarset("web"), 0).unwrap();
        let mut p = pod("shop", "web");
        inject_sidecars(&s, &mut p, 1000).unwrap();
        assert_eq!(names(&p), ["agent", "main"], "BeforeAppContainer by default");
        assert_eq!(p["metadata"]["annotations"]["kruise.io/sidecarset-injected-list"], json!("logs"));
        let mut other = pod("shop", "batch");
        inject_sidecars(&s, &mut other, 1000).unwrap();
        assert_eq!(names(&other), ["main"]);

        let mut scoped = sidecarset("web");
        scoped["metadata"]["name"] = json!("scoped");
        scoped["spec"]["namespaceSelector"] = json!({"matchLabels": {"mesh": "on"}});
        s.create(scoped, 0).unwrap();
        s.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mesh", "labels": {"mesh": "on"}}}), 0)
            .unwrap();
        let mut a = pod("shop", "web");
        inject_sidecars(&s, &mut a, 1000).unwrap();
        assert_eq!(a["metadata"]["annotations"]["kruise.io/sidecarset-injected-list"], json!("logs"));
        let mut b = pod("mesh", "web");
        inject_sidecars(&s, &mut b, 1000).unwrap();
        assert_eq!(b["metadata"]["annotations"]["kruise.io/sidecarset-injected-list"], json!("logs,scoped"));
    }

    /// Pods pass the step when the store creates them; an injection error refuses the create.
    #[test]
    fn store_create_injects_and_refuses_on_injection_errors() {
        let mut s = Store::new(1);
        s.create(sidecarset("web"), 0).unwrap();
        s.create(pod("shop", "web"), 0).unwrap();
        let stored = s.get(&ObjectKey::pod("shop", "p")).unwrap();
        assert_eq!(names(stored), ["agent", "main"]);
        let mut bad = pod("shop", "web");
        bad["metadata"]["name"] = json!("q");
        bad["metadata"]["annotations"] = json!({"kruise.io/sidecarset-hash": "not json"});
        let e = s.create(bad, 0).unwrap_err().to_string();
        assert!(e.contains("sidecarset injection") && e.contains("kruise.io/sidecarset-hash"), "{e}");
        assert!(s.get(&ObjectKey::pod("shop", "q")).is_none());
    }
}
