//! The built-in key backends: `software` (keys in memory and in PEM files), `pkcs11` (keys in
//! a PKCS#11 token) and, with the `aws-lc` feature, `aws-lc`.

use std::sync::Arc;

use cmp_core::crypto::KeyProvider;
use cmp_core::registry::{KeyBackendFactory, RegistryError, Settings};

use super::VERSION;

/// The `software` backend: RustCrypto, RSA private-key operations through *ring*. No settings.
#[derive(Debug, Default)]
pub(crate) struct SoftwareFactory;

impl KeyBackendFactory for SoftwareFactory {
    fn name(&self) -> &str {
        "software"
    }

    fn version(&self) -> &str {
        VERSION
    }

    fn build(&self, settings: &Settings) -> Result<Arc<dyn KeyProvider>, RegistryError> {
        settings.check_known("software", &[])?;
        Ok(Arc::new(cmp_crypto::software::SoftwareKeys))
    }
}

/// The `pkcs11` backend. Setting `uri`: a `pkcs11:` URI naming the token (`token=`), with the
/// module in `module-path` (or `PKCS11_MODULE`) and the PIN in `pin-source` (or `PKCS11_PIN`);
/// building it opens the token and logs in.
#[cfg(feature = "pkcs11")]
#[derive(Debug, Default)]
pub(crate) struct Pkcs11Factory;

#[cfg(feature = "pkcs11")]
impl KeyBackendFactory for Pkcs11Factory {
    fn name(&self) -> &str {
        "pkcs11"
    }

    fn version(&self) -> &str {
        VERSION
    }

    fn build(&self, settings: &Settings) -> Result<Arc<dyn KeyProvider>, RegistryError> {
        settings.check_known("pkcs11", &["uri"])?;
        let uri = settings.text("uri")?.ok_or_else(|| {
            RegistryError::Invalid("the pkcs11 key backend needs a token URI (uri)".into())
        })?;
        Ok(Arc::new(cmp_crypto::pkcs11::Pkcs11Keys::open(uri)?))
    }
}

/// The object label (`object=`) of a `pkcs11:` URI, under which a new key is generated.
#[cfg(feature = "pkcs11")]
pub(crate) fn pkcs11_object(uri: &str) -> Result<Option<String>, cmp_core::CryptoError> {
    let parsed: cmp_crypto::pkcs11::Pkcs11Uri = uri.parse()?;
    Ok(parsed.object)
}

/// The `aws-lc` backend: AWS-LC through aws-lc-rs. No settings.
#[cfg(feature = "aws-lc")]
#[derive(Debug, Default)]
pub(crate) struct AwsLcFactory;

#[cfg(feature = "aws-lc")]
impl KeyBackendFactory for AwsLcFactory {
    fn name(&self) -> &str {
        "aws-lc"
    }

    fn version(&self) -> &str {
        VERSION
    }

    fn build(&self, settings: &Settings) -> Result<Arc<dyn KeyProvider>, RegistryError> {
        settings.check_known("aws-lc", &[])?;
        Ok(Arc::new(cmp_crypto::aws_lc::AwsLcKeys))
    }
}
