//! The aws-lc backend: AWS-LC (through aws-lc-rs) for hashing, HMAC, PBKDF2, randomness,
//! signature verification, key generation and signing.
//!
//! Keys live in memory, as with the software backend. Loading accepts the same encodings
//! (PEM or DER PKCS#8, encrypted PKCS#8, SEC1, PKCS#1): the software backend's decoder turns
//! them into PKCS#8, which AWS-LC then parses and checks. Ed25519 keys are exported as PKCS#8
//! v1, which OpenSSL 3.0 reads. Certificate paths are validated by
//! [`WebPkiPaths`](crate::webpki_paths::WebPkiPaths).
//!
//! What AWS-LC (as aws-lc-rs exposes it) does not offer directly, and how it is covered:
//!
//! - ECDSA signing with a hash other than the curve's own (P-256 with SHA-384/512, P-384 with
//!   SHA-256/512): aws-lc-rs has signing algorithms only for P-256/SHA-256 and P-384/SHA-384.
//!   The message is hashed with the requested hash and the digest is brought to the length of
//!   the curve order exactly as ECDSA does itself (the leftmost bits of a longer hash, a shorter
//!   hash as the same integer), then signed with AWS-LC's digest signing; the signature is the
//!   one the requested algorithm defines, which the conformance suite checks with OpenSSL.
//! - PBKDF2 with HMAC-SHA-224: aws-lc-rs has PBKDF2 only over SHA-1/256/384/512; SHA-224 is
//!   computed here (RFC 8018 §5.2) over AWS-LC's HMAC.
//! - RSA verification accepts moduli of 2048 to 8192 bits only (AWS-LC's limits); RSA key
//!   generation offers 2048, 3072, 4096 and 8192 bits.
//!
//! ```
//! use cmp_core::crypto::{KeySpec, SignatureAlgorithm};
//! # async fn demo() -> Result<(), cmp_core::Error> {
//! let provider = cmp_crypto::aws_lc::provider();
//! let key = provider.keys.generate(KeySpec::EcP384).await?;
//! let sig = key.sign(SignatureAlgorithm::EcdsaSha384, b"hello").await?;
//! provider.primitives.verify_signature(
//!     key.public_key(), SignatureAlgorithm::EcdsaSha384, b"hello", &sig)?;
//! # Ok(()) }
//! ```

mod keys;
mod primitives;

use std::fmt;
use std::sync::Arc;

use cmp_core::CryptoError;
use cmp_core::crypto::CryptoProvider;

pub use keys::{AwsLcKey, AwsLcKeys};
pub use primitives::AwsLcPrimitives;

/// The backend's name, as errors and [`KeyProvider::name`](cmp_core::crypto::KeyProvider::name)
/// give it.
const NAME: &str = "aws-lc";

/// A failure inside AWS-LC.
fn backend(reason: impl fmt::Display) -> CryptoError {
    CryptoError::Backend {
        backend: NAME.into(),
        reason: reason.to_string(),
    }
}

/// The aws-lc backend as a [`CryptoProvider`], with rustls-webpki path validation.
pub fn provider() -> CryptoProvider {
    CryptoProvider {
        primitives: Arc::new(AwsLcPrimitives),
        keys: Arc::new(AwsLcKeys),
        paths: Arc::new(crate::webpki_paths::WebPkiPaths),
    }
}
