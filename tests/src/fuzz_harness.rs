//! The bodies of the fuzz targets in `fuzz/` (cargo-fuzz), as plain functions: each fuzz target
//! calls one of them, and `tests/tests/fuzz_corpora.rs` replays every committed seed and
//! regression input through the same function with `cargo test`.
//!
//! Each function checks properties, not only the absence of panics, and panics (with what
//! broke) when one fails:
//!
//! - [`decode`]: what `ReceivedMessage::decode` accepts re-encodes to bytes that decode again,
//!   to the same message; the TCP frame codec's frames re-encode to bytes that decode to the
//!   same frame.
//! - [`client`]: the client engine, fed the input as every response of every transaction kind
//!   (ir, cr, kur, p10cr with polling, rr, genm), ends within a bounded number of steps; with
//!   the input as it is (its protection cannot verify) nothing is staged and nothing succeeds;
//!   with the input's bodies wrapped in responses the harness MACs with the right secret,
//!   transactionID and nonces, a successful enrollment yields a certificate for the requested
//!   key.
//! - [`server`]: the server engine answers every request, raw and re-protected with the known
//!   secret, within a bounded number of steps, with a response that decodes and keeps the
//!   request's transactionID.
//!
//! Everything is deterministic: randomness comes from [`SeededPrimitives`], reset for every
//! input, and time is the fixed [`now`].

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::BytesMut;
use cmp_core::CryptoError;
use cmp_core::asn1::{
    CmpCertificate, InfoTypeAndValue, Pkcs10Request, PkiMessage, ReceivedMessage, oid,
};
use cmp_core::builder::{CertTemplateBuilder, PkiHeaderBuilder};
use cmp_core::crypto::{CertPathVerifier, DigestAlgorithm, Primitives, SignatureAlgorithm};
use cmp_core::der::Reader;
use cmp_core::names::parse_name;
use cmp_core::protection::{MacLimits, MacSettings, protect_with_mac};
use cmp_core::server::{
    Exchange, IssuedCertificate, MemoryStore, ServerConfig, ServerStep, TransactionStore,
};
use cmp_core::transaction::{
    Credentials, Enrollment, EnrollmentKind, EnrollmentRequest, GeneralMessage, PopoMethod,
    Revocation, Step, Transaction, TransactionConfig,
};
use cmp_core::transport::PeerInfo;
use cmp_transport_tcp::CmpTcpCodec;
use rasn_pkix::{GeneralName, SubjectPublicKeyInfo};
use tokio_util::codec::{Decoder, Encoder};

use crate::fixtures;
use crate::mock_ca::SECRET;

/// The reference (senderKID) of [`SECRET`] on both sides.
pub const REFERENCE: &[u8] = b"client-ref-1234";

/// The most responses one client transaction gets, and the most steps one server exchange or
/// client transaction may take before the harness calls it a loop.
pub const MAX_RESPONSES: usize = 8;
const MAX_STEPS: usize = 64;

/// The largest TCP frame the codec harness accepts.
const MAX_FRAME: usize = 1 << 16;

/// The fixed time of every run: 2026-11-28T00:00:00Z, when the test PKI is valid.
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_824_000)
}

/// The software primitives with deterministic randomness (splitmix64 from a fixed seed).
#[derive(Debug)]
pub struct SeededPrimitives {
    inner: Arc<dyn Primitives>,
    state: Mutex<u64>,
}

impl SeededPrimitives {
    /// Software primitives whose randomness starts from `seed`.
    pub fn new(seed: u64) -> Self {
        SeededPrimitives {
            inner: cmp_crypto::default_provider().primitives,
            state: Mutex::new(seed),
        }
    }
}

impl Primitives for SeededPrimitives {
    fn digest(&self, alg: DigestAlgorithm, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.inner.digest(alg, data)
    }

    fn hmac(&self, alg: DigestAlgorithm, key: &[u8], data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.inner.hmac(alg, key, data)
    }

