//! Hashing, HMAC, PBKDF2, randomness and signature verification with AWS-LC.

use std::num::NonZeroU32;

use aws_lc_rs::signature::{self as sig, ParsedPublicKey, VerificationAlgorithm};
use aws_lc_rs::{digest, hmac, pbkdf2, rand};
use cmp_core::CryptoError;
use cmp_core::crypto::{DigestAlgorithm, KeySpec, Primitives, SignatureAlgorithm, key_mismatch};
use zeroize::Zeroizing;

use super::backend;

/// The AWS-LC primitives.
#[derive(Clone, Copy, Debug, Default)]
pub struct AwsLcPrimitives;

/// The aws-lc-rs hash for a digest algorithm.
pub(super) fn digest_algorithm(
    alg: DigestAlgorithm,
) -> Result<&'static digest::Algorithm, CryptoError> {
    Ok(match alg {
        DigestAlgorithm::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        DigestAlgorithm::Sha224 => &digest::SHA224,
        DigestAlgorithm::Sha256 => &digest::SHA256,
        DigestAlgorithm::Sha384 => &digest::SHA384,
        DigestAlgorithm::Sha512 => &digest::SHA512,
        other => {
            return Err(CryptoError::UnsupportedAlgorithm(format!("digest {other}")));
        }
    })
}

fn hmac_algorithm(alg: DigestAlgorithm) -> Result<hmac::Algorithm, CryptoError> {
    Ok(match alg {
        DigestAlgorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        DigestAlgorithm::Sha224 => hmac::HMAC_SHA224,
        DigestAlgorithm::Sha256 => hmac::HMAC_SHA256,
        DigestAlgorithm::Sha384 => hmac::HMAC_SHA384,
        DigestAlgorithm::Sha512 => hmac::HMAC_SHA512,
        other => {
            return Err(CryptoError::UnsupportedAlgorithm(format!(
                "HMAC over {other}"
            )));
        }
    })
}

/// PBKDF2 (RFC 8018 §5.2) over AWS-LC's HMAC, for the PRFs aws-lc-rs has no PBKDF2 for.
fn pbkdf2_over_hmac(
    alg: hmac::Algorithm,
    password: &[u8],
    salt: &[u8],
    iterations: NonZeroU32,
    out: &mut [u8],
) -> Result<(), CryptoError> {
    let key = hmac::Key::new(alg, password);
    let h_len = alg.digest_algorithm().output_len();
    for (i, block) in out.chunks_mut(h_len).enumerate() {
        // The block index is a 32-bit counter starting at 1.
        let index = u32::try_from(i + 1)
            .map_err(|_| backend("PBKDF2 output is longer than (2^32 - 1) blocks"))?;
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(salt);
        ctx.update(&index.to_be_bytes());
        let mut u = ctx.sign();
        let mut t = Zeroizing::new(u.as_ref().to_vec());
        for _ in 1..iterations.get() {
            u = hmac::sign(&key, u.as_ref());
            t.iter_mut().zip(u.as_ref()).for_each(|(a, b)| *a ^= b);
        }
        block.copy_from_slice(&t[..block.len()]);
    }
    Ok(())
}

impl Primitives for AwsLcPrimitives {
    fn digest(&self, alg: DigestAlgorithm, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(digest::digest(digest_algorithm(alg)?, data)
            .as_ref()
            .to_vec())
    }

    fn hmac(&self, alg: DigestAlgorithm, key: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = hmac::Key::new(hmac_algorithm(alg)?, key);
        Ok(hmac::sign(&key, data).as_ref().to_vec())
    }

