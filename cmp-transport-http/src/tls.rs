//! TLS settings for HTTPS (and for `tcps://`), built on rustls. The rustls crypto provider is
//! chosen with [`TlsProvider`]: *ring* by default, AWS-LC (aws-lc-rs) when the crate is built
//! with the `aws-lc` feature and the application asks for it — the agent does when its key
//! backend is `aws-lc`, so that one cryptographic library does all the work.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

/// Why TLS settings could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// rustls refused the settings.
    #[error("TLS settings: {0}")]
    Rustls(String),
    /// A TLS provider name that is neither `ring` nor `aws-lc`.
    #[error("TLS provider {0:?}: give ring or aws-lc")]
    UnknownProvider(String),
    /// The TLS provider asked for is not in this build.
    #[error("the {0} TLS provider is not compiled into this build (cargo feature aws-lc)")]
    ProviderNotCompiled(&'static str),
}

fn file_error(path: &Path, reason: impl std::fmt::Display) -> TlsConfigError {
    TlsConfigError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Every certificate in a PEM file.
pub fn read_pem_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(path, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_error(path, e))?;
    if certs.is_empty() {
        return Err(file_error(path, "no CERTIFICATE in the file"));
    }
    Ok(certs)
}

/// The private key in a PEM file (PKCS#8, SEC1 or PKCS#1). The file's text is zeroized
/// once parsed.
pub fn read_pem_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    let pem = zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| file_error(path, e))?);
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| file_error(path, e))
}

/// The certificate and key a client presents to the server.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientIdentity {
    /// A chain and a private key in memory (PEM files).
    Pem {
        /// The client certificate first, then its chain.
        chain: Vec<CertificateDer<'static>>,
        /// The key.
        key: PrivateKeyDer<'static>,
    },
    /// A chain and a key of any key backend — for example a device's IDevID key that never
    /// leaves its PKCS#11 token. rustls asks the backend to sign the handshake (EC P-256 and
    /// P-384, Ed25519, RSA with PSS or PKCS#1 v1.5).
    Backend {
        /// The client certificate first, then its chain.
        chain: Vec<CertificateDer<'static>>,
        /// The key.
        key: std::sync::Arc<dyn cmp_core::crypto::PrivateKey>,
    },
}

/// HTTPS client settings: trust anchors for the server and an optional client identity.
#[derive(Debug, Default)]
pub struct TlsClientSettings {
    /// Trust anchors for the server certificate (never the system store implicitly).
    pub trusted: Vec<CertificateDer<'static>>,
    /// Certificate and key to present, if the server asks.
    pub identity: Option<ClientIdentity>,
    /// Check the server certificate against this name instead of the URL's host (as
    /// `openssl cmp -tls_host`); also sent as SNI.
    pub server_name: Option<String>,
    /// Revocation checking of the server's certificate path against CRLs (`--crl-check`,
    /// `--crl-check-all`); `None`: no checking.
    pub revocation: Option<TlsRevocation>,
    /// The rustls crypto provider (default *ring*).
    pub provider: TlsProvider,
}

/// Which certificates of the TLS server's path are checked against which CRLs.
#[derive(Debug, Clone)]
pub struct TlsRevocation {
    /// The CRLs (DER).
    pub crls: Vec<CertificateRevocationListDer<'static>>,
    /// Check every certificate of the path but the anchor (`true`), or the server's own
    /// certificate only. A certificate that must be checked needs a current CRL from its
    /// issuer; otherwise the handshake fails.
    pub whole_path: bool,
}

/// The rustls crypto provider TLS runs on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsProvider {
    /// *ring* (always compiled in; without this crate's `tls-extra-algorithms` feature, with
    /// TLS's mandatory algorithms only: no X25519, ChaCha20-Poly1305 or Ed25519).
    #[default]
    Ring,
    /// AWS-LC through aws-lc-rs; needs this crate's `aws-lc` feature, else building a
    /// configuration fails with [`TlsConfigError::ProviderNotCompiled`].
    AwsLc,
}

impl TlsProvider {
    /// The provider named `name`: `ring` or `aws-lc`.
    pub fn from_name(name: &str) -> Result<Self, TlsConfigError> {
        match name {
            "ring" => Ok(TlsProvider::Ring),
            "aws-lc" => Ok(TlsProvider::AwsLc),
            other => Err(TlsConfigError::UnknownProvider(other.to_owned())),
        }
    }

    /// Its name, as [`TlsProvider::from_name`] takes it.
    pub fn name(self) -> &'static str {
        match self {
            TlsProvider::Ring => "ring",
            TlsProvider::AwsLc => "aws-lc",
        }
    }

    /// Whether this build has it.
    pub fn is_compiled_in(self) -> bool {
        match self {
            TlsProvider::Ring => true,
            TlsProvider::AwsLc => cfg!(feature = "aws-lc"),
        }
    }

    /// The rustls provider.
    pub fn rustls(self) -> Result<Arc<rustls::crypto::CryptoProvider>, TlsConfigError> {
        match self {
            TlsProvider::Ring => Ok(crate::ring_provider::shared()),
            #[cfg(feature = "aws-lc")]
            TlsProvider::AwsLc => Ok(Arc::new(rustls::crypto::aws_lc_rs::default_provider())),
            #[cfg(not(feature = "aws-lc"))]
            TlsProvider::AwsLc => Err(TlsConfigError::ProviderNotCompiled("aws-lc")),
        }
    }
}

