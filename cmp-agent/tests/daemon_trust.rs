//! Trust that lasts years: `cmp-agent run` asks cmp-server (whose CA is the old root) for
//! caCerts and a root CA key update; a new root vouched for by the old one ends up in the
//! store's anchors, a forged one is refused with its exact error and the old root kept, and a
//! device whose every anchor has expired is told so.

mod daemon_rig;

use std::path::{Path, PathBuf};

use cmp_tests::openssl_ca::self_signed_root as root;
use daemon_rig::*;

/// A certificate of `key` for `subject`, issued by `ca` with `ca_key`.
fn cross(dir: &Path, key: &str, subject: &str, ca: &str, ca_key: &str, out: &str) {
    std::fs::write(
        dir.join("ca.ext"),
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .expect("ext");
    openssl(
        dir,
        &[
            "req", "-new", "-key", key, "-subj", subject, "-out", "x.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "x.csr",
            "-CA",
            ca,
            "-CAkey",
            ca_key,
            "-set_serial",
            "7",
            "-days",
            "30",
            "-extfile",
            "ca.ext",
            "-out",
            out,
        ],
    );
}

const OLD: &str = "/CN=Trust Root G1";
const NEW: &str = "/CN=Trust Root G2";

/// The old root (the CA of cmp-server), the new one and the two links.
fn rollover(dir: &Path) {
    root(dir, "old.key", "old.pem", OLD, "30");
    root(dir, "new.key", "new.pem", NEW, "60");
    cross(dir, "new.key", NEW, "old.pem", "old.key", "newwithold.pem");
    cross(dir, "old.key", OLD, "new.pem", "new.key", "oldwithnew.pem");
}

/// cmp-server with the old root as its CA, answering rootCaCert with `update`
/// (newWithNew, newWithOld, oldWithNew files).
fn server(dir: &Path, update: [&str; 3]) -> Server {
    let (old, key) = (p(dir, "old.pem"), p(dir, "old.key"));
    let (nwn, nwo, own) = (p(dir, update[0]), p(dir, update[1]), p(dir, update[2]));
    Server::start_with(
        dir,
        &["http://127.0.0.1:0/pkix/"],
        &[
            "--ca-cert",
            &old,
            "--ca-key",
            &key,
            "--newwithnew",
            &nwn,
            "--newwithold",
            &nwo,
            "--oldwithnew",
            &own,
        ],
    )
}

/// The daemon configuration trusting the old root.
fn trusting_old(dir: &Path, urls: &[String]) -> PathBuf {
    let cfg = config(dir, urls, "1d", "trust_refresh = \"1h\"");
    let mut text = std::fs::read_to_string(&cfg).expect("config");
    text.push_str(&format!("trusted = {:?}\n", p(dir, "old.pem")));
    std::fs::write(&cfg, text).expect("config");
    cfg
}

fn anchors(st: &serde_json::Value) -> Vec<String> {
    st["trust"]["anchors"]
        .as_array()
        .expect("anchors")
        .iter()
        .map(|a| a["subject"].as_str().expect("subject").to_owned())
        .collect()
}

#[test]
fn a_new_root_vouched_for_by_the_old_one_is_trusted() {
    let dir = temp("trust-rollover");
    rollover(&dir);
    let ca = server(&dir, ["new.pem", "newwithold.pem", "oldwithnew.pem"]);
    let cfg = trusting_old(&dir, &ca.urls);
    let out = agent(&cfg, &["run", "--once"], &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("trust refresh: caCerts: CN=Trust Root G1"),
        "{log}"
    );
    assert!(
        log.contains("trust refresh: new root CN=Trust Root G2 (valid until ")
            && log.contains(
                ") is trusted, vouched for by the old root CN=Trust Root G1 (valid until "
            ),
        "{log}"
    );
    assert_clean_install(&dir);
    let st = status(&cfg);
    assert_eq!(
        anchors(&st),
        ["CN=Trust Root G1", "CN=Trust Root G2"],
        "{st}"
    );
    assert_eq!(st["trust"]["problem"], serde_json::Value::Null, "{st}");
    // The store's anchors file holds both roots; the new one is the openssl-made file's.
    let file = dir.join("state/store/trust/current/anchors.pem");
    let text = std::fs::read_to_string(&file).expect("anchors");
    let new = std::fs::read_to_string(dir.join("new.pem")).expect("new");
    assert!(text.contains(new.trim()), "{text}");
    // Asked again: the same root is not added twice.
    let out = agent(&cfg, &["run", "--once"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(anchors(&status(&cfg)).len(), 2);
    // The text status lists the anchors.
    let out = agent(&cfg, &["status"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("trust anchors:\n  CN=Trust Root G1 (valid until "),
        "{text}"
    );
}

#[test]
fn a_forged_new_root_is_refused_and_the_old_root_kept() {
    let dir = temp("trust-forged");
    rollover(&dir);
    // A forged G2 (the attacker's key) sent with the genuine newWithOld and oldWithNew: the
    // CA's own check (newWithOld signed by the old root) passes, the agent's does not.
    root(&dir, "evil.key", "evil.pem", NEW, "60");
    let ca = server(&dir, ["evil.pem", "newwithold.pem", "oldwithnew.pem"]);
    let cfg = trusting_old(&dir, &ca.urls);
    let out = agent(&cfg, &["run", "--once"], &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    let refused = "new root refused: rootCaKeyUpdate does not verify: newWithOld certifies a different key than newWithNew; the old root CN=Trust Root G1 stays trusted";
    assert!(log.contains(refused), "{log}");
    // The certificate is still enrolled; only the root update was refused.
    assert!(out.status.success(), "{log}");
    let st = status(&cfg);
    assert_eq!(anchors(&st), ["CN=Trust Root G1"], "{st}");
    assert_eq!(st["trust"]["problem"], refused, "{st}");
}

#[test]
fn a_device_whose_every_anchor_expired_is_told_so() {
    let dir = temp("trust-expired");
    root(&dir, "old.key", "old.pem", OLD, "30");
    let (old, key) = (p(&dir, "old.pem"), p(&dir, "old.key"));
    let ca = Server::start_with(
        &dir,
        &["http://127.0.0.1:0/pkix/"],
        &["--ca-cert", &old, "--ca-key", &key],
    );
    let cfg = trusting_old(&dir, &ca.urls);
    let out = agent(&cfg, &["run", "--once"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(anchors(&status(&cfg)), ["CN=Trust Root G1"]);
    // 40 days later the 30-day root has ended (whatever else fails then).
    let later = [("CMP_AGENT_CLOCK_OFFSET", "3456000")];
    let out = agent(&cfg, &["run", "--once"], &later);
    let log = String::from_utf8_lossy(&out.stderr);
    let sentence = "every trust anchor has expired: CN=Trust Root G1 (ended ";
    let advice = "); this device was offline past its root's end, so a new root can no longer be verified — re-bootstrap it (vendor credential or a new `trusted` file)";
    assert!(log.contains(sentence) && log.contains(advice), "{log}");
    let out = agent(&cfg, &["status", "--format", "json"], &later);
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let problem = st["trust"]["problem"].as_str().expect("problem");
    assert!(
        problem.starts_with(sentence) && problem.ends_with(advice),
        "{st}"
    );
    assert_eq!(st["trust"]["anchors"][0]["expired"], true, "{st}");
    // Now, the same anchor is valid and no problem is reported.
    let st = status(&cfg);
    assert_eq!(st["trust"]["anchors"][0]["expired"], false, "{st}");
}

/// The running daemon (trust_refresh 1h) asks again before each renewal, not only at start.
#[test]
fn the_trust_is_refreshed_before_each_renewal() {
    let dir = temp("trust-renewal");
    rollover(&dir);
    let ca = server(&dir, ["new.pem", "newwithold.pem", "oldwithnew.pem"]);
    let cfg = config(
        &dir,
        &ca.urls,
        "6s",
        "renew_before = \"50%\"\ntrust_refresh = \"1h\"",
    );
    let mut text = std::fs::read_to_string(&cfg).expect("config");
    text.push_str(&format!("trusted = {:?}\n", p(&dir, "old.pem")));
    std::fs::write(&cfg, text).expect("config");
    let log_file = dir.join("agent.log");
    let mut run = spawn_run(&cfg, &[], &log_file);
    wait_for("two renewals", std::time::Duration::from_secs(120), || {
        ca.certs().len() >= 3
    });
    signal(&run, "TERM");
    assert!(run.wait().expect("stops").success());
    let log = std::fs::read_to_string(&log_file).expect("log");
    // Each "renew at" follows a refresh; the new root is added once.
    let mut rest = log.as_str();
    for _ in 0..2 {
        let at = rest.find("router: renew at").expect("a renewal");
        let before = &rest[..at];
        let last_refresh = before.rfind("trust refresh: caCerts").expect("refreshed");
        assert!(
            !before[last_refresh..].contains("router: installed in"),
            "the refresh comes right before the renewal:\n{log}"
        );
        rest = &rest[at + 1..];
    }
    assert_eq!(log.matches(") is trusted, vouched for").count(), 1, "{log}");
    assert_eq!(
        anchors(&status(&cfg)),
        ["CN=Trust Root G1", "CN=Trust Root G2"]
    );
}
