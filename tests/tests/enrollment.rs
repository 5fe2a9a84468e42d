//! The enrollment transaction against an in-memory CA: the happy paths (certConf, implicit
//! confirmation, polling, delayed delivery) and every check on a response, each fed the bad
//! case and asserted with its exact error.

use cmp_core::crypto::PrivateKeyExt;
use std::sync::Arc;
use std::time::Duration;

use cmp_core::ClientError;
use cmp_core::asn1::{
    CmpCertificate, ErrorMsgContent, FailureBit, PkiBody, PkiMessage, PkiStatus, PkiStatusInfo,
    PollRep, ReceivedMessage,
};
use cmp_core::client::{Driver, Keys};
use cmp_core::crypto::{PrivateKey, SignatureAlgorithm};
use cmp_core::names::parse_name;
use cmp_core::protection::{MacLimits, verify_mac};
use cmp_core::transaction::{Credentials, Enrolled, Enrollment, EnrollmentKind, TransactionConfig};
use cmp_crypto::software::read_key_file;
use cmp_tests::enroll_rig::{
    Scripts, bodies, config, enroll, err, ip_granted, new_key, pki_cert, pki_key, pkiconf, rep,
    request, script,
};
use cmp_tests::fixtures;
use cmp_tests::mock_ca::{Answer, MockCa, RecordingSleep, SECRET, ca_cert, new_cert};
use cmp_tests::run::block_on;
use rasn::types::Integer;
use rasn_pkix::GeneralName;

#[test]
fn ir_with_certconf_and_pkiconf() {
    let (result, ca, _) = enroll(
        config(|_| {}),
        vec![script(|_| ip_granted()), script(|_| pkiconf())],
    );
    let enrolled = result.expect("enrolled");
    assert_eq!(enrolled.certificate.der(), new_cert().der());
    assert!(!enrolled.implicitly_confirmed);
    assert_eq!(bodies(&ca), ["ir", "certConf"]);
    let reqs = ca.requests.lock().expect("lock").clone();
    // The ir carries a signature POP that verifies with the new key, over certReq.
    let PkiBody::Ir(msgs) = &reqs[0].body else {
        panic!("ir")
    };
    let Some(cmp_core::asn1::ProofOfPossession::Signature(pop)) = &msgs[0].popo else {
        panic!("signature POP")
    };
    let p = cmp_crypto::default_provider();
    let tbs = rasn::der::encode(&msgs[0].cert_req).expect("der");
    p.primitives
        .verify_signature(
            new_key().public_key(),
            SignatureAlgorithm::EcdsaSha256,
            &tbs,
            pop.signature.as_raw_slice(),
        )
        .expect("POP verifies");
    // The ir and the certConf are PBM-protected with our secret and share the transactionID.
    for m in &reqs {
        let rcv = ReceivedMessage::decode(&m.to_der().expect("der")).expect("decode");
        verify_mac(&rcv, SECRET, &MacLimits::default(), p.primitives.as_ref())
            .expect("our protection");
        assert_eq!(m.header.transaction_id, reqs[0].header.transaction_id);
    }
    // certConf: SHA-256 of the certificate (ecdsa-with-SHA256), certReqId 0, accepted.
    let PkiBody::CertConf(conf) = &reqs[1].body else {
        panic!("certConf")
    };
    let hash = p
        .primitives
        .digest(cmp_core::crypto::DigestAlgorithm::Sha256, new_cert().der())
        .expect("hash");
    assert_eq!(conf[0].cert_hash.as_ref(), hash.as_slice());
    assert_eq!(conf[0].status_info, None);
    assert_ne!(reqs[1].header.sender_nonce, reqs[0].header.sender_nonce);
}

#[test]
fn implicit_confirmation_granted_and_not_granted() {
    let granted = || {
        let mut a = ip_granted();
        a.implicit_confirm = true;
        a
    };
    let (result, ca, _) = enroll(
        config(|c| c.implicit_confirm = true),
        vec![script(move |_| granted())],
    );
    assert!(result.expect("enrolled").implicitly_confirmed);
    assert_eq!(bodies(&ca), ["ir"]);
    assert!(
        ca.requests.lock().expect("lock")[0]
            .header
            .has_implicit_confirm()
    );
    // Asked for but not granted: certConf as usual.
    let (result, ca, _) = enroll(
        config(|c| c.implicit_confirm = true),
        vec![script(|_| ip_granted()), script(|_| pkiconf())],
    );
    assert!(!result.expect("enrolled").implicitly_confirmed);
    assert_eq!(bodies(&ca), ["ir", "certConf"]);
}

