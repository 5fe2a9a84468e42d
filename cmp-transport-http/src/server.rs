//! The HTTP(S) server half: serves any [`Responder`].

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cmp_core::transport::{PeerInfo, Responder};
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{ALLOW, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::client::CONTENT_TYPE_PKIXCMP;
use crate::tls::{TlsConfigError, TlsServerSettings};

/// Builds an [`HttpServer`].
#[derive(Debug)]
#[must_use]
pub struct HttpServerBuilder {
    path: Option<String>,
    max_request_size: usize,
    header_read_timeout: Duration,
    body_read_timeout: Duration,
    max_connections: usize,
    tls: Option<TlsServerSettings>,
}

impl HttpServerBuilder {
    /// Serve only this path (e.g. `/.well-known/cmp`); default: every path.
    pub fn path(mut self, path: &str) -> Self {
        self.path = Some(path.to_owned());
        self
    }

    /// Largest accepted request body; default 1 MiB (413 above it).
    pub fn max_request_size(mut self, bytes: usize) -> Self {
        self.max_request_size = bytes;
        self
    }

    /// Longest wait for a request's headers (slowloris); default 10 s.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Longest wait for a request's body; default 30 s (408 after it).
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Most connections served at once; more wait in the listen queue. Default 256.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Serve HTTPS with these settings.
    pub fn tls(mut self, tls: TlsServerSettings) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The server.
    pub fn build(self) -> Result<HttpServer, TlsConfigError> {
        let acceptor = match &self.tls {
            Some(t) => Some(tokio_rustls::TlsAcceptor::from(Arc::new(
                t.server_config()?,
            ))),
            None => None,
        };
        Ok(HttpServer {
            config: Arc::new(Config {
                path: self.path,
                max_request_size: self.max_request_size,
                header_read_timeout: self.header_read_timeout,
                body_read_timeout: self.body_read_timeout,
                max_connections: self.max_connections,
                acceptor,
            }),
        })
    }
}

struct Config {
    path: Option<String>,
    max_request_size: usize,
    header_read_timeout: Duration,
    body_read_timeout: Duration,
    max_connections: usize,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
}

/// CMP over HTTP(S), server side.
///
/// ```no_run
/// # async fn demo(responder: std::sync::Arc<dyn cmp_core::transport::Responder>) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let server = cmp_transport_http::HttpServer::builder().path("/pkix/").build().unwrap();
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// // … keep `stop`; sending on it (or dropping it) shuts the server down gracefully.
/// # drop(stop);
/// server.serve(listener, responder, async { let _ = stopped.await; }).await
/// # }
/// ```
#[derive(Clone)]
pub struct HttpServer {
    config: Arc<Config>,
}

impl std::fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServer")
            .field("path", &self.config.path)
            .field("tls", &self.config.acceptor.is_some())
            .finish_non_exhaustive()
    }
}

/// Serves `responder` on `listener` with the default settings until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    responder: Arc<dyn Responder>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    match HttpServer::builder().build() {
        Ok(server) => server.serve(listener, responder, shutdown).await,
        Err(e) => Err(std::io::Error::other(e.to_string())),
    }
}

impl HttpServer {
    /// A builder with the defaults.
    pub fn builder() -> HttpServerBuilder {
        HttpServerBuilder {
            path: None,
            max_request_size: 1 << 20,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 256,
            tls: None,
        }
    }

    /// Accepts connections until `shutdown` completes, then stops accepting, lets the
    /// connections finish the request in progress and returns.
    pub async fn serve(
        &self,
        listener: TcpListener,
        responder: Arc<dyn Responder>,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let permits = Arc::new(Semaphore::new(self.config.max_connections));
        let mut connections = JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let permit = tokio::select! {
                () = &mut shutdown => break,
                p = Arc::clone(&permits).acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let (tcp, addr) = tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    // Out of file descriptors and the like: back off briefly.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = tcp.set_nodelay(true);
            let config = Arc::clone(&self.config);
            let responder = Arc::clone(&responder);
            let stop = stop_rx.clone();
            connections.spawn(async move {
                let _permit = permit;
                serve_connection(config, responder, tcp, addr, stop).await;
            });
            // Reap finished connections so the set stays small.
            while connections.try_join_next().is_some() {}
        }
        let _ = stop_tx.send(true);
        while connections.join_next().await.is_some() {}
        Ok(())
    }
}

async fn serve_connection(
    config: Arc<Config>,
    responder: Arc<dyn Responder>,
    tcp: tokio::net::TcpStream,
    addr: SocketAddr,
    stop: watch::Receiver<bool>,
) {
    match &config.acceptor {
        None => {
            let peer = PeerInfo {
                addr: Some(addr),
                ..PeerInfo::default()
            };
            run_http(Arc::clone(&config), responder, tcp, peer, stop).await;
        }
        Some(acceptor) => {
            let handshake =
                tokio::time::timeout(config.header_read_timeout, acceptor.accept(tcp)).await;
            let Ok(Ok(tls)) = handshake else { return };
            let client_cert = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.to_vec());
            let peer = PeerInfo {
                addr: Some(addr),
                tls_client_certificate: client_cert,
                path: None,
            };
            run_http(Arc::clone(&config), responder, tls, peer, stop).await;
        }
    }
}

async fn run_http<I>(
    config: Arc<Config>,
    responder: Arc<dyn Responder>,
    io: I,
    peer: PeerInfo,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service_config = Arc::clone(&config);
    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
        let config = Arc::clone(&service_config);
        let responder = Arc::clone(&responder);
        let peer = peer.clone();
        async move {
            Ok::<_, std::convert::Infallible>(handle(&config, responder.as_ref(), req, peer).await)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(config.body_read_timeout, conn.as_mut()).await;
        }
    }
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn handle(
    config: &Config,
    responder: &dyn Responder,
    req: Request<hyper::body::Incoming>,
    mut peer: PeerInfo,
) -> Response<Full<Bytes>> {
    if req.method() != Method::POST {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "CMP requests are POSTed");
        r.headers_mut()
            .insert(ALLOW, hyper::header::HeaderValue::from_static("POST"));
        return r;
    }
    let path = req.uri().path().to_owned();
    if config.path.as_deref().is_some_and(|p| p != path) {
        return plain(StatusCode::NOT_FOUND, "no CMP service at this path");
    }
    let content_type = crate::headers::media_type(req.headers());
    if content_type.as_deref() != Some(CONTENT_TYPE_PKIXCMP) {
        return plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected Content-Type: application/pkixcmp",
        );
    }
    let declared = crate::headers::content_length(req.headers());
    if declared.is_some_and(|n| n > config.max_request_size as u64) {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "the request is too large");
    }
    let body = Limited::new(req.into_body(), config.max_request_size);
    let body = match tokio::time::timeout(config.body_read_timeout, body.collect()).await {
        Err(_) => {
            return plain(
                StatusCode::REQUEST_TIMEOUT,
                "the request body arrived too slowly",
            );
        }
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return plain(StatusCode::PAYLOAD_TOO_LARGE, "the request is too large");
        }
        Ok(Err(_)) => return plain(StatusCode::BAD_REQUEST, "the request body broke off"),
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    peer.path = Some(path);
    let answer = responder.respond(body.to_vec(), &peer).await;
    let mut r = Response::new(Full::new(Bytes::from(answer)));
    r.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(CONTENT_TYPE_PKIXCMP),
    );
    r
}
