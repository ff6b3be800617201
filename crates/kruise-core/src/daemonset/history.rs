//! Revisions of an Advanced DaemonSet (ADS-8..ADS-10): revision data and match, the history
//! constructed every pass (current revision, duplicates, number bump, hash label), and the
//! clean-up at the end of a complete pass. Cost: O(revisions × template size + pods).

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use kruise_api::apps::v1beta1::DaemonSet;
use kruise_api::keys;
use serde_json::Value;

use crate::plan::{Action, ActionKind, DaemonSetAction, DaemonSetReason, PodPatch, Reason};
use crate::revision::{revision_data, revision_hash, revision_name};

/// One revision as the planner reads it.
#[derive(Clone, Debug)]
pub(crate) struct Rev<'a> {
    pub name: &'a str,
    /// Its `controller-revision-hash` label (its name when the label is missing, ADS-9).
    pub hash: &'a str,
    pub number: i64,
    pub data: Option<&'a Value>,
}

/// The outcome of ADS-9.
#[derive(Clone, Debug)]
pub(crate) struct History<'a> {
    /// The pass's hash: the current revision's hash label.
    pub hash: String,
    /// The current revision's name.
    pub current_name: String,
    /// The current revision data (ADS-8).
    pub data: Value,
    /// `status.collisionCount` to write.
    pub collision_count: i32,
    /// Old (non-matching) revisions, ascending by number, then name.
    pub old: Vec<Rev<'a>>,
    /// Revision writes (and pod relabels of duplicates), in order.
    pub actions: Vec<Action>,
}

fn ds_rev(r: &ControllerRevision) -> Rev<'_> {
    let name = r.metadata.name.as_deref().unwrap_or_default();
    let hash = r
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(keys::CONTROLLER_REVISION_HASH))
        .map_or(name, String::as_str);
    Rev { name, hash, number: r.revision, data: r.data.as_ref().map(|d| &d.0) }
}

/// ADS-9: the revision object for a DaemonSet's template (labels: template labels plus the
/// hash; annotations: the DaemonSet's; controller owner reference).
pub fn new_revision(
    ds: &DaemonSet,
    data: Value,
    hash: &str,
    name: String,
    number: i64,
) -> ControllerRevision {
    let mut labels = ds.spec.template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
    labels.insert(keys::CONTROLLER_REVISION_HASH.to_owned(), hash.to_owned());
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: ds.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: ds.metadata.annotations.clone(),
            owner_references: Some(vec![owner_ref(ds)]),
            ..Default::default()
        },
        data: Some(RawExtension(data)),
        revision: number,
    }
}

/// The controller owner reference of objects the DaemonSet creates.
pub fn owner_ref(ds: &DaemonSet) -> OwnerReference {
    OwnerReference {
        api_version: "apps.kruise.io/v1beta1".into(),
        kind: "DaemonSet".into(),
        name: ds.metadata.name.clone().unwrap_or_default(),
        uid: ds.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// ADS-8..ADS-9: constructs the history. `pods` are the DaemonSet's pods (for the relabel of
/// duplicates).
pub(crate) fn construct<'a>(
    ds: &DaemonSet,
    name: &str,
    revisions: &'a [ControllerRevision],
    pods: &[&k8s_openapi::api::core::v1::Pod],
) -> History<'a> {
    let data = revision_data(&ds.spec.template);
    let mut actions = Vec::new();
    let mut revs: Vec<Rev<'a>> = revisions.iter().map(ds_rev).collect();
    revs.sort_by(|a, b| a.number.cmp(&b.number).then_with(|| a.name.cmp(b.name)));
    // ADS-9: a revision without the hash label gets its own name as the label.
    for r in revisions {
        let lacks =
            r.metadata.labels.as_ref().is_none_or(|l| !l.contains_key(keys::CONTROLLER_REVISION_HASH));
        if lacks {
            let n = r.metadata.name.as_deref().unwrap_or_default();
            actions.push(Action::new(
                ActionKind::DaemonSet(DaemonSetAction::LabelRevision { hash: n.to_owned() }),
                None,
                Some(n),
                Reason::DaemonSet(DaemonSetReason::RevisionHashLabel),
            ));
        }
    }
    let (current, old): (Vec<Rev<'a>>, Vec<Rev<'a>>) = revs.into_iter().partition(|r| r.data == Some(&data));
    let next = old.iter().map(|r| r.number).max().map_or(1, |m| m.saturating_add(1));
    let mut collision_count = ds.status.as_ref().and_then(|s| s.collision_count).unwrap_or(0);
    let (current_name, hash, number) = match current.last() {
        None => {
            // Deviation (ADS-9): a name clash with an old revision bumps the collision count and
            // tries again in this pass instead of failing the pass.
            let taken: BTreeSet<&str> = old.iter().map(|r| r.name).collect();
            let mut h = revision_hash(&data, collision_count);
            let mut n = revision_name(name, &h);
            while taken.contains(n.as_str()) && collision_count < i32::MAX {
                collision_count += 1;
                h = revision_hash(&data, collision_count);
                n = revision_name(name, &h);
            }
            actions.push(Action::new(
                ActionKind::CreateRevision { number: next, collision_count },
                None,
                Some(&n),
                Reason::NewRevision,
            ));
            (n, h, next)
        }
        Some(kept) => {
            // ADS-9: duplicates of the current data: keep the highest number, delete the rest.
            for dup in &current[..current.len() - 1] {
                // Deviation (ADS-9, §10 q5): only pods carrying a duplicate's hash are relabelled
                // (upstream relabels every pod whose hash differs, marking old pods updated).
                for p in pods {
                    let label =
                        p.metadata.labels.as_ref().and_then(|l| l.get(keys::CONTROLLER_REVISION_HASH));
                    if label.map(String::as_str) == Some(dup.hash) && dup.hash != kept.hash {
                        let mut patch = PodPatch::default();
                        patch
                            .labels
                            .insert(keys::CONTROLLER_REVISION_HASH.into(), Some(kept.hash.to_owned()));
                        actions.push(Action::new(
                            ActionKind::PatchPod { patch },
                            p.metadata.name.as_deref(),
                            Some(kept.name),
                            Reason::DaemonSet(DaemonSetReason::DuplicateRevision),
                        ));
                    }
                }
                actions.push(Action::new(
                    ActionKind::DeleteRevision,
                    None,
                    Some(dup.name),
                    Reason::DaemonSet(DaemonSetReason::DuplicateRevision),
                ));
            }
            (kept.name.to_owned(), kept.hash.to_owned(), kept.number)
        }
    };
    if !current.is_empty() && number < next {
        actions.push(Action::new(
            ActionKind::UpdateRevision { number: next },
            None,
            Some(&current_name),
            Reason::NewRevision,
        ));
    }
    History { hash, current_name, data, collision_count, old, actions }
}

/// ADS-10: old revisions to delete: ascending by number, skipping those whose hash some pod
/// carries, until `len(old) - keep` are chosen.
pub(crate) fn cleanup<'r>(old: &'r [Rev<'_>], pod_hashes: &BTreeSet<&str>, keep: i32) -> Vec<&'r str> {
    let keep = usize::try_from(keep.max(0)).unwrap_or(0);
    let excess = old.len().saturating_sub(keep);
    old.iter().filter(|r| !pod_hashes.contains(r.hash)).take(excess).map(|r| r.name).collect()
}
