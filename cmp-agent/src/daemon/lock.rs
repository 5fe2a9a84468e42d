//! One daemon per state directory: an exclusive `flock` on `STATE_DIR/agent.lock`, held as
//! long as the process lives (the kernel drops it when the process dies, however it dies).

use std::fs::File;
use std::path::Path;

/// The held lock.
#[derive(Debug)]
pub(crate) struct StateLock {
    _file: File,
}

/// Takes the lock, or says which directory another daemon holds.
pub(crate) fn acquire(state_dir: &Path) -> Result<StateLock, String> {
    std::fs::create_dir_all(state_dir)
        .map_err(|e| format!("state directory {}: {e}", state_dir.display()))?;
    let path = state_dir.join("agent.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(StateLock { _file: file }),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(format!(
            "another cmp-agent daemon runs on the state directory {} (it holds {})",
            state_dir.display(),
            path.display()
        )),
        Err(e) => Err(format!("{}: cannot lock: {e}", path.display())),
    }
}
