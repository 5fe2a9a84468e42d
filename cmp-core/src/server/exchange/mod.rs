//! [`Exchange`]: the server machine for one request, from its bytes to the response bytes.

mod bodies;
mod reply;

use std::sync::Arc;
use std::time::SystemTime;

use rasn::types::{BitString, GeneralizedTime, Integer};
use rasn_pkix::GeneralName;

use super::checks::{
    Auth, Protection, Refusal, check_mac, check_message_time, check_protection, check_pvno,
    check_recipient, check_sender_nonce, protection_refusal,
};
use super::config::{ResponseProtection, ResponseSigner, ServerConfig};
use super::error::{DerivationError, IssuerError, ServerError, StoreError};
use super::issuer::{CertificateRecord, CertificateRequest, IssuedCertificate, Requester};
use super::pop::{check_csr_signature, check_pop};
use super::responses;
use super::store::{Authenticator, TransactionRecord, TransactionState};
use super::template::{Requested, check_csr, check_public_key, check_template};
use crate::asn1::{
    CertConfirmContent, CertId, CertReqMessages, CmpCertificate, ControlValue, CrlReason,
    FailureBit, InfoTypeAndValue, InfoValue, Pkcs10Request, PkiBody, PkiHeader, PkiMessage,
    PkiStatus, PkiStatusInfo, PollReqContent, ReceivedMessage, RevReqContent, oid,
};
use crate::builder::PkiHeaderBuilder;
use crate::crypto::{DigestAlgorithm, SignatureAlgorithm, constant_time_eq};
use crate::der::Reader;
use crate::names::names_equal;
use crate::protection::{MacKey, MacKeyDerivation, prepare_signature};
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
    /// Derive this MAC key (blocking work: up to about a second) on a bounded blocking pool,
    /// never on an async worker thread, and hand it to [`Exchange::on_mac_key`] — or
    /// [`DerivationError::Busy`] at once when the pool's queue is full. Only with
    /// [`MacDerivation::Step`](super::MacDerivation::Step).
    DeriveMacKey(MacKeyDerivation),
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
    /// Ask the [`Issuer`](super::Issuer) for its current CRL
    /// ([`Issuer::crl`](super::Issuer::crl)) and hand it to [`Exchange::on_crl`] (a genm
    /// crlStatusList, with [`GenpContent::crls`](super::GenpContent::crls)).
    CurrentCrl,
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

/// What a reservation ([`TransactionState::Reserved`]) was made for.
#[derive(Debug)]
enum Reserved {
    Issue(Box<(Enroll, CertificateRequest)>),
    Revoke {
        serial: Vec<u8>,
        reason: Option<CrlReason>,
        cert_id: CertId,
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
    /// The MAC key of the request's `reference`, with the loaded record.
    AwaitMacKey {
        reference: Vec<u8>,
        record: Option<TransactionRecord>,
    },
    AwaitCertificate(Lookup),
    /// The reservation saved, with what it is for.
    AwaitReserve(Box<(Reserved, TransactionRecord)>),
    AwaitIssue(Enroll),
    AwaitRevoke(CertId),
    AwaitCrl(Vec<InfoTypeAndValue>),
    AwaitSignature(Box<Pending>),
    AwaitSave(Vec<u8>),
    Done,
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::New => "not started",
            State::AwaitLoad => "waiting for the transaction record",
            State::AwaitMacKey { .. } => "waiting for a MAC key",
            State::AwaitCertificate(_) => "waiting for a certificate lookup",
            State::AwaitReserve(_) => "waiting for the reservation in the store",
            State::AwaitIssue(_) => "waiting for the issuer",
            State::AwaitRevoke(_) => "waiting for a revocation",
            State::AwaitCrl(_) => "waiting for the CRL",
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
/// start ─▶ Load ─▶ [DeriveMacKey | LookupCertificate: the signer]
///       ─▶ [LookupCertificate: kur's or rr's]
///       ─▶ [Save: the reservation ─▶ Issue | Revoke] ─▶ [Sign] ─▶ [Save] ─▶ Respond
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

    /// The decoded request, once [`start`](Exchange::start) read it (`None` before, or when
    /// the bytes are not a PKIMessage).
    pub fn request(&self) -> Option<&PkiMessage> {
        self.rcv.as_ref().map(|r| r.message())
    }

    /// Who the request's protection proved it came from, once that check passed (`None`
    /// before, when it failed, or for an identical retransmission answered from the store).
    pub fn authenticated(&self) -> Option<Requester> {
        self.auth.as_ref().map(|_| self.requester())
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

    /// Takes the key asked for by [`ServerStep::DeriveMacKey`] (or why there is none) and
    /// checks the request's MAC with it.
    pub fn on_mac_key(
        &mut self,
        key: Result<MacKey, DerivationError>,
    ) -> Result<ServerStep, ServerError> {
        let (reference, record) = match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitMacKey { reference, record } => (reference, record),
            other => {
                self.state = other;
                return Err(self.unexpected("a MAC key"));
            }
        };
        let key = match key {
            Ok(k) => k,
            Err(DerivationError::Busy) => {
                return self.refuse(Refusal::new(
                    FailureBit::SystemUnavail,
                    DerivationError::Busy.to_string(),
                ));
            }
            Err(DerivationError::Failed(e)) => return self.refuse(protection_refusal(e)),
        };
        let rcv = self.received()?;
        match check_mac(&rcv, reference, key) {
            Ok(auth) => self.auth = Some(auth),
            Err(r) => return self.refuse(r),
        }
        self.check_authenticated(record)
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
                self.reserve(Reserved::Revoke {
                    serial,
                    reason,
                    cert_id,
                })
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
        if self.config.test.poll_count > 0 {
            // Delayed delivery: `waiting` now, the certificate on the last pollReq.
            let body = responses::cert_rep_body(
                kind,
                responses::cert_status_only(id, PkiStatusInfo::with_status(PkiStatus::WAITING)),
            );
            let next = TransactionState::Polling {
                kind,
                cert_req_id: id,
                certificate: issued.certificate,
                polls_left: self.config.test.poll_count,
                implicit,
            };
            return self.reply(body, Some(next), false, Vec::new());
        }
        self.deliver(kind, id, cert, chain, implicit)
    }

    /// The certificate response granting `cert`.
    pub(super) fn deliver(
        &mut self,
        kind: EnrollmentKind,
        id: i64,
        cert: CmpCertificate,
        chain: Vec<CmpCertificate>,
        implicit: bool,
    ) -> Result<ServerStep, ServerError> {
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
                certificate: cert.der().to_vec(),
            }
        };
        let mut content = responses::cert_granted(id, cert, ca_pubs);
        if let (Some(forced), Some(response)) =
            (&self.config.test.cert_status, content.response.first_mut())
        {
            response.status = forced.status_info();
        }
        let body = responses::cert_rep_body(kind, content);
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

