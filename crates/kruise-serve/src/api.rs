//! The Kubernetes HTTP API over the cluster: discovery, get, list, watch, create, update,
//! patch (JSON merge, JSON patch, strategic merge, server-side apply), delete (with
//! preconditions) and deletecollection, the `status`, `scale` and `resize` subresources, and
//! errors as `Status` objects.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kruise_core::write::Subresource;
use kruise_sim::store::{ObjectKey, set_path, str_at};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::cluster::{Cluster, Entry, established_at};
use crate::patch::{self, PatchError};
use crate::registry::ResourceDef;
use crate::select::{FieldTerm, fields_match, labels_match, parse_field_selector, parse_label_selector};
use crate::status::Failure;

/// The response body: a whole JSON document or a watch stream.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Largest request body accepted.
pub const MAX_BODY: usize = 16 << 20;

/// A job for the cluster thread.
pub type Job = Box<dyn FnOnce(&mut Cluster) + Send>;

/// State shared by every connection. The cluster itself lives on a thread of its own (the
/// simulator is not `Send`); requests reach it as [`Job`]s.
#[derive(Debug)]
pub struct Shared {
    jobs: std::sync::mpsc::Sender<Job>,
    /// The latest resourceVersion, for watches to wake on.
    pub changed: watch::Sender<u64>,
    /// Turns `true` when the server stops (watches end).
    pub shutdown: watch::Receiver<bool>,
    /// How often an idle watch that asked for bookmarks gets one.
    pub bookmark_every: Duration,
    /// The `host:port` clients reach the server at.
    pub address: String,
}

impl Shared {
    /// Shared state sending jobs to `jobs`.
    pub fn new(
        jobs: std::sync::mpsc::Sender<Job>,
        changed: watch::Sender<u64>,
        shutdown: watch::Receiver<bool>,
        bookmark_every: Duration,
        address: String,
    ) -> Self {
        Self { jobs, changed, shutdown, bookmark_every, address }
    }

    /// Runs `f` on the cluster thread (after the clock has caught up with wall time, or, on
    /// a manual clock, the scheduler and kubelets with what is due now).
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Cluster) -> T + Send + 'static,
    ) -> Result<T, Failure> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |c: &mut Cluster| {
            c.advance();
            let _ = tx.send(f(c));
        });
        self.jobs.send(job).map_err(|_| Failure::internal("the cluster has stopped"))?;
        rx.await.map_err(|_| Failure::internal("the cluster has stopped"))
    }
}

fn body(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed_unsync()
}

fn json_reply(code: u16, v: &Value) -> Response<Body> {
    let mut r = Response::new(body(serde_json::to_vec(v).unwrap_or_default()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    r
}

fn fail(f: &Failure) -> Response<Body> {
    json_reply(f.code, &f.to_status())
}

/// One request, its body read.
#[derive(Debug)]
pub struct Req {
    /// The method.
    pub method: Method,
    /// The path.
    pub path: String,
    /// Query parameters (decoded).
    pub query: BTreeMap<String, String>,
    /// The media type of the body (no parameters).
    pub content_type: String,
    /// The body.
    pub body: Bytes,
    /// The client accepts a `meta.k8s.io/v1` `Table` (`kubectl get`).
    pub table: bool,
}

impl Req {
    /// `Some(include the whole object)` when the answer is to be a `Table`.
    fn table(&self) -> Option<bool> {
        self.table.then(|| self.query.get("includeObject").is_some_and(|v| v == "Object"))
    }

    fn flag(&self, name: &str) -> bool {
        self.query.get(name).is_some_and(|v| v == "true" || v == "1")
    }

    fn json(&self) -> Result<Value, Failure> {
        if self.content_type.ends_with("yaml") {
            let text = std::str::from_utf8(&self.body).map_err(|e| Failure::bad_request(e.to_string()))?;
            return serde_saphyr::from_str(text).map_err(|e| Failure::bad_request(e.to_string()));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| Failure::bad_request(format!("the request body is not JSON: {e}")))
    }
}

/// Answers one request.
pub async fn handle(shared: Arc<Shared>, req: Req) -> Response<Body> {
    tracing::debug!(method = %req.method, path = %req.path, "request");
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let text = |s: &'static str| {
        let mut r = Response::new(body(s));
        r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain"));
        r
    };
    match segments.as_slice() {
        ["healthz" | "readyz" | "livez"] => return text("ok"),
        ["version"] => {
            return json_reply(
                200,
                &json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-kruise-serve", "gitCommit": "",
                    "gitTreeState": "clean", "buildDate": "", "goVersion": "", "compiler": "", "platform": "linux/amd64"}),
            );
        }
        ["api"] => {
            return json_reply(
                200,
                &json!({"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": shared.address}]}),
            );
        }
        _ => {}
    }
    if req.method == Method::GET && req.flag("watch") {
        return watch(shared, req).await;
    }
    match shared.run(move |c| dispatch(c, &req)).await {
        Ok(Ok((code, v))) => json_reply(code, &v),
        Ok(Err(f)) | Err(f) => fail(&f),
    }
}

