//! `kruise validate FILE...`: reads each file, then for every object in it applies the webhook
//! defaults and runs the webhook validation, as the API server would on create.
//!
//! Output (stdout), one line each, files in the order given:
//! - `FILE: ok` when every object in FILE is valid (one line per file, however many objects);
//! - otherwise one line per problem, and no `ok` line for that file:
//!   `FILE: KIND/NAME: FIELD.PATH: MESSAGE`. An object without a name is shown as
//!   `KIND/(document N)`, one without a kind as `(document N)`; N counts the file's non-empty
//!   documents from 1. A document that does not decode as its kind (`replicas: three`) is
//!   reported at the field found by [`locate_decode_error`]; when no single field is to blame
//!   the line has no `FIELD.PATH: ` part.
//! - `FILE: no objects` when the file holds no document.
//!
//! A directory argument stands for the `*.yaml`, `*.yml` and `*.json` files directly in it,
//! by name (`DIR: no manifests`, exit 1, when there are none). Files that cannot be read or parsed are reported on stderr as `FILE: MESSAGE` or
//! `FILE:LINE:COLUMN: MESSAGE`, and the remaining files are still checked.
//!
//! With `-o json` the same findings are printed as JSON Lines on stdout, errors included
//! ([`Finding`], tagged by `result`).
//!
//! Exit status: 0 when every object is valid, 1 when any object is invalid (including unknown
//! kinds), 2 when any file cannot be read or parsed (2 wins over 1).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

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
    /// Manifest files: YAML (multi-document too) or JSON; `-` reads standard input; a
    /// directory stands for the `*.yaml`, `*.yml` and `*.json` files directly in it.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format: `text` lines, or `json` (one JSON object per line, all on stdout).
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// The objects as stored before (YAML or JSON, several documents allowed): an object of
    /// FILE with the same apiVersion, kind, namespace and name as one of these is checked as
    /// an update from it (the update-time rules, e.g. CS-20's immutable selector), the others
    /// as creates.
    #[arg(long, value_name = "OLD")]
    pub old: Option<PathBuf>,
}

/// Output syntax of `kruise validate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// `FILE: ...` lines; unreadable or unparsable files on stderr.
    Text,
    /// JSON Lines on stdout: `{"result": "ok" | "invalid" | "empty" | "error", "file": ..., ...}`.
    Json,
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum Finding {
    /// Every object in the file is valid.
    Ok {
        /// The file as given.
        file: String,
    },
    /// The file or directory holds nothing to check.
    Empty {
        /// The file or directory as given.
        file: String,
        /// `no objects` or `no manifests`.
        message: String,
    },
    /// One problem with one object.
    Invalid {
        /// The file as given.
        file: String,
        /// `KIND/NAME`, or a document number.
        object: String,
        /// The field at fault, when there is one.
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The file cannot be read or parsed.
    Error {
        /// The file as given.
        file: String,
        /// 1-based line, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<u64>,
        /// 1-based column, when known.
        #[serde(skip_serializing_if = "Option::is_none")]
        column: Option<u64>,
        /// The reader's or parser's message.
        message: String,
    },
}

impl Finding {
    /// The exit status this finding calls for.
    pub fn exit(&self) -> Exit {
        match self {
            Finding::Ok { .. } => Exit::Ok,
            Finding::Empty { .. } | Finding::Invalid { .. } => Exit::Invalid,
            Finding::Error { .. } => Exit::Error,
        }
    }

    /// Writes the finding as text: errors to `err`, everything else to `out`.
    pub fn write_text(&self, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<()> {
        match self {
            Finding::Ok { file } => writeln!(out, "{file}: ok"),
            Finding::Empty { file, message } => writeln!(out, "{file}: {message}"),
            Finding::Invalid { file, object, path: Some(path), message } => {
                writeln!(out, "{file}: {object}: {path}: {message}")
            }
            Finding::Invalid { file, object, path: None, message } => {
                writeln!(out, "{file}: {object}: {message}")
            }
            Finding::Error { file, line, column, message } => {
                let position =
                    input::ParseError { line: *line, column: *column, message: String::new() }.position(file);
                writeln!(err, "{position}: {message}")
            }
        }
    }

    fn emit(&self, output: Output, io: &mut Io<'_>) -> io::Result<()> {
        match output {
            Output::Text => self.write_text(io.out, io.err),
            Output::Json => {
                serde_json::to_writer(&mut *io.out, self)?;
                writeln!(io.out)
            }
        }
    }
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
        let mut emit = |finding: Finding, io: &mut Io<'_>| {
            exit = exit.max(finding.exit());
            finding.emit(self.output, io)
        };
        let olds = match &self.old {
            None => Vec::new(),
            Some(path) => match read_olds(path, io) {
                Ok(olds) => olds,
                Err(finding) => {
                    emit(finding, io)?;
                    return Ok(exit);
                }
            },
        };
        let mut files = Vec::with_capacity(self.files.len());
        for arg in &self.files {
            let shown = arg.display().to_string();
            if !arg.is_dir() {
                files.push(arg.clone());
                continue;
            }
            match manifests_in(arg) {
                Ok(found) if found.is_empty() => {
                    emit(Finding::Empty { file: shown, message: "no manifests".into() }, io)?
                }
                Ok(found) => files.extend(found),
                Err(e) => {
                    let message = format!("cannot read directory: {e}");
                    emit(Finding::Error { file: shown, line: None, column: None, message }, io)?;
                }
            }
        }
        for file in &files {
            let shown = file.display().to_string();
            let text = if shown == "-" {
                let mut s = String::new();
                io.stdin.read_to_string(&mut s).map(|_| s)
            } else {
                std::fs::read_to_string(file)
            };
            let findings = match text {
                Err(e) => {
                    vec![Finding::Error {
                        file: shown,
                        line: None,
                        column: None,
                        message: format!("cannot read: {e}"),
                    }]
                }
                Ok(text) => match input::parse(&shown, &text) {
                    Ok(docs) => with_updates(check_file(&shown, &docs), &shown, &docs, &olds),
                    Err(e) => vec![Finding::Error {
                        file: shown,
                        line: e.line,
                        column: e.column,
                        message: e.message,
                    }],
                },
            };
            for finding in findings {
                emit(finding, io)?;
            }
        }
        Ok(exit)
    }
}

