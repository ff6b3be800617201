//! Advanced StatefulSet, `apps.kruise.io/v1beta1` (ASTS-5): the storage version the
//! controller works on. Field for field as upstream's `apis/apps/v1beta1/statefulset_types.go`.

use k8s_openapi::api::apps::v1::StatefulSetCondition;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use crate::apps::common::{InPlaceUpdateStrategy, Lifecycle, UpdatePriorityStrategy};
use crate::apps::{is_false, is_zero_i32, is_zero_i64};

use crate::apps::v1beta1::PodUpdatePolicy;

kruise_resource! {
    /// Advanced StatefulSet (`apps.kruise.io/v1beta1`): ordered, uniquely named pods with
    /// in-place update, reserved ordinals, `maxUnavailable` and lifecycle hooks.
    StatefulSet {
        group: "apps.kruise.io",
        version: "v1beta1",
        kind: "StatefulSet",
        plural: "statefulsets",
        scope: ::k8s_openapi::NamespaceResourceScope,
        spec: StatefulSetSpec,
        status: StatefulSetStatus,
    }
}

/// Largest `rollingUpdate.minReadySeconds` the webhook accepts (ASTS-5, ASTS-8).
pub const STATEFULSET_MAX_MIN_READY_SECONDS: i32 = 300;

/// The desired state of an Advanced StatefulSet (ASTS-5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatefulSetSpec {
    /// Desired pods; defaults to 1 (ASTS-7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    pub replicas: Option<i32>,
    /// Selects the pods; must match the template labels; immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
    /// The pod template.
    #[serde(default)]
    pub template: PodTemplateSpec,
    /// One PVC per template per pod, named `<template>-<set>-<ordinal>` (ASTS-17).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_claim_templates: Vec<PersistentVolumeClaim>,
    /// How PVCs follow changes of `volumeClaimTemplates` (ASTS-47).
    #[serde(default, skip_serializing_if = "VolumeClaimUpdateStrategy::is_unset")]
    pub volume_claim_update_strategy: VolumeClaimUpdateStrategy,
    /// The governing headless service; pods get `subdomain: <serviceName>`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_name: String,
    /// `OrderedReady` (default) or `Parallel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_management_policy: Option<String>,
    /// Update behaviour.
    #[serde(default)]
    pub update_strategy: StatefulSetUpdateStrategy,
    /// Revisions kept; defaults to 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    pub revision_history_limit: Option<i32>,
    /// Ordinals never used: ints, or `"a-b"` ranges (ASTS-12).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reserve_ordinals: Vec<IntOrString>,
    /// Lifecycle hooks (ASTS-43..ASTS-45).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Lifecycle>,
    /// Scaling behaviour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_strategy: Option<StatefulSetScaleStrategy>,
    /// What happens to PVCs when the set is deleted or scaled down (ASTS-19, ASTS-20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim_retention_policy: Option<StatefulSetPersistentVolumeClaimRetentionPolicy>,
    /// The first ordinal (gate `StatefulSetStartOrdinal`, ASTS-13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordinals: Option<StatefulSetOrdinals>,
}

/// How PVCs follow template changes (ASTS-47).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VolumeClaimUpdateStrategy {
    /// `OnPodRollingUpdate` or `OnDelete` (default with gate `StatefulSetAutoResizePVCGate`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
}

impl VolumeClaimUpdateStrategy {
    fn is_unset(&self) -> bool {
        self.type_.is_none()
    }
}

/// Update behaviour of a StatefulSet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatefulSetUpdateStrategy {
    /// `RollingUpdate` (default) or `OnDelete`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Rolling update parameters (only with `RollingUpdate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<RollingUpdateStatefulSetStrategy>,
}

/// Rolling update parameters (ASTS-5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RollingUpdateStatefulSetStrategy {
    /// Pods kept at the current revision (ASTS-31); defaults to 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    pub partition: Option<i32>,
    /// Pods that may be unavailable during the update (int or percent); defaults to 1. Values
    /// other than the int 1 need `podManagementPolicy: Parallel` (ASTS-8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
    /// `ReCreate` (default), `InPlaceIfPossible` or `InPlaceOnly`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_update_policy: Option<String>,
    /// Stop updating pods (scaling continues).
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused: bool,
    /// Update pods in priority order rather than by descending ordinal (Parallel only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unordered_update: Option<UnorderedUpdateStrategy>,
    /// In-place update parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_place_update_strategy: Option<InPlaceUpdateStrategy>,
    /// Seconds a pod must stay Ready to count as available (ASTS-4); 0..=300, default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    pub min_ready_seconds: Option<i32>,
}

