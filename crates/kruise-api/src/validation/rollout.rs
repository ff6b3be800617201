//! Rollout validation (RO-9, RO-10, RO-11).
//!
//! Upstream's webhook returns at the first failing step and names fields in Go spelling
//! (`Spec.Strategy.Canary.Steps[0].Replicas`); here every problem is reported, at its API path
//! (`spec.strategy.canary.steps[0].replicas`).

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::field::{FieldPath, ValidationError, ValidationErrors};
use crate::intstr::scaled_strict;
use crate::rollouts::v1beta1::{CanaryStep, ObjectRef, RollingStyle, Rollout, TrafficRoutingRef, phase};
use crate::validation::Validate;
use crate::validation::meta::validate_object_meta;

/// Controller flag `partition-percent-limit`: the largest percent `replicas` a partition-style
/// step with traffic may have (RO-9.4).
pub const PARTITION_PERCENT_LIMIT: i32 = 50;
/// Most steps per strategy (CRD `maxItems`, RO-3).
pub const MAX_STEPS: usize = 50;
/// Most matches per step, and headers / query params per match (CRD `maxItems`, RO-2).
pub const MAX_MATCHES: usize = 16;

/// Workloads a Rollout can drive, by API group and kind (RO-9.8); the version is not compared.
pub const SUPPORTED_WORKLOADS: &[(&str, &str)] = &[
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"),
    ("apps.kruise.io", "CloneSet"),
    ("apps.kruise.io", "StatefulSet"),
    ("apps.kruise.io", "DaemonSet"),
];

/// Workloads a blue-green Rollout can drive (RO-9.7).
pub const BLUE_GREEN_WORKLOADS: &[(&str, &str)] = &[("apps", "Deployment"), ("apps.kruise.io", "CloneSet")];

fn supports(list: &[(&str, &str)], w: &ObjectRef) -> bool {
    list.iter().any(|(g, k)| *g == w.group() && *k == w.kind)
}

/// RO-9.8 / RO-9.7: the workload kind is one a Rollout of this style can drive.
fn validate_workload_ref(w: &ObjectRef, style: Option<RollingStyle>, path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    if w.name.is_empty() {
        errs.push(ValidationError::required(path.child("name"), "the workload name is required"));
    }
    let value = format!("{}/{}", w.api_version, w.kind);
    if !supports(SUPPORTED_WORKLOADS, w) {
        errs.push(ValidationError::invalid(
            path.clone(),
            value,
            "workloadRef kind is not supported (Deployment, StatefulSet, DaemonSet, ReplicaSet, CloneSet, Advanced StatefulSet, Advanced DaemonSet)",
        ));
    } else if style == Some(RollingStyle::BlueGreen) && !supports(BLUE_GREEN_WORKLOADS, w) {
        errs.push(ValidationError::invalid(
            path.clone(),
            value,
            "blue-green releases support only Deployment and CloneSet workloads",
        ));
    }
    errs
}

/// An error value rendered as JSON: `5`, `"50%"`, `null`.
struct JsonText(String);

impl std::fmt::Debug for JsonText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn intstr_value(v: &IntOrString) -> JsonText {
    match v {
        IntOrString::Int(i) => JsonText(i.to_string()),
        IntOrString::String(s) => JsonText(format!("{s:?}")),
    }
}

fn opt_intstr_value(v: Option<&IntOrString>) -> JsonText {
    v.map_or_else(|| JsonText("null".to_owned()), intstr_value)
}

fn is_percent(v: &IntOrString) -> bool {
    matches!(v, IntOrString::String(_))
}

