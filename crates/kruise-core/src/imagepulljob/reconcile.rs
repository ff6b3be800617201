//! Turning an ImagePullJob [`Plan`] into API writes. Kept thin: [`ImagePullJobReconciler`]
//! implements [`crate::reconciler::Reconciler`] and reads the objects [`World`] has no field for
//! (NodeImages, Secrets) from [`World::related`], as every adapter hands them over
//! ([`Reconciler::related_kinds`]); [`related_objects`] decodes them, with errors naming the
//! item. Every write is guarded (STYLE.md §8): NodeImage and secret writes carry the
//! resourceVersion they were computed from, deletes the uid, finalizer edits a JSON-patch
//! `test`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kruise_api::apps::v1beta1::{ImagePullJob, NodeImage};
use kruise_api::keys;
use serde_json::json;

use super::{DEFAULT_TTL_FOR_ALWAYS_NODEIMAGE, Input, Plan, plan};
use crate::plan::{Action, ActionKind, ImagePullJobAction};
use crate::reconciler::{
    Context, Materialise, Outcome, PlannedWrite, ReconcileError, Reconciler, RelatedKind, World, WriteError,
};
use crate::write::{ApiWrite, Subresource, Target};

/// The kinds an ImagePullJob reconcile reads besides its pods: NodeImages (cluster-scoped, every
/// one: IPJ-12 picks the targets among them) and Secrets (IPJ-15, IPJ-16).
///
/// Secrets are namespaced, and an adapter hands over those of the workload's namespace (the
/// job's `pullSecrets`). The copies the job makes live in the daemon namespace
/// ([`ImagePullJobReconciler::daemon_namespace`], `kruise-daemon-config` by default), so an
/// adapter must also hand over the Secrets of that namespace (at least those annotated with
/// `keys::IMAGEPULLJOB_SOURCE_KEY`): without them a reconcile sees no copy, makes a new one on
/// each pass and never releases the old ones when the job goes.
pub const IMAGEPULLJOB_RELATED: &[RelatedKind] = &[
    RelatedKind {
        group: "apps.kruise.io",
        version: "v1beta1",
        kind: "NodeImage",
        plural: "nodeimages",
        namespaced: false,
    },
    RelatedKind { group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true },
];

/// The NodeImages and Secrets among `related` (other objects are ignored), NodeImages in the
/// v1beta1 shape (a `v1alpha1` one is converted). An item that does not decode, or has no
/// name, is an error naming its index, kind and name (`related[3] (NodeImage/node-a): ...`).
pub fn related_objects(
    related: &[serde_json::Value],
) -> Result<(Vec<NodeImage>, Vec<Secret>), ReconcileError> {
    let (ni_kind, secret_kind) = (&IMAGEPULLJOB_RELATED[0], &IMAGEPULLJOB_RELATED[1]);
    let mut node_images = Vec::new();
    let mut secrets = Vec::new();
    for (i, obj) in related.iter().enumerate() {
        let kind = if ni_kind.matches(obj) {
            ni_kind.kind
        } else if secret_kind.matches(obj) {
            secret_kind.kind
        } else {
            continue;
        };
        let Some(name) = obj.pointer("/metadata/name").and_then(serde_json::Value::as_str) else {
            return Err(ReconcileError(
                format!("related[{i}].metadata.name: a {kind} without a name").into(),
            ));
        };
        let bad = |e: serde_json::Error| ReconcileError(format!("related[{i}] ({kind}/{name}): {e}").into());
        if kind == ni_kind.kind {
            let v1alpha1 =
                obj.get("apiVersion").and_then(serde_json::Value::as_str) == Some("apps.kruise.io/v1alpha1");
            node_images.push(if v1alpha1 {
                let old: kruise_api::apps::v1alpha1::NodeImage =
                    serde_json::from_value(obj.clone()).map_err(bad)?;
                kruise_api::convert::nodeimage_to_v1beta1(&old)
            } else {
                serde_json::from_value(obj.clone()).map_err(bad)?
            });
        } else {
            secrets.push(serde_json::from_value(obj.clone()).map_err(bad)?);
        }
    }
    Ok((node_images, secrets))
}

