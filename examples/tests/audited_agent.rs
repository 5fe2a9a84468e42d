//! The in-process plugin examples, run for real: an agent built on the `cmp_agent` library
//! with the `audit+http` transport and the `audited` key backend enrolls at the OpenSSL mock
//! CA (`openssl cmp -port`); and the `audited_agent` example program lists its plugins.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;

use cmp_examples::{AuditLog, audited_registry};
use cmp_tests::openssl_mock::{MockProtection, openssl_mock};
use cmp_tests::{fixtures, tools};

fn pki(name: &str) -> String {
    fixtures::openssl_dir()
        .join("pki")
        .join(name)
        .display()
        .to_string()
}

const SUBJECT: &str = "/CN=CMP Test Device/O=cmp-rs test PKI";
const RECIPIENT: &str = "/CN=CMP Test CA/O=cmp-rs test PKI";

fn run(args: &[&str], log: &Arc<AuditLog>) -> ExitCode {
    let registry = audited_registry(Arc::clone(log)).expect("the examples register");
    let mut argv = vec!["cmp-agent"];
    argv.extend_from_slice(args);
    cmp_agent::run(argv, registry)
}

#[test]
fn an_agent_with_the_in_process_plugins_enrolls_at_the_openssl_mock() {
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let dir = tools::temp_dir("examples-audited");
    let certout = dir.join("cert.pem");
    let server = format!("audit+http://127.0.0.1:{}/pkix/", mock.port);
    let log = Arc::new(AuditLog::new());
    let status = run(
        &[
            "ir",
            "--server",
            &server,
            "--secret",
            "pass:cmp-test-secret-1234",
            "--ref",
            "client-ref-1234",
            "--recipient",
            RECIPIENT,
            "--key-backend",
            "audited",
            "--newkey",
            &pki("new-key.pem"),
            "--subject",
            SUBJECT,
            "--certout",
            &certout.display().to_string(),
            "-q",
        ],
        &log,
    );
    assert_eq!(status, ExitCode::SUCCESS, "{}", mock.log());
    assert_eq!(
        std::fs::read_to_string(&certout).expect("certout"),
        std::fs::read_to_string(pki("new-cert.pem")).expect("pem")
    );
    // The key came through the audited backend and made the proof of possession; the
    // messages went through the audited transport.
    assert_eq!(
        log.lines(),
        [
            "loaded a ec:P-256 key",
            "signed with ecdsa-with-SHA256 (ok)",
            "sent ir",
            "received ip",
            "sent certConf",
            "received pkiconf",
        ]
    );
}

#[test]
fn a_failed_exchange_is_audited_and_exits_3() {
    // The port refuses connections: the transport reports the failure and the agent exits 3.
    let (_refusing, port) = cmp_tests::openssl_mock::refusing_port();
    let log = Arc::new(AuditLog::new());
    let status = run(
        &[
            "genm",
            "--server",
            &format!("audit+http://127.0.0.1:{port}/pkix/"),
            "--secret",
            "pass:cmp-test-secret-1234",
            "--ref",
            "client-ref-1234",
            "-q",
        ],
        &log,
    );
    assert_eq!(status, ExitCode::from(3));
    let lines = log.lines();
    assert_eq!(lines.first().map(String::as_str), Some("sent genm"));
    assert!(
        lines
            .get(1)
            .is_some_and(|l| l.starts_with(&format!("failed: cannot connect to 127.0.0.1:{port}"))),
        "{lines:?}"
    );
}

/// `target/<profile>`: the directory of the test binary's `deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

#[test]
fn the_example_program_lists_the_builtins_and_its_plugins() {
    let profile = profile_dir();
    let target = profile.parent().expect("target dir");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--quiet",
            "-p",
            "cmp-examples",
            "--example",
            "audited_agent",
        ])
        .arg("--target-dir")
        .arg(target);
    if profile.file_name().is_some_and(|n| n == "release") {
        build.arg("--release");
    }
    let status = build.status().expect("run cargo");
    assert!(
        status.success(),
        "cargo build --example audited_agent failed"
    );
    let out = Command::new(profile.join("examples/audited_agent"))
        .arg("plugins")
        .output()
        .expect("run the example");
    assert_eq!(out.status.code(), Some(0));
    let v = env!("CARGO_PKG_VERSION");
    // The aws-lc backend is listed when the example was built with cmp-agent's `aws-lc`
    // feature, which this nested build does not choose: leave its line out.
    let listed: String = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("aws-lc "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        listed,
        format!(
            "http      transport    {v}  built in\n\
             tcp       transport    {v}  built in\n\
             audit     transport    {v}  built in\n\
             software  key backend  {v}  built in\n\
             pkcs11    key backend  {v}  built in\n\
             audited   key backend  {v}  built in\n\
             files     storage      {v}  built in\n"
        )
    );
}
