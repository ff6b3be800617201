//! IPJ-40..IPJ-42 for the CloneSet: with gate `PreDownloadImageForInPlaceUpdate` on, a
//! CloneSet whose update revision differs from its current one plans an ImagePullJob per
//! changed container (once per revision, with IPJ-41's skip conditions), and deletes the jobs
//! it controls once the revisions agree. The decision itself is the shared
//! [`crate::imagepulljob::predownload::plan`]; this module only resolves the CloneSet's
//! numbers. Its actions come after the plan's own (the reconciler appends them), so a plan
//! with the gate off is unchanged.
//!
//! Readings: `minUpdatedReadyPods` is
//! `inPlaceUpdateStrategy.imagePreDownloadMinUpdatedReadyPods` (default 0) against
//! `status.updatedReadyReplicas` (0 when `status.updateRevision` is not the new revision);
//! the partition is read like the update's (percent rounded up), `maxUnavailable` with
//! Kubernetes' legacy reader (default `20%`, rounded down), as upstream's pre-download code
//! does. Nothing is planned while the adapter still waits for its own writes.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::{ImagePullJob, PodUpdatePolicy};
use kruise_api::intstr;

use super::inplace::{SpecOptions, in_place_spec};
use super::{Action, Input, revision};
use crate::imagepulljob::predownload::{self, Facts, WorkloadKind};

