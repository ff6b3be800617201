//! The DaemonSet planner for clusters that serve Advanced DaemonSets as
//! `apps.kruise.io/v1alpha1` only (OpenKruise's CRD: v1alpha1 served and stored, v1beta1 not
//! served; ADS-3): [`DaemonSetV1Alpha1Reconciler`] converts the workload to the v1beta1 hub
//! shape, plans with [`DaemonSetReconciler`], and readdresses the writes that concern the
//! DaemonSet itself to v1alpha1 through the shared [`Served`] readdressing: the status write
//! goes to the v1alpha1 status subresource with a v1alpha1 body (`status.updateRevision`
//! becomes `status.daemonSetHash`), and owner references name v1alpha1. Pod and revision
//! writes are otherwise those of the v1beta1 planner.

use kruise_api::apps::{v1alpha1, v1beta1};
use kruise_api::convert::{daemonset_to_v1alpha1, daemonset_to_v1beta1};
use kruise_api::defaults::Defaulting;
use serde_json::Value;

use super::DaemonSetReconciler;
use crate::reconciler::{Context, Outcome, PlannedWrite, ReconcileError, Reconciler, World};
use crate::write::served::Served;

/// The `apiVersion` of the v1alpha1 DaemonSet.
pub const V1ALPHA1: &str = "apps.kruise.io/v1alpha1";
/// The `apiVersion` of the v1beta1 DaemonSet.
pub const V1BETA1: &str = "apps.kruise.io/v1beta1";
const KIND: &str = "DaemonSet";

/// The DaemonSet planner for a v1alpha1 workload (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct DaemonSetV1Alpha1Reconciler;

/// The v1beta1 object the planner sees for a stored v1alpha1 `ds`: v1alpha1 defaults, ADS-3
/// conversion, v1beta1 defaults.
pub fn hub(ds: &v1alpha1::DaemonSet) -> v1beta1::DaemonSet {
    let mut alpha = ds.clone();
    alpha.apply_defaults();
    let mut beta = daemonset_to_v1beta1(&alpha);
    beta.apply_defaults();
    beta
}

/// The planned v1beta1 object of a status write → its status in the v1alpha1 schema. A body
/// that does not read as a v1beta1 DaemonSet (never built by the planner) keeps its status
/// as is.
fn alpha_status(planned: &Value) -> Value {
    match serde_json::from_value::<v1beta1::DaemonSet>(planned.clone()) {
        Ok(beta) => serde_json::to_value(daemonset_to_v1alpha1(&beta).status).unwrap_or(Value::Null),
        Err(_) => planned.get("status").cloned().unwrap_or(Value::Null),
    }
}

/// Readdresses the writes the v1beta1 planner made for the hub of `ds` to the v1alpha1
/// resource (see the module docs).
pub fn readdress_writes(writes: &mut [PlannedWrite], ds: &v1alpha1::DaemonSet) {
    let object = serde_json::to_value(ds).unwrap_or_default();
    let served =
        Served { kind: KIND, hub: V1BETA1, served: V1ALPHA1, object: &object, status: &alpha_status };
    for w in writes {
        served.readdress(&mut w.write);
    }
}

impl Reconciler for DaemonSetV1Alpha1Reconciler {
    type Workload = v1alpha1::DaemonSet;

    fn reconcile(
        &self,
        world: &World<'_, v1alpha1::DaemonSet>,
        ctx: &Context<'_>,
    ) -> Result<Outcome, ReconcileError> {
        self.reconcile_with_backoff(world, ctx, &std::collections::BTreeMap::new())
    }

    fn related_kinds(&self) -> &'static [crate::reconciler::RelatedKind] {
        DaemonSetReconciler.related_kinds()
    }
}

