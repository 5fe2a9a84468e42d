//! Daemon keys in a PKCS#11 token (SoftHSM2, a fresh token per test) with cmp-server: every
//! new key is generated inside the token under its own label, the saved transaction and the
//! installed record name it by URI, and no key file is written to the state directory.

mod daemon_rig;

use std::path::{Path, PathBuf};
use std::process::Command;

use daemon_rig::*;

/// A fresh SoftHSM2 token `daemon` in `dir`; returns its configuration file and the
/// daemon's `key_store` URI (module path and PIN file in the query).
fn fresh_token(dir: &Path) -> (PathBuf, String) {
    let module = cmp_tests::tools::softhsm_module();
    let (conf, pin) = cmp_tests::tools::softhsm_config(dir);
    let o = Command::new("softhsm2-util")
        .args([
            "--init-token",
            "--free",
            "--label",
            "daemon",
            "--so-pin",
            "0000",
            "--pin",
            "1234",
        ])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("softhsm2-util (apt-get install -y softhsm2)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let uri = format!(
        "pkcs11:token=daemon?module-path={}&pin-source=file:{}",
        module.display(),
        pin.display()
    );
    (conf, uri)
}

/// The daemon configuration of `daemon_rig::config` with `key_store` on the certificate.
fn token_config(dir: &Path, ca: &Server, validity: &str, extra: &str, store: &str) -> PathBuf {
    let cfg = config(dir, &ca.urls, validity, extra);
    let mut text = std::fs::read_to_string(&cfg).expect("config");
    text.push_str(&format!("key_store = {store:?}\n"));
    std::fs::write(&cfg, text).expect("config");
    cfg
}

