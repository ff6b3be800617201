//! Conversions of Advanced DaemonSet (ADS-3) and SidecarSet (SCS-3) between
//! `apps.kruise.io/v1alpha1` and `v1beta1`, re-exported from [`crate::convert`].

use crate::apps::{v1alpha1, v1beta1};
use crate::keys;

/// Advanced DaemonSet v1alpha1 → v1beta1 (ADS-3). `rollingUpdateType: Surging` becomes
/// `Standard`; the annotation `daemonset.kruise.io/progressive-create-pod: "true"` sets
/// `scaleStrategy.partitionedScaling` (the annotation itself stays, as upstream);
/// `status.daemonSetHash` becomes `status.updateRevision`.
pub fn daemonset_to_v1beta1(src: &v1alpha1::DaemonSet) -> v1beta1::DaemonSet {
    use crate::apps::v1beta1::daemonset::rolling_update_type as rut;
    let s = &src.spec;
    let mut update_strategy = s.update_strategy.clone();
    if let Some(ru) = update_strategy.rolling_update.as_mut()
        && ru.rolling_update_type.as_deref() == Some(rut::SURGING)
    {
        ru.rolling_update_type = Some(rut::STANDARD.to_owned());
    }
    let scale_strategy =
        src.partitioned_scaling().then_some(v1beta1::DaemonSetScaleStrategy { partitioned_scaling: true });
    v1beta1::DaemonSet {
        metadata: src.metadata.clone(),
        spec: v1beta1::DaemonSetSpec {
            selector: s.selector.clone(),
            template: s.template.clone(),
            update_strategy,
            min_ready_seconds: s.min_ready_seconds,
            burst_replicas: s.burst_replicas.clone(),
            revision_history_limit: s.revision_history_limit,
            lifecycle: s.lifecycle.clone(),
            scale_strategy,
        },
        status: src.status.as_ref().map(|st| v1beta1::DaemonSetStatus {
            current_number_scheduled: st.current_number_scheduled,
            number_misscheduled: st.number_misscheduled,
            desired_number_scheduled: st.desired_number_scheduled,
            number_ready: st.number_ready,
            observed_generation: st.observed_generation,
            updated_number_scheduled: st.updated_number_scheduled,
            number_available: st.number_available,
            number_unavailable: st.number_unavailable,
            collision_count: st.collision_count,
            conditions: st.conditions.clone(),
            update_revision: st.daemon_set_hash.clone(),
        }),
    }
}

/// Advanced DaemonSet v1beta1 → v1alpha1 (ADS-3). `scaleStrategy.partitionedScaling: true`
/// becomes the annotation `daemonset.kruise.io/progressive-create-pod: "true"` (an existing
/// annotation is left as it is otherwise); `status.updateRevision` becomes
/// `status.daemonSetHash`.
pub fn daemonset_to_v1alpha1(src: &v1beta1::DaemonSet) -> v1alpha1::DaemonSet {
    let s = &src.spec;
    let mut metadata = src.metadata.clone();
    if src.partitioned_scaling() {
        metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(keys::DAEMONSET_PROGRESSIVE_CREATE_POD.to_owned(), "true".to_owned());
    }
    v1alpha1::DaemonSet {
        metadata,
        spec: v1alpha1::DaemonSetSpec {
            selector: s.selector.clone(),
            template: s.template.clone(),
            update_strategy: s.update_strategy.clone(),
            min_ready_seconds: s.min_ready_seconds,
            burst_replicas: s.burst_replicas.clone(),
            revision_history_limit: s.revision_history_limit,
            lifecycle: s.lifecycle.clone(),
        },
        status: src.status.as_ref().map(|st| v1alpha1::DaemonSetStatus {
            current_number_scheduled: st.current_number_scheduled,
            number_misscheduled: st.number_misscheduled,
            desired_number_scheduled: st.desired_number_scheduled,
            number_ready: st.number_ready,
            observed_generation: st.observed_generation,
            updated_number_scheduled: st.updated_number_scheduled,
            number_available: st.number_available,
            number_unavailable: st.number_unavailable,
            collision_count: st.collision_count,
            conditions: st.conditions.clone(),
            daemon_set_hash: st.update_revision.clone(),
        }),
    }
}

/// SidecarSet v1alpha1 → v1beta1 (SCS-3). A non-empty `namespace` becomes
/// `namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: <namespace>}}` and wins over
/// any `namespaceSelector`; the label `apps.kruise.io/sidecarset-custom-version` moves to
/// `spec.customVersion`.
pub fn sidecarset_to_v1beta1(src: &v1alpha1::SidecarSet) -> v1beta1::SidecarSet {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
    let s = &src.spec;
    let namespace_selector = if s.namespace.is_empty() {
        s.namespace_selector.clone()
    } else {
        Some(LabelSelector {
            match_labels: Some([(keys::NAMESPACE_METADATA_NAME.to_owned(), s.namespace.clone())].into()),
            match_expressions: None,
        })
    };
    let mut metadata = src.metadata.clone();
    let custom_version =
        metadata.labels.as_mut().and_then(|l| l.remove(keys::SIDECARSET_CUSTOM_VERSION)).unwrap_or_default();
    v1beta1::SidecarSet {
        metadata,
        spec: v1beta1::SidecarSetSpec {
            selector: s.selector.clone(),
            namespace_selector,
            init_containers: s.init_containers.clone(),
            containers: s.containers.clone(),
            volumes: s.volumes.clone(),
            update_strategy: s.update_strategy.clone(),
            injection_strategy: s.injection_strategy.clone(),
            image_pull_secrets: s.image_pull_secrets.clone(),
            revision_history_limit: s.revision_history_limit,
            patch_pod_metadata: s.patch_pod_metadata.clone(),
            custom_version,
        },
        status: src.status.clone(),
    }
}

/// SidecarSet v1beta1 → v1alpha1 (SCS-3). `namespaceSelector` is copied (no `namespace` is
/// reconstructed); a non-empty `customVersion` becomes the label
/// `apps.kruise.io/sidecarset-custom-version`.
pub fn sidecarset_to_v1alpha1(src: &v1beta1::SidecarSet) -> v1alpha1::SidecarSet {
    let s = &src.spec;
    let mut metadata = src.metadata.clone();
    if !s.custom_version.is_empty() {
        metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert(keys::SIDECARSET_CUSTOM_VERSION.to_owned(), s.custom_version.clone());
    }
    v1alpha1::SidecarSet {
        metadata,
        spec: v1alpha1::SidecarSetSpec {
            selector: s.selector.clone(),
            namespace: String::new(),
            namespace_selector: s.namespace_selector.clone(),
            init_containers: s.init_containers.clone(),
            containers: s.containers.clone(),
            volumes: s.volumes.clone(),
            update_strategy: s.update_strategy.clone(),
            injection_strategy: s.injection_strategy.clone(),
            image_pull_secrets: s.image_pull_secrets.clone(),
            revision_history_limit: s.revision_history_limit,
            patch_pod_metadata: s.patch_pod_metadata.clone(),
        },
        status: src.status.clone(),
    }
}
