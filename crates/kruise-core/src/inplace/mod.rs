//! In-place update (CS-67..CS-75): whether a revision change can be applied in place, the
//! update spec computed **once per revision pair**, the pod write, grace periods, and
//! completion detection.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kruise_api::apps::common::{
    InPlaceUpdateContainerBatch, InPlaceUpdateContainerStatus, InPlaceUpdateState, RuntimeContainerMetaSet,
};
use kruise_api::keys;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One RFC 6902 operation of the revision diff (paths relative to the template).
#[derive(Clone, Debug, PartialEq)]
struct Op {
    kind: OpKind,
    path: Vec<String>,
    value: Option<Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OpKind {
    Add,
    Remove,
    Replace,
}

/// Object key by key, equal-length arrays element by element, anything else replaced
/// (arrays of different length: removes/adds at the tail), like the appscode algorithm.
fn diff(old: &Value, new: &Value, path: &mut Vec<String>, out: &mut Vec<Op>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, va) in a {
                path.push(k.clone());
                match b.get(k) {
                    Some(vb) => diff(va, vb, path, out),
                    None => out.push(Op { kind: OpKind::Remove, path: path.clone(), value: None }),
                }
                path.pop();
            }
            for (k, vb) in b {
                if !a.contains_key(k) {
                    path.push(k.clone());
                    out.push(Op { kind: OpKind::Add, path: path.clone(), value: Some(vb.clone()) });
                    path.pop();
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            let n = a.len().min(b.len());
            for i in 0..n {
                path.push(i.to_string());
                diff(&a[i], &b[i], path, out);
                path.pop();
            }
            for i in (n..a.len()).rev() {
                path.push(i.to_string());
                out.push(Op { kind: OpKind::Remove, path: path.clone(), value: None });
                path.pop();
            }
            for (i, v) in b.iter().enumerate().skip(n) {
                path.push(i.to_string());
                out.push(Op { kind: OpKind::Add, path: path.clone(), value: Some(v.clone()) });
                path.pop();
            }
        }
        (a, b) if a == b => {}
        (_, b) => out.push(Op { kind: OpKind::Replace, path: path.clone(), value: Some(b.clone()) }),
    }
}

/// What an in-place update changes, computed once per (from, to) revision pair (CS-67, CS-68).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InPlaceSpec {
    /// Target revision name.
    pub revision: String,
    /// New image per container name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub container_images: BTreeMap<String, String>,
    /// New cpu/memory values per container: `(limits|requests, resource) -> quantity`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub container_resources: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    /// Label/annotation values containers read through env fieldRefs (CS-68).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub container_ref_metadata: BTreeMap<String, RefMetadata>,
    /// Template labels to set (`Some`) or remove (`None`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, Option<String>>,
    /// Template annotations to set (`Some`) or remove (`None`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, Option<String>>,
    /// Env-from-metadata changed.
    #[serde(default)]
    pub update_env_from_metadata: bool,
    /// Finalizers the new template adds (CS-68: the strategic merge patch of the template
    /// metadata appends them to the pod when absent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_finalizers: Vec<String>,
    /// Finalizers the new template drops (CS-68: `$deleteFromPrimitiveList`), removed from the
    /// pod.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_finalizers: Vec<String>,
    /// CS-72: the grace period this update waits, stored in the grace annotation when the
    /// update starts; the wait reads it, not the strategy's current value (0 = absent).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub grace_seconds: i32,
}

fn is_zero(v: &i32) -> bool {
    *v == 0
}

/// Labels/annotations one container reads through env (CS-68).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefMetadata {
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// Options of [`in_place_spec`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SpecOptions {
    /// Gate `InPlaceUpdateEnvFromMetadata`.
    pub env_from_metadata: bool,
    /// Gate `InPlaceWorkloadVerticalScaling`.
    pub vertical_scaling: bool,
}

impl SpecOptions {
    /// The options the feature gates ask for (every workload reads the same two gates).
    pub fn from_features(features: &crate::features::Features) -> Self {
        Self {
            env_from_metadata: features.in_place_update_env_from_metadata,
            vertical_scaling: features.in_place_workload_vertical_scaling,
        }
    }
}

fn template(data: &Value) -> Option<&Value> {
    data.get("spec")?.get("template")
}

