//! Writing results: PEM certificates written atomically, and the `--reqout`/`--rspout` logs.

use std::path::Path;

use base64::Engine;
use cmp_core::asn1::{CmpCertificate, ReceivedMessage};

use super::AgentError;

/// PEM text of `der` under `label`.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Writes `data` to `path` atomically with `mode` ([`cmp_crypto::fs::write_atomically`]).
pub(crate) fn write_atomically(path: &Path, data: &[u8], mode: u32) -> Result<(), AgentError> {
    cmp_crypto::fs::write_atomically(path, data, mode).map_err(|e| AgentError::local(e.to_string()))
}

/// Writes certificates as concatenated PEM (mode 0644).
pub(crate) fn write_certs(path: &Path, certs: &[CmpCertificate]) -> Result<(), AgentError> {
    let text: String = certs.iter().map(|c| pem("CERTIFICATE", c.der())).collect();
    write_atomically(path, text.as_bytes(), 0o644)
}

/// Saves messages in order into a directory, named `NN-<body>.der`, each written atomically
/// with mode 0600: a MAC-protected message allows offline guessing of the shared secret.
#[derive(Debug)]
pub(crate) struct MessageLog {
    dir: std::path::PathBuf,
    count: usize,
}

impl MessageLog {
    /// A log into `dir` (created if missing).
    pub(crate) fn new(dir: &Path) -> Result<Self, AgentError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| AgentError::local(format!("cannot create {}: {e}", dir.display())))?;
        Ok(MessageLog {
            dir: dir.to_owned(),
            count: 0,
        })
    }

    /// Saves one message.
    pub(crate) fn save(&mut self, der: &[u8]) {
        self.count += 1;
        let body = ReceivedMessage::decode(der).map_or("unknown", |m| m.message().body.name());
        let path = self.dir.join(format!("{:02}-{body}.der", self.count));
        if let Err(e) = cmp_crypto::fs::write_atomically(&path, der, 0o600) {
            eprintln!("cmp-agent: warning: {e}");
        }
    }
}
