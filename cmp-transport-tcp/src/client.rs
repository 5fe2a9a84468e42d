//! The TCP client half: a [`Transport`] speaking the framed CMP TCP transfer.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cmp_core::transport::{Transport, TransportError};
use futures_util::{FutureExt, SinkExt, StreamExt};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use crate::codec::{CmpTcpCodec, FrameError};
use crate::frame::{CheckAfter, Frame, FrameBody, Framing, error_type};
use crate::url::TcpUrl;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type Conn = Framed<Box<dyn Io>, CmpTcpCodec>;

/// TCP-level polls in one exchange at most (each also bounded by the message timeout).
const MAX_POLLS: u32 = 1000;

/// Builds a [`TcpTransport`].
#[must_use]
pub struct TcpTransportBuilder {
    url: String,
    framing: Framing,
    max_frame: usize,
    message_timeout: Duration,
    connect_timeout: Duration,
    max_poll_wait: Duration,
    tls: Option<(Arc<rustls::ClientConfig>, Option<String>)>,
}

impl std::fmt::Debug for TcpTransportBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpTransportBuilder")
            .field("url", &self.url)
            .field("framing", &self.framing)
            .finish_non_exhaustive()
    }
}

impl TcpTransportBuilder {
    /// The framing to send (default v10; RFC 2510 only by configuration).
    pub fn framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    /// Largest accepted frame; default 1 MiB.
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// Longest wait for one exchange including TCP-level polling; default 120 s.
    pub fn message_timeout(mut self, timeout: Duration) -> Self {
        self.message_timeout = timeout;
        self
    }

    /// Longest wait for the connection (and TLS handshake); default 30 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Longest single wait a pollRep may ask for (absurd values are clamped); default 300 s.
    pub fn max_poll_wait(mut self, wait: Duration) -> Self {
        self.max_poll_wait = wait;
        self
    }

    /// TLS for `tcps://` URLs: a rustls client configuration (for example from
    /// `cmp_transport_http::TlsClientSettings::client_config`) and an optional name to check
    /// the server certificate against instead of the URL host.
    pub fn tls(mut self, config: Arc<rustls::ClientConfig>, server_name: Option<String>) -> Self {
        self.tls = Some((config, server_name));
        self
    }

    /// The transport.
    pub fn build(self) -> Result<TcpTransport, TransportError> {
        let url = TcpUrl::parse(&self.url)?;
        let tls = match (url.tls, self.tls) {
            (false, _) => None,
            (true, None) => {
                return Err(TransportError::InvalidUrl {
                    url: self.url,
                    reason: "tcps:// needs TLS settings".into(),
                });
            }
            (true, Some((config, name))) => {
                let name = name.unwrap_or_else(|| url.host.clone());
                let server_name =
                    ServerName::try_from(name.clone()).map_err(|_| TransportError::InvalidUrl {
                        url: self.url.clone(),
                        reason: format!("{name:?} is not a valid TLS server name"),
                    })?;
                Some((tokio_rustls::TlsConnector::from(config), server_name))
            }
        };
        Ok(TcpTransport {
            inner: Arc::new(Inner {
                url,
                framing: self.framing,
                max_frame: self.max_frame,
                message_timeout: self.message_timeout,
                connect_timeout: self.connect_timeout,
                max_poll_wait: self.max_poll_wait,
                tls,
                idle: Mutex::new(None),
            }),
        })
    }
}

struct Inner {
    url: TcpUrl,
    framing: Framing,
    max_frame: usize,
    message_timeout: Duration,
    connect_timeout: Duration,
    max_poll_wait: Duration,
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    idle: Mutex<Option<Conn>>,
}

/// CMP over TCP: sends each request as a `pkiReq` frame and returns the PKIMessage of the
/// `pkiRep` (or of a type-00 frame, as cryptlib sent), handling TCP-level polling (pollRep →
/// wait → pollReq) within the deadline. Keeps the connection open between exchanges unless a
/// frame carries the close flag. A request is never sent twice: a kept connection that the
/// server closed while idle is replaced before the request is written; a connection that
/// closes after the request may have been written is a transport error.
#[derive(Clone)]
pub struct TcpTransport {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TcpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpTransport")
            .field("url", &self.inner.url)
            .field("framing", &self.inner.framing)
            .finish_non_exhaustive()
    }
}

