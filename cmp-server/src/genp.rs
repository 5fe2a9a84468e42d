//! What the server offers in genp besides caCerts: a certificate request template built from
//! a subject and a key type, and a root CA key update read from files.

use std::path::Path;

use cmp_core::asn1::{AttributeTypeAndValue, CertReqTemplateContent, RootCaKeyUpdateContent, oid};
use cmp_core::builder::CertTemplateBuilder;
use cmp_core::crypto::KeySpec;
use rasn::types::{Any, Integer};
use rasn_pkix::{AlgorithmIdentifier, Name};

use crate::error::Error;
use crate::files::read_certs;

fn der<T: rasn::Encode>(what: &str, v: &T) -> Result<Any, Error> {
    rasn::der::encode(v)
        .map(Any::new)
        .map_err(|e| Error::Build(format!("{what}: {e}")))
}

/// The keySpec control of RFC 9483 §4.3.3 for `key`: `id-regCtrl-algId` with the public key
/// algorithm (and the curve), or `id-regCtrl-rsaKeyLen` with the modulus length.
fn key_spec(key: KeySpec) -> Result<AttributeTypeAndValue, Error> {
    let alg =
        |algorithm: &rasn::types::Oid, curve: Option<&rasn::types::Oid>| -> Result<Any, Error> {
            let parameters = match curve {
                Some(c) => Some(der("curve", &c.to_owned())?),
                None => None,
            };
            der(
                "algId",
                &AlgorithmIdentifier {
                    algorithm: algorithm.to_owned(),
                    parameters,
                },
            )
        };
    Ok(match key {
        KeySpec::Rsa(bits) => AttributeTypeAndValue {
            r#type: oid::REG_CTRL_RSA_KEY_LEN.to_owned(),
            value: der("rsaKeyLen", &Integer::from(bits))?,
        },
        KeySpec::EcP256 => AttributeTypeAndValue {
            r#type: oid::REG_CTRL_ALG_ID.to_owned(),
            value: alg(oid::EC_PUBLIC_KEY, Some(oid::SECP256R1))?,
        },
        KeySpec::EcP384 => AttributeTypeAndValue {
            r#type: oid::REG_CTRL_ALG_ID.to_owned(),
            value: alg(oid::EC_PUBLIC_KEY, Some(oid::SECP384R1))?,
        },
        KeySpec::Ed25519 => AttributeTypeAndValue {
            r#type: oid::REG_CTRL_ALG_ID.to_owned(),
            value: alg(oid::ED25519, None)?,
        },
        other => return Err(Error::Build(format!("no keySpec for {other} keys"))),
    })
}

/// A certReqTemplate: the subject clients are to request (if any) and the key type (if
/// any) as keySpec.
pub fn cert_req_template(
    subject: Option<Name>,
    key: Option<KeySpec>,
) -> Result<CertReqTemplateContent, Error> {
    let mut t = CertTemplateBuilder::new();
    if let Some(s) = subject {
        t = t.subject(s);
    }
    Ok(CertReqTemplateContent {
        cert_template: t.build(),
        key_spec: key.map(key_spec).transpose()?.map(|k| vec![k]),
    })
}

/// A root CA key update from certificate files: the new root (self-signed), and optionally
/// the new key certified by the old one and the old key certified by the new one.
pub fn root_ca_key_update(
    new_with_new: &Path,
    new_with_old: Option<&Path>,
    old_with_new: Option<&Path>,
) -> Result<RootCaKeyUpdateContent, Error> {
    let one = |p: &Path| read_certs(p).map(|mut c| c.remove(0));
    let new_with_new = one(new_with_new)?;
    if !new_with_new.is_self_issued() {
        return Err(Error::File {
            path: new_with_new_path(new_with_new.subject()),
            message: "newWithNew must be a self-issued root certificate".into(),
        });
    }
    Ok(RootCaKeyUpdateContent {
        new_with_new,
        new_with_old: new_with_old.map(one).transpose()?,
        old_with_new: old_with_new.map(one).transpose()?,
    })
}

fn new_with_new_path(subject: &Name) -> String {
    format!("newWithNew ({})", cmp_core::names::format_name(subject))
}