/// RO-9.2..RO-9.5 on the steps at `path`. `partition` is RO-12's `IsRealPartition`.
fn validate_steps(
    steps: &[CanaryStep],
    blue_green: bool,
    partition: bool,
    path: &FieldPath,
) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    if steps.is_empty() {
        errs.push(ValidationError::required(path.clone(), "at least one step is required"));
        return errs;
    }
    if steps.len() > MAX_STEPS {
        errs.push(ValidationError::invalid(
            path.clone(),
            steps.len(),
            format!("must have at most {MAX_STEPS} steps"),
        ));
    }
    // Scaled replicas of each valid step, for the ordering check.
    let mut scaled: Vec<Option<(bool, i32)>> = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        let sp = path.index(i);
        // RO-9.2
        let replicas = match &step.replicas {
            None => {
                errs.push(ValidationError::required(sp.child("replicas"), "replicas cannot be empty"));
                None
            }
            Some(r) => match scaled_strict(Some(r), 100, true) {
                Ok(n) if n > 0 && !(is_percent(r) && n > 100) => Some((is_percent(r), n)),
                _ => {
                    errs.push(ValidationError::invalid(
                        sp.child("replicas"),
                        intstr_value(r),
                        r#"replicas must be a positive number, or a percentage with "0%" < replicas <= "100%""#,
                    ));
                    None
                }
            },
        };
        scaled.push(replicas);
        if step.matches.len() > MAX_MATCHES {
            errs.push(ValidationError::invalid(
                sp.child("matches"),
                step.matches.len(),
                format!("must have at most {MAX_MATCHES} matches"),
            ));
        }
        for (j, m) in step.matches.iter().enumerate() {
            let mp = sp.child("matches").index(j);
            if m.headers.len() > MAX_MATCHES {
                errs.push(ValidationError::invalid(
                    mp.child("headers"),
                    m.headers.len(),
                    format!("must have at most {MAX_MATCHES} headers"),
                ));
            }
            if m.query_params.len() > MAX_MATCHES {
                errs.push(ValidationError::invalid(
                    mp.child("queryParams"),
                    m.query_params.len(),
                    format!("must have at most {MAX_MATCHES} query params"),
                ));
            }
        }
        if step.is_no_traffic_step() {
            continue;
        }
        // RO-9.4
        if partition
            && let Some((true, pct)) = replicas
            && pct > PARTITION_PERCENT_LIMIT
        {
            errs.push(ValidationError::invalid(
                sp.child("replicas"),
                opt_intstr_value(step.replicas.as_ref()),
                format!(
                    "a partition-style step with traffic or matches may update at most {PARTITION_PERCENT_LIMIT}% of the replicas (partition-percent-limit)"
                ),
            ));
        }
        // RO-9.3
        if let Some(traffic) = &step.traffic {
            let weight = scaled_strict(Some(&IntOrString::String(traffic.clone())), 100, true);
            let (ok, rule) = match weight {
                Ok(w) if blue_green => (
                    (0..=100).contains(&w),
                    r#"traffic must be a percentage with "0%" <= traffic <= "100%" in a blue-green strategy"#,
                ),
                Ok(w) => (
                    (1..=100).contains(&w),
                    r#"traffic must be a percentage with "0%" < traffic <= "100%" in a canary strategy"#,
                ),
                Err(_) => (false, r#"traffic must be a percentage such as "5%""#),
            };
            if !ok {
                errs.push(ValidationError::invalid(sp.child("traffic"), traffic, rule));
            }
        }
    }
    // RO-9.5: steps of the same kind must not decrease.
    for i in 1..steps.len() {
        if let (Some((prev_pct, prev)), Some((cur_pct, cur))) = (scaled[i - 1], scaled[i])
            && prev_pct == cur_pct
            && cur < prev
        {
            errs.push(ValidationError::invalid(
                path.index(i).child("replicas"),
                opt_intstr_value(steps[i].replicas.as_ref()),
                format!("step replicas must not decrease: step {i} has {prev}, step {} has {cur}", i + 1),
            ));
        }
    }
    errs
}

