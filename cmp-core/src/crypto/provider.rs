//! The crypto backend traits, shaped like rustls' `CryptoProvider`: the application builds a
//! [`CryptoProvider`] value and passes it in; nothing is global.
//!
//! **Stable edges.** These traits are what a backend — built in, an integrator's own, or a
//! dynamic plugin — implements, so they speak DER bytes and this crate's own small types
//! ([`KeySpec`], [`SignatureAlgorithm`], [`DigestAlgorithm`]), never a type of the ASN.1
//! library the core uses: upgrading that library is not a break for backends. The protocol
//! code decodes what it needs (see [`crate::crypto::public_key_info`]).

use std::fmt::Debug;
use std::sync::Arc;
use std::time::SystemTime;

use zeroize::Zeroizing;

use super::DecryptionAlgorithm;
use super::algorithms::{DigestAlgorithm, KeySpec, SignatureAlgorithm};
use crate::error::CryptoError;

/// Synchronous primitives: hashing, HMAC, PBKDF2, randomness and signature verification.
///
/// Public keys and shared secrets live in memory, so these never need to wait; the expensive
/// ones (PBKDF2 with a million iterations) are run off the async worker threads by the driver.
pub trait Primitives: Send + Sync + Debug {
    /// Hash of `data`.
    fn digest(&self, alg: DigestAlgorithm, data: &[u8]) -> Result<Vec<u8>, CryptoError>;

    /// PBM's one-way function iterated (RFC 9810 §5.1.3.1): the hash of `input`, then the
    /// hash of that hash, and so on — `iterations` hashes in all (one when `iterations` is 0
    /// or 1). The default calls [`Primitives::digest`] per round; a backend may hash in place
    /// instead, with no allocation per round (PBM's usual 500 rounds are most of the hashing
    /// of a PBM-protected exchange). Every intermediate value is as secret as the result.
    fn digest_iterated(
        &self,
        alg: DigestAlgorithm,
        input: &[u8],
        iterations: u32,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let mut out = Zeroizing::new(self.digest(alg, input)?);
        for _ in 1..iterations {
            out = Zeroizing::new(self.digest(alg, &out)?);
        }
        Ok(out)
    }

