//! What the server tests share: a fixed clock, deterministic randomness, a built-in CA, a
//! server, and a loop that drives a client transaction machine against the server machine in
//! memory (no transport, no tokio).

#![allow(dead_code, unreachable_pub)]

use cmp_core::crypto::PrivateKeyExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cmp_core::ClientError;
use cmp_core::asn1::{AttributeTypeAndValue, CertId, oid};
use cmp_core::asn1::{CmpCertificate, PkiMessage, ReceivedMessage};
use cmp_core::builder::CertTemplateBuilder;
use cmp_core::crypto::{DigestAlgorithm, KeySpec, Primitives, PrivateKey, SignatureAlgorithm};
use cmp_core::names::parse_name;
use cmp_core::protection::MacSettings;
use cmp_core::server::{
    CertificateRequest, Issuer, MemoryStore, Requester, ResponseSigner, ServerConfig,
};
use cmp_core::transaction::{
    Credentials, Enrolled, Enrollment, EnrollmentKind, EnrollmentRequest, PopoMethod, SignPurpose,
    Step, Transaction, TransactionConfig,
};
use cmp_core::transport::PeerInfo;
use cmp_crypto::software::{SoftwareKey, SoftwareKeys, SoftwarePrimitives};
use cmp_server::{BuiltinCa, CmpServer, IssuancePolicy};
use cmp_tests::run::block_on;
use rasn_pkix::GeneralName;

/// The time of every test: 2026-12-01T12:00:00Z.
pub const NOW_SECS: u64 = 1_796_126_400;

/// The fixed clock.
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

/// The client's shared secret and reference.
pub const SECRET: &[u8] = b"server-test-secret-0123";
/// The reference (senderKID) of [`SECRET`].
pub const REFERENCE: &[u8] = b"client-ref-42";
/// The subject the tests ask for.
pub const SUBJECT: &str = "CN=Test Device 42,O=cmp-rs server tests";

/// Software primitives whose randomness is a counter run through SHA-256: transactionIDs,
/// nonces, salts and serial numbers repeat from run to run.
#[derive(Debug)]
pub struct SeededPrimitives {
    seed: u64,
    counter: AtomicU64,
}

impl SeededPrimitives {
    /// Randomness from `seed`.
    pub fn new(seed: u64) -> Arc<Self> {
        Arc::new(SeededPrimitives {
            seed,
            counter: AtomicU64::new(0),
        })
    }
}

impl Primitives for SeededPrimitives {
    fn digest(&self, alg: DigestAlgorithm, data: &[u8]) -> Result<Vec<u8>, cmp_core::CryptoError> {
        SoftwarePrimitives.digest(alg, data)
    }
    fn hmac(
        &self,
        alg: DigestAlgorithm,
        key: &[u8],
        data: &[u8],
    ) -> Result<Vec<u8>, cmp_core::CryptoError> {
        SoftwarePrimitives.hmac(alg, key, data)
    }
    fn pbkdf2_hmac(
        &self,
        prf: DigestAlgorithm,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
        out: &mut [u8],
    ) -> Result<(), cmp_core::CryptoError> {
        SoftwarePrimitives.pbkdf2_hmac(prf, password, salt, iterations, out)
    }
    fn fill_random(&self, out: &mut [u8]) -> Result<(), cmp_core::CryptoError> {
        for chunk in out.chunks_mut(32) {
            let n = self.counter.fetch_add(1, Ordering::Relaxed);
            let mut input = self.seed.to_be_bytes().to_vec();
            input.extend(n.to_be_bytes());
            let block = SoftwarePrimitives.digest(DigestAlgorithm::Sha256, &input)?;
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        Ok(())
    }
    fn verify_signature(
        &self,
        spki: &[u8],
        alg: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), cmp_core::CryptoError> {
        SoftwarePrimitives.verify_signature(spki, alg, message, signature)
    }
}

/// A fresh P-256 key.
pub fn new_key() -> Arc<dyn PrivateKey> {
    Arc::new(SoftwareKey::generate(KeySpec::EcP256).expect("key"))
}

/// A certificate request for `key` with subject `subject`, as the engine hands it to issuers.
pub fn cert_request(subject: &str, key: &dyn PrivateKey) -> CertificateRequest {
    CertificateRequest {
        kind: EnrollmentKind::Ir,
        subject: rasn::der::encode(&parse_name(subject).expect("dn")).expect("der"),
        subject_alt_names: None,
        public_key: key.public_key().to_vec(),
        not_before: None,
        not_after: None,
        requester: Requester::Unauthenticated,
        now: now(),
    }
}

/// A CA generated at the test's start, its server, and what the tests look at.
pub struct Pki {
    pub primitives: Arc<SeededPrimitives>,
    pub ca: Arc<BuiltinCa>,
    pub store: Arc<MemoryStore>,
    pub server: CmpServer,
    /// The fixture CA of the `tests` crate, used as a vendor root (client anchor).
    pub vendor_root: CmpCertificate,
    /// A vendor device certificate under `vendor_root`, and its key.
    pub vendor_cert: CmpCertificate,
    pub vendor_key: Arc<dyn PrivateKey>,
}

fn fixture_cert(name: &str) -> CmpCertificate {
    CmpCertificate::from_der(&cmp_tests::fixtures::read(&format!("pki/{name}"))).expect("cert")
}

/// The fixture PKI's key file.
pub fn fixture_key(name: &str) -> Arc<dyn PrivateKey> {
    let path = cmp_tests::fixtures::openssl_dir().join("pki").join(name);
    Arc::new(cmp_crypto::software::read_key_file(&path, None).expect("key"))
}

impl Pki {
    /// A P-256 root "CN=cmp-server Test CA" generated an hour before [`now`], a server that
    /// knows [`SECRET`] under [`REFERENCE`], trusts the fixture CA as vendor root, and signs
    /// responses with the CA key; `tweak` changes the server configuration.
    pub fn new(tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        Self::with_policy(IssuancePolicy::default(), tweak)
    }

