//! Traffic as data (RO-56..RO-63): the Service, HTTPRoute, Ingress and custom-provider
//! intents of a step, the restore intents of finalising, and the grace periods between them.
//!
//! Nothing here writes: every function compares the observed objects with the intent and
//! pushes the writes still needed onto the [`Plan`], reporting [`Progress::Done`] only when the
//! observed objects already match and no grace period is running.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Service, ServiceSpec};
use k8s_openapi::api::networking::v1::{Ingress, IngressBackend, IngressServiceBackend};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kruise_api::gateway::{HttpBackendRef, HttpRoute, HttpRouteRule};
use kruise_api::rollouts::v1alpha1::TrafficRouting;
use kruise_api::rollouts::v1beta1::{
    DEFAULT_GRACE_PERIOD_SECONDS, HttpHeaderFilter, HttpRouteMatch, TrafficRoutingRef,
};
use serde::{Deserialize, Serialize};

use super::types::{Obj, Plan, PlanExt, RolloutAction as ActionKind, RolloutReason as Reason, subject_of};
use crate::plan::{Reason as Shared, WorkloadReason};

/// What a provider is asked to do (RO-58).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IntentKind {
    /// Route part of the traffic (weight and/or matches) to the canary.
    Canary,
    /// Route everything back to the stable Service.
    Restore,
    /// Blue-green success: everything to the canary (weight 100, no matches).
    AllToCanary,
}

/// RO-58 route intent: the data a provider (Gateway, Ingress, Lua) turns into its objects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteIntent {
    /// What to do.
    pub kind: IntentKind,
    /// Canary weight, percent (`None`: no weight, e.g. matches only).
    pub canary_weight: Option<i32>,
    /// Request matches sent to the canary.
    pub matches: Vec<HttpRouteMatch>,
    /// Header edits.
    pub request_header_modifier: Option<HttpHeaderFilter>,
    /// The stable Service.
    pub stable_service: String,
    /// The canary Service.
    pub canary_service: String,
}

/// An adapter's record of a traffic write (RO-63): the grace period after it runs from `at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrafficWrite {
    /// `Kind/name` of the object written.
    pub object: String,
    /// The item (`PinStableService`, `RestoreStableService`, `RouteTrafficToStable`,
    /// `RemoveCanaryService`, the [`Reason::kind`] of the action).
    pub item: String,
    /// When.
    pub at: Timestamp,
}

/// What the traffic planner observes (RO-67).
#[derive(Clone, Copy, Debug, Default)]
pub struct TrafficObservation<'a> {
    /// The stable Service (`ref.service`).
    pub stable_service: Option<&'a Service>,
    /// The canary Service (`<service>-canary`), if it exists.
    pub canary_service: Option<&'a Service>,
    /// The Gateway provider's HTTPRoute.
    pub http_route: Option<&'a HttpRoute>,
    /// The Ingress provider's Ingress.
    pub ingress: Option<&'a Ingress>,
    /// Its canary Ingress (`<ingress>-canary`), if it exists.
    pub canary_ingress: Option<&'a Ingress>,
    /// The intent each custom provider object last applied (`Kind/name` -> intent).
    pub custom_applied: Option<&'a BTreeMap<String, RouteIntent>>,
    /// The shared TrafficRouting (RO-64), if the Rollout names one.
    pub shared: Option<&'a TrafficRouting>,
    /// Recent traffic writes (grace periods, RO-63).
    pub writes: &'a [TrafficWrite],
}

/// Outcome of a traffic item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The observed objects match the intent and no grace period runs.
    Done,
    /// Writes were planned or a grace period runs: look again after `after` seconds.
    Retry {
        /// Seconds.
        after: u64,
    },
}

impl Progress {
    /// True for [`Progress::Done`].
    pub fn is_done(self) -> bool {
        self == Progress::Done
    }
}

