//! The benchmark inputs of `bench-scenarios.md`, built exactly as that file says, shared by the
//! criterion benches and the root test that checks their action counts.
#![allow(dead_code)]

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, ContainerState, ContainerStateRunning, ContainerStatus, EmptyDirVolumeSource,
    EnvVar, EnvVarSource, HTTPGetAction, ObjectFieldSelector, Pod, PodCondition, PodReadinessGate, PodSpec,
    PodStatus, PodTemplateSpec, Probe, ResourceRequirements, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::{
    CloneSet, CloneSetSpec, CloneSetUpdateStrategy, RollingUpdateCloneSetStrategy,
};
use kruise_api::keys;
use kruise_core::cloneset::{Input, Plan, PodTable, Pods, fixtures, plan, short_hash};
use kruise_core::{Expectations, Features};

/// The five scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// All pods on the new revision, nothing to do.
    Steady,
    /// Half the pods updated, 1 % not ready, maxUnavailable 100.
    Rolling,
    /// All pods old and ready, maxUnavailable 20 %.
    Wave,
    /// N + N/10 pods, replicas N, N/20 named in podsToDelete.
    ScaleDown,
    /// As ScaleDown with no podsToDelete.
    ScaleDownNoSpec,
}

impl Kind {
    /// The bench name segment.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Steady => "steady",
            Kind::Rolling => "rolling",
            Kind::Wave => "wave",
            Kind::ScaleDown => "scaledown",
            Kind::ScaleDownNoSpec => "scaledown-nospec",
        }
    }
    /// All five.
    pub const ALL: [Kind; 5] =
        [Kind::Steady, Kind::Rolling, Kind::Wave, Kind::ScaleDown, Kind::ScaleDownNoSpec];
}

pub const OLD_IMAGE: &str = "registry.example.com/demo/app:v1.0.0";
pub const NEW_IMAGE: &str = "registry.example.com/demo/app:v1.1.0";
pub const OLD_IMAGE_ID: &str =
    "registry.example.com/demo/app@sha256:1111111111111111111111111111111111111111111111111111111111111111";
pub const NEW_IMAGE_ID: &str =
    "registry.example.com/demo/app@sha256:2222222222222222222222222222222222222222222222222222222222222222";
pub const LOG_IMAGE: &str = "registry.example.com/infra/log-agent:3.2.1";
pub const LOG_IMAGE_ID: &str = "registry.example.com/infra/log-agent@sha256:3333333333333333333333333333333333333333333333333333333333333333";
pub const UID: &str = "5f0c9a7e-1d2b-4c3d-9e8f-0a1b2c3d4e5f";

fn base_time() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().expect("constant timestamp")
}

/// `now` for every scenario: long after the last pod became ready.
pub fn now(pods: usize) -> Timestamp {
    base_time() + jiff::SignedDuration::from_secs(pods as i64 + 3600)
}

fn q(s: &str) -> Quantity {
    Quantity(s.to_owned())
}

