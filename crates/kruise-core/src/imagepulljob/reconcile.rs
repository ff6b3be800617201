//! Turning an ImagePullJob [`Plan`] into API writes. Kept thin: [`ImagePullJobReconciler`]
//! implements [`crate::reconciler::Reconciler`]; the objects [`World`] does not carry
//! (NodeImages, secrets) are held by the reconciler value the adapter builds per reconcile.
//! Every write is guarded (STYLE.md §8): NodeImage and secret writes carry the
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
    Context, Materialise, Outcome, PlannedWrite, ReconcileError, Reconciler, World, WriteError,
};
use crate::write::{ApiWrite, Subresource, Target};

/// The ImagePullJob planner as adapters see it, with the NodeImages and secrets observed for
/// this reconcile.
#[derive(Clone, Copy, Debug)]
pub struct ImagePullJobReconciler<'a> {
    /// All NodeImages.
    pub node_images: &'a [NodeImage],
    /// The job's pull secrets and the copies in `daemon_namespace`.
    pub secrets: &'a [Secret],
    /// `kruise-daemon-config` unless overridden.
    pub daemon_namespace: &'a str,
}

impl Default for ImagePullJobReconciler<'_> {
    fn default() -> Self {
        Self { node_images: &[], secrets: &[], daemon_namespace: keys::KRUISE_DAEMON_CONFIG_NAMESPACE }
    }
}

impl Reconciler for ImagePullJobReconciler<'_> {
    type Workload = ImagePullJob;

    fn reconcile(
        &self,
        world: &World<'_, ImagePullJob>,
        ctx: &Context<'_>,
    ) -> Result<Outcome, ReconcileError> {
        let input = Input {
            job: world.workload,
            node_images: self.node_images,
            pods: world.pods,
            secrets: self.secrets,
            daemon_namespace: self.daemon_namespace,
            now: ctx.now,
            id_seed: ctx.id_seed,
            default_ttl_for_always: DEFAULT_TTL_FOR_ALWAYS_NODEIMAGE,
        };
        let p = plan(&input).map_err(|e| ReconcileError(Box::new(e)))?;
        Ok(outcome(&input, &p)?)
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
