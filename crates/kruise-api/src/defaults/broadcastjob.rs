//! BroadcastJob defaulting (BJ-4), the same for v1alpha1 and v1beta1.
//!
//! Deliberate deviation: upstream's webhook also clears `status` of the admitted object. That
//! is an admission concern, not a default; [`Defaulting::apply_defaults`] must be safe on
//! stored objects (planners receive defaulted objects with their status), so status is kept.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::apps::v1beta1::BroadcastJobSpec;
use crate::apps::v1beta1::broadcastjob::{completion_policy_type, failure_policy_type};
use crate::apps::{v1alpha1, v1beta1};
use crate::defaults::Defaulting;
use crate::defaults::pod::default_pod_template;

/// Default `parallelism`: no limit, 2^31 − 1 (BJ-4).
pub const DEFAULT_PARALLELISM: i32 = i32::MAX;

/// BJ-4: `completionPolicy.type` → `Always`, `parallelism` → 2147483647,
/// `failurePolicy.type` → `FailFast`, and the pod-template defaults. `restartLimit` has no
/// default.
pub fn default_broadcastjob_spec(spec: &mut BroadcastJobSpec) {
    default_pod_template(&mut spec.template);
    if spec.completion_policy.type_.is_empty() {
        spec.completion_policy.type_ = completion_policy_type::ALWAYS.to_owned();
    }
    if spec.parallelism.is_none() {
        spec.parallelism = Some(IntOrString::Int(DEFAULT_PARALLELISM));
    }
    if spec.failure_policy.type_.is_empty() {
        spec.failure_policy.type_ = failure_policy_type::FAIL_FAST.to_owned();
    }
}

impl Defaulting for v1beta1::BroadcastJob {
    fn apply_defaults(&mut self) {
        default_broadcastjob_spec(&mut self.spec);
    }
}

impl Defaulting for v1alpha1::BroadcastJob {
    fn apply_defaults(&mut self) {
        default_broadcastjob_spec(&mut self.spec);
    }
}