/// RO-9.6 on the traffic routings at `path`.
fn validate_traffic_routings(refs: &[TrafficRoutingRef], path: &FieldPath) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    if refs.len() > 1 {
        errs.push(ValidationError::invalid(
            path.clone(),
            refs.len(),
            "a Rollout supports a single traffic routing",
        ));
    }
    for (i, r) in refs.iter().enumerate() {
        let rp = path.index(i);
        if let Some(g) = r.grace_period_seconds.filter(|g| *g < 0) {
            errs.push(ValidationError::invalid(
                rp.child("gracePeriodSeconds"),
                g,
                "gracePeriodSeconds cannot be negative",
            ));
        }
        if r.service.is_empty() {
            errs.push(ValidationError::required(rp.child("service"), "the stable Service name is required"));
        }
        if r.ingress.is_none() && r.gateway.is_none() && r.custom_network_refs.is_none() {
            errs.push(ValidationError::required(
                rp.clone(),
                "set at least one provider: ingress, gateway or customNetworkRefs",
            ));
        }
        if let Some(ing) = &r.ingress
            && ing.name.is_empty()
        {
            errs.push(ValidationError::required(
                rp.child("ingress").child("name"),
                "the Ingress name is required",
            ));
        }
        if let Some(gw) = &r.gateway
            && gw.http_route_name.as_deref().is_none_or(str::is_empty)
        {
            errs.push(ValidationError::required(
                rp.child("gateway").child("httpRouteName"),
                "the HTTPRoute name is required",
            ));
        }
    }
    errs
}

impl Validate for Rollout {
    /// RO-9 (create and update alike).
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errs = validate_object_meta(&self.metadata, &FieldPath::from("metadata"));
        let spec = &self.spec;
        let style = spec.strategy.rolling_style();
        errs.extend(validate_workload_ref(&spec.workload_ref, style, &FieldPath::from("spec.workloadRef")));
        let sp = FieldPath::from("spec.strategy");
        let partition = self.is_real_partition();
        match (&spec.strategy.canary, &spec.strategy.blue_green) {
            (None, None) => errs.push(ValidationError::required(sp, "set one of canary or blueGreen")),
            (Some(_), Some(_)) => {
                errs.push(ValidationError::forbidden(sp, "canary and blueGreen cannot both be set"))
            }
            (Some(c), None) => {
                let cp = sp.child("canary");
                errs.extend(validate_steps(&c.steps, false, partition, &cp.child("steps")));
                errs.extend(validate_traffic_routings(&c.traffic_routings, &cp.child("trafficRoutings")));
            }
            (None, Some(bg)) => {
                let bp = sp.child("blueGreen");
                errs.extend(validate_steps(&bg.steps, true, partition, &bp.child("steps")));
                errs.extend(validate_traffic_routings(&bg.traffic_routings, &bp.child("trafficRoutings")));
            }
        }
        errs.into_result()
    }

    /// RO-10, then RO-9. The immutability rules apply while the *stored* Rollout (`old`) is
    /// `Progressing` or `Terminating`.
    fn validate_update(&self, old: &Self) -> Result<(), ValidationErrors> {
        let mut errs = validate_rollout_update(self, old);
        if let Err(e) = self.validate() {
            errs.extend(e);
        }
        errs.into_result()
    }
}

/// RO-10: while `old` is `Progressing` or `Terminating`, `workloadRef`, the traffic routings,
/// the rolling style and the number of steps may not change.
pub fn validate_rollout_update(new: &Rollout, old: &Rollout) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let old_phase = old.status.as_ref().map(|s| s.phase.as_str()).unwrap_or_default();
    if old_phase != phase::PROGRESSING && old_phase != phase::TERMINATING {
        return errs;
    }
    let (n, o) = (&new.spec, &old.spec);
    if n.workload_ref != o.workload_ref {
        errs.push(ValidationError::forbidden(
            FieldPath::from("spec.workloadRef"),
            "workloadRef is immutable while the Rollout is progressing",
        ));
    }
    let strategy_path = |s: &crate::rollouts::v1beta1::RolloutStrategy| {
        FieldPath::from(if s.blue_green.is_some() {
            "spec.strategy.blueGreen"
        } else {
            "spec.strategy.canary"
        })
    };
    if n.strategy.traffic_routings() != o.strategy.traffic_routings() {
        errs.push(ValidationError::forbidden(
            strategy_path(&n.strategy).child("trafficRoutings"),
            "trafficRoutings are immutable while the Rollout is progressing",
        ));
    }
    if n.strategy.rolling_style() != o.strategy.rolling_style() {
        errs.push(ValidationError::forbidden(
            strategy_path(&n.strategy),
            "the rolling style (canary, blueGreen, enableExtraWorkloadForCanary) is immutable while the Rollout is progressing",
        ));
    }
    if n.strategy.steps().len() != o.strategy.steps().len() {
        errs.push(ValidationError::forbidden(
            strategy_path(&n.strategy).child("steps"),
            format!(
                "the number of steps is immutable while the Rollout is progressing ({} → {})",
                o.strategy.steps().len(),
                n.strategy.steps().len()
            ),
        ));
    }
    errs
}

