//! `cmp-load`: a load generator for any CMP server.
//!
//! ```text
//! cmp-load --server URL (--secret SRC --ref REF | --cert F --key F) [--trusted F]
//!          --concurrency N --count N [--implicit-confirm] [--no-keep-alive] [--format json]
//! ```
//!
//! `N` clients (tasks, each with its own connection) enroll fresh EC P-256 keys with `ir` until
//! `count` enrollments were made, PBM-protected with OpenSSL's defaults (500 iterations) or
//! signed. Every exchange is finished as a correct client finishes it: the certificate is
//! checked (a certificate for another key — the OpenSSL mock always returns its one
//! `-rsp_cert` — is refused by certConf, and the server's pkiConf ends the exchange; it
//! counts as *rejected*, as does a server's refusal); transport errors, timeouts and responses
//! that fail our checks count as *failed*. The summary gives finished exchanges per second
//! (accepted + rejected), the counts, the time, and latency percentiles of finished
//! exchanges; `--format json` prints it as one JSON object. Exit 0 when nothing failed, 1
//! otherwise, 2 for bad options.

mod client;
mod stats;

/// mimalloc: 4 % less CPU per enrollment than glibc malloc for the generator (measured with
/// `scripts/bench-server.sh`, which shares the cores between the server and the generator);
/// the generator's memory is not what the benchmark measures (the server keeps glibc's, see
/// `cmp-server`'s `main.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use cmp_core::crypto::PrivateKeyExt;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use cmp_core::asn1::CmpCertificate;
use cmp_core::crypto::PrivateKey;
use cmp_core::protection::MacSettings;
use cmp_core::transaction::Credentials;
use cmp_core::transport::Transport;
use cmp_crypto::secret::SecretSource;
use cmp_transport_http::{HttpTransport, TlsClientSettings, read_pem_certificates};
use cmp_transport_tcp::TcpTransport;

use client::{Plan, enroll_one};
use stats::{Outcome, Summary};

/// Load generator for CMP servers: concurrent ir enrollments with fresh EC P-256 keys.
#[derive(Debug, Parser)]
#[command(name = "cmp-load", version)]
struct Cli {
    /// The server: http://…, https://…, tcp://… or tcps://….
    #[arg(long, value_name = "URL")]
    server: String,
    /// Shared secret (PBM, OpenSSL's defaults): pass:TEXT, env:VAR or file:PATH.
    #[arg(long, value_name = "SRC", requires = "reference")]
    secret: Option<SecretSource>,
    /// The reference (senderKID) that goes with --secret.
    #[arg(long = "ref", value_name = "VALUE")]
    reference: Option<String>,
    /// Certificate for signature protection (with --key).
    #[arg(long, value_name = "FILE", requires = "key", conflicts_with = "secret")]
    cert: Option<std::path::PathBuf>,
    /// The key of --cert (PEM or DER).
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<std::path::PathBuf>,
    /// Trust anchors for signed responses (and the TLS server of https/tcps).
    #[arg(long, value_name = "FILE")]
    trusted: Option<std::path::PathBuf>,
    /// Clients running at once (1..=10000).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    concurrency: u64,
    /// Enrollments in all (1..=10000000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    count: u64,
    /// Ask for implicit confirmation (no certConf when granted).
    #[arg(long)]
    implicit_confirm: bool,
    /// Longest time one enrollment may take, in seconds.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// A new HTTP connection for every message (`Connection: close`): for servers that serve
    /// one connection at a time, such as `openssl cmp -port`.
    #[arg(long)]
    no_keep_alive: bool,
    /// Summary format: text or json.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    format: String,
}

/// A bad option, said in one sentence (exit 2).
struct Usage(String);

fn certificates(option: &str, path: &std::path::Path) -> Result<Vec<CmpCertificate>, Usage> {
    read_pem_certificates(path)
        .map_err(|e| Usage(format!("{option}: {e}")))?
        .iter()
        .map(|c| {
            CmpCertificate::from_der(c.as_ref())
                .map_err(|e| Usage(format!("{option} {}: {e}", path.display())))
        })
        .collect()
}

