//! # cmp-transport-tcp
//!
//! CMP over TCP: the framed transfer of RFC 2510 §5.2 and of the drafts that followed it
//! ("TCP-message version 10", draft-ietf-pkix-cmp-tcp-00 and
//! draft-ietf-pkix-cmp-transport-protocols-05), as older CAs, RAs and network gear speak it
//! (port 829).
//!
//! - [`CmpTcpCodec`]: a tokio-util `Decoder`/`Encoder` for both framings, with a maximum frame
//!   length checked on the length field before any buffer grows.
//! - [`TcpTransport`]: the client half (`tcp://host[:port]`, `tcps://` with rustls), with
//!   TCP-level polling inside the transport, the close flag honoured, and no request ever
//!   sent twice (a kept connection the server closed while idle is replaced before writing;
//!   a close after writing is an error).
//! - [`TcpServer`]: the server half, serving any [`Responder`](cmp_core::transport::Responder);
//!   it answers pollRep when the responder needs longer and serves the response to the
//!   matching pollReq.
//!
//! Nothing in the TCP header is authenticated: it is used for framing only and never changes
//! CMP state.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod client;
mod codec;
mod frame;
mod server;
mod url;

pub use client::{TcpTransport, TcpTransportBuilder};
pub use codec::{CmpTcpCodec, FrameError};
pub use frame::{CheckAfter, Frame, FrameBody, Framing, VERSION_10, error_type};
pub use server::{TcpServer, TcpServerBuilder};
pub use url::{DEFAULT_PORT, TcpUrl};
