//! Advanced DaemonSet defaulting (ADS-4): what the mutating webhook sets on create and update.
//! The pod template is **not** defaulted by this webhook.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Defaulting;
use crate::apps::v1beta1::daemonset::{
    DaemonSetUpdateStrategy, RollingUpdateDaemonSet, rolling_update_type as rut, update_strategy_type as ust,
};
use crate::apps::{v1alpha1, v1beta1};

/// Default `burstReplicas` (ADS-4).
pub const DEFAULT_BURST_REPLICAS: i32 = 250;
/// Default `revisionHistoryLimit` (ADS-4).
pub const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 10;

/// The defaults both versions share; `surging` turns on the v1alpha1 handling of the
/// deprecated `Surging` type.
fn default_common(
    burst_replicas: &mut Option<IntOrString>,
    strategy: &mut DaemonSetUpdateStrategy,
    revision_history_limit: &mut Option<i32>,
    surging: bool,
) {
    burst_replicas.get_or_insert(IntOrString::Int(DEFAULT_BURST_REPLICAS));
    if strategy.type_.as_deref().is_none_or(str::is_empty) {
        strategy.type_ = Some(ust::ROLLING_UPDATE.to_owned());
    }
    if strategy.type_.as_deref() == Some(ust::ROLLING_UPDATE) {
        let ru = strategy.rolling_update.get_or_insert_with(RollingUpdateDaemonSet::default);
        let ty = ru.rolling_update_type.as_deref().unwrap_or_default();
        if surging && ty == rut::SURGING {
            ru.max_surge.get_or_insert(IntOrString::Int(1));
            ru.max_unavailable.get_or_insert(IntOrString::Int(0));
        }
        if ty.is_empty() || (surging && ty == rut::SURGING) {
            ru.rolling_update_type = Some(rut::STANDARD.to_owned());
        }
        if ru.max_unavailable.is_none() && ru.max_surge.is_none() {
            ru.max_unavailable = Some(IntOrString::Int(1));
            ru.max_surge = Some(IntOrString::Int(0));
        }
    }
    revision_history_limit.get_or_insert(DEFAULT_REVISION_HISTORY_LIMIT);
}

impl Defaulting for v1alpha1::DaemonSet {
    /// ADS-4, v1alpha1: as v1beta1, plus `Surging` → `Standard` with `maxSurge` 1 and
    /// `maxUnavailable` 0 when unset.
    fn apply_defaults(&mut self) {
        let s = &mut self.spec;
        default_common(&mut s.burst_replicas, &mut s.update_strategy, &mut s.revision_history_limit, true);
    }
}

impl Defaulting for v1beta1::DaemonSet {
    /// ADS-4, v1beta1: `burstReplicas` 250, type `RollingUpdate`, `rollingUpdateType`
    /// `Standard`, `maxUnavailable` 1 / `maxSurge` 0 when both are unset,
    /// `revisionHistoryLimit` 10.
    fn apply_defaults(&mut self) {
        let s = &mut self.spec;
        default_common(&mut s.burst_replicas, &mut s.update_strategy, &mut s.revision_history_limit, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ru(ds: &v1alpha1::DaemonSet) -> &RollingUpdateDaemonSet {
        ds.spec.update_strategy.rolling_update.as_ref().expect("rollingUpdate defaulted")
    }

    #[test]
    fn ads_4_empty_spec_gets_every_default() {
        let mut ds = v1alpha1::DaemonSet::default();
        ds.apply_defaults();
        assert_eq!(ds.spec.burst_replicas, Some(IntOrString::Int(250)));
        assert_eq!(ds.spec.update_strategy.type_.as_deref(), Some("RollingUpdate"));
        assert_eq!(ru(&ds).rolling_update_type.as_deref(), Some("Standard"));
        assert_eq!(ru(&ds).max_unavailable, Some(IntOrString::Int(1)));
        assert_eq!(ru(&ds).max_surge, Some(IntOrString::Int(0)));
        assert_eq!(ds.spec.revision_history_limit, Some(10));
        assert_eq!(ds.spec.template, Default::default(), "ADS-4: no pod-template defaulting");
    }

    #[test]
    fn ads_4_surging_sets_surge_one_unavailable_zero() {
        let mut ds = v1alpha1::DaemonSet::default();
        ds.spec.update_strategy.rolling_update = Some(RollingUpdateDaemonSet {
            rolling_update_type: Some("Surging".into()),
            ..Default::default()
        });
        ds.apply_defaults();
        assert_eq!(ru(&ds).rolling_update_type.as_deref(), Some("Standard"));
        assert_eq!(ru(&ds).max_surge, Some(IntOrString::Int(1)));
        assert_eq!(ru(&ds).max_unavailable, Some(IntOrString::Int(0)));
    }

    #[test]
    fn ads_4_surging_keeps_explicit_values() {
        let mut ds = v1alpha1::DaemonSet::default();
        ds.spec.update_strategy.rolling_update = Some(RollingUpdateDaemonSet {
            rolling_update_type: Some("Surging".into()),
            max_surge: Some(IntOrString::String("30%".into())),
            ..Default::default()
        });
        ds.apply_defaults();
        assert_eq!(ru(&ds).max_surge, Some(IntOrString::String("30%".into())));
        assert_eq!(ru(&ds).max_unavailable, Some(IntOrString::Int(0)));
    }

    #[test]
    fn ads_4_one_budget_set_leaves_the_other_unset() {
        let mut ds = v1beta1::DaemonSet::default();
        ds.spec.update_strategy.rolling_update =
            Some(RollingUpdateDaemonSet { max_surge: Some(IntOrString::Int(2)), ..Default::default() });
        ds.apply_defaults();
        let ru = ds.spec.update_strategy.rolling_update.as_ref().expect("kept");
        assert_eq!(ru.max_surge, Some(IntOrString::Int(2)));
        assert_eq!(ru.max_unavailable, None);
    }

    #[test]
    fn ads_4_on_delete_gets_no_rolling_update() {
        let mut ds = v1beta1::DaemonSet::default();
        ds.spec.update_strategy.type_ = Some("OnDelete".into());
        ds.apply_defaults();
        assert_eq!(ds.spec.update_strategy.rolling_update, None);
        assert_eq!(ds.spec.burst_replicas, Some(IntOrString::Int(250)));
    }

    #[test]
    fn ads_4_v1beta1_leaves_surging_alone_for_validation() {
        let mut ds = v1beta1::DaemonSet::default();
        ds.spec.update_strategy.rolling_update = Some(RollingUpdateDaemonSet {
            rolling_update_type: Some("Surging".into()),
            ..Default::default()
        });
        ds.apply_defaults();
        let ru = ds.spec.update_strategy.rolling_update.as_ref().expect("kept");
        assert_eq!(ru.rolling_update_type.as_deref(), Some("Surging"));
    }

    #[test]
    fn ads_4_defaulting_is_idempotent() {
        let mut once = v1alpha1::DaemonSet::default();
        once.apply_defaults();
        let mut twice = once.clone();
        twice.apply_defaults();
        assert_eq!(once, twice);
    }
}
