//! What the upgrade controller reads from one pod (SCS-40, SCS-41, SCS-51, SCS-60): matching,
//! the *updated*, *upgradable*, *state-consistent* and *ready* predicates, and the hot-upgrade
//! slots.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod};
use kruise_api::apps::v1beta1::SidecarSet;
use kruise_api::keys;

use super::inject::hot_slots;
use super::records::{SidecarStates, inplace_states, pod_record_hash, working_map};

/// A parsed image reference: normalised repository, tag and digest (`docker.io/library/`
/// added to short Docker Hub names, `latest` assumed by nothing: an absent tag is `""`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// Repository, normalised.
    pub repo: String,
    /// Tag (`""` when absent).
    pub tag: String,
    /// Digest (`sha256:...`, `""` when absent).
    pub digest: String,
}

/// Parses an image reference as the container runtime would name it. `None` for an empty
/// reference.
pub fn parse_image(image: &str) -> Option<ImageRef> {
    if image.is_empty() {
        return None;
    }
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, d.to_owned()),
        None => (image, String::new()),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], rest[last_slash + i + 1..].to_owned()),
        None => (rest, String::new()),
    };
    let repo = match name.split_once('/') {
        None => format!("docker.io/library/{name}"),
        Some((host, _)) if host.contains('.') || host.contains(':') || host == "localhost" => name.to_owned(),
        Some(_) => format!("docker.io/{name}"),
    };
    Some(ImageRef { repo, tag, digest })
}

/// SCS-41: equal images: same repository and digest when both are digests, else same
/// repository and tag. Unparsable ⇒ unequal.
pub fn image_equal(a: &str, b: &str) -> bool {
    match (parse_image(a), parse_image(b)) {
        (Some(x), Some(y)) if !x.digest.is_empty() && !y.digest.is_empty() => {
            x.repo == y.repo && x.digest == y.digest
        }
        (Some(x), Some(y)) => x.repo == y.repo && x.tag == y.tag,
        _ => false,
    }
}

fn containers(pod: &Pod) -> &[Container] {
    pod.spec.as_ref().map(|s| s.containers.as_slice()).unwrap_or_default()
}

fn statuses(pod: &Pod) -> &[ContainerStatus] {
    pod.status.as_ref().and_then(|s| s.container_statuses.as_deref()).unwrap_or_default()
}

/// `namespace/name` of a pod, as SidecarSet plans name pods (an empty or absent namespace is
/// `default`, SCS-9). Pod names never contain `/`, so the key splits back unambiguously.
pub fn pod_key(pod: &Pod) -> String {
    let ns = pod.metadata.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or("default");
    format!("{ns}/{}", pod.metadata.name.as_deref().unwrap_or_default())
}

/// A pod container by name.
pub fn container<'p>(pod: &'p Pod, name: &str) -> Option<&'p Container> {
    containers(pod).iter().find(|c| c.name == name)
}

/// SCS-60: (working slot, empty slot) of hot sidecar `s`: the working map names `S-1` ⇒
/// (`S-1`, `S-2`), anything else (or nothing) ⇒ (`S-2`, `S-1`).
pub fn hot_working(working: &BTreeMap<String, String>, s: &str) -> (String, String) {
    let (n1, n2) = hot_slots(s);
    if working.get(s) == Some(&n1) { (n1, n2) } else { (n2, n1) }
}

/// The facts of one SidecarSet the controller reads per pod, computed once per plan.
#[derive(Clone, Debug)]
pub struct SsView<'a> {
    /// The SidecarSet.
    pub ss: &'a SidecarSet,
    /// Its name.
    pub name: &'a str,
    /// `kruise.io/sidecarset-hash`.
    pub hash: &'a str,
    /// `kruise.io/sidecarset-hash-without-image`.
    pub hash_without_image: &'a str,
    /// Container names in the pod: cold names plus both hot slots (SCS-41 default names).
    pub names: BTreeSet<String>,
    /// Hot sidecars: (logical name, empty image).
    pub hot: Vec<(&'a str, &'a str)>,
}

