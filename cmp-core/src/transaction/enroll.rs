//! Enrollment: ir, cr, kur, ccr and p10cr, with certConf/pkiConf, implicit confirmation and
//! polling.

use std::sync::Arc;
use std::time::SystemTime;

use rasn::prelude::*;
use rasn_pkix::{AlgorithmIdentifier, SubjectPublicKeyInfo};

use super::config::TransactionConfig;
use super::session::{Session, SignPurpose, Step, Transaction};
use crate::asn1::{
    CertOrEncCert, CertRepMessage, CertReqMessages, CertResponse, CertTemplate, CmpCertificate,
    Controls, FailureBit, Pkcs10Request, PkiBody, PkiMessage, PkiStatus, PkiStatusInfo,
    PopoSigningKey, ProofOfPossession, ReceivedMessage, oid,
};
use crate::builder::{cert_conf, cert_req_messages, poll_req};
use crate::crypto::{CertPathVerifierExt, DigestAlgorithm, Primitives, SignatureAlgorithm};
use crate::error::{ClientError, ResponseError, ServerRefusal};

/// Which enrollment message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnrollmentKind {
    /// Initialization request (first certificate from a new PKI).
    Ir,
    /// Certification request (another certificate from a known PKI).
    Cr,
    /// Key update request (renew a certificate with a new key).
    Kur,
    /// Cross-certification request.
    Ccr,
    /// A PKCS#10 request.
    P10cr,
}

impl EnrollmentKind {
    fn response(self) -> &'static str {
        match self {
            EnrollmentKind::Ir => "ip",
            EnrollmentKind::Cr | EnrollmentKind::P10cr => "cp",
            EnrollmentKind::Kur => "kup",
            EnrollmentKind::Ccr => "ccp",
        }
    }
}

/// How possession of the new key is proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PopoMethod {
    /// A signature over the certRequest with the new key (the default).
    Signature(SignatureAlgorithm),
    /// The RA already checked (`raVerified`).
    RaVerified,
    /// No POP at all.
    None,
}

/// What to ask for.
#[derive(Clone, Debug)]
pub struct EnrollmentRequest {
    /// ir, cr, kur, ccr or p10cr.
    pub kind: EnrollmentKind,
    /// The template; its publicKey is set from `public_key`.
    pub template: CertTemplate,
    /// The key to certify (not used for p10cr, whose CSR carries it).
    pub public_key: Option<SubjectPublicKeyInfo>,
    /// The POP.
    pub popo: PopoMethod,
    /// Controls such as oldCertID (kur).
    pub controls: Option<Controls>,
    /// The CSR of a p10cr.
    pub csr: Option<Pkcs10Request>,
}

/// A successful enrollment.
#[derive(Clone, Debug)]
pub struct Enrolled {
    /// The new certificate.
    pub certificate: CmpCertificate,
    /// caPubs of the response (CA certificates offered as trust anchors; trusted only if the
    /// caller decides so).
    pub ca_pubs: Vec<CmpCertificate>,
    /// extraCerts of the response (typically the chain).
    pub extra_certs: Vec<CmpCertificate>,
    /// Whether the server granted implicit confirmation (no certConf was sent).
    pub implicitly_confirmed: bool,
    /// Whether the certificate was confirmed at all (false with `disable_confirm`).
    pub confirmed: bool,
    /// accepted or grantedWithMods.
    pub status: PkiStatus,
    /// The root certificate trust was bootstrapped from (`bootstrap_from_ip`), to be pinned
    /// as trust anchor by the caller.
    pub bootstrap_root: Option<CmpCertificate>,
}

