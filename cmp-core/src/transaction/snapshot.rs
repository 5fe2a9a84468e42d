//! Saving and restoring an unfinished enrollment across a restart: [`TransactionState`].

use super::enroll::EnrollmentKind;
use crate::storage::StorageError;

/// The format version [`TransactionState::to_bytes`] writes.
pub const FORMAT_VERSION: u32 = 1;

/// The magic at the start of a saved state.
const MAGIC: &[u8] = b"CMPTS";

/// The largest saved state read (a request with a long certificate chain fits many times).
pub const MAX_STATE_LEN: usize = 1 << 20;

/// Where a saved enrollment stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The request (ir, cr, kur, ccr, p10cr) was sent; its certificate response is awaited.
    Requested,
    /// Polling: the last pollReq was sent; a pollRep or the certificate response is awaited.
    Polling,
    /// certConf was sent for `certificate`; pkiConf is awaited.
    Confirming {
        /// The DER of the issued certificate.
        certificate: Vec<u8>,
    },
}

/// Saving and restoring an unfinished enrollment, so that an agent that crashed, was killed or
/// rebooted mid-transaction continues it instead of orphaning a key or a certificate.
///
/// [`TransactionState`] is what an agent persists **before each send**
/// ([`crate::storage::Storage::save_transaction`]): the transactionID, the nonces, the exact
/// bytes of the request about to leave, where the transaction stands (waiting for the
/// certificate response, polling, or waiting for pkiConf after certConf), plus two strings
/// the core only carries — the new key's locator and the CA it was sent to. After a restart
/// [`crate::transaction::Enrollment::resume`] rebuilds the transaction; the agent re-sends
/// the identical request bytes (a server that remembers the transaction answers an identical
/// retransmission from its store, and a pollReq is answered as any poll) and continues with
/// the response as if nothing had happened. A server that no longer knows the transaction
/// answers with an error (`transactionIdInUse`, `badRequest`, …); the agent then starts a new
/// transaction **with the same key**.
///
/// # The format (version 1)
///
/// A small length-prefixed binary, written and read by hand:
///
/// ```text
/// "CMPTS" (5 bytes)  version (u32, big endian, = 1)
/// then the fields, in this order, each as a length (u32, big endian) and that many bytes:
///   kind            1 byte: 0 ir, 1 cr, 2 kur, 3 ccr, 4 p10cr
///   transactionID
///   first senderNonce (empty: none)
///   last senderNonce  (empty: none)
///   peer's senderNonce, our next recipNonce (empty: none)
///   request         the DER of the request last sent, byte for byte
///   phase           1 byte: 0 certificate response awaited, 1 polling, 2 pkiConf awaited
///   polls           u32, the pollReqs sent so far
///   certReqId       i64 (big endian)
///   delayed         1 byte: 1 when an error/waiting started delayed delivery
///   certificate     the DER of the issued certificate (phase 2; else empty)
///   key             the new key's locator, UTF-8 (opaque to the core)
///   ca              the CA's URL, UTF-8 (opaque to the core)
/// ```
///
/// Why not serde/JSON or DER: cmp-core has no serde dependency and needs none for this; the
/// request is binary (DER) and would be base64 in JSON; a DER encoding would need an ASN.1
/// module of its own. Thirteen length-prefixed fields in a fixed order are read by fifty lines
/// that check every length against the bytes left and a bound ([`MAX_STATE_LEN`]), with no
/// parser to trust. A later format gets a new version number; version 1 stays readable (a
/// committed golden file is read by a test).
#[derive(Clone, PartialEq, Eq)]
pub struct TransactionState {
    /// ir, cr, kur, ccr or p10cr.
    pub kind: EnrollmentKind,
    /// The transactionID.
    pub transaction_id: Vec<u8>,
    /// Our first senderNonce (a delayed delivery's final answer may answer it).
    pub first_nonce: Option<Vec<u8>>,
    /// Our last senderNonce: the one in `request`.
    pub last_nonce: Option<Vec<u8>>,
    /// The server's last senderNonce, sent back as recipNonce.
    pub peer_nonce: Option<Vec<u8>>,
    /// The exact bytes of the request last sent.
    pub request: Vec<u8>,
    /// Where the transaction stands.
    pub phase: Phase,
    /// The pollReqs sent so far.
    pub polls: u32,
    /// The certReqId polled for and confirmed.
    pub cert_req_id: i64,
    /// Whether an error with status waiting began delayed delivery (RFC 9483 §4.4).
    pub delayed_delivery: bool,
    /// The new key's locator (a file, a `pkcs11:` URI): the agent's, kept with the state.
    pub key: String,
    /// The CA the transaction was sent to: a resumed transaction stays with it.
    pub ca: String,
}