impl<'a> SsView<'a> {
    /// Reads the SidecarSet once.
    pub fn new(ss: &'a SidecarSet) -> Self {
        let mut names = BTreeSet::new();
        let mut hot = Vec::new();
        for c in &ss.spec.containers {
            if c.is_hot_upgrade() {
                let (a, b) = hot_slots(&c.container.name);
                names.insert(a);
                names.insert(b);
                hot.push((c.container.name.as_str(), c.upgrade_strategy.hot_upgrade_empty_image.as_str()));
            } else {
                names.insert(c.container.name.clone());
            }
        }
        Self {
            ss,
            name: ss.metadata.name.as_deref().unwrap_or_default(),
            hash: ss.hash().unwrap_or_default(),
            hash_without_image: ss.hash_without_image().unwrap_or_default(),
            names,
            hot,
        }
    }

    /// SCS-40: injected (named in the injected list) and consistent with the SidecarSet (every
    /// cold sidecar present; every hot sidecar in the working map with both slots present).
    pub fn injected_and_consistent(&self, pod: &Pod) -> bool {
        self.injected_and_consistent_with(pod, &working_map(pod))
    }

    /// [`SsView::injected_and_consistent`] with the pod's working map already read.
    pub fn injected_and_consistent_with(&self, pod: &Pod, working: &BTreeMap<String, String>) -> bool {
        if !super::records::is_injected(pod, self.name) {
            return false;
        }
        self.ss.spec.containers.iter().all(|c| {
            if c.is_hot_upgrade() {
                let (a, b) = hot_slots(&c.container.name);
                working.contains_key(&c.container.name)
                    && container(pod, &a).is_some()
                    && container(pod, &b).is_some()
            } else {
                container(pod, &c.container.name).is_some()
            }
        })
    }

    /// SCS-41 *updated*: the pod's record hash equals the SidecarSet hash.
    pub fn updated(&self, pod: &Pod) -> bool {
        pod_record_hash(pod, keys::SIDECARSET_HASH, self.name) == self.hash
    }

    /// SCS-41 *upgradable*: only images differ (without-image hashes equal).
    pub fn upgradable(&self, pod: &Pod) -> bool {
        pod_record_hash(pod, keys::SIDECARSET_HASH_WITHOUT_IMAGE, self.name) == self.hash_without_image
    }

    /// SCS-41 *state-consistent* over `names` (`None` = [`SsView::names`]).
    pub fn consistent(&self, pod: &Pod, names: Option<&BTreeSet<String>>, states: &StateCache) -> bool {
        let names = names.unwrap_or(&self.names);
        self.consistent_by(pod, |n| names.contains(n), states)
    }

    /// SCS-41 *state-consistent* over the container names `is_name` accepts.
    pub fn consistent_by(&self, pod: &Pod, is_name: impl Fn(&str) -> bool, states: &StateCache) -> bool {
        if containers(pod).len() != statuses(pod).len() {
            return false;
        }
        let mut all_digest = true;
        for c in containers(pod).iter().filter(|c| is_name(&c.name)) {
            let image = c.image.as_deref().unwrap_or_default();
            if !image.contains('@') || parse_image(image).is_none_or(|r| r.digest.is_empty()) {
                all_digest = false;
                break;
            }
            let Some(st) = statuses(pod).iter().find(|s| s.name == c.name) else { return false };
            let id = st.image_id.split_once("://").map_or(st.image_id.as_str(), |(_, r)| r);
            if !image_equal(image, id) {
                return false;
            }
        }
        if all_digest {
            return true;
        }
        self.update_completed(pod, &is_name, states)
    }

