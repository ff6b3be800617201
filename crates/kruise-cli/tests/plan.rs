//! `kruise plan` end to end: the seed walk-through (spec §14, W-1..W-5) as JSON snapshots with
//! the key facts asserted in code, the table, ownership filtering, input shapes and exit codes.
//!
//! Runs from the workspace root so file names print as the user typed them. Every run passes
//! `--now` so snapshots are stable.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const NOW: &str = "2024-05-01T12:00:00Z";
const EX: &str = "examples/plan";
const DATA: &str = "crates/kruise-cli/tests/data/plan";
/// Revision 1 (nginx:1.20) and revision 2 (nginx:latest) of the seed template.
const REV1: &str = "nginxweb1-6b6fdfbbf4";
const REV2: &str = "nginxweb1-775dd67bf6";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn kruise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kruise")).args(args).current_dir(root()).output().unwrap()
}

fn plan_args<'a>(step: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut args = vec!["plan".to_owned(), "--workload".into(), format!("examples/seed/{step}-ok.yaml")];
    if !extra.contains(&"--now") {
        args.extend(["--now".into(), NOW.into()]);
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// `kruise plan -o json` for seed step `step`; asserts exit 0 and parses stdout.
fn plan_json(step: &str, extra: &[&str]) -> Value {
    let mut args = plan_args(step, extra);
    args.extend(["-o".into(), "json".into()]);
    let out = kruise(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn actions<'v>(plan: &'v Value, kind: &str) -> Vec<&'v Value> {
    plan["actions"].as_array().unwrap().iter().filter(|a| a["action"] == kind).collect()
}

fn pods_of<'v>(plan: &'v Value, kind: &str) -> Vec<&'v str> {
    actions(plan, kind).iter().map(|a| a["pod"].as_str().unwrap()).collect()
}

fn held<'v>(plan: &'v Value, reason: &str) -> Vec<&'v str> {
    let all = plan["held"].as_array().unwrap();
    all.iter().filter(|h| h["reason"] == reason).map(|h| h["pod"].as_str().unwrap()).collect()
}

fn file(dir: &str, name: &str) -> String {
    format!("{dir}/{name}")
}

#[test]
fn w_1_create_makes_revision_one_and_three_pods() {
    let plan = plan_json("01", &[]);
    let revs = actions(&plan, "CreateRevision");
    assert_eq!(revs.len(), 1);
    assert_eq!(revs[0]["revision"], REV1);
    assert_eq!(revs[0]["object"]["revision"], 1);
    let creates = actions(&plan, "CreatePod");
    assert_eq!(creates.len(), 3, "CS-44: 3 pods from nothing");
    for c in &creates {
        assert_eq!(c["revision"], REV1);
        assert_eq!(c["reason"], "ScaleUp");
        let labels = &c["object"]["metadata"]["labels"];
        assert_eq!(labels["controller-revision-hash"], REV1);
        assert_eq!(labels["lifecycle.apps.kruise.io/state"], "PreparingNormal");
        assert_eq!(c["object"]["spec"]["containers"][0]["image"], "nginx:1.20");
    }
    assert_eq!(plan["status"]["updateRevision"], REV1);
    assert_eq!(plan["status"]["expectedUpdatedReplicas"], 3);
    insta::assert_json_snapshot!("w1_create", plan);
}

#[test]
fn w_2_scale_up_is_limited_to_one_pod() {
    let plan = plan_json(
        "02",
        &["--pods", &file(EX, "02-three-ready.json"), "--revisions", &file(EX, "revisions-01.json")],
    );
    assert_eq!(pods_of(&plan, "CreatePod"), ["nginxweb1-h575h"], "scaleUpLimit = min(2, 1 - 0) = 1");
    assert!(actions(&plan, "CreateRevision").is_empty(), "no template change, no revision");
    assert_eq!(plan["events"][0][0], "ScaleUpLimited");
    assert_eq!(plan["status"]["availableReplicas"], 3);
    insta::assert_json_snapshot!("w2_three_ready", plan);
}

