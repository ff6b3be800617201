//! CustomResourceDefinitions generated from the Rust types (feature `schemars`).
