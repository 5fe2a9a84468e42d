//! `InfoTypeAndValue` (RFC 9810 §5.3.19) with typed values, for genm/genp bodies and header
//! generalInfo.

use rasn::prelude::*;
use rasn_pkix::{AlgorithmIdentifier, CertificateList, DistributionPointName, GeneralNames, Time};

use super::cert::CmpCertificate;
use super::challenge::{CaKeyUpdAnnContent, RootCaKeyUpdateContent};
use super::crmf::{CertTemplate, Controls, EncryptedKey};
use super::message::PkiMessages;
use super::oid;
use crate::error::{DecodeError, Error};

/// `GenMsgContent ::= SEQUENCE OF InfoTypeAndValue`.
pub type GenMsgContent = SequenceOf<InfoTypeAndValue>;
/// `GenRepContent ::= SEQUENCE OF InfoTypeAndValue`.
pub type GenRepContent = SequenceOf<InfoTypeAndValue>;

/// ```asn1
/// InfoTypeAndValue ::= SEQUENCE {
///    infoType   OBJECT IDENTIFIER,
///    infoValue  ANY DEFINED BY infoType OPTIONAL }
/// ```
/// The value stays as received ([`Any`]); [`InfoTypeAndValue::value`] decodes it by OID.
///
/// ```
/// use cmp_core::asn1::{InfoTypeAndValue, InfoValue};
/// let itav = InfoTypeAndValue::from_value(&InfoValue::ImplicitConfirm).unwrap();
/// assert_eq!(rasn::der::encode(&itav).unwrap(),
///     [0x30, 0x0C, 0x06, 0x08, 0x2B, 6, 1, 5, 5, 7, 4, 0x0D, 0x05, 0x00]);
/// assert_eq!(itav.value().unwrap(), InfoValue::ImplicitConfirm);
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct InfoTypeAndValue {
    /// Which information.
    pub info_type: ObjectIdentifier,
    /// Its value; absent in most genm requests.
    pub info_value: Option<Any>,
}

/// A typed view of an [`InfoTypeAndValue`] (RFC 9810 §5.3.19, RFC 9483 §4.3).
///
/// `Option` values are `None` where the ITAV carries no value: in a genm request, or in a
/// genp that has nothing to return.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)]
pub enum InfoValue {
    /// `caProtEncCert`.
    CaProtEncCert(Option<CmpCertificate>),
    /// `signKeyPairTypes`: the signature algorithms the CA supports.
    SignKeyPairTypes(Option<SequenceOf<AlgorithmIdentifier>>),
    /// `encKeyPairTypes`.
    EncKeyPairTypes(Option<SequenceOf<AlgorithmIdentifier>>),
    /// `preferredSymmAlg`.
    PreferredSymmAlg(Option<AlgorithmIdentifier>),
    /// `caKeyUpdateInfo` (deprecated since cmp2021).
    CaKeyUpdateInfo(Option<CaKeyUpdAnnContent>),
    /// `currentCRL`.
    CurrentCrl(Option<CertificateList>),
    /// `unsupportedOIDs`.
    UnsupportedOids(Option<SequenceOf<ObjectIdentifier>>),
    /// `keyPairParamReq`: the OID of the algorithm asked about.
    KeyPairParamReq(Option<ObjectIdentifier>),
    /// `keyPairParamRep`.
    KeyPairParamRep(Option<AlgorithmIdentifier>),
    /// `revPassphrase`.
    RevPassphrase(Option<EncryptedKey>),
    /// `implicitConfirm` (value NULL), in header generalInfo.
    ImplicitConfirm,
    /// `confirmWaitTime`, in header generalInfo.
    ConfirmWaitTime(GeneralizedTime),
    /// `origPKIMessage`, added by an RA in header generalInfo.
    OrigPkiMessage(PkiMessages),
    /// `suppLangTags`.
    SuppLangTags(Option<SequenceOf<Utf8String>>),
    /// `caCerts`: the CA certificates (RFC 9483 §4.3.1).
    CaCerts(Option<SequenceOf<CmpCertificate>>),
    /// `rootCaCert`: the old root whose update is asked for (RFC 9483 §4.3.2).
    RootCaCert(Option<CmpCertificate>),
    /// `rootCaKeyUpdate`: the answer to rootCaCert.
    RootCaKeyUpdate(Option<RootCaKeyUpdateContent>),
    /// `certReqTemplate` (RFC 9483 §4.3.3).
    CertReqTemplate(Option<CertReqTemplateContent>),
    /// `certProfile`, in header generalInfo.
    CertProfile(SequenceOf<Utf8String>),
    /// `crlStatusList` (RFC 9483 §4.3.4).
    CrlStatusList(SequenceOf<CrlStatus>),
    /// `crls`: the answer to crlStatusList.
    Crls(Option<SequenceOf<CertificateList>>),
    /// Any other OID, value kept as is.
    Other(ObjectIdentifier, Option<Any>),
}

