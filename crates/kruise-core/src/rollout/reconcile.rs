//! The Rollout planner as adapters see it: [`RolloutReconciler`] implements
//! [`Reconciler`] for the v1beta1 Rollout, and [`TrafficRoutingReconciler`] for the shared
//! TrafficRouting's own pass (RO-64..RO-66).
//!
//! A Rollout reads objects it does not own: the workload it releases and that workload's
//! pods, its BatchRelease, Services, HTTPRoutes, Ingresses and a shared TrafficRouting. They
//! come in [`World::related`] as stored JSON ([`ROLLOUT_RELATED`] names the kinds); only the
//! objects the Rollout names are decoded ([`Observed::decode`]), and a named object that does
//! not decode is an error naming its place in `related` and the field it broke on.
//!
//! Writes ([`Writer`], one method per action in the shape of the typed-writes `Materialise`
//! trait) are guarded: the first write to an object in a plan carries the `uid` and
//! `resourceVersion` it was computed from, later writes to the same object chain on it (the
//! [`ApiWrite::Replace`] chaining rule); deletes carry the uid and only ever address objects
//! the Rollout controls (owner reference with `controller: true` and its uid). Grace periods
//! (RO-63) survive restarts: the traffic writes of a plan are recorded, with `now`, in the
//! reconciled object's [`keys::ROLLOUT_TRAFFIC_WRITES`] annotation by the plan's last write;
//! intents applied as data (RO-62, RO-64) are recorded on the provider object
//! ([`keys::ROLLOUT_ROUTE_INTENT`]).

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kruise_api::any::AnyResource;
use kruise_api::gateway::HttpRoute;
use kruise_api::keys;
use kruise_api::rollouts::v1alpha1::TrafficRouting;
use kruise_api::rollouts::v1beta1::{BatchRelease, Rollout};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::traffic::{RouteIntent, TrafficObservation, TrafficWrite};
use super::trafficrouting::{self, shared_routing_name};
use super::types::subject_name;
use super::workload::ScaledBy;
use super::{Config, Input, Workload, plan};
use crate::plan::rollout::RolloutAction;
use crate::plan::{Action, ActionKind, Held, PlanError, Requeue};
use crate::reconciler::{
    Context, Materialise, Outcome, PlannedWrite, ReconcileError, Reconciler, RelatedKind, World, WriteError,
};
use crate::write::{ApiWrite, Subresource, Target};

const fn kind(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
) -> RelatedKind {
    RelatedKind { group, version, kind, plural, namespaced: true }
}

/// What a Rollout reads besides itself: the workloads it can release (Kruise kinds and the
/// native `apps/v1` Deployment, with its ReplicaSets and canary Deployments), pods, its
/// BatchRelease, Services, Gateway API HTTPRoutes, Ingresses and shared TrafficRoutings.
pub const ROLLOUT_RELATED: &[RelatedKind] = &[
    kind("apps.kruise.io", "v1beta1", "CloneSet", "clonesets"),
    kind("apps.kruise.io", "v1beta1", "StatefulSet", "statefulsets"),
    kind("apps.kruise.io", "v1beta1", "DaemonSet", "daemonsets"),
    kind("apps", "v1", "Deployment", "deployments"),
    kind("apps", "v1", "ReplicaSet", "replicasets"),
    kind("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
    kind("", "v1", "Pod", "pods"),
    kind("rollouts.kruise.io", "v1beta1", "BatchRelease", "batchreleases"),
    kind("", "v1", "Service", "services"),
    kind("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"),
    kind("networking.k8s.io", "v1", "Ingress", "ingresses"),
    kind("rollouts.kruise.io", "v1alpha1", "TrafficRouting", "trafficroutings"),
];

/// What a shared TrafficRouting reads besides itself: its provider objects.
pub const TRAFFIC_ROUTING_RELATED: &[RelatedKind] = &[
    kind("", "v1", "Service", "services"),
    kind("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"),
    kind("networking.k8s.io", "v1", "Ingress", "ingresses"),
];

/// The identity of an observed object, as guarded writes need it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectMetaRef {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// `metadata.uid`.
    pub uid: Option<String>,
    /// `metadata.resourceVersion`.
    pub resource_version: Option<String>,
    /// `metadata.finalizers`.
    pub finalizers: Vec<String>,
    /// The uid of its controller (owner reference with `controller: true`).
    pub controller_uid: Option<String>,
}

impl ObjectMetaRef {
    fn of(api_version: &str, kind: &str, m: &ObjectMeta) -> Self {
        Self {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            name: m.name.clone().unwrap_or_default(),
            uid: m.uid.clone(),
            resource_version: m.resource_version.clone(),
            finalizers: m.finalizers.clone().unwrap_or_default(),
            controller_uid: controller_uid(m),
        }
    }
}

fn controller_uid(m: &ObjectMeta) -> Option<String> {
    m.owner_references.iter().flatten().find(|r| r.controller == Some(true)).map(|r| r.uid.clone())
}

/// One recorded traffic write, as stored in [`keys::ROLLOUT_TRAFFIC_WRITES`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct WriteRecord {
    object: String,
    item: String,
    at: String,
}

/// The traffic writes recorded on an object (RO-63). An unreadable record counts as none: the
/// worst it does is end a grace period early.
pub fn recorded_writes(m: &ObjectMeta) -> Vec<TrafficWrite> {
    let Some(text) = m.annotations.as_ref().and_then(|a| a.get(keys::ROLLOUT_TRAFFIC_WRITES)) else {
        return Vec::new();
    };
    let records: Vec<WriteRecord> = serde_json::from_str(text).unwrap_or_default();
    records
        .into_iter()
        .filter_map(|r| Some(TrafficWrite { object: r.object, item: r.item, at: r.at.parse().ok()? }))
        .collect()
}

/// The JSON of `records` merged with `new` (the latest per object and item), as stored.
fn merged_records(old: &[TrafficWrite], new: &[TrafficWrite]) -> String {
    let mut latest: BTreeMap<(String, String), Timestamp> = BTreeMap::new();
    for w in old.iter().chain(new) {
        let slot = latest.entry((w.object.clone(), w.item.clone())).or_insert(w.at);
        *slot = (*slot).max(w.at);
    }
    let records: Vec<WriteRecord> = latest
        .into_iter()
        .map(|((object, item), at)| WriteRecord { object, item, at: at.to_string() })
        .collect();
    serde_json::to_string(&records).unwrap_or_default()
}

/// The objects a Rollout reconcile reads, decoded from [`World::related`].
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// The workload's RO-20 facts.
    pub workload: Option<Workload>,
    /// The workload's pods (controlled by it).
    pub pods: Vec<Pod>,
    /// The BatchRelease named like the Rollout.
    pub batch_release: Option<BatchRelease>,
    /// The stable Service.
    pub stable_service: Option<Service>,
    /// The canary Service.
    pub canary_service: Option<Service>,
    /// The Gateway provider's HTTPRoute.
    pub http_route: Option<HttpRoute>,
    /// The Ingress provider's Ingress.
    pub ingress: Option<Ingress>,
    /// Its canary Ingress.
    pub canary_ingress: Option<Ingress>,
    /// The shared TrafficRouting.
    pub shared: Option<TrafficRouting>,
    /// The intent each provider object last applied (`Kind/name`).
    pub custom_applied: BTreeMap<String, RouteIntent>,
    /// The traffic writes recorded on the reconciled object.
    pub writes: Vec<TrafficWrite>,
    /// Identity of every decoded object, by `Kind/name`.
    pub metas: BTreeMap<String, ObjectMetaRef>,
}

fn str_at<'v>(v: &'v Value, path: &[&str]) -> &'v str {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(next) => cur = next,
            None => return "",
        }
    }
    cur.as_str().unwrap_or_default()
}

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// A `related` item that does not decode: its place, its subject and the field serde named.
fn bad_item(i: usize, subject: &str, e: impl std::fmt::Display) -> PlanError {
    PlanError::InvalidSpec { path: format!("related[{i}]").into(), message: format!("{subject}: {e}") }
}

fn decode<T: serde::de::DeserializeOwned>(i: usize, subject: &str, v: &Value) -> Result<T, PlanError> {
    T::deserialize(v).map_err(|e| bad_item(i, subject, e))
}

