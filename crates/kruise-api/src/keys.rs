//! Every well-known label, annotation, finalizer, condition and readiness-gate name, spelled
//! exactly as upstream spells it (CS-8, ASTS-2, ...). Use these constants; never retype a key.

// ---- revisions -------------------------------------------------------------------------

/// Pod label: the pod's revision, the full ControllerRevision name (CS-8, CS-31).
pub const CONTROLLER_REVISION_HASH: &str = "controller-revision-hash";
/// Pod label: the short revision hash, text after the last `-` of the revision name (CS-31).
pub const POD_TEMPLATE_HASH: &str = "pod-template-hash";
/// ControllerRevision label: hash of the revision data (CS-27).
pub const CONTROLLER_REVISION_HASH_LABEL: &str = "controller.kubernetes.io/hash";
/// ControllerRevision annotation: hash of the volumeClaimTemplates (CS-27).
pub const VOLUME_CLAIM_TEMPLATE_HASH: &str = "kruise.io/cloneset-volumeclaimtemplate-hash";

// ---- CloneSet instances and scaling ---------------------------------------------------

/// Pod and PVC label: the instance id a pod shares with its PVCs (CS-45).
pub const CLONESET_INSTANCE_ID: &str = "apps.kruise.io/cloneset-instance-id";
/// Pod label: present (any value) ⇒ delete this pod (CS-35). The controller writes `"true"`.
pub const SPECIFIED_DELETE: &str = "apps.kruise.io/specified-delete";
/// Pod annotation: Kubernetes deletion cost, an int32 (CS-52).
pub const POD_DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";
/// CloneSet label (v1alpha1): exclude PreparingDelete pods from replica accounting (CS-81).
pub const CLONESET_SCALING_EXCLUDE_PREPARING_DELETE: &str =
    "apps.kruise.io/cloneset-scaling-exclude-preparing-delete";
/// Workload label: deletion protection, `Always` or `Cascading` (CS-21).
pub const DELETE_PROTECTION: &str = "policy.kruise.io/delete-protection";
/// [`DELETE_PROTECTION`] value: never allow deleting the workload.
pub const DELETE_PROTECTION_ALWAYS: &str = "Always";
/// [`DELETE_PROTECTION`] value: allow deleting only when it has no replicas.
pub const DELETE_PROTECTION_CASCADING: &str = "Cascading";
/// Pod label prefix of PodUnavailableBudget markers.
pub const POD_UNAVAILABLE_LABEL_PREFIX: &str = "unavailable-pod.kruise.io/";

// ---- lifecycle -------------------------------------------------------------------------

/// Pod label: lifecycle state (CS-77).
pub const LIFECYCLE_STATE: &str = "lifecycle.apps.kruise.io/state";
/// Pod annotation: RFC 3339 time of the last lifecycle write (CS-77).
pub const LIFECYCLE_TIMESTAMP: &str = "lifecycle.apps.kruise.io/timestamp";

/// Lifecycle states of [`LIFECYCLE_STATE`] (CS-77).
pub mod lifecycle_state {
    /// Created, not yet normal.
    pub const PREPARING_NORMAL: &str = "PreparingNormal";
    /// Serving.
    pub const NORMAL: &str = "Normal";
    /// Waiting for the in-place update hook to be released.
    pub const PREPARING_UPDATE: &str = "PreparingUpdate";
    /// In-place update in progress.
    pub const UPDATING: &str = "Updating";
    /// In-place update done, hook not yet re-armed.
    pub const UPDATED: &str = "Updated";
    /// Waiting for the pre-delete hook to be released.
    pub const PREPARING_DELETE: &str = "PreparingDelete";
}

// ---- in-place update ---------------------------------------------------------------------

