//! EC P-256 and P-384 in the software backend: *ring* where it can, RustCrypto where it cannot.
//!
//! *ring* (constant-time, assembly, precomputed tables compiled into the binary: nothing is
//! built at first use) makes the common cases: key generation, ECDSA P-256/SHA-256 signing,
//! and verification of P-256 and P-384 signatures with SHA-256 or SHA-384 over uncompressed
//! points. RustCrypto (`p256`, `p384`; the cargo feature `ec-arithmetic`) is kept for what
//! *ring* does not offer or does slower: P-384 signing (*ring* has no P-384 assembly: 2.2
//! times slower), signing with another hash (P-256 with SHA-384 or SHA-512), verifying with
//! SHA-512 or a compressed point, ECDH, and deriving the public key of a key file that does
//! not carry it. A build without `ec-arithmetic` signs P-384 (with SHA-384) through *ring*
//! and answers the rest "not in this build".
//!
//! *ring* does not zeroize its private-key objects when they are dropped (as for its RSA
//! keys, which this backend already uses); the scalar this module keeps for the RustCrypto
//! fallbacks, and the PKCS#8 it is read from, are zeroized.

use cmp_core::CryptoError;
use cmp_core::crypto::{KeySpec, SignatureAlgorithm, key_mismatch};
#[cfg(feature = "ec-arithmetic")]
use ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
#[cfg(feature = "ec-arithmetic")]
use p256::elliptic_curve::sec1::ToSec1Point;
use ring::signature::{self as rs, KeyPair};
use zeroize::Zeroizing;

#[cfg(not(feature = "ec-arithmetic"))]
use super::not_in_this_build;
#[cfg(feature = "ec-arithmetic")]
use super::primitives::digest_bytes;

/// The two curves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

/// DER `SubjectPublicKeyInfo` up to the point: SEQUENCE { SEQUENCE { ecPublicKey, prime256v1 },
/// BIT STRING (65 bytes + the unused-bits octet) }.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A,
    0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// The same for secp384r1 (97-byte point).
const P384_SPKI_PREFIX: [u8; 23] = [
    0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x05, 0x2B,
    0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00,
];

