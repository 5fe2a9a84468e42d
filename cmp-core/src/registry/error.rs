//! Why a plugin could not be registered, found or built.

use crate::error::CryptoError;
use crate::storage::StorageError;
use crate::transport::TransportError;

use super::PluginKind;

/// Why a plugin could not be registered, found or built. Each message is one sentence an
/// operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// A plugin of this kind and name is already registered.
    #[error("a {kind} plugin named {name:?} is already registered")]
    Duplicate {
        /// The kind.
        kind: PluginKind,
        /// The name.
        name: String,
    },
    /// A URL scheme is already served by another transport.
    #[error("the URL scheme {scheme:?} is already served by the transport {by:?}")]
    SchemeTaken {
        /// The scheme.
        scheme: String,
        /// The transport serving it.
        by: String,
    },
    /// No transport serves the URL's scheme.
    #[error("no transport serves {url:?} (URL schemes served: {known})")]
    UnknownScheme {
        /// The URL.
        url: String,
        /// The schemes that are served, comma-separated.
        known: String,
    },
    /// No plugin of this kind has this name.
    #[error("no {kind} plugin named {name:?} (available: {known})")]
    Unknown {
        /// The kind.
        kind: PluginKind,
        /// The name asked for.
        name: String,
        /// The names available, comma-separated.
        known: String,
    },
    /// A setting the plugin does not know.
    #[error("{plugin}: unknown setting {key} (known: {known})")]
    UnknownSetting {
        /// The plugin.
        plugin: String,
        /// The key.
        key: String,
        /// The keys it knows, comma-separated.
        known: String,
    },
    /// A setting of the wrong type.
    #[error("setting {key}: expected {expected}, found {found}")]
    SettingType {
        /// The key.
        key: String,
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// A setting (or the URL) the plugin cannot use; the factory's sentence.
    #[error("{0}")]
    Invalid(String),
    /// The transport could not be built.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The key backend could not be opened (a token that refuses the login, …).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The storage could not be opened.
    #[error(transparent)]
    Storage(#[from] StorageError),
}
