//! Automatic image pre-download before an in-place rollout (IPJ-40..IPJ-42), as a pure function
//! a CloneSet, Advanced StatefulSet or Advanced DaemonSet planner calls: [`plan`] returns the
//! actions (create one ImagePullJob per changed container, label the update revision as
//! handled, or delete the workload's jobs when the rollout is over).
//!
//! The caller resolves its own numbers (each workload rounds differently, IPJ-41) into
//! [`Facts`], and [`skip_reason`] applies the skip conditions. Jobs are planned once per
//! revision: a revision labelled `apps.kruise.io/pre-predownload-created` or
//! `apps.kruise.io/image-predownload-ignored` is never handled again.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta, OwnerReference,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::broadcastjob::completion_policy_type;
use kruise_api::apps::v1beta1::{
    CompletionPolicy, ImagePullJob, ImagePullJobPodSelector, ImagePullJobSpec, PullPolicy, SandboxConfig,
};
use kruise_api::keys;
use serde_json::json;

use crate::plan::{Action, ActionKind, ImagePullJobAction, ImagePullJobReason, ObjectRef, Reason};
use crate::reconciler::{ReconcileError, RelatedKind};
use crate::write::{ApiWrite, Subresource, Target};

/// The kind a workload that pre-downloads reads besides its pods (ImagePullJobs of its
/// namespace), for `Reconciler::related_kinds`.
pub const PREDOWNLOAD_RELATED: &[RelatedKind] = &[RelatedKind {
    group: "apps.kruise.io",
    version: "v1beta1",
    kind: "ImagePullJob",
    plural: "imagepulljobs",
    namespaced: true,
}];

/// The ImagePullJobs among `related` (other kinds are ignored) whose controller owner
/// reference has uid `owner_uid`, in the v1beta1 shape (a `v1alpha1` one is converted), by
/// name. An ImagePullJob that does not decode is an error naming its index and name.
pub fn controlled_jobs(
    related: &[serde_json::Value],
    owner_uid: Option<&str>,
) -> Result<Vec<ImagePullJob>, ReconcileError> {
    let Some(uid) = owner_uid else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for (i, obj) in related.iter().enumerate() {
        if !PREDOWNLOAD_RELATED[0].matches(obj) {
            continue;
        }
        let name = obj.pointer("/metadata/name").and_then(serde_json::Value::as_str).unwrap_or_default();
        let bad =
            |e: serde_json::Error| ReconcileError(format!("related[{i}] (ImagePullJob/{name}): {e}").into());
        let v1alpha1 =
            obj.get("apiVersion").and_then(serde_json::Value::as_str) == Some("apps.kruise.io/v1alpha1");
        let job: ImagePullJob = if v1alpha1 {
            let old: kruise_api::apps::v1alpha1::ImagePullJob =
                serde_json::from_value(obj.clone()).map_err(bad)?;
            kruise_api::convert::imagepulljob_to_v1beta1(&old)
        } else {
            serde_json::from_value(obj.clone()).map_err(bad)?
        };
        let controlled = job
            .metadata
            .owner_references
            .iter()
            .flatten()
            .any(|r| r.controller == Some(true) && r.uid == uid);
        if controlled {
            out.push(job);
        }
    }
    out.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(out)
}

/// IPJ-40, IPJ-42: the pre-download settings an Advanced StatefulSet or DaemonSet carries as
/// annotations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AnnotationSettings {
    /// `apps.kruise.io/image-predownload-parallelism` (an integer; otherwise unset).
    pub parallelism: Option<IntOrString>,
    /// `apps.kruise.io/image-predownload-timeout-seconds` (an integer; otherwise unset).
    pub timeout_seconds: Option<i32>,
    /// `apps.kruise.io/image-predownload-min-updated-ready-pods`, resolved against `replicas`
    /// (an integer, or a percent rounded up; otherwise 0).
    pub min_updated_ready_pods: i32,
}

