//! `kruise plan` for an Advanced StatefulSet: the spec's worked example (statefulset.md §13,
//! pass 1) as a JSON and a table snapshot with the key facts asserted in code, v1alpha1 input,
//! and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const NOW: &str = "2024-05-01T12:00:00Z";
const EX: &str = "examples/plan/statefulset";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn kruise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kruise")).args(args).current_dir(root()).output().unwrap()
}

fn plan(workload: &str, extra: &[&str]) -> Output {
    let files = [format!("{EX}/pods.json"), format!("{EX}/revisions.json"), format!("{EX}/pvcs.json")];
    let mut args = vec!["plan", "--workload", workload, "--pods", &files[0], "--revisions", &files[1]];
    args.extend(["--pvcs", &files[2], "--now", NOW]);
    args.extend(extra);
    kruise(&args)
}

fn json(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn pods_of<'v>(plan: &'v Value, action: &str) -> Vec<&'v str> {
    let all = plan["actions"].as_array().unwrap();
    all.iter().filter(|a| a["action"] == action).map(|a| a["pod"].as_str().unwrap()).collect()
}

fn held<'v>(plan: &'v Value, reason: &str) -> Vec<&'v str> {
    let all = plan["held"].as_array().unwrap();
    all.iter().filter(|h| h["reason"] == reason).map(|h| h["pod"].as_str().unwrap()).collect()
}

#[test]
fn asts_worked_example_pass_1_json() {
    let plan = json(&plan(&format!("{EX}/web.yaml"), &["-o", "json"]));
    assert_eq!(pods_of(&plan, "DeletePod"), vec!["web-5", "web-4"], "ASTS-35/39: top 3 slots, 2 unavailable");
    assert_eq!(held(&plan, "MaxUnavailable"), vec!["web-3"]);
    assert_eq!(held(&plan, "Partition"), vec!["web-0", "web-1", "web-2"]);
    let create = &plan["actions"][0];
    assert_eq!(
        (create["action"].as_str(), create["reason"].as_str()),
        (Some("CreateRevision"), Some("NewRevision"))
    );
    let st = &plan["status"];
    assert_eq!((st["replicas"].as_i64(), st["readyReplicas"].as_i64()), (Some(6), Some(6)));
    assert_eq!((st["currentReplicas"].as_i64(), st["updatedReplicas"].as_i64()), (Some(4), Some(0)));
    assert_eq!(st["currentRevision"], "web-r1");
    for a in plan["actions"].as_array().unwrap() {
        for key in ["action", "pod", "revision", "reason", "detail"] {
            assert!(a.get(key).is_some(), "{key} missing in {a}");
        }
    }
    insta::assert_json_snapshot!("asts_worked_example_pass_1", plan);
}

#[test]
fn asts_worked_example_pass_1_table() {
    let out = plan(&format!("{EX}/web.yaml"), &[]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("StatefulSet default/web at 2024-05-01T12:00:00Z"), "{text}");
    insta::assert_snapshot!("asts_worked_example_pass_1_table", text);
}

#[test]
fn asts_6_v1alpha1_workload_plans_the_same() {
    let text = std::fs::read_to_string(root().join(EX).join("web.yaml")).unwrap();
    let alpha = text.replace("apps.kruise.io/v1beta1", "apps.kruise.io/v1alpha1");
    let dir = std::env::temp_dir().join(format!("kruise-sts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("web-v1alpha1.yaml");
    std::fs::write(&file, alpha).unwrap();
    let a = json(&plan(file.to_str().unwrap(), &["-o", "json"]));
    let b = json(&plan(&format!("{EX}/web.yaml"), &["-o", "json"]));
    assert_eq!(a["actions"], b["actions"]);
    assert_eq!(a["held"], b["held"]);
}

#[test]
fn asts_8_invalid_statefulset_exits_1_naming_the_field() {
    let text = std::fs::read_to_string(root().join(EX).join("web.yaml")).unwrap();
    let bad = text.replace("  replicas: 6\n", "  replicas: 6\n  reserveOrdinals: [\"5-3\"]\n");
    let dir = std::env::temp_dir().join(format!("kruise-sts-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("web-bad.yaml");
    std::fs::write(&file, bad).unwrap();
    let out = plan(file.to_str().unwrap(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("reserveOrdinals"), "{err}");
}

/// `--feature-gates` applies to a StatefulSet plan: its own gates are known by their upstream
/// names, and an unknown gate is refused naming the flag (it was silently ignored before).
#[test]
fn asts_feature_gates_flag_is_read() {
    let ok = plan(
        &format!("{EX}/web.yaml"),
        &["-o", "json", "--feature-gates", "PodIndexLabel=false,StatefulSetAutoDeletePVC=false"],
    );
    json(&ok);
    let bad = plan(&format!("{EX}/web.yaml"), &["-o", "json", "--feature-gates", "NoSuchGate=true"]);
    assert_ne!(bad.status.code(), Some(0));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("--feature-gates") && err.contains("NoSuchGate"), "{err}");
    assert!(err.contains("StatefulSetStartOrdinal"), "the known gates are listed: {err}");
}
