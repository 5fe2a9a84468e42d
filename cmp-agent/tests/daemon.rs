//! `cmp-agent run` and `status` against the real cmp-server on loopback, with short-lived
//! certificates (the daemon asks for `validity`; cmp-server honours a requested notAfter).

mod daemon_rig;

use std::time::Duration;

use daemon_rig::*;

const LONG: Duration = Duration::from_secs(120);

#[test]
fn enrolls_renews_twice_fails_over_and_runs_the_hook_after_every_install() {
    let dir = temp("renew");
    let ca = Server::start(&dir, &["http://127.0.0.1:0/pkix/"]);
    // The first CA URL refuses connections: every transaction fails over to the second.
    let servers = vec!["http://127.0.0.1:1/pkix/".to_owned(), ca.urls[0].clone()];
    let cfg = config(&dir, &servers, "6s", "renew_before = \"50%\"");
    let mut run = spawn_run(&cfg, &[], &dir.join("agent.log"));
    wait_for("three certificates at the CA", LONG, || {
        ca.certs().len() >= 3
    });
    wait_for("the third install's hook", LONG, || {
        hook_runs(&dir).len() >= 3
    });
    signal(&run, "TERM");
    let stopped = run.wait().expect("the daemon stops");
    assert!(stopped.success(), "{stopped:?}");
    let log = std::fs::read_to_string(dir.join("agent.log")).expect("log");
    assert!(log.contains("router: sent ir"), "{log}");
    let installs = log.matches("router: installed in").count();
    assert_eq!(installs, hook_runs(&dir).len(), "{log}");
    let kur_answered = log.matches("router: received kup").count();
    assert_eq!(kur_answered, installs - 1, "{log}");
    assert!(
        log.contains("http://127.0.0.1:1/pkix/: cannot connect")
            && log.contains("trying the next CA"),
        "{log}"
    );
    let certs = ca.certs();
    let serial = assert_clean_install(&dir);
    // The installed certificate is the last one the CA issued; each install ran the hook.
    assert!(
        certs.last().expect("a cert").starts_with(&serial),
        "{certs:?} {serial}"
    );
    assert_eq!(hook_runs(&dir).len(), certs.len(), "{:?}", hook_runs(&dir));
    assert!(hook_runs(&dir).iter().all(|l| l.starts_with("router ")));
    let st = status(&cfg);
    let c = &st["certificates"][0];
    assert_eq!(c["name"], "router");
    assert_eq!(c["serial"], serial.as_str());
    assert_eq!(c["failures"], 0);
    assert!(c["next_action"] == "renew", "{st}");
}

