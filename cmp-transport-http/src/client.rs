//! The HTTP(S) client half: a [`Transport`] that POSTs `application/pkixcmp`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cmp_core::transport::{Transport, TransportError};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, LOCATION};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::proxy::ProxySettings;
use crate::tls::{TlsClientSettings, TlsConfigError};
use crate::url::ServerUrl;

/// The media type of CMP messages (RFC 9811 §3.4).
pub const CONTENT_TYPE_PKIXCMP: &str = "application/pkixcmp";

/// Builds an [`HttpTransport`].
///
/// ```
/// use std::time::Duration;
/// use cmp_transport_http::HttpTransport;
/// let transport = HttpTransport::builder("http://127.0.0.1:8080/pkix/")
///     .message_timeout(Duration::from_secs(30))
///     .max_response_size(1 << 20)
///     .build()
///     .unwrap();
/// ```
#[derive(Debug)]
#[must_use]
pub struct HttpTransportBuilder {
    url: String,
    tls: Option<TlsClientSettings>,
    proxy: ProxyChoice,
    message_timeout: Duration,
    connect_timeout: Duration,
    max_response_size: usize,
    keep_alive: bool,
}

#[derive(Debug)]
enum ProxyChoice {
    FromEnv,
    Explicit(ProxySettings),
    Direct,
}

impl HttpTransportBuilder {
    /// TLS settings for an `https://` URL (required for it).
    pub fn tls(mut self, tls: TlsClientSettings) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Use this proxy (default: `http_proxy`/`https_proxy`/`no_proxy` from the environment).
    pub fn proxy(mut self, proxy: ProxySettings) -> Self {
        self.proxy = ProxyChoice::Explicit(proxy);
        self
    }

    /// Never use a proxy, whatever the environment says.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxyChoice::Direct;
        self
    }

    /// Longest wait for one exchange (connect, send, response, body); default 120 s.
    pub fn message_timeout(mut self, timeout: Duration) -> Self {
        self.message_timeout = timeout;
        self
    }

    /// Longest wait for the TCP connection (and TLS handshake); default 30 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Largest accepted response body; default 1 MiB.
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.max_response_size = bytes;
        self
    }

    /// Keep the connection open between exchanges (default `true`). With `false` every
    /// request says `Connection: close` and gets a connection of its own — for servers that
    /// serve one connection at a time, such as `openssl cmp -port`, under concurrent clients.
    pub fn keep_alive(mut self, keep_alive: bool) -> Self {
        self.keep_alive = keep_alive;
        self
    }

    /// The transport.
    pub fn build(self) -> Result<HttpTransport, TransportError> {
        let url = ServerUrl::parse(&self.url)?;
        let tls = match (url.tls, self.tls) {
            (false, _) => None,
            (true, None) => {
                return Err(TransportError::InvalidUrl {
                    url: self.url,
                    reason: "https needs TLS settings (trust anchors for the server)".into(),
                });
            }
            (true, Some(settings)) => {
                let config =
                    settings
                        .client_config()
                        .map_err(|e: TlsConfigError| TransportError::Tls {
                            target: url.authority(),
                            reason: e.to_string(),
                        })?;
                let name = settings
                    .server_name
                    .clone()
                    .unwrap_or_else(|| url.host.clone());
                let server_name =
                    ServerName::try_from(name.clone()).map_err(|_| TransportError::InvalidUrl {
                        url: self.url.clone(),
                        reason: format!("{name:?} is not a valid TLS server name"),
                    })?;
                Some(TlsClient {
                    connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
                    server_name,
                })
            }
        };
        let proxy = match self.proxy {
            ProxyChoice::FromEnv => ProxySettings::from_env(&url)?,
            ProxyChoice::Explicit(p) => p.applies_to(&url).then_some(p),
            ProxyChoice::Direct => None,
        };
        Ok(HttpTransport {
            inner: Arc::new(Inner {
                url,
                tls,
                proxy,
                message_timeout: self.message_timeout,
                connect_timeout: self.connect_timeout,
                max_response_size: self.max_response_size,
                keep_alive: self.keep_alive,
                idle: Mutex::new(None),
            }),
        })
    }
}