#[test]
fn polling_honours_check_after() {
    let waiting = || {
        Answer::body(PkiBody::Ip(rep(
            0,
            PkiStatusInfo::with_status(PkiStatus::WAITING),
            None,
        )))
    };
    let poll_rep = |secs: i64| {
        move |_: &PkiMessage| {
            Answer::body(PkiBody::PollRep(vec![PollRep {
                cert_req_id: Integer::from(0),
                check_after: Integer::from(secs),
                reason: None,
            }]))
        }
    };
    let (result, ca, waits) = enroll(
        config(|c| c.max_poll_wait = Duration::from_secs(60)),
        vec![
            script(move |_| waiting()),
            script(poll_rep(3)),
            script(poll_rep(1_000_000)),
            script(|_| ip_granted()),
            script(|_| pkiconf()),
        ],
    );
    result.expect("enrolled after polling");
    assert_eq!(
        bodies(&ca),
        ["ir", "pollReq", "pollReq", "pollReq", "certConf"]
    );
    // checkAfter honoured, an absurd one clamped.
    assert_eq!(waits, vec![Duration::from_secs(3), Duration::from_secs(60)]);
    // A third poll is one too many for max_polls 2.
    let (result, ca, _) = enroll(
        config(|c| c.max_polls = 2),
        vec![
            script(move |_| waiting()),
            script(poll_rep(3)),
            script(poll_rep(3)),
        ],
    );
    assert_eq!(
        result.expect_err("too many polls").to_string(),
        "the response failed a check: the server still asks to wait after 2 polls"
    );
    assert_eq!(bodies(&ca), ["ir", "pollReq", "pollReq"]);
}

#[test]
fn a_second_waiting_after_polling_began_is_an_error() {
    let waiting = || {
        Answer::body(PkiBody::Ip(rep(
            0,
            PkiStatusInfo::with_status(PkiStatus::WAITING),
            None,
        )))
    };
    let (result, _, _) = enroll(
        config(|_| {}),
        vec![script(move |_| waiting()), script(move |_| waiting())],
    );
    assert_eq!(
        result.expect_err("second waiting").to_string(),
        "the response failed a check: a second 'waiting' status after polling began"
    );
}

#[test]
fn delayed_delivery_after_an_error_with_status_waiting() {
    let (result, ca, _) = enroll(
        config(|_| {}),
        vec![
            script(|_| {
                Answer::body(PkiBody::Error(ErrorMsgContent {
                    pki_status_info: PkiStatusInfo::with_status(PkiStatus::WAITING),
                    error_code: None,
                    error_details: None,
                }))
            }),
            script(|_| ip_granted()),
            script(|_| pkiconf()),
        ],
    );
    result.expect("enrolled");
    let reqs = ca.requests.lock().expect("lock").clone();
    let PkiBody::PollReq(p) = &reqs[1].body else {
        panic!("pollReq")
    };
    assert_eq!(p[0].cert_req_id, Integer::from(-1));
}

/// [`err`] with default configuration, and the transactionID and senderNonce (hex) of the
/// request the client sent.
fn err_and_ids(scripts: Scripts) -> (String, String, String) {
    let (result, ca, _) = enroll(config(|_| {}), scripts);
    let reqs = ca.requests.lock().expect("lock").clone();
    let header = &reqs[0].header;
    (
        result.expect_err("must fail").to_string(),
        hex::encode(header.transaction_id.as_deref().expect("transactionID")),
        hex::encode(header.sender_nonce.as_deref().expect("senderNonce")),
    )
}

#[test]
fn each_check_fails_with_its_own_error() {
    // sender
    assert_eq!(
        err(vec![script(|_| ip_granted())], |c| c
            .trust
            .expected_sender =
            Some(parse_name("CN=Someone Else").expect("dn"))),
        "the response failed a check: unexpected sender \"O=cmp-rs test PKI,CN=CMP Test CA\", expected \"CN=Someone Else\""
    );
    // protection: none
    assert_eq!(
        err(
            vec![script(|_| Answer {
                protect: false,
                ..ip_granted()
            })],
            |_| {}
        ),
        "the response failed a check: the response is not protected"
    );
    // protection: another secret
    assert_eq!(
        err(
            vec![script(|_| Answer {
                secret: Some(b"other".to_vec()),
                ..ip_granted()
            })],
            |_| {}
        ),
        "the response failed a check: invalid protection: the MAC does not verify (wrong shared secret, or the message was altered)"
    );
    // protection: signed, but we trust nothing
    assert_eq!(
        err(
            vec![with_dummy_signature(script(|_| {
                ip_granted().tweak(|m| {
                    m.header.protection_alg =
                        Some(SignatureAlgorithm::EcdsaSha256.algorithm_identifier());
                })
            }))],
            |_| {}
        ),
        "the response failed a check: the response is signed, but no trust anchors or server certificate are configured"
    );
    // pvno
    assert_eq!(
        err(
            vec![script(|_| ip_granted().tweak(|m| m.header.pvno = 5))],
            |_| {}
        ),
        "the response failed a check: unsupported pvno 5 (2 or 3 expected)"
    );
    // body type
    assert_eq!(
        err(
            vec![script(|_| Answer::body(PkiBody::Cp(rep(
                0,
                PkiStatusInfo::accepted(),
                Some(new_cert())
            ))))],
            |_| {}
        ),
        "the response failed a check: unexpected cp response, expected ip"
    );
    // transactionID
    let (e, tid, _) = err_and_ids(vec![script(|_| {
        ip_granted().tweak(|m| m.header.transaction_id = Some(vec![9u8; 16].into()))
    })]);
    assert_eq!(
        e,
        format!(
            "the response failed a check: transactionID 09090909090909090909090909090909 does not match ours ({tid})"
        )
    );
    // recipNonce
    let (e, _, nonce) = err_and_ids(vec![script(|_| {
        ip_granted().tweak(|m| m.header.recip_nonce = Some(vec![7u8; 16].into()))
    })]);
    assert_eq!(
        e,
        format!(
            "the response failed a check: recipNonce 07070707070707070707070707070707 does not match our senderNonce ({nonce})"
        )
    );
    let (e, _, nonce) = err_and_ids(vec![script(|_| {
        ip_granted().tweak(|m| m.header.recip_nonce = None)
    })]);
    assert_eq!(
        e,
        format!(
            "the response failed a check: recipNonce absent does not match our senderNonce ({nonce})"
        )
    );
    // certReqId
    assert_eq!(
        err(
            vec![script(|_| Answer::body(PkiBody::Ip(rep(
                5,
                PkiStatusInfo::accepted(),
                Some(new_cert())
            ))))],
            |_| {}
        ),
        "the response failed a check: certReqId 5 does not match ours (0)"
    );
    // accepted without a certificate
    assert_eq!(
        err(
            vec![script(|_| Answer::body(PkiBody::Ip(rep(
                0,
                PkiStatusInfo::accepted(),
                None
            ))))],
            |_| {}
        ),
        "the response failed a check: accepted status without a certificate"
    );
}