/// RO-56 traffic context of a Rollout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrafficContext {
    /// The routing refs (only the first is used for Services).
    pub refs: Vec<TrafficRoutingRef>,
    /// The Rollout name (for object names and finalizers).
    pub rollout: String,
    /// The 1-based current step (for reasons).
    pub step: i32,
    /// `ref.service`.
    pub stable_service: String,
    /// `<service>-canary`, or the stable Service itself.
    pub canary_service: String,
    /// A shared TrafficRouting: no Service pinning, canary Service = stable.
    pub only_traffic_routing: bool,
    /// `disableGenerateCanaryService`.
    pub disable_canary_service: bool,
    /// RO-20.
    pub revision_label_key: String,
    /// Status `stableRevision`.
    pub stable_revision: String,
    /// Status `podTemplateHash`.
    pub canary_revision: String,
    /// The step's traffic, `"N%"`.
    pub traffic: Option<String>,
    /// The step's matches.
    pub matches: Vec<HttpRouteMatch>,
    /// The step's header modifier.
    pub request_header_modifier: Option<HttpHeaderFilter>,
    /// `patchPodTemplateMetadata.labels` (selector patch of the canary Service).
    pub selector_patch: BTreeMap<String, String>,
    /// Feature gate `AppendPodSelector`.
    pub append_pod_selector: bool,
}

impl TrafficContext {
    /// RO-63: the first ref's grace period, 0 or negative meaning 3 (StepTrafficRouting).
    pub fn step_grace(&self) -> u64 {
        let g =
            self.refs.first().and_then(|r| r.grace_period_seconds).unwrap_or(DEFAULT_GRACE_PERIOD_SECONDS);
        u64::try_from(if g <= 0 { DEFAULT_GRACE_PERIOD_SECONDS } else { g }).unwrap_or(3)
    }
    /// RO-63: the largest grace period over the refs, 0 honoured, negative meaning 3
    /// (pin, restore, remove).
    pub fn item_grace(&self) -> u64 {
        self.refs
            .iter()
            .map(|r| {
                let g = r.grace_period_seconds.unwrap_or(DEFAULT_GRACE_PERIOD_SECONDS);
                u64::try_from(if g < 0 { DEFAULT_GRACE_PERIOD_SECONDS } else { g }).unwrap_or(3)
            })
            .max()
            .unwrap_or(0)
    }
    /// No Services are generated, pinned or deleted (RO-57).
    pub fn no_services(&self) -> bool {
        self.only_traffic_routing || self.disable_canary_service
    }
    /// RO-58: the step's route intent.
    pub fn step_intent(&self) -> RouteIntent {
        RouteIntent {
            kind: IntentKind::Canary,
            canary_weight: self.traffic.as_deref().map(weight_of),
            matches: self.matches.clone(),
            request_header_modifier: self.request_header_modifier.clone(),
            stable_service: self.stable_service.clone(),
            canary_service: self.canary_service.clone(),
        }
    }
    /// RO-58: the restore intent.
    pub fn restore_intent(&self) -> RouteIntent {
        RouteIntent {
            kind: IntentKind::Restore,
            canary_weight: None,
            matches: Vec::new(),
            request_header_modifier: None,
            stable_service: self.stable_service.clone(),
            canary_service: self.canary_service.clone(),
        }
    }
    /// RO-58: blue-green's all-to-canary intent.
    pub fn all_to_canary_intent(&self) -> RouteIntent {
        RouteIntent { kind: IntentKind::AllToCanary, canary_weight: Some(100), ..self.restore_intent() }
    }
}

/// RO-13: a traffic string scaled against 100 (`"5%"` -> 5); unreadable -> 0.
pub fn weight_of(traffic: &str) -> i32 {
    super::batch::scale_or_zero(
        &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(traffic.to_owned()),
        100,
    )
    .clamp(0, 100)
}

fn service_subject(name: &str) -> String {
    format!("Service/{name}")
}

