//! An in-process key backend plugin, `audited`: keys are generated and loaded by the software
//! backend, and every signature is written to an [`AuditLog`] (which key, which algorithm) —
//! the pattern of a backend that wraps another one. Chosen with `--key-backend audited`:
//!
//! ```no_run
//! use std::sync::Arc;
//! use cmp_examples::{AuditLog, audited_keys::AuditedKeysFactory};
//!
//! let mut registry = cmp_agent::builtins();
//! registry.register_key_backend(Arc::new(AuditedKeysFactory::new(Arc::new(AuditLog::printing()))))?;
//! let status = cmp_agent::run(std::env::args_os(), registry);
//! # Ok::<(), cmp_core::registry::RegistryError>(())
//! ```

use std::sync::Arc;

use cmp_core::CryptoError;
use cmp_core::crypto::{KeyLocator, KeyProvider, KeySpec, PrivateKey, SignatureAlgorithm};
use cmp_core::registry::{KeyBackendFactory, RegistryError, Settings};
use zeroize::Zeroizing;

use crate::AuditLog;

/// Makes [`AuditedKeys`]. No settings.
#[derive(Debug)]
pub struct AuditedKeysFactory {
    log: Arc<AuditLog>,
}

impl AuditedKeysFactory {
    /// A factory whose backends write to `log`.
    pub fn new(log: Arc<AuditLog>) -> Self {
        AuditedKeysFactory { log }
    }
}

impl KeyBackendFactory for AuditedKeysFactory {
    fn name(&self) -> &str {
        "audited"
    }

    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    fn build(&self, settings: &Settings) -> Result<Arc<dyn KeyProvider>, RegistryError> {
        settings.check_known("audited", &[])?;
        Ok(Arc::new(AuditedKeys {
            inner: cmp_crypto::software::SoftwareKeys,
            log: Arc::clone(&self.log),
        }))
    }
}

/// The software backend with an audit trail.
#[derive(Debug)]
pub struct AuditedKeys {
    inner: cmp_crypto::software::SoftwareKeys,
    log: Arc<AuditLog>,
}

impl AuditedKeys {
    fn wrap(&self, key: Arc<dyn PrivateKey>, how: &str) -> Arc<dyn PrivateKey> {
        self.log.record(format!("{how} a {} key", key.spec()));
        Arc::new(AuditedKey {
            inner: key,
            log: Arc::clone(&self.log),
        })
    }
}

#[async_trait::async_trait]
impl KeyProvider for AuditedKeys {
    fn name(&self) -> &str {
        "audited"
    }

    async fn generate(&self, spec: KeySpec) -> Result<Arc<dyn PrivateKey>, CryptoError> {
        Ok(self.wrap(self.inner.generate(spec).await?, "generated"))
    }

    async fn load(&self, locator: &KeyLocator) -> Result<Arc<dyn PrivateKey>, CryptoError> {
        Ok(self.wrap(self.inner.load(locator).await?, "loaded"))
    }
}

/// A key whose signatures are audited.
#[derive(Debug)]
struct AuditedKey {
    inner: Arc<dyn PrivateKey>,
    log: Arc<AuditLog>,
}

#[async_trait::async_trait]
impl PrivateKey for AuditedKey {
    fn public_key(&self) -> &[u8] {
        self.inner.public_key()
    }

    fn spec(&self) -> KeySpec {
        self.inner.spec()
    }

    fn locator(&self) -> Option<String> {
        self.inner.locator()
    }

    fn to_pkcs8_der(&self) -> Option<Zeroizing<Vec<u8>>> {
        self.inner.to_pkcs8_der()
    }

    async fn sign(&self, alg: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let result = self.inner.sign(alg, message).await;
        self.log.record(format!(
            "signed with {} ({})",
            alg.name(),
            if result.is_ok() { "ok" } else { "failed" }
        ));
        result
    }
}
