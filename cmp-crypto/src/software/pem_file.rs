//! Key files: PEM PKCS#8, written atomically with mode 0600.

use std::fs;
use std::path::Path;

use cmp_core::CryptoError;
use cmp_core::crypto::PrivateKey;
use zeroize::Zeroizing;

use super::keys::SoftwareKey;

fn io_error(path: &Path, what: &str, e: std::io::Error) -> CryptoError {
    CryptoError::Backend {
        backend: "software".into(),
        reason: format!("cannot {what} {}: {e}", path.display()),
    }
}

/// Reads a private key file (PEM or DER; PKCS#8, encrypted PKCS#8, SEC1 or PKCS#1).
pub fn read_key_file(path: &Path, password: Option<&[u8]>) -> Result<SoftwareKey, CryptoError> {
    let data = Zeroizing::new(fs::read(path).map_err(|e| io_error(path, "read", e))?);
    SoftwareKey::from_encoded(&data, password).map_err(|e| match e {
        CryptoError::InvalidKey(why) => {
            CryptoError::InvalidKey(format!("{}: {why}", path.display()))
        }
        other => other,
    })
}

/// Writes `key` as unencrypted PKCS#8 PEM to `path`, atomically: a temporary file with mode
/// 0600 in the same directory, fsync, rename over `path`, fsync of the directory. A crash
/// leaves either the old file or the new one, never a partial key.
pub fn write_key_file(path: &Path, key: &dyn PrivateKey) -> Result<(), CryptoError> {
    let der = key.to_pkcs8_der().ok_or_else(|| {
        CryptoError::InvalidKey(format!(
            "a {} key of this backend cannot be exported to a file",
            key.spec()
        ))
    })?;
    let pem = Zeroizing::new(
        pkcs8::der::pem::encode_string("PRIVATE KEY", pkcs8::der::pem::LineEnding::LF, &der)
            .map_err(|e| CryptoError::InvalidKey(format!("PEM encoding: {e}")))?,
    );
    crate::fs::write_atomically(path, pem.as_bytes(), 0o600).map_err(|e| CryptoError::Backend {
        backend: "software".into(),
        reason: e.to_string(),
    })
}