/// CS-68: env var referencing `metadata.labels['k']` / `metadata.annotations['k']`.
fn env_refs(template: &Value) -> Vec<(String, bool, String)> {
    let mut out = Vec::new();
    let Some(cs) = template.pointer("/spec/containers").and_then(Value::as_array) else { return out };
    for c in cs {
        let cname = c.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
        for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
            let name = e.get("name").and_then(Value::as_str).unwrap_or_default();
            if name == "SIDECARSET_VERSION" || name == "SIDECARSET_VERSION_ALT" {
                continue;
            }
            if e.get("value").and_then(Value::as_str).is_some_and(|v| !v.is_empty()) {
                continue;
            }
            let Some(fp) = e.pointer("/valueFrom/fieldRef/fieldPath").and_then(Value::as_str) else {
                continue;
            };
            let parse = |prefix: &str| {
                fp.strip_prefix(prefix)
                    .and_then(|r| r.strip_prefix("['"))
                    .and_then(|r| r.strip_suffix("']"))
                    .map(str::to_owned)
            };
            if let Some(k) = parse("metadata.labels") {
                out.push((cname.clone(), true, k));
            } else if let Some(k) = parse("metadata.annotations") {
                out.push((cname.clone(), false, k));
            }
        }
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("~1", "/").replace("~0", "~")
}

fn quantity_ok(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        let s = s.trim();
        !s.is_empty()
            && s.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '.' || c == '+' || c == '-')
    })
}

fn qos(template: &Value) -> u8 {
    let Some(cs) = template.pointer("/spec/containers").and_then(Value::as_array) else { return 0 };
    let (mut any, mut guaranteed) = (false, true);
    for c in cs {
        let lim = c.pointer("/resources/limits");
        let req = c.pointer("/resources/requests");
        for r in ["cpu", "memory"] {
            let l = lim.and_then(|m| m.get(r));
            let q = req.and_then(|m| m.get(r)).or(l);
            if l.is_some() || q.is_some() {
                any = true;
            }
            if l.is_none() || l != q {
                guaranteed = false;
            }
        }
    }
    if !any {
        0
    } else if guaranteed {
        2
    } else {
        1
    }
}

/// In-place update specs between revisions, each pair computed once per plan (writers of
/// several pods updated from one revision to another share it).
#[derive(Clone, Debug, Default)]
pub struct SpecCache(BTreeMap<(String, String), Option<InPlaceSpec>>);

impl SpecCache {
    /// The spec from revision `from` to revision `to`, looked up by name in `revisions`;
    /// `None` when either is missing or has no data, or the change cannot be made in place.
    pub fn get(
        &mut self,
        revisions: &BTreeMap<&str, &k8s_openapi::api::apps::v1::ControllerRevision>,
        from: &str,
        to: &str,
        opts: SpecOptions,
    ) -> Option<InPlaceSpec> {
        self.0
            .entry((from.to_owned(), to.to_owned()))
            .or_insert_with(|| {
                let (f, t) = (revisions.get(from)?, revisions.get(to)?);
                in_place_spec(&f.data.as_ref()?.0, &t.data.as_ref()?.0, to, opts)
            })
            .clone()
    }
}

