//! One message of every CMP body type, built through the public model from the committed
//! test PKI: the input of the independent-decoder tests and of `inspect` tests.

use cmp_core::asn1::{
    AlgorithmIdentifier, AttributeTypeAndValue, CaKeyUpdAnnContent, CaKeyUpdContent, CertId,
    CertOrEncCert, CertRepMessage, CertReqMessages, CertReqTemplateContent, CertResponse,
    CertTemplate, CertificateList, CertifiedKeyPair, Challenge, CmpCertificate, ControlValue,
    CrlSource, CrlStatus, EncryptedKey, EncryptedValue, ErrorMsgContent, Extension, Extensions,
    FailureBit, InfoTypeAndValue, InfoValue, KeyRecRepContent, OptionalValidity, PVNO_CMP2021,
    PbmParameter, Pkcs10Request, PkiBody, PkiHeader, PkiMessage, PkiPublicationInfo, PkiStatus,
    PkiStatusInfo, PollRep, PopoSigningKey, ProofOfPossession, RevAnnContent, RevDetails,
    RevRepContent, RootCaKeyUpdateContent, Time, oid,
};
use cmp_core::builder::{PkiHeaderBuilder, cert_conf, cert_req_messages, poll_req};
use cmp_core::names::parse_name;
use rasn::prelude::*;
use rasn_pkix::{GeneralName, TbsCertList};

use crate::fixtures;

fn cert(name: &str) -> CmpCertificate {
    CmpCertificate::from_der(&fixtures::read(&format!("pki/{name}.der")))
        .unwrap_or_else(|e| panic!("pki/{name}.der: {e}"))
}

fn time(rfc3339: &str) -> GeneralizedTime {
    chrono::DateTime::parse_from_rfc3339(rfc3339).expect("valid time literal")
}

fn alg(o: &Oid) -> AlgorithmIdentifier {
    AlgorithmIdentifier {
        algorithm: o.to_owned(),
        parameters: None,
    }
}

fn encode<T: Encode>(v: &T) -> Any {
    Any::new(rasn::der::encode(v).expect("sample encodes"))
}

/// A header with every optional field set, protected by PasswordBasedMac.
pub fn full_header(pvno: i64) -> PkiHeader {
    let pbm = PbmParameter {
        salt: OctetString::from(vec![0x5A; 16]),
        owf: alg(oid::SHA256),
        iteration_count: Integer::from(500),
        mac: alg(oid::HMAC_SHA1),
    };
    PkiHeaderBuilder::new()
        .pvno(pvno)
        .sender_name(parse_name("CN=device-42,O=Example").expect("dn"))
        .recipient_name(parse_name("/O=Example/CN=Example CA").expect("dn"))
        .message_time(time("2026-11-26T23:06:29Z"))
        .protection_alg(AlgorithmIdentifier {
            algorithm: oid::PASSWORD_BASED_MAC.to_owned(),
            parameters: Some(encode(&pbm)),
        })
        .sender_kid(b"client-ref-1234".to_vec())
        .recip_kid(vec![0x01, 0x02])
        .transaction_id([0x11; 16])
        .sender_nonce([0x22; 16])
        .recip_nonce([0x33; 16])
        .free_text("hello")
        .implicit_confirm()
        .general_info(
            InfoTypeAndValue::from_value(&InfoValue::ConfirmWaitTime(time("2026-11-27T00:00:00Z")))
                .expect("itav"),
        )
        .general_info(
            InfoTypeAndValue::from_value(&InfoValue::CertProfile(vec!["tls-client".into()]))
                .expect("itav"),
        )
        .build()
}

fn template() -> CertTemplate {
    let new = cert("new-cert");
    CertTemplate {
        version: Some(Integer::from(2)),
        subject: Some(new.subject().clone()),
        issuer: Some(new.issuer().clone()),
        public_key: Some(new.subject_public_key_info().clone()),
        validity: Some(OptionalValidity {
            not_before: None,
            not_after: Some(Time::General(time("2030-01-01T00:00:00Z"))),
        }),
        extensions: Some(Extensions::from(vec![Extension {
            extn_id: oid::CE_SUBJECT_ALT_NAME.to_owned(),
            critical: false,
            // SEQUENCE { [2] "device.example" }
            extn_value: OctetString::from(
                [&[0x30, 0x10, 0x82, 0x0E][..], b"device.example"].concat(),
            ),
        }])),
        ..CertTemplate::default()
    }
}

