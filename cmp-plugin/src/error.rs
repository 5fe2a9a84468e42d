//! What can go wrong with a plugin, as one enum a caller can match on. Every message is one
//! sentence that names the library's path.

use std::fmt;
use std::path::PathBuf;

use crate::abi;

/// A non-zero status a plugin reported (see the `STATUS_*` constants in [`abi`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PluginStatus {
    /// [`abi::STATUS_ERROR`].
    Error,
    /// [`abi::STATUS_TIMEOUT`].
    Timeout,
    /// [`abi::STATUS_UNSUPPORTED`].
    Unsupported,
    /// [`abi::STATUS_INVALID_ARGUMENT`].
    InvalidArgument,
    /// A status this host does not know.
    Other(i32),
}

impl PluginStatus {
    /// The status for a non-zero, non-panic code.
    pub fn from_code(code: i32) -> Self {
        match code {
            abi::STATUS_ERROR => PluginStatus::Error,
            abi::STATUS_TIMEOUT => PluginStatus::Timeout,
            abi::STATUS_UNSUPPORTED => PluginStatus::Unsupported,
            abi::STATUS_INVALID_ARGUMENT => PluginStatus::InvalidArgument,
            other => PluginStatus::Other(other),
        }
    }
}

impl fmt::Display for PluginStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginStatus::Error => f.write_str("error"),
            PluginStatus::Timeout => f.write_str("timeout"),
            PluginStatus::Unsupported => f.write_str("unsupported"),
            PluginStatus::InvalidArgument => f.write_str("invalid argument"),
            PluginStatus::Other(c) => write!(f, "unknown status {c}"),
        }
    }
}

/// The kind of a plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PluginKind {
    /// A transport: exchanges CMP messages ([`abi::KIND_TRANSPORT`]).
    Transport,
    /// A key backend: generates, loads and uses keys ([`abi::KIND_KEY_BACKEND`]).
    KeyBackend,
}

impl PluginKind {
    /// The kind for a descriptor's `kind` field.
    pub fn from_code(code: u32) -> Option<Self> {
        match code {
            abi::KIND_TRANSPORT => Some(PluginKind::Transport),
            abi::KIND_KEY_BACKEND => Some(PluginKind::KeyBackend),
            _ => None,
        }
    }
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginKind::Transport => f.write_str("transport"),
            PluginKind::KeyBackend => f.write_str("key backend"),
        }
    }
}

