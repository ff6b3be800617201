//! The CloneSet and StatefulSet manifests of the invalid-manifest catalogue
//! (`tests/data/invalid/{cloneset,statefulset}-*.yaml` at the repository root) fail defaulting +
//! validation with exactly the field paths their `# expect:` lines name: no error missing and
//! none extra, so each file checks the one rule it is named after.

use std::collections::BTreeSet;
use std::path::PathBuf;

use kruise_api::any::AnyResource;

fn catalogue() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/invalid")
}

fn check(prefix: &str, min: usize) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(catalogue())
        .expect("catalogue directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml")
                && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect();
    files.sort();
    assert!(files.len() >= min, "expected at least {min} {prefix}*.yaml files, found {}", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable");
        let expected: BTreeSet<String> =
            text.lines().filter_map(|l| l.strip_prefix("# expect:")).map(|s| s.trim().to_owned()).collect();
        let value: serde_json::Value = serde_saphyr::from_str(&text).expect("valid YAML");
        let mut obj = AnyResource::from_value(value).expect("a known kind");
        obj.apply_defaults();
        let got: BTreeSet<String> = match obj.validate() {
            Ok(()) => BTreeSet::new(),
            Err(errs) => errs.iter().map(|e| e.path.to_string()).collect(),
        };
        if got != expected {
            failures.push(format!("{}: expected {expected:?}, got {got:?}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn cs_13_to_cs_19_each_cloneset_manifest_fails_exactly_as_expected() {
    check("cloneset-", 14);
}

#[test]
fn asts_8_each_statefulset_manifest_fails_exactly_as_expected() {
    check("statefulset-", 8);
}
