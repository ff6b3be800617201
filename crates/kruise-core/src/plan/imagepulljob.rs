//! ImagePullJob's own actions and reasons (IPJ-n), nested in [`ActionKind::ImagePullJob`](super::ActionKind::ImagePullJob)
//! and [`Reason::ImagePullJob`](super::Reason::ImagePullJob). The ImagePullJob planner owns this file: see
//! [`crate::plan`] for how it adds its variants.

super::vocabulary!("ImagePullJob", ImagePullJobAction, ImagePullJobReason);
