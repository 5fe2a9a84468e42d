//! Transport failures in the middle of a transaction: an answer lost after the CA gave it
//! (the identical request is re-sent and cmp-server answers it from its store: one
//! certificate), and a CA that stays unreachable for a resumed transaction (given up after five
//! attempts; a new transaction with the same key at the next CA).

mod daemon_rig;

use std::time::Duration;

use daemon_rig::*;

/// The base64 body of a PEM file (the DER, for comparing keys).
fn pem_body(path: &std::path::Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect()
}

#[test]
fn a_lost_answer_is_asked_for_again_and_the_ca_answers_from_its_store() {
    let dir = temp("lost-answer");
    let ca = Server::start(&dir, &["http://127.0.0.1:0/pkix/"]);
    let proxy = lossy_proxy(&ca.urls[0]);
    let cfg = config(&dir, &[proxy], "1d", "");
    // The ir reaches the CA, which issues the certificate; its ip is lost on the way.
    let first = agent(&cfg, &["run", "--once"], &[]);
    let log = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(1), "not installed yet: {log}");
    assert!(log.contains("router: sent ir"), "{log}");
    assert!(!log.contains("router: received"), "{log}");
    assert!(!log.contains("trying the next CA"), "{log}");
    assert!(
        dir.join("state/store/router/transaction.bin").exists(),
        "the transaction stays saved: {log}"
    );
    assert_eq!(ca.certs().len(), 1, "the CA has answered");
    // After the back-off (retry_min 1 s): the saved request, byte for byte, again.
    std::thread::sleep(Duration::from_millis(2500));
    let second = agent(&cfg, &["run", "--once"], &[]);
    let log = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{log}");
    assert!(log.contains("resuming transaction"), "{log}");
    assert!(log.contains("router: received ip"), "{log}");
    let certs = ca.certs();
    assert_eq!(certs.len(), 1, "exactly one certificate: {certs:?}\n{log}");
    let serial = assert_clean_install(&dir);
    assert!(certs[0].starts_with(&serial), "{certs:?} {serial}");
}

#[test]
fn a_resumed_transaction_is_given_up_after_five_unreachable_attempts() {
    let dir = temp("give-up");
    let (a_dir, b_dir) = (dir.join("a"), dir.join("b"));
    std::fs::create_dir_all(&a_dir).expect("a");
    std::fs::create_dir_all(&b_dir).expect("b");
    let a = Server::start(&a_dir, &["http://127.0.0.1:0/pkix/"]);
    let b = Server::start(&b_dir, &["http://127.0.0.1:0/pkix/"]);
    let cfg = config(&dir, &[a.urls[0].clone(), b.urls[0].clone()], "1d", "");
    // A transaction with CA a, saved after its ip came (the process aborted there) ...
    let crashed = agent(
        &cfg,
        &["run", "--once"],
        &[("CMP_AGENT_FAILPOINT", "after-send")],
    );
    let log = String::from_utf8_lossy(&crashed.stderr);
    assert_eq!(crashed.status.code(), None, "{log}");
    let pending = pem_body(&dir.join("state/keys/router.pending.pem"));
    // ... and CA a gone for good.
    let a_url = a.urls[0].clone();
    drop(a);
    let log_file = dir.join("agent.log");
    let log = || std::fs::read_to_string(&log_file).unwrap_or_default();
    let mut run = spawn_run(&cfg, &[], &log_file);
    wait_for("an install", Duration::from_secs(120), || {
        log().contains("router: installed in")
    });
    signal(&run, "TERM");
    assert!(run.wait().expect("stops").success());
    let log = log();
    assert_eq!(
        log.matches("router: resuming transaction").count(),
        5,
        "five attempts with CA a:\n{log}"
    );
    assert!(
        log.contains(&format!(
            "router: the transaction with {a_url} failed 5 times (cannot connect to "
        )),
        "{log}"
    );
    assert!(log.contains("giving it up (the key is kept)"), "{log}");
    assert!(log.contains("router: using the pending key"), "{log}");
    let certs = b.certs();
    assert_eq!(certs.len(), 1, "one certificate, from CA b: {certs:?}");
    let serial = assert_clean_install(&dir);
    assert!(certs[0].starts_with(&serial), "{certs:?} {serial}");
    assert_eq!(
        pem_body(&dir.join("state/store/router/current/key.pem")),
        pending,
        "the new transaction used the key of the one given up"
    );
}
