//! CRLs refreshed by genm crlStatusList (`[daemon] crl_refresh = true`): the running daemon
//! fetches cmp-server's CRL with each trust refresh, keeps it in the store, and checks the
//! CA's CMP signer against it — once cmp-server has revoked its own signer, the next key
//! update is refused with the exact error, and nothing new is installed.

mod daemon_rig;

use std::process::Command;
use std::time::Duration;

use cmp_tests::openssl_ca::self_signed_root as root;
use daemon_rig::*;

const CA: &str = "/CN=CRL Test CA";

#[test]
fn a_revoked_signer_is_refused_after_the_crl_refresh() {
    let dir = temp("crl-signer");
    root(&dir, "ca.key", "ca.pem", CA, "30");
    let (ca_cert, ca_key) = (p(&dir, "ca.pem"), p(&dir, "ca.key"));
    let ca_args = ["--ca-cert", ca_cert.as_str(), "--ca-key", ca_key.as_str()];
    // 1. The CA's CMP signer: a certificate of the CA itself (so that the CA can revoke it),
    //    enrolled with the shared secret.
    {
        let ca = Server::start_with(&dir, &["http://127.0.0.1:0/pkix/"], &ca_args);
        let out = cmp_tests::process::without_proxies(&mut Command::new(AGENT))
            .args([
                "ir",
                "--server",
                &ca.urls[0],
                "--secret",
                SECRET,
                "--ref",
                REF,
            ])
            .args([
                "--newkey",
                "gen:ec:P-256",
                "--newkeyout",
                &p(&dir, "signer.key"),
            ])
            .args(["--subject", "/CN=CRL Test CMP Signer"])
            .args([
                "--certout",
                &p(&dir, "signer.pem"),
                "--trusted",
                &ca_cert,
                "-q",
            ])
            .env_remove("CMP_AGENT_CONFIG")
            .output()
            .expect("cmp-agent ir");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // 2. cmp-server (same state) signs its responses to signed requests with it.
    let (signer, signer_key) = (p(&dir, "signer.pem"), p(&dir, "signer.key"));
    let mut args = ca_args.to_vec();
    args.extend(["--cert", signer.as_str(), "--key", signer_key.as_str()]);
    let ca = Server::start_with(&dir, &["http://127.0.0.1:0/pkix/"], &args);
    // 20 s certificates renewed 2 s after their start: several key updates, no expiry.
    let cfg = config(
        &dir,
        &ca.urls,
        "20s",
        "renew_before = \"90%\"\ntrust_refresh = \"1h\"\ncrl_refresh = true",
    );
    let mut text = std::fs::read_to_string(&cfg).expect("config");
    text.push_str(&format!("trusted = {ca_cert:?}\n"));
    std::fs::write(&cfg, text).expect("config");
    let log_file = dir.join("agent.log");
    let log = || std::fs::read_to_string(&log_file).unwrap_or_default();
    let mut run = spawn_run(&cfg, &[], &log_file);
    // The signer, the ir and a key update checked against the fetched CRL.
    wait_for("a key update", Duration::from_secs(120), || {
        ca.certs().len() >= 3 && log().contains("router: installed in")
    });
    wait_for("a key update", Duration::from_secs(60), || {
        log().matches("router: installed in").count() >= 2
    });
    let first = log();
    assert!(
        first.contains("trust refresh: CRL of CN=CRL Test CA (thisUpdate ")
            && first.contains(", 0 revoked)"),
        "{first}"
    );
    let crls = std::fs::read_to_string(dir.join("state/store/trust/current/crls.pem"))
        .expect("the CRL is kept in the store");
    assert_eq!(
        crls.matches("-----BEGIN X509 CRL-----").count(),
        1,
        "{crls}"
    );

    // 3. The CA revokes its signer (keyCompromise), the signer's own request.
    std::thread::sleep(Duration::from_millis(1100)); // a CRL of a later second
    let out = cmp_tests::process::without_proxies(&mut Command::new(AGENT))
        .args([
            "rr",
            "--server",
            &ca.urls[0],
            "--cert",
            &signer,
            "--key",
            &signer_key,
        ])
        .args(["--trusted", &ca_cert, "--revreason", "1", "-q"])
        .env_remove("CMP_AGENT_CONFIG")
        .output()
        .expect("cmp-agent rr");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let installs = log().matches("router: installed in").count();

    // 4. The next renewal fetches the new CRL and refuses the signer.
    let refused = "is revoked (listed in the CRL of CN=CRL Test CA)";
    wait_for(
        "the revoked signer refused",
        Duration::from_secs(60),
        || log().contains(refused),
    );
    signal(&run, "TERM");
    assert!(run.wait().expect("stops").success());
    let log = log();
    assert!(log.contains(", 1 revoked)"), "{log}");
    let at = log.find(", 1 revoked)").expect("the new CRL");
    let after = &log[at..];
    assert!(
        after.contains("the signer certificate CN=CRL Test CMP Signer is not trusted: certificate path does not validate: the certificate CN=CRL Test CMP Signer (serial "),
        "{after}"
    );
    assert!(!after.contains("router: installed in"), "{after}");
    assert_eq!(
        log.matches("router: installed in").count(),
        installs,
        "{log}"
    );
    let st = status(&cfg);
    let last = st["certificates"][0]["last_error"]
        .as_str()
        .unwrap_or_default();
    assert!(last.contains(refused), "{st}");
}