/// Answers a discovery or resource request (not a watch) on the cluster thread.
fn dispatch(c: &mut Cluster, req: &Req) -> Reply {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["apis"] => return Ok((200, c.registry.group_list())),
        ["api", "v1"] => return Ok((200, c.registry.resource_list("", "v1"))),
        ["apis", group] => {
            return c.registry.api_group(group).map(|g| (200, g)).ok_or_else(Failure::no_route);
        }
        ["openapi", "v3"] => return Ok((200, openapi_paths(c))),
        ["openapi", "v3", "api", "v1"] => return Ok((200, openapi_doc(c, "", "v1"))),
        ["openapi", "v3", "apis", group, version] if c.registry.serves(group, version) => {
            return Ok((200, openapi_doc(c, group, version)));
        }
        ["apis", group, version] => {
            return if c.registry.serves(group, version) {
                Ok((200, c.registry.resource_list(group, version)))
            } else {
                Err(Failure::no_route())
            };
        }
        _ => {}
    }
    let t = target(c, req)?;
    match (&req.method, t.name.as_deref(), t.sub.as_deref()) {
        (&Method::GET, None, None) => list(c, &t, req),
        (&Method::GET, Some(name), None) if req.table => get_table(c, &t, name, req),
        (&Method::GET, Some(name), sub) => get(c, &t, name, sub),
        (&Method::POST, None, None) => create(c, &t, req),
        (&Method::PUT, Some(name), sub) => update(c, &t, name, sub, req),
        (&Method::PATCH, Some(name), sub) => patch_object(c, &t, name, sub, req),
        (&Method::DELETE, Some(name), None) => delete(c, &t, name, req),
        (&Method::DELETE, None, None) => delete_collection(c, &t, req),
        (m, ..) => Err(Failure::method_not_allowed(m.as_str())),
    }
}

/// `/openapi/v3`: one document per served group-version.
fn openapi_paths(c: &Cluster) -> Value {
    let mut paths = serde_json::Map::new();
    for (group, versions) in c.registry.groups() {
        for v in versions {
            let gv = if group.is_empty() { format!("api/{v}") } else { format!("apis/{group}/{v}") };
            let url = format!("/openapi/v3/{gv}?hash={}", c.resource_version());
            paths.insert(gv, json!({"serverRelativeURL": url}));
        }
    }
    json!({"paths": paths})
}

/// The OpenAPI v3 document of a group-version, as far as clients read it to decide how to
/// talk to the server: each resource's PATCH operation with its group-version-kind, the
/// `fieldValidation` parameter and the patch types accepted. No schemas: `kubectl` then
/// computes strategic merge patches from its built-in types (core kinds) and JSON merge
/// patches otherwise, and leaves field validation to the server (which does not check field
/// names; see docs/operator.md).
fn openapi_doc(c: &Cluster, group: &str, version: &str) -> Value {
    let mut paths = serde_json::Map::new();
    let prefix =
        if group.is_empty() { format!("/api/{version}") } else { format!("/apis/{group}/{version}") };
    for d in c.registry.all().filter(|d| d.group == group && d.version == version) {
        let path = if d.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", d.plural)
        } else {
            format!("{prefix}/{}/{{name}}", d.plural)
        };
        let content: serde_json::Map<String, Value> =
            ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
                .iter()
                .map(|t| ((*t).to_owned(), json!({"schema": {"type": "object"}})))
                .collect();
        paths.insert(
            path,
            json!({"patch": {
                "operationId": format!("patch{}", d.kind),
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {"group": d.group, "version": d.version, "kind": d.kind},
                "parameters": [
                    {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                    {"name": "force", "in": "query", "schema": {"type": "boolean"}}
                ],
                "requestBody": {"content": content},
                "responses": {"200": {"description": "OK"}}
            }}),
        );
    }
    json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.33.0"}, "paths": paths,
        "components": {"schemas": {}}})
}

/// The resource a request path names.
fn target(c: &Cluster, req: &Req) -> Result<Target, Failure> {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(Failure::no_route()),
    };
    resolve(c, group, version, rest).ok_or_else(Failure::no_route)
}

impl Target {
    /// The object as stored (core events for `events.k8s.io` ones).
    fn stored(&self, v: Value) -> Value {
        if self.def.core_stored { crate::convert::event_to_core(&v) } else { v }
    }
}

