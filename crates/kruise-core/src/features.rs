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
        }
    }
}
