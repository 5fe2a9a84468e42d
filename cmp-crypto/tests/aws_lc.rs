//! The aws-lc backend: the shared conformance suite, signatures crossing between the aws-lc and
//! software backends in both directions, keys moving between them, and the PBM/PBMAC1 building
//! blocks (digest, HMAC, PBKDF2) giving the published test-vector bytes on both.
#![cfg(feature = "aws-lc")]

mod common;
mod vectors;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use cmp_core::CryptoError;
use cmp_core::asn1::ReceivedMessage;
use cmp_core::crypto::{
    CryptoProvider, DigestAlgorithm, KeyLocator, KeySpec, Primitives, PrivateKeyExt,
    SignatureAlgorithm,
};
use cmp_core::protection::{MacLimits, MacSettings, protect_with_mac, verify_mac};
use common::{block_on, conformance};
use zeroize::Zeroizing;

const ALL_SPECS: [KeySpec; 6] = [
    KeySpec::EcP256,
    KeySpec::EcP384,
    KeySpec::Ed25519,
    KeySpec::Rsa(2048),
    KeySpec::Rsa(3072),
    KeySpec::Rsa(4096),
];

const DIGESTS: [DigestAlgorithm; 5] = [
    DigestAlgorithm::Sha1,
    DigestAlgorithm::Sha224,
    DigestAlgorithm::Sha256,
    DigestAlgorithm::Sha384,
    DigestAlgorithm::Sha512,
];

fn aws() -> CryptoProvider {
    cmp_crypto::aws_lc::provider()
}

fn software() -> CryptoProvider {
    cmp_crypto::software::provider()
}

fn both() -> [(&'static str, CryptoProvider); 2] {
    [("software", software()), ("aws-lc", aws())]
}

fn algorithms_for(spec: KeySpec) -> impl Iterator<Item = SignatureAlgorithm> {
    SignatureAlgorithm::ALL
        .into_iter()
        .filter(move |a| spec.allows(*a))
}

#[test]
fn aws_lc_backend_conformance() {
    conformance(&aws(), &ALL_SPECS, "aws-lc");
}

#[test]
fn aws_lc_key_provider_is_named() {
    assert_eq!(aws().keys.name(), "aws-lc");
}

/// Signs with a key of `from`, verifies with the primitives of `to` (and refuses a tampered
/// message there).
fn cross_check(from: &CryptoProvider, to: &CryptoProvider, spec: KeySpec, label: &str) {
    let data = b"ProtectedPart crossing backends".to_vec();
    let mut tampered = data.clone();
    tampered[3] ^= 0x40;
    let key = block_on(from.keys.generate(spec)).expect("generate");
    for alg in algorithms_for(spec) {
        let sig = block_on(key.sign(alg, &data)).unwrap_or_else(|e| panic!("{label} {alg}: {e}"));
        to.primitives
            .verify_signature(key.public_key(), alg, &data, &sig)
            .unwrap_or_else(|e| panic!("{label}: {spec} {alg} does not verify: {e}"));
        assert_eq!(
            to.primitives
                .verify_signature(key.public_key(), alg, &tampered, &sig),
            Err(CryptoError::BadSignature),
            "{label}: {spec} {alg} verified a tampered message"
        );
    }
}

#[test]
fn signatures_cross_between_aws_lc_and_software() {
    for spec in [
        KeySpec::EcP256,
        KeySpec::EcP384,
        KeySpec::Ed25519,
        KeySpec::Rsa(2048),
    ] {
        cross_check(&aws(), &software(), spec, "aws-lc → software");
        cross_check(&software(), &aws(), spec, "software → aws-lc");
    }
}

fn encoded(der: Zeroizing<Vec<u8>>) -> KeyLocator {
    KeyLocator::Encoded {
        data: der,
        password: None,
    }
}

#[test]
fn keys_move_between_aws_lc_and_software() {
    for spec in [
        KeySpec::EcP256,
        KeySpec::EcP384,
        KeySpec::Ed25519,
        KeySpec::Rsa(2048),
    ] {
        for ((from_name, from), (to_name, to)) in [
            (("aws-lc", aws()), ("software", software())),
            (("software", software()), ("aws-lc", aws())),
        ] {
            let key = block_on(from.keys.generate(spec)).expect("generate");
            let der = key.to_pkcs8_der().expect("exportable");
            let moved = block_on(to.keys.load(&encoded(der)))
                .unwrap_or_else(|e| panic!("{from_name} {spec} key into {to_name}: {e}"));
            assert_eq!(moved.spec(), spec);
            assert_eq!(moved.public_key(), key.public_key(), "{spec} public key");
            let alg = spec.default_signature_algorithm();
            let sig = block_on(moved.sign(alg, b"moved")).expect("sign");
            from.primitives
                .verify_signature(key.public_key(), alg, b"moved", &sig)
                .unwrap_or_else(|e| panic!("{from_name} → {to_name} {spec}: {e}"));
        }
    }
}

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

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().expect("utf8").to_owned()
}

