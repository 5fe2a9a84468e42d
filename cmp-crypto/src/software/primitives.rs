//! Hashing, HMAC, PBKDF2, randomness and signature verification: RustCrypto, and *ring* for
//! RSA and EC signatures (see [`super::ec`]).

use cmp_core::CryptoError;
use cmp_core::crypto::{DigestAlgorithm, KeySpec, Primitives, SignatureAlgorithm, key_mismatch};
use hmac::{KeyInit, Mac};
use sha2::Digest;
use zeroize::{Zeroize, Zeroizing};

/// The RustCrypto primitives.
#[derive(Clone, Copy, Debug, Default)]
pub struct SoftwarePrimitives;

pub(crate) fn digest_bytes(alg: DigestAlgorithm, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    Ok(match alg {
        DigestAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
        DigestAlgorithm::Sha224 => sha2::Sha224::digest(data).to_vec(),
        DigestAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
        DigestAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
        DigestAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        other => {
            return Err(CryptoError::UnsupportedAlgorithm(format!("digest {other}")));
        }
    })
}

/// `iterations` rounds of `D` (at least one) in one stack buffer, which is wiped after.
fn digest_iterated_with<D: Digest + sha2::digest::FixedOutputReset>(
    input: &[u8],
    iterations: u32,
) -> Zeroizing<Vec<u8>> {
    let mut hasher = D::new();
    let mut buf = sha2::digest::Output::<D>::default();
    Digest::update(&mut hasher, input);
    Digest::finalize_into_reset(&mut hasher, &mut buf);
    for _ in 1..iterations {
        Digest::update(&mut hasher, &buf);
        Digest::finalize_into_reset(&mut hasher, &mut buf);
    }
    let out = Zeroizing::new(buf.to_vec());
    buf.as_mut_slice().zeroize();
    out
}

fn hmac_bytes<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length.
    let mut mac = <M as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

impl Primitives for SoftwarePrimitives {
    fn digest(&self, alg: DigestAlgorithm, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        digest_bytes(alg, data)
    }

    fn digest_iterated(
        &self,
        alg: DigestAlgorithm,
        input: &[u8],
        iterations: u32,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        Ok(match alg {
            DigestAlgorithm::Sha1 => digest_iterated_with::<sha1::Sha1>(input, iterations),
            DigestAlgorithm::Sha224 => digest_iterated_with::<sha2::Sha224>(input, iterations),
            DigestAlgorithm::Sha256 => digest_iterated_with::<sha2::Sha256>(input, iterations),
            DigestAlgorithm::Sha384 => digest_iterated_with::<sha2::Sha384>(input, iterations),
            DigestAlgorithm::Sha512 => digest_iterated_with::<sha2::Sha512>(input, iterations),
            other => {
                return Err(CryptoError::UnsupportedAlgorithm(format!("digest {other}")));
            }
        })
    }

    fn hmac(&self, alg: DigestAlgorithm, key: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(match alg {
            DigestAlgorithm::Sha1 => hmac_bytes::<hmac::Hmac<sha1::Sha1>>(key, data),
            DigestAlgorithm::Sha224 => hmac_bytes::<hmac::Hmac<sha2::Sha224>>(key, data),
            DigestAlgorithm::Sha256 => hmac_bytes::<hmac::Hmac<sha2::Sha256>>(key, data),
            DigestAlgorithm::Sha384 => hmac_bytes::<hmac::Hmac<sha2::Sha384>>(key, data),
            DigestAlgorithm::Sha512 => hmac_bytes::<hmac::Hmac<sha2::Sha512>>(key, data),
            other => {
                return Err(CryptoError::UnsupportedAlgorithm(format!(
                    "HMAC over {other}"
                )));
            }
        })
    }