/// RO-11: `rollout` conflicts with another Rollout of the same namespace (other name) that
/// references the identical workload. `existing` is the namespace's Rollouts.
pub fn validate_rollout_conflict(rollout: &Rollout, existing: &[Rollout]) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    let mut others: Vec<&Rollout> = existing
        .iter()
        .filter(|r| {
            r.metadata.name != rollout.metadata.name && r.metadata.namespace == rollout.metadata.namespace
        })
        .filter(|r| r.spec.workload_ref == rollout.spec.workload_ref)
        .collect();
    others.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    if let Some(other) = others.first() {
        errs.push(ValidationError::invalid(
            FieldPath::from("spec.workloadRef"),
            &rollout.spec.workload_ref.name,
            format!(
                "Rollout {:?} already manages this workload; a workload may have only one Rollout",
                other.metadata.name.as_deref().unwrap_or_default()
            ),
        ));
    }
    errs
}

// ---- v1alpha1 (RO-5) ------------------------------------------------------------------------

/// RO-5 / RO-12 for v1alpha1: canary style only for an `apps/v1` Deployment whose
/// `rolling-style` annotation is empty or `canary`; partition otherwise.
fn v1alpha1_is_partition(r: &crate::rollouts::v1alpha1::Rollout) -> bool {
    let style = r.rolling_style_annotation();
    let canary_requested = style.is_empty() || style.eq_ignore_ascii_case("canary");
    let deployment = r
        .spec
        .object_ref
        .workload_ref
        .as_ref()
        .is_some_and(|w| w.api_version == "apps/v1" && w.kind == "Deployment");
    !(canary_requested && deployment)
}

/// The v1alpha1 step rules (RO-5 with RO-9.2..RO-9.5): each step needs `weight` or
/// `replicas`; a weight is in (0, 100]; partition style limits percent replicas with traffic
/// or matches, and a weight standing in for replicas, to 50; weights (with traffic routing)
/// and replicas (a missing `replicas` read as its weight percent) must not decrease.
fn validate_v1alpha1_steps(
    steps: &[crate::rollouts::v1alpha1::CanaryStep],
    partition: bool,
    has_traffic: bool,
    path: &FieldPath,
) -> ValidationErrors {
    let mut errs = ValidationErrors::new();
    if steps.is_empty() {
        errs.push(ValidationError::required(path.clone(), "at least one step is required"));
        return errs;
    }
    // (is percent, scaled) of each valid step, for the ordering check.
    let mut scaled: Vec<Option<(bool, i32)>> = Vec::with_capacity(steps.len());
    for (i, s) in steps.iter().enumerate() {
        let sp = path.index(i);
        let value = match (&s.replicas, s.weight) {
            (None, None) => {
                errs.push(ValidationError::required(
                    sp.child("replicas"),
                    "weight and replicas cannot both be empty",
                ));
                None
            }
            (Some(r), _) => match scaled_strict(Some(r), 100, true) {
                Ok(n) if n > 0 && !(is_percent(r) && n > 100) => {
                    if partition
                        && is_percent(r)
                        && n > PARTITION_PERCENT_LIMIT
                        && (!s.matches.is_empty() || s.weight.is_some())
                    {
                        errs.push(ValidationError::invalid(
                            sp.child("replicas"),
                            intstr_value(r),
                            format!("a partition-style step with traffic or matches may update at most {PARTITION_PERCENT_LIMIT}% of the replicas (partition-percent-limit)"),
                        ));
                    }
                    Some((is_percent(r), n))
                }
                _ => {
                    errs.push(ValidationError::invalid(
                        sp.child("replicas"),
                        intstr_value(r),
                        r#"replicas must be a positive number, or a percentage with "0%" < replicas <= "100%""#,
                    ));
                    None
                }
            },
            (None, Some(w)) => {
                if partition && w > PARTITION_PERCENT_LIMIT {
                    errs.push(ValidationError::invalid(
                        sp.child("weight"),
                        w,
                        format!("a partition-style step without replicas may have a weight of at most {PARTITION_PERCENT_LIMIT} (partition-percent-limit)"),
                    ));
                }
                if !(1..=100).contains(&w) {
                    errs.push(ValidationError::invalid(sp.child("weight"), w, "weight must be in 1..=100"));
                    None
                } else {
                    Some((true, w))
                }
            }
        };
        scaled.push(value);
    }
    for i in 1..steps.len() {
        let (prev, cur) = (&steps[i - 1], &steps[i]);
        if has_traffic
            && let (Some(pw), Some(cw)) = (prev.weight, cur.weight)
            && cw < pw
        {
            errs.push(ValidationError::invalid(
                path.index(i).child("weight"),
                cw,
                format!("step weights must not decrease: step {i} has {pw}, step {} has {cw}", i + 1),
            ));
        }
        if let (Some((prev_pct, p)), Some((cur_pct, c))) = (scaled[i - 1], scaled[i])
            && prev_pct == cur_pct
            && c < p
        {
            errs.push(ValidationError::invalid(
                path.index(i).child("replicas"),
                opt_intstr_value(cur.replicas.as_ref()),
                format!("step replicas must not decrease: step {i} has {p}, step {} has {c}", i + 1),
            ));
        }
    }
    errs
}

