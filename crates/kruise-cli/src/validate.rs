//! `kruise validate FILE...`: reads each file, then for every object in it applies the webhook
//! defaults and runs the webhook validation, as the API server would on create.
//!
//! Output (stdout), one line each, files in the order given:
//! - `FILE: ok` when every object in FILE is valid (one line per file, however many objects);
//! - otherwise one line per problem, and no `ok` line for that file:
//!   `FILE: KIND/NAME: FIELD.PATH: MESSAGE`. An object without a name is shown as
//!   `KIND/(document N)`, one without a kind as `(document N)`; N counts the file's non-empty
//!   documents from 1. Problems that belong to no single field (a document that does not decode
//!   as its kind) have no `FIELD.PATH: ` part.
//! - `FILE: no objects` when the file holds no document.
//!
//! Files that cannot be read or parsed are reported on stderr as `FILE: MESSAGE` or
//! `FILE:LINE:COLUMN: MESSAGE`, and the remaining files are still checked.
//!
//! Exit status: 0 when every object is valid, 1 when any object is invalid (including unknown
//! kinds), 2 when any file cannot be read or parsed (2 wins over 1).

use std::io::{self, Write};
use std::path::PathBuf;

use kruise_api::ValidationErrors;
use kruise_api::any::{AnyError, AnyResource};
use serde_json::Value;

use crate::input;
use crate::{Exit, Io, Run};

/// Default and validate OpenKruise manifests.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 all valid, 1 some object invalid, 2 some file unreadable or unparsable."
)]
pub struct Args {
    /// Manifest files: YAML (multi-document too) or JSON; `-` reads standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// One problem with one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// `KIND/NAME`, or a document number when the object has no kind.
    pub object: String,
    /// The field at fault, when there is one.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl Run for Args {
    fn run(&self, io: &mut Io<'_>) -> io::Result<Exit> {
        let mut exit = Exit::Ok;
        for file in &self.files {
            let shown = file.display().to_string();
            let text = if shown == "-" {
                let mut s = String::new();
                io.stdin.read_to_string(&mut s).map(|_| s)
            } else {
                std::fs::read_to_string(file)
            };
            let text = match text {
                Ok(text) => text,
                Err(e) => {
                    writeln!(io.err, "{shown}: cannot read: {e}")?;
                    exit = exit.max(Exit::Error);
                    continue;
                }
            };
            let docs = match input::parse(&shown, &text) {
                Ok(docs) => docs,
                Err(e) => {
                    writeln!(io.err, "{}: {}", e.position(&shown), e.message)?;
                    exit = exit.max(Exit::Error);
                    continue;
                }
            };
            exit = exit.max(report_file(&shown, &docs, io.out)?);
        }
        Ok(exit)
    }
}

/// Checks the documents of one file and writes its lines.
pub fn report_file(file: &str, docs: &[Value], out: &mut dyn Write) -> io::Result<Exit> {
    if docs.is_empty() {
        writeln!(out, "{file}: no objects")?;
        return Ok(Exit::Invalid);
    }
    let problems: Vec<Problem> = docs.iter().enumerate().flat_map(|(i, doc)| check(i + 1, doc)).collect();
    if problems.is_empty() {
        writeln!(out, "{file}: ok")?;
        return Ok(Exit::Ok);
    }
    write_problems(file, &problems, out)?;
    Ok(Exit::Invalid)
}

/// `FILE: OBJECT: PATH: MESSAGE` (or `FILE: OBJECT: MESSAGE`), one line per problem.
pub fn write_problems(file: &str, problems: &[Problem], out: &mut dyn Write) -> io::Result<()> {
    for p in problems {
        match &p.path {
            Some(path) => writeln!(out, "{file}: {}: {path}: {}", p.object, p.message)?,
            None => writeln!(out, "{file}: {}: {}", p.object, p.message)?,
        }
    }
    Ok(())
}

/// Decodes, defaults and validates document number `n` (from 1); every problem found.
pub fn check(n: usize, doc: &Value) -> Vec<Problem> {
    let object = label(n, doc);
    let problem = |path: Option<&str>, message: String| Problem {
        object: object.clone(),
        path: path.map(str::to_owned),
        message,
    };
    if !doc.is_object() {
        return vec![problem(None, format!("not an object (found {})", json_type(doc)))];
    }
    let mut resource = match AnyResource::from_value(doc.clone()) {
        Ok(r) => r,
        Err(AnyError::Missing(field)) => {
            return vec![problem(
                Some(field),
                "Required value: every object needs apiVersion and kind".into(),
            )];
        }
        Err(AnyError::UnknownKind { api_version, kind }) => {
            let (path, message) = unknown_kind(&api_version, &kind);
            return vec![problem(Some(path), message)];
        }
        Err(AnyError::Decode(message)) => return vec![problem(None, format!("cannot decode: {message}"))],
        Err(other) => return vec![problem(None, other.to_string())],
    };
    resource.apply_defaults();
    match resource.validate() {
        Ok(()) => Vec::new(),
        Err(errs) => validation_problems(&object, &errs),
    }
}

/// One [`Problem`] per validation error: the path, then `KIND[: VALUE]: MESSAGE` as kubectl
/// words webhook denials (`Invalid value: -1: must be >= 0`).
pub fn validation_problems(object: &str, errs: &ValidationErrors) -> Vec<Problem> {
    errs.iter()
        .map(|e| {
            let value = e.value.as_ref().map(|v| format!(": {v}")).unwrap_or_default();
            Problem {
                object: object.to_owned(),
                path: Some(e.path.to_string()),
                message: format!("{}{value}: {}", e.kind.as_str(), e.message),
            }
        })
        .collect()
}

