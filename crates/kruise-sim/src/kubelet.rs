//! The kubelet model: image pulls with per-image durations and a per-node image cache
//! (`IfNotPresent` vs `Always`), container start, readiness after a delay, in-place restarts
//! when a container's image changes (restartCount + 1, new imageID, same pod), crash loops
//! with back-off, graceful termination, and the pod conditions (PodScheduled is the
//! scheduler's; Initialized, ContainersReady, and Ready honouring `readinessGates` are the
//! kubelet's), each with a lastTransitionTime.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::rng::fnv1a64;
use crate::store::str_at;
use crate::time::{Dur, SimTime, timestamp};

/// Timings of the kubelet model.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct KubeletConfig {
    /// Pull time for images not listed in the scenario's `images` (default 5s).
    pub default_pull: Dur,
    /// From image present to container running (default 1s).
    pub start_delay: Dur,
    /// From container running to container ready (default 2s).
    pub ready_delay: Dur,
    /// How long containers take to stop after a delete, capped by the grace period (default 2s).
    pub stop_time: Dur,
    /// First back-off after a failed pull or a crash; doubles up to 5m (default 10s).
    pub backoff: Dur,
}

impl Default for KubeletConfig {
    fn default() -> Self {
        Self {
            default_pull: Dur::secs(5),
            start_delay: Dur::secs(1),
            ready_delay: Dur::secs(2),
            stop_time: Dur::secs(2),
            backoff: Dur::secs(10),
        }
    }
}

/// How an image behaves.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ImageSpec {
    /// Pull duration (default: the kubelet's `defaultPull`).
    pub pull: Option<Dur>,
    /// Every pull fails (`ErrImagePull`, then `ImagePullBackOff`).
    pub fail: bool,
    /// Containers of this image exit this long after starting (a crash loop).
    pub crash_after: Option<Dur>,
}

#[derive(Clone, Debug, PartialEq)]
enum State {
    Pulling { until: SimTime },
    PullBackOff { until: SimTime, first: bool },
    Starting { until: SimTime },
    Running { since: SimTime, ready_at: SimTime },
    CrashBackOff { until: SimTime },
    Stopped,
}

#[derive(Clone, Debug)]
struct ContainerRt {
    image: String,
    state: State,
    restart_count: i64,
    image_id: Option<String>,
    /// The image `image_id` belongs to (what the runtime last started).
    started_image: Option<String>,
    failures: u32,
}

#[derive(Clone, Debug, Default)]
struct PodRt {
    ip: String,
    node: String,
    started_at: SimTime,
    containers: BTreeMap<String, ContainerRt>,
    stop_at: Option<SimTime>,
}

/// What one sync of a pod produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sync {
    /// The new status, when it differs from the stored one.
    pub status: Option<Value>,
    /// When the pod next needs a look.
    pub wake: Option<SimTime>,
    /// All containers stopped after a delete: the pod may go.
    pub terminated: bool,
}

/// The kubelets of all nodes.
#[derive(Debug, Default)]
pub struct Kubelet {
    /// Timings.
    pub config: KubeletConfig,
    /// Per-image behaviour.
    pub images: BTreeMap<String, ImageSpec>,
    /// Images whose pulls fail because of an injected fault.
    pub failing_images: BTreeSet<String>,
    pods: BTreeMap<String, PodRt>,
    node_images: BTreeMap<String, BTreeSet<String>>,
    down: BTreeSet<String>,
    ips: u32,
}

impl Kubelet {
    /// A kubelet with the given timings and images.
    pub fn new(config: KubeletConfig, images: BTreeMap<String, ImageSpec>) -> Self {
        Self { config, images, ..Self::default() }
    }

    /// Marks a node's kubelet down (no syncs) or up again.
    pub fn set_node_down(&mut self, node: &str, down: bool) {
        if down {
            self.down.insert(node.to_owned());
        } else {
            self.down.remove(node);
        }
    }

    /// True when the node's kubelet is down.
    pub fn node_down(&self, node: &str) -> bool {
        self.down.contains(node)
    }

    /// Images cached on a node.
    pub fn cached_images(&self, node: &str) -> impl Iterator<Item = &String> {
        self.node_images.get(node).into_iter().flatten()
    }

    /// Forgets a pod that left the store.
    pub fn forget(&mut self, uid: &str) {
        self.pods.remove(uid);
    }