/// RO-63: seconds left of the grace period of `item` on `object`, if one runs.
fn grace_left(
    obs: &TrafficObservation<'_>,
    object: &str,
    item: &str,
    grace: u64,
    now: Timestamp,
) -> Option<u64> {
    let end = obs
        .writes
        .iter()
        .filter(|w| w.object == object && w.item == item)
        .map(|w| w.at.as_second().saturating_add(i64::try_from(grace).unwrap_or(i64::MAX)))
        .max()?;
    let left = end - now.as_second();
    (left > 0).then(|| u64::try_from(left).unwrap_or(0))
}

fn selector(s: Option<&Service>) -> BTreeMap<String, String> {
    s.and_then(|s| s.spec.as_ref()).and_then(|s| s.selector.clone()).unwrap_or_default()
}

/// Runs one grace-guarded item as upstream's `RunWithGraceSeconds` does: the write is
/// planned first; a write starts a grace period (none when the grace is 0); with nothing to
/// write, a grace period still running from an earlier write means "retry".
fn guarded(
    obs: &TrafficObservation<'_>,
    object: &str,
    reason: &Reason,
    grace: u64,
    now: Timestamp,
    plan: &mut Plan,
    write: impl FnOnce(&mut Plan) -> bool,
) -> Progress {
    if write(plan) {
        if grace == 0 {
            return Progress::Done;
        }
        plan.hold(object, Shared::GracePeriod { remaining: grace });
        return Progress::Retry { after: grace };
    }
    if let Some(left) = grace_left(obs, object, reason.kind(), grace, now) {
        plan.hold(object, Shared::GracePeriod { remaining: left });
        return Progress::Retry { after: left };
    }
    Progress::Done
}

/// RO-28/RO-57 *pin stable*: `stable.selector[key] = stableRevision` (`PatchStableService`).
pub fn pin_stable_service(
    ctx: &TrafficContext,
    obs: &TrafficObservation<'_>,
    now: Timestamp,
    plan: &mut Plan,
) -> Progress {
    if ctx.refs.is_empty() || ctx.no_services() {
        return Progress::Done;
    }
    let object = service_subject(&ctx.stable_service);
    let Some(stable) = obs.stable_service else {
        plan.hold(&object, Reason::Missing { what: object.clone() });
        return Progress::Retry { after: 3 };
    };
    let sel = selector(Some(stable));
    guarded(obs, &object, &Reason::PinStableService, ctx.item_grace(), now, plan, |plan| {
        if sel.get(&ctx.revision_label_key) == Some(&ctx.stable_revision) {
            return false;
        }
        let change = BTreeMap::from([(ctx.revision_label_key.clone(), Some(ctx.stable_revision.clone()))]);
        plan.push(ActionKind::PatchServiceSelector { selector: change }, &object, Reason::PinStableService);
        true
    })
}

/// RO-57 *restore stable*: drop the revision key from the stable selector.
pub fn restore_stable_service(
    ctx: &TrafficContext,
    obs: &TrafficObservation<'_>,
    now: Timestamp,
    plan: &mut Plan,
) -> Progress {
    if ctx.refs.is_empty() {
        return Progress::Done;
    }
    let object = service_subject(&ctx.stable_service);
    let Some(stable) = obs.stable_service else { return Progress::Done };
    let sel = selector(Some(stable));
    guarded(obs, &object, &Reason::RestoreStableService, ctx.item_grace(), now, plan, |plan| {
        if sel.get(&ctx.revision_label_key).is_none_or(String::is_empty) {
            return false;
        }
        let change = BTreeMap::from([(ctx.revision_label_key.clone(), None)]);
        plan.push(
            ActionKind::PatchServiceSelector { selector: change },
            &object,
            Reason::RestoreStableService,
        );
        true
    })
}

