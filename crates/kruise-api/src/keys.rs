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
