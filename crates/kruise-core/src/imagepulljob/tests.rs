//! Unit tests per IPJ rule, the spec's worked example (§6) and property tests.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{
    Container, LocalObjectReference, Node, NodeCondition, NodeStatus, Pod, PodSpec, PodStatus,
    PodTemplateSpec, Secret,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta, OwnerReference,
};
use kruise_api::apps::v1beta1::{
    ImagePullJobNodeSelector, ImagePullJobPodSelector, ImageStatus, ImageTagStatus, NodeImageStatus,
};
use kruise_api::defaults::Defaulting;
use proptest::prelude::*;

use super::*;
use crate::plan::ImagePullJobReason as R;

fn t0() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}
fn at(secs: i64) -> Timestamp {
    t0().checked_add(SignedDuration::from_secs(secs)).unwrap()
}

fn job(image: &str) -> ImagePullJob {
    let mut j = ImagePullJob {
        metadata: ObjectMeta {
            name: Some("test-job".into()),
            namespace: Some("default".into()),
            uid: Some("u1".into()),
            finalizers: Some(vec![keys::DELETION_PROTECTION_FINALIZER.into()]),
            ..Default::default()
        },
        ..Default::default()
    };
    j.spec.image = image.into();
    j.apply_defaults();
    j
}

fn ni(name: &str, labels: &[(&str, &str)]) -> NodeImage {
    NodeImage {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()),
            ..Default::default()
        },
        ..Default::default()
    }
}

struct Case {
    job: ImagePullJob,
    nis: Vec<NodeImage>,
    pods: Vec<Pod>,
    secrets: Vec<Secret>,
    now: Timestamp,
}

impl Case {
    fn new(job: ImagePullJob, nis: Vec<NodeImage>) -> Self {
        Self { job, nis, pods: vec![], secrets: vec![], now: t0() }
    }
    fn input(&self) -> Input<'_> {
        Input {
            job: &self.job,
            node_images: &self.nis,
            pods: &self.pods,
            secrets: &self.secrets,
            daemon_namespace: keys::KRUISE_DAEMON_CONFIG_NAMESPACE,
            now: self.now,
            id_seed: 3,
            default_ttl_for_always: DEFAULT_TTL_FOR_ALWAYS_NODEIMAGE,
        }
    }
    fn plan(&self) -> Plan {
        plan(&self.input()).unwrap()
    }
}

/// Applies the plan's NodeImage writes to `nis`.
fn apply(nis: &mut [NodeImage], p: &Plan) {
    for a in &p.actions {
        if let ActionKind::ImagePullJob(ImagePullJobAction::WriteNodeImage { image, spec }) = &a.kind {
            let n = nis
                .iter_mut()
                .find(|n| n.metadata.name.as_deref() == Some(&a.object.as_ref().unwrap().name))
                .unwrap();
            n.spec.images.insert(image.clone(), serde_json::from_value(spec.clone()).unwrap());
        }
    }
}

fn written(p: &Plan) -> Vec<String> {
    p.actions
        .iter()
        .filter(|a| matches!(a.kind, ActionKind::ImagePullJob(ImagePullJobAction::WriteNodeImage { .. })))
        .map(|a| a.object.as_ref().unwrap().name.clone())
        .collect()
}

/// The daemon reports `phase` for the job's tag on node `n`.
fn report(nis: &mut [NodeImage], n: &str, image: &str, tag: &str, phase: &str, done: Option<Timestamp>) {
    let node = nis.iter_mut().find(|x| x.metadata.name.as_deref() == Some(n)).unwrap();
    let version = node.spec.images[image].tags.iter().find(|t| t.tag == tag).unwrap().version;
    let st = node.status.get_or_insert_with(NodeImageStatus::default);
    st.image_statuses.insert(
        image.into(),
        ImageStatus {
            tags: vec![ImageTagStatus {
                tag: tag.into(),
                phase: phase.into(),
                version,
                completion_time: done.map(Time),
                ..Default::default()
            }],
        },
    );
}

#[test]
fn ipj_worked_example_three_nodes_parallelism_two() {
    let mut j = job("nginx:1.20");
    j.metadata.finalizers = None;
    j.spec.selector = Some(ImagePullJobNodeSelector {
        names: Some(vec!["node1".into(), "node2".into(), "node3".into()]),
        ..Default::default()
    });
    j.spec.parallelism = Some(IntOrString::Int(2));
    let mut c = Case::new(j, vec![ni("node1", &[]), ni("node2", &[]), ni("node3", &[])]);
    // Round 1.
    let p = c.plan();
    assert_eq!(p.count("AddFinalizer"), 1);
    assert_eq!(written(&p), ["node1", "node2"]);
    assert_eq!(p.held.len(), 1);
    let s = &p.status;
    assert_eq!((s.desired, s.active, s.succeeded, s.failed), (3, 0, 0, 0));
    assert_eq!(s.message, "job is running, progress 0.0%");
    assert_eq!(s.start_time, Some(Time(t0())));
    assert_eq!(p.count("UpdateStatus"), 1);
    let ActionKind::ImagePullJob(ImagePullJobAction::WriteNodeImage { image, spec }) = &p.actions[1].kind
    else {
        panic!("{:?}", p.actions[1])
    };
    assert_eq!(image, "nginx");
    let spec: ImageSpec = serde_json::from_value(spec.clone()).unwrap();
    let tag = &spec.tags[0];
    assert_eq!((tag.tag.as_str(), tag.version, tag.image_pull_policy.as_str()), ("1.20", 0, "IfNotPresent"));
    let pp = tag.pull_policy.as_ref().unwrap();
    let ttl = pp.ttl_seconds_after_finished.unwrap();
    assert!((2100..2400).contains(&ttl), "600*3 + 300 + R: {ttl}");
    assert_eq!(pp.active_deadline_seconds, None);
    apply(&mut c.nis, &p);
    c.job.metadata.finalizers = Some(vec![keys::DELETION_PROTECTION_FINALIZER.into()]);
    c.job.status = Some(p.status.clone());
    // Round 2: node1 Pulling, node2 silent → active 2, no slot for node3.
    report(&mut c.nis, "node1", "nginx", "1.20", "Pulling", None);
    c.now = at(10);
    let p = c.plan();
    assert_eq!(p.status.active, 2);
    assert!(written(&p).is_empty());
    c.job.status = Some(p.status.clone());
    // Round 3: node1 Succeeded → node3 starts.
    report(&mut c.nis, "node1", "nginx", "1.20", "Succeeded", Some(at(20)));
    c.now = at(20);
    let p = c.plan();
    assert_eq!(p.status.message, "job is running, progress 33.3%");
    assert_eq!(written(&p), ["node3"]);
    apply(&mut c.nis, &p);
    c.job.status = Some(p.status.clone());
    // Round 4: node2 Failed, node3 Succeeded → complete.
    report(&mut c.nis, "node2", "nginx", "1.20", "Failed", Some(at(30)));
    report(&mut c.nis, "node3", "nginx", "1.20", "Succeeded", Some(at(30)));
    c.now = at(30);
    let p = c.plan();
    assert_eq!(p.status.completion_time, Some(Time(at(30))));
    assert_eq!(p.status.message, "job has completed");
    assert_eq!(p.status.failed_nodes, ["node2"]);
    c.job.status = Some(p.status.clone());
    // Round 5: finalize, no TTL → no requeue.
    let p = c.plan();
    assert_eq!(p.count("RemoveFinalizer"), 1);
    assert_eq!(p.requeue, None);
}