/// RO-44 *RemoveCanaryService*: delete `<service>-canary` (skipped for shared routing or a
/// disabled canary Service).
pub fn remove_canary_service(
    ctx: &TrafficContext,
    obs: &TrafficObservation<'_>,
    now: Timestamp,
    plan: &mut Plan,
) -> Progress {
    if ctx.refs.is_empty() || ctx.no_services() {
        return Progress::Done;
    }
    let object = service_subject(&ctx.canary_service);
    let exists = obs.canary_service.is_some();
    guarded(obs, &object, &Reason::RemoveCanaryService, ctx.item_grace(), now, plan, |plan| {
        if !exists {
            return false;
        }
        plan.push(ActionKind::DeleteService, &object, Reason::RemoveCanaryService);
        true
    })
}

/// RO-44 *RouteTrafficToStable*: the `Restore` intent on every provider.
pub fn restore_routes(
    ctx: &TrafficContext,
    obs: &TrafficObservation<'_>,
    now: Timestamp,
    plan: &mut Plan,
) -> Progress {
    let Some(r) = ctx.refs.first() else { return Progress::Done };
    let object = provider_subject(r);
    guarded(obs, &object, &Reason::RouteTrafficToStable, ctx.item_grace(), now, plan, |plan| {
        ensure_providers(ctx, r, obs, &ctx.restore_intent(), Reason::RouteTrafficToStable, plan)
    })
}

/// Blue-green *RouteTrafficToNew*: the `AllToCanary` intent on every provider.
pub fn route_all_to_canary(
    ctx: &TrafficContext,
    obs: &TrafficObservation<'_>,
    now: Timestamp,
    plan: &mut Plan,
) -> Progress {
    let Some(r) = ctx.refs.first() else { return Progress::Done };
    let object = provider_subject(r);
    guarded(obs, &object, &Reason::RouteTrafficToNew, ctx.item_grace(), now, plan, |plan| {
        ensure_providers(ctx, r, obs, &ctx.all_to_canary_intent(), Reason::RouteTrafficToNew, plan)
    })
}

/// RO-27 / `FinalisingTrafficRouting`: restore stable Service, restore routes, delete the
/// canary Service, in order; the first unfinished item ends the call.
pub fn finalise_traffic(
    ctx: &TrafficContext,
    obs: &TrafficObservation<'_>,
    now: Timestamp,
    plan: &mut Plan,
) -> Progress {
    if ctx.refs.is_empty() {
        return Progress::Done;
    }
    for item in [restore_stable_service, restore_routes, remove_canary_service] {
        let p = item(ctx, obs, now, plan);
        if !p.is_done() {
            return p;
        }
    }
    Progress::Done
}

/// `Kind/name` of every provider object of a ref.
pub fn provider_objects(r: &TrafficRoutingRef) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(g) = &r.gateway {
        v.push(format!("HTTPRoute/{}", g.http_route_name.as_deref().unwrap_or_default()));
    }
    if let Some(i) = &r.ingress {
        v.push(format!("Ingress/{}", i.name));
    }
    v.extend(r.custom_network_refs.iter().flatten().map(subject_of));
    v
}

fn provider_subject(r: &TrafficRoutingRef) -> String {
    if let Some(g) = &r.gateway {
        return format!("HTTPRoute/{}", g.http_route_name.as_deref().unwrap_or_default());
    }
    if let Some(i) = &r.ingress {
        return format!("Ingress/{}", i.name);
    }
    r.custom_network_refs
        .as_ref()
        .and_then(|c| c.first())
        .map_or_else(|| format!("Service/{}", r.service), subject_of)
}

