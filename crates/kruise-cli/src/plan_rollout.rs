//! `kruise plan` for a Rollout (RO-67): `--workload ROLLOUT.yaml --target WORKLOAD.yaml
//! [--pods PODS] [--routes OBJECTS] [--batch-release BR]`. The Rollout (v1alpha1 or v1beta1,
//! `status` allowed) is defaulted, validated and converted to v1beta1; the target workload
//! (CloneSet, Advanced StatefulSet, Advanced DaemonSet, or an `apps/v1` Deployment followed by
//! its ReplicaSets and canary Deployments) gives the RO-20 facts; `--routes`
//! holds the traffic objects (Services, HTTPRoutes, Ingresses, a shared TrafficRouting) in any
//! order; `--batch-release` the BatchRelease named like the Rollout, if one exists.
//!
//! The JSON document has the workload plans' top-level keys (`now`, `actions`, `held`,
//! `status`, `requeueAfterSeconds`, `requeueReason`); each action is `{"action", "pod",
//! "revision", "object", <data>, "reason", "detail"}` (the BatchRelease status to write is the
//! data of `UpdateBatchReleaseStatus`). Also used by `kruise rollout status`.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kruise_api::any::AnyResource;
use kruise_api::gateway::HttpRoute;
use kruise_api::rollouts::v1alpha1::TrafficRouting;
use kruise_api::rollouts::v1beta1::{BatchRelease, Rollout};
use kruise_core::rollout::traffic::{TrafficObservation, observed_canary_weight};
use kruise_core::rollout::types::subject_name;
use kruise_core::rollout::{self, Config, Input, Plan, Workload};
use serde_json::{Map, Value, json};

use crate::plan::{Args, Stop, emit, flatten, read_docs, validated};
use crate::{Exit, Io};

/// Everything read for one Rollout plan.
pub struct Loaded {
    /// The Rollout, v1beta1 shape, defaulted.
    pub rollout: Rollout,
    /// The target's facts.
    pub workload: Option<Workload>,
    /// The target's pods.
    pub pods: Vec<Pod>,
    /// The BatchRelease.
    pub batch_release: Option<BatchRelease>,
    /// Services by name.
    pub services: Vec<Service>,
    /// The HTTPRoutes.
    pub routes: Vec<HttpRoute>,
    /// The Ingresses.
    pub ingresses: Vec<Ingress>,
    /// The shared TrafficRouting.
    pub shared: Option<TrafficRouting>,
}

impl Loaded {
    /// The planner input over these objects.
    pub fn input(&self, now: Timestamp) -> Input<'_> {
        let r = &self.rollout;
        let tr = r.spec.strategy.traffic_routings().first();
        let svc = |name: &str| self.services.iter().find(|s| s.metadata.name.as_deref() == Some(name));
        let ing = |name: &str| self.ingresses.iter().find(|s| s.metadata.name.as_deref() == Some(name));
        let stable = tr.map(|t| t.service.clone()).unwrap_or_default();
        let route_name =
            tr.and_then(|t| t.gateway.as_ref()).and_then(|g| g.http_route_name.clone()).unwrap_or_default();
        let ingress_name = tr.and_then(|t| t.ingress.as_ref()).map(|i| i.name.clone()).unwrap_or_default();
        Input {
            rollout: r,
            workload: self.workload.as_ref(),
            pods: &self.pods,
            batch_release: self.batch_release.as_ref(),
            traffic: TrafficObservation {
                stable_service: svc(&stable),
                canary_service: svc(&format!("{stable}-canary")),
                http_route: self
                    .routes
                    .iter()
                    .find(|h| h.metadata.name.as_deref() == Some(route_name.as_str())),
                ingress: ing(&ingress_name),
                canary_ingress: ing(&format!("{ingress_name}-canary")),
                custom_applied: None,
                shared: self.shared.as_ref(),
                writes: &[],
            },
            now,
            config: Config::default(),
        }
    }

    /// The canary weight the listed HTTPRoute gives, percent.
    pub fn weight(&self) -> Option<i32> {
        let tr = self.rollout.spec.strategy.traffic_routings().first()?;
        let name = tr.gateway.as_ref()?.http_route_name.clone()?;
        let route = self.routes.iter().find(|h| h.metadata.name.as_deref() == Some(name.as_str()))?;
        Some(observed_canary_weight(&route.spec.rules, &tr.service, &format!("{}-canary", tr.service)))
    }
}

fn stop(exit: Exit, line: String) -> Stop {
    Stop(exit, vec![line])
}

/// The Rollout of `doc`, validated (exit 1 on problems), defaulted, v1beta1.
pub fn rollout_of(file: &str, doc: &Value) -> Result<Rollout, Stop> {
    validated(file, doc)?;
    let mut r = match AnyResource::from_value(doc.clone())
        .map_err(|e| stop(Exit::Invalid, format!("{file}: {e}")))?
    {
        AnyResource::RolloutV1alpha1(mut o) => {
            kruise_api::defaults::default(&mut o);
            kruise_api::convert::rollout_to_v1beta1(&o)
        }
        AnyResource::RolloutV1beta1(o) => o,
        other => return Err(stop(Exit::Invalid, format!("{file}: {}: not a Rollout", other.kind()))),
    };
    kruise_api::defaults::default(&mut r);
    Ok(r)
}