    /// Crashes the running containers of a pod (a fault): restartCount + 1, back-off, restart.
    /// Returns false if the pod has no running container.
    pub fn crash(&mut self, uid: &str, now: SimTime) -> bool {
        let backoff = self.config.backoff.0;
        let Some(rt) = self.pods.get_mut(uid) else { return false };
        let mut any = false;
        for c in rt.containers.values_mut() {
            if matches!(c.state, State::Running { .. }) {
                c.failures += 1;
                c.restart_count += 1;
                c.state = State::CrashBackOff { until: now + backoff_for(backoff, c.failures) };
                any = true;
            }
        }
        any
    }

    fn pull_time(&self, image: &str) -> u64 {
        self.images.get(image).and_then(|i| i.pull).unwrap_or(self.config.default_pull).0
    }

    fn fails(&self, image: &str) -> bool {
        self.failing_images.contains(image) || self.images.get(image).is_some_and(|i| i.fail)
    }

    fn begin(&self, node: &str, image: &str, policy: &str, now: SimTime) -> State {
        let cached = self.node_images.get(node).is_some_and(|s| s.contains(image));
        if cached && policy != "Always" {
            State::Starting { until: now + self.config.start_delay.0 }
        } else {
            State::Pulling { until: now + self.pull_time(image) }
        }
    }

    /// Brings a pod's runtime up to `now` and computes its status.
    pub fn sync(&mut self, pod: &Value, now: SimTime) -> Sync {
        let Some(node) = str_at(pod, &["spec", "nodeName"]).filter(|n| !n.is_empty()).map(str::to_owned)
        else {
            return Sync::default();
        };
        if self.down.contains(&node) {
            return Sync::default();
        }
        let uid = str_at(pod, &["metadata", "uid"]).unwrap_or_default().to_owned();
        if !self.pods.contains_key(&uid) {
            self.ips += 1;
            let ip = format!("10.244.{}.{}", self.ips / 250, self.ips % 250 + 2);
            self.pods
                .insert(uid.clone(), PodRt { ip, node: node.clone(), started_at: now, ..PodRt::default() });
        }
        let containers: Vec<(String, String, String)> = pod
            .pointer("/spec/containers")
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        let image = str_at(c, &["image"]).unwrap_or_default().to_owned();
                        let policy = str_at(c, &["imagePullPolicy"])
                            .map(str::to_owned)
                            .unwrap_or_else(|| default_policy(&image).to_owned());
                        (str_at(c, &["name"]).unwrap_or_default().to_owned(), image, policy)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let deleting = pod.pointer("/metadata/deletionTimestamp").is_some();
        let grace_ms =
            pod.pointer("/metadata/deletionGracePeriodSeconds").and_then(Value::as_u64).unwrap_or(30) * 1000;
        let mut wake: Option<SimTime> = None;
        let mut terminated = false;
        // Take the runtime out so `self` can be borrowed while it is advanced.
        let mut rt = self.pods.remove(&uid).unwrap_or_default();
        if deleting {
            let stop_at = *rt.stop_at.get_or_insert(now + self.config.stop_time.0.min(grace_ms));
            if now >= stop_at {
                for c in rt.containers.values_mut() {
                    c.state = State::Stopped;
                }
                terminated = true;
            } else {
                wake = Some(stop_at);
            }
        } else {
            for (name, image, policy) in &containers {
                let c = rt.containers.entry(name.clone()).or_insert_with(|| ContainerRt {
                    image: image.clone(),
                    state: self.begin(&node, image, policy, now),
                    restart_count: 0,
                    image_id: None,
                    started_image: None,
                    failures: 0,
                });
                if &c.image != image {
                    // In-place update: kill the container, fetch the new image, start again.
                    if c.image_id.is_some() {
                        c.restart_count += 1;
                    }
                    c.image = image.clone();
                    c.failures = 0;
                    c.state = self.begin(&node, image, policy, now);
                }
                loop {
                    let next = match c.state {
                        State::Pulling { until } if now >= until => {
                            if self.fails(image) {
                                c.failures += 1;
                                State::PullBackOff {
                                    until: now + backoff_for(self.config.backoff.0, c.failures),
                                    first: c.failures == 1,
                                }
                            } else {
                                self.node_images.entry(node.clone()).or_default().insert(image.clone());
                                c.failures = 0;
                                State::Starting { until: until + self.config.start_delay.0 }
                            }
                        }
                        State::PullBackOff { until, .. } if now >= until => {
                            State::Pulling { until: until + self.pull_time(image) }
                        }
                        State::Starting { until } if now >= until => {
                            c.image_id = Some(image_id(image));
                            c.started_image = Some(image.clone());
                            State::Running { since: until, ready_at: until + self.config.ready_delay.0 }
                        }
                        State::Running { since, .. } => {
                            match self.images.get(image).and_then(|i| i.crash_after) {
                                Some(after) if now >= since + after.0 => {
                                    c.failures += 1;
                                    c.restart_count += 1;
                                    State::CrashBackOff {
                                        until: since
                                            + after.0
                                            + backoff_for(self.config.backoff.0, c.failures),
                                    }
                                }
                                _ => break,
                            }
                        }
                        State::CrashBackOff { until } if now >= until => {
                            State::Starting { until: until + self.config.start_delay.0 }
                        }
                        _ => break,
                    };
                    c.state = next;
                }
                let due = match c.state {
                    State::Pulling { until }
                    | State::PullBackOff { until, .. }
                    | State::Starting { until }
                    | State::CrashBackOff { until } => Some(until),
                    State::Running { since, ready_at } => {
                        let crash = self.images.get(image).and_then(|i| i.crash_after).map(|a| since + a.0);
                        [Some(ready_at).filter(|t| *t > now), crash].into_iter().flatten().min()
                    }
                    State::Stopped => None,
                };
                if let Some(d) = due {
                    wake = Some(wake.map_or(d, |w| w.min(d)));
                }
            }
            rt.containers.retain(|n, _| containers.iter().any(|(c, _, _)| c == n));
        }
        let status = self.status(pod, &rt, &containers, now, deleting);
        self.pods.insert(uid, rt);
        let changed = pod.get("status") != Some(&status);
        Sync { status: changed.then_some(status), wake, terminated }
    }

