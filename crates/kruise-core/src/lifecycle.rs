//! Lifecycle hooks, shared by every workload that honours `spec.lifecycle` (CloneSet CS-77..CS-80,
//! Advanced StatefulSet, Advanced DaemonSet ADS-28): the pod's lifecycle [`State`] label,
//! whether a hook holds a pod ([`hooked`], [`all_hooked`]), the label patch of a state
//! transition ([`lifecycle_patch`]) and the `KruisePodReady` condition a hook sets and clears
//! ([`mark_not_ready`], [`unmark_not_ready`]). Pure functions of the pod; the workload decides
//! when a transition happens and which reason it gives.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::common::LifecycleHook;
use kruise_api::keys;

use crate::plan::{PodConditionUpdate, PodPatch};

/// Lifecycle state of a pod (CS-77); a missing label is [`State::None`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// No label.
    None,
    /// `PreparingNormal`.
    PreparingNormal,
    /// `Normal`.
    Normal,
    /// `PreparingUpdate`.
    PreparingUpdate,
    /// `Updating`.
    Updating,
    /// `Updated`.
    Updated,
    /// `PreparingDelete`.
    PreparingDelete,
    /// Any other value.
    Other,
}

impl State {
    /// Reads the label value.
    pub fn parse(v: Option<&str>) -> Self {
        use keys::lifecycle_state as s;
        match v {
            None | Some("") => Self::None,
            Some(s::PREPARING_NORMAL) => Self::PreparingNormal,
            Some(s::NORMAL) => Self::Normal,
            Some(s::PREPARING_UPDATE) => Self::PreparingUpdate,
            Some(s::UPDATING) => Self::Updating,
            Some(s::UPDATED) => Self::Updated,
            Some(s::PREPARING_DELETE) => Self::PreparingDelete,
            Some(_) => Self::Other,
        }
    }
    /// The label value (`""` for none).
    pub fn as_str(self) -> &'static str {
        use keys::lifecycle_state as s;
        match self {
            Self::None | Self::Other => "",
            Self::PreparingNormal => s::PREPARING_NORMAL,
            Self::Normal => s::NORMAL,
            Self::PreparingUpdate => s::PREPARING_UPDATE,
            Self::Updating => s::UPDATING,
            Self::Updated => s::UPDATED,
            Self::PreparingDelete => s::PREPARING_DELETE,
        }
    }
    /// The state of `pod` (its `lifecycle-state` label).
    pub fn of(pod: &Pod) -> Self {
        Self::parse(
            pod.metadata.labels.as_ref().and_then(|l| l.get(keys::LIFECYCLE_STATE)).map(String::as_str),
        )
    }
}

