//! What every transaction shares: transactionID and nonces, building and protecting
//! requests, and checking responses in the order OpenSSL's `ossl_cmp_msg_check_update` does.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rasn::types::{BitString, GeneralizedTime};
use rasn_pkix::GeneralName;

use super::config::{Credentials, TransactionConfig};
use crate::asn1::{
    CmpCertificate, PVNO_CMP2000, PVNO_CMP2021, PkiBody, PkiHeader, PkiMessage, PkiStatus,
    PollRepContent, ReceivedMessage, format_unix,
};
use crate::builder::PkiHeaderBuilder;
use crate::crypto::{CertPathVerifierExt, SignatureAlgorithm};
use crate::error::{ClientError, ProtectionError, ResponseError};
use crate::names::{format_general_name, format_name, names_equal};
use crate::protection::{
    MacKey, MacKeyDerivation, ProtectionAlg, SignerError, SignerTrust, prepare_signature,
    verify_signature, verify_signer,
};

/// What a transaction asks of its driver next.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[allow(clippy::large_enum_variant)] // short-lived, one at a time
pub enum Step<T> {
    /// Sign `data` with the key for `purpose` and hand the signature to `on_signature`.
    Sign {
        /// Which key.
        purpose: SignPurpose,
        /// The algorithm.
        alg: SignatureAlgorithm,
        /// The bytes to sign.
        data: Vec<u8>,
    },
    /// Send this request and hand the response to `on_response`.
    Send(Vec<u8>),
    /// Wait this long, then call `on_wait_elapsed` (polling).
    Wait(std::time::Duration),
    /// Store this certificate durably as *staged* (before certConf is sent), then call
    /// `on_staged`. The driver commits it when the transaction succeeds and marks it
    /// unconfirmed when it fails afterwards.
    Stage {
        /// The new certificate.
        certificate: CmpCertificate,
        /// Its chain (extraCerts).
        chain: Vec<CmpCertificate>,
    },
    /// The transaction is over.
    Done(T),
}

/// Which key a [`Step::Sign`] wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignPurpose {
    /// The key protecting our messages (`--key`).
    Protection,
    /// The new key, proving possession (`--newkey`).
    ProofOfPossession,
}

/// One exchange at a time, sans IO: bytes and time in, the next [`Step`] out.
pub trait Transaction {
    /// What a successful transaction yields.
    type Output;

    /// Builds the first request.
    fn start(&mut self, now: SystemTime) -> Result<Step<Self::Output>, ClientError>;

    /// Takes the signature asked for by the last [`Step::Sign`].
    fn on_signature(
        &mut self,
        signature: Vec<u8>,
        now: SystemTime,
    ) -> Result<Step<Self::Output>, ClientError>;

    /// Takes the response to the last [`Step::Send`].
    fn on_response(
        &mut self,
        response: &[u8],
        now: SystemTime,
    ) -> Result<Step<Self::Output>, ClientError>;

    /// Continues after the last [`Step::Wait`].
    fn on_wait_elapsed(&mut self, now: SystemTime) -> Result<Step<Self::Output>, ClientError>;

    /// The MAC key (PBM or PBMAC1: up to about a second of CPU to derive) that the next call
    /// would otherwise derive inline, for the driver to derive where blocking is fine and hand
    /// to [`on_mac_key`](Transaction::on_mac_key): the key of our own requests, and — with
    /// `response`, before [`on_response`](Transaction::on_response) — the key of a
    /// MAC-protected response. `None` when nothing is to be derived (signature credentials,
    /// a key at hand). A driver asks before every call until it gets `None`; a driver that
    /// never asks gets the derivation inline, in the call that needs it.
    ///
    /// Our requests share one salt per transaction, so a transaction derives its own key once;
    /// a server that answers with the request's parameters (cmp-server does) costs no second
    /// derivation.
    fn mac_key_needed(&mut self, response: Option<&[u8]>) -> Option<MacKeyDerivation> {
        let _ = response;
        None
    }

    /// Takes a key derived as [`mac_key_needed`](Transaction::mac_key_needed) asked.
    fn on_mac_key(&mut self, key: MacKey) {
        let _ = key;
    }