    fn status(
        &self,
        pod: &Value,
        rt: &PodRt,
        containers: &[(String, String, String)],
        now: SimTime,
        deleting: bool,
    ) -> Value {
        let mut statuses = Vec::new();
        let mut all_ready = !containers.is_empty();
        let mut any_started = false;
        for (name, image, _) in containers {
            let Some(c) = rt.containers.get(name) else { continue };
            let ready = !deleting && matches!(c.state, State::Running { ready_at, .. } if now >= ready_at);
            all_ready &= ready;
            any_started |= c.image_id.is_some();
            let state = match &c.state {
                State::Running { since, .. } => {
                    json!({"running": {"startedAt": timestamp(*since).to_string()}})
                }
                State::Pulling { .. } if c.failures > 0 => {
                    json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image {image:?}")}})
                }
                State::Pulling { .. } | State::Starting { .. } => {
                    json!({"waiting": {"reason": "ContainerCreating"}})
                }
                State::PullBackOff { first: true, .. } => {
                    json!({"waiting": {"reason": "ErrImagePull", "message": format!("failed to pull image {image:?}")}})
                }
                State::PullBackOff { .. } => {
                    json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image {image:?}")}})
                }
                State::CrashBackOff { .. } => json!({"waiting": {"reason": "CrashLoopBackOff"}}),
                State::Stopped => json!({"terminated": {"reason": "Completed", "exitCode": 0}}),
            };
            let mut s = json!({
                "name": name, "image": c.started_image.as_ref().unwrap_or(&c.image), "imageID": c.image_id.clone().unwrap_or_default(),
                "ready": ready, "restartCount": c.restart_count, "started": matches!(c.state, State::Running { .. }),
                "state": state,
            });
            if let Some(id) = &c.image_id {
                s["containerID"] = json!(format!(
                    "containerd://{:016x}",
                    fnv1a64(&[format!("{}/{name}/{id}/{}", rt.ip, c.restart_count).as_bytes()])
                ));
            }
            statuses.push(s);
        }
        let old_conditions: Vec<Value> =
            pod.pointer("/status/conditions").and_then(Value::as_array).cloned().unwrap_or_default();
        let cond_status = |t: &str| {
            old_conditions
                .iter()
                .find(|c| str_at(c, &["type"]) == Some(t))
                .and_then(|c| str_at(c, &["status"]))
                .map(str::to_owned)
        };
        let gates_ok = pod
            .pointer("/spec/readinessGates")
            .and_then(Value::as_array)
            .map(|gs| {
                gs.iter().all(|g| {
                    cond_status(str_at(g, &["conditionType"]).unwrap_or_default()).as_deref() == Some("True")
                })
            })
            .unwrap_or(true);
        let mut conditions: Vec<Value> = old_conditions
            .iter()
            .filter(|c| !matches!(str_at(c, &["type"]), Some("Initialized" | "ContainersReady" | "Ready")))
            .cloned()
            .collect();
        let set = |conditions: &mut Vec<Value>, t: &str, ok: bool, reason: Option<&str>| {
            let status = if ok { "True" } else { "False" };
            let old = old_conditions.iter().find(|c| str_at(c, &["type"]) == Some(t));
            let since = match old {
                Some(o) if str_at(o, &["status"]) == Some(status) => {
                    o.get("lastTransitionTime").cloned().unwrap_or(json!(timestamp(now).to_string()))
                }
                _ => json!(timestamp(now).to_string()),
            };
            let mut c =
                json!({"type": t, "status": status, "lastProbeTime": null, "lastTransitionTime": since});
            if let Some(r) = reason.filter(|_| !ok) {
                c["reason"] = json!(r);
            }
            conditions.push(c);
        };
        set(&mut conditions, "Initialized", true, None);
        set(&mut conditions, "ContainersReady", all_ready, Some("ContainersNotReady"));
        let reason = if all_ready { "ReadinessGatesNotReady" } else { "ContainersNotReady" };
        set(&mut conditions, "Ready", all_ready && gates_ok, Some(reason));
        conditions.sort_by(|a, b| {
            condition_rank(a)
                .cmp(&condition_rank(b))
                .then_with(|| str_at(a, &["type"]).cmp(&str_at(b, &["type"])))
        });
        let mut status = pod.get("status").cloned().unwrap_or_else(|| json!({}));
        status["phase"] = json!(if any_started { "Running" } else { "Pending" });
        status["conditions"] = json!(conditions);
        status["containerStatuses"] = json!(statuses);
        status["hostIP"] = json!(format!("192.168.0.{}", fnv1a64(&[rt.node.as_bytes()]) % 200 + 10));
        status["podIP"] = json!(rt.ip);
        status["startTime"] = json!(timestamp(rt.started_at).to_string());
        status
    }
}

