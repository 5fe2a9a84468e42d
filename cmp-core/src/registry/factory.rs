//! The factory traits: one per plugin kind. A factory describes its plugin (name, version,
//! origin) and builds instances from [`Settings`].

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;

use crate::crypto::KeyProvider;
use crate::storage::Storage;
use crate::transport::Transport;

use super::{RegistryError, Settings};

/// Where a plugin comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// Compiled into the program (a built-in, or one an integrator registered in process).
    BuiltIn,
    /// Loaded from this shared library.
    Library(PathBuf),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::BuiltIn => f.write_str("built in"),
            Origin::Library(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Makes transports for the URL schemes it serves (`http` and `https`, `tcp` and `tcps`, …).
pub trait TransportFactory: Send + Sync + Debug {
    /// The plugin's name, e.g. `http`.
    fn name(&self) -> &str;

    /// The plugin's version.
    fn version(&self) -> &str;

    /// Where the plugin comes from.
    fn origin(&self) -> Origin {
        Origin::BuiltIn
    }

    /// The URL schemes it serves (without `://`), e.g. `["http", "https"]`.
    fn schemes(&self) -> Vec<String>;

    /// A transport to the server at `url` (whose scheme is one of [`Self::schemes`]), set up
    /// as `settings` say.
    fn build(&self, url: &str, settings: &Settings) -> Result<Arc<dyn Transport>, RegistryError>;
}

/// Makes key backends: where keys are generated, kept and used.
pub trait KeyBackendFactory: Send + Sync + Debug {
    /// The backend's name, e.g. `software` or `pkcs11`.
    fn name(&self) -> &str;

    /// The plugin's version.
    fn version(&self) -> &str;

    /// Where the plugin comes from.
    fn origin(&self) -> Origin {
        Origin::BuiltIn
    }

    /// The backend, set up as `settings` say (a PKCS#11 backend: which token).
    fn build(&self, settings: &Settings) -> Result<Arc<dyn KeyProvider>, RegistryError>;
}

/// Makes certificate stores.
pub trait StorageFactory: Send + Sync + Debug {
    /// The store's name, e.g. `files`.
    fn name(&self) -> &str;

    /// The plugin's version.
    fn version(&self) -> &str;

    /// Where the plugin comes from.
    fn origin(&self) -> Origin {
        Origin::BuiltIn
    }

    /// The store, set up as `settings` say.
    fn build(&self, settings: &Settings) -> Result<Arc<dyn Storage>, RegistryError>;
}
