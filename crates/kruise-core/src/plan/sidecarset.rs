//! SidecarSet's own actions and reasons (SCS-n), nested in [`ActionKind::SidecarSet`](super::ActionKind::SidecarSet)
//! and [`Reason::SidecarSet`](super::Reason::SidecarSet). The SidecarSet planner owns this file: see
//! [`crate::plan`] for how it adds its variants.

super::vocabulary!("SidecarSet", SidecarSetAction, SidecarSetReason);
