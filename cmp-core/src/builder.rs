//! Builders for headers, certificate templates and the common bodies.
//!
//! ```
//! use cmp_core::asn1::{PkiBody, PkiMessage};
//! use cmp_core::builder::{CertTemplateBuilder, PkiHeaderBuilder, cert_req_messages};
//! use cmp_core::names::parse_name;
//!
//! let template = CertTemplateBuilder::new()
//!     .subject(parse_name("CN=device-42,O=Example").unwrap())
//!     .build();
//! let header = PkiHeaderBuilder::new()
//!     .recipient_name(parse_name("CN=Example CA").unwrap())
//!     .transaction_id([7u8; 16])
//!     .sender_nonce([9u8; 16])
//!     .implicit_confirm()
//!     .build();
//! let ir = PkiMessage::new(header, PkiBody::Ir(cert_req_messages(template, None)));
//! assert_eq!(ir.to_der().unwrap()[..1], [0x30]);
//! ```

use rasn::prelude::*;
use rasn_pkix::{
    AlgorithmIdentifier, Extension, Extensions, GeneralName, Name, SubjectPublicKeyInfo, Time,
};

use crate::asn1::{
    CertConfirmContent, CertReqMessages, CertReqMsg, CertRequest, CertStatus, CertTemplate,
    Controls, InfoTypeAndValue, InfoValue, KeyIdentifier, OptionalValidity, PVNO_CMP2000,
    PkiFreeText, PkiHeader, PkiStatusInfo, PollReq, PollReqContent, ProofOfPossession, null_dn,
};

/// Builds a [`PkiHeader`]; pvno 2 and NULL-DN sender/recipient unless set.
#[derive(Clone, Debug)]
#[must_use]
pub struct PkiHeaderBuilder {
    header: PkiHeader,
}

impl Default for PkiHeaderBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl PkiHeaderBuilder {
    /// A header with pvno 2 (cmp2000) and NULL-DN sender and recipient.
    pub fn new() -> Self {
        PkiHeaderBuilder {
            header: PkiHeader {
                pvno: PVNO_CMP2000,
                sender: null_dn(),
                recipient: null_dn(),
                message_time: None,
                protection_alg: None,
                sender_kid: None,
                recip_kid: None,
                transaction_id: None,
                sender_nonce: None,
                recip_nonce: None,
                free_text: None,
                general_info: None,
            },
        }
    }

    /// Sets pvno (2, or 3 when a cmp2021 feature is used).
    pub fn pvno(mut self, pvno: i64) -> Self {
        self.header.pvno = pvno;
        self
    }

    /// Sets the sender.
    pub fn sender(mut self, sender: GeneralName) -> Self {
        self.header.sender = sender;
        self
    }

    /// Sets the sender to a directoryName.
    pub fn sender_name(self, name: Name) -> Self {
        self.sender(GeneralName::DirectoryName(name))
    }

    /// Sets the recipient.
    pub fn recipient(mut self, recipient: GeneralName) -> Self {
        self.header.recipient = recipient;
        self
    }

    /// Sets the recipient to a directoryName.
    pub fn recipient_name(self, name: Name) -> Self {
        self.recipient(GeneralName::DirectoryName(name))
    }

    /// Sets messageTime.
    pub fn message_time(mut self, time: GeneralizedTime) -> Self {
        self.header.message_time = Some(time);
        self
    }

    /// Sets protectionAlg.
    pub fn protection_alg(mut self, alg: AlgorithmIdentifier) -> Self {
        self.header.protection_alg = Some(alg);
        self
    }

    /// Sets senderKID.
    pub fn sender_kid(mut self, kid: impl Into<Vec<u8>>) -> Self {
        self.header.sender_kid = Some(KeyIdentifier::from(kid.into()));
        self
    }

    /// Sets recipKID.
    pub fn recip_kid(mut self, kid: impl Into<Vec<u8>>) -> Self {
        self.header.recip_kid = Some(KeyIdentifier::from(kid.into()));
        self
    }

    /// Sets transactionID.
    pub fn transaction_id(mut self, id: impl Into<Vec<u8>>) -> Self {
        self.header.transaction_id = Some(OctetString::from(id.into()));
        self
    }

    /// Sets senderNonce.
    pub fn sender_nonce(mut self, nonce: impl Into<Vec<u8>>) -> Self {
        self.header.sender_nonce = Some(OctetString::from(nonce.into()));
        self
    }