impl Observed {
    /// Decodes the objects `r` names from `related`: the workload (`spec.workloadRef`, a Kruise
    /// CloneSet, StatefulSet or DaemonSet in either version, or an `apps/v1` Deployment with
    /// its ReplicaSets and the release's canary Deployments) and the pods it controls
    /// (through the ReplicaSets for a Deployment), the
    /// BatchRelease named like the Rollout, the first traffic ref's Services (`service`,
    /// `<service>-canary`), HTTPRoute, Ingress (and `<ingress>-canary`), custom provider
    /// objects, and the shared TrafficRouting. Other objects are not looked at. A named object
    /// that does not decode is a [`PlanError::InvalidSpec`] at `related[i]`.
    pub fn decode(r: &Rollout, related: &[Value]) -> Result<Self, PlanError> {
        let wref = &r.spec.workload_ref;
        let name = r.metadata.name.clone().unwrap_or_default();
        let tr = r.spec.strategy.traffic_routings().first();
        let stable = tr.map(|t| t.service.clone()).unwrap_or_default();
        let route = tr.and_then(|t| t.gateway.as_ref()).and_then(|g| g.http_route_name.clone());
        let ingress = tr.and_then(|t| t.ingress.as_ref()).map(|i| i.name.clone());
        let customs: BTreeSet<String> = r
            .spec
            .strategy
            .traffic_routings()
            .iter()
            .flat_map(|t| t.custom_network_refs.iter().flatten())
            .map(super::types::subject_of)
            .collect();
        let shared = shared_routing_name(r);
        let mut o = Observed { writes: recorded_writes(&r.metadata), ..Observed::default() };
        let mut pods = Vec::new();
        let mut deployments = Vec::new();
        let mut replica_sets = Vec::new();
        let (mut hpas, mut hpa_at) = (Vec::new(), Vec::new());
        for (i, v) in related.iter().enumerate() {
            let (api_version, kind, n) =
                (str_at(v, &["apiVersion"]), str_at(v, &["kind"]), str_at(v, &["metadata", "name"]));
            let subject = format!("{kind}/{n}");
            let group = group_of(api_version);
            match (group, kind) {
                ("apps", "Deployment") => deployments.push((i, v)),
                ("apps", "ReplicaSet") => replica_sets.push((i, v)),
                ("autoscaling", "HorizontalPodAutoscaler") => {
                    hpa_at.push(i);
                    hpas.push(v.clone());
                }
                (_, _) if kind == wref.kind && n == wref.name && group == group_of(&wref.api_version) => {
                    let any = AnyResource::from_value(v.clone()).map_err(|e| bad_item(i, &subject, e))?;
                    let w = match any {
                        // Read in its own version: the workload patch follows the version's
                        // shape (a v1alpha1 CloneSet keeps `partition`/`paused` directly under
                        // `updateStrategy`, where the v1beta1 one nests them in `rollingUpdate`).
                        AnyResource::CloneSetV1alpha1(c) => Workload::from_cloneset_v1alpha1(&c),
                        AnyResource::CloneSetV1beta1(c) => Workload::from_cloneset(&c),
                        AnyResource::StatefulSetV1alpha1(s) => Workload::from_advanced_statefulset(
                            &kruise_api::convert::statefulset_to_v1beta1(&s),
                        ),
                        AnyResource::StatefulSetV1beta1(s) => Workload::from_advanced_statefulset(&s),
                        AnyResource::DaemonSetV1alpha1(d) => {
                            Workload::from_advanced_daemonset(&kruise_api::convert::daemonset_to_v1beta1(&d))
                        }
                        AnyResource::DaemonSetV1beta1(d) => Workload::from_advanced_daemonset(&d),
                        other => {
                            return Err(bad_item(
                                i,
                                &subject,
                                format!("a Rollout cannot release a {}", other.kind()),
                            ));
                        }
                    };
                    let meta: ObjectMeta = decode(i, &subject, &v["metadata"])?;
                    o.metas.insert(w.subject(), ObjectMetaRef::of(api_version, kind, &meta));
                    o.workload = Some(w);
                }
                ("", "Pod") => pods.push((i, v)),
                ("rollouts.kruise.io", "BatchRelease") if n == name => {
                    let br: BatchRelease = decode(i, &subject, v)?;
                    o.metas.insert(subject, ObjectMetaRef::of(api_version, kind, &br.metadata));
                    o.batch_release = Some(br);
                }
                ("", "Service") if !stable.is_empty() && (n == stable || n == format!("{stable}-canary")) => {
                    let s: Service = decode(i, &subject, v)?;
                    o.metas.insert(subject, ObjectMetaRef::of(api_version, kind, &s.metadata));
                    if n == stable {
                        o.stable_service = Some(s);
                    } else {
                        o.canary_service = Some(s);
                    }
                }
                ("gateway.networking.k8s.io", "HTTPRoute") if route.as_deref() == Some(n) => {
                    let h: HttpRoute = decode(i, &subject, v)?;
                    o.metas.insert(subject, ObjectMetaRef::of(api_version, kind, &h.metadata));
                    o.http_route = Some(h);
                }
                ("networking.k8s.io", "Ingress")
                    if ingress.as_deref().is_some_and(|g| n == g || n == format!("{g}-canary")) =>
                {
                    let g: Ingress = decode(i, &subject, v)?;
                    o.metas.insert(subject, ObjectMetaRef::of(api_version, kind, &g.metadata));
                    if ingress.as_deref() == Some(n) {
                        o.ingress = Some(g);
                    } else {
                        o.canary_ingress = Some(g);
                    }
                }
                ("rollouts.kruise.io", "TrafficRouting") if shared.as_deref() == Some(n) => {
                    let t: TrafficRouting = decode(i, &subject, v)?;
                    o.metas.insert(subject, ObjectMetaRef::of(api_version, kind, &t.metadata));
                    o.shared = Some(t);
                }
                _ if customs.contains(&subject) => {
                    o.observe_provider(i, &subject, v)?;
                }
                _ => {}
            }
        }
        // A native Deployment: its ReplicaSets and canary Deployments decide its facts.
        let mut owners: BTreeSet<String> = BTreeSet::new();
        if wref.kind == "Deployment" && group_of(&wref.api_version) == "apps" {
            o.decode_deployment(r, &deployments, &replica_sets, &mut owners)?;
        }
        // The HPA scaling the workload (blue-green disables it, RO-42).
        if let Some(w) = o.workload.as_mut() {
            let kind = w.kind.map_or("", |k| k.kind_name()).to_owned();
            w.hpa = ScaledBy::find(&hpas, &w.api_version, &kind, &w.name.clone());
            if let Some(h) = &w.hpa {
                let subject = format!("HorizontalPodAutoscaler/{}", h.name);
                let at = hpas.iter().position(|v: &Value| {
                    str_at(v, &["metadata", "name"]) == h.name && str_at(v, &["apiVersion"]) == h.api_version
                });
                let meta: ObjectMeta = match at {
                    Some(k) => decode(hpa_at[k], &subject, &hpas[k]["metadata"])?,
                    None => ObjectMeta::default(),
                };
                o.metas.insert(subject, ObjectMetaRef::of(&h.api_version, "HorizontalPodAutoscaler", &meta));
            }
        }
        // Pods last: the workload's uid picks them (for a Deployment: its ReplicaSets' and its
        // canary Deployments' ReplicaSets' uids).
        let wuid = o.workload.as_ref().and_then(|w| o.metas.get(&w.subject())).and_then(|m| m.uid.clone());
        owners.extend(wuid);
        if !owners.is_empty() {
            for (i, v) in pods {
                let owned = v["metadata"]["ownerReferences"].as_array().is_some_and(|refs| {
                    refs.iter().any(|r| {
                        r["controller"] == json!(true)
                            && r["uid"].as_str().is_some_and(|u| owners.contains(u))
                    })
                });
                if owned {
                    let p: Pod = decode(i, &format!("Pod/{}", str_at(v, &["metadata", "name"])), v)?;
                    o.pods.push(p);
                }
            }
        }
        o.pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        Ok(o)
    }

