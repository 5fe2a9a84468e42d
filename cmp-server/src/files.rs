//! Reading what the operator names: secrets (`pass:`, `env:`, `file:`) and certificate files.

use std::path::Path;

use cmp_core::asn1::CmpCertificate;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use zeroize::Zeroizing;

use crate::error::Error;

/// A secret as `openssl` names its source — `pass:TEXT`, `env:VAR` or `file:PATH` (its first
/// line). The text of `pass:` never appears in an error.
pub fn read_secret(src: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
    let bad = |message: String| Error::Secret { message };
    let secret = match src.split_once(':') {
        Some(("pass", text)) => text.as_bytes().to_vec(),
        Some(("env", var)) => std::env::var(var)
            .map_err(|_| bad(format!("env:{var}: the variable is not set")))?
            .into_bytes(),
        Some(("file", path)) => {
            let text = Zeroizing::new(
                std::fs::read_to_string(path).map_err(|e| bad(format!("file:{path}: {e}")))?,
            );
            text.lines().next().unwrap_or_default().as_bytes().to_vec()
        }
        _ => return Err(bad("give pass:TEXT, env:VAR or file:PATH".into())),
    };
    if secret.is_empty() {
        return Err(bad("the secret is empty".into()));
    }
    Ok(Zeroizing::new(secret))
}

/// The certificates of a PEM file, or the one certificate of a DER file.
pub fn read_certs(path: &Path) -> Result<Vec<CmpCertificate>, Error> {
    let file = |message: String| Error::File {
        path: path.display().to_string(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| file(e.to_string()))?;
    let ders: Vec<Vec<u8>> = if bytes.starts_with(b"-----") {
        CertificateDer::pem_slice_iter(&bytes)
            .map(|c| c.map(|c| c.as_ref().to_vec()))
            .collect::<Result<_, _>>()
            .map_err(|e| file(e.to_string()))?
    } else {
        vec![bytes]
    };
    if ders.is_empty() {
        return Err(file("no certificate in the file".into()));
    }
    ders.iter()
        .map(|d| CmpCertificate::from_der(d).map_err(|e| file(e.to_string())))
        .collect()
}

/// `der` as a PEM block with `label` (e.g. `CERTIFICATE`, `X509 CRL`).
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
