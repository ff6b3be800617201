//! Any OpenKruise object, chosen by `apiVersion` and `kind`: how the CLI and tests read a
//! manifest whose kind they do not know in advance.

use serde_json::Value;

use crate::defaults::Defaulting;
use crate::field::ValidationErrors;
use crate::validation::Validate;

/// Why a document is not an object this crate knows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnyError {
    /// `apiVersion` or `kind` is missing.
    #[error("document has no {0}")]
    Missing(&'static str),
    /// The apiVersion/kind pair is not an OpenKruise type.
    #[error("unknown kind {kind:?} in {api_version:?}")]
    UnknownKind {
        /// The document's apiVersion.
        api_version: String,
        /// The document's kind.
        kind: String,
    },
    /// The document does not decode as that kind.
    #[error("{0}")]
    Decode(String),
}

macro_rules! any_resources {
    ($( $variant:ident => $ty:path ),* $(,)?) => {
        /// An object of any kind this crate defines.
        #[derive(Clone, Debug, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        #[non_exhaustive]
        pub enum AnyResource {
            $(
                #[doc = concat!("`", stringify!($ty), "`")]
                $variant($ty),
            )*
        }

        impl AnyResource {
            /// Decodes a JSON/YAML document by its `apiVersion` and `kind`.
            pub fn from_value(v: Value) -> Result<Self, AnyError> {
                let api_version = v.get("apiVersion").and_then(Value::as_str).ok_or(AnyError::Missing("apiVersion"))?.to_owned();
                let kind = v.get("kind").and_then(Value::as_str).ok_or(AnyError::Missing("kind"))?.to_owned();
                $(
                    if api_version == <$ty as k8s_openapi::Resource>::API_VERSION && kind == <$ty as k8s_openapi::Resource>::KIND {
                        return serde_json::from_value::<$ty>(v).map(AnyResource::$variant).map_err(|e| AnyError::Decode(e.to_string()));
                    }
                )*
                Err(AnyError::UnknownKind { api_version, kind })
            }
            /// `kind` of the object.
            pub fn kind(&self) -> &'static str {
                match self { $( AnyResource::$variant(_) => <$ty as k8s_openapi::Resource>::KIND, )* }
            }
            /// `apiVersion` of the object.
            pub fn api_version(&self) -> &'static str {
                match self { $( AnyResource::$variant(_) => <$ty as k8s_openapi::Resource>::API_VERSION, )* }
            }
            /// `metadata.name`, or `""`.
            pub fn name(&self) -> &str {
                match self { $( AnyResource::$variant(o) => o.metadata.name.as_deref().unwrap_or_default(), )* }
            }
            /// Applies the webhook defaults.
            pub fn apply_defaults(&mut self) {
                match self { $( AnyResource::$variant(o) => o.apply_defaults(), )* }
            }
            /// Validates as a create request.
            pub fn validate(&self) -> Result<(), ValidationErrors> {
                match self { $( AnyResource::$variant(o) => o.validate(), )* }
            }
            /// Validates as an update from `old`: the immutable-field rules, then the create
            /// rules. `None` when `old` is another kind or version.
            pub fn validate_update(&self, old: &AnyResource) -> Option<Result<(), ValidationErrors>> {
                match (self, old) {
                    $( (AnyResource::$variant(new), AnyResource::$variant(old)) => Some(new.validate_update(old)), )*
                    _ => None,
                }
            }
            /// `metadata.namespace`, or `""`.
            pub fn namespace(&self) -> &str {
                match self { $( AnyResource::$variant(o) => o.metadata.namespace.as_deref().unwrap_or_default(), )* }
            }
            /// The object as JSON.
            pub fn to_value(&self) -> Value {
                match self { $( AnyResource::$variant(o) => serde_json::to_value(o).unwrap_or(Value::Null), )* }
            }
        }
    };
}

any_resources! {
    CloneSetV1alpha1 => crate::apps::v1alpha1::CloneSet,
    CloneSetV1beta1 => crate::apps::v1beta1::CloneSet,
    StatefulSetV1alpha1 => crate::apps::v1alpha1::StatefulSet,
    StatefulSetV1beta1 => crate::apps::v1beta1::StatefulSet,
    DaemonSetV1alpha1 => crate::apps::v1alpha1::DaemonSet,
    DaemonSetV1beta1 => crate::apps::v1beta1::DaemonSet,
    SidecarSetV1alpha1 => crate::apps::v1alpha1::SidecarSet,
    SidecarSetV1beta1 => crate::apps::v1beta1::SidecarSet,
    BroadcastJobV1alpha1 => crate::apps::v1alpha1::BroadcastJob,
    BroadcastJobV1beta1 => crate::apps::v1beta1::BroadcastJob,
    ImagePullJobV1alpha1 => crate::apps::v1alpha1::ImagePullJob,
    ImagePullJobV1beta1 => crate::apps::v1beta1::ImagePullJob,
    NodeImageV1alpha1 => crate::apps::v1alpha1::NodeImage,
    NodeImageV1beta1 => crate::apps::v1beta1::NodeImage,
    RolloutV1beta1 => crate::rollouts::v1beta1::Rollout,
    RolloutV1alpha1 => crate::rollouts::v1alpha1::Rollout,
}
