//! # cmp-transport-tcp
//!
//! CMP over TCP: the framed transfer of RFC 2510 §5.2 and its successor drafts ("TCP-message
//! version 10"), with a bounded tokio-util codec, TCP-level polling, client and server half.
//!
//! Status: arrives with the TCP transport issue; this crate is a placeholder so the workspace
//! layout is final from the start.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
