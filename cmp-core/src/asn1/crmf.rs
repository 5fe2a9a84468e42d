//! CRMF, the Certificate Request Message Format (RFC 4211, updated by RFC 9045).
//!
//! The CRMF module uses **IMPLICIT** tags: a `[n]` replaces the tag of the type it marks.
//! Tags on CHOICE types (`Name`, `Time`, `GeneralName`, `POPOPrivKey`, `EncryptedKey`) are
//! explicit whatever the module says; they are written `explicit` here so the source says what
//! the wire does.

use rasn::prelude::*;
use rasn_cms::EnvelopedData;
use rasn_pkix::{AlgorithmIdentifier, Extensions, GeneralName, Name, SubjectPublicKeyInfo, Time};

/// `CertReqMessages ::= SEQUENCE SIZE (1..MAX) OF CertReqMsg` (RFC 4211 §3).
pub type CertReqMessages = SequenceOf<CertReqMsg>;

/// `Controls ::= SEQUENCE SIZE (1..MAX) OF AttributeTypeAndValue` (RFC 4211 §6).
pub type Controls = SequenceOf<AttributeTypeAndValue>;

/// One certificate request with its proof of possession (RFC 4211 §3).
///
/// ```asn1
/// CertReqMsg ::= SEQUENCE {
///    certReq   CertRequest,
///    popo      ProofOfPossession  OPTIONAL,
///    regInfo   SEQUENCE SIZE(1..MAX) OF AttributeTypeAndValue OPTIONAL }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct CertReqMsg {
    /// The request proper.
    pub cert_req: CertRequest,
    /// Proof that the requester holds the private key.
    pub popo: Option<ProofOfPossession>,
    /// Registration information (e.g. `utf8Pairs`).
    pub reg_info: Option<SequenceOf<AttributeTypeAndValue>>,
}

/// ```asn1
/// CertRequest ::= SEQUENCE {
///    certReqId     INTEGER,
///    certTemplate  CertTemplate,
///    controls      Controls OPTIONAL }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct CertRequest {
    /// Matches the response to the request (0 in the Lightweight CMP Profile).
    pub cert_req_id: Integer,
    /// The fields of the certificate asked for.
    pub cert_template: CertTemplate,
    /// Controls such as `oldCertID` or `regToken`.
    pub controls: Option<Controls>,
}

/// The fields of a requested (or to-be-revoked) certificate; all optional (RFC 4211 §5).
///
/// ```asn1
/// CertTemplate ::= SEQUENCE {
///    version      [0] Version               OPTIONAL,
///    serialNumber [1] INTEGER               OPTIONAL,
///    signingAlg   [2] AlgorithmIdentifier   OPTIONAL,
///    issuer       [3] Name                  OPTIONAL,
///    validity     [4] OptionalValidity      OPTIONAL,
///    subject      [5] Name                  OPTIONAL,
///    publicKey    [6] SubjectPublicKeyInfo  OPTIONAL,
///    issuerUID    [7] UniqueIdentifier      OPTIONAL,
///    subjectUID   [8] UniqueIdentifier      OPTIONAL,
///    extensions   [9] Extensions            OPTIONAL }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, Default)]
pub struct CertTemplate {
    /// Certificate version (2 = v3) — `80 01 02`.
    #[rasn(tag(context, 0))]
    pub version: Option<Integer>,
    /// Serial number (revocation requests only).
    #[rasn(tag(context, 1))]
    pub serial_number: Option<Integer>,
    /// Signature algorithm (should be absent).
    #[rasn(tag(context, 2))]
    pub signing_alg: Option<AlgorithmIdentifier>,
    /// Issuer name — explicit, `Name` is a CHOICE: `A3 L 30 …`.
    #[rasn(tag(explicit(context, 3)))]
    pub issuer: Option<Name>,
    /// Requested validity.
    #[rasn(tag(context, 4))]
    pub validity: Option<OptionalValidity>,
    /// Subject name — explicit, `A5 L 30 …`.
    #[rasn(tag(explicit(context, 5)))]
    pub subject: Option<Name>,
    /// The public key to certify — implicit: `A6 L 30 … 03 …`.
    #[rasn(tag(context, 6))]
    pub public_key: Option<SubjectPublicKeyInfo>,
    /// Issuer unique identifier.
    #[rasn(tag(context, 7))]
    pub issuer_uid: Option<BitString>,
    /// Subject unique identifier.
    #[rasn(tag(context, 8))]
    pub subject_uid: Option<BitString>,
    /// Requested extensions.
    #[rasn(tag(context, 9))]
    pub extensions: Option<Extensions>,
}

/// ```asn1
/// OptionalValidity ::= SEQUENCE {
///    notBefore  [0] Time OPTIONAL,
///    notAfter   [1] Time OPTIONAL } -- at least one MUST be present
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct OptionalValidity {
    /// Start of validity (explicit: `Time` is a CHOICE).
    #[rasn(tag(explicit(context, 0)))]
    pub not_before: Option<Time>,
    /// End of validity.
    #[rasn(tag(explicit(context, 1)))]
    pub not_after: Option<Time>,
}

