//! Small views of ASN.1 values shared by the message view: bytes as hex, integers, serial
//! numbers, times, algorithms, certificates, names and statuses.
//!
//! Each serializes to the JSON form documented on it and has what the text renderer needs.

use cmp_core::asn1::{
    AlgorithmIdentifier, CertId, CmpCertificate, Extension, GeneralName, Name, PkiStatusInfo, Time,
    oid,
};
use cmp_core::der::Reader;
use cmp_core::names::{format_general_name, format_name};
use rasn::types::{Any, GeneralizedTime, Integer, Oid};
use serde::{Serialize, Serializer};

/// Bytes; JSON: a lowercase hex string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hex(pub(crate) Vec<u8>);

impl Hex {
    /// A copy of `bytes`.
    pub(crate) fn of(bytes: &[u8]) -> Self {
        Hex(bytes.to_vec())
    }

    /// Lowercase hex.
    pub(crate) fn hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// The bytes as text, if they are all printable ASCII.
    pub(crate) fn ascii(&self) -> Option<&str> {
        let printable = !self.0.is_empty() && self.0.iter().all(|b| matches!(b, 0x20..=0x7E));
        printable
            .then(|| std::str::from_utf8(&self.0).ok())
            .flatten()
    }
}

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hex())
    }
}

/// An INTEGER; JSON: a number, or a decimal string when it does not fit in 64 bits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Int(pub(crate) Integer);

impl Serialize for Int {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match i64::try_from(&self.0) {
            Ok(n) => s.serialize_i64(n),
            Err(_) => s.serialize_str(&self.0.to_string()),
        }
    }
}

impl std::fmt::Display for Int {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A certificate serial number; JSON: lowercase hex of its magnitude (`"3001"`), with a
/// leading `-` for a (non-conforming) negative one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Serial {
    /// Lowercase hex, as in JSON.
    pub(crate) hex: String,
    /// Decimal.
    pub(crate) decimal: String,
}

impl Serial {
    /// The serial number `value`.
    pub(crate) fn of(value: &Integer) -> Self {
        let decimal = value.to_string();
        let (negative, magnitude) = magnitude_bytes(value);
        let hex = format!(
            "{}{}",
            if negative { "-" } else { "" },
            hex::encode(magnitude)
        );
        Serial { hex, decimal }
    }

    /// `12289 (0x3001)` for numbers up to 64 bits, `30:01:…` (as OpenSSL prints) beyond.
    pub(crate) fn text(&self) -> String {
        let (sign, digits) = match self.hex.strip_prefix('-') {
            Some(d) => ("-", d),
            None => ("", self.hex.as_str()),
        };
        if digits.len() <= 16 {
            format!("{} ({sign}0x{digits})", self.decimal)
        } else {
            let pairs: Vec<&str> = (0..digits.len())
                .step_by(2)
                .filter_map(|i| digits.get(i..i + 2))
                .collect();
            format!("{sign}{}", pairs.join(":"))
        }
    }
}

impl Serialize for Serial {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hex)
    }
}

/// The sign and big-endian magnitude of an INTEGER (at least one byte).
fn magnitude_bytes(value: &Integer) -> (bool, Vec<u8>) {
    // The DER content octets are the minimal two's complement form.
    let der = rasn::der::encode(value).unwrap_or_default();
    let mut bytes = Reader::new(&der, 0)
        .read()
        .map(|tlv| tlv.value.to_vec())
        .unwrap_or_default();
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    if negative {
        // Two's complement negation: invert, then add one.
        for b in bytes.iter_mut() {
            *b = !*b;
        }
        for b in bytes.iter_mut().rev() {
            let (sum, carry) = b.overflowing_add(1);
            *b = sum;
            if !carry {
                break;
            }
        }
    }
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    let magnitude = if zeros == bytes.len() {
        vec![0]
    } else {
        bytes[zeros..].to_vec()
    };
    (negative, magnitude)
}