    /// As [`Pki::new`], with the CA's issuance `policy`.
    pub fn with_policy(policy: IssuancePolicy, tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let primitives = SeededPrimitives::new(7);
        let paths = cmp_crypto::default_provider().paths;
        let ca = block_on(BuiltinCa::generate(
            parse_name("CN=cmp-server Test CA,O=cmp-rs server tests").expect("dn"),
            &SoftwareKeys,
            primitives.clone(),
            now() - Duration::from_secs(3600),
            Duration::from_secs(10 * 365 * 24 * 3600),
            policy,
        ))
        .expect("CA");
        let ca = Arc::new(ca);
        let mut config = ServerConfig::new(primitives.clone(), paths, ca.certificates());
        config.secrets.insert(REFERENCE, SECRET.to_vec().into());
        let vendor_root = fixture_cert("ca-cert.der");
        config.client_anchors = vec![vendor_root.clone()];
        config.signer = Some(ResponseSigner {
            cert: ca.ca_cert().clone(),
            chain: Vec::new(),
            alg: SignatureAlgorithm::EcdsaSha256,
        });
        tweak(&mut config);
        let store = Arc::new(MemoryStore::new(100));
        let server = CmpServer::new(
            Arc::new(config),
            ca.clone(),
            store.clone(),
            Some(ca.key().clone()),
        );
        Pki {
            primitives,
            ca,
            store,
            server,
            vendor_root,
            vendor_cert: fixture_cert("vendor-cert.der"),
            vendor_key: fixture_key("vendor-key.pem"),
        }
    }

    /// A client configuration with `credentials` that trusts the CA for signed responses.
    pub fn client(&self, credentials: Credentials) -> TransactionConfig {
        let p = cmp_crypto::default_provider();
        let mut c = TransactionConfig::new(self.primitives.clone(), p.paths, credentials);
        c.recipient = GeneralName::DirectoryName(self.ca.ca_cert().subject().clone());
        c.trust.trusted = vec![self.ca.ca_cert().clone()];
        if let Credentials::Signature { cert, .. } = &c.credentials {
            c.sender = GeneralName::DirectoryName(cert.subject().clone());
        } else {
            c.sender = GeneralName::DirectoryName(parse_name(SUBJECT).expect("dn"));
        }
        c
    }

    /// A client configuration with PBM and [`SECRET`].
    pub fn mac_client(&self) -> TransactionConfig {
        self.client(mac_credentials(SECRET))
    }

    /// Issues a certificate for `key` straight from the CA (as an earlier enrollment would).
    pub fn issue(&self, subject: &str, key: &dyn PrivateKey) -> CmpCertificate {
        let issued = block_on(self.ca.issue(&cert_request(subject, key))).expect("issued");
        CmpCertificate::from_der(&issued.certificate).expect("cert")
    }

    /// The server's answer to `request`.
    pub fn send(&self, request: &[u8]) -> Vec<u8> {
        block_on(
            self.server
                .respond_at(request.to_vec(), now(), &PeerInfo::default()),
        )
    }
}

/// PBM credentials with `secret`.
pub fn mac_credentials(secret: &[u8]) -> Credentials {
    Credentials::Mac {
        secret: secret.to_vec().into(),
        reference: REFERENCE.to_vec(),
        settings: MacSettings::pbm_default(),
    }
}

/// Signature credentials with `cert`.
pub fn signature_credentials(cert: &CmpCertificate) -> Credentials {
    Credentials::Signature {
        cert: cert.clone(),
        chain: Vec::new(),
        alg: SignatureAlgorithm::EcdsaSha256,
    }
}

/// The keys a client transaction signs with.
#[derive(Clone, Copy)]
pub struct ClientKeys<'a> {
    /// Protects requests (signature credentials).
    pub protection: Option<&'a dyn PrivateKey>,
    /// Proves possession of the new key.
    pub pop: Option<&'a dyn PrivateKey>,
}

