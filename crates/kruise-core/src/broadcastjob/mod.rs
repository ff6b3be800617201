//! The BroadcastJob planner (spec `broadcastjob.md`, rules BJ-n): [`plan`] turns a BroadcastJob
//! (v1beta1, defaults applied), its pods, the nodes (a [`NodeTable`]) and `now` into a
//! [`Plan`]: pods to create (one per fitting node, within `parallelism`) and delete, the job's
//! status, the job's deletion after its TTL, and when to look again.
//!
//! One pass follows BJ-10..BJ-23: finished jobs only wait for their TTL (BJ-11); otherwise the
//! start time and phase are set (BJ-12), owned pods are mapped to nodes (BJ-13) and classified
//! (BJ-14), every node is checked for fitness (BJ-15, on the shared [`crate::nodetable`]
//! predicate plus cordon and resource checks) to find the desired nodes, the nodes still
//! without a pod and the pods to delete (BJ-16), the phase gates run (BJ-18), and the job
//! fails (BJ-19), or runs: deletes, creates within `parallelism` (BJ-20, BJ-21), completes
//! (BJ-22).
//!
//! Nodes are walked by name (byte order; spec §5 question 1). Cost: O(pods + nodes ×
//! (selector + taints × tolerations + requests)) per plan; a pod's placement is compiled once.

pub mod reconcile;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use kruise_api::apps::v1beta1::broadcastjob::{failure_policy_type, job_condition_type, phase};
use kruise_api::apps::v1beta1::{BroadcastJob, BroadcastJobStatus, JobCondition};
use kruise_api::{FieldPath, keys};

pub use reconcile::BroadcastJobReconciler;

use crate::expectations::Expectations;
use crate::nodetable::{
    NodeFacts, NodeTable, NodeTaint, Placement, TaintEffect, assigned_node, pin_to_node, taint_keys,
    tolerates,
};
use crate::plan::{
    Action, ActionKind, BroadcastJobAction, BroadcastJobReason, Held, ObjectRef, PlanError, Reason,
};
use crate::podtable::Pods;

/// What one reconcile of a BroadcastJob should do.
pub type Plan = crate::plan::Plan<BroadcastJobStatus>;

/// BJ-4: `parallelism` when unset (2^31 − 1, no limit).
pub const DEFAULT_PARALLELISM: i32 = i32::MAX;

/// A BroadcastJob owns its pods by owner reference only (BJ-13): it has no selector, so an
/// adapter's [`crate::podtable::PodTable`] for it claims nothing by labels.
impl crate::podtable::PodOwner for BroadcastJob {
    fn kind(&self) -> &str {
        "BroadcastJob"
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn selector(&self) -> Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector> {
        None
    }
}

/// Everything the BroadcastJob planner may look at.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The job as stored, in the v1beta1 shape with webhook defaults applied (BJ-4).
    pub job: &'a BroadcastJob,
    /// Pods in the job's namespace (a slice, or the adapter's table without a copy); only
    /// those the job owns (BJ-13) are considered.
    pub pods: Pods<'a>,
    /// All nodes, with their facts (BJ-15).
    pub nodes: &'a NodeTable,
    /// The only clock.
    pub now: Timestamp,
    /// The only randomness: new pod names derive from it.
    pub id_seed: u64,
    /// The adapter's creates / deletes not yet seen (BJ-10).
    pub expectations: &'a Expectations,
    /// BJ-21: bind new pods with `spec.nodeName` (upstream flag
    /// `assign-bcj-pods-by-scheduler=false`) instead of a node-affinity term (default).
    pub bind_pods: bool,
}

/// BJ-14: how a pod counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodClass {
    /// Running or pending, not being deleted.
    Active,
    /// Phase `Succeeded`.
    Succeeded,
    /// Phase `Failed`, or restarted more than `restartLimit` times under `OnFailure`.
    Failed,
    /// Being deleted and not terminal: counted nowhere.
    Ignored,
}

