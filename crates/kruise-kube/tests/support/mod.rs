//! Shared test support: the scripted API server, fixtures in the API server's shapes, and a
//! small stand-in CloneSet planner that emits the same kinds of writes as the real one (create
//! pods, delete with uid precondition, two-phase in-place update, status merge patch), so the
//! adapter can be tested before (and independently of) the full planner.

#![allow(dead_code)]

pub mod https;
pub mod mock;
pub mod served;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{
    Container, Node, PersistentVolumeClaim, Pod, PodCondition, PodSpec, PodStatus, PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kruise_api::KruiseResource;
use kruise_api::apps::v1beta1::{CloneSet, CloneSetSpec};
use kruise_core::plan::{Action, ActionKind, Held, Reason, Requeue};
use kruise_core::reconciler::{
    Context, Outcome, PlannedWrite, ReconcileError, Reconciler, WorkloadEvent, World,
};
use kruise_core::write::{ApiWrite, Subresource, Target};
use kruise_kube::observe::Caches;
use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::watcher;
use serde_json::{Value, json};

pub const NS: &str = "default";
pub const CS_UID: &str = "6f1c2b9e-0d3a-4c55-9a53-3b1e0c2f7a10";

pub fn cloneset(name: &str, replicas: i32, image: &str) -> CloneSet {
    let labels = BTreeMap::from([("app".to_owned(), name.to_owned())]);
    let mut cs = CloneSet::new(
        name,
        CloneSetSpec {
            replicas: Some(replicas),
            selector: Some(LabelSelector { match_labels: Some(labels.clone()), ..Default::default() }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels), ..Default::default() }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "nginx".into(),
                        image: Some(image.into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            ..Default::default()
        },
    );
    cs.metadata.namespace = Some(NS.into());
    cs.metadata.uid = Some(CS_UID.into());
    cs.metadata.generation = Some(1);
    cs.metadata.resource_version = Some("1000".into());
    cs
}

pub fn revision_of(cs: &CloneSet) -> String {
    let image = image_of(cs);
    let h = kruise_api::hash::fnv32a(&[image.as_bytes()]);
    format!("{}-{:x}", cs.metadata.name.as_deref().unwrap_or_default(), h % 0xfffff)
}

fn image_of(cs: &CloneSet) -> String {
    cs.spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

pub use kruise_core::cloneset::owner_ref;

/// The pod the test planner creates (what it POSTs).
pub fn new_pod(cs: &CloneSet, name: &str) -> Pod {
    let template = &cs.spec.template;
    let mut labels = template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
    labels.insert("controller-revision-hash".into(), revision_of(cs));
    labels.insert(
        "apps.kruise.io/cloneset-instance-id".into(),
        name.rsplit('-').next().unwrap_or_default().into(),
    );
    let mut spec = template.spec.clone().unwrap_or_default();
    spec.readiness_gates = Some(vec![k8s_openapi::api::core::v1::PodReadinessGate {
        condition_type: "InPlaceUpdateReady".into(),
    }]);
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(NS.into()),
            labels: Some(labels),
            owner_references: Some(vec![owner_ref(cs)]),
            ..Default::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// A pod as the API server returns and caches it: uid, resourceVersion, running and ready.
pub fn stored_pod(cs: &CloneSet, name: &str, rv: u64) -> Pod {
    let mut p = new_pod(cs, name);
    p.metadata.uid = Some(format!("uid-{name}"));
    p.metadata.resource_version = Some(rv.to_string());
    p.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        jiff::Timestamp::from_second(1_767_225_600).unwrap_or_default(),
    ));
    p.status = Some(PodStatus {
        phase: Some("Running".into()),
        conditions: Some(vec![
            condition("InPlaceUpdateReady", "True", None),
            condition("Ready", "True", None),
        ]),
        ..Default::default()
    });
    p
}

pub fn condition(type_: &str, status: &str, reason: Option<&str>) -> PodCondition {
    PodCondition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.map(str::to_owned),
        ..Default::default()
    }
}

/// The caches filled by hand through the same watch-event handlers the operator's streams
/// call (the workload store and selector index, the pod index with its tables, the PVC and
/// revision indexes); `W` is the workload type (the v1beta1 CloneSet unless a test picks
/// another).
pub struct Cluster<W: WorkloadType = CloneSet> {
    pub caches: Caches<W>,
    workloads: Writer<W>,
    nodes: Writer<Node>,
}

