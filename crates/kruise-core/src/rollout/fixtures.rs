//! A test world for the Rollout planner: the objects a Rollout touches, a plan applier that
//! carries out the typed actions, and a model of the workload controller (a CloneSet
//! upgrading `R - stableTarget(partition)` pods, RO-17). Not a cluster: only the objects and
//! fields the Rollout planner reads.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus, Service, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::gateway::{HttpBackendRef, HttpRoute, HttpRouteRule};
use kruise_api::keys;
use kruise_api::rollouts::v1beta1::{
    BatchRelease, CanaryStep, CanaryStrategy, GatewayTrafficRouting, ObjectRef, Rollout, RolloutPause,
    RolloutSpec, RolloutStrategy, TrafficRoutingRef,
};

use crate::plan::ActionKind;
use crate::rollout::batch::{batch_replicas, cloneset_stable_target};
use crate::rollout::traffic::{TrafficObservation, TrafficWrite, observed_canary_weight};
use crate::rollout::types::subject_name;
use crate::rollout::{Config, Input, Plan, RolloutAction as RA, Workload, WorkloadKind, plan};

/// The world's start time, 2026-01-01T00:00:00Z.
pub fn t0() -> Timestamp {
    Timestamp::from_second(1_767_225_600).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A canary step: `replicas`, optional traffic and pause duration (seconds).
pub fn step(replicas: IntOrString, traffic: Option<&str>, pause: Option<i32>) -> CanaryStep {
    CanaryStep {
        replicas: Some(replicas),
        traffic: traffic.map(str::to_owned),
        pause: RolloutPause { duration: pause },
        ..CanaryStep::default()
    }
}

/// A percent `IntOrString` (`"50%"`).
pub fn pct(s: &str) -> IntOrString {
    IntOrString::String(s.to_owned())
}

/// The spec's worked example Rollout (§M), optionally without traffic.
pub fn example_rollout(with_traffic: bool) -> Rollout {
    let steps = vec![
        step(IntOrString::Int(1), Some("5%"), None),
        step(pct("50%"), Some("50%"), Some(60)),
        step(pct("100%"), None, None),
    ];
    rollout_with(steps, with_traffic)
}

/// The Rollout `web` over the CloneSet `web` with `steps`; with traffic, a Gateway API
/// HTTPRoute `web` in front of the Service `web` (grace 3 s).
pub fn rollout_with(mut steps: Vec<CanaryStep>, with_traffic: bool) -> Rollout {
    if !with_traffic {
        for s in &mut steps {
            s.traffic = None;
            s.matches.clear();
        }
    }
    let refs = if with_traffic {
        vec![TrafficRoutingRef {
            service: "web".into(),
            grace_period_seconds: Some(3),
            gateway: Some(GatewayTrafficRouting { http_route_name: Some("web".into()) }),
            ..TrafficRoutingRef::default()
        }]
    } else {
        vec![]
    };
    Rollout {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("default".into()),
            generation: Some(1),
            ..ObjectMeta::default()
        },
        spec: RolloutSpec {
            workload_ref: ObjectRef {
                api_version: "apps.kruise.io/v1alpha1".into(),
                kind: "CloneSet".into(),
                name: "web".into(),
            },
            strategy: RolloutStrategy {
                canary: Some(CanaryStrategy { steps, traffic_routings: refs, ..CanaryStrategy::default() }),
                ..RolloutStrategy::default()
            },
            disabled: false,
        },
        status: None,
    }
}

/// The RO-20 facts of a settled CloneSet `web` of `r` replicas on revision `web-aaa`.
pub fn cloneset_workload(r: i32) -> Workload {
    let mut w = Workload {
        kind: Some(WorkloadKind::CloneSet),
        api_version: "apps.kruise.io/v1alpha1".into(),
        name: "web".into(),
        generation: 1,
        observed_generation: 1,
        replicas: r,
        status_replicas: r,
        updated_replicas: r,
        updated_ready_replicas: r,
        current_revision: "web-aaa".into(),
        update_revision: "web-aaa".into(),
        ..Workload::default()
    };
    refresh_revisions(&mut w);
    w
}

