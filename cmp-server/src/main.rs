//! # cmp-server (the binary)
//!
//! A CMP CA on HTTP:
//!
//! ```text
//! cmp-server --listen http://127.0.0.1:0/pkix/ --secret pass:TEXT --ref VALUE \
//!            [--ca-cert FILE --ca-key FILE] [--ca-subject DN] [--trusted FILE]… \
//!            [--state-dir DIR [--sqlite-synchronous normal|full]] \
//!            [--max-transactions N] [--transaction-ttl SECONDS] \
//!            [--grant-implicit-confirm] [--accept-raverified] [--accept-unprotected] \
//!            [--pkistatus N [--failure BIT | --failurebits N] [--statusstring TEXT]] \
//!            [--send-error] [--send-unprotected] [--send-unprot-err] \
//!            [--poll-count N [--check-after S]]
//! cmp-server --listen tcp://127.0.0.1:0 --forward http://127.0.0.1:PORT/pkix/   (RA relay)
//! cmp-server certs list --state-dir DIR
//! cmp-server certs show SERIAL --state-dir DIR
//! cmp-server certs revoke SERIAL [--reason N] --state-dir DIR
//! ```
//!
//! Without `--ca-cert`/`--ca-key` it generates an EC P-256 root at start. Without
//! `--state-dir` the state is in memory and lost at exit; with it, transactions, issued
//! certificates and revocations are in `DIR/cmp-server.sqlite` (SQLite, WAL), committed before
//! the response that reports them leaves, and a restarted server (with the same CA) goes on
//! where it stopped. It prints `listening on URL` with the real port once it accepts
//! requests, then serves until killed.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::Parser;
use cmp_core::asn1::CmpCertificate;
use cmp_core::asn1::{CrlReason, FailureBit, PkiStatus};
use cmp_core::crypto::PrivateKey;
use cmp_core::names::parse_name;
use cmp_core::server::{
    ForcedStatus, MemoryStore, ResponseSigner, ServerConfig, TestKnobs, TransactionStore,
};
use cmp_core::transport::Responder;
use cmp_core::transport::Transport;
use cmp_server::store::{CertificateStore, DB_FILE, serial_hex};
use cmp_server::{
    BuiltinCa, CmpServer, Forwarder, IssuancePolicy, SqliteOptions, SqliteStore, Synchronous,
};
use cmp_transport_http::HttpTransport;
use cmp_transport_http::{
    HttpServer, TlsServerSettings, read_pem_certificates, read_pem_private_key,
};
use cmp_transport_tcp::TcpServer;
use cmp_transport_tcp::TcpTransport;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use zeroize::Zeroizing;

/// The most threads of the blocking pool (database calls): one SQLite connection serves them
/// in turn, so more would only queue on its lock.
const MAX_BLOCKING_THREADS: usize = 16;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "cmp-server",
    about = "A CMP (RFC 9810) CA on HTTP(S) and TCP(S)",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// An operator command instead of serving.
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Serve,
}

/// Operator commands.
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// The certificates in the state directory.
    Certs {
        /// What to do.
        #[command(subcommand)]
        action: Certs,
    },
}

/// `cmp-server certs …`
#[derive(Debug, clap::Subcommand)]
enum Certs {
    /// One line per issued certificate, in the order of issue: SERIAL (hex, as `openssl x509
    /// -serial` prints it), valid or revoked, notAfter, subject.
    List {
        /// The server's state directory.
        #[arg(long, value_name = "DIR")]
        state_dir: PathBuf,
        /// List at most this many.
        #[arg(long, value_name = "N", default_value_t = 1_000_000)]
        max: usize,
    },
    /// The line of one certificate, then the certificate (PEM).
    Show {
        /// The serial number in hex.
        serial: String,
        /// The server's state directory.
        #[arg(long, value_name = "DIR")]
        state_dir: PathBuf,
    },
    /// Revokes a certificate (committed when the command returns; the running server sees it
    /// at once).
    Revoke {
        /// The serial number in hex.
        serial: String,
        /// The CRLReason code (0 unspecified, 1 keyCompromise, … 10 aACompromise).
        #[arg(long, value_name = "N")]
        reason: Option<u8>,
        /// The server's state directory.
        #[arg(long, value_name = "DIR")]
        state_dir: PathBuf,
    },
}

