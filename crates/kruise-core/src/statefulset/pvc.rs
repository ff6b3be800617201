//! PersistentVolumeClaims (ASTS-17..ASTS-20, ASTS-47): stable names per claim template and
//! ordinal, the PVC a new pod needs, stale PVCs that block creation, the owner references the
//! retention policy asks for, and the resize predicates of `volumeClaimUpdateStrategy`.

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kruise_api::apps::v1beta1::{StatefulSet, pvc_retention_policy};

/// ASTS-17: `<template>-<set>-<ordinal>`.
pub fn pvc_name(template: &str, set: &str, o: i64) -> String {
    format!("{template}-{set}-{o}")
}

/// ASTS-17: the PVC of claim template `t` for ordinal `o`: template spec, template labels
/// overlaid with `selector.matchLabels` (the selector wins), the set's namespace.
pub fn new_pvc(set: &StatefulSet, t: &PersistentVolumeClaim, o: i64) -> PersistentVolumeClaim {
    let set_name = set.metadata.name.as_deref().unwrap_or_default();
    let tname = t.metadata.name.as_deref().unwrap_or_default();
    let mut labels = t.metadata.labels.clone().unwrap_or_default();
    if let Some(ml) = set.spec.selector.as_ref().and_then(|s| s.match_labels.as_ref()) {
        labels.extend(ml.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(pvc_name(tname, set_name, o)),
            namespace: set.metadata.namespace.clone(),
            labels: (!labels.is_empty()).then_some(labels),
            annotations: t.metadata.annotations.clone(),
            ..Default::default()
        },
        spec: t.spec.clone(),
        status: None,
    }
}

/// ASTS-20: the retention policy as two booleans `(when_scaled_delete, when_deleted_delete)`.
/// A nil policy, the gate off, or any unknown value behaves as Retain/Retain.
pub fn policy(set: &StatefulSet, auto_delete_pvc: bool) -> (bool, bool) {
    let Some(p) = set.spec.persistent_volume_claim_retention_policy.as_ref().filter(|_| auto_delete_pvc)
    else {
        return (false, false);
    };
    let read = |v: Option<&str>| match v {
        None | Some("") | Some(pvc_retention_policy::RETAIN) => Some(false),
        Some(pvc_retention_policy::DELETE) => Some(true),
        Some(_) => None,
    };
    match (read(p.when_scaled.as_deref()), read(p.when_deleted.as_deref())) {
        (Some(s), Some(d)) => (s, d),
        _ => (false, false),
    }
}

/// ASTS-20: which owner references a PVC must carry: `(set_ref, pod_ref)`.
pub fn required_refs(policy: (bool, bool), scaled_down: bool) -> (bool, bool) {
    let (when_scaled_delete, when_deleted_delete) = policy;
    match (when_scaled_delete, when_deleted_delete, scaled_down) {
        (false, false, _) => (false, false),
        (false, true, _) => (true, false),
        (true, false, sd) => (false, sd),
        (true, true, sd) => (!sd, sd),
    }
}

fn has_ref(pvc: &PersistentVolumeClaim, uid: &str) -> bool {
    !uid.is_empty() && pvc.metadata.owner_references.iter().flatten().any(|r| r.uid == uid)
}

/// ASTS-20: the PVC's owner references match the policy for this pod (matched by UID).
pub fn owner_refs_match(
    pvc: &PersistentVolumeClaim,
    set: &StatefulSet,
    pod: &Pod,
    policy: (bool, bool),
    scaled_down: bool,
) -> bool {
    let (want_set, want_pod) = required_refs(policy, scaled_down);
    let set_uid = set.metadata.uid.as_deref().unwrap_or_default();
    let pod_uid = pod.metadata.uid.as_deref().unwrap_or_default();
    has_ref(pvc, set_uid) == want_set && (pod_uid.is_empty() || has_ref(pvc, pod_uid) == want_pod)
}

