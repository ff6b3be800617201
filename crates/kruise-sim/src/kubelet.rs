//! The kubelet model: image pulls with per-image durations and a per-node image cache
//! (`IfNotPresent` vs `Always`), container start, readiness after a delay, in-place restarts
//! when a container's image changes (restartCount + 1, new imageID, same pod), crash loops
//! with back-off, run-to-completion containers (`runFor`: exit 0, or 1 on the image's
//! `failOn` nodes, then what `restartPolicy` says: `Never` ends the pod `Succeeded` or
//! `Failed`, `OnFailure` restarts failures only, `Always` restarts both; a pod in a terminal
//! phase stays there, whoever put it there), graceful termination, and the pod conditions (PodScheduled is the scheduler's; Initialized,
//! ContainersReady, and Ready honouring `readinessGates` are the kubelet's), each with a
//! lastTransitionTime.
//!
//! Pull time: the image's `pull` if given; else its `size` over the node's bandwidth (the
//! node's `bandwidth`, else the kubelet's, default `100Mi` per second); else the kubelet's
//! `defaultPull`. Pulls are shared per node: a container (or the node daemon) asking for an
//! image already being pulled on its node waits for that pull instead of starting another.
//!
//! The node daemon ([`Kubelet::daemon_sync`], kruise-daemon's contract IPJ-30) pulls the
//! image tags a NodeImage's spec asks for into the same cache and reports the NodeImage
//! status: `Pulling` when it starts, `Succeeded` (or `Failed` for an image whose pulls fail)
//! when the pull ends, with the spec's `version`.

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
    /// Download bandwidth of a node without its own, a quantity of bytes per second (default
    /// `100Mi`): an image with a `size` and no `pull` takes `size / bandwidth` to pull.
    pub bandwidth: String,
}

/// [`KubeletConfig::bandwidth`]'s default: 100 MiB per second.
pub const DEFAULT_BANDWIDTH: &str = "100Mi";

