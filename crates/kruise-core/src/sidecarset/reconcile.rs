//! Turning a SidecarSet [`Plan`] into API writes: [`SidecarSetReconciler`] implements
//! [`crate::reconciler::Reconciler`], [`SidecarSetWrites`] ([`Materialise`]) builds each
//! action's writes. Every write is guarded (STYLE.md §8): a sidecar upgrade is a JSON patch of
//! only the images and annotations that change, testing the pod's uid and resourceVersion; the
//! chained condition write patches the status the same way; revision patches carry their
//! resourceVersion, deletes the uid. An action it cannot build is an error naming it.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::v1beta1::SidecarSet;
use kruise_api::keys;
use serde_json::json;

use super::history::{Versions, revision_data};
use super::{DEFAULT_REVISION_NAMESPACE, Input, Plan, plan};
use crate::plan::{Action, ActionKind, SidecarSetAction};
use crate::reconciler::{
    Context, Materialise, Outcome, PlannedWrite, ReconcileError, Reconciler, RelatedKind, World, WriteError,
};
use crate::revision::new_revision;
use crate::write::pod::{PodWrites, object as with_kind};
use crate::write::{ApiWrite, Subresource, Target};

/// The kinds a SidecarSet reconcile reads besides its pods and revisions: Namespaces, for
/// `spec.namespaceSelector` (SCS-11, SCS-40).
const SIDECARSET_RELATED: &[RelatedKind] =
    &[RelatedKind { group: "", version: "v1", kind: "Namespace", plural: "namespaces", namespaced: false }];

/// Namespace name → labels, from the Namespaces among `related` (other objects are ignored).
/// A Namespace without a name is an error naming its index.
pub fn namespace_labels(
    related: &[serde_json::Value],
) -> Result<BTreeMap<String, BTreeMap<String, String>>, ReconcileError> {
    let mut out = BTreeMap::new();
    for (i, obj) in related.iter().enumerate() {
        if !SIDECARSET_RELATED[0].matches(obj) {
            continue;
        }
        let meta = obj.get("metadata");
        let Some(name) = meta.and_then(|m| m.get("name")).and_then(serde_json::Value::as_str) else {
            return Err(ReconcileError(
                format!("related[{i}].metadata.name: a Namespace without a name").into(),
            ));
        };
        let labels = match meta.and_then(|m| m.get("labels")) {
            None | Some(serde_json::Value::Null) => BTreeMap::new(),
            Some(l) => serde_json::from_value(l.clone()).map_err(|e| {
                ReconcileError(format!("related[{i}].metadata.labels (Namespace/{name}): {e}").into())
            })?,
        };
        out.insert(name.to_owned(), labels);
    }
    Ok(out)
}

/// The SidecarSet upgrade planner as adapters see it: [`World::pods`] are the candidate pods
/// (any namespace), [`World::revisions`] the SidecarSet's revisions, and the Namespaces among
/// [`World::related`] give the labels `spec.namespaceSelector` matches.
#[derive(Clone, Copy, Debug, Default)]
pub struct SidecarSetReconciler;

impl Reconciler for SidecarSetReconciler {
    type Workload = SidecarSet;

    fn reconcile(&self, world: &World<'_, SidecarSet>, ctx: &Context<'_>) -> Result<Outcome, ReconcileError> {
        let namespaces = namespace_labels(world.related)?;
        // The planner reads a slice. Adapters hand a SidecarSet the pods its selector reads as a
        // slice (kruise-kube's `reads`, the simulator's pod scope), so this borrows; a table
        // would be collected once.
        let pods = world.pods.to_slice();
        let input = Input {
            sidecarset: world.workload,
            pods: &pods,
            namespaces: &namespaces,
            revisions: world.revisions,
            revision_namespace: DEFAULT_REVISION_NAMESPACE,
            now: ctx.now,
            expectations: ctx.expectations,
        };
        let p = plan(&input).map_err(|e| ReconcileError(Box::new(e)))?;
        Ok(outcome(&input, &p)?)
    }

    fn related_kinds(&self) -> &'static [RelatedKind] {
        SIDECARSET_RELATED
    }
}

/// Turns a SidecarSet plan's actions into API writes ([`Materialise`]); see the module docs.
/// Actions name their pod `namespace/name` ([`super::pods::pod_key`]), so same-named pods of
/// different namespaces are each written where they live.
pub struct SidecarSetWrites<'i, 'a> {
    input: &'i Input<'a>,
    plan: &'i Plan,
    /// `namespace/name` → pod.
    pods: BTreeMap<String, &'i Pod>,
    revs: BTreeMap<&'i str, &'i ControllerRevision>,
    /// Pod writes per namespace (a SidecarSet's pods live in many).
    pods_written: BTreeMap<String, PodWrites>,
}

impl std::fmt::Debug for SidecarSetWrites<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SidecarSetWrites")
            .field("sidecarset", &self.input.sidecarset.metadata.name)
            .finish_non_exhaustive()
    }
}