fn v1alpha1_traffic_routings_as_v1beta1(
    c: &crate::rollouts::v1alpha1::CanaryStrategy,
) -> Vec<TrafficRoutingRef> {
    c.traffic_routings
        .iter()
        .map(|r| TrafficRoutingRef {
            service: r.service.clone(),
            grace_period_seconds: r.grace_period_seconds,
            ingress: r.ingress.clone(),
            gateway: r.gateway.clone(),
            custom_network_refs: r.custom_network_refs.clone(),
            additional_params: Default::default(),
        })
        .collect()
}

impl Validate for crate::rollouts::v1alpha1::TrafficRouting {
    /// RO-64: a shared TrafficRouting names its provider in `spec.objectRef`: exactly one
    /// entry (the planner reads the first; at most one as for a Rollout's `trafficRoutings`,
    /// RO-9.6), checked with the same rules (stable Service, a provider, grace period ≥ 0);
    /// `strategy.weight` is a percentage (0..=100).
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errs = validate_object_meta(&self.metadata, &FieldPath::from("metadata"));
        let op = FieldPath::from("spec.objectRef");
        if self.spec.object_ref.is_empty() {
            errs.push(ValidationError::required(op.clone(), "a TrafficRouting needs one objectRef"));
        }
        errs.extend(validate_traffic_routings(&self.spec.object_ref, &op));
        if let Some(w) = self.spec.strategy.weight.filter(|w| !(0..=100).contains(w)) {
            errs.push(ValidationError::invalid(
                FieldPath::from("spec.strategy.weight"),
                w,
                "weight is a percentage between 0 and 100",
            ));
        }
        errs.into_result()
    }

    fn validate_update(&self, _old: &Self) -> Result<(), ValidationErrors> {
        self.validate()
    }
}