/// CS-67/CS-68: the in-place update spec from revision data `old` to `new` (named
/// `revision`), or `None` when the change cannot be applied in place.
pub fn in_place_spec(old: &Value, new: &Value, revision: &str, opts: SpecOptions) -> Option<InPlaceSpec> {
    let (mut told, mut tnew) = (template(old)?.clone(), template(new)?.clone());
    let mut ops = Vec::new();
    diff(&told, &tnew, &mut Vec::new(), &mut ops);
    let mut spec = InPlaceSpec { revision: revision.to_owned(), ..Default::default() };
    let old_containers =
        told.pointer("/spec/containers").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut meta_ops = Vec::new();
    for op in ops {
        let p: Vec<&str> = op.path.iter().map(String::as_str).collect();
        match p.as_slice() {
            ["$patch"] => {}
            ["metadata", ..] => meta_ops.push(op),
            ["spec", "containers", i, "image"] if op.kind == OpKind::Replace => {
                let i: usize = i.parse().ok()?;
                let name = old_containers.get(i)?.get("name")?.as_str()?.to_owned();
                spec.container_images.insert(name, op.value.as_ref()?.as_str()?.to_owned());
            }
            [
                "spec",
                "containers",
                i,
                "resources",
                kind @ ("limits" | "requests"),
                res @ ("cpu" | "memory"),
            ] if opts.vertical_scaling
                && op.kind == OpKind::Replace
                && op.value.as_ref().is_some_and(quantity_ok) =>
            {
                let i: usize = i.parse().ok()?;
                let name = old_containers.get(i)?.get("name")?.as_str()?.to_owned();
                spec.container_resources
                    .entry(name)
                    .or_default()
                    .entry((*kind).to_owned())
                    .or_default()
                    .insert((*res).to_owned(), op.value.as_ref()?.as_str()?.to_owned());
            }
            _ => return None,
        }
    }
    if !spec.container_resources.is_empty() && qos(&told) != qos(&tnew) {
        return None;
    }
    if opts.env_from_metadata {
        let refs = env_refs(&tnew);
        let mut referenced: Vec<(bool, String)> = Vec::new();
        for op in &meta_ops {
            if op.kind == OpKind::Remove || op.path.len() != 3 {
                continue;
            }
            let is_label = match op.path[1].as_str() {
                "labels" => true,
                "annotations" => false,
                _ => continue,
            };
            let key = unescape(&op.path[2]);
            let Some(val) = op.value.as_ref().and_then(Value::as_str) else { continue };
            for (c, l, k) in &refs {
                if *l == is_label && *k == key {
                    let e = spec.container_ref_metadata.entry(c.clone()).or_default();
                    if is_label {
                        e.labels.insert(key.clone(), val.to_owned());
                    } else {
                        e.annotations.insert(key.clone(), val.to_owned());
                    }
                    spec.update_env_from_metadata = true;
                    referenced.push((is_label, key.clone()));
                }
            }
        }
        for (is_label, key) in referenced {
            let field = if is_label { "labels" } else { "annotations" };
            for t in [&mut told, &mut tnew] {
                if let Some(Value::Object(m)) = t.get_mut("metadata").and_then(|m| m.get_mut(field)) {
                    m.remove(&key);
                }
            }
        }
    }
    for (field, out) in [("labels", &mut spec.labels), ("annotations", &mut spec.annotations)] {
        let empty = serde_json::Map::new();
        let a = told.pointer(&format!("/metadata/{field}")).and_then(Value::as_object).unwrap_or(&empty);
        let b = tnew.pointer(&format!("/metadata/{field}")).and_then(Value::as_object).unwrap_or(&empty);
        for (k, v) in b {
            if a.get(k) != Some(v) {
                out.insert(k.clone(), v.as_str().map(str::to_owned));
            }
        }
        for k in a.keys() {
            if !b.contains_key(k) {
                out.insert(k.clone(), None);
            }
        }
    }
    // CS-68: the whole metadata difference, finalizers too (a list merged by value).
    let finalizers = |t: &Value| -> Vec<String> {
        t.pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let (fo, fnew) = (finalizers(&told), finalizers(&tnew));
    spec.add_finalizers = fnew.iter().filter(|f| !fo.contains(f)).cloned().collect();
    spec.remove_finalizers = fo.iter().filter(|f| !fnew.contains(f)).cloned().collect();
    Some(spec)
}

/// CS-71: the pod after the in-place write (full replace). `grace_seconds > 0` stores the
/// spec in the grace annotation instead of applying it (CS-72).
pub fn apply_in_place(
    pod: &Pod,
    spec: &InPlaceSpec,
    now: Timestamp,
    grace_seconds: i32,
    short_hash_label: bool,
) -> Pod {
    let mut p = pod.clone();
    let labels = p.metadata.labels.get_or_insert_with(Default::default);
    let hash = crate::podtable::info::short_hash(&spec.revision).to_owned();
    labels.insert(
        keys::CONTROLLER_REVISION_HASH.into(),
        if short_hash_label { hash.clone() } else { spec.revision.clone() },
    );
    labels.insert(keys::POD_TEMPLATE_HASH.into(), hash);
    labels.insert(keys::LIFECYCLE_STATE.into(), keys::lifecycle_state::UPDATING.into());
    let anns = p.metadata.annotations.get_or_insert_with(Default::default);
    anns.insert(keys::LIFECYCLE_TIMESTAMP.into(), now.to_string());
    let mut state: InPlaceUpdateState = anns
        .get(keys::INPLACE_UPDATE_STATE)
        .and_then(|s| serde_json::from_str(s).ok())
        .filter(|s: &InPlaceUpdateState| s.revision == spec.revision)
        .unwrap_or_default();
    state.revision = spec.revision.clone();
    state.update_timestamp = Some(Time(now));
    state.update_env_from_metadata = spec.update_env_from_metadata;
    state.update_images = !spec.container_images.is_empty();
    state.update_resources = !spec.container_resources.is_empty();
    anns.remove(keys::INPLACE_UPDATE_STATE_LEGACY);
    if grace_seconds > 0 {
        anns.insert(keys::INPLACE_UPDATE_STATE.into(), serde_json::to_string(&state).unwrap_or_default());
        let stored = InPlaceSpec { grace_seconds, ..spec.clone() };
        anns.insert(keys::INPLACE_UPDATE_GRACE.into(), serde_json::to_string(&stored).unwrap_or_default());
        return p;
    }
    patch_spec_to_pod(&mut p, spec, &mut state, now);
    p
}

/// CS-73: launch priority of a container: the integer after `p_` in the configMapKeyRef key
/// of its `KRUISE_CONTAINER_BARRIER` env (unparseable ⇒ 0); `None` without that env.
fn container_priority(c: &k8s_openapi::api::core::v1::Container) -> Option<i64> {
    let e = c.env.as_deref()?.iter().find(|e| e.name == keys::CONTAINER_BARRIER_ENV)?;
    let key = e
        .value_from
        .as_ref()
        .and_then(|v| v.config_map_key_ref.as_ref())
        .map(|r| r.key.as_str())
        .unwrap_or("");
    Some(key.get(2..).and_then(|k| k.parse().ok()).unwrap_or(0))
}

/// CS-73: the containers updated in this batch: every touched container without a priority,
/// the touched containers of the highest priority, and (transitively) containers sharing a
/// changed label/annotation key with them.
fn batch_containers(p: &Pod, spec: &InPlaceSpec) -> std::collections::BTreeSet<String> {
    let mut batch = std::collections::BTreeSet::new();
    let mut highest: Option<(i64, Vec<String>)> = None;
    for c in p.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or_default() {
        let touched = spec.container_images.contains_key(&c.name)
            || spec.container_resources.contains_key(&c.name)
            || spec.container_ref_metadata.contains_key(&c.name);
        if !touched {
            continue;
        }
        match container_priority(c) {
            None => {
                batch.insert(c.name.clone());
            }
            Some(prio) => match &mut highest {
                Some((h, names)) if *h == prio => names.push(c.name.clone()),
                Some((h, _)) if *h > prio => {}
                _ => highest = Some((prio, vec![c.name.clone()])),
            },
        }
    }
    batch.extend(highest.map(|(_, n)| n).unwrap_or_default());
    loop {
        let keys: std::collections::BTreeSet<(bool, &String)> = batch
            .iter()
            .filter_map(|c| spec.container_ref_metadata.get(c))
            .flat_map(|m| m.labels.keys().map(|k| (true, k)).chain(m.annotations.keys().map(|k| (false, k))))
            .collect();
        let more: Vec<String> = spec
            .container_ref_metadata
            .iter()
            .filter(|(c, _)| !batch.contains(*c))
            .filter(|(_, m)| {
                m.labels.keys().any(|k| keys.contains(&(true, k)))
                    || m.annotations.keys().any(|k| keys.contains(&(false, k)))
            })
            .map(|(c, _)| c.clone())
            .collect();
        if more.is_empty() {
            break;
        }
        batch.extend(more);
    }
    batch
}

/// CS-71 step 4 / CS-72 / CS-73: applies this batch of the spec to the pod, stores the rest
/// in the state's `next*` fields, and records the batch.
fn patch_spec_to_pod(p: &mut Pod, spec: &InPlaceSpec, state: &mut InPlaceUpdateState, now: Timestamp) {
    let batch = batch_containers(p, spec);
    state.next_container_images.clear();
    state.next_container_resources.clear();
    state.next_container_ref_metadata.clear();
    {
        let labels = p.metadata.labels.get_or_insert_with(Default::default);
        for (k, v) in &spec.labels {
            match v {
                Some(v) => labels.insert(k.clone(), v.clone()),
                None => labels.remove(k),
            };
        }
    }
    {
        let anns = p.metadata.annotations.get_or_insert_with(Default::default);
        for (k, v) in &spec.annotations {
            match v {
                Some(v) => anns.insert(k.clone(), v.clone()),
                None => anns.remove(k),
            };
        }
    }
    if !spec.add_finalizers.is_empty() || !spec.remove_finalizers.is_empty() {
        let fins = p.metadata.finalizers.get_or_insert_with(Vec::new);
        fins.retain(|f| !spec.remove_finalizers.contains(f));
        for f in &spec.add_finalizers {
            if !fins.contains(f) {
                fins.push(f.clone());
            }
        }
        if fins.is_empty() {
            p.metadata.finalizers = None;
        }
    }
    for (c, m) in &spec.container_ref_metadata {
        if batch.contains(c) {
            let labels = p.metadata.labels.get_or_insert_with(Default::default);
            labels.extend(m.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            let anns = p.metadata.annotations.get_or_insert_with(Default::default);
            anns.extend(m.annotations.iter().map(|(k, v)| (k.clone(), v.clone())));
        } else {
            state.next_container_ref_metadata.insert(
                c.clone(),
                k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                    labels: (!m.labels.is_empty()).then(|| m.labels.clone()),
                    annotations: (!m.annotations.is_empty()).then(|| m.annotations.clone()),
                    ..Default::default()
                },
            );
        }
    }
    let statuses = p.status.as_ref().and_then(|s| s.container_statuses.clone()).unwrap_or_default();
    if let Some(ps) = p.spec.as_mut() {
        for c in &mut ps.containers {
            if let Some(img) = spec.container_images.get(&c.name) {
                if batch.contains(&c.name) {
                    c.image = Some(img.clone());
                    if let Some(st) = statuses.iter().find(|s| s.name == c.name) {
                        state.last_container_statuses.entry(c.name.clone()).or_insert_with(|| {
                            InPlaceUpdateContainerStatus { image_id: st.image_id.clone() }
                        });
                    }
                } else {
                    state.next_container_images.insert(c.name.clone(), img.clone());
                }
            }
            if let Some(res) = spec.container_resources.get(&c.name) {
                let mut r = if batch.contains(&c.name) {
                    c.resources.take().unwrap_or_default()
                } else {
                    state.next_container_resources.get(&c.name).cloned().unwrap_or_default()
                };
                for (kind, vals) in res {
                    let m = if kind == "limits" { &mut r.limits } else { &mut r.requests };
                    let m = m.get_or_insert_with(Default::default);
                    for (name, q) in vals {
                        m.insert(
                            name.clone(),
                            k8s_openapi::apimachinery::pkg::api::resource::Quantity(q.clone()),
                        );
                    }
                }
                if batch.contains(&c.name) {
                    c.resources = Some(r);
                } else {
                    state.next_container_resources.insert(c.name.clone(), r);
                }
            }
        }
    }
    let batch: Vec<String> = batch.into_iter().collect();
    let pending = !state.next_container_images.is_empty()
        || !state.next_container_resources.is_empty()
        || !state.next_container_ref_metadata.is_empty();
    state.pre_check_before_next = pending.then(|| {
        kruise_api::apps::common::InPlaceUpdatePreCheckBeforeNext { containers_required_ready: batch.clone() }
    });
    state
        .container_batches_record
        .push(InPlaceUpdateContainerBatch { timestamp: Some(Time(now)), containers: batch });
    let anns = p.metadata.annotations.get_or_insert_with(Default::default);
    anns.insert(keys::INPLACE_UPDATE_STATE.into(), serde_json::to_string(state).unwrap_or_default());
    anns.remove(keys::INPLACE_UPDATE_GRACE);
    anns.remove(keys::INPLACE_UPDATE_GRACE_LEGACY);
}

/// CS-73/CS-75 (c): the spec of the next container batch, when one is pending and its
/// pre-check passes (the update so far complete, every required container ready).
pub fn next_batch(pod: &Pod, opts: SpecOptions) -> Option<InPlaceSpec> {
    let state = update_state(pod)?;
    if state.next_container_images.is_empty()
        && state.next_container_resources.is_empty()
        && state.next_container_ref_metadata.is_empty()
    {
        return None;
    }
    if !containers_updated(pod, &state, opts) {
        return None;
    }
    let statuses = pod.status.as_ref().and_then(|s| s.container_statuses.as_deref()).unwrap_or_default();
    let required = state
        .pre_check_before_next
        .as_ref()
        .map(|p| p.containers_required_ready.as_slice())
        .unwrap_or_default();
    if !required.iter().all(|n| statuses.iter().any(|s| &s.name == n && s.ready)) {
        return None;
    }
    let mut spec = InPlaceSpec { revision: state.revision.clone(), ..Default::default() };
    spec.container_images = state.next_container_images.clone();
    for (c, r) in &state.next_container_resources {
        let mut m: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for (kind, vals) in [("limits", &r.limits), ("requests", &r.requests)] {
            for (k, q) in vals.iter().flatten() {
                m.entry(kind.to_owned()).or_default().insert(k.clone(), q.0.clone());
            }
        }
        spec.container_resources.insert(c.clone(), m);
    }
    for (c, meta) in &state.next_container_ref_metadata {
        spec.container_ref_metadata.insert(
            c.clone(),
            RefMetadata {
                labels: meta.labels.clone().unwrap_or_default(),
                annotations: meta.annotations.clone().unwrap_or_default(),
            },
        );
    }
    spec.update_env_from_metadata = state.update_env_from_metadata;
    Some(spec)
}

/// CS-75 (c): the pod with its next container batch applied, if one is due.
pub fn apply_next_batch(pod: &Pod, now: Timestamp, opts: SpecOptions) -> Option<Pod> {
    let spec = next_batch(pod, opts)?;
    let mut p = pod.clone();
    let mut state = update_state(pod)?;
    patch_spec_to_pod(&mut p, &spec, &mut state, now);
    Some(p)
}

/// CS-72: the pod after its grace period: the stored spec applied, the annotation removed.
/// `None` when the pod carries no readable grace spec.
pub fn finish_grace(pod: &Pod, now: Timestamp) -> Option<Pod> {
    let spec = grace_spec(pod)?;
    let mut p = pod.clone();
    let anns = p.metadata.annotations.get_or_insert_with(Default::default);
    let mut state: InPlaceUpdateState = anns
        .get(keys::INPLACE_UPDATE_STATE)
        .or_else(|| anns.get(keys::INPLACE_UPDATE_STATE_LEGACY))
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    patch_spec_to_pod(&mut p, &spec, &mut state, now);
    Some(p)
}

/// The spec stored in the grace annotation (either key).
pub fn grace_spec(pod: &Pod) -> Option<InPlaceSpec> {
    let anns = pod.metadata.annotations.as_ref()?;
    let s = anns.get(keys::INPLACE_UPDATE_GRACE).or_else(|| anns.get(keys::INPLACE_UPDATE_GRACE_LEGACY))?;
    serde_json::from_str(s).ok()
}

/// The parsed state annotation (either key), if present and readable.
pub fn update_state(pod: &Pod) -> Option<InPlaceUpdateState> {
    let anns = pod.metadata.annotations.as_ref()?;
    let s = anns.get(keys::INPLACE_UPDATE_STATE).or_else(|| anns.get(keys::INPLACE_UPDATE_STATE_LEGACY))?;
    serde_json::from_str(s).ok()
}

/// CS-74 item 4: the spec image as compared with the status image: `:latest` appended when the
/// spec image has no `:` at all (the status image is taken as reported).
fn spec_image_with_tag(s: &str) -> String {
    if s.contains(':') { s.to_owned() } else { format!("{s}:latest") }
}

/// kubelet's object hash (`DeepHashObject`): FNV-32a over Go's `%#v` rendering of the JSON
/// bytes, `([]uint8)[b0 b1 ...]` with the bytes in decimal.
fn deep_hash_json(json: &str) -> u64 {
    let mut text = String::with_capacity(10 + json.len() * 4);
    text.push_str("([]uint8)[");
    for (i, b) in json.bytes().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(&b.to_string());
    }
    text.push(']');
    u64::from(super::revision::fnv32a(&[text.as_bytes()]))
}

