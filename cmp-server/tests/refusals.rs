//! Requests the server refuses, each asserted with the exact body, status, failInfo and text
//! the client machine receives; and the transaction table's answers to retransmissions and
//! reused transactionIDs.

mod common;

use cmp_core::crypto::PrivateKeyExt;
use std::sync::Arc;

use cmp_core::asn1::{FailureBit, PkiBody, PkiFailureInfo, PkiMessage, PkiStatus};
use cmp_core::builder::CertTemplateBuilder;
use cmp_core::crypto::{PrivateKey, SignatureAlgorithm};
use cmp_core::names::parse_name;
use cmp_core::protection::{MacSettings, protect_with_mac};
use cmp_core::server::{Exchange, ServerError, ServerStep, StoreError, TransactionStore};
use cmp_core::transaction::{
    Enrollment, EnrollmentKind, PopoMethod, Revocation, Step, Transaction,
};
use cmp_core::transport::PeerInfo;
use cmp_server::{BuiltinCa, IssuancePolicy};
use common::*;

/// Changes a MAC-protected request and protects it again with [`SECRET`].
fn remac(pki: &Pki, der: &[u8], change: impl FnOnce(&mut PkiMessage)) -> Vec<u8> {
    let mut msg = decode(der);
    change(&mut msg);
    protect_with_mac(
        &mut msg,
        SECRET,
        &MacSettings::pbm_default(),
        pki.primitives.as_ref(),
    )
    .expect("protect");
    msg.to_der().expect("der")
}

/// The status of an error message.
fn error_of(der: &[u8]) -> (PkiStatus, PkiFailureInfo, String) {
    let PkiBody::Error(e) = decode(der).body else {
        panic!("an error message, got {}", decode(der).body.name())
    };
    let info = e.pki_status_info;
    let text = info.text().unwrap_or_default();
    (info.status, info.fail_info.expect("failInfo"), text)
}

fn ir_with(
    pki: &Pki,
    config: cmp_core::transaction::TransactionConfig,
    keys: ClientKeys<'_>,
    key: &dyn PrivateKey,
    intercept: impl FnMut(Vec<u8>) -> Vec<u8>,
) -> (
    Result<cmp_core::transaction::Enrolled, cmp_core::ClientError>,
    Vec<Exchanged>,
) {
    let mut tx =
        Enrollment::new(Arc::new(config), request(EnrollmentKind::Ir, key)).expect("transaction");
    drive(pki, &mut tx, keys, intercept)
}

#[test]
fn wrong_secret_is_bad_message_check_and_leaves_no_transaction() {
    let pki = Pki::new(|_| {});
    let key = new_key();
    let keys = ClientKeys {
        protection: None,
        pop: Some(key.as_ref()),
    };
    let (result, log) = ir_with(
        &pki,
        pki.client(mac_credentials(b"not the secret")),
        keys,
        key.as_ref(),
        |r| r,
    );
    assert_refused(
        result.expect_err("refused"),
        "error",
        FailureBit::BadMessageCheck,
        "the MAC does not verify (wrong shared secret, or the message was altered)",
    );
    // The error is signed by the CA: the server had no secret to MAC it with.
    assert_eq!(
        decode(&log[0].1).header.protection_alg,
        Some(SignatureAlgorithm::EcdsaSha256.algorithm_identifier())
    );
    assert!(
        pki.store.is_empty(),
        "an unauthenticated request stores nothing"
    );
}

#[test]
fn unknown_reference_is_bad_message_check() {
    let pki = Pki::new(|_| {});
    let key = new_key();
    let mut config = pki.mac_client();
    config.credentials = cmp_core::transaction::Credentials::Mac {
        secret: SECRET.to_vec().into(),
        reference: b"someone else".to_vec(),
        settings: MacSettings::pbm_default(),
    };
    let keys = ClientKeys {
        protection: None,
        pop: Some(key.as_ref()),
    };
    let (result, _) = ir_with(&pki, config, keys, key.as_ref(), |r| r);
    assert_refused(
        result.expect_err("refused"),
        "error",
        FailureBit::BadMessageCheck,
        "the senderKID names no known shared secret",
    );
}

