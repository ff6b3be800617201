//! The Rollout planner for clusters that serve Rollouts as `rollouts.kruise.io/v1alpha1` only
//! (our CRD: v1alpha1 served and stored): [`RolloutV1Alpha1Reconciler`] converts the Rollout
//! to the v1beta1 hub (RO-5), plans with [`RolloutReconciler`], and readdresses the writes that
//! concern the Rollout itself through the shared [`Served`] readdressing: the status write goes
//! to the v1alpha1 status subresource with the status in the v1alpha1 schema (`canaryStatus`
//! with its common part folded in), other writes to the Rollout (its annotations) address
//! v1alpha1, and owner references to it (the BatchRelease it creates) name v1alpha1.

use kruise_api::convert::{rollout_to_v1alpha1, rollout_to_v1beta1};
use kruise_api::defaults::Defaulting;
use kruise_api::rollouts::{v1alpha1, v1beta1};
use serde_json::Value;

use super::RolloutReconciler;
use super::reconcile::ROLLOUT_RELATED;
use crate::reconciler::{Context, Outcome, ReconcileError, Reconciler, RelatedKind, World};
use crate::write::served::Served;
use crate::write::{ApiWrite, Subresource};

/// The `apiVersion` of the v1alpha1 Rollout.
pub const V1ALPHA1: &str = "rollouts.kruise.io/v1alpha1";
/// The `apiVersion` of the v1beta1 Rollout.
pub const V1BETA1: &str = "rollouts.kruise.io/v1beta1";

/// The Rollout planner for a v1alpha1 Rollout (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct RolloutV1Alpha1Reconciler {
    /// The hub planner (its controller flags and gates).
    pub inner: RolloutReconciler,
}

/// The v1beta1 object the planner sees for a stored v1alpha1 `r`: v1alpha1 defaults, RO-5
/// conversion, v1beta1 defaults.
pub fn hub(r: &v1alpha1::Rollout) -> v1beta1::Rollout {
    let mut alpha = r.clone();
    alpha.apply_defaults();
    let mut beta = rollout_to_v1beta1(&alpha);
    beta.apply_defaults();
    beta
}

/// The planned v1beta1 status (in `planned`) in the v1alpha1 schema, read over the hub `beta`
/// (a hub converted from v1alpha1 is never blue-green, so it always converts back). A status
/// that does not read as v1beta1 (never built by the planner) is kept as is.
fn alpha_status(beta: &v1beta1::Rollout, planned: &Value) -> Value {
    let status = planned.get("status").cloned().unwrap_or(Value::Null);
    let Ok(status) = serde_json::from_value::<v1beta1::RolloutStatus>(status.clone()) else {
        return status;
    };
    let mut b = beta.clone();
    b.status = Some(status.clone());
    match rollout_to_v1alpha1(&b) {
        Ok(a) => serde_json::to_value(a.status).unwrap_or(Value::Null),
        Err(_) => serde_json::to_value(status).unwrap_or(Value::Null),
    }
}

impl Reconciler for RolloutV1Alpha1Reconciler {
    type Workload = v1alpha1::Rollout;

    fn reconcile(
        &self,
        world: &World<'_, v1alpha1::Rollout>,
        ctx: &Context<'_>,
    ) -> Result<Outcome, ReconcileError> {
        let beta = hub(world.workload);
        let mut outcome = self.inner.reconcile(&world.for_workload(&beta), ctx)?;
        let object = serde_json::to_value(world.workload).unwrap_or_default();
        let status = |planned: &Value| alpha_status(&beta, planned);
        let served =
            Served { kind: "Rollout", hub: V1BETA1, served: V1ALPHA1, object: &object, status: &status };
        for w in &mut outcome.writes {
            served.readdress(&mut w.write);
        }
        // A status the v1alpha1 schema renders as stored is no change: the v1beta1-only fields
        // (the top-level step mirrors) are lost on the way back, so the hub planner sees a
        // difference on every pass; writing it would be a write per reconcile.
        let stored = object.get("status").cloned().unwrap_or(Value::Null);
        outcome.writes.retain(|w| match &w.write {
            ApiWrite::Replace { target, subresource: Subresource::Status, object }
                if target.kind == "Rollout" && target.api_version == V1ALPHA1 =>
            {
                object.get("status").is_none_or(|s| *s != stored)
            }
            _ => true,
        });
        Ok(outcome)
    }

    fn related_kinds(&self) -> &'static [RelatedKind] {
        ROLLOUT_RELATED
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use serde_json::json;

    use super::*;
    use crate::expectations::Expectations;
    use crate::features::Features;

    /// RO-5 in the operator: a v1alpha1 Rollout plans as its hub; its status goes to the
    /// v1alpha1 status subresource in the v1alpha1 schema, with the v1alpha1 object as the
    /// precondition, and no write addresses the unserved v1beta1 Rollout.
    #[test]
    fn ro_5_v1alpha1_writes_address_the_served_version() {
        let mut beta = crate::rollout::fixtures::example_rollout(false);
        beta.metadata.uid = Some("ro-uid".into());
        beta.metadata.resource_version = Some("3".into());
        let alpha = rollout_to_v1alpha1(&beta).unwrap_or_default();
        let cs = json!({
            "apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet",
            "metadata": {"name": "web", "namespace": "default", "uid": "cs-uid", "resourceVersion": "7", "generation": 1},
            "spec": {"replicas": 4, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "a"}]}}},
            "status": {"observedGeneration": 1, "replicas": 4, "updatedReplicas": 4, "updatedReadyReplicas": 4,
                       "readyReplicas": 4, "availableReplicas": 4, "currentRevision": "web-aaa", "updateRevision": "web-aaa"}
        });
        let related = [cs];
        let exp = Expectations::default();
        let now = Timestamp::from_second(1_767_225_600).unwrap_or(Timestamp::UNIX_EPOCH);
        let ctx = Context { now, id_seed: 1, features: Features::default(), expectations: &exp };
        let r = RolloutV1Alpha1Reconciler::default();
        let out = match r.reconcile(&World::new(&alpha).with_related(&related), &ctx) {
            Ok(o) => o,
            Err(e) => panic!("reconcile failed: {e}"),
        };
        assert!(out.writes.iter().all(|w| w.write.target().api_version != V1BETA1), "{:?}", out.writes);
        let status = out.writes.iter().find_map(|w| match &w.write {
            ApiWrite::Replace { target, subresource: Subresource::Status, object }
                if target.kind == "Rollout" =>
            {
                Some((target.clone(), object.clone()))
            }
            _ => None,
        });
        let (target, object) = status.unwrap_or_else(|| panic!("no status write: {:?}", out.writes));
        assert_eq!(target.api_version, V1ALPHA1);
        assert_eq!(object["apiVersion"], json!(V1ALPHA1));
        // The first write to the Rollout carries the observed resourceVersion; a status write
        // after an earlier one (its finalizer) chains on it and carries none.
        let first = out.writes.iter().position(|w| w.write.target().kind == "Rollout");
        let at = out.writes.iter().position(|w| {
            matches!(&w.write, ApiWrite::Replace { target, subresource: Subresource::Status, .. } if target.kind == "Rollout")
        });
        let want = if first == at { json!("3") } else { Value::Null };
        assert_eq!(object["metadata"]["resourceVersion"], want, "{:?}", out.writes);
        assert!(object["spec"]["objectRef"]["workloadRef"].is_object(), "{object}");
        assert!(object["status"]["phase"].is_string(), "{object}");
        assert_eq!(r.related_kinds(), ROLLOUT_RELATED);
    }
}
