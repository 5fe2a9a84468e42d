//! # cmp-agent
//!
//! The command-line end entity of the CMP toolkit: the program a device, a script or an
//! operator runs to talk CMP (RFC 9810) to a CA or RA.
//!
//! Today it offers one subcommand:
//!
//! * `inspect` decodes PKIMessages saved as DER, PEM or base64 and prints them for a person
//!   (`--format text`) or for a program (`--format json`, one JSON object per line).
//!
//! Enrollment (`ir`, `cr`, `kur`, `p10cr`), revocation (`rr`) and general messages (`genm`)
//! will be added as further subcommands, each in its own module.
//!
//! Exit codes: 0 when everything went well, 2 for malformed input or a usage error, 4 when a
//! protection check asked for failed; see [`exit`].
#![forbid(unsafe_code)]

mod certs;
mod cli;
mod client_cli;
mod commands;
mod error;
mod exit;
mod input;
mod inspect;
mod secret;
mod store;

use std::process::ExitCode;

use clap::Parser;

use cmp_core::transaction::EnrollmentKind;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Ir(args) => commands::enroll(EnrollmentKind::Ir, &args),
        Command::Cr(args) => commands::enroll(EnrollmentKind::Cr, &args),
        Command::Kur(args) => commands::enroll(EnrollmentKind::Kur, &args),
        Command::Ccr(args) => commands::enroll(EnrollmentKind::Ccr, &args),
        Command::P10cr(args) => commands::enroll(EnrollmentKind::P10cr, &args),
        Command::Rr(args) => commands::revoke(&args),
        Command::Genm(args) => commands::general(&args),
    }
}