impl Curve {
    fn name(self) -> &'static str {
        match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        }
    }

    /// The length of a scalar (and of a coordinate).
    fn field_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }

    /// The signing algorithm *ring* has for this curve: its own hash, DER signatures.
    fn ring_signing(self) -> &'static rs::EcdsaSigningAlgorithm {
        match self {
            Curve::P256 => &rs::ECDSA_P256_SHA256_ASN1_SIGNING,
            Curve::P384 => &rs::ECDSA_P384_SHA384_ASN1_SIGNING,
        }
    }

    /// Whether *ring* makes this signature: P-256 with SHA-256 only. *ring* has no assembly
    /// for P-384, where its signing measured 2.2 times slower than RustCrypto's (743 against
    /// 337 µs, `scripts/bench-crypto.sh`), so P-384 signs through RustCrypto when it is in
    /// the build.
    #[cfg(feature = "ec-arithmetic")]
    fn ring_signs(self, alg: SignatureAlgorithm) -> bool {
        matches!((self, alg), (Curve::P256, SignatureAlgorithm::EcdsaSha256))
    }

    /// Without RustCrypto's arithmetic, *ring* signs with each curve's own hash.
    #[cfg(not(feature = "ec-arithmetic"))]
    fn ring_signs(self, alg: SignatureAlgorithm) -> bool {
        matches!(
            (self, alg),
            (Curve::P256, SignatureAlgorithm::EcdsaSha256)
                | (Curve::P384, SignatureAlgorithm::EcdsaSha384)
        )
    }

    fn spki(self, uncompressed_point: &[u8]) -> Vec<u8> {
        let prefix: &[u8] = match self {
            Curve::P256 => &P256_SPKI_PREFIX,
            Curve::P384 => &P384_SPKI_PREFIX,
        };
        let mut spki = Vec::with_capacity(prefix.len() + uncompressed_point.len());
        spki.extend_from_slice(prefix);
        spki.extend_from_slice(uncompressed_point);
        spki
    }

    /// The uncompressed SEC1 encoding of a point given compressed or uncompressed (checked to
    /// be on the curve).
    #[cfg(feature = "ec-arithmetic")]
    fn uncompressed(self, sec1: &[u8]) -> Option<Vec<u8>> {
        match self {
            Curve::P256 => p256::PublicKey::from_sec1_bytes(sec1)
                .ok()
                .map(|k| k.to_sec1_point(false).as_bytes().to_vec()),
            Curve::P384 => p384::PublicKey::from_sec1_bytes(sec1)
                .ok()
                .map(|k| k.to_sec1_point(false).as_bytes().to_vec()),
        }
    }

    /// The public key of `scalar`, uncompressed (RustCrypto: only for key files without one).
    #[cfg(feature = "ec-arithmetic")]
    fn derive_public(self, scalar: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let bad = |_| invalid_scalar(self);
        Ok(match self {
            Curve::P256 => p256::SecretKey::from_slice(scalar)
                .map_err(bad)?
                .public_key()
                .to_sec1_point(false)
                .as_bytes()
                .to_vec(),
            Curve::P384 => p384::SecretKey::from_slice(scalar)
                .map_err(bad)?
                .public_key()
                .to_sec1_point(false)
                .as_bytes()
                .to_vec(),
        })
    }

    /// A compressed public key stored with a private key, uncompressed.
    #[cfg(feature = "ec-arithmetic")]
    fn stored_public_uncompressed(self, sec1: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.uncompressed(sec1).ok_or_else(|| {
            invalid("the public key stored with the EC private key does not belong to it")
        })
    }

    /// Without RustCrypto's arithmetic, no point is decompressed.
    #[cfg(not(feature = "ec-arithmetic"))]
    fn stored_public_uncompressed(self, _sec1: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Err(not_in_this_build("compressed EC points", "ec-arithmetic"))
    }

    /// Without RustCrypto's arithmetic, no public key is derived.
    #[cfg(not(feature = "ec-arithmetic"))]
    fn derive_public(self, _scalar: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Err(not_in_this_build(
            "EC private keys stored without their public key",
            "ec-arithmetic",
        ))
    }
}

fn invalid(what: impl Into<String>) -> CryptoError {
    CryptoError::InvalidKey(what.into())
}

fn invalid_scalar(curve: Curve) -> CryptoError {
    invalid(format!(
        "the EC private key is not a valid {} scalar",
        curve.name()
    ))
}

fn sign_failed(why: &str) -> CryptoError {
    CryptoError::Backend {
        backend: "software".into(),
        reason: format!("signing failed: {why}"),
    }
}

/// An EC private key: *ring*'s key pair, and the scalar for the RustCrypto fallbacks.
pub(crate) struct EcKey {
    curve: Curve,
    ring: rs::EcdsaKeyPair,
    /// The private scalar, big-endian, left-padded to the field length.
    #[cfg(feature = "ec-arithmetic")]
    scalar: Zeroizing<Vec<u8>>,
}

impl EcKey {
    /// A key from its scalar (big-endian, as in an `ECPrivateKey`) and the public key stored
    /// with it, if any (SEC1, compressed or not). A stored public key must be the scalar's;
    /// a missing one is derived (`ec-arithmetic`).
    pub(crate) fn new(
        curve: Curve,
        scalar: &[u8],
        stored_public: Option<&[u8]>,
    ) -> Result<Self, CryptoError> {
        let n = curve.field_len();
        if scalar.is_empty() || scalar.len() > n {
            return Err(invalid_scalar(curve));
        }
        let mut padded = Zeroizing::new(vec![0u8; n]);
        padded[n - scalar.len()..].copy_from_slice(scalar);
        let point = match stored_public {
            Some(p) if p.first() == Some(&0x04) => p.to_vec(),
            Some(p) => curve.stored_public_uncompressed(p)?,
            None => curve.derive_public(&padded)?,
        };
        let ring = rs::EcdsaKeyPair::from_private_key_and_public_key(
            curve.ring_signing(),
            &padded,
            &point,
            &ring::rand::SystemRandom::new(),
        )
        .map_err(|e| match e.to_string().as_str() {
            "InconsistentComponents" => {
                invalid("the public key stored with the EC private key does not belong to it")
            }
            _ => invalid_scalar(curve),
        })?;
        Ok(EcKey {
            curve,
            ring,
            #[cfg(feature = "ec-arithmetic")]
            scalar: padded,
        })
    }

