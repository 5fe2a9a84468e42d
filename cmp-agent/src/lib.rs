//! # cmp-agent
//!
//! The command-line end entity of the CMP toolkit: the program a device, a script or an
//! operator runs to talk CMP (RFC 9810) to a CA or RA — and a library, so that an integrator's
//! own agent registers its plugins in a few lines and reuses every command.
//!
//! Subcommands:
//!
//! * `ir`, `cr`, `kur`, `ccr`, `p10cr`: enroll (first certificate, another one, key update,
//!   cross-certification, PKCS#10), with openssl-style options;
//! * `rr`: revoke; `genm`: ask the CA (caCerts, rootCaCert, certReqTemplate, crlStatusList, …);
//! * `inspect`: decode PKIMessages saved as DER, PEM or base64 and print them for a person
//!   (`--format text`) or a program (`--format json`), optionally checking their protection;
//! * `plugins`: list the plugins available (built in, registered in process, or loaded with
//!   `--plugin PATH`);
//! * `config check`: the effective configuration (`--config FILE` or `CMP_AGENT_CONFIG`,
//!   then `CMP_AGENT_*` variables, then flags).
//!
//! Exit codes: 0 success, 1 local failure, 2 malformed input or usage error, 3 transport
//! failure or timeout, 4 a response (or message) failed our checks, 5 the server refused.
//!
//! ## Plugins
//!
//! Every transport, key backend and certificate store the commands use is built through a
//! [`Registry`]: [`builtins`] holds `http` (http, https), `tcp`
//! (tcp, tcps), `software`, `pkcs11`, `aws-lc` (feature `aws-lc`) and `files`. An
//! integrator adds its own and runs the agent:
//!
//! ```no_run
//! use std::sync::Arc;
//! # use cmp_core::registry::{RegistryError, Settings, TransportFactory};
//! # use cmp_core::transport::Transport;
//! # #[derive(Debug)] struct PigeonFactory;
//! # impl TransportFactory for PigeonFactory {
//! #     fn name(&self) -> &str { "pigeon" }
//! #     fn version(&self) -> &str { "1" }
//! #     fn schemes(&self) -> Vec<String> { vec!["pigeon".into()] }
//! #     fn build(&self, url: &str, _: &Settings) -> Result<Arc<dyn Transport>, RegistryError> {
//! #         // A real factory builds its transport here; this one has no pigeons yet.
//! #         Err(RegistryError::UnknownScheme { url: url.into(), known: String::new() })
//! #     }
//! # }
//! fn main() -> std::process::ExitCode {
//!     let mut registry = cmp_agent::builtins();
//!     registry
//!         .register_transport(Arc::new(PigeonFactory)) // serves pigeon://…
//!         .expect("a new scheme");
//!     cmp_agent::run(std::env::args_os(), registry)
//! }
//! ```
#![forbid(unsafe_code)]

mod builtins;
mod certs;
mod cli;
mod client_cli;
mod commands;
mod config;
#[cfg(feature = "daemon")]
mod daemon;
#[cfg(feature = "demo")]
mod demo;
#[cfg(feature = "dynamic-plugins")]
mod dynamic;
mod error;
mod exit;
mod input;
#[cfg(feature = "inspect")]
mod inspect;
mod secret;
mod store;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use cmp_core::registry::Registry;
use cmp_core::transaction::EnrollmentKind;

pub use builtins::builtins;

use crate::cli::{Cli, Command, ConfigCommand};

