//! List and watch filters: `labelSelector` strings (`a=b,c!=d,e in (x,y),f notin (z),g,!h`)
//! parsed into a `LabelSelector` and matched by kruise-api's selector matching, and
//! `fieldSelector` strings (`metadata.name=x,spec.nodeName!=y`) over the object's JSON.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use serde_json::Value;

/// A selector string that does not parse (400).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse requirement: {0}")]
pub struct BadSelector(pub String);

fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out.into_iter().map(str::trim).filter(|p| !p.is_empty()).collect()
}

fn req(key: &str, operator: &str, values: Option<Vec<String>>) -> LabelSelectorRequirement {
    LabelSelectorRequirement { key: key.to_owned(), operator: operator.to_owned(), values }
}

fn set_op<'a>(part: &'a str, word: &str) -> Option<(&'a str, &'a str)> {
    let i = part.find(word)?;
    let (key, rest) = (part[..i].trim(), part[i + word.len()..].trim());
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    (!key.is_empty() && !key.contains(char::is_whitespace)).then_some((key, inner))
}

/// Parses a `labelSelector` query value.
pub fn parse_label_selector(s: &str) -> Result<LabelSelector, BadSelector> {
    let mut exprs = Vec::new();
    let mut labels = BTreeMap::new();
    let valid = |k: &str| !k.is_empty() && !k.contains(|c: char| c.is_whitespace() || "=!(),".contains(c));
    for part in split_top(s) {
        let bad = || BadSelector(part.to_owned());
        let values = |inner: &str| {
            Some(inner.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect())
        };
        if let Some((key, inner)) = set_op(part, " notin ") {
            exprs.push(req(key, "NotIn", values(inner)));
        } else if let Some((key, inner)) = set_op(part, " in ") {
            exprs.push(req(key, "In", values(inner)));
        } else if let Some((k, v)) = part.split_once("!=") {
            let (k, v) = (k.trim(), v.trim());
            if !valid(k) {
                return Err(bad());
            }
            exprs.push(req(k, "NotIn", Some(vec![v.to_owned()])));
        } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
            let (k, v) = (k.trim(), v.trim());
            if !valid(k) || v.contains(['=', '!']) {
                return Err(bad());
            }
            if labels.get(k).is_some_and(|old: &String| old != v) {
                exprs.push(req(k, "In", Some(vec![v.to_owned()])));
            } else {
                labels.insert(k.to_owned(), v.to_owned());
            }
        } else if let Some(k) = part.strip_prefix('!') {
            let k = k.trim();
            if !valid(k) {
                return Err(bad());
            }
            exprs.push(req(k, "DoesNotExist", None));
        } else if valid(part) {
            exprs.push(req(part, "Exists", None));
        } else {
            return Err(bad());
        }
    }
    Ok(LabelSelector {
        match_labels: (!labels.is_empty()).then_some(labels),
        match_expressions: (!exprs.is_empty()).then_some(exprs),
    })
}

/// True when `obj`'s labels match `selector` (kruise-api's matching).
pub fn labels_match(selector: &LabelSelector, obj: &Value) -> bool {
    let labels: Option<BTreeMap<String, String>> =
        obj.pointer("/metadata/labels").and_then(|l| serde_json::from_value(l.clone()).ok());
    kruise_api::validation::meta::selector_matches(selector, labels.as_ref())
}

/// One `fieldSelector` term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldTerm {
    /// JSON pointer of the field (`/metadata/name`).
    pub pointer: String,
    /// The value compared with.
    pub value: String,
    /// `!=` (else `=`/`==`).
    pub negated: bool,
}

/// Parses a `fieldSelector` query value.
pub fn parse_field_selector(s: &str) -> Result<Vec<FieldTerm>, BadSelector> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (field, value, negated) = if let Some((f, v)) = part.split_once("!=") {
            (f, v, true)
        } else if let Some((f, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
            (f, v, false)
        } else {
            return Err(BadSelector(part.to_owned()));
        };
        let field = field.trim();
        if field.is_empty() || field.contains(char::is_whitespace) {
            return Err(BadSelector(part.to_owned()));
        }
        out.push(FieldTerm {
            pointer: format!("/{}", field.replace('.', "/")),
            value: value.trim().to_owned(),
            negated,
        });
    }
    Ok(out)
}

/// True when every term holds for `obj` (an absent field reads as `""`).
pub fn fields_match(terms: &[FieldTerm], obj: &Value) -> bool {
    terms.iter().all(|t| {
        let have = match obj.pointer(&t.pointer) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        };
        (have == t.value) != t.negated
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(labels: Value) -> Value {
        json!({"metadata": {"name": "p", "labels": labels}, "spec": {"nodeName": "node-1"}})
    }

    #[test]
    fn label_selectors_parse_and_match_as_kubectl_means_them() {
        let s = parse_label_selector("app=web, tier in (a, b),env notin (prod),!legacy,track")
            .unwrap_or_default();
        assert!(labels_match(&s, &pod(json!({"app": "web", "tier": "a", "env": "dev", "track": "x"}))));
        assert!(!labels_match(&s, &pod(json!({"app": "web", "tier": "c", "env": "dev", "track": "x"}))));
        assert!(!labels_match(&s, &pod(json!({"app": "web", "tier": "a", "env": "prod", "track": "x"}))));
        assert!(!labels_match(&s, &pod(json!({"app": "web", "tier": "a", "track": "x", "legacy": "1"}))));
        assert!(!labels_match(&s, &pod(json!({"app": "web", "tier": "a"}))));
        let s = parse_label_selector("app!=web").unwrap_or_default();
        assert!(labels_match(&s, &pod(json!({}))));
        assert!(!labels_match(&s, &pod(json!({"app": "web"}))));
        assert!(labels_match(&parse_label_selector("").unwrap_or_default(), &pod(json!({}))));
        assert!(parse_label_selector("a b=c").is_err());
        assert!(parse_label_selector("=x").is_err());
        let s = parse_label_selector("名前=値").unwrap_or_default();
        assert!(labels_match(&s, &pod(json!({"名前": "値"}))));
    }

    #[test]
    fn field_selectors_compare_json_fields() {
        let f = parse_field_selector("metadata.name=p,spec.nodeName!=node-2").unwrap_or_default();
        assert!(fields_match(&f, &pod(json!({}))));
        let f = parse_field_selector("spec.nodeName=").unwrap_or_default();
        assert!(!fields_match(&f, &pod(json!({}))));
        assert!(parse_field_selector("metadata.name").is_err());
    }
}