/// ASTS-20: the owner references the PVC should carry: unrelated references kept, the set and
/// pod references added (non-controller) or removed as the policy says.
pub fn fixed_owner_refs(
    pvc: &PersistentVolumeClaim,
    set: &StatefulSet,
    pod: &Pod,
    policy: (bool, bool),
    scaled_down: bool,
) -> Vec<OwnerReference> {
    let (want_set, want_pod) = required_refs(policy, scaled_down);
    let set_uid = set.metadata.uid.clone().unwrap_or_default();
    let pod_uid = pod.metadata.uid.clone().unwrap_or_default();
    let mut refs: Vec<OwnerReference> = pvc
        .metadata
        .owner_references
        .iter()
        .flatten()
        .filter(|r| (r.uid != set_uid || want_set) && (r.uid != pod_uid || want_pod))
        .cloned()
        .collect();
    if want_set && !set_uid.is_empty() && !refs.iter().any(|r| r.uid == set_uid) {
        refs.push(OwnerReference {
            api_version: "apps.kruise.io/v1beta1".into(),
            kind: "StatefulSet".into(),
            name: set.metadata.name.clone().unwrap_or_default(),
            uid: set_uid,
            controller: None,
            block_owner_deletion: None,
        });
    }
    if want_pod && !pod_uid.is_empty() && !refs.iter().any(|r| r.uid == pod_uid) {
        refs.push(OwnerReference {
            api_version: "v1".into(),
            kind: "Pod".into(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod_uid,
            controller: None,
            block_owner_deletion: None,
        });
    }
    refs
}

/// ASTS-19: a PVC is stale for pod `pod_name` (uid `pod_uid`, `None` for a pod not yet
/// created) when it carries an owner reference with that name and another UID.
pub fn is_stale(pvc: &PersistentVolumeClaim, pod_name: &str, pod_uid: Option<&str>) -> bool {
    pvc.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|r| r.kind == "Pod" && r.name == pod_name && Some(r.uid.as_str()) != pod_uid)
}

/// A quantity's value in base units, read by the one quantity parser
/// ([`kruise_api::validation::pod::parse_quantity`]).
fn quantity_bytes(q: &Quantity) -> Option<f64> {
    kruise_api::validation::pod::parse_quantity(&q.0)
}

fn storage_request(pvc: &PersistentVolumeClaim) -> Option<f64> {
    let q = pvc.spec.as_ref()?.resources.as_ref()?.requests.as_ref()?.get("storage")?;
    quantity_bytes(q)
}

/// ASTS-47 predicates of one PVC against its claim template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResizeFacts {
    /// Equal storageClassName when both set, identical accessModes.
    pub compatible_without_size: bool,
    /// Compatible without size and PVC request ≥ template request.
    pub compatible: bool,
    /// `status.capacity.storage ≥ spec.resources.requests.storage`.
    pub ready: bool,
    /// Compatible without size and not (PVC request < template request).
    pub matched: bool,
    /// Compatible and (ready or condition `FileSystemResizePending=True`).
    pub resize_complete: bool,
}