#[test]
fn ipj_12_target_selection() {
    let nis = [
        ni("node1", &[]),
        ni("node2", &[("arch", "amd64")]),
        ni("node3", &[("arch", "arm64")]),
        ni("node4", &[]),
        ni("node5", &[("arch", "arm64")]),
    ];
    let names = |j: &ImagePullJob, pods: &[Pod]| -> Vec<String> {
        target_node_images(j, &nis.iter().collect::<Vec<_>>(), pods)
            .unwrap()
            .iter()
            .map(|n| n.metadata.name.clone().unwrap())
            .collect()
    };
    let mut j = job("nginx");
    assert_eq!(names(&j, &[]).len(), 5);
    j.spec.selector = Some(ImagePullJobNodeSelector {
        names: Some(vec!["node4".into(), "node2".into(), "nodeX".into()]),
        ..Default::default()
    });
    assert_eq!(names(&j, &[]), ["node4", "node2"], "names order, missing skipped");
    j.spec.selector = Some(ImagePullJobNodeSelector {
        match_labels: Some([("arch".into(), "arm64".into())].into()),
        ..Default::default()
    });
    assert_eq!(names(&j, &[]), ["node3", "node5"]);
    j.spec.selector = Some(ImagePullJobNodeSelector {
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: "arch".into(),
            operator: "DoesNotExist".into(),
            values: None,
        }]),
        ..Default::default()
    });
    assert_eq!(names(&j, &[]), ["node1", "node4"]);
    j.spec.selector = None;
    j.spec.pod_selector = Some(ImagePullJobPodSelector {
        match_labels: Some([("app".into(), "foo".into())].into()),
        ..Default::default()
    });
    let pod = |ns: &str, node: Option<&str>| Pod {
        metadata: ObjectMeta {
            namespace: Some(ns.into()),
            labels: Some([("app".into(), "foo".into())].into()),
            ..Default::default()
        },
        spec: Some(PodSpec { node_name: node.map(Into::into), ..Default::default() }),
        status: Some(PodStatus { phase: Some("Running".into()), ..Default::default() }),
    };
    let pods = vec![
        pod("default", Some("node2")),
        pod("default", None),
        pod("kube-system", Some("node5")),
        pod("default", Some("node2")),
    ];
    assert_eq!(names(&j, &pods), ["node2"]);
}

#[test]
fn ipj_13_status_from_node_image_status() {
    let j = job("nginx:1.20");
    let mut nis = vec![ni("node1", &[]), ni("node2", &[]), ni("node3", &[]), ni("node4", &[])];
    let pp = tag_pull_policy(&j, 0, 300);
    for n in nis.iter_mut().take(3) {
        let spec = synced_image_spec(n, &j, "nginx", "1.20", &[], &pp, t0()).unwrap();
        n.spec.images.insert("nginx".into(), spec);
    }
    report(&mut nis, "node1", "nginx", "1.20", "Succeeded", Some(t0()));
    report(&mut nis, "node2", "nginx", "1.20", "Pulling", None);
    report(&mut nis, "node3", "nginx", "1.20", "Failed", Some(t0()));
    // node4: the tag is there, owned by another job → not synced.
    let mut other = job("nginx:1.20");
    other.metadata.uid = Some("u2".into());
    let spec = synced_image_spec(&nis[3], &other, "nginx", "1.20", &[], &pp, t0()).unwrap();
    nis[3].spec.images.insert("nginx".into(), spec);
    let mut c = Case::new(j, nis[..3].to_vec());
    let p = c.plan();
    let s = &p.status;
    assert_eq!((s.desired, s.active, s.succeeded, s.failed), (3, 1, 1, 1));
    assert_eq!(s.failed_nodes, ["node3"]);
    assert_eq!(s.message, "job is running, progress 66.7%");
    c.nis = nis;
    let p = c.plan();
    assert_eq!(p.status.active, 1, "node4 is not synced, not pulling");
    assert_eq!(written(&p), Vec::<String>::new(), "active 1 = parallelism 1");
    // A stale version counts as pulling.
    let (state, _) = node_state(&c.nis[0], "nginx", "1.20", "u1", &[]);
    assert_eq!(state, NodeState::Succeeded);
    c.nis[0].spec.images.get_mut("nginx").unwrap().tags[0].version = 7;
    assert_eq!(node_state(&c.nis[0], "nginx", "1.20", "u1", &[]).0, NodeState::Pulling);
}

#[test]
fn ipj_13_progress_message_rounds_half_to_even_like_go() {
    let s = |desired, succeeded| ImagePullJobStatus { desired, succeeded, ..Default::default() };
    assert_eq!(status_message(&s(16, 1)), "job is running, progress 6.2%");
    assert_eq!(status_message(&s(3, 2)), "job is running, progress 66.7%");
    assert_eq!(status_message(&s(0, 0)), "job is running, no progress");
}

#[test]
fn ipj_13_deadline_fails_unfinished_nodes() {
    let mut j = job("nginx");
    j.spec.completion_policy.active_deadline_seconds = Some(600);
    j.status = Some(ImagePullJobStatus { start_time: Some(Time(t0())), ..Default::default() });
    let mut nis = vec![ni("b", &[]), ni("a", &[]), ni("c", &[])];
    let pp = tag_pull_policy(&j, 0, 300);
    let spec = synced_image_spec(&nis[0], &j, "nginx", "latest", &[], &pp, t0()).unwrap();
    nis[0].spec.images.insert("nginx".into(), spec);
    let mut c = Case::new(j, nis);
    c.now = at(599);
    let p = c.plan();
    assert!(p.status.completion_time.is_none());
    c.now = at(600);
    let p = c.plan();
    assert_eq!(p.status.message, "job exceeds activeDeadlineSeconds");
    assert_eq!(p.status.failed_nodes, ["b", "a", "c"], "pulling first, then not-synced sorted");
    assert_eq!((p.status.failed, p.status.active), (3, 0));
    assert!(written(&p).is_empty());
}

