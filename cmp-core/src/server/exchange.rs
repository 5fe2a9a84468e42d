//! [`Exchange`]: the server machine for one request, from its bytes to the response bytes.

use std::sync::Arc;
use std::time::SystemTime;

use rasn::types::{BitString, GeneralizedTime, Integer};
use rasn_pkix::GeneralName;

use super::checks::{
    Auth, Refusal, check_message_time, check_protection, check_pvno, check_recipient,
    check_sender_nonce,
};
use super::config::{ResponseProtection, ResponseSigner, ServerConfig};
use super::error::{IssuerError, ServerError, StoreError};
use super::issuer::{CertificateRecord, CertificateRequest, IssuedCertificate, Requester};
use super::pop::{check_csr_signature, check_pop};
use super::responses;
use super::store::{Authenticator, TransactionRecord, TransactionState};
use super::template::{Requested, check_csr, check_public_key, check_template};
use crate::asn1::{
    CertConfirmContent, CertId, CertReqMessages, CmpCertificate, ControlValue, CrlReason,
    FailureBit, InfoTypeAndValue, InfoValue, Pkcs10Request, PkiBody, PkiHeader, PkiMessage,
    PkiStatusInfo, ReceivedMessage, RevReqContent, oid,
};
use crate::builder::PkiHeaderBuilder;
use crate::crypto::{DigestAlgorithm, SignatureAlgorithm, constant_time_eq};
use crate::der::Reader;
use crate::names::names_equal;
use crate::protection::{MacSettings, ProtectionAlg, prepare_signature, protect_with_mac};
use crate::transaction::EnrollmentKind;
use crate::transport::PeerInfo;

/// The most entries a genm may ask about.
pub const MAX_GENM_ENTRIES: usize = 16;

/// What the driver does next for an [`Exchange`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum ServerStep {
    /// Load the record of this transactionID from the
    /// [`TransactionStore`](super::TransactionStore) and hand it to
    /// [`Exchange::on_loaded`].
    Load {
        /// The transactionID.
        transaction_id: Vec<u8>,
    },
    /// Ask the [`Issuer`](super::Issuer) for the certificate with this serial number (the
    /// request's signer when this CA issued it, kur's oldCertID, rr's certificate) and hand the
    /// answer to [`Exchange::on_certificate`].
    LookupCertificate {
        /// The serial number (DER INTEGER content octets).
        serial: Vec<u8>,
    },
    /// Ask the [`Issuer`](super::Issuer) to issue a certificate and hand the answer to
    /// [`Exchange::on_issued`].
    Issue(CertificateRequest),
    /// Ask the [`Issuer`](super::Issuer) to revoke a certificate and hand the answer to
    /// [`Exchange::on_revoked`].
    Revoke {
        /// The serial number (DER INTEGER content octets).
        serial: Vec<u8>,
        /// The reason the client gave.
        reason: Option<CrlReason>,
    },
    /// Sign `data` with the key of the configured
    /// [`ResponseSigner`](super::ResponseSigner) and hand the signature to
    /// [`Exchange::on_signature`].
    Sign {
        /// The algorithm.
        alg: SignatureAlgorithm,
        /// The bytes to sign (the response's ProtectedPart).
        data: Vec<u8>,
    },
    /// Save `record` in the store if its stored version is still `expected` (`None`: no
    /// record may exist) and hand the result to [`Exchange::on_saved`]. The response leaves
    /// only after this.
    Save {
        /// The record.
        record: TransactionRecord,
        /// The version it replaces.
        expected: Option<u64>,
    },
    /// Send these bytes to the client; the exchange is over.
    Respond(Vec<u8>),
}

#[derive(Clone, Debug)]
struct Enroll {
    kind: EnrollmentKind,
    cert_req_id: i64,
    requested: Requested,
}

#[derive(Clone, Debug)]
enum Lookup {
    /// The signer of the request, when this CA issued it: is it revoked?
    Signer,
    Kur(Enroll),
    Rr {
        serial: Vec<u8>,
        cert_id: CertId,
        reason: Option<CrlReason>,
    },
}

#[derive(Debug)]
struct Pending {
    msg: PkiMessage,
    next: Option<TransactionState>,
}

#[derive(Debug)]
enum State {
    New,
    AwaitLoad,
    AwaitCertificate(Lookup),
    AwaitIssue(Enroll),
    AwaitRevoke(CertId),
    AwaitSignature(Box<Pending>),
    AwaitSave(Vec<u8>),
    Done,
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::New => "not started",
            State::AwaitLoad => "waiting for the transaction record",
            State::AwaitCertificate(_) => "waiting for a certificate lookup",
            State::AwaitIssue(_) => "waiting for the issuer",
            State::AwaitRevoke(_) => "waiting for a revocation",
            State::AwaitSignature(_) => "waiting for a signature",
            State::AwaitSave(_) => "waiting for the store",
            State::Done => "done",
        }
    }
}