/// BJ-14: classifies a pod. `restart_limit` is `failurePolicy.restartLimit`; restarts fail a
/// pod only when its `restartPolicy` is `OnFailure` and the summed restart count of its init
/// and regular containers exceeds the limit.
pub fn classify(pod: &Pod, restart_limit: i32) -> PodClass {
    let status = pod.status.as_ref();
    match status.and_then(|s| s.phase.as_deref()) {
        Some("Succeeded") => return PodClass::Succeeded,
        Some("Failed") => return PodClass::Failed,
        _ => {}
    }
    if pod.metadata.deletion_timestamp.is_some() {
        return PodClass::Ignored;
    }
    let on_failure = pod.spec.as_ref().and_then(|s| s.restart_policy.as_deref()) == Some("OnFailure");
    if on_failure {
        let restarts: i64 = status
            .into_iter()
            .flat_map(|s| {
                s.init_container_statuses.iter().flatten().chain(s.container_statuses.iter().flatten())
            })
            .map(|c| i64::from(c.restart_count))
            .sum();
        if restarts > i64::from(restart_limit) {
            return PodClass::Failed;
        }
    }
    PodClass::Active
}

/// Kubernetes' "active" pod (BJ-22): not terminal and not being deleted.
pub fn is_pod_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    !matches!(phase, Some("Succeeded" | "Failed")) && pod.metadata.deletion_timestamp.is_none()
}

/// BJ-13: the job owns the pod: same namespace, both BJ-3 labels, and a controller owner
/// reference of kind `BroadcastJob` with the job's uid (by name when the job has no uid, as
/// for an offline `kruise plan` of a manifest).
pub fn owns(job: &BroadcastJob, pod: &Pod) -> bool {
    let name = job.metadata.name.as_deref().unwrap_or_default();
    let uid = job.metadata.uid.as_deref().unwrap_or_default();
    if pod.metadata.namespace != job.metadata.namespace {
        return false;
    }
    let labels = pod.metadata.labels.as_ref();
    let label = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    if label(keys::BROADCASTJOB_NAME) != Some(name) || label(keys::BROADCASTJOB_CONTROLLER_UID) != Some(uid) {
        return false;
    }
    pod.metadata.owner_references.iter().flatten().any(|r| {
        r.controller == Some(true)
            && r.kind == "BroadcastJob"
            && if uid.is_empty() { r.name == name } else { r.uid == uid }
    })
}

/// BJ-11: a job is finished when its completion policy is not `Never` and it has a `Complete`
/// or `Failed` condition with status `True`.
pub fn is_finished(job: &BroadcastJob) -> bool {
    !job.spec.completion_policy.is_never()
        && job.status.iter().flat_map(|s| &s.conditions).any(|c| {
            (c.type_ == job_condition_type::COMPLETE || c.type_ == job_condition_type::FAILED)
                && c.status == "True"
        })
}

/// BJ-21: `parallelism` resolved against `desired`: an int as is; a percent string rounded up
/// (Kubernetes' legacy reader: `%` is stripped and the integer read as a percent). Unset:
/// [`DEFAULT_PARALLELISM`].
pub fn parallelism(job: &BroadcastJob, desired: i32) -> Result<i32, PlanError> {
    match job.spec.parallelism.as_ref() {
        None => Ok(DEFAULT_PARALLELISM),
        Some(v) => kruise_api::intstr::scaled_legacy(Some(v), desired, true).map_err(|_| {
            PlanError::BadIntOrPercent {
                path: FieldPath::from("spec.parallelism"),
                value: match v {
                    k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i) => i.to_string(),
                    k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s.clone(),
                },
            }
        }),
    }
}

/// A pod spec's scheduling demands for BJ-15: its placement and its resource requests (in
/// billionths, see [`kruise_api::quantity::nanos`]).
#[derive(Clone, Debug)]
pub struct Fitness {
    placement: Placement,
    /// Requested resources: max(sum of containers, largest init container) plus overhead.
    requests: BTreeMap<String, i128>,
}

impl Fitness {
    /// Compiles `spec` (`path` names it in errors). With `mock`, `spec.nodeName` is ignored
    /// (the mock pod of BJ-15 is pinned to each node it is checked against).
    pub fn of(spec: &PodSpec, path: &str, mock: bool) -> Result<Self, PlanError> {
        let placement = if mock && spec.node_name.is_some() {
            let mut s = spec.clone();
            s.node_name = None;
            Placement::from_pod_spec(&s, path)?
        } else {
            Placement::from_pod_spec(spec, path)?
        };
        Ok(Self { placement, requests: requests(spec, path)? })
    }

