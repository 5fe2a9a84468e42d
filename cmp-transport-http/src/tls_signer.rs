//! A TLS client key held by any key backend ([`PrivateKey`]): rustls asks it to sign the
//! handshake, so the key may stay in a PKCS#11 token (a device's IDevID) or in a plugin.
//!
//! rustls signs synchronously while a key backend signs asynchronously. The signature is
//! made on a short-lived thread with its own single-threaded runtime (timers enabled, for
//! backends that bound their own calls), so no runtime is nested in the caller's; the
//! handshake waits for it, once per connection.

use std::sync::Arc;

use cmp_core::crypto::{KeySpec, PrivateKey, SignatureAlgorithm};
use rustls::client::ResolvesClientCert;
use rustls::pki_types::CertificateDer;
use rustls::sign::{CertifiedKey, Signer, SigningKey};
use rustls::{SignatureScheme, sign};

/// The TLS signature schemes a key of `spec` can make, best first, with the backend's
/// algorithm for each.
fn schemes(spec: KeySpec) -> &'static [(SignatureScheme, SignatureAlgorithm)] {
    use SignatureAlgorithm as A;
    use SignatureScheme as S;
    match spec {
        KeySpec::EcP256 => &[(S::ECDSA_NISTP256_SHA256, A::EcdsaSha256)],
        KeySpec::EcP384 => &[(S::ECDSA_NISTP384_SHA384, A::EcdsaSha384)],
        KeySpec::Ed25519 => &[(S::ED25519, A::Ed25519)],
        KeySpec::Rsa(_) => &[
            (S::RSA_PSS_SHA256, A::RsaPssSha256),
            (S::RSA_PSS_SHA384, A::RsaPssSha384),
            (S::RSA_PSS_SHA512, A::RsaPssSha512),
            (S::RSA_PKCS1_SHA256, A::RsaPkcs1Sha256),
            (S::RSA_PKCS1_SHA384, A::RsaPkcs1Sha384),
            (S::RSA_PKCS1_SHA512, A::RsaPkcs1Sha512),
        ],
        _ => &[],
    }
}

/// A [`PrivateKey`] as a rustls [`SigningKey`].
#[derive(Debug)]
pub(crate) struct BackendSigningKey {
    key: Arc<dyn PrivateKey>,
}

impl BackendSigningKey {
    pub(crate) fn new(key: Arc<dyn PrivateKey>) -> Self {
        BackendSigningKey { key }
    }

    /// Whether rustls can use the key at all.
    pub(crate) fn is_usable(&self) -> bool {
        !schemes(self.key.spec()).is_empty()
    }
}

impl SigningKey for BackendSigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        schemes(self.key.spec())
            .iter()
            .find(|(scheme, _)| offered.contains(scheme))
            .map(|(scheme, alg)| {
                Box::new(BackendSigner {
                    key: Arc::clone(&self.key),
                    scheme: *scheme,
                    alg: *alg,
                }) as Box<dyn Signer>
            })
    }

    fn algorithm(&self) -> rustls::SignatureAlgorithm {
        match self.key.spec() {
            KeySpec::EcP256 | KeySpec::EcP384 => rustls::SignatureAlgorithm::ECDSA,
            KeySpec::Ed25519 => rustls::SignatureAlgorithm::ED25519,
            KeySpec::Rsa(_) => rustls::SignatureAlgorithm::RSA,
            _ => rustls::SignatureAlgorithm::Unknown(0),
        }
    }
}

#[derive(Debug)]
struct BackendSigner {
    key: Arc<dyn PrivateKey>,
    scheme: SignatureScheme,
    alg: SignatureAlgorithm,
}

impl Signer for BackendSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        let failed = |why: String| rustls::Error::General(format!("the TLS client key: {why}"));
        std::thread::scope(|s| {
            s.spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                    .map_err(|e| failed(format!("no runtime to sign on: {e}")))?;
                rt.block_on(self.key.sign(self.alg, message))
                    .map_err(|e| failed(e.to_string()))
            })
            .join()
            .map_err(|_| failed("the key backend panicked while signing".into()))?
        })
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}

/// Always presents the one certificate chain with its backend key.
#[derive(Debug)]
pub(crate) struct OneClientCert(pub(crate) Arc<CertifiedKey>);

impl OneClientCert {
    pub(crate) fn new(chain: Vec<CertificateDer<'static>>, key: BackendSigningKey) -> Self {
        OneClientCert(Arc::new(sign::CertifiedKey::new(chain, Arc::new(key))))
    }
}

impl ResolvesClientCert for OneClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        // Offer the certificate only when the key can make a signature the server accepts.
        self.0
            .key
            .choose_scheme(sigschemes)
            .map(|_| Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}
