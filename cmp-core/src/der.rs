//! A minimal, bounded DER TLV reader.
//!
//! rasn decodes the typed model; this reader runs first. It checks the framing of a whole
//! message (definite lengths only, no trailing bytes, nesting depth bounded) so that hostile
//! input is rejected before any recursive decoder sees it, and it hands out the exact byte
//! ranges of the top-level fields, over which protection is computed.

use crate::error::DecodeError;

/// The deepest nesting of constructed values accepted in one message.
///
/// Real CMP messages nest about 15 levels (a certificate extension inside a certificate inside
/// `extraCerts`); a `nested` body adds ~5 levels per wrapped message.
pub const MAX_DEPTH: usize = 64;

/// One decoded tag-length-value header and where its parts lie in the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The identifier octet(s) as they appear on the wire; for low tag numbers this is one
    /// byte such as `0x30` (SEQUENCE) or `0xA1` (context 1, constructed).
    pub tag: u32,
    /// The class and constructed bits of the first identifier octet (`0x30 & 0xE0`, …).
    pub class_bits: u8,
    /// The value octets.
    pub value: &'a [u8],
    /// The whole encoding: identifier, length and value.
    pub raw: &'a [u8],
    /// Offset of `raw` from the start of the buffer given to the reader.
    pub offset: usize,
}

impl<'a> Tlv<'a> {
    /// A reader over the values inside this one (for constructed values), with offsets
    /// relative to the same buffer.
    pub fn children(&self) -> Reader<'a> {
        Reader::new(self.value, self.offset + self.raw.len() - self.value.len())
    }

    /// Whether the constructed bit is set.
    pub fn is_constructed(&self) -> bool {
        self.class_bits & 0x20 != 0
    }

    /// The first identifier octet, e.g. `0xA4` for `[4]` constructed.
    pub fn first_octet(&self) -> u8 {
        self.raw[0]
    }

    /// The context-specific tag number, if this is a context-class tag.
    pub fn context_number(&self) -> Option<u32> {
        (self.class_bits & 0xC0 == 0x80).then_some(self.tag)
    }
}

/// Reads consecutive TLVs out of a byte slice.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `input`, whose offsets are reported relative to `base`.
    pub fn new(input: &'a [u8], base: usize) -> Self {
        Reader {
            input,
            pos: 0,
            base,
        }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.input.len()
    }

    /// Reads the next TLV.
    pub fn read(&mut self) -> Result<Tlv<'a>, DecodeError> {
        let start = self.pos;
        let at = self.base + start;
        let input = self.input;
        let byte = |i: usize| -> Result<u8, DecodeError> {
            input
                .get(i)
                .copied()
                .ok_or_else(|| DecodeError::framing(at, "the data ends inside a tag or length"))
        };
        let first = byte(start)?;
        let mut i = start + 1;
        let mut tag = u32::from(first & 0x1F);
        if tag == 0x1F {
            tag = 0;
            loop {
                let b = byte(i)?;
                i += 1;
                if tag > (u32::MAX >> 7) {
                    return Err(DecodeError::framing(at, "tag number too large"));
                }
                tag = (tag << 7) | u32::from(b & 0x7F);
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let len_octet = byte(i)?;
        i += 1;
        let len = if len_octet < 0x80 {
            usize::from(len_octet)
        } else if len_octet == 0x80 {
            return Err(DecodeError::framing(
                at,
                "indefinite length (BER) is not allowed in DER",
            ));
        } else {
            let n = usize::from(len_octet & 0x7F);
            if n > 4 {
                return Err(DecodeError::framing(at, "length field longer than 4 bytes"));
            }
            let mut len = 0usize;
            for _ in 0..n {
                len = (len << 8) | usize::from(byte(i)?);
                i += 1;
            }
            len
        };
        let end = i
            .checked_add(len)
            .filter(|end| *end <= input.len())
            .ok_or_else(|| {
                DecodeError::framing(
                    at,
                    format!(
                        "a value claims {len} bytes but only {} remain",
                        input.len() - i.min(input.len())
                    ),
                )
            })?;
        self.pos = end;
        Ok(Tlv {
            tag,
            class_bits: first & 0xE0,
            value: &input[i..end],
            raw: &input[start..end],
            offset: at,
        })
    }
}

/// Appends a DER length (short form below 128, else the shortest long form).
pub fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// A DER TLV with a one-byte tag.
pub fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    out.push(tag);
    push_length(&mut out, value.len());
    out.extend_from_slice(value);
    out
}

