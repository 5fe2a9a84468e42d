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

impl RevDetails {
    /// The revocation reason from the `reasonCode` extension in crlEntryDetails, if present
    /// and well-formed.
    pub fn reason(&self) -> Option<CrlReason> {
        let ext = self
            .crl_entry_details
            .as_ref()?
            .iter()
            .find(|e| *e.extn_id == *super::oid::CE_REASON_CODE)?;
        CrlReason::from_extension_value(&ext.extn_value)
    }
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

    /// The reason in a DER `reasonCode` extension value (`ENUMERATED`, e.g. `0A 01 01`).
    pub fn from_extension_value(der: &[u8]) -> Option<CrlReason> {
        match der {
            [0x0A, 0x01, code] => Self::from_code(*code),
            _ => None,
        }
    }

    /// The `reasonCode` extension (not critical) for this reason.
    pub fn to_extension(self) -> rasn_pkix::Extension {
        rasn_pkix::Extension {
            extn_id: super::oid::CE_REASON_CODE.to_owned(),
            critical: false,
            extn_value: OctetString::from(vec![0x0A, 0x01, self as u8]),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_code_extension_roundtrips() {
        let ext = CrlReason::KeyCompromise.to_extension();
        assert_eq!(ext.extn_value.as_ref(), &[0x0A, 0x01, 0x01]);
        let details = RevDetails {
            cert_details: crate::asn1::CertTemplate::default(),
            crl_entry_details: Some(Extensions::from(vec![ext])),
        };
        assert_eq!(details.reason(), Some(CrlReason::KeyCompromise));
        assert_eq!(CrlReason::from_extension_value(&[0x0A, 0x01, 7]), None);
        assert_eq!(
            CrlReason::from_code(8).map(CrlReason::name),
            Some("removeFromCRL")
        );
    }
}
