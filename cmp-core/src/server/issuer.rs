//! The [`Issuer`] trait: the plug point for the CA behind the server engine.
//!
//! Its edges are DER bytes and small types of this crate, not the ASN.1 library's types, so
//! an issuer plugin is not broken by a dependency upgrade.

use std::time::SystemTime;

use super::error::IssuerError;
use crate::asn1::CrlReason;
use crate::transaction::EnrollmentKind;

/// Who asked for a certificate, as the request's protection proved it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Requester {
    /// A MAC with the shared secret of this reference (senderKID).
    Reference(Vec<u8>),
    /// A signature by this certificate (DER).
    Certificate(Vec<u8>),
    /// Nothing: the request was unprotected and the configuration accepts that.
    Unauthenticated,
}

/// A checked certificate request, handed to [`Issuer::issue`].
///
/// The engine has verified the protection, the proof of possession and the template's shape
/// (a public key of a supported type; a subject or subjectAltNames); the issuer applies its
/// policy (names, validity, profile) and may still refuse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRequest {
    /// The request type (ir, cr, kur, ccr, p10cr).
    pub kind: EnrollmentKind,
    /// The requested subject: DER `Name` (may be the empty RDN sequence when SANs are given).
    pub subject: Vec<u8>,
    /// The requested subjectAltName extension value: DER `GeneralNames`.
    pub subject_alt_names: Option<Vec<u8>>,
    /// The key to certify: DER `SubjectPublicKeyInfo`.
    pub public_key: Vec<u8>,
    /// Requested start of validity.
    pub not_before: Option<SystemTime>,
    /// Requested end of validity.
    pub not_after: Option<SystemTime>,
    /// Who asked.
    pub requester: Requester,
    /// The time of the request.
    pub now: SystemTime,
}

/// A certificate the issuer produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// The certificate (DER).
    pub certificate: Vec<u8>,
    /// Its chain, issuing CA first, each certificate DER.
    pub chain: Vec<Vec<u8>>,
}

/// What the issuer knows about a certificate it issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRecord {
    /// The certificate (DER).
    pub certificate: Vec<u8>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<SystemTime>,
}

/// A certificate authority the server engine asks to issue, find and revoke certificates.
///
/// Serial numbers cross this interface as the content octets of the DER INTEGER (big-endian
/// two's complement, minimal), as they appear in certificates.
#[async_trait::async_trait]
pub trait Issuer: Send + Sync + std::fmt::Debug {
    /// The issuing CA's certificate followed by its chain up to the root (DER): sent in
    /// extraCerts with issued certificates and answered to a genm caCerts.
    fn ca_certificates(&self) -> Vec<Vec<u8>>;

    /// Issues a certificate for `request`. The certificate must be recorded (so that
    /// [`Issuer::certificate`] finds it) before this returns.
    async fn issue(&self, request: &CertificateRequest) -> Result<IssuedCertificate, IssuerError>;

    /// The certificate this issuer issued with `serial`, if any.
    async fn certificate(&self, serial: &[u8]) -> Result<Option<CertificateRecord>, IssuerError>;

    /// The issuer's current CRL (DER) at `now`, for a genm crlStatusList; `None` (the
    /// default) when it publishes none.
    async fn crl(&self, now: SystemTime) -> Result<Option<Vec<u8>>, IssuerError> {
        let _ = now;
        Ok(None)
    }

    /// Revokes the certificate with `serial` at `now`; the revocation must be recorded before
    /// this returns.
    async fn revoke(
        &self,
        serial: &[u8],
        reason: Option<CrlReason>,
        now: SystemTime,
    ) -> Result<(), IssuerError>;
}
