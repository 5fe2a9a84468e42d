//! `PKIMessage` (RFC 9810 §5.1) and decoding that keeps the received bytes.

use std::ops::Range;

use rasn::prelude::*;

use super::body::PkiBody;
use super::cert::CmpCertificate;
use super::header::PkiHeader;
use crate::der::{self, Reader, Tlv};
use crate::error::{DecodeError, Error};

/// A CMP message.
///
/// ```asn1
/// PKIMessage ::= SEQUENCE {
///    header      PKIHeader,
///    body        PKIBody,
///    protection  [0] PKIProtection OPTIONAL,            -- BIT STRING
///    extraCerts  [1] SEQUENCE SIZE (1..MAX) OF CMPCertificate OPTIONAL }
/// ```
/// To read a message received from a peer use [`ReceivedMessage::decode`]: it bounds size and
/// nesting, locates errors, and keeps the bytes over which the protection was computed.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct PkiMessage {
    /// The header.
    pub header: PkiHeader,
    /// The body.
    pub body: PkiBody,
    /// MAC or signature over `ProtectedPart`.
    #[rasn(tag(explicit(context, 0)))]
    pub protection: Option<BitString>,
    /// Certificates for the recipient: the signer's certificate first, then its chain.
    #[rasn(tag(explicit(context, 1)))]
    pub extra_certs: Option<SequenceOf<CmpCertificate>>,
}

/// `PKIMessages ::= SEQUENCE SIZE (1..MAX) OF PKIMessage` (the body of `nested`).
pub type PkiMessages = SequenceOf<PkiMessage>;

impl PkiMessage {
    /// An unprotected message.
    pub fn new(header: PkiHeader, body: PkiBody) -> Self {
        PkiMessage {
            header,
            body,
            protection: None,
            extra_certs: None,
        }
    }

    /// The DER encoding.
    pub fn to_der(&self) -> Result<Vec<u8>, Error> {
        rasn::der::encode(self).map_err(|e| Error::Encode {
            what: "PKIMessage",
            reason: e.to_string(),
        })
    }

    /// The DER of `ProtectedPart ::= SEQUENCE { header, body }` of this message as encoded
    /// now: the input to MAC or signature when *sending*. For a received message use
    /// [`ReceivedMessage::protected_part`], which uses the received bytes.
    pub fn protected_part(&self) -> Result<Vec<u8>, Error> {
        let enc = |what, r: Result<Vec<u8>, rasn::error::EncodeError>| {
            r.map_err(|e| Error::Encode {
                what,
                reason: e.to_string(),
            })
        };
        let header = enc("PKIHeader", rasn::der::encode(&self.header))?;
        let body = enc("PKIBody", rasn::der::encode(&self.body))?;
        Ok(protected_part_der(&header, &body))
    }
}

/// `ProtectedPart ::= SEQUENCE { header PKIHeader, body PKIBody }` from the encodings of header
/// and body.
pub fn protected_part_der(header: &[u8], body: &[u8]) -> Vec<u8> {
    let len = header.len() + body.len();
    let mut out = Vec::with_capacity(len + 6);
    out.push(0x30);
    der::push_length(&mut out, len);
    out.extend_from_slice(header);
    out.extend_from_slice(body);
    out
}

/// Limits applied when decoding a message from a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted message, in bytes.
    pub max_size: usize,
    /// Deepest accepted nesting of constructed values.
    pub max_depth: usize,
}

impl Default for DecodeLimits {
    /// 4 MiB and 64 levels.
    fn default() -> Self {
        DecodeLimits {
            max_size: 4 << 20,
            max_depth: der::MAX_DEPTH,
        }
    }
}

