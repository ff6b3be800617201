//! The simulated API server: objects as JSON, numeric resourceVersions from one global
//! counter, uids, `generation`, owner references with garbage collection of dependents,
//! `deletionTimestamp` with graceful termination and finalizers, an admission hook for pods,
//! and the four write kinds of [`ApiWrite`] with their preconditions.

use std::collections::BTreeMap;

use kruise_api::merge_patch::apply as merge;
use kruise_core::write::{ApiWrite, Subresource, Target, json_patch};
use serde::Serialize;
use serde_json::{Value, json};

use crate::time::{SimTime, timestamp};

/// Where an object lives: API group (`""` for core), kind, namespace and name. All versions of
/// a kind share one key, as the API server stores one hub version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ObjectKey {
    /// API group (`apps.kruise.io`, `apps`, `""`).
    pub group: String,
    /// Kind (`Pod`, `CloneSet`, ...).
    pub kind: String,
    /// Namespace, `""` for cluster-scoped objects.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ObjectKey {
    /// A key from an apiVersion, kind, namespace and name.
    pub fn new(api_version: &str, kind: &str, namespace: &str, name: &str) -> Self {
        Self {
            group: group_of(api_version).to_owned(),
            kind: kind.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }
    /// A core `Pod` key.
    pub fn pod(namespace: &str, name: &str) -> Self {
        Self::new("v1", "Pod", namespace, name)
    }
    /// A core `Node` key.
    pub fn node(name: &str) -> Self {
        Self::new("v1", "Node", "", name)
    }
    /// The key a write target addresses.
    pub fn of_target(t: &Target) -> Self {
        Self::new(&t.api_version, &t.kind, t.namespace.as_deref().unwrap_or_default(), &t.name)
    }
    /// The key of a JSON object (from its `apiVersion`, `kind` and metadata).
    pub fn of_value(v: &Value) -> Self {
        Self::new(
            str_at(v, &["apiVersion"]).unwrap_or_default(),
            str_at(v, &["kind"]).unwrap_or_default(),
            str_at(v, &["metadata", "namespace"]).unwrap_or_default(),
            str_at(v, &["metadata", "name"]).unwrap_or_default(),
        )
    }
    /// True for core pods.
    pub fn is_pod(&self) -> bool {
        self.group.is_empty() && self.kind == "Pod"
    }
    /// True for core nodes.
    pub fn is_node(&self) -> bool {
        self.group.is_empty() && self.kind == "Node"
    }
}

impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// The group part of an apiVersion (`apps.kruise.io/v1beta1` → `apps.kruise.io`, `v1` → `""`).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("")
}

/// The string at a JSON path, if any.
pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(*k)).and_then(Value::as_str)
}

/// Why a write was refused, as the API server would say.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[non_exhaustive]
pub enum ApiError {
    /// 404.
    #[error("{0} not found")]
    NotFound(String),
    /// 409 on create.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// 409 on a stale resourceVersion (or an injected conflict fault).
    #[error("conflict writing {key}: {message}")]
    Conflict {
        /// The object.
        key: String,
        /// What did not match.
        message: String,
    },
    /// 409 on a uid precondition.
    #[error("precondition failed for {key}: uid {expected} is now {actual}")]
    UidMismatch {
        /// The object.
        key: String,
        /// The uid the caller meant.
        expected: String,
        /// The uid stored.
        actual: String,
    },
    /// 422: a JSON patch's `test` operation failed (the object moved on since the patch was
    /// computed).
    #[error("test failed patching {key}: {message}")]
    TestFailed {
        /// The object.
        key: String,
        /// Which test.
        message: String,
    },
    /// 422/400: the object or patch is unusable.
    #[error("invalid write to {key}: {message}")]
    Invalid {
        /// The object.
        key: String,
        /// Why.
        message: String,
    },
}

/// A successful write: the object's uid and its new resourceVersion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WriteOk {
    /// The object's name (generated names resolved).
    pub name: String,
    /// The object's uid.
    pub uid: String,
    /// The resourceVersion after the write (unchanged for a no-op write).
    pub resource_version: u64,
    /// False when the write changed nothing (no new resourceVersion, no watch event).
    pub changed: bool,
}

/// One change to the store, as a watch would deliver it.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The object.
    pub key: ObjectKey,
    /// Before (`None` for a create).
    pub old: Option<Value>,
    /// After (`None` for a removal).
    pub new: Option<Value>,
}

/// A mutating admission function applied to every pod before it is first stored.
pub type Admission = Box<dyn FnMut(&mut Value)>;

