//! The daemon against the OpenSSL mock CA (`openssl cmp -port`), which keeps no state between
//! messages: a transaction resumed after a crash is answered as if new, and a certConf the
//! mock cannot place makes the daemon start a new transaction with the same key. The mock
//! answers every enrollment with `pki/new-cert.pem`, so the pending key is seeded with
//! `pki/new-key.pem` (the daemon uses a pending key it finds, as after a crash).

mod daemon_rig;

use cmp_tests::openssl_mock::{MockProtection, openssl_mock};
use daemon_rig::*;

const MOCK_SECRET: &str = "pass:cmp-test-secret-1234";

fn setup(
    label: &str,
) -> (
    std::path::PathBuf,
    cmp_tests::openssl_mock::Server,
    std::path::PathBuf,
) {
    let dir = temp(label);
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let url = format!("http://127.0.0.1:{}/pkix/", mock.port);
    let cfg = config(&dir, &[url], "1d", "");
    let text = std::fs::read_to_string(&cfg)
        .expect("config")
        .replace(SECRET, MOCK_SECRET);
    std::fs::write(&cfg, text).expect("config");
    std::fs::create_dir_all(dir.join("state/keys")).expect("keys dir");
    let pki = cmp_tests::fixtures::openssl_dir().join("pki");
    std::fs::copy(
        pki.join("new-key.pem"),
        dir.join("state/keys/router.pending.pem"),
    )
    .expect("seed");
    (dir, mock, pki)
}

fn installed_is_the_mocks_certificate(dir: &std::path::Path, pki: &std::path::Path) {
    let serial = assert_clean_install(dir);
    assert_eq!(serial, daemon_rig::serial(&pki.join("new-cert.pem")));
    assert!(!hook_runs(dir).is_empty());
}

#[test]
fn a_transaction_resumed_against_the_stateless_mock_completes() {
    let (dir, mock, pki) = setup("mock-resume");
    let cfg = dir.join("agent.toml");
    let crashed = agent(
        &cfg,
        &["run", "--once"],
        &[("CMP_AGENT_FAILPOINT", "after-send")],
    );
    assert_eq!(
        crashed.status.code(),
        None,
        "{}",
        String::from_utf8_lossy(&crashed.stderr)
    );
    let restarted = agent(&cfg, &["run", "--once"], &[]);
    let log = String::from_utf8_lossy(&restarted.stderr);
    assert!(restarted.status.success(), "{log}\n{}", mock.log());
    assert!(log.contains("resuming transaction"), "{log}");
    installed_is_the_mocks_certificate(&dir, &pki);
}

#[test]
fn a_certconf_the_mock_cannot_place_restarts_with_the_same_key() {
    let (dir, mock, pki) = setup("mock-certconf");
    let cfg = dir.join("agent.toml");
    let crashed = agent(
        &cfg,
        &["run", "--once"],
        &[("CMP_AGENT_FAILPOINT", "before-send-again")],
    );
    assert_eq!(
        crashed.status.code(),
        None,
        "{}",
        String::from_utf8_lossy(&crashed.stderr)
    );
    let restarted = agent(&cfg, &["run", "--once"], &[]);
    let log = String::from_utf8_lossy(&restarted.stderr);
    assert!(restarted.status.success(), "{log}\n{}", mock.log());
    assert!(log.contains("resuming transaction"), "{log}");
    installed_is_the_mocks_certificate(&dir, &pki);
    // The mock does not know the transaction of the resent certConf and says so; the
    // daemon starts a new one with the pending key.
    assert!(
        log.contains("the CA did not continue the transaction"),
        "{log}"
    );
    assert!(
        log.contains("starting a new one with the same key"),
        "{log}"
    );
    assert!(log.contains("using the pending key"), "{log}");
}