#[test]
fn openssl_reads_exported_aws_lc_keys() {
    let dir = common::temp_dir("aws-lc-export");
    for spec in [
        KeySpec::EcP256,
        KeySpec::EcP384,
        KeySpec::Ed25519,
        KeySpec::Rsa(2048),
    ] {
        let key = block_on(aws().keys.generate(spec)).expect("generate");
        let der = key.to_pkcs8_der().expect("exportable");
        if spec == KeySpec::Ed25519 {
            // PKCS#8 v1 (version 0, no public key): what OpenSSL 3.0 reads.
            assert_eq!(der.len(), 48);
            assert_eq!(&der[..5], &[0x30, 0x2E, 0x02, 0x01, 0x00]);
        }
        let file = path(&dir, "key.der");
        std::fs::write(&file, der.as_slice()).expect("write");
        let spki = openssl(&[
            "pkey", "-inform", "DER", "-in", &file, "-pubout", "-outform", "DER",
        ]);
        assert_eq!(
            spki,
            key.public_key().to_vec(),
            "openssl derives the same {spec} public key"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn aws_lc_loads_every_encoding_openssl_writes() {
    let dir = common::temp_dir("aws-lc-encodings");
    let p = |name: &str| path(&dir, name);
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-out",
        &p("ec.pem"),
    ]);
    openssl(&["ec", "-in", &p("ec.pem"), "-out", &p("ec-sec1.pem")]);
    openssl(&[
        "ec",
        "-in",
        &p("ec.pem"),
        "-outform",
        "DER",
        "-out",
        &p("ec-sec1.der"),
    ]);
    openssl(&[
        "pkcs8",
        "-topk8",
        "-in",
        &p("ec.pem"),
        "-passout",
        "pass:s3cret",
        "-out",
        &p("ec-enc.pem"),
    ]);
    openssl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        &p("rsa.pem"),
    ]);
    openssl(&[
        "rsa",
        "-in",
        &p("rsa.pem"),
        "-traditional",
        "-out",
        &p("rsa-pkcs1.pem"),
    ]);
    openssl(&["genpkey", "-algorithm", "ED25519", "-out", &p("ed.pem")]);
    let cases: [(&str, Option<&[u8]>, KeySpec, &str); 6] = [
        ("ec.pem", None, KeySpec::EcP384, "ec.pem"),
        ("ec-sec1.pem", None, KeySpec::EcP384, "ec.pem"),
        ("ec-sec1.der", None, KeySpec::EcP384, "ec.pem"),
        ("ec-enc.pem", Some(b"s3cret"), KeySpec::EcP384, "ec.pem"),
        ("rsa-pkcs1.pem", None, KeySpec::Rsa(2048), "rsa.pem"),
        ("ed.pem", None, KeySpec::Ed25519, "ed.pem"),
    ];
    for (file, password, spec, original) in cases {
        let data = Zeroizing::new(std::fs::read(p(file)).expect("read"));
        let key = block_on(aws().keys.load(&KeyLocator::Encoded {
            data,
            password: password.map(|pw| Zeroizing::new(pw.to_vec())),
        }))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(key.spec(), spec, "{file}");
        let spki = openssl(&["pkey", "-in", &p(original), "-pubout", "-outform", "DER"]);
        assert_eq!(
            key.public_key().to_vec(),
            spki,
            "{file}: the public key openssl derives"
        );
        let alg = spec.default_signature_algorithm();
        let sig = block_on(key.sign(alg, b"loaded")).expect("sign");
        software()
            .primitives
            .verify_signature(key.public_key(), alg, b"loaded", &sig)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    // Encrypted without a password, and a wrong one: named errors.
    let enc = Zeroizing::new(std::fs::read(p("ec-enc.pem")).expect("read"));
    let err = block_on(aws().keys.load(&encoded(enc.clone()))).expect_err("no password");
    assert!(err.to_string().contains("no password was given"), "{err}");
    let err = block_on(aws().keys.load(&KeyLocator::Encoded {
        data: enc,
        password: Some(Zeroizing::new(b"wrong".to_vec())),
    }))
    .expect_err("wrong password");
    assert!(err.to_string().contains("wrong password"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn aws_lc_errors_are_named() {
    let p = aws();
    let err = block_on(p.keys.generate(KeySpec::Rsa(1024))).expect_err("rsa:1024");
    assert!(
        matches!(&err, CryptoError::UnsupportedAlgorithm(m) if m.contains("2048, 3072, 4096 or 8192")),
        "{err}"
    );
    let err = block_on(p.keys.load(&KeyLocator::Uri("pkcs11:token=x".into()))).expect_err("uri");
    assert!(err.to_string().contains("use the pkcs11 backend"), "{err}");
    let err = block_on(p.keys.load(&encoded(Zeroizing::new(b"not a key".to_vec()))))
        .expect_err("garbage");
    assert!(matches!(err, CryptoError::InvalidKey(_)), "{err}");

    let ec = block_on(p.keys.generate(KeySpec::EcP256)).expect("generate");
    let err = p
        .primitives
        .verify_signature(
            ec.public_key(),
            SignatureAlgorithm::RsaPssSha256,
            b"x",
            b"y",
        )
        .expect_err("family");
    assert!(matches!(err, CryptoError::KeyMismatch(_)), "{err}");
    assert_eq!(
        p.primitives.verify_signature(
            ec.public_key(),
            SignatureAlgorithm::EcdsaSha256,
            b"x",
            b"not DER"
        ),
        Err(CryptoError::BadSignature)
    );
    let mut broken = ec.public_key_info().expect("spki");
    let mut point = broken.subject_public_key.as_raw_slice().to_vec();
    point[10] ^= 1; // almost surely off the curve
    broken.subject_public_key = rasn::types::BitString::from_vec(point);
    let err = p
        .primitives
        .verify_signature(
            &cmp_core::crypto::public_key_der(&broken),
            SignatureAlgorithm::EcdsaSha256,
            b"x",
            b"y",
        )
        .expect_err("off the curve");
    assert!(
        matches!(&err, CryptoError::InvalidKey(m) if m.contains("AWS-LC rejected")),
        "{err}"
    );

    let mut out = [0u8; 32];
    let err = p
        .primitives
        .pbkdf2_hmac(DigestAlgorithm::Sha256, b"pw", b"salt", 0, &mut out)
        .expect_err("0 iterations");
    assert!(err.to_string().contains("iteration count of 0"), "{err}");
}

// --- PBM / PBMAC1 building blocks -------------------------------------------------------------

/// FIPS 180-4 examples on both backends (`vectors/mod.rs`).
#[test]
fn digests_match_fips_180_vectors_on_both_backends() {
    for (name, p) in both() {
        vectors::check_digests(name, p.primitives.as_ref());
    }
}

/// RFC 4231 and RFC 2202 on both backends.
#[test]
fn hmac_matches_rfc_4231_vectors_on_both_backends() {
    for (name, p) in both() {
        vectors::check_hmacs(name, p.primitives.as_ref());
    }
}

/// RFC 6070 and RFC 7914 §11 on both backends.
#[test]
fn pbkdf2_matches_rfc_6070_and_7914_vectors_on_both_backends() {
    for (name, p) in both() {
        vectors::check_pbkdf2(name, p.primitives.as_ref());
    }
}

/// PBM's iterated digest on both backends.
#[test]
fn pbm_iterated_digest_matches_openssl_on_both_backends() {
    for (name, p) in both() {
        vectors::check_digest_iterated(name, p.primitives.as_ref());
    }
}

/// Deterministic filler bytes.
fn filler(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn building_blocks_are_byte_identical_across_backends() {
    let (sw, aws) = (software().primitives, aws().primitives);
    // Lengths around the SHA-1/SHA-2 block sizes (64 and 128) and padding boundaries.
    let lengths = [0, 1, 55, 56, 63, 64, 65, 111, 112, 127, 128, 129, 1000];
    for alg in DIGESTS {
        for len in lengths {
            let data = filler(len, 7);
            assert_eq!(
                sw.digest(alg, &data).expect("sw"),
                aws.digest(alg, &data).expect("aws"),
                "{alg} of {len} bytes"
            );
            let key = filler(len, 99);
            assert_eq!(
                sw.hmac(alg, &key, &data).expect("sw"),
                aws.hmac(alg, &key, &data).expect("aws"),
                "HMAC-{alg} with a {len}-byte key"
            );
        }
        // SHA-224 goes through the backend's own PBKDF2 over AWS-LC's HMAC: several blocks and
        // a partial last block.
        for (iterations, out_len) in [(1, 1), (2, 20), (1000, 32), (3, 45), (7, 100)] {
            let (password, salt) = (filler(13, 1), filler(16, 2));
            let mut a = vec![0u8; out_len];
            let mut b = vec![0u8; out_len];
            sw.pbkdf2_hmac(alg, &password, &salt, iterations, &mut a)
                .expect("sw");
            aws.pbkdf2_hmac(alg, &password, &salt, iterations, &mut b)
                .expect("aws");
            assert_eq!(a, b, "PBKDF2-HMAC-{alg} c={iterations} dkLen={out_len}");
        }
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/openssl/pbm-ir")
}

const FIXTURE_SECRET: &[u8] = b"cmp-test-secret-1234";

/// OpenSSL's PBM-protected messages verify with the aws-lc primitives.
#[test]
fn aws_lc_verifies_openssl_pbm_messages() {
    let p = aws();
    for name in [
        "01-ir.der",
        "02-ip.der",
        "03-certConf.der",
        "04-pkiconf.der",
    ] {
        let der = std::fs::read(fixtures().join(name)).expect("fixture");
        let msg = ReceivedMessage::decode(&der).expect("decode");
        verify_mac(&msg, FIXTURE_SECRET, &MacLimits::default(), &*p.primitives)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            verify_mac(&msg, b"wrong secret", &MacLimits::default(), &*p.primitives),
            Err(cmp_core::ProtectionError::BadMac),
            "{name} with a wrong secret"
        );
    }
}

/// PBM and PBMAC1 made by one backend verify with the other, for default and other hashes.
#[test]
fn mac_protection_crosses_between_backends() {
    let der = std::fs::read(fixtures().join("01-ir.der")).expect("fixture");
    let template = ReceivedMessage::decode(&der)
        .expect("decode")
        .into_message();
    let settings = [
        MacSettings::pbm_default(),
        MacSettings::PasswordBasedMac {
            owf: DigestAlgorithm::Sha512,
            mac: DigestAlgorithm::Sha256,
            iterations: 1000,
            salt_len: 16,
        },
        MacSettings::pbmac1_default(),
        MacSettings::Pbmac1 {
            prf: DigestAlgorithm::Sha224,
            mac: DigestAlgorithm::Sha384,
            iterations: 2000,
            salt_len: 20,
            key_len: 40,
        },
    ];
    let providers: [Arc<dyn Primitives>; 2] = [software().primitives, aws().primitives];
    for s in &settings {
        for (from, to) in [(0, 1), (1, 0)] {
            let mut msg = template.clone();
            protect_with_mac(&mut msg, FIXTURE_SECRET, s, &*providers[from]).expect("protect");
            let received = ReceivedMessage::decode(&msg.to_der().expect("encode")).expect("decode");
            verify_mac(
                &received,
                FIXTURE_SECRET,
                &MacLimits::default(),
                &*providers[to],
            )
            .unwrap_or_else(|e| panic!("{s:?} from {from} to {to}: {e}"));
        }
    }
}
