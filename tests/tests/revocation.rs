//! Revocation checking with CRLs made by `openssl ca -gencrl`: rustls-webpki as our
//! `CertPathVerifier`, fed a revoked certificate, a missing CRL, a CRL past its nextUpdate, a
//! CRL with a bad signature and one from the wrong issuer — each with its exact sentence.

use cmp_core::crypto::CertPathVerifierExt;
use std::path::PathBuf;
use std::time::SystemTime;

use cmp_core::asn1::CmpCertificate;
use cmp_core::crypto::{PathPolicy, RevocationCheck};
use cmp_crypto::webpki_paths::WebPkiPaths;
use cmp_tests::fixtures;
use cmp_tests::openssl_ca::{OpensslCa, read_pem_cert, read_pem_crl};

fn cert(name: &str) -> CmpCertificate {
    read_pem_cert(&PathBuf::from(fixtures::pki(&format!("{name}-cert.pem"))))
}

fn check(
    leaf: &CmpCertificate,
    intermediates: &[CmpCertificate],
    revocation: RevocationCheck,
    crls: &[&PathBuf],
) -> Result<(), String> {
    let policy = PathPolicy {
        revocation,
        crls: crls.iter().map(|p| read_pem_crl(p)).collect(),
        ..PathPolicy::default()
    };
    WebPkiPaths
        .verify_certificates(
            leaf,
            intermediates,
            &[cert("ca")],
            SystemTime::now(),
            &policy,
        )
        .map_err(|e| e.to_string())
}

const SERVER: &str = "O=cmp-rs test PKI,CN=CMP Test Server (serial 4097)";
const CA: &str = "O=cmp-rs test PKI,CN=CMP Test CA";

#[test]
fn the_leaf_is_checked_against_the_issuers_crl() {
    let ca = OpensslCa::test_ca("crl-leaf");
    let server = cert("server");
    let clean = ca.crl("clean", None);
    check(&server, &[], RevocationCheck::EndEntity, &[&clean]).expect("not revoked");
    // Without revocation checking the CRLs are not looked at.
    check(&server, &[], RevocationCheck::None, &[]).expect("no checking");

    ca.revoke(
        &PathBuf::from(fixtures::pki("server-cert.pem")),
        "keyCompromise",
    );
    let revoked = ca.crl("revoked", None);
    assert_eq!(
        check(&server, &[], RevocationCheck::EndEntity, &[&revoked]),
        Err(format!(
            "certificate path does not validate: the certificate {SERVER} is revoked (listed in the CRL of {CA})"
        ))
    );
    assert_eq!(
        check(&server, &[], RevocationCheck::EndEntity, &[]),
        Err(
            "certificate path does not validate: revocation checking is on, but no CRLs were given"
                .into()
        )
    );
}

#[test]
fn a_stale_forged_or_foreign_crl_fails_with_a_sentence_that_says_which() {
    let ca = OpensslCa::test_ca("crl-bad");
    let server = cert("server");
    let stale = ca.crl("stale", Some(("20260101000000Z", "20260201000000Z")));
    assert_eq!(
        check(&server, &[], RevocationCheck::EndEntity, &[&stale]),
        Err(format!(
            "certificate path does not validate: the CRL of {CA} is out of date: its nextUpdate was 2026-02-01 00:00:00 UTC"
        ))
    );
    let forged = OpensslCa::impostor("crl-impostor").crl("forged", None);
    assert_eq!(
        check(&server, &[], RevocationCheck::EndEntity, &[&forged]),
        Err(format!(
            "certificate path does not validate: the CRL that names {CA} as its issuer is not signed by that issuer's key"
        ))
    );
    // A CRL of another CA (here an intermediate of the test CA) says nothing about the leaf.
    let sub_key = ca.new_key("sub");
    let sub_cert = ca.issue(
        "sub",
        &sub_key,
        "/CN=CMP Test Sub CA/O=cmp-rs test PKI",
        "sub_ca",
        None,
    );
    let foreign = OpensslCa::from_files("crl-foreign", &sub_cert, &sub_key).crl("sub", None);
    assert_eq!(
        check(&server, &[], RevocationCheck::EndEntity, &[&foreign]),
        Err(format!(
            "certificate path does not validate: no CRL from {CA} (the issuer of {SERVER}) was given; the CRLs given are from O=cmp-rs test PKI,CN=CMP Test Sub CA"
        ))
    );
}

#[test]
fn crl_check_all_covers_the_intermediates_and_crl_check_only_the_leaf() {
    let root = OpensslCa::test_ca("crl-all-root");
    let sub_key = root.new_key("sub");
    let sub_pem = root.issue(
        "sub",
        &sub_key,
        "/CN=CMP Test Sub CA/O=cmp-rs test PKI",
        "sub_ca",
        None,
    );
    let sub = OpensslCa::from_files("crl-all-sub", &sub_pem, &sub_key);
    let leaf_key = sub.new_key("leaf");
    let leaf =
        read_pem_cert(&sub.issue("leaf", &leaf_key, "/CN=Leaf/O=cmp-rs test PKI", "ee", None));
    let inter = [read_pem_cert(&sub_pem)];
    let sub_crl = sub.crl("sub", None);
    root.revoke(&sub_pem, "cACompromise");
    let root_crl = root.crl("root", None);
    // The leaf alone: its issuer's CRL is clean.
    check(&leaf, &inter, RevocationCheck::EndEntity, &[&sub_crl]).expect("leaf not revoked");
    // The whole path: the intermediate is revoked in the root's CRL.
    assert_eq!(
        check(&leaf, &inter, RevocationCheck::All, &[&sub_crl, &root_crl]),
        Err(format!(
            "certificate path does not validate: the certificate O=cmp-rs test PKI,CN=CMP Test Sub CA (serial 16385) is revoked (listed in the CRL of {CA})"
        ))
    );
    // ... and without the root's CRL its status is unknown.
    assert_eq!(
        check(&leaf, &inter, RevocationCheck::All, &[&sub_crl]),
        Err(format!(
            "certificate path does not validate: no CRL from {CA} (the issuer of O=cmp-rs test PKI,CN=CMP Test Sub CA (serial 16385)) was given; the CRLs given are from O=cmp-rs test PKI,CN=CMP Test Sub CA"
        ))
    );
}
