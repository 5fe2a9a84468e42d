//! Whole transactions, client machine ↔ server machine ↔ built-in CA, in memory at a fixed
//! time: ir with PBM and with a signature, cr, kur, p10cr, rr, genm caCerts.

mod common;

use cmp_core::crypto::PrivateKeyExt;
use std::sync::Arc;

use cmp_core::asn1::{
    CmpCertificate, InfoTypeAndValue, InfoValue, PkiBody, PkiStatus, ReceivedMessage, oid,
};
use cmp_core::crypto::{PrivateKey, SignatureAlgorithm};
use cmp_core::names::{names_equal, parse_name};
use cmp_core::protection::{MacLimits, ProtectionAlg, verify_mac};
use cmp_core::server::{Issuer, TransactionState, TransactionStore};
use cmp_core::transaction::{
    Enrolled, Enrollment, EnrollmentKind, EnrollmentRequest, GeneralMessage, PopoMethod,
    Revocation, TransactionConfig,
};
use common::*;
use rasn_pkix::GeneralName;

fn enroll(
    pki: &Pki,
    config: TransactionConfig,
    req: EnrollmentRequest,
    keys: ClientKeys<'_>,
) -> (Enrolled, Vec<Exchanged>) {
    let (result, log) = enroll_with(pki, config, req, keys);
    (result.expect("enrolled"), log)
}

/// A PBM enrollment of `kind` for a new key, the client configured by `tweak`.
fn mac_enroll(
    pki: &Pki,
    kind: EnrollmentKind,
    tweak: impl FnOnce(&mut TransactionConfig),
) -> (Arc<dyn PrivateKey>, Enrolled, Vec<Exchanged>) {
    let key = new_key();
    let mut config = pki.mac_client();
    tweak(&mut config);
    let keys = ClientKeys {
        protection: None,
        pop: Some(key.as_ref()),
    };
    let (enrolled, log) = enroll(pki, config, request(kind, key.as_ref()), keys);
    (key, enrolled, log)
}

/// The certificate is the CA's, for `key`, with the test subject.
fn assert_issued_for(pki: &Pki, cert: &CmpCertificate, key: &dyn PrivateKey) {
    assert!(key.matches_public_key(cert.subject_public_key_info()));
    assert!(names_equal(
        cert.subject(),
        &parse_name(SUBJECT).expect("dn")
    ));
    assert!(names_equal(cert.issuer(), pki.ca.ca_cert().subject()));
    assert!(cert.is_signed_by(
        pki.ca.ca_cert().subject_public_key_info(),
        pki.primitives.as_ref()
    ));
}

#[test]
fn ir_with_pbm_ends_in_certconf_and_pkiconf() {
    let pki = Pki::new(|_| {});
    let (key, enrolled, log) = mac_enroll(&pki, EnrollmentKind::Ir, |_| {});
    assert_eq!(flow(&log), ["ir→ip", "certConf→pkiconf"]);
    assert_issued_for(&pki, &enrolled.certificate, key.as_ref());
    assert!(!enrolled.implicitly_confirmed);
    assert_eq!(enrolled.status, PkiStatus::ACCEPTED);
    // The ip carries the CA certificate in extraCerts.
    assert_eq!(enrolled.extra_certs, vec![pki.ca.ca_cert().clone()]);
    // Responses are MAC-protected with the key that verified the request: the request's
    // algorithm and parameters, its salt included (no second derivation).
    for (req, resp) in &log {
        let req = ReceivedMessage::decode(req).expect("request");
        let resp = ReceivedMessage::decode(resp).expect("response");
        verify_mac(
            &resp,
            SECRET,
            &MacLimits::default(),
            pki.primitives.as_ref(),
        )
        .expect("MAC with the client's secret");
        let alg = |m: &ReceivedMessage| {
            ProtectionAlg::parse(
                m.message().header.protection_alg.as_ref().expect("alg"),
                &MacLimits::default(),
            )
            .expect("parses")
        };
        let (
            ProtectionAlg::PasswordBasedMac {
                salt: s1,
                owf: o1,
                iterations: i1,
                mac: m1,
            },
            ProtectionAlg::PasswordBasedMac {
                salt: s2,
                owf: o2,
                iterations: i2,
                mac: m2,
            },
        ) = (alg(&req), alg(&resp))
        else {
            panic!("PBM both ways")
        };
        assert_eq!((o1, i1, m1, s1), (o2, i2, m2, s2));
        assert_eq!(
            req.message().header.protection_alg,
            resp.message().header.protection_alg,
            "the request's protectionAlg, byte for byte"
        );
        assert_eq!(resp.message().header.sender_kid.as_deref(), Some(REFERENCE));
    }
    // The transaction is closed in the store.
    let tid = decode(&log[0].0).header.transaction_id.expect("tid");
    let record = pki.store.load(&tid, now()).expect("load").expect("record");
    assert_eq!(record.state, TransactionState::Closed);
}

