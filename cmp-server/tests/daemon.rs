//! The `cmp-server` binary on 127.0.0.1 with several listeners, and our own agent
//! (`cmp-agent`, built into the same target directory) enrolling over HTTP, HTTPS, TCP and
//! TCPS: ir with PBM on each, kur signed with the new certificate over TCP, rr over HTTPS;
//! the operator's `certs list`, the audit lines, and SIGTERM draining a request in flight.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// The server process, killed (by its handle) when the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const SECRET: &str = "pass:daemon-test-secret";
const RECIPIENT: &str = "/CN=cmp-server Daemon Test CA";

/// The agent binary, built (or found up to date) in this target directory.
fn agent() -> PathBuf {
    let dir = std::env::current_exe()
        .expect("test binary")
        .parent()
        .and_then(Path::parent)
        .expect("target/debug")
        .to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-q", "-p", "cmp-agent"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build -p cmp-agent");
    let bin = dir.join("cmp-agent");
    assert!(bin.is_file(), "{} is built", bin.display());
    bin
}

/// Starts the server with `extra` options, its stderr to `log`; returns it and the URLs it
/// announced (one line per listener).
fn start(listen: &[&str], extra: &[&str], log: &Path) -> (Server, Vec<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cmp-server"));
    for l in listen {
        cmd.args(["--listen", l]);
    }
    let mut child = cmd
        .args([
            "--secret",
            SECRET,
            "--ref",
            "4711",
            "--ca-subject",
            "CN=cmp-server Daemon Test CA",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("cmp-server starts");
    let out = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut out = BufReader::new(out);
    let urls = listen
        .iter()
        .map(|_| {
            let mut line = String::new();
            out.read_line(&mut line).expect("a line");
            line.trim_end()
                .strip_prefix("listening on ")
                .unwrap_or_else(|| panic!("expected `listening on URL`, got {line:?}"))
                .to_owned()
        })
        .collect();
    (server, urls)
}

fn run(cmd: &mut Command) -> Output {
    cmp_tests::process::without_proxies(cmd)
        .output()
        .expect("runs")
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    ok(
        run(Command::new("openssl").current_dir(dir).args(args)),
        "openssl (needed for this test: apt-get install openssl)",
    )
}

fn tls(name: &str) -> String {
    cmp_tests::fixtures::tls(name).display().to_string()
}

#[test]
fn agent_enrolls_over_http_https_tcp_and_tcps_then_kur_and_rr() {
    let agent = agent();
    let dir = cmp_tests::tools::temp_dir("server-daemon");
    let state = dir.join("state");
    let log = dir.join("server.log");
    let (server, urls) = start(
        &[
            "http://127.0.0.1:0/pkix/",
            "https://127.0.0.1:0/pkix/",
            "tcp://127.0.0.1:0",
            "tcps://127.0.0.1:0",
        ],
        &[
            "--tls-cert",
            &tls("server.pem"),
            "--tls-key",
            &tls("server-key.pem"),
            "--tls-client-trusted",
            &tls("ca.pem"),
            "--state-dir",
            state.to_str().expect("utf-8"),
        ],
        &log,
    );
    let pid = server.0.id();
    for (url, scheme) in urls.iter().zip(["http", "https", "tcp", "tcps"]) {
        let rest = url
            .strip_prefix(&format!("{scheme}://127.0.0.1:"))
            .unwrap_or_else(|| panic!("{url} is {scheme} on 127.0.0.1"));
        let port = rest.trim_end_matches("/pkix/");
        assert!(port.parse::<u16>().expect("a port") > 0, "{url}");
    }
    let tls_client = [
        "--tls-trusted",
        &tls("ca.pem"),
        "--tls-cert",
        &tls("client.pem"),
        "--tls-key",
        &tls("client-key.pem"),
    ];
    let mut serials = Vec::new();
    for (url, scheme) in urls.iter().zip(["http", "https", "tcp", "tcps"]) {
        let cert = format!("{scheme}-cert.pem");
        let key = format!("{scheme}-key.pem");
        let mut cmd = Command::new(&agent);
        cmd.current_dir(&dir).args([
            "ir",
            "--server",
            url,
            "--secret",
            SECRET,
            "--ref",
            "4711",
            "--recipient",
            RECIPIENT,
            "--newkey",
            "gen:ec:P-256",
            "--newkeyout",
            &key,
            "--subject",
            &format!("/CN=device over {scheme}"),
            "--certout",
            &cert,
            "--chainout",
            "chain.pem",
            "--msg-timeout",
            "30",
        ]);
        if scheme.ends_with('s') {
            cmd.args(tls_client);
        }
        ok(run(&mut cmd), &format!("cmp-agent ir over {scheme}"));
        assert_eq!(
            openssl(
                &dir,
                &["x509", "-in", &cert, "-noout", "-subject", "-issuer"]
            ),
            format!("subject=CN = device over {scheme}\nissuer=CN = cmp-server Daemon Test CA\n")
        );
        let pubkey = openssl(&dir, &["x509", "-in", &cert, "-noout", "-pubkey"]);
        assert_eq!(pubkey, openssl(&dir, &["pkey", "-in", &key, "-pubout"]));
        serials.push(openssl(&dir, &["x509", "-in", &cert, "-noout", "-serial"]));
    }

    // kur over TCP, signed with the certificate got over HTTP; the response is signed by the
    // CA (generated at start), trusted as the chain the ir brought.
    let tcp = &urls[2];
    ok(
        run(Command::new(&agent).current_dir(&dir).args([
            "kur",
            "--server",
            tcp,
            "--recipient",
            RECIPIENT,
            "--cert",
            "http-cert.pem",
            "--key",
            "http-key.pem",
            "--trusted",
            "chain.pem",
            "--newkey",
            "gen:ec:P-256",
            "--newkeyout",
            "kur-key.pem",
            "--certout",
            "kur-cert.pem",
        ])),
        "cmp-agent kur over tcp",
    );
    assert_eq!(
        openssl(&dir, &["x509", "-in", "kur-cert.pem", "-noout", "-subject"]),
        "subject=CN = device over http\n"
    );
    // rr over HTTPS of the TCPS certificate, signed with it.
    ok(
        run(Command::new(&agent)
            .current_dir(&dir)
            .args([
                "rr",
                "--server",
                &urls[1],
                "--recipient",
                RECIPIENT,
                "--cert",
                "tcps-cert.pem",
                "--key",
                "tcps-key.pem",
                "--trusted",
                "chain.pem",
                "--oldcert",
                "tcps-cert.pem",
            ])
            .args(tls_client)),
        "cmp-agent rr over https",
    );

    // SIGTERM: the server drains and exits 0.
    ok(
        run(Command::new("kill").args(["-TERM", &pid.to_string()])),
        "kill -TERM",
    );
    let mut server = server;
    let status = server.0.wait().expect("exits");
    assert_eq!(status.code(), Some(0));

    let listed = ok(
        run(Command::new(env!("CARGO_BIN_EXE_cmp-server"))
            .args(["certs", "list", "--state-dir"])
            .arg(&state)),
        "certs list",
    );
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 5, "{listed}");
    for (line, (serial, scheme)) in lines
        .iter()
        .zip(serials.iter().zip(["http", "https", "tcp", "tcps"]))
    {
        let serial = serial.trim_end().strip_prefix("serial=").expect("serial=");
        assert!(line.starts_with(&format!("{serial} ")), "{line}");
        assert!(
            line.ends_with(&format!(" subject=CN=device over {scheme}")),
            "{line}"
        );
        let revoked = scheme == "tcps";
        assert_eq!(line.contains(" revoked revoked_at="), revoked, "{line}");
    }
    assert!(lines[4].ends_with(" subject=CN=device over http"));

    // One audit line per decision, saying who asked and what came of it; no secret.
    let log = std::fs::read_to_string(&log).expect("log");
    let audit: Vec<&str> = log.lines().filter(|l| l.contains(" audit: ")).collect();
    let issued: Vec<&&str> = audit
        .iter()
        .filter(|l| l.contains(" audit: issued serial="))
        .collect();
    assert_eq!(issued.len(), 5, "{log}");
    for l in &issued[..4] {
        assert!(
            l.contains("peer=127.0.0.1:") && l.contains("who=reference:4711"),
            "{l}"
        );
    }
    assert!(
        issued[4].contains("request=kur") && issued[4].contains("who=signer:CN=device over http"),
        "{}",
        issued[4]
    );
    assert_eq!(
        audit
            .iter()
            .filter(|l| l.contains(" audit: revoked serial="))
            .count(),
        1,
        "{log}"
    );
    assert_eq!(
        audit
            .iter()
            .filter(|l| l.contains(" audit: answered peer=") && l.contains(" request=certConf "))
            .count(),
        5,
        "{log}"
    );
    assert!(!log.contains("daemon-test-secret"), "no secret in the log");
    assert!(log.contains("drained; bye"), "{log}");
}

#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    let dir = cmp_tests::tools::temp_dir("server-sigterm");
    let log = dir.join("server.log");
    let (mut server, urls) = start(&["http://127.0.0.1:0/pkix/"], &[], &log);
    let authority = urls[0]
        .strip_prefix("http://")
        .and_then(|r| r.strip_suffix("/pkix/"))
        .expect("authority");
    let mut conn = std::net::TcpStream::connect(authority).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    // Half a request: the headers and 2 of the 5 body bytes.
    let body = [0x30, 0x03, 0x02, 0x01, 0x02];
    write!(
        conn,
        "POST /pkix/ HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/pkixcmp\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .expect("headers");
    conn.write_all(&body[..2]).expect("body start");
    conn.flush().expect("flush");
    // Time for the server to accept the connection and read the headers.
    std::thread::sleep(Duration::from_millis(1000));
    ok(
        run(Command::new("kill").args(["-TERM", &server.0.id().to_string()])),
        "kill -TERM",
    );
    // The server waits for the rest of the request and answers it.
    std::thread::sleep(Duration::from_millis(300));
    conn.write_all(&body[2..]).expect("body end");
    let mut response = Vec::new();
    let _ = conn.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("content-type: application/pkixcmp"), "{text}");
    let status = server.0.wait().expect("exits");
    assert_eq!(status.code(), Some(0));
    let log = std::fs::read_to_string(&log).expect("log");
    assert!(
        log.contains("request=undecodable") && log.contains("refused failInfo=badDataFormat"),
        "{log}"
    );
    assert!(log.contains("drained; bye"), "{log}");
}

