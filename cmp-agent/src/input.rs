//! Reading a message: from a file or standard input, as DER, PEM or bare base64.
//!
//! The format is detected, not declared: a first byte `0x30` (SEQUENCE) means DER, text
//! starting with `-----BEGIN` means PEM (any label; header lines such as `Proc-Type: …` are
//! skipped), and any other text is taken as base64, with whitespace allowed anywhere.

use std::borrow::Cow;
#[cfg(feature = "inspect")]
use std::io::Read;
#[cfg(feature = "inspect")]
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::error::{Base64Error, InputError, PemError};

/// Where a message comes from (`inspect`'s files).
#[cfg(feature = "inspect")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// Standard input, written `-` on the command line.
    Stdin,
    /// A file.
    File(PathBuf),
}

#[cfg(feature = "inspect")]
impl Source {
    /// The source a command-line argument names: `-` is standard input.
    pub(crate) fn from_arg(arg: &Path) -> Self {
        if arg.as_os_str() == "-" {
            Source::Stdin
        } else {
            Source::File(arg.to_owned())
        }
    }

    /// The name used in output and error messages: the path as given, or `<stdin>`.
    pub(crate) fn name(&self) -> String {
        match self {
            Source::Stdin => "<stdin>".to_owned(),
            Source::File(path) => path.display().to_string(),
        }
    }

    /// Reads all bytes.
    pub(crate) fn read(&self) -> Result<Vec<u8>, InputError> {
        match self {
            Source::Stdin => {
                let mut data = Vec::new();
                std::io::stdin()
                    .lock()
                    .read_to_end(&mut data)
                    .map_err(InputError::Read)?;
                Ok(data)
            }
            Source::File(path) => std::fs::read(path).map_err(InputError::Read),
        }
    }
}

/// The DER bytes held by `data`, whichever of DER, PEM or base64 it is.
pub(crate) fn to_der(data: &[u8]) -> Result<Cow<'_, [u8]>, InputError> {
    let Some(&first) = data.first() else {
        return Err(InputError::Empty);
    };
    if first == 0x30 {
        return Ok(Cow::Borrowed(data));
    }
    let start = leading_whitespace(data);
    if start == data.len() {
        return Err(InputError::Empty);
    }
    if data[start..].starts_with(b"-----BEGIN") {
        return decode_pem(data, start)
            .map(Cow::Owned)
            .map_err(InputError::Pem);
    }
    if !data.iter().all(|b| is_text(*b)) {
        return Err(InputError::Unrecognized { first });
    }
    let chars = data
        .iter()
        .enumerate()
        .filter(|(_, b)| !b.is_ascii_whitespace())
        .map(|(i, b)| (i, *b));
    decode_base64(chars)
        .map(Cow::Owned)
        .map_err(InputError::Base64)
}

/// Printable ASCII or whitespace.
fn is_text(b: u8) -> bool {
    b.is_ascii_graphic() || b.is_ascii_whitespace()
}

/// The number of leading whitespace bytes, counting a UTF-8 byte order mark as whitespace.
fn leading_whitespace(data: &[u8]) -> usize {
    let bom = if data.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    bom + data[bom..]
        .iter()
        .take_while(|b| b.is_ascii_whitespace())
        .count()
}

/// Decodes one PEM block that starts at `start`; nothing but whitespace may follow it.
fn decode_pem(data: &[u8], start: usize) -> Result<Vec<u8>, PemError> {
    let mut lines = lines(data, start);
    let label = lines
        .next()
        .and_then(|(_, line)| {
            line.strip_prefix(b"-----BEGIN ")?
                .strip_suffix(b"-----")
                .map(|l| String::from_utf8_lossy(l).into_owned())
        })
        .ok_or(PemError::BadBegin)?;
    let mut chars = Vec::new();
    let mut end_offset = None;
    for (offset, line) in lines.by_ref() {
        if let Some(rest) = line.strip_prefix(b"-----END ") {
            let end = String::from_utf8_lossy(rest.strip_suffix(b"-----").unwrap_or(rest));
            if end != label {
                return Err(PemError::LabelMismatch {
                    begin: label,
                    end: end.into_owned(),
                });
            }
            end_offset = Some(offset + line.len());
            break;
        }
        if line.contains(&b':') {
            continue; // an RFC 1421 header line such as `Proc-Type: 4,ENCRYPTED`
        }
        chars.extend(line.iter().enumerate().map(|(i, b)| (offset + i, *b)));
    }
    let end = end_offset.ok_or_else(|| PemError::NoEnd {
        label: label.clone(),
    })?;
    if let Some(extra) = data[end..].iter().position(|b| !b.is_ascii_whitespace()) {
        return Err(PemError::TrailingData {
            offset: end + extra,
        });
    }
    decode_base64(chars.into_iter()).map_err(PemError::Base64)
}

/// The lines of `data` from `start` on, as (offset, line) with surrounding whitespace
/// (including `\r`) removed; empty lines are skipped.
fn lines(data: &[u8], start: usize) -> impl Iterator<Item = (usize, &[u8])> {
    let mut offset = start;
    data[start..].split(|b| *b == b'\n').filter_map(move |raw| {
        let line_start = offset;
        offset += raw.len() + 1;
        let lead = raw.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let trail = raw[lead..]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        let line = &raw[lead..raw.len() - trail];
        (!line.is_empty()).then_some((line_start + lead, line))
    })
}

