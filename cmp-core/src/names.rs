//! Distinguished names: RFC 4514 strings for display, and parsing of both the RFC 4514 form
//! (`CN=x,O=Org`, least significant first) and the OpenSSL form (`/O=Org/CN=x`, most
//! significant first).
//!
//! ```
//! use cmp_core::names::{format_name, parse_name};
//! let a = parse_name("/C=DE/O=Example Org/CN=device 1").unwrap();
//! let b = parse_name("CN=device 1,O=Example Org,C=DE").unwrap();
//! assert_eq!(a, b);
//! assert_eq!(format_name(&a), "CN=device 1,O=Example Org,C=DE");
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

use rasn::types::{Any, Ia5String, Oid, PrintableString, SetOf, Utf8String};
use rasn_pkix::{AttributeTypeAndValue, GeneralName, Name, RelativeDistinguishedName};

use crate::asn1::oid;
use crate::der::Reader;
use crate::error::Error;

const SHORT_NAMES: &[(&str, &Oid)] = &[
    ("CN", oid::AT_COMMON_NAME),
    ("SN", oid::AT_SURNAME),
    ("serialNumber", oid::AT_SERIAL_NUMBER),
    ("C", oid::AT_COUNTRY),
    ("L", oid::AT_LOCALITY),
    ("ST", oid::AT_STATE),
    ("street", oid::AT_STREET),
    ("O", oid::AT_ORGANIZATION),
    ("OU", oid::AT_ORGANIZATIONAL_UNIT),
    ("title", oid::AT_TITLE),
    ("GN", oid::AT_GIVEN_NAME),
    ("dnQualifier", oid::AT_DN_QUALIFIER),
    ("pseudonym", oid::AT_PSEUDONYM),
    ("DC", oid::AT_DOMAIN_COMPONENT),
    ("UID", oid::AT_USER_ID),
    ("emailAddress", oid::AT_EMAIL_ADDRESS),
];

/// The RFC 4514 string of a name: last RDN first, `+` inside multi-valued RDNs, values
/// escaped; the NULL-DN is the empty string.
pub fn format_name(name: &Name) -> String {
    let Name::RdnSequence(rdns) = name;
    let mut out = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.to_vec().iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            out.push_str(&format_atv(atv));
        }
    }
    out
}

