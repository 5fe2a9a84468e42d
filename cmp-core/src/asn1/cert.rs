//! `CMPCertificate` and PKCS#10 `CertificationRequest`, kept with their exact bytes.

use rasn::prelude::*;
use rasn_pkix::{AlgorithmIdentifier, Attribute, Certificate, Name, SubjectPublicKeyInfo};

use super::encoded::Encoded;

/// `CMPCertificate ::= CHOICE { x509v3PKCert Certificate, ... }` — an X.509 certificate,
/// kept with the exact bytes it came in (its signature covers them).
pub type CmpCertificate = Encoded<Certificate>;

impl Encoded<Certificate> {
    /// The subject name.
    pub fn subject(&self) -> &Name {
        &self.value().tbs_certificate.subject
    }

    /// The issuer name.
    pub fn issuer(&self) -> &Name {
        &self.value().tbs_certificate.issuer
    }

    /// The serial number.
    pub fn serial_number(&self) -> &Integer {
        &self.value().tbs_certificate.serial_number
    }

    /// The certified public key.
    pub fn subject_public_key_info(&self) -> &SubjectPublicKeyInfo {
        &self.value().tbs_certificate.subject_public_key_info
    }

    /// The signature algorithm the issuer used.
    pub fn signature_algorithm(&self) -> &AlgorithmIdentifier {
        &self.value().signature_algorithm
    }

    /// The extension with this OID, if present.
    pub fn extension(&self, id: &Oid) -> Option<&rasn_pkix::Extension> {
        self.value()
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|e| *e.extn_id == *id)
    }

    /// The subjectKeyIdentifier, if present and well-formed.
    pub fn subject_key_identifier(&self) -> Option<Vec<u8>> {
        let ext = self.extension(super::oid::CE_SUBJECT_KEY_IDENTIFIER)?;
        rasn::der::decode::<OctetString>(&ext.extn_value)
            .ok()
            .map(|o| o.to_vec())
    }

    /// Whether keyUsage allows digitalSignature: `None` when the certificate has no keyUsage
    /// extension (any use allowed), `Some(false)` when it has one without that bit (or a
    /// malformed one).
    pub fn allows_digital_signature(&self) -> Option<bool> {
        let ext = self.extension(super::oid::CE_KEY_USAGE)?;
        Some(
            rasn::der::decode::<BitString>(&ext.extn_value)
                .ok()
                .and_then(|bits| bits.first().map(|b| *b))
                .unwrap_or(false),
        )
    }

    /// The DER of tbsCertificate, as received (what the issuer signed).
    pub fn tbs_der(&self) -> Option<&[u8]> {
        let top = crate::der::Reader::new(self.der(), 0).read().ok()?;
        top.children().read().ok().map(|t| t.raw)
    }

    /// Whether `issuer`'s key made this certificate's signature.
    pub fn is_signed_by(
        &self,
        issuer: &rasn_pkix::SubjectPublicKeyInfo,
        primitives: &dyn crate::crypto::Primitives,
    ) -> bool {
        let Ok(alg) = crate::crypto::SignatureAlgorithm::from_algorithm_identifier(
            self.signature_algorithm(),
        ) else {
            return false;
        };
        let Some(tbs) = self.tbs_der() else {
            return false;
        };
        let sig = &self.value().signature_value;
        sig.len() % 8 == 0
            && primitives
                .verify_signature(
                    &crate::crypto::public_key_der(issuer),
                    alg,
                    tbs,
                    sig.as_raw_slice(),
                )
                .is_ok()
    }

    /// Whether the certificate is self-signed by name (subject = issuer).
    pub fn is_self_issued(&self) -> bool {
        crate::names::names_equal(self.subject(), self.issuer())
    }

    /// notBefore as seconds since 1970 (negative before).
    pub fn not_before_unix(&self) -> i64 {
        time_unix(&self.value().tbs_certificate.validity.not_before)
    }

    /// notAfter as seconds since 1970.
    pub fn not_after_unix(&self) -> i64 {
        time_unix(&self.value().tbs_certificate.validity.not_after)
    }

    /// Whether `now` lies within notBefore..=notAfter.
    pub fn is_valid_at(&self, now: std::time::SystemTime) -> bool {
        let now = unix_now(now);
        self.not_before_unix() <= now && now <= self.not_after_unix()
    }
}

/// A certificate time as seconds since 1970.
pub(crate) fn time_unix(t: &rasn_pkix::Time) -> i64 {
    match t {
        rasn_pkix::Time::Utc(t) => t.timestamp(),
        rasn_pkix::Time::General(t) => t.timestamp(),
    }
}

/// `now` as seconds since 1970 (negative before).
pub(crate) fn unix_now(now: std::time::SystemTime) -> i64 {
    match now.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Seconds since 1970 as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_unix(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map_or_else(
        || format!("{secs} s after 1970"),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

/// PKCS#10 (RFC 2986) `CertificationRequest`, the body of a `p10cr`.
///
/// ```asn1
/// CertificationRequest ::= SEQUENCE {
///    certificationRequestInfo CertificationRequestInfo,
///    signatureAlgorithm       AlgorithmIdentifier,
///    signature                BIT STRING }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct CertificationRequest {
    /// The signed part.
    pub certification_request_info: CertificationRequestInfo,
    /// The signature algorithm.
    pub signature_algorithm: AlgorithmIdentifier,
    /// The signature over the DER of `certificationRequestInfo`.
    pub signature: BitString,
}

/// ```asn1
/// CertificationRequestInfo ::= SEQUENCE {
///    version       INTEGER { v1(0) },
///    subject       Name,
///    subjectPKInfo SubjectPublicKeyInfo,
///    attributes    [0] IMPLICIT SET OF Attribute }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct CertificationRequestInfo {
    /// Always 0.
    pub version: Integer,
    /// The requested subject.
    pub subject: Name,
    /// The key to certify.
    pub subject_pk_info: SubjectPublicKeyInfo,
    /// Attributes, e.g. extensionRequest.
    #[rasn(tag(context, 0))]
    pub attributes: SetOf<Attribute>,
}

/// A PKCS#10 request kept with its exact bytes (its signature covers them).
pub type Pkcs10Request = Encoded<CertificationRequest>;
