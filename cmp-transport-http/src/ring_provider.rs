//! The *ring* rustls provider, whole or with TLS's mandatory algorithms only.
//!
//! With the cargo feature `tls-extra-algorithms` (a default feature) it is rustls' own:
//! X25519 and ChaCha20-Poly1305 besides AES-GCM and P-256/P-384, Ed25519 certificates
//! besides ECDSA and RSA. Without it (the minimal device agent) it keeps what every TLS
//! peer has to offer — ECDHE over P-256 and P-384, AES-GCM suites for TLS 1.3 and 1.2, ECDSA
//! and RSA signatures — and the code for the rest is left out of the binary (about 0.15 MB).

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// The provider this build offers.
#[cfg(feature = "tls-extra-algorithms")]
pub(crate) fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// The provider this build offers: the mandatory algorithms only.
#[cfg(not(feature = "tls-extra-algorithms"))]
pub(crate) fn provider() -> CryptoProvider {
    use rustls::crypto::ring::{cipher_suite as cs, kx_group};
    CryptoProvider {
        cipher_suites: vec![
            cs::TLS13_AES_256_GCM_SHA384,
            cs::TLS13_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        ],
        kx_groups: vec![kx_group::SECP256R1, kx_group::SECP384R1],
        signature_verification_algorithms: mandatory::SIGNATURES,
        secure_random: &mandatory::SystemRandom,
        key_provider: &mandatory::EcdsaAndRsaKeys,
    }
}

#[cfg(not(feature = "tls-extra-algorithms"))]
mod mandatory {
    use std::sync::Arc;

    use rustls::SignatureScheme;
    use rustls::crypto::{GetRandomFailed, KeyProvider, SecureRandom, WebPkiSupportedAlgorithms};
    use rustls::pki_types::PrivateKeyDer;
    use rustls::sign::SigningKey;
    use webpki::ring as algs;

    /// ECDSA and RSA signatures, as rustls' *ring* provider verifies them (without Ed25519).
    pub(super) static SIGNATURES: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
        all: &[
            algs::ECDSA_P256_SHA256,
            algs::ECDSA_P256_SHA384,
            algs::ECDSA_P384_SHA256,
            algs::ECDSA_P384_SHA384,
            algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
            algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
            algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
            algs::RSA_PKCS1_2048_8192_SHA256,
            algs::RSA_PKCS1_2048_8192_SHA384,
            algs::RSA_PKCS1_2048_8192_SHA512,
            algs::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
            algs::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
            algs::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
        ],
        mapping: &[
            // For TLS 1.2 the curve is not fixed by the scheme; for TLS 1.3 it is.
            (
                SignatureScheme::ECDSA_NISTP384_SHA384,
                &[algs::ECDSA_P384_SHA384, algs::ECDSA_P256_SHA384],
            ),
            (
                SignatureScheme::ECDSA_NISTP256_SHA256,
                &[algs::ECDSA_P256_SHA256, algs::ECDSA_P384_SHA256],
            ),
            (
                SignatureScheme::RSA_PSS_SHA512,
                &[algs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
            ),
            (
                SignatureScheme::RSA_PSS_SHA384,
                &[algs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
            ),
            (
                SignatureScheme::RSA_PSS_SHA256,
                &[algs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
            ),
            (
                SignatureScheme::RSA_PKCS1_SHA512,
                &[algs::RSA_PKCS1_2048_8192_SHA512],
            ),
            (
                SignatureScheme::RSA_PKCS1_SHA384,
                &[algs::RSA_PKCS1_2048_8192_SHA384],
            ),
            (
                SignatureScheme::RSA_PKCS1_SHA256,
                &[algs::RSA_PKCS1_2048_8192_SHA256],
            ),
        ],
    };

    /// The operating system's generator, through *ring*.
    #[derive(Debug)]
    pub(super) struct SystemRandom;

    impl SecureRandom for SystemRandom {
        fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
            use ring::rand::SecureRandom as _;
            ring::rand::SystemRandom::new()
                .fill(buf)
                .map_err(|_| GetRandomFailed)
        }
    }

    /// TLS keys from DER (a client's `--tls-key` file, a server's key): ECDSA or RSA.
    #[derive(Debug)]
    pub(super) struct EcdsaAndRsaKeys;

    impl KeyProvider for EcdsaAndRsaKeys {
        fn load_private_key(
            &self,
            key_der: PrivateKeyDer<'static>,
        ) -> Result<Arc<dyn SigningKey>, rustls::Error> {
            use rustls::crypto::ring::sign;
            if let Ok(key) = sign::RsaSigningKey::new(&key_der) {
                return Ok(Arc::new(key));
            }
            sign::any_ecdsa_type(&key_der).map_err(|_| {
                rustls::Error::General(
                    "the TLS key is neither ECDSA (P-256, P-384) nor RSA: Ed25519 TLS keys \
                     are not in this build (cmp-transport-http feature `tls-extra-algorithms`)"
                        .into(),
                )
            })
        }
    }
}

/// The provider, shared.
pub(crate) fn shared() -> Arc<CryptoProvider> {
    Arc::new(provider())
}

#[cfg(all(test, not(feature = "tls-extra-algorithms")))]
mod tests {
    use rustls::pki_types::PrivateKeyDer;
    use rustls::pki_types::pem::PemObject;

    /// An Ed25519 key (`openssl genpkey -algorithm ed25519`).
    const ED25519_KEY: &[u8] = b"-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIH0d2vcoVffaBUBIfDdCh88U5P7RMkReUTfsZmtmSW3K
-----END PRIVATE KEY-----
";

    #[test]
    fn the_mandatory_set_has_no_x25519_chacha_or_ed25519() {
        let p = super::provider();
        let groups: Vec<_> = p.kx_groups.iter().map(|g| g.name()).collect();
        assert_eq!(
            groups,
            [rustls::NamedGroup::secp256r1, rustls::NamedGroup::secp384r1]
        );
        assert!(
            p.cipher_suites
                .iter()
                .all(|s| format!("{:?}", s.suite()).contains("GCM"))
        );
        let key = PrivateKeyDer::from_pem_slice(ED25519_KEY).expect("pem");
        let err = p
            .key_provider
            .load_private_key(key)
            .expect_err("no Ed25519");
        assert_eq!(
            err.to_string(),
            "unexpected error: the TLS key is neither ECDSA (P-256, P-384) nor RSA: Ed25519 TLS \
             keys are not in this build (cmp-transport-http feature `tls-extra-algorithms`)"
        );
    }
}
