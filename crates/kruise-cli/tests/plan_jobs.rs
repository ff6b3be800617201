//! `kruise plan` for BroadcastJob, ImagePullJob and NodeImage: the specs' worked examples
//! through the binary, the JSON contract every kind shares, and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const NOW: &str = "2024-05-01T12:00:00Z";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn kruise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kruise")).args(args).current_dir(root()).output().unwrap()
}

fn json(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn bj(extra: &[&str]) -> Output {
    let mut args = vec![
        "plan",
        "--workload",
        "examples/plan/broadcastjob/job.yaml",
        "--pods",
        "examples/plan/broadcastjob/pods.json",
        "--nodes",
        "examples/plan/broadcastjob/nodes.json",
        "--now",
        NOW,
    ];
    args.extend(extra);
    kruise(&args)
}

/// The JSON contract every kind shares.
fn assert_contract(plan: &Value) {
    for key in ["now", "seed", "actions", "held", "status", "requeueAfterSeconds", "requeueReason"] {
        assert!(plan.get(key).is_some(), "missing {key}: {plan}");
    }
    for a in plan["actions"].as_array().unwrap() {
        for key in ["action", "pod", "revision", "reason", "detail"] {
            assert!(a.get(key).is_some(), "action without {key}: {a}");
        }
    }
}

#[test]
fn bj_plan_worked_example_variant() {
    let plan = json(&bj(&["-o", "json"]));
    assert_contract(&plan);
    let creates: Vec<&Value> =
        plan["actions"].as_array().unwrap().iter().filter(|a| a["action"] == "CreatePod").collect();
    assert_eq!(creates.len(), 1, "node2 only: node4 is cordoned");
    let pod = &creates[0]["object"];
    assert_eq!(
        pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
            [0]["matchFields"][0]["values"][0],
        "node2"
    );
    assert_eq!(pod["metadata"]["labels"]["broadcastjob-name"], "job5");
    assert_eq!(creates[0]["reason"], "RunOnNode");
    let st = &plan["status"];
    assert_eq!(
        (st["desired"].as_i64(), st["active"].as_i64(), st["succeeded"].as_i64(), st["failed"].as_i64()),
        (Some(3), Some(1), Some(1), Some(1))
    );
    assert_eq!(st["phase"], "running");
}

#[test]
fn bj_plan_table_and_yaml() {
    let out = bj(&[]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("BroadcastJob default/job5 at 2024-05-01T12:00:00Z"), "{text}");
    assert!(text.contains("node2") && text.contains("RunOnNode"), "{text}");
    assert!(text.contains("job5-a") && text.contains("unchanged (Succeeded)"), "{text}");
    assert!(text.contains("NodeUnfit") && text.contains("node is unschedulable"), "{text}");
    assert!(text.contains("STATUS phase=running desired=3 active=1 succeeded=1 failed=1"), "{text}");
    let out = bj(&["-o", "yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout).unwrap().contains("action: CreatePod"));
    // Same input, same plan.
    assert_eq!(bj(&["-o", "json"]).stdout, bj(&["-o", "json"]).stdout);
}

#[test]
fn ipj_plan_worked_example_round_1() {
    let plan = json(&kruise(&[
        "plan",
        "--workload",
        "examples/plan/imagepulljob/job.yaml",
        "--nodeimages",
        "examples/plan/imagepulljob/nodeimages.json",
        "--now",
        NOW,
        "-o",
        "json",
    ]));
    assert_contract(&plan);
    let writes: Vec<&str> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "WriteNodeImage")
        .map(|a| a["object"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(writes, ["node1", "node2"]);
    assert_eq!(plan["held"][0]["object"]["name"], "node3");
    assert_eq!(plan["status"]["message"], "job is running, progress 0.0%");
    assert_eq!(plan["actions"][0]["action"], "AddFinalizer");
    let tag = &plan["actions"][1]["imageSpec"]["tags"][0];
    assert_eq!((tag["tag"].as_str(), tag["imagePullPolicy"].as_str()), (Some("1.20"), Some("IfNotPresent")));
}

#[test]
fn ipj_plan_node_image_without_its_node_is_deleted() {
    let plan = json(&kruise(&[
        "plan",
        "--workload",
        "examples/plan/imagepulljob/nodeimage.yaml",
        "--now",
        NOW,
        "-o",
        "json",
    ]));
    assert_contract(&plan);
    assert_eq!(plan["actions"][0]["action"], "DeleteNodeImage");
}

#[test]
fn bj_plan_invalid_job_exits_1() {
    let out = kruise(&["plan", "--workload", "examples/plan/broadcastjob/invalid.yaml", "--now", NOW]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("restartPolicy"));
}
