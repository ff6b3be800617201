//! Types shared by several workloads (upstream's `apps/pub` package): lifecycle hooks, update
//! priority, scatter, in-place update strategy and state (CS-6, CS-71).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use super::{is_false, is_zero_i32};

/// Lifecycle hooks of a workload's pods (CS-6, §11 of the CloneSet spec).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Lifecycle {
    /// Hook holding a pod in `PreparingDelete` before it is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_delete: Option<LifecycleHook>,
    /// Hook holding a pod in `PreparingUpdate` before an in-place update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_place_update: Option<LifecycleHook>,
    /// Hook a new pod must satisfy before it becomes `Normal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_normal: Option<LifecycleHook>,
}

/// One lifecycle hook: labels and/or finalizers a user's controller manages (CS-78).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct LifecycleHook {
    /// Labels (key and exact value) that hold the pod.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels_handler: BTreeMap<String, String>,
    /// Finalizers that hold the pod.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers_handler: Vec<String>,
    /// Also set the pod's `KruisePodReady` condition False while hooked (CS-80).
    #[serde(default, skip_serializing_if = "is_false")]
    pub mark_pod_not_ready: bool,
}

/// Order in which pods are updated: by weight or by label order; only one list may be set
/// (CS-18, CS-59).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UpdatePriorityStrategy {
    /// Label keys, most important first; pods with a larger trailing number go first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_priority: Vec<UpdatePriorityOrderTerm>,
    /// Weighted selectors; pods with the largest summed weight go first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weight_priority: Vec<UpdatePriorityWeightTerm>,
}

/// One label key of `orderPriority`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UpdatePriorityOrderTerm {
    /// The label key whose value's trailing number orders pods.
    #[serde(default)]
    pub ordered_key: String,
}

/// One weighted selector of `weightPriority`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UpdatePriorityWeightTerm {
    /// Weight, 0..=100.
    #[serde(default)]
    pub weight: i32,
    /// Pods this term applies to.
    #[serde(default)]
    pub match_selector: LabelSelector,
}

/// One `key: value` term of a scatter strategy (CS-60).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
pub struct UpdateScatterTerm {
    /// Label key.
    #[serde(default)]
    pub key: String,
    /// Label value.
    #[serde(default)]
    pub value: String,
}

/// Spread pods carrying these labels evenly over the update order (CS-60).
pub type UpdateScatterStrategy = Vec<UpdateScatterTerm>;

/// How in-place updates are carried out (CS-6, CS-72).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct InPlaceUpdateStrategy {
    /// Seconds between marking a pod not-ready and changing its spec. 0 = no wait.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub grace_period_seconds: i32,
    /// Image pre-download parallelism (v1beta1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pre_download_parallelism: Option<IntOrString>,
    /// Image pre-download timeout in seconds (v1beta1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pre_download_timeout_seconds: Option<i32>,
    /// Updated-and-ready pods needed before pre-download starts (v1beta1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pre_download_min_updated_ready_pods: Option<i32>,
}

/// The JSON stored in the pod annotation `apps.kruise.io/inplace-update-state` (CS-71).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InPlaceUpdateState {
    /// Revision the pod is being updated to.
    #[serde(default)]
    pub revision: String,
    /// When the update started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_timestamp: Option<Time>,
    /// Container statuses before the update, by container name.
    #[serde(default)]
    pub last_container_statuses: BTreeMap<String, InPlaceUpdateContainerStatus>,
    /// Env from metadata changed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub update_env_from_metadata: bool,
    /// Resources changed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub update_resources: bool,
    /// Images changed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub update_images: bool,
    /// Images of the next container batch.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub next_container_images: BTreeMap<String, String>,
    /// Metadata of the next container batch.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub next_container_ref_metadata: BTreeMap<String, ObjectMeta>,
    /// Resources of the next container batch.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub next_container_resources: BTreeMap<String, ResourceRequirements>,
    /// What must hold before the next batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_check_before_next: Option<InPlaceUpdatePreCheckBeforeNext>,
    /// Batches applied so far.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub container_batches_record: Vec<InPlaceUpdateContainerBatch>,
}

/// Checks before the next container batch (CS-73).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InPlaceUpdatePreCheckBeforeNext {
    /// Containers that must report ready.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers_required_ready: Vec<String>,
}

/// One applied container batch (CS-71).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InPlaceUpdateContainerBatch {
    /// When the batch was applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Time>,
    /// Container names, sorted.
    #[serde(default)]
    pub containers: Vec<String>,
}

/// A container's status recorded before an in-place update (CS-71).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InPlaceUpdateContainerStatus {
    /// The image ID the container ran before the update.
    #[serde(rename = "imageID", default, skip_serializing_if = "String::is_empty")]
    pub image_id: String,
}

/// The JSON kruise-daemon writes in `apps.kruise.io/runtime-containers-meta` (CS-74).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeContainerMetaSet {
    /// One entry per container.
    #[serde(default)]
    pub containers: Vec<RuntimeContainerMeta>,
}

/// Runtime facts of one container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeContainerMeta {
    /// Container name.
    #[serde(default)]
    pub name: String,
    /// Container runtime ID.
    #[serde(rename = "containerID", default)]
    pub container_id: String,
    /// Restarts.
    #[serde(default)]
    pub restart_count: i32,
    /// Hashes of the container spec.
    #[serde(default)]
    pub hashes: RuntimeContainerHashes,
}

/// Hashes kruise-daemon computes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeContainerHashes {
    /// Hash of the container spec.
    #[serde(default)]
    pub plain_hash: u64,
    /// Hash of env values taken from metadata.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub extracted_env_from_metadata_hash: u64,
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}
