//! Messages we protect, verified by peers nobody here wrote: BouncyCastle 1.72
//! (`tests/java/run.sh verify`) for every protection we offer — PBM, PBMAC1, ECDSA P-256 and
//! P-384, RSA PKCS#1 v1.5, RSASSA-PSS, Ed25519 — and the OpenSSL 3.0 mock server
//! (`tests/scripts/verify-request-with-openssl.sh`) for requests signed or MACed by us.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use cmp_core::asn1::{CmpCertificate, InfoTypeAndValue, PkiBody, PkiMessage, oid};
use cmp_core::builder::PkiHeaderBuilder;
use cmp_core::crypto::{KeySpec, PrivateKey, SignatureAlgorithm};
use cmp_core::protection::{MacSettings, protect_with_key, protect_with_mac};
use cmp_crypto::software::{SoftwareKey, read_key_file, write_key_file};
use cmp_tests::run::block_on;
use cmp_tests::{fixtures, tools};

const SECRET: &str = "cmp-test-secret-1234";

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel)
}

fn genm(sender: Option<&CmpCertificate>) -> PkiMessage {
    let p = cmp_crypto::default_provider();
    let mut tid = [0u8; 16];
    let mut nonce = [0u8; 16];
    p.primitives.fill_random(&mut tid).expect("random");
    p.primitives.fill_random(&mut nonce).expect("random");
    let mut h = PkiHeaderBuilder::new()
        .transaction_id(tid)
        .sender_nonce(nonce)
        .message_time(now())
        .recipient_name(
            cmp_core::names::parse_name("/CN=CMP Test CA/O=cmp-rs test PKI").expect("dn"),
        );
    match sender {
        Some(cert) => {
            h = h.sender_name(cert.subject().clone());
            if let Some(ski) = cert.subject_key_identifier() {
                h = h.sender_kid(ski);
            }
        }
        None => {
            h = h
                .sender_name(
                    cmp_core::names::parse_name("/CN=CMP Test Device/O=cmp-rs test PKI")
                        .expect("dn"),
                )
                .sender_kid(b"client-ref-1234".to_vec());
        }
    }
    let mut msg = PkiMessage::new(
        h.build(),
        PkiBody::Genm(vec![InfoTypeAndValue::request(oid::IT_CA_CERTS)]),
    );
    if let Some(cert) = sender {
        msg.extra_certs = Some(vec![cert.clone()]);
    }
    msg
}

/// The current time, whole seconds (as DER GeneralizedTime wants it).
fn now() -> chrono::DateTime<chrono::FixedOffset> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    chrono::DateTime::from_timestamp(i64::try_from(secs).expect("time fits"), 0)
        .expect("valid time")
        .fixed_offset()
}

/// Runs a verifier script; (exit code, first stdout line).
fn run(script: &Path, args: &[&str], file: &Path) -> (i32, String) {
    let out = Command::new("bash")
        .arg(script)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code != 3,
        "{} needs a JDK and BouncyCastle: apt-get install -y default-jdk-headless libbcprov-java libbcpkix-java libbcutil-java\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    (code, stdout)
}

fn bc(args: &[&str], file: &Path) -> (i32, String) {
    run(
        &repo("tests/java/run.sh"),
        &["verify"].iter().chain(args).copied().collect::<Vec<_>>(),
        file,
    )
}

fn write(dir: &Path, name: &str, msg: &PkiMessage) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, msg.to_der().expect("encode")).expect("write");
    path
}

/// The same file with one byte of the senderNonce flipped.
fn tampered(dir: &Path, name: &str, msg: &PkiMessage) -> PathBuf {
    let mut der = msg.to_der().expect("encode");
    let nonce = msg.header.sender_nonce.clone().expect("nonce");
    let at = der
        .windows(nonce.len())
        .position(|w| w == nonce.as_ref())
        .expect("nonce present");
    der[at] ^= 1;
    let path = dir.join(name);
    std::fs::write(&path, der).expect("write");
    path
}