/// Reads [`AnnotationSettings`] from a workload's annotations. A value that does not parse
/// counts as unset (upstream logs it and goes on with the default).
pub fn annotation_settings(
    annotations: Option<&BTreeMap<String, String>>,
    replicas: i32,
) -> AnnotationSettings {
    let get = |k: &str| annotations.and_then(|a| a.get(k)).map(|v| v.trim());
    let int = |k: &str| get(k).and_then(|v| v.parse::<i32>().ok());
    let min_updated_ready_pods = match get(keys::IMAGE_PREDOWNLOAD_MIN_UPDATED_READY_PODS) {
        Some(v) if v.ends_with('%') => {
            kruise_api::intstr::scaled_kruise(Some(&IntOrString::String(v.to_owned())), replicas, true)
                .unwrap_or(0)
        }
        Some(v) => v.parse().unwrap_or(0),
        None => 0,
    };
    AnnotationSettings {
        parallelism: int(keys::IMAGE_PREDOWNLOAD_PARALLELISM).map(IntOrString::Int),
        timeout_seconds: int(keys::IMAGE_PREDOWNLOAD_TIMEOUT_SECONDS),
        min_updated_ready_pods,
    }
}

/// The images of a revision's containers, by container name (IPJ-42's "old" images).
pub fn container_images(template: Option<&PodTemplateSpec>) -> BTreeMap<String, String> {
    template
        .and_then(|t| t.spec.as_ref())
        .map(|s| s.containers.iter().map(|c| (c.name.clone(), c.image.clone().unwrap_or_default())).collect())
        .unwrap_or_default()
}

/// The API write of a pre-download action of a workload in `namespace`: create the job,
/// delete it (guarded by the uid of the job of that name among `jobs`), or merge-patch the
/// update revision's label. `None` for any other action.
pub fn write(a: &Action, namespace: &str, jobs: &[ImagePullJob]) -> Option<ApiWrite> {
    let ActionKind::ImagePullJob(kind) = &a.kind else { return None };
    let name = a.object.as_ref().map(|o| o.name.as_str()).unwrap_or_default();
    let job_target = || Target::namespaced("apps.kruise.io/v1beta1", "ImagePullJob", namespace, name);
    Some(match kind {
        ImagePullJobAction::CreateImagePullJob { job } => {
            ApiWrite::Create { target: job_target(), object: job.clone() }
        }
        ImagePullJobAction::DeleteImagePullJob => ApiWrite::Delete {
            target: job_target(),
            uid: jobs
                .iter()
                .find(|j| j.metadata.name.as_deref() == Some(name))
                .and_then(|j| j.metadata.uid.clone()),
        },
        ImagePullJobAction::LabelRevision { label } => ApiWrite::MergePatch {
            target: Target::namespaced("apps/v1", "ControllerRevision", namespace, name),
            subresource: Subresource::Main,
            patch: json!({"metadata": {"labels": {label.as_str(): "true"}}}),
        },
        _ => return None,
    })
}

/// IPJ-42: default pull timeout of a pre-download job, seconds.
pub const DEFAULT_TIMEOUT_SECONDS: i32 = 300;
/// IPJ-42: `ttlSecondsAfterFinished` of a pre-download job.
pub const JOB_TTL_SECONDS: i32 = 600;

/// Which workload asks (IPJ-41's skip conditions differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadKind {
    /// CloneSet.
    CloneSet,
    /// Advanced StatefulSet.
    StatefulSet,
    /// Advanced DaemonSet.
    DaemonSet,
}

/// IPJ-41: the numbers of the skip conditions, resolved by the workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Facts {
    /// CloneSet / StatefulSet: a rolling update that is not `ReCreate` (and, for a
    /// StatefulSet, not `OnDelete`). Always true for a DaemonSet.
    pub in_place_strategy: bool,
    /// `replicas` (CloneSet / StatefulSet) or `desiredNumberScheduled` (DaemonSet).
    pub replicas: i32,
    /// The partition, resolved.
    pub partition: i32,
    /// `maxUnavailable`, resolved (CloneSet / StatefulSet: percent rounded down; DaemonSet:
    /// rounded up).
    pub max_unavailable: i32,
    /// The revision change can be applied in place (CloneSet / StatefulSet).
    pub in_place_possible: bool,
}