/// A resource request: what, where, which object and subresource.
#[derive(Clone, Debug)]
struct Target {
    def: ResourceDef,
    namespace: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

impl Target {
    fn key(&self, name: &str) -> ObjectKey {
        ObjectKey {
            group: self.def.stored_group().to_owned(),
            kind: self.def.kind.clone(),
            namespace: if self.def.namespaced {
                self.namespace.clone().unwrap_or_default()
            } else {
                String::new()
            },
            name: name.to_owned(),
        }
    }

    /// True when a stored object is in this request's scope (namespace).
    fn in_scope(&self, key: &ObjectKey) -> bool {
        !self.def.namespaced || self.namespace.as_ref().is_none_or(|ns| *ns == key.namespace)
    }

    /// The object as served at the requested version.
    fn out(&self, v: &Value) -> Value {
        let mut v = if self.def.core_stored { crate::convert::event_from_core(v) } else { v.clone() };
        if let Some(o) = v.as_object_mut() {
            o.insert("apiVersion".into(), json!(self.def.group_version()));
            o.insert("kind".into(), json!(self.def.kind));
        }
        v
    }
}

fn resolve(c: &Cluster, group: &str, version: &str, rest: &[&str]) -> Option<Target> {
    let owned = |s: Option<&&str>| s.map(|s| (*s).to_owned());
    if let ["namespaces", ns, plural, tail @ ..] = rest
        && let Some(def) = c.registry.find(group, version, plural).filter(|d| d.namespaced)
    {
        if tail.len() > 2 {
            return None;
        }
        return Some(Target {
            def: def.clone(),
            namespace: Some((*ns).to_owned()),
            name: owned(tail.first()),
            sub: owned(tail.get(1)),
        });
    }
    let [plural, tail @ ..] = rest else { return None };
    if tail.len() > 2 {
        return None;
    }
    let def = c.registry.find(group, version, plural)?;
    Some(Target { def: def.clone(), namespace: None, name: owned(tail.first()), sub: owned(tail.get(1)) })
}

type Reply = Result<(u16, Value), Failure>;

struct Filter {
    labels: Option<LabelSelector>,
    fields: Vec<FieldTerm>,
}

impl Filter {
    fn of(req: &Req) -> Result<Self, Failure> {
        let labels = match req.query.get("labelSelector").filter(|s| !s.trim().is_empty()) {
            Some(s) => Some(parse_label_selector(s).map_err(|e| Failure::bad_request(e.to_string()))?),
            None => None,
        };
        let fields = match req.query.get("fieldSelector") {
            Some(s) => parse_field_selector(s).map_err(|e| Failure::bad_request(e.to_string()))?,
            None => Vec::new(),
        };
        Ok(Self { labels, fields })
    }

