//! Conversion between API versions (CS-5). The planners work on the v1beta1 (hub) shape; the
//! CLI, the simulator and the adapter convert v1alpha1 objects on the way in.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::apps::common::InPlaceUpdateStrategy;
use crate::apps::{v1alpha1, v1beta1};
use crate::keys;

/// CloneSet v1alpha1 → v1beta1 (CS-5).
///
/// `OnDelete` becomes `type: OnDelete` with no `rollingUpdate`; every other type becomes
/// `RollingUpdate` with `podUpdatePolicy` = the old type (unknown ⇒ `ReCreate`) and the rolling
/// fields copied. `enablePVCReuse = !disablePVCReuse`; the exclude-preparing-delete label becomes
/// `excludePreparingDelete`; the image pre-download annotations move into
/// `inPlaceUpdateStrategy`.
pub fn cloneset_to_v1beta1(src: &v1alpha1::CloneSet) -> v1beta1::CloneSet {
    use v1beta1::{pod_update_policy as pol, update_strategy_type as ty};
    let s = &src.spec;
    let us = &s.update_strategy;
    let annotations = src.metadata.annotations.clone().unwrap_or_default();
    let labels = src.metadata.labels.clone().unwrap_or_default();

    let update_strategy = if us.type_.as_deref() == Some(v1alpha1::update_strategy_type::ON_DELETE) {
        v1beta1::CloneSetUpdateStrategy { type_: Some(ty::ON_DELETE.to_owned()), rolling_update: None }
    } else {
        let policy = match us.type_.as_deref() {
            Some(p @ (pol::IN_PLACE_IF_POSSIBLE | pol::IN_PLACE_ONLY | pol::RECREATE)) => p,
            _ => pol::RECREATE,
        };
        let mut ipu = us.in_place_update_strategy.clone();
        let pre_download = (
            annotations.get(keys::IMAGE_PREDOWNLOAD_PARALLELISM),
            annotations.get(keys::IMAGE_PREDOWNLOAD_TIMEOUT_SECONDS),
            annotations.get(keys::IMAGE_PREDOWNLOAD_MIN_UPDATED_READY_PODS),
        );
        if pre_download.0.is_some() || pre_download.1.is_some() || pre_download.2.is_some() {
            let ipu = ipu.get_or_insert_with(InPlaceUpdateStrategy::default);
            if let Some(p) = pre_download.0 {
                ipu.image_pre_download_parallelism = Some(match p.parse::<i32>() {
                    Ok(n) => IntOrString::Int(n),
                    Err(_) => IntOrString::String(p.clone()),
                });
            }
            if let Some(t) = pre_download.1.and_then(|t| t.parse().ok()) {
                ipu.image_pre_download_timeout_seconds = Some(t);
            }
            if let Some(m) = pre_download.2.and_then(|m| m.parse().ok()) {
                ipu.image_pre_download_min_updated_ready_pods = Some(m);
            }
        }
        v1beta1::CloneSetUpdateStrategy {
            type_: Some(ty::ROLLING_UPDATE.to_owned()),
            rolling_update: Some(v1beta1::RollingUpdateCloneSetStrategy {
                partition: us.partition.clone(),
                max_unavailable: us.max_unavailable.clone(),
                max_surge: us.max_surge.clone(),
                pod_update_policy: Some(policy.to_owned()),
                paused: us.paused,
                priority_strategy: us.priority_strategy.clone(),
                scatter_strategy: us.scatter_strategy.clone(),
                in_place_update_strategy: ipu,
            }),
        }
    };

    let mut metadata = src.metadata.clone();
    if let Some(a) = metadata.annotations.as_mut() {
        a.remove(keys::IMAGE_PREDOWNLOAD_PARALLELISM);
        a.remove(keys::IMAGE_PREDOWNLOAD_TIMEOUT_SECONDS);
        a.remove(keys::IMAGE_PREDOWNLOAD_MIN_UPDATED_READY_PODS);
        if a.is_empty() {
            metadata.annotations = None;
        }
    }

    v1beta1::CloneSet {
        metadata,
        spec: v1beta1::CloneSetSpec {
            replicas: s.replicas,
            selector: s.selector.clone(),
            template: s.template.clone(),
            volume_claim_templates: s.volume_claim_templates.clone(),
            scale_strategy: v1beta1::CloneSetScaleStrategy {
                pods_to_delete: s.scale_strategy.pods_to_delete.clone(),
                max_unavailable: s.scale_strategy.max_unavailable.clone(),
                enable_pvc_reuse: !s.scale_strategy.disable_pvc_reuse,
                exclude_preparing_delete: labels
                    .get(keys::CLONESET_SCALING_EXCLUDE_PREPARING_DELETE)
                    .is_some_and(|v| v == "true"),
            },
            update_strategy,
            revision_history_limit: s.revision_history_limit,
            min_ready_seconds: s.min_ready_seconds,
            lifecycle: s.lifecycle.clone(),
            progress_deadline_seconds: s.progress_deadline_seconds,
        },
        status: src.status.clone(),
    }
}

