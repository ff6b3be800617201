//! The `kruise` command.
fn main() {}
