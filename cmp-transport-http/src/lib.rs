//! # cmp-transport-http
//!
//! CMP over HTTP(S) (RFC 9811, formerly RFC 6712).
//!
//! - [`HttpTransport`], the client half: POSTs `application/pkixcmp`, hands up any CMP
//!   response whatever its HTTP status, refuses redirects and non-CMP answers with an error that
//!   quotes them, caps the response size, applies per-message and caller deadlines, keeps one
//!   connection alive (TCP_NODELAY, one write per request), speaks HTTPS through rustls and
//!   goes through HTTP proxies (CONNECT for https).
//! - [`serve`], the server half: serves any [`Responder`](cmp_core::transport::Responder)
//!   with request size limits, header and body read timeouts, a connection limit, graceful
//!   shutdown and optional TLS with client-certificate authentication.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod client;
mod headers;
mod proxy;
mod ring_provider;
mod server;
mod tls;
mod tls_signer;
mod url;

pub use client::{CONTENT_TYPE_PKIXCMP, HttpTransport, HttpTransportBuilder};
pub use proxy::ProxySettings;
pub use server::{HttpServer, HttpServerBuilder, serve};
pub use tls::{
    ClientIdentity, TlsClientSettings, TlsConfigError, TlsProvider, TlsRevocation,
    TlsServerSettings, read_pem_certificates, read_pem_private_key,
};
pub use url::ServerUrl;