/// The objects of `--old`, defaulted; a file that cannot be read, parsed or decoded is an
/// `Error` finding.
fn read_olds(path: &Path, io: &mut Io<'_>) -> Result<Vec<AnyResource>, Finding> {
    let shown = path.display().to_string();
    let error = |line, column, message| Finding::Error { file: shown.clone(), line, column, message };
    let text = if shown == "-" {
        let mut s = String::new();
        io.stdin.read_to_string(&mut s).map(|_| s)
    } else {
        std::fs::read_to_string(path)
    };
    let text = text.map_err(|e| error(None, None, format!("cannot read: {e}")))?;
    let docs = input::parse(&shown, &text).map_err(|e| error(e.line, e.column, e.message))?;
    docs.into_iter()
        .enumerate()
        .map(|(i, doc)| {
            let mut r = AnyResource::from_value(doc)
                .map_err(|e| error(None, None, format!("document {}: {e}", i + 1)))?;
            r.apply_defaults();
            Ok(r)
        })
        .collect()
}

/// `findings` of a file, plus the update-time problems of each of its objects that has an
/// old version in `olds` (same apiVersion, kind, namespace and name); an `Ok` finding gives
/// way to them.
fn with_updates(findings: Vec<Finding>, file: &str, docs: &[Value], olds: &[AnyResource]) -> Vec<Finding> {
    if olds.is_empty() {
        return findings;
    }
    let mut extra = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let Ok(mut new) = AnyResource::from_value(doc.clone()) else { continue };
        new.apply_defaults();
        let old = olds.iter().find(|o| {
            (o.api_version(), o.kind(), o.namespace(), o.name())
                == (new.api_version(), new.kind(), new.namespace(), new.name())
        });
        let Some(Some(Err(errs))) = old.map(|o| new.validate_update(o)) else { continue };
        let object = label(i + 1, doc);
        for p in validation_problems(&object, &errs) {
            let dup = findings.iter().any(|f| {
                matches!(f, Finding::Invalid { object, path, message, .. }
                    if *object == p.object && *path == p.path && *message == p.message)
            });
            if !dup {
                extra.push(Finding::Invalid {
                    file: file.to_owned(),
                    object: p.object,
                    path: p.path,
                    message: p.message,
                });
            }
        }
    }
    if extra.is_empty() {
        return findings;
    }
    findings.into_iter().filter(|f| !matches!(f, Finding::Ok { .. })).chain(extra).collect()
}

