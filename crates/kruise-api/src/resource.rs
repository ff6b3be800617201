//! The plumbing every top-level type shares: `apiVersion`/`kind` on the wire, and
//! k8s-openapi's `Resource` / `Metadata` / `ListableResource` traits.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// A top-level OpenKruise object: `metadata`, a `spec` and an optional `status`.
///
/// Implemented by every kind in this crate; generic code (the CLI, the simulator's API store,
/// the kube adapter) works through it.
pub trait KruiseResource:
    k8s_openapi::Resource
    + k8s_openapi::Metadata<Ty = ObjectMeta>
    + serde::Serialize
    + serde::de::DeserializeOwned
    + Clone
    + std::fmt::Debug
{
    /// The `spec` type.
    type Spec;
    /// The `status` type.
    type Status;
    /// Plural name used in URLs and CRD names (`clonesets`).
    const PLURAL: &'static str;
    /// A new object named `name` with the given spec and no status.
    fn new(name: &str, spec: Self::Spec) -> Self;
    /// The spec.
    fn spec(&self) -> &Self::Spec;
    /// The spec, mutably.
    fn spec_mut(&mut self) -> &mut Self::Spec;
    /// The status, if the object carries one.
    fn status(&self) -> Option<&Self::Status>;
    /// The status slot, mutably.
    fn status_mut(&mut self) -> &mut Option<Self::Status>;
}

/// Defines a top-level resource struct with `metadata`, `spec`, `status`, its wire format
/// (`apiVersion` and `kind` written on output, checked when present on input) and the
/// k8s-openapi traits.
macro_rules! kruise_resource {
    (
        $(#[$meta:meta])*
        $name:ident {
            group: $group:literal,
            version: $version:literal,
            kind: $kind:literal,
            plural: $plural:literal,
            scope: $scope:ty,
            spec: $spec:ty,
            status: $status:ty $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct $name {
            /// Standard object metadata.
            pub metadata: ::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
            /// The desired state.
            pub spec: $spec,
            /// The observed state, written by the controller.
            pub status: ::std::option::Option<$status>,
        }

        impl ::k8s_openapi::Resource for $name {
            const API_VERSION: &'static str = concat!($group, "/", $version);
            const GROUP: &'static str = $group;
            const KIND: &'static str = $kind;
            const VERSION: &'static str = $version;
            const URL_PATH_SEGMENT: &'static str = $plural;
            type Scope = $scope;
        }

        impl ::k8s_openapi::ListableResource for $name {
            const LIST_KIND: &'static str = concat!($kind, "List");
        }

        impl ::k8s_openapi::Metadata for $name {
            type Ty = ::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
            fn metadata(&self) -> &Self::Ty {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut Self::Ty {
                &mut self.metadata
            }
        }

        impl $crate::resource::KruiseResource for $name {
            type Spec = $spec;
            type Status = $status;
            const PLURAL: &'static str = $plural;
            fn new(name: &str, spec: Self::Spec) -> Self {
                Self {
                    metadata: ::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                        name: Some(name.to_owned()),
                        ..Default::default()
                    },
                    spec,
                    status: None,
                }
            }
            fn spec(&self) -> &Self::Spec {
                &self.spec
            }
            fn spec_mut(&mut self) -> &mut Self::Spec {
                &mut self.spec
            }
            fn status(&self) -> Option<&Self::Status> {
                self.status.as_ref()
            }
            fn status_mut(&mut self) -> &mut Option<Self::Status> {
                &mut self.status
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use ::serde::ser::SerializeStruct;
                let len = 4 + usize::from(self.status.is_some());
                let mut s = serializer.serialize_struct($kind, len)?;
                s.serialize_field("apiVersion", <Self as ::k8s_openapi::Resource>::API_VERSION)?;
                s.serialize_field("kind", <Self as ::k8s_openapi::Resource>::KIND)?;
                s.serialize_field("metadata", &self.metadata)?;
                s.serialize_field("spec", &self.spec)?;
                if let Some(status) = &self.status {
                    s.serialize_field("status", status)?;
                }
                s.end()
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                #[derive(::serde::Deserialize)]
                struct Wire {
                    #[serde(rename = "apiVersion", default)]
                    api_version: Option<String>,
                    #[serde(default)]
                    kind: Option<String>,
                    #[serde(default)]
                    metadata: ::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
                    #[serde(default)]
                    spec: $spec,
                    #[serde(default)]
                    status: Option<$status>,
                }
                let wire = Wire::deserialize(deserializer)?;
                let want_api = <Self as ::k8s_openapi::Resource>::API_VERSION;
                let want_kind = <Self as ::k8s_openapi::Resource>::KIND;
                if let Some(api) = &wire.api_version {
                    if api != want_api {
                        return Err(::serde::de::Error::custom(format_args!(
                            "apiVersion: expected {want_api:?}, found {api:?}"
                        )));
                    }
                }
                if let Some(kind) = &wire.kind {
                    if kind != want_kind {
                        return Err(::serde::de::Error::custom(format_args!(
                            "kind: expected {want_kind:?}, found {kind:?}"
                        )));
                    }
                }
                Ok(Self { metadata: wire.metadata, spec: wire.spec, status: wire.status })
            }
        }
    };
}
