//! # cmp-server (the binary)
//!
//! A CMP CA on HTTP:
//!
//! ```text
//! cmp-server [--config FILE] --listen http://127.0.0.1:0/pkix/ --secret pass:TEXT --ref VALUE \
//!            [--cert FILE --key FILE] [--newwithnew F [--newwithold F] [--oldwithnew F]] \
//!            [--template-subject DN] [--template-key-type SPEC] \
//!            [--validity SECONDS] [--crl-listen http://HOST:PORT/PATH] [--crl-url URL] \
//!            [--ca-cert FILE --ca-key FILE] [--ca-subject DN] [--trusted FILE]… \
//!            [--state-dir DIR [--sqlite-synchronous normal|full]] \
//!            [--max-transactions N] [--transaction-ttl SECONDS] \
//!            [--mac-threads N] [--mac-queue N] \
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

// The system allocator (glibc). mimalloc was measured against it on the idle machine
// (`scripts/bench-server.sh`, 100 000 enrollments): 2-4 % less server CPU per enrollment, but
// twice the RSS (46-51 MiB against 23 MiB) and growing 1.27-1.30x after the warm-up where
// glibc stays within 1.07x — the issue asks for flat memory, so it does not pay here.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Parser;
use cmp_core::asn1::{CrlReason, FailureBit, PkiStatus};
use cmp_core::names::parse_name;
use cmp_core::server::{ForcedStatus, TestKnobs};
use cmp_server::config_file::{self, ClientEntry, OptionKind};
use cmp_server::files::{pem, read_certs, read_secret};
use cmp_server::genp;
use cmp_server::store::{CertificateStore, DB_FILE, serial_hex};
use cmp_server::{
    CaSource, CrlSettings, DEFAULT_QUEUE_PER_THREAD, DerivationPool, IssuancePolicy, Server,
    ServerBuilder, SqliteOptions, SqliteStore, Synchronous,
};
use cmp_transport_http::{TlsServerSettings, read_pem_certificates, read_pem_private_key};

/// The most threads of the blocking pool (database calls): one SQLite connection serves them
/// in turn, so more would only queue on its lock.
const MAX_BLOCKING_THREADS: usize = 16;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "cmp-server",
    about = "A CMP (RFC 9810) CA on HTTP(S) and TCP(S)",
    args_conflicts_with_subcommands = true,
    args_override_self = true
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
    /// A TOML file with the options (an option --NAME is the key NAME, --tls-NAME the key
    /// NAME in [tls]; flags on the command line win) and [[client]] entries: many clients'
    /// secrets and policies (which subjects, subjectAltNames, key types and validity each
    /// reference or client certificate may request).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The validity of issued certificates in seconds (a request for less gets less; a
    /// [[client]]'s max_validity may cut it further); default one year.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=100 * 365 * 24 * 3600))]
    validity: Option<u64>,
    /// Where to listen: http://HOST:PORT/PATH, https://…, tcp://HOST:PORT or tcps://…;
    /// repeat for several listeners. Port 0 picks a free port; each listener prints
    /// `listening on URL` with the real port.
    #[arg(long, value_name = "URL")]
    listen: Vec<String>,
    /// Sign responses to signed requests (and errors) with this certificate (PEM, its chain
    /// after it, or DER) instead of the CA certificate.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// The key of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// genm rootCaCert is answered with this new root (self-signed) in rootCaKeyUpdate.
    #[arg(long, value_name = "FILE")]
    newwithnew: Option<PathBuf>,
    /// The new root key certified by the old one, for rootCaKeyUpdate.
    #[arg(long, value_name = "FILE", requires = "newwithnew")]
    newwithold: Option<PathBuf>,
    /// The old root key certified by the new one, for rootCaKeyUpdate.
    #[arg(long, value_name = "FILE", requires = "newwithnew")]
    oldwithnew: Option<PathBuf>,
    /// genm certReqTemplate is answered with a template of this subject.
    #[arg(long, value_name = "DN")]
    template_subject: Option<String>,
    /// genm certReqTemplate is answered with this key type (ec:P-256, ec:P-384, rsa:2048, …,
    /// ed25519) as keySpec.
    #[arg(long, value_name = "SPEC")]
    template_key_type: Option<String>,
    /// Serve the CA's CRL over HTTP GET at http://HOST:PORT/PATH (port 0: a free one; a line
    /// `serving the CRL at URL` gives the real one). Issued certificates name it as their
    /// CRL distribution point unless --crl-url names another.
    #[arg(long, value_name = "URL")]
    crl_listen: Option<String>,
    /// The CRL distribution point issued certificates carry (e.g. a proxy in front of
    /// --crl-listen); without --crl-listen and --crl-url they carry none.
    #[arg(long, value_name = "URL")]
    crl_url: Option<String>,
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
    /// The most transactions kept (open, or closed and not yet expired). Closed ones make
    /// room for new ones, the oldest first; a new one is refused with systemUnavail only when
    /// this many are unfinished.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_transactions: usize,
    /// How many MAC keys (PBM, PBMAC1: up to about a second each) are derived at once, on
    /// threads of their own; default half the CPUs.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    mac_threads: Option<u16>,
    /// How many maximal MAC key derivations (PBMAC1 with 1 000 000 iterations) may wait for a
    /// derivation thread — cheaper ones take a share of a place (500-iteration PBM a
    /// thousandth); the requests beyond are answered with systemUnavail at once. Default 4
    /// per thread.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=100_000))]
    mac_queue: Option<u32>,
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

