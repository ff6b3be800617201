//! Upgrading injected pods (SCS-44, SCS-45, SCS-51, SCS-53, SCS-60..SCS-62): which pods are
//! upgraded this round (order through the shared [`crate::updatesort`]), the image-only
//! in-place change of each, hot-upgrade slots and flips, and the `SidecarSetUpgradable`
//! condition.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::common::{InPlaceUpdateContainerStatus, InPlaceUpdateState, UpdateScatterTerm};
use kruise_api::keys;
use kruise_api::selector::Selector;

use super::inject::{hot_slots, patch_pod_metadata};
use super::pods::{SsView, container, container_ready, hot_working, status_image_id};
use super::records::{UpgradeRecord, annotation, parse_records, write_records, write_string_map};
use super::{Input, Matched, Plan, ss_reason};
use crate::plan::{
    Action, ActionKind, Held, PlanError, PodConditionUpdate, Reason, SidecarSetAction, SidecarSetReason,
};
use crate::podtable::Facts;
use crate::podtable::info::{PodEnv, PodInfo};
use crate::updatesort::UpdateOrder;

/// The write of one pod: images and annotations to set.
#[derive(Default)]
struct PodChange {
    images: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

/// SCS-51: records the imageIDs of `changed` before the change, merged into the SidecarSet's
/// entry (created with the SidecarSet hash and `now` when absent).
fn record_state(
    input: &Input<'_>,
    view: &SsView<'_>,
    m: &Matched<'_>,
    changed: &[String],
    ch: &mut PodChange,
) {
    let mut states = match &m.states {
        super::pods::StateCache::Read(s) => s.clone(),
        _ => BTreeMap::new(),
    };
    let entry = states.entry(view.name.to_owned()).or_insert_with(|| InPlaceUpdateState {
        revision: view.hash.to_owned(),
        update_timestamp: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            jiff::Timestamp::from_second(input.now.as_second()).unwrap_or(input.now),
        )),
        ..Default::default()
    });
    for c in changed {
        entry.last_container_statuses.insert(
            c.clone(),
            InPlaceUpdateContainerStatus { image_id: status_image_id(m.pod, c).to_owned() },
        );
    }
    ch.annotations.insert(
        keys::SIDECARSET_INPLACE_UPDATE_STATE.into(),
        serde_json::to_string(&states).unwrap_or_default(),
    );
}

/// SCS-62: is the pod hot-upgrading (an empty slot not running the empty image)?
fn hot_upgrading(view: &SsView<'_>, pod: &Pod, working: &BTreeMap<String, String>) -> bool {
    view.hot.iter().any(|(s, empty_image)| {
        let (_, empty) = hot_working(working, s);
        container(pod, &empty).is_some_and(|c| c.image.as_deref().unwrap_or_default() != *empty_image)
    })
}

/// SCS-62: flips the hot-upgraded pods that are ready for it; true when any was flipped.
pub(crate) fn flip_hot_upgrades(
    input: &Input<'_>,
    view: &SsView<'_>,
    matched: &[Matched<'_>],
    plan: &mut Plan,
) -> bool {
    let mut flipped = false;
    for m in matched {
        let working = &m.working;
        if !hot_upgrading(view, m.pod, working) {
            continue;
        }
        let empties: BTreeSet<String> = view.hot.iter().map(|(s, _)| hot_working(working, s).1).collect();
        let names: BTreeSet<String> = view.names.difference(&empties).cloned().collect();
        if !view.consistent(m.pod, Some(&names), &m.states) {
            continue;
        }
        let statuses =
            m.pod.status.as_ref().and_then(|s| s.container_statuses.as_deref()).unwrap_or_default();
        let others_ready = statuses.iter().filter(|s| !empties.contains(&s.name)).all(|s| s.ready);
        if !(super::pods::running_and_ready(m.pod) || others_ready) {
            continue;
        }
        let mut ch = PodChange::default();
        let mut changed = Vec::new();
        for (s, empty_image) in &view.hot {
            let (work, empty) = hot_working(working, s);
            let Some(c) = container(m.pod, &empty) else { continue };
            if c.image.as_deref().unwrap_or_default() == *empty_image {
                continue;
            }
            ch.images.insert(empty.clone(), (*empty_image).to_owned());
            ch.annotations.insert(format!("{}{empty}", keys::SIDECARSET_VERSION_PREFIX), "0".into());
            ch.annotations.insert(format!("{}{work}", keys::SIDECARSET_VERSION_ALT_PREFIX), "0".into());
            changed.push(empty);
        }
        record_state(input, view, m, &changed, &mut ch);
        push_change(plan, &m.key, ch, ss_reason(SidecarSetReason::HotUpgradeFlip));
        flipped = true;
    }
    flipped
}

fn push_change(plan: &mut Plan, pod: &str, ch: PodChange, reason: Reason) {
    plan.actions.push(Action::new(
        ActionKind::SidecarSet(SidecarSetAction::SetSidecarImages {
            images: ch.images,
            annotations: ch.annotations,
        }),
        Some(pod),
        None,
        reason,
    ));
}

/// SCS-53: the condition after setting this SidecarSet's entry to `upgradable`, if it changes.
fn upgradable_condition(pod: &Pod, ss: &str, upgradable: bool) -> Option<PodConditionUpdate> {
    let old = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == keys::SIDECARSET_UPGRADABLE));
    let mut kv: BTreeMap<String, bool> = old
        .and_then(|c| c.message.as_deref())
        .filter(|m| !m.is_empty())
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_default();
    kv.insert(ss.to_owned(), upgradable);
    let all = kv.values().all(|v| *v);
    let message = kruise_api::gojson::to_string(&serde_json::to_value(&kv).unwrap_or_default());
    let (status, reason) =
        if all { ("True", "AllSidecarsetUpgradable") } else { ("False", "UpdateImmutableField") };
    let same = old.is_some_and(|c| {
        c.status == status
            && c.reason.as_deref() == Some(reason)
            && c.message.as_deref() == Some(message.as_str())
    });
    (!same).then(|| PodConditionUpdate {
        type_: keys::SIDECARSET_UPGRADABLE.into(),
        status: status.into(),
        reason: reason.into(),
        message,
    })
}

