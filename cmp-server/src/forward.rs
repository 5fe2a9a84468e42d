//! [`Forwarder`]: an RA relay that passes every request, unchanged, to an upstream CMP server
//! and its answer, unchanged, back — e.g. TCP clients in front of an HTTP-only CA.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use cmp_core::asn1::{FailureBit, PkiMessage, PkiStatusInfo, ReceivedMessage};
use cmp_core::builder::PkiHeaderBuilder;
use cmp_core::server::responses;
use cmp_core::transport::{PeerInfo, Responder, Transport};

/// A [`Responder`] that forwards each request to an upstream [`Transport`].
///
/// The relay does not look into the messages (their protection is end to end between client
/// and CA); when the upstream does not answer, the client gets an unprotected `error` message
/// with systemUnavail that echoes its transactionID and senderNonce.
#[derive(Debug, Clone)]
pub struct Forwarder {
    upstream: Arc<dyn Transport>,
    url: String,
    timeout: Duration,
}

impl Forwarder {
    /// A relay to `upstream` (reached at `url`, named in logs and errors) that waits at most
    /// `timeout` for each answer.
    pub fn new(upstream: Arc<dyn Transport>, url: impl Into<String>, timeout: Duration) -> Self {
        Forwarder {
            upstream,
            url: url.into(),
            timeout,
        }
    }
}

/// An unprotected error message with systemUnavail answering `request`.
fn unavailable(request: &[u8], why: &str) -> Vec<u8> {
    let mut b = PkiHeaderBuilder::new();
    if let Ok(rcv) = ReceivedMessage::decode(request) {
        let h = &rcv.message().header;
        b = b.recipient(h.sender.clone());
        if let Some(t) = &h.transaction_id {
            b = b.transaction_id(t.to_vec());
        }
        if let Some(n) = &h.sender_nonce {
            b = b.recip_nonce(n.to_vec());
        }
    }
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if let Some(t) = i64::try_from(secs)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
    {
        b = b.message_time(t.fixed_offset());
    }
    let body = responses::error(
        PkiStatusInfo::rejection([FailureBit::SystemUnavail], Some(why)),
        None,
    );
    PkiMessage::new(b.build(), body)
        .to_der()
        .unwrap_or_default()
}

#[async_trait::async_trait]
impl Responder for Forwarder {
    async fn respond(&self, request: Vec<u8>, peer: &PeerInfo) -> Vec<u8> {
        let peer_addr = peer.addr.map_or_else(|| "-".to_owned(), |a| a.to_string());
        let deadline = Instant::now() + self.timeout;
        match self.upstream.exchange(&request, Some(deadline)).await {
            Ok(response) => {
                tracing::info!(
                    target: "audit",
                    peer = %peer_addr,
                    upstream = %self.url,
                    request_bytes = request.len(),
                    response_bytes = response.len(),
                    "forwarded"
                );
                response
            }
            Err(e) => {
                let why = format!("the upstream CA {} did not answer: {e}", self.url);
                tracing::warn!(target: "audit", peer = %peer_addr, "refused failInfo=systemUnavail reason={why:?}");
                unavailable(&request, &why)
            }
        }
    }
}
