//! IPJ-15: pull secrets. kruise-daemon reads secrets only from its own namespace, so the
//! job's pull secrets are copied there; copies are shared between jobs through the
//! `imagepulljobs.kruise.io/references` annotation and deleted when the last job releases
//! them. Pure: the copies and sources come in, the secret writes and the references to put in
//! NodeImages go out. The copy name suffix derives from the id seed.
//!
//! Not checked here (adapter): that the daemon namespace exists and is not terminating.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kruise_api::apps::v1beta1::nodeimage::REFERENCE_OBJECT_MODE_BATCH;
use kruise_api::apps::v1beta1::{ImagePullJob, ReferenceObject};
use kruise_api::keys;
use serde_json::json;

use crate::hash::fnv1a64;
use crate::plan::{Action, ActionKind, ImagePullJobAction, ImagePullJobReason, ObjectRef, Reason};

/// What [`sync`] decided.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Synced {
    /// The secret references NodeImages must hold for the job.
    pub refs: Vec<ReferenceObject>,
    /// Secret writes (create / update / delete copies), in order.
    pub actions: Vec<Action>,
    /// Warnings (a missing source secret).
    pub events: Vec<Reason>,
}

fn reason(source: &str) -> Reason {
    Reason::ImagePullJob(ImagePullJobReason::PullSecret { source: source.to_owned() })
}

fn annotation<'a>(s: &'a Secret, key: &str) -> Option<&'a str> {
    s.metadata.annotations.as_ref().and_then(|a| a.get(key)).map(String::as_str)
}

/// The jobs (`<ns>/<name>`) a copy is referenced by.
pub fn references(s: &Secret) -> Vec<String> {
    annotation(s, keys::IMAGEPULLJOB_REFERENCES)
        .map(|r| r.split(',').filter(|x| !x.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn job_key(job: &ImagePullJob) -> String {
    format!(
        "{}/{}",
        job.metadata.namespace.as_deref().unwrap_or_default(),
        job.metadata.name.as_deref().unwrap_or_default()
    )
}

/// The copies in `ns` (with a source key, not being deleted), by name.
fn copies<'a>(secrets: &'a [Secret], ns: &str) -> Vec<&'a Secret> {
    let mut v: Vec<&Secret> = secrets
        .iter()
        .filter(|s| {
            s.metadata.namespace.as_deref() == Some(ns)
                && s.metadata.deletion_timestamp.is_none()
                && annotation(s, keys::IMAGEPULLJOB_SOURCE_KEY).is_some()
        })
        .collect();
    v.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    v
}

fn with_references(s: &Secret, refs: &[String]) -> Secret {
    let mut out = s.clone();
    let mut refs = refs.to_vec();
    refs.sort();
    refs.dedup();
    out.metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(keys::IMAGEPULLJOB_REFERENCES.into(), refs.join(","));
    out
}

fn secret_value(s: &Secret) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap_or_default();
    v["apiVersion"] = json!("v1");
    v["kind"] = json!("Secret");
    v
}

/// Release: drop the job from the copy's references; delete the copy when none remain.
fn release(copy: &Secret, job: &str) -> Action {
    let name = copy.metadata.name.as_deref().unwrap_or_default();
    let source = annotation(copy, keys::IMAGEPULLJOB_SOURCE_KEY).unwrap_or_default();
    let rest: Vec<String> = references(copy).into_iter().filter(|r| r != job).collect();
    let kind = if rest.is_empty() {
        ImagePullJobAction::DeleteSecret
    } else {
        ImagePullJobAction::UpdateSecret { secret: secret_value(&with_references(copy, &rest)) }
    };
    Action::on_object(ActionKind::ImagePullJob(kind), ObjectRef::new("Secret", name), reason(source))
}

/// IPJ-15, IPJ-16: releases every copy in `ns` that references the (deleting or completed)
/// job.
pub fn release_all(job: &ImagePullJob, secrets: &[Secret], ns: &str) -> Vec<Action> {
    let me = job_key(job);
    if job.metadata.namespace.as_deref() == Some(ns) {
        return Vec::new();
    }
    copies(secrets, ns).into_iter().filter(|c| references(c).contains(&me)).map(|c| release(c, &me)).collect()
}

/// The name of a new copy of `source`: `<source>-<6 hex>` from `(seed, job, source)`.
pub fn copy_name(source: &str, job: &str, seed: u64) -> String {
    let h = fnv1a64(&[&seed.to_le_bytes(), job.as_bytes(), b"/", source.as_bytes()]);
    format!("{source}-{:06x}", h & 0xff_ffff)
}