/// The pre-download actions of a CloneSet reconcile (empty with the gate off). `jobs` are the
/// ImagePullJobs the CloneSet controls
/// ([`controlled_jobs`](crate::imagepulljob::predownload::controlled_jobs)).
pub fn actions(input: &Input<'_>, jobs: &[ImagePullJob]) -> Vec<Action> {
    let cs = input.cloneset;
    if !input.features.pre_download_image_for_in_place_update
        || !input.expectations.is_satisfied()
        || cs.metadata.deletion_timestamp.is_some()
    {
        return Vec::new();
    }
    let revs = revision::resolve(cs, input.revisions);
    let (Some(update), Some(current)) = (revs.sorted.get(revs.update), revs.sorted.get(revs.current)) else {
        return Vec::new();
    };
    let update_name = revs.update_name();
    let replicas = cs.spec.replicas.unwrap_or(1);
    let ru = cs.spec.update_strategy.rolling_update.as_ref();
    let ipu = ru.and_then(|r| r.in_place_update_strategy.as_ref());
    let status = cs.status.as_ref();
    let updated_ready =
        status.filter(|s| s.update_revision == update_name).map_or(0, |s| s.updated_ready_replicas);
    let min_ready = ipu.and_then(|i| i.image_pre_download_min_updated_ready_pods).unwrap_or(0);
    let in_place_possible = match (current.data.as_ref(), update.data.as_ref()) {
        (Some(from), Some(to)) => {
            in_place_spec(&from.0, &to.0, update_name, SpecOptions::from_features(&input.features)).is_some()
        }
        _ => false,
    };
    let default_unavailable = IntOrString::String("20%".into());
    let facts = Facts {
        in_place_strategy: ru.is_some() && cs.pod_update_policy() != PodUpdatePolicy::ReCreate,
        replicas,
        partition: intstr::scaled_kruise(ru.and_then(|r| r.partition.as_ref()), replicas, true).unwrap_or(0),
        max_unavailable: intstr::scaled_legacy_or_zero(
            Some(ru.and_then(|r| r.max_unavailable.as_ref()).unwrap_or(&default_unavailable)),
            replicas,
            false,
        ),
        in_place_possible,
    };
    let old_images: Vec<BTreeMap<String, String>> = revision::revision_template(current)
        .and_then(|t| t.spec)
        .map(|s| s.containers.into_iter().map(|c| (c.name, c.image.unwrap_or_default())).collect())
        .into_iter()
        .collect();
    let template = revision::revision_template(update).unwrap_or_else(|| cs.spec.template.clone());
    let owner = super::owner_ref(cs);
    let selector = cs.spec.selector.clone().unwrap_or_default();
    let input = predownload::Input {
        kind: WorkloadKind::CloneSet,
        owner: &owner,
        namespace: cs.metadata.namespace.as_deref().unwrap_or_default(),
        selector: &selector,
        template: &template,
        update_revision: update,
        old_images: &old_images,
        rolling: revs.update != revs.current,
        min_ready_reached: min_ready <= updated_ready,
        facts,
        parallelism: ipu.and_then(|i| i.image_pre_download_parallelism.as_ref()),
        timeout_seconds: ipu.and_then(|i| i.image_pre_download_timeout_seconds),
        existing_jobs: jobs,
    };
    predownload::plan(&input)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use kruise_api::apps::v1beta1::CloneSet;
    use kruise_api::keys;

    use super::*;
    use crate::cloneset::fixtures::{self, cloneset, revision_of, rolling, set_image, set_status, ts};
    use crate::expectations::Expectations;
    use crate::features::Features;
    use crate::plan::{ActionKind, ImagePullJobAction};

    /// A 6-replica in-place CloneSet moved from web:1 to web:2: (v2 CloneSet, revisions).
    fn rollout() -> (CloneSet, Vec<k8s_openapi::api::apps::v1::ControllerRevision>) {
        let mut cs = cloneset("web", 6, "web:1");
        rolling(&mut cs).pod_update_policy = Some("InPlaceIfPossible".into());
        rolling(&mut cs).max_unavailable = Some(IntOrString::Int(1));
        let r1 = revision_of(&cs, 1);
        set_image(&mut cs, "web:2");
        let r2 = revision_of(&cs, 2);
        let (n1, n2) = (r1.metadata.name.clone().unwrap(), r2.metadata.name.clone().unwrap());
        set_status(&mut cs, &n1, &n2);
        (cs, vec![r1, r2])
    }

    fn gate_on() -> Features {
        Features { pre_download_image_for_in_place_update: true, ..Features::default() }
    }

    fn names(a: &[Action]) -> Vec<&'static str> {
        a.iter().map(|a| a.kind.name()).collect()
    }

    fn run(
        cs: &CloneSet,
        revs: &[k8s_openapi::api::apps::v1::ControllerRevision],
        f: Features,
    ) -> Vec<Action> {
        let e = Expectations::new();
        let input = Input { features: f, ..fixtures::input(cs, &[], revs, ts(100), 1, &e) };
        actions(&input, &[])
    }

    #[test]
    fn ipj_40_cloneset_gate_off_plans_nothing() {
        let (cs, revs) = rollout();
        assert!(run(&cs, &revs, Features::default()).is_empty());
    }

    #[test]
    fn ipj_40_42_cloneset_in_place_rollout_plans_a_job_per_changed_container() {
        let (cs, revs) = rollout();
        let a = run(&cs, &revs, gate_on());
        assert_eq!(names(&a), ["CreateImagePullJob", "LabelPreDownloadRevision"]);
        let ActionKind::ImagePullJob(ImagePullJobAction::CreateImagePullJob { job }) = &a[0].kind else {
            panic!("{a:?}")
        };
        let update = revs[1].metadata.name.clone().unwrap();
        assert_eq!(job["metadata"]["name"], format!("{update}-main"));
        assert_eq!(job["spec"]["image"], "web:2");
        assert_eq!(job["metadata"]["ownerReferences"][0]["uid"], "uid-web");
        let exprs = &job["spec"]["podSelector"]["matchExpressions"][0];
        assert_eq!(exprs["key"], keys::CONTROLLER_REVISION_HASH);
        assert_eq!(exprs["values"][0], update.as_str());
        let ActionKind::ImagePullJob(ImagePullJobAction::LabelRevision { label }) = &a[1].kind else {
            panic!("{a:?}")
        };
        assert_eq!(label, keys::PRE_PREDOWNLOAD_CREATED);
        assert_eq!(a[1].object.as_ref().map(|o| o.name.as_str()), Some(update.as_str()));
    }

    #[test]
    fn ipj_41_cloneset_once_per_revision_and_skip_conditions() {
        let (cs, mut revs) = rollout();
        revs[1]
            .metadata
            .labels
            .get_or_insert_default()
            .insert(keys::PRE_PREDOWNLOAD_CREATED.into(), "true".into());
        assert!(run(&cs, &revs, gate_on()).is_empty(), "a handled revision is not planned again");
        let (cs, revs) = rollout();
        // replicas <= 3, ReCreate, every pod at once: the revision is labelled ignored.
        let mut small = cs.clone();
        small.spec.replicas = Some(3);
        let mut recreate = cs.clone();
        rolling(&mut recreate).pod_update_policy = Some("ReCreate".into());
        let mut all_at_once = cs.clone();
        rolling(&mut all_at_once).max_unavailable = Some(IntOrString::String("100%".into()));
        for c in [small, recreate, all_at_once] {
            let a = run(&c, &revs, gate_on());
            assert_eq!(names(&a), ["LabelPreDownloadRevision"], "{:?}", c.spec.update_strategy);
            let ActionKind::ImagePullJob(ImagePullJobAction::LabelRevision { label }) = &a[0].kind else {
                panic!()
            };
            assert_eq!(label, keys::IMAGE_PREDOWNLOAD_IGNORED);
        }
        // A partition keeps pods back: not everything at once, so the job is planned.
        let mut partitioned = cs.clone();
        rolling(&mut partitioned).max_unavailable = Some(IntOrString::String("100%".into()));
        rolling(&mut partitioned).partition = Some(IntOrString::Int(2));
        assert_eq!(names(&run(&partitioned, &revs, gate_on()))[0], "CreateImagePullJob");
    }

    #[test]
    fn ipj_40_cloneset_min_updated_ready_pods_and_rollout_end() {
        let (mut cs, revs) = rollout();
        rolling(&mut cs).in_place_update_strategy = Some(kruise_api::apps::common::InPlaceUpdateStrategy {
            image_pre_download_min_updated_ready_pods: Some(2),
            ..Default::default()
        });
        assert!(run(&cs, &revs, gate_on()).is_empty(), "0 updated ready pods < 2");
        if let Some(st) = cs.status.as_mut() {
            st.updated_ready_replicas = 2;
        }
        assert_eq!(names(&run(&cs, &revs, gate_on()))[0], "CreateImagePullJob");
        // The revisions agree: the jobs the CloneSet controls are deleted.
        let (mut done, revs) = rollout();
        let update = revs[1].metadata.name.clone().unwrap();
        set_status(&mut done, &update, &update);
        let job = ImagePullJob {
            metadata: ObjectMeta {
                name: Some(format!("{update}-main")),
                uid: Some("j1".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let e = Expectations::new();
        let input = Input { features: gate_on(), ..fixtures::input(&done, &[], &revs, ts(100), 1, &e) };
        let jobs = [job];
        let a = actions(&input, &jobs);
        assert_eq!(names(&a), ["DeleteImagePullJob"]);
        let w = predownload::write(&a[0], "default", &jobs).unwrap();
        assert!(matches!(w, crate::write::ApiWrite::Delete { uid: Some(ref u), .. } if u == "j1"), "{w:?}");
    }

    #[test]
    fn ipj_42_existing_job_is_not_created_again() {
        let (cs, revs) = rollout();
        let update = revs[1].metadata.name.clone().unwrap();
        let job = ImagePullJob {
            metadata: ObjectMeta { name: Some(format!("{update}-main")), ..Default::default() },
            ..Default::default()
        };
        let e = Expectations::new();
        let input = Input { features: gate_on(), ..fixtures::input(&cs, &[], &revs, ts(100), 1, &e) };
        assert_eq!(names(&actions(&input, &[job])), ["LabelPreDownloadRevision"]);
    }
}
