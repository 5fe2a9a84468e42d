//! Malformed input gets an error that says where and what — never a panic.

use std::path::Path;

use cmp_core::DecodeError;
use cmp_core::asn1::{DecodeLimits, ReceivedMessage};
use cmp_core::der::check_framing;

fn fixture(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/openssl")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn err(der: &[u8]) -> String {
    ReceivedMessage::decode(der)
        .expect_err("must not decode")
        .to_string()
}

/// Offset of the certReqId INTEGER of the first CertResponse of an ip, found by walking
/// the TLVs: PKIMessage → body [1] → CertRepMessage → response → CertResponse → certReqId.
fn cert_req_id_offset(der: &[u8]) -> usize {
    let top = check_framing(der, 64).expect("framing");
    let mut msg = top.children();
    let _header = msg.read().expect("header");
    let body = msg.read().expect("body");
    assert_eq!(body.first_octet(), 0xA1, "an ip");
    let rep = body.children().read().expect("CertRepMessage");
    let mut fields = rep.children();
    let mut response = fields.read().expect("caPubs or response");
    if response.first_octet() == 0xA1 {
        response = fields.read().expect("response");
    }
    let cert_response = response.children().read().expect("CertResponse");
    let id = cert_response.children().read().expect("certReqId");
    assert_eq!(id.first_octet(), 0x02);
    id.offset
}

#[test]
fn wrong_type_inside_the_body_names_the_field() {
    let mut der = fixture("pbm-ir/02-ip.der");
    let at = cert_req_id_offset(&der);
    der[at] = 0x04; // INTEGER → OCTET STRING
    assert_eq!(
        err(&der),
        "body ip: response: certReqId: expected INTEGER, found OCTET STRING"
    );
}

#[test]
fn wrong_type_in_the_header_names_the_field() {
    // pvno INTEGER → BOOLEAN in a pkiconf.
    let mut der = fixture("pbm-ir/04-pkiconf.der");
    let top = check_framing(&der, 64).expect("framing");
    let header = top.children().read().expect("header");
    let pvno_at = header.offset + header.raw.len() - header.value.len();
    assert_eq!(der[pvno_at], 0x02);
    der[pvno_at] = 0x01;
    assert_eq!(err(&der), "header: pvno: expected INTEGER, found BOOLEAN");
}

#[test]
fn truncated_trailing_empty_and_oversized() {
    let der = fixture("pbm-ir/01-ir.der");
    let half = &der[..der.len() / 2];
    // The top SEQUENCE has a 4-byte header (30 82 LL LL).
    assert_eq!(&der[..2], [0x30, 0x82]);
    assert_eq!(
        err(half),
        format!(
            "malformed DER at byte 0: a value claims {} bytes but only {} remain",
            der.len() - 4,
            half.len() - 4
        )
    );

    let mut longer = der.clone();
    longer.push(0);
    assert_eq!(err(&longer), "1 byte(s) of trailing data after the message");

    assert_eq!(err(&[]), "the input is empty");

    let limits = DecodeLimits {
        max_size: 100,
        ..DecodeLimits::default()
    };
    let e = ReceivedMessage::decode_with_limits(&der, &limits).expect_err("too large");
    assert_eq!(
        e,
        DecodeError::TooLarge {
            size: der.len(),
            max: 100
        }
    );
}

#[test]
fn not_a_sequence() {
    assert_eq!(
        err(&[0x04, 0x01, 0x00]),
        "PKIMessage: expected SEQUENCE (0x30), found tag 0x04"
    );
}

#[test]
fn unknown_body_type() {
    // header = minimal valid header, body = [27] (no such body type).
    let header = hex::decode("300b020102a4023000a4023000").expect("hex");
    let mut content = header.clone();
    content.extend_from_slice(&[0xBB, 0x02, 0x05, 0x00]);
    let mut der = vec![0x30, content.len() as u8];
    der.extend_from_slice(&content);
    assert_eq!(
        err(&der),
        "body: unknown body type [27] (CMP defines [0] ir to [26] pollRep)"
    );
}

#[test]
fn unexpected_field_after_the_body() {
    let header = hex::decode("300b020102a4023000a4023000").expect("hex");
    let mut content = header.clone();
    content.extend_from_slice(&[0xB3, 0x02, 0x05, 0x00, 0xA2, 0x00]);
    let mut der = vec![0x30, content.len() as u8];
    der.extend_from_slice(&content);
    assert_eq!(
        err(&der),
        "PKIMessage: unexpected field tagged 0xA2 after the body (only [0] protection and [1] extraCerts may follow)"
    );
    // extraCerts present but empty.
    let mut content = header;
    content.extend_from_slice(&[0xB3, 0x02, 0x05, 0x00, 0xA1, 0x02, 0x30, 0x00]);
    let mut der = vec![0x30, content.len() as u8];
    der.extend_from_slice(&content);
    assert_eq!(
        err(&der),
        "extraCerts: the sequence is empty (SIZE (1..MAX))"
    );
}

#[test]
fn deep_nesting_is_refused_before_decoding() {
    // 200 nested `nested` bodies would recurse; the framing check stops it.
    let header = hex::decode("300b020102a4023000a4023000").expect("hex");
    let mut msg = {
        let mut c = header.clone();
        c.extend_from_slice(&[0xB3, 0x02, 0x05, 0x00]);
        wrap(0x30, &c)
    };
    for _ in 0..200 {
        let nested = wrap(0xB4, &wrap(0x30, &msg));
        let mut c = header.clone();
        c.extend_from_slice(&nested);
        msg = wrap(0x30, &c);
    }
    let e = err(&msg);
    // The offset is that of the 65th value on the path down, in the outer, longer-framed
    // levels of this particular input.
    assert_eq!(
        e,
        "malformed DER at byte 529: values are nested deeper than 64 levels"
    );
}

fn wrap(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else if len < 0x10000 {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    } else {
        out.extend_from_slice(&[0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

#[test]
fn random_and_mutated_input_never_panics() {
    // Deterministic xorshift so failures reproduce.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let seeds = [
        fixture("pbm-ir/01-ir.der"),
        fixture("pbm-ir/02-ip.der"),
        fixture("sig-ir/02-ip.der"),
        fixture("genm/02-genp.der"),
        fixture("rr/01-rr.der"),
    ];
    for round in 0..4000 {
        let mut der = seeds[round % seeds.len()].clone();
        for _ in 0..(1 + next() % 4) {
            let at = (next() as usize) % der.len();
            der[at] = next() as u8;
        }
        if round % 7 == 0 {
            der.truncate((next() as usize) % der.len());
        }
        // Either outcome is fine; what matters is no panic, and that a framing error
        // points inside the input.
        if let Err(DecodeError::Framing { offset, .. }) = ReceivedMessage::decode(&der) {
            assert!(offset < der.len(), "offset {offset} of {} bytes", der.len());
        }
    }
}