/// IPJ-15 for an active job: claims (creates or joins) a copy of each pull secret, releases
/// copies the job no longer needs, and returns the references for NodeImages.
pub fn sync(job: &ImagePullJob, secrets: &[Secret], ns: &str, seed: u64) -> Synced {
    let mut out = Synced::default();
    let job_ns = job.metadata.namespace.as_deref().unwrap_or_default();
    let pulls = job.spec.pull_secrets.clone().unwrap_or_default();
    if job_ns == ns {
        out.refs = pulls
            .iter()
            .map(|n| ReferenceObject { namespace: job_ns.to_owned(), name: n.clone(), mode: String::new() })
            .collect();
        return out;
    }
    let me = job_key(job);
    let desired: Vec<String> = pulls.iter().map(|n| format!("{job_ns}/{n}")).collect();
    // Classify the copies: the one used per desired source, the ones to release.
    let mut used: BTreeMap<&str, &Secret> = BTreeMap::new();
    for c in copies(secrets, ns) {
        let src = annotation(c, keys::IMAGEPULLJOB_SOURCE_KEY).unwrap_or_default();
        let mine = references(c).contains(&me);
        if desired.iter().any(|d| d == src) {
            match used.get(src) {
                None => {
                    used.insert(src, c);
                }
                // A copy already referencing this job is preferred over the first one.
                Some(prev) if mine && !references(prev).contains(&me) => {
                    used.insert(src, c);
                }
                Some(_) if mine => out.actions.push(release(c, &me)),
                Some(_) => {}
            }
        } else if mine {
            out.actions.push(release(c, &me));
        }
    }
    // Claim.
    for (src, n) in desired.iter().zip(&pulls) {
        let Some(source) = secrets.iter().find(|s| {
            s.metadata.namespace.as_deref() == Some(job_ns) && s.metadata.name.as_deref() == Some(n.as_str())
        }) else {
            out.events
                .push(Reason::ImagePullJob(ImagePullJobReason::PullSecretMissing { source: src.clone() }));
            continue;
        };
        match used.get(src.as_str()) {
            None => {
                let name = copy_name(n, &me, seed);
                let mut annotations = source.metadata.annotations.clone().unwrap_or_default();
                annotations.insert(keys::IMAGEPULLJOB_SOURCE_KEY.into(), src.clone());
                annotations.insert(keys::IMAGEPULLJOB_REFERENCES.into(), me.clone());
                annotations.insert(keys::IMAGEPULLJOB_MODE.into(), REFERENCE_OBJECT_MODE_BATCH.into());
                let copy = Secret {
                    metadata: ObjectMeta {
                        name: Some(name.clone()),
                        namespace: Some(ns.to_owned()),
                        labels: source.metadata.labels.clone(),
                        annotations: Some(annotations),
                        ..Default::default()
                    },
                    data: source.data.clone(),
                    string_data: source.string_data.clone(),
                    type_: source.type_.clone(),
                    immutable: None,
                };
                out.actions.push(Action::on_object(
                    ActionKind::ImagePullJob(ImagePullJobAction::CreateSecret {
                        secret: secret_value(&copy),
                    }),
                    ObjectRef::new("Secret", &name),
                    reason(src),
                ));
                out.refs.push(ReferenceObject {
                    namespace: ns.to_owned(),
                    name,
                    mode: REFERENCE_OBJECT_MODE_BATCH.into(),
                });
            }
            Some(copy) => {
                let mut refs = references(copy);
                refs.push(me.clone());
                let mut updated = with_references(copy, &refs);
                updated.data = source.data.clone();
                updated.string_data = source.string_data.clone();
                let name = copy.metadata.name.clone().unwrap_or_default();
                if updated != **copy {
                    out.actions.push(Action::on_object(
                        ActionKind::ImagePullJob(ImagePullJobAction::UpdateSecret {
                            secret: secret_value(&updated),
                        }),
                        ObjectRef::new("Secret", &name),
                        reason(src),
                    ));
                }
                out.refs.push(ReferenceObject {
                    namespace: ns.to_owned(),
                    name,
                    mode: annotation(copy, keys::IMAGEPULLJOB_MODE).unwrap_or_default().to_owned(),
                });
            }
        }
    }
    out
}
