//! `kruise inject`: the SidecarSet injection webhook offline (SCS-9..SCS-22). Reads
//! SidecarSets (v1alpha1 or v1beta1; validated and defaulted like `kruise validate` does,
//! hash annotations included) and one pod being created, and prints the pod as it would be
//! admitted (`-o yaml|json`), or the RFC 6902 patch the admission response would carry
//! (`--patch`). Which SidecarSets matched or were skipped, and why, goes to stderr.
//!
//! The pod's Namespace is known by its `kubernetes.io/metadata.name` label only, unless
//! `--namespace` gives the Namespace object (`kubectl get ns X -o yaml`).
//!
//! Exit status: 0 the pod was printed, 1 a SidecarSet is invalid or admission would fail,
//! 2 an input is unreadable or unparsable.

use std::collections::BTreeMap;
use std::io;
use std::path::PathBuf;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kruise_api::apps::v1beta1::SidecarSet;
use kruise_core::features::Features;
use kruise_core::sidecarset::{InjectInput, Operation, Outcome, inject};
use serde_json::Value;

use crate::plan::read_objects;
use crate::plan::{Stop, flatten, read_docs};
use crate::plan_sidecarset::sidecarset_of;
use crate::{Exit, Io, Run};

/// Print a pod as the SidecarSet injection webhook would admit it.
#[derive(Debug, clap::Args)]
#[command(after_help = "Exit status: 0 the pod was printed, 1 a SidecarSet is invalid or \
admission would fail, 2 an input file is unreadable or unparsable.")]
pub struct Args {
    /// SidecarSets (YAML, multi-document YAML, JSON, or a List).
    #[arg(long, value_name = "FILE")]
    pub sidecarsets: PathBuf,
    /// The pod being created (`-` reads standard input).
    #[arg(value_name = "POD")]
    pub pod: PathBuf,
    /// ControllerRevisions of the SidecarSets (for `injectionStrategy.revision`).
    #[arg(long, value_name = "FILE")]
    pub revisions: Option<PathBuf>,
    /// The pod's Namespace object, for `namespaceSelector`. Default: a namespace carrying only
    /// its `kubernetes.io/metadata.name` label.
    #[arg(long, value_name = "FILE")]
    pub namespace: Option<PathBuf>,
    /// The time written in the records (RFC 3339). Default: the current time.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<Timestamp>,
    /// Seed of the `Partial` injection draw (SCS-13).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// Feature gates (`EnableSortSidecarContainerByName=true`, ...).
    #[arg(long, value_name = "GATES", default_value = "")]
    pub feature_gates: String,
    /// Print the RFC 6902 patch instead of the pod.
    #[arg(long)]
    pub patch: bool,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Yaml)]
    pub output: Format,
}

/// Output syntax of `kruise inject`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// YAML.
    Yaml,
    /// JSON (Go's escapes).
    Json,
}

impl Run for Args {
    fn run(&self, io: &mut Io<'_>) -> io::Result<Exit> {
        match self.inject(io) {
            Ok(Ok(())) => Ok(Exit::Ok),
            Ok(Err(Stop(exit, lines))) => {
                for line in lines {
                    writeln!(io.err, "{line}")?;
                }
                Ok(exit)
            }
            Err(e) => Err(e),
        }
    }
}

/// One line per SidecarSet decision.
fn describe(o: &Outcome) -> String {
    match o {
        Outcome::Injected { revision, containers, init_containers, resources_policy_ignored } => {
            let mut s = String::from("injected");
            if let Some(r) = revision {
                s.push_str(&format!(" revision {r}"));
            }
            if !containers.is_empty() {
                s.push_str(&format!(" containers [{}]", containers.join(", ")));
            }
            if !init_containers.is_empty() {
                s.push_str(&format!(" initContainers [{}]", init_containers.join(", ")));
            }
            if !resources_policy_ignored.is_empty() {
                s.push_str(&format!(
                    " (resourcesPolicy not evaluated: {})",
                    resources_policy_ignored.join(", ")
                ));
            }
            s
        }
        Outcome::Paused => "skipped: injectionStrategy.paused".into(),
        Outcome::NamespaceNotFound => "skipped: the pod's namespace does not exist".into(),
        Outcome::NamespaceNotMatched => "skipped: namespaceSelector does not match".into(),
        Outcome::EmptySelector => "skipped: selector is empty".into(),
        Outcome::SelectorNotMatched => "skipped: selector does not match the pod".into(),
        Outcome::ReplacedByCanary { canary } => format!("skipped: replaced by canary {canary}"),
    }
}

