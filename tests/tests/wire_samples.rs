//! Every body type we can build encodes, decodes to the same value and re-encodes to the same
//! bytes; typed ITAV and control values come back typed.

use cmp_core::asn1::{ControlValue, InfoValue, PkiBody, ReceivedMessage};
use cmp_tests::samples;

#[test]
fn all_27_body_types_roundtrip() {
    let msgs = samples::all_messages();
    assert_eq!(msgs.len(), 27);
    for (i, msg) in msgs.iter().enumerate() {
        assert_eq!(msg.body.tag_number() as usize, i, "sample order");
        let der = msg.to_der().expect("encodes");
        // The body's first byte is the explicit context tag A0 + n (or BF 1n for n ≥ 31).
        let received =
            ReceivedMessage::decode(&der).unwrap_or_else(|e| panic!("{}: {e}", msg.body.name()));
        assert_eq!(received.message(), msg, "{}", msg.body.name());
        assert!(received.roundtrips(), "{}", msg.body.name());
        assert_eq!(
            received.body_der()[0],
            0xA0 + i as u8,
            "{}",
            msg.body.name()
        );
        assert_eq!(
            received.protected_part(),
            msg.protected_part().expect("protected part"),
            "{}",
            msg.body.name()
        );
    }
}

#[test]
fn typed_values_come_back_typed() {
    let bodies = samples::all_bodies();
    let PkiBody::Genp(itavs) = &bodies[22] else {
        panic!("sample 22 is genp")
    };
    let values: Vec<InfoValue> = itavs.iter().map(|i| i.value().expect("typed")).collect();
    assert!(matches!(&values[0], InfoValue::CaCerts(Some(c)) if c.len() == 2));
    assert!(matches!(&values[1], InfoValue::RootCaKeyUpdate(Some(r)) if r.new_with_old.is_some()));
    assert!(matches!(&values[2], InfoValue::CertReqTemplate(Some(t)) if t.key_spec.is_some()));
    assert!(matches!(&values[3], InfoValue::Crls(Some(c)) if c.len() == 1));
    assert!(matches!(&values[4], InfoValue::SignKeyPairTypes(Some(a)) if a.len() == 2));

    let PkiBody::Kur(reqs) = &bodies[7] else {
        panic!("sample 7 is kur")
    };
    let controls = reqs[0].cert_req.controls.as_ref().expect("controls");
    assert!(matches!(
        controls[0].control_value().expect("typed"),
        ControlValue::OldCertId(_)
    ));

    let header = samples::full_header(2);
    assert!(header.has_implicit_confirm());
    let infos: Vec<InfoValue> = header
        .general_info
        .iter()
        .flatten()
        .map(|i| i.value().expect("typed"))
        .collect();
    assert!(matches!(infos[0], InfoValue::ImplicitConfirm));
    assert!(matches!(infos[1], InfoValue::ConfirmWaitTime(_)));
    assert!(matches!(&infos[2], InfoValue::CertProfile(p) if p[0] == "tls-client"));
}

#[test]
fn a_value_of_the_wrong_type_is_reported_with_its_itav() {
    use cmp_core::asn1::{InfoTypeAndValue, oid};
    // caCerts whose value is an INTEGER.
    let itav = InfoTypeAndValue {
        info_type: oid::IT_CA_CERTS.to_owned(),
        info_value: Some(rasn::types::Any::new(vec![0x02, 0x01, 0x05])),
    };
    assert_eq!(
        itav.value().expect_err("wrong type").to_string(),
        "infoValue of caCerts: expected SEQUENCE, found INTEGER"
    );
}
