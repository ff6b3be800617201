//! The test world shared by `cloneset_harden.rs` and `upstream_bugs.rs`: a CloneSet with its
//! pods and revisions, planned through the public API (slice and PodTable must agree).
#![allow(dead_code)]

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kruise_api::apps::v1beta1::CloneSet;
use kruise_core::cloneset::fixtures::{self, pod, ts};
use kruise_core::cloneset::{Input, Plan, PodTable, plan};
use kruise_core::{Expectations, Features};

/// A test world: CloneSet, pods, revisions, clock.
pub struct W {
    pub cs: CloneSet,
    pub pods: Vec<Pod>,
    pub revs: Vec<ControllerRevision>,
    pub pvcs: Vec<PersistentVolumeClaim>,
    pub now: i64,
    pub features: Features,
    pub exp: Expectations,
}

impl W {
    /// `replicas` CloneSet `web` on `nginx:1`, revision 1 current = update, no pods.
    pub fn new(replicas: i32) -> Self {
        Self::named("web", replicas)
    }
    pub fn named(name: &str, replicas: i32) -> Self {
        let mut cs = fixtures::cloneset(name, replicas, "nginx:1");
        let rev = fixtures::revision_of(&cs, 1);
        let n = rev.metadata.name.clone().unwrap_or_default();
        fixtures::set_status(&mut cs, &n, &n);
        Self {
            cs,
            pods: vec![],
            revs: vec![rev],
            pvcs: vec![],
            now: 1000,
            features: Features::default(),
            exp: Expectations::new(),
        }
    }
    pub fn rev(&self, i: usize) -> String {
        self.revs[i].metadata.name.clone().unwrap_or_default()
    }
    /// Adds `n` ready pods on revision 1, ids `p00`, `p01`, ...
    pub fn with_pods(mut self, n: usize) -> Self {
        let r = self.rev(0);
        for i in 0..n {
            self.pods.push(pod(&self.cs, &format!("p{i:02}"), &r).build());
        }
        self
    }
    /// Changes the image and adds revision 2 (update), keeping revision 1 current.
    pub fn roll_to(mut self, image: &str) -> Self {
        fixtures::set_image(&mut self.cs, image);
        self.revs.push(fixtures::revision_of(&self.cs, 2));
        let (c, u) = (self.rev(0), self.rev(1));
        fixtures::set_status(&mut self.cs, &c, &u);
        self
    }
    pub fn input(&self) -> Input<'_> {
        Input {
            cloneset: &self.cs,
            pods: (&self.pods).into(),
            pvcs: &self.pvcs,
            revisions: &self.revs,
            nodes: &[],
            now: ts(self.now),
            id_seed: 7,
            features: self.features,
            expectations: &self.exp,
            pub_decisions: None,
        }
    }
    /// The plan from the pods as a slice, checked against the plan from a [`PodTable`].
    pub fn plan(&self) -> Plan {
        let p = plan(&self.input()).expect("plan");
        if let Ok(table) = PodTable::from_pods(&self.cs, self.pods.iter().cloned())
            && table.len() == self.pods.len()
        {
            let q = plan(&Input { pods: (&table).into(), ..self.input() }).expect("plan from a table");
            assert_eq!(p, q, "the plan from a PodTable differs from the plan from the slice");
        }
        p
    }
}

pub fn pods_of<'p>(p: &'p Plan, kind: &str) -> Vec<&'p str> {
    p.actions.iter().filter(|a| a.kind.name() == kind).filter_map(|a| a.pod.as_deref()).collect()
}

pub fn condition<'p>(p: &'p Plan, type_: &str) -> Option<&'p kruise_api::apps::v1beta1::CloneSetCondition> {
    p.status.conditions.iter().find(|c| c.type_ == type_)
}
