//! Property: for generated messages, encode → decode is the identity and the decoded message
//! re-encodes to the same bytes.

use cmp_core::asn1::{
    CertRepMessage, CertResponse, CertTemplate, ErrorMsgContent, FailureBit, InfoTypeAndValue,
    PkiBody, PkiFailureInfo, PkiHeader, PkiMessage, PkiStatus, PkiStatusInfo, PollRep,
    ReceivedMessage, RevDetails, oid,
};
use cmp_core::builder::{PkiHeaderBuilder, cert_conf, cert_req_messages, poll_req};
use cmp_core::names::parse_name;
use proptest::prelude::*;
use rasn::prelude::*;

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 .-]{1,20}"
}

fn time() -> impl Strategy<Value = GeneralizedTime> {
    (0i64..4_102_444_800).prop_map(|secs| {
        chrono::DateTime::from_timestamp(secs, 0)
            .expect("in range")
            .fixed_offset()
    })
}

fn dn() -> impl Strategy<Value = rasn_pkix::Name> {
    proptest::collection::vec(("(CN|O|OU|L)", text()), 0..4).prop_map(|rdns| {
        let s: Vec<String> = rdns
            .iter()
            .map(|(t, v)| format!("{t}={}", v.trim().replace(['\\', ','], "")))
            .filter(|s| !s.ends_with('='))
            .collect();
        parse_name(&s.join(",")).expect("generated DN parses")
    })
}

fn header() -> impl Strategy<Value = PkiHeader> {
    (
        1i64..=3,
        dn(),
        dn(),
        proptest::option::of(time()),
        proptest::option::of(bytes(20)),
        proptest::option::of(bytes(32)),
        proptest::option::of(bytes(32)),
        proptest::option::of(text()),
        any::<bool>(),
    )
        .prop_map(|(pvno, s, r, t, kid, tid, nonce, free, ic)| {
            let mut b = PkiHeaderBuilder::new()
                .pvno(pvno)
                .sender_name(s)
                .recipient_name(r);
            if let Some(t) = t {
                b = b.message_time(t);
            }
            if let Some(k) = kid {
                b = b.sender_kid(k);
            }
            if let Some(t) = tid {
                b = b.transaction_id(t);
            }
            if let Some(n) = nonce {
                b = b.sender_nonce(n.clone()).recip_nonce(n);
            }
            if let Some(f) = free {
                b = b.free_text(&f);
            }
            if ic {
                b = b.implicit_confirm();
            }
            b.build()
        })
}

fn status() -> impl Strategy<Value = PkiStatusInfo> {
    (
        0i64..=6,
        proptest::option::of(text()),
        proptest::option::of(proptest::collection::vec(0usize..27, 0..5)),
    )
        .prop_map(|(s, t, bits)| PkiStatusInfo {
            status: PkiStatus(s),
            status_string: t.map(|t| vec![t]),
            fail_info: bits
                .map(|b| PkiFailureInfo::from_bits(b.into_iter().filter_map(FailureBit::from_bit))),
        })
}

fn body() -> impl Strategy<Value = PkiBody> {
    prop_oneof![
        Just(PkiBody::Pkiconf(())),
        (-1i64..5).prop_map(|id| PkiBody::PollReq(poll_req(id))),
        (-1i64..5, 0i64..100_000, proptest::option::of(text())).prop_map(|(id, after, r)| {
            PkiBody::PollRep(vec![PollRep {
                cert_req_id: Integer::from(id),
                check_after: Integer::from(after),
                reason: r.map(|r| vec![r]),
            }])
        }),
        (bytes(64), -1i64..5, proptest::option::of(status()))
            .prop_map(|(h, id, s)| PkiBody::CertConf(cert_conf(h, id, s, None))),
        (
            status(),
            proptest::option::of(any::<i32>()),
            proptest::option::of(text())
        )
            .prop_map(|(s, c, d)| PkiBody::Error(ErrorMsgContent {
                pki_status_info: s,
                error_code: c.map(Integer::from),
                error_details: d.map(|d| vec![d]),
            })),
        proptest::collection::vec(status(), 1..3).prop_map(|ss| PkiBody::Cp(CertRepMessage {
            ca_pubs: None,
            response: ss
                .into_iter()
                .enumerate()
                .map(|(i, s)| CertResponse {
                    cert_req_id: Integer::from(i as i64),
                    status: s,
                    certified_key_pair: None,
                    rsp_info: None,
                })
                .collect(),
        })),
        (dn(), proptest::option::of(time())).prop_map(|(subject, not_after)| {
            let template = CertTemplate {
                subject: Some(subject),
                validity: not_after.map(|t| cmp_core::asn1::OptionalValidity {
                    not_before: None,
                    not_after: Some(rasn_pkix::Time::General(t)),
                }),
                ..CertTemplate::default()
            };
            PkiBody::Ir(cert_req_messages(template, None))
        }),
        (dn(), any::<u64>()).prop_map(|(issuer, serial)| PkiBody::Rr(vec![RevDetails {
            cert_details: CertTemplate {
                issuer: Some(issuer),
                serial_number: Some(Integer::from(serial)),
                ..CertTemplate::default()
            },
            crl_entry_details: None,
        }])),
        Just(PkiBody::Genm(vec![
            InfoTypeAndValue::request(oid::IT_CA_CERTS),
            InfoTypeAndValue::request(oid::IT_CERT_REQ_TEMPLATE),
        ])),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encode_then_decode_is_identity(
        header in header(),
        body in body(),
        protection in proptest::option::of(bytes(64)),
    ) {
        let msg = PkiMessage {
            header,
            body,
            protection: protection.map(BitString::from_vec),
            extra_certs: None,
        };
        let der = msg.to_der().expect("encodes");
        let received = ReceivedMessage::decode(&der).expect("decodes");
        prop_assert_eq!(received.message(), &msg);
        prop_assert!(received.roundtrips());
    }
}