/// `script`'s answers without the CA's MAC, so the protectionAlg its tweak sets stays, and
/// with 64 zero bytes as protection.
fn with_dummy_signature(mut script: cmp_tests::mock_ca::Script) -> cmp_tests::mock_ca::Script {
    Box::new(move |m| {
        let a = script(m);
        let tweak = a.tweak;
        Answer {
            protect: false,
            tweak: Some(Box::new(move |msg: &mut PkiMessage| {
                if let Some(t) = tweak {
                    t(msg);
                }
                msg.protection = Some(rasn::types::BitString::from_slice(&[0u8; 64]));
            })),
            ..a
        }
    })
}

#[test]
fn the_server_refusing_is_reported_with_status_and_fail_info() {
    let e = err(
        vec![script(|_| {
            Answer::body(PkiBody::Ip(rep(
                0,
                PkiStatusInfo::rejection([FailureBit::BadPop], Some("POP invalid")),
                None,
            )))
        })],
        |_| {},
    );
    assert_eq!(
        e,
        "server rejected the request: rejection (badPOP) \"POP invalid\""
    );
    let e = enroll(
        config(|_| {}),
        vec![script(|_| {
            Answer::body(PkiBody::Error(ErrorMsgContent {
                pki_status_info: PkiStatusInfo::rejection([FailureBit::SystemUnavail], None),
                error_code: Some(Integer::from(503)),
                error_details: Some(vec!["maintenance".into()]),
            }))
        })],
    )
    .0
    .expect_err("error");
    assert_eq!(e.exit_code(), 5);
    assert_eq!(
        e.to_string(),
        "server rejected the request: rejection (systemUnavail), error code 503, details \"maintenance\" (error message)"
    );
}

#[test]
fn unprotected_errors_only_when_allowed() {
    let unprotected_error = || Answer {
        protect: false,
        ..Answer::body(PkiBody::Error(ErrorMsgContent {
            pki_status_info: PkiStatusInfo::rejection([FailureBit::BadRequest], None),
            error_code: None,
            error_details: None,
        }))
    };
    let e = enroll(config(|_| {}), vec![script(move |_| unprotected_error())])
        .0
        .expect_err("refused");
    assert_eq!(e.exit_code(), 4);
    assert_eq!(
        e.to_string(),
        "the response failed a check: the server sent an unprotected error message (accept it with unprotected-errors, which weakens security)"
    );
    let e = enroll(
        config(|c| c.trust.unprotected_errors = true),
        vec![script(move |_| unprotected_error())],
    )
    .0
    .expect_err("server error");
    assert_eq!(e.exit_code(), 5);
    assert_eq!(
        e.to_string(),
        "server rejected the request: rejection (badRequest) (error message)"
    );
}

#[test]
fn a_certificate_for_another_key_is_refused_with_certconf() {
    let other = CmpCertificate::from_der(&fixtures::read("pki/vendor-cert.der")).expect("cert");
    let (result, ca, _) = enroll(
        config(|_| {}),
        vec![
            script(move |_| {
                Answer::body(PkiBody::Ip(rep(
                    0,
                    PkiStatusInfo::accepted(),
                    Some(other.clone()),
                )))
            }),
            script(|_| pkiconf()),
        ],
    );
    let e = result.expect_err("refused");
    assert_eq!(e.exit_code(), 4);
    assert_eq!(
        e.to_string(),
        "the issued certificate was refused (its public key is not ours); certConf reported incorrectData to the server"
    );
    let reqs = ca.requests.lock().expect("lock").clone();
    let PkiBody::CertConf(conf) = &reqs[1].body else {
        panic!("certConf")
    };
    let status = conf[0].status_info.as_ref().expect("rejection status");
    assert_eq!(status.status, PkiStatus::REJECTION);
    assert_eq!(
        status.fail_info.as_ref().expect("failInfo").bits(),
        vec![FailureBit::IncorrectData]
    );
}