    fn pbkdf2_hmac(
        &self,
        prf: DigestAlgorithm,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
        out: &mut [u8],
    ) -> Result<(), CryptoError> {
        self.inner.pbkdf2_hmac(prf, password, salt, iterations, out)
    }

    fn fill_random(&self, out: &mut [u8]) -> Result<(), CryptoError> {
        let mut state = self.state.lock().expect("the seed lock");
        for chunk in out.chunks_mut(8) {
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_be_bytes()[..chunk.len()]);
        }
        Ok(())
    }

    fn verify_signature(
        &self,
        spki: &[u8],
        alg: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        self.inner.verify_signature(spki, alg, message, signature)
    }
}

/// What the harnesses read once: the test PKI and the path verifier.
struct Pki {
    paths: Arc<dyn CertPathVerifier>,
    ca: CmpCertificate,
    new_cert: CmpCertificate,
    new_key: SubjectPublicKeyInfo,
    csr: Pkcs10Request,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let cert = |name: &str| {
            CmpCertificate::from_der(&fixtures::read(&format!("pki/{name}"))).expect("test PKI")
        };
        let new_cert = cert("new-cert.der");
        Pki {
            paths: cmp_crypto::default_provider().paths,
            ca: cert("ca-cert.der"),
            new_key: new_cert.subject_public_key_info().clone(),
            new_cert,
            csr: Pkcs10Request::from_der(&fixtures::read("pki/new.csr.der")).expect("CSR"),
        }
    })
}

/// Cheap MAC limits (up to the 500 PBM iterations `openssl cmp` uses, so its messages reach the
/// MAC check) and settings (one iteration for what the harness and the client MAC), so that an
/// input costs at most a millisecond, not PBKDF2 seconds.
fn mac_limits() -> MacLimits {
    MacLimits {
        pbm_iterations: 1..=500,
        pbmac1_iterations: 1..=500,
        max_salt_len: 64,
    }
}

fn mac_settings() -> MacSettings {
    MacSettings::PasswordBasedMac {
        owf: DigestAlgorithm::Sha256,
        mac: DigestAlgorithm::Sha256,
        iterations: 1,
        salt_len: 16,
    }
}

