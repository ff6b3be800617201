//! The SidecarSet upgrade planner for clusters that serve SidecarSets as
//! `apps.kruise.io/v1alpha1` only (OpenKruise's CRD and ours: v1alpha1 served and stored,
//! v1beta1 not served): [`SidecarSetV1Alpha1Reconciler`] converts the SidecarSet to the v1beta1
//! hub (SCS-3), plans with [`SidecarSetReconciler`], and readdresses the writes that concern
//! the SidecarSet itself through the shared [`Served`] readdressing: the status write goes to
//! the v1alpha1 status subresource (the status schema is the same in both versions), and the
//! owner references of new revisions name v1alpha1. Pod and revision writes are otherwise those
//! of the v1beta1 planner.

use kruise_api::apps::{v1alpha1, v1beta1};
use kruise_api::convert::sidecarset_to_v1beta1;
use kruise_api::defaults::Defaulting;
use serde_json::Value;

use super::SidecarSetReconciler;
use crate::reconciler::{Context, Outcome, ReconcileError, Reconciler, RelatedKind, World};
use crate::write::served::Served;

/// The `apiVersion` of the v1alpha1 SidecarSet.
pub const V1ALPHA1: &str = "apps.kruise.io/v1alpha1";
/// The `apiVersion` of the v1beta1 SidecarSet.
pub const V1BETA1: &str = "apps.kruise.io/v1beta1";

/// The SidecarSet planner for a v1alpha1 SidecarSet (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct SidecarSetV1Alpha1Reconciler;

/// The v1beta1 object the planner sees for a stored v1alpha1 `ss`: v1alpha1 defaults, SCS-3
/// conversion, v1beta1 defaults.
pub fn hub(ss: &v1alpha1::SidecarSet) -> v1beta1::SidecarSet {
    let mut alpha = ss.clone();
    alpha.apply_defaults();
    let mut beta = sidecarset_to_v1beta1(&alpha);
    beta.apply_defaults();
    beta
}

/// The planned status, as is: v1alpha1 and v1beta1 SidecarSets share their status schema.
fn same_status(planned: &Value) -> Value {
    planned.get("status").cloned().unwrap_or(Value::Null)
}

impl Reconciler for SidecarSetV1Alpha1Reconciler {
    type Workload = v1alpha1::SidecarSet;

    fn reconcile(
        &self,
        world: &World<'_, v1alpha1::SidecarSet>,
        ctx: &Context<'_>,
    ) -> Result<Outcome, ReconcileError> {
        let beta = hub(world.workload);
        let mut outcome = SidecarSetReconciler.reconcile(&world.for_workload(&beta), ctx)?;
        let object = serde_json::to_value(world.workload).unwrap_or_default();
        let served = Served {
            kind: "SidecarSet",
            hub: V1BETA1,
            served: V1ALPHA1,
            object: &object,
            status: &same_status,
        };
        for w in &mut outcome.writes {
            served.readdress(&mut w.write);
        }
        Ok(outcome)
    }

    fn related_kinds(&self) -> &'static [RelatedKind] {
        SidecarSetReconciler.related_kinds()
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use serde_json::json;

    use super::*;
    use crate::expectations::Expectations;
    use crate::features::Features;
    use crate::write::{ApiWrite, Subresource};

    fn alpha() -> v1alpha1::SidecarSet {
        serde_json::from_value(json!({
            "apiVersion": V1ALPHA1, "kind": "SidecarSet",
            "metadata": {"name": "log-ağent", "uid": "uid-ss", "resourceVersion": "9", "generation": 2},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "namespace": "team-a",
                "containers": [{"name": "log", "image": "log:2"}]
            }
        }))
        .unwrap_or_default()
    }

    /// SCS-3 in the operator: a v1alpha1 SidecarSet plans as its hub (its `namespace` read as
    /// a namespaceSelector, so the related Namespaces are the same kinds), its first revision
    /// is owned through a v1alpha1 owner reference, and its status goes to the v1alpha1
    /// status subresource with the v1alpha1 object as the precondition; nothing addresses the
    /// unserved v1beta1.
    #[test]
    fn scs_3_v1alpha1_writes_address_the_served_version() {
        let ss = alpha();
        let exp = Expectations::default();
        let now = Timestamp::from_second(1_767_225_600).unwrap_or(Timestamp::UNIX_EPOCH);
        let ctx = Context { now, id_seed: 1, features: Features::default(), expectations: &exp };
        let out = match SidecarSetV1Alpha1Reconciler.reconcile(&World::new(&ss), &ctx) {
            Ok(o) => o,
            Err(e) => panic!("reconcile failed: {e}"),
        };
        assert_eq!(hub(&ss).spec.namespace_selector.and_then(|s| s.match_labels).map(|l| l.len()), Some(1));
        assert!(!out.writes.is_empty());
        for w in &out.writes {
            let t = w.write.target();
            assert_ne!(t.api_version, V1BETA1, "{:?}", w.write);
        }
        let create = out.writes.iter().find_map(|w| match &w.write {
            ApiWrite::Create { object, .. } => Some(object.clone()),
            _ => None,
        });
        let create = create.unwrap_or_default();
        assert_eq!(create["metadata"]["ownerReferences"][0]["apiVersion"], json!(V1ALPHA1));
        let status = out.writes.iter().find_map(|w| match &w.write {
            ApiWrite::Replace { target, subresource: Subresource::Status, object } => {
                Some((target.clone(), object.clone()))
            }
            _ => None,
        });
        let (target, object) = status.unwrap_or_else(|| panic!("no status write: {:?}", out.writes));
        assert_eq!((target.api_version.as_str(), target.kind.as_str()), (V1ALPHA1, "SidecarSet"));
        assert_eq!(object["apiVersion"], json!(V1ALPHA1));
        assert_eq!(object["metadata"]["resourceVersion"], json!("9"));
        assert_eq!(object["spec"]["namespace"], json!("team-a"));
        assert!(object["status"].is_object());
        assert_eq!(SidecarSetV1Alpha1Reconciler.related_kinds()[0].kind, "Namespace");
    }
}
