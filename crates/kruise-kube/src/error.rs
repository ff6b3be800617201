//! The adapter's one error type: planner errors, API errors and malformed writes, each naming
//! the object (and, where it applies, the field path) concerned.

use kruise_core::reconciler::ReconcileError;

/// Why a reconcile (or one of its writes) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// The planner found the workload unusable (invalid spec). Not retried quickly.
    #[error("planning {workload}: {source}")]
    Plan {
        /// `namespace/name` of the workload.
        workload: String,
        /// The planner's error.
        #[source]
        source: ReconcileError,
    },
    /// A write was refused with 409 Conflict (stale resourceVersion or name taken); the
    /// reconcile stops and is retried against a fresher cache.
    #[error("conflict on {op} {target}: {message}")]
    Conflict {
        /// `Create`, `Replace`, `MergePatch` or `Delete`.
        op: &'static str,
        /// `kind namespace/name` of the object.
        target: String,
        /// The API server's message.
        message: String,
    },
    /// Any other API error on a write.
    #[error("{op} {target}: {source}")]
    Write {
        /// `Create`, `Replace`, `MergePatch` or `Delete`.
        op: &'static str,
        /// `kind namespace/name` of the object.
        target: String,
        /// The client error.
        #[source]
        source: Box<kube::Error>,
    },
    /// The planner produced an object the adapter cannot send.
    #[error("{target}: {path}: {message}")]
    MalformedWrite {
        /// `kind namespace/name` of the object.
        target: String,
        /// The field concerned (`metadata.name`, `apiVersion`, ...).
        path: kruise_api::FieldPath,
        /// What is wrong.
        message: String,
    },
    /// The workload fails validation (the checks of OpenKruise's validating webhook): nothing
    /// is planned for it until its spec changes (issue 12 item 2).
    #[error("workload {workload} is invalid: {errors}")]
    Invalid {
        /// `namespace/name` of the workload.
        workload: String,
        /// Every problem, each with its field path.
        errors: kruise_api::ValidationErrors,
    },
    /// The workload has no namespace, name or uid (not as stored by an API server).
    #[error("workload {0}: metadata.name, metadata.namespace and metadata.uid are required")]
    IncompleteWorkload(String),
    /// A Kubernetes API call outside a plan's writes failed (Lease, discovery, ...).
    #[error("kubernetes API: {0}")]
    Kube(#[from] Box<kube::Error>),
    /// This replica is not the leader; it must not write.
    #[error("not the leader")]
    NotLeader,
}

impl AdapterError {
    /// True for errors a quick retry may cure (conflicts, throttling, server errors).
    pub fn is_transient(&self) -> bool {
        match self {
            AdapterError::Conflict { .. } | AdapterError::NotLeader => true,
            AdapterError::Write { source, .. } | AdapterError::Kube(source) => match &**source {
                kube::Error::Api(status) => status.code == 429 || status.code >= 500,
                _ => true,
            },
            AdapterError::Plan { .. }
            | AdapterError::Invalid { .. }
            | AdapterError::MalformedWrite { .. }
            | AdapterError::IncompleteWorkload(_) => false,
        }
    }

    /// A short label for metrics (`conflict`, `write`, `plan`, ...).
    pub fn metric_label(&self) -> &'static str {
        match self {
            AdapterError::Plan { .. } => "plan",
            AdapterError::Invalid { .. } => "invalid",
            AdapterError::Conflict { .. } => "conflict",
            AdapterError::Write { .. } => "write",
            AdapterError::MalformedWrite { .. } => "malformed_write",
            AdapterError::IncompleteWorkload(_) => "incomplete_workload",
            AdapterError::Kube(_) => "kube",
            AdapterError::NotLeader => "not_leader",
        }
    }
}
