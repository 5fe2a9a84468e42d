//! The `files` identity store: PEM files other software can read, installed by one atomic
//! switch of a generation directory (as Kubernetes updates projected secrets).
//!
//! ```text
//! DIR/
//!   NAME/                       one directory per identity
//!     gen-000041/               the previous credential (kept for a roll back)
//!     gen-000042/               a generation, never changed once in place:
//!       key.pem                   the key as PKCS#8 PEM, mode 0600 — or key.uri, its locator
//!       cert.pem                  the certificate
//!       chain.pem                 its chain, issuer first (empty when there is none)
//!     gen-000043/               the staged credential
//!     current  -> gen-000042    the installed credential: read NAME/current/cert.pem
//!     previous -> gen-000041
//!     staged   -> gen-000043
//!     staged.why                "gen-000043" and the reason it is unconfirmed
//!     metadata.json             next action, failures, last error
//!     transaction.bin           the unfinished transaction: "CMPTXN", version (u32, big
//!                               endian), the state (mode 0600)
//!   trust/                      the trust anchors and CRLs, in generations as well:
//!     current -> gen-000007/{anchors.pem,crls.pem}
//! ```
//!
//! **An install** (stage, then commit) goes in steps, each atomic and fsynced:
//! 1. the generation is written into `NAME/.gen-N.tmp/`, every file fsynced, then the
//!    directory;
//! 2. the directory is renamed to `NAME/gen-N` (a generation exists whole or not at all);
//! 3. `NAME/staged` is pointed at it — a new symlink renamed over the old one;
//! 4. on commit, `NAME/previous` is pointed at the current generation, then
//! 5. `NAME/current` is pointed at the staged generation: **the switch**; key, certificate
//!    and chain change together for every reader;
//! 6. `NAME/staged` and `staged.why` are removed, and generations no link names are pruned.
//!
//! A crash between any two steps leaves `current` on the old generation or on the new one,
//! never on a mix; leftovers (an unnamed generation, a temporary directory) are pruned by the
//! next stage, commit or discard. A `staged` link naming the current generation (a crash in
//! step 6) counts as nothing staged.
//!
//! **Blocking:** the file system calls run on tokio's blocking pool
//! (`tokio::task::spawn_blocking`) when called inside a tokio runtime, so they never stall
//! an async worker thread; outside one (a caller's own executor) they run on the calling
//! thread. The store keeps no state in memory: a new store over the same directory sees
//! exactly what the last one left. One process writes a directory at a time (the daemon
//! takes a lock).

use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use cmp_core::storage::{
    Credential, IdentityName, IdentityRecord, Metadata, Staged, StagedState, Storage, StorageError,
    StoredKey, TransactionBlob, TrustStore,
};
use zeroize::Zeroizing;

use crate::commands::output::pem;

/// The directory of the trust anchors and CRLs.
const TRUST: &str = "trust";
/// The magic at the start of `transaction.bin`.
const TX_MAGIC: &[u8] = b"CMPTXN";

/// The generation-directory store under one directory.
#[derive(Clone, Debug)]
pub(crate) struct FileStore {
    root: PathBuf,
    /// Tests: stop (as a crash would) after the step of this name.
    #[cfg(test)]
    pub(crate) crash_after: Option<&'static str>,
}

fn io(path: &Path, e: &std::io::Error) -> StorageError {
    StorageError::io(path.display(), e)
}

fn corrupt(path: &Path, reason: impl Into<String>) -> StorageError {
    StorageError::Corrupt {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Runs `f` on tokio's blocking pool when inside a runtime, else here.
async fn blocking<T, F>(f: F) -> Result<T, StorageError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StorageError> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(h) => h
            .spawn_blocking(f)
            .await
            .map_err(|e| StorageError::Other(format!("the storage task failed: {e}")))?,
        Err(_) => f(),
    }
}

/// `gen-000042` for 42.
fn gen_name(n: u64) -> String {
    format!("gen-{n:06}")
}

/// 42 for `gen-000042` (and for `.gen-000042.tmp`).
fn gen_number(file_name: &str) -> Option<u64> {
    let core = file_name
        .strip_prefix('.')
        .and_then(|s| s.strip_suffix(".tmp"))
        .unwrap_or(file_name);
    core.strip_prefix("gen-")
        .filter(|d| d.len() >= 6 && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse().ok())
}

/// Writes `data` atomically, mapping the error.
fn write(path: &Path, data: &[u8], mode: u32) -> Result<(), StorageError> {
    cmp_crypto::fs::write_atomically(path, data, mode).map_err(|e| io(path, &e))
}