    fn matches(&self, v: &Value) -> bool {
        self.labels.as_ref().is_none_or(|s| labels_match(s, v)) && fields_match(&self.fields, v)
    }
}

fn list(c: &mut Cluster, t: &Target, req: &Req) -> Reply {
    let filter = Filter::of(req)?;
    let items: Vec<Value> = c
        .store()
        .list(t.def.stored_group(), &t.def.kind)
        .filter(|(k, v)| t.in_scope(k) && filter.matches(v))
        .map(|(_, v)| t.out(v))
        .collect();
    if let Some(full) = req.table() {
        return Ok((200, crate::table::table(c, &t.def, &items, c.now(), full, c.resource_version())));
    }
    Ok((
        200,
        json!({"kind": format!("{}List", t.def.kind), "apiVersion": t.def.group_version(),
            "metadata": {"resourceVersion": c.resource_version().to_string()}, "items": items}),
    ))
}

fn scale_of(t: &Target, obj: &Value) -> Result<Value, Failure> {
    let Some(paths) = &t.def.scale else { return Err(Failure::no_route()) };
    let ptr = |p: &str| p.replace('.', "/");
    let mut status =
        json!({"replicas": obj.pointer(&ptr(&paths.status_replicas)).cloned().unwrap_or(json!(0))});
    if let Some(sel) = paths.label_selector.as_ref().and_then(|p| obj.pointer(&ptr(p))) {
        status["selector"] = sel.clone();
    }
    let meta = obj.get("metadata").cloned().unwrap_or_default();
    let keep: serde_json::Map<String, Value> =
        ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"]
            .iter()
            .filter_map(|f| meta.get(*f).map(|v| ((*f).to_owned(), v.clone())))
            .collect();
    Ok(json!({"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": keep,
        "spec": {"replicas": obj.pointer(&ptr(&paths.spec_replicas)).cloned().unwrap_or(json!(0))}, "status": status}))
}

fn check_sub(t: &Target, sub: Option<&str>) -> Result<Subresource, Failure> {
    match sub {
        None => Ok(Subresource::Main),
        Some("status") if t.def.status => Ok(Subresource::Status),
        Some("resize") if t.def.resize => Ok(Subresource::Resize),
        Some("scale") if t.def.scale.is_some() => Ok(Subresource::Main),
        Some(_) => Err(Failure::no_route()),
    }
}

fn get_table(c: &mut Cluster, t: &Target, name: &str, req: &Req) -> Reply {
    let obj = c.store().get(&t.key(name)).ok_or_else(|| Failure::not_found(&t.def, name))?;
    let full = req.table().unwrap_or(false);
    Ok((200, crate::table::table(c, &t.def, &[t.out(obj)], c.now(), full, c.resource_version())))
}

fn get(c: &mut Cluster, t: &Target, name: &str, sub: Option<&str>) -> Reply {
    check_sub(t, sub)?;
    let obj = c.store().get(&t.key(name)).ok_or_else(|| Failure::not_found(&t.def, name))?;
    if sub == Some("scale") {
        return Ok((200, scale_of(t, obj)?));
    }
    Ok((200, t.out(obj)))
}

/// The object for a create or update from `req`'s body: kind checked, name and namespace
/// from the URL.
fn incoming(t: &Target, req: &Req, name: Option<&str>) -> Result<Value, Failure> {
    let mut obj = req.json()?;
    if !obj.is_object() {
        return Err(Failure::bad_request("the request body is not a JSON object"));
    }
    if let Some(k) = str_at(&obj, &["kind"])
        && k != t.def.kind
    {
        return Err(Failure::bad_request(format!(
            "the kind of the object ({k}) does not match the kind on the URL ({})",
            t.def.kind
        )));
    }
    obj["apiVersion"] = json!(t.def.group_version());
    obj["kind"] = json!(t.def.kind);
    if let Some(name) = name {
        match str_at(&obj, &["metadata", "name"]) {
            Some(n) if n != name => {
                return Err(Failure::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )));
            }
            _ => set_path(&mut obj, &["metadata", "name"], json!(name)),
        }
    }
    if t.def.namespaced {
        let ns = t.namespace.clone().ok_or_else(Failure::no_route)?;
        match str_at(&obj, &["metadata", "namespace"]) {
            Some(n) if !n.is_empty() && n != ns => {
                return Err(Failure::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => set_path(&mut obj, &["metadata", "namespace"], json!(ns)),
        }
    } else if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("namespace");
    }
    Ok(obj)
}

fn dry_run(req: &Req) -> Result<(), Failure> {
    match req.query.get("dryRun") {
        Some(_) => Err(Failure::bad_request("dryRun is not supported by kruise serve")),
        None => Ok(()),
    }
}

fn validate_name(t: &Target, obj: &Value) -> Result<(), Failure> {
    let name = str_at(obj, &["metadata", "name"]).unwrap_or_default();
    let generate = str_at(obj, &["metadata", "generateName"]).unwrap_or_default();
    if name.is_empty() && generate.is_empty() {
        return Err(Failure::invalid(
            &t.def,
            "",
            "metadata.name: Required value: name or generateName is required",
        ));
    }
    let bad = |n: &str| n.len() > 253 || n.contains(['/', '%']) || n == "." || n == "..";
    if bad(name) || bad(generate) {
        return Err(Failure::invalid(
            &t.def,
            name,
            &format!("metadata.name: Invalid value: {name:?}: may not contain '/' or '%'"),
        ));
    }
    Ok(())
}

/// CRD writes also change what is served.
fn crd_hook(c: &mut Cluster, t: &Target, obj: &mut Value) -> Result<(), Failure> {
    if t.def.group == "apiextensions.k8s.io" && t.def.kind == "CustomResourceDefinition" {
        let name = str_at(obj, &["metadata", "name"]).unwrap_or_default().to_owned();
        c.registry.add_crd(obj).map_err(|e| Failure::invalid(&t.def, &name, &e.to_string()))?;
        established_at(obj, c.clock_time());
    }
    Ok(())
}

/// Objects are created only in namespaces that exist (404 otherwise, as upstream).
fn namespace_exists(c: &Cluster, t: &Target) -> Result<(), Failure> {
    let Some(ns) = t.namespace.as_deref().filter(|_| t.def.namespaced) else { return Ok(()) };
    let key = ObjectKey::new("v1", "Namespace", "", ns);
    match c.store().get(&key) {
        Some(n) if n.pointer("/metadata/deletionTimestamp").is_none() => Ok(()),
        _ => match c.registry.find("", "v1", "namespaces") {
            Some(def) => Err(Failure::not_found(def, ns)),
            None => Err(Failure::no_route()),
        },
    }
}

