//! The SidecarSet injection webhook (spec `sidecarset.md` §5, SCS-9..SCS-22): a mutating
//! admission webhook for pods, served at [`POD_INJECT_PATH`] on the operator's HTTPS webhook
//! server (same certificate, reloaded like the others, see [`crate::http::HttpServer::serve_tls`]).
//!
//! - CREATE of a pod: [`kruise_core::sidecarset::inject`] over the SidecarSets, their
//!   ControllerRevisions and the labels of the pod's Namespace, as an [`InjectionSource`]
//!   gives them; the answer carries injection's RFC 6902 patch (`patchType: JSONPatch`, base64
//!   on the wire), or no patch when nothing matches.
//! - UPDATE, DELETE, CONNECT, other resources and sub-resources: allowed untouched (SCS-10:
//!   an existing pod is never injected).
//! - A body that is not an AdmissionReview v1 with a request: HTTP 400 with the reason; an
//!   object that does not decode as a Pod: refused in the review with code 400; injection
//!   failing (an unreadable pod annotation, a SidecarSet field that does not parse, a revision
//!   not found): refused with code 500 and injection's message naming the field.
//! - Before the source has its data (reflector caches not yet listed): HTTP 503, so the
//!   configuration's `failurePolicy` decides (the shipped manifests use `Ignore`, as
//!   upstream's chart does; see docs/deviations.md).
//!
//! The handler reads its inputs through the small [`InjectionSource`] trait so tests feed it
//! fixed data ([`StaticSource`]); the operator uses [`CacheSource`], reflector caches over
//! SidecarSets, Namespaces and the SidecarSet ControllerRevisions of the revision namespace.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt as _;
use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kruise_api::apps::v1beta1::SidecarSet;
use kruise_core::features::Features;
use kruise_core::sidecarset::{InjectInput, Operation as InjectOp, inject};
use kube::api::DynamicObject;
use kube::core::admission::{AdmissionRequest, AdmissionResponse, Operation};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt as _, watcher};

use crate::http::HttpServer;
use crate::webhook::{BadReview, answer, encode_response, object_value, parse_request, refuse};

/// Path of the pod mutating webhook that injects SidecarSet sidecars.
pub const POD_INJECT_PATH: &str = "/mutate-pod-sidecarset";

/// What injection reads for one pod being admitted.
#[derive(Clone, Debug, Default)]
pub struct InjectionData {
    /// Every SidecarSet (as stored; the webhook defaults are applied before injection).
    pub sidecarsets: Vec<SidecarSet>,
    /// The SidecarSets' ControllerRevisions (for `injectionStrategy.revision`, SCS-13).
    pub revisions: Vec<ControllerRevision>,
    /// The labels of the pod's Namespace; `None` when the Namespace does not exist (SCS-11).
    pub namespace_labels: Option<BTreeMap<String, String>>,
}

/// Where the injection webhook gets its inputs from.
pub trait InjectionSource: Send + Sync {
    /// The data for a pod of `namespace`, or `None` while it is not known yet (caches not
    /// synced): the webhook then answers HTTP 503.
    fn data(&self, namespace: &str) -> Option<InjectionData>;
}

/// Fixed inputs (tests, or a cluster-less server).
#[derive(Clone, Debug, Default)]
pub struct StaticSource {
    /// Every SidecarSet.
    pub sidecarsets: Vec<SidecarSet>,
    /// Their ControllerRevisions.
    pub revisions: Vec<ControllerRevision>,
    /// Namespace name → labels (a namespace absent here does not exist).
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
}

impl InjectionSource for StaticSource {
    fn data(&self, namespace: &str) -> Option<InjectionData> {
        Some(InjectionData {
            sidecarsets: self.sidecarsets.clone(),
            revisions: self.revisions.clone(),
            namespace_labels: self.namespaces.get(namespace).cloned(),
        })
    }
}

/// Reflector caches over SidecarSets (cluster-wide), Namespaces and the ControllerRevisions
/// labelled `kruise.io/sidecarset-name` in the revision namespace.
#[derive(Clone)]
pub struct CacheSource {
    sidecarsets: Store<SidecarSet>,
    namespaces: Store<Namespace>,
    revisions: Store<ControllerRevision>,
    synced: Arc<AtomicBool>,
}

