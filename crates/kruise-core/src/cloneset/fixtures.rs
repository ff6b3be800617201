//! Small builders of CloneSets, revisions and pods, for unit tests, property tests, benches
//! and the simulator. Everything is deterministic; times are seconds since the Unix epoch.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{
    Container, ContainerStatus, Pod, PodCondition, PodReadinessGate, PodSpec, PodStatus, PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::common::Lifecycle;
use kruise_api::apps::v1beta1::{
    CloneSet, CloneSetScaleStrategy, CloneSetSpec, CloneSetStatus, CloneSetUpdateStrategy,
    RollingUpdateCloneSetStrategy,
};
use kruise_api::keys;

use super::pods::{State, short_hash};
use super::{Input, revision};
use crate::{Expectations, Features};

/// `Timestamp` at `s` seconds since the epoch (0 for out-of-range values).
pub fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// A defaulted v1beta1 CloneSet `name` in namespace `default`, uid `uid-<name>`, selector
/// `app=<name>`, one container `main` running `image`, RollingUpdate/ReCreate with
/// partition 0, maxUnavailable `20%`, maxSurge 0.
pub fn cloneset(name: &str, replicas: i32, image: &str) -> CloneSet {
    let sel = labels(&[("app", name)]);
    CloneSet {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            uid: Some(format!("uid-{name}")),
            generation: Some(1),
            ..Default::default()
        },
        spec: CloneSetSpec {
            replicas: Some(replicas),
            selector: Some(LabelSelector { match_labels: Some(sel.clone()), match_expressions: None }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(sel), ..Default::default() }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "main".into(),
                        image: Some(image.into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            scale_strategy: CloneSetScaleStrategy::default(),
            update_strategy: CloneSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateCloneSetStrategy {
                    partition: Some(IntOrString::Int(0)),
                    max_unavailable: Some(IntOrString::String("20%".into())),
                    max_surge: Some(IntOrString::Int(0)),
                    pod_update_policy: Some("ReCreate".into()),
                    ..Default::default()
                }),
            },
            revision_history_limit: Some(10),
            ..Default::default()
        },
        status: None,
    }
}

/// Mutable access to `rollingUpdate` (created if absent).
pub fn rolling(cs: &mut CloneSet) -> &mut RollingUpdateCloneSetStrategy {
    cs.spec.update_strategy.rolling_update.get_or_insert_with(Default::default)
}

/// Sets the image of container `main`.
pub fn set_image(cs: &mut CloneSet, image: &str) {
    if let Some(c) = cs.spec.template.spec.as_mut().and_then(|s| s.containers.first_mut()) {
        c.image = Some(image.into());
    }
}

/// Sets the lifecycle hooks.
pub fn set_lifecycle(cs: &mut CloneSet, l: Lifecycle) {
    cs.spec.lifecycle = Some(l);
}

/// The ControllerRevision the planner would create for the CloneSet's current template,
/// with revision number `number` and uid `uid-<name>`.
pub fn revision_of(cs: &CloneSet, number: i64) -> ControllerRevision {
    let data = revision::revision_data(&cs.spec.template);
    let hash = revision::revision_hash(&data, 0);
    let name = revision::revision_name(cs.metadata.name.as_deref().unwrap_or_default(), &hash);
    let mut r = revision::new_revision(cs, data, &hash, name.clone(), number);
    r.metadata.uid = Some(format!("uid-{name}"));
    r.metadata.creation_timestamp = Some(Time(ts(number)));
    r
}

/// A planner input with no PVCs, no nodes, default feature gates and no PodUnavailableBudget
/// decisions: the common case of tests that plan from a CloneSet, its pods and revisions.
pub fn input<'a>(
    cloneset: &'a CloneSet,
    pods: &'a [Pod],
    revisions: &'a [ControllerRevision],
    now: Timestamp,
    id_seed: u64,
    expectations: &'a Expectations,
) -> Input<'a> {
    Input {
        cloneset,
        pods: pods.into(),
        pvcs: &[],
        revisions,
        nodes: &[],
        now,
        id_seed,
        features: Features::default(),
        expectations,
        pub_decisions: None,
    }
}

/// The name of [`revision_of`].
pub fn revision_name_of(cs: &CloneSet) -> String {
    revision_of(cs, 1).metadata.name.unwrap_or_default()
}

/// Sets `status.currentRevision` / `updateRevision` (and observedGeneration) so the
/// planner sees an existing rollout state.
pub fn set_status(cs: &mut CloneSet, current: &str, update: &str) {
    let st = cs.status.get_or_insert_with(CloneSetStatus::default);
    st.current_revision = current.into();
    st.update_revision = update.into();
    st.observed_generation = cs.metadata.generation.unwrap_or(0);
}

/// A pod builder: a Running, scheduled, Ready (since `ready_since`), `Normal` pod of the
/// CloneSet on `revision`, with the `InPlaceUpdateReady` gate and condition True.
#[derive(Clone, Debug)]
pub struct PodBuilder(pub Pod);

