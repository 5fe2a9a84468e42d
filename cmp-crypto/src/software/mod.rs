//! The software backend: keys in memory (loaded from and saved to PEM files), RustCrypto
//! hashes, HMAC and PBKDF2, *ring* for RSA signing and verification, EC P-256/P-384 key
//! generation and verification and P-256 signing (see `ec`).

mod ec;
mod keys;
mod omitted;
mod pem_file;
mod primitives;
mod spki;

use std::sync::Arc;

use cmp_core::crypto::CryptoProvider;

#[cfg(not(all(
    feature = "ed25519",
    feature = "rsa-keygen",
    feature = "encrypted-pkcs8",
    feature = "ec-arithmetic"
)))]
pub(crate) use omitted::not_in_this_build;

#[cfg(feature = "aws-lc")]
pub(crate) use keys::{Pkcs8Kind, decode_private_key};
pub use keys::{SoftwareKey, SoftwareKeys};
pub use pem_file::{read_key_file, write_key_file};
pub use primitives::SoftwarePrimitives;

/// The software backend as a [`CryptoProvider`], with rustls-webpki path validation.
pub fn provider() -> CryptoProvider {
    CryptoProvider {
        primitives: Arc::new(SoftwarePrimitives),
        keys: Arc::new(SoftwareKeys),
        paths: Arc::new(crate::webpki_paths::WebPkiPaths),
    }
}