#[test]
fn a_certificate_not_chaining_to_out_trusted_is_refused() {
    let other_anchor =
        CmpCertificate::from_der(&fixtures::read("pki/vendor-cert.der")).expect("cert");
    let (result, ca, _) = enroll(
        config(move |c| c.out_trusted = vec![other_anchor]),
        vec![script(|_| ip_granted()), script(|_| pkiconf())],
    );
    let e = result.expect_err("refused").to_string();
    assert_eq!(
        e,
        "the issued certificate was refused (it does not chain to the out-trusted anchors: certificate path does not validate: no trust anchor or intermediate issued it (unknown issuer)); certConf reported incorrectData to the server"
    );
    assert_eq!(bodies(&ca), ["ir", "certConf"]);
    // With the right anchor it is accepted.
    let (result, _, _) = enroll(
        config(|c| c.out_trusted = vec![ca_cert()]),
        vec![script(|_| ip_granted()), script(|_| pkiconf())],
    );
    result.expect("chains to the test CA");
}

#[test]
fn signature_protected_requests_ask_the_driver_to_sign() {
    let vendor_key =
        read_key_file(&fixtures::openssl_dir().join("pki/vendor-key.pem"), None).expect("key");
    let vendor_cert =
        CmpCertificate::from_der(&fixtures::read("pki/vendor-cert.der")).expect("cert");
    let cfg = config(|c| {
        c.credentials = Credentials::Signature {
            cert: vendor_cert.clone(),
            chain: vec![],
            alg: SignatureAlgorithm::EcdsaSha256,
        };
        c.sender = GeneralName::DirectoryName(vendor_cert.subject().clone());
    });
    let key = new_key();
    // The mock answers with PBM; accept it by keeping the secret configured: use a MAC answer
    // only to finish the transaction — what matters is the request's signature.
    let ca = MockCa::new(vec![script(|_| ip_granted()), script(|_| pkiconf())]);
    let sleep = RecordingSleep::default();
    let mut tx = Enrollment::new(cfg, request(&key)).expect("tx");
    let mut driver = Driver::new(&ca, &sleep);
    let result = block_on(driver.run(
        &mut tx,
        Keys {
            protection: Some(&vendor_key),
            new_key: Some(&key),
        },
    ));
    // Responses are MAC-protected but we hold no secret now.
    assert_eq!(
        result.expect_err("no secret").to_string(),
        "the response failed a check: the response is MAC-protected, but no shared secret is configured"
    );
    let reqs = ca.requests.lock().expect("lock").clone();
    let rcv = ReceivedMessage::decode(&reqs[0].to_der().expect("der")).expect("decode");
    let p = cmp_crypto::default_provider();
    cmp_core::protection::verify_signature(&rcv, &vendor_cert, p.primitives.as_ref())
        .expect("our signature verifies");
    assert_eq!(
        reqs[0].extra_certs.as_ref().expect("extraCerts")[0].der(),
        vendor_cert.der()
    );
    assert_eq!(
        reqs[0].header.sender_kid.as_deref(),
        vendor_cert.subject_key_identifier().as_deref()
    );
}

#[test]
fn signed_responses_must_come_from_a_trusted_signer() {
    let signed = |name: &'static str| {
        move |_: &PkiMessage| ip_granted().signed_by(pki_key(name), pki_cert(name))
    };
    let trusting = |anchor: &'static str| {
        move |c: &mut TransactionConfig| c.trust.trusted = vec![pki_cert(anchor)]
    };
    // The server's certificate chains to the trusted CA.
    let (result, _, _) = enroll(
        config(trusting("ca")),
        vec![
            script(signed("server")),
            script(move |_| pkiconf().signed_by(pki_key("server"), pki_cert("server"))),
        ],
    );
    result.expect("a trusted signer");
    // Pinned instead of chained.
    let (result, _, _) = enroll(
        config(|c| c.trust.srvcert = Some(pki_cert("server"))),
        vec![
            script(signed("server")),
            script(move |_| pkiconf().signed_by(pki_key("server"), pki_cert("server"))),
        ],
    );
    result.expect("the pinned server certificate");
    // Not chaining to the anchor.
    assert_eq!(
        err(vec![script(signed("server"))], trusting("vendor")),
        "the response failed a check: the signer certificate O=cmp-rs test PKI,CN=CMP Test Server is not trusted: certificate path does not validate: no trust anchor or intermediate issued it (unknown issuer)"
    );
    // A pinned certificate that did not sign it: the sender check fails first.
    assert_eq!(
        err(vec![script(signed("server"))], |c| c.trust.srvcert =
            Some(pki_cert("vendor"))),
        "the response failed a check: unexpected sender \"O=cmp-rs test PKI,CN=CMP Test Server\", expected \"O=cmp-rs test PKI,CN=CMP Test Vendor Device\""
    );
    // senderKID naming no certificate we have.
    assert_eq!(
        err(
            vec![script(|_| ip_granted()
                .signed_by(pki_key("server"), pki_cert("server"))
                .tweak(|m| m.header.sender_kid = Some(vec![1, 2, 3].into())))],
            trusting("ca")
        ),
        "the response failed a check: no certificate in extraCerts, untrusted or trusted matches the sender \"O=cmp-rs test PKI,CN=CMP Test Server\" and senderKID 010203"
    );
    // A signer whose keyUsage forbids signing (the CA certificate: keyCertSign, cRLSign).
    assert_eq!(
        err(vec![script(signed("ca"))], trusting("ca")),
        "the response failed a check: the signer certificate O=cmp-rs test PKI,CN=CMP Test CA does not allow digitalSignature (keyUsage)"
    );
    // ... accepted when told to ignore keyUsage.
    let (result, _, _) = enroll(
        config(|c| {
            c.trust.trusted = vec![pki_cert("ca")];
            c.trust.ignore_keyusage = true;
        }),
        vec![
            script(signed("ca")),
            script(move |_| pkiconf().signed_by(pki_key("ca"), pki_cert("ca"))),
        ],
    );
    result.expect("keyUsage ignored");
    // A signature that does not verify (the message changed after signing).
    assert_eq!(
        err(
            vec![signed_over_another_body(script(move |m| {
                let a = signed("server")(m);
                Answer { tweak: None, ..a }
            }))],
            trusting("ca")
        ),
        "the response failed a check: invalid protection: the signature does not verify with the key of O=cmp-rs test PKI,CN=CMP Test Server"
    );
}