/// The server machine for one request: the request's bytes, the time and the peer in, the
/// next [`ServerStep`] out, until [`ServerStep::Respond`].
///
/// ```text
/// start ─▶ Load ─▶ [LookupCertificate: the signer] ─▶ [LookupCertificate: kur's or rr's]
///       ─▶ [Issue | Revoke] ─▶ [Sign] ─▶ [Save] ─▶ Respond
/// ```
/// Every request gets a response: a refusal is an `error` message or a rejection status; a
/// method that returns [`ServerError`] means the driver misused the machine or the response
/// could not be built, and the driver sends [`Exchange::failure_response`].
#[derive(Debug)]
pub struct Exchange {
    config: Arc<ServerConfig>,
    peer: PeerInfo,
    request: Vec<u8>,
    now: SystemTime,
    rcv: Option<Arc<ReceivedMessage>>,
    auth: Option<Auth>,
    record: Option<TransactionRecord>,
    response_nonce: Vec<u8>,
    refusal: Option<Refusal>,
    state: State,
}

fn generalized(now: SystemTime) -> Option<GeneralizedTime> {
    let secs = now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
    chrono::DateTime::from_timestamp(i64::try_from(secs).ok()?, 0).map(|t| t.fixed_offset())
}

/// The content octets of a DER INTEGER: how serial numbers cross the issuer interface.
pub(crate) fn integer_octets(i: &Integer) -> Vec<u8> {
    rasn::der::encode(i)
        .ok()
        .and_then(|der| Reader::new(&der, 0).read().ok().map(|t| t.value.to_vec()))
        .unwrap_or_default()
}

fn mac_settings(alg: &ProtectionAlg) -> Option<MacSettings> {
    match alg {
        ProtectionAlg::PasswordBasedMac {
            salt,
            owf,
            iterations,
            mac,
        } => Some(MacSettings::PasswordBasedMac {
            owf: *owf,
            mac: *mac,
            iterations: *iterations,
            salt_len: salt.len(),
        }),
        ProtectionAlg::Pbmac1 {
            salt,
            iterations,
            key_len,
            prf,
            mac,
        } => Some(MacSettings::Pbmac1 {
            prf: *prf,
            mac: *mac,
            iterations: *iterations,
            salt_len: salt.len(),
            key_len: *key_len,
        }),
        ProtectionAlg::Signature(_) => None,
    }
}

enum Protect {
    Mac {
        secret: zeroize::Zeroizing<Vec<u8>>,
        settings: MacSettings,
    },
    Sign(Box<ResponseSigner>),
    None,
}

impl Exchange {
    /// An exchange for `request`, received from `peer`.
    pub fn new(config: Arc<ServerConfig>, request: Vec<u8>, peer: PeerInfo) -> Self {
        Exchange {
            config,
            peer,
            request,
            now: SystemTime::UNIX_EPOCH,
            rcv: None,
            auth: None,
            record: None,
            response_nonce: Vec::new(),
            refusal: None,
            state: State::New,
        }
    }

    /// Who sent the request.
    pub fn peer(&self) -> &PeerInfo {
        &self.peer
    }

    /// Why the request was refused, once the response is built; `None` when it was granted
    /// (or answered from the store).
    pub fn refusal(&self) -> Option<&Refusal> {
        self.refusal.as_ref()
    }

    /// Decodes the request; the first step is [`ServerStep::Load`] (or a response when the
    /// request cannot be read or has no transactionID). `now` is the time of the whole
    /// exchange.
    pub fn start(&mut self, now: SystemTime) -> Result<ServerStep, ServerError> {
        if !matches!(self.state, State::New) {
            return Err(self.unexpected("start"));
        }
        self.now = now;
        let rcv =
            match ReceivedMessage::decode_with_limits(&self.request, &self.config.decode_limits) {
                Ok(r) => Arc::new(r),
                Err(e) => {
                    return self.refuse(Refusal::new(
                        FailureBit::BadDataFormat,
                        format!("the request is not a PKIMessage: {e}"),
                    ));
                }
            };
        let tid = rcv
            .message()
            .header
            .transaction_id
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(<[u8]>::to_vec);
        self.rcv = Some(rcv);
        match tid {
            Some(transaction_id) => {
                self.state = State::AwaitLoad;
                Ok(ServerStep::Load { transaction_id })
            }
            None => self.check(None),
        }
    }

    /// Takes the answer to [`ServerStep::Load`].
    pub fn on_loaded(
        &mut self,
        loaded: Result<Option<TransactionRecord>, StoreError>,
    ) -> Result<ServerStep, ServerError> {
        if !matches!(self.state, State::AwaitLoad) {
            return Err(self.unexpected("a transaction record"));
        }
        match loaded {
            Ok(record) => self.check(record),
            Err(e) => self.refuse(store_refusal(&e)),
        }
    }

