//! The `kruise` command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod simulate;

/// kruise-rs: OpenKruise workload controllers as a library, and tools around them.
#[derive(Debug, Parser)]
#[command(name = "kruise", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario through the deterministic cluster simulator.
    Simulate(simulate::SimulateArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Simulate(args) => simulate::run(&args),
    }
}
