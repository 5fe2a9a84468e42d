//! Parameters of MAC-based protection: PasswordBasedMac (RFC 9810 §5.1.3.1) and PBMAC1
//! (RFC 9481 §6.1, RFC 8018).

use rasn::prelude::*;
use rasn_pkix::AlgorithmIdentifier;

/// The parameters of `id-PasswordBasedMac` (1.2.840.113533.7.66.13).
///
/// ```asn1
/// PBMParameter ::= SEQUENCE {
///    salt            OCTET STRING,
///    owf             AlgorithmIdentifier,   -- e.g. SHA-256
///    iterationCount  INTEGER,
///    mac             AlgorithmIdentifier }  -- e.g. hmac-sha1, hmacWithSHA256
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct PbmParameter {
    /// Random salt (16 bytes by default).
    pub salt: OctetString,
    /// The one-way function iterated over secret ‖ salt.
    pub owf: AlgorithmIdentifier,
    /// How often the OWF is applied; bounded by the verifier before any work.
    pub iteration_count: Integer,
    /// The MAC computed with the derived key.
    pub mac: AlgorithmIdentifier,
}

/// The parameters of `id-PBMAC1` (1.2.840.113549.1.5.14).
///
/// ```asn1
/// PBMAC1-params ::= SEQUENCE {
///    keyDerivationFunc  AlgorithmIdentifier {{PBMAC1-KDFs}},   -- PBKDF2
///    messageAuthScheme  AlgorithmIdentifier {{PBMAC1-MACs}} }  -- e.g. hmacWithSHA256
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct Pbmac1Params {
    /// PBKDF2 with [`Pbkdf2Params`].
    pub key_derivation_func: AlgorithmIdentifier,
    /// The MAC keyed with the derived key.
    pub message_auth_scheme: AlgorithmIdentifier,
}

/// The parameters of `id-PBKDF2` (RFC 8018 Appendix A.2).
///
/// ```asn1
/// PBKDF2-params ::= SEQUENCE {
///    salt CHOICE { specified OCTET STRING, otherSource AlgorithmIdentifier },
///    iterationCount INTEGER (1..MAX),
///    keyLength      INTEGER (1..MAX) OPTIONAL,
///    prf            AlgorithmIdentifier DEFAULT algid-hmacWithSHA1 }
/// ```
/// `prf` is `None` when absent, which means hmacWithSHA1; a builder must leave it absent
/// rather than spell out the default (DER).
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct Pbkdf2Params {
    /// The salt.
    pub salt: Pbkdf2Salt,
    /// Number of PBKDF2 iterations.
    pub iteration_count: Integer,
    /// Length of the derived key in bytes.
    pub key_length: Option<Integer>,
    /// The pseudo-random function; `None` = hmacWithSHA1.
    pub prf: Option<AlgorithmIdentifier>,
}

/// The salt CHOICE of [`Pbkdf2Params`].
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
#[rasn(choice)]
pub enum Pbkdf2Salt {
    /// The salt bytes.
    Specified(OctetString),
    /// A salt source (unused in CMP).
    OtherSource(AlgorithmIdentifier),
}