#[test]
fn ipj_13_nothing_targeted_completes_at_once_unless_never() {
    let mut j = job("nginx");
    j.spec.selector = Some(ImagePullJobNodeSelector { names: Some(vec![]), ..Default::default() });
    let p = Case::new(j.clone(), vec![ni("a", &[])]).plan();
    assert_eq!(p.status.completion_time, Some(Time(t0())));
    j.spec.completion_policy.type_ = "Never".into();
    let p = Case::new(j, vec![ni("a", &[])]).plan();
    assert_eq!(p.status.message, "job is running, no progress");
}

#[test]
fn ipj_13_bad_image_is_an_error() {
    let j = job("UPPER/Case");
    let e = plan(&Case::new(j, vec![]).input()).unwrap_err();
    let PlanError::InvalidSpec { path, .. } = e else { panic!() };
    assert_eq!(path.to_string(), "spec.image");
}

#[test]
fn ipj_14_versions_owners_and_skips() {
    let j = job("nginx:1.20");
    let pp = tag_pull_policy(&j, 0, 300);
    let mut n = ni("n", &[]);
    // Status had version 5 for the tag → 6.
    n.status = Some(NodeImageStatus {
        image_statuses: [(
            "nginx".into(),
            ImageStatus {
                tags: vec![ImageTagStatus { tag: "1.20".into(), version: 5, ..Default::default() }],
            },
        )]
        .into(),
        ..Default::default()
    });
    let s = synced_image_spec(&n, &j, "nginx", "1.20", &[], &pp, t0()).unwrap();
    assert_eq!(s.tags[0].version, 6);
    // Tag owned by another job at version 3 → 4, two owners, secrets appended.
    let mut other = job("nginx:1.20");
    other.metadata.uid = Some("u2".into());
    let mut n = ni("n", &[]);
    let mut s = synced_image_spec(&n, &other, "nginx", "1.20", &[], &pp, t0()).unwrap();
    s.tags[0].version = 3;
    n.spec.images.insert("nginx".into(), s);
    let refs = vec![ReferenceObject {
        namespace: "kruise-daemon-config".into(),
        name: "sec-1".into(),
        mode: "batch".into(),
    }];
    let s = synced_image_spec(&n, &j, "nginx", "1.20", &refs, &pp, at(5)).unwrap();
    assert_eq!(s.tags[0].version, 4);
    assert_eq!(s.tags[0].owner_references.len(), 2);
    assert_eq!(s.pull_secrets, refs);
    // Own tag with every secret → skip.
    n.spec.images.insert("nginx".into(), s);
    assert!(synced_image_spec(&n, &j, "nginx", "1.20", &refs, &pp, at(6)).is_none());
    // Tags are sorted by tag.
    let mut n2 = n.clone();
    let mut j2 = job("nginx:1.0");
    j2.metadata.uid = Some("u9".into());
    let s = synced_image_spec(&n2, &j2, "nginx", "1.0", &[], &pp, t0()).unwrap();
    assert_eq!(s.tags.iter().map(|t| t.tag.as_str()).collect::<Vec<_>>(), ["1.0", "1.20"]);
    n2.spec.images.clear();
}

#[test]
fn ipj_14_parallelism_readings() {
    assert_eq!(parallelism_limit(None), 1);
    assert_eq!(parallelism_limit(Some(&IntOrString::Int(4))), 4);
    assert_eq!(parallelism_limit(Some(&IntOrString::String("3".into()))), 3);
    assert_eq!(parallelism_limit(Some(&IntOrString::String("50%".into()))), 0, "quirk: a percent pauses");
    let mut j = job("nginx");
    j.spec.parallelism = Some(IntOrString::Int(0));
    let p = Case::new(j, vec![ni("a", &[]), ni("b", &[])]).plan();
    assert!(written(&p).is_empty());
    assert_eq!(p.held.len(), 2);
    assert_eq!(p.held[0].reason.kind(), "PullParallelism");
}

#[test]
fn ipj_14_not_synced_nodes_start_in_name_order() {
    let mut j = job("nginx");
    j.spec.parallelism = Some(IntOrString::Int(2));
    j.spec.selector = Some(ImagePullJobNodeSelector {
        names: Some(vec!["z".into(), "b".into(), "m".into()]),
        ..Default::default()
    });
    let p = Case::new(j, vec![ni("m", &[]), ni("z", &[]), ni("b", &[])]).plan();
    assert_eq!(written(&p), ["b", "m"]);
}

#[test]
fn ipj_10_ttl_after_completion_and_deadline_requeue() {
    let mut j = job("nginx");
    j.spec.completion_policy.ttl_seconds_after_finished = Some(100);
    j.status = Some(ImagePullJobStatus { completion_time: Some(Time(t0())), ..Default::default() });
    let mut c = Case::new(j, vec![]);
    c.now = at(40);
    let p = c.plan();
    assert_eq!(p.requeue.as_ref().map(|r| r.after), Some(Duration::from_secs(60)));
    assert_eq!(p.count("RemoveFinalizer"), 1);
    c.now = at(100);
    assert_eq!(c.plan().count("DeleteJob"), 1);
    // Deadline requeue when the status is unchanged.
    let mut j = job("nginx");
    j.spec.completion_policy.active_deadline_seconds = Some(900);
    let mut c = Case::new(j, vec![ni("a", &[])]);
    let p = c.plan();
    assert_eq!(p.requeue, None, "status written: no requeue");
    c.job.status = Some(p.status.clone());
    apply(&mut c.nis, &p);
    c.now = at(50);
    let p = c.plan();
    assert_eq!(p.status.active, 1, "the node now pulls: status changes once more");
    c.job.status = Some(p.status.clone());
    c.now = at(100);
    let p = c.plan();
    assert_eq!(p.count("UpdateStatus"), 0);
    assert_eq!(p.requeue.as_ref().map(|r| r.after), Some(Duration::from_secs(800)));
}

#[test]
fn ipj_16_deleting_job_releases_secrets_and_finalizer() {
    let mut j = job("nginx");
    j.metadata.deletion_timestamp = Some(Time(t0()));
    let copy = |name: &str, refs: &str| Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(keys::KRUISE_DAEMON_CONFIG_NAMESPACE.into()),
            annotations: Some(
                [
                    (keys::IMAGEPULLJOB_SOURCE_KEY.to_owned(), "default/sec".to_owned()),
                    (keys::IMAGEPULLJOB_REFERENCES.to_owned(), refs.to_owned()),
                ]
                .into(),
            ),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut c = Case::new(j, vec![]);
    c.secrets = vec![
        copy("a", "default/test-job"),
        copy("b", "default/other,default/test-job"),
        copy("c", "default/other"),
    ];
    let p = c.plan();
    let names: Vec<&str> = p.actions.iter().map(|a| a.kind.name()).collect();
    assert_eq!(names, ["DeleteSecret", "UpdateSecret", "RemoveFinalizer"]);
    let ActionKind::ImagePullJob(ImagePullJobAction::UpdateSecret { secret }) = &p.actions[1].kind else {
        panic!()
    };
    assert_eq!(secret["metadata"]["annotations"][keys::IMAGEPULLJOB_REFERENCES], "default/other");
}

