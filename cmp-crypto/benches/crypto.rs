//! Crypto benchmarks per backend: MAC protection (PBM, PBMAC1) of a real ~1 KB message, and
//! EC key generation, and signing and verification with EC P-256, P-384, RSA-2048 and Ed25519.
//!
//! The software backend is always measured, aws-lc with `--features aws-lc`; PKCS#11 is left
//! out (it needs a token). Each benchmark is named `<operation>/<backend>`, so criterion writes
//! its results to `$CRITERION_HOME/<operation>/<backend>/new/estimates.json` (by default
//! `target/criterion/...`). `scripts/bench-crypto.sh` runs these next to `openssl speed`.
//!
//! ```text
//! cargo bench -p cmp-crypto --features aws-lc --bench crypto
//! ```

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use cmp_core::asn1::{PkiMessage, ReceivedMessage};
use cmp_core::crypto::{CryptoProvider, KeySpec, PrivateKey, SignatureAlgorithm};
use cmp_core::protection::{MacLimits, MacSettings, protect_with_mac, verify_mac};
use criterion::{Criterion, criterion_group, criterion_main};

/// The message to protect: the OpenSSL `ip` of the PBM enrollment, whose ProtectedPart is
/// 1 112 bytes (header, and a body with the certificate and caPubs).
const MESSAGE: &str = "../tests/fixtures/openssl/pbm-ir/02-ip.der";
const SECRET: &[u8] = b"cmp-test-secret-1234";

/// What a signature benchmark signs: a 32-byte value, as `openssl speed` signs a short buffer
/// (the hashing of a long message would be timed too otherwise).
const TO_SIGN: [u8; 32] = *b"CMP benchmark: 32 bytes to sign.";

fn backends() -> Vec<(&'static str, CryptoProvider)> {
    #[allow(unused_mut)]
    let mut list = vec![("software", cmp_crypto::software::provider())];
    #[cfg(feature = "aws-lc")]
    list.push(("aws-lc", cmp_crypto::aws_lc::provider()));
    list
}

/// Drives a future that does not wait on IO (in-memory keys answer at once).
fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn message() -> PkiMessage {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(MESSAGE);
    let der = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ReceivedMessage::decode(&der)
        .expect("the fixture decodes")
        .into_message()
}

/// Protect a fresh copy of the message and verify a message protected beforehand: two MAC
/// computations (key derivation and HMAC over the ProtectedPart) per iteration, as a client
/// does for a request and its response.
fn bench_mac(c: &mut Criterion, name: &str, settings: &MacSettings) {
    let template = message();
    let limits = MacLimits::default();
    let mut group = c.benchmark_group(name);
    for (backend, provider) in backends() {
        let primitives = Arc::clone(&provider.primitives);
        let mut protected = template.clone();
        protect_with_mac(&mut protected, SECRET, settings, &*primitives).expect("protect");
        let received =
            ReceivedMessage::decode(&protected.to_der().expect("encode")).expect("decode");
        group.bench_function(backend, |b| {
            b.iter(|| {
                let mut msg = template.clone();
                protect_with_mac(&mut msg, SECRET, settings, &*primitives).expect("protect");
                verify_mac(&received, SECRET, &limits, &*primitives).expect("verify");
                black_box(msg)
            })
        });
    }
    group.finish();
}

fn mac_benches(c: &mut Criterion) {
    let pbm = |iterations| MacSettings::PasswordBasedMac {
        owf: cmp_core::crypto::DigestAlgorithm::Sha256,
        mac: cmp_core::crypto::DigestAlgorithm::Sha1,
        iterations,
        salt_len: 16,
    };
    bench_mac(c, "pbm_500", &pbm(500));
    bench_mac(c, "pbm_10000", &pbm(10_000));
    bench_mac(c, "pbmac1_10000", &MacSettings::pbmac1_default());
}

fn bench_signatures(c: &mut Criterion, label: &str, spec: KeySpec, alg: SignatureAlgorithm) {
    let keys: Vec<(&str, CryptoProvider, Arc<dyn PrivateKey>)> = backends()
        .into_iter()
        .map(|(name, p)| {
            let key = block_on(p.keys.generate(spec)).expect("generate");
            (name, p, key)
        })
        .collect();
    let mut group = c.benchmark_group(format!("{label}_sign"));
    for (name, _, key) in &keys {
        group.bench_function(*name, |b| {
            b.iter(|| block_on(key.sign(alg, black_box(&TO_SIGN))).expect("sign"))
        });
    }
    group.finish();
    let mut group = c.benchmark_group(format!("{label}_verify"));
    for (name, provider, key) in &keys {
        let sig = block_on(key.sign(alg, &TO_SIGN)).expect("sign");
        group.bench_function(*name, |b| {
            b.iter(|| {
                provider
                    .primitives
                    .verify_signature(key.public_key(), alg, black_box(&TO_SIGN), &sig)
                    .expect("verify")
            })
        });
    }
    group.finish();
}

/// Key generation: what a device (or cmp-load) pays for a fresh key.
fn bench_keygen(c: &mut Criterion, label: &str, spec: KeySpec) {
    let mut group = c.benchmark_group(format!("{label}_keygen"));
    for (name, provider) in backends() {
        group.bench_function(name, |b| {
            b.iter(|| block_on(provider.keys.generate(black_box(spec))).expect("generate"))
        });
    }
    group.finish();
}

fn signature_benches(c: &mut Criterion) {
    bench_keygen(c, "ecdsa_p256", KeySpec::EcP256);
    bench_keygen(c, "ecdsa_p384", KeySpec::EcP384);
    bench_signatures(
        c,
        "ecdsa_p256",
        KeySpec::EcP256,
        SignatureAlgorithm::EcdsaSha256,
    );
    bench_signatures(
        c,
        "ecdsa_p384",
        KeySpec::EcP384,
        SignatureAlgorithm::EcdsaSha384,
    );
    bench_signatures(
        c,
        "rsa2048",
        KeySpec::Rsa(2048),
        SignatureAlgorithm::RsaPkcs1Sha256,
    );
    bench_signatures(c, "ed25519", KeySpec::Ed25519, SignatureAlgorithm::Ed25519);
}

fn config() -> Criterion {
    // Short runs: the whole suite (both backends) stays around a minute. Command-line options
    // (`--measurement-time`, `--sample-size`, …) still override these.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = mac_benches, signature_benches
}
criterion_main!(benches);
