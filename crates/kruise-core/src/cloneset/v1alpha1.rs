//! The CloneSet planner for clusters that store CloneSets as `apps.kruise.io/v1alpha1` (CS-0,
//! CS-1, CS-5): [`CloneSetV1Alpha1Reconciler`] converts the workload to the v1beta1 hub shape,
//! plans with [`CloneSetReconciler`], and readdresses every write that concerns the CloneSet
//! itself to the v1alpha1 resource, with v1alpha1-shaped bodies.
//!
//! Writes rewritten:
//! - the status `Replace` of the CloneSet: target `apps.kruise.io/v1alpha1`, body = the
//!   v1alpha1 object as observed (its `resourceVersion` is the precondition) with the planned
//!   status (the status schema is the same in both versions);
//! - the `spec.scaleStrategy.podsToDelete` JSON patch: target only (the path exists unchanged
//!   in v1alpha1);
//! - owner references to the CloneSet in created pods, PVCs and revisions and in adoption
//!   patches: `apiVersion` becomes `apps.kruise.io/v1alpha1`, so the garbage collector resolves
//!   the owner through a served version (in adoption JSON patches, the values written, not
//!   the `test`ed ones, which are what the server holds).
//!
//! Pod, PVC and revision writes are otherwise those of the v1beta1 planner, byte for byte.

use kruise_api::apps::{v1alpha1, v1beta1};
use kruise_api::convert::cloneset_to_v1beta1;
use kruise_api::defaults::Defaulting;
use serde_json::Value;

use super::CloneSetReconciler;
use crate::reconciler::{Context, Outcome, ReconcileError, Reconciler, World};
use crate::write::served::Served;

/// The `apiVersion` of the v1alpha1 CloneSet.
pub const V1ALPHA1: &str = "apps.kruise.io/v1alpha1";
/// The `apiVersion` of the v1beta1 CloneSet.
pub const V1BETA1: &str = "apps.kruise.io/v1beta1";
const KIND: &str = "CloneSet";

/// The CloneSet planner for a v1alpha1 workload (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct CloneSetV1Alpha1Reconciler;

/// The v1beta1 object the planner sees for a stored v1alpha1 `cs`: v1alpha1 defaults, CS-5
/// conversion, v1beta1 defaults (idempotent on a converted object).
pub fn hub(cs: &v1alpha1::CloneSet) -> v1beta1::CloneSet {
    let mut alpha = cs.clone();
    alpha.apply_defaults();
    let mut beta = cloneset_to_v1beta1(&alpha);
    beta.apply_defaults();
    beta
}

impl Reconciler for CloneSetV1Alpha1Reconciler {
    type Workload = v1alpha1::CloneSet;

    fn reconcile(
        &self,
        world: &World<'_, v1alpha1::CloneSet>,
        ctx: &Context<'_>,
    ) -> Result<Outcome, ReconcileError> {
        let beta = hub(world.workload);
        let beta_world = world.for_workload(&beta);
        let mut outcome = CloneSetReconciler.reconcile(&beta_world, ctx)?;
        readdress_writes(&mut outcome.writes, world.workload);
        Ok(outcome)
    }

    fn related_kinds(&self) -> &'static [crate::reconciler::RelatedKind] {
        CloneSetReconciler.related_kinds()
    }
}

