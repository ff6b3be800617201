//! Upstream feature gates and controller flags that change planner behaviour (CS-90), with
//! upstream's defaults.

use serde::{Deserialize, Serialize};

/// Feature gates and controller flags. `Features::default()` is upstream's default set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Features {
    /// `CloneSetShortHash` (off): the revision label holds only the short hash.
    pub clone_set_short_hash: bool,
    /// `CloneSetPartitionRollback` (off): raising partition moves pods back (CS-38).
    pub clone_set_partition_rollback: bool,
    /// `PreparingUpdateAsUpdate` (off): `PreparingUpdate` pods count as updated for scaling.
    pub preparing_update_as_update: bool,
    /// `InPlaceUpdateEnvFromMetadata` (on): env from labels/annotations updates in place (CS-68).
    pub in_place_update_env_from_metadata: bool,
    /// `InPlaceWorkloadVerticalScaling` (off): cpu/memory changes update in place (CS-69).
    pub in_place_workload_vertical_scaling: bool,
    /// `RecreatePodWhenChangeVCTInCloneSetGate` (off): a VCT change forces recreate (CS-67).
    pub recreate_pod_when_change_vct_in_clone_set: bool,
    /// `PodUnavailableBudgetUpdateGate` (off): consult a PUB before each update (CS-63).
    pub pod_unavailable_budget_update_gate: bool,
    /// `ForceDeleteTimeoutExpectationFeatureGate` (off): drop timed-out expectations (CS-23).
    pub force_delete_timeout_expectation: bool,
    /// `KruisePodReadinessGate` (off).
    pub kruise_pod_readiness_gate: bool,
    /// Flag `--cloneset-scaling-exclude-preparing-delete` (false) (CS-81).
    pub cloneset_scaling_exclude_preparing_delete: bool,
    /// Flag `--expectation-timeout`, seconds (300).
    pub expectation_timeout_seconds: u32,
    /// Not an upstream gate (spec §16 question 1): when on, the Progressing deadline is
    /// measured from the last observed progress (upstream's unused progress detector) instead
    /// of from whatever Progressing condition exists. Off = upstream's code.
    pub progress_deadline_from_progress: bool,
    /// `DaemonSetPruneIneligibleNodes` (off): the Advanced DaemonSet rolling update ignores
    /// nodes that should not run its pod (ADS-18).
    pub daemon_set_prune_ineligible_nodes: bool,
    /// `EnableSortSidecarContainerByName` (off): SidecarSet injection sorts the injected
    /// containers by name instead of keeping SidecarSet order (SCS-20).
    pub enable_sort_sidecar_container_by_name: bool,
    /// `StatefulSetStartOrdinal` (off): an Advanced StatefulSet's `spec.ordinals.start` is read.
    pub stateful_set_start_ordinal: bool,
    /// `StatefulSetAutoDeletePVC` (on): the PVC retention policy is applied (ASTS-19, ASTS-20).
    pub stateful_set_auto_delete_pvc: bool,
    /// `StatefulSetAutoResizePVCGate` (off): `volumeClaimUpdateStrategy` is applied (ASTS-47).
    pub stateful_set_auto_resize_pvc: bool,
    /// `PodIndexLabel` (on): new StatefulSet pods get `apps.kubernetes.io/pod-index` (ASTS-15).
    pub pod_index_label: bool,
    /// `PreDownloadImageForInPlaceUpdate` (off): a CloneSet or Advanced StatefulSet starting an
    /// in-place rollout plans ImagePullJobs for its new images (IPJ-40..IPJ-42).
    pub pre_download_image_for_in_place_update: bool,
    /// `PreDownloadImageForDaemonSetUpdate` (off): the same for an Advanced DaemonSet.
    pub pre_download_image_for_daemon_set_update: bool,
}

impl Default for Features {
    fn default() -> Self {
        Self {
            clone_set_short_hash: false,
            clone_set_partition_rollback: false,
            preparing_update_as_update: false,
            in_place_update_env_from_metadata: true,
            in_place_workload_vertical_scaling: false,
            recreate_pod_when_change_vct_in_clone_set: false,
            pod_unavailable_budget_update_gate: false,
            force_delete_timeout_expectation: false,
            kruise_pod_readiness_gate: false,
            cloneset_scaling_exclude_preparing_delete: false,
            expectation_timeout_seconds: 300,
            progress_deadline_from_progress: false,
            daemon_set_prune_ineligible_nodes: false,
            enable_sort_sidecar_container_by_name: false,
            stateful_set_start_ordinal: false,
            stateful_set_auto_delete_pvc: true,
            stateful_set_auto_resize_pvc: false,
            pod_index_label: true,
            pre_download_image_for_in_place_update: false,
            pre_download_image_for_daemon_set_update: false,
        }
    }
}

