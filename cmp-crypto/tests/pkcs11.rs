//! The PKCS#11 backend against a real token: SoftHSM2, initialised fresh in a temporary
//! directory. The conformance suite runs on it; keys are found again by URI; PIN and token
//! errors are named.
#![cfg(feature = "pkcs11")]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use cmp_core::crypto::{CryptoProvider, KeyLocator, KeySpec, SignatureAlgorithm};
use cmp_crypto::pkcs11::Pkcs11Keys;
use common::{block_on, conformance};

/// SoftHSM2's PKCS#11 module, found rather than assumed for one architecture: `SOFTHSM2_MODULE`
/// if set, else `softhsm/libsofthsm2.so` in /usr/lib, /usr/lib64, /usr/local/lib or any
/// multiarch directory below /usr/lib (x86_64-linux-gnu, aarch64-linux-gnu, …).
fn softhsm_module() -> PathBuf {
    if let Some(m) = std::env::var_os("SOFTHSM2_MODULE") {
        return PathBuf::from(m);
    }
    let mut dirs: Vec<PathBuf> = ["/usr/lib", "/usr/lib64", "/usr/local/lib"]
        .iter()
        .map(PathBuf::from)
        .collect();
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        let mut multiarch: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with("-linux-gnu"))
            })
            .collect();
        multiarch.sort();
        dirs.extend(multiarch);
    }
    dirs.iter()
        .map(|d| d.join("softhsm/libsofthsm2.so"))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("SoftHSM2 is needed: apt-get install -y softhsm2 (or set SOFTHSM2_MODULE)")
        })
}

struct SoftHsm {
    module: PathBuf,
    pin_file: PathBuf,
    conf: PathBuf,
}

/// A fresh SoftHSM2 token in a temporary directory, made once per test process.
fn softhsm() -> &'static SoftHsm {
    static HSM: OnceLock<SoftHsm> = OnceLock::new();
    HSM.get_or_init(|| {
        let module = softhsm_module();
        // In the child process the parent's token is reused (see `in_softhsm`).
        if let Some(conf) = std::env::var_os("SOFTHSM2_CONF") {
            let conf = PathBuf::from(conf);
            let dir = conf.parent().expect("conf dir").to_owned();
            return SoftHsm {
                module,
                pin_file: dir.join("pin"),
                conf,
            };
        }
        let dir = common::temp_dir("softhsm");
        let tokens = dir.join("tokens");
        std::fs::create_dir_all(&tokens).expect("token dir");
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .expect("write conf");
        let out = Command::new("softhsm2-util")
            .args([
                "--init-token",
                "--free",
                "--label",
                "cmp-test",
                "--so-pin",
                "0000",
                "--pin",
                "1234",
            ])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap_or_else(|e| {
                panic!("softhsm2-util is needed (apt-get install -y softhsm2): {e}")
            });
        assert!(
            out.status.success(),
            "softhsm2-util: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pin_file = dir.join("pin");
        std::fs::write(&pin_file, "1234\n").expect("pin file");
        SoftHsm {
            module,
            pin_file,
            conf,
        }
    })
}

