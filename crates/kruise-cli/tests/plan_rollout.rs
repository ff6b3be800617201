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

/// `kruise plan` for a canary-style Rollout over an `apps/v1` Deployment (RO-12, RO-42): the
/// target file holds the Deployment and its ReplicaSet; the BatchRelease is preparing, so the
/// plan claims the stable Deployment (control-info only, it stays paused) and creates the
/// canary Deployment, owned by the BatchRelease, with the patch metadata in its template.
#[test]
fn ro_42_plan_deployment_target_creates_the_canary_deployment() {
    let d = "examples/rollout/deployment";
    let out = kruise(&[
        "plan",
        "--workload",
        &format!("{d}/rollout.yaml"),
        "--target",
        &format!("{d}/deployment.yaml"),
        "--batch-release",
        &format!("{d}/batchrelease.json"),
        "--now",
        "2026-12-07T10:00:00Z",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = plan.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, vec!["actions", "held", "now", "requeueAfterSeconds", "requeueReason", "status"]);
    assert_eq!(actions(&plan), vec!["UpdateStatus", "PatchWorkload", "CreateDeployment"]);
    let claim = &plan["actions"][1];
    assert_eq!((claim["object"]["name"].as_str(), claim["reason"].as_str()), (Some("web"), Some("Claim")));
    assert!(claim["patch"].get("paused").is_none() && claim["patch"].get("replicas").is_none(), "{claim}");
    let create = &plan["actions"][2];
    assert_eq!(create["object"]["name"], "web-644bcb6cf5");
    let dep = &create["deployment"];
    assert_eq!(dep["metadata"]["ownerReferences"][0]["kind"], "BatchRelease");
    assert_eq!(dep["metadata"]["ownerReferences"][0]["uid"], "br-uid");
    assert_eq!(dep["metadata"]["labels"]["rollouts.kruise.io/canary-deployment"], "web");
    assert_eq!(dep["spec"]["replicas"], 0);
    assert_eq!(dep["spec"]["template"]["metadata"]["labels"]["opensergo.io/canary-gray"], "gray");
    insta::assert_json_snapshot!("ro_42_deployment_claim", plan);
}

/// RO-15: once the canary Deployment exists, batch 0 scales it to `batch_replicas(1, 10)` =
/// 1; the stable Deployment is not scaled.
#[test]
fn ro_15_plan_deployment_target_scales_the_canary() {
    let d = "examples/rollout/deployment";
    let out = kruise(&[
        "plan",
        "--workload",
        &format!("{d}/rollout.yaml"),
        "--target",
        &format!("{d}/deployment-canary.yaml"),
        "--batch-release",
        &format!("{d}/batchrelease-progressing.json"),
        "--now",
        "2026-12-07T10:00:04Z",
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let scale: Vec<&Value> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "PatchWorkload" && a["patch"].get("replicas").is_some())
        .collect();
    assert_eq!(scale.len(), 1, "{plan}");
    assert_eq!(scale[0]["object"]["name"], "web-644bcb6cf5");
    assert_eq!(scale[0]["patch"]["replicas"], 1);
    assert_eq!(scale[0]["detail"], "batch 0: 1 updated, 9 stable");
    insta::assert_json_snapshot!("ro_15_deployment_batch_0", plan);
}

/// A Deployment target that is not the Rollout's workloadRef is refused with exit 1.
#[test]
fn ro_67_plan_deployment_target_must_be_the_workload_ref() {
    let dir = std::env::temp_dir().join(format!("kruise-ro-dep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(root().join("examples/rollout/deployment/deployment.yaml")).unwrap();
    let other = dir.join("other.yaml");
    std::fs::write(&other, text.replacen("name: web\n", "name: api\n", 1)).unwrap();
    let out = kruise(&[
        "plan",
        "--workload",
        "examples/rollout/deployment/rollout.yaml",
        "--target",
        other.to_str().unwrap(),
        "--now",
        "2026-12-07T10:00:00Z",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Deployment/api is not the Rollout's workloadRef"), "{err}");
}
