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
use crate::plan::{ActionKind, ImagePullJobAction};
use crate::reconciler::{Context, HeldPod, Outcome, PlannedWrite, ReconcileError, Reconciler, World};
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
        Ok(outcome(&input, &p))
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

/// Turns each action of `p` into its API write, in order.
pub fn writes(input: &Input<'_>, p: &Plan) -> Vec<PlannedWrite> {
    let job = input.job;
    let nis: BTreeMap<&str, &NodeImage> =
        input.node_images.iter().filter_map(|n| Some((n.metadata.name.as_deref()?, n))).collect();
    let secret_rv = |name: &str| {
        input
            .secrets
            .iter()
            .find(|s| {
                s.metadata.namespace.as_deref() == Some(input.daemon_namespace)
                    && s.metadata.name.as_deref() == Some(name)
            })
            .map(|s| (s.metadata.resource_version.clone(), s.metadata.uid.clone()))
    };
    let mut out = Vec::new();
    for a in &p.actions {
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
                        "metadata": {"resourceVersion": nis.get(subject).and_then(|n| n.metadata.resource_version.clone())},
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
                uid: secret_rv(subject).and_then(|(_, uid)| uid),
            },
            ActionKind::UpdateStatus => {
                let mut obj = job.clone();
                obj.status = Some(p.status.clone());
                ApiWrite::Replace {
                    target: job_target(job),
                    subresource: Subresource::Status,
                    object: serde_json::to_value(&obj).unwrap_or_default(),
                }
            }
            _ => continue,
        };
        out.push(PlannedWrite {
            action: a.kind.name().to_owned(),
            pod: None,
            reason: a.reason.kind().to_owned(),
            detail: a.reason.to_string(),
            write,
        });
    }
    out
}

/// The adapter's view of a plan: writes, held NodeImages (`nodeimage/<name>`), no events of
/// its own (warnings are in the plan's `events`), and the requeue.
pub fn outcome(input: &Input<'_>, p: &Plan) -> Outcome {
    Outcome {
        writes: writes(input, p),
        held: p
            .held
            .iter()
            .filter_map(|h| {
                let o = h.object.as_ref()?;
                Some(HeldPod {
                    pod: format!("nodeimage/{}", o.name),
                    reason: h.reason.kind().into(),
                    detail: h.reason.to_string(),
                })
            })
            .collect(),
        events: Vec::new(),
        requeue_after: p.requeue.as_ref().map(|r| (r.after, r.reason.kind().to_owned())),
    }
}