/// `cmp-agent ir` with PBM against `url`; its exit code and stderr.
fn agent_ir(agent: &Path, dir: &Path, url: &str, n: usize) -> (Option<i32>, String) {
    let out = run(Command::new(agent).current_dir(dir).args([
        "ir",
        "--server",
        url,
        "--secret",
        SECRET,
        "--ref",
        "4711",
        "--newkey",
        "gen:ec:P-256",
        "--newkeyout",
        &format!("knob-key-{n}.pem"),
        "--subject",
        "/CN=knob test",
        "--certout",
        &format!("knob-cert-{n}.pem"),
    ]));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn test_knobs_on_the_command_line() {
    let agent = agent();
    let dir = cmp_tests::tools::temp_dir("server-knobs");
    let log = dir.join("server.log");
    let (server, urls) = start(
        &["http://127.0.0.1:0/pkix/"],
        &[
            "--pkistatus",
            "2",
            "--failure",
            "9",
            "--statusstring",
            "forced by the test",
        ],
        &log,
    );
    assert_eq!(
        agent_ir(&agent, &dir, &urls[0], 1),
        (
            Some(5),
            "cmp-agent: server rejected the request: rejection (badPOP) \"forced by the test\"\n"
                .to_owned()
        )
    );
    drop(server);
    let (server, urls) = start(&["http://127.0.0.1:0/pkix/"], &["--send-error"], &log);
    assert_eq!(
        agent_ir(&agent, &dir, &urls[0], 2),
        (
            Some(5),
            "cmp-agent: server rejected the request: rejection (badRequest) \"this server answers every request with an error (--send-error)\" (error message)\n"
                .to_owned()
        )
    );
    drop(server);
    let (server, urls) = start(&["http://127.0.0.1:0/pkix/"], &["--send-unprotected"], &log);
    let (code, stderr) = agent_ir(&agent, &dir, &urls[0], 3);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("the response is not protected"), "{stderr}");
    drop(server);
    // Delayed delivery: ip waiting, one pollReq, the certificate.
    let (server, urls) = start(
        &["http://127.0.0.1:0/pkix/"],
        &["--poll-count", "1", "--check-after", "1"],
        &log,
    );
    let (code, stderr) = agent_ir(&agent, &dir, &urls[0], 4);
    assert_eq!(code, Some(0), "{stderr}");
    drop(server);
    let audit = std::fs::read_to_string(&log).expect("log");
    assert!(
        audit.contains(" audit: issued serial=") && audit.contains(" request=pollReq "),
        "{audit}"
    );
    let refused = run(Command::new(env!("CARGO_BIN_EXE_cmp-server")).args([
        "--listen",
        "http://127.0.0.1:0/pkix/",
        "--pkistatus",
        "3",
    ]));
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        "cmp-server: --pkistatus 3 (waiting): use --poll-count N for delayed delivery\n"
    );
}