    /// The warnings since the last call: responses accepted although their protection
    /// failed, as `unprotected_errors` allows. The driver hands them to the application.
    fn take_warnings(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// Continues after the last [`Step::Stage`].
    fn on_staged(&mut self, now: SystemTime) -> Result<Step<Self::Output>, ClientError> {
        let _ = now;
        Err(ClientError::Local("nothing was staged".into()))
    }
}

/// A request waiting for its protection signature.
#[derive(Debug)]
pub(crate) struct Unsigned {
    pub(crate) msg: PkiMessage,
}

/// The transaction-wide state of the exchanges.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) config: Arc<TransactionConfig>,
    transaction_id: Vec<u8>,
    first_nonce: Option<Vec<u8>>,
    last_nonce: Option<Vec<u8>>,
    peer_nonce: Option<Vec<u8>>,
    /// The polls sent so far.
    polls: u32,
    pub(crate) unsigned: Option<Unsigned>,
    /// The root taken from an ip's extraCerts under `bootstrap_from_ip`.
    pub(crate) bootstrap_root: Option<CmpCertificate>,
    /// The certificate that verified a response's signature (OpenSSL's `validatedSrvCert`),
    /// tried first for the later responses of this transaction.
    validated_signer: Option<CmpCertificate>,
    /// extraCerts of responses whose protection verified: candidates for the later ones.
    learned: Vec<CmpCertificate>,
    /// An error with status waiting answered the request (RFC 9483 §4.4 delayed delivery).
    delayed_delivery: bool,
    /// Responses accepted under `unprotected_errors`, for the driver to report.
    warnings: Vec<String>,
    /// The derivation of our requests' MAC key (one salt per transaction), once drawn.
    own_mac: Option<MacKeyDerivation>,
    /// Derived MAC keys (ours, the responses'), at most [`MAX_MAC_KEYS`], oldest first.
    mac_keys: Vec<MacKey>,
}

/// The most derived MAC keys a transaction keeps.
const MAX_MAC_KEYS: usize = 4;

/// The most certificates kept from the extraCerts of authenticated responses.
const MAX_LEARNED_CERTS: usize = 64;

/// What OpenSSL's `unprotected_exception` lets through under `unprotected_errors`: an error
/// message, a certificate response whose one response is a rejection, an rp whose status is a
/// rejection, and a pkiConf. Returns how to name it in a warning.
fn unprotected_exception(msg: &PkiMessage) -> Option<&'static str> {
    let rejected = |s: &crate::asn1::PkiStatusInfo| s.status == PkiStatus::REJECTION;
    match &msg.body {
        PkiBody::Error(_) => Some("an error message"),
        PkiBody::Pkiconf(()) => Some("a pkiConf"),
        PkiBody::Rp(rp) => match rp.status.as_slice() {
            [one] if rejected(one) => Some("an rp with status rejection"),
            _ => None,
        },
        body => match body.cert_rep().map(|r| r.response.as_slice()) {
            Some([one]) if rejected(&one.status) => {
                Some("a certificate response with status rejection")
            }
            _ => None,
        },
    }
}

