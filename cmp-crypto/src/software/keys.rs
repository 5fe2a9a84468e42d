//! Keys held in memory: generated, or loaded from PEM/DER (PKCS#8, encrypted PKCS#8, SEC1,
//! PKCS#1).

use std::fmt;
use std::sync::Arc;

use cmp_core::CryptoError;
use cmp_core::crypto::{
    DecryptionAlgorithm, KeyLocator, KeyProvider, KeySpec, PrivateKey, SignatureAlgorithm,
};
#[cfg(feature = "ed25519")]
use ed25519_dalek::Signer;
#[cfg(feature = "ed25519")]
use pkcs8::DecodePrivateKey;
#[cfg(feature = "rsa-keygen")]
use pkcs8::EncodePrivateKey;
#[cfg(feature = "ed25519")]
use pkcs8::EncodePublicKey;
use pkcs8::der::Encode;
use pkcs8::der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, OctetStringRef};
use pkcs8::spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use zeroize::Zeroizing;

use super::ec::{Curve, EcKey};
#[cfg(not(all(
    feature = "ed25519",
    feature = "rsa-keygen",
    feature = "encrypted-pkcs8",
    feature = "ec-arithmetic"
)))]
use super::not_in_this_build;
#[cfg(feature = "ed25519")]
use super::primitives::SoftwarePrimitives;
use super::spki;

enum Inner {
    /// P-256 or P-384.
    Ec(EcKey),
    #[cfg(feature = "ed25519")]
    Ed25519(ed25519_dalek::SigningKey),
    Rsa(ring::rsa::KeyPair),
}

/// A private key in memory.
pub struct SoftwareKey {
    inner: Inner,
    spec: KeySpec,
    /// The public key, DER `SubjectPublicKeyInfo`.
    public_key: Vec<u8>,
    pkcs8: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareKey")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

fn invalid(what: impl fmt::Display) -> CryptoError {
    CryptoError::InvalidKey(what.to_string())
}

/// `id-ecPublicKey` (RFC 5480).
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// `secp256r1` (P-256).
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// `secp384r1` (P-384).
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// `rsaEncryption` (RFC 8017).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// The `AlgorithmIdentifier` of RSA keys: `rsaEncryption` with NULL parameters.
fn rsa_algorithm() -> AlgorithmIdentifierRef<'static> {
    AlgorithmIdentifierRef {
        oid: RSA_ENCRYPTION,
        parameters: Some(AnyRef::NULL),
    }
}

/// PKCS#8 v1 `PrivateKeyInfo` DER around the private key `key` of `algorithm`.
fn wrap_pkcs8(
    algorithm: AlgorithmIdentifierRef<'_>,
    key: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let key = OctetStringRef::new(key).map_err(invalid)?;
    let info = pkcs8::PrivateKeyInfoRef::new(algorithm, key);
    // `to_der` sizes the output first: the key is written into one allocation.
    Ok(Zeroizing::new(info.to_der().map_err(invalid)?))
}

#[cfg(feature = "ed25519")]
fn random_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>, CryptoError> {
    use cmp_core::crypto::Primitives;
    let mut out = Zeroizing::new([0u8; N]);
    SoftwarePrimitives.fill_random(out.as_mut())?;
    Ok(out)
}

impl SoftwareKey {
    /// Generates a key pair.
    pub fn generate(spec: KeySpec) -> Result<Self, CryptoError> {
        let pkcs8 = match spec {
            // ring: a scalar drawn in range, the public key with its static tables.
            KeySpec::EcP256 => EcKey::generate_pkcs8(Curve::P256)?.to_vec(),
            KeySpec::EcP384 => EcKey::generate_pkcs8(Curve::P384)?.to_vec(),
            #[cfg(feature = "ed25519")]
            KeySpec::Ed25519 => {
                let seed = random_bytes::<32>()?;
                ed25519_pkcs8_v1(&seed).to_vec()
            }
            #[cfg(not(feature = "ed25519"))]
            KeySpec::Ed25519 => return Err(not_in_this_build("Ed25519 keys", "ed25519")),
            #[cfg(feature = "rsa-keygen")]
            KeySpec::Rsa(bits @ (2048 | 3072 | 4096)) => {
                let key =
                    rsa::PrivateKey::new(&mut getrandom::SysRng, bits as usize).map_err(|e| {
                        CryptoError::Backend {
                            backend: "software".into(),
                            reason: format!("RSA key generation failed: {e}"),
                        }
                    })?;
                key.to_pkcs8_der().map_err(invalid)?.to_bytes().to_vec()
            }
            #[cfg(not(feature = "rsa-keygen"))]
            KeySpec::Rsa(2048 | 3072 | 4096) => {
                return Err(not_in_this_build("RSA key generation", "rsa-keygen"));
            }
            other => {
                return Err(CryptoError::UnsupportedAlgorithm(format!(
                    "key type {other}"
                )));
            }
        };
        Self::from_pkcs8_der(&pkcs8)
    }

