//! `cmp-agent demo` (feature `demo`): a CA on loopback and the agent against it, step by
//! step — ir with PBM over HTTP, kur over TCP, genm caCerts, rr, and the daemon renewing a
//! short-lived certificate — showing what was sent, what came back and the certificates.
//!
//! The CA is cmp-server run in this process (`cmp_server::Server`) on 127.0.0.1, with its
//! SQLite state in a temporary directory, shut down at the end; each step runs this binary's
//! own commands.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use cmp_server::store::CertificateStore;
use std::time::{Duration, Instant};

use cmp_core::asn1::format_unix;
use cmp_core::names::format_name;

use crate::exit;

/// Arguments of `cmp-agent demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Keep the demo's files (keys, certificates, messages, the CA's state) in this
    /// directory instead of a temporary one that is removed at the end.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
}

const SECRET: &str = "pass:demo-secret-0815";
const REF: &str = "demo-device";

/// The CA, served in this process on its own runtime; shut down when dropped.
struct Ca {
    rt: tokio::runtime::Runtime,
    server: Option<cmp_server::Server>,
}

impl Drop for Ca {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = self.rt.block_on(server.shutdown());
        }
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("cmp-agent demo: {e}");
    exit::code(exit::LOCAL)
}

/// `cmp-agent demo`.
pub(crate) fn run(args: &DemoArgs) -> ExitCode {
    let tmp;
    let dir = match &args.keep {
        Some(d) => {
            if let Err(e) = std::fs::create_dir_all(d) {
                return fail(format!("{}: {e}", d.display()));
            }
            d.clone()
        }
        None => match tempfile::Builder::new().prefix("cmp-agent-demo").tempdir() {
            Ok(t) => {
                tmp = t;
                tmp.path().to_path_buf()
            }
            Err(e) => return fail(format!("cannot create a temporary directory: {e}")),
        },
    };
    match steps(&dir) {
        Ok(()) => exit::code(exit::OK),
        Err(e) => fail(e),
    }
}

fn me() -> Result<PathBuf, String> {
    std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))
}

fn title(n: u32, text: &str) {
    println!("\n== {n}. {text}");
}

/// Runs this binary with `args`; prints its output indented; fails with its stderr.
fn agent(args: &[&str]) -> Result<String, String> {
    let out = Command::new(me()?)
        .args(args)
        .env_remove("CMP_AGENT_CONFIG")
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    for l in err.lines().chain(text.lines()) {
        println!("   {l}");
    }
    if !out.status.success() {
        return Err(format!(
            "cmp-agent {} failed",
            args.first().copied().unwrap_or("")
        ));
    }
    Ok(text)
}

/// One line for a saved message: direction, body, size, protection, transactionID.
fn message_line(file: &Path, arrow: &str) -> Result<(), String> {
    let out = Command::new(me()?)
        .args(["inspect", "--format", "json"])
        .arg(file)
        .output()
        .map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let size = std::fs::metadata(file).map_or(0, |m| m.len());
    println!(
        "   {arrow} {:<9} {size:>5} bytes  protection {}  transactionID {}",
        v["body"].as_str().unwrap_or("?"),
        v["protectionAlgName"].as_str().unwrap_or("none"),
        v["transactionID"].as_str().unwrap_or("-")
    );
    Ok(())
}