/// IPJ-41: why the revision is not pre-downloaded, if it is not.
pub fn skip_reason(kind: WorkloadKind, f: &Facts) -> Option<&'static str> {
    let all_at_once = f.partition == 0 && f.max_unavailable >= f.replicas;
    match kind {
        WorkloadKind::DaemonSet => all_at_once.then_some("every pod may be updated at once"),
        WorkloadKind::CloneSet | WorkloadKind::StatefulSet => {
            if !f.in_place_strategy {
                Some("not an in-place rolling update")
            } else if f.replicas <= 3 {
                Some("replicas <= 3")
            } else if all_at_once {
                Some("every pod may be updated at once")
            } else if !f.in_place_possible {
                Some("the revision change cannot be done in place")
            } else {
                None
            }
        }
    }
}

/// Everything the pre-download decision reads.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// Which workload.
    pub kind: WorkloadKind,
    /// The workload as the jobs' controller owner reference.
    pub owner: &'a OwnerReference,
    /// The workload's namespace.
    pub namespace: &'a str,
    /// The workload's selector.
    pub selector: &'a LabelSelector,
    /// The update revision's pod template.
    pub template: &'a PodTemplateSpec,
    /// The update revision.
    pub update_revision: &'a ControllerRevision,
    /// Container name → image of the old revision(s) (a DaemonSet passes every old revision).
    pub old_images: &'a [BTreeMap<String, String>],
    /// IPJ-40: a rollout is in progress (revisions differ; for a DaemonSet, not every node
    /// updated or the hash differs).
    pub rolling: bool,
    /// IPJ-40: `minUpdatedReadyPods <= updatedReadyReplicas` (always true for a DaemonSet).
    pub min_ready_reached: bool,
    /// IPJ-41 facts.
    pub facts: Facts,
    /// IPJ-42: `parallelism` of the jobs (default int 1).
    pub parallelism: Option<&'a IntOrString>,
    /// IPJ-42: `pullPolicy.timeoutSeconds` of the jobs (default 300).
    pub timeout_seconds: Option<i32>,
    /// ImagePullJobs controlled by the workload.
    pub existing_jobs: &'a [ImagePullJob],
}

fn reason(detail: impl Into<String>) -> Reason {
    Reason::ImagePullJob(ImagePullJobReason::PreDownload { detail: detail.into() })
}

/// IPJ-42: the names of the containers whose image differs from any old revision (or that
/// are new), in template order.
pub fn changed_containers(
    template: &PodTemplateSpec,
    old: &[BTreeMap<String, String>],
) -> Vec<(String, String)> {
    template
        .spec
        .iter()
        .flat_map(|s| &s.containers)
        .filter_map(|c| {
            let image = c.image.clone().unwrap_or_default();
            let changed = old.is_empty() || old.iter().any(|o| o.get(&c.name) != Some(&image));
            changed.then(|| (c.name.clone(), image))
        })
        .collect()
}

