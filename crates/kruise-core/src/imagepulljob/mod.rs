//! The ImagePullJob planner (spec `imagepulljob.md`, rules IPJ-10..IPJ-18) and its companions:
//! the NodeImage planner ([`nodeimage`], IPJ-20..IPJ-22), pull-secret copies ([`secrets`],
//! IPJ-15) and the workloads' automatic pre-download ([`predownload`], IPJ-40..IPJ-42).
//!
//! [`plan`] turns an ImagePullJob (v1beta1, defaults applied), the NodeImages, the pods of the
//! job's namespace (for `podSelector`), the secrets involved and `now` into a [`Plan`]: the
//! finalizer, the NodeImage spec writes that start pulls within `parallelism`, the secret copies,
//! the job's status computed from the NodeImages' status, its deletion after the TTL, and when
//! to look again (IPJ-10).
//!
//! Randomness (IPJ-17's TTL jitter, IPJ-15's copy-name suffix) derives from `id_seed` (spec §7
//! question 1). NodeImages are considered by name (byte order) when no `names` list orders
//! them. Cost: O(NodeImages × (images + tags)) per plan.

pub mod nodeimage;
pub mod predownload;
pub mod reconcile;
pub mod secrets;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ObjectReference, Pod, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::{
    ImagePullJob, ImagePullJobStatus, ImageSpec, ImageTagPullPolicy, ImageTagSpec, NodeImage, ReferenceObject,
};
use kruise_api::defaults::imagepulljob::{DEFAULT_PULL_BACKOFF_LIMIT, DEFAULT_PULL_TIMEOUT_SECONDS};
use kruise_api::keys;
use kruise_api::validation::imagepulljob::parse_image_reference;

pub use reconcile::{IMAGEPULLJOB_RELATED, ImagePullJobReconciler, related_objects};

use crate::hash::fnv1a64;
use crate::plan::{
    Action, ActionKind, Held, ImagePullJobAction, ImagePullJobReason, ObjectRef, PlanError, Reason,
};
use crate::selector::Selector;

/// What one reconcile of an ImagePullJob should do.
pub type Plan = crate::plan::Plan<ImagePullJobStatus>;

/// IPJ-17: controller flag `default-ttlseconds-for-always-nodeimage` (seconds).
pub const DEFAULT_TTL_FOR_ALWAYS_NODEIMAGE: i32 = 300;

/// Everything the ImagePullJob planner may look at.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The job as stored, v1beta1 shape, defaults applied (IPJ-3).
    pub job: &'a ImagePullJob,
    /// All NodeImages (IPJ-12).
    pub node_images: &'a [NodeImage],
    /// Pods of the job's namespace (only read with `podSelector`, IPJ-12).
    pub pods: &'a [Pod],
    /// The job's pull secrets (in its namespace) and the copies in `daemon_namespace`
    /// (IPJ-15); others are ignored.
    pub secrets: &'a [Secret],
    /// Where secret copies live: `kruise-daemon-config` unless the operator overrides it.
    pub daemon_namespace: &'a str,
    /// The only clock.
    pub now: Timestamp,
    /// The only randomness: TTL jitter (IPJ-17) and copy names (IPJ-15).
    pub id_seed: u64,
    /// IPJ-17 flag `default-ttlseconds-for-always-nodeimage`.
    pub default_ttl_for_always: i32,
}

/// IPJ-13: where one target node stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    /// The NodeImage has not got the job's tag (owned by the job) at all.
    NotSynced,
    /// Pulling (or waiting, or a stale version).
    Pulling,
    /// Pulled.
    Succeeded,
    /// Failed.
    Failed,
}

