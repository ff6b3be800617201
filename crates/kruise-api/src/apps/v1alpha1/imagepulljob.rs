//! ImagePullJob, `apps.kruise.io/v1alpha1` (IPJ-1): field-identical to v1beta1, so the spec
//! and status types are shared and conversion only changes `apiVersion`.

pub use crate::apps::v1beta1::imagepulljob::{
    ImagePullJobNodeSelector, ImagePullJobPodSelector, ImagePullJobSpec, ImagePullJobStatus, PullPolicy,
    SandboxConfig, image_pull_policy,
};

kruise_resource! {
    /// ImagePullJob (`apps.kruise.io/v1alpha1`): pull `spec.image` on the selected nodes
    /// (IPJ-1). Served, not stored; see [`crate::apps::v1beta1::ImagePullJob`].
    ImagePullJob {
        group: "apps.kruise.io",
        version: "v1alpha1",
        kind: "ImagePullJob",
        plural: "imagepulljobs",
        scope: ::k8s_openapi::NamespaceResourceScope,
        spec: ImagePullJobSpec,
        status: ImagePullJobStatus,
    }
}

/// CRD description of ImagePullJob (the same for both versions; see the v1beta1 module).
#[cfg(feature = "schemars")]
pub fn kind_info() -> crate::crd::KindInfo {
    crate::apps::v1beta1::imagepulljob::kind_info()
}
