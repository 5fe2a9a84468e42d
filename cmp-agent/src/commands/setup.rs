//! Turning command-line options into a transaction configuration, a transport and keys.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use cmp_core::asn1::CmpCertificate;
use cmp_core::client::Sleep;
use cmp_core::crypto::{
    DigestAlgorithm, KeyLocator, KeySpec, PathPolicy, PrivateKey, RevocationCheck,
};
use cmp_core::names::parse_name;
use cmp_core::protection::MacSettings;
use cmp_core::transaction::{Credentials, ResponseTrust, TransactionConfig};
use cmp_core::transport::Transport;
use cmp_transport_http::{
    ClientIdentity, HttpTransport, ProxySettings, ServerUrl, TlsClientSettings, TlsRevocation,
    read_pem_certificates, read_pem_private_key,
};
use cmp_transport_tcp::TcpTransport;
use rasn_pkix::{GeneralName, Name};

use super::AgentError;
use crate::certs::read_certs;
use crate::client_cli::ClientArgs;
use crate::secret::SecretSource;

/// Sleeping on the tokio runtime.
#[derive(Debug, Default)]
pub(crate) struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// What a client command works with.
pub(crate) struct Setup {
    /// The transaction configuration (the command may still adjust it).
    pub(crate) config: TransactionConfig,
    /// The transport for `--server`.
    pub(crate) transport: Box<dyn Transport>,
    /// The key protecting our messages (signature credentials).
    pub(crate) protection_key: Option<Arc<dyn PrivateKey>>,
    /// Our certificate (`--cert`).
    pub(crate) own_cert: Option<CmpCertificate>,
}

pub(crate) fn dn(option: &str, text: &str) -> Result<Name, AgentError> {
    parse_name(text).map_err(|e| AgentError::usage(format!("{option}: {e}")))
}

fn certs(option: &str, path: Option<&std::path::Path>) -> Result<Vec<CmpCertificate>, AgentError> {
    match path {
        None => Ok(Vec::new()),
        Some(p) => {
            read_certs(p).map_err(|e| AgentError::usage(format!("{option} {}: {e}", p.display())))
        }
    }
}

pub(crate) fn one_cert(option: &str, path: &std::path::Path) -> Result<CmpCertificate, AgentError> {
    certs(option, Some(path))?
        .into_iter()
        .next()
        .ok_or_else(|| AgentError::usage(format!("{option} {}: no certificate", path.display())))
}

/// The revocation policy of `--crls`, `--crl-check` and `--crl-check-all`.
pub(crate) fn path_policy(args: &ClientArgs) -> Result<PathPolicy, AgentError> {
    let revocation = match (args.crl_check, args.crl_check_all) {
        (_, true) => RevocationCheck::All,
        (true, false) => RevocationCheck::EndEntity,
        (false, false) => RevocationCheck::None,
    };
    let mut crls = Vec::new();
    for p in &args.crls {
        crls.extend(
            crate::certs::read_crls(p)
                .map_err(|e| AgentError::usage(format!("--crls {}: {e}", p.display())))?,
        );
    }
    match (revocation, crls.is_empty()) {
        (RevocationCheck::None, false) => Err(AgentError::usage(
            "--crls is used only with --crl-check or --crl-check-all",
        )),
        (RevocationCheck::None, true) => Ok(PathPolicy::default()),
        (_, true) => Err(AgentError::usage(
            "--crl-check and --crl-check-all need --crls FILE (the CRLs to check against)",
        )),
        (revocation, false) => Ok(PathPolicy {
            revocation,
            crls,
            ..PathPolicy::default()
        }),
    }
}

fn secret(
    option: &str,
    src: Option<&SecretSource>,
) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, AgentError> {
    src.map(|s| {
        s.read()
            .map_err(|e| AgentError::usage(format!("{option}: {e}")))
    })
    .transpose()
}

/// Loads a key: a pkcs11: URI (kept in the token), or a PEM/DER file.
pub(crate) async fn load_key(
    option: &str,
    spec: &str,
    pass: Option<&SecretSource>,
) -> Result<Arc<dyn PrivateKey>, AgentError> {
    if spec.starts_with("pkcs11:") {
        let keys = cmp_crypto::pkcs11::Pkcs11Keys::open(spec)
            .map_err(|e| AgentError::local(format!("{option}: {e}")))?;
        return cmp_core::crypto::KeyProvider::load(&keys, &KeyLocator::Uri(spec.to_owned()))
            .await
            .map_err(|e| AgentError::local(format!("{option}: {e}")));
    }
    let password = secret(&format!("{option} password"), pass)?;
    let key = cmp_crypto::software::read_key_file(
        std::path::Path::new(spec),
        password.as_ref().map(|p| p.as_slice()),
    )
    .map_err(|e| AgentError::usage(format!("{option}: {e}")))?;
    Ok(Arc::new(key))
}