/// The RO-20 facts of the target workload in `doc`.
pub fn workload_of(file: &str, doc: Value) -> Result<Workload, Stop> {
    let any = AnyResource::from_value(doc).map_err(|e| stop(Exit::Invalid, format!("{file}: {e}")))?;
    Ok(match any {
        AnyResource::CloneSetV1alpha1(o) => {
            Workload::from_cloneset(&kruise_api::convert::cloneset_to_v1beta1(&o))
        }
        AnyResource::CloneSetV1beta1(o) => Workload::from_cloneset(&o),
        AnyResource::StatefulSetV1alpha1(o) => {
            Workload::from_advanced_statefulset(&kruise_api::convert::statefulset_to_v1beta1(&o))
        }
        AnyResource::StatefulSetV1beta1(o) => Workload::from_advanced_statefulset(&o),
        AnyResource::DaemonSetV1alpha1(o) => {
            Workload::from_advanced_daemonset(&kruise_api::convert::daemonset_to_v1beta1(&o))
        }
        AnyResource::DaemonSetV1beta1(o) => Workload::from_advanced_daemonset(&o),
        other => {
            return Err(stop(
                Exit::Invalid,
                format!(
                    "{file}: {}: a Rollout target must be a CloneSet, Advanced StatefulSet, Advanced DaemonSet or apps/v1 Deployment",
                    other.kind()
                ),
            ));
        }
    })
}

fn is_native_deployment(v: &Value) -> bool {
    v.get("apiVersion").and_then(Value::as_str) == Some("apps/v1")
        && v.get("kind").and_then(Value::as_str) == Some("Deployment")
}

/// The RO-20 facts of an `apps/v1` Deployment target: the file's first object is the
/// Deployment; its ReplicaSets and the release's canary Deployments may follow in the same
/// file (one list, or several documents). Decoded as the reconciler does
/// (`Observed::decode`), with the BatchRelease (whose uid names the canary's owner) if given.
fn deployment_of(
    file: &str,
    rollout: &Rollout,
    targets: &[(String, Value)],
    br: Option<&(String, Value)>,
) -> Result<Workload, Stop> {
    let mut related: Vec<Value> = targets.iter().map(|(_, v)| v.clone()).collect();
    related.extend(br.map(|(_, v)| v.clone()));
    let name = targets[0].1.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
    let observed = kruise_core::rollout::reconcile::Observed::decode(rollout, &related)
        .map_err(|e| stop(Exit::Invalid, format!("{file}: {e}")))?;
    observed.workload.ok_or_else(|| {
        stop(
            Exit::Invalid,
            format!(
                "{file}: Deployment/{name} is not the Rollout's workloadRef ({} {}/{})",
                rollout.spec.workload_ref.api_version,
                rollout.spec.workload_ref.kind,
                rollout.spec.workload_ref.name
            ),
        )
    })
}

fn decode<T: serde::de::DeserializeOwned>(file: &str, i: usize, kind: &str, v: Value) -> Result<T, Stop> {
    serde_json::from_value(v)
        .map_err(|e| stop(Exit::Error, format!("{file}: item {}: cannot decode as {kind}: {e}", i + 1)))
}

fn items(path: Option<&PathBuf>, stdin: &mut dyn Read) -> Result<Vec<(String, Value)>, Stop> {
    let Some(path) = path else { return Ok(Vec::new()) };
    let shown = path.display().to_string();
    let mut out = Vec::new();
    for doc in read_docs(&shown, stdin)? {
        flatten(doc, &mut out);
    }
    Ok(out.into_iter().map(|v| (shown.clone(), v)).collect())
}