/// The ImagePullJob planner as adapters see it: [`World::pods`] are the pods of the job's
/// namespace (read with `podSelector`), and [`World::related`] carries the NodeImages and the
/// Secrets ([`IMAGEPULLJOB_RELATED`] says which namespaces).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImagePullJobReconciler {
    /// Where secret copies live: `kruise-daemon-config` ([`Default`]) unless the operator
    /// overrides it.
    pub daemon_namespace: String,
}

impl Default for ImagePullJobReconciler {
    fn default() -> Self {
        Self { daemon_namespace: keys::KRUISE_DAEMON_CONFIG_NAMESPACE.to_owned() }
    }
}

impl Reconciler for ImagePullJobReconciler {
    type Workload = ImagePullJob;

    fn reconcile(
        &self,
        world: &World<'_, ImagePullJob>,
        ctx: &Context<'_>,
    ) -> Result<Outcome, ReconcileError> {
        let (node_images, secrets) = related_objects(world.related)?;
        // The planner reads a slice. Adapters hand an ImagePullJob the pods its selector reads as a
        // slice (kruise-kube's `reads`, the simulator's pod scope), so this borrows; a table
        // would be collected once.
        let pods = world.pods.to_slice();
        let input = Input {
            job: world.workload,
            node_images: &node_images,
            pods: &pods,
            secrets: &secrets,
            daemon_namespace: &self.daemon_namespace,
            now: ctx.now,
            id_seed: ctx.id_seed,
            default_ttl_for_always: DEFAULT_TTL_FOR_ALWAYS_NODEIMAGE,
        };
        let p = plan(&input).map_err(|e| ReconcileError(Box::new(e)))?;
        Ok(outcome(&input, &p)?)
    }

    fn related_kinds(&self) -> &'static [RelatedKind] {
        IMAGEPULLJOB_RELATED
    }
}

fn job_target(job: &ImagePullJob) -> Target {
    Target::namespaced(
        "apps.kruise.io/v1beta1",
        "ImagePullJob",
        job.metadata.namespace.as_deref().unwrap_or_default(),
        job.metadata.name.as_deref().unwrap_or_default(),
    )
}

fn node_image_target(name: &str) -> Target {
    Target {
        api_version: "apps.kruise.io/v1beta1".into(),
        kind: "NodeImage".into(),
        namespace: None,
        name: name.into(),
    }
}

/// Turns an ImagePullJob plan's actions into API writes ([`Materialise`]). Each write is guarded:
/// finalizer and NodeImage patches carry the resourceVersion they were computed from, deletes the
/// uid. An action it cannot build is an error naming it, never skipped.
pub struct ImagePullJobWrites<'i, 'a> {
    input: &'i Input<'a>,
    plan: &'i Plan,
    nis: BTreeMap<&'i str, &'i NodeImage>,
}

impl std::fmt::Debug for ImagePullJobWrites<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImagePullJobWrites")
            .field("job", &self.input.job.metadata.name)
            .finish_non_exhaustive()
    }
}

impl<'i, 'a> ImagePullJobWrites<'i, 'a> {
    /// A writer for plan `p` of `input`.
    pub fn new(input: &'i Input<'a>, p: &'i Plan) -> Self {
        let nis = input.node_images.iter().filter_map(|n| Some((n.metadata.name.as_deref()?, n))).collect();
        Self { input, plan: p, nis }
    }

    /// True when the plan adds the job's finalizer (IPJ-10 step 4).
    fn adds_finalizer(&self) -> bool {
        self.plan
            .actions
            .iter()
            .any(|a| matches!(a.kind, ActionKind::ImagePullJob(ImagePullJobAction::AddFinalizer)))
    }

    fn secret_uid(&self, name: &str) -> Option<String> {
        self.input
            .secrets
            .iter()
            .find(|s| {
                s.metadata.namespace.as_deref() == Some(self.input.daemon_namespace)
                    && s.metadata.name.as_deref() == Some(name)
            })
            .and_then(|s| s.metadata.uid.clone())
    }
}

