//! The command line: one [`Command`] per subcommand, parsed with clap.

use std::path::PathBuf;

use clap::{ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::client_cli::{EnrollArgs, GenmArgs, RevokeArgs};
use crate::secret::SecretSource;

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  a local failure (key generation, token login, disk full)
  2  malformed input (a file that cannot be read or decoded) or a usage error
  3  transport failure or timeout (connect, TLS, HTTP status without a CMP body, frame error)
  4  a check asked for failed: a response failed our checks (protection, sender, IDs, nonces,
     unexpected body, untrusted signer, issued certificate not ours or not chaining), an
     unprotected error without --unprotected-errors; inspect: protection does not verify
  5  the server refused (an authenticated rejection or error message)";

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
        is null.

Protection checks (optional):
  --secret SRC            verify PasswordBasedMac / PBMAC1 with a shared secret
  --trusted FILE          verify a signature: the signer is found in extraCerts (or
                          --untrusted, --trusted) by sender and senderKID, must allow
                          digitalSignature, and must chain to these trust anchors now
  --srvcert FILE          verify a signature with this pinned certificate
`protection` then says \"valid\" or \"invalid: <reason>\"; without checks it says
\"unchecked\" (or \"absent\" for an unprotected message). The dump is printed either way.

A FILE that cannot be read or decoded prints nothing on standard output and one line
`cmp-agent: FILE: what is wrong` on standard error; the other FILEs are still inspected.";

/// `cmp-agent`: a CMP (RFC 9810) client toolkit.
#[derive(Debug, Parser)]
#[command(
    name = "cmp-agent",
    version,
    about = "CMP (RFC 9810) agent: enroll, renew and revoke certificates; inspect CMP messages",
    after_help = EXIT_CODES
)]
pub(crate) struct Cli {
    /// Load a dynamic plugin (a shared library exporting cmp_plugin_entry_v1) before the
    /// command runs; repeatable. A transport plugin serves the URL scheme of its name, a key
    /// backend is chosen with --key-backend NAME.
    #[arg(long, value_name = "PATH", global = true)]
    pub(crate) plugin: Vec<PathBuf>,

    /// The configuration file (TOML; default: the file CMP_AGENT_CONFIG names). CMP_AGENT_*
    /// environment variables override it, flags override both.
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands; each lives in its own module.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Decode CMP messages (PKIMessage) and print their content.
    #[command(long_about = INSPECT_ABOUT, after_help = EXIT_CODES)]
    Inspect(Deferred<InspectArgs>),
    /// Initialization request: the first certificate from a new PKI.
    #[command(after_help = EXIT_CODES)]
    Ir(Deferred<EnrollArgs>),
    /// Certification request: another certificate from a known PKI.
    #[command(after_help = EXIT_CODES)]
    Cr(Deferred<EnrollArgs>),
    /// Key update request: renew a certificate with a new key (signed with the old one).
    #[command(after_help = EXIT_CODES)]
    Kur(Deferred<EnrollArgs>),
    /// Cross-certification request.
    #[command(after_help = EXIT_CODES)]
    Ccr(Deferred<EnrollArgs>),
    /// Enrollment with a PKCS#10 request (--csr).
    #[command(after_help = EXIT_CODES)]
    P10cr(Deferred<EnrollArgs>),
    /// Revocation request.
    #[command(after_help = EXIT_CODES)]
    Rr(Deferred<RevokeArgs>),
    /// General message: ask the CA for caCerts, rootCaCert, certReqTemplate, …
    #[command(after_help = EXIT_CODES)]
    Genm(Deferred<GenmArgs>),
    /// List the available plugins, built in and loaded: name, kind, version, origin.
    #[command(after_help = EXIT_CODES)]
    Plugins(Deferred<PluginsArgs>),
    /// The daemon: keep the configured certificates valid (enroll, renew, re-enroll), for
    /// years, crash-safely.
    #[cfg(feature = "daemon")]
    Run(Deferred<crate::daemon::RunArgs>),
    /// Each configured certificate's state, expiry, next action and last error.
    #[cfg(feature = "daemon")]
    Status(Deferred<crate::daemon::status::StatusArgs>),
    /// A CA on loopback and the agent against it, step by step: ir (PBM, HTTP), kur (TCP),
    /// genm caCerts, rr, and the daemon renewing a short-lived certificate.
    #[cfg(feature = "demo")]
    Demo(Deferred<crate::demo::DemoArgs>),
    /// The configuration: `config check` validates it and prints the effective values.
    #[command(subcommand, after_help = EXIT_CODES)]
    Config(ConfigCommand),
}