/// CS-74 item 2: the hash kruise-daemon reports as `extractedEnvFromMetadataHash` when the
/// container runs with the env values the pod's labels/annotations give now: the env vars
/// with an empty `value` and a `metadata.labels['k']` / `metadata.annotations['k']` fieldRef
/// (`SIDECARSET_VERSION*` excluded), as `{name, value}` sorted by name, Go-JSON encoded and
/// hashed as kubelet hashes objects.
pub fn extracted_env_from_metadata_hash(c: &k8s_openapi::api::core::v1::Container, pod: &Pod) -> u64 {
    let empty = BTreeMap::new();
    let labels = pod.metadata.labels.as_ref().unwrap_or(&empty);
    let annotations = pod.metadata.annotations.as_ref().unwrap_or(&empty);
    let mut envs: Vec<(&str, String)> = Vec::new();
    for e in c.env.as_deref().unwrap_or_default() {
        if e.value.as_deref().is_some_and(|v| !v.is_empty())
            || e.name == "SIDECARSET_VERSION"
            || e.name == "SIDECARSET_VERSION_ALT"
        {
            continue;
        }
        let Some(fp) =
            e.value_from.as_ref().and_then(|v| v.field_ref.as_ref()).map(|f| f.field_path.as_str())
        else {
            continue;
        };
        let key = |prefix: &str| {
            fp.strip_prefix(prefix)
                .and_then(|r| r.strip_prefix("['"))
                .and_then(|r| r.strip_suffix("']"))
                .map(str::to_owned)
        };
        let value = if let Some(k) = key("metadata.labels") {
            labels.get(&k).cloned().unwrap_or_default()
        } else if let Some(k) = key("metadata.annotations") {
            annotations.get(&k).cloned().unwrap_or_default()
        } else {
            continue;
        };
        envs.push((e.name.as_str(), value));
    }
    envs.sort_by(|a, b| a.0.cmp(b.0));
    let list: Vec<Value> = envs
        .into_iter()
        .map(|(name, value)| {
            let mut m = serde_json::Map::new();
            m.insert("name".into(), Value::from(name));
            if !value.is_empty() {
                m.insert("value".into(), Value::from(value));
            }
            Value::Object(m)
        })
        .collect();
    let json =
        if list.is_empty() { "null".to_owned() } else { super::revision::go_json(&Value::Array(list)) };
    deep_hash_json(&json)
}

