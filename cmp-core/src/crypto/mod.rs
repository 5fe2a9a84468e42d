//! The crypto seen by the protocol: algorithm identifiers and the backend traits.
//!
//! Backends live in `cmp-crypto`; the application picks one and passes a [`CryptoProvider`]
//! in. Signing is `async` (a hardware key answers slowly); everything else is synchronous.

mod algorithms;
mod provider;

pub use algorithms::{
    DigestAlgorithm, KeyFamily, KeySpec, RsassaPssParams, SignatureAlgorithm, key_mismatch,
};
pub use provider::{
    CertPathVerifier, CryptoProvider, KeyLocator, KeyProvider, PathPolicy, Primitives, PrivateKey,
    RevocationCheck,
};

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keep the optimiser from short-circuiting the fold.
    std::hint::black_box(diff) == 0
}