/// CloneSet v1beta1 → v1alpha1 (CS-5). `OnDelete` stays `OnDelete`; otherwise the type is the
/// `podUpdatePolicy` (empty, unknown or no `rollingUpdate` ⇒ `ReCreate`). Pre-download fields go
/// back to annotations. `excludePreparingDelete` is not converted back (as upstream).
pub fn cloneset_to_v1alpha1(src: &v1beta1::CloneSet) -> v1alpha1::CloneSet {
    use v1beta1::pod_update_policy as pol;
    let s = &src.spec;
    let mut metadata = src.metadata.clone();
    let update_strategy = if src.is_on_delete() {
        v1alpha1::CloneSetUpdateStrategy {
            type_: Some(v1alpha1::update_strategy_type::ON_DELETE.to_owned()),
            ..Default::default()
        }
    } else {
        let ru = s.update_strategy.rolling_update.clone().unwrap_or_default();
        let ty = match ru.pod_update_policy.as_deref() {
            Some(p @ (pol::IN_PLACE_IF_POSSIBLE | pol::IN_PLACE_ONLY)) => p,
            _ => pol::RECREATE,
        };
        let mut ipu = ru.in_place_update_strategy.clone();
        if let Some(i) = ipu.as_mut() {
            let mut put = |k: &str, v: String| {
                metadata.annotations.get_or_insert_with(Default::default).insert(k.to_owned(), v);
            };
            if let Some(p) = i.image_pre_download_parallelism.take() {
                put(
                    keys::IMAGE_PREDOWNLOAD_PARALLELISM,
                    match p {
                        IntOrString::Int(n) => n.to_string(),
                        IntOrString::String(s) => s,
                    },
                );
            }
            if let Some(t) = i.image_pre_download_timeout_seconds.take() {
                put(keys::IMAGE_PREDOWNLOAD_TIMEOUT_SECONDS, t.to_string());
            }
            if let Some(m) = i.image_pre_download_min_updated_ready_pods.take() {
                put(keys::IMAGE_PREDOWNLOAD_MIN_UPDATED_READY_PODS, m.to_string());
            }
        }
        v1alpha1::CloneSetUpdateStrategy {
            type_: Some(ty.to_owned()),
            partition: ru.partition,
            max_unavailable: ru.max_unavailable,
            max_surge: ru.max_surge,
            paused: ru.paused,
            priority_strategy: ru.priority_strategy,
            scatter_strategy: ru.scatter_strategy,
            in_place_update_strategy: ipu,
        }
    };
    v1alpha1::CloneSet {
        metadata,
        spec: v1alpha1::CloneSetSpec {
            replicas: s.replicas,
            selector: s.selector.clone(),
            template: s.template.clone(),
            volume_claim_templates: s.volume_claim_templates.clone(),
            scale_strategy: v1alpha1::CloneSetScaleStrategy {
                pods_to_delete: s.scale_strategy.pods_to_delete.clone(),
                max_unavailable: s.scale_strategy.max_unavailable.clone(),
                disable_pvc_reuse: !s.scale_strategy.enable_pvc_reuse,
            },
            update_strategy,
            revision_history_limit: s.revision_history_limit,
            min_ready_seconds: s.min_ready_seconds,
            lifecycle: s.lifecycle.clone(),
            progress_deadline_seconds: s.progress_deadline_seconds,
        },
        status: src.status.clone(),
    }
}