/// `--sqlite-synchronous`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum SyncArg {
    /// A commit survives a crash of the process (the default).
    Normal,
    /// A commit survives a power loss too; every commit waits for an fsync.
    Full,
}

/// Serving options.
#[derive(Debug, clap::Args)]
struct Serve {
    /// Where to listen: http://HOST:PORT/PATH, https://…, tcp://HOST:PORT or tcps://…;
    /// repeat for several listeners. Port 0 picks a free port; each listener prints
    /// `listening on URL` with the real port.
    #[arg(long, value_name = "URL")]
    listen: Vec<String>,
    /// The TLS server certificate (PEM, its chain after it) of https:// and tcps:// listeners.
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Ask TLS clients for a certificate and verify it against these anchors (PEM); clients
    /// without one are still served (CMP protection authenticates them).
    #[arg(long, value_name = "FILE")]
    tls_client_trusted: Option<PathBuf>,
    /// The least severe log level on stderr: error, warn, info (audit lines) or debug.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: tracing::Level,
    /// Keep transactions, issued certificates and revocations in DIR/cmp-server.sqlite
    /// (created if missing); without it the state is in memory and lost at exit.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// How commits reach the disk: normal (survives a crash of the process) or full (also a
    /// power loss; an fsync per commit, i.e. per issued certificate and per message).
    #[arg(
        long,
        value_enum,
        value_name = "MODE",
        default_value = "normal",
        requires = "state_dir"
    )]
    sqlite_synchronous: SyncArg,
    /// The most transactions kept (open, or closed and not yet expired); new ones beyond
    /// that are refused with systemUnavail.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_transactions: usize,
    /// How long a transaction is remembered after its last message, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    transaction_ttl: u64,
    /// Relay: forward every request unchanged to this CMP server (http://HOST:PORT/PATH or
    /// tcp://HOST:PORT) and its answers back; no CA, no state (the CA options are ignored).
    #[arg(long, value_name = "URL", conflicts_with_all = ["state_dir", "ca_cert"])]
    forward: Option<String>,
    /// How long the relay waits for the upstream's answer, in seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        requires = "forward"
    )]
    forward_timeout: u64,
    /// The shared secret of MAC-protected clients: pass:TEXT, env:VAR or file:PATH.
    #[arg(long, value_name = "SRC", requires = "reference")]
    secret: Option<String>,
    /// The reference (senderKID) clients send with --secret.
    #[arg(
        long = "ref",
        id = "reference",
        value_name = "VALUE",
        requires = "secret"
    )]
    reference: Option<String>,
    /// The CA certificate (PEM or DER; a PEM file may hold its chain after it).
    #[arg(long, value_name = "FILE", requires = "ca_key")]
    ca_cert: Option<PathBuf>,
    /// The CA key (PEM or DER PKCS#8, SEC1 or PKCS#1).
    #[arg(long, value_name = "FILE", requires = "ca_cert")]
    ca_key: Option<PathBuf>,
    /// The subject of the CA generated when no --ca-cert is given.
    #[arg(long, value_name = "DN", default_value = "CN=cmp-server CA")]
    ca_subject: String,
    /// Trust anchors that client signatures may chain to besides the CA (e.g. a vendor root
    /// for 3GPP-style ir); PEM or DER.
    #[arg(long, value_name = "FILE")]
    trusted: Vec<PathBuf>,
    /// Grant implicit confirmation when a request asks for it.
    #[arg(long)]
    grant_implicit_confirm: bool,
    /// Accept raVerified POP from any authenticated client.
    #[arg(long)]
    accept_raverified: bool,
    /// Accept unprotected requests (for tests only).
    #[arg(long)]
    accept_unprotected: bool,
    /// Test knob (as OpenSSL's mock server): the PKIStatus of certificate responses — 0
    /// accepted, 1 grantedWithMods, 2 rejection (nothing is issued), 4 revocationWarning,
    /// 5 revocationNotification, 6 keyUpdateWarning (3, waiting, is not supported).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=6))]
    pkistatus: Option<u8>,
    /// Test knob: one failInfo bit (0 badAlg … 26 duplicateCertReq) in certificate responses.
    #[arg(long, value_name = "BIT", requires = "pkistatus", conflicts_with = "failurebits",
          value_parser = clap::value_parser!(u8).range(0..=26))]
    failure: Option<u8>,
    /// Test knob: the failInfo bits as a number (bit i set: failInfo bit i) in certificate
    /// responses.
    #[arg(long, value_name = "N", requires = "pkistatus",
          value_parser = clap::value_parser!(u32).range(0..(1 << 27)))]
    failurebits: Option<u32>,
    /// Test knob: the statusString of certificate responses.
    #[arg(long, value_name = "TEXT", requires = "pkistatus")]
    statusstring: Option<String>,
    /// Test knob: delayed delivery — a certificate response first says `waiting`, and the
    /// client polls N times (pollRep until the last pollReq, which gets the certificate).
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=100))]
    poll_count: u32,
    /// Test knob: the checkAfter of pollRep, in seconds.
    #[arg(long, value_name = "S", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    check_after: u64,
    /// Test knob: answer every request with an error message (badRequest).
    #[arg(long)]
    send_error: bool,
    /// Test knob: send responses without protection.
    #[arg(long)]
    send_unprotected: bool,
    /// Test knob: send negative responses (errors, rejections) without protection.
    #[arg(long)]
    send_unprot_err: bool,
}