/// Reads the files named by `args` (`--workload` is the Rollout).
pub fn load(
    rollout: &PathBuf,
    target: Option<&PathBuf>,
    pods: Option<&PathBuf>,
    routes: Option<&PathBuf>,
    batch_release: Option<&PathBuf>,
    stdin: &mut dyn Read,
) -> Result<Loaded, Stop> {
    let files = [Some(rollout), target, pods, routes, batch_release];
    if files.iter().flatten().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err(stop(Exit::Error, "kruise plan: only one input can be standard input (-)".into()));
    }
    let shown = rollout.display().to_string();
    let docs = read_docs(&shown, stdin)?;
    let [doc] = docs.as_slice() else {
        return Err(stop(
            Exit::Invalid,
            format!("{shown}: expected exactly one Rollout, found {} objects", docs.len()),
        ));
    };
    let rollout = rollout_of(&shown, doc)?;
    let targets = items(target, stdin)?;
    let br_item = items(batch_release, stdin)?.into_iter().next();
    let workload = match targets.first() {
        Some((file, v)) if is_native_deployment(v) => {
            Some(deployment_of(file, &rollout, &targets, br_item.as_ref())?)
        }
        Some((file, v)) => Some(workload_of(file, v.clone())?),
        None => None,
    };
    let mut loaded = Loaded {
        rollout,
        workload,
        pods: Vec::new(),
        batch_release: None,
        services: Vec::new(),
        routes: Vec::new(),
        ingresses: Vec::new(),
        shared: None,
    };
    for (i, (file, v)) in items(pods, stdin)?.into_iter().enumerate() {
        loaded.pods.push(decode(&file, i, "Pod", v)?);
    }
    for (i, (file, v)) in items(routes, stdin)?.into_iter().enumerate() {
        match v.get("kind").and_then(Value::as_str).unwrap_or_default() {
            "Service" => loaded.services.push(decode(&file, i, "Service", v)?),
            "HTTPRoute" => loaded.routes.push(decode(&file, i, "HTTPRoute", v)?),
            "Ingress" => loaded.ingresses.push(decode(&file, i, "Ingress", v)?),
            "TrafficRouting" => loaded.shared = Some(decode(&file, i, "TrafficRouting", v)?),
            other => {
                return Err(stop(
                    Exit::Error,
                    format!(
                        "{file}: item {}: expected Service, HTTPRoute, Ingress or TrafficRouting, found {other:?}",
                        i + 1
                    ),
                ));
            }
        }
    }
    if let Some((file, v)) = br_item {
        loaded.batch_release = Some(decode(&file, 0, "BatchRelease", v)?);
    }
    Ok(loaded)
}

/// Plans the loaded objects; an invalid spec is exit 1.
pub fn plan(file: &str, loaded: &Loaded, now: Timestamp) -> Result<Plan, Stop> {
    let name = loaded.rollout.metadata.name.clone().unwrap_or_default();
    rollout::plan(&loaded.input(now)).map_err(|e| stop(Exit::Invalid, format!("{file}: Rollout/{name}: {e}")))
}

/// The `kruise plan -o json|yaml` document.
pub fn document(plan: &Plan, now: Timestamp) -> Value {
    let mut top = Map::new();
    top.insert("now".into(), json!(now.to_string()));
    if let Value::Object(m) = serde_json::to_value(plan).unwrap_or(Value::Null) {
        top.extend(m);
    }
    Value::Object(top)
}

/// Runs `kruise plan` when `--workload` holds a Rollout.
pub fn run(args: &Args, io: &mut Io<'_>) -> Result<(), crate::plan::Failure> {
    let loaded = load(
        &args.workload,
        args.target.as_ref(),
        args.pods.as_ref(),
        args.routes.as_ref(),
        args.batch_release.as_ref(),
        io.stdin,
    )?;
    let now = args.now.unwrap_or_else(Timestamp::now);
    let plan = plan(&args.workload.display().to_string(), &loaded, now)?;
    emit(io.out, args.output, || document(&plan, now), |out| write_table(out, &loaded, &plan, now))?;
    Ok(())
}

/// `kruise plan -o table` for a Rollout: the step, then one line per action and per hold.
pub fn write_table(out: &mut dyn Write, loaded: &Loaded, plan: &Plan, now: Timestamp) -> io::Result<()> {
    let r = &loaded.rollout;
    writeln!(
        out,
        "Rollout {}/{} at {now}",
        r.metadata.namespace.as_deref().unwrap_or("default"),
        r.metadata.name.as_deref().unwrap_or("(unnamed)")
    )?;
    let st = &plan.status;
    let n = r.spec.strategy.steps().len();
    writeln!(out, "phase {}  step {}/{n}  {}", st.phase, st.current_step_index, st.current_step_state)?;
    if !st.message.is_empty() {
        writeln!(out, "message: {}", st.message)?;
    }
    writeln!(out)?;
    if plan.actions.is_empty() {
        writeln!(out, "no actions")?;
    }
    for a in &plan.actions {
        let subject = a.pod.clone().or_else(|| a.object.as_ref().map(subject_name)).unwrap_or_default();
        writeln!(out, "{:<26} {:<32} {} {}", a.kind.name(), subject, a.reason.kind(), a.reason)?;
    }
    for h in &plan.held {
        let subject = h.pod.clone().or_else(|| h.object.as_deref().map(subject_name)).unwrap_or_default();
        writeln!(out, "held {:<21} {:<32} {} {}", "", subject, h.reason.kind(), h.reason)?;
    }
    if let Some(rq) = &plan.requeue {
        writeln!(out, "requeue after {}s ({})", rq.after.as_secs(), rq.reason.kind())?;
    }
    Ok(())
}

/// True when the file (not standard input) holds a single document of kind `Rollout`; reads
/// only a prefix-free scan of the text.
pub fn is_rollout(path: &PathBuf) -> bool {
    if path.as_os_str() == "-" {
        return false;
    }
    let Ok(text) = std::fs::read_to_string(path) else { return false };
    crate::input::parse(&path.display().to_string(), &text)
        .ok()
        .and_then(|docs| {
            docs.first().and_then(|d| d.get("kind")).and_then(Value::as_str).map(|k| k == "Rollout")
        })
        .unwrap_or(false)
}
