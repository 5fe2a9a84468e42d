//! `PKIHeader` (RFC 9810 §5.1.1).

use rasn::prelude::*;
use rasn_pkix::{AlgorithmIdentifier, GeneralName, Name};

use super::general::InfoTypeAndValue;

/// `PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String`; the first entry's language is the
/// preferred reply language.
pub type PkiFreeText = SequenceOf<Utf8String>;

/// `KeyIdentifier ::= OCTET STRING`.
pub type KeyIdentifier = OctetString;

/// `pvno` value `cmp1999`.
pub const PVNO_CMP1999: i64 = 1;
/// `pvno` value `cmp2000` (RFC 4210): the default.
pub const PVNO_CMP2000: i64 = 2;
/// `pvno` value `cmp2021` (RFC 9480/9810): needed for EnvelopedData, certConf hashAlg, KEM.
pub const PVNO_CMP2021: i64 = 3;

/// The header common to all CMP messages (RFC 9810 §5.1.1).
///
/// ```asn1
/// PKIHeader ::= SEQUENCE {
///    pvno           INTEGER { cmp1999(1), cmp2000(2), cmp2021(3) },
///    sender         GeneralName,
///    recipient      GeneralName,
///    messageTime    [0] GeneralizedTime         OPTIONAL,
///    protectionAlg  [1] AlgorithmIdentifier     OPTIONAL,
///    senderKID      [2] KeyIdentifier           OPTIONAL,
///    recipKID       [3] KeyIdentifier           OPTIONAL,
///    transactionID  [4] OCTET STRING            OPTIONAL,
///    senderNonce    [5] OCTET STRING            OPTIONAL,
///    recipNonce     [6] OCTET STRING            OPTIONAL,
///    freeText       [7] PKIFreeText             OPTIONAL,
///    generalInfo    [8] SEQUENCE SIZE (1..MAX) OF InfoTypeAndValue OPTIONAL }
/// ```
/// All tags are explicit (the CMP module's default). Build one with
/// [`PkiHeaderBuilder`](crate::builder::PkiHeaderBuilder).
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct PkiHeader {
    /// Protocol version: 2 normally, 3 when a v3 feature is used.
    pub pvno: i64,
    /// The sender (NULL-DN if unknown).
    pub sender: GeneralName,
    /// The intended recipient (NULL-DN if unknown).
    pub recipient: GeneralName,
    /// When the message was produced.
    #[rasn(tag(explicit(context, 0)))]
    pub message_time: Option<GeneralizedTime>,
    /// The algorithm of `protection`; present iff protection is.
    #[rasn(tag(explicit(context, 1)))]
    pub protection_alg: Option<AlgorithmIdentifier>,
    /// Identifies the sender's protection key (subject key id, or the reference of a secret).
    #[rasn(tag(explicit(context, 2)))]
    pub sender_kid: Option<KeyIdentifier>,
    /// Identifies the recipient's key.
    #[rasn(tag(explicit(context, 3)))]
    pub recip_kid: Option<KeyIdentifier>,
    /// The same for all messages of a transaction; 128 random bits.
    #[rasn(tag(explicit(context, 4)))]
    pub transaction_id: Option<OctetString>,
    /// Fresh random bits (128) in every message.
    #[rasn(tag(explicit(context, 5)))]
    pub sender_nonce: Option<OctetString>,
    /// The peer's last senderNonce.
    #[rasn(tag(explicit(context, 6)))]
    pub recip_nonce: Option<OctetString>,
    /// Text for a person.
    #[rasn(tag(explicit(context, 7)))]
    pub free_text: Option<PkiFreeText>,
    /// implicitConfirm, confirmWaitTime, certProfile, origPKIMessage, …
    #[rasn(tag(explicit(context, 8)))]
    pub general_info: Option<SequenceOf<InfoTypeAndValue>>,
}

/// The NULL-DN as a `GeneralName`: `directoryName` with an empty RDN sequence (`A4 02 30 00`).
pub fn null_dn() -> GeneralName {
    GeneralName::DirectoryName(Name::RdnSequence(Vec::new()))
}

/// Whether `name` is the NULL-DN.
pub fn is_null_dn(name: &GeneralName) -> bool {
    matches!(name, GeneralName::DirectoryName(Name::RdnSequence(rdns)) if rdns.is_empty())
}

impl PkiHeader {
    /// Whether generalInfo carries an `implicitConfirm` entry.
    pub fn has_implicit_confirm(&self) -> bool {
        self.general_info(super::oid::IT_IMPLICIT_CONFIRM).is_some()
    }

    /// The generalInfo entry of the given type, if any.
    pub fn general_info(&self, info_type: &Oid) -> Option<&InfoTypeAndValue> {
        self.general_info
            .as_ref()?
            .iter()
            .find(|i| &*i.info_type == info_type)
    }
}