fn push_condition(plan: &mut Plan, pod: &Pod, name: &str, ss: &str, upgradable: bool) {
    if let Some(c) = upgradable_condition(pod, ss, upgradable) {
        plan.actions.push(Action::new(
            ActionKind::UpdatePodStatus { condition: c },
            Some(name),
            None,
            ss_reason(SidecarSetReason::UpgradableCondition { upgradable }),
        ));
    }
}

/// SCS-44 step 3: `CalculatePartitionReplicas`.
fn partition_replicas(p: Option<&IntOrString>, total: i32) -> Result<i32, PlanError> {
    let v = match p {
        None => 0,
        Some(IntOrString::Int(i)) => *i,
        Some(IntOrString::String(s)) => {
            let r = kruise_api::intstr::scaled_kruise(p, total, true)
                .map_err(|e| PlanError::invalid("spec.updateStrategy.partition", e.to_string()))?;
            if total > 1 && r == total && s != "100%" { total - 1 } else { r }
        }
    };
    Ok(v.clamp(0, total.max(0)))
}

/// SCS-44 step 4: `maxUnavailable` (int, or percent rounded up); 1 when unset.
fn max_unavailable(m: Option<&IntOrString>, total: i32) -> Result<i32, PlanError> {
    match m {
        None => Ok(1),
        Some(_) => kruise_api::intstr::scaled_kruise(m, total, true)
            .map_err(|e| PlanError::invalid("spec.updateStrategy.maxUnavailable", e.to_string())),
    }
}