#[test]
fn implicit_confirmation_only_when_granted() {
    let pki = Pki::new(|c| c.grant_implicit_confirm = true);
    let (_, enrolled, log) = mac_enroll(&pki, EnrollmentKind::Ir, |c| c.implicit_confirm = true);
    assert_eq!(flow(&log), ["ir→ip"]);
    assert!(enrolled.implicitly_confirmed);
    // Not granted (the default): certConf as usual.
    let pki = Pki::new(|_| {});
    let (_, enrolled, log) = mac_enroll(&pki, EnrollmentKind::Ir, |c| c.implicit_confirm = true);
    assert_eq!(flow(&log), ["ir→ip", "certConf→pkiconf"]);
    assert!(!enrolled.implicitly_confirmed);
}

#[test]
fn ir_signed_with_a_vendor_certificate() {
    let pki = Pki::new(|_| {});
    let key = new_key();
    let (enrolled, log) = enroll(
        &pki,
        pki.client(signature_credentials(&pki.vendor_cert)),
        request(EnrollmentKind::Ir, key.as_ref()),
        ClientKeys {
            protection: Some(pki.vendor_key.as_ref()),
            pop: Some(key.as_ref()),
        },
    );
    assert_eq!(flow(&log), ["ir→ip", "certConf→pkiconf"]);
    assert_issued_for(&pki, &enrolled.certificate, key.as_ref());
    // Signed by the CA, whose certificate comes first in extraCerts.
    for (_, resp) in &log {
        let resp = decode(resp);
        assert_eq!(
            resp.header.protection_alg,
            Some(SignatureAlgorithm::EcdsaSha256.algorithm_identifier())
        );
        assert_eq!(
            resp.extra_certs.as_deref().and_then(|c| c.first()),
            Some(pki.ca.ca_cert())
        );
        assert_eq!(
            resp.header.sender,
            GeneralName::DirectoryName(pki.ca.ca_cert().subject().clone())
        );
    }
}

#[test]
fn cr_signed_with_a_certificate_of_this_ca() {
    let pki = Pki::new(|_| {});
    let old_key = new_key();
    let old = pki.issue(SUBJECT, old_key.as_ref());
    let key = new_key();
    let (enrolled, log) = enroll(
        &pki,
        pki.client(signature_credentials(&old)),
        request(EnrollmentKind::Cr, key.as_ref()),
        ClientKeys {
            protection: Some(old_key.as_ref()),
            pop: Some(key.as_ref()),
        },
    );
    assert_eq!(flow(&log), ["cr→cp", "certConf→pkiconf"]);
    assert_issued_for(&pki, &enrolled.certificate, key.as_ref());
}

#[test]
fn kur_signed_with_the_old_certificate() {
    let pki = Pki::new(|_| {});
    let old_key = new_key();
    let old = pki.issue(SUBJECT, old_key.as_ref());
    let key = new_key();
    let mut req = request(EnrollmentKind::Kur, key.as_ref());
    req.controls = Some(vec![old_cert_id(&old)]);
    let (enrolled, log) = enroll(
        &pki,
        pki.client(signature_credentials(&old)),
        req,
        ClientKeys {
            protection: Some(old_key.as_ref()),
            pop: Some(key.as_ref()),
        },
    );
    assert_eq!(flow(&log), ["kur→kup", "certConf→pkiconf"]);
    assert_issued_for(&pki, &enrolled.certificate, key.as_ref());
    assert_ne!(enrolled.certificate.serial_number(), old.serial_number());
}

