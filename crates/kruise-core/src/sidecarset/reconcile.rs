//! Turning a SidecarSet [`Plan`] into API writes: [`SidecarSetReconciler`] implements
//! [`crate::reconciler::Reconciler`]. Kept thin: every write is a direct translation of one
//! action. Pod image changes are a whole-pod `Replace` guarded by the pod's
//! `resourceVersion` (the in-place write CloneSet and DaemonSet use too); revisions and the
//! SidecarSet status as in the other reconcilers.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::v1beta1::SidecarSet;
use kruise_api::keys;
use serde_json::json;

use super::history::{Versions, revision_data};
use super::{DEFAULT_REVISION_NAMESPACE, Input, Plan, plan};
use crate::cloneset::reconcile::set_pod_condition;
use crate::plan::{ActionKind, SidecarSetAction};
use crate::reconciler::{Context, HeldPod, Outcome, PlannedWrite, ReconcileError, Reconciler, World};
use crate::revision::new_revision;
use crate::write::{ApiWrite, Subresource, Target};

/// The SidecarSet upgrade planner as adapters see it: [`World::pods`] are the candidate pods
/// (any namespace), [`World::revisions`] the SidecarSet's revisions. Namespace labels are not
/// part of a [`World`]: a SidecarSet with a `namespaceSelector` needs [`plan`] called with
/// [`Input::namespaces`] filled (this reconciler passes none, so such a SidecarSet matches no
/// pod here).
#[derive(Clone, Copy, Debug, Default)]
pub struct SidecarSetReconciler;

impl Reconciler for SidecarSetReconciler {
    type Workload = SidecarSet;

    fn reconcile(&self, world: &World<'_, SidecarSet>, ctx: &Context<'_>) -> Result<Outcome, ReconcileError> {
        let namespaces = BTreeMap::new();
        let input = Input {
            sidecarset: world.workload,
            pods: world.pods,
            namespaces: &namespaces,
            revisions: world.revisions,
            revision_namespace: DEFAULT_REVISION_NAMESPACE,
            now: ctx.now,
            expectations: ctx.expectations,
        };
        let p = plan(&input).map_err(|e| ReconcileError(Box::new(e)))?;
        Ok(outcome(&input, &p))
    }
}

fn with_kind<T: serde::Serialize>(v: &T, api_version: &str, kind: &str) -> serde_json::Value {
    let mut v = serde_json::to_value(v).unwrap_or_default();
    if let serde_json::Value::Object(m) = &mut v {
        m.insert("apiVersion".into(), json!(api_version));
        m.insert("kind".into(), json!(kind));
    }
    v
}

