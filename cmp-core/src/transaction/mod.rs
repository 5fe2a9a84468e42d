//! The client transactions of CMP as sans-IO state machines: bytes and time in, the next
//! step out (sign these bytes, send this request, wait, done). No sockets, clocks or files
//! inside; the async driver in [`crate::client`] moves the bytes.
//!
//! Every response is checked in the order OpenSSL's `ossl_cmp_msg_check_update` uses:
//! sender → protection (MAC with our secret; or signature: signer found by sender and
//! senderKID, keyUsage, signature, path to the trust anchors now; or a pinned server
//! certificate) → pvno → body type → transactionID → recipNonce → status. Nothing from a
//! response whose checks fail is used.

mod config;
mod enroll;
mod root_update;
mod session;
mod simple;

pub use config::{Credentials, ResponseTrust, TransactionConfig};
pub use enroll::{Enrolled, Enrollment, EnrollmentKind, EnrollmentRequest, PopoMethod, cert_hash};
pub use root_update::verify_root_ca_key_update;
pub use session::{SignPurpose, Step, Transaction};
pub use simple::{GeneralMessage, Revocation};
