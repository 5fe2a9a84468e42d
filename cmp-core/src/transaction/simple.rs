//! One-round transactions: revocation (rr → rp) and general messages (genm → genp), with
//! RFC 9483 §4.4 delayed delivery (an error with status waiting, then polling).

use std::sync::Arc;
use std::time::SystemTime;

use super::config::TransactionConfig;
use super::session::{Session, Step, Transaction};
use crate::asn1::{
    CertTemplate, CmpCertificate, CrlReason, InfoTypeAndValue, PkiBody, PkiMessage, PkiStatus,
    ReceivedMessage, RevDetails, RevRepContent,
};
use crate::builder::poll_req;
use crate::error::{ClientError, ResponseError, ServerRefusal};

#[derive(Debug, PartialEq, Eq)]
enum State {
    Start,
    Outgoing,
    Await,
    PollWait,
    Done,
}

/// What the generic machinery needs from a one-round transaction.
trait OneRound {
    type Output;
    fn body(&self) -> PkiBody;
    fn response_name(&self) -> &'static str;
    fn finish(&self, rcv: &ReceivedMessage) -> Result<Self::Output, ClientError>;
}

#[derive(Debug)]
struct Machine<R> {
    session: Session,
    round: R,
    state: State,
}

impl<R: OneRound> Machine<R> {
    fn send(&mut self, body: PkiBody, now: SystemTime) -> Result<Step<R::Output>, ClientError> {
        let header = self.session.header(now, false)?;
        let step = self.session.protect(PkiMessage::new(header, body))?;
        self.state = if matches!(step, Step::Sign { .. }) {
            State::Outgoing
        } else {
            State::Await
        };
        Ok(step)
    }

    fn poll(&mut self, now: SystemTime) -> Result<Step<R::Output>, ClientError> {
        self.session.count_poll()?;
        self.send(PkiBody::PollReq(poll_req(-1)), now)
    }

    fn start(&mut self, now: SystemTime) -> Result<Step<R::Output>, ClientError> {
        if self.state != State::Start {
            return Err(ClientError::Local(
                "the transaction was already started".into(),
            ));
        }
        let body = self.round.body();
        self.send(body, now)
    }

    fn on_signature(&mut self, sig: Vec<u8>) -> Result<Step<R::Output>, ClientError> {
        if self.state != State::Outgoing {
            return Err(ClientError::Local(
                "a signature arrived that was not asked for".into(),
            ));
        }
        self.state = State::Await;
        self.session.signed(sig)
    }

    fn on_response(
        &mut self,
        bytes: &[u8],
        now: SystemTime,
    ) -> Result<Step<R::Output>, ClientError> {
        if self.state != State::Await {
            return Err(ClientError::Local(
                "a response arrived while none was expected".into(),
            ));
        }
        self.state = State::Done;
        let mut expected = vec![self.round.response_name()];
        if self.session.polling() {
            expected.push("pollRep");
        }
        let rcv = self.session.check(bytes, now, &expected)?;
        let msg = rcv.message();
        if let PkiBody::Error(e) = &msg.body {
            if e.pki_status_info.status == PkiStatus::WAITING {
                if self.session.polling() {
                    return Err(ResponseError::Content(
                        "a second 'waiting' status after polling began".into(),
                    )
                    .into());
                }
                self.session.start_delayed_delivery();
                return self.poll(now);
            }
        }
        if let PkiBody::Error(e) = &msg.body {
            return Err(ClientError::Refused(Box::new(
                ServerRefusal::from_error_msg(e, msg.header.pvno),
            )));
        }
        if let PkiBody::PollRep(reps) = &msg.body {
            let wait = self.session.poll_wait(reps)?;
            self.state = State::PollWait;
            return Ok(Step::Wait(wait));
        }
        self.round.finish(&rcv).map(Step::Done)
    }

    fn on_wait_elapsed(&mut self, now: SystemTime) -> Result<Step<R::Output>, ClientError> {
        if self.state != State::PollWait {
            return Err(ClientError::Local("no wait was asked for".into()));
        }
        self.poll(now)
    }
}

macro_rules! transaction_impl {
    ($ty:ty, $out:ty) => {
        impl Transaction for $ty {
            type Output = $out;
            fn start(&mut self, now: SystemTime) -> Result<Step<$out>, ClientError> {
                self.0.start(now)
            }
            fn on_signature(
                &mut self,
                sig: Vec<u8>,
                _now: SystemTime,
            ) -> Result<Step<$out>, ClientError> {
                self.0.on_signature(sig)
            }
            fn on_response(
                &mut self,
                bytes: &[u8],
                now: SystemTime,
            ) -> Result<Step<$out>, ClientError> {
                self.0.on_response(bytes, now)
            }
            fn on_wait_elapsed(&mut self, now: SystemTime) -> Result<Step<$out>, ClientError> {
                self.0.on_wait_elapsed(now)
            }
            fn take_warnings(&mut self) -> Vec<String> {
                self.0.session.take_warnings()
            }
            fn mac_key_needed(
                &mut self,
                response: Option<&[u8]>,
            ) -> Option<crate::protection::MacKeyDerivation> {
                self.0.session.mac_key_needed(response)
            }
            fn on_mac_key(&mut self, key: crate::protection::MacKey) {
                self.0.session.add_mac_key(key)
            }
        }
    };
}