    /// RO-20 for an `apps/v1` Deployment target: decodes the Deployment the Rollout names,
    /// the ReplicaSets and the other Deployments of `related` (only those owned by it or by
    /// this release are kept, [`Workload::from_deployment_objects`]), records the identity of
    /// the Deployment and of every canary Deployment of the release, and collects into
    /// `owners` the uids of the ReplicaSets whose pods are the release's.
    fn decode_deployment(
        &mut self,
        r: &Rollout,
        deployments: &[(usize, &Value)],
        replica_sets: &[(usize, &Value)],
        owners: &mut BTreeSet<String>,
    ) -> Result<(), PlanError> {
        let wref = &r.spec.workload_ref;
        let mut target = None;
        let mut others = Vec::new();
        for (i, v) in deployments {
            let subject = format!("Deployment/{}", str_at(v, &["metadata", "name"]));
            let d: Deployment = decode(*i, &subject, v)?;
            if d.metadata.name.as_deref() == Some(wref.name.as_str()) {
                target = Some(d);
            } else if d.metadata.labels.as_ref().and_then(|l| l.get(keys::ROLLOUT_CANARY_DEPLOYMENT))
                == Some(&wref.name)
            {
                others.push(d);
            }
        }
        let Some(dep) = target else { return Ok(()) };
        let mut rss = Vec::new();
        for (i, v) in replica_sets {
            let subject = format!("ReplicaSet/{}", str_at(v, &["metadata", "name"]));
            rss.push(decode::<ReplicaSet>(*i, &subject, v)?);
        }
        let br_uid = self.batch_release.as_ref().and_then(|b| b.metadata.uid.clone());
        let w = Workload::from_deployment_objects(r, &dep, &rss, &others, br_uid.as_deref());
        self.metas.insert(w.subject(), ObjectMetaRef::of("apps/v1", "Deployment", &dep.metadata));
        let mut family: Vec<&Deployment> = vec![&dep];
        for d in &others {
            if d.metadata.name.as_ref().is_some_and(|n| w.canary_deployments.contains(n)) {
                let subject = format!("Deployment/{}", d.metadata.name.clone().unwrap_or_default());
                self.metas.insert(subject, ObjectMetaRef::of("apps/v1", "Deployment", &d.metadata));
                family.push(d);
            }
        }
        if let Some(stable) = &w.stable_replica_set
            && let Some(rs) = rss.iter().find(|rs| rs.metadata.name.as_ref() == Some(stable))
        {
            self.metas.insert(
                format!("ReplicaSet/{stable}"),
                ObjectMetaRef::of("apps/v1", "ReplicaSet", &rs.metadata),
            );
        }
        for rs in &rss {
            let ours = rs.metadata.owner_references.iter().flatten().any(|o| {
                o.controller == Some(true)
                    && o.kind == "Deployment"
                    && family.iter().any(|d| {
                        d.metadata.name.as_deref() == Some(o.name.as_str())
                            && d.metadata.uid.as_ref().is_none_or(|u| *u == o.uid)
                    })
            });
            if ours && let Some(uid) = &rs.metadata.uid {
                owners.insert(uid.clone());
            }
        }
        self.workload = Some(w);
        Ok(())
    }

    /// Records a provider object's identity and the intent it last applied.
    fn observe_provider(&mut self, i: usize, subject: &str, v: &Value) -> Result<(), PlanError> {
        let meta: ObjectMeta = decode(i, subject, &v["metadata"])?;
        if let Some(text) = meta.annotations.as_ref().and_then(|a| a.get(keys::ROLLOUT_ROUTE_INTENT)) {
            let intent: RouteIntent = serde_json::from_str(text).map_err(|e| {
                bad_item(i, subject, format!("metadata.annotations[{}]: {e}", keys::ROLLOUT_ROUTE_INTENT))
            })?;
            self.custom_applied.insert(subject.to_owned(), intent);
        }
        self.metas.insert(
            subject.to_owned(),
            ObjectMetaRef::of(str_at(v, &["apiVersion"]), str_at(v, &["kind"]), &meta),
        );
        Ok(())
    }

    /// The planner input over these objects.
    pub fn input<'a>(&'a self, rollout: &'a Rollout, now: Timestamp, config: Config) -> Input<'a> {
        Input {
            rollout,
            workload: self.workload.as_ref(),
            pods: &self.pods,
            batch_release: self.batch_release.as_ref(),
            traffic: TrafficObservation {
                stable_service: self.stable_service.as_ref(),
                canary_service: self.canary_service.as_ref(),
                http_route: self.http_route.as_ref(),
                ingress: self.ingress.as_ref(),
                canary_ingress: self.canary_ingress.as_ref(),
                custom_applied: Some(&self.custom_applied),
                shared: self.shared.as_ref(),
                writes: &self.writes,
            },
            now,
            config,
        }
    }
}

/// Turns the actions of one Rollout (or TrafficRouting) plan into guarded API writes.
#[derive(Debug)]
pub struct Writer<'a> {
    /// The reconciled object (`Rollout/name` or `TrafficRouting/name`).
    owner: ObjectMetaRef,
    namespace: String,
    observed: &'a Observed,
    now: Timestamp,
    /// The Rollout status to write (`UpdateStatus`).
    status: Value,
    /// Objects already written by this plan (later writes chain on them).
    written: BTreeSet<Target>,
    /// The finalizer lists as this plan leaves them, per subject.
    finalizers: BTreeMap<String, Vec<String>>,
    /// The traffic writes of this plan (RO-63).
    traffic: Vec<TrafficWrite>,
}

impl<'a> Writer<'a> {
    /// A writer for the plan of `owner` (its identity), in `namespace`, over `observed`.
    pub fn new(
        owner: ObjectMetaRef,
        namespace: &str,
        observed: &'a Observed,
        now: Timestamp,
        status: Value,
    ) -> Self {
        Self {
            owner,
            namespace: namespace.to_owned(),
            observed,
            now,
            status,
            written: BTreeSet::new(),
            finalizers: BTreeMap::new(),
            traffic: Vec::new(),
        }
    }

    fn owner_subject(&self) -> String {
        format!("{}/{}", self.owner.kind, self.owner.name)
    }

    fn meta_of(&self, a: &Action, subject: &str) -> Result<&ObjectMetaRef, WriteError> {
        if subject == self.owner_subject() {
            return Ok(&self.owner);
        }
        self.observed.metas.get(subject).ok_or_else(|| WriteError::new(a, "the object is not observed"))
    }

    fn target(&self, m: &ObjectMetaRef) -> Target {
        Target::namespaced(&m.api_version, &m.kind, &self.namespace, &m.name)
    }

    /// The guard of a write to `m`: its uid, and its resourceVersion unless an earlier write of
    /// this plan addressed it (then the adapter chains on that write's result).
    fn guard(&mut self, m: &ObjectMetaRef) -> Map<String, Value> {
        let target = self.target(m);
        let mut meta = Map::new();
        if let Some(uid) = &m.uid {
            meta.insert("uid".into(), json!(uid));
        }
        if !self.written.contains(&target)
            && let Some(rv) = &m.resource_version
        {
            meta.insert("resourceVersion".into(), json!(rv));
        }
        self.written.insert(target);
        meta
    }

