//! Certificate responses: ip, cp, kup, ccp (RFC 9810 §5.3.4) and krp (§5.3.8).

use rasn::prelude::*;

use super::cert::CmpCertificate;
use super::crmf::{EncryptedKey, PkiPublicationInfo};
use super::status::PkiStatusInfo;

/// The body of ip, cp, kup and ccp.
///
/// ```asn1
/// CertRepMessage ::= SEQUENCE {
///    caPubs    [1] SEQUENCE SIZE (1..MAX) OF CMPCertificate OPTIONAL,
///    response  SEQUENCE OF CertResponse }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct CertRepMessage {
    /// CA certificates the requester may take as trust anchors (only when asked to).
    #[rasn(tag(explicit(context, 1)))]
    pub ca_pubs: Option<SequenceOf<CmpCertificate>>,
    /// One response per request.
    pub response: SequenceOf<CertResponse>,
}

/// ```asn1
/// CertResponse ::= SEQUENCE {
///    certReqId        INTEGER,       -- -1 when answering a p10cr
///    status           PKIStatusInfo,
///    certifiedKeyPair CertifiedKeyPair OPTIONAL,
///    rspInfo          OCTET STRING     OPTIONAL }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct CertResponse {
    /// The certReqId of the request answered.
    pub cert_req_id: Integer,
    /// Granted, rejected or waiting.
    pub status: PkiStatusInfo,
    /// The certificate (and a centrally generated key), when granted.
    pub certified_key_pair: Option<CertifiedKeyPair>,
    /// Registration response information.
    pub rsp_info: Option<OctetString>,
}

/// ```asn1
/// CertifiedKeyPair ::= SEQUENCE {
///    certOrEncCert    CertOrEncCert,
///    privateKey       [0] EncryptedKey       OPTIONAL,
///    publicationInfo  [1] PKIPublicationInfo OPTIONAL }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct CertifiedKeyPair {
    /// The certificate, plain or encrypted.
    pub cert_or_enc_cert: CertOrEncCert,
    /// A centrally generated private key (explicit tag over the EncryptedKey CHOICE:
    /// `A0 L A0 L <EnvelopedData contents>`).
    #[rasn(tag(explicit(context, 0)))]
    pub private_key: Option<EncryptedKey>,
    /// Where the certificate was published.
    #[rasn(tag(explicit(context, 1)))]
    pub publication_info: Option<PkiPublicationInfo>,
}

/// ```asn1
/// CertOrEncCert ::= CHOICE {
///    certificate    [0] CMPCertificate,
///    encryptedCert  [1] EncryptedKey }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
#[rasn(choice)]
#[allow(clippy::large_enum_variant)]
pub enum CertOrEncCert {
    /// `A0 30 …`.
    #[rasn(tag(explicit(context, 0)))]
    Certificate(CmpCertificate),
    /// `A1 (30|A0) …`: for the encrCert POP method.
    #[rasn(tag(explicit(context, 1)))]
    EncryptedCert(EncryptedKey),
}

/// The body of krp.
///
/// ```asn1
/// KeyRecRepContent ::= SEQUENCE {
///    status       PKIStatusInfo,
///    newSigCert   [0] CMPCertificate OPTIONAL,
///    caCerts      [1] SEQUENCE SIZE (1..MAX) OF CMPCertificate OPTIONAL,
///    keyPairHist  [2] SEQUENCE SIZE (1..MAX) OF CertifiedKeyPair OPTIONAL }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct KeyRecRepContent {
    /// Outcome.
    pub status: PkiStatusInfo,
    /// A new signature certificate.
    #[rasn(tag(explicit(context, 0)))]
    pub new_sig_cert: Option<CmpCertificate>,
    /// CA certificates.
    #[rasn(tag(explicit(context, 1)))]
    pub ca_certs: Option<SequenceOf<CmpCertificate>>,
    /// The recovered key pairs.
    #[rasn(tag(explicit(context, 2)))]
    pub key_pair_hist: Option<SequenceOf<CertifiedKeyPair>>,
}
