//! Loading keys in every encoding openssl writes, and writing key files safely.

use std::path::PathBuf;
use std::process::Command;

use cmp_core::crypto::{KeySpec, PrivateKey, PrivateKeyExt};
use cmp_crypto::software::{SoftwareKey, read_key_file, write_key_file};

fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cmp-crypto-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is needed: apt-get install -y openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn loads_every_encoding_openssl_writes() {
    let dir = temp_dir("encodings");
    let p = |name: &str| dir.join(name).to_str().expect("utf8").to_owned();
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
        "pkey",
        "-in",
        &p("ec.pem"),
        "-outform",
        "DER",
        "-out",
        &p("ec.der"),
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

    let spki_of = |name: &str, pass: Option<&[u8]>| {
        read_key_file(&dir.join(name), pass)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .public_key_info()
            .expect("spki")
    };
    let ec = spki_of("ec.pem", None);
    assert_eq!(KeySpec::of_public_key(&ec).expect("spec"), KeySpec::EcP384);
    assert_eq!(spki_of("ec-sec1.pem", None), ec);
    assert_eq!(spki_of("ec.der", None), ec);
    assert_eq!(spki_of("ec-enc.pem", Some(b"s3cret")), ec);
    let rsa = spki_of("rsa.pem", None);
    assert_eq!(
        KeySpec::of_public_key(&rsa).expect("spec"),
        KeySpec::Rsa(2048)
    );
    assert_eq!(spki_of("rsa-pkcs1.pem", None), rsa);
    assert_eq!(
        KeySpec::of_public_key(&spki_of("ed.pem", None)).expect("spec"),
        KeySpec::Ed25519
    );

    let err = read_key_file(&dir.join("ec-enc.pem"), None).expect_err("needs a password");
    assert_eq!(
        err.to_string(),
        format!(
            "invalid key: {}: the key is encrypted (ENCRYPTED PRIVATE KEY) and no password was given",
            dir.join("ec-enc.pem").display()
        )
    );
    let err = read_key_file(&dir.join("ec-enc.pem"), Some(b"wrong")).expect_err("wrong password");
    assert!(
        err.to_string()
            .ends_with("cannot decrypt the key: wrong password or unsupported cipher"),
        "{err}"
    );
    std::fs::write(
        dir.join("cert.pem"),
        "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    let err = read_key_file(&dir.join("cert.pem"), None).expect_err("not a key");
    assert!(
        err.to_string()
            .contains("PEM label \"CERTIFICATE\" is not a private key"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn key_files_are_written_atomically_with_mode_0600_and_read_back() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("write");
    let path = dir.join("device.key");
    std::fs::write(&path, "old content").expect("write");
    let key = SoftwareKey::generate(KeySpec::Ed25519).expect("generate");
    write_key_file(&path, &key).expect("write key");
    let mode = std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let back = read_key_file(&path, None).expect("read back");
    assert_eq!(back.public_key(), key.public_key());
    // Only the key file is left: no temporary files.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("device.key")]);
    // openssl reads what we wrote.
    openssl(&["pkey", "-in", path.to_str().expect("utf8"), "-noout"]);
    let _ = std::fs::remove_dir_all(dir);
}

/// A PKCS#8 EC key whose stored public key belongs to another key is refused: the public key is
/// derived once from the scalar and compared with the stored one (compressed or not).
#[test]
fn an_ec_key_with_another_keys_public_key_is_refused() {
    let dir = temp_dir("foreign-public-key");
    // Two P-256 keys of the test PKI as PKCS#8 DER.
    let pkcs8 = |name: &str| {
        let pem = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/openssl/pki")
            .join(format!("{name}-key.pem"));
        let der = dir.join(format!("{name}.der"));
        openssl(&[
            "pkcs8",
            "-topk8",
            "-nocrypt",
            "-in",
            pem.to_str().expect("utf-8"),
            "-outform",
            "DER",
            "-out",
            der.to_str().expect("utf-8"),
        ]);
        std::fs::read(&der).expect("der")
    };
    let ours = pkcs8("new");
    let other = pkcs8("server");
    // OpenSSL ends the ECPrivateKey with [1] publicKey: BIT STRING 04 || X || Y.
    let (n, o) = (ours.len(), other.len());
    assert_eq!(ours[n - 65], 0x04, "an uncompressed point at the end");
    let key = SoftwareKey::from_encoded(&ours, None).expect("the fixture key");
    let mut swapped = ours.clone();
    swapped[n - 65..].copy_from_slice(&other[o - 65..]);
    let err = SoftwareKey::from_encoded(&swapped, None).expect_err("a foreign public key");
    assert!(
        matches!(
            &err,
            cmp_core::CryptoError::InvalidKey(m)
                if m == "the public key stored with the EC private key does not belong to it"
        ),
        "{err:?}"
    );
    // The derived public key is the stored one.
    let spki = key.public_key().to_vec();
    assert!(spki.ends_with(&ours[n - 65..]));
}
