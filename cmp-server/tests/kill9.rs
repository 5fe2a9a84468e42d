//! The real `cmp-server` binary with `--state-dir`, killed with SIGKILL while real `openssl
//! cmp` clients enroll in a loop, then restarted: every certificate a client received is in
//! the database (`cmp-server certs list`), and the restarted server serves on; a revocation
//! by the operator command survives another restart. A missing openssl fails the test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The server process, killed (by its handle) when the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const SECRET: &str = "pass:kill9-test-secret";

fn server_bin() -> &'static str {
    env!("CARGO_BIN_EXE_cmp-server")
}

/// Starts the server on a free port with the fixture CA and `state`; returns it and the
/// `HOST:PORT` it listens on.
fn start(state: &Path) -> (Server, String) {
    let mut child = Command::new(server_bin())
        .args([
            "--listen",
            "http://127.0.0.1:0/pkix/",
            "--secret",
            SECRET,
            "--ref",
            "4711",
            "--ca-cert",
            &cmp_tests::fixtures::pki("ca-cert.pem"),
            "--ca-key",
            &cmp_tests::fixtures::pki("ca-key.pem"),
            "--state-dir",
        ])
        .arg(state)
        .stdout(Stdio::piped())
        .spawn()
        .expect("cmp-server starts");
    let out = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).expect("a line");
    let authority = line
        .trim_end()
        .strip_prefix("listening on http://")
        .and_then(|r| r.strip_suffix("/pkix/"))
        .unwrap_or_else(|| panic!("expected `listening on http://…/pkix/`, got {line:?}"))
        .to_owned();
    (server, authority)
}

fn openssl(dir: &Path, args: &[&str]) -> Output {
    // `openssl cmp` honours http_proxy: the test's clients go to 127.0.0.1 directly.
    cmp_tests::process::without_proxies(&mut Command::new("openssl"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is needed for this test: install it (apt-get install openssl)")
}

fn certs(args: &[&str], state: &Path) -> Output {
    Command::new(server_bin())
        .arg("certs")
        .args(args)
        .arg("--state-dir")
        .arg(state)
        .output()
        .expect("cmp-server certs runs")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One ir by `openssl cmp` with PBM for `key`, the certificate written to `certout`.
fn enroll(dir: &Path, authority: &str, key: &str, certout: &str) -> bool {
    openssl(
        dir,
        &[
            "cmp",
            "-cmd",
            "ir",
            "-server",
            authority,
            "-path",
            "pkix/",
            "-secret",
            SECRET,
            "-ref",
            "4711",
            "-newkey",
            key,
            "-subject",
            "/CN=kill9 client",
            "-certout",
            certout,
            "-msg_timeout",
            "20",
            "-total_timeout",
            "30",
        ],
    )
    .status
    .success()
}

fn serial_of(dir: &Path, cert: &Path) -> String {
    let out = stdout(&openssl(
        dir,
        &[
            "x509",
            "-in",
            cert.to_str().expect("utf-8"),
            "-noout",
            "-serial",
        ],
    ));
    out.trim_end()
        .strip_prefix("serial=")
        .unwrap_or_else(|| panic!("serial=…, got {out:?}"))
        .to_owned()
}

/// The clients' loops: at most this many enrollments each.
const MAX_PER_CLIENT: usize = 60;
/// Kill the server once this many enrollments succeeded.
const KILL_AFTER: usize = 8;

#[test]
fn kill_9_under_load_loses_no_certificate_a_client_received() {
    let dir = cmp_tests::tools::temp_dir("server-kill9");
    let state = dir.join("state");
    let (mut server, authority) = start(&state);
    for key in ["k0.pem", "k1.pem"] {
        let out = openssl(
            &dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                key,
            ],
        );
        assert!(out.status.success(), "genpkey");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..2)
        .map(|i| {
            let (dir, authority) = (dir.clone(), authority.clone());
            let (stop, received) = (stop.clone(), received.clone());
            std::thread::spawn(move || {
                let mut files = Vec::new();
                for j in 0..MAX_PER_CLIENT {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let out = format!("cert-{i}-{j}.pem");
                    if enroll(&dir, &authority, &format!("k{i}.pem"), &out) {
                        received.fetch_add(1, Ordering::SeqCst);
                    }
                    files.push(out);
                }
                files
            })
        })
        .collect();
    // Wait (bounded) for some enrollments, then kill -9 while the clients keep going.
    let deadline = Instant::now() + Duration::from_secs(120);
    while received.load(Ordering::SeqCst) < KILL_AFTER && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.0.kill().expect("SIGKILL");
    let status = server.0.wait().expect("wait");
    stop.store(true, Ordering::SeqCst);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL");
    let files: Vec<PathBuf> = clients
        .into_iter()
        .flat_map(|c| c.join().expect("client thread"))
        .map(|f| dir.join(f))
        .filter(|f| f.is_file())
        .collect();
    assert!(
        files.len() >= KILL_AFTER,
        "{} certificates received before the kill",
        files.len()
    );

    // Every certificate a client holds is in the database.
    let listed = stdout(&certs(&["list"], &state));
    let lines: Vec<&str> = listed.lines().collect();
    for file in &files {
        let serial = serial_of(&dir, file);
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("{serial} ")))
            .unwrap_or_else(|| panic!("{serial} ({}) is not in:\n{listed}", file.display()));
        assert!(
            line.ends_with(" subject=CN=kill9 client") && line.contains(" valid not_after="),
            "{line}"
        );
    }
    assert!(lines.len() >= files.len());

    // Restarted on the same state, it serves on.
    let (server, authority) = start(&state);
    assert!(
        enroll(&dir, &authority, "k0.pem", "after.pem"),
        "enrolls after the restart"
    );
    let after = serial_of(&dir, &dir.join("after.pem"));
    let listed = stdout(&certs(&["list"], &state));
    assert_eq!(listed.lines().count(), lines.len() + 1);
    assert!(listed.lines().last().expect("a line").starts_with(&after));

    // The operator revokes it; the revocation survives another restart.
    drop(server);
    assert_eq!(
        stdout(&certs(&["revoke", &after, "--reason", "1"], &state)),
        format!("revoked {after}\n")
    );
    let again = certs(&["revoke", &after], &state);
    assert!(!again.status.success());
    assert_eq!(
        String::from_utf8_lossy(&again.stderr),
        format!("cmp-server: {after}: the certificate is already revoked\n")
    );
    let (_server, _) = start(&state);
    let shown = stdout(&certs(&["show", &after], &state));
    let first = shown.lines().next().expect("a line");
    assert!(
        first.starts_with(&format!("{after} revoked revoked_at="))
            && first.contains(" reason=1 not_after=")
            && first.ends_with(" subject=CN=kill9 client"),
        "{first}"
    );
    assert!(shown.contains("-----BEGIN CERTIFICATE-----\n"));
    let unknown = certs(&["show", "01"], &state);
    assert_eq!(
        String::from_utf8_lossy(&unknown.stderr),
        "cmp-server: 01: no such certificate\n"
    );
}