/// Runs `body` where SoftHSM2 sees the test token. SoftHSM2 reads `SOFTHSM2_CONF` when the
/// module is loaded, and changing the environment of a running multi-threaded test process is
/// unsound; so the test re-runs itself (`--exact NAME`) as a child with the variable set, and
/// the child runs `body`.
fn in_softhsm(name: &str, body: impl FnOnce(&SoftHsm)) {
    let hsm = softhsm();
    if std::env::var_os("SOFTHSM2_CONF").is_some() {
        body(hsm);
        return;
    }
    let exe = std::env::current_exe().expect("test binary path");
    let out = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("SOFTHSM2_CONF", &hsm.conf)
        .output()
        .expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{name} in SoftHSM2 failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn token_uri(hsm: &SoftHsm) -> String {
    format!(
        "pkcs11:token=cmp-test?module-path={}&pin-source=file:{}",
        hsm.module.display(),
        hsm.pin_file.display()
    )
}

fn provider(hsm: &SoftHsm) -> CryptoProvider {
    CryptoProvider {
        keys: Arc::new(Pkcs11Keys::open(&token_uri(hsm)).expect("open token")),
        ..cmp_crypto::software::provider()
    }
}

#[test]
fn pkcs11_backend_conformance() {
    in_softhsm("pkcs11_backend_conformance", |hsm| {
        conformance(
            &provider(hsm),
            &[
                KeySpec::EcP256,
                KeySpec::EcP384,
                KeySpec::Rsa(2048),
                KeySpec::Ed25519,
            ],
            "pkcs11",
        );
    });
}

#[test]
fn a_generated_key_is_found_again_by_its_uri() {
    in_softhsm("a_generated_key_is_found_again_by_its_uri", found_again);
}

fn found_again(hsm: &SoftHsm) {
    let p = provider(hsm);
    let key = block_on(p.keys.generate(KeySpec::EcP256)).expect("generate");
    let uri = key.locator().expect("token keys have a URI");
    assert!(
        uri.starts_with("pkcs11:token=cmp-test;object=cmp-"),
        "{uri}"
    );
    assert!(
        !uri.contains("1234"),
        "the PIN never appears in a URI: {uri}"
    );
    // A fresh backend from the key's own URI (module and pin-source travel along).
    let again = Pkcs11Keys::open(&uri).expect("open from key URI");
    let loaded = block_on(cmp_core::crypto::KeyProvider::load(
        &again,
        &KeyLocator::Uri(uri),
    ))
    .expect("load");
    assert_eq!(loaded.public_key(), key.public_key());
    let sig = block_on(loaded.sign(SignatureAlgorithm::EcdsaSha256, b"data")).expect("sign");
    p.primitives
        .verify_signature(
            key.public_key(),
            SignatureAlgorithm::EcdsaSha256,
            b"data",
            &sig,
        )
        .expect("the loaded handle signs with the same key");
    // A key can never be exported.
    assert!(key.to_pkcs8_der().is_none());

    // A key generated under a chosen label is found by that label, and the label is never
    // taken twice.
    let keys = Pkcs11Keys::open(&token_uri(hsm)).expect("open token");
    let named = block_on(keys.generate_labelled(KeySpec::EcP256, "device-2027")).expect("generate");
    let uri = named.locator().expect("uri");
    assert!(
        uri.starts_with("pkcs11:token=cmp-test;object=device-2027;id="),
        "{uri}"
    );
    let loaded = block_on(cmp_core::crypto::KeyProvider::load(
        &keys,
        &KeyLocator::Uri("pkcs11:token=cmp-test;object=device-2027".into()),
    ))
    .expect("load by label");
    assert_eq!(loaded.public_key(), named.public_key());
    let Err(err) = block_on(keys.generate_labelled(KeySpec::EcP256, "device-2027")) else {
        panic!("a label already taken must be refused");
    };
    assert_eq!(
        err.to_string(),
        "pkcs11 backend: token \"cmp-test\" already holds a key labelled \"device-2027\"; choose another label or remove that key first"
    );
}

/// `pkcs11-tool` on the test token: the objects of `kind` (`privkey`, `pubkey`) labelled
/// `label`, one block of lines each.
fn token_objects(hsm: &SoftHsm, kind: &str, label: &str) -> Vec<String> {
    let o = Command::new("pkcs11-tool")
        .arg("--module")
        .arg(&hsm.module)
        .args(["--token-label", "cmp-test", "--login", "--pin", "1234"])
        .args(["--list-objects", "--type", kind])
        .output()
        .expect("pkcs11-tool is needed: apt-get install -y opensc");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // pkcs11-tool lists every object of the type: the label is matched here.
    String::from_utf8_lossy(&o.stdout)
        .split(" Key Object")
        .skip(1)
        .filter(|block| block.contains(&format!("label:      {label}\n")))
        .map(str::to_owned)
        .collect()
}

/// A key pair made by another tool, as an operator's token may hold: `pkcs11-tool
/// --keypairgen` with the given label and ID.
fn foreign_key_pair(hsm: &SoftHsm, label: &str, id: &str) {
    let o = Command::new("pkcs11-tool")
        .arg("--module")
        .arg(&hsm.module)
        .args(["--token-label", "cmp-test", "--login", "--pin", "1234"])
        .args(["--keypairgen", "--key-type", "EC:prime256v1"])
        .args(["--label", label, "--id", id])
        .output()
        .expect("pkcs11-tool is needed: apt-get install -y opensc");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_key_is_deleted_by_its_uri() {
    in_softhsm("a_key_is_deleted_by_its_uri", deleted);
}

fn deleted(hsm: &SoftHsm) {
    use cmp_core::crypto::KeyProvider;
    let keys = Pkcs11Keys::open(&token_uri(hsm)).expect("open token");
    let retired = block_on(keys.generate_labelled(KeySpec::EcP256, "retired-2025")).expect("key");
    let kept = block_on(keys.generate_labelled(KeySpec::EcP256, "kept-2026")).expect("key");
    let uri = retired.locator().expect("uri");
    assert_eq!(token_objects(hsm, "privkey", "retired-2025").len(), 1);
    assert_eq!(token_objects(hsm, "pubkey", "retired-2025").len(), 1);

    // Through the trait, as the daemon calls it: both halves go, the other key stays.
    let locator = KeyLocator::Uri(uri.clone());
    assert_eq!(block_on(KeyProvider::delete(&keys, &locator)), Ok(true));
    assert!(token_objects(hsm, "privkey", "retired-2025").is_empty());
    assert!(token_objects(hsm, "pubkey", "retired-2025").is_empty());
    let Err(err) = block_on(KeyProvider::load(&keys, &locator)) else {
        panic!("a deleted key must not load");
    };
    assert_eq!(
        err.to_string(),
        format!("pkcs11 backend: {uri}: no such private key in token \"cmp-test\"")
    );
    let again = block_on(KeyProvider::load(
        &keys,
        &KeyLocator::Uri(kept.locator().expect("uri")),
    ))
    .expect("the other key is untouched");
    assert_eq!(again.public_key(), kept.public_key());

    // A retried removal finds nothing and says so without failing.
    assert_eq!(block_on(keys.delete(&uri)), Ok(false));

    // A URI naming two keys deletes neither; the ID chooses one.
    foreign_key_pair(hsm, "twice", "01");
    foreign_key_pair(hsm, "twice", "02");
    let err = block_on(keys.delete("pkcs11:token=cmp-test;object=twice")).expect_err("ambiguous");
    assert_eq!(
        err.to_string(),
        "pkcs11 backend: pkcs11:token=cmp-test;object=twice: names 2 private keys; add id=… to choose one"
    );
    assert_eq!(token_objects(hsm, "privkey", "twice").len(), 2);
    assert_eq!(
        block_on(keys.delete("pkcs11:token=cmp-test;object=twice;id=%01")),
        Ok(true)
    );
    let left = token_objects(hsm, "pubkey", "twice");
    assert_eq!(left.len(), 1, "only the chosen key's public half: {left:?}");
    assert!(left[0].contains("ID:         02"), "{left:?}");
    assert_eq!(token_objects(hsm, "privkey", "twice").len(), 1);

    // Another token's key is never looked for in this one.
    let err = block_on(keys.delete("pkcs11:token=other;object=kept-2026")).expect_err("token");
    assert_eq!(
        err.to_string(),
        "pkcs11 backend: pkcs11:token=other;object=kept-2026: names token \"other\", but this backend has token \"cmp-test\" open"
    );
}

#[test]
fn token_errors_are_named() {
    in_softhsm("token_errors_are_named", token_errors);
}

fn token_errors(hsm: &SoftHsm) {
    let wrong_pin = common::temp_dir("wrongpin").join("pin");
    std::fs::write(&wrong_pin, "9999").expect("pin");
    let uri = format!(
        "pkcs11:token=cmp-test?module-path={}&pin-source=file:{}",
        hsm.module.display(),
        wrong_pin.display()
    );
    // First thing in this (child) process, so no session is logged in yet.
    let err = Pkcs11Keys::open(&uri).expect_err("wrong PIN");
    assert_eq!(
        err.to_string(),
        "pkcs11 backend: login to token \"cmp-test\": the PIN is incorrect (CKR_PIN_INCORRECT)"
    );
    let err = Pkcs11Keys::open(&uri.replace("cmp-test", "no-such-token")).expect_err("no token");
    assert_eq!(
        err.to_string(),
        format!(
            "pkcs11 backend: no token labelled \"no-such-token\" in {}",
            hsm.module.display()
        )
    );
    let p = provider(hsm);
    let err = block_on(p.keys.load(&KeyLocator::Uri(
        "pkcs11:token=cmp-test;object=absent-key".into(),
    )))
    .expect_err("no key");
    assert_eq!(
        err.to_string(),
        "pkcs11 backend: pkcs11:token=cmp-test;object=absent-key: no such private key in token \"cmp-test\""
    );
    let err = Pkcs11Keys::open("pkcs11:token=cmp-test?pin-value=1234").expect_err("clear PIN");
    assert_eq!(
        err.to_string(),
        "invalid key: PKCS#11 URI \"pkcs11:token=cmp-test?pin-value=…\": a PIN in clear (pin-value) is refused: use pin-source=file:PATH, pin-source=env:VAR or the PKCS11_PIN environment variable",
        "and the PIN is not repeated"
    );
}
