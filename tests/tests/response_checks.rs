//! The client's trust decisions, each as strict as OpenSSL's `cmp_vfy.c`/`cmp_client.c`, fed
//! the bad case and asserted with its exact error: the order of the checks, the
//! `--unprotected-errors` exceptions, the signer kept for the transaction, signer selection
//! among several candidates, polling nonces and revocation of the signer.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cmp_core::ClientError;
use cmp_core::asn1::{
    CmpCertificate, ErrorMsgContent, FailureBit, InfoTypeAndValue, PkiBody, PkiMessage, PkiStatus,
    PkiStatusInfo, PollRep, RevRepContent, null_dn,
};
use cmp_core::client::{Driver, Keys};
use cmp_core::crypto::{PathPolicy, RevocationCheck};
use cmp_core::transaction::{GeneralMessage, Revocation, Transaction, TransactionConfig};
use cmp_tests::enroll_rig::{
    config, enroll, enroll_warned, err, ip_granted, pki_cert, pki_key, pkiconf, rep, script,
};
use cmp_tests::fixtures;
use cmp_tests::mock_ca::{Answer, MockCa, RecordingSleep, new_cert};
use cmp_tests::openssl_ca::{OpensslCa, read_pem_cert, read_pem_crl};
use cmp_tests::run::block_on;
use rasn::types::Integer;
use rasn_pkix::GeneralName;

const CHECK: &str = "the response failed a check: ";
const BAD_MAC: &str =
    "invalid protection: the MAC does not verify (wrong shared secret, or the message was altered)";

/// How an answer's protection is spoiled.
#[derive(Clone, Copy, Debug)]
enum Spoil {
    Missing,
    WrongSecret,
}

impl Spoil {
    fn apply(self, a: Answer) -> Answer {
        match self {
            Spoil::Missing => Answer {
                protect: false,
                ..a
            },
            Spoil::WrongSecret => Answer {
                secret: Some(b"not-the-secret".to_vec()),
                ..a
            },
        }
    }

    /// How the warning names the failure.
    fn failure(self) -> &'static str {
        match self {
            Spoil::Missing => "it is not protected",
            Spoil::WrongSecret => BAD_MAC,
        }
    }

    /// The error without `unprotected_errors`.
    fn refusal(self, error_body: bool) -> String {
        match (self, error_body) {
            (Spoil::Missing, true) => format!(
                "{CHECK}the server sent an unprotected error message (accept it with unprotected-errors, which weakens security)"
            ),
            (Spoil::Missing, false) => format!("{CHECK}the response is not protected"),
            (Spoil::WrongSecret, _) => format!("{CHECK}{BAD_MAC}"),
        }
    }
}

fn tolerated(what: &str, spoil: Spoil) -> String {
    format!(
        "accepting {what} although its protection failed ({}), as --unprotected-errors allows",
        spoil.failure()
    )
}

fn lenient(c: &mut TransactionConfig) {
    c.trust.unprotected_errors = true;
}

fn error_rejection() -> Answer {
    Answer::body(PkiBody::Error(ErrorMsgContent {
        pki_status_info: PkiStatusInfo::rejection([FailureBit::BadRequest], None),
        error_code: None,
        error_details: None,
    }))
}

fn ip_rejection() -> Answer {
    Answer::body(PkiBody::Ip(rep(
        0,
        PkiStatusInfo::rejection([FailureBit::BadPop], Some("popo missing subject")),
        None,
    )))
}

/// Runs a one-round transaction (rr, genm) against a mock CA.
fn one_round<T: Transaction>(
    tx: T,
    scripts: Vec<cmp_tests::mock_ca::Script>,
) -> (Result<T::Output, ClientError>, Vec<String>) {
    let mut tx = tx;
    let ca = MockCa::new(scripts);
    let sleep = RecordingSleep::default();
    let warnings = Mutex::new(Vec::new());
    let result = {
        let mut driver = Driver::new(&ca, &sleep)
            .on_warning(|w| warnings.lock().expect("lock").push(w.to_owned()));
        block_on(driver.run(&mut tx, Keys::default()))
    };
    (result, warnings.into_inner().expect("lock"))
}