/// `script`'s answers signed by their signer over a pkiconf body, then sent with the real
/// body: a valid signature by a trusted key that does not cover the message (as if it was
/// altered after signing).
fn signed_over_another_body(mut script: cmp_tests::mock_ca::Script) -> cmp_tests::mock_ca::Script {
    Box::new(move |m| {
        let a = script(m);
        let key = a.signer.as_ref().map(|(k, _)| Arc::clone(k));
        let cert = a.signer.as_ref().map(|(_, c)| c.clone());
        Answer {
            signer: None,
            protect: false,
            tweak: Some(Box::new(move |msg: &mut PkiMessage| {
                let (Some(key), Some(cert)) = (key, cert) else {
                    return;
                };
                msg.header.sender = GeneralName::DirectoryName(cert.subject().clone());
                msg.header.sender_kid = cert.subject_key_identifier().map(Into::into);
                msg.extra_certs = Some(vec![cert]);
                let body = std::mem::replace(&mut msg.body, PkiBody::Pkiconf(()));
                cmp_tests::run::block_on(cmp_core::protection::protect_with_key(
                    msg,
                    key.as_ref(),
                    SignatureAlgorithm::EcdsaSha256,
                ))
                .expect("sign");
                msg.body = body;
            })),
            ..a
        }
    })
}

fn refusal(bit: FailureBit, pvno: i64) -> cmp_tests::mock_ca::Script {
    script(move |_| {
        Answer::body(PkiBody::Error(ErrorMsgContent {
            pki_status_info: PkiStatusInfo::rejection([bit], None),
            error_code: None,
            error_details: None,
        }))
        .tweak(move |m| m.header.pvno = pvno)
    })
}

fn enroll_with_retries(scripts: Scripts) -> (Result<Enrolled, ClientError>, MockCa, Vec<Duration>) {
    use cmp_core::client::RetryPolicy;
    let key = new_key();
    let ca = MockCa::new(scripts);
    let sleep = RecordingSleep::default();
    let cfg = config(|_| {});
    let result = {
        let mut driver = Driver::new(&ca, &sleep);
        let req = request(&key);
        block_on(driver.run_with_retries(
            &cfg,
            |c| Enrollment::new(c, req.clone()),
            Keys {
                protection: None,
                new_key: Some(&key),
            },
            RetryPolicy::default(),
        ))
    };
    let waits = sleep.waits.lock().expect("lock").clone();
    (result, ca, waits)
}

#[test]
fn transaction_id_in_use_is_retried_once_with_a_new_transaction() {
    let (result, ca, _) = enroll_with_retries(vec![
        refusal(FailureBit::TransactionIdInUse, 2),
        script(|_| ip_granted()),
        script(|_| pkiconf()),
    ]);
    result.expect("enrolled on the second try");
    let reqs = ca.requests.lock().expect("lock").clone();
    assert_eq!(bodies(&ca), ["ir", "ir", "certConf"]);
    assert_ne!(reqs[0].header.transaction_id, reqs[1].header.transaction_id);
    // Only once.
    let (result, ca, _) = enroll_with_retries(vec![
        refusal(FailureBit::TransactionIdInUse, 2),
        refusal(FailureBit::TransactionIdInUse, 2),
    ]);
    assert_eq!(
        result.expect_err("twice").to_string(),
        "server rejected the request: rejection (transactionIdInUse) (error message)"
    );
    assert_eq!(bodies(&ca), ["ir", "ir"]);
}

