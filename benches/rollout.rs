//! Rollout planner benchmarks: one plan of the spec's worked-example Rollout (rollout.md §M)
//! over a CloneSet of N = 10k and 100k pods, in each step state that touches the pods: batch 1
//! upgrading (targets and pod batch labels over every pod), verifying (readiness and the
//! labelled-pod count), paused for approval, and finalising.
//!
//! Run: `cargo bench --bench rollout` or `cargo bench --bench rollout -- rollout/upgrading`;
//! `KRUISE_BENCH_SIZES=10000` narrows the sizes.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use k8s_openapi::api::core::v1::{Pod, PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::keys;
use kruise_api::rollouts::v1beta1::{BatchRelease, Rollout};
use kruise_core::rollout::{Config, Input, TrafficObservation, Workload, WorkloadKind, plan};

fn sizes() -> Vec<usize> {
    match std::env::var("KRUISE_BENCH_SIZES") {
        Ok(v) if !v.trim().is_empty() => v.split(',').filter_map(|s| s.trim().parse().ok()).collect(),
        _ => vec![10_000, 100_000],
    }
}

fn rollout(step: i32, state: &str, reason: &str, finalising: &str) -> Rollout {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web", "namespace": "default", "generation": 1, "finalizers": ["rollouts.kruise.io/rollout"]},
        "spec": {
            "workloadRef": {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet", "name": "web"},
            "strategy": {"canary": {"steps": [
                {"replicas": 1, "pause": {}},
                {"replicas": "50%", "pause": {"duration": 60}},
                {"replicas": "100%", "pause": {}}
            ]}}
        },
        "status": {
            "phase": "Progressing",
            "conditions": [{"type": "Progressing", "status": "True", "reason": reason, "message": ""}],
            "currentStepIndex": step, "currentStepState": state,
            "canaryStatus": {
                "currentStepIndex": step, "nextStepIndex": step + 1, "currentStepState": state,
                "canaryRevision": "bbb", "podTemplateHash": "bbb", "stableRevision": "aaa",
                "observedRolloutID": "bbb", "finalisingStep": finalising,
                "lastUpdateTime": "2026-01-01T00:00:00Z"
            }
        }
    }))
    .expect("rollout")
}

/// The BatchRelease as its controller last wrote it (status current, so the pass acts).
fn batch_release(partition: i32, batch_state: &str, n: usize, updated: usize) -> BatchRelease {
    let mut br: BatchRelease = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "web", "generation": 1},
        "spec": {
            "workloadRef": {"apiVersion": "apps.kruise.io/v1alpha1", "kind": "CloneSet", "name": "web"},
            "releasePlan": {"batches": [{"canaryReplicas": 1}, {"canaryReplicas": "50%"}, {"canaryReplicas": "100%"}],
                "batchPartition": partition, "rolloutID": "bbb", "rollingStyle": "Partition"}
        },
        "status": {"phase": "Progressing", "observedGeneration": 1, "observedRolloutID": "bbb",
            "observedWorkloadReplicas": n, "stableRevision": "web-aaa", "updateRevision": "web-bbb",
            "canaryStatus": {"batchState": batch_state, "currentBatch": partition,
                "updatedReplicas": updated, "updatedReadyReplicas": updated}}
    }))
    .expect("br");
    let hash = kruise_core::rollout::batch_release::release_plan_hash(&br.spec.release_plan);
    if let Some(st) = &mut br.status {
        st.observed_release_plan_hash = hash;
    }
    br
}

