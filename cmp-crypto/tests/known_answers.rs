//! The published known-answer vectors (FIPS 180-4, RFC 4231/2202, RFC 6070/7914; see
//! `vectors/mod.rs`) on the default backend — the software one, which every build has.
//! `aws_lc.rs` runs the same vectors on the aws-lc backend.

mod vectors;

fn primitives() -> std::sync::Arc<dyn cmp_core::crypto::Primitives> {
    cmp_crypto::default_provider().primitives
}

#[test]
fn digests_match_the_fips_180_examples() {
    vectors::check_digests("default", primitives().as_ref());
}

#[test]
fn hmac_matches_rfc_4231_and_rfc_2202() {
    vectors::check_hmacs("default", primitives().as_ref());
}

#[test]
fn pbkdf2_matches_rfc_6070_and_rfc_7914() {
    vectors::check_pbkdf2("default", primitives().as_ref());
}

#[test]
fn pbm_iterated_digest_matches_openssl() {
    vectors::check_digest_iterated("default", primitives().as_ref());
}

/// The trait's own `digest_iterated` (one `digest` call per round), which a backend without
/// an in-place loop keeps.
#[test]
fn the_default_iterated_digest_matches_openssl() {
    #[derive(Debug)]
    struct DigestOnly(std::sync::Arc<dyn cmp_core::crypto::Primitives>);
    impl cmp_core::crypto::Primitives for DigestOnly {
        fn digest(
            &self,
            alg: cmp_core::crypto::DigestAlgorithm,
            data: &[u8],
        ) -> Result<Vec<u8>, cmp_core::CryptoError> {
            self.0.digest(alg, data)
        }
        fn hmac(
            &self,
            alg: cmp_core::crypto::DigestAlgorithm,
            key: &[u8],
            data: &[u8],
        ) -> Result<Vec<u8>, cmp_core::CryptoError> {
            self.0.hmac(alg, key, data)
        }
        fn pbkdf2_hmac(
            &self,
            prf: cmp_core::crypto::DigestAlgorithm,
            password: &[u8],
            salt: &[u8],
            iterations: u32,
            out: &mut [u8],
        ) -> Result<(), cmp_core::CryptoError> {
            self.0.pbkdf2_hmac(prf, password, salt, iterations, out)
        }
        fn fill_random(&self, out: &mut [u8]) -> Result<(), cmp_core::CryptoError> {
            self.0.fill_random(out)
        }
        fn verify_signature(
            &self,
            spki: &[u8],
            alg: cmp_core::crypto::SignatureAlgorithm,
            message: &[u8],
            signature: &[u8],
        ) -> Result<(), cmp_core::CryptoError> {
            self.0.verify_signature(spki, alg, message, signature)
        }
    }
    vectors::check_digest_iterated("trait default", &DigestOnly(primitives()));
}