impl TcpTransport {
    /// A builder for `tcp://host[:port]` or `tcps://host[:port]` (default port 829).
    pub fn builder(url: &str) -> TcpTransportBuilder {
        TcpTransportBuilder {
            url: url.to_owned(),
            framing: Framing::V10,
            max_frame: 1 << 20,
            message_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(30),
            max_poll_wait: Duration::from_secs(300),
            tls: None,
        }
    }
}

fn frame_error(target: &str, e: FrameError) -> TransportError {
    match e {
        FrameError::Io(io) => TransportError::Protocol(format!("connection to {target}: {io}")),
        other => TransportError::Frame(other.to_string()),
    }
}

enum Outcome {
    Done(Result<Vec<u8>, TransportError>, bool),
    /// The connection was closed (or failed: the I/O error) before anything of the response
    /// arrived.
    ClosedBeforeResponse(Option<String>),
}

impl Inner {
    fn target(&self) -> String {
        self.url.authority()
    }

    async fn connect(&self) -> Result<Conn, TransportError> {
        let target = self.target();
        let open = async {
            let tcp = TcpStream::connect((self.url.host.as_str(), self.url.port))
                .await
                .map_err(|e| TransportError::Connect {
                    target: target.clone(),
                    reason: e.to_string(),
                })?;
            let _ = tcp.set_nodelay(true);
            let io: Box<dyn Io> = match &self.tls {
                None => Box::new(tcp),
                Some((connector, name)) => {
                    Box::new(connector.connect(name.clone(), tcp).await.map_err(|e| {
                        TransportError::Tls {
                            target: target.clone(),
                            reason: e.to_string(),
                        }
                    })?)
                }
            };
            Ok::<_, TransportError>(io)
        };
        let io = tokio::time::timeout(self.connect_timeout, open)
            .await
            .map_err(|_| TransportError::Timeout {
                what: format!("connecting to {target}"),
                millis: self.connect_timeout.as_millis() as u64,
            })??;
        Ok(Framed::new(
            io,
            CmpTcpCodec::new(self.framing, self.max_frame),
        ))
    }