/// What [`Cluster`] can cache as a workload.
pub trait WorkloadType:
    KruiseResource
    + kube::Resource<DynamicType = ()>
    + Clone
    + serde::de::DeserializeOwned
    + Send
    + Sync
    + 'static
{
}
impl<W> WorkloadType for W where
    W: KruiseResource
        + kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static
{
}

impl Cluster<CloneSet> {
    /// A cluster caching v1beta1 CloneSets.
    pub fn new() -> Self {
        Self::with_workload()
    }
}

impl<W: WorkloadType> Cluster<W> {
    /// A cluster caching workloads of type `W`.
    pub fn with_workload() -> Self {
        let (w_r, workloads) = reflector::store();
        let (n_r, nodes) = reflector::store();
        let mut caches = Caches::new(w_r);
        caches.nodes = Some(n_r);
        Self { caches, workloads, nodes }
    }
    pub fn apply_workload(&mut self, cs: &W) -> Arc<W> {
        let ev = watcher::Event::Apply(cs.clone());
        self.workloads.apply_watcher_event(&ev);
        self.caches.selectors.apply(&ev);
        Arc::new(cs.clone())
    }
    pub fn apply_pod(&mut self, pod: &Pod) {
        self.caches.pods.apply(&watcher::Event::Apply(pod.clone()));
    }
    pub fn apply_revision(&mut self, rev: &ControllerRevision) {
        self.caches.revisions.apply(&watcher::Event::Apply(rev.clone()));
    }
    pub fn apply_pvc(&mut self, pvc: &PersistentVolumeClaim) {
        self.caches.pvcs.apply(&watcher::Event::Apply(pvc.clone()));
    }
    pub fn apply_node(&mut self, node: &Node) {
        self.nodes.apply_watcher_event(&watcher::Event::Apply(node.clone()));
    }
    pub fn delete_pod(&mut self, pod: &Pod) {
        self.caches.pods.apply(&watcher::Event::Delete(pod.clone()));
    }
}

/// A stand-in CloneSet planner: scale (podsToDelete first, then by name), a two-phase
/// in-place image update (readiness-gate condition, then the pod), and a status merge patch
/// with `observedGeneration`. It waits on unsatisfied expectations, as CS-87/CS-88 require.
pub struct TestPlanner;

pub fn write(kind: ActionKind, pod: Option<&str>, reason: Reason, write: ApiWrite) -> PlannedWrite {
    PlannedWrite { action: Action::new(kind, pod, None, reason), write }
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn has_condition(p: &Pod, type_: &str, status: &str) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == type_ && c.status == status))
}

fn conditions_with(p: &Pod, type_: &str, status: &str, reason: Option<&str>) -> Value {
    let mut conds: Vec<PodCondition> =
        p.status.as_ref().and_then(|s| s.conditions.clone()).unwrap_or_default();
    conds.retain(|c| c.type_ != type_);
    conds.push(condition(type_, status, reason));
    conds.sort_by(|a, b| a.type_.cmp(&b.type_));
    serde_json::to_value(conds).unwrap_or(Value::Null)
}

impl Reconciler for TestPlanner {
    type Workload = CloneSet;

