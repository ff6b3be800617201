//! Reading manifest files: YAML (one or many `---`-separated documents) or JSON (one object or
//! a stream of them), chosen by extension (`.json`, `.yaml`, `.yml`) or else by content (a
//! first non-blank `{` means JSON). A `kind: List` document stands for its `items`.

use serde_json::Value;

/// The syntax of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// YAML, possibly several documents.
    Yaml,
    /// JSON, possibly several concatenated values.
    Json,
}

impl Format {
    /// By extension, else by the first non-blank character.
    pub fn detect(name: &str, text: &str) -> Format {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Format::Json
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Format::Yaml
        } else if text.trim_start_matches('\u{feff}').trim_start().starts_with('{') {
            Format::Json
        } else {
            Format::Yaml
        }
    }
}

/// A file that is not well-formed YAML or JSON.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line, when the parser knows it.
    pub line: Option<u64>,
    /// 1-based column, when the parser knows it.
    pub column: Option<u64>,
    /// The parser's message.
    pub message: String,
}

impl ParseError {
    /// `FILE:LINE:COLUMN` (or just `FILE` when the position is unknown).
    pub fn position(&self, file: &str) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
            (Some(l), None) => format!("{file}:{l}"),
            _ => file.to_owned(),
        }
    }
}

/// The documents of a file, in order; empty YAML documents are skipped and `List`s expanded.
pub fn parse(name: &str, text: &str) -> Result<Vec<Value>, ParseError> {
    let docs = match Format::detect(name, text) {
        Format::Json => parse_json(text)?,
        Format::Yaml => parse_yaml(text)?,
    };
    let mut out = Vec::with_capacity(docs.len());
    for doc in docs {
        expand_lists(doc, &mut out);
    }
    Ok(out)
}

fn parse_json(text: &str) -> Result<Vec<Value>, ParseError> {
    serde_json::Deserializer::from_str(text).into_iter::<Value>().collect::<Result<Vec<_>, _>>().map_err(
        |e| ParseError {
            line: (e.line() > 0).then_some(e.line() as u64),
            column: (e.column() > 0).then_some(e.column() as u64),
            message: format!("invalid JSON: {}", strip_json_position(&e.to_string())),
        },
    )
}

/// serde_json appends ` at line L column C`; the position is printed in front instead.
fn strip_json_position(msg: &str) -> &str {
    msg.rfind(" at line ").map_or(msg, |i| &msg[..i])
}

/// serde-saphyr ends plain messages with ` at line L, column C`; printed in front instead.
fn strip_yaml_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(", column ") => &msg[..i],
        _ => msg,
    }
}

fn parse_yaml(text: &str) -> Result<Vec<Value>, ParseError> {
    serde_saphyr::from_multiple::<Value>(text).map_err(|e| {
        let location = e.location().filter(|l| l.line() > 0);
        let plain = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
        let message = e.render_with_options(plain);
        ParseError {
            line: location.map(|l| l.line()),
            column: location.map(|l| l.column()),
            message: format!(
                "invalid YAML: {}",
                strip_yaml_position(message.lines().next().unwrap_or_default().trim())
            ),
        }
    })
}

/// `{apiVersion: v1, kind: List, items: [...]}` (what `kubectl get -o yaml` prints) → its items.
fn expand_lists(doc: Value, out: &mut Vec<Value>) {
    let is_list = doc.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && doc.get("kind").and_then(Value::as_str) == Some("List");
    match doc {
        Value::Object(mut obj) if is_list => {
            if let Some(Value::Array(items)) = obj.remove("items") {
                for item in items {
                    expand_lists(item, out);
                }
            }
        }
        other => out.push(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_by_extension_then_content() {
        assert_eq!(Format::detect("a.JSON", "kind: x"), Format::Json);
        assert_eq!(Format::detect("a.yml", "{}"), Format::Yaml);
        assert_eq!(Format::detect("-", "  \n {\"kind\": 1}"), Format::Json);
        assert_eq!(Format::detect("manifest", "kind: CloneSet"), Format::Yaml);
    }

    #[test]
    fn yaml_documents_in_order_without_empty_ones() {
        let docs = parse("x.yaml", "---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs, vec![serde_json::json!({"a": 1}), serde_json::json!({"b": 2})]);
    }

    #[test]
    fn json_stream_and_list_expansion() {
        let text = r#"{"a": 1} {"apiVersion": "v1", "kind": "List", "items": [{"b": 2}, {"c": 3}]}"#;
        let docs = parse("x.json", text).unwrap();
        assert_eq!(
            docs,
            vec![serde_json::json!({"a": 1}), serde_json::json!({"b": 2}), serde_json::json!({"c": 3})]
        );
    }

    #[test]
    fn yaml_error_has_line_and_column() {
        let err = parse("x.yaml", "a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.line.is_some_and(|l| l >= 2), "{err:?}");
        assert!(err.column.is_some(), "{err:?}");
        assert!(err.message.starts_with("invalid YAML: "), "{err:?}");
        assert!(!err.message.contains('\n'));
        assert!(!err.message.contains("at line"), "{err:?}");
    }

    #[test]
    fn json_error_has_line_and_column() {
        let err = parse("x.json", "{\n  \"a\": 1,\n  \"b\": ]\n}").unwrap_err();
        assert_eq!((err.line, err.column), (Some(3), Some(8)));
        assert_eq!(err.position("x.json"), "x.json:3:8");
        assert!(!err.message.contains("at line"), "{err:?}");
    }
}
