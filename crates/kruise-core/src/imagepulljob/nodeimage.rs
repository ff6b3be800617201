//! The NodeImage planner (IPJ-20..IPJ-22): [`plan`] keeps one NodeImage per ready node, prunes
//! its spec (labels, tags without `createdAt`, owners that are gone, finished tags past their
//! TTL, secrets that are gone) and fails tags the node daemon does not answer for. Reconciled
//! by node name. The daemon's own status reports (IPJ-30) are not planned here.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kruise_api::apps::v1beta1::nodeimage::{REFERENCE_OBJECT_MODE_BATCH, image_pull_phase};
use kruise_api::apps::v1beta1::{ImageTagStatus, NodeImage, NodeImageStatus};
use kruise_api::keys;
use serde_json::json;

use crate::hash::fnv1a64;
use crate::plan::{Action, ActionKind, ImagePullJobAction, ImagePullJobReason, ObjectRef, Reason};

/// What one reconcile of a NodeImage should do.
pub type Plan = crate::plan::Plan<NodeImageStatus>;

/// IPJ-20: flag `nodeimage-creation-delay` default.
pub const DEFAULT_CREATION_DELAY: Duration = Duration::from_secs(30);
/// IPJ-22: how long the daemon may stay silent about a tag.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(600);

/// Everything the NodeImage planner may look at.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The node's name (the NodeImage's name).
    pub name: &'a str,
    /// The node, if it exists.
    pub node: Option<&'a Node>,
    /// The NodeImage, if it exists.
    pub node_image: Option<&'a NodeImage>,
    /// Existing ImagePullJobs: `(namespace, name)` → uid (IPJ-21 step 2).
    pub jobs: &'a BTreeMap<(String, String), String>,
    /// Existing secrets, `(namespace, name)` (IPJ-21 step 4).
    pub secrets: &'a BTreeSet<(String, String)>,
    /// The only clock.
    pub now: Timestamp,
    /// IPJ-20 `nodeimage-creation-delay`.
    pub creation_delay: Duration,
    /// The only randomness (IPJ-22's requeue jitter).
    pub id_seed: u64,
}

fn reason(r: ImagePullJobReason) -> Reason {
    Reason::ImagePullJob(r)
}

fn elapsed(now: Timestamp, since: Timestamp) -> Duration {
    Duration::try_from(now.duration_since(since)).unwrap_or(Duration::ZERO)
}

fn secs(n: i64) -> Duration {
    Duration::from_secs(u64::try_from(n).unwrap_or(0))
}

fn object_value(ni: &NodeImage) -> serde_json::Value {
    let mut v = serde_json::to_value(ni).unwrap_or_default();
    v["apiVersion"] = json!("apps.kruise.io/v1beta1");
    v["kind"] = json!("NodeImage");
    v
}