#[test]
fn system_unavailable_backs_off_and_gives_up_after_the_policy() {
    let (result, ca, waits) = enroll_with_retries(vec![
        refusal(FailureBit::SystemUnavail, 2),
        refusal(FailureBit::SystemUnavail, 2),
        script(|_| ip_granted()),
        script(|_| pkiconf()),
    ]);
    result.expect("enrolled on the third try");
    assert_eq!(waits, vec![Duration::from_secs(1), Duration::from_secs(2)]);
    assert_eq!(bodies(&ca), ["ir", "ir", "ir", "certConf"]);
    let (result, _, waits) = enroll_with_retries(vec![
        refusal(FailureBit::SystemUnavail, 2),
        refusal(FailureBit::SystemUnavail, 2),
        refusal(FailureBit::SystemUnavail, 2),
    ]);
    let e = result.expect_err("gave up");
    assert_eq!(e.exit_code(), 5);
    assert_eq!(
        e.to_string(),
        "server rejected the request: rejection (systemUnavail) (error message)"
    );
    assert_eq!(waits.len(), 2);
}

#[test]
fn unsupported_version_is_retried_once_with_the_servers_pvno() {
    let (result, ca, _) = enroll_with_retries(vec![
        refusal(FailureBit::UnsupportedVersion, 3),
        script(|_| ip_granted()),
        script(|_| pkiconf()),
    ]);
    result.expect("enrolled with pvno 3");
    let reqs = ca.requests.lock().expect("lock").clone();
    assert_eq!(reqs[0].header.pvno, 2);
    assert_eq!(reqs[1].header.pvno, 3);
    // The server naming our own version again: no retry.
    let (result, ca, _) = enroll_with_retries(vec![refusal(FailureBit::UnsupportedVersion, 2)]);
    assert_eq!(
        result.expect_err("no retry").to_string(),
        "server rejected the request: rejection (unsupportedVersion) (error message)"
    );
    assert_eq!(bodies(&ca), ["ir"]);
}

#[test]
fn trust_can_be_bootstrapped_from_the_ip_only_when_asked() {
    let with_root = || {
        ip_granted()
            .signed_by(pki_key("server"), pki_cert("server"))
            .tweak(|m| {
                m.extra_certs
                    .get_or_insert_with(Vec::new)
                    .push(pki_cert("ca"))
            })
    };
    let pkiconf_signed = || pkiconf().signed_by(pki_key("server"), pki_cert("server"));
    // Off (the default): nothing to trust.
    assert_eq!(
        err(vec![script(move |_| with_root())], |_| {}),
        "the response failed a check: the response is signed, but no trust anchors or server certificate are configured"
    );
    // On: the self-signed CA in extraCerts validates the signer and the new certificate.
    let (result, ca, _) = enroll(
        config(|c| c.trust.bootstrap_from_ip = true),
        vec![
            script(move |_| with_root()),
            script(move |_| pkiconf_signed()),
        ],
    );
    let enrolled = result.expect("bootstrapped");
    assert_eq!(
        enrolled.bootstrap_root.expect("root").der(),
        pki_cert("ca").der()
    );
    assert_eq!(bodies(&ca), ["ir", "certConf"]);
    // On, but no root in extraCerts.
    let e = err(
        vec![script(|_| {
            ip_granted().signed_by(pki_key("server"), pki_cert("server"))
        })],
        |c| c.trust.bootstrap_from_ip = true,
    );
    assert_eq!(
        e,
        "the response failed a check: the signer certificate O=cmp-rs test PKI,CN=CMP Test Server is not trusted: certificate path does not validate: no trust anchors are configured; no self-signed certificate in the ip's extraCerts validates it either"
    );
}

mod storage {
    use std::sync::Mutex;
    use std::time::Instant;

    use cmp_core::storage::{
        Credential, IdentityName, IdentityRecord, Metadata, Storage, StorageError, TransactionBlob,
        TrustStore,
    };
    use cmp_core::transport::{Transport, TransportError};

    use super::*;

    /// The event of staging the new certificate: for the new key, no chain (the mock's ip
    /// carries no extraCerts), with the key locator the driver was given.
    pub(super) const STAGED: &str =
        "stage device (true, 0 in the chain, key Some(Locator(\"pkcs11:object=device\")))";

    /// The same certificate installed at once (implicit confirmation).
    pub(super) const INSTALLED: &str =
        "install device (true, 0 in the chain, key Some(Locator(\"pkcs11:object=device\")))";

    /// Records stage/commit/unconfirmed and the messages sent, in one order.
    #[derive(Debug, Default)]
    pub(super) struct Events(pub(super) Mutex<Vec<String>>);