    fn pbkdf2_hmac(
        &self,
        prf: DigestAlgorithm,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
        out: &mut [u8],
    ) -> Result<(), CryptoError> {
        use pbkdf2::pbkdf2_hmac;
        match prf {
            DigestAlgorithm::Sha1 => pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, out),
            DigestAlgorithm::Sha224 => pbkdf2_hmac::<sha2::Sha224>(password, salt, iterations, out),
            DigestAlgorithm::Sha256 => pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, out),
            DigestAlgorithm::Sha384 => pbkdf2_hmac::<sha2::Sha384>(password, salt, iterations, out),
            DigestAlgorithm::Sha512 => pbkdf2_hmac::<sha2::Sha512>(password, salt, iterations, out),
            other => {
                return Err(CryptoError::UnsupportedAlgorithm(format!(
                    "PBKDF2 over {other}"
                )));
            }
        }
        Ok(())
    }

    fn fill_random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        getrandom::fill(out).map_err(|e| CryptoError::Backend {
            backend: "software".into(),
            reason: format!("the system random generator failed: {e}"),
        })
    }

    fn verify_signature(
        &self,
        spki: &[u8],
        alg: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        let spki = cmp_core::crypto::public_key_info(spki)?;
        let spec = KeySpec::of_public_key(&spki)?;
        spec.check_allows(alg)?;
        let point = spki.subject_public_key.as_raw_slice();
        match spec {
            KeySpec::EcP256 | KeySpec::EcP384 => {
                super::ec::verify(spec, point, alg, message, signature)
            }
            #[cfg(feature = "ed25519")]
            KeySpec::Ed25519 => {
                let bytes: &[u8; 32] = point
                    .try_into()
                    .map_err(|_| CryptoError::InvalidKey("Ed25519 key is not 32 bytes".into()))?;
                let key = ed25519_dalek::VerifyingKey::from_bytes(bytes)
                    .map_err(|_| CryptoError::InvalidKey("not an Ed25519 point".into()))?;
                let bad = |_| CryptoError::BadSignature;
                let sig = ed25519_dalek::Signature::from_slice(signature).map_err(bad)?;
                key.verify_strict(message, &sig).map_err(bad)
            }
            #[cfg(not(feature = "ed25519"))]
            KeySpec::Ed25519 => Err(super::not_in_this_build("Ed25519 signatures", "ed25519")),
            KeySpec::Rsa(_) => verify_rsa(point, alg, message, signature),
            other => Err(key_mismatch(alg, other)),
        }
    }
}

/// An RSA signature through *ring*: moduli of 2 048 to 8 192 bits (1 024 for PKCS#1 v1.5
/// with SHA-256 or SHA-512, as *ring* allows for legacy keys), PSS with the salt as long as
/// the hash (as RFC 9481 profiles it).
fn verify_rsa(
    pkcs1: &[u8],
    alg: SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    use SignatureAlgorithm::*;
    use ring::signature as rs;
    let parsed = pkcs1::RsaPublicKeyRef::try_from(pkcs1)
        .map_err(|e| CryptoError::InvalidKey(format!("RSA public key: {e}")))?;
    let bits = parsed.modulus.as_bytes().len() * 8
        - parsed
            .modulus
            .as_bytes()
            .first()
            .map_or(0, |b| b.leading_zeros() as usize);
    let legacy = bits < 2048;
    let params: &'static rs::RsaParameters = match (alg, legacy) {
        (RsaPkcs1Sha256, false) => &rs::RSA_PKCS1_2048_8192_SHA256,
        (RsaPkcs1Sha256, true) => &rs::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        (RsaPkcs1Sha384, false) => &rs::RSA_PKCS1_2048_8192_SHA384,
        (RsaPkcs1Sha512, false) => &rs::RSA_PKCS1_2048_8192_SHA512,
        (RsaPkcs1Sha512, true) => &rs::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        (RsaPssSha256, false) => &rs::RSA_PSS_2048_8192_SHA256,
        (RsaPssSha384, false) => &rs::RSA_PSS_2048_8192_SHA384,
        (RsaPssSha512, false) => &rs::RSA_PSS_2048_8192_SHA512,
        (RsaPkcs1Sha384 | RsaPssSha256 | RsaPssSha384 | RsaPssSha512, true) => {
            return Err(CryptoError::InvalidKey(format!(
                "a {bits}-bit RSA key is too short for {alg} (at least 2048 bits)"
            )));
        }
        (other, _) => {
            return Err(CryptoError::UnsupportedAlgorithm(format!(
                "{other} with an RSA key"
            )));
        }
    };
    rs::UnparsedPublicKey::new(params, pkcs1)
        .verify(message, signature)
        .map_err(|_| CryptoError::BadSignature)
}
