//! Turning a [`Plan`] into concrete API writes: [`CloneSetReconciler`] implements
//! [`crate::reconciler::Reconciler`] for the v1beta1 CloneSet through [`CloneSetWrites`]
//! ([`crate::reconciler::Materialise`]). New objects (pods from [`super::new_pod`], PVCs,
//! revisions) are built whole; existing pods, PVCs and the CloneSet's `podsToDelete` are
//! patched, only where they change and guarded by what the plan read (STYLE.md §8); the
//! in-place spec is computed once per revision pair. An action that cannot be built is an
//! error naming it, never skipped.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kruise_api::apps::v1beta1::{CloneSet, CloneSetStatus};
use kruise_api::keys;
use serde_json::{Value, json};

use super::inplace::{self, InPlaceSpec, SpecCache, SpecOptions};
use super::revision::{self, Revisions};
use super::{Action, ActionKind, Input, Plan, Reason, plan};
use crate::imagepulljob::predownload::{PREDOWNLOAD_RELATED, controlled_jobs};
use crate::reconciler::{
    Context, Materialise, Outcome, PlannedWrite, ReconcileError, Reconciler, RelatedKind, WorkloadEvent,
    World, WriteError,
};
use crate::write::pod::{self, PodWrites, object as to_value};
use crate::write::{ApiWrite, Subresource, Target, json_patch};

/// The CloneSet planner as adapters see it.
#[derive(Clone, Copy, Debug, Default)]
pub struct CloneSetReconciler;

impl Reconciler for CloneSetReconciler {
    type Workload = CloneSet;

    fn reconcile(&self, world: &World<'_, CloneSet>, ctx: &Context<'_>) -> Result<Outcome, ReconcileError> {
        let input = Input {
            cloneset: world.workload,
            pods: world.pods,
            pvcs: world.pvcs,
            revisions: world.revisions,
            nodes: world.nodes,
            now: ctx.now,
            id_seed: ctx.id_seed,
            features: ctx.features,
            expectations: ctx.expectations,
            pub_decisions: None,
        };
        let mut p = plan(&input).map_err(|e| ReconcileError(Box::new(e)))?;
        // IPJ-40..IPJ-42: pre-download jobs, after the plan's own actions (gate off: none).
        let jobs = if ctx.features.pre_download_image_for_in_place_update {
            controlled_jobs(world.related, world.workload.metadata.uid.as_deref())?
        } else {
            Vec::new()
        };
        p.actions.extend(super::predownload::actions(&input, &jobs));
        let revs: Revisions = revision::resolve(input.cloneset, input.revisions);
        let mut w = CloneSetWrites::new(&input, &revs, &p.status).with_image_pull_jobs(&jobs);
        Ok(Outcome::from_plan(&p, &mut w)?)
    }

    fn related_kinds(&self) -> &'static [RelatedKind] {
        PREDOWNLOAD_RELATED
    }
}

fn cs_target(cs: &CloneSet) -> Target {
    Target::of("apps.kruise.io/v1beta1", "CloneSet", &cs.metadata)
}

pub use crate::write::pod::set_pod_condition;

/// Turns a CloneSet plan's actions into API writes ([`Materialise`]). Writes to pods are
/// JSON patches of only what changes (STYLE.md §8): each is computed against the pod as the
/// plan's earlier writes leave it, so two writes to one pod in one plan (a refresh's
/// condition, then an in-place update, CS-70/CS-80) chain instead of conflicting, and no
/// write replaces a pod from a typed copy (fields the types do not know survive). Lists
/// (finalizers, ownerReferences, `podsToDelete`) are replaced only after a `test` that they
/// are still what the plan read.
pub struct CloneSetWrites<'i, 'a> {
    input: &'i Input<'a>,
    ns: &'i str,
    cs_name: &'i str,
    rev_by_name: BTreeMap<&'i str, &'i ControllerRevision>,
    by_name: BTreeMap<&'i str, &'i Pod>,
    pvcs: BTreeMap<&'i str, &'i k8s_openapi::api::core::v1::PersistentVolumeClaim>,
    templates: BTreeMap<String, k8s_openapi::api::core::v1::PodTemplateSpec>,
    specs: SpecCache,
    /// Pods as this plan's earlier writes leave them.
    pods_written: PodWrites,
    /// The status the plan computed (CS-82..CS-86).
    status: &'i CloneSetStatus,
    /// The ImagePullJobs the CloneSet controls (pre-download deletes carry their uid).
    jobs: &'i [kruise_api::apps::v1beta1::ImagePullJob],
}

