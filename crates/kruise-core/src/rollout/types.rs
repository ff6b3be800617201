//! The Rollout plan (RO-67 outputs) in the shared shape ([`crate::plan::Plan`] over the
//! Rollout status): typed actions on the objects a Rollout touches, each naming its subject in
//! `object`; what the release waits for in `held`; the requeue. The Rollout's own variants are
//! [`RolloutAction`] / [`RolloutReason`] (`crate::plan::rollout`); this file holds the data
//! they carry and the helpers the planner pushes them with.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::rollouts::v1beta1::{ObjectRef as ApiObjectRef, RolloutStatus};
use serde::Serialize;

pub use crate::plan::rollout::{RolloutAction, RolloutReason};
use crate::plan::{Action, ActionKind, Held, ObjectRef, PodPatch, Reason};

/// One reconcile of a Rollout: the shared plan over the Rollout status.
pub type Plan = crate::plan::Plan<RolloutStatus>;

/// An API object carried by an action (a Service, an Ingress, HTTPRoute rules, a
/// BatchRelease spec or status), serialized as the object itself. `Eq` is sound: none of these
/// types holds a floating-point number.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Obj<T>(pub Box<T>);

impl<T: PartialEq> Eq for Obj<T> {}

impl<T> Obj<T> {
    /// Wraps `v`.
    pub fn new(v: T) -> Self {
        Self(Box::new(v))
    }
}

impl<T> Deref for Obj<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// A change to the workload (RO-18, RO-19, RO-42, RO-43), kind-independent; see
/// [`WorkloadPatch::to_merge_patch`] for the JSON at the kind's paths.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadPatch {
    /// `Some(Some(p))` sets the partition, `Some(None)` removes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<Option<IntOrString>>,
    /// Sets the update strategy's `paused`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// Sets `spec.replicas` (the canary Deployment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Sets `maxSurge` (blue-green).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrString>,
    /// Sets `maxUnavailable` (blue-green claim and restore, RO-42/RO-43).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// Sets `spec.minReadySeconds` (blue-green claim and restore).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_ready_seconds: Option<i32>,
    /// Sets a Deployment's `spec.strategy.type` (partition style: `Recreate` on claim,
    /// `RollingUpdate` on release).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy_type: Option<String>,
    /// Replaces (`Some(Some)`) or removes (`Some(None)`) a Deployment's
    /// `spec.strategy.rollingUpdate` (partition style).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<Option<crate::rollout::workload::AdvancedRollingUpdate>>,
    /// Sets (`Some(Some)`) or removes (`Some(None)`) a Deployment's
    /// `spec.progressDeadlineSeconds` (blue-green claim and restore).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress_deadline_seconds: Option<Option<i32>>,
    /// Annotations to set (`Some`) or remove (`None`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, Option<String>>,
    /// Labels to set (`Some`) or remove (`None`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, Option<String>>,
}

impl WorkloadPatch {
    /// True when the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The JSON merge patch (RFC 7386) for a workload of `kind` / `api_version`
    /// (`apps.kruise.io/v1alpha1` CloneSets keep `partition`/`paused`/`maxSurge`/
    /// `maxUnavailable` directly under `updateStrategy`; v1beta1 kinds under
    /// `updateStrategy.rollingUpdate`). A native `apps/v1` Deployment has `spec.paused`,
    /// `spec.strategy.{type,rollingUpdate}` and no partition field: a partition-style
    /// Deployment's partition travels in the `rollouts.kruise.io/deployment-strategy`
    /// annotation the batch release writes (in `annotations`); `partition` is not written.
    pub fn to_merge_patch(&self, kind: &str, api_version: &str) -> serde_json::Value {
        use serde_json::{Map, Value, json};
        let native_deployment = kind == "Deployment" && api_version == "apps/v1";
        let mut root = Map::new();
        let mut meta = Map::new();
        let opt = |m: &BTreeMap<String, Option<String>>| -> Map<String, Value> {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))))
                .collect()
        };
        let ios = |v: &IntOrString| match v {
            IntOrString::Int(i) => json!(i),
            IntOrString::String(s) => json!(s),
        };
        let annotations = opt(&self.annotations);
        if !annotations.is_empty() {
            meta.insert("annotations".into(), Value::Object(annotations));
        }
        if !self.labels.is_empty() {
            meta.insert("labels".into(), Value::Object(opt(&self.labels)));
        }
        if !meta.is_empty() {
            root.insert("metadata".into(), Value::Object(meta));
        }
        let mut spec = Map::new();
        let mut strat = Map::new();
        if let Some(p) = &self.partition
            && !native_deployment
        {
            strat.insert("partition".into(), p.as_ref().map_or(Value::Null, ios));
        }
        if let Some(p) = self.paused {
            if native_deployment {
                spec.insert("paused".into(), json!(p));
            } else {
                strat.insert("paused".into(), json!(p));
            }
        }
        if let Some(s) = &self.max_surge {
            strat.insert("maxSurge".into(), ios(s));
        }
        if let Some(s) = &self.max_unavailable {
            strat.insert("maxUnavailable".into(), ios(s));
        }
        if let Some(r) = self.replicas {
            spec.insert("replicas".into(), json!(r));
        }
        if let Some(m) = self.min_ready_seconds {
            spec.insert("minReadySeconds".into(), json!(m));
        }
        if let Some(p) = self.progress_deadline_seconds {
            spec.insert("progressDeadlineSeconds".into(), p.map_or(Value::Null, |p| json!(p)));
        }
        let flat = kind == "CloneSet" && api_version.ends_with("v1alpha1");
        let strategy_key = if kind == "Deployment" { "strategy" } else { "updateStrategy" };
        let mut outer = Map::new();
        if let Some(ru) = &self.rolling_update {
            match ru {
                None => {
                    outer.insert("rollingUpdate".into(), Value::Null);
                }
                Some(ru) => {
                    if let Value::Object(m) = serde_json::to_value(ru).unwrap_or_default() {
                        strat.extend(m);
                    }
                }
            }
        }
        if let Some(t) = &self.strategy_type {
            outer.insert("type".into(), json!(t));
        }
        if !strat.is_empty() {
            if flat {
                outer.extend(strat);
            } else {
                outer.insert("rollingUpdate".into(), Value::Object(strat));
            }
        }
        if !outer.is_empty() {
            spec.insert(strategy_key.into(), Value::Object(outer));
        }
        if !spec.is_empty() {
            root.insert("spec".into(), Value::Object(spec));
        }
        Value::Object(root)
    }
}

