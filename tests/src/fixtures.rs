//! Paths of the committed fixtures (see `tests/fixtures/openssl/README.md`).

use std::path::{Path, PathBuf};

/// `tests/fixtures/openssl`.
pub fn openssl_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/openssl")
}

/// The path of a file of the test PKI (`tests/fixtures/openssl/pki`), as a string for
/// command lines.
pub fn pki(name: &str) -> String {
    openssl_dir().join("pki").join(name).display().to_string()
}

/// The path of a file of the TLS test PKI (`tests/fixtures/tls`).
pub fn tls(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/tls")
        .join(name)
}

/// Reads a file below `tests/fixtures/openssl`, panicking with the path if it is missing.
pub fn read(rel: &str) -> Vec<u8> {
    let path = openssl_dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `<scenario>/<NN>-<body>.der` message with its body name, sorted.
pub fn openssl_messages() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let dir = openssl_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for scenario in entries.flatten() {
        let scenario = scenario.path();
        if !scenario.is_dir() || scenario.ends_with("pki") {
            continue;
        }
        for file in std::fs::read_dir(&scenario).into_iter().flatten().flatten() {
            let path = file.path();
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let numbered = stem.as_bytes().first().is_some_and(u8::is_ascii_digit);
            if path.extension().is_some_and(|e| e == "der") && numbered {
                if let Some((_, body)) = stem.split_once('-') {
                    out.push((path.clone(), body.to_owned()));
                }
            }
        }
    }
    out.sort();
    out
}
