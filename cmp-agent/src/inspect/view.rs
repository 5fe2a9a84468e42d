//! [`MessageView`]: everything `inspect` shows about one message, built once and rendered
//! as text or JSON.

use cmp_core::asn1::{PVNO_CMP1999, PVNO_CMP2000, PVNO_CMP2021, ReceivedMessage, oid};
use serde::Serialize;

use super::content::{Content, ItavView};
use super::values::{CertView, Hex, free_text, general_name, generalized_time};

/// One decoded message. The JSON form is the `--format json` line; absent optional fields
/// are `null`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MessageView {
    /// The input name (`<stdin>` for standard input).
    pub(crate) file: String,
    /// Protocol version.
    pub(crate) pvno: i64,
    /// The RFC name of the body type.
    pub(crate) body: &'static str,
    /// The sender (RFC 4514 for a directoryName).
    pub(crate) sender: String,
    /// The recipient.
    pub(crate) recipient: String,
    /// messageTime, RFC 3339 in UTC.
    pub(crate) message_time: Option<String>,
    /// protectionAlg, dotted OID.
    pub(crate) protection_alg: Option<String>,
    /// The short name of protectionAlg, when known.
    pub(crate) protection_alg_name: Option<&'static str>,
    /// senderKID.
    #[serde(rename = "senderKID")]
    pub(crate) sender_kid: Option<Hex>,
    /// recipKID.
    #[serde(rename = "recipKID")]
    pub(crate) recip_kid: Option<Hex>,
    /// transactionID.
    #[serde(rename = "transactionID")]
    pub(crate) transaction_id: Option<Hex>,
    /// senderNonce.
    pub(crate) sender_nonce: Option<Hex>,
    /// recipNonce.
    pub(crate) recip_nonce: Option<Hex>,
    /// freeText entries.
    pub(crate) free_text: Option<Vec<String>>,
    /// generalInfo.
    pub(crate) general_info: Option<Vec<ItavView>>,
    /// What the body holds.
    pub(crate) content: Content,
    /// `valid` or `invalid: …` when a check was asked for; otherwise `unchecked` when
    /// protection is present and `absent` when it is not.
    pub(crate) protection: String,
    /// Length of the protection BIT STRING in bits.
    pub(crate) protection_bits: Option<usize>,
    /// extraCerts.
    pub(crate) extra_certs: Option<Vec<CertView>>,
    /// Whether re-encoding the decoded message gives the received bytes.
    pub(crate) roundtrip: bool,
}

impl MessageView {
    /// The view of `msg`, read from `file`.
    pub(crate) fn of(file: String, msg: &ReceivedMessage) -> Self {
        let m = msg.message();
        let h = &m.header;
        let hex = |o: &Option<_>| o.as_deref().map(Hex::of);
        MessageView {
            file,
            pvno: h.pvno,
            body: m.body.name(),
            sender: general_name(&h.sender),
            recipient: general_name(&h.recipient),
            message_time: h.message_time.as_ref().map(generalized_time),
            protection_alg: h.protection_alg.as_ref().map(|a| oid::dotted(&a.algorithm)),
            protection_alg_name: h
                .protection_alg
                .as_ref()
                .and_then(|a| oid::name(&a.algorithm)),
            sender_kid: hex(&h.sender_kid),
            recip_kid: hex(&h.recip_kid),
            transaction_id: hex(&h.transaction_id),
            sender_nonce: hex(&h.sender_nonce),
            recip_nonce: hex(&h.recip_nonce),
            free_text: h.free_text.clone(),
            general_info: h.general_info.as_ref().map(|g| ItavView::list(g)),
            content: Content::of(&m.body),
            protection: if m.protection.is_some() {
                "unchecked"
            } else {
                "absent"
            }
            .to_owned(),
            protection_bits: m.protection.as_ref().map(|p| p.len()),
            extra_certs: m.extra_certs.as_ref().map(|c| CertView::list(c)),
            roundtrip: msg.roundtrips(),
        }
    }

    /// The name of the pvno value, e.g. `cmp2000`.
    pub(crate) fn pvno_name(&self) -> Option<&'static str> {
        match self.pvno {
            PVNO_CMP1999 => Some("cmp1999"),
            PVNO_CMP2000 => Some("cmp2000"),
            PVNO_CMP2021 => Some("cmp2021"),
            _ => None,
        }
    }

    /// freeText joined, for text output.
    pub(crate) fn free_text_joined(&self) -> Option<String> {
        self.free_text.as_deref().map(free_text)
    }
}
