//! The audit trail the example plugins write to: one line per event, kept in memory (for the
//! tests) and, if asked, printed to standard error.

use std::sync::Mutex;

/// Lines of audit, in order.
#[derive(Debug, Default)]
pub struct AuditLog {
    lines: Mutex<Vec<String>>,
    echo: bool,
}

impl AuditLog {
    /// A log kept in memory only.
    pub fn new() -> Self {
        AuditLog::default()
    }

    /// A log that also prints each line to standard error, prefixed `audit: `.
    pub fn printing() -> Self {
        AuditLog {
            lines: Mutex::default(),
            echo: true,
        }
    }

    /// Appends a line.
    pub fn record(&self, line: String) {
        if self.echo {
            eprintln!("audit: {line}");
        }
        self.lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(line);
    }

    /// The lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
