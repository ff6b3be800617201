//! Rollout defaulting. Kruise Rollouts has no mutating webhook for Rollouts; the defaults are
//! the CRD's structural defaults, which the API server applies to every stored object (RO-4):
//! `trafficRoutings[].gracePeriodSeconds` → 3, and the Gateway API match defaults embedded in
//! the steps (`path.type` → `PathPrefix`, `path.value` → `/`, header and query-param
//! `type` → `Exact`). `ingress.classType` stays empty (the controller reads empty as `nginx`,
//! [`IngressTrafficRouting::class_type_or_default`]).
//!
//! [`IngressTrafficRouting::class_type_or_default`]: crate::rollouts::v1beta1::IngressTrafficRouting::class_type_or_default

use crate::defaults::Defaulting;
use crate::rollouts::v1beta1::{CanaryStep, DEFAULT_GRACE_PERIOD_SECONDS, Rollout, TrafficRoutingRef};

/// Gateway API default of `HTTPPathMatch.type`.
pub const DEFAULT_PATH_MATCH_TYPE: &str = "PathPrefix";
/// Gateway API default of `HTTPPathMatch.value`.
pub const DEFAULT_PATH_MATCH_VALUE: &str = "/";
/// Gateway API default of header and query-param match `type`.
pub const DEFAULT_MATCH_TYPE: &str = "Exact";

fn default_traffic_routing(r: &mut TrafficRoutingRef) {
    r.grace_period_seconds.get_or_insert(DEFAULT_GRACE_PERIOD_SECONDS);
}

fn default_step(step: &mut CanaryStep) {
    step.matches.iter_mut().for_each(default_match);
}

fn default_match(m: &mut crate::rollouts::v1beta1::HttpRouteMatch) {
    if let Some(path) = &mut m.path {
        path.type_.get_or_insert_with(|| DEFAULT_PATH_MATCH_TYPE.to_owned());
        path.value.get_or_insert_with(|| DEFAULT_PATH_MATCH_VALUE.to_owned());
    }
    for h in &mut m.headers {
        h.type_.get_or_insert_with(|| DEFAULT_MATCH_TYPE.to_owned());
    }
    for q in &mut m.query_params {
        q.type_.get_or_insert_with(|| DEFAULT_MATCH_TYPE.to_owned());
    }
}

impl Defaulting for crate::rollouts::v1alpha1::TrafficRouting {
    /// The CRD's structural defaults, as for a Rollout's (RO-4): `objectRef[].gracePeriodSeconds`
    /// → 3 and the Gateway API match defaults in `strategy.matches`.
    fn apply_defaults(&mut self) {
        self.spec.object_ref.iter_mut().for_each(default_traffic_routing);
        self.spec.strategy.matches.iter_mut().for_each(default_match);
    }
}

impl Defaulting for Rollout {
    fn apply_defaults(&mut self) {
        let strategy = &mut self.spec.strategy;
        if let Some(c) = &mut strategy.canary {
            c.traffic_routings.iter_mut().for_each(default_traffic_routing);
            c.steps.iter_mut().for_each(default_step);
        }
        if let Some(bg) = &mut strategy.blue_green {
            bg.traffic_routings.iter_mut().for_each(default_traffic_routing);
            bg.steps.iter_mut().for_each(default_step);
        }
    }
}

impl Defaulting for crate::rollouts::v1alpha1::Rollout {
    /// The v1alpha1 CRD's structural defaults: `gracePeriodSeconds` → 3 and header-match
    /// `type` → `Exact` (v1alpha1 matches have headers only).
    fn apply_defaults(&mut self) {
        if let Some(c) = &mut self.spec.strategy.canary {
            for r in &mut c.traffic_routings {
                r.grace_period_seconds.get_or_insert(DEFAULT_GRACE_PERIOD_SECONDS);
            }
            for h in c.steps.iter_mut().flat_map(|s| s.matches.iter_mut()).flat_map(|m| m.headers.iter_mut())
            {
                h.type_.get_or_insert_with(|| DEFAULT_MATCH_TYPE.to_owned());
            }
        }
    }
}
