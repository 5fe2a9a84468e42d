//! Message protection (RFC 9810 §5.1.3): MAC-based with a shared secret (PasswordBasedMac and
//! PBMAC1, RFC 9481 §6.1) and signature-based with a private key.
//!
//! Received messages are checked over the bytes that arrived
//! ([`ReceivedMessage::protected_part`](crate::asn1::ReceivedMessage::protected_part)), never over
//! a re-encoding; iteration counts are checked against [`MacLimits`] before any work is done,
//! and MACs are compared in constant time.
//!
//! ```
//! use cmp_core::asn1::{PkiBody, PkiMessage, ReceivedMessage};
//! use cmp_core::builder::PkiHeaderBuilder;
//! use cmp_core::protection::{MacLimits, MacSettings, protect_with_mac, verify_mac};
//! # fn demo(primitives: &dyn cmp_core::crypto::Primitives) -> Result<(), cmp_core::Error> {
//! let mut msg = PkiMessage::new(PkiHeaderBuilder::new().build(), PkiBody::Pkiconf(()));
//! protect_with_mac(&mut msg, b"secret", &MacSettings::pbm_default(), primitives)?;
//! let received = ReceivedMessage::decode(&msg.to_der()?)?;
//! verify_mac(&received, b"secret", &MacLimits::default(), primitives)?;
//! # Ok(()) }
//! ```

mod alg;
mod derive;
mod mac;
mod signature;
mod signer;

pub use alg::{MacLimits, ProtectionAlg};
pub use derive::{MacKey, MacKeyDerivation};
pub use mac::{MacSettings, protect_with_mac, verify_mac};
pub use signature::{
    prepare_signature, protect_with_key, verify_signature, verify_signature_with_key,
};
pub use signer::{
    SignerError, SignerTrust, find_signers, matches_sender, signed_sender, verify_signer,
};
