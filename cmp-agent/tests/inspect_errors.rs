//! `cmp-agent inspect` on malformed input and bad command lines: exit code 2, nothing on
//! standard output for the bad file, and exactly one line on standard error saying what is
//! wrong and where. Good files next to bad ones are still printed.

// Each test target uses a different part of the shared helpers.
#[allow(dead_code)]
mod support;

use std::path::Path;

use support::der;
use support::{TempDir, fixture, run};

/// Runs `inspect` (JSON and text) over one bad file and checks the whole stderr line.
fn assert_rejected(path: &Path, reason: &str) {
    for format in ["json", "text"] {
        let r = run([
            "inspect".as_ref(),
            "--format".as_ref(),
            format.as_ref(),
            path.as_os_str(),
        ]);
        assert_eq!(r.code, 2, "{}: {}", path.display(), r.stderr);
        assert_eq!(r.stdout, "", "{}", path.display());
        assert_eq!(
            r.stderr,
            format!("cmp-agent: {}: {reason}\n", path.display())
        );
    }
}

#[test]
fn an_empty_file_is_rejected() {
    let dir = TempDir::new("empty");
    assert_rejected(&dir.write("empty.der", b""), "the input is empty");
    assert_rejected(&dir.write("blank.pem", b" \n\r\n"), "the input is empty");
}

#[test]
fn random_bytes_are_rejected() {
    // xorshift bytes, starting with a byte that is neither 0x30 nor text.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut data = vec![0xA7u8];
    data.extend((0..200).map(|_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state.to_be_bytes()[0]
    }));
    let dir = TempDir::new("random");
    assert_rejected(
        &dir.write("random.bin", &data),
        "not DER, PEM or base64: the first byte is 0xA7 (DER starts with 0x30) and the data is not text",
    );
}

#[test]
fn truncated_der_is_rejected() {
    let der = fixture("pbm-ir", "02-ip.der").der();
    let top = der::tlv(&der, 0);
    let half = &der[..der.len() / 2];
    let dir = TempDir::new("truncated");
    assert_rejected(
        &dir.write("half.der", half),
        &format!(
            "not a CMP message: malformed DER at byte 0: a value claims {} bytes but only {} remain",
            top.end - top.value,
            half.len() - top.value
        ),
    );
}

#[test]
fn a_trailing_byte_is_rejected() {
    let mut der = fixture("sig-ir", "02-ip.der").der();
    der.push(0x00);
    let dir = TempDir::new("trailing");
    assert_rejected(
        &dir.write("plus-one.der", &der),
        "not a CMP message: 1 byte(s) of trailing data after the message",
    );
}

#[test]
fn a_wrong_tag_inside_the_body_is_located() {
    for scenario in ["pbm-ir", "rejection"] {
        let mut der = fixture(scenario, "02-ip.der").der();
        let at = der::first_cert_req_id_offset(&der);
        der[at] = 0x04; // INTEGER → OCTET STRING
        let dir = TempDir::new("wrong-tag");
        assert_rejected(
            &dir.write("ip.der", &der),
            "not a CMP message: body ip: response: certReqId: expected INTEGER, found OCTET STRING",
        );
    }
}

#[test]
fn invalid_base64_and_pem_are_rejected() {
    let dir = TempDir::new("base64");
    assert_rejected(
        &dir.write("bad.b64", b"MIIB\n!AAA\n"),
        "invalid base64: byte 0x21 ('!') at offset 5 is not a base64 character",
    );
    assert_rejected(
        &dir.write("short.b64", b"MIIBA"),
        "invalid base64: 5 base64 characters cannot encode whole bytes",
    );
    assert_rejected(
        &dir.write("no-end.pem", b"-----BEGIN PKIMESSAGE-----\nMAIFAA==\n"),
        "invalid PEM: there is no \"-----END PKIMESSAGE-----\" line",
    );
    assert_rejected(
        &dir.write("not-cmp.b64", b"MAIFAA=="),
        "not a CMP message: header: expected SEQUENCE, found NULL",
    );
}

#[test]
fn an_unreadable_file_is_rejected() {
    let dir = TempDir::new("missing");
    let missing = dir.path("missing.der");
    let io = std::fs::read(&missing).expect_err("does not exist");
    assert_rejected(&missing, &format!("cannot read: {io}"));
}

#[test]
fn good_files_are_printed_next_to_bad_ones() {
    let good1 = fixture("cr", "01-cr.der").path;
    let good2 = fixture("cr", "02-cp.der").path;
    let dir = TempDir::new("mixed");
    let bad = dir.write("bad.der", &[0x30, 0x03, 0x02, 0x01, 0x02]);
    let r = run([
        "inspect".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
        good1.as_os_str(),
        bad.as_os_str(),
        good2.as_os_str(),
    ]);
    assert_eq!(r.code, 2);
    let files: Vec<String> = r
        .stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            v["file"].as_str().expect("file").to_owned()
        })
        .collect();
    assert_eq!(
        files,
        [good1.display().to_string(), good2.display().to_string()]
    );
    assert_eq!(
        r.stderr,
        format!(
            "cmp-agent: {}: not a CMP message: header: expected SEQUENCE, found INTEGER\n",
            bad.display()
        )
    );

    let r = run(["inspect".as_ref(), bad.as_os_str(), good2.as_os_str()]);
    assert_eq!(r.code, 2);
    assert!(
        r.stdout
            .starts_with(&format!("File: {}\n", good2.display()))
    );
    assert_eq!(r.stderr.lines().count(), 1);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["inspect"][..],
        &["inspect", "--format", "xml", "x.der"],
        &["frobnicate"],
        &[],
    ] {
        let r = run(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert_eq!(r.stdout, "", "{args:?}");
        assert!(!r.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn help_documents_formats_and_exit_codes() {
    let r = run(["inspect", "--help"]);
    assert_eq!(r.code, 0);
    for needle in [
        "DER",
        "PEM",
        "base64",
        "standard input",
        "--format",
        "json",
        "JSON Lines",
        "Exit codes:",
        "0  success",
        "2  malformed input",
        "4  a check asked for failed",
        "--secret SRC",
        "--trusted FILE",
        "--srvcert FILE",
        "1  a local failure",
        "3  transport failure or timeout",
        "5  the server refused",
    ] {
        assert!(r.stdout.contains(needle), "{needle}: {}", r.stdout);
    }
    let r = run(["--help"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("inspect") && r.stdout.contains("Exit codes:"));
}
