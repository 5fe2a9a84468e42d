//! `cmp-agent inspect`: decode PKIMessages and print them as text or JSON Lines.
//!
//! Each input is read, converted to DER ([`crate::input`]), decoded with
//! [`ReceivedMessage::decode`], turned into a [`view::MessageView`] and rendered whole before
//! anything is written, so a file that fails prints nothing on standard output.

mod content;
mod json;
mod text;
mod values;
mod verify;
mod view;

use std::io::Write;
use std::process::ExitCode;

use cmp_core::asn1::ReceivedMessage;

use cmp_core::crypto::CryptoProvider;

use crate::certs::read_certs;
use crate::cli::{Format, InspectArgs};
use crate::error::InputError;
use crate::exit;
use crate::input::{self, Source};
pub(crate) use verify::Checks;
use view::MessageView;

/// The checks the command line asks for, or the sentence that says which option is wrong.
fn checks(args: &InspectArgs) -> Result<Checks, String> {
    let certs = |opt: &str, path: &Option<std::path::PathBuf>| match path {
        None => Ok(Vec::new()),
        Some(p) => read_certs(p).map_err(|e| format!("{opt} {}: {e}", p.display())),
    };
    Ok(Checks {
        secret: match &args.secret {
            None => None,
            Some(src) => Some(src.read().map_err(|e| format!("--secret: {e}"))?),
        },
        trusted: certs("--trusted", &args.trusted)?,
        untrusted: certs("--untrusted", &args.untrusted)?,
        srvcert: certs("--srvcert", &args.srvcert)?.into_iter().next(),
        ignore_keyusage: args.ignore_keyusage,
    })
}

/// Runs `inspect` over every file; the exit code is 2 if any file failed to decode, else 4
/// if a protection check failed, else 0.
pub(crate) fn run(args: &InspectArgs) -> ExitCode {
    let checks = match checks(args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cmp-agent: {e}");
            return exit::code(exit::MALFORMED);
        }
    };
    let provider = cmp_crypto::default_provider();
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    let mut failed = false;
    let mut check_failed = false;
    let mut first = true;
    for arg in &args.files {
        let source = Source::from_arg(arg);
        match inspect(&source, args.format, &checks, &provider) {
            Ok((rendered, verified)) => {
                check_failed |= !verified;
                // Blank lines separate text dumps; JSON Lines have none.
                let sep = if args.format == Format::Text && !first {
                    "\n"
                } else {
                    ""
                };
                first = false;
                if let Err(e) = write!(stdout, "{sep}{rendered}").and_then(|()| stdout.flush()) {
                    // A reader that stopped early (`| head`) is not an error of ours.
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        break;
                    }
                    eprintln!("cmp-agent: cannot write to standard output: {e}");
                    return exit::code(exit::MALFORMED);
                }
            }
            Err(e) => {
                eprintln!("cmp-agent: {}: {e}", source.name());
                failed = true;
            }
        }
    }
    exit::code(if failed {
        exit::MALFORMED
    } else if check_failed {
        exit::CHECK_FAILED
    } else {
        exit::OK
    })
}

/// The rendered output for one input, ending with a newline, and whether every requested
/// check passed.
fn inspect(
    source: &Source,
    format: Format,
    checks: &Checks,
    provider: &CryptoProvider,
) -> Result<(String, bool), InputError> {
    let data = source.read()?;
    let der = input::to_der(&data)?;
    let msg = ReceivedMessage::decode(&der)?;
    let mut view = MessageView::of(source.name(), &msg);
    let mut verified = true;
    if checks.requested() {
        view.protection = match checks.verify(&msg, provider, std::time::SystemTime::now()) {
            Ok(()) => "valid".to_owned(),
            Err(why) => {
                verified = false;
                format!("invalid: {why}")
            }
        };
    }
    let rendered = match format {
        Format::Text => text::render(&view),
        Format::Json => {
            // Serializing plain strings, numbers and lists cannot fail.
            let line = json::render(&view).unwrap_or_else(|e| {
                format!("{{\"file\":{:?},\"error\":{:?}}}", view.file, e.to_string())
            });
            line + "\n"
        }
    };
    Ok((rendered, verified))
}