/// ```asn1
/// CertReqTemplateContent ::= SEQUENCE {
///    certTemplate  CertTemplate,
///    keySpec       Controls OPTIONAL }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct CertReqTemplateContent {
    /// Fields the CA wants in the request (publicKey absent).
    pub cert_template: CertTemplate,
    /// Key algorithm (`id-regCtrl-algId`) or RSA length (`id-regCtrl-rsaKeyLen`).
    pub key_spec: Option<Controls>,
}

/// ```asn1
/// CRLStatus ::= SEQUENCE { source CRLSource, thisUpdate Time OPTIONAL }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct CrlStatus {
    /// Which CRL.
    pub source: CrlSource,
    /// The thisUpdate of the CRL the requester has.
    pub this_update: Option<Time>,
}

/// ```asn1
/// CRLSource ::= CHOICE {
///    dpn     [0] DistributionPointName,
///    issuer  [1] GeneralNames }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
#[rasn(choice)]
pub enum CrlSource {
    /// A distribution point name.
    #[rasn(tag(explicit(context, 0)))]
    Dpn(DistributionPointName),
    /// The CRL issuer.
    #[rasn(tag(explicit(context, 1)))]
    Issuer(GeneralNames),
}

fn decode_any<T: Decode>(itav: &str, any: &Any) -> Result<T, DecodeError> {
    rasn::der::decode::<T>(any.as_bytes())
        .map_err(|e| DecodeError::from_rasn(&format!("infoValue of {itav}"), &e))
}

fn optional<T: Decode>(itav: &str, any: &Option<Any>) -> Result<Option<T>, DecodeError> {
    any.as_ref().map(|a| decode_any(itav, a)).transpose()
}

fn required<T: Decode>(itav: &str, any: &Option<Any>) -> Result<T, DecodeError> {
    match any {
        Some(a) => decode_any(itav, a),
        None => Err(DecodeError::Field {
            path: format!("infoValue of {itav}"),
            what: "the value is required but absent".into(),
        }),
    }
}

impl InfoTypeAndValue {
    /// An ITAV with no value, as genm requests send them.
    pub fn request(info_type: &Oid) -> Self {
        InfoTypeAndValue {
            info_type: info_type.to_owned(),
            info_value: None,
        }
    }

    /// Decodes the value according to `infoType`.
    pub fn value(&self) -> Result<InfoValue, DecodeError> {
        let t: &Oid = &self.info_type;
        let v = &self.info_value;
        let name = oid::display(t);
        let n = name.as_str();
        Ok(if t == oid::IT_CA_PROT_ENC_CERT {
            InfoValue::CaProtEncCert(optional(n, v)?)
        } else if t == oid::IT_SIGN_KEY_PAIR_TYPES {
            InfoValue::SignKeyPairTypes(optional(n, v)?)
        } else if t == oid::IT_ENC_KEY_PAIR_TYPES {
            InfoValue::EncKeyPairTypes(optional(n, v)?)
        } else if t == oid::IT_PREFERRED_SYMM_ALG {
            InfoValue::PreferredSymmAlg(optional(n, v)?)
        } else if t == oid::IT_CA_KEY_UPDATE_INFO {
            InfoValue::CaKeyUpdateInfo(optional(n, v)?)
        } else if t == oid::IT_CURRENT_CRL {
            InfoValue::CurrentCrl(optional(n, v)?)
        } else if t == oid::IT_UNSUPPORTED_OIDS {
            InfoValue::UnsupportedOids(optional(n, v)?)
        } else if t == oid::IT_KEY_PAIR_PARAM_REQ {
            InfoValue::KeyPairParamReq(optional(n, v)?)
        } else if t == oid::IT_KEY_PAIR_PARAM_REP {
            InfoValue::KeyPairParamRep(optional(n, v)?)
        } else if t == oid::IT_REV_PASSPHRASE {
            InfoValue::RevPassphrase(optional(n, v)?)
        } else if t == oid::IT_IMPLICIT_CONFIRM {
            // NULL, though some peers leave it out.
            let _: Option<()> = optional(n, v)?;
            InfoValue::ImplicitConfirm
        } else if t == oid::IT_CONFIRM_WAIT_TIME {
            InfoValue::ConfirmWaitTime(required(n, v)?)
        } else if t == oid::IT_ORIG_PKI_MESSAGE {
            InfoValue::OrigPkiMessage(required(n, v)?)
        } else if t == oid::IT_SUPP_LANG_TAGS {
            InfoValue::SuppLangTags(optional(n, v)?)
        } else if t == oid::IT_CA_CERTS {
            InfoValue::CaCerts(optional(n, v)?)
        } else if t == oid::IT_ROOT_CA_CERT {
            InfoValue::RootCaCert(optional(n, v)?)
        } else if t == oid::IT_ROOT_CA_KEY_UPDATE {
            InfoValue::RootCaKeyUpdate(optional(n, v)?)
        } else if t == oid::IT_CERT_REQ_TEMPLATE {
            InfoValue::CertReqTemplate(optional(n, v)?)
        } else if t == oid::IT_CERT_PROFILE {
            InfoValue::CertProfile(required(n, v)?)
        } else if t == oid::IT_CRL_STATUS_LIST {
            InfoValue::CrlStatusList(required(n, v)?)
        } else if t == oid::IT_CRLS {
            InfoValue::Crls(optional(n, v)?)
        } else {
            InfoValue::Other(self.info_type.clone(), self.info_value.clone())
        })
    }