/// N pods, `updated` of them on `bbb` (the first one labelled batch 1), all ready.
fn pods(n: usize, updated: usize) -> Vec<Pod> {
    (0..n)
        .map(|i| {
            let on_new = i >= n - updated;
            let mut labels = BTreeMap::from([
                ("app".to_owned(), "web".to_owned()),
                (keys::POD_TEMPLATE_HASH.to_owned(), if on_new { "bbb" } else { "aaa" }.to_owned()),
            ]);
            if i == n - 1 {
                labels.insert(keys::ROLLOUT_ID.into(), "bbb".into());
                labels.insert(keys::ROLLOUT_BATCH_ID.into(), "1".into());
            }
            Pod {
                metadata: ObjectMeta {
                    name: Some(format!("web-{i:06}")),
                    labels: Some(labels),
                    ..ObjectMeta::default()
                },
                spec: None,
                status: Some(PodStatus {
                    conditions: Some(vec![PodCondition {
                        type_: "Ready".into(),
                        status: "True".into(),
                        ..Default::default()
                    }]),
                    ..PodStatus::default()
                }),
            }
        })
        .collect()
}

fn workload(n: usize, updated: usize, partition: IntOrString) -> Workload {
    let r = i32::try_from(n).unwrap_or(i32::MAX);
    let u = i32::try_from(updated).unwrap_or(i32::MAX);
    Workload {
        kind: Some(WorkloadKind::CloneSet),
        api_version: "apps.kruise.io/v1alpha1".into(),
        name: "web".into(),
        generation: 3,
        observed_generation: 3,
        annotations: BTreeMap::from([(keys::ROLLOUT_IN_PROGRESSING.to_owned(), "{}".to_owned())]),
        replicas: r,
        partition: Some(partition),
        status_replicas: r,
        updated_replicas: u,
        updated_ready_replicas: u,
        current_revision: "web-aaa".into(),
        update_revision: "web-bbb".into(),
        stable_revision: "aaa".into(),
        canary_revision: "bbb".into(),
        pod_template_hash: "bbb".into(),
        ..Workload::default()
    }
}

struct Case {
    name: &'static str,
    rollout: Rollout,
    br: BatchRelease,
    workload: Workload,
    pods: Vec<Pod>,
}

fn cases(n: usize) -> Vec<Case> {
    let half = n / 2;
    vec![
        Case {
            name: "upgrading",
            rollout: rollout(2, "StepUpgrade", "InRolling", ""),
            br: batch_release(1, "Upgrading", n, half),
            workload: workload(n, half, IntOrString::String("50%".into())),
            pods: pods(n, half),
        },
        Case {
            name: "verifying",
            rollout: rollout(2, "StepUpgrade", "InRolling", ""),
            br: batch_release(1, "Verifying", n, half),
            workload: workload(n, half, IntOrString::String("50%".into())),
            pods: pods(n, half),
        },
        Case {
            name: "paused",
            rollout: rollout(1, "StepPaused", "InRolling", ""),
            br: batch_release(0, "Ready", n, 1),
            workload: workload(n, 1, IntOrString::Int(i32::try_from(n).unwrap_or(1) - 1)),
            pods: pods(n, 1),
        },
        Case {
            name: "finalising",
            rollout: rollout(3, "Completed", "Finalising", "ResumeWorkload"),
            br: batch_release(2, "Ready", n, n),
            workload: workload(n, n, IntOrString::String("0%".into())),
            pods: pods(n, n),
        },
    ]
}

fn bench(c: &mut Criterion) {
    let now: jiff::Timestamp = "2026-01-01T00:00:10Z".parse().expect("time");
    for n in sizes() {
        let mut g = c.benchmark_group("rollout");
        g.sample_size(10);
        g.warm_up_time(Duration::from_millis(300));
        g.measurement_time(Duration::from_secs(2));
        g.throughput(Throughput::Elements(n as u64));
        for case in cases(n) {
            let input = Input {
                rollout: &case.rollout,
                workload: Some(&case.workload),
                pods: &case.pods,
                batch_release: Some(&case.br),
                traffic: TrafficObservation::default(),
                now,
                config: Config::default(),
            };
            g.bench_with_input(BenchmarkId::new(case.name, n), &input, |b, input| {
                b.iter(|| black_box(plan(black_box(input)).expect("plan")))
            });
        }
        g.finish();
    }
}

criterion::criterion_group!(benches, bench);
criterion::criterion_main!(benches);