/// One request and its response, as they crossed.
pub type Exchanged = (Vec<u8>, Vec<u8>);

/// Drives `tx` against the server at [`now`], with a bound on steps; `intercept` may change
/// each request before it is sent. Returns the transaction's result and the exchanges.
pub fn drive<T: Transaction>(
    pki: &Pki,
    tx: &mut T,
    keys: ClientKeys<'_>,
    mut intercept: impl FnMut(Vec<u8>) -> Vec<u8>,
) -> (Result<T::Output, ClientError>, Vec<Exchanged>) {
    let log = Mutex::new(Vec::new());
    let result = (|| {
        let mut step = tx.start(now())?;
        for _ in 0..32 {
            step = match step {
                Step::Sign { purpose, alg, data } => {
                    let key = match purpose {
                        SignPurpose::Protection => keys.protection,
                        SignPurpose::ProofOfPossession => keys.pop,
                    }
                    .expect("a key for every signature asked for");
                    let sig = block_on(key.sign(alg, &data)).expect("sign");
                    tx.on_signature(sig, now())?
                }
                Step::Send(request) => {
                    let request = intercept(request);
                    let response = pki.send(&request);
                    log.lock().expect("lock").push((request, response.clone()));
                    tx.on_response(&response, now())?
                }
                Step::Stage { .. } => tx.on_staged(now())?,
                Step::Wait(_) => tx.on_wait_elapsed(now())?,
                Step::Done(out) => return Ok(out),
            };
        }
        panic!("the transaction did not finish within 32 steps");
    })();
    (result, log.into_inner().expect("lock"))
}

/// The decoded message.
pub fn decode(der: &[u8]) -> PkiMessage {
    ReceivedMessage::decode(der)
        .expect("decodes")
        .into_message()
}

/// The body names of the exchanges: `["ir→ip", "certConf→pkiconf"]`.
pub fn flow(log: &[Exchanged]) -> Vec<String> {
    log.iter()
        .map(|(q, r)| format!("{}→{}", decode(q).body.name(), decode(r).body.name()))
        .collect()
}

/// `err` is the server's refusal in a `body` with exactly `bit` and the text `text`.
pub fn assert_refused(err: ClientError, body: &str, bit: cmp_core::asn1::FailureBit, text: &str) {
    let ClientError::Refused(refusal) = err else {
        panic!("expected a refusal by the server, got: {err}");
    };
    assert_eq!(refusal.body, body, "{refusal}");
    assert_eq!(refusal.status.status, cmp_core::asn1::PkiStatus::REJECTION);
    assert_eq!(
        refusal.status.fail_info,
        Some(cmp_core::asn1::PkiFailureInfo::from_bits([bit])),
        "{refusal}"
    );
    assert_eq!(refusal.status.text().as_deref(), Some(text));
}

/// An enrollment request of `kind` for `key` with subject [`SUBJECT`] and signature POP.
pub fn request(kind: EnrollmentKind, key: &dyn PrivateKey) -> EnrollmentRequest {
    EnrollmentRequest {
        kind,
        template: CertTemplateBuilder::new()
            .subject(parse_name(SUBJECT).expect("dn"))
            .build(),
        public_key: Some(key.public_key_info().expect("the key\'s public key")),
        popo: PopoMethod::Signature(SignatureAlgorithm::EcdsaSha256),
        controls: None,
        csr: None,
    }
}

/// The oldCertID control naming `cert`.
pub fn old_cert_id(cert: &CmpCertificate) -> AttributeTypeAndValue {
    let id = CertId {
        issuer: GeneralName::DirectoryName(cert.issuer().clone()),
        serial_number: cert.serial_number().clone(),
    };
    AttributeTypeAndValue {
        r#type: oid::REG_CTRL_OLD_CERT_ID.to_owned(),
        value: rasn::types::Any::new(rasn::der::encode(&id).expect("der")),
    }
}

/// Runs an enrollment of `req` with `config` against the server.
pub fn enroll_with(
    pki: &Pki,
    config: TransactionConfig,
    req: EnrollmentRequest,
    keys: ClientKeys<'_>,
) -> (Result<Enrolled, ClientError>, Vec<Exchanged>) {
    let mut tx = Enrollment::new(Arc::new(config), req).expect("transaction");
    drive(pki, &mut tx, keys, |r| r)
}

/// The first request of `tx` (it starts with a signature POP): the POP signed with `key`, the
/// request to send.
pub fn signed_first_request(tx: &mut Enrollment, key: &dyn PrivateKey) -> Vec<u8> {
    let Step::Sign { alg, data, .. } = tx.start(now()).expect("start") else {
        panic!("POP first")
    };
    let pop = block_on(key.sign(alg, &data)).expect("sign the POP");
    let Step::Send(request) = tx.on_signature(pop, now()).expect("signed") else {
        panic!("the request")
    };
    request
}