    fn reconcile(&self, world: &World<'_, CloneSet>, ctx: &Context<'_>) -> Result<Outcome, ReconcileError> {
        let cs = world.workload;
        let name = cs.metadata.name.clone().unwrap_or_default();
        let mut out = Outcome::default();
        if let Some(p) = ctx.expectations.pending() {
            let reason = Reason::AwaitingExpectations {
                creates: p.creates,
                deletes: p.deletes,
                resource_versions: p.resource_versions,
            };
            out.held.push(Held::pod("", reason.clone()));
            out.requeue_after = Some(Requeue { after: Duration::from_secs(5), reason });
            return Ok(out);
        }
        let rev = revision_of(cs);
        let want = usize::try_from(cs.spec.replicas.unwrap_or(1)).unwrap_or(0);
        let active: Vec<&Pod> =
            world.pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect();
        let to_delete: Vec<&Pod> = active
            .iter()
            .copied()
            .filter(|p| {
                cs.spec.scale_strategy.pods_to_delete.iter().any(|n| Some(n) == p.metadata.name.as_ref())
            })
            .collect();
        let mut keep: Vec<&Pod> = active
            .iter()
            .copied()
            .filter(|p| !to_delete.iter().any(|d| d.metadata.name == p.metadata.name))
            .collect();
        let delete = |p: &Pod, reason: Reason| {
            let n = p.metadata.name.clone().unwrap_or_default();
            write(
                ActionKind::DeletePod,
                Some(&n),
                reason,
                ApiWrite::Delete { target: Target::pod(NS, &n), uid: p.metadata.uid.clone() },
            )
        };
        for p in &to_delete {
            out.writes.push(delete(p, Reason::PodsToDelete));
        }
        let mut scaled = !to_delete.is_empty();
        if keep.len() < want {
            let have = keep.len();
            for i in 0..(want - have) {
                let id = format!("{:05x}", (ctx.id_seed.wrapping_add(i as u64)) % 0xfffff);
                let pod_name = format!("{name}-{id}");
                let pod = new_pod(cs, &pod_name);
                let reason = Reason::ScaleUp { have: count(have), want: count(want) };
                out.writes.push(write(ActionKind::CreatePod { instance_id: id }, Some(&pod_name), reason, ApiWrite::Create {
                    target: Target::pod(NS, &pod_name),
                    object: json!({"apiVersion": "v1", "kind": "Pod", "metadata": pod.metadata, "spec": pod.spec}),
                }));
            }
            out.events.push(WorkloadEvent {
                type_: "Normal".into(),
                reason: "SuccessfulCreate".into(),
                message: format!("succeed to create {} pods", want - have),
            });
            scaled = true;
        } else if keep.len() > want {
            keep.sort_by(|a, b| b.metadata.name.cmp(&a.metadata.name));
            let reason = Reason::ScaleDown { have: count(keep.len()), want: count(want) };
            for p in keep.drain(..keep.len() - want) {
                out.writes.push(delete(p, reason.clone()));
            }
            scaled = true;
        }
        if !scaled {
            let image = image_of(cs);
            let in_place = || ActionKind::UpdateInPlace { from_revision: String::new() };
            let update = || Reason::Update { update_num: 0, recreate: false };
            for p in &keep {
                let n = p.metadata.name.clone().unwrap_or_default();
                let labels = p.metadata.labels.clone().unwrap_or_default();
                let on_rev = labels.get("controller-revision-hash") == Some(&rev);
                if !on_rev {
                    // Phase 1: flip the readiness gate, phase 2: the image and revision label.
                    out.writes.push(write(in_place(), Some(&n), update(), ApiWrite::MergePatch {
                        target: Target::pod(NS, &n),
                        subresource: Subresource::Status,
                        patch: json!({"status": {"conditions": conditions_with(p, "InPlaceUpdateReady", "False", Some("StartInPlaceUpdate"))}}),
                    }));
                    let mut containers = p.spec.as_ref().map(|s| s.containers.clone()).unwrap_or_default();
                    for c in &mut containers {
                        c.image = Some(image.clone());
                    }
                    out.writes.push(write(in_place(), Some(&n), update(), ApiWrite::MergePatch {
                        target: Target::pod(NS, &n),
                        subresource: Subresource::Main,
                        patch: json!({
                            "metadata": {
                                "resourceVersion": p.metadata.resource_version,
                                "labels": {"controller-revision-hash": rev},
                                "annotations": {"apps.kruise.io/inplace-update-state": format!("{{\"revision\":\"{rev}\"}}")}
                            },
                            "spec": {"containers": containers}
                        }),
                    }));
                } else if has_condition(p, "InPlaceUpdateReady", "False") {
                    // Phase 3: the container runs the new image; release the gate.
                    out.writes.push(write(in_place(), Some(&n), update(), ApiWrite::MergePatch {
                        target: Target::pod(NS, &n),
                        subresource: Subresource::Status,
                        patch: json!({"status": {"conditions": conditions_with(p, "InPlaceUpdateReady", "True", None)}}),
                    }));
                }
            }
        }
        let updated = keep
            .iter()
            .filter(|p| {
                p.metadata.labels.as_ref().and_then(|l| l.get("controller-revision-hash")) == Some(&rev)
            })
            .count();
        let status = json!({
            "observedGeneration": cs.metadata.generation.unwrap_or(0),
            "replicas": keep.len(),
            "updatedReplicas": updated,
            "updateRevision": rev,
        });
        let current = cs.status.as_ref().map(|s| {
            json!({
                "observedGeneration": s.observed_generation,
                "replicas": s.replicas,
                "updatedReplicas": s.updated_replicas,
                "updateRevision": s.update_revision,
            })
        });
        if current.as_ref() != Some(&status) {
            out.writes.push(write(
                ActionKind::UpdateStatus,
                None,
                Reason::StatusChanged,
                ApiWrite::MergePatch {
                    target: Target::namespaced("apps.kruise.io/v1beta1", "CloneSet", NS, &name),
                    subresource: Subresource::Status,
                    patch: json!({"status": status}),
                },
            ));
        }
        Ok(out)
    }
}