fn create(c: &mut Cluster, t: &Target, req: &Req) -> Reply {
    dry_run(req)?;
    let mut obj = t.stored(incoming(t, req, None)?);
    validate_name(t, &obj)?;
    if t.def.status
        && (t.def.custom || t.def.kind == "Pod")
        && let Some(o) = obj.as_object_mut()
    {
        o.remove("status");
    }
    let name = str_at(&obj, &["metadata", "name"]).unwrap_or_default().to_owned();
    namespace_exists(c, t)?;
    if c.store().get(&t.key(&name)).is_some() && !name.is_empty() {
        return Err(Failure::already_exists(&t.def, &name));
    }
    crd_hook(c, t, &mut obj)?;
    let res = c.write(|s, now| s.create(obj, now));
    let out = match res {
        Ok(ok) => c
            .store()
            .get(&t.key(&ok.name))
            .map(|v| t.out(v))
            .ok_or_else(|| Failure::internal("created object vanished")),
        Err(e) => Err(Failure::from_store(&t.def, &name, &e)),
    };
    out.map(|v| (201, v))
}

fn finish(
    c: &mut Cluster,
    t: &Target,
    name: &str,
    sub: Option<&str>,
    res: Result<kruise_sim::store::WriteOk, kruise_sim::store::ApiError>,
) -> Reply {
    let out = match res {
        Ok(_) => match c.store().get(&t.key(name)) {
            Some(v) if sub == Some("scale") => scale_of(t, v),
            Some(v) => Ok(t.out(v)),
            None => Err(Failure::not_found(&t.def, name)),
        },
        Err(e) => Err(Failure::from_store(&t.def, name, &e)),
    };
    out.map(|v| (200, v))
}

fn update(c: &mut Cluster, t: &Target, name: &str, sub: Option<&str>, req: &Req) -> Reply {
    dry_run(req)?;
    let subresource = check_sub(t, sub)?;
    if sub == Some("scale") {
        let scale = req.json()?;
        return write_scale(c, t, name, &scale);
    }
    let mut obj = t.stored(incoming(t, req, Some(name))?);
    if c.store().get(&t.key(name)).is_none() {
        return Err(Failure::not_found(&t.def, name));
    }
    if subresource == Subresource::Main {
        crd_hook(c, t, &mut obj)?;
    }
    let key = t.key(name);
    let res = c.write(|s, _| s.replace(&key, subresource, &obj));
    finish(c, t, name, sub, res)
}

fn write_scale(c: &mut Cluster, t: &Target, name: &str, scale: &Value) -> Reply {
    let Some(paths) = t.def.scale.clone() else { return Err(Failure::no_route()) };
    let Some(replicas) = scale.pointer("/spec/replicas").and_then(Value::as_i64) else {
        return Err(Failure::invalid(&t.def, name, "spec.replicas: Required value"));
    };
    if replicas < 0 {
        return Err(Failure::invalid(
            &t.def,
            name,
            &format!("spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0"),
        ));
    }
    let mut patch = json!({});
    let fields: Vec<&str> = paths.spec_replicas.trim_start_matches('.').split('.').collect();
    set_path(&mut patch, &fields, json!(replicas));
    if let Some(rv) = str_at(scale, &["metadata", "resourceVersion"]) {
        set_path(&mut patch, &["metadata", "resourceVersion"], json!(rv));
    }
    let key = t.key(name);
    let res = c.write(|s, _| s.merge_patch(&key, Subresource::Main, &patch));
    finish(c, t, name, Some("scale"), res)
}

fn patch_error(e: PatchError) -> Failure {
    match e {
        PatchError::Malformed(m) => Failure::bad_request(m),
        PatchError::Unprocessable(m) => Failure::unprocessable(m),
    }
}

