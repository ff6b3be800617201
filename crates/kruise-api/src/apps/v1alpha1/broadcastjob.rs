//! BroadcastJob, `apps.kruise.io/v1alpha1` (BJ-1): field-identical to v1beta1, so the spec
//! and status types are shared and conversion ([`crate::convert::broadcastjob_to_v1beta1`])
//! only changes `apiVersion`.

pub use crate::apps::v1beta1::broadcastjob::{
    BroadcastJobSpec, BroadcastJobStatus, CompletionPolicy, FailurePolicy, JobCondition,
    completion_policy_type, failure_policy_type, job_condition_type, phase as broadcastjob_phase,
};

kruise_resource! {
    /// BroadcastJob (`apps.kruise.io/v1alpha1`): one pod per fitting node, run to completion
    /// (BJ-1). Served, not stored; see [`crate::apps::v1beta1::BroadcastJob`].
    BroadcastJob {
        group: "apps.kruise.io",
        version: "v1alpha1",
        kind: "BroadcastJob",
        plural: "broadcastjobs",
        scope: ::k8s_openapi::NamespaceResourceScope,
        spec: BroadcastJobSpec,
        status: BroadcastJobStatus,
    }
}

/// CRD description of BroadcastJob (the same for both versions; see the v1beta1 module).
#[cfg(feature = "schemars")]
pub fn kind_info() -> crate::crd::KindInfo {
    crate::apps::v1beta1::broadcastjob::kind_info()
}
