//! # cmp-example-file-transport
//!
//! A dynamic transport plugin for offline (air-gapped) CMP: it exchanges messages through a
//! directory that a courier — a person with a USB stick, a script, a data diode — carries to
//! and from the CA.
//!
//! Built with `cargo build -p cmp-example-file-transport` into
//! `target/debug/libcmp_example_file_transport.so` (`--release`: `target/release/…`). Its
//! name is `file`; its settings (the `create` argument) are the URL `file:///DIR`, `DIR` an
//! existing directory.
//!
//! For each request it
//! 1. writes the DER PKIMessage atomically (a temporary file in `DIR`, then a rename) as
//!    `DIR/NAME.req.der`, where `NAME` is the hex transactionID, the process id and a
//!    sequence number of this transport (`0a1b…-4711-3`), unique per message;
//! 2. waits, polling every 50 ms and bounded by the exchange's deadline, for
//!    `DIR/NAME.rsp.der`, reads it and removes it.
//!
//! A courier must write the response atomically too (a temporary name not ending in
//! `.rsp.der`, then a rename). When the deadline passes first, the request file is removed if
//! it is still there (so that no one answers a transaction that was given up) and the
//! exchange fails with a timeout.

use std::ffi::CStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cmp_core::asn1::ReceivedMessage;
use cmp_core::transport::{Transport, TransportError};
use cmp_plugin::export::TransportPlugin;

/// How often the directory is checked for the response.
const POLL: Duration = Duration::from_millis(50);

/// The file-drop transport for one directory.
#[derive(Debug)]
pub struct FileTransport {
    url: String,
    dir: PathBuf,
    sequence: AtomicU64,
}

impl FileTransport {
    /// The transport for `file:///DIR`; `DIR` must be an existing directory.
    pub fn new(url: &str) -> Result<Self, TransportError> {
        let bad = |reason: &str| TransportError::InvalidUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let path = url
            .strip_prefix("file://")
            .ok_or_else(|| bad("a file transport URL starts with file://"))?;
        if !path.starts_with('/') {
            return Err(bad("the directory must be absolute: file:///DIR"));
        }
        let dir = PathBuf::from(path);
        if !dir.is_dir() {
            return Err(bad("the directory does not exist"));
        }
        Ok(FileTransport {
            url: url.to_owned(),
            dir,
            sequence: AtomicU64::new(0),
        })
    }

    /// The name of the files of the next message.
    fn next_name(&self, request: &[u8]) -> String {
        let seq = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        let tid = ReceivedMessage::decode(request)
            .ok()
            .and_then(|m| m.message().header.transaction_id.as_ref().map(hex::encode))
            .unwrap_or_else(|| "no-transaction-id".into());
        format!("{tid}-{}-{seq}", std::process::id())
    }
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> TransportError {
    TransportError::Protocol(format!("cannot {what} {}: {e}", path.display()))
}

#[async_trait::async_trait]
impl Transport for FileTransport {
    async fn exchange(
        &self,
        request: &[u8],
        deadline: Option<Instant>,
    ) -> Result<Vec<u8>, TransportError> {
        let start = Instant::now();
        let name = self.next_name(request);
        let req_path = self.dir.join(format!("{name}.req.der"));
        let rsp_path = self.dir.join(format!("{name}.rsp.der"));
        let mut tmp = tempfile::Builder::new()
            .prefix(".cmp-")
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(|e| io_error("create a file in", &self.dir, e))?;
        tmp.write_all(request)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| io_error("write", tmp.path(), e))?;
        tmp.persist(&req_path)
            .map_err(|e| io_error("write", &req_path, e.error))?;
        loop {
            match std::fs::read(&rsp_path) {
                Ok(response) => {
                    std::fs::remove_file(&rsp_path)
                        .map_err(|e| io_error("remove", &rsp_path, e))?;
                    return Ok(response);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("read", &rsp_path, e)),
            }
            if deadline.is_some_and(|d| Instant::now() + POLL > d) {
                // Withdraw the request if the courier has not taken it yet.
                let _ = std::fs::remove_file(&req_path);
                return Err(TransportError::Timeout {
                    what: format!("waiting for {}", rsp_path.display()),
                    millis: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

impl TransportPlugin for FileTransport {
    const NAME: &'static CStr = c"file";
    const VERSION: &'static CStr = c"0.1.0";

    fn create(settings: &str) -> Result<Self, String> {
        FileTransport::new(settings.trim()).map_err(|e| e.to_string())
    }
}

cmp_plugin::export_transport!(FileTransport);

/// The URL, for diagnostics.
impl std::fmt::Display for FileTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}
