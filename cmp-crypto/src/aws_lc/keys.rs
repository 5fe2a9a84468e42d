//! Keys held in memory by AWS-LC: generated, or loaded from PEM/DER (PKCS#8, encrypted
//! PKCS#8, SEC1, PKCS#1).

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    self as sig, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair, RsaKeyPair,
};
use aws_lc_rs::{digest, error::KeyRejected};
use cmp_core::CryptoError;
use cmp_core::crypto::{
    DecryptionAlgorithm, DigestAlgorithm, KeyLocator, KeyProvider, KeySpec, PrivateKey,
    SignatureAlgorithm,
};
use zeroize::Zeroizing;

use super::primitives::digest_algorithm;
use super::{NAME, backend};

enum Inner {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A private key in memory, used through AWS-LC.
pub struct AwsLcKey {
    inner: Inner,
    spec: KeySpec,
    /// The public key, DER `SubjectPublicKeyInfo`.
    public_key: Vec<u8>,
    pkcs8: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for AwsLcKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsLcKey")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

fn rejected(what: &str) -> impl Fn(KeyRejected) -> CryptoError + '_ {
    move |e| CryptoError::InvalidKey(format!("AWS-LC rejected the {what} key: {e}"))
}

fn generation_failed(spec: KeySpec) -> impl Fn(aws_lc_rs::error::Unspecified) -> CryptoError {
    move |_| backend(format!("{spec} key generation failed"))
}

fn export_failed(spec: KeySpec) -> impl Fn(aws_lc_rs::error::Unspecified) -> CryptoError {
    move |_| backend(format!("cannot encode the {spec} key as PKCS#8"))
}

/// The curve's signing algorithm (its own hash) for a P-256 or P-384 key.
fn ecdsa_signing(spec: KeySpec) -> Result<&'static EcdsaSigningAlgorithm, CryptoError> {
    match spec {
        KeySpec::EcP256 => Ok(&sig::ECDSA_P256_SHA256_ASN1_SIGNING),
        KeySpec::EcP384 => Ok(&sig::ECDSA_P384_SHA384_ASN1_SIGNING),
        other => Err(CryptoError::UnsupportedAlgorithm(format!(
            "ECDSA with a {other} key"
        ))),
    }
}

/// The hash whose length matches the order of the key's curve.
fn curve_hash(spec: KeySpec) -> DigestAlgorithm {
    match spec {
        KeySpec::EcP384 => DigestAlgorithm::Sha384,
        _ => DigestAlgorithm::Sha256,
    }
}

impl AwsLcKey {
    /// Generates a key pair: EC P-256 or P-384, Ed25519, or RSA with 2048, 3072, 4096 or 8192
    /// bits.
    pub fn generate(spec: KeySpec) -> Result<Self, CryptoError> {
        let failed = generation_failed(spec);
        let inner = match spec {
            KeySpec::EcP256 | KeySpec::EcP384 => {
                Inner::Ecdsa(EcdsaKeyPair::generate(ecdsa_signing(spec)?).map_err(&failed)?)
            }
            KeySpec::Ed25519 => Inner::Ed25519(Ed25519KeyPair::generate().map_err(&failed)?),
            KeySpec::Rsa(bits) => {
                let size = match bits {
                    2048 => KeySize::Rsa2048,
                    3072 => KeySize::Rsa3072,
                    4096 => KeySize::Rsa4096,
                    8192 => KeySize::Rsa8192,
                    _ => {
                        return Err(CryptoError::UnsupportedAlgorithm(format!(
                            "key type {spec} (the aws-lc backend generates RSA keys of 2048, \
                             3072, 4096 or 8192 bits)"
                        )));
                    }
                };
                Inner::Rsa(RsaKeyPair::generate(size).map_err(&failed)?)
            }
            other => {
                return Err(CryptoError::UnsupportedAlgorithm(format!(
                    "key type {other}"
                )));
            }
        };
        Self::new(inner)
    }

