//! Rollout planner tests, named after the spec rules (RO-n), the worked example (spec §M)
//! driven end to end, upstream bug 35, and property tests over random plans.

mod deployment;
mod more;
mod props;
mod rules;
