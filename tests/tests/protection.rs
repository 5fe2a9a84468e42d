//! Message protection against real `openssl cmp` messages (known answers) and round trips of
//! our own protection, with every failure asserted by its exact error.

use cmp_core::crypto::CertPathVerifierExt;
use std::time::{Duration, SystemTime};

use cmp_core::ProtectionError;
use cmp_core::asn1::{CmpCertificate, PkiBody, PkiMessage, ReceivedMessage};
use cmp_core::builder::PkiHeaderBuilder;
use cmp_core::crypto::{KeySpec, PathPolicy, SignatureAlgorithm};
use cmp_core::protection::{
    MacLimits, MacSettings, ProtectionAlg, protect_with_key, protect_with_mac, verify_mac,
    verify_signature, verify_signature_with_key,
};
use cmp_tests::fixtures;
use cmp_tests::run::block_on;

const SECRET: &[u8] = b"cmp-test-secret-1234";

fn provider() -> cmp_core::crypto::CryptoProvider {
    cmp_crypto::default_provider()
}

fn received(rel: &str) -> ReceivedMessage {
    ReceivedMessage::decode(&fixtures::read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn cert(name: &str) -> CmpCertificate {
    CmpCertificate::from_der(&fixtures::read(&format!("pki/{name}.der"))).expect("cert")
}

/// The same message with one byte of the senderNonce value flipped: still well-formed, so
/// only the protection check can notice.
fn with_flipped_nonce(msg: &ReceivedMessage) -> ReceivedMessage {
    let nonce = msg
        .message()
        .header
        .sender_nonce
        .clone()
        .expect("fixtures carry a senderNonce");
    let mut der = msg.der().to_vec();
    let at = der
        .windows(nonce.len())
        .position(|w| w == nonce.as_ref())
        .expect("nonce bytes present");
    der[at] ^= 0x01;
    ReceivedMessage::decode(&der).expect("still decodes")
}

/// The fixture messages of these scenarios, as paths below the fixture directory.
fn fixtures_of(scenarios: &[&str]) -> Vec<String> {
    fixtures::openssl_messages()
        .into_iter()
        .filter(|(p, _)| {
            scenarios
                .iter()
                .any(|s| p.parent().is_some_and(|d| d.ends_with(s)))
        })
        .map(|(p, _)| {
            p.strip_prefix(fixtures::openssl_dir())
                .expect("below")
                .display()
                .to_string()
        })
        .collect()
}

fn pbm_fixtures() -> Vec<String> {
    fixtures_of(&["pbm-ir", "error", "implicit-confirm"])
}

fn signed_fixtures() -> Vec<String> {
    fixtures_of(&[
        "sig-ir",
        "cr",
        "kur",
        "p10cr",
        "rr",
        "genm",
        "poll",
        "rejection",
    ])
}

#[test]
fn openssl_pbm_messages_verify_with_the_shared_secret() {
    let p = provider();
    let files = pbm_fixtures();
    assert!(files.len() >= 8, "{files:?}");
    for rel in files {
        let msg = received(&rel);
        verify_mac(&msg, SECRET, &MacLimits::default(), p.primitives.as_ref())
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(
            verify_mac(
                &msg,
                b"wrong secret",
                &MacLimits::default(),
                p.primitives.as_ref()
            ),
            Err(ProtectionError::BadMac),
            "{rel}"
        );
        assert_eq!(
            verify_mac(
                &with_flipped_nonce(&msg),
                SECRET,
                &MacLimits::default(),
                p.primitives.as_ref()
            ),
            Err(ProtectionError::BadMac),
            "{rel}"
        );
    }
}

#[test]
fn pbm_parameters_are_read_as_openssl_sends_them() {
    let msg = received("pbm-ir/01-ir.der");
    let alg = ProtectionAlg::parse(
        msg.message()
            .header
            .protection_alg
            .as_ref()
            .expect("protected"),
        &MacLimits::default(),
    )
    .expect("parses");
    match alg {
        ProtectionAlg::PasswordBasedMac {
            salt,
            owf,
            iterations,
            mac,
        } => {
            assert_eq!(salt.len(), 16);
            assert_eq!(owf, cmp_core::crypto::DigestAlgorithm::Sha256);
            assert_eq!(iterations, 500);
            assert_eq!(mac, cmp_core::crypto::DigestAlgorithm::Sha1);
        }
        other => panic!("expected PBM, got {other:?}"),
    }
}

#[test]
fn iteration_counts_outside_the_limits_are_refused_before_any_work() {
    let p = provider();
    let msg = received("pbm-ir/02-ip.der");
    let limits = MacLimits {
        pbm_iterations: 1000..=2000,
        ..MacLimits::default()
    };
    let err = verify_mac(&msg, SECRET, &limits, p.primitives.as_ref()).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "PasswordBasedMac iteration count 500 is outside the accepted range 1000..=2000"
    );
}

#[test]
fn openssl_signed_messages_verify_with_the_signer_certificate() {
    let p = provider();
    let files = signed_fixtures();
    assert!(files.len() >= 20, "{files:?}");
    for rel in files {
        let msg = received(&rel);
        let signer = msg.message().extra_certs.as_ref().expect("extraCerts")[0].clone();
        verify_signature(&msg, &signer, p.primitives.as_ref())
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        let err = verify_signature(&with_flipped_nonce(&msg), &signer, p.primitives.as_ref())
            .expect_err("tampered");
        let subject = cmp_core::names::format_name(signer.subject());
        assert_eq!(
            err.to_string(),
            format!("the signature does not verify with the key of {subject}"),
            "{rel}"
        );
        // The signer chains to the test CA (now), as webpki sees it.
        p.paths
            .verify_certificates(
                &signer,
                &[],
                &[cert("ca-cert")],
                SystemTime::now(),
                &PathPolicy::default(),
            )
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
    }
}

#[test]
fn a_signature_with_another_key_is_refused() {
    let p = provider();
    let msg = received("sig-ir/02-ip.der");
    let err =
        verify_signature(&msg, &cert("vendor-cert"), p.primitives.as_ref()).expect_err("wrong key");
    assert_eq!(
        err.to_string(),
        "the signature does not verify with the key of O=cmp-rs test PKI,CN=CMP Test Vendor Device"
    );
}

#[test]
fn wrong_kind_of_credential_is_named() {
    let p = provider();
    let signed = received("sig-ir/02-ip.der");
    assert_eq!(
        verify_mac(
            &signed,
            SECRET,
            &MacLimits::default(),
            p.primitives.as_ref()
        )
        .expect_err("signed")
        .to_string(),
        "the message is signature-protected, but only a shared secret was given"
    );
    let maced = received("pbm-ir/02-ip.der");
    assert_eq!(
        verify_signature(&maced, &cert("server-cert"), p.primitives.as_ref())
            .expect_err("MACed")
            .to_string(),
        "the message is MAC-protected, but only a certificate was given"
    );
    let unprotected = ReceivedMessage::decode(
        &PkiMessage::new(PkiHeaderBuilder::new().build(), PkiBody::Pkiconf(()))
            .to_der()
            .expect("encode"),
    )
    .expect("decode");
    assert_eq!(
        verify_mac(
            &unprotected,
            SECRET,
            &MacLimits::default(),
            p.primitives.as_ref()
        ),
        Err(ProtectionError::Unprotected)
    );
}

#[test]
fn path_validation_failures_are_named() {
    let p = provider();
    let server = cert("server-cert");
    let ca = cert("ca-cert");
    let in_2100 = SystemTime::UNIX_EPOCH + Duration::from_secs(4_102_444_800);
    assert_eq!(
        p.paths
            .verify_certificates(
                &server,
                &[],
                std::slice::from_ref(&ca),
                in_2100,
                &PathPolicy::default()
            )
            .expect_err("expired")
            .to_string(),
        "certificate path does not validate: a certificate in the path has expired"
    );
    assert_eq!(
        p.paths
            .verify_certificates(
                &server,
                &[],
                &[cert("vendor-cert")],
                SystemTime::now(),
                &PathPolicy::default()
            )
            .expect_err("wrong anchor")
            .to_string(),
        "certificate path does not validate: no trust anchor or intermediate issued it (unknown issuer)"
    );
    assert_eq!(
        p.paths
            .verify_certificates(
                &ca,
                &[],
                std::slice::from_ref(&ca),
                SystemTime::now(),
                &PathPolicy::default()
            )
            .expect_err("CA as end entity")
            .to_string(),
        "certificate path does not validate: a CA certificate cannot be validated as an end entity"
    );
}

fn pkiconf() -> PkiMessage {
    PkiMessage::new(
        PkiHeaderBuilder::new()
            .transaction_id([1u8; 16])
            .sender_nonce([2u8; 16])
            .sender_kid(b"client-ref".to_vec())
            .build(),
        PkiBody::Pkiconf(()),
    )
}

#[test]
fn our_mac_protection_verifies_and_detects_changes() {
    let p = provider();
    for settings in [MacSettings::pbm_default(), MacSettings::pbmac1_default()] {
        let mut msg = pkiconf();
        protect_with_mac(&mut msg, SECRET, &settings, p.primitives.as_ref()).expect("protect");
        let der = msg.to_der().expect("encode");
        let rcv = ReceivedMessage::decode(&der).expect("decode");
        verify_mac(&rcv, SECRET, &MacLimits::default(), p.primitives.as_ref())
            .unwrap_or_else(|e| panic!("{settings:?}: {e}"));
        assert_eq!(
            verify_mac(&rcv, b"other", &MacLimits::default(), p.primitives.as_ref()),
            Err(ProtectionError::BadMac)
        );
        assert_eq!(
            verify_mac(
                &with_flipped_nonce(&rcv),
                SECRET,
                &MacLimits::default(),
                p.primitives.as_ref()
            ),
            Err(ProtectionError::BadMac)
        );
    }
}

#[test]
fn pbmac1_defaults_are_pbkdf2_sha256_10000_iterations_32_byte_key() {
    let p = provider();
    let mut msg = pkiconf();
    protect_with_mac(
        &mut msg,
        SECRET,
        &MacSettings::pbmac1_default(),
        p.primitives.as_ref(),
    )
    .expect("protect");
    let alg = ProtectionAlg::parse(
        msg.header.protection_alg.as_ref().expect("set"),
        &MacLimits::default(),
    )
    .expect("parse");
    assert!(
        matches!(
            alg,
            ProtectionAlg::Pbmac1 {
                iterations: 10_000,
                key_len: 32,
                prf: cmp_core::crypto::DigestAlgorithm::Sha256,
                mac: cmp_core::crypto::DigestAlgorithm::Sha256,
                ..
            }
        ),
        "{alg:?}"
    );
    let too_many = MacLimits {
        pbmac1_iterations: 1000..=5000,
        ..MacLimits::default()
    };
    let rcv = ReceivedMessage::decode(&msg.to_der().expect("encode")).expect("decode");
    assert_eq!(
        verify_mac(&rcv, SECRET, &too_many, p.primitives.as_ref())
            .expect_err("limit")
            .to_string(),
        "PBMAC1 iteration count 10000 is outside the accepted range 1000..=5000"
    );
}

#[test]
fn our_signature_protection_verifies_for_every_algorithm() {
    let p = provider();
    for spec in [
        KeySpec::EcP256,
        KeySpec::EcP384,
        KeySpec::Ed25519,
        KeySpec::Rsa(2048),
    ] {
        let key = block_on(p.keys.generate(spec)).expect("generate");
        for alg in SignatureAlgorithm::ALL
            .into_iter()
            .filter(|a| spec.allows(*a))
        {
            let mut msg = pkiconf();
            block_on(protect_with_key(&mut msg, key.as_ref(), alg)).expect("sign");
            let rcv = ReceivedMessage::decode(&msg.to_der().expect("encode")).expect("decode");
            verify_signature_with_key(&rcv, key.public_key(), "test key", p.primitives.as_ref())
                .unwrap_or_else(|e| panic!("{spec} {alg}: {e}"));
            assert_eq!(
                verify_signature_with_key(
                    &with_flipped_nonce(&rcv),
                    key.public_key(),
                    "test key",
                    p.primitives.as_ref()
                ),
                Err(ProtectionError::BadSignature {
                    signer: "test key".into()
                }),
                "{spec} {alg}"
            );
        }
        // A key cannot protect with another family's algorithm.
        let mut msg = pkiconf();
        let foreign = if spec == KeySpec::Ed25519 {
            SignatureAlgorithm::EcdsaSha256
        } else {
            SignatureAlgorithm::Ed25519
        };
        let err = block_on(protect_with_key(&mut msg, key.as_ref(), foreign)).expect_err("foreign");
        assert_eq!(
            err.to_string(),
            format!(
                "the key does not fit the algorithm: a {spec} key cannot make or check {foreign}"
            )
        );
    }
}

#[test]
fn the_signer_is_found_by_sender_and_sender_kid() {
    use cmp_core::protection::find_signers;
    let msg = received("sig-ir/02-ip.der");
    let extra = msg.message().extra_certs.clone().expect("extraCerts");
    let now = std::time::SystemTime::now();
    // extraCerts = [server, ca]; the server signed.
    let found = find_signers(msg.message(), extra.iter().rev(), now);
    let found: Vec<&[u8]> = found.iter().map(|c| c.der()).collect();
    assert_eq!(found, vec![cert("server-cert").der()]);
    assert!(
        find_signers(
            msg.message(),
            [cert("ca-cert"), cert("vendor-cert")].iter(),
            now
        )
        .is_empty()
    );
    // Outside its validity, the signer is no candidate.
    let before = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    assert!(find_signers(msg.message(), extra.iter(), before).is_empty());
    assert_eq!(cert("server-cert").allows_digital_signature(), Some(true));
    assert_eq!(cert("ca-cert").allows_digital_signature(), Some(false));
}