/// ASTS-47: the resize predicates of `pvc` for template `t`.
pub fn resize_facts(pvc: &PersistentVolumeClaim, t: &PersistentVolumeClaim) -> ResizeFacts {
    let (ps, ts) = (pvc.spec.as_ref(), t.spec.as_ref());
    let class = |s: Option<&k8s_openapi::api::core::v1::PersistentVolumeClaimSpec>| {
        s.and_then(|s| s.storage_class_name.clone())
    };
    let modes = |s: Option<&k8s_openapi::api::core::v1::PersistentVolumeClaimSpec>| {
        s.and_then(|s| s.access_modes.clone()).unwrap_or_default()
    };
    let same_class = match (class(ps), class(ts)) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    };
    let compatible_without_size = same_class && modes(ps) == modes(ts);
    let (have, want) = (storage_request(pvc), storage_request(t));
    let smaller = matches!((have, want), (Some(h), Some(w)) if h < w);
    let compatible = compatible_without_size && !smaller;
    let capacity = pvc
        .status
        .as_ref()
        .and_then(|s| s.capacity.as_ref())
        .and_then(|c| c.get("storage"))
        .and_then(quantity_bytes);
    let ready = matches!((capacity, have), (Some(c), Some(h)) if c >= h) || have.is_none();
    let fs_pending = pvc
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .unwrap_or_default()
        .iter()
        .any(|c| c.type_ == "FileSystemResizePending" && c.status == "True");
    ResizeFacts {
        compatible_without_size,
        compatible,
        ready,
        matched: compatible_without_size && !smaller,
        resize_complete: compatible && (ready || fs_pending),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{PersistentVolumeClaimSpec, VolumeResourceRequirements};
    use kruise_api::apps::v1beta1::StatefulSetPersistentVolumeClaimRetentionPolicy;

    fn set(scaled: &str, deleted: &str) -> StatefulSet {
        let mut s = StatefulSet::default();
        s.metadata.name = Some("web".into());
        s.metadata.uid = Some("set-uid".into());
        s.spec.persistent_volume_claim_retention_policy =
            Some(StatefulSetPersistentVolumeClaimRetentionPolicy {
                when_scaled: Some(scaled.into()),
                when_deleted: Some(deleted.into()),
            });
        s
    }

    fn pod() -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some("web-0".into()),
                uid: Some("pod-uid".into()),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn pvc(refs: &[(&str, &str, &str)]) -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            metadata: ObjectMeta {
                name: Some("data-web-0".into()),
                owner_references: Some(
                    refs.iter()
                        .map(|(kind, name, uid)| OwnerReference {
                            kind: (*kind).into(),
                            name: (*name).into(),
                            uid: (*uid).into(),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn asts_17_pvc_name_and_labels() {
        assert_eq!(pvc_name("data", "web", 3), "data-web-3");
        let mut s = set("Retain", "Retain");
        s.spec.selector = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
            match_labels: Some([("app".to_owned(), "web".to_owned())].into()),
            ..Default::default()
        });
        let mut t = PersistentVolumeClaim::default();
        t.metadata.name = Some("data".into());
        t.metadata.labels =
            Some([("app".to_owned(), "other".to_owned()), ("x".to_owned(), "y".to_owned())].into());
        let p = new_pvc(&s, &t, 2);
        assert_eq!(p.metadata.name.as_deref(), Some("data-web-2"));
        let l = p.metadata.labels.unwrap();
        assert_eq!(l.get("app").map(String::as_str), Some("web"), "selector wins");
        assert_eq!(l.get("x").map(String::as_str), Some("y"));
    }

    #[test]
    fn asts_20_retention_table() {
        let cases = [
            (("Retain", "Retain"), false, (false, false)),
            (("Retain", "Retain"), true, (false, false)),
            (("Retain", "Delete"), false, (true, false)),
            (("Retain", "Delete"), true, (true, false)),
            (("Delete", "Retain"), false, (false, false)),
            (("Delete", "Retain"), true, (false, true)),
            (("Delete", "Delete"), false, (true, false)),
            (("Delete", "Delete"), true, (false, true)),
            (("Bogus", "Delete"), true, (false, false)),
        ];
        for ((scaled, deleted), down, want) in cases {
            let s = set(scaled, deleted);
            assert_eq!(required_refs(policy(&s, true), down), want, "{scaled}/{deleted} down={down}");
        }
        assert_eq!(policy(&set("Delete", "Delete"), false), (false, false), "gate off = Retain/Retain");
        assert_eq!(policy(&StatefulSet::default(), true), (false, false), "nil policy = Retain/Retain");
    }

    #[test]
    fn asts_20_owner_refs_fixed_keeping_unrelated_refs() {
        let s = set("Delete", "Delete");
        let p = pod();
        let claim = pvc(&[("StatefulSet", "web", "set-uid"), ("Foo", "x", "foo-uid")]);
        let pol = policy(&s, true);
        assert!(owner_refs_match(&claim, &s, &p, pol, false));
        assert!(!owner_refs_match(&claim, &s, &p, pol, true));
        let fixed = fixed_owner_refs(&claim, &s, &p, pol, true);
        let uids: Vec<&str> = fixed.iter().map(|r| r.uid.as_str()).collect();
        assert_eq!(uids, vec!["foo-uid", "pod-uid"]);
        assert!(fixed.iter().all(|r| r.controller.is_none()));
    }

    #[test]
    fn asts_19_stale_pvc_has_a_pod_ref_with_another_uid() {
        let claim = pvc(&[("Pod", "web-0", "old-uid")]);
        assert!(is_stale(&claim, "web-0", None));
        assert!(is_stale(&claim, "web-0", Some("new-uid")));
        assert!(!is_stale(&claim, "web-0", Some("old-uid")));
        assert!(!is_stale(&claim, "web-1", None));
    }

    fn sized(req: &str, cap: Option<&str>) -> PersistentVolumeClaim {
        PersistentVolumeClaim {
            spec: Some(PersistentVolumeClaimSpec {
                access_modes: Some(vec!["ReadWriteOnce".into()]),
                resources: Some(VolumeResourceRequirements {
                    requests: Some([("storage".to_owned(), Quantity(req.into()))].into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            status: cap.map(|c| k8s_openapi::api::core::v1::PersistentVolumeClaimStatus {
                capacity: Some([("storage".to_owned(), Quantity(c.into()))].into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn asts_47_resize_predicates() {
        let t = sized("2Gi", None);
        let f = resize_facts(&sized("1Gi", Some("1Gi")), &t);
        assert!(f.compatible_without_size && !f.compatible && !f.matched && !f.resize_complete);
        let f = resize_facts(&sized("2Gi", Some("1Gi")), &t);
        assert!(f.compatible && f.matched && !f.ready && !f.resize_complete);
        let f = resize_facts(&sized("2048Mi", Some("2Gi")), &t);
        assert!(f.compatible && f.ready && f.resize_complete);
        let mut other = sized("2Gi", Some("2Gi"));
        other.spec.as_mut().unwrap().access_modes = Some(vec!["ReadWriteMany".into()]);
        assert!(!resize_facts(&other, &t).compatible_without_size);
    }
}
