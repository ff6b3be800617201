//! What a run shows: `-o table` (a `kubectl get pods -w` view with a virtual timestamp, one
//! line per planner decision with its reason, held pods included, and a summary per step),
//! `-o json` (a stable document), and an SVG timeline of pods by revision and readiness.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};

use crate::sim::{Decision, PodRow, PodView, TrafficRow};
use crate::time::{Dur, SimTime};

/// One step's outcome.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    /// 1-based.
    pub step: usize,
    /// `apply`, `wait`, `fault`, `capture`, `expect`, `delete`.
    pub kind: String,
    /// File, duration, fault or name.
    pub description: String,
    /// When the step started.
    pub at: Dur,
    /// When it ended.
    pub ended: Dur,
    /// The workload's pods at the end of the step.
    pub pods: Vec<PodView>,
    /// The workload's status at the end of the step.
    pub status: Value,
    /// Decisions made during the step.
    pub events: Vec<Decision>,
    /// The split of every traffic object at the end of the step (`HTTPRoute/name` -> split;
    /// empty when the scenario has none).
    pub traffic: BTreeMap<String, String>,
    /// False if the step's assertion failed.
    pub passed: bool,
    /// Why it failed.
    pub message: Option<String>,
}

/// A whole run.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Scenario title.
    pub scenario: String,
    /// The seed used.
    pub seed: u64,
    /// Per step.
    pub steps: Vec<StepReport>,
    /// True when every step passed.
    pub passed: bool,
    /// The first failure.
    pub failure: Option<String>,
    /// Virtual time at the end.
    pub end: Dur,
    /// Reconciles run.
    pub reconciles: u64,
    /// Every pod watch line.
    pub rows: Vec<PodRow>,
    /// Every decision.
    pub decisions: Vec<Decision>,
    /// Every change of a traffic object's split.
    pub traffic: Vec<TrafficRow>,
}

impl Report {
    /// An empty report.
    pub fn new(scenario: &str, seed: u64) -> Self {
        Self {
            scenario: scenario.to_owned(),
            seed,
            steps: Vec::new(),
            passed: false,
            failure: None,
            end: Dur(0),
            reconciles: 0,
            rows: Vec::new(),
            decisions: Vec::new(),
            traffic: Vec::new(),
        }
    }

