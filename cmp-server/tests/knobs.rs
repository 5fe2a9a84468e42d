//! The test knobs (OpenSSL mock-server style): forced status of certificate responses, an
//! error for every request, unprotected responses or unprotected negative responses.

mod common;

use std::sync::Arc;

use cmp_core::asn1::{FailureBit, PkiBody, PkiStatus};
use cmp_core::server::{ForcedStatus, TestKnobs};
use cmp_core::transaction::{Enrollment, EnrollmentKind};
use common::*;

fn knobs(set: impl FnOnce(&mut TestKnobs)) -> Pki {
    Pki::new(|c| set(&mut c.test))
}

fn mac_ir(
    pki: &Pki,
) -> (
    Result<cmp_core::transaction::Enrolled, cmp_core::ClientError>,
    Vec<Exchanged>,
) {
    let key = new_key();
    let keys = ClientKeys {
        protection: None,
        pop: Some(key.as_ref()),
    };
    enroll_with(
        pki,
        pki.mac_client(),
        request(EnrollmentKind::Ir, key.as_ref()),
        keys,
    )
}

/// The ir's raw response.
fn raw_ip(pki: &Pki) -> Vec<u8> {
    let key = new_key();
    let mut tx = Enrollment::new(
        Arc::new(pki.mac_client()),
        request(EnrollmentKind::Ir, key.as_ref()),
    )
    .expect("tx");
    let ir = signed_first_request(&mut tx, &*key);
    pki.send(&ir)
}

#[test]
fn send_error_answers_every_request_with_bad_request() {
    let pki = knobs(|k| k.send_error = true);
    let (result, log) = mac_ir(&pki);
    assert_refused(
        result.expect_err("refused"),
        "error",
        FailureBit::BadRequest,
        "this server answers every request with an error (--send-error)",
    );
    assert_eq!(flow(&log), ["ir→error"]);
    assert!(pki.store.is_empty(), "nothing stored");
}

#[test]
fn a_forced_rejection_issues_nothing() {
    let pki = knobs(|k| {
        k.cert_status = Some(ForcedStatus {
            status: PkiStatus::REJECTION,
            fail_info: vec![FailureBit::BadPop],
            text: Some("forced by the test".into()),
        })
    });
    let (result, log) = mac_ir(&pki);
    assert_refused(
        result.expect_err("refused"),
        "ip",
        FailureBit::BadPop,
        "forced by the test",
    );
    assert_eq!(flow(&log)[0], "ir→ip");
    assert!(
        pki.ca.store().list(10).expect("list").is_empty(),
        "no certificate issued"
    );
}

#[test]
fn a_forced_granted_with_mods_carries_the_status_and_text() {
    let pki = knobs(|k| {
        k.cert_status = Some(ForcedStatus {
            status: PkiStatus::GRANTED_WITH_MODS,
            fail_info: Vec::new(),
            text: Some("your name was shortened".into()),
        })
    });
    let (result, log) = mac_ir(&pki);
    let enrolled = result.expect("enrolled");
    assert_eq!(enrolled.status, PkiStatus::GRANTED_WITH_MODS);
    assert_eq!(flow(&log), ["ir→ip", "certConf→pkiconf"]);
    let PkiBody::Ip(ip) = decode(&log[0].1).body else {
        panic!("ip")
    };
    assert_eq!(
        ip.response[0].status.text().as_deref(),
        Some("your name was shortened")
    );
    assert_eq!(ip.response[0].status.fail_info, None);
}

#[test]
fn send_unprotected_leaves_every_response_unprotected() {
    let pki = knobs(|k| k.send_unprotected = true);
    let ip = decode(&raw_ip(&pki));
    assert!(matches!(ip.body, PkiBody::Ip(_)));
    assert!(ip.protection.is_none() && ip.header.protection_alg.is_none());
    // Our client refuses it.
    let (result, _) = mac_ir(&pki);
    assert_eq!(
        result.expect_err("refused").to_string(),
        "the response failed a check: the response is not protected"
    );
}

#[test]
fn send_unprot_err_leaves_only_negative_responses_unprotected() {
    let pki = knobs(|k| k.send_unprotected_errors = true);
    let ip = decode(&raw_ip(&pki));
    assert!(ip.protection.is_some(), "a positive ip is protected");
    // A wrong secret: the error message goes out unprotected.
    let key = new_key();
    let keys = ClientKeys {
        protection: None,
        pop: Some(key.as_ref()),
    };
    let (_, log) = enroll_with(
        &pki,
        pki.client(mac_credentials(b"not the secret")),
        request(EnrollmentKind::Ir, key.as_ref()),
        keys,
    );
    let error = decode(&log[0].1);
    assert!(matches!(error.body, PkiBody::Error(_)));
    assert!(error.protection.is_none() && error.header.protection_alg.is_none());
    // A forced rejection, too.
    let pki = knobs(|k| {
        k.send_unprotected_errors = true;
        k.cert_status = Some(ForcedStatus {
            status: PkiStatus::REJECTION,
            fail_info: vec![FailureBit::BadRequest],
            text: None,
        });
    });
    let ip = decode(&raw_ip(&pki));
    assert!(matches!(ip.body, PkiBody::Ip(_)));
    assert!(ip.protection.is_none(), "the rejection is unprotected");
}

#[test]
fn delayed_delivery_waiting_then_poll_rep_then_the_certificate() {
    let pki = knobs(|k| {
        k.poll_count = 2;
        k.check_after = 7;
    });
    let (result, log) = mac_ir(&pki);
    let enrolled = result.expect("enrolled");
    assert_eq!(enrolled.status, PkiStatus::ACCEPTED);
    assert_eq!(
        flow(&log),
        ["ir→ip", "pollReq→pollRep", "pollReq→ip", "certConf→pkiconf"]
    );
    let PkiBody::Ip(waiting) = decode(&log[0].1).body else {
        panic!("ip")
    };
    assert_eq!(waiting.response[0].status.status, PkiStatus::WAITING);
    assert!(waiting.response[0].certified_key_pair.is_none());
    let PkiBody::PollRep(rep) = decode(&log[1].1).body else {
        panic!("pollRep")
    };
    assert_eq!(rep[0].check_after, 7.into());
    // Without delayed delivery a pollReq is refused.
    let plain = knobs(|_| {});
    let (status, info, text) = {
        let PkiBody::Error(e) = decode(&plain.send(&log[1].0)).body else {
            panic!("error")
        };
        let i = e.pki_status_info;
        (i.status, i.fail_info.clone(), i.text())
    };
    assert_eq!(status, PkiStatus::REJECTION);
    assert_eq!(
        info,
        Some(cmp_core::asn1::PkiFailureInfo::from_bits([
            FailureBit::BadRequest
        ]))
    );
    assert_eq!(
        text.as_deref(),
        Some("pollReq for a transaction this server does not know (or has forgotten)")
    );
}
