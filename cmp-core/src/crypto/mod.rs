//! The crypto seen by the protocol: algorithm identifiers and the backend traits.
//!
//! Backends live in `cmp-crypto`; the application picks one and passes a [`CryptoProvider`]
//! in. Signing is `async` (a hardware key answers slowly); everything else is synchronous.

mod algorithms;
mod capability;
mod provider;

use crate::error::CryptoError;

pub use algorithms::{
    DigestAlgorithm, KeyFamily, KeySpec, RsassaPssParams, SignatureAlgorithm, key_mismatch,
};
pub use capability::DecryptionAlgorithm;
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

/// The DER content octets of `id-kp-cmcRA` (1.3.6.1.5.5.7.3.28), for
/// [`PathPolicy::required_eku`].
pub const EKU_CMC_RA: &[u8] = &[0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x1C];

/// Decodes a DER `SubjectPublicKeyInfo` (what [`PrivateKey::public_key`] gives).
pub fn public_key_info(der: &[u8]) -> Result<rasn_pkix::SubjectPublicKeyInfo, CryptoError> {
    rasn::der::decode(der)
        .map_err(|e| CryptoError::InvalidKey(format!("public key (SubjectPublicKeyInfo): {e}")))
}

/// The DER of a decoded `SubjectPublicKeyInfo` (what [`Primitives::verify_signature`] takes).
pub fn public_key_der(spki: &rasn_pkix::SubjectPublicKeyInfo) -> Vec<u8> {
    // A decoded value of this fixed-shape type always re-encodes.
    rasn::der::encode(spki).unwrap_or_default()
}

/// [`CertPathVerifier::verify_path`] over decoded certificates: what the protocol code calls.
pub trait CertPathVerifierExt {
    /// Validates the path from `end_entity` through `intermediates` to one of `anchors` at
    /// `now` (each certificate passed as the DER it was received as).
    fn verify_certificates(
        &self,
        end_entity: &crate::asn1::CmpCertificate,
        intermediates: &[crate::asn1::CmpCertificate],
        anchors: &[crate::asn1::CmpCertificate],
        now: std::time::SystemTime,
        policy: &PathPolicy,
    ) -> Result<(), CryptoError>;
}

impl<T: CertPathVerifier + ?Sized> CertPathVerifierExt for T {
    fn verify_certificates(
        &self,
        end_entity: &crate::asn1::CmpCertificate,
        intermediates: &[crate::asn1::CmpCertificate],
        anchors: &[crate::asn1::CmpCertificate],
        now: std::time::SystemTime,
        policy: &PathPolicy,
    ) -> Result<(), CryptoError> {
        let intermediates: Vec<&[u8]> = intermediates.iter().map(|c| c.der()).collect();
        let anchors: Vec<&[u8]> = anchors.iter().map(|c| c.der()).collect();
        self.verify_path(end_entity.der(), &intermediates, &anchors, now, policy)
    }
}

/// What the protocol code asks of any [`PrivateKey`] beyond the trait's DER edge.
pub trait PrivateKeyExt {
    /// The public half, decoded ([`PrivateKey::public_key`] gives its DER).
    fn public_key_info(&self) -> Result<rasn_pkix::SubjectPublicKeyInfo, CryptoError>;

    /// Whether `spki` (e.g. a certificate's subjectPublicKeyInfo) is this key's public half.
    fn matches_public_key(&self, spki: &rasn_pkix::SubjectPublicKeyInfo) -> bool;
}

impl<T: PrivateKey + ?Sized> PrivateKeyExt for T {
    fn public_key_info(&self) -> Result<rasn_pkix::SubjectPublicKeyInfo, CryptoError> {
        public_key_info(self.public_key())
    }

    fn matches_public_key(&self, spki: &rasn_pkix::SubjectPublicKeyInfo) -> bool {
        self.public_key_info().is_ok_and(|own| own == *spki)
    }
}
