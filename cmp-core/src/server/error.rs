//! The errors of the server engine.

use crate::asn1::FailureBit;

/// Why the server engine could not go on.
///
/// These are not refusals of a client's request (those become `error` messages or rejection
/// statuses on the wire): they mean the engine was driven wrongly or could not build a
/// response at all. A driver answers such a request with
/// [`Exchange::failure_response`](super::Exchange::failure_response).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A `on_*` method was called that does not answer the last step.
    #[error("the exchange did not ask for {what} (it is {state})")]
    UnexpectedInput {
        /// What was handed in.
        what: &'static str,
        /// The state the exchange is in.
        state: &'static str,
    },
    /// A response could not be encoded or protected.
    #[error("cannot build the response: {0}")]
    Build(String),
    /// The configuration cannot serve this request (e.g. a signed response without a signer).
    #[error("configuration: {0}")]
    Config(String),
}

impl From<crate::error::Error> for ServerError {
    fn from(e: crate::error::Error) -> Self {
        ServerError::Build(e.to_string())
    }
}

impl From<crate::error::CryptoError> for ServerError {
    fn from(e: crate::error::CryptoError) -> Self {
        ServerError::Build(e.to_string())
    }
}

/// Why a [`TransactionStore`](super::TransactionStore) did not load or save a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another request changed (or created) the record since it was loaded: the request loses
    /// the race and is answered with `transactionIdInUse`.
    #[error("the transaction was changed by another request")]
    Conflict,
    /// The store holds as many open transactions as it may; answered with `systemUnavail`.
    #[error("the transaction table is full ({max} transactions)")]
    Full {
        /// The limit.
        max: usize,
    },
    /// The store failed (database error, …); answered with `systemFailure`.
    #[error("transaction store: {0}")]
    Backend(String),
}

/// Why an [`Issuer`](super::Issuer) did not issue, find or revoke a certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerError {
    /// The issuer refuses the request (policy): the client gets a rejection with this failure
    /// bit.
    #[error("refused ({fail_info}): {reason}")]
    Refused {
        /// The failInfo bit reported to the client.
        fail_info: FailureBit,
        /// Why, for the client's statusString and the audit log.
        reason: String,
    },
    /// The issuer is temporarily unable to work (full, busy): `systemUnavail`.
    #[error("issuer unavailable: {0}")]
    Unavailable(String),
    /// The issuer failed (signing, database, …): `systemFailure`.
    #[error("issuer failure: {0}")]
    Failed(String),
}

impl IssuerError {
    /// The failInfo bit a client is told.
    pub fn fail_info(&self) -> FailureBit {
        match self {
            IssuerError::Refused { fail_info, .. } => *fail_info,
            IssuerError::Unavailable(_) => FailureBit::SystemUnavail,
            IssuerError::Failed(_) => FailureBit::SystemFailure,
        }
    }
}

/// Why a [`ServerStep::DeriveMacKey`](super::ServerStep::DeriveMacKey) brought no key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DerivationError {
    /// The driver's key-derivation pool and its queue are full: the request is answered with
    /// `systemUnavail` at once, before any work.
    #[error("the server is busy deriving MAC keys; try again later")]
    Busy,
    /// The derivation failed (an unsupported parameter, a crypto failure): `badMessageCheck`.
    #[error("the MAC key cannot be derived: {0}")]
    Failed(#[from] crate::error::ProtectionError),
}