/// SCS-45: the images and annotations of one pod's upgrade.
fn pod_change(input: &Input<'_>, view: &SsView<'_>, m: &Matched<'_>) -> Result<PodChange, PlanError> {
    let ss = input.sidecarset;
    let pod = m.pod;
    let mut ch = PodChange::default();
    let mut changed = Vec::new();
    let mut working = m.working.clone();
    let mut anns = pod.metadata.annotations.clone().unwrap_or_default();
    let rv = ss.metadata.resource_version.clone().unwrap_or_default();
    for sc in &ss.spec.containers {
        let want = sc.container.image.clone().unwrap_or_default();
        if !sc.is_hot_upgrade() {
            let have = container(pod, &sc.container.name).and_then(|c| c.image.clone()).unwrap_or_default();
            if have != want {
                ch.images.insert(sc.container.name.clone(), want);
                changed.push(sc.container.name.clone());
            }
            continue;
        }
        // SCS-61.
        let s = sc.container.name.as_str();
        let (n1, n2) = hot_slots(s);
        let empty_image = sc.upgrade_strategy.hot_upgrade_empty_image.as_str();
        let image = |n: &str| container(pod, n).and_then(|c| c.image.clone()).unwrap_or_default();
        let ready = |n: &str| container_ready(pod, n) && view.consistent_by(pod, |x| x == n, &m.states);
        let (chosen, other) = if image(&n1) == empty_image {
            (n1, n2)
        } else if image(&n2) == empty_image {
            (n2, n1)
        } else {
            match (ready(&n1), ready(&n2)) {
                (true, false) => (n2, n1),
                (false, true) => (n1, n2),
                _ => {
                    let (work, old) = hot_working(&working, s);
                    (old, work)
                }
            }
        };
        if image(&other) == want {
            continue;
        }
        ch.images.insert(chosen.clone(), want);
        changed.push(chosen.clone());
        working.insert(s.to_owned(), chosen.clone());
        let other_version =
            anns.get(&format!("{}{other}", keys::SIDECARSET_VERSION_PREFIX)).cloned().unwrap_or_default();
        for (k, v) in [
            (format!("{}{chosen}", keys::SIDECARSET_VERSION_PREFIX), rv.clone()),
            (format!("{}{chosen}", keys::SIDECARSET_VERSION_ALT_PREFIX), other_version),
            (format!("{}{other}", keys::SIDECARSET_VERSION_ALT_PREFIX), rv.clone()),
        ] {
            anns.insert(k.clone(), v.clone());
            ch.annotations.insert(k, v);
        }
        ch.annotations
            .insert(keys::SIDECARSET_WORKING_HOTUPGRADE_CONTAINER.into(), write_string_map(&working));
    }
    // The hash record (the without-image record is left as is).
    let mut records = parse_records(annotation(pod, keys::SIDECARSET_HASH)).unwrap_or_default();
    let mut list: BTreeSet<String> = ss.spec.containers.iter().map(|c| c.container.name.clone()).collect();
    list.extend(
        ss.spec.init_containers.iter().filter(|c| c.is_native_sidecar()).map(|c| c.container.name.clone()),
    );
    records.insert(
        view.name.to_owned(),
        UpgradeRecord {
            update_timestamp: Some(input.now),
            hash: view.hash.to_owned(),
            sidecarset_name: view.name.to_owned(),
            sidecar_list: Some(list.into_iter().collect()),
            controller_revision: ss.status.as_ref().map(|s| s.latest_revision.clone()).unwrap_or_default(),
        },
    );
    ch.annotations.insert(keys::SIDECARSET_HASH.into(), write_records(&records));
    record_state(input, view, m, &changed, &mut ch);
    // SCS-15 semantics over the pod's annotations (only the keys it changes are written).
    let before = anns.clone();
    patch_pod_metadata(&mut anns, &ss.spec.patch_pod_metadata)
        .map_err(|e| PlanError::invalid("spec.patchPodMetadata", format!("pod {}: {e}", m.key)))?;
    for (k, v) in anns {
        if before.get(&k) != Some(&v) {
            ch.annotations.insert(k, v);
        }
    }
    Ok(ch)
}

