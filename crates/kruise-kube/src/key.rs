//! [`WorkloadKey`]: `namespace/name` of a workload, the key of expectations and metrics.

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// `namespace/name` of one workload (as upstream keys its expectations, CS-87).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkloadKey {
    /// The workload's namespace.
    pub namespace: String,
    /// The workload's name.
    pub name: String,
}

impl WorkloadKey {
    /// A key from its parts.
    pub fn new(namespace: &str, name: &str) -> Self {
        Self { namespace: namespace.to_owned(), name: name.to_owned() }
    }

    /// The key of an object, if it has a name. A cluster-scoped object (a SidecarSet) has no
    /// namespace: its key's namespace is empty.
    pub fn of(meta: &ObjectMeta) -> Option<Self> {
        Some(Self::new(meta.namespace.as_deref().unwrap_or_default(), meta.name.as_deref()?))
    }

    /// The reflector reference of the workload this key names: within its namespace, or none
    /// for a cluster-scoped workload (empty namespace), as the store keys it.
    pub fn object_ref<K: kube::Resource<DynamicType = ()>>(&self) -> kube::runtime::reflector::ObjectRef<K> {
        let r = kube::runtime::reflector::ObjectRef::new(&self.name);
        if self.namespace.is_empty() { r } else { r.within(&self.namespace) }
    }
}

impl fmt::Display for WorkloadKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}", self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cluster-scoped workload (SidecarSet) has a key with an empty namespace, shown and
    /// looked up without one; a namespaced one keeps `namespace/name`.
    #[test]
    fn cluster_scoped_keys_have_no_namespace() {
        let meta = ObjectMeta { name: Some("sidecar-ü".into()), ..Default::default() };
        let key = WorkloadKey::of(&meta);
        assert_eq!(key, Some(WorkloadKey::new("", "sidecar-ü")));
        let key = key.unwrap_or_else(|| WorkloadKey::new("x", "x"));
        assert_eq!(key.to_string(), "sidecar-ü");
        let r = key.object_ref::<k8s_openapi::api::core::v1::Node>();
        assert_eq!(r.namespace, None);
        let key = WorkloadKey::new("ns", "web");
        assert_eq!(key.to_string(), "ns/web");
        assert_eq!(key.object_ref::<k8s_openapi::api::core::v1::Pod>().namespace.as_deref(), Some("ns"));
        assert_eq!(WorkloadKey::of(&ObjectMeta::default()), None);
    }
}
