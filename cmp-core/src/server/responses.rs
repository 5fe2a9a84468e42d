//! Builders for the bodies a server answers with: ip/cp/kup/ccp, rp, genp, pkiConf, pollRep
//! and error.

use rasn::types::{Integer, Utf8String};

use crate::asn1::{
    CertId, CertOrEncCert, CertRepMessage, CertResponse, CertifiedKeyPair, CmpCertificate,
    ErrorMsgContent, InfoTypeAndValue, PkiBody, PkiStatusInfo, PollRep, RevRepContent,
};
use crate::transaction::EnrollmentKind;

/// The response body type of an enrollment request: ip for ir, cp for cr and p10cr, kup for
/// kur, ccp for ccr.
pub fn cert_rep_body(kind: EnrollmentKind, content: CertRepMessage) -> PkiBody {
    match kind {
        EnrollmentKind::Ir => PkiBody::Ip(content),
        EnrollmentKind::Cr | EnrollmentKind::P10cr => PkiBody::Cp(content),
        EnrollmentKind::Kur => PkiBody::Kup(content),
        EnrollmentKind::Ccr => PkiBody::Ccp(content),
    }
}

/// A `CertRepMessage` granting `certificate` (status accepted) for `cert_req_id`, with
/// `ca_pubs` when not empty.
pub fn cert_granted(
    cert_req_id: i64,
    certificate: CmpCertificate,
    ca_pubs: Vec<CmpCertificate>,
) -> CertRepMessage {
    CertRepMessage {
        ca_pubs: (!ca_pubs.is_empty()).then_some(ca_pubs),
        response: vec![CertResponse {
            cert_req_id: Integer::from(cert_req_id),
            status: PkiStatusInfo::accepted(),
            certified_key_pair: Some(CertifiedKeyPair {
                cert_or_enc_cert: CertOrEncCert::Certificate(certificate),
                private_key: None,
                publication_info: None,
            }),
            rsp_info: None,
        }],
    }
}

/// A `CertRepMessage` with one CertResponse that carries `status` and no certificate: a
/// rejection (RFC 9810 §5.3.4), or `waiting` for delayed delivery.
pub fn cert_status_only(cert_req_id: i64, status: PkiStatusInfo) -> CertRepMessage {
    CertRepMessage {
        ca_pubs: None,
        response: vec![CertResponse {
            cert_req_id: Integer::from(cert_req_id),
            status,
            certified_key_pair: None,
            rsp_info: None,
        }],
    }
}

/// An rp with one status, naming the certificate when it was revoked.
pub fn rp(status: PkiStatusInfo, revoked: Option<CertId>) -> PkiBody {
    PkiBody::Rp(RevRepContent {
        status: vec![status],
        rev_certs: revoked.map(|id| vec![id]),
        crls: None,
    })
}

/// A genp with these entries.
pub fn genp(itavs: Vec<InfoTypeAndValue>) -> PkiBody {
    PkiBody::Genp(itavs)
}

/// pkiConf.
pub fn pki_conf() -> PkiBody {
    PkiBody::Pkiconf(())
}

/// A pollRep for `cert_req_id` (-1 for a whole message): poll again after `check_after`
/// seconds.
pub fn poll_rep(cert_req_id: i64, check_after: u64, reason: Option<&str>) -> PkiBody {
    PkiBody::PollRep(vec![PollRep {
        cert_req_id: Integer::from(cert_req_id),
        check_after: Integer::from(check_after),
        reason: reason.map(|r| vec![Utf8String::from(r)]),
    }])
}

/// An error message with `status` and optional details.
pub fn error(status: PkiStatusInfo, details: Option<&str>) -> PkiBody {
    PkiBody::Error(ErrorMsgContent {
        pki_status_info: status,
        error_code: None,
        error_details: details.map(|d| vec![Utf8String::from(d)]),
    })
}
