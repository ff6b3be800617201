//! `deploy/operator/` and the Helm chart `deploy/helm/kruise-rs/` describe the same objects.
//! The chart is rendered here with a tiny renderer of the template subset it uses (`if`/`else`/
//! `with`/`end`, `define`/`include`, `toYaml`, `nindent`, `quote`, `.Values`/`.Release`/
//! `.Chart` lookups) over its default values, and compared with the plain manifests.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

fn repo_file(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[derive(Debug)]
enum Tok {
    Text(String),
    Action(String),
}

fn tokenize(src: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut text = rest[..start].to_owned();
        if trim_next {
            text = text.trim_start().to_owned();
        }
        let end = rest[start..].find("}}").expect("unclosed action") + start;
        let mut inner = &rest[start + 2..end];
        if let Some(s) = inner.strip_prefix('-') {
            text = text.trim_end().to_owned();
            inner = s;
        }
        trim_next = false;
        if let Some(s) = inner.strip_suffix('-') {
            trim_next = true;
            inner = s;
        }
        out.push(Tok::Text(text));
        out.push(Tok::Action(inner.trim().to_owned()));
        rest = &rest[end + 2..];
    }
    let text = if trim_next { rest.trim_start() } else { rest };
    out.push(Tok::Text(text.to_owned()));
    out
}

struct Renderer {
    root: Value,
    defines: BTreeMap<String, Vec<Tok>>,
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn nindent(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    let body: Vec<String> = s.lines().map(|l| format!("{pad}{l}")).collect();
    format!("\n{}", body.join("\n"))
}

impl Renderer {
    fn lookup(&self, path: &str, dot: &Value) -> Value {
        if path == "." {
            return dot.clone();
        }
        let mut v = &self.root;
        for part in path.trim_start_matches('.').split('.') {
            v = v.get(part).unwrap_or(&Value::Null);
        }
        v.clone()
    }

    fn eval(&self, expr: &str, dot: &Value) -> Value {
        let mut stages = expr.split('|').map(str::trim);
        let head = stages.next().unwrap_or_default();
        let words: Vec<&str> = head.split_whitespace().collect();
        let mut val = match words.as_slice() {
            ["include", name, _] => {
                let toks = &self.defines[name.trim_matches('"')];
                Value::String(self.render(toks, dot).trim().to_owned())
            }
            ["toYaml", path] => {
                let v = self.lookup(path, dot);
                Value::String(serde_saphyr::to_string(&v).unwrap().trim_end().to_owned())
            }
            [path] => self.lookup(path, dot),
            // Helm's `or a b ...`: the first truthy argument, else the last.
            ["or", args @ ..] if !args.is_empty() => {
                let vals: Vec<Value> = args.iter().map(|a| self.lookup(a, dot)).collect();
                vals.iter().find(|v| truthy(v)).unwrap_or(&vals[vals.len() - 1]).clone()
            }
            _ => panic!("unsupported expression {expr:?}"),
        };
        for f in stages {
            let fw: Vec<&str> = f.split_whitespace().collect();
            val = match fw.as_slice() {
                ["quote"] => Value::String(format!("{:?}", scalar(&val))),
                ["nindent", n] => Value::String(nindent(&scalar(&val), n.parse().unwrap())),
                _ => panic!("unsupported function {f:?}"),
            };
        }
        val
    }

    /// Renders `toks`; `define` blocks are recorded by [`Renderer::load_defines`] instead.
    fn render(&self, toks: &[Tok], dot: &Value) -> String {
        let mut out = String::new();
        // (active, branch taken, dot) per open block.
        let mut stack: Vec<(bool, bool, Value)> = Vec::new();
        let mut dots = vec![dot.clone()];
        let active = |stack: &[(bool, bool, Value)]| stack.iter().all(|f| f.0);
        for t in toks {
            match t {
                Tok::Text(s) => {
                    if active(&stack) {
                        out.push_str(s);
                    }
                }
                Tok::Action(a) => {
                    let cur = dots.last().cloned().unwrap_or(Value::Null);
                    if let Some(e) = a.strip_prefix("if ") {
                        let on = active(&stack) && truthy(&self.eval(e, &cur));
                        stack.push((on, on, cur.clone()));
                        dots.push(cur);
                    } else if let Some(e) = a.strip_prefix("with ") {
                        let v = self.eval(e, &cur);
                        let on = active(&stack) && truthy(&v);
                        stack.push((on, on, v.clone()));
                        dots.push(v);
                    } else if a == "else" {
                        let parent = active(&stack[..stack.len() - 1]);
                        let top = stack.last_mut().expect("else without if");
                        top.0 = parent && !top.1;
                    } else if a == "end" {
                        stack.pop().expect("end without block");
                        dots.pop();
                    } else if active(&stack) {
                        out.push_str(&scalar(&self.eval(a, &cur)));
                    }
                }
            }
        }
        assert!(stack.is_empty(), "unclosed block");
        out
    }