/// The part of a protection failure worth repeating in a warning.
fn protection_failure(e: &ClientError) -> String {
    match e {
        ClientError::Response(ResponseError::Unprotected | ResponseError::UnprotectedError) => {
            "it is not protected".into()
        }
        other => other
            .to_string()
            .trim_start_matches("the response failed a check: ")
            .to_owned(),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn generalized(now: SystemTime) -> Option<GeneralizedTime> {
    let secs = now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs();
    chrono::DateTime::from_timestamp(i64::try_from(secs).ok()?, 0).map(|t| t.fixed_offset())
}

impl Session {
    /// Whether polling began (the response then may answer the first request's nonce).
    pub(crate) fn polling(&self) -> bool {
        self.polls > 0
    }

    /// Counts a poll about to be sent; fails once more than `max_polls` would be needed.
    pub(crate) fn count_poll(&mut self) -> Result<(), ClientError> {
        self.polls += 1;
        if self.polls > self.config.max_polls {
            return Err(ResponseError::Content(format!(
                "the server still asks to wait after {} polls",
                self.config.max_polls
            ))
            .into());
        }
        Ok(())
    }

    /// How long a pollRep asks us to wait (its first checkAfter), at most `max_poll_wait`.
    pub(crate) fn poll_wait(&self, reps: &PollRepContent) -> Result<Duration, ClientError> {
        let rep = reps
            .first()
            .ok_or_else(|| ResponseError::Content("empty pollRep".into()))?;
        let secs = i64::try_from(&rep.check_after).unwrap_or(i64::MAX).max(0);
        Ok(Duration::from_secs(u64::try_from(secs).unwrap_or(u64::MAX))
            .min(self.config.max_poll_wait))
    }

    pub(crate) fn new(config: Arc<TransactionConfig>) -> Result<Self, ClientError> {
        let mut tid = vec![0u8; 16];
        config.primitives.fill_random(&mut tid)?;
        Ok(Session {
            config,
            transaction_id: tid,
            first_nonce: None,
            last_nonce: None,
            peer_nonce: None,
            polls: 0,
            unsigned: None,
            bootstrap_root: None,
            validated_signer: None,
            learned: Vec::new(),
            delayed_delivery: false,
            warnings: Vec::new(),
            own_mac: None,
            mac_keys: Vec::new(),
        })
    }

    /// The derivation of our requests' MAC key, drawing its salt the first time.
    fn own_mac(&mut self) -> Result<Option<MacKeyDerivation>, ClientError> {
        let Credentials::Mac {
            secret, settings, ..
        } = &self.config.credentials
        else {
            return Ok(None);
        };
        if self.own_mac.is_none() {
            self.own_mac = Some(MacKeyDerivation::for_settings(
                settings,
                secret,
                self.config.primitives.clone(),
            )?);
        }
        Ok(self.own_mac.clone())
    }

    fn cached_key(&self, alg_id: &rasn_pkix::AlgorithmIdentifier) -> Option<MacKey> {
        self.mac_keys.iter().find(|k| k.serves(alg_id)).cloned()
    }

    /// Keeps a derived key (the oldest goes beyond [`MAX_MAC_KEYS`]).
    pub(crate) fn add_mac_key(&mut self, key: MacKey) {
        if self.cached_key(key.algorithm_identifier()).is_some() {
            return;
        }
        if self.mac_keys.len() == MAX_MAC_KEYS {
            self.mac_keys.remove(0);
        }
        self.mac_keys.push(key);
    }

    /// The key `derivation` gives: from the cache, else derived here (blocking).
    fn mac_key(&mut self, derivation: &MacKeyDerivation) -> Result<MacKey, ProtectionError> {
        if let Some(k) = self.cached_key(derivation.algorithm_identifier()) {
            return Ok(k);
        }
        let key = derivation.derive()?;
        self.add_mac_key(key.clone());
        Ok(key)
    }

    /// See [`Transaction::mac_key_needed`].
    pub(crate) fn mac_key_needed(&mut self, response: Option<&[u8]>) -> Option<MacKeyDerivation> {
        let Credentials::Mac { secret, .. } = &self.config.credentials else {
            return None;
        };
        if let Some(bytes) = response {
            // Whatever fails here, on_response reports it.
            let rcv = ReceivedMessage::decode(bytes).ok()?;
            let msg = rcv.message();
            if let (Some(alg_id), Some(_)) = (&msg.header.protection_alg, &msg.protection) {
                if let Ok(d) = MacKeyDerivation::new(
                    alg_id,
                    &self.config.trust.mac_limits,
                    secret,
                    self.config.primitives.clone(),
                ) {
                    if self.cached_key(alg_id).is_none() {
                        return Some(d);
                    }
                }
            }
        }
        let own = self.own_mac().ok()??;
        self.cached_key(own.algorithm_identifier())
            .is_none()
            .then_some(own)
    }

    /// The transactionID.
    pub(crate) fn transaction_id(&self) -> &[u8] {
        &self.transaction_id
    }

    /// A header with a fresh senderNonce and the peer's last nonce as recipNonce.
    pub(crate) fn header(
        &mut self,
        now: SystemTime,
        implicit_confirm: bool,
    ) -> Result<PkiHeader, ClientError> {
        let mut nonce = vec![0u8; 16];
        self.config.primitives.fill_random(&mut nonce)?;
        if self.first_nonce.is_none() {
            self.first_nonce = Some(nonce.clone());
        }
        self.last_nonce = Some(nonce.clone());
        let c = &self.config;
        let mut b = PkiHeaderBuilder::new()
            .pvno(c.pvno)
            .sender(c.sender.clone())
            .recipient(c.recipient.clone())
            .transaction_id(self.transaction_id.clone())
            .sender_nonce(nonce);
        if let Some(t) = generalized(now) {
            b = b.message_time(t);
        }
        if let Some(p) = &self.peer_nonce {
            b = b.recip_nonce(p.clone());
        }
        match &c.credentials {
            Credentials::Mac { reference, .. } => b = b.sender_kid(reference.clone()),
            Credentials::Signature { cert, .. } => {
                if let Some(ski) = cert.subject_key_identifier() {
                    b = b.sender_kid(ski);
                }
            }
            Credentials::None => {}
        }
        if implicit_confirm {
            b = b.implicit_confirm();
        }
        Ok(b.build())
    }

    /// Protects `msg`: at once with a MAC, or by asking for a signature.
    pub(crate) fn protect<T>(&mut self, mut msg: PkiMessage) -> Result<Step<T>, ClientError> {
        match &self.config.credentials {
            Credentials::Mac { .. } => {
                let own = self
                    .own_mac()?
                    .ok_or_else(|| ClientError::Local("no MAC settings".into()))?;
                let key = self
                    .mac_key(&own)
                    .map_err(|e| ClientError::Local(format!("deriving the MAC key: {e}")))?;
                key.protect(&mut msg)?;
                Ok(Step::Send(msg.to_der()?))
            }
            Credentials::Signature { cert, chain, alg } => {
                let mut extra = vec![cert.clone()];
                extra.extend(chain.iter().cloned());
                msg.extra_certs = Some(extra);
                let alg = *alg;
                let data = prepare_signature(&mut msg, alg)?;
                self.unsigned = Some(Unsigned { msg });
                Ok(Step::Sign {
                    purpose: SignPurpose::Protection,
                    alg,
                    data,
                })
            }
            Credentials::None => Ok(Step::Send(msg.to_der()?)),
        }
    }

    /// Completes a request that waited for its protection signature.
    pub(crate) fn signed<T>(&mut self, signature: Vec<u8>) -> Result<Step<T>, ClientError> {
        let Unsigned { mut msg } = self.unsigned.take().ok_or_else(|| {
            ClientError::Local("a signature arrived that was not asked for".into())
        })?;
        msg.protection = Some(BitString::from_vec(signature));
        Ok(Step::Send(msg.to_der()?))
    }

    /// Decodes and checks a response in OpenSSL's order (`ossl_cmp_msg_check_update`, then
    /// the expected type as `send_receive_check` does): sender, protection, pvno,
    /// transactionID, recipNonce, body type. `expected` lists the acceptable body types (an
    /// `error` is always let through to the caller, which reports it).
    pub(crate) fn check(
        &mut self,
        bytes: &[u8],
        now: SystemTime,
        expected: &[&'static str],
    ) -> Result<ReceivedMessage, ClientError> {
        let rcv = ReceivedMessage::decode(bytes).map_err(ResponseError::Malformed)?;
        let msg = rcv.message();
        self.check_sender(msg)?;
        let verified = match self.check_protection(&rcv, now) {
            Ok(()) => true,
            Err(e) => match unprotected_exception(msg) {
                Some(what) if self.config.trust.unprotected_errors => {
                    self.warnings.push(format!(
                        "accepting {what} although its protection failed ({}), as --unprotected-errors allows",
                        protection_failure(&e)
                    ));
                    false
                }
                _ => return Err(e),
            },
        };
        if msg.header.pvno != PVNO_CMP2000 && msg.header.pvno != PVNO_CMP2021 {
            return Err(ResponseError::Pvno(msg.header.pvno).into());
        }
        let tid = msg.header.transaction_id.as_deref();
        if tid != Some(self.transaction_id.as_slice()) {
            return Err(ResponseError::TransactionId {
                expected: hex(&self.transaction_id),
                actual: tid.map_or_else(|| "absent".to_owned(), hex),
            }
            .into());
        }
        // A pollRep answers our latest pollReq; the final answer of a delivery that an
        // error/waiting delayed (RFC 9483 §4.4) may answer the first request instead.
        let recip = msg.header.recip_nonce.as_deref();
        let is_poll_rep = matches!(msg.body, PkiBody::PollRep(_));
        let ok = recip.is_some()
            && (recip == self.last_nonce.as_deref()
                || (self.delayed_delivery && !is_poll_rep && recip == self.first_nonce.as_deref()));
        if !ok {
            return Err(ResponseError::RecipNonce {
                expected: self.last_nonce.as_deref().map(hex).unwrap_or_default(),
                actual: recip.map_or_else(|| "absent".to_owned(), hex),
            }
            .into());
        }
        let body = msg.body.name();
        if body != "error" && !expected.contains(&body) {
            return Err(ResponseError::Body {
                expected: expected.join(" or "),
                actual: body,
            }
            .into());
        }
        if verified {
            // Certificates from an authenticated response help verify the later ones.
            for c in msg.extra_certs.iter().flatten() {
                if self.learned.len() < MAX_LEARNED_CERTS
                    && !self.learned.iter().any(|l| l.der() == c.der())
                {
                    self.learned.push(c.clone());
                }
            }
        }
        self.peer_nonce = msg.header.sender_nonce.as_ref().map(|n| n.to_vec());
        Ok(rcv)
    }

    /// Marks the transaction as delivered late (RFC 9483 §4.4: an error with status waiting
    /// answered the request), so its final response may answer the first senderNonce.
    pub(crate) fn start_delayed_delivery(&mut self) {
        self.delayed_delivery = true;
    }

    /// The warnings collected since the last call (responses accepted under
    /// `unprotected_errors`).
    pub(crate) fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    fn check_sender(&self, msg: &PkiMessage) -> Result<(), ClientError> {
        let trust = &self.config.trust;
        let expected = trust
            .expected_sender
            .as_ref()
            .or_else(|| trust.srvcert.as_ref().map(CmpCertificate::subject));
        let Some(expected) = expected else {
            return Ok(());
        };
        let ok =
            matches!(&msg.header.sender, GeneralName::DirectoryName(n) if names_equal(n, expected));
        if ok {
            Ok(())
        } else {
            Err(ResponseError::Sender {
                expected: format_name(expected),
                actual: format_general_name(&msg.header.sender),
            }
            .into())
        }
    }

    fn check_protection(
        &mut self,
        rcv: &ReceivedMessage,
        now: SystemTime,
    ) -> Result<(), ClientError> {
        let msg = rcv.message();
        let trust = &self.config.trust;
        let Some(alg_id) = &msg.header.protection_alg else {
            return match &msg.body {
                PkiBody::Error(_) => Err(ResponseError::UnprotectedError.into()),
                _ => Err(ResponseError::Unprotected.into()),
            };
        };
        let alg =
            ProtectionAlg::parse(alg_id, &trust.mac_limits).map_err(ResponseError::Protection)?;
        let primitives = self.config.primitives.as_ref();
        if let ProtectionAlg::Signature(_) = alg {
            if let Some(pinned) = &trust.srvcert {
                return verify_signature(rcv, pinned, primitives)
                    .map_err(|e| ResponseError::Protection(e).into());
            }
            let bootstrap = trust.bootstrap_from_ip && matches!(msg.body, PkiBody::Ip(_));
            let anchors: Vec<CmpCertificate> = trust
                .trusted
                .iter()
                .chain(&self.bootstrap_root)
                .cloned()
                .collect();
            if anchors.is_empty() && !bootstrap && self.validated_signer.is_none() {
                return Err(ResponseError::NoTrust.into());
            }
            let untrusted: Vec<CmpCertificate> = trust
                .untrusted
                .iter()
                .chain(&self.learned)
                .cloned()
                .collect();
            let checked = verify_signer(
                rcv,
                SignerTrust {
                    untrusted: &untrusted,
                    anchors: &anchors,
                    ignore_keyusage: trust.ignore_keyusage,
                    policy: &trust.path_policy,
                    validated: self.validated_signer.as_ref(),
                },
                primitives,
                self.config.paths.as_ref(),
                now,
            );
            let (signer, intermediates, reason) = match checked {
                Ok(signer) => {
                    self.validated_signer = Some(signer.clone());
                    return Ok(());
                }
                Err(SignerError::SenderNotNamed) => {
                    return Err(ResponseError::SenderNotNamed(format_general_name(
                        &msg.header.sender,
                    ))
                    .into());
                }
                Err(SignerError::NoSigner) => {
                    return Err(ResponseError::NoSigner {
                        sender: format_general_name(&msg.header.sender),
                        sender_kid: msg
                            .header
                            .sender_kid
                            .as_ref()
                            .map_or_else(|| "absent".into(), |k| hex(k)),
                    }
                    .into());
                }
                Err(SignerError::NotValidNow {
                    subject,
                    not_before,
                    not_after,
                }) => {
                    return Err(ResponseError::SignerNotValidNow {
                        subject,
                        not_before: format_unix(not_before),
                        not_after: format_unix(not_after),
                    }
                    .into());
                }
                Err(SignerError::KeyUsage(subject)) => {
                    return Err(ResponseError::SignerKeyUsage(subject).into());
                }
                Err(SignerError::Signature(e)) => return Err(ResponseError::Protection(e).into()),
                Err(SignerError::Path {
                    signer,
                    intermediates,
                    error,
                }) => (signer, intermediates, error.to_string()),
            };
            let subject = format_name(signer.subject());
            let extra = msg.extra_certs.as_deref().unwrap_or_default();
            if bootstrap && self.bootstrap_root.is_none() {
                let root = extra.iter().find(|c| {
                    c.der() != signer.der()
                        && c.is_self_issued()
                        && self
                            .config
                            .paths
                            .verify_certificates(
                                signer,
                                &intermediates,
                                std::slice::from_ref(*c),
                                now,
                                &trust.path_policy,
                            )
                            .is_ok()
                });
                if let Some(root) = root {
                    self.bootstrap_root = Some(root.clone());
                    self.validated_signer = Some(signer.clone());
                    return Ok(());
                }
                return Err(ResponseError::UntrustedSigner {
                    subject,
                    reason: format!("{reason}; no self-signed certificate in the ip's extraCerts validates it either"),
                }
                .into());
            }
            return Err(ResponseError::UntrustedSigner { subject, reason }.into());
        }
        let Credentials::Mac { secret, .. } = &self.config.credentials else {
            return Err(ResponseError::NoSecret.into());
        };
        if msg.protection.is_none() {
            return Err(ResponseError::Protection(ProtectionError::Inconsistent).into());
        }
        let derivation = MacKeyDerivation::new(
            alg_id,
            &trust.mac_limits,
            secret,
            self.config.primitives.clone(),
        )
        .map_err(ResponseError::Protection)?;
        self.mac_key(&derivation)
            .and_then(|key| key.verify(rcv))
            .map_err(|e| ResponseError::Protection(e).into())
    }
}

/// Saving and restoring across a restart (see [`super::snapshot`]).
impl Session {
    /// What a restart needs of this session.
    pub(crate) fn parts(&self) -> super::snapshot::SessionParts {
        super::snapshot::SessionParts {
            transaction_id: self.transaction_id.clone(),
            first_nonce: self.first_nonce.clone(),
            last_nonce: self.last_nonce.clone(),
            peer_nonce: self.peer_nonce.clone(),
            polls: self.polls,
            delayed_delivery: self.delayed_delivery,
        }
    }

    /// A session continued from `parts`.
    pub(crate) fn from_parts(
        config: Arc<TransactionConfig>,
        parts: super::snapshot::SessionParts,
    ) -> Self {
        Session {
            config,
            transaction_id: parts.transaction_id,
            first_nonce: parts.first_nonce,
            last_nonce: parts.last_nonce,
            peer_nonce: parts.peer_nonce,
            polls: parts.polls,
            unsigned: None,
            bootstrap_root: None,
            validated_signer: None,
            learned: Vec::new(),
            delayed_delivery: parts.delayed_delivery,
            warnings: Vec::new(),
            // MAC keys are never saved (the secret is in them): derived again on demand.
            own_mac: None,
            mac_keys: Vec::new(),
        }
    }
}
