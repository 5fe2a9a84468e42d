//! The audit line: one `tracing` event (target `audit`) per request the server decided on —
//! who asked (the peer's address, the proven reference or signer subject, the sender name and
//! senderKID as sent), what was asked, and what came of it (issued, revoked, refused and why,
//! answered). Secrets never appear: a reference (senderKID) names a secret, it is not one.

use cmp_core::asn1::{CmpCertificate, PkiMessage};
use cmp_core::names::format_name;
use cmp_core::server::{Exchange, Requester};
use cmp_core::transport::PeerInfo;
use rasn_pkix::GeneralName;

/// What the issuer did for the request, as the driver saw it.
#[derive(Debug, Default)]
pub(crate) struct Done {
    /// The serial (hex) and subject of a certificate issued.
    pub(crate) issued: Option<(String, String)>,
    /// The serial (hex) of a certificate revoked.
    pub(crate) revoked: Option<String>,
}

/// Printable bytes as text, others in hex.
fn text_or_hex(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(t) if !t.is_empty() && t.chars().all(|c| c.is_ascii_graphic() || c == ' ') => {
            t.to_owned()
        }
        _ => format!("0x{}", hex::encode(bytes)),
    }
}

fn name(g: &GeneralName) -> String {
    match g {
        GeneralName::DirectoryName(n) => format_name(n),
        other => format!("{other:?}"),
    }
}

fn who(requester: Option<Requester>) -> String {
    match requester {
        Some(Requester::Reference(r)) => format!("reference:{}", text_or_hex(&r)),
        Some(Requester::Certificate(der)) => match CmpCertificate::from_der(&der) {
            Ok(c) => format!("signer:{}", format_name(c.subject())),
            Err(_) => "signer:?".to_owned(),
        },
        Some(Requester::Unauthenticated) => "unauthenticated".to_owned(),
        Some(_) => "other".to_owned(),
        None => "unverified".to_owned(),
    }
}

/// Logs the decision on `exchange`'s request.
pub(crate) fn log(exchange: &Exchange, peer: &PeerInfo, done: &Done, response: &[u8]) {
    let request: Option<&PkiMessage> = exchange.request();
    let body = request.map_or("undecodable", |m| m.body.name());
    let header = request.map(|m| &m.header);
    let tid = header
        .and_then(|h| h.transaction_id.as_deref())
        .map_or_else(|| "-".to_owned(), hex::encode);
    let sender = header.map_or_else(|| "-".to_owned(), |h| name(&h.sender));
    let kid = header
        .and_then(|h| h.sender_kid.as_deref())
        .map_or_else(|| "-".to_owned(), text_or_hex);
    let peer = peer.addr.map_or_else(|| "-".to_owned(), |a| a.to_string());
    let who = who(exchange.authenticated());
    let outcome = if let Some(r) = exchange.refusal() {
        format!("refused failInfo={} reason={:?}", r.fail_info, r.reason)
    } else if let Some((serial, subject)) = &done.issued {
        format!("issued serial={serial} subject={subject:?}")
    } else if let Some(serial) = &done.revoked {
        format!("revoked serial={serial}")
    } else if exchange.authenticated().is_none() && request.is_some() {
        "answered from the store (identical retransmission)".to_owned()
    } else {
        "answered".to_owned()
    };
    tracing::info!(
        target: "audit",
        peer = %peer,
        request = %body,
        transaction = %tid,
        who = %who,
        sender = %sender,
        sender_kid = %kid,
        response_bytes = response.len(),
        "{outcome}"
    );
}
