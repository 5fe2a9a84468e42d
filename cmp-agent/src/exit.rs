//! The process exit codes of `cmp-agent`, shared by every subcommand.

use std::process::ExitCode;

/// Everything worked.
pub(crate) const OK: u8 = 0;

/// A local failure: a key or file that cannot be used, a token error, a store that cannot be
/// written. (3, the server could not be reached, and 5, the server refused, come with the
/// client's errors: `cmp_core::ClientError::exit_code`.)
pub(crate) const LOCAL: u8 = 1;

/// Some input was malformed (unreadable, not DER/PEM/base64, not a CMP message), or the
/// command line was wrong (clap exits with 2 itself). Also used when standard output cannot
/// be written (other than the reader closing the pipe early).
pub(crate) const MALFORMED: u8 = 2;

/// A check asked for failed: a message's protection does not verify (`inspect`), or a
/// response failed the client's checks.
pub(crate) const CHECK_FAILED: u8 = 4;

/// The [`ExitCode`] for one of the codes above.
pub(crate) fn code(value: u8) -> ExitCode {
    ExitCode::from(value)
}