impl std::fmt::Debug for CacheSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheSource")
            .field("sidecarsets", &self.sidecarsets.len())
            .field("namespaces", &self.namespaces.len())
            .field("revisions", &self.revisions.len())
            .field("synced", &self.synced.load(Ordering::Relaxed))
            .finish()
    }
}

impl CacheSource {
    /// Starts the three reflectors on the current tokio runtime (they run until the runtime
    /// stops); the source reports no data until all three have listed once.
    pub fn start(client: kube::Client, revision_namespace: &str) -> Self {
        let (sidecarsets, w1) = reflector::store::<SidecarSet>();
        let (namespaces, w2) = reflector::store::<Namespace>();
        let (revisions, w3) = reflector::store::<ControllerRevision>();
        let ss_api = kube::Api::<SidecarSet>::all(client.clone());
        let ns_api = kube::Api::<Namespace>::all(client.clone());
        let rev_api = kube::Api::<ControllerRevision>::namespaced(client, revision_namespace);
        let rev_cfg = watcher::Config::default().labels(kruise_api::keys::SIDECARSET_NAME_LABEL);
        tokio::spawn(drive(reflector::reflector(w1, watcher(ss_api, watcher::Config::default()))));
        tokio::spawn(drive(reflector::reflector(w2, watcher(ns_api, watcher::Config::default()))));
        tokio::spawn(drive(reflector::reflector(w3, watcher(rev_api, rev_cfg))));
        let synced = Arc::new(AtomicBool::new(false));
        let this = Self { sidecarsets, namespaces, revisions, synced: synced.clone() };
        let stores = this.clone();
        tokio::spawn(async move {
            let ready = futures::future::join3(
                stores.sidecarsets.wait_until_ready(),
                stores.namespaces.wait_until_ready(),
                stores.revisions.wait_until_ready(),
            )
            .await;
            if let (Ok(()), Ok(()), Ok(())) = ready {
                synced.store(true, Ordering::Relaxed);
                tracing::info!("sidecarset injection caches synced");
            }
        });
        this
    }

    /// Whether all three caches have listed once.
    pub fn synced(&self) -> bool {
        self.synced.load(Ordering::Relaxed)
    }
}

/// Polls a reflector stream forever (with the default backoff on errors).
async fn drive<K, S>(stream: S)
where
    S: futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send,
{
    let stream = stream.default_backoff();
    let mut stream = std::pin::pin!(stream);
    while let Some(ev) = stream.next().await {
        if let Err(e) = ev {
            tracing::warn!(error = %e, "sidecarset injection cache watch failed; retrying");
        }
    }
}

impl InjectionSource for CacheSource {
    fn data(&self, namespace: &str) -> Option<InjectionData> {
        if !self.synced() {
            return None;
        }
        let ns = self.namespaces.get(&reflector::ObjectRef::new(namespace));
        Some(InjectionData {
            sidecarsets: self.sidecarsets.state().iter().map(|s| (**s).clone()).collect(),
            revisions: self.revisions.state().iter().map(|r| (**r).clone()).collect(),
            namespace_labels: ns.map(|n| n.metadata.labels.clone().unwrap_or_default()),
        })
    }
}

/// The injection webhook: its data source, the feature gates, and optionally a fixed clock
/// and draw (tests; by default the current time and a fresh random seed per request).
#[derive(Clone)]
pub struct PodInjector {
    source: Arc<dyn InjectionSource>,
    features: Features,
    now: Option<Timestamp>,
    seed: Option<u64>,
}

impl std::fmt::Debug for PodInjector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodInjector")
            .field("now", &self.now)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

/// The injection caches have not listed yet (HTTP 503).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("sidecarset injection caches not synced yet")]
pub struct NotSynced;

impl PodInjector {
    /// An injector reading `source`, with `features` (`EnableSortSidecarContainerByName`).
    pub fn new(source: Arc<dyn InjectionSource>, features: Features) -> Self {
        Self { source, features, now: None, seed: None }
    }