/// The RO-20 facts of a settled native Deployment `web` of `r` replicas on pod-template-hash
/// `aaa`, image `v1`.
pub fn deployment_workload(r: i32) -> Workload {
    use k8s_openapi::api::apps::v1::DeploymentSpec;
    use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
    let labels = BTreeMap::from([("app".to_owned(), "web".to_owned())]);
    let spec = DeploymentSpec {
        replicas: Some(r),
        selector: LabelSelector { match_labels: Some(labels.clone()), ..LabelSelector::default() },
        template: PodTemplateSpec {
            metadata: Some(ObjectMeta { labels: Some(labels), ..ObjectMeta::default() }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "app".into(),
                    image: Some("v1".into()),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
        },
        ..DeploymentSpec::default()
    };
    Workload {
        kind: Some(WorkloadKind::Deployment),
        api_version: "apps/v1".into(),
        deployment_spec: Some(crate::rollout::types::Obj::new(spec)),
        ..cloneset_workload(r)
    }
}

fn refresh_revisions(w: &mut Workload) {
    w.stable_revision = crate::rollout::workload::short_revision(&w.current_revision).to_owned();
    w.canary_revision = crate::rollout::workload::short_revision(&w.update_revision).to_owned();
    if w.kind == Some(WorkloadKind::Deployment) {
        // RO-20 Deployment: the template is the stable one again (the planner's facts say
        // so by template, not by counts); canary style keeps the canary's hash.
        if let Some(c) = &w.canary {
            w.pod_template_hash = c.pod_template_hash.clone();
        } else {
            w.pod_template_hash = w.canary_revision.clone();
        }
        w.in_rollback = w.in_rollout_progressing() && w.current_revision == w.update_revision;
        return;
    }
    w.pod_template_hash = w.canary_revision.clone();
    w.in_rollback = w.in_rollout_progressing()
        && w.current_revision == w.update_revision
        && w.updated_replicas != w.replicas;
}

/// A pod on revision `hash` (the `pod-template-hash` label), ready or not.
pub fn pod(name: &str, hash: &str, ready: bool) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([(keys::POD_TEMPLATE_HASH.to_owned(), hash.to_owned())])),
            ..ObjectMeta::default()
        },
        spec: None,
        status: Some(PodStatus {
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: if ready { "True" } else { "False" }.into(),
                ..PodCondition::default()
            }]),
            ..PodStatus::default()
        }),
    }
}

/// A Service with `selector`.
pub fn service(name: &str, selector: &[(&str, &str)]) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            selector: Some(selector.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
            cluster_ip: Some("10.0.0.1".into()),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// An HTTPRoute backend on Service `name`, port 80.
pub fn backend(name: &str, weight: Option<i32>) -> HttpBackendRef {
    HttpBackendRef {
        kind: Some("Service".into()),
        name: name.into(),
        port: Some(80),
        weight,
        ..HttpBackendRef::default()
    }
}

/// The HTTPRoute `web`: every request to the Service `web`.
pub fn route() -> HttpRoute {
    HttpRoute {
        metadata: ObjectMeta { name: Some("web".into()), ..ObjectMeta::default() },
        spec: kruise_api::gateway::HttpRouteSpec {
            rules: vec![HttpRouteRule {
                backend_refs: vec![backend("web", None)],
                ..HttpRouteRule::default()
            }],
            ..Default::default()
        },
        ..HttpRoute::default()
    }
}

/// What one step of the world recorded.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Rollout phase after the tick.
    pub phase: String,
    /// 1-based current step.
    pub step: i32,
    /// Current step state.
    pub state: String,
    /// Workload partition.
    pub partition: Option<IntOrString>,
    /// Pods on the update revision.
    pub updated: i32,
    /// Ready pods on the update revision.
    pub updated_ready: i32,
    /// Canary weight the HTTPRoute gives, percent.
    pub weight: i32,
    /// The canary Deployment's `spec.replicas` (canary style; 0 without one).
    pub canary: i32,
    /// Whether the workload is paused (a Deployment's `spec.paused`).
    pub paused: bool,
    /// The plan of the tick.
    pub plan: Plan,
}