fn template_labels() -> BTreeMap<String, String> {
    [
        ("app", "demo"),
        ("tier", "backend"),
        ("team", "payments"),
        ("env", "production"),
        ("region", "eu-west-1"),
        ("version-track", "stable"),
        ("cost-center", "cc-4711"),
        ("owner", "platform"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn template_annotations() -> BTreeMap<String, String> {
    [("prometheus.io/scrape", "true"), ("prometheus.io/port", "9090")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The pod template with the given `main` image.
pub fn template(image: &str) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(template_labels()),
            annotations: Some(template_annotations()),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            readiness_gates: Some(vec![PodReadinessGate {
                condition_type: keys::INPLACE_UPDATE_READY.to_owned(),
            }]),
            termination_grace_period_seconds: Some(30),
            containers: vec![
                Container {
                    name: "main".to_owned(),
                    image: Some(image.to_owned()),
                    ports: Some(vec![
                        ContainerPort {
                            name: Some("http".into()),
                            container_port: 8080,
                            ..Default::default()
                        },
                        ContainerPort {
                            name: Some("metrics".into()),
                            container_port: 9090,
                            ..Default::default()
                        },
                    ]),
                    env: Some(vec![
                        EnvVar { name: "LOG_LEVEL".into(), value: Some("info".into()), ..Default::default() },
                        EnvVar { name: "WORKERS".into(), value: Some("8".into()), ..Default::default() },
                        EnvVar {
                            name: "POD_NAME".into(),
                            value_from: Some(EnvVarSource {
                                field_ref: Some(ObjectFieldSelector {
                                    field_path: "metadata.name".into(),
                                    api_version: None,
                                }),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                    ]),
                    resources: Some(ResourceRequirements {
                        requests: Some(
                            [("cpu".to_owned(), q("500m")), ("memory".to_owned(), q("512Mi"))].into(),
                        ),
                        limits: Some([("cpu".to_owned(), q("1")), ("memory".to_owned(), q("1Gi"))].into()),
                        ..Default::default()
                    }),
                    readiness_probe: Some(Probe {
                        http_get: Some(HTTPGetAction {
                            path: Some("/healthz".into()),
                            port: IntOrString::Int(8080),
                            ..Default::default()
                        }),
                        period_seconds: Some(5),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                Container {
                    name: "log-agent".to_owned(),
                    image: Some(LOG_IMAGE.to_owned()),
                    resources: Some(ResourceRequirements {
                        requests: Some(
                            [("cpu".to_owned(), q("50m")), ("memory".to_owned(), q("64Mi"))].into(),
                        ),
                        ..Default::default()
                    }),
                    volume_mounts: Some(vec![VolumeMount {
                        name: "logs".into(),
                        mount_path: "/var/log/app".into(),
                        ..Default::default()
                    }]),
                    ..Default::default()
                },
            ],
            volumes: Some(vec![Volume {
                name: "logs".into(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
    }
}

/// The common CloneSet `demo` with the given template image, replicas and maxUnavailable.
pub fn cloneset(image: &str, replicas: i32, max_unavailable: IntOrString) -> CloneSet {
    CloneSet {
        metadata: ObjectMeta {
            name: Some("demo".into()),
            namespace: Some("default".into()),
            uid: Some(UID.into()),
            generation: Some(2),
            ..Default::default()
        },
        spec: CloneSetSpec {
            replicas: Some(replicas),
            selector: Some(LabelSelector {
                match_labels: Some([("app".to_owned(), "demo".to_owned())].into()),
                ..Default::default()
            }),
            template: template(image),
            update_strategy: CloneSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateCloneSetStrategy {
                    partition: Some(IntOrString::Int(0)),
                    max_unavailable: Some(max_unavailable),
                    max_surge: None,
                    pod_update_policy: Some("InPlaceIfPossible".into()),
                    ..Default::default()
                }),
            },
            revision_history_limit: Some(10),
            ..Default::default()
        },
        status: None,
    }
}

fn cond(type_: &str, status: bool, at: Timestamp) -> PodCondition {
    PodCondition {
        type_: type_.to_owned(),
        status: if status { "True" } else { "False" }.to_owned(),
        last_transition_time: Some(Time(at)),
        ..Default::default()
    }
}

/// Pod `i` of a scenario, on revision `revision` (full name), new or old image, ready or not.
pub fn pod(
    i: usize,
    n: usize,
    revision: &str,
    new: bool,
    ready: bool,
    inplace_state_revision: Option<&str>,
) -> Pod {
    let name = format!("demo-{i:05x}");
    let id = format!("{i:05x}");
    let created = base_time() + jiff::SignedDuration::from_secs(i as i64);
    let ready_at = created + jiff::SignedDuration::from_secs(30);
    let image = if new { NEW_IMAGE } else { OLD_IMAGE };
    let image_id = if new { NEW_IMAGE_ID } else { OLD_IMAGE_ID };
    let mut labels = template_labels();
    labels.insert(keys::CONTROLLER_REVISION_HASH.into(), revision.to_owned());
    labels.insert(keys::POD_TEMPLATE_HASH.into(), short_hash(revision).to_owned());
    labels.insert(keys::CLONESET_INSTANCE_ID.into(), id);
    labels.insert(keys::LIFECYCLE_STATE.into(), keys::lifecycle_state::NORMAL.into());
    let mut annotations = template_annotations();
    annotations.insert("kubectl.kubernetes.io/restartedAt".into(), "2025-12-24T00:00:00Z".into());
    if let Some(rev) = inplace_state_revision {
        let state = serde_json::json!({
            "revision": rev,
            "updateTimestamp": ready_at.to_string(),
            "lastContainerStatuses": {"main": {"imageID": OLD_IMAGE_ID}},
            "updateImages": true,
            "containerBatchesRecord": [{"timestamp": ready_at.to_string(), "containers": ["main"]}],
        });
        annotations.insert(keys::INPLACE_UPDATE_STATE.into(), state.to_string());
    }
    let mut spec = template(image).spec.unwrap_or_default();
    spec.node_name = Some(format!("node-{}", i % (n / 10).max(1)));
    let main_status = ContainerStatus {
        name: "main".into(),
        image: image.into(),
        image_id: image_id.into(),
        ready,
        started: Some(true),
        restart_count: 0,
        container_id: Some(format!("containerd://{i:064x}")),
        state: Some(ContainerState {
            running: Some(ContainerStateRunning { started_at: Some(Time(created)) }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let log_status = ContainerStatus {
        name: "log-agent".into(),
        image: LOG_IMAGE.into(),
        image_id: LOG_IMAGE_ID.into(),
        ready: true,
        started: Some(true),
        restart_count: 0,
        container_id: Some(format!("containerd://{:064x}", i + (1 << 40))),
        state: Some(ContainerState {
            running: Some(ContainerStateRunning { started_at: Some(Time(created)) }),
            ..Default::default()
        }),
        ..Default::default()
    };
    Pod {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some("default".into()),
            uid: Some(format!("00000000-0000-4000-8000-{i:012x}")),
            resource_version: Some((1000 + i).to_string()),
            creation_timestamp: Some(Time(created)),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references: Some(vec![OwnerReference {
                api_version: "apps.kruise.io/v1beta1".into(),
                kind: "CloneSet".into(),
                name: "demo".into(),
                uid: UID.into(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        },
        spec: Some(spec),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            conditions: Some(vec![
                cond(keys::INPLACE_UPDATE_READY, true, created),
                cond(keys::CONDITION_INITIALIZED, true, created),
                cond(keys::CONDITION_READY, ready, ready_at),
                cond(keys::CONDITION_CONTAINERS_READY, ready, ready_at),
                cond(keys::CONDITION_POD_SCHEDULED, true, created),
            ]),
            container_statuses: Some(vec![main_status, log_status]),
            pod_ip: Some(format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)),
            start_time: Some(Time(created)),
            ..Default::default()
        }),
    }
}

/// One scenario at one size: the CloneSet (status preset), its two revisions, the pods, the
/// clock, and the action counts bench-scenarios.md expects.
pub struct Scenario {
    /// Which scenario.
    pub kind: Kind,
    /// `N` (the replicas).
    pub n: usize,
    /// The CloneSet, its status preset to what the planner computes for these pods.
    pub cloneset: CloneSet,
    /// Revision 1 (old image) and revision 2 (new image), built by the planner's own functions.
    pub revisions: Vec<ControllerRevision>,
    /// The pods, by name ascending.
    pub pods: Vec<Pod>,
    /// The same pods in a [`PodTable`], as an adapter with a cache keeps them.
    pub table: PodTable,
    /// The clock.
    pub now: Timestamp,
    /// No pending writes.
    pub expectations: Expectations,
}

impl Scenario {
    /// Builds scenario `kind` with `n` replicas exactly as bench-scenarios.md describes, then
    /// presets the status: plans once and copies the computed status in.
    pub fn build(kind: Kind, n: usize) -> Self {
        Self::build_as(kind, n, |_| {})
    }

    /// As [`build`](Self::build), with the CloneSet passed through `prepare` before each
    /// revision is computed from it: `apply_defaults` gives the CloneSet as an operator sees it
    /// (the webhook defaults, which the kube adapter applies before planning), so the
    /// revisions match the template the adapter plans with.
    pub fn build_as(kind: Kind, n: usize, prepare: impl Fn(&mut CloneSet)) -> Self {
        let replicas = i32::try_from(n).expect("bench sizes fit in i32");
        let max_unavailable = match kind {
            Kind::Rolling => IntOrString::Int(100),
            _ => IntOrString::String("20%".into()),
        };
        let mut cs = cloneset(OLD_IMAGE, replicas, max_unavailable);
        prepare(&mut cs);
        let old = fixtures::revision_of(&cs, 1);
        cs.spec.template = template(NEW_IMAGE);
        prepare(&mut cs);
        let new = fixtures::revision_of(&cs, 2);
        let old_name = old.metadata.name.clone().expect("revision_of names the revision");
        let new_name = new.metadata.name.clone().expect("revision_of names the revision");
        let total = match kind {
            Kind::ScaleDown | Kind::ScaleDownNoSpec => n + n / 10,
            _ => n,
        };
        let on_new = |i: usize| match kind {
            Kind::Steady | Kind::ScaleDown | Kind::ScaleDownNoSpec => true,
            Kind::Rolling => i < n / 2,
            Kind::Wave => false,
        };
        let ready = |i: usize| !(kind == Kind::Rolling && i % 100 == 99);
        let pods: Vec<Pod> = (0..total)
            .map(|i| {
                if on_new(i) {
                    pod(i, n, &new_name, true, ready(i), Some(&new_name))
                } else {
                    pod(i, n, &old_name, false, ready(i), None)
                }
            })
            .collect();
        let current = if (0..total).all(on_new) { &new_name } else { &old_name };
        fixtures::set_status(&mut cs, current, &new_name);
        if kind == Kind::ScaleDown {
            cs.spec.scale_strategy.pods_to_delete =
                (0..total).filter(|i| i % 22 == 0).take(n / 20).map(|i| format!("demo-{i:05x}")).collect();
        }
        let table = PodTable::from_pods(&cs, pods.iter().cloned()).expect("bench pods are named");
        let mut s = Scenario {
            kind,
            n,
            cloneset: cs,
            revisions: vec![old, new],
            pods,
            table,
            now: now(total),
            expectations: Expectations::new(),
        };
        let first = s.plan();
        s.cloneset.status = Some(first.status);
        s
    }

    /// The planner input, pods from the table.
    pub fn input(&self) -> Input<'_> {
        self.input_from((&self.table).into())
    }

    /// The planner input, pods as a slice.
    pub fn input_slice(&self) -> Input<'_> {
        self.input_from((&self.pods).into())
    }

    fn input_from<'a>(&'a self, pods: Pods<'a>) -> Input<'a> {
        Input {
            cloneset: &self.cloneset,
            pods,
            pvcs: &[],
            revisions: &self.revisions,
            nodes: &[],
            now: self.now,
            id_seed: 1,
            features: Features::default(),
            expectations: &self.expectations,
            pub_decisions: None,
        }
    }

    /// Plans once from the table (a plan error is a broken scenario, so it panics:
    /// bench/test code only).
    pub fn plan(&self) -> Plan {
        plan(&self.input()).expect("the scenario input is valid")
    }

    /// Plans once from the pods as a slice.
    pub fn plan_slice(&self) -> Plan {
        plan(&self.input_slice()).expect("the scenario input is valid")
    }

    /// The action counts bench-scenarios.md gives for this scenario, by action name.
    pub fn expected(&self) -> BTreeMap<&'static str, usize> {
        let n = self.n;
        let mut m = BTreeMap::new();
        match self.kind {
            Kind::Steady => {}
            Kind::Rolling => {
                let updates = match n {
                    1_000 => 95,
                    10_000 => 50,
                    100_000 => 0,
                    // Not in the table: the rule it explains (budget 100, unavailable pods
                    // of both revisions count, not-ready old pods are updated first for free).
                    _ => {
                        let unavailable = 2 * (n / 200);
                        if unavailable > 100 { 0 } else { n / 200 + (100 - unavailable) }
                    }
                };
                if updates > 0 {
                    m.insert("UpdateInPlace", updates);
                }
            }
            Kind::Wave => {
                m.insert("UpdateInPlace", n / 5);
            }
            Kind::ScaleDown => {
                m.insert("DeletePod", n / 20);
            }
            Kind::ScaleDownNoSpec => {
                m.insert("DeletePod", n / 10);
            }
        }
        m
    }

    /// Checks a plan against the scenario: exactly the expected action counts, no status
    /// write, and for `scaledown` exactly the listed pods deleted.
    pub fn check(&self, p: &Plan) -> Result<(), String> {
        let mut got: BTreeMap<&'static str, usize> = BTreeMap::new();
        for a in &p.actions {
            *got.entry(a.kind.name()).or_default() += 1;
        }
        let want = self.expected();
        if got != want {
            return Err(format!(
                "cloneset/{}/{}: actions {got:?}, bench-scenarios.md expects {want:?}",
                self.kind.name(),
                self.n
            ));
        }
        if self.kind == Kind::ScaleDown {
            let listed: std::collections::BTreeSet<&str> =
                self.cloneset.spec.scale_strategy.pods_to_delete.iter().map(String::as_str).collect();
            let deleted: std::collections::BTreeSet<&str> = p
                .actions
                .iter()
                .filter(|a| a.kind.name() == "DeletePod")
                .filter_map(|a| a.pod.as_deref())
                .collect();
            if listed != deleted {
                return Err(format!(
                    "cloneset/scaledown/{}: deleted pods differ from podsToDelete ({} listed, {} deleted)",
                    self.n,
                    listed.len(),
                    deleted.len()
                ));
            }
        }
        Ok(())
    }
}

/// The pods of a scenario as `kubectl get pods -o json` prints them (a `v1` `List`).
pub fn pods_list_json(pods: &[Pod]) -> String {
    let items: Vec<serde_json::Value> = pods
        .iter()
        .map(|p| {
            let mut v = serde_json::to_value(p).expect("pods serialize");
            if let Some(o) = v.as_object_mut() {
                o.insert("apiVersion".into(), "v1".into());
                o.insert("kind".into(), "Pod".into());
            }
            v
        })
        .collect();
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": items,
    })
    .to_string()
}
