//! `PKIStatus`, `PKIStatusInfo` and `PKIFailureInfo` (RFC 9810 §5.2.3).

use std::fmt;

use rasn::prelude::*;

use super::header::PkiFreeText;

/// `PKIStatus ::= INTEGER` with its named values.
///
/// Kept as a number so that an unknown value from a peer still decodes (and is reported).
#[derive(AsnType, Clone, Copy, Debug, Decode, Encode, PartialEq, Eq, Hash)]
#[rasn(delegate)]
pub struct PkiStatus(pub i64);

impl PkiStatus {
    /// 0: you got exactly what you asked for.
    pub const ACCEPTED: PkiStatus = PkiStatus(0);
    /// 1: you got something like what you asked for.
    pub const GRANTED_WITH_MODS: PkiStatus = PkiStatus(1);
    /// 2: you don't get it; failInfo says why.
    pub const REJECTION: PkiStatus = PkiStatus(2);
    /// 3: the request body part has not yet been processed; poll later.
    pub const WAITING: PkiStatus = PkiStatus(3);
    /// 4: a revocation is imminent.
    pub const REVOCATION_WARNING: PkiStatus = PkiStatus(4);
    /// 5: a revocation has occurred.
    pub const REVOCATION_NOTIFICATION: PkiStatus = PkiStatus(5);
    /// 6: update already done for the oldCertId given in the kur.
    pub const KEY_UPDATE_WARNING: PkiStatus = PkiStatus(6);

    /// The RFC name of the status, or `None` for a value the RFC does not define.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "accepted",
            1 => "grantedWithMods",
            2 => "rejection",
            3 => "waiting",
            4 => "revocationWarning",
            5 => "revocationNotification",
            6 => "keyUpdateWarning",
            _ => return None,
        })
    }

    /// Whether the status means the request was granted (accepted or grantedWithMods).
    pub fn is_granted(self) -> bool {
        self == Self::ACCEPTED || self == Self::GRANTED_WITH_MODS
    }
}

impl fmt::Display for PkiStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "unknown status {}", self.0),
        }
    }
}

/// One named bit of `PKIFailureInfo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
#[allow(missing_docs)] // the names are the RFC's; see RFC 9810 §5.2.3
pub enum FailureBit {
    BadAlg = 0,
    BadMessageCheck = 1,
    BadRequest = 2,
    BadTime = 3,
    BadCertId = 4,
    BadDataFormat = 5,
    WrongAuthority = 6,
    IncorrectData = 7,
    MissingTimeStamp = 8,
    BadPop = 9,
    CertRevoked = 10,
    CertConfirmed = 11,
    WrongIntegrity = 12,
    BadRecipientNonce = 13,
    TimeNotAvailable = 14,
    UnacceptedPolicy = 15,
    UnacceptedExtension = 16,
    AddInfoNotAvailable = 17,
    BadSenderNonce = 18,
    BadCertTemplate = 19,
    SignerNotTrusted = 20,
    TransactionIdInUse = 21,
    UnsupportedVersion = 22,
    NotAuthorized = 23,
    SystemUnavail = 24,
    SystemFailure = 25,
    DuplicateCertReq = 26,
}

impl FailureBit {
    /// All 27 bits in bit order.
    pub const ALL: [FailureBit; 27] = {
        use FailureBit::*;
        [
            BadAlg,
            BadMessageCheck,
            BadRequest,
            BadTime,
            BadCertId,
            BadDataFormat,
            WrongAuthority,
            IncorrectData,
            MissingTimeStamp,
            BadPop,
            CertRevoked,
            CertConfirmed,
            WrongIntegrity,
            BadRecipientNonce,
            TimeNotAvailable,
            UnacceptedPolicy,
            UnacceptedExtension,
            AddInfoNotAvailable,
            BadSenderNonce,
            BadCertTemplate,
            SignerNotTrusted,
            TransactionIdInUse,
            UnsupportedVersion,
            NotAuthorized,
            SystemUnavail,
            SystemFailure,
            DuplicateCertReq,
        ]
    };

    /// The bit number.
    pub fn bit(self) -> usize {
        self as usize
    }

    /// The bit for a number, if it is named.
    pub fn from_bit(bit: usize) -> Option<FailureBit> {
        Self::ALL.get(bit).copied()
    }

    /// The RFC name, e.g. `badPOP`.
    pub fn name(self) -> &'static str {
        use FailureBit::*;
        match self {
            BadAlg => "badAlg",
            BadMessageCheck => "badMessageCheck",
            BadRequest => "badRequest",
            BadTime => "badTime",
            BadCertId => "badCertId",
            BadDataFormat => "badDataFormat",
            WrongAuthority => "wrongAuthority",
            IncorrectData => "incorrectData",
            MissingTimeStamp => "missingTimeStamp",
            BadPop => "badPOP",
            CertRevoked => "certRevoked",
            CertConfirmed => "certConfirmed",
            WrongIntegrity => "wrongIntegrity",
            BadRecipientNonce => "badRecipientNonce",
            TimeNotAvailable => "timeNotAvailable",
            UnacceptedPolicy => "unacceptedPolicy",
            UnacceptedExtension => "unacceptedExtension",
            AddInfoNotAvailable => "addInfoNotAvailable",
            BadSenderNonce => "badSenderNonce",
            BadCertTemplate => "badCertTemplate",
            SignerNotTrusted => "signerNotTrusted",
            TransactionIdInUse => "transactionIdInUse",
            UnsupportedVersion => "unsupportedVersion",
            NotAuthorized => "notAuthorized",
            SystemUnavail => "systemUnavail",
            SystemFailure => "systemFailure",
            DuplicateCertReq => "duplicateCertReq",
        }
    }

    /// The bit for an RFC name (case-sensitive, as printed by [`FailureBit::name`]).
    pub fn from_name(name: &str) -> Option<FailureBit> {
        Self::ALL.into_iter().find(|b| b.name() == name)
    }
}

