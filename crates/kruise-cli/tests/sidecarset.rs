//! `kruise inject` and `kruise plan` for a SidecarSet (SCS-n), on the example in
//! `examples/plan/sidecarset`: the admitted pod, the RFC 6902 patch, the decisions on stderr,
//! the plan's JSON contract and table, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const NOW: &str = "2026-01-01T01:00:00Z";
const EX: &str = "examples/plan/sidecarset";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn kruise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kruise")).args(args).current_dir(root()).output().unwrap()
}

fn f(name: &str) -> String {
    format!("{EX}/{name}")
}

fn ok(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn scs_20_inject_prints_the_admitted_pod() {
    let out = kruise(&[
        "inject",
        "--sidecarsets",
        &f("sidecarset.yaml"),
        &f("pod.yaml"),
        "--now",
        NOW,
        "-o",
        "json",
    ]);
    ok(&out);
    let pod: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> =
        pod["spec"]["containers"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["envoy-1", "envoy-2", "nginx", "log-agent"]);
    assert_eq!(pod["spec"]["initContainers"][0]["name"], "init-certs");
    assert_eq!(pod["spec"]["imagePullSecrets"][0]["name"], "registry");
    assert_eq!(pod["metadata"]["annotations"]["kruise.io/sidecarset-injected-list"], "web-sidecars");
    assert_eq!(pod["metadata"]["annotations"]["sidecar.example.com/log"], "enabled");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sidecarset web-sidecars: injected containers [log-agent, envoy-1, envoy-2] initContainers [init-certs]"),
        "{stderr}"
    );
}

#[test]
fn scs_17_inject_patch_is_rfc_6902() {
    let out = kruise(&[
        "inject",
        "--sidecarsets",
        &f("sidecarset.yaml"),
        &f("pod.yaml"),
        "--now",
        NOW,
        "--patch",
        "-o",
        "json",
    ]);
    ok(&out);
    let patch: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ops = patch.as_array().unwrap();
    assert!(ops.iter().all(|o| matches!(o["op"].as_str(), Some("add" | "replace"))));
    let paths: Vec<&str> = ops.iter().map(|o| o["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"/spec/containers"), "{paths:?}");
    assert!(paths.contains(&"/spec/initContainers"), "{paths:?}");
    assert!(paths.contains(&"/metadata/annotations"), "{paths:?}");
}

#[test]
fn scs_11_inject_reports_skipped_sidecarsets_and_bad_input() {
    let dir = std::env::temp_dir().join(format!("kruise-inject-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pod = dir.join("pod.yaml");
    std::fs::write(&pod, "apiVersion: v1\nkind: Pod\nmetadata: {name: db-0, labels: {app: db}}\nspec: {containers: [{name: db, image: pg}]}\n").unwrap();
    let out =
        kruise(&["inject", "--sidecarsets", &f("sidecarset.yaml"), pod.to_str().unwrap(), "--now", NOW]);
    ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("sidecarset web-sidecars: skipped: selector does not match the pod")
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("sidecarset-hash"), "{text}");
    // Unreadable input: exit 2.
    let out = kruise(&["inject", "--sidecarsets", &f("missing.yaml"), pod.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    // An invalid SidecarSet: exit 1.
    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "apiVersion: apps.kruise.io/v1beta1\nkind: SidecarSet\nmetadata: {name: x}\nspec: {containers: [{name: a, image: b}]}\n").unwrap();
    let out = kruise(&["inject", "--sidecarsets", bad.to_str().unwrap(), pod.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_dir_all(&dir).ok();
}

fn plan(extra: &[&str]) -> Output {
    let (ss, pods) = (f("sidecarset-v2.yaml"), f("pods.json"));
    let mut args = vec!["plan", "--workload", &ss, "--pods", &pods, "--now", NOW];
    args.extend(extra);
    kruise(&args)
}

#[test]
fn scs_44_plan_json_contract() {
    let out = plan(&["-o", "json"]);
    ok(&out);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["now", "seed", "actions", "held", "status", "requeueAfterSeconds", "requeueReason"] {
        assert!(doc.get(key).is_some(), "missing {key}");
    }
    let actions = doc["actions"].as_array().unwrap();
    let ups: Vec<&Value> = actions.iter().filter(|a| a["action"] == "SetSidecarImages").collect();
    assert_eq!(ups.len(), 1, "maxUnavailable 1");
    // A SidecarSet's pods live in many namespaces: actions name them `namespace/name`.
    assert_eq!(ups[0]["pod"], "shop/web-2", "newest pod first (ActivePods order)");
    assert_eq!(ups[0]["images"]["log-agent"], "log-agent:1.1");
    assert_eq!(ups[0]["reason"], "UpgradeSidecars");
    let rev = actions.iter().find(|a| a["action"] == "CreateRevision").unwrap();
    assert_eq!(rev["object"]["metadata"]["labels"]["kruise.io/sidecarset-name"], "web-sidecars");
    assert_eq!(doc["status"]["matchedPods"], 3);
    let held: Vec<&str> =
        doc["held"].as_array().unwrap().iter().map(|h| h["reason"].as_str().unwrap()).collect();
    assert_eq!(held, vec!["MaxUnavailable", "MaxUnavailable"]);
}

#[test]
fn scs_44_plan_table() {
    let out = plan(&[]);
    ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("shop/web-2  set images log-agent=log-agent:1.1"), "{text}");
    assert!(text.contains("STATUS matched=3 updated=0 ready=3 updatedReady=0"), "{text}");
}
