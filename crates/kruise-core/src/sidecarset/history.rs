//! SidecarSet revision history (SCS-30..SCS-32) through the shared [`crate::revision`]
//! mechanism: the revision data of the five recorded spec fields, registration of the latest
//! revision (reuse on rollback, collisions), the custom-version label and truncation.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kruise_api::apps::v1beta1::SidecarSet;
use kruise_api::defaults::sidecarset::hash::sidecarset_hash;
use kruise_api::keys;
use serde_json::Value;

use super::records::pod_record;
use super::{Input, Matched, Plan, ss_reason};
use crate::plan::{Action, ActionKind, Reason, SidecarSetAction, SidecarSetReason};
use crate::revision::{RevisionWrite, Versioned, resolve};

/// A SidecarSet as the shared revision mechanism sees it.
pub(crate) struct Versions<'a> {
    pub ss: &'a SidecarSet,
    pub namespace: &'a str,
}

/// SCS-30: `{"spec":{"$patch":"replace", volumes, containers, initContainers,
/// imagePullSecrets, patchPodMetadata}}` (absent fields as `null`).
pub fn revision_data(ss: &SidecarSet) -> Value {
    let spec = serde_json::to_value(&ss.spec).unwrap_or(Value::Null);
    let get = |k: &str| spec.get(k).cloned().unwrap_or(Value::Null);
    serde_json::json!({"spec": {
        "$patch": "replace",
        "volumes": get("volumes"),
        "containers": get("containers"),
        "initContainers": get("initContainers"),
        "imagePullSecrets": get("imagePullSecrets"),
        "patchPodMetadata": get("patchPodMetadata"),
    }})
}

impl Versioned for Versions<'_> {
    fn name(&self) -> &str {
        self.ss.metadata.name.as_deref().unwrap_or_default()
    }
    fn namespace(&self) -> Option<&str> {
        Some(self.namespace)
    }
    fn revision_data(&self) -> Value {
        revision_data(self.ss)
    }
    fn collision_count(&self) -> i32 {
        self.ss.status.as_ref().and_then(|s| s.collision_count).unwrap_or(0)
    }
    fn current_revision(&self) -> &str {
        ""
    }
    fn owner_reference(&self) -> OwnerReference {
        OwnerReference {
            api_version: "apps.kruise.io/v1beta1".into(),
            kind: "SidecarSet".into(),
            name: self.name().to_owned(),
            uid: self.ss.metadata.uid.clone().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }
    fn revision_labels(&self) -> BTreeMap<String, String> {
        let mut l = self.ss.metadata.labels.clone().unwrap_or_default();
        l.insert(keys::SIDECARSET_NAME_LABEL.into(), self.name().to_owned());
        if !self.ss.spec.custom_version.is_empty() {
            l.insert(keys::SIDECARSET_CUSTOM_VERSION.into(), self.ss.spec.custom_version.clone());
        }
        l
    }
    fn revision_annotations(&self) -> BTreeMap<String, String> {
        self.ss.metadata.annotations.clone().unwrap_or_default()
    }
}

/// The SidecarSet with both SCS-6 hash annotations (computed when missing).
pub(crate) fn with_hashes(ss: &SidecarSet) -> SidecarSet {
    let mut ss = ss.clone();
    let a = ss.metadata.annotations.get_or_insert_with(Default::default);
    a.entry(keys::SIDECARSET_HASH.into())
        .or_insert_with(|| sidecarset_hash(&ss.spec.containers, &ss.spec.init_containers, false));
    a.entry(keys::SIDECARSET_HASH_WITHOUT_IMAGE.into())
        .or_insert_with(|| sidecarset_hash(&ss.spec.containers, &ss.spec.init_containers, true));
    ss
}

/// The outcome of registration.
pub(crate) struct Registered {
    pub latest: String,
    pub collision_count: i32,
}

/// SCS-31, SCS-32: registers the latest revision (create or bump), the custom-version label,
/// and truncates history, pushing the revision actions onto `plan`.
pub(crate) fn register(input: &Input<'_>, matched: &[Matched<'_>], plan: &mut Plan) -> Registered {
    let ss = input.sidecarset;
    let w = Versions { ss, namespace: input.revision_namespace };
    let revs = resolve(&w, input.revisions);
    let latest = revs.update_name().to_owned();
    let latest_rev = &revs.sorted[revs.update];
    match revs.write {
        Some(RevisionWrite::Create) => plan.actions.push(Action::new(
            ActionKind::CreateRevision { number: latest_rev.revision, collision_count: revs.collision_count },
            None,
            Some(&latest),
            Reason::NewRevision,
        )),
        Some(RevisionWrite::Bump) => plan.actions.push(Action::new(
            ActionKind::UpdateRevision { number: latest_rev.revision },
            None,
            Some(&latest),
            Reason::NewRevision,
        )),
        None => {}
    }
    let cv = &ss.spec.custom_version;
    let has_cv = latest_rev.metadata.labels.as_ref().and_then(|l| l.get(keys::SIDECARSET_CUSTOM_VERSION));
    if !cv.is_empty() && has_cv != Some(cv) {
        plan.actions.push(Action::new(
            ActionKind::SidecarSet(SidecarSetAction::LabelCustomVersion { version: cv.clone() }),
            None,
            Some(&latest),
            ss_reason(SidecarSetReason::CustomVersion),
        ));
    }
    truncate(ss, matched, &revs.sorted, revs.update, plan);
    Registered { latest, collision_count: revs.collision_count }
}

/// SCS-32: deletes the oldest revisions not in use until at most `max(1, limit)` remain.
fn truncate(
    ss: &SidecarSet,
    matched: &[Matched<'_>],
    sorted: &[ControllerRevision],
    latest: usize,
    plan: &mut Plan,
) {
    let limit = usize::try_from(ss.spec.revision_history_limit.unwrap_or(10).max(1)).unwrap_or(1);
    if sorted.len() <= limit {
        return;
    }
    let name = ss.metadata.name.as_deref().unwrap_or_default();
    let mut in_use: BTreeSet<String> = matched
        .iter()
        .map(|m| pod_record(m.pod, keys::SIDECARSET_HASH, name).controller_revision)
        .filter(|r| !r.is_empty())
        .collect();
    if let Some(r) = ss.spec.injection_strategy.revision.as_ref() {
        if let Some(n) = &r.revision_name {
            in_use.insert(n.clone());
        }
        if let Some(cv) = &r.custom_version
            && let Some(newest) = sorted.iter().rev().find(|x| {
                x.metadata.labels.as_ref().and_then(|l| l.get(keys::SIDECARSET_CUSTOM_VERSION)) == Some(cv)
            })
        {
            in_use.insert(newest.metadata.name.clone().unwrap_or_default());
        }
    }
    let mut left = sorted.len();
    for (i, r) in sorted.iter().enumerate() {
        if left <= limit {
            break;
        }
        let rn = r.metadata.name.as_deref().unwrap_or_default();
        if i == latest || i + 1 == sorted.len() || in_use.contains(rn) {
            continue;
        }
        plan.actions.push(Action::new(
            ActionKind::DeleteRevision,
            None,
            Some(rn),
            Reason::HistoryLimit { limit: i32::try_from(limit).unwrap_or(i32::MAX) },
        ));
        left -= 1;
    }
    if left > limit {
        plan.events.push(ss_reason(SidecarSetReason::HistoryLimitExceeded { limit, actual: left }));
    }
}