/// Advanced StatefulSet v1alpha1 → v1beta1 (ASTS-6): the shared fields are copied one to one;
/// the v1beta1-only fields stay unset; status fields v1alpha1 lacks are zero.
pub fn statefulset_to_v1beta1(src: &v1alpha1::StatefulSet) -> v1beta1::StatefulSet {
    let s = &src.spec;
    v1beta1::StatefulSet {
        metadata: src.metadata.clone(),
        spec: v1beta1::StatefulSetSpec {
            replicas: s.replicas,
            selector: s.selector.clone(),
            template: s.template.clone(),
            volume_claim_templates: s.volume_claim_templates.clone(),
            service_name: s.service_name.clone(),
            pod_management_policy: s.pod_management_policy.clone(),
            update_strategy: s.update_strategy.clone(),
            revision_history_limit: s.revision_history_limit,
            ..Default::default()
        },
        status: src.status.as_ref().map(|st| v1beta1::StatefulSetStatus {
            observed_generation: st.observed_generation,
            replicas: st.replicas,
            ready_replicas: st.ready_replicas,
            available_replicas: st.available_replicas,
            current_replicas: st.current_replicas,
            updated_replicas: st.updated_replicas,
            current_revision: st.current_revision.clone(),
            update_revision: st.update_revision.clone(),
            collision_count: st.collision_count,
            conditions: st.conditions.clone(),
            label_selector: st.label_selector.clone(),
            ..Default::default()
        }),
    }
}

/// Advanced StatefulSet v1beta1 → v1alpha1 (ASTS-6): the shared fields are copied; the
/// v1beta1-only fields (`reserveOrdinals`, `lifecycle`, `scaleStrategy`,
/// `persistentVolumeClaimRetentionPolicy`, `ordinals`, `volumeClaimUpdateStrategy`, and status
/// `updatedReadyReplicas`, `updatedAvailableReplicas`, `volumeClaims`) are dropped, as upstream
/// drops them.
pub fn statefulset_to_v1alpha1(src: &v1beta1::StatefulSet) -> v1alpha1::StatefulSet {
    let s = &src.spec;
    v1alpha1::StatefulSet {
        metadata: src.metadata.clone(),
        spec: v1alpha1::StatefulSetSpec {
            replicas: s.replicas,
            selector: s.selector.clone(),
            template: s.template.clone(),
            volume_claim_templates: s.volume_claim_templates.clone(),
            service_name: s.service_name.clone(),
            pod_management_policy: s.pod_management_policy.clone(),
            update_strategy: s.update_strategy.clone(),
            revision_history_limit: s.revision_history_limit,
        },
        status: src.status.as_ref().map(|st| v1alpha1::StatefulSetStatus {
            observed_generation: st.observed_generation,
            replicas: st.replicas,
            ready_replicas: st.ready_replicas,
            available_replicas: st.available_replicas,
            current_replicas: st.current_replicas,
            updated_replicas: st.updated_replicas,
            current_revision: st.current_revision.clone(),
            update_revision: st.update_revision.clone(),
            collision_count: st.collision_count,
            conditions: st.conditions.clone(),
            label_selector: st.label_selector.clone(),
        }),
    }
}