    /// BJ-15: `Ok` when a pod with these demands fits `node`, else why not.
    pub fn check(&self, node: &NodeFacts) -> Result<(), String> {
        let e = self.placement.eligibility(node);
        if let Some(why) = e.why_not {
            return Err(why.to_string());
        }
        if node.unschedulable {
            let cordon = NodeTaint {
                key: taint_keys::UNSCHEDULABLE.into(),
                value: String::new(),
                effect: TaintEffect::NoSchedule,
                effect_text: "NoSchedule".into(),
            };
            if !self.placement.tolerations().iter().any(|t| tolerates(t, &cordon)) {
                return Err("node is unschedulable".into());
            }
        }
        let alloc =
            |r: &str| node.allocatable.get(r).and_then(|q| kruise_api::quantity::nanos(q)).unwrap_or(0);
        if alloc("pods") < 1_000_000_000 {
            return Err("node has no allocatable pods".into());
        }
        for (r, want) in &self.requests {
            if *want > 0 && alloc(r) < *want {
                return Err(format!("insufficient {r}"));
            }
        }
        Ok(())
    }
}

fn requests(spec: &PodSpec, path: &str) -> Result<BTreeMap<String, i128>, PlanError> {
    let read = |m: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
                at: String|
     -> Result<BTreeMap<String, i128>, PlanError> {
        m.into_iter()
            .flatten()
            .map(|(k, q)| {
                kruise_api::quantity::nanos(&q.0).map(|n| (k.clone(), n)).ok_or_else(|| {
                    PlanError::invalid(&format!("{at}.{k}"), format!("{:?} is not a quantity", q.0))
                })
            })
            .collect()
    };
    let mut sum: BTreeMap<String, i128> = BTreeMap::new();
    for (i, c) in spec.containers.iter().enumerate() {
        let r = read(
            c.resources.as_ref().and_then(|r| r.requests.as_ref()),
            format!("{path}.containers[{i}].resources.requests"),
        )?;
        for (k, v) in r {
            *sum.entry(k).or_default() += v;
        }
    }
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        let r = read(
            c.resources.as_ref().and_then(|r| r.requests.as_ref()),
            format!("{path}.initContainers[{i}].resources.requests"),
        )?;
        for (k, v) in r {
            let e = sum.entry(k).or_default();
            *e = (*e).max(v);
        }
    }
    for (k, v) in read(spec.overhead.as_ref(), format!("{path}.overhead"))? {
        *sum.entry(k).or_default() += v;
    }
    Ok(sum)
}