/// The input as a sequence of messages: its consecutive top-level TLVs, or the whole input as
/// one when it is not such a sequence.
pub fn split_messages(data: &[u8]) -> Vec<&[u8]> {
    let mut reader = Reader::new(data, 0);
    let mut out = Vec::new();
    while !reader.is_empty() {
        match reader.read() {
            Ok(tlv) => out.push(tlv.raw),
            Err(_) => return vec![data],
        }
    }
    if out.is_empty() {
        out.push(data);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// decode

/// Target `decode`: the DER property of `ReceivedMessage::decode` and the TCP frame codec.
pub fn decode(data: &[u8]) {
    decode_message(data);
    tcp_frames(data);
}

/// Whatever decodes re-encodes to bytes that decode again, to the same message, and whose
/// re-encoding is a fixed point; a message that round-trips says so.
pub fn decode_message(data: &[u8]) {
    let Ok(received) = ReceivedMessage::decode(data) else {
        return;
    };
    let der = received
        .message()
        .to_der()
        .expect("a decoded message re-encodes");
    let again = ReceivedMessage::decode(&der)
        .unwrap_or_else(|e| panic!("the re-encoding of a decoded message does not decode: {e}"));
    assert_eq!(
        again.message(),
        received.message(),
        "the re-encoding decodes to another message"
    );
    assert!(again.roundtrips(), "the re-encoding is not a fixed point");
    assert_eq!(received.roundtrips(), der == data);
}

/// The TCP codec: every frame decoded from the input re-encodes (in its framing) to bytes that
/// decode to the same frame and re-encode identically.
pub fn tcp_frames(data: &[u8]) {
    let mut codec = CmpTcpCodec::following_peer(MAX_FRAME);
    let mut buf = BytesMut::from(data);
    for _ in 0..64 {
        let frame = match codec.decode_eof(&mut buf) {
            Ok(Some(frame)) => frame,
            Ok(None) | Err(_) => return,
        };
        let mut writer = CmpTcpCodec::new(codec.framing(), MAX_FRAME);
        let mut bytes = BytesMut::new();
        if writer.encode(frame.clone(), &mut bytes).is_err() {
            continue; // e.g. a v10 errorMsgRep whose data exceeds its 16-bit length field
        }
        let first = bytes.clone();
        let mut reader = CmpTcpCodec::following_peer(MAX_FRAME);
        let decoded = reader
            .decode_eof(&mut bytes)
            .unwrap_or_else(|e| panic!("a re-encoded frame does not decode: {e}"))
            .expect("a whole frame");
        assert!(bytes.is_empty(), "a re-encoded frame leaves bytes behind");
        assert_eq!(reader.framing(), codec.framing());
        let mut second = BytesMut::new();
        writer
            .encode(decoded.clone(), &mut second)
            .expect("a decoded frame re-encodes");
        assert_eq!(first, second, "frame encoding is not a fixed point");
        assert_eq!(decoded.close, frame.close);
    }
}

// ---------------------------------------------------------------------------------------------
// client

/// The transactions the client harness runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// ir (and polling, when a response says waiting).
    Ir,
    /// cr.
    Cr,
    /// kur.
    Kur,
    /// p10cr.
    P10cr,
    /// rr.
    Rr,
    /// genm.
    Genm,
}

/// Every [`ClientKind`].
pub const CLIENT_KINDS: [ClientKind; 6] = [
    ClientKind::Ir,
    ClientKind::Cr,
    ClientKind::Kur,
    ClientKind::P10cr,
    ClientKind::Rr,
    ClientKind::Genm,
];

/// How the harness answers the client's requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answering {
    /// The input's messages as they are: the protection check runs on what the fuzzer made.
    Raw,
    /// The input's bodies in responses the harness builds and MACs with the client's secret,
    /// transactionID and nonces, so the fuzzer reaches the body checks.
    Protected,
}

/// What a client transaction ended with.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientOutcome {
    /// It failed (with this error).
    Failed(String),
    /// It succeeded; for an enrollment, with this certificate.
    Succeeded(Option<Box<CmpCertificate>>),
}

/// Target `client`: every transaction kind answered with the input, raw and protected.
pub fn client(data: &[u8]) {
    let decodes = split_messages(data)
        .iter()
        .any(|m| ReceivedMessage::decode(m).is_ok());
    if !decodes {
        // Every kind fails the same way on bytes that do not decode: run one.
        let outcome = run_client(ClientKind::Ir, Answering::Raw, data);
        assert!(matches!(outcome, ClientOutcome::Failed(_)));
        return;
    }
    for kind in CLIENT_KINDS {
        for answering in [Answering::Raw, Answering::Protected] {
            run_client(kind, answering, data);
        }
    }
}

fn client_config(primitives: Arc<dyn Primitives>) -> Arc<TransactionConfig> {
    let pki = pki();
    let mut c = TransactionConfig::new(
        primitives,
        pki.paths.clone(),
        Credentials::Mac {
            secret: SECRET.to_vec().into(),
            reference: REFERENCE.to_vec(),
            settings: mac_settings(),
        },
    );
    c.sender = GeneralName::DirectoryName(pki.new_cert.subject().clone());
    c.recipient = GeneralName::DirectoryName(pki.ca.subject().clone());
    c.trust.mac_limits = mac_limits();
    c.trust.trusted = vec![pki.ca.clone()];
    c.max_polls = 4;
    c.max_poll_wait = Duration::from_secs(5);
    Arc::new(c)
}

fn enrollment(kind: EnrollmentKind) -> EnrollmentRequest {
    let pki = pki();
    let p10 = kind == EnrollmentKind::P10cr;
    EnrollmentRequest {
        kind,
        template: CertTemplateBuilder::new()
            .subject(parse_name("/CN=CMP Test Device/O=cmp-rs test PKI").expect("a name"))
            .build(),
        public_key: (!p10).then(|| pki.new_key.clone()),
        popo: if p10 {
            PopoMethod::None
        } else {
            PopoMethod::Signature(SignatureAlgorithm::EcdsaSha256)
        },
        controls: None,
        csr: p10.then(|| pki.csr.clone()),
    }
}