fn patch_object(c: &mut Cluster, t: &Target, name: &str, sub: Option<&str>, req: &Req) -> Reply {
    dry_run(req)?;
    let subresource = check_sub(t, sub)?;
    let kind = req.content_type.as_str();
    let patch = req.json()?;
    let key = t.key(name);
    if sub == Some("scale") {
        let current = {
            c.advance();
            let obj = c.store().get(&key).ok_or_else(|| Failure::not_found(&t.def, name))?;
            scale_of(t, obj)?
        };
        let scale = match kind {
            "application/json-patch+json" => patch::json_patch(&current, &patch).map_err(patch_error)?,
            _ => {
                let mut s = current;
                kruise_api::merge_patch::apply(&mut s, &patch);
                s
            }
        };
        return write_scale(c, t, name, &scale);
    }
    let current = c.store().get(&key).map(|v| if t.def.core_stored { t.out(v) } else { v.clone() });
    let res = match kind {
        "application/merge-patch+json" => {
            if !patch.is_object() {
                return Err(Failure::bad_request("a JSON merge patch must be an object"));
            }
            let Some(current) = current else { return Err(Failure::not_found(&t.def, name)) };
            if t.def.core_stored {
                let mut new = current;
                kruise_api::merge_patch::apply(&mut new, &patch);
                let new = t.stored(new);
                c.write(|s, _| s.replace(&key, subresource, &new))
            } else {
                c.write(|s, _| s.merge_patch(&key, subresource, &patch))
            }
        }
        "application/json-patch+json" | "application/strategic-merge-patch+json" => {
            let current = current.ok_or_else(|| Failure::not_found(&t.def, name))?;
            let mut new = if kind == "application/json-patch+json" {
                patch::json_patch(&current, &patch).map_err(patch_error)?
            } else {
                if !t.def.strategic {
                    return Err(Failure::unsupported_media(kind));
                }
                patch::strategic_merge(&current, &patch).map_err(patch_error)?
            };
            if subresource == Subresource::Main {
                crd_hook(c, t, &mut new)?;
            }
            let new = t.stored(new);
            c.write(|s, _| s.replace(&key, subresource, &new))
        }
        "application/apply-patch+yaml" => {
            let Some(manager) = req.query.get("fieldManager").filter(|m| !m.is_empty()).cloned() else {
                return Err(Failure::unprocessable(
                    "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                ));
            };
            let mut applied = patch;
            if let Some(k) = str_at(&applied, &["kind"])
                && k != t.def.kind
            {
                return Err(Failure::bad_request(format!(
                    "the kind of the object ({k}) does not match the kind on the URL ({})",
                    t.def.kind
                )));
            }
            set_path(&mut applied, &["metadata", "name"], json!(name));
            if t.def.namespaced {
                set_path(
                    &mut applied,
                    &["metadata", "namespace"],
                    json!(t.namespace.clone().unwrap_or_default()),
                );
            }
            applied["apiVersion"] = json!(t.def.group_version());
            applied["kind"] = json!(t.def.kind);
            match current {
                None => {
                    if subresource != Subresource::Main {
                        return Err(Failure::not_found(&t.def, name));
                    }
                    namespace_exists(c, t)?;
                    let mut obj = applied.clone();
                    if t.def.status
                        && let Some(o) = obj.as_object_mut()
                    {
                        o.remove("status");
                    }
                    crd_hook(c, t, &mut obj)?;
                    let obj = t.stored(obj);
                    let res = c.write(|s, now| s.create(obj, now));
                    if let Ok(ok) = &res {
                        c.set_applied(&ok.uid, &manager, applied);
                    }
                    return finish(c, t, name, sub, res).map(|(_, v)| (201, v));
                }
                Some(current) => {
                    let uid = str_at(&current, &["metadata", "uid"]).unwrap_or_default().to_owned();
                    let mut new = patch::apply(&current, c.applied(&uid, &manager), &applied);
                    if subresource == Subresource::Status {
                        let mut whole = current.clone();
                        set_path(
                            &mut whole,
                            &["status"],
                            applied.get("status").cloned().unwrap_or(json!({})),
                        );
                        new = whole;
                    }
                    if let Some(rv) = str_at(&applied, &["metadata", "resourceVersion"]) {
                        set_path(&mut new, &["metadata", "resourceVersion"], json!(rv));
                    }
                    if subresource == Subresource::Main {
                        crd_hook(c, t, &mut new)?;
                    }
                    let new = t.stored(new);
                    let res = c.write(|s, _| s.replace(&key, subresource, &new));
                    if res.is_ok() {
                        c.set_applied(&uid, &manager, applied);
                    }
                    res
                }
            }
        }
        other => return Err(Failure::unsupported_media(other)),
    };
    finish(c, t, name, sub, res)
}

fn delete(c: &mut Cluster, t: &Target, name: &str, req: &Req) -> Reply {
    dry_run(req)?;
    let opts = if req.body.iter().all(u8::is_ascii_whitespace) { json!({}) } else { req.json()? };
    let grace = opts
        .get("gracePeriodSeconds")
        .and_then(Value::as_i64)
        .or_else(|| req.query.get("gracePeriodSeconds").and_then(|g| g.parse().ok()));
    let key = t.key(name);
    let current = c.store().get(&key).cloned().ok_or_else(|| Failure::not_found(&t.def, name))?;
    let have_rv = str_at(&current, &["metadata", "resourceVersion"]).unwrap_or_default();
    if let Some(rv) = opts.pointer("/preconditions/resourceVersion").and_then(Value::as_str)
        && rv != have_rv
    {
        return Err(Failure::conflict(
            &t.def,
            name,
            &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {have_rv}"
            ),
        ));
    }
    let uid = opts.pointer("/preconditions/uid").and_then(Value::as_str).map(str::to_owned);
    let finalizers =
        current.pointer("/metadata/finalizers").and_then(Value::as_array).is_some_and(|f| !f.is_empty());
    let res = c.write(|s, now| {
        let res = s.delete(&key, uid.as_deref(), now);
        if res.is_ok() && grace == Some(0) && !finalizers {
            s.remove(&key);
        }
        res
    });
    if let Err(e) = res {
        return Err(Failure::from_store(&t.def, name, &e));
    }
    if t.def.group.is_empty() && t.def.kind == "Namespace" && c.store().get(&key).is_none() {
        // Everything in a deleted namespace goes with it.
        let kinds: std::collections::BTreeSet<(String, String)> =
            c.registry.all().filter(|d| d.namespaced).map(|d| (d.group.clone(), d.kind.clone())).collect();
        let inside: Vec<ObjectKey> = kinds
            .iter()
            .flat_map(|(g, k)| {
                c.store().list(g, k).filter(|(key, _)| key.namespace == name).map(|(key, _)| key.clone())
            })
            .collect();
        c.write(|s, now| {
            for k in &inside {
                let _ = s.delete(k, None, now);
            }
        });
    }
    if t.def.group == "apiextensions.k8s.io"
        && t.def.kind == "CustomResourceDefinition"
        && c.store().get(&key).is_none()
    {
        c.registry.remove_crd(&current);
        let group = current.pointer("/spec/group").and_then(Value::as_str).unwrap_or_default().to_owned();
        let kind = current.pointer("/spec/names/kind").and_then(Value::as_str).unwrap_or_default().to_owned();
        let instances: Vec<ObjectKey> = c.store().list(&group, &kind).map(|(k, _)| k.clone()).collect();
        c.write(|s, _| {
            for k in &instances {
                s.remove(k);
            }
        });
    }
    let out = c.store().get(&key).map_or_else(|| t.out(&current), |v| t.out(v));
    Ok((200, out))
}

fn delete_collection(c: &mut Cluster, t: &Target, req: &Req) -> Reply {
    dry_run(req)?;
    let filter = Filter::of(req)?;
    let keys: Vec<ObjectKey> = c
        .store()
        .list(t.def.stored_group(), &t.def.kind)
        .filter(|(k, v)| t.in_scope(k) && filter.matches(v))
        .map(|(k, _)| k.clone())
        .collect();
    let mut items = Vec::new();
    for key in keys {
        let before = c.store().get(&key).cloned();
        if c.write(|s, now| s.delete(&key, None, now)).is_ok()
            && let Some(b) = before
        {
            items.push(t.out(c.store().get(&key).unwrap_or(&b)));
        }
    }
    let rv = c.resource_version();
    Ok((
        200,
        json!({"kind": format!("{}List", t.def.kind), "apiVersion": t.def.group_version(),
        "metadata": {"resourceVersion": rv.to_string()}, "items": items}),
    ))
}

/// One watch connection's position and filter.
struct Watch {
    shared: Arc<Shared>,
    target: Arc<Target>,
    filter: Arc<Filter>,
    cursor: u64,
    pending: std::collections::VecDeque<Bytes>,
    rx: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
    deadline: tokio::time::Instant,
    bookmarks: bool,
    table: Option<bool>,
    done: bool,
}

/// One watch event line; as a one-row `Table` when the client asked for tables.
fn event(c: &Cluster, t: &Target, kind: &str, obj: &Value, table: Option<bool>) -> Bytes {
    let obj = t.out(obj);
    match table {
        Some(full) => {
            line(kind, &crate::table::table(c, &t.def, &[obj], c.now(), full, c.resource_version()))
        }
        None => line(kind, &obj),
    }
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut v = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    v.push(b'\n');
    Bytes::from(v)
}

fn bookmark(t: &Target, rv: u64, initial_end: bool) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    line("BOOKMARK", &json!({"kind": t.def.kind, "apiVersion": t.def.group_version(), "metadata": meta}))
}