/// A subcommand's arguments, added to clap's definition only when that subcommand is parsed
/// (or its help printed): a one-shot run builds the options of its own command, not those
/// of all thirteen — on a device, building them all was a fifth of the instructions of an
/// `ir` and two thirds of its heap. It derefs to the arguments.
#[derive(Debug)]
pub(crate) struct Deferred<T>(pub(crate) T);

impl<T> std::ops::Deref for Deferred<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Args> Args for Deferred<T> {
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.defer(keeping_about::<T, false>)
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        cmd.defer(keeping_about::<T, true>)
    }
}

/// `T`'s arguments added to `cmd` (later, when clap builds the subcommand), keeping the
/// subcommand's own description: the derived `augment_args` sets the arguments struct's doc
/// comment as `about`, and the subcommand's (set when it was defined) must win over it.
fn keeping_about<T: Args, const FOR_UPDATE: bool>(cmd: clap::Command) -> clap::Command {
    let about = cmd.get_about().cloned();
    let long_about = cmd.get_long_about().cloned();
    let cmd = if FOR_UPDATE {
        T::augment_args_for_update(cmd)
    } else {
        T::augment_args(cmd)
    };
    use clap::builder::Resettable;
    cmd.about(about.map_or(Resettable::Reset, Resettable::Value))
        .long_about(long_about.map_or(Resettable::Reset, Resettable::Value))
}

impl<T: FromArgMatches> FromArgMatches for Deferred<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Deferred)
    }
    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(matches).map(Deferred)
    }
    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(matches)
    }
}

/// `cmp-agent config …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Validate the configuration (file, CMP_AGENT_* variables, --plugin flags) and print the
    /// effective values with where each came from.
    Check,
}

/// Arguments of `cmp-agent plugins`.
#[derive(Debug, Args)]
pub(crate) struct PluginsArgs {
    /// Output format: text (one line per plugin: name, kind, version, origin) or json (JSON
    /// Lines: one object per plugin with name, kind, version, origin and schemes).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

/// Arguments of `cmp-agent inspect` (a build without it still parses them, to say so).
#[derive(Debug, Args)]
#[cfg_attr(not(feature = "inspect"), allow(dead_code))]
pub(crate) struct InspectArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,

    /// Verify MAC protection with this shared secret: pass:TEXT, env:VAR or file:PATH.
    #[arg(long, value_name = "SRC")]
    pub(crate) secret: Option<SecretSource>,

    /// Verify signature protection: trust anchors (PEM certificates, or one DER).
    #[arg(long, value_name = "FILE")]
    pub(crate) trusted: Option<PathBuf>,

    /// Intermediate certificates for building the signer's path.
    #[arg(long, value_name = "FILE")]
    pub(crate) untrusted: Option<PathBuf>,

    /// Verify signature protection with this pinned signer certificate.
    #[arg(long, value_name = "FILE")]
    pub(crate) srvcert: Option<PathBuf>,

    /// Accept a signer certificate whose keyUsage lacks digitalSignature (weakens security;
    /// for interop with misissued CA certificates only).
    #[arg(long)]
    pub(crate) ignore_keyusage: bool,

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

    /// Each subcommand's help opens with its own description, not its arguments struct's,
    /// and lists its options although they are added only when the subcommand is built.
    #[test]
    fn deferred_subcommands_keep_their_description_and_options() {
        let mut cli = Cli::command();
        cli.build();
        let ir = cli.find_subcommand_mut("ir").expect("ir");
        assert_eq!(
            ir.get_about().map(ToString::to_string).as_deref(),
            Some("Initialization request: the first certificate from a new PKI")
        );
        let help = ir.render_help().to_string();
        assert!(help.starts_with("Initialization request"), "{help}");
        assert!(help.contains("--server <URL>"), "{help}");
        let inspect = cli.find_subcommand("inspect").expect("inspect");
        assert_eq!(
            inspect.get_long_about().map(ToString::to_string).as_deref(),
            Some(INSPECT_ABOUT)
        );
        // Unbuilt, a subcommand has no options of its own yet; parsing builds the one it
        // enters, not the others.
        let has_server = |cmd: &clap::Command, name: &str| {
            cmd.find_subcommand(name)
                .expect("a subcommand")
                .get_arguments()
                .any(|a| a.get_long() == Some("server"))
        };
        let mut cmd = Cli::command();
        assert!(!has_server(&cmd, "rr"));
        let m = cmd
            .try_get_matches_from_mut(["cmp-agent", "rr", "--server", "http://127.0.0.1:1/"])
            .expect("parsed");
        assert!(m.subcommand_matches("rr").is_some());
        assert!(has_server(&cmd, "rr"));
        assert!(!has_server(&cmd, "cr"));
    }
}
