//! The one label-selector matcher of the workspace (CS-13, CS-24, ASTS-8, ADS-5): a parsed
//! [`Selector`] for planners that match many pods against one selector, and [`matches`] for
//! a single check straight from a `LabelSelector`. Both evaluate a requirement with the same
//! function, so they cannot disagree.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::FieldPath;

/// A label-selector operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// A `matchLabels` pair.
    Equals,
    /// `In`.
    In,
    /// `NotIn`.
    NotIn,
    /// `Exists`.
    Exists,
    /// `DoesNotExist`.
    DoesNotExist,
}

impl Op {
    /// Reads a `matchExpressions` operator; `None` for an unknown one.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "In" => Self::In,
            "NotIn" => Self::NotIn,
            "Exists" => Self::Exists,
            "DoesNotExist" => Self::DoesNotExist,
            _ => return None,
        })
    }

    /// Does a requirement with this operator and `values` hold for the label value `have`?
    #[inline]
    pub fn holds(self, values: &[String], have: Option<&String>) -> bool {
        match self {
            Self::Equals | Self::In => have.is_some_and(|v| values.contains(v)),
            Self::NotIn => have.is_none_or(|v| !values.contains(v)),
            Self::Exists => have.is_some(),
            Self::DoesNotExist => have.is_none(),
        }
    }
}

/// Why a selector cannot be parsed: the field (below the selector's own path) and the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SelectorError {
    /// The offending field, e.g. `spec.selector.matchExpressions[0].operator`.
    pub path: FieldPath,
    /// What is wrong.
    pub message: String,
}

/// A parsed label selector. Matching is O(requirements).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    reqs: Vec<(String, Op, Vec<String>)>,
}

