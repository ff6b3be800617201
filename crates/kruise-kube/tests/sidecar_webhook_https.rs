//! Issue 15: the SidecarSet injection webhook (`/mutate-pod-sidecarset`) over real HTTPS on
//! loopback with a generated certificate, answering pod AdmissionReview bodies recorded in the
//! API server's shape (`tests/data/admission/pod-*.json`, pods with the fields the API server
//! defaults before mutating webhooks run). The SidecarSet is the repository's example
//! (`examples/plan/sidecarset/sidecarset.yaml`), fed to the handler through a fixed source.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kruise_api::apps::v1beta1::SidecarSet;
use kruise_core::features::Features;
use kruise_core::sidecarset::{InjectInput, Operation, inject};
use kruise_kube::http::{Health, HttpServer};
use kruise_kube::metrics::Metrics;
use kruise_kube::sidecar_webhook::{
    self, InjectionData, InjectionSource, POD_INJECT_PATH, PodInjector, StaticSource,
};
use kruise_kube::tls::CertReloader;
use rustls::pki_types::CertificateDer;
use serde_json::{Value, json};
use support::https::{call, certificate};

const NOW: &str = "2026-12-07T09:00:00Z";

fn data(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/admission").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The example SidecarSet (log agent with shared volumes and env, hot-upgraded envoy, an init
/// container, a pull secret, pod metadata), defaulted as the SidecarSet webhook stores it.
fn sidecarset() -> SidecarSet {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/plan/sidecarset/sidecarset.yaml");
    let text = std::fs::read_to_string(&p).unwrap();
    let mut ss: SidecarSet = serde_saphyr::from_str(&text).unwrap();
    kruise_api::defaults::default(&mut ss);
    ss
}

fn source() -> StaticSource {
    let shop = BTreeMap::from([("kubernetes.io/metadata.name".to_owned(), "shop".to_owned())]);
    StaticSource {
        sidecarsets: vec![sidecarset()],
        revisions: Vec::new(),
        namespaces: BTreeMap::from([("shop".to_owned(), shop)]),
    }
}

struct Hook {
    addr: SocketAddr,
    dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Hook {
    async fn start(tag: &str, source: Arc<dyn InjectionSource>) -> (Self, CertificateDer<'static>) {
        let (cert, key, der) = certificate();
        let dir = std::env::temp_dir().join(format!("kruise-sidecar-webhook-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("tls.key"), key).unwrap();
        std::fs::write(dir.join("tls.crt"), cert).unwrap();
        let certs = CertReloader::from_dir(&dir).unwrap();
        let injector =
            PodInjector::new(source, Features::default()).with_clock(NOW.parse().unwrap()).with_seed(0);
        let server = kruise_kube::webhook::routes(HttpServer::new(
            Arc::new(Health::default()),
            Arc::new(Metrics::new()),
        ));
        let server = sidecar_webhook::routes(server, Arc::new(injector));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.serve_tls(listener, certs, Duration::from_millis(50), async move {
            let _ = rx.await;
        }));
        (Self { addr, dir, stop: Some(tx), task }, der)
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        assert!(self.task.await.unwrap().is_ok());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn review(addr: SocketAddr, trust: &CertificateDer<'static>, file: &str) -> Value {
    let (status, body, _) = call(addr, trust, "POST", POD_INJECT_PATH, &data(file)).await.unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (v["apiVersion"].as_str(), v["kind"].as_str()),
        (Some("admission.k8s.io/v1"), Some("AdmissionReview"))
    );
    let sent: Value = serde_json::from_slice(&data(file)).unwrap();
    assert_eq!(v["response"]["uid"], sent["request"]["uid"], "uid echoed");
    v["response"].clone()
}

fn untouched(resp: &Value) {
    assert_eq!(resp["allowed"], json!(true), "{resp}");
    assert!(resp.get("patch").is_none() && resp.get("patchType").is_none(), "{resp}");
}

/// SCS-9, SCS-17: a pod being created that the SidecarSet selects gets injection's RFC 6902
/// patch; applied to the pod exactly as sent, it gives the pod `kruise inject` prints (the
/// same `sidecarset::inject` over the same inputs), and keeps every field the API server set.
#[tokio::test]
async fn scs_9_matching_pod_gets_the_injection_patch() {
    let (hook, der) = Hook::start("match", Arc::new(source())).await;
    let r = review(hook.addr, &der, "pod-create-matching.json").await;
    assert_eq!(r["allowed"], json!(true), "{r}");
    assert_eq!(r["patchType"], json!("JSONPatch"));
    let bytes =
        base64::engine::general_purpose::STANDARD.decode(r["patch"].as_str().unwrap_or_default()).unwrap();
    let patch: json_patch::Patch = serde_json::from_slice(&bytes).unwrap();
    assert!(
        patch.0.iter().all(|op| matches!(
            op,
            json_patch::PatchOperation::Add(_) | json_patch::PatchOperation::Replace(_)
        ))
    );
    let sent: Value = serde_json::from_slice(&data("pod-create-matching.json")).unwrap();
    let mut obj = sent["request"]["object"].clone();
    json_patch::patch(&mut obj, &patch).expect("the patch applies to the pod as sent");

    // What `kruise inject` computes for the same pod and SidecarSet.
    let pod: Pod = serde_json::from_value(sent["request"]["object"].clone()).unwrap();
    let ns = BTreeMap::from([("kubernetes.io/metadata.name".to_owned(), "shop".to_owned())]);
    let expected = inject(&InjectInput {
        pod: &pod,
        operation: Operation::Create,
        namespace_labels: Some(&ns),
        sidecarsets: &[sidecarset()],
        revisions: &[],
        now: NOW.parse::<Timestamp>().unwrap(),
        seed: 0,
        features: Features::default(),
    })
    .unwrap();
    let admitted: Pod = serde_json::from_value(obj.clone()).unwrap();
    assert_eq!(admitted, expected.pod, "the webhook admits the pod `kruise inject` prints");

    let names: Vec<&str> =
        obj["spec"]["containers"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["envoy-1", "envoy-2", "nginx", "log-agent"]);
    assert_eq!(obj["spec"]["initContainers"][0]["name"], json!("init-certs"));
    let a = &obj["metadata"]["annotations"];
    assert_eq!(a["kruise.io/sidecarset-injected-list"], json!("web-sidecars"));
    assert_eq!(a["example.com/owner"], json!("team-web"), "existing annotations stay");
    assert_eq!(a["sidecar.example.com/log"], json!("enabled"));
    assert!(a["kruise.io/sidecarset-hash"].as_str().unwrap().contains("\"web-sidecars\""));
    // What the API server defaulted before the webhook is kept.
    assert_eq!(obj["spec"]["tolerations"], sent["request"]["object"]["spec"]["tolerations"]);
    assert_eq!(obj["metadata"]["managedFields"], sent["request"]["object"]["metadata"]["managedFields"]);
    assert_eq!(obj["metadata"]["generateName"], json!("web-"));
    // The shared volume: the log agent mounts the app's volumes (shareVolumePolicy).
    let agent =
        obj["spec"]["containers"].as_array().unwrap().iter().find(|c| c["name"] == "log-agent").unwrap();
    let mounts: Vec<&str> =
        agent["volumeMounts"].as_array().unwrap().iter().filter_map(|m| m["name"].as_str()).collect();
    assert!(mounts.contains(&"html") && mounts.contains(&"agent-conf"), "{mounts:?}");
    hook.stop().await;
}

/// SCS-11: a pod no SidecarSet selects is allowed without a patch; so is a pod of a
/// Namespace the source does not know when the SidecarSet has a `namespaceSelector`.
#[tokio::test]
async fn scs_11_pod_not_selected_is_untouched() {
    let (hook, der) = Hook::start("nomatch", Arc::new(source())).await;
    untouched(&review(hook.addr, &der, "pod-create-not-matching.json").await);
    hook.stop().await;

    let mut src = source();
    src.sidecarsets[0].spec.namespace_selector =
        Some(serde_json::from_value(json!({"matchLabels": {"team": "shop"}})).unwrap());
    let (hook, der) = Hook::start("nsselector", Arc::new(src)).await;
    untouched(&review(hook.addr, &der, "pod-create-matching.json").await);
    hook.stop().await;
}

/// SCS-10: an UPDATE of an existing pod is allowed untouched, even when it is selected.
#[tokio::test]
async fn scs_10_update_is_untouched() {
    let (hook, der) = Hook::start("update", Arc::new(source())).await;
    untouched(&review(hook.addr, &der, "pod-update.json").await);
    hook.stop().await;
}

/// A malformed body gets a clear 400 (a Status naming the problem), a pod that does not
/// decode is refused with 400 in the review, GET is 405; the server keeps serving.
#[tokio::test]
async fn malformed_pod_reviews_are_400() {
    let (hook, der) = Hook::start("malformed", Arc::new(source())).await;
    let a = hook.addr;
    for (body, needle) in [
        (data("pod-malformed.json"), "not an AdmissionReview"),
        (b"{}".to_vec(), "only admission.k8s.io/v1"),
        (br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#.to_vec(), "no request"),
    ] {
        let (status, out, _) = call(a, &der, "POST", POD_INJECT_PATH, &body).await.unwrap();
        assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!((v["kind"].as_str(), v["code"].as_u64()), (Some("Status"), Some(400)));
        assert!(v["message"].as_str().unwrap_or_default().contains(needle), "{v}");
    }
    let r = review(a, &der, "pod-create-undecodable.json").await;
    assert_eq!(r["allowed"], json!(false), "{r}");
    assert_eq!(r["status"]["code"], json!(400));
    assert!(r["status"]["message"].as_str().unwrap_or_default().contains("decoding the Pod"), "{r}");
    let (status, _, _) = call(a, &der, "GET", POD_INJECT_PATH, b"").await.unwrap();
    assert_eq!(status, 405);
    assert_eq!(review(a, &der, "pod-create-matching.json").await["allowed"], json!(true));
    hook.stop().await;
}

/// A source without data yet (caches not listed) makes the webhook answer 503, so the
/// configuration's failurePolicy decides; an injection error refuses the pod naming the field.
#[tokio::test]
async fn unsynced_source_is_503_and_injection_errors_refuse() {
    struct NotYet;
    impl InjectionSource for NotYet {
        fn data(&self, _: &str) -> Option<InjectionData> {
            None
        }
    }
    let (hook, der) = Hook::start("unsynced", Arc::new(NotYet)).await;
    let (status, body, _) =
        call(hook.addr, &der, "POST", POD_INJECT_PATH, &data("pod-create-matching.json")).await.unwrap();
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    hook.stop().await;

    let mut src = source();
    src.sidecarsets[0].spec.injection_strategy.revision = Some(
        serde_json::from_value(json!({"revisionName": "web-sidecars-absent", "policy": "Always"})).unwrap(),
    );
    let (hook, der) = Hook::start("injecterr", Arc::new(src)).await;
    let r = review(hook.addr, &der, "pod-create-matching.json").await;
    assert_eq!(r["allowed"], json!(false), "{r}");
    assert_eq!(r["status"]["code"], json!(500));
    let msg = r["status"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("web-sidecars-absent") && msg.contains("injectionStrategy.revision"), "{msg}");
    hook.stop().await;
}