impl Args {
    fn inject(&self, io: &mut Io<'_>) -> io::Result<Result<(), Stop>> {
        let prepared = match self.prepare(io) {
            Ok(p) => p,
            Err(stop) => return Ok(Err(stop)),
        };
        let (sets, pod, revisions, ns_labels) = prepared;
        let features = match Features::default().with_gates(&self.feature_gates) {
            Ok(f) => f,
            Err(e) => {
                return Ok(Err(Stop(Exit::Error, vec![format!("kruise inject: --feature-gates: {e}")])));
            }
        };
        let input = InjectInput {
            pod: &pod,
            operation: Operation::Create,
            namespace_labels: Some(&ns_labels),
            sidecarsets: &sets,
            revisions: &revisions,
            now: self.now.unwrap_or_else(Timestamp::now),
            seed: self.seed,
            features,
        };
        let inj = match inject(&input) {
            Ok(i) => i,
            Err(e) => {
                return Ok(Err(Stop(
                    Exit::Invalid,
                    vec![format!("{}: admission denied: {e}", self.pod.display())],
                )));
            }
        };
        if let Some(s) = inj.skipped {
            writeln!(io.err, "not injected: {s:?}")?;
        }
        for d in &inj.decisions {
            writeln!(io.err, "sidecarset {}: {}", d.sidecarset, describe(&d.outcome))?;
        }
        let value = if self.patch {
            serde_json::to_value(&inj.patch).map_err(io::Error::other)?
        } else {
            let mut v = serde_json::to_value(&inj.pod).map_err(io::Error::other)?;
            if let Value::Object(m) = &mut v {
                m.entry("apiVersion").or_insert_with(|| Value::String("v1".into()));
                m.entry("kind").or_insert_with(|| Value::String("Pod".into()));
            }
            v
        };
        match self.output {
            Format::Json => {
                io.out.write_all(&kruise_core::write::to_go_json(&value, true))?;
                writeln!(io.out)?;
            }
            Format::Yaml => {
                let text = serde_saphyr::to_string(&value).map_err(io::Error::other)?;
                io.out.write_all(text.as_bytes())?;
            }
        }
        Ok(Ok(()))
    }

    /// The SidecarSets, the pod, the revisions and the namespace labels.
    #[allow(clippy::type_complexity)]
    fn prepare(
        &self,
        io: &mut Io<'_>,
    ) -> Result<(Vec<SidecarSet>, Pod, Vec<ControllerRevision>, BTreeMap<String, String>), Stop> {
        let inputs =
            [Some(&self.sidecarsets), Some(&self.pod), self.revisions.as_ref(), self.namespace.as_ref()];
        if inputs.iter().flatten().filter(|p| p.as_os_str() == "-").count() > 1 {
            return Err(Stop(
                Exit::Error,
                vec!["kruise inject: only one input can be standard input (-)".into()],
            ));
        }
        let shown = self.sidecarsets.display().to_string();
        let mut items = Vec::new();
        for doc in read_docs(&shown, io.stdin)? {
            flatten(doc, &mut items);
        }
        let mut sets = Vec::new();
        for item in &items {
            sets.push(sidecarset_of(&shown, item)?);
        }
        let pods: Vec<Pod> = read_objects(Some(&self.pod), "Pod", io)?;
        let [pod] = <[Pod; 1]>::try_from(pods).map_err(|v| {
            Stop(
                Exit::Error,
                vec![format!("{}: expected exactly one Pod, found {}", self.pod.display(), v.len())],
            )
        })?;
        let revisions: Vec<ControllerRevision> =
            read_objects(self.revisions.as_ref(), "ControllerRevision", io)?;
        let ns_name =
            pod.metadata.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".into());
        let ns_labels = match &self.namespace {
            Some(path) => {
                let nss: Vec<Namespace> = read_objects(Some(path), "Namespace", io)?;
                let [ns] = <[Namespace; 1]>::try_from(nss).map_err(|v| {
                    Stop(
                        Exit::Error,
                        vec![format!(
                            "{}: expected exactly one Namespace, found {}",
                            path.display(),
                            v.len()
                        )],
                    )
                })?;
                ns.metadata.labels.unwrap_or_default()
            }
            None => BTreeMap::from([(kruise_api::keys::NAMESPACE_METADATA_NAME.to_owned(), ns_name)]),
        };
        Ok((sets, pod, revisions, ns_labels))
    }
}
