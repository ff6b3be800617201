//! Advanced DaemonSet's own actions and reasons (ADS-n), nested in [`ActionKind::DaemonSet`](super::ActionKind::DaemonSet)
//! and [`Reason::DaemonSet`](super::Reason::DaemonSet). The Advanced DaemonSet planner owns this file: see
//! [`crate::plan`] for how it adds its variants.

super::vocabulary!("Advanced DaemonSet", DaemonSetAction, DaemonSetReason);