impl Default for KubeletConfig {
    fn default() -> Self {
        Self {
            default_pull: Dur::secs(5),
            start_delay: Dur::secs(1),
            ready_delay: Dur::secs(2),
            stop_time: Dur::secs(2),
            backoff: Dur::secs(10),
            bandwidth: DEFAULT_BANDWIDTH.into(),
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
    /// Image size, a quantity of bytes (`800Mi`): with no `pull`, the pull takes `size` over
    /// the node's bandwidth.
    pub size: Option<String>,
    /// Containers of this image run to completion: they exit this long after starting, with
    /// code 0 (1 on the `failOn` nodes); the pod's `restartPolicy` says what follows.
    pub run_for: Option<Dur>,
    /// Nodes on which a `runFor` container exits with code 1 (a failing job pod).
    pub fail_on: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
enum State {
    Pulling {
        until: SimTime,
    },
    PullBackOff {
        until: SimTime,
        first: bool,
    },
    Starting {
        until: SimTime,
    },
    Running {
        since: SimTime,
        ready_at: SimTime,
    },
    CrashBackOff {
        until: SimTime,
    },
    /// Ran to completion (`runFor`) and is not restarted.
    Exited {
        started: SimTime,
        at: SimTime,
        code: i32,
    },
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
    /// Pulls in flight: (node, image) -> when they end.
    pulls: BTreeMap<(String, String), SimTime>,
    /// Per-node bandwidth, milli-bytes per second (nodes without one use the config's).
    bandwidth: BTreeMap<String, u128>,
    /// The node daemon's pulls: (node, image, spec version) -> when they end.
    daemon_pulls: BTreeMap<(String, String, i64), SimTime>,
    down: BTreeSet<String>,
    ips: u32,
}

impl Kubelet {
    /// A kubelet with the given timings and images.
    pub fn new(config: KubeletConfig, images: BTreeMap<String, ImageSpec>) -> Self {
        Self { config, images, ..Self::default() }
    }

    /// Sets a node's download bandwidth (a quantity of bytes per second). Returns false if
    /// `bandwidth` is not a positive quantity.
    pub fn set_node_bandwidth(&mut self, node: &str, bandwidth: &str) -> bool {
        match crate::cluster::parse_quantity_milli(bandwidth).filter(|b| *b > 0) {
            Some(b) => {
                self.bandwidth.insert(node.to_owned(), b);
                true
            }
            None => false,
        }
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

    /// How long pulling `image` takes on `node`, ms (see the module docs).
    pub fn pull_time(&self, node: &str, image: &str) -> u64 {
        let spec = self.images.get(image);
        if let Some(p) = spec.and_then(|i| i.pull) {
            return p.0;
        }
        let size = spec.and_then(|i| i.size.as_deref()).and_then(crate::cluster::parse_quantity_milli);
        let bandwidth = self
            .bandwidth
            .get(node)
            .copied()
            .or_else(|| crate::cluster::parse_quantity_milli(&self.config.bandwidth).filter(|b| *b > 0));
        match (size, bandwidth) {
            (Some(size), Some(bw)) => {
                u64::try_from(size.saturating_mul(1000).div_ceil(bw)).unwrap_or(u64::MAX)
            }
            _ => self.config.default_pull.0,
        }
    }

    /// True when `image` is in `node`'s cache at `now` (pulled, or a pull that has ended).
    pub fn is_cached(&self, node: &str, image: &str, now: SimTime) -> bool {
        self.node_images.get(node).is_some_and(|s| s.contains(image))
            || (!self.fails(image)
                && self.pulls.get(&(node.to_owned(), image.to_owned())).is_some_and(|until| *until <= now))
    }

    /// Starts a pull of `image` on `node` at `now`, or joins the one in flight; returns when
    /// it ends.
    fn start_pull(&mut self, node: &str, image: &str, now: SimTime) -> SimTime {
        let key = (node.to_owned(), image.to_owned());
        if let Some(until) = self.pulls.get(&key).filter(|u| **u > now) {
            return *until;
        }
        let until = now + self.pull_time(node, image);
        if !self.fails(image) {
            self.pulls.insert(key, until);
        }
        until
    }

    fn cache_image(&mut self, node: &str, image: &str) {
        self.node_images.entry(node.to_owned()).or_default().insert(image.to_owned());
        self.pulls.remove(&(node.to_owned(), image.to_owned()));
    }

    /// When and with which code a container of `image` started at `since` on `node` exits
    /// by itself: a crash (`crashAfter`, code 1) or a completion (`runFor`, code 0, or 1 on a
    /// `failOn` node), whichever comes first.
    fn exit_of(&self, node: &str, image: &str, since: SimTime) -> Option<(SimTime, i32)> {
        let spec = self.images.get(image)?;
        let crash = spec.crash_after.map(|a| (since + a.0, 1));
        let done = spec.run_for.map(|r| (since + r.0, i32::from(spec.fail_on.iter().any(|n| n == node))));
        [crash, done].into_iter().flatten().min_by_key(|(at, _)| *at)
    }

    fn fails(&self, image: &str) -> bool {
        self.failing_images.contains(image) || self.images.get(image).is_some_and(|i| i.fail)
    }

    fn begin(&mut self, node: &str, image: &str, policy: &str, now: SimTime) -> State {
        if self.is_cached(node, image, now) && policy != "Always" {
            State::Starting { until: now + self.config.start_delay.0 }
        } else {
            State::Pulling { until: self.start_pull(node, image, now) }
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
        let restart_policy = str_at(pod, &["spec", "restartPolicy"]).unwrap_or("Always");
        let deleting = pod.pointer("/metadata/deletionTimestamp").is_some();
        if !deleting && matches!(str_at(pod, &["status", "phase"]), Some("Failed" | "Succeeded")) {
            // A terminal pod stays terminal, whoever made it so (the kubelet, or another
            // component such as an eviction): the kubelet never moves a pod out of a terminal
            // phase, and nothing of it runs again. Only a delete still needs the kubelet.
            return Sync::default();
        }
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
                                self.cache_image(&node, image);
                                c.failures = 0;
                                State::Starting { until: until + self.config.start_delay.0 }
                            }
                        }
                        State::PullBackOff { until, .. } if now >= until => {
                            State::Pulling { until: self.start_pull(&node, image, until) }
                        }
                        State::Starting { until } if now >= until => {
                            c.image_id = Some(image_id(image));
                            c.started_image = Some(image.clone());
                            State::Running { since: until, ready_at: until + self.config.ready_delay.0 }
                        }
                        State::Running { since, .. } => match self.exit_of(&node, image, since) {
                            Some((at, code)) if now >= at => {
                                let restart = match restart_policy {
                                    "Never" => false,
                                    "OnFailure" => code != 0,
                                    _ => true,
                                };
                                if restart {
                                    c.failures += 1;
                                    c.restart_count += 1;
                                    State::CrashBackOff {
                                        until: at + backoff_for(self.config.backoff.0, c.failures),
                                    }
                                } else {
                                    State::Exited { started: since, at, code }
                                }
                            }
                            _ => break,
                        },
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
                        let exit = self.exit_of(&node, image, since).map(|(at, _)| at);
                        [Some(ready_at).filter(|t| *t > now), exit].into_iter().flatten().min()
                    }
                    State::Exited { .. } | State::Stopped => None,
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
        // Every container ran to completion: the pod is terminal (Succeeded / Failed).
        let mut exits: Vec<i32> = Vec::new();
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
                State::Exited { started, at, code } => {
                    exits.push(*code);
                    json!({"terminated": {
                        "reason": if *code == 0 { "Completed" } else { "Error" }, "exitCode": code,
                        "startedAt": timestamp(*started).to_string(), "finishedAt": timestamp(*at).to_string(),
                    }})
                }
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
        let completed = !containers.is_empty() && exits.len() == containers.len();
        let not_ready = if completed { "PodCompleted" } else { "ContainersNotReady" };
        set(&mut conditions, "Initialized", true, None);
        set(&mut conditions, "ContainersReady", all_ready, Some(not_ready));
        let reason = if all_ready { "ReadinessGatesNotReady" } else { not_ready };
        set(&mut conditions, "Ready", all_ready && gates_ok, Some(reason));
        conditions.sort_by(|a, b| {
            condition_rank(a)
                .cmp(&condition_rank(b))
                .then_with(|| str_at(a, &["type"]).cmp(&str_at(b, &["type"])))
        });
        let mut status = pod.get("status").cloned().unwrap_or_else(|| json!({}));
        status["phase"] = json!(if completed && exits.iter().all(|c| *c == 0) {
            "Succeeded"
        } else if completed {
            "Failed"
        } else if any_started {
            "Running"
        } else {
            "Pending"
        });
        status["conditions"] = json!(conditions);
        status["containerStatuses"] = json!(statuses);
        status["hostIP"] = json!(format!("192.168.0.{}", fnv1a64(&[rt.node.as_bytes()]) % 200 + 10));
        status["podIP"] = json!(rt.ip);
        status["startTime"] = json!(timestamp(rt.started_at).to_string());
        status
    }
}

impl Kubelet {
    /// The node daemon (IPJ-30) on `node`: brings the pulls the NodeImage's spec asks for up
    /// to `now` and returns the NodeImage status to write (when it differs from the stored
    /// one) and when to look again. A tag whose status entry is missing or of another
    /// `version` is pulled (at once `Succeeded` if the image is cached and the tag's
    /// `imagePullPolicy` is not `Always`); a pull in flight ends `Succeeded`, or `Failed` for
    /// an image whose pulls fail. A down node reports nothing.
    pub fn daemon_sync(&mut self, node: &str, node_image: &Value, now: SimTime) -> Sync {
        if self.down.contains(node) {
            return Sync::default();
        }
        let old = node_image.get("status").cloned().unwrap_or_else(|| json!({}));
        let mut statuses = serde_json::Map::new();
        let (mut desired, mut succeeded, mut failed, mut pulling) = (0, 0, 0, 0);
        let mut wake: Option<SimTime> = None;
        let images =
            node_image.pointer("/spec/images").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut live = BTreeSet::new();
        for (name, spec) in &images {
            let mut tags = Vec::new();
            for t in spec.get("tags").and_then(Value::as_array).into_iter().flatten() {
                let Some(tag) = str_at(t, &["tag"]) else { continue };
                desired += 1;
                let version = t.get("version").and_then(Value::as_i64).unwrap_or(0);
                let image = if tag.starts_with("sha256:") {
                    format!("{name}@{tag}")
                } else {
                    format!("{name}:{tag}")
                };
                let key = (node.to_owned(), image.clone(), version);
                live.insert(key.clone());
                let previous = old
                    .pointer(&format!("/imageStatuses/{}/tags", name.replace('~', "~0").replace('/', "~1")))
                    .and_then(Value::as_array)
                    .and_then(|ts| ts.iter().find(|s| str_at(s, &["tag"]) == Some(tag)))
                    .filter(|s| s.get("version").and_then(Value::as_i64) == Some(version))
                    .cloned();
                let mut entry = match previous {
                    Some(p) if matches!(str_at(&p, &["phase"]), Some("Succeeded" | "Failed")) => p,
                    Some(p) if self.daemon_pulls.contains_key(&key) => p,
                    _ => {
                        let always = str_at(t, &["imagePullPolicy"]) == Some("Always");
                        let until = if self.is_cached(node, &image, now) && !always {
                            now
                        } else {
                            self.start_pull(node, &image, now)
                        };
                        self.daemon_pulls.insert(key.clone(), until);
                        json!({"tag": tag, "phase": "Pulling", "progress": 0, "version": version,
                               "startTime": timestamp(now).to_string()})
                    }
                };
                if str_at(&entry, &["phase"]) == Some("Pulling")
                    && let Some(until) = self.daemon_pulls.get(&key).copied()
                {
                    if now >= until {
                        self.daemon_pulls.remove(&key);
                        entry["completionTime"] = json!(timestamp(until).to_string());
                        if self.fails(&image) {
                            entry["phase"] = json!("Failed");
                            entry["message"] = json!(format!("failed to pull image {image:?}"));
                        } else {
                            self.cache_image(node, &image);
                            entry["phase"] = json!("Succeeded");
                            entry["progress"] = json!(100);
                            entry["imageID"] = json!(image_id(&image));
                        }
                    } else {
                        wake = Some(wake.map_or(until, |w| w.min(until)));
                    }
                }
                match str_at(&entry, &["phase"]) {
                    Some("Succeeded") => succeeded += 1,
                    Some("Failed") => failed += 1,
                    _ => pulling += 1,
                }
                tags.push(entry);
            }
            if !tags.is_empty() {
                tags.sort_by(|a, b| str_at(a, &["tag"]).cmp(&str_at(b, &["tag"])));
                statuses.insert(name.clone(), json!({"tags": tags}));
            }
        }
        // Pulls of tags the spec no longer asks for are forgotten (the image pull goes on in
        // the runtime and still fills the cache).
        self.daemon_pulls.retain(|k, _| k.0 != node || live.contains(k));
        let mut status = json!({"desired": desired, "succeeded": succeeded, "failed": failed,
                                "pulling": pulling, "waiting": 0});
        if !statuses.is_empty() {
            status["imageStatuses"] = Value::Object(statuses);
        }
        let changed = status != old;
        Sync { status: changed.then_some(status), wake, terminated: false }
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

    /// A pod another component marked `Failed` stays `Failed`: the kubelet does not write a
    /// running status over it and wakes for it no more; a delete still terminates it.
    #[test]
    fn a_pod_failed_by_another_component_stays_failed() {
        let mut k = Kubelet::default();
        let mut p = pod("nginx:1.20");
        run(&mut k, &mut p, 60_000);
        assert_eq!(p["status"]["phase"], "Running");
        p["status"]["phase"] = json!("Failed");
        assert_eq!(k.sync(&p, 61_000), Sync::default());
        p["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:01:02Z");
        let s = k.sync(&p, 62_000);
        assert_eq!(s.wake, Some(64_000));
        assert!(k.sync(&p, 64_000).terminated);
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

    fn job_kubelet(fail_on: &[&str]) -> Kubelet {
        let spec = ImageSpec {
            run_for: Some(Dur::secs(30)),
            fail_on: fail_on.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        };
        Kubelet::new(KubeletConfig::default(), BTreeMap::from([("task:1".to_owned(), spec)]))
    }

    fn job_pod(policy: &str) -> Value {
        let mut p = pod("task:1");
        p["spec"]["restartPolicy"] = json!(policy);
        p
    }

    #[test]
    fn run_to_completion_succeeds_under_never() {
        let mut k = job_kubelet(&[]);
        let mut p = job_pod("Never");
        let times = run(&mut k, &mut p, 600_000);
        // pull 5s, start 1s, ready at 8s, exits 30s after starting.
        assert_eq!(times.last(), Some(&36_000));
        assert_eq!(p["status"]["phase"], "Succeeded");
        let t = &p["status"]["containerStatuses"][0]["state"]["terminated"];
        assert_eq!((t["reason"].as_str(), t["exitCode"].as_i64()), (Some("Completed"), Some(0)));
        assert!(!ready(&p));
        assert_eq!(crate::sim::pod_row(&p, 36_000).status, "Completed");
    }

    #[test]
    fn fail_on_node_fails_the_pod_under_never_and_restarts_under_on_failure() {
        let mut k = job_kubelet(&["n1"]);
        let mut p = job_pod("Never");
        run(&mut k, &mut p, 600_000);
        assert_eq!(p["status"]["phase"], "Failed");
        assert_eq!(p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"], 1);
        assert_eq!(crate::sim::pod_row(&p, 0).status, "Error");
        // OnFailure: the failing container is restarted (with back-off), never terminal.
        let mut k = job_kubelet(&["n1"]);
        let mut p = job_pod("OnFailure");
        run(&mut k, &mut p, 200_000);
        assert_ne!(p["status"]["phase"], "Failed");
        assert!(p["status"]["containerStatuses"][0]["restartCount"].as_i64().unwrap() >= 2);
        // OnFailure on a node where it succeeds: Succeeded, no restart.
        let mut k = job_kubelet(&["elsewhere"]);
        let mut p = job_pod("OnFailure");
        run(&mut k, &mut p, 600_000);
        assert_eq!(p["status"]["phase"], "Succeeded");
        assert_eq!(p["status"]["containerStatuses"][0]["restartCount"], 0);
        // Always: a completed container is restarted.
        let mut k = job_kubelet(&[]);
        let mut p = job_pod("Always");
        run(&mut k, &mut p, 200_000);
        assert_eq!(p["status"]["phase"], "Running");
        assert!(p["status"]["containerStatuses"][0]["restartCount"].as_i64().unwrap() >= 1);
    }

    #[test]
    fn pull_time_follows_size_and_node_bandwidth() {
        let big = ImageSpec { size: Some("1Gi".into()), ..Default::default() };
        let pinned = ImageSpec { size: Some("1Gi".into()), pull: Some(Dur::secs(2)), ..Default::default() };
        let config = KubeletConfig { bandwidth: "20Mi".into(), ..KubeletConfig::default() };
        let mut k = Kubelet::new(
            config,
            BTreeMap::from([("big:1".to_owned(), big), ("pinned:1".to_owned(), pinned)]),
        );
        assert!(k.set_node_bandwidth("fast", "100Mi"));
        assert!(!k.set_node_bandwidth("bad", "fast"), "not a quantity");
        assert!(!k.set_node_bandwidth("bad", "0"), "not positive");
        assert_eq!(k.pull_time("n1", "big:1"), 51_200, "1Gi at 20Mi/s");
        assert_eq!(k.pull_time("fast", "big:1"), 10_240, "1Gi at 100Mi/s");
        assert_eq!(k.pull_time("n1", "pinned:1"), 2_000, "an explicit pull wins");
        assert_eq!(k.pull_time("n1", "other:1"), 5_000, "no size: the default pull");
    }

    #[test]
    fn concurrent_pulls_on_a_node_are_shared() {
        let mut k = Kubelet::default();
        let mut a = pod("nginx:1.20");
        k.sync(&a, 0);
        // A second pod asking 3s later waits for the pull in flight (ends at 5s), not a new one.
        let mut b = pod("nginx:1.20");
        b["metadata"]["uid"] = json!("u2");
        let s = k.sync(&b, 3_000);
        assert_eq!(s.wake, Some(5_000));
        a["status"] = k.sync(&a, 5_000).status.unwrap();
        assert!(k.is_cached("n1", "nginx:1.20", 5_000));
    }

    fn node_image(version: i64) -> Value {
        json!({"metadata": {"name": "n1"}, "spec": {"images": {"web": {"tags": [
            {"tag": "2", "version": version, "imagePullPolicy": "IfNotPresent"}]}}}})
    }

    #[test]
    fn node_daemon_pulls_into_the_cache_and_reports_status() {
        let mut k = Kubelet::default();
        let mut ni = node_image(0);
        let s = k.daemon_sync("n1", &ni, 1_000);
        ni["status"] = s.status.clone().unwrap();
        assert_eq!(s.wake, Some(6_000));
        assert_eq!(ni["status"]["pulling"], 1);
        assert_eq!(ni["status"]["imageStatuses"]["web"]["tags"][0]["phase"], "Pulling");
        assert_eq!(k.daemon_sync("n1", &ni, 3_000).status, None, "nothing new before the pull ends");
        let s = k.daemon_sync("n1", &ni, 6_000);
        ni["status"] = s.status.unwrap();
        let tag = &ni["status"]["imageStatuses"]["web"]["tags"][0];
        assert_eq!((tag["phase"].as_str(), tag["version"].as_i64()), (Some("Succeeded"), Some(0)));
        assert_eq!(
            (ni["status"]["desired"].as_i64(), ni["status"]["succeeded"].as_i64()),
            (Some(1), Some(1))
        );
        assert!(k.is_cached("n1", "web:2", 6_000));
        // A pod of that image now starts without a pull.
        let times = run(&mut k, &mut pod("web:2"), 60_000);
        assert_eq!(times, vec![0, 1_000, 3_000]);
        // A version bump (IPJ-14) is a new request: cached, so Succeeded at once.
        let mut bumped = node_image(1);
        bumped["status"] = ni["status"].clone();
        let s = k.daemon_sync("n1", &bumped, 7_000).status.unwrap();
        assert_eq!(s["imageStatuses"]["web"]["tags"][0]["version"], 1);
        assert_eq!(s["imageStatuses"]["web"]["tags"][0]["phase"], "Succeeded");
        // A failing image ends Failed; a down node reports nothing.
        let mut k2 = Kubelet::default();
        k2.failing_images.insert("web:2".into());
        let mut ni2 = node_image(0);
        ni2["status"] = k2.daemon_sync("n1", &ni2, 0).status.unwrap();
        let s = k2.daemon_sync("n1", &ni2, 5_000).status.unwrap();
        assert_eq!(s["failed"], 1);
        k2.set_node_down("n1", true);
        assert_eq!(k2.daemon_sync("n1", &node_image(3), 6_000), Sync::default());
    }

    #[test]
    fn default_pull_policy() {
        assert_eq!(default_policy("nginx"), "Always");
        assert_eq!(default_policy("nginx:latest"), "Always");
        assert_eq!(default_policy("reg:5000/nginx:1.20"), "IfNotPresent");
    }
}
