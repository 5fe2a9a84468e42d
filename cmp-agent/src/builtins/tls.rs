//! The TLS client settings of the `https` and `tcps` transports, read from the `tls` section
//! of a transport's settings and from its CRL settings.
//!
//! Error sentences name the command-line options the settings come from.

use cmp_core::registry::{RegistryError, SettingValue, Settings};
use cmp_transport_http::{
    ClientIdentity, TlsClientSettings, TlsProvider, TlsRevocation, read_pem_certificates,
    read_pem_private_key,
};

/// The keys of the `tls` section.
pub(crate) const TLS_KEYS: &[&str] = &[
    "trusted",
    "system_roots",
    "cert",
    "key",
    "keypass",
    "host",
    "provider",
];

fn invalid(message: impl Into<String>) -> RegistryError {
    RegistryError::Invalid(message.into())
}

/// The TLS client key: PEM as rustls reads it, or (with a password, or in any encoding the
/// software backend reads) decoded to PKCS#8.
fn tls_key(
    path: &std::path::Path,
    password: Option<&[u8]>,
) -> Result<rustls_pki_types::PrivateKeyDer<'static>, RegistryError> {
    if password.is_none() {
        if let Ok(k) = read_pem_private_key(path) {
            return Ok(k);
        }
    }
    let key = cmp_crypto::software::read_key_file(path, password)
        .map_err(|e| invalid(format!("--tls-key: {e}")))?;
    let der = cmp_core::crypto::PrivateKey::to_pkcs8_der(&key)
        .ok_or_else(|| invalid("--tls-key: the key cannot be exported"))?;
    Ok(rustls_pki_types::PrivateKeyDer::Pkcs8(der.to_vec().into()))
}

/// The CRL checking of the TLS server's certificate: `crls`, `crl_check`, `crl_check_all`.
fn revocation(settings: &Settings) -> Result<Option<TlsRevocation>, RegistryError> {
    let whole_path = settings.flag("crl_check_all")?;
    if !whole_path && !settings.flag("crl_check")? {
        return Ok(None);
    }
    let mut crls = Vec::new();
    for p in settings.texts("crls")? {
        let path = std::path::Path::new(p);
        crls.extend(
            crate::certs::read_crls(path)
                .map_err(|e| invalid(format!("--crls {}: {e}", path.display())))?,
        );
    }
    Ok(Some(TlsRevocation {
        crls: crls.into_iter().map(Into::into).collect(),
        whole_path,
    }))
}

/// The TLS settings for `url` from the transport's `settings`.
pub(crate) fn client_settings(
    url: &str,
    settings: &Settings,
) -> Result<TlsClientSettings, RegistryError> {
    let empty = Settings::new();
    let tls = settings.table("tls")?.unwrap_or(&empty);
    tls.check_known("tls", TLS_KEYS)?;
    let trusted = tls.text("trusted")?;
    let system_roots = tls.flag("system_roots")?;
    if trusted.is_none() && !system_roots {
        return Err(invalid(format!(
            "{url} needs --tls-trusted (trust anchors for the server's TLS certificate) or --tls-system-roots"
        )));
    }
    let mut s = TlsClientSettings {
        trusted: match trusted {
            Some(p) => read_pem_certificates(std::path::Path::new(p))
                .map_err(|e| invalid(format!("--tls-trusted: {e}")))?,
            None => Vec::new(),
        },
        identity: None,
        server_name: tls.text("host")?.map(str::to_owned),
        revocation: revocation(settings)?,
        provider: match tls.text("provider")? {
            None => TlsProvider::default(),
            Some(name) => TlsProvider::from_name(name).map_err(|e| invalid(e.to_string()))?,
        },
    };
    if system_roots {
        s = s.with_system_roots().map_err(|e| invalid(e.to_string()))?;
    }
    if let Some(cert) = tls.text("cert")? {
        let chain = read_pem_certificates(std::path::Path::new(cert))
            .map_err(|e| invalid(format!("--tls-cert: {e}")))?;
        s.identity = Some(match tls.get("key") {
            None => return Err(invalid("--tls-cert needs --tls-key")),
            // A key the agent loaded from its key backend (a token's URI).
            Some(SettingValue::Key(key)) => ClientIdentity::Backend {
                chain,
                key: std::sync::Arc::clone(key),
            },
            Some(_) => ClientIdentity::Pem {
                chain,
                key: tls_key(
                    std::path::Path::new(tls.text("key")?.unwrap_or_default()),
                    tls.secret("keypass")?,
                )?,
            },
        });
    }
    Ok(s)
}