impl std::fmt::Debug for TransactionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionState")
            .field("kind", &self.kind)
            .field("transaction_id", &hex(&self.transaction_id))
            .field("phase", &self.phase)
            .field("polls", &self.polls)
            .field("request_len", &self.request.len())
            .field("key", &self.key)
            .field("ca", &self.ca)
            .finish_non_exhaustive()
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn kind_code(kind: EnrollmentKind) -> u8 {
    match kind {
        EnrollmentKind::Ir => 0,
        EnrollmentKind::Cr => 1,
        EnrollmentKind::Kur => 2,
        EnrollmentKind::Ccr => 3,
        EnrollmentKind::P10cr => 4,
    }
}

/// What the session of a transaction carries across a restart.
#[derive(Clone, Debug, Default)]
pub(crate) struct SessionParts {
    pub(crate) transaction_id: Vec<u8>,
    pub(crate) first_nonce: Option<Vec<u8>>,
    pub(crate) last_nonce: Option<Vec<u8>>,
    pub(crate) peer_nonce: Option<Vec<u8>>,
    pub(crate) polls: u32,
    pub(crate) delayed_delivery: bool,
}

/// A reader over a saved state that checks every length.
struct Reader<'a> {
    rest: &'a [u8],
}

fn corrupt(reason: impl Into<String>) -> StorageError {
    StorageError::Corrupt {
        path: "saved transaction state".into(),
        reason: reason.into(),
    }
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], StorageError> {
        if self.rest.len() < n {
            return Err(corrupt(format!(
                "truncated in {what} ({n} bytes needed, {} left)",
                self.rest.len()
            )));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u32(&mut self, what: &str) -> Result<u32, StorageError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn field(&mut self, what: &str) -> Result<&'a [u8], StorageError> {
        let len = self.u32(what)? as usize;
        self.take(len, what)
    }

    fn fixed<const N: usize>(&mut self, what: &str) -> Result<[u8; N], StorageError> {
        let f = self.field(what)?;
        <[u8; N]>::try_from(f)
            .map_err(|_| corrupt(format!("{what}: {} bytes, expected {N}", f.len())))
    }

    fn text(&mut self, what: &str) -> Result<String, StorageError> {
        let f = self.field(what)?;
        String::from_utf8(f.to_vec()).map_err(|_| corrupt(format!("{what}: not UTF-8")))
    }
}