/// Pod annotation: JSON `InPlaceUpdateState` (CS-71).
pub const INPLACE_UPDATE_STATE: &str = "apps.kruise.io/inplace-update-state";
/// Legacy key of [`INPLACE_UPDATE_STATE`]: read and deleted.
pub const INPLACE_UPDATE_STATE_LEGACY: &str = "inplace-update-state";
/// Pod annotation: JSON update spec waiting for its grace period (CS-72).
pub const INPLACE_UPDATE_GRACE: &str = "apps.kruise.io/inplace-update-grace";
/// Legacy key of [`INPLACE_UPDATE_GRACE`].
pub const INPLACE_UPDATE_GRACE_LEGACY: &str = "inplace-update-grace";
/// Pod annotation written by kruise-daemon, read for completion (CS-74).
pub const RUNTIME_CONTAINERS_META: &str = "apps.kruise.io/runtime-containers-meta";
/// Pod condition and readiness gate of the in-place update protocol (CS-70).
pub const INPLACE_UPDATE_READY: &str = "InPlaceUpdateReady";
/// Reason of `InPlaceUpdateReady=False` while an update runs (CS-70).
pub const REASON_START_INPLACE_UPDATE: &str = "StartInPlaceUpdate";
/// Pod condition and readiness gate managed by Kruise's lifecycle (CS-80).
pub const KRUISE_POD_READY: &str = "KruisePodReady";
/// Env var marking a container that waits for a launch-priority barrier (CS-73).
pub const CONTAINER_BARRIER_ENV: &str = "KRUISE_CONTAINER_BARRIER";

// ---- image pre-download -----------------------------------------------------------------

/// CloneSet annotation (v1alpha1): image pre-download parallelism.
pub const IMAGE_PREDOWNLOAD_PARALLELISM: &str = "apps.kruise.io/image-predownload-parallelism";
/// CloneSet annotation (v1alpha1): image pre-download timeout in seconds.
pub const IMAGE_PREDOWNLOAD_TIMEOUT_SECONDS: &str = "apps.kruise.io/image-predownload-timeout-seconds";
/// CloneSet annotation (v1alpha1): updated ready pods before pre-download starts.
pub const IMAGE_PREDOWNLOAD_MIN_UPDATED_READY_PODS: &str =
    "apps.kruise.io/image-predownload-min-updated-ready-pods";
/// ControllerRevision label: pre-download jobs created.
pub const PRE_PREDOWNLOAD_CREATED: &str = "apps.kruise.io/pre-predownload-created";
/// ControllerRevision label: pre-download ignored.
pub const IMAGE_PREDOWNLOAD_IGNORED: &str = "apps.kruise.io/image-predownload-ignored";

// ---- standard Kubernetes ------------------------------------------------------------------

/// Pod condition `Ready`.
pub const CONDITION_READY: &str = "Ready";
/// Pod condition `ContainersReady`.
pub const CONDITION_CONTAINERS_READY: &str = "ContainersReady";
/// Pod condition `PodScheduled`.
pub const CONDITION_POD_SCHEDULED: &str = "PodScheduled";
/// Pod condition `Initialized`.
pub const CONDITION_INITIALIZED: &str = "Initialized";
/// StatefulSet pod label: the pod's name.
pub const STATEFULSET_POD_NAME: &str = "statefulset.kubernetes.io/pod-name";
/// Pod label: the pod's ordinal.
pub const POD_INDEX: &str = "apps.kubernetes.io/pod-index";
/// Node label of the host name, the default topology key.
pub const HOSTNAME_TOPOLOGY_KEY: &str = "kubernetes.io/hostname";

// ---- CloneSet status conditions (CS-7) -------------------------------------------------------

/// CloneSet condition types and Progressing reasons (CS-7).
pub mod cloneset_condition {
    /// Scale failed.
    pub const FAILED_SCALE: &str = "FailedScale";
    /// Update failed.
    pub const FAILED_UPDATE: &str = "FailedUpdate";
    /// Progress of a rollout (CS-85).
    pub const PROGRESSING: &str = "Progressing";
    /// Reason: `progressDeadlineSeconds` passed.
    pub const REASON_PROGRESS_DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";
    /// Reason: paused.
    pub const REASON_PAUSED: &str = "CloneSetPaused";
    /// Reason: progressing.
    pub const REASON_UPDATED: &str = "CloneSetUpdated";
    /// Reason: partition reached and available.
    pub const REASON_PARTITION_AVAILABLE: &str = "ProgressPartitionAvailable";
    /// Reason: every pod updated and available.
    pub const REASON_AVAILABLE: &str = "CloneSetAvailable";
}