struct TlsClient {
    connector: tokio_rustls::TlsConnector,
    server_name: ServerName<'static>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Inner {
    url: ServerUrl,
    tls: Option<TlsClient>,
    proxy: Option<ProxySettings>,
    message_timeout: Duration,
    connect_timeout: Duration,
    max_response_size: usize,
    keep_alive: bool,
    idle: Mutex<Option<SendRequest<Full<Bytes>>>>,
}

/// CMP over HTTP(S) (RFC 9811): POSTs each request to the server URL and hands the response
/// up. Keeps one connection alive between the messages of a transaction and closes it when the
/// transaction ends ([`Transport::end_transaction`], as OpenSSL's client does); a connection
/// the server closed is replaced before the next request, and a request that may already have
/// been written is never sent again.
#[derive(Clone, Debug)]
pub struct HttpTransport {
    inner: Arc<Inner>,
}

impl HttpTransport {
    /// A builder for `url` (`http://host:port/path` or `https://…`; the path is kept exactly).
    pub fn builder(url: &str) -> HttpTransportBuilder {
        HttpTransportBuilder {
            url: url.to_owned(),
            tls: None,
            proxy: ProxyChoice::FromEnv,
            message_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(30),
            max_response_size: 1 << 20,
            keep_alive: true,
        }
    }

    /// The server URL.
    pub fn url(&self) -> String {
        self.inner.url.to_url()
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

fn io_error(target: &str, e: &std::io::Error) -> TransportError {
    TransportError::Connect {
        target: target.to_owned(),
        reason: e.to_string(),
    }
}

impl Inner {
    fn target(&self) -> String {
        self.url.authority()
    }

    /// Opens a connection (through the proxy if any, with TLS for https) and hands back the
    /// request sender; the connection is driven by a spawned task.
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, TransportError> {
        let what = format!("connecting to {}", self.target());
        let io = tokio::time::timeout(self.connect_timeout, self.open_stream())
            .await
            .map_err(|_| TransportError::Timeout {
                what,
                millis: self.connect_timeout.as_millis() as u64,
            })??;
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(io))
            .await
            .map_err(|e| {
                TransportError::Protocol(format!("HTTP handshake with {}: {e}", self.target()))
            })?;
        tokio::spawn(async move {
            // Errors surface through the sender; the task only drives the connection.
            let _ = conn.await;
        });
        Ok(sender)
    }

    async fn open_stream(&self) -> Result<Box<dyn Io>, TransportError> {
        let (host, port) = match &self.proxy {
            Some(p) => (p.proxy.host.clone(), p.proxy.port),
            None => (self.url.host.clone(), self.url.port),
        };
        let dial = cmp_core::transport::join_authority(&host, port);
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| io_error(&dial, &e))?;
        // Each request goes out in one write; no delayed-ACK stall between messages.
        tcp.set_nodelay(true).map_err(|e| io_error(&dial, &e))?;
        let mut stream: Box<dyn Io> = Box::new(tcp);
        if self.proxy.is_some() && self.tls.is_some() {
            stream = self.connect_tunnel(stream, &dial).await?;
        }
        match &self.tls {
            None => Ok(stream),
            Some(tls) => {
                let tls_stream = tls
                    .connector
                    .connect(tls.server_name.clone(), stream)
                    .await
                    .map_err(|e| TransportError::Tls {
                        target: self.target(),
                        reason: describe_tls(&e),
                    })?;
                Ok(Box::new(tls_stream))
            }
        }
    }