impl Materialise for ImagePullJobWrites<'_, '_> {
    fn writes(&mut self, a: &Action, out: &mut Vec<ApiWrite>) -> Result<(), WriteError> {
        let input = self.input;
        let job = input.job;
        let subject = a.object.as_ref().map(|o| o.name.as_str()).unwrap_or_default();
        let write = match &a.kind {
            ActionKind::ImagePullJob(ImagePullJobAction::AddFinalizer) => ApiWrite::MergePatch {
                target: job_target(job),
                subresource: Subresource::Main,
                patch: {
                    let mut f = job.metadata.finalizers.clone().unwrap_or_default();
                    f.push(keys::DELETION_PROTECTION_FINALIZER.into());
                    json!({"metadata": {"resourceVersion": job.metadata.resource_version, "finalizers": f}})
                },
            },
            ActionKind::ImagePullJob(ImagePullJobAction::RemoveFinalizer) => ApiWrite::MergePatch {
                target: job_target(job),
                subresource: Subresource::Main,
                patch: {
                    let f: Vec<String> = job
                        .metadata
                        .finalizers
                        .iter()
                        .flatten()
                        .filter(|f| *f != keys::DELETION_PROTECTION_FINALIZER)
                        .cloned()
                        .collect();
                    json!({"metadata": {"resourceVersion": job.metadata.resource_version, "finalizers": f}})
                },
            },
            ActionKind::ImagePullJob(ImagePullJobAction::DeleteJob) => {
                ApiWrite::Delete { target: job_target(job), uid: job.metadata.uid.clone() }
            }
            ActionKind::ImagePullJob(ImagePullJobAction::WriteNodeImage { image, spec }) => {
                ApiWrite::MergePatch {
                    target: node_image_target(subject),
                    subresource: Subresource::Main,
                    patch: json!({
                        "metadata": {"resourceVersion": self.nis.get(subject).and_then(|n| n.metadata.resource_version.clone())},
                        "spec": {"images": {image: spec}},
                    }),
                }
            }
            ActionKind::ImagePullJob(ImagePullJobAction::CreateSecret { secret }) => ApiWrite::Create {
                target: Target::namespaced("v1", "Secret", input.daemon_namespace, subject),
                object: secret.clone(),
            },
            ActionKind::ImagePullJob(ImagePullJobAction::UpdateSecret { secret }) => ApiWrite::Replace {
                target: Target::namespaced("v1", "Secret", input.daemon_namespace, subject),
                subresource: Subresource::Main,
                object: secret.clone(),
            },
            ActionKind::ImagePullJob(ImagePullJobAction::DeleteSecret) => ApiWrite::Delete {
                target: Target::namespaced("v1", "Secret", input.daemon_namespace, subject),
                uid: self.secret_uid(subject),
            },
            ActionKind::UpdateStatus if self.adds_finalizer() => {
                // The plan's own finalizer patch moves the job's resourceVersion first, so a
                // status replace under the version read would always conflict: the status is
                // written by a JSON patch that tests the job is the one read, as that patch
                // leaves it (same uid, same finalizers).
                let mut f = job.metadata.finalizers.clone().unwrap_or_default();
                f.push(keys::DELETION_PROTECTION_FINALIZER.into());
                ApiWrite::JsonPatch {
                    target: job_target(job),
                    subresource: Subresource::Status,
                    patch: json!([
                        {"op": "test", "path": "/metadata/uid", "value": job.metadata.uid},
                        {"op": "test", "path": "/metadata/finalizers", "value": f},
                        {"op": "add", "path": "/status", "value": self.plan.status},
                    ]),
                }
            }
            ActionKind::UpdateStatus => {
                let mut obj = job.clone();
                obj.status = Some(self.plan.status.clone());
                ApiWrite::Replace {
                    target: job_target(job),
                    subresource: Subresource::Status,
                    object: serde_json::to_value(&obj).unwrap_or_default(),
                }
            }
            _ => return Err(WriteError::new(a, "not an action of an ImagePullJob plan")),
        };
        out.push(write);
        Ok(())
    }
}

/// Turns each action of `p` into its API write, in order.
pub fn writes(input: &Input<'_>, p: &Plan) -> Result<Vec<PlannedWrite>, WriteError> {
    Ok(outcome(input, p)?.writes)
}

/// The adapter's view of a plan: writes, held NodeImages, no events of its own (warnings are in
/// the plan's `events`), and the requeue. Fails, naming the action, if an action cannot be
/// turned into writes.
pub fn outcome(input: &Input<'_>, p: &Plan) -> Result<Outcome, WriteError> {
    Outcome::from_plan(p, &mut ImagePullJobWrites::new(input, p))
}