impl<'i, 'a> SidecarSetWrites<'i, 'a> {
    /// A writer for plan `p` of `input`.
    pub fn new(input: &'i Input<'a>, p: &'i Plan) -> Self {
        // Only the pods the plan writes are indexed (a steady plan writes none).
        let wanted: std::collections::BTreeSet<&str> =
            p.actions.iter().filter_map(|a| a.pod.as_deref()).collect();
        let pods = if wanted.is_empty() {
            BTreeMap::new()
        } else {
            input
                .pods
                .iter()
                .filter(|pod| pod.metadata.name.is_some())
                .map(|pod| (super::pods::pod_key(pod), pod))
                .filter(|(k, _)| wanted.contains(k.as_str()))
                .collect()
        };
        Self {
            input,
            plan: p,
            pods,
            revs: input.revisions.iter().filter_map(|r| Some((r.metadata.name.as_deref()?, r))).collect(),
            pods_written: BTreeMap::new(),
        }
    }

    /// The cached pod of `a` and the writer of its namespace.
    fn pod_writer(&mut self, a: &Action) -> Result<(&'i Pod, &mut PodWrites), WriteError> {
        let key = a.pod.as_deref().ok_or_else(|| WriteError::new(a, "the action names no pod"))?;
        let pod = *self.pods.get(key).ok_or_else(|| WriteError::new(a, "the pod is not in the input"))?;
        let ns = key.split_once('/').map_or("default", |(ns, _)| ns).to_owned();
        let w = self.pods_written.entry(ns.clone()).or_insert_with(|| PodWrites::new(&ns));
        Ok((pod, w))
    }
}

impl Materialise for SidecarSetWrites<'_, '_> {
    fn writes(&mut self, a: &Action, out: &mut Vec<ApiWrite>) -> Result<(), WriteError> {
        let ss = self.input.sidecarset;
        let ns = self.input.revision_namespace;
        let rev = a.revision.as_deref().unwrap_or_default();
        match &a.kind {
            ActionKind::CreateRevision { number, .. } => {
                let w = Versions { ss, namespace: ns };
                let hash = rev.rsplit('-').next().unwrap_or_default();
                let r = new_revision(&w, revision_data(ss), hash, rev.to_owned(), *number);
                out.push(ApiWrite::Create {
                    target: Target::revision(ns, rev),
                    object: with_kind(&r, "apps/v1", "ControllerRevision"),
                });
            }
            ActionKind::UpdateRevision { number } => {
                let version = self.revs.get(rev).and_then(|r| r.metadata.resource_version.clone());
                out.push(ApiWrite::MergePatch {
                    target: Target::revision(ns, rev),
                    subresource: Subresource::Main,
                    patch: json!({"metadata": {"resourceVersion": version}, "revision": number}),
                });
            }
            ActionKind::SidecarSet(SidecarSetAction::LabelCustomVersion { version }) => {
                let rv = self.revs.get(rev).and_then(|r| r.metadata.resource_version.clone());
                out.push(ApiWrite::MergePatch {
                    target: Target::revision(ns, rev),
                    subresource: Subresource::Main,
                    patch: json!({"metadata": {"resourceVersion": rv,
                        "labels": {keys::SIDECARSET_CUSTOM_VERSION: version}}}),
                });
            }
            ActionKind::DeleteRevision => {
                let uid = self.revs.get(rev).and_then(|r| r.metadata.uid.clone());
                out.push(ApiWrite::Delete { target: Target::revision(ns, rev), uid });
            }
            ActionKind::SidecarSet(SidecarSetAction::SetSidecarImages { images, annotations }) => {
                let (cached, w) = self.pod_writer(a)?;
                let before = w.current(a, Some(cached))?;
                let mut after = before.clone();
                if let Some(spec) = after.spec.as_mut() {
                    for c in &mut spec.containers {
                        if let Some(img) = images.get(&c.name) {
                            c.image = Some(img.clone());
                        }
                    }
                }
                after.metadata.annotations.get_or_insert_with(Default::default).extend(annotations.clone());
                out.push(w.patch(a, Subresource::Main, &before, after));
            }
            ActionKind::UpdatePodStatus { condition } => {
                let now = self.input.now;
                let (cached, w) = self.pod_writer(a)?;
                out.push(w.set_condition(a, Some(cached), condition, now)?);
            }
            ActionKind::UpdateStatus => {
                let mut obj = ss.clone();
                obj.status = Some(self.plan.status.clone());
                out.push(ApiWrite::Replace {
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
            _ => return Err(WriteError::new(a, "not an action of a SidecarSet plan")),
        }
        Ok(())
    }
}

/// Turns each action of `p` into its API write(s), in order.
pub fn writes(input: &Input<'_>, p: &Plan) -> Result<Vec<PlannedWrite>, WriteError> {
    Ok(outcome(input, p)?.writes)
}

/// The adapter's view of a plan: writes, held pods, events and the requeue. Fails, naming the
/// action, if an action cannot be turned into writes.
pub fn outcome(input: &Input<'_>, p: &Plan) -> Result<Outcome, WriteError> {
    Outcome::from_plan(p, &mut SidecarSetWrites::new(input, p))
}