fn plan(cli: &Cli) -> Result<Plan, Usage> {
    let trusted = match &cli.trusted {
        Some(p) => certificates("--trusted", p)?,
        None => Vec::new(),
    };
    let (credentials, protection_key) = match (&cli.secret, &cli.cert, &cli.key) {
        (Some(src), _, _) => {
            let secret = src.read().map_err(|e| Usage(format!("--secret: {e}")))?;
            let reference = cli.reference.clone().unwrap_or_default().into_bytes();
            (
                Credentials::Mac {
                    secret,
                    reference,
                    settings: MacSettings::pbm_default(),
                },
                None,
            )
        }
        (None, Some(cert), Some(key)) => {
            let cert = certificates("--cert", cert)?
                .into_iter()
                .next()
                .ok_or_else(|| Usage("--cert: no certificate".into()))?;
            let key = cmp_crypto::software::read_key_file(key, None)
                .map_err(|e| Usage(format!("--key: {e}")))?;
            if !key.matches_public_key(cert.subject_public_key_info()) {
                return Err(Usage("--key does not belong to --cert".into()));
            }
            let alg = key.spec().default_signature_algorithm();
            let key: Arc<dyn PrivateKey> = Arc::new(key);
            (
                Credentials::Signature {
                    cert,
                    chain: Vec::new(),
                    alg,
                },
                Some(key),
            )
        }
        _ => {
            return Err(Usage(
                "give --secret and --ref (shared secret) or --cert and --key (signature)".into(),
            ));
        }
    };
    Ok(Plan {
        credentials,
        protection_key,
        trusted,
        implicit_confirm: cli.implicit_confirm,
        timeout: Duration::from_secs(cli.timeout),
    })
}

/// A transport for one client: each client keeps its own connection.
fn transport(cli: &Cli) -> Result<Box<dyn Transport>, Usage> {
    let url = cli.server.as_str();
    let timeout = Duration::from_secs(cli.timeout);
    let tls = || -> Result<TlsClientSettings, Usage> {
        let path = cli
            .trusted
            .as_deref()
            .ok_or_else(|| Usage(format!("{url} needs --trusted for the TLS server")))?;
        TlsClientSettings::trusting(path).map_err(|e| Usage(e.to_string()))
    };
    if url.starts_with("tcp://") || url.starts_with("tcps://") {
        let mut b = TcpTransport::builder(url).message_timeout(timeout);
        if url.starts_with("tcps://") {
            let config = tls()?.client_config().map_err(|e| Usage(e.to_string()))?;
            b = b.tls(Arc::new(config), None);
        }
        return Ok(Box::new(b.build().map_err(|e| Usage(e.to_string()))?));
    }
    let mut b = HttpTransport::builder(url)
        .message_timeout(timeout)
        .keep_alive(!cli.no_keep_alive)
        .no_proxy();
    if url.starts_with("https://") {
        b = b.tls(tls()?);
    }
    Ok(Box::new(b.build().map_err(|e| Usage(e.to_string()))?))
}

async fn run(cli: &Cli, plan: Arc<Plan>) -> Result<Summary, Usage> {
    let next = Arc::new(AtomicU64::new(0));
    let bar = indicatif::ProgressBar::new(cli.count);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} enrollments, {per_sec}",
        )
        .map_err(|e| Usage(e.to_string()))?,
    );
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..cli.concurrency.min(cli.count) {
        let transport = transport(cli)?;
        let (plan, next, bar, count) = (plan.clone(), next.clone(), bar.clone(), cli.count);
        tasks.spawn(async move {
            let mut done = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    return done;
                }
                done.push(enroll_one(&plan, transport.as_ref(), n).await);
                bar.inc(1);
            }
        });
    }
    let mut outcomes = Vec::with_capacity(usize::try_from(cli.count).unwrap_or(0));
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(done) => outcomes.extend(done),
            Err(e) => outcomes.push((Outcome::Failed(format!("client task: {e}")), Duration::ZERO)),
        }
    }
    let elapsed = start.elapsed();
    bar.finish_and_clear();
    // The distinct reasons of failures, at most five, so an operator sees why.
    let mut reasons: Vec<(&str, u64)> = Vec::new();
    for (o, _) in &outcomes {
        if let Outcome::Failed(why) = o {
            if let Some((_, n)) = reasons.iter_mut().find(|(r, _)| *r == why.as_str()) {
                *n += 1;
            } else if reasons.len() < 5 {
                reasons.push((why, 1));
            }
        }
    }
    for (why, n) in reasons {
        eprintln!("cmp-load: {n} failed: {why}");
    }
    Ok(Summary::new(&outcomes, elapsed))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = plan(&cli).and_then(|plan| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| Usage(format!("cannot start the async runtime: {e}")))?;
        rt.block_on(run(&cli, Arc::new(plan)))
    });
    match result {
        Ok(summary) => {
            if cli.format == "json" {
                match serde_json::to_string(&summary) {
                    Ok(j) => println!("{j}"),
                    Err(e) => {
                        eprintln!("cmp-load: {e}");
                        return ExitCode::from(1);
                    }
                }
            } else {
                print!("{}", summary.text());
            }
            if summary.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(Usage(message)) => {
            eprintln!("cmp-load: {message}");
            ExitCode::from(2)
        }
    }
}