/// The API store.
#[derive(Default)]
pub struct Store {
    objects: BTreeMap<ObjectKey, Value>,
    /// Pods whose containers have all stopped (the kubelet is done): removable once their
    /// finalizers are gone.
    terminated: std::collections::BTreeSet<ObjectKey>,
    resource_version: u64,
    uids: u64,
    changes: Vec<Change>,
    admission: Vec<Admission>,
    pending_conflicts: u32,
    names: crate::rng::SplitMix64,
    /// The time of the write in progress (cascading deletes happen "now").
    gc_clock: SimTime,
    /// Owner uid → dependents (for garbage collection without a scan).
    dependents: BTreeMap<String, std::collections::BTreeSet<ObjectKey>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("objects", &self.objects.len())
            .field("resource_version", &self.resource_version)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// An empty store; `seed` drives `generateName` suffixes.
    pub fn new(seed: u64) -> Self {
        Self { names: crate::rng::SplitMix64::new(seed), ..Self::default() }
    }

    /// Adds a mutating admission hook for pods (SidecarSet injection and the like).
    pub fn add_pod_admission(&mut self, hook: Admission) {
        self.admission.push(hook);
    }

    /// The next `n` controller writes (other than deletes) fail with a conflict.
    pub fn inject_conflicts(&mut self, n: u32) {
        self.pending_conflicts = self.pending_conflicts.saturating_add(n);
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.resource_version
    }

    /// One object.
    pub fn get(&self, key: &ObjectKey) -> Option<&Value> {
        self.objects.get(key)
    }

