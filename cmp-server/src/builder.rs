//! [`ServerBuilder`]: everything a running [`Server`] needs, from code or from the command
//! line.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cmp_core::asn1::CmpCertificate;
use cmp_core::asn1::{CertReqTemplateContent, RootCaKeyUpdateContent};
use cmp_core::crypto::{PrivateKey, PrivateKeyExt};
use cmp_core::names::parse_name;
use cmp_core::server::{
    MacDerivation, MemoryStore, ResponseSigner, ServerConfig, TestKnobs, TransactionStore,
};
use cmp_core::transport::{Responder, Transport};
use cmp_transport_http::{HttpTransport, TlsServerSettings};
use cmp_transport_tcp::TcpTransport;
use zeroize::Zeroizing;

use crate::ca::{BuiltinCa, IssuancePolicy};
use crate::crl::{CrlSettings, CrlSource};
use crate::derive_pool::DerivationPool;
use crate::driver::CmpServer;
use crate::error::Error;
use crate::files::read_certs;
use crate::forward::Forwarder;
use crate::listen::{Scheme, bind, parse_listen};
use crate::running::{CrlListener, Server};
use crate::store::{QueuedStore, SqliteOptions, SqliteStore};

/// Where the CA's certificate and key come from.
#[derive(Debug)]
#[non_exhaustive]
pub enum CaSource {
    /// A CA certificate file (PEM, its chain after it, or DER) and its key file (PEM or DER
    /// PKCS#8, SEC1 or PKCS#1) — `--ca-cert`, `--ca-key`.
    Files {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// An EC P-256 root generated at start for this subject (`--ca-subject`), valid from five
    /// minutes ago for ten years. Its key lives only in the process.
    Generate {
        /// The subject, e.g. `CN=cmp-server CA`.
        subject: String,
    },
    /// This CA (any key backend).
    Ca(Box<BuiltinCa>),
}

/// What answers the requests.
#[derive(Debug)]
enum Role {
    /// The built-in CA.
    Ca,
    /// An RA relay to this upstream.
    Forward { url: String, timeout: Duration },
    /// Any responder.
    Responder(Arc<dyn Responder>),
}

/// A change to the engine's configuration after the builder made it.
type Configure = Box<dyn FnOnce(&mut ServerConfig) + Send>;

/// Builds and starts a [`Server`]: the listeners, and the CA (or relay) behind them.
///
/// ```no_run
/// # async fn demo(dir: &std::path::Path) -> Result<(), cmp_server::Error> {
/// use zeroize::Zeroizing;
/// let server = cmp_server::Server::builder()
///     .listen("http://127.0.0.1:0/pkix/")
///     .listen("tcp://127.0.0.1:0")
///     .secret("device-ref", Zeroizing::new(b"a shared secret".to_vec()))
///     .state_dir(dir)
///     .start()
///     .await?;
/// for url in server.urls() {
///     println!("listening on {url}"); // the real ports
/// }
/// let roots = server.ca_certificates(); // trust these
/// # let _ = roots;
/// server.shutdown().await?; // stops accepting, drains the exchanges in flight
/// # Ok(())
/// # }
/// ```
///
/// Defaults: the built-in CA with a generated EC P-256 root (`CN=cmp-server CA`), the state
/// in memory, no shared secrets, only the CA as anchor for signed requests, responses to
/// signed requests signed with the CA key, at most 10 000 transactions remembered for 600 s,
/// issued certificates valid for at most a year, MAC keys derived on a [`DerivationPool`] of
/// half the CPUs, a 30 s drain at shutdown.
#[must_use]
pub struct ServerBuilder {
    listen: Vec<String>,
    tls: Option<TlsServerSettings>,
    role: Role,
    ca: CaSource,
    policy: IssuancePolicy,
    secrets: Vec<(Vec<u8>, Zeroizing<Vec<u8>>)>,
    trusted: Vec<CmpCertificate>,
    state_dir: Option<PathBuf>,
    sqlite: SqliteOptions,
    transaction_ttl: Duration,
    grant_implicit_confirm: bool,
    accept_ra_verified: bool,
    accept_unprotected: bool,
    knobs: TestKnobs,
    configure: Vec<Configure>,
    drain_timeout: Duration,
    derivations: DerivationPool,
    crl: CrlSettings,
    crl_listen: Option<String>,
    root_update: Option<RootCaKeyUpdateContent>,
    cert_req_template: Option<CertReqTemplateContent>,
    signer: Option<(PathBuf, PathBuf)>,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("listen", &self.listen)
            .field("tls", &self.tls.is_some())
            .field("role", &self.role)
            .field("ca", &self.ca)
            .field("secrets", &self.secrets.len())
            .field("state_dir", &self.state_dir)
            .finish_non_exhaustive()
    }
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            listen: Vec::new(),
            tls: None,
            role: Role::Ca,
            ca: CaSource::Generate {
                subject: "CN=cmp-server CA".into(),
            },
            policy: IssuancePolicy::default(),
            secrets: Vec::new(),
            trusted: Vec::new(),
            state_dir: None,
            sqlite: SqliteOptions::default(),
            transaction_ttl: cmp_core::server::DEFAULT_TRANSACTION_TTL,
            grant_implicit_confirm: false,
            accept_ra_verified: false,
            accept_unprotected: false,
            knobs: TestKnobs::default(),
            configure: Vec::new(),
            drain_timeout: Duration::from_secs(30),
            derivations: DerivationPool::default(),
            crl: CrlSettings::default(),
            crl_listen: None,
            root_update: None,
            cert_req_template: None,
            signer: None,
        }
    }
}

