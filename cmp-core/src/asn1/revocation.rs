//! Revocation: rr, rp (RFC 9810 §5.3.9, §5.3.10) and rann (§5.3.15).

use rasn::prelude::*;
use rasn_pkix::{CertificateList, Extensions};

use super::crmf::{CertId, CertTemplate};
use super::status::{PkiStatus, PkiStatusInfo};

/// `RevReqContent ::= SEQUENCE OF RevDetails`.
pub type RevReqContent = SequenceOf<RevDetails>;

/// ```asn1
/// RevDetails ::= SEQUENCE {
///    certDetails      CertTemplate,   -- CRMF: implicit inner tags
///    crlEntryDetails  Extensions OPTIONAL }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct RevDetails {
    /// Identifies the certificate (issuer + serialNumber, maybe more).
    pub cert_details: CertTemplate,
    /// CRL entry extensions, e.g. reasonCode.
    pub crl_entry_details: Option<Extensions>,
}

/// ```asn1
/// RevRepContent ::= SEQUENCE {
///    status    SEQUENCE SIZE (1..MAX) OF PKIStatusInfo,
///    revCerts  [0] SEQUENCE SIZE (1..MAX) OF CertId OPTIONAL,
///    crls      [1] SEQUENCE SIZE (1..MAX) OF CertificateList OPTIONAL }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct RevRepContent {
    /// One status per RevDetails.
    pub status: SequenceOf<PkiStatusInfo>,
    /// The certificates revoked.
    #[rasn(tag(explicit(context, 0)))]
    pub rev_certs: Option<SequenceOf<CertId>>,
    /// The resulting CRLs.
    #[rasn(tag(explicit(context, 1)))]
    pub crls: Option<SequenceOf<CertificateList>>,
}

/// The body of rann.
///
/// ```asn1
/// RevAnnContent ::= SEQUENCE {
///    status            PKIStatus,
///    certId            CertId,
///    willBeRevokedAt   GeneralizedTime,
///    badSinceDate      GeneralizedTime,
///    crlDetails        Extensions OPTIONAL }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct RevAnnContent {
    /// revocationWarning or revocationNotification.
    pub status: PkiStatus,
    /// The certificate.
    pub cert_id: CertId,
    /// When it will be revoked.
    pub will_be_revoked_at: GeneralizedTime,
    /// Since when it is bad.
    pub bad_since_date: GeneralizedTime,
    /// Extra CRL details.
    pub crl_details: Option<Extensions>,
}

/// The `reasonCode` CRL entry extension value (RFC 5280 §5.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum CrlReason {
    Unspecified = 0,
    KeyCompromise = 1,
    CaCompromise = 2,
    AffiliationChanged = 3,
    Superseded = 4,
    CessationOfOperation = 5,
    CertificateHold = 6,
    RemoveFromCrl = 8,
    PrivilegeWithdrawn = 9,
    AaCompromise = 10,
}

impl CrlReason {
    /// The reason for a code, as `openssl cmp -revreason` numbers them.
    pub fn from_code(code: u8) -> Option<CrlReason> {
        use CrlReason::*;
        Some(match code {
            0 => Unspecified,
            1 => KeyCompromise,
            2 => CaCompromise,
            3 => AffiliationChanged,
            4 => Superseded,
            5 => CessationOfOperation,
            6 => CertificateHold,
            8 => RemoveFromCrl,
            9 => PrivilegeWithdrawn,
            10 => AaCompromise,
            _ => return None,
        })
    }

    /// The RFC 5280 name.
    pub fn name(self) -> &'static str {
        use CrlReason::*;
        match self {
            Unspecified => "unspecified",
            KeyCompromise => "keyCompromise",
            CaCompromise => "cACompromise",
            AffiliationChanged => "affiliationChanged",
            Superseded => "superseded",
            CessationOfOperation => "cessationOfOperation",
            CertificateHold => "certificateHold",
            RemoveFromCrl => "removeFromCRL",
            PrivilegeWithdrawn => "privilegeWithdrawn",
            AaCompromise => "aACompromise",
        }
    }
}