fn rp(status: PkiStatusInfo) -> Answer {
    Answer::body(PkiBody::Rp(RevRepContent {
        status: vec![status],
        rev_certs: None,
        crls: None,
    }))
}

fn revoke(
    tweak: impl FnOnce(&mut TransactionConfig),
    answer: impl FnMut(&PkiMessage) -> Answer + Send + 'static,
) -> (Result<PkiStatus, ClientError>, Vec<String>) {
    let tx = Revocation::new(config(tweak), pki_cert("vendor"), None).expect("rr");
    one_round(tx, vec![script(answer)])
}

#[test]
fn unprotected_exceptions_are_tolerated_only_with_the_option() {
    for spoil in [Spoil::Missing, Spoil::WrongSecret] {
        // An error message: reported as the server's refusal (exit 5), with a warning.
        let (result, _, warnings) = enroll_warned(
            config(lenient),
            vec![script(move |_| spoil.apply(error_rejection()))],
        );
        let e = result.expect_err("refused");
        assert_eq!(
            (e.exit_code(), e.to_string()),
            (
                5,
                "server rejected the request: rejection (badRequest) (error message)".into()
            )
        );
        assert_eq!(warnings, [tolerated("an error message", spoil)]);
        assert_eq!(
            err(
                vec![script(move |_| spoil.apply(error_rejection()))],
                |_| {}
            ),
            spoil.refusal(true)
        );

        // A certificate response whose one response is a rejection.
        let (result, _, warnings) = enroll_warned(
            config(lenient),
            vec![script(move |_| spoil.apply(ip_rejection()))],
        );
        assert_eq!(
            result.expect_err("refused").to_string(),
            "server rejected the request: rejection (badPOP) \"popo missing subject\""
        );
        assert_eq!(
            warnings,
            [tolerated(
                "a certificate response with status rejection",
                spoil
            )]
        );
        assert_eq!(
            err(vec![script(move |_| spoil.apply(ip_rejection()))], |_| {}),
            spoil.refusal(false)
        );

        // An rp with status rejection.
        let rejected = move |_: &PkiMessage| {
            spoil.apply(rp(PkiStatusInfo::rejection(
                [FailureBit::NotAuthorized],
                None,
            )))
        };
        let (result, warnings) = revoke(lenient, rejected);
        let e = result.expect_err("refused");
        assert_eq!(
            (e.exit_code(), e.to_string()),
            (
                5,
                "server rejected the request: rejection (notAuthorized)".into()
            )
        );
        assert_eq!(warnings, [tolerated("an rp with status rejection", spoil)]);
        let (result, _) = revoke(|_| {}, rejected);
        assert_eq!(
            result.expect_err("refused").to_string(),
            spoil.refusal(false)
        );

        // A pkiConf: the enrollment succeeds, the confirmation unauthenticated.
        let (result, _, warnings) = enroll_warned(
            config(lenient),
            vec![
                script(|_| ip_granted()),
                script(move |_| spoil.apply(pkiconf())),
            ],
        );
        result.expect("enrolled");
        assert_eq!(warnings, [tolerated("a pkiConf", spoil)]);
        assert_eq!(
            err(
                vec![
                    script(|_| ip_granted()),
                    script(move |_| spoil.apply(pkiconf()))
                ],
                |_| {}
            ),
            spoil.refusal(false)
        );
    }
}

#[test]
fn a_positive_answer_is_never_accepted_without_valid_protection() {
    for spoil in [Spoil::Missing, Spoil::WrongSecret] {
        assert_eq!(
            err(vec![script(move |_| spoil.apply(ip_granted()))], lenient),
            spoil.refusal(false),
            "{spoil:?} ip"
        );
        let (result, warnings) =
            revoke(lenient, move |_| spoil.apply(rp(PkiStatusInfo::accepted())));
        assert_eq!(
            result.expect_err("rp").to_string(),
            spoil.refusal(false),
            "{spoil:?} rp"
        );
        assert!(warnings.is_empty());
        let genm = GeneralMessage::new(
            config(lenient),
            vec![InfoTypeAndValue::request(cmp_core::asn1::oid::IT_CA_CERTS)],
        )
        .expect("genm");
        let (result, _) = one_round(
            genm,
            vec![script(move |_| {
                spoil.apply(Answer::body(PkiBody::Genp(vec![])))
            })],
        );
        assert_eq!(
            result.expect_err("genp").to_string(),
            spoil.refusal(false),
            "{spoil:?} genp"
        );
    }
}