impl ServerBuilder {
    /// A builder with the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a listener: `http://HOST:PORT/PATH`, `https://…`, `tcp://HOST:PORT` or
    /// `tcps://…`. Port 0 picks a free port ([`Server::urls`] has the real one).
    pub fn listen(mut self, url: impl Into<String>) -> Self {
        self.listen.push(url.into());
        self
    }

    /// The TLS settings of the https:// and tcps:// listeners.
    pub fn tls(mut self, tls: TlsServerSettings) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Where the CA comes from (default: generated).
    pub fn ca(mut self, ca: CaSource) -> Self {
        self.ca = ca;
        self
    }

    /// What the built-in CA grants (validity, how many certificates it keeps in memory).
    pub fn issuance_policy(mut self, policy: IssuancePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The shared secret of MAC-protected clients that send `reference` as senderKID.
    pub fn secret(mut self, reference: impl Into<Vec<u8>>, secret: Zeroizing<Vec<u8>>) -> Self {
        self.secrets.push((reference.into(), secret));
        self
    }

    /// Trust anchors that client signatures may chain to besides the CA (e.g. a vendor root
    /// for 3GPP-style ir).
    pub fn trusted(mut self, anchors: impl IntoIterator<Item = CmpCertificate>) -> Self {
        self.trusted.extend(anchors);
        self
    }

    /// Keep the state in `DIR/cmp-server.sqlite` (created if missing) instead of memory.
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// The SQLite settings (with [`state_dir`](Self::state_dir)); its `max_transactions`
    /// bounds the in-memory store too.
    pub fn sqlite(mut self, options: SqliteOptions) -> Self {
        self.sqlite = options;
        self
    }

    /// The most transactions kept (open, or closed and not yet expired); closed ones make
    /// room for new ones, so this bounds the transactions in flight.
    pub fn max_transactions(mut self, n: usize) -> Self {
        self.sqlite.max_transactions = n;
        self
    }

    /// How long a transaction is remembered after its last message.
    pub fn transaction_ttl(mut self, ttl: Duration) -> Self {
        self.transaction_ttl = ttl;
        self
    }

    /// Grant implicit confirmation when a request asks for it.
    pub fn grant_implicit_confirm(mut self, yes: bool) -> Self {
        self.grant_implicit_confirm = yes;
        self
    }

    /// Accept raVerified POP from any authenticated client.
    pub fn accept_ra_verified(mut self, yes: bool) -> Self {
        self.accept_ra_verified = yes;
        self
    }

    /// Accept unprotected requests (for tests only).
    pub fn accept_unprotected(mut self, yes: bool) -> Self {
        self.accept_unprotected = yes;
        self
    }

    /// OpenSSL-mock-style test knobs.
    pub fn test_knobs(mut self, knobs: TestKnobs) -> Self {
        self.knobs = knobs;
        self
    }

    /// Changes the engine's configuration after the builder filled it in (for settings the
    /// builder has no method for).
    pub fn configure(mut self, f: impl FnOnce(&mut ServerConfig) + Send + 'static) -> Self {
        self.configure.push(Box::new(f));
        self
    }

    /// Be an RA relay instead of a CA: forward every request unchanged to the CMP server at
    /// `url` (`http://HOST:PORT/PATH` or `tcp://HOST:PORT`), waiting at most `timeout` for
    /// each answer. The CA settings are ignored.
    pub fn forward(mut self, url: impl Into<String>, timeout: Duration) -> Self {
        self.role = Role::Forward {
            url: url.into(),
            timeout,
        };
        self
    }

    /// Serve this responder instead of the built-in CA.
    pub fn responder(mut self, responder: Arc<dyn Responder>) -> Self {
        self.role = Role::Responder(responder);
        self
    }

    /// Where the MAC keys of MAC-protected requests are derived (default: half the CPUs,
    /// four waiting per thread; beyond that `systemUnavail` at once).
    pub fn derivation_pool(mut self, pool: DerivationPool) -> Self {
        self.derivations = pool;
        self
    }

    /// Serve the CA's CRL over HTTP `GET` at this URL (`http://HOST:PORT/PATH`, port 0 for a
    /// free one; [`Server::crl_url`] has the real one). Issued certificates name it as their
    /// cRLDistributionPoint unless [`crl_settings`](Self::crl_settings) gives another URL
    /// (e.g. of a proxy in front).
    pub fn crl_listen(mut self, url: impl Into<String>) -> Self {
        self.crl_listen = Some(url.into());
        self
    }

    /// How CRLs are published (the distribution point URL, nextUpdate, how long a signed
    /// CRL is served).
    pub fn crl_settings(mut self, settings: CrlSettings) -> Self {
        self.crl = settings;
        self
    }

    /// Answer a genm rootCaCert with this root CA key update (newWithNew, newWithOld,
    /// oldWithNew).
    pub fn root_ca_key_update(mut self, update: RootCaKeyUpdateContent) -> Self {
        self.root_update = Some(update);
        self
    }

    /// Answer a genm certReqTemplate with this template.
    pub fn cert_req_template(mut self, template: CertReqTemplateContent) -> Self {
        self.cert_req_template = Some(template);
        self
    }

    /// Sign responses to signed requests (and errors) with this certificate (PEM, its chain
    /// after it, or DER) and key file instead of the CA key.
    pub fn response_signer(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.signer = Some((cert.into(), key.into()));
        self
    }

    /// How long [`Server::shutdown`] waits for the exchanges in flight (default 30 s).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = timeout;
        self
    }