/// The `*.yaml`, `*.yml` and `*.json` files directly in `dir`, sorted by name.
fn manifests_in(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let manifest = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ["yaml", "yml", "json"].contains(&e.to_ascii_lowercase().as_str()));
        if manifest && path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// The findings for the documents of one file: one `Ok`, one `Empty`, or an `Invalid` per
/// problem.
pub fn check_file(file: &str, docs: &[Value]) -> Vec<Finding> {
    if docs.is_empty() {
        return vec![Finding::Empty { file: file.to_owned(), message: "no objects".into() }];
    }
    if let [doc] = docs
        && is_scenario(doc)
    {
        return match check_scenario(doc) {
            None => vec![Finding::Ok { file: file.to_owned() }],
            Some(message) => vec![Finding::Invalid {
                file: file.to_owned(),
                object: "scenario".into(),
                path: None,
                message,
            }],
        };
    }
    let problems: Vec<Problem> = docs.iter().enumerate().flat_map(|(i, doc)| check(i + 1, doc)).collect();
    if problems.is_empty() {
        return vec![Finding::Ok { file: file.to_owned() }];
    }
    problems
        .into_iter()
        .map(|p| Finding::Invalid {
            file: file.to_owned(),
            object: p.object,
            path: p.path,
            message: p.message,
        })
        .collect()
}

/// True for a `kruise simulate` scenario file: one mapping with `steps` and neither
/// `apiVersion` nor `kind` (so `kruise validate examples/seed/*.yaml` checks the scenario that
/// sits beside the manifests instead of calling it an object without a kind).
fn is_scenario(doc: &Value) -> bool {
    doc.get("steps").is_some() && doc.get("apiVersion").is_none() && doc.get("kind").is_none()
}

/// Decodes a scenario with the simulator's own format; `None` when it is well-formed.
fn check_scenario(doc: &Value) -> Option<String> {
    serde_json::from_value::<kruise_sim::scenario::Scenario>(doc.clone())
        .err()
        .map(|e| format!("not a valid simulator scenario: {e}"))
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
        Err(AnyError::Decode(message)) => {
            let path = locate_decode_error(doc, &message);
            return vec![problem(path.as_deref(), format!("cannot decode: {message}"))];
        }
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

/// The field a decode error comes from: the deepest field whose removal makes the error go
/// away or change (serde's messages carry no path). `None` when no single field is to blame.
///
/// Every field of the OpenKruise types has a default, so removing one never causes an error
/// of its own; the search decodes the document once per field along one path.
pub fn locate_decode_error(doc: &Value, message: &str) -> Option<String> {
    let still_fails = |candidate: &Value| match AnyResource::from_value(candidate.clone()) {
        Err(AnyError::Decode(m)) => m == message,
        _ => false,
    };
    let mut pointer: Vec<PathStep> = Vec::new();
    'descend: loop {
        let node = pointer.iter().try_fold(doc, |v, step| step.get(v))?;
        let children: Vec<PathStep> = match node {
            Value::Object(fields) => fields.keys().map(|k| PathStep::Key(k.clone())).collect(),
            Value::Array(items) => (0..items.len()).map(PathStep::Index).collect(),
            _ => break,
        };
        for child in children {
            // `apiVersion` and `kind` choose the type: removing them is another error, not this one.
            if pointer.is_empty() && matches!(&child, PathStep::Key(k) if k == "apiVersion" || k == "kind") {
                continue;
            }
            let mut candidate = doc.clone();
            let parent = pointer.iter().try_fold(&mut candidate, |v, step| step.get_mut(v))?;
            child.remove(parent);
            if !still_fails(&candidate) {
                pointer.push(child);
                continue 'descend;
            }
        }
        break;
    }
    if pointer.is_empty() {
        return None;
    }
    let mut path = String::new();
    for step in &pointer {
        match step {
            PathStep::Key(k) if path.is_empty() => path.push_str(k),
            PathStep::Key(k) => {
                path.push('.');
                path.push_str(k);
            }
            PathStep::Index(i) => path.push_str(&format!("[{i}]")),
        }
    }
    Some(path)
}

/// One step of a path into a JSON document.
#[derive(Clone, Debug)]
enum PathStep {
    Key(String),
    Index(usize),
}

