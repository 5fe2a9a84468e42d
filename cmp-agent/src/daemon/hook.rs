//! The post-install hook: a command (argv, no shell) run after every install, with a
//! timeout; its exit status is logged. It runs **at least once per install**: the daemon
//! records "hook pending" in the identity's metadata before the switch and clears it after
//! the hook ran, so a crash in between runs it again at the next start.

use std::time::Duration;

/// Runs `argv` with `CMP_AGENT_IDENTITY` and `CMP_AGENT_CERT_DIR` set; kills it after
/// `timeout`. Returns a line for the log.
pub(crate) async fn run(
    argv: &[String],
    identity: &str,
    cert_dir: &std::path::Path,
    timeout: Duration,
) -> Result<String, String> {
    let Some((program, args)) = argv.split_first() else {
        return Ok("no hook configured".into());
    };
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .env("CMP_AGENT_IDENTITY", identity)
        .env("CMP_AGENT_CERT_DIR", cert_dir)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("hook {program}: cannot start: {e}"))?;
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) if status.success() => Ok(format!("hook {program}: {status}")),
        Ok(Ok(status)) => Err(format!("hook {program}: {status}")),
        Ok(Err(e)) => Err(format!("hook {program}: {e}")),
        Err(_) => {
            let _ = child.kill().await;
            Err(format!(
                "hook {program}: killed after the timeout of {} s",
                timeout.as_secs()
            ))
        }
    }
}
