//! The optional key capabilities, decryption and key agreement, checked against `openssl
//! pkeyutl`: the shared secret of ECDH equals the one openssl derives from the same keys, and
//! what openssl encrypts with RSA-OAEP the aws-lc backend decrypts. A key or backend without a
//! capability says so with `CryptoError::NotCapable`.

mod common;

use std::path::Path;
use std::process::Command;

use cmp_core::CryptoError;
use cmp_core::crypto::{CryptoProvider, DecryptionAlgorithm, DigestAlgorithm, KeySpec, PrivateKey};
use common::{block_on, temp_dir};

fn openssl(args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is needed: apt-get install -y openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn write(dir: &Path, name: &str, data: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, data).expect("write");
    p.display().to_string()
}

/// The key's PKCS#8 and SPKI written as DER files for openssl.
fn files(dir: &Path, name: &str, key: &dyn PrivateKey) -> (String, String) {
    let pkcs8 = key.to_pkcs8_der().expect("exportable");
    (
        write(dir, &format!("{name}.p8.der"), &pkcs8),
        write(dir, &format!("{name}.spki.der"), key.public_key()),
    )
}

/// ECDH between two generated keys of `spec`, on `provider`, against `openssl pkeyutl -derive`.
fn ecdh_agrees_with_openssl(provider: &CryptoProvider, spec: KeySpec, label: &str) {
    let dir = temp_dir(&format!("ecdh-{label}-{spec}"));
    let ours = block_on(provider.keys.generate(spec)).expect("generate");
    let theirs = block_on(provider.keys.generate(spec)).expect("generate");
    let secret = block_on(ours.key_agreement(theirs.public_key())).expect("ECDH");
    let back = block_on(theirs.key_agreement(ours.public_key())).expect("ECDH");
    assert_eq!(*secret, *back, "{label} {spec}: both sides agree");
    let (key, _) = files(&dir, "ours", ours.as_ref());
    let (_, peer) = files(&dir, "theirs", theirs.as_ref());
    let derived = openssl(&[
        "pkeyutl",
        "-derive",
        "-keyform",
        "DER",
        "-inkey",
        &key,
        "-peerform",
        "DER",
        "-peerkey",
        &peer,
    ]);
    assert_eq!(
        *secret, derived,
        "{label} {spec}: openssl derives the same secret"
    );

    // A peer key of another kind is refused before any arithmetic.
    let other = block_on(provider.keys.generate(KeySpec::Ed25519)).expect("generate");
    let err = block_on(ours.key_agreement(other.public_key())).expect_err("other kind");
    assert!(matches!(err, CryptoError::KeyMismatch(_)), "{err}");
    // A point off the curve is refused.
    let mut broken = cmp_core::crypto::public_key_info(theirs.public_key()).expect("spki");
    let mut point = broken.subject_public_key.as_raw_slice().to_vec();
    let last = point.len() - 1;
    point[last] ^= 1;
    broken.subject_public_key = rasn::types::BitString::from_vec(point);
    let err = block_on(ours.key_agreement(&cmp_core::crypto::public_key_der(&broken)))
        .expect_err("off the curve");
    assert_eq!(
        err,
        CryptoError::InvalidKey("the peer's public key is not on the curve".into())
    );
}

#[test]
fn software_ecdh_agrees_with_openssl() {
    let p = cmp_crypto::software::provider();
    ecdh_agrees_with_openssl(&p, KeySpec::EcP256, "software");
    ecdh_agrees_with_openssl(&p, KeySpec::EcP384, "software");
}