/// Why a `--feature-gates` value was refused ([`Features::with_gates`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FeatureGateError {
    /// An item is not `Name=true|false`.
    #[error("feature gate {item:?}: expected Name=true|false")]
    Syntax {
        /// The item as given.
        item: String,
    },
    /// The value is not a bool.
    #[error("feature gate {name}: {value:?} is not a bool")]
    NotBool {
        /// The gate.
        name: String,
        /// The value as given.
        value: String,
    },
    /// No gate of that name changes CloneSet planning.
    #[error("unknown feature gate {name:?} (known: {known})")]
    Unknown {
        /// The name as given.
        name: String,
        /// The accepted names, comma separated.
        known: String,
    },
    /// The gate exists upstream, but the built-in adapters cannot honour it when on.
    #[error("feature gate {name}=true is not supported: {why}")]
    Unsupported {
        /// The gate.
        name: &'static str,
        /// Why.
        why: &'static str,
    },
}

/// A gate the built-in adapters refuse to turn on, and why.
type Refusal = Option<&'static str>;

/// The field of [`Features`] a gate sets.
type Field = fn(&mut Features) -> &mut bool;

/// The gate names accepted by [`Features::with_gates`] (upstream's spelling), each with its
/// field and, for gates the built-in adapters cannot honour, the reason they refuse `true`.
const GATES: &[(&str, Field, Refusal)] = &[
    ("CloneSetShortHash", |f| &mut f.clone_set_short_hash, None),
    ("CloneSetPartitionRollback", |f| &mut f.clone_set_partition_rollback, None),
    ("PreparingUpdateAsUpdate", |f| &mut f.preparing_update_as_update, None),
    ("InPlaceUpdateEnvFromMetadata", |f| &mut f.in_place_update_env_from_metadata, None),
    ("InPlaceWorkloadVerticalScaling", |f| &mut f.in_place_workload_vertical_scaling, None),
    ("RecreatePodWhenChangeVCTInCloneSetGate", |f| &mut f.recreate_pod_when_change_vct_in_clone_set, None),
    ("ForceDeleteTimeoutExpectationFeatureGate", |f| &mut f.force_delete_timeout_expectation, None),
    (
        "PodUnavailableBudgetUpdateGate",
        |f| &mut f.pod_unavailable_budget_update_gate,
        Some(
            "kruise-rs evaluates no PodUnavailableBudget, so every update would be allowed as if the \
             gate were off (CS-63); a controller embedding the planner that supplies the PUB decision \
             sets Features::pod_unavailable_budget_update_gate itself",
        ),
    ),
    (
        "KruisePodReadinessGate",
        |f| &mut f.kruise_pod_readiness_gate,
        Some(
            "kruise-rs runs no pod webhook to inject the KruisePodReady readiness gate into new pods; \
             pods that already carry the gate are handled (CS-80)",
        ),
    ),
    // Controller flag `--cloneset-scaling-exclude-preparing-delete` (CS-81), accepted here too.
    ("CloneSetScalingExcludePreparingDelete", |f| &mut f.cloneset_scaling_exclude_preparing_delete, None),
    ("EnableSortSidecarContainerByName", |f| &mut f.enable_sort_sidecar_container_by_name, None),
    ("DaemonSetPruneIneligibleNodes", |f| &mut f.daemon_set_prune_ineligible_nodes, None),
    ("StatefulSetStartOrdinal", |f| &mut f.stateful_set_start_ordinal, None),
    ("StatefulSetAutoDeletePVC", |f| &mut f.stateful_set_auto_delete_pvc, None),
    ("StatefulSetAutoResizePVCGate", |f| &mut f.stateful_set_auto_resize_pvc, None),
    ("PodIndexLabel", |f| &mut f.pod_index_label, None),
    ("PreDownloadImageForInPlaceUpdate", |f| &mut f.pre_download_image_for_in_place_update, None),
    ("PreDownloadImageForDaemonSetUpdate", |f| &mut f.pre_download_image_for_daemon_set_update, None),
    // Not upstream: spec §16 question 1.
    ("ProgressDeadlineFromProgress", |f| &mut f.progress_deadline_from_progress, None),
];

