//! The `Storage` plugin trait: where a long-lived agent keeps its **identity records** — per
//! configured certificate (an identity, by name) the current {key, certificate, chain} and a
//! staged one that is committed as a whole — together with the trust anchors and CRLs it
//! maintains, per-record metadata (next action, failures, last error) and the state of an
//! unfinished transaction.
//!
//! Nothing is lost: a certificate is staged before certConf is sent, committed when the server
//! confirms, and kept, marked unconfirmed, when confirmation fails. Every write is atomic; an
//! implementation documents how (the agent's `files` store switches a generation directory).
//!
//! The trait speaks DER bytes and the small types of this module, so that a storage plugin
//! does not depend on the ASN.1 library the core uses.
//!
//! A long-lived agent renews like this, so that a key is never orphaned:
//! 1. generate the new key (a token keeps it under a label; a software key is a PKCS#8
//!    document) and [`Storage::save_transaction`] the transaction's state, with the key's
//!    locator or document, before the request is sent;
//! 2. on the response, [`Storage::stage`] the credential (key, certificate, chain) — the
//!    driver does this before certConf when given [`crate::client::Driver::storage`];
//! 3. on confirmation [`Storage::commit`], then clear the transaction (`save_transaction(None)`)
//!    and update the [`Metadata`]. After a crash, [`Storage::load`] gives the staged credential
//!    (pending or unconfirmed) and the saved transaction to resume from.

use std::fmt::{self, Debug};

use zeroize::Zeroizing;

/// Why storage failed. The variants are matchable; each message names what it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// An identity name the store cannot use.
    #[error("storage: identity name {name:?}: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `commit` or `mark_unconfirmed` found nothing staged.
    #[error("storage: identity {name}: nothing is staged")]
    NothingStaged {
        /// The identity.
        name: String,
    },
    /// The store cannot do this (a one-shot adapter keeps no metadata, …).
    #[error("storage: {store} does not keep {what}")]
    Unsupported {
        /// The store.
        store: &'static str,
        /// What it does not keep.
        what: &'static str,
    },
    /// A file or directory could not be read or written.
    #[error("storage: {path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// The kind of failure.
        kind: std::io::ErrorKind,
        /// The operating system's message.
        message: String,
    },
    /// What is stored cannot be understood (a damaged file, a link to nowhere).
    #[error("storage: {path}: {reason}")]
    Corrupt {
        /// The path (or the record).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A storage plugin's own failure, in its words.
    #[error("storage: {0}")]
    Other(String),
}

impl StorageError {
    /// An [`StorageError::Io`] for `path`.
    pub fn io(path: impl fmt::Display, e: &std::io::Error) -> Self {
        StorageError::Io {
            path: path.to_string(),
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// The name of an identity record: 1 to 64 characters of `A-Z a-z 0-9 . _ -`, starting with
/// a letter or digit (so that it is a safe file name everywhere), and not `trust`, which
/// names the store's trust anchors.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdentityName(String);

impl IdentityName {
    /// Checks `name`.
    ///
    /// ```
    /// use cmp_core::storage::IdentityName;
    /// assert_eq!(IdentityName::new("router-tls")?.as_str(), "router-tls");
    /// assert!(IdentityName::new("../etc").is_err());
    /// # Ok::<(), cmp_core::storage::StorageError>(())
    /// ```
    pub fn new(name: &str) -> Result<Self, StorageError> {
        let invalid = |reason| StorageError::InvalidName {
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() || name.len() > 64 {
            return Err(invalid("give 1 to 64 characters"));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(invalid("start with a letter or a digit"));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(invalid("use only letters, digits, '.', '_' and '-'"));
        }
        if name == "trust" {
            return Err(invalid("reserved for the trust anchors"));
        }
        Ok(IdentityName(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdentityName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The private key of a credential, as the store keeps it.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoredKey {
    /// A key kept elsewhere, by the locator its key backend understands: a `pkcs11:` URI, a
    /// file path, a backend's label.
    Locator(String),
    /// A software key as a PKCS#8 `PrivateKeyInfo` (DER), which the store keeps itself (the
    /// `files` store: `key.pem`, mode 0600). Wiped when dropped; never printed.
    Pkcs8(Zeroizing<Vec<u8>>),
}

impl Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoredKey::Locator(l) => f.debug_tuple("Locator").field(l).finish(),
            StoredKey::Pkcs8(_) => f.write_str("Pkcs8(<hidden>)"),
        }
    }
}

/// A key, its certificate and the certificate's chain: what is installed as one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// The private key; `None` when the store keeps none for this certificate (enrolled from
    /// a PKCS#10 request whose key lives elsewhere).
    pub key: Option<StoredKey>,
    /// The certificate (DER).
    pub certificate: Vec<u8>,
    /// Its chain, issuer first, without the certificate itself (DER each).
    pub chain: Vec<Vec<u8>>,
}

/// Where a staged credential stands.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StagedState {
    /// Staged, waiting for the server's confirmation — or the transaction was interrupted.
    Pending,
    /// Confirmation failed for this reason; the certificate is kept.
    Unconfirmed(String),
}

/// A staged credential and where it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staged {
    /// The credential.
    pub credential: Credential,
    /// Pending or unconfirmed.
    pub state: StagedState,
}

/// What the agent does next for an identity, and its record of failures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    /// The next action (`enroll`, `renew`, …), if one is planned.
    pub next_action: Option<String>,
    /// When the next action is due, in seconds since the Unix epoch.
    pub next_action_at: Option<i64>,
    /// Consecutive failures (for back-off); 0 after a success.
    pub failures: u32,
    /// The last error, in words.
    pub last_error: Option<String>,
}

/// The saved state of an unfinished transaction: opaque bytes in a format the writer
/// versions. The store keeps the two together and gives them back as they were.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionBlob {
    /// The format version of `bytes`.
    pub version: u32,
    /// The state.
    pub bytes: Vec<u8>,
}

