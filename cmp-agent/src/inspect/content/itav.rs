//! InfoTypeAndValue: the content of genm/genp, and header generalInfo.

use cmp_core::asn1::{
    CaKeyUpdAnnContent, CrlSource, GenMsgContent, InfoTypeAndValue, InfoValue,
    RootCaKeyUpdateContent,
};
use serde::Serialize;

use super::certs::{AtvView, TemplateView};
use super::other::CrlView;
use crate::inspect::values::{AlgView, CertView, Hex, OidView, general_name, generalized_time};

/// genm, genp; JSON: `{"itavs": [...]}`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct GeneralView {
    /// The InfoTypeAndValues in order.
    pub(crate) itavs: Vec<ItavView>,
}

impl GeneralView {
    /// The view of `g`.
    pub(crate) fn of(g: &GenMsgContent) -> Self {
        GeneralView {
            itavs: ItavView::list(g),
        }
    }
}

/// One InfoTypeAndValue; JSON: `{"name", "oid", "value"}`, `value` null when absent (as in
/// requests) or NULL (implicitConfirm).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ItavView {
    /// infoType.
    #[serde(flatten)]
    pub(crate) info_type: OidView,
    /// A typed summary of infoValue.
    pub(crate) value: Option<ItavValue>,
}

/// A summary of an infoValue; JSON: an object with one key naming its kind, e.g.
/// `{"certificates": [...]}` (caCerts), `{"algorithms": [...]}` (signKeyPairTypes),
/// `{"texts": [...]}` (certProfile), `{"time": "..."}` (confirmWaitTime), `{"der": "hex"}`
/// (unknown types) or `{"error": "..."}` (a value that does not decode).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ItavValue {
    /// caCerts.
    Certificates(Vec<CertView>),
    /// caProtEncCert, rootCaCert.
    Certificate(CertView),
    /// signKeyPairTypes, encKeyPairTypes.
    Algorithms(Vec<AlgView>),
    /// preferredSymmAlg, keyPairParamRep.
    Algorithm(AlgView),
    /// unsupportedOIDs, keyPairParamReq.
    Oids(Vec<OidView>),
    /// suppLangTags, certProfile, crlStatusList (sources).
    Texts(Vec<String>),
    /// confirmWaitTime.
    Time(String),
    /// caKeyUpdateInfo, rootCaKeyUpdate.
    CaKeyUpdate(CaKeyUpdateView),
    /// certReqTemplate.
    CertReqTemplate(CertReqTemplateView),
    /// currentCRL, crls.
    Crls(Vec<CrlView>),
    /// origPKIMessage: the body types of the messages.
    Messages(Vec<&'static str>),
    /// revPassphrase: an encrypted value.
    Encrypted {},
    /// Unknown types: the DER of the value.
    Der(Hex),
    /// A value that does not decode.
    Error(String),
}

/// A CA key update; JSON: `{"newWithNew", "newWithOld", "oldWithNew"}`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CaKeyUpdateView {
    /// The new root, self-signed.
    pub(crate) new_with_new: CertView,
    /// The new key certified by the old.
    pub(crate) new_with_old: Option<CertView>,
    /// The old key certified by the new.
    pub(crate) old_with_new: Option<CertView>,
}

/// A certReqTemplate; JSON: `{"template", "keySpec"}`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CertReqTemplateView {
    /// The template.
    pub(crate) template: TemplateView,
    /// keySpec controls.
    pub(crate) key_spec: Option<Vec<AtvView>>,
}

impl ItavView {
    /// Views of a list of ITAVs.
    pub(crate) fn list(itavs: &[InfoTypeAndValue]) -> Vec<Self> {
        itavs.iter().map(Self::of).collect()
    }

    fn of(itav: &InfoTypeAndValue) -> Self {
        let value = match itav.value() {
            Ok(v) => summary(itav, &v),
            Err(e) => Some(ItavValue::Error(e.to_string())),
        };
        ItavView {
            info_type: OidView::of(&itav.info_type),
            value,
        }
    }
}