    /// Sets recipNonce.
    pub fn recip_nonce(mut self, nonce: impl Into<Vec<u8>>) -> Self {
        self.header.recip_nonce = Some(OctetString::from(nonce.into()));
        self
    }

    /// Adds a freeText line.
    pub fn free_text(mut self, text: &str) -> Self {
        self.header
            .free_text
            .get_or_insert_with(PkiFreeText::new)
            .push(Utf8String::from(text));
        self
    }

    /// Adds a generalInfo entry.
    pub fn general_info(mut self, itav: InfoTypeAndValue) -> Self {
        self.header
            .general_info
            .get_or_insert_with(Vec::new)
            .push(itav);
        self
    }

    /// Adds the implicitConfirm generalInfo entry.
    pub fn implicit_confirm(self) -> Self {
        // ImplicitConfirm always encodes (NULL).
        match InfoTypeAndValue::from_value(&InfoValue::ImplicitConfirm) {
            Ok(itav) => self.general_info(itav),
            Err(_) => self,
        }
    }

    /// The header.
    pub fn build(self) -> PkiHeader {
        self.header
    }
}

/// Builds a [`CertTemplate`] as the Lightweight CMP Profile wants it: no serialNumber,
/// signingAlg or unique identifiers.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct CertTemplateBuilder {
    template: CertTemplate,
}

impl CertTemplateBuilder {
    /// An empty template.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets version (2 = v3; RFC 9483 allows only 2 if present).
    pub fn version(mut self, version: i64) -> Self {
        self.template.version = Some(Integer::from(version));
        self
    }

    /// Sets the subject.
    pub fn subject(mut self, subject: Name) -> Self {
        self.template.subject = Some(subject);
        self
    }

    /// Sets the issuer.
    pub fn issuer(mut self, issuer: Name) -> Self {
        self.template.issuer = Some(issuer);
        self
    }

    /// Sets the serial number (for revocation templates).
    pub fn serial_number(mut self, serial: Integer) -> Self {
        self.template.serial_number = Some(serial);
        self
    }

    /// Sets the public key.
    pub fn public_key(mut self, spki: SubjectPublicKeyInfo) -> Self {
        self.template.public_key = Some(spki);
        self
    }

    /// Sets the requested validity.
    pub fn validity(mut self, not_before: Option<Time>, not_after: Option<Time>) -> Self {
        self.template.validity = Some(OptionalValidity {
            not_before,
            not_after,
        });
        self
    }

    /// Adds an extension.
    pub fn extension(mut self, ext: Extension) -> Self {
        let mut exts: Vec<Extension> = self
            .template
            .extensions
            .take()
            .map(|e| e.to_vec())
            .unwrap_or_default();
        exts.push(ext);
        self.template.extensions = Some(Extensions::from(exts));
        self
    }

    /// The template.
    pub fn build(self) -> CertTemplate {
        self.template
    }
}

/// One `CertReqMsg` with certReqId 0, as the Lightweight CMP Profile wants, wrapped in
/// `CertReqMessages`; the POP is added by the caller (it signs the `certReq`).
pub fn cert_req_messages(template: CertTemplate, controls: Option<Controls>) -> CertReqMessages {
    vec![CertReqMsg {
        cert_req: CertRequest {
            cert_req_id: Integer::from(0),
            cert_template: template,
            controls,
        },
        popo: None,
        reg_info: None,
    }]
}

/// `raVerified` POP (`80 00`).
pub fn popo_ra_verified() -> ProofOfPossession {
    ProofOfPossession::RaVerified(())
}

/// A certConf body confirming (status `None`) or rejecting one certificate.
pub fn cert_conf(
    cert_hash: Vec<u8>,
    cert_req_id: i64,
    status: Option<PkiStatusInfo>,
    hash_alg: Option<AlgorithmIdentifier>,
) -> CertConfirmContent {
    vec![CertStatus {
        cert_hash: OctetString::from(cert_hash),
        cert_req_id: Integer::from(cert_req_id),
        status_info: status,
        hash_alg,
    }]
}

/// A pollReq body for one request.
pub fn poll_req(cert_req_id: i64) -> PollReqContent {
    vec![PollReq {
        cert_req_id: Integer::from(cert_req_id),
    }]
}