/// Runs the agent with the command line `args` (the program name first, as
/// [`std::env::args_os`] gives it) and the plugins of `registry`, and returns the exit
/// status. The configuration is read first (`--config FILE` or `CMP_AGENT_CONFIG`, then
/// `CMP_AGENT_*` variables; every option of the client commands has a key, and an option the
/// command line does not set is taken from there); the libraries its `[[plugin]]` entries and
/// then the `--plugin PATH`
/// flags name are loaded into `registry`; one that cannot be loaded, like a configuration
/// error, is one line naming the path or key (exit 2). Usage errors print clap's message
/// (exit 2); `--help` and `--version` print to standard output (exit 0).
pub fn run<I, T>(args: I, mut registry: Registry) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let mut argv: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // A first, lenient look at the command line: the configuration file, the command, and
    // which options the command line sets (the configuration fills in the others).
    // clap's command is built once: building it is a measurable share of a one-shot run.
    let mut command = Cli::command().ignore_errors(true);
    let pre = command.try_get_matches_from_mut(&argv).ok();
    let mut command = command.ignore_errors(false);
    let config_flag = pre
        .as_ref()
        .and_then(|m| m.try_get_one::<std::path::PathBuf>("config").ok().flatten())
        .cloned();
    let loaded = match config::load_for(config_flag.as_deref(), &command) {
        Ok(loaded) => loaded,
        Err(e) => {
            // A usage error on the command line is reported first.
            if let Err(usage) = parse(&mut command, &argv) {
                let _ = usage.print();
                return exit::code(u8::try_from(usage.exit_code()).unwrap_or(exit::MALFORMED));
            }
            eprintln!("cmp-agent: {e}");
            return exit::code(exit::MALFORMED);
        }
    };
    if let Some((name, given)) = pre.as_ref().and_then(clap::ArgMatches::subcommand) {
        match loaded.extra_args(name, given) {
            Ok(extra) => argv.extend(extra),
            Err(e) => {
                eprintln!("cmp-agent: {e}");
                return exit::code(exit::MALFORMED);
            }
        }
    }
    let cli = match parse(&mut command, &argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return exit::code(u8::try_from(e.exit_code()).unwrap_or(exit::MALFORMED));
        }
    };
    let file_plugins = loaded.plugin.iter().map(|p| &p.path);
    if let Err(e) = load_plugins(&mut registry, file_plugins.chain(&cli.plugin)) {
        eprintln!("cmp-agent: {e}");
        return exit::code(exit::MALFORMED);
    }
    let r = &registry;
    match cli.command {
        #[cfg(feature = "inspect")]
        Command::Inspect(args) => inspect::run(&args),
        #[cfg(not(feature = "inspect"))]
        Command::Inspect(_) => {
            eprintln!("cmp-agent: {}", inspect_not_in_this_build());
            exit::code(exit::MALFORMED)
        }
        Command::Ir(args) => commands::enroll(EnrollmentKind::Ir, &args, r),
        Command::Cr(args) => commands::enroll(EnrollmentKind::Cr, &args, r),
        Command::Kur(args) => commands::enroll(EnrollmentKind::Kur, &args, r),
        Command::Ccr(args) => commands::enroll(EnrollmentKind::Ccr, &args, r),
        Command::P10cr(args) => commands::enroll(EnrollmentKind::P10cr, &args, r),
        Command::Rr(args) => commands::revoke(&args, r),
        Command::Genm(args) => commands::general(&args, r),
        Command::Plugins(args) => commands::plugins::run(&args, r),
        #[cfg(feature = "daemon")]
        Command::Run(args) => daemon::run(&args, cli.config.as_deref(), r),
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo::run(&args),
        #[cfg(feature = "daemon")]
        Command::Status(args) => daemon::status::run(&args, cli.config.as_deref()),
        Command::Config(ConfigCommand::Check) => {
            print!("{}", config::render(&loaded, &cli.plugin));
            exit::code(exit::OK)
        }
    }
}

/// What a build without `inspect` answers `cmp-agent inspect`.
#[cfg(not(feature = "inspect"))]
fn inspect_not_in_this_build() -> &'static str {
    "inspect is not in this build (cargo feature `inspect`; the device and default builds \
     have it): decode the messages saved with --reqout/--rspout on another machine"
}

/// Parses `argv` with the agent's `command`, built once by the caller.
fn parse(command: &mut clap::Command, argv: &[OsString]) -> Result<Cli, clap::Error> {
    let mut matches = command.try_get_matches_from_mut(argv)?;
    Cli::from_arg_matches_mut(&mut matches)
}

/// Loads the dynamic plugins at `paths` into `registry`; the error is one sentence naming the
/// library.
#[cfg(feature = "dynamic-plugins")]
fn load_plugins<'a>(
    registry: &mut Registry,
    paths: impl IntoIterator<Item = &'a std::path::PathBuf>,
) -> Result<(), String> {
    for path in paths {
        dynamic::load(registry, path).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Without the `dynamic-plugins` feature, a plugin to load is an error that says so.
#[cfg(not(feature = "dynamic-plugins"))]
fn load_plugins<'a>(
    _registry: &mut Registry,
    paths: impl IntoIterator<Item = &'a std::path::PathBuf>,
) -> Result<(), String> {
    match paths.into_iter().next() {
        Some(path) => Err(format!(
            "plugin {}: this agent was built without dynamic plugins (cargo feature `dynamic-plugins`)",
            path.display()
        )),
        None => Ok(()),
    }
}

#[cfg(all(test, not(feature = "dynamic-plugins")))]
mod without_plugins_tests {
    #[test]
    fn a_plugin_to_load_says_the_feature_is_missing() {
        let mut registry = crate::builtins();
        assert_eq!(super::load_plugins(&mut registry, []), Ok(()));
        let path = std::path::PathBuf::from("/usr/lib/cmp/libpigeon.so");
        assert_eq!(
            super::load_plugins(&mut registry, [&path]),
            Err(
                "plugin /usr/lib/cmp/libpigeon.so: this agent was built without dynamic \
                 plugins (cargo feature `dynamic-plugins`)"
                    .to_owned()
            )
        );
    }
}

/// What a build without `inspect` does: `cargo test -p cmp-agent --lib --no-default-features
/// --features minimal`.
#[cfg(all(test, not(feature = "inspect")))]
mod without_inspect {
    #[test]
    fn inspect_says_it_is_not_in_this_build_and_exits_2() {
        use clap::Parser;
        // The command line is valid: the exit code is not clap's usage error.
        assert!(crate::cli::Cli::try_parse_from(["cmp-agent", "inspect", "-"]).is_ok());
        let code = super::run(["cmp-agent", "inspect", "-"], super::builtins());
        assert_eq!(code, std::process::ExitCode::from(2));
        assert!(
            super::inspect_not_in_this_build()
                .starts_with("inspect is not in this build (cargo feature `inspect`")
        );
    }
}
