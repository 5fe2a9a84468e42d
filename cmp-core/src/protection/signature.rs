//! Signature-based protection.

use rasn::types::BitString;

use super::alg::{MacLimits, ProtectionAlg, protection_parts};
use crate::asn1::{CmpCertificate, PkiMessage, ReceivedMessage};
use crate::crypto::{Primitives, PrivateKey, SignatureAlgorithm};
use crate::error::{CryptoError, Error, ProtectionError};
use crate::names::format_name;

/// Sets `protectionAlg` for a signature with `alg` and returns the bytes to sign
/// (`ProtectedPart`). The IO-free core hands these out; the driver has the key sign them and
/// puts the result into `protection` (see [`protect_with_key`] for both steps at once).
pub fn prepare_signature(msg: &mut PkiMessage, alg: SignatureAlgorithm) -> Result<Vec<u8>, Error> {
    msg.header.protection_alg = Some(alg.algorithm_identifier());
    msg.protection = None;
    msg.protected_part()
}

/// Signs `msg` with `key`: sets `protectionAlg`, signs `ProtectedPart`, sets `protection`.
pub async fn protect_with_key(
    msg: &mut PkiMessage,
    key: &dyn PrivateKey,
    alg: SignatureAlgorithm,
) -> Result<(), Error> {
    // Before the header changes, and for key plugins that do not check themselves.
    key.spec().check_allows(alg)?;
    let tbs = prepare_signature(msg, alg)?;
    let signature = key.sign(alg, &tbs).await?;
    msg.protection = Some(BitString::from_vec(signature));
    Ok(())
}

/// Verifies the signature protection of a received message with the public key of `signer`.
///
/// Only the signature is checked here: whether `signer` may sign for the sender (name,
/// senderKID, keyUsage, path to a trust anchor) is the caller's policy.
pub fn verify_signature(
    received: &ReceivedMessage,
    signer: &CmpCertificate,
    primitives: &dyn Primitives,
) -> Result<(), ProtectionError> {
    verify_signature_with_key(
        received,
        &crate::crypto::public_key_der(signer.subject_public_key_info()),
        &format_name(signer.subject()),
        primitives,
    )
}

/// Verifies the signature protection of a received message with a public key (a DER
/// `SubjectPublicKeyInfo`); `signer` names the key's owner in errors.
pub fn verify_signature_with_key(
    received: &ReceivedMessage,
    public_key: &[u8],
    signer: &str,
    primitives: &dyn Primitives,
) -> Result<(), ProtectionError> {
    let msg = received.message();
    let (alg_id, protection) = protection_parts(msg)?;
    let alg = match ProtectionAlg::parse(alg_id, &MacLimits::default()) {
        Ok(ProtectionAlg::Signature(alg)) => alg,
        // A MAC with odd parameters is still a MAC, not a signature.
        Ok(_)
        | Err(ProtectionError::IterationCount { .. } | ProtectionError::BadParameters { .. }) => {
            return Err(ProtectionError::WrongKind {
                actual: "MAC",
                expected: "only a certificate was given",
            });
        }
        Err(e) => return Err(e),
    };
    let bad = || ProtectionError::BadSignature {
        signer: signer.to_owned(),
    };
    if protection.len() % 8 != 0 {
        return Err(bad());
    }
    match primitives.verify_signature(
        public_key,
        alg,
        &received.protected_part(),
        protection.as_raw_slice(),
    ) {
        Ok(()) => Ok(()),
        Err(CryptoError::BadSignature) => Err(bad()),
        Err(e) => Err(e.into()),
    }
}