impl PathStep {
    fn get<'v>(&self, v: &'v Value) -> Option<&'v Value> {
        match self {
            PathStep::Key(k) => v.get(k),
            PathStep::Index(i) => v.get(i),
        }
    }
    fn get_mut<'v>(&self, v: &'v mut Value) -> Option<&'v mut Value> {
        match self {
            PathStep::Key(k) => v.get_mut(k),
            PathStep::Index(i) => v.get_mut(i),
        }
    }
    fn remove(&self, parent: &mut Value) {
        match (self, parent) {
            (PathStep::Key(k), Value::Object(fields)) => {
                fields.remove(k);
            }
            (PathStep::Index(i), Value::Array(items)) if *i < items.len() => {
                items.remove(*i);
            }
            _ => {}
        }
    }
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

    fn text(findings: &[Finding]) -> String {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        for f in findings {
            f.write_text(&mut out, &mut err).unwrap();
        }
        assert!(err.is_empty());
        String::from_utf8(out).unwrap()
    }

    fn lines(file: &str, docs: &[Value]) -> (Exit, String) {
        let findings = check_file(file, docs);
        let exit = findings.iter().fold(Exit::Ok, |e, f| e.max(f.exit()));
        (exit, text(&findings))
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
        assert!(out.starts_with("r.yaml: CloneSet/web: spec.replicas: cannot decode: "), "{out}");
    }

    #[test]
    fn decode_errors_are_located_in_lists_and_maps() {
        let mut doc = cloneset("web");
        doc["spec"]["scaleStrategy"] = json!({"podsToDelete": ["a", 7, "c"]});
        let (_, out) = lines("l.yaml", &[doc]);
        assert!(
            out.starts_with("l.yaml: CloneSet/web: spec.scaleStrategy.podsToDelete[1]: cannot decode: "),
            "{out}"
        );

        let mut doc = cloneset("web");
        doc["metadata"]["labels"] = json!({"app": "web", "tier": {"nested": true}});
        let (_, out) = lines("m.yaml", &[doc]);
        assert!(out.starts_with("m.yaml: CloneSet/web: metadata.labels.tier: cannot decode: "), "{out}");
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
        let findings: Vec<Finding> = validation_problems("CloneSet/web", &errs)
            .into_iter()
            .map(|p| Finding::Invalid {
                file: "w.yaml".into(),
                object: p.object,
                path: p.path,
                message: p.message,
            })
            .collect();
        assert_eq!(
            text(&findings),
            "w.yaml: CloneSet/web: spec.replicas: Invalid value: -1: must be >= 0\n\
             w.yaml: CloneSet/web: spec.selector: Required value: selector is required\n"
        );
    }

    #[test]
    fn empty_file_has_no_objects() {
        assert_eq!(lines("e.yaml", &[]), (Exit::Invalid, "e.yaml: no objects\n".to_owned()));
    }

    #[test]
    fn json_findings_are_tagged_by_result() {
        let findings = [
            Finding::Ok { file: "a.yaml".into() },
            Finding::Invalid {
                file: "b.yaml".into(),
                object: "CloneSet/web".into(),
                path: None,
                message: "m".into(),
            },
            Finding::Error {
                file: "c.yaml".into(),
                line: Some(3),
                column: Some(1),
                message: "invalid YAML: x".into(),
            },
        ];
        let json: Vec<Value> = findings.iter().map(|f| serde_json::to_value(f).unwrap()).collect();
        assert_eq!(
            json,
            [
                json!({"result": "ok", "file": "a.yaml"}),
                json!({"result": "invalid", "file": "b.yaml", "object": "CloneSet/web", "message": "m"}),
                json!({"result": "error", "file": "c.yaml", "line": 3, "column": 1, "message": "invalid YAML: x"}),
            ]
        );
        assert_eq!(findings.iter().fold(Exit::Ok, |e, f| e.max(f.exit())), Exit::Error);
    }

    #[test]
    fn text_errors_go_to_stderr_with_position() {
        let f = Finding::Error {
            file: "c.yaml".into(),
            line: Some(3),
            column: Some(7),
            message: "invalid YAML: x".into(),
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        f.write_text(&mut out, &mut err).unwrap();
        assert!(out.is_empty());
        assert_eq!(String::from_utf8(err).unwrap(), "c.yaml:3:7: invalid YAML: x\n");
    }
}