/// Decodes base64 given as (offset in the input, byte) pairs without whitespace. Padding is
/// optional; offsets in errors refer to the input.
fn decode_base64(chars: impl Iterator<Item = (usize, u8)>) -> Result<Vec<u8>, Base64Error> {
    let chars: Vec<(usize, u8)> = chars.collect();
    if chars.is_empty() {
        return Err(Base64Error::NoData);
    }
    let mut padding_at = None;
    for &(offset, byte) in &chars {
        let valid = match padding_at {
            None => byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/' | b'='),
            Some(_) => byte == b'=',
        };
        if !valid {
            return Err(Base64Error::InvalidByte { offset, byte });
        }
        if byte == b'=' && padding_at.is_none() {
            padding_at = Some(offset);
        }
    }
    let text: Vec<u8> = chars.iter().map(|(_, b)| *b).collect();
    let engine = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let at = |index: usize| chars.get(index).map_or(0, |(offset, _)| *offset);
    engine.decode(&text).map_err(|e| match e {
        base64::DecodeError::InvalidByte(index, byte) => Base64Error::InvalidByte {
            offset: at(index),
            byte,
        },
        base64::DecodeError::InvalidLength(_) => Base64Error::Length {
            count: text.iter().filter(|b| **b != b'=').count(),
        },
        base64::DecodeError::InvalidLastSymbol(index, _) => {
            Base64Error::TrailingBits { offset: at(index) }
        }
        base64::DecodeError::InvalidPadding => Base64Error::Padding,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PKICONF: [u8; 4] = [0x30, 0x02, 0x05, 0x00];

    #[test]
    fn der_is_passed_through() {
        assert_eq!(to_der(&PKICONF).expect("der").as_ref(), PKICONF);
    }

    #[test]
    fn base64_allows_whitespace_and_missing_padding() {
        assert_eq!(to_der(b"MAIF\nAA==\n").expect("padded").as_ref(), PKICONF);
        assert_eq!(to_der(b"  MAI FAA").expect("unpadded").as_ref(), PKICONF);
    }

    #[test]
    fn pem_with_any_label_and_headers() {
        let pem = b"\n-----BEGIN CMP MESSAGE-----\r\nComment: x\r\n\r\nMAIF\r\nAA==\r\n-----END CMP MESSAGE-----\r\n";
        assert_eq!(to_der(pem).expect("pem").as_ref(), PKICONF);
    }

    #[test]
    fn errors_name_the_offset() {
        let err = to_der(b"MAIF!A==").expect_err("bang");
        assert_eq!(
            err.to_string(),
            "invalid base64: byte 0x21 ('!') at offset 4 is not a base64 character"
        );
        let err = to_der(b"MA=IFAA").expect_err("inner padding");
        assert_eq!(
            err.to_string(),
            "invalid base64: byte 0x49 ('I') at offset 3 is not a base64 character"
        );
        let err = to_der(b"MAIFA").expect_err("length");
        assert_eq!(
            err.to_string(),
            "invalid base64: 5 base64 characters cannot encode whole bytes"
        );
        let err = to_der(b"MAIFAB==").expect_err("trailing bits");
        assert_eq!(
            err.to_string(),
            "invalid base64: the last character, at offset 5, has unused bits set"
        );
    }

    #[test]
    fn pem_errors() {
        let err = to_der(b"-----BEGIN X-----\nMAIFAA==\n").expect_err("no end");
        assert_eq!(
            err.to_string(),
            "invalid PEM: there is no \"-----END X-----\" line"
        );
        let err = to_der(b"-----BEGIN X-----\nMAIFAA==\n-----END Y-----\n").expect_err("label");
        assert_eq!(
            err.to_string(),
            "invalid PEM: the END line's label \"Y\" differs from the BEGIN line's \"X\""
        );
        let err = to_der(b"-----BEGIN X-----\nMAIFAA==\n-----END X-----\nMore").expect_err("more");
        assert_eq!(
            err.to_string(),
            "invalid PEM: unexpected data after the END line, at offset 43"
        );
        let err = to_der(b"-----BEGIN X\n").expect_err("begin");
        assert_eq!(
            err.to_string(),
            "invalid PEM: the first line is not of the form -----BEGIN LABEL-----"
        );
        let err = to_der(b"-----BEGIN X-----\nMA?FAA==\n-----END X-----\n").expect_err("b64");
        assert_eq!(
            err.to_string(),
            "invalid PEM: the body is not valid base64: byte 0x3F ('?') at offset 20 is not a base64 character"
        );
    }

    #[test]
    fn empty_and_binary_input() {
        assert!(matches!(to_der(b""), Err(InputError::Empty)));
        assert!(matches!(to_der(b" \n\t"), Err(InputError::Empty)));
        assert!(matches!(
            to_der(&[0x9C, 0x00, 0x41]),
            Err(InputError::Unrecognized { first: 0x9C })
        ));
    }
}
