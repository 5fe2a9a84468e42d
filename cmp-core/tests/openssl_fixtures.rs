//! Real messages produced by `openssl cmp` (client and mock server; see
//! `tests/fixtures/openssl/README.md`) decode, carry the body their file name says, and
//! re-encode byte for byte.

use std::path::{Path, PathBuf};

use cmp_core::asn1::ReceivedMessage;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/openssl")
}

/// Every `<scenario>/<NN>-<body>.der`, sorted.
fn fixtures() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for scenario in std::fs::read_dir(fixture_dir()).expect("fixture dir exists") {
        let scenario = scenario.expect("dir entry").path();
        if !scenario.is_dir() || scenario.ends_with("pki") {
            continue;
        }
        for file in std::fs::read_dir(&scenario).expect("scenario dir") {
            let path = file.expect("dir entry").path();
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("")
                .to_owned();
            if path.extension().is_some_and(|e| e == "der") {
                if let Some((_, body)) = name.split_once('-') {
                    out.push((path.clone(), body.to_owned()));
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_openssl_message_decodes_and_roundtrips() {
    let all = fixtures();
    assert!(
        all.len() >= 30,
        "expected the committed fixtures, found {}",
        all.len()
    );
    let mut seen = std::collections::BTreeSet::new();
    for (path, body) in &all {
        let der = std::fs::read(path).expect("read fixture");
        let msg =
            ReceivedMessage::decode(&der).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(msg.message().body.name(), body, "{}", path.display());
        let again = msg.message().to_der().expect("encode");
        assert!(again == der, "{}: re-encoding differs", path.display());
        assert!(msg.roundtrips());
        seen.insert(body.clone());
    }
    for needed in [
        "ir", "ip", "cr", "cp", "kur", "kup", "p10cr", "rr", "rp", "certConf", "pkiconf", "genm",
        "genp", "pollReq", "pollRep", "error",
    ] {
        assert!(seen.contains(needed), "no fixture for {needed}");
    }
}