    /// A key from unencrypted PKCS#8 DER (`PrivateKeyInfo` / `OneAsymmetricKey`).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        let info = pkcs8::PrivateKeyInfoRef::try_from(der)
            .map_err(|e| invalid(format!("not a PKCS#8 private key: {e}")))?;
        let (inner, spki_der) = match Pkcs8Kind::of(&info)? {
            // ring checks the stored public key against the scalar (deriving it with its static
            // tables); a key file without one has it derived (RustCrypto).
            Pkcs8Kind::EcP256 => {
                let ec = ec_private_key(&info, "1.2.840.10045.3.1.7")?;
                let k = EcKey::new(Curve::P256, ec.private_key, ec.public_key)?;
                let spki = k.spki();
                (Inner::Ec(k), spki)
            }
            Pkcs8Kind::EcP384 => {
                let ec = ec_private_key(&info, "1.3.132.0.34")?;
                let k = EcKey::new(Curve::P384, ec.private_key, ec.public_key)?;
                let spki = k.spki();
                (Inner::Ec(k), spki)
            }
            #[cfg(feature = "ed25519")]
            Pkcs8Kind::Ed25519 => {
                let k = ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(invalid)?;
                let spki = k.verifying_key().to_public_key_der().map_err(invalid)?;
                (Inner::Ed25519(k), spki.to_vec())
            }
            #[cfg(not(feature = "ed25519"))]
            Pkcs8Kind::Ed25519 => return Err(not_in_this_build("Ed25519 keys", "ed25519")),
            Pkcs8Kind::Rsa => {
                let k = ring::rsa::KeyPair::from_pkcs8(der)
                    .map_err(|e| invalid(format!("RSA key rejected: {e}")))?;
                let spki = rsa_spki(k.public().as_ref())?;
                (Inner::Rsa(k), spki)
            }
        };
        let spec = KeySpec::of_public_key(&spki::from_der(&spki_der)?)?;
        let pkcs8 = match &inner {
            // Keep the v1 form: OpenSSL 3.0 cannot read a v2 (OneAsymmetricKey) Ed25519 key.
            #[cfg(feature = "ed25519")]
            Inner::Ed25519(k) => ed25519_pkcs8_v1(&k.to_bytes()),
            _ => Zeroizing::new(der.to_vec()),
        };
        Ok(SoftwareKey {
            inner,
            spec,
            public_key: spki_der,
            pkcs8,
        })
    }

    /// A key from PEM or DER: PKCS#8 (encrypted ones need `password`), SEC1 (`EC PRIVATE
    /// KEY`) or PKCS#1 (`RSA PRIVATE KEY`).
    pub fn from_encoded(data: &[u8], password: Option<&[u8]>) -> Result<Self, CryptoError> {
        Self::from_pkcs8_der(&decode_private_key(data, password)?)
    }
}

/// The RFC 5915 `ECPrivateKey` inside a PKCS#8 EC key, its curve parameters (if any) checked
/// against `curve` (the OID of the PKCS#8 algorithm parameters).
fn ec_private_key<'a>(
    info: &pkcs8::PrivateKeyInfoRef<'a>,
    curve: &str,
) -> Result<sec1::EcPrivateKey<'a>, CryptoError> {
    let ec = sec1::EcPrivateKey::try_from(info.private_key.as_bytes())
        .map_err(|e| invalid(format!("malformed EC private key: {e}")))?;
    if let Some(sec1::EcParameters::NamedCurve(oid)) = &ec.parameters {
        if oid.to_string() != curve {
            return Err(invalid(format!(
                "the EC private key names curve {oid}, its PKCS#8 algorithm {curve}"
            )));
        }
    }
    Ok(ec)
}

/// What a PKCS#8 private key is, from its algorithm (and curve): shared by the backends that
/// read PKCS#8, so they accept and refuse the same keys with the same words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pkcs8Kind {
    EcP256,
    EcP384,
    Ed25519,
    Rsa,
}

