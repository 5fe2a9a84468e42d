//! `cmp-load` against our server (every enrollment accepted) and against the OpenSSL mock
//! (every enrollment finished correctly but rejected: the mock returns its one certificate,
//! for another key, which certConf refuses).

use std::process::Command;

use cmp_tests::openssl_mock::{MockProtection, openssl_mock, start};

fn load(url: &str, concurrency: u32, extra: &[&str]) -> (serde_json::Value, String, Option<i32>) {
    let concurrency = concurrency.to_string();
    let o = Command::new(env!("CARGO_BIN_EXE_cmp-load"))
        .args(["--server", url, "--count", "24", "--format", "json"])
        .args(["--concurrency", &concurrency])
        .args(extra)
        .output()
        .expect("run cmp-load");
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let json = serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null);
    (
        json,
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code(),
    )
}

fn counts(j: &serde_json::Value) -> [u64; 4] {
    ["completed", "accepted", "rejected", "failed"].map(|k| j[k].as_u64().expect(k))
}

#[test]
fn against_our_server_every_enrollment_is_accepted() {
    let server = start(
        env!("CARGO_BIN_EXE_cmp-server"),
        &[
            "--listen",
            "http://127.0.0.1:{port}/pkix/",
            "--secret",
            "pass:load-secret-1234",
            "--ref",
            "load-ref",
        ]
        .map(str::to_owned),
        Some("listening on"),
    );
    let url = format!("http://127.0.0.1:{}/pkix/", server.port);
    let (j, err, code) = load(
        &url,
        4,
        &["--secret", "pass:load-secret-1234", "--ref", "load-ref"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(counts(&j), [24, 24, 0, 0]);
    let (p50, p99, max) = (
        j["p50_ms"].as_f64(),
        j["p99_ms"].as_f64(),
        j["max_ms"].as_f64(),
    );
    assert!(p50 <= p99 && p99 <= max && p50 > Some(0.0), "{j}");
    // A wrong secret: every exchange fails our checks, and the reason is shown once.
    let (j, err, code) = load(&url, 4, &["--secret", "pass:wrong", "--ref", "load-ref"]);
    assert_eq!(code, Some(1));
    assert_eq!(counts(&j), [0, 0, 0, 24]);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("cmp-load: 24 failed: the response failed a check: "),
        "{err}"
    );
}

#[test]
fn against_the_openssl_mock_every_enrollment_is_rejected_by_certconf() {
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let url = format!("http://127.0.0.1:{}/pkix/", mock.port);
    // The mock keeps one transaction at a time (interleaved ones fail with "transactionid
    // unmatched"): one client.
    let (j, err, code) = load(
        &url,
        1,
        &[
            "--secret",
            "pass:cmp-test-secret-1234",
            "--ref",
            "client-ref-1234",
        ],
    );
    assert_eq!(code, Some(0), "{err}\n{}", mock.log());
    assert_eq!(counts(&j), [24, 0, 24, 0]);
}

#[test]
fn options_are_checked() {
    let o = Command::new(env!("CARGO_BIN_EXE_cmp-load"))
        .args(["--server", "http://127.0.0.1:9/", "--count", "1"])
        .output()
        .expect("run cmp-load");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "cmp-load: give --secret and --ref (shared secret) or --cert and --key (signature)\n"
    );
}