    /// `CONNECT host:port` through the proxy, for https.
    async fn connect_tunnel(
        &self,
        mut stream: Box<dyn Io>,
        proxy: &str,
    ) -> Result<Box<dyn Io>, TransportError> {
        let target = self.target();
        let req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n");
        stream
            .write_all(req.as_bytes())
            .await
            .map_err(|e| io_error(proxy, &e))?;
        // Read the proxy's answer up to the blank line, bounded.
        let mut head = Vec::with_capacity(256);
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if head.len() > 8192 {
                return Err(TransportError::Protocol(format!(
                    "the proxy {proxy} sent an over-long answer to CONNECT"
                )));
            }
            let n = stream
                .read(&mut byte)
                .await
                .map_err(|e| io_error(proxy, &e))?;
            if n == 0 {
                return Err(TransportError::Connect {
                    target: target.clone(),
                    reason: format!("the proxy {proxy} closed the connection during CONNECT"),
                });
            }
            head.push(byte[0]);
        }
        let status_line =
            String::from_utf8_lossy(head.split(|b| *b == b'\r').next().unwrap_or_default())
                .into_owned();
        let ok = status_line
            .split_whitespace()
            .nth(1)
            .is_some_and(|code| code.starts_with('2'));
        if !ok {
            return Err(TransportError::Connect {
                target,
                reason: format!("the proxy {proxy} refused CONNECT: {status_line}"),
            });
        }
        Ok(stream)
    }

    fn request(&self, body: &[u8]) -> Result<Request<Full<Bytes>>, TransportError> {
        let uri = match (&self.proxy, &self.tls) {
            // A plain-HTTP proxy wants the absolute form.
            (Some(_), None) => self.url.to_url(),
            _ => self.url.path.clone(),
        };
        let mut builder = Request::post(uri)
            .header(HOST, self.url.authority())
            .header(CONTENT_TYPE, CONTENT_TYPE_PKIXCMP)
            .header(CONTENT_LENGTH, body.len());
        if !self.keep_alive {
            builder = builder.header(CONNECTION, "close");
        }
        builder
            .body(Full::new(Bytes::copy_from_slice(body)))
            .map_err(|e| TransportError::Protocol(format!("cannot build the HTTP request: {e}")))
    }

    /// A kept-alive connection that is still usable, if any.
    async fn take_idle(&self) -> Option<SendRequest<Full<Bytes>>> {
        let mut sender = self.idle.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        if sender.is_closed() {
            return None;
        }
        // `ready` fails when the server has closed it; nothing was sent on it yet.
        sender.ready().await.ok().map(|()| sender)
    }

    async fn exchange(&self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut sender = match self.take_idle().await {
            Some(s) => s,
            None => self.connect().await?,
        };
        let response = match sender.send_request(self.request(request)?).await {
            Ok(r) => r,
            // The connection went away before the request was written: safe to send it on
            // a new one, once.
            Err(e) if e.is_canceled() => {
                sender = self.connect().await?;
                sender
                    .send_request(self.request(request)?)
                    .await
                    .map_err(|e| self.hyper_error(&e))?
            }
            Err(e) => return Err(self.hyper_error(&e)),
        };
        let keep_alive = !response
            .headers()
            .get(CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let body = self.read_response(response).await?;
        if keep_alive && self.keep_alive && !sender.is_closed() {
            *self.idle.lock().unwrap_or_else(|p| p.into_inner()) = Some(sender);
        }
        Ok(body)
    }

    fn hyper_error(&self, e: &hyper::Error) -> TransportError {
        if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
            TransportError::Protocol(format!(
                "{} closed the connection before a complete response (the request may have been processed; it is not sent again)",
                self.target()
            ))
        } else {
            TransportError::Protocol(format!("HTTP exchange with {}: {e}", self.target()))
        }
    }

    async fn read_response(
        &self,
        response: Response<hyper::body::Incoming>,
    ) -> Result<Vec<u8>, TransportError> {
        let status = response.status();
        let content_type = crate::headers::media_type(response.headers());
        let is_cmp = content_type
            .as_deref()
            .is_some_and(|t| t == CONTENT_TYPE_PKIXCMP || t == "application/pkixcmp-poll");
        if is_cmp {
            // A CMP message, whatever the status: servers send error messages with 4xx/5xx.
            return self.read_body(response, self.max_response_size).await;
        }
        if status.is_redirection() {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("(no Location header)")
                .to_owned();
            return Err(TransportError::Redirect {
                status: status.as_u16(),
                location,
            });
        }
        if status != StatusCode::OK {
            let is_text = content_type
                .as_deref()
                .is_some_and(|t| t.starts_with("text/"));
            let body_start = if is_text {
                let bytes = self.read_body_prefix(response, 4096).await;
                Some(text_prefix(&bytes))
            } else {
                None
            };
            return Err(TransportError::HttpStatus {
                status: status.as_u16(),
                body_start,
            });
        }
        Err(TransportError::ContentType {
            content_type: content_type.unwrap_or_else(|| "(none)".into()),
        })
    }

    async fn read_body(
        &self,
        response: Response<hyper::body::Incoming>,
        limit: usize,
    ) -> Result<Vec<u8>, TransportError> {
        let declared = crate::headers::content_length(response.headers());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(TransportError::TooLarge { limit });
        }
        match Limited::new(response.into_body(), limit).collect().await {
            Ok(collected) => Ok(collected.to_bytes().to_vec()),
            Err(e)
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                Err(TransportError::TooLarge { limit })
            }
            Err(e) => Err(TransportError::Protocol(format!(
                "the response body from {} broke off: {e}",
                self.target()
            ))),
        }
    }

    /// Up to `limit` bytes of a body that is only shown to a person.
    async fn read_body_prefix(
        &self,
        response: Response<hyper::body::Incoming>,
        limit: usize,
    ) -> Vec<u8> {
        let mut body = response.into_body();
        let mut out = Vec::new();
        while out.len() < limit {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        out.extend_from_slice(data);
                    }
                }
                _ => break,
            }
        }
        out.truncate(limit);
        out
    }
}

