//! End-to-end runs of the seed walk-through (`examples/seed/`, `examples/seed/README.md` in the
//! shared docs) against any kubeconfig:
//!
//! - `seed_walkthrough_on_kruise_serve` (runs in CI): starts `kruise serve` in-process, runs the
//!   real `kruise-operator` binary against it as a child process, and walks the seed with
//!   `minReadySeconds` scaled down from 30 s to 4 s (the walk takes about a minute instead of
//!   five; the expectations are the same, with 4 s wherever the seed says 30 s);
//! - `seed_walkthrough_on_a_live_cluster`: the same walk, manifests unchanged, against a real
//!   cluster. Ignored by default; it runs only when `KRUISE_E2E_KUBECONFIG` names a kubeconfig:
//!
//! ```text
//! kubectl apply -f deploy/crds/ && kubectl apply -k deploy/operator/   # or run the operator locally:
//! cargo run -p kruise-kube --bin kruise-operator -- --leader-elect=false
//! KRUISE_E2E_KUBECONFIG=$HOME/.kube/config cargo test -p kruise-kube --test e2e_seed -- --ignored --nocapture
//! ```
//!
//! The CloneSet (v1alpha1, as written) is applied (server-side apply, field manager `kruise-e2e`) in the namespace
//! `KRUISE_E2E_NAMESPACE` (default `kruise-e2e`, created if missing) and deleted at the end.
//! OpenKruise's kruise-manager must not run on that cluster (see `deploy/README.md`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Value, json};

const NAME: &str = "nginxweb1";

/// The walk's clock: `minReadySeconds` as the seed manifests write it (30) on a live cluster,
/// scaled down on the served one; how long step 05 checks that the partition holds; how long
/// any one step may take.
#[derive(Clone, Copy, Debug)]
struct Timing {
    min_ready: i64,
    hold: Duration,
    step_timeout: Duration,
}

const LIVE: Timing =
    Timing { min_ready: 30, hold: Duration::from_secs(40), step_timeout: Duration::from_secs(420) };

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A seed manifest exactly as written for OpenKruise (`apps.kruise.io/v1alpha1`), placed in
/// namespace `ns`. Our CRDs serve and store v1alpha1 and the operator reads it (CS-1), so no
/// conversion is needed.
fn seed(file: &str, ns: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed").join(file);
    let mut v: Value = serde_saphyr::from_str(&std::fs::read_to_string(p)?)?;
    v["metadata"]["namespace"] = json!(ns);
    Ok(v)
}

struct Env {
    ns: String,
    cloneset: Api<DynamicObject>,
    pods: Api<Pod>,
    timing: Timing,
}

impl Env {
    /// A seed manifest in this run's namespace, `minReadySeconds` as this run's timing says.
    fn seed(&self, file: &str) -> Result<Value, Box<dyn std::error::Error>> {
        let mut v = seed(file, &self.ns)?;
        if self.timing.min_ready != LIVE.min_ready && v["spec"].get("minReadySeconds").is_some() {
            v["spec"]["minReadySeconds"] = json!(self.timing.min_ready);
        }
        Ok(v)
    }

    async fn apply(&self, manifest: Value) -> TestResult {
        let pp = PatchParams::apply("kruise-e2e").force();
        self.cloneset.patch(NAME, &pp, &Patch::Apply(&manifest)).await?;
        Ok(())
    }

    async fn uid(&self) -> Result<String, Box<dyn std::error::Error>> {
        Ok(self.cloneset.get(NAME).await?.metadata.uid.unwrap_or_default())
    }

