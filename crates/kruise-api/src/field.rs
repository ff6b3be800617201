//! Field paths and validation errors, shaped like Kubernetes' `field.ErrorList`.

use std::fmt;

/// A path to a field, spelled as in the API: `spec.template.spec.containers[1].image`,
/// `metadata.labels[app]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct FieldPath(String);

impl FieldPath {
    /// The empty (root) path.
    pub fn root() -> Self {
        Self(String::new())
    }
    /// `self.name`.
    pub fn child(&self, name: &str) -> Self {
        if self.0.is_empty() { Self(name.to_owned()) } else { Self(format!("{}.{name}", self.0)) }
    }
    /// `self[i]`.
    pub fn index(&self, i: usize) -> Self {
        Self(format!("{}[{i}]", self.0))
    }
    /// `self[key]` (map entries).
    pub fn key(&self, key: &str) -> Self {
        Self(format!("{}[{key}]", self.0))
    }
    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for FieldPath {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<String> for FieldPath {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// What kind of problem a [`ValidationError`] reports (Kubernetes' `field.ErrorType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A required field is missing or empty.
    Required,
    /// The value is malformed or out of range.
    Invalid,
    /// The value is not one of the supported values.
    NotSupported,
    /// The field may not be set or changed.
    Forbidden,
    /// The value is listed twice.
    Duplicate,
    /// The value is too long.
    TooLong,
    /// The value was not found (e.g. a pod named in `podsToDelete`).
    NotFound,
}

impl ErrorKind {
    /// The wording Kubernetes uses for the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Required => "Required value",
            ErrorKind::Invalid => "Invalid value",
            ErrorKind::NotSupported => "Unsupported value",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::Duplicate => "Duplicate value",
            ErrorKind::TooLong => "Too long",
            ErrorKind::NotFound => "Not found",
        }
    }
}

/// One validation problem: where, what value, and a sentence a user understands.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{path}: {}{}: {message}", kind.as_str(), value.as_ref().map(|v| format!(": {v}")).unwrap_or_default())]
pub struct ValidationError {
    /// The field at fault.
    pub path: FieldPath,
    /// The kind of problem.
    pub kind: ErrorKind,
    /// The offending value, rendered as JSON-ish text, when there is one.
    pub value: Option<String>,
    /// What is wrong, in a sentence.
    pub message: String,
}

impl ValidationError {
    /// An error of `kind` at `path`.
    pub fn new(kind: ErrorKind, path: FieldPath, value: Option<String>, message: impl Into<String>) -> Self {
        Self { path, kind, value, message: message.into() }
    }
    /// `Required value` at `path`.
    pub fn required(path: FieldPath, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Required, path, None, message)
    }
    /// `Invalid value` at `path`.
    pub fn invalid(path: FieldPath, value: impl fmt::Debug, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, path, Some(format!("{value:?}")), message)
    }
    /// `Unsupported value` at `path`, listing what is supported.
    pub fn not_supported(path: FieldPath, value: impl fmt::Debug, supported: &[&str]) -> Self {
        let list = supported.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
        Self::new(
            ErrorKind::NotSupported,
            path,
            Some(format!("{value:?}")),
            format!("supported values: {list}"),
        )
    }
    /// `Forbidden` at `path`.
    pub fn forbidden(path: FieldPath, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, path, None, message)
    }
    /// `Duplicate value` at `path`.
    pub fn duplicate(path: FieldPath, value: impl fmt::Debug, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Duplicate, path, Some(format!("{value:?}")), message)
    }
    /// `Too long` at `path`.
    pub fn too_long(path: FieldPath, value: impl fmt::Debug, max: usize) -> Self {
        Self::new(
            ErrorKind::TooLong,
            path,
            Some(format!("{value:?}")),
            format!("must have at most {max} characters"),
        )
    }
    /// `Not found` at `path`.
    pub fn not_found(path: FieldPath, value: impl fmt::Debug, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, path, Some(format!("{value:?}")), message)
    }
}

/// Every problem found in one object (validation reports them all, not only the first).
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(transparent)]
#[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl ValidationErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self(Vec::new())
    }
    /// Adds one error.
    pub fn push(&mut self, e: ValidationError) {
        self.0.push(e);
    }
    /// Adds all errors of `other`.
    pub fn extend(&mut self, other: ValidationErrors) {
        self.0.extend(other.0);
    }
    /// True when nothing was reported.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// How many errors.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// The errors.
    pub fn iter(&self) -> std::slice::Iter<'_, ValidationError> {
        self.0.iter()
    }
    /// `Ok(())` when empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl IntoIterator for ValidationErrors {
    type Item = ValidationError;
    type IntoIter = std::vec::IntoIter<ValidationError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a ValidationError;
    type IntoIter = std::slice::Iter<'a, ValidationError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
