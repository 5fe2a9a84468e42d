//! # cmp-core
//!
//! The heart of the CMP toolkit:
//!
//! - [`asn1`]: the wire model of the Certificate Management Protocol (CMP, RFC 9810) and the
//!   Certificate Request Message Format (CRMF, RFC 4211), with [`builder`] and [`names`];
//! - [`protection`]: PBM, PBMAC1 and signature protection;
//! - [`transaction`]: the client transactions as sans-IO state machines, and [`client`], the
//!   async driver that runs them;
//! - the traits every plugin implements: [`transport`] (`Transport`, `Responder`),
//!   [`crypto`] (`CryptoProvider`), [`storage`] (`Storage`), and [`registry`], where
//!   plugins are chosen by name at run time.
//!
//! The protocol code does no IO: bytes and time go in, bytes and decisions come out; the
//! driver moves the bytes over a transport and sleeps with the application's timer.
//!
//! ```
//! use cmp_core::asn1::{PkiBody, PkiMessage, ReceivedMessage};
//! use cmp_core::builder::PkiHeaderBuilder;
//!
//! // A pkiconf message, encoded and decoded again.
//! let header = PkiHeaderBuilder::new()
//!     .transaction_id([1u8; 16])
//!     .sender_nonce([2u8; 16])
//!     .build();
//! let msg = PkiMessage::new(header, PkiBody::Pkiconf(()));
//! let der = msg.to_der().unwrap();
//! let received = ReceivedMessage::decode(&der).unwrap();
//! assert_eq!(received.message().body.name(), "pkiconf");
//! assert!(received.roundtrips());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod asn1;
pub mod builder;
pub mod client;
pub mod clock;
pub mod crypto;
pub mod der;
pub mod error;
pub mod names;
pub mod protection;
pub mod registry;
pub mod server;
pub mod storage;
pub mod transaction;
pub mod transport;

pub use error::{
    ClientError, CryptoError, DecodeError, Error, ProtectionError, ResponseError, ServerRefusal,
};
pub use server::ServerError;
