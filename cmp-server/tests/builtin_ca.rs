//! The built-in CA: certificates that `openssl verify -x509_strict` accepts, for the
//! requested key, subject and subjectAltNames, with unique positive serials, the extensions
//! of the profile and a validity cut by policy.

mod common;

use cmp_core::crypto::PrivateKeyExt;
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use cmp_core::asn1::{CmpCertificate, oid};
use cmp_core::crypto::{DigestAlgorithm, KeySpec, Primitives, PrivateKey};
use cmp_core::server::{Issuer, IssuerError};
use cmp_crypto::software::SoftwareKey;
use cmp_server::{BuiltinCa, Error, IssuancePolicy, SERIAL_LEN};
use cmp_tests::run::block_on;
use common::*;
use rasn::types::{BitString, OctetString};
use rasn_pkix::{AuthorityKeyIdentifier, BasicConstraints, GeneralName, GeneralNames};

fn pem(cert: &CmpCertificate) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(cert.der());
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("ascii"));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// `openssl verify -x509_strict -CAfile ca.pem leaf.pem` at the tests' time; returns stdout
/// and stderr.
fn openssl_verify(dir: &Path, ca: &CmpCertificate, leaf: &CmpCertificate) -> (String, String) {
    std::fs::write(dir.join("ca.pem"), pem(ca)).expect("write");
    std::fs::write(dir.join("leaf.pem"), pem(leaf)).expect("write");
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(["verify", "-x509_strict", "-attime"])
        .arg(NOW_SECS.to_string())
        .args(["-CAfile", "ca.pem", "leaf.pem"])
        .output()
        .expect("openssl is needed for this test: install it (apt-get install openssl)");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn issue(ca: &BuiltinCa, request: &cmp_core::server::CertificateRequest) -> CmpCertificate {
    let issued = block_on(ca.issue(request)).expect("issued");
    assert_eq!(issued.chain, vec![ca.ca_cert().der().to_vec()]);
    CmpCertificate::from_der(&issued.certificate).expect("cert")
}

fn ext<T: rasn::Decode>(cert: &CmpCertificate, id: &rasn::types::Oid) -> (bool, T) {
    let e = cert.extension(id).expect("extension present");
    (
        e.critical,
        rasn::der::decode(&e.extn_value).expect("extension decodes"),
    )
}

#[test]
fn generated_root_issues_what_openssl_verify_x509_strict_accepts() {
    let pki = Pki::new(|_| {});
    let dir = cmp_tests::tools::temp_dir("builtin-ca-generated");
    // The root itself passes the strict checks.
    let (out, err) = openssl_verify(&dir, pki.ca.ca_cert(), pki.ca.ca_cert());
    assert_eq!((out.as_str(), err.as_str()), ("leaf.pem: OK\n", ""));

    let key = new_key();
    let mut request = cert_request(SUBJECT, key.as_ref());
    let san: GeneralNames = vec![GeneralName::DnsName(
        rasn::types::Ia5String::try_from("device42.example").expect("ia5"),
    )];
    request.subject_alt_names = Some(rasn::der::encode(&san).expect("der"));
    let leaf = issue(&pki.ca, &request);
    let (out, err) = openssl_verify(&dir, pki.ca.ca_cert(), &leaf);
    assert_eq!((out.as_str(), err.as_str()), ("leaf.pem: OK\n", ""));

    // The profile: for the requested key and names, CA:FALSE, digitalSignature, SKI and AKI.
    assert!(key.matches_public_key(leaf.subject_public_key_info()));
    assert_eq!(
        rasn::der::encode(leaf.subject()).expect("der"),
        request.subject
    );
    assert_eq!(
        ext::<GeneralNames>(&leaf, oid::CE_SUBJECT_ALT_NAME),
        (false, san)
    );
    assert_eq!(
        ext::<BasicConstraints>(&leaf, oid::CE_BASIC_CONSTRAINTS),
        (
            true,
            BasicConstraints {
                ca: false,
                path_len_constraint: None
            }
        )
    );
    let (critical, ku) = ext::<BitString>(&leaf, oid::CE_KEY_USAGE);
    assert!(critical);
    assert_eq!(
        ku.iter_ones().collect::<Vec<_>>(),
        [0],
        "digitalSignature only"
    );
    let ski = pki
        .primitives
        .digest(
            DigestAlgorithm::Sha1,
            key.public_key_info()
                .expect("spki")
                .subject_public_key
                .as_raw_slice(),
        )
        .expect("sha1");
    assert_eq!(
        ext::<OctetString>(&leaf, oid::CE_SUBJECT_KEY_IDENTIFIER)
            .1
            .to_vec(),
        ski
    );
    let (_, aki) = ext::<AuthorityKeyIdentifier>(&leaf, oid::CE_AUTHORITY_KEY_IDENTIFIER);
    assert_eq!(
        aki.key_identifier.map(|k| k.to_vec()),
        pki.ca.ca_cert().subject_key_identifier()
    );
    // Validity: from now, one year at most (the policy's default).
    let validity = &leaf.value().tbs_certificate.validity;
    let secs = |t: &rasn_pkix::Time| match t {
        rasn_pkix::Time::Utc(u) => u.timestamp(),
        rasn_pkix::Time::General(g) => g.timestamp(),
    };
    assert_eq!(secs(&validity.not_before), NOW_SECS as i64);
    assert_eq!(secs(&validity.not_after), NOW_SECS as i64 + 365 * 24 * 3600);
}

#[test]
fn ca_from_a_given_certificate_and_key_issues_for_an_ed25519_key_with_only_sans() {
    let primitives = SeededPrimitives::new(3);
    let ca_cert =
        CmpCertificate::from_der(&cmp_tests::fixtures::read("pki/ca-cert.der")).expect("cert");
    let ca = BuiltinCa::new(
        ca_cert.clone(),
        Vec::new(),
        fixture_key("ca-key.pem"),
        primitives,
        IssuancePolicy {
            max_validity: Duration::from_secs(30 * 24 * 3600),
            ..IssuancePolicy::default()
        },
    )
    .expect("CA");
    let key: Arc<dyn PrivateKey> = Arc::new(SoftwareKey::generate(KeySpec::Ed25519).expect("key"));
    let mut request = cert_request("", key.as_ref());
    let san: GeneralNames = vec![GeneralName::DnsName(
        rasn::types::Ia5String::try_from("only-san.example").expect("ia5"),
    )];
    request.subject_alt_names = Some(rasn::der::encode(&san).expect("der"));
    // Asked for ten years: cut to the policy's 30 days.
    request.not_after = Some(now() + Duration::from_secs(10 * 365 * 24 * 3600));
    let leaf = issue(&ca, &request);
    let dir = cmp_tests::tools::temp_dir("builtin-ca-given");
    let (out, err) = openssl_verify(&dir, &ca_cert, &leaf);
    assert_eq!((out.as_str(), err.as_str()), ("leaf.pem: OK\n", ""));
    // An empty subject makes subjectAltName critical (RFC 5280 §4.2.1.6).
    assert_eq!(
        ext::<GeneralNames>(&leaf, oid::CE_SUBJECT_ALT_NAME),
        (true, san)
    );
    let not_after = match &leaf.value().tbs_certificate.validity.not_after {
        rasn_pkix::Time::Utc(u) => u.timestamp(),
        rasn_pkix::Time::General(g) => g.timestamp(),
    };
    assert_eq!(not_after, NOW_SECS as i64 + 30 * 24 * 3600);
}

#[test]
fn serials_are_unique_positive_and_sixteen_bytes() {
    let pki = Pki::new(|_| {});
    let key = new_key();
    let mut seen = HashSet::new();
    for _ in 0..64 {
        let cert = issue(&pki.ca, &cert_request(SUBJECT, key.as_ref()));
        let der = rasn::der::encode(cert.serial_number()).expect("der");
        let content = der[2..].to_vec();
        assert_eq!(der[1] as usize, SERIAL_LEN);
        assert!(
            content[0] & 0x80 == 0 && content[0] != 0,
            "positive, minimal"
        );
        assert!(seen.insert(content), "unique");
    }
}

#[test]
fn refusals_of_the_ca() {
    let pki = Pki::new(|_| {});
    // A key that is not the certificate's.
    let err = BuiltinCa::new(
        pki.ca.ca_cert().clone(),
        Vec::new(),
        new_key(),
        pki.primitives.clone(),
        IssuancePolicy::default(),
    )
    .expect_err("mismatch");
    assert!(matches!(&err, Error::KeyMismatch { .. }));
    assert_eq!(
        err.to_string(),
        "the CA key does not match the CA certificate CN=cmp-server Test CA,O=cmp-rs server tests"
    );
    // Neither subject nor SANs; a validity that ends before it starts.
    let key = new_key();
    assert_eq!(
        block_on(pki.ca.issue(&cert_request("", key.as_ref()))),
        Err(IssuerError::Refused {
            fail_info: cmp_core::asn1::FailureBit::BadCertTemplate,
            reason: "neither a subject nor subjectAltNames".into()
        })
    );
    let mut request = cert_request(SUBJECT, key.as_ref());
    request.not_after = Some(now() - Duration::from_secs(1));
    assert_eq!(
        block_on(pki.ca.issue(&request)),
        Err(IssuerError::Refused {
            fail_info: cmp_core::asn1::FailureBit::BadCertTemplate,
            reason:
                "the requested validity ends before it starts (or the CA certificate has expired)"
                    .into()
        })
    );
    // The table of issued certificates is bounded.
    let small = BuiltinCa::new(
        pki.ca.ca_cert().clone(),
        Vec::new(),
        pki.ca.key().clone(),
        pki.primitives.clone(),
        IssuancePolicy {
            max_certificates: 1,
            ..IssuancePolicy::default()
        },
    )
    .expect("CA");
    block_on(small.issue(&cert_request(SUBJECT, key.as_ref()))).expect("first");
    assert_eq!(
        block_on(small.issue(&cert_request(SUBJECT, key.as_ref()))),
        Err(IssuerError::Unavailable(
            "the CA holds its maximum of 1 certificates".into()
        ))
    );
}
