//! Advanced StatefulSet defaulting (ASTS-7): what the mutating webhook sets on create and
//! update, for both served versions. The planner applies the same defaults to objects that
//! bypassed the webhook.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::apps::v1beta1::{
    StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetUpdateStrategy, pod_management_policy,
    pod_update_policy, pvc_retention_policy, statefulset_update_strategy_type as ty,
    volume_claim_update_strategy_type,
};
use crate::apps::{v1alpha1, v1beta1};
use crate::defaults::Defaulting;
use crate::defaults::pod::{PodDefaultOptions, default_workload_templates};

/// Default `replicas` (ASTS-7).
pub const DEFAULT_REPLICAS: i32 = 1;
/// Default `revisionHistoryLimit` (ASTS-7).
pub const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 10;

/// Feature gates that change StatefulSet defaulting (ASTS-1, ASTS-7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatefulSetDefaultOptions {
    /// Template defaulting options (`TemplateNoDefaults`, host-network ports).
    pub pod: PodDefaultOptions,
    /// Gate `StatefulSetAutoDeletePVC` (default on): default the PVC retention policy.
    pub auto_delete_pvc: bool,
    /// Gate `StatefulSetAutoResizePVCGate` (default off): default
    /// `volumeClaimUpdateStrategy.type` to `OnDelete`.
    pub auto_resize_pvc: bool,
}

impl Default for StatefulSetDefaultOptions {
    fn default() -> Self {
        Self { pod: PodDefaultOptions::default(), auto_delete_pvc: true, auto_resize_pvc: false }
    }
}

/// ASTS-7: the update-strategy defaults, shared by both versions. `type` empty →
/// `RollingUpdate`; with `RollingUpdate`: `rollingUpdate` nil → `{}`, `partition` → 0,
/// `maxUnavailable` → int 1, `podUpdatePolicy` → `ReCreate`, `minReadySeconds` → 0.
pub fn default_statefulset_update_strategy(us: &mut StatefulSetUpdateStrategy) {
    if us.type_.as_deref().is_none_or(str::is_empty) {
        us.type_ = Some(ty::ROLLING_UPDATE.to_owned());
    }
    if us.type_.as_deref() != Some(ty::ROLLING_UPDATE) {
        return;
    }
    let ru = us.rolling_update.get_or_insert_with(Default::default);
    ru.partition.get_or_insert(0);
    ru.max_unavailable.get_or_insert(IntOrString::Int(1));
    if ru.pod_update_policy.as_deref().is_none_or(str::is_empty) {
        ru.pod_update_policy = Some(pod_update_policy::RECREATE.to_owned());
    }
    ru.min_ready_seconds.get_or_insert(0);
}

fn default_pod_management_policy(p: &mut Option<String>) {
    if p.as_deref().is_none_or(str::is_empty) {
        *p = Some(pod_management_policy::ORDERED_READY.to_owned());
    }
}

/// ASTS-7: defaults a v1beta1 StatefulSet. `old` is the stored object on update (`None` on
/// create): template defaults are applied on create and when the template changed.
pub fn default_statefulset_v1beta1(
    sts: &mut v1beta1::StatefulSet,
    old: Option<&v1beta1::StatefulSet>,
    opts: StatefulSetDefaultOptions,
) {
    let spec = &mut sts.spec;
    default_pod_management_policy(&mut spec.pod_management_policy);
    default_statefulset_update_strategy(&mut spec.update_strategy);
    if opts.auto_delete_pvc {
        let p = spec
            .persistent_volume_claim_retention_policy
            .get_or_insert_with(StatefulSetPersistentVolumeClaimRetentionPolicy::default);
        for field in [&mut p.when_deleted, &mut p.when_scaled] {
            if field.as_deref().is_none_or(str::is_empty) {
                *field = Some(pvc_retention_policy::RETAIN.to_owned());
            }
        }
    }
    if opts.auto_resize_pvc && spec.volume_claim_update_strategy.type_.as_deref().is_none_or(str::is_empty) {
        spec.volume_claim_update_strategy.type_ =
            Some(volume_claim_update_strategy_type::ON_DELETE.to_owned());
    }
    spec.replicas.get_or_insert(DEFAULT_REPLICAS);
    spec.revision_history_limit.get_or_insert(DEFAULT_REVISION_HISTORY_LIMIT);
    default_workload_templates(
        &mut spec.template,
        &mut spec.volume_claim_templates,
        old.map(|o| &o.spec.template),
        opts.pod,
    );
}

/// ASTS-7: defaults a v1alpha1 StatefulSet: the same rules on the fields v1alpha1 has.
pub fn default_statefulset_v1alpha1(
    sts: &mut v1alpha1::StatefulSet,
    old: Option<&v1alpha1::StatefulSet>,
    opts: StatefulSetDefaultOptions,
) {
    let spec = &mut sts.spec;
    default_pod_management_policy(&mut spec.pod_management_policy);
    default_statefulset_update_strategy(&mut spec.update_strategy);
    spec.replicas.get_or_insert(DEFAULT_REPLICAS);
    spec.revision_history_limit.get_or_insert(DEFAULT_REVISION_HISTORY_LIMIT);
    default_workload_templates(
        &mut spec.template,
        &mut spec.volume_claim_templates,
        old.map(|o| &o.spec.template),
        opts.pod,
    );
}

impl Defaulting for v1beta1::StatefulSet {
    fn apply_defaults(&mut self) {
        default_statefulset_v1beta1(self, None, StatefulSetDefaultOptions::default());
    }
}

impl Defaulting for v1alpha1::StatefulSet {
    fn apply_defaults(&mut self) {
        default_statefulset_v1alpha1(self, None, StatefulSetDefaultOptions::default());
    }
}

/// ASTS-7: what the mutating webhook does to an admitted v1beta1 object (create or update of
/// the main resource): the defaults of [`default_statefulset_v1beta1`], then the status is
/// cleared (status changes go through the status subresource). Do not use it on stored
/// objects a planner reads; use [`Defaulting`] there.
pub fn admit_statefulset_v1beta1(
    sts: &mut v1beta1::StatefulSet,
    old: Option<&v1beta1::StatefulSet>,
    opts: StatefulSetDefaultOptions,
) {
    default_statefulset_v1beta1(sts, old, opts);
    sts.status = None;
}

/// ASTS-7: [`admit_statefulset_v1beta1`] for a v1alpha1 object.
pub fn admit_statefulset_v1alpha1(
    sts: &mut v1alpha1::StatefulSet,
    old: Option<&v1alpha1::StatefulSet>,
    opts: StatefulSetDefaultOptions,
) {
    default_statefulset_v1alpha1(sts, old, opts);
    sts.status = None;
}