/// BroadcastJob v1alpha1 → v1beta1 (BJ-1): the versions are field-identical.
pub fn broadcastjob_to_v1beta1(src: &v1alpha1::BroadcastJob) -> v1beta1::BroadcastJob {
    v1beta1::BroadcastJob {
        metadata: src.metadata.clone(),
        spec: src.spec.clone(),
        status: src.status.clone(),
    }
}

/// BroadcastJob v1beta1 → v1alpha1 (BJ-1): the versions are field-identical.
pub fn broadcastjob_to_v1alpha1(src: &v1beta1::BroadcastJob) -> v1alpha1::BroadcastJob {
    v1alpha1::BroadcastJob {
        metadata: src.metadata.clone(),
        spec: src.spec.clone(),
        status: src.status.clone(),
    }
}

/// ImagePullJob v1alpha1 → v1beta1 (IPJ-1): the versions are field-identical.
pub fn imagepulljob_to_v1beta1(src: &v1alpha1::ImagePullJob) -> v1beta1::ImagePullJob {
    v1beta1::ImagePullJob {
        metadata: src.metadata.clone(),
        spec: src.spec.clone(),
        status: src.status.clone(),
    }
}

/// ImagePullJob v1beta1 → v1alpha1 (IPJ-1): the versions are field-identical.
pub fn imagepulljob_to_v1alpha1(src: &v1beta1::ImagePullJob) -> v1alpha1::ImagePullJob {
    v1alpha1::ImagePullJob {
        metadata: src.metadata.clone(),
        spec: src.spec.clone(),
        status: src.status.clone(),
    }
}

/// NodeImage v1alpha1 → v1beta1 (IPJ-5): secret references get an empty `mode`.
pub fn nodeimage_to_v1beta1(src: &v1alpha1::NodeImage) -> v1beta1::NodeImage {
    let images = src
        .spec
        .images
        .iter()
        .map(|(name, img)| {
            let spec = v1beta1::ImageSpec {
                pull_secrets: img
                    .pull_secrets
                    .iter()
                    .map(|r| v1beta1::ReferenceObject {
                        namespace: r.namespace.clone(),
                        name: r.name.clone(),
                        mode: String::new(),
                    })
                    .collect(),
                tags: img.tags.clone(),
                sandbox_config: img.sandbox_config.clone(),
            };
            (name.clone(), spec)
        })
        .collect();
    v1beta1::NodeImage {
        metadata: src.metadata.clone(),
        spec: v1beta1::NodeImageSpec { images },
        status: src.status.clone(),
    }
}

/// NodeImage v1beta1 → v1alpha1 (IPJ-5): the secret references' `mode` is dropped (v1alpha1
/// has no such field), as upstream's conversion does.
pub fn nodeimage_to_v1alpha1(src: &v1beta1::NodeImage) -> v1alpha1::NodeImage {
    let images = src
        .spec
        .images
        .iter()
        .map(|(name, img)| {
            let spec = v1alpha1::ImageSpec {
                pull_secrets: img
                    .pull_secrets
                    .iter()
                    .map(|r| v1alpha1::ReferenceObject {
                        namespace: r.namespace.clone(),
                        name: r.name.clone(),
                    })
                    .collect(),
                tags: img.tags.clone(),
                sandbox_config: img.sandbox_config.clone(),
            };
            (name.clone(), spec)
        })
        .collect();
    v1alpha1::NodeImage {
        metadata: src.metadata.clone(),
        spec: v1alpha1::NodeImageSpec { images },
        status: src.status.clone(),
    }
}

/// Why a v1beta1 Rollout has no v1alpha1 form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RolloutConversionError {
    /// v1alpha1 has no blue-green strategy. (Upstream's conversion silently returns an object
    /// with metadata only; here it is an error.)
    #[error("spec.strategy.blueGreen: a blue-green Rollout has no rollouts.kruise.io/v1alpha1 form")]
    BlueGreen,
}

