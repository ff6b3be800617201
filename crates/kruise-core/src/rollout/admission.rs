//! The workload admission gate (RO-19, RO-11): whether a workload update *enters* a rollout,
//! and the patch that freezes it (partition "100%" / 32767 and the `in-progressing`
//! annotation). Pure functions of the old and new workload and the Rollouts of the namespace;
//! a webhook adapter applies the patch to the object being admitted.

use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1;
use kruise_api::keys;
use kruise_api::rollouts::v1beta1::{Rollout, phase};

use super::batch_release::MAX_PARTITION;
use super::types::WorkloadPatch;

/// RO-11: the first non-deleted, non-`Disabled` Rollout whose workloadRef matches the
/// workload's group, kind and name (in the given order; pass them sorted by name).
pub fn find_rollout<'a>(rollouts: &'a [Rollout], group: &str, kind: &str, name: &str) -> Option<&'a Rollout> {
    rollouts.iter().find(|r| {
        let w = &r.spec.workload_ref;
        r.metadata.deletion_timestamp.is_none()
            && r.status.as_ref().is_none_or(|s| s.phase != phase::DISABLED)
            && w.group() == group
            && w.kind == kind
            && w.name == name
    })
}

/// A pod template as JSON with the `pod-template-hash` label removed (RO-19, RO-20
/// template comparisons).
pub(crate) fn template_json(t: &PodTemplateSpec) -> serde_json::Value {
    let mut t = t.clone();
    if let Some(m) = t.metadata.as_mut() {
        if let Some(l) = m.labels.as_mut() {
            l.remove(keys::POD_TEMPLATE_HASH);
        }
        if m.labels.as_ref().is_some_and(|l| l.is_empty()) {
            m.labels = None;
        }
    }
    if t.metadata.as_ref().is_some_and(|m| *m == ObjectMeta::default()) {
        t.metadata = None;
    }
    serde_json::to_value(&t).unwrap_or_default()
}

fn rollout_id(m: &ObjectMeta) -> Option<&str> {
    // Q7 (docs/deviations.md): the id is read from the annotation, else the label.
    m.annotations
        .as_ref()
        .and_then(|a| a.get(keys::ROLLOUT_ID))
        .or_else(|| m.labels.as_ref().and_then(|l| l.get(keys::ROLLOUT_ID)))
        .map(String::as_str)
        .filter(|s| !s.is_empty())
}

/// RO-19 release detection: a non-empty rollout id that differs from the old one; or, with no
/// id, a pod template that differs ignoring the `pod-template-hash` label.
pub fn release_detected(
    old: &ObjectMeta,
    new: &ObjectMeta,
    old_tpl: &PodTemplateSpec,
    new_tpl: &PodTemplateSpec,
) -> bool {
    match rollout_id(new) {
        Some(id) => rollout_id(old) != Some(id),
        None => template_json(old_tpl) != template_json(new_tpl),
    }
}

fn has_strategy(r: &Rollout) -> bool {
    r.spec.strategy.canary.is_some() || r.spec.strategy.blue_green.is_some()
}

fn enter(rollout: &Rollout, partition: Option<IntOrString>) -> WorkloadPatch {
    let mut p = WorkloadPatch::default();
    let name = rollout.metadata.name.clone().unwrap_or_default();
    p.annotations.insert(
        keys::ROLLOUT_IN_PROGRESSING.into(),
        Some(serde_json::json!({ "rolloutName": name }).to_string()),
    );
    p.partition = partition.map(Some);
    p
}

/// RO-19 for a CloneSet update: `Some(patch)` when the update enters a rollout.
pub fn admit_cloneset(
    rollout: Option<&Rollout>,
    old: &v1beta1::CloneSet,
    new: &v1beta1::CloneSet,
) -> Option<WorkloadPatch> {
    let r = rollout.filter(|r| has_strategy(r))?;
    if new.spec.replicas == Some(0) {
        return None;
    }
    if !release_detected(&old.metadata, &new.metadata, &old.spec.template, &new.spec.template) {
        return None;
    }
    let st = new.status.clone().unwrap_or_default();
    if !r.spec.strategy.traffic_routings().is_empty() && st.replicas != st.updated_replicas {
        return None;
    }
    Some(enter(r, Some(IntOrString::String("100%".into()))))
}

