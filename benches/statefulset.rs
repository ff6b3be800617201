//! Advanced StatefulSet planner benchmarks: `steady`, `rolling` (partition held) and `wave`
//! (an in-place wave) at N = 1k, 10k and 100k pods, each with its action counts asserted
//! before timing, and the JSON decode of the same pods as the yardstick (benches/README.md).
//! `statefulset/*` plans from a `PodTable` built once before timing (as an operator keeps it);
//! `statefulset-slice/*` from the same pods as a `&[Pod]` slice (as `kruise plan` passes them);
//! both forms are checked to give the same plan before timing.
//!
//! Run: `cargo bench --bench statefulset` (all), `-- statefulset/wave` (a filter);
//! `KRUISE_BENCH_SIZES=1000,10000` narrows the sizes; `KRUISE_BENCH_SLICE=0` skips the
//! slice cases; `KRUISE_BENCH_GROWTH=` (or `=steady`, ...) prints the 100k/10k growth measured
//! with the two sizes alternating instead (see [`growth`]).
//!
//! The allocator's policy is fixed (see [`main`]): with glibc's default, whether a plan's
//! freed memory goes back to the kernel, and is faulted in again by the next plan, depends on
//! which allocation happened to be freed last, and moves the 100k figures by up to 40%.
//! `KRUISE_BENCH_MALLOC=default` measures with glibc's default policy instead.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Pod, PodCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::{RollingUpdateStatefulSetStrategy, StatefulSet};
use kruise_api::keys;
use kruise_core::expectations::Expectations;
use kruise_core::statefulset::{self, Input, Plan, PodTable, Pods};
use serde::Deserialize;

#[path = "support/mod.rs"]
mod support;

/// The sizes; `KRUISE_BENCH_SIZES=1000,10000` narrows them.
fn sizes() -> Vec<usize> {
    match std::env::var("KRUISE_BENCH_SIZES") {
        Ok(v) if !v.trim().is_empty() => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        _ => vec![1_000, 10_000, 100_000],
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Every pod Ready on the one revision: nothing to do.
    Steady,
    /// A new revision, the upper half of the slots updated, partition N/2 holds the rest.
    Rolling,
    /// A new image, InPlaceIfPossible, maxUnavailable 10 %: N/10 pods updated in place.
    Wave,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Steady, Kind::Rolling, Kind::Wave];
    fn name(self) -> &'static str {
        match self {
            Kind::Steady => "steady",
            Kind::Rolling => "rolling",
            Kind::Wave => "wave",
        }
    }
}

struct Scenario {
    kind: Kind,
    n: usize,
    set: StatefulSet,
    pods: Vec<Pod>,
    table: PodTable,
    revisions: Vec<ControllerRevision>,
    expectations: Expectations,
}

fn set(image: &str, n: usize, kind: Kind) -> StatefulSet {
    let mut s = StatefulSet::default();
    s.metadata.name = Some("demo".into());
    s.metadata.namespace = Some("default".into());
    s.metadata.uid = Some(support::UID.into());
    s.metadata.generation = Some(2);
    s.spec.replicas = Some(n as i32);
    s.spec.service_name = "demo".into();
    s.spec.pod_management_policy = Some("Parallel".into());
    s.spec.selector = Some(LabelSelector {
        match_labels: Some([("app".to_owned(), "demo".to_owned())].into()),
        ..Default::default()
    });
    s.spec.template = support::template(image);
    let (partition, policy) = match kind {
        Kind::Steady => (0, "ReCreate"),
        Kind::Rolling => (n as i32 / 2, "ReCreate"),
        Kind::Wave => (0, "InPlaceIfPossible"),
    };
    s.spec.update_strategy.type_ = Some("RollingUpdate".into());
    s.spec.update_strategy.rolling_update = Some(RollingUpdateStatefulSetStrategy {
        partition: Some(partition),
        max_unavailable: Some(IntOrString::String("10%".into())),
        pod_update_policy: Some(policy.into()),
        min_ready_seconds: Some(0),
        ..Default::default()
    });
    s
}

/// Pod `o` at `revision`, Running and Ready, the in-place readiness gate True.
fn pod(o: usize, n: usize, revision: &str, new: bool) -> Pod {
    let mut p = support::pod(o, n, revision, new, true, None);
    let name = format!("demo-{o}");
    let labels = p.metadata.labels.get_or_insert_with(Default::default);
    labels.remove(keys::CLONESET_INSTANCE_ID);
    labels.remove(keys::POD_TEMPLATE_HASH);
    labels.insert(keys::STATEFULSET_POD_NAME.into(), name.clone());
    labels.insert(keys::POD_INDEX.into(), o.to_string());
    p.metadata.name = Some(name);
    if let Some(refs) = p.metadata.owner_references.as_mut() {
        refs[0].kind = "StatefulSet".into();
    }
    let conds = p.status.get_or_insert_with(Default::default).conditions.get_or_insert_with(Vec::new);
    if !conds.iter().any(|c| c.type_ == keys::INPLACE_UPDATE_READY) {
        conds.push(PodCondition {
            type_: keys::INPLACE_UPDATE_READY.into(),
            status: "True".into(),
            last_transition_time: Some(Time(support::now(0))),
            ..Default::default()
        });
    }
    p
}