// ---- Advanced StatefulSet (ASTS-2) ----------------------------------------------------------

/// PVC annotation written by the PVC resize of ASTS-47: the name of the owning StatefulSet.
pub const OWNED_BY_ASTS: &str = "apps.kruise.io/owned-by-asts";

/// Advanced StatefulSet condition types (ASTS-2, ASTS-49).
pub mod statefulset_condition {
    /// A pod could not be created.
    pub const FAILED_CREATE_POD: &str = "FailedCreatePod";
    /// A pod could not be updated.
    pub const FAILED_UPDATE_POD: &str = "FailedUpdatePod";
}
// ---- Advanced DaemonSet (ADS-1) ------------------------------------------------------------

/// Pod label: legacy template generation of a DaemonSet pod (ADS-2).
pub const POD_TEMPLATE_GENERATION: &str = "pod-template-generation";
/// DaemonSet annotation: legacy template generation (ADS-2).
pub const DEPRECATED_DAEMONSET_TEMPLATE_GENERATION: &str = "deprecated.daemonset.template.generation";
/// DaemonSet annotation (v1alpha1): `"true"` ≡ v1beta1 `spec.scaleStrategy.partitionedScaling`
/// (ADS-1, ADS-3).
pub const DAEMONSET_PROGRESSIVE_CREATE_POD: &str = "daemonset.kruise.io/progressive-create-pod";
/// Scheduler name of pods the DaemonSet controller binds itself (ADS-17).
pub const DAEMONSET_CONTROLLER_SCHEDULER: &str = "kubernetes.io/daemonset-controller";

// ---- SidecarSet (SCS-4) ------------------------------------------------------------------------

/// SidecarSet annotation: hash of the sidecar containers; pod annotation: JSON map of
/// per-SidecarSet upgrade records (SCS-6, SCS-8).
pub const SIDECARSET_HASH: &str = "kruise.io/sidecarset-hash";
/// As [`SIDECARSET_HASH`], computed with every image blanked (SCS-6, SCS-8).
pub const SIDECARSET_HASH_WITHOUT_IMAGE: &str = "kruise.io/sidecarset-hash-without-image";
/// Pod annotation: names of the SidecarSets injected, sorted, joined by `,` (SCS-4).
pub const SIDECARSET_INJECTED_LIST: &str = "kruise.io/sidecarset-injected-list";
/// Pod annotation: JSON `{"<sidecar>": "<sidecar>-1|-2"}`, the working hot-upgrade slot (SCS-60).
pub const SIDECARSET_WORKING_HOTUPGRADE_CONTAINER: &str = "kruise.io/sidecarset-working-hotupgrade-container";
/// Pod annotation prefix: `version.sidecarset.kruise.io/<container>` (SCS-21).
pub const SIDECARSET_VERSION_PREFIX: &str = "version.sidecarset.kruise.io/";
/// Pod annotation prefix: `versionalt.sidecarset.kruise.io/<container>` (SCS-21).
pub const SIDECARSET_VERSION_ALT_PREFIX: &str = "versionalt.sidecarset.kruise.io/";
/// Pod annotation: JSON in-place update state of sidecars (SCS-51).
pub const SIDECARSET_INPLACE_UPDATE_STATE: &str = "kruise.io/sidecarset-inplace-update-state";
/// Pod condition type maintained for not-upgradable pods (SCS-53).
pub const SIDECARSET_UPGRADABLE: &str = "SidecarSetUpgradable";
/// Env var set to `"true"` in every injected container (SCS-17).
pub const SIDECAR_ENV_IS_INJECTED: &str = "IS_INJECTED";
/// Env var of hot-upgrade containers: the slot's version annotation (SCS-21).
pub const SIDECAR_ENV_VERSION: &str = "SIDECARSET_VERSION";
/// Env var of hot-upgrade containers: the other slot's version annotation (SCS-21).
pub const SIDECAR_ENV_VERSION_ALT: &str = "SIDECARSET_VERSION_ALT";
/// ControllerRevision label: the SidecarSet's name (SCS-30).
pub const SIDECARSET_NAME_LABEL: &str = "kruise.io/sidecarset-name";
/// SidecarSet label (v1alpha1) and ControllerRevision label: the custom version (SCS-3, SCS-30).
pub const SIDECARSET_CUSTOM_VERSION: &str = "apps.kruise.io/sidecarset-custom-version";
/// SidecarSet annotation: `"true"` marks a canary SidecarSet (SCS-14).
pub const SIDECARSET_CANARY: &str = "apps.kruise.io/sidecarset-canary";
/// SidecarSet annotation: the base a canary SidecarSet replaces (SCS-14).
pub const SIDECARSET_BASE: &str = "apps.kruise.io/sidecarset-base";
/// Namespace label holding the namespace's own name (SCS-3 conversion of `spec.namespace`).
pub const NAMESPACE_METADATA_NAME: &str = "kubernetes.io/metadata.name";
// ---- BroadcastJob (BJ-3) ---------------------------------------------------------------------

