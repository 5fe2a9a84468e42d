//! `inspect --secret / --trusted / --srvcert`: protection checks, their verdicts in text and
//! JSON, and the exit code 4 when a check fails (the dump is still printed).

#[allow(dead_code)] // shared by several test files; each uses a part
mod support;

use cmp_core::asn1::{CmpCertificate, PkiBody, PkiMessage};
use cmp_core::builder::PkiHeaderBuilder;
use cmp_core::crypto::SignatureAlgorithm;
use cmp_core::protection::protect_with_key;
use cmp_tests::run::block_on;
use support::{TempDir, fixture, fixture_dir, run};

use cmp_tests::fixtures::pki;

fn json_protection(stdout: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    v["protection"]
        .as_str()
        .expect("protection is a string")
        .to_owned()
}

fn inspect_json(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["inspect", "--format", "json"];
    all.extend_from_slice(args);
    let r = run(&all);
    let p = if r.stdout.trim().is_empty() {
        String::new()
    } else {
        json_protection(&r.stdout)
    };
    (r.code, p, r.stderr)
}

#[test]
fn mac_protection_with_the_right_and_a_wrong_secret() {
    let f = fixture("pbm-ir", "02-ip.der").path.display().to_string();
    assert_eq!(
        inspect_json(&["--secret", "pass:cmp-test-secret-1234", &f]),
        (0, "valid".into(), String::new())
    );
    assert_eq!(
        inspect_json(&["--secret", "pass:wrong", &f]),
        (
            4,
            "invalid: the MAC does not verify (wrong shared secret, or the message was altered)"
                .into(),
            String::new()
        )
    );
    // The text dump is printed in full even when the check fails.
    let r = run(["inspect", "--secret", "pass:wrong", &f]);
    assert_eq!(r.code, 4);
    assert!(r.stdout.contains("Body: ip"), "{}", r.stdout);
    assert!(
        r.stdout.contains("(invalid: the MAC does not verify"),
        "{}",
        r.stdout
    );
}

#[test]
fn secret_from_a_file_and_from_the_environment() {
    let dir = TempDir::new("secret");
    let file = dir.write("secret.txt", b"cmp-test-secret-1234\n");
    let f = fixture("pbm-ir", "01-ir.der").path.display().to_string();
    let src = format!("file:{}", file.display());
    assert_eq!(inspect_json(&["--secret", &src, &f]).1, "valid");
    let r = std::process::Command::new(env!("CARGO_BIN_EXE_cmp-agent"))
        .args([
            "inspect",
            "--format",
            "json",
            "--secret",
            "env:CMP_TEST_SECRET",
            &f,
        ])
        .env("CMP_TEST_SECRET", "cmp-test-secret-1234")
        .output()
        .expect("run");
    assert_eq!(r.status.code(), Some(0));
    assert_eq!(
        json_protection(&String::from_utf8_lossy(&r.stdout)),
        "valid"
    );
    let (code, out, err) = inspect_json(&["--secret", "env:CMP_TEST_SURELY_UNSET", &f]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err,
        "cmp-agent: --secret: env:CMP_TEST_SURELY_UNSET: the environment variable CMP_TEST_SURELY_UNSET is not set\n"
    );
}

#[test]
fn signature_protection_chains_to_the_trust_anchor() {
    let ca = pki("ca-cert.pem");
    for (scenario, file) in [
        ("sig-ir", "02-ip.der"),
        ("cr", "01-cr.der"),
        ("kur", "01-kur.der"),
    ] {
        let f = fixture(scenario, file).path.display().to_string();
        assert_eq!(
            inspect_json(&["--trusted", &ca, &f]),
            (0, "valid".into(), String::new()),
            "{scenario}/{file}"
        );
    }
    let f = fixture("cr", "01-cr.der").path.display().to_string();
    assert_eq!(
        inspect_json(&["--trusted", &pki("server-cert.pem"), &f]),
        (
            4,
            "invalid: the signer certificate O=cmp-rs test PKI,CN=CMP Test Vendor Device: \
             certificate path does not validate: no trust anchor or intermediate issued it \
             (unknown issuer)"
                .into(),
            String::new()
        )
    );
}