/// Unordered update (ASTS-5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct UnorderedUpdateStrategy {
    /// Update order by priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_strategy: Option<UpdatePriorityStrategy>,
}

/// Scaling behaviour (ASTS-5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatefulSetScaleStrategy {
    /// Pods that may be unavailable while scaling up (Parallel only for values other than 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrString>,
}

/// PVC retention (ASTS-19, ASTS-20).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatefulSetPersistentVolumeClaimRetentionPolicy {
    /// `Retain` (default) or `Delete`: PVCs when the set is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_deleted: Option<String>,
    /// `Retain` (default) or `Delete`: PVCs of pods removed by a scale-down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_scaled: Option<String>,
}

/// The first ordinal (ASTS-13).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatefulSetOrdinals {
    /// The ordinal of the first replica.
    #[serde(default)]
    pub start: i32,
}

/// The observed state of an Advanced StatefulSet (ASTS-48).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatefulSetStatus {
    /// The generation this status was computed for.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub observed_generation: i64,
    /// Created pods, terminating ones included.
    #[serde(default)]
    pub replicas: i32,
    /// Running and Ready pods.
    #[serde(default)]
    pub ready_replicas: i32,
    /// Ready for `minReadySeconds`.
    #[serde(default)]
    pub available_replicas: i32,
    /// Pods at the current revision.
    #[serde(default)]
    pub current_replicas: i32,
    /// Pods at the update revision.
    #[serde(default)]
    pub updated_replicas: i32,
    /// Updated pods that are ready.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub updated_ready_replicas: i32,
    /// Updated pods that are available.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub updated_available_replicas: i32,
    /// The revision pods below the partition stay on.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub current_revision: String,
    /// The revision pods are updated to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub update_revision: String,
    /// Hash collisions seen while naming revisions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collision_count: Option<i32>,
    /// `FailedCreatePod` / `FailedUpdatePod` conditions (ASTS-49).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<StatefulSetCondition>,
    /// The selector as a string, for the scale subresource.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label_selector: String,
    /// Per claim template, how many replicas' PVCs are compatible with it (ASTS-48).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_claims: Vec<VolumeClaimStatus>,
}

/// Compatibility of one claim template's PVCs (ASTS-47, ASTS-48).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct VolumeClaimStatus {
    /// The claim template's name.
    #[serde(default)]
    pub volume_claim_name: String,
    /// Replicas whose PVC is compatible with the template.
    #[serde(default)]
    pub compatible_replicas: i32,
    /// Of those, replicas whose PVC is also resized.
    #[serde(default)]
    pub compatible_ready_replicas: i32,
}

/// Values of `podManagementPolicy`.
pub mod pod_management_policy {
    /// One pod at a time, in ordinal order, each Ready before the next (default).
    pub const ORDERED_READY: &str = "OrderedReady";
    /// All at once.
    pub const PARALLEL: &str = "Parallel";
}

/// Values of the StatefulSet `updateStrategy.type`.
pub mod statefulset_update_strategy_type {
    /// Update pods as the strategy says (default).
    pub const ROLLING_UPDATE: &str = "RollingUpdate";
    /// Never update pods; new pods get the new template.
    pub const ON_DELETE: &str = "OnDelete";
}

/// Values of `volumeClaimUpdateStrategy.type` (ASTS-47).
pub mod volume_claim_update_strategy_type {
    /// Resize PVCs while pods roll.
    pub const ON_POD_ROLLING_UPDATE: &str = "OnPodRollingUpdate";
    /// Leave PVCs alone until deleted (default).
    pub const ON_DELETE: &str = "OnDelete";
}

/// Values of `persistentVolumeClaimRetentionPolicy.whenDeleted` / `whenScaled`.
pub mod pvc_retention_policy {
    /// Keep the PVCs (default).
    pub const RETAIN: &str = "Retain";
    /// Delete the PVCs.
    pub const DELETE: &str = "Delete";
}

