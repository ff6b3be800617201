//! Support shared by the root package's integration tests. Each test binary compiles this
//! module and uses a part of it.
#![allow(dead_code)]

pub mod planned;
