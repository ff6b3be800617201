//! A tiny in-memory API server behind the mock service, for runs of the real planner over
//! several reconciles: it stores what is created, applies merge patches (RFC 7386) and
//! guarded replaces (409 on a stale resourceVersion), marks deletes (uid precondition), and
//! a minimal kubelet makes pods run, restart on an in-place image change, and turn ready.
//! [`FakeApi::sync`] copies its objects into the reflector stores: the cache catching up.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use serde_json::{Value, json};

use super::Cluster;
use super::mock::{Reply, Sent};
use kruise_api::merge_patch::apply as merge;

/// Stored objects by path (`/api/v1/namespaces/default/pods/web-x`).
#[derive(Default)]
pub struct FakeApi {
    pub objects: BTreeMap<String, Value>,
    rv: u64,
}

fn kind_name(path: &str) -> (String, String) {
    let mut parts = path.rsplit('/');
    let name = parts.next().unwrap_or_default().to_owned();
    let kind = parts.next().unwrap_or_default().to_owned();
    (kind, name)
}

impl FakeApi {
    pub fn shared() -> Arc<Mutex<FakeApi>> {
        Arc::default()
    }

    fn bump(&mut self) -> String {
        self.rv += 1;
        (1000 + self.rv).to_string()
    }

    pub fn put_object(&mut self, path: &str, mut obj: Value) {
        obj["metadata"]["resourceVersion"] = json!(self.bump());
        self.objects.insert(path.to_owned(), obj);
    }