#[test]
fn agent_over_tcp_through_the_forwarding_relay_to_the_openssl_mock() {
    use cmp_tests::openssl_mock::{MockProtection, openssl_mock};
    let agent = agent();
    let dir = cmp_tests::tools::temp_dir("server-forward");
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let upstream = format!("http://127.0.0.1:{}/pkix/", mock.port);
    let log = dir.join("relay.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cmp-server"))
        .args(["--listen", "tcp://127.0.0.1:0", "--forward", &upstream])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("cmp-server starts");
    let out = child.stdout.take().expect("stdout");
    let relay = Server(child);
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).expect("a line");
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .expect("listening on URL")
        .to_owned();
    assert!(url.starts_with("tcp://127.0.0.1:"), "{url}");
    let pki = |f: &str| cmp_tests::fixtures::pki(f);
    let stdout = ok(
        run(Command::new(&agent).current_dir(&dir).args([
            "ir",
            "--server",
            &url,
            "--secret",
            "pass:cmp-test-secret-1234",
            "--ref",
            "client-ref-1234",
            "--recipient",
            "/CN=CMP Test CA/O=cmp-rs test PKI",
            "--newkey",
            &pki("new-key.pem"),
            "--subject",
            "/CN=CMP Test Device/O=cmp-rs test PKI",
            "--certout",
            "relayed.pem",
        ])),
        "cmp-agent ir over tcp through the relay",
    );
    assert!(stdout.starts_with("enrolled: "), "{stdout}");
    assert_eq!(
        std::fs::read(dir.join("relayed.pem")).expect("certout"),
        std::fs::read(pki("new-cert.pem")).expect("the mock's certificate")
    );
    drop(relay);
    let log = std::fs::read_to_string(&log).expect("log");
    let forwarded = log
        .lines()
        .filter(|l| l.contains(" audit: forwarded ") && l.contains(&upstream))
        .count();
    assert_eq!(forwarded, 2, "ir and certConf: {log}");
    drop(mock);

    // The upstream is gone: the relay answers systemUnavail at once.
    let mut child = Command::new(env!("CARGO_BIN_EXE_cmp-server"))
        .args(["--listen", "tcp://127.0.0.1:0", "--forward", &upstream])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cmp-server starts");
    let out = child.stdout.take().expect("stdout");
    let _relay = Server(child);
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).expect("a line");
    let url = line.trim_end().strip_prefix("listening on ").expect("URL");
    let out = run(Command::new(&agent).current_dir(&dir).args([
        "ir",
        "--server",
        url,
        "--secret",
        "pass:cmp-test-secret-1234",
        "--ref",
        "client-ref-1234",
        "--newkey",
        &pki("new-key.pem"),
        "--subject",
        "/CN=CMP Test Device",
        "--unprotected-errors",
    ]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("rejection (systemUnavail) \"the upstream CA ")
            && stderr.contains(" did not answer: "),
        "{stderr}"
    );
}

