//! Dynamic plugins (`--plugin PATH`): a shared library loaded through `cmp-plugin` and
//! registered under the name its descriptor carries — a transport plugin serves the URL
//! scheme of its name (`file` serves `file:///DIR`), a key backend is chosen with
//! `--key-backend NAME`.

use std::path::Path;
use std::sync::Arc;

use cmp_core::crypto::KeyProvider;
use cmp_core::registry::{
    KeyBackendFactory, Origin, Registry, RegistryError, Settings, TransportFactory,
};
use cmp_core::transport::Transport;
use cmp_plugin::{Plugin, PluginError, PluginKind};

use crate::builtins::{TRANSPORT_KEYS, message_timeout};

/// Why `--plugin PATH` failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    /// The library cannot be loaded or is not a plugin; the sentence names the path.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// The plugin's name is taken.
    #[error("plugin {path}: {source}")]
    Register {
        /// The library.
        path: String,
        /// Why it cannot be registered.
        source: RegistryError,
    },
    /// A kind this agent cannot use.
    #[error("plugin {path} is a {kind} plugin, which this agent cannot use")]
    Kind {
        /// The library.
        path: String,
        /// Its kind.
        kind: PluginKind,
    },
}

/// Loads the library at `path` and registers the plugin it holds.
pub(crate) fn load(registry: &mut Registry, path: &Path) -> Result<(), LoadError> {
    let plugin = Plugin::load(path)?;
    let registered = match plugin.kind() {
        PluginKind::Transport => {
            registry.register_transport(Arc::new(DynamicTransportFactory(plugin)))
        }
        PluginKind::KeyBackend => {
            registry.register_key_backend(Arc::new(DynamicKeyBackendFactory(plugin)))
        }
        kind => {
            return Err(LoadError::Kind {
                path: path.display().to_string(),
                kind,
            });
        }
    };
    registered.map_err(|source| LoadError::Register {
        path: path.display().to_string(),
        source,
    })
}

/// A transport plugin: serves the scheme of its name; `create` gets the server URL. Of the
/// transport settings it uses `message_timeout` (for an exchange without a deadline); the
/// others (TLS, proxy, CRLs) are the built-ins' and are not passed on.
#[derive(Debug)]
struct DynamicTransportFactory(Plugin);

impl TransportFactory for DynamicTransportFactory {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn version(&self) -> &str {
        self.0.version()
    }

    fn origin(&self) -> Origin {
        Origin::Library(self.0.path().to_path_buf())
    }

    fn schemes(&self) -> Vec<String> {
        vec![self.0.name().to_owned()]
    }

    fn build(&self, url: &str, settings: &Settings) -> Result<Arc<dyn Transport>, RegistryError> {
        settings.check_known(self.0.name(), TRANSPORT_KEYS)?;
        let transport = self
            .0
            .transport(url)
            .map_err(|e| RegistryError::Invalid(e.to_string()))?
            .default_timeout(message_timeout(settings)?);
        Ok(Arc::new(transport))
    }
}

/// A key backend plugin. Setting `settings`: the text given to the plugin's `create` (empty
/// by default; its documentation says what it takes).
#[derive(Debug)]
struct DynamicKeyBackendFactory(Plugin);

impl KeyBackendFactory for DynamicKeyBackendFactory {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn version(&self) -> &str {
        self.0.version()
    }

    fn origin(&self) -> Origin {
        Origin::Library(self.0.path().to_path_buf())
    }

    fn build(&self, settings: &Settings) -> Result<Arc<dyn KeyProvider>, RegistryError> {
        settings.check_known(self.0.name(), &["settings"])?;
        let text = settings.text("settings")?.unwrap_or_default();
        let keys = self
            .0
            .key_backend(text)
            .map_err(|e| RegistryError::Invalid(e.to_string()))?;
        Ok(Arc::new(keys))
    }
}