/// RO-30 `DoTrafficRouting`: Services in place, grace since `last_update` passed, routes equal
/// to the step's intent. Returns the progress and whether a Service write restarted the clock.
pub fn do_traffic_routing(
    ctx: &TrafficContext,
    obs: &TrafficObservation<'_>,
    last_update: Option<Timestamp>,
    now: Timestamp,
    plan: &mut Plan,
) -> (Progress, bool) {
    let Some(r) = ctx.refs.first() else { return (Progress::Done, false) };
    if ctx.traffic.is_none() && ctx.matches.is_empty() {
        return (Progress::Done, false);
    }
    let stable_obj = service_subject(&ctx.stable_service);
    let Some(stable) = obs.stable_service else {
        plan.hold(&stable_obj, Reason::Missing { what: stable_obj.clone() });
        return (Progress::Retry { after: 3 }, false);
    };
    let grace = ctx.step_grace();
    if let Some(t) = last_update {
        let left = t.as_second().saturating_add(i64::try_from(grace).unwrap_or(3)) - now.as_second();
        if left > 0 {
            plan.hold(
                provider_subject(r),
                Shared::GracePeriod { remaining: u64::try_from(left).unwrap_or(0) },
            );
            return (Progress::Retry { after: u64::try_from(left).unwrap_or(0) }, false);
        }
    }
    if !ctx.no_services() {
        if ctx.stable_revision.is_empty() || ctx.canary_revision.is_empty() {
            plan.hold(&stable_obj, Reason::Missing { what: "stable or canary revision".into() });
            return (Progress::Retry { after: 3 }, false);
        }
        let mut modified = false;
        let canary_obj = service_subject(&ctx.canary_service);
        match obs.canary_service {
            None => {
                let svc = canary_service(ctx, stable);
                plan.push(
                    ActionKind::CreateService { service: Obj::new(svc) },
                    &canary_obj,
                    Reason::CanaryService,
                );
                modified = true;
            }
            Some(c) if selector(Some(c)).get(&ctx.revision_label_key) != Some(&ctx.canary_revision) => {
                let change =
                    BTreeMap::from([(ctx.revision_label_key.clone(), Some(ctx.canary_revision.clone()))]);
                plan.push(
                    ActionKind::PatchServiceSelector { selector: change },
                    &canary_obj,
                    Reason::CanaryService,
                );
                modified = true;
            }
            Some(_) => {}
        }
        if selector(Some(stable)).get(&ctx.revision_label_key) != Some(&ctx.stable_revision) {
            let change =
                BTreeMap::from([(ctx.revision_label_key.clone(), Some(ctx.stable_revision.clone()))]);
            plan.push(
                ActionKind::PatchServiceSelector { selector: change },
                &stable_obj,
                Reason::PinStableService,
            );
            modified = true;
        }
        if modified {
            plan.hold(&canary_obj, Shared::GracePeriod { remaining: grace });
            return (Progress::Retry { after: grace }, true);
        }
    }
    let step = Reason::TrafficStep { step: ctx.step };
    if ensure_providers(ctx, r, obs, &ctx.step_intent(), step, plan) {
        plan.hold(provider_subject(r), Reason::RoutesNotReady);
        return (Progress::Retry { after: 3 }, false);
    }
    (Progress::Done, false)
}

/// RO-57 *canary service*: a copy of the stable Service selecting the canary revision.
pub fn canary_service(ctx: &TrafficContext, stable: &Service) -> Service {
    let spec = stable.spec.clone().unwrap_or_default();
    let mut sel = spec.selector.clone().unwrap_or_default();
    sel.insert(ctx.revision_label_key.clone(), ctx.canary_revision.clone());
    for (k, v) in &ctx.selector_patch {
        if sel.contains_key(k) || ctx.append_pod_selector {
            sel.insert(k.clone(), v.clone());
        }
    }
    Service {
        metadata: ObjectMeta {
            name: Some(ctx.canary_service.clone()),
            namespace: stable.metadata.namespace.clone(),
            labels: stable.metadata.labels.clone(),
            annotations: stable.metadata.annotations.clone(),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            selector: Some(sel),
            cluster_ip: None,
            cluster_ips: None,
            external_ips: None,
            ip_families: None,
            ip_family_policy: None,
            load_balancer_ip: None,
            ports: spec.ports.map(|ps| {
                ps.into_iter()
                    .map(|mut p| {
                        p.node_port = None;
                        p
                    })
                    .collect()
            }),
            ..spec
        }),
        status: None,
    }
}