/// One identity record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityRecord {
    /// The identity.
    pub name: IdentityName,
    /// The installed credential, if any.
    pub current: Option<Credential>,
    /// A staged credential, if any (never the same generation as `current`).
    pub staged: Option<Staged>,
    /// Next action, failures, last error.
    pub metadata: Metadata,
    /// The unfinished transaction, if one was saved.
    pub transaction: Option<TransactionBlob>,
}

impl IdentityRecord {
    /// An empty record for `name`.
    pub fn empty(name: IdentityName) -> Self {
        IdentityRecord {
            name,
            current: None,
            staged: None,
            metadata: Metadata::default(),
            transaction: None,
        }
    }
}

/// The trust anchors and CRLs the agent maintains (DER each).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustStore {
    /// Trust anchor certificates.
    pub anchors: Vec<Vec<u8>>,
    /// CRLs.
    pub crls: Vec<Vec<u8>>,
}

/// Keeps identity records across restarts. Every write is atomic: after a crash, a record
/// shows the state before or after a call, never a mix.
#[async_trait::async_trait]
pub trait Storage: Send + Sync + Debug {
    /// The identities that have a record, sorted.
    async fn list(&self) -> Result<Vec<IdentityName>, StorageError>;

    /// The record of `name`; `None` when there is none.
    async fn load(&self, name: &IdentityName) -> Result<Option<IdentityRecord>, StorageError>;

    /// Stages `credential` for `name` (before certConf is sent), replacing what was staged;
    /// the current credential, if any, stays current.
    async fn stage(&self, name: &IdentityName, credential: &Credential)
    -> Result<(), StorageError>;

    /// Makes the staged credential current, key, certificate and chain at once (the server
    /// confirmed, or granted implicit confirmation). [`StorageError::NothingStaged`] when
    /// nothing is staged.
    async fn commit(&self, name: &IdentityName) -> Result<(), StorageError>;

    /// Makes `credential` current for `name` at once, as [`stage`](Storage::stage) then
    /// [`commit`](Storage::commit) would: the driver installs a certificate this way when
    /// nothing can fail between the two (the server granted implicit confirmation: no certConf
    /// follows). A store may write it in one step; the default stages and commits.
    async fn install(
        &self,
        name: &IdentityName,
        credential: &Credential,
    ) -> Result<(), StorageError> {
        self.stage(name, credential).await?;
        self.commit(name).await
    }

    /// Keeps the staged credential, marked unconfirmed with `reason`.
    async fn mark_unconfirmed(&self, name: &IdentityName, reason: &str)
    -> Result<(), StorageError>;

    /// Drops the staged credential, if any (the agent gave up on it, e.g. the server revoked
    /// it). The current credential stays.
    async fn discard_staged(&self, name: &IdentityName) -> Result<(), StorageError>;

    /// Replaces the metadata of `name`.
    async fn save_metadata(
        &self,
        name: &IdentityName,
        metadata: &Metadata,
    ) -> Result<(), StorageError>;

    /// Saves the state of the unfinished transaction of `name`, or clears it (`None`).
    async fn save_transaction(
        &self,
        name: &IdentityName,
        transaction: Option<&TransactionBlob>,
    ) -> Result<(), StorageError>;

    /// The trust anchors and CRLs (empty when none were saved).
    async fn trust(&self) -> Result<TrustStore, StorageError>;

    /// Replaces the trust anchors and CRLs, both at once.
    async fn save_trust(&self, trust: &TrustStore) -> Result<(), StorageError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_names() {
        for ok in ["a", "router-tls", "0.cmp_x", &"x".repeat(64)] {
            assert_eq!(IdentityName::new(ok).map(|n| n.to_string()), Ok(ok.into()));
        }
        let reason = |n: &str| match IdentityName::new(n) {
            Err(StorageError::InvalidName { reason, .. }) => reason,
            other => panic!("{n:?}: {other:?}"),
        };
        assert_eq!(reason(""), "give 1 to 64 characters");
        assert_eq!(reason(&"x".repeat(65)), "give 1 to 64 characters");
        assert_eq!(reason(".hidden"), "start with a letter or a digit");
        assert_eq!(reason("a/b"), "use only letters, digits, '.', '_' and '-'");
        assert_eq!(reason("a b"), "use only letters, digits, '.', '_' and '-'");
        assert_eq!(reason("trust"), "reserved for the trust anchors");
        assert_eq!(
            IdentityName::new("../x").map_err(|e| e.to_string()),
            Err("storage: identity name \"../x\": start with a letter or a digit".into())
        );
    }

    #[test]
    fn a_key_is_never_printed() {
        let k = StoredKey::Pkcs8(Zeroizing::new(b"secret key bytes".to_vec()));
        assert_eq!(format!("{k:?}"), "Pkcs8(<hidden>)");
    }
}
