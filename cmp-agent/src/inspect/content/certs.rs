//! Certificate requests (ir, cr, kur, krr, ccr, p10cr), responses (ip, cp, kup, ccp) and
//! confirmations (certConf).

use cmp_core::asn1::{
    AttributeTypeAndValue, CertConfirmContent, CertOrEncCert, CertRepMessage, CertReqMessages,
    CertReqMsg, CertResponse, CertTemplate, ControlValue, Extensions, Pkcs10Request,
    PkiArchiveOptions, PopoAuthInfo, PopoPrivKey, ProofOfPossession, oid,
};
use serde::Serialize;

use crate::inspect::values::{
    AlgView, CertIdView, CertView, ExtView, Hex, Int, OidView, Serial, StatusView, name, time,
};

/// ir, cr, kur, krr, ccr; JSON: `{"requests": [...]}`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct CertRequests {
    /// One entry per CertReqMsg.
    pub(crate) requests: Vec<CertReqView>,
}

impl CertRequests {
    /// The view of `msgs`.
    pub(crate) fn of(msgs: &CertReqMessages) -> Self {
        CertRequests {
            requests: msgs.iter().map(CertReqView::of).collect(),
        }
    }
}

/// One CertReqMsg.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CertReqView {
    /// certReqId.
    pub(crate) cert_req_id: Int,
    /// The certificate template.
    pub(crate) template: TemplateView,
    /// Controls (oldCertID, regToken, …).
    pub(crate) controls: Option<Vec<AtvView>>,
    /// The proof of possession.
    pub(crate) popo: Option<PopoView>,
    /// Registration info (utf8Pairs, …).
    pub(crate) reg_info: Option<Vec<AtvView>>,
}

impl CertReqView {
    fn of(msg: &CertReqMsg) -> Self {
        let req = &msg.cert_req;
        CertReqView {
            cert_req_id: Int(req.cert_req_id.clone()),
            template: TemplateView::of(&req.cert_template),
            controls: req.controls.as_ref().map(|c| AtvView::list(c)),
            popo: msg.popo.as_ref().map(PopoView::of),
            reg_info: msg.reg_info.as_ref().map(|c| AtvView::list(c)),
        }
    }
}

/// A CertTemplate; every field is `null` when absent.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TemplateView {
    /// version.
    pub(crate) version: Option<Int>,
    /// serialNumber.
    pub(crate) serial_number: Option<Serial>,
    /// signingAlg.
    pub(crate) signing_alg: Option<AlgView>,
    /// issuer (RFC 4514).
    pub(crate) issuer: Option<String>,
    /// validity.notBefore (RFC 3339).
    pub(crate) not_before: Option<String>,
    /// validity.notAfter (RFC 3339).
    pub(crate) not_after: Option<String>,
    /// subject (RFC 4514).
    pub(crate) subject: Option<String>,
    /// The algorithm of publicKey.
    pub(crate) public_key: Option<AlgView>,
    /// Requested extensions.
    pub(crate) extensions: Option<Vec<ExtView>>,
}

impl TemplateView {
    /// The view of `t`.
    pub(crate) fn of(t: &CertTemplate) -> Self {
        let validity = t.validity.as_ref();
        TemplateView {
            version: t.version.clone().map(Int),
            serial_number: t.serial_number.as_ref().map(Serial::of),
            signing_alg: t.signing_alg.as_ref().map(AlgView::of),
            issuer: t.issuer.as_ref().map(name),
            not_before: validity.and_then(|v| v.not_before.as_ref()).map(time),
            not_after: validity.and_then(|v| v.not_after.as_ref()).map(time),
            subject: t.subject.as_ref().map(name),
            public_key: t.public_key.as_ref().map(|k| AlgView::of(&k.algorithm)),
            extensions: t.extensions.as_ref().map(extensions),
        }
    }
}

/// Views of extensions.
pub(crate) fn extensions(exts: &Extensions) -> Vec<ExtView> {
    exts.iter().map(ExtView::of).collect()
}

/// A control or regInfo entry; JSON: `{"name", "oid", "value"}`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct AtvView {
    /// The type.
    #[serde(flatten)]
    pub(crate) r#type: OidView,
    /// The value, decoded by type.
    pub(crate) value: AtvValue,
}

/// The value of a control; JSON by type: oldCertID `{"issuer", "serial"}`, regToken,
/// authenticator and utf8Pairs a string, algId and protocolEncrKey an algorithm, rsaKeyLen a
/// number, anything else the hex DER; `{"error": "..."}` when the value does not decode.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum AtvValue {
    /// oldCertID.
    CertId(CertIdView),
    /// regToken, authenticator, utf8Pairs, and summaries.
    Text(String),
    /// algId, protocolEncrKey (its algorithm).
    Alg(AlgView),
    /// rsaKeyLen.
    Int(Int),
    /// Unknown types: the DER of the value.
    Der(Hex),
    /// A value that does not decode.
    Error {
        /// Why.
        error: String,
    },
}