impl Scenario {
    fn build(kind: Kind, n: usize) -> Self {
        let old = set(support::OLD_IMAGE, n, kind);
        let r1 = statefulset::revision::resolve(&old, &[]);
        let rev1 = r1.sorted[r1.update].clone();
        let new = set(support::NEW_IMAGE, n, kind);
        let r2 = statefulset::revision::resolve(&new, std::slice::from_ref(&rev1));
        let rev2 = r2.sorted[r2.update].clone();
        let (n1, n2) =
            (rev1.metadata.name.clone().unwrap_or_default(), rev2.metadata.name.clone().unwrap_or_default());
        let (mut the_set, revisions) = match kind {
            Kind::Steady => (old, vec![rev1]),
            Kind::Rolling | Kind::Wave => (new, vec![rev1, rev2]),
        };
        let pods = (0..n)
            .map(|o| match kind {
                Kind::Steady | Kind::Wave => pod(o, n, &n1, false),
                Kind::Rolling if o < n / 2 => pod(o, n, &n1, false),
                Kind::Rolling => pod(o, n, &n2, true),
            })
            .collect();
        the_set.status = Some(Default::default());
        the_set.status.get_or_insert_with(Default::default).current_revision = n1.clone();
        let table = PodTable::default();
        let mut s =
            Scenario { kind, n, set: the_set, pods, table, revisions, expectations: Expectations::default() };
        // Preset the status the planner computes, so a plan writes none.
        let first = s.plan_slice();
        s.set.status = Some(first.status.clone());
        s.table = PodTable::from_pods(&s.set, s.pods.iter().cloned()).expect("named pods");
        s
    }

    fn input<'a>(&'a self, pods: Pods<'a>) -> Input<'a> {
        Input {
            statefulset: &self.set,
            pods,
            pvcs: &[],
            revisions: &self.revisions,
            storage_classes: &[],
            now: support::now(self.n),
            features: Default::default(),
            gates: Default::default(),
            expectations: &self.expectations,
        }
    }

    /// One plan from the table.
    fn plan(&self) -> Plan {
        statefulset::plan(&self.input((&self.table).into())).expect("the bench input plans")
    }

    /// One plan from the slice.
    fn plan_slice(&self) -> Plan {
        statefulset::plan(&self.input((&self.pods).into())).expect("the bench input plans")
    }

    /// The action counts of the scenario, by kind.
    fn expected(&self) -> BTreeMap<&'static str, usize> {
        match self.kind {
            Kind::Steady | Kind::Rolling => BTreeMap::new(),
            Kind::Wave => [("UpdatePodStatus", self.n / 10), ("UpdateInPlace", self.n / 10)].into(),
        }
    }

    fn check(&self, p: &Plan) {
        let mut have: BTreeMap<&'static str, usize> = BTreeMap::new();
        for a in &p.actions {
            *have.entry(a.kind.name()).or_default() += 1;
        }
        assert_eq!(have, self.expected(), "statefulset/{}/{}: action counts", self.kind.name(), self.n);
        if let Kind::Rolling = self.kind {
            assert_eq!(p.held.len(), self.n / 2, "rolling: the partition holds half");
        }
    }
}

#[derive(Deserialize)]
struct PodList {
    items: Vec<Pod>,
}

fn group<'c>(
    c: &'c mut Criterion,
    name: &str,
    n: usize,
) -> criterion::BenchmarkGroup<'c, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(if n >= 100_000 { 200 } else { 500 }));
    g.measurement_time(Duration::from_secs(if n >= 100_000 { 3 } else { 2 }));
    g.throughput(Throughput::Elements(n as u64));
    g
}

/// `KRUISE_BENCH_SLICE=0` skips the `statefulset-slice/*` cases.
fn slice_cases() -> bool {
    std::env::var("KRUISE_BENCH_SLICE").map_or(true, |v| v != "0")
}

