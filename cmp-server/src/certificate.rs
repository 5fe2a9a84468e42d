//! Building and signing X.509 v3 certificates with rasn-pkix's types.

use std::time::SystemTime;

use cmp_core::asn1::oid;
use cmp_core::crypto::{
    DigestAlgorithm, KeyFamily, KeySpec, Primitives, PrivateKey, SignatureAlgorithm,
};
use rasn::types::{BitString, Integer, OctetString, Oid};
use rasn_pkix::{
    AuthorityKeyIdentifier, BasicConstraints, Certificate, Extension, Extensions, Name,
    SubjectPublicKeyInfo, TbsCertificate, Time, Validity, Version,
};

use crate::error::Error;

/// keyUsage bits (RFC 5280 §4.2.1.3).
pub(crate) const KU_DIGITAL_SIGNATURE: usize = 0;
pub(crate) const KU_KEY_ENCIPHERMENT: usize = 2;
pub(crate) const KU_KEY_CERT_SIGN: usize = 5;
pub(crate) const KU_CRL_SIGN: usize = 6;

/// The fields of a certificate to sign.
#[derive(Clone, Debug)]
pub(crate) struct CertFields {
    pub(crate) serial: Integer,
    pub(crate) issuer: Name,
    pub(crate) subject: Name,
    pub(crate) public_key: SubjectPublicKeyInfo,
    pub(crate) not_before: SystemTime,
    pub(crate) not_after: SystemTime,
    pub(crate) extensions: Vec<Extension>,
}

fn build(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Build(format!("{what}: {e}"))
}

/// A validity time as RFC 5280 §4.1.2.5 wants it: UTCTime through 2049, GeneralizedTime
/// from 2050, whole seconds.
pub(crate) fn x509_time(t: SystemTime) -> Result<Time, Error> {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|e| build("time before 1970", e))?
        .as_secs();
    let secs = i64::try_from(secs).map_err(|e| build("time", e))?;
    let utc = chrono::DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| Error::Build("time out of range".into()))?;
    let year = chrono::Datelike::year(&utc);
    Ok(if year < 2050 {
        Time::Utc(utc)
    } else {
        Time::General(utc.fixed_offset())
    })
}

/// An extension whose value is the DER of `value`.
pub(crate) fn extension<T: rasn::Encode>(
    id: &Oid,
    critical: bool,
    value: &T,
) -> Result<Extension, Error> {
    let der = rasn::der::encode(value).map_err(|e| build("extension", e))?;
    Ok(Extension {
        extn_id: id.to_owned(),
        critical,
        extn_value: OctetString::from(der),
    })
}

/// The key identifier of a public key: SHA-1 of the subjectPublicKey bits (RFC 5280
/// §4.2.1.2, method 1).
pub(crate) fn key_identifier(
    primitives: &dyn Primitives,
    key: &SubjectPublicKeyInfo,
) -> Result<Vec<u8>, Error> {
    Ok(primitives.digest(DigestAlgorithm::Sha1, key.subject_public_key.as_raw_slice())?)
}

/// keyUsage with the given bits, minimal as DER wants named bit strings.
pub(crate) fn key_usage(bits: &[usize]) -> Result<Extension, Error> {
    let len = bits.iter().map(|b| b + 1).max().unwrap_or(0);
    let mut ku = BitString::repeat(false, len);
    for b in bits {
        ku.set(*b, true);
    }
    extension(oid::CE_KEY_USAGE, true, &ku)
}

/// The keyUsage an end entity gets for its key type: digitalSignature, and keyEncipherment
/// for RSA.
pub(crate) fn end_entity_key_usage(spec: KeySpec) -> Result<Extension, Error> {
    match spec.family() {
        KeyFamily::Rsa => key_usage(&[KU_DIGITAL_SIGNATURE, KU_KEY_ENCIPHERMENT]),
        KeyFamily::Ec | KeyFamily::Ed25519 => key_usage(&[KU_DIGITAL_SIGNATURE]),
    }
}

/// basicConstraints, critical.
pub(crate) fn basic_constraints(ca: bool) -> Result<Extension, Error> {
    extension(
        oid::CE_BASIC_CONSTRAINTS,
        true,
        &BasicConstraints {
            ca,
            path_len_constraint: None,
        },
    )
}

/// subjectKeyIdentifier.
pub(crate) fn subject_key_identifier(id: &[u8]) -> Result<Extension, Error> {
    extension(
        oid::CE_SUBJECT_KEY_IDENTIFIER,
        false,
        &OctetString::from(id.to_vec()),
    )
}

/// authorityKeyIdentifier with the keyIdentifier only.
pub(crate) fn authority_key_identifier(id: &[u8]) -> Result<Extension, Error> {
    extension(
        oid::CE_AUTHORITY_KEY_IDENTIFIER,
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::from(id.to_vec())),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
    )
}

/// Builds the TBSCertificate, has `key` sign its DER with `alg`, and returns the
/// certificate's DER.
pub(crate) async fn sign_certificate(
    fields: CertFields,
    key: &dyn PrivateKey,
    alg: SignatureAlgorithm,
) -> Result<Vec<u8>, Error> {
    key.spec().check_allows(alg)?;
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: fields.serial,
        signature: alg.algorithm_identifier(),
        issuer: fields.issuer,
        validity: Validity {
            not_before: x509_time(fields.not_before)?,
            not_after: x509_time(fields.not_after)?,
        },
        subject: fields.subject,
        subject_public_key_info: fields.public_key,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: (!fields.extensions.is_empty()).then(|| Extensions::from(fields.extensions)),
    };
    let tbs_der = rasn::der::encode(&tbs).map_err(|e| build("TBSCertificate", e))?;
    let signature = key.sign(alg, &tbs_der).await?;
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: alg.algorithm_identifier(),
        signature_value: BitString::from_vec(signature),
    };
    rasn::der::encode(&cert).map_err(|e| build("Certificate", e))
}