    /// All objects of a kind (`group`, `kind`), by key.
    pub fn list<'a>(
        &'a self,
        group: &'a str,
        kind: &'a str,
    ) -> impl Iterator<Item = (&'a ObjectKey, &'a Value)> + 'a {
        // Keys sort by group, then kind: the kind's objects are one contiguous range.
        let start = ObjectKey {
            group: group.to_owned(),
            kind: kind.to_owned(),
            namespace: String::new(),
            name: String::new(),
        };
        self.objects.range(start..).take_while(move |(k, _)| k.group == group && k.kind == kind)
    }

    /// Takes the changes made since the last call, in order.
    pub fn take_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.changes)
    }

    fn next_rv(&mut self) -> u64 {
        self.resource_version += 1;
        self.resource_version
    }

    fn index_owners(&mut self, key: &ObjectKey, old: Option<&Value>, new: Option<&Value>) {
        let old_owners = old.map(crate::cache::owner_uids).unwrap_or_default();
        let new_owners = new.map(crate::cache::owner_uids).unwrap_or_default();
        if old_owners == new_owners {
            return;
        }
        for o in old_owners {
            if let Some(set) = self.dependents.get_mut(&o) {
                set.remove(key);
                if set.is_empty() {
                    self.dependents.remove(&o);
                }
            }
        }
        for o in new_owners {
            self.dependents.entry(o).or_default().insert(key.clone());
        }
    }

    fn commit(&mut self, key: ObjectKey, old: Option<Value>, mut new: Value) -> WriteOk {
        let rv = self.next_rv();
        self.index_owners(&key, old.as_ref(), Some(&new));
        set_path(&mut new, &["metadata", "resourceVersion"], json!(rv.to_string()));
        let uid = str_at(&new, &["metadata", "uid"]).unwrap_or_default().to_owned();
        self.objects.insert(key.clone(), new.clone());
        let name = key.name.clone();
        self.changes.push(Change { key, old, new: Some(new) });
        WriteOk { name, uid, resource_version: rv, changed: true }
    }

    /// Creates an object. `metadata.generateName` is honoured; uid, resourceVersion,
    /// creationTimestamp and generation are set; pods pass SidecarSet injection
    /// ([`crate::admission`]) and the admission hooks.
    pub fn create(&mut self, mut obj: Value, now: SimTime) -> Result<WriteOk, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::Invalid { key: "?".into(), message: "not a JSON object".into() });
        }
        if str_at(&obj, &["metadata", "name"]).unwrap_or_default().is_empty() {
            let Some(prefix) = str_at(&obj, &["metadata", "generateName"]).map(str::to_owned) else {
                return Err(ApiError::Invalid {
                    key: ObjectKey::of_value(&obj).to_string(),
                    message: "metadata.name is required".into(),
                });
            };
            let suffix: String = (0..5)
                .map(|_| char::from(b"bcdfghjklmnpqrstvwxz2456789"[self.names.below(27) as usize]))
                .collect();
            set_path(&mut obj, &["metadata", "name"], json!(format!("{prefix}{suffix}")));
        }
        let key = ObjectKey::of_value(&obj);
        if self.objects.contains_key(&key) {
            return Err(ApiError::AlreadyExists(key.to_string()));
        }
        if key.is_pod() {
            // The SidecarSet injection webhook (SCS-9..SCS-22), then any other hooks.
            crate::admission::inject_sidecars(self, &mut obj, now)
                .map_err(|message| ApiError::Invalid { key: key.to_string(), message })?;
            for hook in &mut self.admission {
                hook(&mut obj);
            }
        }
        self.uids += 1;
        let uid = format!(
            "{:08x}-0000-4000-8000-{:012x}",
            crate::rng::fnv1a64(&[key.to_string().as_bytes()]) as u32,
            self.uids
        );
        let meta = obj
            .as_object_mut()
            .map(|o| o.entry("metadata").or_insert_with(|| json!({})))
            .and_then(Value::as_object_mut);
        if let Some(meta) = meta {
            meta.insert("uid".into(), json!(uid));
            meta.insert("creationTimestamp".into(), json!(timestamp(now).to_string()));
            meta.insert("generation".into(), json!(1));
            meta.remove("deletionTimestamp");
            meta.remove("resourceVersion");
        }
        Ok(self.commit(key, None, obj))
    }

    /// Writes `new` over the stored object if it differs; bumps `generation` when anything
    /// outside `metadata` and `status` changed. Metadata the server owns is kept.
    fn update(&mut self, key: &ObjectKey, mut new: Value) -> Result<WriteOk, ApiError> {
        let Some(old) = self.objects.get(key).cloned() else {
            return Err(ApiError::NotFound(key.to_string()));
        };
        for field in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "resourceVersion",
            "name",
            "namespace",
        ] {
            match old.get("metadata").and_then(|m| m.get(field)) {
                Some(v) => set_path(&mut new, &["metadata", field], v.clone()),
                None => {
                    if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
                        m.remove(field);
                    }
                }
            }
        }
        if new == old {
            let rv = self.resource_version_of(&old);
            return Ok(WriteOk {
                name: key.name.clone(),
                uid: str_at(&old, &["metadata", "uid"]).unwrap_or_default().to_owned(),
                resource_version: rv,
                changed: false,
            });
        }
        if spec_changed(&new, &old) {
            let generation = old.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0) + 1;
            set_path(&mut new, &["metadata", "generation"], json!(generation));
        }
        let ok = self.commit(key.clone(), Some(old), new);
        self.try_remove(key);
        Ok(ok)
    }

    fn resource_version_of(&self, v: &Value) -> u64 {
        str_at(v, &["metadata", "resourceVersion"]).and_then(|s| s.parse().ok()).unwrap_or(0)
    }

    fn check_rv(&self, key: &ObjectKey, current: &Value, given: Option<&str>) -> Result<(), ApiError> {
        match given {
            Some(rv)
                if !rv.is_empty()
                    && rv != str_at(current, &["metadata", "resourceVersion"]).unwrap_or_default() =>
            {
                Err(ApiError::Conflict {
                    key: key.to_string(),
                    message: format!(
                        "the object has been modified (resourceVersion {rv} is stale, now {})",
                        str_at(current, &["metadata", "resourceVersion"]).unwrap_or_default()
                    ),
                })
            }
            _ => Ok(()),
        }
    }

    /// Replaces an object or its status, guarded by `metadata.resourceVersion` when present.
    pub fn replace(
        &mut self,
        key: &ObjectKey,
        subresource: Subresource,
        object: &Value,
    ) -> Result<WriteOk, ApiError> {
        let current = self.objects.get(key).ok_or_else(|| ApiError::NotFound(key.to_string()))?;
        self.check_rv(key, current, str_at(object, &["metadata", "resourceVersion"]))?;
        let mut new = current.clone();
        match subresource {
            Subresource::Status => set_or_remove(&mut new, "status", object.get("status").cloned()),
            Subresource::Main | Subresource::Resize => {
                let status = current.get("status").cloned();
                new = object.clone();
                set_or_remove(&mut new, "status", status);
            }
        }
        self.update(key, new)
    }

    /// Applies a JSON merge patch (RFC 7386) to the object, its status or its resources.
    pub fn merge_patch(
        &mut self,
        key: &ObjectKey,
        subresource: Subresource,
        patch: &Value,
    ) -> Result<WriteOk, ApiError> {
        let current = self.objects.get(key).ok_or_else(|| ApiError::NotFound(key.to_string()))?;
        self.check_rv(key, current, str_at(patch, &["metadata", "resourceVersion"]))?;
        let mut patch = patch.clone();
        if let Some(m) = patch.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        let mut new = current.clone();
        match subresource {
            Subresource::Status => {
                if let Some(status) = patch.get("status") {
                    let mut wrapped = json!({});
                    set_path(&mut wrapped, &["status"], status.clone());
                    merge(&mut new, &wrapped);
                }
            }
            Subresource::Main => {
                if let Some(p) = patch.as_object_mut() {
                    p.remove("status");
                }
                merge(&mut new, &patch);
            }
            Subresource::Resize => {
                if let Some(spec) = patch.get("spec") {
                    let mut wrapped = json!({});
                    set_path(&mut wrapped, &["spec"], spec.clone());
                    merge(&mut new, &wrapped);
                }
            }
        }
        self.update(key, new)
    }

    /// Applies a JSON patch (RFC 6902) to the object, keeping the status part of the result
    /// for the status subresource and the rest for the object itself. A `test` that fails
    /// (the object is not what the patch was computed from) is refused as kube-apiserver
    /// refuses it: 422, nothing changed ([`ApiError::TestFailed`]).
    pub fn json_patch(
        &mut self,
        key: &ObjectKey,
        subresource: Subresource,
        patch: &Value,
    ) -> Result<WriteOk, ApiError> {
        let current = self.objects.get(key).ok_or_else(|| ApiError::NotFound(key.to_string()))?;
        let mut patched = current.clone();
        json_patch::apply(&mut patched, patch).map_err(|e| {
            if e.test_failed {
                ApiError::TestFailed { key: key.to_string(), message: e.to_string() }
            } else {
                ApiError::Invalid { key: key.to_string(), message: e.to_string() }
            }
        })?;
        let mut new = current.clone();
        match subresource {
            Subresource::Status => set_or_remove(&mut new, "status", patched.get("status").cloned()),
            Subresource::Main | Subresource::Resize => {
                let status = current.get("status").cloned();
                new = patched;
                set_or_remove(&mut new, "status", status);
            }
        }
        self.update(key, new)
    }

    /// Deletes an object, if its uid is still `uid` (when given). Bound pods and objects with
    /// finalizers get a `deletionTimestamp` and linger; others are removed at once, and their
    /// dependents are garbage-collected.
    pub fn delete(&mut self, key: &ObjectKey, uid: Option<&str>, now: SimTime) -> Result<WriteOk, ApiError> {
        self.gc_clock = now;
        let current = self.objects.get(key).ok_or_else(|| ApiError::NotFound(key.to_string()))?.clone();
        let actual = str_at(&current, &["metadata", "uid"]).unwrap_or_default().to_owned();
        if let Some(expected) = uid
            && expected != actual
        {
            return Err(ApiError::UidMismatch {
                key: key.to_string(),
                expected: expected.to_owned(),
                actual,
            });
        }
        if current.pointer("/metadata/deletionTimestamp").is_some() {
            let rv = self.resource_version_of(&current);
            return Ok(WriteOk { name: key.name.clone(), uid: actual, resource_version: rv, changed: false });
        }
        let has_finalizers =
            current.pointer("/metadata/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty());
        let bound_pod = key.is_pod()
            && str_at(&current, &["spec", "nodeName"]).is_some_and(|n| !n.is_empty())
            && !self.terminated.contains(key);
        if !has_finalizers && !bound_pod {
            return Ok(self.remove(key).unwrap_or(WriteOk {
                name: key.name.clone(),
                uid: actual,
                resource_version: self.resource_version,
                changed: true,
            }));
        }
        let grace = current
            .pointer("/spec/terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(30)
            .max(0);
        let mut new = current.clone();
        let at = if bound_pod { now + u64::try_from(grace).unwrap_or(0) * 1000 } else { now };
        set_path(&mut new, &["metadata", "deletionTimestamp"], json!(timestamp(at).to_string()));
        if key.is_pod() {
            set_path(&mut new, &["metadata", "deletionGracePeriodSeconds"], json!(grace));
        }
        let ok = self.commit(key.clone(), Some(current), new);
        self.try_remove(key);
        Ok(ok)
    }

    /// The kubelet reports that all containers of a pod have stopped: the pod goes away once it
    /// has no finalizers left.
    pub fn pod_terminated(&mut self, key: &ObjectKey) {
        if self.objects.contains_key(key) {
            self.terminated.insert(key.clone());
            self.try_remove(key);
        }
    }

    /// True when the kubelet has finished a pod.
    pub fn is_terminated(&self, key: &ObjectKey) -> bool {
        self.terminated.contains(key)
    }

    fn try_remove(&mut self, key: &ObjectKey) {
        let Some(obj) = self.objects.get(key) else { return };
        let deleting = obj.pointer("/metadata/deletionTimestamp").is_some();
        let finalizers =
            obj.pointer("/metadata/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty());
        let kubelet_done = !key.is_pod()
            || self.terminated.contains(key)
            || str_at(obj, &["spec", "nodeName"]).is_none_or(str::is_empty);
        if deleting && !finalizers && kubelet_done {
            self.remove(key);
        }
    }

    /// Removes an object now (no grace) and garbage-collects its dependents.
    pub fn remove(&mut self, key: &ObjectKey) -> Option<WriteOk> {
        let old = self.objects.remove(key)?;
        self.index_owners(key, Some(&old), None);
        self.terminated.remove(key);
        let rv = self.next_rv();
        let uid = str_at(&old, &["metadata", "uid"]).unwrap_or_default().to_owned();
        self.changes.push(Change { key: key.clone(), old: Some(old), new: None });
        self.collect_garbage(&uid);
        Some(WriteOk { name: key.name.clone(), uid, resource_version: rv, changed: true })
    }

    /// Deletes every object whose owner references name `owner_uid` (background cascading).
    fn collect_garbage(&mut self, owner_uid: &str) {
        let dependents: Vec<ObjectKey> =
            self.dependents.get(owner_uid).map(|s| s.iter().cloned().collect()).unwrap_or_default();
        for key in dependents {
            let now = self.gc_clock;
            let _ = self.delete(&key, None, now);
        }
    }

    /// Writes a pod's or node's status as its own component would (kubelet, scheduler, node
    /// controller): no preconditions, no conflict faults.
    pub fn set_status(&mut self, key: &ObjectKey, status: Value) -> Option<WriteOk> {
        let mut new = self.objects.get(key)?.clone();
        set_or_remove(&mut new, "status", Some(status));
        self.update(key, new).ok()
    }

    /// Replaces an object as a system component would (the scheduler binding a pod): no
    /// preconditions, no conflict faults.
    pub fn system_update(&mut self, key: &ObjectKey, new: Value) -> Option<WriteOk> {
        self.update(key, new).ok()
    }

    /// Creates or updates an object as `kubectl apply` would: metadata labels/annotations and
    /// everything outside `metadata`/`status` come from `obj`.
    pub fn apply(&mut self, obj: Value, now: SimTime) -> Result<WriteOk, ApiError> {
        self.gc_clock = now;
        let key = ObjectKey::of_value(&obj);
        let Some(current) = self.objects.get(&key).cloned() else {
            return self.create(obj, now);
        };
        let mut new = obj;
        if let Some(status) = current.get("status") {
            set_path(&mut new, &["status"], status.clone());
        }
        for field in ["ownerReferences", "finalizers"] {
            if let Some(v) = current.pointer(&format!("/metadata/{field}")) {
                set_path(&mut new, &["metadata", field], v.clone());
            }
        }
        self.update(&key, new)
    }

    /// Carries out one controller write at `now`, honouring injected conflicts.
    pub fn apply_write(&mut self, write: &ApiWrite, now: SimTime) -> Result<WriteOk, ApiError> {
        self.gc_clock = now;
        let key = ObjectKey::of_target(write.target());
        if !matches!(write, ApiWrite::Delete { .. }) && self.pending_conflicts > 0 {
            self.pending_conflicts -= 1;
            return Err(ApiError::Conflict { key: key.to_string(), message: "injected conflict".into() });
        }
        match write {
            ApiWrite::Create { object, target } => {
                let mut obj = object.clone();
                if obj.get("apiVersion").is_none() {
                    set_path(&mut obj, &["apiVersion"], json!(target.api_version));
                }
                if obj.get("kind").is_none() {
                    set_path(&mut obj, &["kind"], json!(target.kind));
                }
                if let Some(ns) = &target.namespace
                    && obj.pointer("/metadata/namespace").is_none()
                {
                    set_path(&mut obj, &["metadata", "namespace"], json!(ns));
                }
                self.create(obj, now)
            }
            ApiWrite::Replace { subresource, object, .. } => self.replace(&key, *subresource, object),
            ApiWrite::MergePatch { subresource, patch, .. } => self.merge_patch(&key, *subresource, patch),
            ApiWrite::JsonPatch { subresource, patch, .. } => self.json_patch(&key, *subresource, patch),
            ApiWrite::Delete { uid, .. } => self.delete(&key, uid.as_deref(), now),
        }
    }
}

/// True when anything outside `metadata` and `status` differs (what `generation` tracks).
fn spec_changed(a: &Value, b: &Value) -> bool {
    fn outside(v: &Value) -> Vec<(&String, &Value)> {
        v.as_object()
            .map(|o| o.iter().filter(|(k, _)| *k != "metadata" && *k != "status").collect())
            .unwrap_or_default()
    }
    outside(a) != outside(b)
}

fn set_or_remove(v: &mut Value, field: &str, value: Option<Value>) {
    if let Some(o) = v.as_object_mut() {
        match value {
            Some(x) => {
                o.insert(field.to_owned(), x);
            }
            None => {
                o.remove(field);
            }
        }
    }
}

/// Sets `path` in `v` to `value`, creating objects on the way (non-objects are replaced).
pub fn set_path(v: &mut Value, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        *v = value;
        return;
    };
    let mut cur = v;
    for p in parents {
        if !cur.is_object() {
            *cur = json!({});
        }
        let Some(o) = cur.as_object_mut() else { return };
        cur = o.entry((*p).to_owned()).or_insert_with(|| json!({}));
    }
    if !cur.is_object() {
        *cur = json!({});
    }
    if let Some(o) = cur.as_object_mut() {
        o.insert((*last).to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
               "spec": {"containers": [{"name": "c", "image": "nginx:1.20"}]}})
    }

    #[test]
    fn create_assigns_uid_rv_and_generation() {
        let mut s = Store::new(1);
        let a = s.create(pod("a"), 0).unwrap();
        let b = s.create(pod("b"), 0).unwrap();
        assert_eq!((a.resource_version, b.resource_version), (1, 2));
        assert_ne!(a.uid, b.uid);
        let stored = s.get(&ObjectKey::pod("default", "a")).unwrap();
        assert_eq!(stored.pointer("/metadata/generation"), Some(&json!(1)));
        assert_eq!(stored.pointer("/metadata/resourceVersion"), Some(&json!("1")));
        assert!(matches!(s.create(pod("a"), 0), Err(ApiError::AlreadyExists(_))));
    }

    #[test]
    fn generate_name_is_seeded() {
        let mut obj = pod("");
        set_path(&mut obj, &["metadata", "generateName"], json!("web-"));
        let a = Store::new(9).create(obj.clone(), 0).unwrap();
        let b = Store::new(9).create(obj, 0).unwrap();
        assert_eq!(a.name, b.name);
        assert!(a.name.starts_with("web-") && a.name.len() == 9);
    }

    #[test]
    fn replace_is_guarded_by_resource_version() {
        let mut s = Store::new(1);
        s.create(pod("a"), 0).unwrap();
        let key = ObjectKey::pod("default", "a");
        let mut stale = s.get(&key).unwrap().clone();
        s.merge_patch(&key, Subresource::Main, &json!({"metadata": {"labels": {"x": "1"}}})).unwrap();
        set_path(&mut stale, &["metadata", "labels"], json!({"y": "2"}));
        assert!(matches!(s.replace(&key, Subresource::Main, &stale), Err(ApiError::Conflict { .. })));
        let mut fresh = s.get(&key).unwrap().clone();
        set_path(&mut fresh, &["spec", "containers"], json!([{"name": "c", "image": "nginx:latest"}]));
        let ok = s.replace(&key, Subresource::Main, &fresh).unwrap();
        assert_eq!(ok.resource_version, 3);
        assert_eq!(s.get(&key).unwrap().pointer("/metadata/generation"), Some(&json!(2)));
    }

    #[test]
    fn no_op_write_keeps_resource_version() {
        let mut s = Store::new(1);
        s.create(pod("a"), 0).unwrap();
        s.take_changes();
        let key = ObjectKey::pod("default", "a");
        let ok = s
            .merge_patch(
                &key,
                Subresource::Main,
                &json!({"spec": {"containers": [{"name": "c", "image": "nginx:1.20"}]}}),
            )
            .unwrap();
        assert!(!ok.changed);
        assert_eq!(ok.resource_version, 1);
        assert!(s.take_changes().is_empty());
    }

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut t = json!({"a": {"b": 1, "c": 2}, "l": [1, 2]});
        merge(&mut t, &json!({"a": {"b": null, "d": 3}, "l": [9]}));
        assert_eq!(t, json!({"a": {"c": 2, "d": 3}, "l": [9]}));
    }

    #[test]
    fn status_patch_touches_only_status() {
        let mut s = Store::new(1);
        s.create(pod("a"), 0).unwrap();
        let key = ObjectKey::pod("default", "a");
        s.merge_patch(
            &key,
            Subresource::Status,
            &json!({"status": {"phase": "Running"}, "metadata": {"labels": {"x": "y"}}}),
        )
        .unwrap();
        let v = s.get(&key).unwrap();
        assert_eq!(str_at(v, &["status", "phase"]), Some("Running"));
        assert!(v.pointer("/metadata/labels").is_none());
        assert_eq!(v.pointer("/metadata/generation"), Some(&json!(1)));
    }

    #[test]
    fn delete_checks_uid_and_graceful_pods_linger() {
        let mut s = Store::new(1);
        let ok = s.create(pod("a"), 0).unwrap();
        let key = ObjectKey::pod("default", "a");
        assert!(matches!(s.delete(&key, Some("other"), 0), Err(ApiError::UidMismatch { .. })));
        let mut bound = s.get(&key).unwrap().clone();
        set_path(&mut bound, &["spec", "nodeName"], json!("node-1"));
        s.system_update(&key, bound);
        s.delete(&key, Some(&ok.uid), 1_000).unwrap();
        let v = s.get(&key).unwrap();
        assert_eq!(str_at(v, &["metadata", "deletionTimestamp"]), Some("2026-01-01T00:00:31Z"));
        s.pod_terminated(&key);
        assert!(s.get(&key).is_none());
    }

    #[test]
    fn finalizers_hold_deletion_until_removed() {
        let mut s = Store::new(1);
        let mut obj = pod("a");
        set_path(&mut obj, &["metadata", "finalizers"], json!(["x/y"]));
        s.create(obj, 0).unwrap();
        let key = ObjectKey::pod("default", "a");
        s.delete(&key, None, 0).unwrap();
        assert!(s.get(&key).is_some());
        s.merge_patch(&key, Subresource::Main, &json!({"metadata": {"finalizers": null}})).unwrap();
        assert!(s.get(&key).is_none());
    }

    #[test]
    fn garbage_collects_dependents() {
        let mut s = Store::new(1);
        let owner = s.create(json!({"apiVersion": "apps.kruise.io/v1beta1", "kind": "CloneSet", "metadata": {"name": "w", "namespace": "default"}, "spec": {}}), 0).unwrap();
        let mut p = pod("w-1");
        set_path(
            &mut p,
            &["metadata", "ownerReferences"],
            json!([{"uid": owner.uid, "kind": "CloneSet", "name": "w", "apiVersion": "apps.kruise.io/v1beta1", "controller": true}]),
        );
        s.create(p, 0).unwrap();
        s.create(pod("other"), 0).unwrap();
        s.delete(&ObjectKey::new("apps.kruise.io/v1beta1", "CloneSet", "default", "w"), None, 0).unwrap();
        assert!(s.get(&ObjectKey::pod("default", "w-1")).is_none());
        assert!(s.get(&ObjectKey::pod("default", "other")).is_some());
    }

    #[test]
    fn injected_conflicts_fail_the_next_writes() {
        let mut s = Store::new(1);
        s.create(pod("a"), 0).unwrap();
        s.inject_conflicts(1);
        let w = ApiWrite::MergePatch {
            target: Target::pod("default", "a"),
            subresource: Subresource::Main,
            patch: json!({"metadata": {"labels": {"a": "b"}}}),
        };
        assert!(matches!(s.apply_write(&w, 0), Err(ApiError::Conflict { .. })));
        assert!(s.apply_write(&w, 0).unwrap().changed);
    }

    /// Issue 12 item 6: a merge patch carrying a stale resourceVersion is refused with 409.
    #[test]
    fn merge_patch_with_stale_resource_version_conflicts() {
        let mut s = Store::new(1);
        s.create(pod("a"), 0).unwrap();
        let key = ObjectKey::pod("default", "a");
        s.merge_patch(&key, Subresource::Main, &json!({"metadata": {"labels": {"x": "1"}}})).unwrap();
        let stale = json!({"metadata": {"resourceVersion": "1", "finalizers": ["mine"]}});
        assert!(matches!(s.merge_patch(&key, Subresource::Main, &stale), Err(ApiError::Conflict { .. })));
        assert!(s.get(&key).unwrap().pointer("/metadata/finalizers").is_none());
        let fresh = json!({"metadata": {"resourceVersion": "2", "finalizers": ["mine"]}});
        assert!(s.merge_patch(&key, Subresource::Main, &fresh).unwrap().changed);
    }

    /// Issue 12 item 6: a finalizer added by someone else between the plan's read and its
    /// write is not lost: the guarded JSON patch fails its `test` (422, nothing written) and
    /// a plan made from a fresh read keeps both.
    #[test]
    fn json_patch_test_failure_is_refused_and_changes_nothing() {
        let mut s = Store::new(1);
        let mut obj = pod("a");
        set_path(&mut obj, &["metadata", "finalizers"], json!(["theirs/one"]));
        s.create(obj, 0).unwrap();
        let key = ObjectKey::pod("default", "a");
        let read = s.get(&key).unwrap().pointer("/metadata/finalizers").cloned();
        // Someone else adds a finalizer after the plan read the pod.
        s.merge_patch(
            &key,
            Subresource::Main,
            &json!({"metadata": {"finalizers": ["theirs/one", "theirs/two"]}}),
        )
        .unwrap();
        let rv = s.resource_version();
        let stale = Value::Array(json_patch::guarded_list(
            "/metadata/finalizers",
            read.as_ref(),
            json!(["theirs/one", "mine"]),
        ));
        let w = ApiWrite::JsonPatch {
            target: Target::pod("default", "a"),
            subresource: Subresource::Main,
            patch: stale,
        };
        assert!(matches!(s.apply_write(&w, 0), Err(ApiError::TestFailed { .. })));
        assert_eq!(s.resource_version(), rv, "nothing written");
        let fresh = s.get(&key).unwrap().pointer("/metadata/finalizers").cloned();
        let mut fins = fresh.clone().unwrap();
        fins.as_array_mut().unwrap().push(json!("mine"));
        let ok = Value::Array(json_patch::guarded_list("/metadata/finalizers", fresh.as_ref(), fins));
        let w = ApiWrite::JsonPatch {
            target: Target::pod("default", "a"),
            subresource: Subresource::Main,
            patch: ok,
        };
        s.apply_write(&w, 0).unwrap();
        assert_eq!(
            s.get(&key).unwrap().pointer("/metadata/finalizers"),
            Some(&json!(["theirs/one", "theirs/two", "mine"]))
        );
    }

    /// A JSON patch on the status subresource changes only the status; on the object, never
    /// the status; fields the writer does not know survive.
    #[test]
    fn json_patch_respects_the_subresource() {
        let mut s = Store::new(1);
        let mut obj = pod("a");
        set_path(&mut obj, &["spec", "futureField"], json!({"keep": true}));
        s.create(obj, 0).unwrap();
        let key = ObjectKey::pod("default", "a");
        s.set_status(&key, json!({"phase": "Running"}));
        let both = json!([
            {"op": "add", "path": "/metadata/labels", "value": {"x": "1"}},
            {"op": "replace", "path": "/status/phase", "value": "Failed"}
        ]);
        s.json_patch(&key, Subresource::Status, &both).unwrap();
        let v = s.get(&key).unwrap();
        assert_eq!(str_at(v, &["status", "phase"]), Some("Failed"));
        assert!(v.pointer("/metadata/labels").is_none());
        let both = json!([
            {"op": "add", "path": "/metadata/labels", "value": {"x": "1"}},
            {"op": "replace", "path": "/status/phase", "value": "Running"}
        ]);
        s.json_patch(&key, Subresource::Main, &both).unwrap();
        let v = s.get(&key).unwrap();
        assert_eq!(str_at(v, &["status", "phase"]), Some("Failed"));
        assert_eq!(str_at(v, &["metadata", "labels", "x"]), Some("1"));
        assert_eq!(v.pointer("/spec/futureField"), Some(&json!({"keep": true})));
    }

    #[test]
    fn admission_mutates_pods() {
        let mut s = Store::new(1);
        s.add_pod_admission(Box::new(|p: &mut Value| {
            set_path(p, &["metadata", "labels", "injected"], json!("yes"))
        }));
        s.create(pod("a"), 0).unwrap();
        assert_eq!(
            str_at(s.get(&ObjectKey::pod("default", "a")).unwrap(), &["metadata", "labels", "injected"]),
            Some("yes")
        );
    }
}