#[test]
fn the_transaction_table_is_bounded_and_expired_transactions_make_room() {
    let agent = agent();
    let dir = cmp_tests::tools::temp_dir("server-bounded");
    let log = dir.join("server.log");
    let state = dir.join("state");
    let state = state.to_str().expect("utf-8");
    let (server, urls) = start(
        &["http://127.0.0.1:0/pkix/"],
        &["--state-dir", state, "--max-transactions", "2"],
        &log,
    );
    assert_eq!(agent_ir(&agent, &dir, &urls[0], 1).0, Some(0));
    assert_eq!(agent_ir(&agent, &dir, &urls[0], 2).0, Some(0));
    // Both transactions are kept (closed) until they expire, but closed ones make room for a
    // new one: the bound is on transactions in flight (tests/tests/hostile_client.rs fills
    // the table with unconfirmed ones and sees the refusal).
    assert_eq!(agent_ir(&agent, &dir, &urls[0], 3).0, Some(0));
    drop(server);
    // The state belongs to the CA generated at that start: another refuses it.
    let other = run(Command::new(env!("CARGO_BIN_EXE_cmp-server")).args([
        "--listen",
        "http://127.0.0.1:0/pkix/",
        "--state-dir",
        state,
    ]));
    assert_eq!(other.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&other.stderr),
        format!(
            "cmp-server: {state}/cmp-server.sqlite holds the certificates of another CA: start with that CA's --ca-cert/--ca-key, or use another --state-dir\n"
        )
    );
    // Transactions remembered for 1 s: once they expired, there is room.
    let (_server, urls) = start(
        &["http://127.0.0.1:0/pkix/"],
        &[
            "--state-dir",
            &format!("{state}-ttl"),
            "--max-transactions",
            "2",
            "--transaction-ttl",
            "1",
        ],
        &log,
    );
    assert_eq!(agent_ir(&agent, &dir, &urls[0], 4).0, Some(0));
    assert_eq!(agent_ir(&agent, &dir, &urls[0], 5).0, Some(0));
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(agent_ir(&agent, &dir, &urls[0], 6).0, Some(0));
}