/// The objects, and how fast new pods become ready.
pub struct World {
    /// The Rollout.
    pub rollout: Rollout,
    /// The workload's facts.
    pub workload: Workload,
    /// Its pods.
    pub pods: Vec<Pod>,
    /// The BatchRelease.
    pub br: Option<BatchRelease>,
    /// The stable Service.
    pub stable: Option<Service>,
    /// The canary Service.
    pub canary: Option<Service>,
    /// The HTTPRoute.
    pub route: Option<HttpRoute>,
    /// A shared TrafficRouting.
    pub shared: Option<kruise_api::rollouts::v1alpha1::TrafficRouting>,
    /// Traffic writes carried out (grace periods).
    pub writes: Vec<TrafficWrite>,
    /// The clock.
    pub now: Timestamp,
    /// Flags and gates.
    pub config: Config,
    /// Seconds a new pod needs to become ready.
    pub ready_delay: i64,
    /// When each upgraded pod becomes ready.
    pub ready_at: BTreeMap<String, i64>,
    /// What each tick recorded.
    pub frames: Vec<Frame>,
}

impl World {
    /// A world of `r` settled pods under `rollout`.
    pub fn new(rollout: Rollout, r: i32) -> Self {
        let traffic = !rollout.spec.strategy.traffic_routings().is_empty();
        let mut w = World {
            rollout,
            workload: cloneset_workload(r),
            pods: Vec::new(),
            br: None,
            stable: traffic.then(|| service("web", &[("app", "web")])),
            canary: None,
            route: traffic.then(route),
            shared: None,
            writes: Vec::new(),
            now: t0(),
            config: Config::default(),
            ready_delay: 0,
            ready_at: BTreeMap::new(),
            frames: Vec::new(),
        };
        w.sync_pods();
        w
    }