#[test]
fn a_tolerated_answer_still_has_its_transaction_id_and_nonce_checked() {
    let unprotected = || Spoil::Missing.apply(error_rejection());
    let e = err(
        vec![script(move |_| {
            unprotected().tweak(|m| m.header.transaction_id = Some(vec![7; 16].into()))
        })],
        lenient,
    );
    assert!(
        e.starts_with(&format!(
            "{CHECK}transactionID 07070707070707070707070707070707 does not match ours ("
        )),
        "{e}"
    );
    let e = err(
        vec![script(move |_| {
            unprotected().tweak(|m| m.header.recip_nonce = Some(vec![8; 16].into()))
        })],
        lenient,
    );
    assert!(
        e.starts_with(&format!(
            "{CHECK}recipNonce 08080808080808080808080808080808 does not match our senderNonce ("
        )),
        "{e}"
    );
}

#[test]
fn checks_run_in_openssls_order_with_the_body_type_last() {
    // A cp for our ir, with a foreign transactionID: the ID check comes first.
    let cp = || {
        Answer::body(PkiBody::Cp(rep(
            0,
            PkiStatusInfo::accepted(),
            Some(new_cert()),
        )))
    };
    let e = err(
        vec![script(move |_| {
            cp().tweak(|m| m.header.transaction_id = Some(vec![7; 16].into()))
        })],
        |_| {},
    );
    assert!(e.starts_with(&format!("{CHECK}transactionID 0707")), "{e}");
    // ... then the recipNonce ...
    let e = err(
        vec![script(move |_| {
            cp().tweak(|m| m.header.recip_nonce = Some(vec![8; 16].into()))
        })],
        |_| {},
    );
    assert!(e.starts_with(&format!("{CHECK}recipNonce 0808")), "{e}");
    // ... and only then the body type.
    assert_eq!(
        err(vec![script(move |_| cp())], |_| {}),
        format!("{CHECK}unexpected cp response, expected ip")
    );
    // pvno comes before the IDs.
    assert_eq!(
        err(
            vec![script(move |_| cp().tweak(|m| {
                m.header.pvno = 5;
                m.header.transaction_id = Some(vec![7; 16].into());
            }))],
            |_| {}
        ),
        format!("{CHECK}unsupported pvno 5 (2 or 3 expected)")
    );
}

fn trusting_ca(c: &mut TransactionConfig) {
    c.trust.trusted = vec![pki_cert("ca")];
}

fn signed(a: Answer) -> Answer {
    a.signed_by(pki_key("server"), pki_cert("server"))
}

#[test]
fn the_signer_that_verified_lasts_the_transaction() {
    // The pkiConf carries no extraCerts: the server certificate that verified the ip does.
    let (result, _, _) = enroll(
        config(trusting_ca),
        vec![
            script(|_| signed(ip_granted())),
            script(|_| signed(pkiconf()).tweak(|m| m.extra_certs = None)),
        ],
    );
    result.expect("the pkiConf verifies with the ip's signer");
    // Without it (a MAC-protected ip), the same pkiConf has no signer to be checked with.
    assert_eq!(
        err(
            vec![
                script(|_| ip_granted()),
                script(|_| signed(pkiconf()).tweak(|m| m.extra_certs = None)),
            ],
            trusting_ca
        ),
        format!(
            "{CHECK}no certificate in extraCerts, untrusted or trusted matches the sender \"O=cmp-rs test PKI,CN=CMP Test Server\" and senderKID 8a9f9e46634a7dc8b267e9be7e18bb510ecd3e56"
        )
    );
}