/// Plans the writes that bring every provider of `r` to `intent`; true when any was planned.
fn ensure_providers(
    ctx: &TrafficContext,
    r: &TrafficRoutingRef,
    obs: &TrafficObservation<'_>,
    intent: &RouteIntent,
    reason: Reason,
    plan: &mut Plan,
) -> bool {
    let reason = match reason {
        Reason::TrafficStep { .. } => reason,
        other => other,
    };
    let mut wrote = false;
    if ctx.only_traffic_routing {
        // RO-64: the shared routing's providers get the intent as data.
        for object in provider_objects(r) {
            let applied = obs.custom_applied.and_then(|m| m.get(&object));
            let settled = match applied {
                Some(a) => a == intent,
                None => intent.kind == IntentKind::Restore,
            };
            if !settled {
                plan.push(
                    ActionKind::ApplyRouteIntent { intent: Obj::new(intent.clone()) },
                    object,
                    reason.clone(),
                );
                wrote = true;
            }
        }
        return wrote;
    }
    if let Some(g) = &r.gateway {
        let name = g.http_route_name.clone().unwrap_or_default();
        let object = format!("HTTPRoute/{name}");
        match obs.http_route {
            Some(route) => {
                let want = gateway_rules(&route.spec.rules, intent);
                if want != route.spec.rules {
                    plan.push(
                        ActionKind::SetHttpRouteRules { rules: Obj::new(want) },
                        &object,
                        reason.clone(),
                    );
                    wrote = true;
                }
            }
            None if intent.kind != IntentKind::Restore => {
                plan.hold(&object, Reason::Missing { what: object.clone() });
                wrote = true;
            }
            None => {}
        }
    }
    if let Some(i) = &r.ingress {
        wrote |= ensure_ingress(ctx, &i.name, obs, intent, &reason, plan);
    }
    for c in r.custom_network_refs.iter().flatten() {
        let object = subject_of(c);
        let applied = obs.custom_applied.and_then(|m| m.get(&object));
        let settled = match applied {
            Some(a) => a == intent,
            None => intent.kind == IntentKind::Restore,
        };
        if !settled {
            plan.push(
                ActionKind::ApplyRouteIntent { intent: Obj::new(intent.clone()) },
                object,
                reason.clone(),
            );
            wrote = true;
        }
    }
    wrote
}

fn ensure_ingress(
    ctx: &TrafficContext,
    name: &str,
    obs: &TrafficObservation<'_>,
    intent: &RouteIntent,
    reason: &Reason,
    plan: &mut Plan,
) -> bool {
    let canary_name = format!("{name}-canary");
    let object = format!("Ingress/{canary_name}");
    if intent.kind == IntentKind::Restore {
        if obs.canary_ingress.is_some() {
            plan.push(ActionKind::DeleteIngress, &object, reason.clone());
            return true;
        }
        return false;
    }
    let Some(canary) = obs.canary_ingress else {
        let Some(stable) = obs.ingress else {
            plan.hold(format!("Ingress/{name}"), Reason::Missing { what: format!("Ingress/{name}") });
            return true;
        };
        let ing = canary_ingress(stable, &canary_name, &ctx.stable_service, &ctx.canary_service);
        plan.push(ActionKind::CreateIngress { ingress: Obj::new(ing) }, &object, reason.clone());
        return true;
    };
    let want = nginx_annotations(intent);
    let have = canary.metadata.annotations.clone().unwrap_or_default();
    let diff: BTreeMap<String, Option<String>> =
        want.into_iter().filter(|(k, v)| have.get(k) != v.as_ref()).collect();
    if diff.is_empty() {
        return false;
    }
    plan.push(ActionKind::PatchIngressAnnotations { annotations: diff }, &object, reason.clone());
    true
}

