//! Running `cmp-agent` against the OpenSSL mock in the interop tests: the binary, the mock's
//! URL and PBM options, and checks on the outcome. Each test binary uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cmp_tests::openssl_mock::Server;

pub(crate) fn agent(args: &[&str]) -> Output {
    cmp_tests::process::without_proxies(&mut Command::new(env!("CARGO_BIN_EXE_cmp-agent")))
        .args(args)
        .output()
        .expect("run cmp-agent")
}

pub(crate) fn url(mock: &Server) -> String {
    format!("http://127.0.0.1:{}/pkix/", mock.port)
}

pub(crate) const SUBJECT: &str = "/CN=CMP Test Device/O=cmp-rs test PKI";
pub(crate) const RECIPIENT: &str = "/CN=CMP Test CA/O=cmp-rs test PKI";

/// PBM options for the mock.
pub(crate) fn pbm(mock: &Server) -> Vec<String> {
    [
        "--server",
        &url(mock),
        "--secret",
        "pass:cmp-test-secret-1234",
        "--ref",
        "client-ref-1234",
        "--recipient",
        RECIPIENT,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

pub(crate) fn run(cmd: &str, common: &[String], extra: &[&str]) -> Output {
    let mut args = vec![cmd];
    args.extend(common.iter().map(String::as_str));
    args.extend_from_slice(extra);
    agent(&args)
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) fn ok(o: &Output, what: &str, mock: &Server) {
    assert!(
        o.status.success(),
        "{what}: exit {:?}\n{}\n{}",
        o.status.code(),
        stderr(o),
        mock.log()
    );
}

pub(crate) fn certout(dir: &Path, name: &str) -> (PathBuf, String) {
    let p = dir.join(name);
    let s = p.display().to_string();
    (p, s)
}

/// A TLS front (socat) on 127.0.0.1 before `mock`, with the TLS test server certificate
/// (`tests/fixtures/tls/server.pem`, issued by `tests/fixtures/tls/ca.pem`).
pub(crate) fn socat_tls_front(mock: &Server) -> Server {
    let tls = |f: &str| cmp_tests::fixtures::tls(f).display().to_string();
    cmp_tests::openssl_mock::start(
        "socat",
        &[
            format!(
                "OPENSSL-LISTEN:{{port}},bind=127.0.0.1,reuseaddr,fork,cert={},key={},verify=0",
                tls("server.pem"),
                tls("server-key.pem")
            ),
            format!("TCP:127.0.0.1:{}", mock.port),
        ],
        None,
    )
}

/// `target/<profile>`: the directory of the test binary's `deps/`.
pub(crate) fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

/// Builds the cdylib `package` with cargo into the tests' own target directory and profile.
pub(crate) fn cargo_build(package: &str) -> PathBuf {
    let profile_dir = profile_dir();
    let target_dir = profile_dir.parent().expect("target dir");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "-p", package, "--target-dir"])
        .arg(target_dir);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    assert!(status.success(), "cargo build -p {package} failed");
    let lib = profile_dir.join(format!("lib{}.so", package.replace('-', "_")));
    assert!(lib.is_file(), "{} was not built", lib.display());
    lib
}
