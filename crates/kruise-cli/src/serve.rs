//! `kruise serve`: the simulated cluster over the Kubernetes HTTP API on 127.0.0.1, until
//! Ctrl-C (see the `kruise-serve` crate).

use std::io;
use std::path::PathBuf;

use crate::{Exit, Io, Run};

/// `kruise serve [--nodes N] [--scenario FILE] --kubeconfig OUT [--port P]`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Nodes (`node-1` ... `node-N`; default 3, or the scenario's).
    #[arg(long)]
    nodes: Option<usize>,
    /// A scenario file whose cluster (seed, nodes, images, kubelet timings) to serve; its
    /// steps are not run.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Where to write a kubeconfig for the served cluster.
    #[arg(long)]
    kubeconfig: PathBuf,
    /// Port on 127.0.0.1 (default: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

impl Run for Args {
    fn run(&self, io: &mut Io<'_>) -> io::Result<Exit> {
        let mut config = match &self.scenario {
            Some(path) => match kruise_sim::scenario::load_scenario(path) {
                Ok(s) => kruise_serve::ServeConfig::from_scenario(&s),
                Err(e) => {
                    writeln!(io.err, "kruise serve: {}: {e}", path.display())?;
                    return Ok(Exit::Error);
                }
            },
            None => kruise_serve::ServeConfig::default(),
        };
        if let Some(n) = self.nodes {
            config = config.with_nodes(n);
        }
        config.port = self.port;
        let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()
        {
            Ok(r) => r,
            Err(e) => {
                writeln!(io.err, "kruise serve: cannot start the runtime: {e}")?;
                return Ok(Exit::Error);
            }
        };
        runtime.block_on(async {
            let served = match kruise_serve::serve(config).await {
                Ok(s) => s,
                Err(e) => {
                    writeln!(io.err, "kruise serve: {e}")?;
                    return Ok(Exit::Error);
                }
            };
            if let Err(e) = std::fs::write(&self.kubeconfig, served.kubeconfig()) {
                writeln!(io.err, "kruise serve: cannot write {}: {e}", self.kubeconfig.display())?;
                served.stop().await;
                return Ok(Exit::Error);
            }
            writeln!(
                io.out,
                "serving a simulated cluster at {} (kubeconfig: {}); Ctrl-C stops it\n\n  \
                 export KUBECONFIG={}\n  kubectl apply -f examples/seed/01-ok.yaml\n  kubectl get pods -w",
                served.url(),
                self.kubeconfig.display(),
                self.kubeconfig.display()
            )?;
            io.out.flush()?;
            let _ = tokio::signal::ctrl_c().await;
            served.stop().await;
            Ok(Exit::Ok)
        })
    }
}
