//! # cmp-server
//!
//! The reference CMP (RFC 9810) CA/RA around cmp-core's sans-IO server engine
//! ([`cmp_core::server`]):
//!
//! - [`BuiltinCa`]: an [`Issuer`](cmp_core::server::Issuer) that issues X.509 v3
//!   certificates for the requested public key with a CA certificate and a
//!   [`PrivateKey`](cmp_core::crypto::PrivateKey) of any backend (the CA key may live in an
//!   HSM), or with an EC P-256 root generated at start;
//! - [`CmpServer`]: the driver that runs an [`Exchange`](cmp_core::server::Exchange) per
//!   request against the issuer, a [`TransactionStore`](cmp_core::server::TransactionStore)
//!   and the response signing key, and answers as a
//!   [`Responder`](cmp_core::transport::Responder) behind any transport's server half;
//! - [`Forwarder`]: an RA relay that passes messages unchanged to an upstream CMP server;
//! - [`Server`] / [`ServerBuilder`]: the whole server in a process — listeners on http,
//!   https, tcp and tcps URLs (port 0 picks a free port), the CA, its state — started on the
//!   caller's tokio runtime, with the real bound URLs and a graceful shutdown; the
//!   `cmp-server` binary is a thin command line around it;
//! - [`store`]: where the state lives — in memory, or in one SQLite file ([`SqliteStore`]:
//!   transactions with their last request and response, issued certificates, revocations),
//!   committed before the response that reports a change leaves.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod audit;
mod builder;
mod ca;
mod certificate;
mod client_policy;
pub mod config_file;
mod crl;
mod derive_pool;
mod driver;
mod error;
pub mod files;
mod forward;
pub mod genp;
mod listen;
mod mac_cache;
mod running;
pub mod store;

pub use builder::{CaSource, ServerBuilder};
pub use ca::{BuiltinCa, IssuancePolicy, SERIAL_LEN};
pub use client_policy::{ClientMatch, ClientPolicy};
pub use crl::{CrlSettings, CrlSource, MAX_CRL_ENTRIES};
pub use derive_pool::{DEFAULT_QUEUE_PER_THREAD, DerivationPool, MAXIMAL_DERIVATION_COST};
pub use driver::{CmpServer, MAX_STEPS};
pub use error::Error;
pub use forward::Forwarder;
pub use listen::Scheme;
pub use running::Server;
pub use store::{QueuedStore, SqliteOptions, SqliteStore, Synchronous, WriteStats};
