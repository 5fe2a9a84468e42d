//! `cmp-agent demo` (feature `demo`): a CA on loopback and the agent against it, step by
//! step — ir with PBM over HTTP, kur over TCP, genm caCerts, rr, and the daemon renewing a
//! short-lived certificate — showing what was sent, what came back and the certificates.
//!
//! The CA is the `cmp-server` binary found next to this one (its listener code is not a
//! library yet), started on 127.0.0.1 with its SQLite state in a temporary directory and
//! stopped at the end; each step runs this binary's own commands.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
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

/// The CA process; stopped when dropped.
struct Ca(Child);

impl Drop for Ca {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
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
    let bin = me()?
        .parent()
        .map(|d| d.join("cmp-server"))
        .ok_or("cannot find this program's directory")?;
    if !bin.exists() {
        return Err(format!(
            "{} is missing: the demo runs the cmp-server binary built next to cmp-agent (cargo build -p cmp-server)",
            bin.display()
        ));
    }
    let log = std::fs::File::create(dir.join("ca.log")).map_err(|e| e.to_string())?;
    let mut child = Command::new(&bin)
        .args([
            "--listen",
            "http://127.0.0.1:0/pkix/",
            "--listen",
            "tcp://127.0.0.1:0",
        ])
        .args([
            "--secret",
            SECRET,
            "--ref",
            REF,
            "--ca-subject",
            "CN=cmp-rs Demo CA",
        ])
        .arg("--state-dir")
        .arg(dir.join("ca"))
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let out = child.stdout.take().ok_or("no stdout")?;
    let ca = Ca(child);
    let (mut http, mut tcp) = (None, None);
    for line in BufReader::new(out).lines().take(10) {
        let line = line.map_err(|e| e.to_string())?;
        if let Some(u) = line.strip_prefix("listening on ") {
            if u.starts_with("http") {
                http = Some(u.to_owned());
            } else {
                tcp = Some(u.to_owned());
            }
        }
        if http.is_some() && tcp.is_some() {
            break;
        }
    }
    match (http, tcp) {
        (Some(h), Some(t)) => Ok((ca, h, t)),
        _ => Err(format!(
            "cmp-server did not start; its log is in {}",
            dir.join("ca.log").display()
        )),
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

    title(6, "what the CA issued (cmp-server certs list)");
    let server = me()?
        .parent()
        .map(|d| d.join("cmp-server"))
        .ok_or("no directory")?;
    let out = Command::new(server)
        .args(["certs", "list", "--state-dir"])
        .arg(dir.join("ca"))
        .output()
        .map_err(|e| e.to_string())?;
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        println!("   {l}");
    }
    println!("\ndone in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
