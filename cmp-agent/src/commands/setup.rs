//! Turning command-line options into a transaction configuration, a transport and keys.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use cmp_core::asn1::CmpCertificate;
use cmp_core::client::Sleep;
use cmp_core::crypto::{DigestAlgorithm, PathPolicy, PrivateKey, PrivateKeyExt, RevocationCheck};
use cmp_core::names::parse_name;
use cmp_core::protection::MacSettings;
use cmp_core::registry::{Registry, SettingValue, Settings};
use cmp_core::transaction::{Credentials, ResponseTrust, TransactionConfig};
use cmp_core::transport::Transport;
use rasn_pkix::{GeneralName, Name};

use super::AgentError;
use super::keys::KeyBackends;
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

/// MAC key derivations (PBM's iterated hash, PBMAC1's PBKDF2) on tokio's blocking pool,
/// never on the thread that polls the transaction: the daemon's, whose runtime has other
/// work (the one-shot commands derive inline).
#[cfg(feature = "daemon")]
#[derive(Debug, Default)]
pub(crate) struct TokioBlocking;

#[cfg(feature = "daemon")]
impl cmp_core::client::Blocking for TokioBlocking {
    fn run(&self, job: Box<dyn FnOnce() + Send>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            let _ = tokio::task::spawn_blocking(job).await;
        })
    }
}

/// The most MAC keys derived before one call of a transaction (ours and the response's).
#[cfg(feature = "daemon")]
const MAX_DERIVATIONS_PER_CALL: usize = 4;

/// For a transaction driven step by step (the daemon): derives the MAC keys `tx` needs
/// before its next call (with `response`: before `on_response`) on tokio's blocking pool and
/// hands them over, as [`cmp_core::client::Driver`] does with [`TokioBlocking`].
#[cfg(feature = "daemon")]
pub(crate) async fn feed_mac_keys<T: cmp_core::transaction::Transaction>(
    tx: &mut T,
    response: Option<&[u8]>,
) -> Result<(), cmp_core::ClientError> {
    for _ in 0..MAX_DERIVATIONS_PER_CALL {
        let Some(derivation) = tx.mac_key_needed(response) else {
            return Ok(());
        };
        let key = tokio::task::spawn_blocking(move || derivation.derive())
            .await
            .map_err(|e| {
                cmp_core::ClientError::Local(format!("the MAC key derivation did not finish: {e}"))
            })?
            .map_err(|e| cmp_core::ClientError::Local(format!("deriving a MAC key: {e}")))?;
        tx.on_mac_key(key);
    }
    Ok(())
}

/// What a client command works with.
pub(crate) struct Setup<'a> {
    /// The transaction configuration (the command may still adjust it).
    pub(crate) config: TransactionConfig,
    /// The transport for `--server`.
    pub(crate) transport: Arc<dyn Transport>,
    /// The key protecting our messages (signature credentials).
    pub(crate) protection_key: Option<Arc<dyn PrivateKey>>,
    /// Our certificate (`--cert`).
    pub(crate) own_cert: Option<CmpCertificate>,
    /// The key backends (`--key-backend`).
    pub(crate) keys: KeyBackends<'a>,
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

/// The transport settings of the options (see [`crate::builtins`]): only what was given, so
/// that a transport the options do not apply to is not handed them.
fn transport_settings(args: &ClientArgs) -> Result<Settings, AgentError> {
    let mut s = Settings::new().with(
        "message_timeout",
        i64::try_from(args.msg_timeout).unwrap_or(i64::MAX),
    );
    if let Some(p) = &args.proxy {
        s.insert("proxy", p.as_str());
    }
    if let Some(n) = &args.no_proxy {
        s.insert("no_proxy", n.as_str());
    }
    if !args.crls.is_empty() {
        let crls: Vec<String> = args.crls.iter().map(|p| p.display().to_string()).collect();
        s.insert("crls", crls);
    }
    if args.crl_check {
        s.insert("crl_check", true);
    }
    if args.crl_check_all {
        s.insert("crl_check_all", true);
    }
    let mut tls = Settings::new();
    let path = |p: &std::path::PathBuf| SettingValue::Text(p.display().to_string());
    if let Some(p) = &args.tls_trusted {
        tls.insert("trusted", path(p));
    }
    if args.tls_system_roots {
        tls.insert("system_roots", true);
    }
    if let Some(p) = &args.tls_cert {
        tls.insert("cert", path(p));
    }
    if let Some(p) = &args.tls_key {
        tls.insert("key", path(p));
    }
    if args.tls_cert.is_some() {
        if let Some(pass) = secret("--tls-keypass", args.tls_keypass.as_ref())? {
            tls.insert("keypass", SettingValue::Secret(pass));
        }
    }
    if let Some(h) = &args.tls_host {
        tls.insert("host", h.as_str());
    }
    // TLS follows the chosen crypto: with the aws-lc key backend, rustls runs on aws-lc-rs.
    if !tls.is_empty() && args.key_backend.as_deref() == Some("aws-lc") {
        tls.insert("provider", "aws-lc");
    }
    if !tls.is_empty() {
        s.insert("tls", tls);
    }
    Ok(s)
}