/// Generates a key for `gen:ALG` inside the token of `uri`, labelled with its `object`.
pub(crate) async fn generate_token_key(
    alg: &str,
    uri: &str,
) -> Result<Arc<dyn PrivateKey>, AgentError> {
    let spec: KeySpec = alg
        .parse()
        .map_err(|e| AgentError::usage(format!("--newkey gen:{alg}: {e}")))?;
    let parsed: cmp_crypto::pkcs11::Pkcs11Uri = uri
        .parse()
        .map_err(|e| AgentError::usage(format!("--newkeyout: {e}")))?;
    let label = parsed.object.ok_or_else(|| {
        AgentError::usage("--newkeyout pkcs11:URI needs object=LABEL to name the new key")
    })?;
    let keys = cmp_crypto::pkcs11::Pkcs11Keys::open(uri)
        .map_err(|e| AgentError::local(format!("--newkeyout: {e}")))?;
    keys.generate_labelled(spec, &label)
        .await
        .map_err(|e| AgentError::local(format!("--newkeyout: {e}")))
}

/// Generates a software key for `gen:ALG`.
pub(crate) fn generate_key(alg: &str) -> Result<Arc<dyn PrivateKey>, AgentError> {
    let spec: KeySpec = alg
        .parse()
        .map_err(|e| AgentError::usage(format!("--newkey gen:{alg}: {e}")))?;
    cmp_crypto::software::SoftwareKey::generate(spec)
        .map(|k| Arc::new(k) as Arc<dyn PrivateKey>)
        .map_err(|e| AgentError::local(format!("key generation failed: {e}")))
}

/// The TLS client key: PEM as rustls reads it, or (with a password, or in any encoding the
/// software backend reads) decoded to PKCS#8.
fn tls_key(
    path: &std::path::Path,
    pass: Option<&SecretSource>,
) -> Result<rustls_pki_types::PrivateKeyDer<'static>, AgentError> {
    if pass.is_none() {
        if let Ok(k) = read_pem_private_key(path) {
            return Ok(k);
        }
    }
    let password = secret("--tls-keypass", pass)?;
    let key = cmp_crypto::software::read_key_file(path, password.as_ref().map(|p| p.as_slice()))
        .map_err(|e| AgentError::usage(format!("--tls-key: {e}")))?;
    let der = cmp_core::crypto::PrivateKey::to_pkcs8_der(&key)
        .ok_or_else(|| AgentError::usage("--tls-key: the key cannot be exported"))?;
    Ok(rustls_pki_types::PrivateKeyDer::Pkcs8(der.to_vec().into()))
}

fn transport(args: &ClientArgs) -> Result<Box<dyn Transport>, AgentError> {
    let url = args.server.as_str();
    let timeout = Duration::from_secs(args.msg_timeout);
    let tls = || -> Result<TlsClientSettings, AgentError> {
        if args.tls_trusted.is_none() && !args.tls_system_roots {
            return Err(AgentError::usage(format!(
                "{url} needs --tls-trusted (trust anchors for the server's TLS certificate) or --tls-system-roots"
            )));
        }
        let mut s = TlsClientSettings {
            trusted: match args.tls_trusted.as_deref() {
                Some(p) => read_pem_certificates(p)
                    .map_err(|e| AgentError::usage(format!("--tls-trusted: {e}")))?,
                None => Vec::new(),
            },
            identity: None,
            server_name: args.tls_host.clone(),
            revocation: None,
        };
        let policy = path_policy(args)?;
        if policy.revocation != RevocationCheck::None {
            s.revocation = Some(TlsRevocation {
                crls: policy.crls.into_iter().map(Into::into).collect(),
                whole_path: args.crl_check_all,
            });
        }
        if args.tls_system_roots {
            s = s
                .with_system_roots()
                .map_err(|e| AgentError::usage(e.to_string()))?;
        }
        if let Some(cert) = &args.tls_cert {
            let key = args
                .tls_key
                .as_deref()
                .ok_or_else(|| AgentError::usage("--tls-cert needs --tls-key"))?;
            s.identity = Some(ClientIdentity::Pem {
                chain: read_pem_certificates(cert)
                    .map_err(|e| AgentError::usage(format!("--tls-cert: {e}")))?,
                key: tls_key(key, args.tls_keypass.as_ref())?,
            });
        }
        Ok(s)
    };
    let transport_error = |e: cmp_core::transport::TransportError| AgentError::usage(e.to_string());
    if url.starts_with("tcp://") || url.starts_with("tcps://") {
        let mut b = TcpTransport::builder(url).message_timeout(timeout);
        if url.starts_with("tcps://") {
            let settings = tls()?;
            let config = settings
                .client_config()
                .map_err(|e| AgentError::usage(e.to_string()))?;
            b = b.tls(Arc::new(config), settings.server_name.clone());
        }
        return Ok(Box::new(b.build().map_err(transport_error)?));
    }
    let mut b = HttpTransport::builder(url).message_timeout(timeout);
    if url.starts_with("https://") {
        b = b.tls(tls()?);
    }
    b = match (&args.proxy, &args.no_proxy) {
        (Some(p), no) => {
            b.proxy(ProxySettings::new(p, no.as_deref().unwrap_or("")).map_err(transport_error)?)
        }
        // The environment's proxy, with --no-proxy added to its no_proxy list.
        (None, Some(no)) => {
            let server = ServerUrl::parse(url).map_err(transport_error)?;
            match ProxySettings::from_env(&server).map_err(transport_error)? {
                Some(env) => {
                    let env = env.with_no_proxy(no);
                    if env.applies_to(&server) {
                        b.proxy(env)
                    } else {
                        b.no_proxy()
                    }
                }
                None => b.no_proxy(),
            }
        }
        (None, None) => b,
    };
    Ok(Box::new(b.build().map_err(transport_error)?))
}