/// A DER INTEGER from a big-endian unsigned magnitude (leading zeros dropped, a zero byte
/// added when the high bit is set).
pub fn unsigned_integer(magnitude: &[u8]) -> Vec<u8> {
    let zeros = magnitude.iter().take_while(|b| **b == 0).count();
    let mut v = magnitude[zeros..].to_vec();
    if v.first().is_none_or(|b| b & 0x80 != 0) {
        v.insert(0, 0);
    }
    tlv(0x02, &v)
}

/// Checks that `input` is exactly one well-framed DER value, nesting at most `max_depth`
/// constructed levels, and returns its top-level TLV.
///
/// Besides the framing, every value it reaches must have the form DER prescribes wherever that
/// form does not depend on the schema ([`check_der_form`]): shortest tag and length octets, and
/// the constructed bit of the universal types. The pass reaches the values inside constructed
/// ones only; whether a context tag must be constructed depends on the schema, and
/// [`ReceivedMessage::decode`](crate::asn1::ReceivedMessage::decode) checks it for the levels it
/// knows.
pub fn check_framing(input: &[u8], max_depth: usize) -> Result<Tlv<'_>, DecodeError> {
    let mut reader = Reader::new(input, 0);
    let top = reader.read()?;
    if !reader.is_empty() {
        return Err(DecodeError::TrailingData {
            count: input.len() - top.raw.len(),
        });
    }
    check_children(&top, 1, max_depth)?;
    Ok(top)
}