/// A secret as `openssl` names its source; the text of `pass:` is never echoed.
fn read_secret(src: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let secret = match src.split_once(':') {
        Some(("pass", text)) => text.as_bytes().to_vec(),
        Some(("env", var)) => std::env::var(var)
            .map_err(|_| format!("--secret env:{var}: the variable is not set"))?
            .into_bytes(),
        Some(("file", path)) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("--secret file:{path}: {e}"))?;
            text.lines().next().unwrap_or_default().as_bytes().to_vec()
        }
        _ => return Err("--secret takes pass:TEXT, env:VAR or file:PATH".into()),
    };
    if secret.is_empty() {
        return Err("--secret: the secret is empty".into());
    }
    Ok(Zeroizing::new(secret))
}

/// The certificates of a PEM file, or the one certificate of a DER file.
fn read_certs(path: &Path) -> Result<Vec<CmpCertificate>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let ders: Vec<Vec<u8>> = if bytes.starts_with(b"-----") {
        CertificateDer::pem_slice_iter(&bytes)
            .map(|c| c.map(|c| c.as_ref().to_vec()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}: {e}", path.display()))?
    } else {
        vec![bytes]
    };
    if ders.is_empty() {
        return Err(format!("{}: no certificate in the file", path.display()));
    }
    ders.iter()
        .map(|d| CmpCertificate::from_der(d).map_err(|e| format!("{}: {e}", path.display())))
        .collect()
}

/// A transport a listener speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
    Tcp,
    Tcps,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Tcp => "tcp",
            Scheme::Tcps => "tcps",
        }
    }

    fn tls(self) -> bool {
        matches!(self, Scheme::Https | Scheme::Tcps)
    }
}

/// One `--listen`.
#[derive(Debug)]
struct Listen {
    scheme: Scheme,
    host: String,
    port: u16,
    /// The HTTP path (`/` for TCP).
    path: String,
}

