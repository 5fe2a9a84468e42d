//! The certificate file of the one-shot commands: `--certout FILE` is staged as
//! `FILE.staged` before certConf is sent, renamed to `FILE` when the server confirms, and kept
//! as `FILE.unconfirmed` (with the reason in `FILE.unconfirmed.why`) when confirmation fails.
//! Every write is atomic (temporary file, fsync, rename).
//!
//! [`CertOutFile`] is a thin adapter of the identity-record [`Storage`] trait to that shape:
//! it serves one identity (whatever the driver names it), keeps the certificate only (the key
//! is where `--newkeyout` put it, the chain where `--chainout` puts it), and keeps no metadata,
//! transaction or trust. [`Watched`] wraps whatever storage the registry built and remembers
//! where this run kept an unconfirmed certificate.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cmp_core::storage::{
    Credential, IdentityName, IdentityRecord, Metadata, Staged, StagedState, Storage, StorageError,
    TransactionBlob, TrustStore,
};

use crate::commands::output::pem;

/// The identity name the one-shot commands give the driver for `--certout`.
pub(crate) const CERTOUT_IDENTITY: &str = "certout";

/// What this adapter is called in errors.
const STORE: &str = "the --certout file";

/// The `--certout FILE` adapter.
#[derive(Debug)]
pub(crate) struct CertOutFile {
    path: PathBuf,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

fn io(path: &Path, e: &std::io::Error) -> StorageError {
    StorageError::io(path.display(), e)
}

impl CertOutFile {
    /// The adapter for `path`.
    pub(crate) fn new(path: impl Into<PathBuf>) -> Self {
        CertOutFile { path: path.into() }
    }

    /// The certificates in `path` (DER), or `None` when there is no such file.
    fn read(path: &Path) -> Result<Option<Vec<Vec<u8>>>, StorageError> {
        if !path.exists() {
            return Ok(None);
        }
        crate::certs::read_certs(path)
            .map(|certs| Some(certs.iter().map(|c| c.der().to_vec()).collect()))
            .map_err(|e| StorageError::Corrupt {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
    }
}

/// A credential of the certificates in a file: the first, then its chain.
fn credential(mut ders: Vec<Vec<u8>>) -> Option<Credential> {
    if ders.is_empty() {
        return None;
    }
    let certificate = ders.remove(0);
    Some(Credential {
        key: None,
        certificate,
        chain: ders,
    })
}

#[async_trait::async_trait]
impl Storage for CertOutFile {
    async fn list(&self) -> Result<Vec<IdentityName>, StorageError> {
        Ok(vec![IdentityName::new(CERTOUT_IDENTITY)?])
    }

    async fn load(&self, name: &IdentityName) -> Result<Option<IdentityRecord>, StorageError> {
        let mut record = IdentityRecord::empty(name.clone());
        record.current = Self::read(&self.path)?.and_then(credential);
        let unconfirmed = with_suffix(&self.path, ".unconfirmed");
        let staged = with_suffix(&self.path, ".staged");
        if let Some(c) = Self::read(&unconfirmed)?.and_then(credential) {
            let why = std::fs::read_to_string(with_suffix(&self.path, ".unconfirmed.why"))
                .unwrap_or_default();
            record.staged = Some(Staged {
                credential: c,
                state: StagedState::Unconfirmed(why.trim().to_owned()),
            });
        } else if let Some(c) = Self::read(&staged)?.and_then(credential) {
            record.staged = Some(Staged {
                credential: c,
                state: StagedState::Pending,
            });
        }
        Ok((record.current.is_some() || record.staged.is_some()).then_some(record))
    }

    async fn stage(&self, _: &IdentityName, c: &Credential) -> Result<(), StorageError> {
        let text = pem("CERTIFICATE", &c.certificate);
        let path = with_suffix(&self.path, ".staged");
        cmp_crypto::fs::write_atomically(&path, text.as_bytes(), 0o644).map_err(|e| io(&path, &e))
    }

    async fn commit(&self, name: &IdentityName) -> Result<(), StorageError> {
        let staged = with_suffix(&self.path, ".staged");
        if !staged.exists() {
            return Err(StorageError::NothingStaged {
                name: name.to_string(),
            });
        }
        std::fs::rename(&staged, &self.path).map_err(|e| io(&self.path, &e))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            cmp_crypto::fs::sync_dir(dir);
        }
        Ok(())
    }

    /// Implicit confirmation: `FILE` written at once (one atomic write instead of staging and
    /// renaming), and a `FILE.staged` an earlier run left behind is dropped, as a commit would
    /// have consumed it.
    async fn install(&self, name: &IdentityName, c: &Credential) -> Result<(), StorageError> {
        let text = pem("CERTIFICATE", &c.certificate);
        cmp_crypto::fs::write_atomically(&self.path, text.as_bytes(), 0o644)
            .map_err(|e| io(&self.path, &e))?;
        self.discard_staged(name).await
    }

    async fn mark_unconfirmed(
        &self,
        name: &IdentityName,
        reason: &str,
    ) -> Result<(), StorageError> {
        let staged = with_suffix(&self.path, ".staged");
        if !staged.exists() {
            return Err(StorageError::NothingStaged {
                name: name.to_string(),
            });
        }
        let why = with_suffix(&self.path, ".unconfirmed.why");
        cmp_crypto::fs::write_atomically(&why, format!("{reason}\n").as_bytes(), 0o644)
            .map_err(|e| io(&why, &e))?;
        let kept = with_suffix(&self.path, ".unconfirmed");
        std::fs::rename(&staged, &kept).map_err(|e| io(&kept, &e))
    }

    async fn discard_staged(&self, _: &IdentityName) -> Result<(), StorageError> {
        let staged = with_suffix(&self.path, ".staged");
        match std::fs::remove_file(&staged) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&staged, &e)),
            _ => Ok(()),
        }
    }

    async fn save_metadata(&self, _: &IdentityName, _: &Metadata) -> Result<(), StorageError> {
        Err(StorageError::Unsupported {
            store: STORE,
            what: "metadata",
        })
    }

    async fn save_transaction(
        &self,
        _: &IdentityName,
        _: Option<&TransactionBlob>,
    ) -> Result<(), StorageError> {
        Err(StorageError::Unsupported {
            store: STORE,
            what: "transactions",
        })
    }

    async fn trust(&self) -> Result<TrustStore, StorageError> {
        Err(StorageError::Unsupported {
            store: STORE,
            what: "trust anchors",
        })
    }

    async fn save_trust(&self, _: &TrustStore) -> Result<(), StorageError> {
        Err(StorageError::Unsupported {
            store: STORE,
            what: "trust anchors",
        })
    }
}

