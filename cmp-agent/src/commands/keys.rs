//! Keys through the registry's key backends: `--key`, `--newkey` and `--newkeyout`.
//!
//! A `pkcs11:` URI is opened by the `pkcs11` backend (built for the URI's token); a key file,
//! and a key generated with `gen:ALG`, go to the backend `--key-backend` names (default
//! `software`). No command calls a backend directly.

use std::path::Path;
use std::sync::Arc;

use cmp_core::CryptoError;
use cmp_core::crypto::{KeyLocator, KeyProvider, KeySpec, PrivateKey};
use cmp_core::registry::{Registry, RegistryError, Settings};
use zeroize::Zeroizing;

use super::AgentError;
use crate::secret::SecretSource;

/// The key backends a command uses: the registry and the backend chosen for files and
/// generated keys.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyBackends<'a> {
    registry: &'a Registry,
    chosen: &'a str,
}

/// A backend that could not be built: a token refusing the login is a local failure (exit
/// 1), anything else a usage error.
/// What a `pkcs11:` URI gets from an agent built without the `pkcs11` backend.
fn without_pkcs11() -> &'static str {
    "a pkcs11: URI needs the pkcs11 key backend, which this agent was built without (cargo feature `pkcs11`)"
}

fn build_error(option: &str, e: RegistryError) -> AgentError {
    match e {
        RegistryError::Crypto(e) => AgentError::local(format!("{option}: {e}")),
        other => AgentError::usage(format!("{option}: {other}")),
    }
}

/// The `pkcs11` backend of `registry`, opened for the token `uri` names.
fn token_backend(
    registry: &Registry,
    option: &str,
    uri: &str,
) -> Result<Arc<dyn KeyProvider>, AgentError> {
    registry
        .build_key_backend("pkcs11", &Settings::new().with("uri", uri))
        .map_err(|e| match e {
            RegistryError::Unknown { .. } if !cfg!(feature = "pkcs11") => {
                AgentError::usage(format!("{option}: {}", without_pkcs11()))
            }
            e => build_error(option, e),
        })
}

/// Destroys the token key `uri` names (the daemon's replaced keys): `Ok(false)` when the
/// token holds no such key.
#[cfg(feature = "daemon")]
pub(crate) async fn delete_token_key(registry: &Registry, uri: &str) -> Result<bool, AgentError> {
    token_backend(registry, "key_store", uri)?
        .delete(&KeyLocator::Uri(uri.to_owned()))
        .await
        .map_err(|e| AgentError::local(format!("key_store: {e}")))
}

impl<'a> KeyBackends<'a> {
    /// The backends of `registry`, with `chosen` (`--key-backend`) for files and generated
    /// keys; an unknown name is a usage error.
    pub(crate) fn new(registry: &'a Registry, chosen: &'a str) -> Result<Self, AgentError> {
        registry
            .key_backend(chosen)
            .map_err(|e| AgentError::usage(format!("--key-backend: {e}")))?;
        Ok(KeyBackends { registry, chosen })
    }

    fn chosen(&self, option: &str) -> Result<Arc<dyn KeyProvider>, AgentError> {
        self.registry
            .build_key_backend(self.chosen, &Settings::new())
            .map_err(|e| build_error(option, e))
    }

    fn token(&self, option: &str, uri: &str) -> Result<Arc<dyn KeyProvider>, AgentError> {
        token_backend(self.registry, option, uri)
    }

    /// Loads a key: a `pkcs11:` URI (kept in the token), or a PEM/DER file.
    pub(crate) async fn load(
        &self,
        option: &str,
        spec: &str,
        pass: Option<&SecretSource>,
    ) -> Result<Arc<dyn PrivateKey>, AgentError> {
        if spec.starts_with("pkcs11:") {
            return self
                .token(option, spec)?
                .load(&KeyLocator::Uri(spec.to_owned()))
                .await
                .map_err(|e| AgentError::local(format!("{option}: {e}")));
        }
        let password = pass
            .map(|s| {
                s.read()
                    .map_err(|e| AgentError::usage(format!("{option} password: {e}")))
            })
            .transpose()?;
        let path = Path::new(spec);
        let data = Zeroizing::new(std::fs::read(path).map_err(|e| {
            AgentError::usage(format!("{option}: cannot read {}: {e}", path.display()))
        })?);
        let keys = self.chosen(option)?;
        keys.load(&KeyLocator::Encoded { data, password })
            .await
            .map_err(|e| match e {
                CryptoError::InvalidKey(why) => AgentError::usage(format!(
                    "{option}: {}",
                    CryptoError::InvalidKey(format!("{}: {why}", path.display()))
                )),
                other => AgentError::usage(format!("{option}: {other}")),
            })
    }

    /// Generates a key for `gen:ALG` with the chosen backend and saves it in `out` (PEM,
    /// 0600) before anything is sent.
    pub(crate) async fn generate_to_file(
        &self,
        alg: &str,
        out: &Path,
    ) -> Result<Arc<dyn PrivateKey>, AgentError> {
        let spec = key_spec(alg)?;
        let key = self
            .chosen("--newkey")?
            .generate(spec)
            .await
            .map_err(|e| AgentError::local(format!("key generation failed: {e}")))?;
        // The workspace's key file writer: any backend's exportable key, atomically, 0600.
        cmp_crypto::software::write_key_file(out, key.as_ref())
            .map_err(|e| AgentError::local(format!("cannot save the new key: {e}")))?;
        Ok(key)
    }

    /// Generates a key for `gen:ALG` inside the token of `uri`, labelled with its `object`.
    pub(crate) async fn generate_in_token(
        &self,
        alg: &str,
        uri: &str,
    ) -> Result<Arc<dyn PrivateKey>, AgentError> {
        let spec = key_spec(alg)?;
        #[cfg(feature = "pkcs11")]
        let label = crate::builtins::keys::pkcs11_object(uri)
            .map_err(|e| AgentError::usage(format!("--newkeyout: {e}")))?
            .ok_or_else(|| {
                AgentError::usage("--newkeyout pkcs11:URI needs object=LABEL to name the new key")
            })?;
        // Without the pkcs11 backend, `token` fails with the registry's answer saying so.
        #[cfg(not(feature = "pkcs11"))]
        let label = String::new();
        self.token("--newkeyout", uri)?
            .generate_labelled(spec, &label)
            .await
            .map_err(|e| AgentError::local(format!("--newkeyout: {e}")))
    }
}

fn key_spec(alg: &str) -> Result<KeySpec, AgentError> {
    alg.parse()
        .map_err(|e| AgentError::usage(format!("--newkey gen:{alg}: {e}")))
}

#[cfg(all(test, not(feature = "pkcs11")))]
mod without_pkcs11_tests {
    #[test]
    fn a_token_uri_says_the_backend_is_not_built_in() {
        let registry = crate::builtins();
        let keys = super::KeyBackends::new(&registry, "software").expect("software");
        let e = keys
            .token("--key", "pkcs11:token=t;object=k")
            .expect_err("refused");
        assert_eq!(
            e.message(),
            "--key: a pkcs11: URI needs the pkcs11 key backend, which this agent was built \
             without (cargo feature `pkcs11`)"
        );
        assert_eq!(e.code, crate::exit::MALFORMED);
    }
}