    pub fn handle(&mut self, s: &Sent) -> Reply {
        let path = s.uri.split('?').next().unwrap_or_default().to_owned();
        let (base, sub) = match path.rsplit_once('/') {
            Some((b, "status" | "resize")) => {
                (b.to_owned(), Some(path.rsplit('/').next().unwrap_or_default()))
            }
            _ => (path.clone(), None),
        };
        let (kind, name) = kind_name(&base);
        match s.method.as_str() {
            "POST" => {
                let name = s.body["metadata"]["name"].as_str().unwrap_or_default().to_owned();
                let key = format!("{path}/{name}");
                if self.objects.contains_key(&key) {
                    return Reply::status(
                        409,
                        "AlreadyExists",
                        &format!("{kind} \"{name}\" already exists"),
                        &name,
                        &kind,
                    );
                }
                let mut obj = s.body.clone();
                obj["metadata"]["uid"] = json!(format!("uid-{name}"));
                obj["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
                self.put_object(&key, obj);
                Reply::created(self.objects[&key].clone())
            }
            "GET" => match self.objects.get(&path) {
                Some(o) => Reply::ok(o.clone()),
                None => Reply::not_found(&name, &kind),
            },
            "PUT" | "PATCH" => {
                let Some(cur) = self.objects.get(&base).cloned() else {
                    return Reply::not_found(&name, &kind);
                };
                if s.content_type.as_deref() == Some("application/json-patch+json") {
                    // RFC 6902, as kube-apiserver applies it: a failed `test` is a 422.
                    let mut patched = cur.clone();
                    if let Err(e) = kruise_core::write::json_patch::apply(&mut patched, &s.body) {
                        return Reply::status(422, "Invalid", &e.to_string(), &name, &kind);
                    }
                    let mut next = cur.clone();
                    if sub == Some("status") {
                        next["status"] = patched["status"].take();
                    } else {
                        patched["status"] = cur["status"].clone();
                        next = patched;
                    }
                    next["metadata"]["uid"] = cur["metadata"]["uid"].clone();
                    self.put_object(&base, next);
                    return Reply::ok(self.objects[&base].clone());
                }
                let want_rv = s.body["metadata"]["resourceVersion"].as_str();
                if want_rv.is_some_and(|rv| Some(rv) != cur["metadata"]["resourceVersion"].as_str())
                    || (s.method == "PUT" && want_rv.is_none())
                {
                    return Reply::conflict(&name, &kind);
                }
                let mut next = cur.clone();
                if s.method == "PATCH" {
                    merge(&mut next, &s.body);
                } else if sub == Some("status") {
                    next["status"] = s.body["status"].clone();
                } else {
                    next = s.body.clone();
                    next["status"] = cur["status"].clone();
                }
                next["metadata"]["uid"] = cur["metadata"]["uid"].clone();
                self.put_object(&base, next);
                Reply::ok(self.objects[&base].clone())
            }
            "DELETE" => {
                let Some(cur) = self.objects.get(&path).cloned() else {
                    return Reply::not_found(&name, &kind);
                };
                if let Some(uid) = s.body["preconditions"]["uid"].as_str()
                    && Some(uid) != cur["metadata"]["uid"].as_str()
                {
                    return Reply::status(409, "Conflict", "Precondition failed: UID", &name, &kind);
                }
                let mut next = cur;
                next["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:10:00Z");
                self.put_object(&path, next);
                Reply::ok(self.objects[&path].clone())
            }
            _ => Reply::status(405, "MethodNotAllowed", "", &name, &kind),
        }
    }

    /// The kubelet: terminating pods go away; others run the images their spec names (a
    /// changed image restarts the container in place) and are ready when every readiness
    /// gate is True.
    pub fn kubelet(&mut self) {
        let paths: Vec<String> = self.objects.keys().filter(|p| p.contains("/pods/")).cloned().collect();
        for path in paths {
            let mut pod = self.objects[&path].clone();
            if !pod["metadata"]["deletionTimestamp"].is_null() {
                self.objects.remove(&path);
                continue;
            }
            let before = pod.clone();
            let image = pod["spec"]["containers"][0]["image"].clone();
            let prev = &before["status"]["containerStatuses"][0];
            let restarts = prev["restartCount"].as_i64().unwrap_or(0)
                + i64::from(!prev.is_null() && prev["image"] != image);
            // The scheduler: a pod pinned by node affinity (a DaemonSet's) lands on its node.
            if pod["spec"]["nodeName"].is_null() {
                let pinned = pod.pointer("/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchFields/0/values/0").cloned();
                pod["spec"]["nodeName"] = pinned.unwrap_or_else(|| json!("node-1"));
            }
            pod["status"]["phase"] = json!("Running");
            pod["status"]["containerStatuses"] = json!([{
                "name": "nginx", "image": image, "imageID": format!("docker.io/library/{}@sha256:0", image.as_str().unwrap_or_default()),
                "ready": true, "started": true, "restartCount": restarts, "containerID": format!("containerd://{restarts}")
            }]);
            let mut conds: Vec<Value> = pod["status"]["conditions"].as_array().cloned().unwrap_or_default();
            let gates: Vec<String> = pod["spec"]["readinessGates"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|g| g["conditionType"].as_str().map(str::to_owned))
                .collect();
            let gates_ok =
                gates.iter().all(|g| conds.iter().any(|c| c["type"] == json!(g) && c["status"] == "True"));
            conds.retain(|c| c["type"] != "Ready");
            conds.push(json!({"type": "Ready", "status": if gates_ok { "True" } else { "False" }, "lastTransitionTime": "2026-01-01T00:00:05Z"}));
            conds.sort_by(|a, b| a["type"].as_str().cmp(&b["type"].as_str()));
            pod["status"]["conditions"] = Value::Array(conds);
            if pod != before {
                self.put_object(&path, pod);
            }
        }
    }

    /// Copies every stored object into `cluster`'s reflector stores (the cache catches up).
    pub fn sync<W: super::WorkloadType>(&self, cluster: &mut Cluster<W>) -> Option<W> {
        let mut cs = None;
        let pods: Vec<Pod> = cluster.caches.pods.objects().state().iter().map(|p| (**p).clone()).collect();
        for p in pods {
            cluster.delete_pod(&p);
        }
        for (path, obj) in &self.objects {
            if path.contains("/pods/") {
                if let Ok(p) = serde_json::from_value::<Pod>(obj.clone()) {
                    cluster.apply_pod(&p);
                }
            } else if path.contains("/controllerrevisions/") {
                if let Ok(r) = serde_json::from_value::<ControllerRevision>(obj.clone()) {
                    cluster.apply_revision(&r);
                }
            } else if path.contains("/persistentvolumeclaims/") {
                if let Ok(c) = serde_json::from_value::<PersistentVolumeClaim>(obj.clone()) {
                    cluster.apply_pvc(&c);
                }
            } else if path.starts_with("/apis/")
                && obj["kind"].as_str().is_none_or(|k| k == W::kind(&()))
                && let Ok(c) = serde_json::from_value::<W>(obj.clone())
            {
                cluster.apply_workload(&c);
                cs = Some(c);
            }
        }
        cs
    }
}