/// RO-19 for an Advanced StatefulSet update (RollingUpdate only, replicas > 0).
pub fn admit_advanced_statefulset(
    rollout: Option<&Rollout>,
    old: &v1beta1::StatefulSet,
    new: &v1beta1::StatefulSet,
) -> Option<WorkloadPatch> {
    let r = rollout.filter(|r| has_strategy(r))?;
    let rolling = new.spec.update_strategy.type_.as_deref().is_none_or(|t| t == "RollingUpdate");
    if !rolling || new.spec.replicas.unwrap_or(1) == 0 {
        return None;
    }
    if !release_detected(&old.metadata, &new.metadata, &old.spec.template, &new.spec.template) {
        return None;
    }
    Some(enter(r, Some(IntOrString::Int(MAX_PARTITION))))
}

/// RO-19 for an Advanced DaemonSet update.
pub fn admit_advanced_daemonset(
    rollout: Option<&Rollout>,
    old: &v1beta1::DaemonSet,
    new: &v1beta1::DaemonSet,
) -> Option<WorkloadPatch> {
    let r = rollout.filter(|r| has_strategy(r))?;
    if !release_detected(&old.metadata, &new.metadata, &old.spec.template, &new.spec.template) {
        return None;
    }
    Some(enter(r, Some(IntOrString::Int(MAX_PARTITION))))
}

/// RO-19 for a native Deployment update, given the ReplicaSets it owns. Not yet in a
/// rollout: replicas > 0, a release detected, at least one active ReplicaSet (and exactly
/// one when the Rollout routes traffic); then the Deployment is paused, labelled
/// `rollouts.kruise.io/stable-revision=<pod-template-hash of the stable ReplicaSet>` (the
/// active one running the old template, else the oldest active one) and marked
/// `in-progressing`. Already in a rollout: held by its style ([`keep_in_progress`]). `None`:
/// admitted unchanged.
pub fn admit_deployment(
    rollout: Option<&Rollout>,
    old: &k8s_openapi::api::apps::v1::Deployment,
    new: &k8s_openapi::api::apps::v1::Deployment,
    replica_sets: &[k8s_openapi::api::apps::v1::ReplicaSet],
) -> Option<WorkloadPatch> {
    let r = rollout.filter(|r| has_strategy(r))?;
    let (old_spec, new_spec) = (old.spec.clone().unwrap_or_default(), new.spec.clone().unwrap_or_default());
    let detected = release_detected(&old.metadata, &new.metadata, &old_spec.template, &new_spec.template);
    let in_progress =
        new.metadata.annotations.as_ref().is_some_and(|a| a.contains_key(keys::ROLLOUT_IN_PROGRESSING));
    if in_progress {
        let p = keep_in_progress(old, new, detected);
        return (!p.is_empty()).then_some(p);
    }
    if new_spec.replicas.unwrap_or(1) == 0 || !detected {
        return None;
    }
    let mut active: Vec<&k8s_openapi::api::apps::v1::ReplicaSet> =
        replica_sets.iter().filter(|rs| rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0) > 0).collect();
    if active.is_empty() || (!r.spec.strategy.traffic_routings().is_empty() && active.len() != 1) {
        return None;
    }
    active.sort_by_key(|rs| (rs.metadata.creation_timestamp.as_ref().map(|t| t.0), rs.metadata.name.clone()));
    let old_tpl = template_json(&old_spec.template);
    let stable = active
        .iter()
        .find(|rs| {
            rs.spec.as_ref().and_then(|s| s.template.as_ref()).map(template_json) == Some(old_tpl.clone())
        })
        .or(active.first())?;
    let hash = stable.metadata.labels.as_ref().and_then(|l| l.get(keys::POD_TEMPLATE_HASH)).cloned()?;
    let mut p = enter(r, None);
    p.paused = Some(true);
    p.labels.insert(keys::ROLLOUT_STABLE_REVISION.into(), Some(hash));
    Some(p)
}