/// The hash certConf uses for `cert` (RFC 9810 §5.3.18, RFC 9481): the hash of its signature
/// algorithm, SHA-512 for Ed25519; `None` means the algorithm names no hash and certConf
/// must carry `hashAlg` (SHA-256) with pvno 3.
pub fn cert_hash(
    cert: &CmpCertificate,
    primitives: &dyn Primitives,
) -> Result<(Vec<u8>, Option<AlgorithmIdentifier>), ClientError> {
    let (digest, explicit) =
        match SignatureAlgorithm::from_algorithm_identifier(cert.signature_algorithm()) {
            Ok(alg) => (alg.digest(), None),
            Err(_) => {
                let o: &Oid = &cert.signature_algorithm().algorithm;
                if o == oid::SHA1_WITH_RSA || o == oid::ECDSA_WITH_SHA1 {
                    (DigestAlgorithm::Sha1, None)
                } else if o == oid::SHA224_WITH_RSA || o == oid::ECDSA_WITH_SHA224 {
                    (DigestAlgorithm::Sha224, None)
                } else {
                    (
                        DigestAlgorithm::Sha256,
                        Some(DigestAlgorithm::Sha256.algorithm_identifier()),
                    )
                }
            }
        };
    Ok((primitives.digest(digest, cert.der())?, explicit))
}

#[derive(Debug)]
enum State {
    Start,
    /// Waiting for the POP signature.
    AwaitPop(Box<PkiMessage>),
    /// Waiting for the protection signature, then the response of `expect`.
    Outgoing(Expect),
    Await(Expect),
    /// Between pollRep and the next pollReq.
    PollWait,
    /// The certificate is being staged; then finish or confirm.
    Staging(Box<AfterStaging>),
    Done,
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per transaction, boxed in State
enum AfterStaging {
    /// Implicitly confirmed or confirmation disabled: done.
    Finish(Enrolled),
    /// Send certConf.
    Confirm { body: PkiBody, enrolled: Enrolled },
}

#[derive(Clone, Debug)]
enum Expect {
    /// The certificate response (after the request or a pollReq).
    CertRep,
    /// pkiconf after certConf; `refused` carries why we refused the certificate.
    PkiConf {
        enrolled: Box<Enrolled>,
        refused: Option<String>,
    },
}

/// An enrollment transaction (ir, cr, kur, ccr, p10cr).
#[derive(Debug)]
pub struct Enrollment {
    session: Session,
    request: EnrollmentRequest,
    state: State,
    cert_req_id: i64,
}

impl Enrollment {
    /// A transaction for `request`.
    pub fn new(
        config: Arc<TransactionConfig>,
        request: EnrollmentRequest,
    ) -> Result<Self, ClientError> {
        let cert_req_id = if request.kind == EnrollmentKind::P10cr {
            -1
        } else {
            0
        };
        Ok(Enrollment {
            session: Session::new(config)?,
            request,
            state: State::Start,
            cert_req_id,
        })
    }

    /// The transactionID.
    pub fn transaction_id(&self) -> &[u8] {
        self.session.transaction_id()
    }

    fn config(&self) -> &TransactionConfig {
        &self.session.config
    }

    fn first_body(&self) -> Result<PkiBody, ClientError> {
        let r = &self.request;
        let wrap: fn(CertReqMessages) -> PkiBody = match r.kind {
            EnrollmentKind::Ir => PkiBody::Ir,
            EnrollmentKind::Cr => PkiBody::Cr,
            EnrollmentKind::Kur => PkiBody::Kur,
            EnrollmentKind::Ccr => PkiBody::Ccr,
            EnrollmentKind::P10cr => {
                let csr = r
                    .csr
                    .clone()
                    .ok_or_else(|| ClientError::Local("p10cr needs a CSR".into()))?;
                return Ok(PkiBody::P10cr(csr));
            }
        };
        let mut template = r.template.clone();
        if let Some(k) = &r.public_key {
            template.public_key = Some(k.clone());
        }
        let mut msgs = cert_req_messages(template, r.controls.clone());
        if r.popo == PopoMethod::RaVerified {
            msgs[0].popo = Some(crate::builder::popo_ra_verified());
        }
        Ok(wrap(msgs))
    }