fn summary(itav: &InfoTypeAndValue, value: &InfoValue) -> Option<ItavValue> {
    use ItavValue as V;
    let algs = |a: &[cmp_core::asn1::AlgorithmIdentifier]| a.iter().map(AlgView::of).collect();
    let texts = |t: &[String]| t.to_vec();
    match value {
        InfoValue::CaProtEncCert(c) | InfoValue::RootCaCert(c) => {
            c.as_ref().map(|c| V::Certificate(CertView::of(c)))
        }
        InfoValue::SignKeyPairTypes(a) | InfoValue::EncKeyPairTypes(a) => {
            a.as_deref().map(|a| V::Algorithms(algs(a)))
        }
        InfoValue::PreferredSymmAlg(a) | InfoValue::KeyPairParamRep(a) => {
            a.as_ref().map(|a| V::Algorithm(AlgView::of(a)))
        }
        InfoValue::CaKeyUpdateInfo(c) => c.as_ref().map(|c| V::CaKeyUpdate(ann(c))),
        InfoValue::RootCaKeyUpdate(c) => c.as_ref().map(|c| V::CaKeyUpdate(root_update(c))),
        InfoValue::CurrentCrl(c) => c
            .as_ref()
            .map(|c| V::Crls(CrlView::list(std::slice::from_ref(c)))),
        InfoValue::Crls(c) => c.as_deref().map(|c| V::Crls(CrlView::list(c))),
        InfoValue::UnsupportedOids(o) => o
            .as_deref()
            .map(|o| V::Oids(o.iter().map(|o| OidView::of(o)).collect())),
        InfoValue::KeyPairParamReq(o) => o.as_ref().map(|o| V::Oids(vec![OidView::of(o)])),
        InfoValue::RevPassphrase(k) => k.as_ref().map(|_| V::Encrypted {}),
        InfoValue::ImplicitConfirm => None,
        InfoValue::ConfirmWaitTime(t) => Some(V::Time(generalized_time(t))),
        InfoValue::OrigPkiMessage(m) => {
            Some(V::Messages(m.iter().map(|m| m.body.name()).collect()))
        }
        InfoValue::SuppLangTags(t) => t.as_deref().map(|t| V::Texts(texts(t))),
        InfoValue::CertProfile(t) => Some(V::Texts(texts(t))),
        InfoValue::CaCerts(c) => c.as_deref().map(|c| V::Certificates(CertView::list(c))),
        InfoValue::CertReqTemplate(t) => t.as_ref().map(|t| {
            V::CertReqTemplate(CertReqTemplateView {
                template: TemplateView::of(&t.cert_template),
                key_spec: t.key_spec.as_ref().map(|k| AtvView::list(k)),
            })
        }),
        InfoValue::CrlStatusList(l) => Some(V::Texts(
            l.iter()
                .map(|s| match &s.source {
                    CrlSource::Dpn(_) => "distributionPoint".to_owned(),
                    CrlSource::Issuer(names) => names
                        .iter()
                        .map(general_name)
                        .collect::<Vec<_>>()
                        .join("; "),
                })
                .collect(),
        )),
        // Unknown types, and kinds cmp-core may add later.
        _ => itav
            .info_value
            .as_ref()
            .map(|a| V::Der(Hex::of(a.as_bytes()))),
    }
}

fn ann(c: &CaKeyUpdAnnContent) -> CaKeyUpdateView {
    CaKeyUpdateView {
        new_with_new: CertView::of(&c.new_with_new),
        new_with_old: Some(CertView::of(&c.new_with_old)),
        old_with_new: Some(CertView::of(&c.old_with_new)),
    }
}

fn root_update(c: &RootCaKeyUpdateContent) -> CaKeyUpdateView {
    CaKeyUpdateView {
        new_with_new: CertView::of(&c.new_with_new),
        new_with_old: c.new_with_old.as_ref().map(CertView::of),
        old_with_new: c.old_with_new.as_ref().map(CertView::of),
    }
}