/// Creates `path` (which must not exist) with `mode`, writes `data` and fsyncs it.
fn write_new(path: &Path, data: &[u8], mode: u32) -> Result<(), StorageError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| io(path, &e))?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(|e| io(path, &e))
}

/// Removes a file or link; a missing one is fine.
fn remove(path: &Path) -> Result<(), StorageError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(io(path, &e)),
        _ => Ok(()),
    }
}

/// Points the symlink `dir/link` at `target` (a name in `dir`) atomically: a new link is
/// made under a temporary name and renamed over the old one.
fn set_link(dir: &Path, link: &str, target: &str) -> Result<(), StorageError> {
    let tmp = dir.join(format!(".{link}.link-tmp"));
    remove(&tmp)?;
    std::os::unix::fs::symlink(target, &tmp).map_err(|e| io(&tmp, &e))?;
    let path = dir.join(link);
    fs::rename(&tmp, &path).map_err(|e| io(&path, &e))?;
    cmp_crypto::fs::sync_dir(dir);
    Ok(())
}

/// The generation `dir/link` names, if the link exists; it must name a generation that
/// exists.
fn read_link(dir: &Path, link: &str) -> Result<Option<String>, StorageError> {
    let path = dir.join(link);
    let target = match fs::read_link(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&path, &e)),
    };
    let name = target
        .to_str()
        .filter(|t| !t.starts_with('.') && gen_number(t).is_some())
        .ok_or_else(|| {
            corrupt(
                &path,
                format!("names {}, not a generation", target.display()),
            )
        })?;
    if !dir.join(name).is_dir() {
        return Err(corrupt(
            &path,
            format!("names {name}, which does not exist"),
        ));
    }
    Ok(Some(name.to_owned()))
}

/// Every `gen-N` and `.gen-N.tmp` in `dir`: (file name, N).
fn generations(dir: &Path) -> Result<Vec<(String, u64)>, StorageError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(dir, &e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| io(dir, &e))?;
        if let Some(name) = entry.file_name().to_str() {
            if let Some(n) = gen_number(name) {
                out.push((name.to_owned(), n));
            }
        }
    }
    Ok(out)
}

/// Writes a new generation in `dir` holding `files` (name, data, mode) and returns its
/// name: written into `.gen-N.tmp`, then renamed to `gen-N`.
fn write_generation(
    store: &FileStore,
    dir: &Path,
    files: &[(&str, &[u8], u32)],
) -> Result<String, StorageError> {
    fs::create_dir_all(dir).map_err(|e| io(dir, &e))?;
    let next = generations(dir)?.iter().map(|(_, n)| *n).max().unwrap_or(0) + 1;
    let name = gen_name(next);
    let tmp = dir.join(format!(".{name}.tmp"));
    fs::create_dir(&tmp).map_err(|e| io(&tmp, &e))?;
    // Each file is written and fsynced in place: the temporary directory is the unit made
    // visible by one rename, so a per-file rename (and its directory fsync) would add nothing.
    for (file, data, mode) in files {
        write_new(&tmp.join(file), data, *mode)?;
    }
    cmp_crypto::fs::sync_dir(&tmp);
    store.step("generation written")?;
    let path = dir.join(&name);
    fs::rename(&tmp, &path).map_err(|e| io(&path, &e))?;
    cmp_crypto::fs::sync_dir(dir);
    store.step("generation in place")?;
    Ok(name)
}

/// Removes every generation of `dir` that `current`, `previous` and `staged` do not name,
/// and every temporary generation.
fn prune(dir: &Path) -> Result<(), StorageError> {
    let mut keep = BTreeSet::new();
    for link in ["current", "previous", "staged"] {
        if let Some(g) = read_link(dir, link)? {
            keep.insert(g);
        }
    }
    let mut removed = false;
    for (name, _) in generations(dir)? {
        if !keep.contains(&name) {
            let path = dir.join(&name);
            fs::remove_dir_all(&path).map_err(|e| io(&path, &e))?;
            removed = true;
        }
    }
    // Only a removal needs persisting (and even that only saves the next prune some work).
    if removed {
        cmp_crypto::fs::sync_dir(dir);
    }
    Ok(())
}

/// Switches `current` of `dir` to `generation`, keeping the old one as `previous`.
fn switch_current(store: &FileStore, dir: &Path, generation: &str) -> Result<(), StorageError> {
    if let Some(old) = read_link(dir, "current")? {
        if old != generation {
            set_link(dir, "previous", &old)?;
        }
    }
    store.step("previous linked")?;
    set_link(dir, "current", generation)?;
    store.step("current switched")
}