#[test]
fn ipj_15_secrets_are_copied_once_and_referenced() {
    let mut j = job("nginx");
    j.spec.pull_secrets = Some(vec!["sec".into(), "missing".into()]);
    let src = Secret {
        metadata: ObjectMeta {
            name: Some("sec".into()),
            namespace: Some("default".into()),
            ..Default::default()
        },
        data: Some([("k".to_owned(), ByteString(b"v".to_vec()))].into()),
        ..Default::default()
    };
    let mut c = Case::new(j.clone(), vec![ni("a", &[])]);
    c.secrets = vec![src.clone()];
    let p = c.plan();
    assert_eq!(p.count("CreateSecret"), 1);
    assert!(
        p.events.contains(&Reason::ImagePullJob(R::PullSecretMissing { source: "default/missing".into() }))
    );
    let ActionKind::ImagePullJob(ImagePullJobAction::CreateSecret { secret }) =
        &p.actions.iter().find(|a| a.kind.name() == "CreateSecret").unwrap().kind
    else {
        panic!()
    };
    let copy: Secret = serde_json::from_value(secret.clone()).unwrap();
    assert!(copy.metadata.name.as_deref().unwrap().starts_with("sec-"));
    assert_eq!(copy.data, src.data);
    // The NodeImage write carries the copy's reference.
    let ActionKind::ImagePullJob(ImagePullJobAction::WriteNodeImage { spec, .. }) =
        &p.actions.iter().find(|a| a.kind.name() == "WriteNodeImage").unwrap().kind
    else {
        panic!()
    };
    assert_eq!(spec["pullSecrets"][0]["name"], copy.metadata.name.clone().unwrap());
    // Next round: the copy exists and references the job: no secret write.
    c.secrets.push(copy);
    let p = c.plan();
    assert_eq!(p.count("CreateSecret") + p.count("UpdateSecret"), 0);
    // Jobs in the daemon namespace reference their own secrets.
    j.metadata.namespace = Some(keys::KRUISE_DAEMON_CONFIG_NAMESPACE.into());
    let s = secrets::sync(&j, &[], keys::KRUISE_DAEMON_CONFIG_NAMESPACE, 0);
    assert_eq!(s.refs.len(), 2);
    assert!(s.actions.is_empty());
}

#[test]
fn ipj_17_tag_pull_policy() {
    let mut j = job("nginx");
    let p = tag_pull_policy(&j, 1, 300);
    assert_eq!((p.timeout_seconds, p.backoff_limit), (Some(600), Some(3)));
    let ttl = p.ttl_seconds_after_finished.unwrap();
    assert!((2100..2400).contains(&ttl));
    j.spec.completion_policy.ttl_seconds_after_finished = Some(10);
    let ttl = tag_pull_policy(&j, 1, 0).ttl_seconds_after_finished.unwrap();
    assert!((10..310).contains(&ttl));
    j.spec.completion_policy = Default::default();
    j.spec.completion_policy.type_ = "Never".into();
    let p = tag_pull_policy(&j, 1, 300);
    let ttl = p.ttl_seconds_after_finished.unwrap();
    assert!((85_800..87_000).contains(&ttl), "24h ± 10 min: {ttl}");
    assert_eq!(p.active_deadline_seconds, Some(1800));
    j.spec.pull_policy.as_mut().unwrap().timeout_seconds = Some(3600);
    assert_eq!(tag_pull_policy(&j, 1, 300).active_deadline_seconds, Some(3600));
    assert_eq!(tag_pull_policy(&j, 1, 300), tag_pull_policy(&j, 1, 300), "same seed, same jitter");
}

#[test]
fn ipj_18_never_jobs_keep_adding_nodes_and_never_complete() {
    let mut j = job("nginx");
    j.spec.completion_policy.type_ = "Never".into();
    j.spec.parallelism = Some(IntOrString::Int(5));
    let mut c = Case::new(j, vec![ni("a", &[])]);
    let p = c.plan();
    apply(&mut c.nis, &p);
    report(&mut c.nis, "a", "nginx", "latest", "Succeeded", Some(t0()));
    c.job.status = Some(p.status.clone());
    c.nis.push(ni("b", &[]));
    let p = c.plan();
    assert!(p.status.completion_time.is_none());
    assert_eq!(written(&p), ["b"]);
}

fn ready_node(name: &str, since: Timestamp) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some([("zone".into(), "a".into())].into()),
            ..Default::default()
        },
        spec: None,
        status: Some(NodeStatus {
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "True".into(),
                last_transition_time: Some(Time(since)),
                ..Default::default()
            }]),
            ..Default::default()
        }),
    }
}

fn ni_input<'a>(
    node: Option<&'a Node>,
    n: Option<&'a NodeImage>,
    jobs: &'a BTreeMap<(String, String), String>,
    secrets: &'a BTreeSet<(String, String)>,
    now: Timestamp,
) -> nodeimage::Input<'a> {
    nodeimage::Input {
        name: "n1",
        node,
        node_image: n,
        jobs,
        secrets,
        now,
        creation_delay: nodeimage::DEFAULT_CREATION_DELAY,
        id_seed: 0,
    }
}

#[test]
fn ipj_20_node_image_follows_its_node() {
    let (jobs, secrets) = (BTreeMap::new(), BTreeSet::new());
    let node = ready_node("n1", t0());
    let p = nodeimage::plan(&ni_input(Some(&node), None, &jobs, &secrets, at(10)));
    assert!(p.actions.is_empty());
    assert_eq!(p.requeue.as_ref().map(|r| r.after), Some(Duration::from_secs(20)));
    let p = nodeimage::plan(&ni_input(Some(&node), None, &jobs, &secrets, at(30)));
    assert_eq!(p.count("CreateNodeImage"), 1);
    let existing = ni("n1", &[]);
    let p = nodeimage::plan(&ni_input(None, Some(&existing), &jobs, &secrets, at(30)));
    assert_eq!(p.count("DeleteNodeImage"), 1);
    let fake = ni("n1", &[(keys::FAKE_NODEIMAGE, "true")]);
    assert!(nodeimage::plan(&ni_input(None, Some(&fake), &jobs, &secrets, at(30))).actions.is_empty());
    let mut vk = ready_node("n1", t0());
    vk.metadata.labels = Some([("type".into(), "virtual-kubelet".into())].into());
    assert!(nodeimage::plan(&ni_input(Some(&vk), None, &jobs, &secrets, at(60))).actions.is_empty());
}

