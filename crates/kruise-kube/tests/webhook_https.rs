//! Issue 12 item 3: the admission webhooks over real HTTPS on loopback, with a certificate
//! generated for the test, answering AdmissionReview bodies recorded in the API server's shape
//! (`tests/data/admission/`); the serving certificate is reloaded when its files change.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use kruise_kube::http::{Health, HttpServer};
use kruise_kube::metrics::Metrics;
use kruise_kube::tls::CertReloader;
use kruise_kube::webhook::{self, MUTATE_PATH, VALIDATE_PATH};
use rustls::pki_types::CertificateDer;
use serde_json::{Value, json};
use support::https::{call, certificate};

fn data(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/admission").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

struct Webhook {
    addr: SocketAddr,
    dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Webhook {
    async fn start(tag: &str, cert: &str, key: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kruise-webhook-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_pair(&dir, cert, key);
        let certs = CertReloader::from_dir(&dir).unwrap();
        let server = webhook::routes(HttpServer::new(Arc::new(Health::default()), Arc::new(Metrics::new())));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.serve_tls(listener, certs, Duration::from_millis(50), async move {
            let _ = rx.await;
        }));
        Self { addr, dir, stop: Some(tx), task }
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        assert!(self.task.await.unwrap().is_ok());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write_pair(dir: &Path, cert: &str, key: &str) {
    std::fs::write(dir.join("tls.key"), key).unwrap();
    std::fs::write(dir.join("tls.crt"), cert).unwrap();
}

async fn review(addr: SocketAddr, trust: &CertificateDer<'static>, path: &str, file: &str) -> Value {
    let (status, body, _) = call(addr, trust, "POST", path, &data(file)).await.unwrap();
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

fn denied(resp: &Value, code: u64, needle: &str) {
    assert_eq!(resp["allowed"], json!(false), "{resp}");
    assert_eq!(resp["status"]["code"], json!(code), "{resp}");
    let msg = resp["status"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
}

/// The validating webhook: what `kruise validate` rejects is refused with 422 and the field
/// path; valid objects, valid updates and kinds that are not ours pass.
#[tokio::test]
async fn validating_webhook_over_https() {
    let (cert, key, der) = certificate();
    let hook = Webhook::start("validate", &cert, &key).await;
    let a = hook.addr;

    let ok = review(a, &der, VALIDATE_PATH, "cloneset-create-ok.json").await;
    assert_eq!(ok["allowed"], json!(true), "{ok}");
    assert!(ok.get("patch").is_none());

    let r = review(a, &der, VALIDATE_PATH, "cloneset-create-selector-mismatch.json").await;
    denied(&r, 422, "spec.template.metadata.labels");
    assert_eq!(r["status"]["reason"], json!("Invalid"));
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with(r#"CloneSet.apps.kruise.io "nginxweb1" is invalid"#)
    );
    denied(
        &review(a, &der, VALIDATE_PATH, "cloneset-create-scale-max-unavailable.json").await,
        422,
        "spec.scaleStrategy.maxUnavailable",
    );
    // CS-20: the selector is immutable; replicas may change.
    denied(&review(a, &der, VALIDATE_PATH, "cloneset-update-selector.json").await, 422, "spec: Forbidden");
    assert_eq!(review(a, &der, VALIDATE_PATH, "cloneset-update-replicas.json").await["allowed"], json!(true));
    denied(
        &review(a, &der, VALIDATE_PATH, "statefulset-create-negative-replicas.json").await,
        422,
        "spec.replicas",
    );
    // An object that does not decode as its kind is refused with 400; other kinds pass.
    denied(
        &review(a, &der, VALIDATE_PATH, "cloneset-create-undecodable.json").await,
        400,
        "decoding CloneSet",
    );
    assert_eq!(review(a, &der, VALIDATE_PATH, "deployment-create.json").await["allowed"], json!(true));
    hook.stop().await;
}

/// The mutating webhook: the webhook defaults as a base64 JSON patch that only adds or
/// replaces; applied to the object as sent, it gives the defaulted object with Go's
/// canonical quantities, and keeps everything the user wrote.
#[tokio::test]
async fn mutating_webhook_returns_the_defaults_as_a_json_patch() {
    let (cert, key, der) = certificate();
    let hook = Webhook::start("mutate", &cert, &key).await;
    let r = review(hook.addr, &der, MUTATE_PATH, "cloneset-create-ok.json").await;
    assert_eq!(r["allowed"], json!(true), "{r}");
    assert_eq!(r["patchType"], json!("JSONPatch"));
    let bytes =
        base64::engine::general_purpose::STANDARD.decode(r["patch"].as_str().unwrap_or_default()).unwrap();
    let patch: json_patch::Patch = serde_json::from_slice(&bytes).unwrap();
    assert!(
        patch.0.iter().all(|op| !matches!(op, json_patch::PatchOperation::Remove(_))),
        "a defaulting patch never removes: {patch:?}"
    );
    let sent: Value = serde_json::from_slice(&data("cloneset-create-ok.json")).unwrap();
    let mut obj = sent["request"]["object"].clone();
    json_patch::patch(&mut obj, &patch).unwrap();
    let spec = &obj["spec"];
    assert_eq!(spec["revisionHistoryLimit"], json!(10));
    assert_eq!(spec["updateStrategy"]["type"], json!("ReCreate"));
    assert_eq!(spec["updateStrategy"]["maxUnavailable"], json!("20%"));
    let c = &spec["template"]["spec"]["containers"][0];
    assert_eq!(c["resources"]["requests"], json!({"cpu": "500m", "memory": "1536Mi"}));
    assert_eq!(c["resources"]["limits"], json!({"cpu": "1"}));
    assert_eq!(c["imagePullPolicy"], json!("IfNotPresent"), "what the user wrote stays");
    assert_eq!(c["ports"][0]["protocol"], json!("TCP"));
    assert_eq!(spec["template"]["spec"]["restartPolicy"], json!("Always"));
    assert_eq!(obj["metadata"]["managedFields"], sent["request"]["object"]["metadata"]["managedFields"]);
    // Defaulting an already defaulted object changes nothing: no patch.
    let mut again: Value = sent.clone();
    again["request"]["object"] = obj;
    let (status, body, _) =
        call(hook.addr, &der, "POST", MUTATE_PATH, &serde_json::to_vec(&again).unwrap()).await.unwrap();
    assert_eq!(status, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["response"].get("patch").is_none(), "{v}");
    // Not ours: untouched.
    assert!(review(hook.addr, &der, MUTATE_PATH, "deployment-create.json").await.get("patch").is_none());
    hook.stop().await;
}

/// Malformed calls get a clear 400 (or 405), never a panic; the server keeps serving.
#[tokio::test]
async fn malformed_reviews_are_400() {
    let (cert, key, der) = certificate();
    let hook = Webhook::start("malformed", &cert, &key).await;
    let a = hook.addr;
    let cases: [(&[u8], &str); 5] = [
        (b"not json", "not an AdmissionReview"),
        (
            br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}"#,
            "only admission.k8s.io/v1",
        ),
        (br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#, "no request"),
        (
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":7}}"#,
            "not an AdmissionReview",
        ),
        (br#"[1,2,3]"#, "only admission.k8s.io/v1"),
    ];
    for path in [VALIDATE_PATH, MUTATE_PATH] {
        for (body, needle) in cases {
            let (status, out, _) = call(a, &der, "POST", path, body).await.unwrap();
            assert_eq!(status, 400, "{}", String::from_utf8_lossy(body));
            let v: Value = serde_json::from_slice(&out).unwrap();
            assert_eq!((v["kind"].as_str(), v["code"].as_u64()), (Some("Status"), Some(400)));
            let msg = v["message"].as_str().unwrap_or_default();
            assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
        }
        let (status, _, _) = call(a, &der, "GET", path, b"").await.unwrap();
        assert_eq!(status, 405);
    }
    assert_eq!(review(a, &der, VALIDATE_PATH, "cloneset-create-ok.json").await["allowed"], json!(true));
    hook.stop().await;
}

/// A rotated certificate (the Secret's files rewritten) is served without a restart; a
/// broken pair is ignored and the last good one kept.
#[tokio::test]
async fn serving_certificate_is_reloaded_when_its_files_change() {
    let (cert1, key1, der1) = certificate();
    let hook = Webhook::start("reload", &cert1, &key1).await;
    let (_, _, served) = call(hook.addr, &der1, "GET", "/healthz", b"").await.unwrap();
    assert_eq!(served, der1);

    std::fs::write(hook.dir.join("tls.crt"), "garbage").unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, _, served) = call(hook.addr, &der1, "GET", "/healthz", b"").await.unwrap();
    assert_eq!((status, served), (200, der1.clone()), "broken files: the old pair stays");

    let (cert2, key2, der2) = certificate();
    write_pair(&hook.dir, &cert2, &key2);
    let mut served = der1.clone();
    for _ in 0..100 {
        if let Ok((_, _, s)) = call(hook.addr, &der2, "GET", "/healthz", b"").await {
            served = s;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(served, der2, "the new certificate is served");
    assert!(call(hook.addr, &der1, "GET", "/healthz", b"").await.is_err(), "the old one is gone");
    hook.stop().await;
}

/// Loading fails clearly on missing or mismatched files.
#[test]
fn cert_loading_errors_name_the_file() {
    let dir = std::env::temp_dir().join(format!("kruise-webhook-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let e = CertReloader::from_dir(&dir.join("absent")).unwrap_err().to_string();
    assert!(e.contains("tls.crt"), "{e}");
    let (cert1, _, _) = certificate();
    let (_, key2, _) = certificate();
    write_pair(&dir, &cert1, &key2);
    let e = CertReloader::from_dir(&dir).unwrap_err().to_string();
    assert!(e.contains("tls.key") && e.contains("does not match"), "{e}");
    write_pair(&dir, "no pem here", &key2);
    let e = CertReloader::from_dir(&dir).unwrap_err().to_string();
    assert!(e.contains("no PEM certificate"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