#[test]
fn untrusted_signer_is_signer_not_trusted() {
    let pki = Pki::new(|c| c.client_anchors.clear());
    let key = new_key();
    let keys = ClientKeys {
        protection: Some(pki.vendor_key.as_ref()),
        pop: Some(key.as_ref()),
    };
    let (result, _) = ir_with(
        &pki,
        pki.client(signature_credentials(&pki.vendor_cert)),
        keys,
        key.as_ref(),
        |r| r,
    );
    assert_refused(
        result.expect_err("refused"),
        "error",
        FailureBit::SignerNotTrusted,
        "the signer O=cmp-rs test PKI,CN=CMP Test Vendor Device is not trusted: certificate path does not validate: no trust anchor or intermediate issued it (unknown issuer)",
    );
}

#[test]
fn pop_by_another_key_is_bad_pop_in_the_ip() {
    let pki = Pki::new(|_| {});
    let key = new_key();
    let other = new_key();
    let keys = ClientKeys {
        protection: None,
        pop: Some(other.as_ref()),
    };
    let (result, log) = ir_with(&pki, pki.mac_client(), keys, key.as_ref(), |r| r);
    assert_refused(
        result.expect_err("refused"),
        "ip",
        FailureBit::BadPop,
        "the POP signature does not verify with the requested public key",
    );
    assert_eq!(flow(&log), ["ir→ip"]);
}

#[test]
fn ra_verified_pop_is_refused_unless_allowed() {
    for (allowed, outcome) in [(false, Err(())), (true, Ok(()))] {
        let pki = Pki::new(|c| c.accept_ra_verified = allowed);
        let key = new_key();
        let mut req = request(EnrollmentKind::Ir, key.as_ref());
        req.popo = PopoMethod::RaVerified;
        let keys = ClientKeys {
            protection: None,
            pop: None,
        };
        let (result, _) = enroll_with(&pki, pki.mac_client(), req, keys);
        match outcome {
            Ok(()) => {
                result.expect("raVerified accepted");
            }
            Err(()) => assert_refused(
                result.expect_err("refused"),
                "ip",
                FailureBit::BadPop,
                "raVerified is accepted only from a registration authority",
            ),
        }
    }
}

#[test]
fn template_without_subject_is_bad_cert_template() {
    // raVerified accepted, so that the POP needs no subject and the template check is next.
    let pki = Pki::new(|c| c.accept_ra_verified = true);
    let key = new_key();
    let mut req = request(EnrollmentKind::Ir, key.as_ref());
    req.template = CertTemplateBuilder::new().build();
    req.popo = PopoMethod::RaVerified;
    let keys = ClientKeys {
        protection: None,
        pop: None,
    };
    let (result, _) = enroll_with(&pki, pki.mac_client(), req, keys);
    assert_refused(
        result.expect_err("refused"),
        "ip",
        FailureBit::BadCertTemplate,
        "the request names neither a subject nor subjectAltNames",
    );
}

/// A PBM ir whose certConf is changed by `change` (and MACed again).
fn ir_changing_cert_conf(
    change: impl FnOnce(&mut PkiMessage),
) -> (
    Result<cmp_core::transaction::Enrolled, cmp_core::ClientError>,
    Vec<Exchanged>,
) {
    let pki = Pki::new(|_| {});
    let key = new_key();
    let keys = ClientKeys {
        protection: None,
        pop: Some(key.as_ref()),
    };
    let mut change = Some(change);
    ir_with(&pki, pki.mac_client(), keys, key.as_ref(), |r| {
        match (&decode(&r).body, change.take()) {
            (PkiBody::CertConf(_), Some(change)) => remac(&pki, &r, change),
            (_, unused) => {
                change = unused;
                r
            }
        }
    })
}