#[test]
fn ipj_21_spec_maintenance_prunes_owners_ttl_and_labels() {
    let j = job("nginx:1.20");
    let pp = tag_pull_policy(&j, 0, 300);
    let mut n = ni("n1", &[("zone", "a")]);
    let spec = synced_image_spec(&n, &j, "nginx", "1.20", &[], &pp, t0()).unwrap();
    n.spec.images.insert("nginx".into(), spec);
    let node = ready_node("n1", t0());
    let secrets = BTreeSet::new();
    let mut jobs: BTreeMap<(String, String), String> =
        [(("default".into(), "test-job".into()), "u1".into())].into();
    // Nothing to do while the job exists and the tag is not finished.
    let p = nodeimage::plan(&ni_input(Some(&node), Some(&n), &jobs, &secrets, at(5)));
    assert_eq!(p.count("UpdateNodeImageSpec"), 0);
    // The job is gone → owners cleared → tag and image dropped.
    jobs.insert(("default".into(), "test-job".into()), "other-uid".into());
    let p = nodeimage::plan(&ni_input(Some(&node), Some(&n), &jobs, &secrets, at(5)));
    assert_eq!(p.count("UpdateNodeImageSpec"), 1);
    assert_eq!(
        p.actions[0].reason.to_string(),
        "image nginx:1.20 owners is cleared; no longer has nginx image spec"
    );
    // TTL after completion.
    jobs.insert(("default".into(), "test-job".into()), "u1".into());
    let mut nis = vec![n];
    report(&mut nis, "n1", "nginx", "1.20", "Succeeded", Some(at(100)));
    let ttl = i64::from(pp.ttl_seconds_after_finished.unwrap());
    let p = nodeimage::plan(&ni_input(Some(&node), Some(&nis[0]), &jobs, &secrets, at(100 + ttl - 10)));
    assert_eq!(p.count("UpdateNodeImageSpec"), 0);
    assert_eq!(p.requeue.as_ref().map(|r| r.after), Some(Duration::from_secs(10)));
    let p = nodeimage::plan(&ni_input(Some(&node), Some(&nis[0]), &jobs, &secrets, at(100 + ttl)));
    assert!(p.actions[0].reason.to_string().starts_with("image nginx:1.20 has exceeded TTL"));
    // A tag without createdAt is dropped.
    let mut no_created = nis[0].clone();
    no_created.spec.images.get_mut("nginx").unwrap().tags[0].created_at = None;
    let p = nodeimage::plan(&ni_input(Some(&node), Some(&no_created), &jobs, &secrets, at(5)));
    assert_eq!(
        p.actions[0].reason.to_string(),
        "image nginx:1.20 has no createAt field; no longer has nginx image spec"
    );
    // Labels follow the node.
    let mut relabelled = ready_node("n1", t0());
    relabelled.metadata.labels = Some([("zone".into(), "b".into())].into());
    let p = nodeimage::plan(&ni_input(Some(&relabelled), Some(&nis[0]), &jobs, &secrets, at(5)));
    assert_eq!(p.actions[0].reason.to_string(), "node labels changed");
}

#[test]
fn ipj_22_silent_daemon_fails_the_tag_after_ten_minutes() {
    let j = job("nginx:1.20");
    let pp = tag_pull_policy(&j, 0, 300);
    let mut n = ni("n1", &[("zone", "a")]);
    let spec = synced_image_spec(&n, &j, "nginx", "1.20", &[], &pp, t0()).unwrap();
    n.spec.images.insert("nginx".into(), spec);
    let node = ready_node("n1", t0());
    let jobs: BTreeMap<(String, String), String> =
        [(("default".into(), "test-job".into()), "u1".into())].into();
    let secrets = BTreeSet::new();
    let p = nodeimage::plan(&ni_input(Some(&node), Some(&n), &jobs, &secrets, at(60)));
    assert_eq!(p.requeue.as_ref().map(|r| r.after), Some(Duration::from_secs(540)));
    let p = nodeimage::plan(&ni_input(Some(&node), Some(&n), &jobs, &secrets, at(600)));
    assert_eq!(p.count("UpdateStatus"), 1);
    let t = &p.status.image_statuses["nginx"].tags[0];
    assert_eq!((t.phase.as_str(), t.message.as_str()), ("Failed", "node has not responded for a long time"));
    assert_eq!((p.status.desired, p.status.failed), (1, 1));
}

fn revision(name: &str, labels: &[(&str, &str)]) -> ControllerRevision {
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect()),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn template(images: &[(&str, &str)]) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some([("app".into(), "web".into())].into()),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            containers: images
                .iter()
                .map(|(n, i)| Container { name: (*n).into(), image: Some((*i).into()), ..Default::default() })
                .collect(),
            image_pull_secrets: Some(vec![LocalObjectReference { name: "regcred".into() }]),
            ..Default::default()
        }),
    }
}