    fn controller_ref(&self) -> OwnerReference {
        OwnerReference {
            api_version: self.owner.api_version.clone(),
            kind: self.owner.kind.clone(),
            name: self.owner.name.clone(),
            uid: self.owner.uid.clone().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    /// The observed BatchRelease named like the Rollout, if this Rollout controls it (what a
    /// canary Deployment is created under and deleted through).
    fn release_meta(&self, a: &Action) -> Result<ObjectMetaRef, WriteError> {
        let m = self
            .observed
            .metas
            .get(&format!("BatchRelease/{}", self.owner.name))
            .ok_or_else(|| WriteError::new(a, "the BatchRelease is not observed"))?;
        if m.controller_uid.is_none() || m.controller_uid != self.owner.uid {
            return Err(WriteError::new(
                a,
                format!("BatchRelease/{} is not controlled by {}", m.name, self.owner_subject()),
            ));
        }
        Ok(m.clone())
    }

    /// Deletes only what this Rollout controls.
    fn owned_delete(&mut self, a: &Action, m: &ObjectMetaRef) -> Result<ApiWrite, WriteError> {
        if m.controller_uid.is_none() || m.controller_uid != self.owner.uid {
            return Err(WriteError::new(a, format!("not controlled by {}", self.owner_subject())));
        }
        self.written.insert(self.target(m));
        Ok(ApiWrite::Delete { target: self.target(m), uid: m.uid.clone() })
    }

    fn create(&mut self, api_version: &str, kind: &str, mut object: Value) -> ApiWrite {
        let name = str_at(&object, &["metadata", "name"]).to_owned();
        if let Value::Object(o) = &mut object {
            o.insert("apiVersion".into(), json!(api_version));
            o.insert("kind".into(), json!(kind));
            let meta = o.entry("metadata").or_insert_with(|| json!({}));
            meta["namespace"] = json!(self.namespace);
            meta["ownerReferences"] = json!([self.controller_ref()]);
            if let Some(m) = meta.as_object_mut() {
                for k in ["uid", "resourceVersion", "creationTimestamp", "generation"] {
                    m.remove(k);
                }
            }
        }
        let target = Target::namespaced(api_version, kind, &self.namespace, &name);
        self.written.insert(target.clone());
        ApiWrite::Create { target, object }
    }

    fn patch(&mut self, m: &ObjectMetaRef, mut body: Map<String, Value>) -> ApiWrite {
        let mut meta = self.guard(m);
        if let Some(Value::Object(extra)) = body.remove("metadata") {
            meta.extend(extra);
        }
        body.insert("metadata".into(), Value::Object(meta));
        ApiWrite::MergePatch {
            target: self.target(m),
            subresource: Subresource::Main,
            patch: Value::Object(body),
        }
    }

    fn record(&mut self, a: &Action) {
        let object = a.object.as_ref().map(subject_name).unwrap_or_default();
        self.traffic.push(TrafficWrite { object, item: a.reason.kind().to_owned(), at: self.now });
    }

    /// Appends the writes that carry out `a`, in order, or says why it cannot.
    fn build(&mut self, a: &Action, out: &mut Vec<ApiWrite>) -> Result<(), WriteError> {
        let subject = a.object.as_ref().map(subject_name).unwrap_or_default();
        let opt = |m: &BTreeMap<String, Option<String>>| -> Value {
            Value::Object(
                m.iter().map(|(k, v)| (k.clone(), v.as_ref().map_or(Value::Null, |s| json!(s)))).collect(),
            )
        };
        match &a.kind {
            ActionKind::UpdateStatus => {
                let owner = self.owner.clone();
                let meta = self.guard(&owner);
                let mut meta = Value::Object(meta);
                meta["name"] = json!(owner.name);
                meta["namespace"] = json!(self.namespace);
                let object = json!({
                    "apiVersion": owner.api_version, "kind": owner.kind,
                    "metadata": meta, "status": self.status,
                });
                out.push(ApiWrite::Replace {
                    target: self.target(&owner),
                    subresource: Subresource::Status,
                    object,
                });
            }
            ActionKind::PatchPod { patch } => {
                let pod = a.pod.as_deref().unwrap_or_default();
                let p = self
                    .observed
                    .pods
                    .iter()
                    .find(|p| p.metadata.name.as_deref() == Some(pod))
                    .ok_or_else(|| WriteError::new(a, "the pod is not observed"))?;
                let m = ObjectMetaRef::of("v1", "Pod", &p.metadata);
                let mut body = Map::new();
                body.insert("metadata".into(), json!({ "labels": opt(&patch.labels) }));
                if !patch.annotations.is_empty() {
                    body["metadata"]["annotations"] = opt(&patch.annotations);
                }
                out.push(self.patch(&m, body));
            }
            ActionKind::Rollout(ra) => self.rollout_writes(a, ra, &subject, out)?,
            _ => return Err(WriteError::new(a, "not an action a Rollout plan makes")),
        }
        Ok(())
    }

    fn rollout_writes(
        &mut self,
        a: &Action,
        ra: &RolloutAction,
        subject: &str,
        out: &mut Vec<ApiWrite>,
    ) -> Result<(), WriteError> {
        let opt = |m: &BTreeMap<String, Option<String>>| -> Value {
            Value::Object(
                m.iter().map(|(k, v)| (k.clone(), v.as_ref().map_or(Value::Null, |s| json!(s)))).collect(),
            )
        };
        let (kind, name) = subject.split_once('/').unwrap_or(("", subject));
        match ra {
            RolloutAction::PatchRolloutAnnotations { annotations } => {
                let m = self.meta_of(a, subject)?.clone();
                let mut body = Map::new();
                body.insert("metadata".into(), json!({ "annotations": opt(annotations) }));
                // Annotations merge key by key: the uid is guard enough.
                self.written.insert(self.target(&m));
                out.push(self.patch(&m, body));
            }
            RolloutAction::RecordTrafficWrites => {
                return Err(WriteError::new(
                    a,
                    "the reconciler records traffic writes itself, after the plan",
                ));
            }
            RolloutAction::AddFinalizer { finalizer } | RolloutAction::RemoveFinalizer { finalizer } => {
                let m = self.meta_of(a, subject)?.clone();
                let list = self.finalizers.entry(subject.to_owned()).or_insert_with(|| m.finalizers.clone());
                if matches!(ra, RolloutAction::AddFinalizer { .. }) {
                    if !list.contains(finalizer) {
                        list.push(finalizer.clone());
                    }
                } else {
                    list.retain(|f| f != finalizer);
                }
                let list = list.clone();
                let mut body = Map::new();
                body.insert("metadata".into(), json!({ "finalizers": list }));
                out.push(self.patch(&m, body));
            }
            RolloutAction::CreateBatchRelease { spec, annotations } => {
                let object = json!({
                    "metadata": {"name": name, "annotations": annotations},
                    "spec": &**spec,
                });
                out.push(self.create("rollouts.kruise.io/v1beta1", "BatchRelease", object));
            }
            RolloutAction::UpdateBatchRelease { spec, annotations } => {
                let m = self.meta_of(a, subject)?.clone();
                let br =
                    self.observed.batch_release.as_ref().ok_or_else(|| WriteError::new(a, "not observed"))?;
                let mut obj = br.clone();
                obj.spec = (**spec).clone();
                obj.metadata.annotations = (!annotations.is_empty()).then(|| annotations.clone());
                obj.status = None;
                let mut object = serde_json::to_value(&obj).unwrap_or_default();
                let guard = self.guard(&m);
                if !guard.contains_key("resourceVersion")
                    && let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut)
                {
                    meta.remove("resourceVersion");
                }
                out.push(ApiWrite::Replace {
                    target: self.target(&m),
                    subresource: Subresource::Main,
                    object,
                });
            }
            RolloutAction::UpdateBatchReleaseStatus { status } => {
                // The BatchRelease created by this very plan is seen on the next pass.
                let Some(m) = self.observed.metas.get(subject).cloned() else { return Ok(()) };
                let guard = self.guard(&m);
                let mut meta = Value::Object(guard);
                meta["name"] = json!(m.name);
                meta["namespace"] = json!(self.namespace);
                let object = json!({
                    "apiVersion": m.api_version, "kind": m.kind, "metadata": meta, "status": &**status,
                });
                out.push(ApiWrite::Replace {
                    target: self.target(&m),
                    subresource: Subresource::Status,
                    object,
                });
            }
            RolloutAction::DeleteBatchRelease
            | RolloutAction::DeleteService
            | RolloutAction::DeleteIngress => {
                let m = self.meta_of(a, subject)?.clone();
                out.push(self.owned_delete(a, &m)?);
                if !matches!(ra, RolloutAction::DeleteBatchRelease) {
                    self.record(a);
                }
            }
            RolloutAction::PatchWorkload { patch } => {
                let w = self
                    .observed
                    .workload
                    .as_ref()
                    .filter(|w| {
                        w.subject() == subject
                            || (kind == "Deployment" && w.canary_deployments.iter().any(|c| c == name))
                            || (kind == "ReplicaSet" && w.stable_replica_set.as_deref() == Some(name))
                    })
                    .ok_or_else(|| {
                        WriteError::new(
                            a,
                            "only the observed workload, its canary Deployment or its stable ReplicaSet is patched",
                        )
                    })?;
                let m = self.meta_of(a, subject)?.clone();
                let Value::Object(body) = patch.to_merge_patch(kind, &w.api_version) else {
                    return Err(WriteError::new(a, "the patch is not an object"));
                };
                out.push(self.patch(&m, body));
            }
            RolloutAction::CreateDeployment { deployment } => {
                // The canary Deployment is controlled by the BatchRelease (RO-42), which this
                // Rollout controls.
                let br = self.release_meta(a)?;
                let mut object = serde_json::to_value(&**deployment).unwrap_or_default();
                let target = Target::namespaced("apps/v1", "Deployment", &self.namespace, name);
                if let Value::Object(o) = &mut object {
                    o.insert("apiVersion".into(), json!("apps/v1"));
                    o.insert("kind".into(), json!("Deployment"));
                    let meta = o.entry("metadata").or_insert_with(|| json!({}));
                    meta["namespace"] = json!(self.namespace);
                    meta["ownerReferences"] = json!([{
                        "apiVersion": br.api_version, "kind": br.kind, "name": br.name,
                        "uid": br.uid.clone().unwrap_or_default(),
                        "controller": true, "blockOwnerDeletion": true,
                    }]);
                }
                self.written.insert(target.clone());
                out.push(ApiWrite::Create { target, object });
            }
            RolloutAction::DeleteDeployment => {
                let br = self.release_meta(a)?;
                let m = self.meta_of(a, subject)?.clone();
                if m.controller_uid.is_none() || m.controller_uid != br.uid {
                    return Err(WriteError::new(a, format!("not controlled by BatchRelease/{}", br.name)));
                }
                self.written.insert(self.target(&m));
                out.push(ApiWrite::Delete { target: self.target(&m), uid: m.uid.clone() });
            }
            RolloutAction::SetScaleTargetRef { api_version, kind: target_kind, name: target } => {
                let m = self.meta_of(a, subject)?.clone();
                let mut body = Map::new();
                body.insert(
                    "spec".into(),
                    json!({"scaleTargetRef": {"apiVersion": api_version, "kind": target_kind, "name": target}}),
                );
                out.push(self.patch(&m, body));
            }
            RolloutAction::PatchServiceSelector { selector } => {
                let m = self.meta_of(a, subject)?.clone();
                let mut body = Map::new();
                body.insert("spec".into(), json!({ "selector": opt(selector) }));
                out.push(self.patch(&m, body));
                self.record(a);
            }
            RolloutAction::CreateService { service } => {
                let object = serde_json::to_value(&**service).unwrap_or_default();
                out.push(self.create("v1", "Service", object));
                self.record(a);
            }
            RolloutAction::SetHttpRouteRules { rules } => {
                let m = self.meta_of(a, subject)?.clone();
                let mut body = Map::new();
                body.insert("spec".into(), json!({ "rules": &**rules }));
                out.push(self.patch(&m, body));
                self.record(a);
            }
            RolloutAction::CreateIngress { ingress } => {
                let object = serde_json::to_value(&**ingress).unwrap_or_default();
                out.push(self.create("networking.k8s.io/v1", "Ingress", object));
                self.record(a);
            }
            RolloutAction::PatchIngressAnnotations { annotations } => {
                let m = self.meta_of(a, subject)?.clone();
                let mut body = Map::new();
                body.insert("metadata".into(), json!({ "annotations": opt(annotations) }));
                out.push(self.patch(&m, body));
                self.record(a);
            }
            RolloutAction::ApplyRouteIntent { intent } => {
                let m = self.meta_of(a, subject)?.clone();
                let text = serde_json::to_string(intent).unwrap_or_default();
                let mut body = Map::new();
                body.insert(
                    "metadata".into(),
                    json!({ "annotations": { keys::ROLLOUT_ROUTE_INTENT: text } }),
                );
                out.push(self.patch(&m, body));
                self.record(a);
            }
        }
        Ok(())
    }

    /// The last write of a plan: the traffic writes of this plan recorded on the reconciled
    /// object (RO-63), if there were any.
    pub fn finish(&mut self, old: &[TrafficWrite], out: &mut Vec<ApiWrite>) {
        if self.traffic.is_empty() {
            return;
        }
        let owner = self.owner.clone();
        let text = merged_records(old, &self.traffic);
        let mut meta = Map::new();
        if let Some(uid) = &owner.uid {
            meta.insert("uid".into(), json!(uid));
        }
        meta.insert("annotations".into(), json!({ keys::ROLLOUT_TRAFFIC_WRITES: text }));
        out.push(ApiWrite::MergePatch {
            target: self.target(&owner),
            subresource: Subresource::Main,
            patch: json!({ "metadata": meta }),
        });
    }
}

impl Materialise for Writer<'_> {
    fn writes(&mut self, a: &Action, out: &mut Vec<ApiWrite>) -> Result<(), WriteError> {
        self.build(a, out)
    }
}

