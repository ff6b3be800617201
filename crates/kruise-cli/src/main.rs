//! The `kruise` command: check OpenKruise manifests and print CRDs, offline.
//!
//! ```text
//! kruise validate [-o text|json] FILE...   # default, then validate every object (exit 0 / 1 / 2)
//! kruise crds [-o yaml|json]               # the CustomResourceDefinitions of every kind
//! kruise plan --workload CS.yaml [--pods PODS.json] ...  # dry-run of one CloneSet reconcile
//! kruise serve --kubeconfig OUT [--nodes N] [--scenario FILE] [--port P]  # a local cluster
//! ```
//!
//! Each subcommand is a module with an `Args` type implementing [`Run`]; adding one is one line
//! in the `commands!` list below. Output goes through [`Io`], so tests capture it.

use std::io::{self, Read, Write};
use std::process::ExitCode;

use clap::Parser;

mod crds;
mod inject;
mod input;
mod plan;
mod plan_rollout;
mod plan_sidecarset;
mod plan_statefulset;
mod rollout;
mod serve;
mod simulate;
mod validate;

/// How a subcommand ended; the process exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything was fine (0).
    Ok,
    /// An object is invalid (1).
    Invalid,
    /// A file could not be read or parsed, or output could not be written (2).
    Error,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Invalid => 1,
            Exit::Error => 2,
        }
    }
    /// The worse of two outcomes.
    pub fn max(self, other: Exit) -> Exit {
        if other.code() > self.code() { other } else { self }
    }
}

/// Where a subcommand reads and writes: the process's stdio, or buffers in tests.
pub struct Io<'a> {
    /// Standard input (`-` as a file name).
    pub stdin: &'a mut dyn Read,
    /// Results.
    pub out: &'a mut dyn Write,
    /// Problems with the input itself (unreadable or unparsable files).
    pub err: &'a mut dyn Write,
}

/// A subcommand.
pub trait Run {
    /// Runs it; `Err` only when writing the output fails.
    fn run(&self, io: &mut Io<'_>) -> io::Result<Exit>;
}

/// Declares the subcommands: `Variant => module` (the module has `pub struct Args`).
macro_rules! commands {
    ($( $(#[$doc:meta])* $variant:ident => $module:ident ),* $(,)?) => {
        /// The subcommands.
        #[derive(Debug, clap::Subcommand)]
        enum Command {
            $( $(#[$doc])* $variant($module::Args), )*
        }

        impl Run for Command {
            fn run(&self, io: &mut Io<'_>) -> io::Result<Exit> {
                match self { $( Command::$variant(args) => args.run(io), )* }
            }
        }
    };
}

commands! {
    /// Default and validate OpenKruise manifests (YAML, multi-document YAML or JSON).
    Validate => validate,
    /// Dry-run: what one reconcile of a CloneSet would do to the given pods.
    Plan => plan,
    /// Print the CustomResourceDefinition of every kind.
    Crds => crds,
    /// Print a pod as the SidecarSet injection webhook would admit it.
    Inject => inject,
    /// Run a scenario through the deterministic cluster simulator.
    Simulate => simulate,
    /// Serve a simulated cluster over the Kubernetes API on 127.0.0.1 (for kubectl and operators).
    Serve => serve,
    /// A Rollout's status as a table, or the patch that approves its manual pause.
    Rollout => rollout,
}

/// OpenKruise workloads, offline: validate manifests, print CRDs.
#[derive(Debug, Parser)]
#[command(name = "kruise", version, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (stdin, stdout, stderr) = (io::stdin(), io::stdout(), io::stderr());
    let (mut stdin, mut out, mut err) = (stdin.lock(), io::BufWriter::new(stdout.lock()), stderr.lock());
    let mut io = Io { stdin: &mut stdin, out: &mut out, err: &mut err };
    let exit = match cli.command.run(&mut io).and_then(|exit| io.out.flush().map(|()| exit)) {
        Ok(exit) => exit,
        // A closed pipe (`kruise crds | head`) is not worth a message.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Exit::Ok,
        Err(e) => {
            let _ = writeln!(io.err, "kruise: cannot write output: {e}");
            Exit::Error
        }
    };
    ExitCode::from(exit.code())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn exit_max_keeps_the_worst() {
        assert_eq!(Exit::Ok.max(Exit::Invalid), Exit::Invalid);
        assert_eq!(Exit::Error.max(Exit::Invalid), Exit::Error);
        assert_eq!(Exit::Ok.max(Exit::Ok), Exit::Ok);
    }
}
