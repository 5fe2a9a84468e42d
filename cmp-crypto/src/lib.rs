//! # cmp-crypto
//!
//! Crypto backends for the CMP toolkit. A product team picks the backend its device needs and
//! hands a [`CryptoProvider`](cmp_core::crypto::CryptoProvider) to the client; the protocol code
//! in `cmp-core` never sees the difference.
//!
//! - [`software`] (feature `software`, default): RustCrypto for hashing, HMAC, PBKDF2 and
//!   Ed25519; EC P-256/P-384 key generation, ECDSA signing with the curve's hash and ECDSA
//!   verification go through *ring* (constant-time, assembly for P-256, static tables:
//!   nothing built at first use), RustCrypto's EC arithmetic (feature `ec-arithmetic`)
//!   covering P-384 signing (faster than *ring*'s), the other hashes, compressed points, ECDH
//!   and key files without their public key; RSA signing and verification go through *ring*,
//!   whose RSA is constant-time (the `rsa` crate, which still carries RUSTSEC-2023-0071, the
//!   Marvin timing leak, is used only to generate RSA keys, where nothing secret is exposed
//!   to a timing observer). *ring* does not zeroize its key objects when they are dropped.
//!
//!   Feature `software` is `software-core` plus `ec-arithmetic`, `ed25519` (Ed25519 keys and
//!   Ed25519-signed certificates), `rsa-keygen` (generating RSA keys), `encrypted-pkcs8`
//!   (encrypted key files) and `precomputed-tables` (RustCrypto's P-256/P-384 basepoint
//!   tables). A build with `software-core` alone (the minimal agent's) answers a request for a
//!   part it left out with
//!   [`CryptoError::NotInBuild`](cmp_core::CryptoError::NotInBuild) naming the feature ("Ed25519 keys: not in this build (cmp-crypto feature `ed25519`)").
//! - `pkcs11` (feature `pkcs11`): keys generated and used inside a PKCS#11 token (HSM,
//!   SoftHSM2), named by PKCS#11 URI; everything but key storage and signing is inherited from
//!   the software backend.
//! - `aws_lc` (feature `aws-lc`): AWS-LC through aws-lc-rs for hashing, HMAC, PBKDF2,
//!   randomness, verification, key generation (EC P-256/P-384, Ed25519, RSA 2048–8192) and
//!   signing; keys are decoded by the software backend and path validation is
//!   [`webpki_paths`]. Building it compiles AWS-LC from C source (a C compiler is needed, CMake
//!   is not).
//! - [`webpki_paths`]: certificate path validation with rustls-webpki, with CRL checking.
//! - [`fs`]: the workspace's one atomic file writer (keys, certificates, saved messages).
//! - [`secret`]: secrets from `pass:`, `env:` or `file:`, zeroized.
//!
//! ```
//! use cmp_core::crypto::{DigestAlgorithm, KeySpec, SignatureAlgorithm};
//! # async fn demo() -> Result<(), cmp_core::Error> {
//! let provider = cmp_crypto::default_provider();
//! let key = provider.keys.generate(KeySpec::EcP256).await?;
//! let sig = key.sign(SignatureAlgorithm::EcdsaSha256, b"hello").await?;
//! provider.primitives.verify_signature(
//!     key.public_key(), SignatureAlgorithm::EcdsaSha256, b"hello", &sig)?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

#[cfg(feature = "aws-lc")]
pub mod aws_lc;
pub mod fs;
#[cfg(feature = "pkcs11")]
pub mod pkcs11;
pub mod secret;
#[cfg(feature = "software-core")]
pub mod software;
#[cfg(feature = "software-core")]
pub mod webpki_paths;

/// The default provider: the software backend with rustls-webpki path validation.
#[cfg(feature = "software-core")]
pub fn default_provider() -> cmp_core::crypto::CryptoProvider {
    software::provider()
}