/// Reads the PEM blocks labelled `labels` in `path`; `None` when the file does not exist.
fn read_pem(path: &Path, labels: &[&str]) -> Result<Option<Vec<Vec<u8>>>, StorageError> {
    let text = match fs::read(path) {
        Ok(t) => Zeroizing::new(t),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path, &e)),
    };
    let text = std::str::from_utf8(&text).map_err(|_| corrupt(path, "not PEM text"))?;
    crate::certs::pem_blocks(text, labels)
        .map(Some)
        .map_err(|e| corrupt(path, e.to_string()))
}

/// The credential in the generation directory `gen`.
fn read_credential(gen_dir: &Path) -> Result<Credential, StorageError> {
    let cert_path = gen_dir.join("cert.pem");
    let certificate = match read_pem(&cert_path, &["CERTIFICATE"])? {
        Some(mut c) if c.len() == 1 => c.remove(0),
        Some(c) => {
            return Err(corrupt(
                &cert_path,
                format!("{} certificates, expected one", c.len()),
            ));
        }
        None => return Err(corrupt(&cert_path, "missing")),
    };
    let chain_path = gen_dir.join("chain.pem");
    let chain =
        read_pem(&chain_path, &["CERTIFICATE"])?.ok_or_else(|| corrupt(&chain_path, "missing"))?;
    let key_path = gen_dir.join("key.pem");
    let uri_path = gen_dir.join("key.uri");
    let key = match read_pem(&key_path, &["PRIVATE KEY"])? {
        Some(mut k) if k.len() == 1 => Some(StoredKey::Pkcs8(Zeroizing::new(k.remove(0)))),
        Some(_) => return Err(corrupt(&key_path, "expected one PRIVATE KEY")),
        None => match fs::read_to_string(&uri_path) {
            Ok(t) => Some(StoredKey::Locator(t.trim_end_matches('\n').to_owned())),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(io(&uri_path, &e)),
        },
    };
    Ok(Credential {
        key,
        certificate,
        chain,
    })
}

/// The metadata as `metadata.json` keeps it.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MetadataFile {
    next_action: Option<String>,
    next_action_at: Option<i64>,
    failures: u32,
    last_error: Option<String>,
}

impl FileStore {
    /// A store under `root` (created when the first record is written).
    pub(crate) fn new(root: impl Into<PathBuf>) -> Self {
        FileStore {
            root: root.into(),
            #[cfg(test)]
            crash_after: None,
        }
    }

    /// Marks the end of an install step; in tests, stops there as a crash would.
    #[allow(clippy::unused_self, clippy::unnecessary_wraps)]
    fn step(&self, _name: &'static str) -> Result<(), StorageError> {
        #[cfg(test)]
        if self.crash_after == Some(_name) {
            return Err(StorageError::Other(format!(
                "simulated crash after: {_name}"
            )));
        }
        Ok(())
    }

    fn dir(&self, name: &IdentityName) -> PathBuf {
        self.root.join(name.as_str())
    }

