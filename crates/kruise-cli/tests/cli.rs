//! The `kruise` binary end to end: arguments in, lines and exit status out.
//!
//! Runs from the workspace root so file names print as the user typed them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn kruise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kruise")).args(args).current_dir(root()).output().unwrap()
}

fn kruise_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kruise"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

const DATA: &str = "crates/kruise-cli/tests/data";

#[test]
fn validate_seed_manifests_all_ok() {
    let mut files: Vec<String> = std::fs::read_dir(root().join("examples/seed"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .map(|n| format!("examples/seed/{n}"))
        .collect();
    files.sort();
    // The five seed manifests and the simulator scenario that replays them.
    assert_eq!(files.len(), 6);
    let args: Vec<&str> = std::iter::once("validate").chain(files.iter().map(String::as_str)).collect();
    let out = kruise(&args);
    let expected: String = files.iter().map(|f| format!("{f}: ok\n")).collect();
    assert_eq!(stdout(&out), expected);
    assert_eq!(stderr(&out), "");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn validate_invalid_objects_exit_1_one_line_each() {
    let file = format!("{DATA}/invalid.yaml");
    let out = kruise(&["validate", &file]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with(&format!(
            "{file}: Deployment/web: kind: Unsupported value: \"Deployment\" in \"apps/v1\": not a kind kruise-rs knows (known: "
        )),
        "{text}"
    );
    assert!(lines[0].contains("apps.kruise.io/v1alpha1 CloneSet"), "{text}");
    assert!(
        lines[1].starts_with(&format!(
            "{file}: CloneSet/wrong-version: apiVersion: Unsupported value: \"apps.kruise.io/v1\": CloneSet is served as "
        )),
        "{text}"
    );
    assert!(
        lines[2].starts_with(&format!("{file}: CloneSet/bad-replicas: spec.replicas: cannot decode: ")),
        "{text}"
    );
    assert!(lines[2].contains("\"three\""), "{text}");
    assert!(!text.contains(": ok"), "{text}");
}

#[test]
fn validate_broken_yaml_exit_2_with_line_and_column() {
    let broken = format!("{DATA}/broken.yaml");
    let out = kruise(&["validate", &broken, "examples/seed/01-ok.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.starts_with(&format!("{broken}:8:3: invalid YAML: ")), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // The other files are still checked.
    assert_eq!(stdout(&out), "examples/seed/01-ok.yaml: ok\n");
}

#[test]
fn validate_broken_json_exit_2_with_line_and_column() {
    let broken = format!("{DATA}/broken.json");
    let out = kruise(&["validate", &broken]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), format!("{broken}:4:35: invalid JSON: trailing comma\n"));
    assert_eq!(stdout(&out), "");
}

#[test]
fn validate_parse_error_wins_over_invalid() {
    let out = kruise(&["validate", &format!("{DATA}/invalid.yaml"), &format!("{DATA}/broken.yaml")]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stdout(&out).lines().count(), 3);
}

#[test]
fn validate_unreadable_file_exit_2() {
    let out = kruise(&["validate", "does/not/exist.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("does/not/exist.yaml: cannot read: "), "{}", stderr(&out));
}

#[test]
fn validate_multi_document_file_is_one_ok_line() {
    let file = format!("{DATA}/multi.yaml");
    let out = kruise(&["validate", &file]);
    assert_eq!(stdout(&out), format!("{file}: ok\n"));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn validate_multi_document_file_reports_only_the_bad_object() {
    let file = format!("{DATA}/mixed.yaml");
    let out = kruise(&["validate", &file]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with(&format!("{file}: UnitedDeployment/later: kind: ")), "{text}");
}

#[test]
fn validate_json_file_and_stdin() {
    let file = format!("{DATA}/cloneset.json");
    let out = kruise(&["validate", &file]);
    assert_eq!((stdout(&out), out.status.code()), (format!("{file}: ok\n"), Some(0)));

    let json = std::fs::read(root().join(&file)).unwrap();
    let out = kruise_stdin(&["validate", "-"], &json);
    assert_eq!((stdout(&out), out.status.code()), ("-: ok\n".to_owned(), Some(0)));
}

#[test]
fn validate_without_files_is_a_usage_error() {
    let out = kruise(&["validate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("FILE"), "{}", stderr(&out));
}

#[test]
fn cs_1_crds_yaml_and_json_agree() {
    let yaml = kruise(&["crds"]);
    assert_eq!(yaml.status.code(), Some(0), "{}", stderr(&yaml));
    let from_yaml: Vec<CustomResourceDefinition> = serde_saphyr::from_multiple(&stdout(&yaml)).unwrap();
    let json = kruise(&["crds", "-o", "json"]);
    assert_eq!(json.status.code(), Some(0));
    let list: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let from_json: Vec<CustomResourceDefinition> = serde_json::from_value(list["items"].clone()).unwrap();
    assert_eq!(from_yaml, from_json);
    let names: Vec<_> = from_yaml.iter().filter_map(|c| c.metadata.name.as_deref()).collect();
    assert!(names.contains(&"clonesets.apps.kruise.io"), "{names:?}");
}

#[test]
fn validate_directory_checks_its_manifests_by_name() {
    let out = kruise(&["validate", "examples/seed"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert!(lines.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert!(lines.iter().all(|l| l.starts_with("examples/seed/") && l.ends_with(".yaml: ok")), "{text}");
}

#[test]
fn validate_directory_without_manifests_is_invalid() {
    // The snapshots directory of the root tests holds only `.snap` files.
    let out = kruise(&["validate", "tests/snapshots"]);
    assert_eq!((stdout(&out), out.status.code()), ("tests/snapshots: no manifests\n".to_owned(), Some(1)));
}

#[test]
fn crds_output_is_deterministic() {
    let (a, b) = (kruise(&["crds"]), kruise(&["crds"]));
    assert_eq!(a.status.code(), Some(0));
    assert!(!a.stdout.is_empty());
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn validate_json_output_is_one_object_per_line_on_stdout() {
    let (invalid, broken) = (format!("{DATA}/invalid.yaml"), format!("{DATA}/broken.yaml"));
    let out = kruise(&["validate", "-o", "json", "examples/seed/01-ok.yaml", &invalid, &broken]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "");
    let rows: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let results: Vec<&str> = rows.iter().map(|r| r["result"].as_str().unwrap()).collect();
    assert_eq!(results, ["ok", "invalid", "invalid", "invalid", "error"]);
    assert_eq!(rows[0]["file"], "examples/seed/01-ok.yaml");
    assert_eq!(rows[3]["object"], "CloneSet/bad-replicas");
    assert_eq!(rows[3]["path"], "spec.replicas");
    assert_eq!(
        (rows[4]["file"].as_str(), rows[4]["line"].as_u64(), rows[4]["column"].as_u64()),
        (Some(broken.as_str()), Some(8), Some(3))
    );
}

#[test]
fn validate_reports_every_field_error_of_an_object() {
    let file = format!("{DATA}/invalid-fields.yaml");
    let out = kruise(&["validate", &file]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with(&format!("{file}: CloneSet/negative: spec.replicas: ")), "{text}");
    assert!(
        lines[1].starts_with(&format!("{file}: CloneSet/negative: spec.updateStrategy.partition: ")),
        "{text}"
    );
}

#[test]
fn validate_checks_a_scenario_file_with_the_simulator_format() {
    let out = kruise(&["validate", "examples/seed/scenario.yaml"]);
    assert_eq!(stdout(&out), "examples/seed/scenario.yaml: ok\n", "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(0));
    let bad = format!("{DATA}/bad-scenario.yaml");
    let out = kruise(&["validate", &bad]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(&format!("{bad}: scenario: not a valid simulator scenario: ")),
        "{}",
        stdout(&out)
    );
}

/// Issue 11 item 12: `kruise validate --old OLD` checks objects present in OLD as updates
/// (CS-20: the selector is immutable); without `--old` the same file is a valid create.
#[test]
fn cs_20_validate_old_checks_update_rules() {
    let new = format!("{DATA}/selector-changed.yaml");
    let out = kruise(&["validate", &new]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = kruise(&["validate", "--old", "examples/seed/01-ok.yaml", &new]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("CloneSet/nginxweb1: spec: Forbidden"), "{text}");
    assert!(!text.contains(": ok"), "{text}");
    // An unchanged object is a valid update.
    let out = kruise(&["validate", "--old", "examples/seed/01-ok.yaml", "examples/seed/02-ok.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// `kruise serve` writes a kubeconfig naming a server on 127.0.0.1 that lists the scenario's
/// nodes; a scenario that cannot be read is exit 2.
#[test]
fn serve_writes_a_kubeconfig_and_serves_the_nodes() {
    use std::io::Read;
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    let _ = std::fs::remove_file(&kubeconfig);
    let bad =
        kruise(&["serve", "--kubeconfig", kubeconfig.to_str().unwrap(), "--scenario", "no/such/file.yaml"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("no/such/file.yaml"));

    let mut child = Command::new(env!("CARGO_BIN_EXE_kruise"))
        .args(["serve", "--nodes", "2", "--kubeconfig", kubeconfig.to_str().unwrap()])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let server = loop {
        let text = std::fs::read_to_string(&kubeconfig).unwrap_or_default();
        if let Some(s) = text.lines().find_map(|l| l.trim().strip_prefix("server: http://")) {
            break s.to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "no kubeconfig written");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut conn = std::net::TcpStream::connect(&server).unwrap();
    write!(conn, "GET /api/v1/nodes HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n\r\n").unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(server.starts_with("127.0.0.1:"), "{server}");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(
        reply.contains("\"NodeList\"") && reply.contains("node-2") && !reply.contains("node-3"),
        "{reply}"
    );
}