fn requests(popo: ProofOfPossession, controls: Vec<ControlValue>) -> CertReqMessages {
    let controls = (!controls.is_empty()).then(|| {
        controls
            .iter()
            .map(|c| AttributeTypeAndValue::from_control(c).expect("control"))
            .collect()
    });
    let mut msgs = cert_req_messages(template(), controls);
    msgs[0].popo = Some(popo);
    msgs
}

fn signature_popo() -> ProofOfPossession {
    ProofOfPossession::Signature(PopoSigningKey {
        poposk_input: None,
        algorithm_identifier: alg(oid::ECDSA_WITH_SHA256),
        signature: BitString::from_slice(&[0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]),
    })
}

fn old_cert_id() -> CertId {
    let new = cert("new-cert");
    CertId {
        issuer: GeneralName::DirectoryName(new.issuer().clone()),
        serial_number: new.serial_number().clone(),
    }
}

/// A minimal CMS EnvelopedData (one key-transport recipient), decoded from bytes.
pub fn enveloped_data() -> EncryptedKey {
    let contents = hex::decode(concat!(
        "020100",
        "3127",
        "3025",
        "020100",
        "3011",
        "300c310a30080603550403",
        "0c0161",
        "020101",
        "300b",
        "06092a864886f70d010101",
        "0400",
        "3018",
        "06092a864886f70d010701",
        "300b",
        "0609608648016503040102"
    ))
    .expect("hex literal");
    let mut der = vec![0xA0, contents.len() as u8];
    der.extend_from_slice(&contents);
    rasn::der::decode(&der).expect("EnvelopedData sample decodes")
}

fn encrypted_value() -> EncryptedKey {
    EncryptedKey::EncryptedValue(EncryptedValue {
        intended_alg: Some(alg(oid::EC_PUBLIC_KEY)),
        symm_alg: Some(alg(oid::AES128_GMAC)),
        enc_symm_key: Some(BitString::from_slice(&[1, 2, 3])),
        key_alg: Some(alg(oid::RSA_ENCRYPTION)),
        value_hint: Some(OctetString::from(vec![9])),
        enc_value: BitString::from_slice(&[4, 5, 6]),
    })
}

/// A CRL of the test CA (signature bits are filler).
pub fn crl() -> CertificateList {
    let ca = cert("ca-cert");
    CertificateList {
        tbs_cert_list: TbsCertList {
            version: rasn_pkix::Version::V2,
            signature: alg(oid::ECDSA_WITH_SHA256),
            issuer: ca.subject().clone(),
            this_update: Time::Utc(
                chrono::DateTime::parse_from_rfc3339("2026-11-26T00:00:00Z")
                    .expect("time")
                    .into(),
            ),
            next_update: None,
            revoked_certificates: vec![],
            crl_extensions: None,
        },
        signature_algorithm: alg(oid::ECDSA_WITH_SHA256),
        signature: BitString::from_slice(&[0x30, 0x00]),
    }
}

/// A granted response carrying a centrally generated key in EnvelopedData.
fn granted(cert: CmpCertificate) -> CertResponse {
    CertResponse {
        cert_req_id: Integer::from(0),
        status: PkiStatusInfo::accepted(),
        certified_key_pair: Some(CertifiedKeyPair {
            cert_or_enc_cert: CertOrEncCert::Certificate(cert),
            private_key: Some(enveloped_data()),
            publication_info: None,
        }),
        rsp_info: None,
    }
}

fn reason_code(code: u8) -> Extensions {
    Extensions::from(vec![Extension {
        extn_id: oid::CE_REASON_CODE.to_owned(),
        critical: false,
        extn_value: OctetString::from(vec![0x0A, 0x01, code]),
    }])
}

fn itav(v: InfoValue) -> InfoTypeAndValue {
    InfoTypeAndValue::from_value(&v).expect("itav")
}