/// `SCHEME://HOST:PORT[/PATH]` with SCHEME http, https, tcp or tcps.
fn parse_listen(url: &str) -> Result<Listen, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("--listen {url}: give SCHEME://HOST:PORT[/PATH]"))?;
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        "tcp" => Scheme::Tcp,
        "tcps" => Scheme::Tcps,
        other => {
            return Err(format!(
                "--listen {url}: the scheme {other} is not served (http, https, tcp, tcps)"
            ));
        }
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if matches!(scheme, Scheme::Tcp | Scheme::Tcps) && !path.is_empty() {
        return Err(format!("--listen {url}: a TCP listener has no path"));
    }
    // Port 0 (any free port) is fine for a listener, unlike for a server URL.
    let (host, port) = authority
        .rsplit_once(':')
        .filter(|(h, _)| !h.is_empty())
        .ok_or_else(|| format!("--listen {url}: give HOST:PORT"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("--listen {url}: the port is not a number from 0 to 65535"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok(Listen {
        scheme,
        host: host.to_owned(),
        port,
        path: format!("/{path}"),
    })
}

/// The TLS settings of https and tcps listeners.
fn tls_settings(cli: &Serve) -> Result<TlsServerSettings, String> {
    let (Some(cert), Some(key)) = (&cli.tls_cert, &cli.tls_key) else {
        return Err("https:// and tcps:// listeners need --tls-cert and --tls-key".into());
    };
    let client_trusted = match &cli.tls_client_trusted {
        Some(f) => read_pem_certificates(f).map_err(|e| format!("--tls-client-trusted: {e}"))?,
        None => Vec::new(),
    };
    Ok(TlsServerSettings {
        chain: read_pem_certificates(cert).map_err(|e| format!("--tls-cert: {e}"))?,
        key: read_pem_private_key(key).map_err(|e| format!("--tls-key: {e}"))?,
        client_trusted,
        client_required: false,
    })
}

/// Binds every listener (before any is announced, so a failure leaves none half-started).
async fn bind_all(cli: &Serve) -> Result<Vec<(Listen, tokio::net::TcpListener, String)>, String> {
    let mut bound = Vec::new();
    for url in &cli.listen {
        let listen = parse_listen(url)?;
        let listener = tokio::net::TcpListener::bind((listen.host.as_str(), listen.port))
            .await
            .map_err(|e| format!("--listen {url}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let path = match listen.scheme {
            Scheme::Http | Scheme::Https => listen.path.as_str(),
            Scheme::Tcp | Scheme::Tcps => "",
        };
        let real = format!(
            "{}://{}{path}",
            listen.scheme.name(),
            cmp_core::transport::join_authority(&local.ip().to_string(), local.port())
        );
        bound.push((listen, listener, real));
    }
    Ok(bound)
}

/// Waits for SIGTERM or SIGINT.
async fn terminated() -> Result<&'static str, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT: {e}"))?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    })
}

/// How long in-flight exchanges may take to finish after SIGTERM.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The test knobs of the command line.
fn test_knobs(cli: &Serve) -> Result<TestKnobs, String> {
    let mut knobs = TestKnobs::default();
    knobs.send_error = cli.send_error;
    knobs.send_unprotected = cli.send_unprotected;
    knobs.send_unprotected_errors = cli.send_unprot_err;
    knobs.poll_count = cli.poll_count;
    knobs.check_after = cli.check_after;
    if let Some(status) = cli.pkistatus {
        if status == 3 {
            return Err("--pkistatus 3 (waiting): use --poll-count N for delayed delivery".into());
        }
        let bits = match (cli.failure, cli.failurebits) {
            (Some(bit), _) => 1u32 << bit,
            (None, Some(bits)) => bits,
            (None, None) => 0,
        };
        let fail_info = (0..27)
            .filter(|i| bits & (1 << i) != 0)
            .filter_map(|i| FailureBit::from_bit(i as usize))
            .collect();
        knobs.cert_status = Some(ForcedStatus {
            status: PkiStatus(i64::from(status)),
            fail_info,
            text: cli.statusstring.clone(),
        });
    }
    Ok(knobs)
}

/// A serial number given in hex (colons allowed, as `openssl x509 -serial` or `-text` print
/// it): its content octets.
fn parse_serial(text: &str) -> Result<Vec<u8>, String> {
    let digits: String = text.chars().filter(|c| *c != ':').collect();
    let digits = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits
    };
    match hex::decode(&digits) {
        Ok(bytes) if !bytes.is_empty() && bytes.len() <= 20 => Ok(bytes),
        _ => Err(format!(
            "{text}: a serial number is 1 to 20 bytes in hex (e.g. 4A1B…)"
        )),
    }
}

/// The state of an existing state directory (operator commands never create one).
fn open_state(dir: &Path) -> Result<SqliteStore, String> {
    if !dir.join(DB_FILE).is_file() {
        return Err(format!(
            "{}: no {DB_FILE} here (start cmp-server with --state-dir {} first)",
            dir.display(),
            dir.display()
        ));
    }
    SqliteStore::open_in(dir, SqliteOptions::default()).map_err(|e| e.to_string())
}

fn pem(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

fn certs(action: Certs) -> Result<(), String> {
    match action {
        Certs::List { state_dir, max } => {
            let store = open_state(&state_dir)?;
            for c in store.list(max).map_err(|e| e.to_string())? {
                println!("{}", c.summary());
            }
        }
        Certs::Show { serial, state_dir } => {
            let store = open_state(&state_dir)?;
            let serial = parse_serial(&serial)?;
            let c = store
                .get(&serial)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("{}: no such certificate", serial_hex(&serial)))?;
            print!("{}\n{}", c.summary(), pem(&c.certificate));
        }
        Certs::Revoke {
            serial,
            reason,
            state_dir,
        } => {
            let reason = reason
                .map(|r| {
                    CrlReason::from_code(r)
                        .ok_or_else(|| format!("--reason {r}: not a CRLReason code (0-6, 8-10)"))
                })
                .transpose()?;
            let store = open_state(&state_dir)?;
            let serial = parse_serial(&serial)?;
            store
                .revoke(&serial, reason, SystemTime::now())
                .map_err(|e| format!("{}: {e}", serial_hex(&serial)))?;
            println!("revoked {}", serial_hex(&serial));
        }
    }
    Ok(())
}

/// The relay of `--forward`.
fn forwarder(url: &str, timeout: Duration) -> Result<Forwarder, String> {
    let upstream: Arc<dyn Transport> = if url.starts_with("http://") {
        Arc::new(
            HttpTransport::builder(url)
                .build()
                .map_err(|e| format!("--forward {url}: {e}"))?,
        )
    } else if url.starts_with("tcp://") {
        Arc::new(
            TcpTransport::builder(url)
                .build()
                .map_err(|e| format!("--forward {url}: {e}"))?,
        )
    } else {
        return Err(format!(
            "--forward {url}: give http://HOST:PORT/PATH or tcp://HOST:PORT"
        ));
    };
    Ok(Forwarder::new(upstream, url, timeout))
}

async fn run(cli: Serve) -> Result<(), String> {
    if cli.listen.is_empty() {
        return Err("--listen URL is required (or an operator command: cmp-server certs …)".into());
    }
    let responder: Arc<dyn Responder> = match &cli.forward {
        Some(url) => Arc::new(forwarder(url, Duration::from_secs(cli.forward_timeout))?),
        None => Arc::new(ca_server(&cli).await?),
    };
    serve(&cli, responder).await
}

/// The CA of the command line, its state and its engine.
async fn ca_server(cli: &Serve) -> Result<CmpServer, String> {
    let provider = cmp_crypto::default_provider();
    let policy = IssuancePolicy::default();
    let ca = match (&cli.ca_cert, &cli.ca_key) {
        (Some(cert), Some(key)) => {
            let mut certs = read_certs(cert)?;
            let ca_cert = certs.remove(0);
            let key: Arc<dyn PrivateKey> = Arc::new(
                cmp_crypto::software::read_key_file(key, None)
                    .map_err(|e| format!("{}: {e}", key.display()))?,
            );
            BuiltinCa::new(ca_cert, certs, key, provider.primitives.clone(), policy)
        }
        _ => {
            let subject = parse_name(&cli.ca_subject).map_err(|e| format!("--ca-subject: {e}"))?;
            BuiltinCa::generate(
                subject,
                provider.keys.as_ref(),
                provider.primitives.clone(),
                SystemTime::now() - Duration::from_secs(300),
                Duration::from_secs(10 * 365 * 24 * 3600),
                policy,
            )
            .await
        }
    }
    .map_err(|e| e.to_string())?;
    let state = match &cli.state_dir {
        Some(dir) => {
            let options = SqliteOptions {
                synchronous: match cli.sqlite_synchronous {
                    SyncArg::Normal => Synchronous::Normal,
                    SyncArg::Full => Synchronous::Full,
                },
                max_transactions: cli.max_transactions,
                ..SqliteOptions::default()
            };
            let store = SqliteStore::open_in(dir, options).map_err(|e| e.to_string())?;
            store
                .bind_ca(ca.ca_cert().der())
                .map_err(|e| e.to_string())?;
            Some(Arc::new(store))
        }
        None => None,
    };
    let (ca, transactions): (BuiltinCa, Arc<dyn TransactionStore>) = match &state {
        Some(store) => (ca.with_store(store.clone()), store.clone()),
        None => (ca, Arc::new(MemoryStore::new(cli.max_transactions))),
    };
    let ca = Arc::new(ca);
    let mut config = ServerConfig::new(
        provider.primitives.clone(),
        provider.paths.clone(),
        ca.certificates(),
    );
    if let (Some(src), Some(reference)) = (&cli.secret, &cli.reference) {
        config
            .secrets
            .insert(reference.as_bytes().to_vec(), read_secret(src)?);
    }
    for file in &cli.trusted {
        config.client_anchors.extend(read_certs(file)?);
    }
    config.grant_implicit_confirm = cli.grant_implicit_confirm;
    config.accept_ra_verified = cli.accept_raverified;
    config.accept_unprotected = cli.accept_unprotected;
    config.transaction_ttl = Duration::from_secs(cli.transaction_ttl);
    config.test = test_knobs(cli)?;
    config.signer = Some(ResponseSigner {
        cert: ca.ca_cert().clone(),
        chain: ca.certificates().into_iter().skip(1).collect(),
        alg: ca.key().spec().default_signature_algorithm(),
    });
    Ok(CmpServer::new(
        Arc::new(config),
        ca.clone(),
        transactions,
        Some(ca.key().clone()),
    ))
}

/// Serves `responder` on every listener until SIGTERM or SIGINT, then drains.
async fn serve(cli: &Serve, responder: Arc<dyn Responder>) -> Result<(), String> {
    let bound = bind_all(cli).await?;
    let tls = if bound.iter().any(|(l, _, _)| l.scheme.tls()) {
        Some(tls_settings(cli)?)
    } else {
        None
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut serving = tokio::task::JoinSet::new();
    let mut announce = String::new();
    for (listen, listener, real) in bound {
        let mut stop = stop_rx.clone();
        let stopped = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        let responder = responder.clone();
        let tls_for = |tls: &Option<TlsServerSettings>| -> Result<TlsServerSettings, String> {
            let t = tls.as_ref().ok_or("no TLS settings")?;
            Ok(TlsServerSettings {
                chain: t.chain.clone(),
                key: t.key.clone_key(),
                client_trusted: t.client_trusted.clone(),
                client_required: t.client_required,
            })
        };
        match listen.scheme {
            Scheme::Http | Scheme::Https => {
                let mut builder = HttpServer::builder().path(&listen.path);
                if listen.scheme == Scheme::Https {
                    builder = builder.tls(tls_for(&tls)?);
                }
                let http = builder.build().map_err(|e| e.to_string())?;
                serving.spawn(async move { http.serve(listener, responder, stopped).await });
            }
            Scheme::Tcp | Scheme::Tcps => {
                let mut builder = TcpServer::builder();
                if listen.scheme == Scheme::Tcps {
                    let config = tls_for(&tls)?.server_config().map_err(|e| e.to_string())?;
                    builder = builder.tls(Arc::new(config));
                }
                let tcp = builder.build();
                serving.spawn(async move { tcp.serve(listener, responder, stopped).await });
            }
        }
        announce.push_str(&format!("listening on {real}\n"));
        tracing::info!(url = %real, "listening");
    }
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(announce.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| e.to_string())?;
    }
    let signal = terminated().await?;
    tracing::info!(
        signal,
        "stopping: no new connections; draining the exchanges in flight"
    );
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while let Some(r) = serving.join_next().await {
            if let Ok(Err(e)) = r {
                tracing::warn!(error = %e, "a listener failed");
            }
        }
    })
    .await;
    match drained {
        Ok(()) => tracing::info!("drained; bye"),
        Err(_) => tracing::warn!(
            seconds = DRAIN_TIMEOUT.as_secs(),
            "exchanges still in flight after the drain timeout; exiting"
        ),
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Certs { action }) = cli.command {
        return match certs(action) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cmp-server: {e}");
                ExitCode::FAILURE
            }
        };
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(cli.serve.log_level)
        .with_target(true)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cmp-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.serve)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cmp-server: {e}");
            ExitCode::FAILURE
        }
    }
}