#[test]
fn w_2_new_pod_ready_for_ten_seconds_is_held_by_min_ready_seconds() {
    let plan = plan_json(
        "02",
        &["--pods", &file(EX, "02-fourth-ready-10s.json"), "--revisions", &file(EX, "revisions-01.json")],
    );
    assert!(actions(&plan, "CreatePod").is_empty(), "the new pod is unavailable: budget 0");
    assert_eq!(held(&plan, "MinReadySeconds"), ["nginxweb1-h575h"]);
    assert_eq!(plan["status"]["readyReplicas"], 4);
    assert_eq!(plan["status"]["availableReplicas"], 3);
    assert_eq!(plan["requeueAfterSeconds"], 30, "CS-90");
    assert_eq!(plan["requeueReason"], "MinReadySeconds");
    insta::assert_json_snapshot!("w2_fourth_ready_10s", plan);
}

#[test]
fn w_3_pods_to_delete_deletes_exactly_frcl2() {
    let plan = plan_json(
        "03",
        &["--pods", &file(EX, "03-five-ready.json"), "--revisions", &file(EX, "revisions-01.json")],
    );
    assert_eq!(pods_of(&plan, "DeletePod"), ["nginxweb1-frcl2"]);
    assert_eq!(actions(&plan, "DeletePod")[0]["reason"], "PodsToDelete");
    assert!(actions(&plan, "CreatePod").is_empty());
    assert!(actions(&plan, "UpdateInPlace").is_empty());
    insta::assert_json_snapshot!("w3_five_ready", plan);
}

#[test]
fn w_4_in_place_update_of_exactly_one_pod() {
    let plan = plan_json(
        "04",
        &["--pods", &file(EX, "04-four-on-rev1.json"), "--revisions", &file(EX, "revisions-01.json")],
    );
    let revs = actions(&plan, "CreateRevision");
    assert_eq!(revs.len(), 1);
    assert_eq!(revs[0]["revision"], REV2);
    assert_eq!(revs[0]["object"]["revision"], 2);
    let updates = actions(&plan, "UpdateInPlace");
    assert_eq!(updates.len(), 1, "CS-62: one pod per round with maxUnavailable 1");
    let u = updates[0];
    assert_eq!(u["revision"], REV2);
    assert_eq!(u["patch"]["spec"]["containers"][0]["image"], "nginx:latest");
    assert_eq!(u["patch"]["metadata"]["labels"]["controller-revision-hash"], REV2);
    assert_eq!(u["patch"]["metadata"]["labels"]["lifecycle.apps.kruise.io/state"], "Updating");
    assert!(u["statusPatch"]["status"]["conditions"].is_array(), "InPlaceUpdateReady=False first");
    assert!(actions(&plan, "DeletePod").is_empty() && actions(&plan, "CreatePod").is_empty());
    assert_eq!(held(&plan, "MaxUnavailable").len(), 3);
    insta::assert_json_snapshot!("w4_four_on_rev1", plan);
}

#[test]
fn w_5_partition_keeps_two_pods_back() {
    let plan = plan_json(
        "05",
        &["--pods", &file(EX, "05-four-on-rev2.json"), "--revisions", &file(EX, "revisions-01-02.json")],
    );
    // CS-28: the template equals revision 1's: reused and renumbered, no new revision.
    assert!(actions(&plan, "CreateRevision").is_empty());
    let bumps = actions(&plan, "UpdateRevision");
    assert_eq!(bumps.len(), 1);
    assert_eq!(bumps[0]["revision"], REV1);
    assert_eq!(bumps[0]["patch"]["revision"], 3);
    assert_eq!(held(&plan, "Partition").len(), 2, "CS-66");
    // CS-58: the pod whose Ready changed last goes first.
    assert_eq!(pods_of(&plan, "UpdateInPlace"), ["nginxweb1-wzg5j"]);
    assert_eq!(actions(&plan, "UpdateInPlace")[0]["patch"]["spec"]["containers"][0]["image"], "nginx:1.20");
    assert_eq!(plan["status"]["updateRevision"], REV1);
    assert_eq!(plan["status"]["expectedUpdatedReplicas"], 2);
    insta::assert_json_snapshot!("w5_four_on_rev2", plan);
}