#[test]
fn a_pinned_server_certificate() {
    let f = fixture("sig-ir", "02-ip.der").path.display().to_string();
    assert_eq!(
        inspect_json(&["--srvcert", &pki("server-cert.pem"), &f]),
        (0, "valid".into(), String::new())
    );
    assert_eq!(
        inspect_json(&["--srvcert", &pki("vendor-cert.pem"), &f]),
        (
            4,
            "invalid: the signature does not verify with the key of O=cmp-rs test PKI,CN=CMP Test Vendor Device"
                .into(),
            String::new()
        )
    );
}

#[test]
fn the_wrong_credential_for_the_protection_kind() {
    let mac = fixture("pbm-ir", "02-ip.der").path.display().to_string();
    assert_eq!(
        inspect_json(&["--trusted", &pki("ca-cert.pem"), &mac]).1,
        "invalid: the message is MAC-protected; give --secret to check it"
    );
    let sig = fixture("cr", "02-cp.der").path.display().to_string();
    assert_eq!(
        inspect_json(&["--secret", "pass:x", &sig]).1,
        "invalid: the message is signature-protected; give --trusted or --srvcert to check it"
    );
    let dir = TempDir::new("unprotected");
    let pkiconf = dir.write(
        "pkiconf.der",
        &[
            0x30, 0x11, 0x30, 0x0B, 0x02, 0x01, 0x02, 0xA4, 0x02, 0x30, 0x00, 0xA4, 0x02, 0x30,
            0x00, 0xB3, 0x02, 0x05, 0x00,
        ],
    );
    let p = pkiconf.display().to_string();
    assert_eq!(
        inspect_json(&["--secret", "pass:x", &p]),
        (
            4,
            "invalid: the message is not protected".into(),
            String::new()
        )
    );
    assert_eq!(inspect_json(&[&p]), (0, "absent".into(), String::new()));
    assert_eq!(
        inspect_json(&[&sig]),
        (0, "unchecked".into(), String::new())
    );
}

#[test]
fn a_signer_without_digital_signature_key_usage_is_refused_unless_told() {
    // A message signed by the test CA itself: its certificate allows keyCertSign and
    // cRLSign only.
    let ca_der = std::fs::read(fixture_dir().join("pki/ca-cert.der")).expect("ca");
    let ca = CmpCertificate::from_der(&ca_der).expect("cert");
    let key = cmp_crypto::software::read_key_file(&fixture_dir().join("pki/ca-key.pem"), None)
        .expect("ca key");
    let mut msg = PkiMessage::new(
        PkiHeaderBuilder::new()
            .sender_name(ca.subject().clone())
            .sender_kid(ca.subject_key_identifier().expect("SKI"))
            .transaction_id([7u8; 16])
            .sender_nonce([8u8; 16])
            .build(),
        PkiBody::Pkiconf(()),
    );
    msg.extra_certs = Some(vec![ca]);
    block_on(protect_with_key(
        &mut msg,
        &key,
        SignatureAlgorithm::EcdsaSha256,
    ))
    .expect("sign");
    let dir = TempDir::new("keyusage");
    let path = dir.write("ca-signed.der", &msg.to_der().expect("encode"));
    let p = path.display().to_string();
    let ca_pem = pki("ca-cert.pem");
    assert_eq!(
        inspect_json(&["--trusted", &ca_pem, &p]),
        (
            4,
            "invalid: the signer certificate O=cmp-rs test PKI,CN=CMP Test CA does not allow \
             digitalSignature (keyUsage); --ignore-keyusage accepts it"
                .into(),
            String::new()
        )
    );
    assert_eq!(
        inspect_json(&["--trusted", &ca_pem, "--ignore-keyusage", &p]),
        (0, "valid".into(), String::new())
    );
}
