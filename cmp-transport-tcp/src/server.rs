//! The TCP server half: serves any [`Responder`], with TCP-level polling when the responder
//! needs time.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cmp_core::transport::{PeerInfo, Responder};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::codec::Framed;

use crate::codec::CmpTcpCodec;
use crate::frame::{CheckAfter, Frame, FrameBody, Framing, error_type};

/// Slow requests awaiting a pollReq, per connection, at most; more are answered "too many
/// requests in progress".
const MAX_PENDING: usize = 16;

/// Builds a [`TcpServer`].
#[must_use]
pub struct TcpServerBuilder {
    max_frame: usize,
    idle_timeout: Duration,
    poll_after: Duration,
    check_after: u32,
    max_connections: usize,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl std::fmt::Debug for TcpServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpServerBuilder")
            .field("max_frame", &self.max_frame)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl TcpServerBuilder {
    /// Largest accepted frame; default 1 MiB.
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// How long a connection may be silent (also bounds reading a started frame); default 30 s.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// When the responder has not answered after this long, the client gets a pollRep;
    /// default 5 s.
    pub fn poll_after(mut self, wait: Duration) -> Self {
        self.poll_after = wait;
        self
    }

    /// The time-to-check-back sent in pollRep, in seconds; default 1.
    pub fn check_after(mut self, seconds: u32) -> Self {
        self.check_after = seconds;
        self
    }

    /// Most connections served at once; default 256.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Serve TLS (`tcps://`) with this rustls configuration.
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// The server.
    pub fn build(self) -> TcpServer {
        TcpServer {
            config: Arc::new(self),
        }
    }
}

/// CMP over TCP, server side.
#[derive(Clone, Debug)]
pub struct TcpServer {
    config: Arc<TcpServerBuilder>,
}

impl TcpServer {
    /// A builder with the defaults.
    pub fn builder() -> TcpServerBuilder {
        TcpServerBuilder {
            max_frame: 1 << 20,
            idle_timeout: Duration::from_secs(30),
            poll_after: Duration::from_secs(5),
            check_after: 1,
            max_connections: 256,
            tls: None,
        }
    }

    /// Accepts connections until `shutdown` completes; connections then end after their
    /// current frame.
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
                p = Arc::clone(&permits).acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            };
            let (tcp, addr) = tokio::select! {
                () = &mut shutdown => break,
                a = listener.accept() => match a {
                    Ok(a) => a,
                    Err(_) => { tokio::time::sleep(Duration::from_millis(50)).await; continue; }
                },
            };
            let _ = tcp.set_nodelay(true);
            let config = Arc::clone(&self.config);
            let responder = Arc::clone(&responder);
            let stop = stop_rx.clone();
            connections.spawn(async move {
                let _permit = permit;
                match &config.tls {
                    None => serve_connection(&config, responder, tcp, addr, None, stop).await,
                    Some(tls) => {
                        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(tls));
                        if let Ok(Ok(stream)) =
                            tokio::time::timeout(config.idle_timeout, acceptor.accept(tcp)).await
                        {
                            let cert = stream
                                .get_ref()
                                .1
                                .peer_certificates()
                                .and_then(|c| c.first())
                                .map(|c| c.to_vec());
                            serve_connection(&config, responder, stream, addr, cert, stop).await;
                        }
                    }
                }
            });
            while connections.try_join_next().is_some() {}
        }
        let _ = stop_tx.send(true);
        while connections.join_next().await.is_some() {}
        Ok(())
    }
}

fn now_unix() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

async fn serve_connection<I: AsyncRead + AsyncWrite + Unpin + Send>(
    config: &TcpServerBuilder,
    responder: Arc<dyn Responder>,
    io: I,
    addr: SocketAddr,
    client_cert: Option<Vec<u8>>,
    mut stop: watch::Receiver<bool>,
) {
    let peer = PeerInfo {
        addr: Some(addr),
        tls_client_certificate: client_cert,
        path: None,
    };
    let mut framed = Framed::new(io, CmpTcpCodec::following_peer(config.max_frame));
    let mut pending: HashMap<u32, JoinHandle<Vec<u8>>> = HashMap::new();
    let mut next_ref: u32 = 1;
    loop {
        let next = tokio::select! {
            n = tokio::time::timeout(config.idle_timeout, framed.next()) => n,
            _ = stop.changed() => break,
        };
        let frame = match next {
            Err(_) | Ok(None) => break,
            Ok(Some(Err(e))) => {
                if let Some(reply) = e.error_reply() {
                    let _ = framed
                        .send(Frame {
                            close: true,
                            body: reply,
                        })
                        .await;
                }
                break;
            }
            Ok(Some(Ok(f))) => f,
        };
        let close = frame.close;
        let poll_rep = |poll_ref: u32, framing: Framing| FrameBody::PollRep {
            poll_ref,
            check_after: match framing {
                Framing::V10 => CheckAfter::Relative(config.check_after),
                Framing::Rfc2510 => {
                    CheckAfter::Absolute(now_unix().saturating_add(config.check_after))
                }
            },
        };
        let framing = framed.codec().framing();
        let reply = match frame.body {
            FrameBody::PkiReq(request) => {
                let responder = Arc::clone(&responder);
                let peer = peer.clone();
                let mut task =
                    tokio::spawn(async move { responder.respond(request.to_vec(), &peer).await });
                match tokio::time::timeout(config.poll_after, &mut task).await {
                    Ok(Ok(answer)) => FrameBody::PkiRep(Bytes::from(answer)),
                    Ok(Err(_)) => FrameBody::error(
                        error_type::GENERAL_SERVER_ERROR,
                        &[],
                        "the responder failed",
                    ),
                    Err(_) if pending.len() >= MAX_PENDING => {
                        task.abort();
                        FrameBody::error(
                            error_type::GENERAL_SERVER_ERROR,
                            &[],
                            "too many requests in progress",
                        )
                    }
                    Err(_) => {
                        let r = next_ref;
                        next_ref = next_ref.wrapping_add(1).max(1);
                        pending.insert(r, task);
                        poll_rep(r, framing)
                    }
                }
            }
            FrameBody::PollReq { poll_ref } => match pending.remove(&poll_ref) {
                None => FrameBody::error(
                    error_type::INVALID_POLL_ID,
                    &poll_ref.to_be_bytes(),
                    "unknown pollRef",
                ),
                Some(task) if task.is_finished() => match task.await {
                    Ok(answer) => FrameBody::PkiRep(Bytes::from(answer)),
                    Err(_) => FrameBody::error(
                        error_type::GENERAL_SERVER_ERROR,
                        &[],
                        "the responder failed",
                    ),
                },
                Some(task) => {
                    pending.insert(poll_ref, task);
                    poll_rep(poll_ref, framing)
                }
            },
            other => {
                let ty = other.type_byte();
                let _ = framed
                    .send(Frame {
                        close: true,
                        body: FrameBody::error(
                            error_type::INVALID_MESSAGE_TYPE,
                            &[ty],
                            &format!("a client does not send type {ty}"),
                        ),
                    })
                    .await;
                break;
            }
        };
        if framed.send(Frame { close, body: reply }).await.is_err() || close {
            break;
        }
    }
    for (_, task) in pending {
        task.abort();
    }
}