    /// Takes the answer to [`ServerStep::CurrentCrl`]: the issuer's CRL (DER), `None` when it
    /// has none.
    pub fn on_crl(
        &mut self,
        crl: Result<Option<Vec<u8>>, IssuerError>,
    ) -> Result<ServerStep, ServerError> {
        let itavs = match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitCrl(i) => i,
            other => {
                self.state = other;
                return Err(self.unexpected("a CRL"));
            }
        };
        let crl = match crl {
            Ok(Some(der)) => match rasn::der::decode::<rasn_pkix::CertificateList>(&der) {
                Ok(c) => Some(c),
                Err(e) => {
                    return self.refuse_and_close(Refusal::new(
                        FailureBit::SystemFailure,
                        format!("the issuer's CRL is malformed: {e}"),
                    ));
                }
            },
            Ok(None) => None,
            Err(e) => return self.refuse_and_close(issuer_refusal(&e)),
        };
        self.genp(&itavs, crl)
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

    /// Takes the answer to [`ServerStep::Save`]: of the response (then it is sent) or of the
    /// reservation made before issuing or revoking (then the issuer is asked; a full table or
    /// a lost race is refused, nothing issued).
    pub fn on_saved(&mut self, saved: Result<(), StoreError>) -> Result<ServerStep, ServerError> {
        let bytes = match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitSave(b) => b,
            State::AwaitReserve(reservation) => {
                let (reserved, record) = *reservation;
                if let Err(e) = saved {
                    return self.refuse(store_refusal(&e));
                }
                self.record = Some(record);
                return Ok(self.ask(reserved));
            }
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
            Ok(Protection::Checked(auth)) => self.auth = Some(auth),
            Ok(Protection::Derive {
                reference,
                derivation,
            }) => {
                self.state = State::AwaitMacKey { reference, record };
                return Ok(ServerStep::DeriveMacKey(derivation));
            }
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
        if self.config.test.send_error && !matches!(msg.body, PkiBody::Error(_)) {
            return self.refuse(Refusal::new(
                FailureBit::BadRequest,
                "this server answers every request with an error (--send-error)",
            ));
        }
        match &msg.body {
            PkiBody::Ir(r) => self.enroll(EnrollmentKind::Ir, r),
            PkiBody::Cr(r) => self.enroll(EnrollmentKind::Cr, r),
            PkiBody::Kur(r) => self.enroll(EnrollmentKind::Kur, r),
            PkiBody::Ccr(r) => self.enroll(EnrollmentKind::Ccr, r),
            PkiBody::P10cr(csr) => self.p10cr(csr),
            PkiBody::Rr(r) => self.rr(r),
            PkiBody::Genm(itavs) => self.genm(itavs),
            PkiBody::CertConf(c) => self.cert_conf(c),
            PkiBody::PollReq(p) => self.poll(p),
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
    match e {
        // The issuer's own words are the client's statusString.
        IssuerError::Refused { reason, .. } => Refusal::new(e.fail_info(), reason.clone()),
        other => Refusal::new(other.fail_info(), other.to_string()),
    }
}
