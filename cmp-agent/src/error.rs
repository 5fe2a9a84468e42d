//! Why an input could not be turned into a CMP message.
//!
//! Every `Display` form is one sentence fragment that says what is wrong and where; the
//! caller prefixes it with `cmp-agent: FILE: `.

use cmp_core::DecodeError;

/// Why one input file could not be inspected.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InputError {
    /// The file (or standard input) could not be read.
    #[cfg(feature = "inspect")]
    #[error("cannot read: {0}")]
    Read(#[source] std::io::Error),
    /// Nothing to decode.
    #[error("the input is empty")]
    Empty,
    /// Binary data that does not start like DER.
    #[error(
        "not DER, PEM or base64: the first byte is 0x{first:02X} (DER starts with 0x30) \
         and the data is not text"
    )]
    Unrecognized {
        /// The first byte of the input.
        first: u8,
    },
    /// Text that is not valid base64.
    #[error("invalid base64: {0}")]
    Base64(#[source] Base64Error),
    /// Text starting with `-----BEGIN` that is not valid PEM.
    #[error("invalid PEM: {0}")]
    Pem(#[source] PemError),
    /// The bytes are not a well-formed PKIMessage.
    #[error("not a CMP message: {0}")]
    Decode(#[from] DecodeError),
}

/// What is wrong with base64 text; offsets count bytes from the start of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Base64Error {
    /// A byte outside the base64 alphabet (or `=` before the end).
    #[error("{} at offset {offset} is not a base64 character", describe_byte(*byte))]
    InvalidByte {
        /// Where.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// A count of characters that cannot encode whole bytes.
    #[error("{count} base64 characters cannot encode whole bytes")]
    Length {
        /// How many non-whitespace characters there are.
        count: usize,
    },
    /// Padding of the wrong length.
    #[error("the `=` padding is wrong")]
    Padding,
    /// The last character carries bits that no byte uses.
    #[error("the last character, at offset {offset}, has unused bits set")]
    TrailingBits {
        /// Where.
        offset: usize,
    },
    /// Only whitespace.
    #[error("there is no data")]
    NoData,
}

/// What is wrong with PEM text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PemError {
    /// The first line is not `-----BEGIN LABEL-----`.
    #[error("the first line is not of the form -----BEGIN LABEL-----")]
    BadBegin,
    /// No matching END line.
    #[error("there is no \"-----END {label}-----\" line")]
    NoEnd {
        /// The label of the BEGIN line.
        label: String,
    },
    /// The END line names another label.
    #[error("the END line's label \"{end}\" differs from the BEGIN line's \"{begin}\"")]
    LabelMismatch {
        /// Label of the BEGIN line.
        begin: String,
        /// Label of the END line.
        end: String,
    },
    /// More than whitespace after the END line.
    #[error("unexpected data after the END line, at offset {offset}")]
    TrailingData {
        /// Where the data starts.
        offset: usize,
    },
    /// The body is not valid base64.
    #[error("the body is not valid base64: {0}")]
    Base64(#[source] Base64Error),
}

/// `byte 0x21 ('!')` for a printable byte, `byte 0x0B` otherwise.
fn describe_byte(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("byte 0x{byte:02X} ('{}')", char::from(byte))
    } else {
        format!("byte 0x{byte:02X}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_place() {
        let e = InputError::Base64(Base64Error::InvalidByte {
            offset: 4,
            byte: b'!',
        });
        assert_eq!(
            e.to_string(),
            "invalid base64: byte 0x21 ('!') at offset 4 is not a base64 character"
        );
        let e = InputError::Unrecognized { first: 0x9C };
        assert_eq!(
            e.to_string(),
            "not DER, PEM or base64: the first byte is 0x9C (DER starts with 0x30) and the data is not text"
        );
        let e = InputError::Pem(PemError::NoEnd {
            label: "CMP MESSAGE".into(),
        });
        assert_eq!(
            e.to_string(),
            "invalid PEM: there is no \"-----END CMP MESSAGE-----\" line"
        );
    }
}
