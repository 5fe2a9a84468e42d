//! A clock it can trust, second half: with `clock_from_ca`, a daemon whose system clock says
//! 1970 takes the messageTime of cmp-server's MAC-protected genp (within the configured
//! bounds) and enrolls; a time outside the bounds is refused with the exact error and nothing
//! is sent beyond the genm.

mod daemon_rig;

use daemon_rig::*;

/// The knob's offset that makes the system clock say 1970-01-01 00:16:40 UTC.
fn back_to_1970() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    (1000 - now).to_string()
}

#[test]
fn the_cas_authenticated_time_stands_in_for_a_clock_stuck_in_1970() {
    let dir = temp("clock-from-ca");
    let ca = Server::start(&dir, &["http://127.0.0.1:0/pkix/"]);
    let cfg = config(&dir, &ca.urls, "1d", "clock_from_ca = \"3650d\"");
    let offset = back_to_1970();
    let out = agent(
        &cfg,
        &["run", "--once"],
        &[("CMP_AGENT_CLOCK_OFFSET", &offset)],
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        // 1000 s after the epoch when the test computed the offset, a second or more later
        // when the agent read its clock: the seconds are not asserted.
        log.contains("the system clock says 1970-01-01 00:1")
            && log.contains(" UTC, before this agent was built (")
            && log.contains("; the CA's authenticated messageTime says ")
            && log.contains(": using the CA's time (the system clock is "),
        "{log}"
    );
    assert_eq!(ca.certs().len(), 1, "{log}");
    assert_clean_install(&dir);
    // Without the key the same clock sends nothing (the first half of the feature).
    let dir = temp("clock-from-ca-off");
    let ca = Server::start(&dir, &["http://127.0.0.1:0/pkix/"]);
    let cfg = config(&dir, &ca.urls, "1d", "");
    let out = agent(
        &cfg,
        &["run", "--once"],
        &[("CMP_AGENT_CLOCK_OFFSET", &offset)],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(ca.certs().is_empty());
}

#[test]
fn the_cas_time_outside_the_bounds_is_not_used() {
    let dir = temp("clock-from-ca-bounds");
    let ca = Server::start(&dir, &["http://127.0.0.1:0/pkix/"]);
    // Bounds: the build time and one second after it — the CA's time is later than that.
    let cfg = config(&dir, &ca.urls, "1d", "clock_from_ca = \"1s\"");
    let out = agent(
        &cfg,
        &["run", "--once"],
        &[("CMP_AGENT_CLOCK_OFFSET", &back_to_1970())],
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("the CA's authenticated messageTime ")
            && log.contains(" is outside the configured bounds (")
            && log.contains("); not used"),
        "{log}"
    );
    assert!(!log.contains("sent ir"), "{log}");
    assert!(ca.certs().is_empty());
}