impl AtvView {
    /// Views of a list of entries.
    pub(crate) fn list(atvs: &[AttributeTypeAndValue]) -> Vec<Self> {
        atvs.iter().map(Self::of).collect()
    }

    fn of(atv: &AttributeTypeAndValue) -> Self {
        let value = if *atv.r#type == *oid::REG_INFO_UTF8_PAIRS {
            match rasn::der::decode::<rasn::types::Utf8String>(atv.value.as_bytes()) {
                Ok(s) => AtvValue::Text(s),
                Err(e) => AtvValue::Error {
                    error: format!("utf8Pairs: {e}"),
                },
            }
        } else {
            match atv.control_value() {
                Ok(v) => control(atv, &v),
                Err(e) => AtvValue::Error {
                    error: e.to_string(),
                },
            }
        };
        AtvView {
            r#type: OidView::of(&atv.r#type),
            value,
        }
    }
}

fn control(atv: &AttributeTypeAndValue, value: &ControlValue) -> AtvValue {
    match value {
        ControlValue::RegToken(s) | ControlValue::Authenticator(s) => AtvValue::Text(s.clone()),
        ControlValue::OldCertId(id) => AtvValue::CertId(CertIdView::of(id)),
        ControlValue::ProtocolEncrKey(spki) => AtvValue::Alg(AlgView::of(&spki.algorithm)),
        ControlValue::AlgId(alg) => AtvValue::Alg(AlgView::of(alg)),
        ControlValue::RsaKeyLen(n) => AtvValue::Int(Int(n.clone())),
        ControlValue::PkiPublicationInfo(p) => AtvValue::Text(
            match i64::try_from(&p.action) {
                Ok(0) => "dontPublish",
                Ok(1) => "pleasePublish",
                _ => "unknown action",
            }
            .to_owned(),
        ),
        ControlValue::PkiArchiveOptions(o) => AtvValue::Text(match o {
            PkiArchiveOptions::EncryptedPrivKey(_) => "encryptedPrivKey".to_owned(),
            PkiArchiveOptions::KeyGenParameters(_) => "keyGenParameters".to_owned(),
            PkiArchiveOptions::ArchiveRemGenPrivKey(b) => format!("archiveRemGenPrivKey {b}"),
        }),
        // Unknown types, and kinds cmp-core may add later.
        _ => AtvValue::Der(Hex::of(atv.value.as_bytes())),
    }
}

/// The proof of possession; JSON: `{"kind", "algorithm", "detail"}` where `kind` is
/// `raVerified`, `signature`, `keyEncipherment` or `keyAgreement`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct PopoView {
    /// Which POP method.
    pub(crate) kind: &'static str,
    /// The signature or MAC algorithm, when there is one.
    pub(crate) algorithm: Option<AlgView>,
    /// More about the method, e.g. `subsequentMessage encrCert`.
    pub(crate) detail: Option<String>,
}

impl PopoView {
    fn of(popo: &ProofOfPossession) -> Self {
        let (kind, algorithm, detail) = match popo {
            ProofOfPossession::RaVerified(()) => ("raVerified", None, None),
            ProofOfPossession::Signature(sk) => (
                "signature",
                Some(AlgView::of(&sk.algorithm_identifier)),
                sk.poposk_input.as_ref().map(|i| match &i.auth_info {
                    PopoAuthInfo::Sender(_) => "poposkInput with sender".to_owned(),
                    PopoAuthInfo::PublicKeyMac(_) => "poposkInput with publicKeyMAC".to_owned(),
                }),
            ),
            ProofOfPossession::KeyEncipherment(k) => ("keyEncipherment", None, priv_key(k)),
            ProofOfPossession::KeyAgreement(k) => ("keyAgreement", None, priv_key(k)),
        };
        PopoView {
            kind,
            algorithm,
            detail,
        }
    }
}

fn priv_key(key: &PopoPrivKey) -> Option<String> {
    Some(match key {
        PopoPrivKey::ThisMessage(_) => "thisMessage".to_owned(),
        PopoPrivKey::SubsequentMessage(n) => match i64::try_from(n) {
            Ok(0) => "subsequentMessage encrCert".to_owned(),
            Ok(1) => "subsequentMessage challengeResp".to_owned(),
            _ => format!("subsequentMessage {n}"),
        },
        PopoPrivKey::DhMac(_) => "dhMAC".to_owned(),
        PopoPrivKey::AgreeMac(_) => "agreeMAC".to_owned(),
        PopoPrivKey::EncryptedKey(_) => "encryptedKey".to_owned(),
    })
}

/// ip, cp, kup, ccp; JSON: `{"caPubs": [...] | null, "responses": [...]}`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CertResponses {
    /// caPubs.
    pub(crate) ca_pubs: Option<Vec<CertView>>,
    /// One entry per CertResponse.
    pub(crate) responses: Vec<CertResponseView>,
}

