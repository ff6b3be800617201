//! kruise-kube: the kube-rs adapter.