#[test]
fn software_keys_say_what_they_cannot_do() {
    let p = cmp_crypto::software::provider();
    let ed = block_on(p.keys.generate(KeySpec::Ed25519)).expect("generate");
    let err = block_on(ed.key_agreement(ed.public_key())).expect_err("Ed25519");
    assert_eq!(
        err.to_string(),
        "this ed25519 key cannot agree on a key: Ed25519 is a signature-only key"
    );
    let rsa = block_on(p.keys.generate(KeySpec::Rsa(2048))).expect("generate");
    let err = block_on(rsa.decrypt(
        DecryptionAlgorithm::RsaesOaep(DigestAlgorithm::Sha256),
        &[0; 256],
    ))
    .expect_err("no RSA decryption in software");
    assert!(
        matches!(&err, CryptoError::NotCapable { capability: "decrypt", reason, .. }
            if reason.contains("RUSTSEC-2023-0071")),
        "{err}"
    );
}

/// A backend that keeps no keys of its own cannot delete one: its keys are files.
#[test]
fn the_software_backend_refuses_to_delete_a_key() {
    let p = cmp_crypto::software::provider();
    let err = block_on(p.keys.delete(&cmp_core::crypto::KeyLocator::Uri(
        "pkcs11:token=t;object=k".into(),
    )))
    .expect_err("nothing to delete");
    assert_eq!(
        err,
        CryptoError::NotCapable {
            capability: "be deleted by its backend",
            key: "software".into(),
            reason: "the software backend keeps no keys of its own; remove the key's file".into(),
        }
    );
}

#[cfg(feature = "aws-lc")]
#[test]
fn aws_lc_ecdh_agrees_with_openssl() {
    let p = cmp_crypto::aws_lc::provider();
    ecdh_agrees_with_openssl(&p, KeySpec::EcP256, "aws-lc");
    ecdh_agrees_with_openssl(&p, KeySpec::EcP384, "aws-lc");
}

#[cfg(feature = "aws-lc")]
#[test]
fn aws_lc_decrypts_what_openssl_encrypts_with_rsa_oaep() {
    let p = cmp_crypto::aws_lc::provider();
    let dir = temp_dir("oaep-aws-lc");
    let key = block_on(p.keys.generate(KeySpec::Rsa(2048))).expect("generate");
    let (_, spki) = files(&dir, "rsa", key.as_ref());
    let plain = write(&dir, "plain", b"a content-encryption key, 32 b.");
    for (md, hash) in [
        ("sha1", DigestAlgorithm::Sha1),
        ("sha256", DigestAlgorithm::Sha256),
        ("sha512", DigestAlgorithm::Sha512),
    ] {
        let ciphertext = openssl(&[
            "pkeyutl",
            "-encrypt",
            "-pubin",
            "-keyform",
            "DER",
            "-inkey",
            &spki,
            "-in",
            &plain,
            "-pkeyopt",
            "rsa_padding_mode:oaep",
            "-pkeyopt",
            &format!("rsa_oaep_md:{md}"),
            "-pkeyopt",
            &format!("rsa_mgf1_md:{md}"),
        ]);
        let alg = DecryptionAlgorithm::RsaesOaep(hash);
        let out = block_on(key.decrypt(alg, &ciphertext)).expect("decrypt");
        assert_eq!(&out[..], b"a content-encryption key, 32 b.", "{md}");
        // The wrong hash fails the padding check.
        let wrong = if md == "sha256" {
            DigestAlgorithm::Sha1
        } else {
            DigestAlgorithm::Sha256
        };
        let err = block_on(key.decrypt(DecryptionAlgorithm::RsaesOaep(wrong), &ciphertext))
            .expect_err("wrong hash");
        assert!(
            matches!(&err, CryptoError::Backend { reason, .. } if reason.contains("decryption failed")),
            "{err}"
        );
    }
    let ec = block_on(p.keys.generate(KeySpec::EcP256)).expect("generate");
    let err = block_on(ec.decrypt(
        DecryptionAlgorithm::RsaesOaep(DigestAlgorithm::Sha256),
        b"x",
    ))
    .expect_err("EC keys do not decrypt");
    assert_eq!(
        err.to_string(),
        "this ec:P-256 key cannot decrypt: only RSA keys decrypt"
    );
}