#[test]
fn ipj_40_41_42_predownload_once_per_revision() {
    let owner = OwnerReference {
        kind: "CloneSet".into(),
        name: "web".into(),
        uid: "cs".into(),
        controller: Some(true),
        ..Default::default()
    };
    let sel =
        LabelSelector { match_labels: Some([("app".into(), "web".into())].into()), match_expressions: None };
    let tpl = template(&[("main", "nginx:1.26"), ("side", "envoy:1")]);
    let rev = revision("web-abc", &[(keys::CONTROLLER_REVISION_HASH_LABEL, "h1")]);
    let old = vec![BTreeMap::from([
        ("main".to_owned(), "nginx:1.25".to_owned()),
        ("side".to_owned(), "envoy:1".to_owned()),
    ])];
    let facts = predownload::Facts {
        in_place_strategy: true,
        replicas: 10,
        partition: 0,
        max_unavailable: 2,
        in_place_possible: true,
    };
    let input = predownload::Input {
        kind: predownload::WorkloadKind::CloneSet,
        owner: &owner,
        namespace: "default",
        selector: &sel,
        template: &tpl,
        update_revision: &rev,
        old_images: &old,
        rolling: true,
        min_ready_reached: true,
        facts,
        parallelism: None,
        timeout_seconds: None,
        existing_jobs: &[],
    };
    let a = predownload::plan(&input);
    let names: Vec<&str> = a.iter().map(|a| a.kind.name()).collect();
    assert_eq!(names, ["CreateImagePullJob", "LabelPreDownloadRevision"]);
    let ActionKind::ImagePullJob(ImagePullJobAction::CreateImagePullJob { job }) = &a[0].kind else {
        panic!()
    };
    let job: ImagePullJob = serde_json::from_value(job.clone()).unwrap();
    assert_eq!(job.metadata.name.as_deref(), Some("web-abc-main"));
    assert_eq!(job.spec.image, "nginx:1.26");
    assert_eq!(job.spec.pull_secrets, Some(vec!["regcred".into()]));
    assert_eq!(job.spec.parallelism, Some(IntOrString::Int(1)));
    assert_eq!(
        job.spec.pull_policy,
        Some(kruise_api::apps::v1beta1::PullPolicy { timeout_seconds: Some(300), backoff_limit: Some(1) })
    );
    assert_eq!(job.spec.completion_policy.ttl_seconds_after_finished, Some(600));
    let expr = &job.spec.pod_selector.as_ref().unwrap().match_expressions.as_ref().unwrap()[0];
    assert_eq!(
        (expr.operator.as_str(), expr.values.clone().unwrap()),
        ("NotIn", vec!["web-abc".to_owned(), "h1".to_owned()])
    );
    assert_eq!(job.metadata.labels.as_ref().unwrap()[keys::CONTROLLER_REVISION_HASH_LABEL], "h1");
    // A handled revision is never handled again.
    let done = revision("web-abc", &[(keys::PRE_PREDOWNLOAD_CREATED, "true")]);
    assert!(predownload::plan(&predownload::Input { update_revision: &done, ..input }).is_empty());
    // Skips label the revision ignored.
    for f in [
        predownload::Facts { replicas: 3, ..facts },
        predownload::Facts { max_unavailable: 10, ..facts },
        predownload::Facts { in_place_strategy: false, ..facts },
        predownload::Facts { in_place_possible: false, ..facts },
    ] {
        let a = predownload::plan(&predownload::Input { facts: f, ..input });
        assert_eq!(a.len(), 1);
        assert_eq!(
            a[0].kind,
            ActionKind::ImagePullJob(ImagePullJobAction::LabelRevision {
                label: keys::IMAGE_PREDOWNLOAD_IGNORED.into()
            })
        );
    }
    // Waiting for min updated ready pods.
    assert!(predownload::plan(&predownload::Input { min_ready_reached: false, ..input }).is_empty());
    // Rollout over: the workload's jobs are deleted.
    let existing = vec![job];
    let a = predownload::plan(&predownload::Input { rolling: false, existing_jobs: &existing, ..input });
    assert_eq!(a.iter().map(|a| a.kind.name()).collect::<Vec<_>>(), ["DeleteImagePullJob"]);
    // DaemonSet: every old revision compared; min-ready ignored; its own skip rule.
    let old2 = vec![
        old[0].clone(),
        BTreeMap::from([
            ("main".to_owned(), "nginx:1.26".to_owned()),
            ("side".to_owned(), "envoy:0".to_owned()),
        ]),
    ];
    let ds = predownload::Input {
        kind: predownload::WorkloadKind::DaemonSet,
        old_images: &old2,
        min_ready_reached: false,
        ..input
    };
    assert_eq!(predownload::plan(&ds).iter().filter(|a| a.kind.name() == "CreateImagePullJob").count(), 2);
}

/// `obj` as stored JSON, with its `apiVersion` and `kind`.
fn stored<T: serde::Serialize>(obj: &T, api_version: &str, kind: &str) -> serde_json::Value {
    let mut v = serde_json::to_value(obj).unwrap();
    v["apiVersion"] = api_version.into();
    v["kind"] = kind.into();
    v
}

fn reconcile_related(
    related: &[serde_json::Value],
    j: &ImagePullJob,
) -> Result<crate::reconciler::Outcome, String> {
    use crate::reconciler::{Context, Reconciler, World};
    let e = crate::Expectations::new();
    let ctx =
        Context { now: t0(), id_seed: 3, features: crate::features::Features::default(), expectations: &e };
    ImagePullJobReconciler::default()
        .reconcile(&World::new(j).with_related(related), &ctx)
        .map_err(|e| e.to_string())
}

#[test]
fn ipj_12_15_reconcile_from_related_objects_writes_what_the_planner_fed_directly_plans() {
    let mut j = job("nginx");
    j.spec.pull_secrets = Some(vec!["sec".into()]);
    j.spec.parallelism = Some(IntOrString::Int(3));
    let src = Secret {
        metadata: ObjectMeta {
            name: Some("sec".into()),
            namespace: Some("default".into()),
            ..Default::default()
        },
        data: Some([("k".to_owned(), ByteString(b"v".to_vec()))].into()),
        ..Default::default()
    };
    let mut a = ni("a", &[]);
    a.metadata.resource_version = Some("7".into());
    // A node name that is not ASCII, and one NodeImage stored as v1alpha1.
    let mut c = Case::new(j.clone(), vec![a, ni("b-\u{e9}t\u{e9}", &[]), ni("c", &[])]);
    c.secrets = vec![src];
    let direct = reconcile::outcome(&c.input(), &c.plan()).unwrap();
    assert!(direct.writes.iter().any(|w| w.name() == "CreateSecret"));
    assert_eq!(direct.writes.iter().filter(|w| w.name() == "WriteNodeImage").count(), 3);

    let mut related = vec![
        stored(&c.nis[0], "apps.kruise.io/v1beta1", "NodeImage"),
        // Not a kind the reconciler reads: ignored.
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": 3}),
        stored(&c.nis[1], "apps.kruise.io/v1beta1", "NodeImage"),
        stored(&c.secrets[0], "v1", "Secret"),
        stored(&c.nis[2], "apps.kruise.io/v1alpha1", "NodeImage"),
    ];
    assert_eq!(reconcile_related(&related, &j).unwrap(), direct);
    // The NodeImage patch carries the resourceVersion read from the related object.
    let w = serde_json::to_value(&direct.writes.iter().find(|w| w.name() == "WriteNodeImage").unwrap().write)
        .unwrap();
    assert!(w.to_string().contains("\"resourceVersion\":\"7\""), "{w}");

    // Next round with the copy handed over (it lives in the daemon namespace): no secret write,
    // as when the planner is fed the copy directly.
    let ActionKind::ImagePullJob(ImagePullJobAction::CreateSecret { secret }) =
        &c.plan().actions.iter().find(|a| a.kind.name() == "CreateSecret").unwrap().kind.clone()
    else {
        panic!()
    };
    let copy: Secret = serde_json::from_value(secret.clone()).unwrap();
    assert_eq!(copy.metadata.namespace.as_deref(), Some(keys::KRUISE_DAEMON_CONFIG_NAMESPACE));
    c.secrets.push(copy.clone());
    related.push(stored(&copy, "v1", "Secret"));
    let direct = reconcile::outcome(&c.input(), &c.plan()).unwrap();
    assert!(!direct.writes.iter().any(|w| w.name() == "CreateSecret"));
    assert_eq!(reconcile_related(&related, &j).unwrap(), direct);
}