/// The adapter's view of a plan's actions, held entries and requeue: each action's writes
/// through the [`Writer`] ([`Materialise`]), then the record of this pass's traffic writes
/// (RO-63) as one more action when there were any.
fn outcome(
    actions: &[Action],
    held: &[Held],
    requeue: Option<&Requeue>,
    w: &mut Writer<'_>,
    old_writes: &[TrafficWrite],
) -> Result<Outcome, WriteError> {
    let mut plan = crate::plan::Plan::new(());
    plan.actions = actions.to_vec();
    plan.held = held.to_vec();
    plan.requeue = requeue.cloned();
    let mut out = Outcome::from_plan(&plan, w)?;
    let mut buf = Vec::new();
    w.finish(old_writes, &mut buf);
    if !buf.is_empty() {
        let action = Action::on_object(
            ActionKind::Rollout(RolloutAction::RecordTrafficWrites),
            crate::plan::ObjectRef::new(&w.owner.kind, &w.owner.name),
            crate::plan::Reason::StatusChanged,
        );
        out.writes.extend(buf.drain(..).map(|write| PlannedWrite { action: action.clone(), write }));
    }
    Ok(out)
}

fn err(e: impl std::error::Error + Send + Sync + 'static) -> ReconcileError {
    ReconcileError(Box::new(e))
}

/// The Rollout planner as adapters see it (v1beta1 Rollouts; adapters convert v1alpha1).
#[derive(Clone, Copy, Debug, Default)]
pub struct RolloutReconciler {
    /// Controller flags and gates.
    pub config: Config,
}

impl Reconciler for RolloutReconciler {
    type Workload = Rollout;

    fn reconcile(&self, world: &World<'_, Rollout>, ctx: &Context<'_>) -> Result<Outcome, ReconcileError> {
        let r = world.workload;
        let observed = Observed::decode(r, world.related).map_err(err)?;
        let input = observed.input(r, ctx.now, self.config);
        let p = plan(&input).map_err(err)?;
        let owner =
            ObjectMetaRef::of(<Rollout as k8s_openapi::Resource>::API_VERSION, "Rollout", &r.metadata);
        let status = serde_json::to_value(&p.status).unwrap_or_default();
        let ns = r.metadata.namespace.clone().unwrap_or_default();
        let mut w = Writer::new(owner, &ns, &observed, ctx.now, status);
        outcome(&p.actions, &p.held, p.requeue.as_ref(), &mut w, &observed.writes).map_err(err)
    }

    fn related_kinds(&self) -> &'static [RelatedKind] {
        ROLLOUT_RELATED
    }
}

/// The shared TrafficRouting's own pass (RO-64..RO-66) as adapters see it: its phase, its
/// finalizer, and the route intents applied to its provider objects as data.
#[derive(Clone, Copy, Debug, Default)]
pub struct TrafficRoutingReconciler;

impl Reconciler for TrafficRoutingReconciler {
    type Workload = TrafficRouting;

    fn reconcile(
        &self,
        world: &World<'_, TrafficRouting>,
        ctx: &Context<'_>,
    ) -> Result<Outcome, ReconcileError> {
        let tr = world.workload;
        let providers: BTreeSet<String> =
            tr.spec.object_ref.iter().flat_map(super::traffic::provider_objects).collect();
        let stable = tr.spec.object_ref.first().map(|r| format!("Service/{}", r.service));
        let mut observed = Observed { writes: recorded_writes(&tr.metadata), ..Observed::default() };
        for (i, v) in world.related.iter().enumerate() {
            let subject = format!("{}/{}", str_at(v, &["kind"]), str_at(v, &["metadata", "name"]));
            if providers.contains(&subject) {
                observed.observe_provider(i, &subject, v).map_err(err)?;
            } else if stable.as_deref() == Some(subject.as_str()) {
                let s: Service = decode(i, &subject, v).map_err(err)?;
                observed.stable_service = Some(s);
            }
        }
        let obs = TrafficObservation {
            stable_service: observed.stable_service.as_ref(),
            custom_applied: Some(&observed.custom_applied),
            writes: &observed.writes,
            ..TrafficObservation::default()
        };
        let p = trafficrouting::plan(tr, &obs, ctx.now);
        let mut actions = p.actions.clone();
        if tr.status.as_ref() != Some(&p.status) {
            let subject = format!("TrafficRouting/{}", tr.metadata.name.as_deref().unwrap_or_default());
            actions.push(Action::on_object(
                ActionKind::UpdateStatus,
                super::types::object_ref(&subject),
                crate::plan::Reason::StatusChanged,
            ));
        }
        let owner = ObjectMetaRef::of(
            <TrafficRouting as k8s_openapi::Resource>::API_VERSION,
            "TrafficRouting",
            &tr.metadata,
        );
        let status = serde_json::to_value(&p.status).unwrap_or_default();
        let ns = tr.metadata.namespace.clone().unwrap_or_default();
        let mut w = Writer::new(owner, &ns, &observed, ctx.now, status);
        outcome(&actions, &p.held, p.requeue.as_ref(), &mut w, &observed.writes).map_err(err)
    }

    fn related_kinds(&self) -> &'static [RelatedKind] {
        TRAFFIC_ROUTING_RELATED
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expectations::Expectations;
    use crate::plan::{ObjectRef, Reason};
    use crate::rollout::RolloutReason;

