//! The Advanced StatefulSet planner (spec `statefulset.md`, rules ASTS-n).

pub mod ordinals;
pub mod pods;
pub mod pvc;