fn traffic_routing_to_v1beta1(
    r: &crate::rollouts::v1alpha1::TrafficRoutingRef,
) -> crate::rollouts::v1beta1::TrafficRoutingRef {
    crate::rollouts::v1beta1::TrafficRoutingRef {
        service: r.service.clone(),
        grace_period_seconds: r.grace_period_seconds,
        ingress: r.ingress.clone(),
        gateway: r.gateway.clone(),
        custom_network_refs: r.custom_network_refs.clone(),
        additional_params: Default::default(),
    }
}

/// Rollout v1alpha1 → v1beta1 (RO-5).
///
/// `objectRef.workloadRef` becomes `workloadRef`; a step's `weight: w` becomes
/// `traffic: "w%"`, and also `replicas: "w%"` when the step has no `replicas`; header matches
/// are kept; `enableExtraWorkloadForCanary` is true unless the
/// `rollouts.kruise.io/rolling-style` annotation equals `partition` (case-insensitive), so an
/// un-annotated Rollout becomes canary-style (RO-12 then degrades it to partition for anything
/// but a native Deployment); the `rollouts.kruise.io/trafficrouting` annotation becomes
/// `trafficRoutingRef`. The deprecated `rolloutID` is dropped. The status moves from
/// `canaryStatus` into `canaryStatus` + its common part; the top-level step mirrors stay empty
/// until the controller writes them. A missing `workloadRef` or `canary` (which upstream would
/// crash on) converts to an empty reference / no strategy.
pub fn rollout_to_v1beta1(src: &crate::rollouts::v1alpha1::Rollout) -> crate::rollouts::v1beta1::Rollout {
    use crate::rollouts::v1beta1 as b;
    let annotations = src.metadata.annotations.as_ref();
    let style = src.rolling_style_annotation();
    let canary = src.spec.strategy.canary.as_ref().map(|c| b::CanaryStrategy {
        steps: c
            .steps
            .iter()
            .map(|s| b::CanaryStep {
                traffic: s.weight.map(|w| format!("{w}%")),
                request_header_modifier: s.request_header_modifier.clone(),
                matches: s
                    .matches
                    .iter()
                    .map(|m| b::HttpRouteMatch { headers: m.headers.clone(), ..Default::default() })
                    .collect(),
                replicas: s
                    .replicas
                    .clone()
                    .or_else(|| s.weight.map(|w| IntOrString::String(format!("{w}%")))),
                pause: s.pause.clone(),
            })
            .collect(),
        traffic_routings: c.traffic_routings.iter().map(traffic_routing_to_v1beta1).collect(),
        failure_threshold: c.failure_threshold.clone(),
        patch_pod_template_metadata: c.patch_pod_template_metadata.clone(),
        enable_extra_workload_for_canary: !style.eq_ignore_ascii_case("partition"),
        traffic_routing_ref: annotations
            .and_then(|a| a.get(keys::ROLLOUT_TRAFFIC_ROUTING))
            .cloned()
            .unwrap_or_default(),
        disable_generate_canary_service: c.disable_generate_canary_service,
    });
    let status = src.status.as_ref().map(|st| b::RolloutStatus {
        observed_generation: st.observed_generation,
        canary_status: st.canary_status.as_ref().map(|cs| b::CanaryStatus {
            common: b::CommonStatus {
                observed_workload_generation: cs.observed_workload_generation,
                observed_rollout_id: cs.observed_rollout_id.clone(),
                rollout_hash: cs.rollout_hash.clone(),
                stable_revision: cs.stable_revision.clone(),
                pod_template_hash: cs.pod_template_hash.clone(),
                current_step_index: cs.current_step_index,
                next_step_index: cs.next_step_index,
                finalising_step: cs.finalising_step.clone(),
                current_step_state: cs.current_step_state.clone(),
                message: cs.message.clone(),
                last_update_time: cs.last_update_time.clone(),
            },
            canary_revision: cs.canary_revision.clone(),
            canary_replicas: cs.canary_replicas,
            canary_ready_replicas: cs.canary_ready_replicas,
        }),
        blue_green_status: None,
        conditions: st.conditions.clone(),
        phase: st.phase.clone(),
        message: st.message.clone(),
        current_step_index: 0,
        current_step_state: String::new(),
    });
    b::Rollout {
        metadata: src.metadata.clone(),
        spec: b::RolloutSpec {
            workload_ref: src.spec.object_ref.workload_ref.clone().unwrap_or_default(),
            strategy: b::RolloutStrategy { paused: src.spec.strategy.paused, canary, blue_green: None },
            disabled: src.spec.disabled,
        },
        status,
    }
}

