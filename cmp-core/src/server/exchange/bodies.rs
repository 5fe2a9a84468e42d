//! The body handlers of [`Exchange`]: enrollment (ir, cr, kur, ccr, p10cr), revocation,
//! general messages and certificate confirmation.

use super::*;

impl Exchange {
    pub(super) fn enroll(
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

    pub(super) fn is_our_name(&self, name: &GeneralName) -> bool {
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

    pub(super) fn p10cr(&mut self, csr: &Pkcs10Request) -> Result<ServerStep, ServerError> {
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

    pub(super) fn issue(&mut self, enroll: Enroll) -> Result<ServerStep, ServerError> {
        if let Some(forced) = self
            .config
            .test
            .cert_status
            .as_ref()
            .filter(|f| f.status == PkiStatus::REJECTION)
        {
            let status = forced.status_info();
            self.refusal = Some(Refusal::new(
                forced
                    .fail_info
                    .first()
                    .copied()
                    .unwrap_or(FailureBit::BadRequest),
                forced
                    .text
                    .clone()
                    .unwrap_or_else(|| "a forced rejection (--pkistatus 2)".into()),
            ));
            let body = responses::cert_rep_body(
                enroll.kind,
                responses::cert_status_only(enroll.cert_req_id, status),
            );
            return self.reply(body, Some(TransactionState::Closed), false, Vec::new());
        }
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
        self.reserve(Reserved::Issue(Box::new((enroll, request))))
    }

    pub(super) fn rr(&mut self, details: &RevReqContent) -> Result<ServerStep, ServerError> {
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

    pub(super) fn genm(&mut self, itavs: &[InfoTypeAndValue]) -> Result<ServerStep, ServerError> {
        if itavs.len() > MAX_GENM_ENTRIES {
            return self.refuse_and_close(Refusal::new(
                FailureBit::BadRequest,
                format!("the genm asks about more than {MAX_GENM_ENTRIES} things"),
            ));
        }
        let wants_crl = self.config.genp.crls
            && itavs
                .iter()
                .any(|i| *i.info_type == *oid::IT_CRL_STATUS_LIST);
        if wants_crl {
            self.state = State::AwaitCrl(itavs.to_vec());
            return Ok(ServerStep::CurrentCrl);
        }
        self.genp(itavs, None)
    }

    /// The genp answering `itavs`, with the issuer's CRL when it was asked for.
    pub(super) fn genp(
        &mut self,
        itavs: &[InfoTypeAndValue],
        crl: Option<rasn_pkix::CertificateList>,
    ) -> Result<ServerStep, ServerError> {
        let mut answers = Vec::with_capacity(itavs.len());
        for itav in itavs {
            let t: &rasn::types::Oid = &itav.info_type;
            let value = if t == oid::IT_CA_CERTS {
                InfoValue::CaCerts(
                    (!self.config.ca_certs.is_empty()).then(|| self.config.ca_certs.clone()),
                )
            } else if t == oid::IT_ROOT_CA_CERT || t == oid::IT_ROOT_CA_KEY_UPDATE {
                let old = match itav.value() {
                    Ok(InfoValue::RootCaCert(old)) => old,
                    _ => None,
                };
                InfoValue::RootCaKeyUpdate(self.root_update(old.as_ref()))
            } else if t == oid::IT_CERT_REQ_TEMPLATE {
                InfoValue::CertReqTemplate(self.config.genp.cert_req_template.clone())
            } else if t == oid::IT_CRL_STATUS_LIST {
                let statuses = match itav.value() {
                    Ok(InfoValue::CrlStatusList(s)) => s,
                    _ => Vec::new(),
                };
                InfoValue::Crls(self.newer_crl(&statuses, crl.as_ref()).map(|c| vec![c]))
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

    /// The configured root update, if it is one for `old` (when named).
    fn root_update(
        &self,
        old: Option<&CmpCertificate>,
    ) -> Option<crate::asn1::RootCaKeyUpdateContent> {
        let update = self.config.genp.root_ca_key_update.clone()?;
        match (old, &update.new_with_old) {
            (Some(old), Some(new_with_old))
                if !new_with_old.is_signed_by(
                    old.subject_public_key_info(),
                    self.config.primitives.as_ref(),
                ) =>
            {
                None
            }
            _ => Some(update),
        }
    }

    /// `crl` if one of `statuses` asks for it (by our issuer name, or by a distribution
    /// point) and it is newer than the thisUpdate given there.
    fn newer_crl(
        &self,
        statuses: &[crate::asn1::CrlStatus],
        crl: Option<&rasn_pkix::CertificateList>,
    ) -> Option<rasn_pkix::CertificateList> {
        let crl = crl?;
        let secs = |t: &rasn_pkix::Time| match t {
            rasn_pkix::Time::Utc(u) => u.timestamp(),
            rasn_pkix::Time::General(g) => g.timestamp(),
        };
        let ours = secs(&crl.tbs_cert_list.this_update);
        let wanted = statuses.iter().any(|s| {
            let source = match &s.source {
                crate::asn1::CrlSource::Issuer(names) => names.iter().any(|n| {
                    matches!(n, GeneralName::DirectoryName(d)
                        if names_equal(d, &crl.tbs_cert_list.issuer))
                }),
                crate::asn1::CrlSource::Dpn(_) => true,
            };
            source && s.this_update.as_ref().is_none_or(|t| secs(t) < ours)
        });
        wanted.then(|| crl.clone())
    }

    /// A pollReq: a pollRep while polls are left, then the certificate response.
    pub(super) fn poll(&mut self, content: &PollReqContent) -> Result<ServerStep, ServerError> {
        let Some(TransactionState::Polling {
            kind,
            cert_req_id,
            certificate,
            polls_left,
            implicit,
        }) = self.record.as_ref().map(|r| r.state.clone())
        else {
            return self.refuse(Refusal::new(
                FailureBit::BadRequest,
                "no response is pending for this transaction",
            ));
        };
        let [one] = content.as_slice() else {
            return self.refuse(Refusal::new(
                FailureBit::BadRequest,
                format!("pollReq holds {} entries, expected one", content.len()),
            ));
        };
        if i64::try_from(&one.cert_req_id).ok() != Some(cert_req_id) {
            return self.refuse(Refusal::new(
                FailureBit::BadRequest,
                format!(
                    "pollReq names certReqId {}, not {cert_req_id}",
                    one.cert_req_id
                ),
            ));
        }
        if polls_left > 1 {
            let next = TransactionState::Polling {
                kind,
                cert_req_id,
                certificate,
                polls_left: polls_left - 1,
                implicit,
            };
            let body = responses::poll_rep(cert_req_id, self.config.test.check_after, None);
            return self.reply(body, Some(next), false, Vec::new());
        }
        let cert = CmpCertificate::from_der(&certificate)
            .map_err(|e| ServerError::Build(format!("the stored certificate: {e}")))?;
        let chain = self.config.ca_certs.clone();
        self.deliver(kind, cert_req_id, cert, chain, implicit)
    }

    pub(super) fn cert_conf(
        &mut self,
        content: &CertConfirmContent,
    ) -> Result<ServerStep, ServerError> {
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
    pub(super) fn reject_cert(
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
    pub(super) fn reject_rr(&mut self, refusal: Refusal) -> Result<ServerStep, ServerError> {
        let status = PkiStatusInfo::rejection([refusal.fail_info], Some(&refusal.reason));
        self.refusal = Some(refusal);
        self.reply(
            responses::rp(status, None),
            Some(TransactionState::Closed),
            false,
            Vec::new(),
        )
    }
}