    /// The stable JSON document of `-o json`.
    pub fn to_json(&self) -> Value {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|s| {
                let mut v = json!({
                    "step": s.step,
                    "kind": s.kind,
                    "description": s.description,
                    "at": s.at,
                    "pods": s.pods,
                    "status": s.status,
                    "events": s.events.iter().map(|d| {
                        let mut e = json!({"at": Dur(d.at), "pod": d.pod, "action": d.action, "reason": d.reason, "detail": d.detail});
                        if let Some(err) = &d.error {
                            e["error"] = json!(err);
                        }
                        e
                    }).collect::<Vec<_>>(),
                    "passed": s.passed,
                });
                if !s.traffic.is_empty() {
                    v["traffic"] = json!(s.traffic);
                }
                if let Some(m) = &s.message {
                    v["message"] = json!(m);
                }
                v
            })
            .collect();
        let mut doc = json!({"scenario": self.scenario, "seed": self.seed, "steps": steps, "passed": self.passed, "end": self.end});
        if let Some(f) = &self.failure {
            doc["failure"] = json!(f);
        }
        doc
    }

    /// The `-o table` rendering.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# {} (seed {})", self.scenario, self.seed);
        let name_w = self.rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
        let mut rows = self.rows.iter().peekable();
        let mut traffic = self.traffic.iter().peekable();
        for s in &self.steps {
            let _ = writeln!(out, "\n== step {} {} {} @{}", s.step, s.kind, s.description, s.at);
            let end = s.ended.0;
            let mut decisions = s.events.iter().peekable();
            loop {
                let next_row = rows.peek().filter(|r| r.at <= end).map(|r| r.at);
                let next_dec = decisions.peek().map(|d| d.at);
                // Traffic changes after the decisions that made them, before later pod lines.
                if let Some(t) = traffic.peek().filter(|t| t.at <= end)
                    && next_dec.is_none_or(|d| t.at < d)
                    && next_row.is_none_or(|r| t.at < r)
                {
                    let _ = writeln!(out, "{:>10}  ~ {} -> {}", stamp(t.at), t.object, t.split);
                    traffic.next();
                    continue;
                }
                match (next_dec, next_row) {
                    (Some(d), r) if r.is_none_or(|r| d <= r) => {
                        let Some(d) = decisions.next() else { break };
                        let _ = writeln!(
                            out,
                            "{:>10}  > {:<13} {:<w$} {}{}{}",
                            stamp(d.at),
                            d.action,
                            d.pod.as_deref().unwrap_or("-"),
                            d.reason,
                            if d.detail.is_empty() { String::new() } else { format!(" ({})", d.detail) },
                            d.error.as_ref().map(|e| format!(" FAILED: {e}")).unwrap_or_default(),
                            w = name_w
                        );
                    }
                    (_, Some(_)) => {
                        let Some(r) = rows.next() else { break };
                        let _ = writeln!(
                            out,
                            "{:>10}  {:<w$} {:<5} {:<17} {:<3} {:<10} {}",
                            stamp(r.at),
                            r.name,
                            r.ready,
                            r.status,
                            r.restarts,
                            r.node,
                            r.revision,
                            w = name_w
                        );
                    }
                    _ => break,
                }
            }
            let active: Vec<&PodView> = s.pods.iter().filter(|p| !p.terminating).collect();
            let mut by_rev: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
            for p in &active {
                let e = by_rev.entry(p.revision.as_str()).or_default();
                e.0 += 1;
                e.1 += usize::from(p.ready);
            }
            let revs: Vec<String> =
                by_rev.iter().map(|(r, (n, ready))| format!("{r}: {n} ({ready} ready)")).collect();
            let verdict = match &s.message {
                Some(m) => format!("FAILED: {m}"),
                None => "ok".into(),
            };
            let split: String = s.traffic.iter().map(|(o, t)| format!(" | {o}: {t}")).collect();
            let _ = writeln!(
                out,
                "-- step {} {verdict} | {} pods, {} terminating | {}{split}",
                s.step,
                active.len(),
                s.pods.len() - active.len(),
                revs.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "\n{} after {} virtual ({} reconciles)",
            if self.passed { "PASSED" } else { "FAILED" },
            self.end,
            self.reconciles
        );
        out
    }

    /// An SVG timeline: for each revision, a band of pods over virtual time, ready pods solid
    /// and not-ready pods pale; step boundaries as dashed lines.
    pub fn to_svg(&self) -> String {
        let end = self.end.0.max(1);
        // Replay the watch rows into (time -> revision -> (ready, not ready)) samples.
        let mut state: BTreeMap<String, (String, bool)> = BTreeMap::new();
        let mut samples: Vec<(SimTime, RevisionCounts)> = Vec::new();
        let mut revisions: Vec<String> = Vec::new();
        for r in &self.rows {
            if r.status == "Deleted" || r.status == "Terminating" {
                state.remove(&r.name);
            } else {
                let ready =
                    r.ready.split('/').next() == r.ready.split('/').nth(1) && !r.ready.starts_with("0/");
                state.insert(r.name.clone(), (r.revision.clone(), ready));
                if !revisions.contains(&r.revision) {
                    revisions.push(r.revision.clone());
                }
            }
            let mut counts: BTreeMap<String, (u32, u32)> = BTreeMap::new();
            for (rev, ready) in state.values() {
                let c = counts.entry(rev.clone()).or_default();
                if *ready { c.0 += 1 } else { c.1 += 1 }
            }
            match samples.last_mut() {
                Some((t, c)) if *t == r.at => *c = counts,
                _ => samples.push((r.at, counts)),
            }
        }
        let max_pods = samples
            .iter()
            .map(|(_, c)| c.values().map(|(a, b)| a + b).sum::<u32>())
            .max()
            .unwrap_or(1)
            .max(1);
        // Step labels ("3 apply v2.yaml") under the axis, each in the first lane where it
        // overlaps no earlier label (about 6 px per character); `expect` steps take no time
        // and get a line but no label.
        let (w, left) = (960.0_f64, 60.0_f64);
        let plot_w = w - left - 20.0;
        let xs = |t: SimTime| left + plot_w * (t as f64 / end as f64);
        let mut lane_ends: Vec<f64> = Vec::new();
        let mut labels: Vec<(f64, usize, String)> = Vec::new();
        for s in self.steps.iter().filter(|s| s.kind != "expect") {
            let mut text = format!("{} {} {}", s.step, s.kind, s.description);
            if text.chars().count() > 32 {
                text = text.chars().take(31).collect::<String>() + "…";
            }
            let sx = xs(s.at.0);
            let width = 6.0 * text.chars().count() as f64 + 8.0;
            let lane = match lane_ends.iter().position(|e| *e <= sx) {
                Some(l) => l,
                None => {
                    lane_ends.push(0.0);
                    lane_ends.len() - 1
                }
            };
            lane_ends[lane] = sx + width;
            labels.push((sx, lane, text));
        }
        let lanes = lane_ends.len().max(1);
        let (top, bottom) = (40.0_f64, 38.0_f64 + 12.0 * lanes as f64);
        let h = 310.0_f64 + bottom;
        let plot_h = h - top - bottom;
        let x = xs;
        let y = |n: f64| top + plot_h - plot_h * n / f64::from(max_pods);
        const PALETTE: [&str; 6] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">"#
        );
        let _ = writeln!(svg, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
        let _ = writeln!(
            svg,
            r#"<text x="{left}" y="20" font-size="14">{} (seed {})</text>"#,
            xml(&self.scenario),
            self.seed
        );
        // Stacked areas, one step function per (revision, ready/not ready) band.
        let mut base: Vec<f64> = vec![0.0; samples.len()];
        for (ri, rev) in revisions.iter().enumerate() {
            let colour = PALETTE[ri % PALETTE.len()];
            for (band, opacity) in [(0, "0.9"), (1, "0.35")] {
                let mut upper = Vec::new();
                let mut lower = Vec::new();
                for (i, (t, counts)) in samples.iter().enumerate() {
                    let next_t = samples.get(i + 1).map_or(end, |(t, _)| *t);
                    let c = counts.get(rev).copied().unwrap_or_default();
                    let n = f64::from(if band == 0 { c.0 } else { c.1 });
                    let b = base[i];
                    upper.push((x(*t), y(b + n)));
                    upper.push((x(next_t), y(b + n)));
                    lower.push((x(*t), y(b)));
                    lower.push((x(next_t), y(b)));
                    base[i] = b + n;
                }
                if upper.is_empty() {
                    continue;
                }
                let mut d = String::new();
                for (i, (px, py)) in upper.iter().enumerate() {
                    let _ = write!(d, "{}{px:.1},{py:.1} ", if i == 0 { "M" } else { "L" });
                }
                for (px, py) in lower.iter().rev() {
                    let _ = write!(d, "L{px:.1},{py:.1} ");
                }
                let _ = writeln!(
                    svg,
                    r#"<path d="{}Z" fill="{colour}" fill-opacity="{opacity}" stroke="none"/>"#,
                    d.trim_end()
                );
            }
            let ly = top + 14.0 * ri as f64;
            let _ = writeln!(
                svg,
                r#"<rect x="{}" y="{}" width="10" height="10" fill="{colour}"/><text x="{}" y="{}">{} (pale: not ready)</text>"#,
                w - 300.0,
                ly,
                w - 285.0,
                ly + 9.0,
                xml(if rev.is_empty() { "(no revision)" } else { rev })
            );
        }
        for s in &self.steps {
            let sx = x(s.at.0);
            let _ = writeln!(
                svg,
                r##"<line x1="{sx:.1}" y1="{top}" x2="{sx:.1}" y2="{}" stroke="#888" stroke-dasharray="3,3"/>"##,
                top + plot_h,
            );
        }
        for (sx, lane, text) in &labels {
            let _ = writeln!(
                svg,
                r##"<text x="{:.1}" y="{}" fill="#555">{}</text>"##,
                sx + 2.0,
                top + plot_h + 14.0 + 12.0 * *lane as f64,
                xml(text)
            );
        }
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="#000"/><line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="#000"/>"##,
            top + plot_h,
            left + plot_w,
            top + plot_h,
            top + plot_h
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}">0</text><text x="{}" y="{}" text-anchor="end">{}</text>"#,
            left,
            h - 8.0,
            left + plot_w,
            h - 8.0,
            self.end
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{max_pods}</text><text x="{}" y="{}" text-anchor="end">0</text>"#,
            left - 4.0,
            top + 4.0,
            left - 4.0,
            top + plot_h
        );
        svg.push_str("</svg>\n");
        svg
    }
}

