//! Running the workspace's binaries (and other programs) from tests: the binaries built into
//! the tests' own target directory, an environment free of proxy settings, and a run measured
//! from outside (wall time and the child's peak RSS).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every proxy variable an HTTP client (ours, curl, OpenSSL, Java) may read, in both cases.
/// A CI machine with one of them set must not send the tests' 127.0.0.1 traffic to a proxy.
pub const PROXY_VARIABLES: [&str; 10] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "no_proxy",
    "NO_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "ftp_proxy",
    "FTP_PROXY",
];

/// Removes every [`PROXY_VARIABLES`] entry from `cmd`'s environment; use it on every command
/// that spawns a client of a test server.
pub fn without_proxies(cmd: &mut Command) -> &mut Command {
    for v in PROXY_VARIABLES {
        cmd.env_remove(v);
    }
    cmd
}

/// `target/<profile>`: the directory above the test binary's `deps/`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

/// The binary `bin` of workspace package `package`, built (or found up to date) with cargo
/// into the tests' own target directory and profile.
pub fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    let profile_dir = profile_dir();
    let target_dir = profile_dir.parent().expect("target dir");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    // What `cargo test` sets for the test process (CARGO_PKG_*, CARGO_MANIFEST_*, the
    // library path, …) would make this cargo see another environment than a cargo run from
    // a shell and rebuild the dependency graph each time the two alternate.
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let build_setting = ["CARGO_HOME", "CARGO_TARGET_DIR"].contains(&name)
            || [
                "CARGO_BUILD_",
                "CARGO_NET_",
                "CARGO_REGISTR",
                "CARGO_TERM_",
                "CARGO_HTTP_",
            ]
            .iter()
            .any(|p| name.starts_with(p));
        if (name.starts_with("CARGO_") && !build_setting) || name == "LD_LIBRARY_PATH" {
            cmd.env_remove(name);
        }
    }
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--quiet",
            "-p",
            package,
            "--bin",
            bin,
            "--target-dir",
        ])
        .arg(target_dir);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    assert!(
        status.success(),
        "cargo build -p {package} --bin {bin} failed"
    );
    let path = profile_dir.join(bin);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// GNU time, which reports a child's peak RSS (`%M`).
pub const GNU_TIME: &str = "/usr/bin/time";

/// What a measured run did.
#[derive(Debug)]
pub struct Measured {
    /// The exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Wall time from spawn to exit.
    pub elapsed: Duration,
    /// The child's peak resident set (VmHWM), in KiB, as the kernel reports it to `wait4`.
    pub peak_rss_kib: u64,
}

/// Runs `program args…` under [`GNU_TIME`] in `cwd` with no proxy variables and no standard
/// input; the peak RSS comes from GNU time's `%M` (written to a file outside `cwd`).
pub fn measured(program: &Path, args: &[String], cwd: &Path) -> Measured {
    assert!(
        Path::new(GNU_TIME).is_file(),
        "{GNU_TIME} is needed to measure peak RSS: apt-get install time"
    );
    let report = std::env::temp_dir().join(format!(
        "cmp-tests-rss-{}-{}",
        std::process::id(),
        cwd.file_name().and_then(|n| n.to_str()).unwrap_or("run")
    ));
    let mut cmd = Command::new(GNU_TIME);
    cmd.arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null());
    without_proxies(&mut cmd);
    let start = Instant::now();
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let elapsed = start.elapsed();
    let text = std::fs::read_to_string(&report).unwrap_or_default();
    let _ = std::fs::remove_file(&report);
    // GNU time writes "Command exited with non-zero status N" before the figure.
    let peak_rss_kib = text
        .lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no peak RSS from {GNU_TIME}: {text:?}"));
    Measured {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed,
        peak_rss_kib,
    }
}