/// `KIND/NAME`, `KIND/(document N)` or `(document N)`.
fn label(n: usize, doc: &Value) -> String {
    let kind = doc.get("kind").and_then(Value::as_str).filter(|k| !k.is_empty());
    let name = doc
        .get("metadata")
        .and_then(|m| m.get("name").or_else(|| m.get("generateName")))
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty());
    match (kind, name) {
        (Some(k), Some(name)) => format!("{k}/{name}"),
        (Some(k), None) => format!("{k}/(document {n})"),
        (None, _) => format!("(document {n})"),
    }
}

/// Which of `apiVersion`/`kind` is wrong, and what is known instead.
fn unknown_kind(api_version: &str, kind: &str) -> (&'static str, String) {
    let kinds = kruise_api::crd::all_kinds();
    let served = |k: &kruise_api::crd::KindInfo| {
        k.versions.iter().filter(|v| v.served).map(|v| format!("{}/{}", k.group, v.name)).collect::<Vec<_>>()
    };
    if let Some(k) = kinds.iter().find(|k| k.kind == kind) {
        let versions = served(k).join(", ");
        return ("apiVersion", format!("Unsupported value: {api_version:?}: {kind} is served as {versions}"));
    }
    let mut known: Vec<String> =
        kinds.iter().flat_map(|k| served(k).into_iter().map(move |v| format!("{v} {}", k.kind))).collect();
    known.sort();
    (
        "kind",
        format!(
            "Unsupported value: {kind:?} in {api_version:?}: not a kind kruise-rs knows (known: {})",
            known.join(", ")
        ),
    )
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use kruise_api::field::{ErrorKind, FieldPath, ValidationError};
    use serde_json::json;

    use super::*;

    fn cloneset(name: &str) -> Value {
        json!({
            "apiVersion": "apps.kruise.io/v1alpha1",
            "kind": "CloneSet",
            "metadata": {"name": name},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]}
                }
            }
        })
    }

    fn lines(file: &str, docs: &[Value]) -> (Exit, String) {
        let mut out = Vec::new();
        let exit = report_file(file, docs, &mut out).unwrap();
        (exit, String::from_utf8(out).unwrap())
    }

    #[test]
    fn all_valid_objects_give_one_ok_line_per_file() {
        let (exit, out) = lines("a.yaml", &[cloneset("a"), cloneset("b")]);
        assert_eq!((exit, out.as_str()), (Exit::Ok, "a.yaml: ok\n"));
    }

    #[test]
    fn unknown_kind_names_api_version_and_kind() {
        let doc = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}});
        let (exit, out) = lines("d.yaml", &[doc]);
        assert_eq!(exit, Exit::Invalid);
        assert!(
            out.starts_with("d.yaml: Deployment/web: kind: Unsupported value: \"Deployment\" in \"apps/v1\""),
            "{out}"
        );
        assert!(out.contains("apps.kruise.io/v1alpha1 CloneSet"), "{out}");
    }

    #[test]
    fn known_kind_in_wrong_group_blames_api_version() {
        let mut doc = cloneset("web");
        doc["apiVersion"] = json!("apps.kruise.io/v1");
        let (exit, out) = lines("c.yaml", &[doc]);
        assert_eq!(exit, Exit::Invalid);
        assert!(
            out.starts_with("c.yaml: CloneSet/web: apiVersion: Unsupported value: \"apps.kruise.io/v1\""),
            "{out}"
        );
    }

    #[test]
    fn missing_kind_and_non_objects_are_invalid() {
        let (exit, out) = lines("m.yaml", &[json!({"metadata": {"name": "x"}}), json!("text")]);
        assert_eq!(exit, Exit::Invalid);
        assert_eq!(
            out,
            "m.yaml: (document 1): apiVersion: Required value: every object needs apiVersion and kind\n\
             m.yaml: (document 2): not an object (found a string)\n"
        );
    }

    #[test]
    fn undecodable_object_has_no_field_path() {
        let mut doc = cloneset("web");
        doc["spec"]["replicas"] = json!("three");
        let (exit, out) = lines("r.yaml", &[doc]);
        assert_eq!(exit, Exit::Invalid);
        assert!(out.starts_with("r.yaml: CloneSet/web: cannot decode: "), "{out}");
    }

    #[test]
    fn unnamed_object_is_labelled_by_document_number() {
        let mut doc = cloneset("x");
        doc["metadata"] = json!({});
        assert_eq!(label(3, &doc), "CloneSet/(document 3)");
        doc["metadata"] = json!({"generateName": "web-"});
        assert_eq!(label(3, &doc), "CloneSet/web-");
    }

    #[test]
    fn validation_errors_become_one_line_each() {
        let errs = ValidationErrors(vec![
            ValidationError::new(
                ErrorKind::Invalid,
                FieldPath::from("spec.replicas"),
                Some("-1".into()),
                "must be >= 0",
            ),
            ValidationError::required(FieldPath::from("spec.selector"), "selector is required"),
        ]);
        let mut out = Vec::new();
        write_problems("w.yaml", &validation_problems("CloneSet/web", &errs), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "w.yaml: CloneSet/web: spec.replicas: Invalid value: -1: must be >= 0\n\
             w.yaml: CloneSet/web: spec.selector: Required value: selector is required\n"
        );
    }

    #[test]
    fn empty_file_has_no_objects() {
        assert_eq!(lines("e.yaml", &[]), (Exit::Invalid, "e.yaml: no objects\n".to_owned()));
    }
}