/// A control or registration-info entry: an OID and a value defined by it (RFC 4211 §6, §7).
///
/// Typed views of the standard values are in [`crate::asn1::ControlValue`].
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct AttributeTypeAndValue {
    /// `type`: e.g. `id-regCtrl-oldCertID`.
    pub r#type: ObjectIdentifier,
    /// `value ANY DEFINED BY type`.
    pub value: Any,
}

/// Identifies a certificate by issuer and serial number (RFC 4211 §6.5).
///
/// ```asn1
/// CertId ::= SEQUENCE { issuer GeneralName, serialNumber INTEGER }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct CertId {
    /// The issuer, usually a `directoryName`.
    pub issuer: GeneralName,
    /// The serial number.
    pub serial_number: Integer,
}

/// Proof of possession of the private key (RFC 4211 §4).
///
/// ```asn1
/// ProofOfPossession ::= CHOICE {
///    raVerified        [0] NULL,
///    signature         [1] POPOSigningKey,
///    keyEncipherment   [2] POPOPrivKey,
///    keyAgreement      [3] POPOPrivKey }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
#[rasn(choice)]
pub enum ProofOfPossession {
    /// The RA checked possession: `80 00`.
    #[rasn(tag(context, 0))]
    RaVerified(()),
    /// A signature with the key being certified: `A1 …` (implicit).
    #[rasn(tag(context, 1))]
    Signature(PopoSigningKey),
    /// For encryption keys: `A2 L <POPOPrivKey>` (explicit, POPOPrivKey is a CHOICE).
    #[rasn(tag(explicit(context, 2)))]
    KeyEncipherment(PopoPrivKey),
    /// For key agreement keys: `A3 L <POPOPrivKey>`.
    #[rasn(tag(explicit(context, 3)))]
    KeyAgreement(PopoPrivKey),
}

/// ```asn1
/// POPOSigningKey ::= SEQUENCE {
///    poposkInput         [0] POPOSigningKeyInput OPTIONAL,
///    algorithmIdentifier AlgorithmIdentifier,
///    signature           BIT STRING }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct PopoSigningKey {
    /// Present only when the template lacks subject or public key.
    #[rasn(tag(context, 0))]
    pub poposk_input: Option<PopoSigningKeyInput>,
    /// The signature algorithm.
    pub algorithm_identifier: AlgorithmIdentifier,
    /// The signature over the DER of `certReq` (or of `poposkInput`).
    pub signature: BitString,
}

/// ```asn1
/// POPOSigningKeyInput ::= SEQUENCE {
///    authInfo  CHOICE { sender [0] GeneralName, publicKeyMAC PKMACValue },
///    publicKey SubjectPublicKeyInfo }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct PopoSigningKeyInput {
    /// Who is asking, or a MAC binding the key to a shared secret.
    pub auth_info: PopoAuthInfo,
    /// The key being certified.
    pub public_key: SubjectPublicKeyInfo,
}

/// The `authInfo` CHOICE of [`PopoSigningKeyInput`].
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
#[rasn(choice)]
pub enum PopoAuthInfo {
    /// `sender [0] GeneralName` (explicit: GeneralName is a CHOICE).
    #[rasn(tag(explicit(context, 0)))]
    Sender(GeneralName),
    /// `publicKeyMAC PKMACValue`.
    PublicKeyMac(PkMacValue),
}

/// ```asn1
/// PKMACValue ::= SEQUENCE { algId AlgorithmIdentifier, value BIT STRING }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct PkMacValue {
    /// The MAC algorithm (e.g. PasswordBasedMac).
    pub alg_id: AlgorithmIdentifier,
    /// The MAC.
    pub value: BitString,
}

/// ```asn1
/// POPOPrivKey ::= CHOICE {
///    thisMessage       [0] BIT STRING,   -- deprecated
///    subsequentMessage [1] SubsequentMessage,
///    dhMAC             [2] BIT STRING,   -- deprecated
///    agreeMAC          [3] PKMACValue,
///    encryptedKey      [4] EnvelopedData }
/// ```
/// "Encrypt the certificate" POP encodes as `A2 03 81 01 00`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
#[rasn(choice)]
pub enum PopoPrivKey {
    /// The private key, encrypted, in this message (deprecated).
    #[rasn(tag(context, 0))]
    ThisMessage(BitString),
    /// Possession proven later: 0 = encrCert, 1 = challengeResp.
    #[rasn(tag(context, 1))]
    SubsequentMessage(Integer),
    /// Deprecated DH MAC.
    #[rasn(tag(context, 2))]
    DhMac(BitString),
    /// MAC from a key agreement.
    #[rasn(tag(context, 3))]
    AgreeMac(PkMacValue),
    /// The private key in CMS EnvelopedData.
    #[rasn(tag(context, 4))]
    EncryptedKey(Box<EnvelopedData>),
}