    /// Sets the CA up, binds every listener (all or none) and starts serving on the current
    /// tokio runtime (the database calls run on its blocking pool).
    pub async fn start(mut self) -> Result<Server, Error> {
        if self.listen.is_empty() {
            return Err(Error::NoListener);
        }
        let listens = self
            .listen
            .iter()
            .map(|u| parse_listen(u))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(l) = listens.iter().find(|l| l.scheme.tls()) {
            if self.tls.is_none() {
                return Err(Error::Tls {
                    message: format!(
                        "{}: https:// and tcps:// listeners need a TLS certificate and key (--tls-cert, --tls-key)",
                        l.url
                    ),
                });
            }
        }
        let role = std::mem::replace(&mut self.role, Role::Ca);
        // The CRL listener first: its real URL goes into the certificates.
        let crl_bound = match self.crl_listen.clone() {
            None => None,
            Some(url) if !matches!(role, Role::Ca) => {
                return Err(Error::Listen {
                    url,
                    message: "only the built-in CA has a CRL to serve".into(),
                });
            }
            Some(url) => {
                let listen = parse_listen(&url)?;
                if listen.scheme != Scheme::Http {
                    return Err(Error::Listen {
                        url,
                        message: "the CRL is served over http://HOST:PORT/PATH".into(),
                    });
                }
                let (listener, real) = bind(&listen).await?;
                if self.crl.url.is_none() {
                    self.crl.url = Some(real.clone());
                }
                Some((listener, real, listen.path))
            }
        };
        let (responder, ca_certs, crl): (Arc<dyn Responder>, Vec<CmpCertificate>, _) = match role {
            Role::Forward { url, timeout } => {
                (Arc::new(forwarder(&url, timeout)?), Vec::new(), None)
            }
            Role::Responder(r) => (r, Vec::new(), None),
            Role::Ca => {
                let (server, ca) = self.ca_server().await?;
                let certs = server.config().ca_certs.clone();
                let crl = crl_bound.map(|(listener, url, path)| CrlListener {
                    listener,
                    url,
                    path,
                    source: ca as Arc<dyn CrlSource>,
                });
                (Arc::new(server) as Arc<dyn Responder>, certs, crl)
            }
        };
        Server::start(
            listens,
            self.tls,
            responder,
            ca_certs,
            crl,
            self.drain_timeout,
        )
        .await
    }