fn put(out: &mut Vec<u8>, field: &[u8]) {
    // Every field is far below 4 GiB (the whole state is bounded by MAX_STATE_LEN on read).
    out.extend(u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend(field);
}

fn opt(v: &Option<Vec<u8>>) -> &[u8] {
    v.as_deref().unwrap_or_default()
}

fn non_empty(b: &[u8]) -> Option<Vec<u8>> {
    (!b.is_empty()).then(|| b.to_vec())
}

impl TransactionState {
    /// The state in format version [`FORMAT_VERSION`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.request.len() + 256);
        out.extend(MAGIC);
        out.extend(FORMAT_VERSION.to_be_bytes());
        put(&mut out, &[kind_code(self.kind)]);
        put(&mut out, &self.transaction_id);
        put(&mut out, opt(&self.first_nonce));
        put(&mut out, opt(&self.last_nonce));
        put(&mut out, opt(&self.peer_nonce));
        put(&mut out, &self.request);
        let (phase, cert): (u8, &[u8]) = match &self.phase {
            Phase::Requested => (0, &[]),
            Phase::Polling => (1, &[]),
            Phase::Confirming { certificate } => (2, certificate),
        };
        put(&mut out, &[phase]);
        put(&mut out, &self.polls.to_be_bytes());
        put(&mut out, &self.cert_req_id.to_be_bytes());
        put(&mut out, &[u8::from(self.delayed_delivery)]);
        put(&mut out, cert);
        put(&mut out, self.key.as_bytes());
        put(&mut out, self.ca.as_bytes());
        out
    }

    /// Reads a saved state; every problem is a [`StorageError::Corrupt`] that says what is
    /// wrong (a version this build does not know, a truncated field, trailing bytes, …).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StorageError> {
        if bytes.len() > MAX_STATE_LEN {
            return Err(corrupt(format!(
                "{} bytes, more than the {MAX_STATE_LEN} accepted",
                bytes.len()
            )));
        }
        let mut r = Reader { rest: bytes };
        if r.take(MAGIC.len(), "the magic")? != MAGIC {
            return Err(corrupt("not a saved transaction state (no CMPTS magic)"));
        }
        let version = r.u32("the version")?;
        if version != FORMAT_VERSION {
            return Err(corrupt(format!(
                "format version {version}; this build reads version {FORMAT_VERSION}"
            )));
        }
        let kind = match r.fixed::<1>("kind")?[0] {
            0 => EnrollmentKind::Ir,
            1 => EnrollmentKind::Cr,
            2 => EnrollmentKind::Kur,
            3 => EnrollmentKind::Ccr,
            4 => EnrollmentKind::P10cr,
            k => return Err(corrupt(format!("kind {k} is unknown"))),
        };
        let transaction_id = r.field("transactionID")?.to_vec();
        if transaction_id.is_empty() {
            return Err(corrupt("the transactionID is empty"));
        }
        let first_nonce = non_empty(r.field("first senderNonce")?);
        let last_nonce = non_empty(r.field("last senderNonce")?);
        let peer_nonce = non_empty(r.field("recipNonce")?);
        let request = r.field("request")?.to_vec();
        if request.is_empty() {
            return Err(corrupt("the request is empty"));
        }
        let phase = r.fixed::<1>("phase")?[0];
        let polls = u32::from_be_bytes(r.fixed::<4>("polls")?);
        let cert_req_id = i64::from_be_bytes(r.fixed::<8>("certReqId")?);
        let delayed_delivery = match r.fixed::<1>("delayed")?[0] {
            0 => false,
            1 => true,
            d => return Err(corrupt(format!("delayed flag {d}, expected 0 or 1"))),
        };
        let certificate = r.field("certificate")?.to_vec();
        let phase = match (phase, certificate.is_empty()) {
            (0, true) => Phase::Requested,
            (1, true) => Phase::Polling,
            (2, false) => Phase::Confirming { certificate },
            (2, true) => return Err(corrupt("phase pkiConf awaited without a certificate")),
            (0 | 1, false) => return Err(corrupt("a certificate outside phase 2")),
            (p, _) => return Err(corrupt(format!("phase {p} is unknown"))),
        };
        let key = r.text("key")?;
        let ca = r.text("ca")?;
        if !r.rest.is_empty() {
            return Err(corrupt(format!(
                "{} bytes after the last field",
                r.rest.len()
            )));
        }
        Ok(TransactionState {
            kind,
            transaction_id,
            first_nonce,
            last_nonce,
            peer_nonce,
            request,
            phase,
            polls,
            cert_req_id,
            delayed_delivery,
            key,
            ca,
        })
    }

    /// The transaction's session, as [`super::Enrollment::resume`] restores it.
    pub(crate) fn session_parts(&self) -> SessionParts {
        SessionParts {
            transaction_id: self.transaction_id.clone(),
            first_nonce: self.first_nonce.clone(),
            last_nonce: self.last_nonce.clone(),
            peer_nonce: self.peer_nonce.clone(),
            polls: self.polls,
            delayed_delivery: self.delayed_delivery,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TransactionState {
        TransactionState {
            kind: EnrollmentKind::Kur,
            transaction_id: vec![1; 16],
            first_nonce: Some(vec![2; 16]),
            last_nonce: Some(vec![3; 16]),
            peer_nonce: None,
            request: vec![0x30, 0x03, 0x02, 0x01, 0x05],
            phase: Phase::Confirming {
                certificate: vec![0x30, 0x00],
            },
            polls: 2,
            cert_req_id: -1,
            delayed_delivery: true,
            key: "/var/lib/cmp-agent/keys/router.pending.pem".into(),
            ca: "http://127.0.0.1:8080/pkix/".into(),
        }
    }

    #[test]
    fn round_trip() {
        let s = sample();
        assert_eq!(TransactionState::from_bytes(&s.to_bytes()), Ok(s));
    }

    #[test]
    fn every_truncation_is_refused() {
        let b = sample().to_bytes();
        for n in 0..b.len() {
            assert!(
                matches!(
                    TransactionState::from_bytes(&b[..n]),
                    Err(StorageError::Corrupt { .. })
                ),
                "{n}"
            );
        }
    }

    #[test]
    fn bad_inputs_say_what_is_wrong() {
        let reason = |b: &[u8]| match TransactionState::from_bytes(b) {
            Err(StorageError::Corrupt { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };
        let good = sample().to_bytes();
        let mut v2 = good.clone();
        v2[8] = 2;
        assert_eq!(reason(&v2), "format version 2; this build reads version 1");
        assert_eq!(
            reason(b"NOPE!\0\0\0\x01"),
            "not a saved transaction state (no CMPTS magic)"
        );
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(reason(&trailing), "1 bytes after the last field");
        let mut kind = good.clone();
        kind[13] = 9;
        assert_eq!(reason(&kind), "kind 9 is unknown");
        assert_eq!(
            reason(&vec![0; MAX_STATE_LEN + 1]),
            format!(
                "{} bytes, more than the {MAX_STATE_LEN} accepted",
                MAX_STATE_LEN + 1
            )
        );
    }
}