/// Pod label: the owning BroadcastJob's name (BJ-3). Users may not preset it (BJ-5).
pub const BROADCASTJOB_NAME: &str = "broadcastjob-name";
/// Pod label: the owning BroadcastJob's UID (BJ-3). Users may not preset it (BJ-5).
pub const BROADCASTJOB_CONTROLLER_UID: &str = "broadcastjob-controller-uid";

// ---- ImagePullJob and NodeImage (IPJ-3, IPJ-15, IPJ-20) --------------------------------------

/// Finalizer on ImagePullJobs until their secret copies are released (IPJ-3, IPJ-16).
pub const DELETION_PROTECTION_FINALIZER: &str = "apps.kruise.io/deletion-protection";
/// Namespace the pull-secret copies live in (IPJ-15); env `KRUISE_DAEMON_CONFIG_NS` overrides.
pub const KRUISE_DAEMON_CONFIG_NAMESPACE: &str = "kruise-daemon-config";
/// Secret-copy annotation: `<namespace>/<name>` of the source secret (IPJ-15).
pub const IMAGEPULLJOB_SOURCE_KEY: &str = "imagepulljobs.kruise.io/source-key";
/// Secret-copy annotation: sorted, comma-joined `<namespace>/<job>` users (IPJ-15).
pub const IMAGEPULLJOB_REFERENCES: &str = "imagepulljobs.kruise.io/references";
/// Secret-copy annotation: `batch` for copies made by the per-secret scheme (IPJ-15).
pub const IMAGEPULLJOB_MODE: &str = "imagepulljobs.kruise.io/mode";
/// NodeImage label: not backed by a node; never garbage-collected (IPJ-20).
pub const FAKE_NODEIMAGE: &str = "apps.kruise.io/fake-nodeimage";

// ---- Kruise Rollouts (RO-7) --------------------------------------------------------------------

