//! The built-in plugins and the registry they make: transports `http` (http, https) and `tcp`
//! (tcp, tcps), key backends `software`, `pkcs11` and (feature `aws-lc`) `aws-lc`, and the
//! `files` storage (`dir = DIR`: identity records in generation directories; `certout = FILE`:
//! the `--certout` file of the one-shot commands; see [`crate::store`]).
//!
//! The transports take these settings, which the agent fills from its options:
//!
//! | key | option | |
//! |---|---|---|
//! | `message_timeout` | `--msg-timeout` | seconds, at least 1 (default 120) |
//! | `proxy`, `no_proxy` | `--proxy`, `--no-proxy` | http only |
//! | `crls`, `crl_check`, `crl_check_all` | `--crls`, `--crl-check`, `--crl-check-all` | TLS server certificate |
//! | `tls.trusted`, `tls.system_roots`, `tls.host` | `--tls-trusted`, `--tls-system-roots`, `--tls-host` | https, tcps |
//! | `tls.cert`, `tls.key`, `tls.keypass` | `--tls-cert`, `--tls-key`, `--tls-keypass` | the TLS client identity |
//! | `tls.provider` | follows `--key-backend` | the rustls crypto provider: `ring` (default), or `aws-lc` when the key backend is `aws-lc` |

mod files;
mod http;
pub(crate) mod keys;
mod tcp;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use cmp_core::registry::{Registry, RegistryError, Settings};

/// The version the built-ins report: the agent's.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The settings the built-in transports know.
pub(crate) const TRANSPORT_KEYS: &[&str] = &[
    "message_timeout",
    "proxy",
    "no_proxy",
    "crls",
    "crl_check",
    "crl_check_all",
    "tls",
];

/// The default of `message_timeout`, in seconds.
pub(crate) const DEFAULT_MESSAGE_TIMEOUT: u64 = 120;

/// `message_timeout` (seconds, at least 1).
pub(crate) fn message_timeout(settings: &Settings) -> Result<Duration, RegistryError> {
    match settings.integer("message_timeout")? {
        None => Ok(Duration::from_secs(DEFAULT_MESSAGE_TIMEOUT)),
        Some(s) if s >= 1 => Ok(Duration::from_secs(s.unsigned_abs())),
        Some(s) => Err(RegistryError::Invalid(format!(
            "message_timeout {s}: give at least 1 second"
        ))),
    }
}

/// A registry holding every built-in plugin: transports `http` and `tcp`, key backends
/// `software`, `pkcs11` and (when compiled with the `aws-lc` feature) `aws-lc`, storage
/// `files`.
pub fn builtins() -> Registry {
    let mut r = Registry::new();
    let results = [
        r.register_transport(Arc::new(http::HttpFactory)),
        r.register_transport(Arc::new(tcp::TcpFactory)),
        r.register_key_backend(Arc::new(keys::SoftwareFactory)),
        #[cfg(feature = "pkcs11")]
        r.register_key_backend(Arc::new(keys::Pkcs11Factory)),
        #[cfg(feature = "aws-lc")]
        r.register_key_backend(Arc::new(keys::AwsLcFactory)),
        r.register_storage(Arc::new(files::FilesFactory)),
    ];
    // The built-ins have distinct names and schemes: registering them cannot fail.
    debug_assert!(results.iter().all(Result::is_ok));
    r
}

#[cfg(test)]
mod tests {
    use cmp_core::registry::{Origin, PluginKind};

    #[test]
    fn the_builtins_are_registered() {
        let listed: Vec<(String, PluginKind, Origin)> = super::builtins()
            .plugins()
            .into_iter()
            .map(|p| (p.name, p.kind, p.origin))
            .collect();
        let mut expected = vec![
            ("http".to_owned(), PluginKind::Transport, Origin::BuiltIn),
            ("tcp".to_owned(), PluginKind::Transport, Origin::BuiltIn),
            (
                "software".to_owned(),
                PluginKind::KeyBackend,
                Origin::BuiltIn,
            ),
        ];
        if cfg!(feature = "pkcs11") {
            expected.push(("pkcs11".to_owned(), PluginKind::KeyBackend, Origin::BuiltIn));
        }
        if cfg!(feature = "aws-lc") {
            expected.push(("aws-lc".to_owned(), PluginKind::KeyBackend, Origin::BuiltIn));
        }
        expected.push(("files".to_owned(), PluginKind::Storage, Origin::BuiltIn));
        assert_eq!(listed, expected);
    }
}