    /// A key from unencrypted PKCS#8 DER (v1 `PrivateKeyInfo` or v2 `OneAsymmetricKey`).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        let info = pkcs8::PrivateKeyInfoRef::try_from(der)
            .map_err(|e| CryptoError::InvalidKey(format!("not a PKCS#8 private key: {e}")))?;
        use crate::software::Pkcs8Kind;
        let ecdsa = |signing, what| {
            EcdsaKeyPair::from_pkcs8(signing, der)
                .map(Inner::Ecdsa)
                .map_err(rejected(what))
        };
        let inner = match Pkcs8Kind::of(&info)? {
            Pkcs8Kind::EcP256 => ecdsa(&sig::ECDSA_P256_SHA256_ASN1_SIGNING, "P-256")?,
            Pkcs8Kind::EcP384 => ecdsa(&sig::ECDSA_P384_SHA384_ASN1_SIGNING, "P-384")?,
            Pkcs8Kind::Ed25519 => {
                Inner::Ed25519(Ed25519KeyPair::from_pkcs8(der).map_err(rejected("Ed25519"))?)
            }
            Pkcs8Kind::Rsa => Inner::Rsa(RsaKeyPair::from_pkcs8(der).map_err(rejected("RSA"))?),
        };
        Self::new(inner)
    }

    /// A key from PEM or DER: PKCS#8 (encrypted ones need `password`), SEC1 (`EC PRIVATE
    /// KEY`) or PKCS#1 (`RSA PRIVATE KEY`) — the encodings the software backend reads.
    pub fn from_encoded(data: &[u8], password: Option<&[u8]>) -> Result<Self, CryptoError> {
        Self::from_pkcs8_der(&crate::software::decode_private_key(data, password)?)
    }

    fn new(inner: Inner) -> Result<Self, CryptoError> {
        let (spki, pkcs8) = match &inner {
            Inner::Ecdsa(k) => (
                k.public_key().as_der().map(|d| d.as_ref().to_vec()),
                k.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
            ),
            // PKCS#8 v1: OpenSSL 3.0 cannot read a v2 (OneAsymmetricKey) Ed25519 key.
            Inner::Ed25519(k) => (
                k.public_key().as_der().map(|d| d.as_ref().to_vec()),
                k.to_pkcs8v1().map(|d| d.as_ref().to_vec()),
            ),
            Inner::Rsa(k) => (
                k.public_key().as_der().map(|d| d.as_ref().to_vec()),
                AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(k)
                    .map(|d| d.as_ref().to_vec()),
            ),
        };
        let spki = spki.map_err(|_| backend("cannot encode the public key"))?;
        let spec = KeySpec::of_public_key(&cmp_core::crypto::public_key_info(&spki)?)?;
        let pkcs8 = Zeroizing::new(pkcs8.map_err(export_failed(spec))?);
        Ok(AwsLcKey {
            inner,
            spec,
            public_key: spki,
            pkcs8,
        })
    }
}

fn sign_failed(alg: SignatureAlgorithm) -> impl Fn(aws_lc_rs::error::Unspecified) -> CryptoError {
    move |_| backend(format!("AWS-LC failed to sign with {alg}"))
}

/// ECDSA over `message` hashed with `alg`'s hash.
///
/// aws-lc-rs signs only P-256 with SHA-256 and P-384 with SHA-384. For the other hashes the
/// digest is computed here and fitted to the curve's order as ECDSA itself does (SEC 1 §4.1.3
/// step 5, FIPS 186-5 §6.4.1): the leftmost bits of a longer hash, a shorter hash as the same
/// integer (left-padded with zeros). Both curves' orders are whole bytes long (256 and 384
/// bits), so this is exact.
fn sign_ecdsa(
    key: &EcdsaKeyPair,
    spec: KeySpec,
    alg: SignatureAlgorithm,
    message: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let failed = sign_failed(alg);
    let own = curve_hash(spec);
    if alg.digest() == own {
        let sig = key.sign(&SystemRandom::new(), message).map_err(&failed)?;
        return Ok(sig.as_ref().to_vec());
    }
    let hash = digest::digest(digest_algorithm(alg.digest())?, message);
    let hash = hash.as_ref();
    let order_len = own.output_len();
    let mut e = vec![0u8; order_len];
    if hash.len() >= order_len {
        e.copy_from_slice(&hash[..order_len]);
    } else {
        e[order_len - hash.len()..].copy_from_slice(hash);
    }
    let prehash = digest::Digest::import_less_safe(&e, digest_algorithm(own)?).map_err(&failed)?;
    let sig = key.sign_digest(&prehash).map_err(&failed)?;
    Ok(sig.as_ref().to_vec())
}

fn sign_rsa(
    key: &RsaKeyPair,
    alg: SignatureAlgorithm,
    message: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let padding: &'static dyn sig::RsaEncoding = match alg {
        SignatureAlgorithm::RsaPkcs1Sha256 => &sig::RSA_PKCS1_SHA256,
        SignatureAlgorithm::RsaPkcs1Sha384 => &sig::RSA_PKCS1_SHA384,
        SignatureAlgorithm::RsaPkcs1Sha512 => &sig::RSA_PKCS1_SHA512,
        // Salt as long as the hash (aws-lc-rs' default, RSA_PSS_SALTLEN_DIGEST).
        SignatureAlgorithm::RsaPssSha256 => &sig::RSA_PSS_SHA256,
        SignatureAlgorithm::RsaPssSha384 => &sig::RSA_PSS_SHA384,
        SignatureAlgorithm::RsaPssSha512 => &sig::RSA_PSS_SHA512,
        other => {
            return Err(CryptoError::UnsupportedAlgorithm(format!(
                "{other} with RSA"
            )));
        }
    };
    let mut out = vec![0u8; key.public_modulus_len()];
    key.sign(padding, &SystemRandom::new(), message, &mut out)
        .map_err(sign_failed(alg))?;
    Ok(out)
}