/// A decoded message together with the exact bytes it was decoded from.
///
/// Protection is checked over the received encodings of header and body
/// ([`ReceivedMessage::protected_part`]), never over a re-encoding.
///
/// # DER policy
///
/// CMP messages are DER (RFC 9810 §5.1, RFC 9483 §3.1), and the decoder holds one property:
/// **whatever decodes re-encodes ([`PkiMessage::to_der`]) to bytes that decode again, to the
/// same message.** It is strict where it can see the encoding and consistent where it cannot:
///
/// - *Strict, before any typed decoding:* the framing pass ([`crate::der::check_framing`])
///   refuses, with the byte offset, indefinite lengths, lengths and tag numbers not in the
///   shortest form, and universal types with the wrong constructed bit; every `[n]` of
///   PKIMessage and PKIBody must be constructed (explicit tags), and so must every `[n]` of
///   PKIHeader, whose `sender` and `recipient` must also have the form DER gives their
///   `GeneralName` alternative (`[4]` directoryName constructed, `[8]` registeredID primitive, …).
///   Such a tag with the wrong bit is what the type decoder would otherwise accept: an explicit
///   tag written primitive hides its contents from the framing pass until a re-encoding makes it
///   constructed.
/// - *Consistent, after it:* deeper in a body the schema decides the form of a tag, and a few
///   encodings that are not DER decode to a value all the same. A message that does not
///   re-encode to the bytes received is accepted only when its DER re-encoding passes this same
///   decoding; otherwise it is refused with [`DecodeError::NotDer`], which carries the error
///   located in the re-encoding. Certificates and PKCS#10 requests are kept with their bytes
///   ([`Encoded`](super::Encoded)), so they re-encode as received.
///
/// The price of the check is one encoding per message; every `openssl cmp` message and every
/// message this crate builds is DER and re-encodes to its own bytes.
///
/// ```
/// use cmp_core::asn1::ReceivedMessage;
/// let err = ReceivedMessage::decode(&[0x30, 0x03, 0x02, 0x01, 0x02]).unwrap_err();
/// assert_eq!(err.to_string(), "header: expected SEQUENCE, found INTEGER");
/// ```
#[derive(Clone, Debug)]
pub struct ReceivedMessage {
    der: Vec<u8>,
    header: Range<usize>,
    body: Range<usize>,
    message: PkiMessage,
}

impl ReceivedMessage {
    /// Decodes a message with the default [`DecodeLimits`].
    pub fn decode(der: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_with_limits(der, &DecodeLimits::default())
    }

    /// Decodes a message: checks size, framing and nesting first, then decodes header, body,
    /// protection and extraCerts, reporting where a field is wrong.
    pub fn decode_with_limits(der: &[u8], limits: &DecodeLimits) -> Result<Self, DecodeError> {
        Self::decode_inner(der, limits, true)
    }

