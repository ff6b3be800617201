//! Revisions of a StatefulSet (ASTS-21..ASTS-23), through the one revision mechanism
//! ([`crate::revision`]): revision data `{"spec":{"template":..}}` with
//! `"$patch":"replace"`, the FNV-32 hash with the collision count, `<set>-<hash>` names,
//! update / current selection with rollback reuse, and history truncation. Only what differs
//! for a StatefulSet lives here: the owner reference (kind `StatefulSet`), no
//! volume-claim-template hash annotation, and the inputs read from the set.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kruise_api::apps::v1beta1::StatefulSet;
use serde_json::Value;

use crate::revision::{self as rev, Revisions, Versioned};

/// ASTS-21: what the shared resolver reads from a StatefulSet: its template's revision data,
/// `status.collisionCount` / `currentRevision`, the controller owner reference (kind
/// `StatefulSet`), the template labels and the set's annotations (no VCT-hash annotation).
impl Versioned for StatefulSet {
    fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }
    fn namespace(&self) -> Option<&str> {
        self.metadata.namespace.as_deref()
    }
    fn revision_data(&self) -> Value {
        rev::revision_data(&self.spec.template)
    }
    fn collision_count(&self) -> i32 {
        self.status.as_ref().and_then(|s| s.collision_count).unwrap_or(0)
    }
    fn current_revision(&self) -> &str {
        self.status.as_ref().map(|s| s.current_revision.as_str()).unwrap_or_default()
    }
    fn owner_reference(&self) -> OwnerReference {
        super::pods::set_owner_ref(self)
    }
    fn revision_labels(&self) -> BTreeMap<String, String> {
        self.spec.template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default()
    }
    fn revision_annotations(&self) -> BTreeMap<String, String> {
        self.metadata.annotations.clone().unwrap_or_default()
    }
}

/// ASTS-22: sorts the listed revisions, finds or mints the update revision (rollback reuse
/// bumps the number), and finds the current revision (`status.currentRevision`, else the
/// update revision), through the shared [`crate::revision::resolve`].
pub fn resolve(set: &StatefulSet, listed: &[ControllerRevision]) -> Revisions {
    rev::resolve(set, listed)
}

/// ASTS-23: names of revisions to delete: not current, not update, not named by any pod's
/// revision label, oldest first, beyond `limit`.
pub fn truncate_history<'r>(revs: &'r Revisions, pod_revisions: &[&str], limit: i32) -> Vec<&'r str> {
    rev::truncate_history(revs, pod_revisions, limit)
}

/// ASTS-21: the stored template of a revision.
pub fn template(r: &ControllerRevision) -> Option<k8s_openapi::api::core::v1::PodTemplateSpec> {
    rev::revision_template(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn set(image: &str) -> StatefulSet {
        let mut s = StatefulSet::default();
        s.metadata.name = Some("web".into());
        s.metadata.uid = Some("uid-1".into());
        s.spec.template = PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some([("app".into(), "web".into())].into()),
                ..Default::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "main".into(),
                    image: Some(image.into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        };
        s
    }

    #[test]
    fn asts_21_revision_name_data_and_owner() {
        let s = set("nginx:1");
        let r = resolve(&s, &[]);
        let created = &r.sorted[r.update];
        let name = created.metadata.name.as_deref().unwrap();
        assert!(name.starts_with("web-"), "{name}");
        assert_eq!(created.revision, 1);
        let owner = &created.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!((owner.kind.as_str(), owner.controller), ("StatefulSet", Some(true)));
        let data = &created.data.as_ref().unwrap().0;
        assert_eq!(data["spec"]["template"]["$patch"], "replace");
        assert!(
            created.metadata.annotations.as_ref().is_none_or(|a| a.is_empty()),
            "no CloneSet VCT hash annotation"
        );
        assert_eq!(template(created).unwrap().spec.unwrap().containers[0].image.as_deref(), Some("nginx:1"));
    }

    #[test]
    fn asts_22_equal_last_revision_is_reused_rollback_bumps() {
        let r1 = resolve(&set("nginx:1"), &[]);
        let rev1 = r1.sorted[r1.update].clone();
        let again = resolve(&set("nginx:1"), std::slice::from_ref(&rev1));
        assert!(again.write.is_none());
        let r2 = resolve(&set("nginx:2"), std::slice::from_ref(&rev1));
        let rev2 = r2.sorted[r2.update].clone();
        assert_eq!(rev2.revision, 2);
        let mut back = set("nginx:1");
        back.status = Some(kruise_api::apps::v1beta1::StatefulSetStatus {
            current_revision: rev2.metadata.name.clone().unwrap(),
            ..Default::default()
        });
        let rb = resolve(&back, &[rev1.clone(), rev2.clone()]);
        assert_eq!(rb.write, Some(rev::RevisionWrite::Bump));
        assert_eq!(rb.update_name(), rev1.metadata.name.as_deref().unwrap());
        assert_eq!(rb.sorted[rb.update].revision, 3);
        assert_eq!(rb.current_name(), rev2.metadata.name.as_deref().unwrap());
    }

    #[test]
    fn asts_23_history_keeps_live_revisions() {
        let mut listed = Vec::new();
        for i in 1..=4 {
            let r = resolve(&set(&format!("nginx:{i}")), &listed);
            listed.push(r.sorted[r.update].clone());
        }
        let r = resolve(&set("nginx:4"), &listed);
        let names: Vec<&str> = listed.iter().map(|r| r.metadata.name.as_deref().unwrap()).collect();
        let del = truncate_history(&r, &[names[1]], 1);
        assert_eq!(
            del,
            vec![names[0]],
            "rev 2 is live (pod), rev 4 is update and current; keep 1 of {{1,3}}"
        );
    }
}
