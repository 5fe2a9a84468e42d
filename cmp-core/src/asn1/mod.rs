//! The CMP (RFC 9810) and CRMF (RFC 4211) wire model as rasn types.
//!
//! Every type mirrors its ASN.1 definition (quoted in its documentation) and spells every tag
//! out: the CMP module uses EXPLICIT tags, CRMF IMPLICIT ones, and tags on CHOICE types are
//! explicit in both. Certificates and PKCS#10 requests are kept with their exact bytes
//! ([`Encoded`]); open types (`infoValue`, control values) stay [`rasn::types::Any`] until
//! decoded by OID ([`InfoTypeAndValue::value`], [`AttributeTypeAndValue::control_value`]).

mod body;
mod cert;
mod cert_rep;
mod challenge;
mod confirm;
mod controls;
mod crmf;
mod encoded;
mod error_msg;
mod general;
mod header;
mod message;
pub mod oid;
mod pbm;
mod revocation;
mod status;

pub use body::{BODY_NAMES, PkiBody};
pub(crate) use cert::unix_now;
pub use cert::{
    CertificationRequest, CertificationRequestInfo, CmpCertificate, Pkcs10Request, format_unix,
};
pub use cert_rep::{
    CertOrEncCert, CertRepMessage, CertResponse, CertifiedKeyPair, KeyRecRepContent,
};
pub use challenge::{
    CaKeyUpdAnnContent, CaKeyUpdContent, Challenge, OobCertHash, PopoDecKeyChallContent,
    PopoDecKeyRespContent, Rand, RootCaKeyUpdateContent,
};
pub use confirm::{
    CertConfirmContent, CertStatus, PkiConfirmContent, PollRep, PollRepContent, PollReq,
    PollReqContent,
};
pub use controls::ControlValue;
pub use crmf::{
    AttributeTypeAndValue, CertId, CertReqMessages, CertReqMsg, CertRequest, CertTemplate,
    Controls, EncKeyIdentifier, EncKeyWithId, EncryptedKey, EncryptedValue, OptionalValidity,
    PkMacValue, PkiArchiveOptions, PkiPublicationInfo, PopoAuthInfo, PopoPrivKey, PopoSigningKey,
    PopoSigningKeyInput, ProofOfPossession, SUBSEQUENT_MESSAGE_CHALLENGE_RESP,
    SUBSEQUENT_MESSAGE_ENCR_CERT, SinglePubInfo,
};
pub use encoded::Encoded;
pub use error_msg::ErrorMsgContent;
pub use general::{
    CertReqTemplateContent, CrlSource, CrlStatus, GenMsgContent, GenRepContent, InfoTypeAndValue,
    InfoValue,
};
pub use header::{
    KeyIdentifier, PVNO_CMP1999, PVNO_CMP2000, PVNO_CMP2021, PkiFreeText, PkiHeader, is_null_dn,
    null_dn,
};
pub use message::{DecodeLimits, PkiMessage, PkiMessages, ReceivedMessage, protected_part_der};
pub use pbm::{Pbkdf2Params, Pbkdf2Salt, PbmParameter, Pbmac1Params};
pub use revocation::{CrlReason, RevAnnContent, RevDetails, RevRepContent, RevReqContent};
pub use status::{FailureBit, PkiFailureInfo, PkiStatus, PkiStatusInfo};

/// Re-exported rasn types used throughout the model, so users need no direct rasn dependency.
pub use rasn::types::{
    Any, BitString, GeneralizedTime, Integer, ObjectIdentifier, OctetString, Oid, SequenceOf,
    Utf8String,
};

/// Re-exported rasn-pkix types used throughout the model.
pub use rasn_pkix::{
    AlgorithmIdentifier, Certificate, CertificateList, Extension, Extensions, GeneralName, Name,
    SubjectPublicKeyInfo, Time,
};
