//! BroadcastJob's own actions and reasons (BJ-n), nested in [`ActionKind::BroadcastJob`](super::ActionKind::BroadcastJob)
//! and [`Reason::BroadcastJob`](super::Reason::BroadcastJob). The BroadcastJob planner owns this file: see
//! [`crate::plan`] for how it adds its variants.

super::vocabulary!("BroadcastJob", BroadcastJobAction, BroadcastJobReason);
