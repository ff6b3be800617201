//! Workload facts (RO-20, RO-21, RO-67): what the Rollout planner reads of the workload it
//! releases, normalised over the kinds. Adapters build a [`Workload`] with the `from_*`
//! constructors (or fill the fields themselves for kinds without one).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::{v1alpha1, v1beta1};
use kruise_api::keys;

use super::types::Obj;

/// The kinds a Rollout can drive (RO-9.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WorkloadKind {
    /// `apps.kruise.io` CloneSet.
    CloneSet,
    /// `apps.kruise.io` StatefulSet (v1beta1 or v1alpha1).
    AdvancedStatefulSet,
    /// `apps/v1` StatefulSet.
    StatefulSet,
    /// `apps.kruise.io` DaemonSet.
    AdvancedDaemonSet,
    /// `apps/v1` DaemonSet.
    DaemonSet,
    /// `apps/v1` Deployment.
    Deployment,
    /// `apps/v1` ReplicaSet.
    ReplicaSet,
}

impl WorkloadKind {
    /// The kind for an `apiVersion` group and `kind` (RO-9.8), if supported.
    pub fn from_ref(group: &str, kind: &str) -> Option<Self> {
        Some(match (group, kind) {
            ("apps.kruise.io", "CloneSet") => Self::CloneSet,
            ("apps.kruise.io", "StatefulSet") => Self::AdvancedStatefulSet,
            ("apps.kruise.io", "DaemonSet") => Self::AdvancedDaemonSet,
            ("apps", "StatefulSet") => Self::StatefulSet,
            ("apps", "DaemonSet") => Self::DaemonSet,
            ("apps", "Deployment") => Self::Deployment,
            ("apps", "ReplicaSet") => Self::ReplicaSet,
            _ => return None,
        })
    }
    /// The label key whose value is the pod's revision (RO-20).
    pub fn revision_label_key(self) -> &'static str {
        match self {
            Self::CloneSet | Self::Deployment | Self::ReplicaSet => keys::POD_TEMPLATE_HASH,
            _ => keys::CONTROLLER_REVISION_HASH,
        }
    }
    /// The Kubernetes kind name.
    pub fn kind_name(self) -> &'static str {
        match self {
            Self::CloneSet => "CloneSet",
            Self::AdvancedStatefulSet | Self::StatefulSet => "StatefulSet",
            Self::AdvancedDaemonSet | Self::DaemonSet => "DaemonSet",
            Self::Deployment => "Deployment",
            Self::ReplicaSet => "ReplicaSet",
        }
    }
}

/// The rolling update of a partition-style Deployment's strategy annotation (RO-42).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvancedRollingUpdate {
    /// `maxUnavailable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// `maxSurge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrString>,
}

/// The `rollouts.kruise.io/deployment-strategy` annotation of a partition-style ("advanced")
/// Deployment (RO-7, RO-42): what the advanced Deployment controller reads instead of the
/// native strategy while the native controller is held (`paused`, `Recreate`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvancedDeploymentStrategy {
    /// `Partition`.
    #[serde(default)]
    pub rolling_style: String,
    /// The rolling update moved out of the native strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<AdvancedRollingUpdate>,
    /// Pods to update (int or percent).
    #[serde(default = "zero")]
    pub partition: IntOrString,
    /// Paused.
    #[serde(default)]
    pub paused: bool,
}

fn zero() -> IntOrString {
    IntOrString::Int(0)
}

/// The suffix blue-green appends to an HPA's `scaleTargetRef.name` to disable it (RO-42).
pub const HPA_DISABLE_SUFFIX: &str = "-DisableByRollout";

/// The HorizontalPodAutoscaler scaling the workload (blue-green disables it, RO-42/RO-43).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScaledBy {
    /// The HPA's `apiVersion` (`autoscaling/v2` or `autoscaling/v1`).
    pub api_version: String,
    /// The HPA's name.
    pub name: String,
    /// `spec.scaleTargetRef.apiVersion`.
    pub target_api_version: String,
    /// `spec.scaleTargetRef.kind`.
    pub target_kind: String,
    /// `spec.scaleTargetRef.name` as stored (with [`HPA_DISABLE_SUFFIX`] while disabled).
    pub target_name: String,
}