#[test]
fn re_enrolls_with_ir_after_expiry() {
    let dir = temp("expiry");
    let ca = Server::start(&dir, &["http://127.0.0.1:0/pkix/"]);
    let cfg = config(&dir, &ca.urls, "3s", "");
    let out = agent(&cfg, &["run", "--once"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = assert_clean_install(&dir);
    std::thread::sleep(Duration::from_secs(4));
    let out = agent(&cfg, &["run", "--once"], &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("router: re-enroll at"), "{log}");
    assert!(log.contains("router: sent ir"), "{log}");
    assert!(!log.contains("sent kur"), "{log}");
    let second = assert_clean_install(&dir);
    assert_ne!(first, second);
    assert_eq!(ca.certs().len(), 2);
}

#[test]
fn kur_refused_falls_back_to_ir() {
    // The certificate to renew is revoked at the CA: kur, signed with it, is refused.
    let dir = temp("kur-refused");
    let ca = Server::start(&dir, &["http://127.0.0.1:0/pkix/"]);
    let cfg = config(&dir, &ca.urls, "4s", "renew_before = \"90%\"");
    let out = agent(&cfg, &["run", "--once"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = assert_clean_install(&dir);
    let revoke = std::process::Command::new(server_bin())
        .args(["certs", "revoke", &first, "--state-dir"])
        .arg(&ca.state)
        .output()
        .expect("revoke");
    assert!(
        revoke.status.success(),
        "{}",
        String::from_utf8_lossy(&revoke.stderr)
    );
    std::thread::sleep(Duration::from_secs(1));
    let out = agent(&cfg, &["run", "--once"], &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("kur refused"), "{log}");
    assert!(log.contains("falling back to ir"), "{log}");
    let second = assert_clean_install(&dir);
    assert_ne!(first, second);
}

#[test]
fn a_clock_before_the_build_is_detected_and_nothing_is_sent() {
    let dir = temp("clock");
    let ca = Server::start(&dir, &["http://127.0.0.1:0/pkix/"]);
    let cfg = config(&dir, &ca.urls, "1d", "");
    // 40 years back: 1986.
    let out = agent(
        &cfg,
        &["run", "--once"],
        &[("CMP_AGENT_CLOCK_OFFSET", "-1262304000")],
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("the system clock says 198"), "{log}");
    assert!(log.contains("before this agent was built"), "{log}");
    assert!(log.contains("waiting for a sane clock"), "{log}");
    assert!(ca.certs().is_empty());
    let st = status(&cfg);
    let err = st["certificates"][0]["last_error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(err.contains("before this agent was built"), "{st}");
}

#[test]
fn one_daemon_per_state_directory() {
    let dir = temp("lock");
    let ca = Server::start(&dir, &["http://127.0.0.1:0/pkix/"]);
    let cfg = config(&dir, &ca.urls, "1d", "");
    let mut first = spawn_run(&cfg, &[], &dir.join("first.log"));
    wait_for("the first daemon's install", LONG, || {
        hook_runs(&dir).len() == 1
    });
    let second = agent(&cfg, &["run"], &[]);
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("another cmp-agent daemon runs on the state directory"),
        "{err}"
    );
    signal(&first, "TERM");
    assert!(first.wait().expect("stops").success());
}

#[test]
fn sighup_reloads_the_configuration() {
    let dir = temp("hup");
    let ca = Server::start(&dir, &["http://127.0.0.1:0/pkix/"]);
    let cfg = config(&dir, &ca.urls, "1d", "");
    let mut run = spawn_run(&cfg, &[], &dir.join("agent.log"));
    wait_for("the first install", LONG, || hook_runs(&dir).len() == 1);
    let mut text = std::fs::read_to_string(&cfg).expect("config");
    text.push_str(&format!(
        "\n[[certificate]]\nname = \"second\"\nsubject = \"/CN=second\"\nsecret = \"{SECRET}\"\nref = \"{REF}\"\n"
    ));
    std::fs::write(&cfg, text).expect("config");
    signal(&run, "HUP");
    wait_for("the second certificate", LONG, || {
        hook_runs(&dir).len() == 2
    });
    assert!(
        hook_runs(&dir)[1].starts_with("second "),
        "{:?}",
        hook_runs(&dir)
    );
    signal(&run, "TERM");
    assert!(run.wait().expect("stops").success());
    let log = std::fs::read_to_string(dir.join("agent.log")).expect("log");
    assert!(
        log.contains("configuration reloaded: 2 certificate(s)"),
        "{log}"
    );
}

/// The loop steps an identity only when its next action is due: between renewals its record is
/// not read again (however short `check_interval`), so a store changed behind the daemon's
/// back is seen only after SIGHUP, which resets the plan.
#[test]
fn an_identity_not_due_is_not_looked_at_until_sighup() {
    let dir = temp("not-due");
    let ca = Server::start(&dir, &["http://127.0.0.1:0/pkix/"]);
    let cfg = config(&dir, &ca.urls, "1d", "check_interval = \"1s\"");
    let mut run = spawn_run(&cfg, &[], &dir.join("agent.log"));
    let log = || std::fs::read_to_string(dir.join("agent.log")).unwrap_or_default();
    wait_for("the first install and its plan", LONG, || {
        hook_runs(&dir).len() == 1 && log().contains("; renewal at ")
    });
    std::fs::remove_dir_all(dir.join("state/store/router")).expect("the identity removed");
    // Several passes of the loop (check_interval 1 s): the removal goes unnoticed.
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_eq!(hook_runs(&dir).len(), 1, "{:?}", hook_runs(&dir));
    assert_eq!(ca.certs().len(), 1, "{:?}", ca.certs());
    signal(&run, "HUP");
    wait_for("the enrollment after the reload", LONG, || {
        hook_runs(&dir).len() == 2
    });
    signal(&run, "TERM");
    assert!(run.wait().expect("stops").success());
    assert_eq!(ca.certs().len(), 2, "{:?}", ca.certs());
    assert_clean_install(&dir);
}

#[test]
fn status_in_text_and_json() {
    let dir = temp("status");
    let ca = Server::start(&dir, &["http://127.0.0.1:0/pkix/"]);
    let cfg = config(&dir, &ca.urls, "1d", "");
    let before = agent(&cfg, &["status"], &[]);
    assert_eq!(String::from_utf8_lossy(&before.stdout), "router: none\n");
    assert!(agent(&cfg, &["run", "--once"], &[]).status.success());
    let serial = assert_clean_install(&dir);
    let text = String::from_utf8_lossy(&agent(&cfg, &["status"], &[]).stdout).into_owned();
    assert!(text.starts_with("router: valid\n"), "{text}");
    assert!(
        text.contains(&format!("  serial       {serial}\n")),
        "{text}"
    );
    assert!(
        text.contains("  subject      O=cmp-rs daemon tests,CN=router.example\n"),
        "{text}"
    );
    assert!(text.contains("  next action  renew at "), "{text}");
    let st = status(&cfg);
    let c = &st["certificates"][0];
    assert_eq!(c["state"], "valid");
    assert!(c["not_after_unix"].as_i64().is_some(), "{st}");
    assert_eq!(c["last_error"], serde_json::Value::Null);
}

#[test]
fn daemon_configuration_errors_name_the_key() {
    let dir = temp("config-errors");
    let cases = [
        (
            "[daemon]\nrenew_befor = \"33%\"\n",
            "key daemon.renew_befor: unknown field: found `renew_befor`",
        ),
        (
            "[daemon]\nrenew_before = \"150%\"\n",
            "key daemon.renew_before: \"150%\": the percentage must be above 0 and below 100",
        ),
        (
            "[daemon]\nwindow = \"25:00-01:00\"\n",
            "key daemon.window: \"25:00-01:00\": expected a daily window in UTC such as \"02:00-04:00\"",
        ),
        (
            "[[certificate]]\nname = \"a\"\nsubject = \"/CN=a\"\n",
            "key certificate[0].secret: give the first enrollment's credential: secret and ref (PBM), or vendor_cert and vendor_key",
        ),
        (
            "[[certificate]]\nname = \"a\"\nsubject = \"/CN=a\"\nsecret = \"hunter2\"\nref = \"r\"\n",
            "key certificate[0].secret: not a secret source (give pass:TEXT, env:VAR or file:PATH)",
        ),
        (
            "[[certificate]]\nname = \"../x\"\nsubject = \"/CN=a\"\nsecret = \"pass:x\"\nref = \"r\"\n",
            "key certificate[0].name: storage: identity name \"../x\": start with a letter or a digit",
        ),
    ];
    for (text, expected) in cases {
        let cfg = dir.join("bad.toml");
        std::fs::write(&cfg, text).expect("write");
        let out = agent(
            &cfg,
            &["run", "--state-dir", dir.join("s").to_str().expect("utf-8")],
            &[],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(expected), "{text}: {err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
}

#[test]
fn a_refusal_is_reported_backed_off_and_leaves_no_transaction() {
    let dir = temp("refused");
    let ca = Server::start_with(
        &dir,
        &["http://127.0.0.1:0/pkix/"],
        &[
            "--pkistatus",
            "2",
            "--failure",
            "9",
            "--statusstring",
            "not today",
        ],
    );
    let cfg = config(&dir, &ca.urls, "1d", "");
    // A back-off longer than a loaded machine takes between the two passes below.
    let text = std::fs::read_to_string(&cfg).expect("config").replace(
        "retry_min = \"1s\"\nretry_max = \"2s\"",
        "retry_min = \"60s\"\nretry_max = \"120s\"",
    );
    assert!(text.contains("retry_min = \"60s\""), "{text}");
    std::fs::write(&cfg, text).expect("config");
    let out = agent(&cfg, &["run", "--once"], &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(log.contains("(failure 1; next try at"), "{log}");
    let st = status(&cfg);
    let c = &st["certificates"][0];
    assert_eq!(c["state"], "none", "{st}");
    assert_eq!(c["failures"], 1, "{st}");
    assert_eq!(c["next_action"], "retry", "{st}");
    assert_eq!(c["transaction"], serde_json::Value::Null, "{st}");
    let err = c["last_error"].as_str().unwrap_or_default();
    assert!(
        err.contains("rejection") && err.contains("not today"),
        "{st}"
    );
    assert!(!dir.join("state/store/router/transaction.bin").exists());
    // The key generated for it is kept for the next attempt.
    assert!(dir.join("state/keys/router.pending.pem").exists());
    // Backing off: a second pass right away sends nothing.
    let again = agent(&cfg, &["run", "--once"], &[]);
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(!log.contains("sent ir"), "{log}");
}

#[test]
fn config_check_shows_the_daemon_keys_without_secrets() {
    let dir = temp("config-check");
    let cfg = config(
        &dir,
        &["http://127.0.0.1:9/pkix/".to_owned()],
        "1d",
        "jitter = \"5m\"",
    );
    let out = agent(
        &cfg,
        &["config", "check"],
        &[("CMP_AGENT_DAEMON__RETRY_MIN", "7s")],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = cfg.display().to_string();
    assert!(text.contains("\n[daemon]\n"), "{text}");
    assert!(
        text.contains(&format!("jitter = \"5m\"  # {file}\n")),
        "{text}"
    );
    assert!(
        text.contains("retry_min = \"7s\"  # environment variable CMP_AGENT_DAEMON__RETRY_MIN\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("\n[[certificate]]\nname = \"router\"  # {file}\n")),
        "{text}"
    );
    assert!(!text.contains("daemon-test-secret"), "{text}");
}
