//! # cmp-agent
//!
//! The command-line end entity of the CMP toolkit: the program a device, a script or an
//! operator runs to talk CMP (RFC 9810) to a CA or RA.
//!
//! Subcommands:
//!
//! * `ir`, `cr`, `kur`, `ccr`, `p10cr`: enroll (first certificate, another one, key update,
//!   cross-certification, PKCS#10), with openssl-style options;
//! * `rr`: revoke; `genm`: ask the CA (caCerts, rootCaCert, certReqTemplate, crlStatusList, …);
//! * `inspect`: decode PKIMessages saved as DER, PEM or base64 and print them for a person
//!   (`--format text`) or a program (`--format json`), optionally checking their protection.
//!
//! Exit codes: 0 success, 1 local failure, 2 malformed input or usage error, 3 transport
//! failure or timeout, 4 a response (or message) failed our checks, 5 the server refused; see
//! [`exit`].
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