#[async_trait::async_trait]
impl PrivateKey for AwsLcKey {
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
            Inner::Ecdsa(k) => sign_ecdsa(k, self.spec, alg, message),
            Inner::Ed25519(k) => Ok(k
                .try_sign(message)
                .map_err(sign_failed(alg))?
                .as_ref()
                .to_vec()),
            Inner::Rsa(k) => sign_rsa(k, alg, message),
        }
    }

    async fn decrypt(
        &self,
        alg: DecryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        use aws_lc_rs::rsa::{self, OaepPrivateDecryptingKey, PrivateDecryptingKey};
        let Inner::Rsa(_) = self.inner else {
            return Err(CryptoError::NotCapable {
                capability: "decrypt",
                key: self.spec.to_string(),
                reason: "only RSA keys decrypt".into(),
            });
        };
        let DecryptionAlgorithm::RsaesOaep(hash) = alg else {
            return Err(CryptoError::UnsupportedAlgorithm(alg.to_string()));
        };
        let oaep = match hash {
            DigestAlgorithm::Sha1 => &rsa::OAEP_SHA1_MGF1SHA1,
            DigestAlgorithm::Sha256 => &rsa::OAEP_SHA256_MGF1SHA256,
            DigestAlgorithm::Sha384 => &rsa::OAEP_SHA384_MGF1SHA384,
            DigestAlgorithm::Sha512 => &rsa::OAEP_SHA512_MGF1SHA512,
            other => {
                return Err(CryptoError::UnsupportedAlgorithm(format!(
                    "RSAES-OAEP with {other:?}"
                )));
            }
        };
        let key = PrivateDecryptingKey::from_pkcs8(&self.pkcs8)
            .map_err(rejected("RSA"))
            .and_then(|k| {
                OaepPrivateDecryptingKey::new(k).map_err(|_| backend("cannot make an RSA-OAEP key"))
            })?;
        let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
        let len = key
            .decrypt(oaep, ciphertext, &mut out, None)
            .map_err(|_| CryptoError::Backend {
                backend: NAME.into(),
                reason: format!("{alg} decryption failed"),
            })?
            .len();
        out.truncate(len);
        Ok(out)
    }

    async fn key_agreement(&self, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        use aws_lc_rs::agreement::{self, UnparsedPublicKey};
        let alg = match self.spec {
            KeySpec::EcP256 => &agreement::ECDH_P256,
            KeySpec::EcP384 => &agreement::ECDH_P384,
            other => {
                return Err(CryptoError::NotCapable {
                    capability: "agree on a key",
                    key: other.to_string(),
                    reason: "only EC P-256 and P-384 keys agree on keys".into(),
                });
            }
        };
        let peer_info = cmp_core::crypto::public_key_info(peer)?;
        if KeySpec::of_public_key(&peer_info)? != self.spec {
            return Err(CryptoError::KeyMismatch(format!(
                "key agreement needs a peer key of the same kind ({})",
                self.spec
            )));
        }
        let own = agreement::PrivateKey::from_private_key_der(alg, &self.pkcs8)
            .map_err(rejected("EC"))?;
        let point = peer_info.subject_public_key.as_raw_slice();
        agreement::agree(
            &own,
            UnparsedPublicKey::new(alg, point),
            CryptoError::InvalidKey("the peer's public key is not on the curve".into()),
            |secret| Ok(Zeroizing::new(secret.to_vec())),
        )
    }
}

/// The aws-lc [`KeyProvider`]: generates keys in memory with AWS-LC and loads encoded ones.
#[derive(Clone, Copy, Debug, Default)]
pub struct AwsLcKeys;

#[async_trait::async_trait]
impl KeyProvider for AwsLcKeys {
    fn name(&self) -> &str {
        NAME
    }

    async fn generate(&self, spec: KeySpec) -> Result<Arc<dyn PrivateKey>, CryptoError> {
        Ok(Arc::new(AwsLcKey::generate(spec)?))
    }

    async fn load(&self, locator: &KeyLocator) -> Result<Arc<dyn PrivateKey>, CryptoError> {
        match locator {
            KeyLocator::Encoded { data, password } => Ok(Arc::new(AwsLcKey::from_encoded(
                data,
                password.as_ref().map(|p| p.as_slice()),
            )?)),
            KeyLocator::Uri(uri) => Err(CryptoError::UnsupportedAlgorithm(format!(
                "the aws-lc backend cannot open {uri:?}; use the pkcs11 backend for pkcs11: URIs"
            ))),
            _ => Err(CryptoError::UnsupportedAlgorithm(
                "this kind of key locator in the aws-lc backend".into(),
            )),
        }
    }
}