impl Features {
    /// Applies `Name=true|false,...` (upstream's `--feature-gates` syntax and names, e.g.
    /// `CloneSetShortHash=true,InPlaceUpdateEnvFromMetadata=false`) over `self`. Unknown names,
    /// values other than `true`/`false`, and gates the built-in adapters cannot honour when on
    /// (`PodUnavailableBudgetUpdateGate`, `KruisePodReadinessGate`) are errors, so a gate is
    /// never accepted and then silently ignored. Empty items are skipped.
    pub fn with_gates(mut self, gates: &str) -> Result<Self, FeatureGateError> {
        for item in gates.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, value) =
                item.split_once('=').ok_or_else(|| FeatureGateError::Syntax { item: item.into() })?;
            let (name, value) = (name.trim(), value.trim());
            let on: bool = value
                .parse()
                .map_err(|_| FeatureGateError::NotBool { name: name.into(), value: value.into() })?;
            let Some((gate, field, refusal)) = GATES.iter().find(|(n, _, _)| *n == name) else {
                let known = GATES.iter().map(|(n, _, _)| *n).collect::<Vec<_>>().join(", ");
                return Err(FeatureGateError::Unknown { name: name.into(), known });
            };
            if on && let Some(why) = refusal {
                return Err(FeatureGateError::Unsupported { name: gate, why });
            }
            *field(&mut self) = on;
        }
        Ok(self)
    }

    /// The gate names [`Features::with_gates`] accepts, with their values in `self`.
    pub fn gates(&self) -> Vec<(&'static str, bool)> {
        let mut f = *self;
        GATES.iter().map(|(n, field, _)| (*n, *field(&mut f))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field that is a gate is settable by its upstream name: the StatefulSet and
    /// DaemonSet gates too (ASTS-15, ASTS-19, ASTS-47, ADS-18), with upstream's defaults.
    #[test]
    fn workload_gates_are_settable_by_name() {
        let d = Features::default();
        assert!(d.stateful_set_auto_delete_pvc && d.pod_index_label);
        assert!(!d.stateful_set_start_ordinal && !d.stateful_set_auto_resize_pvc);
        let f = Features::default()
            .with_gates(
                "StatefulSetStartOrdinal=true,StatefulSetAutoDeletePVC=false,\
                 StatefulSetAutoResizePVCGate=true,PodIndexLabel=false,DaemonSetPruneIneligibleNodes=true",
            )
            .expect("gates");
        assert!(f.stateful_set_start_ordinal && !f.stateful_set_auto_delete_pvc);
        assert!(f.stateful_set_auto_resize_pvc && !f.pod_index_label);
        assert!(f.daemon_set_prune_ineligible_nodes);
        let g = crate::statefulset::Gates::from(&f);
        assert!(g.stateful_set_start_ordinal && !g.stateful_set_auto_delete_pvc);
        assert!(g.stateful_set_auto_resize_pvc && !g.pod_index_label);
    }

    #[test]
    fn feature_gates_use_upstream_names_and_defaults() {
        let f = Features::default()
            .with_gates("CloneSetShortHash=true, InPlaceUpdateEnvFromMetadata=false,RecreatePodWhenChangeVCTInCloneSetGate=true")
            .expect("gates");
        assert!(f.clone_set_short_hash && !f.in_place_update_env_from_metadata);
        assert!(f.recreate_pod_when_change_vct_in_clone_set);
        assert_eq!(Features::default().with_gates(""), Ok(Features::default()));
        assert!(matches!(
            Features::default().with_gates("NoSuchGate=true"),
            Err(FeatureGateError::Unknown { .. })
        ));
        assert!(matches!(
            Features::default().with_gates("CloneSetShortHash=yes"),
            Err(FeatureGateError::NotBool { .. })
        ));
        assert!(matches!(
            Features::default().with_gates("CloneSetShortHash"),
            Err(FeatureGateError::Syntax { .. })
        ));
    }

    /// Issue 11 item 6: gates nothing reads are refused when on, not silently accepted.
    #[test]
    fn cs_63_pub_gate_and_kruise_pod_readiness_gate_refused_when_on() {
        for g in ["PodUnavailableBudgetUpdateGate", "KruisePodReadinessGate"] {
            let e = Features::default().with_gates(&format!("{g}=true")).expect_err(g);
            assert!(matches!(e, FeatureGateError::Unsupported { name, .. } if name == g), "{e}");
            assert!(Features::default().with_gates(&format!("{g}=false")).is_ok());
        }
    }
}