const NGINX: &str = "nginx.ingress.kubernetes.io/";

/// RO-61: the nginx canary annotations of an intent (`None` = remove).
pub fn nginx_annotations(intent: &RouteIntent) -> BTreeMap<String, Option<String>> {
    let mut m: BTreeMap<String, Option<String>> = BTreeMap::new();
    m.insert(format!("{NGINX}canary"), Some("true".into()));
    for k in [
        "canary-by-cookie",
        "canary-by-header",
        "canary-by-header-pattern",
        "canary-by-header-value",
        "canary-weight",
    ] {
        m.insert(format!("{NGINX}{k}"), None);
    }
    if let Some(w) = intent.canary_weight {
        m.insert(format!("{NGINX}canary-weight"), Some(w.to_string()));
    }
    for mt in &intent.matches {
        let Some(h) = mt.headers.first() else { continue };
        if h.name == "canary-by-cookie" {
            m.insert(format!("{NGINX}canary-by-cookie"), Some(h.value.clone()));
        } else {
            m.insert(format!("{NGINX}canary-by-header"), Some(h.name.clone()));
            let key = if h.type_.as_deref() == Some("RegularExpression") {
                "canary-by-header-pattern"
            } else {
                "canary-by-header-value"
            };
            m.insert(format!("{NGINX}{key}"), Some(h.value.clone()));
        }
    }
    m
}

/// RO-61: the canary Ingress: a copy of `stable` keeping only the paths whose backend is the
/// stable Service, pointed at the canary Service, weight 0.
pub fn canary_ingress(stable: &Ingress, name: &str, stable_svc: &str, canary_svc: &str) -> Ingress {
    let mut spec = stable.spec.clone().unwrap_or_default();
    spec.default_backend = None;
    let is_stable = |b: &IngressBackend| b.service.as_ref().is_some_and(|s| s.name == stable_svc);
    let mut rules = Vec::new();
    for mut rule in spec.rules.take().unwrap_or_default() {
        if let Some(http) = &mut rule.http {
            http.paths.retain(|p| is_stable(&p.backend));
            for p in &mut http.paths {
                if let Some(s) = &mut p.backend.service {
                    *s = IngressServiceBackend { name: canary_svc.to_owned(), ..s.clone() };
                }
            }
            if http.paths.is_empty() {
                continue;
            }
        } else {
            continue;
        }
        rules.push(rule);
    }
    spec.rules = Some(rules);
    let mut ann = stable.metadata.annotations.clone().unwrap_or_default();
    ann.insert(format!("{NGINX}canary"), "true".into());
    ann.insert(format!("{NGINX}canary-weight"), "0".into());
    Ingress {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: stable.metadata.namespace.clone(),
            labels: stable.metadata.labels.clone(),
            annotations: Some(ann),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    }
}

fn renamed(r: &HttpBackendRef, name: &str) -> HttpBackendRef {
    HttpBackendRef { name: name.to_owned(), ..r.clone() }
}

/// RO-59: the HTTPRoute rules for an intent, from the current `rules`.
pub fn gateway_rules(rules: &[HttpRouteRule], intent: &RouteIntent) -> Vec<HttpRouteRule> {
    let (stable, canary) = (intent.stable_service.as_str(), intent.canary_service.as_str());
    match intent.kind {
        IntentKind::Restore => gateway_restore(rules, stable, canary),
        IntentKind::AllToCanary => gateway_weight(rules, stable, canary, 100),
        IntentKind::Canary if !intent.matches.is_empty() => {
            gateway_matches(rules, stable, canary, &intent.matches)
        }
        IntentKind::Canary => match intent.canary_weight {
            Some(w) => gateway_weight(rules, stable, canary, w),
            None => rules.to_vec(),
        },
    }
}