/// A pod `<cs>-<id>` of `cs` on `revision`, ready since t=0, created at t=0.
pub fn pod(cs: &CloneSet, id: &str, revision: &str) -> PodBuilder {
    let cs_name = cs.metadata.name.as_deref().unwrap_or_default();
    let mut l = cs.spec.template.metadata.as_ref().and_then(|m| m.labels.clone()).unwrap_or_default();
    l.insert(keys::CONTROLLER_REVISION_HASH.into(), revision.into());
    l.insert(keys::POD_TEMPLATE_HASH.into(), short_hash(revision).into());
    l.insert(keys::CLONESET_INSTANCE_ID.into(), id.into());
    l.insert(keys::LIFECYCLE_STATE.into(), keys::lifecycle_state::NORMAL.into());
    let image = cs
        .spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default();
    let cond = |t: &str| PodCondition {
        type_: t.into(),
        status: "True".into(),
        last_transition_time: Some(Time(ts(0))),
        ..Default::default()
    };
    PodBuilder(Pod {
        metadata: ObjectMeta {
            name: Some(format!("{cs_name}-{id}")),
            namespace: cs.metadata.namespace.clone(),
            uid: Some(format!("uid-{cs_name}-{id}")),
            resource_version: Some("1".into()),
            labels: Some(l),
            owner_references: Some(vec![super::owner_ref(cs)]),
            creation_timestamp: Some(Time(ts(0))),
            ..Default::default()
        },
        spec: Some(PodSpec {
            node_name: Some("node-1".into()),
            containers: vec![Container {
                name: "main".into(),
                image: Some(image.clone()),
                ..Default::default()
            }],
            readiness_gates: Some(vec![PodReadinessGate {
                condition_type: keys::INPLACE_UPDATE_READY.into(),
            }]),
            ..Default::default()
        }),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            conditions: Some(vec![
                cond(keys::INPLACE_UPDATE_READY),
                cond(keys::CONDITION_READY),
                cond(keys::CONDITION_CONTAINERS_READY),
            ]),
            container_statuses: Some(vec![ContainerStatus {
                name: "main".into(),
                image,
                image_id: "sha-old".into(),
                ready: true,
                ..Default::default()
            }]),
            ..Default::default()
        }),
    })
}

impl PodBuilder {
    fn cond_mut(&mut self, t: &str) -> Option<&mut PodCondition> {
        self.0.status.as_mut()?.conditions.as_mut()?.iter_mut().find(|c| c.type_ == t)
    }
    /// Ready since `t` seconds.
    pub fn ready_since(mut self, t: i64) -> Self {
        if let Some(c) = self.cond_mut(keys::CONDITION_READY) {
            c.last_transition_time = Some(Time(ts(t)));
        }
        self
    }
    /// Not Ready (Ready and ContainersReady False).
    pub fn not_ready(mut self) -> Self {
        for t in [keys::CONDITION_READY, keys::CONDITION_CONTAINERS_READY] {
            if let Some(c) = self.cond_mut(t) {
                c.status = "False".into();
            }
        }
        self
    }
    /// Phase `Pending`, not ready, and not scheduled.
    pub fn pending(self) -> Self {
        let mut s = self.not_ready().unscheduled();
        if let Some(st) = s.0.status.as_mut() {
            st.phase = Some("Pending".into());
        }
        s
    }
    /// No node.
    pub fn unscheduled(mut self) -> Self {
        if let Some(s) = self.0.spec.as_mut() {
            s.node_name = None;
        }
        self
    }
    /// On node `n`.
    pub fn node(mut self, n: &str) -> Self {
        if let Some(s) = self.0.spec.as_mut() {
            s.node_name = Some(n.into());
        }
        self
    }
    /// Lifecycle state.
    pub fn state(self, s: State) -> Self {
        self.label(keys::LIFECYCLE_STATE, s.as_str())
    }
    /// Sets a label.
    pub fn label(mut self, k: &str, v: &str) -> Self {
        self.0.metadata.labels.get_or_insert_with(Default::default).insert(k.into(), v.into());
        self
    }
    /// Removes a label.
    pub fn without_label(mut self, k: &str) -> Self {
        if let Some(l) = self.0.metadata.labels.as_mut() {
            l.remove(k);
        }
        self
    }
    /// Sets an annotation.
    pub fn annotation(mut self, k: &str, v: &str) -> Self {
        self.0.metadata.annotations.get_or_insert_with(Default::default).insert(k.into(), v.into());
        self
    }
    /// Adds a finalizer.
    pub fn finalizer(mut self, f: &str) -> Self {
        self.0.metadata.finalizers.get_or_insert_with(Default::default).push(f.into());
        self
    }
    /// Created at `t`.
    pub fn created(mut self, t: i64) -> Self {
        self.0.metadata.creation_timestamp = Some(Time(ts(t)));
        self
    }
    /// Max restart count.
    pub fn restarts(mut self, n: i32) -> Self {
        if let Some(cs) = self.0.status.as_mut().and_then(|s| s.container_statuses.as_mut()) {
            for c in cs {
                c.restart_count = n;
            }
        }
        self
    }
    /// Sets a condition (added if absent).
    pub fn condition(mut self, t: &str, status: &str, reason: &str) -> Self {
        let st = self.0.status.get_or_insert_with(Default::default);
        let conds = st.conditions.get_or_insert_with(Vec::new);
        conds.retain(|c| c.type_ != t);
        conds.push(PodCondition {
            type_: t.into(),
            status: status.into(),
            reason: (!reason.is_empty()).then(|| reason.to_owned()),
            last_transition_time: Some(Time(ts(0))),
            ..Default::default()
        });
        self
    }
    /// Phase.
    pub fn phase(mut self, p: &str) -> Self {
        self.0.status.get_or_insert_with(Default::default).phase = Some(p.into());
        self
    }
    /// Marked for deletion at t=1.
    pub fn terminating(mut self) -> Self {
        self.0.metadata.deletion_timestamp = Some(Time(ts(1)));
        self
    }
    /// The pod.
    pub fn build(self) -> Pod {
        self.0
    }
}
