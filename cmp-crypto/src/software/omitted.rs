//! The optional parts of the software backend (cargo features `ec-arithmetic`, `ed25519`,
//! `rsa-keygen`, `encrypted-pkcs8`, `precomputed-tables`; all in `software`) and what a build without one
//! answers when it is asked for: `… not in this build (cmp-crypto feature `…`)`, as
//! [`CryptoError::NotInBuild`](cmp_core::CryptoError::NotInBuild).

/// What a build without an optional part of the backend answers when asked for it: `what`
/// ("Ed25519 keys") is not in this build, and the cargo feature of cmp-crypto that adds it.
#[cfg(not(all(
    feature = "ed25519",
    feature = "rsa-keygen",
    feature = "encrypted-pkcs8",
    feature = "ec-arithmetic"
)))]
pub(crate) fn not_in_this_build(what: &str, feature: &'static str) -> cmp_core::CryptoError {
    cmp_core::CryptoError::NotInBuild {
        what: what.to_owned(),
        crate_name: "cmp-crypto",
        feature,
    }
}

/// Run with the part left out: `cargo test -p cmp-crypto --lib --no-default-features
/// --features software-core`.
#[cfg(all(
    test,
    not(all(
        feature = "ed25519",
        feature = "rsa-keygen",
        feature = "encrypted-pkcs8",
        feature = "ec-arithmetic"
    ))
))]
mod tests {
    // Which helpers and imports a build uses depends on which parts it leaves out.
    #![allow(clippy::unwrap_used, dead_code, unused_imports)]
    use crate::software::{SoftwareKey, SoftwareKeys, SoftwarePrimitives};
    use cmp_core::CryptoError;
    use cmp_core::crypto::{KeyProvider, KeySpec, Primitives, SignatureAlgorithm};
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// The backend's futures never wait: one poll finishes them.
    fn ready<T>(f: impl Future<Output = T>) -> T {
        match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("the software backend's future is not ready at once"),
        }
    }

    /// The answer's text: a part left out (`NotInBuild`, displayed), or an algorithm no
    /// build has (`UnsupportedAlgorithm`, its words).
    fn unsupported(e: CryptoError) -> String {
        match e {
            e @ CryptoError::NotInBuild { .. } => e.to_string(),
            CryptoError::UnsupportedAlgorithm(what) => what,
            other => panic!("expected NotInBuild or UnsupportedAlgorithm, got {other:?}"),
        }
    }

    /// An Ed25519 key (PKCS#8 v1, `openssl genpkey -algorithm ed25519`).
    #[cfg(not(feature = "ed25519"))]
    const ED25519_KEY: &[u8] = b"-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIH0d2vcoVffaBUBIfDdCh88U5P7RMkReUTfsZmtmSW3K
-----END PRIVATE KEY-----
";

    /// Its public key.
    #[cfg(not(feature = "ed25519"))]
    const ED25519_SPKI_PEM: &[u8] = b"-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAfgMZ8OSWctbLDVDg2Aixy01hyEYj6HpIYcKdCjhUk/E=
-----END PUBLIC KEY-----
";

    /// A P-256 key encrypted with PBES2 (PBKDF2, AES-128-CBC), password `test-password`.
    #[cfg(not(feature = "encrypted-pkcs8"))]
    const ENCRYPTED_KEY: &[u8] = b"-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAjJqZt/pZXI+gICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEAQIEEJvSQXbv2lXKI6LebOQeZ6YEgZBv
