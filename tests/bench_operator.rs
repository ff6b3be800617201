//! The operator bench's cases (benches/operator.rs) at N = 1000: one reconcile of the kube
//! adapter from the indexes to the in-memory API makes the action counts bench-scenarios.md
//! gives, sends every write, and a second reconcile does the same (expectations dropped).

#[path = "../benches/support/mod.rs"]
mod support;

#[path = "../benches/support/operator.rs"]
mod operator;

use operator::OperatorCase;
use support::Kind;

async fn check(kind: Kind, n: usize) -> OperatorCase {
    let case = OperatorCase::build(kind, n);
    let first = case.reconcile().await;
    if let Err(e) = case.check(&first) {
        panic!("{e}");
    }
    let second = case.reconcile().await;
    assert_eq!(second.outcome, first.outcome, "{}/{n}: not the same outcome twice", kind.name());
    // The adapter's plan is the planner's plan on the same input.
    let alone = case.scenario.plan();
    let planned: Vec<_> = alone.actions.iter().map(|a| (a.kind.name(), a.pod.clone())).collect();
    let mut written: Vec<_> = first.outcome.writes.iter().map(|w| (w.name(), w.action.pod.clone())).collect();
    written.dedup();
    assert_eq!(written, planned, "{}/{n}: adapter and planner differ", kind.name());
    case
}

#[tokio::test]
async fn cs_62_operator_steady_1k_sends_nothing() {
    let case = check(Kind::Steady, 1_000).await;
    assert_eq!(case.sent.load(std::sync::atomic::Ordering::Relaxed), 0);
}

#[tokio::test]
async fn cs_62_operator_rolling_1k_sends_95_in_place_updates() {
    let case = check(Kind::Rolling, 1_000).await;
    // Two reconciles, each the same writes, every one answered.
    let sent = case.sent.load(std::sync::atomic::Ordering::Relaxed);
    let report = case.reconcile().await;
    assert!(report.written >= 95 * 2, "an in-place update is at least two writes: {}", report.written);
    assert_eq!(case.sent.load(std::sync::atomic::Ordering::Relaxed), sent + report.written);
}

/// A pod watch event reaches the table the adapter plans from: an update replaces the row,
/// a delete removes it.
#[tokio::test]
async fn operator_watch_event_updates_the_table() {
    let case = OperatorCase::build(Kind::Rolling, 1_000);
    let name = "demo-003e7";
    let table = case.adapter.caches().pods.table(&case.scenario.cloneset, "default").unwrap();
    let mut pod = table.lock().unwrap().get(name).unwrap().clone();
    pod.metadata.resource_version = Some("424242".into());
    let indexed = case.watch_event(kube::runtime::watcher::Event::Apply(pod.clone()));
    assert_eq!(indexed.as_deref(), Some(&pod), "the event's pod is what the index keeps");
    assert_eq!(table.lock().unwrap().get(name).unwrap().metadata.resource_version.as_deref(), Some("424242"));
    case.adapter.caches().pods.apply(&kube::runtime::watcher::Event::Delete(pod));
    assert!(table.lock().unwrap().get(name).is_none());
    assert_eq!(table.lock().unwrap().len(), 999);
}
