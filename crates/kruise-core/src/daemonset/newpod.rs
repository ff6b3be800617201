//! The pod an Advanced DaemonSet creates on a node (ADS-6, ADS-17).

use k8s_openapi::api::core::v1::{Pod, PodReadinessGate};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kruise_api::apps::v1beta1::{DaemonSet, RollingUpdateType};
use kruise_api::keys;

use crate::hash::fnv1a64;
use crate::nodetable::{add_tolerations, daemonset_default_tolerations, pin_to_node};

/// The alphabet of generated name suffixes (Kubernetes' `SafeEncodeString` letters).
const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The name of the pod created on `node`: `<ds>-<5 letters>` derived from `(id_seed, node)`.
/// Deterministic (STYLE.md §2): the same seed and node give the same name; the adapter passes a
/// fresh seed per reconcile, so a replacement gets a new name. Upstream uses `generateName`.
pub fn pod_name(ds_name: &str, node: &str, id_seed: u64) -> String {
    let mut h = fnv1a64(&[&id_seed.to_le_bytes(), node.as_bytes()]);
    let suffix: String = (0..5)
        .map(|_| {
            let c = char::from(ALPHABET[(h % 27) as usize]);
            h /= 27;
            c
        })
        .collect();
    let mut end = ds_name.len().min(57);
    while !ds_name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}-{suffix}", &ds_name[..end])
}

/// ADS-17: the pod for `node` at `hash`: the template, plus the default tolerations (ADS-6),
/// the labels `controller-revision-hash: <hash>` (and `pod-template-generation` when the
/// DaemonSet carries the legacy generation annotation), the `InPlaceUpdateReady` readiness gate
/// with `InPlaceIfPossible`, `generateName: <ds>-`, the controller owner reference, and the
/// placement: the required node affinity replaced by `metadata.name In [<node>]`, or, with
/// `bind`, `spec.nodeName = <node>` and the DaemonSet controller's scheduler name.
pub fn new_pod(ds: &DaemonSet, node: &str, hash: &str, name: &str, bind: bool) -> Pod {
    let t = &ds.spec.template;
    let ds_name = ds.metadata.name.clone().unwrap_or_default();
    let mut meta = t.metadata.clone().unwrap_or_default();
    let labels = meta.labels.get_or_insert_with(Default::default);
    labels.insert(keys::CONTROLLER_REVISION_HASH.into(), hash.into());
    if let Some(g) =
        ds.metadata.annotations.as_ref().and_then(|a| a.get(keys::DEPRECATED_DAEMONSET_TEMPLATE_GENERATION))
    {
        labels.insert(keys::POD_TEMPLATE_GENERATION.into(), g.clone());
    }
    let meta = ObjectMeta {
        name: Some(name.to_owned()),
        generate_name: Some(format!("{ds_name}-")),
        namespace: ds.metadata.namespace.clone(),
        owner_references: Some(vec![super::history::owner_ref(ds)]),
        ..meta
    };
    let mut spec = t.spec.clone().unwrap_or_default();
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    add_tolerations(tolerations, &daemonset_default_tolerations(spec.host_network == Some(true)));
    if ds.rolling_update_type() == RollingUpdateType::InPlaceIfPossible {
        let gates = spec.readiness_gates.get_or_insert_with(Vec::new);
        if !gates.iter().any(|g| g.condition_type == keys::INPLACE_UPDATE_READY) {
            gates.push(PodReadinessGate { condition_type: keys::INPLACE_UPDATE_READY.into() });
        }
    }
    pin_to_node(&mut spec, node, bind);
    if bind {
        spec.scheduler_name = Some(keys::DAEMONSET_CONTROLLER_SCHEDULER.into());
    }
    Pod { metadata: meta, spec: Some(spec), status: None }
}