impl std::fmt::Debug for CloneSetWrites<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloneSetWrites").field("cloneset", &self.cs_name).finish_non_exhaustive()
    }
}

impl<'i, 'a> CloneSetWrites<'i, 'a> {
    /// A writer for a plan of `input` with status `status`, the revisions resolved (`revs`,
    /// from [`revision::resolve`]).
    pub fn new(input: &'i Input<'a>, revs: &'i Revisions, status: &'i CloneSetStatus) -> Self {
        let cs = input.cloneset;
        // A table answers by name itself; a slice is indexed once, O(n log n).
        let by_name = match input.pods {
            super::Pods::Slice(s) => {
                s.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect()
            }
            super::Pods::Table(_) => BTreeMap::new(),
        };
        Self {
            input,
            ns: cs.metadata.namespace.as_deref().unwrap_or_default(),
            cs_name: cs.metadata.name.as_deref().unwrap_or_default(),
            rev_by_name: revs.sorted.iter().filter_map(|r| Some((r.metadata.name.as_deref()?, r))).collect(),
            by_name,
            pvcs: input.pvcs.iter().filter_map(|p| Some((p.metadata.name.as_deref()?, p))).collect(),
            templates: BTreeMap::new(),
            specs: SpecCache::default(),
            pods_written: PodWrites::new(cs.metadata.namespace.as_deref().unwrap_or_default()),
            status,
            jobs: &[],
        }
    }

    /// The ImagePullJobs the CloneSet controls, for the writes of its pre-download actions
    /// (IPJ-40).
    pub fn with_image_pull_jobs(mut self, jobs: &'i [kruise_api::apps::v1beta1::ImagePullJob]) -> Self {
        self.jobs = jobs;
        self
    }

    fn cached(&self, name: &str) -> Option<&'i Pod> {
        match self.input.pods {
            super::Pods::Slice(_) => self.by_name.get(name).copied(),
            super::Pods::Table(t) => t.get(name),
        }
    }

    /// The in-place options the feature gates select.
    fn spec_options(&self) -> SpecOptions {
        SpecOptions::from_features(&self.input.features)
    }

    fn in_place_spec(&mut self, from: &str, to: &str) -> Option<InPlaceSpec> {
        let opts = SpecOptions::from_features(&self.input.features);
        self.specs.get(&self.rev_by_name, from, to, opts)
    }
}

