//! External tools the interop tests need. A missing tool fails the test with a message that
//! says what to install — never a silent skip.

use std::path::PathBuf;
use std::process::Command;

/// The Python interpreter with pyasn1 and pyasn1-alt-modules, or a panic that says how to
/// install them.
pub fn python_with_pyasn1() -> String {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import pyasn1, pyasn1_alt_modules.rfc9810"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{python} with pyasn1 and pyasn1-alt-modules is needed: \
         run `python3 -m pip install -r tests/scripts/requirements.txt` (or set PYTHON)"
    );
    python
}

/// `tests/scripts/<name>`.
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name)
}

/// A fresh, empty temporary directory unique to this process and `label`.
pub fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cmp-tests-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}