fn text(s: &str) -> Vec<Utf8String> {
    vec![Utf8String::from(s)]
}

/// One body of each of the 27 types (index = tag number), with content in every field that
/// has one.
pub fn all_bodies() -> Vec<PkiBody> {
    let ca = cert("ca-cert");
    let new = cert("new-cert");
    let server = cert("server-cert");
    let csr = Pkcs10Request::from_der(&fixtures::read("pki/new.csr.der")).expect("csr");
    let root_update = RootCaKeyUpdateContent {
        new_with_new: ca.clone(),
        new_with_old: Some(server.clone()),
        old_with_new: Some(new.clone()),
    };
    let bodies = vec![
        PkiBody::Ir(requests(
            signature_popo(),
            vec![ControlValue::RegToken("one-time-123".into())],
        )),
        PkiBody::Ip(CertRepMessage {
            ca_pubs: Some(vec![ca.clone()]),
            response: vec![granted(new.clone())],
        }),
        PkiBody::Cr(requests(ProofOfPossession::RaVerified(()), vec![])),
        PkiBody::Cp(CertRepMessage {
            ca_pubs: None,
            response: vec![CertResponse {
                cert_req_id: Integer::from(0),
                status: PkiStatusInfo::rejection(
                    [FailureBit::BadPop, FailureBit::BadRequest],
                    Some("signature does not verify"),
                ),
                certified_key_pair: None,
                rsp_info: None,
            }],
        }),
        PkiBody::P10cr(csr),
        PkiBody::Popdecc(vec![Challenge {
            owf: Some(alg(oid::SHA256)),
            witness: OctetString::from(vec![0xAB; 32]),
            challenge: OctetString::from_static(&[]),
            encrypted_rand: match enveloped_data() {
                EncryptedKey::EnvelopedData(e) => Some(e),
                EncryptedKey::EncryptedValue(_) => None,
            },
        }]),
        PkiBody::Popdecr(vec![Integer::from(12345)]),
        PkiBody::Kur(requests(
            signature_popo(),
            vec![ControlValue::OldCertId(old_cert_id())],
        )),
        PkiBody::Kup(CertRepMessage {
            ca_pubs: None,
            response: vec![CertResponse {
                cert_req_id: Integer::from(0),
                status: PkiStatusInfo::with_status(PkiStatus::WAITING),
                certified_key_pair: None,
                rsp_info: None,
            }],
        }),
        PkiBody::Krr(requests(signature_popo(), vec![])),
        PkiBody::Krp(KeyRecRepContent {
            status: PkiStatusInfo::accepted(),
            new_sig_cert: Some(new.clone()),
            ca_certs: Some(vec![ca.clone()]),
            key_pair_hist: Some(vec![CertifiedKeyPair {
                cert_or_enc_cert: CertOrEncCert::Certificate(new.clone()),
                // EncryptedValue: pyasn1-alt-modules 0.4.10 still decodes krp's keyPairHist
                // with the RFC 4210 CertifiedKeyPair (privateKey [0] EncryptedValue). The
                // RFC 9810 EnvelopedData form is exercised by the ip sample.
                private_key: Some(encrypted_value()),
                publication_info: Some(PkiPublicationInfo {
                    action: Integer::from(0),
                    pub_infos: None,
                }),
            }]),
        }),
        PkiBody::Rr(vec![RevDetails {
            cert_details: CertTemplate {
                issuer: Some(new.issuer().clone()),
                serial_number: Some(new.serial_number().clone()),
                ..CertTemplate::default()
            },
            crl_entry_details: Some(reason_code(1)),
        }]),
        PkiBody::Rp(RevRepContent {
            status: vec![PkiStatusInfo::accepted()],
            rev_certs: Some(vec![old_cert_id()]),
            crls: Some(vec![crl()]),
        }),
        PkiBody::Ccr(requests(signature_popo(), vec![])),
        PkiBody::Ccp(CertRepMessage {
            ca_pubs: None,
            response: vec![CertResponse {
                cert_req_id: Integer::from(0),
                status: PkiStatusInfo::accepted(),
                certified_key_pair: Some(CertifiedKeyPair {
                    cert_or_enc_cert: CertOrEncCert::EncryptedCert(encrypted_value()),
                    private_key: None,
                    publication_info: None,
                }),
                rsp_info: Some(OctetString::from(vec![1])),
            }],
        }),
        PkiBody::Ckuann(CaKeyUpdContent::V3(root_update.clone())),
        PkiBody::Cann(new.clone()),
        PkiBody::Rann(RevAnnContent {
            status: PkiStatus::REVOCATION_WARNING,
            cert_id: old_cert_id(),
            will_be_revoked_at: time("2027-01-01T00:00:00Z"),
            bad_since_date: time("2026-11-01T00:00:00Z"),
            crl_details: None,
        }),
        PkiBody::Crlann(vec![crl()]),
        PkiBody::Pkiconf(()),
        PkiBody::Nested(vec![PkiMessage::new(
            PkiHeaderBuilder::new().transaction_id([0x44; 16]).build(),
            PkiBody::Pkiconf(()),
        )]),
        PkiBody::Genm(vec![
            InfoTypeAndValue::request(oid::IT_CA_CERTS),
            itav(InfoValue::RootCaCert(Some(ca.clone()))),
            InfoTypeAndValue::request(oid::IT_CERT_REQ_TEMPLATE),
            itav(InfoValue::CrlStatusList(vec![CrlStatus {
                source: CrlSource::Issuer(vec![GeneralName::DirectoryName(ca.subject().clone())]),
                this_update: Some(Time::General(time("2026-11-20T00:00:00Z"))),
            }])),
            InfoTypeAndValue::request(oid::IT_SIGN_KEY_PAIR_TYPES),
        ]),
        PkiBody::Genp(vec![
            itav(InfoValue::CaCerts(Some(vec![ca.clone(), server.clone()]))),
            itav(InfoValue::RootCaKeyUpdate(Some(root_update))),
            itav(InfoValue::CertReqTemplate(Some(CertReqTemplateContent {
                cert_template: CertTemplate {
                    subject: Some(parse_name("O=Example").expect("dn")),
                    ..CertTemplate::default()
                },
                key_spec: Some(vec![
                    AttributeTypeAndValue::from_control(&ControlValue::AlgId(alg(
                        oid::EC_PUBLIC_KEY,
                    )))
                    .expect("control"),
                ]),
            }))),
            itav(InfoValue::Crls(Some(vec![crl()]))),
            itav(InfoValue::SignKeyPairTypes(Some(vec![
                alg(oid::ECDSA_WITH_SHA256),
                alg(oid::ED25519),
            ]))),
            itav(InfoValue::CaKeyUpdateInfo(Some(CaKeyUpdAnnContent {
                old_with_new: new.clone(),
                new_with_old: server,
                new_with_new: ca,
            }))),
        ]),
        PkiBody::Error(ErrorMsgContent {
            pki_status_info: PkiStatusInfo::rejection(
                [FailureBit::SystemUnavail],
                Some("CA offline"),
            ),
            error_code: Some(Integer::from(503)),
            error_details: Some(text("try again later")),
        }),
        PkiBody::CertConf(cert_conf(vec![0xC0; 64], 0, None, Some(alg(oid::SHA512)))),
        PkiBody::PollReq(poll_req(0)),
        PkiBody::PollRep(vec![PollRep {
            cert_req_id: Integer::from(0),
            check_after: Integer::from(5),
            reason: Some(text("the CA operator has to approve")),
        }]),
    ];
    bodies
}

/// Every sample body in a complete message with a full header, a protection value and
/// extraCerts; certConf uses pvno 3 (its hashAlg needs cmp2021).
pub fn all_messages() -> Vec<PkiMessage> {
    all_bodies()
        .into_iter()
        .map(|body| {
            let pvno = if matches!(body, PkiBody::CertConf(_)) {
                PVNO_CMP2021
            } else {
                2
            };
            PkiMessage {
                header: full_header(pvno),
                body,
                protection: Some(BitString::from_slice(&[0xEE; 20])),
                extra_certs: Some(vec![cert("vendor-cert"), cert("ca-cert")]),
            }
        })
        .collect()
}