/// What a watch at `cursor` gets next: its events, the new cursor, and whether the watch
/// must end (its resourceVersion is older than the history kept: 410 Expired).
fn collect(
    c: &Cluster,
    t: &Target,
    filter: &Filter,
    cursor: u64,
    table: Option<bool>,
) -> (Vec<Bytes>, u64, bool) {
    if cursor < c.oldest_resource_version() {
        let f = Failure::expired(cursor, c.oldest_resource_version());
        return (vec![line("ERROR", &f.to_status())], cursor, true);
    }
    let def = &t.def;
    let mut out = Vec::new();
    for Entry { key, old, new, .. } in c.changes_since(cursor) {
        if key.group != def.stored_group() || key.kind != def.kind || !t.in_scope(key) {
            continue;
        }
        let was = old.as_deref().is_some_and(|o| filter.matches(o));
        let is = new.as_deref().is_some_and(|n| filter.matches(n));
        let ev = match (was, is, new) {
            (false, true, Some(n)) => Some(("ADDED", n)),
            (true, true, Some(n)) => Some(("MODIFIED", n)),
            (true, false, Some(n)) => Some(("DELETED", n)),
            (true, false, None) => old.as_ref().map(|o| ("DELETED", o)),
            _ => None,
        };
        if let Some((kind, obj)) = ev {
            out.push(event(c, t, kind, obj, table));
        }
    }
    (out, c.resource_version(), false)
}

