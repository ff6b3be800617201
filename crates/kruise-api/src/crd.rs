//! CustomResourceDefinitions generated from the Rust types (feature `schemars`).
//!
//! Each kind describes itself with a [`KindInfo`] (names, versions, subresources, printer
//! columns); the generator turns those into `apiextensions.k8s.io/v1`
//! `CustomResourceDefinition`s. `kruise crds` prints them.

/// One additional printer column (`kubectl get` output).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrinterColumn {
    /// Column header, e.g. `DESIRED`.
    pub name: &'static str,
    /// `integer`, `string`, `date`, ...
    pub type_: &'static str,
    /// JSON path, e.g. `.spec.replicas`.
    pub json_path: &'static str,
    /// What the column shows.
    pub description: &'static str,
    /// 0 = always shown; higher = only with `-o wide`.
    pub priority: i32,
}

/// The scale subresource of a version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaleInfo {
    /// `.spec.replicas`.
    pub spec_replicas_path: &'static str,
    /// `.status.replicas`.
    pub status_replicas_path: &'static str,
    /// `.status.labelSelector`, if the kind exposes one.
    pub label_selector_path: Option<&'static str>,
}

/// One served version of a kind.
#[derive(Clone, Debug)]
pub struct VersionInfo {
    /// `v1alpha1`, `v1beta1`.
    pub name: &'static str,
    /// Served by the API server.
    pub served: bool,
    /// The storage version (exactly one per kind).
    pub storage: bool,
    /// JSON schema of the `spec` type.
    pub spec_schema: fn() -> schemars::Schema,
    /// JSON schema of the `status` type.
    pub status_schema: fn() -> schemars::Schema,
    /// Has the status subresource.
    pub status_subresource: bool,
    /// Has the scale subresource.
    pub scale: Option<ScaleInfo>,
    /// `kubectl get` columns.
    pub printer_columns: Vec<PrinterColumn>,
}

/// Everything needed to write the CRD of one kind.
#[derive(Clone, Debug)]
pub struct KindInfo {
    /// API group.
    pub group: &'static str,
    /// Kind, e.g. `CloneSet`.
    pub kind: &'static str,
    /// Plural, e.g. `clonesets`.
    pub plural: &'static str,
    /// Singular, e.g. `cloneset`.
    pub singular: &'static str,
    /// Short names, e.g. `clone`.
    pub short_names: &'static [&'static str],
    /// Categories, e.g. `all`.
    pub categories: &'static [&'static str],
    /// `true` for namespaced kinds, `false` for cluster-scoped ones.
    pub namespaced: bool,
    /// Served versions.
    pub versions: Vec<VersionInfo>,
}