#[test]
fn p10cr_with_the_fixture_csr() {
    let pki = Pki::new(|_| {});
    let csr =
        cmp_core::asn1::Pkcs10Request::from_der(&cmp_tests::fixtures::read("pki/new.csr.der"))
            .expect("csr");
    let csr_key = csr
        .value()
        .certification_request_info
        .subject_pk_info
        .clone();
    let req = EnrollmentRequest {
        kind: EnrollmentKind::P10cr,
        template: Default::default(),
        public_key: None,
        popo: PopoMethod::None,
        controls: None,
        csr: Some(csr.clone()),
    };
    let (enrolled, log) = enroll(
        &pki,
        pki.mac_client(),
        req,
        ClientKeys {
            protection: None,
            pop: None,
        },
    );
    assert_eq!(flow(&log), ["p10cr→cp", "certConf→pkiconf"]);
    assert_eq!(enrolled.certificate.subject_public_key_info(), &csr_key);
    assert!(names_equal(
        enrolled.certificate.subject(),
        &csr.value().certification_request_info.subject
    ));
    // certReqId -1 in the cp and in the certConf.
    let PkiBody::Cp(cp) = decode(&log[0].1).body else {
        panic!("cp")
    };
    assert_eq!(cp.response[0].cert_req_id, (-1).into());
}

#[test]
fn rr_by_the_holder_then_the_revoked_certificate_authenticates_nothing() {
    let pki = Pki::new(|_| {});
    let key = new_key();
    let cert = pki.issue(SUBJECT, key.as_ref());
    let keys = ClientKeys {
        protection: Some(key.as_ref()),
        pop: None,
    };
    let config = Arc::new(pki.client(signature_credentials(&cert)));
    let mut tx = Revocation::new(config.clone(), cert.clone(), None).expect("rr");
    let (result, log) = drive(&pki, &mut tx, keys, |r| r);
    assert_eq!(result.expect("revoked"), PkiStatus::ACCEPTED);
    assert_eq!(flow(&log), ["rr→rp"]);
    let serial =
        cmp_core::der::Reader::new(&rasn::der::encode(cert.serial_number()).expect("der"), 0)
            .read()
            .expect("tlv")
            .value
            .to_vec();
    let record = cmp_tests::run::block_on(pki.ca.certificate(&serial))
        .expect("lookup")
        .expect("known");
    assert_eq!(record.revoked_at, Some(now()));
    // The holder's certificate is revoked now: it authenticates nothing any more.
    let mut tx = Revocation::new(config.clone(), cert.clone(), None).expect("rr");
    let (result, _) = drive(&pki, &mut tx, keys, |r| r);
    assert_refused(
        result.expect_err("revoked"),
        "error",
        cmp_core::asn1::FailureBit::CertRevoked,
        "the request is signed with a revoked certificate",
    );
    let new = new_key();
    let mut tx = Enrollment::new(config, request(EnrollmentKind::Cr, new.as_ref())).expect("cr");
    let keys = ClientKeys {
        protection: Some(key.as_ref()),
        pop: Some(new.as_ref()),
    };
    let (result, log) = drive(&pki, &mut tx, keys, |r| r);
    assert_refused(
        result.expect_err("revoked"),
        "error",
        cmp_core::asn1::FailureBit::CertRevoked,
        "the request is signed with a revoked certificate",
    );
    assert_eq!(flow(&log), ["cr→error"]);
}

#[test]
fn genm_ca_certs() {
    let pki = Pki::new(|_| {});
    let itavs = vec![InfoTypeAndValue::request(oid::IT_CA_CERTS)];
    let mut tx = GeneralMessage::new(Arc::new(pki.mac_client()), itavs).expect("genm");
    let (result, log) = drive(
        &pki,
        &mut tx,
        ClientKeys {
            protection: None,
            pop: None,
        },
        |r| r,
    );
    assert_eq!(flow(&log), ["genm→genp"]);
    let answer = result.expect("genp");
    assert_eq!(answer.len(), 1);
    assert_eq!(
        answer[0].value().expect("decodes"),
        InfoValue::CaCerts(Some(vec![pki.ca.ca_cert().clone()]))
    );
}

