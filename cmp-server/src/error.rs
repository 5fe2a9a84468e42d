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
}
