//! Advanced StatefulSet's own actions and reasons (ASTS-n), nested in [`ActionKind::StatefulSet`](super::ActionKind::StatefulSet)
//! and [`Reason::StatefulSet`](super::Reason::StatefulSet). The Advanced StatefulSet planner owns this file: see
//! [`crate::plan`] for how it adds its variants.

super::vocabulary!("Advanced StatefulSet", StatefulSetAction, StatefulSetReason);
