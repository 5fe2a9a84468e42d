//! Polling (pollReq, pollRep), revocation (rr, rp) and error bodies.

use cmp_core::asn1::{
    CertificateList, CrlReason, ErrorMsgContent, Extension, PollRepContent, PollReqContent,
    RevDetails, RevRepContent, RevReqContent, oid,
};
use cmp_core::der::Reader;
use serde::Serialize;

use super::certs::extensions;
use crate::inspect::values::{CertIdView, ExtView, Int, Serial, StatusView, free_text, name, time};

/// pollReq; JSON: `{"requests": [{"certReqId"}]}`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct PollReqView {
    /// One entry per request polled for.
    pub(crate) requests: Vec<PollReqEntry>,
}

/// One pollReq entry.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PollReqEntry {
    /// certReqId.
    pub(crate) cert_req_id: Int,
}

impl PollReqView {
    /// The view of `p`.
    pub(crate) fn of(p: &PollReqContent) -> Self {
        PollReqView {
            requests: p
                .iter()
                .map(|r| PollReqEntry {
                    cert_req_id: Int(r.cert_req_id.clone()),
                })
                .collect(),
        }
    }
}

/// pollRep; JSON: `{"responses": [{"certReqId", "checkAfter", "reason"}]}`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct PollRepView {
    /// One entry per request answered.
    pub(crate) responses: Vec<PollRepEntry>,
}

/// One pollRep entry.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PollRepEntry {
    /// certReqId.
    pub(crate) cert_req_id: Int,
    /// Seconds to wait.
    pub(crate) check_after: Int,
    /// reason, joined with "; ".
    pub(crate) reason: Option<String>,
}

impl PollRepView {
    /// The view of `p`.
    pub(crate) fn of(p: &PollRepContent) -> Self {
        PollRepView {
            responses: p
                .iter()
                .map(|r| PollRepEntry {
                    cert_req_id: Int(r.cert_req_id.clone()),
                    check_after: Int(r.check_after.clone()),
                    reason: r.reason.as_deref().map(free_text),
                })
                .collect(),
        }
    }
}

/// rr; JSON: `{"requests": [{"issuer", "serial", "reason", "reasonCode", "crlEntryDetails"}]}`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct RrView {
    /// One entry per RevDetails.
    pub(crate) requests: Vec<RevDetailsView>,
}

/// One RevDetails.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RevDetailsView {
    /// certDetails.issuer.
    pub(crate) issuer: Option<String>,
    /// certDetails.serialNumber.
    pub(crate) serial: Option<Serial>,
    /// The RFC 5280 name of the reasonCode, when it has one.
    pub(crate) reason: Option<&'static str>,
    /// The reasonCode CRL entry extension's value.
    pub(crate) reason_code: Option<i64>,
    /// All CRL entry extensions.
    pub(crate) crl_entry_details: Option<Vec<ExtView>>,
}

impl RrView {
    /// The view of `r`.
    pub(crate) fn of(r: &RevReqContent) -> Self {
        RrView {
            requests: r.iter().map(RevDetailsView::of).collect(),
        }
    }
}

impl RevDetailsView {
    fn of(d: &RevDetails) -> Self {
        let t = &d.cert_details;
        let reason_code = d
            .crl_entry_details
            .as_ref()
            .and_then(|exts| exts.iter().find(|e| *e.extn_id == *oid::CE_REASON_CODE))
            .and_then(reason_code);
        RevDetailsView {
            issuer: t.issuer.as_ref().map(name),
            serial: t.serial_number.as_ref().map(Serial::of),
            reason: reason_code
                .and_then(|c| u8::try_from(c).ok())
                .and_then(CrlReason::from_code)
                .map(CrlReason::name),
            reason_code,
            crl_entry_details: d.crl_entry_details.as_ref().map(extensions),
        }
    }
}

/// The value of a reasonCode extension: `ENUMERATED` (tag 0x0A) inside the OCTET STRING.
fn reason_code(ext: &Extension) -> Option<i64> {
    let tlv = Reader::new(&ext.extn_value, 0).read().ok()?;
    if tlv.first_octet() != 0x0A || tlv.value.is_empty() || tlv.value.len() > 8 {
        return None;
    }
    let negative = tlv.value[0] & 0x80 != 0;
    let init: i64 = if negative { -1 } else { 0 };
    Some(
        tlv.value
            .iter()
            .fold(init, |acc, b| (acc << 8) | i64::from(*b)),
    )
}

/// rp; JSON: `{"statuses": [...], "revCerts": [{"issuer", "serial"}] | null, "crls": [...] | null}`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RpView {
    /// One status per RevDetails.
    pub(crate) statuses: Vec<StatusView>,
    /// revCerts.
    pub(crate) rev_certs: Option<Vec<CertIdView>>,
    /// crls.
    pub(crate) crls: Option<Vec<CrlView>>,
}

impl RpView {
    /// The view of `r`.
    pub(crate) fn of(r: &RevRepContent) -> Self {
        RpView {
            statuses: r.status.iter().map(StatusView::of).collect(),
            rev_certs: r
                .rev_certs
                .as_ref()
                .map(|c| c.iter().map(CertIdView::of).collect()),
            crls: r.crls.as_ref().map(|c| CrlView::list(c)),
        }
    }
}

/// A CRL; JSON: `{"issuer", "thisUpdate", "nextUpdate", "revoked"}` (`revoked` counts the
/// entries).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CrlView {
    /// The CRL issuer.
    pub(crate) issuer: String,
    /// thisUpdate.
    pub(crate) this_update: String,
    /// nextUpdate.
    pub(crate) next_update: Option<String>,
    /// Number of revoked certificates listed.
    pub(crate) revoked: usize,
}

impl CrlView {
    /// Views of a list of CRLs.
    pub(crate) fn list(crls: &[CertificateList]) -> Vec<Self> {
        crls.iter()
            .map(|c| {
                let t = &c.tbs_cert_list;
                CrlView {
                    issuer: name(&t.issuer),
                    this_update: time(&t.this_update),
                    next_update: t.next_update.as_ref().map(time),
                    revoked: t.revoked_certificates.len(),
                }
            })
            .collect()
    }
}

/// error; JSON: the status fields, `errorCode` and `errorDetails` (joined with "; ").
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorView {
    /// pKIStatusInfo.
    #[serde(flatten)]
    pub(crate) status: StatusView,
    /// errorCode.
    pub(crate) error_code: Option<Int>,
    /// errorDetails.
    pub(crate) error_details: Option<String>,
}

impl ErrorView {
    /// The view of `e`.
    pub(crate) fn of(e: &ErrorMsgContent) -> Self {
        ErrorView {
            status: StatusView::of(&e.pki_status_info),
            error_code: e.error_code.clone().map(Int),
            error_details: e.error_details.as_deref().map(free_text),
        }
    }
}