impl ScaledBy {
    /// The HPA in `hpas` (stored JSON, any `autoscaling` version; `autoscaling/v2` first as
    /// upstream looks it up) whose `scaleTargetRef` names the workload `api_version`/`kind`/
    /// `name`, disabled (suffixed) or not.
    pub fn find(hpas: &[serde_json::Value], api_version: &str, kind: &str, name: &str) -> Option<Self> {
        let str_at = |v: &serde_json::Value, p: &str| {
            v.pointer(p).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned()
        };
        let mut found: Vec<Self> = hpas
            .iter()
            .map(|h| Self {
                api_version: str_at(h, "/apiVersion"),
                name: str_at(h, "/metadata/name"),
                target_api_version: str_at(h, "/spec/scaleTargetRef/apiVersion"),
                target_kind: str_at(h, "/spec/scaleTargetRef/kind"),
                target_name: str_at(h, "/spec/scaleTargetRef/name"),
            })
            .filter(|h| {
                h.target_api_version == api_version
                    && h.target_kind == kind
                    && remove_hpa_suffix(&h.target_name) == name
            })
            .collect();
        found.sort_by_key(|h| (h.api_version != "autoscaling/v2", h.name.clone()));
        found.into_iter().next()
    }

    /// Disabled by a release (the target name carries [`HPA_DISABLE_SUFFIX`]).
    pub fn disabled(&self) -> bool {
        self.target_name.ends_with(HPA_DISABLE_SUFFIX)
    }
}

/// The target name without any [`HPA_DISABLE_SUFFIX`] (upstream strips it repeatedly).
pub fn remove_hpa_suffix(name: &str) -> &str {
    let mut n = name;
    while let Some(rest) = n.strip_suffix(HPA_DISABLE_SUFFIX) {
        n = rest;
    }
    n
}

/// The canary Deployment of a canary-style release (RO-12, RO-42).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CanaryWorkload {
    /// Its name.
    pub name: String,
    /// `spec.replicas`.
    pub replicas: i32,
    /// `status.replicas`.
    pub status_replicas: i32,
    /// `status.availableReplicas`.
    pub available_replicas: i32,
    /// The pod-template-hash of its oldest ReplicaSet.
    pub pod_template_hash: String,
}

