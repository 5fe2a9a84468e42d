//! Converting between RustCrypto's and rasn's SubjectPublicKeyInfo.

use cmp_core::CryptoError;
use rasn_pkix::SubjectPublicKeyInfo;

/// Decodes the DER of a SubjectPublicKeyInfo produced by a RustCrypto crate.
pub(crate) fn from_der(der: &[u8]) -> Result<SubjectPublicKeyInfo, CryptoError> {
    rasn::der::decode(der).map_err(|e| CryptoError::InvalidKey(format!("public key encoding: {e}")))
}