/// Runs one client transaction of `kind`, answering its requests with the input's messages
/// (the k-th request gets the k-th message, the last one again after that), and checks the
/// properties of the outcome.
pub fn run_client(kind: ClientKind, answering: Answering, data: &[u8]) -> ClientOutcome {
    let primitives: Arc<dyn Primitives> = Arc::new(SeededPrimitives::new(1));
    let config = client_config(primitives.clone());
    let pki = pki();
    let mut tx: Box<dyn Transaction<Output = Option<CmpCertificate>>> = match kind {
        ClientKind::Ir | ClientKind::Cr | ClientKind::Kur | ClientKind::P10cr => {
            let k = match kind {
                ClientKind::Ir => EnrollmentKind::Ir,
                ClientKind::Cr => EnrollmentKind::Cr,
                ClientKind::Kur => EnrollmentKind::Kur,
                _ => EnrollmentKind::P10cr,
            };
            Box::new(Mapped(
                Enrollment::new(config, enrollment(k)).expect("an enrollment"),
                |e: cmp_core::transaction::Enrolled| Some(e.certificate),
            ))
        }
        ClientKind::Rr => Box::new(Mapped(
            Revocation::new(config, pki.new_cert.clone(), None).expect("a revocation"),
            |_| None,
        )),
        ClientKind::Genm => Box::new(Mapped(
            GeneralMessage::new(config, vec![InfoTypeAndValue::request(oid::IT_CA_CERTS)])
                .expect("a genm"),
            |_| None,
        )),
    };
    let messages = split_messages(data);
    let mut responses = 0usize;
    let mut staged = false;
    let mut step = tx.start(now());
    let mut steps = 0usize;
    let outcome = loop {
        steps += 1;
        assert!(
            steps <= MAX_STEPS,
            "{kind:?}: the transaction took more than {MAX_STEPS} steps"
        );
        let current = match step {
            Ok(s) => s,
            Err(e) => break ClientOutcome::Failed(e.to_string()),
        };
        step = match current {
            Step::Sign { data, .. } => {
                // A fixed stand-in: the harness checks responses, not our own signatures.
                let _ = data;
                tx.on_signature(vec![0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01], now())
            }
            Step::Send(request) => {
                assert!(
                    ReceivedMessage::decode(&request).is_ok_and(|r| r.roundtrips()),
                    "the client sent a request that is not DER"
                );
                if responses == MAX_RESPONSES {
                    break ClientOutcome::Failed("the harness stopped answering".into());
                }
                let input = messages[responses.min(messages.len() - 1)];
                responses += 1;
                let response = match answering {
                    Answering::Raw => input.to_vec(),
                    Answering::Protected => match protected_answer(&request, input, &primitives) {
                        Some(r) => r,
                        None => break ClientOutcome::Failed("no body to answer with".into()),
                    },
                };
                tx.on_response(&response, now())
            }
            Step::Wait(d) => {
                assert!(
                    d <= Duration::from_secs(5),
                    "a wait above max_poll_wait: {d:?}"
                );
                tx.on_wait_elapsed(now() + d)
            }
            Step::Stage { .. } => {
                staged = true;
                tx.on_staged(now())
            }
            Step::Done(out) => break ClientOutcome::Succeeded(out.map(Box::new)),
        };
        assert!(responses <= MAX_RESPONSES);
    };
    if answering == Answering::Raw {
        // The fuzzer cannot MAC with our secret: nothing unauthenticated may be used.
        assert!(
            !staged,
            "{kind:?}: a certificate from an unauthenticated response was staged"
        );
        assert!(
            matches!(outcome, ClientOutcome::Failed(_)),
            "{kind:?}: succeeded on an unauthenticated response: {outcome:?}"
        );
    }
    if let ClientOutcome::Succeeded(Some(cert)) = &outcome {
        assert_eq!(
            cert.subject_public_key_info(),
            &pki.new_key,
            "{kind:?}: enrolled a certificate for another key"
        );
    }
    outcome
}