    /// HMAC (RFC 2104) of `data` keyed with `key`, over the hash `alg`.
    fn hmac(&self, alg: DigestAlgorithm, key: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError>;

    /// PBKDF2 (RFC 8018 §5.2) with HMAC over `prf`, filling `out`.
    fn pbkdf2_hmac(
        &self,
        prf: DigestAlgorithm,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
        out: &mut [u8],
    ) -> Result<(), CryptoError>;

    /// Fills `out` with cryptographically secure random bytes.
    fn fill_random(&self, out: &mut [u8]) -> Result<(), CryptoError>;

    /// Checks `signature` over `message` with the public key `spki` (a DER
    /// `SubjectPublicKeyInfo`).
    ///
    /// ECDSA signatures are DER `Ecdsa-Sig-Value`, RSA and Ed25519 signatures raw, as in X.509
    /// and CMP. Returns [`CryptoError::BadSignature`] when the signature does not verify and
    /// [`CryptoError::InvalidKey`] when `spki` is not a key of a supported kind.
    fn verify_signature(
        &self,
        spki: &[u8],
        alg: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError>;
}

/// A private key the backend holds; software keys live in memory, hardware keys stay in
/// their token and this is only a handle.
#[async_trait::async_trait]
pub trait PrivateKey: Send + Sync + Debug {
    /// The public half: a DER `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7).
    fn public_key(&self) -> &[u8];

    /// What kind of key it is.
    fn spec(&self) -> KeySpec;

    /// Where the key can be found again (for example a PKCS#11 URI), if it lives outside the
    /// process; `None` for in-memory keys.
    fn locator(&self) -> Option<String> {
        None
    }

    /// The key as unencrypted PKCS#8 DER, for keys that may leave the backend; `None` for
    /// non-exportable (hardware) keys.
    fn to_pkcs8_der(&self) -> Option<Zeroizing<Vec<u8>>> {
        None
    }

    /// Signs `message` (the backend hashes it as `alg` says). ECDSA signatures come back as DER
    /// `Ecdsa-Sig-Value`.
    async fn sign(&self, alg: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, CryptoError>;

    /// Decrypts `ciphertext` (an optional capability: for an encrypted certificate or a
    /// centrally generated key sent to this key). A backend or key that cannot refuses with
    /// [`CryptoError::NotCapable`] — the default.
    async fn decrypt(
        &self,
        alg: DecryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let _ = ciphertext;
        Err(CryptoError::NotCapable {
            capability: "decrypt",
            key: self.spec().to_string(),
            reason: format!("its backend offers no decryption ({alg})"),
        })
    }

    /// The raw shared secret of key agreement with `peer` (a DER SubjectPublicKeyInfo of the
    /// same kind of key): for ECDH the x-coordinate of the shared point (RFC 5753's input to
    /// its KDF). An optional capability: a backend or key that cannot refuses with
    /// [`CryptoError::NotCapable`] — the default.
    async fn key_agreement(&self, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let _ = peer;
        Err(CryptoError::NotCapable {
            capability: "agree on a key",
            key: self.spec().to_string(),
            reason: "its backend offers no key agreement".into(),
        })
    }
}

/// How to find an existing key.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum KeyLocator {
    /// An encoded key: PEM or DER PKCS#8 (also encrypted, with `password`), SEC1 or PKCS#1.
    Encoded {
        /// The bytes.
        data: Zeroizing<Vec<u8>>,
        /// The password of an encrypted PKCS#8 key.
        password: Option<Zeroizing<Vec<u8>>>,
    },
    /// A URI such as `pkcs11:token=dev;object=device-key` (RFC 7512).
    Uri(String),
}

/// Key generation and loading: the part an HSM backend replaces.
#[async_trait::async_trait]
pub trait KeyProvider: Send + Sync + Debug {
    /// The backend's name, e.g. `software` or `pkcs11`.
    fn name(&self) -> &str;

    /// Generates a key pair.
    async fn generate(&self, spec: KeySpec) -> Result<Arc<dyn PrivateKey>, CryptoError>;

    /// Loads an existing key.
    async fn load(&self, locator: &KeyLocator) -> Result<Arc<dyn PrivateKey>, CryptoError>;

    /// Generates a key pair the backend keeps under `label` (a token's object label), so that
    /// it can be loaded again by its [`PrivateKey::locator`]. A backend that keeps no keys of
    /// its own refuses with [`CryptoError::UnsupportedAlgorithm`] (the default).
    async fn generate_labelled(
        &self,
        spec: KeySpec,
        label: &str,
    ) -> Result<Arc<dyn PrivateKey>, CryptoError> {
        let _ = (spec, label);
        Err(CryptoError::UnsupportedAlgorithm(format!(
            "the {} backend cannot keep a key under a label",
            self.name()
        )))
    }

    /// Destroys a key the backend keeps (a token's private key and its public half), named
    /// by its [`PrivateKey::locator`]: `Ok(true)` when it was destroyed, `Ok(false)` when the
    /// backend holds no such key (already removed), so that a retried removal succeeds. A
    /// locator that names more than one key is refused, never half-applied. A backend that
    /// keeps no keys of its own refuses with [`CryptoError::NotCapable`] (the default): its
    /// keys are files, which the application removes.
    async fn delete(&self, locator: &KeyLocator) -> Result<bool, CryptoError> {
        let _ = locator;
        Err(CryptoError::NotCapable {
            capability: "be deleted by its backend",
            key: self.name().to_owned(),
            reason: format!(
                "the {} backend keeps no keys of its own; remove the key's file",
                self.name()
            ),
        })
    }
}

/// Which certificates of a path must be shown not revoked by a CRL (`openssl`'s `-crl_check`
/// and `-crl_check_all`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RevocationCheck {
    /// No revocation checking.
    #[default]
    None,
    /// The end entity only: a CRL from its issuer must be among the policy's CRLs, current,
    /// correctly signed, and must not list it.
    EndEntity,
    /// Every certificate of the path but the trust anchor, as for the end entity.
    All,
}

/// What a certificate path must satisfy besides chaining to an anchor at a time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathPolicy {
    /// An extended key usage the end entity must carry if it has the EKU extension at all
    /// (`None`: any EKU, or none, is fine): the OID's DER content octets, without tag and
    /// length — e.g. [`crate::crypto::EKU_CMC_RA`].
    pub required_eku: Option<Vec<u8>>,
    /// Which certificates must be checked against [`PathPolicy::crls`].
    pub revocation: RevocationCheck,
    /// Certificate revocation lists (DER `CertificateList`s) for [`PathPolicy::revocation`].
    /// A CRL past its nextUpdate, or whose signature does not verify with its issuer's key,
    /// fails the path.
    pub crls: Vec<Vec<u8>>,
}

/// Certificate path validation: from an end entity through untrusted intermediates to one of
/// the trust anchors, at the given time.
///
/// Implementations check signatures, validity periods, basic constraints and the
/// [`PathPolicy`]. The end entity's keyUsage bits are *not* checked here: what a CMP signer
/// needs (digitalSignature) is checked by the protocol code over the certificate itself.
pub trait CertPathVerifier: Send + Sync + Debug {
    /// Validates the path; `Ok` means it chains to one of `anchors`. Every certificate is
    /// DER, as received.
    fn verify_path(
        &self,
        end_entity: &[u8],
        intermediates: &[&[u8]],
        anchors: &[&[u8]],
        now: SystemTime,
        policy: &PathPolicy,
    ) -> Result<(), CryptoError>;
}

/// The crypto an application chose: primitives, keys and path validation.
///
/// A hardware backend replaces `keys` and takes the rest from the software backend:
/// `CryptoProvider { keys: Arc::new(MyHsm::new()), ..software_provider() }`.
#[derive(Clone, Debug)]
pub struct CryptoProvider {
    /// Hashing, MACs, PBKDF2, randomness, verification.
    pub primitives: Arc<dyn Primitives>,
    /// Key generation, loading and signing.
    pub keys: Arc<dyn KeyProvider>,
    /// Certificate path validation.
    pub paths: Arc<dyn CertPathVerifier>,
}