    fn send(
        &mut self,
        body: PkiBody,
        now: SystemTime,
        expect: Expect,
        implicit: bool,
    ) -> Result<Step<Enrolled>, ClientError> {
        let mut header = self.session.header(now, implicit)?;
        // certConf's hashAlg exists only in cmp2021 (RFC 9810 §5.3.18): pvno 3 then.
        if let PkiBody::CertConf(c) = &body {
            if c.iter().any(|s| s.hash_alg.is_some()) {
                header.pvno = crate::asn1::PVNO_CMP2021;
            }
        }
        let step = self.session.protect(PkiMessage::new(header, body))?;
        self.state = match &step {
            Step::Sign { .. } => State::Outgoing(expect),
            _ => State::Await(expect),
        };
        Ok(step)
    }

    fn poll(&mut self, now: SystemTime) -> Result<Step<Enrolled>, ClientError> {
        self.session.count_poll()?;
        let id = self.cert_req_id;
        self.send(PkiBody::PollReq(poll_req(id)), now, Expect::CertRep, false)
    }

    fn on_cert_rep(
        &mut self,
        rcv: &ReceivedMessage,
        now: SystemTime,
    ) -> Result<Step<Enrolled>, ClientError> {
        let msg = rcv.message();
        match &msg.body {
            PkiBody::Error(e) => {
                if e.pki_status_info.status == PkiStatus::WAITING {
                    // RFC 9483 §4.4 delayed delivery: poll for the answer.
                    if self.session.polling() {
                        return Err(ResponseError::Content(
                            "a second 'waiting' status after polling began".into(),
                        )
                        .into());
                    }
                    self.cert_req_id = -1;
                    self.session.start_delayed_delivery();
                    return self.poll(now);
                }
                return Err(ClientError::Refused(Box::new(
                    ServerRefusal::from_error_msg(e, msg.header.pvno),
                )));
            }
            PkiBody::PollRep(reps) => {
                let wait = self.session.poll_wait(reps)?;
                self.state = State::PollWait;
                return Ok(Step::Wait(wait));
            }
            _ => {}
        }
        let rep: &CertRepMessage = msg
            .body
            .cert_rep()
            // Session::check admitted only the certificate response (error and pollRep are
            // handled above).
            .ok_or_else(|| {
                ClientError::Local(format!(
                    "internal error: a {} reached the certificate response handling",
                    msg.body.name()
                ))
            })?;
        let resp: &CertResponse = match rep.response.as_slice() {
            [one] => one,
            [] => {
                return Err(
                    ResponseError::Content("the response holds no CertResponse".into()).into(),
                );
            }
            many => {
                return Err(ResponseError::Content(format!(
                    "the response holds {} CertResponses, expected one",
                    many.len()
                ))
                .into());
            }
        };
        // p10cr: servers answer -1 (RFC 9483) or 0. An id that does not fit i64 matches
        // nothing; the message shows it as received.
        let id_ok = |id: i64| {
            id == self.cert_req_id
                || (self.request.kind == EnrollmentKind::P10cr && id == 0)
                || self.session.polling() && id == 0
        };
        let id = i64::try_from(&resp.cert_req_id)
            .ok()
            .filter(|&id| id_ok(id))
            .ok_or_else(|| {
                ResponseError::Content(format!(
                    "certReqId {} does not match ours ({})",
                    resp.cert_req_id, self.cert_req_id
                ))
            })?;
        let status = resp.status.status;
        if status == PkiStatus::WAITING {
            if self.session.polling() {
                return Err(ResponseError::Content(
                    "a second 'waiting' status after polling began".into(),
                )
                .into());
            }
            if id != -1 {
                self.cert_req_id = id;
            }
            return self.poll(now);
        }
        if !status.is_granted() {
            return Err(ClientError::Refused(Box::new(ServerRefusal::from_status(
                msg.body.name(),
                &resp.status,
                msg.header.pvno,
            ))));
        }
        let cert = match resp
            .certified_key_pair
            .as_ref()
            .map(|c| &c.cert_or_enc_cert)
        {
            Some(CertOrEncCert::Certificate(c)) => c.clone(),
            Some(CertOrEncCert::EncryptedCert(_)) => {
                return Err(ResponseError::Content(
                    "encrypted certificates (encrCert POP) are not supported".into(),
                )
                .into());
            }
            None => {
                return Err(ResponseError::Content(format!(
                    "{} status without a certificate",
                    status
                ))
                .into());
            }
        };
        let enrolled = Enrolled {
            certificate: cert.clone(),
            ca_pubs: rep.ca_pubs.clone().unwrap_or_default(),
            extra_certs: msg.extra_certs.clone().unwrap_or_default(),
            implicitly_confirmed: false,
            confirmed: true,
            status,
            bootstrap_root: self.session.bootstrap_root.clone(),
        };
        // Is it ours? Does it chain where we were told it must?
        let ours = match (&self.request.public_key, &self.request.csr) {
            (Some(k), _) => Some(k.clone()),
            (None, Some(csr)) => Some(
                csr.value()
                    .certification_request_info
                    .subject_pk_info
                    .clone(),
            ),
            (None, None) => None,
        };
        let mut refusal = None;
        if ours
            .as_ref()
            .is_some_and(|k| k != cert.subject_public_key_info())
        {
            refusal = Some("its public key is not ours".to_owned());
        } else if let Some(root) = &enrolled.bootstrap_root {
            let mut inter = enrolled.extra_certs.clone();
            inter.extend(enrolled.ca_pubs.iter().cloned());
            if let Err(e) = self.config().paths.verify_certificates(
                &cert,
                &inter,
                std::slice::from_ref(root),
                now,
                &self.config().trust.path_policy,
            ) {
                refusal = Some(format!(
                    "it does not chain to the root taken from the ip's extraCerts: {e}"
                ));
            }
        }
        if refusal.is_none() && !self.config().out_trusted.is_empty() {
            let mut inter = enrolled.extra_certs.clone();
            inter.extend(enrolled.ca_pubs.iter().cloned());
            if let Err(e) = self.config().paths.verify_certificates(
                &cert,
                &inter,
                &self.config().out_trusted,
                now,
                &self.config().trust.path_policy,
            ) {
                refusal = Some(format!("it does not chain to the out-trusted anchors: {e}"));
            }
        }
        let (hash, hash_alg) = cert_hash(&cert, self.config().primitives.as_ref())?;
        if refusal.is_none() {
            let granted = msg.header.has_implicit_confirm();
            let after = if self.config().implicit_confirm && granted {
                AfterStaging::Finish(Enrolled {
                    implicitly_confirmed: true,
                    ..enrolled
                })
            } else if self.config().disable_confirm {
                AfterStaging::Finish(Enrolled {
                    confirmed: false,
                    ..enrolled
                })
            } else {
                AfterStaging::Confirm {
                    body: PkiBody::CertConf(cert_conf(hash, id, None, hash_alg)),
                    enrolled,
                }
            };
            self.state = State::Staging(Box::new(after));
            return Ok(Step::Stage {
                certificate: cert,
                chain: msg.extra_certs.clone().unwrap_or_default(),
            });
        }
        let status_info = refusal
            .as_ref()
            .map(|why| PkiStatusInfo::rejection([FailureBit::IncorrectData], Some(why)));
        let body = PkiBody::CertConf(cert_conf(hash, id, status_info, hash_alg));
        self.send(
            body,
            now,
            Expect::PkiConf {
                enrolled: Box::new(enrolled),
                refused: refusal,
            },
            false,
        )
    }
}

impl Transaction for Enrollment {
    type Output = Enrolled;