impl Selector {
    /// Parses a selector; `path` names it in errors. Unknown operators and `In`/`NotIn`
    /// without values are errors.
    pub fn parse(sel: &LabelSelector, path: &str) -> Result<Self, SelectorError> {
        let mut reqs = Vec::new();
        for (k, v) in sel.match_labels.iter().flatten() {
            reqs.push((k.clone(), Op::Equals, vec![v.clone()]));
        }
        for (i, e) in sel.match_expressions.iter().flatten().enumerate() {
            let Some(op) = Op::parse(&e.operator) else {
                return Err(SelectorError {
                    path: FieldPath::from(format!("{path}.matchExpressions[{i}].operator")),
                    message: format!("{:?} is not a valid label selector operator", e.operator),
                });
            };
            let mut values = e.values.clone().unwrap_or_default();
            values.sort();
            if matches!(op, Op::In | Op::NotIn) && values.is_empty() {
                return Err(SelectorError {
                    path: FieldPath::from(format!("{path}.matchExpressions[{i}].values")),
                    message: "must be specified when `operator` is 'In' or 'NotIn'".into(),
                });
            }
            reqs.push((e.key.clone(), op, values));
        }
        reqs.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Self { reqs })
    }

    /// True when there are no requirements (the selector matches everything).
    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    /// Does the selector match these labels?
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.reqs.iter().all(|(k, op, vals)| op.holds(vals, labels.get(k)))
    }

    /// The canonical string (CS-82): requirements sorted by key.
    pub fn to_canonical(&self) -> String {
        self.reqs
            .iter()
            .map(|(k, op, vals)| match op {
                Op::Equals => format!("{k}={}", vals.join(",")),
                Op::In => format!("{k} in ({})", vals.join(",")),
                Op::NotIn => format!("{k} notin ({})", vals.join(",")),
                Op::Exists => k.clone(),
                Op::DoesNotExist => format!("!{k}"),
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// True when `selector` selects an object carrying `labels` (absent labels: none). Every
/// `matchLabels` pair must be present and every expression hold; an expression with an
/// unknown operator matches nothing. An empty selector matches everything.
pub fn matches(selector: &LabelSelector, labels: Option<&BTreeMap<String, String>>) -> bool {
    let get = |k: &str| labels.and_then(|l| l.get(k));
    selector.match_labels.iter().flatten().all(|(k, v)| get(k) == Some(v))
        && selector.match_expressions.iter().flatten().all(|e| {
            Op::parse(&e.operator)
                .is_some_and(|op| op.holds(e.values.as_deref().unwrap_or_default(), get(&e.key)))
        })
}

/// True when the selector has neither `matchLabels` nor `matchExpressions` (it matches
/// everything; workloads reject it, CS-13, ASTS-8).
pub fn is_empty(selector: &LabelSelector) -> bool {
    selector.match_labels.as_ref().is_none_or(BTreeMap::is_empty)
        && selector.match_expressions.as_ref().is_none_or(Vec::is_empty)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;
    use proptest::prelude::*;

    use super::*;

    fn req(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: (!values.is_empty()).then(|| values.iter().map(|v| (*v).to_owned()).collect()),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn cs_13_bad_operator_and_missing_values_name_the_field() {
        let s = LabelSelector { match_expressions: Some(vec![req("a", "Near", &[])]), ..Default::default() };
        let e = Selector::parse(&s, "spec.selector").unwrap_err();
        assert_eq!(e.path.as_str(), "spec.selector.matchExpressions[0].operator");
        let s = LabelSelector {
            match_expressions: Some(vec![req("a", "Exists", &[]), req("b", "In", &[])]),
            ..Default::default()
        };
        let e = Selector::parse(&s, "spec.selector").unwrap_err();
        assert_eq!(e.path.as_str(), "spec.selector.matchExpressions[1].values");
        assert!(!matches(
            &LabelSelector { match_expressions: Some(vec![req("a", "Near", &[])]), ..Default::default() },
            None
        ));
    }

    #[test]
    fn cs_24_selector_match_labels_and_expressions() {
        let s = LabelSelector {
            match_labels: Some(labels(&[("app", "web")])),
            match_expressions: Some(vec![req("tier", "In", &["a", "b"]), req("canary", "DoesNotExist", &[])]),
        };
        let p = Selector::parse(&s, "spec.selector").unwrap();
        assert_eq!(p.to_canonical(), "app=web,canary,tier in (a,b)".replace("canary", "!canary"));
        for (l, want) in [
            (labels(&[("app", "web"), ("tier", "a")]), true),
            (labels(&[("app", "web"), ("tier", "c")]), false),
            (labels(&[("app", "web"), ("tier", "a"), ("canary", "1")]), false),
            (labels(&[("tier", "a")]), false),
        ] {
            assert_eq!(p.matches(&l), want, "{l:?}");
            assert_eq!(matches(&s, Some(&l)), want, "{l:?}");
        }
        assert!(is_empty(&LabelSelector::default()));
        assert!(Selector::parse(&LabelSelector::default(), "s").unwrap().is_empty());
    }

    proptest! {
        /// The parsed selector and the direct check agree on every valid selector.
        #[test]
        fn parsed_and_direct_matching_agree(
            ml in proptest::collection::btree_map("[a-cä]", "[x-zé]", 0..3),
            exprs in proptest::collection::vec(
                ("[a-cä]", prop_oneof![Just("In"), Just("NotIn"), Just("Exists"), Just("DoesNotExist")],
                 proptest::collection::vec("[x-zé]", 0..3)),
                0..3),
            l in proptest::collection::btree_map("[a-cä]", "[x-zé]", 0..4),
        ) {
            let exprs: Vec<_> = exprs
                .into_iter()
                .map(|(k, op, v)| {
                    let v: Vec<&str> = if matches!(op, "In" | "NotIn") && v.is_empty() { vec!["x"] } else { v.iter().map(String::as_str).collect() };
                    let v = if matches!(op, "Exists" | "DoesNotExist") { vec![] } else { v };
                    req(&k, op, &v)
                })
                .collect();
            let s = LabelSelector { match_labels: Some(ml), match_expressions: Some(exprs) };
            let p = Selector::parse(&s, "spec.selector").unwrap();
            prop_assert_eq!(p.matches(&l), matches(&s, Some(&l)));
        }
    }
}