    /// The second field makes `mark_unconfirmed` fail.
    #[derive(Debug)]
    pub(super) struct MemoryStore<'a>(pub(super) &'a Events, pub(super) bool);

    impl MemoryStore<'_> {
        fn push(&self, event: String) {
            self.0.0.lock().expect("lock").push(event);
        }
    }

    /// A credential as the events show it: whether it is for the new key, the chain's length,
    /// the key locator.
    fn described(c: &Credential) -> String {
        let cert = CmpCertificate::from_der(&c.certificate).expect("the certificate");
        format!(
            "({}, {} in the chain, key {:?})",
            new_key().matches_public_key(cert.subject_public_key_info()),
            c.chain.len(),
            c.key
        )
    }

    #[async_trait::async_trait]
    impl Storage for MemoryStore<'_> {
        async fn list(&self) -> Result<Vec<IdentityName>, StorageError> {
            Ok(Vec::new())
        }
        async fn load(&self, _: &IdentityName) -> Result<Option<IdentityRecord>, StorageError> {
            Ok(None)
        }
        async fn stage(&self, name: &IdentityName, c: &Credential) -> Result<(), StorageError> {
            self.push(format!("stage {name} {}", described(c)));
            Ok(())
        }
        async fn commit(&self, name: &IdentityName) -> Result<(), StorageError> {
            self.push(format!("commit {name}"));
            Ok(())
        }
        async fn install(&self, name: &IdentityName, c: &Credential) -> Result<(), StorageError> {
            self.push(format!("install {name} {}", described(c)));
            Ok(())
        }
        async fn mark_unconfirmed(
            &self,
            name: &IdentityName,
            reason: &str,
        ) -> Result<(), StorageError> {
            if self.1 {
                return Err(StorageError::Other("disk full".into()));
            }
            self.push(format!("unconfirmed {name}: {reason}"));
            Ok(())
        }
        async fn discard_staged(&self, _: &IdentityName) -> Result<(), StorageError> {
            unreachable!("the driver never discards")
        }
        async fn save_metadata(&self, _: &IdentityName, _: &Metadata) -> Result<(), StorageError> {
            unreachable!("the driver keeps no metadata")
        }
        async fn save_transaction(
            &self,
            _: &IdentityName,
            _: Option<&TransactionBlob>,
        ) -> Result<(), StorageError> {
            unreachable!("the driver saves no transaction")
        }
        async fn trust(&self) -> Result<TrustStore, StorageError> {
            unreachable!("the driver reads no trust")
        }
        async fn save_trust(&self, _: &TrustStore) -> Result<(), StorageError> {
            unreachable!("the driver writes no trust")
        }
    }

    #[derive(Debug)]
    pub(super) struct Logged<'a>(pub(super) &'a MockCa, pub(super) &'a Events);

    #[async_trait::async_trait]
    impl Transport for Logged<'_> {
        async fn exchange(
            &self,
            request: &[u8],
            deadline: Option<Instant>,
        ) -> Result<Vec<u8>, TransportError> {
            let body = ReceivedMessage::decode(request)
                .expect("decode")
                .message()
                .body
                .name();
            self.1.0.lock().expect("lock").push(format!("send {body}"));
            self.0.exchange(request, deadline).await
        }
    }

    pub(super) fn run(
        cfg: Arc<TransactionConfig>,
        scripts: Scripts,
    ) -> (Result<Enrolled, ClientError>, Vec<String>) {
        run_with(cfg, scripts, false)
    }

    /// [`run`], with a store whose `mark_unconfirmed` fails if `mark_fails`.
    pub(super) fn run_with(
        cfg: Arc<TransactionConfig>,
        scripts: Scripts,
        mark_fails: bool,
    ) -> (Result<Enrolled, ClientError>, Vec<String>) {
        let key = new_key();
        let ca = MockCa::new(scripts);
        let events = Events::default();
        let store = MemoryStore(&events, mark_fails);
        let transport = Logged(&ca, &events);
        let sleep = RecordingSleep::default();
        let result = {
            let mut tx = Enrollment::new(cfg, request(&key)).expect("tx");
            let name = IdentityName::new("device").expect("a name");
            let key_ref = cmp_core::storage::StoredKey::Locator("pkcs11:object=device".into());
            let mut driver = Driver::new(&transport, &sleep).storage(&store, name, Some(key_ref));
            block_on(driver.run(
                &mut tx,
                Keys {
                    protection: None,
                    new_key: Some(&key),
                },
            ))
        };
        let ev = events.0.lock().expect("lock").clone();
        (result, ev)
    }
}

#[test]
fn the_certificate_is_staged_before_certconf_and_committed_after_pkiconf() {
    let (result, events) = storage::run(
        config(|_| {}),
        vec![script(|_| ip_granted()), script(|_| pkiconf())],
    );
    result.expect("enrolled");
    assert_eq!(
        events,
        ["send ir", storage::STAGED, "send certConf", "commit device"]
    );
}

/// Nothing follows the ip: the certificate is installed in one write, not staged and then
/// committed.
#[test]
fn implicit_confirmation_installs_at_once() {
    let granted = || {
        let mut a = ip_granted();
        a.implicit_confirm = true;
        a
    };
    let (result, events) = storage::run(
        config(|c| c.implicit_confirm = true),
        vec![script(move |_| granted())],
    );
    result.expect("enrolled");
    assert_eq!(events, ["send ir", storage::INSTALLED]);
}