/// The TLS settings of https and tcps listeners.
fn tls_settings(cli: &Serve) -> Result<Option<TlsServerSettings>, String> {
    let (cert, key) = match (&cli.tls_cert, &cli.tls_key) {
        (Some(cert), Some(key)) => (cert, key),
        (None, None) => return Ok(None),
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    let client_trusted = match &cli.tls_client_trusted {
        Some(f) => read_pem_certificates(f).map_err(|e| format!("--tls-client-trusted: {e}"))?,
        None => Vec::new(),
    };
    Ok(Some(TlsServerSettings {
        chain: read_pem_certificates(cert).map_err(|e| format!("--tls-cert: {e}"))?,
        key: read_pem_private_key(key).map_err(|e| format!("--tls-key: {e}"))?,
        client_trusted,
        client_required: false,
    }))
}

/// How long in-flight exchanges may take to finish after SIGTERM.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

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
            print!("{}\n{}", c.summary(), pem("CERTIFICATE", &c.certificate));
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

/// The server the command line describes (with the `[[client]]` entries of its
/// configuration file).
fn builder(cli: &Serve, clients: &[ClientEntry]) -> Result<ServerBuilder, String> {
    let mut b = Server::builder().drain_timeout(DRAIN_TIMEOUT);
    for url in &cli.listen {
        b = b.listen(url);
    }
    if let Some(tls) = tls_settings(cli)? {
        b = b.tls(tls);
    }
    if let Some(url) = &cli.forward {
        return Ok(b.forward(url, Duration::from_secs(cli.forward_timeout)));
    }
    b = b.ca(match (&cli.ca_cert, &cli.ca_key) {
        (Some(cert), Some(key)) => CaSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        },
        _ => CaSource::Generate {
            subject: cli.ca_subject.clone(),
        },
    });
    if let (Some(cert), Some(key)) = (&cli.cert, &cli.key) {
        b = b.response_signer(cert, key);
    }
    if let Some(nwn) = &cli.newwithnew {
        let update =
            genp::root_ca_key_update(nwn, cli.newwithold.as_deref(), cli.oldwithnew.as_deref())
                .map_err(|e| format!("--newwithnew: {e}"))?;
        b = b.root_ca_key_update(update);
    }
    if cli.template_subject.is_some() || cli.template_key_type.is_some() {
        let subject = cli
            .template_subject
            .as_deref()
            .map(parse_name)
            .transpose()
            .map_err(|e| format!("--template-subject: {e}"))?;
        let key = cli
            .template_key_type
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e| format!("--template-key-type: {e}"))?;
        b = b.cert_req_template(genp::cert_req_template(subject, key).map_err(|e| e.to_string())?);
    }
    if let Some(url) = &cli.crl_listen {
        b = b.crl_listen(url);
    }
    if let Some(url) = &cli.crl_url {
        b = b.crl_settings(CrlSettings {
            url: Some(url.clone()),
            ..CrlSettings::default()
        });
    }
    if let Some(dir) = &cli.state_dir {
        b = b.state_dir(dir).sqlite(SqliteOptions {
            synchronous: match cli.sqlite_synchronous {
                SyncArg::Normal => Synchronous::Normal,
                SyncArg::Full => Synchronous::Full,
            },
            ..SqliteOptions::default()
        });
    }
    if let (Some(src), Some(reference)) = (&cli.secret, &cli.reference) {
        let secret = read_secret(src).map_err(|e| format!("--{e}"))?;
        b = b.secret(reference.as_bytes(), secret);
    }
    for file in &cli.trusted {
        b = b.trusted(read_certs(file).map_err(|e| format!("--trusted {e}"))?);
    }
    let mut policy = IssuancePolicy::default();
    if let Some(seconds) = cli.validity {
        policy.max_validity = Duration::from_secs(seconds);
    }
    let config = cli.config.as_deref().map(Path::display);
    for (i, entry) in clients.iter().enumerate() {
        let (client, secret) = entry.resolve(i + 1).map_err(|e| {
            format!(
                "configuration file {}: {e}",
                config.as_ref().map(ToString::to_string).unwrap_or_default()
            )
        })?;
        if let Some((reference, secret)) = secret {
            b = b.secret(reference, secret);
        }
        policy.clients.push(client);
    }
    b = b.issuance_policy(policy);
    if cli.mac_threads.is_some() || cli.mac_queue.is_some() {
        let default = DerivationPool::default();
        let threads = cli.mac_threads.map_or(default.threads(), usize::from);
        let queue = cli
            .mac_queue
            .map_or(threads * DEFAULT_QUEUE_PER_THREAD, |q| q as usize);
        b = b.derivation_pool(DerivationPool::new(threads, queue));
    }
    Ok(b.max_transactions(cli.max_transactions)
        .transaction_ttl(Duration::from_secs(cli.transaction_ttl))
        .grant_implicit_confirm(cli.grant_implicit_confirm)
        .accept_ra_verified(cli.accept_raverified)
        .accept_unprotected(cli.accept_unprotected)
        .test_knobs(test_knobs(cli)?))
}

