//! Per-client policy of the built-in CA: which reference or client certificate may request
//! which subjects, subjectAltNames, key types and validity — each refusal with its exact
//! failInfo and text, as the client machine receives it (a rejection in the ip).

mod common;

use std::sync::Arc;
use std::time::Duration;

use cmp_core::asn1::{FailureBit, oid};
use cmp_core::builder::CertTemplateBuilder;
use cmp_core::crypto::{KeySpec, PrivateKey};
use cmp_core::names::parse_name;
use cmp_core::transaction::{Enrollment, EnrollmentKind, EnrollmentRequest};
use cmp_crypto::software::SoftwareKey;
use cmp_server::{ClientMatch, ClientPolicy, IssuancePolicy};
use common::*;

fn policy(rules: Vec<ClientPolicy>) -> IssuancePolicy {
    IssuancePolicy {
        clients: rules,
        ..IssuancePolicy::default()
    }
}

fn for_ref() -> ClientPolicy {
    ClientPolicy::new(ClientMatch::Reference(REFERENCE.to_vec()))
}

/// An ir for `key` with `subject` and, if given, a dNSName SAN.
fn ir_request(key: &dyn PrivateKey, subject: &str, dns: Option<&str>) -> EnrollmentRequest {
    let mut req = request(EnrollmentKind::Ir, key);
    let mut t = CertTemplateBuilder::new().subject(parse_name(subject).expect("dn"));
    if let Some(d) = dns {
        let names: rasn_pkix::GeneralNames = vec![rasn_pkix::GeneralName::DnsName(
            rasn::types::Ia5String::try_from(d.to_owned()).expect("ia5"),
        )];
        t = t.extension(rasn_pkix::Extension {
            extn_id: oid::CE_SUBJECT_ALT_NAME.to_owned(),
            critical: false,
            extn_value: rasn::der::encode(&names).expect("der").into(),
        });
    }
    req.template = t.build();
    req
}

fn enroll_as(
    pki: &Pki,
    config: cmp_core::transaction::TransactionConfig,
    req: EnrollmentRequest,
    key: &dyn PrivateKey,
    protection: Option<&dyn PrivateKey>,
) -> Result<cmp_core::transaction::Enrolled, cmp_core::ClientError> {
    let mut tx = Enrollment::new(Arc::new(config), req).expect("tx");
    drive(
        pki,
        &mut tx,
        ClientKeys {
            protection,
            pop: Some(key),
        },
        |r| r,
    )
    .0
}

#[test]
fn a_reference_gets_its_subjects_and_is_refused_others_with_not_authorized() {
    let mut rule = for_ref();
    rule.subjects = vec!["CN=Test Device *,O=cmp-rs server tests".into()];
    let pki = Pki::with_policy(policy(vec![rule]), |_| {});
    let key = new_key();
    let ok = enroll_as(
        &pki,
        pki.mac_client(),
        ir_request(key.as_ref(), SUBJECT, None),
        key.as_ref(),
        None,
    )
    .expect("an allowed subject");
    assert_eq!(
        cmp_core::names::format_name(ok.certificate.subject()),
        "CN=Test Device 42,O=cmp-rs server tests"
    );
    let err = enroll_as(
        &pki,
        pki.mac_client(),
        ir_request(key.as_ref(), "CN=Someone Else,O=cmp-rs server tests", None),
        key.as_ref(),
        None,
    )
    .expect_err("refused");
    assert_refused(
        err,
        "ip",
        FailureBit::NotAuthorized,
        "this client may not request the subject CN=Someone Else,O=cmp-rs server tests",
    );
}

#[test]
fn a_subject_alt_name_outside_the_rule_is_not_authorized() {
    let mut rule = for_ref();
    rule.sans = vec!["DNS:*.devices.example".into()];
    let pki = Pki::with_policy(policy(vec![rule]), |_| {});
    let key = new_key();
    enroll_as(
        &pki,
        pki.mac_client(),
        ir_request(key.as_ref(), SUBJECT, Some("d42.devices.example")),
        key.as_ref(),
        None,
    )
    .expect("an allowed name");
    let err = enroll_as(
        &pki,
        pki.mac_client(),
        ir_request(key.as_ref(), SUBJECT, Some("www.bank.example")),
        key.as_ref(),
        None,
    )
    .expect_err("refused");
    assert_refused(
        err,
        "ip",
        FailureBit::NotAuthorized,
        "this client may not request the subjectAltName DNS:www.bank.example",
    );
}