    /// The planner input over the world's objects.
    pub fn input(&self) -> Input<'_> {
        Input {
            rollout: &self.rollout,
            workload: Some(&self.workload),
            pods: &self.pods,
            batch_release: self.br.as_ref(),
            traffic: TrafficObservation {
                stable_service: self.stable.as_ref(),
                canary_service: self.canary.as_ref(),
                http_route: self.route.as_ref(),
                shared: self.shared.as_ref(),
                writes: &self.writes,
                ..TrafficObservation::default()
            },
            now: self.now,
            config: self.config,
        }
    }

    /// RO-19 for a CloneSet: the user's new template enters a rollout.
    pub fn release(&mut self, rev: &str) {
        let w = &mut self.workload;
        w.annotations.insert(keys::ROLLOUT_IN_PROGRESSING.into(), r#"{"rolloutName":"web"}"#.into());
        w.partition = Some(pct("100%"));
        w.update_revision = format!("web-{rev}");
        w.generation += 1;
        self.settle();
    }

    /// RO-19 for a native Deployment (`admit_deployment`): the new template `rev` pauses the
    /// Deployment, labels its stable revision and marks it in progress.
    pub fn release_deployment(&mut self, rev: &str) {
        let w = &mut self.workload;
        w.annotations.insert(keys::ROLLOUT_IN_PROGRESSING.into(), r#"{"rolloutName":"web"}"#.into());
        w.labels.insert(keys::ROLLOUT_STABLE_REVISION.into(), w.stable_revision.clone());
        w.paused = true;
        w.update_revision = format!("web-{rev}");
        if let Some(spec) = w.deployment_spec.as_mut()
            && let Some(c) = spec.0.template.spec.as_mut().and_then(|p| p.containers.first_mut())
        {
            c.image = Some(rev.to_owned());
        }
        w.generation += 1;
        self.settle();
    }

    /// The user reverts the template to the stable revision (RO-47).
    pub fn revert(&mut self) {
        let w = &mut self.workload;
        w.update_revision = "web-aaa".into();
        w.generation += 1;
        self.settle();
    }

    /// The workload controller: observe, then move pods not on the update revision (highest
    /// ordinal first) until `R - stableTarget` run it (RO-17); new pods become ready after
    /// `ready_delay` seconds.
    pub fn settle(&mut self) {
        let now = self.now;
        let delay = self.ready_delay;
        let w = &mut self.workload;
        w.observed_generation = w.generation;
        let new = crate::rollout::workload::short_revision(&w.update_revision).to_owned();
        let stable_target = cloneset_stable_target(w.partition.as_ref(), w.replicas);
        // A paused Deployment (canary style) keeps its pods; its canary Deployment runs the
        // new ones.
        // A partition-style Deployment: the advanced controller updates `newRSLimit(partition)`
        // pods while the native one is held (RO-15).
        let want = if w.kind == Some(WorkloadKind::Deployment) && w.advanced_strategy.is_some() {
            crate::rollout::batch::new_rs_limit(
                w.partition.as_ref().unwrap_or(&IntOrString::Int(0)),
                w.replicas,
            )
        } else if w.paused {
            0
        } else if w.min_ready_seconds == crate::rollout::batch_release::MAX_READY_SECONDS {
            // Blue-green: new pods never become available, so only the surge moves
            // (modelled as that many pods on the new revision).
            w.max_surge.as_ref().map_or(0, |s| crate::rollout::batch::batch_replicas(s, w.replicas))
        } else {
            w.replicas - stable_target
        };
        if let Some(c) = &mut w.canary {
            c.status_replicas = c.replicas;
            c.available_replicas = c.replicas;
            let have = self
                .pods
                .iter()
                .filter(|p| p.metadata.name.as_deref().is_some_and(|n| n.starts_with("canary-")))
                .count() as i32;
            for i in have..c.replicas {
                self.pods.push(pod(&format!("canary-{i}"), &c.pod_template_hash, true));
            }
        }
        let is_canary = |p: &Pod| p.metadata.name.as_deref().is_some_and(|n| n.starts_with("canary-"));
        let mut on_new = self.pods.iter().filter(|p| !is_canary(p) && hash_of(p) == new).count() as i32;
        for p in self.pods.iter_mut().rev() {
            if on_new >= want {
                break;
            }
            if !is_canary(p) && hash_of(p) != new {
                let name = p.metadata.name.clone().unwrap_or_default();
                *p = pod(&name, &new, delay == 0);
                self.ready_at.insert(name, now.as_second() + delay);
                on_new += 1;
            }
        }
        for p in &mut self.pods {
            let name = p.metadata.name.clone().unwrap_or_default();
            let ready = self.ready_at.get(&name).is_none_or(|t| *t <= now.as_second());
            set_ready(p, ready);
        }
        let w = &mut self.workload;
        let own: Vec<&Pod> = self.pods.iter().filter(|p| !is_canary(p)).collect();
        w.updated_replicas = own.iter().filter(|p| hash_of(p) == new).count() as i32;
        w.updated_ready_replicas = own.iter().filter(|p| hash_of(p) == new && is_ready(p)).count() as i32;
        w.ready_replicas = own.iter().filter(|p| is_ready(p)).count() as i32;
        w.available_replicas = w.ready_replicas;
        w.status_replicas = w.replicas;
        if w.updated_replicas == w.replicas {
            w.current_revision = w.update_revision.clone();
        }
        refresh_revisions(w);
    }

    fn sync_pods(&mut self) {
        let w = &self.workload;
        let rev = crate::rollout::workload::short_revision(&w.current_revision).to_owned();
        self.pods = (0..w.replicas).map(|i| pod(&format!("web-{i}"), &rev, true)).collect();
    }

    /// One reconcile (see [`World::try_tick`]); panics on an invalid Rollout.
    pub fn tick(&mut self) -> Plan {
        self.try_tick().expect("valid rollout")
    }

    /// One reconcile: plan, record, apply, let the workload settle, advance the clock.
    pub fn try_tick(&mut self) -> Result<Plan, crate::plan::PlanError> {
        let p = plan(&self.input())?;
        self.apply(&p);
        self.settle();
        let weight =
            self.route.as_ref().map_or(0, |r| observed_canary_weight(&r.spec.rules, "web", "web-canary"));
        let st = self.rollout.status.clone().unwrap_or_default();
        self.frames.push(Frame {
            phase: st.phase.clone(),
            step: st.current_step_index,
            state: st.current_step_state.clone(),
            partition: self.workload.partition.clone(),
            updated: self.workload.updated_replicas,
            updated_ready: self.workload.updated_ready_replicas,
            weight,
            canary: self.workload.canary.as_ref().map_or(0, |c| c.replicas),
            paused: self.workload.paused,
            plan: p.clone(),
        });
        let after =
            p.requeue.as_ref().map_or(Duration::from_secs(1), |r| r.after.min(Duration::from_secs(5)));
        self.now += after.max(Duration::from_secs(1));
        Ok(p)
    }

    /// Runs until nothing changes for a few ticks or `max` ticks pass.
    pub fn run(&mut self, max: usize) {
        let mut quiet = 0;
        for _ in 0..max {
            let p = self.tick();
            let writes = p.actions.len();
            quiet = if writes == 0 { quiet + 1 } else { 0 };
            if quiet >= 3 {
                break;
            }
        }
    }

    /// Manual approval of a paused step (RO-32); panics outside `StepPaused`.
    pub fn approve(&mut self) {
        assert!(self.try_approve(), "approve only in StepPaused (RO-32)");
    }

    /// Manual approval of a paused step (RO-32): false (and nothing changed) outside
    /// `StepPaused`.
    pub fn try_approve(&mut self) -> bool {
        let st = self.rollout.status.as_mut().and_then(|s| {
            match (&mut s.canary_status, &mut s.blue_green_status) {
                (Some(c), _) => Some(&mut c.common),
                (None, Some(b)) => Some(&mut b.common),
                _ => None,
            }
        });
        match st {
            Some(st) if st.current_step_state == "StepPaused" => {
                st.current_step_state = "StepReady".into();
                true
            }
            _ => false,
        }
    }

    /// Carries out the plan's actions on the world's objects.
    pub fn apply(&mut self, p: &Plan) {
        for a in &p.actions {
            let object = a.object.as_ref().map(subject_name).unwrap_or_default();
            let (kind, name) = object.split_once('/').unwrap_or(("", ""));
            match &a.kind {
                ActionKind::UpdateStatus => self.rollout.status = Some(p.status.clone()),
                ActionKind::Rollout(RA::PatchRolloutAnnotations { annotations }) => {
                    let m = self.rollout.metadata.annotations.get_or_insert_default();
                    for (k, v) in annotations {
                        match v {
                            Some(v) => m.insert(k.clone(), v.clone()),
                            None => m.remove(k),
                        };
                    }
                }
                ActionKind::Rollout(RA::AddFinalizer { finalizer }) if kind == "Rollout" => {
                    self.rollout.metadata.finalizers.get_or_insert_default().push(finalizer.clone())
                }
                ActionKind::Rollout(RA::RemoveFinalizer { finalizer }) if kind == "Rollout" => {
                    self.rollout.metadata.finalizers.get_or_insert_default().retain(|f| f != finalizer)
                }
                ActionKind::Rollout(RA::AddFinalizer { finalizer }) if kind == "TrafficRouting" => {
                    if let Some(tr) = &mut self.shared {
                        tr.metadata.finalizers.get_or_insert_default().push(finalizer.clone());
                    }
                }
                ActionKind::Rollout(RA::RemoveFinalizer { finalizer }) if kind == "TrafficRouting" => {
                    if let Some(tr) = &mut self.shared {
                        tr.metadata.finalizers.get_or_insert_default().retain(|f| f != finalizer);
                    }
                }
                ActionKind::Rollout(RA::CreateBatchRelease { spec, annotations }) => {
                    self.br = Some(BatchRelease {
                        metadata: ObjectMeta {
                            name: Some(name.into()),
                            generation: Some(1),
                            annotations: (!annotations.is_empty()).then(|| annotations.clone()),
                            ..ObjectMeta::default()
                        },
                        spec: (**spec).clone(),
                        status: None,
                    })
                }
                ActionKind::Rollout(RA::UpdateBatchRelease { spec, annotations }) => {
                    let Some(br) = self.br.as_mut() else { continue };
                    if br.spec != **spec {
                        br.metadata.generation = Some(br.metadata.generation.unwrap_or(0) + 1);
                    }
                    br.spec = (**spec).clone();
                    br.metadata.annotations = (!annotations.is_empty()).then(|| annotations.clone());
                }
                ActionKind::Rollout(RA::UpdateBatchReleaseStatus { status }) => {
                    if let Some(br) = &mut self.br {
                        br.status = Some((**status).clone());
                    }
                }
                ActionKind::Rollout(RA::DeleteBatchRelease) => self.br = None,
                ActionKind::Rollout(RA::SetScaleTargetRef { name: target, .. }) => {
                    if let Some(h) = self.workload.hpa.as_mut().filter(|h| h.name == name) {
                        h.target_name = target.clone();
                    }
                }
                ActionKind::Rollout(RA::CreateDeployment { deployment }) => {
                    let w = &mut self.workload;
                    let hash = format!("{}c", w.canary_revision);
                    w.canary = Some(crate::rollout::workload::CanaryWorkload {
                        name: name.to_owned(),
                        replicas: deployment.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
                        pod_template_hash: hash.clone(),
                        ..Default::default()
                    });
                    w.canary_deployments.push(name.to_owned());
                    w.pod_template_hash = hash;
                }
                ActionKind::Rollout(RA::DeleteDeployment) => {
                    let w = &mut self.workload;
                    w.canary_deployments.retain(|c| c != name);
                    if w.canary.as_ref().is_some_and(|c| c.name == name) {
                        w.canary = None;
                        self.pods
                            .retain(|p| p.metadata.name.as_deref().is_none_or(|n| !n.starts_with("canary-")));
                    }
                }
                // A ReplicaSet patch (blue-green's stable ReplicaSet): no ReplicaSets here.
                ActionKind::Rollout(RA::PatchWorkload { .. }) if kind == "ReplicaSet" => {}
                ActionKind::Rollout(RA::PatchWorkload { patch })
                    if self.workload.canary.as_ref().is_some_and(|c| name == c.name) =>
                {
                    if let (Some(c), Some(n)) = (self.workload.canary.as_mut(), patch.replicas) {
                        c.replicas = n;
                    }
                }
                ActionKind::Rollout(RA::PatchWorkload { patch }) => {
                    let w = &mut self.workload;
                    if let Some(part) = &patch.partition {
                        w.partition = part.clone();
                        w.generation += 1;
                    }
                    if let Some(p) = patch.paused {
                        w.paused = p;
                    }
                    if let Some(v) = &patch.max_surge {
                        w.max_surge = Some(v.clone());
                    }
                    if let Some(v) = &patch.max_unavailable {
                        w.max_unavailable = Some(v.clone());
                    }
                    if let Some(v) = patch.min_ready_seconds {
                        w.min_ready_seconds = v;
                    }
                    if let Some(v) = patch.progress_deadline_seconds {
                        w.progress_deadline_seconds = v;
                    }
                    if let Some(t) = &patch.strategy_type {
                        w.strategy_type = Some(t.clone());
                    }
                    if let Some(ru) = &patch.rolling_update {
                        w.max_surge = ru.as_ref().and_then(|r| r.max_surge.clone());
                        w.max_unavailable = ru.as_ref().and_then(|r| r.max_unavailable.clone());
                    }
                    if let Some(v) = patch.annotations.get(keys::ROLLOUT_DEPLOYMENT_STRATEGY) {
                        w.advanced_strategy = v.as_deref().and_then(|t| serde_json::from_str(t).ok());
                    }
                    for (k, v) in &patch.labels {
                        match v {
                            Some(v) => w.labels.insert(k.clone(), v.clone()),
                            None => w.labels.remove(k),
                        };
                    }
                    for (k, v) in &patch.annotations {
                        match v {
                            Some(v) => w.annotations.insert(k.clone(), v.clone()),
                            None => w.annotations.remove(k),
                        };
                    }
                }
                ActionKind::PatchPod { patch } => {
                    let pod = a.pod.as_deref().unwrap_or_default();
                    if let Some(p) = self.pods.iter_mut().find(|p| p.metadata.name.as_deref() == Some(pod)) {
                        let labels = p.metadata.labels.get_or_insert_default();
                        for (k, v) in &patch.labels {
                            match v {
                                Some(v) => labels.insert(k.clone(), v.clone()),
                                None => labels.remove(k),
                            };
                        }
                    }
                }
                ActionKind::Rollout(RA::PatchServiceSelector { selector }) => {
                    let svc = if name == "web" { self.stable.as_mut() } else { self.canary.as_mut() };
                    if let Some(svc) = svc {
                        let sel = svc.spec.get_or_insert_default().selector.get_or_insert_default();
                        for (k, v) in selector {
                            match v {
                                Some(v) => sel.insert(k.clone(), v.clone()),
                                None => sel.remove(k),
                            };
                        }
                    }
                    self.record(&object, &a.reason);
                }
                ActionKind::Rollout(RA::CreateService { service }) => {
                    self.canary = Some((**service).clone());
                    self.record(&object, &a.reason);
                }
                ActionKind::Rollout(RA::DeleteService) => {
                    self.canary = None;
                    self.record(&object, &a.reason);
                }
                ActionKind::Rollout(RA::SetHttpRouteRules { rules }) => {
                    if let Some(r) = &mut self.route {
                        r.spec.rules = (**rules).clone();
                    }
                    self.record(&object, &a.reason);
                }
                _ => {}
            }
        }
        if p.count("UpdateStatus") == 0 && self.rollout.status.is_none() {
            self.rollout.status = Some(p.status.clone());
        }
    }

    fn record(&mut self, object: &str, reason: &crate::plan::Reason) {
        // Pins, restores and removals carry a grace period from the write (RO-63); the
        // provider objects written by the same item share it.
        let item = reason.kind().to_owned();
        self.writes.push(TrafficWrite { object: object.to_owned(), item, at: self.now });
    }

    /// The canary status `lastUpdateTime`.
    pub fn status_time(&self) -> Option<Timestamp> {
        self.rollout
            .status
            .as_ref()
            .and_then(|s| s.canary_status.as_ref())
            .and_then(|c| c.common.last_update_time.as_ref())
            .map(|t: &Time| t.0)
    }
}

/// The pod's `pod-template-hash`.
pub fn hash_of(p: &Pod) -> &str {
    p.metadata.labels.as_ref().and_then(|l| l.get(keys::POD_TEMPLATE_HASH)).map_or("", String::as_str)
}

/// The pod is Ready.
pub fn is_ready(p: &Pod) -> bool {
    crate::availability::pod_ready(p)
}

fn set_ready(p: &mut Pod, ready: bool) {
    if let Some(c) = p.status.as_mut().and_then(|s| s.conditions.as_mut()).and_then(|c| c.first_mut()) {
        c.status = if ready { "True" } else { "False" }.into();
    }
}

/// A step list from raw `(is_percent, value, pause, traffic share)` tuples, made valid:
/// replicas non-decreasing within each kind (RO-9.5), each step's traffic at most `share`
/// percent of the step's own share of `r` pods (the configuration under which the weight
/// never exceeds the ready canary share), no traffic on percent steps above RO-9.4's limit.
pub fn build_steps(raw: &[(bool, i32, Option<i32>, u8)], r: i32, traffic: bool) -> Vec<CanaryStep> {
    let (mut last_int, mut last_pct) = (0, 0);
    let mut out = Vec::new();
    for (is_pct, v, pause, share) in raw {
        let replicas = if *is_pct {
            last_pct = (*v).max(last_pct);
            IntOrString::String(format!("{last_pct}%"))
        } else {
            last_int = (*v).max(last_int);
            IntOrString::Int(last_int)
        };
        // Traffic never above the step's share of pods (the configuration the weight
        // property assumes), and within RO-9.4's partition limit for percent steps.
        let n = batch_replicas(&replicas, r);
        let cap = n * 100 / r.max(1);
        let w = cap * i32::from(*share) / 100;
        let traffic = (traffic && w > 0 && !(*is_pct && last_pct > 50)).then(|| format!("{w}%"));
        out.push(step(replicas, traffic.as_deref(), *pause));
    }
    out
}