    /// Writes `now` in the records instead of the current time.
    #[must_use]
    pub fn with_clock(mut self, now: Timestamp) -> Self {
        self.now = Some(now);
        self
    }

    /// Uses `seed` for the SCS-13 draw instead of a fresh random one per request.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    fn seed(&self) -> u64 {
        self.seed.unwrap_or_else(|| {
            use std::hash::BuildHasher as _;
            std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now())
        })
    }

    /// The admission decision for one request (see the module docs).
    pub fn admit(&self, request: &AdmissionRequest<DynamicObject>) -> Result<AdmissionResponse, NotSynced> {
        let response = AdmissionResponse::from(request);
        let is_pod = request.kind.group.is_empty()
            && request.kind.kind == "Pod"
            && request.sub_resource.as_deref().unwrap_or_default().is_empty();
        // SCS-9, SCS-10: only pods being created.
        if !is_pod || request.operation != Operation::Create {
            return Ok(response);
        }
        let Some(obj) = &request.object else {
            return Ok(refuse(response, 400, "BadRequest", "CREATE request without an object".into()));
        };
        let mut pod: Pod = match serde_json::from_value(object_value(obj, request)) {
            Ok(p) => p,
            Err(e) => return Ok(refuse(response, 400, "BadRequest", format!("decoding the Pod: {e}"))),
        };
        let namespace = [request.namespace.as_deref(), pod.metadata.namespace.as_deref()]
            .into_iter()
            .flatten()
            .find(|n| !n.is_empty())
            .unwrap_or("default")
            .to_owned();
        pod.metadata.namespace = Some(namespace.clone());
        let data = self.source.data(&namespace).ok_or(NotSynced)?;
        let sidecarsets: Vec<SidecarSet> = data
            .sidecarsets
            .into_iter()
            .map(|mut s| {
                kruise_api::defaults::default(&mut s);
                s
            })
            .collect();
        let input = InjectInput {
            pod: &pod,
            operation: InjectOp::Create,
            namespace_labels: data.namespace_labels.as_ref(),
            sidecarsets: &sidecarsets,
            revisions: &data.revisions,
            now: self.now.unwrap_or_else(Timestamp::now),
            seed: self.seed(),
            features: self.features,
        };
        let injection = match inject(&input) {
            Ok(i) => i,
            Err(e) => {
                return Ok(refuse(response, 500, "InternalError", format!("sidecarset injection: {e}")));
            }
        };
        if injection.patch.is_empty() {
            return Ok(response);
        }
        let patch: json_patch::Patch =
            match serde_json::to_value(&injection.patch).and_then(serde_json::from_value) {
                Ok(p) => p,
                Err(e) => {
                    return Ok(refuse(response, 500, "InternalError", format!("encoding the patch: {e}")));
                }
            };
        let names: Vec<&str> = injection
            .decisions
            .iter()
            .filter(|d| matches!(d.outcome, kruise_core::sidecarset::Outcome::Injected { .. }))
            .map(|d| d.sidecarset.as_str())
            .collect();
        tracing::debug!(namespace, pod = ?pod.metadata.name, sidecarsets = ?names, "sidecars injected");
        Ok(match response.clone().with_patch(patch) {
            Ok(r) => r,
            Err(e) => refuse(response, 500, "InternalError", format!("encoding the patch: {e}")),
        })
    }

    /// Answers one AdmissionReview body: the response review's JSON, why the body is not one,
    /// or [`NotSynced`].
    pub fn review(&self, body: &[u8]) -> Result<Result<Vec<u8>, BadReview>, NotSynced> {
        let request = match parse_request(body) {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        Ok(encode_response(self.admit(&request)?))
    }
}

/// Adds the injection webhook ([`POD_INJECT_PATH`]) to `server`.
pub fn routes(server: HttpServer, injector: Arc<PodInjector>) -> HttpServer {
    server.route(POD_INJECT_PATH, move |parts, body| {
        let injector = injector.clone();
        async move {
            match injector.review(&body) {
                Ok(result) => answer(&parts.method, || result),
                Err(NotSynced) => {
                    let mut r = http::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(
                        b"sidecarset injection caches not synced yet",
                    )));
                    *r.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
                    r
                }
            }
        }
    })
}