/// Plans one reconcile of the NodeImage of node `input.name` (IPJ-20..IPJ-22).
pub fn plan(input: &Input<'_>) -> Plan {
    let mut plan = Plan::new(input.node_image.and_then(|n| n.status.clone()).unwrap_or_default());
    let me = ObjectRef::new("NodeImage", input.name);
    let node = input.node.filter(|n| n.metadata.deletion_timestamp.is_none());
    // IPJ-20: virtual-kubelet nodes are ignored entirely.
    if node.and_then(|n| n.metadata.labels.as_ref()).and_then(|l| l.get("type")).map(String::as_str)
        == Some("virtual-kubelet")
    {
        return plan;
    }
    let Some(node) = node else {
        if let Some(ni) = input.node_image
            && ni.metadata.deletion_timestamp.is_none()
            && !ni.metadata.labels.as_ref().is_some_and(|l| l.contains_key(keys::FAKE_NODEIMAGE))
        {
            plan.actions.push(Action::on_object(
                ActionKind::ImagePullJob(ImagePullJobAction::DeleteNodeImage),
                me,
                reason(ImagePullJobReason::NodeLifecycle { why: "node is gone".into() }),
            ));
        }
        return plan;
    };
    let Some(ni) = input.node_image else {
        let ready = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .filter(|c| c.status == "True");
        let Some(ready) = ready else { return plan };
        let since = ready.last_transition_time.as_ref().map_or(Duration::MAX, |t| elapsed(input.now, t.0));
        if since < input.creation_delay {
            plan.requeue_at_most(input.creation_delay - since, reason(ImagePullJobReason::CreationDelay));
            return plan;
        }
        let created = NodeImage {
            metadata: ObjectMeta {
                name: Some(input.name.to_owned()),
                labels: node.metadata.labels.clone(),
                ..Default::default()
            },
            ..Default::default()
        };
        plan.actions.push(Action::on_object(
            ActionKind::ImagePullJob(ImagePullJobAction::CreateNodeImage {
                node_image: object_value(&created),
            }),
            me,
            reason(ImagePullJobReason::NodeLifecycle { why: "node is ready".into() }),
        ));
        return plan;
    };
    // IPJ-21.
    let (updated, messages, wait) = maintain_spec(ni, node, input);
    if let Some(w) = wait {
        plan.requeue_at_most(w, reason(ImagePullJobReason::TagTimer));
    }
    if let Some(updated) = updated {
        plan.actions.push(Action::on_object(
            ActionKind::ImagePullJob(ImagePullJobAction::UpdateNodeImageSpec {
                node_image: object_value(&updated),
            }),
            me,
            reason(ImagePullJobReason::SpecMaintenance { messages: messages.join("; ") }),
        ));
        return plan;
    }
    // IPJ-22.
    let (status, wait) = maintain_status(ni, input.now);
    if let Some(w) = wait {
        let w = if w < Duration::from_secs(3) {
            Duration::from_secs(3)
                + Duration::from_millis(
                    fnv1a64(&[&input.id_seed.to_le_bytes(), input.name.as_bytes()]) % 2000,
                )
        } else {
            w
        };
        plan.requeue_at_most(w, reason(ImagePullJobReason::TagTimer));
    }
    if let Some(status) = status {
        plan.status = status;
        plan.actions.push(Action::on_object(ActionKind::UpdateStatus, me, Reason::StatusChanged));
    }
    plan
}

fn owner_key(r: &k8s_openapi::api::core::v1::ObjectReference) -> serde_json::Value {
    serde_json::to_value(r).unwrap_or_default()
}

/// IPJ-21: the pruned NodeImage when anything changed (with the change messages, in the
/// spec's order), and the smallest wait until a finished tag's TTL.
pub fn maintain_spec(
    ni: &NodeImage,
    node: &Node,
    input: &Input<'_>,
) -> (Option<NodeImage>, Vec<String>, Option<Duration>) {
    let mut out = ni.clone();
    let mut messages = Vec::new();
    let mut modified = false;
    let mut wait: Option<Duration> = None;
    if out.metadata.labels != node.metadata.labels {
        out.metadata.labels = node.metadata.labels.clone();
        messages.push("node labels changed".to_owned());
        modified = true;
    }
    let statuses = ni.status.as_ref().map(|s| &s.image_statuses);
    let mut images = std::mem::take(&mut out.spec.images);
    for (image, spec) in images.iter_mut() {
        let mut kept = Vec::new();
        for mut tag in std::mem::take(&mut spec.tags) {
            let full = format!("{image}:{}", tag.tag);
            if tag.created_at.is_none() {
                messages.push(format!("image {full} has no createAt field"));
                modified = true;
                continue;
            }
            let before = tag.owner_references.clone();
            tag.owner_references.retain(|r| {
                let group =
                    r.api_version.as_deref().unwrap_or_default().split('/').next().unwrap_or_default();
                if group != "apps.kruise.io" || r.kind.as_deref() != Some("ImagePullJob") {
                    return true;
                }
                let key = (r.namespace.clone().unwrap_or_default(), r.name.clone().unwrap_or_default());
                input.jobs.get(&key).is_some_and(|uid| Some(uid.as_str()) == r.uid.as_deref())
            });
            if tag.owner_references.is_empty() {
                messages.push(format!("image {full} owners is cleared"));
                modified = true;
                continue;
            }
            if tag.owner_references != before {
                let old: Vec<_> = before.iter().map(owner_key).collect();
                let new: Vec<_> = tag.owner_references.iter().map(owner_key).collect();
                messages.push(format!(
                    "image {full} owners changed from {} to {}",
                    serde_json::Value::from(old),
                    serde_json::Value::from(new)
                ));
                modified = true;
            }
            if let Some(ttl) = tag.pull_policy.as_ref().and_then(|p| p.ttl_seconds_after_finished) {
                let done = statuses
                    .and_then(|s| s.get(image))
                    .and_then(|s| s.tags.iter().find(|t| t.tag == tag.tag && t.version == tag.version))
                    .and_then(|t| t.completion_time.clone());
                if let Some(done) = done {
                    let age = elapsed(input.now, done.0);
                    let ttl_d = secs(i64::from(ttl));
                    if age >= ttl_d {
                        messages.push(format!(
                            "image {full} has exceeded TTL ({ttl})s since {} completed",
                            done.0
                        ));
                        modified = true;
                        continue;
                    }
                    let left = ttl_d - age;
                    wait = Some(wait.map_or(left, |w| w.min(left)));
                }
            }
            kept.push(tag);
        }
        kept.sort_by(|a, b| a.tag.cmp(&b.tag));
        spec.tags = kept;
        let n = spec.pull_secrets.len();
        spec.pull_secrets.retain(|r| {
            r.mode == REFERENCE_OBJECT_MODE_BATCH
                || input.secrets.contains(&(r.namespace.clone(), r.name.clone()))
        });
        modified |= spec.pull_secrets.len() != n;
    }
    images.retain(|image, spec| {
        if spec.tags.is_empty() {
            messages.push(format!("no longer has {image} image spec"));
            modified = true;
            return false;
        }
        true
    });
    out.spec.images = images;
    (modified.then_some(out), messages, wait)
}