    fn pbkdf2_hmac(
        &self,
        prf: DigestAlgorithm,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
        out: &mut [u8],
    ) -> Result<(), CryptoError> {
        let iterations = NonZeroU32::new(iterations).ok_or_else(|| {
            CryptoError::UnsupportedAlgorithm("PBKDF2 with an iteration count of 0".into())
        })?;
        // aws-lc-rs panics on an output longer than (2^32 - 1) blocks; refuse it first.
        let max_len = u64::from(u32::MAX) * prf.output_len() as u64;
        if out.len() as u64 > max_len {
            return Err(CryptoError::UnsupportedAlgorithm(format!(
                "PBKDF2 output of {} bytes (at most {max_len} with {prf})",
                out.len()
            )));
        }
        let native = match prf {
            DigestAlgorithm::Sha1 => pbkdf2::PBKDF2_HMAC_SHA1,
            DigestAlgorithm::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            DigestAlgorithm::Sha384 => pbkdf2::PBKDF2_HMAC_SHA384,
            DigestAlgorithm::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
            // No PBKDF2_HMAC_SHA224 in aws-lc-rs (and any future hash): over AWS-LC's HMAC.
            other => {
                return pbkdf2_over_hmac(hmac_algorithm(other)?, password, salt, iterations, out);
            }
        };
        pbkdf2::derive(native, iterations, salt, password, out);
        Ok(())
    }

    fn fill_random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        rand::fill(out).map_err(|_| backend("the AWS-LC random generator failed"))
    }

    fn verify_signature(
        &self,
        spki: &[u8],
        alg: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        use SignatureAlgorithm::*;
        let spki = cmp_core::crypto::public_key_info(spki)?;
        let spec = KeySpec::of_public_key(&spki)?;
        spec.check_allows(alg)?;
        let verifier: &'static dyn VerificationAlgorithm = match (spec, alg) {
            (KeySpec::EcP256, EcdsaSha256) => &sig::ECDSA_P256_SHA256_ASN1,
            (KeySpec::EcP256, EcdsaSha384) => &sig::ECDSA_P256_SHA384_ASN1,
            (KeySpec::EcP256, EcdsaSha512) => &sig::ECDSA_P256_SHA512_ASN1,
            (KeySpec::EcP384, EcdsaSha256) => &sig::ECDSA_P384_SHA256_ASN1,
            (KeySpec::EcP384, EcdsaSha384) => &sig::ECDSA_P384_SHA384_ASN1,
            (KeySpec::EcP384, EcdsaSha512) => &sig::ECDSA_P384_SHA512_ASN1,
            (KeySpec::Ed25519, Ed25519) => &sig::ED25519,
            (KeySpec::Rsa(bits), _) => {
                if !(2048..=8192).contains(&bits) {
                    return Err(CryptoError::UnsupportedAlgorithm(format!(
                        "RSA key of {bits} bits (the aws-lc backend verifies with 2048 to 8192 bits)"
                    )));
                }
                match alg {
                    RsaPkcs1Sha256 => &sig::RSA_PKCS1_2048_8192_SHA256,
                    RsaPkcs1Sha384 => &sig::RSA_PKCS1_2048_8192_SHA384,
                    RsaPkcs1Sha512 => &sig::RSA_PKCS1_2048_8192_SHA512,
                    // Salt as long as the hash (RSA_PSS_SALTLEN_DIGEST), as RFC 9481 requires.
                    RsaPssSha256 => &sig::RSA_PSS_2048_8192_SHA256,
                    RsaPssSha384 => &sig::RSA_PSS_2048_8192_SHA384,
                    RsaPssSha512 => &sig::RSA_PSS_2048_8192_SHA512,
                    other => return Err(key_mismatch(other, spec)),
                }
            }
            (spec, alg) => return Err(key_mismatch(alg, spec)),
        };
        // The SEC1 point, the RSAPublicKey or the raw Ed25519 key.
        let key = ParsedPublicKey::new(verifier, spki.subject_public_key.as_raw_slice()).map_err(
            |e| CryptoError::InvalidKey(format!("AWS-LC rejected the {spec} public key: {e}")),
        )?;
        key.verify_sig(message, signature)
            .map_err(|_| CryptoError::BadSignature)
    }
}