/// A self-signed certificate for `key`, made by openssl from the key file we write.
fn self_signed(dir: &Path, name: &str, key: &dyn PrivateKey) -> (PathBuf, CmpCertificate) {
    let key_path = dir.join(format!("{name}.key"));
    write_key_file(&key_path, key).expect("write key");
    let cert_path = dir.join(format!("{name}.pem"));
    let der_path = dir.join(format!("{name}.der"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-new",
            "-subj",
            &format!("/CN={name}"),
            "-days",
            "2",
            "-key",
        ])
        .arg(&key_path)
        .arg("-out")
        .arg(&cert_path)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert_path)
            .arg("-out")
            .arg(&der_path)
            .status()
            .is_ok_and(|s| s.success());
    assert!(ok, "openssl could not make a certificate for {name}");
    let cert = CmpCertificate::from_der(&std::fs::read(&der_path).expect("der")).expect("cert");
    (cert_path, cert)
}

#[test]
fn bouncycastle_verifies_our_mac_protection() {
    let dir = tools::temp_dir("bc-mac");
    let p = cmp_crypto::default_provider();
    for (name, settings) in [
        ("pbm", MacSettings::pbm_default()),
        ("pbmac1", MacSettings::pbmac1_default()),
    ] {
        let mut msg = genm(None);
        protect_with_mac(
            &mut msg,
            SECRET.as_bytes(),
            &settings,
            p.primitives.as_ref(),
        )
        .expect("protect");
        let file = write(&dir, &format!("{name}.der"), &msg);
        let (code, out) = bc(&["--secret", SECRET], &file);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(out.starts_with("VALID"), "{name}: {out}");
        let (code, out) = bc(&["--secret", "wrong"], &file);
        assert_eq!(
            (code, out.starts_with("INVALID")),
            (1, true),
            "{name}: {out}"
        );
        let (code, out) = bc(
            &["--secret", SECRET],
            &tampered(&dir, &format!("{name}-x.der"), &msg),
        );
        assert_eq!(
            (code, out.starts_with("INVALID")),
            (1, true),
            "{name}: {out}"
        );
    }
}

#[test]
fn bouncycastle_verifies_our_signatures_for_every_algorithm() {
    let dir = tools::temp_dir("bc-sig");
    let cases = [
        (KeySpec::EcP256, SignatureAlgorithm::EcdsaSha256),
        (KeySpec::EcP384, SignatureAlgorithm::EcdsaSha384),
        (KeySpec::Rsa(2048), SignatureAlgorithm::RsaPkcs1Sha256),
        (KeySpec::Rsa(2048), SignatureAlgorithm::RsaPssSha256),
        (KeySpec::Ed25519, SignatureAlgorithm::Ed25519),
    ];
    for (spec, alg) in cases {
        let key: Arc<dyn PrivateKey> = Arc::new(SoftwareKey::generate(spec).expect("key"));
        let name = format!("{alg}");
        let (cert_path, cert) = self_signed(&dir, &name, key.as_ref());
        let mut msg = genm(Some(&cert));
        block_on(protect_with_key(&mut msg, key.as_ref(), alg)).expect("sign");
        let file = write(&dir, &format!("{name}.der"), &msg);
        let cert_arg = cert_path.display().to_string();
        let (code, out) = bc(&["--cert", &cert_arg], &file);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(out.starts_with("VALID"), "{name}: {out}");
        let (code, out) = bc(
            &["--cert", &cert_arg],
            &tampered(&dir, &format!("{name}-x.der"), &msg),
        );
        assert_eq!(
            (code, out.starts_with("INVALID")),
            (1, true),
            "{name}: {out}"
        );
    }
}

fn openssl_verdict(args: &[&str], file: &Path) -> (i32, String) {
    run(
        &repo("tests/scripts/verify-request-with-openssl.sh"),
        args,
        file,
    )
}

#[test]
fn the_openssl_mock_accepts_our_pbm_request() {
    let dir = tools::temp_dir("ossl-pbm");
    let p = cmp_crypto::default_provider();
    let mut msg = genm(None);
    protect_with_mac(
        &mut msg,
        SECRET.as_bytes(),
        &MacSettings::pbm_default(),
        p.primitives.as_ref(),
    )
    .expect("protect");
    let file = write(&dir, "genm.der", &msg);
    assert_eq!(
        openssl_verdict(&["--secret", SECRET], &file),
        (0, "ACCEPTED".into())
    );
    let (code, out) = openssl_verdict(&["--secret", "wrong"], &file);
    assert_eq!((code, out.starts_with("REJECTED")), (1, true), "{out}");
}