/// Rollout v1beta1 → v1alpha1 (RO-5), for clients that read the old version.
///
/// `traffic` becomes `weight` (a percent that does not parse reads as 0, as upstream); matches
/// keep only their headers; `additionalParams`, the step paths and query params and the
/// top-level step mirrors are lost. The `rollouts.kruise.io/rolling-style` annotation is set to
/// `canary` or `partition` from `enableExtraWorkloadForCanary`, and `trafficRoutingRef` becomes
/// the `rollouts.kruise.io/trafficrouting` annotation. A blue-green Rollout is an error.
pub fn rollout_to_v1alpha1(
    src: &crate::rollouts::v1beta1::Rollout,
) -> Result<crate::rollouts::v1alpha1::Rollout, RolloutConversionError> {
    use crate::rollouts::v1alpha1 as a;
    if src.spec.strategy.blue_green.is_some() {
        return Err(RolloutConversionError::BlueGreen);
    }
    let mut metadata = src.metadata.clone();
    let canary = src.spec.strategy.canary.as_ref().map(|c| {
        let annotations = metadata.annotations.get_or_insert_with(Default::default);
        let style = if c.enable_extra_workload_for_canary { "canary" } else { "partition" };
        annotations.insert(keys::ROLLOUT_ROLLING_STYLE.to_owned(), style.to_owned());
        if !c.traffic_routing_ref.is_empty() {
            annotations.insert(keys::ROLLOUT_TRAFFIC_ROUTING.to_owned(), c.traffic_routing_ref.clone());
        }
        a::CanaryStrategy {
            steps: c
                .steps
                .iter()
                .map(|s| a::CanaryStep {
                    weight: s.traffic.as_ref().map(|t| {
                        crate::intstr::scaled_strict(Some(&IntOrString::String(t.clone())), 100, true)
                            .unwrap_or(0)
                    }),
                    request_header_modifier: s.request_header_modifier.clone(),
                    matches: s
                        .matches
                        .iter()
                        .map(|m| a::HttpRouteMatch { headers: m.headers.clone() })
                        .collect(),
                    replicas: s.replicas.clone(),
                    pause: s.pause.clone(),
                })
                .collect(),
            traffic_routings: c
                .traffic_routings
                .iter()
                .map(|r| a::TrafficRoutingRef {
                    service: r.service.clone(),
                    grace_period_seconds: r.grace_period_seconds,
                    ingress: r.ingress.clone(),
                    gateway: r.gateway.clone(),
                    custom_network_refs: r.custom_network_refs.clone(),
                })
                .collect(),
            failure_threshold: c.failure_threshold.clone(),
            patch_pod_template_metadata: c.patch_pod_template_metadata.clone(),
            disable_generate_canary_service: c.disable_generate_canary_service,
        }
    });
    let status = src.status.as_ref().map(|st| a::RolloutStatus {
        observed_generation: st.observed_generation,
        canary_status: st.canary_status.as_ref().map(|cs| a::CanaryStatus {
            observed_workload_generation: cs.common.observed_workload_generation,
            observed_rollout_id: cs.common.observed_rollout_id.clone(),
            rollout_hash: cs.common.rollout_hash.clone(),
            stable_revision: cs.common.stable_revision.clone(),
            canary_revision: cs.canary_revision.clone(),
            pod_template_hash: cs.common.pod_template_hash.clone(),
            canary_replicas: cs.canary_replicas,
            canary_ready_replicas: cs.canary_ready_replicas,
            next_step_index: cs.common.next_step_index,
            current_step_index: cs.common.current_step_index,
            current_step_state: cs.common.current_step_state.clone(),
            message: cs.common.message.clone(),
            last_update_time: cs.common.last_update_time.clone(),
            finalising_step: cs.common.finalising_step.clone(),
        }),
        conditions: st.conditions.clone(),
        phase: st.phase.clone(),
        message: st.message.clone(),
    });
    Ok(a::Rollout {
        metadata,
        spec: a::RolloutSpec {
            object_ref: a::ObjectRef { workload_ref: Some(src.spec.workload_ref.clone()) },
            strategy: a::RolloutStrategy { paused: src.spec.strategy.paused, canary },
            deprecated_rollout_id: String::new(),
            disabled: src.spec.disabled,
        },
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cs_5_in_place_type_becomes_pod_update_policy() {
        let mut a = v1alpha1::CloneSet::default();
        a.spec.update_strategy.type_ = Some("InPlaceIfPossible".into());
        a.spec.update_strategy.partition = Some(IntOrString::Int(2));
        let b = cloneset_to_v1beta1(&a);
        assert_eq!(b.spec.update_strategy.type_.as_deref(), Some("RollingUpdate"));
        let ru = b.spec.update_strategy.rolling_update.as_ref().unwrap();
        assert_eq!(ru.pod_update_policy.as_deref(), Some("InPlaceIfPossible"));
        assert_eq!(ru.partition, Some(IntOrString::Int(2)));
        assert!(b.spec.scale_strategy.enable_pvc_reuse, "disablePVCReuse=false means reuse");
        let back = cloneset_to_v1alpha1(&b);
        assert_eq!(back.spec, a.spec.clone().with_reuse_default());
    }

    #[test]
    fn cs_5_on_delete_drops_rolling_fields() {
        let mut a = v1alpha1::CloneSet::default();
        a.spec.update_strategy.type_ = Some("OnDelete".into());
        a.spec.update_strategy.partition = Some(IntOrString::Int(2));
        let b = cloneset_to_v1beta1(&a);
        assert_eq!(b.spec.update_strategy.type_.as_deref(), Some("OnDelete"));
        assert!(b.spec.update_strategy.rolling_update.is_none());
    }

    #[test]
    fn cs_5_unknown_type_reads_as_recreate() {
        let mut a = v1alpha1::CloneSet::default();
        a.spec.update_strategy.type_ = Some("Bogus".into());
        let b = cloneset_to_v1beta1(&a);
        let ru = b.spec.update_strategy.rolling_update.as_ref().unwrap();
        assert_eq!(ru.pod_update_policy.as_deref(), Some("ReCreate"));
    }

    #[test]
    fn cs_5_predownload_annotations_move() {
        let mut a = v1alpha1::CloneSet::default();
        a.metadata.annotations =
            Some([(keys::IMAGE_PREDOWNLOAD_PARALLELISM.to_owned(), "5".to_owned())].into_iter().collect());
        let b = cloneset_to_v1beta1(&a);
        assert!(b.metadata.annotations.is_none());
        let ipu = b.spec.update_strategy.rolling_update.unwrap().in_place_update_strategy.unwrap();
        assert_eq!(ipu.image_pre_download_parallelism, Some(IntOrString::Int(5)));
    }

    impl v1alpha1::CloneSetSpec {
        fn with_reuse_default(mut self) -> Self {
            self.update_strategy.type_ = self.update_strategy.type_.or(Some("ReCreate".into()));
            self
        }
    }
}

mod daemonset_sidecarset;
pub use daemonset_sidecarset::*;