#[test]
fn extra_certs_of_an_authenticated_response_help_verify_the_later_ones() {
    let waiting = |with_server_cert: bool| {
        move |_: &PkiMessage| {
            Answer::body(PkiBody::Ip(rep(
                0,
                PkiStatusInfo::with_status(PkiStatus::WAITING),
                None,
            )))
            .tweak(move |m| {
                if with_server_cert {
                    m.extra_certs = Some(vec![pki_cert("server")]);
                }
            })
        }
    };
    let final_ip = || signed(ip_granted()).tweak(|m| m.extra_certs = None);
    let (result, _, _) = enroll(
        config(trusting_ca),
        vec![
            script(waiting(true)),
            script(move |_| final_ip()),
            script(|_| pkiconf()),
        ],
    );
    result.expect("the signer came with the MAC-protected waiting ip");
    assert!(
        err(
            vec![script(waiting(false)), script(move |_| final_ip())],
            trusting_ca
        )
        .starts_with(&format!("{CHECK}no certificate in extraCerts")),
    );
}

/// Certificates for signer selection, made by `openssl ca` with the test CA.
struct Candidates {
    /// Same subject as the server, another key.
    other_key: CmpCertificate,
    /// The server's key and subject, but no subjectKeyIdentifier.
    no_ski: CmpCertificate,
    /// The server's key and subject, valid only in 2020.
    expired: CmpCertificate,
}

fn candidates(label: &str) -> Candidates {
    let ca = OpensslCa::test_ca(label);
    let server_key = PathBuf::from(fixtures::pki("server-key.pem"));
    let subject = "/CN=CMP Test Server/O=cmp-rs test PKI";
    let other = ca.new_key("other");
    Candidates {
        other_key: read_pem_cert(&ca.issue("other", &other, subject, "ee", None)),
        no_ski: read_pem_cert(&ca.issue("noski", &server_key, subject, "ee_no_ski", None)),
        expired: read_pem_cert(&ca.issue(
            "expired",
            &server_key,
            subject,
            "ee",
            Some(("20200101000000Z", "20210101000000Z")),
        )),
    }
}

/// A signed ip with the given extraCerts (and senderKID, `None` to leave it out).
fn ip_with(extra: Vec<CmpCertificate>, kid: Option<Vec<u8>>) -> Answer {
    signed(ip_granted()).tweak(move |m| {
        m.extra_certs = Some(extra);
        m.header.sender_kid = kid.map(Into::into);
    })
}

#[test]
fn every_candidate_signer_is_tried_and_only_the_right_one_verifies() {
    let c = candidates("signer-candidates-1");
    let server = pki_cert("server");
    // Two certificates with the sender's name, no senderKID: the first does not verify.
    for extra in [
        vec![c.other_key.clone(), server.clone()],
        vec![server.clone(), c.other_key.clone()],
    ] {
        let (result, _, _) = enroll(
            config(trusting_ca),
            vec![
                script(move |_| ip_with(extra.clone(), None)),
                script(|_| signed(pkiconf())),
            ],
        );
        result.expect("the second candidate verifies");
    }
    // Only the wrong one: its signature fails.
    let other = c.other_key.clone();
    assert_eq!(
        err(
            vec![script(move |_| ip_with(vec![other.clone()], None))],
            trusting_ca
        ),
        format!(
            "{CHECK}invalid protection: the signature does not verify with the key of O=cmp-rs test PKI,CN=CMP Test Server"
        )
    );
}

#[test]
fn with_a_sender_kid_the_candidate_needs_an_equal_subject_key_identifier() {
    let c = candidates("signer-candidates-2");
    let kid = pki_cert("server").subject_key_identifier().expect("ski");
    // The certificate without SKI holds the right key, yet cannot match the senderKID.
    let no_ski = c.no_ski.clone();
    let k = kid.clone();
    assert_eq!(
        err(
            vec![script(move |_| ip_with(
                vec![no_ski.clone()],
                Some(k.clone())
            ))],
            trusting_ca
        ),
        format!(
            "{CHECK}no certificate in extraCerts, untrusted or trusted matches the sender \"O=cmp-rs test PKI,CN=CMP Test Server\" and senderKID {}",
            hex::encode(&kid)
        )
    );
    // Without senderKID it is a fine candidate.
    let no_ski = c.no_ski.clone();
    let (result, _, _) = enroll(
        config(trusting_ca),
        vec![
            script(move |_| ip_with(vec![no_ski.clone()], None)),
            script(|_| signed(pkiconf())),
        ],
    );
    result.expect("no senderKID: matched by name");
}

