//! ADS-16: the failed-pod backoff state an adapter keeps per DaemonSet between passes. The
//! planner is pure, so it cannot remember that it deleted a failed pod on a node a moment ago;
//! the adapter records each such delete here ([`FailedPodBackoff::record_plan`]) and hands the
//! resulting end times to the next plan ([`FailedPodBackoff::until`], for
//! [`Input::failed_pod_backoff`](super::Input::failed_pod_backoff)). The delay per node starts
//! at [`BACKOFF_INITIAL`](super::BACKOFF_INITIAL) and doubles ([`next_backoff`]) up to
//! [`BACKOFF_MAX`](super::BACKOFF_MAX) while the node's pod keeps failing; an entry not
//! renewed for twice the cap starts again from the first delay (as upstream's
//! `flowcontrol.Backoff` does). Time comes in as an argument.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::{BACKOFF_MAX, next_backoff};
use crate::plan::{Action, ActionKind, DaemonSetReason, Reason};

/// One node's backoff: the current delay and when it was last renewed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    delay: Duration,
    renewed: Timestamp,
}

/// Per-node failed-pod backoff of one DaemonSet (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FailedPodBackoff {
    nodes: BTreeMap<String, Entry>,
}

fn plus(t: Timestamp, d: Duration) -> Timestamp {
    SignedDuration::try_from(d).ok().and_then(|d| t.checked_add(d).ok()).unwrap_or(Timestamp::MAX)
}

impl FailedPodBackoff {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a failed pod deleted on `node` at `now`: the node's delay doubles (or starts at
    /// the first delay when the node had none, or its entry expired). Returns the new delay.
    pub fn record(&mut self, node: &str, now: Timestamp) -> Duration {
        let previous = self.nodes.get(node).filter(|e| !expired(e, now)).map(|e| e.delay);
        let delay = next_backoff(previous);
        self.nodes.insert(node.to_owned(), Entry { delay, renewed: now });
        delay
    }

    /// Records every failed-pod delete of a plan's `actions` (`DeletePod` with reason
    /// `FailedPod`, on the node the action names). Returns how many were recorded.
    pub fn record_plan<'a>(
        &mut self,
        actions: impl IntoIterator<Item = &'a Action>,
        now: Timestamp,
    ) -> usize {
        let mut n = 0;
        for a in actions {
            let failed = matches!(a.kind, ActionKind::DeletePod)
                && a.reason == Reason::DaemonSet(DaemonSetReason::FailedPod);
            if let (true, Some(node)) = (failed, a.object.as_ref()) {
                self.record(&node.name, now);
                n += 1;
            }
        }
        n
    }

    /// Drops the entries not renewed for twice the cap (their next failure starts over).
    pub fn gc(&mut self, now: Timestamp) {
        self.nodes.retain(|_, e| !expired(e, now));
    }

    /// Node name → the time its backoff ends, for the planner's input.
    pub fn until(&self) -> BTreeMap<String, Timestamp> {
        self.nodes.iter().map(|(n, e)| (n.clone(), plus(e.renewed, e.delay))).collect()
    }

    /// The current delay of `node`, if it has one.
    pub fn delay(&self, node: &str) -> Option<Duration> {
        self.nodes.get(node).map(|e| e.delay)
    }

    /// True when no node is in backoff.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// Not renewed for more than twice the cap.
fn expired(e: &Entry, now: Timestamp) -> bool {
    now > plus(e.renewed, BACKOFF_MAX.saturating_mul(2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ObjectRef;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_767_225_600 + s).unwrap()
    }

    fn failed_delete(node: &str) -> Action {
        let mut a = Action::new(
            ActionKind::DeletePod,
            Some("p"),
            None,
            Reason::DaemonSet(DaemonSetReason::FailedPod),
        );
        a.object = Some(ObjectRef::node(node));
        a
    }

    /// ADS-16: a node whose pod keeps failing waits 1 s, 2 s, 4 s, ... up to 15 minutes; other
    /// deletes and other nodes are unaffected; an entry left alone for twice the cap starts over.
    #[test]
    fn ads_16_backoff_doubles_per_node_up_to_the_cap_and_expires() {
        let mut b = FailedPodBackoff::new();
        let mut t = 0;
        let mut delays = Vec::new();
        for _ in 0..12 {
            assert_eq!(b.record_plan(&[failed_delete("nœud-1")], at(t)), 1);
            let d = b.delay("nœud-1").unwrap();
            delays.push(d.as_secs());
            assert_eq!(b.until()["nœud-1"], plus(at(t), d));
            t += i64::try_from(d.as_secs()).unwrap();
        }
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]);
        let mut other = Action::new(
            ActionKind::DeletePod,
            Some("q"),
            None,
            Reason::DaemonSet(DaemonSetReason::ExcessPod),
        );
        other.object = Some(ObjectRef::node("n-2"));
        assert_eq!(b.record_plan(&[other], at(t)), 0);
        assert_eq!(b.delay("n-2"), None);
        // Left alone for more than 30 minutes: starts over.
        let later = t + 2 * 900 + 1;
        b.gc(at(later));
        assert!(b.is_empty());
        assert_eq!(b.record("nœud-1", at(later)), Duration::from_secs(1));
    }
}
