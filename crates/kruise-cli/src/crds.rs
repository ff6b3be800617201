//! `kruise crds [-o yaml|json]`: the CustomResourceDefinition of every kind, generated from the
//! Rust types ([`kruise_api::crd`]). YAML is one document per CRD, each starting with `---`;
//! JSON is one `v1` `List` holding them all. Both can be fed to `kubectl apply -f -`.

use std::io;

use crate::{Exit, Io, Run};

/// Output syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Multi-document YAML.
    Yaml,
    /// A JSON `List`.
    Json,
}

/// Print the CustomResourceDefinition of every kind.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Yaml)]
    pub output: Output,
}

impl Run for Args {
    fn run(&self, io: &mut Io<'_>) -> io::Result<Exit> {
        let crds = match kruise_api::crd::all_custom_resource_definitions() {
            Ok(crds) => crds,
            Err(e) => {
                writeln!(io.err, "kruise crds: {e}")?;
                return Ok(Exit::Error);
            }
        };
        match self.output {
            Output::Yaml => {
                for crd in &crds {
                    let text = serde_saphyr::to_string(crd).map_err(io::Error::other)?;
                    writeln!(io.out, "---")?;
                    io.out.write_all(text.as_bytes())?;
                    if !text.ends_with('\n') {
                        writeln!(io.out)?;
                    }
                }
            }
            Output::Json => {
                let list = serde_json::json!({ "apiVersion": "v1", "kind": "List", "items": crds });
                serde_json::to_writer_pretty(&mut *io.out, &list)?;
                writeln!(io.out)?;
            }
        }
        Ok(Exit::Ok)
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

    use super::*;

    fn run(output: Output) -> (Exit, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut stdin = io::empty();
        let mut io = Io { stdin: &mut stdin, out: &mut out, err: &mut err };
        let exit = Args { output }.run(&mut io).unwrap();
        (exit, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
    }

    #[test]
    fn cs_1_yaml_documents_parse_back_as_crds() {
        let (exit, out, err) = run(Output::Yaml);
        assert_eq!((exit, err.as_str()), (Exit::Ok, ""));
        assert!(out.starts_with("---\n"));
        let crds: Vec<CustomResourceDefinition> = serde_saphyr::from_multiple(&out).unwrap();
        assert_eq!(crds.len(), kruise_api::crd::all_kinds().len());
        assert!(crds.iter().any(|c| c.metadata.name.as_deref() == Some("clonesets.apps.kruise.io")));
    }

    #[test]
    fn cs_1_json_is_a_list_of_the_same_crds() {
        let (exit, out, _) = run(Output::Json);
        assert_eq!(exit, Exit::Ok);
        let list: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(list["kind"], "List");
        let items: Vec<CustomResourceDefinition> = serde_json::from_value(list["items"].clone()).unwrap();
        let from_yaml: Vec<CustomResourceDefinition> =
            serde_saphyr::from_multiple(&run(Output::Yaml).1).unwrap();
        assert_eq!(items, from_yaml);
    }
}