    /// The CA, its state and its engine.
    async fn ca_server(&mut self) -> Result<(CmpServer, Arc<BuiltinCa>), Error> {
        let provider = cmp_crypto::default_provider();
        let source = std::mem::replace(
            &mut self.ca,
            CaSource::Generate {
                subject: String::new(),
            },
        );
        let policy = self.policy.clone();
        let ca = match source {
            CaSource::Ca(ca) => *ca,
            CaSource::Files { cert, key } => {
                let mut certs = read_certs(&cert)?;
                let ca_cert = certs.remove(0);
                let key: Arc<dyn PrivateKey> = Arc::new(
                    cmp_crypto::software::read_key_file(&key, None).map_err(|e| Error::File {
                        path: key.display().to_string(),
                        message: e.to_string(),
                    })?,
                );
                BuiltinCa::new(ca_cert, certs, key, provider.primitives.clone(), policy)?
            }
            CaSource::Generate { subject } => {
                let subject = parse_name(&subject).map_err(|e| Error::CaSubject {
                    message: e.to_string(),
                })?;
                BuiltinCa::generate(
                    subject,
                    provider.keys.as_ref(),
                    provider.primitives.clone(),
                    SystemTime::now() - Duration::from_secs(300),
                    Duration::from_secs(10 * 365 * 24 * 3600),
                    policy,
                )
                .await?
            }
        };
        let ca = ca.with_crl(self.crl.clone());
        let (ca, transactions, queued): (BuiltinCa, Arc<dyn TransactionStore>, _) =
            match &self.state_dir {
                Some(dir) => {
                    let store = Arc::new(SqliteStore::open_in(dir, self.sqlite.clone())?);
                    store.bind_ca(ca.ca_cert().der())?;
                    let queued: Arc<dyn QueuedStore> = store.clone();
                    (ca.with_store(store.clone()), store, Some(queued))
                }
                None => (
                    ca,
                    Arc::new(MemoryStore::new(self.sqlite.max_transactions)),
                    None,
                ),
            };
        let ca = Arc::new(ca);
        let mut config = ServerConfig::new(
            provider.primitives.clone(),
            provider.paths.clone(),
            ca.certificates(),
        );
        for (reference, secret) in std::mem::take(&mut self.secrets) {
            config.secrets.insert(reference, secret);
        }
        config
            .client_anchors
            .extend(std::mem::take(&mut self.trusted));
        config.grant_implicit_confirm = self.grant_implicit_confirm;
        config.accept_ra_verified = self.accept_ra_verified;
        config.accept_unprotected = self.accept_unprotected;
        config.transaction_ttl = self.transaction_ttl;
        config.test = self.knobs.clone();
        config.mac_derivation = MacDerivation::Step;
        let signing_key: Arc<dyn PrivateKey> = match self.signer.take() {
            Some((cert, key)) => {
                let mut certs = read_certs(&cert)?;
                let signer_cert = certs.remove(0);
                let key: Arc<dyn PrivateKey> = Arc::new(
                    cmp_crypto::software::read_key_file(&key, None).map_err(|e| Error::File {
                        path: key.display().to_string(),
                        message: e.to_string(),
                    })?,
                );
                if !key.matches_public_key(signer_cert.subject_public_key_info()) {
                    return Err(Error::File {
                        path: cert.display().to_string(),
                        message: format!(
                            "the response signer's key does not belong to {}",
                            cmp_core::names::format_name(signer_cert.subject())
                        ),
                    });
                }
                config.signer = Some(ResponseSigner {
                    cert: signer_cert,
                    chain: certs,
                    alg: key.spec().default_signature_algorithm(),
                });
                key
            }
            None => {
                config.signer = Some(ResponseSigner {
                    cert: ca.ca_cert().clone(),
                    chain: ca.certificates().into_iter().skip(1).collect(),
                    alg: ca.key().spec().default_signature_algorithm(),
                });
                ca.key().clone()
            }
        };
        config.genp.root_ca_key_update = self.root_update.take();
        config.genp.cert_req_template = self.cert_req_template.take();
        config.genp.crls = true;
        for f in std::mem::take(&mut self.configure) {
            f(&mut config);
        }
        let mut server = CmpServer::new(
            Arc::new(config),
            ca.clone(),
            transactions,
            Some(signing_key),
        )
        .with_derivation_pool(self.derivations.clone());
        if let Some(queued) = queued {
            server = server.with_queued_store(queued);
        }
        Ok((server, ca))
    }
}

/// The relay to `url`.
fn forwarder(url: &str, timeout: Duration) -> Result<Forwarder, Error> {
    let bad = |message: String| Error::Forward {
        url: url.to_owned(),
        message,
    };
    let upstream: Arc<dyn Transport> = if url.starts_with("http://") {
        Arc::new(
            HttpTransport::builder(url)
                .build()
                .map_err(|e| bad(e.to_string()))?,
        )
    } else if url.starts_with("tcp://") {
        Arc::new(
            TcpTransport::builder(url)
                .build()
                .map_err(|e| bad(e.to_string()))?,
        )
    } else {
        return Err(bad("give http://HOST:PORT/PATH or tcp://HOST:PORT".into()));
    };
    Ok(Forwarder::new(upstream, url, timeout))
}