/// The owner reference of the job's pods (BJ-21): controller, blocking owner deletion.
pub fn owner_ref(job: &BroadcastJob) -> OwnerReference {
    OwnerReference {
        api_version: "apps.kruise.io/v1beta1".into(),
        kind: "BroadcastJob".into(),
        name: job.metadata.name.clone().unwrap_or_default(),
        uid: job.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The name of the pod created on `node`: `<job>-<5 letters>` from `(id_seed, node)`
/// (upstream uses `generateName: <job>-`; the name is deterministic here, STYLE.md §2).
pub fn pod_name(job: &str, node: &str, id_seed: u64) -> String {
    crate::daemonset::pod_name(job, node, id_seed)
}

/// BJ-3, BJ-21: the pod for `node`: the template's metadata (labels plus the BJ-3 labels,
/// annotations, finalizers) and spec, `generateName: <job>-`, the job's namespace, one
/// controller owner reference, and the placement: the required node affinity replaced by
/// `metadata.name In [node]`, or with `bind`, `spec.nodeName = node`.
pub fn new_pod(job: &BroadcastJob, node: &str, name: &str, bind: bool) -> Pod {
    let t = &job.spec.template;
    let job_name = job.metadata.name.clone().unwrap_or_default();
    let tm = t.metadata.clone().unwrap_or_default();
    let mut labels = tm.labels.unwrap_or_default();
    labels.insert(keys::BROADCASTJOB_NAME.into(), job_name.clone());
    labels.insert(keys::BROADCASTJOB_CONTROLLER_UID.into(), job.metadata.uid.clone().unwrap_or_default());
    let meta = ObjectMeta {
        name: Some(name.to_owned()),
        generate_name: Some(format!("{job_name}-")),
        namespace: job.metadata.namespace.clone(),
        labels: Some(labels),
        annotations: tm.annotations,
        finalizers: tm.finalizers,
        owner_references: Some(vec![owner_ref(job)]),
        ..Default::default()
    };
    let mut spec = t.spec.clone().unwrap_or_default();
    pin_to_node(&mut spec, node, bind);
    Pod { metadata: meta, spec: Some(spec), status: None }
}

fn bj(r: BroadcastJobReason) -> Reason {
    Reason::BroadcastJob(r)
}

fn elapsed(now: Timestamp, since: Timestamp) -> Duration {
    Duration::try_from(now.duration_since(since)).unwrap_or(Duration::ZERO)
}

fn secs(n: i64) -> Duration {
    Duration::from_secs(u64::try_from(n).unwrap_or(0))
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// One owned pod with what the pass reads of it.
struct JobPod<'a> {
    pod: &'a Pod,
    /// Index in `Input::pods` (error paths).
    index: usize,
    name: &'a str,
    class: PodClass,
}

/// Plans one pass of a BroadcastJob (BJ-10..BJ-23). Errors only for unusable input (no name,
/// a bad `parallelism`, an unparsable node affinity or quantity), naming the field.
pub fn plan(input: &Input<'_>) -> Result<Plan, PlanError> {
    let job = input.job;
    let name = job
        .metadata
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| PlanError::invalid("metadata.name", "required"))?;
    let ns = job.metadata.namespace.as_deref().unwrap_or_default();
    let stored = job.status.clone().unwrap_or_default();
    let mut plan = Plan::new(stored.clone());
    let policy = &job.spec.completion_policy;
    let ttl = policy.ttl_seconds_after_finished;
    let me = ObjectRef::new("BroadcastJob", name);

    // BJ-11: a finished job only waits for its TTL.
    if is_finished(job) {
        plan.events.push(bj(BroadcastJobReason::Finished));
        if let (Some(ttl), Some(done)) = (ttl, stored.completion_time.as_ref()) {
            let age = elapsed(input.now, done.0);
            let ttl_d = secs(i64::from(ttl));
            let reason = bj(BroadcastJobReason::TtlAfterFinished { seconds: ttl });
            if age >= ttl_d {
                plan.actions.push(Action::on_object(
                    ActionKind::BroadcastJob(BroadcastJobAction::DeleteJob),
                    me,
                    reason,
                ));
            } else {
                plan.requeue_at_most(ttl_d - age, reason);
            }
        }
        return Ok(plan);
    }

    // BJ-10: a pure planner needs a consistent snapshot: with writes outstanding, wait.
    if !input.expectations.is_satisfied() {
        let p = input.expectations.pending();
        plan.events.push(Reason::AwaitingExpectations {
            creates: p.as_ref().map_or(0, |p| p.creates),
            deletes: p.as_ref().map_or(0, |p| p.deletes),
            resource_versions: p.as_ref().map_or(0, |p| p.resource_versions),
        });
        return Ok(plan);
    }

    // BJ-12: start time and phase.
    let mut status = stored.clone();
    let start = status.start_time.get_or_insert(Time(input.now)).clone();
    if status.phase.is_empty() {
        status.phase = phase::RUNNING.into();
    }
    // BJ-12 / BJ-23 (docs/deviations.md): wake up at the deadline on every pass, not only the
    // first.
    let deadline = policy.active_deadline_seconds.filter(|_| !policy.is_never());
    let mut requeue: Option<(Duration, Reason)> = deadline.and_then(|ads| {
        let left = secs(ads).saturating_sub(elapsed(input.now, start.0));
        (!left.is_zero()).then(|| (left, bj(BroadcastJobReason::ActiveDeadline { seconds: ads })))
    });

    // BJ-13, BJ-14: owned pods, classified, mapped to their nodes (the last one listed wins).
    let restart_limit = job.spec.failure_policy.restart_limit;
    let pods: Vec<JobPod<'_>> = input
        .pods
        .iter()
        .enumerate()
        .filter(|(_, p)| owns(job, p))
        .map(|(index, pod)| JobPod {
            pod,
            index,
            name: pod.metadata.name.as_deref().unwrap_or_default(),
            class: classify(pod, restart_limit),
        })
        .collect();
    let mut by_node: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, p) in pods.iter().enumerate() {
        if let Some(node) = assigned_node(p.pod.spec.as_ref())
            && by_node.insert(node, i).is_some()
        {
            plan.events.push(bj(BroadcastJobReason::DuplicatePodOnNode { node: node.to_owned() }));
        }
    }
    let tally = |c: PodClass| count(pods.iter().filter(|p| p.class == c).count());
    let (mut active, mut failed, succeeded) =
        (tally(PodClass::Active), tally(PodClass::Failed), tally(PodClass::Succeeded));

    // BJ-15, BJ-16: desired nodes (with their pod, if any), nodes without a pod, pods to delete.
    let template = job.spec.template.spec.clone().unwrap_or_default();
    let mock = Fitness::of(&template, "spec.template.spec", true)?;
    let no_spec = PodSpec::default();
    let mut desired: Vec<(&str, Option<&JobPod<'_>>)> = Vec::new();
    let mut rest: Vec<&str> = Vec::new();
    let mut to_delete: Vec<(&JobPod<'_>, String)> = Vec::new();
    for node in input.nodes.iter() {
        match by_node.get(node.name.as_str()).map(|&i| &pods[i]) {
            Some(p) => {
                let spec = p.pod.spec.as_ref().unwrap_or(&no_spec);
                let fit = Fitness::of(spec, &format!("pods[{}].spec", p.index), false)?.check(node);
                match fit {
                    Ok(()) => desired.push((&node.name, Some(p))),
                    Err(why) if p.pod.metadata.deletion_timestamp.is_none() => to_delete.push((p, why)),
                    Err(_) => desired.push((&node.name, Some(p))),
                }
            }
            None => match mock.check(node) {
                Ok(()) => {
                    desired.push((&node.name, None));
                    rest.push(&node.name);
                }
                // Not a desired node: said so, so that a user can ask why it has no pod.
                Err(why) => plan.held.push(Held::object(
                    ObjectRef::node(&node.name),
                    bj(BroadcastJobReason::NodeUnfit { why }),
                )),
            },
        }
    }
    // BJ-17.
    status.active = active;
    status.failed = failed;
    status.succeeded = succeeded;
    status.desired = count(desired.len());

    let finish = |plan: &mut Plan, status: BroadcastJobStatus, requeue: Option<(Duration, Reason)>| {
        if let Some((after, reason)) = requeue {
            plan.requeue_at_most(after, reason);
        }
        if status != stored {
            plan.actions.push(Action::on_object(
                ActionKind::UpdateStatus,
                ObjectRef::new("BroadcastJob", name),
                Reason::StatusChanged,
            ));
        }
        plan.status = status;
    };
    let hold_rest = |plan: &mut Plan, reason: &Reason| {
        for n in &rest {
            plan.held.push(Held::object(ObjectRef::node(n), reason.clone()));
        }
    };

    // BJ-18 gates 1 and 2.
    if status.phase == phase::FAILED {
        finish(&mut plan, status, requeue);
        return Ok(plan);
    }
    if job.spec.paused && (status.phase == phase::RUNNING || status.phase == phase::PAUSED) {
        status.phase = phase::PAUSED.into();
        hold_rest(&mut plan, &Reason::Paused);
        finish(&mut plan, status, requeue);
        return Ok(plan);
    }
    // Gate 3.
    if !job.spec.paused && status.phase == phase::PAUSED {
        status.phase = phase::RUNNING.into();
        plan.events.push(bj(BroadcastJobReason::Continue));
    }
    // Gate 4.
    let mut failure: Option<&str> = None;
    let deadline_message;
    if failed > 0 {
        match job.spec.failure_policy.type_.as_str() {
            failure_policy_type::PAUSE => {
                // Quirk (BJ-18): only the phase is persisted, not `spec.paused`.
                status.phase = phase::PAUSED.into();
                let r = bj(BroadcastJobReason::PausedOnFailure { failed });
                plan.events.push(r.clone());
                hold_rest(&mut plan, &r);
                finish(&mut plan, status, requeue);
                return Ok(plan);
            }
            failure_policy_type::FAIL_FAST => {
                failure = Some("failure policy is FailurePolicyTypeFailFast and failed pod is found");
            }
            _ => {}
        }
    }
    // Gate 5: the deadline.
    if failure.is_none()
        && let Some(ads) = deadline
        && elapsed(input.now, start.0) >= secs(ads)
    {
        deadline_message = format!("Job {ns}/{name} was active longer than specified deadline");
        failure = Some(&deadline_message);
    }

    let ttl_requeue =
        ttl.map(|t| (secs(i64::from(t) + 1), bj(BroadcastJobReason::TtlAfterFinished { seconds: t })));
    if let Some(message) = failure {
        // BJ-19: delete every active pod; each deletion counts as a failure (Quirk, kept).
        let reason = bj(BroadcastJobReason::JobFailed { message: message.to_owned() });
        for p in pods.iter().filter(|p| p.class == PodClass::Active) {
            plan.actions.push(delete(p, assigned_node(p.pod.spec.as_ref()), reason.clone()));
            failed += 1;
            active -= 1;
        }
        plan.events.push(reason);
        status.phase = phase::FAILED.into();
        conclude(&mut status, job_condition_type::FAILED, message, input.now);
        status.active = active;
        status.failed = failed;
        finish(&mut plan, status, ttl_requeue);
        return Ok(plan);
    }

    // BJ-20 step 1: delete pods whose node no longer fits them.
    for (p, why) in &to_delete {
        plan.actions.push(delete(
            p,
            assigned_node(p.pod.spec.as_ref()),
            bj(BroadcastJobReason::NodeUnfit { why: why.clone() }),
        ));
        failed += 1;
        // docs/deviations.md (BroadcastJob): only a deleted pod that was active leaves `active`.
        if p.class == PodClass::Active {
            active -= 1;
        }
    }
    // BJ-20 step 2, BJ-21: create within parallelism.
    if job.metadata.deletion_timestamp.is_none() && !rest.is_empty() {
        let limit = parallelism(job, status.desired)?;
        if active > limit {
            let r = bj(BroadcastJobReason::TooManyActivePods { active, parallelism: limit });
            plan.events.push(r.clone());
            hold_rest(&mut plan, &r);
        } else {
            let n = usize::try_from(limit - active).unwrap_or(0).min(rest.len());
            for node in &rest[..n] {
                let pod = pod_name(name, node, input.id_seed);
                let reason = bj(BroadcastJobReason::RunOnNode { active, parallelism: limit });
                plan.actions.push(Action {
                    kind: ActionKind::CreatePod { instance_id: (*node).to_owned() },
                    pod: Some(pod),
                    revision: None,
                    reason,
                    object: Some(ObjectRef::node(node)),
                });
                active += 1;
            }
            for node in &rest[n..] {
                plan.held.push(Held::object(
                    ObjectRef::node(node),
                    bj(BroadcastJobReason::Parallelism { active, parallelism: limit }),
                ));
            }
        }
    }
    // BJ-22: completion, on the snapshot before this pass's creates.
    if !policy.is_never()
        && !desired.is_empty()
        && desired.iter().all(|(_, p)| p.is_some_and(|p| !is_pod_active(p.pod)))
    {
        let message = format!("Job completed, {succeeded} pods succeeded, {failed} pods failed");
        status.phase = phase::COMPLETED.into();
        conclude(&mut status, job_condition_type::COMPLETE, &message, input.now);
        plan.events.push(bj(BroadcastJobReason::JobComplete { succeeded, failed }));
        requeue = ttl_requeue;
    }
    status.active = active;
    status.failed = failed;
    finish(&mut plan, status, requeue);
    Ok(plan)
}

fn delete(p: &JobPod<'_>, node: Option<&str>, reason: Reason) -> Action {
    Action {
        kind: ActionKind::DeletePod,
        pod: Some(p.name.to_owned()),
        revision: None,
        reason,
        object: node.map(ObjectRef::node),
    }
}

/// BJ-19, BJ-22: appends the finishing condition (reason = its type) and sets
/// `completionTime`.
fn conclude(status: &mut BroadcastJobStatus, type_: &str, message: &str, now: Timestamp) {
    status.conditions.push(JobCondition {
        type_: type_.into(),
        status: "True".into(),
        last_probe_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
        reason: type_.into(),
        message: message.into(),
    });
    status.completion_time = Some(Time(now));
}
