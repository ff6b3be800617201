//! CloneSet's side of the shared mechanisms: what [`crate::revision::resolve`] reads from a
//! CloneSet (CS-26..CS-30) and what a [`PodTable`](crate::podtable::PodTable) reads to claim
//! its pods (CS-24).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use kruise_api::apps::v1beta1::CloneSet;
use kruise_api::keys;
use serde_json::Value;

use crate::podtable::PodOwner;
use crate::revision::{Versioned, revision_data, vct_hash};

impl Versioned for CloneSet {
    fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }
    fn namespace(&self) -> Option<&str> {
        self.metadata.namespace.as_deref()
    }
    /// CS-26: `{"spec":{"template":<T + "$patch":"replace">}}`.
    fn revision_data(&self) -> Value {
        revision_data(&self.spec.template)
    }
    fn collision_count(&self) -> i32 {
        self.status.as_ref().and_then(|s| s.collision_count).unwrap_or(0)
    }
    fn current_revision(&self) -> &str {
        self.status.as_ref().map(|s| s.current_revision.as_str()).unwrap_or_default()
    }
    fn owner_reference(&self) -> OwnerReference {
        super::owner_ref(self)
    }
    fn revision_labels(&self) -> BTreeMap<String, String> {
        self.spec.template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default()
    }
    fn revision_annotations(&self) -> BTreeMap<String, String> {
        let mut a = self.metadata.annotations.clone().unwrap_or_default();
        a.extend(self.refreshed_annotations());
        a
    }
    /// CS-27, CS-28: the VCT hash, written on creation and refreshed on rollback reuse.
    fn refreshed_annotations(&self) -> BTreeMap<String, String> {
        [(keys::VOLUME_CLAIM_TEMPLATE_HASH.to_owned(), vct_hash(&self.spec.volume_claim_templates))].into()
    }
}

impl PodOwner for CloneSet {
    fn kind(&self) -> &str {
        "CloneSet"
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn selector(&self) -> Option<&LabelSelector> {
        self.spec.selector.as_ref()
    }
}
