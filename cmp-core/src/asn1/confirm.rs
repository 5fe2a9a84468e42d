//! Certificate confirmation: certConf (RFC 9810 §5.3.18) and pollReq/pollRep (§5.3.22).

use rasn::prelude::*;
use rasn_pkix::AlgorithmIdentifier;

use super::header::PkiFreeText;
use super::status::PkiStatusInfo;

/// `CertConfirmContent ::= SEQUENCE OF CertStatus`; an empty sequence rejects everything.
pub type CertConfirmContent = SequenceOf<CertStatus>;

/// ```asn1
/// CertStatus ::= SEQUENCE {
///    certHash    OCTET STRING,
///    certReqId   INTEGER,
///    statusInfo  PKIStatusInfo OPTIONAL,        -- absent means accepted
///    hashAlg [0] AlgorithmIdentifier OPTIONAL } -- cmp2021: needs pvno 3
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct CertStatus {
    /// Hash of the certificate, with the hash of its signature algorithm (or `hashAlg`).
    pub cert_hash: OctetString,
    /// The certReqId of the response confirmed.
    pub cert_req_id: Integer,
    /// Accepted (absent) or a rejection with failInfo.
    pub status_info: Option<PkiStatusInfo>,
    /// The hash algorithm, when the signature algorithm names none (e.g. Ed25519).
    #[rasn(tag(explicit(context, 0)))]
    pub hash_alg: Option<AlgorithmIdentifier>,
}

/// `PKIConfirmContent ::= NULL`: the body of pkiconf (`B3 02 05 00`).
pub type PkiConfirmContent = ();

/// `PollReqContent ::= SEQUENCE OF SEQUENCE { certReqId INTEGER }`.
pub type PollReqContent = SequenceOf<PollReq>;

/// One entry of [`PollReqContent`].
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct PollReq {
    /// The request polled for (-1 for a non-certificate request, RFC 9483 §4.4).
    pub cert_req_id: Integer,
}

/// `PollRepContent ::= SEQUENCE OF SEQUENCE { certReqId, checkAfter, reason }`.
pub type PollRepContent = SequenceOf<PollRep>;

/// One entry of [`PollRepContent`].
///
/// ```asn1
/// SEQUENCE { certReqId INTEGER, checkAfter INTEGER, reason PKIFreeText OPTIONAL }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct PollRep {
    /// The request this answers.
    pub cert_req_id: Integer,
    /// Seconds to wait before the next pollReq.
    pub check_after: Integer,
    /// Why it takes longer.
    pub reason: Option<PkiFreeText>,
}