/// CS-74 item 4: the plain hash kubelet (1.31 and later) gives a container: its name and
/// image, Go-JSON encoded (`{"image":..,"name":..}`), hashed as kubelet hashes objects.
pub fn plain_container_hash(c: &k8s_openapi::api::core::v1::Container) -> u64 {
    let v = serde_json::json!({"name": c.name, "image": c.image.clone().unwrap_or_default()});
    deep_hash_json(&super::revision::go_json(&v))
}

/// Which hash of the runtime meta a consistency check compares (CS-74).
#[derive(Clone, Copy, PartialEq, Eq)]
enum MetaHash {
    Plain,
    EnvFromMetadata,
}

/// CS-74: every spec container has a status entry and a runtime-meta entry with the same
/// containerID, and the meta's hash of `kind` is the one the spec (and pod metadata) gives.
fn all_containers_hash_consistent(pod: &Pod, meta: &RuntimeContainerMetaSet, kind: MetaHash) -> bool {
    let containers = pod.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or_default();
    let statuses = pod.status.as_ref().and_then(|s| s.container_statuses.as_deref()).unwrap_or_default();
    containers.iter().all(|c| {
        let Some(st) = statuses.iter().find(|s| s.name == c.name) else { return false };
        let Some(m) = meta.containers.iter().find(|m| m.name == c.name) else { return false };
        if Some(m.container_id.as_str()) != st.container_id.as_deref() {
            return false;
        }
        match kind {
            MetaHash::Plain => m.hashes.plain_hash == plain_container_hash(c),
            MetaHash::EnvFromMetadata => {
                m.hashes.extracted_env_from_metadata_hash == extracted_env_from_metadata_hash(c, pod)
            }
        }
    })
}