#[test]
fn ipj_12_reconciler_declares_node_images_and_secrets_and_keeps_the_daemon_namespace() {
    use crate::reconciler::Reconciler;
    let r = ImagePullJobReconciler::default();
    assert_eq!(r.daemon_namespace, keys::KRUISE_DAEMON_CONFIG_NAMESPACE);
    let kinds: Vec<(String, &str, bool)> =
        r.related_kinds().iter().map(|k| (k.api_version(), k.kind, k.namespaced)).collect();
    assert_eq!(
        kinds,
        [("apps.kruise.io/v1beta1".to_owned(), "NodeImage", false), ("v1".to_owned(), "Secret", true)]
    );
    // A configured daemon namespace is where the copies go.
    let mut j = job("nginx");
    j.spec.pull_secrets = Some(vec!["sec".into()]);
    let src = Secret {
        metadata: ObjectMeta {
            name: Some("sec".into()),
            namespace: Some("default".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let related =
        [stored(&ni("a", &[]), "apps.kruise.io/v1beta1", "NodeImage"), stored(&src, "v1", "Secret")];
    let e = crate::Expectations::new();
    let ctx = crate::reconciler::Context {
        now: t0(),
        id_seed: 3,
        features: crate::features::Features::default(),
        expectations: &e,
    };
    let r = ImagePullJobReconciler { daemon_namespace: "elsewhere".into() };
    let out = r.reconcile(&crate::reconciler::World::new(&j).with_related(&related), &ctx).unwrap();
    let create = out.writes.iter().find(|w| w.name() == "CreateSecret").unwrap();
    assert!(serde_json::to_string(&create.write).unwrap().contains("\"namespace\":\"elsewhere\""));
}

#[test]
fn ipj_12_malformed_related_object_is_an_error_naming_its_index() {
    let j = job("nginx");
    let good = stored(&ni("a", &[]), "apps.kruise.io/v1beta1", "NodeImage");
    let bad = serde_json::json!({
        "apiVersion": "apps.kruise.io/v1beta1", "kind": "NodeImage",
        "metadata": {"name": "n\u{f6}de-b"}, "spec": {"images": "not a map"},
    });
    let e = reconcile_related(&[good.clone(), bad], &j).unwrap_err();
    assert!(e.starts_with("related[1] (NodeImage/n\u{f6}de-b): "), "{e}");
    let nameless = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {}});
    let e = reconcile_related(&[good.clone(), good.clone(), nameless], &j).unwrap_err();
    assert_eq!(e, "related[2].metadata.name: a Secret without a name");
    let bad_secret =
        serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": 1});
    let e = reconcile_related(&[bad_secret], &j).unwrap_err();
    assert!(e.starts_with("related[0] (Secret/s): "), "{e}");
    // A NodeImage of another group is not one.
    let other = serde_json::json!({"apiVersion": "example.com/v1", "kind": "NodeImage", "spec": 1});
    assert!(reconcile_related(&[other], &j).is_ok());
}

prop_compose! {
    fn arb_job_world()(
        n in 0usize..15,
        par in 0i32..6,
        states in proptest::collection::vec(0usize..5, 15),
    ) -> (ImagePullJob, Vec<NodeImage>) {
        let mut j = job("quay.io/x/ÿ".replace('ÿ', "y").as_str());
        j.spec.parallelism = Some(IntOrString::Int(par));
        let pp = tag_pull_policy(&j, 0, 300);
        let mut nis: Vec<NodeImage> = (0..n).map(|i| ni(&format!("nöde-{i}"), &[])).collect();
        for (i, n) in nis.iter_mut().enumerate() {
            if states[i] == 0 { continue; }
            let spec = synced_image_spec(n, &j, "quay.io/x/y", "latest", &[], &pp, t0()).unwrap();
            n.spec.images.insert("quay.io/x/y".into(), spec);
            let phase = ["", "", "Pulling", "Succeeded", "Failed"][states[i]];
            if !phase.is_empty() {
                let name = n.metadata.name.clone().unwrap();
                report(std::slice::from_mut(n), &name, "quay.io/x/y", "latest", phase, None);
            }
        }
        (j, nis)
    }
}

proptest! {
    /// Writes go only to not-synced NodeImages, at most once each, and never start more pulls
    /// than `parallelism` allows; counters add up to `desired`.
    #[test]
    fn ipj_invariants_parallelism_and_counts((j, nis) in arb_job_world()) {
        let c = Case::new(j.clone(), nis.clone());
        let p = c.plan();
        let w = written(&p);
        let mut u = w.clone();
        u.sort();
        u.dedup();
        prop_assert_eq!(u.len(), w.len());
        for n in &w {
            let ni = nis.iter().find(|x| x.metadata.name.as_deref() == Some(n.as_str())).unwrap();
            prop_assert!(!ni.spec.images.contains_key("quay.io/x/y"));
        }
        let limit = parallelism_limit(j.spec.parallelism.as_ref());
        prop_assert!(p.status.active + w.len() as i32 <= limit.max(p.status.active));
        let s = &p.status;
        prop_assert!(s.active + s.succeeded + s.failed <= s.desired);
        prop_assert_eq!(&p, &c.plan());
    }
}

proptest! {
    /// Extreme and absent values never panic: any parallelism (int or text), deadline, TTL,
    /// timeout and backoff; a stored start time anywhere; non-ASCII NodeImage names.
    #[test]
    fn ipj_extreme_values_never_panic(
        par in proptest::option::of(prop_oneof![any::<i32>().prop_map(IntOrString::Int), "\\PC{0,6}".prop_map(IntOrString::String)]),
        ads in proptest::option::of(any::<i64>()),
        ttl in proptest::option::of(any::<i32>()),
        timeout in proptest::option::of(any::<i32>()),
        backoff in proptest::option::of(any::<i32>()),
        never in any::<bool>(),
        started in proptest::option::of(-1_000_000i64..1_000_000),
        names in proptest::collection::vec("[a-zé-ü]{1,6}", 0..8),
    ) {
        let mut j = job("nginx");
        j.spec.parallelism = par;
        j.spec.completion_policy.active_deadline_seconds = ads;
        j.spec.completion_policy.ttl_seconds_after_finished = ttl;
        if never {
            j.spec.completion_policy.type_ = "Never".into();
        }
        j.spec.pull_policy = Some(kruise_api::apps::v1beta1::PullPolicy { timeout_seconds: timeout, backoff_limit: backoff });
        j.status = Some(ImagePullJobStatus { start_time: started.map(|s| Time(at(s))), ..Default::default() });
        let nis: Vec<NodeImage> = names.iter().map(|n| ni(n, &[])).collect();
        let c = Case::new(j, nis);
        let p = c.plan();
        prop_assert!(p.status.active + p.status.succeeded + p.status.failed <= p.status.desired.max(p.status.failed));
    }
}

/// IPJ-10 step 4 and step 9 in one pass: the finalizer patch moves the job's resourceVersion,
/// so the status is written by a JSON patch that tests the uid and the finalizers that patch
/// leaves (a replace under the version read would always conflict); a job that already has
/// its finalizer keeps the replace under its resourceVersion.
#[test]
fn ipj_10_status_after_the_finalizer_is_a_guarded_json_patch() {
    let mut j = job("nginx");
    j.metadata.finalizers = None;
    j.metadata.uid = Some("u-job".into());
    let c = Case::new(j.clone(), vec![ni("a", &[])]);
    let out = reconcile::outcome(&c.input(), &c.plan()).unwrap();
    let names: Vec<&str> = out.writes.iter().map(|w| w.name()).collect();
    assert_eq!(names.first(), Some(&"AddFinalizer"), "{names:?}");
    let status = out.writes.iter().find(|w| w.name() == "UpdateStatus").unwrap();
    let crate::write::ApiWrite::JsonPatch { subresource, patch, .. } = &status.write else {
        panic!("{:?}", status.write)
    };
    assert_eq!(*subresource, crate::write::Subresource::Status);
    assert_eq!(patch[0], serde_json::json!({"op": "test", "path": "/metadata/uid", "value": "u-job"}));
    assert_eq!(patch[1]["value"], serde_json::json!([keys::DELETION_PROTECTION_FINALIZER]));
    assert_eq!(patch[2]["path"], "/status");
    // With the finalizer already there: the plain status replace.
    let mut k = j.clone();
    k.metadata.finalizers = Some(vec![keys::DELETION_PROTECTION_FINALIZER.into()]);
    let c = Case::new(k, vec![ni("a", &[])]);
    let out = reconcile::outcome(&c.input(), &c.plan()).unwrap();
    let status = out.writes.iter().find(|w| w.name() == "UpdateStatus").unwrap();
    assert!(matches!(status.write, crate::write::ApiWrite::Replace { .. }), "{:?}", status.write);
}

proptest! {
    /// IPJ-40..IPJ-42 invariants over arbitrary numbers (huge and negative included), non-ASCII
    /// container names and images, absent old revisions and existing jobs: the plan is empty,
    /// one "ignored" label, or one create per changed container not already created followed
    /// by one "created" label; a handled revision is never planned again; every job created
    /// targets only old-revision pods and is named after the revision and its container.
    #[test]
    fn ipj_40_41_42_predownload_invariants(
        containers in proptest::collection::btree_map("[a-zé日]{1,6}", "[a-z:0-9é]{0,6}", 0..5),
        old_same in proptest::collection::vec(any::<bool>(), 0..5),
        replicas in any::<i32>(),
        partition in any::<i32>(),
        max_unavailable in any::<i32>(),
        flags in any::<(bool, bool, bool, bool, bool)>(),
        existing in 0usize..3,
    ) {
        let (in_place_strategy, in_place_possible, rolling, min_ready_reached, daemonset) = flags;
        let pairs: Vec<(&str, &str)> = containers.iter().map(|(n, i)| (n.as_str(), i.as_str())).collect();
        let tpl = template(&pairs);
        let old: Vec<BTreeMap<String, String>> = if old_same.is_empty() {
            Vec::new()
        } else {
            vec![containers
                .iter()
                .zip(old_same.iter().cycle())
                .map(|((n, i), same)| (n.clone(), if *same { i.clone() } else { format!("{i}-old") }))
                .collect()]
        };
        let owner = OwnerReference { kind: "CloneSet".into(), name: "w".into(), uid: "u".into(), controller: Some(true), ..Default::default() };
        let sel = LabelSelector { match_labels: Some([("app".into(), "web".into())].into()), match_expressions: None };
        let rev = revision("w-r\u{e9}v", &[(keys::CONTROLLER_REVISION_HASH_LABEL, "h")]);
        let changed = predownload::changed_containers(&tpl, &old);
        let jobs: Vec<ImagePullJob> = changed
            .iter()
            .take(existing)
            .map(|(c, _)| ImagePullJob {
                metadata: ObjectMeta { name: Some(format!("w-r\u{e9}v-{c}")), ..Default::default() },
                ..Default::default()
            })
            .collect();
        let kind = if daemonset { predownload::WorkloadKind::DaemonSet } else { predownload::WorkloadKind::CloneSet };
        let input = predownload::Input {
            kind,
            owner: &owner,
            namespace: "default",
            selector: &sel,
            template: &tpl,
            update_revision: &rev,
            old_images: &old,
            rolling,
            min_ready_reached,
            facts: predownload::Facts { in_place_strategy, replicas, partition, max_unavailable, in_place_possible },
            parallelism: None,
            timeout_seconds: None,
            existing_jobs: &jobs,
        };
        let a = predownload::plan(&input);
        let names: Vec<&str> = a.iter().map(|x| x.kind.name()).collect();
        if !rolling {
            prop_assert!(names.iter().all(|n| *n == "DeleteImagePullJob"));
            prop_assert_eq!(names.len(), jobs.len());
        } else if names.is_empty() {
            prop_assert!(!min_ready_reached && !daemonset);
        } else {
            prop_assert_eq!(names.last().copied(), Some("LabelPreDownloadRevision"));
            let creates = &a[..a.len() - 1];
            if predownload::skip_reason(kind, &input.facts).is_some() {
                prop_assert!(creates.is_empty());
            } else {
                prop_assert_eq!(creates.len(), changed.len() - jobs.len());
                for c in creates {
                    let ActionKind::ImagePullJob(ImagePullJobAction::CreateImagePullJob { job }) = &c.kind else {
                        return Err(TestCaseError::fail(format!("{c:?}")));
                    };
                    let name = job["metadata"]["name"].as_str().unwrap_or_default();
                    let prefix = "w-r\u{e9}v-";
                    prop_assert!(name.starts_with(prefix), "{}", name);
                    prop_assert!(!jobs.iter().any(|j| j.metadata.name.as_deref() == Some(name)));
                    let expr = &job["spec"]["podSelector"]["matchExpressions"][0];
                    prop_assert_eq!(expr["operator"].as_str(), Some("NotIn"));
                    prop_assert_eq!(expr["values"][0].as_str(), Some("w-r\u{e9}v"));
                }
            }
            // Once labelled, never again.
            let ActionKind::ImagePullJob(ImagePullJobAction::LabelRevision { label }) = &a[a.len() - 1].kind else {
                return Err(TestCaseError::fail("no label"));
            };
            let mut handled = rev.clone();
            handled.metadata.labels.get_or_insert_default().insert(label.clone(), "true".into());
            let again = predownload::plan(&predownload::Input { update_revision: &handled, ..input });
            prop_assert!(again.is_empty(), "{:?}", again);
        }
    }
}