/// RFC 3339 in UTC with fractional seconds only when present.
const RFC3339_UTC: &str = "%Y-%m-%dT%H:%M:%S%.fZ";

/// A GeneralizedTime as RFC 3339 in UTC: `2026-11-26T23:06:29Z`.
pub(crate) fn generalized_time(t: &GeneralizedTime) -> String {
    t.naive_utc().format(RFC3339_UTC).to_string()
}

/// An X.509 `Time` (UTCTime or GeneralizedTime) as RFC 3339 in UTC.
pub(crate) fn time(t: &Time) -> String {
    match t {
        Time::Utc(t) => t.naive_utc().format(RFC3339_UTC).to_string(),
        Time::General(t) => generalized_time(t),
    }
}

/// A name as an RFC 4514 string (empty for the NULL-DN).
pub(crate) fn name(n: &Name) -> String {
    format_name(n)
}

/// A GeneralName as an RFC 4514 string, or `DNS:…`, `URI:…`, … for other kinds.
pub(crate) fn general_name(n: &GeneralName) -> String {
    format_general_name(n)
}

/// PKIFreeText joined with `"; "`.
pub(crate) fn free_text(t: &[String]) -> String {
    t.join("; ")
}

/// An OID; JSON: `{"name": "ecPublicKey" | null, "oid": "1.2.840.10045.2.1"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct OidView {
    /// The short name, when known.
    pub(crate) name: Option<&'static str>,
    /// The dotted form.
    pub(crate) oid: String,
}

impl OidView {
    /// The view of `o`.
    pub(crate) fn of(o: &Oid) -> Self {
        OidView {
            name: oid::name(o),
            oid: oid::dotted(o),
        }
    }

    /// `name (dotted)`, or just the dotted form.
    pub(crate) fn text(&self) -> String {
        match self.name {
            Some(n) => format!("{n} ({})", self.oid),
            None => self.oid.clone(),
        }
    }
}

/// An AlgorithmIdentifier; JSON: `{"name", "oid", "parameters"}` where `parameters` is the
/// name (or dotted form) of an OID parameter such as a curve, the hex DER of other
/// parameters, or `null` when absent or NULL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct AlgView {
    /// The short name, when known.
    pub(crate) name: Option<&'static str>,
    /// The dotted OID.
    pub(crate) oid: String,
    /// The parameters, summarized.
    pub(crate) parameters: Option<String>,
}

impl AlgView {
    /// The view of `alg`.
    pub(crate) fn of(alg: &AlgorithmIdentifier) -> Self {
        AlgView {
            name: oid::name(&alg.algorithm),
            oid: oid::dotted(&alg.algorithm),
            parameters: alg.parameters.as_ref().and_then(parameters),
        }
    }

    /// `ecPublicKey (1.2.840.10045.2.1), prime256v1`.
    pub(crate) fn text(&self) -> String {
        let base = match self.name {
            Some(n) => format!("{n} ({})", self.oid),
            None => self.oid.clone(),
        };
        match &self.parameters {
            Some(p) => format!("{base}, {p}"),
            None => base,
        }
    }
}

fn parameters(any: &Any) -> Option<String> {
    let bytes = any.as_bytes();
    if bytes == [0x05, 0x00] {
        return None;
    }
    match rasn::der::decode::<rasn::types::ObjectIdentifier>(bytes) {
        Ok(o) => Some(oid::display(&o)),
        Err(_) => Some(hex::encode(bytes)),
    }
}

/// A certificate; JSON: `{"subject", "issuer", "serial"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct CertView {
    /// RFC 4514 subject.
    pub(crate) subject: String,
    /// RFC 4514 issuer.
    pub(crate) issuer: String,
    /// Serial number.
    pub(crate) serial: Serial,
}

impl CertView {
    /// The view of `cert`.
    pub(crate) fn of(cert: &CmpCertificate) -> Self {
        CertView {
            subject: name(cert.subject()),
            issuer: name(cert.issuer()),
            serial: Serial::of(cert.serial_number()),
        }
    }

