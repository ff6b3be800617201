//! Pod template defaulting (CS-12): Kubernetes' pod-spec defaults as OpenKruise's webhook
//! applies them to workload templates, with Kruise's own deviation for `imagePullPolicy`.

use k8s_openapi::api::core::v1::{Container, PodTemplateSpec};

/// Applies pod-spec defaults to a workload's pod template (CS-12).
pub fn default_pod_template(template: &mut PodTemplateSpec) {
    let spec = template.spec.get_or_insert_with(Default::default);
    for c in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
        default_container(c);
    }
}

/// Defaults one container: Kruise sets `imagePullPolicy: Always` when empty, whatever the tag.
pub fn default_container(c: &mut Container) {
    if c.image_pull_policy.as_deref().is_none_or(str::is_empty) {
        c.image_pull_policy = Some("Always".to_owned());
    }
}