/// The workload as the Rollout planner sees it (RO-20, RO-67).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workload {
    /// Its kind; `None` for a kind a Rollout cannot drive.
    pub kind: Option<WorkloadKind>,
    /// `apiVersion`.
    pub api_version: String,
    /// Name.
    pub name: String,
    /// `metadata.generation`.
    pub generation: i64,
    /// `status.observedGeneration`.
    pub observed_generation: i64,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// `R`: `spec.replicas` (a missing value counts as 1), DaemonSets
    /// `status.desiredNumberScheduled`.
    pub replicas: i32,
    /// The partition as stored (CloneSet: int or percent; integer kinds as `Int`).
    pub partition: Option<IntOrString>,
    /// The update strategy's `paused`.
    pub paused: bool,
    /// `maxSurge` as stored (blue-green).
    pub max_surge: Option<IntOrString>,
    /// `maxUnavailable` as stored (blue-green; the canary-style resume check).
    pub max_unavailable: Option<IntOrString>,
    /// `spec.minReadySeconds` (blue-green).
    pub min_ready_seconds: i32,
    /// `spec.progressDeadlineSeconds` (Deployment, blue-green).
    pub progress_deadline_seconds: Option<i32>,
    /// `status.readyReplicas` (blue-green release wait, RO-43).
    pub ready_replicas: i32,
    /// `status.availableReplicas` (Deployment resume wait, RO-43).
    pub available_replicas: i32,
    /// A Deployment's stable ReplicaSet (the one whose pod-template-hash is the
    /// `rollouts.kruise.io/stable-revision` label; blue-green holds its pods, RO-42).
    pub stable_replica_set: Option<String>,
    /// The HPA scaling the workload, if any (blue-green disables it while releasing).
    pub hpa: Option<ScaledBy>,
    /// A Deployment's `spec.strategy.type` (partition style switches it to `Recreate`).
    pub strategy_type: Option<String>,
    /// A partition-style Deployment's strategy annotation, when it parses (RO-42).
    pub advanced_strategy: Option<AdvancedDeploymentStrategy>,
    /// The stable Deployment's spec (canary style: the canary Deployment is a copy of it,
    /// RO-42); `None` for other kinds.
    pub deployment_spec: Option<Obj<DeploymentSpec>>,
    /// Advanced StatefulSet `unorderedUpdate` is set.
    pub unordered_update: bool,
    /// `status.replicas`.
    pub status_replicas: i32,
    /// `status.updatedReplicas` (`U` of RO-40).
    pub updated_replicas: i32,
    /// `status.updatedReadyReplicas` (`UR` of RO-40).
    pub updated_ready_replicas: i32,
    /// `status.currentRevision` (full name).
    pub current_revision: String,
    /// `status.updateRevision` (full name).
    pub update_revision: String,
    /// RO-20 `stableRevision` (short hash).
    pub stable_revision: String,
    /// RO-20 `canaryRevision` (short hash).
    pub canary_revision: String,
    /// RO-20 `podTemplateHash` (canary Service selector value).
    pub pod_template_hash: String,
    /// RO-20 `isInRollback`.
    pub in_rollback: bool,
    /// The canary Deployment, canary style only: the newest one of this release whose
    /// template is the stable Deployment's (RO-20, RO-65).
    pub canary: Option<CanaryWorkload>,
    /// Every canary Deployment of this release (label `rollouts.kruise.io/canary-deployment`
    /// and controlled by the BatchRelease), template match or not: what RO-43 removes.
    pub canary_deployments: Vec<String>,
}

/// The part after the last `-` (RO-20): `web-aaa` -> `aaa`.
pub fn short_revision(rev: &str) -> &str {
    rev.rsplit_once('-').map_or(rev, |(_, h)| h)
}

