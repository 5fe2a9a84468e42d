//! Crash safety: the daemon is killed (the `CMP_AGENT_FAILPOINT` crash points abort the
//! process, as SIGKILL would) at each fixed point of a transaction, then restarted. In the
//! end the CA has issued exactly one new certificate, the store holds it with the key that
//! matches it, nothing staged or pending is left, and the install hook ran.

mod daemon_rig;

use daemon_rig::*;

/// ir crashed at `point` (with the server's `extra` knobs), then restarted.
fn crash_and_restart(point: &str, extra: &[&str]) {
    let dir = temp(&format!("crash-{point}"));
    let ca = Server::start_with(&dir, &["http://127.0.0.1:0/pkix/"], extra);
    let cfg = config(&dir, &ca.urls, "1d", "");
    let crashed = agent(&cfg, &["run", "--once"], &[("CMP_AGENT_FAILPOINT", point)]);
    let log = String::from_utf8_lossy(&crashed.stderr);
    assert_eq!(crashed.status.code(), None, "aborted by a signal: {log}");
    assert!(
        log.contains(&format!("failpoint {point}: aborting")),
        "{log}"
    );
    let restarted = agent(&cfg, &["run", "--once"], &[]);
    let log = String::from_utf8_lossy(&restarted.stderr);
    assert!(restarted.status.success(), "{point}: {log}");
    assert!(
        log.contains("resuming transaction") || point == "none",
        "{point}: {log}"
    );
    let certs = ca.certs();
    assert_eq!(
        certs.len(),
        1,
        "{point}: exactly one certificate issued: {certs:?}\n{log}"
    );
    let serial = assert_clean_install(&dir);
    assert!(certs[0].starts_with(&serial), "{point}: {certs:?} {serial}");
    assert!(!hook_runs(&dir).is_empty(), "{point}: the hook ran");
}

#[test]
fn crash_before_send() {
    crash_and_restart("before-send", &[]);
}

#[test]
fn crash_after_send() {
    crash_and_restart("after-send", &[]);
}

#[test]
fn crash_after_response() {
    crash_and_restart("after-response", &[]);
}

#[test]
fn crash_after_staging() {
    crash_and_restart("after-staging", &[]);
}

#[test]
fn crash_mid_install() {
    crash_and_restart("mid-install", &[]);
}

#[test]
fn crash_during_polling() {
    crash_and_restart("polling", &["--poll-count", "2", "--check-after", "1"]);
}

/// kur crashed after the CA answered, then restarted: one new certificate besides the first.
#[test]
fn kur_crash_after_send() {
    let dir = temp("crash-kur");
    let ca = Server::start(&dir, &["http://127.0.0.1:0/pkix/"]);
    // Renewal is due 5 s into a certificate's life: the sleep makes the first one due, and the
    // resumed kur's certificate is not (even on a loaded machine) when the restarted pass (which refreshes the trust anchors first) ends.
    let cfg = config(&dir, &ca.urls, "100s", "renew_before = \"95%\"");
    assert!(agent(&cfg, &["run", "--once"], &[]).status.success());
    let first = assert_clean_install(&dir);
    std::thread::sleep(std::time::Duration::from_secs(6));
    let crashed = agent(
        &cfg,
        &["run", "--once"],
        &[("CMP_AGENT_FAILPOINT", "after-send")],
    );
    let log = String::from_utf8_lossy(&crashed.stderr);
    assert_eq!(crashed.status.code(), None, "{log}");
    assert!(log.contains("sent kur"), "{log}");
    let restarted = agent(&cfg, &["run", "--once"], &[]);
    let log = String::from_utf8_lossy(&restarted.stderr);
    assert!(restarted.status.success(), "{log}");
    let certs = ca.certs();
    assert_eq!(certs.len(), 2, "{certs:?}\n{log}");
    let second = assert_clean_install(&dir);
    assert_ne!(first, second);
    assert!(certs[1].starts_with(&second), "{certs:?}");
    assert_eq!(hook_runs(&dir).len(), 2);
}

/// The CA forgot the transaction (its `--transaction-ttl` passed while the agent was down
/// after sending certConf): the agent starts a new transaction with the same key.
#[test]
fn a_forgotten_transaction_restarts_with_the_same_key() {
    let dir = temp("crash-forgotten");
    let ca = Server::start_with(
        &dir,
        &["http://127.0.0.1:0/pkix/"],
        &["--transaction-ttl", "1"],
    );
    let cfg = config(&dir, &ca.urls, "1d", "");
    let crashed = agent(
        &cfg,
        &["run", "--once"],
        &[("CMP_AGENT_FAILPOINT", "before-send-again")],
    );
    let log = String::from_utf8_lossy(&crashed.stderr);
    assert_eq!(crashed.status.code(), None, "{log}");
    let pending = std::fs::read_to_string(dir.join("state/keys/router.pending.pem"))
        .expect("the pending key is kept");
    std::thread::sleep(std::time::Duration::from_secs(3));
    let restarted = agent(&cfg, &["run", "--once"], &[]);
    let log = String::from_utf8_lossy(&restarted.stderr);
    assert!(restarted.status.success(), "{log}");
    assert!(
        log.contains("starting a new one with the same key"),
        "{log}"
    );
    assert!(log.contains("using the pending key"), "{log}");
    let serial = assert_clean_install(&dir);
    let certs = ca.certs();
    assert_eq!(certs.len(), 2, "{certs:?}");
    assert!(certs[1].starts_with(&serial), "{certs:?}");
    // The installed key is the pending key of the first transaction.
    let installed =
        std::fs::read_to_string(dir.join("state/store/router/current/key.pem")).expect("key");
    let der = |pem: &str| {
        pem.lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
    };
    assert_eq!(der(&installed), der(&pending));
}

/// SIGTERM while the transaction polls: the daemon parks it (saved) and stops within
/// `stop_timeout`; the next start resumes the polling and completes with one certificate.
#[test]
fn sigterm_parks_a_polling_transaction_and_the_next_start_resumes_it() {
    let dir = temp("sigterm-park");
    let ca = Server::start_with(
        &dir,
        &["http://127.0.0.1:0/pkix/"],
        &["--poll-count", "2", "--check-after", "4"],
    );
    let cfg = config(&dir, &ca.urls, "1d", "stop_timeout = \"1s\"");
    let mut run = spawn_run(&cfg, &[], &dir.join("agent.log"));
    let log = || std::fs::read_to_string(dir.join("agent.log")).unwrap_or_default();
    wait_for(
        "the first pollRep",
        std::time::Duration::from_secs(60),
        || log().contains("received pollRep"),
    );
    signal(&run, "TERM");
    assert!(run.wait().expect("stops").success());
    assert!(
        log().contains("the unfinished transaction is parked"),
        "{}",
        log()
    );
    assert!(dir.join("state/store/router/transaction.bin").exists());
    let restarted = agent(&cfg, &["run", "--once"], &[]);
    let text = String::from_utf8_lossy(&restarted.stderr);
    assert!(restarted.status.success(), "{text}");
    assert!(text.contains("resuming transaction"), "{text}");
    assert!(
        text.contains("(polling)") || text.contains("(request sent)"),
        "{text}"
    );
    assert_clean_install(&dir);
    assert_eq!(ca.certs().len(), 1, "{:?}", ca.certs());
}
