//! Building new pods and PVCs (CS-45..CS-47). Pure: the planner only names a pod and its
//! revision; adapters call [`new_pod`] when they carry out the create.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodReadinessGate, PodTemplateSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kruise_api::apps::v1beta1::CloneSet;
use kruise_api::keys;

use super::PlanError;
use super::pods::short_hash;
use super::revision::fnv1a64;

/// The instance id alphabet (CS-45): 27 characters, ids of five.
const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Number of distinct instance ids: 27^5 = 14,348,907 (CS-45).
pub const INSTANCE_ID_SPACE: usize = 27 * 27 * 27 * 27 * 27;

/// CS-45: `count` new instance ids not in `taken`, sorted. Same seed ⇒ same ids.
///
/// Bounded: asking for more than half of the ids `taken` leaves free is
/// [`PlanError::InstanceIdsExhausted`] instead of a search that may never end (the draws
/// stay cheap because the space is never filled). The planner asks for at most
/// [`MAX_CREATES_PER_PLAN`] ids per reconcile.
pub fn new_instance_ids(seed: u64, taken: &BTreeSet<&str>, count: usize) -> Result<Vec<String>, PlanError> {
    if count > INSTANCE_ID_SPACE.saturating_sub(taken.len()) / 2 {
        return Err(PlanError::InstanceIdsExhausted { wanted: count, taken: taken.len() });
    }
    let mut ids = BTreeSet::new();
    let mut n: u64 = 0;
    while ids.len() < count {
        let mut h = fnv1a64(&[&seed.to_le_bytes(), &n.to_le_bytes()]);
        let id: String = (0..5)
            .map(|_| {
                let c = char::from(ALPHABET[(h % 27) as usize]);
                h /= 27;
                c
            })
            .collect();
        if !taken.contains(id.as_str()) {
            ids.insert(id);
        }
        n += 1;
    }
    Ok(ids.into_iter().collect())
}

/// The most pods one plan creates (CS-48). Upstream issues a reconcile's creates in
/// slow-start batches and its scale expectations gate the next pass; a plan that would create
/// more names the first `MAX_CREATES_PER_PLAN` and requeues ([`Reason::ScaleUpLimited`](super::Reason::ScaleUpLimited)), so
/// a huge `replicas` costs bounded work per reconcile instead of pinning a worker.
pub const MAX_CREATES_PER_PLAN: usize = 1024;

/// The controller owner reference every pod and PVC of the CloneSet carries (CS-46).
pub fn owner_ref(cs: &CloneSet) -> OwnerReference {
    OwnerReference {
        api_version: "apps.kruise.io/v1beta1".into(),
        kind: "CloneSet".into(),
        name: cs.metadata.name.clone().unwrap_or_default(),
        uid: cs.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// CS-45: the PVC name for template `vct` and instance `id`.
pub fn pvc_name(vct: &PersistentVolumeClaim, cs_name: &str, id: &str) -> String {
    format!("{}-{cs_name}-{id}", vct.metadata.name.as_deref().unwrap_or_default())
}

/// CS-47: the PVC for template `vct` and instance `id`.
pub fn new_pvc(cs: &CloneSet, vct: &PersistentVolumeClaim, id: &str) -> PersistentVolumeClaim {
    let cs_name = cs.metadata.name.as_deref().unwrap_or_default();
    let mut pvc = vct.clone();
    let mut labels = pvc.metadata.labels.take().unwrap_or_default();
    if let Some(ml) = cs.spec.selector.as_ref().and_then(|s| s.match_labels.as_ref()) {
        labels.extend(ml.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    labels.insert(keys::CLONESET_INSTANCE_ID.into(), id.into());
    pvc.metadata = ObjectMeta {
        name: Some(pvc_name(vct, cs_name, id)),
        namespace: cs.metadata.namespace.clone(),
        labels: Some(labels),
        annotations: pvc.metadata.annotations.take(),
        owner_references: Some(vec![owner_ref(cs)]),
        ..Default::default()
    };
    pvc.status = None;
    pvc
}

/// CS-46: a new pod `<cs>-<id>` from `template` (the template of `revision`, CS-33), with
/// the revision labels, instance id, lifecycle `PreparingNormal`, the `InPlaceUpdateReady`
/// readiness gate, and one volume per VCT. `short_hash_label` is gate `CloneSetShortHash`.
pub fn new_pod(
    cs: &CloneSet,
    template: &PodTemplateSpec,
    revision: &str,
    id: &str,
    now: Timestamp,
    short_hash_label: bool,
) -> Pod {
    let cs_name = cs.metadata.name.as_deref().unwrap_or_default();
    let tmeta = template.metadata.clone().unwrap_or_default();
    let mut labels: BTreeMap<String, String> = tmeta.labels.unwrap_or_default();
    let hash = short_hash(revision).to_owned();
    labels.insert(
        keys::CONTROLLER_REVISION_HASH.into(),
        if short_hash_label { hash.clone() } else { revision.to_owned() },
    );
    labels.insert(keys::POD_TEMPLATE_HASH.into(), hash);
    labels.insert(keys::CLONESET_INSTANCE_ID.into(), id.into());
    labels.insert(keys::LIFECYCLE_STATE.into(), keys::lifecycle_state::PREPARING_NORMAL.into());
    let mut annotations = tmeta.annotations.unwrap_or_default();
    annotations.insert(keys::LIFECYCLE_TIMESTAMP.into(), now.to_string());
    let mut spec = template.spec.clone().unwrap_or_default();
    let gates = spec.readiness_gates.get_or_insert_with(Vec::new);
    if !gates.iter().any(|g| g.condition_type == keys::INPLACE_UPDATE_READY) {
        gates.push(PodReadinessGate { condition_type: keys::INPLACE_UPDATE_READY.into() });
    }
    if !cs.spec.volume_claim_templates.is_empty() {
        let mut volumes: Vec<Volume> = cs
            .spec
            .volume_claim_templates
            .iter()
            .map(|v| Volume {
                name: v.metadata.name.clone().unwrap_or_default(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: pvc_name(v, cs_name, id),
                    read_only: None,
                }),
                ..Default::default()
            })
            .collect();
        let vct_names: BTreeSet<String> = volumes.iter().map(|v| v.name.clone()).collect();
        volumes.extend(
            spec.volumes.take().unwrap_or_default().into_iter().filter(|v| !vct_names.contains(&v.name)),
        );
        spec.volumes = Some(volumes);
    }
    Pod {
        metadata: ObjectMeta {
            name: Some(format!("{cs_name}-{id}")),
            generate_name: Some(format!("{cs_name}-")),
            namespace: cs.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: Some(annotations),
            finalizers: tmeta.finalizers,
            owner_references: Some(vec![owner_ref(cs)]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}