#[test]
fn candidates_outside_their_validity_are_skipped() {
    let c = candidates("signer-candidates-3");
    let server = pki_cert("server");
    let extra = vec![c.expired.clone(), server];
    let (result, _, _) = enroll(
        config(trusting_ca),
        vec![
            script(move |_| ip_with(extra.clone(), None)),
            script(|_| signed(pkiconf())),
        ],
    );
    result.expect("the expired candidate is skipped");
    let expired = c.expired.clone();
    assert_eq!(
        err(
            vec![script(move |_| ip_with(vec![expired.clone()], None))],
            trusting_ca
        ),
        format!(
            "{CHECK}the certificate matching the sender, O=cmp-rs test PKI,CN=CMP Test Server, is not valid now (valid from 2020-01-01 00:00:00 UTC to 2021-01-01 00:00:00 UTC)"
        )
    );
}

#[test]
fn a_signed_response_must_name_its_sender() {
    for (sender, shown) in [
        (null_dn(), ""),
        (
            GeneralName::DnsName("ca.example".to_owned().try_into().expect("ia5")),
            "DNS:ca.example",
        ),
    ] {
        let s = sender.clone();
        assert_eq!(
            err(
                vec![script(move |_| {
                    let s = s.clone();
                    signed(ip_granted()).tweak(move |m| m.header.sender = s)
                })],
                trusting_ca
            ),
            format!(
                "{CHECK}the response is signed, but its sender {shown:?} is not a name (a directoryName other than the NULL-DN)"
            )
        );
    }
}

/// A script that remembers the senderNonce of the first request it sees.
fn remembering(
    first: &Arc<Mutex<Option<Vec<u8>>>>,
    answer: impl Fn() -> Answer + Send + 'static,
) -> cmp_tests::mock_ca::Script {
    let first = Arc::clone(first);
    script(move |m| {
        *first.lock().expect("lock") = m.header.sender_nonce.as_ref().map(|n| n.to_vec());
        answer()
    })
}

/// A script whose answer carries the first request's senderNonce as recipNonce.
fn answering_first(
    first: &Arc<Mutex<Option<Vec<u8>>>>,
    answer: impl Fn() -> Answer + Send + 'static,
) -> cmp_tests::mock_ca::Script {
    let first = Arc::clone(first);
    script(move |_| {
        let nonce = first.lock().expect("lock").clone();
        answer().tweak(move |m| m.header.recip_nonce = nonce.map(Into::into))
    })
}

fn poll_rep() -> Answer {
    Answer::body(PkiBody::PollRep(vec![PollRep {
        cert_req_id: Integer::from(0),
        check_after: Integer::from(1),
        reason: None,
    }]))
}

fn waiting_ip() -> Answer {
    Answer::body(PkiBody::Ip(rep(
        0,
        PkiStatusInfo::with_status(PkiStatus::WAITING),
        None,
    )))
}

fn waiting_error() -> Answer {
    Answer::body(PkiBody::Error(ErrorMsgContent {
        pki_status_info: PkiStatusInfo::with_status(PkiStatus::WAITING),
        error_code: None,
        error_details: None,
    }))
}

#[test]
fn polling_answers_the_latest_nonce_and_only_delayed_delivery_the_first() {
    let nonce_error = |e: String| e.starts_with(&format!("{CHECK}recipNonce "));
    // Ordinary polling: a pollRep answering the first request's nonce is refused …
    let first = Arc::new(Mutex::new(None));
    let e = err(
        vec![
            remembering(&first, waiting_ip),
            script(|_| poll_rep()),
            answering_first(&first, poll_rep),
        ],
        |_| {},
    );
    assert!(nonce_error(e.clone()), "{e}");
    // … and so is the final ip.
    let first = Arc::new(Mutex::new(None));
    let e = err(
        vec![
            remembering(&first, waiting_ip),
            answering_first(&first, ip_granted),
        ],
        |_| {},
    );
    assert!(nonce_error(e.clone()), "{e}");
    // Delivery delayed by an error/waiting: the final ip may answer the first nonce …
    let first = Arc::new(Mutex::new(None));
    let (result, _, _) = enroll(
        config(|_| {}),
        vec![
            remembering(&first, waiting_error),
            answering_first(&first, ip_granted),
            script(|_| pkiconf()),
        ],
    );
    result.expect("delayed delivery");
    // … but a pollRep must still answer the latest.
    let first = Arc::new(Mutex::new(None));
    let e = err(
        vec![
            remembering(&first, waiting_error),
            answering_first(&first, poll_rep),
        ],
        |_| {},
    );
    assert!(nonce_error(e.clone()), "{e}");
}