impl Validate for crate::rollouts::v1alpha1::Rollout {
    /// The v1alpha1 webhook rules (RO-5): workload reference required and supported, the
    /// `rolling-style` annotation empty / `canary` / `partition`, `canary` required, and the
    /// step and traffic-routing rules.
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errs = validate_object_meta(&self.metadata, &FieldPath::from("metadata"));
        let wp = FieldPath::from("spec.objectRef.workloadRef");
        match &self.spec.object_ref.workload_ref {
            None => errs.push(ValidationError::required(wp, "workloadRef is required")),
            Some(w) => errs.extend(validate_workload_ref(w, Some(RollingStyle::Partition), &wp)),
        }
        let style = self.rolling_style_annotation();
        if !(style.is_empty()
            || style.eq_ignore_ascii_case("canary")
            || style.eq_ignore_ascii_case("partition"))
        {
            errs.push(ValidationError::invalid(
                FieldPath::from("metadata.annotations").key(crate::keys::ROLLOUT_ROLLING_STYLE),
                style,
                "the rolling style must be 'canary', 'partition' or empty",
            ));
        }
        let cp = FieldPath::from("spec.strategy.canary");
        match &self.spec.strategy.canary {
            None => errs.push(ValidationError::required(cp, "canary is required")),
            Some(c) => {
                let has_traffic = !c.traffic_routings.is_empty();
                errs.extend(validate_v1alpha1_steps(
                    &c.steps,
                    v1alpha1_is_partition(self),
                    has_traffic,
                    &cp.child("steps"),
                ));
                errs.extend(validate_traffic_routings(
                    &v1alpha1_traffic_routings_as_v1beta1(c),
                    &cp.child("trafficRoutings"),
                ));
            }
        }
        errs.into_result()
    }

    /// RO-10 for v1alpha1: while the stored Rollout is `Progressing` or `Terminating`,
    /// `objectRef`, the traffic routings and the `rolling-style` annotation (compared
    /// case-insensitively) are immutable; the step count may change. Then the create rules.
    fn validate_update(&self, old: &Self) -> Result<(), ValidationErrors> {
        let mut errs = ValidationErrors::new();
        let old_phase = old.status.as_ref().map(|s| s.phase.as_str()).unwrap_or_default();
        if old_phase == phase::PROGRESSING || old_phase == phase::TERMINATING {
            if self.spec.object_ref != old.spec.object_ref {
                errs.push(ValidationError::forbidden(
                    FieldPath::from("spec.objectRef"),
                    "objectRef is immutable while the Rollout is progressing",
                ));
            }
            let routings = |r: &Self| {
                r.spec.strategy.canary.as_ref().map(|c| c.traffic_routings.clone()).unwrap_or_default()
            };
            if routings(self) != routings(old) {
                errs.push(ValidationError::forbidden(
                    FieldPath::from("spec.strategy.canary.trafficRoutings"),
                    "trafficRoutings are immutable while the Rollout is progressing",
                ));
            }
            if !self.rolling_style_annotation().eq_ignore_ascii_case(old.rolling_style_annotation()) {
                errs.push(ValidationError::forbidden(
                    FieldPath::from("metadata.annotations").key(crate::keys::ROLLOUT_ROLLING_STYLE),
                    "the rolling-style annotation is immutable while the Rollout is progressing",
                ));
            }
        }
        if let Err(e) = self.validate() {
            errs.extend(e);
        }
        errs.into_result()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults::Defaulting;
    use crate::rollouts::v1alpha1::TrafficRouting;

    fn tr(v: serde_json::Value) -> TrafficRouting {
        serde_json::from_value(v).unwrap_or_default()
    }

    /// RO-64: a TrafficRouting needs one provider reference with a stable Service and a
    /// gateway/ingress; the weight is a percentage; defaults give the grace period and the
    /// header match type.
    #[test]
    fn ro_64_traffic_routing_validation_and_defaults() {
        let ok = serde_json::json!({
            "metadata": {"name": "mse-trafficrouting", "namespace": "default"},
            "spec": {
                "objectRef": [{"service": "spring-cloud-a", "ingress": {"name": "spring-cloud-a"}}],
                "strategy": {"weight": 20, "matches": [{"headers": [{"name": "user-agent", "value": "xiaoming"}]}]}
            }
        });
        let mut t = tr(ok.clone());
        assert_eq!(t.validate(), Ok(()));
        t.apply_defaults();
        assert_eq!(t.spec.object_ref[0].grace_period_seconds, Some(3));
        assert_eq!(t.spec.strategy.matches[0].headers[0].type_.as_deref(), Some("Exact"));

        let mut none = ok.clone();
        none["spec"]["objectRef"] = serde_json::json!([]);
        let e = tr(none).validate().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("spec.objectRef"), "{e}");
        let mut bad = ok.clone();
        bad["spec"]["objectRef"][0]["service"] = serde_json::json!("");
        bad["spec"]["strategy"]["weight"] = serde_json::json!(101);
        let e = tr(bad).validate().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("spec.objectRef[0].service") && e.contains("spec.strategy.weight"), "{e}");
    }
}
