//! Certificate files: one or more PEM `CERTIFICATE` blocks, or one DER certificate; CRL
//! files likewise (`X509 CRL` blocks, or one DER CRL).

use std::path::Path;

use base64::Engine;
use cmp_core::asn1::CmpCertificate;

/// Why a certificate file could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CertFileError {
    /// Unreadable.
    #[error("cannot read: {0}")]
    Read(#[source] std::io::Error),
    /// A PEM block is malformed.
    #[error("PEM block {index}: {reason}")]
    Pem {
        /// 1-based block number.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A certificate does not decode.
    #[error("certificate {index}: {reason}")]
    Certificate {
        /// 1-based number.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// Nothing in it.
    #[error("no certificate in the file")]
    Empty,
    /// A CRL does not decode.
    #[error("CRL {index}: {reason}")]
    Crl {
        /// 1-based number.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// No CRL in it.
    #[error("no CRL in the file")]
    NoCrl,
}

/// Reads every CRL in `path` (PEM with one or more `X509 CRL` blocks, or DER), as DER.
pub(crate) fn read_crls(path: &Path) -> Result<Vec<Vec<u8>>, CertFileError> {
    let data = std::fs::read(path).map_err(CertFileError::Read)?;
    let ders = if data.first() == Some(&0x30) {
        vec![data]
    } else {
        pem_blocks(&String::from_utf8_lossy(&data), &["X509 CRL"])?
    };
    if ders.is_empty() {
        return Err(CertFileError::NoCrl);
    }
    for (i, der) in ders.iter().enumerate() {
        rasn::der::decode::<rasn_pkix::CertificateList>(der).map_err(|e| CertFileError::Crl {
            index: i + 1,
            reason: e.to_string(),
        })?;
    }
    Ok(ders)
}

/// Reads every certificate in `path` (PEM with one or more `CERTIFICATE` blocks, or DER).
pub(crate) fn read_certs(path: &Path) -> Result<Vec<CmpCertificate>, CertFileError> {
    let data = std::fs::read(path).map_err(CertFileError::Read)?;
    let ders = if data.first() == Some(&0x30) {
        vec![data]
    } else {
        pem_blocks(
            &String::from_utf8_lossy(&data),
            &["CERTIFICATE", "X509 CERTIFICATE"],
        )?
    };
    if ders.is_empty() {
        return Err(CertFileError::Empty);
    }
    ders.iter()
        .enumerate()
        .map(|(i, der)| {
            CmpCertificate::from_der(der).map_err(|e| CertFileError::Certificate {
                index: i + 1,
                reason: e.to_string(),
            })
        })
        .collect()
}

/// The DER of every PEM block in `text` whose label is one of `labels`.
pub(crate) fn pem_blocks(text: &str, labels: &[&str]) -> Result<Vec<Vec<u8>>, CertFileError> {
    let mut out = Vec::new();
    let mut body: Option<(String, String)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            body = Some((label.to_owned(), String::new()));
        } else if let Some(label) = line
            .strip_prefix("-----END ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            let index = out.len() + 1;
            let (begin, b64) = body.take().ok_or_else(|| CertFileError::Pem {
                index,
                reason: format!("END {label} without BEGIN"),
            })?;
            if begin != label {
                return Err(CertFileError::Pem {
                    index,
                    reason: format!("BEGIN {begin} ends with END {label}"),
                });
            }
            if labels.contains(&label) {
                let der = base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .map_err(|e| CertFileError::Pem {
                        index,
                        reason: format!("invalid base64: {e}"),
                    })?;
                out.push(der);
            }
        } else if let Some((_, b64)) = body.as_mut() {
            if !line.contains(':') {
                b64.push_str(line);
            }
        }
    }
    if let Some((label, _)) = body {
        return Err(CertFileError::Pem {
            index: out.len() + 1,
            reason: format!("BEGIN {label} is never ended"),
        });
    }
    Ok(out)
}
