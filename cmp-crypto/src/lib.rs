//! # cmp-crypto
//!
//! Crypto backends for the CMP toolkit. A product team picks the backend its device needs and
//! hands it to the client; the protocol code in `cmp-core` never sees the difference.
//!
//! Planned backends, each behind a cargo feature:
//! - `software` (default): pure Rust — EC P-256/P-384, RSA 2048–4096, Ed25519, SHA-2, HMAC,
//!   PBKDF2; keys in PEM files.
//! - `pkcs11`: keys generated and used inside a token (tested against SoftHSM2), named by
//!   PKCS#11 URI (RFC 7512).
//! - `aws-lc`: aws-lc-rs, for speed.
//!
//! Status: the backend trait and the backends arrive with the crypto issue; this crate is a
//! placeholder so the workspace layout is final from the start.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
