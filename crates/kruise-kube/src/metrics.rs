//! Prometheus metrics in the text exposition format (version 0.0.4), kept in a few mutexed
//! maps: reconcile counts by result, reconcile durations (a histogram), writes by operation,
//! errors by kind, and the work queue depth (workloads with a change seen but not yet
//! reconciled, de-duplicated as a work queue is).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::key::WorkloadKey;

/// Upper bounds (seconds) of the reconcile-duration histogram buckets.
pub const DURATION_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; DURATION_BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Inner {
    /// (controller, result) -> count.
    reconciles: BTreeMap<(String, &'static str), u64>,
    /// controller -> durations.
    durations: BTreeMap<String, Histogram>,
    /// (controller, op) -> count.
    writes: BTreeMap<(String, &'static str), u64>,
    /// (controller, kind) -> count.
    errors: BTreeMap<(String, &'static str), u64>,
    /// controller -> workloads waiting for a reconcile.
    queued: BTreeMap<String, BTreeSet<WorkloadKey>>,
    /// 1 when this replica leads.
    leader: bool,
}

/// The operator's metrics; cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// No samples yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every update is a single map operation, so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A change to `key` was seen: it waits for a reconcile.
    pub fn enqueued(&self, controller: &str, key: WorkloadKey) {
        self.lock().queued.entry(controller.to_owned()).or_default().insert(key);
    }

    /// A reconcile of `key` started: it no longer waits.
    pub fn dequeued(&self, controller: &str, key: &WorkloadKey) {
        if let Some(q) = self.lock().queued.get_mut(controller) {
            q.remove(key);
        }
    }

    /// One reconcile finished with `error` (a [`crate::AdapterError::metric_label`]) or none.
    pub fn reconciled(&self, controller: &str, took: Duration, error: Option<&'static str>) {
        let mut m = self.lock();
        let result = if error.is_some() { "error" } else { "success" };
        *m.reconciles.entry((controller.to_owned(), result)).or_default() += 1;
        if let Some(kind) = error {
            *m.errors.entry((controller.to_owned(), kind)).or_default() += 1;
        }
        let h = m.durations.entry(controller.to_owned()).or_default();
        let secs = took.as_secs_f64();
        for (i, bound) in DURATION_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.buckets[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// `n` writes of kind `op` were carried out.
    pub fn wrote(&self, controller: &str, op: &'static str, n: u64) {
        *self.lock().writes.entry((controller.to_owned(), op)).or_default() += n;
    }

    /// This replica gained or lost the leader lease.
    pub fn set_leader(&self, leader: bool) {
        self.lock().leader = leader;
    }

    /// Renders every metric in the Prometheus text format.
    pub fn render(&self) -> String {
        let m = self.lock();
        let mut out = String::new();
        // Writing into a String cannot fail; the results are ignored for that reason.
        let _ = writeln!(out, "# HELP kruise_reconcile_total Reconciles, by controller and result.");
        let _ = writeln!(out, "# TYPE kruise_reconcile_total counter");
        for ((c, r), n) in &m.reconciles {
            let _ = writeln!(out, "kruise_reconcile_total{{controller=\"{c}\",result=\"{r}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP kruise_reconcile_errors_total Failed reconciles, by controller and error kind."
        );
        let _ = writeln!(out, "# TYPE kruise_reconcile_errors_total counter");
        for ((c, k), n) in &m.errors {
            let _ = writeln!(out, "kruise_reconcile_errors_total{{controller=\"{c}\",kind=\"{k}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP kruise_reconcile_duration_seconds Time spent in one reconcile.");
        let _ = writeln!(out, "# TYPE kruise_reconcile_duration_seconds histogram");
        for (c, h) in &m.durations {
            for (bound, n) in DURATION_BUCKETS.iter().zip(h.buckets) {
                let _ = writeln!(
                    out,
                    "kruise_reconcile_duration_seconds_bucket{{controller=\"{c}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "kruise_reconcile_duration_seconds_bucket{{controller=\"{c}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "kruise_reconcile_duration_seconds_sum{{controller=\"{c}\"}} {}", h.sum);
            let _ =
                writeln!(out, "kruise_reconcile_duration_seconds_count{{controller=\"{c}\"}} {}", h.count);
        }
        let _ =
            writeln!(out, "# HELP kruise_writes_total API writes carried out, by controller and operation.");
        let _ = writeln!(out, "# TYPE kruise_writes_total counter");
        for ((c, op), n) in &m.writes {
            let _ = writeln!(out, "kruise_writes_total{{controller=\"{c}\",op=\"{op}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP kruise_workqueue_depth Workloads with a change seen and no reconcile started since."
        );
        let _ = writeln!(out, "# TYPE kruise_workqueue_depth gauge");
        for (c, q) in &m.queued {
            let _ = writeln!(out, "kruise_workqueue_depth{{controller=\"{c}\"}} {}", q.len());
        }
        let _ = writeln!(out, "# HELP kruise_leader 1 when this replica holds the leader lease.");
        let _ = writeln!(out, "# TYPE kruise_leader gauge");
        let _ = writeln!(out, "kruise_leader {}", u8::from(m.leader));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_counts_reconciles_histogram_and_queue() {
        let m = Metrics::new();
        let k = WorkloadKey::new("ns", "web");
        m.enqueued("cloneset", k.clone());
        m.enqueued("cloneset", k.clone());
        m.enqueued("cloneset", WorkloadKey::new("ns", "api"));
        m.dequeued("cloneset", &k);
        m.reconciled("cloneset", Duration::from_millis(20), None);
        m.reconciled("cloneset", Duration::from_secs(3), Some("conflict"));
        m.wrote("cloneset", "Create", 3);
        let text = m.render();
        assert!(text.contains("kruise_reconcile_total{controller=\"cloneset\",result=\"success\"} 1"));
        assert!(text.contains("kruise_reconcile_errors_total{controller=\"cloneset\",kind=\"conflict\"} 1"));
        assert!(
            text.contains("kruise_reconcile_duration_seconds_bucket{controller=\"cloneset\",le=\"0.025\"} 1")
        );
        assert!(
            text.contains("kruise_reconcile_duration_seconds_bucket{controller=\"cloneset\",le=\"2.5\"} 1")
        );
        assert!(
            text.contains("kruise_reconcile_duration_seconds_bucket{controller=\"cloneset\",le=\"+Inf\"} 2")
        );
        assert!(text.contains("kruise_writes_total{controller=\"cloneset\",op=\"Create\"} 3"));
        assert!(text.contains("kruise_workqueue_depth{controller=\"cloneset\"} 1"));
        assert!(text.contains("kruise_leader 0"));
    }
}