/// A storage that remembers where this run kept a certificate it could not confirm.
#[derive(Debug)]
pub(crate) struct Watched {
    inner: Arc<dyn Storage>,
    certout: PathBuf,
    kept_unconfirmed: Mutex<Option<PathBuf>>,
}

impl Watched {
    /// Watches `inner`, the storage of `--certout certout`.
    pub(crate) fn new(inner: Arc<dyn Storage>, certout: &Path) -> Self {
        Watched {
            inner,
            certout: certout.to_owned(),
            kept_unconfirmed: Mutex::new(None),
        }
    }

    /// Where this run kept an unconfirmed certificate (`FILE.unconfirmed`, as the `files`
    /// storage names it), if it did; a file left there by an earlier run does not count.
    pub(crate) fn kept_unconfirmed(&self) -> Option<PathBuf> {
        self.kept_unconfirmed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[async_trait::async_trait]
impl Storage for Watched {
    async fn list(&self) -> Result<Vec<IdentityName>, StorageError> {
        self.inner.list().await
    }

    async fn load(&self, name: &IdentityName) -> Result<Option<IdentityRecord>, StorageError> {
        self.inner.load(name).await
    }

    async fn stage(&self, name: &IdentityName, c: &Credential) -> Result<(), StorageError> {
        self.inner.stage(name, c).await
    }

    async fn commit(&self, name: &IdentityName) -> Result<(), StorageError> {
        self.inner.commit(name).await
    }

    async fn install(&self, name: &IdentityName, c: &Credential) -> Result<(), StorageError> {
        self.inner.install(name, c).await
    }

    async fn mark_unconfirmed(
        &self,
        name: &IdentityName,
        reason: &str,
    ) -> Result<(), StorageError> {
        self.inner.mark_unconfirmed(name, reason).await?;
        *self
            .kept_unconfirmed
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(with_suffix(&self.certout, ".unconfirmed"));
        Ok(())
    }

    async fn discard_staged(&self, name: &IdentityName) -> Result<(), StorageError> {
        self.inner.discard_staged(name).await
    }

    async fn save_metadata(&self, name: &IdentityName, m: &Metadata) -> Result<(), StorageError> {
        self.inner.save_metadata(name, m).await
    }

    async fn save_transaction(
        &self,
        name: &IdentityName,
        tx: Option<&TransactionBlob>,
    ) -> Result<(), StorageError> {
        self.inner.save_transaction(name, tx).await
    }

    async fn trust(&self) -> Result<TrustStore, StorageError> {
        self.inner.trust().await
    }

    async fn save_trust(&self, trust: &TrustStore) -> Result<(), StorageError> {
        self.inner.save_trust(trust).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use cmp_tests::mock_ca::new_cert as cert;
    use cmp_tests::run::block_on;

    fn credential_of(der: &[u8]) -> Credential {
        Credential {
            key: None,
            certificate: der.to_vec(),
            chain: Vec::new(),
        }
    }

    #[test]
    fn install_writes_the_file_at_once_and_drops_a_stale_staged_one() {
        let dir = tempfile::tempdir().expect("dir");
        let id = IdentityName::new(CERTOUT_IDENTITY).expect("name");
        let path = dir.path().join("device.pem");
        let s = Watched::new(Arc::new(CertOutFile::new(&path)), &path);
        let c = credential_of(cert().der());
        // An earlier run crashed after staging.
        block_on(s.stage(&id, &c)).expect("stage");
        block_on(s.install(&id, &c)).expect("install");
        let loaded = block_on(s.load(&id)).expect("load").expect("current");
        assert_eq!((loaded.current, loaded.staged), (Some(c), None));
        assert!(!dir.path().join("device.pem.staged").exists());
        assert_eq!(s.kept_unconfirmed(), None);
    }

    #[test]
    fn stage_commit_and_unconfirmed() {
        let dir = tempfile::tempdir().expect("dir");
        let id = IdentityName::new(CERTOUT_IDENTITY).expect("name");
        let path = dir.path().join("device.pem");
        let s = Watched::new(Arc::new(CertOutFile::new(&path)), &path);
        assert_eq!(block_on(s.load(&id)), Ok(None));
        let c = credential_of(cert().der());
        block_on(s.stage(&id, &c)).expect("stage");
        assert_eq!(s.kept_unconfirmed(), None);
        assert!(
            !path.exists(),
            "nothing at the final name before confirmation"
        );
        let loaded = block_on(s.load(&id)).expect("load").expect("staged");
        assert_eq!(
            (loaded.current, loaded.staged),
            (
                None,
                Some(Staged {
                    credential: c.clone(),
                    state: StagedState::Pending
                })
            )
        );
        block_on(s.commit(&id)).expect("commit");
        let loaded = block_on(s.load(&id)).expect("load").expect("current");
        assert_eq!((loaded.current, loaded.staged), (Some(c.clone()), None));
        assert_eq!(
            block_on(s.commit(&id)),
            Err(StorageError::NothingStaged {
                name: "certout".into()
            })
        );

        let other = dir.path().join("other.pem");
        let s = Watched::new(Arc::new(CertOutFile::new(&other)), &other);
        block_on(s.stage(&id, &c)).expect("stage");
        block_on(s.mark_unconfirmed(&id, "pkiConf never came")).expect("mark");
        assert!(!other.exists());
        assert_eq!(
            s.kept_unconfirmed(),
            Some(dir.path().join("other.pem.unconfirmed"))
        );
        let loaded = block_on(s.load(&id)).expect("load").expect("kept");
        assert_eq!(
            loaded.staged.map(|s| s.state),
            Some(StagedState::Unconfirmed("pkiConf never came".into()))
        );
        assert_eq!(
            block_on(s.save_metadata(&id, &Metadata::default())).map_err(|e| e.to_string()),
            Err("storage: the --certout file does not keep metadata".into())
        );
    }
}
