//! Building the plugins the tests load: C plugins with `cc`, Rust plugins with cargo into the
//! target directory the tests themselves were built in.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/<profile>`: the directory of the test binary's `deps/`.
pub(crate) fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

/// The directory of this crate.
pub(crate) fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh temporary directory for one test.
pub(crate) fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cmp-plugin-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// Compiles `tests/c/<source>` against `include/cmp-plugin.h` with `cc` (warnings are errors)
/// into `out`: a shared library with `-shared -fPIC`, or a program. A missing compiler fails
/// the test.
pub(crate) fn cc(source: &str, defines: &[&str], out: &Path, shared: bool) {
    let mut cmd = Command::new("cc");
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread", "-I"])
        .arg(crate_dir().join("include"));
    if shared {
        cmd.args(["-shared", "-fPIC"]);
    }
    for d in defines {
        cmd.arg(format!("-D{d}"));
    }
    cmd.arg(crate_dir().join("tests/c").join(source))
        .arg("-o")
        .arg(out);
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run cc (a C compiler is required): {e}"));
    assert!(
        output.status.success(),
        "cc {source} {defines:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Builds the cdylib `package` with cargo into the test's own target directory and profile,
/// and returns the library's path.
pub(crate) fn cargo_build(package: &str) -> PathBuf {
    let profile_dir = profile_dir();
    let target_dir = profile_dir.parent().expect("target dir");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("profile name");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(crate_dir())
        .args(["build", "--quiet", "-p", package, "--target-dir"])
        .arg(target_dir);
    if profile == "release" {
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
