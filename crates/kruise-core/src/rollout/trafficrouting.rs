//! The shared TrafficRouting's own pass (RO-64..RO-66): phases `Initial` -> `Healthy` ->
//! `Progressing` (while any Rollout holds a `progressing.rollouts.kruise.io/<rollout>`
//! finalizer: its strategy is applied) -> `Finalizing` (routes restored) -> `Healthy`;
//! deleted -> `Terminating` -> restore -> its own finalizer removed. Its traffic context is
//! "only traffic routing": the canary Service is the stable Service and no Service is touched;
//! providers receive the intents as data.

use std::time::Duration;

use jiff::Timestamp;
use kruise_api::keys;
use kruise_api::rollouts::v1alpha1::{TrafficRouting, TrafficRoutingStatus, tr_phase};

use super::traffic::{self, Progress, TrafficContext, TrafficObservation};
use super::types::{Plan, PlanExt, RolloutAction as ActionKind, RolloutReason as Reason};
use crate::plan::{Action, Held, Requeue};

/// The TrafficRouting's own finalizer.
pub const TRAFFIC_ROUTING_FINALIZER: &str = "rollouts.kruise.io/trafficrouting";

/// One pass over a shared TrafficRouting.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrafficRoutingPlan {
    /// Writes, in order.
    pub actions: Vec<Action>,
    /// What it waits for.
    pub held: Vec<Held>,
    /// The status to write.
    pub status: TrafficRoutingStatus,
    /// When to look again.
    pub requeue: Option<Requeue>,
}

/// The shared TrafficRouting a Rollout names (RO-64): the strategy's `trafficRoutingRef`,
/// else the v1alpha1 annotation; `None` when neither is set.
pub fn shared_routing_name(r: &kruise_api::rollouts::v1beta1::Rollout) -> Option<String> {
    let field = match (&r.spec.strategy.canary, &r.spec.strategy.blue_green) {
        (Some(c), _) => c.traffic_routing_ref.clone(),
        (None, Some(b)) => b.traffic_routing_ref.clone(),
        _ => String::new(),
    };
    if !field.is_empty() {
        return Some(field);
    }
    r.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(keys::ROLLOUT_TRAFFIC_ROUTING))
        .filter(|v| !v.is_empty())
        .cloned()
}

/// True while any Rollout holds a progressing finalizer on `tr` (RO-64).
pub fn has_progressing_finalizer(tr: &TrafficRouting) -> bool {
    tr.metadata.finalizers.iter().flatten().any(|f| f.starts_with(keys::ROLLOUT_PROGRESSING_FINALIZER_PREFIX))
}

fn context(tr: &TrafficRouting) -> TrafficContext {
    let refs = tr.spec.object_ref.clone();
    let stable = refs.first().map(|r| r.service.clone()).unwrap_or_default();
    TrafficContext {
        refs,
        rollout: tr.metadata.name.clone().unwrap_or_default(),
        step: 0,
        canary_service: stable.clone(),
        stable_service: stable,
        only_traffic_routing: true,
        disable_canary_service: true,
        revision_label_key: String::new(),
        stable_revision: String::new(),
        canary_revision: String::new(),
        traffic: tr.spec.strategy.weight.map(|w| format!("{w}%")),
        matches: tr.spec.strategy.matches.clone(),
        request_header_modifier: tr.spec.strategy.request_header_modifier.clone(),
        selector_patch: Default::default(),
        append_pod_selector: false,
    }
}

/// Plans one pass over a shared TrafficRouting; `obs.custom_applied` holds the intent each
/// provider object last applied.
pub fn plan(tr: &TrafficRouting, obs: &TrafficObservation<'_>, now: Timestamp) -> TrafficRoutingPlan {
    let name = tr.metadata.name.clone().unwrap_or_default();
    let subject = traffic::shared_subject(&name);
    let ctx = context(tr);
    let mut p = Plan::default();
    let mut st = tr.status.clone().unwrap_or_default();
    st.observed_generation = tr.metadata.generation.unwrap_or(0);
    let own_fin = tr.metadata.finalizers.iter().flatten().any(|f| f == TRAFFIC_ROUTING_FINALIZER);
    if tr.metadata.deletion_timestamp.is_some() {
        st.phase = tr_phase::TERMINATING.into();
        if traffic::restore_routes(&ctx, obs, now, &mut p).is_done() && own_fin {
            p.push(
                ActionKind::RemoveFinalizer { finalizer: TRAFFIC_ROUTING_FINALIZER.into() },
                &subject,
                Reason::RouteTrafficToStable,
            );
        }
    } else {
        if !own_fin {
            p.push(
                ActionKind::AddFinalizer { finalizer: TRAFFIC_ROUTING_FINALIZER.into() },
                &subject,
                Reason::SharedTrafficRouting,
            );
        }
        let progressing = has_progressing_finalizer(tr);
        match st.phase.as_str() {
            "" | tr_phase::INITIAL => {
                st.phase = tr_phase::HEALTHY.into();
                st.message = "TrafficRouting is Healthy".into();
            }
            tr_phase::HEALTHY if progressing => {
                st.phase = tr_phase::PROGRESSING.into();
                st.message = "TrafficRouting is Progressing".into();
            }
            tr_phase::PROGRESSING if !progressing => {
                st.phase = tr_phase::FINALIZING.into();
                st.message = "TrafficRouting is Finalizing".into();
            }
            tr_phase::PROGRESSING => {
                let mut sink = Plan::default();
                let (res, _) = traffic::do_traffic_routing(&ctx, obs, None, now, &mut sink);
                p.actions.extend(sink.actions);
                if res != Progress::Done {
                    p.requeue_after(Duration::from_secs(3), Reason::TrafficStep { step: 0 });
                }
            }
            tr_phase::FINALIZING => {
                let res = traffic::restore_routes(&ctx, obs, now, &mut p);
                if res.is_done() {
                    st.phase = tr_phase::HEALTHY.into();
                    st.message = "TrafficRouting is Healthy".into();
                } else if let Some(d) = traffic::retry_after(res) {
                    p.requeue_after(d, Reason::RouteTrafficToStable);
                }
            }
            _ => {}
        }
    }
    TrafficRoutingPlan { actions: p.actions, held: p.held, status: st, requeue: p.requeue }
}