    fn decode_inner(
        der: &[u8],
        limits: &DecodeLimits,
        check_reencoding: bool,
    ) -> Result<Self, DecodeError> {
        if der.is_empty() {
            return Err(DecodeError::Empty);
        }
        if der.len() > limits.max_size {
            return Err(DecodeError::TooLarge {
                size: der.len(),
                max: limits.max_size,
            });
        }
        let top = der::check_framing(der, limits.max_depth)?;
        if top.first_octet() != 0x30 {
            return Err(DecodeError::Field {
                path: "PKIMessage".into(),
                what: format!(
                    "expected SEQUENCE (0x30), found tag 0x{:02X}",
                    top.first_octet()
                ),
            });
        }
        let header_start = top.raw.len() - top.value.len();
        let mut reader = Reader::new(top.value, header_start);
        let missing = |what: &str| DecodeError::Field {
            path: "PKIMessage".into(),
            what: format!("the message ends before its {what}"),
        };
        if reader.is_empty() {
            return Err(missing("header"));
        }
        let header_tlv = reader.read()?;
        check_header_tag_forms(&header_tlv)?;
        let header: PkiHeader =
            rasn::der::decode(header_tlv.raw).map_err(|e| DecodeError::from_rasn("header", &e))?;
        if reader.is_empty() {
            return Err(missing("body"));
        }
        let body_tlv = reader.read()?;
        let section = body_section(&body_tlv)?;
        let body: PkiBody =
            rasn::der::decode(body_tlv.raw).map_err(|e| DecodeError::from_rasn(&section, &e))?;

        let mut protection = None;
        let mut extra_certs = None;
        let mut last_tag = None;
        while !reader.is_empty() {
            let tlv = reader.read()?;
            let tag = tlv.first_octet();
            if last_tag.is_some_and(|last| tag <= last) {
                return Err(DecodeError::Field {
                    path: "PKIMessage".into(),
                    what: format!("field tagged 0x{tag:02X} is out of order or repeated"),
                });
            }
            last_tag = Some(tag);
            match tag {
                0xA0 => {
                    protection = Some(
                        decode_explicit::<BitString>(tlv.value)
                            .map_err(|e| DecodeError::from_rasn("protection", &e))?,
                    );
                }
                0xA1 => {
                    let certs: SequenceOf<CmpCertificate> = decode_explicit(tlv.value)
                        .map_err(|e| DecodeError::from_rasn("extraCerts", &e))?;
                    if certs.is_empty() {
                        return Err(DecodeError::Field {
                            path: "extraCerts".into(),
                            what: "the sequence is empty (SIZE (1..MAX))".into(),
                        });
                    }
                    extra_certs = Some(certs);
                }
                other => {
                    return Err(DecodeError::Field {
                        path: "PKIMessage".into(),
                        what: format!(
                            "unexpected field tagged 0x{other:02X} after the body (only [0] protection and [1] extraCerts may follow)"
                        ),
                    });
                }
            }
        }
        let range = |t: &Tlv<'_>| t.offset..t.offset + t.raw.len();
        let received = ReceivedMessage {
            der: der.to_vec(),
            header: range(&header_tlv),
            body: range(&body_tlv),
            message: PkiMessage {
                header,
                body,
                protection,
                extra_certs,
            },
        };
        if check_reencoding {
            received.check_reencoding(limits)?;
        }
        Ok(received)
    }

    /// The consistency half of the DER policy: a message that is not DER in a way the checks
    /// before the typed decoding cannot see (it does not re-encode to the received bytes) is
    /// accepted only if its DER re-encoding passes the same decoding.
    fn check_reencoding(&self, limits: &DecodeLimits) -> Result<(), DecodeError> {
        let again = self.message.to_der().map_err(|e| DecodeError::NotDer {
            reason: format!("it cannot be re-encoded ({e})"),
        })?;
        if again == self.der {
            return Ok(());
        }
        let unlimited = DecodeLimits {
            max_size: usize::MAX,
            ..*limits
        };
        Self::decode_inner(&again, &unlimited, false).map_err(|e| DecodeError::NotDer {
            reason: format!("its DER re-encoding does not decode ({e})"),
        })?;
        Ok(())
    }

    /// The decoded message.
    pub fn message(&self) -> &PkiMessage {
        &self.message
    }

    /// Takes the decoded message.
    pub fn into_message(self) -> PkiMessage {
        self.message
    }

    /// The bytes as received.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The received encoding of the header.
    pub fn header_der(&self) -> &[u8] {
        &self.der[self.header.clone()]
    }

    /// The received encoding of the body.
    pub fn body_der(&self) -> &[u8] {
        &self.der[self.body.clone()]
    }

    /// `ProtectedPart` built from the received header and body bytes: what the sender MACed
    /// or signed.
    pub fn protected_part(&self) -> Vec<u8> {
        protected_part_der(self.header_der(), self.body_der())
    }

    /// Whether re-encoding the decoded message gives back the received bytes exactly.
    pub fn roundtrips(&self) -> bool {
        self.message
            .to_der()
            .is_ok_and(|der| der.as_slice() == self.der.as_slice())
    }
}

/// The names of PKIHeader's `[0]` to `[8]`, all EXPLICIT tags.
const HEADER_TAGGED_FIELDS: [&str; 9] = [
    "messageTime",
    "protectionAlg",
    "senderKID",
    "recipKID",
    "transactionID",
    "senderNonce",
    "recipNonce",
    "freeText",
    "generalInfo",
];

