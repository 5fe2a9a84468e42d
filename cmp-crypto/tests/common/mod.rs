//! The backend conformance suite, shared by every backend's test file.

#![allow(dead_code)] // each test file uses a part

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use cmp_core::CryptoError;
use cmp_core::crypto::{CryptoProvider, KeySpec, PrivateKey, PrivateKeyExt, SignatureAlgorithm};

/// Wakes the thread that drives the future.
struct ThreadWaker(std::thread::Thread);

impl std::task::Wake for ThreadWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.unpark();
    }
}

/// Drives `fut` to completion on the current thread, parking between polls until the future
/// wakes it (keys in a token answer from another thread) or 50 ms pass; panics after two
/// minutes, which a future waiting on IO nobody drives would reach.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let waker = Waker::from(std::sync::Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        let now = std::time::Instant::now();
        assert!(
            now < deadline,
            "the future did not complete within two minutes"
        );
        std::thread::park_timeout((deadline - now).min(std::time::Duration::from_millis(50)));
    }
}

pub(crate) fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cmp-crypto-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn openssl() -> &'static str {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "openssl is needed: apt-get install -y openssl");
    "openssl"
}

fn pem(label: &str, der: &[u8]) -> String {
    use std::fmt::Write;
    let b64 = base64_encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        let _ = writeln!(out, "{}", std::str::from_utf8(chunk).expect("ascii"));
    }
    let _ = writeln!(out, "-----END {label}-----");
    out
}

fn base64_encode(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                s.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// openssl's verdict on `sig` over `data` with the public key of `key`.
fn openssl_verifies(
    dir: &Path,
    key: &dyn PrivateKey,
    alg: SignatureAlgorithm,
    data: &[u8],
    sig: &[u8],
) -> bool {
    let spki = key.public_key().to_vec();
    let pub_pem = dir.join("pub.pem");
    std::fs::write(&pub_pem, pem("PUBLIC KEY", &spki)).expect("write");
    let data_file = dir.join("data.bin");
    std::fs::write(&data_file, data).expect("write");
    let sig_file = dir.join("sig.bin");
    std::fs::write(&sig_file, sig).expect("write");
    let mut cmd = Command::new(openssl());
    if alg == SignatureAlgorithm::Ed25519 {
        cmd.args(["pkeyutl", "-verify", "-pubin", "-rawin", "-inkey"]);
        cmd.arg(&pub_pem)
            .arg("-in")
            .arg(&data_file)
            .arg("-sigfile")
            .arg(&sig_file);
    } else {
        cmd.arg("dgst").arg(format!("-{}", alg.digest()));
        if matches!(
            alg,
            SignatureAlgorithm::RsaPssSha256
                | SignatureAlgorithm::RsaPssSha384
                | SignatureAlgorithm::RsaPssSha512
        ) {
            cmd.args(["-sigopt", "rsa_padding_mode:pss", "-sigopt"]);
            cmd.arg(format!("rsa_pss_saltlen:{}", alg.digest().output_len()));
        }
        cmd.arg("-verify")
            .arg(&pub_pem)
            .arg("-signature")
            .arg(&sig_file)
            .arg(&data_file);
    }
    let out = cmd.output().expect("run openssl");
    out.status.success()
}

fn algorithms_for(spec: KeySpec) -> Vec<SignatureAlgorithm> {
    SignatureAlgorithm::ALL
        .into_iter()
        .filter(|a| spec.allows(*a))
        .collect()
}

/// The suite, for one provider and the key specs it supports.
pub(crate) fn conformance(provider: &CryptoProvider, specs: &[KeySpec], label: &str) {
    let dir = temp_dir(label);
    let data = b"CMP ProtectedPart stand-in: SEQUENCE { header, body }".to_vec();
    let mut tampered = data.clone();
    tampered[0] ^= 1;
    let other = block_on(provider.keys.generate(KeySpec::EcP256)).expect("second key");
    for spec in specs {
        let key: Arc<dyn PrivateKey> = block_on(provider.keys.generate(*spec))
            .unwrap_or_else(|e| panic!("{label}: generate {spec}: {e}"));
        assert_eq!(key.spec(), *spec);
        assert_eq!(
            KeySpec::of_public_key(&key.public_key_info().expect("spki")).expect("spec"),
            *spec
        );
        for alg in algorithms_for(*spec) {
            let sig = block_on(key.sign(alg, &data))
                .unwrap_or_else(|e| panic!("{label}: {spec} {alg}: {e}"));
            provider
                .primitives
                .verify_signature(key.public_key(), alg, &data, &sig)
                .unwrap_or_else(|e| panic!("{label}: {spec} {alg} does not verify: {e}"));
            assert!(
                openssl_verifies(&dir, key.as_ref(), alg, &data, &sig),
                "{label}: openssl does not verify {spec} {alg}"
            );
            assert_eq!(
                provider
                    .primitives
                    .verify_signature(key.public_key(), alg, &tampered, &sig),
                Err(CryptoError::BadSignature),
                "{label}: {spec} {alg} verified tampered data"
            );
            assert!(
                !openssl_verifies(&dir, key.as_ref(), alg, &tampered, &sig),
                "{label}: openssl accepted tampered data for {spec} {alg}"
            );
            if other.spec().allows(alg) {
                assert_eq!(
                    provider
                        .primitives
                        .verify_signature(other.public_key(), alg, &data, &sig),
                    Err(CryptoError::BadSignature),
                    "{label}: {spec} {alg} verified with the wrong key"
                );
            }
        }
        // An algorithm of another family is refused, not attempted.
        let foreign = if spec.family() == cmp_core::crypto::KeyFamily::Ec {
            SignatureAlgorithm::Ed25519
        } else {
            SignatureAlgorithm::EcdsaSha256
        };
        assert_eq!(
            block_on(key.sign(foreign, &data)).err(),
            Some(cmp_core::crypto::key_mismatch(foreign, *spec))
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
