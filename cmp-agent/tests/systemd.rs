//! The systemd integration: the unit file in the repository passes `systemd-analyze verify`
//! without a warning, and the daemon speaks the notification protocol (READY=1, WATCHDOG=1,
//! STOPPING=1) on the socket NOTIFY_SOCKET names.

mod daemon_rig;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use daemon_rig::*;

const UNIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/cmp-agent.service");

/// `systemd-analyze verify` on the unit, ExecStart pointed at the built binary (verify checks
/// that it exists): (success, stderr).
fn verify(unit_text: &str, dir: &Path) -> (bool, String) {
    let tool = Command::new("systemd-analyze").arg("--version").output();
    assert!(
        tool.is_ok_and(|o| o.status.success()),
        "systemd-analyze is needed: apt-get install -y systemd"
    );
    let path = dir.join("cmp-agent.service");
    std::fs::write(&path, unit_text.replace("/usr/bin/cmp-agent", AGENT)).expect("unit");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_unit_is_hardened_and_verifies_cleanly() {
    let unit = std::fs::read_to_string(UNIT).expect("the unit file");
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "StateDirectory=cmp-agent",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit.lines().any(|l| l.starts_with(line)), "{line} missing");
    }
    let dir = temp("unit");
    let (ok, stderr) = verify(&unit, &dir);
    assert!(
        ok && stderr.trim().is_empty(),
        "systemd-analyze verify: {stderr}"
    );
    // The check can fail: a broken directive is reported.
    let (_, stderr) = verify(&unit.replace("Type=notify", "Type=notifyy"), &dir);
    assert!(stderr.contains("Failed to parse service type"), "{stderr}");
}

#[test]
fn ready_watchdog_and_stopping_are_notified() {
    let dir = temp("notify");
    let ca = Server::start(&dir, &["http://127.0.0.1:0/pkix/"]);
    let cfg = config(&dir, &ca.urls, "1d", "");
    let sock_path = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind NOTIFY_SOCKET");
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut run = spawn_run(
        &cfg,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().expect("utf-8")),
            ("WATCHDOG_USEC", "400000"),
        ],
        &dir.join("agent.log"),
    );
    let mut seen: Vec<String> = Vec::new();
    let start = Instant::now();
    let mut buf = [0u8; 512];
    let want = |seen: &Vec<String>, what: &str| seen.iter().any(|m| m == what);
    while !(want(&seen, "READY=1") && seen.iter().filter(|m| *m == "WATCHDOG=1").count() >= 2) {
        assert!(start.elapsed() < Duration::from_secs(60), "{seen:?}");
        if let Ok(n) = sock.recv(&mut buf) {
            seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    signal(&run, "TERM");
    let start = Instant::now();
    while !want(&seen, "STOPPING=1") {
        assert!(start.elapsed() < Duration::from_secs(60), "{seen:?}");
        if let Ok(n) = sock.recv(&mut buf) {
            seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    assert!(run.wait().expect("stops").success());
}