/// The transport for `--server`, built by the registry's transport for the URL's scheme. A
/// `--tls-key` that is a `pkcs11:` URI is loaded from the token and handed to the transport
/// as a key object: the TLS handshake is signed inside the token.
async fn transport(
    args: &ClientArgs,
    registry: &Registry,
    keys: &KeyBackends<'_>,
) -> Result<Arc<dyn Transport>, AgentError> {
    let mut settings = transport_settings(args)?;
    if let Some(uri) = args
        .tls_key
        .as_deref()
        .and_then(|p| p.to_str())
        .filter(|p| p.starts_with("pkcs11:"))
    {
        let key = keys.load("--tls-key", uri, None).await?;
        let mut tls = settings
            .table("tls")
            .ok()
            .flatten()
            .cloned()
            .unwrap_or_default();
        tls.insert("key", SettingValue::Key(key));
        settings.insert("tls", tls);
    }
    registry
        .build_transport(&args.server, &settings)
        .map_err(|e| AgentError::usage(e.to_string()))
}

/// Builds everything the options describe. `subject` is the sender name for MAC
/// protection (the subject being enrolled), when there is one.
pub(crate) async fn setup<'a>(
    args: &'a ClientArgs,
    subject: Option<&Name>,
    registry: &'a Registry,
) -> Result<Setup<'a>, AgentError> {
    let backend = args
        .key_backend
        .as_deref()
        .unwrap_or(crate::config::DEFAULT_KEY_BACKEND);
    let keys = KeyBackends::new(registry, backend)?;
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
        let key = keys.load("--key", key, args.keypass.as_ref()).await?;
        if !key.matches_public_key(cert.subject_public_key_info()) {
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
        transport: transport(args, registry, &keys).await?,
        protection_key,
        own_cert,
        keys,
    })
}

#[cfg(all(test, feature = "daemon"))]
mod blocking_tests {
    use std::sync::Arc;

    use cmp_core::builder::CertTemplateBuilder;
    use cmp_core::crypto::{KeySpec, PrivateKey, PrivateKeyExt};
    use cmp_core::protection::MacSettings;
    use cmp_core::transaction::{
        Credentials, Enrollment, EnrollmentKind, EnrollmentRequest, PopoMethod, Transaction,
        TransactionConfig,
    };
    use cmp_crypto::software::SoftwareKey;

    use super::feed_mac_keys;

    fn enrollment(settings: MacSettings) -> Enrollment {
        let p = cmp_crypto::default_provider();
        let config = TransactionConfig::new(
            p.primitives,
            p.paths,
            Credentials::Mac {
                secret: b"blocking-test-secret".to_vec().into(),
                reference: b"blocking-test".to_vec(),
                settings,
            },
        );
        let key = SoftwareKey::generate(KeySpec::EcP256).expect("key");
        let subject = cmp_core::names::parse_name("CN=blocking").expect("dn");
        let request = EnrollmentRequest {
            kind: EnrollmentKind::Ir,
            template: CertTemplateBuilder::new().subject(subject).build(),
            public_key: Some(key.public_key_info().expect("spki")),
            popo: PopoMethod::Signature(key.spec().default_signature_algorithm()),
            controls: None,
            csr: None,
        };
        Enrollment::new(Arc::new(config), request).expect("enrollment")
    }

    /// PBM and PBMAC1: the key the first request needs is derived on the blocking pool of a
    /// current-thread runtime (the daemon's) and handed over; none is needed after.
    #[test]
    fn mac_keys_are_derived_on_the_blocking_pool_and_handed_over() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        for settings in [MacSettings::pbm_default(), MacSettings::pbmac1_default()] {
            let mut tx = enrollment(settings);
            assert!(tx.mac_key_needed(None).is_some(), "a key is needed first");
            rt.block_on(feed_mac_keys(&mut tx, None)).expect("derived");
            assert!(tx.mac_key_needed(None).is_none(), "the key was handed over");
        }
    }
}