/// Checks the DER rules of one TLV that hold whatever the schema (X.690 §10.1, §8.1.2):
/// the length in the shortest form, a tag number below 31 in the one-octet form and a higher
/// one without a leading zero septet, SEQUENCE and SET constructed, and the other universal
/// types primitive (DER has no constructed strings).
pub fn check_der_form(tlv: &Tlv<'_>) -> Result<(), DecodeError> {
    let raw = tlv.raw;
    let fail = |what: String| Err(DecodeError::framing(tlv.offset, what));
    let mut tag_octets = 1;
    if raw[0] & 0x1F == 0x1F {
        if raw.get(1) == Some(&0x80) {
            return fail("tag number with a leading zero septet (not DER)".into());
        }
        if tlv.tag < 0x1F {
            return fail(format!(
                "tag number {} in the high-tag form (DER uses one octet below 31)",
                tlv.tag
            ));
        }
        tag_octets += raw[1..].iter().take_while(|b| **b & 0x80 != 0).count() + 1;
    }
    let len = tlv.value.len();
    let length_octets = raw.len() - len - tag_octets;
    let shortest = if len < 0x80 {
        1
    } else {
        1 + (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
    };
    if length_octets != shortest {
        return fail(format!(
            "length {len} not in the shortest form ({length_octets} length octets, DER uses {shortest})"
        ));
    }
    if tlv.class_bits & 0xC0 == 0 {
        let constructed_types = matches!(tlv.tag, 0x08 | 0x0B | 0x10 | 0x11 | 0x1D);
        let must_be_constructed = matches!(tlv.tag, 0x10 | 0x11);
        if must_be_constructed && !tlv.is_constructed() {
            return fail(format!(
                "universal tag {} (SEQUENCE/SET) must be constructed",
                tlv.tag
            ));
        }
        if !constructed_types && tlv.is_constructed() {
            return fail(format!(
                "universal tag {} must be primitive in DER (found constructed 0x{:02X})",
                tlv.tag,
                tlv.first_octet()
            ));
        }
    }
    Ok(())
}

fn check_children(tlv: &Tlv<'_>, depth: usize, max_depth: usize) -> Result<(), DecodeError> {
    check_der_form(tlv)?;
    if !tlv.is_constructed() {
        return Ok(());
    }
    if depth > max_depth {
        return Err(DecodeError::framing(
            tlv.offset,
            format!("values are nested deeper than {max_depth} levels"),
        ));
    }
    let mut reader = tlv.children();
    while !reader.is_empty() {
        let child = reader.read()?;
        check_children(&child, depth + 1, max_depth)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths() {
        let data = [0x30, 0x03, 0x02, 0x01, 0x05];
        let tlv = check_framing(&data, 4).expect("valid");
        assert_eq!(tlv.first_octet(), 0x30);
        assert_eq!(tlv.value, &data[2..]);

        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([0u8; 128]);
        let tlv = check_framing(&long, 4).expect("valid");
        assert_eq!(tlv.value.len(), 128);
    }

    #[test]
    fn writes_lengths_and_integers() {
        assert_eq!(tlv(0x04, &[1, 2]), [0x04, 0x02, 1, 2]);
        assert_eq!(&tlv(0x04, &[0; 200])[..3], &[0x04, 0x81, 200]);
        assert_eq!(&tlv(0x04, &[0; 300])[..4], &[0x04, 0x82, 0x01, 0x2C]);
        assert_eq!(unsigned_integer(&[0x00, 0x00, 0x7F]), [0x02, 0x01, 0x7F]);
        assert_eq!(unsigned_integer(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(unsigned_integer(&[0x00]), [0x02, 0x01, 0x00]);
        assert_eq!(unsigned_integer(&[]), [0x02, 0x01, 0x00]);
    }

    #[test]
    fn rejects_trailing_bytes() {
        let err = check_framing(&[0x05, 0x00, 0x00], 4).expect_err("trailing");
        assert_eq!(
            err.to_string(),
            "1 byte(s) of trailing data after the message"
        );
    }

    #[test]
    fn rejects_overlong_claims_and_indefinite_lengths() {
        let err = check_framing(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xF0, 0x00], 4).expect_err("short");
        assert_eq!(
            err.to_string(),
            "malformed DER at byte 0: a value claims 4294967280 bytes but only 1 remain"
        );
        let err = check_framing(&[0x30, 0x80, 0x00, 0x00], 4).expect_err("indefinite");
        assert_eq!(
            err.to_string(),
            "malformed DER at byte 0: indefinite length (BER) is not allowed in DER"
        );
        let err = check_framing(&[0x30], 4).expect_err("truncated");
        assert_eq!(
            err.to_string(),
            "malformed DER at byte 0: the data ends inside a tag or length"
        );
    }

    #[test]
    fn refuses_what_der_forbids_whatever_the_schema() {
        let msg = |data: &[u8]| check_framing(data, 4).expect_err("not DER").to_string();
        // A length of 5 in the long form.
        assert_eq!(
            msg(&[0x30, 0x81, 0x05, 0x02, 0x01, 0x00, 0x05, 0x00]),
            "malformed DER at byte 0: length 5 not in the shortest form (2 length octets, DER uses 1)"
        );
        // A length of 200 with a leading zero octet, inside a SEQUENCE.
        let mut data = vec![0x30, 0x81, 0xCC, 0x04, 0x82, 0x00, 0xC8];
        data.extend([0u8; 200]);
        assert_eq!(
            msg(&data),
            "malformed DER at byte 3: length 200 not in the shortest form (3 length octets, DER uses 2)"
        );
        // Context tag 1 written in the high-tag form.
        assert_eq!(
            msg(&[0xBF, 0x01, 0x00]),
            "malformed DER at byte 0: tag number 1 in the high-tag form (DER uses one octet below 31)"
        );
        assert_eq!(
            msg(&[0xBF, 0x80, 0x21, 0x00]),
            "malformed DER at byte 0: tag number with a leading zero septet (not DER)"
        );
        // A constructed OCTET STRING (BER only) and a primitive SEQUENCE.
        assert_eq!(
            msg(&[0x30, 0x05, 0x24, 0x03, 0x04, 0x01, 0x00]),
            "malformed DER at byte 2: universal tag 4 must be primitive in DER (found constructed 0x24)"
        );
        assert_eq!(
            msg(&[0x10, 0x00]),
            "malformed DER at byte 0: universal tag 16 (SEQUENCE/SET) must be constructed"
        );
        // Tag 33 in the high form, a two-byte length and context tags of either form pass.
        let mut ok = vec![0xBF, 0x21, 0x81, 0x80];
        ok.extend([0u8; 128]);
        assert!(check_framing(&ok, 4).is_ok());
        assert!(check_framing(&[0x30, 0x04, 0x80, 0x00, 0xA1, 0x00], 4).is_ok());
    }

    #[test]
    fn bounds_nesting_depth() {
        // 10 nested SEQUENCEs.
        let mut data = vec![0x05, 0x00];
        for _ in 0..10 {
            let mut outer = vec![0x30, data.len() as u8];
            outer.extend(data);
            data = outer;
        }
        assert!(check_framing(&data, 10).is_ok());
        let err = check_framing(&data, 9).expect_err("too deep");
        // The tenth SEQUENCE starts at byte 18 (nine 2-byte headers before it).
        assert_eq!(
            err.to_string(),
            "malformed DER at byte 18: values are nested deeper than 9 levels"
        );
    }
}