#[test]
fn w_4_table_lists_every_pod() {
    let args = plan_args(
        "04",
        &["--pods", &file(EX, "04-four-on-rev1.json"), "--revisions", &file(EX, "revisions-01.json")],
    );
    let out = kruise(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for pod in ["nginxweb1-h575h", "nginxweb1-mfxg7", "nginxweb1-t7xqk", "nginxweb1-wzg5j"] {
        assert_eq!(text.lines().filter(|l| l.starts_with(pod)).count(), 1, "{pod}:\n{text}");
    }
    assert_eq!(text.matches("update in place to").count(), 1);
    insta::assert_snapshot!("w4_table", text);
}

#[test]
fn yaml_output_is_the_json_document() {
    let json = plan_json("01", &[]);
    let args = plan_args("01", &["-o", "yaml"]);
    let out = kruise(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(0));
    let yaml: Value = serde_saphyr::from_str(std::str::from_utf8(&out.stdout).unwrap()).unwrap();
    assert_eq!(yaml, json);
}

#[test]
fn cs_24_foreign_pods_are_ignored_and_reported() {
    let args = plan_args("02", &["--pods", &file(DATA, "pods-mixed.json"), "-o", "json"]);
    let out = kruise(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("ignored 2 Pod(s)") && err.contains("nginxweb1-rs-7d9f, other-abcde"), "{err}");
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Only the three selected pods count (selector fallback: the workload has no uid).
    assert_eq!(plan["status"]["replicas"], 3);
    let text = plan.to_string();
    assert!(!text.contains("other-abcde") && !text.contains("nginxweb1-rs-7d9f"));
}

#[test]
fn cs_24_workload_uid_decides_ownership_and_bare_pods_are_not_adopted() {
    let args = [
        "plan",
        "--workload",
        &file(DATA, "cloneset-uid.yaml"),
        "--pods",
        &file(DATA, "pods-uid.json"),
        "--revisions",
        &file(DATA, "revisions-uid.json"),
        "--now",
        NOW,
        "-o",
        "json",
    ];
    let out = kruise(&args);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8(out.stderr).unwrap();
    // CS-24: listed by owner-reference uid only; the bare pod `nginxweb1-orphn` matches the
    // selector but is not the CloneSet's, so it is neither counted nor adopted.
    assert!(err.contains("ignored 2 Pod(s)") && err.contains(": nginxweb1-orphn, nginxweb1-stale"), "{err}");
    assert!(!err.contains("ControllerRevision"), "{err}");
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(actions(&plan, "AdoptPod").is_empty());
    assert_eq!(plan["status"]["replicas"], 3);
    assert!(actions(&plan, "CreateRevision").is_empty(), "revision 1 is listed and owned");
    assert!(!plan.to_string().contains("nginxweb1-stale"));
    assert!(!plan.to_string().contains("nginxweb1-orphn"));
}

#[test]
fn kubectl_list_and_plain_array_give_the_same_plan() {
    let list = plan_json("02", &["--pods", &file(EX, "02-three-ready.json")]);
    let array = plan_json("02", &["--pods", &file(DATA, "pods-array.json")]);
    assert_eq!(list, array);
}

#[test]
fn unparsable_pods_exit_2_with_position() {
    let args = plan_args("02", &["--pods", &file(DATA, "pods-broken.json")]);
    let out = kruise(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with(&format!("{DATA}/pods-broken.json:5:")), "{err}");
}

#[test]
fn unreadable_workload_exits_2() {
    let out = kruise(&["plan", "--workload", "does-not-exist.yaml", "--now", NOW]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().starts_with("does-not-exist.yaml: cannot read"));
}

#[test]
fn pods_of_another_kind_exit_2() {
    let args = plan_args("02", &["--pods", &file(EX, "revisions-01.json")]);
    let out = kruise(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().contains("expected kind Pod, found ControllerRevision"));
}

#[test]
fn invalid_workload_exits_1_with_field_paths() {
    let out = kruise(&["plan", "--workload", &file(DATA, "cloneset-invalid.yaml"), "--now", NOW]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("CloneSet/nginxweb1: spec.replicas: "), "{err}");
    assert!(err.contains("CloneSet/nginxweb1: spec.template.metadata.labels: "), "{err}");
}

#[test]
fn cs_45_same_seed_same_plan_other_seed_other_names() {
    let a = plan_json("01", &["--seed", "7"]);
    let b = plan_json("01", &["--seed", "7"]);
    let c = plan_json("01", &["--seed", "8"]);
    assert_eq!(a, b);
    assert_ne!(pods_of(&a, "CreatePod"), pods_of(&c, "CreatePod"));
    assert_eq!(a["seed"], 7);
    assert_eq!(a["now"], NOW);
}

#[test]
fn w_4_and_w_5_live_status_keeps_the_current_revision() {
    // W-4: with the status the cluster shows, current stays revision 1 while 2 rolls out.
    let args = [
        "plan",
        "--workload",
        "examples/plan/04-ok-with-status.yaml",
        "--pods",
        "examples/plan/04-four-on-rev1.json",
        "--revisions",
        "examples/plan/revisions-01.json",
        "--now",
        NOW,
        "-o",
        "json",
    ];
    let out = kruise(&args);
    assert_eq!(out.status.code(), Some(0));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["status"]["currentRevision"], REV1);
    assert_eq!(plan["status"]["updateRevision"], REV2);
    assert_eq!(pods_of(&plan, "UpdateInPlace").len(), 1);
    // W-5: every pod on revision 2 is current; revision 1 is the update revision again.
    let args = [
        "plan",
        "--workload",
        "examples/plan/05-ok-with-status.yaml",
        "--pods",
        "examples/plan/05-four-on-rev2.json",
        "--revisions",
        "examples/plan/revisions-01-02.json",
        "--now",
        NOW,
        "-o",
        "json",
    ];
    let out = kruise(&args);
    assert_eq!(out.status.code(), Some(0));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["status"]["currentRevision"], REV2);
    assert_eq!(plan["status"]["updateRevision"], REV1);
    assert_eq!(held(&plan, "Partition").len(), 2);
}