impl Materialise for CloneSetWrites<'_, '_> {
    fn writes(&mut self, a: &Action, out: &mut Vec<ApiWrite>) -> Result<(), WriteError> {
        let cs = self.input.cloneset;
        let (ns, cs_name) = (self.ns, self.cs_name);
        let now = self.input.now;
        let short = self.input.features.clone_set_short_hash;
        let pod_name = a.pod.as_deref().unwrap_or_default();
        match &a.kind {
            ActionKind::ImagePullJob(_) => match crate::imagepulljob::predownload::write(a, ns, self.jobs) {
                Some(w) => out.push(w),
                None => return Err(WriteError::new(a, "not an action of a CloneSet plan")),
            },
            ActionKind::StatefulSet(_)
            | ActionKind::DaemonSet(_)
            | ActionKind::SidecarSet(_)
            | ActionKind::BroadcastJob(_)
            | ActionKind::Rollout(_) => return Err(WriteError::new(a, "not an action of a CloneSet plan")),
            ActionKind::CreateRevision { .. }
            | ActionKind::UpdateRevision { .. }
            | ActionKind::DeleteRevision => {
                if let Some(w) = pod::revision_write(a, ns, &self.rev_by_name) {
                    out.push(w?);
                }
            }
            ActionKind::CreatePvc { pvc } => {
                let id = pod_name.strip_prefix(cs_name).and_then(|s| s.strip_prefix('-')).unwrap_or_default();
                let vct = cs
                    .spec
                    .volume_claim_templates
                    .iter()
                    .find(|v| &super::pvc_name(v, cs_name, id) == pvc)
                    .ok_or_else(|| WriteError::new(a, format!("no volumeClaimTemplate yields PVC {pvc}")))?;
                let object = to_value(&super::new_pvc(cs, vct, id), "v1", "PersistentVolumeClaim");
                out.push(ApiWrite::Create { target: Target::pvc(ns, pvc), object });
            }
            ActionKind::DeletePvc { pvc } => {
                let uid = self.pvcs.get(pvc.as_str()).and_then(|p| p.metadata.uid.clone());
                out.push(ApiWrite::Delete { target: Target::pvc(ns, pvc), uid });
            }
            ActionKind::UpdatePvc { pvc } => {
                let claim = self
                    .pvcs
                    .get(pvc.as_str())
                    .ok_or_else(|| WriteError::new(a, format!("PVC {pvc} is not in the input")))?;
                let owner = self.pods_written.current(a, self.cached(pod_name))?;
                let old = claim.metadata.owner_references.as_deref();
                let mut refs = old.unwrap_or_default().to_vec();
                refs.retain(|r| Some(r.uid.as_str()) != cs.metadata.uid.as_deref());
                refs.push(OwnerReference {
                    api_version: "v1".into(),
                    kind: "Pod".into(),
                    name: pod_name.to_owned(),
                    uid: owner.metadata.uid.clone().unwrap_or_default(),
                    controller: Some(true),
                    block_owner_deletion: None,
                });
                out.push(pod::owner_refs_patch(
                    Target::pvc(ns, pvc),
                    claim.metadata.uid.as_deref(),
                    old,
                    &refs,
                ));
            }
            ActionKind::ReleasePod | ActionKind::AdoptPod => {
                let owner = matches!(a.kind, ActionKind::AdoptPod).then(|| super::owner_ref(cs));
                let cached = self.cached(pod_name);
                out.push(self.pods_written.set_owner(a, cached, cs.metadata.uid.as_deref(), owner)?);
            }
            ActionKind::CreatePod { instance_id } => {
                let rev = a.revision.as_deref().unwrap_or_default();
                let rev_by_name = &self.rev_by_name;
                let template = self.templates.entry(rev.to_owned()).or_insert_with(|| {
                    rev_by_name
                        .get(rev)
                        .and_then(|r| revision::revision_template(r))
                        .unwrap_or_else(|| cs.spec.template.clone())
                });
                let pod = super::new_pod(cs, template, rev, instance_id, now, short);
                out.push(ApiWrite::Create {
                    target: Target::pod(ns, pod_name),
                    object: to_value(&pod, "v1", "Pod"),
                });
            }
            ActionKind::DeletePod => {
                let uid = self.cached(pod_name).and_then(|p| p.metadata.uid.clone());
                out.push(ApiWrite::Delete { target: Target::pod(ns, pod_name), uid });
            }
            ActionKind::PatchPod { patch } => {
                let cached = self.cached(pod_name);
                out.push(self.pods_written.patch_meta(a, cached, patch)?);
            }
            ActionKind::UpdatePodStatus { condition } => {
                let cached = self.cached(pod_name);
                out.push(self.pods_written.set_condition(a, cached, condition, now)?);
            }
            ActionKind::UpdateInPlace { from_revision } => {
                let cached = self.cached(pod_name);
                let to = a.revision.clone().unwrap_or_default();
                let spec = self.in_place_spec(from_revision, &to).ok_or_else(|| {
                    WriteError::new(a, format!("no in-place update from {from_revision} to {to}"))
                })?;
                let grace = cs
                    .spec
                    .update_strategy
                    .rolling_update
                    .as_ref()
                    .and_then(|r| r.in_place_update_strategy.as_ref())
                    .map_or(0, |s| s.grace_period_seconds);
                // CS-70: `InPlaceUpdateReady=False` only for a pod carrying that readiness gate;
                // a pod without it (e.g. adopted) gets no condition write, here or at completion.
                let gated = self
                    .pods_written
                    .current(a, cached)
                    .is_ok_and(|p| pod::has_readiness_gate(&p, keys::INPLACE_UPDATE_READY));
                self.pods_written.in_place(
                    a,
                    cached,
                    gated,
                    now,
                    |marked| inplace::apply_in_place(marked, &spec, now, grace, short),
                    out,
                )?;
            }
            ActionKind::FinishGracePeriod | ActionKind::ApplyNextBatch => {
                let cached = self.cached(pod_name);
                let opts = self.spec_options();
                let finish = matches!(a.kind, ActionKind::FinishGracePeriod);
                out.push(self.pods_written.step(a, cached, |p| {
                    if finish {
                        inplace::finish_grace(p, now)
                    } else {
                        inplace::apply_next_batch(p, now, opts)
                    }
                })?);
            }
            ActionKind::UpdateStatus => {
                let mut obj = cs.clone();
                obj.status = Some(self.status.clone());
                out.push(ApiWrite::Replace {
                    target: cs_target(cs),
                    subresource: Subresource::Status,
                    object: serde_json::to_value(&obj).unwrap_or_default(),
                });
            }
            ActionKind::UpdateSpec { pods_to_delete } => {
                // podsToDelete is the user's list: replaced only if nobody changed it (CS-55).
                let old = json!(cs.spec.scale_strategy.pods_to_delete);
                out.push(ApiWrite::JsonPatch {
                    target: cs_target(cs),
                    subresource: Subresource::Main,
                    patch: Value::Array(json_patch::guarded_list(
                        "/spec/scaleStrategy/podsToDelete",
                        Some(&old),
                        json!(pods_to_delete),
                    )),
                });
            }
        }
        Ok(())
    }