#[test]
fn ccr_gets_ccp() {
    let pki = Pki::new(|_| {});
    let (key, enrolled, log) = mac_enroll(&pki, EnrollmentKind::Ccr, |_| {});
    assert_eq!(flow(&log), ["ccr→ccp", "certConf→pkiconf"]);
    assert_issued_for(&pki, &enrolled.certificate, key.as_ref());
}

#[test]
fn ir_with_pbmac1_is_answered_with_pbmac1() {
    let pki = Pki::new(|_| {});
    let (_, _, log) = mac_enroll(&pki, EnrollmentKind::Ir, |c| {
        c.credentials = cmp_core::transaction::Credentials::Mac {
            secret: SECRET.to_vec().into(),
            reference: REFERENCE.to_vec(),
            settings: cmp_core::protection::MacSettings::Pbmac1 {
                prf: cmp_core::crypto::DigestAlgorithm::Sha256,
                mac: cmp_core::crypto::DigestAlgorithm::Sha512,
                iterations: 1_500,
                salt_len: 20,
                key_len: 32,
            },
        }
    });
    assert_eq!(flow(&log), ["ir→ip", "certConf→pkiconf"]);
    for (_, resp) in &log {
        let resp = decode(resp);
        let alg = ProtectionAlg::parse(
            resp.header.protection_alg.as_ref().expect("alg"),
            &MacLimits::default(),
        )
        .expect("parses");
        let ProtectionAlg::Pbmac1 {
            salt,
            iterations,
            key_len,
            prf,
            mac,
        } = alg
        else {
            panic!("PBMAC1")
        };
        assert_eq!(
            (salt.len(), iterations, key_len, prf, mac),
            (
                20,
                1_500,
                32,
                cmp_core::crypto::DigestAlgorithm::Sha256,
                cmp_core::crypto::DigestAlgorithm::Sha512
            )
        );
    }
}

#[test]
fn mac_requests_get_signed_responses_when_so_configured() {
    let pki = Pki::new(|c| c.response_protection = cmp_core::server::ResponseProtection::Signature);
    let (key, enrolled, log) = mac_enroll(&pki, EnrollmentKind::Ir, |_| {});
    assert_issued_for(&pki, &enrolled.certificate, key.as_ref());
    for (_, resp) in &log {
        assert_eq!(
            decode(resp).header.protection_alg,
            Some(SignatureAlgorithm::EcdsaSha256.algorithm_identifier())
        );
    }
}

#[test]
fn unprotected_requests_only_when_accepted() {
    for accept in [false, true] {
        let pki = Pki::new(|c| c.accept_unprotected = accept);
        let key = new_key();
        let keys = ClientKeys {
            protection: None,
            pop: Some(key.as_ref()),
        };
        let config = pki.client(cmp_core::transaction::Credentials::None);
        let (result, _) = enroll_with(
            &pki,
            config,
            request(EnrollmentKind::Ir, key.as_ref()),
            keys,
        );
        if accept {
            assert_issued_for(&pki, &result.expect("enrolled").certificate, key.as_ref());
        } else {
            assert_refused(
                result.expect_err("refused"),
                "error",
                cmp_core::asn1::FailureBit::BadMessageCheck,
                "the request is not protected",
            );
        }
    }
}

#[test]
fn ca_pubs_in_the_ip_when_configured_never_in_a_kup() {
    let pki = Pki::new(|c| c.ca_pubs = c.ca_certs.clone());
    let (_, enrolled, _) = mac_enroll(&pki, EnrollmentKind::Ir, |_| {});
    assert_eq!(enrolled.ca_pubs, vec![pki.ca.ca_cert().clone()]);
    let old_key = new_key();
    let old = pki.issue(SUBJECT, old_key.as_ref());
    let key = new_key();
    let (_, log) = enroll(
        &pki,
        pki.client(signature_credentials(&old)),
        request(EnrollmentKind::Kur, key.as_ref()),
        ClientKeys {
            protection: Some(old_key.as_ref()),
            pop: Some(key.as_ref()),
        },
    );
    let PkiBody::Kup(kup) = decode(&log[0].1).body else {
        panic!("kup")
    };
    assert_eq!(kup.ca_pubs, None);
}