/// `Kind/name` -> the plan's subject.
pub fn object_ref(subject: &str) -> ObjectRef {
    let (kind, name) = subject.split_once('/').unwrap_or(("", subject));
    ObjectRef::new(kind, name)
}

/// `Kind/name` of a plan subject.
pub fn subject_name(o: &ObjectRef) -> String {
    format!("{}/{}", o.kind, o.name)
}

/// `Kind/name` of an API object reference.
pub fn subject_of(r: &ApiObjectRef) -> String {
    format!("{}/{}", r.kind, r.name)
}

/// How the Rollout planner adds to a [`Plan`].
pub trait PlanExt {
    /// An action of the Rollout's own on `subject` (`Kind/name`).
    fn push(&mut self, kind: RolloutAction, subject: impl AsRef<str>, reason: impl Into<Reason>);
    /// A shared action on `subject`.
    fn push_shared(&mut self, kind: ActionKind, subject: impl AsRef<str>, reason: impl Into<Reason>);
    /// Labels on a pod (RO-41, RO-49): the shared `PatchPod`.
    fn label_pod(&mut self, pod: &str, labels: BTreeMap<String, String>, reason: impl Into<Reason>);
    /// `subject` waits, and why.
    fn hold(&mut self, subject: impl AsRef<str>, reason: impl Into<Reason>);
    /// Offers a requeue candidate (the smallest positive one is kept).
    fn requeue_after(&mut self, after: Duration, reason: impl Into<Reason>);
    /// The actions on `subject` (`Kind/name`).
    fn on(&self, subject: &str) -> Vec<&Action>;
    /// The BatchRelease status this plan writes, if any.
    fn batch_release_status(&self) -> Option<&kruise_api::rollouts::v1beta1::BatchReleaseStatus>;
}

impl PlanExt for Plan {
    fn push(&mut self, kind: RolloutAction, subject: impl AsRef<str>, reason: impl Into<Reason>) {
        self.push_shared(ActionKind::Rollout(kind), subject, reason);
    }
    fn push_shared(&mut self, kind: ActionKind, subject: impl AsRef<str>, reason: impl Into<Reason>) {
        self.actions.push(Action::on_object(kind, object_ref(subject.as_ref()), reason.into()));
    }
    fn label_pod(&mut self, pod: &str, labels: BTreeMap<String, String>, reason: impl Into<Reason>) {
        let patch = PodPatch {
            labels: labels.into_iter().map(|(k, v)| (k, Some(v))).collect(),
            ..PodPatch::default()
        };
        self.actions.push(Action::new(ActionKind::PatchPod { patch }, Some(pod), None, reason.into()));
    }
    fn hold(&mut self, subject: impl AsRef<str>, reason: impl Into<Reason>) {
        self.held.push(Held::object(object_ref(subject.as_ref()), reason.into()));
    }
    fn requeue_after(&mut self, after: Duration, reason: impl Into<Reason>) {
        self.requeue_at_most(after, reason.into());
    }
    fn on(&self, subject: &str) -> Vec<&Action> {
        let o = object_ref(subject);
        self.actions.iter().filter(|a| a.object.as_ref() == Some(&o)).collect()
    }
    fn batch_release_status(&self) -> Option<&kruise_api::rollouts::v1beta1::BatchReleaseStatus> {
        self.actions.iter().rev().find_map(|a| match &a.kind {
            ActionKind::Rollout(RolloutAction::UpdateBatchReleaseStatus { status }) => Some(&**status),
            _ => None,
        })
    }
}

/// The Rollout reason of a shared reason, if it is one.
pub fn rollout_reason(r: &Reason) -> Option<&RolloutReason> {
    match r {
        Reason::Rollout(r) => Some(r),
        _ => None,
    }
}
