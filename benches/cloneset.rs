//! CloneSet planner benchmarks: the scenarios of bench-scenarios.md at N = 1k, 10k and 100k,
//! the JSON decode of the same pods as a yardstick, and the planner's peak extra memory per
//! pod (a counting global allocator, measured outside criterion's loop).
//!
//! Run: `cargo bench --bench cloneset` (all) or `cargo bench --bench cloneset -- cloneset/wave`
//! (a filter); `-- --output-format bencher` prints one line per case.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use k8s_openapi::api::core::v1::Pod;
use peak_alloc::PeakAlloc;
use serde::Deserialize;

#[path = "support/mod.rs"]
mod support;

use kruise_core::cloneset::PodTable;
use support::{Kind, Scenario};

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

/// The sizes of bench-scenarios.md; `KRUISE_BENCH_SIZES=1000,10000` narrows them.
fn sizes() -> Vec<usize> {
    match std::env::var("KRUISE_BENCH_SIZES") {
        Ok(v) if !v.trim().is_empty() => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        _ => vec![1_000, 10_000, 100_000],
    }
}

/// What `kubectl get pods -o json` prints, reduced to what we decode.
#[derive(Deserialize)]
struct PodList {
    items: Vec<Pod>,
}

/// Peak bytes allocated by one plan beyond what was live before it (the input), the plan
/// itself included.
fn peak_extra_bytes(s: &Scenario) -> usize {
    let before = ALLOC.current_usage();
    ALLOC.reset_peak_usage();
    let p = s.plan();
    let peak = ALLOC.peak_usage();
    drop(black_box(p));
    peak.saturating_sub(before)
}

fn group_config<'c>(
    c: &'c mut Criterion,
    name: &str,
    n: usize,
) -> criterion::BenchmarkGroup<'c, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(if n >= 100_000 { 200 } else { 500 }));
    g.measurement_time(Duration::from_secs(if n >= 100_000 { 3 } else { 2 }));
    g
}

fn bench_plans(c: &mut Criterion) {
    for n in sizes() {
        for kind in Kind::ALL {
            let s = Scenario::build(kind, n);
            let first = s.plan();
            if let Err(e) = s.check(&first) {
                panic!("{e}");
            }
            let bytes = peak_extra_bytes(&s);
            eprintln!(
                "memory cloneset/{}/{n}: peak extra {bytes} B = {:.1} B per pod ({} pods)",
                kind.name(),
                bytes as f64 / s.pods.len() as f64,
                s.pods.len()
            );
            if let Err(e) = s.check(&s.plan_slice()) {
                panic!("slice input: {e}");
            }
            let mut g = group_config(c, "cloneset", n);
            g.throughput(Throughput::Elements(s.pods.len() as u64));
            g.bench_function(BenchmarkId::new(kind.name(), n), |b| {
                b.iter(|| black_box(s.plan()));
            });
            g.finish();
            if slice_benches() {
                let mut g = group_config(c, "cloneset-slice", n);
                g.throughput(Throughput::Elements(s.pods.len() as u64));
                g.bench_function(BenchmarkId::new(kind.name(), n), |b| {
                    b.iter(|| black_box(s.plan_slice()));
                });
                g.finish();
            }
        }
    }
}

/// `KRUISE_BENCH_SLICE=0` skips the `cloneset-slice/*` cases (plans from `&[Pod]`).
fn slice_benches() -> bool {
    std::env::var("KRUISE_BENCH_SLICE").map_or(true, |v| v != "0")
}

/// What keeping a [`PodTable`] costs the adapter: building it from n pods (a cold start or a
/// relist) and one watch event (a changed pod replaced).
fn bench_table(c: &mut Criterion) {
    for n in sizes() {
        let s = Scenario::build(Kind::Rolling, n);
        let pods: Vec<Arc<Pod>> = s.pods.iter().cloned().map(Arc::new).collect();
        let mut g = c.benchmark_group("podtable");
        g.sample_size(10);
        g.warm_up_time(Duration::from_millis(200));
        g.measurement_time(Duration::from_secs(2));
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("build", n), |b| {
            b.iter(|| black_box(PodTable::from_pods(&s.cloneset, pods.iter().cloned()).map(|t| t.len())));
        });
        let mut table = s.table.clone();
        let mut k = 0usize;
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new("upsert", n), |b| {
            b.iter(|| {
                k = (k + 7919) % pods.len();
                black_box(table.upsert(pods[k].clone()))
            });
        });
        g.finish();
    }
}

fn bench_decode(c: &mut Criterion) {
    for n in sizes() {
        // The rolling pods: both revisions, some not ready.
        let s = Scenario::build(Kind::Rolling, n);
        let json = support::pods_list_json(&s.pods);
        drop(s);
        let decoded: PodList = serde_json::from_str(&json).expect("the list decodes");
        assert_eq!(decoded.items.len(), n, "decode/{n}: pod count");
        drop(decoded);
        let mut g = c.benchmark_group("decode");
        g.sample_size(10);
        g.warm_up_time(Duration::from_millis(200));
        g.measurement_time(Duration::from_secs(if n >= 100_000 { 5 } else { 2 }));
        g.throughput(Throughput::Bytes(json.len() as u64));
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| black_box(serde_json::from_str::<PodList>(black_box(&json)).map(|l| l.items.len())));
        });
        g.finish();
    }
}

criterion::criterion_group!(benches, bench_plans, bench_table, bench_decode);
criterion::criterion_main!(benches);