/// IPJ-42: the job for one container.
pub fn job_for(input: &Input<'_>, container: &str, image: &str) -> ImagePullJob {
    let rev = input.update_revision.metadata.name.clone().unwrap_or_default();
    let hash = input
        .update_revision
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(keys::CONTROLLER_REVISION_HASH_LABEL))
        .cloned()
        .unwrap_or_default();
    let tm = input.template.metadata.clone().unwrap_or_default();
    let mut labels = tm.labels.clone().unwrap_or_default();
    labels.insert(keys::CONTROLLER_REVISION_HASH_LABEL.into(), hash.clone());
    let mut exprs = input.selector.match_expressions.clone().unwrap_or_default();
    exprs.push(LabelSelectorRequirement {
        key: keys::CONTROLLER_REVISION_HASH.into(),
        operator: "NotIn".into(),
        values: Some(vec![rev.clone(), hash]),
    });
    let pull_secrets: Vec<String> = input
        .template
        .spec
        .iter()
        .flat_map(|s| s.image_pull_secrets.iter().flatten())
        .map(|r| r.name.clone())
        .collect();
    ImagePullJob {
        metadata: ObjectMeta {
            name: Some(format!("{rev}-{container}")),
            namespace: Some(input.namespace.to_owned()),
            labels: Some(labels.clone()),
            owner_references: Some(vec![input.owner.clone()]),
            ..Default::default()
        },
        spec: ImagePullJobSpec {
            image: image.to_owned(),
            pull_secrets: (!pull_secrets.is_empty()).then_some(pull_secrets),
            pod_selector: Some(ImagePullJobPodSelector {
                match_labels: input.selector.match_labels.clone(),
                match_expressions: Some(exprs),
            }),
            parallelism: Some(input.parallelism.cloned().unwrap_or(IntOrString::Int(1))),
            pull_policy: Some(PullPolicy {
                timeout_seconds: Some(input.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS)),
                backoff_limit: Some(1),
            }),
            completion_policy: CompletionPolicy {
                type_: completion_policy_type::ALWAYS.into(),
                active_deadline_seconds: None,
                ttl_seconds_after_finished: Some(JOB_TTL_SECONDS),
            },
            sandbox_config: Some(SandboxConfig { labels, annotations: tm.annotations.unwrap_or_default() }),
            ..Default::default()
        },
        status: None,
    }
}

fn label_revision(rev: &str, label: &str, why: &str) -> Action {
    Action::on_object(
        ActionKind::ImagePullJob(ImagePullJobAction::LabelRevision { label: label.into() }),
        ObjectRef::new("ControllerRevision", rev),
        reason(why),
    )
}

/// IPJ-40..IPJ-42: what the workload does about pre-download this round.
pub fn plan(input: &Input<'_>) -> Vec<Action> {
    let mut out = Vec::new();
    if !input.rolling {
        for j in input.existing_jobs {
            out.push(Action::on_object(
                ActionKind::ImagePullJob(ImagePullJobAction::DeleteImagePullJob),
                ObjectRef::new("ImagePullJob", j.metadata.name.as_deref().unwrap_or_default()),
                reason("the rollout is over"),
            ));
        }
        return out;
    }
    let labels = input.update_revision.metadata.labels.as_ref();
    let handled = |k: &str| labels.and_then(|l| l.get(k)).is_some_and(|v| v == "true");
    if handled(keys::PRE_PREDOWNLOAD_CREATED) || handled(keys::IMAGE_PREDOWNLOAD_IGNORED) {
        return out;
    }
    // DaemonSet: the min-updated-ready annotation is read but ignored (IPJ-40).
    if input.kind != WorkloadKind::DaemonSet && !input.min_ready_reached {
        return out;
    }
    let rev = input.update_revision.metadata.name.as_deref().unwrap_or_default();
    if let Some(why) = skip_reason(input.kind, &input.facts) {
        out.push(label_revision(rev, keys::IMAGE_PREDOWNLOAD_IGNORED, why));
        return out;
    }
    for (container, image) in changed_containers(input.template, input.old_images) {
        let job = job_for(input, &container, &image);
        let name = job.metadata.name.clone().unwrap_or_default();
        // Upstream ignores AlreadyExists: a job of that name (a retry after the revision
        // label failed) is not created again.
        if input.existing_jobs.iter().any(|j| j.metadata.name.as_deref() == Some(name.as_str())) {
            continue;
        }
        let mut v = serde_json::to_value(&job).unwrap_or_default();
        v["apiVersion"] = json!("apps.kruise.io/v1beta1");
        v["kind"] = json!("ImagePullJob");
        out.push(Action::on_object(
            ActionKind::ImagePullJob(ImagePullJobAction::CreateImagePullJob { job: v }),
            ObjectRef::new("ImagePullJob", &name),
            reason(format!("container {container}: {image}")),
        ));
    }
    out.push(label_revision(rev, keys::PRE_PREDOWNLOAD_CREATED, "jobs created"));
    out
}