fn gateway_weight(rules: &[HttpRouteRule], stable: &str, canary: &str, w: i32) -> Vec<HttpRouteRule> {
    rules
        .iter()
        .map(|rule| {
            let mut rule = rule.clone();
            let Some(si) = rule.backend_refs.iter().position(|b| b.is_service(stable)) else { return rule };
            rule.backend_refs[si].weight = Some(100 - w);
            match rule.backend_refs.iter().position(|b| b.is_service(canary)) {
                Some(ci) => rule.backend_refs[ci].weight = Some(w),
                None => {
                    let mut c = renamed(&rule.backend_refs[si], canary);
                    c.weight = Some(w);
                    rule.backend_refs.push(c);
                }
            }
            rule
        })
        .collect()
}

fn gateway_matches(
    rules: &[HttpRouteRule],
    stable: &str,
    canary: &str,
    user: &[HttpRouteMatch],
) -> Vec<HttpRouteRule> {
    let kept: Vec<HttpRouteRule> =
        rules.iter().filter(|r| !r.backend_refs.iter().any(|b| b.is_service(canary))).cloned().collect();
    let (with_path, pathless): (Vec<&HttpRouteMatch>, Vec<&HttpRouteMatch>) =
        user.iter().partition(|m| m.path.is_some());
    let mut canary_rules = Vec::new();
    let mut first = true;
    for rule in &kept {
        let Some(sref) = rule.backend_refs.iter().find(|b| b.is_service(stable)) else { continue };
        let mut ms: Vec<HttpRouteMatch> = Vec::new();
        let mut attached = false;
        if first && !with_path.is_empty() {
            ms.extend(with_path.iter().map(|m| (*m).clone()));
            attached = true;
        }
        first = false;
        for pm in &pathless {
            for om in &rule.matches {
                let mut m = om.clone();
                m.headers.extend(pm.headers.iter().cloned());
                m.query_params.extend(pm.query_params.iter().cloned());
                ms.push(m);
            }
        }
        if pathless.is_empty() && !attached {
            continue;
        }
        let mut c = rule.clone();
        c.matches = ms;
        let mut cref = renamed(sref, canary);
        cref.weight = None;
        c.backend_refs = vec![cref];
        canary_rules.push(c);
    }
    kept.into_iter().chain(canary_rules).collect()
}

fn gateway_restore(rules: &[HttpRouteRule], stable: &str, canary: &str) -> Vec<HttpRouteRule> {
    rules
        .iter()
        .filter_map(|rule| {
            let mut rule = rule.clone();
            rule.backend_refs.retain(|b| !b.is_service(canary));
            for b in rule.backend_refs.iter_mut().filter(|b| b.is_service(stable)) {
                b.weight = Some(1);
            }
            (!rule.backend_refs.is_empty()).then_some(rule)
        })
        .collect()
}

/// The canary weight the observed routes give (for status and properties): the largest canary
/// weight share over the rules with a stable backend, percent; 0 when none.
pub fn observed_canary_weight(rules: &[HttpRouteRule], stable: &str, canary: &str) -> i32 {
    rules
        .iter()
        .filter_map(|r| {
            let s = r.backend_refs.iter().find(|b| b.is_service(stable))?;
            let c = r.backend_refs.iter().find(|b| b.is_service(canary))?;
            let (sw, cw) = (s.weight.unwrap_or(1).max(0), c.weight.unwrap_or(1).max(0));
            (sw + cw > 0).then(|| cw * 100 / (sw + cw))
        })
        .max()
        .unwrap_or(0)
}

/// Requeue helper: a [`Progress::Retry`] as a duration.
pub fn retry_after(p: Progress) -> Option<Duration> {
    match p {
        Progress::Done => None,
        Progress::Retry { after } => Some(Duration::from_secs(after.max(1))),
    }
}

/// `Kind/name` of a TrafficRouting.
pub fn shared_subject(name: &str) -> String {
    format!("TrafficRouting/{name}")
}