/// RO-19 for a Deployment update while a release is in progress, by the style its
/// annotations show:
/// - partition style (a `rollouts.kruise.io/deployment-strategy` annotation with rolling style
///   `Partition`, case-insensitive): stays paused and `Recreate` (the native controller held);
///   a `rollingUpdate` the user set moves into the annotation (defaulted, RO-42); a template
///   change pauses the advanced strategy;
/// - blue-green (a saved `rollouts.kruise.io/original-deployment-strategy`): a template change
///   pauses it (only a rollback is expected; the release refuses a new version, RO-50); the
///   strategy type stays what it was;
/// - canary style: stays paused; a switch to `Recreate` is undone (the old strategy back).
pub fn keep_in_progress(
    old: &k8s_openapi::api::apps::v1::Deployment,
    new: &k8s_openapi::api::apps::v1::Deployment,
    detected: bool,
) -> WorkloadPatch {
    use super::workload::{AdvancedDeploymentStrategy, AdvancedRollingUpdate};
    let (old_spec, new_spec) = (old.spec.clone().unwrap_or_default(), new.spec.clone().unwrap_or_default());
    let ann = new.metadata.annotations.clone().unwrap_or_default();
    let new_type = new_spec.strategy.as_ref().and_then(|s| s.type_.clone());
    let old_type = old_spec.strategy.as_ref().and_then(|s| s.type_.clone());
    let mut p = WorkloadPatch::default();
    let partition = ann
        .get(keys::ROLLOUT_DEPLOYMENT_STRATEGY)
        .and_then(|t| serde_json::from_str::<AdvancedDeploymentStrategy>(t).ok())
        .filter(|s| s.rolling_style.eq_ignore_ascii_case("partition"));
    if let Some(before) = partition {
        let mut s = before.clone();
        if new_spec.paused != Some(true) {
            p.paused = Some(true);
        }
        if new_type.as_deref() == Some("RollingUpdate") {
            p.strategy_type = Some("Recreate".into());
        }
        if let Some(ru) = new_spec.strategy.as_ref().and_then(|s| s.rolling_update.as_ref()) {
            s.rolling_update = Some(AdvancedRollingUpdate {
                max_unavailable: ru.max_unavailable.clone(),
                max_surge: ru.max_surge.clone(),
            });
            p.rolling_update = Some(None);
        }
        if detected {
            s.paused = true;
        }
        s.rolling_update =
            Some(super::batch_release::default_rolling_update(s.rolling_update.unwrap_or_default()));
        if s != before {
            p.annotations.insert(
                keys::ROLLOUT_DEPLOYMENT_STRATEGY.into(),
                Some(serde_json::to_string(&s).unwrap_or_default()),
            );
        }
    } else if ann.get(keys::ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY).is_some_and(|v| !v.is_empty()) {
        if detected {
            p.paused = Some(true);
        }
        if new_type.as_deref() != Some("RollingUpdate") && new_type != old_type {
            p.strategy_type = Some(old_type.unwrap_or_else(|| "RollingUpdate".into()));
        }
    } else {
        if new_spec.paused != Some(true) {
            p.paused = Some(true);
        }
        if new_type.as_deref() == Some("Recreate") {
            p.strategy_type = Some(old_type.unwrap_or_else(|| "RollingUpdate".into()));
            let ru = old_spec.strategy.as_ref().and_then(|s| s.rolling_update.as_ref());
            p.rolling_update = Some(ru.map(|ru| AdvancedRollingUpdate {
                max_unavailable: ru.max_unavailable.clone(),
                max_surge: ru.max_surge.clone(),
            }));
        }
    }
    p
}
