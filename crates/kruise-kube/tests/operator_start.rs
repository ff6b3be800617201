//! The `kruise-operator` binary's start: a health/metrics port that cannot be bound or a
//! webhook certificate that cannot be loaded fails it (issue 12 item 5; it used to log the
//! bind error and run on without health endpoints), and with `--webhook-cert-dir` it serves
//! the admission webhooks over HTTPS (issue 12 item 3).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kruise-op-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A kubeconfig that loads fine (nothing listens there; the client connects lazily).
fn kubeconfig(dir: &Path) -> PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"http://127.0.0.1:9\"}\n\
         users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n\
         current-context: x\n",
    )
    .unwrap();
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn operator(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kruise-operator"))
        .args(["--leader-elect=false", "--namespace", "default"])
        .args(args)
        .env("KUBECONFIG", kubeconfig(dir))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KRUISE_WEBHOOK_CERT_DIR")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits up to 20 s for `child` to exit; returns its success and everything it logged
/// (killing it if it did not exit).
fn exit_of(mut child: Child) -> (Option<bool>, String) {
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s.success());
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    (status, format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn busy_health_port_fails_the_start() {
    let dir = temp_dir("busy");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let (status, log) = exit_of(operator(&dir, &["--http-addr", &addr]));
    assert_eq!(status, Some(false), "still running (or succeeded) with {addr} taken:\n{log}");
    assert!(log.contains("cannot bind the health/metrics port"), "{log}");
    drop(busy);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_webhook_certificate_fails_the_start() {
    let dir = temp_dir("nocert");
    let http = format!("127.0.0.1:{}", free_port());
    let certs = dir.join("certs");
    let (status, log) =
        exit_of(operator(&dir, &["--http-addr", &http, "--webhook-cert-dir", &certs.to_string_lossy()]));
    assert_eq!(status, Some(false), "{log}");
    assert!(log.contains("cannot load the webhook serving certificate") && log.contains("tls.crt"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The real binary, given a certificate directory, answers an AdmissionReview over HTTPS.
#[tokio::test]
async fn operator_serves_the_webhooks_over_https() {
    let dir = temp_dir("webhook");
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let (cert, key, der) = support::https::certificate();
    std::fs::write(certs.join("tls.crt"), cert).unwrap();
    std::fs::write(certs.join("tls.key"), key).unwrap();
    let (http, hook) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    let mut child = operator(
        &dir,
        &["--http-addr", &http, "--webhook-addr", &hook, "--webhook-cert-dir", &certs.to_string_lossy()],
    );
    let body = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/admission/cloneset-create-selector-mismatch.json"),
    )
    .unwrap();
    let addr = hook.parse().unwrap();
    let mut answer = None;
    for _ in 0..200 {
        if let Ok(a) =
            support::https::call(addr, &der, "POST", kruise_kube::webhook::VALIDATE_PATH, &body).await
        {
            answer = Some(a);
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let (status, body, _) = answer.unwrap_or_else(|| panic!("no webhook answer:\n{log}"));
    assert_eq!(status, 200, "{log}");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["response"]["allowed"], json!(false), "{v}");
    assert_eq!(v["response"]["status"]["code"], json!(422), "{v}");
    let _ = std::fs::remove_dir_all(&dir);
}