impl Watch {
    async fn collect(&mut self) {
        let (t, f, cursor, table) = (self.target.clone(), self.filter.clone(), self.cursor, self.table);
        match self.shared.run(move |c| collect(c, &t, &f, cursor, table)).await {
            Ok((lines, cursor, done)) => {
                self.pending.extend(lines);
                self.cursor = cursor;
                self.done |= done;
            }
            Err(_) => self.done = true,
        }
    }

    async fn next(mut self) -> Option<(Result<Frame<Bytes>, Infallible>, Self)> {
        let every = self.shared.bookmark_every;
        loop {
            if let Some(b) = self.pending.pop_front() {
                return Some((Ok(Frame::data(b)), self));
            }
            if self.done || *self.shutdown.borrow() {
                return None;
            }
            self.rx.borrow_and_update();
            self.collect().await;
            if !self.pending.is_empty() || self.done {
                continue;
            }
            tokio::select! {
                changed = self.rx.changed() => if changed.is_err() { self.done = true },
                _ = tokio::time::sleep(every), if self.bookmarks => {
                    self.collect().await;
                    let b = bookmark(&self.target, self.cursor, false);
                    self.pending.push_back(b);
                }
                _ = tokio::time::sleep_until(self.deadline) => self.done = true,
                _ = self.shutdown.changed() => self.done = true,
            }
        }
    }
}

/// The start of a watch: the initial events (for `resourceVersion` unset or `0`, or
/// `sendInitialEvents`) and the cursor.
fn start_watch(c: &Cluster, t: &Target, filter: &Filter, req: &Req) -> Result<(Vec<Bytes>, u64), Failure> {
    let rv = req.query.get("resourceVersion").map(String::as_str).unwrap_or("");
    let initial = req.flag("sendInitialEvents");
    if rv.is_empty() || rv == "0" || initial {
        let mut out: Vec<Bytes> = c
            .store()
            .list(t.def.stored_group(), &t.def.kind)
            .filter(|(k, v)| t.in_scope(k) && filter.matches(v))
            .map(|(_, v)| event(c, t, "ADDED", v, req.table()))
            .collect();
        if initial && req.flag("allowWatchBookmarks") {
            out.push(bookmark(t, c.resource_version(), true));
        }
        return Ok((out, c.resource_version()));
    }
    let n = rv.parse::<u64>().map_err(|_| Failure::bad_request(format!("invalid resourceVersion {rv:?}")))?;
    Ok((Vec::new(), n))
}

async fn watch(shared: Arc<Shared>, req: Req) -> Response<Body> {
    let timeout = req.query.get("timeoutSeconds").and_then(|s| s.parse::<u64>().ok()).unwrap_or(1800);
    let bookmarks = req.flag("allowWatchBookmarks");
    let table = req.table();
    let started = shared
        .run(move |c| {
            let t = target(c, &req)?;
            if t.name.is_some() || t.sub.is_some() {
                return Err(Failure::method_not_allowed("WATCH"));
            }
            let filter = Filter::of(&req)?;
            let (initial, cursor) = start_watch(c, &t, &filter, &req)?;
            Ok((t, filter, initial, cursor))
        })
        .await;
    let (t, filter, initial, cursor) = match started {
        Ok(Ok(s)) => s,
        Ok(Err(f)) | Err(f) => return fail(&f),
    };
    let w = Watch {
        rx: shared.changed.subscribe(),
        shutdown: shared.shutdown.clone(),
        shared,
        target: Arc::new(t),
        filter: Arc::new(filter),
        cursor,
        pending: initial.into(),
        deadline: tokio::time::Instant::now() + Duration::from_secs(timeout),
        bookmarks,
        table,
        done: false,
    };
    let stream = futures::stream::unfold(w, Watch::next);
    let mut r = Response::new(StreamBody::new(stream).boxed_unsync());
    r.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
    r
}
