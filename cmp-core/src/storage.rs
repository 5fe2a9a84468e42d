//! The `Storage` plugin trait: where issued certificates are kept, written so that nothing is
//! lost — staged before certConf is sent, committed when the server confirms, kept and marked
//! unconfirmed when confirmation fails.

use std::fmt::Debug;

use crate::asn1::CmpCertificate;

/// Why storage failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage: {0}")]
pub struct StorageError(pub String);

/// What is stored under a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCertificate {
    /// The certificate.
    pub certificate: CmpCertificate,
    /// Its chain.
    pub chain: Vec<CmpCertificate>,
    /// `None` when confirmed; else why confirmation failed.
    pub unconfirmed: Option<String>,
}

/// Keeps certificates (and, in implementations, keys) across restarts. Every write is atomic.
#[async_trait::async_trait]
pub trait Storage: Send + Sync + Debug {
    /// Stages `certificate` and `chain` under `name` (before certConf is sent); the current
    /// certificate, if any, stays current.
    async fn stage(
        &self,
        name: &str,
        certificate: &CmpCertificate,
        chain: &[CmpCertificate],
    ) -> Result<(), StorageError>;

    /// Makes the staged certificate current (the server confirmed, or granted implicit
    /// confirmation).
    async fn commit(&self, name: &str) -> Result<(), StorageError>;

    /// Keeps the staged certificate, marked unconfirmed with `reason`.
    async fn mark_unconfirmed(&self, name: &str, reason: &str) -> Result<(), StorageError>;

    /// The current certificate under `name`, or else the staged one (which is then marked
    /// unconfirmed, or pending when a transaction was interrupted).
    async fn load(&self, name: &str) -> Result<Option<StoredCertificate>, StorageError>;
}