/// The first 200 characters of a text body with HTML tags and runs of white space removed.
fn text_prefix(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let folded = out.split_whitespace().collect::<Vec<_>>().join(" ");
    folded.chars().take(200).collect()
}

fn describe_tls(e: &std::io::Error) -> String {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(cert)) => match cert {
            rustls::CertificateError::UnknownIssuer => {
                "the server certificate is not trusted (unknown issuer; check the TLS trust anchors)".into()
            }
            rustls::CertificateError::NotValidForName
            | rustls::CertificateError::NotValidForNameContext { .. } => {
                "the server certificate is not valid for this host name (check the URL or the expected TLS name)".into()
            }
            rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. } => {
                "the server certificate has expired".into()
            }
            rustls::CertificateError::Revoked => {
                "the server certificate is revoked (listed in a CRL given)".into()
            }
            rustls::CertificateError::UnknownRevocationStatus => {
                "the revocation status of the server certificate is unknown: no CRL from its issuer was given".into()
            }
            rustls::CertificateError::ExpiredRevocationList
            | rustls::CertificateError::ExpiredRevocationListContext { .. } => {
                "a CRL for the server certificate's path is out of date (past its nextUpdate)".into()
            }
            other => format!("the server certificate is invalid: {other:?}"),
        },
        Some(rustls::Error::InvalidCertRevocationList(crl)) => match crl {
            rustls::CertRevocationListError::BadSignature => {
                "a CRL for the server certificate's path is not signed by its issuer's key".into()
            }
            other => format!("a CRL for the server certificate's path is unusable: {other:?}"),
        },
        Some(
            e @ (rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure)
            | rustls::Error::PeerIncompatible(_)),
        ) if !cfg!(feature = "tls-extra-algorithms") => format!(
            "{e}: the server shares no algorithm with this build, which offers TLS's mandatory \
             ones only (ECDHE P-256/P-384, AES-GCM, ECDSA and RSA; the server may want X25519, \
             ChaCha20-Poly1305 or Ed25519: cmp-transport-http feature `tls-extra-algorithms`)"
        ),
        Some(other) => other.to_string(),
        None => e.to_string(),
    }
}

#[async_trait::async_trait]
impl Transport for HttpTransport {
    async fn exchange(
        &self,
        request: &[u8],
        deadline: Option<Instant>,
    ) -> Result<Vec<u8>, TransportError> {
        let now = Instant::now();
        let mut limit = self.inner.message_timeout;
        if let Some(d) = deadline {
            limit = limit.min(d.saturating_duration_since(now));
        }
        match tokio::time::timeout(limit, self.inner.exchange(request)).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::Timeout {
                what: format!("the exchange with {}", self.inner.url.to_url()),
                millis: limit.as_millis() as u64,
            }),
        }
    }

    /// Closes the connection kept for the transaction (OpenSSL's client keeps a connection
    /// for one transaction only, and its mock server closes it after the last response).
    fn end_transaction(&self) {
        drop(
            self.inner
                .idle
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
    }
}
