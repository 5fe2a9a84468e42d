//! `PKIBody`: the 27 message types of CMP (RFC 9810 §5.1.2).

use rasn::prelude::*;
use rasn_pkix::CertificateList;

use super::cert::{CmpCertificate, Pkcs10Request};
use super::cert_rep::{CertRepMessage, KeyRecRepContent};
use super::challenge::{CaKeyUpdContent, PopoDecKeyChallContent, PopoDecKeyRespContent};
use super::confirm::{CertConfirmContent, PollRepContent, PollReqContent};
use super::crmf::CertReqMessages;
use super::error_msg::ErrorMsgContent;
use super::general::{GenMsgContent, GenRepContent};
use super::message::PkiMessages;
use super::revocation::{RevAnnContent, RevRepContent, RevReqContent};

/// The message-specific body (RFC 9810 §5.1.2). Every alternative is explicitly tagged:
/// `[0] ir` starts with `A0`, `[19] pkiconf` is `B3 02 05 00`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
#[rasn(choice)]
#[allow(clippy::large_enum_variant)]
pub enum PkiBody {
    /// `[0]` Initialization Request.
    #[rasn(tag(explicit(context, 0)))]
    Ir(CertReqMessages),
    /// `[1]` Initialization Response.
    #[rasn(tag(explicit(context, 1)))]
    Ip(CertRepMessage),
    /// `[2]` Certification Request.
    #[rasn(tag(explicit(context, 2)))]
    Cr(CertReqMessages),
    /// `[3]` Certification Response.
    #[rasn(tag(explicit(context, 3)))]
    Cp(CertRepMessage),
    /// `[4]` PKCS #10 certification request.
    #[rasn(tag(explicit(context, 4)))]
    P10cr(Pkcs10Request),
    /// `[5]` pop challenge.
    #[rasn(tag(explicit(context, 5)))]
    Popdecc(PopoDecKeyChallContent),
    /// `[6]` pop response.
    #[rasn(tag(explicit(context, 6)))]
    Popdecr(PopoDecKeyRespContent),
    /// `[7]` Key Update Request.
    #[rasn(tag(explicit(context, 7)))]
    Kur(CertReqMessages),
    /// `[8]` Key Update Response.
    #[rasn(tag(explicit(context, 8)))]
    Kup(CertRepMessage),
    /// `[9]` Key Recovery Request.
    #[rasn(tag(explicit(context, 9)))]
    Krr(CertReqMessages),
    /// `[10]` Key Recovery Response.
    #[rasn(tag(explicit(context, 10)))]
    Krp(KeyRecRepContent),
    /// `[11]` Revocation Request.
    #[rasn(tag(explicit(context, 11)))]
    Rr(RevReqContent),
    /// `[12]` Revocation Response.
    #[rasn(tag(explicit(context, 12)))]
    Rp(RevRepContent),
    /// `[13]` Cross-Cert. Request.
    #[rasn(tag(explicit(context, 13)))]
    Ccr(CertReqMessages),
    /// `[14]` Cross-Cert. Response.
    #[rasn(tag(explicit(context, 14)))]
    Ccp(CertRepMessage),
    /// `[15]` CA Key Update Ann.
    #[rasn(tag(explicit(context, 15)))]
    Ckuann(CaKeyUpdContent),
    /// `[16]` Certificate Ann.
    #[rasn(tag(explicit(context, 16)))]
    Cann(CmpCertificate),
    /// `[17]` Revocation Ann.
    #[rasn(tag(explicit(context, 17)))]
    Rann(RevAnnContent),
    /// `[18]` CRL Announcement.
    #[rasn(tag(explicit(context, 18)))]
    Crlann(SequenceOf<CertificateList>),
    /// `[19]` Confirmation (NULL).
    #[rasn(tag(explicit(context, 19)))]
    Pkiconf(()),
    /// `[20]` Nested Message.
    #[rasn(tag(explicit(context, 20)))]
    Nested(PkiMessages),
    /// `[21]` General Message.
    #[rasn(tag(explicit(context, 21)))]
    Genm(GenMsgContent),
    /// `[22]` General Response.
    #[rasn(tag(explicit(context, 22)))]
    Genp(GenRepContent),
    /// `[23]` Error Message.
    #[rasn(tag(explicit(context, 23)))]
    Error(ErrorMsgContent),
    /// `[24]` Certificate confirm.
    #[rasn(tag(explicit(context, 24)))]
    CertConf(CertConfirmContent),
    /// `[25]` Polling request.
    #[rasn(tag(explicit(context, 25)))]
    PollReq(PollReqContent),
    /// `[26]` Polling response.
    #[rasn(tag(explicit(context, 26)))]
    PollRep(PollRepContent),
}

/// The RFC names of the body types, indexed by tag number.
pub const BODY_NAMES: [&str; 27] = [
    "ir", "ip", "cr", "cp", "p10cr", "popdecc", "popdecr", "kur", "kup", "krr", "krp", "rr", "rp",
    "ccr", "ccp", "ckuann", "cann", "rann", "crlann", "pkiconf", "nested", "genm", "genp", "error",
    "certConf", "pollReq", "pollRep",
];

impl PkiBody {
    /// The context tag number of this alternative (0 for ir … 26 for pollRep).
    pub fn tag_number(&self) -> u32 {
        use PkiBody::*;
        match self {
            Ir(_) => 0,
            Ip(_) => 1,
            Cr(_) => 2,
            Cp(_) => 3,
            P10cr(_) => 4,
            Popdecc(_) => 5,
            Popdecr(_) => 6,
            Kur(_) => 7,
            Kup(_) => 8,
            Krr(_) => 9,
            Krp(_) => 10,
            Rr(_) => 11,
            Rp(_) => 12,
            Ccr(_) => 13,
            Ccp(_) => 14,
            Ckuann(_) => 15,
            Cann(_) => 16,
            Rann(_) => 17,
            Crlann(_) => 18,
            Pkiconf(_) => 19,
            Nested(_) => 20,
            Genm(_) => 21,
            Genp(_) => 22,
            Error(_) => 23,
            CertConf(_) => 24,
            PollReq(_) => 25,
            PollRep(_) => 26,
        }
    }

    /// The RFC name of the body type: `ir`, `pkiconf`, `certConf`, `pollRep`, …
    pub fn name(&self) -> &'static str {
        BODY_NAMES[self.tag_number() as usize]
    }

    /// The RFC name of a body tag number, if it is one.
    pub fn name_of_tag(tag: u32) -> Option<&'static str> {
        BODY_NAMES.get(tag as usize).copied()
    }

    /// The certificate response content of ip, cp, kup and ccp.
    pub fn cert_rep(&self) -> Option<&CertRepMessage> {
        match self {
            PkiBody::Ip(c) | PkiBody::Cp(c) | PkiBody::Kup(c) | PkiBody::Ccp(c) => Some(c),
            _ => None,
        }
    }

    /// The certificate request content of ir, cr, kur, krr and ccr.
    pub fn cert_req(&self) -> Option<&CertReqMessages> {
        match self {
            PkiBody::Ir(c)
            | PkiBody::Cr(c)
            | PkiBody::Kur(c)
            | PkiBody::Krr(c)
            | PkiBody::Ccr(c) => Some(c),
            _ => None,
        }
    }
}
