//! ImagePullJob (IPJ-3) and NodeImage (IPJ-6) defaulting.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use crate::apps::v1beta1::broadcastjob::completion_policy_type;
use crate::apps::v1beta1::imagepulljob::image_pull_policy;
use crate::apps::v1beta1::{ImagePullJobSpec, ImageTagPullPolicy, ImageTagSpec, PullPolicy};
use crate::apps::{v1alpha1, v1beta1};
use crate::defaults::Defaulting;
use crate::keys;

/// Default pull timeout of a job or a NodeImage tag, in seconds (IPJ-3, IPJ-6).
pub const DEFAULT_PULL_TIMEOUT_SECONDS: i32 = 600;
/// Default pull retries of a job or a NodeImage tag (IPJ-3, IPJ-6).
pub const DEFAULT_PULL_BACKOFF_LIMIT: i32 = 3;

/// IPJ-3: `completionPolicy.type` → `Always`; `pullPolicy` → `{}` then `timeoutSeconds` 600
/// and `backoffLimit` 3; `imagePullPolicy` → `IfNotPresent`. `parallelism` is left unset
/// (the controller reads nil as 1).
pub fn default_imagepulljob_spec(spec: &mut ImagePullJobSpec) {
    if spec.completion_policy.type_.is_empty() {
        spec.completion_policy.type_ = completion_policy_type::ALWAYS.to_owned();
    }
    let pp = spec.pull_policy.get_or_insert_with(PullPolicy::default);
    pp.timeout_seconds.get_or_insert(DEFAULT_PULL_TIMEOUT_SECONDS);
    pp.backoff_limit.get_or_insert(DEFAULT_PULL_BACKOFF_LIMIT);
    if spec.image_pull_policy.is_empty() {
        spec.image_pull_policy = image_pull_policy::IF_NOT_PRESENT.to_owned();
    }
}

/// IPJ-3: what upstream's webhook adds to a **v1alpha1** ImagePullJob on CREATE only: the
/// `apps.kruise.io/deletion-protection` finalizer (idempotent). Not part of
/// [`Defaulting::apply_defaults`], which also runs on updates and stored objects, where
/// re-adding a finalizer the controller removed would block deletion.
pub fn add_v1alpha1_create_finalizer(meta: &mut ObjectMeta) {
    let finalizers = meta.finalizers.get_or_insert_with(Vec::new);
    if !finalizers.iter().any(|f| f == keys::DELETION_PROTECTION_FINALIZER) {
        finalizers.push(keys::DELETION_PROTECTION_FINALIZER.to_owned());
    }
}

impl Defaulting for v1beta1::ImagePullJob {
    fn apply_defaults(&mut self) {
        default_imagepulljob_spec(&mut self.spec);
    }
}

impl Defaulting for v1alpha1::ImagePullJob {
    fn apply_defaults(&mut self) {
        default_imagepulljob_spec(&mut self.spec);
    }
}

/// IPJ-6: `pullPolicy` → `{}`, then `timeoutSeconds` 600 and `backoffLimit` 3.
pub fn default_image_tag(tag: &mut ImageTagSpec) {
    let pp = tag.pull_policy.get_or_insert_with(ImageTagPullPolicy::default);
    pp.timeout_seconds.get_or_insert(DEFAULT_PULL_TIMEOUT_SECONDS);
    pp.backoff_limit.get_or_insert(DEFAULT_PULL_BACKOFF_LIMIT);
}

/// IPJ-6 with the clock: every tag without `createdAt` gets `now`, then [`default_image_tag`].
/// The webhook reads the clock; here the caller passes it, so
/// [`Defaulting::apply_defaults`] (which has no clock) leaves `createdAt` alone.
pub fn default_node_image_at(obj: &mut v1beta1::NodeImage, now: &Time) {
    for image in obj.spec.images.values_mut() {
        for tag in &mut image.tags {
            tag.created_at.get_or_insert_with(|| now.clone());
        }
    }
    obj.apply_defaults();
}

/// [`default_node_image_at`] for a v1alpha1 NodeImage.
pub fn default_v1alpha1_node_image_at(obj: &mut v1alpha1::NodeImage, now: &Time) {
    for image in obj.spec.images.values_mut() {
        for tag in &mut image.tags {
            tag.created_at.get_or_insert_with(|| now.clone());
        }
    }
    obj.apply_defaults();
}

impl Defaulting for v1beta1::NodeImage {
    /// IPJ-6 without the clock (see [`default_node_image_at`]).
    fn apply_defaults(&mut self) {
        for image in self.spec.images.values_mut() {
            image.tags.iter_mut().for_each(default_image_tag);
        }
    }
}

impl Defaulting for v1alpha1::NodeImage {
    /// IPJ-6 without the clock, as for v1beta1.
    fn apply_defaults(&mut self) {
        for image in self.spec.images.values_mut() {
            image.tags.iter_mut().for_each(default_image_tag);
        }
    }
}