    fn list_sync(&self) -> Result<Vec<IdentityName>, StorageError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.root, &e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io(&self.root, &e))?;
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if let (true, Some(n)) = (is_dir, entry.file_name().to_str()) {
                if let Ok(name) = IdentityName::new(n) {
                    out.push(name);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn load_sync(&self, name: &IdentityName) -> Result<Option<IdentityRecord>, StorageError> {
        let dir = self.dir(name);
        if !dir.is_dir() {
            return Ok(None);
        }
        let mut record = IdentityRecord::empty(name.clone());
        let current = read_link(&dir, "current")?;
        if let Some(g) = &current {
            record.current = Some(read_credential(&dir.join(g))?);
        }
        if let Some(g) = read_link(&dir, "staged")?.filter(|g| Some(g) != current.as_ref()) {
            let why_path = dir.join("staged.why");
            let state = match fs::read_to_string(&why_path) {
                Ok(text) => match text.split_once('\n') {
                    Some((of, reason)) if of == g => {
                        StagedState::Unconfirmed(reason.trim_end().to_owned())
                    }
                    _ => StagedState::Pending,
                },
                Err(e) if e.kind() == ErrorKind::NotFound => StagedState::Pending,
                Err(e) => return Err(io(&why_path, &e)),
            };
            record.staged = Some(Staged {
                credential: read_credential(&dir.join(&g))?,
                state,
            });
        }
        let meta_path = dir.join("metadata.json");
        match fs::read(&meta_path) {
            Ok(data) => {
                let m: MetadataFile = serde_json::from_slice(&data)
                    .map_err(|e| corrupt(&meta_path, e.to_string()))?;
                record.metadata = Metadata {
                    next_action: m.next_action,
                    next_action_at: m.next_action_at,
                    failures: m.failures,
                    last_error: m.last_error,
                };
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io(&meta_path, &e)),
        }
        let tx_path = dir.join("transaction.bin");
        match fs::read(&tx_path) {
            Ok(data) => {
                let rest = data
                    .strip_prefix(TX_MAGIC)
                    .filter(|r| r.len() >= 4)
                    .ok_or_else(|| corrupt(&tx_path, "not a saved transaction"))?;
                let (version, bytes) = rest.split_at(4);
                let version = u32::from_be_bytes([version[0], version[1], version[2], version[3]]);
                record.transaction = Some(TransactionBlob {
                    version,
                    bytes: bytes.to_vec(),
                });
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io(&tx_path, &e)),
        }
        Ok(Some(record))
    }

    fn stage_sync(&self, name: &IdentityName, c: &Credential) -> Result<(), StorageError> {
        let dir = self.dir(name);
        let cert = pem("CERTIFICATE", &c.certificate);
        let chain: String = c.chain.iter().map(|d| pem("CERTIFICATE", d)).collect();
        let key_pem;
        let mut files: Vec<(&str, &[u8], u32)> = vec![
            ("cert.pem", cert.as_bytes(), 0o644),
            ("chain.pem", chain.as_bytes(), 0o644),
        ];
        match &c.key {
            Some(StoredKey::Pkcs8(der)) => {
                key_pem = Zeroizing::new(pem("PRIVATE KEY", der));
                files.push(("key.pem", key_pem.as_bytes(), 0o600));
            }
            Some(StoredKey::Locator(l)) => files.push(("key.uri", l.as_bytes(), 0o644)),
            None => {}
            Some(_) => return Err(StorageError::Other("a key of an unknown kind".into())),
        }
        if !self.root.is_dir() {
            fs::create_dir_all(&self.root).map_err(|e| io(&self.root, &e))?;
        }
        let new_identity = !dir.is_dir();
        let generation = write_generation(self, &dir, &files)?;
        if new_identity {
            // The identity's directory entry itself, once.
            cmp_crypto::fs::sync_dir(&self.root);
        }
        set_link(&dir, "staged", &generation)?;
        self.step("staged linked")?;
        prune(&dir)
    }

    fn commit_sync(&self, name: &IdentityName) -> Result<(), StorageError> {
        let dir = self.dir(name);
        let current = read_link(&dir, "current")?;
        let staged = read_link(&dir, "staged")?
            .filter(|g| Some(g) != current.as_ref())
            .ok_or_else(|| StorageError::NothingStaged {
                name: name.to_string(),
            })?;
        switch_current(self, &dir, &staged)?;
        remove(&dir.join("staged"))?;
        remove(&dir.join("staged.why"))?;
        cmp_crypto::fs::sync_dir(&dir);
        self.step("staged removed")?;
        prune(&dir)
    }

    fn mark_unconfirmed_sync(&self, name: &IdentityName, reason: &str) -> Result<(), StorageError> {
        let dir = self.dir(name);
        let current = read_link(&dir, "current")?;
        let staged = read_link(&dir, "staged")?
            .filter(|g| Some(g) != current.as_ref())
            .ok_or_else(|| StorageError::NothingStaged {
                name: name.to_string(),
            })?;
        let text = format!("{staged}\n{}\n", reason.trim_end());
        write(&dir.join("staged.why"), text.as_bytes(), 0o644)
    }

    fn discard_staged_sync(&self, name: &IdentityName) -> Result<(), StorageError> {
        let dir = self.dir(name);
        if !dir.is_dir() {
            return Ok(());
        }
        remove(&dir.join("staged"))?;
        remove(&dir.join("staged.why"))?;
        cmp_crypto::fs::sync_dir(&dir);
        prune(&dir)
    }

    fn ensure_dir(&self, name: &IdentityName) -> Result<PathBuf, StorageError> {
        let dir = self.dir(name);
        if !dir.is_dir() {
            fs::create_dir_all(&dir).map_err(|e| io(&dir, &e))?;
            cmp_crypto::fs::sync_dir(&self.root);
        }
        Ok(dir)
    }

    fn save_metadata_sync(&self, name: &IdentityName, m: &Metadata) -> Result<(), StorageError> {
        let dir = self.ensure_dir(name)?;
        let file = MetadataFile {
            next_action: m.next_action.clone(),
            next_action_at: m.next_action_at,
            failures: m.failures,
            last_error: m.last_error.clone(),
        };
        let mut json = serde_json::to_vec_pretty(&file)
            .map_err(|e| StorageError::Other(format!("metadata: {e}")))?;
        json.push(b'\n');
        write(&dir.join("metadata.json"), &json, 0o644)
    }

    fn save_transaction_sync(
        &self,
        name: &IdentityName,
        tx: Option<&TransactionBlob>,
    ) -> Result<(), StorageError> {
        let path = self.dir(name).join("transaction.bin");
        match tx {
            Some(tx) => {
                let dir = self.ensure_dir(name)?;
                let mut data = TX_MAGIC.to_vec();
                data.extend_from_slice(&tx.version.to_be_bytes());
                data.extend_from_slice(&tx.bytes);
                write(&dir.join("transaction.bin"), &data, 0o600)
            }
            None => {
                remove(&path)?;
                if let Some(dir) = path.parent() {
                    cmp_crypto::fs::sync_dir(dir);
                }
                Ok(())
            }
        }
    }

    fn trust_sync(&self) -> Result<TrustStore, StorageError> {
        let dir = self.root.join(TRUST);
        let Some(g) = read_link(&dir, "current")? else {
            return Ok(TrustStore::default());
        };
        let path = dir.join(g);
        let anchors = read_pem(&path.join("anchors.pem"), &["CERTIFICATE"])?
            .ok_or_else(|| corrupt(&path.join("anchors.pem"), "missing"))?;
        let crls = read_pem(&path.join("crls.pem"), &["X509 CRL"])?
            .ok_or_else(|| corrupt(&path.join("crls.pem"), "missing"))?;
        Ok(TrustStore { anchors, crls })
    }

    fn save_trust_sync(&self, trust: &TrustStore) -> Result<(), StorageError> {
        let dir = self.root.join(TRUST);
        let anchors: String = trust
            .anchors
            .iter()
            .map(|d| pem("CERTIFICATE", d))
            .collect();
        let crls: String = trust.crls.iter().map(|d| pem("X509 CRL", d)).collect();
        let generation = write_generation(
            self,
            &dir,
            &[
                ("anchors.pem", anchors.as_bytes(), 0o644),
                ("crls.pem", crls.as_bytes(), 0o644),
            ],
        )?;
        cmp_crypto::fs::sync_dir(&self.root);
        switch_current(self, &dir, &generation)?;
        prune(&dir)
    }
}

#[async_trait::async_trait]
impl Storage for FileStore {
    async fn list(&self) -> Result<Vec<IdentityName>, StorageError> {
        let s = self.clone();
        blocking(move || s.list_sync()).await
    }

    async fn load(&self, name: &IdentityName) -> Result<Option<IdentityRecord>, StorageError> {
        let (s, name) = (self.clone(), name.clone());
        blocking(move || s.load_sync(&name)).await
    }

    async fn stage(
        &self,
        name: &IdentityName,
        credential: &Credential,
    ) -> Result<(), StorageError> {
        let (s, name, c) = (self.clone(), name.clone(), credential.clone());
        blocking(move || s.stage_sync(&name, &c)).await
    }

    async fn commit(&self, name: &IdentityName) -> Result<(), StorageError> {
        let (s, name) = (self.clone(), name.clone());
        blocking(move || s.commit_sync(&name)).await
    }

    async fn mark_unconfirmed(
        &self,
        name: &IdentityName,
        reason: &str,
    ) -> Result<(), StorageError> {
        let (s, name, reason) = (self.clone(), name.clone(), reason.to_owned());
        blocking(move || s.mark_unconfirmed_sync(&name, &reason)).await
    }

    async fn discard_staged(&self, name: &IdentityName) -> Result<(), StorageError> {
        let (s, name) = (self.clone(), name.clone());
        blocking(move || s.discard_staged_sync(&name)).await
    }

    async fn save_metadata(
        &self,
        name: &IdentityName,
        metadata: &Metadata,
    ) -> Result<(), StorageError> {
        let (s, name, m) = (self.clone(), name.clone(), metadata.clone());
        blocking(move || s.save_metadata_sync(&name, &m)).await
    }

    async fn save_transaction(
        &self,
        name: &IdentityName,
        transaction: Option<&TransactionBlob>,
    ) -> Result<(), StorageError> {
        let (s, name, tx) = (self.clone(), name.clone(), transaction.cloned());
        blocking(move || s.save_transaction_sync(&name, tx.as_ref())).await
    }

    async fn trust(&self) -> Result<TrustStore, StorageError> {
        let s = self.clone();
        blocking(move || s.trust_sync()).await
    }

    async fn save_trust(&self, trust: &TrustStore) -> Result<(), StorageError> {
        let (s, t) = (self.clone(), trust.clone());
        blocking(move || s.save_trust_sync(&t)).await
    }
}

#[cfg(test)]
mod tests;