    /// Active pods controlled by the CloneSet, by name.
    async fn pods(&self) -> Result<BTreeMap<String, Pod>, Box<dyn std::error::Error>> {
        let uid = self.uid().await?;
        let list = self.pods.list(&ListParams::default().labels(&format!("app={NAME}"))).await?;
        Ok(list
            .items
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .filter(|p| {
                p.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|r| r.uid == uid && r.controller == Some(true))
            })
            .filter_map(|p| Some((p.metadata.name.clone()?, p)))
            .collect())
    }

    /// Polls `check` every half second until it returns `Some`, failing after the step timeout.
    async fn wait<T, F, Fut>(&self, what: &str, mut check: F) -> Result<T, Box<dyn std::error::Error>>
    where
        F: FnMut(BTreeMap<String, Pod>) -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, Box<dyn std::error::Error>>>,
    {
        let deadline = tokio::time::Instant::now() + self.timing.step_timeout;
        loop {
            if let Some(t) = check(self.pods().await?).await? {
                eprintln!("ok: {what}");
                return Ok(t);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("timed out waiting for: {what}").into());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

fn image(p: &Pod) -> String {
    p.spec.as_ref().and_then(|s| s.containers.first()).and_then(|c| c.image.clone()).unwrap_or_default()
}

/// Ready for at least `min_ready` seconds.
fn available(p: &Pod, min_ready: i64, now: Timestamp) -> bool {
    p.status.as_ref().and_then(|s| s.conditions.as_ref()).is_some_and(|cs| {
        cs.iter().any(|c| {
            c.type_ == "Ready"
                && c.status == "True"
                && c.last_transition_time
                    .as_ref()
                    .is_some_and(|t| now.as_second() - t.0.as_second() >= min_ready)
        })
    })
}

fn restarts(p: &Pod) -> i32 {
    p.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| cs.iter().map(|c| c.restart_count).sum())
}

#[tokio::test]
#[ignore = "needs a cluster: set KRUISE_E2E_KUBECONFIG"]
async fn seed_walkthrough_on_a_live_cluster() -> TestResult {
    let Ok(path) = std::env::var("KRUISE_E2E_KUBECONFIG") else {
        eprintln!("KRUISE_E2E_KUBECONFIG not set; skipping");
        return Ok(());
    };
    let config =
        Config::from_custom_kubeconfig(Kubeconfig::read_from(path)?, &KubeConfigOptions::default()).await?;
    let ns = std::env::var("KRUISE_E2E_NAMESPACE").unwrap_or_else(|_| "kruise-e2e".to_owned());
    run_walkthrough(Client::try_from(config)?, &ns, LIVE).await
}

/// Creates the namespace, walks the seed, deletes the CloneSet.
async fn run_walkthrough(client: Client, ns: &str, timing: Timing) -> TestResult {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .patch(
            ns,
            &PatchParams::apply("kruise-e2e"),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})),
        )
        .await?;
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("apps.kruise.io", "v1alpha1", "CloneSet"));
    let env = Env {
        ns: ns.to_owned(),
        cloneset: Api::namespaced_with(client.clone(), ns, &ar),
        pods: Api::namespaced(client, ns),
        timing,
    };
    let result = walkthrough(&env).await;
    let _ = env.cloneset.delete(NAME, &DeleteParams::foreground()).await;
    result
}

/// The served cluster's walk: `minReadySeconds` 4 s instead of 30 s.
const SERVED: Timing =
    Timing { min_ready: 4, hold: Duration::from_secs(8), step_timeout: Duration::from_secs(45) };

/// The operator binary as a child process, killed when dropped; its log goes to a file that is
/// printed when the test fails.
struct Operator {
    child: std::process::Child,
    log: PathBuf,
}