/// A transaction whose output is mapped to the certificate (if any) it yields.
struct Mapped<T, F>(T, F);

impl<T: Transaction, F: Fn(T::Output) -> Option<CmpCertificate>> Transaction for Mapped<T, F> {
    type Output = Option<CmpCertificate>;

    fn start(&mut self, now: SystemTime) -> Result<Step<Self::Output>, cmp_core::ClientError> {
        self.0.start(now).map(|s| map_step(s, &self.1))
    }

    fn on_signature(
        &mut self,
        signature: Vec<u8>,
        now: SystemTime,
    ) -> Result<Step<Self::Output>, cmp_core::ClientError> {
        self.0
            .on_signature(signature, now)
            .map(|s| map_step(s, &self.1))
    }

    fn on_response(
        &mut self,
        response: &[u8],
        now: SystemTime,
    ) -> Result<Step<Self::Output>, cmp_core::ClientError> {
        self.0
            .on_response(response, now)
            .map(|s| map_step(s, &self.1))
    }

    fn on_wait_elapsed(
        &mut self,
        now: SystemTime,
    ) -> Result<Step<Self::Output>, cmp_core::ClientError> {
        self.0.on_wait_elapsed(now).map(|s| map_step(s, &self.1))
    }

    fn on_staged(&mut self, now: SystemTime) -> Result<Step<Self::Output>, cmp_core::ClientError> {
        self.0.on_staged(now).map(|s| map_step(s, &self.1))
    }
}

fn map_step<O>(
    step: Step<O>,
    f: &impl Fn(O) -> Option<CmpCertificate>,
) -> Step<Option<CmpCertificate>> {
    match step {
        Step::Sign { purpose, alg, data } => Step::Sign { purpose, alg, data },
        Step::Send(b) => Step::Send(b),
        Step::Wait(d) => Step::Wait(d),
        Step::Stage { certificate, chain } => Step::Stage { certificate, chain },
        Step::Done(o) => Step::Done(f(o)),
    }
}

/// A response to `request` with the body of `input` (when it decodes), built as a CA would:
/// the request's transactionID, recipNonce = its senderNonce, the generalInfo of `input`, and a
/// PBM with the client's secret.
fn protected_answer(
    request: &[u8],
    input: &[u8],
    primitives: &Arc<dyn Primitives>,
) -> Option<Vec<u8>> {
    let req = ReceivedMessage::decode(request).ok()?.into_message();
    let input = ReceivedMessage::decode(input).ok()?.into_message();
    let mut nonce = [0u8; 16];
    primitives.fill_random(&mut nonce).ok()?;
    let mut header = PkiHeaderBuilder::new()
        .sender_name(pki().ca.subject().clone())
        .recipient(req.header.sender.clone())
        .transaction_id(req.header.transaction_id.clone()?.to_vec())
        .sender_nonce(nonce)
        .recip_nonce(req.header.sender_nonce.clone()?.to_vec())
        .build();
    header.pvno = input.header.pvno;
    header.general_info = input.header.general_info;
    header.free_text = input.header.free_text;
    let mut msg = PkiMessage::new(header, input.body);
    msg.extra_certs = input.extra_certs;
    protect_with_mac(&mut msg, SECRET, &mac_settings(), primitives.as_ref()).ok()?;
    msg.to_der().ok()
}

// ---------------------------------------------------------------------------------------------
// server

/// Target `server`: the input's messages as consecutive requests to one server (one store),
/// raw and re-protected with the known secret.
pub fn server(data: &[u8]) {
    for reprotect in [false, true] {
        run_server(data, reprotect);
    }
}