impl StatefulSet {
    /// `spec.replicas`, defaulting to 1.
    pub fn replicas(&self) -> i32 {
        self.spec.replicas.unwrap_or(1)
    }
    /// True when `updateStrategy.type` is `OnDelete`.
    pub fn is_on_delete(&self) -> bool {
        self.spec.update_strategy.type_.as_deref() == Some(statefulset_update_strategy_type::ON_DELETE)
    }
    /// True when `podManagementPolicy` is `Parallel`.
    pub fn is_parallel(&self) -> bool {
        self.spec.pod_management_policy.as_deref() == Some(pod_management_policy::PARALLEL)
    }
    /// ASTS-4: `rollingUpdate.minReadySeconds`, 0 when unset.
    pub fn min_ready_seconds(&self) -> i32 {
        self.spec.update_strategy.rolling_update.as_ref().and_then(|r| r.min_ready_seconds).unwrap_or(0)
    }
    /// The pod update policy (ReCreate when there is no `rollingUpdate`).
    pub fn pod_update_policy(&self) -> PodUpdatePolicy {
        PodUpdatePolicy::parse(
            self.spec.update_strategy.rolling_update.as_ref().and_then(|r| r.pod_update_policy.as_deref()),
        )
    }
}

/// The ordinals `spec.reserveOrdinals` reserves, read as the controller reads them (ASTS-12):
/// an int reserves one ordinal, a string `"a-b"` every ordinal in `a..=b`; if any string fails
/// to parse (not two `-`-separated integers, or `a > b`) nothing is reserved at all. Ranges
/// are kept as ranges, so a huge range costs nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReservedOrdinals {
    ranges: Vec<(i64, i64)>,
}

impl ReservedOrdinals {
    /// Parses `reserveOrdinals` (ASTS-12).
    pub fn parse(items: &[IntOrString]) -> Self {
        let mut ranges = Vec::with_capacity(items.len());
        for item in items {
            match item {
                IntOrString::Int(i) => ranges.push((i64::from(*i), i64::from(*i))),
                IntOrString::String(s) => match parse_controller_range(s) {
                    Some(r) => ranges.push(r),
                    None => return Self::default(),
                },
            }
        }
        ranges.sort_unstable();
        Self { ranges }
    }
    /// True when `ordinal` is reserved.
    pub fn contains(&self, ordinal: i64) -> bool {
        self.ranges.iter().any(|&(a, b)| (a..=b).contains(&ordinal))
    }
    /// True when nothing is reserved.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
    /// The reserved ranges, inclusive, sorted (they may overlap).
    pub fn ranges(&self) -> &[(i64, i64)] {
        &self.ranges
    }
}

/// The controller's range reader (ASTS-12): exactly two `-`-separated parts, each a Go `Atoi`
/// integer (optional sign), start not above end. Laxer than the webhook (which wants
/// `^\d+-\d+$`).
fn parse_controller_range(s: &str) -> Option<(i64, i64)> {
    let mut parts = s.split('-');
    let (a, b) = (parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let atoi = |t: &str| -> Option<i64> {
        let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
        if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (a, b) = (atoi(a)?, atoi(b)?);
    (a <= b).then_some((a, b))
}

impl StatefulSet {
    /// ASTS-12: the reserved ordinals.
    pub fn reserved_ordinals(&self) -> ReservedOrdinals {
        ReservedOrdinals::parse(&self.spec.reserve_ordinals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asts_12_reserved_ordinals() {
        let r = ReservedOrdinals::parse(&[IntOrString::Int(1), IntOrString::String("4-6".into())]);
        assert!(r.contains(1) && r.contains(4) && r.contains(6));
        assert!(!r.contains(0) && !r.contains(3) && !r.contains(7));
        let huge = ReservedOrdinals::parse(&[IntOrString::String("0-2000000000".into())]);
        assert!(huge.contains(1_999_999_999));
        let bad = ReservedOrdinals::parse(&[IntOrString::Int(1), IntOrString::String("6-4".into())]);
        assert!(bad.is_empty(), "one bad range voids every reservation");
        assert!(ReservedOrdinals::parse(&[IntOrString::String("1-2-3".into())]).is_empty());
        assert!(ReservedOrdinals::parse(&[IntOrString::String("x".into())]).is_empty());
        assert!(ReservedOrdinals::parse(&[IntOrString::String("+1-2".into())]).contains(1));
    }
}
