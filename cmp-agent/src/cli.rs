//! The command line: one [`Command`] per subcommand, parsed with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  2  malformed input (a file that cannot be read or decoded) or a usage error
  Subcommands that talk to a CA will add 1, 3, 4 and 5.";

const INSPECT_ABOUT: &str = "\
Decode CMP messages (PKIMessage) and print their content.

Each FILE holds one PKIMessage, given as
  - DER (the first byte is 0x30),
  - PEM with any label (-----BEGIN PKIMESSAGE-----, -----BEGIN CMP MESSAGE-----, ...);
    header lines such as `Proc-Type: ...` are skipped, or
  - bare base64 (whitespace and line breaks allowed).
`-` reads standard input.

Output formats:
  text  a readable, indented dump in the style of `openssl x509 -text` (the default)
  json  JSON Lines: one object per FILE, on one line, with the keys file, pvno, body,
        sender, recipient, messageTime, protectionAlg, protectionAlgName, senderKID,
        recipKID, transactionID, senderNonce, recipNonce, freeText, generalInfo,
        content, protection, protectionBits, extraCerts and roundtrip. Byte strings
        are lowercase hex, names RFC 4514 strings, times RFC 3339; an absent field
        is null. `protection` is \"unchecked\" (or \"absent\"): it is not verified.

A FILE that cannot be read or decoded prints nothing on standard output and one line
`cmp-agent: FILE: what is wrong` on standard error; the other FILEs are still inspected.";

/// `cmp-agent`: a CMP (RFC 9810) client toolkit.
#[derive(Debug, Parser)]
#[command(
    name = "cmp-agent",
    version,
    about = "CMP (RFC 9810) agent: inspect certificate management messages",
    after_help = EXIT_CODES
)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands; each lives in its own module.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Decode CMP messages (PKIMessage) and print their content.
    #[command(long_about = INSPECT_ABOUT, after_help = EXIT_CODES)]
    Inspect(InspectArgs),
}

/// Arguments of `cmp-agent inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,

    /// Files holding one PKIMessage each (DER, PEM or base64); `-` is standard input.
    #[arg(value_name = "FILE", required = true)]
    pub(crate) files: Vec<PathBuf>,
}

/// How `inspect` prints a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// A readable, indented dump, like `openssl x509 -text`.
    Text,
    /// JSON Lines: exactly one JSON object per file, on one line.
    Json,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