/// CS-78 `hooked(h, p)`: any finalizer of the hook, or any label pair.
pub fn hooked(h: Option<&LifecycleHook>, pod: &Pod) -> bool {
    let Some(h) = h else { return false };
    let fins = pod.metadata.finalizers.as_deref().unwrap_or_default();
    let labels = pod.metadata.labels.as_ref();
    h.finalizers_handler.iter().any(|f| fins.contains(f))
        || h.labels_handler.iter().any(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// CS-78 `allHooked(h, p)`: every finalizer and every label pair (vacuous for an empty hook).
pub fn all_hooked(h: Option<&LifecycleHook>, pod: &Pod) -> bool {
    let Some(h) = h else { return false };
    let fins = pod.metadata.finalizers.as_deref().unwrap_or_default();
    let labels = pod.metadata.labels.as_ref();
    h.finalizers_handler.iter().all(|f| fins.contains(f))
        && h.labels_handler.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// A label patch setting the lifecycle state (CS-77), with the timestamp annotation.
pub fn lifecycle_patch(state: State, now: Timestamp) -> PodPatch {
    let mut p = PodPatch::default();
    p.labels.insert(keys::LIFECYCLE_STATE.into(), Some(state.as_str().to_owned()));
    p.annotations.insert(keys::LIFECYCLE_TIMESTAMP.into(), Some(now.to_string()));
    p
}

/// The pod's `KruisePodReady` condition, if any.
fn kruise_pod_ready(pod: &Pod) -> Option<&k8s_openapi::api::core::v1::PodCondition> {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_deref())
        .and_then(|c| c.iter().find(|c| c.type_ == keys::KRUISE_POD_READY))
}

/// The `{"userAgent", "key"}` entries of a `KruisePodReady` message (none if unreadable).
fn messages(c: Option<&k8s_openapi::api::core::v1::PodCondition>) -> Vec<serde_json::Value> {
    c.and_then(|c| c.message.as_deref()).and_then(|m| serde_json::from_str(m).ok()).unwrap_or_default()
}

/// CS-80 `markPodNotReady`: the `KruisePodReady=False` condition carrying the hook's `key`
/// (`preDeleteHook`, `preUpdateHook`) in its message, when the pod has the `KruisePodReady`
/// readiness gate and is not marked so already; `None` when there is nothing to write.
pub fn mark_not_ready(pod: &Pod, key: &str) -> Option<PodConditionUpdate> {
    let has_gate = pod
        .spec
        .as_ref()
        .and_then(|s| s.readiness_gates.as_deref())
        .is_some_and(|g| g.iter().any(|g| g.condition_type == keys::KRUISE_POD_READY));
    if !has_gate {
        return None;
    }
    let cond = kruise_pod_ready(pod);
    let mut msgs = messages(cond);
    let entry = serde_json::json!({"userAgent": "Lifecycle", "key": key});
    if cond.is_some_and(|c| c.status == "False") && msgs.contains(&entry) {
        return None;
    }
    if !msgs.contains(&entry) {
        msgs.push(entry);
    }
    Some(PodConditionUpdate {
        type_: keys::KRUISE_POD_READY.into(),
        status: "False".into(),
        reason: String::new(),
        message: serde_json::to_string(&msgs).unwrap_or_default(),
    })
}

/// CS-80: the `KruisePodReady` condition without the hook's `key` in its message (`True`
/// when no entry is left); `None` when the key is not there.
pub fn unmark_not_ready(pod: &Pod, key: &str) -> Option<PodConditionUpdate> {
    let cond = kruise_pod_ready(pod)?;
    let mut msgs = messages(Some(cond));
    let before = msgs.len();
    msgs.retain(|m| m.get("key").and_then(|k| k.as_str()) != Some(key));
    if msgs.len() == before {
        return None;
    }
    let (status, message) = if msgs.is_empty() {
        ("True", String::new())
    } else {
        ("False", serde_json::to_string(&msgs).unwrap_or_default())
    };
    Some(PodConditionUpdate {
        type_: keys::KRUISE_POD_READY.into(),
        status: status.into(),
        reason: String::new(),
        message,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::{PodCondition, PodReadinessGate, PodSpec, PodStatus};

    use super::*;

    fn pod(labels: &[(&str, &str)], finalizers: &[&str]) -> Pod {
        let mut p = Pod::default();
        p.metadata.labels = Some(labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
        p.metadata.finalizers = Some(finalizers.iter().map(|f| (*f).to_owned()).collect());
        p
    }

    fn hook(labels: &[(&str, &str)], finalizers: &[&str]) -> LifecycleHook {
        LifecycleHook {
            labels_handler: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
            finalizers_handler: finalizers.iter().map(|f| (*f).to_owned()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn cs_77_state_label_round_trips() {
        for s in [
            State::PreparingNormal,
            State::Normal,
            State::PreparingUpdate,
            State::Updating,
            State::Updated,
            State::PreparingDelete,
        ] {
            assert_eq!(State::parse(Some(s.as_str())), s);
            assert_eq!(State::of(&pod(&[(keys::LIFECYCLE_STATE, s.as_str())], &[])), s);
        }
        assert_eq!(State::parse(None), State::None);
        assert_eq!(State::parse(Some("")), State::None);
        assert_eq!(State::parse(Some("Zustand")), State::Other);
        assert_eq!(State::of(&Pod::default()), State::None);
    }

    #[test]
    fn cs_78_hooked_is_any_all_hooked_is_every() {
        let h = hook(&[("hold", "yes")], &["f/one", "f/two"]);
        let some = pod(&[("hold", "no")], &["f/two"]);
        let every = pod(&[("hold", "yes")], &["f/one", "f/two"]);
        let none = pod(&[], &[]);
        assert!(hooked(Some(&h), &some) && !all_hooked(Some(&h), &some));
        assert!(hooked(Some(&h), &every) && all_hooked(Some(&h), &every));
        assert!(!hooked(Some(&h), &none) && !all_hooked(Some(&h), &none));
        assert!(!hooked(None, &every) && !all_hooked(None, &every));
        assert!(all_hooked(Some(&hook(&[], &[])), &none), "vacuous for an empty hook");
    }

    #[test]
    fn cs_77_lifecycle_patch_sets_state_and_time() {
        let p = lifecycle_patch(State::PreparingDelete, Timestamp::UNIX_EPOCH);
        assert_eq!(p.labels[keys::LIFECYCLE_STATE].as_deref(), Some("PreparingDelete"));
        assert_eq!(p.annotations[keys::LIFECYCLE_TIMESTAMP].as_deref(), Some("1970-01-01T00:00:00Z"));
    }

    #[test]
    fn cs_80_mark_and_unmark_kruise_pod_ready() {
        let mut p = pod(&[], &[]);
        assert_eq!(mark_not_ready(&p, "preDeleteHook"), None, "no readiness gate: nothing to write");
        p.spec = Some(PodSpec {
            readiness_gates: Some(vec![PodReadinessGate { condition_type: keys::KRUISE_POD_READY.into() }]),
            ..Default::default()
        });
        let c = mark_not_ready(&p, "preDeleteHook").unwrap();
        assert_eq!(
            (c.status.as_str(), c.message.as_str()),
            ("False", r#"[{"key":"preDeleteHook","userAgent":"Lifecycle"}]"#)
        );
        p.status = Some(PodStatus {
            conditions: Some(vec![PodCondition {
                type_: keys::KRUISE_POD_READY.into(),
                status: "False".into(),
                message: Some(c.message.clone()),
                ..Default::default()
            }]),
            ..Default::default()
        });
        assert_eq!(mark_not_ready(&p, "preDeleteHook"), None, "already marked");
        assert_eq!(unmark_not_ready(&p, "preUpdateHook"), None, "other key: nothing to remove");
        let u = unmark_not_ready(&p, "preDeleteHook").unwrap();
        assert_eq!((u.status.as_str(), u.message.as_str()), ("True", ""));
    }
}
