//! A deliberately small reference controller: ReplicaSet semantics over a CloneSet manifest
//! (keep `replicas` pods of the current template, replace pods of an older template one at a
//! time, recreate-only). It exists to test the simulator independently of the real CloneSet
//! planner, and to show what a controller that ignores expectations does on a lagging cache.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::v1beta1::CloneSet;
use kruise_core::plan::{Action, ActionKind, Held, Reason, Requeue};
use kruise_core::reconciler::{Context, Outcome, PlannedWrite, ReconcileError, Reconciler, World};
use kruise_core::write::{ApiWrite, Subresource, Target};
use serde_json::json;

use crate::rng::{SplitMix64, fnv1a64};

/// The revision label the reference controller writes.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// ReplicaSet-like reconciler for `apps.kruise.io/v1beta1` CloneSets.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReplicaReconciler;

fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn name_of(p: &Pod) -> &str {
    p.metadata.name.as_deref().unwrap_or_default()
}

fn revision_of(p: &Pod) -> Option<&str> {
    p.metadata.labels.as_ref().and_then(|l| l.get(REVISION_LABEL)).map(String::as_str)
}

impl Reconciler for ReplicaReconciler {
    type Workload = CloneSet;

    fn reconcile(&self, world: &World<'_, CloneSet>, ctx: &Context<'_>) -> Result<Outcome, ReconcileError> {
        let cs = world.workload;
        let name = cs.metadata.name.clone().unwrap_or_default();
        let ns = cs.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        let uid = cs.metadata.uid.clone().unwrap_or_default();
        let replicas = usize::try_from(cs.spec.replicas.unwrap_or(1).max(0)).unwrap_or(0);
        let template = serde_json::to_value(&cs.spec.template).map_err(|e| ReconcileError(Box::new(e)))?;
        let revision = format!("{name}-{:08x}", fnv1a64(&[template.to_string().as_bytes()]) as u32);
        let mut out = Outcome::default();
        let active: Vec<&Pod> =
            world.pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect();
        let ready = active.iter().filter(|p| is_ready(p)).count();
        let updated = active.iter().filter(|p| revision_of(p) == Some(revision.as_str())).count();
        let status = json!({"status": {
            "observedGeneration": cs.metadata.generation.unwrap_or(0),
            "replicas": active.len(), "readyReplicas": ready, "availableReplicas": ready,
            "updatedReplicas": updated,
            "updatedReadyReplicas": active.iter().filter(|p| revision_of(p) == Some(revision.as_str()) && is_ready(p)).count(),
            "updateRevision": revision, "currentRevision": revision,
            "labelSelector": format!("app={name}"),
        }});
        let have = i32::try_from(active.len()).unwrap_or(i32::MAX);
        let want = i32::try_from(replicas).unwrap_or(i32::MAX);
        let status_write = PlannedWrite {
            action: Action::new(ActionKind::UpdateStatus, None, None, Reason::StatusChanged),
            write: ApiWrite::MergePatch {
                target: Target::namespaced("apps.kruise.io/v1beta1", "CloneSet", &ns, &name),
                subresource: Subresource::Status,
                patch: status,
            },
        };
        if !ctx.expectations.scale_satisfied() {
            let p = ctx.expectations.pending();
            out.requeue_after = Some(Requeue {
                after: std::time::Duration::from_secs(1),
                reason: Reason::AwaitingExpectations {
                    creates: p.as_ref().map_or(0, |p| p.creates),
                    deletes: p.as_ref().map_or(0, |p| p.deletes),
                    resource_versions: p.as_ref().map_or(0, |p| p.resource_versions),
                },
            });
            return Ok(out);
        }
        if active.len() < replicas {
            let taken: BTreeSet<&str> = world.pods.iter().map(name_of).collect();
            let mut rng = SplitMix64::new(ctx.id_seed);
            let mut names = BTreeSet::new();
            while names.len() < replicas - active.len() {
                let id: String = (0..5)
                    .map(|_| char::from(b"bcdfghjklmnpqrstvwxz2456789"[rng.below(27) as usize]))
                    .collect();
                let n = format!("{name}-{id}");
                if !taken.contains(n.as_str()) {
                    names.insert((n, id));
                }
            }
            for (pod_name, id) in names {
                let mut labels = template.pointer("/metadata/labels").cloned().unwrap_or_else(|| json!({}));
                labels[REVISION_LABEL] = json!(revision);
                let pod = json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": pod_name, "namespace": ns, "labels": labels,
                        "ownerReferences": [{"apiVersion": "apps.kruise.io/v1beta1", "kind": "CloneSet", "name": name, "uid": uid, "controller": true, "blockOwnerDeletion": true}]},
                    "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
                });
                out.writes.push(PlannedWrite {
                    action: Action::new(
                        ActionKind::CreatePod { instance_id: id },
                        Some(&pod_name),
                        Some(&revision),
                        Reason::ScaleUp { have, want },
                    ),
                    write: ApiWrite::Create { target: Target::pod(&ns, &pod_name), object: pod },
                });
            }
        } else if active.len() > replicas {
            let mut victims = active.clone();
            victims.sort_by(|a, b| {
                is_ready(a)
                    .cmp(&is_ready(b))
                    .then_with(|| b.metadata.creation_timestamp.cmp(&a.metadata.creation_timestamp))
                    .then_with(|| name_of(a).cmp(name_of(b)))
            });
            for p in victims.into_iter().take(active.len() - replicas) {
                out.writes.push(delete(p, &ns, Reason::ScaleDown { have, want }));
            }
        } else {
            let mut old: Vec<&Pod> =
                active.iter().copied().filter(|p| revision_of(p) != Some(revision.as_str())).collect();
            old.sort_by(|a, b| name_of(a).cmp(name_of(b)));
            let unavailable = active.len() - ready;
            for (i, p) in old.iter().enumerate() {
                if i == 0 && unavailable == 0 {
                    out.writes.push(delete(p, &ns, Reason::Update { update_num: 1, recreate: true }));
                } else {
                    let unavailable = unavailable + usize::from(i > 0 || unavailable > 0);
                    out.held.push(Held::pod(
                        name_of(p),
                        Reason::MaxUnavailable {
                            unavailable: i32::try_from(unavailable).unwrap_or(i32::MAX),
                            limit: 1,
                        },
                    ));
                }
            }
        }
        out.writes.push(status_write);
        Ok(out)
    }
}

fn delete(p: &Pod, ns: &str, reason: Reason) -> PlannedWrite {
    PlannedWrite {
        action: Action::new(ActionKind::DeletePod, Some(name_of(p)), revision_of(p), reason),
        write: ApiWrite::Delete { target: Target::pod(ns, name_of(p)), uid: p.metadata.uid.clone() },
    }
}
