//! External tools the interop tests need. A missing tool fails the test with a message that
//! says what to install — never a silent skip.

use std::path::{Path, PathBuf};
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

/// SoftHSM2's PKCS#11 module, found rather than assumed for one architecture: `SOFTHSM2_MODULE`
/// if set, else `softhsm/libsofthsm2.so` in /usr/lib, /usr/lib64, /usr/local/lib or any
/// multiarch directory below /usr/lib (x86_64-linux-gnu, aarch64-linux-gnu, …); a panic that
/// says what to install when there is none.
pub fn softhsm_module() -> PathBuf {
    if let Some(m) = std::env::var_os("SOFTHSM2_MODULE") {
        return PathBuf::from(m);
    }
    let mut dirs: Vec<PathBuf> = ["/usr/lib", "/usr/lib64", "/usr/local/lib"]
        .iter()
        .map(PathBuf::from)
        .collect();
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        let mut multiarch: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with("-linux-gnu"))
            })
            .collect();
        multiarch.sort();
        dirs.extend(multiarch);
    }
    dirs.iter()
        .map(|d| d.join("softhsm/libsofthsm2.so"))
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!("SoftHSM2 is needed: apt-get install -y softhsm2 (or set SOFTHSM2_MODULE)")
        })
}

/// A SoftHSM2 configuration for a fresh token store under `dir` (`dir/tokens`, file
/// backend) and a PIN file holding `1234`; returns (the configuration file for
/// `SOFTHSM2_CONF`, the PIN file).
pub fn softhsm_config(dir: &Path) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir.join("tokens")).expect("the token directory");
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\n",
            dir.join("tokens").display()
        ),
    )
    .expect("the SoftHSM2 configuration");
    let pin = dir.join("pin");
    std::fs::write(&pin, "1234\n").expect("the PIN file");
    (conf, pin)
}
