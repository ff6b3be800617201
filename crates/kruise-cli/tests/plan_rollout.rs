//! `kruise plan` for a Rollout and `kruise rollout status|approve`, on the spec's worked
//! example (rollout.md §M): row 1 (Healthy -> Progressing), rows 8-9 (step 1 waits for
//! approval), row 12 (step 2 waits 60 s), row 13 (the pause is over). JSON snapshots with the
//! key facts asserted in code.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const EX: &str = "examples/rollout";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn kruise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kruise")).args(args).current_dir(root()).output().unwrap()
}

fn state_args(row: &str, now: &str) -> Vec<String> {
    let f = |name: &str| format!("{EX}/{row}-{name}");
    let mut v = vec!["--workload".to_owned(), f("rollout.json"), "--target".into(), f("cloneset.yaml")];
    v.extend(["--routes".into(), f("routes.json")]);
    if row != "w0" {
        v.extend(["--pods".into(), f("pods.json"), "--batch-release".into(), f("batchrelease.json")]);
    }
    v.extend(["--now".into(), now.into()]);
    v
}

fn plan_json(row: &str, now: &str) -> Value {
    let mut args = vec!["plan".to_owned()];
    args.extend(state_args(row, now));
    args.extend(["-o".into(), "json".into()]);
    let out = kruise(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn actions(plan: &Value) -> Vec<&str> {
    plan["actions"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect()
}

#[test]
fn ro_m_row_1_healthy_to_progressing() {
    let plan = plan_json("w0", "2026-12-07T10:00:06Z");
    assert_eq!(actions(&plan), vec!["UpdateStatus"]);
    assert_eq!(plan["actions"][0]["reason"], "Phase");
    assert_eq!(plan["actions"][0]["detail"], "Healthy -> Progressing");
    assert_eq!(plan["status"]["phase"], "Progressing");
    assert_eq!(plan["status"]["conditions"][0]["reason"], "Initializing");
    insta::assert_json_snapshot!("ro_m_row_1", plan);
}

#[test]
fn ro_m_row_8_step_1_waits_for_approval() {
    let plan = plan_json("w1", "2026-12-07T10:01:00Z");
    assert!(actions(&plan).is_empty(), "{plan}");
    assert_eq!(plan["held"][0]["reason"], "ManualApproval");
    assert_eq!(plan["held"][0]["object"]["kind"], "Rollout");
    assert_eq!(plan["requeueAfterSeconds"], Value::Null, "no requeue while waiting for approval (RO-54)");
    insta::assert_json_snapshot!("ro_m_row_8", plan);
}

#[test]
fn ro_m_row_12_step_2_pause_requeues_at_t_plus_60() {
    let plan = plan_json("w2", "2026-12-07T10:01:30Z");
    assert_eq!(plan["held"][0]["reason"], "PauseDuration");
    // lastUpdateTime 10:01:02 + 60 s = 10:02:02, 32 s after 10:01:30.
    assert_eq!(plan["requeueAfterSeconds"], 32);
    insta::assert_json_snapshot!("ro_m_row_12", plan);
}

#[test]
fn ro_m_row_13_pause_over_step_ready() {
    let plan = plan_json("w2", "2026-12-07T10:02:03Z");
    assert_eq!(actions(&plan), vec!["UpdateStatus"]);
    assert_eq!(plan["status"]["canaryStatus"]["currentStepState"], "StepReady");
    insta::assert_json_snapshot!("ro_m_row_13", plan);
}

#[test]
fn plan_rollout_table() {
    let mut args = vec!["plan".to_owned()];
    args.extend(state_args("w1", "2026-12-07T10:01:00Z"));
    let out = kruise(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!("plan_rollout_table_w1", String::from_utf8(out.stdout).unwrap());
}

#[test]
fn rollout_status_table_shows_step_batch_holds_and_traffic() {
    let mut args = vec!["rollout".to_owned(), "status".into()];
    args.extend(state_args("w1", "2026-12-07T10:01:00Z"));
    let out = kruise(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("canary 5% / stable 95%"), "{text}");
    assert!(text.contains("ManualApproval"), "{text}");
    assert!(text.contains("1 of 3 Ready"), "{text}");
    insta::assert_snapshot!("rollout_status_w1", text);
}

#[test]
fn rollout_status_without_target_reads_the_stored_status() {
    let out = kruise(&["rollout", "status", "--workload", &format!("{EX}/w2-rollout.json")]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("2/3 StepPaused"), "{text}");
    assert!(text.contains("5 canary, 5 ready"), "{text}");
}

#[test]
fn ro_32_rollout_approve_prints_the_status_patch() {
    let out = kruise(&["rollout", "approve", "--workload", &format!("{EX}/w1-rollout.json")]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let patch: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(patch, serde_json::json!({"status": {"canaryStatus": {"currentStepState": "StepReady"}}}));
    assert!(String::from_utf8_lossy(&out.stderr).contains("kubectl patch rollout web --subresource=status"));
}

#[test]
fn ro_32_rollout_approve_refuses_outside_step_paused() {
    let out = kruise(&["rollout", "approve", "--workload", &format!("{EX}/w0-rollout.json")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not waiting for approval"));
}

#[test]
fn ro_9_invalid_rollout_exits_1_with_the_field() {
    let dir = std::env::temp_dir().join(format!("kruise-ro9-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.yaml");
    let text = std::fs::read_to_string(root().join(EX).join("rollout.yaml"))
        .unwrap()
        .replace("replicas: 1\n", "replicas: \"0%\"\n");
    std::fs::write(&f, text).unwrap();
    let out =
        kruise(&["plan", "--workload", f.to_str().unwrap(), "--target", &format!("{EX}/w0-cloneset.yaml")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("steps[0].replicas"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