/// IPJ-12: the NodeImages the job targets, in the order the rule gives: `names` order, else
/// the order of `node_images` (podSelector: the order pods are listed).
pub fn target_node_images<'a>(
    job: &ImagePullJob,
    node_images: &[&'a NodeImage],
    pods: &[Pod],
) -> Result<Vec<&'a NodeImage>, PlanError> {
    let by_name: BTreeMap<&str, &'a NodeImage> =
        node_images.iter().filter_map(|n| Some((n.metadata.name.as_deref()?, *n))).collect();
    if let Some(ps) = &job.spec.pod_selector {
        let sel = Selector::parse(&ps.label_selector(), "spec.podSelector")?;
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for p in pods {
            if p.metadata.namespace != job.metadata.namespace
                || !sel.matches(p.metadata.labels.as_ref().unwrap_or(&BTreeMap::new()))
                || !crate::broadcastjob::is_pod_active(p)
            {
                continue;
            }
            let Some(node) = p.spec.as_ref().and_then(|s| s.node_name.as_deref()).filter(|n| !n.is_empty())
            else {
                continue;
            };
            if seen.insert(node)
                && let Some(ni) = by_name.get(node)
            {
                out.push(*ni);
            }
        }
        return Ok(out);
    }
    let Some(sel) = &job.spec.selector else {
        return Ok(node_images.to_vec());
    };
    if let Some(names) = &sel.names {
        return Ok(names.iter().filter_map(|n| by_name.get(n.as_str()).copied()).collect());
    }
    let s = Selector::parse(&sel.label_selector(), "spec.selector")?;
    Ok(node_images
        .iter()
        .copied()
        .filter(|n| s.matches(n.metadata.labels.as_ref().unwrap_or(&BTreeMap::new())))
        .collect())
}

/// True when `refs` (a NodeImage image's `pullSecrets`) holds `r` (compared by namespace and
/// name).
fn has_secret(refs: &[ReferenceObject], r: &ReferenceObject) -> bool {
    refs.iter().any(|x| x.namespace == r.namespace && x.name == r.name)
}

/// IPJ-13 steps 1-3 for one NodeImage: whether the job must (re)write it (`not_synced`), and
/// the pull state of the job's tag.
pub fn node_state(
    ni: &NodeImage,
    name: &str,
    tag: &str,
    uid: &str,
    refs: &[ReferenceObject],
) -> (NodeState, bool) {
    let mut tag_version = -1i64;
    let mut secrets_missing = false;
    if let Some(spec) = ni.spec.images.get(name) {
        secrets_missing = refs.iter().any(|r| !has_secret(&spec.pull_secrets, r));
        // Quirk (IPJ-13): only the first entry with the tag is looked at.
        if let Some(t) = spec.tags.iter().find(|t| t.tag == tag)
            && t.owner_references.iter().any(|o| o.uid.as_deref() == Some(uid))
        {
            tag_version = t.version;
        }
    }
    if tag_version < 0 {
        return (NodeState::NotSynced, true);
    }
    let st = ni
        .status
        .as_ref()
        .and_then(|s| s.image_statuses.get(name))
        .and_then(|s| s.tags.iter().find(|t| t.tag == tag));
    let state = match st {
        Some(t) if t.version == tag_version => match t.phase.as_str() {
            "Succeeded" => NodeState::Succeeded,
            "Failed" => NodeState::Failed,
            _ => NodeState::Pulling,
        },
        _ => NodeState::Pulling,
    };
    (state, secrets_missing)
}

/// IPJ-13 `message`: `job has completed`, `job is running, no progress` (nothing targeted) or
/// `job is running, progress 66.7%`.
pub fn status_message(s: &ImagePullJobStatus) -> String {
    if s.completion_time.is_some() {
        "job has completed".into()
    } else if s.desired == 0 {
        "job is running, no progress".into()
    } else {
        let p = 100.0 * f64::from(s.succeeded + s.failed) / f64::from(s.desired);
        format!("job is running, progress {p:.1}%")
    }
}

/// IPJ-14: `parallelism` as the controller reads it: unset → 1, an int as is, a numeric string
/// parsed, any other string 0 (Quirk, spec §7 question 2: a percent pauses the job).
pub fn parallelism_limit(p: Option<&IntOrString>) -> i32 {
    match p {
        None => 1,
        Some(IntOrString::Int(i)) => *i,
        Some(IntOrString::String(s)) => s.parse().unwrap_or(0),
    }
}