    fn start(&mut self, now: SystemTime) -> Result<Step<Enrolled>, ClientError> {
        if !matches!(self.state, State::Start) {
            return Err(ClientError::Local(
                "the transaction was already started".into(),
            ));
        }
        let body = self.first_body()?;
        if let (PopoMethod::Signature(alg), Some(req)) = (self.request.popo, body.cert_req()) {
            // POPOSigningKey over the DER of certReq (RFC 4211 §4.1, no poposkInput).
            let data = rasn::der::encode(&req[0].cert_req)
                .map_err(|e| ClientError::Local(format!("encoding certReq: {e}")))?;
            let header = self.session.header(now, self.config().implicit_confirm)?;
            self.state = State::AwaitPop(Box::new(PkiMessage::new(header, body)));
            return Ok(Step::Sign {
                purpose: SignPurpose::ProofOfPossession,
                alg,
                data,
            });
        }
        let implicit = self.config().implicit_confirm;
        self.send(body, now, Expect::CertRep, implicit)
    }

    fn on_signature(
        &mut self,
        signature: Vec<u8>,
        _now: SystemTime,
    ) -> Result<Step<Enrolled>, ClientError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitPop(msg) => {
                let mut msg = *msg;
                let PopoMethod::Signature(alg) = self.request.popo else {
                    return Err(ClientError::Local("unexpected POP signature".into()));
                };
                let reqs = match &mut msg.body {
                    PkiBody::Ir(r) | PkiBody::Cr(r) | PkiBody::Kur(r) | PkiBody::Ccr(r) => r,
                    _ => {
                        return Err(ClientError::Local(
                            "POP for a body without CertReqMsg".into(),
                        ));
                    }
                };
                reqs[0].popo = Some(ProofOfPossession::Signature(PopoSigningKey {
                    poposk_input: None,
                    algorithm_identifier: alg.algorithm_identifier(),
                    signature: BitString::from_vec(signature),
                }));
                let step = self.session.protect(msg)?;
                self.state = match &step {
                    Step::Sign { .. } => State::Outgoing(Expect::CertRep),
                    _ => State::Await(Expect::CertRep),
                };
                Ok(step)
            }
            State::Outgoing(expect) => {
                self.state = State::Await(expect);
                self.session.signed(signature)
            }
            other => {
                self.state = other;
                Err(ClientError::Local(
                    "a signature arrived that was not asked for".into(),
                ))
            }
        }
    }

    fn on_response(
        &mut self,
        response: &[u8],
        now: SystemTime,
    ) -> Result<Step<Enrolled>, ClientError> {
        let expect = match std::mem::replace(&mut self.state, State::Done) {
            State::Await(e) => e,
            other => {
                self.state = other;
                return Err(ClientError::Local(
                    "a response arrived while none was expected".into(),
                ));
            }
        };
        match expect {
            Expect::CertRep => {
                let mut expected = vec![self.request.kind.response()];
                if self.session.polling() {
                    expected.push("pollRep");
                }
                let rcv = self.session.check(response, now, &expected)?;
                self.on_cert_rep(&rcv, now)
            }
            Expect::PkiConf { enrolled, refused } => {
                let rcv = self.session.check(response, now, &["pkiconf"])?;
                if let PkiBody::Error(e) = &rcv.message().body {
                    return Err(ClientError::Refused(Box::new(
                        ServerRefusal::from_error_msg(e, rcv.message().header.pvno),
                    )));
                }
                match refused {
                    Some(reason) => Err(ClientError::CertificateRefused { reason }),
                    None => Ok(Step::Done(*enrolled)),
                }
            }
        }
    }

    fn on_wait_elapsed(&mut self, now: SystemTime) -> Result<Step<Enrolled>, ClientError> {
        match self.state {
            State::PollWait => self.poll(now),
            _ => Err(ClientError::Local("no wait was asked for".into())),
        }
    }

    fn take_warnings(&mut self) -> Vec<String> {
        self.session.take_warnings()
    }

    fn mac_key_needed(
        &mut self,
        response: Option<&[u8]>,
    ) -> Option<crate::protection::MacKeyDerivation> {
        self.session.mac_key_needed(response)
    }

    fn on_mac_key(&mut self, key: crate::protection::MacKey) {
        self.session.add_mac_key(key)
    }

    fn on_staged(&mut self, now: SystemTime) -> Result<Step<Enrolled>, ClientError> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Staging(after) => match *after {
                AfterStaging::Finish(enrolled) => Ok(Step::Done(enrolled)),
                AfterStaging::Confirm { body, enrolled } => self.send(
                    body,
                    now,
                    Expect::PkiConf {
                        enrolled: Box::new(enrolled),
                        refused: None,
                    },
                    false,
                ),
            },
            other => {
                self.state = other;
                Err(ClientError::Local("nothing was staged".into()))
            }
        }
    }
}

