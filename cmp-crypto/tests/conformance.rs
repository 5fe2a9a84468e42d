//! The backend conformance suite over the software backend: for every key type and
//! signature algorithm, keygen → sign → verify with the software verifier and with `openssl`;
//! a tampered message or the wrong key fails. (`pkcs11.rs` runs the same suite on SoftHSM2.)

mod common;

use cmp_core::crypto::{KeySpec, SignatureAlgorithm};
use common::{block_on, conformance};

#[test]
fn software_backend_conformance() {
    conformance(
        &cmp_crypto::software::provider(),
        &[
            KeySpec::EcP256,
            KeySpec::EcP384,
            KeySpec::Ed25519,
            KeySpec::Rsa(2048),
        ],
        "software",
    );
}

#[test]
fn software_backend_generates_large_rsa_keys() {
    let provider = cmp_crypto::software::provider();
    for bits in [3072, 4096] {
        let key = block_on(provider.keys.generate(KeySpec::Rsa(bits))).expect("generate");
        assert_eq!(key.spec(), KeySpec::Rsa(bits));
        let sig = block_on(key.sign(SignatureAlgorithm::RsaPssSha384, b"x")).expect("sign");
        assert_eq!(sig.len() * 8, bits as usize);
        provider
            .primitives
            .verify_signature(
                key.public_key(),
                SignatureAlgorithm::RsaPssSha384,
                b"x",
                &sig,
            )
            .expect("verifies");
    }
}
