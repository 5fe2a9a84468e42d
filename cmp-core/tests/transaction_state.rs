//! The saved transaction state, format version 1: a golden file written by an independent
//! implementation of the format (tests/fixtures/make_transaction_state_v1.py) must stay
//! readable, field for field, and be written back byte for byte.

use cmp_core::asn1::ReceivedMessage;
use cmp_core::transaction::{EnrollmentKind, FORMAT_VERSION, Phase, TransactionState};

const GOLDEN: &[u8] = include_bytes!("fixtures/transaction-state-v1.bin");
const IR: &[u8] = include_bytes!("../../tests/fixtures/openssl/pbm-ir/01-ir.der");

#[test]
fn golden_version_1_is_read_field_for_field() {
    assert_eq!(FORMAT_VERSION, 1);
    let s = TransactionState::from_bytes(GOLDEN).expect("version 1 stays readable");
    assert_eq!(s.kind, EnrollmentKind::Ir);
    assert_eq!(
        hex::encode(&s.transaction_id),
        "b50d34df9cdb6b31f74b7e43c4e77029"
    );
    let nonce = hex::decode("67af5b3763733ca7c635134b5d4c8012").expect("hex");
    assert_eq!(s.first_nonce.as_deref(), Some(nonce.as_slice()));
    assert_eq!(s.last_nonce.as_deref(), Some(nonce.as_slice()));
    assert_eq!(s.peer_nonce, None);
    assert_eq!(s.request, IR);
    assert_eq!(s.phase, Phase::Requested);
    assert_eq!((s.polls, s.cert_req_id, s.delayed_delivery), (0, 0, false));
    assert_eq!(s.key, "/var/lib/cmp-agent/keys/router-tls.pending.pem");
    assert_eq!(s.ca, "http://127.0.0.1:8080/pkix/");
    // The saved request is the one whose IDs were saved.
    let ir = ReceivedMessage::decode(&s.request).expect("the request decodes");
    let h = &ir.message().header;
    assert_eq!(
        h.transaction_id.as_deref(),
        Some(s.transaction_id.as_slice())
    );
    assert_eq!(h.sender_nonce.as_deref(), s.last_nonce.as_deref());
    // Written back byte for byte.
    assert_eq!(s.to_bytes(), GOLDEN);
}