/// A uniform draw in `[0, n)` from `(seed, what)`.
fn draw(seed: u64, what: &str, n: u64) -> i64 {
    i64::try_from(fnv1a64(&[&seed.to_le_bytes(), what.as_bytes()]) % n.max(1)).unwrap_or(0)
}

fn clamp_i32(v: i64) -> i32 {
    i32::try_from(v.clamp(i64::from(i32::MIN), i64::from(i32::MAX))).unwrap_or(0)
}

/// IPJ-17: the `pullPolicy` written with a new tag. `seed` draws the TTL jitter `R`
/// (`[0, 1200)` for `Never`, `[0, 300)` otherwise); `default_ttl` is the flag `D`.
pub fn tag_pull_policy(job: &ImagePullJob, seed: u64, default_ttl: i32) -> ImageTagPullPolicy {
    let pp = job.spec.pull_policy.clone().unwrap_or_default();
    let cp = &job.spec.completion_policy;
    let timeout = pp.timeout_seconds;
    let (ttl, ads) = if cp.is_never() {
        let r = draw(seed, "ttl-never", 1200);
        let ads = timeout.map_or(1800, |t| i64::from(t).max(1800));
        (86_400 + r - 600, Some(ads))
    } else {
        let base = match (cp.ttl_seconds_after_finished, cp.active_deadline_seconds) {
            (Some(t), _) => i64::from(t),
            (None, Some(a)) => a,
            (None, None) => {
                i64::from(timeout.unwrap_or(DEFAULT_PULL_TIMEOUT_SECONDS))
                    * i64::from(pp.backoff_limit.unwrap_or(DEFAULT_PULL_BACKOFF_LIMIT))
            }
        };
        (base + i64::from(default_ttl) + draw(seed, "ttl-always", 300), cp.active_deadline_seconds)
    };
    ImageTagPullPolicy {
        timeout_seconds: timeout,
        backoff_limit: pp.backoff_limit,
        ttl_seconds_after_finished: Some(clamp_i32(ttl)),
        active_deadline_seconds: ads,
    }
}

/// IPJ-14: the reference a NodeImage tag holds to its job (ownership compares the uid only).
pub fn job_ref(job: &ImagePullJob) -> ObjectReference {
    ObjectReference {
        api_version: Some("apps.kruise.io/v1beta1".into()),
        kind: Some("ImagePullJob".into()),
        name: job.metadata.name.clone(),
        namespace: job.metadata.namespace.clone(),
        uid: job.metadata.uid.clone(),
        ..Default::default()
    }
}

/// IPJ-14 steps 1-4: the image spec to write into `ni` for the job, or `None` when the tag is
/// already the job's and no secret is missing (skip).
pub fn synced_image_spec(
    ni: &NodeImage,
    job: &ImagePullJob,
    name: &str,
    tag: &str,
    refs: &[ReferenceObject],
    pull_policy: &ImageTagPullPolicy,
    now: Timestamp,
) -> Option<ImageSpec> {
    let uid = job.metadata.uid.as_deref().unwrap_or_default();
    let mut spec = ni.spec.images.get(name).cloned().unwrap_or_default();
    spec.sandbox_config = job.spec.sandbox_config.clone();
    let add_missing = |spec: &mut ImageSpec| {
        let mut added = false;
        for r in refs {
            if !has_secret(&spec.pull_secrets, r) {
                spec.pull_secrets.push(r.clone());
                added = true;
            }
        }
        added
    };
    match spec.tags.iter().position(|t| t.tag == tag) {
        Some(i) if spec.tags[i].owner_references.iter().any(|o| o.uid.as_deref() == Some(uid)) => {
            if !add_missing(&mut spec) {
                return None;
            }
        }
        Some(i) => {
            let t = &mut spec.tags[i];
            t.version += 1;
            t.owner_references.push(job_ref(job));
            t.created_at = Some(Time(now));
            t.image_pull_policy = job.spec.image_pull_policy.clone();
            add_missing(&mut spec);
        }
        None => {
            add_missing(&mut spec);
            let seen = ni
                .status
                .as_ref()
                .and_then(|s| s.image_statuses.get(name))
                .and_then(|s| s.tags.iter().find(|t| t.tag == tag))
                .map_or(-1, |t| t.version);
            spec.tags.push(ImageTagSpec {
                tag: tag.to_owned(),
                created_at: Some(Time(now)),
                pull_policy: Some(pull_policy.clone()),
                owner_references: vec![job_ref(job)],
                version: seen + 1,
                image_pull_policy: job.spec.image_pull_policy.clone(),
            });
        }
    }
    spec.tags.sort_by(|a, b| a.tag.cmp(&b.tag));
    Some(spec)
}