/// Readdresses the writes the v1beta1 planner made for the hub of `cs` (see the module docs),
/// as [`CloneSetV1Alpha1Reconciler`] does: what an operator serving v1alpha1 sends. For
/// callers that plan with [`super::plan`] and [`super::reconcile::writes`] themselves (the
/// `kruise plan` dry-run).
pub fn readdress_writes(writes: &mut [crate::reconciler::PlannedWrite], cs: &v1alpha1::CloneSet) {
    // The status schema is the same in both versions: the planned status as is.
    let object = serde_json::to_value(cs).unwrap_or_default();
    let status = |planned: &Value| planned.get("status").cloned().unwrap_or(Value::Null);
    let served = Served { kind: KIND, hub: V1BETA1, served: V1ALPHA1, object: &object, status: &status };
    for w in writes {
        served.readdress(&mut w.write);
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Pod;

    use super::*;
    use crate::cloneset::fixtures::{self, ts};
    use crate::expectations::Expectations;
    use crate::features::Features;
    use crate::reconciler::PlannedWrite;
    use crate::write::{ApiWrite, Subresource};
    use serde_json::json;

    const SEEDS: [(&str, &str); 5] = [
        ("01", include_str!("../../../../examples/seed/01-ok.yaml")),
        ("02", include_str!("../../../../examples/seed/02-ok.yaml")),
        ("03", include_str!("../../../../examples/seed/03-ok.yaml")),
        ("04", include_str!("../../../../examples/seed/04-ok.yaml")),
        ("05", include_str!("../../../../examples/seed/05-ok.yaml")),
    ];

    fn seed(id: &str, text: &str) -> v1alpha1::CloneSet {
        let mut cs: v1alpha1::CloneSet = match serde_saphyr::from_str(text) {
            Ok(cs) => cs,
            Err(e) => panic!("seed {id} does not parse: {e}"),
        };
        cs.metadata.uid = Some(format!("uid-seed-{id}"));
        cs.metadata.resource_version = Some("42".into());
        cs.metadata.generation = Some(1);
        cs
    }

    fn run<R: Reconciler>(
        r: &R,
        cs: &R::Workload,
        pods: &[Pod],
        revs: &[k8s_openapi::api::apps::v1::ControllerRevision],
    ) -> Outcome {
        let exp = Expectations::default();
        let ctx = Context { now: ts(1_000), id_seed: 7, features: Features::default(), expectations: &exp };
        let world = World::new(cs).with_pods(pods).with_revisions(revs);
        match r.reconcile(&world, &ctx) {
            Ok(o) => o,
            Err(e) => panic!("reconcile failed: {e}"),
        }
    }

    /// Pod/PVC/revision writes with owner references normalised back to v1beta1, so the two
    /// planners can be compared write for write.
    fn non_workload(writes: &[PlannedWrite]) -> Vec<ApiWrite> {
        writes
            .iter()
            .filter(|w| w.write.target().kind != KIND)
            .map(|w| {
                let mut w = w.write.clone();
                let body = match &mut w {
                    ApiWrite::Create { object, .. } | ApiWrite::Replace { object, .. } => Some(object),
                    ApiWrite::MergePatch { patch, .. } => Some(patch),
                    ApiWrite::JsonPatch { patch, .. } => {
                        for op in patch.as_array_mut().into_iter().flatten() {
                            if op["path"] == "/metadata/ownerReferences" {
                                for r in op["value"].as_array_mut().into_iter().flatten() {
                                    if r["apiVersion"] == V1ALPHA1 {
                                        r["apiVersion"] = json!(V1BETA1);
                                    }
                                }
                            }
                        }
                        None
                    }
                    ApiWrite::Delete { .. } => None,
                };
                if let Some(refs) = body
                    .and_then(|b| b.pointer_mut("/metadata/ownerReferences"))
                    .and_then(Value::as_array_mut)
                {
                    for r in refs.iter_mut().filter(|r| r["apiVersion"] == V1ALPHA1) {
                        r["apiVersion"] = json!(V1BETA1);
                    }
                }
                w
            })
            .collect()
    }

    fn workload_writes(writes: &[PlannedWrite]) -> Vec<&ApiWrite> {
        writes.iter().map(|w| &w.write).filter(|w| w.target().kind == KIND).collect()
    }

    fn replicas(cs: &v1alpha1::CloneSet) -> usize {
        usize::try_from(cs.spec.replicas.unwrap_or(1)).unwrap_or(0)
    }

    /// An existing rollout for seed `cs`: `n` pods ready since t=0 on an older template revision, the
    /// status pointing at it.
    fn rolled(
        cs: &v1alpha1::CloneSet,
        n: usize,
    ) -> (v1alpha1::CloneSet, Vec<Pod>, Vec<k8s_openapi::api::apps::v1::ControllerRevision>) {
        let mut old = hub(cs);
        if let Some(spec) = old.spec.template.spec.as_mut() {
            for c in &mut spec.containers {
                c.image = Some("registry.example/old:0".into());
            }
        }
        let old_rev = fixtures::revision_of(&old, 1);
        let old_name = old_rev.metadata.name.clone().unwrap_or_default();
        let pods: Vec<Pod> =
            (0..n).map(|i| fixtures::pod(&old, &format!("p{i}"), &old_name).ready_since(0).build()).collect();
        let mut alpha = cs.clone();
        let st = alpha.status.get_or_insert_with(Default::default);
        st.current_revision = old_name.clone();
        st.update_revision = old_name;
        st.observed_generation = 1;
        (alpha, pods, vec![old_rev])
    }

    #[test]
    fn cs_5_seed_scale_up_gives_the_v1beta1_pod_writes() {
        for (id, text) in SEEDS {
            let alpha = seed(id, text);
            let a = run(&CloneSetV1Alpha1Reconciler, &alpha, &[], &[]);
            let b = run(&CloneSetReconciler, &hub(&alpha), &[], &[]);
            assert!(a.writes.iter().any(|w| w.name() == "CreatePod"), "seed {id}: no pod created");
            assert_eq!(non_workload(&a.writes), non_workload(&b.writes), "seed {id}");
            assert_eq!(a.held, b.held, "seed {id}");
            assert_eq!(a.events, b.events, "seed {id}");
            assert_eq!(a.requeue_after, b.requeue_after, "seed {id}");
        }
    }

    #[test]
    fn cs_5_seed_rolling_update_gives_the_v1beta1_pod_writes() {
        for (id, text) in SEEDS {
            let (alpha, pods, revs) = {
                let cs = seed(id, text);
                let n = replicas(&cs);
                rolled(&cs, n)
            };
            let a = run(&CloneSetV1Alpha1Reconciler, &alpha, &pods, &revs);
            let b = run(&CloneSetReconciler, &hub(&alpha), &pods, &revs);
            assert!(
                a.writes.iter().any(|w| w.write.target().kind == "Pod"),
                "seed {id}: the rollout touches no pod"
            );
            assert_eq!(non_workload(&a.writes), non_workload(&b.writes), "seed {id}");
            assert_eq!(a.held, b.held, "seed {id}");
        }
    }

    #[test]
    fn cs_5_in_place_if_possible_seed_updates_in_place() {
        let inplace: Vec<_> = SEEDS
            .iter()
            .map(|(id, t)| seed(id, t))
            .filter(|cs| cs.spec.update_strategy.type_.as_deref() == Some("InPlaceIfPossible"))
            .collect();
        assert!(!inplace.is_empty(), "no seed uses InPlaceIfPossible");
        for cs in inplace {
            let (alpha, pods, revs) = rolled(&cs, replicas(&cs));
            let a = run(&CloneSetV1Alpha1Reconciler, &alpha, &pods, &revs);
            assert!(
                a.writes.iter().any(|w| w.name() == "UpdateInPlace"),
                "{:?}: v1alpha1 InPlaceIfPossible must update in place, got {:?}",
                alpha.metadata.name,
                a.writes.iter().map(|w| w.name()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn cs_1_workload_writes_target_v1alpha1_with_v1alpha1_bodies() {
        for (id, text) in SEEDS {
            let alpha = seed(id, text);
            let (rolled_alpha, pods, revs) = rolled(&alpha, replicas(&alpha));
            for (cs, pods, revs) in [(&alpha, &[][..], &[][..]), (&rolled_alpha, &pods[..], &revs[..])] {
                let a = run(&CloneSetV1Alpha1Reconciler, cs, pods, revs);
                let ws = workload_writes(&a.writes);
                assert!(!ws.is_empty(), "seed {id}: no status write");
                for w in ws {
                    assert_eq!(w.target().api_version, V1ALPHA1, "seed {id}");
                    if let ApiWrite::Replace { subresource: Subresource::Status, object, .. } = w {
                        assert_eq!(object["apiVersion"], V1ALPHA1, "seed {id}");
                        assert_eq!(object["metadata"]["resourceVersion"], "42", "seed {id}");
                        // The body round-trips as a v1alpha1 CloneSet with the stored spec.
                        let back: v1alpha1::CloneSet = match serde_json::from_value(object.clone()) {
                            Ok(b) => b,
                            Err(e) => panic!("seed {id}: status body is not a v1alpha1 CloneSet: {e}"),
                        };
                        assert_eq!(back.spec, cs.spec, "seed {id}");
                        assert!(object["spec"]["updateStrategy"].get("rollingUpdate").is_none(), "seed {id}");
                        assert!(back.status.is_some_and(|s| s.observed_generation == 1), "seed {id}");
                    }
                }
            }
        }
    }

    #[test]
    fn cs_55_pods_to_delete_patch_targets_v1alpha1() {
        let mut alpha = seed("01", SEEDS[0].1);
        alpha.spec.scale_strategy.pods_to_delete = vec!["gone-pod".into()];
        let a = run(&CloneSetV1Alpha1Reconciler, &alpha, &[], &[]);
        let b = run(&CloneSetReconciler, &hub(&alpha), &[], &[]);
        let patch_of = |o: &Outcome| {
            o.writes.iter().find_map(|w| match &w.write {
                ApiWrite::JsonPatch { target, patch, .. } if target.kind == KIND => {
                    Some((target.api_version.clone(), patch.clone()))
                }
                _ => None,
            })
        };
        let (Some((va, pa)), Some((vb, pb))) = (patch_of(&a), patch_of(&b)) else {
            panic!("no podsToDelete patch: {:?}", a.writes.iter().map(|w| w.name()).collect::<Vec<_>>());
        };
        assert_eq!((va.as_str(), vb.as_str()), (V1ALPHA1, V1BETA1));
        assert_eq!(pa, pb);
    }

    #[test]
    fn cs_1_owner_references_name_the_served_version() {
        let alpha = seed("01", SEEDS[0].1);
        let a = run(&CloneSetV1Alpha1Reconciler, &alpha, &[], &[]);
        let mut seen = 0;
        for w in &a.writes {
            if let ApiWrite::Create { object, .. } = &w.write {
                for r in object["metadata"]["ownerReferences"].as_array().into_iter().flatten() {
                    assert_eq!(r["apiVersion"], V1ALPHA1, "{}", w.name());
                    seen += 1;
                }
            }
        }
        assert!(seen > 0, "no owner reference written");
    }
}
