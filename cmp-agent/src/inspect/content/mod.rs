//! The `content` of a message: what its body holds, per body type.
//!
//! JSON naming is uniform: lists of request items are `requests`, lists of response items
//! `responses`, every status is flattened into `status` / `failInfo` / `statusString`, and
//! absent optional fields are `null`.

mod certs;
mod itav;
mod other;

use cmp_core::asn1::PkiBody;
use serde::Serialize;

pub(crate) use certs::{
    AtvValue, AtvView, CertConfView, CertReqView, CertRequests, CertResponseView, CertResponses,
    P10View, TemplateView,
};
pub(crate) use itav::{CaKeyUpdateView, GeneralView, ItavValue, ItavView};
pub(crate) use other::{
    CrlView, ErrorView, PollRepView, PollReqView, RevDetailsView, RpView, RrView,
};

/// The body content; JSON: an object whose keys depend on the body type (`{}` for pkiconf
/// and for bodies `inspect` does not detail).
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum Content {
    /// ir, cr, kur, krr, ccr.
    CertRequests(CertRequests),
    /// ip, cp, kup, ccp.
    CertResponses(CertResponses),
    /// p10cr.
    P10cr(P10View),
    /// certConf.
    CertConf(CertConfView),
    /// pollReq.
    PollReq(PollReqView),
    /// pollRep.
    PollRep(PollRepView),
    /// rr.
    Rr(RrView),
    /// rp.
    Rp(RpView),
    /// genm, genp.
    General(GeneralView),
    /// error.
    Error(ErrorView),
    /// pkiconf and bodies shown by name only.
    Empty(Empty),
}

/// No details; JSON: `{}`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Empty {}

impl Content {
    /// The content view of `body`.
    pub(crate) fn of(body: &PkiBody) -> Self {
        if let Some(reqs) = body.cert_req() {
            return Content::CertRequests(CertRequests::of(reqs));
        }
        if let Some(rep) = body.cert_rep() {
            return Content::CertResponses(CertResponses::of(rep));
        }
        match body {
            PkiBody::P10cr(csr) => Content::P10cr(P10View::of(csr)),
            PkiBody::CertConf(c) => Content::CertConf(CertConfView::of(c)),
            PkiBody::PollReq(p) => Content::PollReq(PollReqView::of(p)),
            PkiBody::PollRep(p) => Content::PollRep(PollRepView::of(p)),
            PkiBody::Rr(r) => Content::Rr(RrView::of(r)),
            PkiBody::Rp(r) => Content::Rp(RpView::of(r)),
            PkiBody::Genm(g) | PkiBody::Genp(g) => Content::General(GeneralView::of(g)),
            PkiBody::Error(e) => Content::Error(ErrorView::of(e)),
            _ => Content::Empty(Empty {}),
        }
    }
}
