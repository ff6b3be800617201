//! The kube adapter's whole path on the scenarios of bench-scenarios.md (issue 10 item 6):
//! `operator/<scenario>/<N>` is one `Adapter::reconcile_at` from cached state (the indexes and
//! the CloneSet's `PodTable`, fed through the operator's watch handlers) to the writes answered
//! by an in-memory API: observe + plan + materialise + send. `planner/<scenario>/<N>` is the
//! planner alone on the same input in the same run (the ratio is the figure to report on a
//! shared machine), and `operator/watch_event/<N>` one pod update's index and table upkeep.
//!
//! Run: `cargo bench --bench operator` (all) or `cargo bench --bench operator -- operator/steady`;
//! `KRUISE_BENCH_SIZES=1000,10000` narrows the sizes.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion};

#[path = "support/mod.rs"]
mod support;

#[path = "support/operator.rs"]
mod operator;

use operator::OperatorCase;
use support::Kind;

/// The sizes of bench-scenarios.md; `KRUISE_BENCH_SIZES=1000,10000` narrows them.
fn sizes() -> Vec<usize> {
    match std::env::var("KRUISE_BENCH_SIZES") {
        Ok(v) if !v.trim().is_empty() => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        _ => vec![1_000, 10_000, 100_000],
    }
}

fn group<'c>(
    c: &'c mut Criterion,
    name: &str,
    n: usize,
) -> criterion::BenchmarkGroup<'c, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(if n >= 100_000 { 300 } else { 500 }));
    g.measurement_time(Duration::from_secs(if n >= 100_000 { 3 } else { 2 }));
    g
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

fn bench_operator(c: &mut Criterion) {
    let rt = runtime();
    let _guard = rt.enter();
    for n in sizes() {
        for kind in [Kind::Steady, Kind::Rolling] {
            let mut case = OperatorCase::build(kind, n);
            let report = rt.block_on(case.reconcile());
            if let Err(e) = case.check(&report) {
                panic!("{e}");
            }
            if let Err(e) = case.scenario.check(&case.scenario.plan()) {
                panic!("{e}");
            }
            eprintln!(
                "operator/{}/{n}: {} writes, {} requests answered by the in-memory API",
                kind.name(),
                report.written,
                case.sent.load(std::sync::atomic::Ordering::Relaxed)
            );
            // The slice copy is not needed past the checks.
            case.scenario.pods = Vec::new();
            let mut g = group(c, "operator", n);
            g.bench_function(BenchmarkId::new(kind.name(), n), |b| {
                b.iter(|| black_box(rt.block_on(case.reconcile()).written));
            });
            g.finish();
            let mut g = group(c, "planner", n);
            g.bench_function(BenchmarkId::new(kind.name(), n), |b| {
                b.iter(|| black_box(case.scenario.plan()));
            });
            g.finish();
            if kind == Kind::Rolling {
                // One pod update (a new resourceVersion) per event, cycling over the pods.
                let pods: Vec<_> = case
                    .scenario
                    .table
                    .pods()
                    .step_by((n / 64).max(1))
                    .map(|p| {
                        let mut p = (**p).clone();
                        p.metadata.resource_version = Some("999999".into());
                        kube::runtime::watcher::Event::Apply(p)
                    })
                    .collect();
                let mut k = 0usize;
                let mut g = group(c, "operator", n);
                g.bench_function(BenchmarkId::new("watch_event", n), |b| {
                    // The stream owns each event it receives: the copy made here stands for
                    // the watch's decode and is not timed.
                    b.iter_batched(
                        || {
                            k = (k + 1) % pods.len();
                            pods[k].clone()
                        },
                        |event| case.watch_event(event),
                        criterion::BatchSize::SmallInput,
                    );
                });
                g.finish();
            }
        }
    }
}

criterion::criterion_group!(benches, bench_operator);
criterion::criterion_main!(benches);
