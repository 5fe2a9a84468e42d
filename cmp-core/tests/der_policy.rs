//! The DER policy of `ReceivedMessage::decode` (see its rustdoc): strict where the framing pass
//! and the header check see the encoding, consistent where only a re-encoding shows it. Whatever
//! decodes re-encodes to bytes that decode again.

use std::path::Path;

use cmp_core::DecodeError;
use cmp_core::asn1::{PkiBody, ReceivedMessage};
use rasn::types::Any;
use rasn_pkix::AlgorithmIdentifier;

fn file(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The libFuzzer finding (`tests/fixtures/fuzz/decode/decode-reencode-1.der`): a pollReq whose
/// header has `sender` as a constructed `[8]` and `protectionAlg` as a primitive `[1]`. It used
/// to decode, and its re-encoding did not. Each non-DER tag is now refused where it is.
#[test]
fn the_fuzz_finding_is_refused_at_each_wrong_tag() {
    let mut der = file("fuzz/decode/decode-reencode-1.der");
    assert_eq!(
        ReceivedMessage::decode(&der).expect_err("not DER"),
        DecodeError::Framing {
            offset: 11,
            what: "header: sender: GeneralName [8] registeredID is primitive in DER (0x88), \
                   found 0xA8"
                .into(),
        }
    );

    // With sender primitive, protectionAlg's primitive explicit tag is next.
    assert_eq!(der[11], 0xA8);
    der[11] = 0x88;
    assert_eq!(
        ReceivedMessage::decode(&der)
            .expect_err("not DER")
            .to_string(),
        "malformed DER at byte 139: header: protectionAlg: [1] is an EXPLICIT tag, constructed \
         in DER (0xA1), found primitive 0x81"
    );

    // Written constructed, the [1] shows the framing pass the PBM parameters it hid, which are
    // not DER: the error the re-encoding used to get.
    assert_eq!(der[139], 0x81);
    der[139] = 0xA1;
    assert_eq!(
        ReceivedMessage::decode(&der).expect_err("not DER"),
        DecodeError::Framing {
            offset: 174,
            what: "length field longer than 4 bytes".into(),
        }
    );
}

#[test]
fn the_other_header_tags_and_general_names_are_checked_too() {
    // pkiconf from openssl: its recipient is a directoryName [4], its transactionID a [4].
    let der = file("openssl/pbm-ir/04-pkiconf.der");
    assert!(ReceivedMessage::decode(&der).expect("DER").roundtrips());
    let top = cmp_core::der::check_framing(&der, 64).expect("framing");
    let header = top.children().read().expect("header");
    let mut children = header.children();
    let _pvno = children.read().expect("pvno");
    let _sender = children.read().expect("sender");
    let recipient = children.read().expect("recipient");
    assert_eq!(recipient.first_octet(), 0xA4);
    let mut tid = None;
    while !children.is_empty() {
        let field = children.read().expect("field");
        if field.first_octet() == 0xA4 {
            tid = Some(field.offset);
        }
    }

    let mut bad = der.clone();
    bad[recipient.offset] = 0x84;
    assert_eq!(
        ReceivedMessage::decode(&bad)
            .expect_err("not DER")
            .to_string(),
        format!(
            "malformed DER at byte {}: header: recipient: GeneralName [4] directoryName is \
             constructed in DER (0xA4), found 0x84",
            recipient.offset
        )
    );
    let tid = tid.expect("a transactionID");
    let mut bad = der.clone();
    bad[tid] = 0x84;
    assert_eq!(
        ReceivedMessage::decode(&bad)
            .expect_err("not DER")
            .to_string(),
        format!(
            "malformed DER at byte {tid}: header: transactionID: [4] is an EXPLICIT tag, \
             constructed in DER (0xA4), found primitive 0x84"
        )
    );
}

/// Deeper in a body the schema decides the form of a tag, and the decoder accepts an explicit
/// tag written primitive; the message is then refused when its DER re-encoding does not decode.
#[test]
fn a_non_der_body_whose_reencoding_fails_is_refused() {
    let der = file("openssl/pbm-ir/03-certConf.der");
    let mut msg = ReceivedMessage::decode(&der).expect("DER").into_message();
    let PkiBody::CertConf(statuses) = &mut msg.body else {
        panic!("a certConf")
    };
    // hashAlg [0] with parameters whose inner OCTET STRING claims 5 bytes of 1.
    statuses[0].hash_alg = Some(AlgorithmIdentifier {
        algorithm: cmp_core::asn1::oid::SHA256.to_owned(),
        parameters: Some(Any::new(vec![0x30, 0x03, 0x04, 0x05, 0x00])),
    });
    let built = msg.to_der().expect("encodes");
    let hash_alg = built
        .windows(6)
        .position(|w| w == [0xA0, 0x12, 0x30, 0x10, 0x06, 0x09])
        .expect("hashAlg [0]");
    let junk = hash_alg + 17;
    assert_eq!(built[junk..junk + 3], [0x04, 0x05, 0x00]);

    // As built (constructed [0]) the framing pass finds the bad length.
    assert_eq!(
        ReceivedMessage::decode(&built).expect_err("bad framing"),
        DecodeError::Framing {
            offset: junk,
            what: "a value claims 5 bytes but only 1 remain".into(),
        }
    );
    // Primitive, the [0] hides it; the re-encoding shows it, and the message is refused.
    let mut hidden = built.clone();
    hidden[hash_alg] = 0x80;
    assert_eq!(
        ReceivedMessage::decode(&hidden).expect_err("not DER"),
        DecodeError::NotDer {
            reason: format!(
                "its DER re-encoding does not decode (malformed DER at byte {junk}: a value \
                 claims 5 bytes but only 1 remain)"
            ),
        }
    );
}

/// The lenient half: a non-DER form whose re-encoding is sound decodes, to the same message as
/// its DER form, and re-encodes to that DER form.
#[test]
fn a_non_der_body_with_a_sound_reencoding_decodes_consistently() {
    let der = file("openssl/pbm-ir/03-certConf.der");
    let mut msg = ReceivedMessage::decode(&der).expect("DER").into_message();
    let PkiBody::CertConf(statuses) = &mut msg.body else {
        panic!("a certConf")
    };
    statuses[0].hash_alg = Some(AlgorithmIdentifier {
        algorithm: cmp_core::asn1::oid::SHA256.to_owned(),
        parameters: None,
    });
    let built = msg.to_der().expect("encodes");
    let hash_alg = built
        .windows(4)
        .position(|w| w == [0xA0, 0x0D, 0x30, 0x0B])
        .expect("hashAlg [0]");
    let mut lenient = built.clone();
    lenient[hash_alg] = 0x80;
    let received = ReceivedMessage::decode(&lenient).expect("consistent");
    assert!(!received.roundtrips());
    assert_eq!(received.message(), &msg);
    assert_eq!(received.message().to_der().expect("encodes"), built);
    assert!(ReceivedMessage::decode(&built).expect("DER").roundtrips());
}

/// The stricter framing pass accepts every DER file of the committed test PKI (certificates,
/// keys, the CSR), which `openssl` wrote: they reach it inside extraCerts, caPubs and p10cr.
#[test]
fn the_framing_pass_accepts_the_openssl_test_pki() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/openssl/pki");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("pki dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "der") {
            let der = std::fs::read(&path).expect("pki file");
            cmp_core::der::check_framing(&der, 64)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            checked += 1;
        }
    }
    // Four certificates, their four keys and the CSR.
    assert_eq!(checked, 9);
}