#[test]
fn a_failed_confirmation_keeps_the_certificate_marked_unconfirmed() {
    let (result, events) = storage::run(
        config(|_| {}),
        vec![
            script(|_| ip_granted()),
            script(|_| {
                Answer::body(PkiBody::Error(ErrorMsgContent {
                    pki_status_info: PkiStatusInfo::rejection([FailureBit::SystemFailure], None),
                    error_code: None,
                    error_details: None,
                }))
            }),
        ],
    );
    result.expect_err("pkiconf refused");
    assert_eq!(
        events,
        [
            "send ir",
            storage::STAGED,
            "send certConf",
            "unconfirmed device: server rejected the request: rejection (systemFailure) (error message)"
        ]
    );
    // A certificate we refuse is never staged.
    let other = CmpCertificate::from_der(&fixtures::read("pki/vendor-cert.der")).expect("cert");
    let (result, events) = storage::run(
        config(|_| {}),
        vec![
            script(move |_| {
                Answer::body(PkiBody::Ip(rep(
                    0,
                    PkiStatusInfo::accepted(),
                    Some(other.clone()),
                )))
            }),
            script(|_| pkiconf()),
        ],
    );
    result.expect_err("refused");
    assert_eq!(events, ["send ir", "send certConf"]);
}

#[test]
fn a_storage_failure_after_a_failed_confirmation_still_names_the_transaction_failure() {
    let (result, events) = storage::run_with(
        config(|_| {}),
        vec![
            script(|_| ip_granted()),
            script(|_| {
                Answer::body(PkiBody::Error(ErrorMsgContent {
                    pki_status_info: PkiStatusInfo::rejection([FailureBit::SystemFailure], None),
                    error_code: None,
                    error_details: None,
                }))
            }),
        ],
        true,
    );
    let e = result.expect_err("pkiconf refused");
    assert_eq!(
        e,
        ClientError::Local(
            "storage: disk full; the transaction had failed: server rejected the request: rejection (systemFailure) (error message)"
                .into()
        )
    );
    assert_eq!(events, ["send ir", storage::STAGED, "send certConf"]);
}

#[test]
fn certconf_uses_hashalg_and_pvno_3_when_the_signature_names_no_hash() {
    // A certificate for our key signed by an Ed448 CA: no hash is implied that we know of.
    let dir = cmp_tests::tools::temp_dir("ed448");
    let p = |f: &str| dir.join(f).display().to_string();
    let fx = |f: &str| {
        fixtures::openssl_dir()
            .join("pki")
            .join(f)
            .display()
            .to_string()
    };
    let ossl = |args: &[&str]| {
        let o = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl");
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    ossl(&["genpkey", "-algorithm", "ED448", "-out", &p("ca.key")]);
    ossl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        &p("ca.key"),
        "-subj",
        "/CN=Ed448 CA",
        "-days",
        "2",
        "-out",
        &p("ca.pem"),
    ]);
    ossl(&[
        "x509",
        "-req",
        "-in",
        &fx("new.csr.pem"),
        "-CA",
        &p("ca.pem"),
        "-CAkey",
        &p("ca.key"),
        "-set_serial",
        "9",
        "-days",
        "2",
        "-outform",
        "DER",
        "-out",
        &p("cert.der"),
    ]);
    let cert = CmpCertificate::from_der(&std::fs::read(p("cert.der")).expect("der")).expect("cert");
    let (result, ca, _) = enroll(
        config(|_| {}),
        vec![
            script(move |_| {
                Answer::body(PkiBody::Ip(rep(
                    0,
                    PkiStatusInfo::accepted(),
                    Some(cert.clone()),
                )))
            }),
            script(|_| pkiconf()),
        ],
    );
    result.expect("enrolled");
    let reqs = ca.requests.lock().expect("lock").clone();
    let PkiBody::CertConf(conf) = &reqs[1].body else {
        panic!("certConf")
    };
    assert_eq!(reqs[0].header.pvno, 2);
    assert_eq!(reqs[1].header.pvno, 3);
    let alg = conf[0].hash_alg.as_ref().expect("hashAlg");
    assert_eq!(&*alg.algorithm, cmp_core::asn1::oid::SHA256);
}

#[test]
fn ccr_gets_a_ccp() {
    let (result, ca, _) = {
        let key = new_key();
        let ca = MockCa::new(vec![
            script(|_| {
                Answer::body(PkiBody::Ccp(rep(
                    0,
                    PkiStatusInfo::accepted(),
                    Some(new_cert()),
                )))
            }),
            script(|_| pkiconf()),
        ]);
        let sleep = RecordingSleep::default();
        let mut req = request(&key);
        req.kind = EnrollmentKind::Ccr;
        let result = {
            let mut tx = Enrollment::new(config(|_| {}), req).expect("tx");
            let mut driver = Driver::new(&ca, &sleep);
            block_on(driver.run(
                &mut tx,
                Keys {
                    protection: None,
                    new_key: Some(&key),
                },
            ))
        };
        (result, ca, ())
    };
    result.expect("cross-certified");
    assert_eq!(bodies(&ca), ["ccr", "certConf"]);
}