/// Workload annotation: JSON `{"rolloutName": ...}` while a release is in progress.
pub const ROLLOUT_IN_PROGRESSING: &str = "rollouts.kruise.io/in-progressing";
/// Workload and pod label: the id of one release (RO-21, RO-41).
pub const ROLLOUT_ID: &str = "rollouts.kruise.io/rollout-id";
/// Pod label: the 1-based batch that upgraded the pod (RO-41).
pub const ROLLOUT_BATCH_ID: &str = "rollouts.kruise.io/rollout-batch-id";
/// Pod label: already on the target revision when a batch rollback started (RO-49).
pub const ROLLOUT_NO_NEED_UPDATE: &str = "rollouts.kruise.io/no-need-update";
/// Rollout annotation `"true"`: roll back step by step (RO-49).
pub const ROLLOUT_ROLLBACK_IN_BATCH: &str = "rollouts.kruise.io/rollback-in-batch";
/// Rollout annotation: fingerprint of the step plan (RO-36).
pub const ROLLOUT_HASH: &str = "rollouts.kruise.io/hash";
/// Rollout annotation: shared TrafficRouting name (v1alpha1 form, RO-64).
pub const ROLLOUT_TRAFFIC_ROUTING: &str = "rollouts.kruise.io/trafficrouting";
/// Rollout annotation (v1alpha1): `partition` or `canary` (RO-5).
pub const ROLLOUT_ROLLING_STYLE: &str = "rollouts.kruise.io/rolling-style";
/// Workload annotation: JSON owner reference of the controlling BatchRelease (RO-7).
pub const BATCHRELEASE_CONTROL_INFO: &str = "batchrelease.rollouts.kruise.io/control-info";
/// Workload label: `cloneset`, `deployment`, `statefulset` or `daemonset` (RO-7).
pub const ROLLOUT_WORKLOAD_TYPE: &str = "rollouts.kruise.io/workload-type";
/// Canary Deployment label: the stable Deployment's name (RO-7).
pub const ROLLOUT_CANARY_DEPLOYMENT: &str = "rollouts.kruise.io/canary-deployment";
/// Canary Deployment finalizer (RO-7).
pub const BATCHRELEASE_FINALIZER: &str = "finalizer.rollouts.kruise.io/batch-release";
/// Rollout finalizer: cleanup on delete (RO-7).
pub const ROLLOUT_FINALIZER: &str = "rollouts.kruise.io/rollout";
/// TrafficRouting finalizer prefix, followed by the Rollout name (RO-64).
pub const ROLLOUT_PROGRESSING_FINALIZER_PREFIX: &str = "progressing.rollouts.kruise.io/";
/// Deployment label: the stable ReplicaSet's pod-template-hash (RO-7).
pub const ROLLOUT_STABLE_REVISION: &str = "rollouts.kruise.io/stable-revision";
/// Deployment label: the Deployment is driven by the advanced (partition-style) Deployment
/// controller (RO-42).
pub const ROLLOUT_ADVANCED_DEPLOYMENT_CONTROL: &str =
    "rollouts.kruise.io/controlled-by-advanced-deployment-controller";
/// Deployment annotation: partition-style Deployment strategy (RO-7).
pub const ROLLOUT_DEPLOYMENT_STRATEGY: &str = "rollouts.kruise.io/deployment-strategy";
/// Deployment annotation: partition-style Deployment status (RO-7).
pub const ROLLOUT_DEPLOYMENT_EXTRA_STATUS: &str = "rollouts.kruise.io/deployment-extra-status";
/// Deployment / CloneSet annotation: strategy saved by blue-green (RO-7).
pub const ROLLOUT_ORIGINAL_DEPLOYMENT_STRATEGY: &str = "rollouts.kruise.io/original-deployment-strategy";
/// Custom network object annotation: the spec saved before routing (RO-62).
pub const ROLLOUT_ORIGINAL_SPEC_CONFIGURATION: &str = "rollouts.kruise.io/original-spec-configuration";

// ---- kruise-rs's own Rollout bookkeeping ---------------------------------------------------------

/// Rollout and TrafficRouting annotation (kruise-rs): JSON list of the traffic writes whose
/// grace periods may still run, `[{"object": "Service/web", "item": "PinStableService",
/// "at": "<RFC 3339>"}]`, the latest per object and item (RO-63). Written by the reconciler
/// with the writes themselves, so a restarted controller keeps waiting.
pub const ROLLOUT_TRAFFIC_WRITES: &str = "rollouts.kruise.io/traffic-writes";
/// Provider object annotation (kruise-rs): the route intent last applied to it as data
/// (custom providers, every provider of a shared TrafficRouting; RO-62, RO-64).
pub const ROLLOUT_ROUTE_INTENT: &str = "rollouts.kruise.io/route-intent";