    /// A fresh key pair, as unencrypted PKCS#8 DER (v1, with the public key) by *ring*.
    pub(crate) fn generate_pkcs8(curve: Curve) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let doc = rs::EcdsaKeyPair::generate_pkcs8(
            curve.ring_signing(),
            &ring::rand::SystemRandom::new(),
        )
        .map_err(|_| CryptoError::Backend {
            backend: "software".into(),
            reason: format!("{} key generation failed", curve.name()),
        })?;
        Ok(Zeroizing::new(doc.as_ref().to_vec()))
    }

    /// The `SubjectPublicKeyInfo` DER.
    pub(crate) fn spki(&self) -> Vec<u8> {
        self.curve.spki(self.ring.public_key().as_ref())
    }

    /// A DER ECDSA signature of `message` with `alg`'s hash.
    pub(crate) fn sign(
        &self,
        alg: SignatureAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        if self.curve.ring_signs(alg) {
            let sig = self
                .ring
                .sign(&ring::rand::SystemRandom::new(), message)
                .map_err(|_| sign_failed("ring refused to sign"))?;
            return Ok(sig.as_ref().to_vec());
        }
        self.sign_with_rustcrypto(alg, message)
    }

    /// Another hash than the curve's, or P-384: RustCrypto (RFC 6979 nonces).
    #[cfg(feature = "ec-arithmetic")]
    fn sign_with_rustcrypto(
        &self,
        alg: SignatureAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let hash = digest_bytes(alg.digest(), message)?;
        let bad = |_| invalid_scalar(self.curve);
        let failed = |e: ecdsa::Error| sign_failed(&e.to_string());
        Ok(match self.curve {
            Curve::P256 => {
                let k = p256::ecdsa::SigningKey::from_slice(&self.scalar).map_err(bad)?;
                let sig: p256::ecdsa::DerSignature = k.sign_prehash(&hash).map_err(failed)?;
                sig.as_bytes().to_vec()
            }
            Curve::P384 => {
                let k = p384::ecdsa::SigningKey::from_slice(&self.scalar).map_err(bad)?;
                let sig: p384::ecdsa::DerSignature = k.sign_prehash(&hash).map_err(failed)?;
                sig.as_bytes().to_vec()
            }
        })
    }

    #[cfg(not(feature = "ec-arithmetic"))]
    fn sign_with_rustcrypto(
        &self,
        alg: SignatureAlgorithm,
        _message: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        Err(not_in_this_build(
            &format!("ECDSA {} signatures with {alg}", self.curve.name()),
            "ec-arithmetic",
        ))
    }

    /// The raw ECDH shared secret with `peer_point` (SEC1), RustCrypto.
    #[cfg(feature = "ec-arithmetic")]
    pub(crate) fn agree(&self, peer_point: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let bad_point = |_| invalid("the peer's public key is not on the curve");
        let bad = |_| invalid_scalar(self.curve);
        Ok(match self.curve {
            Curve::P256 => {
                let peer = p256::PublicKey::from_sec1_bytes(peer_point).map_err(bad_point)?;
                let secret = p256::SecretKey::from_slice(&self.scalar).map_err(bad)?;
                let shared =
                    p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
                Zeroizing::new(shared.raw_secret_bytes().to_vec())
            }
            Curve::P384 => {
                let peer = p384::PublicKey::from_sec1_bytes(peer_point).map_err(bad_point)?;
                let secret = p384::SecretKey::from_slice(&self.scalar).map_err(bad)?;
                let shared =
                    p384::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine());
                Zeroizing::new(shared.raw_secret_bytes().to_vec())
            }
        })
    }
}