/// Both directions of a step, in the order on the wire (the files are numbered 01-ir,
/// 02-certConf, … in each direction).
fn exchange(req: &Path, rsp: &Path) -> Result<(), String> {
    println!("   what was sent (→) and what came back (←):");
    let list = |d: &Path| -> Result<Vec<PathBuf>, String> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(d)
            .map_err(|e| format!("{}: {e}", d.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        v.sort();
        Ok(v)
    };
    let (sent, received) = (list(req)?, list(rsp)?);
    for i in 0..sent.len().max(received.len()) {
        if let Some(f) = sent.get(i) {
            message_line(f, "→")?;
        }
        if let Some(f) = received.get(i) {
            message_line(f, "←")?;
        }
    }
    Ok(())
}

fn show_cert(label: &str, path: &Path) -> Result<(), String> {
    let certs = crate::certs::read_certs(path).map_err(|e| format!("{}: {e}", path.display()))?;
    for c in certs.iter().take(1) {
        println!(
            "   {label}: {}  serial {}  issuer {}  valid until {}",
            format_name(c.subject()),
            crate::daemon::status::serial_hex(c.serial_number()),
            format_name(c.issuer()),
            format_unix(c.not_after_unix())
        );
    }
    Ok(())
}

fn start_ca(dir: &Path) -> Result<(Ca, String, String), String> {
    // Its own worker threads: it answers while this thread waits for the agent's commands.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the CA's runtime: {e}"))?;
    let secret = SECRET.strip_prefix("pass:").unwrap_or(SECRET);
    let server = rt
        .block_on(
            cmp_server::Server::builder()
                .listen("http://127.0.0.1:0/pkix/")
                .listen("tcp://127.0.0.1:0")
                .secret(REF, zeroize::Zeroizing::new(secret.as_bytes().to_vec()))
                .ca(cmp_server::CaSource::Generate {
                    subject: "CN=cmp-rs Demo CA".into(),
                })
                .state_dir(dir.join("ca"))
                .start(),
        )
        .map_err(|e| format!("the CA did not start: {e}"))?;
    let urls = (
        server.url("http").map(str::to_owned),
        server.url("tcp").map(str::to_owned),
    );
    let ca = Ca {
        rt,
        server: Some(server),
    };
    match urls {
        (Some(h), Some(t)) => Ok((ca, h, t)),
        _ => Err("the CA has no HTTP or TCP listener".into()),
    }
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

fn steps(dir: &Path) -> Result<(), String> {
    let started = Instant::now();
    println!(
        "cmp-agent demo: a CA on loopback, and the agent against it (files in {})",
        dir.display()
    );
    title(
        0,
        "cmp-server: a CA with an EC P-256 key, SQLite state, HTTP and TCP listeners",
    );
    let (_ca, http, tcp) = start_ca(dir)?;
    println!(
        "   listening on {http} and {tcp}; the device's shared secret has the reference {REF}"
    );

    title(
        1,
        "ir over HTTP, protected by PBM (the shared secret), a new EC key",
    );
    for d in [
        "ir-req", "ir-rsp", "kur-req", "kur-rsp", "genm-req", "genm-rsp", "rr-req", "rr-rsp",
    ] {
        std::fs::create_dir_all(dir.join(d)).map_err(|e| e.to_string())?;
    }
    agent(&[
        "ir",
        "--server",
        &http,
        "--secret",
        SECRET,
        "--ref",
        REF,
        "--newkey",
        "gen:ec:P-256",
        "--newkeyout",
        &p(dir, "key.pem"),
        "--subject",
        "/CN=Demo Device/O=cmp-rs demo",
        "--certout",
        &p(dir, "cert.pem"),
        "--chainout",
        &p(dir, "chain.pem"),
        "--reqout",
        &p(dir, "ir-req"),
        "--rspout",
        &p(dir, "ir-rsp"),
    ])?;
    exchange(&dir.join("ir-req"), &dir.join("ir-rsp"))?;
    show_cert("certificate", &dir.join("cert.pem"))?;

    title(
        2,
        "kur over TCP, signed with the new certificate, another new key",
    );
    agent(&[
        "kur",
        "--server",
        &tcp,
        "--cert",
        &p(dir, "cert.pem"),
        "--key",
        &p(dir, "key.pem"),
        "--trusted",
        &p(dir, "chain.pem"),
        "--newkey",
        "gen:ec:P-256",
        "--newkeyout",
        &p(dir, "key2.pem"),
        "--certout",
        &p(dir, "cert2.pem"),
        "--reqout",
        &p(dir, "kur-req"),
        "--rspout",
        &p(dir, "kur-rsp"),
    ])?;
    exchange(&dir.join("kur-req"), &dir.join("kur-rsp"))?;
    show_cert("renewed certificate", &dir.join("cert2.pem"))?;

    title(3, "genm caCerts over HTTP: the CA certificates");
    agent(&[
        "genm",
        "--server",
        &http,
        "--secret",
        SECRET,
        "--ref",
        REF,
        "--infotype",
        "caCerts",
        "--cacertsout",
        &p(dir, "cacerts.pem"),
        "--reqout",
        &p(dir, "genm-req"),
        "--rspout",
        &p(dir, "genm-rsp"),
    ])?;
    exchange(&dir.join("genm-req"), &dir.join("genm-rsp"))?;

    title(
        4,
        "rr over HTTP: revoke the first certificate (superseded), signed with it",
    );
    agent(&[
        "rr",
        "--server",
        &http,
        "--cert",
        &p(dir, "cert.pem"),
        "--key",
        &p(dir, "key.pem"),
        "--trusted",
        &p(dir, "chain.pem"),
        "--revreason",
        "4",
        "--reqout",
        &p(dir, "rr-req"),
        "--rspout",
        &p(dir, "rr-rsp"),
    ])?;
    exchange(&dir.join("rr-req"), &dir.join("rr-rsp"))?;

    title(
        5,
        "the daemon (cmp-agent run) keeps a 6-second certificate valid: ir, then kur at half its life",
    );
    let config = dir.join("agent.toml");
    let toml = format!(
        "[daemon]\nstate_dir = {:?}\nservers = [{http:?}]\nrenew_before = \"50%\"\n\n[[certificate]]\nname = \"demo-tls\"\nsubject = \"/CN=demo-tls/O=cmp-rs demo\"\nsecret = {SECRET:?}\nref = {REF:?}\nvalidity = \"6s\"\n",
        p(dir, "state")
    );
    std::fs::write(&config, toml).map_err(|e| e.to_string())?;
    let log_path = dir.join("daemon.log");
    let mut daemon = Command::new(me()?)
        .arg("--config")
        .arg(&config)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.matches("installed in").count() >= 2 || Instant::now() > deadline {
            break;
        }
    }
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let _ = daemon.wait();
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    for l in log.lines() {
        // The log without its timestamps and levels.
        let text = l.splitn(3, ' ').nth(2).unwrap_or(l).trim_start();
        println!("   {text}");
    }
    if log.matches("installed in").count() < 2 {
        return Err(format!(
            "the daemon did not renew in time; its log is {}",
            log_path.display()
        ));
    }
    println!();
    agent(&["--config", &config.display().to_string(), "status"])?;

    title(
        6,
        "what the CA issued (its SQLite store, as `cmp-server certs list` shows it)",
    );
    let store =
        cmp_server::SqliteStore::open_in(&dir.join("ca"), cmp_server::SqliteOptions::default())
            .map_err(|e| e.to_string())?;
    for c in store.list(100).map_err(|e| e.to_string())? {
        println!("   {}", c.summary());
    }
    println!("\ndone in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