/// IPJ-22: the rebuilt status when a tag had to be failed, and the smallest pending wait.
pub fn maintain_status(ni: &NodeImage, now: Timestamp) -> (Option<NodeImageStatus>, Option<Duration>) {
    let mut status = ni.status.clone().unwrap_or_default();
    let mut changed = false;
    let mut wait: Option<Duration> = None;
    let mut offer = |d: Duration| wait = Some(wait.map_or(d, |w: Duration| w.min(d)));
    for (image, spec) in &ni.spec.images {
        for tag in &spec.tags {
            let Some(created) = tag.created_at.as_ref() else { continue };
            let age = elapsed(now, created.0);
            let fail = |message: &str| ImageTagStatus {
                tag: tag.tag.clone(),
                phase: image_pull_phase::FAILED.into(),
                completion_time: Some(Time(now)),
                version: tag.version,
                message: message.into(),
                ..Default::default()
            };
            let entry =
                status.image_statuses.get(image).and_then(|s| s.tags.iter().position(|t| t.tag == tag.tag));
            let current = entry.and_then(|i| status.image_statuses.get(image).map(|s| &s.tags[i]));
            let failed = match current {
                Some(t) if t.version == tag.version => {
                    match (
                        t.completion_time.is_none(),
                        tag.pull_policy.as_ref().and_then(|p| p.active_deadline_seconds),
                    ) {
                        (true, Some(ads)) => {
                            let limit = secs(ads) + RESPONSE_TIMEOUT;
                            if age < limit {
                                offer(limit - age);
                                None
                            } else {
                                Some(fail("pulling exceeds the activeDeadlineSeconds"))
                            }
                        }
                        _ => None,
                    }
                }
                _ => {
                    if age < RESPONSE_TIMEOUT {
                        offer(RESPONSE_TIMEOUT - age);
                        None
                    } else {
                        Some(fail("node has not responded for a long time"))
                    }
                }
            };
            if let Some(f) = failed {
                let tags = &mut status.image_statuses.entry(image.clone()).or_default().tags;
                match entry {
                    Some(i) => tags[i] = f,
                    None => tags.push(f),
                }
                changed = true;
            }
        }
    }
    if !changed {
        return (None, wait);
    }
    // Rebuild: only statuses of spec tags, sorted; counters by phase.
    let mut desired = 0;
    status.image_statuses.retain(|image, st| {
        let Some(spec) = ni.spec.images.get(image) else { return false };
        let tags: BTreeSet<&str> = spec.tags.iter().map(|t| t.tag.as_str()).collect();
        st.tags.retain(|t| tags.contains(t.tag.as_str()));
        st.tags.sort_by(|a, b| a.tag.cmp(&b.tag));
        !st.tags.is_empty()
    });
    for spec in ni.spec.images.values() {
        desired += spec.tags.len();
    }
    let phase_count = |p: &str| {
        i32::try_from(status.image_statuses.values().flat_map(|s| &s.tags).filter(|t| t.phase == p).count())
            .unwrap_or(i32::MAX)
    };
    status.desired = i32::try_from(desired).unwrap_or(i32::MAX);
    status.pulling = phase_count(image_pull_phase::PULLING);
    status.succeeded = phase_count(image_pull_phase::SUCCEEDED);
    status.failed = phase_count(image_pull_phase::FAILED);
    (Some(status), wait)
}