    /// Takes the answer to [`ServerStep::LookupCertificate`].
    pub fn on_certificate(
        &mut self,
        found: Result<Option<CertificateRecord>, IssuerError>,
    ) -> Result<ServerStep, ServerError> {
        let lookup = match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitCertificate(l) => l,
            other => {
                self.state = other;
                return Err(self.unexpected("a certificate"));
            }
        };
        match lookup {
            Lookup::Signer => match found {
                Ok(Some(r)) if r.revoked_at.is_some() => self.refuse(Refusal::new(
                    FailureBit::CertRevoked,
                    "the request is signed with a revoked certificate",
                )),
                Ok(_) => {
                    let record = self.record.take();
                    self.check_authenticated(record)
                }
                Err(e) => self.refuse(issuer_refusal(&e)),
            },
            Lookup::Kur(enroll) => {
                let (kind, id) = (enroll.kind, enroll.cert_req_id);
                let record = match found {
                    Ok(Some(r)) => r,
                    Ok(None) => {
                        return self.reject_cert(
                            kind,
                            id,
                            Refusal::new(
                                FailureBit::BadCertId,
                                "oldCertID names no certificate this CA issued",
                            ),
                        );
                    }
                    Err(e) => return self.reject_cert(kind, id, issuer_refusal(&e)),
                };
                if record.revoked_at.is_some() {
                    return self.reject_cert(
                        kind,
                        id,
                        Refusal::new(
                            FailureBit::CertRevoked,
                            "the certificate to update is revoked",
                        ),
                    );
                }
                let signed_by_it = matches!(&self.auth,
                    Some(Auth::Signature { signer }) if signer.der() == record.certificate.as_slice());
                if !signed_by_it {
                    return self.reject_cert(
                        kind,
                        id,
                        Refusal::new(
                            FailureBit::BadCertId,
                            "the kur is not signed with the certificate it updates",
                        ),
                    );
                }
                self.issue(enroll)
            }
            Lookup::Rr {
                serial,
                cert_id,
                reason,
            } => {
                let record = match found {
                    Ok(Some(r)) => r,
                    Ok(None) => {
                        return self.reject_rr(Refusal::new(
                            FailureBit::BadCertId,
                            "no certificate with this serial number was issued by this CA",
                        ));
                    }
                    Err(e) => return self.reject_rr(issuer_refusal(&e)),
                };
                if record.revoked_at.is_some() {
                    return self.reject_rr(Refusal::new(
                        FailureBit::CertRevoked,
                        "the certificate is already revoked",
                    ));
                }
                let authorized = match &self.auth {
                    Some(Auth::Signature { signer }) => {
                        signer.der() == record.certificate.as_slice()
                            || self
                                .config
                                .ra_certs
                                .iter()
                                .any(|ra| ra.der() == signer.der())
                    }
                    _ => false,
                };
                if !authorized {
                    return self.reject_rr(Refusal::new(
                        FailureBit::NotAuthorized,
                        "only the certificate's holder (signing with it) or a registration authority may revoke it",
                    ));
                }
                self.state = State::AwaitRevoke(cert_id);
                Ok(ServerStep::Revoke { serial, reason })
            }
        }
    }

    /// Takes the answer to [`ServerStep::Issue`].
    pub fn on_issued(
        &mut self,
        issued: Result<IssuedCertificate, IssuerError>,
    ) -> Result<ServerStep, ServerError> {
        let enroll = match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitIssue(e) => e,
            other => {
                self.state = other;
                return Err(self.unexpected("an issued certificate"));
            }
        };
        let (kind, id) = (enroll.kind, enroll.cert_req_id);
        let issued = match issued {
            Ok(i) => i,
            Err(e) => return self.reject_cert(kind, id, issuer_refusal(&e)),
        };
        let parsed = CmpCertificate::from_der(&issued.certificate).and_then(|cert| {
            let chain = issued
                .chain
                .iter()
                .map(|c| CmpCertificate::from_der(c))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((cert, chain))
        });
        let (cert, chain) = match parsed {
            Ok(p) => p,
            Err(e) => {
                return self.reject_cert(
                    kind,
                    id,
                    Refusal::new(
                        FailureBit::SystemFailure,
                        format!("the issuer returned a malformed certificate: {e}"),
                    ),
                );
            }
        };
        let implicit = self.config.grant_implicit_confirm
            && self
                .rcv
                .as_ref()
                .is_some_and(|r| r.message().header.has_implicit_confirm());
        let ca_pubs = if kind == EnrollmentKind::Kur {
            Vec::new()
        } else {
            self.config.ca_pubs.clone()
        };
        let next = if implicit {
            TransactionState::Closed
        } else {
            TransactionState::AwaitingConfirmation {
                cert_req_id: id,
                certificate: issued.certificate.clone(),
            }
        };
        let body = responses::cert_rep_body(kind, responses::cert_granted(id, cert, ca_pubs));
        self.reply(body, Some(next), implicit, chain)
    }

    /// Takes the answer to [`ServerStep::Revoke`].
    pub fn on_revoked(
        &mut self,
        revoked: Result<(), IssuerError>,
    ) -> Result<ServerStep, ServerError> {
        let cert_id = match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitRevoke(c) => c,
            other => {
                self.state = other;
                return Err(self.unexpected("a revocation"));
            }
        };
        match revoked {
            Ok(()) => {
                let body = responses::rp(PkiStatusInfo::accepted(), Some(cert_id));
                self.reply(body, Some(TransactionState::Closed), false, Vec::new())
            }
            Err(e) => self.reject_rr(issuer_refusal(&e)),
        }
    }

    /// Takes the signature asked for by [`ServerStep::Sign`].
    pub fn on_signature(&mut self, signature: Vec<u8>) -> Result<ServerStep, ServerError> {
        let pending = match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitSignature(p) => p,
            other => {
                self.state = other;
                return Err(self.unexpected("a signature"));
            }
        };
        let Pending { mut msg, next } = *pending;
        msg.protection = Some(BitString::from_vec(signature));
        let bytes = msg.to_der()?;
        self.protected(bytes, next)
    }

    /// Takes the answer to [`ServerStep::Save`].
    pub fn on_saved(&mut self, saved: Result<(), StoreError>) -> Result<ServerStep, ServerError> {
        let bytes = match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitSave(b) => b,
            other => {
                self.state = other;
                return Err(self.unexpected("a save result"));
            }
        };
        match saved {
            Ok(()) => Ok(ServerStep::Respond(bytes)),
            Err(e) => self.refuse(store_refusal(&e)),
        }
    }

    /// An unprotected `error` message with systemFailure for a request the machine could not
    /// answer (after a [`ServerError`]), echoing what it can of the request's header.
    pub fn failure_response(&self, error: &ServerError) -> Vec<u8> {
        let mut b = PkiHeaderBuilder::new().sender_name(self.config.name.clone());
        if let Some(h) = self.rcv.as_ref().map(|r| &r.message().header) {
            b = b.recipient(h.sender.clone());
            if let Some(t) = &h.transaction_id {
                b = b.transaction_id(t.to_vec());
            }
            if let Some(n) = &h.sender_nonce {
                b = b.recip_nonce(n.to_vec());
            }
        }
        if let Some(t) = generalized(self.now) {
            b = b.message_time(t);
        }
        let body = responses::error(
            PkiStatusInfo::rejection([FailureBit::SystemFailure], Some(&error.to_string())),
            None,
        );
        PkiMessage::new(b.build(), body)
            .to_der()
            .unwrap_or_default()
    }

    fn unexpected(&self, what: &'static str) -> ServerError {
        ServerError::UnexpectedInput {
            what,
            state: self.state.name(),
        }
    }

    fn received(&self) -> Result<Arc<ReceivedMessage>, ServerError> {
        self.rcv.clone().ok_or(ServerError::UnexpectedInput {
            what: "a decoded request",
            state: self.state.name(),
        })
    }

    /// The checks, in the order of the module documentation.
    fn check(&mut self, record: Option<TransactionRecord>) -> Result<ServerStep, ServerError> {
        if let Some(r) = &record {
            if r.last_request == self.request {
                // An identical retransmission: the bytes were checked when they first came.
                self.state = State::Done;
                return Ok(ServerStep::Respond(r.last_response.clone()));
            }
        }
        let rcv = self.received()?;
        match check_protection(&self.config, &rcv, self.now) {
            Ok(auth) => self.auth = Some(auth),
            Err(r) => return self.refuse(r),
        }
        // A signer this CA issued must not be revoked: ask the issuer.
        if let Some(Auth::Signature { signer }) = &self.auth {
            let ours = self.is_our_name(&GeneralName::DirectoryName(signer.issuer().clone()))
                && !self.config.ca_certs.iter().any(|c| c.der() == signer.der());
            if ours {
                let serial = integer_octets(signer.serial_number());
                self.record = record;
                self.state = State::AwaitCertificate(Lookup::Signer);
                return Ok(ServerStep::LookupCertificate { serial });
            }
        }
        self.check_authenticated(record)
    }

    /// The checks after the protection's.
    fn check_authenticated(
        &mut self,
        record: Option<TransactionRecord>,
    ) -> Result<ServerStep, ServerError> {
        let rcv = self.received()?;
        let msg = rcv.message();
        let header = &msg.header;
        let auth = self.auth.clone().unwrap_or(Auth::Unprotected);
        let header_ok = check_recipient(&self.config, header, &auth)
            .and_then(|()| check_pvno(header))
            .and_then(|()| check_message_time(&self.config, header, self.now));
        if let Err(r) = header_ok {
            return self.refuse(r);
        }
        if header
            .transaction_id
            .as_deref()
            .is_none_or(<[u8]>::is_empty)
        {
            return self.refuse(Refusal::new(
                FailureBit::BadRequest,
                "the request has no transactionID",
            ));
        }
        let continuation = matches!(
            msg.body,
            PkiBody::CertConf(_) | PkiBody::PollReq(_) | PkiBody::Error(_)
        );
        match (&record, continuation) {
            (Some(_), false) => {
                return self.refuse(Refusal::new(
                    FailureBit::TransactionIdInUse,
                    "the transactionID is in use by another transaction",
                ));
            }
            (Some(r), true) if Some(&r.authenticator) != self.authenticator().as_ref() => {
                return self.refuse(Refusal::new(
                    FailureBit::TransactionIdInUse,
                    "the transactionID belongs to a transaction of another client",
                ));
            }
            (None, true) if !matches!(msg.body, PkiBody::Error(_)) => {
                return self.refuse(Refusal::new(
                    FailureBit::BadRequest,
                    format!(
                        "{} for a transaction this server does not know (or has forgotten)",
                        msg.body.name()
                    ),
                ));
            }
            _ => {}
        }
        if let Err(r) = check_sender_nonce(header) {
            return self.refuse(r);
        }
        if let (Some(r), PkiBody::CertConf(_) | PkiBody::PollReq(_)) = (&record, &msg.body) {
            if header.recip_nonce.as_deref() != Some(r.response_nonce.as_slice()) {
                return self.refuse(Refusal::new(
                    FailureBit::BadRecipientNonce,
                    "recipNonce is not the senderNonce of this server's last response",
                ));
            }
        }
        self.record = record;
        match &msg.body {
            PkiBody::Ir(r) => self.enroll(EnrollmentKind::Ir, r),
            PkiBody::Cr(r) => self.enroll(EnrollmentKind::Cr, r),
            PkiBody::Kur(r) => self.enroll(EnrollmentKind::Kur, r),
            PkiBody::Ccr(r) => self.enroll(EnrollmentKind::Ccr, r),
            PkiBody::P10cr(csr) => self.p10cr(csr),
            PkiBody::Rr(r) => self.rr(r),
            PkiBody::Genm(itavs) => self.genm(itavs),
            PkiBody::CertConf(c) => self.cert_conf(c),
            PkiBody::PollReq(_) => self.refuse(Refusal::new(
                FailureBit::BadRequest,
                "no response is pending: this server answers at once",
            )),
            PkiBody::Error(_) => {
                // RFC 9810 §5.3.21: a client's error message ends the transaction; the server
                // confirms it.
                self.reply(
                    responses::pki_conf(),
                    Some(TransactionState::Closed),
                    false,
                    Vec::new(),
                )
            }
            other => self.refuse(Refusal::new(
                FailureBit::BadRequest,
                format!("a server does not accept {} messages", other.name()),
            )),
        }
    }

    fn authenticator(&self) -> Option<Authenticator> {
        Some(match self.auth.as_ref()? {
            Auth::Mac { reference, .. } => Authenticator::Reference(reference.clone()),
            Auth::Signature { signer } => Authenticator::Certificate(signer.der().to_vec()),
            Auth::Unprotected => Authenticator::Unauthenticated,
        })
    }

    fn requester(&self) -> Requester {
        match &self.auth {
            Some(Auth::Mac { reference, .. }) => Requester::Reference(reference.clone()),
            Some(Auth::Signature { signer }) => Requester::Certificate(signer.der().to_vec()),
            _ => Requester::Unauthenticated,
        }
    }

    fn enroll(
        &mut self,
        kind: EnrollmentKind,
        reqs: &CertReqMessages,
    ) -> Result<ServerStep, ServerError> {
        let [req] = reqs.as_slice() else {
            return self.refuse_and_close(Refusal::new(
                FailureBit::BadRequest,
                format!(
                    "the request holds {} CertReqMsg, this server takes exactly one",
                    reqs.len()
                ),
            ));
        };
        let Ok(id) = i64::try_from(&req.cert_req.cert_req_id) else {
            return self.refuse_and_close(Refusal::new(
                FailureBit::BadRequest,
                "certReqId does not fit 64 bits",
            ));
        };
        let template = &req.cert_req.cert_template;
        if let Err(r) = check_public_key(template.public_key.as_ref()) {
            return self.reject_cert(kind, id, r);
        }
        let rcv = self.received()?;
        let auth = self.auth.clone().unwrap_or(Auth::Unprotected);
        let checked = template
            .public_key
            .as_ref()
            .ok_or_else(|| Refusal::new(FailureBit::BadCertTemplate, "no publicKey"))
            .and_then(|key| check_pop(&self.config, &rcv, req, key, &auth))
            .and_then(|()| check_template(template));
        let requested = match checked {
            Ok(r) => r,
            Err(r) => return self.reject_cert(kind, id, r),
        };
        let enroll = Enroll {
            kind,
            cert_req_id: id,
            requested,
        };
        if kind != EnrollmentKind::Kur {
            return self.issue(enroll);
        }
        // kur: the certificate to update is named by oldCertID, or else is the signer's.
        let old = req
            .cert_req
            .controls
            .iter()
            .flatten()
            .find(|c| *c.r#type == *oid::REG_CTRL_OLD_CERT_ID)
            .map(|c| c.control_value());
        let cert_id = match (old, &auth) {
            (Some(Ok(ControlValue::OldCertId(id))), _) => id,
            (Some(Ok(_) | Err(_)), _) => {
                return self.reject_cert(
                    kind,
                    id,
                    Refusal::new(FailureBit::BadRequest, "the oldCertID control is malformed"),
                );
            }
            (None, Auth::Signature { signer }) => CertId {
                issuer: GeneralName::DirectoryName(signer.issuer().clone()),
                serial_number: signer.serial_number().clone(),
            },
            (None, _) => {
                return self.reject_cert(
                    kind,
                    id,
                    Refusal::new(
                        FailureBit::BadCertId,
                        "a kur must name the certificate to update (oldCertID) and be signed with it",
                    ),
                );
            }
        };
        if !self.is_our_name(&cert_id.issuer) {
            return self.reject_cert(
                kind,
                id,
                Refusal::new(FailureBit::BadCertId, "oldCertID names another issuer"),
            );
        }
        let serial = integer_octets(&cert_id.serial_number);
        self.state = State::AwaitCertificate(Lookup::Kur(enroll));
        Ok(ServerStep::LookupCertificate { serial })
    }

    fn is_our_name(&self, name: &GeneralName) -> bool {
        match name {
            GeneralName::DirectoryName(n) => {
                names_equal(n, &self.config.name)
                    || self
                        .config
                        .ca_certs
                        .first()
                        .is_some_and(|c| names_equal(n, c.subject()))
            }
            _ => false,
        }
    }

    fn p10cr(&mut self, csr: &Pkcs10Request) -> Result<ServerStep, ServerError> {
        let kind = EnrollmentKind::P10cr;
        let checked = check_csr(csr).and_then(|requested| {
            check_csr_signature(self.config.primitives.as_ref(), csr).map(|()| requested)
        });
        match checked {
            Ok(requested) => self.issue(Enroll {
                kind,
                cert_req_id: -1,
                requested,
            }),
            Err(r) => self.reject_cert(kind, -1, r),
        }
    }

    fn issue(&mut self, enroll: Enroll) -> Result<ServerStep, ServerError> {
        let r = &enroll.requested;
        let encode = |what: &'static str, v: Result<Vec<u8>, rasn::error::EncodeError>| {
            v.map_err(|e| ServerError::Build(format!("encoding the requested {what}: {e}")))
        };
        let request = CertificateRequest {
            kind: enroll.kind,
            subject: encode("subject", rasn::der::encode(&r.subject))?,
            subject_alt_names: r.subject_alt_names.clone(),
            public_key: encode("public key", rasn::der::encode(&r.public_key))?,
            not_before: r.not_before,
            not_after: r.not_after,
            requester: self.requester(),
            now: self.now,
        };
        self.state = State::AwaitIssue(enroll);
        Ok(ServerStep::Issue(request))
    }

    fn rr(&mut self, details: &RevReqContent) -> Result<ServerStep, ServerError> {
        let [d] = details.as_slice() else {
            return self.reject_rr(Refusal::new(
                FailureBit::BadRequest,
                format!(
                    "the request holds {} RevDetails, this server takes exactly one",
                    details.len()
                ),
            ));
        };
        let t = &d.cert_details;
        let (Some(serial), Some(issuer)) = (&t.serial_number, &t.issuer) else {
            return self.reject_rr(Refusal::new(
                FailureBit::BadRequest,
                "certDetails must hold the serialNumber and issuer",
            ));
        };
        let issuer = GeneralName::DirectoryName(issuer.clone());
        if !self.is_our_name(&issuer) {
            return self.reject_rr(Refusal::new(
                FailureBit::BadCertId,
                "certDetails names another issuer",
            ));
        }
        let reason = d.crl_entry_details.as_ref().and_then(|exts| {
            exts.iter()
                .find(|e| *e.extn_id == *oid::CE_REASON_CODE)
                .and_then(|e| CrlReason::from_extension_value(&e.extn_value))
        });
        let octets = integer_octets(serial);
        self.state = State::AwaitCertificate(Lookup::Rr {
            serial: octets.clone(),
            cert_id: CertId {
                issuer,
                serial_number: serial.clone(),
            },
            reason,
        });
        Ok(ServerStep::LookupCertificate { serial: octets })
    }

    fn genm(&mut self, itavs: &[InfoTypeAndValue]) -> Result<ServerStep, ServerError> {
        if itavs.len() > MAX_GENM_ENTRIES {
            return self.refuse_and_close(Refusal::new(
                FailureBit::BadRequest,
                format!("the genm asks about more than {MAX_GENM_ENTRIES} things"),
            ));
        }
        let mut answers = Vec::with_capacity(itavs.len());
        for itav in itavs {
            let t: &rasn::types::Oid = &itav.info_type;
            let value = if t == oid::IT_CA_CERTS {
                InfoValue::CaCerts(
                    (!self.config.ca_certs.is_empty()).then(|| self.config.ca_certs.clone()),
                )
            } else if t == oid::IT_ROOT_CA_CERT {
                InfoValue::RootCaKeyUpdate(None)
            } else if t == oid::IT_CRL_STATUS_LIST {
                InfoValue::Crls(None)
            } else {
                // Nothing to say: the same type without a value (RFC 9483 §4.3).
                InfoValue::Other(itav.info_type.clone(), None)
            };
            answers.push(InfoTypeAndValue::from_value(&value)?);
        }
        self.reply(
            responses::genp(answers),
            Some(TransactionState::Closed),
            false,
            Vec::new(),
        )
    }

    fn cert_conf(&mut self, content: &CertConfirmContent) -> Result<ServerStep, ServerError> {
        let Some(TransactionState::AwaitingConfirmation {
            cert_req_id,
            certificate,
        }) = self.record.as_ref().map(|r| r.state.clone())
        else {
            return self.refuse(Refusal::new(
                FailureBit::BadRequest,
                "no certificate of this transaction awaits confirmation",
            ));
        };
        let status = match content.as_slice() {
            // An empty certConf rejects everything (RFC 9810 §5.3.18).
            [] => return self.confirmed(),
            [one] => one,
            more => {
                return self.refuse_and_close(Refusal::new(
                    FailureBit::BadRequest,
                    format!("certConf holds {} CertStatus, expected one", more.len()),
                ));
            }
        };
        if i64::try_from(&status.cert_req_id).ok() != Some(cert_req_id) {
            return self.refuse_and_close(Refusal::new(
                FailureBit::BadCertId,
                format!(
                    "certConf names certReqId {}, not {cert_req_id}",
                    status.cert_req_id
                ),
            ));
        }
        let cert = CmpCertificate::from_der(&certificate)
            .map_err(|e| ServerError::Build(format!("the stored certificate: {e}")))?;
        let primitives = self.config.primitives.as_ref();
        let expected = match &status.hash_alg {
            Some(alg) => match DigestAlgorithm::from_oid(&alg.algorithm) {
                Some(d) => primitives.digest(d, cert.der())?,
                None => {
                    return self.refuse_and_close(Refusal::new(
                        FailureBit::BadAlg,
                        "certConf's hashAlg is not supported",
                    ));
                }
            },
            None => {
                crate::transaction::cert_hash(&cert, primitives)
                    .map_err(|e| ServerError::Build(e.to_string()))?
                    .0
            }
        };
        if !constant_time_eq(&expected, &status.cert_hash) {
            return self.refuse_and_close(Refusal::new(
                FailureBit::BadCertId,
                "certHash does not match the issued certificate",
            ));
        }
        // A rejection by the client (a statusInfo with rejection) ends the transaction the
        // same way; the certificate stays issued (revoking it is left to the issuer's policy).
        self.confirmed()
    }

    fn confirmed(&mut self) -> Result<ServerStep, ServerError> {
        self.reply(
            responses::pki_conf(),
            Some(TransactionState::Closed),
            false,
            Vec::new(),
        )
    }

    /// A rejection CertResponse in ip/cp/kup/ccp; the transaction is closed.
    fn reject_cert(
        &mut self,
        kind: EnrollmentKind,
        id: i64,
        refusal: Refusal,
    ) -> Result<ServerStep, ServerError> {
        let status = PkiStatusInfo::rejection([refusal.fail_info], Some(&refusal.reason));
        self.refusal = Some(refusal);
        let body = responses::cert_rep_body(kind, responses::cert_status_only(id, status));
        self.reply(body, Some(TransactionState::Closed), false, Vec::new())
    }

    /// An rp with a rejection status; the transaction is closed.
    fn reject_rr(&mut self, refusal: Refusal) -> Result<ServerStep, ServerError> {
        let status = PkiStatusInfo::rejection([refusal.fail_info], Some(&refusal.reason));
        self.refusal = Some(refusal);
        self.reply(
            responses::rp(status, None),
            Some(TransactionState::Closed),
            false,
            Vec::new(),
        )
    }

    /// An error message; the store is not touched (the request did not pass the checks that
    /// would let it change a transaction).
    fn refuse(&mut self, refusal: Refusal) -> Result<ServerStep, ServerError> {
        let body = error_body(&refusal);
        self.refusal = Some(refusal);
        self.reply(body, None, false, Vec::new())
    }

    /// An error message that ends the transaction.
    fn refuse_and_close(&mut self, refusal: Refusal) -> Result<ServerStep, ServerError> {
        let body = error_body(&refusal);
        self.refusal = Some(refusal);
        self.reply(body, Some(TransactionState::Closed), false, Vec::new())
    }

    fn protection(&self) -> Result<Protect, ServerError> {
        if let (Some(Auth::Mac { secret, alg, .. }), ResponseProtection::AsRequest) =
            (&self.auth, self.config.response_protection)
        {
            if let Some(settings) = mac_settings(alg) {
                return Ok(Protect::Mac {
                    secret: secret.clone(),
                    settings,
                });
            }
        }
        if let Some(signer) = &self.config.signer {
            return Ok(Protect::Sign(Box::new(signer.clone())));
        }
        match &self.auth {
            Some(Auth::Signature { .. }) => Err(ServerError::Config(
                "a signed request needs a response signer".into(),
            )),
            Some(Auth::Mac { .. }) => Err(ServerError::Config(
                "signed responses need a response signer".into(),
            )),
            // Not authenticated: without a signer the answer goes out unprotected.
            _ => Ok(Protect::None),
        }
    }

    fn header(
        &mut self,
        implicit: bool,
        signer: Option<&ResponseSigner>,
    ) -> Result<PkiHeader, ServerError> {
        let mut nonce = vec![0u8; 16];
        self.config.primitives.fill_random(&mut nonce)?;
        self.response_nonce = nonce.clone();
        let sender = signer.map_or_else(|| self.config.name.clone(), |s| s.cert.subject().clone());
        let req = self.rcv.as_ref().map(|r| &r.message().header);
        let pvno = req
            .map(|h| h.pvno)
            .filter(|p| check_pvno_value(*p))
            .unwrap_or(crate::asn1::PVNO_CMP2000);
        let mut b = PkiHeaderBuilder::new()
            .pvno(pvno)
            .sender_name(sender)
            .sender_nonce(nonce);
        if let Some(t) = generalized(self.now) {
            b = b.message_time(t);
        }
        if let Some(h) = req {
            b = b.recipient(h.sender.clone());
            if let Some(t) = &h.transaction_id {
                b = b.transaction_id(t.to_vec());
            }
            if let Some(n) = &h.sender_nonce {
                b = b.recip_nonce(n.to_vec());
            }
        }
        match (signer, &self.auth) {
            (Some(s), _) => {
                if let Some(ski) = s.cert.subject_key_identifier() {
                    b = b.sender_kid(ski);
                }
            }
            (None, Some(Auth::Mac { reference, .. })) => b = b.sender_kid(reference.clone()),
            _ => {}
        }
        if implicit {
            b = b.implicit_confirm();
        }
        Ok(b.build())
    }

    /// Builds, protects and (with `next`) saves the response.
    fn reply(
        &mut self,
        body: PkiBody,
        next: Option<TransactionState>,
        implicit: bool,
        chain: Vec<CmpCertificate>,
    ) -> Result<ServerStep, ServerError> {
        let protect = self.protection()?;
        let signer = match &protect {
            Protect::Sign(s) => Some(s.as_ref()),
            _ => None,
        };
        let header = self.header(implicit, signer)?;
        let mut msg = PkiMessage::new(header, body);
        let mut extra: Vec<CmpCertificate> = Vec::new();
        if let Some(s) = signer {
            extra.push(s.cert.clone());
            extra.extend(s.chain.iter().cloned());
        }
        for c in chain {
            if !extra.iter().any(|e| e.der() == c.der()) {
                extra.push(c);
            }
        }
        msg.extra_certs = (!extra.is_empty()).then_some(extra);
        match protect {
            Protect::Mac { secret, settings } => {
                protect_with_mac(
                    &mut msg,
                    &secret,
                    &settings,
                    self.config.primitives.as_ref(),
                )?;
                let bytes = msg.to_der()?;
                self.protected(bytes, next)
            }
            Protect::Sign(s) => {
                let data = prepare_signature(&mut msg, s.alg)?;
                self.state = State::AwaitSignature(Box::new(Pending { msg, next }));
                Ok(ServerStep::Sign { alg: s.alg, data })
            }
            Protect::None => {
                let bytes = msg.to_der()?;
                self.protected(bytes, next)
            }
        }
    }

    /// The response is final: save the transaction (when `next` says how) or send it.
    fn protected(
        &mut self,
        bytes: Vec<u8>,
        next: Option<TransactionState>,
    ) -> Result<ServerStep, ServerError> {
        let (Some(state), Some(authenticator), Some(tid)) = (
            next,
            self.authenticator(),
            self.rcv.as_ref().and_then(|r| {
                r.message()
                    .header
                    .transaction_id
                    .as_deref()
                    .map(<[u8]>::to_vec)
            }),
        ) else {
            self.state = State::Done;
            return Ok(ServerStep::Respond(bytes));
        };
        let expected = self.record.as_ref().map(|r| r.version);
        let record = TransactionRecord {
            transaction_id: tid,
            version: expected.map_or(1, |v| v.wrapping_add(1)),
            state,
            authenticator,
            last_request: self.request.clone(),
            last_response: bytes.clone(),
            response_nonce: self.response_nonce.clone(),
            expires_at: self.now + self.config.transaction_ttl,
        };
        self.state = State::AwaitSave(bytes);
        Ok(ServerStep::Save { record, expected })
    }
}

fn check_pvno_value(pvno: i64) -> bool {
    pvno == crate::asn1::PVNO_CMP2000 || pvno == crate::asn1::PVNO_CMP2021
}

fn error_body(refusal: &Refusal) -> PkiBody {
    responses::error(
        PkiStatusInfo::rejection([refusal.fail_info], Some(&refusal.reason)),
        None,
    )
}

fn store_refusal(e: &StoreError) -> Refusal {
    let bit = match e {
        StoreError::Conflict => FailureBit::TransactionIdInUse,
        StoreError::Full { .. } => FailureBit::SystemUnavail,
        StoreError::Backend(_) => FailureBit::SystemFailure,
    };
    Refusal::new(bit, e.to_string())
}

fn issuer_refusal(e: &IssuerError) -> Refusal {
    Refusal::new(e.fail_info(), e.to_string())
}