impl Operator {
    fn start(
        kubeconfig: &std::path::Path,
        http_port: u16,
        log: PathBuf,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let out = std::fs::File::create(&log)?;
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_kruise-operator"))
            .env_clear()
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info,kube=warn")
            .env("NO_COLOR", "1")
            .args(["--http-addr", &format!("127.0.0.1:{http_port}")])
            .args(["--leader-election-namespace", "kube-system", "--identity", "e2e-operator"])
            .args(["--lease-duration", "4", "--renew-deadline", "3", "--retry-period", "1"])
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?;
        Ok(Self { child, log })
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, Box<dyn std::error::Error>> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Polls the operator's `/readyz` until it answers 200.
async fn wait_ready(port: u16, within: Duration) -> TestResult {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            let req = format!("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
            let mut buf = Vec::new();
            if s.write_all(req.as_bytes()).await.is_ok()
                && s.read_to_end(&mut buf).await.is_ok()
                && String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200")
            {
                return Ok(());
            }
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("the operator's /readyz did not answer 200 within {within:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Issue 12 item 1 and the CI proof: the real operator binary against `kruise serve`. It must
/// report its caches synced (before the fix, `/readyz` stayed 503 and nothing was ever
/// reconciled) and then take the seed CloneSet through the whole walk-through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_walkthrough_on_kruise_serve() -> TestResult {
    let mut config = kruise_serve::ServeConfig::default().with_nodes(3);
    let fast = kruise_sim::time::Dur::millis;
    config.sim.kubelet.default_pull = fast(1000);
    config.sim.kubelet.start_delay = fast(300);
    config.sim.kubelet.ready_delay = fast(300);
    config.sim.kubelet.stop_time = fast(500);
    config.bookmark_every = Duration::from_secs(2);
    let served = kruise_serve::serve(config).await?;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-serve-{}", served.addr().port()));
    std::fs::create_dir_all(&dir)?;
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, served.kubeconfig())?;
    let http_port = free_port()?;
    let operator = Operator::start(&kubeconfig, http_port, dir.join("operator.log"))?;
    let client = Client::try_from(
        Config::from_custom_kubeconfig(
            Kubeconfig::from_yaml(&served.kubeconfig())?,
            &KubeConfigOptions::default(),
        )
        .await?,
    )?;
    let walk = async {
        wait_ready(http_port, Duration::from_secs(30)).await?;
        eprintln!("ok: the operator is ready (caches synced)");
        run_walkthrough(client, "kruise-e2e", SERVED).await
    };
    let result = match tokio::time::timeout(Duration::from_secs(170), walk).await {
        Ok(r) => r,
        Err(_) => Err("the walk-through took more than 170 s".into()),
    };
    if let Err(e) = &result {
        eprintln!("operator log (last lines):\n{}", operator.log_tail());
        eprintln!("failed: {e}");
    }
    drop(operator);
    served.stop().await;
    result
}

async fn walkthrough(env: &Env) -> TestResult {
    // 01: three pods, controlled directly by the CloneSet (no ReplicaSet in between).
    let min_ready = env.timing.min_ready;
    env.apply(env.seed("01-ok.yaml")?).await?;
    env.wait("01: 3 pods owned by the CloneSet", |pods| async move {
        let direct = pods.values().all(|p| {
            p.metadata
                .owner_references
                .iter()
                .flatten()
                .all(|r| r.kind == "CloneSet" && r.api_version == "apps.kruise.io/v1alpha1")
        });
        Ok((pods.len() == 3 && direct).then_some(()))
    })
    .await?;
    // Settled: ready for minReadySeconds, so that step 02 counts only its new pods as unavailable.
    env.wait("01: 3 pods ready for minReadySeconds", |pods| async move {
        let now = Timestamp::now();
        Ok((pods.values().filter(|p| available(p, min_ready, now)).count() == 3).then_some(()))
    })
    .await?;

    // 02: replicas 5, minReadySeconds 30, maxUnavailable 1: new pods come one at a time.
    env.apply(env.seed("02-ok.yaml")?).await?;
    env.wait("02: 5 pods, never more than 1 unavailable", |pods| async move {
        let now = Timestamp::now();
        let unavailable = pods.values().filter(|p| !available(p, min_ready, now)).count();
        if unavailable > 1 {
            return Err(format!("02: {unavailable} pods unavailable at once (maxUnavailable 1)").into());
        }
        Ok((pods.len() == 5 && unavailable == 0).then_some(()))
    })
    .await?;

    // 03: replicas 4 and podsToDelete: exactly the named pod goes.
    let before = env.pods().await?;
    let victim = before.keys().next().cloned().ok_or("no pods")?;
    let mut m03 = env.seed("03-ok.yaml")?;
    m03["spec"]["scaleStrategy"]["podsToDelete"] = json!([victim]);
    assert!(m03["apiVersion"] == "apps.kruise.io/v1alpha1");
    env.apply(m03).await?;
    let survivors: Vec<String> = before.keys().filter(|n| **n != victim).cloned().collect();
    let kept = survivors.clone();
    env.wait("03: the named pod deleted, the other 4 kept", move |pods| {
        let kept = kept.clone();
        async move {
            let names: Vec<String> = pods.keys().cloned().collect();
            Ok((names == kept).then_some(()))
        }
    })
    .await?;

    // 04: InPlaceIfPossible, nginx:latest: same pods (names, uids, nodes), new image, restarted.
    let before = env.pods().await?;
    env.apply(env.seed("04-ok.yaml")?).await?;
    let expected = before.clone();
    env.wait("04: all pods updated in place to nginx:latest", move |pods| {
        let expected = expected.clone();
        async move {
            let same = pods.len() == expected.len()
                && pods.iter().all(|(n, p)| {
                    expected.get(n).is_some_and(|b| {
                        b.metadata.uid == p.metadata.uid
                            && b.spec.as_ref().and_then(|s| s.node_name.clone())
                                == p.spec.as_ref().and_then(|s| s.node_name.clone())
                    })
                });
            if !same && pods.len() == expected.len() {
                return Err("04: pods were recreated, not updated in place".into());
            }
            let done = pods.values().all(|p| {
                image(p) == "nginx:latest"
                    && restarts(p) > restarts(&expected[p.metadata.name.as_deref().unwrap_or_default()])
            });
            Ok((same && done).then_some(()))
        }
    })
    .await?;

    // 05: partition 2, image back to nginx:1.20: only 2 of 4 pods move; 2 stay.
    env.apply(env.seed("05-ok.yaml")?).await?;
    env.wait("05: 2 pods on nginx:1.20, 2 kept on nginx:latest", |pods| async move {
        let new = pods.values().filter(|p| image(p) == "nginx:1.20").count();
        let old = pods.values().filter(|p| image(p) == "nginx:latest").count();
        Ok((pods.len() == 4 && new == 2 && old == 2).then_some(()))
    })
    .await?;
    // And it stays that way.
    tokio::time::sleep(env.timing.hold).await;
    let pods = env.pods().await?;
    let new = pods.values().filter(|p| image(p) == "nginx:1.20").count();
    assert_eq!((pods.len(), new), (4, 2), "05: partition must hold");
    let names: Vec<String> = pods.keys().cloned().collect();
    assert_eq!(names, survivors, "05: pod names unchanged since 03");
    Ok(())
}

/// The manifests the live test applies (runs without a cluster): the five seeds unchanged but
/// for the namespace, v1alpha1, read by the operator's v1alpha1 type; seed 04's in-place type
/// reaches the planner as v1beta1 `podUpdatePolicy` (CS-1, CS-5).
#[test]
fn cs_1_seed_manifests_are_applied_unchanged_as_v1alpha1() -> TestResult {
    for f in ["01-ok.yaml", "02-ok.yaml", "03-ok.yaml", "04-ok.yaml", "05-ok.yaml"] {
        let v = seed(f, "kruise-e2e")?;
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed").join(f);
        let mut raw: Value = serde_saphyr::from_str(&std::fs::read_to_string(p)?)?;
        raw["metadata"]["namespace"] = json!("kruise-e2e");
        assert_eq!(v, raw, "{f}");
        assert_eq!(v["apiVersion"], json!("apps.kruise.io/v1alpha1"), "{f}");
        let typed: kruise_api::apps::v1alpha1::CloneSet = serde_json::from_value(v)?;
        assert_eq!(typed.metadata.namespace.as_deref(), Some("kruise-e2e"), "{f}");
    }
    let v: kruise_api::apps::v1alpha1::CloneSet = serde_json::from_value(seed("04-ok.yaml", "x")?)?;
    let hub = kruise_core::cloneset::v1alpha1::hub(&v);
    let ru = hub.spec.update_strategy.rolling_update.unwrap_or_default();
    assert_eq!(ru.pod_update_policy.as_deref(), Some("InPlaceIfPossible"));
    Ok(())
}