/// Turns each action of `p` into its API write(s), in order.
pub fn writes(input: &Input<'_>, p: &Plan) -> Vec<PlannedWrite> {
    let ss = input.sidecarset;
    let ns = input.revision_namespace;
    let pods: BTreeMap<&str, &Pod> =
        input.pods.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect();
    let revs: BTreeMap<&str, &ControllerRevision> =
        input.revisions.iter().filter_map(|r| Some((r.metadata.name.as_deref()?, r))).collect();
    let w = Versions { ss, namespace: ns };
    let mut out = Vec::new();
    for a in &p.actions {
        let name = a.pod.as_deref().unwrap_or_default();
        let rev = a.revision.as_deref().unwrap_or_default();
        let pod_ns = pods.get(name).and_then(|p| p.metadata.namespace.clone()).unwrap_or_default();
        // A pod's status write chains after its main write of the same plan (write.rs rule).
        let chained = a.pod.is_some()
            && out.iter().any(|w: &PlannedWrite| w.pod == a.pod && w.write.target().kind == "Pod");
        let mut emit = |write: ApiWrite| {
            out.push(PlannedWrite {
                action: a.kind.name().to_owned(),
                pod: a.pod.clone(),
                reason: a.reason.kind().to_owned(),
                detail: a.reason.to_string(),
                write,
            })
        };
        match &a.kind {
            ActionKind::CreateRevision { number, .. } => {
                let hash = rev.rsplit('-').next().unwrap_or_default();
                let r = new_revision(&w, revision_data(ss), hash, rev.to_owned(), *number);
                emit(ApiWrite::Create {
                    target: Target::revision(ns, rev),
                    object: with_kind(&r, "apps/v1", "ControllerRevision"),
                });
            }
            ActionKind::UpdateRevision { number } => {
                let version = revs.get(rev).and_then(|r| r.metadata.resource_version.clone());
                emit(ApiWrite::MergePatch {
                    target: Target::revision(ns, rev),
                    subresource: Subresource::Main,
                    patch: json!({"metadata": {"resourceVersion": version}, "revision": number}),
                });
            }
            ActionKind::SidecarSet(SidecarSetAction::LabelCustomVersion { version }) => {
                let rv = revs.get(rev).and_then(|r| r.metadata.resource_version.clone());
                emit(ApiWrite::MergePatch {
                    target: Target::revision(ns, rev),
                    subresource: Subresource::Main,
                    patch: json!({"metadata": {"resourceVersion": rv,
                        "labels": {keys::SIDECARSET_CUSTOM_VERSION: version}}}),
                });
            }
            ActionKind::DeleteRevision => {
                let uid = revs.get(rev).and_then(|r| r.metadata.uid.clone());
                emit(ApiWrite::Delete { target: Target::revision(ns, rev), uid });
            }
            ActionKind::SidecarSet(SidecarSetAction::SetSidecarImages { images, annotations }) => {
                let Some(pod) = pods.get(name) else { continue };
                let mut pod = (*pod).clone();
                if let Some(spec) = pod.spec.as_mut() {
                    for c in &mut spec.containers {
                        if let Some(img) = images.get(&c.name) {
                            c.image = Some(img.clone());
                        }
                    }
                }
                pod.metadata.annotations.get_or_insert_with(Default::default).extend(annotations.clone());
                pod.status = None;
                emit(ApiWrite::Replace {
                    target: Target::pod(&pod_ns, name),
                    subresource: Subresource::Main,
                    object: with_kind(&pod, "v1", "Pod"),
                });
            }
            ActionKind::UpdatePodStatus { condition } => {
                let Some(pod) = pods.get(name) else { continue };
                let mut pod = (*pod).clone();
                set_pod_condition(&mut pod, condition, input.now);
                if chained {
                    pod.metadata.resource_version = None;
                }
                emit(ApiWrite::Replace {
                    target: Target::pod(&pod_ns, name),
                    subresource: Subresource::Status,
                    object: with_kind(&pod, "v1", "Pod"),
                });
            }
            ActionKind::UpdateStatus => {
                let mut obj = ss.clone();
                obj.status = Some(p.status.clone());
                emit(ApiWrite::Replace {
                    target: Target {
                        api_version: "apps.kruise.io/v1beta1".into(),
                        kind: "SidecarSet".into(),
                        namespace: None,
                        name: ss.metadata.name.clone().unwrap_or_default(),
                    },
                    subresource: Subresource::Status,
                    object: with_kind(&obj, "apps.kruise.io/v1beta1", "SidecarSet"),
                });
            }
            _ => {}
        }
    }
    out
}

/// The adapter's view of a plan: writes, held pods, events and the requeue.
pub fn outcome(input: &Input<'_>, p: &Plan) -> Outcome {
    Outcome {
        writes: writes(input, p),
        held: p
            .held
            .iter()
            .filter_map(|h| {
                Some(HeldPod {
                    pod: h.pod.clone()?,
                    reason: h.reason.kind().into(),
                    detail: h.reason.to_string(),
                })
            })
            .collect(),
        events: Vec::new(),
        requeue_after: p.requeue.as_ref().map(|r| (r.after, r.reason.kind().to_owned())),
    }
}
