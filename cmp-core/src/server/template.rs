//! What a request asks for: the certificate template of ir/cr/kur/ccr, or the PKCS#10
//! request of a p10cr, checked for shape (→ badCertTemplate).

use std::time::SystemTime;

use rasn::types::Oid;
use rasn_pkix::{Extensions, Name, SubjectPublicKeyInfo, Time};

use super::checks::{Refusal, system_time};
use crate::asn1::{CertTemplate, FailureBit, Pkcs10Request, oid};
use crate::crypto::KeySpec;

/// The checked content of a template or CSR.
#[derive(Clone, Debug)]
pub(crate) struct Requested {
    pub(crate) subject: Name,
    /// The subjectAltName extension value (DER GeneralNames).
    pub(crate) subject_alt_names: Option<Vec<u8>>,
    pub(crate) public_key: SubjectPublicKeyInfo,
    pub(crate) not_before: Option<SystemTime>,
    pub(crate) not_after: Option<SystemTime>,
}

fn bad(reason: impl Into<String>) -> Refusal {
    Refusal::new(FailureBit::BadCertTemplate, reason)
}

fn time(t: &Time) -> Option<SystemTime> {
    match t {
        Time::Utc(u) => system_time(&u.fixed_offset()),
        Time::General(g) => system_time(g),
    }
}

fn is_empty_name(name: &Name) -> bool {
    let Name::RdnSequence(rdns) = name;
    rdns.is_empty()
}

/// The subjectAltName of requested extensions; other extensions are not copied (the issuer's
/// profile decides them).
fn subject_alt_names(exts: Option<&Extensions>) -> Option<Vec<u8>> {
    let san: &Oid = oid::CE_SUBJECT_ALT_NAME;
    exts?
        .iter()
        .find(|e| *e.extn_id == *san)
        .map(|e| e.extn_value.to_vec())
}

/// Extensions the CA understands in a request: subjectAltName is honoured (within policy);
/// the others are decided by the issuer's profile, so asking for them is harmless.
const UNDERSTOOD: [&Oid; 5] = [
    oid::CE_SUBJECT_ALT_NAME,
    oid::CE_KEY_USAGE,
    oid::CE_EXT_KEY_USAGE,
    oid::CE_BASIC_CONSTRAINTS,
    oid::CE_SUBJECT_KEY_IDENTIFIER,
];

/// A requested extension marked critical that the CA does not understand is refused: issuing
/// without it would drop what the requester declared it cannot do without (RFC 5280 §4.2).
/// Unknown non-critical extensions are ignored.
fn check_critical_extensions(exts: Option<&Extensions>, what: &str) -> Result<(), Refusal> {
    for e in exts.map(|x| x.iter()).into_iter().flatten() {
        if e.critical && !UNDERSTOOD.iter().any(|u| *e.extn_id == **u) {
            return Err(bad(format!(
                "the {what} asks for the critical extension {}, which this CA does not support",
                oid::display(&e.extn_id)
            )));
        }
    }
    Ok(())
}

/// The public key must be present, complete and of a supported type.
pub(crate) fn check_public_key(key: Option<&SubjectPublicKeyInfo>) -> Result<(), Refusal> {
    let key = key.ok_or_else(|| bad("the template holds no publicKey"))?;
    if key.subject_public_key.is_empty() {
        return Err(bad(
            "the template's publicKey is empty (central key generation is not supported)",
        ));
    }
    KeySpec::of_public_key(key)
        .map(|_| ())
        .map_err(|e| bad(format!("the template's publicKey: {e}")))
}

fn check_names(subject: &Name, san: &Option<Vec<u8>>) -> Result<(), Refusal> {
    if is_empty_name(subject) && san.is_none() {
        return Err(bad(
            "the request names neither a subject nor subjectAltNames",
        ));
    }
    Ok(())
}

/// Checks a CRMF template (RFC 9483 §4.1.1): publicKey, a subject or subjectAltNames; no
/// serialNumber, signingAlg or unique identifiers; version 2 if present. The issuer, if
/// present, is not checked: the CA puts its own name there, and OpenSSL's client fills in the
/// issuer of its signing certificate (a vendor CA in a 3GPP-style ir).
pub(crate) fn check_template(t: &CertTemplate) -> Result<Requested, Refusal> {
    check_public_key(t.public_key.as_ref())?;
    if t.version.as_ref().is_some_and(|v| *v != 2.into()) {
        return Err(bad("the template's version must be 2 (v3) if present"));
    }
    if t.serial_number.is_some() || t.signing_alg.is_some() {
        return Err(bad(
            "the template must not hold serialNumber or signingAlg (the CA chooses them)",
        ));
    }
    if t.issuer_uid.is_some() || t.subject_uid.is_some() {
        return Err(bad("the template must not hold unique identifiers"));
    }
    let subject = t
        .subject
        .clone()
        .unwrap_or_else(|| Name::RdnSequence(Vec::new()));
    check_critical_extensions(t.extensions.as_ref(), "template")?;
    let san = subject_alt_names(t.extensions.as_ref());
    check_names(&subject, &san)?;
    let validity = t.validity.as_ref();
    Ok(Requested {
        subject,
        subject_alt_names: san,
        // check_public_key made sure it is there.
        public_key: t.public_key.clone().ok_or_else(|| bad("no publicKey"))?,
        not_before: validity.and_then(|v| v.not_before.as_ref()).and_then(time),
        not_after: validity.and_then(|v| v.not_after.as_ref()).and_then(time),
    })
}

/// Reads a PKCS#10 request's subject, key and requested subjectAltName (extensionRequest).
/// Its signature (the POP) is checked by [`super::pop::check_csr_signature`].
pub(crate) fn check_csr(csr: &Pkcs10Request) -> Result<Requested, Refusal> {
    let info = &csr.value().certification_request_info;
    check_public_key(Some(&info.subject_pk_info))?;
    let ext_req: &Oid = oid::PKCS9_EXTENSION_REQUEST;
    let mut san = None;
    for attr in info.attributes.to_vec() {
        if *attr.r#type != *ext_req {
            continue;
        }
        for value in attr.values.to_vec() {
            let exts: Extensions = rasn::der::decode(value.as_bytes())
                .map_err(|e| bad(format!("the CSR's extensionRequest is malformed: {e}")))?;
            check_critical_extensions(Some(&exts), "CSR's extensionRequest")?;
            san = san.or(subject_alt_names(Some(&exts)));
        }
    }
    check_names(&info.subject, &san)?;
    Ok(Requested {
        subject: info.subject.clone(),
        subject_alt_names: san,
        public_key: info.subject_pk_info.clone(),
        not_before: None,
        not_after: None,
    })
}
