//! The rig of the client transaction tests: an ir against the in-memory [`MockCa`], with the
//! test PKI's keys and certificates.

use std::sync::Arc;
use std::time::Duration;

use cmp_core::ClientError;
use cmp_core::asn1::{
    CertOrEncCert, CertRepMessage, CertResponse, CertifiedKeyPair, CmpCertificate, PkiBody,
    PkiMessage, PkiStatusInfo,
};
use cmp_core::client::{Driver, Keys};
use cmp_core::crypto::{PrivateKey, PrivateKeyExt, SignatureAlgorithm};
use cmp_core::names::parse_name;
use cmp_core::protection::MacSettings;
use cmp_core::transaction::{
    Credentials, Enrolled, Enrollment, EnrollmentKind, EnrollmentRequest, PopoMethod,
    TransactionConfig,
};
use cmp_crypto::software::{SoftwareKey, read_key_file};
use rasn::types::Integer;
use rasn_pkix::GeneralName;

use crate::fixtures;
use crate::mock_ca::{Answer, MockCa, RecordingSleep, SECRET, ca_cert, new_cert};
use crate::run::block_on;

/// The key being enrolled (`pki/new-key.pem`).
pub fn new_key() -> SoftwareKey {
    read_key_file(&fixtures::openssl_dir().join("pki/new-key.pem"), None).expect("new key")
}

/// A PBM configuration for the mock CA (sender the device, recipient the CA), changed by
/// `tweak`.
pub fn config(tweak: impl FnOnce(&mut TransactionConfig)) -> Arc<TransactionConfig> {
    let p = cmp_crypto::default_provider();
    let mut c = TransactionConfig::new(
        p.primitives,
        p.paths,
        Credentials::Mac {
            secret: SECRET.to_vec().into(),
            reference: b"client-ref-1234".to_vec(),
            settings: MacSettings::pbm_default(),
        },
    );
    c.sender = GeneralName::DirectoryName(
        parse_name("/CN=CMP Test Device/O=cmp-rs test PKI").expect("dn"),
    );
    c.recipient = GeneralName::DirectoryName(ca_cert().subject().clone());
    tweak(&mut c);
    Arc::new(c)
}

/// An ir for `key` with the device subject and a signature POP.
pub fn request(key: &dyn PrivateKey) -> EnrollmentRequest {
    EnrollmentRequest {
        kind: EnrollmentKind::Ir,
        template: cmp_core::builder::CertTemplateBuilder::new()
            .subject(parse_name("/CN=CMP Test Device/O=cmp-rs test PKI").expect("dn"))
            .build(),
        public_key: Some(key.public_key_info().expect("the key's public key")),
        popo: PopoMethod::Signature(SignatureAlgorithm::EcdsaSha256),
        controls: None,
        csr: None,
    }
}

/// A CertRepMessage with one response.
pub fn rep(id: i64, status: PkiStatusInfo, cert: Option<CmpCertificate>) -> CertRepMessage {
    CertRepMessage {
        ca_pubs: None,
        response: vec![CertResponse {
            cert_req_id: Integer::from(id),
            status,
            certified_key_pair: cert.map(|c| CertifiedKeyPair {
                cert_or_enc_cert: CertOrEncCert::Certificate(c),
                private_key: None,
                publication_info: None,
            }),
            rsp_info: None,
        }],
    }
}

/// An accepted ip carrying [`new_cert`].
pub fn ip_granted() -> Answer {
    Answer::body(PkiBody::Ip(rep(
        0,
        PkiStatusInfo::accepted(),
        Some(new_cert()),
    )))
}

/// A protected pkiConf.
pub fn pkiconf() -> Answer {
    Answer::body(PkiBody::Pkiconf(()))
}

/// The scripts of a mock CA, one per request.
pub type Scripts = Vec<crate::mock_ca::Script>;

/// A script from a closure.
pub fn script(f: impl FnMut(&PkiMessage) -> Answer + Send + 'static) -> crate::mock_ca::Script {
    Box::new(f)
}

/// Runs an ir of [`new_key`] against a mock CA following `scripts`: the result, the CA (for
/// its requests) and the waits asked for.
pub fn enroll(
    config: Arc<TransactionConfig>,
    scripts: Scripts,
) -> (Result<Enrolled, ClientError>, MockCa, Vec<Duration>) {
    let key = new_key();
    let ca = MockCa::new(scripts);
    let sleep = RecordingSleep::default();
    let result = {
        let mut tx = Enrollment::new(config, request(&key)).expect("transaction");
        let mut driver = Driver::new(&ca, &sleep);
        block_on(driver.run(
            &mut tx,
            Keys {
                protection: None,
                new_key: Some(&key),
            },
        ))
    };
    let waits = sleep.waits.lock().expect("lock").clone();
    (result, ca, waits)
}

/// The body names of the requests the CA received.
pub fn bodies(ca: &MockCa) -> Vec<&'static str> {
    ca.requests
        .lock()
        .expect("lock")
        .iter()
        .map(|m| m.body.name())
        .collect()
}

/// The error of an enrollment that must fail.
pub fn err(scripts: Scripts, tweak: impl FnOnce(&mut TransactionConfig)) -> String {
    enroll(config(tweak), scripts)
        .0
        .expect_err("must fail")
        .to_string()
}

/// A key of the test PKI (`pki/{name}-key.pem`).
pub fn pki_key(name: &str) -> Arc<dyn PrivateKey> {
    Arc::new(
        read_key_file(
            &fixtures::openssl_dir().join(format!("pki/{name}-key.pem")),
            None,
        )
        .expect("key"),
    )
}

/// A certificate of the test PKI (`pki/{name}-cert.der`).
pub fn pki_cert(name: &str) -> CmpCertificate {
    CmpCertificate::from_der(&fixtures::read(&format!("pki/{name}-cert.der"))).expect("cert")
}

/// Like [`enroll`], returning the warnings the driver reported instead of the waits.
pub fn enroll_warned(
    config: Arc<TransactionConfig>,
    scripts: Scripts,
) -> (Result<Enrolled, ClientError>, MockCa, Vec<String>) {
    let key = new_key();
    let ca = MockCa::new(scripts);
    let sleep = RecordingSleep::default();
    let warnings = std::sync::Mutex::new(Vec::new());
    let result = {
        let mut tx = Enrollment::new(config, request(&key)).expect("transaction");
        let mut driver = Driver::new(&ca, &sleep)
            .on_warning(|w| warnings.lock().expect("lock").push(w.to_owned()));
        block_on(driver.run(
            &mut tx,
            Keys {
                protection: None,
                new_key: Some(&key),
            },
        ))
    };
    let warnings = warnings.into_inner().expect("lock");
    (result, ca, warnings)
}
