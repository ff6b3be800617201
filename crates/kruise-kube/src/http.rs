//! The operator's small HTTP server: `/healthz`, `/readyz` and `/metrics`, plus any route an
//! embedder adds with [`HttpServer::route`] (the seam a SidecarSet mutating admission webhook
//! will use: handlers receive the request head and the whole body).

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, request::Parts};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use crate::metrics::Metrics;

/// A boxed response future.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>;

/// A route handler: the request head and its body in, a response out.
pub type Handler = Arc<dyn Fn(Parts, Bytes) -> ResponseFuture + Send + Sync>;

/// Largest request body accepted (bytes); admission reviews are well below it.
pub const MAX_BODY: usize = 4 << 20;

/// Liveness and readiness flags the server reports.
#[derive(Debug, Default)]
pub struct Health {
    /// Caches synced and controllers running (or standing by for the lease).
    pub ready: AtomicBool,
}

/// Routes by exact path.
#[derive(Clone)]
pub struct HttpServer {
    routes: BTreeMap<String, Handler>,
}

impl std::fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServer").field("routes", &self.routes.keys()).finish()
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

impl HttpServer {
    /// A server with `/healthz`, `/readyz` (from `health`) and `/metrics` (from `metrics`).
    pub fn new(health: Arc<Health>, metrics: Arc<Metrics>) -> Self {
        let s = Self { routes: BTreeMap::new() };
        s.route("/healthz", |_, _| async { text(StatusCode::OK, "ok") })
            .route("/readyz", move |_, _| {
                let ready = health.ready.load(Ordering::Relaxed);
                async move {
                    if ready {
                        text(StatusCode::OK, "ok")
                    } else {
                        text(StatusCode::SERVICE_UNAVAILABLE, "caches not synced")
                    }
                }
            })
            .route("/metrics", move |_, _| {
                let body = metrics.render();
                async move {
                    let mut r = text(StatusCode::OK, body);
                    r.headers_mut().insert(
                        http::header::CONTENT_TYPE,
                        http::HeaderValue::from_static("text/plain; version=0.0.4"),
                    );
                    r
                }
            })
    }

    /// Adds (or replaces) the handler of `path`.
    pub fn route<F, Fut>(mut self, path: &str, handler: F) -> Self
    where
        F: Fn(Parts, Bytes) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
    {
        let h: Handler = Arc::new(move |parts, body| Box::pin(handler(parts, body)));
        self.routes.insert(path.to_owned(), h);
        self
    }

    /// Answers one request.
    pub async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = req.into_parts();
        let Some(h) = self.routes.get(parts.uri.path()).cloned() else {
            return text(StatusCode::NOT_FOUND, "not found");
        };
        if parts.method != Method::GET && parts.method != Method::POST {
            return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
        }
        let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return text(StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
        };
        h(parts, body).await
    }

    /// Serves on `addr` until `shutdown` completes.
    pub async fn serve(
        self,
        addr: SocketAddr,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!(%addr, "http server listening");
        self.serve_listener(listener, shutdown).await
    }

    /// Serves on an already bound `listener` until `shutdown` completes.
    pub async fn serve_listener(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let this = Arc::new(self);
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => accepted?,
                () = &mut shutdown => return Ok(()),
            };
            tokio::spawn(this.clone().serve_connection(stream));
        }
    }

    /// Serves HTTPS on an already bound `listener` until `shutdown` completes, with the
    /// certificate of `certs`, re-read every `reload_every` (a rotated Secret is picked up
    /// without a restart; a broken new pair is logged and the old one kept). This is how the
    /// admission webhooks are served ([`crate::webhook`]); a pod mutating webhook is one more
    /// [`HttpServer::route`] on the same server.
    pub async fn serve_tls(
        self,
        listener: tokio::net::TcpListener,
        certs: Arc<crate::tls::CertReloader>,
        reload_every: std::time::Duration,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let config = certs.server_config().map_err(std::io::Error::other)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let this = Arc::new(self);
        let mut shutdown = std::pin::pin!(shutdown);
        let mut reload = tokio::time::interval(reload_every);
        reload.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => accepted?,
                _ = reload.tick() => {
                    match certs.reload() {
                        Ok(true) => tracing::info!("webhook serving certificate reloaded"),
                        Ok(false) => {}
                        Err(e) => tracing::warn!(error = %e, "webhook serving certificate not reloaded"),
                    }
                    continue;
                }
                () = &mut shutdown => return Ok(()),
            };
            let (this, acceptor) = (this.clone(), acceptor.clone());
            tokio::spawn(async move {
                let handshake =
                    tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(stream));
                match handshake.await {
                    Ok(Ok(tls)) => this.serve_connection(tls).await,
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
            });
        }
    }

    async fn serve_connection<S>(self: Arc<Self>, io: S)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let svc = hyper::service::service_fn(move |req| {
            let this = self.clone();
            async move { Ok::<_, std::convert::Infallible>(this.handle(req).await) }
        });
        if let Err(e) =
            hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(io), svc).await
        {
            tracing::debug!(error = %e, "http connection ended");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn serves_health_readiness_metrics_and_extra_routes() {
        let health = Arc::new(Health::default());
        let metrics = Arc::new(Metrics::new());
        metrics.set_leader(true);
        let server = HttpServer::new(health.clone(), metrics).route("/mutate", |parts, body| async move {
            let mut r = text(StatusCode::OK, body);
            if parts.method != Method::POST {
                *r.status_mut() = StatusCode::BAD_REQUEST;
            }
            r
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.serve_listener(listener, async move {
            let _ = rx.await;
        }));

        assert!(request(addr, "GET", "/healthz", "").await.starts_with("HTTP/1.1 200"));
        assert!(request(addr, "GET", "/readyz", "").await.starts_with("HTTP/1.1 503"));
        health.ready.store(true, Ordering::Relaxed);
        assert!(request(addr, "GET", "/readyz", "").await.starts_with("HTTP/1.1 200"));
        let m = request(addr, "GET", "/metrics", "").await;
        assert!(m.contains("text/plain; version=0.0.4"), "{m}");
        assert!(m.contains("kruise_leader 1"), "{m}");
        assert!(request(addr, "GET", "/nope", "").await.starts_with("HTTP/1.1 404"));
        let echoed = request(addr, "POST", "/mutate", "{\"kind\":\"AdmissionReview\"}").await;
        assert!(
            echoed.starts_with("HTTP/1.1 200") && echoed.ends_with("{\"kind\":\"AdmissionReview\"}"),
            "{echoed}"
        );

        let _ = tx.send(());
        assert!(task.await.unwrap().is_ok());
    }
}