impl fmt::Display for FailureBit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `PKIFailureInfo ::= BIT STRING` with 27 named bits.
///
/// The bits are kept as received, so a peer's padding survives a re-encode; values built with
/// [`PkiFailureInfo::from_bits`] are minimal, as DER wants for named bit strings
/// (`badPOP` alone is `03 03 06 00 40`).
///
/// ```
/// use cmp_core::asn1::{FailureBit, PkiFailureInfo};
/// let info = PkiFailureInfo::from_bits([FailureBit::BadPop, FailureBit::BadRequest]);
/// assert!(info.contains(FailureBit::BadPop));
/// assert_eq!(info.to_string(), "badRequest, badPOP");
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, Hash)]
#[rasn(delegate)]
pub struct PkiFailureInfo(pub BitString);

impl PkiFailureInfo {
    /// A minimal bit string with the given bits set.
    pub fn from_bits(bits: impl IntoIterator<Item = FailureBit>) -> Self {
        let bits: Vec<FailureBit> = bits.into_iter().collect();
        let len = bits.iter().map(|b| b.bit() + 1).max().unwrap_or(0);
        let mut out = BitString::repeat(false, len);
        for b in bits {
            out.set(b.bit(), true);
        }
        PkiFailureInfo(out)
    }

    /// Whether `bit` is set.
    pub fn contains(&self, bit: FailureBit) -> bool {
        self.0.get(bit.bit()).is_some_and(|b| *b)
    }

    /// The named bits that are set, in bit order.
    pub fn bits(&self) -> Vec<FailureBit> {
        FailureBit::ALL
            .into_iter()
            .filter(|b| self.contains(*b))
            .collect()
    }

    /// Set bits that have no name (numbers above 26), which a peer may still send.
    pub fn unnamed_bits(&self) -> Vec<usize> {
        self.0
            .iter_ones()
            .filter(|i| FailureBit::from_bit(*i).is_none())
            .collect()
    }

    /// Whether no bit at all is set.
    pub fn is_empty(&self) -> bool {
        self.0.not_any()
    }
}

impl fmt::Display for PkiFailureInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut sep = |f: &mut fmt::Formatter<'_>| {
            if !std::mem::take(&mut first) {
                f.write_str(", ")
            } else {
                Ok(())
            }
        };
        for b in self.bits() {
            sep(f)?;
            f.write_str(b.name())?;
        }
        for n in self.unnamed_bits() {
            sep(f)?;
            write!(f, "bit {n}")?;
        }
        if first {
            f.write_str("no failure bits")?;
        }
        Ok(())
    }
}

/// Status of a request, with optional text and failure reasons (RFC 9810 §5.2.3).
///
/// ```asn1
/// PKIStatusInfo ::= SEQUENCE {
///    status        PKIStatus,
///    statusString  PKIFreeText     OPTIONAL,
///    failInfo      PKIFailureInfo  OPTIONAL }
/// ```
///
/// Displays as `rejection: badPOP, badRequest — "statusString"`:
///
/// ```
/// use cmp_core::asn1::{FailureBit, PkiStatusInfo};
/// let info = PkiStatusInfo::rejection([FailureBit::BadPop], Some("signature does not verify"));
/// assert_eq!(info.to_string(), "rejection: badPOP — \"signature does not verify\"");
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct PkiStatusInfo {
    /// The status.
    pub status: PkiStatus,
    /// Free text for a person.
    pub status_string: Option<PkiFreeText>,
    /// Why the request failed.
    pub fail_info: Option<PkiFailureInfo>,
}

impl PkiStatusInfo {
    /// `accepted`, nothing else.
    pub fn accepted() -> Self {
        Self::with_status(PkiStatus::ACCEPTED)
    }

    /// A bare status.
    pub fn with_status(status: PkiStatus) -> Self {
        PkiStatusInfo {
            status,
            status_string: None,
            fail_info: None,
        }
    }

    /// `rejection` with failure bits and an optional text.
    pub fn rejection(bits: impl IntoIterator<Item = FailureBit>, text: Option<&str>) -> Self {
        PkiStatusInfo {
            status: PkiStatus::REJECTION,
            status_string: text.map(|t| vec![Utf8String::from(t)]),
            fail_info: Some(PkiFailureInfo::from_bits(bits)),
        }
    }

    /// The statusString entries joined with "; ".
    pub fn text(&self) -> Option<String> {
        self.status_string.as_ref().map(|t| t.join("; "))
    }
}

impl fmt::Display for PkiStatusInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status)?;
        if let Some(fi) = &self.fail_info {
            if !fi.is_empty() {
                write!(f, ": {fi}")?;
            }
        }
        if let Some(text) = self.text() {
            write!(f, " — {text:?}")?;
        }
        Ok(())
    }
}