impl Pkcs8Kind {
    pub(crate) fn of(info: &pkcs8::PrivateKeyInfoRef<'_>) -> Result<Self, CryptoError> {
        let alg = info.algorithm.oid.to_string();
        match alg.as_str() {
            "1.2.840.10045.2.1" => {
                let curve = info
                    .algorithm
                    .parameters_oid()
                    .map(|o| o.to_string())
                    .map_err(|_| invalid("EC key without a named curve"))?;
                match curve.as_str() {
                    "1.2.840.10045.3.1.7" => Ok(Pkcs8Kind::EcP256),
                    "1.3.132.0.34" => Ok(Pkcs8Kind::EcP384),
                    other => Err(CryptoError::UnsupportedAlgorithm(format!(
                        "elliptic curve {other}"
                    ))),
                }
            }
            "1.3.101.112" => Ok(Pkcs8Kind::Ed25519),
            "1.2.840.113549.1.1.1" => Ok(Pkcs8Kind::Rsa),
            other => Err(CryptoError::UnsupportedAlgorithm(format!(
                "private key algorithm {other}"
            ))),
        }
    }
}

/// Any encoding [`SoftwareKey::from_encoded`] accepts, as unencrypted PKCS#8 DER: PEM or DER
/// PKCS#8 (encrypted ones are decrypted with `password`), SEC1 P-256/P-384 or PKCS#1 RSA.
///
/// Only the encoding is converted; whether the key itself is usable is up to the backend that
/// takes the PKCS#8 (the aws-lc backend loads keys through this).
pub(crate) fn decode_private_key(
    data: &[u8],
    password: Option<&[u8]>,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let trimmed = data.trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN") {
        let (label, der) = pkcs8::der::pem::decode_vec(trimmed)
            .map_err(|e| invalid(format!("malformed PEM: {e}")))?;
        let der = Zeroizing::new(der);
        return match label {
            "PRIVATE KEY" => Ok(der),
            "ENCRYPTED PRIVATE KEY" => decrypt_pkcs8(&der, password),
            "EC PRIVATE KEY" => sec1_to_pkcs8(&der),
            "RSA PRIVATE KEY" => pkcs1_to_pkcs8(&der),
            other => Err(invalid(format!(
                "PEM label {other:?} is not a private key (expected PRIVATE KEY, \
                 ENCRYPTED PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)"
            ))),
        };
    }
    if pkcs8::PrivateKeyInfoRef::try_from(data).is_ok() {
        return Ok(Zeroizing::new(data.to_vec()));
    }
    if is_encrypted_pkcs8(data) {
        return decrypt_pkcs8(data, password);
    }
    sec1_to_pkcs8(data)
        .or_else(|_| pkcs1_to_pkcs8(data))
        .map_err(|_| invalid("not a private key in PEM, PKCS#8, SEC1 or PKCS#1 DER"))
}

/// Whether `data` is a DER `EncryptedPrivateKeyInfo`.
#[cfg(feature = "encrypted-pkcs8")]
fn is_encrypted_pkcs8(data: &[u8]) -> bool {
    pkcs8::EncryptedPrivateKeyInfoRef::try_from(data).is_ok()
}

/// Whether `data` is shaped as a DER `EncryptedPrivateKeyInfo` (SEQUENCE { AlgorithmIdentifier,
/// OCTET STRING }), for a build that cannot decrypt one to say so.
#[cfg(not(feature = "encrypted-pkcs8"))]
fn is_encrypted_pkcs8(data: &[u8]) -> bool {
    use pkcs8::der::{Reader, SliceReader, Tag, Tagged, asn1::AnyRef};
    let parse = || -> Result<bool, pkcs8::der::Error> {
        let mut r = SliceReader::new(data)?;
        let shaped = r.sequence(|r| {
            let _alg: pkcs8::spki::AlgorithmIdentifierRef<'_> = r.decode()?;
            let sealed: AnyRef<'_> = r.decode()?;
            Ok::<_, pkcs8::der::Error>(sealed.tag() == Tag::OctetString)
        })?;
        Ok(shaped && r.is_finished())
    };
    parse().unwrap_or(false)
}

#[cfg(feature = "encrypted-pkcs8")]
fn secret_document(doc: pkcs8::SecretDocument) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(doc.as_bytes().to_vec())
}