    /// SCS-51 *update-completed*.
    fn update_completed(&self, pod: &Pod, is_name: &impl Fn(&str) -> bool, states: &StateCache) -> bool {
        let states = match states {
            StateCache::Absent => return true,
            StateCache::Unreadable => return false,
            StateCache::Read(s) => s,
        };
        let Some(state) = states.get(self.name) else { return true };
        for st in statuses(pod).iter().filter(|s| is_name(&s.name)) {
            if let Some(last) = state.last_container_statuses.get(&st.name) {
                let spec_image =
                    container(pod, &st.name).and_then(|c| c.image.as_deref()).unwrap_or_default();
                if last.image_id == st.image_id && spec_image != st.image {
                    return false;
                }
            }
        }
        true
    }

    /// SCS-41 *ready*: every hot sidecar's empty slot runs the empty image; Running and Ready;
    /// not terminating.
    pub fn ready(&self, pod: &Pod) -> bool {
        self.ready_with(pod, &working_map(pod))
    }

    /// [`SsView::ready`] with the pod's working map already read.
    pub fn ready_with(&self, pod: &Pod, working: &BTreeMap<String, String>) -> bool {
        for (s, empty_image) in &self.hot {
            let (_, empty) = hot_working(working, s);
            if let Some(c) = container(pod, &empty)
                && !empty_image.is_empty()
                && c.image.as_deref().unwrap_or_default() != *empty_image
            {
                return false;
            }
        }
        running_and_ready(pod)
    }
}

/// Phase Running, condition Ready=True, no deletionTimestamp.
pub fn running_and_ready(pod: &Pod) -> bool {
    let st = pod.status.as_ref();
    pod.metadata.deletion_timestamp.is_none()
        && st.and_then(|s| s.phase.as_deref()) == Some("Running")
        && st
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == keys::CONDITION_READY && c.status == "True"))
}

/// The SCS-51 annotation of one pod, read once.
#[derive(Clone, Debug)]
pub enum StateCache {
    /// No annotation: every update counts as completed.
    Absent,
    /// Present but unreadable: never completed.
    Unreadable,
    /// Read.
    Read(SidecarStates),
}

impl StateCache {
    /// Reads `pod`'s annotation.
    pub fn of(pod: &Pod) -> Self {
        match inplace_states(pod) {
            Ok(None) => Self::Absent,
            Ok(Some(s)) => Self::Read(s),
            Err(_) => Self::Unreadable,
        }
    }
}

/// Status `ready` of container `name` (false when it has no status).
pub fn container_ready(pod: &Pod, name: &str) -> bool {
    statuses(pod).iter().any(|s| s.name == name && s.ready)
}

/// The status imageID of container `name` (`""` when none).
pub fn status_image_id<'p>(pod: &'p Pod, name: &str) -> &'p str {
    statuses(pod).iter().find(|s| s.name == name).map_or("", |s| s.image_id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scs_41_image_equality() {
        assert!(image_equal("nginx:1.0", "docker.io/library/nginx:1.0"));
        assert!(!image_equal("nginx:1.0", "nginx:1.1"));
        assert!(image_equal("busybox@sha256:abc", "docker.io/library/busybox@sha256:abc"));
        assert!(image_equal("reg.io:5000/a/b:v1", "reg.io:5000/a/b:v1"));
        assert!(!image_equal("", "x"));
        let r = parse_image("reg.io:5000/a/b:v1@sha256:d").unwrap();
        assert_eq!(
            (r.repo.as_str(), r.tag.as_str(), r.digest.as_str()),
            ("reg.io:5000/a/b", "v1", "sha256:d")
        );
        assert_eq!(parse_image("user/app").unwrap().repo, "docker.io/user/app");
    }

    #[test]
    fn scs_60_missing_working_entry_means_slot_2_works() {
        let mut m = BTreeMap::new();
        assert_eq!(hot_working(&m, "envoy"), ("envoy-2".to_owned(), "envoy-1".to_owned()));
        m.insert("envoy".to_owned(), "envoy-1".to_owned());
        assert_eq!(hot_working(&m, "envoy"), ("envoy-1".to_owned(), "envoy-2".to_owned()));
    }
}