    fn load_defines(&mut self, src: &str) {
        let toks = tokenize(src);
        let mut i = 0;
        while i < toks.len() {
            if let Tok::Action(a) = &toks[i]
                && let Some(name) = a.strip_prefix("define ")
            {
                let mut depth = 0;
                let mut body = Vec::new();
                i += 1;
                while i < toks.len() {
                    match &toks[i] {
                        Tok::Action(x) if x == "end" && depth == 0 => break,
                        Tok::Action(x) if x == "end" => depth -= 1,
                        Tok::Action(x) if x.starts_with("if ") || x.starts_with("with ") => depth += 1,
                        _ => {}
                    }
                    body.push(match &toks[i] {
                        Tok::Text(s) => Tok::Text(s.clone()),
                        Tok::Action(s) => Tok::Action(s.clone()),
                    });
                    i += 1;
                }
                self.defines.insert(name.trim_matches('"').to_owned(), body);
            }
            i += 1;
        }
    }
}

fn yaml_docs(src: &str) -> Vec<Value> {
    let docs: Vec<Value> = serde_saphyr::from_str_multiple(src).unwrap_or_else(|e| panic!("{e}\n{src}"));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// The chart rendered with its default values, `overrides` merged over `.Values`.
fn render_chart(overrides: Value) -> Vec<Value> {
    let mut values: Value = serde_saphyr::from_str(&repo_file("deploy/helm/kruise-rs/values.yaml")).unwrap();
    if let (Some(v), Some(o)) = (values.as_object_mut(), overrides.as_object()) {
        for (k, x) in o {
            v.insert(k.clone(), x.clone());
        }
    }
    let chart: Value = serde_saphyr::from_str(&repo_file("deploy/helm/kruise-rs/Chart.yaml")).unwrap();
    let root = json!({
        "Values": values,
        "Release": {"Name": "kruise-rs", "Namespace": "kruise-rs-system"},
        "Chart": {"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
    });
    let mut r = Renderer { root: root.clone(), defines: BTreeMap::new() };
    r.load_defines(&repo_file("deploy/helm/kruise-rs/templates/_helpers.tpl"));
    let mut docs = Vec::new();
    for t in ["serviceaccount.yaml", "rbac.yaml", "deployment.yaml", "service.yaml", "webhook.yaml"] {
        let src = repo_file(&format!("deploy/helm/kruise-rs/templates/{t}"));
        docs.extend(yaml_docs(&r.render(&tokenize(&src), &root)));
    }
    docs
}

fn plain_manifests() -> Vec<Value> {
    let mut docs = Vec::new();
    for f in [
        "serviceaccount.yaml",
        "rbac.yaml",
        "deployment.yaml",
        "service.yaml",
        "webhook.yaml",
        "cert-manager.yaml",
    ] {
        docs.extend(yaml_docs(&repo_file(&format!("deploy/operator/{f}"))));
    }
    docs
}

fn by_kind_name(docs: &[Value]) -> BTreeMap<(String, String), Value> {
    docs.iter().map(|d| ((scalar(&d["kind"]), scalar(&d["metadata"]["name"])), d.clone())).collect()
}

#[test]
fn chart_defaults_render_the_plain_manifests() {
    let chart = by_kind_name(&render_chart(json!({})));
    let plain = by_kind_name(&plain_manifests());
    assert_eq!(chart.keys().collect::<Vec<_>>(), plain.keys().collect::<Vec<_>>());
    for (key, p) in &plain {
        let c = &chart[key];
        assert_eq!(c["metadata"]["namespace"], p["metadata"]["namespace"], "{key:?} namespace");
        assert_eq!(c["metadata"]["annotations"], p["metadata"]["annotations"], "{key:?} annotations");
        for field in ["rules", "roleRef", "subjects", "webhooks"] {
            assert_eq!(c[field], p[field], "{key:?} {field}");
        }
        match key.0.as_str() {
            "Deployment" => {
                assert_eq!(c["spec"]["replicas"], p["spec"]["replicas"]);
                assert_eq!(c["spec"]["selector"], p["spec"]["selector"]);
                assert_eq!(c["spec"]["template"]["spec"], p["spec"]["template"]["spec"]);
            }
            "Service" | "Issuer" | "Certificate" => assert_eq!(c["spec"], p["spec"], "{key:?} spec"),
            _ => {}
        }
    }
}

#[test]
fn chart_namespace_scope_uses_a_role_and_the_namespace_flag() {
    let docs = by_kind_name(&render_chart(json!({"watchNamespace": "team-a", "watchNodes": true})));
    let role = &docs[&("Role".to_owned(), "kruise-rs".to_owned())];
    assert_eq!(role["metadata"]["namespace"], json!("team-a"));
    let binding = &docs[&("RoleBinding".to_owned(), "kruise-rs".to_owned())];
    assert_eq!(binding["roleRef"]["kind"], json!("Role"));
    assert!(!docs.contains_key(&("ClusterRole".to_owned(), "kruise-rs".to_owned())));
    let nodes = &docs[&("ClusterRole".to_owned(), "kruise-rs-nodes".to_owned())];
    assert_eq!(nodes["rules"][0]["verbs"], json!(["list", "watch"]));
    let dep = &docs[&("Deployment".to_owned(), "kruise-rs".to_owned())];
    let args = &dep["spec"]["template"]["spec"]["containers"][0]["args"];
    assert!(args.as_array().unwrap().contains(&json!("--namespace=team-a")), "{args}");
    assert!(args.as_array().unwrap().contains(&json!("--watch-nodes=true")), "{args}");
}

#[test]
fn chart_without_leader_election_has_no_lease_role() {
    let docs = by_kind_name(&render_chart(json!({"leaderElection": {"enabled": false, "leaseName": "x"}})));
    assert!(!docs.contains_key(&("Role".to_owned(), "kruise-rs-leader-election".to_owned())));
    let dep = &docs[&("Deployment".to_owned(), "kruise-rs".to_owned())];
    let args = &dep["spec"]["template"]["spec"]["containers"][0]["args"];
    assert!(args.as_array().unwrap().contains(&json!("--leader-elect=false")));
}

/// Every flag the manifests pass exists in the binary, and every env var they set is one it
/// reads.
#[test]
fn manifest_flags_and_env_exist_in_the_binary() {
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_kruise-operator")).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    for doc in render_chart(json!({"watchNamespace": "team-a", "featureGates": "CloneSetShortHash=true"}))
        .into_iter()
        .chain(plain_manifests())
        .filter(|d| d["kind"] == "Deployment")
    {
        let c = &doc["spec"]["template"]["spec"]["containers"][0];
        for arg in c["args"].as_array().unwrap() {
            let flag = scalar(arg).split('=').next().unwrap_or_default().to_owned();
            assert!(
                help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
                "{flag} not in --help"
            );
        }
        for env in c["env"].as_array().unwrap() {
            let name = scalar(&env["name"]);
            assert!(help.contains(&format!("[env: {name}")), "{name} not read by the binary");
        }
    }
}

/// The apps.kruise.io workload kinds whose objects own pods, PVCs or revisions (and so are
/// named in `blockOwnerDeletion: true` owner references).
const OWNING_KINDS: [&str; 5] = ["clonesets", "statefulsets", "daemonsets", "broadcastjobs", "imagepulljobs"];

fn grants(rules: &Value, group: &str, resource: &str, verb: &str) -> bool {
    rules.as_array().into_iter().flatten().any(|r| {
        let has = |field: &str, v: &str| r[field].as_array().is_some_and(|a| a.contains(&json!(v)));
        has("apiGroups", group) && has("resources", resource) && has("verbs", verb)
    })
}

/// Issue 12 item 9: creating a pod whose owner reference has `blockOwnerDeletion: true` needs
/// `update` on the owner's `finalizers` subresource on clusters with the
/// OwnerReferencesPermissionEnforcement admission plugin; granted for every workload kind, in
/// both the plain manifests and the chart (cluster-wide and namespaced).
#[test]
fn rbac_grants_update_on_workload_finalizers() {
    let charts = [render_chart(json!({})), render_chart(json!({"watchNamespace": "team-a"}))];
    for docs in charts.iter().chain([plain_manifests()].iter()) {
        let role = docs
            .iter()
            .find(|d| {
                matches!(d["kind"].as_str(), Some("ClusterRole" | "Role"))
                    && d["metadata"]["name"] == "kruise-rs"
            })
            .expect("the operator's role");
        for kind in OWNING_KINDS {
            let sub = format!("{kind}/finalizers");
            assert!(grants(&role["rules"], "apps.kruise.io", &sub, "update"), "no update on {sub}");
        }
        // Every workload kind the role lets the operator watch has its finalizers rule.
        for rule in role["rules"].as_array().into_iter().flatten() {
            for res in rule["resources"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !res.contains('/') && grants(&json!([rule]), "apps.kruise.io", res, "watch") {
                    assert!(OWNING_KINDS.contains(&res), "{res} watched but no finalizers rule checked");
                }
            }
        }
    }
}

/// The name of the pod webhook configuration (SidecarSet injection).
const INJECTION_CONFIG: &str = "kruise-rs-sidecarset-injection";

/// The webhook configurations for our own kinds (the pod injection one aside).
fn webhook_configs(docs: &[Value]) -> Vec<&Value> {
    docs.iter()
        .filter(|d| {
            matches!(
                d["kind"].as_str(),
                Some("ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration")
            ) && d["metadata"]["name"] != INJECTION_CONFIG
        })
        .collect()
}

/// Issue 15: the SidecarSet injection webhook is called for pod CREATE only, at the path the
/// operator serves, through the webhook Service, with failurePolicy Ignore (upstream's chart;
/// docs/deviations.md), never for the operator's namespace or kube-system; the operator is
/// granted list/watch on what its caches read; the chart can turn it off or make it Fail.
#[test]
fn sidecarset_injection_webhook_is_configured_for_pod_creates() {
    for docs in [plain_manifests(), render_chart(json!({}))] {
        let cfg = docs
            .iter()
            .find(|d| {
                d["kind"] == "MutatingWebhookConfiguration" && d["metadata"]["name"] == INJECTION_CONFIG
            })
            .expect("the injection webhook configuration");
        assert_eq!(
            cfg["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
            json!("kruise-rs-system/kruise-rs-webhook-cert")
        );
        let hook = &cfg["webhooks"][0];
        let svc = &hook["clientConfig"]["service"];
        assert_eq!(svc["path"], json!(kruise_kube::sidecar_webhook::POD_INJECT_PATH));
        assert_eq!(
            (svc["name"].clone(), svc["namespace"].clone(), svc["port"].clone()),
            (json!("kruise-rs-webhook"), json!("kruise-rs-system"), json!(443))
        );
        assert_eq!(hook["failurePolicy"], json!("Ignore"));
        assert_eq!(hook["sideEffects"], json!("None"));
        assert_eq!(hook["admissionReviewVersions"], json!(["v1"]));
        assert_eq!(
            hook["rules"],
            json!([{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}])
        );
        let expr = &hook["namespaceSelector"]["matchExpressions"][0];
        assert_eq!(expr["key"], json!("kubernetes.io/metadata.name"));
        assert_eq!(expr["operator"], json!("NotIn"));
        assert_eq!(expr["values"], json!(["kruise-rs-system", "kube-system"]));
        let role = docs
            .iter()
            .find(|d| d["kind"] == "ClusterRole" && d["metadata"]["name"] == INJECTION_CONFIG)
            .expect("the injection ClusterRole");
        for (group, res) in
            [("apps.kruise.io", "sidecarsets"), ("", "namespaces"), ("apps", "controllerrevisions")]
        {
            for verb in ["list", "watch"] {
                assert!(grants(&role["rules"], group, res, verb), "no {verb} on {res}");
            }
        }
        let binding = docs
            .iter()
            .find(|d| d["kind"] == "ClusterRoleBinding" && d["metadata"]["name"] == INJECTION_CONFIG)
            .expect("the injection ClusterRoleBinding");
        assert_eq!(binding["subjects"][0]["name"], json!("kruise-rs"));
        let dep = docs.iter().find(|d| d["kind"] == "Deployment").expect("Deployment");
        let args = &dep["spec"]["template"]["spec"]["containers"][0]["args"];
        assert!(args.as_array().unwrap().contains(&json!("--sidecarset-injection=true")), "{args}");
    }
    // `.Values.webhook` with `patch` merged in (render_chart replaces top-level keys whole).
    let webhook = |patch: Value| {
        let values: Value = serde_saphyr::from_str(&repo_file("deploy/helm/kruise-rs/values.yaml")).unwrap();
        let mut w = values["webhook"].clone();
        json_patch::merge(&mut w, &patch);
        json!({ "webhook": w })
    };
    let off = render_chart(webhook(json!({"sidecarsetInjection": {"enabled": false}})));
    assert!(!off.iter().any(|d| d["metadata"]["name"] == INJECTION_CONFIG));
    let dep = off.iter().find(|d| d["kind"] == "Deployment").expect("Deployment");
    let args = &dep["spec"]["template"]["spec"]["containers"][0]["args"];
    assert!(args.as_array().unwrap().contains(&json!("--sidecarset-injection=false")), "{args}");
    let fail = render_chart(webhook(json!({"sidecarsetInjection": {"failurePolicy": "Fail"}})));
    let cfg = fail
        .iter()
        .find(|d| d["kind"] == "MutatingWebhookConfiguration" && d["metadata"]["name"] == INJECTION_CONFIG)
        .expect("config");
    assert_eq!(cfg["webhooks"][0]["failurePolicy"], json!("Fail"));
}

/// Issue 12 item 3: the webhook configurations call the paths the operator serves, through
/// the webhook Service, for every kind of our CRDs (deploy/crds), on CREATE and UPDATE, with
/// failurePolicy Fail, and never for the operator's own namespace or kube-system.
#[test]
fn webhook_configurations_cover_every_kind_and_spare_system_namespaces() {
    let crds = yaml_docs(&repo_file("deploy/crds/kruise-rs.yaml"));
    let mut kinds: Vec<(String, String)> =
        crds.iter().map(|c| (scalar(&c["spec"]["group"]), scalar(&c["spec"]["names"]["plural"]))).collect();
    kinds.sort();
    assert!(kinds.len() >= 8, "{kinds:?}");
    for docs in [plain_manifests(), render_chart(json!({}))] {
        let configs = webhook_configs(&docs);
        assert_eq!(configs.len(), 2);
        let service =
            docs.iter().find(|d| d["kind"] == "Service" && d["metadata"]["name"] == "kruise-rs-webhook");
        let service = service.expect("webhook Service");
        assert_eq!(service["spec"]["ports"][0]["targetPort"], json!("webhook"));
        for cfg in configs {
            let hook = &cfg["webhooks"][0];
            let path = match cfg["kind"].as_str() {
                Some("ValidatingWebhookConfiguration") => kruise_kube::webhook::VALIDATE_PATH,
                _ => kruise_kube::webhook::MUTATE_PATH,
            };
            let svc = &hook["clientConfig"]["service"];
            assert_eq!(svc["path"], json!(path));
            assert_eq!(
                (svc["name"].clone(), svc["namespace"].clone()),
                (json!("kruise-rs-webhook"), json!("kruise-rs-system"))
            );
            assert_eq!(svc["port"], service["spec"]["ports"][0]["port"]);
            assert_eq!(hook["failurePolicy"], json!("Fail"));
            assert_eq!(hook["sideEffects"], json!("None"));
            assert_eq!(hook["admissionReviewVersions"], json!(["v1"]));
            let expr = &hook["namespaceSelector"]["matchExpressions"][0];
            assert_eq!(expr["key"], json!("kubernetes.io/metadata.name"));
            assert_eq!(expr["operator"], json!("NotIn"));
            assert_eq!(expr["values"], json!(["kruise-rs-system", "kube-system"]));
            let mut covered = Vec::new();
            for rule in hook["rules"].as_array().into_iter().flatten() {
                assert_eq!(rule["operations"], json!(["CREATE", "UPDATE"]));
                assert_eq!(rule["apiVersions"], json!(["v1alpha1", "v1beta1"]));
                for g in rule["apiGroups"].as_array().into_iter().flatten() {
                    for r in rule["resources"].as_array().into_iter().flatten() {
                        covered.push((scalar(g), scalar(r)));
                    }
                }
            }
            covered.sort();
            assert_eq!(covered, kinds, "{}", cfg["kind"]);
        }
        // The Deployment serves the webhook port with the mounted certificate.
        let dep = docs.iter().find(|d| d["kind"] == "Deployment").expect("Deployment");
        let pod = &dep["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        assert!(
            c["ports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "webhook" && p["containerPort"] == 9443)
        );
        let args: Vec<String> = c["args"].as_array().unwrap().iter().map(scalar).collect();
        assert!(
            args.contains(&"--webhook-cert-dir=/tmp/k8s-webhook-server/serving-certs".to_owned()),
            "{args:?}"
        );
        assert_eq!(c["volumeMounts"][0]["mountPath"], json!("/tmp/k8s-webhook-server/serving-certs"));
        assert_eq!(pod["volumes"][0]["secret"]["secretName"], json!("kruise-rs-webhook-cert"));
        let cert = docs.iter().find(|d| d["kind"] == "Certificate").expect("Certificate");
        assert_eq!(cert["spec"]["secretName"], json!("kruise-rs-webhook-cert"));
        assert!(
            cert["spec"]["dnsNames"]
                .as_array()
                .unwrap()
                .contains(&json!("kruise-rs-webhook.kruise-rs-system.svc"))
        );
    }
}

/// Without cert-manager the chart takes the CA bundle from values; disabled, no webhook at all.
#[test]
fn chart_webhook_ca_bundle_from_values_or_disabled() {
    let docs = render_chart(json!({"webhook": {
        "enabled": true, "port": 9443, "failurePolicy": "Ignore", "timeoutSeconds": 5,
        "secretName": "my-cert", "certManager": {"enabled": false}, "caBundle": "Y2EtYnVuZGxl"
    }}));
    assert!(!docs.iter().any(|d| matches!(d["kind"].as_str(), Some("Issuer" | "Certificate"))));
    for cfg in webhook_configs(&docs) {
        assert!(cfg["metadata"]["annotations"].is_null(), "{}", cfg["metadata"]);
        let hook = &cfg["webhooks"][0];
        assert_eq!(hook["clientConfig"]["caBundle"], json!("Y2EtYnVuZGxl"));
        assert_eq!(hook["failurePolicy"], json!("Ignore"));
        assert_eq!(hook["timeoutSeconds"], json!(5));
    }
    let dep = docs.iter().find(|d| d["kind"] == "Deployment").expect("Deployment");
    assert_eq!(dep["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"], json!("my-cert"));

    let off = render_chart(json!({"webhook": {"enabled": false, "certManager": {"enabled": true}}}));
    assert!(webhook_configs(&off).is_empty());
    let dep = off.iter().find(|d| d["kind"] == "Deployment").expect("Deployment");
    let c = &dep["spec"]["template"]["spec"]["containers"][0];
    assert!(c["volumeMounts"].is_null() && dep["spec"]["template"]["spec"]["volumes"].is_null());
    let args: Vec<String> = c["args"].as_array().unwrap().iter().map(scalar).collect();
    assert!(!args.iter().any(|a| a.starts_with("--webhook")), "{args:?}");
}

fn role_rules(docs: &[Value]) -> Value {
    docs.iter()
        .find(|d| {
            matches!(d["kind"].as_str(), Some("ClusterRole" | "Role")) && d["metadata"]["name"] == "kruise-rs"
        })
        .map(|d| d["rules"].clone())
        .expect("the operator's role")
}

fn node_rules(docs: &[Value]) -> Option<Value> {
    docs.iter()
        .find(|d| d["kind"] == "ClusterRole" && d["metadata"]["name"] == "kruise-rs-nodes")
        .map(|d| d["rules"].clone())
}

fn controller_args(docs: &[Value]) -> Vec<String> {
    let dep = docs.iter().find(|d| d["kind"] == "Deployment").expect("the deployment");
    dep["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|a| a.strip_prefix("--controllers="))
        .map(str::to_owned)
        .collect()
}

/// Issues 13 and 14: the StatefulSet and DaemonSet controllers run by default (plain manifests
/// and chart, cluster-wide and namespaced) with what they use: their workloads (list, watch,
/// patch, update) and status, pods, PVCs (the StatefulSet's claims: create, patch, delete),
/// revisions, and nodes list/watch only (the DaemonSet's node cache; never get, never a write).
#[test]
fn rbac_grants_what_the_statefulset_and_daemonset_controllers_use() {
    let charts = [render_chart(json!({})), render_chart(json!({"watchNamespace": "team-a"}))];
    for docs in charts.iter().chain([plain_manifests()].iter()) {
        let args = controller_args(docs);
        assert_eq!(args[..3], ["cloneset", "statefulset", "daemonset"]);
        let rules = role_rules(docs);
        for kind in ["statefulsets", "daemonsets"] {
            for verb in ["list", "watch", "patch", "update"] {
                assert!(grants(&rules, "apps.kruise.io", kind, verb), "{kind} {verb}");
            }
            assert!(!grants(&rules, "apps.kruise.io", kind, "delete"), "{kind} delete");
            assert!(grants(&rules, "apps.kruise.io", &format!("{kind}/status"), "update"), "{kind}/status");
        }
        for verb in ["list", "watch", "create", "patch", "delete"] {
            assert!(grants(&rules, "", "persistentvolumeclaims", verb), "pvc {verb}");
        }
        // IPJ-40..42: the workloads watch, create and delete their pre-download jobs.
        for verb in ["list", "watch", "create", "delete"] {
            assert!(grants(&rules, "apps.kruise.io", "imagepulljobs", verb), "imagepulljobs {verb}");
        }
        let nodes = node_rules(docs).expect("the nodes ClusterRole");
        assert_eq!(nodes, json!([{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list", "watch"]}]));
        assert!(!grants(&rules, "", "nodes", "list"), "nodes are cluster-scoped: only in kruise-rs-nodes");
    }
}

/// A controller switched off in the chart loses its flag and its RBAC; nodes are granted only
/// to the DaemonSet controller or with `watchNodes`.
#[test]
fn chart_grants_only_the_controllers_it_runs() {
    let off = json!({"cloneset": true, "statefulset": false, "daemonset": false});
    let docs = render_chart(json!({"controllers": off}));
    assert_eq!(controller_args(&docs), ["cloneset"]);
    let rules = role_rules(&docs);
    assert!(grants(&rules, "apps.kruise.io", "clonesets", "watch"));
    for kind in ["statefulsets", "daemonsets"] {
        assert!(!grants(&rules, "apps.kruise.io", kind, "watch"), "{kind} still watched");
    }
    assert!(node_rules(&docs).is_none(), "nodes granted without the DaemonSet controller");
    let docs = render_chart(json!({"controllers": off, "watchNodes": true}));
    assert!(node_rules(&docs).is_some());
    let ds_only = json!({"cloneset": false, "statefulset": false, "daemonset": true});
    let docs = render_chart(json!({"controllers": ds_only}));
    assert_eq!(controller_args(&docs), ["daemonset"]);
    assert!(!grants(&role_rules(&docs), "apps.kruise.io", "clonesets", "watch"));
    assert!(node_rules(&docs).is_some());
}

fn named_rules(docs: &[Value], kind: &str, name: &str) -> Option<Value> {
    docs.iter().find(|d| d["kind"] == kind && d["metadata"]["name"] == name).map(|d| d["rules"].clone())
}

/// Issues 15, 16, 17: the SidecarSet, BroadcastJob and ImagePullJob controllers run by default
/// (their CRDs are in deploy/crds), Rollout and TrafficRouting are opt-in (Kruise Rollouts'
/// CRDs), and each gets exactly what it uses: cluster-scoped SidecarSets, Namespaces and
/// NodeImages in `kruise-rs-cluster`; pull-secret copies written only in the daemon namespace;
/// BroadcastJob nodes through `kruise-rs-nodes`; the Rollout's Services, HTTPRoutes, Ingresses,
/// BatchReleases and TrafficRoutings only when it is on. The SidecarSet controller is not run
/// namespaced.
#[test]
fn rbac_grants_what_the_new_controllers_use() {
    let cluster_wide = [render_chart(json!({})), plain_manifests()];
    for docs in &cluster_wide {
        assert_eq!(
            controller_args(docs),
            ["cloneset", "statefulset", "daemonset", "sidecarset", "broadcastjob", "imagepulljob"]
        );
        let rules = role_rules(docs);
        for (res, verbs) in [
            ("broadcastjobs", &["list", "watch", "delete"][..]),
            ("imagepulljobs", &["list", "watch", "patch", "delete"][..]),
            ("broadcastjobs/status", &["patch", "update"][..]),
            ("imagepulljobs/status", &["patch", "update"][..]),
        ] {
            for verb in verbs {
                assert!(grants(&rules, "apps.kruise.io", res, verb), "{res} {verb}");
            }
        }
        assert!(!grants(&rules, "apps.kruise.io", "broadcastjobs", "update"), "no spec writes on jobs");
        assert!(grants(&rules, "", "secrets", "watch"));
        for verb in ["create", "update", "delete", "patch"] {
            assert!(!grants(&rules, "", "secrets", verb), "secrets {verb} outside the daemon namespace");
        }
        for (group, res) in [
            ("", "services"),
            ("gateway.networking.k8s.io", "httproutes"),
            ("rollouts.kruise.io", "rollouts"),
        ] {
            assert!(!grants(&rules, group, res, "watch"), "{res} granted without the Rollout controller");
        }
        let cluster = named_rules(docs, "ClusterRole", "kruise-rs-cluster").expect("the cluster-scoped role");
        for verb in ["list", "watch"] {
            assert!(grants(&cluster, "apps.kruise.io", "sidecarsets", verb));
            assert!(grants(&cluster, "", "namespaces", verb));
            assert!(grants(&cluster, "apps.kruise.io", "nodeimages", verb));
        }
        assert!(grants(&cluster, "apps.kruise.io", "nodeimages", "patch"));
        assert!(!grants(&cluster, "apps.kruise.io", "nodeimages", "create"), "the daemon creates NodeImages");
        assert!(grants(&cluster, "apps.kruise.io", "sidecarsets/status", "update"));
        assert!(grants(&cluster, "apps.kruise.io", "sidecarsets/finalizers", "update"));
        assert!(!grants(&cluster, "", "namespaces", "patch"));
        let daemon = docs
            .iter()
            .find(|d| d["kind"] == "Role" && d["metadata"]["name"] == "kruise-rs-daemon-config")
            .expect("the daemon-config role");
        assert_eq!(daemon["metadata"]["namespace"], json!("kruise-daemon-config"));
        assert_eq!(
            daemon["rules"],
            json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list", "watch", "create", "update", "delete"]}])
        );
        assert!(node_rules(docs).is_some());
    }

    // Namespaced: no SidecarSet controller (cluster-scoped), NodeImages still cluster-wide.
    let docs = render_chart(json!({"watchNamespace": "team-a"}));
    assert!(!controller_args(&docs).contains(&"sidecarset".to_owned()));
    let cluster =
        named_rules(&docs, "ClusterRole", "kruise-rs-cluster").expect("NodeImages are cluster-scoped");
    assert!(!grants(&cluster, "apps.kruise.io", "sidecarsets", "watch"));
    assert!(grants(&cluster, "apps.kruise.io", "nodeimages", "watch"));

    // Only BroadcastJob: its nodes, no cluster-scoped role, no secrets.
    let docs = render_chart(json!({"controllers": {"broadcastjob": true}}));
    assert_eq!(controller_args(&docs), ["broadcastjob"]);
    assert!(node_rules(&docs).is_some());
    assert!(named_rules(&docs, "ClusterRole", "kruise-rs-cluster").is_none());
    assert!(!grants(&role_rules(&docs), "", "secrets", "list"));

    // Rollout and TrafficRouting on: the kinds they read and write.
    let docs = render_chart(json!({"controllers": {"rollout": true, "trafficrouting": true}}));
    assert_eq!(controller_args(&docs), ["rollout", "trafficrouting"]);
    let rules = role_rules(&docs);
    for (group, res, verbs) in [
        ("rollouts.kruise.io", "rollouts", &["list", "watch", "patch"][..]),
        ("rollouts.kruise.io", "rollouts/status", &["update"][..]),
        ("rollouts.kruise.io", "rollouts/finalizers", &["update"][..]),
        ("rollouts.kruise.io", "batchreleases", &["list", "watch", "create", "update", "delete"][..]),
        ("rollouts.kruise.io", "batchreleases/status", &["update"][..]),
        ("rollouts.kruise.io", "trafficroutings", &["list", "watch", "patch"][..]),
        ("rollouts.kruise.io", "trafficroutings/status", &["update"][..]),
        ("apps.kruise.io", "clonesets", &["list", "watch", "patch"][..]),
        ("", "services", &["list", "watch", "create", "patch", "delete"][..]),
        ("networking.k8s.io", "ingresses", &["list", "watch", "create", "patch", "delete"][..]),
        ("gateway.networking.k8s.io", "httproutes", &["list", "watch", "patch"][..]),
        ("apps", "deployments", &["list", "watch", "create", "patch", "delete"][..]),
        ("apps", "replicasets", &["list", "watch", "patch"][..]),
        ("autoscaling", "horizontalpodautoscalers", &["list", "watch", "patch"][..]),
    ] {
        for verb in verbs {
            assert!(grants(&rules, group, res, verb), "{res} {verb}");
        }
    }
    assert!(
        !grants(&rules, "gateway.networking.k8s.io", "httproutes", "create"),
        "routes are only reweighted"
    );
    assert!(!grants(&rules, "rollouts.kruise.io", "rollouts", "delete"));
}