impl TlsClientSettings {
    /// Trust anchors from a PEM file.
    pub fn trusting(path: &Path) -> Result<Self, TlsConfigError> {
        Ok(TlsClientSettings {
            trusted: read_pem_certificates(path)?,
            ..Default::default()
        })
    }

    /// Adds the operating system's trust store (only when asked: a CMP client normally trusts
    /// exactly the anchors it was given).
    pub fn with_system_roots(mut self) -> Result<Self, TlsConfigError> {
        let found = rustls_native_certs::load_native_certs();
        if found.certs.is_empty() {
            let why = found
                .errors
                .first()
                .map_or_else(|| "no certificates found".to_owned(), |e| e.to_string());
            return Err(TlsConfigError::Rustls(format!(
                "the system trust store: {why}"
            )));
        }
        self.trusted.extend(found.certs);
        Ok(self)
    }

    /// The rustls client configuration.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, TlsConfigError> {
        let mut roots = rustls::RootCertStore::empty();
        // Unusable system certificates are skipped; an unusable explicit anchor is an error.
        let (_added, ignored) = roots.add_parsable_certificates(self.trusted.iter().cloned());
        if ignored > 0 && roots.is_empty() {
            return Err(TlsConfigError::Rustls("no usable trust anchor".into()));
        }
        if roots.is_empty() {
            return Err(TlsConfigError::Rustls(
                "no trust anchors for the server certificate".into(),
            ));
        }
        let provider = self.provider.rustls()?;
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsConfigError::Rustls(e.to_string()))?;
        let builder = match &self.revocation {
            None => builder.with_root_certificates(roots),
            Some(r) => {
                let mut v = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                    .with_crls(r.crls.iter().cloned())
                    .enforce_revocation_expiration();
                if !r.whole_path {
                    v = v.only_check_end_entity_revocation();
                }
                let verifier = v
                    .build()
                    .map_err(|e| TlsConfigError::Rustls(format!("CRLs: {e}")))?;
                builder.with_webpki_verifier(verifier)
            }
        };
        match &self.identity {
            None => Ok(builder.with_no_client_auth()),
            Some(ClientIdentity::Pem { chain, key }) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| TlsConfigError::Rustls(format!("client certificate: {e}"))),
            Some(ClientIdentity::Backend { chain, key }) => {
                let signing = crate::tls_signer::BackendSigningKey::new(Arc::clone(key));
                if !signing.is_usable() {
                    return Err(TlsConfigError::Rustls(format!(
                        "client certificate: TLS cannot use a {} key",
                        key.spec()
                    )));
                }
                Ok(builder.with_client_cert_resolver(Arc::new(
                    crate::tls_signer::OneClientCert::new(chain.clone(), signing),
                )))
            }
        }
    }
}

/// HTTPS server settings: certificate, key, and optional client-certificate authentication.
#[derive(Debug)]
pub struct TlsServerSettings {
    /// The server certificate first, then its chain.
    pub chain: Vec<CertificateDer<'static>>,
    /// The key.
    pub key: PrivateKeyDer<'static>,
    /// Trust anchors for client certificates; empty: no client authentication.
    pub client_trusted: Vec<CertificateDer<'static>>,
    /// Whether a client certificate is required (else optional) when `client_trusted` is set.
    pub client_required: bool,
}

impl TlsServerSettings {
    /// The rustls server configuration, on *ring*.
    pub fn server_config(&self) -> Result<rustls::ServerConfig, TlsConfigError> {
        self.server_config_with(TlsProvider::Ring)
    }

    /// The rustls server configuration on `provider`.
    pub fn server_config_with(
        &self,
        provider: TlsProvider,
    ) -> Result<rustls::ServerConfig, TlsConfigError> {
        let provider = provider.rustls()?;
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsConfigError::Rustls(e.to_string()))?;
        let builder = if self.client_trusted.is_empty() {
            builder.with_no_client_auth()
        } else {
            let mut roots = rustls::RootCertStore::empty();
            for cert in &self.client_trusted {
                roots.add(cert.clone()).map_err(|e| {
                    TlsConfigError::Rustls(format!("unusable client trust anchor: {e}"))
                })?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            );
            let verifier = if self.client_required {
                verifier.build()
            } else {
                verifier.allow_unauthenticated().build()
            }
            .map_err(|e| TlsConfigError::Rustls(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        };
        builder
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| TlsConfigError::Rustls(format!("server certificate: {e}")))
    }
}
