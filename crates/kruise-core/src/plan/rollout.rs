//! Rollout's own actions and reasons (RO-n), nested in [`ActionKind::Rollout`](super::ActionKind::Rollout)
//! and [`Reason::Rollout`](super::Reason::Rollout). The Rollout planner owns this file: see
//! [`crate::plan`] for how it adds its variants.

super::vocabulary!("Rollout", RolloutAction, RolloutReason);
