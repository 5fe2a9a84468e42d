//! The errors of cmp-server.

/// What can go wrong setting up or running the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The CA's key does not belong to its certificate.
    #[error("the CA key does not match the CA certificate {subject}")]
    KeyMismatch {
        /// The CA certificate's subject.
        subject: String,
    },
    /// A certificate could not be built or signed.
    #[error("cannot build the certificate: {0}")]
    Build(String),
    /// A crypto operation failed.
    #[error(transparent)]
    Crypto(#[from] cmp_core::CryptoError),
    /// A cmp-core operation failed.
    #[error(transparent)]
    Core(#[from] cmp_core::Error),
    /// A certificate with this serial number is already in the store (the database's
    /// uniqueness constraint said so).
    #[error("the serial number is taken")]
    SerialTaken,
    /// No certificate with this serial number is in the store.
    #[error("no certificate with this serial number was issued")]
    UnknownSerial,
    /// The certificate is already revoked.
    #[error("the certificate is already revoked")]
    AlreadyRevoked,
    /// The store holds as many certificates as it may.
    #[error("the CA holds its maximum of {max} certificates")]
    StoreFull {
        /// The limit.
        max: usize,
    },
    /// The database failed.
    #[error("database: {0}")]
    Database(String),
    /// The database was written by a newer cmp-server (more migrations than this one knows).
    #[error("the database has schema version {found}; this cmp-server knows up to {known}")]
    SchemaTooNew {
        /// The database's version.
        found: u32,
        /// The newest version this build knows.
        known: u32,
    },
    /// The state directory cannot be created or read.
    #[error("state directory {path}: {message}")]
    StateDir {
        /// The directory.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The state belongs to another CA certificate than the one configured.
    #[error(
        "{path} holds the certificates of another CA: start with that CA's --ca-cert/--ca-key, or use another --state-dir"
    )]
    StateMismatch {
        /// The database file.
        path: String,
    },
}