#[cfg(feature = "encrypted-pkcs8")]
fn decrypt_pkcs8(der: &[u8], password: Option<&[u8]>) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let password = password.ok_or_else(|| {
        invalid("the key is encrypted (ENCRYPTED PRIVATE KEY) and no password was given")
    })?;
    let info = pkcs8::EncryptedPrivateKeyInfoRef::try_from(der)
        .map_err(|e| invalid(format!("malformed encrypted PKCS#8: {e}")))?;
    let plain = info
        .decrypt(password)
        .map_err(|_| invalid("cannot decrypt the key: wrong password or unsupported cipher"))?;
    Ok(secret_document(plain))
}

/// A SEC1 `ECPrivateKey` (RFC 5915) as PKCS#8, unchanged inside: whether the key is
/// usable is checked when the PKCS#8 is loaded.
fn sec1_to_pkcs8(der: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let not_sec1 = || invalid("not a P-256 or P-384 SEC1 EC private key");
    let ec = sec1::EcPrivateKey::try_from(der).map_err(|_| not_sec1())?;
    let curve = match (&ec.parameters, ec.private_key.len()) {
        (Some(sec1::EcParameters::NamedCurve(oid)), _) => *oid,
        // Without parameters, the scalar's length (fixed by RFC 5915) tells the curve.
        (None, 32) => SECP256R1,
        (None, 48) => SECP384R1,
        _ => return Err(not_sec1()),
    };
    if curve != SECP256R1 && curve != SECP384R1 {
        return Err(not_sec1());
    }
    let algorithm = AlgorithmIdentifierRef {
        oid: EC_PUBLIC_KEY,
        parameters: Some(AnyRef::from(&curve)),
    };
    wrap_pkcs8(algorithm, der)
}

/// A PKCS#1 `RSAPrivateKey` as PKCS#8, unchanged inside (its structure is checked here, the
/// key when the PKCS#8 is loaded).
fn pkcs1_to_pkcs8(der: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    pkcs1::RsaPrivateKeyRef::try_from(der)
        .map_err(|e| invalid(format!("not a PKCS#1 RSA private key: {e}")))?;
    wrap_pkcs8(rsa_algorithm(), der)
}

#[cfg(not(feature = "encrypted-pkcs8"))]
fn decrypt_pkcs8(_der: &[u8], _password: Option<&[u8]>) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    Err(not_in_this_build(
        "encrypted PKCS#8 keys (ENCRYPTED PRIVATE KEY)",
        "encrypted-pkcs8",
    ))
}

/// PKCS#8 v1 `PrivateKeyInfo` of an Ed25519 seed (RFC 8410 §7), which every OpenSSL reads.
#[cfg(feature = "ed25519")]
fn ed25519_pkcs8_v1(seed: &[u8; 32]) -> Zeroizing<Vec<u8>> {
    let mut der = Zeroizing::new(Vec::with_capacity(48));
    der.extend_from_slice(&[
        0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ]);
    der.extend_from_slice(seed);
    der
}

/// SubjectPublicKeyInfo DER for a DER RSAPublicKey (as *ring* gives it).
fn rsa_spki(pkcs1: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let spki = SubjectPublicKeyInfoRef {
        algorithm: rsa_algorithm(),
        subject_public_key: BitStringRef::from_bytes(pkcs1).map_err(invalid)?,
    };
    spki.to_der().map_err(invalid)
}

fn sign_failed(e: impl fmt::Display) -> CryptoError {
    CryptoError::Backend {
        backend: "software".into(),
        reason: format!("signing failed: {e}"),
    }
}

#[async_trait::async_trait]
impl PrivateKey for SoftwareKey {
    fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    fn spec(&self) -> KeySpec {
        self.spec
    }

    fn to_pkcs8_der(&self) -> Option<Zeroizing<Vec<u8>>> {
        Some(self.pkcs8.clone())
    }

    async fn sign(&self, alg: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.spec.check_allows(alg)?;
        match &self.inner {
            Inner::Ec(k) => k.sign(alg, message),
            #[cfg(feature = "ed25519")]
            Inner::Ed25519(k) => {
                let sig: ed25519_dalek::Signature = k.try_sign(message).map_err(sign_failed)?;
                Ok(sig.to_bytes().to_vec())
            }
            Inner::Rsa(k) => sign_rsa(k, alg, message),
        }
    }

    async fn decrypt(
        &self,
        alg: DecryptionAlgorithm,
        _ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let reason = match self.inner {
            Inner::Rsa(_) => format!(
                "the software backend does not decrypt with RSA ({alg}): the rsa crate's \
                 private-key operation is not constant-time (RUSTSEC-2023-0071, Marvin) and \
                 ring offers no decryption; use the aws-lc backend or a token"
            ),
            _ => "only RSA keys decrypt".into(),
        };
        Err(CryptoError::NotCapable {
            capability: "decrypt",
            key: self.spec.to_string(),
            reason,
        })
    }