h8UhZU8cpPyOKWqJgnU8DwMTJzk9t8BFZIA/uSwlriUSrGND/ae7GnF+LOtN8EAs
W+/OhmjTrY+yQy5CKTC+B7UDnLsPYZnFz2lbxrl9F1spkdoPtV+4zdWrnE9Db+oM
ETkFYq8vNAOs7mEw/f/23UREHk4oysItJpk/UW3m4gkVfUmHbaJ/evUYj3FfOl0=
-----END ENCRYPTED PRIVATE KEY-----
";

    fn der_of(pem: &[u8]) -> Vec<u8> {
        pkcs8::der::pem::decode_vec(pem).unwrap().1
    }

    #[cfg(not(feature = "ed25519"))]
    #[test]
    fn without_ed25519_its_keys_and_signatures_are_not_in_this_build() {
        let keys = "Ed25519 keys: not in this build (cmp-crypto feature `ed25519`)";
        let e = ready(SoftwareKeys.generate(KeySpec::Ed25519)).unwrap_err();
        assert_eq!(
            e,
            CryptoError::NotInBuild {
                what: "Ed25519 keys".into(),
                crate_name: "cmp-crypto",
                feature: "ed25519",
            }
        );
        assert_eq!(unsupported(e), keys);
        let e = SoftwareKey::from_encoded(ED25519_KEY, None).unwrap_err();
        assert_eq!(unsupported(e), keys);
        let e = SoftwareKey::from_encoded(&der_of(ED25519_KEY), None).unwrap_err();
        assert_eq!(unsupported(e), keys);
        let e = SoftwarePrimitives
            .verify_signature(
                &der_of(ED25519_SPKI_PEM),
                SignatureAlgorithm::Ed25519,
                b"message",
                &[0u8; 64],
            )
            .unwrap_err();
        assert_eq!(
            unsupported(e),
            "Ed25519 signatures: not in this build (cmp-crypto feature `ed25519`)"
        );
    }

    #[cfg(not(feature = "rsa-keygen"))]
    #[test]
    fn without_rsa_keygen_generating_an_rsa_key_is_not_in_this_build() {
        for bits in [2048, 3072, 4096] {
            let e = ready(SoftwareKeys.generate(KeySpec::Rsa(bits))).unwrap_err();
            assert_eq!(
                unsupported(e),
                "RSA key generation: not in this build (cmp-crypto feature `rsa-keygen`)"
            );
        }
        // A size no build generates keeps its own answer.
        let e = ready(SoftwareKeys.generate(KeySpec::Rsa(1024))).unwrap_err();
        assert_eq!(unsupported(e), "key type rsa:1024");
    }

    #[cfg(not(feature = "encrypted-pkcs8"))]
    #[test]
    fn without_encrypted_pkcs8_an_encrypted_key_is_not_in_this_build_pem_or_der() {
        let msg = "encrypted PKCS#8 keys (ENCRYPTED PRIVATE KEY): not in this build \
                   (cmp-crypto feature `encrypted-pkcs8`)";
        for input in [ENCRYPTED_KEY.to_vec(), der_of(ENCRYPTED_KEY)] {
            for password in [None, Some(&b"test-password"[..])] {
                let e = SoftwareKey::from_encoded(&input, password).unwrap_err();
                assert_eq!(unsupported(e), msg);
            }
        }
        // Other DER that is not a key still gets the general answer.
        let e = SoftwareKey::from_encoded(&[0x30, 0x03, 0x02, 0x01, 0x00], None).unwrap_err();
        assert_eq!(
            e,
            CryptoError::InvalidKey("not a private key in PEM, PKCS#8, SEC1 or PKCS#1 DER".into())
        );
    }
    /// A P-256 key in SEC1 without its public key (`openssl ec -no_public`).
    #[cfg(not(feature = "ec-arithmetic"))]
    const P256_KEY_WITHOUT_PUBLIC: &[u8] = b"-----BEGIN EC PRIVATE KEY-----
