//! `kruise simulate SCENARIO [--seed N] [-o table|json] [--chart FILE.svg]`: runs a scenario
//! through the deterministic simulator and prints what `kubectl get pods -w` would have shown,
//! with the planner's decisions. Exit status 1 when an expectation fails.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use kruise_sim::scenario::{RunOptions, run_scenario};
use kruise_sim::time::Dur;

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
pub struct SimulateArgs {
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

/// Runs `kruise simulate`.
pub fn run(args: &SimulateArgs) -> ExitCode {
    let mut stderr = std::io::stderr();
    let interactive = stderr.is_terminal();
    let mut progress = |step: usize, total: usize, now: u64| {
        if total > 0 {
            let _ = write!(stderr, "\r\x1b[Kstep {step}/{total} at {}", Dur(now));
        } else {
            let _ = write!(stderr, "\r\x1b[Kstep {step} at {}", Dur(now));
        }
        let _ = stderr.flush();
    };
    let options = RunOptions {
        seed: args.seed,
        progress: if interactive { Some(&mut progress) } else { None },
        controllers: &kruise_sim::scenario::builtin_controller,
    };
    let result = run_scenario(&args.scenario, options);
    if interactive {
        eprint!("\r\x1b[K");
    }
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match args.output {
        Output::Table => print!("{}", report.to_table()),
        Output::Json => match serde_json::to_string_pretty(&report.to_json()) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    }
    if let Some(path) = &args.chart
        && let Err(e) = std::fs::write(path, report.to_svg())
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        return ExitCode::from(2);
    }
    if let Some(f) = &report.failure {
        eprintln!("FAILED: {f}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