fn server_config(primitives: Arc<dyn Primitives>) -> Arc<ServerConfig> {
    let pki = pki();
    let mut c = ServerConfig::new(primitives, pki.paths.clone(), vec![pki.ca.clone()]);
    c.secrets.insert(REFERENCE.to_vec(), SECRET.to_vec().into());
    c.mac_limits = mac_limits();
    c.max_time_skew = None;
    c.grant_implicit_confirm = true;
    Arc::new(c)
}

/// Runs the input's messages as requests against one server; with `reprotect`, each request
/// that decodes is first MACed with the known secret (and, after the first, given the last
/// response's senderNonce as recipNonce). Returns the responses.
pub fn run_server(data: &[u8], reprotect: bool) -> Vec<Vec<u8>> {
    let primitives: Arc<dyn Primitives> = Arc::new(SeededPrimitives::new(2));
    let config = server_config(primitives.clone());
    let store = MemoryStore::new(16);
    let mut responses: Vec<Vec<u8>> = Vec::new();
    for input in split_messages(data).into_iter().take(MAX_RESPONSES) {
        let request = if reprotect {
            match reprotected(input, responses.last(), &primitives) {
                Some(r) => r,
                None => continue,
            }
        } else {
            input.to_vec()
        };
        let response = serve(&config, &store, request.clone());
        let decoded = ReceivedMessage::decode(&response)
            .unwrap_or_else(|e| panic!("the server's response does not decode: {e}"));
        assert!(decoded.roundtrips(), "the server's response is not DER");
        if let Ok(req) = ReceivedMessage::decode(&request) {
            if let Some(tid) = &req.message().header.transaction_id {
                assert_eq!(
                    decoded.message().header.transaction_id.as_ref(),
                    Some(tid),
                    "the response does not keep the request's transactionID"
                );
            }
        }
        responses.push(response);
    }
    responses
}

fn reprotected(
    input: &[u8],
    last_response: Option<&Vec<u8>>,
    primitives: &Arc<dyn Primitives>,
) -> Option<Vec<u8>> {
    let mut msg = ReceivedMessage::decode(input).ok()?.into_message();
    msg.header.sender_kid = Some(REFERENCE.to_vec().into());
    if let Some(last) = last_response.and_then(|r| ReceivedMessage::decode(r).ok()) {
        msg.header.recip_nonce = last.message().header.sender_nonce.clone();
    }
    msg.extra_certs = None;
    protect_with_mac(&mut msg, SECRET, &mac_settings(), primitives.as_ref()).ok()?;
    msg.to_der().ok()
}

/// One exchange, its steps answered by a stub issuer (it issues the test PKI's new certificate,
/// knows no certificate, revokes nothing) and `store`.
fn serve(config: &Arc<ServerConfig>, store: &MemoryStore, request: Vec<u8>) -> Vec<u8> {
    let pki = pki();
    let mut exchange = Exchange::new(config.clone(), request, PeerInfo::default());
    let mut step = exchange.start(now());
    for _ in 0..MAX_STEPS {
        let current = match step {
            Ok(s) => s,
            Err(e) => return exchange.failure_response(&e),
        };
        step = match current {
            ServerStep::Respond(bytes) => return bytes,
            ServerStep::Load { transaction_id } => {
                exchange.on_loaded(store.load(&transaction_id, now()))
            }
            ServerStep::Save { record, expected } => {
                exchange.on_saved(store.save(record, expected, now()))
            }
            ServerStep::LookupCertificate { .. } => exchange.on_certificate(Ok(None)),
            ServerStep::Issue(_) => exchange.on_issued(Ok(IssuedCertificate {
                certificate: pki.new_cert.der().to_vec(),
                chain: vec![pki.ca.der().to_vec()],
            })),
            ServerStep::Revoke { .. } => exchange.on_revoked(Ok(())),
            ServerStep::Sign { .. } => exchange.on_signature(vec![0x30, 0x00]),
            other => panic!("a step the harness does not know: {other:?}"),
        };
    }
    panic!("the exchange did not respond within {MAX_STEPS} steps")
}
