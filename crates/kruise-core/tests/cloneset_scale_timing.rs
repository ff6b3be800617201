//! Rough timing of the CloneSet planner at 100k pods (the shapes of bench-scenarios.md,
//! simplified). Ignored by default: run with
//! `cargo test --release -p kruise-core --test cloneset_scale_timing -- --ignored --nocapture`.

use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::keys;
use kruise_core::cloneset::fixtures::{self, pod, rolling, ts};
use kruise_core::cloneset::{Input, plan};
use kruise_core::{Expectations, Features};

fn scenario(
    n: usize,
    new_below: usize,
    not_ready_every: usize,
    max_unavailable: IntOrString,
) -> (f64, usize) {
    let mut cs = fixtures::cloneset("demo", n as i32, "app:v1.0.0");
    rolling(&mut cs).pod_update_policy = Some("InPlaceIfPossible".into());
    rolling(&mut cs).max_unavailable = Some(max_unavailable);
    let r1 = fixtures::revision_of(&cs, 1);
    fixtures::set_image(&mut cs, "app:v1.1.0");
    let r2 = fixtures::revision_of(&cs, 2);
    let (n1, n2) = (r1.metadata.name.clone().unwrap(), r2.metadata.name.clone().unwrap());
    let current = if new_below >= n { &n2 } else { &n1 };
    fixtures::set_status(&mut cs, current, &n2);
    let state = format!(
        r#"{{"revision":"{n2}","updateTimestamp":"2026-01-01T00:00:00Z","lastContainerStatuses":{{"main":{{"imageID":"sha-old"}}}},"updateImages":true}}"#
    );
    let pods: Vec<Pod> = (0..n)
        .map(|i| {
            let mut b =
                pod(&cs, &format!("{i:05x}"), if i < new_below { &n2 } else { &n1 }).created(i as i64);
            if i < new_below {
                b = b.annotation(keys::INPLACE_UPDATE_STATE, &state);
            }
            if not_ready_every > 0 && i % not_ready_every == not_ready_every - 1 {
                b = b.not_ready();
            }
            b.build()
        })
        .collect();
    let revs = vec![r1, r2];
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
    let t = Instant::now();
    let runs: usize = std::env::var("TIMING_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    for _ in 0..runs {
        std::hint::black_box(plan(&input).unwrap());
    }
    (t.elapsed().as_secs_f64() * 1000.0 / runs as f64, p.count("UpdateInPlace"))
}

#[test]
#[ignore]
fn timing_100k() {
    let n = 100_000;
    let only = std::env::var("TIMING_ONLY").unwrap_or_default();
    let on = |s: &str| only.is_empty() || only == s;
    if on("steady") {
        let (ms, c) = scenario(n, n, 0, IntOrString::String("20%".into()));
        println!("steady  {ms:8.2} ms  in-place {c}");
    }
    if on("rolling") {
        let (ms, c) = scenario(n, n / 2, 100, IntOrString::Int(100));
        println!("rolling {ms:8.2} ms  in-place {c}");
    }
    if on("wave") {
        let (ms, c) = scenario(n, 0, 0, IntOrString::String("20%".into()));
        println!("wave    {ms:8.2} ms  in-place {c}");
    }
}
