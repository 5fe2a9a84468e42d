//! POP by decryption challenge: popdecc / popdecr (RFC 9810 §5.2.8.3), and the rare
//! out-of-band and CA-key-update structures.

use rasn::prelude::*;
use rasn_cms::EnvelopedData;
use rasn_pkix::{AlgorithmIdentifier, GeneralName};

use super::cert::CmpCertificate;
use super::crmf::CertId;

/// `POPODecKeyChallContent ::= SEQUENCE OF Challenge`.
pub type PopoDecKeyChallContent = SequenceOf<Challenge>;

/// `POPODecKeyRespContent ::= SEQUENCE OF INTEGER`.
pub type PopoDecKeyRespContent = SequenceOf<Integer>;

/// ```asn1
/// Challenge ::= SEQUENCE {
///    owf            AlgorithmIdentifier OPTIONAL,
///    witness        OCTET STRING,
///    challenge      OCTET STRING,       -- empty in cmp2021 with encryptedRand
///    encryptedRand  [0] EnvelopedData OPTIONAL }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct Challenge {
    /// One-way function for the witness.
    pub owf: Option<AlgorithmIdentifier>,
    /// Hash of the random integer.
    pub witness: OctetString,
    /// The encrypted Rand (legacy).
    pub challenge: OctetString,
    /// The Rand in CMS EnvelopedData (cmp2021).
    #[rasn(tag(explicit(context, 0)))]
    pub encrypted_rand: Option<Box<EnvelopedData>>,
}

/// ```asn1
/// Rand ::= SEQUENCE { int INTEGER, sender GeneralName }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct Rand {
    /// The random integer.
    pub int: Integer,
    /// The sender name.
    pub sender: GeneralName,
}

/// The body of ckuann.
///
/// ```asn1
/// CAKeyUpdContent ::= CHOICE {
///    cAKeyUpdAnnV2  CAKeyUpdAnnContent,            -- deprecated
///    cAKeyUpdAnnV3  [0] RootCaKeyUpdateContent }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
#[rasn(choice)]
pub enum CaKeyUpdContent {
    /// The RFC 4210 three-certificate form.
    V2(CaKeyUpdAnnContent),
    /// The RFC 9810 form.
    #[rasn(tag(explicit(context, 0)))]
    V3(RootCaKeyUpdateContent),
}

/// ```asn1
/// CAKeyUpdAnnContent ::= SEQUENCE {
///    oldWithNew  CMPCertificate,
///    newWithOld  CMPCertificate,
///    newWithNew  CMPCertificate }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct CaKeyUpdAnnContent {
    /// Old public key signed with the new private key.
    pub old_with_new: CmpCertificate,
    /// New public key signed with the old private key.
    pub new_with_old: CmpCertificate,
    /// New public key signed with the new private key.
    pub new_with_new: CmpCertificate,
}

/// ```asn1
/// RootCaKeyUpdateContent ::= SEQUENCE {
///    newWithNew  CMPCertificate,
///    newWithOld  [0] CMPCertificate OPTIONAL,
///    oldWithNew  [1] CMPCertificate OPTIONAL }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct RootCaKeyUpdateContent {
    /// The new root, self-signed.
    pub new_with_new: CmpCertificate,
    /// The new root key certified by the old one.
    #[rasn(tag(explicit(context, 0)))]
    pub new_with_old: Option<CmpCertificate>,
    /// The old root key certified by the new one.
    #[rasn(tag(explicit(context, 1)))]
    pub old_with_new: Option<CmpCertificate>,
}

/// ```asn1
/// OOBCertHash ::= SEQUENCE {
///    hashAlg  [0] AlgorithmIdentifier OPTIONAL,
///    certId   [1] CertId              OPTIONAL,
///    hashVal  BIT STRING }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct OobCertHash {
    /// The hash algorithm.
    #[rasn(tag(explicit(context, 0)))]
    pub hash_alg: Option<AlgorithmIdentifier>,
    /// Which certificate.
    #[rasn(tag(explicit(context, 1)))]
    pub cert_id: Option<CertId>,
    /// The hash of the certificate.
    pub hash_val: BitString,
}