    fn take_idle(&self) -> Option<Conn> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn wait_for(&self, check_after: CheckAfter) -> Duration {
        let secs = match check_after {
            CheckAfter::Relative(s) => u64::from(s),
            CheckAfter::Absolute(t) => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                u64::from(t).saturating_sub(now)
            }
        };
        Duration::from_secs(secs).min(self.max_poll_wait)
    }

    async fn exchange_on(&self, conn: &mut Conn, request: &[u8], deadline: Instant) -> Outcome {
        let target = self.target();
        if let Err(e) = conn
            .send(Frame::new(FrameBody::PkiReq(Bytes::copy_from_slice(
                request,
            ))))
            .await
        {
            return match e {
                FrameError::Io(e) => Outcome::ClosedBeforeResponse(Some(e)),
                other => Outcome::Done(Err(frame_error(&target, other)), false),
            };
        }
        let mut polls = 0u32;
        let mut got_any = false;
        loop {
            let frame = match conn.next().await {
                None if !got_any => return Outcome::ClosedBeforeResponse(None),
                None => {
                    return Outcome::Done(
                        Err(TransportError::Protocol(format!(
                            "{target} closed the connection while polling"
                        ))),
                        false,
                    );
                }
                Some(Err(FrameError::Io(e))) if !got_any => {
                    return Outcome::ClosedBeforeResponse(Some(e));
                }
                Some(Err(e)) => return Outcome::Done(Err(frame_error(&target, e)), false),
                Some(Ok(f)) => f,
            };
            got_any = true;
            let keep = !frame.close;
            let ty = frame.body.type_byte();
            match frame.body {
                FrameBody::PkiRep(m) | FrameBody::PkiReq(m) => {
                    return Outcome::Done(Ok(m.to_vec()), keep);
                }
                FrameBody::PollRep {
                    poll_ref,
                    check_after,
                } => {
                    polls += 1;
                    if polls > MAX_POLLS {
                        return Outcome::Done(
                            Err(TransportError::Protocol(format!(
                                "{target} asked to poll more than {} times",
                                MAX_POLLS
                            ))),
                            false,
                        );
                    }
                    let wait = self.wait_for(check_after);
                    if Instant::now() + wait > deadline {
                        let left = deadline.saturating_duration_since(Instant::now());
                        return Outcome::Done(
                            Err(TransportError::Protocol(format!(
                                "{target} asks to poll again in {} s, past the deadline ({:.1} s left); gave up without waiting",
                                wait.as_secs(),
                                left.as_secs_f64()
                            ))),
                            false,
                        );
                    }
                    tokio::time::sleep(wait).await;
                    if let Err(e) = conn.send(Frame::new(FrameBody::PollReq { poll_ref })).await {
                        return Outcome::Done(Err(frame_error(&target, e)), false);
                    }
                }
                FrameBody::NoResponse => {
                    return Outcome::Done(Err(TransportError::NoResponse), keep);
                }
                FrameBody::ErrorMsgRep {
                    error_type: et,
                    data,
                    text,
                } => {
                    let kind = et.map_or_else(
                        || "an error".to_owned(),
                        |t| format!("{} (0x{t:04X})", error_type::name(t)),
                    );
                    let data = if data.is_empty() {
                        String::new()
                    } else {
                        format!(", data {}", hex(&data))
                    };
                    return Outcome::Done(
                        Err(TransportError::Frame(format!(
                            "{target} reported {kind}{data}: {text:?}"
                        ))),
                        false,
                    );
                }
                FrameBody::PollReq { .. } | FrameBody::PartialMsgRep { .. } => {
                    return Outcome::Done(
                        Err(TransportError::Frame(format!(
                            "{target} sent an unexpected frame of type 0x{ty:02X}"
                        ))),
                        false,
                    );
                }
            }
        }
    }

    /// A kept connection that still looks open: one the server closed (or that has
    /// something unasked-for to read) while idle is dropped before anything is written on it.
    fn take_live_idle(&self) -> Option<Conn> {
        let mut conn = self.take_idle()?;
        match conn.next().now_or_never() {
            // Nothing to read: still open.
            None => Some(conn),
            // Closed, broken, or an unexpected frame: not usable.
            Some(_) => None,
        }
    }

    /// One exchange. A request is never sent twice: a kept connection is checked before the
    /// request is written on it (and replaced by a new one when the server closed it while
    /// idle); once anything may have been written, a closed connection is a transport error,
    /// because the server may have acted on the request.
    async fn exchange(&self, request: &[u8], deadline: Instant) -> Result<Vec<u8>, TransportError> {
        let mut conn = match self.take_live_idle() {
            Some(c) => c,
            None => self.connect().await?,
        };
        match self.exchange_on(&mut conn, request, deadline).await {
            Outcome::Done(result, keep) => {
                if keep && result.is_ok() {
                    *self.idle.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn);
                }
                result
            }
            Outcome::ClosedBeforeResponse(io) => {
                let why = io.map_or_else(String::new, |e| format!(" ({e})"));
                Err(TransportError::Protocol(format!(
                    "{} closed the connection without answering{why}; the request is not sent again, since the server may have acted on it",
                    self.target()
                )))
            }
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[async_trait::async_trait]
impl Transport for TcpTransport {
    async fn exchange(
        &self,
        request: &[u8],
        deadline: Option<Instant>,
    ) -> Result<Vec<u8>, TransportError> {
        let now = Instant::now();
        let mut until = now + self.inner.message_timeout;
        if let Some(d) = deadline {
            until = until.min(d);
        }
        let limit = until.saturating_duration_since(now);
        match tokio::time::timeout(limit, self.inner.exchange(request, until)).await {
            Ok(r) => r,
            Err(_) => Err(TransportError::Timeout {
                what: format!(
                    "the exchange with {}://{}",
                    if self.inner.tls.is_some() {
                        "tcps"
                    } else {
                        "tcp"
                    },
                    self.inner.target()
                ),
                millis: limit.as_millis() as u64,
            }),
        }
    }
}
