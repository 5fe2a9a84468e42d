//! An independent decoder (pyasn1 with pyasn1-alt-modules' RFC 9810 module) reads every
//! message we build and every `openssl cmp` fixture, re-encodes it to the same bytes, and
//! sees the same body type and header values as we do.

use std::process::Command;

use cmp_core::asn1::{PkiMessage, ReceivedMessage};
use cmp_tests::{fixtures, samples, tools};

fn hex_opt(v: &Option<rasn::types::OctetString>) -> serde_json::Value {
    v.as_ref()
        .map_or(serde_json::Value::Null, |b| hex::encode(b).into())
}

fn check_with_pyasn1(files: &[(std::path::PathBuf, PkiMessage)]) {
    let python = tools::python_with_pyasn1();
    let out = Command::new(python)
        .arg(tools::script("pyasn1_check.py"))
        .arg("--json")
        .args(files.iter().map(|(p, _)| p))
        .output()
        .expect("run pyasn1_check.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        files.len(),
        "one line per file; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for ((path, ours), line) in files.iter().zip(lines) {
        let theirs: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let short: String = line.chars().take(400).collect();
        assert_eq!(theirs["ok"], true, "{}: {short}", path.display());
        assert_eq!(theirs["body"], ours.body.name(), "{}", path.display());
        assert_eq!(theirs["pvno"], ours.header.pvno, "{}", path.display());
        assert_eq!(
            theirs["transactionID"],
            hex_opt(&ours.header.transaction_id)
        );
        assert_eq!(theirs["senderNonce"], hex_opt(&ours.header.sender_nonce));
        assert_eq!(theirs["recipNonce"], hex_opt(&ours.header.recip_nonce));
    }
    assert!(out.status.success(), "pyasn1_check.py failed:\n{stdout}");
}

#[test]
fn pyasn1_decodes_every_body_type_we_build() {
    let dir = tools::temp_dir("pyasn1-samples");
    let files: Vec<_> = samples::all_messages()
        .into_iter()
        .enumerate()
        .map(|(i, msg)| {
            let path = dir.join(format!("{i:02}-{}.der", msg.body.name()));
            std::fs::write(&path, msg.to_der().expect("encodes")).expect("write sample");
            (path, msg)
        })
        .collect();
    check_with_pyasn1(&files);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn pyasn1_and_we_agree_on_the_openssl_fixtures() {
    let files: Vec<_> = fixtures::openssl_messages()
        .into_iter()
        .map(|(path, _)| {
            let der = std::fs::read(&path).expect("read fixture");
            let msg = ReceivedMessage::decode(&der)
                .expect("decodes")
                .into_message();
            (path, msg)
        })
        .collect();
    assert!(files.len() >= 30);
    check_with_pyasn1(&files);
}
