//! The seed corpora of the fuzz targets `inspect` and `config` (`tests/fixtures/fuzz/inspect/`,
//! `tests/fixtures/fuzz/config/`) replayed through the `cmp-agent` binary, which runs the same
//! `cmp_agent::run` the targets call in process: every input ends with an allowed exit code and,
//! when it fails, one line on standard error naming the file — and each seed with the code it
//! was committed for.

use std::path::{Path, PathBuf};
use std::process::Command;

use cmp_tests::process::{without_proxies, workspace_binary};

fn seeds(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/fuzz")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

/// Runs the agent; (exit code, standard error).
fn agent(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let mut cmd = Command::new(workspace_binary("cmp-agent", "cmp-agent"));
    without_proxies(&mut cmd);
    let out = cmd.args(args).output().expect("cmp-agent runs");
    (
        out.status.code().expect("an exit code, not a signal"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn check(file: &Path, code: i32, stderr: &str, allowed: &[i32]) {
    assert!(
        allowed.contains(&code),
        "{}: exit {code}: {stderr}",
        file.display()
    );
    if code != 0 {
        assert!(
            stderr.starts_with("cmp-agent: ")
                && stderr.contains(&file.display().to_string())
                && stderr.lines().count() == 1,
            "{}: {stderr:?}",
            file.display()
        );
    }
}

#[test]
fn the_inspect_seeds_are_detected_as_committed() {
    let mut codes = Vec::new();
    for file in seeds("inspect") {
        let (code, stderr) = agent(&["inspect".as_ref(), file.as_os_str()]);
        check(&file, code, &stderr, &[0, 2, 4]);
        let name = file.file_name().and_then(|n| n.to_str()).expect("name");
        codes.push((name.to_owned(), code));
    }
    let expected = [
        ("broken.pem", 2),    // no END line
        ("certconf.b64", 0),  // base64 of DER
        ("ip.der", 0),        // DER
        ("ir.pem", 0),        // PEM
        ("text.txt", 2),      // neither
        ("truncated.der", 2), // DER cut short
    ];
    assert_eq!(
        codes,
        expected.map(|(n, c)| (n.to_owned(), c)).to_vec(),
        "every inspect seed"
    );
}

#[test]
fn the_config_seeds_are_checked_as_committed() {
    let mut codes = Vec::new();
    for file in seeds("config") {
        let (code, stderr) = agent(&[
            "--config".as_ref(),
            file.as_os_str(),
            "config".as_ref(),
            "check".as_ref(),
        ]);
        check(&file, code, &stderr, &[0, 2]);
        let name = file.file_name().and_then(|n| n.to_str()).expect("name");
        codes.push((name.to_owned(), code));
    }
    let expected = [
        ("agent.toml", 0),     // valid
        ("bad-types.toml", 2), // an unknown key
        ("broken.toml", 2),    // not TOML
        ("empty.toml", 0),     // nothing set
    ];
    assert_eq!(
        codes,
        expected.map(|(n, c)| (n.to_owned(), c)).to_vec(),
        "every config seed"
    );
}