impl Workload {
    /// The `in-progressing` annotation is present (RO-7, RO-20).
    pub fn in_rollout_progressing(&self) -> bool {
        self.annotations.contains_key(keys::ROLLOUT_IN_PROGRESSING)
    }
    /// RO-20: the spec has not been observed by the workload controller yet.
    pub fn inconsistent(&self) -> bool {
        self.generation != self.observed_generation
    }
    /// RO-21: the workload's `rollout-id` label, else the canary revision (prefixed
    /// `rollback-` when rolling back).
    pub fn rollout_id(&self) -> String {
        match self.labels.get(keys::ROLLOUT_ID) {
            Some(id) if !id.is_empty() => id.clone(),
            _ if self.in_rollback => format!("rollback-{}", self.canary_revision),
            _ => self.canary_revision.clone(),
        }
    }
    /// The label key of pod revisions (RO-20).
    pub fn revision_label_key(&self) -> &'static str {
        self.kind.map_or(keys::POD_TEMPLATE_HASH, WorkloadKind::revision_label_key)
    }
    /// `Kind/name`, the subject of workload actions.
    pub fn subject(&self) -> String {
        format!("{}/{}", self.kind.map_or("Workload", WorkloadKind::kind_name), self.name)
    }

    fn revisions_from_status(&mut self) {
        self.stable_revision = short_revision(&self.current_revision).to_owned();
        self.canary_revision = short_revision(&self.update_revision).to_owned();
        self.pod_template_hash = self.canary_revision.clone();
        self.in_rollback = self.in_rollout_progressing()
            && self.current_revision == self.update_revision
            && self.updated_replicas != self.replicas;
    }

    /// RO-20 for a CloneSet (v1beta1 shape; convert v1alpha1 first).
    pub fn from_cloneset(cs: &v1beta1::CloneSet) -> Self {
        let ru = cs.spec.update_strategy.rolling_update.as_ref();
        let st = cs.status.clone().unwrap_or_default();
        let mut w = Self::meta(Some(WorkloadKind::CloneSet), v1beta1::API_VERSION, &cs.metadata);
        w.observed_generation = st.observed_generation;
        w.replicas = cs.spec.replicas.unwrap_or(1);
        w.partition = ru.and_then(|r| r.partition.clone());
        w.paused = ru.is_some_and(|r| r.paused);
        w.max_surge = ru.and_then(|r| r.max_surge.clone());
        w.max_unavailable = ru.and_then(|r| r.max_unavailable.clone());
        w.min_ready_seconds = cs.spec.min_ready_seconds;
        w.progress_deadline_seconds = cs.spec.progress_deadline_seconds;
        w.status_replicas = st.replicas;
        w.ready_replicas = st.ready_replicas;
        w.available_replicas = st.available_replicas;
        w.updated_replicas = st.updated_replicas;
        w.updated_ready_replicas = st.updated_ready_replicas;
        w.current_revision = st.current_revision;
        w.update_revision = st.update_revision;
        w.revisions_from_status();
        w
    }

    /// RO-20 for a v1alpha1 CloneSet.
    pub fn from_cloneset_v1alpha1(cs: &v1alpha1::CloneSet) -> Self {
        let mut w = Self::meta(Some(WorkloadKind::CloneSet), v1alpha1::API_VERSION, &cs.metadata);
        let st = cs.status.clone().unwrap_or_default();
        w.observed_generation = st.observed_generation;
        w.replicas = cs.spec.replicas.unwrap_or(1);
        w.partition = cs.spec.update_strategy.partition.clone();
        w.paused = cs.spec.update_strategy.paused;
        w.max_surge = cs.spec.update_strategy.max_surge.clone();
        w.max_unavailable = cs.spec.update_strategy.max_unavailable.clone();
        w.min_ready_seconds = cs.spec.min_ready_seconds;
        w.progress_deadline_seconds = cs.spec.progress_deadline_seconds;
        w.ready_replicas = st.ready_replicas;
        w.available_replicas = st.available_replicas;
        w.status_replicas = st.replicas;
        w.updated_replicas = st.updated_replicas;
        w.updated_ready_replicas = st.updated_ready_replicas;
        w.current_revision = st.current_revision;
        w.update_revision = st.update_revision;
        w.revisions_from_status();
        w
    }

    /// RO-20 for an Advanced StatefulSet (v1beta1).
    pub fn from_advanced_statefulset(sts: &v1beta1::StatefulSet) -> Self {
        let ru = sts.spec.update_strategy.rolling_update.as_ref();
        let st = sts.status.clone().unwrap_or_default();
        let mut w = Self::meta(Some(WorkloadKind::AdvancedStatefulSet), v1beta1::API_VERSION, &sts.metadata);
        w.observed_generation = st.observed_generation;
        w.replicas = sts.spec.replicas.unwrap_or(1);
        w.partition = ru.and_then(|r| r.partition).map(IntOrString::Int);
        w.paused = ru.is_some_and(|r| r.paused);
        w.unordered_update = ru.is_some_and(|r| r.unordered_update.is_some());
        w.status_replicas = st.replicas;
        w.updated_replicas = st.updated_replicas;
        w.updated_ready_replicas = st.updated_ready_replicas;
        w.current_revision = st.current_revision;
        w.update_revision = st.update_revision;
        w.revisions_from_status();
        w
    }

    /// RO-20 for an Advanced DaemonSet (v1beta1): no stable revision, never in rollback,
    /// `R = desiredNumberScheduled`.
    pub fn from_advanced_daemonset(ds: &v1beta1::DaemonSet) -> Self {
        let ru = ds.spec.update_strategy.rolling_update.as_ref();
        let st = ds.status.clone().unwrap_or_default();
        let mut w = Self::meta(Some(WorkloadKind::AdvancedDaemonSet), v1beta1::API_VERSION, &ds.metadata);
        w.observed_generation = st.observed_generation;
        w.replicas = st.desired_number_scheduled;
        w.partition = ru.and_then(|r| r.partition.clone());
        w.paused = ru.and_then(|r| r.paused).unwrap_or(false);
        w.status_replicas = st.current_number_scheduled;
        w.updated_replicas = st.updated_number_scheduled;
        // The DaemonSet status has no updated-ready count; the pods give it (RO-40).
        w.updated_ready_replicas = 0;
        w.update_revision = st.update_revision;
        w.canary_revision = short_revision(&w.update_revision).to_owned();
        w.pod_template_hash = w.canary_revision.clone();
        w
    }

    /// RO-20 for a native Deployment with its owned ReplicaSets. `canary_style` selects the
    /// canary-style facts (extra canary Deployment `canary` with its ReplicaSets); otherwise
    /// the partition-style / blue-green facts (stable revision from the
    /// `rollouts.kruise.io/stable-revision` label). A Deployment's pod-template-hash cannot be
    /// recomputed here (Kubernetes hashes a Go dump of the template), so the revisions of pods
    /// are read from the ReplicaSets' `pod-template-hash` labels. Canary style names the
    /// release by [`template_hash`] of the Deployment's template instead (the stable
    /// Deployment is paused, so no ReplicaSet has the new template yet; RO-20's
    /// `canaryRevision`), except in a rollback, where the oldest ReplicaSet has it.
    pub fn from_deployment(
        dep: &Deployment,
        replica_sets: &[ReplicaSet],
        canary: Option<(&Deployment, &[ReplicaSet])>,
        canary_style: bool,
    ) -> Self {
        let spec = dep.spec.clone().unwrap_or_default();
        let st = dep.status.clone().unwrap_or_default();
        let mut w = Self::meta(Some(WorkloadKind::Deployment), "apps/v1", &dep.metadata);
        w.observed_generation = st.observed_generation.unwrap_or(0);
        w.replicas = spec.replicas.unwrap_or(1);
        w.paused = spec.paused.unwrap_or(false);
        w.strategy_type = spec.strategy.as_ref().and_then(|s| s.type_.clone());
        let ru = spec.strategy.as_ref().and_then(|s| s.rolling_update.as_ref());
        w.max_surge = ru.and_then(|r| r.max_surge.clone());
        w.max_unavailable = ru.and_then(|r| r.max_unavailable.clone());
        w.min_ready_seconds = spec.min_ready_seconds.unwrap_or(0);
        w.progress_deadline_seconds = spec.progress_deadline_seconds;
        w.status_replicas = st.replicas.unwrap_or(0);
        w.ready_replicas = st.ready_replicas.unwrap_or(0);
        w.available_replicas = st.available_replicas.unwrap_or(0);
        w.updated_replicas = st.updated_replicas.unwrap_or(0);
        w.updated_ready_replicas = st.available_replicas.unwrap_or(0).min(w.updated_replicas);
        let template = super::admission::template_json(&spec.template);
        let same_template = |rs: &ReplicaSet| {
            rs.spec.as_ref().and_then(|s| s.template.as_ref()).map(super::admission::template_json)
                == Some(template.clone())
        };
        let mut active: Vec<&ReplicaSet> = replica_sets
            .iter()
            .filter(|rs| rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0) > 0)
            .collect();
        active.sort_by_key(|r| rs_age_key(r));
        let new_rs = replica_sets.iter().find(|rs| same_template(rs));
        let current = new_rs.map(rs_hash).unwrap_or_default();
        // The new ReplicaSet's ready pods: blue-green sets a huge minReadySeconds, so the
        // Deployment's available count stays at 0 while the new pods are ready (RO-40).
        if let Some(ready) = new_rs.and_then(|rs| rs.status.as_ref()).and_then(|s| s.ready_replicas) {
            w.updated_ready_replicas = ready.min(w.updated_replicas);
        }
        if canary_style {
            let oldest = active.first();
            w.stable_revision = oldest.map(|rs| rs_hash(rs)).unwrap_or_default();
            w.in_rollback = w.in_rollout_progressing() && oldest.is_some_and(|rs| same_template(rs));
            w.canary_revision =
                if w.in_rollback { w.stable_revision.clone() } else { template_hash(&spec.template) };
            if let Some((c, crs)) = canary {
                let cst = c.status.clone().unwrap_or_default();
                let mut owned: Vec<&ReplicaSet> = crs.iter().collect();
                owned.sort_by_key(|r| rs_age_key(r));
                let hash_of_canary = owned.first().map(|rs| rs_hash(rs)).unwrap_or_default();
                w.pod_template_hash = hash_of_canary.clone();
                w.canary = Some(CanaryWorkload {
                    name: c.metadata.name.clone().unwrap_or_default(),
                    replicas: c.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                    status_replicas: cst.replicas.unwrap_or(0),
                    available_replicas: cst.available_replicas.unwrap_or(0),
                    pod_template_hash: hash_of_canary,
                });
            }
        } else {
            w.stable_revision = w.labels.get(keys::ROLLOUT_STABLE_REVISION).cloned().unwrap_or_default();
            w.stable_replica_set = replica_sets
                .iter()
                .find(|rs| !w.stable_revision.is_empty() && rs_hash(rs) == w.stable_revision)
                .and_then(|rs| rs.metadata.name.clone());
            // Partition style: the partition and the updated-ready count live in annotations
            // the advanced Deployment controller reads and writes (RO-40, RO-42).
            w.advanced_strategy = w
                .annotations
                .get(keys::ROLLOUT_DEPLOYMENT_STRATEGY)
                .and_then(|t| serde_json::from_str::<AdvancedDeploymentStrategy>(t).ok());
            w.partition = w.advanced_strategy.as_ref().map(|s| s.partition.clone());
            if let Some(ready) = w
                .annotations
                .get(keys::ROLLOUT_DEPLOYMENT_EXTRA_STATUS)
                .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
                .and_then(|v| v.get("updatedReadyReplicas").and_then(serde_json::Value::as_i64))
            {
                w.updated_ready_replicas = i32::try_from(ready).unwrap_or(0);
            }
            w.pod_template_hash = current.clone();
            w.canary_revision = current.clone();
            w.in_rollback = !current.is_empty() && current == w.stable_revision;
        }
        w.current_revision = w.stable_revision.clone();
        w.update_revision = w.canary_revision.clone();
        w.deployment_spec = Some(Obj::new(spec));
        w
    }

    /// RO-20 over the objects of a Deployment release as an adapter lists them: the
    /// Deployment `dep`, every ReplicaSet and Deployment of its namespace (`others`; what is
    /// not owned by `dep` or by one of its canary Deployments is ignored), for the Rollout
    /// `rollout` whose BatchRelease has uid `br_uid` (canary Deployments are the ones labelled
    /// `rollouts.kruise.io/canary-deployment=<dep>` and controlled by the BatchRelease named
    /// like the Rollout; without a known uid the name decides). The canary used is the newest
    /// live one whose template equals `dep`'s, ignoring the `patchPodTemplateMetadata` keys
    /// (RO-65) and `pod-template-hash`.
    pub fn from_deployment_objects(
        rollout: &kruise_api::rollouts::v1beta1::Rollout,
        dep: &Deployment,
        replica_sets: &[ReplicaSet],
        deployments: &[Deployment],
        br_uid: Option<&str>,
    ) -> Self {
        let name = dep.metadata.name.clone().unwrap_or_default();
        let rollout_name = rollout.metadata.name.clone().unwrap_or_default();
        let canary_style = rollout.spec.strategy.rolling_style()
            == Some(kruise_api::rollouts::v1beta1::RollingStyle::Canary);
        let owned_by = |rs: &ReplicaSet, d: &Deployment| {
            controller_of(&rs.metadata).is_some_and(|o| {
                o.kind == "Deployment"
                    && o.name == d.metadata.name.clone().unwrap_or_default()
                    && d.metadata.uid.as_ref().is_none_or(|u| *u == o.uid)
            })
        };
        let stable_rs: Vec<ReplicaSet> =
            replica_sets.iter().filter(|rs| owned_by(rs, dep)).cloned().collect();
        let mut canaries: Vec<&Deployment> = deployments
            .iter()
            .filter(|d| {
                d.metadata.labels.as_ref().and_then(|l| l.get(keys::ROLLOUT_CANARY_DEPLOYMENT)) == Some(&name)
                    && controller_of(&d.metadata).is_some_and(|o| {
                        o.kind == "BatchRelease"
                            && o.name == rollout_name
                            && br_uid.is_none_or(|u| u == o.uid)
                    })
            })
            .collect();
        canaries.sort_by_key(|d| std::cmp::Reverse(d.metadata.creation_timestamp.as_ref().map(|t| t.0)));
        let patch =
            rollout.spec.strategy.canary.as_ref().and_then(|c| c.patch_pod_template_metadata.as_ref());
        let strip = |t: &PodTemplateSpec| {
            let mut t = t.clone();
            if let (Some(m), Some(p)) = (t.metadata.as_mut(), patch) {
                for k in p.labels.keys() {
                    m.labels.as_mut().map(|l| l.remove(k));
                }
                for k in p.annotations.keys() {
                    m.annotations.as_mut().map(|a| a.remove(k));
                }
                if m.annotations.as_ref().is_some_and(BTreeMap::is_empty) {
                    m.annotations = None;
                }
            }
            super::admission::template_json(&t)
        };
        let want = dep.spec.as_ref().map(|s| strip(&s.template));
        let chosen = canaries.iter().find(|d| {
            d.metadata.deletion_timestamp.is_none() && d.spec.as_ref().map(|s| strip(&s.template)) == want
        });
        let canary_rs: Vec<ReplicaSet> = chosen
            .map(|c| replica_sets.iter().filter(|rs| owned_by(rs, c)).cloned().collect())
            .unwrap_or_default();
        let mut w =
            Self::from_deployment(dep, &stable_rs, chosen.map(|c| (*c, canary_rs.as_slice())), canary_style);
        w.canary_deployments = canaries.iter().filter_map(|d| d.metadata.name.clone()).collect();
        w.canary_deployments.sort();
        w
    }

    fn meta(
        kind: Option<WorkloadKind>,
        api_version: &str,
        m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    ) -> Self {
        Self {
            kind,
            api_version: api_version.to_owned(),
            name: m.name.clone().unwrap_or_default(),
            generation: m.generation.unwrap_or(0),
            labels: m.labels.clone().unwrap_or_default(),
            annotations: m.annotations.clone().unwrap_or_default(),
            ..Self::default()
        }
    }
}