    /// Views of a list of certificates.
    pub(crate) fn list(certs: &[CmpCertificate]) -> Vec<Self> {
        certs.iter().map(Self::of).collect()
    }
}

/// A CertId (issuer and serial number); JSON: `{"issuer", "serial"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct CertIdView {
    /// The issuer as a general name.
    pub(crate) issuer: String,
    /// The serial number.
    pub(crate) serial: Serial,
}

impl CertIdView {
    /// The view of `id`.
    pub(crate) fn of(id: &CertId) -> Self {
        CertIdView {
            issuer: general_name(&id.issuer),
            serial: Serial::of(&id.serial_number),
        }
    }
}

/// A PKIStatusInfo; JSON fields `status` (RFC name), `failInfo` (names of the set bits) and
/// `statusString` (the texts joined with "; ", or null).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusView {
    /// `accepted`, `rejection`, … or `unknown status N`.
    pub(crate) status: String,
    /// Names of the failure bits set (`bit N` for unnamed ones).
    pub(crate) fail_info: Vec<String>,
    /// The statusString.
    pub(crate) status_string: Option<String>,
    /// The whole status as `PkiStatusInfo` displays it, for text output.
    #[serde(skip)]
    pub(crate) display: String,
}

impl StatusView {
    /// The view of `info`.
    pub(crate) fn of(info: &PkiStatusInfo) -> Self {
        let mut fail_info = Vec::new();
        if let Some(fi) = &info.fail_info {
            fail_info.extend(fi.bits().iter().map(|b| b.name().to_owned()));
            fail_info.extend(fi.unnamed_bits().iter().map(|n| format!("bit {n}")));
        }
        StatusView {
            status: info.status.to_string(),
            fail_info,
            status_string: info.text(),
            display: info.to_string(),
        }
    }
}

/// An extension; JSON: `{"name", "oid", "critical"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct ExtView {
    /// The short name, when known.
    pub(crate) name: Option<&'static str>,
    /// The dotted OID.
    pub(crate) oid: String,
    /// The critical flag.
    pub(crate) critical: bool,
}

impl ExtView {
    /// The view of `ext`.
    pub(crate) fn of(ext: &Extension) -> Self {
        ExtView {
            name: oid::name(&ext.extn_id),
            oid: oid::dotted(&ext.extn_id),
            critical: ext.critical,
        }
    }

    /// `keyUsage (2.5.29.15), critical`.
    pub(crate) fn text(&self) -> String {
        let base = OidView {
            name: self.name,
            oid: self.oid.clone(),
        }
        .text();
        if self.critical {
            format!("{base}, critical")
        } else {
            base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_in_hex_and_text() {
        let s = Serial::of(&Integer::from(0x3001));
        assert_eq!(s.hex, "3001");
        assert_eq!(s.text(), "12289 (0x3001)");
        let s = Serial::of(&Integer::from(0x80));
        assert_eq!(s.hex, "80");
        let s = Serial::of(&Integer::from(-1));
        assert_eq!(s.hex, "-01");
        assert_eq!(s.text(), "-1 (-0x01)");
        let s = Serial::of(&Integer::from(0));
        assert_eq!(s.hex, "00");
        let der = [
            0x02, 0x0A, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00,
        ];
        let big: Integer = rasn::der::decode(&der).expect("integer");
        let s = Serial::of(&big);
        assert_eq!(s.hex, "ffffffffffffffff00");
        assert_eq!(s.text(), "ff:ff:ff:ff:ff:ff:ff:ff:00");
    }

    #[test]
    fn hex_and_ascii() {
        let h = Hex::of(b"client-ref-1234");
        assert_eq!(h.hex(), "636c69656e742d7265662d31323334");
        assert_eq!(h.ascii(), Some("client-ref-1234"));
        assert_eq!(Hex::of(&[0x01, 0x41]).ascii(), None);
    }
}