/// SCS-44 step 2: scatter terms with value `*` expanded to the values present on `pods`.
fn expand_scatter(terms: &[UpdateScatterTerm], matched: &[Matched<'_>]) -> Vec<UpdateScatterTerm> {
    let mut out: Vec<UpdateScatterTerm> = Vec::new();
    for t in terms {
        if t.value == "*" {
            for m in matched {
                if let Some(v) = m.pod.metadata.labels.as_ref().and_then(|l| l.get(&t.key)) {
                    let term = UpdateScatterTerm { key: t.key.clone(), value: v.clone() };
                    if !out.contains(&term) {
                        out.push(term);
                    }
                }
            }
        } else if !out.contains(t) {
            out.push(t.clone());
        }
    }
    out
}

/// SCS-44, SCS-45, SCS-53: picks this round's pods and upgrades them.
pub(crate) fn upgrade(
    input: &Input<'_>,
    view: &SsView<'_>,
    matched: &[Matched<'_>],
    plan: &mut Plan,
) -> Result<(), PlanError> {
    let us = &input.sidecarset.spec.update_strategy;
    let total = i32::try_from(matched.len()).unwrap_or(i32::MAX);
    let partition = partition_replicas(us.partition.as_ref(), total)?;
    let limit = max_unavailable(us.max_unavailable.as_ref(), total)?;
    let selector = us.selector.as_ref().map(|s| Selector::parse(s, "spec.updateStrategy.selector").ok());
    let empty = BTreeMap::new();
    // Step 1.
    let mut wait: Vec<usize> = Vec::new();
    let mut not_upgradable = Vec::new();
    for (i, m) in matched.iter().enumerate() {
        if m.updated {
            continue;
        }
        let labels = m.pod.metadata.labels.as_ref().unwrap_or(&empty);
        if let Some(sel) = &selector
            && !sel.as_ref().is_some_and(|s| s.matches(labels))
        {
            plan.held.push(Held::pod(&m.key, ss_reason(SidecarSetReason::NotSelected)));
            continue;
        }
        if !view.upgradable(m.pod) {
            not_upgradable.push(i);
            continue;
        }
        let rolling = view
            .names
            .iter()
            .any(|n| container_ready(m.pod, n) && !view.consistent_by(m.pod, |x| x == n, &m.states));
        if rolling {
            plan.held.push(Held::pod(&m.key, ss_reason(SidecarSetReason::UpgradeInProgress)));
            plan.requeue_at_most(Duration::from_secs(5), ss_reason(SidecarSetReason::UpgradeInProgress));
            continue;
        }
        wait.push(i);
    }
    for &i in &not_upgradable {
        let m = &matched[i];
        push_condition(plan, m.pod, &m.key, view.name, false);
        plan.held.push(Held::pod(&m.key, ss_reason(SidecarSetReason::NotUpgradable)));
    }
    // Step 2: the shared update order over the matched pods.
    let env = PodEnv {
        now: input.now,
        min_ready_seconds: 0,
        update_revision: String::new(),
        update_short: String::new(),
        preparing_update_as_update: false,
    };
    let facts: Vec<Facts> = matched.iter().map(|m| Facts::scan(m.pod).facts).collect();
    let infos: Vec<PodInfo<'_>> = matched
        .iter()
        .zip(&facts)
        .enumerate()
        .map(|(i, (m, f))| PodInfo::from_facts(m.pod, &m.key, "", i as u32, f, &env, false, false))
        .collect();
    let scatter = expand_scatter(&us.scatter_strategy, matched);
    let keep = wait.len().saturating_sub(usize::try_from(partition).unwrap_or(0));
    let mut unavailable =
        i32::try_from(matched.iter().filter(|m| m.updated && !(m.consistent && m.ready)).count())
            .unwrap_or(i32::MAX);
    // SCS-45: one pod's upgrade (images, annotations, the Upgradable condition).
    let upgrade_one = |plan: &mut Plan, m: &Matched<'_>, before: i32| -> Result<(), PlanError> {
        let ch = pod_change(input, view, m)?;
        push_change(
            plan,
            &m.key,
            ch,
            ss_reason(SidecarSetReason::UpgradeSidecars { unavailable: before, limit }),
        );
        push_condition(plan, m.pod, &m.key, view.name, true);
        Ok(())
    };
    if us.priority_strategy.is_none() && scatter.is_empty() {
        // The "active pods" order alone: only the ranks the walk reads are sorted (the shared
        // `UpdateOrder`, O(c + p log p) for a prefix of p), the rest is held as sets, in
        // `namespace/name` order. Steps 3 and 4 over the order's ranks.
        let mut order =
            UpdateOrder::new(&infos, &wait, usize::try_from(limit).unwrap_or(0).saturating_add(1));
        let mut rank = 0;
        while rank < keep {
            let m = &matched[order.at(rank)];
            let before = unavailable;
            if m.ready {
                if unavailable >= limit {
                    break;
                }
                unavailable += 1;
            }
            upgrade_one(plan, m, before)?;
            rank += 1;
        }
        let (over_budget, beyond_partition) = order.groups(rank, keep);
        for i in beyond_partition {
            plan.held.push(Held::pod(&matched[i].key, Reason::Partition { partition }));
        }
        for i in over_budget {
            plan.held.push(Held::pod(&matched[i].key, Reason::MaxUnavailable { unavailable, limit }));
        }
        return Ok(());
    }
    crate::updatesort::sort_active_priority_scatter(
        &infos,
        &mut wait,
        us.priority_strategy.as_ref(),
        &scatter,
    );
    // Step 3.
    for &i in &wait[keep..] {
        plan.held.push(Held::pod(&matched[i].key, Reason::Partition { partition }));
    }
    // Step 4.
    let mut stopped = false;
    for &i in &wait[..keep] {
        let m = &matched[i];
        if stopped {
            plan.held.push(Held::pod(&m.key, Reason::MaxUnavailable { unavailable, limit }));
            continue;
        }
        let before = unavailable;
        if m.ready {
            if unavailable >= limit {
                stopped = true;
                plan.held.push(Held::pod(&m.key, Reason::MaxUnavailable { unavailable, limit }));
                continue;
            }
            unavailable += 1;
        }
        upgrade_one(plan, m, before)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scs_44_partition_replicas() {
        let s = |v: &str| Some(IntOrString::String(v.into()));
        assert_eq!(partition_replicas(s("99%").as_ref(), 5).unwrap(), 4);
        assert_eq!(partition_replicas(s("1%").as_ref(), 5).unwrap(), 1);
        assert_eq!(partition_replicas(s("100%").as_ref(), 5).unwrap(), 5);
        assert_eq!(partition_replicas(s("18%").as_ref(), 1000).unwrap(), 180);
        assert_eq!(partition_replicas(Some(&IntOrString::Int(9)).as_ref().copied(), 5).unwrap(), 5);
        assert_eq!(partition_replicas(Some(&IntOrString::Int(-3)), 5).unwrap(), 0);
        assert!(partition_replicas(s("x").as_ref(), 5).is_err());
        assert_eq!(max_unavailable(s("5%").as_ref(), 5).unwrap(), 1);
        assert_eq!(max_unavailable(None, 5).unwrap(), 1);
    }
}
