//! `cmp-agent demo` runs every step against the cmp-server binary next to it and shows the
//! messages of each.

mod daemon_rig;

use std::process::Command;

#[test]
fn the_demo_shows_every_step() {
    daemon_rig::server_bin();
    let out = cmp_tests::process::without_proxies(&mut Command::new(daemon_rig::AGENT))
        .arg("demo")
        .env_remove("CMP_AGENT_CONFIG")
        .output()
        .expect("cmp-agent demo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut at = 0;
    // In this order.
    for expected in [
        "== 1. ir over HTTP",
        "→ ir ",
        "protection PasswordBasedMac",
        "← ip ",
        "→ certConf",
        "← pkiconf",
        "== 2. kur over TCP",
        "→ kur ",
        "protection ecdsa-with-SHA256",
        "← kup ",
        "renewed certificate: O=cmp-rs demo,CN=Demo Device",
        "== 3. genm caCerts",
        "CN=cmp-rs Demo CA",
        "← genp ",
        "== 4. rr over HTTP",
        "revoked: O=cmp-rs demo,CN=Demo Device (accepted)",
        "← rp ",
        "== 5. the daemon",
        "demo-tls: sent ir",
        "demo-tls: installed in",
        "demo-tls: sent kur",
        "demo-tls: installed in",
        "demo-tls: valid",
        "== 6. what the CA issued",
        " revoked ",
        "reason=4",
        "done in ",
    ] {
        match text[at..].find(expected) {
            Some(i) => at += i + expected.len(),
            None => panic!("{expected:?} missing after byte {at}:\n{text}"),
        }
    }
    // Four certificates: ir, kur, and the daemon's ir and kur.
    assert_eq!(
        text.matches(" valid not_after=").count() + text.matches(" revoked revoked_at=").count(),
        4,
        "{text}"
    );
}
