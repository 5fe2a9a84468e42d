//! systemd's notification protocol (`sd_notify`): `READY=1` once the daemon runs,
//! `WATCHDOG=1` at half the watchdog interval, `STATUS=…` and `STOPPING=1`, each one datagram
//! to the socket `NOTIFY_SOCKET` names (a path, or `@name` in the abstract namespace, which
//! this implementation does not support and reports once). Without `NOTIFY_SOCKET` nothing is
//! sent.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// The notifier of this process.
#[derive(Debug)]
pub(crate) struct Notifier {
    socket: Option<(UnixDatagram, String)>,
}

impl Notifier {
    /// From `NOTIFY_SOCKET` (unset: a notifier that sends nothing).
    pub(crate) fn from_env() -> Self {
        let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
            return Notifier { socket: None };
        };
        let path = path.to_string_lossy().into_owned();
        if path.starts_with('@') {
            tracing::warn!(
                "NOTIFY_SOCKET {path}: abstract sockets are not supported; no notifications"
            );
            return Notifier { socket: None };
        }
        match UnixDatagram::unbound() {
            Ok(s) => Notifier {
                socket: Some((s, path)),
            },
            Err(e) => {
                tracing::warn!("NOTIFY_SOCKET: cannot create a socket: {e}");
                Notifier { socket: None }
            }
        }
    }

    /// Sends `state` (`READY=1`, …); a failure is logged, never fatal.
    pub(crate) fn send(&self, state: &str) {
        if let Some((s, path)) = &self.socket {
            if let Err(e) = s.send_to(state.as_bytes(), path) {
                tracing::warn!("NOTIFY_SOCKET {path}: {e}");
            }
        }
    }

    /// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, when it is set for this
    /// process (`WATCHDOG_PID` absent or ours).
    pub(crate) fn watchdog_interval() -> Option<Duration> {
        if let Ok(pid) = std::env::var("WATCHDOG_PID") {
            if pid.trim() != std::process::id().to_string() {
                return None;
            }
        }
        let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
        (usec > 0).then(|| Duration::from_micros(usec / 2).max(Duration::from_millis(100)))
    }
}
