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
    /// No listener was given.
    #[error("no listener: give at least one --listen URL")]
    NoListener,
    /// A listener URL is malformed, or the address cannot be bound.
    #[error("--listen {url}: {message}")]
    Listen {
        /// The URL as given.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// The TLS settings are missing or unusable.
    #[error("TLS: {message}")]
    Tls {
        /// What is wrong.
        message: String,
    },
    /// A secret source cannot be read (the secret itself never appears here).
    #[error("secret: {message}")]
    Secret {
        /// What is wrong.
        message: String,
    },
    /// A file cannot be read or holds no usable content.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The subject of the CA to generate is not a distinguished name.
    #[error("--ca-subject: {message}")]
    CaSubject {
        /// What is wrong.
        message: String,
    },
    /// The relay's upstream URL is unusable.
    #[error("--forward {url}: {message}")]
    Forward {
        /// The URL as given.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// Exchanges were still in flight when the drain timeout ran out.
    #[error("exchanges still in flight after the drain timeout of {seconds} s")]
    DrainTimeout {
        /// The timeout.
        seconds: u64,
    },
    /// The configuration file is unreadable or holds a key or value that is not understood.
    #[error("configuration file {path}: {message}")]
    Config {
        /// The file.
        path: String,
        /// What is wrong (a secret's value never appears here).
        message: String,
    },
}