/// CS-74: is the in-place update of `pod` complete? (No grace pending, no next batch, images
/// reported changed by kubelet, resources reported when `opts.vertical_scaling`,
/// env-from-metadata acknowledged by kruise-daemon.)
pub fn is_complete(pod: &Pod, opts: SpecOptions) -> bool {
    let anns = pod.metadata.annotations.as_ref();
    if anns.is_some_and(|a| {
        a.contains_key(keys::INPLACE_UPDATE_GRACE) || a.contains_key(keys::INPLACE_UPDATE_GRACE_LEGACY)
    }) {
        return false;
    }
    let Some(state) = update_state(pod) else { return true };
    if !state.next_container_images.is_empty()
        || !state.next_container_ref_metadata.is_empty()
        || !state.next_container_resources.is_empty()
    {
        return false;
    }
    containers_updated(pod, &state, opts)
}

/// CS-74 items 2-4: the containers touched so far run what the state says.
///
/// 2. env from metadata: kruise-daemon's `apps.kruise.io/runtime-containers-meta` reports,
///    for every container, the containerID kubelet reports and the hash of the env values
///    the pod's metadata gives now (an unreadable annotation counts as absent);
/// 3. resources, only with gate `InPlaceWorkloadVerticalScaling` (`opts.vertical_scaling`);
/// 4. the runtime meta's plain hashes all match the spec (complete), else every recorded
///    container reports a new imageID or the spec image (`:latest` appended to the spec side
///    when it has no tag), and every recorded container has a status.
pub fn containers_updated(pod: &Pod, state: &InPlaceUpdateState, opts: SpecOptions) -> bool {
    let meta: Option<RuntimeContainerMetaSet> = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(keys::RUNTIME_CONTAINERS_META))
        .and_then(|s| serde_json::from_str(s).ok());
    if state.update_env_from_metadata
        && !meta.as_ref().is_some_and(|m| all_containers_hash_consistent(pod, m, MetaHash::EnvFromMetadata))
    {
        return false;
    }
    let containers = pod.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or_default();
    let statuses = pod.status.as_ref().and_then(|s| s.container_statuses.as_deref()).unwrap_or_default();
    if opts.vertical_scaling && state.update_resources {
        if statuses.len() != containers.len() {
            return false;
        }
        for c in containers {
            let Some(st) = statuses.iter().find(|s| s.name == c.name) else { return false };
            let want = c.resources.as_ref();
            let got = st.resources.as_ref();
            if want.map(|r| (&r.limits, &r.requests)) != got.map(|r| (&r.limits, &r.requests)) {
                return false;
            }
        }
    }
    if meta.as_ref().is_some_and(|m| all_containers_hash_consistent(pod, m, MetaHash::Plain)) {
        return true;
    }
    for st in statuses {
        if let Some(last) = state.last_container_statuses.get(&st.name) {
            let spec_image = containers.iter().find(|c| c.name == st.name).and_then(|c| c.image.as_deref());
            if st.image_id == last.image_id
                && spec_image.is_some_and(|img| spec_image_with_tag(img) != st.image)
            {
                return false;
            }
        }
    }
    state.last_container_statuses.keys().all(|n| statuses.iter().any(|s| &s.name == n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(image: &str, env_label: Option<&str>) -> Value {
        let mut labels = json!({"app": "a"});
        if let Some(v) = env_label {
            labels["ver"] = json!(v);
        }
        json!({"spec": {"template": {"$patch": "replace", "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "main", "image": image, "env": [
                {"name": "VER", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['ver']"}}}]}]}}}})
    }

    #[test]
    fn cs_67_image_only_change_is_in_place() {
        let s = in_place_spec(&data("a:1", None), &data("a:2", None), "r-2", SpecOptions::default()).unwrap();
        assert_eq!(s.container_images.get("main").map(String::as_str), Some("a:2"));
        assert!(s.labels.is_empty());
    }

    #[test]
    fn cs_67_env_change_is_not_in_place() {
        let mut new = data("a:1", None);
        new["spec"]["template"]["spec"]["containers"][0]["env"][0] = json!({"name": "X", "value": "1"});
        assert!(in_place_spec(&data("a:1", None), &new, "r-2", SpecOptions::default()).is_none());
    }

    #[test]
    fn cs_67_resources_need_vertical_scaling_gate() {
        let mk = |cpu: &str| {
            let mut d = data("a:1", None);
            d["spec"]["template"]["spec"]["containers"][0]["resources"] =
                json!({"requests": {"cpu": cpu, "memory": "1Gi"}, "limits": {"cpu": "4", "memory": "1Gi"}});
            d
        };
        assert!(in_place_spec(&mk("1"), &mk("2"), "r", SpecOptions::default()).is_none());
        let on = SpecOptions { vertical_scaling: true, ..Default::default() };
        let s = in_place_spec(&mk("1"), &mk("2"), "r", on).unwrap();
        assert_eq!(s.container_resources["main"]["requests"]["cpu"], "2");
        // QoS would change from Burstable to Guaranteed: not in place.
        assert!(in_place_spec(&mk("1"), &mk("4"), "r", on).is_none());
    }

    #[test]
    fn cs_68_env_from_metadata_label_change() {
        let on = SpecOptions { env_from_metadata: true, ..Default::default() };
        let s = in_place_spec(&data("a:1", Some("1")), &data("a:1", Some("2")), "r", on).unwrap();
        assert!(s.update_env_from_metadata);
        assert_eq!(s.container_ref_metadata["main"].labels["ver"], "2");
        assert!(s.labels.is_empty(), "referenced keys leave the metadata patch");
        let off =
            in_place_spec(&data("a:1", Some("1")), &data("a:1", Some("2")), "r", SpecOptions::default())
                .unwrap();
        assert!(!off.update_env_from_metadata);
        assert_eq!(off.labels.get("ver"), Some(&Some("2".to_owned())));
    }

    #[test]
    fn cs_74_complete_when_image_id_changes() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p", "annotations": {keys::INPLACE_UPDATE_STATE:
                r#"{"revision":"r-2","lastContainerStatuses":{"main":{"imageID":"sha-1"}},"updateImages":true}"#}},
            "spec": {"containers": [{"name": "main", "image": "a:2"}]},
            "status": {"containerStatuses": [{"name": "main", "image": "a:1", "imageID": "sha-1", "ready": false, "restartCount": 0}]}
        }))
        .unwrap();
        assert!(!is_complete(&pod, SpecOptions::default()));
        let mut done = pod.clone();
        done.status.as_mut().unwrap().container_statuses.as_mut().unwrap()[0].image_id = "sha-2".into();
        assert!(is_complete(&done, SpecOptions::default()));
        let mut same_string = pod;
        same_string.status.as_mut().unwrap().container_statuses.as_mut().unwrap()[0].image = "a:2".into();
        assert!(is_complete(&same_string, SpecOptions::default()));
    }
}

#[cfg(test)]
mod batch_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cs_73_highest_priority_first_then_next_batch() {
        let barrier = |p: u32| json!([{"name": "KRUISE_CONTAINER_BARRIER", "valueFrom": {"configMapKeyRef": {"name": "x-barrier", "key": format!("p_{p}")}}}]);
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"containers": [
                {"name": "a", "image": "a:1", "env": barrier(100)},
                {"name": "b", "image": "b:1", "env": barrier(10)},
            ]},
            "status": {"containerStatuses": [
                {"name": "a", "image": "a:1", "imageID": "ia1", "ready": true, "restartCount": 0},
                {"name": "b", "image": "b:1", "imageID": "ib1", "ready": true, "restartCount": 0},
            ]}
        }))
        .unwrap();
        let spec = InPlaceSpec {
            revision: "r-2".into(),
            container_images: BTreeMap::from([("a".into(), "a:2".into()), ("b".into(), "b:2".into())]),
            ..Default::default()
        };
        let p1 = apply_in_place(&pod, &spec, Timestamp::UNIX_EPOCH, 0, false);
        let cs = &p1.spec.as_ref().unwrap().containers;
        assert_eq!((cs[0].image.as_deref(), cs[1].image.as_deref()), (Some("a:2"), Some("b:1")));
        let st = update_state(&p1).unwrap();
        assert_eq!(st.next_container_images.get("b").map(String::as_str), Some("b:2"));
        assert_eq!(st.pre_check_before_next.unwrap().containers_required_ready, vec!["a".to_owned()]);
        assert!(!is_complete(&p1, SpecOptions::default()));
        assert!(
            next_batch(&p1, SpecOptions::default()).is_none(),
            "a has not restarted on the new image yet"
        );
        let mut running = p1.clone();
        let s0 = &mut running.status.as_mut().unwrap().container_statuses.as_mut().unwrap()[0];
        s0.image_id = "ia2".into();
        let p2 = apply_next_batch(&running, Timestamp::UNIX_EPOCH, SpecOptions::default()).unwrap();
        assert_eq!(p2.spec.as_ref().unwrap().containers[1].image.as_deref(), Some("b:2"));
        let st = update_state(&p2).unwrap();
        assert!(st.next_container_images.is_empty() && st.pre_check_before_next.is_none());
        assert_eq!(st.container_batches_record.len(), 2);
    }
}
