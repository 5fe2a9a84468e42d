//! # cmp-server (the binary)
//!
//! A CMP CA on HTTP with an in-memory transaction table:
//!
//! ```text
//! cmp-server --listen http://127.0.0.1:0/pkix/ --secret pass:TEXT --ref VALUE \
//!            [--ca-cert FILE --ca-key FILE] [--ca-subject DN] [--trusted FILE]… \
//!            [--grant-implicit-confirm] [--accept-raverified] [--accept-unprotected]
//! ```
//!
//! Without `--ca-cert`/`--ca-key` it generates an EC P-256 root at start. It prints
//! `listening on URL` with the real port once it accepts requests, then serves until killed.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::Parser;
use cmp_core::asn1::CmpCertificate;
use cmp_core::crypto::PrivateKey;
use cmp_core::names::parse_name;
use cmp_core::server::{MemoryStore, ResponseSigner, ServerConfig};
use cmp_server::{BuiltinCa, CmpServer, IssuancePolicy};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use zeroize::Zeroizing;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(name = "cmp-server", about = "A CMP (RFC 9810) CA on HTTP")]
struct Cli {
    /// Where to listen: http://HOST:PORT/PATH (port 0 picks a free port).
    #[arg(long, value_name = "URL")]
    listen: String,
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

/// `http://HOST:PORT/PATH` → (HOST, PORT, /PATH).
fn parse_listen(url: &str) -> Result<(String, u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("--listen {url}: only http:// is served so far"))?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    // Port 0 (any free port) is fine for a listener, unlike for a server URL.
    let (host, port) = authority
        .rsplit_once(':')
        .filter(|(h, _)| !h.is_empty())
        .ok_or_else(|| format!("--listen {url}: give HOST:PORT"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("--listen {url}: the port is not a number from 0 to 65535"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_owned(), port, format!("/{path}")))
}

async fn run(cli: Cli) -> Result<(), String> {
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
    config.signer = Some(ResponseSigner {
        cert: ca.ca_cert().clone(),
        chain: ca.certificates().into_iter().skip(1).collect(),
        alg: ca.key().spec().default_signature_algorithm(),
    });
    let server = CmpServer::new(
        Arc::new(config),
        ca.clone(),
        Arc::new(MemoryStore::default()),
        Some(ca.key().clone()),
    );
    let (host, port, path) = parse_listen(&cli.listen)?;
    let listener = tokio::net::TcpListener::bind((host.as_str(), port))
        .await
        .map_err(|e| format!("--listen {}: {e}", cli.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let http = cmp_transport_http::HttpServer::builder()
        .path(&path)
        .build()
        .map_err(|e| e.to_string())?;
    println!(
        "listening on http://{}{path}",
        cmp_core::transport::join_authority(&local.ip().to_string(), local.port())
    );
    use std::io::Write;
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    http.serve(listener, Arc::new(server), std::future::pending())
        .await
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cmp-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cmp-server: {e}");
            ExitCode::FAILURE
        }
    }
}
