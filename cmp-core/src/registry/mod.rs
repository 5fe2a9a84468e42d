//! Plugins chosen by name at run time: one factory trait per plugin kind
//! ([`TransportFactory`], [`KeyBackendFactory`], [`StorageFactory`]) and the [`Registry`]
//! that maps names (and, for transports, URL schemes) to factories.
//!
//! An application fills a registry with its built-ins, adds what an integrator registers in
//! process or what a shared library brings, and then builds everything it uses through it:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Instant;
//! use cmp_core::registry::{Registry, RegistryError, Settings, TransportFactory};
//! use cmp_core::transport::{Transport, TransportError};
//!
//! #[derive(Debug)]
//! struct Echo;
//!
//! #[async_trait::async_trait]
//! impl Transport for Echo {
//!     async fn exchange(&self, request: &[u8], _: Option<Instant>)
//!         -> Result<Vec<u8>, TransportError> {
//!         Ok(request.to_vec())
//!     }
//! }
//!
//! #[derive(Debug)]
//! struct EchoFactory;
//!
//! impl TransportFactory for EchoFactory {
//!     fn name(&self) -> &str { "echo" }
//!     fn version(&self) -> &str { "1.0.0" }
//!     fn schemes(&self) -> Vec<String> { vec!["echo".into()] }
//!     fn build(&self, _url: &str, _settings: &Settings)
//!         -> Result<Arc<dyn Transport>, RegistryError> {
//!         Ok(Arc::new(Echo))
//!     }
//! }
//!
//! let mut registry = Registry::new();
//! registry.register_transport(Arc::new(EchoFactory))?;
//! let transport = registry.build_transport("echo://anywhere", &Settings::new())?;
//! assert!(registry.register_transport(Arc::new(EchoFactory)).is_err());
//! # Ok::<(), RegistryError>(())
//! ```

mod error;
mod factory;
mod settings;

use std::fmt;
use std::sync::Arc;

pub use error::RegistryError;
pub use factory::{KeyBackendFactory, Origin, StorageFactory, TransportFactory};
pub use settings::{SettingValue, Settings};

use crate::crypto::KeyProvider;
use crate::storage::Storage;
use crate::transport::Transport;

/// The kinds of plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PluginKind {
    /// Moves CMP messages to the server ([`TransportFactory`]).
    Transport,
    /// Generates, keeps and uses keys ([`KeyBackendFactory`]).
    KeyBackend,
    /// Keeps certificates ([`StorageFactory`]).
    Storage,
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PluginKind::Transport => "transport",
            PluginKind::KeyBackend => "key backend",
            PluginKind::Storage => "storage",
        })
    }
}

/// What the registry knows about one plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginInfo {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: PluginKind,
    /// Its version.
    pub version: String,
    /// Where it comes from.
    pub origin: Origin,
    /// For a transport, the URL schemes it serves; empty otherwise.
    pub schemes: Vec<String>,
}

/// Names (and URL schemes) to factories, in registration order.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    transports: Vec<Arc<dyn TransportFactory>>,
    key_backends: Vec<Arc<dyn KeyBackendFactory>>,
    storages: Vec<Arc<dyn StorageFactory>>,
}

