//! The catalogue of invalid manifests: every file under `tests/data/invalid/` must fail
//! defaulting + validation, and each field path named on a `# expect: <path>` line of the file
//! must be among the reported error paths.

use std::path::Path;

use kruise_api::any::AnyResource;

#[test]
fn every_invalid_manifest_fails_with_its_field_path() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "the catalogue holds only {} manifests", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let expected: Vec<&str> =
            text.lines().filter_map(|l| l.strip_prefix("# expect:")).map(str::trim).collect();
        assert!(!expected.is_empty(), "{}: no `# expect: <field path>` line", path.display());
        let value: serde_json::Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut obj = AnyResource::from_value(value).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        obj.apply_defaults();
        match obj.validate() {
            Ok(()) => {
                failures.push(format!("{}: validated, expected errors at {expected:?}", path.display()))
            }
            Err(errs) => {
                let paths: Vec<String> = errs.iter().map(|e| e.path.to_string()).collect();
                for want in &expected {
                    if !paths.iter().any(|p| p == want) {
                        failures.push(format!("{}: no error at {want}; got {errs}", path.display()));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} manifests wrong:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
