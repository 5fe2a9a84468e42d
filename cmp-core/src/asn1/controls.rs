//! Typed views of CRMF controls (RFC 4211 §6) and registration info.

use rasn::prelude::*;
use rasn_pkix::{AlgorithmIdentifier, SubjectPublicKeyInfo};

use super::crmf::{AttributeTypeAndValue, CertId, PkiArchiveOptions, PkiPublicationInfo};
use super::oid;
use crate::error::{DecodeError, Error};

/// The value of a control, decoded by its OID.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ControlValue {
    /// `id-regCtrl-regToken`: a one-time secret.
    RegToken(Utf8String),
    /// `id-regCtrl-authenticator`.
    Authenticator(Utf8String),
    /// `id-regCtrl-pkiPublicationInfo`.
    PkiPublicationInfo(PkiPublicationInfo),
    /// `id-regCtrl-pkiArchiveOptions`.
    PkiArchiveOptions(PkiArchiveOptions),
    /// `id-regCtrl-oldCertID`: the certificate a kur replaces.
    OldCertId(CertId),
    /// `id-regCtrl-protocolEncrKey`.
    ProtocolEncrKey(SubjectPublicKeyInfo),
    /// `id-regCtrl-algId` (in certReqTemplate keySpec).
    AlgId(AlgorithmIdentifier),
    /// `id-regCtrl-rsaKeyLen` (in certReqTemplate keySpec).
    RsaKeyLen(Integer),
    /// Any other type, value kept as is.
    Other(ObjectIdentifier, Any),
}

impl AttributeTypeAndValue {
    /// Decodes the value according to `type`.
    pub fn control_value(&self) -> Result<ControlValue, DecodeError> {
        fn dec<T: Decode>(name: &str, any: &Any) -> Result<T, DecodeError> {
            rasn::der::decode::<T>(any.as_bytes())
                .map_err(|e| DecodeError::from_rasn(&format!("control {name}"), &e))
        }
        let t: &Oid = &self.r#type;
        let name = oid::display(t);
        let v = &self.value;
        Ok(if t == oid::REG_CTRL_REG_TOKEN {
            ControlValue::RegToken(dec(&name, v)?)
        } else if t == oid::REG_CTRL_AUTHENTICATOR {
            ControlValue::Authenticator(dec(&name, v)?)
        } else if t == oid::REG_CTRL_PKI_PUBLICATION_INFO {
            ControlValue::PkiPublicationInfo(dec(&name, v)?)
        } else if t == oid::REG_CTRL_PKI_ARCHIVE_OPTIONS {
            ControlValue::PkiArchiveOptions(dec(&name, v)?)
        } else if t == oid::REG_CTRL_OLD_CERT_ID {
            ControlValue::OldCertId(dec(&name, v)?)
        } else if t == oid::REG_CTRL_PROTOCOL_ENCR_KEY {
            ControlValue::ProtocolEncrKey(dec(&name, v)?)
        } else if t == oid::REG_CTRL_ALG_ID {
            ControlValue::AlgId(dec(&name, v)?)
        } else if t == oid::REG_CTRL_RSA_KEY_LEN {
            ControlValue::RsaKeyLen(dec(&name, v)?)
        } else {
            ControlValue::Other(self.r#type.clone(), self.value.clone())
        })
    }

    /// Builds a control from a typed value.
    pub fn from_control(value: &ControlValue) -> Result<Self, Error> {
        fn enc<T: Encode>(t: &Oid, v: &T) -> Result<AttributeTypeAndValue, Error> {
            let der = rasn::der::encode(v).map_err(|e| Error::Encode {
                what: "control value",
                reason: e.to_string(),
            })?;
            Ok(AttributeTypeAndValue {
                r#type: t.to_owned(),
                value: Any::new(der),
            })
        }
        match value {
            ControlValue::RegToken(v) => enc(oid::REG_CTRL_REG_TOKEN, v),
            ControlValue::Authenticator(v) => enc(oid::REG_CTRL_AUTHENTICATOR, v),
            ControlValue::PkiPublicationInfo(v) => enc(oid::REG_CTRL_PKI_PUBLICATION_INFO, v),
            ControlValue::PkiArchiveOptions(v) => enc(oid::REG_CTRL_PKI_ARCHIVE_OPTIONS, v),
            ControlValue::OldCertId(v) => enc(oid::REG_CTRL_OLD_CERT_ID, v),
            ControlValue::ProtocolEncrKey(v) => enc(oid::REG_CTRL_PROTOCOL_ENCR_KEY, v),
            ControlValue::AlgId(v) => enc(oid::REG_CTRL_ALG_ID, v),
            ControlValue::RsaKeyLen(v) => enc(oid::REG_CTRL_RSA_KEY_LEN, v),
            ControlValue::Other(t, v) => Ok(AttributeTypeAndValue {
                r#type: t.clone(),
                value: v.clone(),
            }),
        }
    }
}
