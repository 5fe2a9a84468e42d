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

/// SoftHSM2's PKCS#11 module, found rather than assumed (the path differs between Debian's
/// architectures: `/usr/lib/softhsm`, `/usr/lib/<triplet>/softhsm`), `SOFTHSM2_MODULE` first;
/// or a panic that says how to install it.
pub fn softhsm_module() -> PathBuf {
    if let Some(p) = std::env::var_os("SOFTHSM2_MODULE") {
        return PathBuf::from(p);
    }
    let mut candidates = vec![PathBuf::from("/usr/lib/softhsm/libsofthsm2.so")];
    if let Ok(dirs) = std::fs::read_dir("/usr/lib") {
        let mut arch: Vec<PathBuf> = dirs
            .filter_map(Result::ok)
            .map(|d| d.path().join("softhsm/libsofthsm2.so"))
            .collect();
        arch.sort();
        candidates.extend(arch);
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("SoftHSM2 is needed: apt-get install -y softhsm2"))
}
