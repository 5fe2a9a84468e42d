//! The server side of CMP as a sans-IO engine: an [`Exchange`] per request takes the request's
//! bytes, the time and the peer, and hands out [`ServerStep`]s — load the transaction, look a
//! certificate up, issue, revoke, sign, save — until it says what to respond. No sockets,
//! clocks, files or databases inside: the driver (in `cmp-server`) runs the steps against an
//! [`Issuer`], a [`TransactionStore`] and the response key.
//!
//! # The order of the request checks
//!
//! The first check that fails decides the answer. Up to step 8 the answer is an `error`
//! message and the stored transaction is left as it was (an unauthenticated or out-of-order
//! message cannot change or create a transaction); from step 9 on, the outcome closes the
//! transaction and is stored with it.
//!
//! 0. **Decoding** within the [`DecodeLimits`](crate::asn1::DecodeLimits) → `badDataFormat`.
//! 1. **Retransmission**: the transaction's last request, byte for byte, gets the stored
//!    response again, byte for byte (no check is repeated: those bytes passed them).
//! 2. **Protection**: a MAC (PasswordBasedMac or PBMAC1) with the secret the senderKID names,
//!    its iteration count within [`MacLimits`](crate::protection::MacLimits) before any work,
//!    the key derived in a [`ServerStep::DeriveMacKey`] (with [`MacDerivation::Step`]; a full
//!    derivation pool → `systemUnavail` at once);
//!    or a signature by a certificate that chains to the client anchors or the CA, allows
//!    digitalSignature, and whose subject is the sender. Unprotected (unless
//!    [`ServerConfig::accept_unprotected`]), unknown senderKID, wrong MAC or signature,
//!    sender ≠ signer → `badMessageCheck`; unsupported algorithm → `badAlg`; signer without a
//!    path → `signerNotTrusted`.
//!    A signer this CA issued is looked up ([`ServerStep::LookupCertificate`]): revoked →
//!    `certRevoked`.
//! 3. **Recipient**: NULL-DN, one of our names, or the issuer of the request's signer (as
//!    OpenSSL's client addresses a request signed with `-cert`) → else `wrongAuthority`.
//! 4. **pvno** 2 or 3 → else `unsupportedVersion`.
//! 5. **messageTime**, when present, within the configured skew → else `badTime`.
//! 6. **transactionID**: present (`badRequest`); a first request (ir, cr, kur, ccr, p10cr, rr,
//!    genm) on a transactionID the store holds, or a later one (certConf, pollReq, error)
//!    protected by another client than the transaction's first → `transactionIdInUse`;
//!    certConf or pollReq for a transaction the store does not hold → `badRequest`.
//! 7. **senderNonce** of at least 128 bits → else `badSenderNonce`.
//! 8. **recipNonce** of certConf and pollReq equal to our last senderNonce → else
//!    `badRecipientNonce`.
//! 9. **The body**:
//!    - ir, cr, kur, ccr: one CertReqMsg; a publicKey of a supported type, then the **POP**
//!      (a signature over the received certReq, or over poposkInput when the template lacks
//!      the subject; `raVerified` only from a configured RA or when allowed) → `badPOP`; then
//!      the **template** (subject or subjectAltNames, no serialNumber/signingAlg/unique IDs,
//!      version 2; the issuer is the CA's choice) → `badCertTemplate`; for **kur**, oldCertID
//!      (or else the signer) names a certificate this CA issued (`badCertId`), not revoked
//!      (`certRevoked`), and the kur is signed with it (`badCertId`). These refusals, and the issuer's, are a
//!      rejection CertResponse in ip/cp/kup/ccp (RFC 9810 §5.3.4).
//!    - p10cr: the CSR's signature → `badPOP`; its key and names as above.
//!    - rr: one RevDetails naming our issuer and a serial we issued (`badCertId`), not revoked
//!      (`certRevoked`), signed by the certificate itself or a configured RA
//!      (`notAuthorized`): a rejection status in rp.
//!    - certConf: one CertStatus for the certReqId and certHash (with the hash of the
//!      certificate's signature algorithm, or hashAlg) of the certificate issued → else
//!      `badCertId`; then pkiConf.
//!    - genm: caCerts answered with the CA's certificates; rootCaCert with the configured
//!      rootCaKeyUpdate, certReqTemplate with the configured template, crlStatusList with
//!      the issuer's CRL ([`ServerStep::CurrentCrl`]) when newer than the client's
//!      ([`GenpContent`]); other types, and these when there is nothing to offer, answered
//!      without a value.
//!    - pollReq: with delayed delivery ([`TestKnobs::poll_count`]) a pollRep while polls
//!      are left, then the certificate response; else `badRequest`, not stored.
//!    - error: pkiConf.
//!      Anything else: `badRequest`, not stored.
//!
//! With [`TestKnobs`] (OpenSSL mock-server style, for testing clients) `send_error` answers
//! every request that passed steps 1–8 with an `error` (badRequest), `cert_status` replaces
//! the status of certificate responses (a forced rejection issues nothing), `poll_count`
//! holds an issued certificate back (`waiting`, then pollRep until the last pollReq), and
//! `send_unprotected` / `send_unprotected_errors` leave all / the negative responses
//! unprotected.
//!
//! Before the issuer is asked to issue or revoke, the transaction is reserved in the store (a
//! [`TransactionState::Reserved`] record, saved like the response): a full table answers
//! `systemUnavail` and a lost race for the transactionID `transactionIdInUse` with nothing
//! issued or revoked. The response is saved over the reservation.
//!
//! Issuer and store failures answer `systemUnavail` or `systemFailure`; losing a race for a
//! transactionID in the store answers `transactionIdInUse`.
//!
//! # Responses
//!
//! Built by [`responses`]: same transactionID, recipNonce = the request's senderNonce, a fresh
//! senderNonce, messageTime, the request's pvno; implicitConfirm when asked for and granted.
//! Protected as the request was ([`ResponseProtection::AsRequest`]): a MAC with the key that
//! verified the request (its protectionAlg, salt included: one derivation per request, and a
//! client that keeps its key derives none for the response), or a signature by the [`ResponseSigner`]
//! (handed out as [`ServerStep::Sign`]); errors to requests that failed the protection check
//! are signed when a signer is configured, else unprotected. Certificate responses carry the
//! issued certificate's chain in extraCerts (after the signer's certificate and chain), and
//! caPubs in ip/cp/ccp when configured.
//!
//! # MAC key derivation
//!
//! The MAC key of a request (PBKDF2 with the highest accepted iteration count takes about a
//! second) is derived inline by default ([`MacDerivation::Inline`]); with
//! [`MacDerivation::Step`] the machine hands it out as [`ServerStep::DeriveMacKey`], like
//! signing, and the driver runs it on a bounded blocking pool and hands the key (or
//! [`DerivationError::Busy`]) to [`Exchange::on_mac_key`].

mod checks;
mod config;
mod error;
mod exchange;
mod issuer;
mod pop;
pub mod responses;
mod store;
mod template;

pub use checks::Refusal;
pub use config::{
    ForcedStatus, GenpContent, MacDerivation, ResponseProtection, ResponseSigner, ServerConfig,
    SharedSecrets, TestKnobs,
};
pub use error::{DerivationError, IssuerError, ServerError, StoreError};
pub use exchange::{Exchange, MAX_GENM_ENTRIES, ServerStep};
pub use issuer::{CertificateRecord, CertificateRequest, IssuedCertificate, Issuer, Requester};
pub use store::{
    Authenticator, DEFAULT_TRANSACTION_TTL, MemoryStore, TransactionRecord, TransactionState,
    TransactionStore,
};