/// Saving and restoring an unfinished enrollment across a restart (see
/// [`super::TransactionState`]).
impl Enrollment {
    /// The state to persist now that `sent` — the request of the last [`Step::Send`] — is
    /// about to leave; `key` and `ca` (the new key's locator, the CA's URL) are the caller's
    /// and kept with it. An error when the transaction is not waiting for a response, or
    /// when it refused the certificate (certConf with a rejection: nothing to resume).
    pub fn save_state(
        &self,
        sent: &[u8],
        key: &str,
        ca: &str,
    ) -> Result<super::TransactionState, ClientError> {
        use super::snapshot::Phase;
        let phase = match &self.state {
            State::Await(Expect::CertRep) if self.session.polling() => Phase::Polling,
            State::Await(Expect::CertRep) => Phase::Requested,
            State::Await(Expect::PkiConf {
                enrolled,
                refused: None,
            }) => Phase::Confirming {
                certificate: enrolled.certificate.der().to_vec(),
            },
            _ => {
                return Err(ClientError::Local(
                    "the transaction is not waiting for a response it could resume with".into(),
                ));
            }
        };
        let p = self.session.parts();
        Ok(super::TransactionState {
            kind: self.request.kind,
            transaction_id: p.transaction_id,
            first_nonce: p.first_nonce,
            last_nonce: p.last_nonce,
            peer_nonce: p.peer_nonce,
            request: sent.to_vec(),
            phase,
            polls: p.polls,
            cert_req_id: self.cert_req_id,
            delayed_delivery: p.delayed_delivery,
            key: key.to_owned(),
            ca: ca.to_owned(),
        })
    }