/// Without RustCrypto's arithmetic, there is no ECDH.
#[cfg(not(feature = "ec-arithmetic"))]
impl EcKey {
    pub(crate) fn agree(&self, _peer_point: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        Err(not_in_this_build("ECDH key agreement", "ec-arithmetic"))
    }
}

/// Verifies an ECDSA signature (DER) by the public key `point` (SEC1) of a `spec` key.
pub(crate) fn verify(
    spec: KeySpec,
    point: &[u8],
    alg: SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let curve = match spec {
        KeySpec::EcP256 => Curve::P256,
        KeySpec::EcP384 => Curve::P384,
        other => return Err(key_mismatch(alg, other)),
    };
    let ring_alg: Option<&'static rs::EcdsaVerificationAlgorithm> = match (curve, alg) {
        (Curve::P256, SignatureAlgorithm::EcdsaSha256) => Some(&rs::ECDSA_P256_SHA256_ASN1),
        (Curve::P256, SignatureAlgorithm::EcdsaSha384) => Some(&rs::ECDSA_P256_SHA384_ASN1),
        (Curve::P384, SignatureAlgorithm::EcdsaSha256) => Some(&rs::ECDSA_P384_SHA256_ASN1),
        (Curve::P384, SignatureAlgorithm::EcdsaSha384) => Some(&rs::ECDSA_P384_SHA384_ASN1),
        _ => None,
    };
    if let (Some(ring_alg), Some(0x04)) = (ring_alg, point.first()) {
        if rs::UnparsedPublicKey::new(ring_alg, point)
            .verify(message, signature)
            .is_ok()
        {
            return Ok(());
        }
        return Err(why_ring_refused(curve, point));
    }
    verify_with_rustcrypto(curve, point, alg, message, signature)
}

/// *ring* does not say why a signature failed; a point off the curve is a bad key, the rest
/// a bad signature.
#[cfg(feature = "ec-arithmetic")]
fn why_ring_refused(curve: Curve, point: &[u8]) -> CryptoError {
    match curve.uncompressed(point) {
        Some(_) => CryptoError::BadSignature,
        None => invalid(format!("not a {} point", curve.name())),
    }
}

/// Without RustCrypto's arithmetic, a point of the wrong length is a bad key; whether a point
/// of the right length lies on the curve is not told apart from a bad signature.
#[cfg(not(feature = "ec-arithmetic"))]
fn why_ring_refused(curve: Curve, point: &[u8]) -> CryptoError {
    if point.len() == 1 + 2 * curve.field_len() {
        CryptoError::BadSignature
    } else {
        invalid(format!("not a {} point", curve.name()))
    }
}

/// A signature *ring* does not verify: another hash than SHA-256/SHA-384, or a compressed
/// point.
#[cfg(not(feature = "ec-arithmetic"))]
fn verify_with_rustcrypto(
    curve: Curve,
    point: &[u8],
    alg: SignatureAlgorithm,
    _message: &[u8],
    _signature: &[u8],
) -> Result<(), CryptoError> {
    if point.first() != Some(&0x04) {
        return Err(not_in_this_build("compressed EC points", "ec-arithmetic"));
    }
    Err(not_in_this_build(
        &format!("ECDSA {} signatures with {alg}", curve.name()),
        "ec-arithmetic",
    ))
}

#[cfg(feature = "ec-arithmetic")]
fn verify_with_rustcrypto(
    curve: Curve,
    point: &[u8],
    alg: SignatureAlgorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let bad = |_| CryptoError::BadSignature;
    let not_a_point = |_| invalid(format!("not a {} point", curve.name()));
    let hash = digest_bytes(alg.digest(), message)?;
    match curve {
        Curve::P256 => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(not_a_point)?;
            let sig = p256::ecdsa::DerSignature::try_from(signature).map_err(bad)?;
            key.verify_prehash(&hash, &sig).map_err(bad)
        }
        Curve::P384 => {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(not_a_point)?;
            let sig = p384::ecdsa::DerSignature::try_from(signature).map_err(bad)?;
            key.verify_prehash(&hash, &sig).map_err(bad)
        }
    }
}
