//! Helpers for the `cmp-agent` integration tests: the fixtures, running the binary, and
//! temporary directories.

pub(crate) mod der;

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// One `tests/fixtures/openssl/<scenario>/<NN>-<body>.der`.
#[derive(Clone, Debug)]
pub(crate) struct Fixture {
    /// The file.
    pub(crate) path: PathBuf,
    /// The scenario directory name.
    pub(crate) scenario: String,
    /// Position on the wire (1 = first request).
    pub(crate) nn: u32,
    /// The body name from the file name.
    pub(crate) body: String,
}

impl Fixture {
    /// The DER bytes.
    pub(crate) fn der(&self) -> Vec<u8> {
        std::fs::read(&self.path).expect("read fixture")
    }
}

/// The fixture directory.
pub(crate) fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/openssl")
}

/// Every numbered fixture (`*/[0-9]*.der`), sorted by path.
pub(crate) fn fixtures() -> Vec<Fixture> {
    let mut out = Vec::new();
    for scenario in std::fs::read_dir(fixture_dir()).expect("fixture dir") {
        let dir = scenario.expect("dir entry").path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).expect("scenario dir") {
            let path = file.expect("dir entry").path();
            let Some(stem) = path.file_stem().and_then(OsStr::to_str) else {
                continue;
            };
            let Some((nn, body)) = stem.split_once('-') else {
                continue;
            };
            let Ok(nn) = nn.parse() else { continue };
            if path.extension().is_some_and(|e| e == "der") {
                out.push(Fixture {
                    scenario: dir
                        .file_name()
                        .and_then(OsStr::to_str)
                        .expect("utf-8 dir name")
                        .to_owned(),
                    nn,
                    body: body.to_owned(),
                    path,
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    assert!(out.len() >= 30, "expected the committed fixtures");
    out
}

/// The fixture `<scenario>/<file>`.
pub(crate) fn fixture(scenario: &str, file: &str) -> Fixture {
    fixtures()
        .into_iter()
        .find(|f| f.scenario == scenario && f.path.ends_with(file))
        .unwrap_or_else(|| panic!("no fixture {scenario}/{file}"))
}

/// What one run of the binary did.
#[derive(Debug)]
pub(crate) struct Run {
    /// The exit code.
    pub(crate) code: i32,
    /// Standard output.
    pub(crate) stdout: String,
    /// Standard error.
    pub(crate) stderr: String,
}

/// Runs `cmp-agent` with `args` and no standard input.
pub(crate) fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_with_stdin(args, &[])
}

/// Runs `cmp-agent` with `args`, feeding `stdin`.
pub(crate) fn run_with_stdin<I, S>(args: I, stdin: &[u8]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = Command::new(env!("CARGO_BIN_EXE_cmp-agent"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cmp-agent");
    let mut pipe = child.stdin.take().expect("stdin pipe");
    // The agent may exit before reading (usage errors); a broken pipe is fine then.
    let _ = pipe.write_all(stdin);
    drop(pipe);
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait for cmp-agent");
    Run {
        code: status.code().expect("exited normally"),
        stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
    }
}

/// A directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory whose name includes `label`, the process id and a counter.
    pub(crate) fn new(label: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("cmp-agent-test-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    /// Writes `data` to `name` inside the directory and returns the path.
    pub(crate) fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, data).expect("write temp file");
        path
    }

    /// A path inside the directory (not created).
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