/// The alternatives of `GeneralName` (RFC 5280, IMPLICIT TAGS; `directoryName` is a CHOICE and
/// so explicit), and whether DER encodes each constructed.
const GENERAL_NAME_FORMS: [(&str, bool); 9] = [
    ("otherName", true),
    ("rfc822Name", false),
    ("dNSName", false),
    ("x400Address", true),
    ("directoryName", true),
    ("ediPartyName", true),
    ("uniformResourceIdentifier", false),
    ("iPAddress", false),
    ("registeredID", false),
];

/// The strict half of the DER policy for PKIHeader: the constructed bit of `sender`,
/// `recipient` and the tagged fields must be the one DER gives them. Values rasn would decode
/// whatever their form (an explicit tag's contents, an OID) are refused here with their offset.
fn check_header_tag_forms(header: &Tlv<'_>) -> Result<(), DecodeError> {
    if header.first_octet() != 0x30 {
        return Ok(()); // The typed decoding reports it, with the field's name.
    }
    let mut fields = header.children();
    if fields.is_empty() {
        return Ok(());
    }
    let _pvno = fields.read()?;
    for role in ["sender", "recipient"] {
        if fields.is_empty() {
            return Ok(());
        }
        let name = fields.read()?;
        let Some(n) = name.context_number() else {
            continue;
        };
        let Some(&(alternative, constructed)) = GENERAL_NAME_FORMS.get(n as usize) else {
            continue;
        };
        if name.is_constructed() != constructed {
            let want = (if constructed { 0xA0 } else { 0x80 }) | n as u8;
            return Err(DecodeError::framing(
                name.offset,
                format!(
                    "header: {role}: GeneralName [{n}] {alternative} is {} in DER (0x{want:02X}), found 0x{:02X}",
                    if constructed {
                        "constructed"
                    } else {
                        "primitive"
                    },
                    name.first_octet()
                ),
            ));
        }
    }
    while !fields.is_empty() {
        let field = fields.read()?;
        let Some(n) = field.context_number() else {
            continue;
        };
        let Some(name) = HEADER_TAGGED_FIELDS.get(n as usize) else {
            continue;
        };
        if !field.is_constructed() {
            return Err(DecodeError::framing(
                field.offset,
                format!(
                    "header: {name}: [{n}] is an EXPLICIT tag, constructed in DER (0x{:02X}), found primitive 0x{:02X}",
                    0xA0 | n,
                    field.first_octet()
                ),
            ));
        }
    }
    Ok(())
}

fn body_section(tlv: &Tlv<'_>) -> Result<String, DecodeError> {
    match tlv.context_number() {
        Some(n) if tlv.is_constructed() => match PkiBody::name_of_tag(n) {
            Some(name) => Ok(format!("body {name}")),
            None => Err(DecodeError::Field {
                path: "body".into(),
                what: format!("unknown body type [{n}] (CMP defines [0] ir to [26] pollRep)"),
            }),
        },
        _ => Err(DecodeError::Field {
            path: "body".into(),
            what: format!(
                "expected a context-tagged body ([0] ir to [26] pollRep), found tag 0x{:02X}",
                tlv.first_octet()
            ),
        }),
    }
}

/// Decodes the single value inside an explicit tag's contents.
fn decode_explicit<T: Decode>(contents: &[u8]) -> Result<T, rasn::error::DecodeError> {
    rasn::der::decode(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_part_wraps_header_and_body() {
        let pp = protected_part_der(&[0x30, 0x00], &[0xB3, 0x02, 0x05, 0x00]);
        assert_eq!(pp, [0x30, 0x06, 0x30, 0x00, 0xB3, 0x02, 0x05, 0x00]);
        let long = protected_part_der(&[0u8; 200], &[0u8; 100]);
        assert_eq!(&long[..4], &[0x30, 0x82, 0x01, 0x2C]);
    }
}