#[test]
fn cert_hash_mismatch_is_bad_cert_id() {
    let (result, log) = ir_changing_cert_conf(|m| {
        if let PkiBody::CertConf(c) = &mut m.body {
            c[0].cert_hash = vec![0u8; 32].into();
        }
    });
    assert_refused(
        result.expect_err("refused"),
        "error",
        FailureBit::BadCertId,
        "certHash does not match the issued certificate",
    );
    assert_eq!(flow(&log), ["ir→ip", "certConf→error"]);
}

#[test]
fn wrong_recip_nonce_is_bad_recipient_nonce() {
    let (result, _) = ir_changing_cert_conf(|m| m.header.recip_nonce = Some(vec![9u8; 16].into()));
    assert_refused(
        result.expect_err("refused"),
        "error",
        FailureBit::BadRecipientNonce,
        "recipNonce is not the senderNonce of this server's last response",
    );
}

#[test]
fn header_checks_in_order_bad_time_unsupported_version_wrong_authority() {
    let pki = Pki::new(|_| {});
    let key = new_key();
    let keys = ClientKeys {
        protection: None,
        pop: Some(key.as_ref()),
    };
    type Case = (fn(&mut PkiMessage), FailureBit, &'static str);
    let cases: [Case; 3] = [
        (
            |m| {
                m.header.message_time = Some(
                    chrono::DateTime::from_timestamp(1_796_126_400 - 3600, 0)
                        .expect("t")
                        .fixed_offset(),
                )
            },
            FailureBit::BadTime,
            "messageTime 2026-12-01 11:00:00Z is more than 300 s away from the server's time",
        ),
        (
            |m| m.header.pvno = 1,
            FailureBit::UnsupportedVersion,
            "pvno 1 is not supported (2 or 3)",
        ),
        (
            |m| {
                m.header.recipient =
                    rasn_pkix::GeneralName::DirectoryName(parse_name("CN=Another CA").expect("dn"));
                // Also a bad pvno: the recipient is checked first.
                m.header.pvno = 1;
            },
            FailureBit::WrongAuthority,
            "the request is addressed to CN=Another CA, not to this CA",
        ),
    ];
    for (change, bit, text) in cases {
        let (result, _) = ir_with(&pki, pki.mac_client(), keys, key.as_ref(), |r| {
            remac(&pki, &r, change)
        });
        assert_refused(result.expect_err("refused"), "error", bit, text);
    }
}

#[test]
fn kur_for_a_certificate_never_issued_is_bad_cert_id() {
    let pki = Pki::new(|_| {});
    // The same CA certificate and key, but another record of issued certificates: the
    // server's CA never issued this one.
    let stranger = BuiltinCa::new(
        pki.ca.ca_cert().clone(),
        Vec::new(),
        pki.ca.key().clone(),
        pki.primitives.clone(),
        IssuancePolicy::default(),
    )
    .expect("ca");
    let old_key = new_key();
    let issued = cmp_tests::run::block_on(cmp_core::server::Issuer::issue(
        &stranger,
        &cert_request(SUBJECT, old_key.as_ref()),
    ))
    .expect("issued");
    let old = cmp_core::asn1::CmpCertificate::from_der(&issued.certificate).expect("cert");
    let key = new_key();
    let keys = ClientKeys {
        protection: Some(old_key.as_ref()),
        pop: Some(key.as_ref()),
    };
    let (result, _) = enroll_with(
        &pki,
        pki.client(signature_credentials(&old)),
        request(EnrollmentKind::Kur, key.as_ref()),
        keys,
    );
    assert_refused(
        result.expect_err("refused"),
        "kup",
        FailureBit::BadCertId,
        "oldCertID names no certificate this CA issued",
    );
}

#[test]
fn kur_signed_by_another_certificate_is_bad_cert_id() {
    let pki = Pki::new(|_| {});
    let (a_key, b_key) = (new_key(), new_key());
    let a = pki.issue(SUBJECT, a_key.as_ref());
    let b = pki.issue(SUBJECT, b_key.as_ref());
    let key = new_key();
    let mut req = request(EnrollmentKind::Kur, key.as_ref());
    req.controls = Some(vec![old_cert_id(&a)]);
    let keys = ClientKeys {
        protection: Some(b_key.as_ref()),
        pop: Some(key.as_ref()),
    };
    let (result, _) = enroll_with(&pki, pki.client(signature_credentials(&b)), req, keys);
    assert_refused(
        result.expect_err("refused"),
        "kup",
        FailureBit::BadCertId,
        "the kur is not signed with the certificate it updates",
    );
}

#[test]
fn rr_by_someone_else_is_not_authorized_but_by_an_ra_is_accepted() {
    let pki = Pki::new(|_| {});
    let (a_key, b_key) = (new_key(), new_key());
    let a = pki.issue(SUBJECT, a_key.as_ref());
    let b = pki.issue(SUBJECT, b_key.as_ref());
    let mut tx = Revocation::new(
        Arc::new(pki.client(signature_credentials(&b))),
        a.clone(),
        None,
    )
    .expect("rr");
    let keys = ClientKeys {
        protection: Some(b_key.as_ref()),
        pop: None,
    };
    let (result, _) = drive(&pki, &mut tx, keys, |r| r);
    assert_refused(
        result.expect_err("refused"),
        "rp",
        FailureBit::NotAuthorized,
        "only the certificate's holder (signing with it) or a registration authority may revoke it",
    );
    // The same request by a configured RA is granted.
    let ra_key = new_key();
    let ra = pki.issue("CN=Test RA", ra_key.as_ref());
    let mut config = pki.server.config().as_ref().clone();
    config.ra_certs = vec![ra.clone()];
    let server = cmp_server::CmpServer::new(
        Arc::new(config),
        pki.ca.clone(),
        pki.store.clone(),
        Some(pki.ca.key().clone()),
    );
    let pki = Pki { server, ..pki };
    let mut tx =
        Revocation::new(Arc::new(pki.client(signature_credentials(&ra))), a, None).expect("rr");
    let keys = ClientKeys {
        protection: Some(ra_key.as_ref()),
        pop: None,
    };
    let (result, _) = drive(&pki, &mut tx, keys, |r| r);
    assert_eq!(result.expect("revoked by the RA"), PkiStatus::ACCEPTED);
}

/// Starts an ir and returns the transaction, its first request and the server's answer.
fn first_exchange(pki: &Pki, key: &dyn PrivateKey) -> (Enrollment, Vec<u8>, Vec<u8>) {
    let mut tx =
        Enrollment::new(Arc::new(pki.mac_client()), request(EnrollmentKind::Ir, key)).expect("tx");
    let ir = signed_first_request(&mut tx, key);
    let ip = pki.send(&ir);
    (tx, ir, ip)
}

#[test]
fn identical_retransmission_gets_the_identical_response() {
    let pki = Pki::new(|_| {});
    let key = new_key();
    let (mut tx, ir, ip) = first_exchange(&pki, key.as_ref());
    assert_eq!(pki.send(&ir), ip, "the stored ip, byte for byte");
    let Step::Stage { .. } = tx.on_response(&ip, now()).expect("ip") else {
        panic!("stage")
    };
    let Step::Send(cert_conf) = tx.on_staged(now()).expect("staged") else {
        panic!("certConf")
    };
    let pki_conf = pki.send(&cert_conf);
    assert_eq!(pki.send(&cert_conf), pki_conf, "the stored pkiConf");
    // The record now holds the certConf: the ir, sent again, is another request on a used
    // transactionID.
    assert_eq!(
        error_of(&pki.send(&ir)),
        (
            PkiStatus::REJECTION,
            PkiFailureInfo::from_bits([FailureBit::TransactionIdInUse]),
            "the transactionID is in use by another transaction".to_owned()
        )
    );
    let Step::Done(enrolled) = tx.on_response(&pki_conf, now()).expect("pkiConf") else {
        panic!("done")
    };
    assert!(key.matches_public_key(enrolled.certificate.subject_public_key_info()));
}

#[test]
fn another_request_on_an_open_transaction_id_is_transaction_id_in_use() {
    let pki = Pki::new(|_| {});
    let key = new_key();
    let (mut tx, ir, ip) = first_exchange(&pki, key.as_ref());
    // The same transactionID, another request (fresh senderNonce).
    let replayed = remac(&pki, &ir, |m| {
        m.header.sender_nonce = Some(vec![5u8; 16].into())
    });
    assert_eq!(
        error_of(&pki.send(&replayed)),
        (
            PkiStatus::REJECTION,
            PkiFailureInfo::from_bits([FailureBit::TransactionIdInUse]),
            "the transactionID is in use by another transaction".to_owned()
        )
    );
    // The open transaction is untouched and completes.
    let Step::Stage { .. } = tx.on_response(&ip, now()).expect("ip") else {
        panic!("stage")
    };
    let Step::Send(cert_conf) = tx.on_staged(now()).expect("staged") else {
        panic!("certConf")
    };
    let Step::Done(_) = tx
        .on_response(&pki.send(&cert_conf), now())
        .expect("pkiConf")
    else {
        panic!("done")
    };
}

#[test]
fn cert_conf_for_an_unknown_transaction_is_bad_request() {
    let pki = Pki::new(|_| {});
    let key = new_key();
    let (mut tx, _ir, ip) = first_exchange(&pki, key.as_ref());
    let Step::Stage { .. } = tx.on_response(&ip, now()).expect("ip") else {
        panic!("stage")
    };
    let Step::Send(cert_conf) = tx.on_staged(now()).expect("staged") else {
        panic!("certConf")
    };
    let unknown = remac(&pki, &cert_conf, |m| {
        m.header.transaction_id = Some(vec![0xEE; 16].into())
    });
    assert_eq!(
        error_of(&pki.send(&unknown)),
        (
            PkiStatus::REJECTION,
            PkiFailureInfo::from_bits([FailureBit::BadRequest]),
            "certConf for a transaction this server does not know (or has forgotten)".to_owned()
        )
    );
}

#[test]
fn garbage_is_bad_data_format_and_a_misdriven_exchange_says_so() {
    let pki = Pki::new(|_| {});
    let (status, info, text) = error_of(&pki.send(&[0x30, 0x03, 0x02, 0x01, 0x02]));
    assert_eq!(
        (status, info, text.as_str()),
        (
            PkiStatus::REJECTION,
            PkiFailureInfo::from_bits([FailureBit::BadDataFormat]),
            "the request is not a PKIMessage: header: expected SEQUENCE, found INTEGER"
        )
    );
    let mut exchange = Exchange::new(
        pki.server.config().clone(),
        vec![0x30, 0x00],
        PeerInfo::default(),
    );
    assert_eq!(
        exchange.on_saved(Ok(())),
        Err(ServerError::UnexpectedInput {
            what: "a save result",
            state: "not started"
        })
    );
    // Undecodable: no transaction to load; the error is signed by the configured signer.
    let ServerStep::Sign { alg, .. } = exchange.start(now()).expect("start") else {
        panic!("the error, to be signed at once")
    };
    assert_eq!(alg, SignatureAlgorithm::EcdsaSha256);
    assert_eq!(
        exchange.refusal().map(|r| r.fail_info),
        Some(FailureBit::BadDataFormat)
    );
}

#[test]
fn a_full_transaction_table_is_system_unavail() {
    let pki = Pki::new(|_| {});
    // Fill the store (capacity 100) with unfinished transactions (closed ones would make
    // room).
    for i in 0..100u8 {
        let record = cmp_core::server::TransactionRecord {
            transaction_id: vec![i; 16],
            version: 1,
            state: cmp_core::server::TransactionState::AwaitingConfirmation {
                cert_req_id: 0,
                certificate: vec![0x30, 0x00],
            },
            authenticator: cmp_core::server::Authenticator::Unauthenticated,
            last_request: Vec::new(),
            last_response: Vec::new(),
            response_nonce: Vec::new(),
            expires_at: now() + std::time::Duration::from_secs(60),
        };
        pki.store.save(record, None, now()).expect("room");
    }
    assert_eq!(
        pki.store.save(
            cmp_core::server::TransactionRecord {
                transaction_id: vec![0xFF; 16],
                version: 1,
                state: cmp_core::server::TransactionState::Closed,
                authenticator: cmp_core::server::Authenticator::Unauthenticated,
                last_request: Vec::new(),
                last_response: Vec::new(),
                response_nonce: Vec::new(),
                expires_at: now(),
            },
            None,
            now()
        ),
        Err(StoreError::Full { max: 100 })
    );
    let key = new_key();
    let keys = ClientKeys {
        protection: None,
        pop: Some(key.as_ref()),
    };
    let (result, _) = ir_with(&pki, pki.mac_client(), keys, key.as_ref(), |r| r);
    assert_refused(
        result.expect_err("refused"),
        "error",
        FailureBit::SystemUnavail,
        "the transaction table is full (100 transactions)",
    );
}

#[test]
fn mac_iterations_beyond_the_server_limit_are_refused_before_any_work() {
    let pki = Pki::new(|_| {});
    let key = new_key();
    let keys = ClientKeys {
        protection: None,
        pop: Some(key.as_ref()),
    };
    let mut config = pki.mac_client();
    config.credentials = cmp_core::transaction::Credentials::Mac {
        secret: SECRET.to_vec().into(),
        reference: REFERENCE.to_vec(),
        settings: MacSettings::PasswordBasedMac {
            owf: cmp_core::crypto::DigestAlgorithm::Sha256,
            mac: cmp_core::crypto::DigestAlgorithm::Sha256,
            iterations: 100_001,
            salt_len: 16,
        },
    };
    let (result, _) = ir_with(&pki, config, keys, key.as_ref(), |r| r);
    assert_refused(
        result.expect_err("refused"),
        "error",
        FailureBit::BadMessageCheck,
        "PasswordBasedMac iteration count 100001 is outside the accepted range 100..=100000",
    );
}

#[test]
fn every_mutated_request_gets_a_well_formed_answer() {
    let pki = Pki::new(|_| {});
    let key = new_key();
    let (_tx, ir, _ip) = first_exchange(&pki, key.as_ref());
    // Each byte changed in turn, and the message cut at every seventh length: the server
    // answers each with a decodable message and never panics.
    let mut granted = 0;
    let mut mutants: Vec<Vec<u8>> = (0..ir.len())
        .map(|i| {
            let mut m = ir.clone();
            m[i] ^= 0x5A;
            m
        })
        .collect();
    mutants.extend((0..ir.len()).step_by(7).map(|n| ir[..n].to_vec()));
    for m in &mutants {
        let answer =
            cmp_core::asn1::ReceivedMessage::decode(&pki.send(m)).expect("a well-formed answer");
        match &answer.message().body {
            PkiBody::Error(_) => {}
            PkiBody::Ip(rep) if rep.response[0].status.status == PkiStatus::REJECTION => {}
            PkiBody::Ip(_) => granted += 1,
            other => panic!("unexpected {}", other.name()),
        }
    }
    // Every change breaks the framing or the MAC (and the transactionID is in use anyway).
    assert_eq!(granted, 0);
}