#[test]
fn a_key_type_outside_the_rule_is_bad_cert_template() {
    let mut rule = for_ref();
    rule.key_types = vec![KeySpec::EcP384];
    let pki = Pki::with_policy(policy(vec![rule]), |_| {});
    let p256 = new_key();
    let err = enroll_as(
        &pki,
        pki.mac_client(),
        ir_request(p256.as_ref(), SUBJECT, None),
        p256.as_ref(),
        None,
    )
    .expect_err("refused");
    assert_refused(
        err,
        "ip",
        FailureBit::BadCertTemplate,
        "this client may not certify keys of type ec:P-256 (allowed: ec:P-384)",
    );
    let p384: Arc<dyn PrivateKey> = Arc::new(SoftwareKey::generate(KeySpec::EcP384).expect("key"));
    let mut req = ir_request(p384.as_ref(), SUBJECT, None);
    req.popo = cmp_core::transaction::PopoMethod::Signature(
        cmp_core::crypto::SignatureAlgorithm::EcdsaSha384,
    );
    enroll_as(&pki, pki.mac_client(), req, p384.as_ref(), None).expect("P-384 is allowed");
}

#[test]
fn the_validity_is_cut_to_the_client_maximum() {
    let mut rule = for_ref();
    rule.max_validity = Some(Duration::from_secs(3600));
    let pki = Pki::with_policy(policy(vec![rule]), |_| {});
    let key = new_key();
    let e = enroll_as(
        &pki,
        pki.mac_client(),
        ir_request(key.as_ref(), SUBJECT, None),
        key.as_ref(),
        None,
    )
    .expect("issued");
    let v = &e.certificate.value().tbs_certificate.validity;
    let secs = |t: &rasn_pkix::Time| match t {
        rasn_pkix::Time::Utc(u) => u.timestamp(),
        rasn_pkix::Time::General(g) => g.timestamp(),
    };
    assert_eq!(secs(&v.not_after) - secs(&v.not_before), 3600);
}

#[test]
fn signers_are_matched_by_subject_and_unmatched_requesters_are_free() {
    // Vendor devices may only request names under O=Operator; MAC clients have no rule.
    let mut rule = ClientPolicy::new(ClientMatch::SignerSubject("*".into()));
    rule.subjects = vec!["CN=*,O=Operator".into()];
    let pki = Pki::with_policy(policy(vec![rule]), |_| {});
    let key = new_key();
    let signed = pki.client(signature_credentials(&pki.vendor_cert));
    let err = enroll_as(
        &pki,
        signed.clone(),
        ir_request(key.as_ref(), SUBJECT, None),
        key.as_ref(),
        Some(pki.vendor_key.as_ref()),
    )
    .expect_err("refused");
    assert_refused(
        err,
        "ip",
        FailureBit::NotAuthorized,
        "this client may not request the subject CN=Test Device 42,O=cmp-rs server tests",
    );
    enroll_as(
        &pki,
        signed,
        ir_request(key.as_ref(), "CN=Cell 7,O=Operator", None),
        key.as_ref(),
        Some(pki.vendor_key.as_ref()),
    )
    .expect("an allowed subject for the vendor device");
    // No rule governs the MAC reference: any subject.
    enroll_as(
        &pki,
        pki.mac_client(),
        ir_request(key.as_ref(), "CN=Anything", None),
        key.as_ref(),
        None,
    )
    .expect("no rule, no restriction");
}

#[test]
fn a_rule_for_one_client_certificate_governs_only_that_certificate() {
    let vendor = Pki::new(|_| {}).vendor_cert;
    let mut rule = ClientPolicy::new(ClientMatch::Certificate(vendor.der().to_vec()));
    rule.subjects = vec!["CN=Exactly This".into()];
    let pki = Pki::with_policy(policy(vec![rule]), |_| {});
    let key = new_key();
    let signed = pki.client(signature_credentials(&pki.vendor_cert));
    let err = enroll_as(
        &pki,
        signed.clone(),
        ir_request(key.as_ref(), "CN=Something Else", None),
        key.as_ref(),
        Some(pki.vendor_key.as_ref()),
    )
    .expect_err("refused");
    assert_refused(
        err,
        "ip",
        FailureBit::NotAuthorized,
        "this client may not request the subject CN=Something Else",
    );
    enroll_as(
        &pki,
        signed,
        ir_request(key.as_ref(), "CN=Exactly This", None),
        key.as_ref(),
        Some(pki.vendor_key.as_ref()),
    )
    .expect("its one subject");
}