    async fn key_agreement(&self, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let not_capable = |reason: &str| CryptoError::NotCapable {
            capability: "agree on a key",
            key: self.spec.to_string(),
            reason: reason.into(),
        };
        let peer_info = cmp_core::crypto::public_key_info(peer)?;
        if KeySpec::of_public_key(&peer_info)? != self.spec {
            return Err(CryptoError::KeyMismatch(format!(
                "key agreement needs a peer key of the same kind ({})",
                self.spec
            )));
        }
        let point = peer_info.subject_public_key.as_raw_slice();
        match &self.inner {
            Inner::Ec(k) => k.agree(point),
            #[cfg(feature = "ed25519")]
            Inner::Ed25519(_) => Err(not_capable("Ed25519 is a signature-only key")),
            Inner::Rsa(_) => Err(not_capable("RSA keys do not agree on keys")),
        }
    }
}

/// RSA signing through *ring* (constant-time; see the crate documentation).
fn sign_rsa(
    key: &ring::rsa::KeyPair,
    alg: SignatureAlgorithm,
    message: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    use ring::signature as rs;
    let padding: &'static dyn rs::RsaEncoding = match alg {
        SignatureAlgorithm::RsaPkcs1Sha256 => &rs::RSA_PKCS1_SHA256,
        SignatureAlgorithm::RsaPkcs1Sha384 => &rs::RSA_PKCS1_SHA384,
        SignatureAlgorithm::RsaPkcs1Sha512 => &rs::RSA_PKCS1_SHA512,
        SignatureAlgorithm::RsaPssSha256 => &rs::RSA_PSS_SHA256,
        SignatureAlgorithm::RsaPssSha384 => &rs::RSA_PSS_SHA384,
        SignatureAlgorithm::RsaPssSha512 => &rs::RSA_PSS_SHA512,
        other => {
            return Err(CryptoError::UnsupportedAlgorithm(format!(
                "{other} with RSA"
            )));
        }
    };
    let mut sig = vec![0u8; key.public().modulus_len()];
    key.sign(padding, &ring::rand::SystemRandom::new(), message, &mut sig)
        .map_err(|_| sign_failed("ring refused to sign"))?;
    Ok(sig)
}

/// The software [`KeyProvider`]: generates keys in memory and loads encoded ones.
#[derive(Clone, Copy, Debug, Default)]
pub struct SoftwareKeys;

#[async_trait::async_trait]
impl KeyProvider for SoftwareKeys {
    fn name(&self) -> &str {
        "software"
    }

    async fn generate(&self, spec: KeySpec) -> Result<Arc<dyn PrivateKey>, CryptoError> {
        Ok(Arc::new(SoftwareKey::generate(spec)?))
    }

    async fn load(&self, locator: &KeyLocator) -> Result<Arc<dyn PrivateKey>, CryptoError> {
        match locator {
            KeyLocator::Encoded { data, password } => Ok(Arc::new(SoftwareKey::from_encoded(
                data,
                password.as_ref().map(|p| p.as_slice()),
            )?)),
            KeyLocator::Uri(uri) => Err(CryptoError::UnsupportedAlgorithm(format!(
                "the software backend cannot open {uri:?}; use the pkcs11 backend for pkcs11: URIs"
            ))),
            _ => Err(CryptoError::UnsupportedAlgorithm("key locator".into())),
        }
    }
}

#[cfg(all(test, feature = "ed25519"))]
mod tests {
    use super::*;

    #[test]
    fn an_ed25519_key_read_as_pkcs8_v2_is_kept_as_v1() {
        // v2 (OneAsymmetricKey, with the public key) as ed25519-dalek writes it.
        let k = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let v2 = k.to_pkcs8_der().expect("v2");
        let info = pkcs8::PrivateKeyInfoRef::try_from(v2.as_bytes()).expect("parse");
        assert!(info.public_key.is_some(), "the input is v2");
        let key = SoftwareKey::from_pkcs8_der(v2.as_bytes()).expect("load");
        let out = key.to_pkcs8_der().expect("export");
        assert_eq!(out.as_slice(), ed25519_pkcs8_v1(&[7u8; 32]).as_slice());
        assert_eq!(Pkcs8Kind::of(&info), Ok(Pkcs8Kind::Ed25519));
    }
}