impl DaemonSetV1Alpha1Reconciler {
    /// [`Reconciler::reconcile`] with the failed-pod backoff an adapter keeps for this
    /// DaemonSet (see [`DaemonSetReconciler::reconcile_with_backoff`]).
    pub fn reconcile_with_backoff(
        &self,
        world: &World<'_, v1alpha1::DaemonSet>,
        ctx: &Context<'_>,
        backoff: &std::collections::BTreeMap<String, jiff::Timestamp>,
    ) -> Result<Outcome, ReconcileError> {
        let beta = hub(world.workload);
        let mut outcome =
            DaemonSetReconciler.reconcile_with_backoff(&world.for_workload(&beta), ctx, backoff)?;
        readdress_writes(&mut outcome.writes, world.workload);
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use jiff::Timestamp;
    use k8s_openapi::api::core::v1::{Container, Node, PodSpec, PodTemplateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
    use serde_json::json;

    use super::*;
    use crate::expectations::Expectations;
    use crate::features::Features;
    use crate::write::{ApiWrite, Subresource};

    fn alpha(image: &str) -> v1alpha1::DaemonSet {
        let labels: BTreeMap<String, String> = [("app".to_owned(), "ds".to_owned())].into();
        let mut d = v1alpha1::DaemonSet {
            metadata: ObjectMeta {
                name: Some("dś".into()),
                namespace: Some("default".into()),
                uid: Some("uid-ds".into()),
                generation: Some(1),
                resource_version: Some("42".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        d.spec.selector = Some(LabelSelector { match_labels: Some(labels.clone()), match_expressions: None });
        d.spec.template = PodTemplateSpec {
            metadata: Some(ObjectMeta { labels: Some(labels), ..Default::default() }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "c".into(),
                    image: Some(image.into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        };
        d
    }

    fn node(name: &str) -> Node {
        Node { metadata: ObjectMeta { name: Some(name.into()), ..Default::default() }, ..Default::default() }
    }

    fn run<R: Reconciler>(r: &R, ds: &R::Workload, nodes: &[Node]) -> Outcome {
        let exp = Expectations::default();
        let now = Timestamp::from_second(1_767_225_600).unwrap_or(Timestamp::UNIX_EPOCH);
        let ctx = Context { now, id_seed: 7, features: Features::default(), expectations: &exp };
        match r.reconcile(&World::new(ds).with_nodes(nodes), &ctx) {
            Ok(o) => o,
            Err(e) => panic!("reconcile failed: {e}"),
        }
    }

    /// ADS-3: a v1alpha1 DaemonSet plans as its v1beta1 hub: the same pods on the same nodes,
    /// owner references naming v1alpha1, the status written to the v1alpha1 resource with
    /// `daemonSetHash` (not `updateRevision`).
    #[test]
    fn ads_3_v1alpha1_writes_address_the_served_version() {
        let ds = alpha("nginx:1");
        let nodes = [node("n-1"), node("nœud-2")];
        let a = run(&DaemonSetV1Alpha1Reconciler, &ds, &nodes);
        let b = run(&DaemonSetReconciler, &hub(&ds), &nodes);
        let names = |o: &Outcome| {
            o.writes.iter().map(|w| (w.name(), w.write.target().name.clone())).collect::<Vec<_>>()
        };
        assert_eq!(names(&a), names(&b));
        let pods: Vec<&Value> = a
            .writes
            .iter()
            .filter_map(|w| match &w.write {
                ApiWrite::Create { target, object } if target.kind == "Pod" => Some(object),
                _ => None,
            })
            .collect();
        assert_eq!(pods.len(), 2);
        for p in pods {
            assert_eq!(p["metadata"]["ownerReferences"][0]["apiVersion"], json!(V1ALPHA1));
        }
        let status = a.writes.iter().find_map(|w| match &w.write {
            ApiWrite::Replace { target, subresource: Subresource::Status, object } if target.kind == KIND => {
                Some((target.api_version.clone(), object.clone()))
            }
            _ => None,
        });
        let Some((version, body)) = status else { panic!("no status write") };
        assert_eq!(version, V1ALPHA1);
        assert_eq!(body["apiVersion"], json!(V1ALPHA1));
        assert_eq!(body["metadata"]["resourceVersion"], json!("42"));
        assert!(body["status"].get("updateRevision").is_none(), "{body}");
        assert!(body["status"]["daemonSetHash"].as_str().is_some_and(|h| !h.is_empty()), "{body}");
        assert_eq!(body["status"]["desiredNumberScheduled"], json!(2));
        assert!(a.writes.iter().all(|w| w.write.target().api_version != V1BETA1));
    }
}