    /// Continues a transaction saved with [`Enrollment::save_state`]: the caller sends
    /// `state.request` again, byte for byte, and hands the response to
    /// [`Transaction::on_response`]; from there on the transaction runs as if it had never
    /// stopped. `request` is the enrollment as it was asked for (its public key is checked
    /// against the issued certificate); its kind must be the saved one.
    pub fn resume(
        config: Arc<TransactionConfig>,
        request: EnrollmentRequest,
        state: &super::TransactionState,
    ) -> Result<Self, ClientError> {
        use super::snapshot::Phase;
        if request.kind != state.kind {
            return Err(ClientError::Local(format!(
                "the saved transaction is {:?}, the request {:?}: not the same kind",
                state.kind, request.kind
            )));
        }
        let expect = match &state.phase {
            Phase::Requested | Phase::Polling => Expect::CertRep,
            Phase::Confirming { certificate } => {
                let certificate = CmpCertificate::from_der(certificate).map_err(|e| {
                    ClientError::Local(format!(
                        "the saved transaction's certificate cannot be decoded: {e}"
                    ))
                })?;
                Expect::PkiConf {
                    enrolled: Box::new(Enrolled {
                        certificate,
                        ca_pubs: Vec::new(),
                        extra_certs: Vec::new(),
                        implicitly_confirmed: false,
                        confirmed: true,
                        status: PkiStatus::ACCEPTED,
                        bootstrap_root: None,
                    }),
                    refused: None,
                }
            }
        };
        Ok(Enrollment {
            session: Session::from_parts(config, state.session_parts()),
            request,
            state: State::Await(expect),
            cert_req_id: state.cert_req_id,
        })
    }
}