    fn action_event(&self, a: &Action) -> Option<WorkloadEvent> {
        event(a)
    }

    fn plan_event(&self, r: &Reason) -> Option<WorkloadEvent> {
        match r {
            Reason::ScaleUpLimited { limit, .. } => Some(WorkloadEvent {
                type_: "Warning".into(),
                reason: "ScaleUpLimited".into(),
                message: format!(
                    "scaleUp is limited because of scaleStrategy.maxUnavailable, limit: {limit}"
                ),
            }),
            _ => None,
        }
    }
}

/// Turns each action of `p` into its API write(s), in order.
pub fn writes(input: &Input<'_>, p: &Plan) -> Result<Vec<PlannedWrite>, WriteError> {
    Ok(outcome(input, p)?.writes)
}

fn event(a: &Action) -> Option<WorkloadEvent> {
    let pod = a.pod.as_deref().unwrap_or_default();
    let (reason, message) = match (&a.kind, &a.reason) {
        (ActionKind::CreatePod { .. }, _) => ("SuccessfulCreate", format!("succeed to create pod {pod}")),
        (ActionKind::DeletePod, _) => ("SuccessfulDelete", format!("succeed to delete pod {pod}")),
        (ActionKind::UpdateInPlace { .. }, _) => {
            ("SuccessfulUpdatePodInPlace", format!("successfully update pod {pod} in-place"))
        }
        (ActionKind::PatchPod { .. }, Reason::Update { recreate: true, .. }) => {
            ("SuccessfulUpdatePodReCreate", format!("successfully mark pod {pod} as specified-delete"))
        }
        _ => return None,
    };
    Some(WorkloadEvent { type_: "Normal".into(), reason: reason.into(), message })
}

/// The adapter's view of a plan: writes, held pods, events and the requeue. Fails, naming
/// the action, if an action cannot be turned into writes.
pub fn outcome(input: &Input<'_>, p: &Plan) -> Result<Outcome, WriteError> {
    let revs: Revisions = revision::resolve(input.cloneset, input.revisions);
    Outcome::from_plan(p, &mut CloneSetWrites::new(input, &revs, &p.status))
}
