//! # cmp-transport-http
//!
//! CMP over HTTP(S) (RFC 6712, now RFC 9811): a client that POSTs `application/pkixcmp`
//! messages (keep-alive, timeouts, size caps, HTTPS via rustls, proxies) and a server half that
//! serves any `cmp-core` responder.
//!
//! Status: arrives with the HTTP transport issue; this crate is a placeholder so the workspace
//! layout is final from the start.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