/// The scheme of `url` (before `://`), lowercase.
fn scheme_of(url: &str) -> Option<String> {
    url.split_once("://")
        .map(|(s, _)| s.to_ascii_lowercase())
        .filter(|s| !s.is_empty())
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = it.collect();
    if v.is_empty() {
        "none".to_owned()
    } else {
        v.join(", ")
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Adds a transport factory. Refuses a name already registered
    /// ([`RegistryError::Duplicate`]) or a URL scheme already served
    /// ([`RegistryError::SchemeTaken`]).
    pub fn register_transport(
        &mut self,
        factory: Arc<dyn TransportFactory>,
    ) -> Result<(), RegistryError> {
        if self.transports.iter().any(|f| f.name() == factory.name()) {
            return Err(RegistryError::Duplicate {
                kind: PluginKind::Transport,
                name: factory.name().to_owned(),
            });
        }
        for scheme in factory.schemes() {
            let scheme = scheme.to_ascii_lowercase();
            if let Some(by) = self
                .transports
                .iter()
                .find(|f| f.schemes().iter().any(|s| s.eq_ignore_ascii_case(&scheme)))
            {
                return Err(RegistryError::SchemeTaken {
                    scheme,
                    by: by.name().to_owned(),
                });
            }
        }
        self.transports.push(factory);
        Ok(())
    }

    /// Adds a key backend factory; refuses a name already registered.
    pub fn register_key_backend(
        &mut self,
        factory: Arc<dyn KeyBackendFactory>,
    ) -> Result<(), RegistryError> {
        if self.key_backends.iter().any(|f| f.name() == factory.name()) {
            return Err(RegistryError::Duplicate {
                kind: PluginKind::KeyBackend,
                name: factory.name().to_owned(),
            });
        }
        self.key_backends.push(factory);
        Ok(())
    }

    /// Adds a storage factory; refuses a name already registered.
    pub fn register_storage(
        &mut self,
        factory: Arc<dyn StorageFactory>,
    ) -> Result<(), RegistryError> {
        if self.storages.iter().any(|f| f.name() == factory.name()) {
            return Err(RegistryError::Duplicate {
                kind: PluginKind::Storage,
                name: factory.name().to_owned(),
            });
        }
        self.storages.push(factory);
        Ok(())
    }

    /// The transport factory serving `url`'s scheme.
    pub fn transport_for(&self, url: &str) -> Result<&Arc<dyn TransportFactory>, RegistryError> {
        let unknown = || RegistryError::UnknownScheme {
            url: url.to_owned(),
            known: names(
                self.transports
                    .iter()
                    .flat_map(|f| f.schemes())
                    .collect::<Vec<_>>()
                    .iter()
                    .map(String::as_str),
            ),
        };
        let scheme = scheme_of(url).ok_or_else(unknown)?;
        self.transports
            .iter()
            .find(|f| f.schemes().iter().any(|s| s.eq_ignore_ascii_case(&scheme)))
            .ok_or_else(unknown)
    }

    /// A transport to `url`, built by the factory serving its scheme.
    pub fn build_transport(
        &self,
        url: &str,
        settings: &Settings,
    ) -> Result<Arc<dyn Transport>, RegistryError> {
        self.transport_for(url)?.build(url, settings)
    }

    /// The key backend factory named `name`.
    pub fn key_backend(&self, name: &str) -> Result<&Arc<dyn KeyBackendFactory>, RegistryError> {
        self.key_backends
            .iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| RegistryError::Unknown {
                kind: PluginKind::KeyBackend,
                name: name.to_owned(),
                known: names(self.key_backends.iter().map(|f| f.name())),
            })
    }

    /// The key backend named `name`, built from `settings`.
    pub fn build_key_backend(
        &self,
        name: &str,
        settings: &Settings,
    ) -> Result<Arc<dyn KeyProvider>, RegistryError> {
        self.key_backend(name)?.build(settings)
    }

    /// The storage factory named `name`.
    pub fn storage(&self, name: &str) -> Result<&Arc<dyn StorageFactory>, RegistryError> {
        self.storages
            .iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| RegistryError::Unknown {
                kind: PluginKind::Storage,
                name: name.to_owned(),
                known: names(self.storages.iter().map(|f| f.name())),
            })
    }

    /// The storage named `name`, built from `settings`.
    pub fn build_storage(
        &self,
        name: &str,
        settings: &Settings,
    ) -> Result<Arc<dyn Storage>, RegistryError> {
        self.storage(name)?.build(settings)
    }

    /// Every registered plugin: transports, then key backends, then storage, each in
    /// registration order.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        let t = self.transports.iter().map(|f| PluginInfo {
            name: f.name().to_owned(),
            kind: PluginKind::Transport,
            version: f.version().to_owned(),
            origin: f.origin(),
            schemes: f.schemes(),
        });
        let k = self.key_backends.iter().map(|f| PluginInfo {
            name: f.name().to_owned(),
            kind: PluginKind::KeyBackend,
            version: f.version().to_owned(),
            origin: f.origin(),
            schemes: Vec::new(),
        });
        let s = self.storages.iter().map(|f| PluginInfo {
            name: f.name().to_owned(),
            kind: PluginKind::Storage,
            version: f.version().to_owned(),
            origin: f.origin(),
            schemes: Vec::new(),
        });
        t.chain(k).chain(s).collect()
    }
}

#[cfg(test)]
mod tests;
