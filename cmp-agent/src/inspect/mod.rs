//! `cmp-agent inspect`: decode PKIMessages and print them as text or JSON Lines.
//!
//! Each input is read, converted to DER ([`crate::input`]), decoded with
//! [`ReceivedMessage::decode`], turned into a [`view::MessageView`] and rendered whole before
//! anything is written, so a file that fails prints nothing on standard output.

mod content;
mod json;
mod text;
mod values;
mod view;

use std::io::Write;
use std::process::ExitCode;

use cmp_core::asn1::ReceivedMessage;

use crate::cli::{Format, InspectArgs};
use crate::error::InputError;
use crate::exit;
use crate::input::{self, Source};
use view::MessageView;

/// Runs `inspect` over every file; the exit code is 2 if any file failed, 0 otherwise.
pub(crate) fn run(args: &InspectArgs) -> ExitCode {
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    let mut failed = false;
    let mut first = true;
    for arg in &args.files {
        let source = Source::from_arg(arg);
        match inspect(&source, args.format) {
            Ok(rendered) => {
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
    exit::code(if failed { exit::MALFORMED } else { exit::OK })
}

/// The rendered output for one input, ending with a newline.
fn inspect(source: &Source, format: Format) -> Result<String, InputError> {
    let data = source.read()?;
    let der = input::to_der(&data)?;
    let msg = ReceivedMessage::decode(&der)?;
    let view = MessageView::of(source.name(), &msg);
    Ok(match format {
        Format::Text => text::render(&view),
        Format::Json => {
            // Serializing plain strings, numbers and lists cannot fail.
            let line = json::render(&view).unwrap_or_else(|e| {
                format!("{{\"file\":{:?},\"error\":{:?}}}", view.file, e.to_string())
            });
            line + "\n"
        }
    })
}