fn ipj(r: ImagePullJobReason) -> Reason {
    Reason::ImagePullJob(r)
}

fn elapsed(now: Timestamp, since: Timestamp) -> Duration {
    Duration::try_from(now.duration_since(since)).unwrap_or(Duration::ZERO)
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn has_finalizer(job: &ImagePullJob) -> bool {
    job.metadata.finalizers.iter().flatten().any(|f| f == keys::DELETION_PROTECTION_FINALIZER)
}

/// IPJ-16: release the job's secret copies and drop its finalizer.
fn finalize(input: &Input<'_>, plan: &mut Plan, me: &ObjectRef) {
    plan.actions.extend(secrets::release_all(input.job, input.secrets, input.daemon_namespace));
    if has_finalizer(input.job) {
        plan.actions.push(Action::on_object(
            ActionKind::ImagePullJob(ImagePullJobAction::RemoveFinalizer),
            me.clone(),
            ipj(ImagePullJobReason::Finalize),
        ));
    }
}

/// Plans one reconcile of an ImagePullJob (IPJ-10). Errors for unusable input: no name, an
/// image that is not a docker reference (`spec.image`), a bad selector.
pub fn plan(input: &Input<'_>) -> Result<Plan, PlanError> {
    let job = input.job;
    let name = job
        .metadata
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| PlanError::invalid("metadata.name", "required"))?;
    let uid = job.metadata.uid.as_deref().unwrap_or_default();
    let stored = job.status.clone().unwrap_or_default();
    let mut plan = Plan::new(stored.clone());
    let me = ObjectRef::new("ImagePullJob", name);
    let cp = &job.spec.completion_policy;

    // IPJ-10 step 2: deleting.
    if job.metadata.deletion_timestamp.is_some() {
        finalize(input, &mut plan, &me);
        return Ok(plan);
    }
    // Step 3: completed: finalize, then the TTL.
    if let Some(done) = &stored.completion_time {
        finalize(input, &mut plan, &me);
        if let Some(ttl) = cp.ttl_seconds_after_finished {
            let ttl_d = Duration::from_secs(u64::try_from(ttl).unwrap_or(0));
            let age = elapsed(input.now, done.0);
            let reason = ipj(ImagePullJobReason::TtlAfterFinished { seconds: ttl });
            if age >= ttl_d {
                plan.actions.push(Action::on_object(
                    ActionKind::ImagePullJob(ImagePullJobAction::DeleteJob),
                    me,
                    reason,
                ));
            } else {
                plan.requeue_at_most(ttl_d - age, reason);
            }
        }
        return Ok(plan);
    }
    // Step 4: the finalizer.
    if !has_finalizer(job) {
        plan.actions.push(Action::on_object(
            ActionKind::ImagePullJob(ImagePullJobAction::AddFinalizer),
            me.clone(),
            ipj(ImagePullJobReason::Protect),
        ));
    }
    // IPJ-5: the image's name and tag.
    let image = parse_image_reference(&job.spec.image)
        .map_err(|e| PlanError::invalid("spec.image", format!("invalid image {:?}: {e}", job.spec.image)))?;
    // Step 5.
    let mut node_images: Vec<&NodeImage> = input.node_images.iter().collect();
    if job.spec.selector.as_ref().and_then(|s| s.names.as_ref()).is_none() {
        node_images.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    }
    let targets = target_node_images(job, &node_images, input.pods)?;
    // Step 6.
    let synced = secrets::sync(job, input.secrets, input.daemon_namespace, input.id_seed);
    plan.actions.extend(synced.actions);
    plan.events.extend(synced.events);
    let refs = synced.refs;

    // Step 7 (IPJ-13).
    let mut status = stored.clone();
    let start = status.start_time.get_or_insert(Time(input.now)).clone();
    status.desired = count(targets.len());
    let (mut pulling, mut succeeded, mut failed, mut not_synced) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ni in &targets {
        let n = ni.metadata.name.as_deref().unwrap_or_default();
        let (state, resync) = node_state(ni, &image.name, &image.tag, uid, &refs);
        if resync {
            not_synced.push(*ni);
        }
        match state {
            NodeState::NotSynced => {}
            NodeState::Pulling => pulling.push(n),
            NodeState::Succeeded => succeeded.push(n),
            NodeState::Failed => failed.push(n),
        }
    }
    not_synced.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let deadline = cp.active_deadline_seconds.filter(|_| !cp.is_never());
    let done = count(succeeded.len() + failed.len());
    let past_deadline = deadline.is_some_and(|ads| {
        status.desired != done
            && elapsed(input.now, start.0) >= Duration::from_secs(u64::try_from(ads).unwrap_or(0))
    });
    if past_deadline {
        // Quirk (IPJ-13, spec §7 question 4): failedNodes is not re-sorted here.
        status.completion_time = Some(Time(input.now));
        status.active = 0;
        status.succeeded = count(succeeded.len());
        let mut nodes: Vec<String> = failed.iter().chain(&pulling).map(|s| (*s).to_owned()).collect();
        // A node pulling but missing a secret is listed twice, as upstream does.
        nodes.extend(not_synced.iter().filter_map(|n| n.metadata.name.clone()));
        status.failed = count(nodes.len());
        status.failed_nodes = nodes;
        status.message = "job exceeds activeDeadlineSeconds".into();
        plan.events.push(ipj(ImagePullJobReason::DeadlineExceeded));
    } else {
        status.active = count(pulling.len());
        status.succeeded = count(succeeded.len());
        status.failed = count(failed.len());
        let mut f: Vec<String> = failed.iter().map(|s| (*s).to_owned()).collect();
        f.sort();
        status.failed_nodes = f;
        if !cp.is_never() && status.desired - status.succeeded - status.failed == 0 {
            status.completion_time = Some(Time(input.now));
        }
        status.message = status_message(&status);
        // Step 8 (IPJ-14).
        let limit = parallelism_limit(job.spec.parallelism.as_ref());
        let slots = usize::try_from(limit.saturating_sub(status.active)).unwrap_or(0);
        let pull_policy = tag_pull_policy(job, input.id_seed, input.default_ttl_for_always);
        for (i, ni) in not_synced.iter().enumerate() {
            let n = ni.metadata.name.as_deref().unwrap_or_default();
            if i >= slots {
                plan.held.push(Held::object(
                    ObjectRef::new("NodeImage", n),
                    ipj(ImagePullJobReason::Parallelism { active: status.active, parallelism: limit }),
                ));
                continue;
            }
            let Some(spec) =
                synced_image_spec(ni, job, &image.name, &image.tag, &refs, &pull_policy, input.now)
            else {
                continue;
            };
            plan.actions.push(Action::on_object(
                ActionKind::ImagePullJob(ImagePullJobAction::WriteNodeImage {
                    image: image.name.clone(),
                    spec: serde_json::to_value(&spec).unwrap_or_default(),
                }),
                ObjectRef::new("NodeImage", n),
                ipj(ImagePullJobReason::StartPull { active: status.active, parallelism: limit }),
            ));
        }
    }
    // Steps 9 and 10.
    if status != stored {
        plan.actions.push(Action::on_object(ActionKind::UpdateStatus, me, Reason::StatusChanged));
    } else if let Some(ads) = deadline {
        let left =
            Duration::from_secs(u64::try_from(ads).unwrap_or(0)).saturating_sub(elapsed(input.now, start.0));
        plan.requeue_at_most(
            left.max(Duration::from_secs(1)),
            ipj(ImagePullJobReason::ActiveDeadline { seconds: ads }),
        );
    }
    plan.status = status;
    Ok(plan)
}
