//! A scriptable, in-memory CA for client tests: it answers each request with what a test's
//! script says, built and protected like a real CA would (same transactionID, recipNonce =
//! the request's senderNonce, a fresh senderNonce, PBM with the test secret), and lets a test
//! spoil any part of it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use cmp_core::asn1::{CmpCertificate, PkiBody, PkiMessage, ReceivedMessage};
use cmp_core::builder::PkiHeaderBuilder;
use cmp_core::client::Sleep;
use cmp_core::protection::{MacSettings, protect_with_mac};
use cmp_core::transport::{Transport, TransportError};

use crate::fixtures;

/// The shared secret of the mock.
pub const SECRET: &[u8] = b"cmp-test-secret-1234";

/// How the answer to one request is made.
pub type Script = Box<dyn FnMut(&PkiMessage) -> Answer + Send>;

/// A last-moment change to an answer.
pub type Tweak = Box<dyn FnOnce(&mut PkiMessage) + Send>;

/// One answer.
pub struct Answer {
    /// The body.
    pub body: PkiBody,
    /// Grant implicit confirmation.
    pub implicit_confirm: bool,
    /// Last-moment changes to the finished message (before protection, if `protect`).
    pub tweak: Option<Tweak>,
    /// Protect with the secret (else unprotected).
    pub protect: bool,
    /// Protect with this secret instead of [`SECRET`].
    pub secret: Option<Vec<u8>>,
    /// Sign instead of MACing: the key and its certificate (put into extraCerts, its subject
    /// and key identifier into sender and senderKID).
    pub signer: Option<(
        std::sync::Arc<dyn cmp_core::crypto::PrivateKey>,
        CmpCertificate,
    )>,
}

impl Answer {
    /// A protected answer with this body.
    pub fn body(body: PkiBody) -> Self {
        Answer {
            body,
            implicit_confirm: false,
            tweak: None,
            protect: true,
            secret: None,
            signer: None,
        }
    }

    /// Signs the answer with `key`, whose certificate is `cert`.
    pub fn signed_by(
        mut self,
        key: std::sync::Arc<dyn cmp_core::crypto::PrivateKey>,
        cert: CmpCertificate,
    ) -> Self {
        self.signer = Some((key, cert));
        self
    }

    /// Changes the message before it is protected.
    pub fn tweak(mut self, f: impl FnOnce(&mut PkiMessage) + Send + 'static) -> Self {
        self.tweak = Some(Box::new(f));
        self
    }
}

/// The in-memory CA; a [`Transport`] whose answers follow the scripts in order.
pub struct MockCa {
    scripts: Mutex<Vec<Script>>,
    /// Every request received, decoded.
    pub requests: Mutex<Vec<PkiMessage>>,
}

impl std::fmt::Debug for MockCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MockCa")
    }
}

impl MockCa {
    /// A CA that answers the n-th request with the n-th script.
    pub fn new(scripts: Vec<Script>) -> Self {
        MockCa {
            scripts: Mutex::new(scripts.into_iter().rev().collect()),
            requests: Mutex::new(Vec::new()),
        }
    }

    /// The answer to `request`.
    pub fn answer(&self, request: &[u8]) -> Vec<u8> {
        let req = ReceivedMessage::decode(request)
            .expect("the client sends well-formed messages")
            .into_message();
        self.requests.lock().expect("lock").push(req.clone());
        let mut script = self
            .scripts
            .lock()
            .expect("lock")
            .pop()
            .expect("a script for every request");
        let answer = script(&req);
        let p = cmp_crypto::default_provider();
        let mut nonce = [0u8; 16];
        p.primitives.fill_random(&mut nonce).expect("random");
        let mut h = PkiHeaderBuilder::new()
            .sender_name(ca_cert().subject().clone())
            .recipient(req.header.sender.clone())
            .transaction_id(req.header.transaction_id.clone().expect("tid").to_vec())
            .sender_nonce(nonce)
            .sender_kid(b"server-ref-5678".to_vec());
        if let Some(n) = &req.header.sender_nonce {
            h = h.recip_nonce(n.to_vec());
        }
        if answer.implicit_confirm {
            h = h.implicit_confirm();
        }
        if let Some((_, cert)) = &answer.signer {
            h = h.sender_name(cert.subject().clone());
            h = match cert.subject_key_identifier() {
                Some(ski) => h.sender_kid(ski),
                None => h,
            };
        }
        let mut msg = PkiMessage::new(h.build(), answer.body);
        if let Some((key, cert)) = &answer.signer {
            msg.extra_certs = Some(vec![cert.clone()]);
            if let Some(t) = answer.tweak {
                t(&mut msg);
            }
            let alg = key.spec().default_signature_algorithm();
            crate::run::block_on(cmp_core::protection::protect_with_key(
                &mut msg,
                key.as_ref(),
                alg,
            ))
            .expect("sign");
            return msg.to_der().expect("encode");
        }
        if let Some(t) = answer.tweak {
            t(&mut msg);
        }
        if answer.protect {
            let secret = answer.secret.unwrap_or_else(|| SECRET.to_vec());
            protect_with_mac(
                &mut msg,
                &secret,
                &MacSettings::pbm_default(),
                p.primitives.as_ref(),
            )
            .expect("protect");
        }
        msg.to_der().expect("encode")
    }
}

#[async_trait::async_trait]
impl Transport for MockCa {
    async fn exchange(
        &self,
        request: &[u8],
        _deadline: Option<Instant>,
    ) -> Result<Vec<u8>, TransportError> {
        Ok(self.answer(request))
    }
}

/// A sleeper that does not sleep but remembers what it was asked.
#[derive(Debug, Default)]
pub struct RecordingSleep {
    /// The waits asked for.
    pub waits: Mutex<Vec<Duration>>,
}

impl Sleep for RecordingSleep {
    fn sleep(
        &self,
        duration: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        self.waits.lock().expect("lock").push(duration);
        Box::pin(std::future::ready(()))
    }
}

/// The test CA's certificate.
pub fn ca_cert() -> CmpCertificate {
    CmpCertificate::from_der(&fixtures::read("pki/ca-cert.der")).expect("ca cert")
}

/// The certificate the mock issues (for `pki/new-key.pem`).
pub fn new_cert() -> CmpCertificate {
    CmpCertificate::from_der(&fixtures::read("pki/new-cert.der")).expect("new cert")
}