#[derive(Debug)]
struct RevokeRound {
    cert: CmpCertificate,
    reason: Option<CrlReason>,
}

impl OneRound for RevokeRound {
    type Output = PkiStatus;

    fn body(&self) -> PkiBody {
        PkiBody::Rr(vec![RevDetails {
            cert_details: CertTemplate {
                issuer: Some(self.cert.issuer().clone()),
                serial_number: Some(self.cert.serial_number().clone()),
                ..CertTemplate::default()
            },
            crl_entry_details: self
                .reason
                .map(|r| rasn_pkix::Extensions::from(vec![r.to_extension()])),
        }])
    }

    fn response_name(&self) -> &'static str {
        "rp"
    }

    fn finish(&self, rcv: &ReceivedMessage) -> Result<PkiStatus, ClientError> {
        let PkiBody::Rp(RevRepContent {
            status, rev_certs, ..
        }) = &rcv.message().body
        else {
            // Session::check admitted only an rp here.
            return Err(ClientError::Local(
                "internal error: finish called without an rp".into(),
            ));
        };
        let info = match status.as_slice() {
            [one] => one,
            other => {
                return Err(ResponseError::Content(format!(
                    "rp holds {} statuses, expected one",
                    other.len()
                ))
                .into());
            }
        };
        if let Some(ids) = rev_certs {
            let ours = ids
                .iter()
                .any(|id| id.serial_number == *self.cert.serial_number());
            if !ours {
                return Err(ResponseError::Content(
                    "rp names another certificate in revCerts".into(),
                )
                .into());
            }
        }
        match info.status {
            PkiStatus::ACCEPTED
            | PkiStatus::GRANTED_WITH_MODS
            | PkiStatus::REVOCATION_WARNING
            | PkiStatus::REVOCATION_NOTIFICATION => Ok(info.status),
            _ => Err(ClientError::Refused(Box::new(ServerRefusal::from_status(
                "rp",
                info,
                rcv.message().header.pvno,
            )))),
        }
    }
}

/// Revokes a certificate: rr with one RevDetails (issuer, serial number, optional reason) →
/// rp. The result is the status (accepted, grantedWithMods, revocationWarning or
/// revocationNotification).
#[derive(Debug)]
pub struct Revocation(Machine<RevokeRound>);

impl Revocation {
    /// A revocation of `cert`.
    pub fn new(
        config: Arc<TransactionConfig>,
        cert: CmpCertificate,
        reason: Option<CrlReason>,
    ) -> Result<Self, ClientError> {
        Ok(Revocation(Machine {
            session: Session::new(config)?,
            round: RevokeRound { cert, reason },
            state: State::Start,
        }))
    }
}

transaction_impl!(Revocation, PkiStatus);

#[derive(Debug)]
struct GeneralRound {
    itavs: Vec<InfoTypeAndValue>,
}

impl OneRound for GeneralRound {
    type Output = Vec<InfoTypeAndValue>;

    fn body(&self) -> PkiBody {
        PkiBody::Genm(self.itavs.clone())
    }

    fn response_name(&self) -> &'static str {
        "genp"
    }

    fn finish(&self, rcv: &ReceivedMessage) -> Result<Vec<InfoTypeAndValue>, ClientError> {
        match &rcv.message().body {
            PkiBody::Genp(itavs) => Ok(itavs.clone()),
            // Session::check admitted only a genp here.
            _ => Err(ClientError::Local(
                "internal error: finish called without a genp".into(),
            )),
        }
    }
}

/// A general message: genm with ITAVs (caCerts, rootCaCert, certReqTemplate, crlStatusList,
/// or any other) → genp, whose ITAVs are the result.
#[derive(Debug)]
pub struct GeneralMessage(Machine<GeneralRound>);

impl GeneralMessage {
    /// A genm asking with `itavs`.
    pub fn new(
        config: Arc<TransactionConfig>,
        itavs: Vec<InfoTypeAndValue>,
    ) -> Result<Self, ClientError> {
        Ok(GeneralMessage(Machine {
            session: Session::new(config)?,
            round: GeneralRound { itavs },
            state: State::Start,
        }))
    }
}

transaction_impl!(GeneralMessage, Vec<InfoTypeAndValue>);