fn format_atv(atv: &AttributeTypeAndValue) -> String {
    let ty = SHORT_NAMES
        .iter()
        .find(|(_, o)| **o == *atv.r#type)
        .map_or_else(|| oid::dotted(&atv.r#type), |(n, _)| (*n).to_owned());
    let value = match attribute_string(&atv.value) {
        Some(s) => escape_value(&s),
        None => format!("#{}", hex_upper(atv.value.as_bytes())),
    };
    format!("{ty}={value}")
}

/// The text of a directory string value, if it is one of the string types.
pub fn attribute_string(value: &Any) -> Option<String> {
    let tlv = Reader::new(value.as_bytes(), 0).read().ok()?;
    let v = tlv.value;
    match tlv.first_octet() {
        // UTF8String, PrintableString, IA5String, NumericString, VisibleString
        0x0C | 0x13 | 0x16 | 0x12 | 0x1A => String::from_utf8(v.to_vec()).ok(),
        // TeletexString: treat as Latin-1, as most software does.
        0x14 => Some(v.iter().map(|b| char::from(*b)).collect()),
        // BMPString: UTF-16BE.
        0x1E => {
            if v.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = v
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        // UniversalString: UTF-32BE.
        0x1C => {
            if v.len() % 4 != 0 {
                return None;
            }
            v.chunks(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => None,
    }
}

fn escape_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let last = s.chars().count().saturating_sub(1);
    for (i, c) in s.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
            out.push(c);
        } else if c == '\0' {
            out.push_str("\\00");
        } else {
            out.push(c);
        }
    }
    out
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Whether two names are equal as RFC 5280 §7.1 compares them: attribute by attribute,
/// string values case-insensitively with inner white space folded (the common subset of the
/// RFC 4518 preparation), other values byte for byte.
pub fn names_equal(a: &Name, b: &Name) -> bool {
    let (Name::RdnSequence(a), Name::RdnSequence(b)) = (a, b);
    a.len() == b.len()
        && a.iter().zip(b).all(|(ra, rb)| {
            let (ra, rb) = (ra.to_vec(), rb.to_vec());
            ra.len() == rb.len()
                && ra.iter().all(|x| {
                    rb.iter()
                        .any(|y| x.r#type == y.r#type && values_equal(&x.value, &y.value))
                })
        })
}

fn values_equal(a: &Any, b: &Any) -> bool {
    match (attribute_string(a), attribute_string(b)) {
        (Some(x), Some(y)) => fold(&x) == fold(&y),
        _ => a == b,
    }
}

fn fold(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A readable form of a `GeneralName`: the RFC 4514 string of a directoryName, else
/// `DNS:…`, `email:…`, `URI:…`, `IP:…`, `RID:…` as OpenSSL prints them.
pub fn format_general_name(name: &GeneralName) -> String {
    match name {
        GeneralName::DirectoryName(n) => format_name(n),
        GeneralName::DnsName(s) => format!("DNS:{}", s.as_iso646_bytes().escape_ascii()),
        GeneralName::Rfc822Name(s) => format!("email:{}", s.as_iso646_bytes().escape_ascii()),
        GeneralName::Uri(s) => format!("URI:{}", s.as_iso646_bytes().escape_ascii()),
        GeneralName::IpAddress(b) => match b.len() {
            4 => format!("IP:{}", Ipv4Addr::new(b[0], b[1], b[2], b[3])),
            16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                format!("IP:{}", Ipv6Addr::from(a))
            }
            _ => format!("IP:#{}", hex_upper(b)),
        },
        GeneralName::RegisteredId(o) => format!("RID:{}", oid::dotted(o)),
        GeneralName::OtherName(_) => "othername:<unsupported>".into(),
        GeneralName::X400Address(_) => "X400Name:<unsupported>".into(),
        GeneralName::EdiPartyName(_) => "EdiPartyName:<unsupported>".into(),
    }
}

/// Parses a distinguished name in either form.
///
/// A string starting with `/` is the OpenSSL form (`/O=Org/CN=x`, most significant RDN
/// first, `+` joins a multi-valued RDN); anything else is RFC 4514 (`CN=x,O=Org`, least
/// significant first). `\` escapes a special character. The empty string and `/` are the
/// NULL-DN. Values are UTF8String, except `C`, `serialNumber` and `dnQualifier`
/// (PrintableString) and `DC` and `emailAddress` (IA5String), as RFC 5280 wants.
pub fn parse_name(s: &str) -> Result<Name, Error> {
    let invalid = |reason: String| Error::Invalid {
        what: "distinguished name",
        reason,
    };
    let s = s.trim();
    let (rdn_strs, reverse) = if let Some(rest) = s.strip_prefix('/') {
        (split_unescaped(rest, '/'), false)
    } else {
        (split_unescaped(s, ','), true)
    };
    let mut rdns = Vec::new();
    for rdn in rdn_strs {
        if rdn.trim().is_empty() {
            continue;
        }
        let mut atvs = Vec::new();
        for atv in split_unescaped(&rdn, '+') {
            let (ty, value) = atv
                .split_once('=')
                .ok_or_else(|| invalid(format!("{atv:?} is not of the form TYPE=value")))?;
            let ty = ty.trim();
            let value =
                unescape(value.trim_start()).map_err(|e| invalid(format!("{atv:?}: {e}")))?;
            atvs.push(make_atv(ty, &value).map_err(invalid)?);
        }
        rdns.push(RelativeDistinguishedName::from(SetOf::from_vec(atvs)));
    }
    if reverse {
        rdns.reverse();
    }
    Ok(Name::RdnSequence(rdns))
}

fn make_atv(ty: &str, value: &str) -> Result<AttributeTypeAndValue, String> {
    let attr: rasn::types::ObjectIdentifier =
        match SHORT_NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(ty)) {
            Some((_, o)) => (*o).to_owned(),
            None => parse_dotted(ty).ok_or_else(|| format!("unknown attribute type {ty:?}"))?,
        };
    let attr_ref: &Oid = &attr;
    let der = if attr_ref == oid::AT_COUNTRY
        || attr_ref == oid::AT_SERIAL_NUMBER
        || attr_ref == oid::AT_DN_QUALIFIER
    {
        let p = PrintableString::try_from(value.to_owned())
            .map_err(|_| format!("{value:?} is not a PrintableString (needed for {ty})"))?;
        rasn::der::encode(&p)
    } else if attr_ref == oid::AT_DOMAIN_COMPONENT || attr_ref == oid::AT_EMAIL_ADDRESS {
        let p = Ia5String::try_from(value.to_owned())
            .map_err(|_| format!("{value:?} is not ASCII (needed for {ty})"))?;
        rasn::der::encode(&p)
    } else {
        rasn::der::encode(&Utf8String::from(value))
    }
    .map_err(|e| e.to_string())?;
    Ok(AttributeTypeAndValue {
        r#type: attr,
        value: Any::new(der),
    })
}

/// Parses a dotted OID such as `2.5.4.3`.
pub fn parse_dotted(s: &str) -> Option<rasn::types::ObjectIdentifier> {
    let arcs: Option<Vec<u32>> = s.split('.').map(|a| a.parse().ok()).collect();
    rasn::types::ObjectIdentifier::new(arcs?)
}

fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            cur.push(c);
            if let Some(n) = chars.next() {
                cur.push(n);
            }
        } else if c == sep {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    parts.push(cur);
    parts
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            let next = bytes.get(i + 1).ok_or("a trailing backslash")?;
            if next.is_ascii_hexdigit() && bytes.get(i + 2).is_some_and(|b| b.is_ascii_hexdigit()) {
                let hex = &s[i + 1..i + 3];
                out.push(u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
                i += 3;
            } else {
                out.push(*next);
                i += 2;
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "escaped bytes are not UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_give_the_same_der() {
        let a = parse_name("/C=DE/O=Org/OU=Unit+CN=x").expect("openssl form");
        let b = parse_name("OU=Unit+CN=x,O=Org,C=DE").expect("rfc4514 form");
        assert_eq!(
            rasn::der::encode(&a).expect("encode"),
            rasn::der::encode(&b).expect("encode")
        );
    }

    #[test]
    fn country_is_printable_and_cn_is_utf8() {
        let name = parse_name("CN=ü,C=DE").expect("parse");
        let der = rasn::der::encode(&name).expect("encode");
        // C=DE: 06 03 55 04 06 13 02 44 45 (PrintableString)
        assert!(
            der.windows(9)
                .any(|w| w == [6, 3, 0x55, 4, 6, 0x13, 2, b'D', b'E'])
        );
        // CN=ü: UTF8String 0C 02 C3 BC
        assert!(der.windows(4).any(|w| w == [0x0C, 2, 0xC3, 0xBC]));
    }

    #[test]
    fn names_compare_as_rfc_5280_says() {
        let printable = parse_name("C=DE").expect("dn");
        let utf8 = {
            // The same country as UTF8String.
            let atv = AttributeTypeAndValue {
                r#type: oid::AT_COUNTRY.to_owned(),
                value: Any::new(rasn::der::encode(&Utf8String::from("de")).expect("enc")),
            };
            Name::RdnSequence(vec![RelativeDistinguishedName::from(SetOf::from_vec(
                vec![atv],
            ))])
        };
        assert!(names_equal(&printable, &utf8));
        assert!(names_equal(
            &parse_name("CN=Device  One,O=x").expect("dn"),
            &parse_name("/O=X/CN=device one").expect("dn")
        ));
        assert!(!names_equal(
            &parse_name("CN=a,O=x").expect("dn"),
            &parse_name("CN=a").expect("dn")
        ));
    }

    #[test]
    fn escaping_roundtrips() {
        let name = parse_name(r"CN=a\,b\+c,O=x").expect("parse");
        assert_eq!(format_name(&name), r"CN=a\,b\+c,O=x");
    }

    #[test]
    fn null_dn_and_errors() {
        assert_eq!(parse_name("").expect("empty"), Name::RdnSequence(vec![]));
        assert_eq!(parse_name("/").expect("slash"), Name::RdnSequence(vec![]));
        let err = parse_name("CN").expect_err("no =");
        assert_eq!(
            err.to_string(),
            "invalid distinguished name: \"CN\" is not of the form TYPE=value"
        );
        let err = parse_name("XX=1").expect_err("unknown type");
        assert_eq!(
            err.to_string(),
            "invalid distinguished name: unknown attribute type \"XX\""
        );
    }
}
