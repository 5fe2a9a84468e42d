//! `--format text`: an indented, aligned dump in the style of `openssl x509 -text`.
//!
//! Absent optional header fields are left out; everything present is shown.

mod body;
mod writer;

use super::values::Hex;
use super::view::MessageView;
use writer::Out;

/// The text dump of `view`, ending with a newline.
pub(crate) fn render(view: &MessageView) -> String {
    let mut out = Out::default();
    out.line(format_args!("File: {}", view.file));
    out.line("PKIMessage:");
    out.nest(|out| {
        header(out, view);
        out.line(format_args!("Body: {}", view.body));
        out.nest(|out| body::content(out, &view.content));
        protection(out, view);
        out.field(
            "Roundtrip",
            if view.roundtrip {
                "yes (re-encoding gives the received bytes)"
            } else {
                "no (the input is not in canonical DER)"
            },
        );
    });
    out.finish()
}

fn header(out: &mut Out, v: &MessageView) {
    out.line("Header:");
    out.nest(|out| {
        let pvno = match v.pvno_name() {
            Some(name) => format!("{} ({name})", v.pvno),
            None => v.pvno.to_string(),
        };
        out.field("pvno", pvno);
        out.field("sender", name_or_null(&v.sender));
        out.field("recipient", name_or_null(&v.recipient));
        out.opt("messageTime", v.message_time.as_ref());
        if let Some(dotted) = &v.protection_alg {
            let alg = match v.protection_alg_name {
                Some(name) => format!("{name} ({dotted})"),
                None => dotted.clone(),
            };
            out.field("protectionAlg", alg);
        }
        out.opt("senderKID", v.sender_kid.as_ref().map(kid));
        out.opt("recipKID", v.recip_kid.as_ref().map(kid));
        out.opt("transactionID", v.transaction_id.as_ref().map(Hex::hex));
        out.opt("senderNonce", v.sender_nonce.as_ref().map(Hex::hex));
        out.opt("recipNonce", v.recip_nonce.as_ref().map(Hex::hex));
        out.opt("freeText", v.free_text_joined().map(|t| format!("{t:?}")));
        if let Some(infos) = &v.general_info {
            out.line("generalInfo:");
            out.nest(|out| body::itavs(out, infos));
        }
    });
}

fn protection(out: &mut Out, v: &MessageView) {
    let text = match v.protection_bits {
        Some(bits) => format!("present, {bits} bits ({})", v.protection),
        None => "absent".to_owned(),
    };
    out.field("Protection", text);
    match &v.extra_certs {
        Some(certs) => {
            out.line("extraCerts:");
            out.nest(|out| body::certs(out, certs));
        }
        None => out.field("extraCerts", "absent"),
    }
}

/// A key identifier: hex, plus the text when it is printable ASCII.
fn kid(h: &Hex) -> String {
    match h.ascii() {
        Some(text) => format!("{} ({text:?})", h.hex()),
        None => h.hex(),
    }
}

/// A name, or `NULL-DN` for the empty one.
fn name_or_null(name: &str) -> &str {
    if name.is_empty() { "NULL-DN" } else { name }
}
