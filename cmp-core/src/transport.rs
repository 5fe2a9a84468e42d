//! The plugin traits of the transport layer: [`Transport`] (client side: one request/response
//! exchange of DER bytes) and [`Responder`] (server side: bytes in, bytes out), which every
//! transport's server half serves.
//!
//! The protocol state machines know nothing of HTTP or TCP; a transport only moves bytes, and
//! tells a transport failure ([`TransportError`]) from a CMP answer (any response body, even
//! an error message, is handed up as bytes).

use std::fmt;
use std::net::SocketAddr;
use std::time::Instant;

/// Why an exchange failed below CMP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The URL is not one this transport handles.
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// No connection could be made.
    #[error("cannot connect to {target}: {reason}")]
    Connect {
        /// host:port (or the proxy).
        target: String,
        /// Why.
        reason: String,
    },
    /// The TLS handshake failed (untrusted certificate, wrong host name, …).
    #[error("TLS with {target} failed: {reason}")]
    Tls {
        /// host:port.
        target: String,
        /// Why.
        reason: String,
    },
    /// The peer did not answer in time.
    #[error("{what} timed out after {} s", *.millis as f64 / 1000.0)]
    Timeout {
        /// What was waited for (connecting, the response, …).
        what: String,
        /// How long, in milliseconds.
        millis: u64,
    },
    /// The HTTP response was neither a CMP message nor 200 OK.
    #[error("the server answered HTTP {status}{}", body_hint(.body_start))]
    HttpStatus {
        /// The status code.
        status: u16,
        /// The first bytes of a text body, if any.
        body_start: Option<String>,
    },
    /// A 200 response without `application/pkixcmp`.
    #[error("the server answered with content type {content_type:?}, not application/pkixcmp")]
    ContentType {
        /// What it said.
        content_type: String,
    },
    /// A redirect, which CMP clients do not follow.
    #[error(
        "the server redirects (HTTP {status}) to {location:?}; redirects are not followed: use that URL"
    )]
    Redirect {
        /// The status code.
        status: u16,
        /// The Location header.
        location: String,
    },
    /// The response is larger than allowed.
    #[error("the response is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The connection broke or the peer spoke nonsense.
    #[error("{0}")]
    Protocol(String),
    /// The transport's framing was violated (TCP transfer).
    #[error("framing error: {0}")]
    Frame(String),
    /// The server said it has no response (TCP finRep).
    #[error("the server has no response")]
    NoResponse,
}

fn body_hint(body: &Option<String>) -> String {
    match body {
        Some(b) if !b.is_empty() => format!(": {b:?}"),
        _ => String::new(),
    }
}

/// One request/response exchange of DER-encoded PKIMessages.
///
/// Stateless from the core's view; an implementation may keep connections alive. `deadline`
/// bounds the whole exchange (connecting, sending, waiting, reading); implementations also
/// apply their own per-message timeout.
#[async_trait::async_trait]
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends `request` and returns the response bytes. A CMP error message is a response,
    /// not an error.
    async fn exchange(
        &self,
        request: &[u8],
        deadline: Option<Instant>,
    ) -> Result<Vec<u8>, TransportError>;

    /// The transaction whose messages this transport carried has ended (the driver calls it
    /// on success and on failure). A transport that kept a connection open for the
    /// transaction's later messages may close it now, as OpenSSL's client does: a server
    /// that closes the connection at the end of a transaction (OpenSSL's mock does, right
    /// after its last response) then never sees the next transaction's first request on a
    /// dying connection. The default does nothing.
    fn end_transaction(&self) {}
}

/// Who sent a request to a server half.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's address.
    pub addr: Option<SocketAddr>,
    /// The DER of the TLS client certificate, when the client presented one.
    pub tls_client_certificate: Option<Vec<u8>>,
    /// The request path (HTTP), e.g. `/.well-known/cmp/p/tls-client`.
    pub path: Option<String>,
}

/// The server side of CMP: request bytes in, response bytes out. Any transport's server half
/// serves any responder; a responder answers every request with a PKIMessage (an `error`
/// message when it cannot do better).
#[async_trait::async_trait]
pub trait Responder: Send + Sync + fmt::Debug {
    /// The response to `request`.
    async fn respond(&self, request: Vec<u8>, peer: &PeerInfo) -> Vec<u8>;
}

/// Splits the authority of a server URL (`host`, `host:port`, `[v6]`, `[v6]:port`) into host
/// (IPv6 without brackets) and port, `default_port` when none is given. Errors are sentences
/// about `url`.
pub fn split_authority(
    url: &str,
    authority: &str,
    default_port: u16,
) -> Result<(String, u16), TransportError> {
    let bad = |reason: &str| TransportError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    if authority.contains('@') {
        return Err(bad("user information in the URL is not supported"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| bad("unclosed [ in the host"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad("unexpected text after the IPv6 address")),
        };
        (h, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
        None => default_port,
    };
    Ok((host.to_owned(), port))
}

/// `host:port`, with brackets around an IPv6 address.
pub fn join_authority(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