/// Issues a certificate for `key` from the committed test CA, with digitalSignature.
fn issued_by_test_ca(dir: &Path, name: &str, key: &dyn PrivateKey) -> CmpCertificate {
    let key_path = dir.join(format!("{name}.key"));
    write_key_file(&key_path, key).expect("write key");
    let csr = dir.join(format!("{name}.csr"));
    let ext = dir.join(format!("{name}.ext"));
    std::fs::write(
        &ext,
        "keyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\n",
    )
    .expect("ext");
    let der = dir.join(format!("{name}.der"));
    let pki = |f: &str| fixtures::openssl_dir().join("pki").join(f);
    let ok = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-subj",
            &format!("/CN={name}/O=cmp-rs test PKI"),
            "-key",
        ])
        .arg(&key_path)
        .arg("-out")
        .arg(&csr)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("openssl")
            .args(["x509", "-req", "-days", "2", "-outform", "DER", "-in"])
            .arg(&csr)
            .arg("-CA")
            .arg(pki("ca-cert.pem"))
            .arg("-CAkey")
            .arg(pki("ca-key.pem"))
            .arg("-set_serial")
            .arg("4242")
            .arg("-extfile")
            .arg(&ext)
            .arg("-out")
            .arg(&der)
            .status()
            .is_ok_and(|s| s.success());
    assert!(ok, "openssl could not issue a certificate for {name}");
    CmpCertificate::from_der(&std::fs::read(&der).expect("der")).expect("cert")
}

#[test]
fn the_openssl_mock_accepts_our_signed_requests() {
    let dir = tools::temp_dir("ossl-sig");
    let ca = fixtures::openssl_dir()
        .join("pki/ca-cert.pem")
        .display()
        .to_string();
    // The vendor key and certificate openssl made, used by our code.
    let vendor_key =
        read_key_file(&fixtures::openssl_dir().join("pki/vendor-key.pem"), None).expect("key");
    let vendor_cert =
        CmpCertificate::from_der(&fixtures::read("pki/vendor-cert.der")).expect("cert");
    let mut cases: Vec<(
        String,
        Arc<dyn PrivateKey>,
        CmpCertificate,
        SignatureAlgorithm,
    )> = vec![(
        "vendor".into(),
        Arc::new(vendor_key),
        vendor_cert,
        SignatureAlgorithm::EcdsaSha256,
    )];
    for (spec, alg) in [
        (KeySpec::EcP384, SignatureAlgorithm::EcdsaSha384),
        (KeySpec::Rsa(2048), SignatureAlgorithm::RsaPkcs1Sha256),
        (KeySpec::Rsa(2048), SignatureAlgorithm::RsaPssSha256),
        (KeySpec::Ed25519, SignatureAlgorithm::Ed25519),
    ] {
        let key: Arc<dyn PrivateKey> = Arc::new(SoftwareKey::generate(spec).expect("key"));
        let name = format!("device-{alg}");
        let cert = issued_by_test_ca(&dir, &name, key.as_ref());
        cases.push((name, key, cert, alg));
    }
    for (name, key, cert, alg) in cases {
        let mut msg = genm(Some(&cert));
        block_on(protect_with_key(&mut msg, key.as_ref(), alg)).expect("sign");
        let file = write(&dir, &format!("{name}.der"), &msg);
        assert_eq!(
            openssl_verdict(&["--trusted", &ca], &file),
            (0, "ACCEPTED".into()),
            "{name} {alg}"
        );
        let (code, out) = openssl_verdict(
            &["--trusted", &ca],
            &tampered(&dir, &format!("{name}-x.der"), &msg),
        );
        assert_eq!(
            (code, out.starts_with("REJECTED")),
            (1, true),
            "{name} {alg}: {out}"
        );
    }
}
