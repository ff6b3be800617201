//! `kruise simulate SCENARIO [--seed N] [-o table|json] [--chart FILE.svg]`: runs a scenario
//! through the deterministic simulator and prints what `kubectl get pods -w` would have shown,
//! with the planner's decisions. Exit status 1 when an expectation fails, 2 when the scenario
//! cannot run. The logic lives in `kruise-sim`; this module only parses arguments and prints.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use kruise_sim::scenario::{RunOptions, builtin_controller, run_scenario};
use kruise_sim::time::Dur;

use crate::{Exit, Io, Run};

/// Output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// A `kubectl get pods -w` view with decisions and per-step summaries.
    #[default]
    Table,
    /// A stable JSON document.
    Json,
}

/// Arguments of `kruise simulate`.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// The scenario file (YAML).
    pub scenario: PathBuf,
    /// Seed for every random choice (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Also write an SVG timeline to this file.
    #[arg(long)]
    pub chart: Option<PathBuf>,
}

impl Run for Args {
    fn run(&self, io: &mut Io<'_>) -> io::Result<Exit> {
        // Progress only when a person is watching stderr.
        let interactive = io::stderr().is_terminal();
        let mut progress_out = io::stderr();
        let mut progress = |step: usize, total: usize, now: u64| {
            let of = if total > 0 { format!("/{total}") } else { String::new() };
            let _ = write!(progress_out, "\r\x1b[Kstep {step}{of} at {}", Dur(now));
            let _ = progress_out.flush();
        };
        let options = RunOptions {
            seed: self.seed,
            progress: if interactive { Some(&mut progress) } else { None },
            controllers: &builtin_controller,
        };
        let result = run_scenario(&self.scenario, options);
        if interactive {
            eprint!("\r\x1b[K");
        }
        let report = match result {
            Ok(r) => r,
            Err(e) => {
                writeln!(io.err, "kruise simulate: {e}")?;
                return Ok(Exit::Error);
            }
        };
        match self.output {
            Output::Table => write!(io.out, "{}", report.to_table())?,
            Output::Json => {
                let text = serde_json::to_string_pretty(&report.to_json()).map_err(io::Error::other)?;
                writeln!(io.out, "{text}")?;
            }
        }
        if let Some(path) = &self.chart
            && let Err(e) = std::fs::write(path, report.to_svg())
        {
            writeln!(io.err, "kruise simulate: cannot write {}: {e}", path.display())?;
            return Ok(Exit::Error);
        }
        if let Some(f) = &report.failure {
            writeln!(io.err, "kruise simulate: FAILED: {f}")?;
            return Ok(Exit::Invalid);
        }
        Ok(Exit::Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &Args) -> (Exit, String, String) {
        let (mut stdin, mut out, mut err) = (io::empty(), Vec::new(), Vec::new());
        let mut io = Io { stdin: &mut stdin, out: &mut out, err: &mut err };
        let exit = args.run(&mut io).unwrap();
        (exit, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
    }

    fn scenario(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/scenarios")
            .join(name)
            .join("scenario.yaml")
    }

    #[test]
    fn simulate_prints_table_and_json() {
        let args =
            Args { scenario: scenario("reference-rollout"), seed: None, output: Output::Table, chart: None };
        let (exit, out, _) = run(&args);
        assert_eq!(exit, Exit::Ok);
        assert!(out.contains("CreatePod") && out.contains("PASSED"), "{out}");
        let (exit, out, _) = run(&Args { output: Output::Json, ..args });
        assert_eq!(exit, Exit::Ok);
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(doc["passed"], true);
        assert_eq!(doc["steps"][0]["kind"], "apply");
    }

    #[test]
    fn simulate_missing_file_is_an_error() {
        let args = Args {
            scenario: PathBuf::from("no/such/scenario.yaml"),
            seed: None,
            output: Output::Table,
            chart: None,
        };
        let (exit, _, err) = run(&args);
        assert_eq!(exit, Exit::Error);
        assert!(err.contains("cannot read"), "{err}");
    }

    #[test]
    fn simulate_failed_expectation_exits_1() {
        let dir = std::env::temp_dir().join(format!("kruise-sim-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let manifest =
            std::fs::read_to_string(scenario("reference-rollout").with_file_name("web-v1.yaml")).unwrap();
        std::fs::write(dir.join("web.yaml"), manifest).unwrap();
        std::fs::write(
            dir.join("scenario.yaml"),
            "controller: reference\nsteps:\n  - apply: web.yaml\n  - wait: {for: 1m}\n  - expect: {pods: 7}\n",
        )
        .unwrap();
        let chart = dir.join("chart.svg");
        let args = Args {
            scenario: dir.join("scenario.yaml"),
            seed: Some(3),
            output: Output::Table,
            chart: Some(chart.clone()),
        };
        let (exit, out, err) = run(&args);
        assert_eq!(exit, Exit::Invalid);
        assert!(err.contains("pods: want 7, have 4"), "{err}");
        assert!(out.contains("FAILED"));
        assert!(std::fs::read_to_string(&chart).unwrap().starts_with("<svg"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