/// Why loading or using a plugin failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// The library could not be opened (no such file, not a shared object, unresolved symbols).
    #[error("cannot load plugin {path}: {reason}")]
    Open {
        /// The library.
        path: PathBuf,
        /// What the dynamic loader said.
        reason: String,
    },
    /// The library exports no entry symbol.
    #[error("{path} is not a CMP plugin: it exports no symbol {symbol}")]
    NotAPlugin {
        /// The library.
        path: PathBuf,
        /// The symbol looked for ([`abi::ENTRY_SYMBOL`]).
        symbol: &'static str,
    },
    /// The entry symbol returned NULL or a pointer not aligned for a descriptor.
    #[error("plugin {path}: {symbol} returned a null or misaligned descriptor")]
    BadDescriptor {
        /// The library.
        path: PathBuf,
        /// The entry symbol.
        symbol: &'static str,
    },
    /// The descriptor does not start with [`abi::MAGIC`].
    #[error(
        "{path} is not a CMP plugin: its descriptor starts with {found:#018x}, not the magic {expected:#018x}"
    )]
    WrongMagic {
        /// The library.
        path: PathBuf,
        /// What it starts with.
        found: u64,
        /// [`abi::MAGIC`].
        expected: u64,
    },
    /// The plugin speaks another ABI version.
    #[error(
        "plugin {path} speaks plugin ABI version {found}, but this host speaks version {expected}"
    )]
    AbiVersion {
        /// The library.
        path: PathBuf,
        /// The plugin's version.
        found: u32,
        /// [`abi::ABI_VERSION`].
        expected: u32,
    },
    /// The descriptor is smaller than version 1 of it.
    #[error(
        "plugin {path}: its descriptor is {found} bytes, smaller than the {needed} bytes of ABI version 1"
    )]
    StructTooSmall {
        /// The library.
        path: PathBuf,
        /// The size it declares.
        found: u32,
        /// [`abi::DESCRIPTOR_V1_SIZE`].
        needed: u32,
    },
    /// The descriptor declares a kind this host does not know.
    #[error(
        "plugin {path} declares kind {found}, which this host does not know (1: transport, 2: key backend)"
    )]
    UnknownKind {
        /// The library.
        path: PathBuf,
        /// Its kind code.
        found: u32,
    },
    /// The plugin is not of the kind asked for.
    #[error("plugin {path} is a {found} plugin, not a {expected} plugin")]
    WrongKind {
        /// The library.
        path: PathBuf,
        /// Its kind.
        found: PluginKind,
        /// The kind asked for.
        expected: PluginKind,
    },
    /// A function the plugin's kind requires is NULL.
    #[error(
        "plugin {path}: its descriptor has no {function} function, which a {kind} plugin must have"
    )]
    MissingFunction {
        /// The library.
        path: PathBuf,
        /// The descriptor field.
        function: &'static str,
        /// The plugin's kind.
        kind: PluginKind,
    },
    /// The name or version is NULL or not UTF-8.
    #[error("plugin {path}: its {field} is not a NUL-terminated UTF-8 string")]
    BadString {
        /// The library.
        path: PathBuf,
        /// `name` or `version`.
        field: &'static str,
    },
    /// The plugin panicked; the boundary caught it.
    #[error("plugin {path} panicked in {function}: {message}")]
    Panicked {
        /// The library.
        path: PathBuf,
        /// The function.
        function: &'static str,
        /// The panic message.
        message: String,
    },
    /// The plugin reported a failure.
    #[error("plugin {path}: {function} failed ({status}): {message}")]
    Status {
        /// The library.
        path: PathBuf,
        /// The function.
        function: &'static str,
        /// The status.
        status: PluginStatus,
        /// The plugin's message.
        message: String,
    },
    /// The completion callback was called again after the first call (which was used); the
    /// later call was ignored. Reported through [`Plugin::anomalies`](crate::host::Plugin::anomalies).
    #[error(
        "plugin {path} called the completion callback of {function} more than once; the later call was ignored"
    )]
    CallbackCalledTwice {
        /// The library.
        path: PathBuf,
        /// The operation.
        function: &'static str,
    },
    /// The completion callback came after the host had stopped waiting; it was ignored.
    /// Reported through [`Plugin::anomalies`](crate::host::Plugin::anomalies).
    #[error(
        "plugin {path} called the completion callback of {function} after its deadline had passed; the call was ignored"
    )]
    LateCallback {
        /// The library.
        path: PathBuf,
        /// The operation.
        function: &'static str,
    },
    /// The operation did not complete by its deadline.
    #[error("plugin {path} did not complete {function} within {millis} ms")]
    CallbackNeverCalled {
        /// The library.
        path: PathBuf,
        /// The operation.
        function: &'static str,
        /// How long the host waited.
        millis: u64,
    },
    /// The deadline had passed before the operation could start.
    #[error("plugin {path}: the deadline had passed before {function} could start")]
    DeadlinePassed {
        /// The library.
        path: PathBuf,
        /// The operation.
        function: &'static str,
    },
    /// An optional capability the plugin does not have (its entry is NULL).
    #[error("plugin {path} does not support {capability}")]
    Unsupported {
        /// The library.
        path: PathBuf,
        /// `decrypt` or `key_agreement`.
        capability: &'static str,
    },
    /// The plugin returned something unusable.
    #[error("plugin {path}: {function} returned {what}")]
    InvalidOutput {
        /// The library.
        path: PathBuf,
        /// The function.
        function: &'static str,
        /// What is wrong with it.
        what: String,
    },
}
