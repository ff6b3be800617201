//! Fuzz target: the CloneSet planner on arbitrary structured inputs. An `Arbitrary`
//! description of a spec and a pod population is mapped to valid Kubernetes types with the
//! planner's own fixtures, then the invariants of the property tests are asserted:
//! never panics; creates ≤ missing + surge; updates of available pods within the
//! maxUnavailable budget (CS-62); nothing updated beyond the partition (CS-66); every
//! `podsToDelete` pod deleted, acted on or held (CS-50); same input twice, or in another
//! order, gives the same plan (CS-91).
#![no_main]

use arbitrary::Arbitrary;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kruise_api::keys;
use kruise_core::cloneset::fixtures::{self, rolling, ts};
use kruise_core::cloneset::{Input, PodTable, Reason, plan};
use kruise_core::{Expectations, Features};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Amount {
    Int(u8),
    Percent(u8),
}

impl Amount {
    fn to_intstr(self) -> IntOrString {
        match self {
            Amount::Int(v) => IntOrString::Int(i32::from(v % 40)),
            Amount::Percent(p) => IntOrString::String(format!("{}%", p % 101)),
        }
    }
    /// Upper bound of the absolute value against `total` (percent rounded up).
    fn ceil(self, total: i32) -> i32 {
        match self {
            Amount::Int(v) => i32::from(v % 40),
            Amount::Percent(p) => (i32::from(p % 101) * total + 99) / 100,
        }
    }
    /// Lower bound of the absolute value against `total` (percent rounded down).
    fn floor(self, total: i32) -> i32 {
        match self {
            Amount::Int(v) => i32::from(v % 40),
            Amount::Percent(p) => i32::from(p % 101) * total / 100,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct PodDesc {
    id: u8,
    on_new: bool,
    ready: bool,
    state: u8,
    ready_since: u16,
    created: u16,
    terminating: bool,
    phase: u8,
    inplace_state: u8,
    deletion_cost: Option<i16>,
    specified_delete: bool,
    unscheduled: bool,
    restarts: u8,
}

#[derive(Arbitrary, Debug)]
struct Desc {
    replicas: u8,
    partition: Amount,
    max_unavailable: Amount,
    max_surge: Option<Amount>,
    policy: u8,
    min_ready: u8,
    paused: bool,
    rollback: bool,
    current_is_new: bool,
    pods_to_delete: Vec<u8>,
    pods: Vec<PodDesc>,
    now: u16,
    seed: u64,
}

const STATES: [&str; 7] =
    ["", "Normal", "PreparingUpdate", "Updating", "Updated", "PreparingDelete", "Weird"];
const PHASES: [&str; 5] = ["Running", "Pending", "Succeeded", "Failed", "Unknown"];

fn build(
    d: &Desc,
) -> (kruise_api::apps::v1beta1::CloneSet, Vec<k8s_openapi::api::apps::v1::ControllerRevision>, Vec<Pod>) {
    let replicas = i32::from(d.replicas % 12);
    let mut cs = fixtures::cloneset("web", replicas, "nginx:1");
    let r1 = fixtures::revision_of(&cs, 1);
    fixtures::set_image(&mut cs, "nginx:2");
    let r2 = fixtures::revision_of(&cs, 2);
    let n1 = r1.metadata.name.clone().unwrap_or_default();
    let n2 = r2.metadata.name.clone().unwrap_or_default();
    fixtures::set_status(&mut cs, if d.current_is_new { &n2 } else { &n1 }, &n2);
    if d.rollback {
        // Template back to revision 1: the planner reuses (bumps) it (CS-28).
        fixtures::set_image(&mut cs, "nginx:1");
    }
    cs.spec.min_ready_seconds = i32::from(d.min_ready % 60);
    let ru = rolling(&mut cs);
    ru.partition = Some(d.partition.to_intstr());
    ru.max_unavailable = Some(d.max_unavailable.to_intstr());
    ru.max_surge = d.max_surge.map(Amount::to_intstr);
    ru.paused = d.paused;
    ru.pod_update_policy =
        Some(["ReCreate", "InPlaceIfPossible", "InPlaceOnly"][usize::from(d.policy % 3)].into());
    let mut seen = std::collections::BTreeSet::new();
    let pods: Vec<Pod> = d
        .pods
        .iter()
        .take(24)
        .filter(|p| seen.insert(p.id % 32))
        .map(|p| {
            let rev = if p.on_new { &n2 } else { &n1 };
            let mut b = fixtures::pod(&cs, &format!("p{:02}", p.id % 32), rev)
                .created(i64::from(p.created % 500))
                .ready_since(i64::from(p.ready_since % 1000))
                .label(keys::LIFECYCLE_STATE, STATES[usize::from(p.state) % STATES.len()])
                .phase(PHASES[usize::from(p.phase) % PHASES.len()])
                .restarts(i32::from(p.restarts % 4));
            if !p.ready {
                b = b.not_ready();
            }
            if p.terminating {
                b = b.terminating();
            }
            if p.unscheduled {
                b = b.unscheduled();
            }
            if let Some(c) = p.deletion_cost {
                b = b.annotation(keys::POD_DELETION_COST, &c.to_string());
            }
            if p.specified_delete {
                b = b.label(keys::SPECIFIED_DELETE, "true");
            }
            match p.inplace_state % 3 {
                1 => {
                    let state = format!(
                        r#"{{"revision":"{rev}","updateTimestamp":"1970-01-01T00:00:10Z","lastContainerStatuses":{{"main":{{"imageID":"sha-old"}}}},"updateImages":true}}"#
                    );
                    b = b.annotation(keys::INPLACE_UPDATE_STATE, &state);
                }
                2 => b = b.annotation(keys::INPLACE_UPDATE_STATE, "{\"revision\":"),
                _ => {}
            }
            b.build()
        })
        .collect();
    cs.spec.scale_strategy.pods_to_delete =
        d.pods_to_delete.iter().take(8).map(|i| format!("web-p{:02}", i % 32)).collect();
    // Keep the spec valid for the planner: names unique.
    cs.spec.scale_strategy.pods_to_delete.dedup();
    (cs, vec![r1, r2], pods)
}

fn is_active(p: &Pod) -> bool {
    let phase = p.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default();
    p.metadata.deletion_timestamp.is_none() && phase != "Succeeded" && phase != "Failed"
}

fn state_of(p: &Pod) -> Option<&str> {
    p.metadata.labels.as_ref()?.get(keys::LIFECYCLE_STATE).map(String::as_str)
}

fn phase_of(p: &Pod) -> &str {
    p.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or_default()
}

fn ready_since(p: &Pod) -> Option<i64> {
    let c = p.status.as_ref()?.conditions.as_ref()?.iter().find(|c| c.type_ == keys::CONDITION_READY)?;
    if c.status != "True" {
        return None;
    }
    Some(c.last_transition_time.as_ref().map_or(0, |t| t.0.as_second()))
}

fuzz_target!(|d: Desc| {
    let (cs, revs, pods) = build(&d);
    let exp = Expectations::new();
    let now = 1000 + i64::from(d.now % 2000);
    let input = Input {
        cloneset: &cs,
        pods: (&pods).into(),
        pvcs: &[],
        revisions: &revs,
        nodes: &[],
        now: ts(now),
        id_seed: d.seed,
        features: Features::default(),
        expectations: &exp,
        pub_decisions: None,
    };
    let Ok(p) = plan(&input) else { return };
    // Writes derived from the plan must not panic either.
    let _ = kruise_core::cloneset::reconcile::writes(&input, &p);

    // CS-91: determinism, also under another listing order.
    assert_eq!(plan(&input).ok().as_ref(), Some(&p), "same input, different plan");
    let mut reversed = pods.clone();
    reversed.reverse();
    let again = plan(&Input { pods: (&reversed).into(), ..input }).ok();
    assert_eq!(again.as_ref(), Some(&p), "pod order changed the plan");
    // The same pods through a PodTable give the same plan.
    if let Ok(table) = PodTable::from_pods(&cs, reversed.iter().cloned())
        && table.len() == pods.len()
    {
        let from_table = plan(&Input { pods: (&table).into(), ..input }).ok();
        assert_eq!(from_table.as_ref(), Some(&p), "a PodTable gave another plan than the slice");
    }

    let replicas = cs.replicas();
    let active: Vec<&Pod> = pods.iter().filter(|p| is_active(p)).collect();
    let active_n = active.len() as i32;
    let surge = d.max_surge.map_or(0, |s| s.ceil(replicas));
    let name_of = |p: &Pod| p.metadata.name.clone().unwrap_or_default();

    // Creates never exceed the missing pods plus the surge (CS-40, CS-44).
    let creates = p.count("CreatePod") as i32;
    assert!(
        creates <= (replicas - active_n).max(0) + surge,
        "{creates} creates, replicas {replicas}, active {active_n}, surge {surge}"
    );

    // Update actions: CS-62 budget over available pods, CS-66 partition.
    let update_rev = p.status.update_revision.clone();
    let updated: Vec<&str> = p
        .actions
        .iter()
        .filter(|a| matches!(a.reason, Reason::Update { .. }))
        .filter_map(|a| a.pod.as_deref())
        .collect();
    let min_ready = i64::from(cs.spec.min_ready_seconds);
    let available_updated = updated
        .iter()
        .filter(|n| {
            // CS-34 `available`: Running, lifecycle state none or Normal, Ready for longer
            // than minReadySeconds (the fixtures keep InPlaceUpdateReady True).
            active.iter().any(|p| {
                p.metadata.name.as_deref() == Some(**n)
                    && phase_of(p) == "Running"
                    && matches!(state_of(p), None | Some("") | Some("Normal"))
                    && ready_since(p).is_some_and(|t| now - t >= min_ready)
            })
        })
        .count() as i32;
    let max_unavailable = d.max_unavailable.ceil(replicas).max(1);
    assert!(
        available_updated <= max_unavailable + surge,
        "{available_updated} available pods updated, maxUnavailable {max_unavailable}, surge {surge}"
    );
    if !updated.is_empty() {
        let on_update = active
            .iter()
            .filter(|p| {
                p.metadata.labels.as_ref().and_then(|l| l.get(keys::CONTROLLER_REVISION_HASH))
                    == Some(&update_rev)
            })
            .count() as i32;
        let partition = d.partition.floor(replicas).min(replicas);
        let room = (replicas.max(active_n) + surge - partition - on_update).max(0);
        assert!(
            updated.len() as i32 <= room,
            "{} updates, partition {partition}, already updated {on_update}, replicas {replicas}",
            updated.len()
        );
    }

    // CS-50: every active pod named in podsToDelete is deleted, acted on, or held.
    for n in &cs.spec.scale_strategy.pods_to_delete {
        if !active.iter().any(|p| &name_of(p) == n) {
            continue;
        }
        let acted = p.actions.iter().any(|a| a.pod.as_deref() == Some(n.as_str()));
        assert!(acted || p.held_reason(n).is_some(), "{n} in podsToDelete neither deleted nor held");
    }
});