#[test]
fn pods_from_standard_input() {
    let pods = std::fs::read(root().join(EX).join("02-three-ready.json")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kruise"))
        .args(["plan", "--workload", "examples/seed/02-ok.yaml", "--pods", "-", "--now", NOW, "-o", "json"])
        .current_dir(root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &pods).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let from_stdin: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(from_stdin, plan_json("02", &["--pods", &file(EX, "02-three-ready.json")]));
}

fn table(step: &str, pods: &str, revisions: &str) -> String {
    let args = plan_args(step, &["--pods", pods, "--revisions", revisions]);
    let out = kruise(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn w_2_table_shows_the_held_pod_and_the_requeue() {
    let text = table("02", &file(EX, "02-fourth-ready-10s.json"), &file(EX, "revisions-01.json"));
    let held = text.lines().find(|l| l.starts_with("nginxweb1-h575h")).unwrap();
    assert!(held.contains("held") && held.contains("MinReadySeconds"), "{text}");
    assert!(text.contains("REQUEUE after 30s (MinReadySeconds)"), "{text}");
    assert!(text.contains("EVENT ScaleUpLimited limit 0, wanted 1"), "{text}");
    insta::assert_snapshot!("w2_table", text);
}

#[test]
fn w_5_table_shows_partition_and_the_renumbered_revision() {
    let text = table("05", &file(EX, "05-four-on-rev2.json"), &file(EX, "revisions-01-02.json"));
    assert_eq!(text.lines().filter(|l| l.contains("Partition")).count(), 2, "{text}");
    let rev1 = text.lines().find(|l| l.starts_with(REV1)).unwrap();
    assert!(rev1.contains(" 3 ") && rev1.contains("UpdateRevision"), "{text}");
    insta::assert_snapshot!("w5_table", text);
}

#[test]
fn w_3_next_reconcile_truncates_pods_to_delete_cs_55() {
    let plan = plan_json(
        "03",
        &[
            "--pods",
            &file(EX, "03-frcl2-terminating.json"),
            "--revisions",
            &file(EX, "revisions-01.json"),
            "--now",
            "2024-05-01T12:00:10Z",
        ],
    );
    assert!(actions(&plan, "DeletePod").is_empty(), "frcl2 is already terminating");
    assert!(actions(&plan, "CreatePod").is_empty(), "4 active pods, 4 wanted");
    let spec = actions(&plan, "UpdateSpec");
    assert_eq!(spec.len(), 1);
    assert_eq!(spec[0]["patch"], serde_json::json!({"spec": {"scaleStrategy": {"podsToDelete": []}}}));
    assert_eq!(plan["status"]["replicas"], 4);
}

#[test]
fn w_2_new_pod_scheduled_not_ready_moves_to_normal_and_nothing_is_created() {
    let plan = plan_json(
        "02",
        &[
            "--pods",
            &file(EX, "02-fourth-just-created.json"),
            "--revisions",
            &file(EX, "revisions-01.json"),
            "--now",
            "2024-05-01T12:00:05Z",
        ],
    );
    assert!(actions(&plan, "CreatePod").is_empty(), "the new pod is unavailable: scaleUpLimit 0");
    assert_eq!(plan["events"][0][1], "limit 0, wanted 1");
    assert_eq!(pods_of(&plan, "UpdatePodStatus"), ["nginxweb1-h575h"]);
    assert_eq!(actions(&plan, "UpdatePodStatus")[0]["condition"]["type"], "InPlaceUpdateReady");
    let patches = actions(&plan, "PatchPod");
    assert_eq!(patches.len(), 1);
    assert_eq!(patches[0]["pod"], "nginxweb1-h575h");
    assert_eq!(patches[0]["patch"]["metadata"]["labels"]["lifecycle.apps.kruise.io/state"], "Normal");
    assert_eq!(plan["status"]["readyReplicas"], 3);
}

#[test]
fn two_inputs_from_standard_input_exit_2() {
    let out = kruise(&["plan", "--workload", "-", "--pods", "-", "--now", NOW]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().contains("only one input can be standard input"));
}

/// Issue 11 item 12: `--feature-gates` takes the operator's names and defaults; an unknown or
/// unsupported gate is refused (exit 2), a known one changes the plan (CloneSetShortHash: the
/// revision label holds the short hash).
#[test]
fn plan_feature_gates_are_read() {
    let created = plan_json("01", &["--feature-gates", "CloneSetShortHash=true"]);
    let obj = &actions(&created, "CreatePod")[0]["object"];
    assert_eq!(obj["metadata"]["labels"]["controller-revision-hash"], REV1.rsplit('-').next().unwrap());
    for bad in ["NoSuchGate=true", "PodUnavailableBudgetUpdateGate=true", "CloneSetShortHash=yes"] {
        let args = plan_args("01", &["--feature-gates", bad]);
        let out = kruise(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--feature-gates"), "{bad}");
    }
}

/// Issue 11 item 12: `--nodes` reads Node objects (for CS-53 spread ranks); other kinds are
/// refused.
#[test]
fn plan_nodes_are_read() {
    let nodes = file(DATA, "nodes.json");
    let plan = plan_json(
        "03",
        &[
            "--pods",
            &file(EX, "03-five-ready.json"),
            "--revisions",
            &file(EX, "revisions-01.json"),
            "--nodes",
            &nodes,
        ],
    );
    assert_eq!(pods_of(&plan, "DeletePod"), ["nginxweb1-frcl2"]);
    let args = plan_args("03", &["--nodes", &file(EX, "03-five-ready.json")]);
    let out = kruise(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected kind Node"));
}

/// Issue 11 item 14 (CS-1): for a v1alpha1 CloneSet, `kruise plan` prints what the operator
/// sends: owner references to `apps.kruise.io/v1alpha1` (it printed v1beta1).
#[test]
fn cs_1_v1alpha1_workload_gets_v1alpha1_owner_references() {
    let plan = plan_json("01", &[]);
    let creates = actions(&plan, "CreatePod");
    assert_eq!(creates.len(), 3);
    for a in creates {
        assert_eq!(a["object"]["metadata"]["ownerReferences"][0]["apiVersion"], "apps.kruise.io/v1alpha1");
    }
    let rev = &actions(&plan, "CreateRevision")[0]["object"];
    assert_eq!(rev["metadata"]["ownerReferences"][0]["apiVersion"], "apps.kruise.io/v1alpha1");
}

/// Issue 11 item 14 (CS-26): the JSON printed is what is sent, with Go's escapes, so a
/// revision's `data` carries the bytes its name was hashed from (`&&` as `\u0026\u0026`).
#[test]
fn cs_26_printed_revision_data_uses_go_escapes() {
    let args = ["plan", "--workload", &file(DATA, "cloneset-ampersand.yaml"), "--now", NOW, "-o", "json"];
    let out = kruise(&args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(r"true \u0026\u0026 echo '\u003cok\u003e'"), "{text}");
    assert!(!text.contains("&&"));
    let plan: Value = serde_json::from_str(&text).unwrap();
    let data = &actions(&plan, "CreateRevision")[0]["object"]["data"];
    assert_eq!(data["spec"]["template"]["spec"]["containers"][0]["command"][2], "true && echo '<ok>'");
}

/// IPJ-40..IPJ-42: with `PreDownloadImageForInPlaceUpdate=true` a CloneSet starting an in-place
/// rollout (revision 1 current, revision 2 new) also plans an ImagePullJob for the new image and
/// the label that marks the revision handled, in the same JSON contract (after the plan's own
/// actions); without the gate the plan has neither. `--jobs` hands over existing jobs: one of
/// that name is not created again.
#[test]
fn plan_cloneset_predownload_behind_its_gate() {
    let base = [
        "--workload",
        "examples/plan/04-ok-with-status.yaml",
        "--pods",
        "examples/plan/04-four-on-rev1.json",
        "--revisions",
        "examples/plan/revisions-01.json",
        "--now",
        NOW,
        "-o",
        "json",
    ];
    let run = |extra: &[&str]| -> Value {
        let mut args = vec!["plan"];
        args.extend(base);
        args.extend(extra);
        let out = kruise(&args);
        assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let off = run(&[]);
    assert!(
        actions(&off, "CreateImagePullJob").is_empty()
            && actions(&off, "LabelPreDownloadRevision").is_empty()
    );
    let on = run(&["--feature-gates", "PreDownloadImageForInPlaceUpdate=true"]);
    let jobs = actions(&on, "CreateImagePullJob");
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0]["imagePullJob"];
    assert_eq!(job["metadata"]["name"], format!("{REV2}-nginx"));
    assert_eq!(job["spec"]["image"], "nginx:latest");
    assert_eq!(job["spec"]["podSelector"]["matchExpressions"][0]["operator"], "NotIn");
    let label = actions(&on, "LabelPreDownloadRevision");
    assert_eq!(label.len(), 1);
    assert_eq!(label[0]["object"]["name"], REV2);
    assert_eq!(label[0]["label"], "apps.kruise.io/pre-predownload-created");
    // The plan's own actions are the same, in the same order, before the pre-download ones.
    let all = on["actions"].as_array().unwrap();
    assert_eq!(&all[..all.len() - 2], off["actions"].as_array().unwrap().as_slice());
    // A job of that name already exists: only the label is planned.
    let dir = std::env::temp_dir().join(format!("kruise-predownload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let existing = dir.join("jobs.json");
    std::fs::write(&existing, serde_json::to_string(&serde_json::json!([job])).unwrap()).unwrap();
    let again = run(&[
        "--feature-gates",
        "PreDownloadImageForInPlaceUpdate=true",
        "--jobs",
        existing.to_str().unwrap(),
    ]);
    assert!(actions(&again, "CreateImagePullJob").is_empty(), "{again}");
    assert_eq!(actions(&again, "LabelPreDownloadRevision").len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
