//! The aws-lc backend: the shared conformance suite, signatures crossing between the aws-lc and
//! software backends in both directions, keys moving between them, and the PBM/PBMAC1 building
//! blocks (digest, HMAC, PBKDF2) giving the published test-vector bytes on both.
#![cfg(feature = "aws-lc")]

mod common;

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

/// FIPS 180-2 examples: the hash of "abc".
#[test]
fn digests_match_fips_180_vectors_on_both_backends() {
    let expected = [
        (
            DigestAlgorithm::Sha1,
            "a9993e364706816aba3e25717850c26c9cd0d89d",
        ),
        (
            DigestAlgorithm::Sha224,
            "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
        ),
        (
            DigestAlgorithm::Sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            DigestAlgorithm::Sha384,
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
             8086072ba1e7cc2358baeca134c825a7",
        ),
        (
            DigestAlgorithm::Sha512,
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ];
    for (name, p) in both() {
        for (alg, hex) in expected {
            assert_eq!(
                hex::encode(p.primitives.digest(alg, b"abc").expect("digest")),
                hex,
                "{name} {alg}"
            );
        }
    }
}

/// RFC 4231 test cases 1, 2 and 6 (a key longer than the block), and RFC 2202 test case 1 for
/// HMAC-SHA-1 (PBM's default MAC).
#[test]
fn hmac_matches_rfc_4231_vectors_on_both_backends() {
    use DigestAlgorithm::*;
    let tc1 = (vec![0x0b; 20], b"Hi There".to_vec());
    let tc2 = (b"Jefe".to_vec(), b"what do ya want for nothing?".to_vec());
    let tc6 = (
        vec![0xaa; 131],
        b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
    );
    type Vector<'a> = (&'a (Vec<u8>, Vec<u8>), DigestAlgorithm, &'a str);
    let vectors: [Vector<'_>; 13] = [
        (&tc1, Sha1, "b617318655057264e28bc0b6fb378c8ef146be00"),
        (
            &tc1,
            Sha224,
            "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22",
        ),
        (
            &tc1,
            Sha256,
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            &tc1,
            Sha384,
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c\
             faea9ea9076ede7f4af152e8b2fa9cb6",
        ),
        (
            &tc1,
            Sha512,
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde\
             daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
        ),
        (
            &tc2,
            Sha224,
            "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44",
        ),
        (
            &tc2,
            Sha256,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            &tc2,
            Sha384,
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
             8e2240ca5e69e2c78b3239ecfab21649",
        ),
        (
            &tc2,
            Sha512,
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
             9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        ),
        (
            &tc6,
            Sha224,
            "95e9a0db962095adaebe9b2d6f0dbce2d499f112f2d2b7273fa6870e",
        ),
        (
            &tc6,
            Sha256,
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
        (
            &tc6,
            Sha384,
            "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6\
             0c2ef6ab4030fe8296248df163f44952",
        ),
        (
            &tc6,
            Sha512,
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352\
             6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598",
        ),
    ];
    for (name, p) in both() {
        for ((key, data), alg, hex) in vectors {
            assert_eq!(
                hex::encode(p.primitives.hmac(alg, key, data).expect("hmac")),
                hex,
                "{name} HMAC-{alg}"
            );
        }
    }
}

/// RFC 6070 (PBKDF2-HMAC-SHA1; the 16 777 216-iteration case is left out) and RFC 7914 §11
/// (PBKDF2-HMAC-SHA256).
#[test]
fn pbkdf2_matches_rfc_6070_and_7914_vectors_on_both_backends() {
    use DigestAlgorithm::*;
    /// PRF, password, salt, iterations, expected key.
    type Vector = (
        DigestAlgorithm,
        &'static [u8],
        &'static [u8],
        u32,
        &'static str,
    );
    let vectors: [Vector; 7] = [
        (
            Sha1,
            b"password",
            b"salt",
            1,
            "0c60c80f961f0e71f3a9b524af6012062fe037a6",
        ),
        (
            Sha1,
            b"password",
            b"salt",
            2,
            "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957",
        ),
        (
            Sha1,
            b"password",
            b"salt",
            4096,
            "4b007901b765489abead49d926f721d065a429c1",
        ),
        (
            Sha1,
            b"passwordPASSWORDpassword",
            b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
            4096,
            "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038",
        ),
        (
            Sha1,
            b"pass\0word",
            b"sa\0lt",
            4096,
            "56fa6aa75548099dcc37d7f03425e0c3",
        ),
        (
            Sha256,
            b"passwd",
            b"salt",
            1,
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
        ),
        (
            Sha256,
            b"Password",
            b"NaCl",
            80_000,
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56\
             a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d",
        ),
    ];
    for (name, p) in both() {
        for (prf, password, salt, iterations, hex) in vectors {
            let mut out = vec![0u8; hex.len() / 2];
            p.primitives
                .pbkdf2_hmac(prf, password, salt, iterations, &mut out)
                .expect("pbkdf2");
            assert_eq!(
                hex::encode(&out),
                hex,
                "{name} PBKDF2-HMAC-{prf} c={iterations}"
            );
        }
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
