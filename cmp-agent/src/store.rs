//! The certificate file store of the one-shot commands: `--certout FILE` is staged as
//! `FILE.staged` before certConf is sent, renamed to `FILE` when the server confirms, and kept
//! as `FILE.unconfirmed` (with the reason in `FILE.unconfirmed.why`) when confirmation fails.
//! Every write is atomic (temporary file, fsync, rename).
//!
//! [`Watched`] wraps whatever storage the registry built and remembers where this run kept an
//! unconfirmed certificate.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cmp_core::asn1::CmpCertificate;
use cmp_core::storage::{Storage, StorageError, StoredCertificate};

use crate::commands::output::{pem, write_atomically};

/// Certificates as PEM files named by path.
#[derive(Debug, Default)]
pub(crate) struct CertFileStore;

fn with_suffix(name: &str, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{name}{suffix}"))
}

fn err(e: impl std::fmt::Display) -> StorageError {
    StorageError(e.to_string())
}

/// A storage that remembers where this run kept a certificate it could not confirm.
#[derive(Debug)]
pub(crate) struct Watched {
    inner: Arc<dyn Storage>,
    kept_unconfirmed: Mutex<Option<PathBuf>>,
}

impl Watched {
    /// Watches `inner`.
    pub(crate) fn new(inner: Arc<dyn Storage>) -> Self {
        Watched {
            inner,
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
    async fn stage(
        &self,
        name: &str,
        certificate: &CmpCertificate,
        chain: &[CmpCertificate],
    ) -> Result<(), StorageError> {
        self.inner.stage(name, certificate, chain).await
    }

    async fn commit(&self, name: &str) -> Result<(), StorageError> {
        self.inner.commit(name).await
    }

    async fn mark_unconfirmed(&self, name: &str, reason: &str) -> Result<(), StorageError> {
        self.inner.mark_unconfirmed(name, reason).await?;
        *self
            .kept_unconfirmed
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(with_suffix(name, ".unconfirmed"));
        Ok(())
    }

    async fn load(&self, name: &str) -> Result<Option<StoredCertificate>, StorageError> {
        self.inner.load(name).await
    }
}

fn read_pem_certs(path: &Path) -> Result<Option<Vec<CmpCertificate>>, StorageError> {
    if !path.exists() {
        return Ok(None);
    }
    crate::certs::read_certs(path)
        .map(Some)
        .map_err(|e| err(format!("{}: {e}", path.display())))
}

#[async_trait::async_trait]
impl Storage for CertFileStore {
    async fn stage(
        &self,
        name: &str,
        certificate: &CmpCertificate,
        _chain: &[CmpCertificate],
    ) -> Result<(), StorageError> {
        let text = pem("CERTIFICATE", certificate.der());
        write_atomically(&with_suffix(name, ".staged"), text.as_bytes(), 0o644)
            .map_err(|e| err(e.message()))
    }

    async fn commit(&self, name: &str) -> Result<(), StorageError> {
        std::fs::rename(with_suffix(name, ".staged"), name)
            .map_err(|e| err(format!("cannot commit {name}: {e}")))?;
        if let Some(dir) = Path::new(name)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            cmp_crypto::fs::sync_dir(dir);
        }
        Ok(())
    }

    async fn mark_unconfirmed(&self, name: &str, reason: &str) -> Result<(), StorageError> {
        let kept = with_suffix(name, ".unconfirmed");
        write_atomically(
            &with_suffix(name, ".unconfirmed.why"),
            format!("{reason}\n").as_bytes(),
            0o644,
        )
        .map_err(|e| err(e.message()))?;
        std::fs::rename(with_suffix(name, ".staged"), &kept)
            .map_err(|e| err(format!("cannot keep {}: {e}", kept.display())))?;
        Ok(())
    }

    async fn load(&self, name: &str) -> Result<Option<StoredCertificate>, StorageError> {
        let found = |certs: Vec<CmpCertificate>, unconfirmed: Option<String>| {
            let mut it = certs.into_iter();
            it.next().map(|certificate| StoredCertificate {
                certificate,
                chain: it.collect(),
                unconfirmed,
            })
        };
        if let Some(c) = read_pem_certs(Path::new(name))? {
            return Ok(found(c, None));
        }
        if let Some(c) = read_pem_certs(&with_suffix(name, ".unconfirmed"))? {
            let why =
                std::fs::read_to_string(with_suffix(name, ".unconfirmed.why")).unwrap_or_default();
            return Ok(found(c, Some(why.trim().to_owned())));
        }
        if let Some(c) = read_pem_certs(&with_suffix(name, ".staged"))? {
            return Ok(found(
                c,
                Some("the transaction was interrupted before confirmation".into()),
            ));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use cmp_tests::mock_ca::new_cert as cert;
    use cmp_tests::run::block_on;

    #[test]
    fn stage_commit_and_unconfirmed() {
        let dir = std::env::temp_dir().join(format!("cmp-agent-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let name = dir.join("device.pem").display().to_string();
        let s = Watched::new(Arc::new(CertFileStore));
        block_on(s.stage(&name, &cert(), &[])).expect("stage");
        assert_eq!(s.kept_unconfirmed(), None);
        assert!(
            !Path::new(&name).exists(),
            "nothing at the final name before confirmation"
        );
        let loaded = block_on(s.load(&name)).expect("load").expect("staged");
        assert_eq!(
            loaded.unconfirmed.as_deref(),
            Some("the transaction was interrupted before confirmation")
        );
        block_on(s.commit(&name)).expect("commit");
        let loaded = block_on(s.load(&name)).expect("load").expect("current");
        assert_eq!(
            (loaded.certificate.der(), loaded.unconfirmed),
            (cert().der(), None)
        );

        let other = dir.join("other.pem").display().to_string();
        block_on(s.stage(&other, &cert(), &[])).expect("stage");
        block_on(s.mark_unconfirmed(&other, "pkiConf never came")).expect("mark");
        assert!(!Path::new(&other).exists());
        assert_eq!(
            s.kept_unconfirmed(),
            Some(PathBuf::from(format!("{other}.unconfirmed")))
        );
        let loaded = block_on(s.load(&other)).expect("load").expect("kept");
        assert_eq!(loaded.unconfirmed.as_deref(), Some("pkiConf never came"));
        let _ = std::fs::remove_dir_all(dir);
    }
}
