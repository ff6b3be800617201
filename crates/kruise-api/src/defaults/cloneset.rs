//! CloneSet defaulting (CS-10, CS-11, CS-12): what the mutating webhook sets on create and
//! update, for both served versions.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::apps::common::InPlaceUpdateStrategy;
use crate::apps::v1beta1::{pod_update_policy as pol, update_strategy_type as ty};
use crate::apps::{v1alpha1, v1beta1};
use crate::defaults::Defaulting;
use crate::defaults::pod::{PodDefaultOptions, default_workload_templates};

/// Default `replicas` (CS-10, CS-11).
pub const DEFAULT_REPLICAS: i32 = 1;
/// Default `revisionHistoryLimit` (CS-10, CS-11).
pub const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 10;
/// Default update `maxUnavailable` (CS-10, CS-11).
pub const DEFAULT_MAX_UNAVAILABLE: &str = "20%";

/// CS-10: defaults a v1alpha1 CloneSet. `old` is the stored object on update (`None` on
/// create): template defaults (CS-12) are applied on create and when the template changed.
pub fn default_cloneset_v1alpha1(
    cs: &mut v1alpha1::CloneSet,
    old: Option<&v1alpha1::CloneSet>,
    opts: PodDefaultOptions,
) {
    let spec = &mut cs.spec;
    spec.replicas.get_or_insert(DEFAULT_REPLICAS);
    spec.revision_history_limit.get_or_insert(DEFAULT_REVISION_HISTORY_LIMIT);
    default_workload_templates(
        &mut spec.template,
        &mut spec.volume_claim_templates,
        old.map(|o| &o.spec.template),
        opts,
    );
    let us = &mut spec.update_strategy;
    match us.type_.as_deref() {
        None | Some("") => us.type_ = Some(pol::RECREATE.to_owned()),
        Some(pol::IN_PLACE_IF_POSSIBLE | pol::IN_PLACE_ONLY) => {
            us.in_place_update_strategy.get_or_insert_with(InPlaceUpdateStrategy::default);
        }
        Some(_) => {}
    }
    us.partition.get_or_insert(IntOrString::Int(0));
    us.max_unavailable.get_or_insert_with(|| IntOrString::String(DEFAULT_MAX_UNAVAILABLE.to_owned()));
    us.max_surge.get_or_insert(IntOrString::Int(0));
}

/// CS-11: defaults a v1beta1 CloneSet. Rolling-update fields are defaulted only with
/// `type: RollingUpdate` (the default); with `OnDelete` nothing under `rollingUpdate` is
/// touched. Template defaults as in [`default_cloneset_v1alpha1`].
pub fn default_cloneset_v1beta1(
    cs: &mut v1beta1::CloneSet,
    old: Option<&v1beta1::CloneSet>,
    opts: PodDefaultOptions,
) {
    let spec = &mut cs.spec;
    spec.replicas.get_or_insert(DEFAULT_REPLICAS);
    spec.revision_history_limit.get_or_insert(DEFAULT_REVISION_HISTORY_LIMIT);
    default_workload_templates(
        &mut spec.template,
        &mut spec.volume_claim_templates,
        old.map(|o| &o.spec.template),
        opts,
    );
    let us = &mut spec.update_strategy;
    if us.type_.as_deref().is_none_or(str::is_empty) {
        us.type_ = Some(ty::ROLLING_UPDATE.to_owned());
    }
    if us.type_.as_deref() != Some(ty::ROLLING_UPDATE) {
        return;
    }
    let ru = us.rolling_update.get_or_insert_with(Default::default);
    if ru.pod_update_policy.as_deref().is_none_or(str::is_empty) {
        ru.pod_update_policy = Some(pol::RECREATE.to_owned());
    }
    if matches!(ru.pod_update_policy.as_deref(), Some(pol::IN_PLACE_IF_POSSIBLE | pol::IN_PLACE_ONLY)) {
        ru.in_place_update_strategy.get_or_insert_with(InPlaceUpdateStrategy::default);
    }
    ru.partition.get_or_insert(IntOrString::Int(0));
    ru.max_unavailable.get_or_insert_with(|| IntOrString::String(DEFAULT_MAX_UNAVAILABLE.to_owned()));
    ru.max_surge.get_or_insert(IntOrString::Int(0));
}

impl Defaulting for v1alpha1::CloneSet {
    fn apply_defaults(&mut self) {
        default_cloneset_v1alpha1(self, None, PodDefaultOptions::default());
    }
}

impl Defaulting for v1beta1::CloneSet {
    fn apply_defaults(&mut self) {
        default_cloneset_v1beta1(self, None, PodDefaultOptions::default());
    }
}