    fn ctx(e: &Expectations, now: i64) -> Context<'_> {
        Context {
            now: Timestamp::from_second(1_767_225_600 + now).unwrap_or(Timestamp::UNIX_EPOCH),
            id_seed: 0,
            features: Default::default(),
            expectations: e,
        }
    }

    fn rollout() -> Rollout {
        let mut r = crate::rollout::fixtures::example_rollout(true);
        r.metadata.uid = Some("ro-uid".into());
        r.metadata.resource_version = Some("3".into());
        r
    }

    /// A settled CloneSet `web` (v1beta1, as stored), 4 replicas on `web-aaa`; with
    /// `release`, the template moved to `web-bbb` and the workload webhook froze it (RO-19).
    fn cloneset(release: bool) -> Value {
        let mut cs = json!({
            "apiVersion": "apps.kruise.io/v1beta1", "kind": "CloneSet",
            "metadata": {"name": "web", "namespace": "default", "uid": "cs-uid", "resourceVersion": "7", "generation": 1},
            "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "a"}]}}},
            "status": {"observedGeneration": 1, "replicas": 4, "updatedReplicas": 4, "updatedReadyReplicas": 4,
                       "readyReplicas": 4, "availableReplicas": 4,
                       "currentRevision": "web-aaa", "updateRevision": "web-aaa"}
        });
        if release {
            cs["metadata"]["generation"] = json!(2);
            cs["metadata"]["annotations"] =
                json!({(keys::ROLLOUT_IN_PROGRESSING): r#"{"rolloutName":"web"}"#});
            cs["spec"]["updateStrategy"] = json!({"rollingUpdate": {"partition": "100%"}});
            cs["status"]["observedGeneration"] = json!(2);
            cs["status"]["updateRevision"] = json!("web-bbb");
            cs["status"]["updatedReplicas"] = json!(0);
            cs["status"]["updatedReadyReplicas"] = json!(0);
        }
        cs
    }

    fn related(release: bool) -> Vec<Value> {
        let mut v = vec![
            cloneset(release),
            json!({"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "web", "namespace": "default", "uid": "svc-uid", "resourceVersion": "5"},
                   "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
            json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                   "metadata": {"name": "web", "namespace": "default", "uid": "rt-uid", "resourceVersion": "6"},
                   "spec": {"rules": [{"backendRefs": [{"kind": "Service", "name": "web", "port": 80}]}]}}),
        ];
        for i in 0..4 {
            v.push(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("web-{i}"), "namespace": "default", "uid": format!("pod-{i}"),
                             "labels": {"app": "web", (keys::POD_TEMPLATE_HASH): "aaa"},
                             "ownerReferences": [{"apiVersion": "apps.kruise.io/v1beta1", "kind": "CloneSet",
                                                  "name": "web", "uid": "cs-uid", "controller": true}]},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]}}));
        }
        v
    }

    /// A minimal API store for the outcome's writes: merge patches, status replaces, creates,
    /// deletes; uids and resourceVersions as the server gives them.
    fn apply(objs: &mut Vec<Value>, rollout: &mut Value, w: &ApiWrite, rv: &mut u64) {
        *rv += 1;
        let t = w.target();
        let find = |objs: &mut Vec<Value>| {
            objs.iter()
                .position(|o| str_at(o, &["kind"]) == t.kind && str_at(o, &["metadata", "name"]) == t.name)
        };
        let is_rollout = t.kind == "Rollout";
        match w {
            ApiWrite::Create { object, .. } => {
                let mut o = object.clone();
                o["metadata"]["uid"] = json!(format!("uid-{rv}"));
                o["metadata"]["resourceVersion"] = json!(rv.to_string());
                objs.push(o);
            }
            ApiWrite::Delete { .. } => {
                if let Some(i) = find(objs) {
                    objs.remove(i);
                }
            }
            ApiWrite::MergePatch { patch, .. } | ApiWrite::Replace { object: patch, .. } => {
                let target = if is_rollout { Some(rollout) } else { find(objs).map(|i| &mut objs[i]) };
                let Some(target) = target else { return };
                let mut p = patch.clone();
                if let Some(m) = p.get_mut("metadata").and_then(Value::as_object_mut) {
                    m.remove("resourceVersion");
                }
                kruise_api::merge_patch::apply(target, &p);
                target["metadata"]["resourceVersion"] = json!(rv.to_string());
            }
            ApiWrite::JsonPatch { patch, .. } => {
                let target = if is_rollout { Some(rollout) } else { find(objs).map(|i| &mut objs[i]) };
                let Some(target) = target else { return };
                crate::write::json_patch::apply(target, patch).expect("the guards hold in this test world");
                target["metadata"]["resourceVersion"] = json!(rv.to_string());
            }
        }
    }

    /// RO-67: the objects come as stored JSON; the plan's writes on the workload are merge
    /// patches guarded by its uid and the resourceVersion they were computed from.
    #[test]
    fn ro_67_reconciler_releases_a_cloneset_with_guarded_workload_patches() {
        let e = Expectations::default();
        let mut rv = 100;
        let mut r = serde_json::to_value(rollout()).unwrap();
        let mut objs = related(false);
        // Healthy first, then the release.
        for t in 0..6 {
            let typed: Rollout = serde_json::from_value(r.clone()).unwrap();
            let out = RolloutReconciler::default()
                .reconcile(&World::new(&typed).with_related(&objs), &ctx(&e, t))
                .unwrap();
            for w in &out.writes {
                apply(&mut objs, &mut r, &w.write, &mut rv);
            }
        }
        assert_eq!(r["status"]["phase"], "Healthy", "{r}");
        objs[0] = cloneset(true);
        let mut patches = Vec::new();
        for t in 10..40 {
            let typed: Rollout = serde_json::from_value(r.clone()).unwrap();
            let out = RolloutReconciler::default()
                .reconcile(&World::new(&typed).with_related(&objs), &ctx(&e, t))
                .unwrap();
            for w in &out.writes {
                if w.name() == "PatchWorkload" {
                    patches.push(w.write.clone());
                }
                apply(&mut objs, &mut r, &w.write, &mut rv);
            }
        }
        assert_eq!(r["status"]["phase"], "Progressing", "{r}");
        let first = patches.first().expect("the workload is patched");
        let ApiWrite::MergePatch { target, patch, .. } = first else { panic!("{first:?}") };
        assert_eq!((target.kind.as_str(), target.name.as_str()), ("CloneSet", "web"));
        assert_eq!(patch["metadata"]["uid"], "cs-uid");
        assert!(patch["metadata"]["resourceVersion"].is_string(), "{patch}");
        // The BatchRelease the plan created is controlled by the Rollout.
        let br = objs.iter().find(|o| o["kind"] == "BatchRelease").expect("batch release");
        assert_eq!(br["metadata"]["ownerReferences"][0]["uid"], "ro-uid");
        assert_eq!(br["metadata"]["ownerReferences"][0]["controller"], true);
    }

    /// A released native Deployment `web` (paused by RO-19 with template `b`), its stable
    /// ReplicaSet `web-aaa` and that ReplicaSet's 4 pods; no traffic.
    fn deployment_objects() -> Vec<Value> {
        let mut v = vec![
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "default", "uid": "dep-uid", "resourceVersion": "7", "generation": 2,
                             "labels": {(keys::ROLLOUT_STABLE_REVISION): "aaa"},
                             "annotations": {(keys::ROLLOUT_IN_PROGRESSING): r#"{"rolloutName":"web"}"#}},
                "spec": {"replicas": 4, "paused": true, "selector": {"matchLabels": {"app": "web"}},
                         "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "b"}]}}},
                "status": {"observedGeneration": 2, "replicas": 4, "updatedReplicas": 0, "readyReplicas": 4, "availableReplicas": 4}}),
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": "web-aaa", "namespace": "default", "uid": "rs-uid", "creationTimestamp": "2026-01-01T00:00:00Z",
                             "labels": {"app": "web", (keys::POD_TEMPLATE_HASH): "aaa"},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "dep-uid", "controller": true}]},
                "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                         "template": {"metadata": {"labels": {"app": "web", (keys::POD_TEMPLATE_HASH): "aaa"}}, "spec": {"containers": [{"name": "c", "image": "a"}]}}},
                "status": {"replicas": 4, "readyReplicas": 4}}),
        ];
        for i in 0..4 {
            v.push(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("web-aaa-{i}"), "namespace": "default", "uid": format!("pod-{i}"),
                             "labels": {"app": "web", (keys::POD_TEMPLATE_HASH): "aaa"},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-aaa", "uid": "rs-uid", "controller": true}]},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]}}));
        }
        v
    }

    /// RO-42/RO-15 through the adapter: an `apps/v1` Deployment target is decoded with its
    /// ReplicaSets; the claim creates the canary Deployment controlled by the BatchRelease
    /// (which the Rollout controls), and the first batch scales that canary Deployment, never
    /// the stable one; its pods are found through their ReplicaSet.
    #[test]
    fn ro_42_reconciler_creates_and_scales_the_canary_deployment() {
        let e = Expectations::default();
        let mut rv = 100;
        let mut typed = rollout();
        typed.spec.workload_ref.api_version = "apps/v1".into();
        typed.spec.workload_ref.kind = "Deployment".into();
        let c = typed.spec.strategy.canary.as_mut().unwrap();
        c.enable_extra_workload_for_canary = true;
        c.traffic_routings.clear();
        for s in &mut c.steps {
            s.traffic = None;
        }
        let mut r = serde_json::to_value(&typed).unwrap();
        r["status"] = json!({"phase": "Healthy"});
        let mut objs = deployment_objects();
        let observed = Observed::decode(&typed, &objs).unwrap();
        assert_eq!(observed.pods.len(), 4, "pods found through the ReplicaSet");
        assert_eq!(observed.workload.as_ref().map(|w| w.stable_revision.as_str()), Some("aaa"));
        let (mut created, mut scaled) = (None, None);
        for t in 0..60 {
            let typed: Rollout = serde_json::from_value(r.clone()).unwrap();
            let out = RolloutReconciler::default()
                .reconcile(&World::new(&typed).with_related(&objs), &ctx(&e, t * 3))
                .unwrap();
            for w in &out.writes {
                if w.name() == "CreateDeployment" {
                    created = Some(w.write.clone());
                }
                if w.name() == "PatchWorkload" && w.write.target().name != "web" {
                    scaled = Some(w.write.clone());
                }
                assert!(
                    !(w.write.target().name == "web"
                        && matches!(&w.write, ApiWrite::MergePatch { patch, .. } if patch["spec"].get("replicas").is_some())),
                    "the stable Deployment is never scaled: {:?}",
                    w.write
                );
                apply(&mut objs, &mut r, &w.write, &mut rv);
            }
            if let Some(ApiWrite::Create { object, .. }) = &created
                && !objs.iter().any(|o| o["metadata"]["name"] == "web-canary-rs")
            {
                // The Deployment controller: the canary Deployment's ReplicaSet, observed status.
                let name = object["metadata"]["name"].as_str().unwrap().to_owned();
                let uid =
                    objs.iter().find(|o| o["metadata"]["name"] == json!(name)).unwrap()["metadata"]["uid"]
                        .clone();
                objs.push(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": "web-canary-rs", "uid": "crs-uid", "labels": {(keys::POD_TEMPLATE_HASH): "ccc"},
                                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": uid, "controller": true}]},
                    "spec": {"replicas": 0}}));
            }
            if scaled.is_some() {
                break;
            }
        }
        let Some(ApiWrite::Create { target, object }) = created else {
            panic!("no canary Deployment created")
        };
        assert_eq!((target.api_version.as_str(), target.kind.as_str()), ("apps/v1", "Deployment"));
        let br = objs.iter().find(|o| o["kind"] == "BatchRelease").unwrap();
        let owner = &object["metadata"]["ownerReferences"][0];
        assert_eq!(
            (owner["kind"].as_str(), owner["uid"].clone()),
            (Some("BatchRelease"), br["metadata"]["uid"].clone())
        );
        assert_eq!(object["spec"]["replicas"], 0);
        let Some(ApiWrite::MergePatch { target: st, patch, .. }) = scaled else { panic!("not scaled") };
        assert_eq!(st.name, target.name);
        assert_eq!(patch["spec"]["replicas"], 1);
        assert!(patch["metadata"]["uid"].is_string(), "{patch}");
    }

    /// RO-42: the HPA scaling the workload is found among the related objects and disabled
    /// with a merge patch of its `scaleTargetRef`, guarded by its uid and resourceVersion.
    #[test]
    fn ro_42_reconciler_finds_and_patches_the_hpa() {
        let mut typed = rollout();
        typed.spec.workload_ref.api_version = "apps/v1".into();
        typed.spec.workload_ref.kind = "Deployment".into();
        let mut objs = deployment_objects();
        objs.push(json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web-hpa", "namespace": "default", "uid": "hpa-uid", "resourceVersion": "9"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 9}}));
        let observed = Observed::decode(&typed, &objs).unwrap();
        let hpa = observed.workload.as_ref().and_then(|w| w.hpa.clone()).expect("hpa");
        // The stable ReplicaSet (by the stable-revision label) is known and patchable.
        let rs_action = Action::on_object(
            ActionKind::Rollout(RolloutAction::PatchWorkload {
                patch: crate::rollout::types::Obj::new(crate::rollout::WorkloadPatch {
                    min_ready_seconds: Some(7),
                    ..Default::default()
                }),
            }),
            ObjectRef::new("ReplicaSet", "web-aaa"),
            Reason::Claim,
        );
        let mut rs_out = Vec::new();
        writer_for(&observed).writes(&rs_action, &mut rs_out).unwrap();
        let [ApiWrite::MergePatch { patch: rs_patch, .. }] = &rs_out[..] else { panic!("{rs_out:?}") };
        assert_eq!(
            (rs_patch["spec"]["minReadySeconds"].as_i64(), rs_patch["metadata"]["uid"].as_str()),
            (Some(7), Some("rs-uid"))
        );
        assert_eq!((hpa.name.as_str(), hpa.target_name.as_str()), ("web-hpa", "web"));
        let action = Action::on_object(
            ActionKind::Rollout(RolloutAction::SetScaleTargetRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                name: "web-DisableByRollout".into(),
            }),
            ObjectRef::new("HorizontalPodAutoscaler", "web-hpa"),
            Reason::Rollout(RolloutReason::Hpa),
        );
        let mut out = Vec::new();
        writer_for(&observed).writes(&action, &mut out).unwrap();
        let [ApiWrite::MergePatch { target, patch, .. }] = &out[..] else { panic!("{out:?}") };
        assert_eq!((target.api_version.as_str(), target.name.as_str()), ("autoscaling/v2", "web-hpa"));
        assert_eq!(patch["spec"]["scaleTargetRef"]["name"], "web-DisableByRollout");
        assert_eq!(
            (patch["metadata"]["uid"].as_str(), patch["metadata"]["resourceVersion"].as_str()),
            (Some("hpa-uid"), Some("9"))
        );
    }

    /// RO-43: the canary Deployment is deleted only through a BatchRelease this Rollout
    /// controls, and only when that BatchRelease controls it.
    #[test]
    fn ro_43_canary_deployment_deleted_only_through_the_rollouts_batch_release() {
        let action = Action::on_object(
            ActionKind::Rollout(RolloutAction::DeleteDeployment),
            ObjectRef::new("Deployment", "web-x"),
            Reason::Rollout(RolloutReason::Release),
        );
        let meta = |name: &str, kind: &str, uid: &str, controller: &str| ObjectMetaRef {
            api_version: "v1".into(),
            kind: kind.into(),
            name: name.into(),
            uid: Some(uid.into()),
            controller_uid: Some(controller.into()),
            ..ObjectMetaRef::default()
        };
        let mut observed = Observed::default();
        observed
            .metas
            .insert("BatchRelease/web".into(), meta("web", "BatchRelease", "br-uid", "someone-else"));
        observed.metas.insert("Deployment/web-x".into(), meta("web-x", "Deployment", "d-uid", "br-uid"));
        let mut out = Vec::new();
        let e = writer_for(&observed).writes(&action, &mut out).expect_err("BatchRelease not ours");
        assert!(e.to_string().contains("not controlled by Rollout/web"), "{e}");
        observed.metas.insert("BatchRelease/web".into(), meta("web", "BatchRelease", "br-uid", "ro-uid"));
        observed.metas.insert("Deployment/web-x".into(), meta("web-x", "Deployment", "d-uid", "other"));
        let e = writer_for(&observed).writes(&action, &mut out).expect_err("Deployment not the release's");
        assert!(e.to_string().contains("not controlled by BatchRelease/web"), "{e}");
        observed.metas.insert("Deployment/web-x".into(), meta("web-x", "Deployment", "d-uid", "br-uid"));
        writer_for(&observed).writes(&action, &mut out).unwrap();
        assert!(matches!(&out[..], [ApiWrite::Delete { uid: Some(u), .. }] if u == "d-uid"), "{out:?}");
    }

    /// The first write to an object carries its resourceVersion; later writes of the same plan
    /// chain on it (the `Replace` chaining rule) instead of failing on their own earlier write.
    #[test]
    fn ro_67_second_write_to_the_rollout_chains() {
        let e = Expectations::default();
        let r = rollout();
        let objs = related(false);
        let out =
            RolloutReconciler::default().reconcile(&World::new(&r).with_related(&objs), &ctx(&e, 0)).unwrap();
        let on_rollout: Vec<&ApiWrite> =
            out.writes.iter().map(|w| &w.write).filter(|w| w.target().kind == "Rollout").collect();
        assert!(on_rollout.len() >= 2, "{on_rollout:?}");
        let rv_of = |w: &ApiWrite| match w {
            ApiWrite::MergePatch { patch: v, .. } | ApiWrite::Replace { object: v, .. } => {
                v["metadata"]["resourceVersion"].as_str().map(str::to_owned)
            }
            _ => None,
        };
        assert_eq!(rv_of(on_rollout[0]), Some("3".into()), "{:?}", on_rollout[0]);
        assert!(on_rollout[1..].iter().all(|w| rv_of(w).is_none()), "{on_rollout:?}");
    }

    /// RO-67: a named object that does not decode is an error naming its place and subject;
    /// objects the Rollout does not name are not looked at.
    #[test]
    fn ro_67_bad_related_object_names_its_place() {
        let e = Expectations::default();
        let r = rollout();
        let mut objs = related(false);
        objs.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "other"}, "spec": {"selector": 7}}));
        assert!(
            RolloutReconciler::default().reconcile(&World::new(&r).with_related(&objs), &ctx(&e, 0)).is_ok()
        );
        objs[1]["spec"]["selector"] = json!(7);
        let err = RolloutReconciler::default()
            .reconcile(&World::new(&r).with_related(&objs), &ctx(&e, 0))
            .expect_err("bad Service");
        let text = err.to_string();
        assert!(text.contains("related[1]") && text.contains("Service/web"), "{text}");
    }

    fn writer_for<'a>(observed: &'a Observed) -> Writer<'a> {
        let r = rollout();
        let owner = ObjectMetaRef::of("rollouts.kruise.io/v1beta1", "Rollout", &r.metadata);
        Writer::new(owner, "default", observed, Timestamp::UNIX_EPOCH, Value::Null)
    }

    /// RO-44: the canary Service is deleted only when the Rollout controls it, with its uid.
    #[test]
    fn ro_44_deletes_only_what_the_rollout_controls() {
        let action = Action::on_object(
            ActionKind::Rollout(RolloutAction::DeleteService),
            ObjectRef::new("Service", "web-canary"),
            Reason::Rollout(RolloutReason::RemoveCanaryService),
        );
        let mut observed = Observed::default();
        let mut meta = ObjectMetaRef {
            api_version: "v1".into(),
            kind: "Service".into(),
            name: "web-canary".into(),
            uid: Some("c-uid".into()),
            ..ObjectMetaRef::default()
        };
        observed.metas.insert("Service/web-canary".into(), meta.clone());
        let mut out = Vec::new();
        let e = writer_for(&observed).writes(&action, &mut out).expect_err("not ours");
        assert!(e.to_string().contains("not controlled by Rollout/web"), "{e}");
        assert!(out.is_empty());
        meta.controller_uid = Some("ro-uid".into());
        observed.metas.insert("Service/web-canary".into(), meta);
        writer_for(&observed).writes(&action, &mut out).unwrap();
        assert!(matches!(&out[..], [ApiWrite::Delete { uid: Some(u), .. }] if u == "c-uid"), "{out:?}");
    }

    /// RO-63: traffic writes are recorded on the reconciled object with `now` and read back
    /// (the latest per object and item), so a restarted controller still waits.
    #[test]
    fn ro_63_traffic_writes_are_recorded_and_read_back() {
        let action = Action::on_object(
            ActionKind::Rollout(RolloutAction::PatchServiceSelector { selector: BTreeMap::new() }),
            ObjectRef::new("Service", "web"),
            Reason::Rollout(RolloutReason::PinStableService),
        );
        let mut observed = Observed::default();
        observed.metas.insert(
            "Service/web".into(),
            ObjectMetaRef {
                api_version: "v1".into(),
                kind: "Service".into(),
                name: "web".into(),
                ..Default::default()
            },
        );
        let old = vec![
            TrafficWrite {
                object: "Service/web".into(),
                item: "PinStableService".into(),
                at: Timestamp::UNIX_EPOCH - jiff::SignedDuration::from_secs(9),
            },
            TrafficWrite {
                object: "HTTPRoute/web".into(),
                item: "TrafficStep".into(),
                at: Timestamp::UNIX_EPOCH,
            },
        ];
        let mut w = writer_for(&observed);
        let mut out = Vec::new();
        w.writes(&action, &mut out).unwrap();
        w.finish(&old, &mut out);
        let ApiWrite::MergePatch { target, patch, .. } = out.last().unwrap() else { panic!() };
        assert_eq!(target.kind, "Rollout");
        let text = patch["metadata"]["annotations"][keys::ROLLOUT_TRAFFIC_WRITES].as_str().unwrap();
        let meta = ObjectMeta {
            annotations: Some(BTreeMap::from([(keys::ROLLOUT_TRAFFIC_WRITES.to_owned(), text.to_owned())])),
            ..ObjectMeta::default()
        };
        let back = recorded_writes(&meta);
        assert_eq!(back.len(), 2);
        assert!(back.iter().any(|w| w.object == "Service/web" && w.at == Timestamp::UNIX_EPOCH), "{back:?}");
        // Garbage reads as no record.
        let garbage = ObjectMeta {
            annotations: Some(BTreeMap::from([(keys::ROLLOUT_TRAFFIC_WRITES.to_owned(), "{".to_owned())])),
            ..ObjectMeta::default()
        };
        assert!(recorded_writes(&garbage).is_empty());
    }

    /// RO-64/RO-66: the shared TrafficRouting's pass applies its intent to the gateway's
    /// HTTPRoute as data and writes its status.
    #[test]
    fn ro_64_traffic_routing_reconciler_applies_the_intent_as_data() {
        let tr: TrafficRouting = serde_json::from_value(json!({
            "apiVersion": "rollouts.kruise.io/v1alpha1", "kind": "TrafficRouting",
            "metadata": {"name": "gray", "namespace": "default", "uid": "tr-uid", "resourceVersion": "2",
                         "finalizers": [trafficrouting::TRAFFIC_ROUTING_FINALIZER, "progressing.rollouts.kruise.io/a"]},
            "spec": {"objectRef": [{"service": "gateway", "gateway": {"httpRouteName": "entry"}}],
                     "strategy": {"matches": [{"headers": [{"name": "x-lane", "value": "gray"}]}]}},
            "status": {"phase": "Progressing"}
        }))
        .unwrap();
        let objs = vec![
            json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "entry", "namespace": "default", "uid": "rt", "resourceVersion": "4"},
            "spec": {"rules": [{"backendRefs": [{"name": "gateway"}]}]}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "gateway", "namespace": "default"},
                   "spec": {"selector": {"app": "gateway"}}}),
        ];
        let e = Expectations::default();
        let out =
            TrafficRoutingReconciler.reconcile(&World::new(&tr).with_related(&objs), &ctx(&e, 0)).unwrap();
        let w = out.writes.iter().find(|w| w.name() == "ApplyRouteIntent").expect("intent");
        let ApiWrite::MergePatch { target, patch, .. } = &w.write else { panic!() };
        assert_eq!(target.name, "entry");
        assert_eq!(patch["metadata"]["uid"], "rt");
        let intent: RouteIntent = serde_json::from_str(
            patch["metadata"]["annotations"][keys::ROLLOUT_ROUTE_INTENT].as_str().unwrap(),
        )
        .unwrap();
        assert_eq!(intent.matches[0].headers[0].name, "x-lane");
        assert_eq!(TrafficRoutingReconciler.related_kinds(), TRAFFIC_ROUTING_RELATED);
    }

    /// The kinds a Rollout reads, and how an adapter matches an object to one.
    #[test]
    fn ro_67_related_kinds_match_objects_by_group_and_kind() {
        let kinds = RolloutReconciler::default().related_kinds();
        let route = kinds.iter().find(|k| k.kind == "HTTPRoute").unwrap();
        assert_eq!(route.api_version(), "gateway.networking.k8s.io/v1");
        assert!(
            route.matches(&json!({"apiVersion": "gateway.networking.k8s.io/v1beta1", "kind": "HTTPRoute"}))
        );
        assert!(!route.matches(&json!({"apiVersion": "v1", "kind": "HTTPRoute"})));
        let svc = kinds.iter().find(|k| k.kind == "Service").unwrap();
        assert_eq!((svc.api_version(), svc.plural), ("v1".to_owned(), "services"));
        assert!(svc.matches(&json!({"apiVersion": "v1", "kind": "Service"})));
    }
}