/// `SubsequentMessage` value `encrCert`: the CA returns the certificate encrypted.
pub const SUBSEQUENT_MESSAGE_ENCR_CERT: i64 = 0;
/// `SubsequentMessage` value `challengeResp`: possession proven by popdecc/popdecr.
pub const SUBSEQUENT_MESSAGE_CHALLENGE_RESP: i64 = 1;

/// A private key or certificate in encrypted form (RFC 4211 §6.4, updated by RFC 9810 §5.2.2).
///
/// ```asn1
/// EncryptedKey ::= CHOICE {
///    encryptedValue  EncryptedValue,   -- deprecated
///    envelopedData   [0] EnvelopedData }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
#[rasn(choice)]
#[allow(clippy::large_enum_variant)]
pub enum EncryptedKey {
    /// The deprecated CRMF format: tag `30`.
    EncryptedValue(EncryptedValue),
    /// CMS EnvelopedData, implicitly tagged: `A0 L <EnvelopedData contents>` (needs pvno 3).
    #[rasn(tag(context, 0))]
    EnvelopedData(Box<EnvelopedData>),
}

/// ```asn1
/// EncryptedValue ::= SEQUENCE {
///    intendedAlg [0] AlgorithmIdentifier OPTIONAL,
///    symmAlg     [1] AlgorithmIdentifier OPTIONAL,
///    encSymmKey  [2] BIT STRING          OPTIONAL,
///    keyAlg      [3] AlgorithmIdentifier OPTIONAL,
///    valueHint   [4] OCTET STRING        OPTIONAL,
///    encValue    BIT STRING }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct EncryptedValue {
    /// Algorithm of the value that was encrypted.
    #[rasn(tag(context, 0))]
    pub intended_alg: Option<AlgorithmIdentifier>,
    /// Symmetric algorithm used.
    #[rasn(tag(context, 1))]
    pub symm_alg: Option<AlgorithmIdentifier>,
    /// The symmetric key, encrypted.
    #[rasn(tag(context, 2))]
    pub enc_symm_key: Option<BitString>,
    /// Algorithm used to encrypt the symmetric key.
    #[rasn(tag(context, 3))]
    pub key_alg: Option<AlgorithmIdentifier>,
    /// A hint for the recipient.
    #[rasn(tag(context, 4))]
    pub value_hint: Option<OctetString>,
    /// The encrypted value.
    pub enc_value: BitString,
}

/// ```asn1
/// PKIArchiveOptions ::= CHOICE {
///    encryptedPrivKey     [0] EncryptedKey,
///    keyGenParameters     [1] KeyGenParameters,   -- OCTET STRING
///    archiveRemGenPrivKey [2] BOOLEAN }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
#[rasn(choice)]
pub enum PkiArchiveOptions {
    /// The private key to archive (explicit: EncryptedKey is a CHOICE).
    #[rasn(tag(explicit(context, 0)))]
    EncryptedPrivKey(EncryptedKey),
    /// Parameters to regenerate the key.
    #[rasn(tag(context, 1))]
    KeyGenParameters(OctetString),
    /// Ask the CA to archive a key it generates.
    #[rasn(tag(context, 2))]
    ArchiveRemGenPrivKey(bool),
}

/// ```asn1
/// PKIPublicationInfo ::= SEQUENCE {
///    action    INTEGER { dontPublish (0), pleasePublish (1) },
///    pubInfos  SEQUENCE SIZE (1..MAX) OF SinglePubInfo OPTIONAL }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct PkiPublicationInfo {
    /// 0 dontPublish, 1 pleasePublish.
    pub action: Integer,
    /// Where to publish.
    pub pub_infos: Option<SequenceOf<SinglePubInfo>>,
}

/// ```asn1
/// SinglePubInfo ::= SEQUENCE {
///    pubMethod   INTEGER { dontCare (0), x500 (1), web (2), ldap (3) },
///    pubLocation GeneralName OPTIONAL }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct SinglePubInfo {
    /// How to publish.
    pub pub_method: Integer,
    /// Where.
    pub pub_location: Option<GeneralName>,
}

/// `EncKeyWithID` (RFC 4211 §4.4): a private key with an identifier, the content of
/// `id-ct-encKeyWithID` inside an EnvelopedData.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct EncKeyWithId {
    /// The private key (PKCS#8 `PrivateKeyInfo`), kept as its DER.
    pub private_key: Any,
    /// `identifier CHOICE { string UTF8String, generalName GeneralName } OPTIONAL`.
    pub identifier: Option<EncKeyIdentifier>,
}

/// The identifier of an [`EncKeyWithId`].
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
#[rasn(choice)]
pub enum EncKeyIdentifier {
    /// A string.
    String(Utf8String),
    /// A name.
    GeneralName(GeneralName),
}
