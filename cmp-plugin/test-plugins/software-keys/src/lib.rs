//! A key backend plugin for the tests of `cmp-plugin`: the software backend of `cmp-crypto`,
//! exported with `export_key_backend!`. Some locators make it misbehave on purpose:
//! `software:panic` panics in `load`, `software:hang` never finishes loading,
//! `software:panic-on-sign` loads a P-256 key whose `sign` panics. The settings `refuse` make `create` fail.

use std::ffi::CStr;
use std::sync::Arc;

use cmp_core::crypto::{KeyLocator, KeyProvider, KeySpec, PrivateKey, SignatureAlgorithm};
use cmp_core::error::CryptoError;
use cmp_crypto::software::{SoftwareKey, SoftwareKeys};
use cmp_plugin::export::KeyBackendPlugin;

/// The software backend, as a plugin.
#[derive(Debug)]
pub struct TestKeys(SoftwareKeys);

/// A key whose `sign` panics.
#[derive(Debug)]
struct PanicOnSign(SoftwareKey);

#[async_trait::async_trait]
impl PrivateKey for PanicOnSign {
    fn public_key(&self) -> &[u8] {
        self.0.public_key()
    }

    fn spec(&self) -> KeySpec {
        self.0.spec()
    }

    async fn sign(&self, _alg: SignatureAlgorithm, _msg: &[u8]) -> Result<Vec<u8>, CryptoError> {
        panic!("sign was told to panic")
    }
}

#[async_trait::async_trait]
impl KeyProvider for TestKeys {
    fn name(&self) -> &str {
        "test-software"
    }

    async fn generate(&self, spec: KeySpec) -> Result<Arc<dyn PrivateKey>, CryptoError> {
        self.0.generate(spec).await
    }

    async fn load(&self, locator: &KeyLocator) -> Result<Arc<dyn PrivateKey>, CryptoError> {
        match locator {
            KeyLocator::Uri(u) if u == "software:panic" => panic!("load was told to panic"),
            KeyLocator::Uri(u) if u == "software:hang" => std::future::pending().await,
            KeyLocator::Uri(u) if u == "software:panic-on-sign" => Ok(Arc::new(PanicOnSign(
                SoftwareKey::generate(KeySpec::EcP256)?,
            ))),
            other => self.0.load(other).await,
        }
    }
}

impl KeyBackendPlugin for TestKeys {
    const NAME: &'static CStr = c"test-software";
    const VERSION: &'static CStr = c"0.1.0";

    fn create(settings: &str) -> Result<Self, String> {
        if settings == "refuse" {
            return Err("the settings say refuse".into());
        }
        Ok(TestKeys(SoftwareKeys))
    }
}

cmp_plugin::export_key_backend!(TestKeys);