/// The `pod-template-hash` label of a ReplicaSet.
fn rs_hash(rs: &ReplicaSet) -> String {
    rs.metadata.labels.as_ref().and_then(|l| l.get(keys::POD_TEMPLATE_HASH)).cloned().unwrap_or_default()
}

/// Oldest first: creation time, then name.
fn rs_age_key(r: &ReplicaSet) -> (Option<jiff::Timestamp>, Option<String>) {
    (r.metadata.creation_timestamp.as_ref().map(|t| t.0), r.metadata.name.clone())
}

fn controller_of(
    m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference> {
    m.owner_references.iter().flatten().find(|o| o.controller == Some(true))
}

/// Our name for a Deployment template (RO-20 canary style `canaryRevision`, the canary
/// Deployment's name suffix): FNV-1a 32 over the template's JSON without the
/// `pod-template-hash` label, in Kubernetes' safe encoding. It is *not* the
/// `pod-template-hash` Kubernetes computes (that hashes a Go dump of the template); only
/// equality is used (docs/deviations.md, Rollout).
pub fn template_hash(t: &PodTemplateSpec) -> String {
    let json = kruise_api::gojson::to_string(&super::admission::template_json(t));
    crate::revision::safe_encode(&kruise_api::hash::fnv32a(&[json.as_bytes()]).to_string())
}