impl CertResponses {
    /// The view of `rep`.
    pub(crate) fn of(rep: &CertRepMessage) -> Self {
        CertResponses {
            ca_pubs: rep.ca_pubs.as_ref().map(|c| CertView::list(c)),
            responses: rep.response.iter().map(CertResponseView::of).collect(),
        }
    }
}

/// One CertResponse; JSON: `certReqId`, the status fields, `certificate` (or null),
/// `encryptedCert` and `privateKey` (whether an encrypted certificate or a centrally
/// generated key is included).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CertResponseView {
    /// certReqId.
    pub(crate) cert_req_id: Int,
    /// The status.
    #[serde(flatten)]
    pub(crate) status: StatusView,
    /// The plain certificate.
    pub(crate) certificate: Option<CertView>,
    /// Whether the certificate came encrypted.
    pub(crate) encrypted_cert: bool,
    /// Whether a private key came along.
    pub(crate) private_key: bool,
}

impl CertResponseView {
    fn of(r: &CertResponse) -> Self {
        let pair = r.certified_key_pair.as_ref();
        let certificate = pair.and_then(|p| match &p.cert_or_enc_cert {
            CertOrEncCert::Certificate(c) => Some(CertView::of(c)),
            CertOrEncCert::EncryptedCert(_) => None,
        });
        CertResponseView {
            cert_req_id: Int(r.cert_req_id.clone()),
            status: StatusView::of(&r.status),
            certificate,
            encrypted_cert: pair
                .is_some_and(|p| matches!(p.cert_or_enc_cert, CertOrEncCert::EncryptedCert(_))),
            private_key: pair.is_some_and(|p| p.private_key.is_some()),
        }
    }
}

/// p10cr; JSON: `{"subject", "publicKey", "signatureAlg", "attributes", "extensions"}`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct P10View {
    /// The requested subject.
    pub(crate) subject: String,
    /// The key's algorithm.
    pub(crate) public_key: AlgView,
    /// The CSR's signature algorithm.
    pub(crate) signature_alg: AlgView,
    /// The attribute types.
    pub(crate) attributes: Vec<OidView>,
    /// The extensions of an extensionRequest attribute, if any.
    pub(crate) extensions: Option<Vec<ExtView>>,
}

impl P10View {
    /// The view of `csr`.
    pub(crate) fn of(csr: &Pkcs10Request) -> Self {
        let csr = csr.value();
        let info = &csr.certification_request_info;
        let attrs = info.attributes.to_vec();
        let extensions = attrs
            .iter()
            .find(|a| *a.r#type == *oid::PKCS9_EXTENSION_REQUEST)
            .and_then(|a| a.values.to_vec().first().copied())
            .and_then(|v| rasn::der::decode::<Extensions>(v.as_bytes()).ok())
            .map(|e| extensions(&e));
        P10View {
            subject: name(&info.subject),
            public_key: AlgView::of(&info.subject_pk_info.algorithm),
            signature_alg: AlgView::of(&csr.signature_algorithm),
            attributes: attrs.iter().map(|a| OidView::of(&a.r#type)).collect(),
            extensions,
        }
    }
}

/// certConf; JSON: `{"certStatus": [...]}`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CertConfView {
    /// One entry per CertStatus.
    pub(crate) cert_status: Vec<CertStatusView>,
}

/// One CertStatus; JSON: `certReqId`, `certHash` (hex), `status` / `failInfo` /
/// `statusString` (`status` is null when statusInfo is absent, which means accepted) and
/// `hashAlg`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CertStatusView {
    /// certReqId.
    pub(crate) cert_req_id: Int,
    /// certHash.
    pub(crate) cert_hash: Hex,
    /// The status, when statusInfo is present.
    pub(crate) status: Option<String>,
    /// Failure bits.
    pub(crate) fail_info: Vec<String>,
    /// statusString.
    pub(crate) status_string: Option<String>,
    /// hashAlg.
    pub(crate) hash_alg: Option<AlgView>,
    /// The status as displayed, for text output.
    #[serde(skip)]
    pub(crate) display: Option<String>,
}

impl CertConfView {
    /// The view of `c`.
    pub(crate) fn of(c: &CertConfirmContent) -> Self {
        let cert_status = c
            .iter()
            .map(|s| {
                let status = s.status_info.as_ref().map(StatusView::of);
                CertStatusView {
                    cert_req_id: Int(s.cert_req_id.clone()),
                    cert_hash: Hex::of(&s.cert_hash),
                    fail_info: status
                        .as_ref()
                        .map(|v| v.fail_info.clone())
                        .unwrap_or_default(),
                    status_string: status.as_ref().and_then(|v| v.status_string.clone()),
                    display: status.as_ref().map(|v| v.display.clone()),
                    status: status.map(|v| v.status),
                    hash_alg: s.hash_alg.as_ref().map(AlgView::of),
                }
            })
            .collect();
        CertConfView { cert_status }
    }
}
