//! `kruise plan` for an Advanced DaemonSet: the spec's worked example (daemonset.md §9: 5 nodes,
//! canary node selector, maxSurge 1), pass 1, as a JSON snapshot and a table snapshot, with the
//! key facts asserted in code; nodes, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const NOW: &str = "2024-05-01T12:00:00Z";
const EX: &str = "examples/plan/daemonset";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn kruise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kruise")).args(args).current_dir(root()).output().unwrap()
}

fn f(name: &str) -> String {
    format!("{EX}/{name}")
}

fn worked_example(extra: &[&str]) -> Output {
    let (ds, pods, revs, nodes) = (f("ds.yaml"), f("pods.json"), f("revisions.json"), f("nodes.json"));
    let mut args = vec![
        "plan",
        "--workload",
        &ds,
        "--pods",
        &pods,
        "--revisions",
        &revs,
        "--nodes",
        &nodes,
        "--now",
        NOW,
    ];
    args.extend(extra);
    kruise(&args)
}

#[test]
fn ads_worked_example_pass_1_surges_the_highest_canary_node() {
    let out = worked_example(&["-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let actions = plan["actions"].as_array().unwrap();
    let creates: Vec<&Value> = actions.iter().filter(|a| a["action"] == "CreatePod").collect();
    assert_eq!(creates.len(), 1, "maxSurge 1");
    assert_eq!(
        creates[0]["object"]["metadata"]["labels"]["controller-revision-hash"],
        plan["status"]["updateRevision"]
    );
    let node = &creates[0]["object"]["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        ["nodeSelectorTerms"][0]["matchFields"][0]["values"][0];
    assert_eq!(node, "n4", "eligible order [n4, n2]");
    assert_eq!(creates[0]["reason"], "Surge");
    assert!(actions.iter().any(|a| a["action"] == "CreateRevision" && a["object"]["revision"] == 2));
    assert!(actions.iter().all(|a| a["action"] != "DeletePod"));
    let held: Vec<(&str, &str)> = plan["held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["pod"].as_str().unwrap(), h["reason"].as_str().unwrap()))
        .collect();
    assert!(held.contains(&("p2", "MaxSurge")));
    for p in ["p1", "p3", "p5"] {
        assert!(held.contains(&(p, "NotSelected")), "{p}: {held:?}");
    }
    assert_eq!(plan["status"]["updatedNumberScheduled"], 0);
    assert_eq!(plan["status"]["desiredNumberScheduled"], 5);
    insta::assert_json_snapshot!("ads_worked_example_pass_1", plan);
}

#[test]
fn ads_worked_example_table_has_one_block_per_node() {
    let out = worked_example(&[]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for n in ["n1", "n2", "n3", "n4", "n5"] {
        assert!(text.lines().any(|l| l.starts_with(&format!("{n} "))), "{n} missing:\n{text}");
    }
    insta::assert_snapshot!("ads_worked_example_table", text);
}

#[test]
fn ads_without_nodes_nothing_is_desired() {
    let ds = f("ds.yaml");
    let out = kruise(&["plan", "--workload", &ds, "--now", NOW, "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["status"]["desiredNumberScheduled"], 0);
    assert!(plan["actions"].as_array().unwrap().iter().all(|a| a["action"] != "CreatePod"));
}

#[test]
fn ads_nodes_file_with_wrong_kind_is_exit_2() {
    let (ds, pods) = (f("ds.yaml"), f("pods.json"));
    let out = kruise(&["plan", "--workload", &ds, "--nodes", &pods, "--now", NOW]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected kind Node"));
}
