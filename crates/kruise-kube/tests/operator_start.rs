//! Issue 12 item 5: the `kruise-operator` binary fails its start when the health/metrics port
//! cannot be bound (it used to log the error and run on without health endpoints).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn busy_health_port_fails_the_start() {
    let dir = std::env::temp_dir().join(format!("kruise-op-start-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A kubeconfig that loads fine (nothing listens there; the client connects lazily).
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"http://127.0.0.1:9\"}\n\
         users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n\
         current-context: x\n",
    )
    .unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kruise-operator"))
        .args(["--leader-elect=false", "--http-addr", &addr.to_string(), "--namespace", "default"])
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let status = status.unwrap_or_else(|| panic!("still running with {addr} taken:\n{log}"));
    assert!(!status.success(), "{log}");
    assert!(log.contains("cannot bind the health/metrics port"), "{log}");
    drop(busy);
    let _ = std::fs::remove_dir_all(&dir);
}