/// Serves until SIGTERM or SIGINT, then drains.
async fn run(cli: Serve, clients: Vec<ClientEntry>) -> Result<(), String> {
    if cli.listen.is_empty() {
        return Err("--listen URL is required (or an operator command: cmp-server certs …)".into());
    }
    let server = builder(&cli, &clients)?
        .start()
        .await
        .map_err(|e| e.to_string())?;
    {
        use std::io::Write;
        let announce: String = server
            .urls()
            .iter()
            .map(|u| format!("listening on {u}\n"))
            .chain(
                server
                    .crl_url()
                    .map(|u| format!("serving the CRL at {u}\n")),
            )
            .collect();
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
    match server.shutdown().await {
        Ok(()) => tracing::info!("drained; bye"),
        Err(e) => tracing::warn!(error = %e, "exiting"),
    }
    Ok(())
}

/// How the option `--long` takes its value, for the configuration file.
fn option_kind(long: &str) -> Option<OptionKind> {
    use clap::CommandFactory;
    if matches!(long, "config" | "help" | "version") {
        return None;
    }
    let command = Cli::command();
    let arg = command
        .get_arguments()
        .find(|a| a.get_long() == Some(long))?;
    Some(match arg.get_action() {
        clap::ArgAction::SetTrue | clap::ArgAction::SetFalse => OptionKind::Switch,
        clap::ArgAction::Append => OptionKind::Values,
        _ => OptionKind::Value,
    })
}

/// The arguments with those of `--config FILE` before them, and its `[[client]]` entries.
fn with_config_file() -> Result<(Vec<OsString>, Vec<ClientEntry>), String> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let mut path = None;
    for (i, a) in args.iter().enumerate().skip(1) {
        let a = a.to_string_lossy();
        if a == "--" {
            break;
        }
        if a == "--config" {
            path = args.get(i + 1).map(PathBuf::from);
        } else if let Some(p) = a.strip_prefix("--config=") {
            path = Some(PathBuf::from(p));
        }
    }
    let Some(path) = path else {
        return Ok((args, Vec::new()));
    };
    let file = config_file::load(&path, option_kind).map_err(|e| e.to_string())?;
    let mut all = Vec::with_capacity(args.len() + file.args.len());
    all.extend(args.first().cloned());
    all.extend(file.args.into_iter().map(OsString::from));
    all.extend(args.into_iter().skip(1));
    Ok((all, file.clients))
}

fn main() -> ExitCode {
    let (args, clients) = match with_config_file() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("cmp-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cli = Cli::parse_from(args);
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
    match runtime.block_on(run(cli.serve, clients)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cmp-server: {e}");
            ExitCode::FAILURE
        }
    }
}
