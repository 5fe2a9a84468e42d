//! Building, protecting and saving the response of an [`Exchange`].

use super::*;

/// How a response is protected.
enum Protect {
    Mac(MacKey),
    Sign(Box<ResponseSigner>),
    None,
}

fn check_pvno_value(pvno: i64) -> bool {
    pvno == crate::asn1::PVNO_CMP2000 || pvno == crate::asn1::PVNO_CMP2021
}

/// An error message, or a rejection in a certificate response or an rp.
fn is_negative(body: &PkiBody) -> bool {
    let rejected = |s: &PkiStatusInfo| s.status == crate::asn1::PkiStatus::REJECTION;
    match body {
        PkiBody::Error(_) => true,
        PkiBody::Ip(c) | PkiBody::Cp(c) | PkiBody::Kup(c) | PkiBody::Ccp(c) => {
            c.response.iter().any(|r| rejected(&r.status))
        }
        PkiBody::Rp(r) => r.status.iter().any(rejected),
        _ => false,
    }
}

fn error_body(refusal: &Refusal) -> PkiBody {
    responses::error(
        PkiStatusInfo::rejection([refusal.fail_info], Some(&refusal.reason)),
        None,
    )
}

impl Exchange {
    /// An error message; the store is not touched (the request did not pass the checks that
    /// would let it change a transaction).
    pub(super) fn refuse(&mut self, refusal: Refusal) -> Result<ServerStep, ServerError> {
        let body = error_body(&refusal);
        self.refusal = Some(refusal);
        self.reply(body, None, false, Vec::new())
    }

    /// An error message that ends the transaction.
    pub(super) fn refuse_and_close(&mut self, refusal: Refusal) -> Result<ServerStep, ServerError> {
        let body = error_body(&refusal);
        self.refusal = Some(refusal);
        self.reply(body, Some(TransactionState::Closed), false, Vec::new())
    }

    fn protection(&self, negative: bool) -> Result<Protect, ServerError> {
        let test = &self.config.test;
        if test.send_unprotected || (negative && test.send_unprotected_errors) {
            return Ok(Protect::None);
        }
        if let (Some(Auth::Mac { key, .. }), ResponseProtection::AsRequest) =
            (&self.auth, self.config.response_protection)
        {
            return Ok(Protect::Mac(key.clone()));
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
    pub(super) fn reply(
        &mut self,
        body: PkiBody,
        next: Option<TransactionState>,
        implicit: bool,
        chain: Vec<CmpCertificate>,
    ) -> Result<ServerStep, ServerError> {
        let protect = self.protection(is_negative(&body))?;
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
            Protect::Mac(key) => {
                key.protect(&mut msg)?;
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

    /// Saves a [`TransactionState::Reserved`] record before `reserved` is asked of the issuer
    /// (the transactionID and room in the table are taken first); without an authenticated
    /// transaction to record, asks at once.
    pub(super) fn reserve(&mut self, reserved: Reserved) -> Result<ServerStep, ServerError> {
        let (Some(authenticator), Some(transaction_id)) =
            (self.authenticator(), self.transaction_id())
        else {
            return Ok(self.ask(reserved));
        };
        let expected = self.record.as_ref().map(|r| r.version);
        let record = TransactionRecord {
            transaction_id,
            version: expected.map_or(1, |v| v.wrapping_add(1)),
            state: TransactionState::Reserved,
            authenticator,
            // Empty: a retransmission of the request is not answered from this record.
            last_request: Vec::new(),
            last_response: Vec::new(),
            response_nonce: Vec::new(),
            expires_at: self.now + self.config.transaction_ttl,
        };
        self.state = State::AwaitReserve(Box::new((reserved, record.clone())));
        Ok(ServerStep::Save { record, expected })
    }

    /// The step a reservation was made for.
    pub(super) fn ask(&mut self, reserved: Reserved) -> ServerStep {
        match reserved {
            Reserved::Issue(issue) => {
                let (enroll, request) = *issue;
                self.state = State::AwaitIssue(enroll);
                ServerStep::Issue(request)
            }
            Reserved::Revoke {
                serial,
                reason,
                cert_id,
            } => {
                self.state = State::AwaitRevoke(cert_id);
                ServerStep::Revoke { serial, reason }
            }
        }
    }

    fn transaction_id(&self) -> Option<Vec<u8>> {
        self.rcv.as_ref().and_then(|r| {
            r.message()
                .header
                .transaction_id
                .as_deref()
                .map(<[u8]>::to_vec)
        })
    }

    /// The response is final: save the transaction (when `next` says how) or send it.
    pub(super) fn protected(
        &mut self,
        bytes: Vec<u8>,
        next: Option<TransactionState>,
    ) -> Result<ServerStep, ServerError> {
        let (Some(state), Some(authenticator), Some(tid)) =
            (next, self.authenticator(), self.transaction_id())
        else {
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
