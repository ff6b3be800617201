//! Rough timing of the CloneSet planner on the five shapes of `bench-scenarios.md` (steady,
//! rolling, wave, scaledown, scaledown-nospec) at 1k / 10k / 100k pods, with their expected
//! action counts checked. Ignored by default: run with
//! `cargo test --release -p kruise-core --test cloneset_scale_timing -- --ignored --nocapture`.
//! `TIMING_ONLY=<scenario>`, `TIMING_SIZES=1000,10000` and `TIMING_RUNS=<n>` narrow a run
//! (`TIMING_RUNS=0` plans once, untimed: handy under callgrind).

use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::apps::v1beta1::CloneSet;
use kruise_api::keys;
use kruise_core::cloneset::fixtures::{self, pod, rolling, ts};
use kruise_core::cloneset::{Input, plan};
use kruise_core::{Expectations, Features};

#[derive(Clone)]
struct Shape {
    /// Pods listed.
    pods: usize,
    /// `spec.replicas`.
    replicas: usize,
    /// Pods with index below this are on the new revision.
    new_below: usize,
    /// Every k-th pod (index mod k = k - 1) is not ready; 0 = none.
    not_ready_every: usize,
    max_unavailable: IntOrString,
    /// `podsToDelete`: the first `n` pods with index mod 22 = 0.
    pods_to_delete: usize,
}

fn build(s: &Shape) -> (CloneSet, Vec<Pod>, Vec<k8s_openapi::api::apps::v1::ControllerRevision>) {
    let mut cs = fixtures::cloneset("demo", s.replicas as i32, "app:v1.0.0");
    rolling(&mut cs).pod_update_policy = Some("InPlaceIfPossible".into());
    rolling(&mut cs).max_unavailable = Some(s.max_unavailable.clone());
    let r1 = fixtures::revision_of(&cs, 1);
    fixtures::set_image(&mut cs, "app:v1.1.0");
    let r2 = fixtures::revision_of(&cs, 2);
    let (n1, n2) = (r1.metadata.name.clone().unwrap(), r2.metadata.name.clone().unwrap());
    let current = if s.new_below >= s.pods { &n2 } else { &n1 };
    fixtures::set_status(&mut cs, current, &n2);
    let state = format!(
        r#"{{"revision":"{n2}","updateTimestamp":"2026-01-01T00:00:00Z","lastContainerStatuses":{{"main":{{"imageID":"sha-old"}}}},"updateImages":true}}"#
    );
    let nodes = (s.replicas / 10).max(1);
    let pods: Vec<Pod> = (0..s.pods)
        .map(|i| {
            let mut b = pod(&cs, &format!("{i:05x}"), if i < s.new_below { &n2 } else { &n1 })
                .created(i as i64)
                .ready_since(i as i64 + 30)
                .node(&format!("node-{}", i % nodes));
            if i < s.new_below {
                b = b.annotation(keys::INPLACE_UPDATE_STATE, &state);
            }
            if s.not_ready_every > 0 && i % s.not_ready_every == s.not_ready_every - 1 {
                b = b.not_ready();
            }
            b.build()
        })
        .collect();
    cs.spec.scale_strategy.pods_to_delete = pods
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 22 == 0)
        .take(s.pods_to_delete)
        .map(|(_, p)| p.metadata.name.clone().unwrap())
        .collect();
    (cs, pods, vec![r1, r2])
}

/// Plans the shape (timed over `TIMING_RUNS` runs) and returns (ms per plan, in-place
/// updates, deletes).
fn run(s: &Shape) -> (f64, usize, usize) {
    let (cs, pods, revs) = build(s);
    let exp = Expectations::new();
    let input = Input {
        cloneset: &cs,
        pods: &pods,
        pvcs: &[],
        revisions: &revs,
        nodes: &[],
        now: ts(1_000_000),
        id_seed: 1,
        features: Features::default(),
        expectations: &exp,
        pub_check: None,
    };
    let p = plan(&input).unwrap();
    let runs: usize = std::env::var("TIMING_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let t = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(plan(&input).unwrap());
    }
    let ms = t.elapsed().as_secs_f64() * 1000.0 / runs.max(1) as f64;
    (ms, p.count("UpdateInPlace"), p.count("DeletePod"))
}

#[test]
#[ignore]
fn timing_bench_scenarios() {
    let only = std::env::var("TIMING_ONLY").unwrap_or_default();
    let on = |s: &str| only.is_empty() || only == s;
    let sizes: Vec<usize> = std::env::var("TIMING_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000]);
    let pct = |s: &str| IntOrString::String(s.into());
    for &n in &sizes {
        let base = Shape {
            pods: n,
            replicas: n,
            new_below: n,
            not_ready_every: 0,
            max_unavailable: pct("20%"),
            pods_to_delete: 0,
        };
        let cases: Vec<(&str, Shape, (usize, usize))> = vec![
            ("steady", Shape { ..base.clone() }, (0, 0)),
            (
                "rolling",
                Shape {
                    new_below: n / 2,
                    not_ready_every: 100,
                    max_unavailable: IntOrString::Int(100),
                    ..base.clone()
                },
                (100usize.saturating_sub(n / 200), 0),
            ),
            ("wave", Shape { new_below: 0, ..base.clone() }, (n / 5, 0)),
            (
                "scaledown",
                Shape { pods: n + n / 10, new_below: n + n / 10, pods_to_delete: n / 20, ..base.clone() },
                (0, n / 20),
            ),
            (
                "scaledown-nospec",
                Shape { pods: n + n / 10, new_below: n + n / 10, ..base.clone() },
                (0, n / 10),
            ),
        ];
        for (name, shape, (want_ip, want_del)) in cases {
            if !on(name) {
                continue;
            }
            let (ms, ip, del) = run(&shape);
            println!("{name:<17} {n:>7} {ms:10.2} ms  in-place {ip:>6}  deletes {del:>6}");
            assert_eq!((ip, del), (want_ip, want_del), "{name} at {n}: action counts");
        }
    }
}
