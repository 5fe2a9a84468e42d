//! Writing results: PEM certificates written atomically, and the `--reqout`/`--rspout` logs.

use std::io::Write;
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

/// Writes `data` to `path` atomically: a temporary file in the same directory, fsync,
/// rename, fsync of the directory.
pub(crate) fn write_atomically(path: &Path, data: &[u8], mode: u32) -> Result<(), AgentError> {
    let fail = |what: &str, e: std::io::Error| {
        AgentError::local(format!("cannot {what} {}: {e}", path.display()))
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    let result = (|| {
        let mut f = options.open(&tmp).map_err(|e| fail("create", e))?;
        f.write_all(data)
            .and_then(|()| f.sync_all())
            .map_err(|e| fail("write", e))?;
        std::fs::rename(&tmp, path).map_err(|e| fail("replace", e))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes certificates as concatenated PEM (mode 0644).
pub(crate) fn write_certs(path: &Path, certs: &[CmpCertificate]) -> Result<(), AgentError> {
    let text: String = certs.iter().map(|c| pem("CERTIFICATE", c.der())).collect();
    write_atomically(path, text.as_bytes(), 0o644)
}

/// Saves messages in order into a directory, named `NN-<body>.der`.
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
        if let Err(e) = std::fs::write(&path, der) {
            eprintln!("cmp-agent: warning: cannot save {}: {e}", path.display());
        }
    }
}