/// Per revision: (ready, not ready) pods.
type RevisionCounts = BTreeMap<String, (u32, u32)>;

fn stamp(t: SimTime) -> String {
    format!("+{}", Dur(t))
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(at: SimTime, name: &str, ready: &str, status: &str, revision: &str) -> PodRow {
        PodRow {
            at,
            name: name.into(),
            ready: ready.into(),
            status: status.into(),
            restarts: 0,
            node: "node-1".into(),
            revision: revision.into(),
        }
    }

    fn report() -> Report {
        let mut r = Report::new("t", 1);
        r.rows = vec![
            row(0, "a", "0/1", "Pending", "r1"),
            row(2_000, "a", "1/1", "Running", "r1"),
            row(5_000, "a", "0/1", "Deleted", "r1"),
        ];
        let decision = Decision {
            at: 0,
            controller: "c".into(),
            workload: "w".into(),
            pod: Some("a".into()),
            action: "CreatePod".into(),
            reason: "ScaleUp".into(),
            detail: "have 0, want 1".into(),
            error: None,
        };
        r.steps = vec![StepReport {
            step: 1,
            kind: "wait".into(),
            description: "for 5s".into(),
            at: Dur(0),
            ended: Dur(5_000),
            pods: vec![],
            status: Value::Null,
            events: vec![decision.clone()],
            traffic: BTreeMap::new(),
            passed: true,
            message: None,
        }];
        r.decisions = vec![decision];
        r.passed = true;
        r.end = Dur(5_000);
        r
    }

    #[test]
    fn table_interleaves_decisions_and_watch_rows_by_time() {
        let t = report().to_table();
        let create = t.find("> CreatePod").unwrap();
        let pending = t.find("Pending").unwrap();
        let running = t.find("Running").unwrap();
        assert!(create < pending && pending < running, "{t}");
        assert!(t.contains("ScaleUp (have 0, want 1)"));
        assert!(t.trim_end().ends_with("(0 reconciles)"));
    }

    #[test]
    fn json_has_the_documented_shape() {
        let j = report().to_json();
        assert_eq!(j["passed"], true);
        assert_eq!(j["steps"][0]["step"], 1);
        assert_eq!(j["steps"][0]["at"], "0s");
        assert_eq!(
            j["steps"][0]["events"][0],
            json!({"at": "0s", "pod": "a", "action": "CreatePod", "reason": "ScaleUp", "detail": "have 0, want 1"})
        );
    }

    #[test]
    fn svg_draws_a_band_per_revision_and_escapes_text() {
        let mut r = report();
        r.scenario = "a<b".into();
        let svg = r.to_svg();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a&lt;b"));
        assert!(svg.contains("<path") && svg.contains(">r1 (pale: not ready)<"));
    }
}