/// Builds everything the options describe. `subject` is the sender name for MAC
/// protection (the subject being enrolled), when there is one.
pub(crate) async fn setup(args: &ClientArgs, subject: Option<&Name>) -> Result<Setup, AgentError> {
    let provider = cmp_crypto::default_provider();
    let own_cert = args
        .cert
        .as_deref()
        .map(|p| one_cert("--cert", p))
        .transpose()?;
    let mut protection_key = None;
    let credentials = if let Some(src) = &args.secret {
        let secret = src
            .read()
            .map_err(|e| AgentError::usage(format!("--secret: {e}")))?;
        let reference = args.reference.clone().ok_or_else(|| {
            AgentError::usage("--secret needs --ref (the reference the CA knows the secret by)")
        })?;
        let digest = |o: &str, v: &str| {
            v.parse::<DigestAlgorithm>()
                .map_err(|e| AgentError::usage(format!("{o}: {e}")))
        };
        let settings = if args.pbmac1 {
            MacSettings::Pbmac1 {
                prf: DigestAlgorithm::Sha256,
                mac: DigestAlgorithm::Sha256,
                iterations: args.pbm_iterations.unwrap_or(10_000),
                salt_len: 16,
                key_len: 32,
            }
        } else {
            MacSettings::PasswordBasedMac {
                owf: digest("--digest", &args.digest)?,
                mac: digest("--mac", &args.mac)?,
                iterations: args.pbm_iterations.unwrap_or(500),
                salt_len: 16,
            }
        };
        Credentials::Mac {
            secret,
            reference: reference.into_bytes(),
            settings,
        }
    } else if let (Some(cert), Some(key)) = (&own_cert, &args.key) {
        let key = load_key("--key", key, args.keypass.as_ref()).await?;
        if key.public_key() != cert.subject_public_key_info() {
            return Err(AgentError::usage("--key does not belong to --cert"));
        }
        let alg = key.spec().default_signature_algorithm();
        protection_key = Some(key);
        Credentials::Signature {
            cert: cert.clone(),
            chain: certs("--extracerts", args.extracerts.as_deref())?,
            alg,
        }
    } else {
        return Err(AgentError::usage(
            "no protection: give --secret and --ref (shared secret), or --cert and --key (signature)",
        ));
    };
    let mut config = TransactionConfig::new(provider.primitives, provider.paths, credentials);
    config.sender = match (&config.credentials, &own_cert, subject) {
        (Credentials::Signature { cert, .. }, _, _) => {
            GeneralName::DirectoryName(cert.subject().clone())
        }
        (_, _, Some(s)) => GeneralName::DirectoryName(s.clone()),
        _ => cmp_core::asn1::null_dn(),
    };
    if let Some(r) = &args.recipient {
        config.recipient = GeneralName::DirectoryName(dn("--recipient", r)?);
    }
    config.trust = ResponseTrust {
        trusted: certs("--trusted", args.trusted.as_deref())?,
        untrusted: certs("--untrusted", args.untrusted.as_deref())?,
        srvcert: args
            .srvcert
            .as_deref()
            .map(|p| one_cert("--srvcert", p))
            .transpose()?,
        expected_sender: args
            .expect_sender
            .as_deref()
            .map(|s| dn("--expect-sender", s))
            .transpose()?,
        unprotected_errors: args.unprotected_errors,
        ignore_keyusage: args.ignore_keyusage,
        mac_limits: Default::default(),
        path_policy: path_policy(args)?,
        bootstrap_from_ip: args.bootstrap_trust_from_ip,
    };
    Ok(Setup {
        config,
        transport: transport(args)?,
        protection_key,
        own_cert,
    })
}