    /// Builds the ITAV for a typed value.
    pub fn from_value(value: &InfoValue) -> Result<Self, Error> {
        fn enc<T: Encode>(v: &T) -> Result<Option<Any>, Error> {
            rasn::der::encode(v)
                .map(|b| Some(Any::new(b)))
                .map_err(|e| Error::Encode {
                    what: "infoValue",
                    reason: e.to_string(),
                })
        }
        fn opt<T: Encode>(v: &Option<T>) -> Result<Option<Any>, Error> {
            v.as_ref().map_or(Ok(None), enc)
        }
        let (t, v): (&Oid, Option<Any>) = match value {
            InfoValue::CaProtEncCert(v) => (oid::IT_CA_PROT_ENC_CERT, opt(v)?),
            InfoValue::SignKeyPairTypes(v) => (oid::IT_SIGN_KEY_PAIR_TYPES, opt(v)?),
            InfoValue::EncKeyPairTypes(v) => (oid::IT_ENC_KEY_PAIR_TYPES, opt(v)?),
            InfoValue::PreferredSymmAlg(v) => (oid::IT_PREFERRED_SYMM_ALG, opt(v)?),
            InfoValue::CaKeyUpdateInfo(v) => (oid::IT_CA_KEY_UPDATE_INFO, opt(v)?),
            InfoValue::CurrentCrl(v) => (oid::IT_CURRENT_CRL, opt(v)?),
            InfoValue::UnsupportedOids(v) => (oid::IT_UNSUPPORTED_OIDS, opt(v)?),
            InfoValue::KeyPairParamReq(v) => (oid::IT_KEY_PAIR_PARAM_REQ, opt(v)?),
            InfoValue::KeyPairParamRep(v) => (oid::IT_KEY_PAIR_PARAM_REP, opt(v)?),
            InfoValue::RevPassphrase(v) => (oid::IT_REV_PASSPHRASE, opt(v)?),
            InfoValue::ImplicitConfirm => (oid::IT_IMPLICIT_CONFIRM, enc(&())?),
            InfoValue::ConfirmWaitTime(v) => (oid::IT_CONFIRM_WAIT_TIME, enc(v)?),
            InfoValue::OrigPkiMessage(v) => (oid::IT_ORIG_PKI_MESSAGE, enc(v)?),
            InfoValue::SuppLangTags(v) => (oid::IT_SUPP_LANG_TAGS, opt(v)?),
            InfoValue::CaCerts(v) => (oid::IT_CA_CERTS, opt(v)?),
            InfoValue::RootCaCert(v) => (oid::IT_ROOT_CA_CERT, opt(v)?),
            InfoValue::RootCaKeyUpdate(v) => (oid::IT_ROOT_CA_KEY_UPDATE, opt(v)?),
            InfoValue::CertReqTemplate(v) => (oid::IT_CERT_REQ_TEMPLATE, opt(v)?),
            InfoValue::CertProfile(v) => (oid::IT_CERT_PROFILE, enc(v)?),
            InfoValue::CrlStatusList(v) => (oid::IT_CRL_STATUS_LIST, enc(v)?),
            InfoValue::Crls(v) => (oid::IT_CRLS, opt(v)?),
            InfoValue::Other(t, v) => {
                return Ok(InfoTypeAndValue {
                    info_type: t.clone(),
                    info_value: v.clone(),
                });
            }
        };
        Ok(InfoTypeAndValue {
            info_type: t.to_owned(),
            info_value: v,
        })
    }
}