/// `cmp-agent` under the token's SoftHSM2 configuration.
fn run(cfg: &Path, conf: &Path, failpoint: Option<&str>) -> (bool, Option<i32>, String) {
    let conf = conf.display().to_string();
    let mut env = vec![("SOFTHSM2_CONF", conf.as_str())];
    if let Some(p) = failpoint {
        env.push(("CMP_AGENT_FAILPOINT", p));
    }
    let o = agent(cfg, &["run", "--once"], &env);
    (
        o.status.success(),
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The installed key's URI (`current/key.uri`); asserts no key file is installed and that
/// nothing staged, saved or pending is left.
fn installed_uri(dir: &Path) -> String {
    let id = dir.join("state/store/router");
    assert!(
        !id.join("current/key.pem").exists(),
        "a token key is never written to the store"
    );
    assert!(!id.join("staged").exists(), "no staged generation is left");
    assert!(!id.join("transaction.bin").exists(), "no saved transaction");
    assert!(
        !dir.join("state/keys/router.pending.uri").exists(),
        "no pending key URI is left"
    );
    assert!(
        !dir.join("state/keys/router.pending.pem").exists(),
        "no software key was generated"
    );
    let uri = std::fs::read_to_string(id.join("current/key.uri")).expect("key.uri");
    let uri = uri.trim_end().to_owned();
    assert!(
        uri.starts_with("pkcs11:")
            && uri.contains("token=daemon")
            && uri.contains("object=router-"),
        "{uri}"
    );
    uri
}

/// Proves the token key named by `uri` is the installed certificate's key: a signature-
/// protected genm with `--cert current/cert.pem --key URI`, which cmp-server only answers
/// when the protection verifies with the certificate's public key.
fn assert_key_matches_certificate(dir: &Path, ca: &Server, conf: &Path, uri: &str) {
    let current = dir.join("state/store/router/current");
    let mut cmd = Command::new(AGENT);
    cmp_tests::process::without_proxies(&mut cmd);
    let o = cmd
        .args(["genm", "--server", &ca.urls[0], "--msg-timeout", "20"])
        .arg("--cert")
        .arg(current.join("cert.pem"))
        .args(["--key", uri])
        .arg("--trusted")
        .arg(current.join("chain.pem"))
        .env("SOFTHSM2_CONF", conf)
        .env_remove("CMP_AGENT_CONFIG")
        .output()
        .expect("cmp-agent genm");
    assert!(
        o.status.success(),
        "genm signed by the token key: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The private keys in the token, as `pkcs11-tool --list-objects` prints them: one block of
/// lines per key.
fn token_private_keys(conf: &Path) -> Vec<String> {
    let o = Command::new("pkcs11-tool")
        .arg("--module")
        .arg(cmp_tests::tools::softhsm_module())
        .args([
            "--token-label",
            "daemon",
            "--login",
            "--pin",
            "1234",
            "--list-objects",
            "--type",
            "privkey",
        ])
        .env("SOFTHSM2_CONF", conf)
        .output()
        .expect("pkcs11-tool (apt-get install -y opensc)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.split("Private Key Object")
        .skip(1)
        .map(str::to_owned)
        .collect()
}

/// The token holds a private key labelled `label`, sensitive and never extractable.
fn assert_in_token(conf: &Path, uri: &str) {
    let label = uri
        .split(';')
        .find_map(|a| a.strip_prefix("object="))
        .and_then(|a| a.split('?').next())
        .expect("object=");
    let keys = token_private_keys(conf);
    let key = keys
        .iter()
        .find(|k| k.contains(&format!("label:      {label}\n")))
        .unwrap_or_else(|| panic!("no key labelled {label} in the token: {keys:?}"));
    assert!(
        key.contains("sensitive") && key.contains("never extractable"),
        "{key}"
    );
}

#[test]
fn the_daemon_enrolls_renews_and_retires_keys_in_a_token() {
    let dir = temp("daemon-pkcs11");
    let (conf, store) = fresh_token(&dir);
    let ca = Server::start(&dir, &["http://127.0.0.1:0/pkix/"]);
    // Renewal is due 5 s into a 100 s certificate.
    let cfg = token_config(&dir, &ca, "100s", "renew_before = \"95%\"", &store);

    let (ok, _, log) = run(&cfg, &conf, None);
    assert!(ok, "{log}");
    assert!(log.contains("key generated in the token"), "{log}");
    let first = installed_uri(&dir);
    assert_key_matches_certificate(&dir, &ca, &conf, &first);
    assert_in_token(&conf, &first);
    assert_eq!(ca.certs().len(), 1);

    std::thread::sleep(std::time::Duration::from_secs(6));
    let (ok, _, log) = run(&cfg, &conf, None);
    assert!(ok, "{log}");
    assert!(
        log.contains("sent kur"),
        "the renewal is a kur signed in the token: {log}"
    );
    assert!(
        log.contains("the replaced key stays in its token for the previous generation"),
        "the replaced key is kept for a roll back: {log}"
    );
    let second = installed_uri(&dir);
    assert_ne!(
        first, second,
        "each renewal has a new key with its own label"
    );
    assert_key_matches_certificate(&dir, &ca, &conf, &second);
    assert_in_token(&conf, &second);
    // The previous generation (`previous -> …/key.uri`) still names the first key.
    assert_in_token(&conf, &first);
    assert_eq!(token_private_keys(&conf).len(), 2);
    assert_eq!(ca.certs().len(), 2);
    assert_eq!(hook_runs(&dir).len(), 2);

    // The next renewal retires the first key: no generation names it any more.
    std::thread::sleep(std::time::Duration::from_secs(6));
    let (ok, _, log) = run(&cfg, &conf, None);
    assert!(ok, "{log}");
    let third = installed_uri(&dir);
    assert!(
        log.contains(&format!(
            "router: deleted the key of the generation before the previous one from its token ({})",
            first.split('?').next().expect("path")
        )),
        "{log}"
    );
    assert_key_matches_certificate(&dir, &ca, &conf, &third);
    assert_in_token(&conf, &third);
    assert_in_token(&conf, &second);
    let keys = token_private_keys(&conf);
    assert_eq!(keys.len(), 2, "the current and the previous key: {keys:?}");
    let previous = std::fs::read_to_string(dir.join("state/store/router/previous/key.uri"))
        .expect("the previous generation");
    assert_eq!(
        previous.trim_end(),
        second,
        "the kept key is the previous generation's"
    );
    assert_eq!(ca.certs().len(), 3);
    assert_eq!(hook_runs(&dir).len(), 3);

    // A crash right after the next switch: the restarted daemon finishes the clean-up and
    // retires the second key, which it had noted before the switch.
    std::thread::sleep(std::time::Duration::from_secs(6));
    let (_, code, log) = run(&cfg, &conf, Some("mid-install"));
    assert_eq!(code, None, "aborted by a signal: {log}");
    assert!(dir.join("state/keys/router.replaced.uri").exists(), "{log}");
    assert_eq!(token_private_keys(&conf).len(), 3, "nothing deleted yet");
    let (ok, _, log) = run(&cfg, &conf, None);
    assert!(ok, "{log}");
    assert!(
        log.contains(&format!(
            "router: deleted the key of the generation before the previous one from its token ({})",
            second.split('?').next().expect("path")
        )),
        "{log}"
    );
    let fourth = installed_uri(&dir);
    assert_in_token(&conf, &fourth);
    assert_in_token(&conf, &third);
    assert_eq!(token_private_keys(&conf).len(), 2);
    assert!(!dir.join("state/keys/router.replaced.uri").exists());
    assert_eq!(ca.certs().len(), 4);
}

#[test]
fn a_crash_after_send_resumes_with_the_same_token_key() {
    let dir = temp("daemon-pkcs11-crash");
    let (conf, store) = fresh_token(&dir);
    let ca = Server::start(&dir, &["http://127.0.0.1:0/pkix/"]);
    let cfg = token_config(&dir, &ca, "1d", "", &store);

    let (_, code, log) = run(&cfg, &conf, Some("after-send"));
    assert_eq!(code, None, "aborted by a signal: {log}");
    assert!(log.contains("failpoint after-send: aborting"), "{log}");
    let pending = std::fs::read_to_string(dir.join("state/keys/router.pending.uri"))
        .expect("the pending key's URI is saved before the key is generated");
    let label = pending
        .split(';')
        .find_map(|a| a.strip_prefix("object="))
        .and_then(|a| a.split('?').next())
        .expect("object=")
        .to_owned();
    assert!(label.starts_with("router-"), "{pending}");
    let saved = std::fs::read(dir.join("state/store/router/transaction.bin")).expect("saved");
    assert!(
        saved.windows(label.len()).any(|w| w == label.as_bytes()),
        "the saved transaction names the token key"
    );

    let (ok, _, log) = run(&cfg, &conf, None);
    assert!(ok, "{log}");
    assert!(log.contains("resuming transaction"), "{log}");
    assert!(
        !log.contains("key generated in the token"),
        "no second key: {log}"
    );
    let uri = installed_uri(&dir);
    assert!(
        uri.contains(&format!("object={label}")),
        "the installed key is the one of the crashed transaction: {uri} vs {label}"
    );
    assert_eq!(
        ca.certs().len(),
        1,
        "exactly one certificate: {:?}",
        ca.certs()
    );
    assert_key_matches_certificate(&dir, &ca, &conf, &uri);
    assert_in_token(&conf, &uri);
    assert_eq!(
        token_private_keys(&conf).len(),
        1,
        "no orphaned key in the token"
    );
    assert_eq!(hook_runs(&dir).len(), 1);
}

#[test]
fn a_key_store_naming_a_key_is_refused() {
    let dir = temp("daemon-pkcs11-config");
    let ca = Server::start(&dir, &["http://127.0.0.1:0/pkix/"]);
    let cfg = token_config(&dir, &ca, "1d", "", "pkcs11:token=daemon;object=fixed");
    let o = agent(&cfg, &["run", "--once"], &[]);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        log.contains(
            "key certificate[0].key_store: name the token only (token=…): the daemon labels each new key itself (NAME-TIME)"
        ),
        "{log}"
    );
    let cfg = token_config(&dir, &ca, "1d", "", "/etc/keys");
    let o = agent(&cfg, &["run", "--once"], &[]);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(
        log.contains("key certificate[0].key_store: \"/etc/keys\" is not a key store"),
        "{log}"
    );
}
