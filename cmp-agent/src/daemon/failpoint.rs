//! Crash points for the crash-safety tests: when the environment variable
//! `CMP_AGENT_FAILPOINT` names a point, the daemon aborts the process there (as SIGKILL
//! would: no destructor, no flush), the first time it reaches it. Always compiled in, inert
//! unless the variable is set. The points of a transaction, in order:
//!
//! * `before-send` — the transaction was saved, its first request not yet sent;
//! * `after-send` — the request reached the CA and its response arrived, unread;
//! * `after-response` — the response passed every check, the certificate is not yet staged;
//! * `after-staging` — the certificate is staged, certConf not yet saved or sent;
//! * `polling` — the transaction was saved before a pollReq, which was not yet sent;
//! * `mid-install` — the CA confirmed (pkiConf), the credential is being installed: after
//!   the store's switch, before the saved transaction is cleared and the hook runs.

/// The variable naming the crash point.
pub(crate) const VAR: &str = "CMP_AGENT_FAILPOINT";

/// Aborts the process if `CMP_AGENT_FAILPOINT` names `point`.
pub(crate) fn point(point: &str) {
    if std::env::var(VAR).is_ok_and(|v| v == point) {
        eprintln!("cmp-agent: failpoint {point}: aborting");
        std::process::abort();
    }
}