/// `KRUISE_BENCH_GROWTH=<kind>` (or empty for all three): the growth from 10k to 100k pods
/// measured by alternating the two sizes in one process, seven rounds of 200 and 20 plans,
/// the fastest and the median round of each. Criterion measures one size after the other, so
/// a machine whose speed drifts (a shared VM) moves the two sizes apart; alternating them
/// puts both under the same conditions.
fn growth(kind: Kind) {
    let (small, big) = (Scenario::build(kind, 10_000), Scenario::build(kind, 100_000));
    // Also the page faults per plan (memory the allocator took from the kernel afresh), which
    // differ between the sizes when the allocator keeps the small plan's memory and returns
    // the large one's.
    let (mut faults_small, mut faults_big) = (0, 0);
    let ms_per_plan = |s: &Scenario, reps: usize, faults: &mut u64| {
        let f0 = minor_faults();
        let t = std::time::Instant::now();
        for _ in 0..reps {
            black_box(s.plan());
        }
        let ms = t.elapsed().as_secs_f64() * 1e3 / reps as f64;
        *faults += (minor_faults() - f0) / reps as u64;
        ms
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        a.push(ms_per_plan(&small, 200, &mut faults_small));
        b.push(ms_per_plan(&big, 20, &mut faults_big));
    }
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    println!(
        "statefulset/{}: 10k {:.3} ms (median {:.3}), 100k {:.3} ms (median {:.3}): growth {:.1}x (medians {:.1}x); page faults per plan {} / {}",
        kind.name(),
        a[0],
        a[3],
        b[0],
        b[3],
        b[0] / a[0],
        b[3] / a[3],
        faults_small / 7,
        faults_big / 7,
    );
}

/// The process's minor page faults so far (`/proc/self/stat`, field 10); 0 where there is
/// no such file.
fn minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (in parentheses, which may hold spaces): state is
    // field 3, minflt field 10.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    rest.split_whitespace().nth(7).and_then(|f| f.parse().ok()).unwrap_or(0)
}

fn bench(c: &mut Criterion) {
    if let Ok(k) = std::env::var("KRUISE_BENCH_GROWTH") {
        for kind in Kind::ALL.into_iter().filter(|x| k.is_empty() || x.name() == k) {
            growth(kind);
        }
        return;
    }
    for n in sizes() {
        for kind in Kind::ALL {
            let s = Scenario::build(kind, n);
            let (from_table, from_slice) = (s.plan(), s.plan_slice());
            s.check(&from_table);
            assert_eq!(
                from_table,
                from_slice,
                "statefulset/{}/{n}: the table and the slice plan alike",
                kind.name()
            );
            let mut g = group(c, "statefulset", n);
            g.bench_function(BenchmarkId::new(kind.name(), n), |b| b.iter(|| black_box(s.plan())));
            g.finish();
            if slice_cases() {
                let mut g = group(c, "statefulset-slice", n);
                g.bench_function(BenchmarkId::new(kind.name(), n), |b| b.iter(|| black_box(s.plan_slice())));
                g.finish();
            }
        }
        let s = Scenario::build(Kind::Rolling, n);
        let json = support::pods_list_json(&s.pods);
        drop(s);
        let mut g = group(c, "statefulset-decode", n);
        g.bench_function(BenchmarkId::new("pods", n), |b| {
            b.iter(|| black_box(serde_json::from_str::<PodList>(&json).map(|l| l.items.len())))
        });
        g.finish();
    }
}

criterion::criterion_group!(benches, bench);

/// glibc's malloc tunables for the run: freed memory is kept (up to 512 MiB at the top of the
/// heap) and blocks up to 32 MiB come from the heap, as in a long-running operator tuned so;
/// the dynamic thresholds, which follow the largest block freed so far, are off.
const MALLOC_TUNABLES: &str = "glibc.malloc.trim_threshold=536870912:glibc.malloc.mmap_threshold=33554432";

/// Runs the benchmarks under a fixed allocator policy: glibc reads its tunables when the
/// process starts, so the process runs itself again once with them set (Linux with glibc
/// only; `KRUISE_BENCH_MALLOC=default`, or tunables already set, runs as it is).
fn main() {
    let fixed =
        std::env::var_os("KRUISE_BENCH_MALLOC").is_none() && std::env::var_os("GLIBC_TUNABLES").is_none();
    if cfg!(all(target_os = "linux", target_env = "gnu")) && fixed {
        let again = std::env::current_exe().and_then(|exe| {
            std::process::Command::new(exe)
                .args(std::env::args_os().skip(1))
                .env("GLIBC_TUNABLES", MALLOC_TUNABLES)
                .env("KRUISE_BENCH_MALLOC", "fixed")
                .status()
        });
        match again {
            Ok(status) => std::process::exit(status.code().unwrap_or(1)),
            Err(e) => eprintln!(
                "statefulset bench: cannot run again with a fixed malloc policy ({e}); measuring as is"
            ),
        }
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