MDECAQEEIFTGHrOJen2ueifRFD4iogOmU1D2b8FoGAbRn+jJnYP/oAoGCCqGSM49
AwEH
-----END EC PRIVATE KEY-----
";

    #[cfg(not(feature = "ec-arithmetic"))]
    #[test]
    fn without_ec_arithmetic_ring_signs_each_curve_with_its_hash_and_the_rest_is_not_in_this_build()
    {
        let not_here =
            |what: &str| format!("{what}: not in this build (cmp-crypto feature `ec-arithmetic`)");
        // P-384 signs through ring (SHA-384); P-256 with SHA-384 needs RustCrypto.
        let p384 = ready(SoftwareKeys.generate(KeySpec::EcP384)).unwrap();
        let sig = ready(p384.sign(SignatureAlgorithm::EcdsaSha384, b"m")).unwrap();
        SoftwarePrimitives
            .verify_signature(
                p384.public_key(),
                SignatureAlgorithm::EcdsaSha384,
                b"m",
                &sig,
            )
            .unwrap();
        let p256 = ready(SoftwareKeys.generate(KeySpec::EcP256)).unwrap();
        let e = ready(p256.sign(SignatureAlgorithm::EcdsaSha384, b"m")).unwrap_err();
        assert_eq!(
            unsupported(e),
            not_here("ECDSA P-256 signatures with ecdsa-with-SHA384")
        );
        // ring verifies P-256 with SHA-384, not with SHA-512.
        let e = SoftwarePrimitives
            .verify_signature(
                p256.public_key(),
                SignatureAlgorithm::EcdsaSha512,
                b"m",
                &sig,
            )
            .unwrap_err();
        assert_eq!(
            unsupported(e),
            not_here("ECDSA P-256 signatures with ecdsa-with-SHA512")
        );
        // A key file without its public key would need it derived.
        let e = SoftwareKey::from_encoded(P256_KEY_WITHOUT_PUBLIC, None).unwrap_err();
        assert_eq!(
            unsupported(e),
            not_here("EC private keys stored without their public key")
        );
        // ECDH.
        let e = ready(p256.key_agreement(p256.public_key())).unwrap_err();
        assert_eq!(unsupported(e), not_here("ECDH key agreement"));
        // A compressed point: the SPKI of the P-256 key with its point compressed.
        let spki = p256.public_key();
        let point = &spki[spki.len() - 65..];
        let mut compressed = spki[..spki.len() - 65].to_vec();
        compressed[1] -= 32; // the outer SEQUENCE
        let bit_string_len = compressed.len() - 2;
        compressed[bit_string_len] -= 32; // the BIT STRING
        compressed.push(0x02 | (point[64] & 1));
        compressed.extend_from_slice(&point[1..33]);
        let e = SoftwarePrimitives
            .verify_signature(&compressed, SignatureAlgorithm::EcdsaSha256, b"m", &sig)
            .unwrap_err();
        assert_eq!(unsupported(e), not_here("compressed EC points"));
    }
}

/// What every build has, `software-core` alone included.
#[cfg(test)]
mod core_tests {
    #![allow(clippy::unwrap_used)]
    use crate::software::{SoftwareKeys, SoftwarePrimitives};
    use cmp_core::CryptoError;
    use cmp_core::crypto::{KeyProvider, KeySpec, Primitives, SignatureAlgorithm};
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    /// The backend's futures never wait: one poll finishes them.
    fn ready<T>(f: impl Future<Output = T>) -> T {
        match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("the software backend's future is not ready at once"),
        }
    }

    /// EC keys generated, signing and verifying.
    #[test]
    fn the_core_generates_signs_and_verifies_with_p256_and_p384() {
        for (spec, alg) in [
            (KeySpec::EcP256, SignatureAlgorithm::EcdsaSha256),
            (KeySpec::EcP384, SignatureAlgorithm::EcdsaSha384),
        ] {
            let key = ready(SoftwareKeys.generate(spec)).unwrap();
            let sig = ready(key.sign(alg, b"message")).unwrap();
            SoftwarePrimitives
                .verify_signature(key.public_key(), alg, b"message", &sig)
                .unwrap();
            assert_eq!(
                SoftwarePrimitives.verify_signature(key.public_key(), alg, b"messagf", &sig),
                Err(CryptoError::BadSignature)
            );
        }
    }
}