#[test]
fn a_revoked_signer_and_a_revoked_issued_certificate_are_refused_with_crl_checking() {
    let ca = OpensslCa::test_ca("crl-client");
    ca.revoke(
        &PathBuf::from(fixtures::pki("server-cert.pem")),
        "keyCompromise",
    );
    ca.revoke(&PathBuf::from(fixtures::pki("new-cert.pem")), "superseded");
    let crl = read_pem_crl(&ca.crl("client", None));
    let crl_checking = move |c: &mut TransactionConfig| {
        c.trust.trusted = vec![pki_cert("ca")];
        c.trust.path_policy = PathPolicy {
            revocation: RevocationCheck::EndEntity,
            crls: vec![crl],
            ..PathPolicy::default()
        };
    };
    assert_eq!(
        err(vec![script(|_| signed(ip_granted()))], crl_checking.clone()),
        format!(
            "{CHECK}the signer certificate O=cmp-rs test PKI,CN=CMP Test Server is not trusted: certificate path does not validate: the certificate O=cmp-rs test PKI,CN=CMP Test Server (serial 4097) is revoked (listed in the CRL of O=cmp-rs test PKI,CN=CMP Test CA)"
        )
    );
    // MAC-protected, the issued certificate's path (out-trusted) is checked too: refused by
    // certConf.
    let (result, ca_seen, _) = enroll(
        config(move |c| {
            crl_checking(c);
            c.out_trusted = vec![pki_cert("ca")];
        }),
        vec![script(|_| ip_granted()), script(|_| pkiconf())],
    );
    assert_eq!(
        result.expect_err("refused").to_string(),
        "the issued certificate was refused (it does not chain to the out-trusted anchors: certificate path does not validate: the certificate O=cmp-rs test PKI,CN=CMP Test Device (serial 12289) is revoked (listed in the CRL of O=cmp-rs test PKI,CN=CMP Test CA)); certConf reported incorrectData to the server"
    );
    let bodies: Vec<&str> = ca_seen
        .requests
        .lock()
        .expect("lock")
        .iter()
        .map(|m| m.body.name())
        .collect();
    assert_eq!(bodies, ["ir", "certConf"]);
}

#[test]
fn the_driver_takes_its_time_from_its_clock() {
    use cmp_core::clock::OffsetClock;
    use cmp_core::transaction::Enrollment;
    let run = |clock: OffsetClock| {
        let key = cmp_tests::enroll_rig::new_key();
        let ca = MockCa::new(vec![
            script(|_| signed(ip_granted())),
            script(|_| signed(pkiconf())),
        ]);
        let sleep = RecordingSleep::default();
        let mut tx = Enrollment::new(config(trusting_ca), cmp_tests::enroll_rig::request(&key))
            .expect("transaction");
        let mut driver = Driver::new(&ca, &sleep).clock(&clock);
        block_on(driver.run(
            &mut tx,
            Keys {
                protection: None,
                new_key: Some(&key),
            },
        ))
        .map(|_| ())
        .map_err(|e| e.to_string())
    };
    run(OffsetClock { offset_secs: 0 }).expect("now");
    // In 2060 the server's certificate (valid until 2048) is no signer any more.
    let years = |n: i64| n * 365 * 86_400;
    let now_year = 1970
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs() as i64
            / years(1);
    let server = pki_cert("server");
    assert_eq!(
        run(OffsetClock {
            offset_secs: years(2060 - now_year)
        }),
        Err(format!(
            "{CHECK}the certificate matching the sender, O=cmp-rs test PKI,CN=CMP Test Server, is not valid now (valid from {} to {})",
            cmp_core::asn1::format_unix(server.not_before_unix()),
            cmp_core::asn1::format_unix(server.not_after_unix())
        ))
    );
}