fn condition_rank(c: &Value) -> u8 {
    match str_at(c, &["type"]) {
        Some("PodScheduled") => 0,
        Some("Initialized") => 1,
        Some("ContainersReady") => 2,
        Some("Ready") => 3,
        _ => 4,
    }
}

/// `Always` for `:latest` or untagged images, else `IfNotPresent` (the API server's default).
pub fn default_policy(image: &str) -> &'static str {
    let tag = image.rsplit_once('/').map_or(image, |(_, t)| t);
    match tag.rsplit_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

/// A stable, image-specific digest.
pub fn image_id(image: &str) -> String {
    let repo = image.rsplit_once(':').map_or(image, |(r, _)| r);
    let repo = if repo.contains('/') { repo.to_owned() } else { format!("docker.io/library/{repo}") };
    format!(
        "{repo}@sha256:{:016x}{:016x}",
        fnv1a64(&[image.as_bytes()]),
        fnv1a64(&[format!("{image}#").as_bytes()])
    )
}

fn backoff_for(base: u64, failures: u32) -> u64 {
    base.saturating_mul(1u64 << failures.saturating_sub(1).min(10)).min(300_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(image: &str) -> Value {
        json!({"metadata": {"uid": "u1", "name": "p"}, "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": image, "imagePullPolicy": "IfNotPresent"}]}})
    }

    fn run(k: &mut Kubelet, pod: &mut Value, until: SimTime) -> Vec<SimTime> {
        let mut t = 0;
        let mut times = vec![];
        loop {
            let s = k.sync(pod, t);
            if let Some(st) = s.status {
                pod["status"] = st;
                times.push(t);
            }
            match s.wake {
                Some(w) if w <= until => t = w,
                _ => return times,
            }
        }
    }

    fn ready(pod: &Value) -> bool {
        pod.pointer("/status/conditions")
            .and_then(Value::as_array)
            .unwrap()
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    }

    #[test]
    fn pull_start_ready_timeline() {
        let mut k = Kubelet::default();
        let mut p = pod("nginx:1.20");
        let times = run(&mut k, &mut p, 60_000);
        // pull 5s, start 1s, ready 2s later.
        assert_eq!(times, vec![0, 6_000, 8_000]);
        assert!(ready(&p));
        assert_eq!(p["status"]["phase"], "Running");
        assert_eq!(p["status"]["containerStatuses"][0]["restartCount"], 0);
    }

    #[test]
    fn image_cache_skips_pull_for_if_not_present() {
        let mut k = Kubelet::default();
        let mut a = pod("nginx:1.20");
        run(&mut k, &mut a, 60_000);
        let mut b = pod("nginx:1.20");
        b["metadata"]["uid"] = json!("u2");
        let times = run(&mut k, &mut b, 60_000);
        assert_eq!(times, vec![0, 1_000, 3_000]);
        assert_eq!(k.cached_images("n1").count(), 1);
    }

    #[test]
    fn in_place_image_change_restarts_container() {
        let mut k = Kubelet::default();
        let mut p = pod("nginx:1.20");
        run(&mut k, &mut p, 60_000);
        let old_id = p["status"]["containerStatuses"][0]["imageID"].clone();
        let ip = p["status"]["podIP"].clone();
        p["spec"]["containers"][0]["image"] = json!("nginx:latest");
        let s = k.sync(&p, 100_000);
        p["status"] = s.status.unwrap();
        assert!(!ready(&p));
        let mut t = s.wake.unwrap();
        while let Some(w) = {
            let s = k.sync(&p, t);
            if let Some(st) = s.status {
                p["status"] = st;
            }
            s.wake
        } {
            t = w;
        }
        let cs = &p["status"]["containerStatuses"][0];
        assert_eq!(cs["restartCount"], 1);
        assert_ne!(cs["imageID"], old_id);
        assert_eq!(cs["image"], "nginx:latest");
        assert_eq!(p["status"]["podIP"], ip);
        assert!(ready(&p));
    }

    #[test]
    fn failing_pull_backs_off() {
        let mut k = Kubelet::default();
        k.failing_images.insert("bad:1".into());
        let mut p = pod("bad:1");
        run(&mut k, &mut p, 40_000);
        let reason = &p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"];
        assert!(reason == "ImagePullBackOff" || reason == "ErrImagePull", "{reason}");
        assert!(!ready(&p));
        assert_eq!(p["status"]["phase"], "Pending");
    }

    #[test]
    fn crash_loop_counts_restarts() {
        let mut images = BTreeMap::new();
        images.insert(
            "crash:1".to_owned(),
            ImageSpec { crash_after: Some(Dur::secs(5)), ..Default::default() },
        );
        let mut k = Kubelet::new(KubeletConfig::default(), images);
        let mut p = pod("crash:1");
        run(&mut k, &mut p, 120_000);
        assert!(p["status"]["containerStatuses"][0]["restartCount"].as_i64().unwrap() >= 2);
    }

    #[test]
    fn readiness_gates_hold_ready() {
        let mut k = Kubelet::default();
        let mut p = pod("nginx:1.20");
        p["spec"]["readinessGates"] = json!([{"conditionType": "InPlaceUpdateReady"}]);
        run(&mut k, &mut p, 60_000);
        assert!(!ready(&p));
        let conds = p["status"]["conditions"].as_array_mut().unwrap();
        conds.push(json!({"type": "InPlaceUpdateReady", "status": "True"}));
        let s = k.sync(&p, 70_000);
        p["status"] = s.status.unwrap();
        assert!(ready(&p));
        // The controller-owned condition is kept.
        assert!(
            p["status"]["conditions"].as_array().unwrap().iter().any(|c| c["type"] == "InPlaceUpdateReady")
        );
    }

    #[test]
    fn graceful_termination_finishes_after_stop_time() {
        let mut k = Kubelet::default();
        let mut p = pod("nginx:1.20");
        run(&mut k, &mut p, 60_000);
        p["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:01:30Z");
        p["metadata"]["deletionGracePeriodSeconds"] = json!(30);
        let s = k.sync(&p, 60_000);
        assert!(!s.terminated);
        assert_eq!(s.wake, Some(62_000));
        assert!(k.sync(&p, 62_000).terminated);
    }

    #[test]
    fn default_pull_policy() {
        assert_eq!(default_policy("nginx"), "Always");
        assert_eq!(default_policy("nginx:latest"), "Always");
        assert_eq!(default_policy("reg:5000/nginx:1.20"), "IfNotPresent");
    }
}
