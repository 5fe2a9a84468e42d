//! The client transactions of CMP as sans-IO state machines: bytes and time in, the next
//! step out (sign these bytes, send this request, wait, done). No sockets, clocks or files
//! inside; the async driver in [`crate::client`] moves the bytes.
//!
//! Every response is checked in the order OpenSSL uses (`ossl_cmp_msg_check_update`, then the
//! expected type as `send_receive_check` checks it last):
//! sender → protection → pvno → transactionID → recipNonce → body type → status.
//!
//! - **Protection**: a MAC with our secret; or a signature — the certificate that verified an
//!   earlier response of the transaction first (OpenSSL's `validatedSrvCert`), then every
//!   candidate from extraCerts, `untrusted`, `trusted` and the extraCerts of earlier
//!   *authenticated* responses whose subject equals the sender (a directoryName, never the
//!   NULL-DN), whose subjectKeyIdentifier equals senderKID when one is sent, and which is
//!   valid now; each needs digitalSignature, a verifying signature and a path to the trust
//!   anchors now (with CRLs when revocation checking is on) — or a pinned server certificate.
//! - **recipNonce**: our latest senderNonce; only the final response of a delivery delayed by
//!   an `error`/waiting (RFC 9483 §4.4) may answer the first one instead.
//! - Under `unprotected_errors` (OpenSSL's `unprotected_exception`), a failed protection check
//!   is tolerated, with a warning, for an error message, a rejected certificate response or rp,
//!   and a pkiConf; the later checks still run.
//!
//! Nothing from a response whose checks fail is used.

mod config;
mod enroll;
mod root_update;
mod session;
mod simple;
mod snapshot;

pub use config::{Credentials, ResponseTrust, TransactionConfig};
pub use enroll::{Enrolled, Enrollment, EnrollmentKind, EnrollmentRequest, PopoMethod, cert_hash};
pub use root_update::verify_root_ca_key_update;
pub use session::{SignPurpose, Step, Transaction};
pub use simple::{GeneralMessage, Revocation};
pub use snapshot::{FORMAT_VERSION, MAX_STATE_LEN, Phase, TransactionState};
